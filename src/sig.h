/*
 * sig: minisign keys and signatures (Ed25519), byte-compatible with the
 * stock minisign tool.
 *
 * Public key file:  "untrusted comment: ...\n" base64("Ed" id[8] pk[32]) "\n"
 * Secret key file (unencrypted, as `minisign -G -W` writes it):
 *   "untrusted comment: ...\n" base64("Ed" kdf"\0\0" "B2" salt[32]
 *   ops[8] mem[8] id[8] seed[32] pk[32] chk[32]) "\n", where chk is
 *   BLAKE2b-256("Ed" id seed pk).
 * Signature file (prehashed, "ED"): "untrusted comment: ...\n"
 *   base64("ED" id[8] ed25519(BLAKE2b-512(m))) "\n"
 *   "trusted comment: TC\n" base64(ed25519(sig[64] TC)) "\n".
 * Verification also accepts legacy "Ed" signatures over m itself.
 *
 * Parsers take (p, len) of untrusted bytes and never read past len.
 */
#ifndef SIG_H
#define SIG_H

#include <stddef.h>

#include "buf.h"
#include "crypto.h"

#define SIG_KEYFILE_MAX		4096	/* bytes in a key file */
#define SIG_SIGFILE_MAX		4096	/* bytes in a .minisig file */
#define SIG_COMMENT_MAX		1024	/* bytes in a trusted comment */
#define SIG_KEY_ID_LEN		8

struct sig_pubkey {
	unsigned char	 id[SIG_KEY_ID_LEN];
	unsigned char	 pk[CRYPTO_ED25519_PK_LEN];
};

struct sig_seckey {
	unsigned char	 id[SIG_KEY_ID_LEN];
	unsigned char	 seed[CRYPTO_ED25519_SEED_LEN];
	unsigned char	 pk[CRYPTO_ED25519_PK_LEN];
};

/* A fresh key pair with a random key id. 0 or -EIO. */
int	 sig_keygen(struct sig_seckey *ret_sk);
void	 sig_seckey_public(const struct sig_seckey *sk,
	    struct sig_pubkey *ret_pk);
/* Wipes the secret. */
void	 sig_seckey_wipe(struct sig_seckey *sk);

/* Key files. Parse: 0, -EBADMSG (not a minisign key), -ENOTSUP (an
 * encrypted secret key or an unknown algorithm), -EPERM (checksum or
 * key pair mismatch). Format appends the whole file text to out. */
int	 sig_pubkey_parse(const char *p, size_t len, struct sig_pubkey *ret_pk);
int	 sig_pubkey_format(const struct sig_pubkey *pk, struct buf *out);
int	 sig_seckey_parse(const char *p, size_t len, struct sig_seckey *ret_sk);
int	 sig_seckey_format(const struct sig_seckey *sk, struct buf *out);

/* The key id in upper-case hex, as minisign prints it (printf %llX of
 * the little-endian number: no leading zeros). */
void	 sig_key_id_hex(const unsigned char id[SIG_KEY_ID_LEN], char out[17]);

/* Signs m; appends the .minisig text to out. trusted_comment must hold no
 * newline and at most SIG_COMMENT_MAX bytes (-EINVAL otherwise). */
int	 sig_sign(const struct sig_seckey *sk, const void *m, size_t n,
	    const char *trusted_comment, struct buf *out);
/* The id of the key that made a .minisig text (parsed, not verified:
 * it says which key to verify with). 0, -EBADMSG. */
int	 sig_key_id_of(const char *sig, size_t siglen,
	    unsigned char ret_id[SIG_KEY_ID_LEN]);
/* Verifies a .minisig text against m and the public key: both the
 * signature and the global signature over the trusted comment.
 * 0, -EBADMSG (malformed), -ENOKEY (signed by another key id),
 * -EPERM (invalid signature). */
int	 sig_verify(const struct sig_pubkey *pk, const void *m, size_t n,
	    const char *sig, size_t siglen);

#endif
