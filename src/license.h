/*
 * license: who may download what. Licenses are rows of the state
 * database (db.h): a key, an edition, and optionally a username and the
 * salted hash of a password. This module makes them (checking every
 * field) and, for the server, holds an immutable in-memory set of them
 * that any number of threads may check requests against at once.
 *
 * A request names its license with the key in an X-Cascade-License
 * header and, when the license has a username, HTTP Basic credentials.
 * Checks take the same time whichever part is wrong, and secrets are
 * never kept in clear: the set holds SHA-256 of each key and the salted
 * hash of each password.
 */
#ifndef LICENSE_H
#define LICENSE_H

#include <limits.h>
#include <stddef.h>

#include "conf.h"
#include "db.h"

#define LICENSE_KEY_MIN		8
#define LICENSE_KEY_MAX		DB_LICENSE_KEY_MAX
#define LICENSE_USERNAME_MAX	DB_LICENSE_USERNAME_MAX
#define LICENSE_PASSWORD_MAX	256
#define LICENSE_MASK_MAX	16	/* "ABCD…WXYZ" and a NUL */

/* 1 if key is LICENSE_KEY_MIN to LICENSE_KEY_MAX characters of
 * [A-Za-z0-9._~+/=-], else 0. */
int	 license_valid_key(const char *key);
/* 1 if user is 1 to LICENSE_USERNAME_MAX printable ASCII characters
 * without ':' or space, else 0. */
int	 license_valid_username(const char *user);
/* The key as it may be shown: its first 4 characters, "…", and its last
 * 4 when it has 12 or more. */
void	 license_mask(const char *key, char out[LICENSE_MASK_MAX]);

/* Fills l for a new license: checks the key, the edition name, and
 * username and password (both or neither; the password 1 to
 * LICENSE_PASSWORD_MAX bytes), draws a salt and hashes the password.
 * The edition's place in the order is the caller's to check.
 * 0, -EINVAL (with what is wrong in err), -EIO (no randomness). */
int	 license_make(struct db_license *l, const char *key,
	    const char *edition, const char *username, const char *password,
	    char *err, size_t errsize);

struct license_set;

/* Loads every license of db, ranking each edition in c's order (a
 * license whose edition is not in the order gets rank -1: it may
 * authenticate but receives no object). *ret_unranked counts those.
 * 0, -ENOMEM, or db's errors. */
int	 license_set_load(struct db *db, const struct conf *c,
	    struct license_set **ret_ls, size_t *ret_unranked);
void	 license_set_free(struct license_set *ls);	/* NULL-safe */
size_t	 license_set_count(const struct license_set *ls);	/* 0 for NULL */
/* Agents in the set; they do not count as licenses. 0 for NULL. */
size_t	 license_set_agent_count(const struct license_set *ls);

/* The license a request names. key (NULL: the header is missing), user
 * and pass (NULL: no HTTP Basic) come from the request. On success
 * *ret_rank gets the license's edition rank and *ret_edition its name
 * (valid as long as ls). 0, -ENOENT (no key given), -EACCES (the key,
 * username or password is wrong; which one is not said). */
int	 license_check(const struct license_set *ls, const char *key,
	    const char *user, const char *pass, int *ret_rank,
	    const char **ret_edition);

/* An enrolment key: a license key alone (an agent is not asked for the
 * license's username and password; its own token stands in for them
 * afterwards). 0 (ret_* as license_check), -ENOENT (no key or ""),
 * -EACCES (no such license). */
int	 license_check_key(const struct license_set *ls, const char *key,
	    int *ret_rank, const char **ret_edition);

/*
 * Agents. The set also holds every agent's id, token hash, state and the
 * edition rank of the license it enrolled with (agents enrolled on an
 * open server rank LICENSE_RANK_ALL, above every edition, while there
 * are no licenses, and -1 once there are; so does an agent whose
 * license was removed). An agent names itself with its id in an
 * X-Cascade-Agent header and its token as "Authorization: Bearer TOKEN"
 * (64 lower-case hex). 0 (ret_* filled; *ret_licensed 0 for a pending
 * agent), -ENOENT (no id or no Authorization given), -EACCES (unknown
 * id, wrong token or a malformed Authorization; which is not said).
 */
#define LICENSE_RANK_ALL	INT_MAX
int	 license_check_agent(const struct license_set *ls, const char *id,
	    const char *authorization, int *ret_rank, int *ret_licensed);
/* An Authorization value against one stored token hash (an agent's row
 * in the database, fresher than a loaded set). 0, -ENOENT (NULL),
 * -EACCES (wrong or malformed). */
int	 license_check_token(const unsigned char token_hash[CRYPTO_SHA256_LEN],
	    const char *authorization);
/* A new agent token (64 hex) and its hashes as db_agent stores them
 * (crypto_token_hash with CRYPTO_LABEL_TOKEN and CRYPTO_LABEL_NOTIFY).
 * 0, -EIO. */
int	 license_agent_token(char token[MANIFEST_TOKEN_MAX + 1],
	    unsigned char token_hash[CRYPTO_SHA256_LEN],
	    unsigned char notify_key[CRYPTO_SHA256_LEN]);

#endif
