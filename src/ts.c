#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts.h"
#include "banned.h"

void
ts_format(time_t t, char out[TS_LEN + 1])
{
	struct tm	 tm;

	gmtime_r(&t, &tm);
	strftime(out, TS_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
ts_digits(const char *p, size_t n, int *ret)
{
	int	 v = 0;
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		v = v * 10 + (p[i] - '0');
	}
	*ret = v;
	return 0;
}

int
ts_parse(const char *p, size_t len, time_t *ret_t)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	struct tm	 tm;
	int		 y, mo, d, h, mi, s;
	time_t		 t;

	if (len != TS_LEN || p[4] != '-' || p[7] != '-' || p[10] != 'T' ||
	    p[13] != ':' || p[16] != ':' || p[19] != 'Z')
		return -EBADMSG;
	if (ts_digits(p, 4, &y) < 0 || ts_digits(p + 5, 2, &mo) < 0 ||
	    ts_digits(p + 8, 2, &d) < 0 || ts_digits(p + 11, 2, &h) < 0 ||
	    ts_digits(p + 14, 2, &mi) < 0 || ts_digits(p + 17, 2, &s) < 0)
		return -EBADMSG;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    h > 23 || mi > 59 || s > 59)
		return -EBADMSG;
	if (mo == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)))
		return -EBADMSG;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EBADMSG;
	*ret_t = t;
	return 0;
}

int
ts_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret)
{
	unsigned long long	 v;
	char			*end;

	if (s[0] < '0' || s[0] > '9')
		return -EBADMSG;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (*end != '\0')
		return -EBADMSG;
	if (errno == ERANGE || v < min || v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

int
ts_duration_parse(const char *s, int64_t *ret_seconds)
{
	char		 num[32];
	size_t		 n = strlen(s);
	uint64_t	 v, unit = 1;

	if (n == 0 || n >= sizeof(num))
		return -EBADMSG;
	memcpy(num, s, n + 1);
	if (isalpha((unsigned char)num[n - 1])) {
		switch (num[n - 1]) {
		case 's': unit = 1; break;
		case 'm': unit = 60; break;
		case 'h': unit = 3600; break;
		case 'd': unit = 86400; break;
		case 'w': unit = 7 * 86400; break;
		default: return -EBADMSG;
		}
		num[n - 1] = '\0';
	}
	if (ts_parse_u64(num, 0, 10ull * 366 * 86400, &v) < 0 ||
	    v * unit > 10ull * 366 * 86400)
		return -EBADMSG;
	*ret_seconds = (int64_t)(v * unit);
	return 0;
}
