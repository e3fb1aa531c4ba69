#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "console.h"
#include "http.h"
#include "banned.h"

/* Sent with every console answer, 200 and 304 alike. The page loads
 * nothing from elsewhere and runs no inline code, so 'self' is all it
 * needs; frame-ancestors keeps it out of other sites' frames. */
static const char *const console_headers[][2] = {
	{ "Cache-Control", "no-cache" },
	{ "Content-Security-Policy", "default-src 'self'; base-uri 'none'; "
	    "form-action 'self'; frame-ancestors 'none'" },
	{ "X-Content-Type-Options", "nosniff" },
	{ "X-Frame-Options", "DENY" },
	{ "Referrer-Policy", "no-referrer" },
};

struct console_answer {
	struct http_response	*full;
	struct http_response	*not_modified;
};

struct console {
	struct console_answer	*ans;	/* one per console_files entry */
};

const struct console_file *
console_find(const char *path)
{
	const char	*name;
	size_t		 i;

	if (path == NULL)
		return NULL;
	if (strcmp(path, "/") == 0)
		name = "index.html";
	else if (strncmp(path, CONSOLE_PREFIX, strlen(CONSOLE_PREFIX)) == 0)
		name = path + strlen(CONSOLE_PREFIX);
	else
		return NULL;
	if (*name == '\0' || strchr(name, '/') != NULL)
		return NULL;
	for (i = 0; i < console_nfiles; i++)
		if (strcmp(console_files[i].path + 1, name) == 0)
			return &console_files[i];
	return NULL;
}

static int
console_headers_add(struct http_response *r, const struct console_file *f)
{
	size_t	 i;

	if (http_response_header(r, "ETag", f->etag) < 0)
		return -ENOMEM;
	for (i = 0; i < sizeof(console_headers) / sizeof(console_headers[0]);
	    i++)
		if (http_response_header(r, console_headers[i][0],
		    console_headers[i][1]) < 0)
			return -ENOMEM;
	return 0;
}

int
console_new(struct console **ret_c)
{
	struct console		*c;
	struct console_answer	*a;
	const struct console_file *f;
	size_t			 i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -ENOMEM;
	if ((c->ans = calloc(console_nfiles + 1, sizeof(*c->ans))) == NULL)
		goto fail;
	for (i = 0; i < console_nfiles; i++) {
		f = &console_files[i];
		a = &c->ans[i];
		a->full = http_response_copy(f->data, f->len);
		a->not_modified = http_response_not_modified(f->len);
		if (a->full == NULL || a->not_modified == NULL ||
		    http_response_header(a->full, "Content-Type",
		    f->type) < 0 ||
		    console_headers_add(a->full, f) < 0 ||
		    console_headers_add(a->not_modified, f) < 0)
			goto fail;
	}
	*ret_c = c;
	return 0;
fail:
	console_free(c);
	return -ENOMEM;
}

void
console_free(struct console *c)
{
	size_t	 i;

	if (c == NULL)
		return;
	for (i = 0; c->ans != NULL && i < console_nfiles; i++) {
		http_response_free(c->ans[i].full);
		http_response_free(c->ans[i].not_modified);
	}
	free(c->ans);
	free(c);
}

int
console_reply(struct console *c, struct http_request *req)
{
	const struct console_file	*f;
	const struct console_answer	*a;
	const char			*path = http_path(req);

	if (strcmp(path, "/") != 0 &&
	    strncmp(path, CONSOLE_PREFIX, strlen(CONSOLE_PREFIX)) != 0)
		return 0;
	if ((f = console_find(path)) == NULL) {
		http_reply_error(req, 404, "not_found",
		    "no such file in the console");
		return 1;
	}
	a = &c->ans[f - console_files];
	if (http_etag_match(http_header(req, "If-None-Match"), f->etag))
		http_reply_keep(req, 304, a->not_modified);
	else
		http_reply_keep(req, 200, a->full);
	return 1;
}
