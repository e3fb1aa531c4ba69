/*
 * metrics: what `cascade serve` tells Prometheus at GET /metrics (text
 * exposition format 0.0.4, each family with # HELP and # TYPE; the list
 * is in docs/operations.md). Three parts:
 *
 * - Counters that the request path bumps (metrics_count): C11 atomics
 *   with relaxed order, one cell per (endpoint, code), both from fixed
 *   sets, so that no request takes a lock and the label set stays bounded
 *   whatever clients send. An endpoint is named by its path
 *   (metrics_endpoint); a status outside METRICS_CODES is "other".
 * - Sync records: a mirror's sync pass (sync.c, in whichever process runs
 *   it) adds its duration and bytes per path, and its view of the
 *   upstream's channels, to the state database's meta table under the
 *   METRICS_META_* keys, as text that these functions format and parse.
 * - The collector: a thread with its own database connection that
 *   gathers what is slow to compute (the objects stored: a walk of
 *   DIR/objects, at most every METRICS_STORE_EVERY seconds; the agents by
 *   state: agents_state over all of them, every METRICS_AGENTS_EVERY) and
 *   the sync records, so that a scrape only copies values. It works only
 *   while someone scrapes (a scrape within METRICS_IDLE seconds).
 *
 * metrics_render writes the counters and the values a scrape gathered.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "agents.h"
#include "buf.h"
#include "conf.h"
#include "manifest.h"

#define METRICS_TEXT_MAX	(1u << 20)	/* a rendering, at most */
#define METRICS_CHANNELS_MAX	MANIFEST_STATE_CHANNELS_MAX
#define METRICS_META_MAX	(METRICS_CHANNELS_MAX * \
				    (MANIFEST_NAME_MAX + 48) + 64)
#define METRICS_STORE_EVERY	60	/* seconds between walks of objects/,
					 * or 20 times what one took */
#define METRICS_AGENTS_EVERY	5	/* seconds between agents' counts,
					 * or 20 times what one took */
#define METRICS_IDLE		600	/* no scrape for this long: idle */
#define METRICS_FIRST_WAIT_MS	2000	/* a scrape waits for a collection
					 * this long when idle before */

/* The endpoint label: "state", "manifest", "object", "delta", "events",
 * "agents", "admin", "console", "metrics", "downstreams", "other". */
enum metrics_endpoint {
	METRICS_EP_STATE, METRICS_EP_MANIFEST, METRICS_EP_OBJECT,
	METRICS_EP_DELTA, METRICS_EP_EVENTS, METRICS_EP_AGENTS,
	METRICS_EP_ADMIN, METRICS_EP_CONSOLE, METRICS_EP_METRICS,
	METRICS_EP_DOWNSTREAMS, METRICS_EP_OTHER,
	METRICS_EP_COUNT
};

/* The statuses counted by their own code label (any other: "other"). */
#define METRICS_CODES	{ 200, 201, 202, 204, 206, 304, 400, 401, 403, \
			    404, 405, 409, 413, 416, 429, 500, 503 }
#define METRICS_NCODES	17

/* The sync paths: objects fetched as deltas, or whole. */
enum metrics_path { METRICS_PATH_DELTA, METRICS_PATH_WHOLE,
	METRICS_PATH_COUNT };

/* The upper bounds (seconds) of the sync duration histogram's buckets,
 * +Inf aside. */
#define METRICS_SYNC_LE	{ 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 7200 }
#define METRICS_SYNC_BUCKETS	9

#define METRICS_AGENT_STATES	(AGENTS_OFFLINE + 1)

struct metrics;

/* NULL when out of memory. */
struct metrics *metrics_new(void);
void	 metrics_free(struct metrics *m);			/* NULL-safe */

/* The endpoint of a request path (without its query). The console is
 * every path outside /v1/ but /metrics; "other" the unknown ones in
 * /v1/. */
enum metrics_endpoint metrics_endpoint(const char *path);
const char *metrics_endpoint_name(enum metrics_endpoint ep);
/* One answer: its status and the body bytes it carries (0 for HEAD, 204,
 * 304). Lock-free; any thread. */
void	 metrics_count(struct metrics *m, enum metrics_endpoint ep,
	    unsigned status, uint64_t bytes);
/* A long-poll is held (+1) or ends (-1). Lock-free; any thread. */
void	 metrics_longpoll(struct metrics *m, int delta);
/* What metrics_count counted so far (a test's view). */
uint64_t metrics_requests(const struct metrics *m, enum metrics_endpoint ep,
	    unsigned status);
uint64_t metrics_bytes(const struct metrics *m, enum metrics_endpoint ep);

/*
 * The durations and bytes of sync passes by one path, kept in the meta
 * table (METRICS_META_SYNC_DELTA, _WHOLE) as "count sum_us bytes b0 ...
 * b8": a histogram (bucket[i] counts the passes of at most le[i]
 * seconds and more than le[i - 1]; those over the last bound count in
 * count only), the microseconds summed, the bytes on the wire.
 */
#define METRICS_META_SYNC_DELTA	"metrics.sync.delta"
#define METRICS_META_SYNC_WHOLE	"metrics.sync.whole"
/* "ok failed": the passes that completed, and those that failed. */
#define METRICS_META_SYNC_PASSES "metrics.sync.passes"
/* The upstream's channels this mirror takes, one a line: "NAME SERIAL
 * LAST_SUCCESS" (the upstream serial last seen; the unix time of the
 * last pass after which the mirror held that serial, 0 for never). */
#define METRICS_META_UPSTREAM	"metrics.sync.channels"

struct metrics_sync {
	uint64_t	 count;
	uint64_t	 sum_us;
	uint64_t	 bytes;
	uint64_t	 bucket[METRICS_SYNC_BUCKETS];
};

/* Adds one pass: seconds spent by the path (not counted when < 0) and
 * bytes fetched by it. */
void	 metrics_sync_observe(struct metrics_sync *s, double seconds,
	    uint64_t bytes);
/* "" parses as all zero. 0, -EBADMSG. */
int	 metrics_sync_parse(const char *text, struct metrics_sync *ret);
/* 0, -E2BIG (dst too small). */
int	 metrics_sync_format(const struct metrics_sync *s, char *dst,
	    size_t size);

/* METRICS_META_SYNC_PASSES text. 0, -EBADMSG. */
int	 metrics_passes_parse(const char *text, uint64_t *ret_ok,
	    uint64_t *ret_failed);

struct metrics_channel {
	char		 name[MANIFEST_NAME_MAX + 1];
	uint64_t	 serial;	/* the upstream's */
	int64_t		 last_success;	/* unix time; 0: never */
	uint64_t	 held;		/* this server's serial (scrape) */
};

/* Parses METRICS_META_UPSTREAM text into at most max channels (more are
 * cut). 0, -EBADMSG (a bad line or name). */
int	 metrics_channels_parse(const char *text, struct metrics_channel *ch,
	    size_t max, size_t *ret_n);
/* 0, -E2BIG, -ENOMEM. */
int	 metrics_channels_format(const struct metrics_channel *ch, size_t n,
	    struct buf *out);

/* Everything a scrape shows besides the counters. A have_ flag at 0
 * leaves its families without samples (not collected yet). */
struct metrics_values {
	int		 have_store;
	uint64_t	 store_objects;
	uint64_t	 store_bytes;
	int		 have_sync;
	struct metrics_sync sync[METRICS_PATH_COUNT];
	uint64_t	 passes_ok;
	uint64_t	 passes_failed;
	int		 upstream;	/* a mirror: the channels below */
	struct metrics_channel ch[METRICS_CHANNELS_MAX];
	size_t		 nch;
	int		 have_agents;
	uint64_t	 agents[METRICS_AGENT_STATES];
	int		 have_notify;
	uint64_t	 notify_sent;
	uint64_t	 notify_failed;
	uint64_t	 notify_given_up;
};

/* Appends the exposition text of m's counters and v to out (which the
 * caller inits with METRICS_TEXT_MAX or more). 0, -E2BIG, -ENOMEM. */
int	 metrics_render(const struct metrics *m,
	    const struct metrics_values *v, struct buf *out);

/* The collector (see the top). */
struct metrics_collector;

/* Opens its own connection to dir's state database, copies c, starts the
 * thread. 0 or -errno. */
int	 metrics_collector_start(const char *dir, const struct conf *c,
	    struct metrics_collector **ret);
/* A new configuration (SIGHUP). Thread-safe. */
void	 metrics_collector_set_conf(struct metrics_collector *mc,
	    const struct conf *c);
/* Copies the last values collected into v (the have_store, have_sync,
 * upstream, have_agents parts; the rest untouched) and marks the
 * collector wanted. After an idle time, waits up to
 * METRICS_FIRST_WAIT_MS for a collection. Thread-safe; NULL-safe (then
 * v is untouched). */
void	 metrics_collector_get(struct metrics_collector *mc,
	    struct metrics_values *v);
/* Stops the thread (a walk in progress ends at its next entry).
 * NULL-safe. */
void	 metrics_collector_stop(struct metrics_collector *mc);

#endif
