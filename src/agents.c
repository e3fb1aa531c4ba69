/*
 * agents: the server's side of cascade-agent; see agents.h.
 *
 * Each endpoint is a function from its inputs (body, peer, credentials)
 * to an answer (status, JSON body or error), so that the logic is tested
 * without HTTP; agents_handle only maps a request to one of them.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "agents.h"
#include "crypto.h"
#include "fs.h"
#include "log.h"
#include "remote.h"
#include "repo.h"
#include "sig.h"
#include "ts.h"
#include "banned.h"

#define AGENTS_ANSWER_MAX	(2 * MANIFEST_DOC_MAX)
#define AGENTS_DETAIL_MAX	256

struct agents {
	pthread_mutex_t	 lock;		/* db, conf and below */
	struct db	*db;
	struct conf	*conf;		/* a copy */
	/* agents asked to sync (agents_sync_request), sorted */
	char		(*asked)[DB_AGENT_ID_MAX + 1];
	size_t		 nasked;
	size_t		 capasked;
	uint64_t	 asked_gen;
};

/* What an endpoint answers: a JSON body (status 2xx) or an error. */
struct agents_answer {
	unsigned	 status;
	const char	*error;		/* NULL: success */
	char		 detail[AGENTS_DETAIL_MAX];
	struct buf	 body;
};

static void
agents_answer_init(struct agents_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	buf_init(&ans->body, AGENTS_ANSWER_MAX);
}

static void
agents_answer_release(struct agents_answer *ans)
{
	if (ans->body.ptr != NULL)
		crypto_wipe(ans->body.ptr, ans->body.len);	/* a token */
	buf_release(&ans->body);
}

static int
agents_fail(struct agents_answer *ans, unsigned status, const char *error,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sets an error answer; returns -1 for the caller to return. */
static int
agents_fail(struct agents_answer *ans, unsigned status, const char *error,
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
agents_internal(struct agents_answer *ans, int e, const char *what)
{
	log_errno(e, "agents: cannot %s", what);
	return agents_fail(ans, 500, "internal", "the server cannot %s", what);
}

int
agents_open(const char *dir, const struct conf *c, struct agents **ret_a)
{
	struct agents	*a;
	char		 path[FS_PATH_MAX];
	int		 e;

	e = fs_path(path, sizeof(path), "%s/state.db", dir);
	if (e < 0)
		return e;
	a = calloc(1, sizeof(*a));
	if (a == NULL)
		return -ENOMEM;
	a->conf = malloc(sizeof(*a->conf));
	if (a->conf == NULL) {
		free(a);
		return -ENOMEM;
	}
	*a->conf = *c;
	e = db_open(path, c->state, 0, &a->db);
	/* reports and last-seen times are rewritten all the time: they need
	 * not wait for the disk (enrolments do, see agents_enrol) */
	if (e == 0)
		e = db_set_durable(a->db, 0);
	if (e == 0 && pthread_mutex_init(&a->lock, NULL) != 0)
		e = -ENOMEM;
	if (e < 0) {
		db_close(a->db);
		free(a->conf);
		free(a);
		return e;
	}
	*ret_a = a;
	return 0;
}

void
agents_close(struct agents *a)
{
	if (a == NULL)
		return;
	pthread_mutex_destroy(&a->lock);
	db_close(a->db);
	free(a->conf);
	free(a->asked);
	free(a);
}

void
agents_set_conf(struct agents *a, const struct conf *c)
{
	pthread_mutex_lock(&a->lock);
	*a->conf = *c;
	pthread_mutex_unlock(&a->lock);
}

const char *
agents_state_name(enum agents_state s)
{
	switch (s) {
	case AGENTS_PENDING:	return "pending";
	case AGENTS_LICENSED:	return "licensed";
	case AGENTS_CURRENT:	return "current";
	case AGENTS_BEHIND:	return "behind";
	case AGENTS_DIVERGED:	return "diverged";
	case AGENTS_FAILED:	return "failed";
	case AGENTS_OFFLINE:	return "offline";
	}
	return "unknown";
}

/* ---- enrolment -------------------------------------------------------- */

/* 1 if s is exactly an agent id: 32 lower-case hex digits. */
static int
agents_valid_id(const char *s)
{
	return strlen(s) == MANIFEST_AGENT_ID_MAX &&
	    strspn(s, "0123456789abcdef") == MANIFEST_AGENT_ID_MAX;
}

/* The group an enrolling agent gets: the one it asks for if configured,
 * else the default. */
static void
agents_pick_group(const struct conf *c, const char *asked,
    char out[MANIFEST_NAME_MAX + 1])
{
	snprintf(out, MANIFEST_NAME_MAX + 1, "%s",
	    asked[0] != '\0' && conf_group_find(c, asked) != NULL ? asked :
	    c->agents_default_group);
}

static int
agents_enrol(struct agents *a, const struct license_set *ls,
    const char *body, size_t len, const char *peer, time_t now,
    struct agents_answer *ans)
{
	struct manifest_enrol		 en;
	struct manifest_enrolled	 out;
	struct db_agent			 ag;
	unsigned char			 raw[MANIFEST_AGENT_ID_MAX / 2];
	char				 err[AGENTS_DETAIL_MAX];
	char				 detail[DB_EVENT_DETAIL_MAX + 1];
	char				 mask[LICENSE_MASK_MAX];
	const char			*edition = "";
	int				 e, rank, tries;

	memset(&ag, 0, sizeof(ag));
	memset(&out, 0, sizeof(out));
	err[0] = '\0';
	e = manifest_enrol_parse(body, len, &en, err, sizeof(err));
	if (e == -E2BIG)
		return agents_fail(ans, 413, "too_large", "enrolment too "
		    "large: %s", err[0] != '\0' ? err : "over the caps");
	if (e < 0)
		return agents_fail(ans, 400, "bad_request", "bad enrolment: %s",
		    err[0] != '\0' ? err : "malformed");
	if (license_set_count(ls) > 0) {
		e = license_check_key(ls, en.enroll_key, &rank, &edition);
		if (e == -ENOENT)
			e = agents_fail(ans, 401, "license_required", "this "
			    "server serves licensed clients: enrol with a "
			    "license key (enroll_key)");
		else if (e < 0)
			e = agents_fail(ans, 403, "license_rejected", "the "
			    "enrolment key is not a license of this server");
		if (e < 0) {
			crypto_wipe(&en, sizeof(en));
			return e;
		}
		/* a longer key is no license: license_check_key said no */
		snprintf(ag.license_key, sizeof(ag.license_key), "%.*s",
		    DB_LICENSE_KEY_MAX, en.enroll_key);
	}
	crypto_wipe(en.enroll_key, sizeof(en.enroll_key));

	e = license_agent_token(out.token, ag.token_hash, ag.notify_key);
	if (e < 0)
		return agents_internal(ans, e, "make an agent token");
	snprintf(ag.hostname, sizeof(ag.hostname), "%s",
	    en.hostname[0] != '\0' ? en.hostname : peer);
	ag.enrolled = (int64_t)now;
	license_mask(ag.license_key, mask);

	pthread_mutex_lock(&a->lock);
	ag.licensed = ag.license_key[0] == '\0' || a->conf->agents_auto_license;
	agents_pick_group(a->conf, en.group, ag.group);
	snprintf(detail, sizeof(detail), "%s from %s as '%s', group %s, "
	    "license %s%s%s", ag.licensed ? "licensed" : "pending",
	    peer[0] != '\0' ? peer : "an unknown address", ag.hostname,
	    ag.group, ag.license_key[0] != '\0' ? mask : "none (open server)",
	    edition[0] != '\0' ? " edition " : "", edition);
	/* an enrolment is a credential the agent keeps: it must survive */
	e = db_set_durable(a->db, 1);
	for (tries = 0; e == 0 && tries < 3; tries++) {
		e = crypto_random(raw, sizeof(raw));
		if (e < 0)
			break;
		crypto_hex(raw, sizeof(raw), ag.id);
		e = db_begin(a->db);
		if (e < 0)
			break;
		e = db_agent_add(a->db, &ag);
		if (e == 0)
			e = db_event_add_agent(a->db, "agent-enrolled", ag.id,
			    detail);
		if (e == 0)
			e = db_commit(a->db);
		if (e == 0)
			break;
		db_rollback(a->db);
		if (e != -EEXIST)	/* else: an id drawn twice */
			break;
	}
	db_set_durable(a->db, 0);
	pthread_mutex_unlock(&a->lock);
	if (e < 0) {
		crypto_wipe(&out, sizeof(out));
		return agents_internal(ans, e, "record an enrolment");
	}
	log_info("agent %s enrolled, %s", ag.id, detail);

	memcpy(out.id, ag.id, sizeof(out.id));
	snprintf(out.state, sizeof(out.state), "%s",
	    ag.licensed ? "licensed" : "pending");
	memcpy(out.group, ag.group, sizeof(out.group));
	e = manifest_enrolled_emit(&out, &ans->body);
	crypto_wipe(&out, sizeof(out));
	if (e < 0)
		return agents_internal(ans, e, "write an enrolment answer");
	ans->status = 201;
	return 0;
}

/* ---- an agent's own requests ------------------------------------------ */

/*
 * The agent of the path, checked against its row: *ret_ag filled (the
 * caller frees its status with db_agents_free). With the lock held.
 * 0 or -1 with the answer set.
 */
static int
agents_auth(struct agents *a, const char *id, const char *header_id,
    const char *authorization, struct db_agent *ret_ag,
    struct agents_answer *ans)
{
	struct db_agent	 ag;
	int		 e;

	if (authorization == NULL)
		return agents_fail(ans, 401, "agent_required", "send the "
		    "agent's token as Authorization: Bearer TOKEN");
	if (!agents_valid_id(id) ||
	    (header_id != NULL && strcmp(header_id, id) != 0))
		return agents_fail(ans, 401, "agent_rejected", "the agent id "
		    "or token is not accepted");
	e = db_agent_get(a->db, id, &ag);
	if (e == -ENOENT) {
		/* the same work as for a wrong token */
		memset(&ag, 0, sizeof(ag));
		license_check_token(ag.token_hash, authorization);
		return agents_fail(ans, 401, "agent_rejected", "the agent id "
		    "or token is not accepted");
	}
	if (e < 0)
		return agents_internal(ans, e, "read an agent");
	if (license_check_token(ag.token_hash, authorization) < 0) {
		db_agents_free(&ag, 1);
		return agents_fail(ans, 401, "agent_rejected", "the agent id "
		    "or token is not accepted");
	}
	*ret_ag = ag;
	return 0;
}

/*
 * An agent listening on every address ("http://[::]:9137/v1/notify",
 * "http://0.0.0.0:9137/...") cannot say where it is reached: the address
 * its report came from stands in for the host. Only http and https
 * URLs are kept. 0 (out filled), -EBADMSG, -E2BIG.
 */
static int
agents_notify_url(const char *url, const char *peer, char *out, size_t size)
{
	const char	*host, *rest;
	char		 addr[HTTP_ADDR_MAX];
	size_t		 hlen;
	int		 n, wildcard;

	if (url[0] == '\0') {
		snprintf(out, size, "%s", "");
		return 0;
	}
	if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return -EBADMSG;
	if (host[0] == '[') {
		rest = strchr(host, ']');
		if (rest == NULL)
			return -EBADMSG;
		rest++;
	} else
		rest = host + strcspn(host, ":/?#");
	hlen = (size_t)(rest - host);
	wildcard = hlen == 0 || (hlen == 4 && memcmp(host, "[::]", 4) == 0) ||
	    (hlen == 7 && memcmp(host, "0.0.0.0", 7) == 0);
	if (!wildcard || peer[0] == '\0') {
		n = snprintf(out, size, "%s", url);
		return n < 0 || (size_t)n >= size ? -E2BIG : 0;
	}
	/* an IPv4 peer on a dual-stack socket reads "::ffff:a.b.c.d" */
	if (strncasecmp(peer, "::ffff:", 7) == 0 && strchr(peer, '.') != NULL)
		snprintf(addr, sizeof(addr), "%s", peer + 7);
	else if (strchr(peer, ':') != NULL)
		snprintf(addr, sizeof(addr), "[%.*s]",
		    (int)strcspn(peer, "%"), peer);	/* no zone in a URL */
	else
		snprintf(addr, sizeof(addr), "%s", peer);
	n = snprintf(out, size, "%.*s%s%s", (int)(host - url), url, addr,
	    rest);
	return n < 0 || (size_t)n >= size ? -E2BIG : 0;
}

static const struct manifest_installed *
agents_installed_find(const struct manifest_agent_status *st,
    const char *name)
{
	size_t	 i;

	for (i = 0; i < st->ninstalled; i++)
		if (strcmp(st->installed[i].name, name) == 0)
			return &st->installed[i];
	return NULL;
}

/* Appends to a bounded detail text, cutting what does not fit. */
static void
agents_cat(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
agents_cat(char *dst, size_t size, const char *fmt, ...)
{
	va_list	 ap;
	size_t	 len = strlen(dst);

	if (len + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(dst + len, size - len, fmt, ap);
	va_end(ap);
}

/* What changed in the installed versions from old (NULL: none known) to
 * st, as "virus-pattern 3 -> 4, scan-engine 2 (new)"; "" if nothing. */
static void
agents_installed_diff(const struct manifest_agent_status *old,
    const struct manifest_agent_status *st, char *out, size_t size)
{
	const struct manifest_installed	*p;
	size_t				 i;

	out[0] = '\0';
	for (i = 0; i < st->ninstalled; i++) {
		const struct manifest_installed *in = &st->installed[i];

		p = old != NULL ? agents_installed_find(old, in->name) : NULL;
		if (p == NULL)
			agents_cat(out, size, "%s%s %llu (new)",
			    out[0] != '\0' ? ", " : "", in->name,
			    (unsigned long long)in->version);
		else if (p->version != in->version ||
		    strcmp(p->sha256, in->sha256) != 0)
			agents_cat(out, size, "%s%s %llu -> %llu",
			    out[0] != '\0' ? ", " : "", in->name,
			    (unsigned long long)p->version,
			    (unsigned long long)in->version);
	}
	for (i = 0; old != NULL && i < old->ninstalled; i++)
		if (agents_installed_find(st, old->installed[i].name) == NULL)
			agents_cat(out, size, "%s%s removed",
			    out[0] != '\0' ? ", " : "",
			    old->installed[i].name);
}

static int
agents_status(struct agents *a, const char *id, const char *header_id,
    const char *authorization, const char *body, size_t len,
    const char *peer, time_t now, struct agents_answer *ans)
{
	struct manifest_agent_status	*st = NULL, *old = NULL;
	struct db_agent			 ag;
	struct buf			 doc;
	char				 err[AGENTS_DETAIL_MAX];
	char				 url[MANIFEST_URL_MAX];
	char				 diff[DB_EVENT_DETAIL_MAX + 1];
	char				 detail[DB_EVENT_DETAIL_MAX + 1];
	int				 e, authed = 0, changed;

	buf_init(&doc, AGENTS_ANSWER_MAX);
	memset(&ag, 0, sizeof(ag));
	st = malloc(sizeof(*st));
	old = malloc(sizeof(*old));
	if (st == NULL || old == NULL) {
		e = agents_internal(ans, -ENOMEM, "read a status report");
		goto out;
	}
	pthread_mutex_lock(&a->lock);
	e = agents_auth(a, id, header_id, authorization, &ag, ans);
	pthread_mutex_unlock(&a->lock);
	if (e < 0)
		goto out;
	authed = 1;
	err[0] = '\0';
	e = manifest_status_parse(body, len, st, err, sizeof(err));
	if (e == -E2BIG) {
		e = agents_fail(ans, 413, "too_large", "status report too "
		    "large: %s", err[0] != '\0' ? err : "over the caps");
		goto out;
	}
	if (e < 0) {
		e = agents_fail(ans, 400, "bad_request", "bad status report: "
		    "%s", err[0] != '\0' ? err : "malformed");
		goto out;
	}
	e = agents_notify_url(st->notify, peer, url, sizeof(url));
	if (e < 0) {
		e = agents_fail(ans, 400, "bad_request", "bad status report: "
		    "notify is an http or https URL of at most %d bytes",
		    MANIFEST_URL_MAX - 1);
		goto out;
	}
	memcpy(st->notify, url, sizeof(st->notify));
	e = manifest_status_emit(st, &doc);
	if (e < 0) {
		e = agents_internal(ans, e, "write a status report");
		goto out;
	}

	/* events only for news: a fleet reports every period */
	if (ag.status == NULL || manifest_status_parse(ag.status,
	    strlen(ag.status), old, NULL, 0) < 0) {
		free(old);
		old = NULL;
	}
	changed = old == NULL || old->ok != st->ok ||
	    strcmp(old->message, st->message) != 0;
	agents_installed_diff(old, st, diff, sizeof(diff));
	/* the message cut to fit an event */
	if (st->ok)
		snprintf(detail, sizeof(detail), "ok%s%.1000s",
		    st->message[0] != '\0' ? ": " : "", st->message);
	else
		snprintf(detail, sizeof(detail), "failed: %.1000s",
		    st->message[0] != '\0' ? st->message : "(no message)");

	pthread_mutex_lock(&a->lock);
	e = db_begin(a->db);
	if (e == 0)
		e = db_agent_report(a->db, ag.id, st->hostname, st->notify,
		    doc.ptr, (int64_t)now);
	if (e == 0 && changed)
		e = db_event_add_agent(a->db, "agent-report", ag.id, detail);
	if (e == 0 && diff[0] != '\0')
		e = db_event_add_agent(a->db, "agent-installed", ag.id, diff);
	if (e == 0)
		e = db_commit(a->db);
	else
		db_rollback(a->db);
	pthread_mutex_unlock(&a->lock);
	if (e == -ENOENT)	/* removed meanwhile */
		e = agents_fail(ans, 401, "agent_rejected", "the agent id or "
		    "token is not accepted");
	else if (e < 0)
		e = agents_internal(ans, e, "record a status report");
	else
		ans->status = 204;
out:
	if (authed)
		db_agents_free(&ag, 1);
	buf_release(&doc);
	free(st);
	free(old);
	return e;
}

/* The policy of a group: what [group NAME] sets, else nothing. */
static void
agents_group_policy(const struct conf *c, const char *group,
    struct conf_policy *ret)
{
	const struct conf_group	*g = conf_group_find(c, group);

	if (g != NULL)
		*ret = g->policy;
	else
		conf_policy_defaults(ret);
}

/* ---- requests to sync ------------------------------------------------- */

/* The slot of id in the sorted set, and whether it is there. Under
 * lock. */
static size_t
agents_asked_find(const struct agents *a, const char *id, int *ret_found)
{
	size_t	 lo = 0, hi = a->nasked, mid;
	int	 c;

	*ret_found = 0;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = strcmp(a->asked[mid], id);
		if (c == 0) {
			*ret_found = 1;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Under lock. */
static void
agents_asked_remove(struct agents *a, const char *id)
{
	size_t	 i;
	int	 found;

	if (a->nasked == 0)
		return;
	i = agents_asked_find(a, id, &found);
	if (!found)
		return;
	memmove(&a->asked[i], &a->asked[i + 1],
	    (a->nasked - i - 1) * sizeof(a->asked[0]));
	a->nasked--;
}

int
agents_sync_request(struct agents *a, const char *id)
{
	char	(*na)[DB_AGENT_ID_MAX + 1];
	size_t	 i, cap;
	int	 found, e = 0;

	if (!agents_valid_id(id))
		return -EINVAL;
	pthread_mutex_lock(&a->lock);
	i = agents_asked_find(a, id, &found);
	if (!found && a->nasked == AGENTS_ASKED_MAX)
		e = -E2BIG;
	else if (!found && a->nasked == a->capasked) {
		cap = a->capasked == 0 ? 16 : 2 * a->capasked;
		na = realloc(a->asked, cap * sizeof(*na));
		if (na == NULL)
			e = -ENOMEM;
		else {
			a->asked = na;
			a->capasked = cap;
		}
	}
	if (e == 0 && !found) {
		memmove(&a->asked[i + 1], &a->asked[i],
		    (a->nasked - i) * sizeof(a->asked[0]));
		memcpy(a->asked[i], id, DB_AGENT_ID_MAX + 1);
		a->nasked++;
	}
	if (e == 0)
		a->asked_gen++;
	pthread_mutex_unlock(&a->lock);
	return e;
}

uint64_t
agents_sync_generation(struct agents *a)
{
	uint64_t	 g;

	pthread_mutex_lock(&a->lock);
	g = a->asked_gen;
	pthread_mutex_unlock(&a->lock);
	return g;
}

int
agents_sync_take(struct agents *a, const char *id, const char *authorization)
{
	struct agents_answer	 ans;
	struct db_agent		 ag;
	int			 found = 0;

	if (id == NULL || authorization == NULL)
		return 0;
	pthread_mutex_lock(&a->lock);
	if (a->nasked > 0)
		agents_asked_find(a, id, &found);
	/* only the agent itself may take its request */
	if (found) {
		agents_answer_init(&ans);
		found = agents_auth(a, id, NULL, authorization, &ag,
		    &ans) == 0;
		if (found) {
			db_agents_free(&ag, 1);
			agents_asked_remove(a, id);
		}
		agents_answer_release(&ans);
	}
	pthread_mutex_unlock(&a->lock);
	return found;
}

static int
agents_policy(struct agents *a, const char *id, const char *header_id,
    const char *authorization, time_t now, struct agents_answer *ans)
{
	struct conf_policy	*pol;
	struct db_agent		 ag;
	int			 e;

	pol = malloc(sizeof(*pol));
	if (pol == NULL)
		return agents_internal(ans, -ENOMEM, "answer a policy");
	pthread_mutex_lock(&a->lock);
	e = agents_auth(a, id, header_id, authorization, &ag, ans);
	if (e == 0) {
		agents_group_policy(a->conf, ag.group, pol);
		/* an agent reads its policy as it syncs: a request for a
		 * sync is met */
		agents_asked_remove(a, ag.id);
		e = db_agent_seen(a->db, ag.id, (int64_t)now);
		if (e < 0 && e != -ENOENT)
			log_errno(e, "agents: cannot record that agent %s "
			    "was seen", ag.id);
		e = 0;
	}
	pthread_mutex_unlock(&a->lock);
	if (e == 0) {
		e = manifest_policy_emit(ag.group, ag.licensed ? "licensed" :
		    "pending", pol, &ans->body);
		db_agents_free(&ag, 1);
		if (e < 0)
			e = agents_internal(ans, e, "write a policy");
		else
			ans->status = 200;
	}
	free(pol);
	return e;
}

int
agents_check(struct agents *a, const char *id, const char *authorization,
    int *ret_rank, int *ret_licensed)
{
	struct agents_answer	 ans;
	struct db_license	 l, *all = NULL;
	struct db_agent		 ag;
	size_t			 n = 0;
	int			 e, rank;

	if (id == NULL || authorization == NULL)
		return -ENOENT;
	agents_answer_init(&ans);
	pthread_mutex_lock(&a->lock);
	e = agents_auth(a, id, NULL, authorization, &ag, &ans);
	if (e < 0) {
		pthread_mutex_unlock(&a->lock);
		e = ans.status == 401 ? -EACCES : -EIO;
		agents_answer_release(&ans);
		return e;
	}
	/* ranked as license_set_load ranks it */
	if (ag.license_key[0] == '\0') {
		e = db_licenses(a->db, &all, &n);
		rank = e == 0 && n == 0 ? LICENSE_RANK_ALL : -1;
		if (all != NULL)
			crypto_wipe(all, n * sizeof(*all));
		free(all);
	} else {
		e = db_license_get(a->db, ag.license_key, &l);
		rank = e == 0 ? conf_edition_rank(a->conf, l.edition) : -1;
		crypto_wipe(&l, sizeof(l));
	}
	pthread_mutex_unlock(&a->lock);
	agents_answer_release(&ans);
	*ret_rank = rank;
	*ret_licensed = ag.licensed;
	db_agents_free(&ag, 1);
	return 0;
}

/* ---- HTTP -------------------------------------------------------------- */

static void
agents_reply(struct http_request *req, struct agents_answer *ans)
{
	struct http_response	*r;
	int			 e = 0;

	if (ans->error != NULL) {
		r = http_error_new(ans->error, ans->detail);
		if (r != NULL && ans->status == 401)
			e = http_response_header(r, "WWW-Authenticate",
			    "Bearer realm=\"cascade\"");
		if (r != NULL && ans->status == 405)
			e = http_response_header(r, "Allow", ans->body.ptr);
	} else if (ans->status == 204) {
		r = http_response_copy("", 0);
	} else {
		r = http_response_copy(ans->body.ptr, ans->body.len);
		if (r != NULL)
			e = http_response_header(r, "Content-Type",
			    "application/json");
		/* an enrolment answer holds a token */
		if (r != NULL && e == 0)
			e = http_response_header(r, "Cache-Control",
			    "no-store");
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

static void
agents_method(struct agents_answer *ans, const char *allow)
{
	agents_fail(ans, 405, "method_not_allowed", "this resource takes %s",
	    allow);
	buf_puts(&ans->body, allow);
}

void
agents_handle(struct agents *a, struct http_request *req,
    const struct license_set *ls, char seg[][AGENTS_SEG_MAX], int n)
{
	struct agents_answer	 ans;
	const char		*m = http_method(req), *body;
	char			 peer[HTTP_ADDR_MAX];
	size_t			 len = 0;
	time_t			 now = time(NULL);

	agents_answer_init(&ans);
	http_peer(req, peer);
	if (n == 2) {
		if (strcmp(m, "POST") != 0)
			agents_method(&ans, "POST");
		else {
			body = http_body(req, &len);
			agents_enrol(a, ls, body, len, peer, now, &ans);
		}
	} else if (n == 4 && strcmp(seg[3], "status") == 0) {
		if (strcmp(m, "PUT") != 0)
			agents_method(&ans, "PUT");
		else {
			body = http_body(req, &len);
			agents_status(a, seg[2],
			    http_header(req, "X-Cascade-Agent"),
			    http_header(req, "Authorization"), body, len,
			    peer, now, &ans);
		}
	} else if (n == 4 && strcmp(seg[3], "policy") == 0) {
		if (strcmp(m, "GET") != 0 && strcmp(m, "HEAD") != 0)
			agents_method(&ans, "GET, HEAD");
		else
			agents_policy(a, seg[2],
			    http_header(req, "X-Cascade-Agent"),
			    http_header(req, "Authorization"), now, &ans);
	} else
		agents_fail(&ans, 404, "not_found", "no such resource");
	agents_reply(req, &ans);
	agents_answer_release(&ans);
}

/* ---- state ------------------------------------------------------------- */

struct agents_ref_component {
	char		 name[MANIFEST_NAME_MAX + 1];
	char		 kind[MANIFEST_NAME_MAX + 1];
	char		 edition[MANIFEST_NAME_MAX + 1];
	uint64_t	 version;
};

struct agents_ref {
	struct agents_ref_component	*c;	/* by name */
	size_t				 nc;
	uint64_t			*keys;	/* channels' key ids */
	size_t				 nkeys;
	struct db_license		*lic;	/* by key */
	size_t				 nlic;
};

static int
agents_ref_cmp(const void *a, const void *b)
{
	return strcmp(((const struct agents_ref_component *)a)->name,
	    ((const struct agents_ref_component *)b)->name);
}

/* A key id as a number: minisign prints the 8 bytes little-endian. */
static uint64_t
agents_key_number(const unsigned char id[SIG_KEY_ID_LEN])
{
	uint64_t	 v = 0;
	int		 i;

	for (i = SIG_KEY_ID_LEN - 1; i >= 0; i--)
		v = v << 8 | id[i];
	return v;
}

/* The key id of a channel's current manifest: 1, 0 when there is none
 * to read, or -errno. */
static int
agents_channel_key(const char *dir, const char *channel, uint64_t *ret)
{
	struct buf	 b;
	unsigned char	 id[SIG_KEY_ID_LEN];
	char		 path[FS_PATH_MAX];
	int		 e;

	e = fs_path(path, sizeof(path), "%s/channels/%s/current/"
	    "manifest.minisig", dir, channel);
	if (e < 0)
		return e;
	buf_init(&b, SIG_SIGFILE_MAX);
	e = fs_read(&b, path);
	if (e == 0)
		e = sig_key_id_of(b.ptr, b.len, id);
	buf_release(&b);
	if (e == -ENOENT || e == -EBADMSG)
		return 0;
	if (e < 0)
		return e;
	*ret = agents_key_number(id);
	return 1;
}

static int
agents_ref_add(struct agents_ref *ref, const struct db_version *v,
    size_t *cap)
{
	struct agents_ref_component	*nc;
	size_t				 i;

	/* a component in several channels: its newest version anywhere */
	for (i = 0; i < ref->nc; i++)
		if (strcmp(ref->c[i].name, v->component) == 0) {
			if (v->version > ref->c[i].version) {
				ref->c[i].version = v->version;
				memcpy(ref->c[i].kind, v->kind,
				    sizeof(v->kind));
				memcpy(ref->c[i].edition, v->edition,
				    sizeof(v->edition));
			}
			return 0;
		}
	if (ref->nc == *cap) {
		*cap = *cap == 0 ? 16 : 2 * *cap;
		nc = realloc(ref->c, *cap * sizeof(*nc));
		if (nc == NULL)
			return -ENOMEM;
		ref->c = nc;
	}
	memset(&ref->c[ref->nc], 0, sizeof(ref->c[0]));
	memcpy(ref->c[ref->nc].name, v->component, sizeof(v->component));
	memcpy(ref->c[ref->nc].kind, v->kind, sizeof(v->kind));
	memcpy(ref->c[ref->nc].edition, v->edition, sizeof(v->edition));
	ref->c[ref->nc].version = v->version;
	ref->nc++;
	return 0;
}

int
agents_ref_load(struct db *db, const char *dir, struct agents_ref **ret_ref)
{
	char			(*ch)[MANIFEST_NAME_MAX + 1] = NULL;
	struct agents_ref	*ref;
	struct db_version	*v = NULL;
	size_t			 nch = 0, nv, i, j, cap = 0;
	uint64_t		 key;
	int			 e;

	ref = calloc(1, sizeof(*ref));
	if (ref == NULL)
		return -ENOMEM;
	e = db_channels(db, &ch, &nch);
	if (e == 0 && nch > 0 &&
	    (ref->keys = calloc(nch, sizeof(*ref->keys))) == NULL)
		e = -ENOMEM;
	for (i = 0; e == 0 && i < nch; i++) {
		e = db_current(db, ch[i], &v, &nv);
		for (j = 0; e == 0 && j < nv; j++)
			e = agents_ref_add(ref, &v[j], &cap);
		free(v);
		v = NULL;
		if (e == 0)
			e = agents_channel_key(dir, ch[i], &key);
		if (e == 1) {
			ref->keys[ref->nkeys++] = key;
			e = 0;
		}
	}
	free(ch);
	if (e == 0)
		e = db_licenses(db, &ref->lic, &ref->nlic);
	if (e < 0) {
		agents_ref_free(ref);
		return e;
	}
	if (ref->nc > 0)
		qsort(ref->c, ref->nc, sizeof(*ref->c), agents_ref_cmp);
	*ret_ref = ref;
	return 0;
}

void
agents_ref_free(struct agents_ref *ref)
{
	if (ref == NULL)
		return;
	free(ref->c);
	free(ref->keys);
	if (ref->lic != NULL)
		crypto_wipe(ref->lic, ref->nlic * sizeof(*ref->lic));
	free(ref->lic);
	free(ref);
}

static const struct agents_ref_component *
agents_ref_find(const struct agents_ref *ref, const char *name)
{
	struct agents_ref_component	 probe;

	if (ref->nc == 0 || strlen(name) > MANIFEST_NAME_MAX)
		return NULL;
	memset(&probe, 0, sizeof(probe));
	memcpy(probe.name, name, strlen(name));
	return bsearch(&probe, ref->c, ref->nc, sizeof(*ref->c),
	    agents_ref_cmp);
}

int64_t
agents_period(const struct conf *c, const char *group)
{
	const struct conf_group	*g = conf_group_find(c, group);
	struct conf_policy	 def;
	int64_t			 p;

	if (g != NULL && (g->policy.set & CONF_POLICY_SCHEDULE))
		p = conf_schedule_period(&g->policy.schedule);
	else {
		conf_policy_defaults(&def);
		p = conf_schedule_period(&def.schedule);
	}
	return p > 0 ? p : 3600;
}

int
agents_online(const struct conf *c, const struct db_agent *ag, time_t now)
{
	int64_t	 last = ag->enrolled;

	if (ag->last_seen > last)
		last = ag->last_seen;
	if (ag->last_report > last)
		last = ag->last_report;
	return (int64_t)now - last <=
	    AGENTS_OFFLINE_PERIODS * agents_period(c, ag->group);
}

/* The edition rank an agent's license gives, as license_set_load does. */
static int
agents_rank(const struct agents_ref *ref, const struct conf *c,
    const struct db_agent *ag)
{
	size_t	 i;

	if (ag->license_key[0] == '\0')
		return ref->nlic == 0 ? LICENSE_RANK_ALL : -1;
	for (i = 0; i < ref->nlic; i++)
		if (strcmp(ref->lic[i].key, ag->license_key) == 0)
			return conf_edition_rank(c, ref->lic[i].edition);
	return -1;
}

/* A component name "config/<group>": the group, else NULL. */
static const char *
agents_config_group(const char *name)
{
	return strncmp(name, "config/", 7) == 0 ? name + 7 : NULL;
}

/* 1 if an agent should hold the server's component, else 0: config
 * components only for its own group. */
static int
agents_counts(const struct agents_ref_component *rc, const char *group)
{
	const char	*g = agents_config_group(rc->name);

	return g == NULL || strcmp(g, group) == 0;
}

/* Parses a key id as an agent reports it (hex, up to 16 digits). */
static int
agents_parse_key(const char *s, uint64_t *ret)
{
	uint64_t	 v = 0;
	size_t		 i, n = strlen(s);
	int		 d;

	if (n == 0 || n > 16)
		return -EBADMSG;
	for (i = 0; i < n; i++) {
		if (s[i] >= '0' && s[i] <= '9')
			d = s[i] - '0';
		else if (s[i] >= 'a' && s[i] <= 'f')
			d = s[i] - 'a' + 10;
		else if (s[i] >= 'A' && s[i] <= 'F')
			d = s[i] - 'A' + 10;
		else
			return -EBADMSG;
		v = v << 4 | (uint64_t)d;
	}
	*ret = v;
	return 0;
}

static enum agents_state
agents_diverged(const struct agents_ref *ref, const struct db_agent *ag,
    const struct manifest_agent_status *st, char *why, size_t whysize)
{
	const char	*g;
	uint64_t	 k;
	size_t		 i, j;
	int		 known = 0;

	if (st->group[0] != '\0' && strcmp(st->group, ag->group) != 0) {
		snprintf(why, whysize, "reports group %s, assigned %s",
		    st->group, ag->group);
		return AGENTS_DIVERGED;
	}
	for (i = 0; i < st->ninstalled; i++) {
		g = agents_config_group(st->installed[i].name);
		if (g != NULL && strcmp(g, ag->group) != 0) {
			snprintf(why, whysize, "holds %s, group %s",
			    st->installed[i].name, ag->group);
			return AGENTS_DIVERGED;
		}
	}
	if (st->nkeys == 0 || ref->nkeys == 0)
		return AGENTS_CURRENT;
	for (i = 0; i < st->nkeys; i++) {
		if (agents_parse_key(st->keys[i], &k) < 0)
			continue;
		for (j = 0; j < ref->nkeys; j++)
			if (ref->keys[j] == k)
				return AGENTS_CURRENT;
		known = 1;
	}
	if (!known)
		return AGENTS_CURRENT;
	snprintf(why, whysize, "accepts none of the channel keys");
	return AGENTS_DIVERGED;
}

static enum agents_state
agents_behind(const struct agents_ref *ref, const struct conf *c,
    const struct db_agent *ag, const struct manifest_agent_status *st,
    char *why, size_t whysize)
{
	const struct agents_ref_component	*rc;
	const struct conf_group			*grp;
	size_t					 i;
	int					 n = 0, rank, k;

	why[0] = '\0';
	for (i = 0; i < st->ninstalled; i++) {
		rc = agents_ref_find(ref, st->installed[i].name);
		if (rc == NULL || !agents_counts(rc, ag->group) ||
		    st->installed[i].version >= rc->version)
			continue;
		agents_cat(why, whysize, "%s%s %llu < %llu", n > 0 ? ", " : "",
		    rc->name, (unsigned long long)st->installed[i].version,
		    (unsigned long long)rc->version);
		n++;
	}
	grp = conf_group_find(c, ag->group);
	if (grp != NULL && (grp->policy.set & CONF_POLICY_COMPONENTS)) {
		rank = agents_rank(ref, c, ag);
		for (k = 0; k < grp->policy.ncomponents; k++) {
			rc = agents_ref_find(ref, grp->policy.components[k]);
			/* what its license does not cover, it cannot hold */
			if (rc == NULL || !agents_counts(rc, ag->group) ||
			    agents_installed_find(st, rc->name) != NULL ||
			    conf_edition_rank(c, rc->edition) > rank)
				continue;
			agents_cat(why, whysize, "%s%s missing",
			    n > 0 ? ", " : "", rc->name);
			n++;
		}
	}
	return n > 0 ? AGENTS_BEHIND : AGENTS_CURRENT;
}

enum agents_state
agents_state(const struct agents_ref *ref, const struct conf *c,
    const struct db_agent *ag, time_t now, char *why, size_t whysize)
{
	struct manifest_agent_status	*st;
	enum agents_state		 s;
	char				 when[TS_LEN + 1];
	int64_t				 last;

	why[0] = '\0';
	if (!ag->licensed) {
		snprintf(why, whysize, "waiting for 'cascade agents license'");
		return AGENTS_PENDING;
	}
	if (!agents_online(c, ag, now)) {
		last = ag->last_seen > ag->last_report ? ag->last_seen :
		    ag->last_report;
		if (last == 0)
			snprintf(why, whysize, "never heard from");
		else {
			ts_format((time_t)last, when);
			snprintf(why, whysize, "last heard from %s", when);
		}
		return AGENTS_OFFLINE;
	}
	if (ag->last_report == 0 || ag->status == NULL)
		return AGENTS_LICENSED;
	st = malloc(sizeof(*st));
	if (st == NULL) {
		snprintf(why, whysize, "out of memory");
		return AGENTS_FAILED;
	}
	if (manifest_status_parse(ag->status, strlen(ag->status), st, NULL,
	    0) < 0) {
		free(st);
		snprintf(why, whysize, "its last report cannot be read");
		return AGENTS_FAILED;
	}
	if (!st->ok) {
		snprintf(why, whysize, "%s", st->message[0] != '\0' ?
		    st->message : "the last sync failed");
		s = AGENTS_FAILED;
	} else if ((s = agents_diverged(ref, ag, st, why, whysize)) ==
	    AGENTS_CURRENT)
		s = agents_behind(ref, c, ag, st, why, whysize);
	free(st);
	return s;
}

/* ---- cascade agents ---------------------------------------------------- */

static int
agents_usage(void)
{
	fputs("usage: cascade agents [-d DIR] [--json] [--state S] [--group G]\n"
	    "       cascade agents [-d DIR] license ID\n"
	    "       cascade agents [-d DIR] unlicense ID\n"
	    "       cascade agents [-d DIR] group ID NAME\n"
	    "       cascade agents [-d DIR] remove ID\n"
	    "       cascade agents [-d DIR] notify ID   (a running server)\n"
	    "Instead of -d DIR: --server URL --token FILE, a running "
	    "server's admin API.\n", stderr);
	return 2;
}

/* "45s", "12m", "3h", "2d" */
static void
agents_age(int64_t secs, char *out, size_t size)
{
	if (secs < 0)
		secs = 0;
	if (secs < 120)
		snprintf(out, size, "%llds", (long long)secs);
	else if (secs < 7200)
		snprintf(out, size, "%lldm", (long long)(secs / 60));
	else if (secs < 2 * 86400)
		snprintf(out, size, "%lldh", (long long)(secs / 3600));
	else
		snprintf(out, size, "%lldd", (long long)(secs / 86400));
}

/* s with control characters as '?' and, where columns are parsed,
 * blanks as '_': one agent, one line. */
static void
agents_print_clean(const char *s, int blanks)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < ' ' || *s == 0x7f ? '?' :
		    blanks && *s == ' ' ? '_' : *s);
}

/* The length of s without its trailing blanks and newlines. */
static int
agents_trim(const char *s)
{
	size_t	 n = strlen(s);

	while (n > 0 && strchr(" \t\r\n", s[n - 1]) != NULL)
		n--;
	return n > INT32_MAX ? 0 : (int)n;
}

/* One agent as a JSON object (no newline). */
static int
agents_json_object(struct buf *b, const struct db_agent *ag,
    enum agents_state s, const char *why)
{
	struct manifest_agent_status	*st;
	char				 t[TS_LEN + 1];
	int				 e, st_ok = 0;

	if (ag->status != NULL && (st = malloc(sizeof(*st))) != NULL) {
		st_ok = manifest_status_parse(ag->status, strlen(ag->status),
		    st, NULL, 0) == 0;
		free(st);
	}

	e = buf_puts(b, "{\"id\": ");
	if (e == 0)
		e = buf_json_str(b, ag->id);
	if (e == 0)
		e = buf_printf(b, ", \"state\": \"%s\", \"reason\": ",
		    agents_state_name(s));
	if (e == 0)
		e = buf_json_str(b, why);
	if (e == 0)
		e = buf_puts(b, ", \"group\": ");
	if (e == 0)
		e = buf_json_str(b, ag->group);
	if (e == 0)
		e = buf_puts(b, ", \"hostname\": ");
	if (e == 0)
		e = buf_json_str(b, ag->hostname);
	if (e == 0)
		e = buf_printf(b, ", \"licensed\": %s, \"enrolled\": ",
		    ag->licensed ? "true" : "false");
	ts_format((time_t)ag->enrolled, t);
	if (e == 0)
		e = buf_json_str(b, t);
	ts_format((time_t)ag->last_seen, t);
	if (e == 0 && ag->last_seen != 0)
		e = buf_printf(b, ", \"last_seen\": \"%s\"", t);
	else if (e == 0)
		e = buf_puts(b, ", \"last_seen\": null");
	ts_format((time_t)ag->last_report, t);
	if (e == 0 && ag->last_report != 0)
		e = buf_printf(b, ", \"last_report\": \"%s\"", t);
	else if (e == 0)
		e = buf_puts(b, ", \"last_report\": null");
	if (e == 0)
		e = buf_puts(b, ", \"notify_url\": ");
	if (e == 0)
		e = buf_json_str(b, ag->notify_url);
	/* the last report as the server re-emitted it, if it still reads */
	if (e == 0 && st_ok)
		e = buf_printf(b, ", \"status\": %.*s",
		    agents_trim(ag->status), ag->status);
	else if (e == 0)
		e = buf_puts(b, ", \"status\": null");
	if (e == 0)
		e = buf_puts(b, "}");
	return e;
}

/* 1 if the filters let the agent through. */
static int
agents_filter(const struct db_agent *ag, enum agents_state s,
    const char *state, const char *group)
{
	return (state == NULL || strcmp(state, agents_state_name(s)) == 0) &&
	    (group == NULL || strcmp(group, ag->group) == 0);
}

int
agents_valid_state(const char *s)
{
	int	 i;

	for (i = AGENTS_PENDING; i <= AGENTS_OFFLINE; i++)
		if (strcmp(s, agents_state_name((enum agents_state)i)) == 0)
			return 1;
	return 0;
}

int
agents_json(struct db *db, const char *dir, const struct conf *c,
    const char *state, const char *group, struct buf *out)
{
	struct agents_ref	*ref = NULL;
	struct db_agent		*ag = NULL;
	enum agents_state	 s;
	char			 why[512];
	size_t			 n = 0, i, shown = 0;
	time_t			 now = time(NULL);
	int			 e;

	e = db_agents(db, &ag, &n);
	if (e == 0)
		e = agents_ref_load(db, dir, &ref);
	if (e == 0)
		e = buf_puts(out, "[");
	for (i = 0; e == 0 && i < n; i++) {
		s = agents_state(ref, c, &ag[i], now, why, sizeof(why));
		if (!agents_filter(&ag[i], s, state, group))
			continue;
		e = buf_puts(out, shown > 0 ? ",\n  " : "\n  ");
		if (e == 0)
			e = agents_json_object(out, &ag[i], s, why);
		shown++;
	}
	if (e == 0)
		e = buf_puts(out, shown > 0 ? "\n]\n" : "]\n");
	agents_ref_free(ref);
	db_agents_free(ag, n);
	free(ag);
	return e;
}

int
agents_json_get(struct db *db, const char *dir, const struct conf *c,
    const char *id, struct buf *out)
{
	struct agents_ref	*ref = NULL;
	struct db_agent		 ag;
	enum agents_state	 s;
	char			 why[512];
	int			 e;

	e = db_agent_get(db, id, &ag);
	if (e < 0)
		return e;
	e = agents_ref_load(db, dir, &ref);
	if (e == 0) {
		s = agents_state(ref, c, &ag, time(NULL), why, sizeof(why));
		e = agents_json_object(out, &ag, s, why);
	}
	if (e == 0)
		e = buf_puts(out, "\n");
	agents_ref_free(ref);
	db_agents_free(&ag, 1);
	return e;
}

int
agents_census(struct db *db, const char *dir, const struct conf *c,
    size_t counts[AGENTS_STATES], size_t *ret_total)
{
	struct agents_ref	*ref = NULL;
	struct db_agent		*ag = NULL;
	char			 why[512];
	size_t			 n = 0, i;
	time_t			 now = time(NULL);
	int			 e;

	/* the states need the status documents: a fleet's worth */
	e = db_agents(db, &ag, &n);
	if (e == 0)
		e = agents_ref_load(db, dir, &ref);
	if (e == 0) {
		memset(counts, 0, AGENTS_STATES * sizeof(counts[0]));
		for (i = 0; i < n; i++)
			counts[agents_state(ref, c, &ag[i], now, why,
			    sizeof(why))]++;
		*ret_total = n;
	}
	agents_ref_free(ref);
	db_agents_free(ag, n);
	free(ag);
	return e;
}

int
agents_apply(struct db *db, const struct conf *c, const char *id,
    const char *cmd, const char *group, const char *by,
    struct db_agent *ret_ag)
{
	struct db_agent	 ag;
	char		 detail[DB_EVENT_DETAIL_MAX + 1];
	const char	*kind = NULL;
	int		 e, same = 0, got = 0;

	if (strcmp(cmd, "group") == 0 &&
	    strcmp(group, c->agents_default_group) != 0 &&
	    conf_group_find(c, group) == NULL)
		return -EINVAL;
	e = db_begin(db);
	if (e < 0)
		return e;
	e = db_agent_get(db, id, &ag);
	got = e == 0;
	if (e == 0 && strcmp(cmd, "license") == 0) {
		kind = "agent-licensed";
		same = ag.licensed;
		snprintf(detail, sizeof(detail), "licensed by %s", by);
		if (!same)
			e = db_agent_set_licensed(db, id, 1);
	} else if (e == 0 && strcmp(cmd, "unlicense") == 0) {
		kind = "agent-unlicensed";
		same = !ag.licensed;
		snprintf(detail, sizeof(detail), "back to pending by %s", by);
		if (!same)
			e = db_agent_set_licensed(db, id, 0);
	} else if (e == 0 && strcmp(cmd, "group") == 0) {
		kind = "agent-group";
		same = strcmp(ag.group, group) == 0;
		snprintf(detail, sizeof(detail), "group %s -> %s by %s",
		    ag.group, group, by);
		if (!same)
			e = db_agent_set_group(db, id, group);
	} else if (e == 0 && strcmp(cmd, "remove") == 0) {
		kind = "agent-removed";
		snprintf(detail, sizeof(detail), "removed ('%s', group %s) "
		    "by %s", ag.hostname, ag.group, by);
		e = db_agent_remove(db, id);
	} else if (e == 0)
		e = -EINVAL;
	if (e == 0 && !same)
		e = db_event_add_agent(db, kind, id, detail);
	if (e == 0)
		e = db_commit(db);
	else
		db_rollback(db);
	if (e < 0) {
		if (got)
			db_agents_free(&ag, 1);
		return e;
	}
	/* what it is now */
	if (strcmp(cmd, "license") == 0 || strcmp(cmd, "unlicense") == 0)
		ag.licensed = strcmp(cmd, "license") == 0;
	else if (strcmp(cmd, "group") == 0)
		snprintf(ag.group, sizeof(ag.group), "%s", group);
	if (ret_ag != NULL)
		*ret_ag = ag;
	else
		db_agents_free(&ag, 1);
	return same;
}

/* What the table shows of an agent, from the database or from the
 * admin API's JSON alike. */
struct agents_row {
	char	 id[DB_AGENT_ID_MAX + 1];
	char	 state[16];
	char	 group[MANIFEST_NAME_MAX + 1];
	char	 hostname[MANIFEST_HOST_MAX + 1];
	int64_t	 last_report;		/* 0: never */
	char	 reason[512];
};

static void
agents_print_head(void)
{
	printf("%-32s %-8s %-16s %-24s %-8s %s\n", "ID", "STATE", "GROUP",
	    "HOST", "REPORT", "REASON");
}

static void
agents_print_row(const struct agents_row *w, time_t now)
{
	char	 age[32];

	if (w->last_report == 0)
		snprintf(age, sizeof(age), "never");
	else
		agents_age((int64_t)now - w->last_report, age, sizeof(age));
	printf("%-32s %-8s ", w->id, w->state);
	agents_print_clean(w->group, 1);
	printf("%*s ", (int)(strlen(w->group) < 16 ? 16 - strlen(w->group) :
	    0), "");
	agents_print_clean(w->hostname, 1);
	printf("%*s ", (int)(strlen(w->hostname) < 24 ?
	    24 - strlen(w->hostname) : 0), "");
	printf("%-8s ", age);
	agents_print_clean(w->reason, 0);
	printf("\n");
}

static int
agents_list(struct repo *r, int json, const char *state, const char *group)
{
	struct agents_ref	*ref = NULL;
	struct db_agent		*ag = NULL;
	struct agents_row	 w;
	struct buf		 b;
	enum agents_state	 s;
	size_t			 n = 0, i, shown = 0;
	time_t			 now = time(NULL);
	int			 e;

	if (json) {
		buf_init(&b, SIZE_MAX / 2);
		e = agents_json(r->db, r->dir, &r->conf, state, group, &b);
		if (e == 0)
			fwrite(b.ptr, 1, b.len, stdout);
		buf_release(&b);
		if (e < 0)
			log_errno(e, "cannot list the agents of '%s'", r->dir);
		return e < 0 ? 1 : 0;
	}
	e = db_agents(r->db, &ag, &n);
	if (e == 0)
		e = agents_ref_load(r->db, r->dir, &ref);
	if (e < 0) {
		log_errno(e, "cannot read the agents of '%s'", r->dir);
		goto out;
	}
	for (i = 0; i < n; i++) {
		memset(&w, 0, sizeof(w));
		s = agents_state(ref, &r->conf, &ag[i], now, w.reason,
		    sizeof(w.reason));
		if (!agents_filter(&ag[i], s, state, group))
			continue;
		if (shown++ == 0)
			agents_print_head();
		memcpy(w.id, ag[i].id, sizeof(w.id));
		snprintf(w.state, sizeof(w.state), "%s", agents_state_name(s));
		memcpy(w.group, ag[i].group, sizeof(w.group));
		memcpy(w.hostname, ag[i].hostname, sizeof(w.hostname));
		w.last_report = ag[i].last_report;
		agents_print_row(&w, now);
	}
	if (shown == 0)
		printf("no agents %s\n", state == NULL && group == NULL ?
		    "enrolled" : "match");
out:
	agents_ref_free(ref);
	db_agents_free(ag, n);
	free(ag);
	return e < 0 ? 1 : 0;
}

/* The full id of an agent named by id or a unique prefix, among n
 * (NULL: none to look at). 0, or 1 with the error logged. */
static int
agents_match(const char *arg, const char *where, const char (*ids)[DB_AGENT_ID_MAX + 1],
    size_t n, char id[MANIFEST_AGENT_ID_MAX + 1])
{
	size_t	 i, len = strlen(arg);
	int	 found = 0;

	if (agents_valid_id(arg)) {
		memcpy(id, arg, MANIFEST_AGENT_ID_MAX + 1);
		return 0;
	}
	if (len < AGENTS_ID_PREFIX_MIN || len > MANIFEST_AGENT_ID_MAX ||
	    strspn(arg, "0123456789abcdef") != len)
		return log_error("bad agent id '%s': 32 hex digits, or a "
		    "unique prefix of at least %d", arg,
		    AGENTS_ID_PREFIX_MIN), 1;
	for (i = 0; i < n; i++)
		if (strncmp(ids[i], arg, len) == 0) {
			if (found++ == 0)
				memcpy(id, ids[i], DB_AGENT_ID_MAX + 1);
		}
	if (found == 0)
		return log_error("no agent '%s' in '%s'", arg, where), 1;
	if (found > 1)
		return log_error("'%s' names %d agents: give more of the id",
		    arg, found), 1;
	return 0;
}

static int
agents_resolve(struct repo *r, const char *arg,
    char id[MANIFEST_AGENT_ID_MAX + 1])
{
	struct db_agent	*ag = NULL;
	char		(*ids)[DB_AGENT_ID_MAX + 1] = NULL;
	size_t		 n = 0, i;
	int		 e, rc;

	if (agents_valid_id(arg))
		return agents_match(arg, r->dir, NULL, 0, id);
	e = db_agents_brief(r->db, &ag, &n);
	if (e < 0)
		return log_errno(e, "cannot read the agents of '%s'",
		    r->dir), 1;
	if (n > 0 && (ids = calloc(n, sizeof(*ids))) == NULL) {
		crypto_wipe(ag, n * sizeof(*ag));
		free(ag);
		return log_errno(-ENOMEM, "cannot read the agents of '%s'",
		    r->dir), 1;
	}
	for (i = 0; i < n; i++)
		memcpy(ids[i], ag[i].id, sizeof(ids[i]));
	crypto_wipe(ag, n * sizeof(*ag));
	free(ag);
	rc = agents_match(arg, r->dir, (const char (*)[DB_AGENT_ID_MAX + 1])ids,
	    n, id);
	free(ids);
	return rc;
}

/* What a change prints: the agent and what became of it. */
static void
agents_print_change(const char *cmd, int same, const char *id,
    const char *hostname, const char *group)
{
	if (same)
		printf("agent %s ('%s') is %s already\n", id, hostname,
		    strcmp(cmd, "group") == 0 ? "in that group" :
		    strcmp(cmd, "license") == 0 ? "licensed" : "pending");
	else if (strcmp(cmd, "group") == 0)
		printf("agent %s ('%s') moved to group %s\n", id, hostname,
		    group);
	else
		printf("agent %s ('%s') %s\n", id, hostname,
		    strcmp(cmd, "license") == 0 ? "licensed" :
		    strcmp(cmd, "unlicense") == 0 ? "unlicensed" : "removed");
}

/* license, unlicense, group, remove: one change and its event, in one
 * transaction. */
static int
agents_change(struct repo *r, const char *cmd, const char *arg,
    const char *group)
{
	struct db_agent	 ag;
	char		 id[MANIFEST_AGENT_ID_MAX + 1];
	int		 e;

	if (agents_resolve(r, arg, id) != 0)
		return 1;
	e = agents_apply(r->db, &r->conf, id, cmd, group, "'cascade agents'",
	    &ag);
	if (e == -EINVAL)
		return log_error("no group '%s': add a [group %s] section to "
		    "'%s/cascade.conf', or use the default group '%s'",
		    group, group, r->dir, r->conf.agents_default_group), 1;
	if (e == -ENOENT)
		return log_error("no agent '%s' in '%s'", arg, r->dir), 1;
	if (e < 0)
		return log_errno(e, "cannot change agent '%s' in '%s'", id,
		    r->dir), 1;
	agents_print_change(cmd, e == 1, id, ag.hostname, group);
	db_agents_free(&ag, 1);
	return 0;
}

/* ---- the same against a running server (--server, --token) ----------- */

/* Collects the rows of the admin API's list. */
struct agents_rows {
	struct agents_row	*w;
	size_t			 n;
	size_t			 cap;
};

static int
agents_row_take(void *arg, const struct manifest_field *f, size_t n)
{
	struct agents_rows	*rows = arg;
	struct agents_row	*w;
	time_t			 t;
	size_t			 cap;

	(void)n;
	if (rows->n == rows->cap) {
		cap = rows->cap == 0 ? 64 : 2 * rows->cap;
		w = realloc(rows->w, cap * sizeof(*w));
		if (w == NULL)
			return -ENOMEM;
		rows->w = w;
		rows->cap = cap;
	}
	w = &rows->w[rows->n];
	memset(w, 0, sizeof(*w));
	snprintf(w->id, sizeof(w->id), "%s", f[0].value);
	snprintf(w->state, sizeof(w->state), "%s", f[1].value);
	snprintf(w->reason, sizeof(w->reason), "%s", f[2].value);
	snprintf(w->group, sizeof(w->group), "%s", f[3].value);
	snprintf(w->hostname, sizeof(w->hostname), "%s", f[4].value);
	if (f[5].present && ts_parse(f[5].value, strlen(f[5].value), &t) == 0)
		w->last_report = (int64_t)t;
	rows->n++;
	return 0;
}

/* GET v1/admin/agents[?state=&group=] into out. 0 or 1 (logged). */
static int
agents_remote_get(struct remote *rm, const char *state, const char *group,
    struct buf *out)
{
	struct buf	 path;
	long		 status = 0;
	int		 e;

	buf_init(&path, 1024);
	e = buf_puts(&path, "v1/admin/agents");
	if (e == 0 && state != NULL)
		e = buf_puts(&path, "?state=");
	if (e == 0 && state != NULL)
		e = remote_query_escape(&path, state);
	if (e == 0 && group != NULL)
		e = buf_puts(&path, state != NULL ? "&group=" : "?group=");
	if (e == 0 && group != NULL)
		e = remote_query_escape(&path, group);
	if (e == 0)
		e = remote_request(rm, "GET", path.ptr, NULL, 0, out, &status);
	buf_release(&path);
	if (e < 0)
		return 1;
	if (status != 200)
		return remote_fail(rm, "list the agents", status, out);
	return 0;
}

/* The rows of a list the server gave (out), into rows. 0 or 1 (logged). */
static int
agents_remote_rows(struct remote *rm, const struct buf *out,
    struct agents_rows *rows)
{
	char			 id[64], st[16], reason[512];
	char			 grp[MANIFEST_NAME_MAX + 1];
	char			 host[MANIFEST_HOST_MAX + 1], last[64], err[256];
	struct manifest_field	 f[] = {
		{ "id", MANIFEST_FIELD_STRING, id, sizeof(id), 0 },
		{ "state", MANIFEST_FIELD_STRING, st, sizeof(st), 0 },
		{ "reason", MANIFEST_FIELD_STRING, reason, sizeof(reason), 0 },
		{ "group", MANIFEST_FIELD_STRING, grp, sizeof(grp), 0 },
		{ "hostname", MANIFEST_FIELD_STRING, host, sizeof(host), 0 },
		{ "last_report", MANIFEST_FIELD_STRING, last, sizeof(last), 0 },
	};
	int			 e;

	err[0] = '\0';
	e = manifest_rows_parse(out->ptr != NULL ? out->ptr : "", out->len,
	    REMOTE_ANSWER_MAX, f, sizeof(f) / sizeof(f[0]), agents_row_take,
	    rows, err, sizeof(err));
	if (e < 0)
		return log_error("cannot read the agents '%s' listed: %s",
		    remote_url(rm), err[0] != '\0' ? err : log_strerror(e)), 1;
	return 0;
}

static int
agents_remote_list(struct remote *rm, int json, const char *state,
    const char *group)
{
	struct agents_rows	 rows;
	struct buf		 out;
	time_t			 now = time(NULL);
	size_t			 i;
	int			 rc;

	memset(&rows, 0, sizeof(rows));
	buf_init(&out, REMOTE_ANSWER_MAX);
	rc = agents_remote_get(rm, state, group, &out);
	if (rc == 0 && json)
		fwrite(out.ptr, 1, out.len, stdout);
	else if (rc == 0)
		rc = agents_remote_rows(rm, &out, &rows);
	if (rc == 0 && !json) {
		if (rows.n == 0)
			printf("no agents %s\n", state == NULL &&
			    group == NULL ? "enrolled" : "match");
		else
			agents_print_head();
		for (i = 0; i < rows.n; i++)
			agents_print_row(&rows.w[i], now);
	}
	free(rows.w);
	buf_release(&out);
	return rc;
}

static int
agents_remote_resolve(struct remote *rm, const char *arg,
    char id[MANIFEST_AGENT_ID_MAX + 1])
{
	struct agents_rows	 rows;
	char			(*ids)[DB_AGENT_ID_MAX + 1] = NULL;
	struct buf		 out;
	size_t			 i;
	int			 rc;

	if (agents_valid_id(arg))
		return agents_match(arg, remote_url(rm), NULL, 0, id);
	memset(&rows, 0, sizeof(rows));
	buf_init(&out, REMOTE_ANSWER_MAX);
	rc = agents_remote_get(rm, NULL, NULL, &out);
	if (rc == 0)
		rc = agents_remote_rows(rm, &out, &rows);
	if (rc == 0 && rows.n > 0 &&
	    (ids = calloc(rows.n, sizeof(*ids))) == NULL) {
		log_errno(-ENOMEM, "cannot list the agents");
		rc = 1;
	}
	for (i = 0; rc == 0 && i < rows.n; i++)
		memcpy(ids[i], rows.w[i].id, sizeof(ids[i]));
	if (rc == 0)
		rc = agents_match(arg, remote_url(rm),
		    (const char (*)[DB_AGENT_ID_MAX + 1])ids, rows.n, id);
	free(ids);
	free(rows.w);
	buf_release(&out);
	return rc;
}

/* license, unlicense, group, remove, notify through the admin API;
 * prints what agents_change does. */
static int
agents_remote_change(struct remote *rm, const char *cmd, const char *arg,
    const char *group)
{
	char			 id[MANIFEST_AGENT_ID_MAX + 1], path[128];
	char			 host[MANIFEST_HOST_MAX + 1];
	char			 grp[MANIFEST_NAME_MAX + 1], lic[8], via[32];
	struct manifest_field	 f[] = {
		{ "hostname", MANIFEST_FIELD_STRING, host, sizeof(host), 0 },
		{ "group", MANIFEST_FIELD_STRING, grp, sizeof(grp), 0 },
		{ "licensed", MANIFEST_FIELD_BOOL, lic, sizeof(lic), 0 },
	};
	struct manifest_field	 fv[] = {
		{ "via", MANIFEST_FIELD_STRING, via, sizeof(via), 0 },
	};
	struct buf		 out, body;
	const char		*method = "POST";
	char			 what[96];
	long			 status = 0;
	int			 rc = 1, same = 0;

	if (agents_remote_resolve(rm, arg, id) != 0)
		return 1;
	buf_init(&out, REMOTE_ANSWER_MAX);
	buf_init(&body, 1024);
	/* the agent as it is before: "already so" is told apart */
	snprintf(path, sizeof(path), "v1/admin/agents/%s", id);
	if (remote_request(rm, "GET", path, NULL, 0, &out, &status) < 0)
		goto out;
	if (status != 200) {
		rc = remote_fail(rm, "find the agent", status, &out);
		goto out;
	}
	if (manifest_fields_parse(out.ptr, out.len, f, 3, NULL, 0) < 0)
		f[0].present = f[1].present = f[2].present = 0;
	if (strcmp(cmd, "group") == 0)
		same = f[1].present && strcmp(grp, group) == 0;
	else if (strcmp(cmd, "license") == 0 || strcmp(cmd, "unlicense") == 0)
		same = f[2].present && (strcmp(lic, "true") == 0) ==
		    (strcmp(cmd, "license") == 0);
	buf_reset(&out);
	if (strcmp(cmd, "remove") == 0)
		method = "DELETE";
	else if (strcmp(cmd, "group") == 0) {
		method = "PUT";
		snprintf(path, sizeof(path), "v1/admin/agents/%s/group", id);
		if (buf_puts(&body, "{\"group\": ") < 0 ||
		    buf_json_str(&body, group) < 0 ||
		    buf_puts(&body, "}\n") < 0)
			goto out;
	} else
		snprintf(path, sizeof(path), "v1/admin/agents/%s/%s", id, cmd);
	if (remote_request(rm, method, path, body.len > 0 ? body.ptr : NULL,
	    body.len, &out, &status) < 0)
		goto out;
	if (status < 200 || status > 299) {
		snprintf(what, sizeof(what), "%s agent %s", cmd, id);
		rc = remote_fail(rm, what, status, &out);
		goto out;
	}
	if (!f[0].present)
		host[0] = '\0';
	if (strcmp(cmd, "notify") == 0) {
		if (manifest_fields_parse(out.ptr, out.len, fv, 1, NULL,
		    0) < 0 || !fv[0].present)
			via[0] = '\0';
		printf("agent %s ('%s') asked to sync: %s\n", id, host,
		    strcmp(via, "push") == 0 ? "pushed to it now" :
		    "told at its next long-poll or sync");
	} else
		agents_print_change(cmd, same, id, host, group);
	rc = 0;
out:
	buf_release(&out);
	buf_release(&body);
	return rc;
}

int
agents_cli(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_STATE, OPT_GROUP, OPT_SERVER, OPT_TOKEN };
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "state", required_argument, NULL, OPT_STATE },
		{ "group", required_argument, NULL, OPT_GROUP },
		{ "server", required_argument, NULL, OPT_SERVER },
		{ "token", required_argument, NULL, OPT_TOKEN },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct remote	*rm = NULL;
	struct repo	 r;
	const char	*dir = "var", *cmd, *state = NULL, *group = NULL;
	const char	*server = NULL, *token = NULL;
	char		**pos;
	int		 c, json = 0, npos, rc, dir_set = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; dir_set = 1; break;
		case OPT_JSON: json = 1; break;
		case OPT_STATE: state = optarg; break;
		case OPT_GROUP: group = optarg; break;
		case OPT_SERVER: server = optarg; break;
		case OPT_TOKEN: token = optarg; break;
		case 'v': log_set_verbose(1); break;
		default: return agents_usage();
		}
	}
	pos = argv + optind;
	npos = argc - optind;
	cmd = npos > 0 ? pos[0] : NULL;
	if (cmd != NULL && strcmp(cmd, "license") != 0 &&
	    strcmp(cmd, "unlicense") != 0 && strcmp(cmd, "remove") != 0 &&
	    strcmp(cmd, "group") != 0 && strcmp(cmd, "notify") != 0) {
		log_error("unknown agents command '%s' (license, unlicense, "
		    "group, remove, notify)", cmd);
		return agents_usage();
	}
	if (cmd != NULL && npos != (strcmp(cmd, "group") == 0 ? 3 : 2))
		return agents_usage();
	if ((json || state != NULL || group != NULL) && cmd != NULL) {
		log_error("agents: --json, --state and --group apply to the "
		    "list only");
		return 2;
	}
	if (state != NULL && !agents_valid_state(state)) {
		log_error("agents: bad --state '%s' (pending, licensed, "
		    "current, behind, diverged, failed, offline)", state);
		return 2;
	}
	if ((server == NULL) != (token == NULL) || (server != NULL &&
	    dir_set)) {
		log_error("agents: either -d DIR, or --server URL with "
		    "--token FILE");
		return 2;
	}
	if (server != NULL) {
		if (remote_open(server, token, &rm) < 0)
			return 1;
		rc = cmd == NULL ? agents_remote_list(rm, json, state, group) :
		    agents_remote_change(rm, cmd, pos[1],
		    npos == 3 ? pos[2] : NULL);
		remote_close(rm);
		return rc;
	}
	if (cmd != NULL && strcmp(cmd, "notify") == 0) {
		log_error("agents notify asks a running server: use --server "
		    "URL --token FILE");
		return 2;
	}
	if (repo_open(&r, dir) < 0)
		return 1;
	rc = cmd == NULL ? agents_list(&r, json, state, group) :
	    agents_change(&r, cmd, pos[1], npos == 3 ? pos[2] : NULL);
	repo_close(&r);
	return rc;
}
