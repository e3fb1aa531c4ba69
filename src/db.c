#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "pg.h"
#include "banned.h"

struct db {
	sqlite3		*h;
	struct pg	*pg;	/* the shared tables, or NULL: all in h */
};

static const char db_schema[] =
"PRAGMA journal_mode = WAL;"
"PRAGMA synchronous = FULL;"
"CREATE TABLE IF NOT EXISTS channels ("
"  name TEXT PRIMARY KEY, serial INTEGER NOT NULL);"
"CREATE TABLE IF NOT EXISTS versions ("
"  channel TEXT NOT NULL, component TEXT NOT NULL,"
"  version INTEGER NOT NULL, kind TEXT NOT NULL, edition TEXT NOT NULL,"
"  size INTEGER NOT NULL, sha256 TEXT NOT NULL, published INTEGER NOT NULL,"
"  PRIMARY KEY (channel, component, version));"
"CREATE INDEX IF NOT EXISTS versions_sha ON versions (sha256);"
"CREATE TABLE IF NOT EXISTS deltas ("
"  from_sha256 TEXT NOT NULL, to_sha256 TEXT NOT NULL,"
"  sha256 TEXT NOT NULL, size INTEGER NOT NULL,"
"  PRIMARY KEY (from_sha256, to_sha256));"
"CREATE INDEX IF NOT EXISTS deltas_sha ON deltas (sha256);"
"CREATE INDEX IF NOT EXISTS deltas_to ON deltas (to_sha256);"
"CREATE TABLE IF NOT EXISTS events ("
"  id INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
"  kind TEXT NOT NULL, channel TEXT NOT NULL, detail TEXT NOT NULL);"
"CREATE TABLE IF NOT EXISTS meta ("
"  key TEXT PRIMARY KEY, value TEXT NOT NULL);"
/* licenses; every change to them bumps meta 'licenses_generation' */
"CREATE TABLE IF NOT EXISTS licenses ("
"  key TEXT PRIMARY KEY, edition TEXT NOT NULL, username TEXT,"
"  salt TEXT, hash TEXT, created INTEGER NOT NULL);"
#define DB_LICENSES_BUMP \
"  INSERT OR REPLACE INTO meta (key, value) VALUES ('licenses_generation'," \
"    COALESCE((SELECT CAST(value AS INTEGER) FROM meta" \
"    WHERE key = 'licenses_generation'), 0) + 1);"
"CREATE TRIGGER IF NOT EXISTS licenses_insert AFTER INSERT ON licenses"
"  BEGIN" DB_LICENSES_BUMP " END;"
"CREATE TRIGGER IF NOT EXISTS licenses_update AFTER UPDATE ON licenses"
"  BEGIN" DB_LICENSES_BUMP " END;"
"CREATE TRIGGER IF NOT EXISTS licenses_delete AFTER DELETE ON licenses"
"  BEGIN" DB_LICENSES_BUMP " END;"
"CREATE INDEX IF NOT EXISTS events_time ON events (time);";

/*
 * Later schema versions (PRAGMA user_version), applied in order: step i
 * takes a database at version i to i + 1, in one transaction. A state
 * file made before versions existed is at 0 and has the tables above.
 */
static const char *const db_migrations[] = {
	/* 0 -> 1: agents, and the agent an event is about (the column is
	 * added apart, by db_migrate, since ALTER TABLE has no IF NOT
	 * EXISTS) */
	"CREATE TABLE IF NOT EXISTS agents ("
	"  id TEXT PRIMARY KEY, token_hash BLOB NOT NULL,"
	"  notify_key BLOB NOT NULL, license_key TEXT NOT NULL,"
	"  grp TEXT NOT NULL, licensed INTEGER NOT NULL,"
	"  hostname TEXT NOT NULL, enrolled INTEGER NOT NULL,"
	"  last_seen INTEGER NOT NULL DEFAULT 0,"
	"  last_report INTEGER NOT NULL DEFAULT 0,"
	"  notify_url TEXT NOT NULL DEFAULT '', status TEXT);"
	"CREATE INDEX IF NOT EXISTS agents_enrolled ON agents (enrolled);"
	"CREATE INDEX IF NOT EXISTS events_agent ON events (agent)"
	"  WHERE agent != '';"
	/* the server's credential set holds agents: changes to who may
	 * authenticate, and as what, bump the generation; reports do not */
	"CREATE TRIGGER IF NOT EXISTS agents_insert AFTER INSERT ON agents"
	"  BEGIN" DB_LICENSES_BUMP " END;"
	"CREATE TRIGGER IF NOT EXISTS agents_update"
	"  AFTER UPDATE OF id, token_hash, license_key, grp, licensed"
	"  ON agents BEGIN" DB_LICENSES_BUMP " END;"
	"CREATE TRIGGER IF NOT EXISTS agents_delete AFTER DELETE ON agents"
	"  BEGIN" DB_LICENSES_BUMP " END;",
	/* 1 -> 2: the admin API's tokens (only their hashes), the
	 * schedules set through it, and events read by id */
	"CREATE TABLE IF NOT EXISTS tokens ("
	"  name TEXT PRIMARY KEY, role TEXT NOT NULL,"
	"  hash BLOB NOT NULL UNIQUE, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS schedules ("
	"  target TEXT PRIMARY KEY, schedule TEXT NOT NULL,"
	"  at_startup INTEGER NOT NULL);"
	"CREATE INDEX IF NOT EXISTS events_kind ON events (kind);",
	/* 2 -> 3: downstream servers and their inventories */
	"CREATE TABLE IF NOT EXISTS downstreams ("
	"  name TEXT PRIMARY KEY, address TEXT NOT NULL,"
	"  edition TEXT NOT NULL, last_report INTEGER NOT NULL,"
	"  run_requested INTEGER NOT NULL DEFAULT 0,"
	"  inventory TEXT NOT NULL);"
	/* the server's long-poll asks for these several times a second */
	"CREATE INDEX IF NOT EXISTS downstreams_running ON downstreams"
	"  (name) WHERE run_requested != 0;",
};

#define DB_SCHEMA_VERSION \
	((int)(sizeof(db_migrations) / sizeof(db_migrations[0])))

static int
db_err(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CONSTRAINT:
		return -EEXIST;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
		return -EROFS;
	default:
		return -EIO;
	}
}

static int
db_user_version(struct db *db, int *ret_v)
{
	sqlite3_stmt	*st;
	int		 rc;

	rc = sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_err(rc);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_err(rc);
}

/* 1 if table has the column, 0 if not. */
static int
db_has_column(struct db *db, const char *table, const char *column)
{
	sqlite3_stmt	*st;
	char		 sql[128];
	const unsigned char *name;
	int		 rc, found = 0;

	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	rc = sqlite3_prepare_v2(db->h, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return db_err(rc);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = sqlite3_column_text(st, 1);
		if (name != NULL && strcmp((const char *)name, column) == 0)
			found = 1;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? found : db_err(rc);
}

/* One step of db_migrations, inside the caller's transaction. */
static int
db_migrate_step(struct db *db, int from)
{
	int	 r;

	if (from == 0) {
		r = db_has_column(db, "events", "agent");
		if (r == 0)
			r = db_err(sqlite3_exec(db->h, "ALTER TABLE events "
			    "ADD COLUMN agent TEXT NOT NULL DEFAULT ''", NULL,
			    NULL, NULL));
		if (r < 0)
			return r;
	}
	return db_err(sqlite3_exec(db->h, db_migrations[from], NULL, NULL,
	    NULL));
}

/*
 * Brings the schema to DB_SCHEMA_VERSION. The version is read again
 * under the write lock, so that processes opening one file at once
 * migrate it once. A file from a newer cascade is refused (-ENOTSUP)
 * rather than written by code that does not know its tables.
 */
static int
db_migrate(struct db *db)
{
	char	 sql[64];
	int	 v, r;

	r = db_user_version(db, &v);
	if (r < 0)
		return r;
	if (v > DB_SCHEMA_VERSION)
		return -ENOTSUP;
	if (v == DB_SCHEMA_VERSION)
		return 0;
	r = db_begin(db);
	if (r < 0)
		return r;
	r = db_user_version(db, &v);
	if (r == 0 && v > DB_SCHEMA_VERSION)
		r = -ENOTSUP;
	for (; r == 0 && v < DB_SCHEMA_VERSION; v++)
		r = db_migrate_step(db, v);
	if (r == 0) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
		r = db_err(sqlite3_exec(db->h, sql, NULL, NULL, NULL));
	}
	if (r == 0)
		r = db_commit(db);
	if (r < 0)
		db_rollback(db);
	return r;
}

int
db_open(const char *path, const char *state, int create, struct db **ret_db)
{
	struct db	*db;
	int		 flags, rc, r;

	db = calloc(1, sizeof(*db));
	if (db == NULL)
		return -ENOMEM;
	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX |
	    (create ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(path, &db->h, flags, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(db->h, 30000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db->h, db_schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
		db_close(db);
		return db_err(rc);
	}
	r = db_migrate(db);
	if (r == 0 && state != NULL && state[0] != '\0')
		r = pg_open(state, &db->pg);
	if (r < 0) {
		db_close(db);
		return r;
	}
	*ret_db = db;
	return 0;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	pg_close(db->pg);
	sqlite3_close(db->h);
	free(db);
}

int
db_set_durable(struct db *db, int durable)
{
	int	 r;

	r = db_err(sqlite3_exec(db->h, durable ?
	    "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
	    NULL, NULL, NULL));
	if (r == 0 && db->pg != NULL)
		r = pg_set_durable(db->pg, durable);
	return r;
}

/*
 * With PostgreSQL a transaction is one in each database, atomic in each.
 * PostgreSQL commits first: when it refuses, nothing is kept anywhere.
 * Only a local commit failing right after (a disk failure) can keep the
 * shared half of a change that writes both (a publish and its event).
 */
int
db_begin(struct db *db)
{
	int	 r;

	r = db_err(sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL));
	if (r == 0 && db->pg != NULL) {
		r = pg_begin(db->pg);
		if (r < 0)
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
	}
	return r;
}

int
db_commit(struct db *db)
{
	int	 r;

	if (db->pg != NULL) {
		r = pg_commit(db->pg);
		if (r < 0) {
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
			return r;
		}
	}
	return db_err(sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL));
}

void
db_rollback(struct db *db)
{
	if (db->pg != NULL)
		pg_rollback(db->pg);
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

int
db_lease_take(struct db *db, const char *name, const char *holder,
    int64_t seconds)
{
	/* one server on its own file: nobody else to run the work */
	if (db->pg == NULL)
		return 1;
	return pg_lease_take(db->pg, name, holder, seconds);
}

/*
 * A tiny binding layer: "s" binds a string, "u" a uint64_t, "i" an
 * int64_t, "b" a blob (a pointer and a size_t length), in order.
 */
static int
db_prepare(struct db *db, sqlite3_stmt **st, const char *sql,
    const char *types, ...)
{
	va_list	 ap;
	int	 i, rc;

	rc = sqlite3_prepare_v2(db->h, sql, -1, st, NULL);
	if (rc != SQLITE_OK)
		return db_err(rc);
	va_start(ap, types);
	for (i = 0; rc == SQLITE_OK && types[i] != '\0'; i++) {
		switch (types[i]) {
		case 's':
			rc = sqlite3_bind_text(*st, i + 1,
			    va_arg(ap, const char *), -1, SQLITE_STATIC);
			break;
		case 'u':
			rc = sqlite3_bind_int64(*st, i + 1,
			    (sqlite3_int64)va_arg(ap, uint64_t));
			break;
		case 'b': {
			const void	*p = va_arg(ap, const void *);
			size_t		 n = va_arg(ap, size_t);

			rc = sqlite3_bind_blob(*st, i + 1, p, (int)n,
			    SQLITE_STATIC);
			break;
		}
		default:
			rc = sqlite3_bind_int64(*st, i + 1,
			    (sqlite3_int64)va_arg(ap, int64_t));
			break;
		}
	}
	va_end(ap);
	if (rc != SQLITE_OK) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return db_err(rc);
}

static int
db_step_done(sqlite3_stmt *st)
{
	int	 rc;

	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : db_err(rc);
}

static void
db_col_text(sqlite3_stmt *st, int col, char *dst, size_t size)
{
	const unsigned char	*t = sqlite3_column_text(st, col);

	snprintf(dst, size, "%s", t != NULL ? (const char *)t : "");
}

/* Fills one element (at p) from the row st is on: 0 or -errno. */
typedef int	 db_row_fn(sqlite3_stmt *st, void *p);

/*
 * Steps st to its end and finalizes it, one element of `size` bytes per
 * row, the array grown by doubling. On failure, the rows filled so far
 * go to release (when not NULL), the array is freed and nothing is
 * returned. *ret_rows is the caller's (free()); NULL when there is none.
 */
static int
db_rows(sqlite3_stmt *st, size_t size, db_row_fn *row,
    void (*release)(void *rows, size_t n), void **ret_rows, size_t *ret_n)
{
	char	*v = NULL, *nv;
	size_t	 n = 0, cap = 0;
	int	 r = 0, rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : 2 * cap;
			nv = cap > SIZE_MAX / size ? NULL :
			    realloc(v, cap * size);
			if (nv == NULL) {
				r = -ENOMEM;
				break;
			}
			v = nv;
		}
		r = row(st, v + n * size);
		n++;
		if (r < 0)
			break;
	}
	sqlite3_finalize(st);
	if (r == 0 && rc != SQLITE_DONE)
		r = db_err(rc);
	if (r < 0) {
		if (release != NULL)
			release(v, n);
		free(v);
		return r;
	}
	*ret_rows = v;
	*ret_n = n;
	return 0;
}

/* A row whose first column is a name. */
static int
db_row_name(sqlite3_stmt *st, void *p)
{
	db_col_text(st, 0, p, MANIFEST_NAME_MAX + 1);
	return 0;
}

int
db_channel_serial(struct db *db, const char *channel, uint64_t *ret_serial)
{
	sqlite3_stmt	*st;
	int		 r, rc;

	r = db_prepare(db, &st, "SELECT serial FROM channels WHERE name = ?",
	    "s", channel);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	*ret_serial = rc == SQLITE_ROW ?
	    (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(rc);
}

int
db_channel_set_serial(struct db *db, const char *channel, uint64_t serial)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "INSERT INTO channels (name, serial) "
	    "VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET serial = "
	    "excluded.serial", "su", channel, serial);
	return r < 0 ? r : db_step_done(st);
}

int
db_channels(struct db *db, char (**ret_names)[MANIFEST_NAME_MAX + 1],
    size_t *ret_n)
{
	sqlite3_stmt	*st;
	void		*rows;
	int		 r;

	r = db_prepare(db, &st, "SELECT name FROM channels ORDER BY name",
	    "");
	if (r < 0)
		return r;
	r = db_rows(st, sizeof((*ret_names)[0]), db_row_name, NULL, &rows,
	    ret_n);
	if (r == 0)
		*ret_names = rows;
	return r;
}

static int
db_row_version(sqlite3_stmt *st, void *p)
{
	struct db_version	*v = p;

	db_col_text(st, 0, v->component, sizeof(v->component));
	v->version = (uint64_t)sqlite3_column_int64(st, 1);
	db_col_text(st, 2, v->kind, sizeof(v->kind));
	db_col_text(st, 3, v->edition, sizeof(v->edition));
	v->size = (uint64_t)sqlite3_column_int64(st, 4);
	db_col_text(st, 5, v->sha256, sizeof(v->sha256));
	v->published = sqlite3_column_int64(st, 6);
	return 0;
}

static int
db_collect_versions(sqlite3_stmt *st, struct db_version **ret_v,
    size_t *ret_n)
{
	void	*rows;
	int	 r;

	r = db_rows(st, sizeof(**ret_v), db_row_version, NULL, &rows, ret_n);
	if (r == 0)
		*ret_v = rows;
	return r;
}

#define DB_VERSION_COLS \
	"component, version, kind, edition, size, sha256, published"

int
db_versions(struct db *db, const char *channel, const char *component,
    size_t max, struct db_version **ret_v, size_t *ret_n)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "SELECT " DB_VERSION_COLS " FROM versions "
	    "WHERE channel = ? AND component = ? ORDER BY version DESC "
	    "LIMIT ?", "ssi", channel, component,
	    max == 0 ? (int64_t)-1 : (int64_t)max);
	if (r < 0)
		return r;
	return db_collect_versions(st, ret_v, ret_n);
}

int
db_current(struct db *db, const char *channel, struct db_version **ret_v,
    size_t *ret_n)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "SELECT " DB_VERSION_COLS " FROM versions v "
	    "WHERE channel = ? AND version = (SELECT MAX(version) FROM "
	    "versions w WHERE w.channel = v.channel AND "
	    "w.component = v.component) ORDER BY component", "s", channel);
	if (r < 0)
		return r;
	return db_collect_versions(st, ret_v, ret_n);
}

int
db_version_add(struct db *db, const char *channel, const struct db_version *v)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "INSERT INTO versions (channel, component, "
	    "version, kind, edition, size, sha256, published) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?)", "ssussusi", channel, v->component,
	    v->version, v->kind, v->edition, v->size, v->sha256,
	    v->published);
	return r < 0 ? r : db_step_done(st);
}

int
db_version_remove(struct db *db, const char *channel, const char *component,
    uint64_t version)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "DELETE FROM versions WHERE channel = ? AND "
	    "component = ? AND version = ?", "ssu", channel, component,
	    version);
	return r < 0 ? r : db_step_done(st);
}

static int
db_row_delta(sqlite3_stmt *st, void *p)
{
	struct db_delta	*d = p;

	db_col_text(st, 0, d->from_sha256, sizeof(d->from_sha256));
	db_col_text(st, 1, d->to_sha256, sizeof(d->to_sha256));
	db_col_text(st, 2, d->sha256, sizeof(d->sha256));
	d->size = (uint64_t)sqlite3_column_int64(st, 3);
	d->from_version = (uint64_t)sqlite3_column_int64(st, 4);
	return 0;
}

static int
db_collect_deltas(sqlite3_stmt *st, struct db_delta **ret_d, size_t *ret_n)
{
	void	*rows;
	int	 r;

	r = db_rows(st, sizeof(**ret_d), db_row_delta, NULL, &rows, ret_n);
	if (r == 0)
		*ret_d = rows;
	return r;
}

int
db_deltas_to(struct db *db, const char *channel, const char *component,
    const char *to_sha256, struct db_delta **ret_d, size_t *ret_n)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "SELECT d.from_sha256, d.to_sha256, "
	    "d.sha256, d.size, COALESCE(MAX(v.version), 0) FROM deltas d "
	    "LEFT JOIN versions v ON v.sha256 = d.from_sha256 AND "
	    "v.channel = ? AND v.component = ? WHERE d.to_sha256 = ? "
	    "GROUP BY d.from_sha256 ORDER BY 5 DESC", "sss", channel,
	    component, to_sha256);
	if (r < 0)
		return r;
	return db_collect_deltas(st, ret_d, ret_n);
}

int
db_deltas_all(struct db *db, struct db_delta **ret_d, size_t *ret_n)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "SELECT from_sha256, to_sha256, sha256, "
	    "size, 0 FROM deltas ORDER BY to_sha256, from_sha256", "");
	if (r < 0)
		return r;
	return db_collect_deltas(st, ret_d, ret_n);
}

int
db_delta_add(struct db *db, const struct db_delta *d)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "INSERT OR REPLACE INTO deltas (from_sha256, "
	    "to_sha256, sha256, size) VALUES (?, ?, ?, ?)", "sssu",
	    d->from_sha256, d->to_sha256, d->sha256, d->size);
	return r < 0 ? r : db_step_done(st);
}

int
db_delta_remove(struct db *db, const char *from_sha256, const char *to_sha256)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "DELETE FROM deltas WHERE from_sha256 = ? "
	    "AND to_sha256 = ?", "ss", from_sha256, to_sha256);
	return r < 0 ? r : db_step_done(st);
}

int
db_object_referenced(struct db *db, const char *sha256)
{
	sqlite3_stmt	*st;
	int		 r, rc;

	r = db_prepare(db, &st, "SELECT 1 FROM versions WHERE sha256 = ?1 "
	    "UNION ALL SELECT 1 FROM deltas WHERE sha256 = ?1 LIMIT 1", "s",
	    sha256);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : db_err(rc);
}

int
db_object_editions(struct db *db,
    int (*fn)(void *arg, const char *sha256, const char *edition), void *arg)
{
	sqlite3_stmt	*st;
	char		 sha[CRYPTO_SHA256_HEX], ed[MANIFEST_NAME_MAX + 1];
	int		 r, rc;

	r = db_prepare(db, &st, "SELECT sha256, edition FROM versions "
	    "UNION ALL SELECT d.sha256, v.edition FROM deltas d "
	    "JOIN versions v ON v.sha256 = d.to_sha256", "");
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_col_text(st, 0, sha, sizeof(sha));
		db_col_text(st, 1, ed, sizeof(ed));
		r = fn(arg, sha, ed);
		if (r != 0)
			break;
	}
	sqlite3_finalize(st);
	if (r != 0)
		return r;
	return rc == SQLITE_DONE ? 0 : db_err(rc);
}

#define DB_LICENSE_COLS	"key, edition, username, salt, hash, created"

/* One row of DB_LICENSE_COLS; salt and hash are hex. */
static int
db_col_license(sqlite3_stmt *st, void *p)
{
	struct db_license	*l = p;
	char	 hex[2 * CRYPTO_SHA256_LEN + 1];

	memset(l, 0, sizeof(*l));
	db_col_text(st, 0, l->key, sizeof(l->key));
	db_col_text(st, 1, l->edition, sizeof(l->edition));
	db_col_text(st, 2, l->username, sizeof(l->username));
	db_col_text(st, 3, hex, sizeof(hex));
	if (crypto_unhex(hex, strlen(hex), l->salt, sizeof(l->salt)) < 0)
		memset(l->salt, 0, sizeof(l->salt));
	db_col_text(st, 4, hex, sizeof(hex));
	if (crypto_unhex(hex, strlen(hex), l->hash, sizeof(l->hash)) < 0)
		memset(l->hash, 0, sizeof(l->hash));	/* matches nothing */
	l->created = sqlite3_column_int64(st, 5);
	return 0;
}

int
db_license_add(struct db *db, const struct db_license *l)
{
	sqlite3_stmt	*st;
	char		 salt[2 * DB_LICENSE_SALT_LEN + 1];
	char		 hash[2 * CRYPTO_SHA256_LEN + 1];
	int		 named = l->username[0] != '\0', r;

	if (db->pg != NULL)
		return pg_license_add(db->pg, l);
	crypto_hex(l->salt, sizeof(l->salt), salt);
	crypto_hex(l->hash, sizeof(l->hash), hash);
	r = db_prepare(db, &st, "INSERT INTO licenses (" DB_LICENSE_COLS ") "
	    "VALUES (?, ?, ?, ?, ?, ?)", "sssssi", l->key, l->edition,
	    named ? l->username : NULL, named ? salt : NULL,
	    named ? hash : NULL, l->created);
	return r < 0 ? r : db_step_done(st);
}

int
db_license_remove(struct db *db, const char *key)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_license_remove(db->pg, key);
	r = db_prepare(db, &st, "DELETE FROM licenses WHERE key = ?", "s",
	    key);
	if (r < 0)
		return r;
	r = db_step_done(st);
	if (r == 0 && sqlite3_changes(db->h) == 0)
		r = -ENOENT;
	return r;
}

int
db_license_get(struct db *db, const char *key, struct db_license *ret_l)
{
	sqlite3_stmt	*st;
	int		 r, rc;

	if (db->pg != NULL)
		return pg_license_get(db->pg, key, ret_l);
	r = db_prepare(db, &st, "SELECT " DB_LICENSE_COLS " FROM licenses "
	    "WHERE key = ?", "s", key);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_col_license(st, ret_l);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : db_err(rc);
}

int
db_licenses(struct db *db, struct db_license **ret_l, size_t *ret_n)
{
	sqlite3_stmt		*st;
	void		*rows;
	int		 r;

	if (db->pg != NULL)
		return pg_licenses(db->pg, ret_l, ret_n);
	r = db_prepare(db, &st, "SELECT " DB_LICENSE_COLS " FROM licenses "
	    "ORDER BY key", "");
	if (r < 0)
		return r;
	r = db_rows(st, sizeof(**ret_l), db_col_license, NULL, &rows, ret_n);
	if (r == 0)
		*ret_l = rows;
	return r;
}

int
db_licenses_generation(struct db *db, uint64_t *ret_gen)
{
	sqlite3_stmt	*st;
	int		 r, rc;

	if (db->pg != NULL)
		return pg_licenses_generation(db->pg, ret_gen);
	r = db_prepare(db, &st, "SELECT CAST(value AS INTEGER) FROM meta "
	    "WHERE key = 'licenses_generation'", "");
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		*ret_gen = rc == SQLITE_ROW ?
		    (uint64_t)sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : db_err(rc);
}

/* Walks the rows of an event query (id, time, kind, channel, detail,
 * agent) and finalises it. */
static int
db_events_walk(sqlite3_stmt *st,
    int (*fn)(void *arg, const struct db_event *e), void *arg)
{
	struct db_event	*e;
	int		 r = 0, rc;

	e = malloc(sizeof(*e));
	if (e == NULL) {
		sqlite3_finalize(st);
		return -ENOMEM;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e->id = sqlite3_column_int64(st, 0);
		e->time = sqlite3_column_int64(st, 1);
		db_col_text(st, 2, e->kind, sizeof(e->kind));
		db_col_text(st, 3, e->channel, sizeof(e->channel));
		db_col_text(st, 4, e->detail, sizeof(e->detail));
		db_col_text(st, 5, e->agent, sizeof(e->agent));
		r = fn(arg, e);
		if (r != 0)
			break;
	}
	sqlite3_finalize(st);
	free(e);
	if (r != 0)
		return r;
	return rc == SQLITE_DONE ? 0 : db_err(rc);
}

#define DB_EVENT_COLS	"id, time, kind, channel, detail, agent"

int
db_events(struct db *db, int64_t since,
    int (*fn)(void *arg, const struct db_event *e), void *arg)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_events(db->pg, since, fn, arg);
	r = db_prepare(db, &st, "SELECT " DB_EVENT_COLS " FROM events "
	    "WHERE time >= ? ORDER BY id", "i", since);
	if (r < 0)
		return r;
	return db_events_walk(st, fn, arg);
}

int
db_events_query(struct db *db, const struct db_event_filter *f,
    int (*fn)(void *arg, const struct db_event *e), void *arg)
{
	sqlite3_stmt	*st;
	const char	*kind = f->kind != NULL ? f->kind : "";
	size_t		 klen = strlen(kind);
	char		 prefix[DB_EVENT_KIND_MAX + 2];
	int		 r, is_prefix = klen > 0 && kind[klen - 1] == '*';

	if (db->pg != NULL)
		return pg_events_query(db->pg, f, fn, arg);
	/* a prefix is compared by substr, which knows no wildcard: a '%'
	 * or '_' in it means itself */
	snprintf(prefix, sizeof(prefix), "%.*s", (int)(is_prefix ?
	    klen - 1 : 0), kind);
	r = db_prepare(db, &st, f->newest && f->limit > 0 ?
	    "SELECT * FROM (SELECT " DB_EVENT_COLS " FROM events WHERE "
	    "(?1 = 0 OR kind = ?2) AND (?3 = 0 OR substr(kind, 1, "
	    "length(?4)) = ?4) AND (?5 = '' OR agent = ?5) AND time >= ?6 "
	    "AND id > ?7 ORDER BY id DESC LIMIT ?8) ORDER BY id" :
	    "SELECT " DB_EVENT_COLS " FROM events WHERE "
	    "(?1 = 0 OR kind = ?2) AND (?3 = 0 OR substr(kind, 1, "
	    "length(?4)) = ?4) AND (?5 = '' OR agent = ?5) AND time >= ?6 "
	    "AND id > ?7 ORDER BY id LIMIT ?8", "isissiii",
	    (int64_t)(klen > 0 && !is_prefix), kind, (int64_t)is_prefix,
	    prefix, f->agent != NULL ? f->agent : "", f->since, f->after,
	    f->limit > 0 ? (int64_t)f->limit : (int64_t)-1);
	if (r < 0)
		return r;
	return db_events_walk(st, fn, arg);
}

int
db_events_last(struct db *db, int64_t *ret_id)
{
	sqlite3_stmt	*st;
	int		 r, rc;

	if (db->pg != NULL)
		return pg_events_last(db->pg, ret_id);
	r = db_prepare(db, &st, "SELECT COALESCE(MAX(id), 0) FROM events",
	    "");
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*ret_id = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : db_err(rc);
}

int
db_meta_get(struct db *db, const char *key, char *dst, size_t size)
{
	sqlite3_stmt	*st;
	int		 r, rc;

	r = db_prepare(db, &st, "SELECT value FROM meta WHERE key = ?", "s",
	    key);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_col_text(st, 0, dst, size);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : db_err(rc);
}

int
db_meta_set(struct db *db, const char *key, const char *value)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "INSERT INTO meta (key, value) VALUES (?, ?) "
	    "ON CONFLICT (key) DO UPDATE SET value = excluded.value", "ss",
	    key, value);
	return r < 0 ? r : db_step_done(st);
}

int
db_event_add(struct db *db, const char *kind, const char *channel,
    const char *detail)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_event_add(db->pg, (int64_t)time(NULL), kind,
		    channel, NULL, detail);
	r = db_prepare(db, &st, "INSERT INTO events (time, kind, channel, "
	    "detail) VALUES (?, ?, ?, ?)", "isss", (int64_t)time(NULL), kind,
	    channel != NULL ? channel : "", detail != NULL ? detail : "");
	return r < 0 ? r : db_step_done(st);
}

int
db_event_add_agent(struct db *db, const char *kind, const char *agent,
    const char *detail)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_event_add(db->pg, (int64_t)time(NULL), kind, NULL,
		    agent, detail);
	r = db_prepare(db, &st, "INSERT INTO events (time, kind, channel, "
	    "agent, detail) VALUES (?, ?, '', ?, ?)", "isss",
	    (int64_t)time(NULL), kind, agent != NULL ? agent : "",
	    detail != NULL ? detail : "");
	return r < 0 ? r : db_step_done(st);
}

int
db_events_prune(struct db *db, int64_t before)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_events_prune(db->pg, before);
	r = db_prepare(db, &st, "DELETE FROM events WHERE time < ?", "i",
	    before);
	if (r < 0)
		return r;
	r = db_step_done(st);
	return r < 0 ? r : sqlite3_changes(db->h);
}

/* ---- agents ------------------------------------------------------------- */

#define DB_AGENT_NOSTATUS_COLS "id, token_hash, notify_key, license_key, " \
	"grp, licensed, hostname, enrolled, last_seen, last_report, notify_url"
#define DB_AGENT_COLS	DB_AGENT_NOSTATUS_COLS ", status"

/* A blob column into a fixed buffer: zeros (matching no token) unless
 * it has exactly the size. */
static void
db_col_blob(sqlite3_stmt *st, int col, unsigned char *dst, size_t size)
{
	const void	*p = sqlite3_column_blob(st, col);

	if (p != NULL && (size_t)sqlite3_column_bytes(st, col) == size)
		memcpy(dst, p, size);
	else
		memset(dst, 0, size);
}

/* One row of DB_AGENT_COLS; 0 or -ENOMEM (the status document). */
static int
db_col_agent(sqlite3_stmt *st, void *p)
{
	struct db_agent		*a = p;
	const unsigned char	*t;

	memset(a, 0, sizeof(*a));
	db_col_text(st, 0, a->id, sizeof(a->id));
	db_col_blob(st, 1, a->token_hash, sizeof(a->token_hash));
	db_col_blob(st, 2, a->notify_key, sizeof(a->notify_key));
	db_col_text(st, 3, a->license_key, sizeof(a->license_key));
	db_col_text(st, 4, a->group, sizeof(a->group));
	a->licensed = sqlite3_column_int64(st, 5) != 0;
	db_col_text(st, 6, a->hostname, sizeof(a->hostname));
	a->enrolled = sqlite3_column_int64(st, 7);
	a->last_seen = sqlite3_column_int64(st, 8);
	a->last_report = sqlite3_column_int64(st, 9);
	db_col_text(st, 10, a->notify_url, sizeof(a->notify_url));
	t = sqlite3_column_text(st, 11);
	if (t != NULL && (a->status = strdup((const char *)t)) == NULL)
		return -ENOMEM;
	return 0;
}

void
db_agents_free(struct db_agent *a, size_t n)
{
	size_t	 i;

	if (a == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(a[i].status);
		a[i].status = NULL;
	}
}

/* db_agents_free for db_rows */
static void
db_release_agents(void *rows, size_t n)
{
	db_agents_free(rows, n);
}

int
db_agent_add(struct db *db, const struct db_agent *a)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_agent_add(db->pg, a);
	r = db_prepare(db, &st, "INSERT INTO agents (" DB_AGENT_COLS ") "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", "sbbssisiiiss",
	    a->id, a->token_hash, sizeof(a->token_hash), a->notify_key,
	    sizeof(a->notify_key), a->license_key, a->group,
	    (int64_t)(a->licensed != 0), a->hostname, a->enrolled,
	    a->last_seen, a->last_report, a->notify_url, a->status);
	return r < 0 ? r : db_step_done(st);
}

int
db_agent_get(struct db *db, const char *id, struct db_agent *ret_a)
{
	sqlite3_stmt	*st;
	struct db_agent	 a;
	int		 r, rc;

	if (db->pg != NULL)
		return pg_agent_get(db->pg, id, ret_a);
	r = db_prepare(db, &st, "SELECT " DB_AGENT_COLS " FROM agents "
	    "WHERE id = ?", "s", id);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = db_col_agent(st, &a);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_err(rc);
	if (r < 0)
		return r;
	*ret_a = a;
	return 0;
}

/* Every agent; without status documents unless with_status. */
static int
db_agents_select(struct db *db, int with_status, struct db_agent **ret_a,
    size_t *ret_n)
{
	sqlite3_stmt	*st;
	void		*rows;
	int		 r;

	if (db->pg != NULL)
		return pg_agents(db->pg, with_status, ret_a, ret_n);
	r = db_prepare(db, &st, with_status ?
	    "SELECT " DB_AGENT_COLS " FROM agents ORDER BY enrolled, rowid" :
	    "SELECT " DB_AGENT_NOSTATUS_COLS ", NULL FROM agents "
	    "ORDER BY enrolled, rowid", "");
	if (r < 0)
		return r;
	r = db_rows(st, sizeof(**ret_a), db_col_agent, db_release_agents,
	    &rows, ret_n);
	if (r == 0)
		*ret_a = rows;
	return r;
}

int
db_agents(struct db *db, struct db_agent **ret_a, size_t *ret_n)
{
	return db_agents_select(db, 1, ret_a, ret_n);
}

int
db_agents_brief(struct db *db, struct db_agent **ret_a, size_t *ret_n)
{
	return db_agents_select(db, 0, ret_a, ret_n);
}

/* Runs an UPDATE or DELETE of one row (an agent, a downstream): 0,
 * -ENOENT (no row changed). */
static int
db_agent_change(struct db *db, sqlite3_stmt *st)
{
	int	 r;

	r = db_step_done(st);
	if (r == 0 && sqlite3_changes(db->h) == 0)
		r = -ENOENT;
	return r;
}

int
db_agent_set_licensed(struct db *db, const char *id, int licensed)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_agent_set_licensed(db->pg, id, licensed);
	r = db_prepare(db, &st, "UPDATE agents SET licensed = ? WHERE id = ?",
	    "is", (int64_t)(licensed != 0), id);
	return r < 0 ? r : db_agent_change(db, st);
}

int
db_agent_set_group(struct db *db, const char *id, const char *group)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_agent_set_group(db->pg, id, group);
	r = db_prepare(db, &st, "UPDATE agents SET grp = ? WHERE id = ?",
	    "ss", group, id);
	return r < 0 ? r : db_agent_change(db, st);
}

int
db_agent_remove(struct db *db, const char *id)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_agent_remove(db->pg, id);
	r = db_prepare(db, &st, "DELETE FROM agents WHERE id = ?", "s", id);
	return r < 0 ? r : db_agent_change(db, st);
}

int
db_agent_report(struct db *db, const char *id, const char *hostname,
    const char *notify_url, const char *status, int64_t now)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_agent_report(db->pg, id, hostname, notify_url,
		    status, now);
	r = db_prepare(db, &st, "UPDATE agents SET hostname = ?, "
	    "notify_url = ?, status = ?, last_report = ?, last_seen = ? "
	    "WHERE id = ?", "sssiis", hostname, notify_url != NULL ?
	    notify_url : "", status, now, now, id);
	return r < 0 ? r : db_agent_change(db, st);
}

int
db_agent_seen(struct db *db, const char *id, int64_t now)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_agent_seen(db->pg, id, now);
	r = db_prepare(db, &st, "UPDATE agents SET last_seen = ? WHERE id = ?",
	    "is", now, id);
	return r < 0 ? r : db_agent_change(db, st);
}

/* ---- admin tokens --------------------------------------------------------- */

#define DB_TOKEN_COLS	"name, role, hash, created"

static int
db_col_token(sqlite3_stmt *st, void *p)
{
	struct db_token	*t = p;

	memset(t, 0, sizeof(*t));
	db_col_text(st, 0, t->name, sizeof(t->name));
	db_col_text(st, 1, t->role, sizeof(t->role));
	db_col_blob(st, 2, t->hash, sizeof(t->hash));
	t->created = sqlite3_column_int64(st, 3);
	return 0;
}

int
db_token_add(struct db *db, const struct db_token *t)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_token_add(db->pg, t);
	r = db_prepare(db, &st, "INSERT INTO tokens (" DB_TOKEN_COLS ") "
	    "VALUES (?, ?, ?, ?)", "ssbi", t->name, t->role, t->hash,
	    sizeof(t->hash), t->created);
	return r < 0 ? r : db_step_done(st);
}

int
db_token_remove(struct db *db, const char *name)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_token_remove(db->pg, name);
	r = db_prepare(db, &st, "DELETE FROM tokens WHERE name = ?", "s",
	    name);
	if (r < 0)
		return r;
	r = db_step_done(st);
	if (r == 0 && sqlite3_changes(db->h) == 0)
		r = -ENOENT;
	return r;
}

int
db_token_find(struct db *db, const unsigned char hash[CRYPTO_SHA256_LEN],
    struct db_token *ret_t)
{
	sqlite3_stmt	*st;
	int		 r, rc;

	if (db->pg != NULL)
		return pg_token_find(db->pg, hash, ret_t);
	r = db_prepare(db, &st, "SELECT " DB_TOKEN_COLS " FROM tokens "
	    "WHERE hash = ?", "b", hash, (size_t)CRYPTO_SHA256_LEN);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_col_token(st, ret_t);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : db_err(rc);
}

int
db_tokens(struct db *db, struct db_token **ret_t, size_t *ret_n)
{
	sqlite3_stmt	*st;
	void		*rows;
	int		 r;

	if (db->pg != NULL)
		return pg_tokens(db->pg, ret_t, ret_n);
	r = db_prepare(db, &st, "SELECT " DB_TOKEN_COLS " FROM tokens "
	    "ORDER BY name", "");
	if (r < 0)
		return r;
	r = db_rows(st, sizeof(**ret_t), db_col_token, NULL, &rows, ret_n);
	if (r == 0)
		*ret_t = rows;
	return r;
}

/* ---- schedules -------------------------------------------------------------- */

static int
db_col_schedule(sqlite3_stmt *st, void *p)
{
	struct db_schedule	*s = p;

	memset(s, 0, sizeof(*s));
	db_col_text(st, 0, s->target, sizeof(s->target));
	db_col_text(st, 1, s->schedule, sizeof(s->schedule));
	s->at_startup = sqlite3_column_int64(st, 2) != 0;
	return 0;
}

int
db_schedule_get(struct db *db, const char *target, struct db_schedule *ret_s)
{
	sqlite3_stmt	*st;
	int		 r, rc;

	if (db->pg != NULL)
		return pg_schedule_get(db->pg, target, ret_s);
	r = db_prepare(db, &st, "SELECT target, schedule, at_startup FROM "
	    "schedules WHERE target = ?", "s", target);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		db_col_schedule(st, ret_s);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	return rc == SQLITE_ROW ? 0 : db_err(rc);
}

int
db_schedule_set(struct db *db, const struct db_schedule *s)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_schedule_set(db->pg, s);
	r = db_prepare(db, &st, "INSERT INTO schedules (target, schedule, "
	    "at_startup) VALUES (?, ?, ?) ON CONFLICT (target) DO UPDATE SET "
	    "schedule = excluded.schedule, at_startup = excluded.at_startup",
	    "ssi", s->target, s->schedule, (int64_t)(s->at_startup != 0));
	return r < 0 ? r : db_step_done(st);
}

int
db_schedule_remove(struct db *db, const char *target)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_schedule_remove(db->pg, target);
	r = db_prepare(db, &st, "DELETE FROM schedules WHERE target = ?", "s",
	    target);
	if (r < 0)
		return r;
	r = db_step_done(st);
	if (r == 0 && sqlite3_changes(db->h) == 0)
		r = -ENOENT;
	return r;
}

int
db_schedules(struct db *db, struct db_schedule **ret_s, size_t *ret_n)
{
	sqlite3_stmt		*st;
	void		*rows;
	int		 r;

	if (db->pg != NULL)
		return pg_schedules(db->pg, ret_s, ret_n);
	r = db_prepare(db, &st, "SELECT target, schedule, at_startup FROM "
	    "schedules ORDER BY target", "");
	if (r < 0)
		return r;
	r = db_rows(st, sizeof(**ret_s), db_col_schedule, NULL, &rows,
	    ret_n);
	if (r == 0)
		*ret_s = rows;
	return r;
}

/* ---- downstreams ------------------------------------------------------- */

#define DB_DOWNSTREAM_COLS \
	"name, address, edition, last_report, run_requested, inventory"

/* One row of DB_DOWNSTREAM_COLS; 0 or -ENOMEM (the document). */
static int
db_col_downstream(sqlite3_stmt *st, void *p)
{
	struct db_downstream	*d = p;
	const unsigned char	*t;

	memset(d, 0, sizeof(*d));
	db_col_text(st, 0, d->name, sizeof(d->name));
	db_col_text(st, 1, d->address, sizeof(d->address));
	db_col_text(st, 2, d->edition, sizeof(d->edition));
	d->last_report = sqlite3_column_int64(st, 3);
	d->run_requested = sqlite3_column_int64(st, 4);
	t = sqlite3_column_text(st, 5);
	d->inventory = strdup(t != NULL ? (const char *)t : "");
	return d->inventory == NULL ? -ENOMEM : 0;
}

void
db_downstreams_free(struct db_downstream *d, size_t n)
{
	size_t	 i;

	if (d == NULL)
		return;
	for (i = 0; i < n; i++) {
		free(d[i].inventory);
		d[i].inventory = NULL;
	}
}

/* db_downstreams_free for db_rows */
static void
db_release_downstreams(void *rows, size_t n)
{
	db_downstreams_free(rows, n);
}

int
db_downstream_report(struct db *db, const struct db_downstream *d)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_downstream_report(db->pg, d);
	r = db_prepare(db, &st, "INSERT INTO downstreams (name, address, "
	    "edition, last_report, inventory) VALUES (?, ?, ?, ?, ?) "
	    "ON CONFLICT (name) DO UPDATE SET address = excluded.address, "
	    "edition = excluded.edition, last_report = excluded.last_report, "
	    "inventory = excluded.inventory", "sssis", d->name, d->address,
	    d->edition, d->last_report, d->inventory != NULL ?
	    d->inventory : "");
	return r < 0 ? r : db_step_done(st);
}

int
db_downstream_get(struct db *db, const char *name, struct db_downstream *ret_d)
{
	sqlite3_stmt		*st;
	struct db_downstream	 d;
	int			 r = 0, rc;

	if (db->pg != NULL)
		return pg_downstream_get(db->pg, name, ret_d);
	r = db_prepare(db, &st, "SELECT " DB_DOWNSTREAM_COLS " FROM "
	    "downstreams WHERE name = ?", "s", name);
	if (r < 0)
		return r;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		r = db_col_downstream(st, &d);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_err(rc);
	if (r < 0)
		return r;
	*ret_d = d;
	return 0;
}

int
db_downstreams(struct db *db, struct db_downstream **ret_d, size_t *ret_n)
{
	sqlite3_stmt		*st;
	void		*rows;
	int		 r;

	if (db->pg != NULL)
		return pg_downstreams(db->pg, ret_d, ret_n);
	r = db_prepare(db, &st, "SELECT " DB_DOWNSTREAM_COLS " FROM "
	    "downstreams ORDER BY name", "");
	if (r < 0)
		return r;
	r = db_rows(st, sizeof(**ret_d), db_col_downstream,
	    db_release_downstreams, &rows, ret_n);
	if (r == 0)
		*ret_d = rows;
	return r;
}

int
db_downstream_remove(struct db *db, const char *name)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_downstream_remove(db->pg, name);
	r = db_prepare(db, &st, "DELETE FROM downstreams WHERE name = ?", "s",
	    name);
	return r < 0 ? r : db_agent_change(db, st);
}

int
db_downstream_run(struct db *db, const char *name, int64_t now)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_downstream_run(db->pg, name, now);
	r = db_prepare(db, &st, "UPDATE downstreams SET run_requested = "
	    "CASE WHEN run_requested != 0 THEN run_requested ELSE ? END "
	    "WHERE name = ?", "is", now, name);
	return r < 0 ? r : db_agent_change(db, st);
}

int
db_downstream_run_take(struct db *db, const char *name)
{
	sqlite3_stmt	*st;
	int		 r;

	if (db->pg != NULL)
		return pg_downstream_run_take(db->pg, name);
	/* one statement: of two takers, one changes the row */
	r = db_prepare(db, &st, "UPDATE downstreams SET run_requested = 0 "
	    "WHERE name = ? AND run_requested != 0", "s", name);
	if (r < 0)
		return r;
	r = db_step_done(st);
	return r < 0 ? r : sqlite3_changes(db->h) > 0;
}

int
db_downstreams_running(struct db *db,
    char (**ret_names)[MANIFEST_NAME_MAX + 1], size_t *ret_n)
{
	sqlite3_stmt	*st;
	void		*rows;
	int		 r;

	if (db->pg != NULL)
		return pg_downstreams_running(db->pg, ret_names, ret_n);
	r = db_prepare(db, &st, "SELECT name FROM downstreams WHERE "
	    "run_requested != 0 ORDER BY name", "");
	if (r < 0)
		return r;
	r = db_rows(st, sizeof((*ret_names)[0]), db_row_name, NULL, &rows,
	    ret_n);
	if (r == 0)
		*ret_names = rows;
	return r;
}
