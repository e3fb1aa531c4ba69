/*
 * fuzz_sig: the minisign parsers on untrusted bytes. The input goes to
 * sig_pubkey_parse, sig_seckey_parse and sig_verify (with a fixed key and
 * message, which fuzz/corpus/sig/ has valid signatures for). A key that
 * parses must format and parse back to itself.
 *
 * The fixed key: seed 01 02 .. 20, id "cascFUZZ"; the message FUZZ_MSG.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "sig.h"
#include "banned.h"

#define FUZZ_MSG	"cascade fuzz message\n"

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct sig_pubkey	 fixed;
static int			 fixed_ready;

static void
fixed_setup(void)
{
	unsigned char	 seed[CRYPTO_ED25519_SEED_LEN];
	size_t		 i;

	for (i = 0; i < sizeof(seed); i++)
		seed[i] = (unsigned char)(i + 1);
	memcpy(fixed.id, "cascFUZZ", SIG_KEY_ID_LEN);
	if (crypto_ed25519_public(seed, fixed.pk) < 0)
		abort();
	fixed_ready = 1;
}

static void
pubkey_roundtrip(const struct sig_pubkey *pk)
{
	struct sig_pubkey	 again;
	struct buf		 t;

	buf_init(&t, SIG_KEYFILE_MAX);
	if (sig_pubkey_format(pk, &t) < 0 ||
	    sig_pubkey_parse(t.ptr, t.len, &again) < 0 ||
	    memcmp(pk, &again, sizeof(again)) != 0)
		abort();
	buf_release(&t);
}

static void
seckey_roundtrip(const struct sig_seckey *sk)
{
	struct sig_seckey	 again;
	struct buf		 t;

	buf_init(&t, SIG_KEYFILE_MAX);
	if (sig_seckey_format(sk, &t) < 0 ||
	    sig_seckey_parse(t.ptr, t.len, &again) < 0 ||
	    memcmp(sk, &again, sizeof(again)) != 0)
		abort();
	buf_release(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char		*p = (const char *)data;
	struct sig_pubkey	 pk;
	struct sig_seckey	 sk;
	int			 r;

	if (!fixed_ready)
		fixed_setup();

	r = sig_pubkey_parse(p, size, &pk);
	if (r == 0)
		pubkey_roundtrip(&pk);
	else if (r != -EBADMSG && r != -ENOTSUP)
		abort();

	r = sig_seckey_parse(p, size, &sk);
	if (r == 0)
		seckey_roundtrip(&sk);
	else if (r != -EBADMSG && r != -ENOTSUP && r != -EPERM)
		abort();

	r = sig_verify(&fixed, FUZZ_MSG, strlen(FUZZ_MSG), p, size);
	if (r != 0 && r != -EBADMSG && r != -ENOKEY && r != -EPERM)
		abort();
	return 0;
}
