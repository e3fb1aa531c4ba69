/*
 * Unit tests of buf: appends, printf, the hard cap (a failed append leaves
 * the buffer as it was), JSON string escaping and detach.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "check.h"
#include "banned.h"

static void
test_init_empty(void)
{
	struct buf	 b;

	buf_init(&b, 100);
	CHECK(b.ptr == NULL);
	CHECK_EQ(b.len, 0);
	CHECK_EQ(b.max, 100);
	buf_release(&b);
	CHECK(b.ptr == NULL);
	CHECK_EQ(b.len, 0);
	CHECK_EQ(b.max, 100);
	buf_release(&b);		/* twice is fine */
}

static void
test_append(void)
{
	struct buf	 b;

	buf_init(&b, 1024);
	CHECK_EQ(buf_append(&b, "abc", 3), 0);
	CHECK_EQ(b.len, 3);
	CHECK(memcmp(b.ptr, "abc\0", 4) == 0);
	CHECK_EQ(buf_append(&b, "de", 2), 0);
	CHECK_EQ(b.len, 5);
	CHECK(strcmp(b.ptr, "abcde") == 0);
	CHECK_EQ(buf_puts(&b, "fgh"), 0);
	CHECK(strcmp(b.ptr, "abcdefgh") == 0);
	CHECK_EQ(b.len, 8);
	buf_release(&b);
}

static void
test_append_empty(void)
{
	struct buf	 b;

	buf_init(&b, 16);
	CHECK_EQ(buf_append(&b, "", 0), 0);
	CHECK_EQ(b.len, 0);
	CHECK(b.ptr != NULL && b.ptr[0] == '\0');
	CHECK_EQ(buf_puts(&b, ""), 0);
	CHECK_EQ(b.len, 0);
	buf_release(&b);
}

static void
test_append_binary(void)
{
	static const char	 bin[] = { 'a', '\0', 'b', '\0', '\xff' };
	struct buf		 b;

	buf_init(&b, 64);
	CHECK_EQ(buf_append(&b, bin, sizeof(bin)), 0);
	CHECK_EQ(b.len, sizeof(bin));
	CHECK(memcmp(b.ptr, bin, sizeof(bin)) == 0);
	CHECK(b.ptr[b.len] == '\0');
	buf_release(&b);
}

/* Many small appends that cross several reallocations. */
static void
test_append_grow(void)
{
	struct buf	 b;
	size_t		 i;
	int		 ok = 1;

	buf_init(&b, 1u << 20);
	for (i = 0; i < 100000; i++)
		if (buf_append(&b, i % 2 ? "y" : "x", 1) != 0)
			ok = 0;
	CHECK(ok);
	CHECK_EQ(b.len, 100000);
	CHECK(b.ptr[b.len] == '\0');
	for (i = 0; i < b.len; i++)
		if (b.ptr[i] != (i % 2 ? 'y' : 'x'))
			ok = 0;
	CHECK(ok);
	buf_release(&b);
}

static void
test_cap(void)
{
	struct buf	 b;

	buf_init(&b, 5);
	CHECK_EQ(buf_append(&b, "abc", 3), 0);
	CHECK_EQ(buf_append(&b, "def", 3), -E2BIG);
	CHECK_EQ(b.len, 3);
	CHECK(strcmp(b.ptr, "abc") == 0);
	CHECK_EQ(buf_puts(&b, "xyz"), -E2BIG);
	CHECK(strcmp(b.ptr, "abc") == 0);
	CHECK_EQ(buf_append(&b, "de", 2), 0);	/* exactly at max */
	CHECK_EQ(b.len, 5);
	CHECK(strcmp(b.ptr, "abcde") == 0);
	CHECK_EQ(buf_append(&b, "f", 1), -E2BIG);
	CHECK_EQ(buf_append(&b, "", 0), 0);
	CHECK_EQ(b.len, 5);
	CHECK(strcmp(b.ptr, "abcde") == 0);
	buf_release(&b);
}

static void
test_cap_zero(void)
{
	struct buf	 b;

	buf_init(&b, 0);
	CHECK_EQ(buf_append(&b, "a", 1), -E2BIG);
	CHECK_EQ(b.len, 0);
	CHECK_EQ(buf_printf(&b, "%d", 1), -E2BIG);
	CHECK_EQ(b.len, 0);
	CHECK_EQ(buf_json_str(&b, ""), -E2BIG);
	CHECK_EQ(b.len, 0);
	buf_release(&b);
}

/* A huge n must not wrap around the cap check. */
static void
test_cap_huge(void)
{
	struct buf	 b;

	buf_init(&b, 16);
	CHECK_EQ(buf_append(&b, "ab", 2), 0);
	CHECK_EQ(buf_append(&b, "x", (size_t)-1), -E2BIG);
	CHECK_EQ(buf_append(&b, "x", (size_t)-2), -E2BIG);
	CHECK_EQ(b.len, 2);
	CHECK(strcmp(b.ptr, "ab") == 0);
	buf_release(&b);
}

static void
test_reset(void)
{
	struct buf	 b;

	buf_init(&b, 16);
	buf_reset(&b);			/* on an empty buffer */
	CHECK_EQ(b.len, 0);
	CHECK_EQ(buf_puts(&b, "hello"), 0);
	buf_reset(&b);
	CHECK_EQ(b.len, 0);
	CHECK(b.ptr != NULL && b.ptr[0] == '\0');
	CHECK_EQ(buf_puts(&b, "0123456789abcdef"), 0);	/* the whole max */
	CHECK_EQ(b.len, 16);
	buf_release(&b);
}

static void
test_printf(void)
{
	struct buf	 b;

	buf_init(&b, 1024);
	CHECK_EQ(buf_printf(&b, "%s=%d", "x", 42), 0);
	CHECK(strcmp(b.ptr, "x=42") == 0);
	CHECK_EQ(b.len, 4);
	CHECK_EQ(buf_printf(&b, " %05u|%-3s|%llx", 7u, "a", 0xabcULL), 0);
	CHECK(strcmp(b.ptr, "x=42 00007|a  |abc") == 0);
	CHECK_EQ(b.len, strlen(b.ptr));
	CHECK_EQ(buf_printf(&b, "%s", ""), 0);
	CHECK_EQ(b.len, strlen("x=42 00007|a  |abc"));
	buf_release(&b);
}

static void
test_printf_cap(void)
{
	struct buf	 b;

	buf_init(&b, 8);
	CHECK_EQ(buf_printf(&b, "%s", "abcd"), 0);
	CHECK_EQ(buf_printf(&b, "%s", "efghi"), -E2BIG);	/* 9 > 8 */
	CHECK_EQ(b.len, 4);
	CHECK(strcmp(b.ptr, "abcd") == 0);
	CHECK_EQ(buf_printf(&b, "%d", 5678), 0);
	CHECK_EQ(b.len, 8);
	CHECK(strcmp(b.ptr, "abcd5678") == 0);
	buf_release(&b);
}

/* A long output, larger than any initial allocation. */
static void
test_printf_long(void)
{
	char		 big[5000];
	struct buf	 b;

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 10000);
	CHECK_EQ(buf_puts(&b, "<"), 0);
	CHECK_EQ(buf_printf(&b, "%s>", big), 0);
	CHECK_EQ(b.len, sizeof(big) + 1);
	CHECK(b.ptr[0] == '<' && b.ptr[b.len - 1] == '>');
	CHECK(b.ptr[b.len] == '\0');
	buf_release(&b);
}

static void
json_is(const char *in, const char *want, int *ok)
{
	struct buf	 b;

	buf_init(&b, 1024);
	if (buf_json_str(&b, in) != 0 || b.ptr == NULL ||
	    strcmp(b.ptr, want) != 0 || b.len != strlen(want)) {
		fprintf(stderr, "json_str(\"%s\") gave [%s], want [%s]\n", in,
		    b.ptr != NULL ? b.ptr : "(null)", want);
		*ok = 0;
	}
	buf_release(&b);
}

static void
test_json_str(void)
{
	int	 ok = 1;

	json_is("", "\"\"", &ok);
	json_is("plain", "\"plain\"", &ok);
	json_is("a\"b", "\"a\\\"b\"", &ok);
	json_is("a\\b", "\"a\\\\b\"", &ok);
	json_is("\"\\\"", "\"\\\"\\\\\\\"\"", &ok);
	json_is("line\nnext", "\"line\\u000anext\"", &ok);
	json_is("\t\r\b\f", "\"\\u0009\\u000d\\u0008\\u000c\"", &ok);
	json_is("\x01\x1f", "\"\\u0001\\u001f\"", &ok);
	json_is(" ~/", "\" ~/\"", &ok);
	json_is("\x7f", "\"\x7f\"", &ok);		/* DEL is legal JSON */
	json_is("caf\xc3\xa9", "\"caf\xc3\xa9\"", &ok);	/* UTF-8 as is */
	CHECK(ok);
}

static void
test_json_str_appends(void)
{
	struct buf	 b;

	buf_init(&b, 64);
	CHECK_EQ(buf_puts(&b, "{\"k\": "), 0);
	CHECK_EQ(buf_json_str(&b, "v\""), 0);
	CHECK_EQ(buf_puts(&b, "}"), 0);
	CHECK(strcmp(b.ptr, "{\"k\": \"v\\\"\"}") == 0);
	buf_release(&b);
}

/* Running out of room in the middle of a string leaves what was there. */
static void
test_json_str_cap(void)
{
	struct buf	 b;
	size_t		 max;

	for (max = 3; max < 20; max++) {
		buf_init(&b, max);
		CHECK_EQ(buf_puts(&b, "ab"), 0);
		if (buf_json_str(&b, "x\ny\"z") == 0) {
			/* ab"x\u000ay\"z": 15 bytes */
			CHECK(max >= 15);
			CHECK(strcmp(b.ptr, "ab\"x\\u000ay\\\"z\"") == 0);
		} else {
			CHECK(max < 15);
			CHECK_EQ(b.len, 2);
			CHECK(strcmp(b.ptr, "ab") == 0);
		}
		buf_release(&b);
	}
}

static void
test_detach(void)
{
	struct buf	 b;
	size_t		 n = 99;
	char		*p;

	buf_init(&b, 64);
	CHECK_EQ(buf_puts(&b, "hello"), 0);
	p = buf_detach(&b, &n);
	CHECK(p != NULL);
	CHECK_EQ(n, 5);
	CHECK(p != NULL && strcmp(p, "hello") == 0);
	CHECK(b.ptr == NULL);
	CHECK_EQ(b.len, 0);
	CHECK_EQ(b.max, 64);
	/* the buffer is usable again, with fresh memory */
	CHECK_EQ(buf_puts(&b, "again"), 0);
	CHECK(b.ptr != p);
	CHECK(strcmp(b.ptr, "again") == 0);
	free(p);
	buf_release(&b);
}

static void
test_detach_empty(void)
{
	struct buf	 b;
	size_t		 n = 99;
	char		*p;

	buf_init(&b, 64);
	p = buf_detach(&b, &n);
	CHECK(p != NULL);
	CHECK_EQ(n, 0);
	CHECK(p != NULL && p[0] == '\0');
	free(p);
	p = buf_detach(&b, NULL);	/* ret_len may be NULL */
	CHECK(p != NULL && p[0] == '\0');
	free(p);
	buf_release(&b);
}

int
main(void)
{
	RUN(test_init_empty);
	RUN(test_append);
	RUN(test_append_empty);
	RUN(test_append_binary);
	RUN(test_append_grow);
	RUN(test_cap);
	RUN(test_cap_zero);
	RUN(test_cap_huge);
	RUN(test_reset);
	RUN(test_printf);
	RUN(test_printf_cap);
	RUN(test_printf_long);
	RUN(test_json_str);
	RUN(test_json_str_appends);
	RUN(test_json_str_cap);
	RUN(test_detach);
	RUN(test_detach_empty);
	return check_end();
}
