/*
 * fuzz_inventory: arbitrary bytes to the parsers of a downstream's
 * inventory and of the upstream's answer to it. Any result but success,
 * -EBADMSG (with a reason), -E2BIG or -ENOMEM is a bug. An inventory that
 * parses is within the caps, sorted (manifest_inventory_find finds each
 * item), emits within the size it came in, and parses back to the same
 * fields; an answer that parses emits, and parses back the same.
 *
 * The corpus in fuzz/corpus/inventory holds small valid and invalid
 * documents like the examples in src/manifest.h.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "manifest.h"
#include "banned.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fail(const char *what, const struct buf *text)
{
	fprintf(stderr, "fuzz_inventory: %s\n", what);
	if (text != NULL && text->ptr != NULL)
		fprintf(stderr, "%s\n", text->ptr);
	abort();
}

static void
check_result(const char *doc, int r, const char *err, size_t errsize)
{
	if (memchr(err, '\0', errsize) == NULL)
		fail("err is not terminated", NULL);
	if (r == 0 || r == -E2BIG || r == -ENOMEM)
		return;
	if (r != -EBADMSG) {
		fprintf(stderr, "fuzz_inventory: %s parse returned %d\n", doc,
		    r);
		abort();
	}
	if (err[0] == '\0')
		fail("-EBADMSG without a reason", NULL);
}

static int
inventory_same(const struct manifest_inventory *a,
    const struct manifest_inventory *b)
{
	size_t	 i;

	if (strcmp(a->name, b->name) != 0 || a->nch != b->nch ||
	    a->nitems != b->nitems)
		return 0;
	for (i = 0; i < a->nch; i++)
		if (strcmp(a->ch[i].name, b->ch[i].name) != 0 ||
		    a->ch[i].serial != b->ch[i].serial)
			return 0;
	for (i = 0; i < a->nitems; i++)
		if (strcmp(a->items[i].channel, b->items[i].channel) != 0 ||
		    strcmp(a->items[i].name, b->items[i].name) != 0 ||
		    a->items[i].version != b->items[i].version ||
		    strcmp(a->items[i].sha256, b->items[i].sha256) != 0)
			return 0;
	return 1;
}

static void
inventory(const char *p, size_t size)
{
	struct manifest_inventory	*inv = NULL, *back = NULL;
	struct buf			 t;
	char				 err[256];
	size_t				 i;
	int				 r;

	memset(err, 'X', sizeof(err));
	r = manifest_inventory_parse(p, size, &inv, err, sizeof(err));
	check_result("inventory", r, err, sizeof(err));
	if (r < 0)
		return;
	if (inv->nch > MANIFEST_INVENTORY_CHANNELS_MAX ||
	    inv->nitems > MANIFEST_INVENTORY_COMPONENTS_MAX)
		fail("inventory: over a cap", NULL);
	for (i = 0; i < inv->nitems; i++)
		if (manifest_inventory_find(inv, inv->items[i].channel,
		    inv->items[i].name) != &inv->items[i])
			fail("inventory: an item is not found", NULL);
	buf_init(&t, MANIFEST_DOC_MAX);
	r = manifest_inventory_emit(inv, &t);
	if (r == 0 && t.len > size)
		fail("inventory: emitted longer than it came", &t);
	if (r == 0)
		r = manifest_inventory_parse(t.ptr, t.len, &back, err,
		    sizeof(err));
	if (r != 0 && r != -ENOMEM)
		fail("inventory: no round trip", &t);
	if (r == 0 && !inventory_same(inv, back))
		fail("inventory: fields differ after a round trip", &t);
	manifest_inventory_free(back);
	manifest_inventory_free(inv);
	buf_release(&t);
}

static void
answer(const char *p, size_t size)
{
	struct manifest_inventory_answer	 a, back;
	struct buf				 t;
	char					 err[256];
	int					 r;

	memset(err, 'X', sizeof(err));
	r = manifest_inventory_answer_parse(p, size, &a, err, sizeof(err));
	check_result("answer", r, err, sizeof(err));
	if (r < 0)
		return;
	buf_init(&t, MANIFEST_DOC_MAX);
	r = manifest_inventory_answer_emit(&a, &t);
	if (r == 0)
		r = manifest_inventory_answer_parse(t.ptr, t.len, &back, err,
		    sizeof(err));
	if (r != 0 && r != -ENOMEM)
		fail("answer: no round trip", &t);
	if (r == 0 && (a.scheduled != back.scheduled ||
	    a.at_startup != back.at_startup || (a.scheduled &&
	    (a.schedule.kind != back.schedule.kind ||
	    a.schedule.every != back.schedule.every ||
	    a.schedule.hour != back.schedule.hour ||
	    a.schedule.minute != back.schedule.minute ||
	    a.schedule.wday != back.schedule.wday))))
		fail("answer: fields differ after a round trip", &t);
	buf_release(&t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data;

	inventory(p, size);
	answer(p, size);
	return 0;
}
