/*
 * sync: one pass of a mirror against its upstream (DESIGN.md section 5):
 * poll the upstream's /v1/state (with its ETag); for each channel the
 * mirror takes whose serial moved, fetch the manifest and signature,
 * accept them only when signed by a trusted key, newer than what is held
 * (rollback) and not expired (freeze); fetch each component by delta from
 * a version held, else whole (resuming a partial download), verify every
 * size and hash; make the deltas the mirror's own clients will ask for;
 * then record the state and switch to the manifest, byte for byte as
 * received, last. A channel that fails does not hold back the others.
 * Every outcome is an event in the state database.
 *
 * After a pass that completed (also one that found nothing new), the
 * mirror reports its inventory to the upstream (PUT
 * /v1/downstreams/{name}/inventory, report.h): the channels it takes,
 * each with the serial it holds (0: none yet), and the current version
 * of every component it holds there. The upstream answers with the
 * schedule it sets for this mirror, if any (sync_result.answer), which
 * the caller applies. A report that fails is logged; the pass stands.
 */
#ifndef SYNC_H
#define SYNC_H

#include <stdint.h>

#include "fetch.h"
#include "repo.h"

#define SYNC_STATE_MAX		(1u << 20)	/* the state document */
#define SYNC_PARALLEL		4		/* whole objects at once */
#define SYNC_REASON_MAX		256

struct sync_result {
	uint64_t	 upstream_serial;
	uint64_t	 bytes_full;	/* on the wire */
	uint64_t	 bytes_delta;
	double		 seconds_full;	/* fetching whole objects */
	double		 seconds_delta;	/* fetching and applying deltas */
	unsigned	 objects_full;
	unsigned	 objects_delta;
	unsigned	 channels_updated;
	unsigned	 channels_refused;	/* bad key, rollback, ... */
	unsigned	 components_unlicensed;	/* 403 from the upstream */
	int64_t		 retry_after;	/* seconds asked by the upstream, -1 */
	char		 reason[SYNC_REASON_MAX];	/* why it failed */
	/* 1 when the upstream took the inventory report: answer holds its
	 * answer */
	int		 reported;
	struct manifest_inventory_answer answer;
};

/* The name this mirror reports under: [upstream] downstream_name, else
 * the host name made a valid name (lower case; a character that may not
 * be in a name becomes '-'), else "mirror". */
void	 sync_downstream_name(const struct conf *c,
	    char out[CONF_NAME_MAX + 1]);

/* The fetch settings for the upstream of a configuration (pointers into
 * u, which must outlive them). */
void	 sync_fetch_config(const struct conf_upstream *u,
	    struct fetch_config *ret_fc);

/*
 * Runs one pass (why: what asked for it, for the event history); takes
 * the repository lock for its duration. Returns 0
 * when the pass completed (channels refused are counted and recorded),
 * or: -EACCES (the upstream rejected the license: 401/403), -EAGAIN (429
 * or 503: retry after res->retry_after), -EHOSTUNREACH, -ECONNREFUSED,
 * -ETIMEDOUT (upstream down or slow), -EPROTO (an unexpected answer),
 * -EINVAL (no upstream configured), or another -errno; res->reason says
 * why in words. Logs and records events itself, and the pass's
 * durations, bytes and view of the upstream's channels for the metrics
 * (metrics.h, METRICS_META_*).
 */
int	 sync_run(struct repo *r, const char *why, struct sync_result *res);

#endif
