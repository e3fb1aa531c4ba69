#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
static void
db_col_license(sqlite3_stmt *st, struct db_license *l)
{
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
}

int
db_license_add(struct db *db, const struct db_license *l)
{
	sqlite3_stmt	*st;
	char		 salt[2 * DB_LICENSE_SALT_LEN + 1];
	char		 hash[2 * CRYPTO_SHA256_LEN + 1];
	int		 named = l->username[0] != '\0', r;

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
	struct db_license	*l = NULL, *nl;
	size_t			 n = 0;
	int			 r, rc;

	r = db_prepare(db, &st, "SELECT " DB_LICENSE_COLS " FROM licenses "
	    "ORDER BY key", "");
	if (r < 0)
		return r;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		nl = realloc(l, (n + 1) * sizeof(*l));
		if (nl == NULL) {
			free(l);
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		l = nl;
		db_col_license(st, &l[n++]);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(l);
		return db_err(rc);
	}
	*ret_l = l;
	*ret_n = n;
	return 0;
}

int
db_licenses_generation(struct db *db, uint64_t *ret_gen)
{
	sqlite3_stmt	*st;
	int		 r, rc;

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

int
db_events(struct db *db, int64_t since,
    int (*fn)(void *arg, const struct db_event *e), void *arg)
{
	sqlite3_stmt	*st;
	struct db_event	*e;
	int		 r, rc;

	e = malloc(sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	r = db_prepare(db, &st, "SELECT id, time, kind, channel, detail "
	    "FROM events WHERE time >= ? ORDER BY id", "i", since);
	if (r < 0) {
		free(e);
		return r;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		e->id = sqlite3_column_int64(st, 0);
		e->time = sqlite3_column_int64(st, 1);
		db_col_text(st, 2, e->kind, sizeof(e->kind));
		db_col_text(st, 3, e->channel, sizeof(e->channel));
		db_col_text(st, 4, e->detail, sizeof(e->detail));
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

	r = db_prepare(db, &st, "INSERT INTO events (time, kind, channel, "
	    "detail) VALUES (?, ?, ?, ?)", "isss", (int64_t)time(NULL), kind,
	    channel != NULL ? channel : "", detail != NULL ? detail : "");
	return r < 0 ? r : db_step_done(st);
}

int
db_events_prune(struct db *db, int64_t before)
{
	sqlite3_stmt	*st;
	int		 r;

	r = db_prepare(db, &st, "DELETE FROM events WHERE time < ?", "i",
	    before);
	if (r < 0)
		return r;
	r = db_step_done(st);
	return r < 0 ? r : sqlite3_changes(db->h);
}
