/*
 * admin: the admin API of `cascade serve`, JSON under /v1/admin/ for
 * the web console and for scripts (docs/openapi.yaml is the reference),
 * and its tokens.
 *
 * Tokens. Each has a name and a role: "admin" may do everything,
 * "viewer" only read (GET, HEAD). A request names its token as
 * "Authorization: Bearer TOKEN" (64 lower-case hex digits). The state
 * database keeps only crypto_token_hash(ADMIN_TOKEN_LABEL, TOKEN) and
 * is read at every request, so that a token created or revoked (in any
 * process) is in force at once. No token: 401 token_required; an
 * unknown or malformed one: 401 token_rejected; a viewer writing: 403
 * forbidden. A refused request changes nothing; an upload is refused
 * before its body is read. `cascade init` writes DIR/admin.token (mode
 * 0600) for the token "admin"; a server whose database has no token
 * makes one at start (admin_token_bootstrap).
 *
 * Resources: summary, components (and publish by upload), sync,
 * schedules, agents (and license, unlicense, group, notify, remove),
 * events (with a long-poll for new ones) and licenses. Every answer is
 * JSON, every error {"error", "detail"}; what an administrator changes
 * is an event naming the token. Downstream servers and their reports
 * are another module's (report.h): admin_handle hands it their requests
 * once the token is checked.
 *
 * Threads: admin_handle runs on the server's pool threads, admin_tick
 * and admin_sync_take on its main thread. The module has its own
 * connections to the state database. A publish holds the repository's
 * writers' lock for its duration and one pool thread; a publish asked
 * while the lock is held (another publish, a mirror's sync, gc) is
 * answered 409 with Retry-After, never queued.
 */
#ifndef ADMIN_H
#define ADMIN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "http.h"

#define ADMIN_TOKEN_LABEL	"cascade admin token"
#define ADMIN_TOKEN_HEX		64
#define ADMIN_TOKEN_FILE	"admin.token"	/* in the data directory */
#define ADMIN_BODY_MAX		(64u << 10)	/* a JSON request body */
#define ADMIN_EVENTS_LIMIT	200		/* events per answer */
#define ADMIN_EVENTS_LIMIT_MAX	1000
#define ADMIN_EVENTS_WAIT_MAX	60		/* seconds held, at most */
#define ADMIN_WAITERS_MAX	256		/* events requests held */
#define ADMIN_RETRY_AFTER	5		/* seconds, on 409 busy */

struct agents;
struct notify;

/* 1 if name may name a token: 1 to DB_TOKEN_NAME_MAX characters of
 * [a-z0-9._-], starting with a letter or digit. */
int	 admin_valid_token_name(const char *name);
/* 1 if role is "admin" or "viewer". */
int	 admin_valid_role(const char *role);

/* Makes a token: draws it, stores its hash under name with role, and
 * records an event saying `by` whom ("'cascade token'"; NULL: no event).
 * token gets it (the only copy: the caller shows it once and wipes it).
 * 0, -EINVAL (bad name or role), -EEXIST (the name is taken), -EIO (no
 * randomness), db's errors. */
int	 admin_token_create(struct db *db, const char *name, const char *role,
	    const char *by, char token[ADMIN_TOKEN_HEX + 1]);
/* Revokes a token, with an event (by as above). 0, -ENOENT, db's
 * errors. */
int	 admin_token_revoke(struct db *db, const char *name, const char *by);
/* For a database with no token: makes the token "admin" (role admin)
 * and writes it to DIR/admin.token (mode 0600, one line), with an event
 * when by is not NULL (a new data directory has nothing to tell). 1 if
 * it did, 0 if there were tokens already, or -errno (nothing is kept
 * then). */
int	 admin_token_bootstrap(const char *dir, struct db *db, const char *by);

/*
 * JSON arrays as the admin API writes them: "[", each item on a line of
 * its own, "]" and a newline; admin_json_next appends what goes before
 * item i (0, 1, ...), admin_json_end closes an array of n items. An
 * event is {"id", "time", "kind", "channel" (null: none), "agent"
 * (null: none), "detail"}: what GET /v1/admin/events and `cascade
 * events --json` show alike. 0, -E2BIG, -ENOMEM.
 */
int	 admin_json_next(struct buf *out, size_t i);
int	 admin_json_end(struct buf *out, size_t n);
int	 admin_event_json(struct buf *out, const struct db_event *e);

struct admin;
struct report;

/* Opens what the API needs in dir (its own database connections); c is
 * copied; ag, n (NULL: no pushes) and rep (the downstream servers and
 * their reports, report.h, which answers /v1/admin/downstreams and
 * /v1/admin/reports once the token is checked; NULL: 404) must outlive
 * it. 0 or -errno. */
int	 admin_open(const char *dir, const struct conf *c, struct agents *ag,
	    struct notify *n, struct report *rep, struct admin **ret_a);
/* After admin_stop and once the HTTP server is stopped. NULL-safe. */
void	 admin_close(struct admin *a);
/* A new configuration (SIGHUP). Thread-safe. */
void	 admin_set_conf(struct admin *a, const struct conf *c);

/* The http_body_plan of a request under /v1/admin/: an upload (POST
 * /v1/admin/components/NAME) goes to a file of at most [server]
 * upload_max bytes, once its token is checked (refused at once
 * otherwise); other bodies are read into memory, up to ADMIN_BODY_MAX. */
void	 admin_body_plan(struct admin *a, struct http_request *req,
	    struct http_body_plan *plan);
/* Answers a request whose path is /v1/admin or below it, including one
 * it held (http_resumed). Thread-safe. */
void	 admin_handle(struct admin *a, struct http_request *req);

/* Main thread, every tick: answers the held events requests whose
 * events came or whose time is up. */
void	 admin_tick(struct admin *a);
/* Main thread: 1 (why filled) when POST /v1/admin/sync asked for a
 * sync since the last call, else 0. */
int	 admin_sync_take(struct admin *a, char *why, size_t whysize);
/* Answers every held request (503) and refuses new holds; before the
 * HTTP server stops. Waits a moment for them to go. */
void	 admin_stop(struct admin *a);

#endif
