/*
 * buf: a growable byte buffer with a hard size cap.
 * ptr[len] == '\0' always (once anything was appended, or after
 * buf_init, ptr may be NULL with len 0); len <= max always. A failed
 * append leaves the buffer as it was.
 */
#ifndef BUF_H
#define BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*ptr;
	size_t	 len;
	size_t	 cap;	/* private */
	size_t	 max;	/* fixed by buf_init() */
};

void	 buf_init(struct buf *b, size_t max);
void	 buf_release(struct buf *b);
void	 buf_reset(struct buf *b);			/* len = 0, keeps memory */
int	 buf_append(struct buf *b, const void *p, size_t n); /* 0, -E2BIG, -ENOMEM */
int	 buf_puts(struct buf *b, const char *s);	/* 0, -E2BIG, -ENOMEM */
int	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));	/* 0, -E2BIG, -ENOMEM */
int	 buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* Appends s as a JSON string literal, quotes included. */
int	 buf_json_str(struct buf *b, const char *s);	/* 0, -E2BIG, -ENOMEM */
char	*buf_detach(struct buf *b, size_t *ret_len);	/* caller frees */

#endif
