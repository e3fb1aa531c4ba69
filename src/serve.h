/*
 * serve: `cascade serve`, the read side of the HTTP interface (DESIGN.md
 * section 4): /v1/state, channel manifests and signatures, objects and
 * deltas, and the long-poll /v1/events. The current manifests and the
 * state document are kept prebuilt in an immutable, reference-counted
 * snapshot; a new snapshot replaces it whole when a channel's `current`
 * link moves (checked every SERVE_POLL_MS), so no request sees half of a
 * publish. The snapshot also maps every object it names to its edition.
 *
 * Licenses (license.h): with none, everyone is served. Once there is one,
 * every endpoint but /v1/state asks for a valid license (401), and an
 * object of a higher edition than the license's answers 403. They are
 * reloaded within a tick of any change (their generation in the state
 * database is read every tick).
 *
 * /v1/events holds a request without a thread (http_suspend) until the
 * serial passes the client's or `wait` seconds pass; the main thread
 * wakes them every tick. At most 3/4 of connection_limit are held at
 * once (more get 503 with Retry-After). An agent an administrator asked
 * to sync (agents_sync_request) has its long-poll answered at once with
 * the state document, news or not; so has a downstream mirror's
 * (X-Cascade-Downstream: NAME) when a "run now" is asked for it
 * (report.h): at once, or within a tick while held.
 *
 * PUT /v1/downstreams/{name}/inventory is checked like the content (a
 * license when there are licenses) and handled by report.h.
 *
 * /v1/admin/ is the admin API's (admin.h), with its own tokens, request
 * bodies (uploads go to a file) and held requests; the main thread
 * hands it its ticks and takes its "sync now" for the mirror.
 */
#ifndef SERVE_H
#define SERVE_H

#include "repo.h"

#define SERVE_POLL_MS		200
#define SERVE_CHANNELS_MAX	256
#define SERVE_EVENTS_WAIT_DEFAULT 60	/* seconds /v1/events holds */
#define SERVE_EVENTS_WAIT_MAX	300	/* a larger wait is cut to this */

struct serve_options {
	const char	*listen[CONF_LISTEN_MAX];	/* overrides conf */
	int		 nlisten;
};

/* Runs until SIGTERM or SIGINT; SIGHUP reloads cascade.conf. Refuses to
 * start when a current manifest fails verification. Returns the exit
 * status. */
int	 serve_run(struct repo *r, const struct serve_options *o);

#endif
