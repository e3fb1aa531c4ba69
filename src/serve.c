#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "agents.h"
#include "console.h"
#include "http.h"
#include "license.h"
#include "log.h"
#include "metrics.h"
#include "mirror.h"
#include "notify.h"
#include "report.h"
#include "serve.h"
#include "ts.h"
#include "banned.h"

#define SERVE_REFRESH_EVERY	60	/* seconds between expiry checks */

/* A prebuilt answer with its 304 twin. */
struct serve_doc {
	char			 etag[CRYPTO_SHA256_HEX + 2];
	struct http_response	*full;
	struct http_response	*not_modified;
};

struct serve_channel {
	char		 name[MANIFEST_NAME_MAX + 1];
	char		 current[32];	/* where `current` pointed */
	struct serve_doc manifest;
	struct serve_doc sig;
};

/* An object's edition, for the license checks. */
struct serve_object {
	unsigned char	 sha256[CRYPTO_SHA256_LEN];
	int		 rank;		/* INT_MAX: not in [editions] order */
	size_t		 edition;	/* in serve_snapshot.editions */
};

struct serve_snapshot {
	int			 refs;		/* under serve.lock */
	uint64_t		 serial;
	struct serve_doc	 state;
	struct serve_channel	*ch;
	size_t			 nch;
	/* every object the state names, by hash (versions from the state
	 * database and the manifests, deltas by the version they lead to) */
	struct serve_object	*obj;
	size_t			 nobj;
	char			(*editions)[MANIFEST_NAME_MAX + 1];
	size_t			 neditions;
};

/* The licenses, reloaded whole when their generation moves. */
struct serve_licenses {
	int			 refs;		/* under serve.lock */
	uint64_t		 generation;
	struct license_set	*set;		/* empty: everyone is served */
};

/* A held GET /v1/events. */
struct serve_wait {
	struct serve		*s;
	struct http_waiter	*hw;		/* NULL once resumed */
	uint64_t		 since;
	int64_t			 deadline;	/* serve_now_ms() */
	int			 agent;		/* sent X-Cascade-Agent */
	int64_t			 wake;		/* 0, or when news is told */
	/* an agent's credentials, checked only if it is asked to sync
	 * (agents_sync_take): the answer is then the state document at
	 * once, news or not */
	char			 agent_id[MANIFEST_AGENT_ID_MAX + 1];
	char			 auth[128];
	int			 forced;
	/* sent X-Cascade-Downstream: a mirror below this one ("": not) */
	char			 downstream[MANIFEST_NAME_MAX + 1];
	int			 run;		/* resumed for a run now */
	struct serve_wait	*prev, *next;
};

struct serve {
	struct repo		*repo;
	pthread_mutex_t		 lock;
	struct serve_snapshot	*snap;
	time_t			 retry_at;
	int			 rebuild;	/* the configuration changed */
	struct serve_licenses	*lic;		/* under lock */
	time_t			 lic_retry_at;
	pthread_mutex_t		 wlock;		/* the waiters and below */
	struct serve_wait	*waiters;
	size_t			 nwaiters;
	size_t			 ndownstreams;	/* waiters of mirrors */
	size_t			 maxwaiters;
	int			 stopping;
	int64_t			 window_ms;	/* [notify] window; main */
	struct agents		*agents;
	struct report		*report;
	struct notify		*notify;	/* NULL: pushes are off */
	uint64_t		 notified;	/* serial last pushed */
	struct metrics		*metrics;
	struct metrics_collector *collector;	/* NULL: values not shown */
	struct admin		*admin;
	uint64_t		 asked_gen;	/* agents asked to sync; main */
	struct console		*console;	/* the web console's files */
};

static void
serve_doc_release(struct serve_doc *d)
{
	http_response_free(d->full);
	http_response_free(d->not_modified);
}

static void
serve_snapshot_unref(struct serve *s, struct serve_snapshot *snap)
{
	size_t	 i;
	int	 last;

	if (snap == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	last = --snap->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	serve_doc_release(&snap->state);
	for (i = 0; i < snap->nch; i++) {
		serve_doc_release(&snap->ch[i].manifest);
		serve_doc_release(&snap->ch[i].sig);
	}
	free(snap->ch);
	free(snap->obj);
	free(snap->editions);
	free(snap);
}

static struct serve_snapshot *
serve_snapshot_get(struct serve *s)
{
	struct serve_snapshot	*snap;

	pthread_mutex_lock(&s->lock);
	snap = s->snap;
	snap->refs++;
	pthread_mutex_unlock(&s->lock);
	return snap;
}

static int
serve_doc_build(struct serve_doc *d, const void *p, size_t n,
    const char *etag, const char *type)
{
	snprintf(d->etag, sizeof(d->etag), "\"%s\"", etag);
	d->full = http_response_copy(p, n);
	d->not_modified = http_response_not_modified(n);
	if (d->full == NULL || d->not_modified == NULL ||
	    http_response_header(d->full, "Content-Type", type) < 0 ||
	    http_response_header(d->full, "ETag", d->etag) < 0 ||
	    http_response_header(d->full, "Cache-Control", "no-cache") < 0 ||
	    http_response_header(d->not_modified, "ETag", d->etag) < 0 ||
	    http_response_header(d->not_modified, "Cache-Control",
	    "no-cache") < 0)
		return -ENOMEM;
	return 0;
}

/* Collects the editions of objects into a snapshot. */
struct serve_objects {
	struct serve_snapshot	*snap;
	const struct conf	*conf;
	size_t			 cap;
};

static int
serve_object_add(void *arg, const char *hex, const char *edition)
{
	struct serve_objects	*b = arg;
	struct serve_snapshot	*snap = b->snap;
	struct serve_object	*o;
	size_t			 i;

	for (i = 0; i < snap->neditions; i++)
		if (strcmp(snap->editions[i], edition) == 0)
			break;
	if (i == snap->neditions) {
		char (*ne)[MANIFEST_NAME_MAX + 1];

		ne = realloc(snap->editions, (i + 1) * sizeof(*ne));
		if (ne == NULL)
			return -ENOMEM;
		snap->editions = ne;
		snprintf(ne[i], sizeof(ne[i]), "%s", edition);
		snap->neditions++;
	}
	if (snap->nobj == b->cap) {
		size_t	 cap = b->cap == 0 ? 256 : 2 * b->cap;

		o = realloc(snap->obj, cap * sizeof(*o));
		if (o == NULL)
			return -ENOMEM;
		snap->obj = o;
		b->cap = cap;
	}
	o = &snap->obj[snap->nobj];
	if (crypto_unhex(hex, strlen(hex), o->sha256, sizeof(o->sha256)) < 0)
		return 0;	/* not an object name: nothing to serve */
	o->rank = conf_edition_rank(b->conf, edition);
	if (o->rank < 0)
		o->rank = INT_MAX;
	o->edition = i;
	snap->nobj++;
	return 0;
}

static int
serve_object_cmp(const void *a, const void *b)
{
	const struct serve_object *x = a, *y = b;
	int	 c = memcmp(x->sha256, y->sha256, sizeof(x->sha256));

	if (c != 0)
		return c;
	return x->rank < y->rank ? -1 : x->rank > y->rank;
}

/* Adds the objects a manifest names (the current versions and deltas). */
static int
serve_objects_manifest(struct serve_objects *b, const struct manifest *m)
{
	size_t	 i, j;
	int	 e = 0;

	for (i = 0; e == 0 && i < m->ncomponents; i++) {
		const struct manifest_component *c = &m->components[i];

		e = serve_object_add(b, c->sha256, c->edition);
		for (j = 0; e == 0 && j < c->ndeltas; j++)
			e = serve_object_add(b, c->deltas[j].sha256,
			    c->edition);
	}
	return e;
}

/* Sorts by hash and keeps one entry per object: the lowest edition, since
 * the same bytes published in two editions may go to either's licenses. */
static int
serve_objects_finish(struct serve *s, struct serve_objects *b)
{
	struct serve_snapshot	*snap = b->snap;
	size_t			 i, n = 0;
	int			 e;

	e = db_object_editions(s->repo->db, serve_object_add, b);
	if (e < 0)
		return e;
	if (snap->nobj > 0)
		qsort(snap->obj, snap->nobj, sizeof(*snap->obj),
		    serve_object_cmp);
	for (i = 0; i < snap->nobj; i++)
		if (n == 0 || memcmp(snap->obj[n - 1].sha256,
		    snap->obj[i].sha256, CRYPTO_SHA256_LEN) != 0)
			snap->obj[n++] = snap->obj[i];
	snap->nobj = n;
	if (b->conf->neditions > 0)
		for (i = 0; i < snap->neditions; i++)
			if (conf_edition_rank(b->conf, snap->editions[i]) < 0)
				log_warn("edition '%s' is not in [editions] "
				    "order: no license receives its objects",
				    snap->editions[i]);
	return 0;
}

static int
serve_object_hash_cmp(const void *a, const void *b)
{
	const struct serve_object *x = a, *y = b;

	return memcmp(x->sha256, y->sha256, sizeof(x->sha256));
}

static const struct serve_object *
serve_object_find(const struct serve_snapshot *snap, const char *hex)
{
	struct serve_object	 key;

	if (snap->nobj == 0 || crypto_unhex(hex, strlen(hex), key.sha256,
	    sizeof(key.sha256)) < 0)
		return NULL;
	/* entries are unique by hash once built */
	return bsearch(&key, snap->obj, snap->nobj, sizeof(*snap->obj),
	    serve_object_hash_cmp);
}

/* Builds a snapshot of every channel; fails if any current manifest
 * does not load and verify. */
static int
serve_snapshot_build(struct serve *s, struct serve_snapshot **ret)
{
	unsigned char		 md[CRYPTO_SHA256_LEN];
	char			 hex[CRYPTO_SHA256_HEX];
	char			(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	struct serve_snapshot	*snap;
	struct repo_channel	 rc;
	struct manifest		*m;
	struct serve_objects	 objs;
	struct buf		 state;
	size_t			 n = 0, i;
	int			 e;

	e = repo_channels(s->repo, &names, &n);
	if (e < 0)
		return e;
	if (n > SERVE_CHANNELS_MAX)
		n = SERVE_CHANNELS_MAX;
	snap = calloc(1, sizeof(*snap));
	if (snap == NULL || (n > 0 &&
	    (snap->ch = calloc(n, sizeof(*snap->ch))) == NULL)) {
		free(snap);
		free(names);
		return -ENOMEM;
	}
	snap->refs = 1;
	memset(&objs, 0, sizeof(objs));
	objs.snap = snap;
	objs.conf = &s->repo->conf;
	buf_init(&state, 64 + n * (MANIFEST_NAME_MAX + 32));
	e = buf_puts(&state, "{\"serial\": SERIAL, \"channels\": {");
	for (i = 0; e == 0 && i < n; i++) {
		struct serve_channel *c = &snap->ch[snap->nch];

		snprintf(c->name, sizeof(c->name), "%s", names[i]);
		repo_channel_current(s->repo, c->name, c->current,
		    sizeof(c->current));
		e = repo_channel_load(s->repo, c->name, &rc, &m);
		if (e == 0) {
			e = serve_objects_manifest(&objs, m);
			manifest_free(m);
			if (e < 0)
				repo_channel_release(&rc);
		}
		if (e < 0) {
			log_errno(e, "channel '%s': cannot load manifest %s",
			    c->name, c->current);
			break;
		}
		crypto_sha256(rc.manifest.ptr, rc.manifest.len, md);
		crypto_hex(md, sizeof(md), hex);
		e = serve_doc_build(&c->manifest, rc.manifest.ptr,
		    rc.manifest.len, hex, "application/json");
		crypto_sha256(rc.sig.ptr, rc.sig.len, md);
		crypto_hex(md, sizeof(md), hex);
		if (e == 0)
			e = serve_doc_build(&c->sig, rc.sig.ptr, rc.sig.len,
			    hex, "text/plain; charset=utf-8");
		if (e == 0)
			e = buf_printf(&state, "%s\"%s\": %llu",
			    snap->nch > 0 ? ", " : "", c->name,
			    (unsigned long long)rc.serial);
		snap->serial += rc.serial;
		repo_channel_release(&rc);
		snap->nch++;
	}
	if (e == 0)
		e = buf_puts(&state, "}}\n");
	if (e == 0)
		e = serve_objects_finish(s, &objs);
	if (e == 0) {
		/* the server's own serial: the sum of the channel serials,
		 * which grows whenever any of them does */
		char		 num[32], *at = strstr(state.ptr, "SERIAL");
		struct buf	 out;

		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)snap->serial);
		buf_init(&out, state.max + 32);
		e = buf_append(&out, state.ptr, (size_t)(at - state.ptr));
		if (e == 0)
			e = buf_printf(&out, "%s%s", num, at + 6);
		if (e == 0) {
			crypto_sha256(out.ptr, out.len, md);
			crypto_hex(md, sizeof(md), hex);
			e = serve_doc_build(&snap->state, out.ptr, out.len,
			    hex, "application/json");
		}
		buf_release(&out);
	}
	buf_release(&state);
	free(names);
	if (e < 0) {
		serve_snapshot_unref(s, snap);
		return e;
	}
	*ret = snap;
	return 0;
}

/* 1 if any channel's `current` link moved or channels came or went. */
static int
serve_changed(struct serve *s)
{
	char			(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	char			 cur[32];
	struct serve_snapshot	*snap = s->snap;	/* main thread owns */
	size_t			 n = 0, i;
	int			 changed = 0;

	if (repo_channels(s->repo, &names, &n) < 0)
		return 0;
	if (n != snap->nch)
		changed = 1;
	for (i = 0; !changed && i < n; i++)
		changed = strcmp(names[i], snap->ch[i].name) != 0 ||
		    repo_channel_current(s->repo, names[i], cur,
		    sizeof(cur)) < 0 || strcmp(cur, snap->ch[i].current) != 0;
	free(names);
	return changed;
}

/* A state that fails to load is retried after this many seconds; the
 * previous snapshot is served meanwhile. */
#define SERVE_RETRY_AFTER	5

static void
serve_refresh(struct serve *s)
{
	struct serve_snapshot	*snap, *old;
	time_t			 now = time(NULL);
	int			 e;

	if (now < s->retry_at || (!s->rebuild && !serve_changed(s)))
		return;
	e = serve_snapshot_build(s, &snap);
	if (e < 0) {
		log_errno(e, "cannot load the new state; still serving "
		    "serial %llu", (unsigned long long)s->snap->serial);
		s->retry_at = now + SERVE_RETRY_AFTER;
		return;
	}
	pthread_mutex_lock(&s->lock);
	old = s->snap;
	s->snap = snap;
	pthread_mutex_unlock(&s->lock);
	s->rebuild = 0;
	log_info("serving serial %llu", (unsigned long long)snap->serial);
	serve_snapshot_unref(s, old);
}

static void
serve_doc_reply(struct http_request *req, const struct serve_doc *d)
{
	if (http_etag_match(http_header(req, "If-None-Match"), d->etag))
		http_reply_keep(req, 304, d->not_modified);
	else
		http_reply_keep(req, 200, d->full);
}

/* Who asks, once the license is checked (serve_client_get). */
struct serve_client {
	struct serve_snapshot	*snap;		/* a reference */
	int			 licensed;	/* licensing is on */
	int			 rank;		/* the license's edition */
	char			 edition[MANIFEST_NAME_MAX + 1];
};

/* With licensing on, only objects the state names, of the license's
 * edition or a lower one. 1 when it replied (404, 403). */
static int
serve_object_denied(struct http_request *req, const struct serve_client *cl,
    const char *hex)
{
	const struct serve_object	*o;
	char				 detail[3 * MANIFEST_NAME_MAX + 128];

	if (!cl->licensed)
		return 0;
	o = serve_object_find(cl->snap, hex);
	if (o == NULL) {
		http_reply_error(req, 404, "not_found", "no such object");
		return 1;
	}
	if (cl->rank >= 0 && o->rank <= cl->rank)
		return 0;
	if (o->rank == INT_MAX)
		snprintf(detail, sizeof(detail), "the object is of edition "
		    "'%s', which no license receives", cl->snap->editions[
		    o->edition]);
	else
		snprintf(detail, sizeof(detail), "the object is of edition "
		    "'%s'; the license is for edition '%s'",
		    cl->snap->editions[o->edition], cl->edition);
	http_reply_error(req, 403, "edition_not_licensed", detail);
	return 1;
}

/* An object by name, with ETag, Range and conditional requests. */
static void
serve_object(struct serve *s, struct http_request *req, const char *hex,
    const struct serve_client *cl)
{
	struct http_response	*resp;
	struct stat		 st;
	char			 etag[CRYPTO_SHA256_HEX + 2], cr[96];
	uint64_t		 off = 0, len, size;
	int			 fd, range;

	if (serve_object_denied(req, cl, hex))
		return;
	fd = store_open_object(&s->repo->store, hex);
	if (fd < 0) {
		http_reply_error(req, fd == -ENOENT ? 404 : 500,
		    fd == -ENOENT ? "not_found" : "internal",
		    fd == -ENOENT ? "no such object" : strerror(-fd));
		return;
	}
	if (fstat(fd, &st) < 0) {
		close(fd);
		http_reply_error(req, 500, "internal", "cannot stat object");
		return;
	}
	size = (uint64_t)st.st_size;
	len = size;
	snprintf(etag, sizeof(etag), "\"%s\"", hex);
	if (http_etag_match(http_header(req, "If-None-Match"), etag)) {
		close(fd);
		resp = http_response_not_modified(size);
		if (resp != NULL) {
			http_response_header(resp, "ETag", etag);
			http_response_header(resp, "Cache-Control",
			    "public, max-age=31536000, immutable");
		}
		http_reply(req, 304, resp);
		return;
	}
	range = http_range_parse(http_header(req, "Range"), size, &off, &len);
	if (range == -ERANGE) {
		close(fd);
		snprintf(cr, sizeof(cr), "the object has %llu bytes",
		    (unsigned long long)size);
		resp = http_error_new("range_not_satisfiable", cr);
		snprintf(cr, sizeof(cr), "bytes */%llu",
		    (unsigned long long)size);
		if (resp != NULL)
			http_response_header(resp, "Content-Range", cr);
		http_reply(req, 416, resp);
		return;
	}
	resp = http_response_fd(fd, off, len);
	if (resp == NULL) {
		http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	http_response_header(resp, "Content-Type", "application/octet-stream");
	http_response_header(resp, "ETag", etag);
	http_response_header(resp, "Accept-Ranges", "bytes");
	http_response_header(resp, "Cache-Control",
	    "public, max-age=31536000, immutable");
	if (range == 1) {
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu",
		    (unsigned long long)off, (unsigned long long)(off + len - 1),
		    (unsigned long long)size);
		http_response_header(resp, "Content-Range", cr);
	}
	http_reply(req, range == 1 ? 206 : 200, resp);
}

static void
serve_delta(struct serve *s, struct http_request *req, const char *from,
    const char *to, const struct serve_client *cl)
{
	char	 link[FS_PATH_MAX], target[FS_PATH_MAX];
	ssize_t	 n;

	if (repo_delta_path(s->repo, from, to, link, sizeof(link)) < 0) {
		http_reply_error(req, 400, "bad_request",
		    "hashes must be 64 lower-case hex digits");
		return;
	}
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 64) {
		http_reply_error(req, 404, "not_found", "no such delta; "
		    "fetch the full object");
		return;
	}
	target[n] = '\0';
	serve_object(s, req, target + n - 64, cl);
}

/* Splits "/v1/a/b/c" style paths: returns the number of segments. */
static int
serve_split(const char *path, char seg[4][MANIFEST_NAME_MAX + 8])
{
	const char	*p = path, *e;
	int		 n = 0;

	if (*p != '/')
		return -1;
	while (*p == '/' && n < 4) {
		p++;
		e = strchr(p, '/');
		if (e == NULL)
			e = p + strlen(p);
		if ((size_t)(e - p) >= MANIFEST_NAME_MAX + 8 || e == p)
			return -1;
		memcpy(seg[n], p, (size_t)(e - p));
		seg[n][e - p] = '\0';
		n++;
		p = e;
	}
	return *p == '\0' ? n : -1;
}

static struct serve_licenses *
serve_licenses_get(struct serve *s)
{
	struct serve_licenses	*lic;

	pthread_mutex_lock(&s->lock);
	lic = s->lic;
	lic->refs++;
	pthread_mutex_unlock(&s->lock);
	return lic;
}

static void
serve_licenses_unref(struct serve *s, struct serve_licenses *lic)
{
	int	 last;

	if (lic == NULL)
		return;
	pthread_mutex_lock(&s->lock);
	last = --lic->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (!last)
		return;
	license_set_free(lic->set);
	free(lic);
}

/* Loads the licenses as they are at generation gen. */
static int
serve_licenses_load(struct serve *s, uint64_t gen,
    struct serve_licenses **ret)
{
	struct serve_licenses	*lic;
	size_t			 unranked = 0;
	int			 e;

	lic = calloc(1, sizeof(*lic));
	if (lic == NULL)
		return -ENOMEM;
	e = license_set_load(s->repo->db, &s->repo->conf, &lic->set,
	    &unranked);
	if (e < 0) {
		free(lic);
		return e;
	}
	lic->refs = 1;
	lic->generation = gen;
	if (unranked > 0)
		log_warn("%zu license%s an edition that is not in [editions] "
		    "order: %s no object ('cascade license list -d %s')",
		    unranked, unranked == 1 ? " has" : "s have",
		    unranked == 1 ? "it receives" : "they receive",
		    s->repo->dir);
	*ret = lic;
	return 0;
}

/* Reloads the licenses when they changed (or when force), within a tick
 * of `cascade license add` or `remove` in any process. */
static void
serve_licenses_refresh(struct serve *s, int force)
{
	struct serve_licenses	*lic, *old;
	time_t			 now = time(NULL);
	uint64_t		 gen;
	int			 e;

	e = db_licenses_generation(s->repo->db, &gen);
	if (e < 0 || (!force && gen == s->lic->generation) ||
	    (!force && now < s->lic_retry_at))
		return;
	e = serve_licenses_load(s, gen, &lic);
	if (e < 0) {
		log_errno(e, "cannot load the licenses; keeping the %zu "
		    "loaded", license_set_count(s->lic->set));
		s->lic_retry_at = now + SERVE_RETRY_AFTER;
		return;
	}
	pthread_mutex_lock(&s->lock);
	old = s->lic;
	s->lic = lic;
	pthread_mutex_unlock(&s->lock);
	if (license_set_count(lic->set) != license_set_count(old->set) ||
	    force)
		log_info("%zu license%s loaded%s",
		    license_set_count(lic->set),
		    license_set_count(lic->set) == 1 ? "" : "s",
		    license_set_count(lic->set) == 0 ?
		    ": serving everyone" : "");
	serve_licenses_unref(s, old);
}

static void
serve_reply_unauthorized(struct http_request *req, const char *error,
    const char *detail)
{
	struct http_response	*r;

	r = http_error_new(error, detail);
	if (r != NULL && http_response_header(r, "WWW-Authenticate",
	    "Basic realm=\"cascade\"") < 0) {
		http_response_free(r);
		r = NULL;
	}
	http_reply(req, 401, r);
}

/* Checks the request's license, or the agent's credentials, when there
 * are licenses; fills cl (the caller gives it back with
 * serve_client_put). -EACCES when it replied (401, 403). */
static int
serve_client_get(struct serve *s, struct http_request *req,
    struct serve_client *cl)
{
	struct serve_licenses	*lic;
	char			 user[LICENSE_USERNAME_MAX + 1];
	char			 pass[LICENSE_PASSWORD_MAX + 1];
	const char		*edition = NULL, *agent;
	int			 e, basic, licensed;

	memset(cl, 0, sizeof(*cl));
	lic = serve_licenses_get(s);
	agent = http_header(req, "X-Cascade-Agent");
	if (license_set_count(lic->set) > 0 && agent != NULL) {
		e = license_check_agent(lic->set, agent,
		    http_header(req, "Authorization"), &cl->rank, &licensed);
		serve_licenses_unref(s, lic);
		/* enrolled or licensed since the set was loaded (it is
		 * reloaded each tick): the database has the last word */
		if (e == -EACCES || (e == 0 && !licensed))
			e = agents_check(s->agents, agent,
			    http_header(req, "Authorization"), &cl->rank,
			    &licensed);
		if (e < 0) {
			http_reply_error(req, 401, "agent_rejected", "the "
			    "agent id or token is not accepted: enrol again "
			    "('cascade-agent enroll')");
			return -EACCES;
		}
		if (!licensed) {
			http_reply_error(req, 403, "agent_pending", "this "
			    "agent is not licensed yet ('cascade agents "
			    "license ID' on the server)");
			return -EACCES;
		}
		cl->licensed = 1;
		snprintf(cl->edition, sizeof(cl->edition), "agent");
	} else if (license_set_count(lic->set) > 0) {
		basic = http_basic_auth(req, user, sizeof(user), pass,
		    sizeof(pass));
		e = license_check(lic->set,
		    http_header(req, "X-Cascade-License"),
		    basic == 0 ? user : NULL, basic == 0 ? pass : NULL,
		    &cl->rank, &edition);
		crypto_wipe(pass, sizeof(pass));
		if (e == 0)
			snprintf(cl->edition, sizeof(cl->edition), "%s",
			    edition);
		serve_licenses_unref(s, lic);
		if (e == -ENOENT) {
			serve_reply_unauthorized(req, "license_required",
			    "this server serves licensed clients: send the "
			    "license key in an X-Cascade-License header, "
			    "and its username and password with HTTP Basic");
			return -EACCES;
		}
		if (e < 0) {
			serve_reply_unauthorized(req, "license_rejected",
			    "the license key, username or password is not "
			    "accepted");
			return -EACCES;
		}
		cl->licensed = 1;
	} else
		serve_licenses_unref(s, lic);
	cl->snap = serve_snapshot_get(s);
	return 0;
}

static void
serve_client_put(struct serve *s, struct serve_client *cl)
{
	serve_snapshot_unref(s, cl->snap);
	cl->snap = NULL;
}

static int64_t
serve_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
serve_reply_no_content(struct http_request *req)
{
	struct http_response	*r;

	r = http_response_copy("", 0);
	if (r != NULL && http_response_header(r, "Cache-Control",
	    "no-store") < 0) {
		http_response_free(r);
		r = NULL;
	}
	http_reply(req, 204, r);
}

static void
serve_reply_busy(struct http_request *req, const char *error,
    const char *detail)
{
	struct http_response	*r;

	r = http_error_new(error, detail);
	if (r != NULL && http_response_header(r, "Retry-After", "5") < 0) {
		http_response_free(r);
		r = NULL;
	}
	http_reply(req, 503, r);
}

/* http: the request of a waiter ended; the waiter goes. */
static void
serve_wait_release(void *token)
{
	struct serve_wait	*w = token;
	struct serve		*s = w->s;

	pthread_mutex_lock(&s->wlock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		s->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	s->nwaiters--;
	if (w->downstream[0] != '\0')
		s->ndownstreams--;
	metrics_longpoll(s->metrics, -1);
	if (w->hw != NULL)	/* ended while held: drop our reference */
		http_resume(w->hw);
	pthread_mutex_unlock(&s->wlock);
	crypto_wipe(w->auth, sizeof(w->auth));
	free(w);
}

/* A downstream's "run now" taken: 1 when there was one (the caller
 * answers with the state document). */
static int
serve_run_taken(struct serve *s, const char *downstream)
{
	int	 e;

	if (downstream[0] == '\0')
		return 0;
	e = report_run_take(s->report, downstream);
	if (e < 0)
		log_errno(e, "downstream '%s': cannot take its run request",
		    downstream);
	if (e == 1)
		log_info("downstream '%s': run now, told on its long-poll",
		    downstream);
	return e == 1;
}

/* GET /v1/events?since=SERIAL&wait=SECONDS: the state document as soon
 * as the serial is greater than SERIAL, or 204 after SECONDS. A mirror
 * that says who it is (X-Cascade-Downstream) also gets it at once when
 * a run now is asked for it. */
static void
serve_events(struct serve *s, struct http_request *req,
    const struct serve_client *cl)
{
	struct serve_wait	*w;
	const char		*q, *ds;
	uint64_t		 since, wait = SERVE_EVENTS_WAIT_DEFAULT;

	q = http_query(req, "since");
	if (q == NULL || ts_parse_u64(q, 0, UINT64_MAX, &since) < 0) {
		http_reply_error(req, 400, "bad_request", "since must be a "
		    "serial of /v1/state (a non-negative integer)");
		return;
	}
	q = http_query(req, "wait");
	if (q != NULL && ts_parse_u64(q, 0, UINT64_MAX, &wait) < 0) {
		http_reply_error(req, 400, "bad_request", "wait must be a "
		    "number of seconds");
		return;
	}
	if (wait > SERVE_EVENTS_WAIT_MAX)
		wait = SERVE_EVENTS_WAIT_MAX;
	ds = http_header(req, "X-Cascade-Downstream");
	if (ds != NULL && !conf_valid_name(ds, 0)) {
		http_reply_error(req, 400, "bad_request", "X-Cascade-Downstream "
		    "must be a downstream name ([upstream] downstream_name)");
		return;
	}
	/* news, an agent an administrator asked to sync, or a mirror asked
	 * to run now */
	if (cl->snap->serial > since || agents_sync_take(s->agents,
	    http_header(req, "X-Cascade-Agent"),
	    http_header(req, "Authorization")) ||
	    (ds != NULL && serve_run_taken(s, ds))) {
		http_reply_keep(req, 200, cl->snap->state.full);
		return;
	}
	if (wait == 0) {
		serve_reply_no_content(req);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL) {
		http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	w->s = s;
	w->since = since;
	w->deadline = serve_now_ms() + (int64_t)wait * 1000;
	w->agent = http_header(req, "X-Cascade-Agent") != NULL;
	if (ds != NULL)
		memcpy(w->downstream, ds, strlen(ds) + 1);
	q = http_header(req, "Authorization");
	if (w->agent && q != NULL && strlen(q) < sizeof(w->auth) &&
	    strlen(http_header(req, "X-Cascade-Agent")) <
	    sizeof(w->agent_id)) {
		snprintf(w->agent_id, sizeof(w->agent_id), "%s",
		    http_header(req, "X-Cascade-Agent"));
		snprintf(w->auth, sizeof(w->auth), "%s", q);
	}
	pthread_mutex_lock(&s->wlock);
	if (!s->stopping && s->nwaiters < s->maxwaiters)
		w->hw = http_suspend(req, w, serve_wait_release);
	if (w->hw == NULL) {
		int stopping = s->stopping;

		pthread_mutex_unlock(&s->wlock);
		free(w);
		serve_reply_busy(req, stopping ? "shutting_down" : "busy",
		    stopping ? "the server is stopping" : "too many clients "
		    "are waiting for events; retry later");
		return;
	}
	/* the main thread wakes it (serve_events_tick) */
	w->next = s->waiters;
	if (s->waiters != NULL)
		s->waiters->prev = w;
	s->waiters = w;
	s->nwaiters++;
	if (w->downstream[0] != '\0')
		s->ndownstreams++;
	metrics_longpoll(s->metrics, 1);
	pthread_mutex_unlock(&s->wlock);
}

/* A held request, resumed by serve_events_tick: it answers now. */
static void
serve_events_resumed(struct serve *s, struct http_request *req,
    struct serve_wait *w)
{
	struct serve_snapshot	*snap;
	int			 stopping;

	pthread_mutex_lock(&s->wlock);
	stopping = s->stopping;
	pthread_mutex_unlock(&s->wlock);
	snap = serve_snapshot_get(s);
	if (snap->serial > w->since || w->forced || (w->run &&
	    serve_run_taken(s, w->downstream)))
		http_reply_keep(req, 200, snap->state.full);
	else if (stopping)
		serve_reply_busy(req, "shutting_down",
		    "the server is stopping");
	else
		serve_reply_no_content(req);
	serve_snapshot_unref(s, snap);
}

/* 1 if name is in the sorted names. */
static int
serve_name_in(const char (*names)[MANIFEST_NAME_MAX + 1], size_t n,
    const char *name)
{
	size_t	 lo = 0, hi = n, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(name, names[mid]);
		if (c == 0)
			return 1;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* Main thread, every tick: wakes the waiters whose serial has passed or
 * whose time is up (all of them when stopping), and the mirrors for
 * which a run now is asked (the answer takes the request). Agents are
 * told of news each at a random moment within [notify] window, so that a
 * fleet does not download at once; downstream mirrors at once. */
static void
serve_events_tick(struct serve *s)
{
	struct serve_wait	*w;
	char			(*runs)[MANIFEST_NAME_MAX + 1] = NULL;
	uint64_t		 serial = s->snap->serial;	/* main owns */
	uint64_t		 asked = agents_sync_generation(s->agents);
	int64_t			 now = serve_now_ms();
	size_t			 nruns = 0, nds;
	int			 news;

	pthread_mutex_lock(&s->wlock);
	nds = s->ndownstreams;
	pthread_mutex_unlock(&s->wlock);
	/* a small read, and only while mirrors wait (the table is the
	 * truth: `cascade downstreams run` may write it from another
	 * process, another server may share it) */
	if (nds > 0 && db_downstreams_running(s->repo->db, &runs,
	    &nruns) < 0)
		nruns = 0;
	pthread_mutex_lock(&s->wlock);
	for (w = s->waiters; w != NULL; w = w->next) {
		if (w->hw == NULL)
			continue;	/* resumed, answering */
		/* an agent asked to sync since the last look */
		if (asked != s->asked_gen && w->agent_id[0] != '\0' &&
		    agents_sync_take(s->agents, w->agent_id, w->auth)) {
			w->forced = 1;
			http_resume(w->hw);
			w->hw = NULL;
			continue;
		}
		/* a mirror asked to run now: its answer takes the request */
		if (nruns > 0 && w->downstream[0] != '\0' &&
		    serve_name_in((const char (*)[MANIFEST_NAME_MAX + 1])runs,
		    nruns, w->downstream)) {
			w->run = 1;
			http_resume(w->hw);
			w->hw = NULL;
			continue;
		}
		news = serial > w->since;
		if (news && w->agent && s->window_ms > 0) {
			if (w->wake == 0)
				w->wake = now + (int64_t)crypto_random_uniform(
				    (uint64_t)s->window_ms + 1);
			news = now >= w->wake;
			/* held past its wait: the answer is news, not 204 */
			if (w->deadline < w->wake)
				w->deadline = w->wake;
		}
		if (s->stopping || news || now >= w->deadline) {
			http_resume(w->hw);
			w->hw = NULL;
		}
	}
	s->asked_gen = asked;
	pthread_mutex_unlock(&s->wlock);
	free(runs);
}

/* How long a stopping server lets the held long-polls get their 503. */
#define SERVE_STOP_GRACE_MS	1000

static void
serve_events_stop(struct serve *s)
{
	struct timespec	 pause = { 0, 10 * 1000000L };
	int64_t		 until = serve_now_ms() + SERVE_STOP_GRACE_MS;
	size_t		 n;

	pthread_mutex_lock(&s->wlock);
	s->stopping = 1;
	pthread_mutex_unlock(&s->wlock);
	serve_events_tick(s);
	/* each is released once its answer is sent */
	for (;;) {
		pthread_mutex_lock(&s->wlock);
		n = s->nwaiters;
		pthread_mutex_unlock(&s->wlock);
		if (n == 0 || serve_now_ms() >= until)
			break;
		nanosleep(&pause, NULL);
	}
}

/* The endpoints behind a license (when there are licenses). */
static void
serve_handle_licensed(struct serve *s, struct http_request *req,
    char seg[4][MANIFEST_NAME_MAX + 8], int n, struct serve_client *cl)
{
	struct serve_snapshot	*snap = cl->snap;
	size_t			 i;

	if (n == 2 && strcmp(seg[1], "events") == 0) {
		serve_events(s, req, cl);
		return;
	}
	if (n == 4 && strcmp(seg[1], "channels") == 0 &&
	    (strcmp(seg[3], "manifest") == 0 ||
	    strcmp(seg[3], "manifest.minisig") == 0)) {
		/* no edition check: the manifest is as its origin signed
		 * it, whole */
		for (i = 0; i < snap->nch; i++)
			if (strcmp(snap->ch[i].name, seg[2]) == 0)
				break;
		if (i == snap->nch)
			http_reply_error(req, 404, "not_found",
			    "no such channel");
		else
			serve_doc_reply(req, seg[3][8] == '\0' ?
			    &snap->ch[i].manifest : &snap->ch[i].sig);
		return;
	}
	if (n == 3 && strcmp(seg[1], "objects") == 0) {
		if (!crypto_is_sha256_hex(seg[2], strlen(seg[2])))
			http_reply_error(req, 400, "bad_request", "an object "
			    "name is 64 lower-case hex digits");
		else
			serve_object(s, req, seg[2], cl);
		return;
	}
	if (n == 4 && strcmp(seg[1], "deltas") == 0) {
		serve_delta(s, req, seg[2], seg[3], cl);
		return;
	}
	http_reply_error(req, 404, "not_found", "no such resource");
}

/* PUT /v1/downstreams/{name}/inventory: a mirror below this one reports
 * what it holds; a license when there are licenses, as for what it
 * syncs. */
static void
serve_inventory(struct serve *s, struct http_request *req, const char *name)
{
	struct serve_client	 cl;

	if (strcmp(http_method(req), "PUT") != 0) {
		report_inventory_handle(s->report, req, name, "");	/* 405 */
		return;
	}
	if (serve_client_get(s, req, &cl) < 0)
		return;			/* 401 */
	if (cl.licensed && http_header(req, "X-Cascade-Agent") != NULL)
		http_reply_error(req, 403, "forbidden", "a downstream server "
		    "reports with a license, not with agent credentials");
	else
		report_inventory_handle(s->report, req, name,
		    cl.licensed ? cl.edition : "");
	serve_client_put(s, &cl);
}

/* http: every answer, counted by endpoint and status. */
static void
serve_observe(void *ctx, const struct http_request *req, unsigned status,
    uint64_t bytes)
{
	struct serve	*s = ctx;

	metrics_count(s->metrics, metrics_endpoint(http_path(req)), status,
	    bytes);
}

/* GET /metrics: the counters, and the values the collector keeps. */
static void
serve_metrics(struct serve *s, struct http_request *req)
{
	struct metrics_values	*v;
	struct http_response	*r = NULL;
	struct buf		 text;
	int			 e = -ENOMEM;

	buf_init(&text, METRICS_TEXT_MAX);
	v = calloc(1, sizeof(*v));
	if (v != NULL) {
		metrics_collector_get(s->collector, v);
		if (s->notify != NULL) {
			notify_counts(s->notify, &v->notify_sent,
			    &v->notify_failed, &v->notify_given_up);
			v->have_notify = 1;
		}
		e = metrics_render(s->metrics, v, &text);
	}
	if (e == 0)
		r = http_response_copy(text.ptr, text.len);
	if (r != NULL && (http_response_header(r, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8") < 0 ||
	    http_response_header(r, "Cache-Control", "no-store") < 0)) {
		http_response_free(r);
		r = NULL;
	}
	if (r != NULL)
		http_reply(req, 200, r);
	else
		http_reply_error(req, 500, "internal", e == -E2BIG ?
		    "the metrics are over their size limit" : "out of memory");
	buf_release(&text);
	free(v);
}

static void
serve_handle(void *ctx, struct http_request *req)
{
	struct serve		*s = ctx;
	struct serve_snapshot	*snap;
	struct serve_licenses	*lic;
	struct serve_client	 cl;
	struct serve_wait	*w;
	char			 seg[4][AGENTS_SEG_MAX];
	const char		*m = http_method(req);
	int			 n;

	/* the admin API: its own tokens, its own held requests */
	if (strncmp(http_path(req), "/v1/admin", 9) == 0 &&
	    (http_path(req)[9] == '\0' || http_path(req)[9] == '/')) {
		admin_handle(s->admin, req);
		return;
	}
	if ((w = http_resumed(req)) != NULL) {
		serve_events_resumed(s, req, w);
		return;
	}
	n = serve_split(http_path(req), seg);
	if (n == 4 && strcmp(seg[0], "v1") == 0 &&
	    strcmp(seg[1], "downstreams") == 0 &&
	    strcmp(seg[3], "inventory") == 0) {
		serve_inventory(s, req, seg[2]);
		return;
	}
	if (n >= 2 && strcmp(seg[0], "v1") == 0 &&
	    strcmp(seg[1], "agents") == 0) {
		/* the agents check their own tokens */
		lic = serve_licenses_get(s);
		agents_handle(s->agents, req, lic->set, seg, n);
		serve_licenses_unref(s, lic);
		return;
	}
	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
		http_reply_error(req, 405, "method_not_allowed",
		    "only GET and HEAD are served here");
		return;
	}
	if (strcmp(http_path(req), "/metrics") == 0) {
		serve_metrics(s, req);	/* open to all, as /v1/state */
		return;
	}
	if (console_reply(s->console, req))
		return;			/* GET / and /console/... */
	if (n < 2 || strcmp(seg[0], "v1") != 0) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	if (n == 2 && strcmp(seg[1], "state") == 0) {
		/* open to all: it says only that something changed */
		snap = serve_snapshot_get(s);
		serve_doc_reply(req, &snap->state);
		serve_snapshot_unref(s, snap);
		return;
	}
	if (serve_client_get(s, req, &cl) < 0)
		return;			/* 401 */
	serve_handle_licensed(s, req, seg, n, &cl);
	serve_client_put(s, &cl);
}

/* How request bodies are read: the admin API's its own way (uploads to
 * a file), the agents' documents whole, up to MANIFEST_DOC_MAX. */
static void
serve_body_plan(void *ctx, struct http_request *req,
    struct http_body_plan *plan)
{
	struct serve	*s = ctx;
	const char	*path = http_path(req);

	if (strncmp(path, "/v1/admin", 9) == 0 &&
	    (path[9] == '\0' || path[9] == '/'))
		admin_body_plan(s->admin, req, plan);
}

static void
serve_raise_nofile(void)
{
	struct rlimit	 rl;

	/* every keep-alive connection is a descriptor */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int
serve_threads(const struct conf *c)
{
	long	 n;

	if (c->threads > 0)
		return c->threads;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (int)n;
}

/* Daily gc and re-signing before expiry, under the writers' lock. The
 * main thread never waits for the lock: a mirror's sync holds it for the
 * whole pass (a large download may take hours), and meanwhile signals,
 * `cascade sync --now`, long-polls and licenses must still be seen to;
 * the work is tried again at the next tick. */
static void
serve_maintain(struct serve *s, time_t *next_gc, time_t *next_refresh)
{
	struct repo	*r = s->repo;
	time_t		 now = time(NULL);
	unsigned	 removed;
	int		 e;

	if (now < *next_gc && now < *next_refresh)
		return;
	if (repo_trylock(r) < 0)
		return;
	if (now >= *next_refresh) {
		*next_refresh = now + SERVE_REFRESH_EVERY;
		e = repo_refresh(r, r->conf.manifest_expires / 2);
		if (e < 0)
			log_errno(e, "cannot re-sign channel '%s'",
			    r->conf.channel);
		else if (e == 1)
			log_info("re-signed channel '%s' before expiry",
			    r->conf.channel);
	}
	if (now >= *next_gc) {
		*next_gc = now + r->conf.gc_interval;
		e = repo_gc(r, &removed);
		if (e < 0)
			log_errno(e, "garbage collection failed");
		else if (removed > 0)
			log_info("garbage collection removed %u objects",
			    removed);
	}
	repo_unlock(r);
}

/* `cascade sync --now` leaves DIR/sync.request; taking it (removing it)
 * tells the command that a server got the request. */
static void
serve_sync_request(struct repo *r, struct mirror *m)
{
	char	 path[FS_PATH_MAX];

	if (fs_path(path, sizeof(path), "%s/sync.request", r->dir) < 0 ||
	    fs_exists(path) != 1)
		return;
	if (m == NULL) {
		log_warn("'cascade sync --now' asked, but no [upstream] is "
		    "configured");
		return;		/* left for the command to report */
	}
	unlink(path);
	mirror_request(m, "requested by cascade sync --now");
}

/* POST /v1/admin/sync asked for a sync: queued as any other. */
static void
serve_admin_sync(struct serve *s, struct mirror *m)
{
	char	 why[128];

	if (!admin_sync_take(s->admin, why, sizeof(why)))
		return;
	if (m == NULL) {
		log_warn("a sync was asked (%s), but no [upstream] is "
		    "configured", why);
		return;
	}
	mirror_request(m, why);
}

int
serve_run(struct repo *r, const struct serve_options *o)
{
	struct mirror		*mirror = NULL;
	struct http_config	 hc;
	struct http_server	*hs = NULL;
	struct serve		 s;
	struct timespec		 tick = { 0, SERVE_POLL_MS * 1000000L };
	sigset_t		 set;
	time_t			 next_gc, next_refresh = 0;
	char			 err[256];
	int			 i, e, sig, problems;

	memset(&s, 0, sizeof(s));
	s.repo = r;
	pthread_mutex_init(&s.lock, NULL);
	pthread_mutex_init(&s.wlock, NULL);
	/* repairs what a publish killed half-way left behind */
	if (repo_lock(r) < 0)
		return 1;
	repo_unlock(r);
	problems = repo_verify(r, 1);
	if (problems != 0) {
		log_error("refusing to serve '%s': %d problem%s with the "
		    "current manifests (see above; 'cascade verify -d %s')",
		    r->dir, problems < 0 ? 1 : problems,
		    problems == 1 ? "" : "s", r->dir);
		return 1;
	}
	e = serve_snapshot_build(&s, &s.snap);
	if (e < 0) {
		log_errno(e, "cannot load the served state");
		return 1;
	}
	{
		uint64_t gen = 0;

		e = db_licenses_generation(r->db, &gen);
		if (e == 0)
			e = serve_licenses_load(&s, gen, &s.lic);
		if (e < 0) {
			log_errno(e, "cannot load the licenses");
			serve_snapshot_unref(&s, s.snap);
			return 1;
		}
		if (license_set_count(s.lic->set) > 0)
			log_info("%zu license%s loaded",
			    license_set_count(s.lic->set),
			    license_set_count(s.lic->set) == 1 ? "" : "s");
	}
	/* held long-polls leave connections for the other requests */
	s.maxwaiters = (size_t)r->conf.connection_limit -
	    (size_t)r->conf.connection_limit / 4;
	serve_raise_nofile();
	/* the pool threads inherit the mask; the main thread takes them */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&hc, 0, sizeof(hc));
	for (i = 0; i < o->nlisten; i++)
		hc.listen[hc.nlisten++] = o->listen[i];
	for (i = 0; hc.nlisten == 0 && i < r->conf.nlisten; i++)
		hc.listen[hc.nlisten++] = r->conf.listen[i];
	if (hc.nlisten == 0)
		hc.listen[hc.nlisten++] = "[::]:8080";
	hc.threads = serve_threads(&r->conf);
	hc.connection_memory = r->conf.connection_memory;
	hc.connection_limit = r->conf.connection_limit;
	hc.connection_timeout = r->conf.connection_timeout;
	hc.body_max = MANIFEST_DOC_MAX;
	hc.body_plan = serve_body_plan;
	hc.observe = serve_observe;
	s.window_ms = r->conf.notify_window * 1000;
	s.notified = s.snap->serial;
	e = agents_open(r->dir, &r->conf, &s.agents);
	if (e < 0) {
		log_errno(e, "cannot open the agents' state");
		serve_snapshot_unref(&s, s.snap);
		serve_licenses_unref(&s, s.lic);
		return 1;
	}
	e = report_open(r->dir, &r->conf, &s.report);
	if (e < 0) {
		log_errno(e, "cannot open the downstreams' state");
		agents_close(s.agents);
		serve_snapshot_unref(&s, s.snap);
		serve_licenses_unref(&s, s.lic);
		return 1;
	}
	s.metrics = metrics_new();
	if (s.metrics == NULL) {
		log_errno(-ENOMEM, "cannot start the metrics");
		report_close(s.report);
		agents_close(s.agents);
		serve_snapshot_unref(&s, s.snap);
		serve_licenses_unref(&s, s.lic);
		return 1;
	}
	e = metrics_collector_start(r->dir, &r->conf, &s.collector);
	if (e < 0)
		log_errno(e, "cannot start the metrics collector: /metrics "
		    "shows the request counters only");
	e = notify_start(r->dir, &r->conf, &s.notify);
	if (e < 0)
		log_errno(e, "cannot start the notifications: agents that "
		    "listen will not be pushed to");
	/* a data directory made before the admin API has no token */
	e = admin_token_bootstrap(r->dir, r->db, "the server (there was "
	    "none)");
	if (e == 1)
		log_info("made the admin token 'admin': it is in '%s/%s'",
		    r->dir, ADMIN_TOKEN_FILE);
	else if (e < 0)
		log_errno(e, "cannot make the admin token 'admin' in '%s/%s'",
		    r->dir, ADMIN_TOKEN_FILE);
	e = admin_open(r->dir, &r->conf, s.agents, s.notify, s.report,
	    &s.admin);
	if (e < 0) {
		log_errno(e, "cannot open the admin API's state");
		metrics_collector_stop(s.collector);
		metrics_free(s.metrics);
		notify_stop(s.notify);
		report_close(s.report);
		agents_close(s.agents);
		serve_snapshot_unref(&s, s.snap);
		serve_licenses_unref(&s, s.lic);
		return 1;
	}
	e = console_new(&s.console);
	if (e < 0)
		snprintf(err, sizeof(err), "cannot build the web console: %s",
		    strerror(-e));
	else
		e = http_server_start(&hc, serve_handle, &s, &hs, err,
		    sizeof(err));
	if (e < 0) {
		log_error("%s", err);
		console_free(s.console);
		admin_close(s.admin);
		metrics_collector_stop(s.collector);
		metrics_free(s.metrics);
		notify_stop(s.notify);
		report_close(s.report);
		agents_close(s.agents);
		serve_snapshot_unref(&s, s.snap);
		serve_licenses_unref(&s, s.lic);
		return 1;
	}
	for (i = 0; i < hc.nlisten; i++)
		log_info("serving '%s' on http://%s/ (serial %llu)", r->dir,
		    http_server_address(hs, i),
		    (unsigned long long)s.snap->serial);
	next_gc = time(NULL) + r->conf.gc_interval;
	if (mirror_start(r->dir, &mirror) < 0)
		log_warn("serving without syncing from the upstream");
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP && repo_reload_conf(r) == 0) {
			log_info("reloaded '%s/cascade.conf' (listen "
			    "addresses and threads apply at restart)", r->dir);
			/* the upstream settings too */
			mirror_stop(mirror);
			if (mirror_start(r->dir, &mirror) < 0)
				mirror = NULL;
			agents_set_conf(s.agents, &r->conf);
			report_set_conf(s.report, &r->conf);
			admin_set_conf(s.admin, &r->conf);
			metrics_collector_set_conf(s.collector, &r->conf);
			if (s.notify != NULL)
				notify_set_conf(s.notify, &r->conf);
			s.window_ms = r->conf.notify_window * 1000;
		}
		serve_sync_request(r, mirror);
		serve_admin_sync(&s, mirror);
		if (sig == SIGHUP)
			s.rebuild = 1;	/* editions may have moved */
		serve_refresh(&s);
		if (s.snap->serial != s.notified && s.notify != NULL) {
			s.notified = s.snap->serial;
			e = notify_publish(s.notify, s.notified);
			if (e > 0)
				log_info("notifying %d agent%s of serial %llu",
				    e, e == 1 ? "" : "s",
				    (unsigned long long)s.notified);
		}
		serve_licenses_refresh(&s, sig == SIGHUP);
		serve_events_tick(&s);
		admin_tick(s.admin);
		serve_maintain(&s, &next_gc, &next_refresh);
	}
	log_info("shutting down");
	serve_events_stop(&s);	/* held long-polls are answered */
	admin_stop(s.admin);
	mirror_stop(mirror);
	http_server_stop(hs);
	/* no request runs any more: what they used may go */
	admin_close(s.admin);
	report_close(s.report);
	notify_stop(s.notify);
	metrics_collector_stop(s.collector);
	metrics_free(s.metrics);
	console_free(s.console);
	agents_close(s.agents);
	/* every request has ended: each waiter was released */
	serve_snapshot_unref(&s, s.snap);
	serve_licenses_unref(&s, s.lic);
	pthread_mutex_destroy(&s.wlock);
	pthread_mutex_destroy(&s.lock);
	return 0;
}
