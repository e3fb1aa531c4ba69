/*
 * fuzz_http: the parsers of untrusted header values, http_range_parse and
 * http_etag_match. The input is split at its first newline into two
 * NUL-terminated strings, a header value and an etag (without a newline,
 * all of it is the header and the etag is empty); both are tried either
 * way round.
 *
 * Range is parsed against a few sizes: a result of 1 must be a non-empty
 * range inside the representation, and any other result (0 or -ERANGE)
 * must leave the outputs alone. An etag match needs the etag or a '*' in
 * the header; a well-formed strong etag matches itself, its weak form
 * and itself in a list.
 *
 * The corpus in fuzz/corpus/http holds lines like "bytes=0-99\n\"abc\"".
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "banned.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define UNSET	((uint64_t)0x5eedf00dULL)

static const uint64_t	 sizes[] = {
	0, 1, 2, 9, 10, 100, 65536, (uint64_t)1 << 53, UINT64_MAX - 1,
	UINT64_MAX,
};

static void
check_range(const char *h)
{
	uint64_t	 off, len;
	size_t		 i;
	int		 r;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		off = UNSET;
		len = UNSET;
		r = http_range_parse(h, sizes[i], &off, &len);
		if (r == 1) {
			if (len == 0 || off >= sizes[i] ||
			    len > sizes[i] - off) {
				fprintf(stderr, "fuzz_http: range '%s' size "
				    "%llu gave off %llu len %llu\n", h,
				    (unsigned long long)sizes[i],
				    (unsigned long long)off,
				    (unsigned long long)len);
				abort();
			}
		} else if (r == 0 || r == -ERANGE) {
			if (off != UNSET || len != UNSET)
				abort();
		} else
			abort();
	}
}

/* "etag" as RFC 9110 has it: DQUOTE *etagc DQUOTE, etagc = %x21 /
 * %x23-7E / obs-text. */
static int
strong_etag(const char *e)
{
	size_t	 i, n = strlen(e);

	if (n < 2 || e[0] != '"' || e[n - 1] != '"')
		return 0;
	for (i = 1; i < n - 1; i++) {
		unsigned char	 ch = (unsigned char)e[i];

		if (ch < 0x21 || ch == '"' || ch == 0x7f)
			return 0;
	}
	return 1;
}

static void
check_etag(const char *inm, const char *etag)
{
	char	*t;
	size_t	 n;
	int	 r;

	r = http_etag_match(inm, etag);
	if (r != 0 && r != 1)
		abort();
	if (r == 1 && etag[0] != '\0' && strstr(inm, etag) == NULL &&
	    strchr(inm, '*') == NULL) {
		fprintf(stderr, "fuzz_http: '%s' matched etag '%s'\n", inm,
		    etag);
		abort();
	}
	if (!strong_etag(etag))
		return;
	if (http_etag_match(etag, etag) != 1)
		abort();
	n = strlen(etag);
	t = malloc(n + 16);
	if (t == NULL)
		return;
	snprintf(t, n + 16, "W/%s", etag);
	if (http_etag_match(t, etag) != 1)
		abort();
	snprintf(t, n + 16, "\"-\", %s ,", etag);
	if (http_etag_match(t, etag) != 1)
		abort();
	free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*nl;
	char		*a, *b;
	size_t		 na, nb;

	nl = memchr(data, '\n', size);
	na = nl != NULL ? (size_t)(nl - data) : size;
	nb = nl != NULL ? size - na - 1 : 0;
	a = malloc(na + 1);
	b = malloc(nb + 1);
	if (a == NULL || b == NULL) {
		free(a);
		free(b);
		return 0;
	}
	if (na > 0)
		memcpy(a, data, na);
	a[na] = '\0';
	if (nb > 0)
		memcpy(b, data + na + 1, nb);
	b[nb] = '\0';

	check_range(a);
	check_range(b);
	check_etag(a, b);
	check_etag(b, a);
	if (http_etag_match(NULL, b) != 0)
		abort();

	free(a);
	free(b);
	return 0;
}
