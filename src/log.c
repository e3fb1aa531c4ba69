#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "banned.h"

static const char	*log_program = "cascade";
static int		 log_verbose;

void
log_set_program(const char *name)
{
	log_program = name;
}

void
log_set_verbose(int on)
{
	log_verbose = on;
}

const char *
log_strerror(int r)
{
	switch (-r) {
	case EBADMSG:
		return "malformed data";
	case E2BIG:
		return "over the size limit";
	case EPERM:
		return "signature or hash mismatch";
	case EPROTO:
		return "protocol error";
	default:
		return strerror(-r);
	}
}

static void
log_v(const char *level, int r, const char *fmt, va_list ap)
{
	char	 line[2048];
	int	 n;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		return;
	if (r < 0)
		fprintf(stderr, "%s: %s%s: %s\n", log_program, level, line,
		    log_strerror(r));
	else
		fprintf(stderr, "%s: %s%s\n", log_program, level, line);
}

void
log_info(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_v("", 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	 ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_v("debug: ", 0, fmt, ap);
	va_end(ap);
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_v("warning: ", 0, fmt, ap);
	va_end(ap);
}

int
log_errno(int r, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_v("", r < 0 ? r : -EIO, fmt, ap);
	va_end(ap);
	return r;
}

int
log_error(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	log_v("", 0, fmt, ap);
	va_end(ap);
	return -1;
}
