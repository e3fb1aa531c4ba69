/*
 * remote: the command line's client of a running server's admin API
 * (docs/openapi.yaml), for the commands that take `--server URL --token
 * FILE` instead of -d DIR. FILE holds an admin token (one line of 64
 * lower-case hex digits, as `cascade init` writes DIR/admin.token and
 * `cascade token create` prints); it is sent as "Authorization: Bearer"
 * on every request. Errors are logged here, once, with what the server
 * said ({"error", "detail"}).
 */
#ifndef REMOTE_H
#define REMOTE_H

#include <stddef.h>

#include "buf.h"

#define REMOTE_ANSWER_MAX	(256u << 20)	/* an answer's body */
#define REMOTE_TOKEN_FILE_MAX	4096

struct remote;

/* url: http:// or https://, the server's root. Logs its errors.
 * 0, -EINVAL (bad URL or no token in the file), -errno (the file). */
int	 remote_open(const char *url, const char *token_file,
	    struct remote **ret_rm);
void	 remote_close(struct remote *rm);			/* NULL-safe */
const char *remote_url(const struct remote *rm);

/* method path (below the root, "v1/admin/agents"), with a JSON body of
 * len bytes when body is not NULL. The answer's body is appended to out
 * (out->max bounds it), its status in *ret_status. 0 when an answer
 * came, whatever its status; -errno (logged) when none did. */
int	 remote_request(struct remote *rm, const char *method,
	    const char *path, const char *body, size_t len, struct buf *out,
	    long *ret_status);
/* Logs an answer that is not a success, for `what` ("list the agents"),
 * with the error the server gave; returns 1 (the exit status). */
int	 remote_fail(const struct remote *rm, const char *what, long status,
	    const struct buf *out);
/* Appends s to out percent-encoded for a URL query value (all but
 * A-Z a-z 0-9 - . _ ~). 0, -E2BIG, -ENOMEM. */
int	 remote_query_escape(struct buf *out, const char *s);

#endif
