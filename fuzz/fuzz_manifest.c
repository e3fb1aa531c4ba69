/*
 * fuzz_manifest: arbitrary bytes to manifest_parse. Any result but
 * success, -EBADMSG (with a reason), -E2BIG or -ENOMEM is a bug. A
 * manifest that parses must emit, and the text must parse back to the
 * same manifest, field by field, and emit to the same bytes again (the
 * emitted text is canonical).
 *
 * The corpus in fuzz/corpus/manifest holds small valid and invalid
 * manifests, the valid ones like the example in src/manifest.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "manifest.h"
#include "banned.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const struct buf *text)
{
	fprintf(stderr, "fuzz_manifest: %s\n", what);
	if (text != NULL && text->ptr != NULL)
		fprintf(stderr, "%s", text->ptr);
	abort();
}

static void
check_same(const struct manifest *a, const struct manifest *b,
    const struct buf *text)
{
	const struct manifest_component	*ca, *cb;
	size_t				 i, j;

	if (strcmp(a->channel, b->channel) != 0)
		fail("channel differs after a round trip", text);
	if (a->serial != b->serial)
		fail("serial differs", text);
	if (a->issued != b->issued)
		fail("issued differs", text);
	if (a->expires != b->expires)
		fail("expires differs", text);
	if (a->ncomponents != b->ncomponents)
		fail("ncomponents differs", text);
	for (i = 0; i < a->ncomponents; i++) {
		ca = &a->components[i];
		cb = &b->components[i];
		if (strcmp(ca->name, cb->name) != 0 ||
		    strcmp(ca->kind, cb->kind) != 0 ||
		    strcmp(ca->edition, cb->edition) != 0)
			fail("component names differ", text);
		if (ca->version != cb->version || ca->size != cb->size)
			fail("component numbers differ", text);
		if (strcmp(ca->sha256, cb->sha256) != 0)
			fail("component sha256 differs", text);
		if (ca->ndeltas != cb->ndeltas)
			fail("ndeltas differs", text);
		for (j = 0; j < ca->ndeltas; j++)
			if (ca->deltas[j].from != cb->deltas[j].from ||
			    ca->deltas[j].size != cb->deltas[j].size ||
			    strcmp(ca->deltas[j].sha256,
			    cb->deltas[j].sha256) != 0)
				fail("delta differs", text);
	}
}

static void
round_trip(const struct manifest *m)
{
	struct manifest	*back = NULL;
	struct buf	 t1, t2;
	char		 err[256];
	int		 r;

	buf_init(&t1, MANIFEST_SIZE_MAX);
	buf_init(&t2, MANIFEST_SIZE_MAX);
	r = manifest_emit(m, &t1);
	if (r == -ENOMEM)
		goto out;
	if (r < 0)
		fail("a parsed manifest does not emit", NULL);
	r = manifest_parse(t1.ptr, t1.len, &back, err, sizeof(err));
	if (r == -ENOMEM)
		goto out;
	if (r < 0) {
		fprintf(stderr, "fuzz_manifest: re-parse: %d %s\n", r, err);
		fail("the emitted text does not parse", &t1);
	}
	check_same(m, back, &t1);
	r = manifest_emit(back, &t2);
	if (r == -ENOMEM)
		goto out;
	if (r < 0 || t1.len != t2.len || memcmp(t1.ptr, t2.ptr, t1.len) != 0)
		fail("emit is not canonical", &t1);
out:
	manifest_free(back);
	buf_release(&t1);
	buf_release(&t2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct manifest_state	 st;
	struct manifest	*m = NULL;
	char		 err[256];
	int		 r;

	/* the unsigned state document a mirror polls goes through here too */
	if (manifest_state_parse((const char *)data, size, &st) == 0 &&
	    st.nch > MANIFEST_STATE_CHANNELS_MAX)
		fail("state: too many channels", NULL);

	memset(err, 'X', sizeof(err));
	r = manifest_parse((const char *)data, size, &m, err, sizeof(err));
	if (memchr(err, '\0', sizeof(err)) == NULL)
		fail("err is not terminated", NULL);
	if (r == 0) {
		if (m == NULL)
			fail("success without a manifest", NULL);
		round_trip(m);
		manifest_free(m);
		return 0;
	}
	if (m != NULL)
		fail("a manifest returned with an error", NULL);
	if (r == -EBADMSG && err[0] == '\0')
		fail("-EBADMSG without a reason", NULL);
	if (r != -EBADMSG && r != -E2BIG && r != -ENOMEM) {
		fprintf(stderr, "fuzz_manifest: manifest_parse returned %d "
		    "(%s)\n", r, err);
		abort();
	}
	return 0;
}
