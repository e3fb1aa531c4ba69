/*
 * admin: the admin API and its tokens; see admin.h.
 *
 * Each endpoint writes its answer into a struct admin_answer (a status
 * and a JSON body, or an error), which admin_handle sends; the database
 * is read under the module's lock, and nothing slow (a publish) runs
 * under it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "agent.h"
#include "agents.h"
#include "crypto.h"
#include "fs.h"
#include "license.h"
#include "log.h"
#include "notify.h"
#include "report.h"
#include "repo.h"
#include "ts.h"
#include "banned.h"

#define ADMIN_ANSWER_MAX	(256u << 20)	/* a fleet's agents */
#define ADMIN_DETAIL_MAX	512
#define ADMIN_PREFIX		"/v1/admin"
#define ADMIN_STOP_GRACE_MS	1000
#define ADMIN_STATE_DOC_MAX	(64u << 10)	/* the upstream's state */

/* A held GET /v1/admin/events. */
struct admin_wait {
	struct admin		*a;
	struct http_waiter	*hw;		/* NULL once resumed */
	struct db_event_filter	 f;		/* kind, agent point below */
	char			 kind[DB_EVENT_KIND_MAX + 2];
	char			 agent[MANIFEST_AGENT_ID_MAX + 1];
	int64_t			 checked;	/* no match up to this id */
	int64_t			 deadline;	/* admin_now_ms() */
	struct admin_wait	*prev, *next;
};

struct admin {
	char			 dir[FS_PATH_MAX];
	char			 tmpdir[FS_PATH_MAX];	/* uploads */
	time_t			 started;
	struct agents		*agents;
	struct notify		*notify;
	struct report		*report;	/* NULL: no downstreams */
	pthread_mutex_t		 lock;		/* rd, conf, sync request */
	struct repo		 rd;		/* reads and small writes */
	struct conf		*conf;		/* a copy */
	int			 sync_asked;
	char			 sync_why[128];
	pthread_mutex_t		 publock;	/* pub */
	struct repo		 pub;		/* publishes */
	pthread_mutex_t		 wlock;		/* waiters and below */
	struct admin_wait	*waiters;
	size_t			 nwaiters;
	int			 stopping;
};

/* What an endpoint answers. */
struct admin_answer {
	unsigned	 status;
	const char	*error;		/* NULL: success, body is JSON */
	char		 detail[ADMIN_DETAIL_MAX];
	const char	*allow;		/* 405 */
	int		 retry_after;	/* seconds; 0: none */
	struct buf	 body;
};

/* Who asks: the token of the request. */
struct admin_who {
	struct db_token	 t;
	char		 by[DB_TOKEN_NAME_MAX + 32];	/* for events */
};

static int64_t
admin_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
admin_fail(struct admin_answer *ans, unsigned status, const char *error,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sets an error answer; returns -1 for the caller to return. */
static int
admin_fail(struct admin_answer *ans, unsigned status, const char *error,
    const char *fmt, ...)
{
	va_list	 ap;

	ans->status = status;
	ans->error = error;
	va_start(ap, fmt);
	vsnprintf(ans->detail, sizeof(ans->detail), fmt, ap);
	va_end(ap);
	return -1;
}

static int
admin_internal(struct admin_answer *ans, int e, const char *what)
{
	log_errno(e, "admin: cannot %s", what);
	return admin_fail(ans, e == -E2BIG ? 507 : 500, e == -E2BIG ?
	    "too_large" : "internal", "the server cannot %s: %s", what,
	    log_strerror(e));
}

/* ---- tokens ------------------------------------------------------------- */

int
admin_valid_token_name(const char *name)
{
	size_t	 n = strlen(name);

	return n >= 1 && n <= DB_TOKEN_NAME_MAX &&
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n &&
	    name[0] != '.' && name[0] != '_' && name[0] != '-';
}

int
admin_valid_role(const char *role)
{
	return strcmp(role, "admin") == 0 || strcmp(role, "viewer") == 0;
}

int
admin_token_create(struct db *db, const char *name, const char *role,
    const char *by, char token[ADMIN_TOKEN_HEX + 1])
{
	unsigned char	 raw[ADMIN_TOKEN_HEX / 2];
	struct db_token	 t;
	char		 detail[DB_EVENT_DETAIL_MAX + 1];
	int		 e;

	if (!admin_valid_token_name(name) || !admin_valid_role(role))
		return -EINVAL;
	memset(&t, 0, sizeof(t));
	snprintf(t.name, sizeof(t.name), "%s", name);
	snprintf(t.role, sizeof(t.role), "%s", role);
	t.created = (int64_t)time(NULL);
	e = crypto_random(raw, sizeof(raw));
	if (e < 0)
		return e;
	crypto_hex(raw, sizeof(raw), token);
	crypto_wipe(raw, sizeof(raw));
	e = crypto_token_hash(ADMIN_TOKEN_LABEL, token, t.hash);
	if (e < 0)
		goto out;
	snprintf(detail, sizeof(detail), "token '%s' created, role %s, by %s",
	    name, role, by != NULL ? by : "");
	e = db_begin(db);
	if (e < 0)
		goto out;
	e = db_token_add(db, &t);
	if (e == 0 && by != NULL)
		e = db_event_add(db, "token", NULL, detail);
	if (e == 0)
		e = db_commit(db);
	else
		db_rollback(db);
out:
	if (e < 0)
		crypto_wipe(token, ADMIN_TOKEN_HEX + 1);
	return e;
}

int
admin_token_revoke(struct db *db, const char *name, const char *by)
{
	char	 detail[DB_EVENT_DETAIL_MAX + 1];
	int	 e;

	snprintf(detail, sizeof(detail), "token '%s' revoked by %s", name,
	    by != NULL ? by : "");
	e = db_begin(db);
	if (e < 0)
		return e;
	e = db_token_remove(db, name);
	if (e == 0 && by != NULL)
		e = db_event_add(db, "token", NULL, detail);
	if (e == 0)
		e = db_commit(db);
	else
		db_rollback(db);
	return e;
}

int
admin_token_bootstrap(const char *dir, struct db *db, const char *by)
{
	struct db_token	*all = NULL;
	char		 token[ADMIN_TOKEN_HEX + 2], path[FS_PATH_MAX];
	size_t		 n = 0;
	int		 e;

	e = db_tokens(db, &all, &n);
	free(all);
	if (e < 0)
		return e;
	if (n > 0)
		return 0;
	e = fs_path(path, sizeof(path), "%s/%s", dir, ADMIN_TOKEN_FILE);
	if (e < 0)
		return e;
	e = admin_token_create(db, "admin", "admin", by, token);
	if (e < 0)
		return e;
	token[ADMIN_TOKEN_HEX] = '\n';
	e = fs_write_atomic(path, token, ADMIN_TOKEN_HEX + 1, 0600);
	crypto_wipe(token, sizeof(token));
	/* a token nobody can read would lock the API: take it back */
	if (e < 0 && admin_token_revoke(db, "admin", NULL) < 0)
		log_warn("cannot take back the token 'admin' whose file "
		    "was not written: revoke it with 'cascade token revoke'");
	return e < 0 ? e : 1;
}

/* ---- JSON --------------------------------------------------------------- */

int
admin_json_next(struct buf *out, size_t i)
{
	return buf_puts(out, i == 0 ? "[\n  " : ",\n  ");
}

int
admin_json_end(struct buf *out, size_t n)
{
	return buf_puts(out, n == 0 ? "[]\n" : "\n]\n");
}

/* A time as "RFC 3339", or null for 0. */
static int
admin_json_time(struct buf *out, int64_t t)
{
	char	 ts[TS_LEN + 1];

	if (t == 0)
		return buf_puts(out, "null");
	ts_format((time_t)t, ts);
	return buf_printf(out, "\"%s\"", ts);
}

/* A string, or null for "". */
static int
admin_json_str_or_null(struct buf *out, const char *s)
{
	return s[0] == '\0' ? buf_puts(out, "null") : buf_json_str(out, s);
}

int
admin_event_json(struct buf *out, const struct db_event *e)
{
	int	 r;

	r = buf_printf(out, "{\"id\": %lld, \"time\": ", (long long)e->id);
	if (r == 0)
		r = admin_json_time(out, e->time);
	if (r == 0)
		r = buf_puts(out, ", \"kind\": ");
	if (r == 0)
		r = buf_json_str(out, e->kind);
	if (r == 0)
		r = buf_puts(out, ", \"channel\": ");
	if (r == 0)
		r = admin_json_str_or_null(out, e->channel);
	if (r == 0)
		r = buf_puts(out, ", \"agent\": ");
	if (r == 0)
		r = admin_json_str_or_null(out, e->agent);
	if (r == 0)
		r = buf_puts(out, ", \"detail\": ");
	if (r == 0)
		r = buf_json_str(out, e->detail);
	if (r == 0)
		r = buf_puts(out, "}");
	return r;
}

/* ---- life --------------------------------------------------------------- */

int
admin_open(const char *dir, const struct conf *c, struct agents *ag,
    struct notify *n, struct report *rep, struct admin **ret_a)
{
	struct admin	*a;
	int		 e;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->conf = malloc(sizeof(*a->conf));
	if (a->conf == NULL) {
		free(a);
		return -ENOMEM;
	}
	*a->conf = *c;
	a->agents = ag;
	a->notify = n;
	a->report = rep;
	a->started = time(NULL);
	e = fs_path(a->dir, sizeof(a->dir), "%s", dir);
	if (e == 0)
		e = fs_path(a->tmpdir, sizeof(a->tmpdir), "%s/objects/tmp",
		    dir);
	if (e < 0)
		goto fail;
	if (repo_open(&a->rd, dir) < 0) {
		e = -EIO;
		goto fail;
	}
	if (repo_open(&a->pub, dir) < 0) {
		repo_close(&a->rd);
		e = -EIO;
		goto fail;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->publock, NULL);
	pthread_mutex_init(&a->wlock, NULL);
	*ret_a = a;
	return 0;
fail:
	free(a->conf);
	free(a);
	return e;
}

void
admin_close(struct admin *a)
{
	if (a == NULL)
		return;
	repo_close(&a->pub);
	repo_close(&a->rd);
	pthread_mutex_destroy(&a->wlock);
	pthread_mutex_destroy(&a->publock);
	pthread_mutex_destroy(&a->lock);
	free(a->conf);
	free(a);
}

void
admin_set_conf(struct admin *a, const struct conf *c)
{
	pthread_mutex_lock(&a->lock);
	*a->conf = *c;
	a->rd.conf = *c;
	pthread_mutex_unlock(&a->lock);
}

int
admin_sync_take(struct admin *a, char *why, size_t whysize)
{
	int	 asked;

	pthread_mutex_lock(&a->lock);
	asked = a->sync_asked;
	if (asked)
		snprintf(why, whysize, "%s", a->sync_why);
	a->sync_asked = 0;
	pthread_mutex_unlock(&a->lock);
	return asked;
}

/* ---- authentication ----------------------------------------------------- */

/* The token of the request, checked against the database: 0 (who
 * filled), or -1 with the answer set (401, 403). */
static int
admin_auth(struct admin *a, struct http_request *req, struct admin_who *who,
    struct admin_answer *ans)
{
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	char		 token[ADMIN_TOKEN_HEX + 1];
	const char	*h = http_header(req, "Authorization"), *m;
	int		 e;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return admin_fail(ans, 401, "token_required", "send an admin "
		    "token as Authorization: Bearer TOKEN (DIR/%s, or 'cascade "
		    "token create')", ADMIN_TOKEN_FILE);
	h += 7;
	h += strspn(h, " ");
	if (strlen(h) != ADMIN_TOKEN_HEX ||
	    strspn(h, "0123456789abcdef") != ADMIN_TOKEN_HEX)
		return admin_fail(ans, 401, "token_rejected", "the token is "
		    "not accepted");
	memcpy(token, h, sizeof(token));
	e = crypto_token_hash(ADMIN_TOKEN_LABEL, token, hash);
	crypto_wipe(token, sizeof(token));
	if (e < 0)
		return admin_internal(ans, e, "check a token");
	pthread_mutex_lock(&a->lock);
	e = db_token_find(a->rd.db, hash, &who->t);
	pthread_mutex_unlock(&a->lock);
	if (e == -ENOENT)
		return admin_fail(ans, 401, "token_rejected", "the token is "
		    "not accepted");
	if (e < 0)
		return admin_internal(ans, e, "read the tokens");
	snprintf(who->by, sizeof(who->by), "admin token '%s'", who->t.name);
	m = http_method(req);
	if (strcmp(who->t.role, "admin") != 0 && strcmp(m, "GET") != 0 &&
	    strcmp(m, "HEAD") != 0)
		return admin_fail(ans, 403, "forbidden", "token '%s' is a "
		    "%s: it may only read", who->t.name, who->t.role);
	return 0;
}

/* ---- answers ------------------------------------------------------------ */

static void
admin_answer_init(struct admin_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	buf_init(&ans->body, ADMIN_ANSWER_MAX);
}

static void
admin_reply(struct http_request *req, struct admin_answer *ans)
{
	struct http_response	*r;
	char			 num[16];
	int			 e = 0;

	if (ans->error != NULL) {
		r = http_error_new(ans->error, ans->detail);
		if (r != NULL && ans->status == 401)
			e = http_response_header(r, "WWW-Authenticate",
			    "Bearer realm=\"cascade admin\"");
		if (r != NULL && ans->status == 405 && ans->allow != NULL)
			e = http_response_header(r, "Allow", ans->allow);
	} else if (ans->status == 204) {
		r = http_response_copy("", 0);
		if (r != NULL)
			e = http_response_header(r, "Cache-Control",
			    "no-store");
	} else {
		r = http_response_copy(ans->body.ptr != NULL ? ans->body.ptr :
		    "", ans->body.len);
		if (r != NULL)
			e = http_response_header(r, "Content-Type",
			    "application/json");
		if (r != NULL && e == 0)
			e = http_response_header(r, "Cache-Control",
			    "no-store");
	}
	if (r != NULL && e == 0 && ans->retry_after > 0) {
		snprintf(num, sizeof(num), "%d", ans->retry_after);
		e = http_response_header(r, "Retry-After", num);
	}
	if (e < 0) {
		http_response_free(r);
		r = NULL;
	}
	if (r == NULL) {
		http_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	http_reply(req, ans->status, r);
}

static int
admin_method(struct admin_answer *ans, const char *allow)
{
	ans->allow = allow;
	return admin_fail(ans, 405, "method_not_allowed", "this resource "
	    "takes %s", allow);
}

static int
admin_not_found(struct admin_answer *ans, const char *what)
{
	return admin_fail(ans, 404, "not_found", "no such %s", what);
}

static int
admin_is(const char *m, const char *want)
{
	return strcmp(m, want) == 0 ||
	    (strcmp(want, "GET") == 0 && strcmp(m, "HEAD") == 0);
}

/* The JSON body of a request into fields: 0 or -1 (400, 413). */
static int
admin_body_fields(struct http_request *req, struct manifest_field *f,
    size_t n, struct admin_answer *ans)
{
	const char	*body;
	size_t		 len;
	char		 err[256];
	int		 e;

	body = http_body(req, &len);
	err[0] = '\0';
	e = manifest_fields_parse(body, len, f, n, err, sizeof(err));
	if (e == -E2BIG && len > MANIFEST_DOC_MAX)
		return admin_fail(ans, 413, "payload_too_large", "%s", err);
	if (e < 0)
		return admin_fail(ans, 400, "bad_request", "bad JSON body: %s",
		    err[0] != '\0' ? err : "malformed");
	return 0;
}

/* ---- summary ------------------------------------------------------------ */

/* db_events callback: keeps the event. */
static int
admin_event_copy(void *arg, const struct db_event *e)
{
	*(struct db_event *)arg = *e;
	return 0;
}

/* The upstream: null or {"url", "last_sync", "last_result", "behind",
 * "running"}. Under lock. */
static int
admin_summary_upstream(struct admin *a, struct buf *b)
{
	struct repo		*r = &a->rd;
	struct db_event_filter	 f;
	struct db_event		 done, failed;
	struct manifest_state	*st = NULL;
	char			 num[32], running[8] = "";
	char			*state = NULL;
	uint64_t		 t = 0, held, behind = 0;
	size_t			 i;
	int			 e, known = 0;

	if (r->conf.upstream.url[0] == '\0')
		return buf_puts(b, "null");
	e = buf_puts(b, "{\"url\": ");
	if (e == 0)
		e = buf_json_str(b, r->conf.upstream.url);
	if (db_meta_get(r->db, "last_sync_ok", num, sizeof(num)) < 0 ||
	    ts_parse_u64(num, 0, INT64_MAX, &t) < 0)
		t = 0;
	if (e == 0)
		e = buf_puts(b, ", \"last_sync\": ");
	if (e == 0)
		e = admin_json_time(b, (int64_t)t);
	/* the last pass's outcome, from the history */
	memset(&done, 0, sizeof(done));
	memset(&failed, 0, sizeof(failed));
	memset(&f, 0, sizeof(f));
	f.limit = 1;
	f.newest = 1;
	f.kind = "sync-done";
	if (e == 0)
		e = db_events_query(r->db, &f, admin_event_copy, &done);
	f.kind = "sync-failed";
	if (e == 0)
		e = db_events_query(r->db, &f, admin_event_copy, &failed);
	if (e == 0)
		e = buf_puts(b, ", \"last_result\": ");
	if (e == 0 && done.id == 0 && failed.id == 0)
		e = buf_puts(b, "null");
	else if (e == 0 && done.id > failed.id)
		e = buf_puts(b, "\"ok\"");
	else if (e == 0) {
		char	 res[DB_EVENT_DETAIL_MAX + 16];

		snprintf(res, sizeof(res), "failed: %s", failed.detail);
		e = buf_json_str(b, res);
	}
	/* serials behind: the upstream's, of the channels taken, less the
	 * ones held; unknown before the first pass */
	state = malloc(ADMIN_STATE_DOC_MAX);
	st = malloc(sizeof(*st));
	if (e == 0 && (state == NULL || st == NULL))
		e = -ENOMEM;
	if (e == 0 && db_meta_get(r->db, "upstream_state", state,
	    ADMIN_STATE_DOC_MAX) == 0 &&
	    manifest_state_parse(state, strlen(state), st) == 0) {
		known = 1;
		for (i = 0; i < st->nch; i++) {
			if (!conf_upstream_takes(&r->conf, st->ch[i].name) ||
			    strcmp(st->ch[i].name, r->conf.channel) == 0)
				continue;
			if (repo_channel_serial(r, st->ch[i].name, &held) < 0)
				held = 0;
			if (st->ch[i].serial > held)
				behind += st->ch[i].serial - held;
		}
	}
	free(state);
	free(st);
	if (e == 0 && known)
		e = buf_printf(b, ", \"behind\": %llu",
		    (unsigned long long)behind);
	else if (e == 0)
		e = buf_puts(b, ", \"behind\": null");
	db_meta_get(r->db, "sync_running", running, sizeof(running));
	if (e == 0)
		e = buf_printf(b, ", \"running\": %s}",
		    strcmp(running, "1") == 0 ? "true" : "false");
	return e;
}

static int
admin_summary(struct admin *a, struct admin_answer *ans)
{
	char			(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	struct repo		*r = &a->rd;
	struct repo_channel	 rc;
	struct manifest		*m;
	struct buf		*b = &ans->body;
	size_t			 n = 0, i, counts[AGENTS_STATES], total = 0;
	struct report_counts	 ds;
	int			 e, k;

	pthread_mutex_lock(&a->lock);
	e = buf_puts(b, "{\"server\": {\"version\": \"" AGENT_VERSION
	    "\", \"dir\": ");
	if (e == 0)
		e = buf_json_str(b, a->dir);
	if (e == 0)
		e = buf_printf(b, ", \"uptime\": %lld},\n \"channels\": [",
		    (long long)(time(NULL) - a->started));
	if (e == 0)
		e = repo_channels(r, &names, &n);
	for (i = 0; e == 0 && i < n; i++) {
		if (repo_channel_load(r, names[i], &rc, &m) < 0) {
			/* the server refuses to serve such a channel: say so
			 * rather than fail the whole summary */
			e = buf_printf(b, "%s{\"name\": \"%s\", \"serial\": "
			    "null, \"expires\": null}", i > 0 ? ", " : "",
			    names[i]);
			continue;
		}
		e = buf_printf(b, "%s{\"name\": \"%s\", \"serial\": %llu, "
		    "\"expires\": ", i > 0 ? ", " : "", names[i],
		    (unsigned long long)rc.serial);
		if (e == 0)
			e = admin_json_time(b, (int64_t)m->expires);
		if (e == 0)
			e = buf_puts(b, "}");
		manifest_free(m);
		repo_channel_release(&rc);
	}
	free(names);
	if (e == 0)
		e = buf_puts(b, "],\n \"upstream\": ");
	if (e == 0)
		e = admin_summary_upstream(a, b);
	if (e == 0)
		e = agents_census(r->db, r->dir, a->conf, counts, &total);
	if (e == 0)
		e = buf_printf(b, ",\n \"agents\": {\"total\": %zu", total);
	for (k = 0; e == 0 && k < AGENTS_STATES; k++)
		e = buf_printf(b, ", \"%s\": %zu",
		    agents_state_name((enum agents_state)k), counts[k]);
	pthread_mutex_unlock(&a->lock);
	/* the downstream servers' counts are report.c's to give */
	if (e == 0)
		e = buf_puts(b, "},\n \"downstreams\": ");
	if (e == 0 && a->report != NULL &&
	    (e = report_summary(a->report, &ds)) == 0)
		e = buf_printf(b, "{\"total\": %zu, \"current\": %zu, "
		    "\"behind\": %zu, \"offline\": %zu}}\n", ds.total,
		    ds.current, ds.behind, ds.offline);
	else if (e == 0)
		e = buf_puts(b, "null}\n");
	if (e < 0)
		return admin_internal(ans, e, "write the summary");
	ans->status = 200;
	return 0;
}

/* ---- components ----------------------------------------------------------- */

/* One version: {"version", "size", "sha256", "published"}. */
static int
admin_version_json(struct buf *b, const struct db_version *v)
{
	int	 e;

	e = buf_printf(b, "{\"version\": %llu, \"size\": %llu, \"sha256\": "
	    "\"%s\", \"published\": ", (unsigned long long)v->version,
	    (unsigned long long)v->size, v->sha256);
	if (e == 0)
		e = admin_json_time(b, v->published);
	if (e == 0)
		e = buf_puts(b, "}");
	return e;
}

/* One component of a channel, its current version and every version
 * kept. Under lock. */
static int
admin_component_json(struct admin *a, struct buf *b, const char *channel,
    const struct db_version *cur)
{
	struct db_version	*v = NULL;
	size_t			 n = 0, i;
	int			 e;

	e = db_versions(a->rd.db, channel, cur->component, 0, &v, &n);
	if (e < 0)
		return e;
	e = buf_puts(b, "{\"channel\": ");
	if (e == 0)
		e = buf_json_str(b, channel);
	if (e == 0)
		e = buf_puts(b, ", \"name\": ");
	if (e == 0)
		e = buf_json_str(b, cur->component);
	if (e == 0)
		e = buf_puts(b, ", \"kind\": ");
	if (e == 0)
		e = buf_json_str(b, cur->kind);
	if (e == 0)
		e = buf_puts(b, ", \"edition\": ");
	if (e == 0)
		e = buf_json_str(b, cur->edition);
	if (e == 0)
		e = buf_printf(b, ", \"version\": %llu, \"size\": %llu, "
		    "\"sha256\": \"%s\", \"published\": ",
		    (unsigned long long)cur->version,
		    (unsigned long long)cur->size, cur->sha256);
	if (e == 0)
		e = admin_json_time(b, cur->published);
	if (e == 0)
		e = buf_puts(b, ", \"versions\": [");
	for (i = 0; e == 0 && i < n; i++) {
		if (i > 0)
			e = buf_puts(b, ", ");
		if (e == 0)
			e = admin_version_json(b, &v[i]);
	}
	if (e == 0)
		e = buf_puts(b, "]}");
	free(v);
	return e;
}

/* GET /v1/admin/components, or one of them (name; channel NULL: the
 * local channel's, else the first channel's that has it). */
static int
admin_components(struct admin *a, const char *name, const char *channel,
    struct admin_answer *ans)
{
	char			(*ch)[MANIFEST_NAME_MAX + 1] = NULL;
	struct db_version	*cur = NULL;
	struct buf		*b = &ans->body;
	size_t			 nch = 0, ncur = 0, i, j, k, shown = 0;
	int			 e, pass;

	pthread_mutex_lock(&a->lock);
	e = db_channels(a->rd.db, &ch, &nch);
	/* one component: the local channel first, then the others */
	for (pass = 0; e == 0 && pass < (name != NULL ? 2 : 1); pass++) {
		for (i = 0; e == 0 && i < nch; i++) {
			if (name != NULL && (channel != NULL ?
			    strcmp(ch[i], channel) != 0 :
			    (strcmp(ch[i], a->rd.conf.channel) == 0) !=
			    (pass == 0)))
				continue;
			e = db_current(a->rd.db, ch[i], &cur, &ncur);
			for (j = 0; e == 0 && j < ncur; j++) {
				if (name != NULL &&
				    strcmp(cur[j].component, name) != 0)
					continue;
				if (name == NULL)
					e = admin_json_next(b, shown);
				if (e == 0)
					e = admin_component_json(a, b, ch[i],
					    &cur[j]);
				shown++;
				if (name != NULL)
					break;
			}
			free(cur);
			cur = NULL;
			if (name != NULL && shown > 0)
				break;
		}
		if (name != NULL && shown > 0)
			break;
	}
	k = shown;
	free(ch);
	pthread_mutex_unlock(&a->lock);
	if (e == 0 && name == NULL)
		e = admin_json_end(b, k);
	else if (e == 0 && shown == 0)
		return admin_not_found(ans, "component");
	else if (e == 0)
		e = buf_puts(b, "\n");
	if (e < 0)
		return admin_internal(ans, e, "list the components");
	ans->status = 200;
	return 0;
}

/* The sum of the channels' serials: what /v1/state says. Under lock. */
static uint64_t
admin_serial(struct admin *a)
{
	char		(*ch)[MANIFEST_NAME_MAX + 1] = NULL;
	uint64_t	 sum = 0, s;
	size_t		 n = 0, i;

	if (repo_channels(&a->rd, &ch, &n) < 0)
		return 0;
	for (i = 0; i < n; i++)
		if (repo_channel_serial(&a->rd, ch[i], &s) == 0)
			sum += s;
	free(ch);
	return sum;
}

/* POST /v1/admin/components/NAME?kind=&edition=&version=, the file as
 * the body (in a file: admin_body_plan). */
static int
admin_publish(struct admin *a, struct http_request *req, const char *name,
    const struct admin_who *who, struct admin_answer *ans)
{
	struct repo_publish_opts	 o;
	struct repo_publish_result	 res;
	struct db_version		*prev = NULL;
	const char			*q;
	char				 detail[DB_EVENT_DETAIL_MAX + 1];
	uint64_t			 size = 0;
	size_t				 nprev = 0;
	int				 fd, e;

	memset(&o, 0, sizeof(o));
	if (!conf_valid_name(name, 1))
		return admin_fail(ans, 400, "bad_request", "bad component "
		    "name: lower-case letters, digits, '.', '_', '-', parts "
		    "joined by '/'");
	o.kind = http_query(req, "kind");
	o.edition = http_query(req, "edition");
	if ((o.kind != NULL && !conf_valid_name(o.kind, 0)) ||
	    (o.edition != NULL && !conf_valid_name(o.edition, 0)))
		return admin_fail(ans, 400, "bad_request", "bad kind or "
		    "edition name");
	q = http_query(req, "version");
	if (q != NULL && ts_parse_u64(q, 1, MANIFEST_NUMBER_MAX,
	    &o.version) < 0)
		return admin_fail(ans, 400, "bad_request", "version must be "
		    "a positive integer");
	fd = http_body_fd(req, &size);
	if (fd < 0)
		return admin_fail(ans, 400, "bad_request", "send the file as "
		    "the request body (application/octet-stream)");
	if (pthread_mutex_trylock(&a->publock) != 0) {
		ans->retry_after = ADMIN_RETRY_AFTER;
		return admin_fail(ans, 409, "busy", "another publish is "
		    "running; retry later");
	}
	pthread_mutex_lock(&a->lock);
	a->pub.conf = *a->conf;
	pthread_mutex_unlock(&a->lock);
	e = repo_trylock(&a->pub);
	if (e == -EAGAIN) {
		pthread_mutex_unlock(&a->publock);
		ans->retry_after = ADMIN_RETRY_AFTER;
		return admin_fail(ans, 409, "busy", "the repository is busy "
		    "(a sync, a publish or a clean-up holds its lock); retry "
		    "later");
	}
	if (e < 0) {
		pthread_mutex_unlock(&a->publock);
		return admin_internal(ans, e, "lock the repository");
	}
	if (o.version != 0) {
		e = db_versions(a->pub.db, a->pub.conf.channel, name, 1, &prev,
		    &nprev);
		if (e == 0 && nprev > 0 && o.version <= prev[0].version)
			e = admin_fail(ans, 409, "version_conflict", "version "
			    "%llu is not greater than the current %llu",
			    (unsigned long long)o.version,
			    (unsigned long long)prev[0].version);
		else if (e < 0)
			e = admin_internal(ans, e, "read the versions");
		free(prev);
	}
	if (e == 0) {
		e = repo_publish_fd(&a->pub, name, fd, "the upload", &o, &res);
		if (e < 0)
			e = admin_fail(ans, 500, "publish_failed", "the "
			    "publish of '%s' failed (the server's log says "
			    "why)", name);
	}
	if (e == 0 && !res.unchanged) {
		snprintf(detail, sizeof(detail), "%s version %llu, %llu "
		    "bytes, %d delta%s, by %s", name,
		    (unsigned long long)res.version,
		    (unsigned long long)size, res.ndeltas,
		    res.ndeltas == 1 ? "" : "s", who->by);
		if (db_event_add(a->pub.db, "publish", a->pub.conf.channel,
		    detail) < 0)
			log_warn("cannot record the publish of '%s'", name);
		log_info("published %s", detail);
	}
	repo_unlock(&a->pub);
	pthread_mutex_unlock(&a->publock);
	if (e < 0)
		return e;
	e = buf_printf(&ans->body, "{\"version\": %llu, \"serial\": %llu, "
	    "\"sha256\": \"%s\", \"unchanged\": %s, \"deltas\": %d}\n",
	    (unsigned long long)res.version, (unsigned long long)res.serial,
	    res.sha256, res.unchanged ? "true" : "false", res.ndeltas);
	if (e < 0)
		return admin_internal(ans, e, "answer a publish");
	ans->status = 201;
	return 0;
}

/* ---- sync --------------------------------------------------------------- */

static int
admin_sync(struct admin *a, const struct admin_who *who,
    struct admin_answer *ans)
{
	int	 none;

	pthread_mutex_lock(&a->lock);
	none = a->conf->upstream.url[0] == '\0';
	if (!none) {
		a->sync_asked = 1;
		snprintf(a->sync_why, sizeof(a->sync_why), "requested by %s",
		    who->by);
	}
	pthread_mutex_unlock(&a->lock);
	if (none)
		return admin_fail(ans, 409, "no_upstream", "this server has no "
		    "[upstream] to sync from");
	if (buf_puts(&ans->body, "{\"queued\": true}\n") < 0)
		return admin_internal(ans, -ENOMEM, "answer");
	ans->status = 202;
	return 0;
}

/* ---- schedules ---------------------------------------------------------- */

/* 1 if target is "upstream" or "downstream/NAME" (NAME: 1 to
 * MANIFEST_NAME_MAX of [A-Za-z0-9._-], starting with a letter or
 * digit, as host names are). */
static int
admin_valid_target(const char *t)
{
	if (strcmp(t, "upstream") == 0)
		return 1;
	/* a downstream is named as the server names it (conf_valid_name) */
	return strncmp(t, "downstream/", 11) == 0 &&
	    conf_valid_name(t + 11, 0);
}

static int
admin_schedule_json(struct buf *b, const char *target, const char *sched,
    int at_startup, const char *source)
{
	int	 e;

	e = buf_puts(b, "{\"target\": ");
	if (e == 0)
		e = buf_json_str(b, target);
	if (e == 0)
		e = buf_puts(b, ", \"schedule\": ");
	if (e == 0)
		e = buf_json_str(b, sched);
	if (e == 0)
		e = buf_printf(b, ", \"at_startup\": %s, \"source\": \"%s\"}",
		    at_startup ? "true" : "false", source);
	return e;
}

/* The upstream's configured schedule, as a row would hold it. */
static void
admin_upstream_default(const struct conf *c, struct db_schedule *ret)
{
	char	 text[CONF_SCHEDULE_TEXT_MAX];

	memset(ret, 0, sizeof(*ret));
	snprintf(ret->target, sizeof(ret->target), "upstream");
	conf_schedule_format(&c->upstream.schedule, text);
	snprintf(ret->schedule, sizeof(ret->schedule), "%s", text);
	ret->at_startup = c->upstream.sync_at_startup;
}

/* GET /v1/admin/schedules (target NULL) or one of them. The upstream of
 * a mirror is always listed, as configured when nothing overrides it. */
static int
admin_schedules_get(struct admin *a, const char *target,
    struct admin_answer *ans)
{
	struct db_schedule	*rows = NULL, up;
	struct buf		*b = &ans->body;
	size_t			 n = 0, i, shown = 0;
	int			 e, has_up = 0, mirror;

	pthread_mutex_lock(&a->lock);
	mirror = a->conf->upstream.url[0] != '\0';
	admin_upstream_default(a->conf, &up);
	e = db_schedules(a->rd.db, &rows, &n);
	pthread_mutex_unlock(&a->lock);
	if (e < 0)
		return admin_internal(ans, e, "read the schedules");
	for (i = 0; i < n; i++)
		has_up |= strcmp(rows[i].target, "upstream") == 0;
	for (i = 0; e == 0 && i < n; i++) {
		if (target != NULL && strcmp(rows[i].target, target) != 0)
			continue;
		if (target == NULL)
			e = admin_json_next(b, shown);
		if (e == 0)
			e = admin_schedule_json(b, rows[i].target,
			    rows[i].schedule, rows[i].at_startup, "override");
		shown++;
	}
	if (e == 0 && mirror && !has_up && (target == NULL ||
	    strcmp(target, "upstream") == 0)) {
		if (target == NULL)
			e = admin_json_next(b, shown);
		if (e == 0)
			e = admin_schedule_json(b, up.target, up.schedule,
			    up.at_startup, "configured");
		shown++;
	}
	free(rows);
	if (e == 0 && target == NULL)
		e = admin_json_end(b, shown);
	else if (e == 0 && shown == 0)
		return admin_not_found(ans, "schedule");
	else if (e == 0)
		e = buf_puts(b, "\n");
	if (e < 0)
		return admin_internal(ans, e, "list the schedules");
	ans->status = 200;
	return 0;
}

/* PUT /v1/admin/schedules/TARGET {"schedule": "...", "at_startup": b} */
static int
admin_schedule_put(struct admin *a, struct http_request *req,
    const char *target, const struct admin_who *who,
    struct admin_answer *ans)
{
	struct conf_schedule	 cs;
	struct db_schedule	 row;
	char			 sched[CONF_VALUE_MAX], start[8];
	char			 text[CONF_SCHEDULE_TEXT_MAX];
	char			 detail[DB_EVENT_DETAIL_MAX + 1];
	struct manifest_field	 f[] = {
		{ "schedule", MANIFEST_FIELD_STRING, sched, sizeof(sched), 0 },
		{ "at_startup", MANIFEST_FIELD_BOOL, start, sizeof(start), 0 },
	};
	int			 e;

	if (admin_body_fields(req, f, 2, ans) < 0)
		return -1;
	if (!f[0].present)
		return admin_fail(ans, 400, "bad_request", "'schedule' is "
		    "required: \"every 30m\", \"daily 02:00\" or \"weekly mon "
		    "02:00\"");
	if (conf_schedule_parse(sched, &cs) < 0)
		return admin_fail(ans, 400, "bad_request", "bad schedule: "
		    "\"every 30m\", \"daily 02:00\" or \"weekly mon 02:00\"");
	memset(&row, 0, sizeof(row));
	snprintf(row.target, sizeof(row.target), "%s", target);
	conf_schedule_format(&cs, text);
	snprintf(row.schedule, sizeof(row.schedule), "%s", text);
	row.at_startup = f[1].present && strcmp(start, "true") == 0;
	snprintf(detail, sizeof(detail), "%s: %s%s by %s", target, text,
	    row.at_startup ? " and at start-up" : "", who->by);
	pthread_mutex_lock(&a->lock);
	e = db_begin(a->rd.db);
	if (e == 0) {
		e = db_schedule_set(a->rd.db, &row);
		if (e == 0)
			e = db_event_add(a->rd.db, "schedule", NULL, detail);
		if (e == 0)
			e = db_commit(a->rd.db);
		else
			db_rollback(a->rd.db);
	}
	pthread_mutex_unlock(&a->lock);
	if (e < 0)
		return admin_internal(ans, e, "set a schedule");
	e = admin_schedule_json(&ans->body, row.target, row.schedule,
	    row.at_startup, "override");
	if (e == 0)
		e = buf_puts(&ans->body, "\n");
	if (e < 0)
		return admin_internal(ans, e, "answer");
	ans->status = 200;
	return 0;
}

static int
admin_schedule_delete(struct admin *a, const char *target,
    const struct admin_who *who, struct admin_answer *ans)
{
	char	 detail[DB_EVENT_DETAIL_MAX + 1];
	int	 e;

	snprintf(detail, sizeof(detail), "%s: back to the configured "
	    "default by %s", target, who->by);
	pthread_mutex_lock(&a->lock);
	e = db_begin(a->rd.db);
	if (e == 0) {
		e = db_schedule_remove(a->rd.db, target);
		if (e == 0)
			e = db_event_add(a->rd.db, "schedule", NULL, detail);
		if (e == 0)
			e = db_commit(a->rd.db);
		else
			db_rollback(a->rd.db);
	}
	pthread_mutex_unlock(&a->lock);
	if (e == -ENOENT)
		return admin_fail(ans, 404, "not_found", "no schedule is set "
		    "for '%s'", target);
	if (e < 0)
		return admin_internal(ans, e, "remove a schedule");
	ans->status = 204;
	return 0;
}

static int
admin_schedules(struct admin *a, struct http_request *req,
    const char *target, const struct admin_who *who,
    struct admin_answer *ans)
{
	const char	*m = http_method(req);

	if (target == NULL)
		return admin_is(m, "GET") ? admin_schedules_get(a, NULL, ans) :
		    admin_method(ans, "GET, HEAD");
	if (!admin_valid_target(target))
		return admin_fail(ans, 404, "not_found", "a schedule's target "
		    "is \"upstream\" or \"downstream/NAME\"");
	if (admin_is(m, "GET"))
		return admin_schedules_get(a, target, ans);
	if (strcmp(m, "PUT") == 0)
		return admin_schedule_put(a, req, target, who, ans);
	if (strcmp(m, "DELETE") == 0)
		return admin_schedule_delete(a, target, who, ans);
	return admin_method(ans, "GET, HEAD, PUT, DELETE");
}

/* ---- agents ------------------------------------------------------------- */

/* 1 if s is an agent id: 32 lower-case hex digits. */
static int
admin_valid_agent(const char *s)
{
	return strlen(s) == MANIFEST_AGENT_ID_MAX &&
	    strspn(s, "0123456789abcdef") == MANIFEST_AGENT_ID_MAX;
}

static int
admin_agents_list(struct admin *a, struct http_request *req,
    struct admin_answer *ans)
{
	const char	*state = http_query(req, "state");
	const char	*group = http_query(req, "group");
	int		 e;

	if (state != NULL && !agents_valid_state(state))
		return admin_fail(ans, 400, "bad_request", "state is one of "
		    "pending, licensed, current, behind, diverged, failed, "
		    "offline");
	pthread_mutex_lock(&a->lock);
	e = agents_json(a->rd.db, a->dir, a->conf, state, group, &ans->body);
	pthread_mutex_unlock(&a->lock);
	if (e < 0)
		return admin_internal(ans, e, "list the agents");
	ans->status = 200;
	return 0;
}

static int
admin_agent_get(struct admin *a, const char *id, unsigned status,
    struct admin_answer *ans)
{
	int	 e;

	pthread_mutex_lock(&a->lock);
	e = agents_json_get(a->rd.db, a->dir, a->conf, id, &ans->body);
	pthread_mutex_unlock(&a->lock);
	if (e == -ENOENT)
		return admin_not_found(ans, "agent");
	if (e < 0)
		return admin_internal(ans, e, "read an agent");
	ans->status = status;
	return 0;
}

/* license, unlicense, group, remove. */
static int
admin_agent_change(struct admin *a, struct http_request *req,
    const char *id, const char *cmd, const struct admin_who *who,
    struct admin_answer *ans)
{
	struct db_agent		 ag;
	char			 group[CONF_VALUE_MAX];
	struct manifest_field	 f[] = {
		{ "group", MANIFEST_FIELD_STRING, group, sizeof(group), 0 },
	};
	int			 e;

	group[0] = '\0';
	if (strcmp(cmd, "group") == 0) {
		if (admin_body_fields(req, f, 1, ans) < 0)
			return -1;
		if (!f[0].present || !conf_valid_name(group, 0))
			return admin_fail(ans, 400, "bad_request", "'group' "
			    "is required: a group name");
	}
	pthread_mutex_lock(&a->lock);
	e = agents_apply(a->rd.db, a->conf, id, cmd, group, who->by, &ag);
	pthread_mutex_unlock(&a->lock);
	if (e == -ENOENT)
		return admin_not_found(ans, "agent");
	if (e == -EINVAL)
		return admin_fail(ans, 400, "bad_request", "no group '%s': "
		    "add a [group %s] section to cascade.conf, or use the "
		    "default group", group, group);
	if (e < 0)
		return admin_internal(ans, e, "change an agent");
	db_agents_free(&ag, 1);
	if (e == 0)
		log_info("agent %s: %s by %s", id, cmd, who->by);
	if (strcmp(cmd, "remove") == 0) {
		ans->status = 204;
		return 0;
	}
	return admin_agent_get(a, id, 200, ans);
}

/* POST /v1/admin/agents/ID/notify: a push now if it listens, else a
 * request its next long-poll or sync meets. */
static int
admin_agent_notify(struct admin *a, const char *id,
    const struct admin_who *who, struct admin_answer *ans)
{
	struct db_agent	 ag;
	char		 detail[DB_EVENT_DETAIL_MAX + 1];
	uint64_t	 serial;
	const char	*via;
	int		 e;

	pthread_mutex_lock(&a->lock);
	e = db_agent_get(a->rd.db, id, &ag);
	serial = e == 0 ? admin_serial(a) : 0;
	pthread_mutex_unlock(&a->lock);
	if (e == -ENOENT)
		return admin_not_found(ans, "agent");
	if (e < 0)
		return admin_internal(ans, e, "read an agent");
	e = -ENOENT;
	if (a->notify != NULL && ag.notify_url[0] != '\0')
		e = notify_agent(a->notify, &ag, serial);
	via = "push";
	if (e < 0) {
		via = "long-poll";
		e = agents_sync_request(a->agents, id);
	}
	db_agents_free(&ag, 1);
	if (e < 0)
		return admin_internal(ans, e, "ask an agent to sync");
	snprintf(detail, sizeof(detail), "asked to sync by %s (%s)", who->by,
	    via);
	pthread_mutex_lock(&a->lock);
	e = db_event_add_agent(a->rd.db, "agent-notify", id, detail);
	pthread_mutex_unlock(&a->lock);
	if (e < 0)
		log_warn("cannot record that agent %s was asked to sync", id);
	if (buf_printf(&ans->body, "{\"queued\": true, \"via\": \"%s\"}\n",
	    via) < 0)
		return admin_internal(ans, -ENOMEM, "answer");
	ans->status = 202;
	return 0;
}

static int
admin_agents(struct admin *a, struct http_request *req, const char *rest,
    const struct admin_who *who, struct admin_answer *ans)
{
	const char	*m = http_method(req), *sub;
	char		 id[MANIFEST_AGENT_ID_MAX + 1];
	size_t		 n;

	if (rest == NULL)
		return admin_is(m, "GET") ? admin_agents_list(a, req, ans) :
		    admin_method(ans, "GET, HEAD");
	n = strcspn(rest, "/");
	if (n != MANIFEST_AGENT_ID_MAX)
		return admin_not_found(ans, "agent");
	memcpy(id, rest, n);
	id[n] = '\0';
	if (!admin_valid_agent(id))
		return admin_not_found(ans, "agent");
	sub = rest[n] == '/' ? rest + n + 1 : NULL;
	if (sub == NULL) {
		if (admin_is(m, "GET"))
			return admin_agent_get(a, id, 200, ans);
		if (strcmp(m, "DELETE") == 0)
			return admin_agent_change(a, req, id, "remove", who,
			    ans);
		return admin_method(ans, "GET, HEAD, DELETE");
	}
	if (strcmp(sub, "license") == 0 || strcmp(sub, "unlicense") == 0)
		return strcmp(m, "POST") == 0 ? admin_agent_change(a, req, id,
		    sub, who, ans) : admin_method(ans, "POST");
	if (strcmp(sub, "notify") == 0)
		return strcmp(m, "POST") == 0 ? admin_agent_notify(a, id, who,
		    ans) : admin_method(ans, "POST");
	if (strcmp(sub, "group") == 0)
		return strcmp(m, "PUT") == 0 ? admin_agent_change(a, req, id,
		    "group", who, ans) : admin_method(ans, "PUT");
	return admin_not_found(ans, "resource");
}

/* ---- events ------------------------------------------------------------- */

struct admin_events_out {
	struct buf	*b;
	size_t		 n;
};

static int
admin_events_add(void *arg, const struct db_event *e)
{
	struct admin_events_out	*o = arg;
	int			 r;

	r = admin_json_next(o->b, o->n);
	if (r == 0)
		r = admin_event_json(o->b, e);
	o->n++;
	return r;
}

/* Runs the filter into the answer (200 with the list). Under no lock. */
static int
admin_events_answer(struct admin *a, const struct db_event_filter *f,
    struct admin_answer *ans)
{
	struct admin_events_out	 o;
	int			 e;

	o.b = &ans->body;
	o.n = 0;
	pthread_mutex_lock(&a->lock);
	e = db_events_query(a->rd.db, f, admin_events_add, &o);
	pthread_mutex_unlock(&a->lock);
	if (e == 0)
		e = admin_json_end(&ans->body, o.n);
	if (e < 0)
		return admin_internal(ans, e, "read the events");
	ans->status = 200;
	return 0;
}

static int
admin_count_event(void *arg, const struct db_event *e)
{
	(void)e;
	(*(size_t *)arg)++;
	return 0;
}

/* http: a held events request ended; its waiter goes. */
static void
admin_wait_release(void *token)
{
	struct admin_wait	*w = token;
	struct admin		*a = w->a;

	pthread_mutex_lock(&a->wlock);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		a->waiters = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	a->nwaiters--;
	if (w->hw != NULL)	/* ended while held: drop our reference */
		http_resume(w->hw);
	pthread_mutex_unlock(&a->wlock);
	free(w);
}

/* GET /v1/admin/events?kind=&agent=&since=&after=&limit=&wait= */
static int
admin_events(struct admin *a, struct http_request *req,
    struct admin_answer *ans, int *ret_held)
{
	struct admin_wait	*w;
	const char		*q;
	time_t			 t;
	uint64_t		 u, wait = 0;
	size_t			 found = 0;
	int			 e;

	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return admin_internal(ans, -ENOMEM, "read the events");
	w->a = a;
	w->f.limit = ADMIN_EVENTS_LIMIT;
	if ((q = http_query(req, "kind")) != NULL) {
		if (q[0] == '\0' || strlen(q) >= sizeof(w->kind)) {
			free(w);
			return admin_fail(ans, 400, "bad_request", "bad kind");
		}
		snprintf(w->kind, sizeof(w->kind), "%s", q);
		w->f.kind = w->kind;
	}
	if ((q = http_query(req, "agent")) != NULL) {
		if (!admin_valid_agent(q)) {
			free(w);
			return admin_fail(ans, 400, "bad_request", "agent is "
			    "an agent id (32 hex digits)");
		}
		snprintf(w->agent, sizeof(w->agent), "%s", q);
		w->f.agent = w->agent;
	}
	if ((q = http_query(req, "since")) != NULL) {
		if (ts_parse(q, strlen(q), &t) < 0) {
			free(w);
			return admin_fail(ans, 400, "bad_request", "since is "
			    "a time like 2026-11-22T10:00:00Z");
		}
		w->f.since = (int64_t)t;
	}
	if ((q = http_query(req, "limit")) != NULL) {
		if (ts_parse_u64(q, 1, ADMIN_EVENTS_LIMIT_MAX, &u) < 0) {
			free(w);
			return admin_fail(ans, 400, "bad_request", "limit is "
			    "1 to %d", ADMIN_EVENTS_LIMIT_MAX);
		}
		w->f.limit = (size_t)u;
	}
	/* without after: the newest; after an id: those that follow */
	w->f.newest = 1;
	if ((q = http_query(req, "after")) != NULL) {
		if (ts_parse_u64(q, 0, INT64_MAX, &u) < 0) {
			free(w);
			return admin_fail(ans, 400, "bad_request", "after is "
			    "an event id");
		}
		w->f.after = (int64_t)u;
		w->f.newest = 0;
		if ((q = http_query(req, "wait")) != NULL &&
		    ts_parse_u64(q, 0, UINT64_MAX, &wait) < 0) {
			free(w);
			return admin_fail(ans, 400, "bad_request", "wait is a "
			    "number of seconds");
		}
		if (wait > ADMIN_EVENTS_WAIT_MAX)
			wait = ADMIN_EVENTS_WAIT_MAX;
	}
	if (wait == 0) {
		e = admin_events_answer(a, &w->f, ans);
		free(w);
		return e;
	}
	/* anything there already? then no wait */
	{
		struct db_event_filter	 probe = w->f;

		probe.limit = 1;
		pthread_mutex_lock(&a->lock);
		e = db_events_query(a->rd.db, &probe, admin_count_event,
		    &found);
		if (e == 0)
			e = db_events_last(a->rd.db, &w->checked);
		pthread_mutex_unlock(&a->lock);
	}
	if (e < 0) {
		free(w);
		return admin_internal(ans, e, "read the events");
	}
	if (found > 0 || w->checked < w->f.after) {
		/* news, or an id from the future (a pruned or other
		 * database): answer now rather than hold for nothing */
		e = admin_events_answer(a, &w->f, ans);
		free(w);
		return e;
	}
	w->deadline = admin_now_ms() + (int64_t)wait * 1000;
	pthread_mutex_lock(&a->wlock);
	if (!a->stopping && a->nwaiters < ADMIN_WAITERS_MAX)
		w->hw = http_suspend(req, w, admin_wait_release);
	if (w->hw == NULL) {
		int	 stopping = a->stopping;

		pthread_mutex_unlock(&a->wlock);
		free(w);
		ans->retry_after = ADMIN_RETRY_AFTER;
		return admin_fail(ans, 503, stopping ? "shutting_down" :
		    "busy", stopping ? "the server is stopping" : "too many "
		    "requests are waiting for events; retry later");
	}
	w->next = a->waiters;
	if (a->waiters != NULL)
		a->waiters->prev = w;
	a->waiters = w;
	a->nwaiters++;
	pthread_mutex_unlock(&a->wlock);
	*ret_held = 1;
	return 0;
}

/* A held request, resumed by admin_tick: it answers now, with what came
 * (or [] when its time is up). */
static void
admin_events_resumed(struct admin *a, struct http_request *req,
    struct admin_wait *w)
{
	struct admin_answer	 ans;
	int			 stopping;

	admin_answer_init(&ans);
	pthread_mutex_lock(&a->wlock);
	stopping = a->stopping;
	pthread_mutex_unlock(&a->wlock);
	if (stopping) {
		ans.retry_after = ADMIN_RETRY_AFTER;
		admin_fail(&ans, 503, "shutting_down", "the server is "
		    "stopping");
	} else
		admin_events_answer(a, &w->f, &ans);
	admin_reply(req, &ans);
	buf_release(&ans.body);
}

void
admin_tick(struct admin *a)
{
	struct db_event_filter	 probe;
	struct admin_wait	*w;
	int64_t			 now = admin_now_ms(), last = 0;
	size_t			 found;
	int			 e;

	pthread_mutex_lock(&a->wlock);
	if (a->nwaiters == 0) {
		pthread_mutex_unlock(&a->wlock);
		return;
	}
	pthread_mutex_lock(&a->lock);
	e = db_events_last(a->rd.db, &last);
	for (w = a->waiters; w != NULL; w = w->next) {
		if (w->hw == NULL)
			continue;	/* resumed, answering */
		found = 0;
		if (e == 0 && last > w->checked) {
			/* only events that pass its filter wake it */
			probe = w->f;
			probe.after = w->checked > w->f.after ? w->checked :
			    w->f.after;
			probe.limit = 1;
			probe.newest = 0;
			if (db_events_query(a->rd.db, &probe,
			    admin_count_event, &found) == 0 && found == 0)
				w->checked = last;
		}
		if (a->stopping || found > 0 || now >= w->deadline) {
			http_resume(w->hw);
			w->hw = NULL;
		}
	}
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_unlock(&a->wlock);
}

void
admin_stop(struct admin *a)
{
	struct timespec	 pause = { 0, 10 * 1000000L };
	int64_t		 until = admin_now_ms() + ADMIN_STOP_GRACE_MS;
	size_t		 n;

	pthread_mutex_lock(&a->wlock);
	a->stopping = 1;
	pthread_mutex_unlock(&a->wlock);
	admin_tick(a);
	for (;;) {
		pthread_mutex_lock(&a->wlock);
		n = a->nwaiters;
		pthread_mutex_unlock(&a->wlock);
		if (n == 0 || admin_now_ms() >= until)
			break;
		nanosleep(&pause, NULL);
	}
}

/* ---- licenses ----------------------------------------------------------- */

static int
admin_license_json(struct buf *b, const struct db_license *l)
{
	char	 mask[LICENSE_MASK_MAX];
	int	 e;

	license_mask(l->key, mask);
	e = buf_puts(b, "{\"key\": ");
	if (e == 0)
		e = buf_json_str(b, mask);
	if (e == 0)
		e = buf_puts(b, ", \"edition\": ");
	if (e == 0)
		e = buf_json_str(b, l->edition);
	if (e == 0)
		e = buf_puts(b, ", \"username\": ");
	if (e == 0)
		e = admin_json_str_or_null(b, l->username);
	if (e == 0)
		e = buf_puts(b, ", \"created\": ");
	if (e == 0)
		e = admin_json_time(b, l->created);
	if (e == 0)
		e = buf_puts(b, "}");
	return e;
}

static int
admin_licenses_get(struct admin *a, struct admin_answer *ans)
{
	struct db_license	*l = NULL;
	size_t			 n = 0, i;
	int			 e;

	pthread_mutex_lock(&a->lock);
	e = db_licenses(a->rd.db, &l, &n);
	pthread_mutex_unlock(&a->lock);
	for (i = 0; e == 0 && i < n; i++) {
		e = admin_json_next(&ans->body, i);
		if (e == 0)
			e = admin_license_json(&ans->body, &l[i]);
	}
	if (e == 0)
		e = admin_json_end(&ans->body, n);
	if (l != NULL)
		crypto_wipe(l, n * sizeof(*l));
	free(l);
	if (e < 0)
		return admin_internal(ans, e, "list the licenses");
	ans->status = 200;
	return 0;
}

/* POST /v1/admin/licenses {"key", "edition", "username", "password"} */
static int
admin_license_add(struct admin *a, struct http_request *req,
    const struct admin_who *who, struct admin_answer *ans)
{
	struct db_license	 l;
	char			 key[LICENSE_KEY_MAX + 2];
	char			 edition[CONF_NAME_MAX + 2];
	char			 user[LICENSE_USERNAME_MAX + 2];
	char			 pass[LICENSE_PASSWORD_MAX + 2];
	char			 err[256], mask[LICENSE_MASK_MAX];
	char			 detail[DB_EVENT_DETAIL_MAX + 1];
	struct manifest_field	 f[] = {
		{ "key", MANIFEST_FIELD_STRING, key, sizeof(key), 0 },
		{ "edition", MANIFEST_FIELD_STRING, edition, sizeof(edition),
		    0 },
		{ "username", MANIFEST_FIELD_STRING, user, sizeof(user), 0 },
		{ "password", MANIFEST_FIELD_STRING, pass, sizeof(pass), 0 },
	};
	int			 e, rank_ok;

	e = admin_body_fields(req, f, 4, ans);
	if (e == 0 && (!f[0].present || !f[1].present))
		e = admin_fail(ans, 400, "bad_request", "'key' and 'edition' "
		    "are required");
	if (e < 0)
		goto out;
	pthread_mutex_lock(&a->lock);
	rank_ok = a->conf->neditions == 0 ||
	    conf_edition_rank(a->conf, edition) >= 0;
	pthread_mutex_unlock(&a->lock);
	if (!rank_ok) {
		e = admin_fail(ans, 400, "bad_request", "unknown edition: "
		    "[editions] order in cascade.conf does not list it");
		goto out;
	}
	e = license_make(&l, key, edition, f[2].present ? user : NULL,
	    f[3].present ? pass : NULL, err, sizeof(err));
	if (e < 0) {
		e = admin_fail(ans, 400, "bad_request", "%s", err);
		goto out;
	}
	license_mask(key, mask);
	snprintf(detail, sizeof(detail), "added %s edition %s by %s", mask,
	    edition, who->by);
	pthread_mutex_lock(&a->lock);
	e = db_begin(a->rd.db);
	if (e == 0) {
		e = db_license_add(a->rd.db, &l);
		if (e == 0)
			e = db_event_add(a->rd.db, "license", NULL, detail);
		if (e == 0)
			e = db_commit(a->rd.db);
		else
			db_rollback(a->rd.db);
	}
	pthread_mutex_unlock(&a->lock);
	if (e == -EEXIST)
		e = admin_fail(ans, 409, "conflict", "license %s exists "
		    "already (remove it first)", mask);
	else if (e < 0)
		e = admin_internal(ans, e, "add a license");
	else {
		e = admin_license_json(&ans->body, &l);
		if (e == 0)
			e = buf_puts(&ans->body, "\n");
		if (e < 0)
			e = admin_internal(ans, e, "answer");
		else
			ans->status = 201;
	}
	crypto_wipe(&l, sizeof(l));
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(pass, sizeof(pass));
	return e;
}

/* DELETE /v1/admin/licenses/KEY */
static int
admin_license_remove(struct admin *a, const char *key,
    const struct admin_who *who, struct admin_answer *ans)
{
	struct db_license	 l;
	char			 mask[LICENSE_MASK_MAX];
	char			 detail[DB_EVENT_DETAIL_MAX + 1];
	int			 e;

	license_mask(key, mask);
	pthread_mutex_lock(&a->lock);
	e = db_begin(a->rd.db);
	if (e == 0) {
		e = db_license_get(a->rd.db, key, &l);
		if (e == 0) {
			snprintf(detail, sizeof(detail), "removed %s edition "
			    "%s by %s", mask, l.edition, who->by);
			crypto_wipe(&l, sizeof(l));
			e = db_license_remove(a->rd.db, key);
		}
		if (e == 0)
			e = db_event_add(a->rd.db, "license", NULL, detail);
		if (e == 0)
			e = db_commit(a->rd.db);
		else
			db_rollback(a->rd.db);
	}
	pthread_mutex_unlock(&a->lock);
	if (e == -ENOENT)
		return admin_not_found(ans, "license");
	if (e < 0)
		return admin_internal(ans, e, "remove a license");
	ans->status = 204;
	return 0;
}

static int
admin_licenses(struct admin *a, struct http_request *req, const char *key,
    const struct admin_who *who, struct admin_answer *ans)
{
	const char	*m = http_method(req);

	if (key == NULL) {
		if (admin_is(m, "GET"))
			return admin_licenses_get(a, ans);
		if (strcmp(m, "POST") == 0)
			return admin_license_add(a, req, who, ans);
		return admin_method(ans, "GET, HEAD, POST");
	}
	if (strcmp(m, "DELETE") == 0)
		return admin_license_remove(a, key, who, ans);
	return admin_method(ans, "DELETE");
}

/* ---- routing ------------------------------------------------------------ */

/* Splits the path under /v1/admin/ into its first segment (the
 * resource, copied into res) and the rest (NULL when none; "a/b" for
 * names holding '/'). 0, or -1 when it is not under the prefix. */
static int
admin_split(const char *path, char *res, size_t ressize,
    const char **ret_rest)
{
	const char	*p;
	size_t		 n;

	if (strncmp(path, ADMIN_PREFIX, strlen(ADMIN_PREFIX)) != 0)
		return -1;
	p = path + strlen(ADMIN_PREFIX);
	if (*p == '/')
		p++;
	else if (*p != '\0')
		return -1;
	n = strcspn(p, "/");
	if (n >= ressize)
		return -1;
	memcpy(res, p, n);
	res[n] = '\0';
	*ret_rest = p[n] == '/' && p[n + 1] != '\0' ? p + n + 1 : NULL;
	return 0;
}

void
admin_body_plan(struct admin *a, struct http_request *req,
    struct http_body_plan *plan)
{
	struct admin_answer	 ans;
	struct admin_who	 who;
	char			 res[32];
	const char		*rest;

	plan->max = ADMIN_BODY_MAX;
	plan->dir = NULL;
	if (strcmp(http_method(req), "POST") != 0 ||
	    admin_split(http_path(req), res, sizeof(res), &rest) < 0 ||
	    strcmp(res, "components") != 0 || rest == NULL)
		return;
	/* an upload: its token first, so that nobody else fills a disk */
	admin_answer_init(&ans);
	if (admin_auth(a, req, &who, &ans) < 0)
		admin_reply(req, &ans);
	else {
		pthread_mutex_lock(&a->lock);
		plan->max = a->conf->upload_max;
		pthread_mutex_unlock(&a->lock);
		plan->dir = a->tmpdir;
	}
	buf_release(&ans.body);
}

/* /v1/admin/downstreams... and /v1/admin/reports...: report.c's, as
 * path segments after "admin". */
static void
admin_report(struct admin *a, struct http_request *req, const char *res,
    const char *rest, const struct admin_who *who)
{
	char		 segs[3][REPORT_SEG_MAX];
	const char	*seg[4];
	size_t		 len;
	int		 n = 1;

	seg[0] = res;
	while (rest != NULL) {
		len = strcspn(rest, "/");
		if (n == 4 || len == 0 || len >= REPORT_SEG_MAX) {
			http_reply_error(req, 404, "not_found", "no such "
			    "resource");
			return;
		}
		memcpy(segs[n - 1], rest, len);
		segs[n - 1][len] = '\0';
		seg[n] = segs[n - 1];
		n++;
		rest = rest[len] == '/' ? rest + len + 1 : NULL;
	}
	report_admin_handle(a->report, req, seg, n,
	    strcmp(who->t.role, "admin") == 0, who->by);
}

void
admin_handle(struct admin *a, struct http_request *req)
{
	struct admin_answer	 ans;
	struct admin_who	 who;
	struct admin_wait	*w;
	const char		*m = http_method(req), *rest;
	char			 res[32];
	int			 held = 0;

	if ((w = http_resumed(req)) != NULL) {
		admin_events_resumed(a, req, w);
		return;
	}
	admin_answer_init(&ans);
	if (admin_auth(a, req, &who, &ans) < 0)
		goto reply;
	if (admin_split(http_path(req), res, sizeof(res), &rest) < 0 ||
	    res[0] == '\0') {
		admin_not_found(&ans, "resource");
		goto reply;
	}
	if (strcmp(res, "summary") == 0 && rest == NULL) {
		if (admin_is(m, "GET"))
			admin_summary(a, &ans);
		else
			admin_method(&ans, "GET, HEAD");
	} else if (strcmp(res, "components") == 0) {
		if (admin_is(m, "GET"))
			admin_components(a, rest, http_query(req, "channel"),
			    &ans);
		else if (strcmp(m, "POST") == 0 && rest != NULL)
			admin_publish(a, req, rest, &who, &ans);
		else
			admin_method(&ans, rest != NULL ? "GET, HEAD, POST" :
			    "GET, HEAD");
	} else if (strcmp(res, "sync") == 0 && rest == NULL) {
		if (strcmp(m, "POST") == 0)
			admin_sync(a, &who, &ans);
		else
			admin_method(&ans, "POST");
	} else if (strcmp(res, "schedules") == 0)
		admin_schedules(a, req, rest, &who, &ans);
	else if (strcmp(res, "agents") == 0)
		admin_agents(a, req, rest, &who, &ans);
	else if (strcmp(res, "events") == 0 && rest == NULL) {
		if (admin_is(m, "GET"))
			admin_events(a, req, &ans, &held);
		else
			admin_method(&ans, "GET, HEAD");
	} else if (strcmp(res, "licenses") == 0)
		admin_licenses(a, req, rest, &who, &ans);
	else if ((strcmp(res, "downstreams") == 0 ||
	    strcmp(res, "reports") == 0) && a->report != NULL) {
		admin_report(a, req, res, rest, &who);
		held = 1;		/* report.c answered */
	} else
		admin_not_found(&ans, "resource");
reply:
	if (!held)
		admin_reply(req, &ans);
	buf_release(&ans.body);
}
