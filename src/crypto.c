/*
 * crypto: thin wrappers over OpenSSL and libsodium; see crypto.h.
 * Every error of either library is mapped to -EIO (or -ENOMEM where the
 * library can only fail for lack of memory) before it leaves this file.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sodium.h>

#include "crypto.h"
#include "banned.h"

#define SHA256_FD_CHUNK	(256 * 1024)	/* bytes read per read(2) */
#define INT_CHUNK	(1 << 30)	/* OpenSSL length arguments are int */

/* ---- SHA-256 ---------------------------------------------------------- */

int
crypto_sha256_init(struct crypto_sha256 *h)
{
	EVP_MD_CTX	*ctx;

	h->ctx = NULL;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -ENOMEM;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -ENOMEM;
	}
	h->ctx = ctx;
	return 0;
}

int
crypto_sha256_update(struct crypto_sha256 *h, const void *p, size_t n)
{
	if (h->ctx == NULL)
		return -EIO;
	if (n == 0)
		return 0;
	if (EVP_DigestUpdate(h->ctx, p, n) != 1)
		return -EIO;
	return 0;
}

int
crypto_sha256_final(struct crypto_sha256 *h,
    unsigned char out[CRYPTO_SHA256_LEN])
{
	unsigned int	 len = 0;
	int		 r = 0;

	if (h->ctx == NULL)
		return -EIO;
	if (EVP_DigestFinal_ex(h->ctx, out, &len) != 1 ||
	    len != CRYPTO_SHA256_LEN)
		r = -EIO;
	crypto_sha256_release(h);
	return r;
}

void
crypto_sha256_release(struct crypto_sha256 *h)
{
	if (h == NULL)
		return;
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int
crypto_sha256(const void *p, size_t n, unsigned char out[CRYPTO_SHA256_LEN])
{
	struct crypto_sha256	 h;
	int			 r;

	r = crypto_sha256_init(&h);
	if (r < 0)
		return r;
	r = crypto_sha256_update(&h, p, n);
	if (r < 0) {
		crypto_sha256_release(&h);
		return r;
	}
	return crypto_sha256_final(&h, out);
}

int
crypto_sha256_fd(int fd, unsigned char out[CRYPTO_SHA256_LEN],
    uint64_t *ret_size)
{
	struct crypto_sha256	 h;
	unsigned char		*chunk;
	uint64_t		 size = 0;
	ssize_t			 got;
	int			 r;

	chunk = malloc(SHA256_FD_CHUNK);
	if (chunk == NULL)
		return -ENOMEM;
	r = crypto_sha256_init(&h);
	if (r < 0)
		goto out_free;
	for (;;) {
		got = read(fd, chunk, SHA256_FD_CHUNK);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out_release;
		}
		if (got == 0)
			break;
		r = crypto_sha256_update(&h, chunk, (size_t)got);
		if (r < 0)
			goto out_release;
		size += (uint64_t)got;
	}
	r = crypto_sha256_final(&h, out);	/* releases h */
	if (r < 0)
		goto out_free;
	if (ret_size != NULL)
		*ret_size = size;
	goto out_free;
out_release:
	crypto_sha256_release(&h);
out_free:
	free(chunk);
	return r;
}

/* ---- hex ---------------------------------------------------------------- */

void
crypto_hex(const unsigned char *p, size_t n, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0x0f];
	}
	out[2 * n] = '\0';
}

/* The value of one hex digit, or -1. */
static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
crypto_unhex(const char *hex, size_t hexlen, unsigned char *out, size_t n)
{
	size_t	 i;
	int	 hi, lo;

	if (n > SIZE_MAX / 2 || hexlen != 2 * n)
		return -EBADMSG;
	/* Validate first: out is written only on success. */
	for (i = 0; i < hexlen; i++)
		if (hex_value(hex[i]) < 0)
			return -EBADMSG;
	for (i = 0; i < n; i++) {
		hi = hex_value(hex[2 * i]);
		lo = hex_value(hex[2 * i + 1]);
		out[i] = (unsigned char)((hi << 4) | lo);
	}
	return 0;
}

int
crypto_is_sha256_hex(const char *s, size_t len)
{
	size_t	 i;

	if (s == NULL || len != 2 * CRYPTO_SHA256_LEN)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- base64 ------------------------------------------------------------- */

size_t
crypto_base64_encode(const void *p, size_t n, char *out)
{
	const unsigned char	*in = p;
	size_t			 done = 0, chunk, total = 0;
	int			 w;

	/* A chunk that is a multiple of 3 encodes without padding, so the
	 * pieces concatenate into one valid text. */
	while (done < n) {
		chunk = n - done;
		if (chunk > (size_t)INT_CHUNK / 4 * 3)
			chunk = (size_t)INT_CHUNK / 4 * 3;
		w = EVP_EncodeBlock((unsigned char *)out + total, in + done,
		    (int)chunk);
		total += (size_t)w;
		done += chunk;
	}
	out[total] = '\0';
	return total;
}

/* 1 if c is in the standard base64 alphabet (padding excluded). */
static int
b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* The 6-bit value of an alphabet character. */
static unsigned int
b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned int)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (unsigned int)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (unsigned int)(c - '0' + 52);
	return c == '+' ? 62u : 63u;
}

/*
 * EVP_DecodeBlock() skips white space, ignores non-zero padding bits and
 * always writes three bytes per group; so the text is checked here to be
 * canonical base64 first, and the last group goes through a scratch buffer.
 */
int
crypto_base64_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outmax, size_t *ret_len)
{
	unsigned char	 last[3];
	size_t		 i, pad = 0, groups, declen, bulk, done, chunk;
	int		 r = 0;

	if (inlen % 4 != 0)
		return -EBADMSG;
	if (inlen == 0) {
		*ret_len = 0;
		return 0;
	}
	if (in[inlen - 1] == '=') {
		pad = 1;
		if (in[inlen - 2] == '=')
			pad = 2;
	}
	for (i = 0; i < inlen - pad; i++)
		if (!b64_char(in[i]))
			return -EBADMSG;
	/* Unused bits of the last character must be zero. */
	if (pad == 1 && (b64_value(in[inlen - 2]) & 0x03) != 0)
		return -EBADMSG;
	if (pad == 2 && (b64_value(in[inlen - 3]) & 0x0f) != 0)
		return -EBADMSG;

	groups = inlen / 4;
	declen = groups * 3 - pad;
	if (declen > outmax)
		return -E2BIG;

	/* All groups but the last yield exactly three bytes each. */
	bulk = (groups - 1) * 4;
	for (done = 0; done < bulk; done += chunk) {
		chunk = bulk - done;
		if (chunk > (size_t)INT_CHUNK)
			chunk = (size_t)INT_CHUNK;
		if (EVP_DecodeBlock(out + done / 4 * 3,
		    (const unsigned char *)in + done, (int)chunk) !=
		    (int)(chunk / 4 * 3)) {
			r = -EBADMSG;
			goto out;
		}
	}
	if (EVP_DecodeBlock(last, (const unsigned char *)in + bulk, 4) != 3) {
		r = -EBADMSG;
		goto out;
	}
	memcpy(out + bulk / 4 * 3, last, 3 - pad);
	*ret_len = declen;
out:
	OPENSSL_cleanse(last, sizeof(last));	/* may be key material */
	return r;
}

/* ---- Ed25519 ------------------------------------------------------------ */

int
crypto_ed25519_public(const unsigned char seed[CRYPTO_ED25519_SEED_LEN],
    unsigned char pk[CRYPTO_ED25519_PK_LEN])
{
	EVP_PKEY	*key;
	size_t		 len = CRYPTO_ED25519_PK_LEN;
	int		 r = 0;

	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    CRYPTO_ED25519_SEED_LEN);
	if (key == NULL)
		return -EIO;
	if (EVP_PKEY_get_raw_public_key(key, pk, &len) != 1 ||
	    len != CRYPTO_ED25519_PK_LEN)
		r = -EIO;
	EVP_PKEY_free(key);
	return r;
}

int
crypto_ed25519_keygen(unsigned char seed[CRYPTO_ED25519_SEED_LEN],
    unsigned char pk[CRYPTO_ED25519_PK_LEN])
{
	unsigned char	 s[CRYPTO_ED25519_SEED_LEN];
	int		 r;

	r = crypto_random(s, sizeof(s));
	if (r < 0)
		goto out;
	r = crypto_ed25519_public(s, pk);
	if (r < 0)
		goto out;
	memcpy(seed, s, sizeof(s));
out:
	crypto_wipe(s, sizeof(s));
	return r;
}

int
crypto_ed25519_sign(const unsigned char seed[CRYPTO_ED25519_SEED_LEN],
    const void *m, size_t n, unsigned char sig[CRYPTO_ED25519_SIG_LEN])
{
	EVP_PKEY	*key;
	EVP_MD_CTX	*ctx = NULL;
	size_t		 len = CRYPTO_ED25519_SIG_LEN;
	int		 r = -EIO;

	if (m == NULL)
		m = "";		/* n == 0; OpenSSL wants a pointer */
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed,
	    CRYPTO_ED25519_SEED_LEN);
	if (key == NULL)
		return -EIO;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto out;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1)
		goto out;
	if (EVP_DigestSign(ctx, sig, &len, m, n) != 1 ||
	    len != CRYPTO_ED25519_SIG_LEN)
		goto out;
	r = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return r;
}

int
crypto_ed25519_verify(const unsigned char pk[CRYPTO_ED25519_PK_LEN],
    const void *m, size_t n, const unsigned char sig[CRYPTO_ED25519_SIG_LEN])
{
	EVP_PKEY	*key;
	EVP_MD_CTX	*ctx = NULL;
	int		 r = -EPERM;

	if (m == NULL)
		m = "";
	key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pk,
	    CRYPTO_ED25519_PK_LEN);
	if (key == NULL)
		return -EPERM;
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
		goto out;
	if (EVP_DigestVerify(ctx, sig, CRYPTO_ED25519_SIG_LEN, m, n) == 1)
		r = 0;
out:
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(key);
	return r;
}

/* ---- BLAKE2b ------------------------------------------------------------ */

int
crypto_blake2b512(const void *p, size_t n,
    unsigned char out[CRYPTO_BLAKE2B512_LEN])
{
	unsigned int	 len = 0;

	if (p == NULL)
		p = "";
	if (EVP_Digest(p, n, out, &len, EVP_blake2b512(), NULL) != 1 ||
	    len != CRYPTO_BLAKE2B512_LEN)
		return -EIO;
	return 0;
}

static pthread_once_t	 sodium_once = PTHREAD_ONCE_INIT;
static int		 sodium_ok;

static void
sodium_setup(void)
{
	sodium_ok = sodium_init() >= 0;
}

int
crypto_blake2b256(const void *p, size_t n,
    unsigned char out[CRYPTO_BLAKE2B256_LEN])
{
	if (pthread_once(&sodium_once, sodium_setup) != 0 || !sodium_ok)
		return -EIO;
	if (p == NULL)
		p = "";
	if (crypto_generichash(out, CRYPTO_BLAKE2B256_LEN, p,
	    (unsigned long long)n, NULL, 0) != 0)
		return -EIO;
	return 0;
}

/* ---- misc --------------------------------------------------------------- */

uint64_t
crypto_random_uniform(uint64_t n)
{
	uint64_t	 x, limit;

	if (n == 0)
		return 0;
	/* rejection keeps it uniform: no modulo bias */
	limit = UINT64_MAX - UINT64_MAX % n;
	do {
		if (crypto_random(&x, sizeof(x)) < 0)
			return 0;
	} while (x >= limit);
	return x % n;
}

int
crypto_token_hash(const char *label, const char *token,
    unsigned char out[CRYPTO_SHA256_LEN])
{
	struct crypto_sha256	 h;
	int			 r;

	r = crypto_sha256_init(&h);
	if (r < 0)
		return r;
	r = crypto_sha256_update(&h, label, strlen(label) + 1);
	if (r == 0)
		r = crypto_sha256_update(&h, token, strlen(token));
	if (r == 0)
		r = crypto_sha256_final(&h, out);
	crypto_sha256_release(&h);
	return r;
}

int
crypto_random(void *p, size_t n)
{
	unsigned char	*q = p;
	size_t		 chunk;

	while (n > 0) {
		chunk = n > (size_t)INT_CHUNK ? (size_t)INT_CHUNK : n;
		if (RAND_bytes(q, (int)chunk) != 1)
			return -EIO;
		q += chunk;
		n -= chunk;
	}
	return 0;
}

int
crypto_memeq(const void *a, const void *b, size_t n)
{
	if (n == 0)
		return 1;
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
crypto_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}
