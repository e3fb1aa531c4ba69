/*
 * agents: the server's side of cascade-agent (DESIGN.md section 6): the
 * endpoints under /v1/agents, the state of each agent as the server
 * derives it, and what `cascade agents` shows and changes.
 *
 *   POST /v1/agents               enrol (manifest_enrol): 201 with
 *                                 manifest_enrolled
 *   PUT  /v1/agents/{id}/status   agent token: a status report
 *                                 (manifest_agent_status): 204
 *   GET  /v1/agents/{id}/policy   agent token: the group's policy
 *                                 (manifest_policy_emit): 200
 *
 * Enrolment: with no license configured (the open default) anyone may
 * enrol and is licensed at once. Otherwise the enrolment key must be a
 * valid license key; the agent is then licensed at once with [agents]
 * auto_license (the default), else pending until `cascade agents
 * license ID`. Every answer that is not a success is a JSON error.
 *
 * Agents' own requests are checked against their row in the database
 * (fresher than a loaded credential set: an agent may report at once
 * after it enrolled). A status report is kept whole; an event is
 * recorded only when its result, message or installed versions change,
 * so that a fleet polling does not flood the history.
 *
 * State, derived when asked (agents_state), the first that applies:
 * pending (not licensed), offline (no request for AGENTS_OFFLINE_PERIODS
 * periods of its group's schedule), licensed (no report yet), failed
 * (last report failed), diverged (it reports another group than its
 * own, holds another group's configuration, or accepts none of the
 * channel keys), behind (a component it holds or its group selects is
 * older than the server's or missing), current.
 */
#ifndef AGENTS_H
#define AGENTS_H

#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "db.h"
#include "http.h"
#include "license.h"
#include "manifest.h"

#define AGENTS_OFFLINE_PERIODS	3
#define AGENTS_SEG_MAX		(MANIFEST_NAME_MAX + 8)

enum agents_state {
	AGENTS_PENDING, AGENTS_LICENSED, AGENTS_CURRENT, AGENTS_BEHIND,
	AGENTS_DIVERGED, AGENTS_FAILED, AGENTS_OFFLINE
};
#define AGENTS_STATES		(AGENTS_OFFLINE + 1)

struct agents;

/* Opens its own connection to dir's state database; c is copied.
 * 0 or -errno. */
int	 agents_open(const char *dir, const struct conf *c,
	    struct agents **ret_a);
void	 agents_close(struct agents *a);			/* NULL-safe */
/* A new configuration (SIGHUP). Thread-safe against agents_handle. */
void	 agents_set_conf(struct agents *a, const struct conf *c);

/* Handles a request whose path is /v1/agents or below it: seg are the
 * n path segments ("v1", "agents", ...); ls is the credential set whose
 * licenses an enrolment key is checked against (agents' own requests
 * are checked against the database). Request bodies must be enabled
 * (http_config body_max >= MANIFEST_DOC_MAX). Thread-safe. */
void	 agents_handle(struct agents *a, struct http_request *req,
	    const struct license_set *ls, char seg[][AGENTS_SEG_MAX], int n);

/* license_check_agent against the database rather than a loaded set:
 * for a request that the set refused, since an agent may come in the
 * moment after it enrolled, before the server reloads its set. The
 * same answers: 0 (ret_* filled), -ENOENT, -EACCES; -EIO when the
 * database cannot be read. */
int	 agents_check(struct agents *a, const char *id,
	    const char *authorization, int *ret_rank, int *ret_licensed);

/*
 * What agents are compared with, loaded once for any number of
 * agents_state calls: the newest version of each component over every
 * channel (db_current), the key id of each channel's current manifest
 * (DIR/channels/CH/current/manifest.minisig; a channel without one is
 * left out) and the licenses' editions. 0, -ENOMEM, or db's errors.
 */
struct agents_ref;

int	 agents_ref_load(struct db *db, const char *dir,
	    struct agents_ref **ret_ref);
void	 agents_ref_free(struct agents_ref *ref);		/* NULL-safe */

/* The state of one agent now, against ref and the group policies in c;
 * `why` gets a short reason ("virus-pattern 3 < 4", the failure
 * message, ...; "" when there is none). */
enum agents_state agents_state(const struct agents_ref *ref,
	    const struct conf *c, const struct db_agent *ag, time_t now,
	    char *why, size_t whysize);
/* 1 unless the agent is offline: it was heard from (any request, or its
 * enrolment) within AGENTS_OFFLINE_PERIODS periods of its group's
 * schedule. Whom the server pushes to. */
int	 agents_online(const struct conf *c, const struct db_agent *ag,
	    time_t now);
/* The seconds between two scheduled syncs of a group's agents: its
 * schedule's period, or that of the default `every 60m`. */
int64_t	 agents_period(const struct conf *c, const char *group);

const char *agents_state_name(enum agents_state s);
/* 1 if s is the name of a state, else 0. */
int	 agents_valid_state(const char *s);

/*
 * What `cascade agents --json` prints and GET /v1/admin/agents answers,
 * from one emitter: a JSON array, one object per line, of each agent
 * ("id", "state", "reason", "group", "hostname", "licensed", "enrolled",
 * "last_seen", "last_report", "notify_url", "status": its last report or
 * null), by enrolment time, in the states and group given (NULL: any).
 * Appended to out. 0, -E2BIG (out's cap), -ENOMEM, db's errors.
 */
int	 agents_json(struct db *db, const char *dir, const struct conf *c,
	    const char *state, const char *group, struct buf *out);
/* One agent's object and a newline. -ENOENT when there is none. */
int	 agents_json_get(struct db *db, const char *dir, const struct conf *c,
	    const char *id, struct buf *out);
/* How many agents are in each state (counts[state]) and in all. */
int	 agents_census(struct db *db, const char *dir, const struct conf *c,
	    size_t counts[AGENTS_STATES], size_t *ret_total);

/*
 * An administrator's change to one agent, and its event, in one
 * transaction: cmd "license", "unlicense", "group" (to group, which must
 * be the default group or a [group NAME] of c) or "remove". by says who
 * in the event ("'cascade agents'", "admin token 'ops'"). On success
 * *ret_ag (if not NULL) gets the agent as it is now (removed: as it
 * was; the caller frees it with db_agents_free(ag, 1)). 0 (changed), 1
 * (it was so already: no change, no event), -ENOENT (no such agent),
 * -EINVAL (no such group or command), db's errors.
 */
int	 agents_apply(struct db *db, const struct conf *c, const char *id,
	    const char *cmd, const char *group, const char *by,
	    struct db_agent *ret_ag);

/*
 * "Sync now" for an agent that does not listen for pushes: the request
 * is kept in memory until the agent comes: its held long-poll is
 * answered at once (serve.c, with the state document even if no serial
 * moved, which the agent takes as a request to sync), and a policy
 * fetch (which an agent makes as it syncs) meets it. At most
 * AGENTS_ASKED_MAX wait at once. Thread-safe.
 */
#define AGENTS_ASKED_MAX	100000
/* 0, -EINVAL (not an agent id), -E2BIG, -ENOMEM. */
int	 agents_sync_request(struct agents *a, const char *id);
/* Grows with every request: whether held long-polls need a look. */
uint64_t agents_sync_generation(struct agents *a);
/* 1 if a sync was asked of agent id and authorization is its token
 * (the request is then taken away), else 0. */
int	 agents_sync_take(struct agents *a, const char *id,
	    const char *authorization);

/* `cascade agents [-d DIR | --server URL --token FILE] [--json] [--state
 * S] [--group G] [license ID | unlicense ID | group ID NAME | remove ID |
 * notify ID]`: argv[0] is "agents" (main passes its argv from the
 * command on). With --server, the same through a running server's admin
 * API (remote.h), printing the same; notify needs a server. An ID may
 * be shortened to a unique prefix of at least AGENTS_ID_PREFIX_MIN
 * characters. The exit status: 0, 1 (failure), 2 (usage). */
#define AGENTS_ID_PREFIX_MIN	6
int	 agents_cli(int argc, char **argv);

#endif
