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
const char *agents_state_name(enum agents_state s);
/* 1 unless the agent is offline: it was heard from (any request, or its
 * enrolment) within AGENTS_OFFLINE_PERIODS periods of its group's
 * schedule. Whom the server pushes to. */
int	 agents_online(const struct conf *c, const struct db_agent *ag,
	    time_t now);
/* The seconds between two scheduled syncs of a group's agents: its
 * schedule's period, or that of the default `every 60m`. */
int64_t	 agents_period(const struct conf *c, const char *group);

/* `cascade agents -d DIR [--json] [license ID | unlicense ID | group ID
 * NAME | remove ID]`: argv[0] is "agents" (main passes its argv from the
 * command on). An ID may be shortened to a unique prefix of at least
 * AGENTS_ID_PREFIX_MIN characters. The exit status: 0, 1 (failure),
 * 2 (usage). */
#define AGENTS_ID_PREFIX_MIN	6
int	 agents_cli(int argc, char **argv);

#endif
