/*
 * Unit tests of manifest: building with manifest_new/manifest_add, the
 * canonical emit, parsing it back field by field, and the strict parser
 * on malformed, out-of-range and oversized input; the agents'
 * enrolment, status and policy documents, and a downstream's inventory
 * and its answer, each way.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "manifest.h"
#include "ts.h"
#include "check.h"
#include "banned.h"

#define H1 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define H2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define H3 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define H4 "0000000000000000000000000000000000000000000000000000000000000000"

/* The example of manifest.h, with real hashes. */
static const char	 valid[] =
    "{\"format\": 1, \"channel\": \"main\", \"serial\": 3,\n"
    " \"issued\": \"2026-11-22T10:00:00Z\", "
    "\"expires\": \"2026-11-29T10:00:00Z\",\n"
    " \"components\": [{\"name\": \"virus-pattern\", \"kind\": \"pattern\",\n"
    "     \"edition\": \"standard\", \"version\": 2, \"size\": 1234,\n"
    "     \"sha256\": \"" H1 "\", \"deltas\": [{\"from\": 1, \"size\": 56,\n"
    "     \"sha256\": \"" H2 "\"}]}]}";

/* ---- helpers ------------------------------------------------------------ */

static int
parse_str(const char *s, struct manifest **ret_m, char *err, size_t errsize)
{
	return manifest_parse(s, strlen(s), ret_m, err, errsize);
}

/* valid with the first `from` replaced by `to`; caller frees. */
static char *
variant(const char *base, const char *from, const char *to)
{
	const char	*at = strstr(base, from);
	struct buf	 b;

	if (at == NULL) {
		fprintf(stderr, "no '%s' in the base text\n", from);
		abort();
	}
	buf_init(&b, MANIFEST_SIZE_MAX);
	if (buf_append(&b, base, (size_t)(at - base)) < 0 ||
	    buf_puts(&b, to) < 0 || buf_puts(&b, at + strlen(from)) < 0)
		abort();
	return buf_detach(&b, NULL);
}

/* Parses an exact-size heap copy (no NUL after it, for ASan). */
static int
parse_exact(const char *s, size_t n, struct manifest **ret_m, char *err,
    size_t errsize)
{
	char	*p;
	int	 r;

	p = malloc(n > 0 ? n : 1);
	if (p == NULL)
		abort();
	memcpy(p, s, n);
	r = manifest_parse(p, n, ret_m, err, errsize);
	free(p);
	return r;
}

/* Every field, in order; a message names the first difference. */
static int
manifest_same(const struct manifest *a, const struct manifest *b)
{
	const struct manifest_component	*ca, *cb;
	size_t				 i, j;

#define DIFF(what) do {							\
	fprintf(stderr, "manifests differ in %s\n", what);		\
	return 0;							\
} while (0)
	if (strcmp(a->channel, b->channel) != 0)
		DIFF("channel");
	if (a->serial != b->serial)
		DIFF("serial");
	if (a->issued != b->issued)
		DIFF("issued");
	if (a->expires != b->expires)
		DIFF("expires");
	if (a->ncomponents != b->ncomponents)
		DIFF("ncomponents");
	for (i = 0; i < a->ncomponents; i++) {
		ca = &a->components[i];
		cb = &b->components[i];
		if (strcmp(ca->name, cb->name) != 0)
			DIFF("name");
		if (strcmp(ca->kind, cb->kind) != 0)
			DIFF("kind");
		if (strcmp(ca->edition, cb->edition) != 0)
			DIFF("edition");
		if (ca->version != cb->version)
			DIFF("version");
		if (ca->size != cb->size)
			DIFF("size");
		if (strcmp(ca->sha256, cb->sha256) != 0)
			DIFF("sha256");
		if (ca->ndeltas != cb->ndeltas)
			DIFF("ndeltas");
		for (j = 0; j < ca->ndeltas; j++) {
			if (ca->deltas[j].from != cb->deltas[j].from)
				DIFF("delta from");
			if (ca->deltas[j].size != cb->deltas[j].size)
				DIFF("delta size");
			if (strcmp(ca->deltas[j].sha256,
			    cb->deltas[j].sha256) != 0)
				DIFF("delta sha256");
		}
	}
#undef DIFF
	return 1;
}

static void
component(struct manifest_component *c, const char *name, uint64_t version,
    uint64_t size, const char *hex)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->kind, sizeof(c->kind), "pattern");
	snprintf(c->edition, sizeof(c->edition), "standard");
	c->version = version;
	c->size = size;
	snprintf(c->sha256, sizeof(c->sha256), "%s", hex);
}

/* A manifest with three components, one of them with deltas. */
static struct manifest *
build(void)
{
	struct manifest_delta		 d[3];
	struct manifest_component	 c;
	struct manifest			*m;

	m = manifest_new("main");
	if (m == NULL)
		return NULL;
	m->serial = 42;
	m->issued = 1795341600;			/* 2026-11-22T10:00:00Z */
	m->expires = 1795341600 + 7 * 86400;

	component(&c, "virus-pattern", 7, 123456, H1);
	memset(d, 0, sizeof(d));
	d[0].from = 6;
	d[0].size = 100;
	memcpy(d[0].sha256, H2, sizeof(H2));
	d[1].from = 5;
	d[1].size = 2000;
	memcpy(d[1].sha256, H3, sizeof(H3));
	d[2].from = 1;
	d[2].size = 0;
	memcpy(d[2].sha256, H4, sizeof(H4));
	c.deltas = d;
	c.ndeltas = 3;
	if (manifest_add(m, &c) != 0)
		goto fail;

	component(&c, "clamav/daily", 1, 0, H4);
	snprintf(c.kind, sizeof(c.kind), "db");
	snprintf(c.edition, sizeof(c.edition), "free.v2");
	if (manifest_add(m, &c) != 0)
		goto fail;

	component(&c, "engine", MANIFEST_NUMBER_MAX, MANIFEST_NUMBER_MAX, H2);
	if (manifest_add(m, &c) != 0)
		goto fail;
	return m;
fail:
	manifest_free(m);
	return NULL;
}

/* text must be refused with want, and a reason given for -EBADMSG. */
static void
refuse(const char *text, size_t n, int want, int *ok)
{
	struct manifest	*m = NULL;
	char		 err[256];
	int		 r;

	memset(err, 0, sizeof(err));
	r = parse_exact(text, n, &m, err, sizeof(err));
	if (r != want || m != NULL || (r == -EBADMSG && err[0] == '\0')) {
		fprintf(stderr, "manifest [%.*s]: got %d (%s), want %d\n",
		    n > 300 ? 300 : (int)n, text, r, err, want);
		*ok = 0;
	}
	manifest_free(m);
}

static void
refuse_variant(const char *from, const char *to, int *ok)
{
	char	*t = variant(valid, from, to);

	refuse(t, strlen(t), -EBADMSG, ok);
	free(t);
}

/* ---- tests -------------------------------------------------------------- */

static void
test_parse_valid(void)
{
	const struct manifest_component	*c;
	struct manifest			*m = NULL;
	char				 err[256];
	time_t				 t;
	int				 r;

	r = parse_exact(valid, strlen(valid), &m, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(r, 0);
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK(strcmp(m->channel, "main") == 0);
	CHECK_EQ(m->serial, 3);
	CHECK_EQ(ts_parse("2026-11-22T10:00:00Z", TS_LEN, &t), 0);
	CHECK_EQ(m->issued, t);
	CHECK_EQ(m->expires, t + 7 * 86400);
	CHECK_EQ(m->ncomponents, 1);
	c = manifest_find(m, "virus-pattern");
	CHECK(c == &m->components[0]);
	if (c != NULL) {
		CHECK(strcmp(c->kind, "pattern") == 0);
		CHECK(strcmp(c->edition, "standard") == 0);
		CHECK_EQ(c->version, 2);
		CHECK_EQ(c->size, 1234);
		CHECK(strcmp(c->sha256, H1) == 0);
		CHECK_EQ(c->ndeltas, 1);
		if (c->ndeltas == 1) {
			CHECK_EQ(c->deltas[0].from, 1);
			CHECK_EQ(c->deltas[0].size, 56);
			CHECK(strcmp(c->deltas[0].sha256, H2) == 0);
		}
	}
	CHECK(manifest_find(m, "virus") == NULL);
	CHECK(manifest_find(m, "") == NULL);
	manifest_free(m);

	/* err may be NULL */
	m = NULL;
	CHECK_EQ(manifest_parse(valid, strlen(valid), &m, NULL, 0), 0);
	manifest_free(m);
	manifest_free(NULL);
}

static void
test_parse_minimal(void)
{
	static const char	 text[] = "{\"format\":1,\"channel\":\"c\","
	    "\"serial\":1,\"issued\":\"1970-01-01T00:00:00Z\","
	    "\"expires\":\"1970-01-01T00:00:01Z\",\"components\":[]}";
	struct manifest		*m = NULL;

	CHECK_EQ(parse_exact(text, sizeof(text) - 1, &m, NULL, 0), 0);
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK_EQ(m->ncomponents, 0);
	CHECK_EQ(m->issued, 0);
	CHECK_EQ(m->expires, 1);
	manifest_free(m);
}

static void
test_build_emit_parse(void)
{
	const struct manifest_component	*c;
	struct manifest			*m, *back = NULL;
	struct buf			 b;
	char				 err[256];
	int				 r;

	m = build();
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK_EQ(m->ncomponents, 3);
	c = manifest_find(m, "virus-pattern");
	CHECK(c != NULL && c->ndeltas == 3 && c->deltas[1].from == 5);
	c = manifest_find(m, "clamav/daily");
	CHECK(c != NULL && c->ndeltas == 0 && c->deltas == NULL);

	buf_init(&b, MANIFEST_SIZE_MAX);
	CHECK_EQ(manifest_emit(m, &b), 0);
	CHECK(b.len > 0 && b.ptr[b.len - 1] == '\n');
	r = manifest_parse(b.ptr, b.len, &back, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "%s\n%s", err, b.ptr);
	CHECK_EQ(r, 0);
	if (back != NULL) {
		CHECK(manifest_same(m, back));
		/* deltas keep their order */
		c = manifest_find(back, "virus-pattern");
		CHECK(c != NULL && c->ndeltas == 3 && c->deltas[0].from == 6 &&
		    c->deltas[1].from == 5 && c->deltas[2].from == 1);
		c = manifest_find(back, "engine");
		CHECK(c != NULL && c->version == MANIFEST_NUMBER_MAX);
	}
	manifest_free(back);
	manifest_free(m);
	buf_release(&b);
}

/* The same manifest gives the same bytes, also after a round trip. */
static void
test_emit_deterministic(void)
{
	struct manifest	*m, *back = NULL;
	struct buf	 a, b, c;

	m = build();
	CHECK(m != NULL);
	if (m == NULL)
		return;
	buf_init(&a, MANIFEST_SIZE_MAX);
	buf_init(&b, MANIFEST_SIZE_MAX);
	buf_init(&c, MANIFEST_SIZE_MAX);
	CHECK_EQ(manifest_emit(m, &a), 0);
	CHECK_EQ(manifest_emit(m, &b), 0);
	CHECK(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0);
	CHECK_EQ(manifest_parse(a.ptr, a.len, &back, NULL, 0), 0);
	if (back != NULL) {
		CHECK_EQ(manifest_emit(back, &c), 0);
		CHECK(a.len == c.len && memcmp(a.ptr, c.ptr, a.len) == 0);
	}
	manifest_free(back);
	manifest_free(m);
	buf_release(&a);
	buf_release(&b);
	buf_release(&c);
}

/* The canonical text, byte for byte (docs/formats.md shows it). */
static void
test_emit_canonical(void)
{
	static const char	 want[] =
	    "{\n"
	    "  \"format\": 1,\n"
	    "  \"channel\": \"main\",\n"
	    "  \"serial\": 3,\n"
	    "  \"issued\": \"2026-11-22T10:00:00Z\",\n"
	    "  \"expires\": \"2026-11-29T10:00:00Z\",\n"
	    "  \"components\": [\n"
	    "    {\n"
	    "      \"name\": \"virus-pattern\",\n"
	    "      \"kind\": \"pattern\",\n"
	    "      \"edition\": \"standard\",\n"
	    "      \"version\": 2,\n"
	    "      \"size\": 1234,\n"
	    "      \"sha256\": \"" H1 "\",\n"
	    "      \"deltas\": [\n"
	    "        {\n"
	    "          \"from\": 1,\n"
	    "          \"size\": 56,\n"
	    "          \"sha256\": \"" H2 "\"\n"
	    "        }\n"
	    "      ]\n"
	    "    }\n"
	    "  ]\n"
	    "}\n";
	struct manifest		*m = NULL;
	struct buf		 b;

	CHECK_EQ(parse_str(valid, &m, NULL, 0), 0);
	if (m == NULL)
		return;
	buf_init(&b, MANIFEST_SIZE_MAX);
	CHECK_EQ(manifest_emit(m, &b), 0);
	if (b.ptr == NULL || strcmp(b.ptr, want) != 0) {
		fprintf(stderr, "emitted:\n%s", b.ptr != NULL ? b.ptr : "");
		CHECK(0);
	}
	buf_release(&b);
	manifest_free(m);
}

/* emit appends, and respects the buffer's cap. */
static void
test_emit_append_cap(void)
{
	struct manifest	*m;
	struct buf	 b;

	m = build();
	CHECK(m != NULL);
	if (m == NULL)
		return;
	buf_init(&b, MANIFEST_SIZE_MAX);
	CHECK_EQ(buf_puts(&b, "prefix:"), 0);
	CHECK_EQ(manifest_emit(m, &b), 0);
	CHECK(strncmp(b.ptr, "prefix:{\n", 9) == 0);
	buf_release(&b);
	buf_init(&b, 100);
	CHECK_EQ(manifest_emit(m, &b), -E2BIG);
	CHECK_EQ(b.len, 0);
	buf_release(&b);
	manifest_free(m);
}

static void
test_emit_empty(void)
{
	struct manifest	*m, *back = NULL;
	struct buf	 b;

	m = manifest_new("clamav");
	CHECK(m != NULL);
	if (m == NULL)
		return;
	CHECK_EQ(m->ncomponents, 0);
	m->serial = 1;
	m->issued = 100;
	m->expires = 200;
	buf_init(&b, MANIFEST_SIZE_MAX);
	CHECK_EQ(manifest_emit(m, &b), 0);
	CHECK(strstr(b.ptr, "\"components\": []") != NULL);
	CHECK_EQ(manifest_parse(b.ptr, b.len, &back, NULL, 0), 0);
	if (back != NULL)
		CHECK(manifest_same(m, back));
	manifest_free(back);
	manifest_free(m);
	buf_release(&b);
}

static void
test_new(void)
{
	char		 name[MANIFEST_NAME_MAX + 2];
	struct manifest	*m;

	memset(name, 'a', sizeof(name));
	name[MANIFEST_NAME_MAX] = '\0';
	m = manifest_new(name);
	CHECK(m != NULL);
	if (m != NULL) {
		CHECK(strcmp(m->channel, name) == 0);
		CHECK_EQ(m->serial, 0);
		CHECK_EQ(m->ncomponents, 0);
	}
	manifest_free(m);
	name[MANIFEST_NAME_MAX] = 'a';
	name[MANIFEST_NAME_MAX + 1] = '\0';
	CHECK(manifest_new(name) == NULL);
}

static void
test_add_rejects(void)
{
	struct manifest_delta		 d[MANIFEST_DELTAS_MAX + 1];
	struct manifest_component	 c;
	struct manifest			*m;
	size_t				 i;

	m = manifest_new("main");
	CHECK(m != NULL);
	if (m == NULL)
		return;
	component(&c, "../x", 2, 1, H1);
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	component(&c, "a//b", 2, 1, H1);
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	component(&c, "", 2, 1, H1);
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	component(&c, "ok", 2, 1, H1);
	snprintf(c.kind, sizeof(c.kind), "a/b");	/* no slash in kinds */
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	component(&c, "ok", 2, 1, H1);
	c.edition[0] = '\0';
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	component(&c, "ok", 0, 1, H1);
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	component(&c, "ok", MANIFEST_NUMBER_MAX + 1, 1, H1);
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	component(&c, "ok", 1, MANIFEST_NUMBER_MAX + 1, H1);
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	component(&c, "ok", 1, 1, "ABCDEF0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789");
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	component(&c, "ok", 1, 1, "abc");
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);

	/* deltas */
	memset(d, 0, sizeof(d));
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		d[i].from = i + 1;
		memcpy(d[i].sha256, H2, sizeof(H2));
	}
	component(&c, "ok", 3, 1, H1);
	c.deltas = d;
	c.ndeltas = 1;
	d[0].from = 3;				/* from == version */
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	d[0].from = 4;				/* from > version */
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	d[0].from = 0;
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	d[0].from = 1;
	d[1].from = 1;				/* twice */
	c.ndeltas = 2;
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	d[1].from = 2;
	d[1].sha256[0] = 'X';
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	d[1].sha256[0] = 'f';
	d[1].size = MANIFEST_NUMBER_MAX + 1;
	CHECK_EQ(manifest_add(m, &c), -EBADMSG);
	d[1].size = 0;
	CHECK_EQ(m->ncomponents, 0);
	CHECK_EQ(manifest_add(m, &c), 0);	/* now it is fine */
	CHECK_EQ(m->ncomponents, 1);

	/* MANIFEST_DELTAS_MAX + 1 deltas */
	component(&c, "many", MANIFEST_DELTAS_MAX + 5, 1, H1);
	c.deltas = d;
	c.ndeltas = MANIFEST_DELTAS_MAX + 1;
	CHECK_EQ(manifest_add(m, &c), -E2BIG);
	c.ndeltas = MANIFEST_DELTAS_MAX;
	CHECK_EQ(manifest_add(m, &c), 0);

	/* the same name again */
	component(&c, "ok", 9, 1, H1);
	CHECK_EQ(manifest_add(m, &c), -EEXIST);
	CHECK_EQ(m->ncomponents, 2);
	manifest_free(m);
}

/* manifest_add copies: the caller's deltas can go away. */
static void
test_add_copies(void)
{
	struct manifest_component	 c;
	struct manifest_delta		*d;
	struct manifest			*m;

	m = manifest_new("main");
	d = calloc(2, sizeof(*d));
	CHECK(m != NULL && d != NULL);
	if (m == NULL || d == NULL) {
		manifest_free(m);
		free(d);
		return;
	}
	component(&c, "x", 9, 10, H1);
	d[0].from = 8;
	memcpy(d[0].sha256, H2, sizeof(H2));
	d[1].from = 7;
	memcpy(d[1].sha256, H3, sizeof(H3));
	c.deltas = d;
	c.ndeltas = 2;
	CHECK_EQ(manifest_add(m, &c), 0);
	memset(d, 0, 2 * sizeof(*d));
	free(d);
	memset(&c, 0, sizeof(c));
	CHECK(m->components[0].deltas != NULL);
	CHECK_EQ(m->components[0].deltas[1].from, 7);
	CHECK(strcmp(m->components[0].deltas[1].sha256, H3) == 0);
	CHECK(strcmp(m->components[0].name, "x") == 0);
	manifest_free(m);
}

static void
test_too_many_components(void)
{
	struct manifest_component	 c;
	struct manifest			*m;
	char				 name[32];
	size_t				 i;
	int				 ok = 1;

	m = manifest_new("main");
	CHECK(m != NULL);
	if (m == NULL)
		return;
	for (i = 0; i < MANIFEST_COMPONENTS_MAX; i++) {
		snprintf(name, sizeof(name), "c%zu", i);
		component(&c, name, 1, 1, H1);
		if (manifest_add(m, &c) != 0)
			ok = 0;
	}
	CHECK(ok);
	component(&c, "one-more", 1, 1, H1);
	CHECK_EQ(manifest_add(m, &c), -E2BIG);
	manifest_free(m);
}

static void
test_not_json(void)
{
	static const char	*bad[] = {
		"", " ", "{", "}", "hello", "{\"format\": 1", "{format: 1}",
		"{'format': 1}", "\xef\xbb\xbf{}",
	};
	size_t			 i;
	int			 ok = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refuse(bad[i], strlen(bad[i]), -EBADMSG, &ok);
	CHECK(ok);
}

static void
test_not_object(void)
{
	static const char	*bad[] = {
		"[]", "[1, 2]", "null", "1", "true", "\"str\"",
		"[{\"format\": 1}]",
	};
	size_t			 i;
	int			 ok = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refuse(bad[i], strlen(bad[i]), -EBADMSG, &ok);
	refuse("{}", 2, -EBADMSG, &ok);
	CHECK(ok);
}

static void
test_format(void)
{
	int	 ok = 1;

	refuse_variant("\"format\": 1", "\"format\": 2", &ok);
	refuse_variant("\"format\": 1", "\"format\": 0", &ok);
	refuse_variant("\"format\": 1", "\"format\": -1", &ok);
	refuse_variant("\"format\": 1", "\"format\": \"1\"", &ok);
	refuse_variant("\"format\": 1", "\"format\": 1.0", &ok);
	refuse_variant("\"format\": 1", "\"format\": null", &ok);
	refuse_variant("\"format\": 1", "\"format\": 4294967297", &ok);
	refuse_variant("\"format\": 1, ", "", &ok);
	CHECK(ok);
}

static void
test_missing(void)
{
	int	 ok = 1;

	refuse_variant("\"channel\": \"main\", ", "", &ok);
	refuse_variant("\"serial\": 3,", "", &ok);
	refuse_variant("\"issued\": \"2026-11-22T10:00:00Z\", ", "", &ok);
	refuse_variant(", \"expires\": \"2026-11-29T10:00:00Z\"", "", &ok);
	refuse_variant("\"components\": [", "\"componentz\": [", &ok);
	refuse_variant("\"name\": \"virus-pattern\", ", "", &ok);
	refuse_variant("\"kind\": \"pattern\",", "", &ok);
	refuse_variant("\"edition\": \"standard\", ", "", &ok);
	refuse_variant("\"version\": 2, ", "", &ok);
	refuse_variant("\"size\": 1234,", "", &ok);
	refuse_variant("\"sha256\": \"" H1 "\", ", "", &ok);
	refuse_variant(", \"deltas\": [", ", \"deltaz\": [", &ok);
	refuse_variant("\"from\": 1, ", "", &ok);
	refuse_variant("\"size\": 56,", "", &ok);
	refuse_variant(",\n     \"sha256\": \"" H2 "\"", "", &ok);
	CHECK(ok);
}

static void
test_wrong_types(void)
{
	int	 ok = 1;

	refuse_variant("\"channel\": \"main\"", "\"channel\": 5", &ok);
	refuse_variant("\"channel\": \"main\"", "\"channel\": [\"main\"]", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": \"3\"", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": 3.0", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": 3e0", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": true", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": null", &ok);
	refuse_variant("\"issued\": \"2026-11-22T10:00:00Z\"",
	    "\"issued\": 1795341600", &ok);
	refuse_variant("\"components\": [", "\"components\": {}, \"a\": [",
	    &ok);
	refuse_variant("\"components\": [", "\"components\": null, \"a\": [",
	    &ok);
	refuse_variant("\"components\": [{", "\"components\": [[], {", &ok);
	refuse_variant("\"components\": [{", "\"components\": [1, {", &ok);
	refuse_variant("\"components\": [{", "\"components\": [null, {", &ok);
	refuse_variant("\"name\": \"virus-pattern\"", "\"name\": 1", &ok);
	refuse_variant("\"kind\": \"pattern\"", "\"kind\": false", &ok);
	refuse_variant("\"edition\": \"standard\"", "\"edition\": {}", &ok);
	refuse_variant("\"version\": 2", "\"version\": \"2\"", &ok);
	refuse_variant("\"version\": 2", "\"version\": 2.5", &ok);
	refuse_variant("\"size\": 1234", "\"size\": [1234]", &ok);
	refuse_variant("\"sha256\": \"" H1 "\"", "\"sha256\": 5", &ok);
	refuse_variant("\"deltas\": [", "\"deltas\": {}, \"d\": [", &ok);
	refuse_variant("\"deltas\": [", "\"deltas\": null, \"d\": [", &ok);
	refuse_variant("\"deltas\": [{", "\"deltas\": [\"x\", {", &ok);
	refuse_variant("\"deltas\": [{", "\"deltas\": [[], {", &ok);
	refuse_variant("\"from\": 1", "\"from\": \"1\"", &ok);
	refuse_variant("\"size\": 56", "\"size\": 56.0", &ok);
	refuse_variant("\"sha256\": \"" H2 "\"", "\"sha256\": null", &ok);
	CHECK(ok);
}

static void
test_numbers(void)
{
	int	 ok = 1;

	refuse_variant("\"serial\": 3", "\"serial\": 0", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": -3", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": 9007199254740993", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": 9223372036854775807",
	    &ok);
	refuse_variant("\"serial\": 3", "\"serial\": 9223372036854775808",
	    &ok);
	refuse_variant("\"serial\": 3", "\"serial\": 99999999999999999999999",
	    &ok);
	refuse_variant("\"serial\": 3", "\"serial\": -9223372036854775808",
	    &ok);
	refuse_variant("\"serial\": 3", "\"serial\": 1e300", &ok);
	refuse_variant("\"version\": 2", "\"version\": 0", &ok);
	refuse_variant("\"version\": 2", "\"version\": -2", &ok);
	refuse_variant("\"version\": 2", "\"version\": 9007199254740993", &ok);
	refuse_variant("\"size\": 1234", "\"size\": -1", &ok);
	refuse_variant("\"size\": 1234", "\"size\": 9007199254740993", &ok);
	refuse_variant("\"from\": 1", "\"from\": 0", &ok);
	refuse_variant("\"from\": 1", "\"from\": -1", &ok);
	refuse_variant("\"size\": 56", "\"size\": -56", &ok);
	refuse_variant("\"size\": 56", "\"size\": 9007199254740993", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": 03", &ok);
	refuse_variant("\"serial\": 3", "\"serial\": +3", &ok);
	CHECK(ok);
}

/* 2^53 itself is the largest accepted number. */
static void
test_numbers_max(void)
{
	struct manifest	*m = NULL;
	char		*t, *t2, *t3;

	t = variant(valid, "\"serial\": 3", "\"serial\": 9007199254740992");
	t2 = variant(t, "\"size\": 1234", "\"size\": 9007199254740992");
	t3 = variant(t2, "\"size\": 56", "\"size\": 9007199254740992");
	CHECK_EQ(parse_str(t3, &m, NULL, 0), 0);
	if (m != NULL) {
		CHECK(m->serial == MANIFEST_NUMBER_MAX);
		CHECK(m->components[0].size == MANIFEST_NUMBER_MAX);
		CHECK(m->components[0].deltas[0].size == MANIFEST_NUMBER_MAX);
	}
	manifest_free(m);
	free(t);
	free(t2);
	free(t3);
}

static void
test_sha256(void)
{
	int	 ok = 1;

	refuse_variant(H1, "0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcde", &ok);			/* 63 */
	refuse_variant(H1, H1 "0", &ok);		/* 65 */
	refuse_variant(H1, "0123456789ABCDEF0123456789abcdef0123456789abcdef"
	    "0123456789abcdef", &ok);			/* upper case */
	refuse_variant(H1, "g123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef", &ok);
	refuse_variant(H1, " 123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcdef", &ok);
	refuse_variant(H1, "", &ok);
	refuse_variant(H1, "0123456789abcdef0123456789abcdef0123456789abcdef"
	    "0123456789abcde\\u0000", &ok);		/* a NUL inside */
	refuse_variant(H2, "FEDCBA9876543210fedcba9876543210fedcba9876543210"
	    "fedcba9876543210", &ok);
	refuse_variant(H2, "fedcba98", &ok);
	CHECK(ok);
}

static void
test_times(void)
{
	int	 ok = 1;

	refuse_variant("2026-11-22T10:00:00Z", "2026-11-22T10:00:00", &ok);
	refuse_variant("2026-11-22T10:00:00Z", "2026-11-22T10:00:00+00:00",
	    &ok);
	refuse_variant("2026-11-22T10:00:00Z", "2026-11-22 10:00:00Z", &ok);
	refuse_variant("2026-11-22T10:00:00Z", "2026-02-30T10:00:00Z", &ok);
	refuse_variant("2026-11-22T10:00:00Z", "2026-13-22T10:00:00Z", &ok);
	refuse_variant("2026-11-22T10:00:00Z", "2026-11-22T10:00:00.5Z", &ok);
	refuse_variant("2026-11-22T10:00:00Z", "", &ok);
	refuse_variant("2026-11-29T10:00:00Z", "2026-11-29T10:00:00z", &ok);
	/* expires must be after issued */
	refuse_variant("2026-11-29T10:00:00Z", "2026-11-22T10:00:00Z", &ok);
	refuse_variant("2026-11-29T10:00:00Z", "2026-11-22T09:59:59Z", &ok);
	refuse_variant("2026-11-29T10:00:00Z", "1970-01-01T00:00:00Z", &ok);
	CHECK(ok);
}

static void
test_names(void)
{
	char	 lng[MANIFEST_NAME_MAX + 16];
	int	 ok = 1;

	refuse_variant("\"channel\": \"main\"", "\"channel\": \"../x\"", &ok);
	refuse_variant("\"channel\": \"main\"", "\"channel\": \"Main\"", &ok);
	refuse_variant("\"channel\": \"main\"", "\"channel\": \"\"", &ok);
	refuse_variant("\"channel\": \"main\"", "\"channel\": \"a/b\"", &ok);
	refuse_variant("\"channel\": \"main\"", "\"channel\": \"ma\\u0000in\"",
	    &ok);
	refuse_variant("\"name\": \"virus-pattern\"", "\"name\": \"../x\"",
	    &ok);
	refuse_variant("\"name\": \"virus-pattern\"", "\"name\": \"a/../b\"",
	    &ok);
	refuse_variant("\"name\": \"virus-pattern\"", "\"name\": \"/etc\"",
	    &ok);
	refuse_variant("\"name\": \"virus-pattern\"", "\"name\": \"a//b\"",
	    &ok);
	refuse_variant("\"name\": \"virus-pattern\"", "\"name\": \"a/\"", &ok);
	refuse_variant("\"name\": \"virus-pattern\"", "\"name\": \".x\"", &ok);
	refuse_variant("\"name\": \"virus-pattern\"", "\"name\": \"\"", &ok);
	refuse_variant("\"name\": \"virus-pattern\"",
	    "\"name\": \"virus\\u0000pattern\"", &ok);
	refuse_variant("\"name\": \"virus-pattern\"",
	    "\"name\": \"vir\\u00fcs\"", &ok);
	refuse_variant("\"kind\": \"pattern\"", "\"kind\": \"a/b\"", &ok);
	refuse_variant("\"edition\": \"standard\"", "\"edition\": \"\"", &ok);
	refuse_variant("\"edition\": \"standard\"", "\"edition\": \"STD\"",
	    &ok);

	/* 129 characters are too many, 128 are fine */
	memset(lng, 'n', sizeof(lng));
	memcpy(lng, "\"name\": \"", 9);
	memcpy(lng + 9 + MANIFEST_NAME_MAX + 1, "\"", 2);
	refuse_variant("\"name\": \"virus-pattern\"", lng, &ok);
	CHECK(ok);
	memcpy(lng + 9 + MANIFEST_NAME_MAX, "\"", 2);
	{
		struct manifest	*m = NULL;
		char		*t = variant(valid, "\"name\": \"virus-pattern\"",
				    lng);

		CHECK_EQ(parse_str(t, &m, NULL, 0), 0);
		if (m != NULL)
			CHECK_EQ(strlen(m->components[0].name),
			    MANIFEST_NAME_MAX);
		manifest_free(m);
		free(t);
	}
}

/*
 * A component listed twice is malformed input: -EBADMSG like every other
 * constraint (manifest.h lists 0, -EBADMSG, -E2BIG, -ENOMEM). Regression:
 * the -EEXIST of manifest_add leaked out of manifest_parse, though err
 * said "listed twice".
 */
static void
test_duplicate_component(void)
{
	static const char	 comp[] = "{\"name\": \"virus-pattern\", "
	    "\"kind\": \"pattern\", \"edition\": \"standard\", \"version\": 1, "
	    "\"size\": 1, \"sha256\": \"" H3 "\", \"deltas\": []}, ";
	char			 twice[sizeof(comp) + 16];
	int			 ok = 1;

	snprintf(twice, sizeof(twice), "\"components\": [%s{", comp);
	refuse_variant("\"components\": [{", twice, &ok);
	CHECK(ok);
}

static void
test_duplicate_keys(void)
{
	int	 ok = 1;

	/* duplicate keys, at each level */
	refuse_variant("\"serial\": 3,", "\"serial\": 3, \"serial\": 4,", &ok);
	refuse_variant("\"serial\": 3,", "\"serial\": 3, \"serial\": 3,", &ok);
	refuse_variant("\"format\": 1,", "\"format\": 1, \"format\": 1,", &ok);
	refuse_variant("\"version\": 2,", "\"version\": 2, \"version\": 1,",
	    &ok);
	refuse_variant("\"name\": \"virus-pattern\",",
	    "\"name\": \"virus-pattern\", \"name\": \"x\",", &ok);
	refuse_variant("\"from\": 1,", "\"from\": 1, \"from\": 1,", &ok);
	refuse_variant("\"from\": 1,", "\"x\": 0, \"from\": 1, \"x\": 0,", &ok);
	CHECK(ok);
}

static void
test_deltas(void)
{
	static const char	 d2[] = "{\"from\": 1, \"size\": 9, "
	    "\"sha256\": \"" H3 "\"}, {";
	char			 buf[sizeof(d2) + 32];
	struct manifest		*m = NULL;
	char			*t;
	int			 ok = 1;

	refuse_variant("\"from\": 1", "\"from\": 2", &ok);	/* == version */
	refuse_variant("\"from\": 1", "\"from\": 3", &ok);	/* > version */
	snprintf(buf, sizeof(buf), "\"deltas\": [%s", d2);
	refuse_variant("\"deltas\": [{", buf, &ok);		/* from 1 twice */
	CHECK(ok);

	/* no deltas, and an empty array */
	t = variant(valid, "\"deltas\": [{\"from\": 1, \"size\": 56,\n     "
	    "\"sha256\": \"" H2 "\"}]", "\"deltas\": []");
	CHECK_EQ(parse_str(t, &m, NULL, 0), 0);
	if (m != NULL) {
		CHECK_EQ(m->components[0].ndeltas, 0);
		CHECK(m->components[0].deltas == NULL);
	}
	manifest_free(m);
	free(t);
}

static void
test_trailing(void)
{
	struct manifest	*m = NULL;
	char		 text[sizeof(valid) + 16];
	int		 ok = 1;

	snprintf(text, sizeof(text), "%sx", valid);
	refuse(text, strlen(text), -EBADMSG, &ok);
	snprintf(text, sizeof(text), "%s{}", valid);
	refuse(text, strlen(text), -EBADMSG, &ok);
	snprintf(text, sizeof(text), "%s]", valid);
	refuse(text, strlen(text), -EBADMSG, &ok);
	snprintf(text, sizeof(text), "%s,", valid);
	refuse(text, strlen(text), -EBADMSG, &ok);
	/* a NUL after the object is trailing garbage too */
	snprintf(text, sizeof(text), "%s", valid);
	refuse(text, sizeof(valid), -EBADMSG, &ok);
	/* and the object cut short */
	refuse(valid, sizeof(valid) - 2, -EBADMSG, &ok);
	CHECK(ok);
	/* whitespace is fine */
	snprintf(text, sizeof(text), " \n%s \n\t", valid);
	CHECK_EQ(parse_exact(text, strlen(text), &m, NULL, 0), 0);
	manifest_free(m);
}

static void
test_bad_utf8(void)
{
	int	 ok = 1;

	refuse_variant("\"channel\": \"main\"", "\"channel\": \"ma\xffin\"",
	    &ok);
	CHECK(ok);
}

static void
test_size_max(void)
{
	struct manifest	*m = NULL;
	char		*p;
	size_t		 n = MANIFEST_SIZE_MAX + 1, vlen = strlen(valid);
	int		 ok = 1;

	p = malloc(n);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	memcpy(p, valid, vlen);
	memset(p + vlen, ' ', n - vlen);
	/* exactly MANIFEST_SIZE_MAX bytes parse */
	CHECK_EQ(manifest_parse(p, n - 1, &m, NULL, 0), 0);
	manifest_free(m);
	refuse(p, n, -E2BIG, &ok);
	CHECK(ok);
	free(p);
}

static void
test_unknown_members(void)
{
	struct manifest	*m = NULL, *base = NULL;
	char		*t1, *t2, *t3;
	int		 r;

	t1 = variant(valid, "\"serial\": 3,", "\"serial\": 3, \"comment\": "
	    "{\"nested\": [1, 2, {\"deep\": null}]}, \"format2\": 7,");
	t2 = variant(t1, "\"version\": 2,", "\"version\": 2, \"signers\": "
	    "[\"a\"], \"x-url\": \"http://example/\",");
	t3 = variant(t2, "\"from\": 1,", "\"from\": 1, \"note\": null, "
	    "\"algo\": \"zstd\",");
	r = parse_str(t3, &m, NULL, 0);
	CHECK_EQ(r, 0);
	CHECK_EQ(parse_str(valid, &base, NULL, 0), 0);
	if (m != NULL && base != NULL)
		CHECK(manifest_same(m, base));
	manifest_free(m);
	manifest_free(base);
	free(t1);
	free(t2);
	free(t3);
}

/* A member order other than the canonical one is fine. */
static void
test_member_order(void)
{
	static const char	 text[] = "{\"components\": [{\"deltas\": [], "
	    "\"sha256\": \"" H1 "\", \"size\": 0, \"version\": 1, "
	    "\"edition\": \"e\", \"kind\": \"k\", \"name\": \"n\"}], "
	    "\"expires\": \"2030-01-01T00:00:00Z\", "
	    "\"issued\": \"2029-01-01T00:00:00Z\", \"serial\": 9, "
	    "\"channel\": \"c\", \"format\": 1}";
	struct manifest		*m = NULL;

	CHECK_EQ(parse_str(text, &m, NULL, 0), 0);
	if (m != NULL) {
		CHECK_EQ(m->serial, 9);
		CHECK(strcmp(m->components[0].name, "n") == 0);
	}
	manifest_free(m);
}

static void
test_parse_too_many(void)
{
	struct manifest	*m;
	struct buf	 b;
	size_t		 i;
	int		 r, ok = 1;

	/* MANIFEST_DELTAS_MAX + 1 deltas in one component */
	buf_init(&b, MANIFEST_SIZE_MAX);
	if (buf_printf(&b, "{\"format\": 1, \"channel\": \"c\", \"serial\": 1, "
	    "\"issued\": \"2026-01-01T00:00:00Z\", \"expires\": "
	    "\"2026-02-01T00:00:00Z\", \"components\": [{\"name\": \"n\", "
	    "\"kind\": \"k\", \"edition\": \"e\", \"version\": %d, "
	    "\"size\": 1, \"sha256\": \"%s\", \"deltas\": [",
	    MANIFEST_DELTAS_MAX + 10, H1) < 0)
		ok = 0;
	for (i = 0; i < MANIFEST_DELTAS_MAX + 1; i++)
		if (buf_printf(&b, "%s{\"from\": %zu, \"size\": 1, "
		    "\"sha256\": \"%s\"}", i ? ", " : "", i + 1, H2) < 0)
			ok = 0;
	if (buf_puts(&b, "]}]}") < 0)
		ok = 0;
	CHECK(ok);
	m = NULL;
	r = manifest_parse(b.ptr, b.len, &m, NULL, 0);
	manifest_free(m);
	CHECK(r == -EBADMSG || r == -E2BIG);
	buf_release(&b);

	/* MANIFEST_COMPONENTS_MAX + 1 components */
	buf_init(&b, MANIFEST_SIZE_MAX);
	if (buf_puts(&b, "{\"format\": 1, \"channel\": \"c\", \"serial\": 1, "
	    "\"issued\": \"2026-01-01T00:00:00Z\", \"expires\": "
	    "\"2026-02-01T00:00:00Z\", \"components\": [") < 0)
		ok = 0;
	for (i = 0; i < MANIFEST_COMPONENTS_MAX + 1; i++)
		if (buf_printf(&b, "%s{\"name\": \"c%zu\", \"kind\": \"k\", "
		    "\"edition\": \"e\", \"version\": 1, \"size\": 1, "
		    "\"sha256\": \"%s\", \"deltas\": []}", i ? ", " : "", i,
		    H1) < 0)
			ok = 0;
	if (buf_puts(&b, "]}") < 0)
		ok = 0;
	CHECK(ok);
	m = NULL;
	r = manifest_parse(b.ptr, b.len, &m, NULL, 0);
	manifest_free(m);
	CHECK_EQ(r, -E2BIG);
	buf_release(&b);
}

/* A deep nest in an ignored member fails cleanly, without a crash. */
static void
test_deep(void)
{
	struct manifest	*m = NULL;
	struct buf	 b;
	size_t		 i, depth = 100000;
	int		 r;

	buf_init(&b, MANIFEST_SIZE_MAX);
	CHECK_EQ(buf_puts(&b, "{\"x\": "), 0);
	for (i = 0; i < depth; i++)
		buf_append(&b, "[", 1);
	for (i = 0; i < depth; i++)
		buf_append(&b, "]", 1);
	CHECK_EQ(buf_puts(&b, "}"), 0);
	r = manifest_parse(b.ptr, b.len, &m, NULL, 0);
	CHECK_EQ(r, -EBADMSG);
	manifest_free(m);
	buf_release(&b);
}

/*
 * A manifest that parses must emit text that parses back to it.
 * Regression: an "expires" of 9999-12-31T23:59:60Z passed ts_parse
 * (second 60 was let through and timegm moved it to the year 10000),
 * which ts_format cannot write in TS_LEN characters: emit wrote the
 * truncated "10000-01-01T00:00:00", which manifest_parse then refused.
 */
static void
test_round_trip_leap_second(void)
{
	struct manifest	*m = NULL, *back = NULL;
	struct buf	 b;
	char		*t, err[256];
	int		 r;

	t = variant(valid, "2026-11-29T10:00:00Z", "9999-12-31T23:59:60Z");
	r = parse_str(t, &m, NULL, 0);
	free(t);
	if (r != 0)
		return;			/* refusing it is fine too */
	buf_init(&b, MANIFEST_SIZE_MAX);
	CHECK_EQ(manifest_emit(m, &b), 0);
	r = manifest_parse(b.ptr, b.len, &back, err, sizeof(err));
	if (r != 0)
		fprintf(stderr, "re-parse: %s\n%s", err, b.ptr);
	CHECK_EQ(r, 0);
	if (back != NULL)
		CHECK(manifest_same(m, back));
	manifest_free(back);
	manifest_free(m);
	buf_release(&b);
}

/* ---- agents' documents --------------------------------------------------- */

#define ID1	"0123456789abcdef0123456789abcdef"
#define TOK1	H1

enum doc { DOC_ENROL, DOC_ENROLLED, DOC_STATUS, DOC_POLICY, DOC_INVENTORY,
	DOC_ANSWER };

static struct manifest_agent_status	 status_slot[2];	/* ~90 KB each */

/* Parses an exact-size heap copy of text as a document of that kind;
 * err gets the reason. */
static int
doc_parse(enum doc kind, const char *text, size_t n, char *err,
    size_t errsize)
{
	struct manifest_enrol		 e;
	struct manifest_enrolled	 d;
	struct conf_policy		 pol;
	struct manifest_inventory	*inv = NULL;
	struct manifest_inventory_answer ans;
	char				 group[MANIFEST_NAME_MAX + 1];
	char				*p;
	int				 r = -EINVAL;

	p = malloc(n > 0 ? n : 1);
	if (p == NULL)
		abort();
	memcpy(p, text, n);
	switch (kind) {
	case DOC_ENROL:
		r = manifest_enrol_parse(p, n, &e, err, errsize);
		break;
	case DOC_ENROLLED:
		r = manifest_enrolled_parse(p, n, &d, err, errsize);
		break;
	case DOC_STATUS:
		r = manifest_status_parse(p, n, &status_slot[1], err, errsize);
		break;
	case DOC_POLICY:
		r = manifest_policy_parse(p, n, group, &pol, err, errsize);
		break;
	case DOC_INVENTORY:
		r = manifest_inventory_parse(p, n, &inv, err, errsize);
		manifest_inventory_free(inv);
		break;
	case DOC_ANSWER:
		r = manifest_inventory_answer_parse(p, n, &ans, err, errsize);
		break;
	}
	free(p);
	return r;
}

/* text must be refused with want (-EBADMSG with a reason, or -E2BIG). */
static void
doc_bad(enum doc kind, const char *text, int want, const char *also,
    int *ok)
{
	char	 err[256];
	int	 r;

	memset(err, 'X', sizeof(err));
	r = doc_parse(kind, text, strlen(text), err, sizeof(err));
	if (r != want || memchr(err, '\0', sizeof(err)) == NULL ||
	    err[0] == '\0' || (also != NULL && strstr(err, also) == NULL)) {
		fprintf(stderr, "doc %d [%s]: got %d [%.*s], want %d [%s]\n",
		    (int)kind, text, r, (int)sizeof(err), err, want,
		    also != NULL ? also : "");
		*ok = 0;
	}
}

/* Refusals every document shares: not JSON, not an object, duplicate
 * members, NUL bytes, over MANIFEST_DOC_MAX. */
static void
test_docs_common(void)
{
	static const char	*bad[] = {
		"", "{", "[]", "\"x\"", "1", "null", "{} {}", "{\"a\": 1,}",
		"{\"hostname\": \"a\", \"hostname\": \"b\"}",
	};
	enum doc		 k;
	struct buf		 b;
	char			 err[256];
	size_t			 i;
	int			 ok = 1;

	for (k = DOC_ENROL; k <= DOC_POLICY; k++) {
		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			doc_bad(k, bad[i], -EBADMSG, NULL, &ok);
		/* a NUL byte in the text, and one in a string */
		if (doc_parse(k, "{}\0", 3, err, sizeof(err)) != -EBADMSG)
			ok = 0;
		doc_bad(k, "{\"hostname\": \"a\\u0000b\", \"group\": "
		    "\"a\\u0000\", \"id\": \"\\u0000\"}", -EBADMSG, NULL, &ok);
	}
	CHECK(ok);

	/* MANIFEST_DOC_MAX bytes: parsed (here: valid); one more: -E2BIG */
	buf_init(&b, 2 * MANIFEST_DOC_MAX);
	CHECK_EQ(buf_puts(&b, "{\"hostname\": \"h\", \"pad\": \""), 0);
	while (b.len < MANIFEST_DOC_MAX - 2)
		CHECK_EQ(buf_append(&b, "x", 1), 0);
	CHECK_EQ(buf_puts(&b, "\"}"), 0);
	CHECK_EQ(b.len, MANIFEST_DOC_MAX);
	CHECK_EQ(doc_parse(DOC_ENROL, b.ptr, b.len, err, sizeof(err)), 0);
	CHECK_EQ(buf_puts(&b, " "), 0);
	ok = 1;
	for (k = DOC_ENROL; k <= DOC_POLICY; k++) {
		memset(err, 0, sizeof(err));
		if (doc_parse(k, b.ptr, b.len, err, sizeof(err)) != -E2BIG ||
		    err[0] == '\0')
			ok = 0;
	}
	CHECK(ok);
	/* err may be NULL */
	CHECK_EQ(manifest_enrol_parse("{", 1, &(struct manifest_enrol){ 0 },
	    NULL, 0), -EBADMSG);
	buf_release(&b);
}

static void
test_enrol(void)
{
	static const char	 full[] = "{\"enroll_key\": \"7F3A-91C2-44D8\", "
	    "\"hostname\": \"ws-17.example.net\", \"group\": \"lab\", "
	    "\"later\": [1, {\"x\": null}]}";
	struct manifest_enrol	 e, back;
	struct buf		 b;
	char			 err[256];

	memset(&e, 0x5a, sizeof(e));
	CHECK_EQ(manifest_enrol_parse(full, strlen(full), &e, err,
	    sizeof(err)), 0);
	CHECK(strcmp(e.enroll_key, "7F3A-91C2-44D8") == 0);
	CHECK(strcmp(e.hostname, "ws-17.example.net") == 0);
	CHECK(strcmp(e.group, "lab") == 0);
	/* enroll_key and group may be absent */
	memset(&e, 0x5a, sizeof(e));
	CHECK_EQ(manifest_enrol_parse("{\"hostname\": \"h\"}", 17, &e, err,
	    sizeof(err)), 0);
	CHECK_EQ(e.enroll_key[0], '\0');
	CHECK(strcmp(e.hostname, "h") == 0);
	CHECK_EQ(e.group[0], '\0');

	/* round trips, with and without the optional members */
	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_enrol_emit(&e, &b), 0);
	CHECK(strcmp(b.ptr, "{\"hostname\": \"h\"}\n") == 0);
	CHECK_EQ(manifest_enrol_parse(b.ptr, b.len, &back, err, sizeof(err)),
	    0);
	CHECK(memcmp(&e, &back, sizeof(e)) == 0 ||
	    (strcmp(e.hostname, back.hostname) == 0 &&
	    strcmp(e.group, back.group) == 0 &&
	    strcmp(e.enroll_key, back.enroll_key) == 0));
	memset(&e, 0, sizeof(e));
	memcpy(e.enroll_key, "k\xc3\xa9y \"quoted\" \\",
	    sizeof("k\xc3\xa9y \"quoted\" \\"));
	memcpy(e.hostname, "h\xe2\x82\xac", 5);
	memcpy(e.group, "g.1", 4);
	buf_reset(&b);
	CHECK_EQ(manifest_enrol_emit(&e, &b), 0);
	memset(&back, 0x5a, sizeof(back));
	CHECK_EQ(manifest_enrol_parse(b.ptr, b.len, &back, err, sizeof(err)),
	    0);
	CHECK(strcmp(back.enroll_key, e.enroll_key) == 0);
	CHECK(strcmp(back.hostname, e.hostname) == 0);
	CHECK(strcmp(back.group, e.group) == 0);

	/* what would not parse does not emit */
	e.hostname[0] = '\0';
	CHECK_EQ(manifest_enrol_emit(&e, &b), -EINVAL);
	memcpy(e.hostname, "a\tb", 4);
	CHECK_EQ(manifest_enrol_emit(&e, &b), -EINVAL);
	memcpy(e.hostname, "h", 2);
	memcpy(e.group, "G", 2);
	CHECK_EQ(manifest_enrol_emit(&e, &b), -EINVAL);
	memcpy(e.group, "g", 2);
	memcpy(e.enroll_key, "\xff", 2);
	CHECK_EQ(manifest_enrol_emit(&e, &b), -EINVAL);
	buf_release(&b);
}

static void
test_enrol_bad(void)
{
	char	 text[1024], big[600];
	int	 ok = 1;

	doc_bad(DOC_ENROL, "{}", -EBADMSG, "hostname", &ok);
	doc_bad(DOC_ENROL, "{\"enroll_key\": \"k\"}", -EBADMSG, "hostname",
	    &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"\"}", -EBADMSG, "hostname", &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": 1}", -EBADMSG, "hostname", &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": null}", -EBADMSG, NULL, &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"a\\nb\"}", -EBADMSG, "hostname",
	    &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"a\\u007f\"}", -EBADMSG, NULL,
	    &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"a\\u0085\"}", -EBADMSG, NULL,
	    &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"h\", \"group\": 3}", -EBADMSG,
	    "group", &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"h\", \"group\": \"Lab\"}",
	    -EBADMSG, "group", &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"h\", \"group\": \"a/b\"}",
	    -EBADMSG, "group", &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"h\", \"group\": \"../x\"}",
	    -EBADMSG, "group", &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"h\", \"enroll_key\": false}",
	    -EBADMSG, "enroll_key", &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"h\", \"enroll_key\": \"a\\tb\"}",
	    -EBADMSG, "enroll_key", &ok);
	doc_bad(DOC_ENROL, "{\"hostname\": \"h\xc3\"}", -EBADMSG, NULL, &ok);

	/* lengths: hostname 255, enroll_key 255 */
	memset(big, 'h', sizeof(big));
	snprintf(text, sizeof(text), "{\"hostname\": \"%.*s\"}",
	    MANIFEST_HOST_MAX, big);
	CHECK_EQ(doc_parse(DOC_ENROL, text, strlen(text), NULL, 0), 0);
	snprintf(text, sizeof(text), "{\"hostname\": \"%.*s\"}",
	    MANIFEST_HOST_MAX + 1, big);
	doc_bad(DOC_ENROL, text, -EBADMSG, "hostname", &ok);
	snprintf(text, sizeof(text), "{\"hostname\": \"h\", \"enroll_key\": "
	    "\"%.*s\"}", CONF_VALUE_MAX - 1, big);
	CHECK_EQ(doc_parse(DOC_ENROL, text, strlen(text), NULL, 0), 0);
	snprintf(text, sizeof(text), "{\"hostname\": \"h\", \"enroll_key\": "
	    "\"%.*s\"}", CONF_VALUE_MAX, big);
	doc_bad(DOC_ENROL, text, -EBADMSG, "enroll_key", &ok);
	memset(big, 'g', sizeof(big));
	snprintf(text, sizeof(text), "{\"hostname\": \"h\", \"group\": "
	    "\"%.*s\"}", MANIFEST_NAME_MAX, big);
	CHECK_EQ(doc_parse(DOC_ENROL, text, strlen(text), NULL, 0), 0);
	snprintf(text, sizeof(text), "{\"hostname\": \"h\", \"group\": "
	    "\"%.*s\"}", MANIFEST_NAME_MAX + 1, big);
	doc_bad(DOC_ENROL, text, -EBADMSG, "group", &ok);
	CHECK(ok);
}

static void
test_enrolled(void)
{
	static const char		 text[] = "{\"id\": \"" ID1 "\", "
	    "\"token\": \"" TOK1 "\", \"state\": \"licensed\", "
	    "\"group\": \"default\", \"extra\": true}";
	struct manifest_enrolled	 e, back;
	struct buf			 b;
	char				 err[256];

	CHECK_EQ(manifest_enrolled_parse(text, strlen(text), &e, err,
	    sizeof(err)), 0);
	CHECK(strcmp(e.id, ID1) == 0);
	CHECK(strcmp(e.token, TOK1) == 0);
	CHECK(strcmp(e.state, "licensed") == 0);
	CHECK(strcmp(e.group, "default") == 0);

	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_enrolled_emit(&e, &b), 0);
	CHECK(strcmp(b.ptr, "{\"id\": \"" ID1 "\", \"token\": \"" TOK1 "\", "
	    "\"state\": \"licensed\", \"group\": \"default\"}\n") == 0);
	memset(&back, 0x5a, sizeof(back));
	CHECK_EQ(manifest_enrolled_parse(b.ptr, b.len, &back, err,
	    sizeof(err)), 0);
	CHECK(strcmp(back.id, e.id) == 0 && strcmp(back.token, e.token) == 0 &&
	    strcmp(back.state, e.state) == 0 &&
	    strcmp(back.group, e.group) == 0);
	memcpy(e.state, "pending", 8);
	buf_reset(&b);
	CHECK_EQ(manifest_enrolled_emit(&e, &b), 0);
	CHECK_EQ(manifest_enrolled_parse(b.ptr, b.len, &back, err,
	    sizeof(err)), 0);
	CHECK(strcmp(back.state, "pending") == 0);

	memcpy(e.state, "current", 8);
	CHECK_EQ(manifest_enrolled_emit(&e, &b), -EINVAL);
	memcpy(e.state, "pending", 8);
	e.id[0] = 'A';
	CHECK_EQ(manifest_enrolled_emit(&e, &b), -EINVAL);
	e.id[0] = '0';
	e.token[63] = '\0';
	CHECK_EQ(manifest_enrolled_emit(&e, &b), -EINVAL);
	buf_release(&b);
}

static void
test_enrolled_bad(void)
{
	static const struct {
		const char	*from, *to, *why;
	}			 v[] = {
		{ "\"" ID1 "\"", "\"" ID1 "0\"", "id" },
		{ "\"" ID1 "\"", "\"0123456789abcdef0123456789abcde\"", "id" },
		{ "\"" ID1 "\"", "\"0123456789ABCDEF0123456789abcdef\"", "id" },
		{ "\"" ID1 "\"", "\"0123456789abcdeg0123456789abcdef\"", "id" },
		{ "\"" ID1 "\"", "1", "id" },
		{ "\"id\"", "\"ID\"", "id" },
		{ "\"" TOK1 "\"", "\"" H1 "0\"", "token" },
		{ "\"" TOK1 "\"", "\"" ID1 "\"", "token" },
		{ "\"" TOK1 "\"", "\"0123456789ABCDEF0123456789abcdef"
		    "0123456789abcdef0123456789abcdef\"", "token" },
		{ "\"token\"", "\"tokens\"", "token" },
		{ "\"licensed\"", "\"current\"", "state" },
		{ "\"licensed\"", "\"Licensed\"", "state" },
		{ "\"licensed\"", "\"licensed-and-more-than-16\"", "state" },
		{ "\"licensed\"", "[]", "state" },
		{ "\"default\"", "\"\"", "group" },
		{ "\"default\"", "\"a/b\"", "group" },
		{ "\"default\"", "null", "group" },
		{ "\"group\"", "\"groups\"", "group" },
	};
	static const char	 text[] = "{\"id\": \"" ID1 "\", "
	    "\"token\": \"" TOK1 "\", \"state\": \"licensed\", "
	    "\"group\": \"default\"}";
	size_t			 i;
	char			*t;
	int			 ok = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t = variant(text, v[i].from, v[i].to);
		doc_bad(DOC_ENROLLED, t, -EBADMSG, v[i].why, &ok);
		free(t);
	}
	CHECK(ok);
}

static const char	 status_full[] =
    "{\"hostname\": \"ws-17\", \"agent_version\": \"0.4.0\", "
    "\"notify\": \"http://[::]:9137/v1/notify\", \"result\": \"failed\", "
    "\"message\": \"post_update: exit 3 \xe2\x80\x94 see log\", "
    "\"group\": \"lab\", \"keys\": [\"0123456789abcdef\", "
    "\"FEDCBA9876543210\"], \"time\": \"2026-11-22T10:00:00Z\", "
    "\"installed\": [{\"name\": \"virus-pattern\", \"version\": 3, "
    "\"sha256\": \"" H1 "\"}, {\"name\": \"config/lab\", \"version\": 1, "
    "\"sha256\": \"" H2 "\", \"size\": 5}], \"future\": {}}";

static int
status_same(const struct manifest_agent_status *a,
    const struct manifest_agent_status *b)
{
	size_t	 i;

	if (strcmp(a->hostname, b->hostname) != 0 ||
	    strcmp(a->agent_version, b->agent_version) != 0 ||
	    strcmp(a->notify, b->notify) != 0 || a->ok != b->ok ||
	    strcmp(a->message, b->message) != 0 ||
	    strcmp(a->group, b->group) != 0 || a->nkeys != b->nkeys ||
	    a->time != b->time || a->ninstalled != b->ninstalled)
		return 0;
	for (i = 0; i < a->nkeys; i++)
		if (strcmp(a->keys[i], b->keys[i]) != 0)
			return 0;
	for (i = 0; i < a->ninstalled; i++)
		if (strcmp(a->installed[i].name, b->installed[i].name) != 0 ||
		    a->installed[i].version != b->installed[i].version ||
		    strcmp(a->installed[i].sha256, b->installed[i].sha256) != 0)
			return 0;
	return 1;
}

static void
test_status(void)
{
	struct manifest_agent_status	*st = &status_slot[0], *back;
	struct buf			 b;
	char				 err[256];
	time_t				 t;

	back = calloc(1, sizeof(*back));
	CHECK(back != NULL);
	if (back == NULL)
		return;
	memset(st, 0x5a, sizeof(*st));
	CHECK_EQ(manifest_status_parse(status_full, strlen(status_full), st,
	    err, sizeof(err)), 0);
	CHECK(strcmp(st->hostname, "ws-17") == 0);
	CHECK(strcmp(st->agent_version, "0.4.0") == 0);
	CHECK(strcmp(st->notify, "http://[::]:9137/v1/notify") == 0);
	CHECK_EQ(st->ok, 0);
	CHECK(strcmp(st->message, "post_update: exit 3 \xe2\x80\x94 see log") ==
	    0);
	CHECK(strcmp(st->group, "lab") == 0);
	CHECK_EQ(st->nkeys, 2);
	CHECK(strcmp(st->keys[0], "0123456789ABCDEF") == 0);	/* upper */
	CHECK(strcmp(st->keys[1], "FEDCBA9876543210") == 0);
	CHECK_EQ(ts_parse("2026-11-22T10:00:00Z", TS_LEN, &t), 0);
	CHECK_EQ(st->time, t);
	CHECK_EQ(st->ninstalled, 2);
	CHECK(strcmp(st->installed[0].name, "virus-pattern") == 0);
	CHECK_EQ(st->installed[0].version, 3);
	CHECK(strcmp(st->installed[0].sha256, H1) == 0);
	CHECK(strcmp(st->installed[1].name, "config/lab") == 0);
	CHECK_EQ(st->installed[1].version, 1);

	/* round trip */
	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_status_emit(st, &b), 0);
	CHECK(b.len > 0 && b.ptr[b.len - 1] == '}');	/* compact */
	CHECK(strstr(b.ptr, "\"hostname\":\"ws-17\",\"agent_version\"") ==
	    b.ptr + 1);
	memset(back, 0x5a, sizeof(*back));
	CHECK_EQ(manifest_status_parse(b.ptr, b.len, back, err, sizeof(err)),
	    0);
	CHECK(status_same(st, back));

	/* the least: no time, no keys, nothing installed, result ok */
	memset(st, 0x5a, sizeof(*st));
	CHECK_EQ(manifest_status_parse("{\"hostname\": \"h\", "
	    "\"agent_version\": \"1\", \"result\": \"ok\"}", 55, st, err,
	    sizeof(err)), 0);
	CHECK_EQ(st->ok, 1);
	CHECK_EQ(st->notify[0], '\0');
	CHECK_EQ(st->message[0], '\0');
	CHECK_EQ(st->group[0], '\0');
	CHECK_EQ(st->nkeys, 0);
	CHECK_EQ(st->time, 0);
	CHECK_EQ(st->ninstalled, 0);
	buf_reset(&b);
	CHECK_EQ(manifest_status_emit(st, &b), 0);
	/* the empty members are left out */
	CHECK(strcmp(b.ptr, "{\"hostname\":\"h\",\"agent_version\":\"1\","
	    "\"result\":\"ok\"}") == 0);
	CHECK_EQ(manifest_status_parse(b.ptr, b.len, back, err, sizeof(err)),
	    0);
	CHECK(status_same(st, back));

	/* what would not parse does not emit */
	st->nkeys = 1;
	memcpy(st->keys[0], "0123456789abcdef", 17);	/* emit wants upper */
	CHECK_EQ(manifest_status_emit(st, &b), -EINVAL);
	st->nkeys = 0;
	st->time = -1;
	CHECK_EQ(manifest_status_emit(st, &b), -EINVAL);
	st->time = (time_t)253402300800;		/* year 10000 */
	CHECK_EQ(manifest_status_emit(st, &b), -EINVAL);
	st->time = 0;
	st->ninstalled = MANIFEST_INSTALLED_MAX + 1;
	CHECK_EQ(manifest_status_emit(st, &b), -EINVAL);
	st->ninstalled = 1;
	memcpy(st->installed[0].name, "a", 2);
	st->installed[0].version = 0;
	memcpy(st->installed[0].sha256, H1, 65);
	CHECK_EQ(manifest_status_emit(st, &b), -EINVAL);
	st->installed[0].version = 1;
	CHECK_EQ(manifest_status_emit(st, &b), 0);
	memcpy(st->notify, "ftp://x", 8);
	CHECK_EQ(manifest_status_emit(st, &b), -EINVAL);
	buf_release(&b);
	free(back);
}

/* Every cap, filled exactly, round-trips; over it is refused. */
static void
test_status_caps(void)
{
	struct manifest_agent_status	*st = &status_slot[0], *back;
	struct buf			 b, t;
	char				 err[256];
	size_t				 i;
	int				 ok = 1;

	back = calloc(1, sizeof(*back));
	CHECK(back != NULL);
	if (back == NULL)
		return;
	memset(st, 0, sizeof(*st));
	memset(st->hostname, 'h', MANIFEST_HOST_MAX);
	memset(st->agent_version, 'v', MANIFEST_VERSION_TEXT_MAX);
	memcpy(st->notify, "https://", 8);
	memset(st->notify + 8, 'n', MANIFEST_URL_MAX - 9);
	memset(st->message, 'm', MANIFEST_TEXT_MAX);
	memset(st->group, 'g', MANIFEST_NAME_MAX);
	st->ok = 1;
	st->time = (time_t)253402300799;
	st->nkeys = MANIFEST_KEYS_MAX;
	for (i = 0; i < st->nkeys; i++)
		snprintf(st->keys[i], sizeof(st->keys[i]), "%016zX", i);
	st->ninstalled = MANIFEST_INSTALLED_MAX;
	for (i = 0; i < st->ninstalled; i++) {
		snprintf(st->installed[i].name, sizeof(st->installed[i].name),
		    "c/%zu", i);
		st->installed[i].version = MANIFEST_NUMBER_MAX - i;
		memcpy(st->installed[i].sha256, i % 2 ? H1 : H2, 65);
	}
	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_status_emit(st, &b), 0);
	CHECK(b.len <= MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_status_parse(b.ptr, b.len, back, err, sizeof(err)),
	    0);
	CHECK(status_same(st, back));

	/* the longest names too: still under MANIFEST_DOC_MAX */
	for (i = 0; i < st->ninstalled; i++) {
		memset(st->installed[i].name, 'n', MANIFEST_NAME_MAX);
		snprintf(st->installed[i].name + MANIFEST_NAME_MAX - 4, 5,
		    "%04u", (unsigned)(i % 1000));
	}
	buf_reset(&b);
	CHECK_EQ(manifest_status_emit(st, &b), 0);
	CHECK(b.len <= MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_status_parse(b.ptr, b.len, back, err, sizeof(err)),
	    0);
	CHECK(status_same(st, back));
	/* a message of quotes doubles in JSON: over the cap, not emitted */
	memset(st->message, '"', MANIFEST_TEXT_MAX);
	memset(st->hostname, '\\', MANIFEST_HOST_MAX);
	buf_reset(&b);
	CHECK_EQ(manifest_status_emit(st, &b), -E2BIG);
	CHECK_EQ(b.len, 0);

	/* one key too many, one installed too many: -E2BIG */
	buf_init(&t, 2 * MANIFEST_DOC_MAX);
	CHECK_EQ(buf_puts(&t, "{\"hostname\": \"h\", \"agent_version\": \"1\", "
	    "\"result\": \"ok\", \"keys\": ["), 0);
	for (i = 0; i <= MANIFEST_KEYS_MAX; i++)
		CHECK_EQ(buf_printf(&t, "%s\"%016zx\"", i ? ", " : "", i), 0);
	CHECK_EQ(buf_puts(&t, "]}"), 0);
	doc_bad(DOC_STATUS, t.ptr, -E2BIG, "keys", &ok);
	buf_reset(&t);
	CHECK_EQ(buf_puts(&t, "{\"hostname\": \"h\", \"agent_version\": \"1\", "
	    "\"result\": \"ok\", \"installed\": ["), 0);
	for (i = 0; i <= MANIFEST_INSTALLED_MAX; i++)
		CHECK_EQ(buf_printf(&t, "%s{\"name\": \"c%zu\", \"version\": 1, "
		    "\"sha256\": \"" H1 "\"}", i ? ", " : "", i), 0);
	CHECK_EQ(buf_puts(&t, "]}"), 0);
	doc_bad(DOC_STATUS, t.ptr, -E2BIG, "installed", &ok);
	CHECK(ok);
	buf_release(&t);
	buf_release(&b);
	free(back);
}

/* A report that parsed emits again within its own size, so within
 * MANIFEST_DOC_MAX: even one at the cap, spaced, with escapes. */
static void
test_status_reemit(void)
{
	struct manifest_agent_status	*back;
	struct buf			 t, out;
	char				 err[256];
	size_t				 i;

	back = calloc(1, sizeof(*back));
	CHECK(back != NULL);
	if (back == NULL)
		return;
	buf_init(&t, 2 * MANIFEST_DOC_MAX);
	buf_init(&out, 2 * MANIFEST_DOC_MAX);
	CHECK_EQ(buf_puts(&t, "{ \"hostname\" : \"\\u0068\\\"\" , "
	    "\"agent_version\" : \"1\" , \"result\" : \"ok\" , "
	    "\"notify\" : \"\" , \"keys\" : [ ] , \"message\": \"\\/\", "
	    "\"installed\" : [ "), 0);
	for (i = 0; i < MANIFEST_INSTALLED_MAX; i++)
		CHECK_EQ(buf_printf(&t, "%s{ \"name\" : \"c%zu\" , "
		    "\"version\" : 1 , \"sha256\" : \"" H1 "\" }",
		    i ? " , " : "", i), 0);
	CHECK_EQ(buf_puts(&t, " ] , \"pad\": \""), 0);
	while (t.len < MANIFEST_DOC_MAX - 2)
		CHECK_EQ(buf_append(&t, "p", 1), 0);
	CHECK_EQ(buf_puts(&t, "\"}"), 0);
	CHECK_EQ(t.len, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_status_parse(t.ptr, t.len, status_slot, err,
	    sizeof(err)), 0);
	CHECK(strcmp(status_slot->hostname, "h\"") == 0);
	CHECK(strcmp(status_slot->message, "/") == 0);
	CHECK_EQ(manifest_status_emit(status_slot, &out), 0);
	CHECK(out.len <= t.len);
	CHECK_EQ(manifest_status_parse(out.ptr, out.len, back, err,
	    sizeof(err)), 0);
	CHECK(status_same(status_slot, back));
	buf_release(&t);
	buf_release(&out);
	free(back);
}

static void
test_status_bad(void)
{
	static const struct {
		const char	*from, *to, *why;
	}			 v[] = {
		{ "\"ws-17\"", "\"\"", "hostname" },
		{ "\"ws-17\"", "\"ws\\u000017\"", NULL },
		{ "\"ws-17\"", "\"ws\\r17\"", "hostname" },
		{ "\"hostname\"", "\"host\"", "hostname" },
		{ "\"0.4.0\"", "\"\"", "agent_version" },
		{ "\"0.4.0\"", "0.4", "agent_version" },
		{ "\"0.4.0\"", "\"0.4.0-with-a-very-long-suffix-x-y\"",
		    "agent_version" },
		{ "\"agent_version\"", "\"version\"", "agent_version" },
		{ "\"http://[::]:9137/v1/notify\"", "\"ftp://x\"", "notify" },
		{ "\"http://[::]:9137/v1/notify\"", "\"x\"", "notify" },
		{ "\"http://[::]:9137/v1/notify\"", "\"http://a b\"", "notify" },
		{ "\"http://[::]:9137/v1/notify\"", "\"http://a\\tb\"",
		    "notify" },
		{ "\"http://[::]:9137/v1/notify\"", "null", "notify" },
		{ "\"failed\"", "\"error\"", "result" },
		{ "\"failed\"", "\"OK\"", "result" },
		{ "\"failed\"", "true", "result" },
		{ "\"result\"", "\"results\"", "result" },
		{ "\"post_update", "\"\\u001b[31mpost_update", "message" },
		{ "\"post_update", "\"\\u009bpost_update", "message" },
		{ "\"post_update: exit 3 \xe2\x80\x94 see log\"", "[\"x\"]",
		    "message" },
		{ "\"lab\"", "\"Lab\"", "group" },
		{ "\"lab\"", "\"a/b\"", "group" },
		{ "[\"0123456789abcdef\", \"FEDCBA9876543210\"]",
		    "\"0123456789abcdef\"", "keys" },
		{ "\"0123456789abcdef\"", "\"0123456789abcde\"", "key" },
		{ "\"0123456789abcdef\"", "\"0123456789abcdef0\"", "key" },
		{ "\"0123456789abcdef\"", "\"0123456789abcdeg\"", "key" },
		{ "\"0123456789abcdef\"", "\"FEDCBA9876543210\"", "twice" },
		{ "\"0123456789abcdef\"", "\"fedcba9876543210\"", "twice" },
		{ "\"0123456789abcdef\"", "12", "key" },
		{ "\"2026-11-22T10:00:00Z\"", "\"2026-11-22 10:00:00\"", "time" },
		{ "\"2026-11-22T10:00:00Z\"", "\"2026-11-22T10:00:00+00:00\"",
		    "time" },
		{ "\"2026-11-22T10:00:00Z\"", "1795000000", "time" },
		{ "\"2026-11-22T10:00:00Z\"", "\"\"", "time" },
		{ "\"installed\": [", "\"installed\": 5, \"x\": [", "installed" },
		{ "[{\"name\": \"virus-pattern\"", "[3, {\"name\": \"x\"",
		    "installed" },
		{ "\"virus-pattern\"", "\"Virus\"", "name" },
		{ "\"virus-pattern\"", "\"config/lab\"", "twice" },
		{ "\"virus-pattern\"", "\"a//b\"", "name" },
		{ "\"version\": 3", "\"version\": 0", "version" },
		{ "\"version\": 3", "\"version\": -1", "version" },
		{ "\"version\": 3", "\"version\": 9007199254740993", "version" },
		{ "\"version\": 3", "\"version\": 3.0", "version" },
		{ "\"version\": 3", "\"version\": \"3\"", "version" },
		{ "\"version\": 3", "\"ver\": 3", "version" },
		{ "\"sha256\": \"" H1, "\"sha256\": \"" H1 "0", "sha256" },
		{ "\"" H2 "\"", "\"0123456789ABCDEF0123456789abcdef"
		    "0123456789abcdef0123456789abcdef\"", "sha256" },
		{ "\"sha256\": \"" H1 "\"", "\"hash\": \"" H1 "\"", "sha256" },
	};
	size_t			 i;
	char			*t;
	int			 ok = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t = variant(status_full, v[i].from, v[i].to);
		doc_bad(DOC_STATUS, t, -EBADMSG, v[i].why, &ok);
		free(t);
	}
	CHECK(ok);
}

static void
test_status_limits(void)
{
	char	 text[4096], big[2048];
	int	 ok = 1;

	memset(big, 'm', sizeof(big));
	snprintf(text, sizeof(text), "{\"hostname\": \"h\", \"agent_version\": "
	    "\"1\", \"result\": \"ok\", \"message\": \"%.*s\"}",
	    MANIFEST_TEXT_MAX, big);
	CHECK_EQ(doc_parse(DOC_STATUS, text, strlen(text), NULL, 0), 0);
	snprintf(text, sizeof(text), "{\"hostname\": \"h\", \"agent_version\": "
	    "\"1\", \"result\": \"ok\", \"message\": \"%.*s\"}",
	    MANIFEST_TEXT_MAX + 1, big);
	doc_bad(DOC_STATUS, text, -EBADMSG, "message", &ok);
	/* the notify URL: under MANIFEST_URL_MAX bytes */
	snprintf(text, sizeof(text), "{\"hostname\": \"h\", \"agent_version\": "
	    "\"1\", \"result\": \"ok\", \"notify\": \"http://%.*s\"}",
	    MANIFEST_URL_MAX - 8, big);
	CHECK_EQ(doc_parse(DOC_STATUS, text, strlen(text), NULL, 0), 0);
	snprintf(text, sizeof(text), "{\"hostname\": \"h\", \"agent_version\": "
	    "\"1\", \"result\": \"ok\", \"notify\": \"http://%.*s\"}",
	    MANIFEST_URL_MAX - 7, big);
	doc_bad(DOC_STATUS, text, -EBADMSG, "notify", &ok);
	/* an empty notify is none */
	snprintf(text, sizeof(text), "{\"hostname\": \"h\", \"agent_version\": "
	    "\"1\", \"result\": \"ok\", \"notify\": \"\", \"keys\": [], "
	    "\"installed\": []}");
	CHECK_EQ(doc_parse(DOC_STATUS, text, strlen(text), NULL, 0), 0);
	CHECK(ok);
}

/* ---- policy ---- */

static void
test_policy_parse(void)
{
	static const char	 full[] = "{\"group\": \"lab\", \"state\": "
	    "\"current\", \"schedule\": \"weekly mon 12:00\", \"window\": 7200, "
	    "\"scheduled\": false, \"user_may_disable\": false, "
	    "\"post_update\": \"/usr/bin/scan --now\", "
	    "\"config_once_per_day\": true, \"components\": [\"virus-pattern\", "
	    "\"config/lab\"], \"new_key\": 1}";
	static const char	 empty_sel[] = "{\"group\": \"g\", \"state\": "
	    "\"s\", \"components\": [], \"window\": 0, \"post_update\": \"\"}";
	struct conf_policy	 p, d;
	char			 group[MANIFEST_NAME_MAX + 1], err[256];

	memset(&p, 0x5a, sizeof(p));
	CHECK_EQ(manifest_policy_parse(full, strlen(full), group, &p, err,
	    sizeof(err)), 0);
	CHECK(strcmp(group, "lab") == 0);
	CHECK_EQ(p.set, 0x7f);
	CHECK_EQ(p.schedule.kind, CONF_WEEKLY);
	CHECK_EQ(p.schedule.wday, 1);
	CHECK_EQ(p.schedule.hour, 12);
	CHECK_EQ(p.window, 7200);
	CHECK_EQ(p.scheduled, 0);
	CHECK_EQ(p.user_may_disable, 0);
	CHECK(strcmp(p.post_update, "/usr/bin/scan --now") == 0);
	CHECK_EQ(p.config_once_per_day, 1);
	CHECK_EQ(p.ncomponents, 2);
	CHECK(strcmp(p.components[1], "config/lab") == 0);

	/* only the group and the state: nothing set, the defaults */
	memset(&p, 0x5a, sizeof(p));
	CHECK_EQ(manifest_policy_parse("{\"group\": \"default\", \"state\": "
	    "\"pending\"}", 40, group, &p, err, sizeof(err)), 0);
	CHECK(strcmp(group, "default") == 0);
	conf_policy_defaults(&d);
	CHECK(memcmp(&p, &d, sizeof(p)) == 0);

	/* an empty selection is set: all the license allows */
	CHECK_EQ(manifest_policy_parse(empty_sel, strlen(empty_sel), group, &p,
	    err, sizeof(err)), 0);
	CHECK_EQ(p.set, CONF_POLICY_COMPONENTS | CONF_POLICY_WINDOW |
	    CONF_POLICY_POST_UPDATE);
	CHECK_EQ(p.ncomponents, 0);
	CHECK_EQ(p.window, 0);
}

static void
test_policy_bad(void)
{
	static const struct {
		const char	*from, *to, *why;
	}			 v[] = {
		{ "\"lab\"", "\"Lab\"", "group" },
		{ "\"lab\"", "\"\"", "group" },
		{ "\"lab\"", "7", "group" },
		{ "\"group\"", "\"grp\"", "group" },
		{ "\"current\"", "\"\"", "state" },
		{ "\"current\"", "\"Current\"", "state" },
		{ "\"current\"", "false", "state" },
		{ "\"state\"", "\"st\"", "state" },
		{ "\"weekly mon 12:00\"", "\"hourly\"", "schedule" },
		{ "\"weekly mon 12:00\"", "\"every 0s\"", "schedule" },
		{ "\"weekly mon 12:00\"", "\"weekly mon 12:00 x\"", "schedule" },
		{ "\"weekly mon 12:00\"", "\"every 600000000000000000000s\"",
		    "schedule" },
		{ "\"weekly mon 12:00\"", "3600", "schedule" },
		{ "7200", "-1", "window" },
		{ "7200", "1.5", "window" },
		{ "7200", "\"2h\"", "window" },
		{ "7200", "316224001", "window" },
		{ "\"scheduled\": false", "\"scheduled\": 0", "scheduled" },
		{ "\"scheduled\": false", "\"scheduled\": \"no\"", "scheduled" },
		{ "\"user_may_disable\": false", "\"user_may_disable\": null",
		    "user_may_disable" },
		{ "\"config_once_per_day\": true", "\"config_once_per_day\": 1",
		    "config_once_per_day" },
		{ "\"/usr/bin/scan --now\"", "\"a\\nb\"", "post_update" },
		{ "\"/usr/bin/scan --now\"", "\"a\\u0000b\"", NULL },
		{ "\"/usr/bin/scan --now\"", "[]", "post_update" },
		{ "[\"virus-pattern\", \"config/lab\"]", "\"virus-pattern\"",
		    "components" },
		{ "\"virus-pattern\"", "\"Virus\"", "component" },
		{ "\"virus-pattern\"", "\"../x\"", "component" },
		{ "\"virus-pattern\"", "\"config/lab\"", "twice" },
		{ "\"virus-pattern\"", "1", "component" },
		{ "\"virus-pattern\"", "\"virus\\u0000x\"", NULL },
	};
	struct buf		 b;
	char			 text[512], big[300];
	size_t			 i;
	char			*t;
	int			 ok = 1;
	static const char	 full[] = "{\"group\": \"lab\", \"state\": "
	    "\"current\", \"schedule\": \"weekly mon 12:00\", \"window\": 7200, "
	    "\"scheduled\": false, \"user_may_disable\": false, "
	    "\"post_update\": \"/usr/bin/scan --now\", "
	    "\"config_once_per_day\": true, \"components\": [\"virus-pattern\", "
	    "\"config/lab\"]}";

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t = variant(full, v[i].from, v[i].to);
		doc_bad(DOC_POLICY, t, -EBADMSG, v[i].why, &ok);
		free(t);
	}
	/* a long component name */
	memset(big, 'c', sizeof(big));
	snprintf(text, sizeof(text), "{\"group\": \"g\", \"state\": \"s\", "
	    "\"components\": [\"%.*s\"]}", CONF_NAME_MAX, big);
	CHECK_EQ(doc_parse(DOC_POLICY, text, strlen(text), NULL, 0), 0);
	snprintf(text, sizeof(text), "{\"group\": \"g\", \"state\": \"s\", "
	    "\"components\": [\"%.*s\"]}", CONF_NAME_MAX + 1, big);
	doc_bad(DOC_POLICY, text, -EBADMSG, "component", &ok);

	/* CONF_SELECT_MAX components; one more: -E2BIG */
	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(buf_puts(&b, "{\"group\": \"g\", \"state\": \"s\", "
	    "\"components\": [\"c\""), 0);
	for (i = 1; i < CONF_SELECT_MAX; i++)
		CHECK_EQ(buf_printf(&b, ", \"c%zu\"", i), 0);
	CHECK_EQ(buf_puts(&b, "]}"), 0);
	CHECK_EQ(doc_parse(DOC_POLICY, b.ptr, b.len, NULL, 0), 0);
	b.len -= 2;
	CHECK_EQ(buf_puts(&b, ", \"more\"]}"), 0);
	doc_bad(DOC_POLICY, b.ptr, -E2BIG, "components", &ok);
	buf_release(&b);
	CHECK(ok);
}

/* Only the keys set are emitted; every subset round-trips. */
static void
test_policy_emit(void)
{
	struct conf_policy	 p, back;
	struct buf		 b;
	char			 group[MANIFEST_NAME_MAX + 1], err[256];
	unsigned		 set;
	int			 ok = 1;

	conf_policy_defaults(&p);
	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_policy_emit("default", "licensed", &p, &b), 0);
	CHECK(strcmp(b.ptr, "{\"group\": \"default\", \"state\": "
	    "\"licensed\"}\n") == 0);

	CHECK_EQ(conf_schedule_parse("every 90m", &p.schedule), 0);
	p.window = 0;
	p.scheduled = 0;
	p.user_may_disable = 1;
	memcpy(p.post_update, "run \"x\" \xc3\xa9", 11);
	p.config_once_per_day = 1;
	p.ncomponents = 2;
	memcpy(p.components[0], "a", 2);
	memcpy(p.components[1], "b/c", 4);
	p.set = 0x7f;
	buf_reset(&b);
	CHECK_EQ(manifest_policy_emit("lab", "current", &p, &b), 0);
	CHECK(strcmp(b.ptr, "{\"group\": \"lab\", \"state\": \"current\", "
	    "\"schedule\": \"every 90m\", \"window\": 0, \"scheduled\": false, "
	    "\"user_may_disable\": true, \"post_update\": "
	    "\"run \\\"x\\\" \xc3\xa9\", \"config_once_per_day\": true, "
	    "\"components\": [\"a\", \"b/c\"]}\n") == 0);
	if (strstr(b.ptr, "every 90m") == NULL)
		fprintf(stderr, "%s", b.ptr);

	for (set = 0; set <= 0x7f; set++) {
		p.set = set;
		buf_reset(&b);
		if (manifest_policy_emit("lab", "current", &p, &b) < 0 ||
		    manifest_policy_parse(b.ptr, b.len, group, &back, err,
		    sizeof(err)) < 0) {
			ok = 0;
			continue;
		}
		if (back.set != set || strcmp(group, "lab") != 0)
			ok = 0;
		/* merged over the defaults: the same as p where set */
		if (((set & CONF_POLICY_SCHEDULE) && back.schedule.every !=
		    5400) ||
		    ((set & CONF_POLICY_WINDOW) && back.window != 0) ||
		    ((set & CONF_POLICY_SCHEDULED) && back.scheduled != 0) ||
		    ((set & CONF_POLICY_POST_UPDATE) &&
		    strcmp(back.post_update, p.post_update) != 0) ||
		    ((set & CONF_POLICY_CONFIG_ONCE) &&
		    back.config_once_per_day != 1) ||
		    ((set & CONF_POLICY_COMPONENTS) && back.ncomponents != 2) ||
		    (!(set & CONF_POLICY_COMPONENTS) && back.ncomponents != 0) ||
		    (!(set & CONF_POLICY_WINDOW) && back.window != 600))
			ok = 0;
	}
	CHECK(ok);

	/* daily and weekly schedules */
	p.set = CONF_POLICY_SCHEDULE;
	CHECK_EQ(conf_schedule_parse("weekly fri 02:05", &p.schedule), 0);
	buf_reset(&b);
	CHECK_EQ(manifest_policy_emit("g", "s", &p, &b), 0);
	CHECK(strstr(b.ptr, "\"schedule\": \"weekly fri 02:05\"") != NULL);
	CHECK_EQ(manifest_policy_parse(b.ptr, b.len, group, &back, err,
	    sizeof(err)), 0);
	CHECK_EQ(back.schedule.kind, CONF_WEEKLY);
	CHECK_EQ(back.schedule.wday, 5);
	CHECK_EQ(back.schedule.minute, 5);

	/* what would not parse does not emit */
	CHECK_EQ(manifest_policy_emit("G", "s", &p, &b), -EINVAL);
	CHECK_EQ(manifest_policy_emit("g", "", &p, &b), -EINVAL);
	p.schedule.hour = 24;
	CHECK_EQ(manifest_policy_emit("g", "s", &p, &b), -EINVAL);
	p.set = 0;				/* not set: not checked */
	CHECK_EQ(manifest_policy_emit("g", "s", &p, &b), 0);
	p.set = CONF_POLICY_SCHEDULE;
	p.schedule.kind = CONF_EVERY;
	p.schedule.every = 0;
	CHECK_EQ(manifest_policy_emit("g", "s", &p, &b), -EINVAL);
	p.set = CONF_POLICY_WINDOW;
	p.window = -1;
	CHECK_EQ(manifest_policy_emit("g", "s", &p, &b), -EINVAL);
	p.set = CONF_POLICY_POST_UPDATE;
	memcpy(p.post_update, "a\nb", 4);
	CHECK_EQ(manifest_policy_emit("g", "s", &p, &b), -EINVAL);
	p.set = CONF_POLICY_COMPONENTS;
	p.ncomponents = CONF_SELECT_MAX + 1;
	CHECK_EQ(manifest_policy_emit("g", "s", &p, &b), -EINVAL);
	p.ncomponents = 2;
	memcpy(p.components[1], "a", 2);		/* twice */
	CHECK_EQ(manifest_policy_emit("g", "s", &p, &b), -EINVAL);
	/* over the buffer's cap */
	buf_release(&b);
	buf_init(&b, 10);
	p.set = 0;
	CHECK_EQ(manifest_policy_emit("g", "s", &p, &b), -E2BIG);
	buf_release(&b);
}

/* A [group] of cascade.conf to the agent: emit, parse, merge over the
 * agent's own policy. */
static void
test_policy_from_conf(void)
{
	static struct conf		 c;
	static const char		 text[] = "[group lab]\n"
	    "schedule = every 4h\npost_update = scan\ncomponents = a b\n";
	const struct conf_group		*g;
	struct conf_policy		 mine, theirs;
	struct buf			 b;
	char				 err[CONF_ERROR_MAX];
	char				 group[MANIFEST_NAME_MAX + 1];

	conf_defaults(&c);
	CHECK_EQ(conf_parse(&c, text, strlen(text), err), 0);
	g = conf_group_find(&c, "lab");
	CHECK(g != NULL);
	if (g == NULL)
		return;
	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_policy_emit(g->name, "licensed", &g->policy, &b), 0);
	CHECK(strstr(b.ptr, "window") == NULL);
	CHECK_EQ(manifest_policy_parse(b.ptr, b.len, group, &theirs, err,
	    sizeof(err)), 0);
	CHECK(strcmp(group, "lab") == 0);
	CHECK_EQ(theirs.set, g->policy.set);
	conf_policy_defaults(&mine);
	mine.window = 60;
	memcpy(mine.post_update, "mine", 5);
	conf_policy_merge(&mine, &theirs);
	CHECK_EQ(mine.schedule.every, 4 * 3600);
	CHECK_EQ(mine.window, 60);
	CHECK(strcmp(mine.post_update, "scan") == 0);
	CHECK_EQ(mine.ncomponents, 2);
	buf_release(&b);
}

/* ---- a downstream's inventory ----------------------------------------- */

static const char	 inventory_full[] = "{\"name\": \"branch-1\", "
    "\"channels\": {\"main\": 12, \"vendor\": 0, \"extra\": 3}, "
    "\"components\": [{\"channel\": \"main\", \"name\": \"virus-pattern\", "
    "\"version\": 3, \"sha256\": \"" H1 "\"}, {\"channel\": \"extra\", "
    "\"name\": \"clamav/daily\", \"version\": 9007199254740992, "
    "\"sha256\": \"" H2 "\"}, {\"channel\": \"main\", \"name\": "
    "\"config/default\", \"version\": 1, \"sha256\": \"" H1 "\"}], "
    "\"later\": {\"x\": 1}}";

static void
test_inventory(void)
{
	struct manifest_inventory		*inv = NULL, *back = NULL;
	const struct manifest_inventory_item	*it;
	struct buf				 b;
	char					 err[256];
	uint64_t				 serial;
	size_t					 i;

	CHECK_EQ(manifest_inventory_parse(inventory_full,
	    strlen(inventory_full), &inv, err, sizeof(err)), 0);
	if (inv == NULL)
		return;
	CHECK(strcmp(inv->name, "branch-1") == 0);
	CHECK_EQ(inv->nch, 3);
	CHECK_EQ(manifest_inventory_channel(inv, "main", &serial), 0);
	CHECK_EQ(serial, 12);
	CHECK_EQ(manifest_inventory_channel(inv, "vendor", &serial), 0);
	CHECK_EQ(serial, 0);
	CHECK_EQ(manifest_inventory_channel(inv, "other", &serial), -ENOENT);
	/* sorted by channel, then name */
	CHECK_EQ(inv->nitems, 3);
	CHECK(strcmp(inv->items[0].channel, "extra") == 0);
	CHECK(strcmp(inv->items[1].name, "config/default") == 0);
	CHECK(strcmp(inv->items[2].name, "virus-pattern") == 0);
	CHECK_EQ(inv->items[0].version, MANIFEST_NUMBER_MAX);
	it = manifest_inventory_find(inv, "main", "virus-pattern");
	CHECK(it != NULL && it->version == 3 && strcmp(it->sha256, H1) == 0);
	CHECK(manifest_inventory_find(inv, "extra", "virus-pattern") == NULL);
	CHECK(manifest_inventory_find(inv, "main", "virus") == NULL);

	/* emits compact, in its order, within the size it came in, and
	 * parses back the same */
	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_inventory_emit(inv, &b), 0);
	CHECK(b.len <= strlen(inventory_full));
	CHECK(strncmp(b.ptr, "{\"name\":\"branch-1\",\"channels\":{\"main\":12,"
	    "\"vendor\":0,\"extra\":3},\"components\":[{\"channel\":\"extra\","
	    "\"name\":\"clamav/daily\",", 90) == 0);
	CHECK(b.ptr[b.len - 1] == '}');
	CHECK_EQ(manifest_inventory_parse(b.ptr, b.len, &back, err,
	    sizeof(err)), 0);
	if (back != NULL) {
		CHECK_EQ(back->nch, inv->nch);
		CHECK_EQ(back->nitems, inv->nitems);
		for (i = 0; i < inv->nch && i < back->nch; i++)
			CHECK(strcmp(back->ch[i].name, inv->ch[i].name) == 0 &&
			    back->ch[i].serial == inv->ch[i].serial);
		for (i = 0; i < inv->nitems && i < back->nitems; i++)
			CHECK(memcmp(&back->items[i], &inv->items[i],
			    sizeof(inv->items[i])) == 0);
	}
	manifest_inventory_free(back);
	manifest_inventory_free(inv);
	buf_release(&b);

	/* nothing held yet */
	CHECK_EQ(doc_parse(DOC_INVENTORY, "{\"name\": \"m\", \"channels\": {}, "
	    "\"components\": []}", 47, err, sizeof(err)), 0);
}

static void
test_inventory_bad(void)
{
	static const struct {
		const char	*from, *to, *why;
	}			 v[] = {
		{ "\"branch-1\"", "\"Branch-1\"", "name" },
		{ "\"branch-1\"", "\"\"", "name" },
		{ "\"branch-1\"", "\"a/b\"", "name" },
		{ "\"branch-1\"", "1", "name" },
		{ "\"name\": \"branch-1\", ", "", "name" },
		{ "{\"main\": 12,", "[12,", NULL },
		{ "\"channels\"", "\"chans\"", "channels" },
		{ "{\"main\": 12,", "{\"Main\": 12,", "channel" },
		{ "\"main\": 12", "\"main\": -1", "main" },
		{ "\"main\": 12", "\"main\": 1.5", "main" },
		{ "\"main\": 12", "\"main\": \"12\"", "main" },
		{ "\"main\": 12", "\"main\": 9007199254740993", "main" },
		{ "\"vendor\": 0", "\"main\": 0", NULL },
		{ "\"components\": [", "\"comps\": [", "components" },
		{ "\"components\": [", "\"components\": {\"a\": [", NULL },
		{ "\"channel\": \"main\"", "\"channel\": \"other\"",
		    "channel" },
		{ "\"channel\": \"main\"", "\"chan\": \"main\"", "channel" },
		{ "\"virus-pattern\"", "\"Virus\"", "name" },
		{ "\"virus-pattern\"", "\"../x\"", "name" },
		{ "\"virus-pattern\"", "\"config/default\"", "twice" },
		{ "\"virus-pattern\"", "\"a\\u0000b\"", NULL },
		{ "\"version\": 3", "\"version\": 0", "version" },
		{ "\"version\": 3", "\"version\": -3", "version" },
		{ "\"version\": 3", "\"version\": \"3\"", "version" },
		{ "\"version\": 3", "\"version\": 9007199254740993",
		    "version" },
		{ "\"" H1 "\"}, {\"channel\": \"extra\"",
		    "\"" H3 "X\"}, {\"channel\": \"extra\"", "sha256" },
		{ "\"sha256\": \"" H1 "\"}, {\"channel\": \"extra\"",
		    "\"sha256\": \"0123\"}, {\"channel\": \"extra\"", "sha256" },
		{ "\"sha256\": \"" H1 "\"}, {\"channel\": \"extra\"",
		    "\"sha256\": \"" "0123456789ABCDEF0123456789abcdef0123456789"
		    "abcdef0123456789abcdef\"}, {\"channel\": \"extra\"",
		    "sha256" },
		{ "{\"channel\": \"main\", \"name\": \"virus-pattern\"",
		    "7, {\"channel\": \"main\", \"name\": \"virus-pattern\"",
		    "object" },
	};
	struct buf	 b;
	char		*t, big[300], text[512];
	size_t		 i;
	int		 ok = 1;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		t = variant(inventory_full, v[i].from, v[i].to);
		doc_bad(DOC_INVENTORY, t, -EBADMSG, v[i].why, &ok);
		free(t);
	}
	doc_bad(DOC_INVENTORY, "[]", -EBADMSG, "object", &ok);
	doc_bad(DOC_INVENTORY, "{\"name\": \"m\"", -EBADMSG, NULL, &ok);
	doc_bad(DOC_INVENTORY, "{\"name\": \"m\", \"name\": \"n\", "
	    "\"channels\": {}, \"components\": []}", -EBADMSG, NULL, &ok);

	/* a name of CONF_NAME_MAX, and one more */
	memset(big, 'n', sizeof(big));
	snprintf(text, sizeof(text), "{\"name\": \"%.*s\", \"channels\": {}, "
	    "\"components\": []}", CONF_NAME_MAX, big);
	CHECK_EQ(doc_parse(DOC_INVENTORY, text, strlen(text), NULL, 0), 0);
	snprintf(text, sizeof(text), "{\"name\": \"%.*s\", \"channels\": {}, "
	    "\"components\": []}", CONF_NAME_MAX + 1, big);
	doc_bad(DOC_INVENTORY, text, -EBADMSG, "name", &ok);

	/* caps: channels, components, the document */
	buf_init(&b, 4 * MANIFEST_DOC_MAX);
	CHECK_EQ(buf_puts(&b, "{\"name\": \"m\", \"channels\": {\"c0\": 1"), 0);
	for (i = 1; i < MANIFEST_INVENTORY_CHANNELS_MAX; i++)
		CHECK_EQ(buf_printf(&b, ",\"c%zu\":1", i), 0);
	CHECK_EQ(buf_puts(&b, "}, \"components\": []}"), 0);
	CHECK_EQ(doc_parse(DOC_INVENTORY, b.ptr, b.len, NULL, 0), 0);
	buf_reset(&b);
	CHECK_EQ(buf_puts(&b, "{\"name\": \"m\", \"channels\": {\"c0\": 1"), 0);
	for (i = 1; i <= MANIFEST_INVENTORY_CHANNELS_MAX; i++)
		CHECK_EQ(buf_printf(&b, ",\"c%zu\":1", i), 0);
	CHECK_EQ(buf_puts(&b, "}, \"components\": []}"), 0);
	doc_bad(DOC_INVENTORY, b.ptr, -E2BIG, "channels", &ok);
	buf_reset(&b);
	CHECK_EQ(buf_puts(&b, "{\"name\":\"m\",\"channels\":{\"c\":1},"
	    "\"components\":["), 0);
	for (i = 0; i <= MANIFEST_INVENTORY_COMPONENTS_MAX; i++)
		CHECK_EQ(buf_printf(&b, "%s{}", i > 0 ? "," : ""), 0);
	CHECK_EQ(buf_puts(&b, "]}"), 0);
	doc_bad(DOC_INVENTORY, b.ptr, -E2BIG, "components", &ok);
	buf_reset(&b);
	CHECK_EQ(buf_puts(&b, "{\"name\": \"m\", \"channels\": {}, "
	    "\"components\": [], \"pad\": \""), 0);
	while (b.len <= MANIFEST_DOC_MAX)
		CHECK_EQ(buf_puts(&b, "xxxxxxxx"), 0);
	CHECK_EQ(buf_puts(&b, "\"}"), 0);
	doc_bad(DOC_INVENTORY, b.ptr, -E2BIG, "bytes", &ok);
	buf_release(&b);
	CHECK(ok);
}

static void
test_inventory_build(void)
{
	struct manifest_inventory	*inv, *back = NULL;
	struct manifest_inventory_item	 it;
	struct buf			 b;
	char				 err[256];
	size_t				 i;

	inv = manifest_inventory_new("mirror-2");
	CHECK(inv != NULL);
	if (inv == NULL)
		return;
	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_inventory_emit(inv, &b), 0);
	CHECK(strcmp(b.ptr, "{\"name\":\"mirror-2\",\"channels\":{},"
	    "\"components\":[]}") == 0);
	CHECK_EQ(manifest_inventory_add_channel(inv, "main", 4), 0);
	memset(&it, 0, sizeof(it));
	memcpy(it.channel, "main", 5);
	memcpy(it.name, "b", 2);
	it.version = 2;
	memcpy(it.sha256, H2, sizeof(it.sha256));
	CHECK_EQ(manifest_inventory_add(inv, &it), 0);
	memcpy(it.name, "a", 2);
	CHECK_EQ(manifest_inventory_add(inv, &it), 0);
	/* a find needs sorted items */
	manifest_inventory_sort(inv);
	CHECK(strcmp(inv->items[0].name, "a") == 0);
	CHECK(manifest_inventory_find(inv, "main", "b") != NULL);
	buf_reset(&b);
	CHECK_EQ(manifest_inventory_emit(inv, &b), 0);
	CHECK_EQ(manifest_inventory_parse(b.ptr, b.len, &back, err,
	    sizeof(err)), 0);
	CHECK(back != NULL && back->nitems == 2);
	manifest_inventory_free(back);

	/* what would not parse does not emit */
	memcpy(inv->items[1].name, "a", 2);		/* twice */
	CHECK_EQ(manifest_inventory_emit(inv, &b), -EINVAL);
	memcpy(inv->items[1].name, "b", 2);
	memcpy(inv->items[1].channel, "other", 6);	/* not listed */
	CHECK_EQ(manifest_inventory_emit(inv, &b), -EINVAL);
	memcpy(inv->items[1].channel, "main", 5);
	inv->items[1].version = 0;
	CHECK_EQ(manifest_inventory_emit(inv, &b), -EINVAL);
	inv->items[1].version = 1;
	inv->items[1].sha256[3] = 'G';
	CHECK_EQ(manifest_inventory_emit(inv, &b), -EINVAL);
	inv->items[1].sha256[3] = '0';
	CHECK_EQ(manifest_inventory_add_channel(inv, "main", 5), 0);
	CHECK_EQ(manifest_inventory_emit(inv, &b), -EINVAL);	/* twice */
	inv->nch = 1;
	memcpy(inv->name, "Upper", 6);
	CHECK_EQ(manifest_inventory_emit(inv, &b), -EINVAL);
	memcpy(inv->name, "m", 2);
	CHECK_EQ(manifest_inventory_emit(inv, &b), 0);

	/* the caps of the builders */
	for (i = inv->nitems; i < MANIFEST_INVENTORY_COMPONENTS_MAX; i++)
		CHECK_EQ(manifest_inventory_add(inv, &it), 0);
	CHECK_EQ(manifest_inventory_add(inv, &it), -E2BIG);
	for (i = inv->nch; i < MANIFEST_INVENTORY_CHANNELS_MAX; i++)
		CHECK_EQ(manifest_inventory_add_channel(inv, "c", 1), 0);
	CHECK_EQ(manifest_inventory_add_channel(inv, "c", 1), -E2BIG);
	manifest_inventory_free(inv);
	manifest_inventory_free(NULL);

	/* over MANIFEST_DOC_MAX once emitted: -E2BIG, out as it was */
	inv = manifest_inventory_new("m");
	CHECK(inv != NULL);
	if (inv == NULL) {
		buf_release(&b);
		return;
	}
	CHECK_EQ(manifest_inventory_add_channel(inv, "main", 1), 0);
	for (i = 0; i < MANIFEST_INVENTORY_COMPONENTS_MAX; i++) {
		snprintf(it.name, sizeof(it.name), "component-%zu", i);
		memcpy(it.channel, "main", 5);
		CHECK_EQ(manifest_inventory_add(inv, &it), 0);
	}
	buf_reset(&b);
	CHECK_EQ(buf_puts(&b, "x"), 0);
	CHECK_EQ(manifest_inventory_emit(inv, &b), -E2BIG);
	CHECK_EQ(b.len, 1);
	manifest_inventory_free(inv);
	buf_release(&b);
}

static void
test_inventory_answer(void)
{
	struct manifest_inventory_answer	 a, back;
	struct buf				 b;
	char					 err[256];
	int					 ok = 1;

	memset(&a, 0, sizeof(a));
	buf_init(&b, MANIFEST_DOC_MAX);
	CHECK_EQ(manifest_inventory_answer_emit(&a, &b), 0);
	CHECK(strcmp(b.ptr, "{\"schedule\": null, \"at_startup\": false}\n")
	    == 0);
	memset(&back, 0x5a, sizeof(back));
	CHECK_EQ(manifest_inventory_answer_parse(b.ptr, b.len, &back, err,
	    sizeof(err)), 0);
	CHECK_EQ(back.scheduled, 0);
	CHECK_EQ(back.at_startup, 0);

	a.scheduled = 1;
	a.at_startup = 1;
	CHECK_EQ(conf_schedule_parse("daily 02:30", &a.schedule), 0);
	buf_reset(&b);
	CHECK_EQ(manifest_inventory_answer_emit(&a, &b), 0);
	CHECK(strcmp(b.ptr, "{\"schedule\": \"daily 02:30\", "
	    "\"at_startup\": true}\n") == 0);
	CHECK_EQ(manifest_inventory_answer_parse(b.ptr, b.len, &back, err,
	    sizeof(err)), 0);
	CHECK_EQ(back.scheduled, 1);
	CHECK_EQ(back.at_startup, 1);
	CHECK_EQ(back.schedule.kind, CONF_DAILY);
	CHECK_EQ(back.schedule.hour, 2);
	CHECK_EQ(back.schedule.minute, 30);

	a.schedule.kind = CONF_EVERY;
	a.schedule.every = 0;
	CHECK_EQ(manifest_inventory_answer_emit(&a, &b), -EINVAL);

	doc_bad(DOC_ANSWER, "{\"at_startup\": true}", -EBADMSG, "schedule",
	    &ok);
	doc_bad(DOC_ANSWER, "{\"schedule\": \"hourly\", \"at_startup\": "
	    "true}", -EBADMSG, "schedule", &ok);
	doc_bad(DOC_ANSWER, "{\"schedule\": 30, \"at_startup\": true}",
	    -EBADMSG, "schedule", &ok);
	doc_bad(DOC_ANSWER, "{\"schedule\": null}", -EBADMSG, "at_startup",
	    &ok);
	doc_bad(DOC_ANSWER, "{\"schedule\": null, \"at_startup\": 1}",
	    -EBADMSG, "at_startup", &ok);
	doc_bad(DOC_ANSWER, "[]", -EBADMSG, "object", &ok);
	CHECK(ok);
	buf_release(&b);
}

static void
test_fields(void)
{
	char			 sched[32], start[8], group[8], any[32], err[128];
	struct manifest_field	 f[] = {
		{ "schedule", MANIFEST_FIELD_STRING, sched, sizeof(sched), 9 },
		{ "at_startup", MANIFEST_FIELD_BOOL, start, sizeof(start), 9 },
		{ "group", MANIFEST_FIELD_STRING, group, sizeof(group), 9 },
		{ "n", MANIFEST_FIELD_ANY, any, sizeof(any), 9 },
	};
	static const char *const bad[] = {
		"[]", "{", "{\"schedule\": 1}", "{\"at_startup\": \"yes\"}",
		"{\"n\": [1]}", "{\"n\": {}}", "{\"group\": \"a\\u0000b\"}",
		"{\"group\": \"a\", \"group\": \"b\"}",
	};
	size_t			 i;
	static const char	 good[] = "{\"schedule\": \"every 30m\", "
	    "\"at_startup\": true, \"group\": null, \"n\": 42, \"x\": [1]}";

	CHECK_EQ(manifest_fields_parse(good, strlen(good), f, 4, err,
	    sizeof(err)), 0);
	CHECK(f[0].present && strcmp(sched, "every 30m") == 0);
	CHECK(f[1].present && strcmp(start, "true") == 0);
	CHECK(!f[2].present && group[0] == '\0');
	CHECK(f[3].present && strcmp(any, "42") == 0);
	CHECK_EQ(manifest_fields_parse("{\"n\": false}", 12, f, 4, err,
	    sizeof(err)), 0);
	CHECK(!f[0].present && f[3].present && strcmp(any, "false") == 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK_EQ(manifest_fields_parse(bad[i], strlen(bad[i]), f, 4, err,
		    sizeof(err)), -EBADMSG);
		CHECK(err[0] != '\0');
	}
	CHECK_EQ(manifest_fields_parse("{\"group\": \"12345678\"}", 21, f, 4,
	    err, sizeof(err)), -E2BIG);
}

struct rows_seen {
	int	 n;
	char	 last[32];
};

static int
rows_cb(void *arg, const struct manifest_field *f, size_t n)
{
	struct rows_seen	*r = arg;

	(void)n;
	r->n++;
	snprintf(r->last, sizeof(r->last), "%s", f[0].present ? f[0].value :
	    "-");
	return r->n == 3 ? -EINTR : 0;
}

static void
test_rows(void)
{
	char			 id[16], err[128];
	struct manifest_field	 f[] = {
		{ "id", MANIFEST_FIELD_ANY, id, sizeof(id), 0 },
	};
	struct rows_seen	 seen;
	static const char	 doc[] = "[{\"id\": 1}, {\"id\": \"b\"}, {}]";

	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(manifest_rows_parse("[]", 2, 16, f, 1, rows_cb, &seen, err,
	    sizeof(err)), 0);
	CHECK_EQ(seen.n, 0);
	CHECK_EQ(manifest_rows_parse(doc, strlen(doc), 1024, f, 1, rows_cb,
	    &seen, err, sizeof(err)), -EINTR);
	CHECK_EQ(seen.n, 3);
	CHECK(strcmp(seen.last, "-") == 0);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(manifest_rows_parse("[{\"id\": 1}, 2]", 14, 1024, f, 1,
	    rows_cb, &seen, err, sizeof(err)), -EBADMSG);
	CHECK_EQ(seen.n, 1);
	CHECK_EQ(manifest_rows_parse("{}", 2, 1024, f, 1, rows_cb, &seen, err,
	    sizeof(err)), -EBADMSG);
	CHECK_EQ(manifest_rows_parse(doc, strlen(doc), 8, f, 1, rows_cb,
	    &seen, err, sizeof(err)), -E2BIG);
}

int
main(void)
{
	RUN(test_parse_valid);
	RUN(test_parse_minimal);
	RUN(test_build_emit_parse);
	RUN(test_emit_deterministic);
	RUN(test_emit_canonical);
	RUN(test_emit_append_cap);
	RUN(test_emit_empty);
	RUN(test_new);
	RUN(test_add_rejects);
	RUN(test_add_copies);
	RUN(test_too_many_components);
	RUN(test_not_json);
	RUN(test_not_object);
	RUN(test_format);
	RUN(test_missing);
	RUN(test_wrong_types);
	RUN(test_numbers);
	RUN(test_numbers_max);
	RUN(test_sha256);
	RUN(test_times);
	RUN(test_names);
	RUN(test_duplicate_component);
	RUN(test_duplicate_keys);
	RUN(test_deltas);
	RUN(test_trailing);
	RUN(test_bad_utf8);
	RUN(test_size_max);
	RUN(test_unknown_members);
	RUN(test_member_order);
	RUN(test_parse_too_many);
	RUN(test_deep);
	RUN(test_round_trip_leap_second);
	RUN(test_docs_common);
	RUN(test_enrol);
	RUN(test_enrol_bad);
	RUN(test_enrolled);
	RUN(test_enrolled_bad);
	RUN(test_status);
	RUN(test_status_caps);
	RUN(test_status_reemit);
	RUN(test_status_bad);
	RUN(test_status_limits);
	RUN(test_policy_parse);
	RUN(test_policy_bad);
	RUN(test_policy_emit);
	RUN(test_policy_from_conf);
	RUN(test_inventory);
	RUN(test_inventory_bad);
	RUN(test_inventory_build);
	RUN(test_inventory_answer);
	RUN(test_fields);
	RUN(test_rows);
	return check_end();
}
