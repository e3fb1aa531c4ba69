/*
 * Unit tests of report, on a real data directory in a temporary place:
 * the inventory endpoint's logic without HTTP (what it keeps, the events
 * it records, its answer, every refusal), the file status report against
 * published versions and hand-made inventories (missing, outdated, other
 * bytes, editions, channels not taken, a serial behind, offline by
 * schedule), the admin endpoints and their refusals, and the commands.
 * report.c is included to reach the functions behind the handlers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "report.c"
#include "check.h"
#include "banned.h"

#define NOW	((time_t)1795341600)
#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* An initialised repository with extra as its cascade.conf, opened. */
static int
fresh_repo(const char *name, const char *extra, struct repo *r)
{
	const char	*dir = check_path(name);
	char		 path[FS_PATH_MAX];

	if (repo_init(dir, "main", NULL) < 0)
		return -1;
	if (fs_path(path, sizeof(path), "%s/cascade.conf", dir) < 0 ||
	    check_write_file(path, extra, strlen(extra)) < 0)
		return -1;
	return repo_open(r, dir);
}

/* Publishes text as the next version of component; its hash in sha. */
static int
publish(struct repo *r, const char *component, const char *edition,
    const char *text, char sha[CRYPTO_SHA256_HEX])
{
	struct repo_publish_opts	 o = { NULL, edition, 0 };
	struct repo_publish_result	 res;
	const char			*f = check_path("input");
	int				 e;

	if (check_write_file(f, text, strlen(text)) < 0)
		return -1;
	e = repo_lock(r);
	if (e == 0)
		e = repo_publish(r, component, f, &o, &res);
	repo_unlock(r);
	if (e == 0 && sha != NULL)
		memcpy(sha, res.sha256, CRYPTO_SHA256_HEX);
	return e;
}

/* Reports an inventory through the endpoint's function: the status, the
 * answer's body in body (when not NULL). */
static unsigned
put(struct report *rep, const char *name, const char *edition,
    const char *doc, time_t now, char *body, size_t bodysize)
{
	struct report_answer	 ans;
	unsigned		 status;

	report_answer_init(&ans);
	report_inventory(rep, name, edition, "192.0.2.9", doc, strlen(doc),
	    now, &ans);
	status = ans.status;
	if (body != NULL)
		snprintf(body, bodysize, "%s", ans.error != NULL ? ans.error :
		    ans.body.ptr != NULL ? ans.body.ptr : "");
	buf_release(&ans.body);
	return status;
}

/* An admin request: the status, the body or the error in body. */
static unsigned
admin(struct report *rep, const char *method, const char *path,
    int may_write, const char *only, char *body, size_t bodysize)
{
	struct report_answer	 ans;
	char			 copy[512], *seg[8], *p, *save = NULL;
	unsigned		 status;
	int			 n = 0;

	snprintf(copy, sizeof(copy), "%s", path);
	for (p = strtok_r(copy, "/", &save); p != NULL && n < 8;
	    p = strtok_r(NULL, "/", &save))
		seg[n++] = p;
	report_answer_init(&ans);
	report_admin(rep, method, (const char *const *)seg, n, may_write,
	    may_write ? "admin token 'ops'" : NULL, only, NOW, &ans);
	status = ans.status;
	if (body != NULL)
		snprintf(body, bodysize, "%s%s%s", ans.error != NULL ?
		    ans.error : ans.body.ptr != NULL ? ans.body.ptr : "",
		    ans.allow != NULL ? " allow: " : "",
		    ans.allow != NULL ? ans.allow : "");
	buf_release(&ans.body);
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

static int
events_of(struct db *db, const char *kind, struct count *c)
{
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	if (db_events(db, 0, count_kind, c) < 0)
		return -1;
	return c->n;
}

/* An inventory document of name: the channels as "ch": serial text, the
 * components as (channel, name, version, sha) text. */
static char *
inventory(const char *name, const char *channels, const char *components)
{
	struct buf	 b;

	buf_init(&b, MANIFEST_DOC_MAX * 2);
	if (buf_printf(&b, "{\"name\": \"%s\", \"channels\": {%s}, "
	    "\"components\": [%s]}", name, channels, components) < 0)
		abort();
	return buf_detach(&b, NULL);
}

static char *
item(const char *channel, const char *name, unsigned version,
    const char *sha)
{
	struct buf	 b;

	buf_init(&b, 1024);
	if (buf_printf(&b, "{\"channel\": \"%s\", \"name\": \"%s\", "
	    "\"version\": %u, \"sha256\": \"%s\"}", channel, name, version,
	    sha) < 0)
		abort();
	return buf_detach(&b, NULL);
}

static const struct report_downstream *
find_ds(const struct report_view *v, const char *name)
{
	size_t	 i;

	for (i = 0; i < v->nds; i++)
		if (strcmp(v->ds[i].row.name, name) == 0)
			return &v->ds[i];
	return NULL;
}

static const struct report_file *
find_file(const struct report_downstream *d, const char *component)
{
	size_t	 i;

	for (i = 0; d != NULL && i < d->nfiles; i++)
		if (strcmp(d->files[i].component, component) == 0)
			return &d->files[i];
	return NULL;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_names(void)
{
	CHECK(strcmp(report_state_name(REPORT_CURRENT), "current") == 0);
	CHECK(strcmp(report_state_name(REPORT_BEHIND), "behind") == 0);
	CHECK(strcmp(report_state_name(REPORT_OFFLINE), "offline") == 0);
}

static void
test_endpoint(void)
{
	struct report		*rep = NULL;
	struct repo		 r;
	struct db_downstream	 d;
	struct count		 c;
	struct buf		 big;
	char			 body[1024], *doc, *it;

	CHECK_EQ(fresh_repo("endpoint", "", &r), 0);
	CHECK_EQ(report_open(r.dir, &r.conf, &rep), 0);
	if (rep == NULL)
		return;
	it = item("main", "virus-pattern", 1, H1);
	doc = inventory("branch-1", "\"main\": 1", it);

	/* kept, re-emitted compact; an event for the first report */
	CHECK_EQ(put(rep, "branch-1", "", doc, NOW, body, sizeof(body)), 200);
	CHECK(strcmp(body, "{\"schedule\": null, \"at_startup\": false}\n")
	    == 0);
	CHECK_EQ(db_downstream_get(r.db, "branch-1", &d), 0);
	CHECK(strcmp(d.address, "192.0.2.9") == 0);
	CHECK(strcmp(d.edition, "") == 0);
	CHECK_EQ(d.last_report, NOW);
	CHECK(strncmp(d.inventory, "{\"name\":\"branch-1\",\"channels\":"
	    "{\"main\":1},\"components\":[{", 50) == 0);
	db_downstreams_free(&d, 1);
	CHECK_EQ(events_of(r.db, "downstream-report", &c), 1);
	CHECK(strcmp(c.last, "branch-1 from 192.0.2.9: 1 channel, 1 "
	    "component") == 0);

	/* the same again: the time moves, no event; a change: an event */
	CHECK_EQ(put(rep, "branch-1", "premium", doc, NOW + 60, NULL, 0), 200);
	CHECK_EQ(events_of(r.db, "downstream-report", &c), 1);
	CHECK_EQ(db_downstream_get(r.db, "branch-1", &d), 0);
	CHECK_EQ(d.last_report, NOW + 60);
	CHECK(strcmp(d.edition, "premium") == 0);
	db_downstreams_free(&d, 1);
	free(doc);
	doc = inventory("branch-1", "\"main\": 2", it);
	CHECK_EQ(put(rep, "branch-1", "", doc, NOW + 120, NULL, 0), 200);
	CHECK_EQ(events_of(r.db, "downstream-report", &c), 2);

	/* refusals: nothing kept */
	CHECK_EQ(put(rep, "branch-2", "", doc, NOW, body, sizeof(body)), 400);
	CHECK(strcmp(body, "bad_request") == 0);
	CHECK_EQ(put(rep, "Branch-1", "", doc, NOW, NULL, 0), 400);
	CHECK_EQ(put(rep, "a/b", "", doc, NOW, NULL, 0), 400);
	CHECK_EQ(put(rep, "branch-1", "", "{\"name\": \"branch-1\"}", NOW,
	    NULL, 0), 400);
	CHECK_EQ(put(rep, "branch-1", "", "[", NOW, NULL, 0), 400);
	buf_init(&big, 2 * MANIFEST_DOC_MAX);
	CHECK_EQ(buf_puts(&big, "{\"name\": \"branch-1\", \"pad\": \""), 0);
	while (big.len <= MANIFEST_DOC_MAX)
		CHECK_EQ(buf_puts(&big, "xxxxxxxxxxxxxxxx"), 0);
	CHECK_EQ(buf_puts(&big, "\"}"), 0);
	CHECK_EQ(put(rep, "branch-1", "", big.ptr, NOW, body, sizeof(body)),
	    413);
	buf_release(&big);
	CHECK_EQ(db_downstream_get(r.db, "branch-2", &d), -ENOENT);
	CHECK_EQ(db_downstream_get(r.db, "branch-1", &d), 0);
	CHECK_EQ(d.last_report, NOW + 120);
	db_downstreams_free(&d, 1);

	/* the schedule set for it comes with the answer */
	CHECK_EQ(report_schedule_set(r.db, "branch-1", "every 30m", 1), 0);
	CHECK_EQ(put(rep, "branch-1", "", doc, NOW, body, sizeof(body)), 200);
	CHECK(strcmp(body, "{\"schedule\": \"every 30m\", \"at_startup\": "
	    "true}\n") == 0);
	CHECK_EQ(report_schedule_set(r.db, "branch-1", "", 0), 0);
	CHECK_EQ(put(rep, "branch-1", "", doc, NOW, body, sizeof(body)), 200);
	CHECK(strcmp(body, "{\"schedule\": null, \"at_startup\": false}\n")
	    == 0);

	/* run now: taken once */
	CHECK_EQ(report_run_take(rep, "branch-1"), 0);
	CHECK_EQ(db_downstream_run(r.db, "branch-1", NOW), 0);
	CHECK_EQ(report_run_take(rep, "branch-1"), 1);
	CHECK_EQ(report_run_take(rep, "branch-1"), 0);
	free(it);
	free(doc);
	report_close(rep);
	report_close(NULL);
	repo_close(&r);
}

static void
test_files(void)
{
	struct repo			 r;
	struct report_view		*v = NULL;
	const struct report_downstream	*d;
	const struct report_file	*f;
	struct report_counts		 cnt;
	struct db_downstream		 row;
	char				 vp1[CRYPTO_SHA256_HEX];
	char				 vp2[CRYPTO_SHA256_HEX];
	char				 se[CRYPTO_SHA256_HEX];
	char				 cf[CRYPTO_SHA256_HEX];
	char				*its[4] = { NULL }, *doc, all[2048];
	struct buf			 b;
	size_t				 i;
	static const struct {
		const char	*name;
		int		 which;	/* what its inventory holds */
	}				 ds[] = {
		{ "cur", 0 }, { "old", 1 }, { "diff", 2 }, { "none", 3 },
		{ "lag", 4 }, { "newer", 5 }, { "empty", 6 },
	};

	CHECK_EQ(fresh_repo("files", "", &r), 0);
	CHECK_EQ(publish(&r, "virus-pattern", NULL, "one", vp1), 0);
	CHECK_EQ(publish(&r, "virus-pattern", NULL, "two", vp2), 0);
	CHECK_EQ(publish(&r, "scan-engine", NULL, "engine", se), 0);
	CHECK_EQ(publish(&r, "config/default", NULL, "conf", cf), 0);
	/* serial 4 */

	CHECK_EQ(report_build(r.db, &r.conf, NOW, NULL, &v), 0);
	CHECK(v != NULL && v->nds == 0);
	report_view_free(v);
	v = NULL;

	its[0] = item("main", "virus-pattern", 2, vp2);
	its[1] = item("main", "scan-engine", 1, se);
	its[2] = item("main", "config/default", 1, cf);
	snprintf(all, sizeof(all), "%s, %s, %s", its[0], its[1], its[2]);
	for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		memset(&row, 0, sizeof(row));
		snprintf(row.name, sizeof(row.name), "%s", ds[i].name);
		row.last_report = NOW - 60;
		switch (ds[i].which) {
		case 0:
			doc = inventory(ds[i].name, "\"main\": 4", all);
			break;
		case 1:
			free(its[3]);
			its[3] = item("main", "virus-pattern", 1, vp1);
			doc = inventory(ds[i].name, "\"main\": 2", its[3]);
			break;
		case 2:
			free(its[3]);
			its[3] = item("main", "virus-pattern", 2, vp1);
			snprintf(all, sizeof(all), "%s, %s, %s", its[3], its[1],
			    its[2]);
			doc = inventory(ds[i].name, "\"main\": 4", all);
			break;
		case 3:
			doc = inventory(ds[i].name, "\"local\": 3", "");
			break;
		case 4:
			snprintf(all, sizeof(all), "%s, %s, %s", its[0], its[1],
			    its[2]);
			doc = inventory(ds[i].name, "\"main\": 3", all);
			break;
		case 5:
			free(its[3]);
			its[3] = item("main", "virus-pattern", 3, H1);
			snprintf(all, sizeof(all), "%s, %s, %s", its[3], its[1],
			    its[2]);
			doc = inventory(ds[i].name, "\"main\": 9", all);
			break;
		default:
			doc = inventory(ds[i].name, "\"main\": 0", "");
			break;
		}
		row.inventory = doc;
		CHECK_EQ(db_downstream_report(r.db, &row), 0);
		free(doc);
	}

	CHECK_EQ(report_build(r.db, &r.conf, NOW, NULL, &v), 0);
	if (v == NULL)
		goto out;
	CHECK_EQ(v->nds, 7);
	/* holds all: current */
	d = find_ds(v, "cur");
	CHECK(d != NULL && d->state == REPORT_CURRENT && d->nfiles == 0 &&
	    d->why[0] == '\0');
	/* one old, two missing */
	d = find_ds(v, "old");
	CHECK(d != NULL && d->state == REPORT_BEHIND && d->missing == 2 &&
	    d->outdated == 1);
	CHECK(d != NULL && strcmp(d->why, "2 missing, 1 outdated") == 0);
	f = find_file(d, "virus-pattern");
	CHECK(f != NULL && f->held == 1 && f->should == 2 &&
	    strcmp(f->channel, "main") == 0);
	f = find_file(d, "scan-engine");
	CHECK(f != NULL && f->held == 0 && f->should == 1);
	/* in order: by component within the channel */
	CHECK(d != NULL && d->nfiles == 3 &&
	    strcmp(d->files[0].component, "config/default") == 0 &&
	    strcmp(d->files[2].component, "virus-pattern") == 0);
	/* the right version with other bytes: outdated at the same version */
	d = find_ds(v, "diff");
	f = find_file(d, "virus-pattern");
	CHECK(d != NULL && d->nfiles == 1 && f != NULL && f->held == 2 &&
	    f->should == 2);
	/* a channel it does not take: nothing expected */
	d = find_ds(v, "none");
	CHECK(d != NULL && d->state == REPORT_CURRENT && d->nfiles == 0);
	/* every file, but the channel's serial behind */
	d = find_ds(v, "lag");
	CHECK(d != NULL && d->state == REPORT_BEHIND && d->nfiles == 0 &&
	    strcmp(d->why, "channel main at serial 3 of 4") == 0);
	/* a newer version than this server's is not out of date */
	d = find_ds(v, "newer");
	CHECK(d != NULL && d->state == REPORT_CURRENT && d->nfiles == 0);
	/* takes the channel, holds nothing yet */
	d = find_ds(v, "empty");
	CHECK(d != NULL && d->missing == 3 && d->state == REPORT_BEHIND);
	report_count(v, &cnt);
	CHECK_EQ(cnt.total, 7);
	CHECK_EQ(cnt.current, 3);
	CHECK_EQ(cnt.behind, 4);
	CHECK_EQ(cnt.offline, 0);

	/* the JSON of the admin API */
	buf_init(&b, 1 << 20);
	CHECK_EQ(report_json_files(v, "old", &b), 0);
	CHECK(strcmp(b.ptr, "[{\"downstream\": \"old\", \"component\": "
	    "\"config/default\", \"channel\": \"main\", \"held\": null, "
	    "\"should\": 1, \"status\": \"missing\"},\n {\"downstream\": "
	    "\"old\", \"component\": \"scan-engine\", \"channel\": \"main\", "
	    "\"held\": null, \"should\": 1, \"status\": \"missing\"},\n "
	    "{\"downstream\": \"old\", \"component\": \"virus-pattern\", "
	    "\"channel\": \"main\", \"held\": 1, \"should\": 2, \"status\": "
	    "\"outdated\"}]\n") == 0);
	buf_reset(&b);
	CHECK_EQ(report_json_files(v, "cur", &b), 0);
	CHECK(strcmp(b.ptr, "[]\n") == 0);
	buf_reset(&b);
	d = find_ds(v, "lag");
	if (d != NULL)
		CHECK_EQ(report_json_downstream(d, 1, &b), 0);
	CHECK(strcmp(b.ptr, "{\"name\": \"lag\", \"address\": \"\", "
	    "\"edition\": null, \"last_report\": \"2026-11-22T09:59:00Z\", "
	    "\"channels\": {\"main\": 3}, \"schedule\": null, "
	    "\"at_startup\": false, \"run_requested\": null, \"components\": "
	    "3, \"missing\": 0, \"outdated\": 0, \"state\": \"behind\", "
	    "\"reason\": \"channel main at serial 3 of 4\", \"files\": []}")
	    == 0);
	buf_reset(&b);
	CHECK_EQ(report_json_downstreams(v, &b), 0);
	CHECK(strncmp(b.ptr, "[{\"name\": \"cur\"", 15) == 0);
	CHECK(strstr(b.ptr, "\"files\"") == NULL);
	buf_release(&b);
	/* one */
	report_view_free(v);
	v = NULL;
	CHECK_EQ(report_build(r.db, &r.conf, NOW, "old", &v), 0);
	CHECK(v != NULL && v->nds == 1 && v->ds[0].nfiles == 3);
	report_view_free(v);
	v = NULL;
	CHECK_EQ(report_build(r.db, &r.conf, NOW, "nobody", &v), -ENOENT);
	CHECK(v == NULL);
out:
	report_view_free(v);
	for (i = 0; i < 4; i++)
		free(its[i]);
	repo_close(&r);
}

/* What a downstream should hold follows the edition of the license it
 * reported with, as the server would serve it. */
static void
test_editions(void)
{
	struct repo			 r;
	struct report_view		*v = NULL;
	const struct report_downstream	*d;
	struct db_downstream		 row;
	char				 sha[CRYPTO_SHA256_HEX], *doc;
	size_t				 i;
	static const struct {
		const char	*name, *edition;
		size_t		 missing;
	}				 ds[] = {
		{ "open", "", 2 }, { "std", "standard", 1 },
		{ "prem", "premium", 2 }, { "gold", "gold", 0 },
	};

	CHECK_EQ(fresh_repo("editions", "[editions]\norder = standard, "
	    "premium\n", &r), 0);
	CHECK_EQ(publish(&r, "virus-pattern", "standard", "a", sha), 0);
	CHECK_EQ(publish(&r, "scan-engine", "premium", "b", sha), 0);
	for (i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
		memset(&row, 0, sizeof(row));
		snprintf(row.name, sizeof(row.name), "%s", ds[i].name);
		snprintf(row.edition, sizeof(row.edition), "%s",
		    ds[i].edition);
		row.last_report = NOW;
		doc = inventory(ds[i].name, "\"main\": 2", "");
		row.inventory = doc;
		CHECK_EQ(db_downstream_report(r.db, &row), 0);
		free(doc);
	}
	CHECK_EQ(report_build(r.db, &r.conf, NOW, NULL, &v), 0);
	for (i = 0; v != NULL && i < sizeof(ds) / sizeof(ds[0]); i++) {
		d = find_ds(v, ds[i].name);
		CHECK(d != NULL && d->missing == ds[i].missing);
	}
	d = v != NULL ? find_ds(v, "std") : NULL;
	CHECK(d != NULL && find_file(d, "scan-engine") == NULL &&
	    find_file(d, "virus-pattern") != NULL);
	report_view_free(v);
	repo_close(&r);
}

/* Offline after REPORT_OFFLINE_PERIODS periods of its schedule: by
 * default every 60m; the schedule set for it otherwise. */
static void
test_offline(void)
{
	struct repo			 r;
	struct report_view		*v = NULL;
	struct db_downstream		 row;
	char				*doc;

	CHECK_EQ(fresh_repo("offline", "", &r), 0);
	memset(&row, 0, sizeof(row));
	memcpy(row.name, "far", 4);
	row.last_report = NOW - 3 * 3600;
	doc = inventory("far", "", "");
	row.inventory = doc;
	CHECK_EQ(db_downstream_report(r.db, &row), 0);
	free(doc);

	CHECK_EQ(report_build(r.db, &r.conf, NOW, NULL, &v), 0);
	CHECK(v != NULL && v->nds == 1 && v->ds[0].state == REPORT_CURRENT);
	report_view_free(v);
	v = NULL;
	CHECK_EQ(report_build(r.db, &r.conf, NOW + 1, NULL, &v), 0);
	CHECK(v != NULL && v->nds == 1 && v->ds[0].state == REPORT_OFFLINE);
	if (v != NULL && v->nds == 1)
		CHECK(strcmp(v->ds[0].why, "no report for 3h (3 periods of "
		    "every 60m)") == 0);
	report_view_free(v);
	v = NULL;

	/* every 10m: offline after 30m; daily: after 3 days */
	CHECK_EQ(report_schedule_set(r.db, "far", "every 10m", 0), 0);
	CHECK_EQ(report_build(r.db, &r.conf, NOW - 3 * 3600 + 1801, NULL, &v),
	    0);
	CHECK(v != NULL && v->nds == 1 && v->ds[0].state == REPORT_OFFLINE &&
	    v->ds[0].scheduled);
	if (v != NULL && v->nds == 1)
		CHECK(strcmp(v->ds[0].why, "no report for 30m (3 periods of "
		    "every 10m)") == 0);
	report_view_free(v);
	v = NULL;
	CHECK_EQ(report_schedule_set(r.db, "far", "daily 02:00", 0), 0);
	CHECK_EQ(report_build(r.db, &r.conf, NOW + 86400, NULL, &v), 0);
	CHECK(v != NULL && v->nds == 1 && v->ds[0].state == REPORT_CURRENT);
	report_view_free(v);
	v = NULL;
	/* a schedule that does not read is ignored */
	CHECK_EQ(report_schedule_set(r.db, "far", "hourly", 0), 0);
	CHECK_EQ(report_build(r.db, &r.conf, NOW + 1, NULL, &v), 0);
	CHECK(v != NULL && v->nds == 1 && !v->ds[0].scheduled &&
	    v->ds[0].state == REPORT_OFFLINE);
	report_view_free(v);
	v = NULL;

	/* a document that does not read (the database changed behind the
	 * server's back): behind, and said so */
	memset(&row, 0, sizeof(row));
	memcpy(row.name, "broken", 7);
	row.last_report = NOW;
	row.inventory = (char *)"{";
	CHECK_EQ(db_downstream_report(r.db, &row), 0);
	CHECK_EQ(report_build(r.db, &r.conf, NOW, "broken", &v), 0);
	CHECK(v != NULL && v->nds == 1 && v->ds[0].inv == NULL &&
	    v->ds[0].state == REPORT_BEHIND);
	report_view_free(v);
	repo_close(&r);
}

static void
test_admin(void)
{
	struct report		*rep = NULL;
	struct repo		 r;
	struct db_downstream	 d;
	struct count		 c;
	char			 body[4096], sha[CRYPTO_SHA256_HEX];
	char			*doc;

	CHECK_EQ(fresh_repo("admin", "", &r), 0);
	CHECK_EQ(publish(&r, "virus-pattern", NULL, "x", sha), 0);
	CHECK_EQ(report_open(r.dir, &r.conf, &rep), 0);
	if (rep == NULL)
		return;
	doc = inventory("b1", "\"main\": 1", "");
	CHECK_EQ(put(rep, "b1", "", doc, NOW - 10, NULL, 0), 200);
	free(doc);

	CHECK_EQ(admin(rep, "GET", "downstreams", 0, NULL, body,
	    sizeof(body)), 200);
	CHECK(strncmp(body, "[{\"name\": \"b1\", \"address\": \"192.0.2.9\"",
	    38) == 0);
	CHECK(strstr(body, "\"missing\": 1, \"outdated\": 0, \"state\": "
	    "\"behind\"") != NULL);
	CHECK_EQ(admin(rep, "HEAD", "downstreams", 0, NULL, NULL, 0), 200);
	CHECK_EQ(admin(rep, "GET", "downstreams/b1", 0, NULL, body,
	    sizeof(body)), 200);
	CHECK(strstr(body, "\"files\": [{\"downstream\": \"b1\", "
	    "\"component\": \"virus-pattern\"") != NULL);
	CHECK_EQ(admin(rep, "GET", "downstreams/b2", 0, NULL, body,
	    sizeof(body)), 404);
	CHECK_EQ(admin(rep, "GET", "downstreams/B1", 0, NULL, body,
	    sizeof(body)), 400);
	CHECK_EQ(admin(rep, "GET", "reports/files", 0, NULL, body,
	    sizeof(body)), 200);
	CHECK(strcmp(body, "[{\"downstream\": \"b1\", \"component\": "
	    "\"virus-pattern\", \"channel\": \"main\", \"held\": null, "
	    "\"should\": 1, \"status\": \"missing\"}]\n") == 0);
	CHECK_EQ(admin(rep, "GET", "reports/files", 0, "b1", NULL, 0), 200);
	CHECK_EQ(admin(rep, "GET", "reports/files", 0, "b2", NULL, 0), 404);
	CHECK_EQ(admin(rep, "GET", "reports/files", 0, "B!", NULL, 0), 400);

	/* methods, paths */
	CHECK_EQ(admin(rep, "POST", "downstreams", 1, NULL, body,
	    sizeof(body)), 405);
	CHECK(strcmp(body, "method_not_allowed allow: GET, HEAD") == 0);
	CHECK_EQ(admin(rep, "PUT", "downstreams/b1", 1, NULL, body,
	    sizeof(body)), 405);
	CHECK(strcmp(body, "method_not_allowed allow: GET, HEAD, DELETE") ==
	    0);
	CHECK_EQ(admin(rep, "GET", "downstreams/b1/sync", 1, NULL, body,
	    sizeof(body)), 405);
	CHECK(strcmp(body, "method_not_allowed allow: POST") == 0);
	CHECK_EQ(admin(rep, "DELETE", "reports/files", 1, NULL, NULL, 0), 405);
	CHECK_EQ(admin(rep, "GET", "downstreams/b1/other", 1, NULL, NULL, 0),
	    404);
	CHECK_EQ(admin(rep, "GET", "downstreams/b1/sync/x", 1, NULL, NULL, 0),
	    404);
	CHECK_EQ(admin(rep, "GET", "reports", 1, NULL, NULL, 0), 404);
	CHECK_EQ(admin(rep, "GET", "reports/agents", 1, NULL, NULL, 0), 404);
	CHECK_EQ(admin(rep, "GET", "other", 1, NULL, NULL, 0), 404);

	/* a viewer may not write: nothing changes */
	CHECK_EQ(admin(rep, "POST", "downstreams/b1/sync", 0, NULL, body,
	    sizeof(body)), 403);
	CHECK(strcmp(body, "forbidden") == 0);
	CHECK_EQ(admin(rep, "DELETE", "downstreams/b1", 0, NULL, NULL, 0),
	    403);
	CHECK_EQ(db_downstream_get(r.db, "b1", &d), 0);
	CHECK_EQ(d.run_requested, 0);
	db_downstreams_free(&d, 1);

	/* run now */
	CHECK_EQ(admin(rep, "POST", "downstreams/b1/sync", 1, NULL, body,
	    sizeof(body)), 202);
	CHECK(strcmp(body, "{\"queued\": true}\n") == 0);
	CHECK_EQ(db_downstream_get(r.db, "b1", &d), 0);
	CHECK_EQ(d.run_requested, NOW);
	db_downstreams_free(&d, 1);
	CHECK_EQ(events_of(r.db, "downstream-run", &c), 1);
	CHECK(strcmp(c.last, "b1: run now asked by admin token 'ops'") == 0);
	CHECK_EQ(admin(rep, "GET", "downstreams/b1", 0, NULL, body,
	    sizeof(body)), 200);
	CHECK(strstr(body, "\"run_requested\": \"2026-11-22T10:00:00Z\"") !=
	    NULL);
	CHECK_EQ(admin(rep, "POST", "downstreams/b2/sync", 1, NULL, NULL, 0),
	    404);

	/* remove */
	CHECK_EQ(admin(rep, "DELETE", "downstreams/b1", 1, NULL, body,
	    sizeof(body)), 204);
	CHECK_EQ(admin(rep, "DELETE", "downstreams/b1", 1, NULL, NULL, 0),
	    404);
	CHECK_EQ(events_of(r.db, "downstream-removed", &c), 1);
	CHECK_EQ(admin(rep, "GET", "downstreams", 0, NULL, body,
	    sizeof(body)), 200);
	CHECK(strcmp(body, "[]\n") == 0);
	report_close(rep);
	repo_close(&r);
}

static void
test_summary(void)
{
	struct report		*rep = NULL;
	struct report_counts	 cnt;
	struct repo		 r;
	char			*doc;

	CHECK_EQ(fresh_repo("summary", "", &r), 0);
	CHECK_EQ(report_open(r.dir, &r.conf, &rep), 0);
	if (rep == NULL)
		return;
	CHECK_EQ(report_summary(rep, &cnt), 0);
	CHECK_EQ(cnt.total, 0);
	doc = inventory("s1", "", "");
	CHECK_EQ(put(rep, "s1", "", doc, time(NULL), NULL, 0), 200);
	free(doc);
	doc = inventory("s2", "", "");
	CHECK_EQ(put(rep, "s2", "", doc, time(NULL) - 4 * 3600, NULL, 0), 200);
	free(doc);
	CHECK_EQ(report_summary(rep, &cnt), 0);
	CHECK_EQ(cnt.total, 2);
	CHECK_EQ(cnt.current, 1);
	CHECK_EQ(cnt.offline, 1);
	report_close(rep);
	repo_close(&r);
}

/* Runs a command with stdout to a file; the exit status, the output in
 * out. */
static int
run_cli(int (*fn)(int, char **), char **argv, char *out, size_t outsize)
{
	const char	*path = check_path("cli.out");
	FILE		*f;
	int		 argc = 0, rc, saved;
	size_t		 n;

	while (argv[argc] != NULL)
		argc++;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	if (saved < 0 || freopen(path, "w", stdout) == NULL)
		abort();
	rc = fn(argc, argv);
	fflush(stdout);
	if (dup2(saved, STDOUT_FILENO) < 0)
		abort();
	close(saved);
	out[0] = '\0';
	f = fopen(path, "r");
	if (f != NULL) {
		n = fread(out, 1, outsize - 1, f);
		out[n] = '\0';
		fclose(f);
	}
	return rc;
}

static void
test_cli(void)
{
	struct repo	 r;
	struct db_downstream d;
	char		 out[8192], sha[CRYPTO_SHA256_HEX], *doc, *it;
	char		 dir[FS_PATH_MAX];

	CHECK_EQ(fresh_repo("cli", "", &r), 0);
	snprintf(dir, sizeof(dir), "%s", r.dir);
	CHECK_EQ(publish(&r, "virus-pattern", NULL, "v1", sha), 0);
	CHECK_EQ(publish(&r, "virus-pattern", NULL, "v2", NULL), 0);
	{
		char *a[] = { "report", "files", "-d", dir, NULL };

		CHECK_EQ(run_cli(report_cli, a, out, sizeof(out)), 0);
		CHECK(strstr(out, "no downstream server has reported") !=
		    NULL);
	}
	memset(&d, 0, sizeof(d));
	memcpy(d.name, "branch", 7);
	memcpy(d.address, "::1", 4);
	d.last_report = (int64_t)time(NULL);
	it = item("main", "virus-pattern", 1, sha);
	doc = inventory("branch", "\"main\": 1", it);
	d.inventory = doc;
	CHECK_EQ(db_downstream_report(r.db, &d), 0);
	free(doc);
	free(it);
	{
		char *a[] = { "report", "files", "-d", dir, NULL };

		CHECK_EQ(run_cli(report_cli, a, out, sizeof(out)), 0);
		CHECK(strstr(out, "downstream branch (::1): behind, last "
		    "report ") != NULL);
		CHECK(strstr(out, "; 0 missing, 1 outdated\n") != NULL);
		CHECK(strstr(out, "  virus-pattern                    main  "
		    "       held 1        should 2        outdated\n") != NULL);
		CHECK(strstr(out, "1 downstream: 0 current, 1 behind, 0 "
		    "offline\n") != NULL);
	}
	{
		char *a[] = { "report", "-d", dir, "files", "--json",
		    "--downstream", "branch", NULL };

		CHECK_EQ(run_cli(report_cli, a, out, sizeof(out)), 0);
		CHECK(strcmp(out, "[{\"downstream\": \"branch\", "
		    "\"component\": \"virus-pattern\", \"channel\": \"main\", "
		    "\"held\": 1, \"should\": 2, \"status\": \"outdated\"}]\n")
		    == 0);
	}
	{
		char *a[] = { "downstreams", "-d", dir, NULL };

		CHECK_EQ(run_cli(report_downstreams_cli, a, out, sizeof(out)),
		    0);
		CHECK(strncmp(out, "NAME ", 5) == 0);
		CHECK(strstr(out, "\nbranch               behind   ::1") !=
		    NULL);
		CHECK(strstr(out, "its own") != NULL);
	}
	{
		char *a[] = { "downstreams", "-d", dir, "run", "branch",
		    NULL };

		CHECK_EQ(run_cli(report_downstreams_cli, a, out, sizeof(out)),
		    0);
		CHECK_EQ(db_downstream_run_take(r.db, "branch"), 1);
	}
	{
		char *a[] = { "downstreams", "-d", dir, "schedule", "branch",
		    "every 120m", "--at-startup", NULL };
		struct manifest_inventory_answer ans;

		CHECK_EQ(run_cli(report_downstreams_cli, a, out, sizeof(out)),
		    0);
		CHECK(strstr(out, "every 2h") != NULL);
		CHECK_EQ(report_schedule_of(r.db, "branch", &ans), 0);
		CHECK(ans.scheduled && ans.at_startup &&
		    ans.schedule.every == 7200);
	}
	{
		char *a[] = { "downstreams", "-d", dir, "--json", NULL };

		CHECK_EQ(run_cli(report_downstreams_cli, a, out, sizeof(out)),
		    0);
		CHECK(strstr(out, "\"schedule\": \"every 2h\", \"at_startup\": "
		    "true") != NULL);
	}
	{
		char *a[] = { "downstreams", "-d", dir, "schedule", "branch",
		    "none", NULL };
		struct manifest_inventory_answer ans;

		CHECK_EQ(run_cli(report_downstreams_cli, a, out, sizeof(out)),
		    0);
		CHECK_EQ(report_schedule_of(r.db, "branch", &ans), 0);
		CHECK_EQ(ans.scheduled, 0);
	}
	{
		char *a[] = { "downstreams", "-d", dir, "remove", "branch",
		    NULL };

		CHECK_EQ(run_cli(report_downstreams_cli, a, out, sizeof(out)),
		    0);
		CHECK_EQ(run_cli(report_downstreams_cli, a, out, sizeof(out)),
		    1);
	}
	/* usage and refusals */
	{
		char *a1[] = { "report", "-d", dir, NULL };
		char *a2[] = { "report", "-d", dir, "agents", NULL };
		char *a3[] = { "report", "-d", dir, "files", "--bogus", NULL };
		char *a4[] = { "report", "-d", dir, "files", "--downstream",
		    "B!", NULL };
		char *a5[] = { "downstreams", "-d", dir, "run", NULL };
		char *a6[] = { "downstreams", "-d", dir, "frob", "x", NULL };
		char *a7[] = { "downstreams", "-d", dir, "--json", "run", "x",
		    NULL };
		char *a8[] = { "downstreams", "-d", dir, "run", "Bad!", NULL };
		char *a9[] = { "downstreams", "-d", dir, "schedule", "x",
		    "hourly", NULL };
		char *a10[] = { "downstreams", "-d", dir, "--at-startup",
		    NULL };
		char *a11[] = { "downstreams", "-d", dir, "--downstream", "x",
		    NULL };

		CHECK_EQ(run_cli(report_cli, a1, out, sizeof(out)), 2);
		CHECK_EQ(run_cli(report_cli, a2, out, sizeof(out)), 2);
		CHECK_EQ(run_cli(report_cli, a3, out, sizeof(out)), 2);
		CHECK_EQ(run_cli(report_cli, a4, out, sizeof(out)), 2);
		CHECK_EQ(run_cli(report_downstreams_cli, a5, out,
		    sizeof(out)), 2);
		CHECK_EQ(run_cli(report_downstreams_cli, a6, out,
		    sizeof(out)), 2);
		CHECK_EQ(run_cli(report_downstreams_cli, a7, out,
		    sizeof(out)), 2);
		CHECK_EQ(run_cli(report_downstreams_cli, a8, out,
		    sizeof(out)), 1);
		CHECK_EQ(run_cli(report_downstreams_cli, a9, out,
		    sizeof(out)), 2);
		CHECK_EQ(run_cli(report_downstreams_cli, a10, out,
		    sizeof(out)), 2);
		CHECK_EQ(run_cli(report_downstreams_cli, a11, out,
		    sizeof(out)), 2);
	}
	repo_close(&r);
}

int
main(void)
{
	int	 rc;

	if (check_tmpdir_init("test_report") < 0)
		return 1;
	RUN(test_names);
	RUN(test_endpoint);
	RUN(test_files);
	RUN(test_editions);
	RUN(test_offline);
	RUN(test_admin);
	RUN(test_summary);
	RUN(test_cli);
	rc = check_end();
	check_rm_rf(check_tmpdir);
	return rc;
}
