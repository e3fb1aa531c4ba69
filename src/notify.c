#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agents.h"
#include "db.h"
#include "fetch.h"
#include "fs.h"
#include "log.h"
#include "notify.h"
#include "banned.h"

/* One agent to tell. */
struct notify_push {
	int64_t		 due;		/* notify_now_ms() */
	int		 retries;	/* failed attempts so far */
	uint64_t	 serial;
	char		 id[DB_AGENT_ID_MAX + 1];
	char		 url[MANIFEST_URL_MAX];
	char		 key[CRYPTO_SHA256_HEX];	/* notify key, hex */
};

struct notify {
	struct db		*db;		/* under lock */
	pthread_mutex_t		 lock;		/* all below */
	pthread_cond_t		 cond;		/* the queue changed */
	struct conf		*conf;		/* [notify], groups */
	struct notify_push	*heap;		/* by due, earliest first */
	size_t			 nheap;
	size_t			 cap;
	pthread_t		 workers[NOTIFY_WORKERS_MAX];
	int			 nworkers;
	volatile int		 stopping;
	uint64_t		 sent, failed, given_up;
};

static int64_t
notify_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
notify_swap(struct notify_push *a, struct notify_push *b)
{
	struct notify_push	 t = *a;

	*a = *b;
	*b = t;
}

/* Under lock. -E2BIG past NOTIFY_QUEUE_MAX, -ENOMEM. */
static int
notify_heap_push(struct notify *n, const struct notify_push *p)
{
	struct notify_push	*h;
	size_t			 i, cap;

	if (n->nheap == NOTIFY_QUEUE_MAX)
		return -E2BIG;
	if (n->nheap == n->cap) {
		cap = n->cap == 0 ? 64 : n->cap * 2;
		h = realloc(n->heap, cap * sizeof(*h));
		if (h == NULL)
			return -ENOMEM;
		n->heap = h;
		n->cap = cap;
	}
	i = n->nheap++;
	n->heap[i] = *p;
	while (i > 0 && n->heap[(i - 1) / 2].due > n->heap[i].due) {
		notify_swap(&n->heap[(i - 1) / 2], &n->heap[i]);
		i = (i - 1) / 2;
	}
	return 0;
}

/* Under lock, nheap > 0. */
static void
notify_heap_pop(struct notify *n, struct notify_push *ret)
{
	size_t	 i = 0, l, m;

	*ret = n->heap[0];
	n->heap[0] = n->heap[--n->nheap];
	for (;;) {
		l = 2 * i + 1;
		m = i;
		if (l < n->nheap && n->heap[l].due < n->heap[m].due)
			m = l;
		if (l + 1 < n->nheap && n->heap[l + 1].due < n->heap[m].due)
			m = l + 1;
		if (m == i)
			break;
		notify_swap(&n->heap[i], &n->heap[m]);
		i = m;
	}
}

static void
notify_event(struct notify *n, const char *kind, const char *id,
    const char *detail)
{
	int	 e;

	pthread_mutex_lock(&n->lock);
	e = db_event_add_agent(n->db, kind, id, detail);
	pthread_mutex_unlock(&n->lock);
	if (e < 0)
		log_errno(e, "cannot record a notification of agent '%s'", id);
}

/* One POST; 0 when the agent took it, else -errno with why in reason. */
static int
notify_send(struct notify *n, const struct notify_push *p, char *reason,
    size_t size)
{
	struct fetch_config	 fc;
	struct fetch_result	 res;
	struct fetch		*f = NULL;
	char			 body[64];
	int			 e, len;

	memset(&fc, 0, sizeof(fc));
	fc.base_url = p->url;
	fc.bearer = p->key;
	fc.connect_timeout = NOTIFY_TIMEOUT;
	fc.stall_timeout = NOTIFY_TIMEOUT;
	fc.cancel = &n->stopping;
	e = fetch_new(&fc, &f);
	if (e < 0) {
		snprintf(reason, size, "bad notify URL");
		return e;
	}
	len = snprintf(body, sizeof(body), "{\"serial\": %llu}\n",
	    (unsigned long long)p->serial);
	memset(&res, 0, sizeof(res));
	e = fetch_request(f, "POST", "", "application/json", body,
	    (size_t)len, NULL, &res);
	fetch_free(f);
	if (e < 0) {
		snprintf(reason, size, "%s", res.error[0] != '\0' ?
		    res.error : log_strerror(e));
		return e;
	}
	if (res.status < 200 || res.status > 299) {
		snprintf(reason, size, "the agent answered HTTP %ld",
		    res.status);
		return -EPROTO;
	}
	return 0;
}

static void *
notify_worker(void *arg)
{
	struct notify		*n = arg;
	struct notify_push	 p;
	struct timespec		 until;
	char			 reason[FETCH_ERROR_MAX], detail[FETCH_ERROR_MAX + 128];
	int64_t			 now, interval;
	int			 e, retry_max;

	pthread_mutex_lock(&n->lock);
	while (!n->stopping) {
		now = notify_now_ms();
		if (n->nheap == 0) {
			pthread_cond_wait(&n->cond, &n->lock);
			continue;
		}
		if (n->heap[0].due > now) {
			until.tv_sec = (time_t)(n->heap[0].due / 1000);
			until.tv_nsec = (long)(n->heap[0].due % 1000) *
			    1000000L;
			pthread_cond_timedwait(&n->cond, &n->lock, &until);
			continue;
		}
		notify_heap_pop(n, &p);
		interval = n->conf->notify_retry_interval;
		retry_max = n->conf->notify_retry_max;
		pthread_mutex_unlock(&n->lock);

		e = notify_send(n, &p, reason, sizeof(reason));
		if (n->stopping) {
			pthread_mutex_lock(&n->lock);
			break;
		}
		if (e == 0) {
			snprintf(detail, sizeof(detail), "serial %llu pushed "
			    "to %s", (unsigned long long)p.serial, p.url);
			notify_event(n, "notify-sent", p.id, detail);
		} else if (p.retries >= retry_max) {
			snprintf(detail, sizeof(detail), "gave up after %d "
			    "attempt%s: %s", p.retries + 1,
			    p.retries == 0 ? "" : "s", reason);
			notify_event(n, "notify-gave-up", p.id, detail);
			log_warn("agent '%s' did not take its notification: "
			    "%s", p.id, detail);
		} else {
			snprintf(detail, sizeof(detail), "attempt %d of %d "
			    "failed: %s; retrying in %llds", p.retries + 1,
			    retry_max + 1, reason, (long long)interval);
			notify_event(n, "notify-failed", p.id, detail);
		}
		pthread_mutex_lock(&n->lock);
		if (e == 0) {
			n->sent++;
		} else if (p.retries >= retry_max) {
			n->failed++;
			n->given_up++;
		} else {
			n->failed++;
			p.retries++;
			p.due = notify_now_ms() + interval * 1000;
			if (notify_heap_push(n, &p) < 0)
				log_warn("notification queue full: agent '%s' "
				    "is not retried", p.id);
		}
	}
	pthread_mutex_unlock(&n->lock);
	return NULL;
}

int
notify_start(const char *dir, const struct conf *c, struct notify **ret_n)
{
	struct notify		*n;
	pthread_condattr_t	 ca;
	char			 path[FS_PATH_MAX];
	int			 e, i, want;

	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return -ENOMEM;
	n->conf = malloc(sizeof(*n->conf));
	if (n->conf == NULL) {
		free(n);
		return -ENOMEM;
	}
	*n->conf = *c;
	e = fs_path(path, sizeof(path), "%s/state.db", dir);
	if (e == 0)
		e = db_open(path, c->state, 0, &n->db);
	if (e < 0) {
		free(n->conf);
		free(n);
		return e;
	}
	pthread_mutex_init(&n->lock, NULL);
	/* deadlines on the monotonic clock, like notify_now_ms */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->cond, &ca);
	pthread_condattr_destroy(&ca);
	want = c->notify_max_concurrent < NOTIFY_WORKERS_MAX ?
	    c->notify_max_concurrent : NOTIFY_WORKERS_MAX;
	for (i = 0; i < want; i++) {
		e = -pthread_create(&n->workers[i], NULL, notify_worker, n);
		if (e < 0)
			break;
		n->nworkers++;
	}
	if (n->nworkers == 0) {
		notify_stop(n);
		return e < 0 ? e : -EINVAL;
	}
	*ret_n = n;
	return 0;
}

void
notify_set_conf(struct notify *n, const struct conf *c)
{
	pthread_mutex_lock(&n->lock);
	*n->conf = *c;
	pthread_mutex_unlock(&n->lock);
}

int
notify_publish(struct notify *n, uint64_t serial)
{
	struct db_agent		*a = NULL;
	struct notify_push	 p;
	size_t			 na = 0, i;
	time_t			 now = time(NULL);
	int64_t			 now_ms = notify_now_ms(), window;
	int			 e, queued = 0;

	pthread_mutex_lock(&n->lock);
	e = db_agents_brief(n->db, &a, &na);
	if (e < 0) {
		pthread_mutex_unlock(&n->lock);
		return log_errno(e, "cannot list the agents to notify");
	}
	/* what still waits is for an older serial: this replaces it */
	n->nheap = 0;
	window = n->conf->notify_window;
	for (i = 0; i < na; i++) {
		if (a[i].notify_url[0] == '\0' || !a[i].licensed ||
		    !agents_online(n->conf, &a[i], now))
			continue;
		memset(&p, 0, sizeof(p));
		p.serial = serial;
		p.due = now_ms + (int64_t)crypto_random_uniform(
		    (uint64_t)window * 1000 + 1);
		snprintf(p.id, sizeof(p.id), "%s", a[i].id);
		snprintf(p.url, sizeof(p.url), "%s", a[i].notify_url);
		crypto_hex(a[i].notify_key, sizeof(a[i].notify_key), p.key);
		e = notify_heap_push(n, &p);
		if (e < 0) {
			log_errno(e, "cannot queue the notification of agent "
			    "'%s'", p.id);
			break;
		}
		queued++;
	}
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	db_agents_free(a, na);
	free(a);
	return queued;
}

int
notify_agent(struct notify *n, const struct db_agent *ag, uint64_t serial)
{
	struct notify_push	 p;
	int			 e;

	if (ag->notify_url[0] == '\0')
		return -ENOENT;
	memset(&p, 0, sizeof(p));
	p.serial = serial;
	p.due = notify_now_ms();	/* now: an administrator asks */
	snprintf(p.id, sizeof(p.id), "%s", ag->id);
	snprintf(p.url, sizeof(p.url), "%s", ag->notify_url);
	crypto_hex(ag->notify_key, sizeof(ag->notify_key), p.key);
	pthread_mutex_lock(&n->lock);
	e = notify_heap_push(n, &p);
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	crypto_wipe(&p, sizeof(p));
	return e;
}

void
notify_counts(struct notify *n, uint64_t *ret_sent, uint64_t *ret_failed,
    uint64_t *ret_given_up)
{
	pthread_mutex_lock(&n->lock);
	*ret_sent = n->sent;
	*ret_failed = n->failed;
	*ret_given_up = n->given_up;
	pthread_mutex_unlock(&n->lock);
}

void
notify_stop(struct notify *n)
{
	int	 i;

	if (n == NULL)
		return;
	pthread_mutex_lock(&n->lock);
	n->stopping = 1;
	pthread_cond_broadcast(&n->cond);
	pthread_mutex_unlock(&n->lock);
	for (i = 0; i < n->nworkers; i++)
		pthread_join(n->workers[i], NULL);
	db_close(n->db);
	pthread_cond_destroy(&n->cond);
	pthread_mutex_destroy(&n->lock);
	free(n->heap);
	free(n->conf);
	free(n);
}
