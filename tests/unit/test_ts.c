/*
 * Unit tests of ts: RFC 3339 UTC timestamps (format and strict parse),
 * durations, and bounded unsigned integers.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts.h"
#include "check.h"
#include "banned.h"

/* ts_parse on an exact-size heap copy, so that ASan sees any overread. */
static int
parse_exact(const char *s, time_t *ret)
{
	size_t	 n = strlen(s);
	char	*p;
	int	 r;

	p = malloc(n > 0 ? n : 1);
	if (p == NULL)
		return -ENOMEM;
	memcpy(p, s, n);
	r = ts_parse(p, n, ret);
	free(p);
	return r;
}

static void
test_format(void)
{
	char	 out[TS_LEN + 1];

	ts_format(0, out);
	CHECK(strcmp(out, "1970-01-01T00:00:00Z") == 0);
	ts_format(1795341600, out);
	CHECK(strcmp(out, "2026-11-22T10:00:00Z") == 0);
	ts_format(951782400, out);
	CHECK(strcmp(out, "2000-02-29T00:00:00Z") == 0);
	ts_format((time_t)2147483648LL, out);	/* past 32 bits */
	CHECK(strcmp(out, "2038-01-19T03:14:08Z") == 0);
	ts_format((time_t)253402300799LL, out);
	CHECK(strcmp(out, "9999-12-31T23:59:59Z") == 0);
	CHECK_EQ(strlen(out), TS_LEN);
}

static void
test_round_trip(void)
{
	static const time_t	 times[] = {
		0, 1, 59, 60, 86399, 86400, 951782400, 1700000000,
		1795341600, 2147483647, (time_t)2147483648LL,
		(time_t)4102444800LL, (time_t)253402300799LL,
	};
	char			 out[TS_LEN + 1];
	time_t			 t;
	size_t			 i;

	for (i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		ts_format(times[i], out);
		CHECK_EQ(strlen(out), TS_LEN);
		t = -1;
		CHECK_EQ(parse_exact(out, &t), 0);
		CHECK_EQ(t, times[i]);
	}
}

static void
test_parse_good(void)
{
	time_t	 t;

	CHECK_EQ(parse_exact("2026-11-22T10:00:00Z", &t), 0);
	CHECK_EQ(t, 1795341600);
	CHECK_EQ(parse_exact("1970-01-01T00:00:00Z", &t), 0);
	CHECK_EQ(t, 0);
	CHECK_EQ(parse_exact("2024-02-29T12:34:56Z", &t), 0);	/* leap year */
	CHECK_EQ(t, 1709210096);
	CHECK_EQ(parse_exact("2000-02-29T00:00:00Z", &t), 0);	/* 400 rule */
	CHECK_EQ(t, 951782400);
	CHECK_EQ(parse_exact("2026-12-31T23:59:59Z", &t), 0);
	CHECK_EQ(parse_exact("2026-04-30T00:00:00Z", &t), 0);
}

static void
test_parse_bad(void)
{
	static const char	*bad[] = {
		"2026-02-30T00:00:00Z",		/* Feb 30 */
		"2026-02-31T00:00:00Z",
		"2026-04-31T00:00:00Z",		/* April has 30 */
		"2026-13-01T00:00:00Z",		/* month 13 */
		"2026-00-01T00:00:00Z",
		"2026-01-00T00:00:00Z",
		"2026-01-32T00:00:00Z",
		"2026-01-01T24:00:00Z",
		"2026-01-01T00:60:00Z",
		"2026-01-01T00:00:61Z",
		"2016-12-31T23:59:60Z",		/* no leap seconds (ts.h) */
		"2026-01-01T00:00:00",		/* missing Z */
		"2026-01-01T00:00:00z",
		"2026-01-01t00:00:00Z",
		"2026-01-01 00:00:00Z",
		"2026-01-01T00:00:00+00:00",
		"2026-01-01T00:00:00.0Z",	/* fractions: wrong length */
		"2026-01-01T00:00:00ZZ",
		"2026-1-01T00:00:00Z",
		"26-01-01T00:00:00Z",
		"2026/01/01T00:00:00Z",
		"2026-01-01T00.00.00Z",
		"2026-01-0aT00:00:00Z",
		"+026-01-01T00:00:00Z",
		"2026-01- 1T00:00:00Z",
		"2026-01-+1T00:00:00Z",
		"1969-12-31T23:59:59Z",		/* before the epoch */
		"0000-01-01T00:00:00Z",
		"",
		"Z",
		"XXXXXXXXXXXXXXXXXXXX",
	};
	time_t			 t;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = 12345;
		if (parse_exact(bad[i], &t) != -EBADMSG) {
			fprintf(stderr, "accepted bad time '%s'\n", bad[i]);
			CHECK(0);
		}
		CHECK_EQ(t, 12345);		/* untouched on error */
	}
}

/* The length given is the one used, whatever follows. */
static void
test_parse_len(void)
{
	time_t	 t;

	CHECK_EQ(ts_parse("2026-11-22T10:00:00Zjunk", TS_LEN, &t), 0);
	CHECK_EQ(t, 1795341600);
	CHECK_EQ(ts_parse("2026-11-22T10:00:00Z", TS_LEN - 1, &t), -EBADMSG);
	CHECK_EQ(ts_parse("2026-11-22T10:00:00Z", 0, &t), -EBADMSG);
}

/*
 * Feb 29 of a year that is not a leap year is as bad a date as Feb 30.
 * Regression: ts_parse checked the day against 29 for every February and
 * timegm then moved it to March 1 quietly.
 */
static void
test_parse_feb29_common_year(void)
{
	time_t	 t = 12345;

	CHECK_EQ(parse_exact("2025-02-29T00:00:00Z", &t), -EBADMSG);
	CHECK_EQ(parse_exact("2100-02-29T00:00:00Z", &t), -EBADMSG);
	CHECK_EQ(parse_exact("1900-02-29T00:00:00Z", &t), -EBADMSG);
	CHECK_EQ(t, 12345);
}

/*
 * Whatever ts_parse accepts, ts_format must be able to write back as a
 * TS_LEN-character timestamp that parses to the same time (manifest_emit
 * relies on that). Regression: a leap second on the last second of 9999
 * was accepted, and is past what the format can hold.
 */
static void
test_parse_then_format(void)
{
	static const char	*in[] = {
		"2026-06-30T23:59:60Z",
		"2016-12-31T23:59:60Z",
		"9999-12-31T23:59:59Z",
		"9999-12-31T23:59:60Z",
	};
	char			 out[TS_LEN + 2];
	time_t			 t, t2;
	size_t			 i;

	for (i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
		if (parse_exact(in[i], &t) != 0)
			continue;	/* refusing it is fine */
		memset(out, 'X', sizeof(out));
		ts_format(t, out);
		if (memchr(out, '\0', TS_LEN + 1) == NULL ||
		    strlen(out) != TS_LEN) {
			fprintf(stderr, "'%s' parses to %lld which ts_format "
			    "cannot write\n", in[i], (long long)t);
			CHECK(0);
			continue;
		}
		CHECK_EQ(parse_exact(out, &t2), 0);
		CHECK_EQ(t2, t);
	}
}

static void
test_duration(void)
{
	static const struct {
		const char	*s;
		int64_t		 v;
	} good[] = {
		{ "0", 0 },
		{ "90", 90 },
		{ "90s", 90 },
		{ "15m", 900 },
		{ "24h", 86400 },
		{ "7d", 604800 },
		{ "2w", 1209600 },
		{ "1d", 86400 },
		{ "60", 60 },
		{ "0007m", 420 },
		{ "3660d", 3660LL * 86400 },		/* 10 years of 366 days */
		{ "316224000", 316224000 },
		{ "522w", 522LL * 604800 },
	};
	int64_t	 v;
	size_t	 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = -1;
		if (ts_duration_parse(good[i].s, &v) != 0 || v != good[i].v) {
			fprintf(stderr, "duration '%s' gave %lld\n", good[i].s,
			    (long long)v);
			CHECK(0);
		}
	}
}

static void
test_duration_bad(void)
{
	static const char	*bad[] = {
		"", "5x", "-1", "+1", "-1s", " 5", "5 ", "s", "m", "5ms",
		"1.5h", "5M", "5D", "0x10", "1e3", "5s5", "w2",
		"3661d",				/* over 10 years */
		"523w",
		"316224001",
		"99999999999999999999",			/* overflow */
		"18446744073709551615",
		"18446744073709551616",
		"18446744073709551615w",
		"30500568904943w",			/* huge, in weeks */
		"000000000000000000000000000000007",	/* long */
	};
	int64_t			 v;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 12345;
		if (ts_duration_parse(bad[i], &v) != -EBADMSG) {
			fprintf(stderr, "accepted bad duration '%s'\n", bad[i]);
			CHECK(0);
		}
		CHECK_EQ(v, 12345);
	}
}

static void
test_u64(void)
{
	uint64_t	 v;

	CHECK_EQ(ts_parse_u64("0", 0, 10, &v), 0);
	CHECK_EQ(v, 0);
	CHECK_EQ(ts_parse_u64("10", 0, 10, &v), 0);
	CHECK_EQ(v, 10);
	CHECK_EQ(ts_parse_u64("5", 5, 5, &v), 0);
	CHECK_EQ(v, 5);
	CHECK_EQ(ts_parse_u64("0042", 0, 100, &v), 0);
	CHECK_EQ(v, 42);
	CHECK_EQ(ts_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
	CHECK(v == UINT64_MAX);
	CHECK_EQ(ts_parse_u64("9007199254740992", 1, (uint64_t)1 << 53, &v), 0);
	CHECK(v == (uint64_t)1 << 53);
}

static void
test_u64_bounds(void)
{
	uint64_t	 v = 777;

	CHECK_EQ(ts_parse_u64("11", 0, 10, &v), -ERANGE);
	CHECK_EQ(ts_parse_u64("4", 5, 10, &v), -ERANGE);
	CHECK_EQ(ts_parse_u64("0", 1, 10, &v), -ERANGE);
	CHECK_EQ(ts_parse_u64("18446744073709551616", 0, UINT64_MAX, &v),
	    -ERANGE);
	CHECK_EQ(ts_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v),
	    -ERANGE);
	CHECK_EQ(ts_parse_u64("9007199254740993", 1, (uint64_t)1 << 53, &v),
	    -ERANGE);
	CHECK_EQ(v, 777);
}

static void
test_u64_malformed(void)
{
	static const char	*bad[] = {
		"", "-1", "+1", " 1", "1 ", "1a", "a1", "0x1", "1.0", "1e2",
		"\t1", "1\n", "-0", "--1", "\xd9\xa1",
	};
	uint64_t		 v = 777;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (ts_parse_u64(bad[i], 0, UINT64_MAX, &v) != -EBADMSG) {
			fprintf(stderr, "accepted bad number '%s'\n", bad[i]);
			CHECK(0);
		}
	CHECK_EQ(v, 777);
}

int
main(void)
{
	RUN(test_format);
	RUN(test_round_trip);
	RUN(test_parse_good);
	RUN(test_parse_bad);
	RUN(test_parse_len);
	RUN(test_parse_feb29_common_year);
	RUN(test_parse_then_format);
	RUN(test_duration);
	RUN(test_duration_bad);
	RUN(test_u64);
	RUN(test_u64_bounds);
	RUN(test_u64_malformed);
	return check_end();
}
