#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "buf.h"
#include "conf.h"
#include "fs.h"
#include "ts.h"
#include "banned.h"

const char conf_sample[] =
"; cascade.conf: the configuration of one cascade data directory.\n"
"; Every key is optional; the values shown are the embedded defaults.\n"
"; See docs/configuration.md for the reference.\n"
"\n"
"[repository]\n"
"; the local channel that `cascade publish` signs\n"
"channel = main\n"
"; deltas are made from each of this many previous versions to a new one\n"
"delta_window = 30\n"
"; versions kept per component by `cascade gc` (and the server, daily)\n"
"retention = 30\n"
"; how long a manifest stays valid; the server re-signs at half-life\n"
"manifest_expires = 7d\n"
"default_kind = pattern\n"
"default_edition = standard\n"
"\n"
"[server]\n"
"; repeat the key for more addresses; [::]:PORT is dual stack\n"
"listen = [::]:8080\n"
"; worker threads, 0 for one per core\n"
"threads = 0\n"
"; bytes of memory per connection (request headers must fit)\n"
"connection_memory = 3072\n"
"connection_limit = 10000\n"
"; seconds an idle keep-alive connection is kept\n"
"connection_timeout = 120\n"
"gc_interval = 1d\n"
"; the largest file a publish through the admin API may upload (K, M, G)\n"
"upload_max = 1G\n"
"\n"
"; A mirror names its upstream (another cascade server) here.\n"
"; [upstream]\n"
"; url = https://hq.example.net:8080/\n"
"; channels = *                   ; or a list: main, vendor\n"
"; trust = keys/vendor.pub         ; repeat for more keys\n"
"; license_key = 7F3A-91C2-44D8\n"
"; username = EAV-12345678\n"
"; password = secret\n"
"; proxy = http://proxy.example.net:3128\n"
"; proxy_username = user\n"
"; proxy_password = secret\n"
"; ca_file = /etc/ssl/certs/hq-ca.pem\n"
"; schedule = every 60m            ; or daily 02:00, weekly mon 02:00\n"
"; sync_at_startup = yes\n"
"; the name this mirror reports what it holds under, to its upstream\n"
"; downstream_name = branch-office-1   ; default: the host name\n"
"\n"
"[notify]\n"
"; pushes to the agents that listen for them (notify = listen ADDR in\n"
"; their agent.conf): a push that fails is retried this often, at most\n"
"; retry_max times\n"
"retry_interval = 15m\n"
"retry_max = 5\n"
"; after new content, pushes start at random moments within this span\n"
"window = 0\n"
"; agents told at the same time\n"
"max_concurrent = 100\n"
"\n"
"[agents]\n"
"; an agent that enrols with a known license key is licensed at once;\n"
"; with no, it waits (pending) for `cascade agents license ID`\n"
"auto_license = yes\n"
"; the group of an agent that asks for none\n"
"default_group = default\n"
"\n"
"; The policy of the agents of a group: each key set here overrides the\n"
"; agent's own (agent.conf); keys not set are left to the agent.\n"
"; [group default]\n"
"; schedule = every 60m            ; or daily 12:00, weekly mon 12:00\n"
"; window = 10m                    ; random start within this span\n"
"; scheduled = yes                 ; no: on notification and on demand\n"
"; user_may_disable = yes          ; `cascade-agent pause` allowed\n"
"; post_update = /usr/local/bin/scan-now\n"
"; config_once_per_day = no\n"
"; components = virus-pattern scan-engine   ; or * for all\n"
"\n"
"; License tiers, lowest first: a license receives its edition and\n"
"; every lower one.\n"
"; [editions]\n"
"; order = basic, business, premium\n"
"\n"
"; per-component overrides\n"
"; [component virus-pattern]\n"
"; retention = 10\n"
"; delta_window = 10\n";

/* inih's own limits (its defaults, fixed when the library was built) */
#define CONF_INI_LINE_MAX	200	/* INI_MAX_LINE, with the newline */
#define CONF_INI_SECTION_MAX	50	/* MAX_SECTION, with the NUL */

/*
 * The text is fed to inih line by line, so that every error is reported
 * with its own line, and what inih would silently cut or join (long
 * lines, long section names, indented continuation lines) is refused.
 * Both files go through here: what differs is the key handler (set) and
 * what a [section] line means (section; inih itself says nothing about a
 * section without keys).
 */
struct conf_parse_ctx {
	/* 0, -ENOENT (unknown key), another -errno (bad value); *why may
	 * get a static reason */
	int		(*set)(void *obj, const char *section, const char *key,
			    const char *v, const char **why);
	/* each [section] line, before its keys; 0 or -errno with *why */
	int		(*section)(void *obj, const char *name,
			    const char **why);
	void		*obj;
	const char	*p, *end;	/* the text not yet read */
	int		 line;		/* of the last line read */
	int		 failed;	/* line of the first error, or 0 */
	char		 msg[CONF_ERROR_MAX];
};

static void conf_fail(struct conf_parse_ctx *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

static void
conf_fail(struct conf_parse_ctx *ctx, const char *fmt, ...)
{
	va_list	 ap;

	if (ctx->failed)
		return;
	ctx->failed = ctx->line;
	va_start(ap, fmt);
	vsnprintf(ctx->msg, sizeof(ctx->msg), fmt, ap);
	va_end(ap);
}

/* A "[name]" line (n bytes at line, BOM included on line 1): the name
 * as inih will see it, to ctx->section. */
static void
conf_section_line(struct conf_parse_ctx *ctx, const char *line, size_t n)
{
	char		 name[CONF_INI_SECTION_MAX];
	const char	*close, *why = NULL;
	size_t		 len;

	if (ctx->line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
		line += 3;
		n -= 3;
	}
	if (ctx->section == NULL || n == 0 || line[0] != '[' ||
	    (close = memchr(line, ']', n)) == NULL)
		return;
	len = (size_t)(close - line - 1);
	if (len >= sizeof(name))
		return;		/* refused by the caller already */
	memcpy(name, line + 1, len);
	name[len] = '\0';
	if (ctx->section(ctx->obj, name, &why) < 0)
		conf_fail(ctx, "bad section [%.*s]%s%s%s", CONF_INI_SECTION_MAX,
		    name, why != NULL ? " (" : "", why != NULL ? why : "",
		    why != NULL ? ")" : "");
}

static char *
conf_reader(char *dst, int size, void *stream)
{
	struct conf_parse_ctx	*ctx = stream;
	const char		*nl, *close;
	size_t			 n, s;

	if (ctx->p >= ctx->end || ctx->failed)
		return NULL;
	nl = memchr(ctx->p, '\n', (size_t)(ctx->end - ctx->p));
	n = nl != NULL ? (size_t)(nl - ctx->p) + 1 : (size_t)(ctx->end - ctx->p);
	ctx->line++;
	/* within the line: the text need not end in a NUL (found by
	 * fuzz_conf: a last line of blanks, no newline, was read past) */
	for (s = 0; s < n && (ctx->p[s] == ' ' || ctx->p[s] == '\t'); s++)
		;
	if (n >= (size_t)size || n >= CONF_INI_LINE_MAX)
		conf_fail(ctx, "line too long (at most %d bytes)",
		    CONF_INI_LINE_MAX - 1);
	else if (s > 0 && s < n && ctx->p[s] != '\n' && ctx->p[s] != '\r' &&
	    ctx->p[s] != ';' && ctx->p[s] != '#')
		conf_fail(ctx, "indented line (keys start at the beginning "
		    "of the line; continuation lines are not supported)");
	else if (s < n && ctx->p[s] == '[' &&
	    (close = memchr(ctx->p, ']', n)) != NULL &&
	    close - (ctx->p + s + 1) >= CONF_INI_SECTION_MAX)
		conf_fail(ctx, "section name too long (at most %d bytes)",
		    CONF_INI_SECTION_MAX - 1);
	else
		conf_section_line(ctx, ctx->p, n);
	if (ctx->failed) {
		/* end the parse: an empty text from here on */
		ctx->p = ctx->end;
		return NULL;
	}
	memcpy(dst, ctx->p, n);
	dst[n] = '\0';
	ctx->p += n;
	return dst;
}

static int
conf_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct conf_parse_ctx	*ctx = user;
	const char		*why = NULL, *in = section[0] != '\0' ?
				    " in [" : "", *close = in[0] ? "]" : "";
	int			 r;

	if (ctx->failed)
		return 1;
	r = ctx->set(ctx->obj, section, key, value, &why);
	if (r == -ENOENT)
		conf_fail(ctx, "unknown key '%s'%s%s%s", key, in, section,
		    close);
	else if (r < 0)
		conf_fail(ctx, "bad value for '%s'%s%s%s: '%.64s'%s%s%s", key,
		    in, section, close, value, why != NULL ? " (" : "",
		    why != NULL ? why : "", why != NULL ? ")" : "");
	return 1;
}

/* Runs ctx (set, section, obj filled in) over the text. */
static int
conf_ini_parse(struct conf_parse_ctx *ctx, const char *p, size_t len,
    char err[CONF_ERROR_MAX])
{
	int	 line;

	err[0] = '\0';
	if (len > CONF_SIZE_MAX) {
		snprintf(err, CONF_ERROR_MAX, "file over %u bytes",
		    CONF_SIZE_MAX);
		return -E2BIG;
	}
	if (memchr(p, '\0', len) != NULL) {
		snprintf(err, CONF_ERROR_MAX, "file holds a NUL byte");
		return -EBADMSG;
	}
	ctx->p = p;
	ctx->end = p + len;
	ctx->line = 0;
	ctx->failed = 0;
	line = ini_parse_stream(conf_reader, ctx, conf_handler, ctx);
	if (line < 0)
		return -ENOMEM;
	/* the first error wins: inih's (syntax) or ours */
	if (line > 0 && (ctx->failed == 0 || line < ctx->failed)) {
		snprintf(err, CONF_ERROR_MAX, "line %d: syntax error", line);
		return -EBADMSG;
	}
	if (ctx->failed) {
		snprintf(err, CONF_ERROR_MAX, "line %d: %.*s", ctx->failed,
		    CONF_ERROR_MAX - 24, ctx->msg);
		return -EBADMSG;
	}
	return 0;
}

/* Reads the file at path (with the cap) and parses it with ctx. */
static int
conf_ini_load(struct conf_parse_ctx *ctx, const char *path,
    char err[CONF_ERROR_MAX])
{
	struct buf	 b;
	int		 r;

	err[0] = '\0';
	buf_init(&b, CONF_SIZE_MAX);
	r = fs_read(&b, path);
	if (r == 0)
		r = conf_ini_parse(ctx, b.ptr != NULL ? b.ptr : "", b.len, err);
	buf_release(&b);
	return r;
}

int
conf_valid_name(const char *name, int allow_slash)
{
	size_t	 i, n = strlen(name);

	if (n == 0 || n > CONF_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			continue;
		if (i == 0)
			return 0;
		if (ch == '.' || ch == '_' || ch == '-')
			continue;
		/* a slash separates parts that each start alphanumeric */
		if (ch == '/' && allow_slash && i + 1 < n &&
		    name[i + 1] != '/' && name[i + 1] != '.' &&
		    name[i + 1] != '-' && name[i + 1] != '_')
			continue;
		return 0;
	}
	return 1;
}

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->channel, "main", 5);
	c->delta_window = 30;
	c->retention = 30;
	c->manifest_expires = 7 * 86400;
	memcpy(c->default_kind, "pattern", 8);
	memcpy(c->default_edition, "standard", 9);
	c->threads = 0;
	c->connection_memory = 3072;
	c->connection_limit = 10000;
	c->connection_timeout = 120;
	c->gc_interval = 86400;
	c->upload_max = (uint64_t)1 << 30;
	c->upstream.schedule.kind = CONF_EVERY;
	c->upstream.schedule.every = 3600;
	c->upstream.sync_at_startup = 1;
	c->notify_retry_interval = 900;
	c->notify_retry_max = 5;
	c->notify_window = 0;
	c->notify_max_concurrent = 100;
	c->agents_auto_license = 1;
	memcpy(c->agents_default_group, "default", 8);
}

void
conf_policy_defaults(struct conf_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->schedule.kind = CONF_EVERY;
	p->schedule.every = 3600;
	p->window = 600;
	p->scheduled = 1;
	p->user_may_disable = 1;
	p->config_once_per_day = 0;
}

void
conf_policy_merge(struct conf_policy *dst, const struct conf_policy *over)
{
	int	 i;

	if (over->set & CONF_POLICY_SCHEDULE)
		dst->schedule = over->schedule;
	if (over->set & CONF_POLICY_WINDOW)
		dst->window = over->window;
	if (over->set & CONF_POLICY_SCHEDULED)
		dst->scheduled = over->scheduled;
	if (over->set & CONF_POLICY_USER_MAY_DISABLE)
		dst->user_may_disable = over->user_may_disable;
	if (over->set & CONF_POLICY_POST_UPDATE)
		memcpy(dst->post_update, over->post_update,
		    sizeof(dst->post_update));
	if (over->set & CONF_POLICY_CONFIG_ONCE)
		dst->config_once_per_day = over->config_once_per_day;
	if (over->set & CONF_POLICY_COMPONENTS) {
		for (i = 0; i < over->ncomponents && i < CONF_SELECT_MAX; i++)
			memcpy(dst->components[i], over->components[i],
			    sizeof(dst->components[i]));
		dst->ncomponents = i;
	}
	dst->set |= over->set;
}

const struct conf_group *
conf_group_find(const struct conf *c, const char *name)
{
	int	 i;

	for (i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return &c->groups[i];
	return NULL;
}

static int
conf_copy(char *dst, size_t size, const char *v)
{
	size_t	 n = strlen(v);

	if (n >= size)
		return -E2BIG;
	memcpy(dst, v, n + 1);
	return 0;
}

static int
conf_bool(const char *v, int *ret)
{
	if (strcmp(v, "yes") == 0 || strcmp(v, "true") == 0 ||
	    strcmp(v, "on") == 0 || strcmp(v, "1") == 0)
		*ret = 1;
	else if (strcmp(v, "no") == 0 || strcmp(v, "false") == 0 ||
	    strcmp(v, "off") == 0 || strcmp(v, "0") == 0)
		*ret = 0;
	else
		return -EBADMSG;
	return 0;
}

/* Splits "a, b, c" (separated by any of seps, blanks around items
 * dropped) into names; each must be valid, and none listed twice. */
static int
conf_name_list(const char *v, const char *seps, int allow_slash,
    char (*dst)[CONF_NAME_MAX + 1], int max, int *ret_n)
{
	char	 item[CONF_VALUE_MAX];
	size_t	 len;
	int	 i, n = 0;

	while (*v != '\0') {
		v += strspn(v, " \t,");
		len = strcspn(v, seps);
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len == 0)
			break;
		if (len >= sizeof(item) || n == max)
			return -E2BIG;
		memcpy(item, v, len);
		item[len] = '\0';
		if (!conf_valid_name(item, allow_slash))
			return -EBADMSG;
		for (i = 0; i < n; i++)
			if (strcmp(dst[i], item) == 0)
				return -EBADMSG;
		memcpy(dst[n++], item, len + 1);
		v += len;
	}
	if (n == 0)
		return -EBADMSG;
	*ret_n = n;
	return 0;
}

int
conf_schedule_parse(const char *s, struct conf_schedule *ret)
{
	static const char	*days[] = { "sun", "mon", "tue", "wed", "thu",
	    "fri", "sat" };
	struct conf_schedule	 sc;
	char			 a[16], b[16], c[16], extra[2];
	int			 n, h, m, i;

	memset(&sc, 0, sizeof(sc));
	n = sscanf(s, "%15s %15s %15s %1s", a, b, c, extra);
	if (n == 2 && strcmp(a, "every") == 0) {
		if (ts_duration_parse(b, &sc.every) < 0 || sc.every < 1)
			return -EBADMSG;
		sc.kind = CONF_EVERY;
	} else if ((n == 2 && strcmp(a, "daily") == 0) ||
	    (n == 3 && strcmp(a, "weekly") == 0)) {
		const char *t = n == 2 ? b : c;

		if (strlen(t) != 5 || t[2] != ':' ||
		    sscanf(t, "%2d:%2d", &h, &m) != 2 || h < 0 || h > 23 ||
		    m < 0 || m > 59)
			return -EBADMSG;
		sc.kind = n == 2 ? CONF_DAILY : CONF_WEEKLY;
		sc.hour = h;
		sc.minute = m;
		if (n == 3) {
			for (i = 0; i < 7 && strcmp(b, days[i]) != 0; i++)
				;
			if (i == 7)
				return -EBADMSG;
			sc.wday = i;
		}
	} else
		return -EBADMSG;
	*ret = sc;
	return 0;
}

time_t
conf_schedule_next(const struct conf_schedule *s, time_t now)
{
	struct tm	 tm;
	time_t		 t;
	int		 i;

	if (s->kind == CONF_EVERY)
		return now + s->every;
	localtime_r(&now, &tm);
	tm.tm_hour = s->hour;
	tm.tm_min = s->minute;
	tm.tm_sec = 0;
	tm.tm_isdst = -1;
	for (i = 0; i < 8; i++) {
		struct tm d = tm;

		d.tm_mday += i;
		t = mktime(&d);
		if (t > now && (s->kind == CONF_DAILY || d.tm_wday == s->wday))
			return t;
	}
	return now + 7 * 86400;
}

void
conf_schedule_format(const struct conf_schedule *s,
    char out[CONF_SCHEDULE_TEXT_MAX])
{
	static const char	*days[] = { "sun", "mon", "tue", "wed", "thu",
	    "fri", "sat" };
	static const struct {
		int64_t	 seconds;
		char	 unit;
	}			 units[] = {
		{ 86400, 'd' }, { 3600, 'h' }, { 60, 'm' }, { 1, 's' },
	};
	size_t			 i;

	switch (s->kind) {
	case CONF_DAILY:
		snprintf(out, CONF_SCHEDULE_TEXT_MAX, "daily %02d:%02d",
		    s->hour, s->minute);
		return;
	case CONF_WEEKLY:
		snprintf(out, CONF_SCHEDULE_TEXT_MAX, "weekly %s %02d:%02d",
		    days[s->wday >= 0 && s->wday < 7 ? s->wday : 0], s->hour,
		    s->minute);
		return;
	default:
		break;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]) - 1; i++)
		if (s->every > 0 && s->every % units[i].seconds == 0)
			break;
	snprintf(out, CONF_SCHEDULE_TEXT_MAX, "every %lld%c",
	    (long long)(s->every / units[i].seconds), units[i].unit);
}

int64_t
conf_schedule_period(const struct conf_schedule *s)
{
	switch (s->kind) {
	case CONF_DAILY:
		return 86400;
	case CONF_WEEKLY:
		return 7 * 86400;
	default:
		return s->every;
	}
}

int
conf_edition_rank(const struct conf *c, const char *edition)
{
	int	 i;

	if (c->neditions == 0)
		return 0;
	for (i = 0; i < c->neditions; i++)
		if (strcmp(c->editions[i], edition) == 0)
			return i;
	return -1;
}

int
conf_upstream_takes(const struct conf *c, const char *channel)
{
	int	 i;

	if (c->upstream.nchannels == 0)
		return 1;
	for (i = 0; i < c->upstream.nchannels; i++)
		if (strcmp(c->upstream.channels[i], channel) == 0)
			return 1;
	return 0;
}

static int
conf_int(const char *v, int min, int max, int *ret)
{
	uint64_t	 u;

	if (ts_parse_u64(v, (uint64_t)min, (uint64_t)max, &u) < 0)
		return -EBADMSG;
	*ret = (int)u;
	return 0;
}

/* A size in bytes, with an optional unit: K, M, G (powers of 1024). */
static int
conf_size(const char *v, uint64_t min, uint64_t max, uint64_t *ret)
{
	char		 num[32];
	size_t		 n = strlen(v);
	unsigned	 shift = 0;
	uint64_t	 u;

	if (n > 0 && strchr("KkMmGg", v[n - 1]) != NULL) {
		shift = strchr("Kk", v[n - 1]) != NULL ? 10 :
		    strchr("Mm", v[n - 1]) != NULL ? 20 : 30;
		n--;
	}
	if (n == 0 || n >= sizeof(num))
		return -EBADMSG;
	memcpy(num, v, n);
	num[n] = '\0';
	if (ts_parse_u64(num, 0, max >> shift, &u) < 0 || (u << shift) < min)
		return -EBADMSG;
	*ret = u << shift;
	return 0;
}

static int
conf_name(const char *v, char *dst, int allow_slash)
{
	if (!conf_valid_name(v, allow_slash))
		return -EBADMSG;
	memcpy(dst, v, strlen(v) + 1);
	return 0;
}

static int
conf_duration(const char *v, int64_t min, int64_t *ret)
{
	int64_t	 d;

	if (ts_duration_parse(v, &d) < 0 || d < min)
		return -EBADMSG;
	*ret = d;
	return 0;
}

int
conf_valid_text(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	uint32_t		 cp;
	size_t			 i, n;

	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf) {
			n = 1;
			cp = *p & 0x1fu;
		} else if (*p >= 0xe0 && *p <= 0xef) {
			n = 2;
			cp = *p & 0x0fu;
		} else if (*p >= 0xf0 && *p <= 0xf4) {
			n = 3;
			cp = *p & 0x07u;
		} else
			return 0;
		for (i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return 0;	/* the NUL ends here too */
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		/* overlong forms, surrogates, beyond Unicode, C1 controls */
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
		    (cp >= 0x80 && cp <= 0x9f))
			return 0;
		p += n + 1;
	}
	return 1;
}

/* A policy key (cascade.conf [group NAME], agent.conf): -ENOENT if key
 * is none. */
static int
conf_policy_set(struct conf_policy *p, const char *key, const char *v,
    const char **why)
{
	unsigned	 bit;
	int		 r;

	if (strcmp(key, "schedule") == 0) {
		bit = CONF_POLICY_SCHEDULE;
		r = conf_schedule_parse(v, &p->schedule);
		if (r < 0)
			*why = "every DURATION, daily HH:MM or weekly DAY HH:MM";
	} else if (strcmp(key, "window") == 0) {
		bit = CONF_POLICY_WINDOW;
		r = conf_duration(v, 0, &p->window);
	} else if (strcmp(key, "scheduled") == 0) {
		bit = CONF_POLICY_SCHEDULED;
		r = conf_bool(v, &p->scheduled);
	} else if (strcmp(key, "user_may_disable") == 0) {
		bit = CONF_POLICY_USER_MAY_DISABLE;
		r = conf_bool(v, &p->user_may_disable);
	} else if (strcmp(key, "post_update") == 0) {
		bit = CONF_POLICY_POST_UPDATE;
		if (!conf_valid_text(v)) {
			*why = "control characters or bad UTF-8";
			r = -EBADMSG;
		} else
			r = conf_copy(p->post_update, sizeof(p->post_update),
			    v);
	} else if (strcmp(key, "config_once_per_day") == 0) {
		bit = CONF_POLICY_CONFIG_ONCE;
		r = conf_bool(v, &p->config_once_per_day);
	} else if (strcmp(key, "components") == 0) {
		bit = CONF_POLICY_COMPONENTS;
		if (strcmp(v, "*") == 0) {
			p->ncomponents = 0;
			r = 0;
		} else {
			r = conf_name_list(v, " \t,", 1, p->components,
			    CONF_SELECT_MAX, &p->ncomponents);
			if (r == -E2BIG)
				*why = "too many components";
			else if (r < 0)
				*why = "component names, or * for all";
		}
	} else
		return -ENOENT;
	if (r == 0)
		p->set |= bit;
	return r;
}

static struct conf_group *
conf_group_get(struct conf *c, const char *name)
{
	struct conf_group	*g;
	int			 i;

	for (i = 0; i < c->ngroups; i++)
		if (strcmp(c->groups[i].name, name) == 0)
			return &c->groups[i];
	if (c->ngroups == CONF_GROUPS_MAX)
		return NULL;
	g = &c->groups[c->ngroups++];
	memcpy(g->name, name, strlen(name) + 1);
	conf_policy_defaults(&g->policy);
	return g;
}

/* A [group NAME] line declares the group, even with no key under it. */
static int
conf_section(void *obj, const char *name, const char **why)
{
	struct conf	*c = obj;

	if (strncmp(name, "group ", 6) != 0)
		return 0;
	if (!conf_valid_name(name + 6, 0)) {
		*why = "a group name is [a-z0-9][a-z0-9._-]*";
		return -EBADMSG;
	}
	if (conf_group_get(c, name + 6) == NULL) {
		*why = "too many groups";
		return -E2BIG;
	}
	return 0;
}

static struct conf_component *
conf_component_get(struct conf *c, const char *name, int create)
{
	struct conf_component	*cc;
	int			 i;

	for (i = 0; i < c->ncomponents; i++)
		if (strcmp(c->components[i].name, name) == 0)
			return &c->components[i];
	if (!create || c->ncomponents == CONF_COMPONENTS_MAX)
		return NULL;
	cc = &c->components[c->ncomponents++];
	memcpy(cc->name, name, strlen(name) + 1);
	cc->retention = 0;
	cc->delta_window = -1;
	return cc;
}

/* [repository] state: "sqlite" (or empty) keeps everything in state.db;
 * a libpq connection URI moves the shared tables to PostgreSQL. */
static int
conf_state(const char *v, char dst[CONF_VALUE_MAX], const char **why)
{
	if (v[0] == '\0' || strcmp(v, "sqlite") == 0) {
		dst[0] = '\0';
		return 0;
	}
	if ((strncmp(v, "postgresql://", 13) != 0 &&
	    strncmp(v, "postgres://", 11) != 0) || !conf_valid_text(v)) {
		*why = "expected sqlite or a postgresql:// URL";
		return -EBADMSG;
	}
	return conf_copy(dst, CONF_VALUE_MAX, v);
}

static int
conf_set(void *obj, const char *section, const char *key, const char *v,
    const char **why)
{
	struct conf		*c = obj;
	struct conf_component	*cc;
	struct conf_group	*g;

	if (strlen(v) >= CONF_VALUE_MAX)
		return -E2BIG;
	if (strcmp(section, "repository") == 0) {
		if (strcmp(key, "channel") == 0)
			return conf_name(v, c->channel, 0);
		if (strcmp(key, "delta_window") == 0)
			return conf_int(v, 0, 1000, &c->delta_window);
		if (strcmp(key, "retention") == 0)
			return conf_int(v, 1, 100000, &c->retention);
		if (strcmp(key, "manifest_expires") == 0) {
			if (ts_duration_parse(v, &c->manifest_expires) < 0 ||
			    c->manifest_expires < 60)
				return -EBADMSG;
			return 0;
		}
		if (strcmp(key, "default_kind") == 0)
			return conf_name(v, c->default_kind, 0);
		if (strcmp(key, "default_edition") == 0)
			return conf_name(v, c->default_edition, 0);
		if (strcmp(key, "state") == 0)
			return conf_state(v, c->state, why);
		return -ENOENT;
	}
	if (strcmp(section, "server") == 0) {
		if (strcmp(key, "state") == 0)
			return conf_state(v, c->state, why);
		if (strcmp(key, "listen") == 0) {
			if (c->nlisten == CONF_LISTEN_MAX)
				return -E2BIG;
			if (v[0] == '\0' || strchr(v, ':') == NULL)
				return -EBADMSG;
			memcpy(c->listen[c->nlisten++], v, strlen(v) + 1);
			return 0;
		}
		if (strcmp(key, "threads") == 0)
			return conf_int(v, 0, 256, &c->threads);
		if (strcmp(key, "connection_memory") == 0)
			return conf_int(v, 1024, 1 << 20, &c->connection_memory);
		if (strcmp(key, "connection_limit") == 0)
			return conf_int(v, 1, 1000000, &c->connection_limit);
		if (strcmp(key, "connection_timeout") == 0)
			return conf_int(v, 1, 86400, &c->connection_timeout);
		if (strcmp(key, "gc_interval") == 0) {
			if (ts_duration_parse(v, &c->gc_interval) < 0 ||
			    c->gc_interval < 1)
				return -EBADMSG;
			return 0;
		}
		if (strcmp(key, "upload_max") == 0)
			return conf_size(v, 1, CONF_UPLOAD_MAX, &c->upload_max);
		return -ENOENT;
	}
	if (strcmp(section, "upstream") == 0) {
		struct conf_upstream *u = &c->upstream;

		if (strcmp(key, "url") == 0) {
			if (strncmp(v, "http://", 7) != 0 &&
			    strncmp(v, "https://", 8) != 0)
				return -EBADMSG;
			return conf_copy(u->url, sizeof(u->url), v);
		}
		if (strcmp(key, "channels") == 0) {
			if (strcmp(v, "*") == 0) {
				u->nchannels = 0;
				return 0;
			}
			return conf_name_list(v, ",", 0, u->channels,
			    CONF_CHANNELS_MAX, &u->nchannels);
		}
		if (strcmp(key, "trust") == 0) {
			if (u->ntrust == CONF_TRUST_MAX || v[0] == '\0')
				return -E2BIG;
			return conf_copy(u->trust[u->ntrust++],
			    sizeof(u->trust[0]), v);
		}
		if (strcmp(key, "license_key") == 0)
			return conf_copy(u->license_key,
			    sizeof(u->license_key), v);
		if (strcmp(key, "username") == 0)
			return conf_copy(u->username, sizeof(u->username), v);
		if (strcmp(key, "password") == 0)
			return conf_copy(u->password, sizeof(u->password), v);
		if (strcmp(key, "proxy") == 0)
			return conf_copy(u->proxy, sizeof(u->proxy), v);
		if (strcmp(key, "proxy_username") == 0)
			return conf_copy(u->proxy_username,
			    sizeof(u->proxy_username), v);
		if (strcmp(key, "proxy_password") == 0)
			return conf_copy(u->proxy_password,
			    sizeof(u->proxy_password), v);
		if (strcmp(key, "ca_file") == 0)
			return conf_copy(u->ca_file, sizeof(u->ca_file), v);
		if (strcmp(key, "schedule") == 0)
			return conf_schedule_parse(v, &u->schedule);
		if (strcmp(key, "sync_at_startup") == 0)
			return conf_bool(v, &u->sync_at_startup);
		if (strcmp(key, "downstream_name") == 0) {
			if (!conf_valid_name(v, 0))
				return -EBADMSG;
			return conf_copy(u->downstream_name,
			    sizeof(u->downstream_name), v);
		}
		return -ENOENT;
	}
	if (strcmp(section, "editions") == 0) {
		if (strcmp(key, "order") == 0)
			return conf_name_list(v, ",", 0, c->editions,
			    CONF_EDITIONS_MAX, &c->neditions);
		return -ENOENT;
	}
	if (strncmp(section, "component ", 10) == 0) {
		if (!conf_valid_name(section + 10, 1))
			return -EBADMSG;
		cc = conf_component_get(c, section + 10, 1);
		if (cc == NULL)
			return -E2BIG;
		if (strcmp(key, "retention") == 0)
			return conf_int(v, 1, 100000, &cc->retention);
		if (strcmp(key, "delta_window") == 0)
			return conf_int(v, 0, 1000, &cc->delta_window);
		return -ENOENT;
	}
	if (strcmp(section, "notify") == 0) {
		if (strcmp(key, "retry_interval") == 0)
			return conf_duration(v, 1, &c->notify_retry_interval);
		if (strcmp(key, "retry_max") == 0)
			return conf_int(v, 0, 1000, &c->notify_retry_max);
		if (strcmp(key, "window") == 0)
			return conf_duration(v, 0, &c->notify_window);
		if (strcmp(key, "max_concurrent") == 0)
			return conf_int(v, 1, 100000,
			    &c->notify_max_concurrent);
		return -ENOENT;
	}
	if (strcmp(section, "agents") == 0) {
		if (strcmp(key, "auto_license") == 0)
			return conf_bool(v, &c->agents_auto_license);
		if (strcmp(key, "default_group") == 0)
			return conf_name(v, c->agents_default_group, 0);
		return -ENOENT;
	}
	if (strncmp(section, "group ", 6) == 0) {
		/* conf_section made it, or refused the name */
		if (!conf_valid_name(section + 6, 0))
			return -EBADMSG;
		g = conf_group_get(c, section + 6);
		if (g == NULL)
			return -E2BIG;
		return conf_policy_set(&g->policy, key, v, why);
	}
	return -ENOENT;
}

int
conf_parse(struct conf *c, const char *p, size_t len,
    char err[CONF_ERROR_MAX])
{
	struct conf_parse_ctx	 ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.set = conf_set;
	ctx.section = conf_section;
	ctx.obj = c;
	return conf_ini_parse(&ctx, p, len, err);
}

int
conf_load(struct conf *c, const char *path, char err[CONF_ERROR_MAX])
{
	struct conf_parse_ctx	 ctx;

	conf_defaults(c);
	memset(&ctx, 0, sizeof(ctx));
	ctx.set = conf_set;
	ctx.section = conf_section;
	ctx.obj = c;
	return conf_ini_load(&ctx, path, err);
}

int
conf_retention(const struct conf *c, const char *component)
{
	int	 i;

	for (i = 0; i < c->ncomponents; i++)
		if (strcmp(c->components[i].name, component) == 0 &&
		    c->components[i].retention > 0)
			return c->components[i].retention;
	return c->retention;
}

int
conf_delta_window(const struct conf *c, const char *component)
{
	int	 i;

	for (i = 0; i < c->ncomponents; i++)
		if (strcmp(c->components[i].name, component) == 0 &&
		    c->components[i].delta_window >= 0)
			return c->components[i].delta_window;
	return c->delta_window;
}

/* ---- agent.conf ---------------------------------------------------------- */

const char conf_agent_sample[] =
"; agent.conf: the configuration of cascade-agent on one endpoint.\n"
"; Keys have no section. See docs/configuration.md for the reference.\n"
"\n"
"; The servers to sync from, tried in order: repeat the key or list\n"
"; several on one line (separated by spaces or commas).\n"
"server = http://mirror.example.net:8080/\n"
"; The enrolment (license) key issued by the server; a server with no\n"
"; licenses configured needs none.\n"
"; enroll_key = 7F3A-91C2-44D8\n"
"; The channel keys to accept: globs of minisign public key files;\n"
"; repeat the key for more.\n"
"trust = /etc/cascade/keys/*.pub\n"
"; Installed content and the agent's state (its id and token, mode 0600).\n"
"dir = /var/lib/cascade-agent\n"
"; The group asked for at enrolment (none: the server's default group).\n"
"; group = default\n"
"\n"
"; How the server tells of new content: longpoll (the agent holds a\n"
"; request open; works behind NAT), listen ADDR (the server posts to\n"
"; /v1/notify on ADDR, for example listen [::]:9137) or none (scheduled\n"
"; syncs only).\n"
"notify = longpoll\n"
"; With listen: the URL the server posts to (default: made from ADDR; a\n"
"; wildcard address becomes the address the server sees the agent at).\n"
"; notify_url = http://host.example.net:9137/v1/notify\n"
"\n"
"; proxy = http://proxy.example.net:3128\n"
"; proxy_username = user\n"
"; proxy_password = secret\n"
"; ca_file = /etc/ssl/certs/mirror-ca.pem\n"
"\n"
"; yes: a post_update that the server's policy sets replaces this file's;\n"
"; no: this file's is the one run.\n"
"server_post_update = yes\n"
"\n"
"; Policy, shown with the defaults. The policy of the agent's group on\n"
"; the server overrides each key it sets.\n"
"; schedule = every 60m            ; or daily 12:00, weekly mon 12:00\n"
"; window = 10m                    ; each sync starts at random within it\n"
"; scheduled = yes                 ; no: on notification and on demand only\n"
"; user_may_disable = yes          ; `cascade-agent pause` may stop syncs\n"
"; post_update = /usr/local/bin/scan-now   ; gets CASCADE_UPDATED=a,b\n"
"; config_once_per_day = no        ; config components once a day at most\n"
"; components = virus-pattern scan-engine  ; default: all the license allows\n";


void
conf_agent_defaults(struct conf_agent *a)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->dir, "/var/lib/cascade-agent", sizeof("/var/lib/cascade-agent"));
	a->notify = CONF_NOTIFY_LONGPOLL;
	a->server_post_update = 1;
	conf_policy_defaults(&a->policy);
}

/* An http:// or https:// URL with something after the scheme, without
 * blanks or control characters. */
static int
conf_valid_url(const char *v)
{
	size_t	 n;

	if (strncmp(v, "http://", 7) == 0)
		n = 7;
	else if (strncmp(v, "https://", 8) == 0)
		n = 8;
	else
		return 0;
	return v[n] != '\0' && v[n] != '/' && strpbrk(v, " \t") == NULL &&
	    conf_valid_text(v);
}

/* A listening address, as the server binds it (addr.h). */
static int
conf_valid_addr(const char *s)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;

	return addr_parse(s, &ss, &len) == 0;
}

/* One or more URLs separated by blanks or commas, each made to end with
 * '/'. */
static int
conf_agent_servers(struct conf_agent *a, const char *v, const char **why)
{
	char	 url[CONF_VALUE_MAX];
	size_t	 len;
	int	 n = 0;

	for (;;) {
		v += strspn(v, " \t,");
		len = strcspn(v, " \t,");
		if (len == 0)
			break;
		if (a->nservers == CONF_SERVERS_MAX) {
			*why = "too many servers";
			return -E2BIG;
		}
		if (len + 1 >= sizeof(url)) {
			*why = "URL too long";
			return -E2BIG;
		}
		memcpy(url, v, len);
		url[len] = '\0';
		if (!conf_valid_url(url)) {
			*why = "each must start with http:// or https://";
			return -EBADMSG;
		}
		if (url[len - 1] != '/') {
			url[len++] = '/';
			url[len] = '\0';
		}
		memcpy(a->servers[a->nservers++], url, len + 1);
		v += strcspn(v, " \t,");
		n++;
	}
	if (n == 0) {
		*why = "a URL is needed";
		return -EBADMSG;
	}
	return 0;
}

static int
conf_agent_notify(struct conf_agent *a, const char *v, const char **why)
{
	const char	*addr;

	if (strcmp(v, "longpoll") == 0 || strcmp(v, "none") == 0) {
		a->notify = v[0] == 'l' ? CONF_NOTIFY_LONGPOLL :
		    CONF_NOTIFY_NONE;
		a->notify_listen[0] = '\0';
		return 0;
	}
	if (strcmp(v, "listen") == 0)
		addr = "[::]:9137";
	else if (strncmp(v, "listen ", 7) == 0 || strncmp(v, "listen\t", 7) == 0)
		addr = v + 7 + strspn(v + 7, " \t");
	else {
		*why = "longpoll, none or listen ADDR";
		return -EBADMSG;
	}
	if (!conf_valid_addr(addr)) {
		*why = "listen [v6]:port or v4:port";
		return -EBADMSG;
	}
	a->notify = CONF_NOTIFY_LISTEN;
	return conf_copy(a->notify_listen, sizeof(a->notify_listen), addr);
}

static int
conf_agent_set(void *obj, const char *section, const char *key,
    const char *v, const char **why)
{
	struct conf_agent	*a = obj;

	if (section[0] != '\0')
		return -ENOENT;
	if (strlen(v) >= CONF_VALUE_MAX)
		return -E2BIG;
	if (strcmp(key, "server") == 0)
		return conf_agent_servers(a, v, why);
	if (strcmp(key, "enroll_key") == 0) {
		if (!conf_valid_text(v))
			return -EBADMSG;
		return conf_copy(a->enroll_key, sizeof(a->enroll_key), v);
	}
	if (strcmp(key, "trust") == 0) {
		if (a->ntrust == CONF_TRUST_MAX) {
			*why = "too many trust globs";
			return -E2BIG;
		}
		if (v[0] == '\0' || !conf_valid_text(v))
			return -EBADMSG;
		return conf_copy(a->trust[a->ntrust++], sizeof(a->trust[0]), v);
	}
	if (strcmp(key, "dir") == 0) {
		if (v[0] == '\0' || !conf_valid_text(v))
			return -EBADMSG;
		return conf_copy(a->dir, sizeof(a->dir), v);
	}
	if (strcmp(key, "group") == 0) {
		if (v[0] == '\0') {
			a->group[0] = '\0';
			return 0;
		}
		return conf_name(v, a->group, 0);
	}
	if (strcmp(key, "notify") == 0)
		return conf_agent_notify(a, v, why);
	if (strcmp(key, "notify_url") == 0) {
		if (v[0] != '\0' && !conf_valid_url(v)) {
			*why = "http:// or https:// URL";
			return -EBADMSG;
		}
		return conf_copy(a->notify_url, sizeof(a->notify_url), v);
	}
	if (strcmp(key, "proxy") == 0)
		return conf_copy(a->proxy, sizeof(a->proxy), v);
	if (strcmp(key, "proxy_username") == 0)
		return conf_copy(a->proxy_username, sizeof(a->proxy_username),
		    v);
	if (strcmp(key, "proxy_password") == 0)
		return conf_copy(a->proxy_password, sizeof(a->proxy_password),
		    v);
	if (strcmp(key, "ca_file") == 0)
		return conf_copy(a->ca_file, sizeof(a->ca_file), v);
	if (strcmp(key, "server_post_update") == 0)
		return conf_bool(v, &a->server_post_update);
	return conf_policy_set(&a->policy, key, v, why);
}

static int
conf_agent_section(void *obj, const char *name, const char **why)
{
	(void)obj;
	(void)name;
	*why = "agent.conf has no sections";
	return -EBADMSG;
}

int
conf_agent_parse(struct conf_agent *a, const char *p, size_t len,
    char err[CONF_ERROR_MAX])
{
	struct conf_parse_ctx	 ctx;

	memset(&ctx, 0, sizeof(ctx));
	ctx.set = conf_agent_set;
	ctx.section = conf_agent_section;
	ctx.obj = a;
	return conf_ini_parse(&ctx, p, len, err);
}

int
conf_agent_load(struct conf_agent *a, const char *path,
    char err[CONF_ERROR_MAX])
{
	struct conf_parse_ctx	 ctx;
	int			 r;

	conf_agent_defaults(a);
	memset(&ctx, 0, sizeof(ctx));
	ctx.set = conf_agent_set;
	ctx.section = conf_agent_section;
	ctx.obj = a;
	r = conf_ini_load(&ctx, path, err);
	if (r < 0)
		return r;
	if (a->nservers == 0) {
		snprintf(err, CONF_ERROR_MAX, "no 'server' given (the URL of "
		    "a cascade server)");
		return -EBADMSG;
	}
	if (a->ntrust == 0) {
		snprintf(err, CONF_ERROR_MAX, "no 'trust' given (the channel "
		    "keys to accept)");
		return -EBADMSG;
	}
	return 0;
}
