/*
 * Unit tests of license: what license_make accepts and refuses, that the
 * password is stored salted and hashed, masking, and license_check on a
 * set loaded from a real state database: right and wrong keys, usernames
 * and passwords, and edition ranks from [editions] order; agents: tokens,
 * their checks (right, wrong, unknown, malformed, pending) and ranks.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "fs.h"
#include "license.h"
#include "check.h"
#include "banned.h"

static void
test_valid_key(void)
{
	char	 long_key[LICENSE_KEY_MAX + 2];

	CHECK(license_valid_key("ABCD-1234"));
	CHECK(license_valid_key("abcdefgh"));
	CHECK(license_valid_key("a.b_c~d+e/f=g-h"));
	CHECK(!license_valid_key(""));
	CHECK(!license_valid_key("short"));
	CHECK(!license_valid_key("ABCD 1234"));
	CHECK(!license_valid_key("ABCD:1234"));
	CHECK(!license_valid_key("ABCD\n1234"));
	CHECK(!license_valid_key("ABCD\xe2\x80\xa6" "1234"));
	memset(long_key, 'k', sizeof(long_key) - 1);
	long_key[sizeof(long_key) - 1] = '\0';
	CHECK(!license_valid_key(long_key));
	long_key[LICENSE_KEY_MAX] = '\0';
	CHECK(license_valid_key(long_key));
}

static void
test_valid_username(void)
{
	CHECK(license_valid_username("alice"));
	CHECK(license_valid_username("EAV-12345678"));
	CHECK(license_valid_username("a@b.example"));
	CHECK(!license_valid_username(""));
	CHECK(!license_valid_username("al:ice"));	/* Basic splits at ':' */
	CHECK(!license_valid_username("al ice"));
	CHECK(!license_valid_username("al\tice"));
	CHECK(!license_valid_username("\xc3\xa9t\xc3\xa9"));
}

static void
test_mask(void)
{
	char	 m[LICENSE_MASK_MAX];

	license_mask("ABCD-EFGH-IJKL-MNOP", m);
	CHECK(strcmp(m, "ABCD\xe2\x80\xa6MNOP") == 0);
	license_mask("ABCDEFGHIJ", m);		/* short: the start only */
	CHECK(strcmp(m, "ABCD\xe2\x80\xa6") == 0);
	license_mask("AB", m);
	CHECK(strcmp(m, "AB\xe2\x80\xa6") == 0);
}

static void
test_make(void)
{
	struct db_license	 l, l2;
	unsigned char		 md[CRYPTO_SHA256_LEN], zero[DB_LICENSE_SALT_LEN];
	unsigned char		 buf[DB_LICENSE_SALT_LEN + 6];
	char			 err[256], pass[LICENSE_PASSWORD_MAX + 2];

	CHECK_EQ(license_make(&l, "KEY-0000-0001", "basic", NULL, NULL, err,
	    sizeof(err)), 0);
	CHECK(strcmp(l.key, "KEY-0000-0001") == 0);
	CHECK(strcmp(l.edition, "basic") == 0);
	CHECK(l.username[0] == '\0');
	CHECK(l.created > 0);

	CHECK_EQ(license_make(&l, "KEY-0000-0001", "basic", "alice", "secret",
	    err, sizeof(err)), 0);
	CHECK(strcmp(l.username, "alice") == 0);
	memset(zero, 0, sizeof(zero));
	CHECK(memcmp(l.salt, zero, sizeof(zero)) != 0);
	/* SHA-256(salt || password) */
	memcpy(buf, l.salt, DB_LICENSE_SALT_LEN);
	memcpy(buf + DB_LICENSE_SALT_LEN, "secret", 6);
	CHECK_EQ(crypto_sha256(buf, sizeof(buf), md), 0);
	CHECK(memcmp(md, l.hash, sizeof(md)) == 0);
	/* a fresh salt each time */
	CHECK_EQ(license_make(&l2, "KEY-0000-0001", "basic", "alice",
	    "secret", err, sizeof(err)), 0);
	CHECK(memcmp(l.salt, l2.salt, sizeof(l.salt)) != 0);
	CHECK(memcmp(l.hash, l2.hash, sizeof(l.hash)) != 0);

	err[0] = '\0';
	CHECK_EQ(license_make(&l, "bad key!", "basic", NULL, NULL, err,
	    sizeof(err)), -EINVAL);
	CHECK(err[0] != '\0');
	CHECK_EQ(license_make(&l, "KEY-0000-0001", "Bad Edition", NULL, NULL,
	    err, sizeof(err)), -EINVAL);
	CHECK_EQ(license_make(&l, "KEY-0000-0001", NULL, NULL, NULL, err,
	    sizeof(err)), -EINVAL);
	CHECK_EQ(license_make(&l, "KEY-0000-0001", "basic", "alice", NULL,
	    err, sizeof(err)), -EINVAL);
	CHECK_EQ(license_make(&l, "KEY-0000-0001", "basic", NULL, "pw", err,
	    sizeof(err)), -EINVAL);
	CHECK_EQ(license_make(&l, "KEY-0000-0001", "basic", "al:ice", "pw",
	    err, sizeof(err)), -EINVAL);
	CHECK_EQ(license_make(&l, "KEY-0000-0001", "basic", "alice", "", err,
	    sizeof(err)), -EINVAL);
	memset(pass, 'p', sizeof(pass) - 1);
	pass[sizeof(pass) - 1] = '\0';
	CHECK_EQ(license_make(&l, "KEY-0000-0001", "basic", "alice", pass,
	    err, sizeof(err)), -EINVAL);
	pass[LICENSE_PASSWORD_MAX] = '\0';
	CHECK_EQ(license_make(&l, "KEY-0000-0001", "basic", "alice", pass,
	    err, sizeof(err)), 0);
}

/* A state database holding three licenses, and the set loaded from it
 * with order basic < business < premium. */
static struct license_set *
three(struct db **ret_db, size_t *ret_unranked)
{
	struct license_set	*ls = NULL;
	struct db_license	 l;
	struct conf		 c;
	struct db		*db = NULL;
	char			 path[FS_PATH_MAX], err[256];
	static const char	 conf_text[] =
	    "[editions]\norder = basic, business, premium\n";

	static int		 seq;

	conf_defaults(&c);
	if (conf_parse(&c, conf_text, strlen(conf_text), err) < 0 ||
	    fs_path(path, sizeof(path), "%s/l%d.db", check_tmpdir, seq++) < 0 ||
	    db_open(path, NULL, 1, &db) < 0)
		return NULL;
	if (license_make(&l, "BASIC-KEY-0001", "basic", "alice", "pa:ss word",
	    err, sizeof(err)) < 0 || db_license_add(db, &l) < 0 ||
	    license_make(&l, "PREMIUM-KEY-02", "premium", NULL, NULL, err,
	    sizeof(err)) < 0 || db_license_add(db, &l) < 0 ||
	    license_make(&l, "GOLD-KEY-0003", "gold", "bob", "pw", err,
	    sizeof(err)) < 0 || db_license_add(db, &l) < 0 ||
	    license_set_load(db, &c, &ls, ret_unranked) < 0) {
		db_close(db);
		return NULL;
	}
	*ret_db = db;
	return ls;
}

static void
test_check(void)
{
	struct license_set	*ls;
	struct db		*db = NULL;
	const char		*ed = NULL;
	size_t			 unranked = 99;
	int			 rank = 99;

	ls = three(&db, &unranked);
	CHECK(ls != NULL);
	if (ls == NULL)
		return;
	CHECK_EQ(license_set_count(ls), 3);
	CHECK_EQ(unranked, 1);		/* gold is not in the order */

	CHECK_EQ(license_check(ls, "BASIC-KEY-0001", "alice", "pa:ss word",
	    &rank, &ed), 0);
	CHECK_EQ(rank, 0);
	CHECK(ed != NULL && strcmp(ed, "basic") == 0);
	CHECK_EQ(license_check(ls, "PREMIUM-KEY-02", NULL, NULL, &rank, &ed),
	    0);
	CHECK_EQ(rank, 2);
	CHECK(strcmp(ed, "premium") == 0);
	/* a license without a username ignores Basic credentials */
	CHECK_EQ(license_check(ls, "PREMIUM-KEY-02", "x", "y", &rank, &ed), 0);
	/* an edition outside the order authenticates with rank -1 */
	CHECK_EQ(license_check(ls, "GOLD-KEY-0003", "bob", "pw", &rank, &ed),
	    0);
	CHECK_EQ(rank, -1);

	/* whatever is wrong, the same answer */
	CHECK_EQ(license_check(ls, NULL, "alice", "pa:ss word", &rank, &ed),
	    -ENOENT);
	CHECK_EQ(license_check(ls, "BASIC-KEY-0001", "alice", "pa:ss wore",
	    &rank, &ed), -EACCES);
	CHECK_EQ(license_check(ls, "BASIC-KEY-0001", "alice", "", &rank, &ed),
	    -EACCES);
	CHECK_EQ(license_check(ls, "BASIC-KEY-0001", "alicf", "pa:ss word",
	    &rank, &ed), -EACCES);
	CHECK_EQ(license_check(ls, "BASIC-KEY-0001", "alic", "pa:ss word",
	    &rank, &ed), -EACCES);
	CHECK_EQ(license_check(ls, "BASIC-KEY-0001", "alice ", "pa:ss word",
	    &rank, &ed), -EACCES);
	CHECK_EQ(license_check(ls, "BASIC-KEY-0001", NULL, NULL, &rank, &ed),
	    -EACCES);
	CHECK_EQ(license_check(ls, "BASIC-KEY-0002", "alice", "pa:ss word",
	    &rank, &ed), -EACCES);
	CHECK_EQ(license_check(ls, "basic-key-0001", "alice", "pa:ss word",
	    &rank, &ed), -EACCES);
	CHECK_EQ(license_check(ls, "", NULL, NULL, &rank, &ed), -EACCES);
	/* one license's password does not open another */
	CHECK_EQ(license_check(ls, "GOLD-KEY-0003", "alice", "pa:ss word",
	    &rank, &ed), -EACCES);
	/* an empty set knows nobody */
	CHECK_EQ(license_check(NULL, "BASIC-KEY-0001", "alice", "pa:ss word",
	    &rank, &ed), -EACCES);
	CHECK_EQ(license_set_count(NULL), 0);
	license_set_free(ls);
	license_set_free(NULL);
	db_close(db);
}

/* An agent row with a fresh token, added to db; the token in tok. */
static int
add_agent(struct db *db, const char *id, const char *license_key,
    int licensed, char tok[MANIFEST_TOKEN_MAX + 1])
{
	struct db_agent	 a;

	memset(&a, 0, sizeof(a));
	snprintf(a.id, sizeof(a.id), "%s", id);
	snprintf(a.license_key, sizeof(a.license_key), "%s", license_key);
	snprintf(a.group, sizeof(a.group), "default");
	snprintf(a.hostname, sizeof(a.hostname), "h");
	a.licensed = licensed;
	a.enrolled = 1795341600;
	if (license_agent_token(tok, a.token_hash, a.notify_key) < 0)
		return -1;
	return db_agent_add(db, &a);
}

static void
test_agent_token(void)
{
	char		 t1[MANIFEST_TOKEN_MAX + 1], t2[MANIFEST_TOKEN_MAX + 1];
	unsigned char	 h1[CRYPTO_SHA256_LEN], n1[CRYPTO_SHA256_LEN];
	unsigned char	 h2[CRYPTO_SHA256_LEN], n2[CRYPTO_SHA256_LEN];
	unsigned char	 x[CRYPTO_SHA256_LEN];
	char		 auth[128];

	CHECK_EQ(license_agent_token(t1, h1, n1), 0);
	CHECK_EQ(license_agent_token(t2, h2, n2), 0);
	CHECK_EQ(strlen(t1), MANIFEST_TOKEN_MAX);
	CHECK_EQ(strspn(t1, "0123456789abcdef"), MANIFEST_TOKEN_MAX);
	CHECK(strcmp(t1, t2) != 0);
	/* the hashes are those of crypto_token_hash, and differ by label */
	CHECK_EQ(crypto_token_hash(CRYPTO_LABEL_TOKEN, t1, x), 0);
	CHECK(memcmp(x, h1, sizeof(x)) == 0);
	CHECK_EQ(crypto_token_hash(CRYPTO_LABEL_NOTIFY, t1, x), 0);
	CHECK(memcmp(x, n1, sizeof(x)) == 0);
	CHECK(memcmp(h1, n1, sizeof(h1)) != 0);
	CHECK(memcmp(h1, h2, sizeof(h1)) != 0);

	/* one stored hash against an Authorization value */
	snprintf(auth, sizeof(auth), "Bearer %s", t1);
	CHECK_EQ(license_check_token(h1, auth), 0);
	CHECK_EQ(license_check_token(h2, auth), -EACCES);
	CHECK_EQ(license_check_token(n1, auth), -EACCES);  /* not the notify key */
	CHECK_EQ(license_check_token(h1, t1), -EACCES);	/* no scheme */
	CHECK_EQ(license_check_token(h1, NULL), -ENOENT);
}

static void
test_check_agent(void)
{
	struct license_set	*ls = NULL;
	struct db		*db = NULL;
	struct conf		 c;
	char			 ta[MANIFEST_TOKEN_MAX + 1];
	char			 tb[MANIFEST_TOKEN_MAX + 1];
	char			 tc[MANIFEST_TOKEN_MAX + 1];
	char			 td[MANIFEST_TOKEN_MAX + 1];
	char			 auth[128], err[CONF_ERROR_MAX];
	size_t			 unranked;
	int			 rank = 99, licensed = 99;
	static const char	 conf_text[] =
	    "[editions]\norder = basic, business, premium\n";
	static const char	 ida[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
	static const char	 idb[] = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
	static const char	 idc[] = "cccccccccccccccccccccccccccccccc";
	static const char	 idd[] = "dddddddddddddddddddddddddddddddd";

	ls = three(&db, &unranked);
	CHECK(ls != NULL);
	if (ls == NULL)
		return;
	license_set_free(ls);
	ls = NULL;
	conf_defaults(&c);
	CHECK_EQ(conf_parse(&c, conf_text, strlen(conf_text), err), 0);
	CHECK_EQ(add_agent(db, ida, "PREMIUM-KEY-02", 1, ta), 0);
	CHECK_EQ(add_agent(db, idb, "BASIC-KEY-0001", 0, tb), 0);
	CHECK_EQ(add_agent(db, idc, "", 1, tc), 0);	/* enrolled open */
	CHECK_EQ(add_agent(db, idd, "GONE-KEY-0004", 1, td), 0);
	CHECK_EQ(license_set_load(db, &c, &ls, &unranked), 0);
	if (ls == NULL) {
		db_close(db);
		return;
	}
	CHECK_EQ(license_set_count(ls), 3);	/* agents are not licenses */
	CHECK_EQ(license_set_agent_count(ls), 4);

	snprintf(auth, sizeof(auth), "Bearer %s", ta);
	CHECK_EQ(license_check_agent(ls, ida, auth, &rank, &licensed), 0);
	CHECK_EQ(rank, 2);
	CHECK_EQ(licensed, 1);
	/* the scheme in any case, spaces around */
	snprintf(auth, sizeof(auth), "bearer   %s ", ta);
	CHECK_EQ(license_check_agent(ls, ida, auth, &rank, &licensed), 0);
	/* pending: known, with its state */
	snprintf(auth, sizeof(auth), "Bearer %s", tb);
	CHECK_EQ(license_check_agent(ls, idb, auth, &rank, &licensed), 0);
	CHECK_EQ(rank, 0);
	CHECK_EQ(licensed, 0);
	/* enrolled on an open server, now that there are licenses: nothing;
	 * and an agent whose license is gone: nothing either */
	snprintf(auth, sizeof(auth), "Bearer %s", tc);
	CHECK_EQ(license_check_agent(ls, idc, auth, &rank, &licensed), 0);
	CHECK_EQ(rank, -1);
	snprintf(auth, sizeof(auth), "Bearer %s", td);
	CHECK_EQ(license_check_agent(ls, idd, auth, &rank, &licensed), 0);
	CHECK_EQ(rank, -1);

	/* another agent's token, an unknown id: the same answer */
	snprintf(auth, sizeof(auth), "Bearer %s", tb);
	CHECK_EQ(license_check_agent(ls, ida, auth, &rank, &licensed),
	    -EACCES);
	CHECK_EQ(license_check_agent(ls, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee",
	    auth, &rank, &licensed), -EACCES);
	CHECK_EQ(license_check_agent(ls, "aaaa", auth, &rank, &licensed),
	    -EACCES);
	CHECK_EQ(license_check_agent(ls, "", auth, &rank, &licensed),
	    -EACCES);
	CHECK_EQ(license_check_agent(ls, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	    auth, &rank, &licensed), -EACCES);	/* too long */
	/* malformed */
	snprintf(auth, sizeof(auth), "Basic %s", ta);
	CHECK_EQ(license_check_agent(ls, ida, auth, &rank, &licensed),
	    -EACCES);
	snprintf(auth, sizeof(auth), "Bearer%s", ta);
	CHECK_EQ(license_check_agent(ls, ida, auth, &rank, &licensed),
	    -EACCES);
	snprintf(auth, sizeof(auth), "Bearer %.63s", ta);
	CHECK_EQ(license_check_agent(ls, ida, auth, &rank, &licensed),
	    -EACCES);
	snprintf(auth, sizeof(auth), "Bearer %s0", ta);
	CHECK_EQ(license_check_agent(ls, ida, auth, &rank, &licensed),
	    -EACCES);
	snprintf(auth, sizeof(auth), "Bearer %s x", ta);
	CHECK_EQ(license_check_agent(ls, ida, auth, &rank, &licensed),
	    -EACCES);
	CHECK_EQ(license_check_agent(ls, ida, "", &rank, &licensed), -EACCES);
	CHECK_EQ(license_check_agent(ls, ida, "Bearer ", &rank, &licensed),
	    -EACCES);
	/* upper-case hex is another token */
	snprintf(auth, sizeof(auth), "Bearer %s", ta);
	for (size_t i = 7; auth[i] != '\0'; i++)
		if (auth[i] >= 'a' && auth[i] <= 'f')
			auth[i] = (char)(auth[i] - 'a' + 'A');
	CHECK_EQ(license_check_agent(ls, ida, auth, &rank, &licensed),
	    -EACCES);
	/* missing credentials */
	snprintf(auth, sizeof(auth), "Bearer %s", ta);
	CHECK_EQ(license_check_agent(ls, NULL, auth, &rank, &licensed),
	    -ENOENT);
	CHECK_EQ(license_check_agent(ls, ida, NULL, &rank, &licensed),
	    -ENOENT);
	CHECK_EQ(license_check_agent(NULL, ida, auth, &rank, &licensed),
	    -EACCES);
	license_set_free(ls);
	ls = NULL;

	/* an open server: agents enrolled there rank above every edition */
	CHECK_EQ(db_license_remove(db, "BASIC-KEY-0001"), 0);
	CHECK_EQ(db_license_remove(db, "PREMIUM-KEY-02"), 0);
	CHECK_EQ(db_license_remove(db, "GOLD-KEY-0003"), 0);
	CHECK_EQ(license_set_load(db, &c, &ls, &unranked), 0);
	snprintf(auth, sizeof(auth), "Bearer %s", tc);
	CHECK_EQ(license_check_agent(ls, idc, auth, &rank, &licensed), 0);
	CHECK_EQ(rank, LICENSE_RANK_ALL);
	/* removed from the database, gone from a set loaded after */
	CHECK_EQ(db_agent_remove(db, idc), 0);
	license_set_free(ls);
	ls = NULL;
	CHECK_EQ(license_set_load(db, &c, &ls, &unranked), 0);
	CHECK_EQ(license_check_agent(ls, idc, auth, &rank, &licensed),
	    -EACCES);
	license_set_free(ls);
	db_close(db);
}

static void
test_check_key(void)
{
	struct license_set	*ls;
	struct db		*db = NULL;
	const char		*ed = NULL;
	size_t			 unranked;
	int			 rank = 99;

	ls = three(&db, &unranked);
	CHECK(ls != NULL);
	if (ls == NULL)
		return;
	/* the key alone, even of a license with a username */
	CHECK_EQ(license_check_key(ls, "BASIC-KEY-0001", &rank, &ed), 0);
	CHECK_EQ(rank, 0);
	CHECK(ed != NULL && strcmp(ed, "basic") == 0);
	CHECK_EQ(license_check_key(ls, "PREMIUM-KEY-02", &rank, &ed), 0);
	CHECK_EQ(rank, 2);
	CHECK_EQ(license_check_key(ls, "BASIC-KEY-0002", &rank, &ed), -EACCES);
	CHECK_EQ(license_check_key(ls, "", &rank, &ed), -ENOENT);
	CHECK_EQ(license_check_key(ls, NULL, &rank, &ed), -ENOENT);
	CHECK_EQ(license_check_key(NULL, "BASIC-KEY-0001", &rank, &ed),
	    -EACCES);
	license_set_free(ls);
	db_close(db);
}

int
main(void)
{
	if (check_tmpdir_init("test_license") < 0)
		return 1;
	RUN(test_valid_key);
	RUN(test_valid_username);
	RUN(test_mask);
	RUN(test_make);
	RUN(test_check);
	RUN(test_agent_token);
	RUN(test_check_agent);
	RUN(test_check_key);
	check_rm_rf(check_tmpdir);
	return check_end();
}
