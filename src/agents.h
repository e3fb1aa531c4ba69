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
 * State, derived when asked (agents_state): pending, licensed (no report
 * yet), offline (no request for 3 periods of its group's schedule),
 * failed (last report failed), diverged (its group or the channel keys
 * it accepts differ from the server's), behind (a component it holds or
 * selects is older than the server's), current.
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
 * n path segments ("v1", "agents", ...); ls is the credential set the
 * request is checked against. Thread-safe. */
void	 agents_handle(struct agents *a, struct http_request *req,
	    const struct license_set *ls, char seg[][AGENTS_SEG_MAX], int n);

/* The state of one agent now, against the server's current versions
 * (db_current of every channel) and group policies in c; `why` gets a
 * short reason ("virus-pattern 3 < 4", the failure message, ...). */
enum agents_state agents_state(struct db *db, const struct conf *c,
	    const struct db_agent *ag, time_t now, char *why, size_t whysize);
const char *agents_state_name(enum agents_state s);
/* 1 unless the agent is offline (no request for AGENTS_OFFLINE_PERIODS
 * periods of its group's schedule): whom the server pushes to. */
int	 agents_online(const struct conf *c, const struct db_agent *ag,
	    time_t now);

/* `cascade agents -d DIR [--json] [license ID | unlicense ID | group ID
 * NAME | remove ID]`: argv after "agents". The exit status. */
int	 agents_cli(int argc, char **argv);

#endif
