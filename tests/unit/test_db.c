/*
 * Unit tests of db, on a SQLite file in a temporary directory: channel
 * serials, versions (newest first, current per component), deltas and
 * their base versions, references to objects, transactions, licenses,
 * agents, downstreams, events, leases, and the migration of a file from before schema
 * versions. db.c is included to make such a file with its first schema.
 *
 * With CASCADE_TEST_PG=URL (tests/integration/pg.sh starts a PostgreSQL
 * for it) the tests of the shared tables run a second time with the
 * state in that database, emptied before each; pg.c is included for
 * that.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.c"
#include "pg.c"
#include "crypto.h"
#include "db.h"
#include "fs.h"
#include "check.h"
#include "banned.h"

/* ---- helpers ------------------------------------------------------------ */

/* NULL, or the PostgreSQL URL of the second pass */
static const char *test_state;

/* Empties the shared tables of a PostgreSQL state: each test starts
 * from nothing, as on a new file. */
static int
pg_reset(struct db *db)
{
	if (db->pg == NULL)
		return 0;
	if (pg_do(db->pg, "TRUNCATE licenses, agents, events, leases, "
	    "tokens, schedules, downstreams RESTART IDENTITY", "") < 0)
		return -1;
	return pg_do(db->pg, "UPDATE generations SET value = 0", "");
}

/* A fresh database file (and shared tables) for one test. */
static struct db *
fresh_db(const char *name)
{
	char		 path[FS_PATH_MAX];
	struct db	*db = NULL;

	if (fs_path(path, sizeof(path), "%s/%s%s.db", check_tmpdir, name,
	    test_state != NULL ? "-pg" : "") < 0)
		return NULL;
	if (db_open(path, test_state, 1, &db) < 0)
		return NULL;
	if (pg_reset(db) < 0) {
		db_close(db);
		return NULL;
	}
	return db;
}

/* A hex name made from a short seed string. */
static void
hex(const char *seed, char out[CRYPTO_SHA256_HEX])
{
	unsigned char	 md[CRYPTO_SHA256_LEN];

	if (crypto_sha256(seed, strlen(seed), md) < 0)
		abort();
	crypto_hex(md, sizeof(md), out);
}

static void
version(struct db_version *v, const char *component, uint64_t n,
    const char *seed)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->component, sizeof(v->component), "%s", component);
	snprintf(v->kind, sizeof(v->kind), "pattern");
	snprintf(v->edition, sizeof(v->edition), "standard");
	v->version = n;
	v->size = 1000 + n;
	hex(seed, v->sha256);
	v->published = 1795341600 + (int64_t)n;
}

static int
version_same(const struct db_version *a, const struct db_version *b)
{
	return strcmp(a->component, b->component) == 0 &&
	    strcmp(a->kind, b->kind) == 0 &&
	    strcmp(a->edition, b->edition) == 0 &&
	    a->version == b->version && a->size == b->size &&
	    strcmp(a->sha256, b->sha256) == 0 && a->published == b->published;
}

static void
delta(struct db_delta *d, const char *from_seed, const char *to_seed,
    const char *seed, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	hex(from_seed, d->from_sha256);
	hex(to_seed, d->to_sha256);
	hex(seed, d->sha256);
	d->size = size;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_open(void)
{
	char		 path[FS_PATH_MAX];
	struct db	*db = NULL;
	uint64_t	 serial = 99;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/open.db", check_tmpdir), 0);
	CHECK_EQ(db_open(path, NULL, 0, &db), -ENOENT);
	CHECK(db == NULL);
	CHECK_EQ(fs_exists(path), 0);
	CHECK_EQ(db_open(path, NULL, 1, &db), 0);
	CHECK(db != NULL);
	CHECK_EQ(fs_exists(path), 1);
	CHECK_EQ(db_channel_set_serial(db, "main", 4), 0);
	db_close(db);
	db = NULL;

	/* it persists, and opening again without create works */
	CHECK_EQ(db_open(path, NULL, 0, &db), 0);
	CHECK(db != NULL);
	if (db != NULL) {
		CHECK_EQ(db_channel_serial(db, "main", &serial), 0);
		CHECK_EQ(serial, 4);
	}
	db_close(db);
	db = NULL;
	/* create on an existing one */
	CHECK_EQ(db_open(path, NULL, 1, &db), 0);
	db_close(db);
	db_close(NULL);

	CHECK(db_open("/nonexistent/dir/state.db", NULL, 1, &db) < 0);
}

static void
test_not_a_db(void)
{
	static const char	 junk[] = "this is not a SQLite file, not at "
	    "all, but it is long enough to hold a whole header.............";
	char		 path[FS_PATH_MAX];
	struct db	*db = NULL;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/garbage.db", check_tmpdir), 0);
	CHECK_EQ(fs_write_atomic(path, junk, strlen(junk), 0644), 0);
	CHECK(db_open(path, NULL, 0, &db) < 0);
	CHECK(db == NULL);
}

static void
test_serial(void)
{
	struct db	*db = fresh_db("serial");
	uint64_t	 s = 99;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_channel_serial(db, "main", &s), 0);
	CHECK_EQ(s, 0);
	CHECK_EQ(db_channel_set_serial(db, "main", 1), 0);
	CHECK_EQ(db_channel_serial(db, "main", &s), 0);
	CHECK_EQ(s, 1);
	CHECK_EQ(db_channel_set_serial(db, "main", 7), 0);
	CHECK_EQ(db_channel_serial(db, "main", &s), 0);
	CHECK_EQ(s, 7);
	CHECK_EQ(db_channel_set_serial(db, "beta", (uint64_t)1 << 53), 0);
	CHECK_EQ(db_channel_serial(db, "beta", &s), 0);
	CHECK(s == (uint64_t)1 << 53);
	CHECK_EQ(db_channel_serial(db, "main", &s), 0);
	CHECK_EQ(s, 7);
	CHECK_EQ(db_channel_serial(db, "mai", &s), 0);
	CHECK_EQ(s, 0);
	/* names are data, never SQL */
	CHECK_EQ(db_channel_set_serial(db, "x'; DROP TABLE channels; --", 3),
	    0);
	CHECK_EQ(db_channel_serial(db, "x'; DROP TABLE channels; --", &s), 0);
	CHECK_EQ(s, 3);
	CHECK_EQ(db_channel_serial(db, "main", &s), 0);
	CHECK_EQ(s, 7);
	db_close(db);
}

static void
test_versions(void)
{
	struct db	*db = fresh_db("versions");
	struct db_version v[4], *got = NULL;
	size_t		 n = 99;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_versions(db, "main", "virus-pattern", 0, &got, &n), 0);
	CHECK_EQ(n, 0);
	free(got);
	got = NULL;

	/* added out of order */
	version(&v[1], "virus-pattern", 1, "v1");
	version(&v[3], "virus-pattern", 3, "v3");
	version(&v[2], "virus-pattern", 2, "v2");
	CHECK_EQ(db_version_add(db, "main", &v[1]), 0);
	CHECK_EQ(db_version_add(db, "main", &v[3]), 0);
	CHECK_EQ(db_version_add(db, "main", &v[2]), 0);

	CHECK_EQ(db_versions(db, "main", "virus-pattern", 0, &got, &n), 0);
	CHECK_EQ(n, 3);
	if (got != NULL && n == 3) {
		CHECK(version_same(&got[0], &v[3]));
		CHECK(version_same(&got[1], &v[2]));
		CHECK(version_same(&got[2], &v[1]));
	}
	free(got);
	got = NULL;

	CHECK_EQ(db_versions(db, "main", "virus-pattern", 2, &got, &n), 0);
	CHECK_EQ(n, 2);
	if (got != NULL && n == 2) {
		CHECK_EQ(got[0].version, 3);
		CHECK_EQ(got[1].version, 2);
	}
	free(got);
	got = NULL;

	CHECK_EQ(db_versions(db, "main", "virus-pattern", 1, &got, &n), 0);
	CHECK_EQ(n, 1);
	if (got != NULL && n == 1)
		CHECK_EQ(got[0].version, 3);
	free(got);
	got = NULL;

	CHECK_EQ(db_versions(db, "main", "virus-pattern", 100, &got, &n), 0);
	CHECK_EQ(n, 3);
	free(got);
	got = NULL;

	/* another channel and another component are apart */
	CHECK_EQ(db_versions(db, "beta", "virus-pattern", 0, &got, &n), 0);
	CHECK_EQ(n, 0);
	free(got);
	got = NULL;
	CHECK_EQ(db_versions(db, "main", "virus", 0, &got, &n), 0);
	CHECK_EQ(n, 0);
	free(got);
	db_close(db);
}

/* Versions past 2^31 and sizes past 2^32 keep every bit. */
static void
test_versions_big(void)
{
	struct db	*db = fresh_db("big");
	struct db_version v, *got = NULL;
	size_t		 n = 0;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	version(&v, "c/d", (uint64_t)1 << 53, "big");
	v.size = ((uint64_t)1 << 53) - 1;
	v.published = (int64_t)253402300799LL;
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	CHECK_EQ(db_versions(db, "main", "c/d", 0, &got, &n), 0);
	CHECK_EQ(n, 1);
	if (got != NULL && n == 1)
		CHECK(version_same(&got[0], &v));
	free(got);
	db_close(db);
}

static void
test_version_duplicate(void)
{
	struct db	*db = fresh_db("dup");
	struct db_version v, w, *got = NULL;
	size_t		 n = 0;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	version(&v, "virus-pattern", 1, "v1");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&w, "virus-pattern", 1, "other bytes");
	CHECK_EQ(db_version_add(db, "main", &w), -EEXIST);
	CHECK_EQ(db_version_add(db, "main", &v), -EEXIST);
	/* the first stays */
	CHECK_EQ(db_versions(db, "main", "virus-pattern", 0, &got, &n), 0);
	CHECK_EQ(n, 1);
	if (got != NULL && n == 1)
		CHECK(version_same(&got[0], &v));
	free(got);
	/* the same version elsewhere is fine */
	CHECK_EQ(db_version_add(db, "beta", &v), 0);
	version(&w, "engine", 1, "v1");
	CHECK_EQ(db_version_add(db, "main", &w), 0);
	db_close(db);
}

static void
test_version_remove(void)
{
	struct db	*db = fresh_db("vremove");
	struct db_version v, *got = NULL;
	size_t		 n = 0;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	version(&v, "a", 1, "a1");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&v, "a", 2, "a2");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	CHECK_EQ(db_version_remove(db, "main", "a", 1), 0);
	CHECK_EQ(db_versions(db, "main", "a", 0, &got, &n), 0);
	CHECK_EQ(n, 1);
	if (got != NULL && n == 1)
		CHECK_EQ(got[0].version, 2);
	free(got);
	CHECK_EQ(db_version_remove(db, "main", "a", 1), 0);	/* gone: ok */
	CHECK_EQ(db_version_remove(db, "beta", "a", 2), 0);	/* not there */
	CHECK_EQ(db_versions(db, "main", "a", 0, &got, &n), 0);
	CHECK_EQ(n, 1);
	free(got);
	db_close(db);
}

static void
test_current(void)
{
	struct db	*db = fresh_db("current");
	struct db_version v, a2, b5, *got = NULL;
	size_t		 n = 99;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_current(db, "main", &got, &n), 0);
	CHECK_EQ(n, 0);
	free(got);
	got = NULL;

	version(&v, "b", 3, "b3");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&a2, "a", 2, "a2");
	CHECK_EQ(db_version_add(db, "main", &a2), 0);
	version(&v, "a", 1, "a1");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&b5, "b", 5, "b5");
	CHECK_EQ(db_version_add(db, "main", &b5), 0);
	version(&v, "b", 4, "b4");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	/* newer versions in another channel do not count */
	version(&v, "a", 9, "a9");
	CHECK_EQ(db_version_add(db, "beta", &v), 0);
	version(&v, "c", 1, "c1");
	CHECK_EQ(db_version_add(db, "beta", &v), 0);

	CHECK_EQ(db_current(db, "main", &got, &n), 0);
	CHECK_EQ(n, 2);
	if (got != NULL && n == 2) {
		CHECK(version_same(&got[0], &a2));	/* by name */
		CHECK(version_same(&got[1], &b5));
	}
	free(got);
	got = NULL;

	CHECK_EQ(db_current(db, "beta", &got, &n), 0);
	CHECK_EQ(n, 2);
	if (got != NULL && n == 2) {
		CHECK_EQ(got[0].version, 9);
		CHECK(strcmp(got[1].component, "c") == 0);
	}
	free(got);
	got = NULL;

	/* removing the newest makes the one before current */
	CHECK_EQ(db_version_remove(db, "main", "b", 5), 0);
	CHECK_EQ(db_current(db, "main", &got, &n), 0);
	CHECK_EQ(n, 2);
	if (got != NULL && n == 2)
		CHECK_EQ(got[1].version, 4);
	free(got);
	db_close(db);
}

static void
test_deltas(void)
{
	struct db	*db = fresh_db("deltas");
	struct db_version v;
	struct db_delta	 d12, d13, d23, dx3, *got = NULL;
	size_t		 n = 99;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	version(&v, "p", 1, "p1");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&v, "p", 2, "p2");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&v, "p", 3, "p3");
	CHECK_EQ(db_version_add(db, "main", &v), 0);

	delta(&d12, "p1", "p2", "d12", 10);
	delta(&d13, "p1", "p3", "d13", 20);
	delta(&d23, "p2", "p3", "d23", 30);
	delta(&dx3, "gone", "p3", "dx3", 40);	/* base not listed */
	CHECK_EQ(db_delta_add(db, &d12), 0);
	CHECK_EQ(db_delta_add(db, &d13), 0);
	CHECK_EQ(db_delta_add(db, &dx3), 0);
	CHECK_EQ(db_delta_add(db, &d23), 0);

	CHECK_EQ(db_deltas_to(db, "main", "p", d13.to_sha256, &got, &n), 0);
	CHECK_EQ(n, 3);
	if (got != NULL && n == 3) {
		/* newest base first, the unlisted base last with 0 */
		CHECK_EQ(got[0].from_version, 2);
		CHECK(strcmp(got[0].from_sha256, d23.from_sha256) == 0);
		CHECK(strcmp(got[0].to_sha256, d23.to_sha256) == 0);
		CHECK(strcmp(got[0].sha256, d23.sha256) == 0);
		CHECK_EQ(got[0].size, 30);
		CHECK_EQ(got[1].from_version, 1);
		CHECK(strcmp(got[1].sha256, d13.sha256) == 0);
		CHECK_EQ(got[1].size, 20);
		CHECK_EQ(got[2].from_version, 0);
		CHECK(strcmp(got[2].sha256, dx3.sha256) == 0);
	}
	free(got);
	got = NULL;

	/* the join is per channel and component */
	CHECK_EQ(db_deltas_to(db, "beta", "p", d13.to_sha256, &got, &n), 0);
	CHECK_EQ(n, 3);
	if (got != NULL && n == 3)
		CHECK(got[0].from_version == 0 && got[1].from_version == 0 &&
		    got[2].from_version == 0);
	free(got);
	got = NULL;
	CHECK_EQ(db_deltas_to(db, "main", "q", d13.to_sha256, &got, &n), 0);
	CHECK_EQ(n, 3);
	if (got != NULL && n == 3)
		CHECK_EQ(got[0].from_version, 0);
	free(got);
	got = NULL;

	CHECK_EQ(db_deltas_to(db, "main", "p", d12.to_sha256, &got, &n), 0);
	CHECK_EQ(n, 1);
	if (got != NULL && n == 1)
		CHECK_EQ(got[0].from_version, 1);
	free(got);
	got = NULL;
	CHECK_EQ(db_deltas_to(db, "main", "p", d12.from_sha256, &got, &n), 0);
	CHECK_EQ(n, 0);
	free(got);
	got = NULL;

	CHECK_EQ(db_deltas_all(db, &got, &n), 0);
	CHECK_EQ(n, 4);
	free(got);
	got = NULL;

	/* remove one */
	CHECK_EQ(db_delta_remove(db, d13.from_sha256, d13.to_sha256), 0);
	CHECK_EQ(db_deltas_to(db, "main", "p", d13.to_sha256, &got, &n), 0);
	CHECK_EQ(n, 2);
	if (got != NULL && n == 2) {
		CHECK(strcmp(got[0].sha256, d23.sha256) == 0);
		CHECK(strcmp(got[1].sha256, dx3.sha256) == 0);
	}
	free(got);
	got = NULL;
	CHECK_EQ(db_delta_remove(db, d13.from_sha256, d13.to_sha256), 0);
	CHECK_EQ(db_deltas_all(db, &got, &n), 0);
	CHECK_EQ(n, 3);
	free(got);
	db_close(db);
}

/* The same base bytes listed under two versions: the newer one counts. */
static void
test_deltas_same_base_twice(void)
{
	struct db	*db = fresh_db("twice");
	struct db_version v;
	struct db_delta	 d, *got = NULL;
	size_t		 n = 0;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	version(&v, "p", 1, "same");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&v, "p", 4, "same");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&v, "p", 5, "new");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	delta(&d, "same", "new", "dd", 1);
	CHECK_EQ(db_delta_add(db, &d), 0);
	CHECK_EQ(db_deltas_to(db, "main", "p", d.to_sha256, &got, &n), 0);
	CHECK_EQ(n, 1);
	if (got != NULL && n == 1)
		CHECK_EQ(got[0].from_version, 4);
	free(got);
	db_close(db);
}

/* Adding the same (from, to) again replaces the row. */
static void
test_delta_replace(void)
{
	struct db	*db = fresh_db("replace");
	struct db_delta	 d, *got = NULL;
	size_t		 n = 0;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	delta(&d, "a", "b", "first", 5);
	CHECK_EQ(db_delta_add(db, &d), 0);
	delta(&d, "a", "b", "second", 6);
	CHECK_EQ(db_delta_add(db, &d), 0);
	CHECK_EQ(db_deltas_all(db, &got, &n), 0);
	CHECK_EQ(n, 1);
	if (got != NULL && n == 1) {
		CHECK(strcmp(got[0].sha256, d.sha256) == 0);
		CHECK_EQ(got[0].size, 6);
	}
	free(got);
	db_close(db);
}

static void
test_referenced(void)
{
	struct db	*db = fresh_db("ref");
	struct db_version v;
	struct db_delta	 d;
	char		 h[CRYPTO_SHA256_HEX];

	CHECK(db != NULL);
	if (db == NULL)
		return;
	hex("nothing", h);
	CHECK_EQ(db_object_referenced(db, h), 0);
	version(&v, "p", 1, "p1");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	CHECK_EQ(db_object_referenced(db, v.sha256), 1);
	delta(&d, "p1", "p2", "delta", 3);
	CHECK_EQ(db_delta_add(db, &d), 0);
	CHECK_EQ(db_object_referenced(db, d.sha256), 1);
	CHECK_EQ(db_object_referenced(db, h), 0);

	/* a version in two channels stays referenced until both go */
	CHECK_EQ(db_version_add(db, "beta", &v), 0);
	CHECK_EQ(db_version_remove(db, "main", "p", 1), 0);
	CHECK_EQ(db_object_referenced(db, v.sha256), 1);
	CHECK_EQ(db_version_remove(db, "beta", "p", 1), 0);
	CHECK_EQ(db_object_referenced(db, v.sha256), 0);
	CHECK_EQ(db_delta_remove(db, d.from_sha256, d.to_sha256), 0);
	CHECK_EQ(db_object_referenced(db, d.sha256), 0);
	db_close(db);
}

static void
test_transactions(void)
{
	struct db	*db = fresh_db("tx");
	struct db_version v, *got = NULL;
	struct db_delta	 d, *dd = NULL;
	uint64_t	 s = 0;
	size_t		 n = 0;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_channel_set_serial(db, "main", 1), 0);

	/* rollback undoes everything since begin */
	CHECK_EQ(db_begin(db), 0);
	version(&v, "p", 1, "p1");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	CHECK_EQ(db_channel_set_serial(db, "main", 2), 0);
	delta(&d, "p0", "p1", "d", 1);
	CHECK_EQ(db_delta_add(db, &d), 0);
	/* visible inside the transaction */
	CHECK_EQ(db_versions(db, "main", "p", 0, &got, &n), 0);
	CHECK_EQ(n, 1);
	free(got);
	got = NULL;
	db_rollback(db);
	CHECK_EQ(db_versions(db, "main", "p", 0, &got, &n), 0);
	CHECK_EQ(n, 0);
	free(got);
	got = NULL;
	CHECK_EQ(db_channel_serial(db, "main", &s), 0);
	CHECK_EQ(s, 1);
	CHECK_EQ(db_deltas_all(db, &dd, &n), 0);
	CHECK_EQ(n, 0);
	free(dd);

	/* commit keeps it */
	CHECK_EQ(db_begin(db), 0);
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	CHECK_EQ(db_channel_set_serial(db, "main", 2), 0);
	CHECK_EQ(db_commit(db), 0);
	CHECK_EQ(db_versions(db, "main", "p", 0, &got, &n), 0);
	CHECK_EQ(n, 1);
	free(got);
	got = NULL;
	CHECK_EQ(db_channel_serial(db, "main", &s), 0);
	CHECK_EQ(s, 2);

	/* a failed statement inside a transaction, then rollback */
	CHECK_EQ(db_begin(db), 0);
	CHECK_EQ(db_channel_set_serial(db, "main", 3), 0);
	CHECK_EQ(db_version_add(db, "main", &v), -EEXIST);
	db_rollback(db);
	CHECK_EQ(db_channel_serial(db, "main", &s), 0);
	CHECK_EQ(s, 2);

	/* commit or rollback without begin */
	CHECK(db_commit(db) < 0);
	db_rollback(db);
	db_close(db);
}

/* A second connection sees only what was committed. */
static void
test_snapshot(void)
{
	char		 path[FS_PATH_MAX];
	struct db	*w = NULL, *r = NULL;
	uint64_t	 s = 0;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/snap.db", check_tmpdir), 0);
	CHECK_EQ(db_open(path, NULL, 1, &w), 0);
	CHECK_EQ(db_open(path, NULL, 0, &r), 0);
	if (w == NULL || r == NULL) {
		db_close(w);
		db_close(r);
		return;
	}
	CHECK_EQ(db_channel_set_serial(w, "main", 1), 0);
	CHECK_EQ(db_begin(w), 0);
	CHECK_EQ(db_channel_set_serial(w, "main", 2), 0);
	CHECK_EQ(db_channel_serial(r, "main", &s), 0);
	CHECK_EQ(s, 1);
	CHECK_EQ(db_commit(w), 0);
	CHECK_EQ(db_channel_serial(r, "main", &s), 0);
	CHECK_EQ(s, 2);
	db_close(r);
	db_close(w);
}

/* ---- licenses, object editions, events ----------------------------------- */

static void
license(struct db_license *l, const char *key, const char *edition,
    const char *user)
{
	size_t	 i;

	memset(l, 0, sizeof(*l));
	snprintf(l->key, sizeof(l->key), "%s", key);
	snprintf(l->edition, sizeof(l->edition), "%s", edition);
	if (user != NULL) {
		snprintf(l->username, sizeof(l->username), "%s", user);
		for (i = 0; i < sizeof(l->salt); i++)
			l->salt[i] = (unsigned char)(i + 1);
		for (i = 0; i < sizeof(l->hash); i++)
			l->hash[i] = (unsigned char)(0xf0 ^ i);
	}
	l->created = 1795341600;
}

static int
license_same(const struct db_license *a, const struct db_license *b)
{
	return strcmp(a->key, b->key) == 0 &&
	    strcmp(a->edition, b->edition) == 0 &&
	    strcmp(a->username, b->username) == 0 &&
	    memcmp(a->salt, b->salt, sizeof(a->salt)) == 0 &&
	    memcmp(a->hash, b->hash, sizeof(a->hash)) == 0 &&
	    a->created == b->created;
}

static void
test_licenses(void)
{
	struct db	*db = fresh_db("licenses");
	struct db_license a, b, got, *all = NULL;
	uint64_t	 gen = 99, g2 = 0;
	size_t		 n = 99;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_licenses_generation(db, &gen), 0);
	CHECK_EQ(gen, 0);
	CHECK_EQ(db_licenses(db, &all, &n), 0);
	CHECK_EQ(n, 0);
	free(all);
	all = NULL;
	CHECK_EQ(db_license_get(db, "NOPE-0000", &got), -ENOENT);

	license(&a, "ZULU-0001-AAAA", "premium", "alice");
	license(&b, "ALPHA-0002-BBBB", "basic", NULL);
	CHECK_EQ(db_license_add(db, &a), 0);
	CHECK_EQ(db_licenses_generation(db, &gen), 0);
	CHECK_EQ(gen, 1);
	CHECK_EQ(db_license_add(db, &b), 0);
	CHECK_EQ(db_licenses_generation(db, &gen), 0);
	CHECK_EQ(gen, 2);

	/* a key is taken once; a refused add changes nothing */
	CHECK_EQ(db_license_add(db, &a), -EEXIST);
	CHECK_EQ(db_licenses_generation(db, &g2), 0);
	CHECK_EQ(g2, 2);

	/* read back whole: salt and hash keep every byte */
	CHECK_EQ(db_license_get(db, a.key, &got), 0);
	CHECK(license_same(&got, &a));
	CHECK_EQ(db_license_get(db, b.key, &got), 0);
	CHECK(license_same(&got, &b));
	CHECK(got.username[0] == '\0');

	/* by key */
	CHECK_EQ(db_licenses(db, &all, &n), 0);
	CHECK_EQ(n, 2);
	if (all != NULL && n == 2) {
		CHECK(license_same(&all[0], &b));
		CHECK(license_same(&all[1], &a));
	}
	free(all);
	all = NULL;

	/* keys are data, never SQL */
	license(&got, "x'); DELETE FROM licenses; --", "basic", NULL);
	CHECK_EQ(db_license_add(db, &got), 0);
	CHECK_EQ(db_licenses(db, &all, &n), 0);
	CHECK_EQ(n, 3);
	free(all);
	all = NULL;
	CHECK_EQ(db_license_remove(db, got.key), 0);

	CHECK_EQ(db_license_remove(db, a.key), 0);
	CHECK_EQ(db_license_remove(db, a.key), -ENOENT);
	CHECK_EQ(db_license_get(db, a.key, &got), -ENOENT);
	CHECK_EQ(db_licenses_generation(db, &gen), 0);
	CHECK_EQ(gen, 5);	/* 2 adds, 1 add and remove, 1 remove */
	CHECK_EQ(db_licenses(db, &all, &n), 0);
	CHECK_EQ(n, 1);
	if (all != NULL && n == 1)
		CHECK(license_same(&all[0], &b));
	free(all);
	db_close(db);
}

/* A rolled-back change leaves the generation; another connection (a
 * server) sees a committed one. */
static void
test_licenses_generation(void)
{
	char		 path[FS_PATH_MAX];
	struct db	*w = NULL, *r = NULL;
	struct db_license l;
	uint64_t	 gen = 99;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/gen%s.db", check_tmpdir,
	    test_state != NULL ? "-pg" : ""), 0);
	CHECK_EQ(db_open(path, test_state, 1, &w), 0);
	CHECK_EQ(db_open(path, test_state, 0, &r), 0);
	if (w == NULL || r == NULL || pg_reset(w) < 0) {
		db_close(w);
		db_close(r);
		return;
	}
	license(&l, "KEY-00000001", "basic", "u");
	CHECK_EQ(db_begin(w), 0);
	CHECK_EQ(db_license_add(w, &l), 0);
	CHECK_EQ(db_event_add(w, "license", NULL, "added"), 0);
	CHECK_EQ(db_licenses_generation(r, &gen), 0);
	CHECK_EQ(gen, 0);
	db_rollback(w);
	CHECK_EQ(db_licenses_generation(r, &gen), 0);
	CHECK_EQ(gen, 0);
	CHECK_EQ(db_license_get(r, l.key, &l), -ENOENT);

	license(&l, "KEY-00000001", "basic", "u");
	CHECK_EQ(db_begin(w), 0);
	CHECK_EQ(db_license_add(w, &l), 0);
	CHECK_EQ(db_commit(w), 0);
	CHECK_EQ(db_licenses_generation(r, &gen), 0);
	CHECK_EQ(gen, 1);
	CHECK_EQ(db_license_get(r, l.key, &l), 0);
	db_close(r);
	db_close(w);
}

struct editions_seen {
	char	 sha[8][CRYPTO_SHA256_HEX];
	char	 edition[8][32];
	int	 n;
	int	 stop_after;	/* 0: never */
};

static int
editions_cb(void *arg, const char *sha256, const char *edition)
{
	struct editions_seen	*e = arg;

	if (e->n < 8) {
		snprintf(e->sha[e->n], sizeof(e->sha[0]), "%s", sha256);
		snprintf(e->edition[e->n], sizeof(e->edition[0]), "%s",
		    edition);
	}
	e->n++;
	return e->stop_after != 0 && e->n >= e->stop_after ? 7 : 0;
}

/* The edition of sha in what the walk gave, or NULL. */
static const char *
editions_of(const struct editions_seen *e, const char *sha)
{
	int	 i;

	for (i = 0; i < e->n && i < 8; i++)
		if (strcmp(e->sha[i], sha) == 0)
			return e->edition[i];
	return NULL;
}

static void
test_object_editions(void)
{
	struct db		*db = fresh_db("editions");
	struct db_version	 v;
	struct db_delta		 d, orphan;
	struct editions_seen	 seen;
	const char		*ed;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(db_object_editions(db, editions_cb, &seen), 0);
	CHECK_EQ(seen.n, 0);

	version(&v, "engine", 1, "e1");
	snprintf(v.edition, sizeof(v.edition), "premium");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&v, "engine", 2, "e2");
	snprintf(v.edition, sizeof(v.edition), "premium");
	CHECK_EQ(db_version_add(db, "main", &v), 0);
	version(&v, "pattern", 1, "p1");
	snprintf(v.edition, sizeof(v.edition), "basic");
	CHECK_EQ(db_version_add(db, "beta", &v), 0);
	/* a delta has the edition of the version it leads to */
	delta(&d, "e1", "e2", "d12", 5);
	CHECK_EQ(db_delta_add(db, &d), 0);
	/* one leading to no listed version has none */
	delta(&orphan, "e1", "gone", "dx", 5);
	CHECK_EQ(db_delta_add(db, &orphan), 0);

	CHECK_EQ(db_object_editions(db, editions_cb, &seen), 0);
	CHECK_EQ(seen.n, 4);
	hex("e1", v.sha256);
	ed = editions_of(&seen, v.sha256);
	CHECK(ed != NULL && strcmp(ed, "premium") == 0);
	hex("p1", v.sha256);
	ed = editions_of(&seen, v.sha256);
	CHECK(ed != NULL && strcmp(ed, "basic") == 0);
	ed = editions_of(&seen, d.sha256);
	CHECK(ed != NULL && strcmp(ed, "premium") == 0);
	CHECK(editions_of(&seen, orphan.sha256) == NULL);

	/* the callback stops the walk */
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	CHECK_EQ(db_object_editions(db, editions_cb, &seen), 7);
	CHECK_EQ(seen.n, 2);
	db_close(db);
}

struct events_seen {
	struct db_event	 e[8];
	int		 n;
	int		 stop_after;
};

static int
events_cb(void *arg, const struct db_event *e)
{
	struct events_seen	*s = arg;

	if (s->n < 8)
		s->e[s->n] = *e;
	s->n++;
	return s->stop_after != 0 && s->n >= s->stop_after ? -EINTR : 0;
}

static void
test_events(void)
{
	struct db		*db = fresh_db("events");
	struct events_seen	*seen;
	char			 big[4000];
	int64_t			 before = (int64_t)time(NULL);

	seen = calloc(1, sizeof(*seen));
	CHECK(db != NULL && seen != NULL);
	if (db == NULL || seen == NULL) {
		free(seen);
		db_close(db);
		return;
	}
	CHECK_EQ(db_events(db, 0, events_cb, seen), 0);
	CHECK_EQ(seen->n, 0);

	CHECK_EQ(db_event_add(db, "license", NULL, "added ABCD\xe2\x80\xa6 "
	    "edition basic"), 0);
	CHECK_EQ(db_event_add(db, "sync-start", "main", "from upstream"), 0);
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK_EQ(db_event_add(db, "sync-failed", "vendor", big), 0);
	CHECK_EQ(db_event_add(db, "x'); DROP TABLE events; --", NULL, NULL),
	    0);

	/* oldest first, every field back */
	CHECK_EQ(db_events(db, 0, events_cb, seen), 0);
	CHECK_EQ(seen->n, 4);
	if (seen->n == 4) {
		CHECK(strcmp(seen->e[0].kind, "license") == 0);
		CHECK(strcmp(seen->e[0].channel, "") == 0);
		CHECK(strcmp(seen->e[0].detail,
		    "added ABCD\xe2\x80\xa6 edition basic") == 0);
		CHECK(seen->e[0].time >= before &&
		    seen->e[0].time <= (int64_t)time(NULL));
		CHECK(strcmp(seen->e[1].kind, "sync-start") == 0);
		CHECK(strcmp(seen->e[1].channel, "main") == 0);
		CHECK(seen->e[0].id < seen->e[1].id);
		CHECK(seen->e[1].id < seen->e[2].id);
		/* a long detail is cut to the buffer, not refused */
		CHECK_EQ(strlen(seen->e[2].detail), DB_EVENT_DETAIL_MAX);
		/* names are data, never SQL */
		CHECK(strcmp(seen->e[3].kind, "x'); DROP TABLE events; --")
		    == 0);
		CHECK(strcmp(seen->e[3].detail, "") == 0);
	}

	/* since: at or after */
	memset(seen, 0, sizeof(*seen));
	CHECK_EQ(db_events(db, (int64_t)time(NULL) + 3600, events_cb, seen),
	    0);
	CHECK_EQ(seen->n, 0);
	memset(seen, 0, sizeof(*seen));
	CHECK_EQ(db_events(db, before, events_cb, seen), 0);
	CHECK_EQ(seen->n, 4);

	/* the callback stops the walk, and its value comes back */
	memset(seen, 0, sizeof(*seen));
	seen->stop_after = 1;
	CHECK_EQ(db_events(db, 0, events_cb, seen), -EINTR);
	CHECK_EQ(seen->n, 1);
	free(seen);
	db_close(db);
}

static int
count_event(void *arg, const struct db_event *e)
{
	(void)e;
	(*(int *)arg)++;
	return 0;
}

static void
test_events_prune(void)
{
	struct db	*db = fresh_db("prune");
	int		 n = 0;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_event_add(db, "sync-start", "", "one"), 0);
	CHECK_EQ(db_event_add(db, "sync-done", "main", "two"), 0);
	/* nothing older than an hour ago */
	CHECK_EQ(db_events_prune(db, (int64_t)time(NULL) - 3600), 0);
	CHECK_EQ(db_events(db, 0, count_event, &n), 0);
	CHECK_EQ(n, 2);
	/* everything before a minute from now */
	CHECK_EQ(db_events_prune(db, (int64_t)time(NULL) + 60), 2);
	n = 0;
	CHECK_EQ(db_events(db, 0, count_event, &n), 0);
	CHECK_EQ(n, 0);
	db_close(db);
}

/* ---- agents ------------------------------------------------------------- */

static void
agent(struct db_agent *a, const char *id, const char *group, int licensed,
    int64_t enrolled)
{
	size_t	 i;

	memset(a, 0, sizeof(*a));
	snprintf(a->id, sizeof(a->id), "%s", id);
	for (i = 0; i < sizeof(a->token_hash); i++) {
		a->token_hash[i] = (unsigned char)((unsigned char)id[0] + i);
		a->notify_key[i] = (unsigned char)(0x80 ^ i);
	}
	snprintf(a->license_key, sizeof(a->license_key), "KEY-00000001");
	snprintf(a->group, sizeof(a->group), "%s", group);
	a->licensed = licensed;
	snprintf(a->hostname, sizeof(a->hostname), "host-%s", id);
	a->enrolled = enrolled;
}

static uint64_t
generation(struct db *db)
{
	uint64_t	 gen = 0;

	if (db_licenses_generation(db, &gen) < 0)
		return UINT64_MAX;
	return gen;
}

static void
test_agents(void)
{
	struct db	*db = fresh_db("agents");
	struct db_agent	 a, b, *all = NULL;
	size_t		 n = 99;
	static const char id1[] = "0123456789abcdef0123456789abcdef";
	static const char id2[] = "fedcba9876543210fedcba9876543210";
	static const char id3[] = "00000000000000000000000000000003";

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_agents(db, &all, &n), 0);
	CHECK_EQ(n, 0);
	free(all);
	CHECK_EQ(db_agent_get(db, id1, &b), -ENOENT);

	/* listed by enrolment time, not by id */
	agent(&a, id1, "default", 0, 1795341700);
	CHECK_EQ(db_agent_add(db, &a), 0);
	CHECK_EQ(db_agent_add(db, &a), -EEXIST);
	agent(&a, id2, "labs", 1, 1795341600);
	a.license_key[0] = '\0';		/* enrolled on an open server */
	CHECK_EQ(db_agent_add(db, &a), 0);
	agent(&a, id3, "default", 1, 1795341700);
	CHECK_EQ(db_agent_add(db, &a), 0);

	CHECK_EQ(db_agent_get(db, id2, &b), 0);
	CHECK(strcmp(b.id, id2) == 0);
	CHECK(memcmp(b.token_hash, a.token_hash, 1) != 0);
	agent(&a, id2, "labs", 1, 1795341600);
	CHECK(memcmp(b.token_hash, a.token_hash, sizeof(a.token_hash)) == 0);
	CHECK(memcmp(b.notify_key, a.notify_key, sizeof(a.notify_key)) == 0);
	CHECK(strcmp(b.license_key, "") == 0);
	CHECK(strcmp(b.group, "labs") == 0);
	CHECK_EQ(b.licensed, 1);
	CHECK(strcmp(b.hostname, "host-fedcba9876543210fedcba9876543210")
	    == 0);
	CHECK_EQ(b.enrolled, 1795341600);
	CHECK_EQ(b.last_seen, 0);
	CHECK_EQ(b.last_report, 0);
	CHECK(strcmp(b.notify_url, "") == 0);
	CHECK(b.status == NULL);
	db_agents_free(&b, 1);

	CHECK_EQ(db_agents(db, &all, &n), 0);
	CHECK_EQ(n, 3);
	if (n == 3) {
		CHECK(strcmp(all[0].id, id2) == 0);
		CHECK(strcmp(all[1].id, id1) == 0);	/* then as added */
		CHECK(strcmp(all[2].id, id3) == 0);
		CHECK_EQ(all[1].licensed, 0);
	}
	db_agents_free(all, n);
	free(all);

	/* a report: hostname, notify URL, document, both times */
	CHECK_EQ(db_agent_report(db, id1, "renamed", "http://10.0.0.5:9137/"
	    "v1/notify", "{\"result\": \"ok\"}", 1795342000), 0);
	CHECK_EQ(db_agent_get(db, id1, &b), 0);
	CHECK(strcmp(b.hostname, "renamed") == 0);
	CHECK(strcmp(b.notify_url, "http://10.0.0.5:9137/v1/notify") == 0);
	CHECK(b.status != NULL && strcmp(b.status, "{\"result\": \"ok\"}")
	    == 0);
	CHECK_EQ(b.last_report, 1795342000);
	CHECK_EQ(b.last_seen, 1795342000);
	db_agents_free(&b, 1);
	CHECK_EQ(db_agent_seen(db, id1, 1795342100), 0);
	CHECK_EQ(db_agent_get(db, id1, &b), 0);
	CHECK_EQ(b.last_report, 1795342000);
	CHECK_EQ(b.last_seen, 1795342100);
	db_agents_free(&b, 1);
	db_agents_free(NULL, 0);

	CHECK_EQ(db_agent_set_licensed(db, id1, 1), 0);
	CHECK_EQ(db_agent_set_group(db, id1, "labs"), 0);
	CHECK_EQ(db_agent_get(db, id1, &b), 0);
	CHECK_EQ(b.licensed, 1);
	CHECK(strcmp(b.group, "labs") == 0);
	CHECK(b.status != NULL);		/* kept */
	db_agents_free(&b, 1);

	CHECK_EQ(db_agent_remove(db, id1), 0);
	CHECK_EQ(db_agent_get(db, id1, &b), -ENOENT);
	/* each change names an agent that exists */
	CHECK_EQ(db_agent_remove(db, id1), -ENOENT);
	CHECK_EQ(db_agent_set_licensed(db, id1, 1), -ENOENT);
	CHECK_EQ(db_agent_set_group(db, id1, "x"), -ENOENT);
	CHECK_EQ(db_agent_report(db, id1, "h", "", "{}", 1), -ENOENT);
	CHECK_EQ(db_agent_seen(db, id1, 1), -ENOENT);
	/* ids are data, never SQL */
	CHECK_EQ(db_agent_get(db, "' OR 1=1; --", &b), -ENOENT);
	db_close(db);
}

/* Who may authenticate bumps the generation, in the same transaction;
 * what agents report does not. */
static void
test_agents_generation(void)
{
	char		 path[FS_PATH_MAX];
	struct db	*w = NULL, *r = NULL;
	struct db_agent	 a;
	uint64_t	 g;
	static const char id[] = "0123456789abcdef0123456789abcdef";

	CHECK_EQ(fs_path(path, sizeof(path), "%s/agen%s.db", check_tmpdir,
	    test_state != NULL ? "-pg" : ""), 0);
	CHECK_EQ(db_open(path, test_state, 1, &w), 0);
	CHECK_EQ(db_open(path, test_state, 0, &r), 0);
	if (w == NULL || r == NULL || pg_reset(w) < 0) {
		db_close(w);
		db_close(r);
		return;
	}
	g = generation(r);
	CHECK_EQ(g, 0);
	/* commits that do not wait for the disk are commits all the same */
	CHECK_EQ(db_set_durable(w, 0), 0);
	agent(&a, id, "default", 0, 1795341600);
	CHECK_EQ(db_begin(w), 0);
	CHECK_EQ(db_agent_add(w, &a), 0);
	CHECK_EQ(db_event_add_agent(w, "agent-enrolled", id, "x"), 0);
	CHECK_EQ(generation(r), g);		/* not before the commit */
	db_rollback(w);
	CHECK_EQ(generation(r), g);
	CHECK_EQ(db_agent_get(r, id, &a), -ENOENT);

	agent(&a, id, "default", 0, 1795341600);
	CHECK_EQ(db_agent_add(w, &a), 0);
	CHECK(generation(r) > g);
	g = generation(r);
	CHECK_EQ(db_agent_report(w, id, "h", "", "{}", 1795341700), 0);
	CHECK_EQ(db_agent_seen(w, id, 1795341800), 0);
	CHECK_EQ(generation(r), g);
	CHECK_EQ(db_agent_set_licensed(w, id, 1), 0);
	CHECK(generation(r) > g);
	g = generation(r);
	CHECK_EQ(db_agent_set_group(w, id, "labs"), 0);
	CHECK(generation(r) > g);
	g = generation(r);
	CHECK_EQ(db_agent_set_group(w, "no-such-agent", "labs"), -ENOENT);
	CHECK_EQ(generation(r), g);
	CHECK_EQ(db_agent_remove(w, id), 0);
	CHECK(generation(r) > g);
	CHECK_EQ(db_set_durable(w, 1), 0);
	db_close(r);
	db_close(w);
}

static void
test_downstreams(void)
{
	struct db		*db = fresh_db("downstreams");
	struct db_downstream	 d, got, *all = NULL;
	char			(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	size_t			 n = 99;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_downstreams(db, &all, &n), 0);
	CHECK_EQ(n, 0);
	free(all);
	CHECK_EQ(db_downstream_get(db, "b", &got), -ENOENT);
	CHECK_EQ(db_downstream_run(db, "b", 100), -ENOENT);
	CHECK_EQ(db_downstream_run_take(db, "b"), 0);
	CHECK_EQ(db_downstream_remove(db, "b"), -ENOENT);

	memset(&d, 0, sizeof(d));
	memcpy(d.name, "b", 2);
	memcpy(d.address, "::1", 4);
	d.last_report = 1795341600;
	d.run_requested = 55;			/* ignored */
	d.inventory = (char *)"{\"name\":\"b\"}";
	CHECK_EQ(db_downstream_report(db, &d), 0);
	memcpy(d.name, "a", 2);
	memcpy(d.address, "127.0.0.1", 10);
	memcpy(d.edition, "premium", 8);
	CHECK_EQ(db_downstream_report(db, &d), 0);

	CHECK_EQ(db_downstream_get(db, "b", &got), 0);
	CHECK(strcmp(got.name, "b") == 0);
	CHECK(strcmp(got.address, "::1") == 0);
	CHECK(strcmp(got.edition, "") == 0);
	CHECK_EQ(got.last_report, 1795341600);
	CHECK_EQ(got.run_requested, 0);
	CHECK(got.inventory != NULL &&
	    strcmp(got.inventory, "{\"name\":\"b\"}") == 0);
	db_downstreams_free(&got, 1);
	CHECK(got.inventory == NULL);

	/* by name */
	CHECK_EQ(db_downstreams(db, &all, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK(strcmp(all[0].name, "a") == 0);
		CHECK(strcmp(all[0].edition, "premium") == 0);
		CHECK(strcmp(all[1].name, "b") == 0);
	}
	db_downstreams_free(all, n);
	free(all);

	/* a run request is kept, at its first time, until taken once */
	CHECK_EQ(db_downstreams_running(db, &names, &n), 0);
	CHECK_EQ(n, 0);
	free(names);
	names = NULL;
	CHECK_EQ(db_downstream_run(db, "b", 100), 0);
	CHECK_EQ(db_downstream_run(db, "b", 200), 0);
	CHECK_EQ(db_downstream_get(db, "b", &got), 0);
	CHECK_EQ(got.run_requested, 100);
	db_downstreams_free(&got, 1);
	/* a report does not clear it */
	memcpy(d.name, "b", 2);
	d.last_report = 1795341700;
	d.inventory = (char *)"{}";
	CHECK_EQ(db_downstream_report(db, &d), 0);
	CHECK_EQ(db_downstream_get(db, "b", &got), 0);
	CHECK_EQ(got.run_requested, 100);
	CHECK_EQ(got.last_report, 1795341700);
	CHECK(strcmp(got.address, "127.0.0.1") == 0);
	CHECK(strcmp(got.inventory, "{}") == 0);
	db_downstreams_free(&got, 1);
	CHECK_EQ(db_downstreams_running(db, &names, &n), 0);
	CHECK_EQ(n, 1);
	if (n == 1)
		CHECK(strcmp(names[0], "b") == 0);
	free(names);
	names = NULL;
	CHECK_EQ(db_downstream_run_take(db, "a"), 0);
	CHECK_EQ(db_downstream_run_take(db, "b"), 1);
	CHECK_EQ(db_downstream_run_take(db, "b"), 0);
	CHECK_EQ(db_downstreams_running(db, &names, &n), 0);
	CHECK_EQ(n, 0);
	free(names);

	CHECK_EQ(db_downstream_remove(db, "a"), 0);
	CHECK_EQ(db_downstream_remove(db, "a"), -ENOENT);
	CHECK_EQ(db_downstream_get(db, "a", &got), -ENOENT);
	db_close(db);
}

static void
test_events_agent(void)
{
	struct db		*db = fresh_db("agent_events");
	struct events_seen	*seen;
	static const char	 id[] = "0123456789abcdef0123456789abcdef";

	seen = calloc(1, sizeof(*seen));
	CHECK(db != NULL && seen != NULL);
	if (db == NULL || seen == NULL) {
		free(seen);
		db_close(db);
		return;
	}
	CHECK_EQ(db_event_add(db, "sync-done", "main", "serial 3"), 0);
	CHECK_EQ(db_event_add_agent(db, "agent-report", id, "failed: disk "
	    "full"), 0);
	CHECK_EQ(db_event_add_agent(db, "agent-enrolled", id, NULL), 0);
	CHECK_EQ(db_events(db, 0, events_cb, seen), 0);
	CHECK_EQ(seen->n, 3);
	if (seen->n == 3) {
		CHECK(strcmp(seen->e[0].agent, "") == 0);
		CHECK(strcmp(seen->e[0].channel, "main") == 0);
		CHECK(strcmp(seen->e[1].agent, id) == 0);
		CHECK(strcmp(seen->e[1].channel, "") == 0);
		CHECK(strcmp(seen->e[1].kind, "agent-report") == 0);
		CHECK(strcmp(seen->e[1].detail, "failed: disk full") == 0);
		CHECK(strcmp(seen->e[2].detail, "") == 0);
	}
	free(seen);
	db_close(db);
}

/* A file as cascade made it before schema versions: the first schema
 * alone, user_version 0, an event without an agent column. */
static int
legacy_db(const char *path)
{
	sqlite3	*h = NULL;
	int	 rc;

	rc = sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, db_schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(h, "INSERT INTO events (time, kind, channel, "
		    "detail) VALUES (1795341600, 'sync-done', 'main', 'old'); "
		    "INSERT INTO licenses (key, edition, created) VALUES "
		    "('KEY-00000001', 'basic', 1795341600);", NULL, NULL,
		    NULL);
	sqlite3_close(h);
	return rc == SQLITE_OK ? 0 : -1;
}

static int
user_version(const char *path)
{
	sqlite3		*h = NULL;
	sqlite3_stmt	*st = NULL;
	int		 v = -1;

	if (sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(h, "PRAGMA user_version", -1,
	    &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return v;
}

static void
test_migration(void)
{
	char			 path[FS_PATH_MAX];
	struct db		*db = NULL, *db2 = NULL;
	struct events_seen	*seen;
	struct db_license	 l;
	struct db_agent		 a;
	struct db_downstream	 d;
	sqlite3			*h = NULL;
	static const char	 id[] = "0123456789abcdef0123456789abcdef";

	seen = calloc(1, sizeof(*seen));
	CHECK(seen != NULL);
	CHECK_EQ(fs_path(path, sizeof(path), "%s/legacy.db", check_tmpdir),
	    0);
	CHECK_EQ(legacy_db(path), 0);
	CHECK_EQ(user_version(path), 0);
	if (seen == NULL)
		return;

	/* two connections at once, as a server and a CLI: one migrates */
	CHECK_EQ(db_open(path, NULL, 0, &db), 0);
	CHECK_EQ(db_open(path, NULL, 0, &db2), 0);
	CHECK_EQ(user_version(path), DB_SCHEMA_VERSION);
	if (db == NULL || db2 == NULL) {
		free(seen);
		db_close(db);
		db_close(db2);
		return;
	}
	/* what was there is still there */
	CHECK_EQ(db_license_get(db, "KEY-00000001", &l), 0);
	CHECK_EQ(db_events(db, 0, events_cb, seen), 0);
	CHECK_EQ(seen->n, 1);
	CHECK(strcmp(seen->e[0].detail, "old") == 0);
	CHECK(strcmp(seen->e[0].agent, "") == 0);
	/* and what is new works */
	agent(&a, id, "default", 1, 1795341600);
	CHECK_EQ(db_agent_add(db, &a), 0);
	CHECK_EQ(db_event_add_agent(db2, "agent-enrolled", id, "new"), 0);
	memset(seen, 0, sizeof(*seen));
	CHECK_EQ(db_events(db2, 0, events_cb, seen), 0);
	CHECK_EQ(seen->n, 2);
	CHECK(strcmp(seen->e[1].agent, id) == 0);
	CHECK_EQ(db_agent_get(db2, id, &a), 0);
	db_agents_free(&a, 1);
	memset(&d, 0, sizeof(d));
	memcpy(d.name, "branch", 7);
	d.inventory = (char *)"{}";
	CHECK_EQ(db_downstream_report(db, &d), 0);
	CHECK_EQ(db_downstream_run(db2, "branch", 1), 0);
	CHECK_EQ(db_downstream_run_take(db2, "branch"), 1);
	{
		struct db_token		 t;
		struct db_schedule	 s;

		memset(&t, 0, sizeof(t));
		snprintf(t.name, sizeof(t.name), "admin");
		snprintf(t.role, sizeof(t.role), "admin");
		CHECK_EQ(db_token_add(db, &t), 0);
		memset(&s, 0, sizeof(s));
		snprintf(s.target, sizeof(s.target), "upstream");
		snprintf(s.schedule, sizeof(s.schedule), "every 5m");
		CHECK_EQ(db_schedule_set(db2, &s), 0);
	}
	db_close(db2);
	db_close(db);
	db = NULL;

	/* opening again changes nothing */
	CHECK_EQ(db_open(path, NULL, 0, &db), 0);
	CHECK_EQ(user_version(path), DB_SCHEMA_VERSION);
	db_close(db);
	db = NULL;

	/* a file from a newer cascade is refused, not written */
	CHECK_EQ(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL),
	    SQLITE_OK);
	CHECK_EQ(sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(h);
	CHECK_EQ(db_open(path, NULL, 0, &db), -ENOTSUP);
	CHECK(db == NULL);
	CHECK_EQ(user_version(path), 99);
	free(seen);
}

static void
test_channels(void)
{
	struct db	*db = fresh_db("channels");
	char		(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	size_t		 n = 99;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_channels(db, &names, &n), 0);
	CHECK_EQ(n, 0);
	free(names);
	names = NULL;
	CHECK_EQ(db_channel_set_serial(db, "vendor", 3), 0);
	CHECK_EQ(db_channel_set_serial(db, "main", 1), 0);
	CHECK_EQ(db_channel_set_serial(db, "main", 2), 0);
	CHECK_EQ(db_channels(db, &names, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK(strcmp(names[0], "main") == 0);
		CHECK(strcmp(names[1], "vendor") == 0);
	}
	free(names);
	db_close(db);
}

/* The admin API's queries: kind exact or by prefix, agent, time, after
 * an id, the oldest or the newest few; and the last id. */
static void
test_events_query(void)
{
	struct db		*db = fresh_db("events_query");
	struct events_seen	*seen;
	struct db_event_filter	 f;
	static const char	 id[] = "0123456789abcdef0123456789abcdef";
	int64_t			 last = -1;

	seen = calloc(1, sizeof(*seen));
	CHECK(db != NULL && seen != NULL);
	if (db == NULL || seen == NULL) {
		free(seen);
		db_close(db);
		return;
	}
	CHECK_EQ(db_events_last(db, &last), 0);
	CHECK_EQ(last, 0);
	CHECK_EQ(db_event_add(db, "sync-start", "", "1"), 0);
	CHECK_EQ(db_event_add_agent(db, "agent-report", id, "2"), 0);
	CHECK_EQ(db_event_add(db, "sync-done", "", "3"), 0);
	CHECK_EQ(db_event_add_agent(db, "agent-installed", id, "4"), 0);
	CHECK_EQ(db_event_add(db, "sync%", "", "5"), 0);
	CHECK_EQ(db_event_add_agent(db, "agent-report", "ffff", "6"), 0);
	CHECK_EQ(db_events_last(db, &last), 0);
	CHECK(last > 0);

	memset(&f, 0, sizeof(f));
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 6);
	CHECK_EQ(seen->e[5].id, last);

	/* an exact kind */
	memset(seen, 0, sizeof(*seen));
	f.kind = "agent-report";
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 2);
	CHECK(strcmp(seen->e[0].detail, "2") == 0);
	/* a prefix; '%' is itself, not a wildcard */
	memset(seen, 0, sizeof(*seen));
	f.kind = "sync-*";
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 2);
	memset(seen, 0, sizeof(*seen));
	f.kind = "sync%*";
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 1);
	CHECK(strcmp(seen->e[0].detail, "5") == 0);
	memset(seen, 0, sizeof(*seen));
	f.kind = "sync";
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 0);
	/* an agent, with a prefix */
	memset(seen, 0, sizeof(*seen));
	f.kind = "agent-*";
	f.agent = id;
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 2);
	CHECK(strcmp(seen->e[1].detail, "4") == 0);
	/* after an id, the oldest or the newest */
	memset(seen, 0, sizeof(*seen));
	memset(&f, 0, sizeof(f));
	f.after = last - 4;
	f.limit = 2;
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 2);
	CHECK(strcmp(seen->e[0].detail, "3") == 0);
	CHECK(strcmp(seen->e[1].detail, "4") == 0);
	memset(seen, 0, sizeof(*seen));
	f.after = 0;
	f.newest = 1;
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 2);
	CHECK(strcmp(seen->e[0].detail, "5") == 0);
	CHECK(strcmp(seen->e[1].detail, "6") == 0);
	memset(seen, 0, sizeof(*seen));
	f.after = last;
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 0);
	/* since: time */
	memset(seen, 0, sizeof(*seen));
	memset(&f, 0, sizeof(f));
	f.since = (int64_t)time(NULL) + 3600;
	CHECK_EQ(db_events_query(db, &f, events_cb, seen), 0);
	CHECK_EQ(seen->n, 0);
	free(seen);
	db_close(db);
}

static void
token(struct db_token *t, const char *name, const char *role,
    const char *seed)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	snprintf(t->role, sizeof(t->role), "%s", role);
	crypto_sha256(seed, strlen(seed), t->hash);
	t->created = 1795341600;
}

static void
test_tokens(void)
{
	struct db	*db = fresh_db("tokens");
	struct db_token	 t, got, *all = NULL;
	size_t		 n = 99;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_tokens(db, &all, &n), 0);
	CHECK_EQ(n, 0);
	free(all);
	all = NULL;
	token(&t, "admin", "admin", "one");
	CHECK_EQ(db_token_add(db, &t), 0);
	token(&t, "ops", "viewer", "two");
	CHECK_EQ(db_token_add(db, &t), 0);
	/* a name or a hash taken */
	token(&t, "ops", "admin", "three");
	CHECK_EQ(db_token_add(db, &t), -EEXIST);
	token(&t, "other", "admin", "two");
	CHECK_EQ(db_token_add(db, &t), -EEXIST);

	token(&t, "ops", "viewer", "two");
	memset(&got, 0, sizeof(got));
	CHECK_EQ(db_token_find(db, t.hash, &got), 0);
	CHECK(strcmp(got.name, "ops") == 0);
	CHECK(strcmp(got.role, "viewer") == 0);
	CHECK(memcmp(got.hash, t.hash, sizeof(t.hash)) == 0);
	CHECK_EQ(got.created, 1795341600);
	token(&t, "x", "admin", "nothing");
	CHECK_EQ(db_token_find(db, t.hash, &got), -ENOENT);

	CHECK_EQ(db_tokens(db, &all, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK(strcmp(all[0].name, "admin") == 0);
		CHECK(strcmp(all[1].name, "ops") == 0);
	}
	free(all);
	CHECK_EQ(db_token_remove(db, "ops"), 0);
	CHECK_EQ(db_token_remove(db, "ops"), -ENOENT);
	token(&t, "ops", "viewer", "two");
	CHECK_EQ(db_token_find(db, t.hash, &got), -ENOENT);
	db_close(db);
}

static void
test_schedules(void)
{
	struct db		*db = fresh_db("schedules");
	struct db_schedule	 s, got, *all = NULL;
	size_t			 n = 99;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK_EQ(db_schedule_get(db, "upstream", &got), -ENOENT);
	CHECK_EQ(db_schedules(db, &all, &n), 0);
	CHECK_EQ(n, 0);
	free(all);
	all = NULL;
	memset(&s, 0, sizeof(s));
	snprintf(s.target, sizeof(s.target), "upstream");
	snprintf(s.schedule, sizeof(s.schedule), "every 30m");
	s.at_startup = 1;
	CHECK_EQ(db_schedule_set(db, &s), 0);
	snprintf(s.target, sizeof(s.target), "downstream/branch-1");
	snprintf(s.schedule, sizeof(s.schedule), "weekly mon 02:00");
	s.at_startup = 0;
	CHECK_EQ(db_schedule_set(db, &s), 0);
	/* replaced, not added */
	snprintf(s.schedule, sizeof(s.schedule), "daily 03:00");
	s.at_startup = 7;
	CHECK_EQ(db_schedule_set(db, &s), 0);

	CHECK_EQ(db_schedule_get(db, "upstream", &got), 0);
	CHECK(strcmp(got.schedule, "every 30m") == 0);
	CHECK_EQ(got.at_startup, 1);
	CHECK_EQ(db_schedule_get(db, "downstream/branch-1", &got), 0);
	CHECK(strcmp(got.schedule, "daily 03:00") == 0);
	CHECK_EQ(got.at_startup, 1);
	CHECK_EQ(db_schedules(db, &all, &n), 0);
	CHECK_EQ(n, 2);
	if (n == 2) {
		CHECK(strcmp(all[0].target, "downstream/branch-1") == 0);
		CHECK(strcmp(all[1].target, "upstream") == 0);
	}
	free(all);
	CHECK_EQ(db_schedule_remove(db, "upstream"), 0);
	CHECK_EQ(db_schedule_remove(db, "upstream"), -ENOENT);
	CHECK_EQ(db_schedule_get(db, "upstream", &got), -ENOENT);
	db_close(db);
}

/* One server at a time holds a lease; it renews it, and another takes
 * it once it has expired. Alone (SQLite), a server always has it. */
static void
test_lease(void)
{
	struct db	*a = fresh_db("lease"), *b = NULL;
	char		 path[FS_PATH_MAX];

	CHECK(a != NULL);
	if (a == NULL)
		return;
	CHECK_EQ(fs_path(path, sizeof(path), "%s/lease2%s.db", check_tmpdir,
	    test_state != NULL ? "-pg" : ""), 0);
	CHECK_EQ(db_open(path, test_state, 1, &b), 0);
	if (b == NULL) {
		db_close(a);
		return;
	}
	CHECK_EQ(db_lease_take(a, "sync", "server-a", 3600), 1);
	CHECK_EQ(db_lease_take(a, "sync", "server-a", 3600), 1);
	CHECK_EQ(db_lease_take(b, "sync", "server-b", 3600),
	    test_state != NULL ? 0 : 1);
	/* another name is another lease */
	CHECK_EQ(db_lease_take(b, "other", "server-b", 3600), 1);
	/* names and holders are data, never SQL */
	CHECK_EQ(db_lease_take(b, "x'); DROP TABLE leases; --", "'", 60), 1);
	/* renewed for no time: expired at once, and the other takes it */
	CHECK_EQ(db_lease_take(a, "sync", "server-a", 0), 1);
	CHECK_EQ(db_lease_take(b, "sync", "server-b", 3600), 1);
	CHECK_EQ(db_lease_take(a, "sync", "server-a", 3600),
	    test_state != NULL ? 0 : 1);
	db_close(b);
	db_close(a);
}

/* A connection the database server dropped is opened again at the next
 * statement outside a transaction; inside one, the transaction fails. */
static void
test_reconnect(void)
{
	struct db		*a = fresh_db("reconnect"), *b = NULL;
	struct db_license	 l;
	char			 path[FS_PATH_MAX];
	uint64_t		 gen = 99;
	static const char	 kill[] = "SELECT pg_terminate_backend(pid) "
	    "FROM pg_stat_activity WHERE application_name = 'cascade' AND "
	    "datname = current_database() AND pid <> pg_backend_pid()";

	CHECK(a != NULL);
	if (a == NULL)
		return;
	CHECK_EQ(fs_path(path, sizeof(path), "%s/reconnect2.db",
	    check_tmpdir), 0);
	CHECK_EQ(db_open(path, test_state, 1, &b), 0);
	if (b == NULL || b->pg == NULL) {
		db_close(a);
		db_close(b);
		return;
	}
	CHECK_EQ(pg_do(b->pg, kill, ""), 0);
	CHECK_EQ(db_licenses_generation(a, &gen), 0);
	CHECK_EQ(gen, 0);
	license(&l, "KEY-00000001", "basic", NULL);
	CHECK_EQ(db_begin(a), 0);
	CHECK_EQ(pg_do(b->pg, kill, ""), 0);
	CHECK(db_license_add(a, &l) < 0);
	db_rollback(a);
	CHECK_EQ(db_license_add(a, &l), 0);
	CHECK_EQ(db_license_get(b, l.key, &l), 0);
	db_close(b);
	db_close(a);
}

/* The tests of the shared tables, again on PostgreSQL. */
static void
run_pg(const char *url)
{
	test_state = url;
	check_run("test_licenses (postgresql)", test_licenses);
	check_run("test_licenses_generation (postgresql)",
	    test_licenses_generation);
	check_run("test_events (postgresql)", test_events);
	check_run("test_events_prune (postgresql)", test_events_prune);
	check_run("test_agents (postgresql)", test_agents);
	check_run("test_agents_generation (postgresql)",
	    test_agents_generation);
	check_run("test_events_agent (postgresql)", test_events_agent);
	check_run("test_downstreams (postgresql)", test_downstreams);
	check_run("test_events_query (postgresql)", test_events_query);
	check_run("test_tokens (postgresql)", test_tokens);
	check_run("test_schedules (postgresql)", test_schedules);
	check_run("test_lease (postgresql)", test_lease);
	check_run("test_reconnect (postgresql)", test_reconnect);
	test_state = NULL;
}

int
main(void)
{
	const char	*pg = getenv("CASCADE_TEST_PG");

	if (check_tmpdir_init("test_db") < 0)
		return 1;
	RUN(test_open);
	RUN(test_not_a_db);
	RUN(test_serial);
	RUN(test_versions);
	RUN(test_versions_big);
	RUN(test_version_duplicate);
	RUN(test_version_remove);
	RUN(test_current);
	RUN(test_deltas);
	RUN(test_deltas_same_base_twice);
	RUN(test_delta_replace);
	RUN(test_referenced);
	RUN(test_transactions);
	RUN(test_snapshot);
	RUN(test_licenses);
	RUN(test_licenses_generation);
	RUN(test_object_editions);
	RUN(test_events);
	RUN(test_events_prune);
	RUN(test_agents);
	RUN(test_agents_generation);
	RUN(test_events_agent);
	RUN(test_downstreams);
	RUN(test_migration);
	RUN(test_channels);
	RUN(test_events_query);
	RUN(test_tokens);
	RUN(test_schedules);
	RUN(test_lease);
	if (pg != NULL && pg[0] != '\0')
		run_pg(pg);
	check_rm_rf(check_tmpdir);
	return check_end();
}
