/*
 * Unit tests of agents, on a real data directory in a temporary place:
 * the endpoints' logic without HTTP (enrolment open and with licenses,
 * status reports and the events they record, policies, every refusal),
 * the notify URL of an agent listening on a wildcard address, every
 * derived state, and `cascade agents`. agents.c is included to reach
 * the functions behind agents_handle.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agents.c"
#include "check.h"
#include "banned.h"

#define NOW	((time_t)1795341600)

static const char conf_text[] =
"[agents]\n"
"default_group = default\n"
"[group labs]\n"
"schedule = every 10m\n"
"components = virus-pattern scan-engine\n"
"post_update = /bin/true\n"
"[group quiet]\n";

/* An initialised repository with conf_text (plus extra) as its
 * cascade.conf, opened. */
static int
fresh_repo(const char *name, const char *extra, struct repo *r)
{
	const char	*dir = check_path(name);
	char		 path[FS_PATH_MAX], text[2048];

	if (repo_init(dir, "main", NULL) < 0)
		return -1;
	snprintf(text, sizeof(text), "%s%s", conf_text, extra);
	if (fs_path(path, sizeof(path), "%s/cascade.conf", dir) < 0 ||
	    check_write_file(path, text, strlen(text)) < 0)
		return -1;
	return repo_open(r, dir);
}

static int
publish(struct repo *r, const char *component, const char *text)
{
	struct repo_publish_opts	 o = { NULL, NULL, 0 };
	struct repo_publish_result	 res;
	const char			*f = check_path("input");
	int				 e;

	if (check_write_file(f, text, strlen(text)) < 0)
		return -1;
	e = repo_lock(r);
	if (e == 0)
		e = repo_publish(r, component, f, &o, &res);
	repo_unlock(r);
	return e;
}

static struct license_set *
load_set(struct repo *r)
{
	struct license_set	*ls = NULL;
	size_t			 unranked;

	if (license_set_load(r->db, &r->conf, &ls, &unranked) < 0)
		return NULL;
	return ls;
}

static time_t	 enrol_time = NOW;

/* Enrols through the endpoint's function: the answer's status, with the
 * parsed answer in ret (when 201). */
static unsigned
enrol(struct agents *a, const struct license_set *ls, const char *doc,
    struct manifest_enrolled *ret, char *error, size_t errsize)
{
	struct agents_answer	 ans;
	unsigned		 status;

	agents_answer_init(&ans);
	agents_enrol(a, ls, doc, strlen(doc), "192.0.2.7", enrol_time, &ans);
	status = ans.status;
	if (error != NULL)
		snprintf(error, errsize, "%s", ans.error != NULL ? ans.error :
		    "");
	if (status == 201 && ret != NULL &&
	    manifest_enrolled_parse(ans.body.ptr, ans.body.len, ret, NULL,
	    0) < 0)
		status = 999;
	agents_answer_release(&ans);
	return status;
}

static unsigned
report(struct agents *a, const char *id, const char *auth, const char *doc,
    const char *peer, char *error, size_t errsize)
{
	struct agents_answer	 ans;
	unsigned		 status;

	agents_answer_init(&ans);
	agents_status(a, id, NULL, auth, doc, strlen(doc), peer, NOW + 60,
	    &ans);
	status = ans.status;
	if (error != NULL)
		snprintf(error, errsize, "%s", ans.error != NULL ? ans.error :
		    "");
	agents_answer_release(&ans);
	return status;
}

struct count {
	const char	*kind;
	int		 n;
	char		 last[DB_EVENT_DETAIL_MAX + 1];
};

static int
count_kind(void *arg, const struct db_event *e)
{
	struct count	*c = arg;

	if (strcmp(e->kind, c->kind) == 0) {
		c->n++;
		snprintf(c->last, sizeof(c->last), "%s", e->detail);
	}
	return 0;
}

/* How many events of a kind; the detail of the last in c->last. */
static int
events_of(struct db *db, const char *kind, struct count *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	if (db_events(db, 0, count_kind, c) < 0)
		return -1;
	return c->n;
}

/* ---- notify URLs ---------------------------------------------------------- */

static void
test_notify_url(void)
{
	char	 out[MANIFEST_URL_MAX];

	CHECK_EQ(agents_notify_url("http://[::]:9137/v1/notify", "10.1.2.3",
	    out, sizeof(out)), 0);
	CHECK(strcmp(out, "http://10.1.2.3:9137/v1/notify") == 0);
	CHECK_EQ(agents_notify_url("http://0.0.0.0:9137/v1/notify",
	    "2001:db8::5", out, sizeof(out)), 0);
	CHECK(strcmp(out, "http://[2001:db8::5]:9137/v1/notify") == 0);
	/* a v4 peer on a dual-stack socket */
	CHECK_EQ(agents_notify_url("http://[::]:9137/v1/notify",
	    "::ffff:192.0.2.1", out, sizeof(out)), 0);
	CHECK(strcmp(out, "http://192.0.2.1:9137/v1/notify") == 0);
	/* a zone does not go into a URL */
	CHECK_EQ(agents_notify_url("http://[::]:9137/", "fe80::1%eth0", out,
	    sizeof(out)), 0);
	CHECK(strcmp(out, "http://[fe80::1]:9137/") == 0);
	CHECK_EQ(agents_notify_url("https://0.0.0.0/x", "::1", out,
	    sizeof(out)), 0);
	CHECK(strcmp(out, "https://[::1]/x") == 0);
	/* a real address stays */
	CHECK_EQ(agents_notify_url("http://agent7.example:9137/v1/notify",
	    "10.1.2.3", out, sizeof(out)), 0);
	CHECK(strcmp(out, "http://agent7.example:9137/v1/notify") == 0);
	CHECK_EQ(agents_notify_url("http://[::1]:9137/", "10.1.2.3", out,
	    sizeof(out)), 0);
	CHECK(strcmp(out, "http://[::1]:9137/") == 0);
	/* unknown peer: left as it was */
	CHECK_EQ(agents_notify_url("http://[::]:9137/", "", out,
	    sizeof(out)), 0);
	CHECK(strcmp(out, "http://[::]:9137/") == 0);
	CHECK_EQ(agents_notify_url("", "10.1.2.3", out, sizeof(out)), 0);
	CHECK(strcmp(out, "") == 0);
	/* refused */
	CHECK_EQ(agents_notify_url("ftp://[::]:21/", "10.1.2.3", out,
	    sizeof(out)), -EBADMSG);
	CHECK_EQ(agents_notify_url("http://[::1:9137/", "10.1.2.3", out,
	    sizeof(out)), -EBADMSG);
	CHECK_EQ(agents_notify_url("http://0.0.0.0:9137/", "2001:db8:1:2:3:4:"
	    "5:6", out, 20), -E2BIG);
}

/* ---- enrolment ------------------------------------------------------------ */

static void
test_enrol_open(void)
{
	struct manifest_enrolled	 en;
	struct license_set		*ls;
	struct agents			*a = NULL;
	struct db_agent			 ag;
	struct repo			 r;
	struct count			 c;
	char				 err[64], auth[128];
	int				 rank, licensed;

	CHECK_EQ(fresh_repo("open", "", &r), 0);
	CHECK_EQ(agents_open(r.dir, &r.conf, &a), 0);
	ls = load_set(&r);
	CHECK(ls != NULL && a != NULL);
	if (ls == NULL || a == NULL)
		goto out;
	/* anyone, no key: licensed at once, the default group */
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"ws-1\"}", &en, err,
	    sizeof(err)), 201);
	CHECK(strcmp(en.state, "licensed") == 0);
	CHECK(strcmp(en.group, "default") == 0);
	CHECK_EQ(db_agent_get(r.db, en.id, &ag), 0);
	CHECK_EQ(ag.licensed, 1);
	CHECK(strcmp(ag.hostname, "ws-1") == 0);
	CHECK(strcmp(ag.license_key, "") == 0);
	CHECK_EQ(ag.enrolled, NOW);
	db_agents_free(&ag, 1);
	/* the token it got is the one the server knows */
	snprintf(auth, sizeof(auth), "Bearer %s", en.token);
	license_set_free(ls);
	ls = load_set(&r);
	CHECK_EQ(license_check_agent(ls, en.id, auth, &rank, &licensed), 0);
	CHECK_EQ(rank, LICENSE_RANK_ALL);
	CHECK_EQ(events_of(r.db, "agent-enrolled", &c), 1);
	CHECK(strstr(c.last, "licensed from 192.0.2.7 as 'ws-1', group "
	    "default") != NULL);

	/* a configured group is granted, another is not */
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"lab-1\", \"group\": \"labs\"}",
	    &en, NULL, 0), 201);
	CHECK(strcmp(en.group, "labs") == 0);
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"x\", \"group\": \"nope\"}",
	    &en, NULL, 0), 201);
	CHECK(strcmp(en.group, "default") == 0);
	/* a key given to an open server is not needed, nor refused */
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"y\", \"enroll_key\": "
	    "\"WHATEVER-123\"}", &en, NULL, 0), 201);

	/* bad documents */
	CHECK_EQ(enrol(a, ls, "{\"hostname\": 5}", NULL, err, sizeof(err)),
	    400);
	CHECK(strcmp(err, "bad_request") == 0);
	CHECK_EQ(enrol(a, ls, "not json", NULL, NULL, 0), 400);
	CHECK_EQ(enrol(a, ls, "{}", NULL, NULL, 0), 400);
	CHECK_EQ(enrol(a, ls, "", NULL, NULL, 0), 400);
	CHECK_EQ(events_of(r.db, "agent-enrolled", &c), 4);
out:
	license_set_free(ls);
	agents_close(a);
	repo_close(&r);
}

static void
test_enrol_licensed(void)
{
	struct manifest_enrolled	 en;
	struct license_set		*ls = NULL;
	struct db_license		 l;
	struct agents			*a = NULL;
	struct db_agent			 ag;
	struct repo			 r;
	struct conf			 c2;
	char				 err[64], auth[128];
	int				 rank, licensed;

	CHECK_EQ(fresh_repo("lic", "[editions]\norder = basic, premium\n",
	    &r), 0);
	CHECK_EQ(license_make(&l, "PREMIUM-KEY-01", "premium", "u", "p", err,
	    sizeof(err)), 0);
	CHECK_EQ(db_license_add(r.db, &l), 0);
	CHECK_EQ(agents_open(r.dir, &r.conf, &a), 0);
	ls = load_set(&r);
	CHECK(ls != NULL && a != NULL);
	if (ls == NULL || a == NULL)
		goto out;

	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"h\"}", NULL, err,
	    sizeof(err)), 401);
	CHECK(strcmp(err, "license_required") == 0);
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"h\", \"enroll_key\": \"\"}",
	    NULL, err, sizeof(err)), 401);
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"h\", \"enroll_key\": "
	    "\"PREMIUM-KEY-02\"}", NULL, err, sizeof(err)), 403);
	CHECK(strcmp(err, "license_rejected") == 0);
	/* the key alone, though the license has a username */
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"h\", \"enroll_key\": "
	    "\"PREMIUM-KEY-01\"}", &en, NULL, 0), 201);
	CHECK(strcmp(en.state, "licensed") == 0);
	CHECK_EQ(db_agent_get(r.db, en.id, &ag), 0);
	CHECK(strcmp(ag.license_key, "PREMIUM-KEY-01") == 0);
	db_agents_free(&ag, 1);

	/* auto_license = no: pending */
	c2 = r.conf;
	c2.agents_auto_license = 0;
	agents_set_conf(a, &c2);
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"h2\", \"enroll_key\": "
	    "\"PREMIUM-KEY-01\"}", &en, NULL, 0), 201);
	CHECK(strcmp(en.state, "pending") == 0);
	CHECK_EQ(db_agent_get(r.db, en.id, &ag), 0);
	CHECK_EQ(ag.licensed, 0);
	db_agents_free(&ag, 1);

	/* agents_check: what the set would say, before it knows the agent */
	snprintf(auth, sizeof(auth), "Bearer %s", en.token);
	CHECK_EQ(license_check_agent(ls, en.id, auth, &rank, &licensed),
	    -EACCES);
	rank = licensed = 99;
	CHECK_EQ(agents_check(a, en.id, auth, &rank, &licensed), 0);
	CHECK_EQ(rank, 1);
	CHECK_EQ(licensed, 0);
	CHECK_EQ(agents_check(a, en.id, NULL, &rank, &licensed), -ENOENT);
	CHECK_EQ(agents_check(a, NULL, auth, &rank, &licensed), -ENOENT);
	CHECK_EQ(agents_check(a, en.id, "Bearer 00", &rank, &licensed),
	    -EACCES);
	CHECK_EQ(agents_check(a, "0123456789abcdef0123456789abcdef", auth,
	    &rank, &licensed), -EACCES);
	/* its license removed: it authenticates, and receives nothing */
	CHECK_EQ(db_license_remove(r.db, "PREMIUM-KEY-01"), 0);
	CHECK_EQ(agents_check(a, en.id, auth, &rank, &licensed), 0);
	CHECK_EQ(rank, -1);
out:
	license_set_free(ls);
	agents_close(a);
	repo_close(&r);
}

/* ---- reports and policies ------------------------------------------------- */

static const char status_ok[] =
    "{\"hostname\": \"ws-1\", \"agent_version\": \"0.4.0\", "
    "\"notify\": \"http://[::]:9137/v1/notify\", \"result\": \"ok\", "
    "\"message\": \"\", \"group\": \"default\", \"installed\": "
    "[{\"name\": \"virus-pattern\", \"version\": 1, \"sha256\": "
    "\"0000000000000000000000000000000000000000000000000000000000000001\"}]}";

static const char status_ok2[] =
    "{\"hostname\": \"ws-1\", \"agent_version\": \"0.4.0\", "
    "\"result\": \"ok\", \"group\": \"default\", \"installed\": "
    "[{\"name\": \"virus-pattern\", \"version\": 2, \"sha256\": "
    "\"0000000000000000000000000000000000000000000000000000000000000002\"}]}";

static const char status_failed[] =
    "{\"hostname\": \"ws-1\", \"agent_version\": \"0.4.0\", "
    "\"result\": \"failed\", \"message\": \"disk full\", \"group\": "
    "\"default\", \"installed\": "
    "[{\"name\": \"virus-pattern\", \"version\": 2, \"sha256\": "
    "\"0000000000000000000000000000000000000000000000000000000000000002\"}]}";

static void
test_status(void)
{
	struct manifest_enrolled	 en, other;
	struct manifest_agent_status	*st;
	struct license_set		*ls = NULL;
	struct agents			*a = NULL;
	struct db_agent			 ag;
	struct repo			 r;
	struct count			 c;
	char				 auth[128], bad[128], err[64];
	char				 big[MANIFEST_DOC_MAX + 64];
	uint64_t			 gen0 = 0, gen1 = 0;

	st = malloc(sizeof(*st));
	CHECK_EQ(fresh_repo("status", "", &r), 0);
	CHECK_EQ(agents_open(r.dir, &r.conf, &a), 0);
	ls = load_set(&r);
	CHECK(ls != NULL && a != NULL && st != NULL);
	if (ls == NULL || a == NULL || st == NULL)
		goto out;
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"ws-1\"}", &en, NULL, 0), 201);
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"ws-2\"}", &other, NULL, 0),
	    201);
	snprintf(auth, sizeof(auth), "Bearer %s", en.token);
	snprintf(bad, sizeof(bad), "Bearer %s", other.token);

	/* refusals: no token, another's, an unknown or malformed id */
	CHECK_EQ(report(a, en.id, NULL, status_ok, "10.0.0.9", err,
	    sizeof(err)), 401);
	CHECK(strcmp(err, "agent_required") == 0);
	CHECK_EQ(report(a, en.id, bad, status_ok, "10.0.0.9", err,
	    sizeof(err)), 401);
	CHECK(strcmp(err, "agent_rejected") == 0);
	CHECK_EQ(report(a, "0123456789abcdef0123456789abcdef", auth,
	    status_ok, "10.0.0.9", err, sizeof(err)), 401);
	CHECK(strcmp(err, "agent_rejected") == 0);
	CHECK_EQ(report(a, "../../etc", auth, status_ok, "10.0.0.9", NULL,
	    0), 401);
	CHECK_EQ(report(a, en.id, "Bearer zz", status_ok, "10.0.0.9", NULL,
	    0), 401);
	/* the X-Cascade-Agent header, when sent, names the same agent */
	{
		struct agents_answer	 ans;

		agents_answer_init(&ans);
		agents_status(a, en.id, other.id, auth, status_ok,
		    strlen(status_ok), "10.0.0.9", NOW, &ans);
		CHECK_EQ(ans.status, 401);
		agents_answer_release(&ans);
	}
	/* bad documents, after the credentials */
	CHECK_EQ(report(a, en.id, auth, "{\"hostname\": \"x\"}", "10.0.0.9",
	    err, sizeof(err)), 400);
	CHECK(strcmp(err, "bad_request") == 0);
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(report(a, en.id, auth, big, "10.0.0.9", NULL, 0), 413);
	CHECK_EQ(db_agent_get(r.db, en.id, &ag), 0);
	CHECK(ag.status == NULL);
	CHECK_EQ(ag.last_report, 0);
	db_agents_free(&ag, 1);

	/* a report: kept, the notify host filled in, an event */
	CHECK_EQ(db_licenses_generation(r.db, &gen0), 0);
	CHECK_EQ(report(a, en.id, auth, status_ok, "10.0.0.9", NULL, 0), 204);
	CHECK_EQ(db_licenses_generation(r.db, &gen1), 0);
	CHECK_EQ(gen1, gen0);			/* no reload for a report */
	CHECK_EQ(db_agent_get(r.db, en.id, &ag), 0);
	CHECK_EQ(ag.last_report, NOW + 60);
	CHECK_EQ(ag.last_seen, NOW + 60);
	CHECK(strcmp(ag.notify_url, "http://10.0.0.9:9137/v1/notify") == 0);
	CHECK(ag.status != NULL && manifest_status_parse(ag.status,
	    strlen(ag.status), st, NULL, 0) == 0);
	CHECK(strcmp(st->notify, "http://10.0.0.9:9137/v1/notify") == 0);
	db_agents_free(&ag, 1);
	CHECK_EQ(events_of(r.db, "agent-report", &c), 1);
	CHECK(strcmp(c.last, "ok") == 0);
	CHECK_EQ(events_of(r.db, "agent-installed", &c), 1);
	CHECK(strcmp(c.last, "virus-pattern 1 (new)") == 0);

	/* the same again: no event */
	CHECK_EQ(report(a, en.id, auth, status_ok, "10.0.0.9", NULL, 0), 204);
	CHECK_EQ(events_of(r.db, "agent-report", &c), 1);
	CHECK_EQ(events_of(r.db, "agent-installed", &c), 1);
	/* a new version: an installed event only */
	CHECK_EQ(report(a, en.id, auth, status_ok2, "10.0.0.9", NULL, 0),
	    204);
	CHECK_EQ(events_of(r.db, "agent-report", &c), 1);
	CHECK_EQ(events_of(r.db, "agent-installed", &c), 2);
	CHECK(strcmp(c.last, "virus-pattern 1 -> 2") == 0);
	/* a failure: an event, once */
	CHECK_EQ(report(a, en.id, auth, status_failed, "10.0.0.9", NULL, 0),
	    204);
	CHECK_EQ(report(a, en.id, auth, status_failed, "10.0.0.9", NULL, 0),
	    204);
	CHECK_EQ(events_of(r.db, "agent-report", &c), 2);
	CHECK(strcmp(c.last, "failed: disk full") == 0);
	CHECK_EQ(report(a, en.id, auth, status_ok2, "10.0.0.9", NULL, 0),
	    204);
	CHECK_EQ(events_of(r.db, "agent-report", &c), 3);
	CHECK_EQ(events_of(r.db, "agent-installed", &c), 2);

	/* removed: its token opens nothing any more */
	CHECK_EQ(db_agent_remove(r.db, en.id), 0);
	CHECK_EQ(report(a, en.id, auth, status_ok2, "10.0.0.9", err,
	    sizeof(err)), 401);
	CHECK(strcmp(err, "agent_rejected") == 0);
out:
	free(st);
	license_set_free(ls);
	agents_close(a);
	repo_close(&r);
}

static unsigned
policy(struct agents *a, const char *id, const char *auth,
    char group[MANIFEST_NAME_MAX + 1], char state[32],
    struct conf_policy *pol)
{
	struct agents_answer	 ans;
	unsigned		 status;
	char			 err[256];

	agents_answer_init(&ans);
	agents_policy(a, id, NULL, auth, NOW + 120, &ans);
	status = ans.status;
	if (status == 200) {
		if (manifest_policy_parse(ans.body.ptr, ans.body.len, group,
		    pol, err, sizeof(err)) < 0)
			status = 999;
		/* the state is not in the policy struct: read it here */
		snprintf(state, 32, "%s", strstr(ans.body.ptr,
		    "\"pending\"") != NULL ? "pending" : strstr(ans.body.ptr,
		    "\"licensed\"") != NULL ? "licensed" : "?");
	}
	agents_answer_release(&ans);
	return status;
}

static void
test_policy(void)
{
	struct manifest_enrolled	 en, lab;
	struct license_set		*ls = NULL;
	struct conf_policy		 pol;
	struct agents			*a = NULL;
	struct db_agent			 ag;
	struct repo			 r;
	char				 auth[128], group[MANIFEST_NAME_MAX + 1];
	char				 state[32];

	CHECK_EQ(fresh_repo("policy", "", &r), 0);
	CHECK_EQ(agents_open(r.dir, &r.conf, &a), 0);
	ls = load_set(&r);
	CHECK(ls != NULL && a != NULL);
	if (ls == NULL || a == NULL)
		goto out;
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"ws-1\"}", &en, NULL, 0), 201);
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"lab\", \"group\": \"labs\"}",
	    &lab, NULL, 0), 201);

	/* a group with no section: nothing set */
	snprintf(auth, sizeof(auth), "Bearer %s", en.token);
	CHECK_EQ(policy(a, en.id, auth, group, state, &pol), 200);
	CHECK(strcmp(group, "default") == 0);
	CHECK(strcmp(state, "licensed") == 0);
	CHECK_EQ(pol.set, 0);
	CHECK_EQ(db_agent_get(r.db, en.id, &ag), 0);
	CHECK_EQ(ag.last_seen, NOW + 120);
	CHECK_EQ(ag.last_report, 0);
	db_agents_free(&ag, 1);

	/* labs: what its section sets, only that */
	snprintf(auth, sizeof(auth), "Bearer %s", lab.token);
	CHECK_EQ(policy(a, lab.id, auth, group, state, &pol), 200);
	CHECK(strcmp(group, "labs") == 0);
	CHECK_EQ(pol.set, CONF_POLICY_SCHEDULE | CONF_POLICY_COMPONENTS |
	    CONF_POLICY_POST_UPDATE);
	CHECK_EQ(pol.schedule.every, 600);
	CHECK_EQ(pol.ncomponents, 2);
	CHECK(strcmp(pol.post_update, "/bin/true") == 0);

	/* pending: it still learns its state */
	CHECK_EQ(db_agent_set_licensed(r.db, lab.id, 0), 0);
	CHECK_EQ(policy(a, lab.id, auth, group, state, &pol), 200);
	CHECK(strcmp(state, "pending") == 0);
	/* regrouped: the new group's policy */
	CHECK_EQ(db_agent_set_group(r.db, lab.id, "quiet"), 0);
	CHECK_EQ(policy(a, lab.id, auth, group, state, &pol), 200);
	CHECK(strcmp(group, "quiet") == 0);
	CHECK_EQ(pol.set, 0);

	CHECK_EQ(policy(a, lab.id, NULL, group, state, &pol), 401);
	snprintf(auth, sizeof(auth), "Bearer %s", en.token);
	CHECK_EQ(policy(a, lab.id, auth, group, state, &pol), 401);
out:
	license_set_free(ls);
	agents_close(a);
	repo_close(&r);
}

/* ---- states --------------------------------------------------------------- */

/* An agent of a group, licensed, heard from a minute before NOW, with
 * a report made of st (NULL: none). */
static void
agent_with(struct db_agent *ag, const char *group,
    const struct manifest_agent_status *st)
{
	struct buf	 b;

	memset(ag, 0, sizeof(*ag));
	snprintf(ag->id, sizeof(ag->id), "0123456789abcdef0123456789abcdef");
	snprintf(ag->group, sizeof(ag->group), "%s", group);
	snprintf(ag->hostname, sizeof(ag->hostname), "h");
	ag->licensed = 1;
	ag->enrolled = NOW - 86400;
	ag->last_seen = NOW - 60;
	if (st == NULL)
		return;
	ag->last_report = NOW - 60;
	buf_init(&b, MANIFEST_DOC_MAX);
	if (manifest_status_emit(st, &b) == 0)
		ag->status = buf_detach(&b, NULL);
	buf_release(&b);
}

static void
installed(struct manifest_agent_status *st, const char *name,
    uint64_t version)
{
	struct manifest_installed	*in = &st->installed[st->ninstalled++];

	snprintf(in->name, sizeof(in->name), "%s", name);
	in->version = version;
	memset(in->sha256, 'a', 64);
	in->sha256[64] = '\0';
}

static enum agents_state
state_of(const struct agents_ref *ref, const struct conf *c,
    struct db_agent *ag, char *why, size_t whysize)
{
	enum agents_state	 s;

	s = agents_state(ref, c, ag, NOW, why, whysize);
	db_agents_free(ag, 1);
	return s;
}

static void
test_states(void)
{
	struct manifest_agent_status	*st, *base;
	struct agents_ref		*ref = NULL;
	struct sig_pubkey		 pk;
	struct db_agent			 ag;
	struct repo			 r;
	char				 why[256], keyid[17];

	st = malloc(sizeof(*st));
	base = calloc(1, sizeof(*base));
	CHECK_EQ(fresh_repo("states", "", &r), 0);
	CHECK(st != NULL && base != NULL);
	if (st == NULL || base == NULL)
		goto out;
	CHECK_EQ(publish(&r, "virus-pattern", "v1\n"), 0);
	CHECK_EQ(publish(&r, "virus-pattern", "v2\n"), 0);
	CHECK_EQ(publish(&r, "scan-engine", "e1\n"), 0);
	CHECK_EQ(publish(&r, "config/default", "c1\n"), 0);
	CHECK_EQ(publish(&r, "config/labs", "l1\n"), 0);
	CHECK_EQ(publish(&r, "config/labs", "l2\n"), 0);
	CHECK_EQ(repo_pubkey(&r, "main", &pk), 0);
	snprintf(keyid, sizeof(keyid), "%016llX",
	    (unsigned long long)agents_key_number(pk.id));
	CHECK_EQ(agents_ref_load(r.db, r.dir, &ref), 0);
	if (ref == NULL)
		goto out;
	CHECK_EQ(ref->nkeys, 1);

	snprintf(base->hostname, sizeof(base->hostname), "h");
	snprintf(base->agent_version, sizeof(base->agent_version), "0.4.0");
	base->ok = 1;
	snprintf(base->group, sizeof(base->group), "default");
	snprintf(base->keys[0], sizeof(base->keys[0]), "%s", keyid);
	base->nkeys = 1;

	/* current: what the server holds, config of its own group only */
	*st = *base;
	installed(st, "virus-pattern", 2);
	installed(st, "config/default", 1);
	agent_with(&ag, "default", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_CURRENT);
	CHECK(strcmp(why, "") == 0);
	/* newer than the server (another mirror was ahead): current too */
	*st = *base;
	installed(st, "virus-pattern", 7);
	installed(st, "retired-thing", 1);
	agent_with(&ag, "default", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_CURRENT);

	/* pending before anything else */
	agent_with(&ag, "default", st);
	ag.licensed = 0;
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_PENDING);

	/* licensed: no report yet */
	agent_with(&ag, "default", NULL);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_LICENSED);

	/* offline: three periods of its group without a word (default
	 * group: every 60m; labs: every 10m) */
	*st = *base;
	installed(st, "virus-pattern", 2);
	agent_with(&ag, "default", st);
	ag.last_seen = ag.last_report = NOW - 3 * 3600 - 1;
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_OFFLINE);
	CHECK(strncmp(why, "last heard from ", 16) == 0);
	agent_with(&ag, "default", st);
	ag.last_seen = ag.last_report = NOW - 3 * 3600;
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_CURRENT);
	snprintf(st->group, sizeof(st->group), "labs");
	agent_with(&ag, "labs", st);
	ag.last_seen = ag.last_report = NOW - 1801;
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_OFFLINE);
	agent_with(&ag, "labs", NULL);		/* never heard from */
	ag.last_seen = 0;
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_OFFLINE);
	CHECK(strcmp(why, "never heard from") == 0);
	/* a recent request without a report keeps it online */
	agent_with(&ag, "labs", st);
	ag.last_report = NOW - 86400;
	CHECK(agents_online(&r.conf, &ag, NOW));
	db_agents_free(&ag, 1);

	/* failed, with its message */
	*st = *base;
	installed(st, "virus-pattern", 1);
	st->ok = 0;
	snprintf(st->message, sizeof(st->message), "post_update exited 3");
	agent_with(&ag, "default", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_FAILED);
	CHECK(strcmp(why, "post_update exited 3") == 0);

	/* diverged: another group than assigned (moved, policy not yet
	 * taken), another group's configuration, or none of the keys */
	*st = *base;
	installed(st, "virus-pattern", 2);
	agent_with(&ag, "labs", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_DIVERGED);
	CHECK(strcmp(why, "reports group default, assigned labs") == 0);
	installed(st, "config/labs", 2);
	agent_with(&ag, "default", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_DIVERGED);
	CHECK(strcmp(why, "holds config/labs, group default") == 0);
	*st = *base;
	installed(st, "virus-pattern", 2);
	snprintf(st->keys[0], sizeof(st->keys[0]), "%s",
	    strcmp(keyid, "0123456789ABCDEF") == 0 ? "0123456789ABCDE0" :
	    "0123456789ABCDEF");
	agent_with(&ag, "default", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_DIVERGED);
	CHECK(strcmp(why, "accepts none of the channel keys") == 0);
	/* one key in common is enough; no keys reported: unknown, fine */
	snprintf(st->keys[1], sizeof(st->keys[1]), "%s", keyid);
	st->nkeys = 2;
	agent_with(&ag, "default", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_CURRENT);
	st->nkeys = 0;
	agent_with(&ag, "default", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_CURRENT);

	/* behind: an older version it holds */
	*st = *base;
	installed(st, "virus-pattern", 1);
	installed(st, "config/default", 1);
	agent_with(&ag, "default", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_BEHIND);
	CHECK(strcmp(why, "virus-pattern 1 < 2") == 0);
	/* its group's config, older */
	*st = *base;
	snprintf(st->group, sizeof(st->group), "labs");
	installed(st, "virus-pattern", 2);
	installed(st, "scan-engine", 1);
	installed(st, "config/labs", 1);
	agent_with(&ag, "labs", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_BEHIND);
	CHECK(strcmp(why, "config/labs 1 < 2") == 0);
	/* a component its group selects and it lacks */
	st->ninstalled = 1;
	agent_with(&ag, "labs", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_BEHIND);
	CHECK(strcmp(why, "scan-engine missing") == 0);
	/* the default group selects nothing: lacking it is fine */
	*st = *base;
	installed(st, "virus-pattern", 2);
	agent_with(&ag, "default", st);
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_CURRENT);

	/* a report that no longer reads */
	agent_with(&ag, "default", NULL);
	ag.last_report = NOW - 60;
	ag.status = strdup("{\"broken");
	CHECK_EQ(state_of(ref, &r.conf, &ag, why, sizeof(why)),
	    AGENTS_FAILED);

	CHECK(strcmp(agents_state_name(AGENTS_DIVERGED), "diverged") == 0);
	CHECK(strcmp(agents_state_name(AGENTS_OFFLINE), "offline") == 0);
out:
	agents_ref_free(ref);
	free(st);
	free(base);
	repo_close(&r);
}

/* ---- cascade agents ------------------------------------------------------- */

/* Runs agents_cli with the words of line (space separated), stdout in
 * out (NUL-terminated). The exit status. */
static int
cli(const char *line, char *out, size_t size)
{
	char	 copy[1024], *argv[16], *p, *save = NULL;
	int	 argc = 0, rc, fd, saved;
	ssize_t	 n;
	FILE	*f;

	snprintf(copy, sizeof(copy), "%s", line);
	for (p = strtok_r(copy, " ", &save); p != NULL && argc < 15;
	    p = strtok_r(NULL, " ", &save))
		argv[argc++] = p;
	argv[argc] = NULL;
	fflush(stdout);
	f = tmpfile();
	if (f == NULL)
		return -1;
	saved = dup(1);
	dup2(fileno(f), 1);
	rc = agents_cli(argc, argv);
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	fd = fileno(f);
	lseek(fd, 0, SEEK_SET);
	n = read(fd, out, size - 1);
	out[n > 0 ? n : 0] = '\0';
	fclose(f);
	return rc;
}

static void
test_cli(void)
{
	struct manifest_enrolled	 e1, e2;
	struct license_set		*ls = NULL;
	struct agents			*a = NULL;
	struct db_agent			 ag;
	struct repo			 r;
	struct count			 c;
	char				 cmd[FS_PATH_MAX + 256], out[8192];
	char				 auth[128];
	uint64_t			 g0 = 0, g1 = 0;

	CHECK_EQ(fresh_repo("cli", "", &r), 0);
	CHECK_EQ(agents_open(r.dir, &r.conf, &a), 0);
	ls = load_set(&r);
	CHECK(ls != NULL && a != NULL);
	if (ls == NULL || a == NULL)
		goto out;
	snprintf(cmd, sizeof(cmd), "agents -d %s", r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);
	CHECK(strcmp(out, "no agents enrolled\n") == 0);
	snprintf(cmd, sizeof(cmd), "agents -d %s --json", r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);
	CHECK(strcmp(out, "[]\n") == 0);

	/* two hours ago: e2 (labs, every 10m) has been silent since */
	enrol_time = time(NULL) - 7200;
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"ws one\"}", &e1, NULL, 0),
	    201);
	CHECK_EQ(enrol(a, ls, "{\"hostname\": \"lab\", \"group\": \"labs\"}",
	    &e2, NULL, 0), 201);
	snprintf(auth, sizeof(auth), "Bearer %s", e1.token);
	CHECK_EQ(report(a, e1.id, auth, status_failed, "10.0.0.9", NULL, 0),
	    204);
	/* the report is dated NOW + 60: make it recent */
	CHECK_EQ(db_agent_report(r.db, e1.id, "ws one", "", "{\"hostname\": "
	    "\"ws one\", \"agent_version\": \"1\", \"result\": \"failed\", "
	    "\"message\": \"disk full\"}", (int64_t)time(NULL) - 5), 0);

	snprintf(cmd, sizeof(cmd), "agents -d %s", r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);
	CHECK(strncmp(out, "ID ", 3) == 0);
	CHECK(strstr(out, e1.id) != NULL);
	CHECK(strstr(out, e2.id) != NULL);
	CHECK(strstr(out, " failed ") != NULL);
	CHECK(strstr(out, "ws_one") != NULL);	/* one word per column */
	CHECK(strstr(out, "disk full") != NULL);
	CHECK(strstr(out, " offline ") != NULL);	/* e2 */
	snprintf(cmd, sizeof(cmd), "agents --json -d %s", r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);
	CHECK(out[0] == '[');
	CHECK(strstr(out, "\"state\": \"failed\"") != NULL);
	CHECK(strstr(out, "\"hostname\": \"ws one\"") != NULL);
	CHECK(strstr(out, "\"message\": \"disk full\"") != NULL);

	/* license / unlicense, by a prefix of the id */
	CHECK_EQ(db_licenses_generation(r.db, &g0), 0);
	snprintf(cmd, sizeof(cmd), "agents -d %s unlicense %.8s", r.dir,
	    e2.id);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);
	CHECK(strstr(out, "unlicensed") != NULL);
	CHECK_EQ(db_licenses_generation(r.db, &g1), 0);
	CHECK(g1 > g0);
	CHECK_EQ(db_agent_get(r.db, e2.id, &ag), 0);
	CHECK_EQ(ag.licensed, 0);
	db_agents_free(&ag, 1);
	snprintf(cmd, sizeof(cmd), "agents license %s -d %s", e2.id, r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);
	CHECK_EQ(db_agent_get(r.db, e2.id, &ag), 0);
	CHECK_EQ(ag.licensed, 1);
	db_agents_free(&ag, 1);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);	/* twice: said so */
	CHECK(strstr(out, "already") != NULL);
	CHECK_EQ(events_of(r.db, "agent-licensed", &c), 1);
	CHECK_EQ(events_of(r.db, "agent-unlicensed", &c), 1);

	/* group: a configured one or the default, nothing else */
	snprintf(cmd, sizeof(cmd), "agents -d %s group %s quiet", r.dir,
	    e1.id);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);
	CHECK_EQ(db_agent_get(r.db, e1.id, &ag), 0);
	CHECK(strcmp(ag.group, "quiet") == 0);
	db_agents_free(&ag, 1);
	CHECK_EQ(events_of(r.db, "agent-group", &c), 1);
	CHECK(strcmp(c.last, "group default -> quiet by 'cascade agents'") == 0);
	snprintf(cmd, sizeof(cmd), "agents -d %s group %s default", r.dir,
	    e1.id);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);
	snprintf(cmd, sizeof(cmd), "agents -d %s group %s nope", r.dir,
	    e1.id);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 1);
	CHECK_EQ(db_agent_get(r.db, e1.id, &ag), 0);
	CHECK(strcmp(ag.group, "default") == 0);
	db_agents_free(&ag, 1);

	/* remove */
	snprintf(cmd, sizeof(cmd), "agents -d %s remove %s", r.dir, e1.id);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 0);
	CHECK_EQ(db_agent_get(r.db, e1.id, &ag), -ENOENT);
	CHECK_EQ(events_of(r.db, "agent-removed", &c), 1);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 1);	/* gone */

	/* errors */
	snprintf(cmd, sizeof(cmd), "agents -d %s license abc", r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 1);	/* short prefix */
	snprintf(cmd, sizeof(cmd), "agents -d %s license ffffffffffff",
	    r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 1);	/* nobody */
	snprintf(cmd, sizeof(cmd), "agents -d %s license", r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "agents -d %s frobnicate x", r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "agents -d %s --json remove %s", r.dir,
	    e2.id);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 2);
	snprintf(cmd, sizeof(cmd), "agents -d %s/nowhere", r.dir);
	CHECK_EQ(cli(cmd, out, sizeof(out)), 1);
out:
	enrol_time = NOW;
	license_set_free(ls);
	agents_close(a);
	repo_close(&r);
}

int
main(void)
{
	if (check_tmpdir_init("test_agents") < 0)
		return 1;
	log_set_program("test_agents");
	RUN(test_notify_url);
	RUN(test_enrol_open);
	RUN(test_enrol_licensed);
	RUN(test_status);
	RUN(test_policy);
	RUN(test_states);
	RUN(test_cli);
	check_rm_rf(check_tmpdir);
	return check_end();
}
