/*
 * ts: RFC 3339 timestamps in UTC, exactly "YYYY-MM-DDTHH:MM:SSZ", and
 * durations written as a number with an optional unit (s, m, h, d, w).
 */
#ifndef TS_H
#define TS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TS_LEN	20	/* characters, without the NUL */

void	 ts_format(time_t t, char out[TS_LEN + 1]);
/* Parses exactly TS_LEN bytes of the form above (no leap seconds: the
 * text must be what ts_format gives back). 0 or -EBADMSG. */
int	 ts_parse(const char *p, size_t len, time_t *ret_t);
/* "90", "90s", "15m", "24h", "7d", "2w" to seconds; at most 10 years.
 * 0 or -EBADMSG. */
int	 ts_duration_parse(const char *s, int64_t *ret_seconds);
/* A decimal unsigned integer in [min, max], the whole string.
 * 0 or -EBADMSG or -ERANGE. */
int	 ts_parse_u64(const char *s, uint64_t min, uint64_t max,
	    uint64_t *ret);

#endif
