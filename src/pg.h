/*
 * pg: the tables that servers sharing one PostgreSQL database share
 * (agents, licenses and their generation, events, admin tokens,
 * schedules set at run time, leases, downstream servers), for db.c when
 * cascade.conf sets [repository] state = postgresql://... Each function
 * has the semantics and errors of its db_* namesake (db.h), which is the
 * API everyone else calls. The only module that includes libpq.
 *
 * The schema is versioned (table schema_version) and brought up to date
 * by pg_open under an advisory lock, so that servers starting at once
 * migrate it once. A connection is used by one statement at a time (a
 * mutex); a transaction, as with SQLite, belongs to whoever began it.
 * After an error inside a transaction PostgreSQL refuses every statement
 * until the rollback: callers roll back on any error (they do).
 */
#ifndef PG_H
#define PG_H

#include <stdint.h>

#include "db.h"

struct pg;

/* Connects to url (a libpq connection URI) and migrates the schema. 0,
 * -ECONNREFUSED (no connection; logged without the password), -ENOTSUP
 * (a schema from a newer cascade), -EIO. */
int	 pg_open(const char *url, struct pg **ret_pg);
void	 pg_close(struct pg *p);			/* NULL-safe */
/* synchronous_commit on or off for this connection's commits. */
int	 pg_set_durable(struct pg *p, int durable);
int	 pg_begin(struct pg *p);
int	 pg_commit(struct pg *p);
void	 pg_rollback(struct pg *p);

int	 pg_license_add(struct pg *p, const struct db_license *l);
int	 pg_license_remove(struct pg *p, const char *key);
int	 pg_license_get(struct pg *p, const char *key,
	    struct db_license *ret_l);
int	 pg_licenses(struct pg *p, struct db_license **ret_l, size_t *ret_n);
int	 pg_licenses_generation(struct pg *p, uint64_t *ret_gen);

/* agent "" for none; time in unix seconds. */
int	 pg_event_add(struct pg *p, int64_t time, const char *kind,
	    const char *channel, const char *agent, const char *detail);
int	 pg_events(struct pg *p, int64_t since,
	    int (*fn)(void *arg, const struct db_event *e), void *arg);
int	 pg_events_prune(struct pg *p, int64_t before);
int	 pg_events_query(struct pg *p, const struct db_event_filter *f,
	    int (*fn)(void *arg, const struct db_event *e), void *arg);
int	 pg_events_last(struct pg *p, int64_t *ret_id);

int	 pg_token_add(struct pg *p, const struct db_token *t);
int	 pg_token_remove(struct pg *p, const char *name);
int	 pg_token_find(struct pg *p, const unsigned char hash[CRYPTO_SHA256_LEN],
	    struct db_token *ret_t);
int	 pg_tokens(struct pg *p, struct db_token **ret_t, size_t *ret_n);

int	 pg_schedule_get(struct pg *p, const char *target,
	    struct db_schedule *ret_s);
int	 pg_schedule_set(struct pg *p, const struct db_schedule *s);
int	 pg_schedule_remove(struct pg *p, const char *target);
int	 pg_schedules(struct pg *p, struct db_schedule **ret_s, size_t *ret_n);

int	 pg_agent_add(struct pg *p, const struct db_agent *a);
int	 pg_agent_get(struct pg *p, const char *id, struct db_agent *ret_a);
int	 pg_agents(struct pg *p, int with_status, struct db_agent **ret_a,
	    size_t *ret_n);
int	 pg_agent_set_licensed(struct pg *p, const char *id, int licensed);
int	 pg_agent_set_group(struct pg *p, const char *id, const char *group);
int	 pg_agent_remove(struct pg *p, const char *id);
int	 pg_agent_report(struct pg *p, const char *id, const char *hostname,
	    const char *notify_url, const char *status, int64_t now);
int	 pg_agent_seen(struct pg *p, const char *id, int64_t now);

int	 pg_downstream_report(struct pg *p, const struct db_downstream *d);
int	 pg_downstream_get(struct pg *p, const char *name,
	    struct db_downstream *ret_d);
int	 pg_downstreams(struct pg *p, struct db_downstream **ret_d,
	    size_t *ret_n);
int	 pg_downstream_remove(struct pg *p, const char *name);
int	 pg_downstream_run(struct pg *p, const char *name, int64_t now);
int	 pg_downstream_run_take(struct pg *p, const char *name);
/* Sorted by byte (as strcmp), whatever the database's collation. */
int	 pg_downstreams_running(struct pg *p,
	    char (**ret_names)[MANIFEST_NAME_MAX + 1], size_t *ret_n);

/* 1 when holder has the lease `name` for `seconds` from now (on the
 * database's clock: servers' clocks may differ), 0 when another holder
 * has it unexpired. */
int	 pg_lease_take(struct pg *p, const char *name, const char *holder,
	    int64_t seconds);

#endif
