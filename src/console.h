/*
 * console: the web console's files, built into the binary, and their
 * answers. scripts/embed turns the files of console/ into build/console.c
 * at build time: the table below, one entry per file, with its bytes, its
 * Content-Type and a strong ETag (the quoted SHA-256 of the bytes). The
 * console itself is static HTML, CSS and JavaScript that speaks only the
 * admin API (/v1/admin/); nothing here knows a token.
 *
 * URLs: GET / is index.html; GET /console/NAME is the file NAME. Every
 * answer carries its ETag (If-None-Match gives 304), Cache-Control:
 * no-cache (a new binary's files are seen at once), a
 * Content-Security-Policy of default-src 'self' (no inline script, no
 * other origin), X-Content-Type-Options: nosniff and a no-referrer
 * policy; the page may not be framed.
 */
#ifndef CONSOLE_H
#define CONSOLE_H

#include <stddef.h>

#include "http.h"

#define CONSOLE_PREFIX		"/console/"

struct console_file {
	const char		*path;	/* "/index.html", "/app.js" */
	const char		*type;	/* the Content-Type */
	const unsigned char	*data;	/* len bytes, then a NUL */
	size_t			 len;
	const char		*etag;	/* "\"<64 hex>\"", quotes included */
};

/* The generated table (build/console.c); static, never freed. */
extern const struct console_file console_files[];
extern const size_t console_nfiles;

/* The file a request path names: "/" is "/index.html", CONSOLE_PREFIX
 * NAME is "/NAME". NULL for any other path, and for a NAME with a '/'
 * (no directories; so no "..") or not in the table. */
const struct console_file *console_find(const char *path);

/*
 * The prebuilt answers (a 200 and a 304 per file), shared by every
 * request and thread. console_new: 0 or -ENOMEM.
 */
struct console;

int	 console_new(struct console **ret_c);
void	 console_free(struct console *c);			/* NULL-safe */
/* Answers a GET or HEAD of "/" or of a path under CONSOLE_PREFIX (404,
 * JSON, for a file that is not there): 1 when it replied, 0 when the
 * path is not the console's (nothing sent). */
int	 console_reply(struct console *c, struct http_request *req);

#endif
