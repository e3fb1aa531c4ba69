/*
 * fleet_sim: N simulated cascade agents in one process, against one
 * `cascade serve`, for bench/fleet (which starts the server, runs this and
 * prints the table). The product uses libcurl from src/fetch.c only;
 * this tool is not part of the product, and fetch.c's one transfer at a
 * time cannot hold 10,000 long-polls in one process, so it uses libcurl's
 * multi interface itself (curl_multi_socket_action on epoll:
 * curl_multi_poll over 10,000 sockets would cost more than the server it
 * measures). The JSON documents go through manifest.c as everywhere
 * else.
 *
 * Each agent does what a cascade-agent in `notify = longpoll` mode does:
 *   setup   POST /v1/agents {"hostname": "sim-N"} (201), GET
 *           /v1/agents/ID/policy (200), GET /v1/state (200, its ETag
 *           kept), PUT /v1/agents/ID/status (204) holding the channel's
 *           current version of the component; at most --setup-parallel
 *           agents at once in this phase;
 *   idle    GET /v1/events?since=SERIAL&wait=W held, re-armed on 204; and
 *           every --poll seconds (each agent at its own phase) GET
 *           /v1/state with If-None-Match (304);
 *   update  on a 200 from /v1/events: GET the manifest and its signature,
 *           the delta from the version held (/v1/deltas/FROM/TO; on 404
 *           the whole object), its size checked against the manifest, then
 *           PUT status with the new version: the agent is current when
 *           that status is answered 204 and it holds --expect-sha.
 * Requests carry X-Cascade-Agent and Authorization: Bearer. The agents
 * start holding the current version (nobody downloads the first one:
 * 10,000 copies of it would measure the loopback, not the fleet).
 * Signatures are not checked here (the simulator would compete with the
 * server for the same cores); sizes are.
 *
 * Phases: setup, then --idle seconds of idle (the server's RSS and CPU
 * measured, from /proc/--server-pid), then --publish CMD is run (sh -c)
 * and the update phase lasts until every agent is current or
 * --update-timeout. The state polls stop at the publish: the update phase
 * measures notification alone. A request answered with anything other
 * than what a real agent expects, or a transport error, is a failure; the
 * agent retries it after a backoff of 1 s (doubling to 16 s), as an agent
 * would.
 *
 * Output: progress on stderr; "key value" lines on stdout (see
 * sim_report). Exit 0 when the run went through (whatever the figures),
 * 1 when the time limit cut it short, 2 on a setup error.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "buf.h"
#include "manifest.h"
#include "banned.h"

#define SIM_URL_MAX		512
#define SIM_BODY_MAX		(1u << 20)	/* JSON answers we parse */
#define SIM_FAIL_SHOWN		20		/* failures described */
#define SIM_BACKOFF_MS		1000
#define SIM_BACKOFF_MAX_MS	16000
#define SIM_TIMEOUT_S		120		/* any request but events */
#define SIM_EVENTS_SLACK_S	30		/* events: wait + this */
#define SIM_SAMPLE_MS		100		/* server RSS samples */
#define SIM_SETTLE_MS		1000		/* after setup, before idle */
#define SIM_GROUP		50		/* agents per multi handle */

enum req {
	R_NONE, R_ENROL, R_POLICY, R_STATE, R_STATUS, R_EVENTS, R_MANIFEST,
	R_MINISIG, R_DELTA, R_OBJECT, R_POLL, R_COUNT
};

static const char *const req_name[R_COUNT] = {
	"none", "enrol", "policy", "state", "status", "events", "manifest",
	"minisig", "delta", "object", "poll"
};

enum phase { P_SETUP, P_IDLE, P_UPDATE, P_DONE };

struct agent {
	CURL			*easy;	/* its requests, one at a time */
	CURL			*poll;	/* a state poll beside the long-poll */
	struct curl_slist	*hdrs;	/* X-Cascade-Agent, Authorization */
	struct curl_slist	*jhdr;	/* Content-Type, then hdrs */
	struct curl_slist	*phdr;	/* If-None-Match, then hdrs */
	struct buf		 body;
	uint64_t		 got;	/* bytes of a download */
	uint64_t		 want;	/* its size in the manifest */
	uint64_t		 obj_size;	/* of the new version */
	int64_t			 t_req;	/* when easy's request started */
	int64_t			 t_poll;
	int64_t			 t_current;
	int64_t			 next_poll;
	uint64_t		 serial;	/* of the last state seen */
	uint64_t		 version;	/* held */
	uint64_t		 new_version;	/* being fetched */
	unsigned		 idx;
	enum req		 req;		/* on easy; R_NONE: none */
	int			 backoff_ms;
	int			 setup_done;
	int			 current;
	int			 use_delta;	/* listed from version held */
	char			 id[MANIFEST_AGENT_ID_MAX + 1];
	char			 token[MANIFEST_TOKEN_MAX + 1];
	char			 group[MANIFEST_NAME_MAX + 1];
	char			 etag[128];
	char			 sha[CRYPTO_SHA256_HEX];	/* held */
	char			 new_sha[CRYPTO_SHA256_HEX];
};

enum timer_kind { T_RETRY, T_POLL };

struct timer {
	int64_t		 when;
	unsigned	 agent;
	enum timer_kind	 kind;
};

struct opts {
	const char	*url;		/* "http://127.0.0.1:PORT/" */
	const char	*publish;	/* sh -c command */
	const char	*component;	/* NULL: the manifest's first */
	const char	*expect_sha;
	const char	*channel;
	unsigned	 n;
	unsigned	 setup_parallel;
	unsigned	 wait_s;
	unsigned	 poll_s;
	unsigned	 idle_s;
	unsigned	 update_timeout_s;
	unsigned	 setup_timeout_s;
	unsigned	 time_limit_s;
	pid_t		 server_pid;
	int		 enrol;
};

struct proc_sample {
	long		 rss_kb, hwm_kb;
	long long	 ticks;
};

/* libcurl 7.88 walks every connection of a multi handle's cache when a
 * handle is removed from it (to close a connect-only one), and the list
 * of a host's connections for each new request: with 10,000 agents on one
 * multi handle that is two walks over 10,000 connections per request, and
 * the simulator, not the server, becomes what is measured. So the agents
 * go by groups of SIM_GROUP, each group on its own multi handle (its own
 * connection cache), all on one epoll. */
struct group {
	CURLM		*multi;
	int64_t		 deadline;	/* libcurl's timer; -1: none */
	unsigned	 idx;
};

struct sim {
	struct opts	 o;
	struct group	*g;
	unsigned	 ngroups;
	int		 ep;
	struct agent	*a;
	enum phase	 phase;
	int64_t		 t_start;
	int64_t		 t_phase;	/* when this phase began */
	/* setup */
	unsigned	 next_setup;	/* next agent to start */
	unsigned	 in_setup;
	unsigned	 set_up;
	int64_t		 t_all_set_up;	/* 0: not yet */
	/* the channel before the publish */
	uint64_t	 serial0;
	uint64_t	 version0;
	char		 comp[MANIFEST_NAME_MAX + 1];
	char		 sha0[CRYPTO_SHA256_HEX];
	/* the last manifest parsed, shared by every agent that got it */
	char		*mbody;
	size_t		 mlen;
	struct manifest	*m;
	/* timers */
	struct timer	*heap;
	size_t		 nheap, heapcap;
	/* figures */
	unsigned long	 count[R_COUNT];
	unsigned long	 connects[R_COUNT];	/* new connections */
	unsigned long	 failed[R_COUNT];
	int64_t		 max_ms[R_COUNT];
	unsigned long	 fallbacks;	/* delta 404, object fetched */
	uint64_t	 bytes[R_COUNT];
	unsigned	 downloads, downloads_peak;
	unsigned	 ncurrent;
	unsigned long	 failures_shown;
	/* publish */
	pid_t		 pub_pid;
	int64_t		 t_pub_start, t_pub_end;
	/* server samples */
	int64_t		 next_sample;
	long		 rss_peak[P_DONE + 1];	/* per phase, kB */
	struct proc_sample idle0, idle1, upd0, upd1;
	struct rusage	 ru_idle0, ru_idle1;
	int64_t		 t_idle0, t_idle1;
	unsigned long	 idle_count0[R_COUNT], idle_count1[R_COUNT];
};

static struct sim S;

static void sim_start(struct agent *a, enum req r);

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
say(const char *fmt, ...)
{
	va_list	 ap;

	fprintf(stderr, "fleet_sim: [%6.1fs] ",
	    (double)(now_ms() - S.t_start) / 1000.0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void __attribute__((noreturn))
die(const char *fmt, ...)
{
	va_list	 ap;

	fputs("fleet_sim: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* ---------------------------------------------------------------- /proc */

/* The server's VmRSS, VmHWM (kB) and utime+stime (ticks); zeros when
 * there is no server pid or it is gone. */
static struct proc_sample
proc_sample(pid_t pid)
{
	struct proc_sample	 ps = { 0, 0, 0 };
	char			 path[64], line[512], *p;
	unsigned long long	 ut, st;
	FILE			*f;
	int			 i;

	if (pid <= 0)
		return ps;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (strncmp(line, "VmRSS:", 6) == 0)
				ps.rss_kb = strtol(line + 6, NULL, 10);
			else if (strncmp(line, "VmHWM:", 6) == 0)
				ps.hwm_kb = strtol(line + 6, NULL, 10);
		}
		fclose(f);
	}
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "re")) != NULL) {
		/* after "pid (comm) ": state is field 3, utime 14, stime 15 */
		if (fgets(line, sizeof(line), f) != NULL &&
		    (p = strrchr(line, ')')) != NULL) {
			p += 2;
			for (i = 3; i < 14 && p != NULL; i++) {
				p = strchr(p, ' ');
				if (p != NULL)
					p++;
			}
			if (p != NULL &&
			    sscanf(p, "%llu %llu", &ut, &st) == 2)
				ps.ticks = (long long)(ut + st);
		}
		fclose(f);
	}
	return ps;
}

static void
sample_rss(void)
{
	struct proc_sample	 ps = proc_sample(S.o.server_pid);

	if (ps.rss_kb > S.rss_peak[S.phase])
		S.rss_peak[S.phase] = ps.rss_kb;
}

/* ---------------------------------------------------------------- timers */

static void
heap_push(int64_t when, unsigned agent, enum timer_kind kind)
{
	struct timer	 t = { when, agent, kind }, tmp;
	size_t		 i, up;

	if (S.nheap == S.heapcap)
		die("timer heap full");	/* sized for two per agent */
	i = S.nheap++;
	S.heap[i] = t;
	while (i > 0) {
		up = (i - 1) / 2;
		if (S.heap[up].when <= S.heap[i].when)
			break;
		tmp = S.heap[up];
		S.heap[up] = S.heap[i];
		S.heap[i] = tmp;
		i = up;
	}
}

static struct timer
heap_pop(void)
{
	struct timer	 top = S.heap[0], tmp;
	size_t		 i = 0, l, r, m;

	S.heap[0] = S.heap[--S.nheap];
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < S.nheap && S.heap[l].when < S.heap[m].when)
			m = l;
		if (r < S.nheap && S.heap[r].when < S.heap[m].when)
			m = r;
		if (m == i)
			break;
		tmp = S.heap[m];
		S.heap[m] = S.heap[i];
		S.heap[i] = tmp;
		i = m;
	}
	return top;
}

/* ---------------------------------------------------------------- curl */

static int
on_socket(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	struct group		*g = userp;
	struct epoll_event	 ev;

	(void)e;
	(void)socketp;
	if (what == CURL_POLL_REMOVE) {
		epoll_ctl(S.ep, EPOLL_CTL_DEL, s, NULL);
		return 0;
	}
	memset(&ev, 0, sizeof(ev));
	ev.data.u64 = (uint64_t)g->idx << 32 | (uint32_t)s;
	if (what & CURL_POLL_IN)
		ev.events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		ev.events |= EPOLLOUT;
	if (epoll_ctl(S.ep, EPOLL_CTL_MOD, s, &ev) < 0 &&
	    (errno != ENOENT || epoll_ctl(S.ep, EPOLL_CTL_ADD, s, &ev) < 0))
		die("epoll_ctl of socket %d: %s", s, strerror(errno));
	return 0;
}

static int
on_timer(CURLM *m, long timeout_ms, void *userp)
{
	struct group	*g = userp;

	(void)m;
	g->deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
	return 0;
}

static size_t
on_body(char *p, size_t size, size_t n, void *userp)
{
	struct agent	*a = userp;

	if (buf_append(&a->body, p, size * n) < 0)
		return 0;	/* over SIM_BODY_MAX: a failure */
	return size * n;
}

static size_t
on_count(char *p, size_t size, size_t n, void *userp)
{
	struct agent	*a = userp;

	(void)p;
	a->got += size * n;
	return size * n;
}

static size_t
on_discard(char *p, size_t size, size_t n, void *userp)
{
	(void)p;
	(void)userp;
	return size * n;
}

/* No TIME_WAIT on our side when a connection closes (at the end of a
 * run, 10,000 at once): the next run on this machine would find the
 * ephemeral ports taken, and its connects slow. */
static int
on_sockopt(void *userp, curl_socket_t fd, curlsocktype purpose)
{
	struct linger	 l = { 1, 0 };

	(void)userp;
	if (purpose == CURLSOCKTYPE_IPCXN)
		setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	return CURL_SOCKOPT_OK;
}

static void
easy_common(CURL *e, struct agent *a, const char *path, long timeout_s)
{
	char	 url[SIM_URL_MAX];

	snprintf(url, sizeof(url), "%s%s", S.o.url, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	curl_easy_setopt(e, CURLOPT_PRIVATE, a);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT, 15L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT, timeout_s);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "cascade-fleet-sim");
}

static void
agent_fail(struct agent *a, enum req r, CURLcode cc, long status,
    const char *why)
{
	S.failed[r]++;
	if (S.failures_shown++ < SIM_FAIL_SHOWN) {
		if (cc != CURLE_OK)
			say("agent %u: %s: %s", a->idx, req_name[r],
			    curl_easy_strerror(cc));
		else
			say("agent %u: %s: %s (status %ld)%s%.*s", a->idx,
			    req_name[r], why, status,
			    a->body.len > 0 ? ": " : "",
			    (int)(a->body.len > 200 ? 200 : a->body.len),
			    a->body.ptr != NULL ? a->body.ptr : "");
	} else if (S.failures_shown == SIM_FAIL_SHOWN + 1)
		say("more failures: not shown");
}

/* Starts request r on the agent's handle; a->want, new_sha etc. are set
 * by the caller where r needs them. */
static void
sim_start(struct agent *a, enum req r)
{
	char		 path[SIM_URL_MAX];
	struct buf	 doc;
	CURL		*e = a->easy;
	CURLMcode	 mc;

	curl_easy_reset(e);
	buf_reset(&a->body);
	a->got = 0;
	a->req = r;
	a->t_req = now_ms();
	switch (r) {
	case R_ENROL:
		easy_common(e, a, "v1/agents", SIM_TIMEOUT_S);
		buf_init(&doc, 512);
		if (buf_printf(&doc, "{\"hostname\": \"sim-%u\"}", a->idx) < 0)
			die("out of memory");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)doc.len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, doc.ptr);
		buf_release(&doc);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->jhdr);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		break;
	case R_POLICY:
		snprintf(path, sizeof(path), "v1/agents/%s/policy", a->id);
		easy_common(e, a, path, SIM_TIMEOUT_S);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		break;
	case R_STATE:
		easy_common(e, a, "v1/state", SIM_TIMEOUT_S);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		break;
	case R_STATUS: {
		/* one document at a time: it is large (MANIFEST_INSTALLED_MAX) */
		static struct manifest_agent_status	 st;
		int					 rc;

		memset(&st, 0, sizeof(st));
		snprintf(st.hostname, sizeof(st.hostname), "sim-%u", a->idx);
		snprintf(st.agent_version, sizeof(st.agent_version), "0.0.0");
		snprintf(st.group, sizeof(st.group), "%s", a->group);
		st.ok = 1;
		st.time = time(NULL);
		snprintf(st.installed[0].name, sizeof(st.installed[0].name),
		    "%s", S.comp);
		st.installed[0].version = a->version;
		snprintf(st.installed[0].sha256, sizeof(st.installed[0].sha256),
		    "%s", a->sha);
		st.ninstalled = 1;
		snprintf(path, sizeof(path), "v1/agents/%s/status", a->id);
		easy_common(e, a, path, SIM_TIMEOUT_S);
		buf_init(&doc, MANIFEST_DOC_MAX);
		if ((rc = manifest_status_emit(&st, &doc)) < 0)
			die("cannot make a status document: %s", strerror(-rc));
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, "PUT");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)doc.len);
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, doc.ptr);
		buf_release(&doc);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->jhdr);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		break;
	}
	case R_EVENTS:
		snprintf(path, sizeof(path), "v1/events?since=%" PRIu64
		    "&wait=%u", a->serial, S.o.wait_s);
		easy_common(e, a, path, (long)(S.o.wait_s +
		    SIM_EVENTS_SLACK_S));
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		break;
	case R_MANIFEST:
	case R_MINISIG:
		snprintf(path, sizeof(path), "v1/channels/%s/manifest%s",
		    S.o.channel, r == R_MINISIG ? ".minisig" : "");
		easy_common(e, a, path, SIM_TIMEOUT_S);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		break;
	case R_DELTA:
	case R_OBJECT:
		if (r == R_DELTA)
			snprintf(path, sizeof(path), "v1/deltas/%s/%s", a->sha,
			    a->new_sha);
		else
			snprintf(path, sizeof(path), "v1/objects/%s",
			    a->new_sha);
		easy_common(e, a, path, SIM_TIMEOUT_S);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->hdrs);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_count);
		if (++S.downloads > S.downloads_peak)
			S.downloads_peak = S.downloads;
		break;
	default:
		die("bad request kind %d", (int)r);
	}
	curl_easy_setopt(e, CURLOPT_WRITEDATA, a);
	S.count[r]++;
	if ((mc = curl_multi_add_handle(S.g[a->idx / SIM_GROUP].multi, e)) !=
	    CURLM_OK)
		die("curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

static void
sim_poll(struct agent *a)
{
	char		 h[sizeof(a->etag) + 32];
	CURL		*e;
	CURLMcode	 mc;

	if (a->poll != NULL)
		return;		/* the last one is still out */
	if ((e = curl_easy_init()) == NULL)
		die("curl_easy_init failed");
	easy_common(e, a, "v1/state", SIM_TIMEOUT_S);
	snprintf(h, sizeof(h), "If-None-Match: %s", a->etag);
	a->phdr = curl_slist_append(NULL, h);
	if (a->phdr == NULL)
		die("out of memory");
	a->phdr->next = a->hdrs;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, a->phdr);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_discard);
	a->poll = e;
	a->t_poll = now_ms();
	S.count[R_POLL]++;
	if ((mc = curl_multi_add_handle(S.g[a->idx / SIM_GROUP].multi, e)) !=
	    CURLM_OK)
		die("curl_multi_add_handle: %s", curl_multi_strerror(mc));
}

static void
sim_retry(struct agent *a, enum req r)
{
	a->req = r;	/* what the retry timer starts again */
	heap_push(now_ms() + a->backoff_ms + rand() % 250, a->idx, T_RETRY);
	a->backoff_ms *= 2;
	if (a->backoff_ms > SIM_BACKOFF_MAX_MS)
		a->backoff_ms = SIM_BACKOFF_MAX_MS;
}

/* ---------------------------------------------------------------- parsing */

static int
state_serial(const struct agent *a, uint64_t *ret)
{
	struct manifest_state	 st;
	size_t			 i;

	if (manifest_state_parse(a->body.ptr, a->body.len, &st) < 0)
		return -1;
	for (i = 0; i < st.nch; i++)
		if (strcmp(st.ch[i].name, S.o.channel) == 0) {
			*ret = st.ch[i].serial;
			return 0;
		}
	return -1;
}

/* The manifest in a's body, parsed once for every agent that got the
 * same bytes. */
static const struct manifest *
manifest_of(const struct agent *a)
{
	struct manifest	*m;
	char		 err[256];

	if (S.m != NULL && S.mlen == a->body.len &&
	    memcmp(S.mbody, a->body.ptr, a->body.len) == 0)
		return S.m;
	if (manifest_parse(a->body.ptr, a->body.len, &m, err,
	    sizeof(err)) < 0) {
		say("agent %u: bad manifest: %s", a->idx, err);
		return NULL;
	}
	manifest_free(S.m);
	free(S.mbody);
	S.m = m;
	S.mbody = malloc(a->body.len + 1);
	if (S.mbody == NULL)
		die("out of memory");
	memcpy(S.mbody, a->body.ptr, a->body.len);
	S.mlen = a->body.len;
	return S.m;
}

static void
agent_headers(struct agent *a)
{
	char	 h[160];

	curl_slist_free_all(a->hdrs);
	a->hdrs = NULL;
	if (a->id[0] != '\0') {
		snprintf(h, sizeof(h), "X-Cascade-Agent: %s", a->id);
		a->hdrs = curl_slist_append(a->hdrs, h);
		snprintf(h, sizeof(h), "Authorization: Bearer %s", a->token);
		if (a->hdrs != NULL)
			a->hdrs = curl_slist_append(a->hdrs, h);
		if (a->hdrs == NULL)
			die("out of memory");
	}
	a->jhdr->next = a->hdrs;
}

/* ---------------------------------------------------------------- agents */

static void
agent_idle(struct agent *a)
{
	if (!a->setup_done) {
		a->setup_done = 1;
		S.in_setup--;
		S.set_up++;
		if (S.o.poll_s > 0)
			heap_push(now_ms() + (int64_t)((unsigned)rand() %
			    (S.o.poll_s * 1000)), a->idx, T_POLL);
	}
	sim_start(a, R_EVENTS);
}

static void
agent_got_current(struct agent *a)
{
	if (strcmp(a->sha, S.o.expect_sha) != 0 || a->current)
		return;
	a->current = 1;
	a->t_current = now_ms();
	S.ncurrent++;
}

/* The answer to a's request on its own handle. */
static void
agent_done(struct agent *a, CURLcode cc, long status)
{
	enum req		 r = a->req;
	int64_t			 ms = now_ms() - a->t_req;
	const struct manifest	*m;
	const struct manifest_component *c;
	uint64_t		 serial;
	size_t			 i;

	a->req = R_NONE;
	if (ms > S.max_ms[r])
		S.max_ms[r] = ms;
	if (r == R_DELTA || r == R_OBJECT) {
		S.downloads--;
		S.bytes[r] += a->got;
	}
	if (cc != CURLE_OK) {
		agent_fail(a, r, cc, 0, "");
		sim_retry(a, r);
		return;
	}
	switch (r) {
	case R_ENROL: {
		struct manifest_enrolled	 en;
		char				 err[256];

		if (status != 201)
			break;
		memset(&en, 0, sizeof(en));
		if (manifest_enrolled_parse(a->body.ptr, a->body.len, &en, err,
		    sizeof(err)) < 0 || strcmp(en.state, "licensed") != 0) {
			agent_fail(a, r, cc, status, en.state[0] == '\0' ?
			    err : "enrolled, but not licensed (an open "
			    "server licenses every agent)");
			sim_retry(a, r);
			return;
		}
		snprintf(a->id, sizeof(a->id), "%s", en.id);
		snprintf(a->token, sizeof(a->token), "%s", en.token);
		snprintf(a->group, sizeof(a->group), "%s", en.group);
		agent_headers(a);
		a->backoff_ms = SIM_BACKOFF_MS;
		sim_start(a, R_POLICY);
		return;
	}
	case R_POLICY:
		if (status != 200)
			break;
		a->backoff_ms = SIM_BACKOFF_MS;
		sim_start(a, R_STATE);
		return;
	case R_STATE: {
		struct curl_header	*h;

		if (status != 200 || state_serial(a, &serial) < 0)
			break;
		a->serial = serial;
		a->etag[0] = '\0';
		if (curl_easy_header(a->easy, "ETag", 0, CURLH_HEADER, -1,
		    &h) == CURLHE_OK)
			snprintf(a->etag, sizeof(a->etag), "%s", h->value);
		a->backoff_ms = SIM_BACKOFF_MS;
		if (S.o.enrol)
			sim_start(a, R_STATUS);
		else
			agent_idle(a);
		return;
	}
	case R_STATUS:
		if (status != 204)
			break;
		a->backoff_ms = SIM_BACKOFF_MS;
		agent_got_current(a);
		agent_idle(a);
		return;
	case R_EVENTS:
		if (status == 204) {
			a->backoff_ms = SIM_BACKOFF_MS;
			sim_start(a, R_EVENTS);
			return;
		}
		if (status != 200 || state_serial(a, &serial) < 0)
			break;
		a->backoff_ms = SIM_BACKOFF_MS;
		if (serial <= a->serial) {	/* nothing new for us */
			sim_start(a, R_EVENTS);
			return;
		}
		a->serial = serial;
		sim_start(a, R_MANIFEST);
		return;
	case R_MANIFEST:
		if (status != 200 || (m = manifest_of(a)) == NULL)
			break;
		if ((c = manifest_find(m, S.comp)) == NULL) {
			agent_fail(a, r, cc, status, "component not listed");
			sim_retry(a, r);
			return;
		}
		a->new_version = c->version;
		snprintf(a->new_sha, sizeof(a->new_sha), "%s", c->sha256);
		a->want = a->obj_size = c->size;
		/* the download after the signature: the delta when one
		 * from the version held is listed, else the object */
		a->use_delta = 0;
		for (i = 0; i < c->ndeltas; i++)
			if (c->deltas[i].from == a->version) {
				a->use_delta = 1;
				a->want = c->deltas[i].size;
				break;
			}
		a->backoff_ms = SIM_BACKOFF_MS;
		sim_start(a, R_MINISIG);
		return;
	case R_MINISIG:
		if (status != 200)
			break;
		a->backoff_ms = SIM_BACKOFF_MS;
		if (a->new_version == a->version) {
			sim_start(a, S.o.enrol ? R_STATUS : R_EVENTS);
			return;		/* nothing to fetch */
		}
		sim_start(a, a->use_delta ? R_DELTA : R_OBJECT);
		return;
	case R_DELTA:
	case R_OBJECT:
		if (r == R_DELTA && status == 404) {
			S.fallbacks++;
			a->want = a->obj_size;
			sim_start(a, R_OBJECT);
			return;
		}
		if (status != 200)
			break;
		if (a->got != a->want) {
			char	 why[96];

			snprintf(why, sizeof(why), "%" PRIu64 " bytes, the "
			    "manifest says %" PRIu64, a->got, a->want);
			agent_fail(a, r, cc, status, why);
			sim_retry(a, r);
			return;
		}
		a->backoff_ms = SIM_BACKOFF_MS;
		a->version = a->new_version;
		snprintf(a->sha, sizeof(a->sha), "%s", a->new_sha);
		if (S.o.enrol)
			sim_start(a, R_STATUS);
		else {
			agent_got_current(a);
			sim_start(a, R_EVENTS);
		}
		return;
	default:
		break;
	}
	agent_fail(a, r, cc, status, "unexpected answer");
	sim_retry(a, r);
}

static void
poll_done(struct agent *a, CURLcode cc, long status)
{
	int64_t	 ms = now_ms() - a->t_poll;

	if (ms > S.max_ms[R_POLL])
		S.max_ms[R_POLL] = ms;
	curl_easy_cleanup(a->poll);
	a->poll = NULL;
	a->phdr->next = NULL;	/* the rest is a->hdrs */
	curl_slist_free_all(a->phdr);
	a->phdr = NULL;
	if (cc != CURLE_OK)
		agent_fail(a, R_POLL, cc, 0, "");
	else if (status != 304 && status != 200)
		agent_fail(a, R_POLL, cc, status, "unexpected answer");
	/* a 200 (the state moved): the long-poll brings the news too */
}

/* The transfers of group g that ended. Their messages are taken first:
 * libcurl 7.88 walks the queue of messages for each handle removed. */
static void
sim_completions(struct group *g)
{
	struct done {
		CURL		*easy;
		CURLcode	 result;
	} done[SIM_GROUP * 2 + 8];
	CURLMsg		*msg;
	struct agent	*a;
	long		 status, nconn;
	size_t		 i, n = 0;
	int		 left;

	while (n < sizeof(done) / sizeof(done[0]) &&
	    (msg = curl_multi_info_read(g->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		done[n].easy = msg->easy_handle;
		done[n++].result = msg->data.result;
	}
	for (i = 0; i < n; i++) {
		status = 0;
		a = NULL;
		curl_easy_getinfo(done[i].easy, CURLINFO_PRIVATE, &a);
		curl_easy_getinfo(done[i].easy, CURLINFO_RESPONSE_CODE,
		    &status);
		nconn = 0;
		curl_easy_getinfo(done[i].easy, CURLINFO_NUM_CONNECTS, &nconn);
		curl_multi_remove_handle(g->multi, done[i].easy);
		if (a == NULL)
			die("a transfer without its agent");
		if (nconn > 0)
			S.connects[done[i].easy == a->poll ? R_POLL :
			    a->req] += (unsigned long)nconn;
		if (done[i].easy == a->poll)
			poll_done(a, done[i].result, status);
		else
			agent_done(a, done[i].result, status);
	}
}

static void
group_action(struct group *g, curl_socket_t fd, int flags)
{
	CURLMcode	 mc;
	int		 running;

	mc = curl_multi_socket_action(g->multi, fd, flags, &running);
	if (mc != CURLM_OK)
		die("curl_multi_socket_action: %s", curl_multi_strerror(mc));
	sim_completions(g);
}

/* ---------------------------------------------------------------- phases */

static void
timers_run(int64_t now)
{
	struct timer	 t;
	struct agent	*a;

	while (S.nheap > 0 && S.heap[0].when <= now) {
		t = heap_pop();
		a = &S.a[t.agent];
		if (t.kind == T_RETRY) {
			sim_start(a, a->req);
			continue;
		}
		/* T_POLL: only while idle-polling, each at its own phase */
		if (S.phase > P_IDLE)
			continue;
		if (a->etag[0] != '\0')
			sim_poll(a);
		a->next_poll = t.when + (int64_t)S.o.poll_s * 1000;
		if (a->next_poll <= now)
			a->next_poll = now + (int64_t)S.o.poll_s * 1000;
		heap_push(a->next_poll, t.agent, T_POLL);
	}
}

static void
publish_start(void)
{
	pid_t	 pid;

	S.t_pub_start = now_ms();
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(2, 1);	/* our stdout is the report */
		execl("/bin/sh", "sh", "-c", S.o.publish, (char *)NULL);
		_exit(127);
	}
	S.pub_pid = pid;
	say("publishing: %s", S.o.publish);
}

static void
publish_check(void)
{
	int	 st;
	pid_t	 r;

	if (S.pub_pid <= 0)
		return;
	r = waitpid(S.pub_pid, &st, WNOHANG);
	if (r == 0)
		return;
	if (r < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		die("the publish command failed");
	S.pub_pid = 0;
	S.t_pub_end = now_ms();
	say("published in %.2f s", (double)(S.t_pub_end - S.t_pub_start) /
	    1000.0);
}

static void
phase_step(int64_t now)
{
	switch (S.phase) {
	case P_SETUP:
		while (S.in_setup < S.o.setup_parallel &&
		    S.next_setup < S.o.n) {
			S.in_setup++;
			sim_start(&S.a[S.next_setup++],
			    S.o.enrol ? R_ENROL : R_STATE);
		}
		if (S.set_up == S.o.n && S.t_all_set_up == 0) {
			S.t_all_set_up = now;
			say("%u agents set up in %.1f s, holding long-polls",
			    S.o.n, (double)(now - S.t_phase) / 1000.0);
		}
		if (S.t_all_set_up != 0 && now >= S.t_all_set_up +
		    SIM_SETTLE_MS) {
			S.phase = P_IDLE;
			S.t_phase = now;
			S.idle0 = proc_sample(S.o.server_pid);
			S.t_idle0 = now_ms();
			getrusage(RUSAGE_SELF, &S.ru_idle0);
			memcpy(S.idle_count0, S.count, sizeof(S.count));
			say("idle for %u s", S.o.idle_s);
		} else if (now - S.t_phase > (int64_t)S.o.setup_timeout_s *
		    1000)
			die("setup took more than %u s (%u of %u agents set "
			    "up)", S.o.setup_timeout_s, S.set_up, S.o.n);
		break;
	case P_IDLE:
		if (now - S.t_phase < (int64_t)S.o.idle_s * 1000)
			break;
		S.idle1 = proc_sample(S.o.server_pid);
		S.t_idle1 = now_ms();
		getrusage(RUSAGE_SELF, &S.ru_idle1);
		memcpy(S.idle_count1, S.count, sizeof(S.count));
		say("idle: server RSS %ld kB (peak %ld kB)", S.idle1.rss_kb,
		    S.idle1.hwm_kb);
		if (S.o.publish == NULL) {
			S.phase = P_DONE;
			break;
		}
		S.phase = P_UPDATE;
		S.t_phase = now;
		S.upd0 = S.idle1;
		publish_start();
		break;
	case P_UPDATE:
		publish_check();
		if (S.ncurrent == S.o.n && S.pub_pid == 0) {
			S.phase = P_DONE;
			say("all %u agents current", S.o.n);
		} else if (now - S.t_phase > (int64_t)S.o.update_timeout_s *
		    1000) {
			say("update: %u of %u agents current after %u s",
			    S.ncurrent, S.o.n, S.o.update_timeout_s);
			S.phase = P_DONE;
		}
		if (S.phase == P_DONE)
			S.upd1 = proc_sample(S.o.server_pid);
		break;
	case P_DONE:
		break;
	}
}

/* ---------------------------------------------------------------- report */

static int
cmp_i64(const void *x, const void *y)
{
	int64_t	 a = *(const int64_t *)x, b = *(const int64_t *)y;

	return a < b ? -1 : a > b;
}

static void
sim_report(int cut_short)
{
	int64_t		*t;
	unsigned	 i, k = 0;
	unsigned long	 fails = 0, idle_req = 0;
	double		 idle_s, hz = (double)sysconf(_SC_CLK_TCK), sim_cpu;
	int		 r;

	for (r = 1; r < R_COUNT; r++)
		fails += S.failed[r];
	printf("agents %u\n", S.o.n);
	printf("enrol %s\n", S.o.enrol ? "yes" : "no");
	printf("complete %s\n", cut_short ? "no" : "yes");
	printf("set_up %u\n", S.set_up);
	if (S.t_all_set_up != 0)
		printf("setup_s %.2f\n", (double)(S.t_all_set_up -
		    S.t_start) / 1000.0);
	idle_s = (double)(S.t_idle1 - S.t_idle0) / 1000.0;
	if (idle_s <= 0)
		idle_s = 1;
	if (S.idle1.ticks != 0 || S.idle1.rss_kb != 0) {
		for (r = 1; r < R_COUNT; r++)
			idle_req += S.idle_count1[r] - S.idle_count0[r];
		sim_cpu = (double)(S.ru_idle1.ru_utime.tv_sec -
		    S.ru_idle0.ru_utime.tv_sec + S.ru_idle1.ru_stime.tv_sec -
		    S.ru_idle0.ru_stime.tv_sec) + (double)(
		    S.ru_idle1.ru_utime.tv_usec - S.ru_idle0.ru_utime.tv_usec +
		    S.ru_idle1.ru_stime.tv_usec - S.ru_idle0.ru_stime.tv_usec) /
		    1e6;
		printf("idle_s %.1f\n", idle_s);
		printf("idle_requests_per_s %.1f\n", (double)idle_req / idle_s);
		printf("idle_polls %lu\n", S.idle_count1[R_POLL] -
		    S.idle_count0[R_POLL]);
		printf("idle_events %lu\n", S.idle_count1[R_EVENTS] -
		    S.idle_count0[R_EVENTS]);
		printf("idle_server_rss_kb %ld\n", S.idle1.rss_kb);
		printf("idle_server_hwm_kb %ld\n", S.idle1.hwm_kb);
		printf("idle_server_rss_peak_kb %ld\n", S.rss_peak[P_IDLE]);
		printf("idle_server_cpu_pct %.1f\n", 100.0 *
		    (double)(S.idle1.ticks - S.idle0.ticks) / hz / idle_s);
		printf("idle_sim_cpu_pct %.1f\n", 100.0 * sim_cpu / idle_s);
		printf("setup_server_rss_peak_kb %ld\n", S.rss_peak[P_SETUP]);
	}
	if (S.t_pub_start != 0) {
		printf("publish_s %.2f\n", S.t_pub_end == 0 ? -1.0 :
		    (double)(S.t_pub_end - S.t_pub_start) / 1000.0);
		printf("current %u\n", S.ncurrent);
		t = calloc(S.o.n + 1, sizeof(*t));
		if (t == NULL)
			die("out of memory");
		for (i = 0; i < S.o.n; i++)
			if (S.a[i].current && S.a[i].t_current >= S.t_pub_start)
				t[k++] = S.a[i].t_current - (S.t_pub_end != 0 ?
				    S.t_pub_end : S.t_pub_start);
		qsort(t, k, sizeof(*t), cmp_i64);
		if (k > 0) {
			printf("current_first_s %.2f\n", (double)t[0] / 1000.0);
			printf("current_p50_s %.2f\n",
			    (double)t[(k - 1) / 2] / 1000.0);
			printf("current_p90_s %.2f\n",
			    (double)t[(k - 1) * 9 / 10] / 1000.0);
			printf("current_p99_s %.2f\n",
			    (double)t[(k - 1) * 99 / 100] / 1000.0);
			printf("current_last_s %.2f\n",
			    (double)t[k - 1] / 1000.0);
		}
		if (S.ncurrent == S.o.n && k == S.o.n)
			printf("all_current_s %.2f\n", (double)t[k - 1] / 1000.0);
		free(t);
		printf("downloads_peak %u\n", S.downloads_peak);
		printf("deltas %lu\n", S.count[R_DELTA]);
		printf("delta_bytes %" PRIu64 "\n", S.bytes[R_DELTA]);
		printf("objects %lu\n", S.count[R_OBJECT]);
		printf("object_bytes %" PRIu64 "\n", S.bytes[R_OBJECT]);
		printf("delta_404 %lu\n", S.fallbacks);
		printf("update_server_rss_peak_kb %ld\n", S.rss_peak[P_UPDATE]);
		printf("update_server_hwm_kb %ld\n", S.upd1.hwm_kb);
		printf("update_server_cpu_s %.2f\n",
		    (double)(S.upd1.ticks - S.upd0.ticks) / hz);
	}
	printf("failed %lu\n", fails);
	for (r = 1; r < R_COUNT; r++) {
		printf("requests_%s %lu\n", req_name[r], S.count[r]);
		printf("connects_%s %lu\n", req_name[r], S.connects[r]);
		printf("failed_%s %lu\n", req_name[r], S.failed[r]);
		printf("max_ms_%s %" PRId64 "\n", req_name[r], S.max_ms[r]);
	}
	fflush(stdout);
}

/* ---------------------------------------------------------------- main */

static void
usage(void)
{
	fputs("usage: fleet_sim --url http://127.0.0.1:PORT/ [-n AGENTS] "
	    "[--no-enrol]\n"
	    "    [--setup-parallel N] [--wait S] [--poll S] [--idle S]\n"
	    "    [--publish CMD --expect-sha SHA256] [--component NAME] "
	    "[--channel NAME]\n"
	    "    [--server-pid PID] [--update-timeout S] [--setup-timeout S] "
	    "[--time-limit S]\n", stderr);
	exit(2);
}

static unsigned
num(const char *s, unsigned lo, unsigned hi, const char *what)
{
	char		*end;
	unsigned long	 v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
		die("%s must be a number from %u to %u, not '%s'", what, lo,
		    hi, s);
	return (unsigned)v;
}

static void
parse_args(int argc, char **argv, struct opts *o)
{
	int	 i;

	memset(o, 0, sizeof(*o));
	o->n = 10000;
	o->setup_parallel = 200;
	o->wait_s = 60;
	o->poll_s = 20;
	o->idle_s = 20;
	o->update_timeout_s = 120;
	o->setup_timeout_s = 300;
	o->time_limit_s = 600;
	o->enrol = 1;
	o->channel = "main";
	for (i = 1; i < argc; i++) {
		const char	*k = argv[i], *v = i + 1 < argc ? argv[i + 1] :
				    NULL;

		if (strcmp(k, "--no-enrol") == 0) {
			o->enrol = 0;
			continue;
		}
		if (v == NULL)
			usage();
		i++;
		if (strcmp(k, "--url") == 0)
			o->url = v;
		else if (strcmp(k, "-n") == 0)
			o->n = num(v, 1, 1000000, "-n");
		else if (strcmp(k, "--setup-parallel") == 0)
			o->setup_parallel = num(v, 1, 100000, k);
		else if (strcmp(k, "--wait") == 0)
			o->wait_s = num(v, 1, 300, k);
		else if (strcmp(k, "--poll") == 0)
			o->poll_s = num(v, 0, 86400, k);
		else if (strcmp(k, "--idle") == 0)
			o->idle_s = num(v, 1, 3600, k);
		else if (strcmp(k, "--publish") == 0)
			o->publish = v;
		else if (strcmp(k, "--expect-sha") == 0)
			o->expect_sha = v;
		else if (strcmp(k, "--component") == 0)
			o->component = v;
		else if (strcmp(k, "--channel") == 0)
			o->channel = v;
		else if (strcmp(k, "--server-pid") == 0)
			o->server_pid = (pid_t)num(v, 1, 1u << 30, k);
		else if (strcmp(k, "--update-timeout") == 0)
			o->update_timeout_s = num(v, 1, 3600, k);
		else if (strcmp(k, "--setup-timeout") == 0)
			o->setup_timeout_s = num(v, 1, 3600, k);
		else if (strcmp(k, "--time-limit") == 0)
			o->time_limit_s = num(v, 1, 86400, k);
		else
			usage();
	}
	if (o->url == NULL || strncmp(o->url, "http://", 7) != 0 ||
	    o->url[strlen(o->url) - 1] != '/')
		die("--url must be http://HOST:PORT/ (with the last slash)");
	if (o->publish != NULL && (o->expect_sha == NULL ||
	    !crypto_is_sha256_hex(o->expect_sha, strlen(o->expect_sha))))
		die("--publish needs --expect-sha, the SHA-256 of the new "
		    "version");
	if (o->expect_sha == NULL)
		o->expect_sha = "";
}

/* The channel as it is before the publish: the component the agents
 * hold. One plain request, before the fleet starts. */
static void
sim_channel(void)
{
	struct agent		 probe;
	const struct manifest	*m;
	const struct manifest_component *c;
	CURLcode		 cc;
	long			 status = 0;
	char			 url[SIM_URL_MAX];

	memset(&probe, 0, sizeof(probe));
	buf_init(&probe.body, SIM_BODY_MAX);
	probe.easy = curl_easy_init();
	if (probe.easy == NULL)
		die("curl_easy_init failed");
	snprintf(url, sizeof(url), "%sv1/channels/%s/manifest", S.o.url,
	    S.o.channel);
	curl_easy_setopt(probe.easy, CURLOPT_URL, url);
	curl_easy_setopt(probe.easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(probe.easy, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(probe.easy, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(probe.easy, CURLOPT_WRITEDATA, &probe);
	cc = curl_easy_perform(probe.easy);
	curl_easy_getinfo(probe.easy, CURLINFO_RESPONSE_CODE, &status);
	if (cc != CURLE_OK || status != 200)
		die("cannot fetch '%s': %s (status %ld)", url,
		    curl_easy_strerror(cc), status);
	if ((m = manifest_of(&probe)) == NULL || m->ncomponents == 0)
		die("the manifest of channel '%s' lists no component",
		    S.o.channel);
	c = S.o.component != NULL ? manifest_find(m, S.o.component) :
	    &m->components[0];
	if (c == NULL)
		die("channel '%s' has no component '%s'", S.o.channel,
		    S.o.component);
	snprintf(S.comp, sizeof(S.comp), "%s", c->name);
	snprintf(S.sha0, sizeof(S.sha0), "%s", c->sha256);
	S.version0 = c->version;
	S.serial0 = m->serial;
	if (strcmp(S.sha0, S.o.expect_sha) == 0)
		die("the agents would hold --expect-sha already");
	curl_easy_cleanup(probe.easy);
	buf_release(&probe.body);
	say("channel '%s' serial %" PRIu64 ": agents hold '%s' version %"
	    PRIu64, S.o.channel, S.serial0, S.comp, S.version0);
}

static void
sim_groups(void)
{
	struct group	*g;
	unsigned	 i;

	S.ngroups = (S.o.n + SIM_GROUP - 1) / SIM_GROUP;
	if ((S.g = calloc(S.ngroups, sizeof(*S.g))) == NULL)
		die("out of memory");
	for (i = 0; i < S.ngroups; i++) {
		g = &S.g[i];
		g->idx = i;
		g->deadline = -1;
		if ((g->multi = curl_multi_init()) == NULL)
			die("curl_multi_init failed");
		curl_multi_setopt(g->multi, CURLMOPT_SOCKETFUNCTION,
		    on_socket);
		curl_multi_setopt(g->multi, CURLMOPT_SOCKETDATA, g);
		curl_multi_setopt(g->multi, CURLMOPT_TIMERFUNCTION, on_timer);
		curl_multi_setopt(g->multi, CURLMOPT_TIMERDATA, g);
		/* every agent's connection stays open between its
		 * requests, and a few for the polls beside the long-polls */
		curl_multi_setopt(g->multi, CURLMOPT_MAXCONNECTS,
		    (long)SIM_GROUP + 8);
	}
}

static void
raise_nofile(unsigned need)
{
	struct rlimit	 rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		die("getrlimit: %s", strerror(errno));
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			die("setrlimit: %s", strerror(errno));
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
		die("%u agents need about %u descriptors here (one connection "
		    "each for the long-poll, a few for the polls beside it); "
		    "the limit is %llu (ulimit -Hn)", S.o.n, need,
		    (unsigned long long)rl.rlim_cur);
}

int
main(int argc, char **argv)
{
	struct epoll_event	 evs[1024];
	struct agent		*a;
	int64_t			 now, deadline, limit;
	unsigned		 i;
	int			 n, k, timeout, flags;

	parse_args(argc, argv, &S.o);
	S.t_start = now_ms();
	limit = S.t_start + (int64_t)S.o.time_limit_s * 1000;
	srand((unsigned)getpid());
	signal(SIGPIPE, SIG_IGN);
	raise_nofile(S.o.n + S.o.setup_parallel + 1000);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		die("curl_global_init failed");
	sim_channel();
	sim_groups();

	S.a = calloc(S.o.n, sizeof(*S.a));
	S.heapcap = 2 * (size_t)S.o.n + 16;
	S.heap = calloc(S.heapcap, sizeof(*S.heap));
	if (S.a == NULL || S.heap == NULL)
		die("out of memory");
	for (i = 0; i < S.o.n; i++) {
		a = &S.a[i];
		a->idx = i;
		a->backoff_ms = SIM_BACKOFF_MS;
		a->version = S.version0;
		snprintf(a->sha, sizeof(a->sha), "%s", S.sha0);
		buf_init(&a->body, SIM_BODY_MAX);
		if ((a->easy = curl_easy_init()) == NULL)
			die("curl_easy_init failed");
		a->jhdr = curl_slist_append(NULL,
		    "Content-Type: application/json");
		if (a->jhdr == NULL)
			die("out of memory");
		if (!S.o.enrol) {	/* made-up credentials, never checked */
			snprintf(a->id, sizeof(a->id), "%032x", i + 1);
			snprintf(a->token, sizeof(a->token), "%064x", i + 1);
		}
		agent_headers(a);
	}

	if ((S.ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		die("epoll_create1: %s", strerror(errno));

	S.phase = P_SETUP;
	S.t_phase = now_ms();
	say("%u agents against %s (%s), long-poll wait %u s, state poll "
	    "every %u s", S.o.n, S.o.url, S.o.enrol ? "enrolling" :
	    "not enrolling", S.o.wait_s, S.o.poll_s);
	while (S.phase != P_DONE) {
		now = now_ms();
		if (now >= limit) {
			say("time limit of %u s reached", S.o.time_limit_s);
			if (S.phase == P_UPDATE)
				S.upd1 = proc_sample(S.o.server_pid);
			sim_report(1);
			exit(1);
		}
		phase_step(now);
		if (S.phase == P_DONE)
			break;
		timers_run(now);
		if (now >= S.next_sample) {
			sample_rss();
			S.next_sample = now + SIM_SAMPLE_MS;
		}
		deadline = S.next_sample;
		for (i = 0; i < S.ngroups; i++)
			if (S.g[i].deadline >= 0 && S.g[i].deadline < deadline)
				deadline = S.g[i].deadline;
		if (S.nheap > 0 && S.heap[0].when < deadline)
			deadline = S.heap[0].when;
		if (S.pub_pid > 0 && now + 10 < deadline)
			deadline = now + 10;
		timeout = deadline <= now ? 0 : (int)(deadline - now);
		n = epoll_wait(S.ep, evs, (int)(sizeof(evs) / sizeof(evs[0])),
		    timeout);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (k = 0; k < n; k++) {
			flags = 0;
			if (evs[k].events & EPOLLIN)
				flags |= CURL_CSELECT_IN;
			if (evs[k].events & EPOLLOUT)
				flags |= CURL_CSELECT_OUT;
			if (evs[k].events & (EPOLLERR | EPOLLHUP))
				flags |= CURL_CSELECT_ERR;
			group_action(&S.g[evs[k].data.u64 >> 32],
			    (curl_socket_t)(evs[k].data.u64 & 0xffffffffu),
			    flags);
		}
		now = now_ms();
		for (i = 0; i < S.ngroups; i++)
			if (S.g[i].deadline >= 0 && now >= S.g[i].deadline) {
				S.g[i].deadline = -1;
				group_action(&S.g[i], CURL_SOCKET_TIMEOUT, 0);
			}
	}
	while (S.pub_pid > 0) {	/* cut short before the publish ended */
		waitpid(S.pub_pid, NULL, 0);
		S.pub_pid = 0;
	}
	sim_report(0);
	/* the long-polls end with the process; the server sees them go */
	return 0;
}
