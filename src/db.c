#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "banned.h"

struct db {
	sqlite3	*h;
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
"CREATE TABLE IF NOT EXISTS meta ("
"  key TEXT PRIMARY KEY, value TEXT NOT NULL);";

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

int
db_open(const char *path, int create, struct db **ret_db)
{
	struct db	*db;
	int		 flags, rc;

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
	*ret_db = db;
	return 0;
}

void
db_close(struct db *db)
{
	if (db == NULL)
		return;
	sqlite3_close(db->h);
	free(db);
}

int
db_begin(struct db *db)
{
	return db_err(sqlite3_exec(db->h, "BEGIN IMMEDIATE", NULL, NULL,
	    NULL));
}

int
db_commit(struct db *db)
{
	return db_err(sqlite3_exec(db->h, "COMMIT", NULL, NULL, NULL));
}

void
db_rollback(struct db *db)
{
	sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

/*
 * A tiny binding layer: "s" binds a string, "u" a uint64_t, "i" an
 * int64_t, in order.
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

static int
db_collect_versions(sqlite3_stmt *st, struct db_version **ret_v,
    size_t *ret_n)
{
	struct db_version	*v = NULL, *nv;
	size_t			 n = 0;
	int			 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		nv = realloc(v, (n + 1) * sizeof(*v));
		if (nv == NULL) {
			free(v);
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		v = nv;
		db_col_text(st, 0, v[n].component, sizeof(v[n].component));
		v[n].version = (uint64_t)sqlite3_column_int64(st, 1);
		db_col_text(st, 2, v[n].kind, sizeof(v[n].kind));
		db_col_text(st, 3, v[n].edition, sizeof(v[n].edition));
		v[n].size = (uint64_t)sqlite3_column_int64(st, 4);
		db_col_text(st, 5, v[n].sha256, sizeof(v[n].sha256));
		v[n].published = sqlite3_column_int64(st, 6);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return db_err(rc);
	}
	*ret_v = v;
	*ret_n = n;
	return 0;
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
db_collect_deltas(sqlite3_stmt *st, struct db_delta **ret_d, size_t *ret_n)
{
	struct db_delta	*d = NULL, *nd;
	size_t		 n = 0;
	int		 rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		nd = realloc(d, (n + 1) * sizeof(*d));
		if (nd == NULL) {
			free(d);
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		d = nd;
		db_col_text(st, 0, d[n].from_sha256, sizeof(d[n].from_sha256));
		db_col_text(st, 1, d[n].to_sha256, sizeof(d[n].to_sha256));
		db_col_text(st, 2, d[n].sha256, sizeof(d[n].sha256));
		d[n].size = (uint64_t)sqlite3_column_int64(st, 3);
		d[n].from_version = (uint64_t)sqlite3_column_int64(st, 4);
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(d);
		return db_err(rc);
	}
	*ret_d = d;
	*ret_n = n;
	return 0;
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
