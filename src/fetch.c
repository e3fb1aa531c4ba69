/*
 * fetch: the HTTP(S) client on libcurl's multi interface. One CURLM per
 * struct fetch holds the connection cache, so keep-alive connections
 * survive from one call to the next; a small pool of easy handles (one
 * per transfer running at once) is reset and reused the same way.
 *
 * Each transfer runs in a slot: the header callback records ETag,
 * Retry-After, Content-Length and Content-Range, and at the end of the
 * final response's headers decides what the body is for (the caller's
 * buffer, the file, or the bit bucket); the write callback enforces the
 * caps. Refusing bytes makes libcurl fail with CURLE_WRITE_ERROR, and the
 * slot's own error says why.
 */
#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "crypto.h"
#include "fetch.h"
#include "banned.h"

#define FETCH_USER_AGENT	"cascade/1"
#define FETCH_CONNECT_TIMEOUT	10	/* seconds, when the config says 0 */
#define FETCH_STALL_TIMEOUT	30
#define FETCH_DISCARD_MAX	65536	/* error body read to keep the conn */
#define FETCH_RETRY_AFTER_MAX	(7 * 86400)	/* a longer wait is clamped */
#define FETCH_POLL_MS		1000
#define FETCH_CANCEL_POLL_MS	100	/* how soon a cancel is seen */

enum fetch_body {
	BODY_UNDECIDED,
	BODY_BUF,	/* fetch_get: append to out */
	BODY_FILE,	/* fetch_files, 200 or 206: write at off */
	BODY_DISCARD	/* fetch_files, any other status: read and drop */
};

struct fetch_xfer {
	CURL			*easy;
	int			 busy;
	struct curl_slist	*headers;
	struct fetch_result	*res;
	int			*ret_rc;

	/* fetch_get, fetch_request */
	int			 doc;		/* a document, not a file */
	struct buf		*out;		/* NULL: dropped */
	size_t			 out_len0;	/* out->len before */
	int			 head;		/* HEAD: no body comes */
	const char		*method;	/* NULL: GET */
	const void		*req_body;	/* NULL: none */
	size_t			 req_len;

	/* fetch_files */
	int			 fd;
	uint64_t		 max_size;
	uint64_t		 size;		/* of the file before */
	uint64_t		 off;		/* where the next byte goes */
	int			 done_rc;	/* rc when the body ends well */

	/* the response being read */
	long			 status;	/* from the status line */
	int			 headers_done;
	int			 has_length;
	uint64_t		 length;	/* Content-Length */
	int			 has_range;
	uint64_t		 range_first, range_last, range_total;
	int			 has_total;
	enum fetch_body		 body;
	uint64_t		 discarded;
	int			 err;		/* ours, beats curl's */

	char			 errbuf[CURL_ERROR_SIZE];
};

struct fetch {
	CURLM			*multi;
	char			*base_url;
	char			*username;
	char			*password;
	char			*license_hdr;	/* "X-Cascade-License: KEY" */
	char			*agent_hdr;	/* "X-Cascade-Agent: ID" */
	char			*downstream_hdr; /* "X-Cascade-Downstream: N" */
	char			*bearer_hdr;	/* "Authorization: Bearer T" */
	char			*proxy;
	char			*proxy_username;
	char			*proxy_password;
	char			*ca_file;
	long			 connect_timeout;
	long			 stall_timeout;
	const volatile int	*cancel;
	struct fetch_xfer	 slot[FETCH_PARALLEL_MAX];
};

static pthread_once_t	 fetch_once = PTHREAD_ONCE_INIT;
static CURLcode		 fetch_global_rc = CURLE_FAILED_INIT;

static void
fetch_global_init(void)
{
	fetch_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void
fetch_strfree(char *s)
{
	if (s == NULL)
		return;
	crypto_wipe(s, strlen(s));
	free(s);
}

/* A copy of s, NULL for NULL or "". 0 or -ENOMEM. */
static int
fetch_strdup(const char *s, char **ret)
{
	*ret = NULL;
	if (s == NULL || *s == '\0')
		return 0;
	*ret = strdup(s);
	return *ret == NULL ? -ENOMEM : 0;
}

/* "NAME: value" in *ret (NULL for a NULL or "" value). 0 or -ENOMEM. */
static int
fetch_header_new(const char *prefix, const char *value, char **ret)
{
	size_t	 n;

	*ret = NULL;
	if (value == NULL || *value == '\0')
		return 0;
	n = strlen(prefix) + strlen(value) + 1;
	*ret = malloc(n);
	if (*ret == NULL)
		return -ENOMEM;
	snprintf(*ret, n, "%s%s", prefix, value);
	return 0;
}

/* 1 when s holds a control character (a header or URL injection). */
static int
fetch_has_ctl(const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/* 0 when url is an absolute http or https URL with a host, else -EINVAL. */
static int
fetch_check_url(const char *url)
{
	CURLU	*u;
	char	*scheme = NULL, *host = NULL;
	int	 r = -EINVAL;

	if (url == NULL || fetch_has_ctl(url) || strlen(url) >= FETCH_URL_MAX)
		return -EINVAL;
	u = curl_url();
	if (u == NULL)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
		goto out;
	if (strcasecmp(scheme, "http") != 0 && strcasecmp(scheme, "https") != 0)
		goto out;
	if (*host == '\0')
		goto out;
	r = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return r;
}

int
fetch_new(const struct fetch_config *c, struct fetch **ret_f)
{
	struct fetch	*f;
	int		 r;

	if (c == NULL || fetch_check_url(c->base_url) < 0 ||
	    fetch_has_ctl(c->license_key) || fetch_has_ctl(c->proxy) ||
	    fetch_has_ctl(c->agent_id) || fetch_has_ctl(c->bearer) ||
	    fetch_has_ctl(c->downstream) ||
	    c->connect_timeout < 0 || c->stall_timeout < 0)
		return -EINVAL;
	pthread_once(&fetch_once, fetch_global_init);
	if (fetch_global_rc != CURLE_OK)
		return -ENOMEM;

	f = calloc(1, sizeof(*f));
	if (f == NULL)
		return -ENOMEM;
	r = -ENOMEM;
	if (fetch_strdup(c->base_url, &f->base_url) < 0 ||
	    fetch_strdup(c->username, &f->username) < 0 ||
	    fetch_strdup(c->password, &f->password) < 0 ||
	    fetch_strdup(c->proxy, &f->proxy) < 0 ||
	    fetch_strdup(c->proxy_username, &f->proxy_username) < 0 ||
	    fetch_strdup(c->proxy_password, &f->proxy_password) < 0 ||
	    fetch_strdup(c->ca_file, &f->ca_file) < 0)
		goto fail;
	if (fetch_header_new("X-Cascade-License: ", c->license_key,
	    &f->license_hdr) < 0 ||
	    fetch_header_new("X-Cascade-Agent: ", c->agent_id,
	    &f->agent_hdr) < 0 ||
	    fetch_header_new("Authorization: Bearer ", c->bearer,
	    &f->bearer_hdr) < 0 ||
	    fetch_header_new("X-Cascade-Downstream: ", c->downstream,
	    &f->downstream_hdr) < 0)
		goto fail;
	f->connect_timeout = c->connect_timeout > 0 ? c->connect_timeout :
	    FETCH_CONNECT_TIMEOUT;
	f->stall_timeout = c->stall_timeout > 0 ? c->stall_timeout :
	    FETCH_STALL_TIMEOUT;
	f->cancel = c->cancel;

	f->multi = curl_multi_init();
	if (f->multi == NULL)
		goto fail;
	curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS,
	    (long)FETCH_PARALLEL_MAX);
	*ret_f = f;
	return 0;
fail:
	fetch_free(f);
	return r;
}

void
fetch_free(struct fetch *f)
{
	size_t	 i;

	if (f == NULL)
		return;
	for (i = 0; i < FETCH_PARALLEL_MAX; i++) {
		if (f->slot[i].easy == NULL)
			continue;
		if (f->slot[i].busy)
			curl_multi_remove_handle(f->multi, f->slot[i].easy);
		curl_easy_cleanup(f->slot[i].easy);
		curl_slist_free_all(f->slot[i].headers);
	}
	if (f->multi != NULL)
		curl_multi_cleanup(f->multi);
	fetch_strfree(f->base_url);
	fetch_strfree(f->username);
	fetch_strfree(f->password);
	fetch_strfree(f->license_hdr);
	fetch_strfree(f->agent_hdr);
	fetch_strfree(f->bearer_hdr);
	fetch_strfree(f->downstream_hdr);
	fetch_strfree(f->proxy);
	fetch_strfree(f->proxy_username);
	fetch_strfree(f->proxy_password);
	fetch_strfree(f->ca_file);
	free(f);
}

static void
fetch_result_init(struct fetch_result *res)
{
	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
}

static int
fetch_fail(struct fetch_xfer *x, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records our own error (the first one wins) and returns it. */
static int
fetch_fail(struct fetch_xfer *x, int err, const char *fmt, ...)
{
	va_list	 ap;

	if (x->err != 0)
		return x->err;
	x->err = err;
	va_start(ap, fmt);
	vsnprintf(x->res->error, sizeof(x->res->error), fmt, ap);
	va_end(ap);
	return err;
}

/*
 * Parsing of header values: (p, e) is the value without its line end,
 * spaces around it already trimmed.
 */

/* Decimal digits at *pp; advances it. 0 or -EBADMSG (none, overflow). */
static int
fetch_parse_u64(const char **pp, const char *e, uint64_t *ret)
{
	const char	*p = *pp;
	uint64_t	 v = 0;

	if (p == e || *p < '0' || *p > '9')
		return -EBADMSG;
	for (; p < e && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*pp = p;
	*ret = v;
	return 0;
}

/* "bytes FIRST-LAST/TOTAL" or "bytes FIRST-LAST/ *" (RFC 9110 14.4). */
static void
fetch_parse_content_range(struct fetch_xfer *x, const char *p, const char *e)
{
	uint64_t	 first, last, total = 0;
	int		 has_total = 0;

	if (e - p < 6 || strncasecmp(p, "bytes ", 6) != 0)
		return;
	p += 6;
	while (p < e && *p == ' ')
		p++;
	if (fetch_parse_u64(&p, e, &first) < 0 || p == e || *p++ != '-' ||
	    fetch_parse_u64(&p, e, &last) < 0 || p == e || *p++ != '/' ||
	    last < first)
		return;
	if (p < e && *p == '*')
		p++;
	else if (fetch_parse_u64(&p, e, &total) < 0 || last >= total)
		return;
	else
		has_total = 1;
	if (p != e)
		return;
	x->has_range = 1;
	x->range_first = first;
	x->range_last = last;
	x->range_total = total;
	x->has_total = has_total;
}

/* Delay-seconds or an HTTP-date (RFC 9110 10.2.3). */
static void
fetch_parse_retry_after(struct fetch_xfer *x, const char *p, const char *e)
{
	const char	*q = p;
	char		 date[64];
	uint64_t	 v;
	time_t		 t, now;

	if (fetch_parse_u64(&q, e, &v) == 0 && q == e) {
		x->res->retry_after = v > FETCH_RETRY_AFTER_MAX ?
		    FETCH_RETRY_AFTER_MAX : (int64_t)v;
		return;
	}
	if ((size_t)(e - p) >= sizeof(date))
		return;
	memcpy(date, p, (size_t)(e - p));
	date[e - p] = '\0';
	t = curl_getdate(date, NULL);
	if (t == -1)
		return;
	now = time(NULL);
	if (t <= now)
		x->res->retry_after = 0;
	else if (t - now > FETCH_RETRY_AFTER_MAX)
		x->res->retry_after = FETCH_RETRY_AFTER_MAX;
	else
		x->res->retry_after = (int64_t)(t - now);
}

/* "HTTP/1.1 206 Partial Content", "HTTP/2 200": the code, or 0. */
static long
fetch_parse_status(const char *p, const char *e)
{
	long	 code = 0;
	int	 i;

	if (e - p < 5 || strncmp(p, "HTTP/", 5) != 0)
		return 0;
	while (p < e && *p != ' ')
		p++;
	while (p < e && *p == ' ')
		p++;
	for (i = 0; i < 3; i++, p++) {
		if (p == e || *p < '0' || *p > '9')
			return 0;
		code = code * 10 + (*p - '0');
	}
	if (p != e && *p != ' ')
		return 0;
	return code;
}

/*
 * The final response's headers are all in: decides where its body goes,
 * refusing early what is already known to be too big. 0 or -errno.
 */
static int
fetch_decide(struct fetch_xfer *x)
{
	uint64_t	 room;
	long		 status = x->status;

	if (status == 0)
		curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	x->status = status;

	if (x->doc && x->out == NULL) {
		/* an answer whose body the caller does not want */
		x->body = BODY_DISCARD;
		x->done_rc = 0;
		return 0;
	}
	if (x->doc) {
		x->body = BODY_BUF;
		room = x->out->max - x->out->len;
		if (status != 304 && status != 204 && !x->head &&
		    x->has_length && x->length > room)
			return fetch_fail(x, -E2BIG, "the response has %" PRIu64
			    " bytes, more than the %zu allowed", x->length,
			    x->out->max - x->out_len0);
		return 0;
	}

	x->body = BODY_DISCARD;
	switch (status) {
	case 200:
		if (x->has_length && x->length > x->max_size)
			return fetch_fail(x, -E2BIG, "the file has %" PRIu64
			    " bytes, more than the %" PRIu64 " expected",
			    x->length, x->max_size);
		if (x->size > 0 && ftruncate(x->fd, 0) < 0)
			return fetch_fail(x, -errno, "cannot truncate the "
			    "file: %s", strerror(errno));
		x->off = 0;
		x->body = BODY_FILE;
		x->done_rc = 0;
		return 0;
	case 206:
		if (!x->has_range || x->range_first != x->size)
			return fetch_fail(x, -EPROTO, "asked for bytes from "
			    "%" PRIu64 ", got a bad or other Content-Range",
			    x->size);
		if (x->range_last >= x->max_size ||
		    (x->has_total && x->range_total > x->max_size))
			return fetch_fail(x, -E2BIG, "the file would be over "
			    "the %" PRIu64 " bytes expected", x->max_size);
		x->off = x->size;
		x->body = BODY_FILE;
		x->done_rc = 0;
		if (x->has_total && x->range_last + 1 < x->range_total) {
			/* keep what comes, but the file is not whole */
			x->done_rc = -EPROTO;
			snprintf(x->res->error, sizeof(x->res->error),
			    "asked for bytes %" PRIu64 "- of %" PRIu64 ", got "
			    "up to %" PRIu64 " only", x->size,
			    x->range_total, x->range_last);
		}
		return 0;
	case 416:
		if (x->size > 0) {
			x->done_rc = 0;	/* already whole */
			return 0;
		}
		break;
	}
	x->done_rc = -EPROTO;
	snprintf(x->res->error, sizeof(x->res->error), "HTTP status %ld",
	    status);
	return 0;
}

static size_t
fetch_header_cb(char *data, size_t size, size_t nitems, void *arg)
{
	struct fetch_xfer	*x = arg;
	const char		*p = data, *e = data + size * nitems, *colon;
	size_t			 n, len = size * nitems;
	long			 status;

	while (e > p && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	status = fetch_parse_status(p, e);
	if (status != 0) {
		/* a new response: an interim 1xx came before */
		x->status = status;
		x->headers_done = 0;
		x->has_length = 0;
		x->has_range = 0;
		x->res->etag[0] = '\0';
		x->res->retry_after = -1;
		return len;
	}
	if (x->headers_done)
		return len;		/* trailers */
	if (p == e) {
		if (x->status >= 100 && x->status < 200)
			return len;	/* end of an interim response */
		x->headers_done = 1;
		return fetch_decide(x) < 0 ? 0 : len;
	}
	colon = memchr(p, ':', (size_t)(e - p));
	if (colon == NULL)
		return len;
	n = (size_t)(colon - p);
	p = colon + 1;
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t'))
		e--;

	if (n == 4 && strncasecmp(data, "etag", 4) == 0) {
		if ((size_t)(e - p) < FETCH_ETAG_MAX) {
			memcpy(x->res->etag, p, (size_t)(e - p));
			x->res->etag[e - p] = '\0';
		} else
			x->res->etag[0] = '\0';	/* never a cut one */
	} else if (n == 11 && strncasecmp(data, "retry-after", 11) == 0)
		fetch_parse_retry_after(x, p, e);
	else if (n == 14 && strncasecmp(data, "content-length", 14) == 0)
		x->has_length = fetch_parse_u64(&p, e, &x->length) == 0 &&
		    p == e;
	else if (n == 13 && strncasecmp(data, "content-range", 13) == 0)
		fetch_parse_content_range(x, p, e);
	return len;
}

/* pwrite all of p at off. 0 or -errno. */
static int
fetch_pwrite(int fd, const char *p, size_t n, uint64_t off)
{
	ssize_t	 w;

	while (n > 0) {
		if (off > (uint64_t)INT64_MAX)
			return -EFBIG;
		w = pwrite(fd, p, n, (off_t)off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

static size_t
fetch_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct fetch_xfer	*x = arg;
	size_t			 n = size * nmemb;
	int			 r;

	if (x->err != 0)
		return 0;
	if (x->body == BODY_UNDECIDED && fetch_decide(x) < 0)
		return 0;
	switch (x->body) {
	case BODY_BUF:
		r = buf_append(x->out, data, n);
		if (r == -E2BIG) {
			fetch_fail(x, r, "the response is over the %zu bytes "
			    "allowed", x->out->max - x->out_len0);
			return 0;
		}
		if (r < 0) {
			fetch_fail(x, r, "out of memory");
			return 0;
		}
		break;
	case BODY_FILE:
		if (n > x->max_size || x->off > x->max_size - n) {
			fetch_fail(x, -E2BIG, "the file is over the %" PRIu64
			    " bytes expected", x->max_size);
			return 0;
		}
		r = fetch_pwrite(x->fd, data, n, x->off);
		if (r < 0) {
			fetch_fail(x, r, "cannot write the file: %s",
			    strerror(-r));
			return 0;
		}
		x->off += n;
		break;
	case BODY_DISCARD:
	case BODY_UNDECIDED:
		if (n > FETCH_DISCARD_MAX - x->discarded) {
			if (x->doc) {
				/* the status is what the caller wants */
				fetch_fail(x, -E2BIG, "the response is over "
				    "the %d bytes read to drop it",
				    FETCH_DISCARD_MAX);
				return 0;
			}
			/* status and error already recorded; just cut */
			return 0;
		}
		x->discarded += n;
		return n;		/* not the file's: not counted */
	}
	x->res->bytes += n;
	return n;
}

static int
fetch_curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CLIENTCERT:
	case CURLE_USE_SSL_FAILED:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_PROXY:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_BAD_CONTENT_ENCODING:
		return -EPROTO;
	case CURLE_FILESIZE_EXCEEDED:
		return -E2BIG;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* base_url + path, with one '/' between them. 0, -EINVAL. */
static int
fetch_url(const struct fetch *f, const char *path, char *url, size_t size)
{
	size_t	 blen = strlen(f->base_url);
	int	 n;

	if (path == NULL || fetch_has_ctl(path) || strchr(path, ' ') != NULL)
		return -EINVAL;
	if (blen > 0 && f->base_url[blen - 1] == '/' && *path == '/')
		path++;
	n = snprintf(url, size, "%s%s%s", f->base_url,
	    (blen > 0 && f->base_url[blen - 1] == '/') || *path == '/' ||
	    *path == '\0' ? "" : "/", path);
	if (n < 0 || (size_t)n >= size)
		return -EINVAL;
	return 0;
}

static struct fetch_xfer *
fetch_slot_get(struct fetch *f)
{
	struct fetch_xfer	*x;
	CURL			*easy;
	size_t			 i;

	for (i = 0; i < FETCH_PARALLEL_MAX; i++)
		if (!f->slot[i].busy)
			break;
	if (i == FETCH_PARALLEL_MAX)
		return NULL;
	x = &f->slot[i];
	easy = x->easy;
	if (easy == NULL)
		easy = curl_easy_init();
	else
		curl_easy_reset(easy);	/* connections stay in the multi */
	if (easy == NULL)
		return NULL;
	memset(x, 0, sizeof(*x));
	x->easy = easy;
	x->fd = -1;
	return x;
}

#define SETOPT(opt, val) do {						\
	if ((c = curl_easy_setopt(x->easy, (opt), (val))) != CURLE_OK)	\
		goto fail;						\
} while (0)

/*
 * Configures x->easy for url (the method and body in x) and adds it to
 * the multi. The two extra headers and range may be NULL. On failure, x
 * stays free and res->error says why.
 */
static int
fetch_xfer_start(struct fetch *f, struct fetch_xfer *x, const char *url,
    const char *extra_header[2], const char *range, long timeout)
{
	struct curl_slist	*l;
	CURLcode		 c = CURLE_OK;
	size_t			 i;
	int			 r = -ENOMEM;

	if (f->license_hdr != NULL) {
		l = curl_slist_append(x->headers, f->license_hdr);
		if (l == NULL)
			goto fail;
		x->headers = l;
	}
	if (f->agent_hdr != NULL) {
		l = curl_slist_append(x->headers, f->agent_hdr);
		if (l == NULL)
			goto fail;
		x->headers = l;
	}
	if (f->bearer_hdr != NULL) {
		l = curl_slist_append(x->headers, f->bearer_hdr);
		if (l == NULL)
			goto fail;
		x->headers = l;
	}
	if (f->downstream_hdr != NULL) {
		l = curl_slist_append(x->headers, f->downstream_hdr);
		if (l == NULL)
			goto fail;
		x->headers = l;
	}
	for (i = 0; i < 2; i++) {
		if (extra_header[i] == NULL)
			continue;
		l = curl_slist_append(x->headers, extra_header[i]);
		if (l == NULL)
			goto fail;
		x->headers = l;
	}
	if (x->req_body != NULL) {
		/* no "Expect: 100-continue" round trip for small documents */
		l = curl_slist_append(x->headers, "Expect:");
		if (l == NULL)
			goto fail;
		x->headers = l;
	}

	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
	SETOPT(CURLOPT_ERRORBUFFER, x->errbuf);
	SETOPT(CURLOPT_PRIVATE, x);
	SETOPT(CURLOPT_USERAGENT, FETCH_USER_AGENT);
	SETOPT(CURLOPT_CONNECTTIMEOUT, f->connect_timeout);
	if (timeout > 0) {
		SETOPT(CURLOPT_TIMEOUT, timeout);	/* a long-poll */
	} else {
		SETOPT(CURLOPT_LOW_SPEED_LIMIT, 1L);
		SETOPT(CURLOPT_LOW_SPEED_TIME, f->stall_timeout);
	}
	SETOPT(CURLOPT_TCP_KEEPALIVE, 1L);
	SETOPT(CURLOPT_HEADERFUNCTION, fetch_header_cb);
	SETOPT(CURLOPT_HEADERDATA, x);
	SETOPT(CURLOPT_WRITEFUNCTION, fetch_write_cb);
	/* fewer, larger writes for the big objects */
	SETOPT(CURLOPT_BUFFERSIZE, 256L * 1024);
	SETOPT(CURLOPT_WRITEDATA, x);
	if (x->headers != NULL)
		SETOPT(CURLOPT_HTTPHEADER, x->headers);
	if (range != NULL)
		SETOPT(CURLOPT_RANGE, range);
	if (x->head)
		SETOPT(CURLOPT_NOBODY, 1L);
	else if (x->req_body != NULL) {
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->req_len);
		SETOPT(CURLOPT_POSTFIELDS, x->req_body);
	}
	if (x->method != NULL && !x->head && strcmp(x->method, "GET") != 0 &&
	    (x->req_body == NULL || strcmp(x->method, "POST") != 0))
		SETOPT(CURLOPT_CUSTOMREQUEST, x->method);
	/* an agent's bearer token is its Authorization; Basic is not sent */
	if (f->username != NULL && f->bearer_hdr == NULL) {
		SETOPT(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		SETOPT(CURLOPT_USERNAME, f->username);
		SETOPT(CURLOPT_PASSWORD, f->password != NULL ? f->password :
		    "");
	}
	/* "" rather than unset, so that no http_proxy variable applies */
	SETOPT(CURLOPT_PROXY, f->proxy != NULL ? f->proxy : "");
	if (f->proxy != NULL) {
		SETOPT(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
		if (f->proxy_username != NULL) {
			SETOPT(CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
			SETOPT(CURLOPT_PROXYUSERNAME, f->proxy_username);
			SETOPT(CURLOPT_PROXYPASSWORD, f->proxy_password !=
			    NULL ? f->proxy_password : "");
		}
	}
	if (f->ca_file != NULL)
		SETOPT(CURLOPT_CAINFO, f->ca_file);

	if (curl_multi_add_handle(f->multi, x->easy) != CURLM_OK)
		goto fail;
	x->busy = 1;
	return 0;
fail:
	if (c != CURLE_OK) {
		r = fetch_curl_errno(c);
		if (r == -EIO || c == CURLE_UNKNOWN_OPTION ||
		    c == CURLE_NOT_BUILT_IN)
			r = -EPROTO;
	}
	snprintf(x->res->error, sizeof(x->res->error), "cannot set up the "
	    "request: %s", c != CURLE_OK ? curl_easy_strerror(c) :
	    strerror(-r));
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	return r;
}

#undef SETOPT

/* A transfer ended with c: fills res and *ret_rc, frees the slot. */
static void
fetch_xfer_done(struct fetch *f, struct fetch_xfer *x, CURLcode c)
{
	long	 status = 0, connect = 0;
	int	 r;

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status == 0) {
		/* a proxy that refused the CONNECT: its status, -EPROTO */
		curl_easy_getinfo(x->easy, CURLINFO_HTTP_CONNECTCODE,
		    &connect);
		status = connect;
	}
	x->res->status = status;

	if (x->err != 0)
		r = x->err;			/* message already in res */
	else if (x->body == BODY_DISCARD)
		r = x->done_rc;			/* the status says it all */
	else if (c != CURLE_OK) {
		r = fetch_curl_errno(c);
		if (connect >= 300 && r == -EIO)
			r = -EPROTO;
		snprintf(x->res->error, sizeof(x->res->error), "%s",
		    x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(c));
	} else if (x->doc)
		r = 0;
	else if (x->body == BODY_UNDECIDED) {
		/* no body came: decide now (a 416 or an empty file) */
		r = fetch_decide(x);
		if (r == 0)
			r = x->done_rc;
	} else
		r = x->done_rc;
	if (r < 0 && x->res->error[0] == '\0')
		snprintf(x->res->error, sizeof(x->res->error), "%s",
		    strerror(-r));
	if (r < 0 && x->doc && x->out != NULL) {
		/* a failed get leaves out as it was */
		x->out->len = x->out_len0;
		if (x->out->ptr != NULL)
			x->out->ptr[x->out->len] = '\0';
	}
	*x->ret_rc = r;

	curl_multi_remove_handle(f->multi, x->easy);
	curl_slist_free_all(x->headers);
	x->headers = NULL;
	x->busy = 0;
}

/*
 * Drives the running transfers one step: finishes those that are done
 * (*active goes down), else waits for activity or a timeout of libcurl's.
 * 0, -ECANCELED when asked to stop, or -ENOMEM or -EIO when the multi
 * itself failed.
 */
static int
fetch_step(struct fetch *f, size_t *active)
{
	CURLMsg		*m;
	CURLMcode	 mc;
	CURL		*easy;
	CURLcode	 c;
	void		*priv;
	size_t		 before = *active;
	int		 running, left;

	if (f->cancel != NULL && *f->cancel)
		return -ECANCELED;
	mc = curl_multi_perform(f->multi, &running);
	if (mc != CURLM_OK)
		return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	while ((m = curl_multi_info_read(f->multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		easy = m->easy_handle;
		c = m->data.result;
		priv = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		if (priv == NULL)
			continue;
		fetch_xfer_done(f, priv, c);
		(*active)--;
	}
	if (*active < before)
		return 0;	/* a slot is free: the caller may fill it */
	mc = curl_multi_poll(f->multi, NULL, 0, f->cancel != NULL ?
	    FETCH_CANCEL_POLL_MS : FETCH_POLL_MS, NULL);
	if (mc != CURLM_OK)
		return mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO;
	return 0;
}

/* Cancelled, or the multi failed: every running transfer fails with r. */
static void
fetch_abort_all(struct fetch *f, int r)
{
	struct fetch_xfer	*x;
	size_t			 i;

	for (i = 0; i < FETCH_PARALLEL_MAX; i++) {
		x = &f->slot[i];
		if (!x->busy)
			continue;
		if (x->err == 0)
			fetch_fail(x, r, "%s", r == -ECANCELED ? "cancelled" :
			    strerror(-r));
		fetch_xfer_done(f, x, CURLE_OK);
	}
}

/* A request whose answer is a document (or nothing): fetch_get and
 * fetch_request. */
struct fetch_doc {
	const char	*method;	/* NULL: GET */
	const char	*path;
	const char	*if_none_match;	/* NULL: none */
	const char	*content_type;	/* with body */
	const void	*body;		/* NULL: none */
	size_t		 len;
	long		 timeout;
};

/* 1 if method is an HTTP token of capitals ("GET", "PUT"). */
static int
fetch_valid_method(const char *m)
{
	size_t	 i;

	for (i = 0; m[i] != '\0'; i++)
		if (m[i] < 'A' || m[i] > 'Z' || i >= 16)
			return 0;
	return i > 0;
}

static int
fetch_doc_run(struct fetch *f, const struct fetch_doc *d, struct buf *out,
    struct fetch_result *res)
{
	struct fetch_xfer	*x;
	const char		*extra[2] = { NULL, NULL };
	char			 url[FETCH_URL_MAX];
	char			 inm[FETCH_ETAG_MAX + 32];
	char			 ctype[160];
	size_t			 active = 0;
	int			 r, rc = -EIO;

	fetch_result_init(res);
	if (fetch_url(f, d->path, url, sizeof(url)) < 0) {
		snprintf(res->error, sizeof(res->error), "bad path");
		return -EINVAL;
	}
	if (d->method != NULL && !fetch_valid_method(d->method)) {
		snprintf(res->error, sizeof(res->error), "bad method");
		return -EINVAL;
	}
	if (d->if_none_match != NULL && (fetch_has_ctl(d->if_none_match) ||
	    strlen(d->if_none_match) >= FETCH_ETAG_MAX)) {
		snprintf(res->error, sizeof(res->error), "bad etag");
		return -EINVAL;
	}
	if (d->if_none_match != NULL) {
		snprintf(inm, sizeof(inm), "If-None-Match: %s",
		    d->if_none_match);
		extra[0] = inm;
	}
	if (d->body != NULL) {
		if (d->content_type != NULL && (fetch_has_ctl(d->content_type) ||
		    strlen(d->content_type) >= sizeof(ctype) - 16)) {
			snprintf(res->error, sizeof(res->error),
			    "bad content type");
			return -EINVAL;
		}
		/* always one: libcurl would say form-urlencoded */
		snprintf(ctype, sizeof(ctype), "Content-Type: %s",
		    d->content_type != NULL ? d->content_type :
		    "application/octet-stream");
		extra[1] = ctype;
	}
	if (out != NULL && out->len > out->max) {
		snprintf(res->error, sizeof(res->error), "buffer over its cap");
		return -E2BIG;
	}

	x = fetch_slot_get(f);
	if (x == NULL) {
		snprintf(res->error, sizeof(res->error), "out of memory");
		return -ENOMEM;
	}
	x->res = res;
	x->ret_rc = &rc;
	x->doc = 1;
	x->out = out;
	x->out_len0 = out != NULL ? out->len : 0;
	x->method = d->method;
	x->head = d->method != NULL && strcmp(d->method, "HEAD") == 0;
	x->req_body = d->body;
	x->req_len = d->len;
	r = fetch_xfer_start(f, x, url, extra, NULL, d->timeout);
	if (r < 0)
		return r;
	active = 1;
	while (active > 0) {
		r = fetch_step(f, &active);
		if (r < 0) {
			fetch_abort_all(f, r);
			break;
		}
	}
	return rc;
}

int
fetch_get(struct fetch *f, const char *path, const char *if_none_match,
    long timeout, struct buf *out, struct fetch_result *res)
{
	struct fetch_doc	 d;

	memset(&d, 0, sizeof(d));
	d.path = path;
	d.if_none_match = if_none_match;
	d.timeout = timeout;
	return fetch_doc_run(f, &d, out, res);
}

int
fetch_request(struct fetch *f, const char *method, const char *path,
    const char *content_type, const void *body, size_t len,
    struct buf *out, struct fetch_result *res)
{
	struct fetch_doc	 d;

	memset(&d, 0, sizeof(d));
	d.method = method;
	d.path = path;
	d.content_type = content_type;
	d.body = body;
	d.len = body != NULL ? len : 0;
	/* POST and PUT always carry a body, if an empty one */
	if (body == NULL && method != NULL && (strcmp(method, "POST") == 0 ||
	    strcmp(method, "PUT") == 0))
		d.body = "";
	return fetch_doc_run(f, &d, out, res);
}

/* Starts job j in a free slot; on failure sets j->rc. */
static void
fetch_job_start(struct fetch *f, struct fetch_job *j, size_t *active)
{
	struct fetch_xfer	*x;
	struct stat		 st;
	const char		*extra[2] = { NULL, NULL };
	char			 url[FETCH_URL_MAX], range[32];
	uint64_t		 size;

	fetch_result_init(&j->res);
	j->rc = -EIO;
	if (fetch_url(f, j->path, url, sizeof(url)) < 0) {
		snprintf(j->res.error, sizeof(j->res.error), "bad path");
		j->rc = -EINVAL;
		return;
	}
	if (fstat(j->fd, &st) < 0) {
		j->rc = -errno;
		snprintf(j->res.error, sizeof(j->res.error), "cannot stat "
		    "the file: %s", strerror(errno));
		return;
	}
	size = (uint64_t)st.st_size;
	if (size > j->max_size) {
		j->rc = -E2BIG;
		snprintf(j->res.error, sizeof(j->res.error), "the file has "
		    "%" PRIu64 " bytes, more than the %" PRIu64 " expected",
		    size, j->max_size);
		return;
	}
	x = fetch_slot_get(f);
	if (x == NULL) {
		j->rc = -ENOMEM;
		snprintf(j->res.error, sizeof(j->res.error), "out of memory");
		return;
	}
	x->res = &j->res;
	x->ret_rc = &j->rc;
	x->fd = j->fd;
	x->max_size = j->max_size;
	x->size = size;
	x->done_rc = -EIO;
	snprintf(range, sizeof(range), "%" PRIu64 "-", size);
	j->rc = fetch_xfer_start(f, x, url, extra, size > 0 ? range : NULL,
	    0);
	if (j->rc == 0) {
		j->rc = -EIO;	/* until it is done */
		(*active)++;
	}
}

int
fetch_files(struct fetch *f, struct fetch_job *jobs, size_t n, int parallel)
{
	size_t	 i, next = 0, active = 0, max;
	int	 r;

	max = parallel < 1 ? 1 : parallel > FETCH_PARALLEL_MAX ?
	    FETCH_PARALLEL_MAX : (size_t)parallel;
	while (next < n || active > 0) {
		while (active < max && next < n)
			fetch_job_start(f, &jobs[next++], &active);
		if (active == 0)
			continue;
		r = fetch_step(f, &active);
		if (r < 0) {
			fetch_abort_all(f, r);
			active = 0;
			for (; next < n; next++) {	/* never started */
				fetch_result_init(&jobs[next].res);
				snprintf(jobs[next].res.error,
				    sizeof(jobs[next].res.error), "%s",
				    r == -ECANCELED ? "cancelled" :
				    strerror(-r));
				jobs[next].rc = r;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (jobs[i].rc < 0)
			return jobs[i].rc;
	return 0;
}
