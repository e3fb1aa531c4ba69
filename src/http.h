/*
 * http: the HTTP server, on libmicrohttpd (the only module that includes
 * it). One daemon per listening address, each with a pool of threads on
 * epoll; request handling is the caller's, through one handler.
 *
 * Responses are reference-counted: a handler may reply with a response it
 * built for this request (http_reply takes it over) or with a prebuilt
 * one it keeps (http_reply_keep), which many threads may send at once.
 * Also here: the parsing of Range and If-None-Match, which takes
 * untrusted header values and never fails hard: a malformed Range is
 * ignored, as RFC 9110 allows.
 */
#ifndef HTTP_H
#define HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define HTTP_LISTEN_MAX		8
#define HTTP_ADDR_MAX		ADDR_MAX	/* "[v6 address]:port" */

struct http_server;
struct http_request;
struct http_response;
struct http_body_plan;

struct http_config {
	const char	*listen[HTTP_LISTEN_MAX];	/* "[::]:8080", ... */
	int		 nlisten;
	int		 threads;		/* per address, >= 1 */
	int		 connection_memory;	/* bytes */
	int		 connection_limit;
	int		 connection_timeout;	/* seconds */
	/* request bodies (POST, PUT) up to this many bytes are read whole
	 * before the handler is called; a larger one gets 413 and
	 * Connection: close. 0: no request takes a body. */
	size_t		 body_max;
	/* when not NULL, chooses for each request with a body how it is
	 * read (see http_body_plan); body_max is the plan it is given */
	void		(*body_plan)(void *ctx, struct http_request *req,
			    struct http_body_plan *plan);
	/* When not NULL, called with the handler's ctx once for each
	 * answer queued by an http_reply function (this module's own
	 * refusals, such as 413, too), on the replying thread: the status
	 * and the bytes of the body (0 for HEAD, 204 and 304). It must be
	 * quick and take no lock that a handler holds while replying. */
	void		(*observe)(void *ctx, const struct http_request *req,
			    unsigned status, uint64_t bytes);
};

/*
 * How a request's body is read, chosen from its method, path and
 * headers before its first byte (the handler's ctx and the request are
 * given; the request's body is not there yet): whole into memory up to
 * max bytes, or, with dir set,
 * streamed into an unnamed temporary file (O_TMPFILE) in that directory
 * up to max bytes, for uploads larger than memory should hold; the
 * handler reads it with http_body_fd, and it is gone when the request
 * ends. A larger body gets 413 (at once when Content-Length says so);
 * a file that cannot be created or written, 507. dir must outlive the
 * server. The planner may also refuse the request at once, before its
 * body is read (a wrong credential, say), by replying to it with
 * http_reply or http_reply_error: the handler is then not called, and
 * the connection is closed.
 */
struct http_body_plan {
	uint64_t	 max;		/* 0: no body taken (413) */
	const char	*dir;		/* NULL: in memory (max fits size_t) */
};

/* Called on a pool thread for each request; must call one of the
 * http_reply functions exactly once, or http_suspend (see below). */
typedef void	 (*http_handler)(void *ctx, struct http_request *req);

/* Binds every address and starts serving. Errors name the address in
 * err. 0, -EADDRINUSE, -EINVAL (bad address), -errno. */
int	 http_server_start(const struct http_config *c, http_handler h,
	    void *ctx, struct http_server **ret_s, char *err, size_t errsize);
/* Stops accepting, closes every connection, joins the threads. */
void	 http_server_stop(struct http_server *s);		/* NULL-safe */
/* The address actually bound for listen[i] (the port of ":0" filled in). */
const char *http_server_address(const struct http_server *s, int i);

/* The request. Strings belong to the request and live until the reply. */
const char *http_method(const struct http_request *req);
const char *http_path(const struct http_request *req);	/* no query */
int	 http_is_head(const struct http_request *req);
const char *http_header(const struct http_request *req, const char *name);
const char *http_query(const struct http_request *req, const char *name);
/* The request body (NUL-terminated after len bytes; "" when none, or
 * when it went to a file). */
const char *http_body(const struct http_request *req, size_t *ret_len);
/* The file a body was streamed into (a file sink, see http_body_plan),
 * positioned at its start, and its size. The descriptor stays the
 * request's (do not close it). -ENOENT when the body is not in a file
 * (no body, or read into memory). */
int	 http_body_fd(const struct http_request *req, uint64_t *ret_size);
/* The peer's address as text ("127.0.0.1", "::1"); "" when unknown. */
void	 http_peer(const struct http_request *req, char out[HTTP_ADDR_MAX]);

/* Building responses. Each returns NULL when out of memory. */
struct http_response *http_response_copy(const void *p, size_t n);
/* Sends n bytes of fd from off with sendfile; the response owns fd and
 * closes it (also when creation fails). */
struct http_response *http_response_fd(int fd, uint64_t off, uint64_t n);
/* A 304 for a resource whose 200 answer has full_length bytes: no body,
 * and a Content-Length that is that of the 200 (RFC 9110 section 8.6). */
struct http_response *http_response_not_modified(uint64_t full_length);
int	 http_response_header(struct http_response *r, const char *name,
	    const char *value);				/* 0 or -ENOMEM */
void	 http_response_free(struct http_response *r);	/* NULL-safe */

/* Queues r with status and drops the caller's reference to it. */
void	 http_reply(struct http_request *req, unsigned status,
	    struct http_response *r);
/* Queues a response the caller keeps using. */
void	 http_reply_keep(struct http_request *req, unsigned status,
	    struct http_response *r);
/* A JSON error body {"error": ..., "detail": ...}, for extra headers. */
struct http_response *http_error_new(const char *error, const char *detail);
/* Replies with a JSON error. */
void	 http_reply_error(struct http_request *req, unsigned status,
	    const char *error, const char *detail);

/* HTTP Basic credentials of the request, copied NUL-terminated into user
 * and pass; the caller wipes pass after use. 0, -ENOENT (none, or not
 * Basic), -E2BIG (longer than a buffer). */
int	 http_basic_auth(struct http_request *req, char *user, size_t usize,
	    char *pass, size_t psize);

/*
 * Long-polls. A handler may park a request instead of replying: it calls
 * http_suspend and returns. The request then holds no thread (nor does
 * libmicrohttpd notice a client that goes away meanwhile). Later, any
 * thread calls http_resume, and the handler is called again for the same
 * request, on a pool thread: http_resumed gives the token, and that call
 * must reply (it cannot suspend again).
 *
 * Ownership: the waiter stays valid for its owner until the owner's one
 * http_resume call; after it, never touch it. The token stays the
 * caller's: when the request ends, whichever way (answered, the client or
 * the server gone, even if the handler was never called again), release
 * is called with it exactly once, on some thread, with no lock of this
 * module held. Every waiter must be resumed before http_server_stop.
 */
struct http_waiter;

/* token must not be NULL. NULL when out of memory, when req was resumed
 * already, or when the server is stopping: reply at once then. */
struct http_waiter *http_suspend(struct http_request *req, void *token,
	    void (*release)(void *token));
void	 http_resume(struct http_waiter *w);
/* The token of a request that was suspended and resumed, else NULL. */
void	*http_resumed(const struct http_request *req);

/* Range: "bytes=A-B", "bytes=A-", "bytes=-N" against size. Returns 1
 * with the offset and length in ret_off and ret_len for a satisfiable single range, 0 when the
 * whole representation should be sent (no or ignorable header), -ERANGE
 * when unsatisfiable (416). */
int	 http_range_parse(const char *h, uint64_t size, uint64_t *ret_off,
	    uint64_t *ret_len);
/* If-None-Match against a strong etag (quoted): 1 if it matches. */
int	 http_etag_match(const char *if_none_match, const char *etag);

#endif
