#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto.h"
#include "license.h"
#include "banned.h"

/* One license, as the server holds it: no secret in clear. */
struct license_entry {
	unsigned char	 key_hash[CRYPTO_SHA256_LEN];	/* sort key */
	char		 user[LICENSE_USERNAME_MAX + 1];	/* zero-padded */
	int		 named;		/* has a username and password */
	unsigned char	 salt[DB_LICENSE_SALT_LEN];
	unsigned char	 pass_hash[CRYPTO_SHA256_LEN];
	int		 rank;		/* -1: edition not in the order */
	char		 edition[MANIFEST_NAME_MAX + 1];
};

/* One agent, as the server holds it: its id and the hash of its token. */
struct license_agent {
	char		 id[MANIFEST_AGENT_ID_MAX + 1];	/* sort key */
	unsigned char	 token_hash[CRYPTO_SHA256_LEN];
	int		 licensed;
	int		 rank;
};

struct license_set {
	struct license_entry	*e;	/* by key_hash */
	size_t			 n;
	struct license_agent	*a;	/* by id */
	size_t			 na;
};

int
license_valid_key(const char *key)
{
	size_t	 n = strlen(key);

	return n >= LICENSE_KEY_MIN && n <= LICENSE_KEY_MAX &&
	    strspn(key, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._~+/=-") == n;
}

int
license_valid_username(const char *user)
{
	size_t	 n = strlen(user), i;

	if (n == 0 || n > LICENSE_USERNAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if (user[i] <= ' ' || user[i] > '~' || user[i] == ':')
			return 0;
	return 1;
}

void
license_mask(const char *key, char out[LICENSE_MASK_MAX])
{
	size_t	 n = strlen(key);

	if (n >= 12)
		snprintf(out, LICENSE_MASK_MAX, "%.4s\xe2\x80\xa6%s", key,
		    key + n - 4);
	else
		snprintf(out, LICENSE_MASK_MAX, "%.4s\xe2\x80\xa6", key);
}

/* SHA-256(salt || password) */
static int
license_hash_password(const unsigned char salt[DB_LICENSE_SALT_LEN],
    const char *pass, size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
	struct crypto_sha256	 h;
	int			 r;

	r = crypto_sha256_init(&h);
	if (r < 0)
		return r;
	r = crypto_sha256_update(&h, salt, DB_LICENSE_SALT_LEN);
	if (r == 0)
		r = crypto_sha256_update(&h, pass, len);
	if (r == 0)
		return crypto_sha256_final(&h, out);
	crypto_sha256_release(&h);
	return r;
}

int
license_make(struct db_license *l, const char *key, const char *edition,
    const char *username, const char *password, char *err, size_t errsize)
{
	size_t	 plen;
	int	 r;

	memset(l, 0, sizeof(*l));
	if (!license_valid_key(key)) {
		snprintf(err, errsize, "a license key is %d to %d characters "
		    "of A-Z a-z 0-9 . _ ~ + / = -", LICENSE_KEY_MIN,
		    LICENSE_KEY_MAX);
		return -EINVAL;
	}
	if (edition == NULL || !conf_valid_name(edition, 0)) {
		snprintf(err, errsize, "an edition name is [a-z0-9][a-z0-9._-]*");
		return -EINVAL;
	}
	if ((username == NULL) != (password == NULL)) {
		snprintf(err, errsize, "a username needs a password, and a "
		    "password a username");
		return -EINVAL;
	}
	snprintf(l->key, sizeof(l->key), "%s", key);
	snprintf(l->edition, sizeof(l->edition), "%s", edition);
	l->created = (int64_t)time(NULL);
	if (username == NULL)
		return 0;
	if (!license_valid_username(username)) {
		snprintf(err, errsize, "a username is 1 to %d printable "
		    "characters, without ':' or spaces", LICENSE_USERNAME_MAX);
		return -EINVAL;
	}
	plen = strlen(password);
	if (plen == 0 || plen > LICENSE_PASSWORD_MAX) {
		snprintf(err, errsize, "a password is 1 to %d bytes",
		    LICENSE_PASSWORD_MAX);
		return -EINVAL;
	}
	snprintf(l->username, sizeof(l->username), "%s", username);
	r = crypto_random(l->salt, sizeof(l->salt));
	if (r == 0)
		r = license_hash_password(l->salt, password, plen, l->hash);
	if (r < 0) {
		snprintf(err, errsize, "cannot hash the password");
		return -EIO;
	}
	return 0;
}

static int
license_entry_cmp(const void *a, const void *b)
{
	const struct license_entry *x = a, *y = b;

	return memcmp(x->key_hash, y->key_hash, sizeof(x->key_hash));
}

static int
license_agent_cmp(const void *a, const void *b)
{
	const struct license_agent *x = a, *y = b;

	return strcmp(x->id, y->id);
}

static int
license_key_cmp(const void *key, const void *l)
{
	return strcmp(key, ((const struct db_license *)l)->key);
}

/* The agents of db into ls, each ranked by the license it enrolled with
 * (l, n: every license, by key). */
static int
license_set_load_agents(struct license_set *ls, struct db *db,
    const struct conf *c, const struct db_license *l, size_t n)
{
	struct db_agent		*ag = NULL;
	const struct db_license	*lic;
	size_t			 na = 0, i;
	int			 r;

	r = db_agents_brief(db, &ag, &na);
	if (r < 0)
		return r;
	if (na > 0 && (ls->a = calloc(na, sizeof(*ls->a))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	for (i = 0; i < na; i++) {
		struct license_agent *e = &ls->a[i];

		memcpy(e->id, ag[i].id, strlen(ag[i].id));
		memcpy(e->token_hash, ag[i].token_hash, sizeof(e->token_hash));
		e->licensed = ag[i].licensed;
		if (ag[i].license_key[0] == '\0')
			/* enrolled while the server was open: everything
			 * while it still is, nothing once it is not */
			e->rank = n == 0 ? LICENSE_RANK_ALL : -1;
		else {
			lic = n == 0 ? NULL : bsearch(ag[i].license_key, l, n,
			    sizeof(*l), license_key_cmp);
			e->rank = lic == NULL ? -1 :
			    conf_edition_rank(c, lic->edition);
		}
	}
	ls->na = na;
	if (na > 0)
		qsort(ls->a, na, sizeof(*ls->a), license_agent_cmp);
out:
	if (ag != NULL)
		crypto_wipe(ag, na * sizeof(*ag));
	free(ag);
	return r;
}

int
license_set_load(struct db *db, const struct conf *c,
    struct license_set **ret_ls, size_t *ret_unranked)
{
	struct db_license	*l = NULL;
	struct license_set	*ls;
	size_t			 n = 0, i, unranked = 0;
	int			 r;

	r = db_licenses(db, &l, &n);
	if (r < 0)
		return r;
	ls = calloc(1, sizeof(*ls));
	if (ls == NULL || (n > 0 &&
	    (ls->e = calloc(n, sizeof(*ls->e))) == NULL)) {
		r = -ENOMEM;
		goto out;
	}
	r = license_set_load_agents(ls, db, c, l, n);
	if (r < 0)
		goto out;
	for (i = 0; i < n; i++) {
		struct license_entry *e = &ls->e[i];

		r = crypto_sha256(l[i].key, strlen(l[i].key), e->key_hash);
		if (r < 0)
			goto out;
		e->named = l[i].username[0] != '\0';
		memcpy(e->user, l[i].username, strlen(l[i].username));
		memcpy(e->salt, l[i].salt, sizeof(e->salt));
		memcpy(e->pass_hash, l[i].hash, sizeof(e->pass_hash));
		snprintf(e->edition, sizeof(e->edition), "%s", l[i].edition);
		e->rank = conf_edition_rank(c, l[i].edition);
		if (e->rank < 0)
			unranked++;
	}
	ls->n = n;
	if (n > 0)
		qsort(ls->e, n, sizeof(*ls->e), license_entry_cmp);
	*ret_ls = ls;
	*ret_unranked = unranked;
	ls = NULL;
	r = 0;
out:
	license_set_free(ls);
	if (l != NULL)
		crypto_wipe(l, n * sizeof(*l));
	free(l);
	return r;
}

void
license_set_free(struct license_set *ls)
{
	if (ls == NULL)
		return;
	if (ls->e != NULL)
		crypto_wipe(ls->e, ls->n * sizeof(*ls->e));
	free(ls->e);
	if (ls->a != NULL)
		crypto_wipe(ls->a, ls->na * sizeof(*ls->a));
	free(ls->a);
	free(ls);
}

size_t
license_set_count(const struct license_set *ls)
{
	return ls == NULL ? 0 : ls->n;
}

size_t
license_set_agent_count(const struct license_set *ls)
{
	return ls == NULL ? 0 : ls->na;
}

int
license_check(const struct license_set *ls, const char *key,
    const char *user, const char *pass, int *ret_rank,
    const char **ret_edition)
{
	static const struct license_entry nobody;	/* matches nothing */
	const struct license_entry	*e;
	struct license_entry		 probe;
	unsigned char			 ph[CRYPTO_SHA256_LEN];
	char				 ubuf[LICENSE_USERNAME_MAX + 1];
	size_t				 ulen, plen;
	int				 ok;

	if (key == NULL)
		return -ENOENT;
	/* found by the hash of the key: the search's timing tells nothing
	 * about the keys themselves */
	memset(&probe, 0, sizeof(probe));
	if (crypto_sha256(key, strlen(key), probe.key_hash) < 0)
		return -EACCES;
	e = ls == NULL || ls->n == 0 ? NULL : bsearch(&probe, ls->e, ls->n,
	    sizeof(*ls->e), license_entry_cmp);
	ok = e != NULL;
	if (e == NULL)
		e = &nobody;
	ok &= crypto_memeq(e->key_hash, probe.key_hash,
	    sizeof(probe.key_hash));
	if (e->named || e == &nobody) {
		/* the same work whatever is wrong */
		memset(ubuf, 0, sizeof(ubuf));
		ulen = user != NULL ? strlen(user) : 0;
		if (ulen <= LICENSE_USERNAME_MAX && user != NULL)
			memcpy(ubuf, user, ulen);
		ok &= user != NULL && pass != NULL &&
		    ulen <= LICENSE_USERNAME_MAX;
		ok &= crypto_memeq(ubuf, e->user, sizeof(ubuf));
		plen = pass != NULL ? strlen(pass) : 0;
		if (license_hash_password(e->salt, pass != NULL ? pass : "",
		    plen, ph) < 0)
			ok = 0;
		ok &= crypto_memeq(ph, e->pass_hash, sizeof(ph));
		crypto_wipe(ph, sizeof(ph));
		crypto_wipe(ubuf, sizeof(ubuf));
	}
	if (!ok || e == &nobody)
		return -EACCES;
	*ret_rank = e->rank;
	*ret_edition = e->edition;
	return 0;
}

int
license_check_key(const struct license_set *ls, const char *key,
    int *ret_rank, const char **ret_edition)
{
	static const struct license_entry nobody;	/* matches nothing */
	const struct license_entry	*e;
	struct license_entry		 probe;
	int				 ok;

	if (key == NULL || key[0] == '\0')
		return -ENOENT;
	memset(&probe, 0, sizeof(probe));
	if (crypto_sha256(key, strlen(key), probe.key_hash) < 0)
		return -EACCES;
	e = ls == NULL || ls->n == 0 ? NULL : bsearch(&probe, ls->e, ls->n,
	    sizeof(*ls->e), license_entry_cmp);
	ok = e != NULL;
	if (e == NULL)
		e = &nobody;
	ok &= crypto_memeq(e->key_hash, probe.key_hash,
	    sizeof(probe.key_hash));
	if (!ok || e == &nobody)
		return -EACCES;
	*ret_rank = e->rank;
	*ret_edition = e->edition;
	return 0;
}

/* The token of "Bearer TOKEN" (the scheme in any case, RFC 9110 section
 * 11.1), copied into tok: 0, or -EACCES when the value is not that. */
static int
license_bearer(const char *h, char tok[MANIFEST_TOKEN_MAX + 1])
{
	size_t	 n;

	if (strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
		return -EACCES;
	h += 6;
	h += strspn(h, " \t");
	n = strspn(h, "0123456789abcdef");
	if (n != MANIFEST_TOKEN_MAX || h[n + strspn(h + n, " \t")] != '\0')
		return -EACCES;
	memcpy(tok, h, n);
	tok[n] = '\0';
	return 0;
}

int
license_check_token(const unsigned char token_hash[CRYPTO_SHA256_LEN],
    const char *authorization)
{
	unsigned char	 h[CRYPTO_SHA256_LEN];
	char		 tok[MANIFEST_TOKEN_MAX + 1];
	int		 ok;

	if (authorization == NULL)
		return -ENOENT;
	if (license_bearer(authorization, tok) < 0)
		return -EACCES;
	ok = crypto_token_hash(CRYPTO_LABEL_TOKEN, tok, h) == 0;
	ok &= crypto_memeq(h, token_hash, sizeof(h));
	crypto_wipe(tok, sizeof(tok));
	crypto_wipe(h, sizeof(h));
	return ok ? 0 : -EACCES;
}

int
license_check_agent(const struct license_set *ls, const char *id,
    const char *authorization, int *ret_rank, int *ret_licensed)
{
	static const struct license_agent nobody;	/* matches nothing */
	const struct license_agent	*e = NULL;
	struct license_agent		 probe;
	int				 ok;

	if (id == NULL || authorization == NULL)
		return -ENOENT;
	memset(&probe, 0, sizeof(probe));
	if (strlen(id) <= MANIFEST_AGENT_ID_MAX && ls != NULL && ls->na > 0) {
		memcpy(probe.id, id, strlen(id));
		e = bsearch(&probe, ls->a, ls->na, sizeof(*ls->a),
		    license_agent_cmp);
	}
	ok = e != NULL;
	if (e == NULL)
		e = &nobody;
	/* the same work for an unknown id as for a wrong token */
	ok &= license_check_token(e->token_hash, authorization) == 0;
	if (!ok || e == &nobody)
		return -EACCES;
	*ret_rank = e->rank;
	*ret_licensed = e->licensed;
	return 0;
}

int
license_agent_token(char token[MANIFEST_TOKEN_MAX + 1],
    unsigned char token_hash[CRYPTO_SHA256_LEN],
    unsigned char notify_key[CRYPTO_SHA256_LEN])
{
	unsigned char	 raw[MANIFEST_TOKEN_MAX / 2];
	char		 t[MANIFEST_TOKEN_MAX + 1];
	int		 r;

	r = crypto_random(raw, sizeof(raw));
	if (r < 0)
		return -EIO;
	crypto_hex(raw, sizeof(raw), t);
	crypto_wipe(raw, sizeof(raw));
	r = crypto_token_hash(CRYPTO_LABEL_TOKEN, t, token_hash);
	if (r == 0)
		r = crypto_token_hash(CRYPTO_LABEL_NOTIFY, t, notify_key);
	if (r == 0)
		memcpy(token, t, sizeof(t));
	crypto_wipe(t, sizeof(t));
	return r < 0 ? -EIO : 0;
}
