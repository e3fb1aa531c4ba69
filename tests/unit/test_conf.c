/*
 * Unit tests of conf: the defaults, the sample that `cascade init` writes,
 * every key, [component NAME] overrides, errors that name their line,
 * caps, and valid names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "fs.h"
#include "check.h"
#include "banned.h"

/* ---- helpers ------------------------------------------------------------ */

/* conf_defaults, then text (a C string). */
static int
parse(struct conf *c, const char *text, char err[CONF_ERROR_MAX])
{
	conf_defaults(c);
	return conf_parse(c, text, strlen(text), err);
}

/* A conf is big (about 100 KB): one static instance per test slot. */
static struct conf *
conf_slot(int i)
{
	static struct conf	 slots[2];

	return &slots[i];
}

/* text must fail with -EBADMSG and an error naming the line. */
static void
bad_at(const char *text, int line, const char *also, int *ok)
{
	char		 err[CONF_ERROR_MAX], want[32];
	int		 r;

	memset(err, 'X', sizeof(err));
	r = parse(conf_slot(0), text, err);
	snprintf(want, sizeof(want), "line %d: ", line);
	if (r != -EBADMSG || memchr(err, '\0', sizeof(err)) == NULL ||
	    strncmp(err, want, strlen(want)) != 0 ||
	    (also != NULL && strstr(err, also) == NULL)) {
		fprintf(stderr, "text [%s]: got %d, err [%.*s], want "
		    "[%s...%s]\n", text, r, (int)sizeof(err), err, want,
		    also != NULL ? also : "");
		*ok = 0;
	}
}

static int
same_conf(const struct conf *a, const struct conf *b)
{
	return memcmp(a, b, sizeof(*a)) == 0;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_defaults(void)
{
	struct conf	*c = conf_slot(0);

	memset(c, 0x5a, sizeof(*c));
	conf_defaults(c);
	CHECK(strcmp(c->channel, "main") == 0);
	CHECK_EQ(c->delta_window, 30);
	CHECK_EQ(c->retention, 30);
	CHECK_EQ(c->manifest_expires, 7 * 86400);
	CHECK(strcmp(c->default_kind, "pattern") == 0);
	CHECK(strcmp(c->default_edition, "standard") == 0);
	CHECK_EQ(c->nlisten, 0);
	CHECK_EQ(c->threads, 0);
	CHECK_EQ(c->connection_memory, 3072);
	CHECK_EQ(c->connection_limit, 10000);
	CHECK_EQ(c->connection_timeout, 120);
	CHECK_EQ(c->gc_interval, 86400);
	CHECK_EQ(c->ncomponents, 0);
	CHECK_EQ(conf_retention(c, "anything"), 30);
	CHECK_EQ(conf_delta_window(c, "anything"), 30);
}

static void
test_empty(void)
{
	struct conf	*c = conf_slot(0), *d = conf_slot(1);
	char		 err[CONF_ERROR_MAX];

	conf_defaults(d);
	CHECK_EQ(parse(c, "", err), 0);
	CHECK(same_conf(c, d));
	CHECK_EQ(err[0], '\0');
	CHECK_EQ(parse(c, "\n\n; only comments\n# and these\n\n", err), 0);
	CHECK(same_conf(c, d));
	CHECK_EQ(parse(c, "[repository]\n[server]\n", err), 0);
	CHECK(same_conf(c, d));
}

/* The sample parses, and its values are the defaults as it says. */
static void
test_sample(void)
{
	struct conf	*c = conf_slot(0), *d = conf_slot(1);
	char		 err[CONF_ERROR_MAX];
	int		 r;

	r = parse(c, conf_sample, err);
	if (r != 0)
		fprintf(stderr, "conf_sample: %s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(c->nlisten, 1);
	CHECK(strcmp(c->listen[0], "[::]:8080") == 0);
	/* apart from the listen line, the defaults exactly */
	conf_defaults(d);
	d->nlisten = 1;
	memcpy(d->listen[0], "[::]:8080", sizeof("[::]:8080"));
	CHECK(same_conf(c, d));
}

/* The commented-out component example of the sample works uncommented. */
static void
test_sample_component_example(void)
{
	struct conf	*c = conf_slot(0);
	char		 err[CONF_ERROR_MAX];
	const char	*p;
	char		*text;
	size_t		 i, j, n = strlen(conf_sample);

	p = strstr(conf_sample, "; [component");
	CHECK(p != NULL);
	if (p == NULL)
		return;
	text = malloc(n + 1);
	CHECK(text != NULL);
	if (text == NULL)
		return;
	/* drop "; " in front of the lines from there on */
	for (i = 0, j = 0; i < n; i++) {
		if (conf_sample + i >= p && (i == 0 || conf_sample[i - 1] ==
		    '\n') && conf_sample[i] == ';' && conf_sample[i + 1] == ' ') {
			i++;
			continue;
		}
		text[j++] = conf_sample[i];
	}
	text[j] = '\0';
	CHECK_EQ(parse(c, text, err), 0);
	CHECK_EQ(c->ncomponents, 1);
	CHECK_EQ(conf_retention(c, "virus-pattern"), 10);
	CHECK_EQ(conf_delta_window(c, "virus-pattern"), 10);
	CHECK_EQ(conf_retention(c, "other"), 30);
	free(text);
}

static void
test_overrides(void)
{
	static const char	 text[] =
	    "# a full file\n"
	    "[repository]\n"
	    "channel = beta-2\n"
	    "delta_window = 0\n"
	    "retention = 5\n"
	    "manifest_expires = 36h\n"
	    "default_kind = engine\n"
	    "default_edition = pro.x_1\n"
	    "\n"
	    "[server]\n"
	    "listen = 127.0.0.1:8081\n"
	    "threads = 4\n"
	    "connection_memory = 65536\n"
	    "connection_limit = 50\n"
	    "connection_timeout = 30\n"
	    "gc_interval = 2w\n"
	    "\n"
	    "[component virus-pattern]\n"
	    "retention = 10\n"
	    "\n"
	    "[component clamav/daily]\n"
	    "delta_window = 7\n"
	    "retention = 3\n"
	    "\n"
	    "[component zero]\n"
	    "delta_window = 0\n";
	struct conf		*c = conf_slot(0);
	char			 err[CONF_ERROR_MAX];
	int			 r;

	r = parse(c, text, err);
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(r, 0);
	CHECK(strcmp(c->channel, "beta-2") == 0);
	CHECK_EQ(c->delta_window, 0);
	CHECK_EQ(c->retention, 5);
	CHECK_EQ(c->manifest_expires, 36 * 3600);
	CHECK(strcmp(c->default_kind, "engine") == 0);
	CHECK(strcmp(c->default_edition, "pro.x_1") == 0);
	CHECK_EQ(c->nlisten, 1);
	CHECK(strcmp(c->listen[0], "127.0.0.1:8081") == 0);
	CHECK_EQ(c->threads, 4);
	CHECK_EQ(c->connection_memory, 65536);
	CHECK_EQ(c->connection_limit, 50);
	CHECK_EQ(c->connection_timeout, 30);
	CHECK_EQ(c->gc_interval, 14 * 86400);
	CHECK_EQ(c->ncomponents, 3);

	CHECK_EQ(conf_retention(c, "virus-pattern"), 10);
	CHECK_EQ(conf_delta_window(c, "virus-pattern"), 0);	/* repo's */
	CHECK_EQ(conf_retention(c, "clamav/daily"), 3);
	CHECK_EQ(conf_delta_window(c, "clamav/daily"), 7);
	CHECK_EQ(conf_retention(c, "zero"), 5);			/* repo's */
	CHECK_EQ(conf_delta_window(c, "zero"), 0);		/* its own 0 */
	CHECK_EQ(conf_retention(c, "other"), 5);
	CHECK_EQ(conf_delta_window(c, "other"), 0);
	CHECK_EQ(conf_retention(c, "clamav"), 5);		/* no prefix */
}

/* A component override falls back to the repository's value (-1 and 0
 * mean "not set"), which may itself be overridden later in the file. */
static void
test_component_fallback(void)
{
	struct conf	*c = conf_slot(0);
	char		 err[CONF_ERROR_MAX];

	CHECK_EQ(parse(c, "[component a]\nretention = 2\n"
	    "[repository]\ndelta_window = 9\nretention = 8\n"
	    "[component b]\ndelta_window = 1\n"
	    "[component a]\ndelta_window = 4\n", err), 0);
	CHECK_EQ(c->ncomponents, 2);		/* a twice is one entry */
	CHECK_EQ(conf_retention(c, "a"), 2);
	CHECK_EQ(conf_delta_window(c, "a"), 4);
	CHECK_EQ(conf_retention(c, "b"), 8);
	CHECK_EQ(conf_delta_window(c, "b"), 1);
}

static void
test_listen_repeated(void)
{
	struct conf	*c = conf_slot(0);
	char		 err[CONF_ERROR_MAX], text[1024];
	int		 i, ok = 1;

	CHECK_EQ(parse(c, "[server]\nlisten = [::]:80\n"
	    "listen = 127.0.0.1:8080\nlisten = [::1]:0\n", err), 0);
	CHECK_EQ(c->nlisten, 3);
	CHECK(strcmp(c->listen[0], "[::]:80") == 0);
	CHECK(strcmp(c->listen[1], "127.0.0.1:8080") == 0);
	CHECK(strcmp(c->listen[2], "[::1]:0") == 0);

	/* CONF_LISTEN_MAX of them fit; one more is an error on its line */
	snprintf(text, sizeof(text), "[server]\n");
	for (i = 0; i < CONF_LISTEN_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "listen = 127.0.0.1:%d\n", 8000 + i);
	CHECK_EQ(parse(c, text, err), 0);
	CHECK_EQ(c->nlisten, CONF_LISTEN_MAX);
	CHECK(strcmp(c->listen[CONF_LISTEN_MAX - 1], "127.0.0.1:8007") == 0);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "listen = 127.0.0.1:9999\n");
	bad_at(text, CONF_LISTEN_MAX + 2, NULL, &ok);
	CHECK(ok);
}

static void
test_syntax(void)
{
	struct conf	*c = conf_slot(0);
	char		 err[CONF_ERROR_MAX];

	/* comments, inline comments, spaces, CRLF, a BOM */
	CHECK_EQ(parse(c, "\xef\xbb\xbf[repository]\r\n"
	    "retention   =   12   ; twelve\r\n"
	    "# channel = nope\r\n"
	    "; channel = nope\r\n"
	    "delta_window=3\r\n", err), 0);
	CHECK_EQ(c->retention, 12);
	CHECK_EQ(c->delta_window, 3);
	CHECK(strcmp(c->channel, "main") == 0);
	/* no newline at the end */
	CHECK_EQ(parse(c, "[repository]\nretention = 7", err), 0);
	CHECK_EQ(c->retention, 7);
}

static void
test_unknown(void)
{
	int	 ok = 1;

	bad_at("[repository]\nchanel = main\n", 2, "chanel", &ok);
	bad_at("[repository]\nchannel = main\n\n; c\nlisten = [::]:1\n", 5,
	    "listen", &ok);
	bad_at("[server]\nretention = 3\n", 2, "retention", &ok);
	bad_at("[servers]\nthreads = 3\n", 2, NULL, &ok);
	bad_at("channel = main\n", 1, NULL, &ok);	/* outside a section */
	bad_at("[component a]\nchannel = x\n", 2, "channel", &ok);
	bad_at("[component]\nretention = 1\n", 2, NULL, &ok);
	bad_at("[Repository]\nretention = 1\n", 2, NULL, &ok);
	bad_at("[repository]\nRetention = 1\n", 2, NULL, &ok);
	CHECK(ok);
}

static void
test_syntax_errors(void)
{
	int	 ok = 1;

	bad_at("[repository\n", 1, "syntax", &ok);
	bad_at("[repository]\nretention = 1\n[server\n", 3, "syntax", &ok);
	bad_at("[repository]\nretention 1\n", 2, "syntax", &ok);
	bad_at("[repository]\n\n\njust words\n", 4, "syntax", &ok);
	bad_at("[repository]\n= 5\n", 2, NULL, &ok);
	CHECK(ok);
}

static void
test_bad_values(void)
{
	static const char	*bad[] = {
		"[repository]\ndelta_window = -1\n",
		"[repository]\ndelta_window = 1001\n",
		"[repository]\ndelta_window = 1x\n",
		"[repository]\ndelta_window =\n",
		"[repository]\nretention = 0\n",
		"[repository]\nretention = 100001\n",
		"[repository]\nretention = 99999999999999999999999\n",
		"[repository]\nretention = 3 4\n",
		"[repository]\nmanifest_expires = 10s\n",
		"[repository]\nmanifest_expires = 59\n",
		"[repository]\nmanifest_expires = 0\n",
		"[repository]\nmanifest_expires = 3661d\n",
		"[repository]\nmanifest_expires = 7days\n",
		"[repository]\nchannel = Main\n",
		"[repository]\nchannel = ../x\n",
		"[repository]\nchannel = a/b\n",
		"[repository]\nchannel =\n",
		"[repository]\ndefault_kind = -x\n",
		"[repository]\ndefault_edition = a b\n",
		"[server]\nthreads = 257\n",
		"[server]\nthreads = -1\n",
		"[server]\nconnection_memory = 1023\n",
		"[server]\nconnection_memory = 1048577\n",
		"[server]\nconnection_limit = 0\n",
		"[server]\nconnection_timeout = 0\n",
		"[server]\nconnection_timeout = 86401\n",
		"[server]\ngc_interval = 0s\n",
		"[server]\ngc_interval = forever\n",
		"[component a]\nretention = 0\n",
		"[component a]\ndelta_window = -1\n",
		"[component ../x]\nretention = 1\n",
		"[component A]\nretention = 1\n",
		"[component a//b]\nretention = 1\n",
		"[component a/]\nretention = 1\n",
	};
	size_t			 i;
	int			 ok = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bad_at(bad[i], 2, NULL, &ok);
	CHECK(ok);
	ok = 1;
	bad_at("[repository]\ndelta_window = -1\n", 2, "delta_window", &ok);
	bad_at("[repository]\nretention = 0\n", 2, "retention", &ok);
	bad_at("[repository]\nmanifest_expires = 10s\n", 2,
	    "manifest_expires", &ok);
	CHECK(ok);
}

static void
test_edge_values(void)
{
	struct conf	*c = conf_slot(0);
	char		 err[CONF_ERROR_MAX];

	CHECK_EQ(parse(c, "[repository]\nmanifest_expires = 60\n"
	    "delta_window = 1000\nretention = 100000\n"
	    "[server]\nthreads = 256\nconnection_memory = 1024\n"
	    "connection_limit = 1000000\nconnection_timeout = 86400\n"
	    "gc_interval = 1m\n", err), 0);
	CHECK_EQ(c->manifest_expires, 60);
	CHECK_EQ(c->delta_window, 1000);
	CHECK_EQ(c->retention, 100000);
	CHECK_EQ(c->threads, 256);
	CHECK_EQ(c->connection_memory, 1024);
	CHECK_EQ(c->connection_limit, 1000000);
	CHECK_EQ(c->connection_timeout, 86400);
	CHECK_EQ(c->gc_interval, 60);
	CHECK_EQ(parse(c, "[server]\nconnection_memory = 1048576\n", err), 0);
	CHECK_EQ(c->connection_memory, 1048576);
}

/* The first error names its own line, not another's. */
static void
test_error_line(void)
{
	int	 ok = 1;

	bad_at("[repository]\nretention = 5\n\nretention = 0\n", 4,
	    "retention", &ok);
	/* two errors: the first is reported */
	bad_at("[repository]\nretention = 0\nthreads = 1\n", 2, "retention",
	    &ok);
	bad_at("[repository]\nchanel = x\nretention 1\n", 2, "chanel", &ok);
	CHECK(ok);
}

/*
 * A syntax error followed by a bad value: the message has to be about
 * one line, with that line's number. inih keeps going after the syntax
 * error (INI_STOP_ON_FIRST_ERROR is 0) and returns the first error's
 * line, while conf_handler records the later bad value's message: the
 * result was "line 2: bad value '0' for 'retention' in [repository]"
 * about a retention that is on line 3.
 */
static void
test_error_line_after_syntax_error(void)
{
	char	 err[CONF_ERROR_MAX];
	int	 r;

	r = parse(conf_slot(0), "[repository]\nthis is not ini\n"
	    "retention = 0\n", err);
	CHECK_EQ(r, -EBADMSG);
	if ((strncmp(err, "line 2: ", 8) == 0 && strstr(err, "syntax")) ||
	    (strncmp(err, "line 3: ", 8) == 0 && strstr(err, "retention")))
		return;
	fprintf(stderr, "err: %s\n", err);
	CHECK(0);
}

/*
 * A long key in a long section name: the message ("unknown key '...' in
 * [...]") fills err, and conf_parse then drops the "line N: " prefix
 * rather than shorten the message (conf.c, the strlen(msg) + strlen(err)
 * < CONF_ERROR_MAX test). Found by fuzz_conf.
 */
static void
test_error_line_long_key(void)
{
	char	 text[512], key[191], comp[39];
	int	 ok = 1;

	memset(key, 'k', sizeof(key) - 1);
	key[sizeof(key) - 1] = '\0';
	memset(comp, 'a', sizeof(comp) - 1);
	comp[sizeof(comp) - 1] = '\0';
	snprintf(text, sizeof(text), "[component %s]\n%s = 1\n", comp, key);
	bad_at(text, 2, NULL, &ok);
	/* the same through the bad-value path: an invalid component name */
	comp[0] = 'A';
	snprintf(text, sizeof(text), "[component %s]\n%s = 1\n", comp, key);
	bad_at(text, 2, NULL, &ok);
	CHECK(ok);
}

static void
test_nul(void)
{
	static const char	 text[] = "[repository]\nretention = 5\0\n";
	struct conf		*c = conf_slot(0);
	char			 err[CONF_ERROR_MAX];

	conf_defaults(c);
	CHECK_EQ(conf_parse(c, text, sizeof(text) - 1, err), -EBADMSG);
	CHECK(err[0] != '\0');
	conf_defaults(c);
	CHECK_EQ(conf_parse(c, "\0", 1, err), -EBADMSG);
}

/* Only len bytes are read: no NUL needed at the end. */
static void
test_not_terminated(void)
{
	static const char	 text[] = "[repository]\nretention = 55\n";
	struct conf		*c = conf_slot(0);
	char			 err[CONF_ERROR_MAX], *p;
	size_t			 n = sizeof(text) - 1;

	p = malloc(n);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	memcpy(p, text, n);
	conf_defaults(c);
	CHECK_EQ(conf_parse(c, p, n, err), 0);
	CHECK_EQ(c->retention, 55);
	conf_defaults(c);
	CHECK_EQ(conf_parse(c, p, n - 2, err), 0);	/* "retention = 5" */
	CHECK_EQ(c->retention, 5);
	free(p);
}

static void
test_too_big(void)
{
	struct conf	*c = conf_slot(0);
	char		 err[CONF_ERROR_MAX], *p;
	size_t		 i, n = CONF_SIZE_MAX + 1;

	p = malloc(n);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	/* comment lines of 64 bytes */
	for (i = 0; i < n; i++)
		p[i] = i % 64 == 63 ? '\n' : i % 64 == 0 ? ';' : 'c';
	conf_defaults(c);
	CHECK_EQ(conf_parse(c, p, n, err), -E2BIG);
	CHECK(err[0] != '\0');
	conf_defaults(c);
	CHECK_EQ(conf_parse(c, p, n - 1, err), 0);	/* exactly the max */
	free(p);
}

/* Component names are names: up to CONF_NAME_MAX characters. */
static void
test_long_component_name(void)
{
	struct conf	*c = conf_slot(0);
	char		 name[CONF_NAME_MAX + 1], text[512], err[CONF_ERROR_MAX];
	int		 r;

	memset(name, 'n', 60);
	name[60] = '\0';
	snprintf(text, sizeof(text), "[component %s]\nretention = 5\n", name);
	r = parse(c, text, err);
	/* inih cuts section names at 49 bytes: refusing the name is honest,
	 * applying the override to a shorter name would not be */
	CHECK_EQ(r, -EBADMSG);
	CHECK(strstr(err, "line 1: section name too long") != NULL);
	CHECK_EQ(c->ncomponents, 0);
}

static void
test_indented_line(void)
{
	struct conf	 c[1];
	char		 err[CONF_ERROR_MAX];

	conf_defaults(c);
	/* inih would append it to the value above: retention = "5 7" */
	CHECK_EQ(parse(c, "[repository]\nretention = 5\n  7\n", err),
	    -EBADMSG);
	CHECK(strstr(err, "line 3: indented line") != NULL);
}

static void
test_too_many_components(void)
{
	struct conf	*c = conf_slot(0);
	struct buf	 b;
	char		 err[CONF_ERROR_MAX];
	int		 i, ok = 1;

	buf_init(&b, 1u << 20);
	for (i = 0; i < CONF_COMPONENTS_MAX; i++)
		if (buf_printf(&b, "[component c%d]\nretention = 1\n", i) < 0)
			ok = 0;
	CHECK(ok);
	CHECK_EQ(parse(c, b.ptr, err), 0);
	CHECK_EQ(c->ncomponents, CONF_COMPONENTS_MAX);
	CHECK_EQ(buf_puts(&b, "[component one-more]\nretention = 1\n"), 0);
	ok = 1;
	bad_at(b.ptr, 2 * CONF_COMPONENTS_MAX + 2, NULL, &ok);
	CHECK(ok);
	buf_release(&b);
}

static void
test_load(void)
{
	struct conf	*c = conf_slot(0);
	char		 path[FS_PATH_MAX], err[CONF_ERROR_MAX];

	CHECK_EQ(fs_path(path, sizeof(path), "%s/cascade.conf",
	    check_tmpdir), 0);
	CHECK_EQ(conf_load(c, path, err), -ENOENT);
	CHECK_EQ(fs_write_atomic(path, "[repository]\nretention = 9\n", 27,
	    0644), 0);
	memset(c, 0x5a, sizeof(*c));		/* conf_load sets defaults */
	CHECK_EQ(conf_load(c, path, err), 0);
	CHECK_EQ(c->retention, 9);
	CHECK_EQ(c->delta_window, 30);
	CHECK_EQ(c->nlisten, 0);
	CHECK_EQ(fs_write_atomic(path, "", 0, 0644), 0);
	CHECK_EQ(conf_load(c, path, err), 0);
	CHECK_EQ(fs_write_atomic(path, conf_sample, strlen(conf_sample),
	    0644), 0);
	CHECK_EQ(conf_load(c, path, err), 0);
	CHECK_EQ(fs_write_atomic(path, "[repository]\nretention = 0\n", 27,
	    0644), 0);
	CHECK_EQ(conf_load(c, path, err), -EBADMSG);
	CHECK(strncmp(err, "line 2: ", 8) == 0);
}

static void
test_valid_name(void)
{
	static const char	*good[] = {
		"main", "a", "0", "9lives", "virus-pattern", "a.b", "a_b",
		"a-", "a.", "a..b", "v1.2.3", "x_-._y",
	};
	static const char	*good_slash[] = {
		"clamav/daily", "a/b/c", "a-/b.", "0/0",
	};
	static const char	*bad[] = {
		"", "A", "Main", "-a", ".a", "_a", "../x", "..", ".", "a b",
		"a\tb", "a:b", "a\\b", "a\xc3\xa9", "\xc3\xa9", "a/b", "/",
		"a\n",
	};
	static const char	*bad_slash[] = {
		"a//b", "a/", "/a", "/", "a/.b", "a/..", "a/-b", "a/_b",
		"../x", "a/../b", "a/./b", "a/ b", "A/b", "a/B",
	};
	char			 name[CONF_NAME_MAX + 2];
	size_t			 i;
	int			 ok = 1;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!conf_valid_name(good[i], 0) ||
		    !conf_valid_name(good[i], 1)) {
			fprintf(stderr, "refused '%s'\n", good[i]);
			ok = 0;
		}
	for (i = 0; i < sizeof(good_slash) / sizeof(good_slash[0]); i++)
		if (!conf_valid_name(good_slash[i], 1) ||
		    conf_valid_name(good_slash[i], 0)) {
			fprintf(stderr, "wrong on '%s'\n", good_slash[i]);
			ok = 0;
		}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (conf_valid_name(bad[i], 0)) {
			fprintf(stderr, "accepted '%s'\n", bad[i]);
			ok = 0;
		}
	for (i = 0; i < sizeof(bad_slash) / sizeof(bad_slash[0]); i++)
		if (conf_valid_name(bad_slash[i], 1)) {
			fprintf(stderr, "accepted component '%s'\n",
			    bad_slash[i]);
			ok = 0;
		}
	CHECK(ok);

	memset(name, 'a', sizeof(name));
	name[CONF_NAME_MAX] = '\0';			/* 128 characters */
	CHECK_EQ(conf_valid_name(name, 0), 1);
	CHECK_EQ(conf_valid_name(name, 1), 1);
	name[CONF_NAME_MAX] = 'a';
	name[CONF_NAME_MAX + 1] = '\0';			/* 129 */
	CHECK_EQ(conf_valid_name(name, 0), 0);
	CHECK_EQ(conf_valid_name(name, 1), 0);
	name[64] = '/';
	CHECK_EQ(conf_valid_name(name, 1), 0);
	name[CONF_NAME_MAX] = '\0';
	CHECK_EQ(conf_valid_name(name, 1), 1);
}

int
main(void)
{
	if (check_tmpdir_init("test_conf") < 0)
		return 1;
	RUN(test_defaults);
	RUN(test_empty);
	RUN(test_sample);
	RUN(test_sample_component_example);
	RUN(test_overrides);
	RUN(test_component_fallback);
	RUN(test_listen_repeated);
	RUN(test_syntax);
	RUN(test_unknown);
	RUN(test_syntax_errors);
	RUN(test_bad_values);
	RUN(test_edge_values);
	RUN(test_error_line);
	RUN(test_error_line_after_syntax_error);
	RUN(test_error_line_long_key);
	RUN(test_nul);
	RUN(test_not_terminated);
	RUN(test_too_big);
	RUN(test_long_component_name);
	RUN(test_indented_line);
	RUN(test_too_many_components);
	RUN(test_load);
	RUN(test_valid_name);
	check_rm_rf(check_tmpdir);
	return check_end();
}
