#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "fs.h"
#include "metrics.h"
#include "store.h"
#include "ts.h"
#include "banned.h"

static const unsigned	 metrics_codes[METRICS_NCODES] = METRICS_CODES;
static const double	 metrics_le[METRICS_SYNC_BUCKETS] = METRICS_SYNC_LE;
static const char	*metrics_path_names[METRICS_PATH_COUNT] = {
	"delta", "whole"
};
static const char	*metrics_ep_names[METRICS_EP_COUNT] = {
	"state", "manifest", "object", "delta", "events", "agents", "admin",
	"console", "metrics", "downstreams", "other"
};

struct metrics {
	/* the last column: "other" */
	_Atomic uint64_t	 requests[METRICS_EP_COUNT][METRICS_NCODES + 1];
	_Atomic uint64_t	 bytes[METRICS_EP_COUNT];
	_Atomic int64_t		 longpolls;
};

struct metrics *
metrics_new(void)
{
	struct metrics	*m;
	size_t		 i, j;

	m = malloc(sizeof(*m));
	if (m == NULL)
		return NULL;
	for (i = 0; i < METRICS_EP_COUNT; i++) {
		for (j = 0; j <= METRICS_NCODES; j++)
			atomic_init(&m->requests[i][j], 0);
		atomic_init(&m->bytes[i], 0);
	}
	atomic_init(&m->longpolls, 0);
	return m;
}

void
metrics_free(struct metrics *m)
{
	free(m);
}

/* 1 if path is prefix, or prefix followed by '/' and more. */
static int
metrics_under(const char *path, const char *prefix)
{
	size_t	 n = strlen(prefix);

	return strncmp(path, prefix, n) == 0 &&
	    (path[n] == '\0' || path[n] == '/');
}

enum metrics_endpoint
metrics_endpoint(const char *path)
{
	if (path == NULL)
		return METRICS_EP_OTHER;
	if (strcmp(path, "/metrics") == 0)
		return METRICS_EP_METRICS;
	if (strncmp(path, "/v1/", 4) != 0 && strcmp(path, "/v1") != 0)
		return METRICS_EP_CONSOLE;
	if (strcmp(path, "/v1/state") == 0)
		return METRICS_EP_STATE;
	if (metrics_under(path, "/v1/channels"))
		return METRICS_EP_MANIFEST;
	if (metrics_under(path, "/v1/objects"))
		return METRICS_EP_OBJECT;
	if (metrics_under(path, "/v1/deltas"))
		return METRICS_EP_DELTA;
	if (strcmp(path, "/v1/events") == 0)
		return METRICS_EP_EVENTS;
	if (metrics_under(path, "/v1/agents"))
		return METRICS_EP_AGENTS;
	if (metrics_under(path, "/v1/admin"))
		return METRICS_EP_ADMIN;
	if (metrics_under(path, "/v1/downstreams"))
		return METRICS_EP_DOWNSTREAMS;
	return METRICS_EP_OTHER;
}

const char *
metrics_endpoint_name(enum metrics_endpoint ep)
{
	return (unsigned)ep < METRICS_EP_COUNT ? metrics_ep_names[ep] : "other";
}

/* The column of a status: its index in metrics_codes, or METRICS_NCODES
 * for "other". */
static size_t
metrics_code_index(unsigned status)
{
	size_t	 i;

	for (i = 0; i < METRICS_NCODES; i++)
		if (metrics_codes[i] == status)
			return i;
	return METRICS_NCODES;
}

void
metrics_count(struct metrics *m, enum metrics_endpoint ep, unsigned status,
    uint64_t bytes)
{
	if (m == NULL)
		return;
	if ((unsigned)ep >= METRICS_EP_COUNT)
		ep = METRICS_EP_OTHER;
	atomic_fetch_add_explicit(&m->requests[ep][metrics_code_index(status)],
	    1, memory_order_relaxed);
	if (bytes > 0)
		atomic_fetch_add_explicit(&m->bytes[ep], bytes,
		    memory_order_relaxed);
}

void
metrics_longpoll(struct metrics *m, int delta)
{
	if (m != NULL)
		atomic_fetch_add_explicit(&m->longpolls, delta,
		    memory_order_relaxed);
}

uint64_t
metrics_requests(const struct metrics *m, enum metrics_endpoint ep,
    unsigned status)
{
	if ((unsigned)ep >= METRICS_EP_COUNT)
		ep = METRICS_EP_OTHER;
	return atomic_load_explicit(
	    &m->requests[ep][metrics_code_index(status)],
	    memory_order_relaxed);
}

uint64_t
metrics_bytes(const struct metrics *m, enum metrics_endpoint ep)
{
	if ((unsigned)ep >= METRICS_EP_COUNT)
		ep = METRICS_EP_OTHER;
	return atomic_load_explicit(&m->bytes[ep], memory_order_relaxed);
}

/* Sync records */

void
metrics_sync_observe(struct metrics_sync *s, double seconds, uint64_t bytes)
{
	size_t	 i;

	s->bytes += bytes;
	if (seconds < 0)
		return;
	s->count++;
	s->sum_us += (uint64_t)(seconds * 1e6 + 0.5);
	for (i = 0; i < METRICS_SYNC_BUCKETS; i++)
		if (seconds <= metrics_le[i]) {
			s->bucket[i]++;
			break;
		}
}

/* The next space-separated decimal of *p. 0 or -EBADMSG. */
static int
metrics_next_u64(const char **p, uint64_t *ret)
{
	char		 num[24];
	const char	*s = *p;
	size_t		 n;

	while (*s == ' ')
		s++;
	n = strspn(s, "0123456789");
	if (n == 0 || n >= sizeof(num))
		return -EBADMSG;
	memcpy(num, s, n);
	num[n] = '\0';
	*p = s + n;
	return ts_parse_u64(num, 0, UINT64_MAX, ret) < 0 ? -EBADMSG : 0;
}

int
metrics_sync_parse(const char *text, struct metrics_sync *ret)
{
	struct metrics_sync	 s;
	const char		*p = text;
	size_t			 i;

	memset(&s, 0, sizeof(s));
	if (*p == '\0') {
		*ret = s;
		return 0;
	}
	if (metrics_next_u64(&p, &s.count) < 0 ||
	    metrics_next_u64(&p, &s.sum_us) < 0 ||
	    metrics_next_u64(&p, &s.bytes) < 0)
		return -EBADMSG;
	for (i = 0; i < METRICS_SYNC_BUCKETS; i++)
		if (metrics_next_u64(&p, &s.bucket[i]) < 0)
			return -EBADMSG;
	if (*p != '\0')
		return -EBADMSG;
	*ret = s;
	return 0;
}

int
metrics_sync_format(const struct metrics_sync *s, char *dst, size_t size)
{
	size_t	 used, i;
	int	 n;

	n = snprintf(dst, size, "%llu %llu %llu", (unsigned long long)s->count,
	    (unsigned long long)s->sum_us, (unsigned long long)s->bytes);
	if (n < 0 || (size_t)n >= size)
		return -E2BIG;
	used = (size_t)n;
	for (i = 0; i < METRICS_SYNC_BUCKETS; i++) {
		n = snprintf(dst + used, size - used, " %llu",
		    (unsigned long long)s->bucket[i]);
		if (n < 0 || (size_t)n >= size - used)
			return -E2BIG;
		used += (size_t)n;
	}
	return 0;
}

int
metrics_passes_parse(const char *text, uint64_t *ret_ok, uint64_t *ret_failed)
{
	const char	*p = text;
	uint64_t	 ok, failed;

	if (metrics_next_u64(&p, &ok) < 0 ||
	    metrics_next_u64(&p, &failed) < 0 || *p != '\0')
		return -EBADMSG;
	*ret_ok = ok;
	*ret_failed = failed;
	return 0;
}

int
metrics_channels_parse(const char *text, struct metrics_channel *ch,
    size_t max, size_t *ret_n)
{
	const char	*p = text, *e;
	size_t		 n = 0, len;
	uint64_t	 last;

	while (*p != '\0') {
		struct metrics_channel	 c;

		memset(&c, 0, sizeof(c));
		len = strcspn(p, " \n");
		if (len == 0 || len > MANIFEST_NAME_MAX || p[len] != ' ')
			return -EBADMSG;
		memcpy(c.name, p, len);
		c.name[len] = '\0';
		if (!conf_valid_name(c.name, 0))
			return -EBADMSG;
		p += len;
		if (metrics_next_u64(&p, &c.serial) < 0 ||
		    metrics_next_u64(&p, &last) < 0 || last > INT64_MAX)
			return -EBADMSG;
		c.last_success = (int64_t)last;
		e = p;
		if (*e == '\n')
			e++;
		else if (*e != '\0')
			return -EBADMSG;
		p = e;
		if (n < max)
			ch[n++] = c;
	}
	*ret_n = n;
	return 0;
}

int
metrics_channels_format(const struct metrics_channel *ch, size_t n,
    struct buf *out)
{
	size_t	 i;
	int	 e = 0;

	for (i = 0; e == 0 && i < n; i++)
		e = buf_printf(out, "%s %llu %lld\n", ch[i].name,
		    (unsigned long long)ch[i].serial,
		    (long long)ch[i].last_success);
	return e;
}

/* Rendering */

/* A label value, escaped as the text format asks (backslash, double
 * quote, line feed). */
static int
metrics_label(struct buf *out, const char *value)
{
	const char	*p;
	int		 e = 0;

	for (p = value; e == 0 && *p != '\0'; p++) {
		if (*p == '\\')
			e = buf_puts(out, "\\\\");
		else if (*p == '"')
			e = buf_puts(out, "\\\"");
		else if (*p == '\n')
			e = buf_puts(out, "\\n");
		else
			e = buf_append(out, p, 1);
	}
	return e;
}

static int
metrics_family(struct buf *out, const char *name, const char *type,
    const char *help)
{
	return buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* name{label="value"} number */
static int
metrics_sample1(struct buf *out, const char *name, const char *label,
    const char *value, uint64_t n)
{
	int	 e;

	e = buf_printf(out, "%s{%s=\"", name, label);
	if (e == 0)
		e = metrics_label(out, value);
	if (e == 0)
		e = buf_printf(out, "\"} %llu\n", (unsigned long long)n);
	return e;
}

static int
metrics_render_http(const struct metrics *m, struct buf *out)
{
	char		 code[16];
	uint64_t	 n;
	size_t		 ep, i;
	int		 e;

	e = metrics_family(out, "cascade_http_requests_total", "counter",
	    "HTTP requests answered, by endpoint and status code.");
	for (ep = 0; e == 0 && ep < METRICS_EP_COUNT; ep++)
		for (i = 0; e == 0 && i <= METRICS_NCODES; i++) {
			n = atomic_load_explicit(&m->requests[ep][i],
			    memory_order_relaxed);
			if (n == 0)
				continue;
			if (i < METRICS_NCODES)
				snprintf(code, sizeof(code), "%u",
				    metrics_codes[i]);
			else
				snprintf(code, sizeof(code), "other");
			e = buf_printf(out, "cascade_http_requests_total{"
			    "endpoint=\"%s\",code=\"%s\"} %llu\n",
			    metrics_ep_names[ep], code, (unsigned long long)n);
		}
	if (e == 0)
		e = metrics_family(out, "cascade_http_response_bytes_total",
		    "counter", "Bytes of response bodies sent, by endpoint.");
	for (ep = 0; e == 0 && ep < METRICS_EP_COUNT; ep++)
		e = metrics_sample1(out, "cascade_http_response_bytes_total",
		    "endpoint", metrics_ep_names[ep], atomic_load_explicit(
		    &m->bytes[ep], memory_order_relaxed));
	if (e == 0)
		e = metrics_family(out, "cascade_longpolls_open", "gauge",
		    "Long-polls held open now (GET /v1/events).");
	if (e == 0) {
		int64_t lp = atomic_load_explicit(&m->longpolls,
		    memory_order_relaxed);

		e = buf_printf(out, "cascade_longpolls_open %lld\n",
		    (long long)(lp < 0 ? 0 : lp));
	}
	return e;
}

static int
metrics_render_store(const struct metrics_values *v, struct buf *out)
{
	int	 e;

	e = metrics_family(out, "cascade_store_objects", "gauge",
	    "Objects in the store (versions and deltas), counted at most "
	    "every minute.");
	if (e == 0 && v->have_store)
		e = buf_printf(out, "cascade_store_objects %llu\n",
		    (unsigned long long)v->store_objects);
	if (e == 0)
		e = metrics_family(out, "cascade_store_bytes", "gauge",
		    "Bytes of the objects in the store, counted at most every "
		    "minute.");
	if (e == 0 && v->have_store)
		e = buf_printf(out, "cascade_store_bytes %llu\n",
		    (unsigned long long)v->store_bytes);
	return e;
}

static int
metrics_render_sync(const struct metrics_values *v, struct buf *out)
{
	const char	*h = "cascade_sync_duration_seconds";
	uint64_t	 cum;
	size_t		 p, i;
	int		 e, on = v->have_sync && v->upstream;

	e = metrics_family(out, h, "histogram", "Time a sync pass spent "
	    "fetching objects, by path (delta or whole).");
	for (p = 0; e == 0 && on && p < METRICS_PATH_COUNT; p++) {
		const struct metrics_sync *s = &v->sync[p];

		cum = 0;
		for (i = 0; e == 0 && i < METRICS_SYNC_BUCKETS; i++) {
			cum += s->bucket[i];
			e = buf_printf(out, "%s_bucket{path=\"%s\",le=\"%g\"} "
			    "%llu\n", h, metrics_path_names[p], metrics_le[i],
			    (unsigned long long)cum);
		}
		if (e == 0)
			e = buf_printf(out, "%s_bucket{path=\"%s\",le=\"+Inf\"} "
			    "%llu\n%s_sum{path=\"%s\"} %llu.%06llu\n"
			    "%s_count{path=\"%s\"} %llu\n", h,
			    metrics_path_names[p], (unsigned long long)s->count,
			    h, metrics_path_names[p],
			    (unsigned long long)(s->sum_us / 1000000),
			    (unsigned long long)(s->sum_us % 1000000),
			    h, metrics_path_names[p],
			    (unsigned long long)s->count);
	}
	if (e == 0)
		e = metrics_family(out, "cascade_sync_bytes_total", "counter",
		    "Bytes fetched from the upstream, by path (delta or "
		    "whole).");
	for (p = 0; e == 0 && on && p < METRICS_PATH_COUNT; p++)
		e = metrics_sample1(out, "cascade_sync_bytes_total", "path",
		    metrics_path_names[p], v->sync[p].bytes);
	if (e == 0)
		e = metrics_family(out, "cascade_sync_passes_total", "counter",
		    "Sync passes against the upstream, by result (ok or "
		    "failed).");
	if (e == 0 && on)
		e = buf_printf(out, "cascade_sync_passes_total{result=\"ok\"} "
		    "%llu\ncascade_sync_passes_total{result=\"failed\"} %llu\n",
		    (unsigned long long)v->passes_ok,
		    (unsigned long long)v->passes_failed);
	if (e == 0)
		e = metrics_family(out,
		    "cascade_sync_last_success_timestamp_seconds", "gauge",
		    "When a sync pass last left the channel at the upstream's "
		    "serial (unix time; 0: never).");
	for (i = 0; e == 0 && v->upstream && i < v->nch; i++)
		e = metrics_sample1(out,
		    "cascade_sync_last_success_timestamp_seconds", "channel",
		    v->ch[i].name, (uint64_t)(v->ch[i].last_success < 0 ? 0 :
		    v->ch[i].last_success));
	if (e == 0)
		e = metrics_family(out, "cascade_upstream_serials_behind",
		    "gauge", "Serials the channel is behind the upstream, as "
		    "the mirror last saw the upstream's state.");
	for (i = 0; e == 0 && v->upstream && i < v->nch; i++)
		e = metrics_sample1(out, "cascade_upstream_serials_behind",
		    "channel", v->ch[i].name, v->ch[i].serial > v->ch[i].held ?
		    v->ch[i].serial - v->ch[i].held : 0);
	return e;
}

static int
metrics_render_agents(const struct metrics_values *v, struct buf *out)
{
	size_t	 i;
	int	 e;

	e = metrics_family(out, "cascade_agents", "gauge",
	    "Enrolled agents, by state.");
	for (i = 0; e == 0 && v->have_agents && i < METRICS_AGENT_STATES; i++)
		e = metrics_sample1(out, "cascade_agents", "state",
		    agents_state_name((enum agents_state)i), v->agents[i]);
	if (e == 0)
		e = metrics_family(out, "cascade_notifications_sent_total",
		    "counter", "Pushes to agents' notify URLs that they "
		    "accepted.");
	if (e == 0 && v->have_notify)
		e = buf_printf(out, "cascade_notifications_sent_total %llu\n",
		    (unsigned long long)v->notify_sent);
	if (e == 0)
		e = metrics_family(out, "cascade_notifications_failed_total",
		    "counter", "Pushes to agents that failed (each retry "
		    "counts).");
	if (e == 0 && v->have_notify)
		e = buf_printf(out, "cascade_notifications_failed_total "
		    "%llu\n", (unsigned long long)v->notify_failed);
	if (e == 0)
		e = metrics_family(out, "cascade_notifications_given_up_total",
		    "counter", "Pushes given up after their last retry.");
	if (e == 0 && v->have_notify)
		e = buf_printf(out, "cascade_notifications_given_up_total "
		    "%llu\n", (unsigned long long)v->notify_given_up);
	return e;
}

int
metrics_render(const struct metrics *m, const struct metrics_values *v,
    struct buf *out)
{
	int	 e;

	e = metrics_render_http(m, out);
	if (e == 0)
		e = metrics_render_store(v, out);
	if (e == 0)
		e = metrics_render_sync(v, out);
	if (e == 0)
		e = metrics_render_agents(v, out);
	return e;
}

/* The collector */

struct metrics_collector {
	char			 dir[FS_PATH_MAX];
	struct db		*db;		/* the thread's */
	struct store		 store;
	pthread_t		 thread;
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* the thread waits on it */
	pthread_cond_t		 done;		/* a collection ended */
	_Atomic int		 stop;
	/* under lock: */
	struct conf		*conf;
	int64_t			 wanted;	/* last scrape, ms; 0: never */
	uint64_t		 generation;	/* collections so far */
	struct metrics_values	*v;		/* the collected parts */
};

static int64_t
metrics_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
metrics_deadline(struct timespec *ts, int64_t ms)
{
	ts->tv_sec = (time_t)(ms / 1000);
	ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

struct metrics_walk {
	struct metrics_collector	*mc;
	uint64_t			 objects;
	uint64_t			 bytes;
};

static int
metrics_walk_one(const char *name, int bad, void *arg)
{
	struct metrics_walk	*w = arg;
	uint64_t		 size;

	if (atomic_load(&w->mc->stop))
		return -ECANCELED;
	if (bad)
		return 0;
	if (store_has(&w->mc->store, name, &size) == 1) {
		w->objects++;
		w->bytes += size;
	}
	return 0;
}

/* The sync records and the upstream's channels, into v. */
static void
metrics_collect_sync(struct metrics_collector *mc, const struct conf *c,
    struct metrics_values *v)
{
	char	 line[512], *text;
	size_t	 i, p;
	int	 e;

	v->have_sync = 0;
	v->upstream = c->upstream.url[0] != '\0';
	v->nch = 0;
	if (!v->upstream)
		return;
	for (p = 0; p < METRICS_PATH_COUNT; p++) {
		memset(&v->sync[p], 0, sizeof(v->sync[p]));
		e = db_meta_get(mc->db, p == METRICS_PATH_DELTA ?
		    METRICS_META_SYNC_DELTA : METRICS_META_SYNC_WHOLE, line,
		    sizeof(line));
		if (e == 0 && metrics_sync_parse(line, &v->sync[p]) < 0)
			memset(&v->sync[p], 0, sizeof(v->sync[p]));
		else if (e < 0 && e != -ENOENT)
			return;
	}
	v->passes_ok = v->passes_failed = 0;
	e = db_meta_get(mc->db, METRICS_META_SYNC_PASSES, line, sizeof(line));
	if (e == 0 && metrics_passes_parse(line, &v->passes_ok,
	    &v->passes_failed) < 0)
		v->passes_ok = v->passes_failed = 0;
	v->have_sync = 1;
	text = malloc(METRICS_META_MAX);
	if (text == NULL)
		return;
	if (db_meta_get(mc->db, METRICS_META_UPSTREAM, text,
	    METRICS_META_MAX) == 0 && metrics_channels_parse(text, v->ch,
	    METRICS_CHANNELS_MAX, &v->nch) < 0)
		v->nch = 0;
	free(text);
	for (i = 0; i < v->nch; i++)
		if (db_channel_serial(mc->db, v->ch[i].name,
		    &v->ch[i].held) < 0)
			v->ch[i].held = 0;
}

/* The agents by state, into v. */
static void
metrics_collect_agents(struct metrics_collector *mc, const struct conf *c,
    struct metrics_values *v)
{
	struct agents_ref	*ref = NULL;
	struct db_agent		*ag = NULL;
	char			 why[512];
	size_t			 n = 0, i;
	time_t			 now = time(NULL);
	int			 e;

	e = db_agents(mc->db, &ag, &n);
	if (e == 0)
		e = agents_ref_load(mc->db, mc->dir, &ref);
	if (e == 0) {
		memset(v->agents, 0, sizeof(v->agents));
		for (i = 0; i < n; i++)
			v->agents[agents_state(ref, c, &ag[i], now, why,
			    sizeof(why))]++;
		v->have_agents = 1;
	}
	agents_ref_free(ref);
	db_agents_free(ag, n);
	free(ag);
}

static void *
metrics_collector_main(void *arg)
{
	struct metrics_collector	*mc = arg;
	struct metrics_values		*tmp;
	struct metrics_walk		 w;
	struct timespec			 ts;
	struct conf			*c;
	int64_t				 now, took, next_fast = 0;
	int64_t				 next_store = 0;

	tmp = malloc(sizeof(*tmp));
	c = malloc(sizeof(*c));
	if (tmp == NULL || c == NULL) {
		free(tmp);
		free(c);
		return NULL;
	}
	pthread_mutex_lock(&mc->lock);
	while (!atomic_load(&mc->stop)) {
		now = metrics_now_ms();
		if (mc->wanted == 0 || now - mc->wanted >=
		    (int64_t)METRICS_IDLE * 1000) {
			pthread_cond_wait(&mc->wake, &mc->lock);
			continue;
		}
		if (now < next_fast && now < next_store) {
			metrics_deadline(&ts, next_fast < next_store ?
			    next_fast : next_store);
			pthread_cond_timedwait(&mc->wake, &mc->lock, &ts);
			continue;
		}
		*c = *mc->conf;
		*tmp = *mc->v;
		pthread_mutex_unlock(&mc->lock);
		if (now >= next_fast) {
			metrics_collect_sync(mc, c, tmp);
			metrics_collect_agents(mc, c, tmp);
			/* a fleet so large that counting takes long is
			 * counted less often: 5% of a core at most */
			took = metrics_now_ms() - now;
			next_fast = now + took + (20 * took >
			    (int64_t)METRICS_AGENTS_EVERY * 1000 ? 20 * took :
			    (int64_t)METRICS_AGENTS_EVERY * 1000);
			pthread_mutex_lock(&mc->lock);
			*mc->v = *tmp;
			mc->generation++;
			pthread_cond_broadcast(&mc->done);
			pthread_mutex_unlock(&mc->lock);
		}
		if (now >= next_store) {
			memset(&w, 0, sizeof(w));
			w.mc = mc;
			if (store_foreach(&mc->store, metrics_walk_one,
			    &w) == 0) {
				pthread_mutex_lock(&mc->lock);
				mc->v->have_store = 1;
				mc->v->store_objects = w.objects;
				mc->v->store_bytes = w.bytes;
				pthread_cond_broadcast(&mc->done);
				pthread_mutex_unlock(&mc->lock);
			}
			took = metrics_now_ms() - now;
			next_store = now + took + (20 * took >
			    (int64_t)METRICS_STORE_EVERY * 1000 ? 20 * took :
			    (int64_t)METRICS_STORE_EVERY * 1000);
		}
		pthread_mutex_lock(&mc->lock);
	}
	pthread_mutex_unlock(&mc->lock);
	free(tmp);
	free(c);
	return NULL;
}

static void
metrics_collector_free(struct metrics_collector *mc)
{
	db_close(mc->db);
	free(mc->conf);
	free(mc->v);
	free(mc);
}

int
metrics_collector_start(const char *dir, const struct conf *c,
    struct metrics_collector **ret)
{
	struct metrics_collector	*mc;
	pthread_condattr_t		 ca;
	char				 path[FS_PATH_MAX];
	int				 e;

	mc = calloc(1, sizeof(*mc));
	if (mc == NULL)
		return -ENOMEM;
	mc->conf = malloc(sizeof(*mc->conf));
	mc->v = calloc(1, sizeof(*mc->v));
	if (mc->conf == NULL || mc->v == NULL) {
		metrics_collector_free(mc);
		return -ENOMEM;
	}
	*mc->conf = *c;
	atomic_init(&mc->stop, 0);
	e = fs_path(mc->dir, sizeof(mc->dir), "%s", dir);
	if (e == 0)
		e = fs_path(path, sizeof(path), "%s/state.db", dir);
	if (e == 0)
		e = db_open(path, c->state, 0, &mc->db);
	if (e == 0)
		e = store_open(&mc->store, dir, 0);
	if (e < 0) {
		metrics_collector_free(mc);
		return e;
	}
	pthread_mutex_init(&mc->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&mc->wake, &ca);
	pthread_cond_init(&mc->done, &ca);
	pthread_condattr_destroy(&ca);
	e = pthread_create(&mc->thread, NULL, metrics_collector_main, mc);
	if (e != 0) {
		pthread_cond_destroy(&mc->wake);
		pthread_cond_destroy(&mc->done);
		pthread_mutex_destroy(&mc->lock);
		metrics_collector_free(mc);
		return -e;
	}
	*ret = mc;
	return 0;
}

void
metrics_collector_set_conf(struct metrics_collector *mc, const struct conf *c)
{
	if (mc == NULL)
		return;
	pthread_mutex_lock(&mc->lock);
	*mc->conf = *c;
	pthread_mutex_unlock(&mc->lock);
}

void
metrics_collector_get(struct metrics_collector *mc, struct metrics_values *v)
{
	struct timespec	 ts;
	int64_t		 now = metrics_now_ms(), until;
	uint64_t	 gen;

	if (mc == NULL)
		return;
	pthread_mutex_lock(&mc->lock);
	if (mc->wanted == 0 || now - mc->wanted >=
	    (int64_t)METRICS_IDLE * 1000) {
		/* idle until now: wait a little for fresh values */
		mc->wanted = now;
		pthread_cond_signal(&mc->wake);
		gen = mc->generation;
		until = now + METRICS_FIRST_WAIT_MS;
		metrics_deadline(&ts, until);
		while ((mc->generation == gen || !mc->v->have_store) &&
		    metrics_now_ms() < until && !atomic_load(&mc->stop))
			pthread_cond_timedwait(&mc->done, &mc->lock, &ts);
	}
	mc->wanted = now;
	v->have_store = mc->v->have_store;
	v->store_objects = mc->v->store_objects;
	v->store_bytes = mc->v->store_bytes;
	v->have_sync = mc->v->have_sync;
	memcpy(v->sync, mc->v->sync, sizeof(v->sync));
	v->passes_ok = mc->v->passes_ok;
	v->passes_failed = mc->v->passes_failed;
	v->upstream = mc->v->upstream;
	v->nch = mc->v->nch;
	memcpy(v->ch, mc->v->ch, mc->v->nch * sizeof(v->ch[0]));
	v->have_agents = mc->v->have_agents;
	memcpy(v->agents, mc->v->agents, sizeof(v->agents));
	pthread_mutex_unlock(&mc->lock);
}

void
metrics_collector_stop(struct metrics_collector *mc)
{
	if (mc == NULL)
		return;
	pthread_mutex_lock(&mc->lock);
	atomic_store(&mc->stop, 1);
	pthread_cond_broadcast(&mc->wake);
	pthread_cond_broadcast(&mc->done);
	pthread_mutex_unlock(&mc->lock);
	pthread_join(mc->thread, NULL);
	pthread_cond_destroy(&mc->wake);
	pthread_cond_destroy(&mc->done);
	pthread_mutex_destroy(&mc->lock);
	metrics_collector_free(mc);
}
