#include <errno.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "log.h"
#include "pg.h"
#include "banned.h"

/* pg_advisory_lock key of the migrations: "casc" */
#define PG_MIGRATE_LOCK		0x63617363
#define PG_PARAMS_MAX		16
#define PG_BLOB_MAX		64

struct pg {
	PGconn		*conn;
	pthread_mutex_t	 lock;		/* one statement at a time */
	int		 in_tx;		/* no reconnecting inside one */
	int		 durable;
};

/*
 * Schema steps: step i takes the database from version i to i + 1, in
 * one transaction with the version update. Never edit a released step:
 * add one.
 */
static const char *const pg_migrations[] = {
	/* 0 -> 1: licenses, agents, events, leases */
	"CREATE TABLE licenses ("
	"  key TEXT PRIMARY KEY, edition TEXT NOT NULL, username TEXT,"
	"  salt TEXT, hash TEXT, created BIGINT NOT NULL);"
	"CREATE TABLE generations ("
	"  name TEXT PRIMARY KEY, value BIGINT NOT NULL);"
	"INSERT INTO generations (name, value) VALUES ('licenses', 0);"
	"CREATE TABLE agents ("
	"  id TEXT PRIMARY KEY, seq BIGSERIAL NOT NULL,"
	"  token_hash BYTEA NOT NULL, notify_key BYTEA NOT NULL,"
	"  license_key TEXT NOT NULL, grp TEXT NOT NULL,"
	"  licensed INTEGER NOT NULL, hostname TEXT NOT NULL,"
	"  enrolled BIGINT NOT NULL, last_seen BIGINT NOT NULL DEFAULT 0,"
	"  last_report BIGINT NOT NULL DEFAULT 0,"
	"  notify_url TEXT NOT NULL DEFAULT '', status TEXT);"
	"CREATE INDEX agents_enrolled ON agents (enrolled, seq);"
	"CREATE TABLE events ("
	"  id BIGSERIAL PRIMARY KEY, time BIGINT NOT NULL,"
	"  kind TEXT NOT NULL, channel TEXT NOT NULL,"
	"  agent TEXT NOT NULL DEFAULT '', detail TEXT NOT NULL);"
	"CREATE INDEX events_time ON events (time);"
	"CREATE INDEX events_agent ON events (agent) WHERE agent <> '';"
	"CREATE TABLE leases ("
	"  name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
	"  expires BIGINT NOT NULL);"
	/* as in SQLite: who may authenticate, and as what, bumps the
	 * generation in the same transaction; reports do not */
	"CREATE FUNCTION cascade_licenses_bump() RETURNS trigger"
	"  LANGUAGE plpgsql AS $$ BEGIN"
	"  UPDATE generations SET value = value + 1 WHERE name = 'licenses';"
	"  RETURN NULL; END $$;"
	"CREATE TRIGGER licenses_bump AFTER INSERT OR UPDATE OR DELETE"
	"  ON licenses FOR EACH ROW EXECUTE FUNCTION cascade_licenses_bump();"
	"CREATE TRIGGER agents_bump AFTER INSERT OR DELETE"
	"  ON agents FOR EACH ROW EXECUTE FUNCTION cascade_licenses_bump();"
	"CREATE TRIGGER agents_bump_update"
	"  AFTER UPDATE OF id, token_hash, license_key, grp, licensed"
	"  ON agents FOR EACH ROW EXECUTE FUNCTION cascade_licenses_bump();",
	/* 1 -> 2: the admin API's tokens (only their hashes), the
	 * schedules set through it, and events read by kind */
	"CREATE TABLE tokens ("
	"  name TEXT PRIMARY KEY, role TEXT NOT NULL,"
	"  hash BYTEA NOT NULL UNIQUE, created BIGINT NOT NULL);"
	"CREATE TABLE schedules ("
	"  target TEXT PRIMARY KEY, schedule TEXT NOT NULL,"
	"  at_startup INTEGER NOT NULL);"
	"CREATE INDEX events_kind ON events (kind);",
	/* 2 -> 3: downstream servers and their inventories */
	"CREATE TABLE downstreams ("
	"  name TEXT PRIMARY KEY, address TEXT NOT NULL,"
	"  edition TEXT NOT NULL, last_report BIGINT NOT NULL,"
	"  run_requested BIGINT NOT NULL DEFAULT 0,"
	"  inventory TEXT NOT NULL);"
	"CREATE INDEX downstreams_running ON downstreams (name)"
	"  WHERE run_requested <> 0;",
};

#define PG_SCHEMA_VERSION \
	((int)(sizeof(pg_migrations) / sizeof(pg_migrations[0])))

/* An errno for a failed result (SQLSTATE classes), logging the server's
 * message unless it is an expected constraint violation. */
static int
pg_err(const PGresult *res, PGconn *conn)
{
	const char	*state = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char	*msg = res != NULL ? PQresultErrorMessage(res) : "";

	if (state != NULL && strncmp(state, "23", 2) == 0)
		return -EEXIST;
	if (msg == NULL || msg[0] == '\0')
		msg = PQerrorMessage(conn);
	log_warn("postgresql: %.*s", (int)strcspn(msg, "\n"), msg);
	if (state == NULL)
		return -EIO;		/* no answer: the connection */
	if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
	    strcmp(state, "55P03") == 0)
		return -EBUSY;
	if (strcmp(state, "53100") == 0)
		return -ENOSPC;
	if (strcmp(state, "53200") == 0)
		return -ENOMEM;
	if (strcmp(state, "25006") == 0)
		return -EROFS;
	return -EIO;
}

/* Session settings, after each connection. */
static int
pg_session(struct pg *p)
{
	PGresult	*res;
	int		 ok;

	res = PQexec(p->conn, p->durable ?
	    "SET bytea_output = 'hex'; SET client_min_messages = error; "
	    "SET synchronous_commit = on" :
	    "SET bytea_output = 'hex'; SET client_min_messages = error; "
	    "SET synchronous_commit = off");
	ok = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	return ok ? 0 : -EIO;
}

/* A connection lost between transactions is opened again: servers
 * outlive restarts of the database. Under p->lock. */
static void
pg_check_conn(struct pg *p)
{
	if (p->in_tx || PQstatus(p->conn) == CONNECTION_OK)
		return;
	PQreset(p->conn);
	if (PQstatus(p->conn) == CONNECTION_OK && pg_session(p) == 0)
		log_info("postgresql: connected again");
}

/*
 * Text parameters, from types: "s" a string (NULL: SQL NULL), "i" an
 * int64_t, "b" a blob (a pointer and a size_t length, at most
 * PG_BLOB_MAX) as bytea hex. bufs holds the converted ones.
 */
struct pg_params {
	const char	*v[PG_PARAMS_MAX];
	char		 buf[PG_PARAMS_MAX][2 * PG_BLOB_MAX + 3];
	int		 n;
};

static int
pg_params_fill(struct pg_params *pp, const char *types, va_list ap)
{
	int	 i;

	for (i = 0; types[i] != '\0'; i++) {
		if (i == PG_PARAMS_MAX)
			return -E2BIG;
		switch (types[i]) {
		case 's':
			pp->v[i] = va_arg(ap, const char *);
			break;
		case 'b': {
			const void	*ptr = va_arg(ap, const void *);
			size_t		 len = va_arg(ap, size_t);

			if (len > PG_BLOB_MAX)
				return -E2BIG;
			memcpy(pp->buf[i], "\\x", 2);
			crypto_hex(ptr, len, pp->buf[i] + 2);
			pp->v[i] = pp->buf[i];
			break;
		}
		default:
			snprintf(pp->buf[i], sizeof(pp->buf[i]), "%" PRId64,
			    va_arg(ap, int64_t));
			pp->v[i] = pp->buf[i];
			break;
		}
	}
	pp->n = i;
	return 0;
}

/* Runs one statement; *ret_res (PQclear) on success, when asked for. A
 * connection found lost outside a transaction is opened again and the
 * statement sent once more. */
static int
pg_execv(struct pg *p, PGresult **ret_res, const char *sql,
    const char *types, va_list ap)
{
	struct pg_params	 pp;
	PGresult		*res = NULL;
	ExecStatusType		 st;
	int			 r, tries;

	r = pg_params_fill(&pp, types, ap);
	if (r < 0)
		return r;
	pthread_mutex_lock(&p->lock);
	for (tries = 0; tries < 2; tries++) {
		PQclear(res);
		pg_check_conn(p);
		res = PQexecParams(p->conn, sql, pp.n, NULL, pp.v, NULL, NULL,
		    0);
		st = PQresultStatus(res);
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			pthread_mutex_unlock(&p->lock);
			if (ret_res != NULL)
				*ret_res = res;
			else
				PQclear(res);
			return 0;
		}
		if (p->in_tx || PQstatus(p->conn) == CONNECTION_OK)
			break;
	}
	r = pg_err(res, p->conn);
	pthread_mutex_unlock(&p->lock);
	PQclear(res);
	return r;
}

static int
pg_query(struct pg *p, PGresult **ret_res, const char *sql,
    const char *types, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, types);
	r = pg_execv(p, ret_res, sql, types, ap);
	va_end(ap);
	return r;
}

/* A statement whose result is not needed. */
static int
pg_do(struct pg *p, const char *sql, const char *types, ...)
{
	va_list	 ap;
	int	 r;

	va_start(ap, types);
	r = pg_execv(p, NULL, sql, types, ap);
	va_end(ap);
	return r;
}

/* The count of rows a statement changed, or -errno. */
static int
pg_change(struct pg *p, const char *sql, const char *types, ...)
{
	PGresult	*res;
	va_list		 ap;
	int		 r;

	va_start(ap, types);
	r = pg_execv(p, &res, sql, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	r = (int)strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return r;
}

static void
pg_col_text(const PGresult *res, int row, int col, char *dst, size_t size)
{
	snprintf(dst, size, "%s", PQgetvalue(res, row, col));
}

static int64_t
pg_col_int(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* A bytea column (hex output) into a fixed buffer: zeros (matching no
 * token) unless it has exactly the size. */
static void
pg_col_blob(const PGresult *res, int row, int col, unsigned char *dst,
    size_t size)
{
	const char	*v = PQgetvalue(res, row, col);

	if (strncmp(v, "\\x", 2) != 0 || strlen(v + 2) != 2 * size ||
	    crypto_unhex(v + 2, 2 * size, dst, size) < 0)
		memset(dst, 0, size);
}

/* Fills one element (at p) from a row of res: 0 or -errno. */
typedef int	 pg_row_fn(const PGresult *res, int row, void *p);

/*
 * One element of `size` bytes per row of res, filled by fill; res is
 * cleared. On failure, the rows filled so far go to release (when not
 * NULL), the array is freed and nothing is returned. *ret_rows is the
 * caller's (free()); NULL when there is no row.
 */
static int
pg_rows(PGresult *res, size_t size, pg_row_fn *fill,
    void (*release)(void *rows, size_t n), void **ret_rows, size_t *ret_n)
{
	char	*v = NULL;
	int	 i, n = PQntuples(res), r = 0;

	if (n > 0 && (v = calloc((size_t)n, size)) == NULL) {
		PQclear(res);
		return -ENOMEM;
	}
	for (i = 0; i < n && r == 0; i++)
		r = fill(res, i, v + (size_t)i * size);
	PQclear(res);
	if (r < 0) {
		if (release != NULL)
			release(v, (size_t)i);
		free(v);
		return r;
	}
	*ret_rows = v;
	*ret_n = (size_t)n;
	return 0;
}

/* db_agents_free and db_downstreams_free for pg_rows */
static void
pg_release_agents(void *rows, size_t n)
{
	db_agents_free(rows, n);
}

static void
pg_release_downstreams(void *rows, size_t n)
{
	db_downstreams_free(rows, n);
}

/* A row whose first column is a name. */
static int
pg_row_name(const PGresult *res, int row, void *p)
{
	pg_col_text(res, row, 0, p, MANIFEST_NAME_MAX + 1);
	return 0;
}

/*
 * A copy of s valid as UTF-8 (PostgreSQL refuses anything else, SQLite
 * keeps bytes): each byte of a bad sequence becomes '?'. Details are
 * cut by byte counts upstream, which may split a character.
 */
static char *
pg_utf8(const char *s)
{
	const unsigned char	*u = (const unsigned char *)s;
	char			*out;
	size_t			 i = 0, n = strlen(s), len, k;
	uint32_t		 cp;

	out = strdup(s);
	if (out == NULL)
		return NULL;
	while (i < n) {
		if (u[i] < 0x80) {
			i++;
			continue;
		}
		if (u[i] >= 0xc2 && u[i] <= 0xdf) {
			len = 2;
			cp = u[i] & 0x1f;
		} else if (u[i] >= 0xe0 && u[i] <= 0xef) {
			len = 3;
			cp = u[i] & 0x0f;
		} else if (u[i] >= 0xf0 && u[i] <= 0xf4) {
			len = 4;
			cp = u[i] & 0x07;
		} else
			len = 0, cp = 0;
		for (k = 1; len != 0 && k < len; k++) {
			if (i + k >= n || (u[i + k] & 0xc0) != 0x80) {
				len = 0;
				break;
			}
			cp = (cp << 6) | (u[i + k] & 0x3f);
		}
		if (len != 0 && ((len == 3 && cp < 0x800) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff)))
			len = 0;
		if (len == 0) {
			out[i++] = '?';
			continue;
		}
		i += len;
	}
	return out;
}

/* ---- connection and schema ---------------------------------------------- */

static int
pg_migrate(struct pg *p)
{
	PGresult	*res;
	char		 sql[96];
	int		 v = 0, r;

	r = pg_do(p, "SELECT pg_advisory_lock($1)", "i",
	    (int64_t)PG_MIGRATE_LOCK);
	if (r < 0)
		return r;
	r = pg_begin(p);
	if (r == 0)
		r = pg_do(p, "CREATE TABLE IF NOT EXISTS schema_version ("
		    "version INTEGER NOT NULL)", "");
	if (r == 0)
		r = pg_query(p, &res, "SELECT version FROM schema_version", "");
	if (r == 0) {
		if (PQntuples(res) > 0)
			v = (int)pg_col_int(res, 0, 0);
		else
			r = pg_do(p, "INSERT INTO schema_version (version) "
			    "VALUES (0)", "");
		PQclear(res);
	}
	if (r == 0 && v > PG_SCHEMA_VERSION)
		r = -ENOTSUP;
	for (; r == 0 && v < PG_SCHEMA_VERSION; v++) {
		log_info("postgresql: schema version %d -> %d", v, v + 1);
		pthread_mutex_lock(&p->lock);
		res = PQexec(p->conn, pg_migrations[v]);
		r = PQresultStatus(res) == PGRES_COMMAND_OK ? 0 :
		    pg_err(res, p->conn);
		pthread_mutex_unlock(&p->lock);
		PQclear(res);
	}
	if (r == 0) {
		snprintf(sql, sizeof(sql), "UPDATE schema_version SET "
		    "version = %d", v);
		r = pg_do(p, sql, "");
	}
	if (r == 0)
		r = pg_commit(p);
	else
		pg_rollback(p);
	/* the lock goes with the session anyway */
	pg_do(p, "SELECT pg_advisory_unlock($1)", "i",
	    (int64_t)PG_MIGRATE_LOCK);
	return r;
}

int
pg_open(const char *url, struct pg **ret_pg)
{
	/* defaults first: the URL's own parameters override them */
	static const char *const keys[] = { "connect_timeout",
	    "application_name", "dbname", NULL };
	const char	*vals[] = { "10", "cascade", url, NULL };
	struct pg	*p;
	int		 r;

	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->durable = 1;
	if (pthread_mutex_init(&p->lock, NULL) != 0) {
		free(p);
		return -ENOMEM;
	}
	p->conn = PQconnectdbParams(keys, vals, 1);
	if (p->conn == NULL || PQstatus(p->conn) != CONNECTION_OK) {
		/* libpq's message names host and port, not the password */
		const char *msg = p->conn != NULL ?
		    PQerrorMessage(p->conn) : "no memory";

		log_error("cannot connect to postgresql: %.*s",
		    (int)strcspn(msg, "\n"), msg);
		pg_close(p);
		return -ECONNREFUSED;
	}
	r = pg_session(p);
	if (r == 0)
		r = pg_migrate(p);
	if (r == -ENOTSUP)
		log_error("the postgresql database has a schema from a newer "
		    "cascade");
	if (r < 0) {
		pg_close(p);
		return r;
	}
	*ret_pg = p;
	return 0;
}

void
pg_close(struct pg *p)
{
	if (p == NULL)
		return;
	PQfinish(p->conn);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

int
pg_set_durable(struct pg *p, int durable)
{
	p->durable = durable != 0;
	return pg_do(p, durable ? "SET synchronous_commit = on" :
	    "SET synchronous_commit = off", "");
}

/* in_tx is read under the lock by whichever thread sends next */
static void
pg_set_tx(struct pg *p, int in_tx)
{
	pthread_mutex_lock(&p->lock);
	p->in_tx = in_tx;
	pthread_mutex_unlock(&p->lock);
}

int
pg_begin(struct pg *p)
{
	int	 r;

	r = pg_do(p, "BEGIN", "");
	if (r == 0)
		pg_set_tx(p, 1);
	return r;
}

int
pg_commit(struct pg *p)
{
	int	 r;

	r = pg_do(p, "COMMIT", "");
	pg_set_tx(p, 0);
	return r;
}

void
pg_rollback(struct pg *p)
{
	pg_do(p, "ROLLBACK", "");
	pg_set_tx(p, 0);
}

/* ---- licenses ----------------------------------------------------------- */

#define PG_LICENSE_COLS	"key, edition, username, salt, hash, created"

static int
pg_col_license(const PGresult *res, int row, void *p)
{
	struct db_license	*l = p;
	const char		*v;

	memset(l, 0, sizeof(*l));
	pg_col_text(res, row, 0, l->key, sizeof(l->key));
	pg_col_text(res, row, 1, l->edition, sizeof(l->edition));
	pg_col_text(res, row, 2, l->username, sizeof(l->username));
	v = PQgetvalue(res, row, 3);
	if (crypto_unhex(v, strlen(v), l->salt, sizeof(l->salt)) < 0)
		memset(l->salt, 0, sizeof(l->salt));
	v = PQgetvalue(res, row, 4);
	if (crypto_unhex(v, strlen(v), l->hash, sizeof(l->hash)) < 0)
		memset(l->hash, 0, sizeof(l->hash));	/* matches nothing */
	l->created = pg_col_int(res, row, 5);
	return 0;
}

int
pg_license_add(struct pg *p, const struct db_license *l)
{
	char	 salt[2 * DB_LICENSE_SALT_LEN + 1];
	char	 hash[2 * CRYPTO_SHA256_LEN + 1];
	int	 named = l->username[0] != '\0';

	crypto_hex(l->salt, sizeof(l->salt), salt);
	crypto_hex(l->hash, sizeof(l->hash), hash);
	return pg_do(p, "INSERT INTO licenses (" PG_LICENSE_COLS ") VALUES "
	    "($1, $2, $3, $4, $5, $6)", "sssssi", l->key, l->edition,
	    named ? l->username : NULL, named ? salt : NULL,
	    named ? hash : NULL, l->created);
}

int
pg_license_remove(struct pg *p, const char *key)
{
	int	 r;

	r = pg_change(p, "DELETE FROM licenses WHERE key = $1", "s", key);
	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

int
pg_license_get(struct pg *p, const char *key, struct db_license *ret_l)
{
	PGresult	*res;
	int		 r;

	r = pg_query(p, &res, "SELECT " PG_LICENSE_COLS " FROM licenses "
	    "WHERE key = $1", "s", key);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0)
		r = -ENOENT;
	else
		pg_col_license(res, 0, ret_l);
	PQclear(res);
	return r;
}

int
pg_licenses(struct pg *p, struct db_license **ret_l, size_t *ret_n)
{
	PGresult	*res;
	void		*rows;
	int		 r;

	r = pg_query(p, &res, "SELECT " PG_LICENSE_COLS " FROM licenses "
	    "ORDER BY key COLLATE \"C\"", "");
	if (r < 0)
		return r;
	r = pg_rows(res, sizeof(**ret_l), pg_col_license, NULL, &rows, ret_n);
	if (r == 0)
		*ret_l = rows;
	return r;
}

int
pg_licenses_generation(struct pg *p, uint64_t *ret_gen)
{
	PGresult	*res;
	int		 r;

	r = pg_query(p, &res, "SELECT value FROM generations WHERE name = "
	    "'licenses'", "");
	if (r < 0)
		return r;
	*ret_gen = PQntuples(res) > 0 ? (uint64_t)pg_col_int(res, 0, 0) : 0;
	PQclear(res);
	return 0;
}

/* ---- events ------------------------------------------------------------- */

int
pg_event_add(struct pg *p, int64_t time, const char *kind,
    const char *channel, const char *agent, const char *detail)
{
	char	*k, *c, *a, *d;
	int	 r = -ENOMEM;

	k = pg_utf8(kind);
	c = pg_utf8(channel != NULL ? channel : "");
	a = pg_utf8(agent != NULL ? agent : "");
	d = pg_utf8(detail != NULL ? detail : "");
	if (k != NULL && c != NULL && a != NULL && d != NULL)
		r = pg_do(p, "INSERT INTO events (time, kind, channel, agent, "
		    "detail) VALUES ($1, $2, $3, $4, $5)", "issss", time, k,
		    c, a, d);
	free(k);
	free(c);
	free(a);
	free(d);
	return r;
}

#define PG_EVENT_COLS	"id, time, kind, channel, detail, agent"

/* Streams the rows of an event query (PG_EVENT_COLS) to fn, in
 * single-row mode: a history may be long. fn runs with the connection
 * held, which it does not use. */
static int
pg_events_walk(struct pg *p, int (*fn)(void *arg, const struct db_event *e),
    void *arg, const char *sql, const char *types, ...)
{
	struct pg_params	 pp;
	struct db_event		*e;
	PGresult		*res;
	ExecStatusType		 st;
	va_list			 ap;
	int			 r, stop = 0;

	va_start(ap, types);
	r = pg_params_fill(&pp, types, ap);
	va_end(ap);
	if (r < 0)
		return r;
	e = malloc(sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	pthread_mutex_lock(&p->lock);
	pg_check_conn(p);
	if (!PQsendQueryParams(p->conn, sql, pp.n, NULL, pp.v, NULL, NULL,
	    0) || !PQsetSingleRowMode(p->conn)) {
		r = pg_err(NULL, p->conn);
		/* drain whatever was sent */
		while ((res = PQgetResult(p->conn)) != NULL)
			PQclear(res);
		pthread_mutex_unlock(&p->lock);
		free(e);
		return r;
	}
	while ((res = PQgetResult(p->conn)) != NULL) {
		st = PQresultStatus(res);
		if (st == PGRES_SINGLE_TUPLE && !stop) {
			e->id = pg_col_int(res, 0, 0);
			e->time = pg_col_int(res, 0, 1);
			pg_col_text(res, 0, 2, e->kind, sizeof(e->kind));
			pg_col_text(res, 0, 3, e->channel, sizeof(e->channel));
			pg_col_text(res, 0, 4, e->detail, sizeof(e->detail));
			pg_col_text(res, 0, 5, e->agent, sizeof(e->agent));
			r = fn(arg, e);
			stop = r != 0;
		} else if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK &&
		    r == 0)
			r = pg_err(res, p->conn);
		PQclear(res);
	}
	pthread_mutex_unlock(&p->lock);
	free(e);
	return r;
}

int
pg_events(struct pg *p, int64_t since,
    int (*fn)(void *arg, const struct db_event *e), void *arg)
{
	return pg_events_walk(p, fn, arg, "SELECT " PG_EVENT_COLS " FROM "
	    "events WHERE time >= $1 ORDER BY id", "i", since);
}

int
pg_events_prune(struct pg *p, int64_t before)
{
	return pg_change(p, "DELETE FROM events WHERE time < $1", "i",
	    before);
}

/* ---- agents ------------------------------------------------------------- */

#define PG_AGENT_NOSTATUS_COLS "id, token_hash, notify_key, license_key, " \
	"grp, licensed, hostname, enrolled, last_seen, last_report, notify_url"
#define PG_AGENT_COLS	PG_AGENT_NOSTATUS_COLS ", status"

/* One row of PG_AGENT_COLS; 0 or -ENOMEM (the status document). */
static int
pg_col_agent(const PGresult *res, int row, void *p)
{
	struct db_agent	*a = p;

	memset(a, 0, sizeof(*a));
	pg_col_text(res, row, 0, a->id, sizeof(a->id));
	pg_col_blob(res, row, 1, a->token_hash, sizeof(a->token_hash));
	pg_col_blob(res, row, 2, a->notify_key, sizeof(a->notify_key));
	pg_col_text(res, row, 3, a->license_key, sizeof(a->license_key));
	pg_col_text(res, row, 4, a->group, sizeof(a->group));
	a->licensed = pg_col_int(res, row, 5) != 0;
	pg_col_text(res, row, 6, a->hostname, sizeof(a->hostname));
	a->enrolled = pg_col_int(res, row, 7);
	a->last_seen = pg_col_int(res, row, 8);
	a->last_report = pg_col_int(res, row, 9);
	pg_col_text(res, row, 10, a->notify_url, sizeof(a->notify_url));
	if (!PQgetisnull(res, row, 11) &&
	    (a->status = strdup(PQgetvalue(res, row, 11))) == NULL)
		return -ENOMEM;
	return 0;
}

int
pg_agent_add(struct pg *p, const struct db_agent *a)
{
	return pg_do(p, "INSERT INTO agents (" PG_AGENT_COLS ") VALUES "
	    "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
	    "sbbssisiiiss", a->id, a->token_hash, sizeof(a->token_hash),
	    a->notify_key, sizeof(a->notify_key), a->license_key, a->group,
	    (int64_t)(a->licensed != 0), a->hostname, a->enrolled,
	    a->last_seen, a->last_report, a->notify_url, a->status);
}

int
pg_agent_get(struct pg *p, const char *id, struct db_agent *ret_a)
{
	PGresult	*res;
	struct db_agent	 a;
	int		 r;

	r = pg_query(p, &res, "SELECT " PG_AGENT_COLS " FROM agents WHERE "
	    "id = $1", "s", id);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0)
		r = -ENOENT;
	else
		r = pg_col_agent(res, 0, &a);
	PQclear(res);
	if (r < 0)
		return r;
	*ret_a = a;
	return 0;
}

int
pg_agents(struct pg *p, int with_status, struct db_agent **ret_a,
    size_t *ret_n)
{
	PGresult	*res;
	void		*rows;
	int		 r;

	r = pg_query(p, &res, with_status ?
	    "SELECT " PG_AGENT_COLS " FROM agents ORDER BY enrolled, seq" :
	    "SELECT " PG_AGENT_NOSTATUS_COLS ", NULL FROM agents "
	    "ORDER BY enrolled, seq", "");
	if (r < 0)
		return r;
	r = pg_rows(res, sizeof(**ret_a), pg_col_agent, pg_release_agents,
	    &rows, ret_n);
	if (r == 0)
		*ret_a = rows;
	return r;
}

/* An UPDATE or DELETE of one agent: 0, -ENOENT (no row changed). */
#define PG_ONE(r)	((r) == 0 ? -ENOENT : (r) < 0 ? (r) : 0)

int
pg_agent_set_licensed(struct pg *p, const char *id, int licensed)
{
	int	 r;

	r = pg_change(p, "UPDATE agents SET licensed = $1 WHERE id = $2",
	    "is", (int64_t)(licensed != 0), id);
	return PG_ONE(r);
}

int
pg_agent_set_group(struct pg *p, const char *id, const char *group)
{
	int	 r;

	r = pg_change(p, "UPDATE agents SET grp = $1 WHERE id = $2", "ss",
	    group, id);
	return PG_ONE(r);
}

int
pg_agent_remove(struct pg *p, const char *id)
{
	int	 r;

	r = pg_change(p, "DELETE FROM agents WHERE id = $1", "s", id);
	return PG_ONE(r);
}

int
pg_agent_report(struct pg *p, const char *id, const char *hostname,
    const char *notify_url, const char *status, int64_t now)
{
	char	*h, *s;
	int	 r = -ENOMEM;

	h = pg_utf8(hostname);
	s = status != NULL ? pg_utf8(status) : NULL;
	if (h != NULL && (status == NULL || s != NULL))
		r = pg_change(p, "UPDATE agents SET hostname = $1, "
		    "notify_url = $2, status = $3, last_report = $4, "
		    "last_seen = $5 WHERE id = $6", "sssiis", h,
		    notify_url != NULL ? notify_url : "", s, now, now, id);
	free(h);
	free(s);
	return PG_ONE(r);
}

int
pg_agent_seen(struct pg *p, const char *id, int64_t now)
{
	int	 r;

	r = pg_change(p, "UPDATE agents SET last_seen = $1 WHERE id = $2",
	    "is", now, id);
	return PG_ONE(r);
}

/* ---- leases ------------------------------------------------------------- */

int
pg_lease_take(struct pg *p, const char *name, const char *holder,
    int64_t seconds)
{
	int	 r;

	/* one statement: two servers racing for a free lease cannot both
	 * insert, and the loser's update finds it held */
	r = pg_change(p, "INSERT INTO leases (name, holder, expires) "
	    "VALUES ($1, $2, EXTRACT(EPOCH FROM clock_timestamp())::BIGINT "
	    "+ $3) ON CONFLICT (name) DO UPDATE SET holder = excluded.holder,"
	    " expires = excluded.expires WHERE leases.holder = "
	    "excluded.holder OR leases.expires <= "
	    "EXTRACT(EPOCH FROM clock_timestamp())::BIGINT", "ssi", name,
	    holder, seconds);
	return r < 0 ? r : r > 0;
}

/* ---- events by filter --------------------------------------------------- */

int
pg_events_query(struct pg *p, const struct db_event_filter *f,
    int (*fn)(void *arg, const struct db_event *e), void *arg)
{
	const char	*kind = f->kind != NULL ? f->kind : "";
	size_t		 klen = strlen(kind);
	char		 prefix[DB_EVENT_KIND_MAX + 2];
	int		 is_prefix = klen > 0 && kind[klen - 1] == '*';

	/* a prefix is compared by left(), which knows no wildcard: a '%'
	 * or '_' in it means itself */
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(is_prefix ?
	    klen - 1 : 0), kind);
	return pg_events_walk(p, fn, arg, f->newest && f->limit > 0 ?
	    "SELECT * FROM (SELECT " PG_EVENT_COLS " FROM events WHERE "
	    "($1 = 0 OR kind = $2) AND ($3 = 0 OR left(kind, length($4)) = "
	    "$4) AND ($5 = '' OR agent = $5) AND time >= $6 AND id > $7 "
	    "ORDER BY id DESC LIMIT $8) AS e ORDER BY id" :
	    "SELECT " PG_EVENT_COLS " FROM events WHERE "
	    "($1 = 0 OR kind = $2) AND ($3 = 0 OR left(kind, length($4)) = "
	    "$4) AND ($5 = '' OR agent = $5) AND time >= $6 AND id > $7 "
	    "ORDER BY id LIMIT $8", "isissiii",
	    (int64_t)(klen > 0 && !is_prefix), kind, (int64_t)is_prefix,
	    prefix, f->agent != NULL ? f->agent : "", f->since, f->after,
	    f->limit > 0 ? (int64_t)f->limit : INT64_MAX);
}

int
pg_events_last(struct pg *p, int64_t *ret_id)
{
	PGresult	*res;
	int		 r;

	r = pg_query(p, &res, "SELECT COALESCE(MAX(id), 0) FROM events", "");
	if (r < 0)
		return r;
	*ret_id = pg_col_int(res, 0, 0);
	PQclear(res);
	return 0;
}

/* ---- admin tokens ------------------------------------------------------- */

#define PG_TOKEN_COLS	"name, role, hash, created"

static int
pg_col_token(const PGresult *res, int row, void *p)
{
	struct db_token	*t = p;

	memset(t, 0, sizeof(*t));
	pg_col_text(res, row, 0, t->name, sizeof(t->name));
	pg_col_text(res, row, 1, t->role, sizeof(t->role));
	pg_col_blob(res, row, 2, t->hash, sizeof(t->hash));
	t->created = pg_col_int(res, row, 3);
	return 0;
}

int
pg_token_add(struct pg *p, const struct db_token *t)
{
	return pg_do(p, "INSERT INTO tokens (" PG_TOKEN_COLS ") VALUES "
	    "($1, $2, $3, $4)", "ssbi", t->name, t->role, t->hash,
	    sizeof(t->hash), t->created);
}

int
pg_token_remove(struct pg *p, const char *name)
{
	return PG_ONE(pg_change(p, "DELETE FROM tokens WHERE name = $1", "s",
	    name));
}

int
pg_token_find(struct pg *p, const unsigned char hash[CRYPTO_SHA256_LEN],
    struct db_token *ret_t)
{
	PGresult	*res;
	int		 r;

	r = pg_query(p, &res, "SELECT " PG_TOKEN_COLS " FROM tokens WHERE "
	    "hash = $1", "b", hash, (size_t)CRYPTO_SHA256_LEN);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0)
		r = -ENOENT;
	else
		pg_col_token(res, 0, ret_t);
	PQclear(res);
	return r;
}

int
pg_tokens(struct pg *p, struct db_token **ret_t, size_t *ret_n)
{
	PGresult	*res;
	void		*rows;
	int		 r;

	r = pg_query(p, &res, "SELECT " PG_TOKEN_COLS " FROM tokens ORDER BY "
	    "name COLLATE \"C\"", "");
	if (r < 0)
		return r;
	r = pg_rows(res, sizeof(**ret_t), pg_col_token, NULL, &rows, ret_n);
	if (r == 0)
		*ret_t = rows;
	return r;
}

/* ---- schedules ---------------------------------------------------------- */

static int
pg_col_schedule(const PGresult *res, int row, void *p)
{
	struct db_schedule	*s = p;

	memset(s, 0, sizeof(*s));
	pg_col_text(res, row, 0, s->target, sizeof(s->target));
	pg_col_text(res, row, 1, s->schedule, sizeof(s->schedule));
	s->at_startup = pg_col_int(res, row, 2) != 0;
	return 0;
}

int
pg_schedule_get(struct pg *p, const char *target, struct db_schedule *ret_s)
{
	PGresult	*res;
	int		 r;

	r = pg_query(p, &res, "SELECT target, schedule, at_startup FROM "
	    "schedules WHERE target = $1", "s", target);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0)
		r = -ENOENT;
	else
		pg_col_schedule(res, 0, ret_s);
	PQclear(res);
	return r;
}

int
pg_schedule_set(struct pg *p, const struct db_schedule *s)
{
	return pg_do(p, "INSERT INTO schedules (target, schedule, at_startup) "
	    "VALUES ($1, $2, $3) ON CONFLICT (target) DO UPDATE SET "
	    "schedule = excluded.schedule, at_startup = excluded.at_startup",
	    "ssi", s->target, s->schedule, (int64_t)(s->at_startup != 0));
}

int
pg_schedule_remove(struct pg *p, const char *target)
{
	return PG_ONE(pg_change(p, "DELETE FROM schedules WHERE target = $1",
	    "s", target));
}

int
pg_schedules(struct pg *p, struct db_schedule **ret_s, size_t *ret_n)
{
	PGresult	*res;
	void		*rows;
	int		 r;

	r = pg_query(p, &res, "SELECT target, schedule, at_startup FROM "
	    "schedules ORDER BY target COLLATE \"C\"", "");
	if (r < 0)
		return r;
	r = pg_rows(res, sizeof(**ret_s), pg_col_schedule, NULL, &rows,
	    ret_n);
	if (r == 0)
		*ret_s = rows;
	return r;
}

/* ---- downstreams ------------------------------------------------------- */

#define PG_DOWNSTREAM_COLS \
	"name, address, edition, last_report, run_requested, inventory"

static int
pg_col_downstream(const PGresult *res, int row, void *p)
{
	struct db_downstream	*d = p;

	memset(d, 0, sizeof(*d));
	pg_col_text(res, row, 0, d->name, sizeof(d->name));
	pg_col_text(res, row, 1, d->address, sizeof(d->address));
	pg_col_text(res, row, 2, d->edition, sizeof(d->edition));
	d->last_report = pg_col_int(res, row, 3);
	d->run_requested = pg_col_int(res, row, 4);
	d->inventory = strdup(PQgetvalue(res, row, 5));
	return d->inventory == NULL ? -ENOMEM : 0;
}

int
pg_downstream_report(struct pg *p, const struct db_downstream *d)
{
	char	*inv, *addr;
	int	 r;

	/* PostgreSQL takes only UTF-8 (the server writes ASCII here) */
	inv = pg_utf8(d->inventory != NULL ? d->inventory : "");
	addr = pg_utf8(d->address);
	if (inv == NULL || addr == NULL) {
		free(inv);
		free(addr);
		return -ENOMEM;
	}
	r = pg_do(p, "INSERT INTO downstreams (name, address, edition, "
	    "last_report, inventory) VALUES ($1, $2, $3, $4, $5) "
	    "ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
	    "edition = excluded.edition, last_report = excluded.last_report, "
	    "inventory = excluded.inventory", "sssis", d->name, addr,
	    d->edition, d->last_report, inv);
	free(inv);
	free(addr);
	return r;
}

int
pg_downstream_get(struct pg *p, const char *name, struct db_downstream *ret_d)
{
	PGresult	*res;
	int		 r;

	r = pg_query(p, &res, "SELECT " PG_DOWNSTREAM_COLS " FROM downstreams "
	    "WHERE name = $1", "s", name);
	if (r < 0)
		return r;
	if (PQntuples(res) == 0)
		r = -ENOENT;
	else
		r = pg_col_downstream(res, 0, ret_d);
	PQclear(res);
	return r;
}

int
pg_downstreams(struct pg *p, struct db_downstream **ret_d, size_t *ret_n)
{
	PGresult	*res;
	void		*rows;
	int		 r;

	r = pg_query(p, &res, "SELECT " PG_DOWNSTREAM_COLS " FROM downstreams "
	    "ORDER BY name", "");
	if (r < 0)
		return r;
	r = pg_rows(res, sizeof(**ret_d), pg_col_downstream,
	    pg_release_downstreams, &rows, ret_n);
	if (r == 0)
		*ret_d = rows;
	return r;
}

int
pg_downstream_remove(struct pg *p, const char *name)
{
	int	 r;

	r = pg_change(p, "DELETE FROM downstreams WHERE name = $1", "s", name);
	return PG_ONE(r);
}

int
pg_downstream_run(struct pg *p, const char *name, int64_t now)
{
	int	 r;

	r = pg_change(p, "UPDATE downstreams SET run_requested = "
	    "CASE WHEN run_requested <> 0 THEN run_requested ELSE $1 END "
	    "WHERE name = $2", "is", now, name);
	return PG_ONE(r);
}

int
pg_downstream_run_take(struct pg *p, const char *name)
{
	int	 r;

	/* one statement: of two servers, one changes the row */
	r = pg_change(p, "UPDATE downstreams SET run_requested = 0 "
	    "WHERE name = $1 AND run_requested <> 0", "s", name);
	return r < 0 ? r : r > 0;
}

int
pg_downstreams_running(struct pg *p,
    char (**ret_names)[MANIFEST_NAME_MAX + 1], size_t *ret_n)
{
	PGresult	*res;
	void		*rows;
	int		 r;

	r = pg_query(p, &res, "SELECT name FROM downstreams WHERE "
	    "run_requested <> 0 ORDER BY name COLLATE \"C\"", "");
	if (r < 0)
		return r;
	r = pg_rows(res, sizeof((*ret_names)[0]), pg_row_name, NULL, &rows,
	    ret_n);
	if (r == 0)
		*ret_names = rows;
	return r;
}
