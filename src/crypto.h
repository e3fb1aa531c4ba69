/*
 * crypto: hashes, signatures, randomness and encodings.
 * The only module that includes OpenSSL (SHA-256, Ed25519, BLAKE2b-512,
 * base64, randomness) and libsodium (keyless BLAKE2b-256, which minisign's
 * secret-key checksum needs and OpenSSL 3.0 cannot compute). No error code
 * of either library leaves this module.
 */
#ifndef CRYPTO_H
#define CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define CRYPTO_SHA256_LEN	32
#define CRYPTO_SHA256_HEX	65	/* 64 hex digits and a NUL */
#define CRYPTO_ED25519_PK_LEN	32
#define CRYPTO_ED25519_SEED_LEN	32
#define CRYPTO_ED25519_SIG_LEN	64
#define CRYPTO_BLAKE2B512_LEN	64
#define CRYPTO_BLAKE2B256_LEN	32

/* Incremental SHA-256. _init allocates; _final and _release free. */
struct crypto_sha256 {
	void	*ctx;	/* private */
};

int	 crypto_sha256_init(struct crypto_sha256 *h);	/* 0, -ENOMEM */
int	 crypto_sha256_update(struct crypto_sha256 *h, const void *p,
	    size_t n);					/* 0, -EIO */
int	 crypto_sha256_final(struct crypto_sha256 *h,
	    unsigned char out[CRYPTO_SHA256_LEN]);	/* 0, -EIO */
void	 crypto_sha256_release(struct crypto_sha256 *h); /* NULL-safe */
int	 crypto_sha256(const void *p, size_t n,
	    unsigned char out[CRYPTO_SHA256_LEN]);
/* Hashes fd from its current offset to EOF, streaming; *ret_size gets the
 * number of bytes read. 0 or -errno. */
int	 crypto_sha256_fd(int fd, unsigned char out[CRYPTO_SHA256_LEN],
	    uint64_t *ret_size);

/* Lower-case hex; out holds 2n+1 bytes. */
void	 crypto_hex(const unsigned char *p, size_t n, char *out);
/* Exactly 2n hex digits (either case) to n bytes. 0 or -EBADMSG. */
int	 crypto_unhex(const char *hex, size_t hexlen, unsigned char *out,
	    size_t n);
/* 1 if s[0..len) is exactly 64 lower-case hex digits, else 0. */
int	 crypto_is_sha256_hex(const char *s, size_t len);

/* Standard base64 with padding, NUL-terminated; out holds 4*ceil(n/3)+1. */
size_t	 crypto_base64_encode(const void *p, size_t n, char *out);
/* Decodes exactly one base64 text (no whitespace inside) of inlen bytes
 * into out (room for outmax); *ret_len the decoded length.
 * 0, -EBADMSG, -E2BIG. */
int	 crypto_base64_decode(const char *in, size_t inlen, unsigned char *out,
	    size_t outmax, size_t *ret_len);

/* Ed25519 (RFC 8032, pure). seed is the 32-byte private key. */
int	 crypto_ed25519_keygen(unsigned char seed[CRYPTO_ED25519_SEED_LEN],
	    unsigned char pk[CRYPTO_ED25519_PK_LEN]);	/* 0, -EIO */
int	 crypto_ed25519_public(const unsigned char seed[CRYPTO_ED25519_SEED_LEN],
	    unsigned char pk[CRYPTO_ED25519_PK_LEN]);	/* 0, -EIO */
int	 crypto_ed25519_sign(const unsigned char seed[CRYPTO_ED25519_SEED_LEN],
	    const void *m, size_t n,
	    unsigned char sig[CRYPTO_ED25519_SIG_LEN]);	/* 0, -EIO */
/* 0 when valid, -EPERM when not. */
int	 crypto_ed25519_verify(const unsigned char pk[CRYPTO_ED25519_PK_LEN],
	    const void *m, size_t n,
	    const unsigned char sig[CRYPTO_ED25519_SIG_LEN]);

int	 crypto_blake2b512(const void *p, size_t n,
	    unsigned char out[CRYPTO_BLAKE2B512_LEN]);	/* 0, -EIO */
int	 crypto_blake2b256(const void *p, size_t n,
	    unsigned char out[CRYPTO_BLAKE2B256_LEN]);	/* 0, -EIO */

int	 crypto_random(void *p, size_t n);		/* 0, -EIO */
/* Uniform in [0, n) (0 when n is 0), for spreading load at random;
 * never fails: without randomness it answers 0. */
uint64_t crypto_random_uniform(uint64_t n);
/* SHA-256(label || NUL || token): what is kept of an agent token. The
 * server stores the CRYPTO_LABEL_TOKEN hash to check the agent, and the
 * CRYPTO_LABEL_NOTIFY one, which its pushes carry and the agent checks,
 * so the server's database alone can impersonate no agent. 0, -ENOMEM. */
#define CRYPTO_LABEL_TOKEN	"cascade agent token"
#define CRYPTO_LABEL_NOTIFY	"cascade notify"
int	 crypto_token_hash(const char *label, const char *token,
	    unsigned char out[CRYPTO_SHA256_LEN]);
/* Constant-time comparison: 1 if equal, else 0. */
int	 crypto_memeq(const void *a, const void *b, size_t n);
/* Wipes secrets in a way the compiler cannot drop. */
void	 crypto_wipe(void *p, size_t n);

#endif
