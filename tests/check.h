/*
 * check: the unit-test harness. Each test is a function; CHECK records a
 * failure and goes on. Output is one line per test, "ok NAME" or
 * "not ok NAME", which tests/run counts; the exit status is non-zero when
 * any test failed.
 */
#ifndef CHECK_H
#define CHECK_H

#include <stdio.h>
#include <stdlib.h>

static int	check_failed_now;
static int	check_passed;
static int	check_failed;

#define CHECK(expr) do {						\
	if (!(expr)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #expr);				\
		check_failed_now = 1;					\
	}								\
} while (0)

/* Integers compared, both values printed on failure. */
#define CHECK_EQ(a, b) do {						\
	long long check_a = (long long)(a), check_b = (long long)(b);	\
	if (check_a != check_b) {					\
		fprintf(stderr, "%s:%d: check failed: %s == %s "	\
		    "(%lld != %lld)\n", __FILE__, __LINE__, #a, #b,	\
		    check_a, check_b);					\
		check_failed_now = 1;					\
	}								\
} while (0)

static void
check_run(const char *name, void (*fn)(void))
{
	check_failed_now = 0;
	fn();
	if (check_failed_now) {
		check_failed++;
		printf("not ok %s\n", name);
	} else {
		check_passed++;
		printf("ok %s\n", name);
	}
	fflush(stdout);
}

#define RUN(fn)	check_run(#fn, fn)

static int
check_end(void)
{
	return check_failed == 0 ? 0 : 1;
}

#endif
