#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "addr.h"
#include "buf.h"
#include "fs.h"
#include "http.h"
#include "log.h"
#include "banned.h"

#define HTTP_ERROR_BODY_MAX	1024
#define HTTP_BACKLOG		4096

struct http_server {
	struct MHD_Daemon	*d[HTTP_LISTEN_MAX];
	char			 addr[HTTP_LISTEN_MAX][HTTP_ADDR_MAX];
	int			 n;
	http_handler		 handler;
	void			*ctx;
	size_t			 body_max;
	void			(*body_plan)(void *, struct http_request *,
				    struct http_body_plan *);
	void			(*observe)(void *ctx,
				    const struct http_request *req,
				    unsigned status, uint64_t bytes);
	pthread_mutex_t		 wlock;		/* the waiters and below */
	struct http_waiter	*suspended;	/* not resumed yet */
	int			 stopping;
};

/* A response and the size of its body, which libmicrohttpd does not
 * tell (for http_config.observe). Every constructor goes through
 * http_response_wrap. */
struct http_response {
	struct MHD_Response	*mhd;
	uint64_t		 size;
};

/*
 * A suspended request. Its *con_cls points here from http_suspend until
 * the request ends; two references hold it: the request's (dropped when
 * libmicrohttpd says the request ended) and the owner's (http_resume).
 */
struct http_waiter {
	struct http_server	*s;
	struct MHD_Connection	*c;
	void			*token;
	void			(*release)(void *token);
	struct http_waiter	*prev, *next;	/* in s->suspended */
	int			 is_suspended;
	int			 refs;		/* under s->wlock */
};

struct http_request {
	struct MHD_Connection	*c;
	const char		*method;
	const char		*path;
	int			 replied;
	struct http_server	*s;
	void			**con_cls;
	struct http_waiter	*resumed;	/* when called after a resume */
	int			 suspended;	/* by this call */
	struct http_body	*body;		/* NULL: none */
};

/* A request body being read: *con_cls points here until the request
 * ends. The marker tells it from a waiter. */
struct http_body {
	int		*marker;	/* &http_reading */
	struct buf	 b;		/* in memory, when fd < 0 */
	int		 fd;		/* a file sink, or -1 */
	uint64_t	 size;		/* bytes in the file */
	uint64_t	 max;
	int		 too_big;
	int		 failed;	/* errno of a write to the file */
};

/* The markers of *con_cls between the first call and the reply. */
static int	 http_seen, http_with_body, http_reading;

static int
http_listen(const char *spec, char *bound, size_t boundsize)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;
	char			 host[INET6_ADDRSTRLEN];
	int			 fd, one = 1, zero = 0, r;

	r = addr_parse(spec, &ss, &len);
	if (r < 0)
		return r;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
	    0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)	/* [::] serves IPv4 too */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 ||
	    listen(fd, HTTP_BACKLOG) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	len = sizeof(ss);
	getsockname(fd, (struct sockaddr *)&ss, &len);
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(bound, boundsize, "[%s]:%u", host,
		    ntohs(s6->sin6_port));
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(bound, boundsize, "%s:%u", host, ntohs(s4->sin_port));
	}
	return fd;
}

/* Whether the request announces a body. */
static int
http_has_body(struct MHD_Connection *c)
{
	const char	*cl, *te;

	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_TRANSFER_ENCODING);
	return te != NULL || (cl != NULL && strspn(cl, "0") != strlen(cl));
}

/* Content-Length when given and valid, else -1 (chunked or none). */
static long long
http_content_length(struct MHD_Connection *c)
{
	const char	*cl;
	char		*end;
	long long	 n;

	cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl == NULL || *cl < '0' || *cl > '9')
		return -1;
	errno = 0;
	n = strtoll(cl, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : n;
}

static int
http_is_body(void *p)
{
	return p != NULL && p != &http_seen && p != &http_with_body &&
	    *(int **)p == &http_reading;
}

static void
http_body_free(struct http_body *b)
{
	if (b == NULL)
		return;
	if (b->fd >= 0)
		close(b->fd);
	buf_release(&b->b);
	free(b);
}

/* The first call of a request with a body: how it is read (a plan), or
 * an answer at once. MHD_NO when out of memory. */
static enum MHD_Result
http_body_start(struct http_server *s, struct http_request *req,
    struct MHD_Connection *c, void **con_cls)
{
	struct http_body_plan	 plan;
	struct http_body	*b;
	long long		 cl;

	plan.max = s->body_max;
	plan.dir = NULL;
	if (s->body_plan != NULL)
		s->body_plan(s->ctx, req, &plan);
	if (req->replied)
		return MHD_YES;		/* refused: the connection closes */
	if (plan.max == 0) {
		*con_cls = &http_with_body;
		return MHD_YES;
	}
	cl = http_content_length(c);
	if (cl >= 0 && (uint64_t)cl > plan.max) {
		/* answered now, so the connection closes unread */
		http_reply_error(req, 413, "payload_too_large",
		    "the request body is over the limit");
		return MHD_YES;
	}
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return MHD_NO;
	b->marker = &http_reading;
	b->fd = -1;
	b->max = plan.max;
	if (plan.dir != NULL) {
		b->fd = open(plan.dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
		if (b->fd < 0) {
			log_warn("cannot make a file for a request body in "
			    "'%s': %s", plan.dir, strerror(errno));
			free(b);
			http_reply_error(req, 507, "insufficient_storage",
			    "the server cannot store the request body");
			return MHD_YES;
		}
	} else
		buf_init(&b->b, plan.max > SIZE_MAX ? SIZE_MAX :
		    (size_t)plan.max);
	*con_cls = b;
	return MHD_YES;
}

/* Takes n more bytes of a body. */
static void
http_body_take(struct http_body *b, const char *p, size_t n)
{
	int	 e;

	if (b->too_big || b->failed)
		return;			/* read and dropped */
	if (b->fd < 0) {
		if (buf_append(&b->b, p, n) < 0)
			b->too_big = 1;
		return;
	}
	if (n > b->max - b->size) {
		b->too_big = 1;
		return;
	}
	e = fs_write_all(b->fd, p, n);
	if (e < 0)
		b->failed = -e;
	else
		b->size += n;
}

static enum MHD_Result
http_access(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct http_server	*s = cls;
	struct http_request	 req;
	struct http_body	*b;

	(void)version;
	memset(&req, 0, sizeof(req));
	req.c = c;
	req.method = method;
	req.path = url;
	req.s = s;
	req.con_cls = con_cls;
	/* libmicrohttpd closes the connection after a response queued on
	 * the first call, which comes before the body; answer on a later
	 * one, when the request is whole. */
	if (*con_cls == NULL) {
		if (!http_has_body(c)) {
			*con_cls = &http_seen;
			return MHD_YES;
		}
		return http_body_start(s, &req, c, con_cls);
	}
	if (http_is_body(*con_cls)) {
		b = *con_cls;
		if (*upload_data_size > 0) {
			http_body_take(b, upload_data, *upload_data_size);
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (b->too_big) {
			http_reply_error(&req, 413, "payload_too_large",
			    "the request body is over the limit");
			return MHD_YES;
		}
		if (b->failed != 0 || (b->fd >= 0 &&
		    lseek(b->fd, 0, SEEK_SET) < 0)) {
			log_warn("cannot store a request body: %s",
			    strerror(b->failed != 0 ? b->failed : errno));
			http_reply_error(&req, 507, "insufficient_storage",
			    "the server cannot store the request body");
			return MHD_YES;
		}
		req.body = b;
	} else if (*con_cls != &http_seen && *con_cls != &http_with_body)
		req.resumed = *con_cls;	/* a waiter, called again */
	if (*con_cls == &http_with_body) {
		/* no endpoint takes a body: refuse it rather than read it */
		*upload_data_size = 0;
		http_reply_error(&req, 413, "payload_too_large",
		    "this resource takes no request body");
		return MHD_YES;
	}
	s->handler(s->ctx, &req);
	if (req.suspended)
		return MHD_YES;		/* answered after http_resume */
	if (!req.replied)
		http_reply_error(&req, 500, "internal", "no response");
	return MHD_YES;
}

static void
http_waiter_unlink(struct http_waiter *w)
{
	struct http_server	*s = w->s;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		s->suspended = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	w->is_suspended = 0;
}

/* libmicrohttpd: a request ended (answered, failed, or the daemon stops). */
static void
http_completed(void *cls, struct MHD_Connection *c, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http_server	*s = cls;
	struct http_waiter	*w = *con_cls;
	int			 last;

	(void)c;
	(void)toe;
	if (http_is_body(w)) {
		http_body_free((struct http_body *)w);
		*con_cls = NULL;
		return;
	}
	if (w == NULL || *con_cls == &http_seen ||
	    *con_cls == &http_with_body)
		return;
	*con_cls = NULL;
	pthread_mutex_lock(&s->wlock);
	if (w->is_suspended)		/* cannot happen: not while suspended */
		http_waiter_unlink(w);
	last = --w->refs == 0;
	pthread_mutex_unlock(&s->wlock);
	w->release(w->token);
	if (last)
		free(w);
}

struct http_waiter *
http_suspend(struct http_request *req, void *token,
    void (*release)(void *token))
{
	struct http_server	*s = req->s;
	struct http_waiter	*w;

	if (req->resumed != NULL || req->replied || token == NULL ||
	    req->body != NULL)
		return NULL;
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		return NULL;
	w->s = s;
	w->c = req->c;
	w->token = token;
	w->release = release;
	w->refs = 2;
	pthread_mutex_lock(&s->wlock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->wlock);
		free(w);
		return NULL;
	}
	w->next = s->suspended;
	if (s->suspended != NULL)
		s->suspended->prev = w;
	s->suspended = w;
	w->is_suspended = 1;
	*req->con_cls = w;
	req->suspended = 1;
	req->replied = 1;
	MHD_suspend_connection(req->c);
	pthread_mutex_unlock(&s->wlock);
	return w;
}

void
http_resume(struct http_waiter *w)
{
	struct http_server	*s = w->s;
	int			 last;

	pthread_mutex_lock(&s->wlock);
	if (w->is_suspended) {
		http_waiter_unlink(w);
		MHD_resume_connection(w->c);
	}
	last = --w->refs == 0;
	pthread_mutex_unlock(&s->wlock);
	if (last)
		free(w);
}

void *
http_resumed(const struct http_request *req)
{
	return req->resumed != NULL ? req->resumed->token : NULL;
}

int
http_basic_auth(struct http_request *req, char *user, size_t usize,
    char *pass, size_t psize)
{
	char	*u, *p = NULL;
	size_t	 ul, pl;
	int	 r = 0;

	u = MHD_basic_auth_get_username_password(req->c, &p);
	if (u == NULL || p == NULL) {
		r = -ENOENT;
		goto out;
	}
	ul = strlen(u);
	pl = strlen(p);
	if (ul >= usize || pl >= psize) {
		r = -E2BIG;
		goto out;
	}
	memcpy(user, u, ul + 1);
	memcpy(pass, p, pl + 1);
out:
	if (p != NULL) {
		explicit_bzero(p, strlen(p));
		MHD_free(p);
	}
	if (u != NULL)
		MHD_free(u);
	return r;
}

static void
http_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	 line[512];

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	log_debug("http: %s", line);
}

int
http_server_start(const struct http_config *c, http_handler h, void *ctx,
    struct http_server **ret_s, char *err, size_t errsize)
{
	struct http_server	*s;
	unsigned int		 flags;
	int			 i, fd;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -ENOMEM;
	s->handler = h;
	s->ctx = ctx;
	s->body_max = c->body_max;
	s->body_plan = c->body_plan;
	s->observe = c->observe;
	pthread_mutex_init(&s->wlock, NULL);
	flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG |
	    MHD_ALLOW_SUSPEND_RESUME;
	for (i = 0; i < c->nlisten && i < HTTP_LISTEN_MAX; i++) {
		fd = http_listen(c->listen[i], s->addr[i], HTTP_ADDR_MAX);
		if (fd < 0) {
			snprintf(err, errsize, "cannot listen on '%s': %s",
			    c->listen[i], fd == -EINVAL ?
			    "not an address:port" : strerror(-fd));
			http_server_stop(s);
			return fd;
		}
		/* a pool of one is no pool: libmicrohttpd warns about it */
		struct MHD_OptionItem pool[] = {
			{ c->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE :
			    MHD_OPTION_END, c->threads, NULL },
			{ MHD_OPTION_END, 0, NULL },
		};

		s->d[i] = MHD_start_daemon(flags, 0, NULL, NULL,
		    http_access, s,
		    MHD_OPTION_LISTEN_SOCKET, fd,
		    MHD_OPTION_ARRAY, pool,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		    (size_t)c->connection_memory,
		    MHD_OPTION_CONNECTION_LIMIT,
		    (unsigned int)c->connection_limit,
		    MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned int)c->connection_timeout,
		    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)HTTP_BACKLOG,
		    MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
		    MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
		    MHD_OPTION_END);
		if (s->d[i] == NULL) {
			close(fd);
			snprintf(err, errsize, "cannot start the HTTP server "
			    "on '%s'", c->listen[i]);
			http_server_stop(s);
			return -EIO;
		}
		s->n = i + 1;
	}
	*ret_s = s;
	return 0;
}

void
http_server_stop(struct http_server *s)
{
	int	 i;

	if (s == NULL)
		return;
	/* libmicrohttpd must not stop with a connection suspended: resume
	 * those whose owner has not (a bug of the owner's), refuse more */
	pthread_mutex_lock(&s->wlock);
	s->stopping = 1;
	while (s->suspended != NULL) {
		struct MHD_Connection *c = s->suspended->c;

		http_waiter_unlink(s->suspended);
		MHD_resume_connection(c);
	}
	pthread_mutex_unlock(&s->wlock);
	for (i = 0; i < s->n; i++) {
		MHD_socket fd = MHD_quiesce_daemon(s->d[i]);

		MHD_stop_daemon(s->d[i]);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
	pthread_mutex_destroy(&s->wlock);
	free(s);
}

const char *
http_server_address(const struct http_server *s, int i)
{
	return i >= 0 && i < s->n ? s->addr[i] : NULL;
}

const char *
http_method(const struct http_request *req)
{
	return req->method;
}

const char *
http_path(const struct http_request *req)
{
	return req->path;
}

int
http_is_head(const struct http_request *req)
{
	return strcmp(req->method, MHD_HTTP_METHOD_HEAD) == 0;
}

const char *
http_body(const struct http_request *req, size_t *ret_len)
{
	if (req->body == NULL || req->body->fd >= 0) {
		*ret_len = 0;
		return "";
	}
	*ret_len = req->body->b.len;
	return req->body->b.len > 0 ? req->body->b.ptr : "";
}

int
http_body_fd(const struct http_request *req, uint64_t *ret_size)
{
	if (req->body == NULL || req->body->fd < 0)
		return -ENOENT;
	*ret_size = req->body->size;
	return req->body->fd;
}

void
http_peer(const struct http_request *req, char out[HTTP_ADDR_MAX])
{
	const union MHD_ConnectionInfo	*ci;
	const struct sockaddr		*sa;

	out[0] = '\0';
	ci = MHD_get_connection_info(req->c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci == NULL || (sa = ci->client_addr) == NULL)
		return;
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)sa;

		if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
			inet_ntop(AF_INET, &s6->sin6_addr.s6_addr[12], out,
			    HTTP_ADDR_MAX);
		else
			inet_ntop(AF_INET6, &s6->sin6_addr, out,
			    HTTP_ADDR_MAX);
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *s4 = (const void *)sa;

		inet_ntop(AF_INET, &s4->sin_addr, out, HTTP_ADDR_MAX);
	}
}

const char *
http_header(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->c, MHD_HEADER_KIND, name);
}

const char *
http_query(const struct http_request *req, const char *name)
{
	return MHD_lookup_connection_value(req->c, MHD_GET_ARGUMENT_KIND,
	    name);
}

/* Takes m over (also when it fails: NULL when out of memory). */
static struct http_response *
http_response_wrap(struct MHD_Response *m, uint64_t size)
{
	struct http_response	*r;

	if (m == NULL)
		return NULL;
	r = malloc(sizeof(*r));
	if (r == NULL) {
		MHD_destroy_response(m);
		return NULL;
	}
	r->mhd = m;
	r->size = size;
	return r;
}

struct http_response *
http_response_copy(const void *p, size_t n)
{
	return http_response_wrap(MHD_create_response_from_buffer(n,
	    (void *)(uintptr_t)p, MHD_RESPMEM_MUST_COPY), n);
}

struct http_response *
http_response_fd(int fd, uint64_t off, uint64_t n)
{
	struct MHD_Response	*r;

	r = MHD_create_response_from_fd_at_offset64(n, fd, off);
	if (r == NULL)
		close(fd);
	return http_response_wrap(r, n);
}

/* Never called: a 304 carries no body. */
static ssize_t
http_no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	(void)cls;
	(void)pos;
	(void)buf;
	(void)max;
	return MHD_CONTENT_READER_END_OF_STREAM;
}

struct http_response *
http_response_not_modified(uint64_t full_length)
{
	/* libmicrohttpd sends the response's size as Content-Length even on
	 * a 304, where "0" would claim the resource is empty: give it the
	 * size of the 200 answer, which RFC 9110 section 8.6 allows */
	return http_response_wrap(MHD_create_response_from_callback(
	    full_length, 4096, http_no_body, NULL, NULL), 0);
}

int
http_response_header(struct http_response *r, const char *name,
    const char *value)
{
	return MHD_add_response_header(r->mhd, name, value) == MHD_YES ?
	    0 : -ENOMEM;
}

void
http_response_free(struct http_response *r)
{
	if (r == NULL)
		return;
	MHD_destroy_response(r->mhd);
	free(r);
}

void
http_reply_keep(struct http_request *req, unsigned status,
    struct http_response *r)
{
	req->replied = 1;
	if (req->s->observe != NULL)
		req->s->observe(req->s->ctx, req, r == NULL ? 500 : status,
		    r == NULL || status == 204 || status == 304 ||
		    http_is_head(req) ? 0 : r->size);
	if (r == NULL) {
		/* out of memory: MHD answers with an internal error */
		return;
	}
	MHD_queue_response(req->c, status, r->mhd);
}

void
http_reply(struct http_request *req, unsigned status, struct http_response *r)
{
	http_reply_keep(req, status, r);
	http_response_free(r);
}

struct http_response *
http_error_new(const char *error, const char *detail)
{
	struct http_response	*r;
	struct buf		 b;

	buf_init(&b, HTTP_ERROR_BODY_MAX);
	if (buf_puts(&b, "{\"error\": ") < 0 || buf_json_str(&b, error) < 0 ||
	    buf_puts(&b, ", \"detail\": ") < 0 ||
	    buf_json_str(&b, detail) < 0 || buf_puts(&b, "}\n") < 0) {
		buf_reset(&b);
		buf_puts(&b, "{\"error\": \"internal\", \"detail\": \"\"}\n");
	}
	r = http_response_copy(b.ptr, b.len);
	buf_release(&b);
	if (r != NULL && (http_response_header(r, "Content-Type",
	    "application/json") < 0 ||
	    http_response_header(r, "Cache-Control", "no-store") < 0)) {
		http_response_free(r);
		r = NULL;
	}
	return r;
}

void
http_reply_error(struct http_request *req, unsigned status,
    const char *error, const char *detail)
{
	struct http_response	*r;

	r = http_error_new(error, detail);
	if (r != NULL && status == 405)
		http_response_header(r, "Allow", "GET, HEAD");
	http_reply(req, status, r);
}

static int
http_u64(const char **p, uint64_t *ret)
{
	uint64_t	 v = 0;
	int		 any = 0;

	while (**p >= '0' && **p <= '9') {
		unsigned d = (unsigned)(**p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
		(*p)++;
		any = 1;
	}
	if (!any)
		return -1;
	*ret = v;
	return 0;
}

int
http_range_parse(const char *h, uint64_t size, uint64_t *ret_off,
    uint64_t *ret_len)
{
	uint64_t	 a, b;
	const char	*p = h;

	if (h == NULL || strncmp(p, "bytes=", 6) != 0)
		return 0;
	p += 6;
	while (*p == ' ')
		p++;
	if (*p == '-') {		/* the last N bytes */
		p++;
		if (http_u64(&p, &b) < 0)
			return 0;
		while (*p == ' ')
			p++;
		if (*p != '\0')
			return 0;	/* a list: send it all */
		if (b == 0 || size == 0)
			return -ERANGE;
		if (b > size)
			b = size;
		*ret_off = size - b;
		*ret_len = b;
		return 1;
	}
	if (http_u64(&p, &a) < 0 || *p++ != '-')
		return 0;
	b = UINT64_MAX;
	if (*p >= '0' && *p <= '9' && http_u64(&p, &b) < 0)
		return 0;
	while (*p == ' ')
		p++;
	if (*p != '\0' || b < a)
		return 0;
	if (a >= size)
		return -ERANGE;
	if (b >= size)
		b = size - 1;
	*ret_off = a;
	*ret_len = b - a + 1;
	return 1;
}

int
http_etag_match(const char *inm, const char *etag)
{
	size_t	 n = strlen(etag);
	const char *p = inm;

	if (p == NULL)
		return 0;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)	/* weak comparison */
			p += 2;
		if (strncmp(p, etag, n) == 0 &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' ' ||
		    p[n] == '\t'))
			return 1;
		while (*p != '\0' && *p != ',')
			p++;
	}
	return 0;
}
