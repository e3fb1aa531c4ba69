/*
 * notify: the server's pushes to the agents that listen (`notify =
 * listen ADDR` in agent.conf; they report a notify URL). After new
 * content (notify_publish), every online licensed agent with a notify
 * URL is told with POST <URL> carrying "Authorization: Bearer <notify
 * key>" and {"serial": N}, each at a random moment within [notify]
 * window, at most [notify] max_concurrent at once. A push that fails is
 * retried every retry_interval, at most retry_max times, then given up;
 * each outcome is an agent event. A newer publish replaces a push still
 * waiting (and starts its retries afresh). Agents that were offline
 * catch up by themselves when they start or reconnect.
 *
 * The queue is in memory: a server restarted meanwhile loses its pending
 * retries, which costs nothing an agent's own schedule does not recover.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

#include <stdint.h>

#include "conf.h"

#define NOTIFY_WORKERS_MAX	16	/* threads pushing at once, at most */
#define NOTIFY_QUEUE_MAX	100000	/* agents waiting for a push */
#define NOTIFY_TIMEOUT		10	/* seconds to connect or stall */

struct notify;

/* Opens its own connection to dir's state database and starts the
 * workers (min(max_concurrent, NOTIFY_WORKERS_MAX)). 0 or -errno. */
int	 notify_start(const char *dir, const struct conf *c,
	    struct notify **ret_n);
/* Takes the [notify] settings of a new configuration (SIGHUP) for the
 * pushes queued from now on; the number of workers stays. */
void	 notify_set_conf(struct notify *n, const struct conf *c);
/* The served serial moved to `serial`: queue a push to each agent that
 * should get one. Returns the number queued, or -errno. */
int	 notify_publish(struct notify *n, uint64_t serial);
/* Queues a push to one agent now, whatever its state (an
 * administrator's "sync now"), retried as the others are. 0, -ENOENT
 * (it reports no notify URL), -E2BIG (the queue is full), -ENOMEM. */
struct db_agent;
int	 notify_agent(struct notify *n, const struct db_agent *ag,
	    uint64_t serial);
/* Pushes done, failed (and retried later), and given up, so far. */
void	 notify_counts(struct notify *n, uint64_t *ret_sent,
	    uint64_t *ret_failed, uint64_t *ret_given_up);
/* Stops the workers (a push in flight is abandoned). NULL-safe. */
void	 notify_stop(struct notify *n);

#endif
