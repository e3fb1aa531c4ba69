/*
 * Unit tests of crypto: known vectors, streaming equals one-shot, strict
 * decoders.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "check.h"
#include "banned.h"

/* Hex of a digest, for comparison with a vector. */
static int
hex_is(const unsigned char *p, size_t n, const char *want)
{
	char	 hex[2 * 64 + 1];

	if (n > 64)
		return 0;
	crypto_hex(p, n, hex);
	return strcmp(hex, want) == 0;
}

static void
test_sha256_vectors(void)
{
	unsigned char		 d[CRYPTO_SHA256_LEN];
	struct crypto_sha256	 h;
	const char		*s = "abcdbcdecdefdefgefghfghighijhijkijkljklm"
				    "klmnlmnomnopnopq";
	size_t			 i;

	CHECK_EQ(crypto_sha256("", 0, d), 0);
	CHECK(hex_is(d, sizeof(d), "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855"));
	CHECK_EQ(crypto_sha256(NULL, 0, d), 0);
	CHECK(hex_is(d, sizeof(d), "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855"));
	CHECK_EQ(crypto_sha256("abc", 3, d), 0);
	CHECK(hex_is(d, sizeof(d), "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad"));

	/* Incremental, one byte at a time. */
	CHECK_EQ(crypto_sha256_init(&h), 0);
	for (i = 0; i < strlen(s); i++)
		CHECK_EQ(crypto_sha256_update(&h, s + i, 1), 0);
	CHECK_EQ(crypto_sha256_final(&h, d), 0);
	CHECK(h.ctx == NULL);
	CHECK(hex_is(d, sizeof(d), "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1"));
	/* Finalized: further use is an error, release is harmless. */
	CHECK_EQ(crypto_sha256_update(&h, "x", 1), -EIO);
	CHECK_EQ(crypto_sha256_final(&h, d), -EIO);
	crypto_sha256_release(&h);
	crypto_sha256_release(NULL);

	/* Released before final: no leak (ASan would tell). */
	CHECK_EQ(crypto_sha256_init(&h), 0);
	CHECK_EQ(crypto_sha256_update(&h, "abc", 3), 0);
	crypto_sha256_release(&h);
}

static void
test_sha256_fd(void)
{
	char		 path[] = "/tmp/test_crypto.XXXXXX";
	unsigned char	*data, one[CRYPTO_SHA256_LEN], fd_d[CRYPTO_SHA256_LEN];
	size_t		 n = 5 * 1024 * 1024 + 12345, i, off;
	uint64_t	 size = 0;
	ssize_t		 w;
	int		 fd;

	data = malloc(n);
	CHECK(data != NULL);
	if (data == NULL)
		return;
	for (i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 2654435761u >> 13);
	fd = mkstemp(path);
	CHECK(fd >= 0);
	if (fd < 0)
		goto out;
	unlink(path);
	for (off = 0; off < n; off += (size_t)w) {
		w = write(fd, data + off, n - off);
		CHECK(w > 0);
		if (w <= 0)
			goto out_close;
	}
	CHECK_EQ(crypto_sha256(data, n, one), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(crypto_sha256_fd(fd, fd_d, &size), 0);
	CHECK_EQ(size, n);
	CHECK(memcmp(one, fd_d, sizeof(one)) == 0);

	/* From the current offset. */
	CHECK_EQ(lseek(fd, 1000, SEEK_SET), 1000);
	CHECK_EQ(crypto_sha256_fd(fd, fd_d, &size), 0);
	CHECK_EQ(size, n - 1000);
	CHECK_EQ(crypto_sha256(data + 1000, n - 1000, one), 0);
	CHECK(memcmp(one, fd_d, sizeof(one)) == 0);

	/* At EOF: the hash of nothing. */
	CHECK_EQ(crypto_sha256_fd(fd, fd_d, &size), 0);
	CHECK_EQ(size, 0);
	CHECK(hex_is(fd_d, sizeof(fd_d), "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855"));
out_close:
	close(fd);
	/* A closed descriptor. */
	size = 77;
	CHECK_EQ(crypto_sha256_fd(fd, fd_d, &size), -EBADF);
	CHECK_EQ(size, 77);
out:
	free(data);
}

static void
test_hex(void)
{
	const unsigned char	 bin[] = { 0x00, 0x01, 0xab, 0xcd, 0xef, 0xff };
	unsigned char		 out[6];
	char			 hex[13];

	crypto_hex(bin, sizeof(bin), hex);
	CHECK(strcmp(hex, "0001abcdefff") == 0);
	crypto_hex(bin, 0, hex);
	CHECK(hex[0] == '\0');

	CHECK_EQ(crypto_unhex("0001abcdefff", 12, out, 6), 0);
	CHECK(memcmp(out, bin, 6) == 0);
	memset(out, 0, sizeof(out));
	CHECK_EQ(crypto_unhex("0001ABCDEFFF", 12, out, 6), 0);
	CHECK(memcmp(out, bin, 6) == 0);
	CHECK_EQ(crypto_unhex("", 0, out, 0), 0);

	CHECK_EQ(crypto_unhex("0001abcdeff", 11, out, 6), -EBADMSG);
	CHECK_EQ(crypto_unhex("0001abcdefff00", 14, out, 6), -EBADMSG);
	CHECK_EQ(crypto_unhex("0001abcdefgf", 12, out, 6), -EBADMSG);
	CHECK_EQ(crypto_unhex("0001abcdef f", 12, out, 6), -EBADMSG);
	CHECK_EQ(crypto_unhex("0001ab\0defff", 12, out, 6), -EBADMSG);
	CHECK_EQ(crypto_unhex("+1", 2, out, 1), -EBADMSG);

	CHECK(crypto_is_sha256_hex("e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855", 64));
	CHECK(!crypto_is_sha256_hex("E3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855", 64));
	CHECK(!crypto_is_sha256_hex("e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b85", 63));
	CHECK(!crypto_is_sha256_hex("e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b85g", 64));
	CHECK(!crypto_is_sha256_hex("", 0));
}

static void
test_base64(void)
{
	/* RFC 4648 section 10. */
	static const char	*vec[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	unsigned char	 bin[300], dec[300];
	char		 enc[401];
	size_t		 i, n, len;

	for (i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		n = crypto_base64_encode(vec[i][0], strlen(vec[i][0]), enc);
		CHECK_EQ(n, strlen(vec[i][1]));
		CHECK(strcmp(enc, vec[i][1]) == 0);
		len = 999;
		CHECK_EQ(crypto_base64_decode(vec[i][1], strlen(vec[i][1]),
		    dec, sizeof(dec), &len), 0);
		CHECK_EQ(len, strlen(vec[i][0]));
		CHECK(memcmp(dec, vec[i][0], len) == 0);
	}

	/* Round trip of every length up to 300. */
	for (i = 0; i < sizeof(bin); i++)
		bin[i] = (unsigned char)(i * 7 + 3);
	for (n = 0; n <= sizeof(bin); n++) {
		size_t	 e = crypto_base64_encode(bin, n, enc);

		CHECK_EQ(e, (n + 2) / 3 * 4);
		CHECK_EQ(strlen(enc), e);
		CHECK_EQ(crypto_base64_decode(enc, e, dec, n, &len), 0);
		CHECK_EQ(len, n);
		CHECK(memcmp(dec, bin, n) == 0);
		if (n > 0)
			CHECK_EQ(crypto_base64_decode(enc, e, dec, n - 1,
			    &len), -E2BIG);
	}

	/* Bad input. */
	len = 12345;
	CHECK_EQ(crypto_base64_decode("Zg=", 3, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zg", 2, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Z===", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("====", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zg==Zg==", 8, dec, 10, &len),
	    -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zm 9", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode(" Zm9", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zm9\n", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zm9v\n", 5, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zm-v", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zm_v", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zm\0v", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zm9=v===", 8, dec, 10, &len),
	    -EBADMSG);
	/* Non-canonical: padding bits set. */
	CHECK_EQ(crypto_base64_decode("Zh==", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zm9=", 4, dec, 10, &len), -EBADMSG);
	CHECK_EQ(crypto_base64_decode("Zm8=", 4, dec, 10, &len), 0);
	CHECK_EQ(len, 2);
	/* Never reads past inlen. */
	CHECK_EQ(crypto_base64_decode("Zm9vYmFyXXXX", 8, dec, 10, &len), 0);
	CHECK_EQ(len, 6);
}

static void
test_ed25519(void)
{
	/* RFC 8032 section 7.1, test 1 and test 2. */
	unsigned char	 seed[32], pk[32], want_pk[32], sig[64], want[64];
	unsigned char	 seed2[32], pk2[32];
	const unsigned char msg2 = 0x72;

	CHECK_EQ(crypto_unhex("9d61b19deffd5a60ba844af492ec2cc4"
	    "4449c5697b326919703bac031cae7f60", 64, seed, 32), 0);
	CHECK_EQ(crypto_unhex("d75a980182b10ab7d54bfed3c964073a"
	    "0ee172f3daa62325af021a68f707511a", 64, want_pk, 32), 0);
	CHECK_EQ(crypto_unhex("e5564300c360ac729086e2cc806e828a"
	    "84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e3970"
	    "1cf9b46bd25bf5f0595bbe24655141438e7a100b", 128, want, 64), 0);
	CHECK_EQ(crypto_ed25519_public(seed, pk), 0);
	CHECK(memcmp(pk, want_pk, 32) == 0);
	CHECK_EQ(crypto_ed25519_sign(seed, NULL, 0, sig), 0);
	CHECK(memcmp(sig, want, 64) == 0);
	CHECK_EQ(crypto_ed25519_verify(pk, NULL, 0, sig), 0);
	CHECK_EQ(crypto_ed25519_verify(pk, "", 0, sig), 0);
	CHECK_EQ(crypto_ed25519_verify(pk, "x", 1, sig), -EPERM);

	CHECK_EQ(crypto_unhex("4ccd089b28ff96da9db6c346ec114e0f"
	    "5b8a319f35aba624da8cf6ed4fb8a6fb", 64, seed, 32), 0);
	CHECK_EQ(crypto_unhex("92a009a9f0d4cab8720e820b5f642540"
	    "a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613"
	    "d0f11d8c387b2eaeb4302aeeb00d291612bb0c00", 128, want, 64), 0);
	CHECK_EQ(crypto_ed25519_public(seed, pk), 0);
	CHECK_EQ(crypto_ed25519_sign(seed, &msg2, 1, sig), 0);
	CHECK(memcmp(sig, want, 64) == 0);
	CHECK_EQ(crypto_ed25519_verify(pk, &msg2, 1, sig), 0);

	/* Fresh keys; any flipped bit fails. */
	CHECK_EQ(crypto_ed25519_keygen(seed, pk), 0);
	CHECK_EQ(crypto_ed25519_keygen(seed2, pk2), 0);
	CHECK(memcmp(seed, seed2, 32) != 0);
	CHECK_EQ(crypto_ed25519_public(seed, want_pk), 0);
	CHECK(memcmp(pk, want_pk, 32) == 0);
	CHECK_EQ(crypto_ed25519_sign(seed, "hello", 5, sig), 0);
	CHECK_EQ(crypto_ed25519_verify(pk, "hello", 5, sig), 0);
	CHECK_EQ(crypto_ed25519_verify(pk2, "hello", 5, sig), -EPERM);
	CHECK_EQ(crypto_ed25519_verify(pk, "hellp", 5, sig), -EPERM);
	CHECK_EQ(crypto_ed25519_verify(pk, "hell", 4, sig), -EPERM);
	sig[10] ^= 0x01;
	CHECK_EQ(crypto_ed25519_verify(pk, "hello", 5, sig), -EPERM);
	sig[10] ^= 0x01;
	sig[63] ^= 0x80;
	CHECK_EQ(crypto_ed25519_verify(pk, "hello", 5, sig), -EPERM);
	sig[63] ^= 0x80;
	pk[0] ^= 0x01;
	CHECK_EQ(crypto_ed25519_verify(pk, "hello", 5, sig), -EPERM);
	pk[0] ^= 0x01;
	CHECK_EQ(crypto_ed25519_verify(pk, "hello", 5, sig), 0);
	crypto_wipe(seed, sizeof(seed));
	crypto_wipe(seed2, sizeof(seed2));
}

static void
test_blake2b(void)
{
	unsigned char	 d512[CRYPTO_BLAKE2B512_LEN];
	unsigned char	 d256[CRYPTO_BLAKE2B256_LEN];

	/* RFC 7693 appendix A ("abc") and the well-known empty digests. */
	CHECK_EQ(crypto_blake2b512("abc", 3, d512), 0);
	CHECK(hex_is(d512, sizeof(d512),
	    "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d1"
	    "7d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"));
	CHECK_EQ(crypto_blake2b512("", 0, d512), 0);
	CHECK(hex_is(d512, sizeof(d512),
	    "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
	    "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"));
	CHECK_EQ(crypto_blake2b512(NULL, 0, d512), 0);
	CHECK(hex_is(d512, sizeof(d512),
	    "786a02f742015903c6c6fd852552d272912f4740e15847618a86e217f71f5419"
	    "d25e1031afee585313896444934eb04b903a685b1448b755d56f701afe9be2ce"));

	CHECK_EQ(crypto_blake2b256("", 0, d256), 0);
	CHECK(hex_is(d256, sizeof(d256),
	    "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8"));
	CHECK_EQ(crypto_blake2b256("abc", 3, d256), 0);
	CHECK(hex_is(d256, sizeof(d256),
	    "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319"));
}

static void
test_misc(void)
{
	unsigned char	 a[64], b[64], zero[64];

	memset(zero, 0, sizeof(zero));
	CHECK_EQ(crypto_random(a, sizeof(a)), 0);
	CHECK_EQ(crypto_random(b, sizeof(b)), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);
	CHECK(memcmp(a, zero, sizeof(a)) != 0);
	CHECK_EQ(crypto_random(a, 0), 0);

	memcpy(b, a, sizeof(a));
	CHECK_EQ(crypto_memeq(a, b, sizeof(a)), 1);
	b[63] ^= 1;
	CHECK_EQ(crypto_memeq(a, b, sizeof(a)), 0);
	CHECK_EQ(crypto_memeq(a, b, 63), 1);
	CHECK_EQ(crypto_memeq(a, b, 0), 1);

	crypto_wipe(a, sizeof(a));
	CHECK(memcmp(a, zero, sizeof(a)) == 0);
	crypto_wipe(NULL, 0);
}

static void
test_random_uniform(void)
{
	unsigned	 seen[10] = { 0 };
	uint64_t	 x;
	int		 i, all = 1;

	CHECK_EQ(crypto_random_uniform(0), 0);
	CHECK_EQ(crypto_random_uniform(1), 0);
	for (i = 0; i < 2000; i++) {
		x = crypto_random_uniform(10);
		if (x >= 10) {
			CHECK(x < 10);
			return;
		}
		seen[x]++;
	}
	/* 2000 draws miss a value with probability about 10 * 0.9^2000 */
	for (i = 0; i < 10; i++)
		all &= seen[i] > 0;
	CHECK(all);
	CHECK(crypto_random_uniform(UINT64_MAX) < UINT64_MAX);
}

static void
test_token_hash(void)
{
	unsigned char	 a[CRYPTO_SHA256_LEN], b[CRYPTO_SHA256_LEN];
	unsigned char	 c[CRYPTO_SHA256_LEN];

	CHECK_EQ(crypto_token_hash(CRYPTO_LABEL_TOKEN, "abc", a), 0);
	CHECK_EQ(crypto_token_hash(CRYPTO_LABEL_NOTIFY, "abc", b), 0);
	CHECK(memcmp(a, b, sizeof(a)) != 0);	/* the labels separate */
	/* SHA-256 of "cascade agent token" NUL "abc" */
	CHECK_EQ(crypto_sha256(CRYPTO_LABEL_TOKEN "\0abc",
	    sizeof(CRYPTO_LABEL_TOKEN) + 3, c), 0);
	CHECK(memcmp(a, c, sizeof(a)) == 0);
}

int
main(void)
{
	RUN(test_sha256_vectors);
	RUN(test_sha256_fd);
	RUN(test_hex);
	RUN(test_base64);
	RUN(test_ed25519);
	RUN(test_blake2b);
	RUN(test_misc);
	RUN(test_random_uniform);
	RUN(test_token_hash);
	return check_end();
}
