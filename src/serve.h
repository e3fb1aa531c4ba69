/*
 * serve: `cascade serve`, the read side of the HTTP interface (DESIGN.md
 * section 4): /v1/state, channel manifests and signatures, objects and
 * deltas. The current manifests and the state document are kept prebuilt
 * in an immutable, reference-counted snapshot; a new snapshot replaces it
 * whole when a channel's `current` link moves (checked every
 * SERVE_POLL_MS), so no request sees half of a publish.
 */
#ifndef SERVE_H
#define SERVE_H

#include "repo.h"

#define SERVE_POLL_MS		200
#define SERVE_CHANNELS_MAX	256

struct serve_options {
	const char	*listen[CONF_LISTEN_MAX];	/* overrides conf */
	int		 nlisten;
};

/* Runs until SIGTERM or SIGINT; SIGHUP reloads cascade.conf. Refuses to
 * start when a current manifest fails verification. Returns the exit
 * status. */
int	 serve_run(struct repo *r, const struct serve_options *o);

#endif
