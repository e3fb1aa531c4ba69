/*
 * fuzz_conf: arbitrary bytes to conf_parse over conf_defaults. Any result
 * but success, -EBADMSG or -E2BIG (-ENOMEM aside) is a bug; so is an error
 * text that is not terminated or, for text without a NUL, does not name
 * its line. A success must leave every value within its documented
 * bounds.
 *
 * The corpus in fuzz/corpus/conf holds conf_sample and a few broken files.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "banned.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf	 c;	/* about 100 KB: not on the stack */

static void
fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_conf: %s%s%s\n", what, err != NULL ? ": " : "",
	    err != NULL ? err : "");
	abort();
}

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void
check_bounds(const struct conf *k)
{
	int	 i;

	if (!terminated(k->channel, sizeof(k->channel)) ||
	    !conf_valid_name(k->channel, 0) ||
	    !conf_valid_name(k->default_kind, 0) ||
	    !conf_valid_name(k->default_edition, 0))
		fail("a name out of bounds", NULL);
	if (k->delta_window < 0 || k->delta_window > 1000 ||
	    k->retention < 1 || k->retention > 100000 ||
	    k->manifest_expires < 60 || k->gc_interval < 60)
		fail("a repository value out of bounds", NULL);
	if (k->threads < 0 || k->threads > 256 ||
	    k->connection_memory < 1024 || k->connection_limit < 1 ||
	    k->connection_timeout < 1 || k->connection_timeout > 86400)
		fail("a server value out of bounds", NULL);
	if (k->nlisten < 0 || k->nlisten > CONF_LISTEN_MAX)
		fail("nlisten out of bounds", NULL);
	for (i = 0; i < k->nlisten; i++)
		if (!terminated(k->listen[i], sizeof(k->listen[i])))
			fail("a listen value not terminated", NULL);
	if (k->ncomponents < 0 || k->ncomponents > CONF_COMPONENTS_MAX)
		fail("ncomponents out of bounds", NULL);
	for (i = 0; i < k->ncomponents; i++) {
		const struct conf_component *cc = &k->components[i];

		if (!terminated(cc->name, sizeof(cc->name)) ||
		    !conf_valid_name(cc->name, 1))
			fail("a component name out of bounds", NULL);
		if (cc->retention < 0 || cc->retention > 100000 ||
		    cc->delta_window < -1 || cc->delta_window > 1000)
			fail("a component value out of bounds", NULL);
		if (conf_retention(k, cc->name) < 1 ||
		    conf_delta_window(k, cc->name) < 0)
			fail("an effective value out of bounds", NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data;
	char		 err[CONF_ERROR_MAX];
	int		 r;

	conf_defaults(&c);
	memset(err, 'X', sizeof(err));
	r = conf_parse(&c, p, size, err);
	if (!terminated(err, sizeof(err)))
		fail("err is not terminated", NULL);
	if (r == 0) {
		check_bounds(&c);
		return 0;
	}
	if (r != -EBADMSG && r != -E2BIG && r != -ENOMEM) {
		fprintf(stderr, "fuzz_conf: conf_parse returned %d\n", r);
		abort();
	}
	if (r == -EBADMSG && err[0] == '\0')
		fail("-EBADMSG without a reason", NULL);
	if (r == -EBADMSG && memchr(p, '\0', size) == NULL &&
	    strncmp(err, "line ", 5) != 0)
		fail("the error does not name its line", err);
	return 0;
}
