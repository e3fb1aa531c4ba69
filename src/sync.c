#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "delta.h"
#include "fetch.h"
#include "log.h"
#include "metrics.h"
#include "sync.h"
#include "ts.h"
#include "banned.h"

/* A component of an upstream manifest as this pass handles it. */
struct sync_item {
	const struct manifest_component	*c;
	int				 have;	/* object in the store */
	int				 unlicensed;
	int				 fd;	/* partial download, or -1 */
	char				 partial[FS_PATH_MAX];
	/* another component of the manifest with the same bytes, fetched
	 * once (its index + 1; 0: none) */
	size_t				 same_as;
};

static void sync_event(struct repo *, const char *, const char *,
    const char *, ...) __attribute__((format(printf, 4, 5)));

static void
sync_event(struct repo *r, const char *kind, const char *channel,
    const char *fmt, ...)
{
	char	 detail[512];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	if (db_event_add(r->db, kind, channel, detail) < 0)
		log_warn("cannot record event '%s': %s", kind, detail);
}

static int
sync_fail(struct sync_result *res, int e, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
sync_fail(struct sync_result *res, int e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
	return e;
}

/* What an HTTP status means for the pass. */
static int
sync_status(const struct fetch_result *fr, struct sync_result *res,
    const char *what)
{
	switch (fr->status) {
	case 401:
	case 403:
		return sync_fail(res, -EACCES, "license rejected by the "
		    "upstream (%ld on %s)", fr->status, what);
	case 429:
	case 503:
		res->retry_after = fr->retry_after;
		return sync_fail(res, -EAGAIN, "upstream busy (%ld on %s)",
		    fr->status, what);
	default:
		return sync_fail(res, -EPROTO, "upstream answered %ld on %s",
		    fr->status, what);
	}
}

static int
sync_fetch_error(int e, const struct fetch_result *fr,
    struct sync_result *res, const char *what)
{
	return sync_fail(res, e, "cannot fetch %s: %s", what,
	    fr->error[0] != '\0' ? fr->error : log_strerror(e));
}

/* Finds a trusted key that signed the manifest; 0, -ENOKEY, -EPERM. */
static int
sync_trusted(struct repo *r, const struct buf *text, const struct buf *sig,
    struct buf *ret_keyfile)
{
	const struct conf_upstream	*u = &r->conf.upstream;
	struct sig_pubkey		 pk;
	char				 path[FS_PATH_MAX];
	int				 i, e, result = -ENOKEY;

	for (i = 0; i < u->ntrust; i++) {
		if (u->trust[i][0] == '/')
			e = fs_path(path, sizeof(path), "%s", u->trust[i]);
		else
			e = fs_path(path, sizeof(path), "%s/%s", r->dir,
			    u->trust[i]);
		buf_reset(ret_keyfile);
		if (e == 0)
			e = fs_read(ret_keyfile, path);
		if (e == 0)
			e = sig_pubkey_parse(ret_keyfile->ptr,
			    ret_keyfile->len, &pk);
		if (e < 0) {
			log_errno(e, "cannot load trusted key '%s'", path);
			continue;
		}
		e = sig_verify(&pk, text->ptr, text->len, sig->ptr, sig->len);
		if (e == 0)
			return 0;
		if (e != -ENOKEY)
			result = e;
	}
	return result;
}

static double
sync_seconds(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) +
	    (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static int
sync_get(struct fetch *f, const char *path, struct buf *out,
    struct sync_result *res, const char *what)
{
	struct fetch_result	 fr;
	int			 e;

	e = fetch_get(f, path, NULL, 0, out, &fr);
	if (e < 0)
		return sync_fetch_error(e, &fr, res, what);
	if (fr.status != 200)
		return sync_status(&fr, res, what);
	return 0;
}

/*
 * Tries to make the object of c from a version held, by a delta fetched
 * from the upstream (listed in the manifest or not: a mirror may hold
 * more). 1 when the object is now stored, 0 when no delta served.
 */
static int
sync_by_delta(struct repo *r, struct fetch *f, const char *channel,
    const struct manifest_component *c, struct sync_result *res,
    struct db_delta *ret_d)
{
	struct db_version	*held = NULL;
	struct fetch_job	 job;
	struct timespec		 t0;
	size_t			 nheld = 0, i;
	char			 path[FS_PATH_MAX];
	int			 old = -1, dfd = -1, out = -1, e, done = 0;

	e = db_versions(r->db, channel, c->name, 5, &held, &nheld);
	for (i = 0; e == 0 && !done && i < nheld; i++) {
		if (store_has(&r->store, held[i].sha256, NULL) != 1)
			continue;
		dfd = store_tmpfile(&r->store);
		if (dfd < 0) {
			e = dfd;
			break;
		}
		snprintf(path, sizeof(path), "v1/deltas/%s/%s", held[i].sha256,
		    c->sha256);
		memset(&job, 0, sizeof(job));
		job.path = path;
		job.fd = dfd;
		job.max_size = c->size;	/* never more than the object */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		fetch_files(f, &job, 1, 1);
		if (job.rc == 0 && lseek(dfd, 0, SEEK_SET) == 0 &&
		    (old = store_open_object(&r->store, held[i].sha256)) >= 0 &&
		    (out = store_tmpfile(&r->store)) >= 0 &&
		    delta_apply(old, dfd, out, c->size) == 0 &&
		    store_adopt(&r->store, out, NULL, c->sha256, NULL,
		    NULL) == 0) {
			/* keep the delta too: our clients will ask for it */
			memset(ret_d, 0, sizeof(*ret_d));
			if (store_adopt(&r->store, dfd, NULL, NULL,
			    ret_d->sha256, &ret_d->size) == 0) {
				memcpy(ret_d->from_sha256, held[i].sha256,
				    CRYPTO_SHA256_HEX);
				memcpy(ret_d->to_sha256, c->sha256,
				    CRYPTO_SHA256_HEX);
				ret_d->from_version = held[i].version;
				if (repo_link_delta(r, ret_d) == 0)
					done = 2;
			}
			if (done == 0)
				done = 1;
			res->objects_delta++;
		} else if (job.rc == 0)
			log_warn("channel '%s': delta of '%s' from version "
			    "%llu did not give the signed bytes; fetching it "
			    "whole", channel, c->name,
			    (unsigned long long)held[i].version);
		/* on the wire, whether the delta served or not */
		res->bytes_delta += job.res.bytes;
		res->seconds_delta += sync_seconds(&t0);
		if (old >= 0)
			close(old);
		if (out >= 0)
			close(out);
		close(dfd);
		old = out = dfd = -1;
	}
	free(held);
	if (e < 0)
		return e;
	return done;
}

static int
sync_open_partial(struct repo *r, struct sync_item *it)
{
	int	 e;

	e = fs_path(it->partial, sizeof(it->partial), "%s/tmp/partial-%s",
	    r->store.root, it->c->sha256);
	if (e < 0)
		return e;
	/* kept across restarts: the next pass resumes it */
	it->fd = open(it->partial, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	return it->fd < 0 ? -errno : 0;
}

/* Fetches the objects the items lack, whole, several at once. */
static int
sync_fetch_whole(struct repo *r, struct fetch *f, struct sync_item *items,
    size_t n, struct sync_result *res)
{
	struct fetch_job	*jobs;
	struct timespec		 t0;
	char			(*paths)[96];
	size_t			 nj = 0, i, j;
	int			 e = 0, failed = 0;

	jobs = calloc(n + 1, sizeof(*jobs));
	paths = calloc(n + 1, sizeof(*paths));
	if (jobs == NULL || paths == NULL) {
		free(jobs);
		free(paths);
		return -ENOMEM;
	}
	for (i = 0; e == 0 && i < n; i++) {
		if (items[i].have)
			continue;
		/* one download per object: two into one partial file would
		 * interleave */
		for (j = 0; j < i; j++)
			if (!items[j].have && items[j].same_as == 0 &&
			    strcmp(items[j].c->sha256, items[i].c->sha256) == 0)
				break;
		if (j < i) {
			items[i].same_as = j + 1;
			continue;
		}
		e = sync_open_partial(r, &items[i]);
		if (e < 0)
			break;
		snprintf(paths[nj], sizeof(paths[nj]), "v1/objects/%s",
		    items[i].c->sha256);
		jobs[nj].path = paths[nj];
		jobs[nj].fd = items[i].fd;
		jobs[nj].max_size = items[i].c->size;
		nj++;
	}
	if (e == 0 && nj > 0) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		fetch_files(f, jobs, nj, SYNC_PARALLEL);
		res->seconds_full += sync_seconds(&t0);
	}
	/* every download is looked at, even after one failed: a corrupt
	 * one left behind whole would be "resumed" by the next pass (416)
	 * and fail it again; a good one is kept in the store */
	for (i = 0, j = 0; e == 0 && i < n; i++) {
		struct sync_item	*it = &items[i];
		struct fetch_job	*jb;

		if (it->have || it->same_as != 0)
			continue;
		jb = &jobs[j++];
		res->bytes_full += jb->res.bytes;
		if (jb->rc < 0 && jb->res.status == 403) {
			it->unlicensed = 1;
			res->components_unlicensed++;
			unlink(it->partial);	/* nothing to resume */
			continue;
		}
		if (jb->rc < 0) {
			/* kept: the next pass resumes it */
			if (failed == 0)
				failed = jb->res.status == 401 ?
				    sync_status(&jb->res, res, it->c->name) :
				    sync_fetch_error(jb->rc, &jb->res, res,
				    it->c->name);
			continue;
		}
		e = store_adopt(&r->store, it->fd, it->partial, it->c->sha256,
		    NULL, NULL);
		if (e < 0 && e != -EPERM)
			sync_fail(res, e, "cannot store the object of '%s': %s",
			    it->c->name, log_strerror(e));
		if (e == -EPERM) {
			/* corrupt or from another version: never published,
			 * and not resumed either */
			unlink(it->partial);
			if (failed == 0)
				failed = sync_fail(res, -EPERM, "object of "
				    "'%s' version %llu does not match its "
				    "signed hash", it->c->name,
				    (unsigned long long)it->c->version);
			e = 0;
			continue;
		}
		if (e < 0)
			break;
		/* renamed into the store; closing now frees its pages */
		close(it->fd);
		it->fd = -1;
		it->have = 1;
		res->objects_full++;
	}
	/* the components that share an object share its fate */
	for (i = 0; e == 0 && i < n; i++)
		if (items[i].same_as != 0) {
			items[i].have = items[items[i].same_as - 1].have;
			items[i].unlicensed =
			    items[items[i].same_as - 1].unlicensed;
			if (items[i].unlicensed)
				res->components_unlicensed++;
		}
	if (e == 0)
		e = failed;
	for (i = 0; i < n; i++)
		if (items[i].fd >= 0) {
			close(items[i].fd);
			items[i].fd = -1;
		}
	free(jobs);
	free(paths);
	return e;
}

/* Makes this mirror's own deltas to the new version of a component, from
 * the versions it holds that have none yet. */
static int
sync_own_deltas(struct repo *r, const char *channel,
    const struct manifest_component *c, struct db_delta **d, size_t *nd)
{
	struct db_version	*held = NULL;
	struct db_delta		*made = NULL, *all;
	char			 link[FS_PATH_MAX];
	size_t			 nheld = 0, nmade = 0, i, k = 0;
	int			 window, fd, e;

	window = conf_delta_window(&r->conf, c->name);
	if (window == 0)
		return 0;
	e = db_versions(r->db, channel, c->name, (size_t)window, &held,
	    &nheld);
	if (e < 0)
		return e;
	for (i = 0; i < nheld; i++) {
		if (repo_delta_path(r, held[i].sha256, c->sha256, link,
		    sizeof(link)) == 0 && fs_exists(link) == 1)
			continue;
		held[k++] = held[i];
	}
	fd = store_open_object(&r->store, c->sha256);
	if (fd < 0) {
		free(held);
		return fd;
	}
	e = repo_make_deltas(r, held, k, c->sha256, fd, &made, &nmade);
	close(fd);
	free(held);
	if (e < 0 || nmade == 0) {
		free(made);
		return e;
	}
	all = realloc(*d, (*nd + nmade) * sizeof(**d));
	if (all == NULL) {
		free(made);
		return -ENOMEM;
	}
	memcpy(all + *nd, made, nmade * sizeof(*made));
	*d = all;
	*nd += nmade;
	free(made);
	return 0;
}

/* One channel: 0 when updated, or -errno with res->reason set. */
static int
sync_channel(struct repo *r, struct fetch *f, const char *channel,
    uint64_t held, struct sync_result *res)
{
	struct manifest		*m = NULL;
	struct sync_item	*items = NULL;
	struct db_version	*nv = NULL, *last = NULL;
	struct db_delta		*d = NULL, fetched;
	struct buf		 text, sig, key;
	char			 path[FS_PATH_MAX], err[256];
	size_t			 n, i, nnv = 0, nd = 0, nlast;
	int			 e, got;

	buf_init(&text, MANIFEST_SIZE_MAX);
	buf_init(&sig, SIG_SIGFILE_MAX);
	buf_init(&key, SIG_KEYFILE_MAX);
	snprintf(path, sizeof(path), "v1/channels/%s/manifest", channel);
	e = sync_get(f, path, &text, res, "the manifest");
	if (e == 0) {
		snprintf(path, sizeof(path), "v1/channels/%s/manifest.minisig",
		    channel);
		e = sync_get(f, path, &sig, res, "the signature");
	}
	if (e < 0)
		goto out;
	/* verified before parsed */
	e = sync_trusted(r, &text, &sig, &key);
	if (e == -ENOKEY) {
		e = sync_fail(res, -ENOKEY, "signed by a key the mirror does "
		    "not trust");
		goto out;
	}
	if (e < 0) {
		e = sync_fail(res, e, "bad signature (%s)", log_strerror(e));
		goto out;
	}
	e = manifest_parse(text.ptr, text.len, &m, err, sizeof(err));
	if (e < 0) {
		e = sync_fail(res, e, "malformed manifest: %s", err);
		goto out;
	}
	if (strcmp(m->channel, channel) != 0) {
		e = sync_fail(res, -EBADMSG, "manifest is for channel '%s'",
		    m->channel);
		goto out;
	}
	if (m->serial <= held) {
		e = sync_fail(res, -ESTALE, "rollback refused: serial %llu is "
		    "not newer than %llu", (unsigned long long)m->serial,
		    (unsigned long long)held);
		goto out;
	}
	if (m->expires <= time(NULL)) {
		char when[TS_LEN + 1];

		ts_format(m->expires, when);
		e = sync_fail(res, -ETIME, "manifest %llu expired at %s",
		    (unsigned long long)m->serial, when);
		goto out;
	}

	n = m->ncomponents;
	items = calloc(n + 1, sizeof(*items));
	nv = calloc(n + 1, sizeof(*nv));
	d = calloc(n + 1, sizeof(*d));
	if (items == NULL || nv == NULL || d == NULL) {
		e = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		uint64_t size;

		items[i].c = &m->components[i];
		items[i].fd = -1;
		items[i].have = store_has(&r->store, items[i].c->sha256,
		    &size) == 1 && size == items[i].c->size;
		if (items[i].have)
			continue;
		got = sync_by_delta(r, f, channel, items[i].c, res, &fetched);
		if (got < 0) {
			e = sync_fail(res, got, "cannot update '%s'",
			    items[i].c->name);
			goto out;
		}
		if (got > 0)
			items[i].have = 1;
		if (got == 2)
			d[nd++] = fetched;
	}
	e = sync_fetch_whole(r, f, items, n, res);
	if (e < 0)
		goto out;

	/* the versions this mirror did not hold yet, and its own deltas */
	for (i = 0; i < n; i++) {
		const struct manifest_component *c = items[i].c;

		if (items[i].unlicensed)
			continue;
		e = db_versions(r->db, channel, c->name, 1, &last, &nlast);
		if (e < 0)
			goto out;
		if (nlast == 0 || last[0].version != c->version) {
			e = sync_own_deltas(r, channel, c, &d, &nd);
			if (e < 0) {
				e = sync_fail(res, e, "cannot make deltas of "
				    "'%s'", c->name);
				goto out;
			}
			snprintf(nv[nnv].component, sizeof(nv[nnv].component),
			    "%s", c->name);
			snprintf(nv[nnv].kind, sizeof(nv[nnv].kind), "%s",
			    c->kind);
			snprintf(nv[nnv].edition, sizeof(nv[nnv].edition), "%s",
			    c->edition);
			nv[nnv].version = c->version;
			nv[nnv].size = c->size;
			memcpy(nv[nnv].sha256, c->sha256, CRYPTO_SHA256_HEX);
			nv[nnv].published = (int64_t)time(NULL);
			nnv++;
		}
		free(last);
		last = NULL;
	}
	/* the key that verified it, so that what is served can be checked
	 * again here (cascade verify, and the server at start-up) */
	e = fs_path(path, sizeof(path), "%s/keys/%s.pub", r->dir, channel);
	if (e == 0)
		e = fs_write_atomic(path, key.ptr, key.len, 0644);
	if (e == 0)
		e = repo_record(r, channel, nv, nnv, d, nd, m->serial);
	if (e == 0)
		e = repo_install_manifest(r, channel, m->serial, text.ptr,
		    text.len, sig.ptr, sig.len);
	if (e < 0) {
		e = sync_fail(res, e, "cannot publish: %s", log_strerror(e));
		goto out;
	}
	sync_event(r, "sync-channel", channel, "serial %llu: %zu new "
	    "version%s%s", (unsigned long long)m->serial, nnv,
	    nnv == 1 ? "" : "s", res->components_unlicensed > 0 ?
	    " (some components not licensed to this mirror)" : "");
out:
	if (items != NULL)
		for (i = 0; i < m->ncomponents; i++)
			if (items[i].fd >= 0)
				close(items[i].fd);
	free(last);
	free(items);
	free(nv);
	free(d);
	manifest_free(m);
	buf_release(&text);
	buf_release(&sig);
	buf_release(&key);
	return e;
}

/*
 * Records the upstream's channels as this pass saw them (st; NULL when
 * the upstream said nothing moved: the last view stands) for the
 * metrics: each channel's upstream serial, and now as its last success
 * when the mirror holds that serial.
 */
static void
sync_record_channels(struct repo *r, const struct manifest_state *st)
{
	struct metrics_channel	*old, *ch;
	struct buf		 text;
	char			*raw;
	uint64_t		 held;
	size_t			 nold = 0, n = 0, i, j;
	int			 e;

	old = calloc(2 * METRICS_CHANNELS_MAX, sizeof(*old));
	raw = malloc(METRICS_META_MAX);
	if (old == NULL || raw == NULL) {
		free(old);
		free(raw);
		return;
	}
	ch = old + METRICS_CHANNELS_MAX;
	if (db_meta_get(r->db, METRICS_META_UPSTREAM, raw,
	    METRICS_META_MAX) == 0 && metrics_channels_parse(raw, old,
	    METRICS_CHANNELS_MAX, &nold) < 0)
		nold = 0;
	free(raw);
	if (st == NULL) {
		memcpy(ch, old, nold * sizeof(*ch));
		n = nold;
	}
	for (i = 0; st != NULL && i < st->nch && n < METRICS_CHANNELS_MAX;
	    i++) {
		if (!conf_upstream_takes(&r->conf, st->ch[i].name) ||
		    strcmp(st->ch[i].name, r->conf.channel) == 0)
			continue;
		snprintf(ch[n].name, sizeof(ch[n].name), "%s",
		    st->ch[i].name);
		ch[n].serial = st->ch[i].serial;
		for (j = 0; j < nold; j++)
			if (strcmp(old[j].name, ch[n].name) == 0)
				ch[n].last_success = old[j].last_success;
		n++;
	}
	for (i = 0; i < n; i++)
		if (repo_channel_serial(r, ch[i].name, &held) == 0 &&
		    held >= ch[i].serial)
			ch[i].last_success = (int64_t)time(NULL);
	buf_init(&text, METRICS_META_MAX);
	e = buf_append(&text, "", 0);	/* "" for no channel */
	if (e == 0)
		e = metrics_channels_format(ch, n, &text);
	if (e == 0)
		e = db_meta_set(r->db, METRICS_META_UPSTREAM, text.ptr);
	if (e < 0)
		log_errno(e, "cannot record the upstream's channels");
	buf_release(&text);
	free(old);
}

/* Adds the pass's durations and bytes by path to the metrics records. */
static void
sync_record_pass(struct repo *r, const struct sync_result *res, int ok)
{
	static const char *keys[METRICS_PATH_COUNT] = {
		[METRICS_PATH_DELTA] = METRICS_META_SYNC_DELTA,
		[METRICS_PATH_WHOLE] = METRICS_META_SYNC_WHOLE,
	};
	struct metrics_sync	 s;
	char			 text[512];
	uint64_t		 passes[2] = { 0, 0 };
	double			 secs;
	size_t			 p;
	int			 e = 0;

	for (p = 0; e == 0 && p < METRICS_PATH_COUNT; p++) {
		if (db_meta_get(r->db, keys[p], text, sizeof(text)) < 0 ||
		    metrics_sync_parse(text, &s) < 0)
			memset(&s, 0, sizeof(s));
		secs = p == METRICS_PATH_DELTA ? res->seconds_delta :
		    res->seconds_full;
		/* a path that fetched nothing is no observation */
		metrics_sync_observe(&s, secs > 0 ? secs : -1,
		    p == METRICS_PATH_DELTA ? res->bytes_delta :
		    res->bytes_full);
		e = metrics_sync_format(&s, text, sizeof(text));
		if (e == 0)
			e = db_meta_set(r->db, keys[p], text);
	}
	if (e == 0 && db_meta_get(r->db, METRICS_META_SYNC_PASSES, text,
	    sizeof(text)) == 0 && metrics_passes_parse(text, &passes[0],
	    &passes[1]) < 0)
		passes[0] = passes[1] = 0;
	passes[ok ? 0 : 1]++;
	snprintf(text, sizeof(text), "%llu %llu",
	    (unsigned long long)passes[0], (unsigned long long)passes[1]);
	if (e == 0)
		e = db_meta_set(r->db, METRICS_META_SYNC_PASSES, text);
	if (e < 0)
		log_errno(e, "cannot record the sync pass for the metrics");
}

/* One pass; st gets the upstream's state document when one came (else
 * its nch is 0: the state had not moved). */
static int
sync_pass(struct repo *r, struct fetch *f, struct manifest_state *st,
    struct sync_result *res)
{
	struct fetch_result	 fr;
	struct buf		 doc;
	char			 etag[FETCH_ETAG_MAX] = "", num[32];
	uint64_t		 held;
	size_t			 i;
	int			 e, failed = 0, seen = 0;

	memset(st, 0, sizeof(*st));
	buf_init(&doc, SYNC_STATE_MAX);
	db_meta_get(r->db, "upstream_etag", etag, sizeof(etag));
	e = fetch_get(f, "v1/state", etag[0] != '\0' ? etag : NULL, 0, &doc,
	    &fr);
	if (e < 0) {
		e = sync_fetch_error(e, &fr, res, "the upstream state");
		goto out;
	}
	if (fr.status == 304) {
		seen = 2;
		goto out;		/* nothing moved */
	}
	if (fr.status != 200) {
		e = sync_status(&fr, res, "the upstream state");
		goto out;
	}
	e = manifest_state_parse(doc.ptr, doc.len, st);
	if (e < 0) {
		memset(st, 0, sizeof(*st));
		e = sync_fail(res, -EPROTO, "the upstream state is malformed");
		goto out;
	}
	res->upstream_serial = st->serial;
	seen = 1;
	snprintf(num, sizeof(num), "%llu", (unsigned long long)st->serial);
	db_meta_set(r->db, "upstream_serial", num);
	/* each channel's serial upstream: how far behind this mirror is
	 * (the admin API's summary) */
	db_meta_set(r->db, "upstream_state", doc.ptr);
	for (i = 0; i < st->nch; i++) {
		const char *ch = st->ch[i].name;

		if (!conf_upstream_takes(&r->conf, ch))
			continue;
		if (strcmp(ch, r->conf.channel) == 0) {
			sync_event(r, "sync-refused", ch, "the upstream channel "
			    "has the name of this mirror's own channel");
			res->channels_refused++;
			continue;
		}
		e = repo_channel_serial(r, ch, &held);
		if (e < 0)
			goto out;
		if (st->ch[i].serial <= held)
			continue;
		res->reason[0] = '\0';
		e = sync_channel(r, f, ch, held, res);
		if (e == -EACCES || e == -EAGAIN || e == -ECONNREFUSED ||
		    e == -ETIMEDOUT || e == -EHOSTUNREACH)
			goto out;	/* the upstream, not the channel */
		if (e < 0) {
			log_error("channel '%s': not synced: %s", ch,
			    res->reason);
			sync_event(r, "sync-refused", ch, "%s", res->reason);
			res->channels_refused++;
			failed = 1;
			e = 0;
			continue;
		}
		log_info("channel '%s': now at serial %llu", ch,
		    (unsigned long long)st->ch[i].serial);
		res->channels_updated++;
	}
	/* the ETag only once everything it announced is here */
	if (!failed && fr.etag[0] != '\0')
		db_meta_set(r->db, "upstream_etag", fr.etag);
out:
	if (seen)
		sync_record_channels(r, seen == 1 ? st : NULL);
	buf_release(&doc);
	return e;
}

void
sync_downstream_name(const struct conf *c, char out[CONF_NAME_MAX + 1])
{
	char	 host[256];
	size_t	 i, n = 0;

	if (c->upstream.downstream_name[0] != '\0') {
		memcpy(out, c->upstream.downstream_name,
		    strlen(c->upstream.downstream_name) + 1);
		return;
	}
	if (gethostname(host, sizeof(host)) < 0)
		host[0] = '\0';
	host[sizeof(host) - 1] = '\0';
	for (i = 0; host[i] != '\0' && n < CONF_NAME_MAX; i++) {
		char ch = host[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
		    ch == '.' || ch == '-' || ch == '_'))
			ch = '-';
		out[n++] = ch;
	}
	out[n] = '\0';
	if (!conf_valid_name(out, 0))
		memcpy(out, "mirror", sizeof("mirror"));
}

/* Adds a channel to an inventory once, with the serial held. */
static int
sync_inventory_channel(struct repo *r, struct manifest_inventory *inv,
    const char *ch)
{
	uint64_t	 serial, held;
	int		 e;

	if (!conf_upstream_takes(&r->conf, ch) ||
	    strcmp(ch, r->conf.channel) == 0 ||
	    manifest_inventory_channel(inv, ch, &serial) == 0)
		return 0;
	e = db_channel_serial(r->db, ch, &held);
	if (e == 0)
		e = manifest_inventory_add_channel(inv, ch, held);
	return e;
}

/* What this mirror holds of the channels it takes from its upstream:
 * those the upstream lists (st, when it came), those configured, and
 * those held. */
static int
sync_inventory(struct repo *r, const char *name,
    const struct manifest_state *st, struct manifest_inventory **ret)
{
	struct manifest_inventory	*inv;
	struct manifest_inventory_item	 it;
	struct db_version		*v = NULL;
	char				(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	size_t				 n = 0, nv = 0, i, j;
	int				 e = 0;

	inv = manifest_inventory_new(name);
	if (inv == NULL)
		return -ENOMEM;
	for (i = 0; e == 0 && i < st->nch; i++)
		e = sync_inventory_channel(r, inv, st->ch[i].name);
	for (i = 0; e == 0 && i < (size_t)r->conf.upstream.nchannels; i++)
		e = sync_inventory_channel(r, inv,
		    r->conf.upstream.channels[i]);
	if (e == 0)
		e = db_channels(r->db, &names, &n);
	for (i = 0; e == 0 && i < n; i++)
		e = sync_inventory_channel(r, inv, names[i]);
	free(names);
	for (i = 0; e == 0 && i < inv->nch; i++) {
		e = db_current(r->db, inv->ch[i].name, &v, &nv);
		for (j = 0; e == 0 && j < nv; j++) {
			memset(&it, 0, sizeof(it));
			memcpy(it.channel, inv->ch[i].name,
			    sizeof(it.channel));
			memcpy(it.name, v[j].component, sizeof(it.name));
			it.version = v[j].version;
			memcpy(it.sha256, v[j].sha256, sizeof(it.sha256));
			e = manifest_inventory_add(inv, &it);
		}
		free(v);
		v = NULL;
	}
	if (e < 0) {
		manifest_inventory_free(inv);
		return e;
	}
	*ret = inv;
	return 0;
}

/* PUT the inventory; res->reported and res->answer on success. Logs. */
static void
sync_report(struct repo *r, struct fetch *f, const struct manifest_state *st,
    struct sync_result *res)
{
	struct manifest_inventory	*inv = NULL;
	struct fetch_result		 fr;
	struct buf			 doc, ans;
	char				 name[CONF_NAME_MAX + 1];
	char				 path[CONF_NAME_MAX + 64], err[256];
	char				 num[32];
	int				 e;

	sync_downstream_name(&r->conf, name);
	buf_init(&doc, MANIFEST_DOC_MAX);
	buf_init(&ans, MANIFEST_DOC_MAX);
	e = sync_inventory(r, name, st, &inv);
	if (e == 0)
		e = manifest_inventory_emit(inv, &doc);
	if (e < 0) {
		log_errno(e, "cannot write the inventory of '%s' for the "
		    "upstream", name);
		goto out;
	}
	snprintf(path, sizeof(path), "v1/downstreams/%s/inventory", name);
	e = fetch_request(f, "PUT", path, "application/json", doc.ptr,
	    doc.len, &ans, &fr);
	if (e < 0) {
		log_warn("cannot report the inventory to '%s': %s",
		    r->conf.upstream.url, fr.error[0] != '\0' ? fr.error :
		    log_strerror(e));
		goto out;
	}
	if (fr.status != 200) {
		log_warn("the upstream '%s' answered %ld to the inventory of "
		    "'%s'", r->conf.upstream.url, fr.status, name);
		goto out;
	}
	e = manifest_inventory_answer_parse(ans.ptr, ans.len, &res->answer,
	    err, sizeof(err));
	if (e < 0) {
		log_warn("the upstream '%s' answered the inventory with a bad "
		    "document: %s", r->conf.upstream.url, err);
		goto out;
	}
	res->reported = 1;
	snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
	db_meta_set(r->db, "inventory_reported", num);
	log_debug("inventory of '%s' reported: %zu channels, %zu components",
	    name, inv->nch, inv->nitems);
out:
	manifest_inventory_free(inv);
	buf_release(&doc);
	buf_release(&ans);
}

void
sync_fetch_config(const struct conf_upstream *u, struct fetch_config *ret_fc)
{
	memset(ret_fc, 0, sizeof(*ret_fc));
	ret_fc->base_url = u->url;
	ret_fc->username = u->username;
	ret_fc->password = u->password;
	ret_fc->license_key = u->license_key;
	ret_fc->proxy = u->proxy[0] != '\0' ? u->proxy : NULL;
	ret_fc->proxy_username = u->proxy_username;
	ret_fc->proxy_password = u->proxy_password;
	ret_fc->ca_file = u->ca_file[0] != '\0' ? u->ca_file : NULL;
}

int
sync_run(struct repo *r, const char *why, struct sync_result *res)
{
	const struct conf_upstream	*u = &r->conf.upstream;
	struct manifest_state		*st;
	struct fetch_config		 fc;
	struct fetch			*f = NULL;
	struct timespec			 t0, t1;
	char				 num[32];
	double				 secs;
	int				 e;

	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
	if (u->url[0] == '\0')
		return sync_fail(res, -EINVAL, "no [upstream] url in "
		    "cascade.conf");
	if (u->ntrust == 0)
		return sync_fail(res, -EINVAL, "no [upstream] trust key in "
		    "cascade.conf");
	sync_fetch_config(u, &fc);
	e = fetch_new(&fc, &f);
	if (e < 0)
		return sync_fail(res, e, "bad upstream url '%s'", u->url);
	st = malloc(sizeof(*st));
	if (st == NULL) {
		fetch_free(f);
		return sync_fail(res, -ENOMEM, "out of memory");
	}
	e = repo_lock(r);
	if (e < 0) {
		fetch_free(f);
		free(st);
		return sync_fail(res, e, "cannot lock the repository");
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	sync_event(r, "sync-start", "", "from %s (%s)", u->url, why);
	db_meta_set(r->db, "sync_running", "1");
	e = sync_pass(r, f, st, res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	db_meta_set(r->db, "sync_running", "0");
	sync_record_pass(r, res, e == 0);
	if (e == 0) {
		snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
		db_meta_set(r->db, "last_sync_ok", num);
		sync_event(r, "sync-done", "", "%u channel%s updated, %u "
		    "refused; %llu bytes by delta (%u objects), %llu whole "
		    "(%u objects) in %.2f s", res->channels_updated,
		    res->channels_updated == 1 ? "" : "s",
		    res->channels_refused,
		    (unsigned long long)res->bytes_delta, res->objects_delta,
		    (unsigned long long)res->bytes_full, res->objects_full,
		    secs);
	} else {
		sync_event(r, "sync-failed", "", "%s", res->reason);
		log_error("sync from '%s' failed: %s", u->url, res->reason);
	}
	/* what it holds now, outside the lock: the upstream may be slow */
	repo_unlock(r);
	if (e == 0)
		sync_report(r, f, st, res);
	fetch_free(f);
	free(st);
	return e;
}
