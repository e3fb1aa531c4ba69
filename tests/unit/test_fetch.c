/*
 * Tests of fetch against real servers on loopback, started here and
 * stopped by pid: cascade serve (state, objects, Range, 304, 404), a small
 * Python server that records the request headers it gets (credentials,
 * Retry-After, a body without Content-Length, connection reuse), and
 * tinyproxy with Basic authentication. Also a socket that listens and
 * never answers (stall) and a closed port (refused). Includes fetch.c to
 * reach its header parsers.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fetch.c"
#include "check.h"
#include "banned.h"

#define START_MS	20000	/* for a server to come up (ASan is slow) */
#define NOBJ		6	/* objects published; 0 is the big one */

struct obj {
	char		 hex[CRYPTO_SHA256_HEX];
	unsigned char	*data;
	size_t		 len;
};

static const char	*cascade_bin;
static struct obj	 objs[NOBJ];
static char		 srv_url[128];	/* cascade serve on 127.0.0.1 */
static pid_t		 srv_pid = -1;
static char		 py_url[128];	/* the recording Python server */
static pid_t		 py_pid = -1;
static char		 proxy_url[128];	/* tinyproxy */
static pid_t		 proxy_pid = -1;

#define PROXY_USER	"puser"
#define PROXY_PASS	"p4ss-word"	/* tinyproxy takes no colon in it */

static const char py_server[] =
"import email.utils, http.server, os, ssl, sys, time\n"
"d = sys.argv[1]\n"
"log = os.path.join(d, 'requests.log')\n"
"class H(http.server.BaseHTTPRequestHandler):\n"
"    protocol_version = 'HTTP/1.1'\n"
"    def log_message(self, *args):\n"
"        pass\n"
"    def reply(self, code, body, extra=()):\n"
"        self.send_response(code)\n"
"        for k, v in extra:\n"
"            self.send_header(k, v)\n"
"        self.send_header('Content-Length', str(len(body)))\n"
"        self.end_headers()\n"
"        self.wfile.write(body)\n"
"    def note(self, body=None):\n"
"        with open(log, 'a') as f:\n"
"            f.write('REQ %s %d\\n' % (self.path, self.client_address[1]))\n"
"            for k, v in self.headers.items():\n"
"                f.write('H %s: %s\\n' % (k, v))\n"
"            f.write('M %s\\n' % self.command)\n"
"            if body is not None:\n"
"                f.write('B %s\\n' % body.hex())\n"
"            f.write('END\\n')\n"
"    def do_body(self):\n"
"        n = int(self.headers.get('Content-Length', '0'))\n"
"        body = self.rfile.read(n)\n"
"        self.note(body)\n"
"        if self.path == '/nocontent':\n"
"            self.send_response(204)\n"
"            self.end_headers()\n"
"        elif self.path == '/bigreply':\n"
"            self.reply(200, b'y' * 200000)\n"
"        else:\n"
"            self.reply(201, b'{\"got\": %d}' % len(body))\n"
"    do_POST = do_PUT = do_DELETE = do_body\n"
"    def do_HEAD(self):\n"
"        self.note()\n"
"        self.send_response(200)\n"
"        self.send_header('Content-Length', '123456789')\n"
"        self.end_headers()\n"
"    def do_GET(self):\n"
"        self.note()\n"
"        if self.path == '/nolen':\n"
"            self.send_response(200)\n"
"            self.send_header('Connection', 'close')\n"
"            self.end_headers()\n"
"            self.close_connection = True\n"
"            try:\n"
"                for i in range(64):\n"
"                    self.wfile.write(b'x' * 65536)\n"
"            except OSError:\n"
"                pass\n"
"        elif self.path == '/badrange':\n"
"            self.reply(206, b'hello\\n', [('Content-Range', 'bytes 0-5/6')])\n"
"        elif self.path == '/shortrange':\n"
"            first = int(self.headers['Range'][6:-1])\n"
"            self.reply(206, b'0123456789'[first:first + 2],\n"
"                [('Content-Range', 'bytes %d-%d/10' % (first, first + 1))])\n"
"        elif self.path == '/retry':\n"
"            self.reply(429, b'{\"error\": \"slow_down\"}',\n"
"                [('Retry-After', '17')])\n"
"        elif self.path == '/retry-date':\n"
"            self.reply(503, b'{}', [('Retry-After',\n"
"                email.utils.formatdate(time.time() + 100, usegmt=True))])\n"
"        else:\n"
"            self.reply(200, b'hello\\n', [('ETag', '\"abc\"')])\n"
"s = http.server.ThreadingHTTPServer(('127.0.0.1', 0), H)\n"
"name = 'port'\n"
"if len(sys.argv) > 3:\n"
"    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)\n"
"    ctx.load_cert_chain(sys.argv[2], sys.argv[3])\n"
"    s.socket = ctx.wrap_socket(s.socket, server_side=True)\n"
"    name = 'tls-port'\n"
"with open(os.path.join(d, name + '.tmp'), 'w') as f:\n"
"    f.write('%d\\n' % s.server_address[1])\n"
"os.rename(os.path.join(d, name + '.tmp'), os.path.join(d, name))\n"
"s.serve_forever()\n";

/* Helpers: time, files, processes, sockets. */

static long long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
pause_ms(long ms)
{
	struct timespec	 ts = { 0, ms * 1000000L };

	nanosleep(&ts, NULL);
}

/* The whole file, NUL-terminated, malloc'ed; NULL when unreadable. */
static char *
read_all(const char *path, size_t *ret_len)
{
	struct stat	 st;
	char		*p;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) < 0 || (p = malloc((size_t)st.st_size + 1)) ==
	    NULL) {
		close(fd);
		return NULL;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, p + got, (size_t)st.st_size - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	p[got] = '\0';
	if (ret_len != NULL)
		*ret_len = got;
	return p;
}

static long long
file_size(const char *path)
{
	struct stat	 st;

	return stat(path, &st) < 0 ? -1 : (long long)st.st_size;
}

static int
file_is(const char *path, const void *p, size_t len)
{
	size_t	 n;
	char	*got;
	int	 same;

	got = read_all(path, &n);
	if (got == NULL)
		return 0;
	same = n == len && memcmp(got, p, len) == 0;
	free(got);
	return same;
}

static int
open_rw(const char *path)
{
	return open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
}

/* Copies a log to stderr, to tell why something did not start. */
static void
show(const char *path)
{
	char	*text;

	text = read_all(path, NULL);
	if (text != NULL)
		fprintf(stderr, "--- %s:\n%s", path, text);
	free(text);
}

/* Forks argv with stdout and stderr to errlog. The pid, or -1. */
static pid_t
spawn(char *const argv[], const char *errlog)
{
	pid_t	 pid;
	int	 fd, nul;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid != 0)
		return pid;
	fd = open(errlog, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || nul < 0)
		_exit(126);
	dup2(nul, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	execvp(argv[0], argv);
	_exit(127);
}

/* Runs argv to its end: its exit status, or -1. */
static int
run_cmd(char *const argv[], const char *errlog)
{
	pid_t	 pid;
	int	 st;

	pid = spawn(argv, errlog);
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
stop(pid_t *pid)
{
	long long	 deadline;

	if (*pid <= 0)
		return;
	kill(*pid, SIGTERM);
	deadline = now_ms() + 10000;
	while (waitpid(*pid, NULL, WNOHANG) == 0) {
		if (now_ms() > deadline) {
			kill(*pid, SIGKILL);
			waitpid(*pid, NULL, 0);
			break;
		}
		pause_ms(10);
	}
	*pid = -1;
}

/*
 * Polls path until a line holding needle shows up (copied to line), while
 * *pid lives: 0, or -1 when it died (reaped, *pid = -1) or time ran out.
 */
static int
wait_line(const char *path, const char *needle, pid_t *pid, char *line,
    size_t size)
{
	long long	 deadline = now_ms() + START_MS;
	const char	*s, *e = NULL;
	char		*text;
	size_t		 n;

	for (;;) {
		text = read_all(path, NULL);
		s = text != NULL ? strstr(text, needle) : NULL;
		if (s != NULL) {
			while (s > text && s[-1] != '\n')
				s--;
			e = strchr(s, '\n');
		}
		if (s != NULL && e != NULL) {	/* a whole line */
			n = (size_t)(e - s);
			if (n >= size)
				n = size - 1;
			memcpy(line, s, n);
			line[n] = '\0';
			free(text);
			return 0;
		}
		free(text);
		if (*pid > 0 && waitpid(*pid, NULL, WNOHANG) == *pid) {
			*pid = -1;
			fprintf(stderr, "process for '%s' died\n", path);
			return -1;
		}
		if (now_ms() > deadline) {
			fprintf(stderr, "no '%s' in '%s' in time\n", needle,
			    path);
			return -1;
		}
		pause_ms(10);
	}
}

/* A port that was free on 127.0.0.1 a moment ago (closed again). */
static int
free_port(void)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 s, port = -1;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
	    getsockname(s, (struct sockaddr *)&sin, &len) == 0)
		port = ntohs(sin.sin_port);
	close(s);
	return port;
}

/* A socket listening on 127.0.0.1 that nobody accepts from. */
static int
listen_mute(int *ret_port)
{
	struct sockaddr_in	 sin;
	socklen_t		 len = sizeof(sin);
	int			 s;

	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) < 0) {
		close(s);
		return -1;
	}
	*ret_port = ntohs(sin.sin_port);
	return s;
}

static int
ipv6_loopback_works(void)
{
	struct sockaddr_in6	 sin6;
	int			 s, ok;

	s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return 0;
	memset(&sin6, 0, sizeof(sin6));
	sin6.sin6_family = AF_INET6;
	sin6.sin6_addr = in6addr_loopback;
	ok = bind(s, (struct sockaddr *)&sin6, sizeof(sin6)) == 0;
	close(s);
	return ok;
}

/* Starts cascade serve on listen; its base URL into url. */
static pid_t
start_serve(const char *listen, const char *errlog, char *url, size_t size)
{
	char		 line[512];
	char		*argv[] = { (char *)cascade_bin, "serve", "-d", NULL,
			    "--listen", (char *)listen, NULL };
	const char	*s, *e;
	pid_t		 pid;

	argv[3] = (char *)check_path("repo");
	pid = spawn(argv, errlog);
	if (pid < 0)
		return -1;
	if (wait_line(errlog, "cascade: serving '", &pid, line,
	    sizeof(line)) < 0) {
		stop(&pid);
		show(errlog);
		return -1;
	}
	s = strstr(line, " on http://");
	e = s != NULL ? strstr(s, " (serial") : NULL;
	if (e == NULL || (size_t)(e - s - 4) >= size) {
		stop(&pid);
		return -1;
	}
	s += 4;
	memcpy(url, s, (size_t)(e - s));
	url[e - s] = '\0';
	return pid;
}

/* Deterministic bytes, different for each seed. */
static void
fill(unsigned char *p, size_t n, uint32_t seed)
{
	uint32_t	 x = seed * 2654435761u + 1;
	size_t		 i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
}

static int
setup_repo(void)
{
	unsigned char	 md[CRYPTO_SHA256_LEN];
	char		 name[32], comp[32];
	char		*init[] = { (char *)cascade_bin, "init", "-d", NULL,
			    NULL };
	char		*pub[] = { (char *)cascade_bin, "publish", "-d", NULL,
			    comp, name, NULL };
	size_t		 i;

	init[3] = (char *)check_path("repo");
	if (run_cmd(init, check_path("init.log")) != 0)
		return -1;
	for (i = 0; i < NOBJ; i++) {
		objs[i].len = i == 0 ? 1024 * 1024 + 12345 : 1000 + i * 33333;
		objs[i].data = malloc(objs[i].len);
		if (objs[i].data == NULL)
			return -1;
		fill(objs[i].data, objs[i].len, (uint32_t)i + 1);
		crypto_sha256(objs[i].data, objs[i].len, md);
		crypto_hex(md, sizeof(md), objs[i].hex);
		snprintf(name, sizeof(name), "obj%zu", i);
		if (check_write_file(check_path(name), objs[i].data,
		    objs[i].len) < 0)
			return -1;
		snprintf(comp, sizeof(comp), "comp%zu", i);
		pub[3] = (char *)check_path("repo");
		pub[5] = (char *)check_path(name);
		if (run_cmd(pub, check_path("publish.log")) != 0)
			return -1;
	}
	return 0;
}

/*
 * Starts the Python server, over TLS with cert and key when not NULL;
 * its base URL into url.
 */
static pid_t
start_python(const char *cert, const char *key, char *url, size_t size)
{
	char		 line[64];
	char		*argv[] = { "python3", NULL, (char *)check_tmpdir,
			    (char *)cert, (char *)key, NULL };
	const char	*portfile = cert != NULL ? "tls-port" : "port";
	pid_t		 pid;

	if (check_write_file(check_path("srv.py"), py_server,
	    sizeof(py_server) - 1) < 0)
		return -1;
	argv[1] = (char *)check_path("srv.py");
	pid = spawn(argv, check_path(cert != NULL ? "python-tls.log" :
	    "python.log"));
	if (pid < 0)
		return -1;
	if (wait_line(check_path(portfile), "\n", &pid, line,
	    sizeof(line)) < 0) {
		stop(&pid);
		show(check_path(cert != NULL ? "python-tls.log" :
		    "python.log"));
		return -1;
	}
	snprintf(url, size, "%s://127.0.0.1:%s/", cert != NULL ? "https" :
	    "http", line);
	return pid;
}

static pid_t
start_proxy(void)
{
	struct buf	 conf;
	char		 line[256];
	char		*argv[] = { "tinyproxy", "-d", "-c", NULL, NULL };
	pid_t		 pid;
	int		 port, r;

	port = free_port();
	if (port < 0)
		return -1;
	buf_init(&conf, 4096);
	r = buf_printf(&conf,
	    "Port %d\nListen 127.0.0.1\nAllow 127.0.0.1\n"
	    "BasicAuth %s %s\nPidFile \"%s\"\nLogFile \"%s\"\n"
	    "LogLevel Info\nMaxClients 16\nTimeout 30\n"
	    "DisableViaHeader Yes\n", port, PROXY_USER, PROXY_PASS,
	    check_path("tinyproxy.pid"), check_path("tinyproxy.log"));
	if (r == 0)
		r = check_write_file(check_path("tinyproxy.conf"), conf.ptr,
		    conf.len);
	buf_release(&conf);
	if (r < 0)
		return -1;
	argv[3] = (char *)check_path("tinyproxy.conf");
	pid = spawn(argv, check_path("tinyproxy.out"));
	if (pid < 0)
		return -1;
	if (wait_line(check_path("tinyproxy.log"), "Accepting connections",
	    &pid, line, sizeof(line)) < 0) {
		stop(&pid);
		show(check_path("tinyproxy.out"));
		show(check_path("tinyproxy.log"));
		return -1;
	}
	snprintf(proxy_url, sizeof(proxy_url), "http://127.0.0.1:%d", port);
	return pid;
}

/* A fetch to base with short timeouts and no credentials. */
static struct fetch *
fetch_to(const char *base)
{
	struct fetch_config	 c;
	struct fetch		*f = NULL;

	memset(&c, 0, sizeof(c));
	c.base_url = base;
	c.connect_timeout = 5;
	c.stall_timeout = 10;
	if (fetch_new(&c, &f) < 0)
		return NULL;
	return f;
}

static void
object_path(size_t i, char *path, size_t size)
{
	snprintf(path, size, "v1/objects/%s", objs[i].hex);
}

/*
 * The block the Python server logged for the request of path (the last
 * one), malloc'ed; NULL when none.
 */
static char *
request_log(const char *path)
{
	char	 key[256];
	char	*text, *s, *last = NULL, *e, *r;
	size_t	 n;

	text = read_all(check_path("requests.log"), NULL);
	if (text == NULL)
		return NULL;
	snprintf(key, sizeof(key), "REQ %s ", path);
	for (s = text; (s = strstr(s, key)) != NULL; s++)
		if (s == text || s[-1] == '\n')
			last = s;
	if (last == NULL || (e = strstr(last, "\nEND\n")) == NULL) {
		free(text);
		return NULL;
	}
	n = (size_t)(e - last) + 1;
	r = malloc(n + 1);
	if (r != NULL) {
		memcpy(r, last, n);
		r[n] = '\0';
	}
	free(text);
	return r;
}

/* The client port the Python server saw for path. */
static long
request_port(const char *path)
{
	char	*b;
	long	 port;

	b = request_log(path);
	if (b == NULL)
		return -1;
	port = strtol(b + 4 + strlen(path) + 1, NULL, 10);
	free(b);
	return port;
}

/* Parsers, through fetch.c's statics. */

static void
test_parse_status(void)
{
	const char	*l[] = { "HTTP/1.1 206 Partial Content",
	    "HTTP/2 200 ", "HTTP/1.0 404", "HTTP/1.1 20", "HTTP/1.1 2000 x",
	    "ETag: \"x\"", "HTTP/1.1 abc" };
	long		 want[] = { 206, 200, 404, 0, 0, 0, 0 };
	size_t		 i;

	for (i = 0; i < sizeof(l) / sizeof(l[0]); i++)
		CHECK_EQ(fetch_parse_status(l[i], l[i] + strlen(l[i])),
		    want[i]);
}

static int
content_range(const char *v, struct fetch_xfer *x)
{
	memset(x, 0, sizeof(*x));
	fetch_parse_content_range(x, v, v + strlen(v));
	return x->has_range;
}

static void
test_parse_content_range(void)
{
	struct fetch_xfer	 x;

	CHECK(content_range("bytes 10-19/20", &x));
	CHECK_EQ(x.range_first, 10);
	CHECK_EQ(x.range_last, 19);
	CHECK_EQ(x.range_total, 20);
	CHECK(x.has_total);
	CHECK(content_range("bytes 0-0/*", &x));
	CHECK(!x.has_total);
	CHECK(!content_range("bytes */20", &x));	/* a 416's */
	CHECK(!content_range("bytes 10-9/20", &x));
	CHECK(!content_range("bytes 10-20/20", &x));	/* past the end */
	CHECK(!content_range("bytes 1-2/3x", &x));
	CHECK(!content_range("items 1-2/3", &x));
	CHECK(!content_range("bytes 1-99999999999999999999/3", &x));
	CHECK(!content_range("bytes -1/3", &x));
}

static void
test_parse_retry_after(void)
{
	struct fetch_result	 res;
	struct fetch_xfer	 x;
	const char		*v;

	memset(&x, 0, sizeof(x));
	x.res = &res;
	fetch_result_init(&res);
	v = "120";
	fetch_parse_retry_after(&x, v, v + strlen(v));
	CHECK_EQ(res.retry_after, 120);
	v = "99999999999999";
	fetch_parse_retry_after(&x, v, v + strlen(v));
	CHECK_EQ(res.retry_after, FETCH_RETRY_AFTER_MAX);
	v = "Wed, 21 Oct 2015 07:28:00 GMT";	/* past */
	fetch_parse_retry_after(&x, v, v + strlen(v));
	CHECK_EQ(res.retry_after, 0);
	fetch_result_init(&res);
	v = "soon";
	fetch_parse_retry_after(&x, v, v + strlen(v));
	CHECK_EQ(res.retry_after, -1);
	v = "-5";
	fetch_parse_retry_after(&x, v, v + strlen(v));
	CHECK_EQ(res.retry_after, -1);
}

static void
test_url_join(void)
{
	struct fetch	*f;
	char		 url[FETCH_URL_MAX];

	f = fetch_to("http://h:1/");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fetch_url(f, "v1/state", url, sizeof(url)) == 0);
	CHECK(strcmp(url, "http://h:1/v1/state") == 0);
	CHECK(fetch_url(f, "/v1/state", url, sizeof(url)) == 0);
	CHECK(strcmp(url, "http://h:1/v1/state") == 0);
	CHECK_EQ(fetch_url(f, "v1/a b", url, sizeof(url)), -EINVAL);
	CHECK_EQ(fetch_url(f, "v1/a\r\nX: y", url, sizeof(url)), -EINVAL);
	fetch_free(f);
	f = fetch_to("http://h:1/base");
	CHECK(f != NULL);
	if (f == NULL)
		return;
	CHECK(fetch_url(f, "v1/state", url, sizeof(url)) == 0);
	CHECK(strcmp(url, "http://h:1/base/v1/state") == 0);
	CHECK(fetch_url(f, "/v1/state", url, sizeof(url)) == 0);
	CHECK(strcmp(url, "http://h:1/base/v1/state") == 0);
	fetch_free(f);
}

static void
test_new_bad(void)
{
	struct fetch_config	 c;
	struct fetch		*f = NULL;

	memset(&c, 0, sizeof(c));
	CHECK_EQ(fetch_new(&c, &f), -EINVAL);		/* no URL */
	c.base_url = "ftp://h/";
	CHECK_EQ(fetch_new(&c, &f), -EINVAL);
	c.base_url = "file:///etc/passwd";
	CHECK_EQ(fetch_new(&c, &f), -EINVAL);
	c.base_url = "no url at all";
	CHECK_EQ(fetch_new(&c, &f), -EINVAL);
	c.base_url = "http://h/\r\nX: y";
	CHECK_EQ(fetch_new(&c, &f), -EINVAL);
	c.base_url = "http://h/";
	c.license_key = "k\r\nX-Evil: 1";
	CHECK_EQ(fetch_new(&c, &f), -EINVAL);
	c.license_key = NULL;
	c.agent_id = "0123\r\nX-Evil: 1";
	CHECK_EQ(fetch_new(&c, &f), -EINVAL);
	c.agent_id = "0123";
	c.bearer = "tok\nX-Evil: 1";
	CHECK_EQ(fetch_new(&c, &f), -EINVAL);
	c.bearer = NULL;
	CHECK(f == NULL);
	c.license_key = "k";
	c.base_url = "https://[::1]:8443/";
	CHECK_EQ(fetch_new(&c, &f), 0);
	fetch_free(f);
	fetch_free(NULL);
}

/* Against cascade serve. */

static void
test_get_state(void)
{
	struct fetch_result	 res;
	struct fetch		*f;
	struct buf		 out;
	char			 etag[FETCH_ETAG_MAX];

	f = fetch_to(srv_url);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	buf_init(&out, 65536);
	CHECK_EQ(fetch_get(f, "v1/state", NULL, 0, &out, &res), 0);
	CHECK_EQ(res.status, 200);
	CHECK(out.len > 0 && strstr(out.ptr, "\"serial\"") != NULL);
	CHECK_EQ(res.bytes, out.len);
	CHECK(res.etag[0] == '"' && strlen(res.etag) == 66);
	CHECK_EQ(res.retry_after, -1);
	memcpy(etag, res.etag, sizeof(etag));

	/* the same etag: 304, out untouched */
	buf_reset(&out);
	CHECK_EQ(buf_puts(&out, "keep"), 0);
	CHECK_EQ(fetch_get(f, "/v1/state", etag, 0, &out, &res), 0);
	CHECK_EQ(res.status, 304);
	CHECK(strcmp(out.ptr, "keep") == 0);
	CHECK(strcmp(res.etag, etag) == 0);
	CHECK_EQ(res.bytes, 0);

	/* another etag: the body again, appended */
	CHECK_EQ(fetch_get(f, "v1/state", "\"nope\"", 0, &out, &res), 0);
	CHECK_EQ(res.status, 200);
	CHECK(strncmp(out.ptr, "keep{", 5) == 0);

	/* a bad etag never makes a header */
	CHECK_EQ(fetch_get(f, "v1/state", "\"x\"\r\nX: y", 0, &out, &res),
	    -EINVAL);
	buf_release(&out);
	fetch_free(f);
}

static void
test_get_not_found(void)
{
	struct fetch_result	 res;
	struct fetch		*f;
	struct buf		 out;

	f = fetch_to(srv_url);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	buf_init(&out, 65536);
	CHECK_EQ(fetch_get(f, "v1/nothing/here", NULL, 0, &out, &res), 0);
	CHECK_EQ(res.status, 404);
	CHECK(out.ptr != NULL && strstr(out.ptr, "not_found") != NULL);
	buf_release(&out);
	fetch_free(f);
}

static void
test_get_too_big(void)
{
	struct fetch_result	 res;
	struct fetch		*f, *p;
	struct buf		 out;
	char			 path[128];

	f = fetch_to(srv_url);
	p = fetch_to(py_url);
	CHECK(f != NULL && p != NULL);
	if (f == NULL || p == NULL)
		goto out;
	/* Content-Length says it early */
	buf_init(&out, 10);
	CHECK_EQ(fetch_get(f, "v1/state", NULL, 0, &out, &res), -E2BIG);
	CHECK_EQ(out.len, 0);
	CHECK(res.error[0] != '\0');
	buf_release(&out);

	buf_init(&out, 4096);
	CHECK_EQ(buf_puts(&out, "abc"), 0);
	object_path(0, path, sizeof(path));
	CHECK_EQ(fetch_get(f, path, NULL, 0, &out, &res), -E2BIG);
	CHECK(out.len == 3 && strcmp(out.ptr, "abc") == 0);
	buf_release(&out);

	/* no Content-Length: cut while it comes */
	buf_init(&out, 100000);
	CHECK_EQ(fetch_get(p, "nolen", NULL, 0, &out, &res), -E2BIG);
	CHECK_EQ(out.len, 0);
	CHECK_EQ(res.status, 200);
	CHECK(res.bytes <= 100000);
	buf_release(&out);

	/* the connection cache survives a cut transfer */
	buf_init(&out, 100);
	CHECK_EQ(fetch_get(f, "v1/state", NULL, 0, &out, &res), 0);
	CHECK_EQ(res.status, 200);
	buf_release(&out);
out:
	fetch_free(f);
	fetch_free(p);
}

/* One job on fetch f: its rc; the job for the details. */
static int
one_job(struct fetch *f, const char *path, const char *file,
    uint64_t max_size, struct fetch_job *j)
{
	int	 r;

	memset(j, 0, sizeof(*j));
	j->path = path;
	j->fd = open_rw(file);
	j->max_size = max_size;
	if (j->fd < 0)
		return -errno;
	r = fetch_files(f, j, 1, 1);
	close(j->fd);
	if (r != j->rc)
		return -9999;
	return r;
}

static void
test_files_whole_and_resume(void)
{
	struct fetch_job	 j;
	struct fetch		*f;
	struct obj		*o = &objs[0];
	char			 path[128];
	unsigned char		*junk;
	size_t			 half = o->len / 2;
	struct stat		 st;
	const char		*file = check_path("dl0");

	f = fetch_to(srv_url);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	object_path(0, path, sizeof(path));

	/* whole */
	CHECK_EQ(one_job(f, path, file, o->len, &j), 0);
	CHECK_EQ(j.res.status, 200);
	CHECK_EQ(j.res.bytes, o->len);
	CHECK(j.res.etag[0] == '"');
	CHECK(file_is(file, o->data, o->len));

	/* resume from the first half */
	CHECK_EQ(check_write_file(file, o->data, half), 0);
	CHECK_EQ(one_job(f, path, file, o->len, &j), 0);
	CHECK_EQ(j.res.status, 206);
	CHECK_EQ(j.res.bytes, o->len - half);
	CHECK(file_is(file, o->data, o->len));

	/* already whole: 416, nothing written */
	CHECK_EQ(stat(file, &st), 0);
	CHECK_EQ(one_job(f, path, file, o->len, &j), 0);
	CHECK_EQ(j.res.status, 416);
	CHECK_EQ(j.res.bytes, 0);
	CHECK(file_is(file, o->data, o->len));

	/* a wrong prefix "resumes" all the same: the caller's hash check */
	junk = malloc(o->len);
	CHECK(junk != NULL);
	if (junk != NULL) {
		memset(junk, 'j', half);
		memcpy(junk + half, o->data + half, o->len - half);
		CHECK_EQ(check_write_file(file, junk, half), 0);
		CHECK_EQ(one_job(f, path, file, o->len, &j), 0);
		CHECK_EQ(j.res.status, 206);
		CHECK(file_is(file, junk, o->len));
		free(junk);
	}

	/* an fd opened O_APPEND works as well */
	CHECK_EQ(check_write_file(file, o->data, 1000), 0);
	memset(&j, 0, sizeof(j));
	j.path = path;
	j.fd = open(file, O_RDWR | O_APPEND | O_CLOEXEC);
	j.max_size = o->len;
	CHECK_EQ(fetch_files(f, &j, 1, 1), 0);
	close(j.fd);
	CHECK(file_is(file, o->data, o->len));
	fetch_free(f);
}

static void
test_files_too_big(void)
{
	struct fetch_job	 j;
	struct fetch		*f, *p;
	struct obj		*o = &objs[0];
	char			 path[128];
	const char		*file = check_path("big");

	f = fetch_to(srv_url);
	p = fetch_to(py_url);
	CHECK(f != NULL && p != NULL);
	if (f == NULL || p == NULL)
		goto out;
	object_path(0, path, sizeof(path));

	/* a 200 over max_size: refused before truncating */
	CHECK_EQ(check_write_file(file, "", 0), 0);
	CHECK_EQ(one_job(f, path, file, o->len / 2, &j), -E2BIG);
	CHECK_EQ(file_size(file), 0);
	CHECK(j.res.error[0] != '\0');

	/* a 206 whose total is over max_size */
	CHECK_EQ(check_write_file(file, o->data, 10), 0);
	CHECK_EQ(one_job(f, path, file, o->len / 2, &j), -E2BIG);
	CHECK_EQ(j.res.status, 206);
	CHECK_EQ(file_size(file), 10);

	/* a file already over max_size: no request at all */
	CHECK_EQ(one_job(f, path, file, 5, &j), -E2BIG);
	CHECK_EQ(j.res.status, 0);
	CHECK_EQ(file_size(file), 10);

	/* no Content-Length: cut at max_size while it comes */
	CHECK_EQ(check_write_file(file, "", 0), 0);
	CHECK_EQ(one_job(p, "nolen", file, 100000, &j), -E2BIG);
	CHECK(file_size(file) <= 100000);
	CHECK_EQ(j.res.bytes, file_size(file));
out:
	fetch_free(f);
	fetch_free(p);
}

static void
test_files_parallel(void)
{
	struct fetch_job	 jobs[NOBJ + 2];
	struct fetch		*f;
	char			 paths[NOBJ + 2][128], name[32];
	size_t			 i, n = NOBJ + 2;
	int			 r;

	f = fetch_to(srv_url);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "par%zu", i);
		CHECK_EQ(check_write_file(check_path(name), "", 0), 0);
		if (i < NOBJ) {
			object_path(i, paths[i], sizeof(paths[i]));
			jobs[i].max_size = objs[i].len;
		} else {
			/* no such object: 404, the file untouched */
			snprintf(paths[i], sizeof(paths[i]), "v1/objects/%064d",
			    0);
			jobs[i].max_size = 1000;
			if (i == NOBJ + 1)
				CHECK_EQ(check_write_file(check_path(name),
				    "part", 4), 0);
		}
		jobs[i].path = paths[i];
		jobs[i].fd = open_rw(check_path(name));
		CHECK(jobs[i].fd >= 0);
	}
	/* a partial one among them */
	CHECK_EQ(pwrite(jobs[1].fd, objs[1].data, 500, 0), 500);

	r = fetch_files(f, jobs, n, 3);
	CHECK_EQ(r, -EPROTO);
	for (i = 0; i < n; i++) {
		close(jobs[i].fd);
		snprintf(name, sizeof(name), "par%zu", i);
		if (i < NOBJ) {
			CHECK_EQ(jobs[i].rc, 0);
			CHECK_EQ(jobs[i].res.status, i == 1 ? 206 : 200);
			CHECK(file_is(check_path(name), objs[i].data,
			    objs[i].len));
		} else {
			CHECK_EQ(jobs[i].rc, -EPROTO);
			CHECK_EQ(jobs[i].res.status, 404);
			CHECK_EQ(file_size(check_path(name)),
			    i == NOBJ ? 0 : 4);
			CHECK(strstr(jobs[i].res.error, "404") != NULL);
		}
	}

	/* all good, more jobs than slots, parallel over the cap */
	for (i = 0; i < NOBJ; i++) {
		snprintf(name, sizeof(name), "par%zu", i);
		CHECK_EQ(check_write_file(check_path(name), "", 0), 0);
		jobs[i].fd = open_rw(check_path(name));
	}
	CHECK_EQ(fetch_files(f, jobs, NOBJ, 1000), 0);
	for (i = 0; i < NOBJ; i++) {
		close(jobs[i].fd);
		snprintf(name, sizeof(name), "par%zu", i);
		CHECK(file_is(check_path(name), objs[i].data, objs[i].len));
	}
	CHECK_EQ(fetch_files(f, jobs, 0, 4), 0);
	fetch_free(f);
}

static void
test_ipv6(void)
{
	struct fetch_result	 res;
	struct fetch_job	 j;
	struct fetch		*f;
	struct buf		 out;
	char			 url[128], path[128];
	pid_t			 pid;

	if (!ipv6_loopback_works()) {
		fprintf(stderr, "test_ipv6: no ::1 here, skipped\n");
		return;
	}
	pid = start_serve("[::1]:0", check_path("serve6.log"), url,
	    sizeof(url));
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	CHECK(strncmp(url, "http://[::1]:", 13) == 0);
	f = fetch_to(url);
	CHECK(f != NULL);
	if (f != NULL) {
		buf_init(&out, 65536);
		CHECK_EQ(fetch_get(f, "v1/state", NULL, 0, &out, &res), 0);
		CHECK_EQ(res.status, 200);
		buf_release(&out);
		object_path(2, path, sizeof(path));
		CHECK_EQ(check_write_file(check_path("v6"), objs[2].data, 7),
		    0);
		CHECK_EQ(one_job(f, path, check_path("v6"), objs[2].len, &j),
		    0);
		CHECK_EQ(j.res.status, 206);
		CHECK(file_is(check_path("v6"), objs[2].data, objs[2].len));
		fetch_free(f);
	}
	stop(&pid);
}

static void
test_refused(void)
{
	struct fetch_result	 res;
	struct fetch_job	 j;
	struct fetch		*f;
	struct buf		 out;
	char			 url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", free_port());
	f = fetch_to(url);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	buf_init(&out, 100);
	CHECK_EQ(fetch_get(f, "v1/state", NULL, 0, &out, &res), -ECONNREFUSED);
	CHECK_EQ(res.status, 0);
	CHECK(res.error[0] != '\0');
	buf_release(&out);
	CHECK_EQ(one_job(f, "v1/objects/x", check_path("refused"), 10, &j),
	    -ECONNREFUSED);
	fetch_free(f);
}

static void
test_stall(void)
{
	struct fetch_config	 c;
	struct fetch_result	 res;
	struct fetch_job	 j;
	struct fetch		*f = NULL;
	struct buf		 out;
	char			 url[64];
	long long		 t0, dt;
	int			 s, port = 0;

	s = listen_mute(&port);
	CHECK(s >= 0);
	if (s < 0)
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	memset(&c, 0, sizeof(c));
	c.base_url = url;
	c.stall_timeout = 1;
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f == NULL)
		goto out;
	buf_init(&out, 100);
	t0 = now_ms();
	CHECK_EQ(fetch_get(f, "v1/state", NULL, 0, &out, &res), -ETIMEDOUT);
	dt = now_ms() - t0;
	CHECK(dt >= 900 && dt < 5000);
	CHECK(res.error[0] != '\0');

	t0 = now_ms();
	CHECK_EQ(one_job(f, "v1/objects/x", check_path("stall"), 10, &j),
	    -ETIMEDOUT);
	dt = now_ms() - t0;
	CHECK(dt >= 900 && dt < 5000);

	/* a long-poll: the total timeout, not the stall one */
	t0 = now_ms();
	CHECK_EQ(fetch_get(f, "v1/state", NULL, 2, &out, &res), -ETIMEDOUT);
	dt = now_ms() - t0;
	CHECK(dt >= 1900 && dt < 6000);
	buf_release(&out);
	fetch_free(f);
out:
	close(s);
}

static volatile int	 cancel_flag;

static void *
cancel_later(void *arg)
{
	(void)arg;
	pause_ms(300);		/* the other thread is in its long-poll */
	cancel_flag = 1;
	return NULL;
}

/* Another thread stops a long-poll and a download through *cancel. */
static void
test_cancel(void)
{
	struct fetch_config	 c;
	struct fetch_result	 res;
	struct fetch_job	 jobs[3];
	struct fetch		*f = NULL;
	struct buf		 out;
	pthread_t		 t;
	char			 url[64];
	long long		 t0, dt;
	size_t			 i;
	int			 s, port = 0;

	s = listen_mute(&port);
	CHECK(s >= 0);
	if (s < 0)
		return;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", port);
	memset(&c, 0, sizeof(c));
	c.base_url = url;
	c.cancel = &cancel_flag;
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f == NULL)
		goto out;
	buf_init(&out, 100);

	cancel_flag = 0;
	CHECK_EQ(pthread_create(&t, NULL, cancel_later, NULL), 0);
	t0 = now_ms();
	CHECK_EQ(fetch_get(f, "v1/events", NULL, 60, &out, &res), -ECANCELED);
	dt = now_ms() - t0;
	pthread_join(t, NULL);
	CHECK(dt >= 250 && dt < 3000);
	CHECK(strstr(res.error, "cancel") != NULL);

	/* already set: nothing runs, every job says so */
	memset(jobs, 0, sizeof(jobs));
	for (i = 0; i < 3; i++) {
		jobs[i].path = "v1/objects/x";
		jobs[i].fd = open_rw(check_path("cancelled"));
		jobs[i].max_size = 10;
	}
	CHECK_EQ(fetch_files(f, jobs, 3, 1), -ECANCELED);
	for (i = 0; i < 3; i++) {
		CHECK_EQ(jobs[i].rc, -ECANCELED);
		close(jobs[i].fd);
	}

	/* cleared: the same struct fetch works again */
	cancel_flag = 0;
	fetch_free(f);
	f = NULL;
	c.base_url = srv_url;
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f != NULL) {
		CHECK_EQ(fetch_get(f, "v1/nothing", NULL, 0, &out, &res), 0);
		CHECK_EQ(res.status, 404);
	}
	buf_release(&out);
	fetch_free(f);
out:
	close(s);
}

/* Against the Python server: what goes out on the wire. */

static void
test_credentials_sent(void)
{
	struct fetch_config	 c;
	struct fetch_result	 res;
	struct fetch		*f = NULL;
	struct buf		 out;
	char			 b64[64], want[128];
	char			*log;
	const char		*userpass = "alice:s3cret:x";

	memset(&c, 0, sizeof(c));
	c.base_url = py_url;
	c.username = "alice";
	c.password = "s3cret:x";
	c.license_key = "LIC-0123456789";
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f == NULL)
		return;
	buf_init(&out, 1000);
	CHECK_EQ(fetch_get(f, "creds", NULL, 0, &out, &res), 0);
	CHECK_EQ(res.status, 200);
	CHECK(strcmp(out.ptr, "hello\n") == 0);
	CHECK(strcmp(res.etag, "\"abc\"") == 0);
	buf_release(&out);
	fetch_free(f);

	crypto_base64_encode(userpass, strlen(userpass), b64);
	snprintf(want, sizeof(want), "\nH Authorization: Basic %s\n", b64);
	log = request_log("/creds");
	CHECK(log != NULL);
	if (log == NULL)
		return;
	CHECK(strstr(log, want) != NULL);
	CHECK(strstr(log, "\nH X-Cascade-License: LIC-0123456789\n") != NULL);
	CHECK(strstr(log, "\nH User-Agent: cascade/1\n") != NULL);
	CHECK(strstr(log, "Proxy-Authorization") == NULL);
	free(log);

	/* none configured: none sent */
	f = fetch_to(py_url);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	buf_init(&out, 1000);
	CHECK_EQ(fetch_get(f, "nocreds", NULL, 0, &out, &res), 0);
	buf_release(&out);
	fetch_free(f);
	log = request_log("/nocreds");
	CHECK(log != NULL);
	if (log == NULL)
		return;
	CHECK(strstr(log, "Authorization") == NULL);
	CHECK(strstr(log, "X-Cascade-License") == NULL);
	free(log);
}

/* The log's "B" line of a request: its body in hex. */
static int
request_body_is(const char *log, const void *p, size_t len)
{
	const char	*b;
	char		*hex;
	int		 same;

	b = strstr(log, "\nB ");
	if (b == NULL)
		return len == 0 && strstr(log, "\nM ") != NULL;
	hex = malloc(len * 2 + 1);
	if (hex == NULL)
		return 0;
	crypto_hex(p, len, hex);
	same = strncmp(b + 3, hex, len * 2) == 0 && b[3 + len * 2] == '\n';
	free(hex);
	return same;
}

/* Methods, bodies, and an agent's credentials on every request. */
static void
test_request(void)
{
	struct fetch_config	 c;
	struct fetch_result	 res;
	struct fetch_job	 j;
	struct fetch		*f = NULL;
	struct buf		 out;
	const char		*doc = "{\"hostname\": \"h\"}";
	char			*big, *log;
	size_t			 bigsize = 100000;

	memset(&c, 0, sizeof(c));
	c.base_url = py_url;
	c.username = "alice";		/* the bearer replaces Basic */
	c.password = "pw";
	c.license_key = "LIC-A";
	c.agent_id = "0123456789abcdef0123456789abcdef";
	c.bearer = "feedface";
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f == NULL)
		return;
	buf_init(&out, 1000);

	CHECK_EQ(fetch_request(f, "POST", "enrol", "application/json", doc,
	    strlen(doc), &out, &res), 0);
	CHECK_EQ(res.status, 201);
	CHECK(out.ptr != NULL && strcmp(out.ptr, "{\"got\": 17}") == 0);
	log = request_log("/enrol");
	CHECK(log != NULL);
	if (log != NULL) {
		CHECK(strstr(log, "\nM POST\n") != NULL);
		CHECK(request_body_is(log, doc, strlen(doc)));
		CHECK(strstr(log, "\nH Content-Type: application/json\n") !=
		    NULL);
		CHECK(strstr(log, "\nH Content-Length: 17\n") != NULL);
		CHECK(strstr(log, "\nH X-Cascade-Agent: "
		    "0123456789abcdef0123456789abcdef\n") != NULL);
		CHECK(strstr(log, "\nH Authorization: Bearer feedface\n") !=
		    NULL);
		CHECK(strstr(log, "Basic") == NULL);
		CHECK(strstr(log, "\nH X-Cascade-License: LIC-A\n") != NULL);
		CHECK(strstr(log, "Expect") == NULL);
		free(log);
	}

	/* PUT, the answer dropped */
	CHECK_EQ(fetch_request(f, "PUT", "nocontent", "application/json", doc,
	    strlen(doc), NULL, &res), 0);
	CHECK_EQ(res.status, 204);
	log = request_log("/nocontent");
	CHECK(log != NULL && strstr(log, "\nM PUT\n") != NULL &&
	    request_body_is(log, doc, strlen(doc)));
	free(log);

	/* a large body goes whole, without Expect: 100-continue */
	big = malloc(bigsize);
	CHECK(big != NULL);
	if (big != NULL) {
		fill((unsigned char *)big, bigsize, 77);
		buf_reset(&out);
		CHECK_EQ(fetch_request(f, "PUT", "big", NULL, big, bigsize,
		    &out, &res), 0);
		CHECK_EQ(res.status, 201);
		CHECK(out.ptr != NULL &&
		    strcmp(out.ptr, "{\"got\": 100000}") == 0);
		log = request_log("/big");
		CHECK(log != NULL && request_body_is(log, big, bigsize) &&
		    strstr(log, "Expect") == NULL && strstr(log,
		    "\nH Content-Type: application/octet-stream\n") != NULL);
		free(log);
		free(big);
	}

	/* POST with no body: an empty one */
	buf_reset(&out);
	CHECK_EQ(fetch_request(f, "POST", "empty", NULL, NULL, 0, &out, &res),
	    0);
	CHECK_EQ(res.status, 201);
	log = request_log("/empty");
	CHECK(log != NULL && strstr(log, "\nM POST\n") != NULL &&
	    strstr(log, "\nH Content-Length: 0\n") != NULL);
	free(log);

	/* GET and DELETE through fetch_request; HEAD reads no body */
	buf_reset(&out);
	CHECK_EQ(fetch_request(f, "GET", "viaget", NULL, NULL, 0, &out, &res),
	    0);
	CHECK_EQ(res.status, 200);
	CHECK(out.ptr != NULL && strcmp(out.ptr, "hello\n") == 0);
	log = request_log("/viaget");
	CHECK(log != NULL && strstr(log, "\nM GET\n") != NULL &&
	    strstr(log, "Content-Length") == NULL);
	free(log);
	CHECK_EQ(fetch_request(f, "DELETE", "gone", NULL, NULL, 0, NULL,
	    &res), 0);
	CHECK_EQ(res.status, 201);
	log = request_log("/gone");
	CHECK(log != NULL && strstr(log, "\nM DELETE\n") != NULL);
	free(log);
	buf_reset(&out);
	CHECK_EQ(fetch_request(f, "HEAD", "head", NULL, NULL, 0, &out, &res),
	    0);
	CHECK_EQ(res.status, 200);
	CHECK_EQ(out.len, 0);

	/* an answer over the cap, kept or dropped */
	buf_reset(&out);
	CHECK_EQ(fetch_request(f, "POST", "bigreply", NULL, "x", 1, &out,
	    &res), -E2BIG);
	CHECK_EQ(out.len, 0);
	CHECK_EQ(fetch_request(f, "POST", "bigreply", NULL, "x", 1, NULL,
	    &res), -E2BIG);
	CHECK_EQ(res.status, 200);

	/* bad methods and content types never reach the wire */
	CHECK_EQ(fetch_request(f, "get", "x", NULL, NULL, 0, NULL, &res),
	    -EINVAL);
	CHECK_EQ(fetch_request(f, "PO ST", "x", NULL, NULL, 0, NULL, &res),
	    -EINVAL);
	CHECK_EQ(fetch_request(f, "", "x", NULL, NULL, 0, NULL, &res),
	    -EINVAL);
	CHECK_EQ(fetch_request(f, "POST", "x", "a\r\nX: y", "b", 1, NULL,
	    &res), -EINVAL);

	/* the credentials go with downloads and plain gets too */
	CHECK_EQ(check_write_file(check_path("agentfile"), "", 0), 0);
	CHECK_EQ(one_job(f, "agentfile", check_path("agentfile"), 100, &j), 0);
	log = request_log("/agentfile");
	CHECK(log != NULL && strstr(log, "\nH X-Cascade-Agent: ") != NULL &&
	    strstr(log, "\nH Authorization: Bearer feedface\n") != NULL &&
	    strstr(log, "\nM GET\n") != NULL);
	free(log);
	buf_reset(&out);
	CHECK_EQ(fetch_get(f, "agentget", NULL, 0, &out, &res), 0);
	log = request_log("/agentget");
	CHECK(log != NULL && strstr(log, "\nH X-Cascade-Agent: ") != NULL &&
	    strstr(log, "\nH Authorization: Bearer feedface\n") != NULL);
	free(log);
	buf_release(&out);
	fetch_free(f);

	/* the bearer alone (the server's pushes) */
	memset(&c, 0, sizeof(c));
	c.base_url = py_url;
	c.bearer = "0badc0de";
	f = NULL;
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f == NULL)
		return;
	CHECK_EQ(fetch_request(f, "POST", "push", "application/json",
	    "{\"serial\": 3}", 13, NULL, &res), 0);
	CHECK_EQ(res.status, 201);
	fetch_free(f);
	log = request_log("/push");
	CHECK(log != NULL && strstr(log, "\nH Authorization: Bearer 0badc0de\n")
	    != NULL && strstr(log, "X-Cascade-Agent") == NULL);
	free(log);
}

static void
test_connection_reused(void)
{
	struct fetch_result	 res;
	struct fetch_job	 j;
	struct fetch		*f;
	struct buf		 out;
	long			 p1, p2, p3;

	f = fetch_to(py_url);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	buf_init(&out, 1000);
	CHECK_EQ(fetch_get(f, "reuse1", NULL, 0, &out, &res), 0);
	CHECK_EQ(fetch_get(f, "reuse2", NULL, 0, &out, &res), 0);
	CHECK_EQ(check_write_file(check_path("reuse"), "", 0), 0);
	CHECK_EQ(one_job(f, "reuse3", check_path("reuse"), 100, &j), 0);
	buf_release(&out);
	fetch_free(f);
	p1 = request_port("/reuse1");
	p2 = request_port("/reuse2");
	p3 = request_port("/reuse3");
	CHECK(p1 > 0);
	CHECK_EQ(p1, p2);
	CHECK_EQ(p1, p3);
}

static void
test_retry_after(void)
{
	struct fetch_result	 res;
	struct fetch_job	 j;
	struct fetch		*f;
	struct buf		 out;

	f = fetch_to(py_url);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	buf_init(&out, 1000);
	CHECK_EQ(fetch_get(f, "retry", NULL, 0, &out, &res), 0);
	CHECK_EQ(res.status, 429);
	CHECK_EQ(res.retry_after, 17);
	CHECK(out.ptr != NULL && strstr(out.ptr, "slow_down") != NULL);
	buf_release(&out);

	CHECK_EQ(check_write_file(check_path("retry"), "", 0), 0);
	CHECK_EQ(one_job(f, "retry-date", check_path("retry"), 100, &j),
	    -EPROTO);
	CHECK_EQ(j.res.status, 503);
	CHECK(j.res.retry_after >= 90 && j.res.retry_after <= 101);
	CHECK_EQ(file_size(check_path("retry")), 0);
	fetch_free(f);
}

/* Servers that do Range their own way. */
static void
test_files_odd_ranges(void)
{
	struct fetch_job	 j;
	struct fetch		*f;
	const char		*file = check_path("odd");
	char			*log;

	f = fetch_to(py_url);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	/* Range ignored: a 200 starts the file over */
	CHECK_EQ(check_write_file(file, "stale", 5), 0);
	CHECK_EQ(one_job(f, "ignored", file, 100, &j), 0);
	CHECK_EQ(j.res.status, 200);
	CHECK(file_is(file, "hello\n", 6));
	log = request_log("/ignored");
	CHECK(log != NULL && strstr(log, "\nH Range: bytes=5-\n") != NULL);
	free(log);

	/* a 206 from elsewhere than asked: refused, the file untouched */
	CHECK_EQ(check_write_file(file, "hel", 3), 0);
	CHECK_EQ(one_job(f, "badrange", file, 100, &j), -EPROTO);
	CHECK_EQ(j.res.status, 206);
	CHECK(file_is(file, "hel", 3));

	/* a 206 short of the end: kept, but not whole */
	CHECK_EQ(check_write_file(file, "01", 2), 0);
	CHECK_EQ(one_job(f, "shortrange", file, 10, &j), -EPROTO);
	CHECK_EQ(j.res.status, 206);
	CHECK(file_is(file, "0123", 4));
	CHECK_EQ(one_job(f, "shortrange", file, 10, &j), -EPROTO);
	CHECK(file_is(file, "012345", 6));
	fetch_free(f);
}

/* Through tinyproxy. */

static struct fetch *
fetch_proxied(const char *base, const char *user, const char *pass)
{
	struct fetch_config	 c;
	struct fetch		*f = NULL;

	memset(&c, 0, sizeof(c));
	c.base_url = base;
	c.proxy = proxy_url;
	c.proxy_username = user;
	c.proxy_password = pass;
	c.stall_timeout = 10;
	if (fetch_new(&c, &f) < 0)
		return NULL;
	return f;
}

static void
test_proxy(void)
{
	struct fetch_result	 res;
	struct fetch_job	 j;
	struct fetch		*f;
	struct buf		 out;
	char			 path[128], want[256];
	char			*log;

	CHECK(proxy_url[0] != '\0');
	if (proxy_url[0] == '\0')
		return;
	f = fetch_proxied(srv_url, PROXY_USER, PROXY_PASS);
	CHECK(f != NULL);
	if (f == NULL)
		return;
	buf_init(&out, 65536);
	CHECK_EQ(fetch_get(f, "v1/state", NULL, 0, &out, &res), 0);
	CHECK_EQ(res.status, 200);
	CHECK(out.ptr != NULL && strstr(out.ptr, "\"serial\"") != NULL);
	object_path(3, path, sizeof(path));
	CHECK_EQ(check_write_file(check_path("proxied"), objs[3].data, 99),
	    0);
	CHECK_EQ(one_job(f, path, check_path("proxied"), objs[3].len, &j), 0);
	CHECK_EQ(j.res.status, 206);
	CHECK(file_is(check_path("proxied"), objs[3].data, objs[3].len));
	fetch_free(f);

	/* it did go through the proxy */
	log = read_all(check_path("tinyproxy.log"), NULL);
	snprintf(want, sizeof(want), "GET %sv1/state HTTP/1.1", srv_url);
	CHECK(log != NULL && strstr(log, want) != NULL);
	free(log);

	/* a wrong password: tinyproxy says 401, no password 407 */
	f = fetch_proxied(srv_url, PROXY_USER, "wrong");
	CHECK(f != NULL);
	if (f != NULL) {
		buf_reset(&out);
		CHECK_EQ(fetch_get(f, "v1/state", NULL, 0, &out, &res), 0);
		CHECK(res.status == 401 || res.status == 407);
		CHECK_EQ(one_job(f, path, check_path("proxied"), objs[3].len,
		    &j), -EPROTO);
		CHECK(j.res.status == 401 || j.res.status == 407);
		fetch_free(f);
	}
	f = fetch_proxied(srv_url, NULL, NULL);
	CHECK(f != NULL);
	if (f != NULL) {
		CHECK_EQ(fetch_get(f, "v1/state", NULL, 0, &out, &res), 0);
		CHECK_EQ(res.status, 407);
		fetch_free(f);
	}
	buf_release(&out);
}

static void
test_proxy_credentials(void)
{
	struct fetch_config	 c;
	struct fetch_result	 res;
	struct fetch		*f = NULL;
	struct buf		 out;
	char			*log;

	CHECK(proxy_url[0] != '\0');
	if (proxy_url[0] == '\0')
		return;
	memset(&c, 0, sizeof(c));
	c.base_url = py_url;
	c.username = "bob";
	c.password = "pw";
	c.license_key = "LIC-P";
	c.proxy = proxy_url;
	c.proxy_username = PROXY_USER;
	c.proxy_password = PROXY_PASS;
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f == NULL)
		return;
	buf_init(&out, 1000);
	CHECK_EQ(fetch_get(f, "viaproxy", NULL, 0, &out, &res), 0);
	CHECK_EQ(res.status, 200);
	buf_release(&out);
	fetch_free(f);
	log = request_log("/viaproxy");
	CHECK(log != NULL);
	if (log == NULL)
		return;
	/* "bob:pw" */
	CHECK(strstr(log, "\nH Authorization: Basic Ym9iOnB3\n") != NULL);
	CHECK(strstr(log, "\nH X-Cascade-License: LIC-P\n") != NULL);
	CHECK(strstr(log, "Proxy-Authorization") == NULL);
	free(log);
}

/* Over TLS, with a self-signed certificate for 127.0.0.1. */
static void
test_https(void)
{
	struct fetch_config	 c;
	struct fetch_result	 res;
	struct fetch		*f = NULL;
	struct buf		 out;
	char			 url[128];
	char			 cert[CHECK_PATH_MAX], key[CHECK_PATH_MAX];
	char			*log;
	char			*req[] = { "openssl", "req", "-x509", "-newkey",
			    "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
			    "-nodes", "-days", "2", "-subj", "/CN=127.0.0.1",
			    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
			    NULL, "-out", NULL, NULL };
	pid_t			 pid;

	/* own copies: check_path's buffers are reused */
	snprintf(key, sizeof(key), "%s", check_path("key.pem"));
	snprintf(cert, sizeof(cert), "%s", check_path("cert.pem"));
	req[15] = key;
	req[17] = cert;
	CHECK_EQ(run_cmd(req, check_path("openssl.log")), 0);
	pid = start_python(cert, key, url, sizeof(url));
	CHECK(pid > 0);
	if (pid <= 0)
		return;

	/* the configured CA: it works, credentials and all */
	memset(&c, 0, sizeof(c));
	c.base_url = url;
	c.username = "carol";
	c.password = "tls";
	c.license_key = "LIC-TLS";
	c.ca_file = cert;
	CHECK_EQ(fetch_new(&c, &f), 0);
	buf_init(&out, 1000);
	if (f != NULL) {
		CHECK_EQ(fetch_get(f, "tls", NULL, 0, &out, &res), 0);
		CHECK_EQ(res.status, 200);
		CHECK(out.ptr != NULL && strcmp(out.ptr, "hello\n") == 0);
		fetch_free(f);
		f = NULL;
	}
	log = request_log("/tls");
	CHECK(log != NULL &&
	    strstr(log, "\nH Authorization: Basic Y2Fyb2w6dGxz\n") != NULL &&
	    strstr(log, "\nH X-Cascade-License: LIC-TLS\n") != NULL);
	free(log);

	/* through the proxy: a CONNECT tunnel */
	c.proxy = proxy_url;
	c.proxy_username = PROXY_USER;
	c.proxy_password = PROXY_PASS;
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f != NULL) {
		buf_reset(&out);
		CHECK_EQ(fetch_get(f, "tls-tunnel", NULL, 0, &out, &res), 0);
		CHECK_EQ(res.status, 200);
		CHECK(out.ptr != NULL && strcmp(out.ptr, "hello\n") == 0);
		fetch_free(f);
		f = NULL;
	}
	log = read_all(check_path("tinyproxy.log"), NULL);
	CHECK(log != NULL && strstr(log, "CONNECT 127.0.0.1:") != NULL);
	free(log);

	/* a tunnel the proxy refuses: no response from the server at all */
	c.proxy_password = "wrong";
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f != NULL) {
		buf_reset(&out);
		CHECK_EQ(fetch_get(f, "tls-refused", NULL, 0, &out, &res),
		    -EPROTO);
		CHECK(res.status == 401 || res.status == 407);
		CHECK(res.error[0] != '\0');
		fetch_free(f);
		f = NULL;
	}

	/* the system's CAs do not know this one */
	c.ca_file = NULL;
	c.proxy = NULL;
	CHECK_EQ(fetch_new(&c, &f), 0);
	if (f != NULL) {
		buf_reset(&out);
		CHECK_EQ(fetch_get(f, "tls-untrusted", NULL, 0, &out, &res),
		    -EPROTO);
		CHECK_EQ(res.status, 0);
		CHECK(res.error[0] != '\0');
		fetch_free(f);
	}
	CHECK(request_log("/tls-untrusted") == NULL);
	buf_release(&out);
	stop(&pid);
}

int
main(void)
{
	size_t	 i;
	int	 r;

	signal(SIGPIPE, SIG_IGN);
	cascade_bin = getenv("CASCADE");
	if (cascade_bin == NULL || *cascade_bin == '\0')
		cascade_bin = "build/asan/cascade";
	if (check_tmpdir_init("test_fetch") < 0)
		return 1;

	RUN(test_parse_status);
	RUN(test_parse_content_range);
	RUN(test_parse_retry_after);
	RUN(test_url_join);
	RUN(test_new_bad);

	if (setup_repo() < 0)
		fprintf(stderr, "cannot set up a repository with '%s'\n",
		    cascade_bin);
	else
		srv_pid = start_serve("127.0.0.1:0", check_path("serve.log"),
		    srv_url, sizeof(srv_url));
	py_pid = start_python(NULL, NULL, py_url, sizeof(py_url));
	proxy_pid = start_proxy();
	if (srv_pid <= 0 || py_pid <= 0 || proxy_pid <= 0) {
		fprintf(stderr, "servers: cascade %d, python %d, tinyproxy "
		    "%d\n", (int)srv_pid, (int)py_pid, (int)proxy_pid);
		printf("not ok test_fetch: servers did not start\n");
		check_failed++;
	} else {
		RUN(test_get_state);
		RUN(test_get_not_found);
		RUN(test_get_too_big);
		RUN(test_files_whole_and_resume);
		RUN(test_files_too_big);
		RUN(test_files_parallel);
		RUN(test_ipv6);
		RUN(test_refused);
		RUN(test_stall);
		RUN(test_cancel);
		RUN(test_credentials_sent);
		RUN(test_request);
		RUN(test_connection_reused);
		RUN(test_retry_after);
		RUN(test_files_odd_ranges);
		RUN(test_proxy);
		RUN(test_proxy_credentials);
		RUN(test_https);
	}

	stop(&proxy_pid);
	stop(&py_pid);
	stop(&srv_pid);
	for (i = 0; i < NOBJ; i++)
		free(objs[i].data);
	r = check_end();
	check_rm_rf(check_tmpdir);
	return r;
}
