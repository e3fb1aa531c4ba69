/*
 * report: downstream servers and the file status report; see report.h.
 *
 * As in agents.c, each endpoint is a function from its inputs (name,
 * body, peer, ...) to an answer (status and JSON body, or an error), so
 * that the logic is tested without HTTP; the handlers only map a request
 * to one of them.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs.h"
#include "log.h"
#include "report.h"
#include "repo.h"
#include "ts.h"
#include "banned.h"

#define REPORT_ANSWER_MAX	(64u << 20)	/* a report of many downstreams */
#define REPORT_DETAIL_MAX	256

const char *
report_state_name(enum report_state s)
{
	switch (s) {
	case REPORT_CURRENT:	return "current";
	case REPORT_BEHIND:	return "behind";
	case REPORT_OFFLINE:	return "offline";
	}
	return "unknown";
}

/* ---- the schedule of a downstream -------------------------------------- */

/* "downstream/NAME" in target; -E2BIG when no such target can be. */
static int
report_target(const char *name, char target[DB_SCHEDULE_TARGET_MAX + 1])
{
	if ((size_t)snprintf(target, DB_SCHEDULE_TARGET_MAX + 1, "%s%s",
	    REPORT_TARGET_PREFIX, name) > DB_SCHEDULE_TARGET_MAX)
		return -E2BIG;
	return 0;
}

/* Sets (text "": removes) the schedule row of downstream name. */
static int
report_schedule_set(struct db *db, const char *name, const char *text,
    int at_startup)
{
	struct db_schedule	 row;
	int			 e;

	memset(&row, 0, sizeof(row));
	e = report_target(name, row.target);
	if (e < 0)
		return e;
	if (text[0] == '\0') {
		e = db_schedule_remove(db, row.target);
		return e == -ENOENT ? 0 : e;
	}
	if (strlen(text) > DB_SCHEDULE_TEXT_MAX)
		return -E2BIG;
	memcpy(row.schedule, text, strlen(text) + 1);
	row.at_startup = at_startup != 0;
	return db_schedule_set(db, &row);
}

int
report_schedule_of(struct db *db, const char *name,
    struct manifest_inventory_answer *ret_a)
{
	struct db_schedule	 row;
	char			 target[DB_SCHEDULE_TARGET_MAX + 1];
	int			 e;

	memset(ret_a, 0, sizeof(*ret_a));
	if (report_target(name, target) < 0)
		return 0;		/* no such target can be set */
	e = db_schedule_get(db, target, &row);
	if (e == -ENOENT)
		return 0;
	if (e < 0)
		return e;
	/* a row whose text does not parse is ignored (db.h) */
	if (conf_schedule_parse(row.schedule, &ret_a->schedule) == 0) {
		ret_a->scheduled = 1;
		ret_a->at_startup = row.at_startup != 0;
	}
	return 0;
}

/* ---- the report -------------------------------------------------------- */

/* This server's current versions, per channel. */
struct report_channel {
	char			 name[MANIFEST_NAME_MAX + 1];
	uint64_t		 serial;
	struct db_version	*v;
	size_t			 nv;
};

struct report_ref {
	struct report_channel	*ch;
	size_t			 nch;
};

static void
report_ref_release(struct report_ref *ref)
{
	size_t	 i;

	for (i = 0; i < ref->nch; i++)
		free(ref->ch[i].v);
	free(ref->ch);
	memset(ref, 0, sizeof(*ref));
}

static int
report_ref_load(struct db *db, struct report_ref *ref)
{
	char	(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	size_t	 n = 0, i;
	int	 e;

	memset(ref, 0, sizeof(*ref));
	e = db_channels(db, &names, &n);
	if (e < 0)
		return e;
	if (n > 0 && (ref->ch = calloc(n, sizeof(*ref->ch))) == NULL) {
		free(names);
		return -ENOMEM;
	}
	for (i = 0; e == 0 && i < n; i++) {
		struct report_channel *c = &ref->ch[i];

		memcpy(c->name, names[i], sizeof(c->name));
		ref->nch++;
		e = db_channel_serial(db, c->name, &c->serial);
		if (e == 0)
			e = db_current(db, c->name, &c->v, &c->nv);
	}
	free(names);
	if (e < 0)
		report_ref_release(ref);
	return e;
}

/* 1 if a downstream that reported with a license of edition `edition`
 * should hold a component of edition `of`, as serve.c would give it. */
static int
report_expects(const struct conf *c, const char *edition, const char *of)
{
	int	 mine, theirs;

	if (edition[0] == '\0')
		return 1;		/* reported to an open server */
	mine = conf_edition_rank(c, edition);
	theirs = conf_edition_rank(c, of);
	return mine >= 0 && theirs >= 0 && theirs <= mine;
}

static int
report_file_add(struct report_downstream *d, const char *channel,
    const struct db_version *v, uint64_t held)
{
	struct report_file	*nf, *f;

	nf = realloc(d->files, (d->nfiles + 1) * sizeof(*nf));
	if (nf == NULL)
		return -ENOMEM;
	d->files = nf;
	f = &nf[d->nfiles++];
	memset(f, 0, sizeof(*f));
	memcpy(f->channel, channel, strlen(channel) + 1);
	memcpy(f->component, v->component, strlen(v->component) + 1);
	f->held = held;
	f->should = v->version;
	if (held == 0)
		d->missing++;
	else
		d->outdated++;
	return 0;
}

/* "3h", "2d": how long ago, for reasons. */
static void
report_age(int64_t secs, char *out, size_t size)
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

/* Compares one downstream with ref: its files, state and reason. */
static int
report_compare(const struct report_ref *ref, const struct conf *c,
    time_t now, struct report_downstream *d)
{
	const struct manifest_inventory_item	*it;
	char					 sched[CONF_SCHEDULE_TEXT_MAX];
	char					 age[32];
	const char				*lag = NULL;
	uint64_t				 held, lag_held = 0, lag_should = 0;
	int64_t					 period;
	size_t					 i, j;
	int					 e;

	for (i = 0; d->inv != NULL && i < ref->nch; i++) {
		const struct report_channel *ch = &ref->ch[i];

		if (manifest_inventory_channel(d->inv, ch->name, &held) < 0)
			continue;	/* a channel it does not take */
		if (held < ch->serial && lag == NULL) {
			lag = ch->name;
			lag_held = held;
			lag_should = ch->serial;
		}
		for (j = 0; j < ch->nv; j++) {
			const struct db_version *v = &ch->v[j];

			if (!report_expects(c, d->row.edition, v->edition))
				continue;
			it = manifest_inventory_find(d->inv, ch->name,
			    v->component);
			if (it != NULL && (it->version > v->version ||
			    (it->version == v->version &&
			    strcmp(it->sha256, v->sha256) == 0)))
				continue;	/* current */
			e = report_file_add(d, ch->name, v,
			    it != NULL ? it->version : 0);
			if (e < 0)
				return e;
		}
	}
	period = d->scheduled ? conf_schedule_period(&d->schedule) :
	    REPORT_PERIOD_DEFAULT;
	if ((int64_t)now - d->row.last_report >
	    REPORT_OFFLINE_PERIODS * period) {
		d->state = REPORT_OFFLINE;
		report_age((int64_t)now - d->row.last_report, age, sizeof(age));
		if (d->scheduled)
			conf_schedule_format(&d->schedule, sched);
		snprintf(d->why, sizeof(d->why), "no report for %s (%d "
		    "periods of %s)", age, REPORT_OFFLINE_PERIODS,
		    d->scheduled ? sched : "every 60m");
	} else if (d->inv == NULL) {
		d->state = REPORT_BEHIND;
		snprintf(d->why, sizeof(d->why), "its last report does not "
		    "read");
	} else if (d->nfiles > 0) {
		d->state = REPORT_BEHIND;
		snprintf(d->why, sizeof(d->why), "%zu missing, %zu outdated",
		    d->missing, d->outdated);
	} else if (lag != NULL) {
		d->state = REPORT_BEHIND;
		snprintf(d->why, sizeof(d->why), "channel %s at serial %llu "
		    "of %llu", lag, (unsigned long long)lag_held,
		    (unsigned long long)lag_should);
	} else
		d->state = REPORT_CURRENT;
	return 0;
}

void
report_view_free(struct report_view *v)
{
	size_t	 i;

	if (v == NULL)
		return;
	for (i = 0; i < v->nds; i++) {
		db_downstreams_free(&v->ds[i].row, 1);
		manifest_inventory_free(v->ds[i].inv);
		free(v->ds[i].files);
	}
	free(v->ds);
	free(v);
}

int
report_build(struct db *db, const struct conf *c, time_t now,
    const char *only, struct report_view **ret_v)
{
	struct report_view	*v;
	struct report_ref	 ref;
	struct db_downstream	*rows = NULL, one;
	size_t			 n = 0, i;
	int			 e;

	if (only != NULL) {
		e = db_downstream_get(db, only, &one);
		if (e < 0)
			return e;
		rows = malloc(sizeof(*rows));
		if (rows == NULL) {
			db_downstreams_free(&one, 1);
			return -ENOMEM;
		}
		rows[0] = one;
		n = 1;
	} else {
		e = db_downstreams(db, &rows, &n);
		if (e < 0)
			return e;
	}
	v = calloc(1, sizeof(*v));
	if (v == NULL || (n > 0 && (v->ds = calloc(n, sizeof(*v->ds))) ==
	    NULL)) {
		free(v);
		db_downstreams_free(rows, n);
		free(rows);
		return -ENOMEM;
	}
	/* the rows move into the view, which frees them from here on */
	for (i = 0; i < n; i++)
		v->ds[i].row = rows[i];
	v->nds = n;
	free(rows);
	e = report_ref_load(db, &ref);
	if (e < 0) {
		report_view_free(v);
		return e;
	}
	for (i = 0; e == 0 && i < n; i++) {
		struct report_downstream *d = &v->ds[i];
		struct manifest_inventory_answer a;
		const char *doc = d->row.inventory;

		/* kept as the server re-emitted it: it parses, unless the
		 * database was changed behind the server's back */
		if (manifest_inventory_parse(doc, strlen(doc), &d->inv, NULL,
		    0) == -ENOMEM)
			e = -ENOMEM;
		if (e == 0)
			e = report_schedule_of(db, d->row.name, &a);
		if (e == 0) {
			d->scheduled = a.scheduled;
			d->schedule = a.schedule;
			d->at_startup = a.at_startup;
			e = report_compare(&ref, c, now, d);
		}
	}
	report_ref_release(&ref);
	if (e < 0) {
		report_view_free(v);
		return e;
	}
	*ret_v = v;
	return 0;
}

void
report_count(const struct report_view *v, struct report_counts *ret)
{
	size_t	 i;

	memset(ret, 0, sizeof(*ret));
	for (i = 0; i < v->nds; i++) {
		ret->total++;
		switch (v->ds[i].state) {
		case REPORT_CURRENT:	ret->current++; break;
		case REPORT_BEHIND:	ret->behind++; break;
		case REPORT_OFFLINE:	ret->offline++; break;
		}
	}
}

/* ---- JSON -------------------------------------------------------------- */

/* A time as an RFC 3339 string, or null for 0. */
static int
report_json_time(struct buf *b, int64_t t)
{
	char	 s[TS_LEN + 1];

	if (t == 0)
		return buf_puts(b, "null");
	ts_format((time_t)t, s);
	return buf_json_str(b, s);
}

static int
report_json_file(struct buf *b, const char *downstream,
    const struct report_file *f)
{
	int	 e;

	e = buf_puts(b, "{\"downstream\": ");
	if (e == 0)
		e = buf_json_str(b, downstream);
	if (e == 0)
		e = buf_puts(b, ", \"component\": ");
	if (e == 0)
		e = buf_json_str(b, f->component);
	if (e == 0)
		e = buf_puts(b, ", \"channel\": ");
	if (e == 0)
		e = buf_json_str(b, f->channel);
	if (e == 0 && f->held == 0)
		e = buf_puts(b, ", \"held\": null");
	else if (e == 0)
		e = buf_printf(b, ", \"held\": %llu",
		    (unsigned long long)f->held);
	if (e == 0)
		e = buf_printf(b, ", \"should\": %llu, \"status\": \"%s\"}",
		    (unsigned long long)f->should,
		    f->held == 0 ? "missing" : "outdated");
	return e;
}

int
report_json_downstream(const struct report_downstream *d, int with_files,
    struct buf *out)
{
	char	 sched[CONF_SCHEDULE_TEXT_MAX];
	size_t	 old = out->len, i;
	int	 e;

	e = buf_puts(out, "{\"name\": ");
	if (e == 0)
		e = buf_json_str(out, d->row.name);
	if (e == 0)
		e = buf_puts(out, ", \"address\": ");
	if (e == 0)
		e = buf_json_str(out, d->row.address);
	if (e == 0)
		e = buf_puts(out, ", \"edition\": ");
	if (e == 0)
		e = d->row.edition[0] != '\0' ?
		    buf_json_str(out, d->row.edition) : buf_puts(out, "null");
	if (e == 0)
		e = buf_puts(out, ", \"last_report\": ");
	if (e == 0)
		e = report_json_time(out, d->row.last_report);
	if (e == 0)
		e = buf_puts(out, ", \"channels\": {");
	for (i = 0; e == 0 && d->inv != NULL && i < d->inv->nch; i++) {
		e = buf_puts(out, i > 0 ? ", " : "");
		if (e == 0)
			e = buf_json_str(out, d->inv->ch[i].name);
		if (e == 0)
			e = buf_printf(out, ": %llu",
			    (unsigned long long)d->inv->ch[i].serial);
	}
	if (e == 0)
		e = buf_puts(out, "}, \"schedule\": ");
	if (e == 0 && d->scheduled) {
		conf_schedule_format(&d->schedule, sched);
		e = buf_json_str(out, sched);
	} else if (e == 0)
		e = buf_puts(out, "null");
	if (e == 0)
		e = buf_printf(out, ", \"at_startup\": %s, \"run_requested\": ",
		    d->scheduled && d->at_startup ? "true" : "false");
	if (e == 0)
		e = report_json_time(out, d->row.run_requested);
	if (e == 0)
		e = buf_printf(out, ", \"components\": %zu, \"missing\": %zu, "
		    "\"outdated\": %zu, \"state\": \"%s\", \"reason\": ",
		    d->inv != NULL ? d->inv->nitems : 0, d->missing,
		    d->outdated, report_state_name(d->state));
	if (e == 0)
		e = buf_json_str(out, d->why);
	if (e == 0 && with_files) {
		e = buf_puts(out, ", \"files\": [");
		for (i = 0; e == 0 && i < d->nfiles; i++) {
			e = buf_puts(out, i > 0 ? ", " : "");
			if (e == 0)
				e = report_json_file(out, d->row.name,
				    &d->files[i]);
		}
		if (e == 0)
			e = buf_puts(out, "]");
	}
	if (e == 0)
		e = buf_puts(out, "}");
	if (e < 0 && out->ptr != NULL) {
		out->len = old;
		out->ptr[old] = '\0';
	}
	return e;
}

int
report_json_downstreams(const struct report_view *v, struct buf *out)
{
	size_t	 i;
	int	 e;

	e = buf_puts(out, "[");
	for (i = 0; e == 0 && i < v->nds; i++) {
		e = buf_puts(out, i > 0 ? ",\n " : "");
		if (e == 0)
			e = report_json_downstream(&v->ds[i], 0, out);
	}
	if (e == 0)
		e = buf_puts(out, "]\n");
	return e;
}

int
report_json_files(const struct report_view *v, const char *only,
    struct buf *out)
{
	size_t	 i, j;
	int	 e, first = 1;

	e = buf_puts(out, "[");
	for (i = 0; e == 0 && i < v->nds; i++) {
		if (only != NULL && strcmp(v->ds[i].row.name, only) != 0)
			continue;
		for (j = 0; e == 0 && j < v->ds[i].nfiles; j++) {
			e = buf_puts(out, first ? "" : ",\n ");
			first = 0;
			if (e == 0)
				e = report_json_file(out, v->ds[i].row.name,
				    &v->ds[i].files[j]);
		}
	}
	if (e == 0)
		e = buf_puts(out, "]\n");
	return e;
}

/* ---- the server's side ------------------------------------------------- */

struct report {
	pthread_mutex_t	 lock;		/* db and conf */
	struct db	*db;
	struct conf	*conf;		/* a copy */
};

/* What an endpoint answers: a JSON body (status 2xx) or an error. */
struct report_answer {
	unsigned	 status;
	const char	*error;		/* NULL: success */
	char		 detail[REPORT_DETAIL_MAX];
	const char	*allow;		/* with 405 */
	struct buf	 body;
};

static void
report_answer_init(struct report_answer *ans)
{
	memset(ans, 0, sizeof(*ans));
	buf_init(&ans->body, REPORT_ANSWER_MAX);
}

static int
report_fail(struct report_answer *ans, unsigned status, const char *error,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sets an error answer; returns -1 for the caller to return. */
static int
report_fail(struct report_answer *ans, unsigned status, const char *error,
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
report_internal(struct report_answer *ans, int e, const char *what)
{
	log_errno(e, "report: cannot %s", what);
	return report_fail(ans, 500, "internal", "the server cannot %s",
	    what);
}

int
report_open(const char *dir, const struct conf *c, struct report **ret_rep)
{
	struct report	*rep;
	char		 path[FS_PATH_MAX];
	int		 e;

	e = fs_path(path, sizeof(path), "%s/state.db", dir);
	if (e < 0)
		return e;
	rep = calloc(1, sizeof(*rep));
	if (rep == NULL)
		return -ENOMEM;
	rep->conf = malloc(sizeof(*rep->conf));
	if (rep->conf == NULL) {
		free(rep);
		return -ENOMEM;
	}
	*rep->conf = *c;
	e = db_open(path, c->state, 0, &rep->db);
	if (e == 0 && pthread_mutex_init(&rep->lock, NULL) != 0)
		e = -ENOMEM;
	if (e < 0) {
		db_close(rep->db);
		free(rep->conf);
		free(rep);
		return e;
	}
	*ret_rep = rep;
	return 0;
}

void
report_close(struct report *rep)
{
	if (rep == NULL)
		return;
	pthread_mutex_destroy(&rep->lock);
	db_close(rep->db);
	free(rep->conf);
	free(rep);
}

void
report_set_conf(struct report *rep, const struct conf *c)
{
	pthread_mutex_lock(&rep->lock);
	*rep->conf = *c;
	pthread_mutex_unlock(&rep->lock);
}

static int
report_bad_name(struct report_answer *ans, const char *name)
{
	if (conf_valid_name(name, 0))
		return 0;
	return report_fail(ans, 400, "bad_request", "a downstream name is "
	    "lower-case letters, digits, '.', '-' and '_', starting with a "
	    "letter or digit, up to %d characters", MANIFEST_NAME_MAX);
}

/* PUT /v1/downstreams/{name}/inventory */
static int
report_inventory(struct report *rep, const char *name, const char *edition,
    const char *peer, const char *body, size_t len, time_t now,
    struct report_answer *ans)
{
	struct manifest_inventory_answer	 a;
	struct manifest_inventory		*inv = NULL;
	struct db_downstream			 d, old;
	struct buf				 doc;
	char					 err[REPORT_DETAIL_MAX];
	char					 detail[DB_EVENT_DETAIL_MAX + 1];
	int					 e, had = 0, changed = 1;

	if (report_bad_name(ans, name) < 0)
		return -1;
	err[0] = '\0';
	e = manifest_inventory_parse(body, len, &inv, err, sizeof(err));
	if (e == -E2BIG)
		return report_fail(ans, 413, "too_large", "inventory too "
		    "large: %s", err[0] != '\0' ? err : "over the caps");
	if (e == -ENOMEM)
		return report_internal(ans, e, "read an inventory");
	if (e < 0)
		return report_fail(ans, 400, "bad_request", "bad inventory: "
		    "%s", err[0] != '\0' ? err : "malformed");
	if (strcmp(inv->name, name) != 0) {
		report_fail(ans, 400, "bad_request", "the inventory is of "
		    "'%s', not of '%s'", inv->name, name);
		manifest_inventory_free(inv);
		return -1;
	}
	/* kept as re-emitted: what parsed emits within MANIFEST_DOC_MAX */
	buf_init(&doc, MANIFEST_DOC_MAX);
	e = manifest_inventory_emit(inv, &doc);
	if (e < 0) {
		manifest_inventory_free(inv);
		buf_release(&doc);
		return report_internal(ans, e, "write an inventory");
	}
	memset(&d, 0, sizeof(d));
	memcpy(d.name, name, strlen(name) + 1);
	snprintf(d.address, sizeof(d.address), "%s", peer);
	snprintf(d.edition, sizeof(d.edition), "%s", edition);
	d.last_report = (int64_t)now;
	d.inventory = doc.ptr != NULL ? doc.ptr : (char *)"";
	snprintf(detail, sizeof(detail), "%s from %s: %zu channel%s, %zu "
	    "component%s", name, peer[0] != '\0' ? peer : "an unknown address",
	    inv->nch, inv->nch == 1 ? "" : "s", inv->nitems,
	    inv->nitems == 1 ? "" : "s");

	pthread_mutex_lock(&rep->lock);
	e = db_begin(rep->db);
	if (e == 0) {
		e = db_downstream_get(rep->db, name, &old);
		had = e == 0;
		if (e == -ENOENT)
			e = 0;
	}
	/* only a change is history: a mirror reports after every pass */
	if (had) {
		changed = strcmp(old.inventory, d.inventory) != 0;
		db_downstreams_free(&old, 1);
	}
	if (e == 0)
		e = db_downstream_report(rep->db, &d);
	if (e == 0 && changed)
		e = db_event_add(rep->db, "downstream-report", "", detail);
	if (e == 0)
		e = db_commit(rep->db);
	else
		db_rollback(rep->db);
	if (e == 0)
		e = report_schedule_of(rep->db, name, &a);
	pthread_mutex_unlock(&rep->lock);
	manifest_inventory_free(inv);
	buf_release(&doc);
	if (e < 0)
		return report_internal(ans, e, "record an inventory");
	if (!had)
		log_info("downstream %s", detail);
	e = manifest_inventory_answer_emit(&a, &ans->body);
	if (e < 0)
		return report_internal(ans, e, "write an inventory answer");
	ans->status = 200;
	return 0;
}

int
report_run_take(struct report *rep, const char *name)
{
	int	 e;

	pthread_mutex_lock(&rep->lock);
	e = db_downstream_run_take(rep->db, name);
	pthread_mutex_unlock(&rep->lock);
	return e;
}

/* GET /v1/admin/downstreams[/{name}], /v1/admin/reports/files */
static int
report_get(struct report *rep, const char *only, int what, time_t now,
    struct report_answer *ans)
{
	struct report_view	*v = NULL;
	int			 e;

	pthread_mutex_lock(&rep->lock);
	e = report_build(rep->db, rep->conf, now, only, &v);
	pthread_mutex_unlock(&rep->lock);
	if (e == -ENOENT)
		return report_fail(ans, 404, "not_found", "no downstream '%s'",
		    only);
	if (e < 0)
		return report_internal(ans, e, "build the report");
	if (what == 0)
		e = report_json_downstreams(v, &ans->body);
	else if (what == 1)
		e = report_json_downstream(&v->ds[0], 1, &ans->body);
	else
		e = report_json_files(v, only, &ans->body);
	if (e == 0 && what == 1)
		e = buf_puts(&ans->body, "\n");
	report_view_free(v);
	if (e < 0)
		return report_internal(ans, e, "write the report");
	ans->status = 200;
	return 0;
}

/* POST /v1/admin/downstreams/{name}/sync, DELETE /v1/admin/downstreams/{name} */
static int
report_change(struct report *rep, const char *name, int run, time_t now,
    const char *by, struct report_answer *ans)
{
	char	 detail[DB_EVENT_DETAIL_MAX + 1];
	int	 e;

	snprintf(detail, sizeof(detail), "%s: %s by %s", name, run ?
	    "run now asked" : "removed", by != NULL ? by : "the admin API");
	pthread_mutex_lock(&rep->lock);
	e = db_begin(rep->db);
	if (e == 0)
		e = run ? db_downstream_run(rep->db, name, (int64_t)now) :
		    db_downstream_remove(rep->db, name);
	if (e == 0)
		e = db_event_add(rep->db, run ? "downstream-run" :
		    "downstream-removed", "", detail);
	if (e == 0)
		e = db_commit(rep->db);
	else
		db_rollback(rep->db);
	pthread_mutex_unlock(&rep->lock);
	if (e == -ENOENT)
		return report_fail(ans, 404, "not_found", "no downstream '%s'",
		    name);
	if (e < 0)
		return report_internal(ans, e, run ? "ask for a run" :
		    "remove a downstream");
	log_info("downstream %s", detail);
	if (!run) {
		ans->status = 204;
		return 0;
	}
	e = buf_puts(&ans->body, "{\"queued\": true}\n");
	if (e < 0)
		return report_internal(ans, e, "answer");
	ans->status = 202;
	return 0;
}

static void
report_reply(struct http_request *req, struct report_answer *ans)
{
	struct http_response	*r;
	int			 e = 0;

	if (ans->error != NULL) {
		r = http_error_new(ans->error, ans->detail);
		if (r != NULL && ans->status == 405 && ans->allow != NULL)
			e = http_response_header(r, "Allow", ans->allow);
	} else if (ans->status == 204) {
		r = http_response_copy("", 0);
	} else {
		r = http_response_copy(ans->body.ptr != NULL ? ans->body.ptr :
		    "", ans->body.len);
		if (r != NULL)
			e = http_response_header(r, "Content-Type",
			    "application/json");
	}
	if (r != NULL && e == 0)
		e = http_response_header(r, "Cache-Control", "no-store");
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
report_method(struct report_answer *ans, const char *allow)
{
	ans->allow = allow;
	return report_fail(ans, 405, "method_not_allowed", "this resource "
	    "takes %s", allow);
}

void
report_inventory_handle(struct report *rep, struct http_request *req,
    const char *name, const char *edition)
{
	struct report_answer	 ans;
	const char		*body;
	char			 peer[HTTP_ADDR_MAX];
	size_t			 len = 0;

	report_answer_init(&ans);
	if (strcmp(http_method(req), "PUT") != 0)
		report_method(&ans, "PUT");
	else {
		http_peer(req, peer);
		body = http_body(req, &len);
		report_inventory(rep, name, edition, peer, body, len,
		    time(NULL), &ans);
	}
	report_reply(req, &ans);
	buf_release(&ans.body);
}

/* The admin endpoints, from a method, a path and a query to an answer. */
static void
report_admin(struct report *rep, const char *m, const char *const *seg,
    int n, int may_write, const char *by, const char *only, time_t now,
    struct report_answer *ans)
{
	int	 get = strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;

	if (n >= 1 && strcmp(seg[0], "downstreams") == 0) {
		if (n == 1) {
			if (!get)
				report_method(ans, "GET, HEAD");
			else
				report_get(rep, NULL, 0, now, ans);
			return;
		}
		if (n > 3 || (n == 3 && strcmp(seg[2], "sync") != 0)) {
			report_fail(ans, 404, "not_found", "no such resource");
			return;
		}
		if (report_bad_name(ans, seg[1]) < 0)
			return;
		if (n == 3 && strcmp(m, "POST") != 0)
			report_method(ans, "POST");
		else if (n == 2 && !get && strcmp(m, "DELETE") != 0)
			report_method(ans, "GET, HEAD, DELETE");
		else if (n == 2 && get)
			report_get(rep, seg[1], 1, now, ans);
		else if (!may_write)
			report_fail(ans, 403, "forbidden", "this token may "
			    "only read");
		else
			report_change(rep, seg[1], n == 3, now, by, ans);
		return;
	}
	if (n == 2 && strcmp(seg[0], "reports") == 0 &&
	    strcmp(seg[1], "files") == 0) {
		if (!get)
			report_method(ans, "GET, HEAD");
		else if (only == NULL || report_bad_name(ans, only) == 0)
			report_get(rep, only, 2, now, ans);
		return;
	}
	report_fail(ans, 404, "not_found", "no such resource");
}

void
report_admin_handle(struct report *rep, struct http_request *req,
    const char *const *seg, int n, int may_write, const char *by)
{
	struct report_answer	 ans;

	report_answer_init(&ans);
	report_admin(rep, http_method(req), seg, n, may_write, by,
	    http_query(req, "downstream"), time(NULL), &ans);
	report_reply(req, &ans);
	buf_release(&ans.body);
}

int
report_summary(struct report *rep, struct report_counts *ret)
{
	struct report_view	*v = NULL;
	int			 e;

	pthread_mutex_lock(&rep->lock);
	e = report_build(rep->db, rep->conf, time(NULL), NULL, &v);
	pthread_mutex_unlock(&rep->lock);
	if (e < 0)
		return e;
	report_count(v, ret);
	report_view_free(v);
	return 0;
}

/* ---- the command line -------------------------------------------------- */

static int
report_usage(void)
{
	fputs("usage: cascade report files [-d DIR] [--json] "
	    "[--downstream NAME]\n", stderr);
	return 2;
}

static int
downstreams_usage(void)
{
	fputs("usage: cascade downstreams [-d DIR] [--json]\n"
	    "       cascade downstreams [-d DIR] run NAME\n"
	    "       cascade downstreams [-d DIR] remove NAME\n"
	    "       cascade downstreams [-d DIR] schedule NAME SCHEDULE "
	    "[--at-startup]\n"
	    "       cascade downstreams [-d DIR] schedule NAME none\n",
	    stderr);
	return 2;
}

enum { REPORT_OPT_JSON = 256, REPORT_OPT_DOWNSTREAM, REPORT_OPT_AT_STARTUP };

static const struct option report_opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "json", no_argument, NULL, REPORT_OPT_JSON },
	{ "downstream", required_argument, NULL, REPORT_OPT_DOWNSTREAM },
	{ "at-startup", no_argument, NULL, REPORT_OPT_AT_STARTUP },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

/* The options; -1 for a usage error. */
static int
report_args(int argc, char **argv, const char **dir, int *json,
    const char **only, int *at_startup)
{
	int	 c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "d:vh", report_opts, NULL)) != -1) {
		switch (c) {
		case 'd': *dir = optarg; break;
		case 'v': log_set_verbose(1); break;
		case REPORT_OPT_JSON: *json = 1; break;
		case REPORT_OPT_DOWNSTREAM:
			if (only == NULL)
				return -1;
			*only = optarg;
			break;
		case REPORT_OPT_AT_STARTUP:
			if (at_startup == NULL)
				return -1;
			*at_startup = 1;
			break;
		default: return -1;
		}
	}
	return 0;
}

static void
report_print_files(const struct report_downstream *d)
{
	char	 held[32], t[TS_LEN + 1];
	size_t	 i;

	ts_format((time_t)d->row.last_report, t);
	printf("downstream %s (%s): %s, last report %s", d->row.name,
	    d->row.address[0] != '\0' ? d->row.address : "unknown address",
	    report_state_name(d->state), t);
	if (d->why[0] != '\0')
		printf("; %s", d->why);
	printf("\n");
	for (i = 0; i < d->nfiles; i++) {
		const struct report_file *f = &d->files[i];

		if (f->held == 0)
			snprintf(held, sizeof(held), "-");
		else
			snprintf(held, sizeof(held), "%llu",
			    (unsigned long long)f->held);
		printf("  %-32s %-12s held %-8s should %-8llu %s\n",
		    f->component, f->channel, held,
		    (unsigned long long)f->should,
		    f->held == 0 ? "missing" : "outdated");
	}
}

int
report_cli(int argc, char **argv)
{
	struct report_view	*v = NULL;
	struct report_counts	 cnt;
	struct repo		 r;
	struct buf		 b;
	const char		*dir = "var", *only = NULL;
	size_t			 i;
	int			 json = 0, e;

	if (report_args(argc, argv, &dir, &json, &only, NULL) < 0)
		return report_usage();
	if (argc - optind != 1 || strcmp(argv[optind], "files") != 0) {
		if (argc - optind >= 1)
			log_error("unknown report '%s' (files)",
			    argv[optind]);
		return report_usage();
	}
	if (only != NULL && !conf_valid_name(only, 0))
		return log_error("bad downstream name '%s'", only), 2;
	if (repo_open(&r, dir) < 0)
		return 1;
	e = report_build(r.db, &r.conf, time(NULL), NULL, &v);
	if (e < 0) {
		log_errno(e, "cannot build the report of '%s'", dir);
		repo_close(&r);
		return 1;
	}
	if (json) {
		buf_init(&b, SIZE_MAX / 2);
		e = report_json_files(v, only, &b);
		if (e == 0)
			fwrite(b.ptr, 1, b.len, stdout);
		else
			log_errno(e, "cannot write the report");
		buf_release(&b);
	} else if (v->nds == 0)
		printf("no downstream server has reported to '%s'\n", dir);
	else {
		for (i = 0; i < v->nds; i++)
			if (only == NULL || strcmp(v->ds[i].row.name,
			    only) == 0)
				report_print_files(&v->ds[i]);
		report_count(v, &cnt);
		printf("%zu downstream%s: %zu current, %zu behind, %zu "
		    "offline\n", cnt.total, cnt.total == 1 ? "" : "s",
		    cnt.current, cnt.behind, cnt.offline);
	}
	report_view_free(v);
	repo_close(&r);
	return e < 0 ? 1 : 0;
}

static int
downstreams_list(struct repo *r, int json)
{
	struct report_view	*v = NULL;
	struct buf		 b;
	char			 age[32], sched[CONF_SCHEDULE_TEXT_MAX];
	size_t			 i;
	time_t			 now = time(NULL);
	int			 e;

	e = report_build(r->db, &r->conf, now, NULL, &v);
	if (e < 0)
		return log_errno(e, "cannot read the downstreams of '%s'",
		    r->dir), 1;
	if (json) {
		buf_init(&b, SIZE_MAX / 2);
		e = report_json_downstreams(v, &b);
		if (e == 0)
			fwrite(b.ptr, 1, b.len, stdout);
		else
			log_errno(e, "cannot write the downstreams");
		buf_release(&b);
	} else if (v->nds == 0)
		printf("no downstream server has reported to '%s'\n", r->dir);
	else
		printf("%-20s %-8s %-24s %-7s %-7s %-8s %-18s %s\n", "NAME",
		    "STATE", "ADDRESS", "REPORT", "MISSING", "OUTDATED",
		    "SCHEDULE", "REASON");
	for (i = 0; !json && i < v->nds; i++) {
		const struct report_downstream *d = &v->ds[i];

		report_age((int64_t)now - d->row.last_report, age,
		    sizeof(age));
		if (d->scheduled)
			conf_schedule_format(&d->schedule, sched);
		else
			snprintf(sched, sizeof(sched), "its own");
		printf("%-20s %-8s %-24s %-7s %-7zu %-8zu %-18s %s%s\n",
		    d->row.name, report_state_name(d->state),
		    d->row.address[0] != '\0' ? d->row.address : "-", age,
		    d->missing, d->outdated, sched, d->why,
		    d->row.run_requested != 0 ? (d->why[0] != '\0' ?
		    "; run requested" : "run requested") : "");
	}
	report_view_free(v);
	return e < 0 ? 1 : 0;
}

static int
downstreams_change(struct repo *r, const char *cmd, const char *name)
{
	char	 detail[DB_EVENT_DETAIL_MAX + 1];
	int	 run = strcmp(cmd, "run") == 0, e;

	if (!conf_valid_name(name, 0))
		return log_error("bad downstream name '%s'", name), 1;
	snprintf(detail, sizeof(detail), "%s: %s by 'cascade downstreams'",
	    name, run ? "run now asked" : "removed");
	e = db_begin(r->db);
	if (e == 0)
		e = run ? db_downstream_run(r->db, name, (int64_t)time(NULL)) :
		    db_downstream_remove(r->db, name);
	if (e == 0)
		e = db_event_add(r->db, run ? "downstream-run" :
		    "downstream-removed", "", detail);
	if (e == 0)
		e = db_commit(r->db);
	else
		db_rollback(r->db);
	if (e == -ENOENT)
		return log_error("no downstream '%s' in '%s'", name, r->dir), 1;
	if (e < 0)
		return log_errno(e, "cannot change downstream '%s' in '%s'",
		    name, r->dir), 1;
	if (run)
		printf("downstream %s: run requested; it syncs when its "
		    "long-poll takes the request (at once if it holds one)\n",
		    name);
	else
		printf("downstream %s removed (it comes back with its next "
		    "report)\n", name);
	return 0;
}

/* `schedule NAME SCHEDULE|none`: the schedule handed to the downstream
 * with the answer to its next report. */
static int
downstreams_schedule(struct repo *r, const char *name, const char *text,
    int at_startup)
{
	struct conf_schedule	 sc;
	char			 canon[CONF_SCHEDULE_TEXT_MAX];
	char			 detail[DB_EVENT_DETAIL_MAX + 1];
	int			 none = strcmp(text, "none") == 0, e;

	if (!conf_valid_name(name, 0))
		return log_error("bad downstream name '%s'", name), 1;
	if (!none && conf_schedule_parse(text, &sc) < 0)
		return log_error("bad schedule '%s': every DURATION (every "
		    "30m), daily HH:MM or weekly DAY HH:MM", text), 2;
	if (!none)
		conf_schedule_format(&sc, canon);
	snprintf(detail, sizeof(detail), "%s: schedule %s%s ('cascade "
	    "downstreams')", name, none ? "its own" : canon,
	    !none && at_startup ? " and at start-up" : "");
	e = db_begin(r->db);
	if (e == 0)
		e = report_schedule_set(r->db, name, none ? "" : canon,
		    at_startup);
	if (e == 0)
		e = db_event_add(r->db, "downstream-schedule", "", detail);
	if (e == 0)
		e = db_commit(r->db);
	else
		db_rollback(r->db);
	if (e < 0)
		return log_errno(e, "cannot set the schedule of downstream "
		    "'%s' in '%s'", name, r->dir), 1;
	printf("downstream %s: %s; it applies it after its next sync\n",
	    name, none ? "back to its own schedule" : canon);
	return 0;
}

int
report_downstreams_cli(int argc, char **argv)
{
	struct repo	 r;
	const char	*dir = "var", *cmd = NULL;
	int		 json = 0, at_startup = 0, npos, rc;

	if (report_args(argc, argv, &dir, &json, NULL, &at_startup) < 0)
		return downstreams_usage();
	npos = argc - optind;
	if (npos > 0) {
		cmd = argv[optind];
		if (strcmp(cmd, "run") != 0 && strcmp(cmd, "remove") != 0 &&
		    strcmp(cmd, "schedule") != 0) {
			log_error("unknown downstreams command '%s' (run, "
			    "remove, schedule)", cmd);
			return downstreams_usage();
		}
		if (npos != (strcmp(cmd, "schedule") == 0 ? 3 : 2))
			return downstreams_usage();
		if (json) {
			log_error("downstreams: --json applies to the list "
			    "only");
			return 2;
		}
	}
	if (at_startup && (cmd == NULL || strcmp(cmd, "schedule") != 0))
		return downstreams_usage();
	if (repo_open(&r, dir) < 0)
		return 1;
	if (cmd == NULL)
		rc = downstreams_list(&r, json);
	else if (strcmp(cmd, "schedule") == 0)
		rc = downstreams_schedule(&r, argv[optind + 1],
		    argv[optind + 2], at_startup);
	else
		rc = downstreams_change(&r, cmd, argv[optind + 1]);
	repo_close(&r);
	return rc;
}
