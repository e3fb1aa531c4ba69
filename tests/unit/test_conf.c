/*
 * Unit tests of conf: the defaults, the sample that `cascade init` writes,
 * every key, [component NAME] overrides, errors that name their line,
 * caps, and valid names; [notify], [agents], [group NAME] and policies;
 * schedules as text; agent.conf and its sample.
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
	CHECK_EQ(c->upload_max, 1ULL << 30);
	CHECK_EQ(c->ncomponents, 0);
	CHECK_EQ(conf_retention(c, "anything"), 30);
	CHECK_EQ(conf_delta_window(c, "anything"), 30);
	CHECK_EQ(c->notify_retry_interval, 900);
	CHECK_EQ(c->notify_retry_max, 5);
	CHECK_EQ(c->notify_window, 0);
	CHECK_EQ(c->notify_max_concurrent, 100);
	CHECK_EQ(c->agents_auto_license, 1);
	CHECK(strcmp(c->agents_default_group, "default") == 0);
	CHECK_EQ(c->ngroups, 0);
	CHECK(conf_group_find(c, "default") == NULL);
	CHECK(strcmp(c->upstream.downstream_name, "") == 0);
}

static void
test_downstream_name(void)
{
	struct conf	*c = conf_slot(0);
	char		 err[CONF_ERROR_MAX];

	CHECK_EQ(parse(c, "[upstream]\ndownstream_name = branch-1.lab\n",
	    err), 0);
	CHECK(strcmp(c->upstream.downstream_name, "branch-1.lab") == 0);
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
	    "upload_max = 512M\n"
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
	CHECK_EQ(c->upload_max, 512ULL << 20);
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

/* [repository] state: SQLite by default, or a PostgreSQL URL (also in
 * [server]); anything else is refused with a reason. */
static void
test_state(void)
{
	struct conf	*c = conf_slot(0);
	char		 err[CONF_ERROR_MAX];

	conf_defaults(c);
	CHECK(strcmp(c->state, "") == 0);
	CHECK_EQ(parse(c, "[repository]\nstate = postgresql://cascade@"
	    "db.example:5433/cascade?sslmode=verify-full\n", err), 0);
	CHECK(strcmp(c->state, "postgresql://cascade@db.example:5433/"
	    "cascade?sslmode=verify-full") == 0);
	CHECK_EQ(parse(c, "[repository]\nstate = sqlite\n", err), 0);
	CHECK(strcmp(c->state, "") == 0);
	CHECK_EQ(parse(c, "[server]\nstate = postgres://h/d\n", err), 0);
	CHECK(strcmp(c->state, "postgres://h/d") == 0);
	CHECK_EQ(parse(c, "[repository]\nstate = mysql://h/d\n", err),
	    -EBADMSG);
	CHECK(strstr(err, "line 2") != NULL && strstr(err, "postgresql")
	    != NULL);
	CHECK_EQ(parse(c, "[repository]\nstate = /var/lib/state.db\n", err),
	    -EBADMSG);
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
		"[server]\nupload_max = 0\n",
		"[server]\nupload_max = 1T\n",
		"[server]\nupload_max = 1025G\n",
		"[server]\nupload_max = G\n",
		"[server]\nupload_max = -1\n",
		"[component a]\nretention = 0\n",
		"[component a]\ndelta_window = -1\n",
		"[component ../x]\nretention = 1\n",
		"[component A]\nretention = 1\n",
		"[component a//b]\nretention = 1\n",
		"[component a/]\nretention = 1\n",
		"[upstream]\ndownstream_name = Branch\n",
		"[upstream]\ndownstream_name = a/b\n",
		"[upstream]\ndownstream_name =\n",
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

/* A last line of blanks without a newline, or a lone '[': nothing read
 * past the text (ASan watches the exact-size copies). Found by
 * fuzz_conf. */
static void
test_not_terminated_blanks(void)
{
	static const char	*texts[] = {
		"[repository]\n  ", "\t", "[repository]\n[", " ", "[x",
		"[repository]\nretention = 5\n \t \t",
	};
	struct conf_agent	 a;
	struct conf		*c = conf_slot(0);
	char			 err[CONF_ERROR_MAX], *p;
	size_t			 i, n;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		n = strlen(texts[i]);
		p = malloc(n);
		CHECK(p != NULL);
		if (p == NULL)
			return;
		memcpy(p, texts[i], n);
		conf_defaults(c);
		(void)conf_parse(c, p, n, err);
		conf_agent_defaults(&a);
		(void)conf_agent_parse(&a, p, n, err);
		free(p);
	}
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

/* ---- [notify], [agents], [group NAME] ------------------------------------ */

/* text with "; " dropped at the start of each line from the line that
 * begins with `from` to the next empty line; caller frees. */
static char *
uncomment_block(const char *text, const char *from)
{
	const char	*p = strstr(text, from);
	size_t		 i, j, n = strlen(text);
	char		*out;
	int		 on = 0;

	if (p == NULL)
		return NULL;
	out = malloc(n + 1);
	if (out == NULL)
		return NULL;
	for (i = 0, j = 0; i < n; i++) {
		if (i == 0 || text[i - 1] == '\n') {
			if (text + i == p)
				on = 1;
			else if (text[i] == '\n')
				on = 0;
			if (on && text[i] == ';' && text[i + 1] == ' ') {
				i++;
				continue;
			}
		}
		out[j++] = text[i];
	}
	out[j] = '\0';
	return out;
}

static void
test_notify_agents(void)
{
	struct conf	*c = conf_slot(0);
	char		 err[CONF_ERROR_MAX];
	int		 r;

	r = parse(c, "[notify]\nretry_interval = 5s\nretry_max = 0\n"
	    "window = 1m\nmax_concurrent = 1\n"
	    "[agents]\nauto_license = no\ndefault_group = lab-2\n", err);
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(c->notify_retry_interval, 5);
	CHECK_EQ(c->notify_retry_max, 0);
	CHECK_EQ(c->notify_window, 60);
	CHECK_EQ(c->notify_max_concurrent, 1);
	CHECK_EQ(c->agents_auto_license, 0);
	CHECK(strcmp(c->agents_default_group, "lab-2") == 0);
	CHECK_EQ(c->ngroups, 0);	/* the default group needs no section */

	CHECK_EQ(parse(c, "[notify]\nretry_interval = 1\nretry_max = 1000\n"
	    "window = 0s\nmax_concurrent = 100000\n"
	    "[agents]\nauto_license = true\n", err), 0);
	CHECK_EQ(c->notify_retry_interval, 1);
	CHECK_EQ(c->notify_retry_max, 1000);
	CHECK_EQ(c->notify_window, 0);
	CHECK_EQ(c->notify_max_concurrent, 100000);
	CHECK_EQ(c->agents_auto_license, 1);
	CHECK_EQ(parse(c, "[notify]\nretry_interval = 2h\nwindow = 1d\n",
	    err), 0);
	CHECK_EQ(c->notify_retry_interval, 7200);
	CHECK_EQ(c->notify_window, 86400);
}

static void
test_notify_agents_bad(void)
{
	static const char	*bad[] = {
		"[notify]\nretry_interval = 0\n",
		"[notify]\nretry_interval = 0s\n",
		"[notify]\nretry_interval = soon\n",
		"[notify]\nretry_interval =\n",
		"[notify]\nretry_max = -1\n",
		"[notify]\nretry_max = 1001\n",
		"[notify]\nretry_max = 5x\n",
		"[notify]\nwindow = -1\n",
		"[notify]\nwindow = 1y\n",
		"[notify]\nmax_concurrent = 0\n",
		"[notify]\nmax_concurrent = 100001\n",
		"[agents]\nauto_license = maybe\n",
		"[agents]\nauto_license =\n",
		"[agents]\ndefault_group = Lab\n",
		"[agents]\ndefault_group = a/b\n",
		"[agents]\ndefault_group =\n",
	};
	size_t			 i;
	int			 ok = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bad_at(bad[i], 2, NULL, &ok);
	bad_at("[notify]\nretry = 3\n", 2, "unknown key 'retry' in [notify]",
	    &ok);
	bad_at("[agents]\ngroup = a\n", 2, "unknown key 'group' in [agents]",
	    &ok);
	bad_at("[notify]\nauto_license = yes\n", 2, "auto_license", &ok);
	bad_at("[agents]\nretry_max = 1\n", 2, "retry_max", &ok);
	CHECK(ok);
}

static void
test_groups(void)
{
	static const char	 text[] =
	    "[group lab]\n"
	    "schedule = daily 12:00\n"
	    "window = 2h\n"
	    "scheduled = no\n"
	    "user_may_disable = off\n"
	    "post_update = /usr/bin/scan --now \"all files\"\n"
	    "config_once_per_day = yes\n"
	    "components = virus-pattern, scan-engine config/lab\n"
	    "\n"
	    "[group empty]\n"
	    "\n"
	    "[group some]\n"
	    "window = 0\n"
	    "components = *\n"
	    "[group lab]\n"
	    "schedule = weekly sat 23:59\n";
	struct conf		*c = conf_slot(0);
	const struct conf_group	*g;
	struct conf_policy	 d;
	char			 err[CONF_ERROR_MAX];
	int			 r;

	r = parse(c, text, err);
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(c->ngroups, 3);		/* lab twice is one group */
	g = conf_group_find(c, "lab");
	CHECK(g != NULL);
	if (g != NULL) {
		CHECK_EQ(g->policy.set, CONF_POLICY_SCHEDULE |
		    CONF_POLICY_WINDOW | CONF_POLICY_SCHEDULED |
		    CONF_POLICY_USER_MAY_DISABLE | CONF_POLICY_POST_UPDATE |
		    CONF_POLICY_CONFIG_ONCE | CONF_POLICY_COMPONENTS);
		CHECK_EQ(g->policy.schedule.kind, CONF_WEEKLY);
		CHECK_EQ(g->policy.schedule.wday, 6);
		CHECK_EQ(g->policy.schedule.hour, 23);
		CHECK_EQ(g->policy.schedule.minute, 59);
		CHECK_EQ(g->policy.window, 7200);
		CHECK_EQ(g->policy.scheduled, 0);
		CHECK_EQ(g->policy.user_may_disable, 0);
		CHECK(strcmp(g->policy.post_update,
		    "/usr/bin/scan --now \"all files\"") == 0);
		CHECK_EQ(g->policy.config_once_per_day, 1);
		CHECK_EQ(g->policy.ncomponents, 3);
		CHECK(strcmp(g->policy.components[0], "virus-pattern") == 0);
		CHECK(strcmp(g->policy.components[1], "scan-engine") == 0);
		CHECK(strcmp(g->policy.components[2], "config/lab") == 0);
	}
	/* declared by its section alone: the defaults, nothing set */
	g = conf_group_find(c, "empty");
	CHECK(g != NULL);
	conf_policy_defaults(&d);
	if (g != NULL)
		CHECK(memcmp(&g->policy, &d, sizeof(d)) == 0);
	g = conf_group_find(c, "some");
	CHECK(g != NULL);
	if (g != NULL) {
		CHECK_EQ(g->policy.set, CONF_POLICY_WINDOW |
		    CONF_POLICY_COMPONENTS);
		CHECK_EQ(g->policy.window, 0);
		CHECK_EQ(g->policy.ncomponents, 0);
		CHECK_EQ(g->policy.schedule.kind, CONF_EVERY);
		CHECK_EQ(g->policy.schedule.every, 3600);
	}
	CHECK(conf_group_find(c, "other") == NULL);
	CHECK(conf_group_find(c, "la") == NULL);
	CHECK(conf_group_find(c, "") == NULL);
}

static void
test_groups_bad(void)
{
	static const char	*bad[] = {
		"[group a]\nschedule = hourly\n",
		"[group a]\nschedule = every 0s\n",
		"[group a]\nschedule = daily 24:00\n",
		"[group a]\nschedule = weekly mon\n",
		"[group a]\nwindow = -5m\n",
		"[group a]\nwindow = ten\n",
		"[group a]\nscheduled = 2\n",
		"[group a]\nuser_may_disable = y\n",
		"[group a]\nconfig_once_per_day = nope\n",
		"[group a]\npost_update = a\tb\n",
		"[group a]\npost_update = bad \x01 byte\n",
		"[group a]\npost_update = \xc3\n",
		"[group a]\npost_update = \xc0\xaf\n",
		"[group a]\npost_update = \xc2\x85\n",
		"[group a]\ncomponents =\n",
		"[group a]\ncomponents = Big\n",
		"[group a]\ncomponents = a, a\n",
		"[group a]\ncomponents = a b a\n",
		"[group a]\ncomponents = ../etc\n",
		"[group a]\ncomponents = a//b\n",
		"[group a]\ncomponents = *, a\n",
		"[group a]\ncomponents = a;b\n",
	};
	struct buf		 b;
	size_t			 i;
	int			 ok = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		bad_at(bad[i], 2, NULL, &ok);
	CHECK(ok);
	ok = 1;
	bad_at("[group a]\nretention = 1\n", 2,
	    "unknown key 'retention' in [group a]", &ok);
	bad_at("[group a]\nserver = http://x/\n", 2, "unknown key", &ok);
	bad_at("[group a]\nschedule = hourly\n", 2, "every DURATION", &ok);
	/* a bad group name: on the section's own line, key or not */
	bad_at("[group Lab]\nwindow = 1\n", 1, "[group Lab]", &ok);
	bad_at("; c\n[group a/b]\n", 2, "bad section", &ok);
	bad_at("[group ]\n", 1, NULL, &ok);
	bad_at("[group -a]\n", 1, NULL, &ok);
	bad_at("\xef\xbb\xbf[group A]\n", 1, NULL, &ok);
	bad_at("[group]\nwindow = 1\n", 2, NULL, &ok);
	CHECK(ok);

	/* CONF_GROUPS_MAX groups fit, the next one is refused on its line */
	ok = 1;
	buf_init(&b, 1u << 16);
	for (i = 0; i < CONF_GROUPS_MAX; i++)
		if (buf_printf(&b, "[group g%zu]\n", i) < 0)
			ok = 0;
	CHECK(ok);
	CHECK_EQ(parse(conf_slot(0), b.ptr, (char[CONF_ERROR_MAX]){ 0 }), 0);
	CHECK_EQ(conf_slot(0)->ngroups, CONF_GROUPS_MAX);
	CHECK_EQ(buf_puts(&b, "[group g0]\n[group one-more]\n"), 0);
	bad_at(b.ptr, CONF_GROUPS_MAX + 2, "too many groups", &ok);
	CHECK(ok);
	buf_release(&b);
}

/* CONF_SELECT_MAX component names fit in one line; one more does not. */
static void
test_group_components_max(void)
{
	struct conf	*c = conf_slot(0);
	char		 text[CONF_ERROR_MAX], err[CONF_ERROR_MAX];
	int		 i, ok = 1;

	snprintf(text, sizeof(text), "[group a]\ncomponents =");
	for (i = 0; i < CONF_SELECT_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    " c%d", i);
	snprintf(text + strlen(text), sizeof(text) - strlen(text), "\n");
	CHECK_EQ(parse(c, text, err), 0);
	CHECK_EQ(c->groups[0].policy.ncomponents, CONF_SELECT_MAX);
	CHECK(strcmp(c->groups[0].policy.components[CONF_SELECT_MAX - 1],
	    "c31") == 0);
	text[strlen(text) - 1] = '\0';
	snprintf(text + strlen(text), sizeof(text) - strlen(text), ",x\n");
	bad_at(text, 2, "too many components", &ok);
	CHECK(ok);
}

/* The commented [group] example of the sample works uncommented. */
static void
test_sample_group_example(void)
{
	struct conf		*c = conf_slot(0);
	const struct conf_group	*g;
	char			 err[CONF_ERROR_MAX];
	char			*text;
	int			 r;

	text = uncomment_block(conf_sample, "; [group default]");
	CHECK(text != NULL);
	if (text == NULL)
		return;
	r = parse(c, text, err);
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(c->ngroups, 1);
	CHECK_EQ(c->ncomponents, 0);	/* the component example stays */
	g = conf_group_find(c, "default");
	CHECK(g != NULL);
	if (g != NULL) {
		CHECK_EQ(g->policy.set, 0x7f);
		CHECK_EQ(g->policy.schedule.every, 3600);
		CHECK_EQ(g->policy.window, 600);
		CHECK_EQ(g->policy.scheduled, 1);
		CHECK_EQ(g->policy.user_may_disable, 1);
		CHECK(strcmp(g->policy.post_update,
		    "/usr/local/bin/scan-now") == 0);
		CHECK_EQ(g->policy.config_once_per_day, 0);
		CHECK_EQ(g->policy.ncomponents, 2);
	}
	free(text);
}

/* ---- policies ------------------------------------------------------------ */

static void
test_policy_defaults(void)
{
	struct conf_policy	 p;

	memset(&p, 0x5a, sizeof(p));
	conf_policy_defaults(&p);
	CHECK_EQ(p.set, 0);
	CHECK_EQ(p.schedule.kind, CONF_EVERY);
	CHECK_EQ(p.schedule.every, 3600);
	CHECK_EQ(p.window, 600);
	CHECK_EQ(p.scheduled, 1);
	CHECK_EQ(p.user_may_disable, 1);
	CHECK_EQ(p.post_update[0], '\0');
	CHECK_EQ(p.config_once_per_day, 0);
	CHECK_EQ(p.ncomponents, 0);
}

static void
test_policy_merge(void)
{
	struct conf_policy	 dst, over, none, copy;

	conf_policy_defaults(&dst);
	dst.set = CONF_POLICY_POST_UPDATE | CONF_POLICY_WINDOW;
	memcpy(dst.post_update, "mine", 5);
	dst.window = 5;
	dst.ncomponents = 1;
	memcpy(dst.components[0], "a", 2);

	/* nothing set: nothing changes */
	conf_policy_defaults(&none);
	none.window = 99;
	copy = dst;
	conf_policy_merge(&dst, &none);
	CHECK(memcmp(&dst, &copy, sizeof(dst)) == 0);

	/* each key that is set, and only those */
	conf_policy_defaults(&over);
	over.set = CONF_POLICY_SCHEDULE | CONF_POLICY_SCHEDULED |
	    CONF_POLICY_COMPONENTS;
	over.schedule.kind = CONF_DAILY;
	over.schedule.hour = 3;
	over.scheduled = 0;
	over.window = 77;				/* not set */
	memcpy(over.post_update, "theirs", 7);		/* not set */
	over.ncomponents = 2;
	memcpy(over.components[0], "x", 2);
	memcpy(over.components[1], "y/z", 4);
	conf_policy_merge(&dst, &over);
	CHECK_EQ(dst.set, CONF_POLICY_POST_UPDATE | CONF_POLICY_WINDOW |
	    CONF_POLICY_SCHEDULE | CONF_POLICY_SCHEDULED |
	    CONF_POLICY_COMPONENTS);
	CHECK_EQ(dst.schedule.kind, CONF_DAILY);
	CHECK_EQ(dst.schedule.hour, 3);
	CHECK_EQ(dst.scheduled, 0);
	CHECK_EQ(dst.window, 5);
	CHECK(strcmp(dst.post_update, "mine") == 0);
	CHECK_EQ(dst.ncomponents, 2);
	CHECK(strcmp(dst.components[1], "y/z") == 0);

	/* the rest, and a set empty selection (all) replaces a list */
	conf_policy_defaults(&over);
	over.set = CONF_POLICY_WINDOW | CONF_POLICY_USER_MAY_DISABLE |
	    CONF_POLICY_POST_UPDATE | CONF_POLICY_CONFIG_ONCE |
	    CONF_POLICY_COMPONENTS;
	over.window = 0;
	over.user_may_disable = 0;
	over.post_update[0] = '\0';
	over.config_once_per_day = 1;
	over.ncomponents = 0;
	conf_policy_merge(&dst, &over);
	CHECK_EQ(dst.set, 0x7f);
	CHECK_EQ(dst.window, 0);
	CHECK_EQ(dst.user_may_disable, 0);
	CHECK_EQ(dst.post_update[0], '\0');
	CHECK_EQ(dst.config_once_per_day, 1);
	CHECK_EQ(dst.ncomponents, 0);
	CHECK_EQ(dst.schedule.kind, CONF_DAILY);	/* kept */
}

/* ---- schedules as text --------------------------------------------------- */

static void
test_schedule_format(void)
{
	static const struct {
		const char	*in, *out;
	}			 t[] = {
		{ "every 90s", "every 90s" },
		{ "every 90", "every 90s" },
		{ "every 60s", "every 1m" },
		{ "every 60m", "every 1h" },
		{ "every 3600", "every 1h" },
		{ "every 90m", "every 90m" },
		{ "every 24h", "every 1d" },
		{ "every 25h", "every 25h" },
		{ "every 2w", "every 14d" },
		{ "every 1s", "every 1s" },
		{ "every 86401", "every 86401s" },
		{ "every 3660d", "every 3660d" },
		{ "daily 02:00", "daily 02:00" },
		{ "daily 0:5", NULL },
		{ "daily 23:59", "daily 23:59" },
		{ "weekly mon 02:00", "weekly mon 02:00" },
		{ "weekly sun 00:00", "weekly sun 00:00" },
		{ "weekly sat 12:30", "weekly sat 12:30" },
	};
	struct conf_schedule	 s, back;
	char			 out[CONF_SCHEDULE_TEXT_MAX];
	size_t			 i;
	int			 ok = 1;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (conf_schedule_parse(t[i].in, &s) < 0) {
			if (t[i].out != NULL) {
				fprintf(stderr, "'%s' refused\n", t[i].in);
				ok = 0;
			}
			continue;
		}
		conf_schedule_format(&s, out);
		if (t[i].out == NULL || strcmp(out, t[i].out) != 0) {
			fprintf(stderr, "'%s' -> '%s'\n", t[i].in, out);
			ok = 0;
		}
	}
	CHECK(ok);

	/* every value of each kind round-trips */
	ok = 1;
	memset(&s, 0, sizeof(s));
	s.kind = CONF_EVERY;
	for (s.every = 1; s.every < 200000; s.every += s.every < 4000 ? 1 : 599) {
		conf_schedule_format(&s, out);
		if (conf_schedule_parse(out, &back) < 0 ||
		    back.kind != CONF_EVERY || back.every != s.every)
			ok = 0;
	}
	s.every = 10ll * 366 * 86400;
	conf_schedule_format(&s, out);
	CHECK(strcmp(out, "every 3660d") == 0);
	s.kind = CONF_WEEKLY;
	for (s.wday = 0; s.wday < 7; s.wday++)
		for (s.hour = 0; s.hour < 24; s.hour++)
			for (s.minute = 0; s.minute < 60; s.minute += 7) {
				conf_schedule_format(&s, out);
				if (conf_schedule_parse(out, &back) < 0 ||
				    back.kind != CONF_WEEKLY ||
				    back.wday != s.wday ||
				    back.hour != s.hour ||
				    back.minute != s.minute)
					ok = 0;
				s.kind = CONF_DAILY;
				conf_schedule_format(&s, out);
				if (conf_schedule_parse(out, &back) < 0 ||
				    back.kind != CONF_DAILY ||
				    back.hour != s.hour ||
				    back.minute != s.minute)
					ok = 0;
				s.kind = CONF_WEEKLY;
			}
	CHECK(ok);
	/* the longest text fits */
	s.kind = CONF_WEEKLY;
	s.wday = 3;
	s.hour = 23;
	s.minute = 59;
	conf_schedule_format(&s, out);
	CHECK(strcmp(out, "weekly wed 23:59") == 0);
	/* out-of-range fields give text that does not parse, not a crash */
	s.hour = -2147483647 - 1;
	conf_schedule_format(&s, out);
	CHECK(memchr(out, '\0', sizeof(out)) != NULL);
	CHECK(conf_schedule_parse(out, &back) < 0);
	s.kind = CONF_EVERY;
	s.every = 0;
	conf_schedule_format(&s, out);
	CHECK(conf_schedule_parse(out, &back) < 0);
}

static void
test_schedule_period(void)
{
	struct conf_schedule	 s;

	CHECK_EQ(conf_schedule_parse("every 90s", &s), 0);
	CHECK_EQ(conf_schedule_period(&s), 90);
	CHECK_EQ(conf_schedule_parse("every 4h", &s), 0);
	CHECK_EQ(conf_schedule_period(&s), 4 * 3600);
	CHECK_EQ(conf_schedule_parse("daily 12:00", &s), 0);
	CHECK_EQ(conf_schedule_period(&s), 86400);
	CHECK_EQ(conf_schedule_parse("weekly mon 12:00", &s), 0);
	CHECK_EQ(conf_schedule_period(&s), 7 * 86400);
}

static void
test_valid_text(void)
{
	static const char	*good[] = {
		"", "a", "scan now", "/usr/bin/x --y=\"z\" 'w'", "~!@#$%^&*()",
		"caf\xc3\xa9", "\xe2\x82\xac 5", "\xf0\x9f\x98\x80",
		"\xc2\xa0", "\xef\xbf\xbd", "\xf4\x8f\xbf\xbf",
	};
	static const char	*bad[] = {
		"\t", "a\nb", "a\rb", "\x01", "\x1f", "\x7f", "\x1b[31m",
		"\xc2\x80", "\xc2\x9f",			/* C1 controls */
		"\xc3", "\xc3(", "\x80", "\xbf",	/* broken */
		"\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf",	/* overlong */
		"\xf0\x80\x80\xaf",
		"\xed\xa0\x80",				/* surrogate */
		"\xf4\x90\x80\x80", "\xf5\x80\x80\x80",	/* past U+10FFFF */
		"\xff", "\xfe", "\xe2\x82",
	};
	size_t			 i;
	int			 ok = 1;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!conf_valid_text(good[i])) {
			fprintf(stderr, "refused text %zu\n", i);
			ok = 0;
		}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (conf_valid_text(bad[i])) {
			fprintf(stderr, "accepted text %zu\n", i);
			ok = 0;
		}
	CHECK(ok);
}

/* ---- agent.conf ---------------------------------------------------------- */

static struct conf_agent *
agent_slot(int i)
{
	static struct conf_agent	 slots[2];

	return &slots[i];
}

static int
parse_agent(struct conf_agent *a, const char *text, char err[CONF_ERROR_MAX])
{
	conf_agent_defaults(a);
	return conf_agent_parse(a, text, strlen(text), err);
}

static void
bad_agent_at(const char *text, int line, const char *also, int *ok)
{
	char	 err[CONF_ERROR_MAX], want[32];
	int	 r;

	memset(err, 'X', sizeof(err));
	r = parse_agent(agent_slot(0), text, err);
	snprintf(want, sizeof(want), "line %d: ", line);
	if (r != -EBADMSG || memchr(err, '\0', sizeof(err)) == NULL ||
	    strncmp(err, want, strlen(want)) != 0 ||
	    (also != NULL && strstr(err, also) == NULL)) {
		fprintf(stderr, "agent text [%s]: got %d, err [%.*s], want "
		    "[%s...%s]\n", text, r, (int)sizeof(err), err, want,
		    also != NULL ? also : "");
		*ok = 0;
	}
}

static void
test_agent_defaults(void)
{
	struct conf_agent	*a = agent_slot(0);
	struct conf_policy	 p;

	memset(a, 0x5a, sizeof(*a));
	conf_agent_defaults(a);
	CHECK_EQ(a->nservers, 0);
	CHECK_EQ(a->ntrust, 0);
	CHECK_EQ(a->enroll_key[0], '\0');
	CHECK(strcmp(a->dir, "/var/lib/cascade-agent") == 0);
	CHECK_EQ(a->group[0], '\0');
	CHECK_EQ(a->notify, CONF_NOTIFY_LONGPOLL);
	CHECK_EQ(a->notify_listen[0], '\0');
	CHECK_EQ(a->notify_url[0], '\0');
	CHECK_EQ(a->proxy[0], '\0');
	CHECK_EQ(a->proxy_username[0], '\0');
	CHECK_EQ(a->proxy_password[0], '\0');
	CHECK_EQ(a->ca_file[0], '\0');
	CHECK_EQ(a->server_post_update, 1);
	conf_policy_defaults(&p);
	CHECK(memcmp(&a->policy, &p, sizeof(p)) == 0);
}

/* The sample parses to the defaults plus its server and trust lines. */
static void
test_agent_sample(void)
{
	struct conf_agent	*a = agent_slot(0), *d = agent_slot(1);
	char			 err[CONF_ERROR_MAX];
	int			 r;

	r = parse_agent(a, conf_agent_sample, err);
	if (r != 0)
		fprintf(stderr, "conf_agent_sample: %s\n", err);
	CHECK_EQ(r, 0);
	conf_agent_defaults(d);
	d->nservers = 1;
	memcpy(d->servers[0], "http://mirror.example.net:8080/",
	    sizeof("http://mirror.example.net:8080/"));
	d->ntrust = 1;
	memcpy(d->trust[0], "/etc/cascade/keys/*.pub",
	    sizeof("/etc/cascade/keys/*.pub"));
	CHECK(memcmp(a, d, sizeof(*a)) == 0);
}

/* Every commented "; key = value" of the sample works uncommented. */
static void
test_agent_sample_uncommented(void)
{
	struct conf_agent	*a = agent_slot(0);
	char			 err[CONF_ERROR_MAX];
	const char		*p = conf_agent_sample;
	struct buf		 b;
	size_t			 n, k;
	int			 r, keys = 0;

	buf_init(&b, 1u << 16);
	while (*p != '\0') {
		n = strcspn(p, "\n") + (p[strcspn(p, "\n")] == '\n');
		k = strspn(p + 2, "abcdefghijklmnopqrstuvwxyz_");
		if (strncmp(p, "; ", 2) == 0 && k > 0 &&
		    strncmp(p + 2 + k, " = ", 3) == 0) {
			CHECK_EQ(buf_append(&b, p + 2, n - 2), 0);
			keys++;
		} else
			CHECK_EQ(buf_append(&b, p, n), 0);
		p += n;
	}
	CHECK_EQ(keys, 14);
	r = parse_agent(a, b.ptr, err);
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(r, 0);
	CHECK(strcmp(a->enroll_key, "7F3A-91C2-44D8") == 0);
	CHECK(strcmp(a->group, "default") == 0);
	CHECK(strcmp(a->notify_url,
	    "http://host.example.net:9137/v1/notify") == 0);
	CHECK(strcmp(a->proxy, "http://proxy.example.net:3128") == 0);
	CHECK(strcmp(a->proxy_username, "user") == 0);
	CHECK(strcmp(a->proxy_password, "secret") == 0);
	CHECK(strcmp(a->ca_file, "/etc/ssl/certs/mirror-ca.pem") == 0);
	CHECK_EQ(a->policy.set, 0x7f);
	CHECK_EQ(a->policy.schedule.every, 3600);
	CHECK_EQ(a->policy.window, 600);
	CHECK(strcmp(a->policy.post_update, "/usr/local/bin/scan-now") == 0);
	CHECK_EQ(a->policy.ncomponents, 2);
	buf_release(&b);
}

/* docs/agent.conf.sample is the sample, byte for byte (the tests run
 * from the top of the tree). */
static void
test_agent_sample_file(void)
{
	struct buf	 b;
	int		 r;

	buf_init(&b, CONF_SIZE_MAX);
	r = fs_read(&b, "docs/agent.conf.sample");
	if (r < 0)
		fprintf(stderr, "docs/agent.conf.sample: %s (run from the "
		    "top of the tree)\n", strerror(-r));
	CHECK_EQ(r, 0);
	CHECK_EQ(b.len, strlen(conf_agent_sample));
	CHECK(b.ptr != NULL && b.len == strlen(conf_agent_sample) &&
	    memcmp(b.ptr, conf_agent_sample, b.len) == 0);
	buf_release(&b);
}

static void
test_agent_keys(void)
{
	static const char	 text[] =
	    "; an endpoint\n"
	    "server = https://a.example.net:8443/cascade\n"
	    "server = http://[::1]:8080/  http://127.0.0.1:1\n"
	    "enroll_key = 7F3A-91C2-44D8\n"
	    "trust = /etc/cascade/keys/*.pub\n"
	    "trust = keys/local.pub\n"
	    "dir = /srv/agent\n"
	    "group = lab\n"
	    "notify = listen 127.0.0.1:0\n"
	    "notify_url = http://10.0.0.5:9137/v1/notify\n"
	    "proxy = http://proxy:3128\n"
	    "proxy_username = u\n"
	    "proxy_password = p w\n"
	    "ca_file = ca.pem\n"
	    "server_post_update = no\n"
	    "schedule = every 4h\n"
	    "window = 2h\n"
	    "scheduled = no\n"
	    "user_may_disable = no\n"
	    "post_update = /bin/sh -c 'kill -HUP 1'\n"
	    "config_once_per_day = yes\n"
	    "components = virus-pattern,scan-engine\n";
	struct conf_agent	*a = agent_slot(0);
	char			 err[CONF_ERROR_MAX];
	int			 r;

	r = parse_agent(a, text, err);
	if (r != 0)
		fprintf(stderr, "%s\n", err);
	CHECK_EQ(r, 0);
	CHECK_EQ(a->nservers, 3);
	CHECK(strcmp(a->servers[0], "https://a.example.net:8443/cascade/") ==
	    0);
	CHECK(strcmp(a->servers[1], "http://[::1]:8080/") == 0);
	CHECK(strcmp(a->servers[2], "http://127.0.0.1:1/") == 0);
	CHECK(strcmp(a->enroll_key, "7F3A-91C2-44D8") == 0);
	CHECK_EQ(a->ntrust, 2);
	CHECK(strcmp(a->trust[0], "/etc/cascade/keys/*.pub") == 0);
	CHECK(strcmp(a->trust[1], "keys/local.pub") == 0);
	CHECK(strcmp(a->dir, "/srv/agent") == 0);
	CHECK(strcmp(a->group, "lab") == 0);
	CHECK_EQ(a->notify, CONF_NOTIFY_LISTEN);
	CHECK(strcmp(a->notify_listen, "127.0.0.1:0") == 0);
	CHECK(strcmp(a->notify_url, "http://10.0.0.5:9137/v1/notify") == 0);
	CHECK(strcmp(a->proxy, "http://proxy:3128") == 0);
	CHECK(strcmp(a->proxy_username, "u") == 0);
	CHECK(strcmp(a->proxy_password, "p w") == 0);
	CHECK(strcmp(a->ca_file, "ca.pem") == 0);
	CHECK_EQ(a->server_post_update, 0);
	CHECK_EQ(a->policy.set, 0x7f);
	CHECK_EQ(a->policy.schedule.every, 4 * 3600);
	CHECK_EQ(a->policy.window, 7200);
	CHECK_EQ(a->policy.scheduled, 0);
	CHECK_EQ(a->policy.user_may_disable, 0);
	CHECK(strcmp(a->policy.post_update, "/bin/sh -c 'kill -HUP 1'") == 0);
	CHECK_EQ(a->policy.config_once_per_day, 1);
	CHECK_EQ(a->policy.ncomponents, 2);
	CHECK(strcmp(a->policy.components[1], "scan-engine") == 0);

	/* later lines win; group and notify_url may be emptied again */
	CHECK_EQ(parse_agent(a, "group = a\ngroup =\nnotify_url = http://x\n"
	    "notify_url =\nnotify = listen\nnotify = none\n"
	    "dir = /a\ndir = /b\n", err), 0);
	CHECK_EQ(a->group[0], '\0');
	CHECK_EQ(a->notify_url[0], '\0');
	CHECK_EQ(a->notify, CONF_NOTIFY_NONE);
	CHECK_EQ(a->notify_listen[0], '\0');
	CHECK(strcmp(a->dir, "/b") == 0);
	CHECK_EQ(a->policy.set, 0);
}

static void
test_agent_servers(void)
{
	struct conf_agent	*a = agent_slot(0);
	char			 err[CONF_ERROR_MAX], text[1024];
	int			 i, ok = 1;

	CHECK_EQ(parse_agent(a, "server = http://a\thttp://b/ \n", err), 0);
	CHECK_EQ(a->nservers, 2);
	CHECK(strcmp(a->servers[0], "http://a/") == 0);
	CHECK(strcmp(a->servers[1], "http://b/") == 0);
	CHECK_EQ(parse_agent(a, "server = http://a, https://b,http://c\n",
	    err), 0);
	CHECK_EQ(a->nservers, 3);
	CHECK(strcmp(a->servers[2], "http://c/") == 0);

	/* CONF_SERVERS_MAX in all, over several lines */
	text[0] = '\0';
	for (i = 0; i < CONF_SERVERS_MAX; i += 2)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "server = http://s%d http://s%d:80/x\n", i, i + 1);
	CHECK_EQ(parse_agent(a, text, err), 0);
	CHECK_EQ(a->nservers, CONF_SERVERS_MAX);
	CHECK(strcmp(a->servers[CONF_SERVERS_MAX - 1], "http://s7:80/x/") ==
	    0);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "server = http://one-more\n");
	bad_agent_at(text, CONF_SERVERS_MAX / 2 + 1, "too many servers", &ok);

	bad_agent_at("server =\n", 1, "server", &ok);
	bad_agent_at("server = \t \n", 1, NULL, &ok);
	bad_agent_at("server = mirror.example.net\n", 1, "http://", &ok);
	bad_agent_at("server = ftp://x/\n", 1, NULL, &ok);
	bad_agent_at("server = HTTP://x/\n", 1, NULL, &ok);
	bad_agent_at("server = http://\n", 1, NULL, &ok);
	bad_agent_at("server = http:///x\n", 1, NULL, &ok);
	bad_agent_at("server = http://a/ b\n", 1, NULL, &ok);
	bad_agent_at("server = http://a\x7f/\n", 1, NULL, &ok);
	bad_agent_at("server = http://a/\nserver = https:/b\n", 2, NULL, &ok);
	CHECK(ok);
}

static void
test_agent_notify(void)
{
	static const struct {
		const char	*v, *listen;
		int		 notify;
	}			 good[] = {
		{ "longpoll", "", CONF_NOTIFY_LONGPOLL },
		{ "none", "", CONF_NOTIFY_NONE },
		{ "listen", "[::]:9137", CONF_NOTIFY_LISTEN },
		{ "listen [::]:9137", "[::]:9137", CONF_NOTIFY_LISTEN },
		{ "listen    [::1]:0", "[::1]:0", CONF_NOTIFY_LISTEN },
		{ "listen 127.0.0.1:9137", "127.0.0.1:9137",
		    CONF_NOTIFY_LISTEN },
		{ "listen 0.0.0.0:65535", "0.0.0.0:65535", CONF_NOTIFY_LISTEN },
		{ "listen :9137", ":9137", CONF_NOTIFY_LISTEN },
		{ "listen *:9137", "*:9137", CONF_NOTIFY_LISTEN },
		{ "listen [fe80::1%eth0]:1", NULL, 0 },
		{ "listen [::ffff:127.0.0.1]:1", "[::ffff:127.0.0.1]:1",
		    CONF_NOTIFY_LISTEN },
	};
	static const char	*bad[] = {
		"", "push", "Longpoll", "longpoll now", "listen x",
		"listen [::]", "listen [::]:", "listen [::]:65536",
		"listen [::]:-1", "listen [::]:9137x", "listen 127.0.0.1",
		"listen 127.0.0.1:", "listen 256.0.0.1:1", "listen host:80",
		"listen ::1:80", "listen [127.0.0.1]:1", "listen [::1:1",
		"listen [::]:+1", "listenx", "listen [::]:1 [::]:2",
	};
	struct conf_agent	*a = agent_slot(0);
	char			 err[CONF_ERROR_MAX], text[256];
	size_t			 i;
	int			 r, ok = 1;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "notify = %s\n", good[i].v);
		r = parse_agent(a, text, err);
		if (good[i].listen == NULL) {
			/* a zone id: inet_pton takes none, nor does http */
			if (r != -EBADMSG)
				ok = 0;
			continue;
		}
		if (r != 0 || (int)a->notify != good[i].notify ||
		    strcmp(a->notify_listen, good[i].listen) != 0) {
			fprintf(stderr, "notify = %s: %d %s [%s]\n", good[i].v,
			    r, err, a->notify_listen);
			ok = 0;
		}
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "notify = %s\n", bad[i]);
		bad_agent_at(text, 1, "'notify'", &ok);
	}
	CHECK(ok);
}

static void
test_agent_errors(void)
{
	static const char	*bad[] = {
		"trust =\n",
		"trust = a\x01\n",
		"dir =\n",
		"dir = /a\x1b\n",
		"group = Lab\n",
		"group = a/b\n",
		"enroll_key = a\x02\n",
		"notify_url = ftp://x\n",
		"notify_url = http://\n",
		"notify_url = http://a b\n",
		"server_post_update = sometimes\n",
		"schedule = every\n",
		"window = 1x\n",
		"scheduled = 3\n",
		"user_may_disable =\n",
		"post_update = a\x7f\n",
		"config_once_per_day = yes please\n",
		"components = A\n",
		"components = a a\n",
	};
	char			 text[1024];
	size_t			 i;
	int			 ok = 1;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "; c\n%s", bad[i]);
		bad_agent_at(text, 2, "bad value", &ok);
	}
	bad_agent_at("servers = http://a/\n", 1, "unknown key 'servers'", &ok);
	bad_agent_at("Server = http://a/\n", 1, "unknown key", &ok);
	bad_agent_at("retention = 3\n", 1, "unknown key", &ok);
	bad_agent_at("server = http://a/\n[agent]\nserver = http://b/\n", 2,
	    "agent.conf has no sections", &ok);
	bad_agent_at("[group lab]\n", 1, "no sections", &ok);
	bad_agent_at("\xef\xbb\xbf[x]\n", 1, "no sections", &ok);
	bad_agent_at("server\n", 1, "syntax", &ok);
	bad_agent_at("server = http://a/\n  http://b/\n", 2, "indented", &ok);

	/* CONF_TRUST_MAX globs, then one too many */
	text[0] = '\0';
	for (i = 0; i < CONF_TRUST_MAX; i++)
		snprintf(text + strlen(text), sizeof(text) - strlen(text),
		    "trust = k%zu.pub\n", i);
	CHECK_EQ(parse_agent(agent_slot(0), text, (char[CONF_ERROR_MAX]){ 0 }),
	    0);
	CHECK_EQ(agent_slot(0)->ntrust, CONF_TRUST_MAX);
	snprintf(text + strlen(text), sizeof(text) - strlen(text),
	    "trust = more.pub\n");
	bad_agent_at(text, CONF_TRUST_MAX + 1, "too many trust", &ok);
	CHECK(ok);

	/* the same caps and checks as cascade.conf */
	CHECK_EQ(conf_agent_parse(agent_slot(0), "dir = /a\0", 9,
	    (char[CONF_ERROR_MAX]){ 0 }), -EBADMSG);
}

static void
test_agent_too_big(void)
{
	struct conf_agent	*a = agent_slot(0);
	char			 err[CONF_ERROR_MAX], *p;
	size_t			 i, n = CONF_SIZE_MAX + 1;

	p = malloc(n);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	for (i = 0; i < n; i++)
		p[i] = i % 64 == 63 ? '\n' : i % 64 == 0 ? '#' : 'c';
	conf_agent_defaults(a);
	CHECK_EQ(conf_agent_parse(a, p, n, err), -E2BIG);
	CHECK(err[0] != '\0');
	conf_agent_defaults(a);
	CHECK_EQ(conf_agent_parse(a, p, n - 1, err), 0);
	free(p);
}

static void
test_agent_load(void)
{
	struct conf_agent	*a = agent_slot(0);
	char			 path[FS_PATH_MAX], err[CONF_ERROR_MAX];
	static const char	 ok_text[] =
	    "server = http://127.0.0.1:8080\ntrust = k.pub\n";

	CHECK_EQ(fs_path(path, sizeof(path), "%s/agent.conf", check_tmpdir),
	    0);
	CHECK_EQ(conf_agent_load(a, path, err), -ENOENT);
	CHECK_EQ(fs_write_atomic(path, ok_text, strlen(ok_text), 0644), 0);
	memset(a, 0x5a, sizeof(*a));		/* conf_agent_load sets defaults */
	CHECK_EQ(conf_agent_load(a, path, err), 0);
	CHECK_EQ(a->nservers, 1);
	CHECK(strcmp(a->servers[0], "http://127.0.0.1:8080/") == 0);
	CHECK(strcmp(a->dir, "/var/lib/cascade-agent") == 0);
	CHECK_EQ(a->policy.set, 0);

	CHECK_EQ(fs_write_atomic(path, "", 0, 0644), 0);
	CHECK_EQ(conf_agent_load(a, path, err), -EBADMSG);
	CHECK(strstr(err, "'server'") != NULL);
	CHECK_EQ(fs_write_atomic(path, "trust = k.pub\n", 14, 0644), 0);
	CHECK_EQ(conf_agent_load(a, path, err), -EBADMSG);
	CHECK(strstr(err, "'server'") != NULL);
	CHECK_EQ(fs_write_atomic(path, "server = http://a/\n", 19, 0644), 0);
	CHECK_EQ(conf_agent_load(a, path, err), -EBADMSG);
	CHECK(strstr(err, "'trust'") != NULL);
	CHECK_EQ(fs_write_atomic(path, conf_agent_sample,
	    strlen(conf_agent_sample), 0644), 0);
	CHECK_EQ(conf_agent_load(a, path, err), 0);
	CHECK_EQ(fs_write_atomic(path, "server = http://a/\ntrust = k\n"
	    "window = x\n", 40, 0644), 0);
	CHECK_EQ(conf_agent_load(a, path, err), -EBADMSG);
	CHECK(strncmp(err, "line 3: ", 8) == 0);
}

int
main(void)
{
	if (check_tmpdir_init("test_conf") < 0)
		return 1;
	RUN(test_defaults);
	RUN(test_downstream_name);
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
	RUN(test_not_terminated_blanks);
	RUN(test_too_big);
	RUN(test_long_component_name);
	RUN(test_indented_line);
	RUN(test_too_many_components);
	RUN(test_load);
	RUN(test_valid_name);
	RUN(test_notify_agents);
	RUN(test_notify_agents_bad);
	RUN(test_groups);
	RUN(test_groups_bad);
	RUN(test_group_components_max);
	RUN(test_sample_group_example);
	RUN(test_policy_defaults);
	RUN(test_policy_merge);
	RUN(test_schedule_format);
	RUN(test_schedule_period);
	RUN(test_valid_text);
	RUN(test_agent_defaults);
	RUN(test_agent_sample);
	RUN(test_agent_sample_uncommented);
	RUN(test_agent_sample_file);
	RUN(test_agent_keys);
	RUN(test_agent_servers);
	RUN(test_agent_notify);
	RUN(test_agent_errors);
	RUN(test_agent_too_big);
	RUN(test_agent_load);
	RUN(test_state);
	check_rm_rf(check_tmpdir);
	return check_end();
}
