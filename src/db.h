/*
 * db: the repository's state in SQLite (DIR/state.db, WAL mode): the
 * serial of each channel, every version of every component, and every
 * delta. The only module that includes SQLite. Writers hold the
 * repository lock (see repo.h); readers see a consistent snapshot.
 *
 * Opened with a PostgreSQL URL (cascade.conf [repository] state), the
 * tables that servers sharing that database share (licenses and their
 * generation, agents, events, admin tokens, schedules, downstream
 * servers, leases) are there instead (pg.h), behind these same
 * functions, with the same semantics and errors; channels, versions,
 * deltas and meta stay in state.db. Inside a transaction, roll back
 * after any error (PostgreSQL refuses further statements).
 */
#ifndef DB_H
#define DB_H

#include <stdint.h>

#include "crypto.h"
#include "manifest.h"

struct db;

struct db_version {
	char		 component[MANIFEST_NAME_MAX + 1];
	char		 kind[MANIFEST_NAME_MAX + 1];
	char		 edition[MANIFEST_NAME_MAX + 1];
	uint64_t	 version;
	uint64_t	 size;
	char		 sha256[CRYPTO_SHA256_HEX];
	int64_t		 published;	/* unix time */
};

struct db_delta {
	char		 from_sha256[CRYPTO_SHA256_HEX];
	char		 to_sha256[CRYPTO_SHA256_HEX];
	uint64_t	 from_version;
	uint64_t	 size;
	char		 sha256[CRYPTO_SHA256_HEX];	/* the delta object */
};

/* Opens (creating when create) the state file and its schema, bringing
 * the schema of an older file up to date (PRAGMA user_version counts
 * the steps). state: NULL or "" (everything in the file), or a
 * postgresql:// URL (conf.h's state), whose schema is brought up to date
 * too. 0, -ENOENT, -EIO, -EROFS (an older file that cannot be written),
 * -ENOTSUP (a file or database from a newer cascade), -ECONNREFUSED
 * (PostgreSQL cannot be reached). */
int	 db_open(const char *path, const char *state, int create,
	    struct db **ret_db);
void	 db_close(struct db *db);			/* NULL-safe */
/* Whether each commit of this connection is synced to disk before it
 * returns (the default). Without, a power loss may lose the last
 * commits, never corrupt the file (SQLite synchronous = NORMAL in WAL
 * mode): for frequent writes that the next one replaces, such as a
 * fleet's status reports. Not inside a transaction. 0 or -errno. */
int	 db_set_durable(struct db *db, int durable);
int	 db_begin(struct db *db);	/* immediate write transaction */
int	 db_commit(struct db *db);
void	 db_rollback(struct db *db);

/* 0 when the channel has no serial yet. */
int	 db_channel_serial(struct db *db, const char *channel,
	    uint64_t *ret_serial);
int	 db_channel_set_serial(struct db *db, const char *channel,
	    uint64_t serial);

/* The names of the channels that have a serial, sorted. *ret_names is
 * the caller's (free()). */
int	 db_channels(struct db *db, char (**ret_names)[MANIFEST_NAME_MAX + 1],
	    size_t *ret_n);

/* The versions of one component, newest first, at most max (0: all).
 * *ret_v is the caller's (free()), *ret_n its length. */
int	 db_versions(struct db *db, const char *channel, const char *component,
	    size_t max, struct db_version **ret_v, size_t *ret_n);
/* The newest version of each component of a channel, by name. */
int	 db_current(struct db *db, const char *channel,
	    struct db_version **ret_v, size_t *ret_n);
int	 db_version_add(struct db *db, const char *channel,
	    const struct db_version *v);
int	 db_version_remove(struct db *db, const char *channel,
	    const char *component, uint64_t version);

/* Deltas ending at to_sha256, from_version set from the versions table
 * of the channel (deltas whose base is no longer listed have it 0). */
int	 db_deltas_to(struct db *db, const char *channel, const char *component,
	    const char *to_sha256, struct db_delta **ret_d, size_t *ret_n);
/* Every delta, for gc and verify. */
int	 db_deltas_all(struct db *db, struct db_delta **ret_d, size_t *ret_n);
int	 db_delta_add(struct db *db, const struct db_delta *d);
int	 db_delta_remove(struct db *db, const char *from_sha256,
	    const char *to_sha256);
/* Appends to the event history (kind: "sync-start", "sync-done",
 * "sync-failed", "sync-queued", "license", ...). */
int	 db_event_add(struct db *db, const char *kind, const char *channel,
	    const char *detail);
/* Small named values (the mirror's upstream serial, last sync time...):
 * get copies into dst (truncating to size); -ENOENT when unset. */
int	 db_meta_get(struct db *db, const char *key, char *dst, size_t size);
int	 db_meta_set(struct db *db, const char *key, const char *value);
/*
 * A lease on work that must run once across the servers sharing the
 * database (a scheduled sync): 1 when holder (unique per server process)
 * now holds `name` for `seconds` (taken free or expired, or renewed by
 * its holder), 0 when another holder has it, or -errno. Times are the
 * database's. Without PostgreSQL always 1: the server is alone.
 */
int	 db_lease_take(struct db *db, const char *name, const char *holder,
	    int64_t seconds);
/* 1 if any version or delta row names the object, else 0. */
int	 db_object_referenced(struct db *db, const char *sha256);

/*
 * Editions of objects: fn is called for each version row (its object and
 * edition) and each delta (its object and the edition of the version it
 * leads to), of every channel; an object may come more than once. fn must
 * not use db; a non-zero return stops the walk and is returned.
 */
int	 db_object_editions(struct db *db,
	    int (*fn)(void *arg, const char *sha256, const char *edition),
	    void *arg);

/*
 * Licenses: who may download (license.h checks them). The password is
 * not stored: only a random salt and SHA-256(salt || password). Every
 * change to the table (in any process) bumps a generation counter, which
 * a server reads cheaply to know when to reload them.
 */
#define DB_LICENSE_KEY_MAX	128
#define DB_LICENSE_USERNAME_MAX	128
#define DB_LICENSE_SALT_LEN	16

struct db_license {
	char		 key[DB_LICENSE_KEY_MAX + 1];
	char		 edition[MANIFEST_NAME_MAX + 1];
	char		 username[DB_LICENSE_USERNAME_MAX + 1];	/* "": none */
	/* with a username only: */
	unsigned char	 salt[DB_LICENSE_SALT_LEN];
	unsigned char	 hash[CRYPTO_SHA256_LEN];	/* of salt || password */
	int64_t		 created;	/* unix time */
};

/* 0, -EEXIST (the key is taken). */
int	 db_license_add(struct db *db, const struct db_license *l);
/* 0, -ENOENT (no such key). */
int	 db_license_remove(struct db *db, const char *key);
int	 db_license_get(struct db *db, const char *key,
	    struct db_license *ret_l);			/* 0, -ENOENT */
/* Every license, by key. *ret_l is the caller's (free()). */
int	 db_licenses(struct db *db, struct db_license **ret_l, size_t *ret_n);
/* Grows with every change to the licenses; 0 before the first. */
int	 db_licenses_generation(struct db *db, uint64_t *ret_gen);

/*
 * Events, as db_event_add records them: times are unix seconds, taken
 * when the event is added; channel is "" for none. Read back, a kind or
 * detail longer than its buffer here is cut.
 */
#define DB_EVENT_KIND_MAX	32
#define DB_EVENT_DETAIL_MAX	1024

struct db_event {
	int64_t		 id;		/* grows with every event */
	int64_t		 time;
	char		 kind[DB_EVENT_KIND_MAX + 1];
	char		 channel[MANIFEST_NAME_MAX + 1];	/* "": none */
	char		 agent[MANIFEST_AGENT_ID_MAX + 1];	/* "": none */
	char		 detail[DB_EVENT_DETAIL_MAX + 1];
};

/* An event about one agent ("agent-enrolled", "agent-sync", "notify-sent",
 * "notify-failed", ...); db_events returns it with agent set. */
int	 db_event_add_agent(struct db *db, const char *kind, const char *agent,
	    const char *detail);

/* Calls fn for each event at or after `since` (unix time), oldest
 * first. fn must not use db; a non-zero return stops the walk and is
 * returned. */
int	 db_events(struct db *db, int64_t since,
	    int (*fn)(void *arg, const struct db_event *e), void *arg);
/* Removes events older than `before` (unix time); the count or -errno. */
int	 db_events_prune(struct db *db, int64_t before);

/*
 * Events picked by a filter, oldest first, each passed to fn as
 * db_events does. kind is an exact kind, or a prefix ending in '*'
 * ("sync-*"). With a limit, the oldest `limit` that match, or with
 * `newest` the newest `limit` (still oldest first): a console shows the
 * last events, then asks for those after the last id it has.
 */
struct db_event_filter {
	const char	*kind;		/* NULL: any */
	const char	*agent;		/* NULL: any */
	int64_t		 since;		/* unix time; 0: any */
	int64_t		 after;		/* ids greater than this; 0: any */
	size_t		 limit;		/* 0: every match */
	int		 newest;
};

int	 db_events_query(struct db *db, const struct db_event_filter *f,
	    int (*fn)(void *arg, const struct db_event *e), void *arg);
/* The id of the newest event; 0 when there is none. Cheap: a server
 * asks every tick while a client waits for events. */
int	 db_events_last(struct db *db, int64_t *ret_id);

/*
 * Admin tokens (admin.h): a name, a role ("admin" or "viewer") and the
 * hash of the token (crypto_token_hash with ADMIN_TOKEN_LABEL); the
 * token itself is never stored. A server looks a token up at each
 * request, so a change is in force at once. Names and roles are the
 * caller's to check.
 */
#define DB_TOKEN_NAME_MAX	64
#define DB_TOKEN_ROLE_MAX	8

struct db_token {
	char		 name[DB_TOKEN_NAME_MAX + 1];
	char		 role[DB_TOKEN_ROLE_MAX + 1];
	unsigned char	 hash[CRYPTO_SHA256_LEN];
	int64_t		 created;	/* unix time */
};

/* 0, -EEXIST (the name, or the hash, is taken). */
int	 db_token_add(struct db *db, const struct db_token *t);
/* 0, -ENOENT (no such name). */
int	 db_token_remove(struct db *db, const char *name);
/* The token whose hash this is. 0, -ENOENT. */
int	 db_token_find(struct db *db, const unsigned char hash[CRYPTO_SHA256_LEN],
	    struct db_token *ret_t);
/* Every token, by name. *ret_t is the caller's (free()). */
int	 db_tokens(struct db *db, struct db_token **ret_t, size_t *ret_n);

/*
 * Schedules set at run time, each overriding a configured one: target
 * "upstream" is this server's own sync from its upstream ([upstream]
 * schedule and sync_at_startup); "downstream/NAME" the schedule handed
 * to the downstream mirror NAME. The text is a schedule as
 * conf_schedule_parse reads it ("every 30m", "daily 02:00", "weekly mon
 * 02:00"); it is the writer's to check, and a reader ignores a row whose
 * text does not parse.
 */
#define DB_SCHEDULE_TARGET_MAX	(MANIFEST_NAME_MAX + 16)
#define DB_SCHEDULE_TEXT_MAX	32

struct db_schedule {
	char		 target[DB_SCHEDULE_TARGET_MAX + 1];
	char		 schedule[DB_SCHEDULE_TEXT_MAX + 1];
	int		 at_startup;	/* 0 or 1 */
};

/* 0, -ENOENT (no row: the configured default applies). */
int	 db_schedule_get(struct db *db, const char *target,
	    struct db_schedule *ret_s);
/* Adds or replaces the row of s->target. 0 or -errno. */
int	 db_schedule_set(struct db *db, const struct db_schedule *s);
/* 0, -ENOENT. */
int	 db_schedule_remove(struct db *db, const char *target);
/* Every row, by target. *ret_s is the caller's (free()). */
int	 db_schedules(struct db *db, struct db_schedule **ret_s, size_t *ret_n);


/*
 * Agents (endpoints running cascade-agent). The token an agent enrolled
 * with is not stored: only its SHA-256, and the notify key (SHA-256 of a
 * label and the token) that the server's pushes carry to the agent. The
 * agent's last status report is kept as the document it sent
 * (manifest_status_*), re-emitted after parsing. Adding, licensing,
 * regrouping or removing an agent bumps the licenses' generation, since
 * the server's in-memory credential set (license.h) holds agents too; a
 * status report does not.
 */
#define DB_AGENT_ID_MAX		MANIFEST_AGENT_ID_MAX

struct db_agent {
	char		 id[DB_AGENT_ID_MAX + 1];
	unsigned char	 token_hash[CRYPTO_SHA256_LEN];
	unsigned char	 notify_key[CRYPTO_SHA256_LEN];
	char		 license_key[DB_LICENSE_KEY_MAX + 1];	/* "": open */
	char		 group[MANIFEST_NAME_MAX + 1];
	int		 licensed;	/* 0: pending */
	char		 hostname[MANIFEST_HOST_MAX + 1];
	int64_t		 enrolled;	/* unix time */
	int64_t		 last_seen;	/* last request with its token; 0 */
	int64_t		 last_report;	/* last status report; 0: none */
	char		 notify_url[MANIFEST_URL_MAX];	/* "": none */
	char		*status;	/* last report (JSON) or NULL; owned */
};

/* Frees the status documents of n agents (not the array). */
void	 db_agents_free(struct db_agent *a, size_t n);
/* 0, -EEXIST (the id is taken). */
int	 db_agent_add(struct db *db, const struct db_agent *a);
/* 0, -ENOENT. ret_a->status is the caller's (db_agents_free(a, 1)). */
int	 db_agent_get(struct db *db, const char *id, struct db_agent *ret_a);
/* Every agent, by enrolment time. *ret_a is the caller's
 * (db_agents_free(a, n), then free(a)). */
int	 db_agents(struct db *db, struct db_agent **ret_a, size_t *ret_n);
/* The same without the status documents (status NULL), for the
 * server's credential set: a fleet's documents are megabytes. */
int	 db_agents_brief(struct db *db, struct db_agent **ret_a,
	    size_t *ret_n);
/* 0, -ENOENT. */
int	 db_agent_set_licensed(struct db *db, const char *id, int licensed);
int	 db_agent_set_group(struct db *db, const char *id, const char *group);
int	 db_agent_remove(struct db *db, const char *id);
/* Records a status report: hostname, notify URL, the document, and
 * last_report = last_seen = now. 0, -ENOENT. */
int	 db_agent_report(struct db *db, const char *id, const char *hostname,
	    const char *notify_url, const char *status, int64_t now);
/* last_seen = now (any authenticated request). 0, -ENOENT. */
int	 db_agent_seen(struct db *db, const char *id, int64_t now);

/*
 * Downstream servers: the mirrors that sync from this one, each as its
 * last inventory report left it: the document (manifest_inventory_*, as
 * the server re-emitted it after parsing), the peer address it came
 * from, and the edition of the license it came with ("" when the server
 * had no licenses then). A "run now" is the time it was asked, kept in
 * the row until the downstream's long-poll takes it (so that a request
 * made while it is away is answered when it is back).
 */
#define DB_DOWNSTREAM_ADDRESS_MAX	128	/* "v6 address" and its NUL */

struct db_downstream {
	char		 name[MANIFEST_NAME_MAX + 1];
	char		 address[DB_DOWNSTREAM_ADDRESS_MAX];
	char		 edition[MANIFEST_NAME_MAX + 1];	/* "": none */
	int64_t		 last_report;	/* unix time */
	int64_t		 run_requested;	/* unix time; 0: none */
	char		*inventory;	/* JSON; owned */
};

/* Frees the documents of n downstreams (not the array). */
void	 db_downstreams_free(struct db_downstream *d, size_t n);
/* Records a report: makes the row of d->name, or replaces everything in
 * it but run_requested (d's is ignored). 0 or -errno. */
int	 db_downstream_report(struct db *db, const struct db_downstream *d);
/* 0, -ENOENT. ret_d->inventory is the caller's (db_downstreams_free(d,
 * 1)). */
int	 db_downstream_get(struct db *db, const char *name,
	    struct db_downstream *ret_d);
/* Every downstream, by name. *ret_d is the caller's
 * (db_downstreams_free(d, n), then free(d)). */
int	 db_downstreams(struct db *db, struct db_downstream **ret_d,
	    size_t *ret_n);
/* 0, -ENOENT. */
int	 db_downstream_remove(struct db *db, const char *name);
/* Asks for a run now at time now (a pending request keeps its first
 * time). 0, -ENOENT. */
int	 db_downstream_run(struct db *db, const char *name, int64_t now);
/* Takes a pending run request: 1 when there was one (it is cleared),
 * 0 when none; one caller gets each request, whatever the processes. */
int	 db_downstream_run_take(struct db *db, const char *name);
/* The names of the downstreams with a run request pending, sorted.
 * *ret_names is the caller's (free()). */
int	 db_downstreams_running(struct db *db,
	    char (**ret_names)[MANIFEST_NAME_MAX + 1], size_t *ret_n);

#endif
