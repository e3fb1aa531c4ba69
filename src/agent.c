/*
 * agent: cascade-agent. One struct agent per process; the sync runs on
 * the main thread, which `run` wakes up from a condition variable: the
 * signal thread (SIGTERM, SIGINT, SIGHUP), the long-poll thread or the
 * notification listener's thread set a flag and signal it. Transfers
 * watch a->stop (fetch's cancel), so SIGTERM stops a download at once.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "crypto.h"
#include "delta.h"
#include "fetch.h"
#include "fs.h"
#include "http.h"
#include "log.h"
#include "manifest.h"
#include "sig.h"
#include "ts.h"
#include "banned.h"

extern char **environ;

#define AGENT_STATE_MAGIC	"cascade-agent-state 1"
#define AGENT_ID_MAGIC		"cascade-agent-id 1"
#define AGENT_ID_FILE_MAX	4096
#define AGENT_POLICY_MAX	MANIFEST_DOC_MAX
#define AGENT_WAKE_MAX		60	/* seconds: pause is looked at again */

enum agent_level { AGENT_INFO, AGENT_WARN, AGENT_ERROR };

struct agent {
	char			 conf_path[FS_PATH_MAX];
	struct conf_agent	 conf;
	char			 dir[FS_PATH_MAX];
	char			 sdir[FS_PATH_MAX];	/* dir/.cascade */
	char			 hostname[MANIFEST_HOST_MAX + 1];

	int			 enrolled;
	char			 id[MANIFEST_AGENT_ID_MAX + 1];
	char			 token[MANIFEST_TOKEN_MAX + 1];
	char			 enrolled_at[CONF_VALUE_MAX];

	struct sig_pubkey	 keys[AGENT_KEYS_MAX];
	size_t			 nkeys;
	/* agent.conf's policy with the server's over it */
	struct conf_policy	 policy;
	struct fetch		*f[CONF_SERVERS_MAX];	/* main thread's */
	int			 reconciled;
	char			 notify_url[MANIFEST_URL_MAX];
	char			 notify_hex[2 * CRYPTO_SHA256_LEN + 1];
	time_t			 last_report;
	int			 running;	/* this is `run` */

	/* run */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	volatile int		 stop;		/* cancels transfers */
	int			 notified;	/* under lock */
	int			 reload;	/* under lock */
	uint64_t		 server_serial;	/* under lock */
	pthread_t		 poll_thread;
	int			 poll_started;
	volatile int		 poll_stop;
	struct http_server	*hs;
	pthread_mutex_t		 loglock;
};

/* What one sync came to, across the servers it tried. */
struct agent_pass {
	int		 failed;	/* content not current */
	int		 server_down;	/* this server: try the next */
	int		 cancelled;
	int64_t		 retry_after;
	char		 reason[AGENT_MESSAGE_MAX + 1];	/* first failure */
	char		 server_reason[AGENT_MESSAGE_MAX + 1];
	struct buf	 updated;	/* "a,b": CASCADE_UPDATED */
	struct buf	 notes;		/* "a 3 (delta)" for the message */
	struct buf	 skipped;	/* "b held at 2 (rolled back)" */
	unsigned	 nupdated;
	int		 took_config;
	int		 all_channels;	/* every channel accepted */
};

/* ---- messages: stderr and the agent's log file ----------------------- */

/* Printable ASCII only: output of commands and peers goes into logs and
 * JSON documents. */
static void
agent_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
			*s = '?';
}

static void
agent_log_append(struct agent *a, const char *text)
{
	struct stat	 st;
	char		 path[FS_PATH_MAX], old[FS_PATH_MAX];
	char		 ts[TS_LEN + 1], line[AGENT_MESSAGE_MAX + 64];
	int		 fd, n;

	if (a->sdir[0] == '\0')
		return;
	ts_format(time(NULL), ts);
	n = snprintf(line, sizeof(line), "%s %s", ts, text);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line) - 1)
		n = (int)sizeof(line) - 2;
	agent_clean(line);
	line[n++] = '\n';
	line[n] = '\0';
	if (fs_path(path, sizeof(path), "%s/log", a->sdir) < 0 ||
	    fs_path(old, sizeof(old), "%s/log.1", a->sdir) < 0)
		return;
	pthread_mutex_lock(&a->loglock);
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd >= 0 && fstat(fd, &st) == 0 &&
	    (uint64_t)st.st_size + (uint64_t)n > AGENT_LOG_MAX) {
		close(fd);
		rename(path, old);
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0644);
	}
	/* one write per line: lines of several processes do not mix */
	if (fd >= 0 && fs_write_all(fd, line, (size_t)n) < 0)
		log_warn("cannot write to '%s'", path);
	if (fd >= 0)
		close(fd);
	pthread_mutex_unlock(&a->loglock);
}

static void agent_note(struct agent *, enum agent_level, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* A message for the operator: stderr, and the log file under dir. */
static void
agent_note(struct agent *a, enum agent_level level, const char *fmt, ...)
{
	char	 text[AGENT_MESSAGE_MAX + 1];
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	agent_clean(text);
	switch (level) {
	case AGENT_INFO:
		log_info("%s", text);
		break;
	case AGENT_WARN:
		log_warn("%s", text);
		break;
	case AGENT_ERROR:
		log_error("%s", text);
		break;
	}
	agent_log_append(a, text);
}

/* ---- the state file ----------------------------------------------------
 *
 *   cascade-agent-state 1
 *   etag "..."|-            server_serial N         config_day DAY|-
 *   group NAME|-            enrolment WORD|-        result none|ok|failed
 *   message TEXT...         last_sync T             paused 0|1
 *   next_sync T             last_report T
 *   channel NAME SERIAL                                      (repeated)
 *   component NAME KIND CHANNEL VERSION SHA PREV_VERSION PREV_SHA HELD_SHA
 *   pending   (the same fields as component)
 *   end
 *
 * one item a line, in any order but "end" last; "-" for an empty value.
 */

void
agent_state_init(struct agent_state *st)
{
	memset(st, 0, sizeof(*st));
}

struct agent_component *
agent_state_find(struct agent_state *st, const char *name)
{
	size_t	 i;

	for (i = 0; i < st->ncomp; i++)
		if (strcmp(st->comp[i].name, name) == 0)
			return &st->comp[i];
	return NULL;
}

static const char *
agent_dash(const char *s)
{
	return s[0] != '\0' ? s : "-";
}

static int
agent_format_comp(struct buf *out, const char *key,
    const struct agent_component *c)
{
	return buf_printf(out, "%s %s %s %s %" PRIu64 " %s %" PRIu64 " %s "
	    "%s\n", key, c->name, c->kind, c->channel, c->version,
	    agent_dash(c->sha256), c->prev_version, agent_dash(c->prev_sha256),
	    agent_dash(c->held_sha256));
}

int
agent_state_format(const struct agent_state *st, struct buf *out)
{
	static const char	*results[] = { "none", "ok", "failed" };
	size_t			 i;
	int			 r;

	r = buf_printf(out, "%s\netag %s\nserver_serial %" PRIu64 "\n"
	    "config_day %s\ngroup %s\nenrolment %s\nresult %s\n"
	    "message%s%s\nlast_sync %lld\npaused %d\nnext_sync %lld\n"
	    "last_report %lld\nnotify %s\n", AGENT_STATE_MAGIC,
	    agent_dash(st->etag),
	    st->server_serial, agent_dash(st->config_day),
	    agent_dash(st->group), agent_dash(st->enrolment),
	    results[st->result], st->message[0] != '\0' ? " " : "",
	    st->message, (long long)st->last_sync, st->paused ? 1 : 0,
	    (long long)st->next_sync, (long long)st->last_report,
	    agent_dash(st->notify));
	for (i = 0; r == 0 && i < st->nch; i++)
		r = buf_printf(out, "channel %s %" PRIu64 "\n", st->ch[i].name,
		    st->ch[i].serial);
	for (i = 0; r == 0 && i < st->ncomp; i++)
		r = agent_format_comp(out, "component", &st->comp[i]);
	if (r == 0 && st->has_pending)
		r = agent_format_comp(out, "pending", &st->pending);
	if (r == 0)
		r = buf_puts(out, "end\n");
	return r;
}

/* Parse helpers: each takes one field (NUL-terminated). */

static int
agent_field_u64(const char *s, uint64_t *ret)
{
	return ts_parse_u64(s, 0, MANIFEST_NUMBER_MAX, ret) == 0 ? 0 :
	    -EBADMSG;
}

static int
agent_field_time(const char *s, time_t *ret)
{
	uint64_t	 v;

	if (agent_field_u64(s, &v) < 0)
		return -EBADMSG;
	*ret = (time_t)v;
	return 0;
}

/* A name as conf_valid_name, or "-" for "" when dash_ok. */
static int
agent_field_name(const char *s, int allow_slash, int dash_ok, char *out,
    size_t size)
{
	if (dash_ok && strcmp(s, "-") == 0) {
		out[0] = '\0';
		return 0;
	}
	if (!conf_valid_name(s, allow_slash) || strlen(s) >= size)
		return -EBADMSG;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int
agent_field_sha(const char *s, char out[CRYPTO_SHA256_HEX])
{
	if (strcmp(s, "-") == 0) {
		out[0] = '\0';
		return 0;
	}
	if (!crypto_is_sha256_hex(s, strlen(s)))
		return -EBADMSG;
	memcpy(out, s, CRYPTO_SHA256_HEX);
	return 0;
}

/* "YYYY-MM-DD" */
static int
agent_valid_day(const char *s)
{
	size_t	 i;

	if (strlen(s) != AGENT_DAY_LEN)
		return 0;
	for (i = 0; i < AGENT_DAY_LEN; i++)
		if (i == 4 || i == 7 ? s[i] != '-' : s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

/* Printable ASCII without spaces (an ETag, a URL), or "-" for "". */
static int
agent_field_token(const char *s, char *out, size_t size)
{
	size_t	 i;

	if (strcmp(s, "-") == 0) {
		out[0] = '\0';
		return 0;
	}
	if (strlen(s) >= size)
		return -EBADMSG;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return -EBADMSG;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int
agent_parse_comp(char **f, int nf, struct agent_component *c)
{
	memset(c, 0, sizeof(*c));
	if (nf != 9 ||
	    agent_field_name(f[1], 1, 0, c->name, sizeof(c->name)) < 0 ||
	    agent_field_name(f[2], 0, 0, c->kind, sizeof(c->kind)) < 0 ||
	    agent_field_name(f[3], 0, 0, c->channel, sizeof(c->channel)) < 0 ||
	    agent_field_u64(f[4], &c->version) < 0 ||
	    agent_field_sha(f[5], c->sha256) < 0 ||
	    agent_field_u64(f[6], &c->prev_version) < 0 ||
	    agent_field_sha(f[7], c->prev_sha256) < 0 ||
	    agent_field_sha(f[8], c->held_sha256) < 0)
		return -EBADMSG;
	/* a version and its hash go together */
	if ((c->version == 0) != (c->sha256[0] == '\0') ||
	    (c->prev_version == 0) != (c->prev_sha256[0] == '\0'))
		return -EBADMSG;
	return 0;
}

/* Bits of the singletons seen, against duplicates. */
enum {
	SEEN_ETAG = 1 << 0, SEEN_SERIAL = 1 << 1, SEEN_DAY = 1 << 2,
	SEEN_GROUP = 1 << 3, SEEN_ENROLMENT = 1 << 4, SEEN_RESULT = 1 << 5,
	SEEN_MESSAGE = 1 << 6, SEEN_LAST_SYNC = 1 << 7, SEEN_PAUSED = 1 << 8,
	SEEN_NEXT = 1 << 9, SEEN_REPORT = 1 << 10, SEEN_PENDING = 1 << 11,
	SEEN_NOTIFY = 1 << 12
};

static int
agent_state_line(char *line, struct agent_state *st, unsigned *seen,
    const char **why)
{
	char		*f[10], *p, *msg = NULL;
	unsigned	 bit = 0;
	int		 nf = 0, r = -EBADMSG;
	size_t		 i;

	if (strncmp(line, "message", 7) == 0 && (line[7] == ' ' ||
	    line[7] == '\0')) {
		msg = line[7] == ' ' ? line + 8 : line + 7;
		f[nf++] = line;
		line[7] = '\0';
	} else {
		for (p = line; nf < 10; ) {
			f[nf++] = p;
			p = strchr(p, ' ');
			if (p == NULL)
				break;
			*p++ = '\0';
		}
		if (p != NULL) {
			*why = "too many fields";
			return -EBADMSG;
		}
		for (i = 0; i < (size_t)nf; i++)
			if (f[i][0] == '\0') {
				*why = "empty field";
				return -EBADMSG;
			}
	}
	*why = "bad value";
	if (strcmp(f[0], "etag") == 0 && nf == 2) {
		bit = SEEN_ETAG;
		r = agent_field_token(f[1], st->etag, sizeof(st->etag));
	} else if (strcmp(f[0], "notify") == 0 && nf == 2) {
		bit = SEEN_NOTIFY;
		r = agent_field_token(f[1], st->notify, sizeof(st->notify));
	} else if (strcmp(f[0], "server_serial") == 0 && nf == 2) {
		bit = SEEN_SERIAL;
		r = agent_field_u64(f[1], &st->server_serial);
	} else if (strcmp(f[0], "config_day") == 0 && nf == 2) {
		bit = SEEN_DAY;
		if (strcmp(f[1], "-") == 0)
			st->config_day[0] = '\0';
		else if (agent_valid_day(f[1]))
			memcpy(st->config_day, f[1], AGENT_DAY_LEN + 1);
		else
			return -EBADMSG;
		r = 0;
	} else if (strcmp(f[0], "group") == 0 && nf == 2) {
		bit = SEEN_GROUP;
		r = agent_field_name(f[1], 0, 1, st->group, sizeof(st->group));
	} else if (strcmp(f[0], "enrolment") == 0 && nf == 2) {
		bit = SEEN_ENROLMENT;
		r = agent_field_name(f[1], 0, 1, st->enrolment,
		    sizeof(st->enrolment));
	} else if (strcmp(f[0], "result") == 0 && nf == 2) {
		bit = SEEN_RESULT;
		r = 0;
		if (strcmp(f[1], "none") == 0)
			st->result = AGENT_RESULT_NONE;
		else if (strcmp(f[1], "ok") == 0)
			st->result = AGENT_RESULT_OK;
		else if (strcmp(f[1], "failed") == 0)
			st->result = AGENT_RESULT_FAILED;
		else
			r = -EBADMSG;
	} else if (msg != NULL) {
		bit = SEEN_MESSAGE;
		if (strlen(msg) > AGENT_MESSAGE_MAX)
			return -EBADMSG;
		for (i = 0; msg[i] != '\0'; i++)
			if ((unsigned char)msg[i] < 0x20 ||
			    (unsigned char)msg[i] >= 0x7f)
				return -EBADMSG;
		memcpy(st->message, msg, strlen(msg) + 1);
		r = 0;
	} else if (strcmp(f[0], "last_sync") == 0 && nf == 2) {
		bit = SEEN_LAST_SYNC;
		r = agent_field_time(f[1], &st->last_sync);
	} else if (strcmp(f[0], "paused") == 0 && nf == 2) {
		bit = SEEN_PAUSED;
		if (strcmp(f[1], "0") != 0 && strcmp(f[1], "1") != 0)
			return -EBADMSG;
		st->paused = f[1][0] == '1';
		r = 0;
	} else if (strcmp(f[0], "next_sync") == 0 && nf == 2) {
		bit = SEEN_NEXT;
		r = agent_field_time(f[1], &st->next_sync);
	} else if (strcmp(f[0], "last_report") == 0 && nf == 2) {
		bit = SEEN_REPORT;
		r = agent_field_time(f[1], &st->last_report);
	} else if (strcmp(f[0], "channel") == 0 && nf == 3) {
		struct agent_channel *c = &st->ch[st->nch];

		if (st->nch == AGENT_CHANNELS_MAX) {
			*why = "too many channels";
			return -E2BIG;
		}
		if (agent_field_name(f[1], 0, 0, c->name, sizeof(c->name)) < 0 ||
		    agent_field_u64(f[2], &c->serial) < 0)
			return -EBADMSG;
		for (i = 0; i < st->nch; i++)
			if (strcmp(st->ch[i].name, c->name) == 0) {
				*why = "channel twice";
				return -EBADMSG;
			}
		st->nch++;
		r = 0;
	} else if (strcmp(f[0], "component") == 0) {
		if (st->ncomp == AGENT_COMPONENTS_MAX) {
			*why = "too many components";
			return -E2BIG;
		}
		if (agent_parse_comp(f, nf, &st->comp[st->ncomp]) < 0)
			return -EBADMSG;
		for (i = 0; i < st->ncomp; i++)
			if (strcmp(st->comp[i].name,
			    st->comp[st->ncomp].name) == 0) {
				*why = "component twice";
				return -EBADMSG;
			}
		st->ncomp++;
		r = 0;
	} else if (strcmp(f[0], "pending") == 0) {
		bit = SEEN_PENDING;
		r = agent_parse_comp(f, nf, &st->pending);
		if (r == 0 && st->pending.version == 0)
			r = -EBADMSG;
		st->has_pending = r == 0;
	} else {
		*why = "unknown item";
		return -EBADMSG;
	}
	if (r == 0 && (*seen & bit) != 0) {
		*why = "item twice";
		return -EBADMSG;
	}
	*seen |= bit;
	return r;
}

int
agent_state_parse(const char *p, size_t len, struct agent_state *st,
    char *err, size_t errsize)
{
	char		 line[AGENT_LINE_MAX];
	const char	*e = p + len, *nl, *why = "";
	unsigned	 seen = 0;
	size_t		 n;
	int		 lineno = 0, ended = 0, r = 0;

	agent_state_init(st);
	if (len > AGENT_STATE_MAX) {
		snprintf(err, errsize, "over %u bytes", AGENT_STATE_MAX);
		return -E2BIG;
	}
	while (p < e) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(e - p));
		if (nl == NULL) {
			why = "no end of line (cut short?)";
			r = -EBADMSG;
			break;
		}
		n = (size_t)(nl - p);
		if (n >= sizeof(line)) {
			why = "line too long";
			r = -EBADMSG;
			break;
		}
		if (memchr(p, '\0', n) != NULL) {
			why = "NUL byte";
			r = -EBADMSG;
			break;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		if (ended) {
			why = "text after 'end'";
			r = -EBADMSG;
			break;
		}
		if (lineno == 1) {
			if (strcmp(line, AGENT_STATE_MAGIC) != 0) {
				why = "not a cascade-agent state file";
				r = -EBADMSG;
				break;
			}
			continue;
		}
		if (strcmp(line, "end") == 0) {
			ended = 1;
			continue;
		}
		r = agent_state_line(line, st, &seen, &why);
		if (r < 0)
			break;
	}
	if (r == 0 && !ended) {
		why = lineno == 0 ? "empty" : "no 'end' line (cut short?)";
		r = -EBADMSG;
	}
	if (r < 0) {
		snprintf(err, errsize, "line %d: %s", lineno, why);
		agent_state_init(st);
	}
	return r;
}

int
agent_state_load(const char *sdir, struct agent_state *st, char *err,
    size_t errsize)
{
	struct buf	 b;
	char		 path[FS_PATH_MAX];
	int		 r;

	agent_state_init(st);
	r = fs_path(path, sizeof(path), "%s/state", sdir);
	if (r < 0)
		return r;
	buf_init(&b, AGENT_STATE_MAX);
	r = fs_read(&b, path);
	if (r == -ENOENT) {
		buf_release(&b);
		return 0;		/* nothing installed yet */
	}
	if (r == -E2BIG)
		snprintf(err, errsize, "over %u bytes", AGENT_STATE_MAX);
	else if (r < 0)
		snprintf(err, errsize, "%s", strerror(-r));
	if (r == 0)
		r = agent_state_parse(b.ptr != NULL ? b.ptr : "", b.len, st,
		    err, errsize);
	buf_release(&b);
	return r;
}

int
agent_state_commit(const char *sdir, const struct agent_state *st,
    unsigned own)
{
	struct agent_state	*disk;
	struct buf		 b;
	char			 path[FS_PATH_MAX], err[128];
	int			 lock, r;

	disk = malloc(sizeof(*disk));
	if (disk == NULL)
		return -ENOMEM;
	r = fs_path(path, sizeof(path), "%s/state.lock", sdir);
	if (r < 0) {
		free(disk);
		return r;
	}
	lock = fs_lock(path);
	if (lock < 0) {
		free(disk);
		return lock;
	}
	r = agent_state_load(sdir, disk, err, sizeof(err));
	if (r < 0)
		goto out;
	if (own & AGENT_STATE_SYNC) {
		/* the other writers' parts stay as they are on disk */
		int	 paused = disk->paused;
		time_t	 next = disk->next_sync, rep = disk->last_report;
		char	 url[MANIFEST_URL_MAX];

		memcpy(url, disk->notify, sizeof(url));
		memcpy(disk, st, sizeof(*disk));
		disk->paused = paused;
		disk->next_sync = next;
		disk->last_report = rep;
		memcpy(disk->notify, url, sizeof(url));
	}
	if (own & AGENT_STATE_PAUSE)
		disk->paused = st->paused;
	if (own & AGENT_STATE_RUN) {
		disk->next_sync = st->next_sync;
		disk->last_report = st->last_report;
		memcpy(disk->notify, st->notify, sizeof(disk->notify));
	}
	buf_init(&b, AGENT_STATE_MAX);
	r = agent_state_format(disk, &b);
	if (r == 0)
		r = fs_path(path, sizeof(path), "%s/state", sdir);
	if (r == 0)
		r = fs_write_atomic(path, b.ptr, b.len, 0644);
	buf_release(&b);
out:
	close(lock);
	free(disk);
	return r;
}

/* ---- files: identity, hashes, installing ------------------------------ */

/*
 * The identity file:
 *   cascade-agent-id 1
 *   id HEX32
 *   token HEX64
 *   server URL      (where it enrolled; for status)
 */
static int
agent_is_hex(const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[n] == '\0';
}

static int
agent_identity_parse(struct agent *a, const char *p, size_t len)
{
	char		 line[AGENT_LINE_MAX];
	const char	*e = p + len, *nl;
	size_t		 n;
	int		 lineno = 0, have = 0;

	while (p < e) {
		nl = memchr(p, '\n', (size_t)(e - p));
		if (nl == NULL || (size_t)(nl - p) >= sizeof(line))
			return -EBADMSG;
		n = (size_t)(nl - p);
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl + 1;
		lineno++;
		if (lineno == 1) {
			if (strcmp(line, AGENT_ID_MAGIC) != 0)
				return -EBADMSG;
		} else if (strncmp(line, "id ", 3) == 0 && !(have & 1) &&
		    agent_is_hex(line + 3, MANIFEST_AGENT_ID_MAX)) {
			memcpy(a->id, line + 3, MANIFEST_AGENT_ID_MAX + 1);
			have |= 1;
		} else if (strncmp(line, "token ", 6) == 0 && !(have & 2) &&
		    agent_is_hex(line + 6, MANIFEST_TOKEN_MAX)) {
			memcpy(a->token, line + 6, MANIFEST_TOKEN_MAX + 1);
			have |= 2;
		} else if (strncmp(line, "server ", 7) == 0 && !(have & 4) &&
		    strlen(line + 7) < sizeof(a->enrolled_at)) {
			memcpy(a->enrolled_at, line + 7, strlen(line + 7) + 1);
			agent_clean(a->enrolled_at);
			have |= 4;
		} else
			return -EBADMSG;
	}
	return (have & 3) == 3 ? 0 : -EBADMSG;
}

/* 0 (a->enrolled set or not), or -errno for a file that is unreadable
 * or corrupt. */
static int
agent_identity_load(struct agent *a)
{
	struct buf	 b;
	char		 path[FS_PATH_MAX];
	int		 r;

	a->enrolled = 0;
	r = fs_path(path, sizeof(path), "%s/agent", a->sdir);
	if (r < 0)
		return r;
	buf_init(&b, AGENT_ID_FILE_MAX);
	r = fs_read(&b, path);
	if (r == -ENOENT) {
		buf_release(&b);
		return 0;
	}
	if (r == 0)
		r = agent_identity_parse(a, b.ptr != NULL ? b.ptr : "", b.len);
	if (b.ptr != NULL)
		crypto_wipe(b.ptr, b.len);
	buf_release(&b);
	if (r < 0)
		return log_errno(r, "cannot read the agent identity '%s'",
		    path);
	a->enrolled = 1;
	return 0;
}

static int
agent_identity_save(struct agent *a)
{
	struct buf	 b;
	char		 path[FS_PATH_MAX];
	int		 r;

	r = fs_path(path, sizeof(path), "%s/agent", a->sdir);
	if (r < 0)
		return r;
	buf_init(&b, AGENT_ID_FILE_MAX);
	r = buf_printf(&b, "%s\nid %s\ntoken %s\nserver %s\n", AGENT_ID_MAGIC,
	    a->id, a->token, a->enrolled_at);
	if (r == 0)
		r = fs_write_atomic(path, b.ptr, b.len, 0600);
	if (b.ptr != NULL)
		crypto_wipe(b.ptr, b.len);
	buf_release(&b);
	return r;
}

/* SHA-256 of a file in hex, and its size. 0 or -errno. */
static int
agent_hash_file(const char *path, char hex[CRYPTO_SHA256_HEX],
    uint64_t *ret_size)
{
	unsigned char	 md[CRYPTO_SHA256_LEN];
	uint64_t	 size;
	int		 fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = crypto_sha256_fd(fd, md, &size);
	close(fd);
	if (r < 0)
		return r;
	crypto_hex(md, sizeof(md), hex);
	if (ret_size != NULL)
		*ret_size = size;
	return 0;
}

/* The paths of component name in dir: the installed file, the previous
 * version kept for rollback, and the temporary name that replaces the
 * latter. 0 or -errno. */
static int
agent_prev_paths(const char *dir, const char *name, char final[FS_PATH_MAX],
    char prev[FS_PATH_MAX], char tmp[FS_PATH_MAX])
{
	int	 r;

	if (!conf_valid_name(name, 1))
		return -EINVAL;
	r = fs_path(final, FS_PATH_MAX, "%s/%s", dir, name);
	if (r == 0)
		r = fs_path(prev, FS_PATH_MAX, "%s/.cascade/prev/%s", dir,
		    name);
	if (r == 0)
		r = fs_path(tmp, FS_PATH_MAX, "%s/.cascade/tmp/prev", dir);
	return r;
}

int
agent_install_file(const char *dir, const char *name, const char *src,
    int keep_prev)
{
	char	 final[FS_PATH_MAX], prev[FS_PATH_MAX], tmp[FS_PATH_MAX];
	int	 r;

	r = agent_prev_paths(dir, name, final, prev, tmp);
	if (r == 0)
		r = fs_mkdir_parent(final, 0755);
	if (r == 0)
		r = fs_mkdir_parent(prev, 0755);
	if (r == 0)
		r = fs_mkdir_parent(tmp, 0755);
	/* the new bytes are on disk before any name points at them */
	if (r == 0)
		r = fs_fsync_path(src);
	if (r < 0)
		return r;
	if (keep_prev && fs_exists(final) == 1) {
		/* prev is replaced by rename: always a whole file */
		unlink(tmp);
		if (link(final, tmp) < 0)
			return -errno;
		if (rename(tmp, prev) < 0) {
			r = -errno;
			unlink(tmp);
			return r;
		}
		r = fs_fsync_parent(prev);
		if (r < 0)
			return r;
	}
	if (rename(src, final) < 0)
		return -errno;
	r = fs_fsync_parent(final);
	if (r == 0)
		r = fs_fsync_parent(src);
	return r;
}

int
agent_swap_prev(const char *dir, const char *name)
{
	char	 final[FS_PATH_MAX], prev[FS_PATH_MAX], tmp[FS_PATH_MAX];
	int	 r, had;

	r = agent_prev_paths(dir, name, final, prev, tmp);
	if (r == 0)
		r = fs_mkdir_parent(tmp, 0755);
	if (r < 0)
		return r;
	had = fs_exists(final) == 1;
	if (had) {
		unlink(tmp);
		if (link(final, tmp) < 0)
			return -errno;
	}
	/* the one step users see: dir/name becomes the previous version */
	if (rename(prev, final) < 0) {
		r = -errno;
		if (had)
			unlink(tmp);
		return r;
	}
	if (had && rename(tmp, prev) < 0)
		return -errno;
	r = fs_fsync_parent(final);
	if (r == 0)
		r = fs_fsync_parent(prev);
	return r;
}

int64_t
agent_backoff(int failures, int64_t retry_after)
{
	int64_t	 d = AGENT_RETRY_MIN;
	int	 i;

	for (i = 1; i < failures && d < AGENT_RETRY_MAX; i++)
		d *= 2;
	if (d > AGENT_RETRY_MAX)
		d = AGENT_RETRY_MAX;
	if (retry_after > d)
		d = retry_after;
	return d;
}

enum agent_pick
agent_pick(const struct conf_policy *pol, const char *group,
    const char *name, const char *kind, const char *today,
    const char *config_day)
{
	int	 i, listed = pol->ncomponents == 0;

	for (i = 0; !listed && i < pol->ncomponents; i++)
		listed = strcmp(pol->components[i], name) == 0;
	if (!listed)
		return AGENT_NOT_SELECTED;
	if (strcmp(kind, "config") != 0)
		return AGENT_TAKE;
	/* configuration files: config/GROUP of this agent's group only */
	if (strncmp(name, "config/", 7) != 0 || group == NULL ||
	    strcmp(name + 7, group) != 0)
		return AGENT_OTHER_GROUP;
	if (pol->config_once_per_day && config_day != NULL &&
	    today != NULL && strcmp(config_day, today) == 0)
		return AGENT_CONFIG_TAKEN_TODAY;
	return AGENT_TAKE;
}

/* The local calendar day of t: "YYYY-MM-DD". */
static void
agent_day(time_t t, char out[AGENT_DAY_LEN + 1])
{
	struct tm	 tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, AGENT_DAY_LEN + 1, "%Y-%m-%d", &tm) != AGENT_DAY_LEN)
		out[0] = '\0';
}

/* ---- post_update ------------------------------------------------------ */

/* environ without our variables, then ours; NULL when out of memory.
 * Built before fork: the child may only call async-signal-safe code. */
static char **
agent_post_env(const char *updated, const char *dir, char **ret_a,
    char **ret_b)
{
	char	**env;
	size_t	 n = 0, k = 0, la, lb;

	while (environ != NULL && environ[n] != NULL)
		n++;
	env = calloc(n + 3, sizeof(*env));
	la = strlen("CASCADE_UPDATED=") + strlen(updated) + 1;
	lb = strlen("CASCADE_AGENT_DIR=") + strlen(dir) + 1;
	*ret_a = malloc(la);
	*ret_b = malloc(lb);
	if (env == NULL || *ret_a == NULL || *ret_b == NULL) {
		free(env);
		free(*ret_a);
		free(*ret_b);
		return NULL;
	}
	snprintf(*ret_a, la, "CASCADE_UPDATED=%s", updated);
	snprintf(*ret_b, lb, "CASCADE_AGENT_DIR=%s", dir);
	for (n = 0; environ != NULL && environ[n] != NULL; n++)
		if (strncmp(environ[n], "CASCADE_UPDATED=", 16) != 0 &&
		    strncmp(environ[n], "CASCADE_AGENT_DIR=", 18) != 0)
			env[k++] = environ[n];
	env[k++] = *ret_a;
	env[k++] = *ret_b;
	env[k] = NULL;
	return env;
}

static long long
agent_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
agent_post_update(const char *cmd, const char *updated, const char *dir,
    int timeout, const volatile int *cancel, char *msg, size_t msgsize)
{
	struct sigaction	 sa;
	struct pollfd		 pfd;
	sigset_t		 none;
	char			 out[AGENT_OUTPUT_MAX + 1], junk[4096];
	char			 line[AGENT_OUTPUT_MAX + 1];
	char			**env, *va, *vb;
	char			*argv[] = { "sh", "-c", (char *)cmd, NULL };
	long long		 deadline;
	size_t			 got = 0;
	ssize_t			 n;
	pid_t			 pid, w;
	int			 p[2], nul, status = 0, done = 0, eof = 0;
	int			 timed_out = 0, cancelled = 0;

	msg[0] = '\0';
	env = agent_post_env(updated, dir, &va, &vb);
	if (env == NULL) {
		snprintf(msg, msgsize, "post_update not run: out of memory");
		return -1;
	}
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nul < 0 || pipe2(p, O_CLOEXEC) < 0) {
		snprintf(msg, msgsize, "post_update not run: %s",
		    strerror(errno));
		if (nul >= 0)
			close(nul);
		free(env);
		free(va);
		free(vb);
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		/* the child: async-signal-safe calls only */
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_DFL;
		sigaction(SIGPIPE, &sa, NULL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		dup2(nul, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		execve("/bin/sh", argv, env);
		_exit(127);
	}
	close(nul);
	close(p[1]);
	free(env);
	free(va);
	free(vb);
	if (pid < 0) {
		snprintf(msg, msgsize, "post_update not run: %s",
		    strerror(errno));
		close(p[0]);
		return -1;
	}
	setpgid(pid, pid);	/* also here: no race with the kill below */
	fcntl(p[0], F_SETFL, fcntl(p[0], F_GETFL) | O_NONBLOCK);
	deadline = agent_now_ms() + (long long)timeout * 1000;
	while (!done) {
		pfd.fd = p[0];
		pfd.events = POLLIN;
		pfd.revents = 0;
		if (!eof)
			poll(&pfd, 1, 100);
		else {
			struct timespec ts = { 0, 50 * 1000000L };

			nanosleep(&ts, NULL);
		}
		/* read what came; beyond the first KiB, read and drop, so
		 * that a talkative command never blocks on its pipe */
		while (!eof) {
			if (got < AGENT_OUTPUT_MAX)
				n = read(p[0], out + got,
				    AGENT_OUTPUT_MAX - got);
			else
				n = read(p[0], junk, sizeof(junk));
			if (n > 0 && got < AGENT_OUTPUT_MAX)
				got += (size_t)n;
			if (n == 0)
				eof = 1;
			if (n <= 0)
				break;
		}
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			done = 1;
		else if (!timed_out && !cancelled &&
		    (agent_now_ms() > deadline ||
		    (cancel != NULL && *cancel))) {
			if (agent_now_ms() > deadline)
				timed_out = 1;
			else
				cancelled = 1;
			kill(-pid, SIGKILL);
		}
	}
	/* what it wrote just before it exited */
	while (!eof && got < AGENT_OUTPUT_MAX &&
	    (n = read(p[0], out + got, AGENT_OUTPUT_MAX - got)) > 0)
		got += (size_t)n;
	close(p[0]);
	out[got] = '\0';
	/* the first line, for the message */
	n = 0;
	while (out[n] == '\n' || out[n] == '\r')
		n++;
	snprintf(line, sizeof(line), "%s", out + n);
	line[strcspn(line, "\r\n")] = '\0';
	agent_clean(line);
	if (timed_out)
		snprintf(msg, msgsize, "post_update timed out after %d s "
		    "(killed)%s%s", timeout, line[0] != '\0' ? ": " : "",
		    line);
	else if (cancelled)
		snprintf(msg, msgsize, "post_update interrupted (killed)");
	else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		snprintf(msg, msgsize, "%s", line);
		return 0;
	} else if (WIFEXITED(status))
		snprintf(msg, msgsize, "post_update exited %d%s%s",
		    WEXITSTATUS(status), line[0] != '\0' ? ": " : "", line);
	else
		snprintf(msg, msgsize, "post_update killed by signal %d%s%s",
		    WTERMSIG(status), line[0] != '\0' ? ": " : "", line);
	return -1;
}

/* ---- the agent: configuration, keys, servers -------------------------- */

static void
agent_release_fetch(struct agent *a)
{
	int	 i;

	for (i = 0; i < CONF_SERVERS_MAX; i++) {
		fetch_free(a->f[i]);
		a->f[i] = NULL;
	}
}

/* Reads agent.conf into a->conf (on error a->conf is left as it was). */
static int
agent_load_conf(struct agent *a, const char *conf_path)
{
	struct conf_agent	*c;
	char			 err[CONF_ERROR_MAX];
	int			 r;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return log_errno(-ENOMEM, "cannot read '%s'", conf_path);
	r = conf_agent_load(c, conf_path, err);
	if (r < 0) {
		if (r == -ENOENT)
			log_error("cannot read '%s': %s", conf_path,
			    strerror(ENOENT));
		else
			log_error("'%s': %s", conf_path, err);
		free(c);
		return r;
	}
	memcpy(&a->conf, c, sizeof(*c));
	free(c);
	r = fs_path(a->dir, sizeof(a->dir), "%s", a->conf.dir);
	if (r == 0)
		r = fs_path(a->sdir, sizeof(a->sdir), "%s/.cascade",
		    a->conf.dir);
	if (r < 0)
		return log_errno(r, "'%s': dir", conf_path);
	agent_release_fetch(a);
	return 0;
}

/* A new struct agent for agent.conf at conf_path, with its directories
 * made and its identity read. NULL (and a message) on error. */
static struct agent *
agent_new(const char *conf_path)
{
	struct agent	*a;
	char		 path[FS_PATH_MAX];
	int		 r;

	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		log_errno(-ENOMEM, "cannot start");
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	pthread_mutex_init(&a->loglock, NULL);
	snprintf(a->conf_path, sizeof(a->conf_path), "%s", conf_path);
	if (agent_load_conf(a, conf_path) < 0)
		goto fail;
	r = fs_mkdir_p(a->dir, 0755);
	if (r == 0)
		r = fs_mkdir_p(a->sdir, 0700);
	if (r == 0)
		r = fs_path(path, sizeof(path), "%s/partial", a->sdir);
	if (r == 0)
		r = fs_mkdir_p(path, 0700);
	if (r == 0)
		r = fs_path(path, sizeof(path), "%s/channels", a->sdir);
	if (r == 0)
		r = fs_mkdir_p(path, 0700);
	if (r < 0) {
		log_errno(r, "cannot make the directory '%s'", a->sdir);
		goto fail;
	}
	if (gethostname(a->hostname, sizeof(a->hostname) - 1) < 0 ||
	    a->hostname[0] == '\0')
		memcpy(a->hostname, "unknown", 8);
	a->hostname[sizeof(a->hostname) - 1] = '\0';
	agent_clean(a->hostname);
	if (agent_identity_load(a) < 0)
		goto fail;
	return a;
fail:
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->loglock);
	free(a);
	return NULL;
}

static void
agent_free(struct agent *a)
{
	if (a == NULL)
		return;
	agent_release_fetch(a);
	crypto_wipe(a->token, sizeof(a->token));
	crypto_wipe(a->notify_hex, sizeof(a->notify_hex));
	crypto_wipe(&a->conf, sizeof(a->conf));
	pthread_mutex_destroy(&a->lock);
	pthread_cond_destroy(&a->cond);
	pthread_mutex_destroy(&a->loglock);
	free(a);
}

/* The keys of every file the trust globs name. 0, or -ENOKEY when none
 * could be read. */
static int
agent_load_keys(struct agent *a)
{
	struct sig_pubkey	 pk;
	struct buf		 b;
	glob_t			 g;
	size_t			 j, k;
	int			 i, r, found;

	a->nkeys = 0;
	buf_init(&b, SIG_KEYFILE_MAX);
	for (i = 0; i < a->conf.ntrust; i++) {
		memset(&g, 0, sizeof(g));
		r = glob(a->conf.trust[i], GLOB_ERR, NULL, &g);
		if (r == GLOB_NOMATCH) {
			agent_note(a, AGENT_WARN, "trust '%s': no such file",
			    a->conf.trust[i]);
			globfree(&g);
			continue;
		}
		if (r != 0) {
			agent_note(a, AGENT_WARN, "trust '%s': cannot read",
			    a->conf.trust[i]);
			globfree(&g);
			continue;
		}
		for (j = 0; j < g.gl_pathc; j++) {
			buf_reset(&b);
			r = fs_read(&b, g.gl_pathv[j]);
			if (r == 0)
				r = sig_pubkey_parse(b.ptr != NULL ? b.ptr : "",
				    b.len, &pk);
			if (r < 0) {
				agent_note(a, AGENT_WARN, "trusted key '%s': "
				    "%s", g.gl_pathv[j], log_strerror(r));
				continue;
			}
			for (k = 0, found = 0; k < a->nkeys && !found; k++)
				found = memcmp(&a->keys[k], &pk,
				    sizeof(pk)) == 0;
			if (found)
				continue;
			if (a->nkeys == AGENT_KEYS_MAX) {
				agent_note(a, AGENT_WARN, "more than %d "
				    "trusted keys: '%s' ignored",
				    AGENT_KEYS_MAX, g.gl_pathv[j]);
				continue;
			}
			a->keys[a->nkeys++] = pk;
		}
		globfree(&g);
	}
	buf_release(&b);
	return a->nkeys > 0 ? 0 : -ENOKEY;
}

/* The fetch configuration for server i of agent.conf, with the agent's
 * credentials if creds, its transfers cancelled by *cancel. */
static void
agent_fetch_config(struct agent *a, int i, int creds,
    const volatile int *cancel, struct fetch_config *fc)
{
	memset(fc, 0, sizeof(*fc));
	fc->base_url = a->conf.servers[i];
	fc->proxy = a->conf.proxy[0] != '\0' ? a->conf.proxy : NULL;
	fc->proxy_username = a->conf.proxy_username;
	fc->proxy_password = a->conf.proxy_password;
	fc->ca_file = a->conf.ca_file[0] != '\0' ? a->conf.ca_file : NULL;
	if (creds) {
		fc->agent_id = a->id;
		fc->bearer = a->token;
	}
	fc->cancel = cancel;
}

/* The main thread's fetch for server i (made with the agent's
 * credentials once enrolled). NULL with a message on error. */
static struct fetch *
agent_fetch(struct agent *a, int i)
{
	struct fetch_config	 fc;
	int			 r;

	if (a->f[i] != NULL)
		return a->f[i];
	agent_fetch_config(a, i, a->enrolled, &a->stop, &fc);
	r = fetch_new(&fc, &a->f[i]);
	if (r < 0) {
		agent_note(a, AGENT_ERROR, "server '%s': %s",
		    a->conf.servers[i], r == -EINVAL ? "not an http(s) URL" :
		    log_strerror(r));
		return NULL;
	}
	return a->f[i];
}

/* 1 when a failed request means "try the next server": the server is
 * unreachable, broken (5xx) or busy (429). */
static int
agent_server_trouble(int e, const struct fetch_result *fr)
{
	if (e == -ECANCELED)
		return 0;
	if (e < 0)
		return e != -E2BIG && e != -EINVAL && e != -ENOSPC &&
		    e != -ENOMEM;
	return fr->status == 0 || fr->status >= 500 || fr->status == 429;
}

/* The same for a download: a status says it all when one came; else
 * the connection failed (a write error of ours is no server's fault). */
static int
agent_job_trouble(const struct fetch_job *j)
{
	if (j->res.status != 0)
		return j->res.status >= 500 || j->res.status == 429;
	return j->rc == -ECONNREFUSED || j->rc == -ETIMEDOUT ||
	    j->rc == -EHOSTUNREACH || j->rc == -EPROTO || j->rc == -EIO;
}

/* Words for a failed request: "HTTP 503" or the transfer's error. */
static void
agent_fetch_why(int e, const struct fetch_result *fr, char *out,
    size_t size)
{
	if (e < 0)
		snprintf(out, size, "%s", fr->error[0] != '\0' ? fr->error :
		    log_strerror(e));
	else
		snprintf(out, size, "HTTP %ld", fr->status);
	agent_clean(out);
}

static void agent_fail(struct agent_pass *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* Records a failure of the content; the first one is the message. */
static void
agent_fail(struct agent_pass *ps, const char *fmt, ...)
{
	va_list	 ap;

	ps->failed++;
	if (ps->reason[0] != '\0')
		return;
	va_start(ap, fmt);
	vsnprintf(ps->reason, sizeof(ps->reason), fmt, ap);
	va_end(ap);
	agent_clean(ps->reason);
}

/* The server is no use now: the next one is tried. Always -EAGAIN. */
static int
agent_server_down(struct agent_pass *ps, int e,
    const struct fetch_result *fr, const char *what)
{
	char	 why[FETCH_ERROR_MAX];

	agent_fetch_why(e, fr, why, sizeof(why));
	ps->server_down = 1;
	if (fr->status == 429 || fr->status == 503)
		if (fr->retry_after > ps->retry_after)
			ps->retry_after = fr->retry_after;
	snprintf(ps->server_reason, sizeof(ps->server_reason), "%s on %s",
	    why, what);
	return -EAGAIN;
}

/* After a request for what: -ECANCELED (the pass is cancelled) or -EAGAIN
 * (agent_server_down) when its answer is not the caller's to read; else
 * 0. */
static int
agent_request_trouble(struct agent_pass *ps, int e,
    const struct fetch_result *fr, const char *what)
{
	if (e == -ECANCELED) {
		ps->cancelled = 1;
		return e;
	}
	if (agent_server_trouble(e, fr))
		return agent_server_down(ps, e, fr, what);
	return 0;
}

/* ---- enrolment -------------------------------------------------------- */

/* Enrols with the first server that answers; its answer's state and
 * group go into st. 0, -EACCES (refused), -EAGAIN (no server answered),
 * -ECANCELED, -EPROTO, -errno. */
static int
agent_enrol(struct agent *a, struct agent_state *st, struct agent_pass *ps)
{
	struct manifest_enrol	 en;
	struct manifest_enrolled ed;
	struct fetch_config	 fc;
	struct fetch_result	 fr;
	struct fetch		*f;
	struct buf		 body, ans;
	char			 err[256];
	int			 i, e, r = -EAGAIN;

	memset(&en, 0, sizeof(en));
	snprintf(en.enroll_key, sizeof(en.enroll_key), "%s",
	    a->conf.enroll_key);
	snprintf(en.hostname, sizeof(en.hostname), "%s", a->hostname);
	snprintf(en.group, sizeof(en.group), "%s", a->conf.group);
	buf_init(&body, MANIFEST_DOC_MAX);
	buf_init(&ans, MANIFEST_DOC_MAX);
	e = manifest_enrol_emit(&en, &body);
	crypto_wipe(&en, sizeof(en));
	if (e < 0) {
		r = log_errno(e, "cannot make the enrolment document");
		goto out;
	}
	for (i = 0; i < a->conf.nservers && !a->stop; i++) {
		agent_fetch_config(a, i, 0, &a->stop, &fc);
		if (fetch_new(&fc, &f) < 0) {
			agent_note(a, AGENT_ERROR, "server '%s': not an "
			    "http(s) URL", a->conf.servers[i]);
			continue;
		}
		buf_reset(&ans);
		e = fetch_request(f, "POST", "v1/agents", "application/json",
		    body.ptr, body.len, &ans, &fr);
		fetch_free(f);
		if (e == -ECANCELED) {
			r = e;
			break;
		}
		if (agent_server_trouble(e, &fr) || e < 0) {
			agent_server_down(ps, e, &fr, "the enrolment");
			agent_note(a, AGENT_WARN, "cannot enrol with '%s': %s",
			    a->conf.servers[i], ps->server_reason);
			continue;
		}
		switch (fr.status) {
		case 201:
			e = manifest_enrolled_parse(ans.ptr, ans.len, &ed, err,
			    sizeof(err));
			if (e < 0) {
				agent_note(a, AGENT_ERROR, "server '%s' "
				    "answered a malformed enrolment: %s",
				    a->conf.servers[i], err);
				r = -EPROTO;
				goto out;
			}
			memcpy(a->id, ed.id, sizeof(a->id));
			memcpy(a->token, ed.token, sizeof(a->token));
			snprintf(a->enrolled_at, sizeof(a->enrolled_at), "%s",
			    a->conf.servers[i]);
			crypto_wipe(&ed.token, sizeof(ed.token));
			if (!agent_is_hex(a->id, MANIFEST_AGENT_ID_MAX) ||
			    !agent_is_hex(a->token, MANIFEST_TOKEN_MAX)) {
				agent_note(a, AGENT_ERROR, "server '%s' "
				    "answered an id or token that is not "
				    "lower-case hex", a->conf.servers[i]);
				r = -EPROTO;
				goto out;
			}
			e = agent_identity_save(a);
			if (e < 0) {
				agent_note(a, AGENT_ERROR, "cannot store the "
				    "agent identity in '%s': %s", a->sdir,
				    strerror(-e));
				r = e;
				goto out;
			}
			a->enrolled = 1;
			agent_release_fetch(a);	/* now with credentials */
			snprintf(st->enrolment, sizeof(st->enrolment), "%s",
			    ed.state);
			snprintf(st->group, sizeof(st->group), "%s", ed.group);
			agent_note(a, AGENT_INFO, "enrolled with '%s' as %s "
			    "(%s, group '%s')", a->conf.servers[i], a->id,
			    ed.state, ed.group);
			if (strcmp(ed.state, "pending") == 0)
				agent_note(a, AGENT_INFO, "not licensed yet: "
				    "the server's administrator licenses this "
				    "agent (cascade agents license %s)", a->id);
			r = 0;
			goto out;
		case 401:
			agent_note(a, AGENT_ERROR, "server '%s' requires an "
			    "enrolment key (enroll_key in '%s')",
			    a->conf.servers[i], a->conf_path);
			r = -EACCES;
			goto out;
		case 403:
			agent_note(a, AGENT_ERROR, "server '%s' rejected the "
			    "enrolment key", a->conf.servers[i]);
			r = -EACCES;
			goto out;
		default:
			agent_note(a, AGENT_ERROR, "server '%s' refused the "
			    "enrolment (HTTP %ld)", a->conf.servers[i],
			    fr.status);
			r = -EPROTO;
			goto out;
		}
	}
	if (r == -EAGAIN)
		agent_note(a, AGENT_ERROR, "cannot enrol: no server answered");
out:
	crypto_wipe(body.ptr, body.len);
	buf_release(&body);
	buf_release(&ans);
	return r;
}

/* ---- policy ----------------------------------------------------------- */

/* agent.conf's policy with over's keys on it (server_post_update decides
 * whether the server's post_update counts). */
static void
agent_policy_apply(struct agent *a, const struct conf_policy *over)
{
	struct conf_policy	 o;

	a->policy = a->conf.policy;
	if (over == NULL)
		return;
	o = *over;
	if (!a->conf.server_post_update)
		o.set &= ~(unsigned)CONF_POLICY_POST_UPDATE;
	conf_policy_merge(&a->policy, &o);
}

/* The policy the server gave last time (cached), over agent.conf's. */
static void
agent_policy_cached(struct agent *a)
{
	struct conf_policy	 p;
	struct buf		 b;
	char			 path[FS_PATH_MAX], group[MANIFEST_NAME_MAX + 1];
	char			 err[128];

	agent_policy_apply(a, NULL);
	if (fs_path(path, sizeof(path), "%s/policy", a->sdir) < 0)
		return;
	buf_init(&b, AGENT_POLICY_MAX);
	if (fs_read(&b, path) == 0) {
		memset(&p, 0, sizeof(p));
		conf_policy_defaults(&p);
		if (manifest_policy_parse(b.ptr != NULL ? b.ptr : "", b.len,
		    group, &p, err, sizeof(err)) == 0)
			agent_policy_apply(a, &p);
		else
			agent_note(a, AGENT_WARN, "ignoring the cached policy "
			    "'%s': %s", path, err);
	}
	buf_release(&b);
}

/*
 * GET the policy of this agent: the effective policy, the group and
 * the enrolment state into st. 0; -EAGAIN (server down); -EACCES
 * (credentials rejected); -ECANCELED.
 */
static int
agent_get_policy(struct agent *a, int srv, struct fetch *f,
    struct agent_state *st, struct agent_pass *ps)
{
	struct conf_policy	 p;
	struct fetch_result	 fr;
	struct buf		 b, old;
	char			 path[FS_PATH_MAX], err[256];
	char			 group[MANIFEST_NAME_MAX + 1];
	int			 e, r;

	buf_init(&b, AGENT_POLICY_MAX);
	snprintf(path, sizeof(path), "v1/agents/%s/policy", a->id);
	e = fetch_get(f, path, NULL, 0, &b, &fr);
	r = agent_request_trouble(ps, e, &fr, "the policy");
	if (r < 0) {
		e = r;
		goto out;
	}
	if (e == 0 && fr.status == 404) {
		/* a server without agents: this file's policy alone */
		agent_note(a, AGENT_WARN, "server '%s' has no policy for "
		    "agents (404); using '%s' alone", a->conf.servers[srv],
		    a->conf_path);
		agent_policy_apply(a, NULL);
		goto out;
	}
	if (e == 0 && fr.status == 401) {
		agent_fail(ps, "the server rejected this agent's credentials "
		    "(401): enrol again (remove '%s/agent') if it was removed "
		    "on the server", a->sdir);
		e = -EACCES;
		goto out;
	}
	if (e < 0 || fr.status != 200) {
		char why[FETCH_ERROR_MAX];

		agent_fetch_why(e, &fr, why, sizeof(why));
		agent_fail(ps, "cannot get the policy: %s", why);
		e = -EPROTO;
		goto out;
	}
	memset(&p, 0, sizeof(p));
	conf_policy_defaults(&p);
	e = manifest_policy_parse(b.ptr, b.len, group, &p, err, sizeof(err));
	if (e < 0) {
		agent_fail(ps, "the server's policy is malformed: %s", err);
		e = -EPROTO;
		goto out;
	}
	agent_policy_apply(a, &p);
	memcpy(st->group, group, sizeof(st->group));
	/* kept for pause, status and a start without the server */
	buf_init(&old, AGENT_POLICY_MAX);
	if (fs_path(path, sizeof(path), "%s/policy", a->sdir) == 0 &&
	    (fs_read(&old, path) < 0 || old.len != b.len ||
	    memcmp(old.ptr, b.ptr, b.len) != 0) &&
	    fs_write_atomic(path, b.ptr, b.len, 0644) < 0)
		agent_note(a, AGENT_WARN, "cannot keep the policy in '%s'",
		    path);
	buf_release(&old);
	e = 0;
out:
	buf_release(&b);
	return e;
}

/* ---- manifests -------------------------------------------------------- */

/* 0 when one of the trusted keys signed text; -ENOKEY when none of them
 * did; -EPERM or -EBADMSG when the signature is bad. */
static int
agent_verify(struct agent *a, const struct buf *text, const struct buf *sig)
{
	size_t	 i;
	int	 e, r = -ENOKEY;

	for (i = 0; i < a->nkeys; i++) {
		e = sig_verify(&a->keys[i], text->ptr != NULL ? text->ptr : "",
		    text->len, sig->ptr != NULL ? sig->ptr : "", sig->len);
		if (e == 0)
			return 0;
		if (e != -ENOKEY)
			r = e;
	}
	return r;
}

static int
agent_cache_path(struct agent *a, const char *ch, const char *ext,
    char *path, size_t size)
{
	return fs_path(path, size, "%s/channels/%s.%s", a->sdir, ch, ext);
}

/* The manifest of ch held from an earlier sync, verified again, at
 * serial held. 0, or -errno when there is none usable. */
static int
agent_load_cached(struct agent *a, const char *ch, uint64_t held,
    struct manifest **ret_m)
{
	struct manifest	*m = NULL;
	struct buf	 text, sig;
	char		 path[FS_PATH_MAX], err[128];
	int		 r;

	buf_init(&text, MANIFEST_SIZE_MAX);
	buf_init(&sig, SIG_SIGFILE_MAX);
	r = agent_cache_path(a, ch, "manifest", path, sizeof(path));
	if (r == 0)
		r = fs_read(&text, path);
	if (r == 0)
		r = agent_cache_path(a, ch, "minisig", path, sizeof(path));
	if (r == 0)
		r = fs_read(&sig, path);
	if (r == 0)
		r = agent_verify(a, &text, &sig);
	if (r == 0)
		r = manifest_parse(text.ptr, text.len, &m, err, sizeof(err));
	if (r == 0 && (strcmp(m->channel, ch) != 0 || m->serial != held))
		r = -ESTALE;
	if (r == 0) {
		*ret_m = m;
		m = NULL;
	}
	manifest_free(m);
	buf_release(&text);
	buf_release(&sig);
	return r;
}

/* GET path into b: 0 with a 200; else the pass says why. */
static int
agent_get_doc(struct agent_pass *ps, struct fetch *f, const char *path,
    struct buf *b, const char *what, long *ret_status)
{
	struct fetch_result	 fr;
	int			 e, r;

	e = fetch_get(f, path, NULL, 0, b, &fr);
	*ret_status = fr.status;
	r = agent_request_trouble(ps, e, &fr, what);
	if (r < 0)
		return r;
	if (e < 0 || fr.status != 200) {
		char why[FETCH_ERROR_MAX];

		agent_fetch_why(e, &fr, why, sizeof(why));
		if (fr.status == 403)
			return -EACCES;
		if (fr.status == 401)
			agent_fail(ps, "the server does not accept this agent's "
			    "credentials for %s (HTTP 401)", what);
		else
			agent_fail(ps, "cannot get %s: %s", what, why);
		return -EPROTO;
	}
	return 0;
}

/*
 * Fetches the manifest of ch and its signature, and accepts it only when
 * a trusted key signed it, its serial is not below held, and it has not
 * expired; then keeps both for the next syncs. 0; -EAGAIN (server down);
 * -EACCES (this agent may not have it: pending); another -errno when
 * refused (the pass says why).
 */
static int
agent_fetch_manifest(struct agent *a, struct fetch *f, const char *ch,
    uint64_t held, struct agent_pass *ps, struct manifest **ret_m)
{
	struct manifest	*m = NULL;
	struct buf	 text, sig;
	char		 path[FS_PATH_MAX], what[MANIFEST_NAME_MAX + 64];
	char		 err[256], when[TS_LEN + 1];
	long		 status;
	int		 e;

	buf_init(&text, MANIFEST_SIZE_MAX);
	buf_init(&sig, SIG_SIGFILE_MAX);
	snprintf(what, sizeof(what), "the manifest of channel '%s'", ch);
	snprintf(path, sizeof(path), "v1/channels/%s/manifest", ch);
	e = agent_get_doc(ps, f, path, &text, what, &status);
	if (e == 0) {
		snprintf(what, sizeof(what), "the signature of channel '%s'",
		    ch);
		snprintf(path, sizeof(path), "v1/channels/%s/manifest.minisig",
		    ch);
		e = agent_get_doc(ps, f, path, &sig, what, &status);
	}
	if (e < 0)
		goto out;
	/* verified before parsed */
	e = agent_verify(a, &text, &sig);
	if (e == -ENOKEY) {
		agent_fail(ps, "channel '%s' is signed by no trusted key; "
		    "skipped", ch);
		goto out;
	}
	if (e < 0) {
		agent_fail(ps, "channel '%s': bad signature (%s); refused", ch,
		    log_strerror(e));
		goto out;
	}
	e = manifest_parse(text.ptr, text.len, &m, err, sizeof(err));
	if (e < 0) {
		agent_fail(ps, "channel '%s': malformed manifest: %s", ch,
		    err);
		goto out;
	}
	if (strcmp(m->channel, ch) != 0) {
		agent_fail(ps, "channel '%s': the manifest is for channel "
		    "'%s'; refused", ch, m->channel);
		e = -EBADMSG;
		goto out;
	}
	if (m->serial < held) {
		agent_fail(ps, "channel '%s': rollback refused: serial %" PRIu64
		    " is lower than the %" PRIu64 " held", ch, m->serial, held);
		e = -ESTALE;
		goto out;
	}
	if (m->expires <= time(NULL)) {
		ts_format(m->expires, when);
		agent_fail(ps, "channel '%s': manifest serial %" PRIu64
		    " expired at %s; refused", ch, m->serial, when);
		e = -ETIME;
		goto out;
	}
	e = agent_cache_path(a, ch, "manifest", path, sizeof(path));
	if (e == 0)
		e = fs_write_atomic(path, text.ptr, text.len, 0644);
	if (e == 0)
		e = agent_cache_path(a, ch, "minisig", path, sizeof(path));
	if (e == 0)
		e = fs_write_atomic(path, sig.ptr, sig.len, 0644);
	if (e < 0) {
		agent_fail(ps, "cannot keep the manifest of channel '%s' in "
		    "'%s': %s", ch, a->sdir, e == -ENOSPC ? "disk full" :
		    strerror(-e));
		goto out;
	}
	*ret_m = m;
	m = NULL;
out:
	manifest_free(m);
	buf_release(&text);
	buf_release(&sig);
	return e;
}

/* ---- one component ---------------------------------------------------- */

static int
agent_list_add(struct buf *b, const char *sep, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
agent_list_add(struct buf *b, const char *sep, const char *fmt, ...)
{
	va_list	 ap;
	int	 r = 0;

	if (b->len > 0)
		r = buf_puts(b, sep);
	va_start(ap, fmt);
	if (r == 0)
		r = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return r;
}


static int
agent_partial_path(struct agent *a, const char *sha, const char *ext,
    char *path, size_t size)
{
	return fs_path(path, size, "%s/partial/%s%s", a->sdir, sha, ext);
}

/* 0 when the file at path holds exactly c's bytes. */
static int
agent_check_file(const char *path, const struct manifest_component *c)
{
	char		 hex[CRYPTO_SHA256_HEX];
	uint64_t	 size;
	int		 r;

	r = agent_hash_file(path, hex, &size);
	if (r < 0)
		return r;
	return size == c->size && strcmp(hex, c->sha256) == 0 ? 0 : -EPERM;
}

/*
 * The new version of c from the installed one by a delta: 1 with the
 * result verified in ret_src, 0 when there is no usable delta (fetch
 * it whole), -EAGAIN (server down), -ECANCELED, -ENOSPC.
 */
static int
agent_by_delta(struct agent *a, struct fetch *f, struct agent_pass *ps,
    const struct agent_component *inst, const struct manifest_component *c,
    char *ret_src, size_t srcsize, uint64_t *ret_bytes)
{
	struct fetch_job	 job;
	char			 dpath[FS_PATH_MAX], npath[FS_PATH_MAX];
	char			 final[FS_PATH_MAX], url[256];
	int			 dfd = -1, old = -1, out = -1, r = 0, e;

	if (agent_partial_path(a, c->sha256, ".delta", dpath,
	    sizeof(dpath)) < 0 ||
	    agent_partial_path(a, c->sha256, ".new", npath, sizeof(npath)) <
	    0 || fs_path(final, sizeof(final), "%s/%s", a->dir, c->name) < 0)
		return 0;
	dfd = open(dpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (dfd < 0)
		return errno == ENOSPC ? -ENOSPC : 0;
	snprintf(url, sizeof(url), "v1/deltas/%s/%s", inst->sha256,
	    c->sha256);
	memset(&job, 0, sizeof(job));
	job.path = url;
	job.fd = dfd;
	job.max_size = c->size;	/* a delta is never larger than the whole */
	fetch_files(f, &job, 1, 1);
	if (job.rc == -ECANCELED) {
		ps->cancelled = 1;
		r = -ECANCELED;
		goto out;
	}
	if (job.rc == -ENOSPC) {
		r = -ENOSPC;
		goto out;
	}
	if (job.rc < 0 && agent_job_trouble(&job)) {
		r = agent_server_down(ps, job.res.status != 0 ? 0 : job.rc,
		    &job.res, "a delta");
		goto out;
	}
	if (job.rc < 0)
		goto out;		/* 404, too large...: whole */
	*ret_bytes = job.res.bytes;
	old = open(final, O_RDONLY | O_CLOEXEC);
	out = open(npath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (old < 0 || out < 0 || lseek(dfd, 0, SEEK_SET) != 0) {
		if (out < 0 && errno == ENOSPC)
			r = -ENOSPC;
		goto out;
	}
	e = delta_apply(old, dfd, out, c->size);
	if (e == -ENOSPC) {
		r = -ENOSPC;
		goto out;
	}
	if (e == 0)
		e = agent_check_file(npath, c);
	if (e < 0) {
		agent_note(a, AGENT_WARN, "'%s': the delta from version %"
		    PRIu64 " did not give the signed bytes (%s); fetching it "
		    "whole", c->name, inst->version, log_strerror(e));
		goto out;
	}
	snprintf(ret_src, srcsize, "%s", npath);
	r = 1;
out:
	if (old >= 0)
		close(old);
	if (out >= 0)
		close(out);
	if (dfd >= 0)
		close(dfd);
	unlink(dpath);
	if (r != 1)
		unlink(npath);
	return r;
}

/*
 * c whole, resuming a partial download: 1 with the verified file in
 * ret_src; 0 when the server does not give it to this agent (403, 404:
 * skipped, not a failure); -EAGAIN (server down), -ECANCELED, or another
 * -errno (the pass says why).
 */
static int
agent_by_whole(struct agent *a, struct fetch *f, struct agent_pass *ps,
    const struct manifest_component *c, char *ret_src, size_t srcsize,
    uint64_t *ret_bytes)
{
	struct fetch_job	 job;
	struct stat		 st;
	char			 path[FS_PATH_MAX], url[128], why[FETCH_ERROR_MAX];
	int			 fd, r;

	r = agent_partial_path(a, c->sha256, "", path, sizeof(path));
	if (r < 0)
		return r;
	/* kept across restarts: the next sync resumes it (Range) */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		r = -errno;
		agent_fail(ps, "cannot download '%s': %s", c->name,
		    r == -ENOSPC ? "disk full" : strerror(-r));
		return r;
	}
	if (fstat(fd, &st) == 0 && (uint64_t)st.st_size > c->size &&
	    ftruncate(fd, 0) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		agent_note(a, AGENT_INFO, "'%s': resuming the download at %lld "
		    "of %" PRIu64 " bytes", c->name, (long long)st.st_size,
		    c->size);
	snprintf(url, sizeof(url), "v1/objects/%s", c->sha256);
	memset(&job, 0, sizeof(job));
	job.path = url;
	job.fd = fd;
	job.max_size = c->size;
	fetch_files(f, &job, 1, 1);
	close(fd);
	*ret_bytes = job.res.bytes;
	if (job.rc == -ECANCELED) {
		ps->cancelled = 1;
		return -ECANCELED;
	}
	if (job.rc < 0 && (job.res.status == 403 || job.res.status == 404)) {
		unlink(path);		/* nothing to resume */
		agent_note(a, AGENT_INFO, "'%s' version %" PRIu64 ": %s (%ld); "
		    "skipped", c->name, c->version, job.res.status == 403 ?
		    "not licensed to this agent" : "not on this server",
		    job.res.status);
		agent_list_add(&ps->skipped, ", ", "%s %s", c->name,
		    job.res.status == 403 ? "not licensed" : "not on the "
		    "server");
		return 0;
	}
	if (job.rc < 0 && agent_job_trouble(&job))
		return agent_server_down(ps, job.res.status != 0 ? 0 : job.rc,
		    &job.res, c->name);
	if (job.rc < 0) {
		agent_fetch_why(job.rc, &job.res, why, sizeof(why));
		if (job.rc == -ENOSPC)
			agent_fail(ps, "disk full while downloading '%s'",
			    c->name);
		else
			agent_fail(ps, "cannot download '%s': %s", c->name,
			    why);
		if (job.rc == -E2BIG)
			unlink(path);	/* not the signed size */
		return job.rc;
	}
	r = agent_check_file(path, c);
	if (r < 0) {
		/* never installed, nor resumed: fetched anew next time */
		unlink(path);
		agent_fail(ps, "the download of '%s' version %" PRIu64 " does "
		    "not match its signed hash; refused", c->name, c->version);
		return -EPERM;
	}
	snprintf(ret_src, srcsize, "%s", path);
	return 1;
}

/*
 * Brings one component of a manifest to its version: by delta from the
 * verified installed version, else whole; then installs it. 0 (done,
 * current, or skipped), -EAGAIN (server down), -ECANCELED, or another
 * -errno (the pass says why).
 */
static int
agent_update_one(struct agent *a, struct fetch *f, struct agent_state *st,
    const struct manifest_component *c, const char *channel,
    struct agent_pass *ps)
{
	struct agent_component	*inst, nc;
	char			 final[FS_PATH_MAX], src[FS_PATH_MAX];
	char			 hex[CRYPTO_SHA256_HEX];
	uint64_t		 bytes = 0;
	int			 base_ok = 0, got = 0, by_delta = 0, r;

	r = fs_path(final, sizeof(final), "%s/%s", a->dir, c->name);
	if (r < 0)
		return r;
	inst = agent_state_find(st, c->name);
	if (inst != NULL && strcmp(inst->sha256, c->sha256) == 0) {
		struct stat	 sb;

		/* hashed at start; a file removed or cut since is seen here */
		if (stat(final, &sb) == 0 && (uint64_t)sb.st_size == c->size)
			return 0;
		agent_note(a, AGENT_WARN, "'%s' in '%s' is missing or changed; "
		    "fetching it again", c->name, a->dir);
		inst->version = 0;
		inst->sha256[0] = '\0';
	}
	if (inst != NULL && strcmp(inst->held_sha256, c->sha256) == 0) {
		agent_list_add(&ps->skipped, ", ", "%s held at %" PRIu64
		    " (rolled back)", c->name, inst->version);
		return 0;
	}
	/* the installed file is a delta base only once it is checked */
	if (inst != NULL && inst->sha256[0] != '\0') {
		r = agent_hash_file(final, hex, NULL);
		base_ok = r == 0 && strcmp(hex, inst->sha256) == 0;
		if (!base_ok)
			agent_note(a, AGENT_WARN, "'%s' in '%s' is not version "
			    "%" PRIu64 " any more (%s); fetching it whole",
			    c->name, a->dir, inst->version, r < 0 ?
			    strerror(-r) : "changed");
	}
	if (base_ok) {
		got = agent_by_delta(a, f, ps, inst, c, src, sizeof(src),
		    &bytes);
		if (got == -ENOSPC) {
			agent_fail(ps, "disk full while updating '%s'",
			    c->name);
			return -ENOSPC;
		}
		if (got < 0)
			return got;
	}
	by_delta = got == 1;
	if (got == 1)
		agent_note(a, AGENT_INFO, "'%s': delta from version %" PRIu64
		    " to %" PRIu64 " (%" PRIu64 " bytes)", c->name,
		    inst->version, c->version, bytes);
	if (got == 0) {
		got = agent_by_whole(a, f, ps, c, src, sizeof(src), &bytes);
		if (got <= 0)
			return got;
		agent_note(a, AGENT_INFO, "'%s': version %" PRIu64 " whole "
		    "(%" PRIu64 " bytes)", c->name, c->version, bytes);
	}

	/* the record of the install, pending until the file is in place */
	memset(&nc, 0, sizeof(nc));
	snprintf(nc.name, sizeof(nc.name), "%s", c->name);
	snprintf(nc.kind, sizeof(nc.kind), "%s", c->kind);
	snprintf(nc.channel, sizeof(nc.channel), "%s", channel);
	nc.version = c->version;
	memcpy(nc.sha256, c->sha256, CRYPTO_SHA256_HEX);
	if (base_ok) {
		nc.prev_version = inst->version;
		memcpy(nc.prev_sha256, inst->sha256, CRYPTO_SHA256_HEX);
	} else if (inst != NULL) {
		nc.prev_version = inst->prev_version;
		memcpy(nc.prev_sha256, inst->prev_sha256, CRYPTO_SHA256_HEX);
	}
	st->pending = nc;
	st->has_pending = 1;
	r = agent_state_commit(a->sdir, st, AGENT_STATE_SYNC);
	if (r == 0)
		r = agent_install_file(a->dir, c->name, src, base_ok);
	st->has_pending = 0;
	if (r < 0) {
		unlink(src);
		agent_state_commit(a->sdir, st, AGENT_STATE_SYNC);
		agent_fail(ps, "cannot install '%s' in '%s': %s", c->name,
		    a->dir, r == -ENOSPC ? "disk full" : strerror(-r));
		return r;
	}
	if (inst == NULL) {
		if (st->ncomp == AGENT_COMPONENTS_MAX) {
			agent_fail(ps, "more than %d components",
			    AGENT_COMPONENTS_MAX);
			return -E2BIG;
		}
		inst = &st->comp[st->ncomp++];
	}
	*inst = nc;
	r = agent_state_commit(a->sdir, st, AGENT_STATE_SYNC);
	if (r < 0) {
		/* reconciled at the next start: the pending record is there */
		agent_fail(ps, "cannot record '%s' as installed: %s", c->name,
		    strerror(-r));
		return r;
	}
	if (strcmp(c->kind, "config") == 0)
		ps->took_config = 1;
	ps->nupdated++;
	if (agent_list_add(&ps->updated, ",", "%s", c->name) < 0 ||
	    agent_list_add(&ps->notes, ", ", "%s %" PRIu64 "%s", c->name,
	    c->version, by_delta ? " (delta)" : "") < 0)
		log_warn("too many updated components to list");
	agent_note(a, AGENT_INFO, "installed '%s' version %" PRIu64,
	    c->name, c->version);
	return 0;
}

/* ---- a sync ----------------------------------------------------------- */

static uint64_t
agent_held_serial(const struct agent_state *st, const char *ch)
{
	size_t	 i;

	for (i = 0; i < st->nch; i++)
		if (strcmp(st->ch[i].name, ch) == 0)
			return st->ch[i].serial;
	return 0;
}

static int
agent_set_serial(struct agent_state *st, const char *ch, uint64_t serial)
{
	size_t	 i;

	for (i = 0; i < st->nch; i++)
		if (strcmp(st->ch[i].name, ch) == 0) {
			st->ch[i].serial = serial;
			return 0;
		}
	if (st->nch == AGENT_CHANNELS_MAX)
		return -E2BIG;
	snprintf(st->ch[st->nch].name, sizeof(st->ch[st->nch].name), "%s", ch);
	st->ch[st->nch++].serial = serial;
	return 0;
}

/*
 * Start-up check of what the state says is installed: each file is
 * hashed; an install cut short (the pending record) is completed in the
 * state, and a file that holds no known version is fetched again.
 */
static void
agent_reconcile(struct agent *a, struct agent_state *st)
{
	struct agent_component	*c;
	char			 path[FS_PATH_MAX], hex[CRYPTO_SHA256_HEX];
	size_t			 i;
	int			 r, changed = 0, adopted = 0;

	for (i = 0; i < st->ncomp; i++) {
		c = &st->comp[i];
		if (c->sha256[0] == '\0' ||
		    fs_path(path, sizeof(path), "%s/%s", a->dir, c->name) < 0)
			continue;
		r = agent_hash_file(path, hex, NULL);
		if (r == 0 && strcmp(hex, c->sha256) == 0)
			continue;
		if (r == 0 && st->has_pending &&
		    strcmp(st->pending.name, c->name) == 0 &&
		    strcmp(st->pending.sha256, hex) == 0) {
			agent_note(a, AGENT_INFO, "'%s': completing the install "
			    "of version %" PRIu64 " that was cut short",
			    c->name, st->pending.version);
			*c = st->pending;
			adopted = 1;
		} else {
			agent_note(a, AGENT_WARN, "'%s' in '%s' is not version "
			    "%" PRIu64 " (%s); it will be fetched again",
			    c->name, a->dir, c->version, r == 0 ?
			    "changed outside cascade-agent" : strerror(-r));
			c->version = 0;
			c->sha256[0] = '\0';
		}
		changed = 1;
	}
	if (st->has_pending && !adopted &&
	    agent_state_find(st, st->pending.name) == NULL &&
	    st->ncomp < AGENT_COMPONENTS_MAX &&
	    fs_path(path, sizeof(path), "%s/%s", a->dir,
	    st->pending.name) == 0 && agent_hash_file(path, hex, NULL) == 0 &&
	    strcmp(hex, st->pending.sha256) == 0) {
		agent_note(a, AGENT_INFO, "'%s': completing the install of "
		    "version %" PRIu64 " that was cut short",
		    st->pending.name, st->pending.version);
		st->comp[st->ncomp++] = st->pending;
	}
	if (st->has_pending)
		changed = 1;
	st->has_pending = 0;
	if (changed && (r = agent_state_commit(a->sdir, st,
	    AGENT_STATE_SYNC)) < 0)
		agent_note(a, AGENT_ERROR, "cannot write the state in '%s': %s",
		    a->sdir, strerror(-r));
	a->reconciled = 1;
}

/*
 * One pass against server srv. Returns 0 when the pass ran (failures of
 * content are in ps), -EAGAIN when the server is no use (try the next),
 * -ECANCELED, -EACCES (this agent is refused or pending).
 */
static int
agent_pass(struct agent *a, int srv, struct agent_state *st,
    struct agent_pass *ps)
{
	struct manifest_state	*doc = NULL;
	struct manifest		*m[AGENT_CHANNELS_MAX];
	const char		*taken[AGENT_COMPONENTS_MAX];
	struct fetch_result	 fr;
	struct fetch		*f;
	struct buf		 body;
	char			 today[AGENT_DAY_LEN + 1], when[TS_LEN + 1];
	size_t			 nm = 0, ntaken = 0, i, j, k, n;
	uint64_t		 held, serial;
	time_t			 now = time(NULL);
	int			 e, r, dup, deferred = 0;

	f = agent_fetch(a, srv);
	if (f == NULL) {
		ps->server_down = 1;
		snprintf(ps->server_reason, sizeof(ps->server_reason),
		    "not an http(s) URL");
		return -EAGAIN;
	}
	e = agent_get_policy(a, srv, f, st, ps);
	if (e < 0)
		return ps->cancelled ? -ECANCELED : e;

	doc = malloc(sizeof(*doc));
	if (doc == NULL)
		return -ENOMEM;
	buf_init(&body, MANIFEST_DOC_MAX);
	e = fetch_get(f, "v1/state", st->etag[0] != '\0' ? st->etag : NULL, 0,
	    &body, &fr);
	r = agent_request_trouble(ps, e, &fr, "the state");
	if (r < 0) {
		e = r;
		goto out;
	}
	if (e == 0 && fr.status == 304) {
		/* nothing moved: the channels held, from their manifests */
		memset(doc, 0, sizeof(*doc));
		doc->serial = st->server_serial;
		for (i = 0; i < st->nch; i++) {
			memcpy(doc->ch[i].name, st->ch[i].name,
			    sizeof(doc->ch[i].name));
			doc->ch[i].serial = st->ch[i].serial;
		}
		doc->nch = st->nch;
	} else if (e == 0 && fr.status == 200) {
		e = manifest_state_parse(body.ptr, body.len, doc);
		if (e < 0) {
			agent_fail(ps, "the server's state document is "
			    "malformed");
			e = 0;
			goto out;
		}
		st->server_serial = doc->serial;
	} else {
		char why[FETCH_ERROR_MAX];

		agent_fetch_why(e, &fr, why, sizeof(why));
		if (fr.status == 401 || fr.status == 403) {
			agent_fail(ps, "the server refused this agent the "
			    "state (%s)", why);
			e = -EACCES;
			goto out;
		}
		agent_fail(ps, "cannot get the server's state: %s", why);
		e = 0;
		goto out;
	}

	/* the manifests: the one held, or a newer one */
	ps->all_channels = 1;
	for (i = 0; i < doc->nch && nm < AGENT_CHANNELS_MAX; i++) {
		const char *ch = doc->ch[i].name;

		held = agent_held_serial(st, ch);
		serial = doc->ch[i].serial;
		m[nm] = NULL;
		if (held > 0)
			agent_load_cached(a, ch, held, &m[nm]);
		if (serial < held)
			agent_note(a, AGENT_WARN, "server '%s' has serial %"
			    PRIu64 " of channel '%s', older than the %" PRIu64
			    " held", a->conf.servers[srv], serial, ch, held);
		if (serial > held || m[nm] == NULL) {
			manifest_free(m[nm]);
			m[nm] = NULL;
			e = agent_fetch_manifest(a, f, ch, held, ps, &m[nm]);
			if (e == -EAGAIN || e == -ECANCELED)
				goto out;
			if (e == -EACCES) {
				snprintf(st->enrolment, sizeof(st->enrolment),
				    "pending");
				agent_fail(ps, "not licensed yet: the server "
				    "holds this agent as pending");
				goto out;
			}
			if (e < 0) {
				ps->all_channels = 0;
				continue;
			}
			if (m[nm]->serial > held)
				agent_note(a, AGENT_INFO, "channel '%s': serial "
				    "%" PRIu64, ch, m[nm]->serial);
			if (agent_set_serial(st, ch, m[nm]->serial) < 0) {
				agent_fail(ps, "more than %d channels",
				    AGENT_CHANNELS_MAX);
				manifest_free(m[nm]);
				continue;
			}
		}
		if (m[nm]->expires <= now) {
			ts_format(m[nm]->expires, when);
			agent_fail(ps, "channel '%s': manifest serial %" PRIu64
			    " expired at %s and the server has no newer one",
			    ch, m[nm]->serial, when);
			manifest_free(m[nm]);
			ps->all_channels = 0;
			continue;
		}
		nm++;
	}
	snprintf(st->enrolment, sizeof(st->enrolment), "licensed");
	/* serials move before anything is installed: never back */
	e = agent_state_commit(a->sdir, st, AGENT_STATE_SYNC);
	if (e < 0) {
		agent_fail(ps, "cannot write the state in '%s': %s", a->sdir,
		    e == -ENOSPC ? "disk full" : strerror(-e));
		e = 0;
		goto out;
	}

	/* the components this agent takes, the first channel's on a tie */
	agent_day(now, today);
	for (i = 0; i < nm; i++) {
		for (j = 0; j < m[i]->ncomponents; j++) {
			const struct manifest_component *c =
			    &m[i]->components[j];

			switch (agent_pick(&a->policy, st->group[0] != '\0' ?
			    st->group : a->conf.group, c->name, c->kind, today,
			    st->config_day)) {
			case AGENT_TAKE:
				break;
			case AGENT_CONFIG_TAKEN_TODAY: {
				struct agent_component *inst;

				inst = agent_state_find(st, c->name);
				if (inst == NULL || strcmp(inst->sha256,
				    c->sha256) != 0)
					deferred++;
				continue;
			}
			default:
				continue;
			}
			for (k = 0, dup = 0; k < ntaken && !dup; k++)
				dup = strcmp(taken[k], c->name) == 0;
			if (dup) {
				log_debug("'%s' of channel '%s': taken from "
				    "another channel", c->name, m[i]->channel);
				continue;
			}
			if (ntaken == AGENT_COMPONENTS_MAX) {
				agent_fail(ps, "more than %d components",
				    AGENT_COMPONENTS_MAX);
				break;
			}
			taken[ntaken++] = c->name;
			e = agent_update_one(a, f, st, c, m[i]->channel, ps);
			if (e == -EAGAIN || e == -ECANCELED)
				goto out;
			if (e == -ENOSPC)
				break;
			e = 0;
		}
	}
	if (deferred > 0)
		agent_note(a, AGENT_INFO, "configuration taken today already "
		    "(config_once_per_day): %d update%s left for tomorrow",
		    deferred, deferred == 1 ? "" : "s");
	if (ps->took_config)
		memcpy(st->config_day, today, sizeof(st->config_day));
	/* the ETag only once everything it announced is here */
	if (e == 0 && fr.status == 200 && ps->all_channels && !ps->failed &&
	    deferred == 0)
		snprintf(st->etag, sizeof(st->etag), "%s", fr.etag);
	e = 0;
out:
	for (n = 0; n < nm; n++)
		manifest_free(m[n]);
	buf_release(&body);
	free(doc);
	return e;
}

/* A key id as the status document has it: 16 upper-case hex digits
 * (sig_key_id_hex drops leading zeros, as minisign prints it). */
static void
agent_key_hex(const unsigned char id[SIG_KEY_ID_LEN], char out[17])
{
	char	 t[17];
	size_t	 n;

	sig_key_id_hex(id, t);
	n = strlen(t);
	memset(out, '0', 16 - n);
	memcpy(out + 16 - n, t, n + 1);
}

/* The status report (PUT /v1/agents/ID/status), to the servers in order
 * from srv. 0 when one took it. */
static int
agent_report(struct agent *a, const struct agent_state *st, int srv)
{
	struct manifest_agent_status	*rep;
	struct fetch_result		 fr;
	struct fetch			*f;
	struct buf			 body;
	char				 path[FS_PATH_MAX], why[FETCH_ERROR_MAX];
	size_t				 i;
	int				 k, e, r = -EAGAIN;

	if (!a->enrolled)
		return -ENOENT;
	rep = calloc(1, sizeof(*rep));
	if (rep == NULL)
		return -ENOMEM;
	snprintf(rep->hostname, sizeof(rep->hostname), "%s", a->hostname);
	snprintf(rep->agent_version, sizeof(rep->agent_version), "%s",
	    AGENT_VERSION);
	/* run's own; another command reports what run last said */
	snprintf(rep->notify, sizeof(rep->notify), "%s", a->running ?
	    a->notify_url : st->notify);
	rep->ok = st->result != AGENT_RESULT_FAILED;
	snprintf(rep->message, sizeof(rep->message), "%s", st->message);
	snprintf(rep->group, sizeof(rep->group), "%s", st->group[0] != '\0' ?
	    st->group : a->conf.group);
	for (i = 0; i < a->nkeys && i < MANIFEST_KEYS_MAX; i++)
		agent_key_hex(a->keys[i].id, rep->keys[rep->nkeys++]);
	rep->time = st->last_sync;
	for (i = 0; i < st->ncomp && rep->ninstalled < MANIFEST_INSTALLED_MAX;
	    i++) {
		struct manifest_installed *in = &rep->installed[rep->ninstalled];

		if (st->comp[i].sha256[0] == '\0')
			continue;
		snprintf(in->name, sizeof(in->name), "%s", st->comp[i].name);
		in->version = st->comp[i].version;
		memcpy(in->sha256, st->comp[i].sha256, CRYPTO_SHA256_HEX);
		rep->ninstalled++;
	}
	buf_init(&body, MANIFEST_DOC_MAX);
	e = manifest_status_emit(rep, &body);
	free(rep);
	if (e < 0) {
		agent_note(a, AGENT_ERROR, "cannot make the status report: %s",
		    log_strerror(e));
		buf_release(&body);
		return e;
	}
	snprintf(path, sizeof(path), "v1/agents/%s/status", a->id);
	for (k = 0; k < a->conf.nservers && !a->stop; k++) {
		int s = (srv + k) % a->conf.nservers;

		f = agent_fetch(a, s);
		if (f == NULL)
			continue;
		e = fetch_request(f, "PUT", path, "application/json", body.ptr,
		    body.len, NULL, &fr);
		if (e == 0 && fr.status >= 200 && fr.status < 300) {
			a->last_report = time(NULL);
			r = 0;
			break;
		}
		agent_fetch_why(e, &fr, why, sizeof(why));
		agent_note(a, AGENT_WARN, "server '%s' did not take the status "
		    "report: %s", a->conf.servers[s], why);
		if (!agent_server_trouble(e, &fr))
			break;
	}
	buf_release(&body);
	return r;
}

static void
agent_pass_init(struct agent_pass *ps)
{
	memset(ps, 0, sizeof(*ps));
	ps->retry_after = -1;
	buf_init(&ps->updated, 64u << 10);
	buf_init(&ps->notes, 64u << 10);
	buf_init(&ps->skipped, 64u << 10);
}

static void
agent_pass_release(struct agent_pass *ps)
{
	buf_release(&ps->updated);
	buf_release(&ps->notes);
	buf_release(&ps->skipped);
}

/* After a sync that got everything: downloads left from versions that
 * are gone (never to be resumed) are removed. */
static void
agent_clean_partial(struct agent *a)
{
	struct dirent	*de;
	DIR		*d;
	char		 dir[FS_PATH_MAX], path[FS_PATH_MAX];

	if (fs_path(dir, sizeof(dir), "%s/partial", a->sdir) < 0 ||
	    (d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (fs_path(path, sizeof(path), "%s/%s", dir, de->d_name) == 0)
			unlink(path);
	}
	closedir(d);
}

/* What a sync came to, for `run`. */
struct agent_outcome {
	int		 ok;
	int64_t		 retry_after;	/* -1: none */
};

/*
 * One sync, under the sync lock: enrols when needed, tries the servers
 * in order, installs, runs post_update, records the result and reports
 * it. 0 when the agent is current, -ECANCELED, or -1 (the message says
 * why, on stderr and in the log).
 */
static int
agent_sync(struct agent *a, const char *why, struct agent_outcome *out)
{
	struct agent_state	*st;
	struct agent_pass	 ps;
	char			 path[FS_PATH_MAX], err[256];
	char			 msg[AGENT_MESSAGE_MAX + 1];
	int			 lock, i, e = 0, srv = 0, r = -1;

	out->ok = 0;
	out->retry_after = -1;
	if (fs_path(path, sizeof(path), "%s/sync.lock", a->sdir) < 0)
		return -1;
	lock = fs_lock(path);
	if (lock < 0) {
		agent_note(a, AGENT_ERROR, "cannot lock '%s': %s", path,
		    strerror(-lock));
		return -1;
	}
	st = malloc(sizeof(*st));
	if (st == NULL) {
		close(lock);
		return -1;
	}
	agent_pass_init(&ps);
	e = agent_state_load(a->sdir, st, err, sizeof(err));
	if (e < 0) {
		agent_note(a, AGENT_ERROR, "the state file '%s/state' is "
		    "unusable (%s); remove it to start over (the installed "
		    "files are fetched again)", a->sdir, err);
		goto out;
	}
	if (!a->reconciled)
		agent_reconcile(a, st);
	if (!a->enrolled) {
		e = agent_enrol(a, st, &ps);
		if (e == -ECANCELED) {
			r = -ECANCELED;
			goto out;
		}
		if (e < 0) {
			snprintf(st->message, sizeof(st->message), "not "
			    "enrolled: %.900s", e == -EACCES ? "the enrolment "
			    "was refused" : e == -EAGAIN ? ps.server_reason :
			    "the server's answer was not understood");
			out->retry_after = ps.retry_after;
			goto done;
		}
	}
	if (agent_load_keys(a) < 0) {
		agent_fail(&ps, "no trusted key could be read (trust in '%s')",
		    a->conf_path);
		goto record;
	}
	agent_note(a, AGENT_INFO, "sync (%s)", why);
	for (i = 0; i < a->conf.nservers; i++) {
		ps.server_down = 0;
		e = agent_pass(a, i, st, &ps);
		srv = i;
		if (e == -ECANCELED || ps.cancelled) {
			r = -ECANCELED;
			goto out;
		}
		if (e != -EAGAIN)
			break;
		agent_note(a, AGENT_WARN, "server '%s': %s%s",
		    a->conf.servers[i], ps.server_reason,
		    i + 1 < a->conf.nservers ? "; trying the next one" : "");
	}
	if (e == -EAGAIN) {
		if (a->conf.nservers == 1)
			agent_fail(&ps, "server '%s' unavailable: %s",
			    a->conf.servers[0], ps.server_reason);
		else
			agent_fail(&ps, "no server available (the last: %s)",
			    ps.server_reason);
		out->retry_after = ps.retry_after;
	}
	if (ps.nupdated > 0 && a->policy.post_update[0] != '\0') {
		agent_note(a, AGENT_INFO, "post_update (CASCADE_UPDATED=%s)",
		    ps.updated.ptr);
		if (agent_post_update(a->policy.post_update, ps.updated.ptr,
		    a->dir, AGENT_POST_UPDATE_TIMEOUT, &a->stop, msg,
		    sizeof(msg)) < 0) {
			/* the update stays: it is the post_update that failed */
			char both[2 * AGENT_MESSAGE_MAX + 8];

			snprintf(both, sizeof(both), "%s%s%s", msg,
			    ps.reason[0] != '\0' ? "; " : "", ps.reason);
			both[AGENT_MESSAGE_MAX] = '\0';
			memcpy(ps.reason, both, strlen(both) + 1);
			ps.failed++;
		} else if (msg[0] != '\0')
			agent_note(a, AGENT_INFO, "post_update: %s", msg);
	}
	if (!ps.failed && e == 0)
		agent_clean_partial(a);
record:
	if (ps.failed)
		snprintf(st->message, sizeof(st->message), "%s", ps.reason);
	else if (ps.nupdated > 0)
		snprintf(st->message, sizeof(st->message), "updated %s%s%s",
		    ps.notes.ptr, ps.skipped.len > 0 ? "; " : "",
		    ps.skipped.len > 0 ? ps.skipped.ptr : "");
	else
		snprintf(st->message, sizeof(st->message), "current%s%s",
		    ps.skipped.len > 0 ? "; " : "", ps.skipped.len > 0 ?
		    ps.skipped.ptr : "");
	if (!ps.failed)
		r = 0;
done:
	st->result = r == 0 ? AGENT_RESULT_OK : AGENT_RESULT_FAILED;
	st->last_sync = time(NULL);
	e = agent_state_commit(a->sdir, st, AGENT_STATE_SYNC);
	if (e < 0)
		agent_note(a, AGENT_ERROR, "cannot write the state in '%s': %s",
		    a->sdir, e == -ENOSPC ? "disk full" : strerror(-e));
	if (r == 0)
		agent_note(a, AGENT_INFO, "sync done: %s", st->message);
	else
		agent_note(a, AGENT_ERROR, "sync failed: %s", st->message);
	if (a->enrolled)
		agent_report(a, st, srv);
	out->ok = r == 0;
out:
	agent_pass_release(&ps);
	free(st);
	close(lock);
	return r;
}

/* ---- notifications: long-poll and listener ---------------------------- */

/* A notification came: the main loop syncs. */
static void
agent_notify(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	a->notified = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
}

/* Waits on the condition until when (or a wake-up); the lock held. */
static void
agent_wait_locked(struct agent *a, time_t when)
{
	struct timespec	 ts = { when, 0 };

	pthread_cond_timedwait(&a->cond, &a->lock, &ts);
}

static void *
agent_poll_main(void *arg)
{
	struct agent		*a = arg;
	struct manifest_state	*doc;
	struct fetch_config	 fc;
	struct fetch_result	 fr;
	struct fetch		*f[CONF_SERVERS_MAX] = { NULL };
	struct buf		 body;
	char			 path[96], why[FETCH_ERROR_MAX];
	uint64_t		 since;
	time_t			 until;
	long long		 t0;
	int			 srv = 0, failures = 0, e, i;

	doc = malloc(sizeof(*doc));
	if (doc == NULL)
		return NULL;
	buf_init(&body, MANIFEST_DOC_MAX);
	while (!a->poll_stop) {
		if (f[srv] == NULL) {
			agent_fetch_config(a, srv, 1, &a->poll_stop, &fc);
			if (fetch_new(&fc, &f[srv]) < 0)
				f[srv] = NULL;
		}
		pthread_mutex_lock(&a->lock);
		since = a->server_serial;
		pthread_mutex_unlock(&a->lock);
		snprintf(path, sizeof(path), "v1/events?since=%" PRIu64
		    "&wait=%d", since, AGENT_POLL_WAIT);
		buf_reset(&body);
		t0 = agent_now_ms();
		e = f[srv] == NULL ? -EINVAL : fetch_get(f[srv], path, NULL,
		    AGENT_POLL_WAIT + 15, &body, &fr);
		if (a->poll_stop)
			break;
		/* a 204 at once is a server that does not hold long-polls:
		 * waited on like a failure, never a tight loop */
		if (e == 0 && fr.status == 204 && agent_now_ms() - t0 >= 1000) {
			failures = 0;
			continue;
		}
		if (e == 0 && fr.status == 200 &&
		    manifest_state_parse(body.ptr, body.len, doc) == 0) {
			failures = 0;
			pthread_mutex_lock(&a->lock);
			if (doc->serial > a->server_serial) {
				a->server_serial = doc->serial;
				pthread_mutex_unlock(&a->lock);
				agent_note(a, AGENT_INFO, "notified by '%s': "
				    "serial %" PRIu64, a->conf.servers[srv],
				    doc->serial);
				agent_notify(a);
				continue;
			}
			pthread_mutex_unlock(&a->lock);
			/* no newer serial: the server asks for a sync all
			 * the same (an administrator's "notify"); then a
			 * pause, so that a server that always answers so
			 * is no tight loop */
			agent_note(a, AGENT_INFO, "asked to sync by '%s'",
			    a->conf.servers[srv]);
			agent_notify(a);
			until = time(NULL) + AGENT_RETRY_MIN;
			pthread_mutex_lock(&a->lock);
			while (!a->poll_stop && time(NULL) < until)
				agent_wait_locked(a, until);
			pthread_mutex_unlock(&a->lock);
			continue;
		}
		/* down, refusing, or answering what it should not: wait, and
		 * try the next server; never a tight loop */
		failures++;
		if (e == 0 && fr.status == 200)
			snprintf(why, sizeof(why), "no newer serial");
		else if (e == 0 && fr.status == 204)
			snprintf(why, sizeof(why), "answered at once");
		else if (e == -EINVAL)
			snprintf(why, sizeof(why), "not an http(s) URL");
		else
			agent_fetch_why(e, &fr, why, sizeof(why));
		until = time(NULL) + agent_backoff(failures, e == 0 ?
		    fr.retry_after : -1);
		agent_note(a, AGENT_WARN, "long-poll on '%s': %s; again in "
		    "%lld s", a->conf.servers[srv], why,
		    (long long)(until - time(NULL)));
		pthread_mutex_lock(&a->lock);
		while (!a->poll_stop && time(NULL) < until)
			agent_wait_locked(a, until);
		pthread_mutex_unlock(&a->lock);
		srv = (srv + 1) % a->conf.nservers;
	}
	for (i = 0; i < CONF_SERVERS_MAX; i++)
		fetch_free(f[i]);
	buf_release(&body);
	free(doc);
	return NULL;
}

/* POST /v1/notify with the notify key; nothing else. */
static void
agent_listen_handle(void *ctx, struct http_request *req)
{
	struct agent		*a = ctx;
	struct http_response	*r;
	const char		*auth;
	char			 peer[HTTP_ADDR_MAX];
	size_t			 len;

	if (strcmp(http_path(req), "/v1/notify") != 0) {
		http_reply_error(req, 404, "not_found", "only /v1/notify");
		return;
	}
	if (strcmp(http_method(req), "POST") != 0) {
		r = http_error_new("method_not_allowed", "POST only");
		if (r != NULL && http_response_header(r, "Allow", "POST") < 0) {
			http_response_free(r);
			r = NULL;
		}
		if (r == NULL)
			http_reply_error(req, 500, "internal", "no memory");
		else
			http_reply(req, 405, r);
		return;
	}
	http_peer(req, peer);
	auth = http_header(req, "Authorization");
	len = auth != NULL ? strlen(auth) : 0;
	if (auth == NULL || len != 7 + 2 * CRYPTO_SHA256_LEN ||
	    strncmp(auth, "Bearer ", 7) != 0 ||
	    !crypto_memeq(auth + 7, a->notify_hex, 2 * CRYPTO_SHA256_LEN)) {
		agent_note(a, AGENT_WARN, "notification from %s refused: %s",
		    peer[0] != '\0' ? peer : "?", auth == NULL ? "no key" :
		    "wrong key");
		http_reply_error(req, 401, "unauthorized", "a notification "
		    "needs this agent's notify key");
		return;
	}
	(void)http_body(req, &len);
	agent_note(a, AGENT_INFO, "notification received from %s",
	    peer[0] != '\0' ? peer : "?");
	agent_notify(a);
	r = http_response_copy("", 0);
	if (r == NULL)
		http_reply_error(req, 500, "internal", "no memory");
	else
		http_reply(req, 204, r);
}

/* Starts what notify says: the long-poll thread or the listener. */
static int
agent_notifier_start(struct agent *a)
{
	struct http_config	 hc;
	unsigned char		 key[CRYPTO_SHA256_LEN];
	char			 err[256];
	int			 e;

	a->notify_url[0] = '\0';
	a->poll_stop = 0;
	switch (a->conf.notify) {
	case CONF_NOTIFY_NONE:
		return 0;
	case CONF_NOTIFY_LONGPOLL:
		e = pthread_create(&a->poll_thread, NULL, agent_poll_main, a);
		if (e != 0)
			return log_errno(-e, "cannot start the long-poll");
		a->poll_started = 1;
		return 0;
	case CONF_NOTIFY_LISTEN:
		break;
	}
	e = crypto_token_hash(CRYPTO_LABEL_NOTIFY, a->token, key);
	if (e < 0)
		return log_errno(e, "cannot derive the notify key");
	crypto_hex(key, sizeof(key), a->notify_hex);
	crypto_wipe(key, sizeof(key));
	memset(&hc, 0, sizeof(hc));
	hc.listen[0] = a->conf.notify_listen;
	hc.nlisten = 1;
	hc.threads = 1;
	hc.connection_memory = 16384;
	hc.connection_limit = 16;
	hc.connection_timeout = 10;
	hc.body_max = AGENT_NOTIFY_BODY_MAX;
	e = http_server_start(&hc, agent_listen_handle, a, &a->hs, err,
	    sizeof(err));
	if (e < 0) {
		agent_note(a, AGENT_ERROR, "cannot listen for notifications: "
		    "%s", err);
		return e;
	}
	if (a->conf.notify_url[0] != '\0')
		snprintf(a->notify_url, sizeof(a->notify_url), "%s",
		    a->conf.notify_url);
	else
		snprintf(a->notify_url, sizeof(a->notify_url),
		    "http://%s/v1/notify", http_server_address(a->hs, 0));
	agent_note(a, AGENT_INFO, "listening for notifications on %s",
	    a->notify_url);
	return 0;
}

static void
agent_notifier_stop(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	a->poll_stop = 1;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	if (a->poll_started)
		pthread_join(a->poll_thread, NULL);
	a->poll_started = 0;
	http_server_stop(a->hs);
	a->hs = NULL;
}

/* ---- run -------------------------------------------------------------- */

/* The signals run blocks in every thread and its signal thread takes. */
static void
agent_run_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGHUP);
}

static void *
agent_signal_main(void *arg)
{
	struct agent	*a = arg;
	sigset_t	 set;
	int		 sig;

	agent_run_signals(&set);
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		pthread_mutex_lock(&a->lock);
		if (sig == SIGHUP)
			a->reload = 1;
		else {
			a->stop = 1;
			a->poll_stop = 1;
		}
		pthread_cond_broadcast(&a->cond);
		pthread_mutex_unlock(&a->lock);
		if (sig != SIGHUP)
			return NULL;
	}
}

/* A random number of seconds in [0, window). */
static int64_t
agent_jitter(int64_t window)
{
	uint64_t	 r = 0;

	if (window <= 0 || crypto_random(&r, sizeof(r)) < 0)
		return 0;
	return (int64_t)(r % (uint64_t)window);
}

/* The next scheduled sync after now (0: none, scheduled = no). */
static time_t
agent_schedule(const struct agent *a, time_t now)
{
	if (!a->policy.scheduled)
		return 0;
	return conf_schedule_next(&a->policy.schedule, now) +
	    (time_t)agent_jitter(a->policy.window);
}

static int
agent_paused(struct agent *a)
{
	struct agent_state	*st;
	char			 err[128];
	int			 paused = 0;

	st = malloc(sizeof(*st));
	if (st != NULL && agent_state_load(a->sdir, st, err,
	    sizeof(err)) == 0)
		paused = st->paused;
	free(st);
	return paused;
}

/* A status report outside a sync, from the state on disk. */
static void
agent_report_now(struct agent *a)
{
	struct agent_state	*st;
	char			 err[128];

	st = malloc(sizeof(*st));
	if (st != NULL && agent_state_load(a->sdir, st, err,
	    sizeof(err)) == 0) {
		agent_load_keys(a);
		agent_report(a, st, 0);
	}
	free(st);
}

/* Records the run's times (for status). */
static void
agent_record_times(struct agent *a, time_t next)
{
	struct agent_state	*st;

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		return;
	st->next_sync = next;
	st->last_report = a->last_report;
	memcpy(st->notify, a->notify_url, sizeof(st->notify));
	agent_state_commit(a->sdir, st, AGENT_STATE_RUN);
	free(st);
}

static time_t
agent_min_time(time_t a, time_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

int
agent_cmd_run(const char *conf_path)
{
	struct agent		*a;
	struct agent_outcome	 oc;
	struct agent_state	*st;
	pthread_t		 sigthread;
	sigset_t		 set;
	char			 path[FS_PATH_MAX], err[128], why[64];
	time_t			 now, retry, sched, report, hold = 0, wake;
	int64_t			 delay, period;
	int			 runlock, failures = 0, notified, reload, e;
	int			 rc = 1, started = 0;

	/* the threads inherit the mask; the signal thread takes them */
	agent_run_signals(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	a = agent_new(conf_path);
	if (a == NULL)
		return 1;
	if (fs_path(path, sizeof(path), "%s/run.lock", a->sdir) < 0 ||
	    (runlock = fs_trylock(path)) < 0) {
		log_error("another cascade-agent run uses '%s'", a->dir);
		agent_free(a);
		return 1;
	}
	if (pthread_create(&sigthread, NULL, agent_signal_main, a) != 0) {
		log_error("cannot start the signal thread");
		close(runlock);
		agent_free(a);
		return 1;
	}
	agent_policy_cached(a);
	st = malloc(sizeof(*st));
	if (st != NULL && agent_state_load(a->sdir, st, err,
	    sizeof(err)) == 0) {
		a->server_serial = st->server_serial;
		a->last_report = st->last_report;
	}
	free(st);
	a->running = 1;
	agent_note(a, AGENT_INFO, "cascade-agent %s started (dir '%s')",
	    AGENT_VERSION, a->dir);
	agent_record_times(a, 0);	/* no notify URL until it listens */

	if (a->enrolled) {
		/* listening before the first sync, whose report says where */
		if (agent_notifier_start(a) < 0)
			goto out;
		started = 1;
	}
	retry = time(NULL);		/* the sync at start */
	sched = 0;
	snprintf(why, sizeof(why), "start");
	for (;;) {
		period = conf_schedule_period(&a->policy.schedule);
		report = a->last_report + (time_t)period;
		wake = agent_min_time(agent_min_time(retry, sched), report);
		now = time(NULL);
		if (wake == 0 || wake > now + AGENT_WAKE_MAX)
			wake = now + AGENT_WAKE_MAX;
		pthread_mutex_lock(&a->lock);
		while (!a->stop && !a->notified && !a->reload &&
		    time(NULL) < wake)
			agent_wait_locked(a, wake);
		notified = a->notified;
		reload = a->reload;
		a->notified = 0;
		a->reload = 0;
		pthread_mutex_unlock(&a->lock);
		if (a->stop)
			break;
		now = time(NULL);
		if (reload) {
			agent_notifier_stop(a);
			if (agent_load_conf(a, conf_path) == 0) {
				agent_policy_cached(a);
				agent_note(a, AGENT_INFO, "reloaded '%s'",
				    conf_path);
			}
			if (started && agent_notifier_start(a) < 0)
				break;
			sched = agent_schedule(a, now);
			agent_record_times(a, agent_min_time(retry, sched));
			continue;
		}
		if (notified) {
			if (now < hold) {
				/* the server asked for a pause: kept */
				retry = hold;
				snprintf(why, sizeof(why), "notification");
				continue;
			}
			snprintf(why, sizeof(why), "notification");
		} else if (retry != 0 && now >= retry) {
			/* why was set when the retry was planned */
		} else if (sched != 0 && now >= sched) {
			sched = agent_schedule(a, now);
			if (agent_paused(a) && a->policy.user_may_disable) {
				agent_note(a, AGENT_INFO, "scheduled sync "
				    "skipped: paused (cascade-agent resume)");
				agent_record_times(a, sched);
				continue;
			}
			snprintf(why, sizeof(why), "schedule");
		} else if (now >= report) {
			agent_report_now(a);
			/* done or not, the next one is a period away */
			a->last_report = now;
			agent_record_times(a, agent_min_time(retry, sched));
			continue;
		} else
			continue;

		e = agent_sync(a, why, &oc);
		if (e == -ECANCELED || a->stop)
			break;
		now = time(NULL);
		if (!started && a->enrolled) {
			/* enrolled during this sync: the notifications can
			 * start, and the server learn where to push */
			if (agent_notifier_start(a) < 0)
				break;
			started = 1;
			if (a->notify_url[0] != '\0')
				agent_report_now(a);
		}
		if (oc.ok) {
			failures = 0;
			retry = 0;
			hold = 0;
		} else {
			failures++;
			delay = agent_backoff(failures, oc.retry_after);
			retry = now + (time_t)delay;
			hold = oc.retry_after > 0 ? now +
			    (time_t)oc.retry_after : 0;
			snprintf(why, sizeof(why), "retry %d", failures);
			agent_note(a, AGENT_INFO, "next attempt in %lld s",
			    (long long)delay);
		}
		pthread_mutex_lock(&a->lock);
		st = malloc(sizeof(*st));
		if (st != NULL && agent_state_load(a->sdir, st, err,
		    sizeof(err)) == 0 && st->server_serial > a->server_serial)
			a->server_serial = st->server_serial;
		free(st);
		pthread_mutex_unlock(&a->lock);
		sched = agent_schedule(a, now);
		agent_record_times(a, agent_min_time(retry, sched));
	}
out:
	if (!a->stop)
		agent_note(a, AGENT_ERROR, "stopped on an error");
	else {
		agent_note(a, AGENT_INFO, "stopped");
		rc = 0;
	}
	agent_notifier_stop(a);
	pthread_kill(sigthread, SIGTERM);
	pthread_join(sigthread, NULL);
	close(runlock);
	agent_free(a);
	return rc;
}

/* ---- the other commands ----------------------------------------------- */

int
agent_cmd_sync(const char *conf_path)
{
	struct agent		*a;
	struct agent_outcome	 oc;
	int			 e;

	signal(SIGPIPE, SIG_IGN);
	a = agent_new(conf_path);
	if (a == NULL)
		return 1;
	agent_policy_cached(a);
	e = agent_sync(a, "cascade-agent sync", &oc);
	agent_free(a);
	return e == 0 ? 0 : 1;
}

int
agent_cmd_enroll(const char *conf_path)
{
	struct agent		*a;
	struct agent_state	*st;
	char			 path[FS_PATH_MAX], err[128];
	int			 lock, e;

	signal(SIGPIPE, SIG_IGN);
	a = agent_new(conf_path);
	if (a == NULL)
		return 1;
	if (a->enrolled) {
		printf("already enrolled as %s (with %s); remove '%s/agent' to "
		    "enrol again\n", a->id, a->enrolled_at, a->sdir);
		agent_free(a);
		return 0;
	}
	if (fs_path(path, sizeof(path), "%s/sync.lock", a->sdir) < 0 ||
	    (lock = fs_lock(path)) < 0) {
		log_error("cannot lock '%s/sync.lock'", a->sdir);
		agent_free(a);
		return 1;
	}
	/* another process may have enrolled meanwhile */
	e = agent_identity_load(a);
	st = malloc(sizeof(*st));
	if (st == NULL)
		e = -ENOMEM;
	if (e == 0 && (e = agent_state_load(a->sdir, st, err,
	    sizeof(err))) < 0)
		log_error("the state file '%s/state' is unusable (%s)",
		    a->sdir, err);
	if (e == 0 && !a->enrolled) {
		struct agent_pass ps;

		agent_pass_init(&ps);
		e = agent_enrol(a, st, &ps);
		agent_pass_release(&ps);
		if (e == 0 && agent_state_commit(a->sdir, st,
		    AGENT_STATE_SYNC) < 0)
			log_warn("cannot record the enrolment state in '%s'",
			    a->sdir);
	}
	if (e == 0)
		printf("enrolled as %s with %s\n", a->id, a->enrolled_at);
	free(st);
	close(lock);
	agent_free(a);
	return e == 0 ? 0 : 1;
}

static void
agent_print_time(const char *label, time_t t)
{
	char	 ts[TS_LEN + 1];

	ts_format(t, ts);
	printf("%-12s %s\n", label, ts);
}

int
agent_cmd_status(const char *conf_path)
{
	struct agent		*a;
	struct agent_state	*st;
	const struct conf_policy *p;
	char			 err[128], sched[CONF_SCHEDULE_TEXT_MAX];
	char			 ts[TS_LEN + 1];
	size_t			 i;
	int			 rc = 0;

	a = agent_new(conf_path);
	if (a == NULL)
		return 1;
	st = malloc(sizeof(*st));
	if (st == NULL || agent_state_load(a->sdir, st, err,
	    sizeof(err)) < 0) {
		log_error("the state file '%s/state' is unusable (%s)",
		    a->sdir, st != NULL ? err : "out of memory");
		free(st);
		agent_free(a);
		return 1;
	}
	agent_policy_cached(a);
	p = &a->policy;
	if (a->enrolled)
		printf("%-12s %s (%s, group '%s') with %s\n", "agent", a->id,
		    st->enrolment[0] != '\0' ? st->enrolment :
		    "state unknown until the first sync", st->group[0] !=
		    '\0' ? st->group : a->conf.group[0] != '\0' ?
		    a->conf.group : "default", a->enrolled_at);
	else
		printf("%-12s not enrolled (cascade-agent enroll)\n", "agent");
	printf("%-12s %s\n", "dir", a->dir);
	if (st->last_sync == 0)
		printf("%-12s never\n", "last sync");
	else {
		ts_format(st->last_sync, ts);
		printf("%-12s %s: %s: %s\n", "last sync", ts,
		    st->result == AGENT_RESULT_FAILED ? "failed" : "ok",
		    st->message);
	}
	conf_schedule_format(&p->schedule, sched);
	if (st->paused && p->user_may_disable)
		printf("%-12s paused (cascade-agent resume)\n", "next sync");
	else if (!p->scheduled)
		printf("%-12s on notification or demand only (scheduled = "
		    "no)\n", "next sync");
	else if (st->next_sync > time(NULL))
		agent_print_time("next sync", st->next_sync);
	else {
		ts_format(conf_schedule_next(&p->schedule, time(NULL)), ts);
		printf("%-12s %s, within %lld s after (when cascade-agent run "
		    "runs)\n", "next sync", ts, (long long)p->window);
	}
	printf("%-12s %s, window %lld s%s%s\n", "schedule", sched,
	    (long long)p->window, p->config_once_per_day ?
	    ", config once per day" : "", p->user_may_disable ? "" :
	    ", pausing not allowed");
	if (st->ncomp == 0)
		printf("%-12s nothing yet\n", "installed");
	else
		printf("installed\n");
	for (i = 0; i < st->ncomp; i++) {
		const struct agent_component *c = &st->comp[i];

		if (c->sha256[0] == '\0')
			printf("  %-24s to be fetched again (not a known "
			    "version)\n", c->name);
		else
			printf("  %-24s version %-6" PRIu64 " %.16s  %s, "
			    "channel %s", c->name, c->version, c->sha256,
			    c->kind, c->channel);
		if (c->prev_version > 0)
			printf(", previous %" PRIu64, c->prev_version);
		if (c->held_sha256[0] != '\0')
			printf(", held (rolled back)");
		printf("\n");
	}
	free(st);
	agent_free(a);
	return rc;
}

int
agent_cmd_rollback(const char *conf_path, const char *name)
{
	struct agent		*a;
	struct agent_state	*st;
	struct agent_component	*c, nc;
	char			 path[FS_PATH_MAX], err[128];
	char			 hex[CRYPTO_SHA256_HEX];
	char			 msg[AGENT_MESSAGE_MAX + 1];
	int			 lock = -1, e, rc = 1;

	signal(SIGPIPE, SIG_IGN);
	a = agent_new(conf_path);
	if (a == NULL)
		return 1;
	st = malloc(sizeof(*st));
	if (st == NULL)
		goto out;
	if (fs_path(path, sizeof(path), "%s/sync.lock", a->sdir) < 0 ||
	    (lock = fs_lock(path)) < 0) {
		log_error("cannot lock '%s/sync.lock'", a->sdir);
		goto out;
	}
	if (agent_state_load(a->sdir, st, err, sizeof(err)) < 0) {
		log_error("the state file '%s/state' is unusable (%s)",
		    a->sdir, err);
		goto out;
	}
	c = agent_state_find(st, name);
	if (c == NULL) {
		log_error("no component '%s' is installed", name);
		goto out;
	}
	if (c->prev_version == 0) {
		log_error("no previous version of '%s' is kept", name);
		goto out;
	}
	/* the kept file must be the version the state names */
	if (fs_path(path, sizeof(path), "%s/prev/%s", a->sdir, name) < 0 ||
	    (e = agent_hash_file(path, hex, NULL)) < 0 ||
	    strcmp(hex, c->prev_sha256) != 0) {
		log_error("the kept previous version of '%s' (version %" PRIu64
		    ") is missing or damaged; cannot roll back", name,
		    c->prev_version);
		goto out;
	}
	nc = *c;
	nc.version = c->prev_version;
	memcpy(nc.sha256, c->prev_sha256, CRYPTO_SHA256_HEX);
	nc.prev_version = c->version;
	memcpy(nc.prev_sha256, c->sha256, CRYPTO_SHA256_HEX);
	/* not taken again by the next sync: a newer version is */
	memcpy(nc.held_sha256, c->sha256, CRYPTO_SHA256_HEX);
	st->pending = nc;
	st->has_pending = 1;
	e = agent_state_commit(a->sdir, st, AGENT_STATE_SYNC);
	if (e == 0)
		e = agent_swap_prev(a->dir, name);
	st->has_pending = 0;
	if (e < 0) {
		agent_state_commit(a->sdir, st, AGENT_STATE_SYNC);
		log_errno(e, "cannot roll back '%s'", name);
		goto out;
	}
	snprintf(st->message, sizeof(st->message), "rolled back '%s' from "
	    "version %" PRIu64 " to %" PRIu64, name, c->version, nc.version);
	*c = nc;
	st->result = AGENT_RESULT_OK;
	e = agent_state_commit(a->sdir, st, AGENT_STATE_SYNC);
	if (e < 0) {
		log_errno(e, "rolled back '%s', but cannot record it", name);
		goto out;
	}
	agent_note(a, AGENT_INFO, "%s", st->message);
	printf("%s\n", st->message);
	rc = 0;
	agent_policy_cached(a);
	if (a->policy.post_update[0] != '\0') {
		if (agent_post_update(a->policy.post_update, name, a->dir,
		    AGENT_POST_UPDATE_TIMEOUT, NULL, msg, sizeof(msg)) < 0) {
			snprintf(st->message, sizeof(st->message), "%s", msg);
			st->result = AGENT_RESULT_FAILED;
			agent_state_commit(a->sdir, st, AGENT_STATE_SYNC);
			agent_note(a, AGENT_ERROR, "%s", msg);
			rc = 1;
		}
	}
	agent_load_keys(a);
	if (a->enrolled && agent_report(a, st, 0) == 0)
		agent_note(a, AGENT_INFO, "reported to the server");
out:
	if (lock >= 0)
		close(lock);
	free(st);
	agent_free(a);
	return rc;
}

int
agent_cmd_pause(const char *conf_path, int pause)
{
	struct agent		*a;
	struct agent_state	*st;
	int			 e, rc = 1;

	a = agent_new(conf_path);
	if (a == NULL)
		return 1;
	agent_policy_cached(a);
	if (!a->policy.user_may_disable) {
		log_error("%s refused: this agent's policy does not let its "
		    "user stop scheduled updates (user_may_disable = no)",
		    pause ? "pause" : "resume");
		agent_free(a);
		return 1;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		agent_free(a);
		return 1;
	}
	st->paused = pause;
	e = agent_state_commit(a->sdir, st, AGENT_STATE_PAUSE);
	if (e < 0)
		log_errno(e, "cannot write the state in '%s'", a->sdir);
	else {
		agent_note(a, AGENT_INFO, "scheduled updates %s", pause ?
		    "paused (notifications and cascade-agent sync still "
		    "update)" : "resumed");
		rc = 0;
	}
	free(st);
	agent_free(a);
	return rc;
}

static int
agent_cat(const char *path)
{
	char	 chunk[65536];
	ssize_t	 n;
	int	 fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if (fwrite(chunk, 1, (size_t)n, stdout) != (size_t)n)
			break;
	close(fd);
	return n < 0 ? -EIO : 0;
}

int
agent_cmd_log(const char *conf_path)
{
	struct agent	*a;
	char		 path[FS_PATH_MAX];
	int		 e = 0;

	a = agent_new(conf_path);
	if (a == NULL)
		return 1;
	if (fs_path(path, sizeof(path), "%s/log.1", a->sdir) == 0)
		e = agent_cat(path);
	if (e == 0 && fs_path(path, sizeof(path), "%s/log", a->sdir) == 0)
		e = agent_cat(path);
	if (e < 0)
		log_errno(e, "cannot read the log in '%s'", a->sdir);
	agent_free(a);
	return e < 0 ? 1 : 0;
}
