/*
 * fuzz_admindoc: arbitrary bytes to the readers of the admin API's
 * documents (manifest_fields_parse, manifest_rows_parse): the bodies the
 * server takes and the answers the CLI reads. Any result but success,
 * -EBADMSG (with a reason), -E2BIG or -ENOMEM is a bug; every value
 * read is NUL-terminated within its buffer, and a member absent or null
 * is empty and not present.
 *
 * The corpus in fuzz/corpus/admindoc holds small valid and invalid
 * documents like those of docs/openapi.yaml.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "banned.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NFIELDS	5

static char	 values[NFIELDS][24];

static void
fields_init(struct manifest_field *f)
{
	static const char *const names[NFIELDS] = { "schedule", "at_startup",
	    "id", "group", "x" };
	static const enum manifest_field_type types[NFIELDS] = {
		MANIFEST_FIELD_STRING, MANIFEST_FIELD_BOOL,
		MANIFEST_FIELD_INT, MANIFEST_FIELD_ANY, MANIFEST_FIELD_ANY };
	int	 i;

	for (i = 0; i < NFIELDS; i++) {
		memset(values[i], 'X', sizeof(values[i]));
		f[i].name = names[i];
		f[i].type = types[i];
		f[i].value = values[i];
		f[i].size = sizeof(values[i]);
		f[i].present = 7;
	}
}

static void
check(const char *what, int r, const char *err, size_t errsize,
    const struct manifest_field *f, size_t n)
{
	size_t	 i;

	if (memchr(err, '\0', errsize) == NULL) {
		fprintf(stderr, "fuzz_admindoc: %s: err not terminated\n",
		    what);
		abort();
	}
	if (r != 0 && r != -EBADMSG && r != -E2BIG && r != -ENOMEM &&
	    r != -EINTR) {
		fprintf(stderr, "fuzz_admindoc: %s returned %d\n", what, r);
		abort();
	}
	if (r == -EBADMSG && err[0] == '\0') {
		fprintf(stderr, "fuzz_admindoc: %s: no reason\n", what);
		abort();
	}
	for (i = 0; r == 0 && i < n; i++) {
		if (memchr(f[i].value, '\0', f[i].size) == NULL ||
		    (f[i].present != 0 && f[i].present != 1) ||
		    (!f[i].present && f[i].value[0] != '\0')) {
			fprintf(stderr, "fuzz_admindoc: %s: field %s\n", what,
			    f[i].name);
			abort();
		}
	}
}

static int
row(void *arg, const struct manifest_field *f, size_t n)
{
	char	 err[1];

	err[0] = '\0';
	check("a row", 0, err, 1, f, n);
	return ++*(int *)arg == 100 ? -EINTR : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest_field	 f[NFIELDS];
	char			 err[256];
	int			 r, rows = 0;

	fields_init(f);
	memset(err, 'X', sizeof(err));
	r = manifest_fields_parse((const char *)data, size, f, NFIELDS, err,
	    sizeof(err));
	check("object", r, err, sizeof(err), f, NFIELDS);
	fields_init(f);
	memset(err, 'X', sizeof(err));
	r = manifest_rows_parse((const char *)data, size, 1u << 20, f,
	    NFIELDS, row, &rows, err, sizeof(err));
	check("rows", r, err, sizeof(err), f, 0);
	return 0;
}
