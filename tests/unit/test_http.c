/*
 * Unit tests of the pure parts of http: Range (RFC 9110 section 14) and
 * If-None-Match against a strong etag. Both take untrusted header values
 * and must never fail hard. And request bodies, through a real server on
 * loopback and a raw socket (the body cap, Content-Length and chunked),
 * and the body plans: a cap per path, none, and a file sink.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "http.h"
#include "check.h"
#include "banned.h"

#define UNSET	((uint64_t)0xdeadbeefULL)

/* h against size must give want (and off, len when want is 1). */
static void
range_is(const char *h, uint64_t size, int want, uint64_t off, uint64_t len,
    int *ok)
{
	uint64_t	 o = UNSET, l = UNSET;
	int		 r;

	r = http_range_parse(h, size, &o, &l);
	if (r != want || (want == 1 && (o != off || l != len)) ||
	    (want != 1 && (o != UNSET || l != UNSET))) {
		fprintf(stderr, "range '%s' size %llu: got %d off %llu len "
		    "%llu, want %d off %llu len %llu\n",
		    h != NULL ? h : "(null)", (unsigned long long)size, r,
		    (unsigned long long)o, (unsigned long long)l, want,
		    (unsigned long long)off, (unsigned long long)len);
		*ok = 0;
	}
}

static void
test_range_simple(void)
{
	int	 ok = 1;

	range_is("bytes=0-0", 10, 1, 0, 1, &ok);	/* first byte */
	range_is("bytes=0-9", 10, 1, 0, 10, &ok);	/* all of it */
	range_is("bytes=2-5", 10, 1, 2, 4, &ok);	/* middle */
	range_is("bytes=9-9", 10, 1, 9, 1, &ok);	/* last byte */
	range_is("bytes=5-", 10, 1, 5, 5, &ok);		/* open */
	range_is("bytes=0-", 10, 1, 0, 10, &ok);
	range_is("bytes=9-", 10, 1, 9, 1, &ok);
	range_is("bytes=5-100", 10, 1, 5, 5, &ok);	/* end clamped */
	range_is("bytes=0-0", 1, 1, 0, 1, &ok);
	range_is("bytes=0-", 1, 1, 0, 1, &ok);
	CHECK(ok);
}

static void
test_range_suffix(void)
{
	int	 ok = 1;

	range_is("bytes=-1", 10, 1, 9, 1, &ok);		/* last byte */
	range_is("bytes=-3", 10, 1, 7, 3, &ok);
	range_is("bytes=-10", 10, 1, 0, 10, &ok);
	range_is("bytes=-11", 10, 1, 0, 10, &ok);	/* more than all */
	range_is("bytes=-18446744073709551615", 10, 1, 0, 10, &ok);
	range_is("bytes=-1", 1, 1, 0, 1, &ok);
	CHECK(ok);
}

static void
test_range_unsatisfiable(void)
{
	int	 ok = 1;

	range_is("bytes=10-", 10, -ERANGE, 0, 0, &ok);	/* past the end */
	range_is("bytes=10-10", 10, -ERANGE, 0, 0, &ok);
	range_is("bytes=10-20", 10, -ERANGE, 0, 0, &ok);
	range_is("bytes=1000-", 10, -ERANGE, 0, 0, &ok);
	range_is("bytes=-0", 10, -ERANGE, 0, 0, &ok);
	range_is("bytes=-000", 10, -ERANGE, 0, 0, &ok);
	range_is("bytes=18446744073709551615-", 10, -ERANGE, 0, 0, &ok);
	range_is("bytes=18446744073709551615-18446744073709551615", 10,
	    -ERANGE, 0, 0, &ok);
	CHECK(ok);
}

/* An empty representation has no byte to send. */
static void
test_range_size_zero(void)
{
	int	 ok = 1;

	range_is("bytes=0-0", 0, -ERANGE, 0, 0, &ok);
	range_is("bytes=0-", 0, -ERANGE, 0, 0, &ok);
	range_is("bytes=-5", 0, -ERANGE, 0, 0, &ok);
	range_is("bytes=-0", 0, -ERANGE, 0, 0, &ok);
	range_is("bytes=x", 0, 0, 0, 0, &ok);
	range_is(NULL, 0, 0, 0, 0, &ok);
	CHECK(ok);
}

static void
test_range_malformed(void)
{
	static const char	*bad[] = {
		"", "bytes", "bytes=", "bytes =0-1", "Bytes=0-1x", "items=0-1",
		"bytes=-", "bytes=--1", "bytes=abc", "bytes=5", "bytes=5-3",
		"bytes=1-0", "bytes=0-1x", "bytes=1--2", "bytes=+1-2",
		"bytes=0x1-2", "bytes=1-+2", "bytes=1.5-2", "bytes=-1-2",
		"bytes=0 -1", "bytes=0- 1", "bytes=a-", "bytes=-a",
		"bytes=0-1;", "bytes\n=0-1", "=0-1", "-1", "0-1",
		"bytes=\xff", "bytes=0-1\r\n",
	};
	size_t			 i;
	int			 ok = 1;

	range_is(NULL, 10, 0, 0, 0, &ok);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		range_is(bad[i], 10, 0, 0, 0, &ok);
	CHECK(ok);
}

/* More than one range: sending the whole representation is allowed. */
static void
test_range_multiple(void)
{
	int	 ok = 1;

	range_is("bytes=0-1,3-4", 10, 0, 0, 0, &ok);
	range_is("bytes=0-1, 3-4", 10, 0, 0, 0, &ok);
	range_is("bytes=-1,-2", 10, 0, 0, 0, &ok);
	range_is("bytes=0-,5-", 10, 0, 0, 0, &ok);
	range_is("bytes=0-0,", 10, 0, 0, 0, &ok);
	range_is("bytes=20-30,0-1", 10, 0, 0, 0, &ok);
	CHECK(ok);
}

static void
test_range_spaces(void)
{
	int	 ok = 1;

	range_is("bytes= 0-1", 10, 1, 0, 2, &ok);
	range_is("bytes=0-1 ", 10, 1, 0, 2, &ok);
	range_is("bytes=0- ", 10, 1, 0, 10, &ok);
	range_is("bytes= -2 ", 10, 1, 8, 2, &ok);
	CHECK(ok);
}

/* Numbers past 64 bits make the header ignorable, never a wrap. */
static void
test_range_overflow(void)
{
	int	 ok = 1;

	range_is("bytes=18446744073709551616-", 10, 0, 0, 0, &ok);
	range_is("bytes=0-18446744073709551616", 10, 0, 0, 0, &ok);
	range_is("bytes=-18446744073709551616", 10, 0, 0, 0, &ok);
	range_is("bytes=99999999999999999999999999999-", 10, 0, 0, 0, &ok);
	range_is("bytes=0-99999999999999999999999999999999999999999", 10, 0,
	    0, 0, &ok);
	range_is("bytes=-99999999999999999999999999999999999999999", 10, 0,
	    0, 0, &ok);
	/* the largest size */
	range_is("bytes=0-18446744073709551615", UINT64_MAX, 1, 0,
	    UINT64_MAX, &ok);
	range_is("bytes=0-", UINT64_MAX, 1, 0, UINT64_MAX, &ok);
	range_is("bytes=-18446744073709551615", UINT64_MAX, 1, 0, UINT64_MAX,
	    &ok);
	range_is("bytes=18446744073709551614-", UINT64_MAX, 1,
	    UINT64_MAX - 1, 1, &ok);
	range_is("bytes=18446744073709551615-", UINT64_MAX, -ERANGE, 0, 0,
	    &ok);
	range_is("bytes=1-18446744073709551615", UINT64_MAX, 1, 1,
	    UINT64_MAX - 1, &ok);
	range_is("bytes=00000000000000000000000000000000000000000001-2", 10,
	    1, 1, 2, &ok);
	CHECK(ok);
}

/* A long header is read without trouble. */
static void
test_range_long(void)
{
	char	 h[8192];
	int	 ok = 1;

	memcpy(h, "bytes=", 6);
	memset(h + 6, '0', sizeof(h) - 6 - 4);
	memcpy(h + sizeof(h) - 4, "-1", 3);
	range_is(h, 10, 1, 0, 2, &ok);
	memset(h + 6, ',', sizeof(h) - 7);
	h[sizeof(h) - 1] = '\0';
	range_is(h, 10, 0, 0, 0, &ok);
	CHECK(ok);
}

#define ETAG	"\"5891b5b522d5df08\""

static void
etag_is(const char *inm, const char *etag, int want, int *ok)
{
	int	 r = http_etag_match(inm, etag);

	if (r != want) {
		fprintf(stderr, "If-None-Match '%s' vs %s: got %d, want %d\n",
		    inm != NULL ? inm : "(null)", etag, r, want);
		*ok = 0;
	}
}

static void
test_etag_match(void)
{
	int	 ok = 1;

	etag_is(ETAG, ETAG, 1, &ok);				/* exact */
	etag_is("\"x\", " ETAG, ETAG, 1, &ok);			/* list */
	etag_is(ETAG ", \"x\"", ETAG, 1, &ok);
	etag_is("\"x\"," ETAG ",\"y\"", ETAG, 1, &ok);
	etag_is("\"x\" ,\t" ETAG "\t, \"y\"", ETAG, 1, &ok);
	etag_is("W/" ETAG, ETAG, 1, &ok);		/* weak comparison */
	etag_is("\"x\", W/" ETAG, ETAG, 1, &ok);
	etag_is("*", ETAG, 1, &ok);
	etag_is("  *", ETAG, 1, &ok);
	etag_is(" " ETAG " ", ETAG, 1, &ok);
	etag_is(",,," ETAG, ETAG, 1, &ok);
	CHECK(ok);
}

static void
test_etag_no_match(void)
{
	int	 ok = 1;

	etag_is(NULL, ETAG, 0, &ok);
	etag_is("", ETAG, 0, &ok);
	etag_is(" ", ETAG, 0, &ok);
	etag_is(",", ETAG, 0, &ok);
	etag_is("\"x\"", ETAG, 0, &ok);
	etag_is("\"x\", \"y\"", ETAG, 0, &ok);
	etag_is("W/\"x\", W/\"y\"", ETAG, 0, &ok);
	etag_is("\"5891b5b522d5df0\"", ETAG, 0, &ok);		/* shorter */
	etag_is("\"5891b5b522d5df088\"", ETAG, 0, &ok);		/* longer */
	etag_is(ETAG "x", ETAG, 0, &ok);
	etag_is("x" ETAG, ETAG, 0, &ok);
	etag_is("5891b5b522d5df08", ETAG, 0, &ok);		/* unquoted */
	etag_is("\"5891B5B522D5DF08\"", ETAG, 0, &ok);	/* case matters */
	etag_is("W/", ETAG, 0, &ok);
	etag_is("W/W/" ETAG, ETAG, 0, &ok);
	etag_is("\"5891b5b522d5df08", ETAG, 0, &ok);
	etag_is("w/" ETAG, ETAG, 0, &ok);
	CHECK(ok);
}

/* Echoes the body and the peer address: "PEER|BODY". */
static void
echo_handler(void *ctx, struct http_request *req)
{
	char		 peer[HTTP_ADDR_MAX], out[256];
	const char	*body;
	size_t		 len;
	int		 n;

	(void)ctx;
	body = http_body(req, &len);
	http_peer(req, peer);
	n = snprintf(out, sizeof(out), "%s|%.*s", peer, (int)len, body);
	http_reply(req, 200, http_response_copy(out, (size_t)n));
}

/* Sends raw bytes to port and reads the whole answer into out. */
static int
raw_exchange(unsigned port, const char *msg, char *out, size_t size)
{
	struct sockaddr_in	 sa;
	size_t			 got = 0;
	ssize_t			 n;
	int			 fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(fd, msg, strlen(msg)) != (ssize_t)strlen(msg)) {
		close(fd);
		return -1;
	}
	shutdown(fd, SHUT_WR);
	while (got + 1 < size && (n = read(fd, out + got,
	    size - got - 1)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fd);
	return 0;
}

static void
test_request_body(void)
{
	struct http_config	 c;
	struct http_server	*s = NULL;
	char			 err[128], ans[4096];
	const char		*addr;
	unsigned		 port;

	memset(&c, 0, sizeof(c));
	c.listen[0] = "127.0.0.1:0";
	c.nlisten = 1;
	c.threads = 1;
	c.connection_memory = 32768;
	c.connection_limit = 16;
	c.connection_timeout = 5;
	c.body_max = 16;
	CHECK_EQ(http_server_start(&c, echo_handler, NULL, &s, err,
	    sizeof(err)), 0);
	if (s == NULL)
		return;
	addr = http_server_address(s, 0);
	port = (unsigned)strtoul(strrchr(addr, ':') + 1, NULL, 10);

	CHECK_EQ(raw_exchange(port, "POST /x HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhello", ans,
	    sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 200") == ans);
	CHECK(strstr(ans, "\r\n\r\n127.0.0.1|hello") != NULL);

	/* no body: "" */
	CHECK_EQ(raw_exchange(port, "GET /x HTTP/1.1\r\nHost: a\r\n"
	    "Connection: close\r\n\r\n", ans, sizeof(ans)), 0);
	CHECK(strstr(ans, "\r\n\r\n127.0.0.1|") != NULL);

	/* announced over the cap: refused before it is read */
	CHECK_EQ(raw_exchange(port, "PUT /x HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 17\r\n\r\n01234567890123456", ans,
	    sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 413") == ans);
	CHECK(strstr(ans, "payload_too_large") != NULL);

	/* chunked: within the cap, then over it */
	CHECK_EQ(raw_exchange(port, "POST /x HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", ans, sizeof(ans)), 0);
	CHECK(strstr(ans, "\r\n\r\n127.0.0.1|abcde") != NULL);
	CHECK_EQ(raw_exchange(port, "POST /x HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "a\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", ans,
	    sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 413") == ans);
	http_server_stop(s);
}

/* /file/...: a file sink in the directory ctx names, up to 20 bytes;
 * /none: no body; /bad: a file sink in a directory that is not one;
 * /refuse: 401 at once unless a header says "yes"; else the configured
 * cap. */
static void
plan_paths(void *ctx, struct http_request *req, struct http_body_plan *plan)
{
	const char	*path = http_path(req), *h;

	if (strcmp(path, "/refuse") == 0) {
		h = http_header(req, "X-Let-In");
		if (h == NULL || strcmp(h, "yes") != 0)
			http_reply_error(req, 401, "token_required", "no");
		return;
	}
	if (strncmp(path, "/file/", 6) == 0) {
		plan->max = 20;
		plan->dir = ctx;
	} else if (strcmp(path, "/none") == 0)
		plan->max = 0;
	else if (strcmp(path, "/bad") == 0) {
		plan->max = 20;
		plan->dir = "/nonexistent-directory/x";
	}
}

/* Echoes "file|SIZE|BYTES" for a body in a file, else as echo_handler. */
static void
file_handler(void *ctx, struct http_request *req)
{
	struct stat	 st;
	uint64_t	 size = 0;
	char		 out[256], data[64];
	ssize_t		 got;
	int		 fd, n;

	fd = http_body_fd(req, &size);
	if (fd < 0) {
		echo_handler(ctx, req);
		return;
	}
	got = read(fd, data, sizeof(data));
	/* unnamed, private */
	if (fstat(fd, &st) < 0 || st.st_nlink != 0 ||
	    (st.st_mode & 077) != 0 || got < 0)
		got = -1;
	n = snprintf(out, sizeof(out), "file|%llu|%.*s",
	    (unsigned long long)size, got < 0 ? 0 : (int)got, data);
	http_reply(req, got < 0 ? 500 : 200,
	    http_response_copy(out, (size_t)n));
}

static void
test_body_plan(void)
{
	struct http_config	 c;
	struct http_server	*s = NULL;
	char			 err[128], ans[4096];
	const char		*addr;
	unsigned		 port;

	memset(&c, 0, sizeof(c));
	c.listen[0] = "127.0.0.1:0";
	c.nlisten = 1;
	c.threads = 2;
	c.connection_memory = 32768;
	c.connection_limit = 16;
	c.connection_timeout = 5;
	c.body_max = 8;
	c.body_plan = plan_paths;
	CHECK_EQ(http_server_start(&c, file_handler, "/tmp", &s, err,
	    sizeof(err)), 0);
	if (s == NULL)
		return;
	addr = http_server_address(s, 0);
	port = (unsigned)strtoul(strrchr(addr, ':') + 1, NULL, 10);

	/* into a file, over the memory cap but within its own */
	CHECK_EQ(raw_exchange(port, "POST /file/a HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 12\r\nConnection: close\r\n\r\nhello world!",
	    ans, sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 200") == ans);
	CHECK(strstr(ans, "\r\n\r\nfile|12|hello world!") != NULL);
	/* chunked into a file */
	CHECK_EQ(raw_exchange(port, "POST /file/b HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", ans, sizeof(ans)), 0);
	CHECK(strstr(ans, "\r\n\r\nfile|5|abcde") != NULL);
	/* over the file's cap: announced, then chunked */
	CHECK_EQ(raw_exchange(port, "POST /file/c HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 21\r\n\r\n012345678901234567890", ans,
	    sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 413") == ans);
	CHECK_EQ(raw_exchange(port, "POST /file/d HTTP/1.1\r\nHost: a\r\n"
	    "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
	    "10\r\n0123456789abcdef\r\n10\r\n0123456789abcdef\r\n"
	    "0\r\n\r\n", ans, sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 413") == ans);
	/* the other paths keep body_max, in memory */
	CHECK_EQ(raw_exchange(port, "POST /x HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\nConnection: close\r\n\r\nhello", ans,
	    sizeof(ans)), 0);
	CHECK(strstr(ans, "\r\n\r\n127.0.0.1|hello") != NULL);
	CHECK_EQ(raw_exchange(port, "POST /x HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 12\r\n\r\nhello world!", ans,
	    sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 413") == ans);
	/* a path that takes none */
	CHECK_EQ(raw_exchange(port, "POST /none HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 1\r\nConnection: close\r\n\r\nx", ans,
	    sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 413") == ans);
	/* a file that cannot be made */
	CHECK_EQ(raw_exchange(port, "POST /bad HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 1\r\nConnection: close\r\n\r\nx", ans,
	    sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 507") == ans);
	CHECK(strstr(ans, "insufficient_storage") != NULL);
	/* refused by the planner before the body, or let in */
	CHECK_EQ(raw_exchange(port, "POST /refuse HTTP/1.1\r\nHost: a\r\n"
	    "Content-Length: 5\r\n\r\nhello", ans, sizeof(ans)), 0);
	CHECK(strstr(ans, "HTTP/1.1 401") == ans);
	CHECK(strstr(ans, "token_required") != NULL);
	CHECK_EQ(raw_exchange(port, "POST /refuse HTTP/1.1\r\nHost: a\r\n"
	    "X-Let-In: yes\r\nContent-Length: 5\r\nConnection: close\r\n"
	    "\r\nhello", ans, sizeof(ans)), 0);
	CHECK(strstr(ans, "\r\n\r\n127.0.0.1|hello") != NULL);
	http_server_stop(s);
}

int
main(void)
{
	RUN(test_range_simple);
	RUN(test_range_suffix);
	RUN(test_range_unsatisfiable);
	RUN(test_range_size_zero);
	RUN(test_range_malformed);
	RUN(test_range_multiple);
	RUN(test_range_spaces);
	RUN(test_range_overflow);
	RUN(test_range_long);
	RUN(test_etag_match);
	RUN(test_etag_no_match);
	RUN(test_request_body);
	RUN(test_body_plan);
	return check_end();
}
