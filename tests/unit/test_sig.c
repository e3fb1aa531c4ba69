/*
 * Unit tests of sig: round trips, tampering, malformed input, and interop
 * with the real minisign binary in a temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crypto.h"
#include "sig.h"
#include "check.h"
#include "banned.h"

#define MINISIGN	"minisign"
#define QUIET		" </dev/null >/dev/null 2>&1"

/* ---- helpers ------------------------------------------------------------ */

/* Reads a whole (small) file into b. */
static int
read_file(const char *path, struct buf *b)
{
	char	 chunk[4096];
	FILE	*f;
	size_t	 n;
	int	 r = 0;

	f = fopen(path, "rb");
	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(b, chunk, n) < 0) {
			r = -1;
			break;
		}
	if (ferror(f))
		r = -1;
	fclose(f);
	return r;
}

static int	 run(const char *fmt, ...)
		    __attribute__((format(printf, 1, 2)));

/* Runs a shell command; its exit status, or -1. */
static int
run(const char *fmt, ...)
{
	char	 cmd[2048];
	va_list	 ap;
	int	 n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		return -1;
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* Verifies sig over m with an exact-size heap copy, so that ASan catches
 * any read past siglen. */
static int
verify_exact(const struct sig_pubkey *pk, const void *m, size_t n,
    const char *sig, size_t siglen)
{
	char	*copy;
	int	 r;

	copy = malloc(siglen ? siglen : 1);
	if (copy == NULL)
		return -ENOMEM;
	if (siglen > 0)
		memcpy(copy, sig, siglen);
	r = sig_verify(pk, m, n, copy, siglen);
	free(copy);
	return r;
}

static int
pubkey_parse_exact(const char *p, size_t len, struct sig_pubkey *pk)
{
	char	*copy;
	int	 r;

	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return -ENOMEM;
	if (len > 0)
		memcpy(copy, p, len);
	r = sig_pubkey_parse(copy, len, pk);
	free(copy);
	return r;
}

static int
seckey_parse_exact(const char *p, size_t len, struct sig_seckey *sk)
{
	char	*copy;
	int	 r;

	copy = malloc(len ? len : 1);
	if (copy == NULL)
		return -ENOMEM;
	if (len > 0)
		memcpy(copy, p, len);
	r = sig_seckey_parse(copy, len, sk);
	free(copy);
	return r;
}

/* The text with every "\n" turned into "\r\n". */
static void
to_crlf(const char *p, size_t n, struct buf *out)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\n')
			buf_append(out, "\r", 1);
		buf_append(out, p + i, 1);
	}
}

/* Rebuilds a secret key file from its decoded binary form. */
static void
seckey_text(const unsigned char bin[158], struct buf *out)
{
	char	 b64[213];

	crypto_base64_encode(bin, 158, b64);
	buf_reset(out);
	buf_puts(out, "untrusted comment: test\n");
	buf_puts(out, b64);
	buf_puts(out, "\n");
}

/* Decodes the second line of a key file. */
static int
keyfile_bin(const struct buf *text, unsigned char *bin, size_t max,
    size_t *ret_len)
{
	const char	*l2, *end;

	l2 = memchr(text->ptr, '\n', text->len);
	if (l2 == NULL)
		return -1;
	l2++;
	end = memchr(l2, '\n', text->len - (size_t)(l2 - text->ptr));
	if (end == NULL)
		return -1;
	return crypto_base64_decode(l2, (size_t)(end - l2), bin, max,
	    ret_len);
}

/* ---- keys --------------------------------------------------------------- */

static void
test_key_id_hex(void)
{
	const unsigned char	 id[8] = { 0x71, 0xd6, 0x5e, 0x76, 0x60, 0xfa,
				    0x5e, 0xd6 };
	char			 hex[17];

	const unsigned char	 low[8] = { 0x71, 0xd6, 0x5e, 0x76, 0x60, 0xfa,
				    0x0e, 0x00 };

	sig_key_id_hex(id, hex);
	CHECK(strcmp(hex, "D65EFA60765ED671") == 0);
	/* regression: minisign prints "%llX", without leading zeros, so a
	 * key id whose top nibbles are zero made a different key file */
	sig_key_id_hex(low, hex);
	CHECK(strcmp(hex, "EFA60765ED671") == 0);
}

static void
test_pubkey_roundtrip(void)
{
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk, pk2;
	struct buf		 t, crlf;
	char			 hex[17], head[64];

	buf_init(&t, SIG_KEYFILE_MAX);
	buf_init(&crlf, SIG_KEYFILE_MAX);
	CHECK_EQ(sig_keygen(&sk), 0);
	sig_seckey_public(&sk, &pk);
	CHECK(memcmp(pk.id, sk.id, 8) == 0);
	CHECK(memcmp(pk.pk, sk.pk, 32) == 0);
	CHECK_EQ(sig_pubkey_format(&pk, &t), 0);

	sig_key_id_hex(pk.id, hex);
	snprintf(head, sizeof(head), "untrusted comment: minisign public "
	    "key %s\n", hex);
	CHECK(strncmp(t.ptr, head, strlen(head)) == 0);
	CHECK_EQ(t.len, strlen(head) + 56 + 1);
	CHECK(strncmp(t.ptr + strlen(head), "RW", 2) == 0);	/* "Ed" */
	CHECK(t.ptr[t.len - 1] == '\n');

	memset(&pk2, 0, sizeof(pk2));
	CHECK_EQ(pubkey_parse_exact(t.ptr, t.len, &pk2), 0);
	CHECK(memcmp(&pk, &pk2, sizeof(pk)) == 0);
	/* Without the final newline; with CRLF. */
	CHECK_EQ(pubkey_parse_exact(t.ptr, t.len - 1, &pk2), 0);
	CHECK(memcmp(&pk, &pk2, sizeof(pk)) == 0);
	to_crlf(t.ptr, t.len, &crlf);
	CHECK_EQ(pubkey_parse_exact(crlf.ptr, crlf.len, &pk2), 0);
	CHECK(memcmp(&pk, &pk2, sizeof(pk)) == 0);
	/* A lone CR at the end is not a line end. */
	CHECK_EQ(pubkey_parse_exact(crlf.ptr, crlf.len - 1, &pk2), -EBADMSG);

	/* The secret key is not a public key. */
	buf_reset(&t);
	CHECK_EQ(sig_seckey_format(&sk, &t), 0);
	CHECK_EQ(pubkey_parse_exact(t.ptr, t.len, &pk2), -EBADMSG);

	buf_release(&crlf);
	buf_release(&t);
	sig_seckey_wipe(&sk);
}

static void
test_pubkey_bad(void)
{
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk, out;
	struct buf		 t, x;
	size_t			 i;

	buf_init(&t, SIG_KEYFILE_MAX);
	buf_init(&x, SIG_KEYFILE_MAX * 2);
	CHECK_EQ(sig_keygen(&sk), 0);
	sig_seckey_public(&sk, &pk);
	CHECK_EQ(sig_pubkey_format(&pk, &t), 0);

	/* Every truncation but the one that drops only the newline. */
	for (i = 0; i + 1 < t.len; i++)
		CHECK_EQ(pubkey_parse_exact(t.ptr, i, &out), -EBADMSG);

	/* Trailing bytes, extra lines, blank lines. */
	buf_reset(&x);
	buf_append(&x, t.ptr, t.len);
	buf_puts(&x, "\n");
	CHECK_EQ(pubkey_parse_exact(x.ptr, x.len, &out), -EBADMSG);
	buf_reset(&x);
	buf_append(&x, t.ptr, t.len);
	buf_puts(&x, "x");
	CHECK_EQ(pubkey_parse_exact(x.ptr, x.len, &out), -EBADMSG);
	buf_reset(&x);
	buf_append(&x, t.ptr, t.len - 1);
	buf_puts(&x, " \n");
	CHECK_EQ(pubkey_parse_exact(x.ptr, x.len, &out), -EBADMSG);
	buf_reset(&x);
	buf_append(&x, t.ptr, t.len - 1);
	buf_puts(&x, "\r\r\n");
	CHECK_EQ(pubkey_parse_exact(x.ptr, x.len, &out), -EBADMSG);
	/* No comment line; a wrong prefix. */
	CHECK_EQ(pubkey_parse_exact("RWQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAA\n", 57, &out), -EBADMSG);
	buf_reset(&x);
	buf_append(&x, t.ptr, t.len);
	x.ptr[0] = 'U';
	CHECK_EQ(pubkey_parse_exact(x.ptr, x.len, &out), -EBADMSG);
	/* A NUL in the comment. */
	x.ptr[0] = 'u';
	x.ptr[5] = '\0';
	CHECK_EQ(pubkey_parse_exact(x.ptr, x.len, &out), -EBADMSG);
	/* Unknown algorithm. */
	buf_reset(&x);
	buf_puts(&x, "untrusted comment: x\n"
	    "RWRAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n");
	CHECK_EQ(pubkey_parse_exact(x.ptr, x.len, &out), 0);
	x.ptr[22] = 'X';	/* "RX..." decodes to another algorithm */
	CHECK_EQ(pubkey_parse_exact(x.ptr, x.len, &out), -ENOTSUP);
	/* Over the cap. */
	buf_reset(&x);
	buf_puts(&x, "untrusted comment: ");
	for (i = 0; i < SIG_KEYFILE_MAX; i++)
		buf_puts(&x, "a");
	buf_puts(&x, "\n");
	buf_append(&x, strchr(t.ptr, '\n') + 1,
	    t.len - (size_t)(strchr(t.ptr, '\n') + 1 - t.ptr));
	CHECK_EQ(pubkey_parse_exact(x.ptr, x.len, &out), -EBADMSG);
	/* Garbage. */
	CHECK_EQ(pubkey_parse_exact("", 0, &out), -EBADMSG);
	CHECK_EQ(pubkey_parse_exact("\n\n", 2, &out), -EBADMSG);
	CHECK_EQ(pubkey_parse_exact("untrusted comment: \n\n", 21, &out),
	    -EBADMSG);
	CHECK_EQ(sig_pubkey_parse(NULL, 0, &out), -EBADMSG);

	buf_release(&x);
	buf_release(&t);
	sig_seckey_wipe(&sk);
}

static void
test_seckey_roundtrip(void)
{
	struct sig_seckey	 sk, sk2;
	struct buf		 t, crlf;
	const char		*head = "untrusted comment: minisign encrypted "
				    "secret key\n";

	buf_init(&t, SIG_KEYFILE_MAX);
	buf_init(&crlf, SIG_KEYFILE_MAX);
	CHECK_EQ(sig_keygen(&sk), 0);
	CHECK_EQ(sig_seckey_format(&sk, &t), 0);
	CHECK(strncmp(t.ptr, head, strlen(head)) == 0);
	CHECK_EQ(t.len, strlen(head) + 212 + 1);
	/* "Ed" "\0\0" "B2" in base64. */
	CHECK(strncmp(t.ptr + strlen(head), "RWQAAEIy", 8) == 0);

	memset(&sk2, 0, sizeof(sk2));
	CHECK_EQ(seckey_parse_exact(t.ptr, t.len, &sk2), 0);
	CHECK(memcmp(&sk, &sk2, sizeof(sk)) == 0);
	CHECK_EQ(seckey_parse_exact(t.ptr, t.len - 1, &sk2), 0);
	to_crlf(t.ptr, t.len, &crlf);
	CHECK_EQ(seckey_parse_exact(crlf.ptr, crlf.len, &sk2), 0);
	CHECK(memcmp(&sk, &sk2, sizeof(sk)) == 0);

	sig_seckey_wipe(&sk2);
	CHECK(sk2.seed[0] == 0 && sk2.seed[31] == 0 && sk2.id[0] == 0);

	crypto_wipe(t.ptr, t.len);
	crypto_wipe(crlf.ptr, crlf.len);
	buf_release(&crlf);
	buf_release(&t);
	sig_seckey_wipe(&sk);
}

static void
test_seckey_bad(void)
{
	struct sig_seckey	 sk, out, keep;
	struct buf		 t, x;
	unsigned char		 bin[158], mod[158], m[74];
	size_t			 len = 0, i;

	buf_init(&t, SIG_KEYFILE_MAX);
	buf_init(&x, SIG_KEYFILE_MAX);
	CHECK_EQ(sig_keygen(&sk), 0);
	CHECK_EQ(sig_seckey_format(&sk, &t), 0);
	CHECK_EQ(keyfile_bin(&t, bin, sizeof(bin), &len), 0);
	CHECK_EQ(len, 158);

	/* The checksum we write is BLAKE2b-256("Ed" id seed pk). */
	memcpy(m, "Ed", 2);
	memcpy(m + 2, sk.id, 8);
	memcpy(m + 10, sk.seed, 32);
	memcpy(m + 42, sk.pk, 32);
	CHECK_EQ(crypto_blake2b256(m, sizeof(m), mod), 0);
	CHECK(memcmp(bin + 126, mod, 32) == 0);

	/* Truncations. */
	for (i = 0; i + 1 < t.len; i++)
		CHECK_EQ(seckey_parse_exact(t.ptr, i, &out), -EBADMSG);

	memset(&keep, 0xa5, sizeof(keep));
	out = keep;

	/* Encrypted with a password. */
	memcpy(mod, bin, sizeof(mod));
	memcpy(mod + 2, "Sc", 2);
	seckey_text(mod, &x);
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), -ENOTSUP);
	/* Unknown KDF, checksum, signature algorithms. */
	memcpy(mod, bin, sizeof(mod));
	memcpy(mod + 2, "Xx", 2);
	seckey_text(mod, &x);
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), -ENOTSUP);
	memcpy(mod, bin, sizeof(mod));
	memcpy(mod + 4, "B3", 2);
	seckey_text(mod, &x);
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), -ENOTSUP);
	memcpy(mod, bin, sizeof(mod));
	memcpy(mod, "ED", 2);
	seckey_text(mod, &x);
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), -ENOTSUP);

	/* A bad checksum. */
	memcpy(mod, bin, sizeof(mod));
	mod[126 + 5] ^= 0x10;
	seckey_text(mod, &x);
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), -EPERM);
	/* A flipped seed bit: checksum mismatch. */
	memcpy(mod, bin, sizeof(mod));
	mod[62] ^= 0x01;
	seckey_text(mod, &x);
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), -EPERM);
	/* The same without checksum (as minisign -G -W writes it): the key
	 * pair mismatch is still caught. */
	memset(mod + 126, 0, 32);
	seckey_text(mod, &x);
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), -EPERM);
	/* A wrong pk with a checksum that matches it. */
	memcpy(mod, bin, sizeof(mod));
	mod[94] ^= 0x01;
	memcpy(m + 42, mod + 94, 32);
	CHECK_EQ(crypto_blake2b256(m, sizeof(m), mod + 126), 0);
	seckey_text(mod, &x);
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), -EPERM);
	/* Nothing written on failure. */
	CHECK(memcmp(&out, &keep, sizeof(out)) == 0);

	/* A zero checksum with a good key pair parses. */
	memcpy(mod, bin, sizeof(mod));
	memset(mod + 126, 0, 32);
	seckey_text(mod, &x);
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), 0);
	CHECK(memcmp(&out, &sk, sizeof(sk)) == 0);

	/* Trailing garbage; a public key. */
	buf_reset(&x);
	buf_append(&x, t.ptr, t.len);
	buf_puts(&x, "RWQ=\n");
	CHECK_EQ(seckey_parse_exact(x.ptr, x.len, &out), -EBADMSG);
	CHECK_EQ(seckey_parse_exact("untrusted comment: x\n"
	    "RWRAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n", 78,
	    &out), -EBADMSG);
	CHECK_EQ(seckey_parse_exact("", 0, &out), -EBADMSG);
	CHECK_EQ(sig_seckey_parse(NULL, 0, &out), -EBADMSG);

	crypto_wipe(bin, sizeof(bin));
	crypto_wipe(mod, sizeof(mod));
	crypto_wipe(m, sizeof(m));
	crypto_wipe(t.ptr, t.len);
	crypto_wipe(x.ptr, x.len);
	buf_release(&x);
	buf_release(&t);
	sig_seckey_wipe(&sk);
	sig_seckey_wipe(&out);
}

/* ---- signatures --------------------------------------------------------- */

static void
test_sign_verify(void)
{
	struct sig_seckey	 sk, other;
	struct sig_pubkey	 pk, opk;
	struct buf		 s, x;
	const char		*msg = "the quick brown fox";
	const char		*tc = "timestamp:1700000000\tfile:fox.txt";
	char			*p;
	size_t			 n = strlen(msg);

	buf_init(&s, SIG_SIGFILE_MAX);
	buf_init(&x, SIG_SIGFILE_MAX * 2);
	CHECK_EQ(sig_keygen(&sk), 0);
	CHECK_EQ(sig_keygen(&other), 0);
	sig_seckey_public(&sk, &pk);
	sig_seckey_public(&other, &opk);

	CHECK_EQ(sig_sign(&sk, msg, n, tc, &s), 0);
	CHECK(strncmp(s.ptr, "untrusted comment: ", 19) == 0);
	CHECK(strstr(s.ptr, "\nRU") != NULL);		/* "ED" */
	CHECK(strstr(s.ptr, "\ntrusted comment: timestamp:1700000000\t"
	    "file:fox.txt\n") != NULL);
	CHECK(s.ptr[s.len - 1] == '\n');
	CHECK_EQ(verify_exact(&pk, msg, n, s.ptr, s.len), 0);
	CHECK_EQ(verify_exact(&pk, msg, n, s.ptr, s.len - 1), 0);

	/* A tampered message. */
	CHECK_EQ(verify_exact(&pk, "the quick brown fix", n, s.ptr, s.len),
	    -EPERM);
	CHECK_EQ(verify_exact(&pk, msg, n - 1, s.ptr, s.len), -EPERM);
	CHECK_EQ(verify_exact(&pk, NULL, 0, s.ptr, s.len), -EPERM);

	/* A tampered trusted comment. */
	buf_reset(&x);
	buf_append(&x, s.ptr, s.len);
	p = strstr(x.ptr, "1700000000");
	p[0] = '2';
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), -EPERM);
	/* Trusted comment cut short. */
	buf_reset(&x);
	buf_append(&x, s.ptr, s.len);
	p = strstr(x.ptr, "\tfile:");
	memmove(p, p + 1, x.len - (size_t)(p + 1 - x.ptr));
	x.len--;
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), -EPERM);

	/* The untrusted comment is free to change. */
	buf_reset(&x);
	buf_puts(&x, "untrusted comment: anything at all\n");
	p = strchr(s.ptr, '\n') + 1;
	buf_append(&x, p, s.len - (size_t)(p - s.ptr));
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), 0);
	buf_reset(&x);
	buf_puts(&x, "untrusted comment: \n");
	buf_append(&x, p, s.len - (size_t)(p - s.ptr));
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), 0);

	/* CRLF line ends. */
	buf_reset(&x);
	to_crlf(s.ptr, s.len, &x);
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), 0);
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len - 2), 0);
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len - 1), -EBADMSG);

	/* Another key: another id. The same id with another key. */
	CHECK_EQ(verify_exact(&opk, msg, n, s.ptr, s.len), -ENOKEY);
	memcpy(opk.id, pk.id, sizeof(opk.id));
	CHECK_EQ(verify_exact(&opk, msg, n, s.ptr, s.len), -EPERM);

	/* Empty message, empty trusted comment. */
	buf_reset(&s);
	CHECK_EQ(sig_sign(&sk, NULL, 0, "", &s), 0);
	CHECK(strstr(s.ptr, "\ntrusted comment: \n") != NULL);
	CHECK_EQ(verify_exact(&pk, NULL, 0, s.ptr, s.len), 0);
	CHECK_EQ(verify_exact(&pk, "", 0, s.ptr, s.len), 0);
	CHECK_EQ(verify_exact(&pk, "a", 1, s.ptr, s.len), -EPERM);

	buf_release(&x);
	buf_release(&s);
	sig_seckey_wipe(&sk);
	sig_seckey_wipe(&other);
}

static void
test_key_id_of(void)
{
	struct sig_seckey	 sk;
	struct buf		 s;
	unsigned char		 id[SIG_KEY_ID_LEN];

	buf_init(&s, SIG_SIGFILE_MAX);
	CHECK_EQ(sig_keygen(&sk), 0);
	CHECK_EQ(sig_sign(&sk, "m", 1, "tc", &s), 0);
	CHECK_EQ(sig_key_id_of(s.ptr, s.len, id), 0);
	CHECK(memcmp(id, sk.id, sizeof(id)) == 0);
	/* parsed strictly, even though not verified */
	CHECK_EQ(sig_key_id_of(s.ptr, 10, id), -EBADMSG);
	CHECK_EQ(sig_key_id_of("", 0, id), -EBADMSG);
	CHECK_EQ(sig_key_id_of("untrusted comment: x\nnot base64\n", 32,
	    id), -EBADMSG);
	buf_release(&s);
	sig_seckey_wipe(&sk);
}

static void
test_sign_comment_limits(void)
{
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk;
	struct buf		 s, small;
	char			 tc[SIG_COMMENT_MAX + 2];

	buf_init(&s, SIG_SIGFILE_MAX);
	buf_init(&small, 100);
	CHECK_EQ(sig_keygen(&sk), 0);
	sig_seckey_public(&sk, &pk);

	memset(tc, 'c', sizeof(tc));
	tc[SIG_COMMENT_MAX] = '\0';
	CHECK_EQ(sig_sign(&sk, "m", 1, tc, &s), 0);
	CHECK_EQ(verify_exact(&pk, "m", 1, s.ptr, s.len), 0);
	CHECK(s.len <= SIG_SIGFILE_MAX);

	buf_reset(&s);
	tc[SIG_COMMENT_MAX] = 'c';
	tc[SIG_COMMENT_MAX + 1] = '\0';
	CHECK_EQ(sig_sign(&sk, "m", 1, tc, &s), -EINVAL);
	CHECK_EQ(s.len, 0);
	CHECK_EQ(sig_sign(&sk, "m", 1, "a\nb", &s), -EINVAL);
	CHECK_EQ(sig_sign(&sk, "m", 1, "a\rb", &s), -EINVAL);
	CHECK_EQ(sig_sign(&sk, "m", 1, "a\n", &s), -EINVAL);
	CHECK_EQ(sig_sign(&sk, "m", 1, NULL, &s), -EINVAL);
	CHECK_EQ(s.len, 0);

	/* Output over the buffer cap: nothing appended. */
	buf_puts(&small, "keep");
	CHECK_EQ(sig_sign(&sk, "m", 1, "t", &small), -E2BIG);
	CHECK_EQ(small.len, 4);
	CHECK(strcmp(small.ptr, "keep") == 0);

	buf_release(&small);
	buf_release(&s);
	sig_seckey_wipe(&sk);
}

/* A signature file from its parts, for hand-made signatures. */
static void
sig_text(struct buf *out, const unsigned char bin[74], const char *tc,
    const unsigned char global[64])
{
	char	 b64[101];

	buf_reset(out);
	buf_puts(out, "untrusted comment: hand made\n");
	crypto_base64_encode(bin, 74, b64);
	buf_puts(out, b64);
	buf_printf(out, "\ntrusted comment: %s\n", tc);
	crypto_base64_encode(global, 64, b64);
	buf_puts(out, b64);
	buf_puts(out, "\n");
}

static void
test_verify_legacy(void)
{
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk;
	struct buf		 s;
	unsigned char		 bin[74], global[64], sigtc[64 + 8];
	const char		*msg = "legacy message";

	buf_init(&s, SIG_SIGFILE_MAX);
	CHECK_EQ(sig_keygen(&sk), 0);
	sig_seckey_public(&sk, &pk);

	/* "Ed": Ed25519 over the message itself. */
	memcpy(bin, "Ed", 2);
	memcpy(bin + 2, sk.id, 8);
	CHECK_EQ(crypto_ed25519_sign(sk.seed, msg, strlen(msg), bin + 10), 0);
	memcpy(sigtc, bin + 10, 64);
	memcpy(sigtc + 64, "legacy", 6);
	CHECK_EQ(crypto_ed25519_sign(sk.seed, sigtc, 70, global), 0);
	sig_text(&s, bin, "legacy", global);
	CHECK_EQ(verify_exact(&pk, msg, strlen(msg), s.ptr, s.len), 0);
	CHECK_EQ(verify_exact(&pk, "legacy messagE", strlen(msg), s.ptr,
	    s.len), -EPERM);

	/* The same signature labelled "ED" does not verify. */
	memcpy(bin, "ED", 2);
	sig_text(&s, bin, "legacy", global);
	CHECK_EQ(verify_exact(&pk, msg, strlen(msg), s.ptr, s.len), -EPERM);
	/* Unknown algorithm. */
	memcpy(bin, "Ex", 2);
	sig_text(&s, bin, "legacy", global);
	CHECK_EQ(verify_exact(&pk, msg, strlen(msg), s.ptr, s.len), -EBADMSG);

	buf_release(&s);
	sig_seckey_wipe(&sk);
}

static void
test_verify_malformed(void)
{
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk;
	struct buf		 s, x;
	const char		*msg = "payload";
	size_t			 n = strlen(msg), i, ucend;
	unsigned char		 junk[600];
	int			 r, v;
	static const char	 vals[] = { '\0', '\n', '\r', ' ', '=', 'A',
				    '/', '+', 'z', '\x80', '\xff' };

	buf_init(&s, SIG_SIGFILE_MAX);
	buf_init(&x, SIG_SIGFILE_MAX + 16);
	CHECK_EQ(sig_keygen(&sk), 0);
	sig_seckey_public(&sk, &pk);
	CHECK_EQ(sig_sign(&sk, msg, n, "tc", &s), 0);

	/* Every truncation is malformed, but for the final newline. */
	for (i = 0; i + 1 < s.len; i++)
		CHECK_EQ(verify_exact(&pk, msg, n, s.ptr, i), -EBADMSG);

	/* Every byte replaced by a set of values: never accepted, but in the
	 * untrusted comment (where a CR last makes a CRLF line end). */
	ucend = (size_t)(strchr(s.ptr, '\n') - s.ptr);
	for (i = 0; i < s.len; i++) {
		for (v = 0; v < (int)sizeof(vals); v++) {
			if (s.ptr[i] == vals[v])
				continue;
			buf_reset(&x);
			buf_append(&x, s.ptr, s.len);
			x.ptr[i] = vals[v];
			r = verify_exact(&pk, msg, n, x.ptr, x.len);
			if (i >= 19 && i < ucend && vals[v] != '\0' &&
			    vals[v] != '\n' &&
			    (vals[v] != '\r' || i == ucend - 1))
				CHECK_EQ(r, 0);
			else if (i == s.len - 1 && vals[v] == '\r')
				CHECK_EQ(r, -EBADMSG);
			else if (r == 0) {
				fprintf(stderr, "accepted: byte %zu = %d\n",
				    i, vals[v]);
				CHECK(r != 0);
			}
		}
	}

	/* Structure. */
	buf_reset(&x);
	buf_append(&x, s.ptr, s.len);
	buf_puts(&x, "\n");
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), -EBADMSG);
	buf_reset(&x);
	buf_append(&x, s.ptr, s.len);
	buf_puts(&x, "extra\n");
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), -EBADMSG);
	buf_reset(&x);
	buf_puts(&x, "\n");
	buf_append(&x, s.ptr, s.len);
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), -EBADMSG);
	CHECK_EQ(verify_exact(&pk, msg, n, "", 0), -EBADMSG);
	CHECK_EQ(sig_verify(&pk, msg, n, NULL, 0), -EBADMSG);
	CHECK_EQ(verify_exact(&pk, msg, n, "\n\n\n\n", 4), -EBADMSG);
	CHECK_EQ(verify_exact(&pk, msg, n, "untrusted comment: \n\n"
	    "trusted comment: \n\n", 39), -EBADMSG);

	/* Over the caps: a long untrusted comment, a long trusted one. */
	buf_reset(&x);
	buf_puts(&x, "untrusted comment: ");
	for (i = 0; i < SIG_COMMENT_MAX + 1; i++)
		buf_puts(&x, "u");
	buf_append(&x, strchr(s.ptr, '\n'), s.len - ucend);
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), -EBADMSG);
	buf_reset(&x);
	buf_append(&x, s.ptr, s.len);
	for (i = x.len; i < SIG_SIGFILE_MAX + 1; i++)
		buf_puts(&x, "\n");
	CHECK_EQ(verify_exact(&pk, msg, n, x.ptr, x.len), -EBADMSG);

	/* Random bytes, and random bytes behind a plausible first line. */
	for (i = 0; i < 200; i++) {
		size_t	 len;

		CHECK_EQ(crypto_random(junk, sizeof(junk)), 0);
		len = (junk[0] | (size_t)junk[1] << 8) % (sizeof(junk) - 2);
		CHECK(verify_exact(&pk, msg, n, (char *)junk + 2, len) < 0);
		buf_reset(&x);
		buf_puts(&x, "untrusted comment: x\n");
		buf_append(&x, junk + 2, len);
		CHECK(verify_exact(&pk, msg, n, x.ptr, x.len) < 0);
	}

	buf_release(&x);
	buf_release(&s);
	sig_seckey_wipe(&sk);
}

/* ---- interop with minisign ---------------------------------------------- */

/* Writes our key pair to dir/our.pub and dir/our.key. */
static int
write_our_keys(const struct sig_seckey *sk, struct sig_pubkey *pk)
{
	struct buf	 t;
	int		 r = -1;

	buf_init(&t, SIG_KEYFILE_MAX);
	sig_seckey_public(sk, pk);
	if (sig_pubkey_format(pk, &t) < 0 ||
	    check_write_file(check_path("our.pub"), t.ptr, t.len) < 0)
		goto out;
	buf_reset(&t);
	if (sig_seckey_format(sk, &t) < 0 ||
	    check_write_file(check_path("our.key"), t.ptr, t.len) < 0)
		goto out;
	r = 0;
out:
	if (t.ptr != NULL)
		crypto_wipe(t.ptr, t.len);
	buf_release(&t);
	return r;
}

/* minisign signs with our secret key; we verify. */
static void
test_interop_minisign_signs(void)
{
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk;
	struct buf		 s, msg, pub, repub;
	const char		*data = "data signed by minisign\n";

	buf_init(&s, SIG_SIGFILE_MAX);
	buf_init(&msg, 1 << 20);
	buf_init(&pub, SIG_KEYFILE_MAX);
	buf_init(&repub, SIG_KEYFILE_MAX);
	CHECK_EQ(sig_keygen(&sk), 0);
	CHECK_EQ(write_our_keys(&sk, &pk), 0);
	CHECK_EQ(check_write_file(check_path("m1"), data, strlen(data)), 0);

	CHECK_EQ(run(MINISIGN " -S -s %s -m %s -x %s -t 'cascade interop'"
	    QUIET, check_path("our.key"), check_path("m1"),
	    check_path("m1.minisig")), 0);
	CHECK_EQ(read_file(check_path("m1.minisig"), &s), 0);
	CHECK(strstr(s.ptr ? s.ptr : "", "\ntrusted comment: cascade "
	    "interop\n") != NULL);
	CHECK_EQ(verify_exact(&pk, data, strlen(data), s.ptr, s.len), 0);
	CHECK_EQ(verify_exact(&pk, "data signed by minisign?", strlen(data),
	    s.ptr, s.len), -EPERM);
	/* minisign itself agrees, with our public key file. */
	CHECK_EQ(run(MINISIGN " -V -H -p %s -m %s -x %s" QUIET,
	    check_path("our.pub"), check_path("m1"),
	    check_path("m1.minisig")), 0);

	/* Legacy signature by minisign -l. */
	CHECK_EQ(run(MINISIGN " -S -l -s %s -m %s -x %s" QUIET,
	    check_path("our.key"), check_path("m1"),
	    check_path("m1.legacy")), 0);
	buf_reset(&s);
	CHECK_EQ(read_file(check_path("m1.legacy"), &s), 0);
	CHECK(strstr(s.ptr ? s.ptr : "", "\nRW") != NULL);	/* "Ed" */
	CHECK_EQ(verify_exact(&pk, data, strlen(data), s.ptr, s.len), 0);
	CHECK_EQ(verify_exact(&pk, "x", 1, s.ptr, s.len), -EPERM);

	/* minisign -R rebuilds the same public key file from our secret. */
	CHECK_EQ(run(MINISIGN " -R -s %s -p %s" QUIET, check_path("our.key"),
	    check_path("re.pub")), 0);
	CHECK_EQ(read_file(check_path("our.pub"), &pub), 0);
	CHECK_EQ(read_file(check_path("re.pub"), &repub), 0);
	CHECK_EQ(pub.len, repub.len);
	CHECK(pub.len == repub.len && memcmp(pub.ptr, repub.ptr,
	    pub.len) == 0);

	buf_release(&repub);
	buf_release(&pub);
	buf_release(&msg);
	buf_release(&s);
	sig_seckey_wipe(&sk);
}

/* We sign; minisign verifies. */
static void
test_interop_minisign_verifies(void)
{
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk;
	struct buf		 s;
	unsigned char		*big;
	size_t			 bign = 3 * 1024 * 1024 + 7, i;

	buf_init(&s, SIG_SIGFILE_MAX);
	CHECK_EQ(sig_keygen(&sk), 0);
	CHECK_EQ(write_our_keys(&sk, &pk), 0);
	big = malloc(bign);
	CHECK(big != NULL);
	if (big == NULL)
		goto out;
	for (i = 0; i < bign; i++)
		big[i] = (unsigned char)(i ^ (i >> 11));
	CHECK_EQ(check_write_file(check_path("m2"), big, bign), 0);

	CHECK_EQ(sig_sign(&sk, big, bign, "timestamp:1\tfile:m2\thashed", &s),
	    0);
	CHECK_EQ(check_write_file(check_path("m2.minisig"), s.ptr, s.len), 0);
	CHECK_EQ(run(MINISIGN " -Vm %s -x %s -p %s" QUIET, check_path("m2"),
	    check_path("m2.minisig"), check_path("our.pub")), 0);
	/* Prehashed, as minisign -H requires. */
	CHECK_EQ(run(MINISIGN " -V -H -m %s -x %s -p %s" QUIET,
	    check_path("m2"), check_path("m2.minisig"),
	    check_path("our.pub")), 0);
	/* minisign prints our trusted comment. */
	CHECK_EQ(run(MINISIGN " -V -Q -m %s -x %s -p %s 2>/dev/null </dev/null"
	    " | grep -qx 'timestamp:1.file:m2.hashed'", check_path("m2"),
	    check_path("m2.minisig"), check_path("our.pub")), 0);

	/* A tampered file fails. */
	big[bign / 2] ^= 0x01;
	CHECK_EQ(check_write_file(check_path("m2"), big, bign), 0);
	CHECK(run(MINISIGN " -Vm %s -x %s -p %s" QUIET, check_path("m2"),
	    check_path("m2.minisig"), check_path("our.pub")) != 0);
	big[bign / 2] ^= 0x01;
	CHECK_EQ(check_write_file(check_path("m2"), big, bign), 0);
	CHECK_EQ(run(MINISIGN " -Vm %s -x %s -p %s" QUIET, check_path("m2"),
	    check_path("m2.minisig"), check_path("our.pub")), 0);
	/* A tampered trusted comment fails. */
	{
		char	*p = strstr(s.ptr, "timestamp:1");

		CHECK(p != NULL);
		if (p != NULL)
			p[10] = '2';
		CHECK_EQ(check_write_file(check_path("m2.bad"), s.ptr, s.len),
		    0);
		CHECK(run(MINISIGN " -Vm %s -x %s -p %s" QUIET,
		    check_path("m2"), check_path("m2.bad"),
		    check_path("our.pub")) != 0);
	}
	/* An empty file. */
	CHECK_EQ(check_write_file(check_path("m3"), "", 0), 0);
	buf_reset(&s);
	CHECK_EQ(sig_sign(&sk, "", 0, "empty", &s), 0);
	CHECK_EQ(check_write_file(check_path("m3.minisig"), s.ptr, s.len), 0);
	CHECK_EQ(run(MINISIGN " -Vm %s -p %s" QUIET, check_path("m3"),
	    check_path("our.pub")), 0);
out:
	free(big);
	buf_release(&s);
	sig_seckey_wipe(&sk);
}

/* A key pair made by minisign -G -W works with us, both ways. */
static void
test_interop_minisign_keys(void)
{
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk, derived;
	struct buf		 pub, key, ours, s;
	char			 hex[17], head[64];
	const char		*data = "signed by cascade with a minisign key";

	buf_init(&pub, SIG_KEYFILE_MAX);
	buf_init(&key, SIG_KEYFILE_MAX);
	buf_init(&ours, SIG_KEYFILE_MAX);
	buf_init(&s, SIG_SIGFILE_MAX);
	CHECK_EQ(run(MINISIGN " -G -W -p %s -s %s" QUIET, check_path("x.pub"),
	    check_path("x.key")), 0);
	CHECK_EQ(read_file(check_path("x.pub"), &pub), 0);
	CHECK_EQ(read_file(check_path("x.key"), &key), 0);
	if (pub.ptr == NULL || key.ptr == NULL)
		goto out;

	CHECK_EQ(pubkey_parse_exact(pub.ptr, pub.len, &pk), 0);
	CHECK_EQ(seckey_parse_exact(key.ptr, key.len, &sk), 0);
	sig_seckey_public(&sk, &derived);
	CHECK(memcmp(&pk, &derived, sizeof(pk)) == 0);
	sig_key_id_hex(pk.id, hex);
	snprintf(head, sizeof(head), "untrusted comment: minisign public "
	    "key %s\n", hex);
	CHECK(strncmp(pub.ptr, head, strlen(head)) == 0);

	/* Our public key file is byte for byte minisign's. */
	CHECK_EQ(sig_pubkey_format(&pk, &ours), 0);
	CHECK_EQ(ours.len, pub.len);
	CHECK(ours.len == pub.len && memcmp(ours.ptr, pub.ptr, pub.len) == 0);
	/* Our secret key file has the same comment line and length. */
	buf_reset(&ours);
	CHECK_EQ(sig_seckey_format(&sk, &ours), 0);
	CHECK_EQ(ours.len, key.len);
	CHECK(strncmp(ours.ptr, key.ptr,
	    (size_t)(strchr(key.ptr, '\n') - key.ptr) + 1) == 0);

	/* We sign, minisign verifies with its own public key. */
	CHECK_EQ(check_write_file(check_path("m4"), data, strlen(data)), 0);
	CHECK_EQ(sig_sign(&sk, data, strlen(data), "by cascade", &s), 0);
	CHECK_EQ(check_write_file(check_path("m4.minisig"), s.ptr, s.len), 0);
	CHECK_EQ(run(MINISIGN " -Vm %s -p %s" QUIET, check_path("m4"),
	    check_path("x.pub")), 0);
	CHECK_EQ(check_write_file(check_path("m4"), "x", 1), 0);
	CHECK(run(MINISIGN " -Vm %s -p %s" QUIET, check_path("m4"),
	    check_path("x.pub")) != 0);
	/* minisign signs with its key, we verify with its public key. */
	CHECK_EQ(run(MINISIGN " -S -s %s -m %s" QUIET, check_path("x.key"),
	    check_path("m4")), 0);
	buf_reset(&s);
	CHECK_EQ(read_file(check_path("m4.minisig"), &s), 0);
	CHECK_EQ(verify_exact(&pk, "x", 1, s.ptr, s.len), 0);
	/* Our secret key file works with minisign too. */
	CHECK_EQ(check_write_file(check_path("ours.key"), ours.ptr, ours.len),
	    0);
	CHECK_EQ(run(MINISIGN " -S -s %s -m %s -x %s" QUIET,
	    check_path("ours.key"), check_path("m4"),
	    check_path("m4.sig2")), 0);
	CHECK_EQ(run(MINISIGN " -Vm %s -x %s -p %s" QUIET, check_path("m4"),
	    check_path("m4.sig2"), check_path("x.pub")), 0);
out:
	if (key.ptr != NULL)
		crypto_wipe(key.ptr, key.len);
	if (ours.ptr != NULL)
		crypto_wipe(ours.ptr, ours.len);
	buf_release(&s);
	buf_release(&ours);
	buf_release(&key);
	buf_release(&pub);
	sig_seckey_wipe(&sk);
}

/* An encrypted minisign key is refused, not misread. */
static void
test_interop_encrypted_key(void)
{
	struct sig_seckey	 sk;
	struct buf		 key;

	buf_init(&key, SIG_KEYFILE_MAX);
	/* minisign reads the password twice from stdin when not a tty. */
	CHECK_EQ(run("printf 'pw\\npw\\n' | " MINISIGN " -G -p %s -s %s"
	    " >/dev/null 2>&1", check_path("e.pub"), check_path("e.key")), 0);
	CHECK_EQ(read_file(check_path("e.key"), &key), 0);
	CHECK_EQ(seckey_parse_exact(key.ptr ? key.ptr : "", key.len, &sk),
	    -ENOTSUP);
	buf_release(&key);
}

int
main(void)
{
	if (check_tmpdir_init("test_sig") < 0)
		return 1;
	RUN(test_key_id_hex);
	RUN(test_pubkey_roundtrip);
	RUN(test_pubkey_bad);
	RUN(test_seckey_roundtrip);
	RUN(test_seckey_bad);
	RUN(test_sign_verify);
	RUN(test_key_id_of);
	RUN(test_sign_comment_limits);
	RUN(test_verify_legacy);
	RUN(test_verify_malformed);
	RUN(test_interop_minisign_signs);
	RUN(test_interop_minisign_verifies);
	RUN(test_interop_minisign_keys);
	RUN(test_interop_encrypted_key);
	check_rm_rf(check_tmpdir);
	return check_end();
}
