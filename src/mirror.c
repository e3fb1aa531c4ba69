#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "log.h"
#include "mirror.h"
#include "sync.h"
#include "ts.h"
#include "banned.h"

#define MIRROR_GIVEN_MAX	(CONF_SCHEDULE_TEXT_MAX + 16)

struct mirror {
	struct repo	 repo;		/* the sync thread's own handle */
	pthread_t	 sync_thread;
	pthread_t	 poll_thread;
	int		 poll_started;
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;
	volatile int	 stop;
	int		 requested;	/* under lock */
	int		 running;	/* under lock */
	char		 why[128];	/* under lock */
	uint64_t	 upstream_serial;	/* under lock */
	char		 name[CONF_NAME_MAX + 1];	/* as a downstream */
	/* the schedule the upstream set for this mirror (sync thread) */
	struct manifest_inventory_answer given;
	char		 holder[128];	/* this process, for the lease */
};

/*
 * The schedule of this mirror's syncs: the one its upstream set for it
 * (in the answer to its inventory report) when there is one; else the
 * "upstream" row of the state database (set through the admin API) when
 * there is one that parses; else [upstream] schedule and
 * sync_at_startup. Read each time a scheduled sync is planned, and while
 * one is waited for, so that a change is followed within MIRROR_REPLAN
 * seconds. Sync thread only.
 */
static void
mirror_schedule(struct mirror *m, struct conf_schedule *ret,
    int *ret_at_startup)
{
	struct db_schedule	 row;

	if (m->given.scheduled) {
		*ret = m->given.schedule;
		if (ret_at_startup != NULL)
			*ret_at_startup = m->given.at_startup;
		return;
	}
	if (db_schedule_get(m->repo.db, "upstream", &row) == 0 &&
	    conf_schedule_parse(row.schedule, ret) == 0) {
		if (ret_at_startup != NULL)
			*ret_at_startup = row.at_startup;
		return;
	}
	*ret = m->repo.conf.upstream.schedule;
	if (ret_at_startup != NULL)
		*ret_at_startup = m->repo.conf.upstream.sync_at_startup;
}

static int
mirror_schedule_same(const struct conf_schedule *a,
    const struct conf_schedule *b)
{
	return a->kind == b->kind && a->every == b->every &&
	    a->hour == b->hour && a->minute == b->minute &&
	    a->wday == b->wday;
}

/* The schedule the upstream gave last time, kept in the state database
 * so that a restart (and `cascade status`) knows it: "" for none, or the
 * schedule followed by " at_startup" when it holds at start-up too. */
static void
mirror_given_load(struct mirror *m)
{
	char	 v[MIRROR_GIVEN_MAX], *sp;

	memset(&m->given, 0, sizeof(m->given));
	if (db_meta_get(m->repo.db, "downstream_schedule", v, sizeof(v)) < 0 ||
	    v[0] == '\0')
		return;
	sp = strstr(v, " at_startup");
	if (sp != NULL && sp[11] == '\0') {
		*sp = '\0';
		m->given.at_startup = 1;
	}
	m->given.scheduled = conf_schedule_parse(v, &m->given.schedule) == 0;
}

/* Applies the upstream's answer to an inventory. Sync thread. */
static void
mirror_given_apply(struct mirror *m, const struct manifest_inventory_answer *a)
{
	char	 text[CONF_SCHEDULE_TEXT_MAX], v[MIRROR_GIVEN_MAX];

	if (a->scheduled == m->given.scheduled && (!a->scheduled ||
	    (a->at_startup == m->given.at_startup &&
	    mirror_schedule_same(&a->schedule, &m->given.schedule))))
		return;
	m->given = *a;
	v[0] = '\0';
	if (a->scheduled) {
		conf_schedule_format(&a->schedule, text);
		snprintf(v, sizeof(v), "%s%s", text,
		    a->at_startup ? " at_startup" : "");
		log_info("the upstream sets this mirror's schedule: %s%s",
		    text, a->at_startup ? ", and at start-up" : "");
	} else
		log_info("the upstream sets no schedule for this mirror: back "
		    "to its own");
	if (db_meta_set(m->repo.db, "downstream_schedule", v) < 0)
		log_warn("cannot record the schedule the upstream set");
}

/*
 * Whether this server runs the scheduled sync due now. Servers sharing a
 * PostgreSQL state share a lease on it: the holder renews it at each of
 * its passes, and after each (a pass may be long), for the period of the
 * schedule s and a margin, so that the schedule runs once across them,
 * and another server takes over within a period and the margin when the
 * holder stops. Alone (SQLite) a server always runs it; when the lease
 * cannot be read it runs it too: twice rather than never. renew: after a
 * pass, quietly.
 */
static int
mirror_lease(struct mirror *m, const struct conf_schedule *s, time_t now,
    int renew)
{
	int64_t	 period, margin;
	int	 r;

	period = (int64_t)(conf_schedule_next(s, now) - now);
	if (period < 1)
		period = 1;
	margin = period < MIRROR_LEASE_MARGIN ? period : MIRROR_LEASE_MARGIN;
	if (margin < MIRROR_LEASE_MARGIN_MIN)
		margin = MIRROR_LEASE_MARGIN_MIN;
	r = db_lease_take(m->repo.db, MIRROR_LEASE, m->holder, period + margin);
	if (r < 0 && !renew) {
		log_errno(r, "cannot take the lease of the scheduled sync; "
		    "running it");
		return 1;
	}
	if (r == 0 && !renew)
		log_info("scheduled sync left to another server sharing the "
		    "database (it holds the lease)");
	return r;
}

/* Waits (the lock held) until when, or a request (when wake_on_request),
 * or a stop. */
static void
mirror_wait_until(struct mirror *m, time_t when, int wake_on_request)
{
	struct timespec	 ts = { when, 0 };

	while (!m->stop && !(wake_on_request && m->requested) &&
	    time(NULL) < when)
		pthread_cond_timedwait(&m->cond, &m->lock, &ts);
}

static void *
mirror_sync_main(void *arg)
{
	struct mirror		*m = arg;
	struct repo		*r = &m->repo;
	struct sync_result	 res;
	struct conf_schedule	 sched, now_sched;
	time_t			 next, now, hold = 0, until;
	int64_t			 delay;
	char			 why[128];
	int			 failures = 0, e, at_startup, scheduled, lease;

	mirror_schedule(m, &sched, &at_startup);
	pthread_mutex_lock(&m->lock);
	next = at_startup ? time(NULL) : conf_schedule_next(&sched,
	    time(NULL));
	scheduled = !at_startup;
	for (;;) {
		/* a scheduled wait looks at the schedule now and then: an
		 * administrator may have changed it */
		until = next;
		if (scheduled && until > time(NULL) + MIRROR_REPLAN)
			until = time(NULL) + MIRROR_REPLAN;
		mirror_wait_until(m, until, 1);
		if (scheduled && !m->stop && !m->requested &&
		    time(NULL) < next) {
			pthread_mutex_unlock(&m->lock);
			mirror_schedule(m, &now_sched, NULL);
			pthread_mutex_lock(&m->lock);
			if (!mirror_schedule_same(&sched, &now_sched)) {
				sched = now_sched;
				next = conf_schedule_next(&sched, time(NULL));
				log_info("the upstream schedule changed: next "
				    "sync in %lld s",
				    (long long)(next - time(NULL)));
			}
			continue;
		}
		/* a request may cut short the backoff, but not the pause the
		 * upstream asked for (Retry-After): that one is kept, then
		 * the request runs */
		if (!m->stop && time(NULL) < hold) {
			log_info("sync requested; the upstream asked to wait "
			    "%lld s more (Retry-After)",
			    (long long)(hold - time(NULL)));
			mirror_wait_until(m, hold, 0);
		}
		if (m->stop)
			break;
		snprintf(why, sizeof(why), "%s", m->requested ? m->why :
		    "schedule");
		lease = scheduled && !m->requested;
		m->requested = 0;
		pthread_mutex_unlock(&m->lock);
		/* at start-up and on a retry each server fills its own
		 * repository; on the schedule, one of the servers sharing the
		 * database runs */
		if (lease && !mirror_lease(m, &sched, time(NULL), 0)) {
			next = conf_schedule_next(&sched, time(NULL));
			pthread_mutex_lock(&m->lock);
			continue;
		}
		pthread_mutex_lock(&m->lock);
		m->running = 1;
		pthread_mutex_unlock(&m->lock);

		log_info("sync from '%s' (%s)", r->conf.upstream.url, why);
		e = sync_run(r, why, &res);
		now = time(NULL);
		if (lease)
			mirror_lease(m, &sched, now, 1);
		hold = 0;
		if (e == 0) {
			failures = 0;
			if (res.reported)
				mirror_given_apply(m, &res.answer);
			mirror_schedule(m, &sched, NULL);
			next = conf_schedule_next(&sched, now);
			scheduled = 1;
		} else {
			failures++;
			delay = MIRROR_RETRY_MIN;
			while (delay < MIRROR_RETRY_MAX && failures > 1 &&
			    delay < ((int64_t)MIRROR_RETRY_MIN << (failures - 1)))
				delay *= 2;
			if (delay > MIRROR_RETRY_MAX)
				delay = MIRROR_RETRY_MAX;
			if (res.retry_after > delay)
				delay = res.retry_after;
			if (res.retry_after > 0)
				hold = now + res.retry_after;
			next = now + delay;
			scheduled = 0;
			log_info("next sync attempt in %lld s",
			    (long long)delay);
		}
		pthread_mutex_lock(&m->lock);
		m->running = 0;
		if (e == 0 && res.upstream_serial > m->upstream_serial)
			m->upstream_serial = res.upstream_serial;
	}
	pthread_mutex_unlock(&m->lock);
	return NULL;
}

/* Holds a long-poll on the upstream and asks for a sync when it answers
 * (200). */
static void *
mirror_poll_main(void *arg)
{
	struct mirror			*m = arg;
	const struct conf_upstream	*u = &m->repo.conf.upstream;
	struct manifest_state		*st;
	struct fetch_config		 fc;
	struct fetch_result		 fr;
	struct fetch			*f = NULL;
	struct buf			 doc;
	char				 path[96], why[128];
	uint64_t			 since;
	int				 e, backoff = 1;

	st = malloc(sizeof(*st));
	sync_fetch_config(u, &fc);
	fc.cancel = &m->stop;
	/* so that the upstream can answer at once for a "run now" */
	fc.downstream = m->name;
	if (st == NULL || fetch_new(&fc, &f) < 0) {
		log_error("cannot start the long-poll on '%s'", u->url);
		free(st);
		return NULL;
	}
	buf_init(&doc, SYNC_STATE_MAX);
	while (!m->stop) {
		pthread_mutex_lock(&m->lock);
		since = m->upstream_serial;
		pthread_mutex_unlock(&m->lock);
		snprintf(path, sizeof(path), "v1/events?since=%llu&wait=%d",
		    (unsigned long long)since, MIRROR_POLL_WAIT);
		buf_reset(&doc);
		e = fetch_get(f, path, NULL, MIRROR_POLL_WAIT + 15, &doc, &fr);
		if (m->stop)
			break;
		if (e == 0 && fr.status == 204) {
			backoff = 1;
			continue;
		}
		/* a 200 is news, or the upstream's "run now" (which may
		 * come with no serial moved): either way, a pass */
		if (e == 0 && fr.status == 200 &&
		    manifest_state_parse(doc.ptr, doc.len, st) == 0) {
			backoff = 1;
			pthread_mutex_lock(&m->lock);
			if (st->serial > m->upstream_serial) {
				m->upstream_serial = st->serial;
				snprintf(why, sizeof(why), "upstream announced "
				    "serial %llu",
				    (unsigned long long)st->serial);
			} else
				snprintf(why, sizeof(why), "upstream asked "
				    "for a sync now");
			pthread_mutex_unlock(&m->lock);
			mirror_request(m, why);
			continue;
		}
		/* the upstream is down or does not long-poll: the schedule
		 * still runs; try again later */
		pthread_mutex_lock(&m->lock);
		{
			struct timespec ts = { time(NULL) + backoff, 0 };

			if (!m->stop)
				pthread_cond_timedwait(&m->cond, &m->lock,
				    &ts);
		}
		pthread_mutex_unlock(&m->lock);
		if (backoff < 60)
			backoff *= 2;
	}
	buf_release(&doc);
	fetch_free(f);
	free(st);
	return NULL;
}

int
mirror_start(const char *dir, struct mirror **ret_m)
{
	struct mirror	*m;
	char		 serial[32], host[256];
	uint64_t	 s = 0;
	int		 e;

	*ret_m = NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return log_errno(-ENOMEM, "cannot start the mirror");
	if (repo_open(&m->repo, dir) < 0) {
		free(m);
		return -EIO;
	}
	if (m->repo.conf.upstream.url[0] == '\0') {
		repo_close(&m->repo);
		free(m);
		return 0;
	}
	if (db_meta_get(m->repo.db, "upstream_serial", serial,
	    sizeof(serial)) == 0)
		ts_parse_u64(serial, 0, MANIFEST_NUMBER_MAX, &s);
	m->upstream_serial = s;
	sync_downstream_name(&m->repo.conf, m->name);
	mirror_given_load(m);
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	snprintf(m->holder, sizeof(m->holder), "%.64s:%ld", host,
	    (long)getpid());
	pthread_mutex_init(&m->lock, NULL);
	pthread_cond_init(&m->cond, NULL);
	e = pthread_create(&m->sync_thread, NULL, mirror_sync_main, m);
	if (e != 0) {
		repo_close(&m->repo);
		free(m);
		return log_errno(-e, "cannot start the sync thread");
	}
	if (pthread_create(&m->poll_thread, NULL, mirror_poll_main, m) == 0)
		m->poll_started = 1;
	log_info("mirror of '%s'", m->repo.conf.upstream.url);
	*ret_m = m;
	return 0;
}

void
mirror_request(struct mirror *m, const char *why)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	if (m->running && !m->requested) {
		if (db_event_add(m->repo.db, "sync-queued", "", why) < 0)
			log_warn("cannot record a queued sync");
	}
	m->requested = 1;
	snprintf(m->why, sizeof(m->why), "%s", why);
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
}

void
mirror_stop(struct mirror *m)
{
	if (m == NULL)
		return;
	pthread_mutex_lock(&m->lock);
	m->stop = 1;
	pthread_cond_broadcast(&m->cond);
	pthread_mutex_unlock(&m->lock);
	pthread_join(m->sync_thread, NULL);
	if (m->poll_started)
		pthread_join(m->poll_thread, NULL);
	repo_close(&m->repo);
	pthread_mutex_destroy(&m->lock);
	pthread_cond_destroy(&m->cond);
	free(m);
}
