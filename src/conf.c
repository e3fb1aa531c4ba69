#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The text is fed to inih line by line, so that every error is reported
 * with its own line, and what inih would silently cut or join (long
 * lines, long section names, indented continuation lines) is refused. */
struct conf_parse_ctx {
	struct conf	*c;
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
	s = strspn(ctx->p, " \t");
	if (n >= (size_t)size || n >= CONF_INI_LINE_MAX)
		conf_fail(ctx, "line too long (at most %d bytes)",
		    CONF_INI_LINE_MAX - 1);
	else if (s > 0 && s < n && ctx->p[s] != '\n' && ctx->p[s] != '\r' &&
	    ctx->p[s] != ';' && ctx->p[s] != '#')
		conf_fail(ctx, "indented line (keys start at the beginning "
		    "of the line; continuation lines are not supported)");
	else if (ctx->p[s] == '[' && (close = memchr(ctx->p, ']', n)) != NULL &&
	    close - (ctx->p + s + 1) >= CONF_INI_SECTION_MAX)
		conf_fail(ctx, "section name too long (at most %d bytes)",
		    CONF_INI_SECTION_MAX - 1);
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
	c->upstream.schedule.kind = CONF_EVERY;
	c->upstream.schedule.every = 3600;
	c->upstream.sync_at_startup = 1;
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

/* Splits "a, b, c" into names; each must be valid. */
static int
conf_name_list(const char *v, char (*dst)[CONF_NAME_MAX + 1], int max,
    int *ret_n)
{
	char	 item[CONF_VALUE_MAX];
	size_t	 len;
	int	 n = 0;

	while (*v != '\0') {
		v += strspn(v, " \t,");
		len = strcspn(v, ",");
		while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
			len--;
		if (len == 0)
			break;
		if (len >= sizeof(item) || n == max)
			return -E2BIG;
		memcpy(item, v, len);
		item[len] = '\0';
		if (!conf_valid_name(item, 0))
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

static int
conf_name(const char *v, char *dst, int allow_slash)
{
	if (!conf_valid_name(v, allow_slash))
		return -EBADMSG;
	memcpy(dst, v, strlen(v) + 1);
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

static int
conf_set(struct conf *c, const char *section, const char *key,
    const char *v)
{
	struct conf_component	*cc;

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
		return -ENOENT;
	}
	if (strcmp(section, "server") == 0) {
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
			return conf_name_list(v, u->channels,
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
		return -ENOENT;
	}
	if (strcmp(section, "editions") == 0) {
		if (strcmp(key, "order") == 0)
			return conf_name_list(v, c->editions,
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
	return -ENOENT;
}

static int
conf_handler(void *user, const char *section, const char *key,
    const char *value)
{
	struct conf_parse_ctx	*ctx = user;
	int			 r;

	if (ctx->failed)
		return 1;
	r = conf_set(ctx->c, section, key, value);
	if (r == -ENOENT)
		conf_fail(ctx, "unknown key '%s' in [%s]", key, section);
	else if (r < 0)
		conf_fail(ctx, "bad value for '%s' in [%s]: '%.64s'", key,
		    section, value);
	return 1;
}

int
conf_parse(struct conf *c, const char *p, size_t len,
    char err[CONF_ERROR_MAX])
{
	struct conf_parse_ctx	 ctx;
	int			 line;

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
	memset(&ctx, 0, sizeof(ctx));
	ctx.c = c;
	ctx.p = p;
	ctx.end = p + len;
	line = ini_parse_stream(conf_reader, &ctx, conf_handler, &ctx);
	if (line < 0)
		return -ENOMEM;
	/* the first error wins: inih's (syntax) or ours */
	if (line > 0 && (ctx.failed == 0 || line < ctx.failed)) {
		snprintf(err, CONF_ERROR_MAX, "line %d: syntax error", line);
		return -EBADMSG;
	}
	if (ctx.failed) {
		snprintf(err, CONF_ERROR_MAX, "line %d: %.*s", ctx.failed,
		    CONF_ERROR_MAX - 24, ctx.msg);
		return -EBADMSG;
	}
	return 0;
}

int
conf_load(struct conf *c, const char *path, char err[CONF_ERROR_MAX])
{
	struct buf	 b;
	int		 r;

	conf_defaults(c);
	err[0] = '\0';
	buf_init(&b, CONF_SIZE_MAX);
	r = fs_read(&b, path);
	if (r == 0)
		r = conf_parse(c, b.ptr != NULL ? b.ptr : "", b.len, err);
	buf_release(&b);
	return r;
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
