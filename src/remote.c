/*
 * remote: the CLI's client of the admin API; see remote.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "fetch.h"
#include "fs.h"
#include "log.h"
#include "manifest.h"
#include "remote.h"
#include "banned.h"

#define REMOTE_TOKEN_HEX	64

struct remote {
	struct fetch	*f;
	char		 url[FETCH_URL_MAX];
	char		 token[REMOTE_TOKEN_HEX + 1];
};

/* The token of a file: its first line, blanks around it dropped. */
static int
remote_token_read(const char *path, char token[REMOTE_TOKEN_HEX + 1])
{
	struct buf	 b;
	const char	*p;
	size_t		 n;
	int		 e;

	buf_init(&b, REMOTE_TOKEN_FILE_MAX);
	e = fs_read(&b, path);
	if (e < 0) {
		buf_release(&b);
		return log_errno(e, "cannot read the token file '%s'", path);
	}
	p = b.ptr != NULL ? b.ptr : "";
	p += strspn(p, " \t\r\n");
	n = strcspn(p, " \t\r\n");
	if (n == REMOTE_TOKEN_HEX &&
	    strspn(p, "0123456789abcdef") >= REMOTE_TOKEN_HEX) {
		memcpy(token, p, REMOTE_TOKEN_HEX);
		token[REMOTE_TOKEN_HEX] = '\0';
	} else
		e = -EINVAL;
	if (b.ptr != NULL)
		crypto_wipe(b.ptr, b.len);
	buf_release(&b);
	if (e < 0)
		return log_error("'%s' holds no admin token (a line of 64 "
		    "lower-case hex digits, as 'cascade token create' "
		    "prints)", path), -EINVAL;
	return 0;
}

int
remote_open(const char *url, const char *token_file, struct remote **ret_rm)
{
	struct fetch_config	 fc;
	struct remote		*rm;
	size_t			 n = strlen(url);
	int			 e;

	if ((strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) || n + 2 > FETCH_URL_MAX)
		return log_error("bad --server '%s': an http:// or https:// "
		    "URL", url), -EINVAL;
	rm = calloc(1, sizeof(*rm));
	if (rm == NULL)
		return log_errno(-ENOMEM, "cannot reach '%s'", url);
	snprintf(rm->url, sizeof(rm->url), "%s%s", url,
	    url[n - 1] == '/' ? "" : "/");
	e = remote_token_read(token_file, rm->token);
	if (e < 0) {
		free(rm);
		return e;
	}
	memset(&fc, 0, sizeof(fc));
	fc.base_url = rm->url;
	fc.bearer = rm->token;
	e = fetch_new(&fc, &rm->f);
	if (e < 0) {
		remote_close(rm);
		return log_error("bad --server '%s'", url), -EINVAL;
	}
	*ret_rm = rm;
	return 0;
}

void
remote_close(struct remote *rm)
{
	if (rm == NULL)
		return;
	fetch_free(rm->f);
	crypto_wipe(rm->token, sizeof(rm->token));
	free(rm);
}

const char *
remote_url(const struct remote *rm)
{
	return rm->url;
}

int
remote_request(struct remote *rm, const char *method, const char *path,
    const char *body, size_t len, struct buf *out, long *ret_status)
{
	struct fetch_result	 res;
	int			 e;

	memset(&res, 0, sizeof(res));
	e = fetch_request(rm->f, method, path, body != NULL ?
	    "application/json" : NULL, body, len, out, &res);
	if (e == -E2BIG)
		return log_error("the answer of '%s' to %s %s is over %zu bytes",
		    rm->url, method, path, out->max), -E2BIG;
	if (e < 0)
		return log_error("cannot reach '%s': %s", rm->url,
		    res.error[0] != '\0' ? res.error : log_strerror(e)), e;
	*ret_status = res.status;
	return 0;
}

int
remote_fail(const struct remote *rm, const char *what, long status,
    const struct buf *out)
{
	char			 error[64], detail[512];
	struct manifest_field	 f[] = {
		{ "error", MANIFEST_FIELD_STRING, error, sizeof(error), 0 },
		{ "detail", MANIFEST_FIELD_STRING, detail, sizeof(detail), 0 },
	};

	if (out->ptr != NULL && manifest_fields_parse(out->ptr, out->len, f,
	    2, NULL, 0) == 0 && f[0].present)
		log_error("cannot %s: '%s' answered %ld %s%s%s", what,
		    rm->url, status, error, f[1].present ? ": " : "",
		    f[1].present ? detail : "");
	else
		log_error("cannot %s: '%s' answered %ld", what, rm->url,
		    status);
	return 1;
}

int
remote_query_escape(struct buf *out, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 pct[4];
	int			 e = 0;

	for (; e == 0 && *s != '\0'; s++) {
		unsigned char	 c = (unsigned char)*s;

		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c) != NULL) {
			e = buf_append(out, s, 1);
			continue;
		}
		pct[0] = '%';
		pct[1] = hex[c >> 4];
		pct[2] = hex[c & 15];
		pct[3] = '\0';
		e = buf_puts(out, pct);
	}
	return e;
}
