/*
 * fetch: the HTTP(S) client, on libcurl (the only module that includes
 * it). One struct fetch talks to one upstream: its connections are kept
 * and reused across requests (HTTP keep-alive), it adds the upstream's
 * credentials to every request (HTTP Basic, the license key in an
 * X-Cascade-License header), goes through a proxy with credentials when
 * configured, trusts a configured CA for https, and works over IPv4 and
 * IPv6. A transfer is aborted when no byte arrives for `stall_timeout`
 * seconds (progress, not total time), except long-polls, which have a
 * total timeout. Not thread-safe: one struct fetch per thread.
 *
 * Every body is bounded: documents by their buffer's cap, files by the
 * caller's max_size (the size a signed manifest gives); a peer that sends
 * more gets -E2BIG and the transfer is cut.
 */
#ifndef FETCH_H
#define FETCH_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define FETCH_ETAG_MAX		128
#define FETCH_ERROR_MAX		256
#define FETCH_URL_MAX		2048
#define FETCH_PARALLEL_MAX	16	/* transfers at once in fetch_files */

struct fetch;

struct fetch_config {
	const char	*base_url;	/* "http://hq:8080/", path appended */
	const char	*username;	/* HTTP Basic; NULL or "" for none */
	const char	*password;
	const char	*license_key;	/* X-Cascade-License; NULL for none */
	const char	*proxy;		/* "http://host:3128"; NULL for none */
	const char	*proxy_username;
	const char	*proxy_password;
	const char	*ca_file;	/* NULL: the system's CAs */
	/* an agent's credentials: X-Cascade-Agent and "Authorization:
	 * Bearer"; NULL for none. bearer alone serves the server's pushes. */
	const char	*agent_id;
	const char	*bearer;
	/* a downstream mirror's name, sent as X-Cascade-Downstream (on its
	 * long-poll, so that the upstream can answer it at once for a "run
	 * now"); NULL for none */
	const char	*downstream;
	long		 connect_timeout;	/* seconds; 0: 10 */
	long		 stall_timeout;		/* seconds; 0: 30 */
	/* when not NULL, a transfer is abandoned (-ECANCELED) soon after
	 * *cancel becomes non-zero: how another thread stops a long-poll */
	const volatile int *cancel;
};

struct fetch_result {
	long		 status;	/* HTTP status; 0 when none came */
	char		 etag[FETCH_ETAG_MAX];	/* "" when none */
	int64_t		 retry_after;	/* seconds from Retry-After, or -1 */
	uint64_t	 bytes;		/* body bytes received */
	char		 error[FETCH_ERROR_MAX];	/* why, when it failed */
};

/* Copies what it needs of c. 0, -EINVAL (bad URL), -ENOMEM. */
int	 fetch_new(const struct fetch_config *c, struct fetch **ret_f);
void	 fetch_free(struct fetch *f);			/* NULL-safe */

/*
 * GET base_url + path into out (appending; out->max bounds the body).
 * if_none_match (an ETag, quoted) may be NULL. timeout > 0 bounds the
 * whole request in seconds (for long-polls); 0 uses the stall timeout
 * only. Returns 0 when a response came, whatever its status (look at
 * res->status; a 304 leaves out untouched), -E2BIG when the body is over
 * out->max, -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -EPROTO (TLS or
 * protocol failure), -EIO otherwise; res->error says more.
 */
int	 fetch_get(struct fetch *f, const char *path, const char *if_none_match,
	    long timeout, struct buf *out, struct fetch_result *res);

/*
 * A request with a method and an optional body (PUT, POST; GET too):
 * method + base_url + path, body of len bytes sent with content_type
 * (NULL body: none). The answer's body goes to out like fetch_get's;
 * out may be NULL to drop it. Same returns as fetch_get.
 */
int	 fetch_request(struct fetch *f, const char *method, const char *path,
	    const char *content_type, const void *body, size_t len,
	    struct buf *out, struct fetch_result *res);

/*
 * Downloads to files, several at once over one connection pool. Each job
 * appends to its fd: when the file already holds bytes (an interrupted
 * download), it asks for the rest with "Range: bytes=SIZE-" and appends
 * a 206; a 200 instead truncates the file and starts over. A body that
 * would make the file larger than max_size is cut (-E2BIG in rc). Each
 * job's rc is 0 when the file is complete (status 200 or 206, or 416 for
 * a file already whole), or -errno; res holds the details. Returns 0
 * when every job succeeded, else the first failure.
 */
struct fetch_job {
	const char		*path;		/* appended to base_url */
	int			 fd;		/* opened O_RDWR */
	uint64_t		 max_size;
	struct fetch_result	 res;		/* out */
	int			 rc;		/* out */
};

int	 fetch_files(struct fetch *f, struct fetch_job *jobs, size_t n,
	    int parallel);

#endif
