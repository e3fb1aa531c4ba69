/*
 * sig: minisign keys and signatures; see sig.h.
 *
 * The parsers are stricter than minisign: a key file is exactly a comment
 * line and a base64 line, a signature file exactly its four lines, each
 * ended by "\n" or "\r\n" (the last one may lack it), with no NUL or stray
 * CR anywhere and nothing after. What we write, minisign reads, and what
 * minisign writes, we read.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "sig.h"
#include "banned.h"

#define ALG_ED			"Ed"	/* key algorithm; legacy signature */
#define ALG_ED_HASHED		"ED"	/* signature over BLAKE2b-512(m) */
#define KDF_NONE		"\0\0"
#define KDF_SCRYPT		"Sc"
#define CHK_BLAKE2B		"B2"

#define UNTRUSTED_PREFIX	"untrusted comment: "
#define TRUSTED_PREFIX		"trusted comment: "
#define PUBKEY_COMMENT		"minisign public key "
/* What minisign -G -W writes, although such a key is not encrypted. */
#define SECKEY_COMMENT		"minisign encrypted secret key"
#define SIG_COMMENT		"signature from cascade secret key"

#define LIT_LEN(s)		(sizeof(s) - 1)

/* Binary layouts. */
#define PUBKEY_BIN_LEN		(2 + SIG_KEY_ID_LEN + CRYPTO_ED25519_PK_LEN)
#define SK_ALG			0
#define SK_KDF			2
#define SK_CHKALG		4
#define SK_SALT			6
#define SK_OPS			38
#define SK_MEM			46
#define SK_ID			54
#define SK_SEED			(SK_ID + SIG_KEY_ID_LEN)
#define SK_PK			(SK_SEED + CRYPTO_ED25519_SEED_LEN)
#define SK_CHK			(SK_PK + CRYPTO_ED25519_PK_LEN)
#define SECKEY_BIN_LEN		(SK_CHK + CRYPTO_BLAKE2B256_LEN)
#define SIG_BIN_LEN		(2 + SIG_KEY_ID_LEN + CRYPTO_ED25519_SIG_LEN)

#define B64_LEN(n)		(((n) + 2) / 3 * 4)

/* Generous upper bounds of the texts we write. */
#define PUBKEY_TEXT_MAX		(LIT_LEN(UNTRUSTED_PREFIX) + \
	LIT_LEN(PUBKEY_COMMENT) + 16 + 1 + B64_LEN(PUBKEY_BIN_LEN) + 2)
#define SECKEY_TEXT_MAX		(LIT_LEN(UNTRUSTED_PREFIX) + \
	LIT_LEN(SECKEY_COMMENT) + 1 + B64_LEN(SECKEY_BIN_LEN) + 2)
#define SIG_TEXT_MAX		(LIT_LEN(UNTRUSTED_PREFIX) + \
	LIT_LEN(SIG_COMMENT) + 1 + B64_LEN(SIG_BIN_LEN) + 1 + \
	LIT_LEN(TRUSTED_PREFIX) + SIG_COMMENT_MAX + 1 + \
	B64_LEN(CRYPTO_ED25519_SIG_LEN) + 2)

/* A signature file, parsed but not verified. */
struct sig_file {
	unsigned char	 alg[2];
	unsigned char	 id[SIG_KEY_ID_LEN];
	unsigned char	 sig[CRYPTO_ED25519_SIG_LEN];
	unsigned char	 global[CRYPTO_ED25519_SIG_LEN];
	const char	*tc;		/* points into the input */
	size_t		 tclen;
};

/* ---- keys --------------------------------------------------------------- */

int
sig_keygen(struct sig_seckey *ret_sk)
{
	struct sig_seckey	 sk;
	int			 r;

	r = crypto_random(sk.id, sizeof(sk.id));
	if (r < 0)
		goto out;
	r = crypto_ed25519_keygen(sk.seed, sk.pk);
	if (r < 0)
		goto out;
	*ret_sk = sk;
out:
	sig_seckey_wipe(&sk);
	return r;
}

void
sig_seckey_public(const struct sig_seckey *sk, struct sig_pubkey *ret_pk)
{
	memcpy(ret_pk->id, sk->id, sizeof(ret_pk->id));
	memcpy(ret_pk->pk, sk->pk, sizeof(ret_pk->pk));
}

void
sig_seckey_wipe(struct sig_seckey *sk)
{
	if (sk != NULL)
		crypto_wipe(sk, sizeof(*sk));
}

void
sig_key_id_hex(const unsigned char id[SIG_KEY_ID_LEN], char out[17])
{
	static const char	 digits[] = "0123456789ABCDEF";
	size_t			 i;

	size_t			 n = 0, skip;

	/* minisign prints the id as a little-endian uint64, with "%llX":
	 * no leading zeros */
	for (i = 0; i < SIG_KEY_ID_LEN; i++) {
		out[2 * i] = digits[id[SIG_KEY_ID_LEN - 1 - i] >> 4];
		out[2 * i + 1] = digits[id[SIG_KEY_ID_LEN - 1 - i] & 0x0f];
	}
	out[16] = '\0';
	for (skip = 0; skip < 15 && out[skip] == '0'; skip++)
		;
	while (out[skip + n] != '\0') {
		out[n] = out[skip + n];
		n++;
	}
	out[n] = '\0';
}

/* ---- text helpers ------------------------------------------------------- */

/*
 * The next line of p[*off..len): *ret_line and *ret_len without its
 * terminator, "\n" or "\r\n"; *ret_eol tells whether one was there.
 * -EBADMSG on a NUL or a CR that does not end the line.
 */
static int
next_line(const char *p, size_t len, size_t *off, const char **ret_line,
    size_t *ret_len, int *ret_eol)
{
	const char	*line = p + *off, *nl;
	size_t		 rest = len - *off, n;
	int		 eol = 0;

	nl = memchr(line, '\n', rest);
	if (nl != NULL) {
		n = (size_t)(nl - line);
		*off += n + 1;
		eol = 1;
		if (n > 0 && line[n - 1] == '\r')
			n--;
	} else {
		n = rest;
		*off = len;
	}
	if (memchr(line, '\0', n) != NULL || memchr(line, '\r', n) != NULL)
		return -EBADMSG;
	*ret_line = line;
	*ret_len = n;
	*ret_eol = eol;
	return 0;
}

/* 1 if line[0..n) starts with the literal prefix. */
static int
has_prefix(const char *line, size_t n, const char *prefix, size_t plen)
{
	return n >= plen && memcmp(line, prefix, plen) == 0;
}

/* The text of a comment line after `prefix`, capped. */
static int
comment_line(const char *p, size_t len, size_t *off, const char *prefix,
    size_t plen, const char **ret_c, size_t *ret_clen)
{
	const char	*line;
	size_t		 n;
	int		 eol, r;

	r = next_line(p, len, off, &line, &n, &eol);
	if (r < 0)
		return r;
	if (!eol || !has_prefix(line, n, prefix, plen) ||
	    n - plen > SIG_COMMENT_MAX)
		return -EBADMSG;
	*ret_c = line + plen;
	*ret_clen = n - plen;
	return 0;
}

/* A base64 line decoding to exactly want bytes; last says it may be the
 * final line of the text (its terminator optional, nothing after it). */
static int
base64_line(const char *p, size_t len, size_t *off, unsigned char *out,
    size_t want, int last)
{
	const char	*line;
	size_t		 n, got;
	int		 eol, r;

	r = next_line(p, len, off, &line, &n, &eol);
	if (r < 0)
		return r;
	if (!eol && !last)
		return -EBADMSG;
	if (last && *off != len)
		return -EBADMSG;
	if (n != B64_LEN(want))
		return -EBADMSG;
	r = crypto_base64_decode(line, n, out, want, &got);
	if (r < 0 || got != want)
		return -EBADMSG;
	return 0;
}

/* Decodes a key file: a comment line and one base64 line of binlen. */
static int
keyfile_decode(const char *p, size_t len, unsigned char *bin, size_t binlen)
{
	const char	*c;
	size_t		 off = 0, clen;
	int		 r;

	if (p == NULL || len > SIG_KEYFILE_MAX)
		return -EBADMSG;
	r = comment_line(p, len, &off, UNTRUSTED_PREFIX,
	    LIT_LEN(UNTRUSTED_PREFIX), &c, &clen);
	if (r < 0)
		return r;
	return base64_line(p, len, &off, bin, binlen, 1);
}

/* Appends "untrusted comment: <comment>\n<base64 of bin>\n" to out in one
 * piece, through a stack copy that is wiped (it may hold a secret). */
static int
keyfile_format(const char *comment, size_t clen, const unsigned char *bin,
    size_t binlen, struct buf *out)
{
	char	 text[SECKEY_TEXT_MAX > PUBKEY_TEXT_MAX ?
		    SECKEY_TEXT_MAX : PUBKEY_TEXT_MAX];
	size_t	 n = 0;
	int	 r;

	if (LIT_LEN(UNTRUSTED_PREFIX) + clen + 1 + B64_LEN(binlen) + 2 >
	    sizeof(text))
		return -EINVAL;
	memcpy(text, UNTRUSTED_PREFIX, LIT_LEN(UNTRUSTED_PREFIX));
	n += LIT_LEN(UNTRUSTED_PREFIX);
	memcpy(text + n, comment, clen);
	n += clen;
	text[n++] = '\n';
	n += crypto_base64_encode(bin, binlen, text + n);
	text[n++] = '\n';
	r = buf_append(out, text, n);
	crypto_wipe(text, sizeof(text));
	return r;
}

/* ---- public key --------------------------------------------------------- */

int
sig_pubkey_parse(const char *p, size_t len, struct sig_pubkey *ret_pk)
{
	unsigned char	 bin[PUBKEY_BIN_LEN];
	int		 r;

	r = keyfile_decode(p, len, bin, sizeof(bin));
	if (r < 0)
		return r;
	if (memcmp(bin, ALG_ED, 2) != 0)
		return -ENOTSUP;
	memcpy(ret_pk->id, bin + 2, SIG_KEY_ID_LEN);
	memcpy(ret_pk->pk, bin + 2 + SIG_KEY_ID_LEN, CRYPTO_ED25519_PK_LEN);
	return 0;
}

int
sig_pubkey_format(const struct sig_pubkey *pk, struct buf *out)
{
	unsigned char	 bin[PUBKEY_BIN_LEN];
	char		 comment[LIT_LEN(PUBKEY_COMMENT) + 17];

	memcpy(bin, ALG_ED, 2);
	memcpy(bin + 2, pk->id, SIG_KEY_ID_LEN);
	memcpy(bin + 2 + SIG_KEY_ID_LEN, pk->pk, CRYPTO_ED25519_PK_LEN);
	memcpy(comment, PUBKEY_COMMENT, LIT_LEN(PUBKEY_COMMENT));
	sig_key_id_hex(pk->id, comment + LIT_LEN(PUBKEY_COMMENT));
	return keyfile_format(comment, strlen(comment), bin, sizeof(bin), out);
}

/* ---- secret key --------------------------------------------------------- */

/* BLAKE2b-256("Ed" id seed pk), the checksum of a secret key. */
static int
seckey_checksum(const unsigned char *bin, unsigned char out[32])
{
	unsigned char	 m[2 + SIG_KEY_ID_LEN + CRYPTO_ED25519_SEED_LEN +
			    CRYPTO_ED25519_PK_LEN];
	int		 r;

	memcpy(m, bin + SK_ALG, 2);
	memcpy(m + 2, bin + SK_ID, sizeof(m) - 2);	/* id seed pk */
	r = crypto_blake2b256(m, sizeof(m), out);
	crypto_wipe(m, sizeof(m));
	return r;
}

/* 1 if all n bytes are zero. */
static int
all_zero(const unsigned char *p, size_t n)
{
	unsigned char	 acc = 0;
	size_t		 i;

	for (i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

int
sig_seckey_parse(const char *p, size_t len, struct sig_seckey *ret_sk)
{
	unsigned char	 bin[SECKEY_BIN_LEN];
	unsigned char	 chk[CRYPTO_BLAKE2B256_LEN];
	unsigned char	 pk[CRYPTO_ED25519_PK_LEN];
	int		 r;

	r = keyfile_decode(p, len, bin, sizeof(bin));
	if (r < 0)
		goto out;
	if (memcmp(bin + SK_ALG, ALG_ED, 2) != 0 ||
	    memcmp(bin + SK_CHKALG, CHK_BLAKE2B, 2) != 0 ||
	    memcmp(bin + SK_KDF, KDF_NONE, 2) != 0) {
		r = -ENOTSUP;	/* KDF_SCRYPT: encrypted with a password */
		goto out;
	}
	/*
	 * minisign 0.11 -G -W leaves the checksum of an unencrypted key all
	 * zero and never checks it; minisign -C -W keeps a real one. Check
	 * it when present; the key pair check below holds in either case.
	 */
	if (!all_zero(bin + SK_CHK, CRYPTO_BLAKE2B256_LEN)) {
		r = seckey_checksum(bin, chk);
		if (r < 0)
			goto out;
		if (!crypto_memeq(chk, bin + SK_CHK, sizeof(chk))) {
			r = -EPERM;
			goto out;
		}
	}
	r = crypto_ed25519_public(bin + SK_SEED, pk);
	if (r < 0)
		goto out;
	if (!crypto_memeq(pk, bin + SK_PK, sizeof(pk))) {
		r = -EPERM;
		goto out;
	}
	memcpy(ret_sk->id, bin + SK_ID, SIG_KEY_ID_LEN);
	memcpy(ret_sk->seed, bin + SK_SEED, CRYPTO_ED25519_SEED_LEN);
	memcpy(ret_sk->pk, bin + SK_PK, CRYPTO_ED25519_PK_LEN);
out:
	crypto_wipe(bin, sizeof(bin));
	crypto_wipe(chk, sizeof(chk));
	return r;
}

int
sig_seckey_format(const struct sig_seckey *sk, struct buf *out)
{
	unsigned char	 bin[SECKEY_BIN_LEN];
	int		 r;

	/* Unencrypted: zero salt and limits, as minisign -W writes them. */
	memset(bin, 0, sizeof(bin));
	memcpy(bin + SK_ALG, ALG_ED, 2);
	memcpy(bin + SK_KDF, KDF_NONE, 2);
	memcpy(bin + SK_CHKALG, CHK_BLAKE2B, 2);
	memcpy(bin + SK_ID, sk->id, SIG_KEY_ID_LEN);
	memcpy(bin + SK_SEED, sk->seed, CRYPTO_ED25519_SEED_LEN);
	memcpy(bin + SK_PK, sk->pk, CRYPTO_ED25519_PK_LEN);
	r = seckey_checksum(bin, bin + SK_CHK);
	if (r < 0)
		goto out;
	r = keyfile_format(SECKEY_COMMENT, LIT_LEN(SECKEY_COMMENT), bin,
	    sizeof(bin), out);
out:
	crypto_wipe(bin, sizeof(bin));
	return r;
}

/* ---- signatures --------------------------------------------------------- */

int
sig_sign(const struct sig_seckey *sk, const void *m, size_t n,
    const char *trusted_comment, struct buf *out)
{
	unsigned char	 bin[SIG_BIN_LEN];
	unsigned char	 hash[CRYPTO_BLAKE2B512_LEN];
	unsigned char	 global[CRYPTO_ED25519_SIG_LEN];
	unsigned char	 sigtc[CRYPTO_ED25519_SIG_LEN + SIG_COMMENT_MAX];
	char		 text[SIG_TEXT_MAX];
	size_t		 tclen, len = 0;
	int		 r;

	if (trusted_comment == NULL)
		return -EINVAL;
	tclen = strnlen(trusted_comment, SIG_COMMENT_MAX + 1);
	if (tclen > SIG_COMMENT_MAX ||
	    memchr(trusted_comment, '\n', tclen) != NULL ||
	    memchr(trusted_comment, '\r', tclen) != NULL)
		return -EINVAL;

	memcpy(bin, ALG_ED_HASHED, 2);
	memcpy(bin + 2, sk->id, SIG_KEY_ID_LEN);
	r = crypto_blake2b512(m, n, hash);
	if (r < 0)
		return r;
	r = crypto_ed25519_sign(sk->seed, hash, sizeof(hash),
	    bin + 2 + SIG_KEY_ID_LEN);
	if (r < 0)
		return r;
	memcpy(sigtc, bin + 2 + SIG_KEY_ID_LEN, CRYPTO_ED25519_SIG_LEN);
	memcpy(sigtc + CRYPTO_ED25519_SIG_LEN, trusted_comment, tclen);
	r = crypto_ed25519_sign(sk->seed, sigtc, CRYPTO_ED25519_SIG_LEN + tclen,
	    global);
	if (r < 0)
		return r;

	memcpy(text, UNTRUSTED_PREFIX SIG_COMMENT "\n",
	    LIT_LEN(UNTRUSTED_PREFIX SIG_COMMENT "\n"));
	len += LIT_LEN(UNTRUSTED_PREFIX SIG_COMMENT "\n");
	len += crypto_base64_encode(bin, sizeof(bin), text + len);
	text[len++] = '\n';
	memcpy(text + len, TRUSTED_PREFIX, LIT_LEN(TRUSTED_PREFIX));
	len += LIT_LEN(TRUSTED_PREFIX);
	memcpy(text + len, trusted_comment, tclen);
	len += tclen;
	text[len++] = '\n';
	len += crypto_base64_encode(global, sizeof(global), text + len);
	text[len++] = '\n';
	return buf_append(out, text, len);
}

/* Splits and decodes the four lines of a signature file. */
static int
sig_file_parse(const char *p, size_t len, struct sig_file *f)
{
	unsigned char	 bin[SIG_BIN_LEN];
	const char	*c;
	size_t		 off = 0, clen;
	int		 r;

	if (p == NULL || len > SIG_SIGFILE_MAX)
		return -EBADMSG;
	r = comment_line(p, len, &off, UNTRUSTED_PREFIX,
	    LIT_LEN(UNTRUSTED_PREFIX), &c, &clen);
	if (r < 0)
		return r;
	r = base64_line(p, len, &off, bin, sizeof(bin), 0);
	if (r < 0)
		return r;
	if (memcmp(bin, ALG_ED_HASHED, 2) != 0 && memcmp(bin, ALG_ED, 2) != 0)
		return -EBADMSG;
	r = comment_line(p, len, &off, TRUSTED_PREFIX, LIT_LEN(TRUSTED_PREFIX),
	    &f->tc, &f->tclen);
	if (r < 0)
		return r;
	r = base64_line(p, len, &off, f->global, sizeof(f->global), 1);
	if (r < 0)
		return r;
	memcpy(f->alg, bin, 2);
	memcpy(f->id, bin + 2, SIG_KEY_ID_LEN);
	memcpy(f->sig, bin + 2 + SIG_KEY_ID_LEN, CRYPTO_ED25519_SIG_LEN);
	return 0;
}

int
sig_key_id_of(const char *sig, size_t siglen,
    unsigned char ret_id[SIG_KEY_ID_LEN])
{
	struct sig_file	 f;
	int		 r;

	r = sig_file_parse(sig, siglen, &f);
	if (r < 0)
		return r;
	memcpy(ret_id, f.id, SIG_KEY_ID_LEN);
	return 0;
}

int
sig_verify(const struct sig_pubkey *pk, const void *m, size_t n,
    const char *sig, size_t siglen)
{
	struct sig_file	 f;
	unsigned char	 hash[CRYPTO_BLAKE2B512_LEN];
	unsigned char	 sigtc[CRYPTO_ED25519_SIG_LEN + SIG_COMMENT_MAX];
	int		 r;

	r = sig_file_parse(sig, siglen, &f);
	if (r < 0)
		return r;
	if (memcmp(f.id, pk->id, SIG_KEY_ID_LEN) != 0)
		return -ENOKEY;

	if (memcmp(f.alg, ALG_ED_HASHED, 2) == 0) {
		if (crypto_blake2b512(m, n, hash) < 0)
			return -EPERM;
		r = crypto_ed25519_verify(pk->pk, hash, sizeof(hash), f.sig);
	} else
		r = crypto_ed25519_verify(pk->pk, m, n, f.sig);
	if (r < 0)
		return -EPERM;

	memcpy(sigtc, f.sig, CRYPTO_ED25519_SIG_LEN);
	memcpy(sigtc + CRYPTO_ED25519_SIG_LEN, f.tc, f.tclen);
	if (crypto_ed25519_verify(pk->pk, sigtc,
	    CRYPTO_ED25519_SIG_LEN + f.tclen, f.global) < 0)
		return -EPERM;
	return 0;
}
