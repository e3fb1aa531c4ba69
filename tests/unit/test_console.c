/*
 * Unit tests of console: the table scripts/embed generated (each file's
 * bytes, length and ETag), the paths console_find answers and refuses,
 * and the files themselves: everything the page names is built in, and
 * nothing in them needs another origin or an inline script or style,
 * which the Content-Security-Policy would block.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "console.h"
#include "crypto.h"
#include "check.h"
#include "banned.h"

/* The bytes of a file as a string (the table keeps a NUL after them). */
static const char *
text_of(const char *path)
{
	const struct console_file	*f = console_find(path);

	return f == NULL ? NULL : (const char *)f->data;
}

static void
test_table(void)
{
	unsigned char	 md[CRYPTO_SHA256_LEN];
	char		 hex[CRYPTO_SHA256_HEX], etag[CRYPTO_SHA256_HEX + 2];
	size_t		 i;

	CHECK(console_nfiles >= 4);
	for (i = 0; i < console_nfiles; i++) {
		const struct console_file *f = &console_files[i];

		CHECK(f->path[0] == '/');
		CHECK(strchr(f->path + 1, '/') == NULL);
		CHECK(f->type != NULL && f->type[0] != '\0');
		CHECK(f->data[f->len] == '\0');
		CHECK(crypto_sha256(f->data, f->len, md) == 0);
		crypto_hex(md, sizeof(md), hex);
		snprintf(etag, sizeof(etag), "\"%s\"", hex);
		if (strcmp(etag, f->etag) != 0) {
			fprintf(stderr, "%s: etag %s, sha256 %s\n", f->path,
			    f->etag, etag);
			CHECK(0);
		}
		/* a text file is only text: no NUL inside */
		if (strncmp(f->type, "text/", 5) == 0)
			CHECK(strlen((const char *)f->data) == f->len);
	}
}

static void
test_find(void)
{
	const struct console_file	*f;

	f = console_find("/");
	CHECK(f != NULL && strcmp(f->path, "/index.html") == 0);
	CHECK(f != NULL && strcmp(f->type, "text/html; charset=utf-8") == 0);
	f = console_find("/console/app.js");
	CHECK(f != NULL && strcmp(f->path, "/app.js") == 0);
	CHECK(f != NULL && strncmp(f->type, "text/javascript", 15) == 0);
	f = console_find("/console/app.css");
	CHECK(f != NULL && strncmp(f->type, "text/css", 8) == 0);
	CHECK(console_find("/console/index.html") == console_find("/"));

	CHECK(console_find(NULL) == NULL);
	CHECK(console_find("") == NULL);
	CHECK(console_find("/app.js") == NULL);
	CHECK(console_find("/console") == NULL);
	CHECK(console_find("/console/") == NULL);
	CHECK(console_find("/console/nope.js") == NULL);
	CHECK(console_find("/console/../console/app.js") == NULL);
	CHECK(console_find("/console//app.js") == NULL);
	CHECK(console_find("/console/x/app.js") == NULL);
	CHECK(console_find("/console/app.js/") == NULL);
	CHECK(console_find("/console/APP.JS") == NULL);
	CHECK(console_find("/v1/state") == NULL);
	CHECK(console_find("//") == NULL);
}

/* Every "/console/NAME" that a file names is in the table. */
static void
test_references(void)
{
	const char	*p, *q;
	char		 path[128];
	size_t		 i, n, found = 0;

	for (i = 0; i < console_nfiles; i++) {
		p = (const char *)console_files[i].data;
		while ((p = strstr(p, CONSOLE_PREFIX)) != NULL) {
			q = p + strlen(CONSOLE_PREFIX);
			while (isalnum((unsigned char)*q) || *q == '.' ||
			    *q == '-' || *q == '_')
				q++;
			n = (size_t)(q - p);
			if (n > strlen(CONSOLE_PREFIX) && n < sizeof(path)) {
				memcpy(path, p, n);
				path[n] = '\0';
				if (console_find(path) == NULL) {
					fprintf(stderr, "%s names %s, which "
					    "is not built in\n",
					    console_files[i].path, path);
					CHECK(0);
				}
				found++;
			}
			p = q;
		}
	}
	CHECK(found >= 3);	/* the page's script, style and icon */
}

/* What default-src 'self' would block, or what would leave the machine. */
static void
test_policy(void)
{
	const char	*html = text_of("/"), *p;
	size_t		 i;

	CHECK(html != NULL);
	if (html == NULL)
		return;
	for (p = html; (p = strstr(p, "<script")) != NULL; p++)
		CHECK(strncmp(p, "<script src=\"/console/", 22) == 0);
	CHECK(strstr(html, "<style") == NULL);
	CHECK(strstr(html, " style=") == NULL);
	CHECK(strstr(html, " onclick=") == NULL);
	CHECK(strstr(html, " onload=") == NULL);
	CHECK(strstr(html, " onsubmit=") == NULL);
	for (i = 0; i < console_nfiles; i++) {
		p = (const char *)console_files[i].data;
		if (strstr(p, "http://") != NULL ||
		    strstr(p, "https://") != NULL) {
			/* the SVG's namespace is a name, not a fetch */
			if (strcmp(console_files[i].path, "/favicon.svg") == 0 &&
			    strstr(p, "https://") == NULL &&
			    strstr(strstr(p, "http://") + 1, "http://") == NULL)
				continue;
			fprintf(stderr, "%s names another origin\n",
			    console_files[i].path);
			CHECK(0);
		}
		CHECK(strstr(p, "eval(") == NULL);
		CHECK(strstr(p, "@import") == NULL);
	}
}

static void
test_answers(void)
{
	struct console	*c = NULL;

	CHECK(console_new(&c) == 0);
	CHECK(c != NULL);
	console_free(c);
	console_free(NULL);
}

int
main(void)
{
	RUN(test_table);
	RUN(test_find);
	RUN(test_references);
	RUN(test_policy);
	RUN(test_answers);
	return check_end();
}
