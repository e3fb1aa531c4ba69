/*
 * mirror: what makes `cascade serve` a mirror when cascade.conf names an
 * upstream. A sync thread runs sync passes at start-up (sync_at_startup),
 * on the schedule, when asked (`cascade sync --now`, the admin API), and
 * when the upstream announces something new: a second thread holds a
 * long-poll on the upstream's /v1/events. The schedule is [upstream]
 * schedule and sync_at_startup, unless the state database has an
 * "upstream" row (db_schedule_get, set through the admin API), which
 * overrides both. A sync asked for while one runs is queued behind it
 * and runs once. A failed pass is retried with an exponential backoff
 * (MIRROR_RETRY_MIN doubling up to MIRROR_RETRY_MAX, or the upstream's
 * Retry-After when longer); a request may bring the retry forward, but
 * never before the Retry-After has passed. The mirror serves what it has
 * meanwhile.
 *
 * Servers sharing a PostgreSQL state (db.h) run a scheduled pass once
 * across them: the one holding the lease MIRROR_LEASE in the database
 * (db_lease_take) runs it; the others log that they leave it. Passes at
 * start-up, asked for, or announced by the upstream run on every server,
 * since each keeps its own repository.
 *
 * As a downstream of its upstream (sync.h), it reports its inventory
 * after each pass and runs on the schedule the upstream's answer sets
 * for it, before the "upstream" row and the configuration, until an
 * answer sets none (kept in the state database across restarts, meta
 * "downstream_schedule"). Its long-poll carries X-Cascade-Downstream:
 * NAME, and any 200 it gets (news, or the upstream's "run now") makes
 * a pass.
 */
#ifndef MIRROR_H
#define MIRROR_H

#define MIRROR_RETRY_MIN	5	/* seconds */
#define MIRROR_RETRY_MAX	3600
#define MIRROR_POLL_WAIT	60	/* seconds a long-poll is held */
#define MIRROR_REPLAN		30	/* seconds between looks at the
					   schedule while one is waited for */
#define MIRROR_LEASE		"mirror-sync"
#define MIRROR_LEASE_MARGIN	60	/* seconds beyond the period, at most */
#define MIRROR_LEASE_MARGIN_MIN	5	/* and at least this */

struct mirror;

/* Starts the threads when the configuration of dir names an upstream;
 * *ret_m is NULL when it does not. 0 or -errno (logged). */
int	 mirror_start(const char *dir, struct mirror **ret_m);
/* Asks for a sync (queued behind a running one). Thread-safe. */
void	 mirror_request(struct mirror *m, const char *why);
/* Stops both threads, waiting for a running pass to end. NULL-safe. */
void	 mirror_stop(struct mirror *m);

#endif
