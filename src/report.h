/*
 * report: downstream servers and the file status report (DESIGN.md
 * sections 2 and 4). A downstream is a mirror that syncs from this
 * server; after each sync pass it reports what it holds:
 *
 *   PUT /v1/downstreams/{name}/inventory   manifest_inventory: 200 with
 *                                          manifest_inventory_answer
 *
 * (routed and authenticated by serve.c: a license when the server has
 * licenses). The report is kept whole (db.h, re-emitted after parsing);
 * the answer hands the downstream the schedule set for it here (schedule
 * target "downstream/NAME"), or null for its own.
 *
 * The file status report compares each downstream with this server's
 * current versions, over every channel the downstream takes (the
 * channels of its inventory) and every component there that its license
 * covers (the edition of the license it reported with, by [editions]
 * order; all of them when it reported without one): a component it
 * lacks is "missing", one it holds at a lower version, or at the same
 * version with other bytes, is "outdated". A downstream's state, the
 * first that applies: offline (no report for REPORT_OFFLINE_PERIODS
 * periods of its schedule, by default of REPORT_PERIOD_DEFAULT), behind
 * (a missing or outdated component, or a channel at a lower serial),
 * current.
 *
 * "Run now": a request kept in the downstream's row (db_downstream_run)
 * until its long-poll on /v1/events (sent with X-Cascade-Downstream:
 * NAME) takes it: serve.c answers that long-poll at once with the state
 * document, and the mirror syncs.
 *
 * Admin endpoints (report_admin_handle), JSON:
 *   GET    /v1/admin/downstreams          [downstream]
 *   GET    /v1/admin/downstreams/{name}   downstream, with "files"
 *   POST   /v1/admin/downstreams/{name}/sync   run now: 202
 *                                         {"queued": true}
 *   DELETE /v1/admin/downstreams/{name}   204 (it comes back with its
 *                                         next report)
 *   GET    /v1/admin/reports/files[?downstream=NAME]   [file]
 * where a downstream is {"name", "address", "edition" (null: none),
 * "last_report" (RFC 3339), "channels": {ch: serial}, "schedule" (text,
 * or null: its own), "at_startup", "run_requested" (RFC 3339 or null),
 * "components" (held), "missing", "outdated", "state", "reason"} and a
 * file {"downstream", "component", "channel", "held" (null: missing),
 * "should", "status": "missing"|"outdated"} (only what is not current).
 */
#ifndef REPORT_H
#define REPORT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "http.h"
#include "manifest.h"

#define REPORT_OFFLINE_PERIODS	3
#define REPORT_PERIOD_DEFAULT	3600	/* seconds: "every 60m" */
#define REPORT_WHY_MAX		256
#define REPORT_SEG_MAX		(MANIFEST_NAME_MAX + 8)	/* a path segment */
/* the schedule target of a downstream: "downstream/NAME" */
#define REPORT_TARGET_PREFIX	"downstream/"

enum report_state { REPORT_CURRENT, REPORT_BEHIND, REPORT_OFFLINE };

const char *report_state_name(enum report_state s);

/* One component a downstream lacks or holds out of date. */
struct report_file {
	char		 channel[MANIFEST_NAME_MAX + 1];
	char		 component[MANIFEST_NAME_MAX + 1];
	uint64_t	 held;		/* 0: missing */
	uint64_t	 should;	/* this server's current version */
};

struct report_downstream {
	struct db_downstream	 row;	/* row.inventory: the document */
	struct manifest_inventory *inv;	/* NULL: the document is unreadable */
	int			 scheduled;	/* a schedule is set for it */
	struct conf_schedule	 schedule;
	int			 at_startup;
	size_t			 missing, outdated;
	enum report_state	 state;
	char			 why[REPORT_WHY_MAX];	/* "" when current */
	struct report_file	*files;		/* owned */
	size_t			 nfiles;
};

/* The report, as of one moment. */
struct report_view {
	struct report_downstream *ds;	/* by name; owned */
	size_t			 nds;
};

/*
 * Builds the report of every downstream (only = NULL) or of one (-ENOENT
 * when there is no such downstream), from the state database and the
 * editions of c, at time now. *ret_v is the caller's
 * (report_view_free). 0, -ENOENT, -ENOMEM, or db's errors.
 */
int	 report_build(struct db *db, const struct conf *c, time_t now,
	    const char *only, struct report_view **ret_v);
void	 report_view_free(struct report_view *v);		/* NULL-safe */

/* The JSON of the admin API (above), appended to out: the array of
 * downstreams; one downstream (with its "files"); the array of files
 * (of one downstream when only is not NULL). 0, -E2BIG, -ENOMEM. */
int	 report_json_downstreams(const struct report_view *v,
	    struct buf *out);
int	 report_json_downstream(const struct report_downstream *d,
	    int with_files, struct buf *out);
int	 report_json_files(const struct report_view *v, const char *only,
	    struct buf *out);

/* Counts of downstreams by state, for a summary. */
struct report_counts {
	size_t	 total, current, behind, offline;
};
void	 report_count(const struct report_view *v, struct report_counts *ret);

/*
 * The schedule set here for downstream name (target "downstream/NAME"):
 * 0 with *ret_a filled (scheduled 0 when none is set: the downstream
 * keeps its own), or db's errors.
 */
int	 report_schedule_of(struct db *db, const char *name,
	    struct manifest_inventory_answer *ret_a);

/*
 * The server's side, with its own connection to the state database
 * (thread-safe: one request at a time uses it).
 */
struct report;

/* c is copied. 0 or -errno. */
int	 report_open(const char *dir, const struct conf *c,
	    struct report **ret_rep);
void	 report_close(struct report *rep);			/* NULL-safe */
/* A new configuration (SIGHUP). */
void	 report_set_conf(struct report *rep, const struct conf *c);

/*
 * PUT /v1/downstreams/{name}/inventory, once serve.c has checked the
 * client: name is the path's segment (checked here), edition the
 * edition of the license the request came with ("" when the server has
 * no licenses). Replies itself: 200 with the answer; 400 (bad name, bad
 * document, or a document of another name), 405 (not PUT), 413 (over
 * MANIFEST_DOC_MAX), 500. Request bodies must be enabled (http_config
 * body_max >= MANIFEST_DOC_MAX).
 */
void	 report_inventory_handle(struct report *rep, struct http_request *req,
	    const char *name, const char *edition);

/* Takes the run-now request of downstream name (db_downstream_run_take):
 * 1 when there was one, 0 when none, -errno. */
int	 report_run_take(struct report *rep, const char *name);

/*
 * The admin endpoints above, for the admin router, once it has checked
 * the bearer token. seg are the n path segments after "admin" (seg[0]
 * is "downstreams" or "reports"; "/v1/admin/downstreams/b1/sync" gives
 * {"downstreams", "b1", "sync"}); may_write is 0 for a token that may
 * only read (a viewer), which gets 403 "forbidden" on POST and DELETE;
 * by names who asks in the events of a change ("admin token 'ops'";
 * NULL: "the admin API"). Replies itself: 200, 202, 204, or an error
 * {"error", "detail"}: 400 (a bad name or query), 403, 404 (no such
 * downstream or resource), 405 (with Allow), 500. GET includes HEAD.
 */
void	 report_admin_handle(struct report *rep, struct http_request *req,
	    const char *const *seg, int n, int may_write, const char *by);

/* The counts by state now, for the admin summary. 0 or -errno. */
int	 report_summary(struct report *rep, struct report_counts *ret);

/*
 * `cascade report files -d DIR [--json] [--downstream NAME]` and
 * `cascade downstreams -d DIR [--json] [run NAME | remove NAME |
 * schedule NAME SCHEDULE [--at-startup] | schedule NAME none]`: argv[0]
 * is "report" or "downstreams" (main passes its argv from the command
 * on). --json prints what the admin API answers. The exit status: 0, 1
 * (failure), 2 (usage).
 */
int	 report_cli(int argc, char **argv);
int	 report_downstreams_cli(int argc, char **argv);

#endif
