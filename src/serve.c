#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"
#include "serve.h"
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

struct serve_snapshot {
	int			 refs;		/* under serve.lock */
	uint64_t		 serial;
	struct serve_doc	 state;
	struct serve_channel	*ch;
	size_t			 nch;
};

struct serve {
	struct repo		*repo;
	pthread_mutex_t		 lock;
	struct serve_snapshot	*snap;
	time_t			 retry_at;
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
	buf_init(&state, 64 + n * (MANIFEST_NAME_MAX + 32));
	e = buf_puts(&state, "{\"serial\": SERIAL, \"channels\": {");
	for (i = 0; e == 0 && i < n; i++) {
		struct serve_channel *c = &snap->ch[snap->nch];

		snprintf(c->name, sizeof(c->name), "%s", names[i]);
		repo_channel_current(s->repo, c->name, c->current,
		    sizeof(c->current));
		e = repo_channel_load(s->repo, c->name, &rc, NULL);
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

	if (now < s->retry_at || !serve_changed(s))
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

/* An object by name, with ETag, Range and conditional requests. */
static void
serve_object(struct serve *s, struct http_request *req, const char *hex)
{
	struct http_response	*resp;
	struct stat		 st;
	char			 etag[CRYPTO_SHA256_HEX + 2], cr[96];
	uint64_t		 off = 0, len, size;
	int			 fd, range;

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
    const char *to)
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
	serve_object(s, req, target + n - 64);
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

static void
serve_handle(void *ctx, struct http_request *req)
{
	struct serve		*s = ctx;
	struct serve_snapshot	*snap;
	char			 seg[4][MANIFEST_NAME_MAX + 8];
	const char		*m = http_method(req);
	size_t			 i;
	int			 n;

	if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0) {
		http_reply_error(req, 405, "method_not_allowed",
		    "only GET and HEAD are served here");
		return;
	}
	n = serve_split(http_path(req), seg);
	if (n < 2 || strcmp(seg[0], "v1") != 0) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return;
	}
	if (n == 2 && strcmp(seg[1], "state") == 0) {
		snap = serve_snapshot_get(s);
		serve_doc_reply(req, &snap->state);
		serve_snapshot_unref(s, snap);
		return;
	}
	if (n == 4 && strcmp(seg[1], "channels") == 0 &&
	    (strcmp(seg[3], "manifest") == 0 ||
	    strcmp(seg[3], "manifest.minisig") == 0)) {
		snap = serve_snapshot_get(s);
		for (i = 0; i < snap->nch; i++)
			if (strcmp(snap->ch[i].name, seg[2]) == 0)
				break;
		if (i == snap->nch)
			http_reply_error(req, 404, "not_found",
			    "no such channel");
		else
			serve_doc_reply(req, seg[3][8] == '\0' ?
			    &snap->ch[i].manifest : &snap->ch[i].sig);
		serve_snapshot_unref(s, snap);
		return;
	}
	if (n == 3 && strcmp(seg[1], "objects") == 0) {
		if (!crypto_is_sha256_hex(seg[2], strlen(seg[2])))
			http_reply_error(req, 400, "bad_request", "an object "
			    "name is 64 lower-case hex digits");
		else
			serve_object(s, req, seg[2]);
		return;
	}
	if (n == 4 && strcmp(seg[1], "deltas") == 0) {
		serve_delta(s, req, seg[2], seg[3]);
		return;
	}
	http_reply_error(req, 404, "not_found", "no such resource");
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

/* Daily gc and re-signing before expiry, under the writers' lock. */
static void
serve_maintain(struct serve *s, time_t *next_gc, time_t *next_refresh)
{
	struct repo	*r = s->repo;
	time_t		 now = time(NULL);
	unsigned	 removed;
	int		 e;

	if (now < *next_gc && now < *next_refresh)
		return;
	if (repo_lock(r) < 0)
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

int
serve_run(struct repo *r, const struct serve_options *o)
{
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
	e = http_server_start(&hc, serve_handle, &s, &hs, err, sizeof(err));
	if (e < 0) {
		log_error("%s", err);
		serve_snapshot_unref(&s, s.snap);
		return 1;
	}
	for (i = 0; i < hc.nlisten; i++)
		log_info("serving '%s' on http://%s/ (serial %llu)", r->dir,
		    http_server_address(hs, i),
		    (unsigned long long)s.snap->serial);
	next_gc = time(NULL) + r->conf.gc_interval;
	for (;;) {
		sig = sigtimedwait(&set, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (sig == SIGHUP && repo_reload_conf(r) == 0)
			log_info("reloaded '%s/cascade.conf' (listen "
			    "addresses and threads apply at restart)", r->dir);
		serve_refresh(&s);
		serve_maintain(&s, &next_gc, &next_refresh);
	}
	log_info("shutting down");
	http_server_stop(hs);
	serve_snapshot_unref(&s, s.snap);
	pthread_mutex_destroy(&s.lock);
	return 0;
}
