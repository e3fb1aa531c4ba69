/*
 * Unit tests of metrics: endpoints by path, the counters (from many
 * threads at once), label escaping, the sync records' text, the
 * rendering (every family with HELP and TYPE, cumulative buckets), and
 * the collector on a real data directory (objects stored, agents by
 * state, the sync records a mirror left). metrics.c is included to reach
 * the escaping.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "metrics.c"
#include "log.h"
#include "repo.h"
#include "check.h"
#include "banned.h"

static void
test_endpoints(void)
{
	static const struct {
		const char		*path;
		enum metrics_endpoint	 ep;
	} t[] = {
		{ "/v1/state", METRICS_EP_STATE },
		{ "/v1/state/x", METRICS_EP_OTHER },
		{ "/v1/channels/main/manifest", METRICS_EP_MANIFEST },
		{ "/v1/channels/main/manifest.minisig", METRICS_EP_MANIFEST },
		{ "/v1/objects/abc", METRICS_EP_OBJECT },
		{ "/v1/objectsx", METRICS_EP_OTHER },
		{ "/v1/deltas/a/b", METRICS_EP_DELTA },
		{ "/v1/events", METRICS_EP_EVENTS },
		{ "/v1/agents", METRICS_EP_AGENTS },
		{ "/v1/agents/0123/status", METRICS_EP_AGENTS },
		{ "/v1/admin/summary", METRICS_EP_ADMIN },
		{ "/v1/downstreams/m1/inventory", METRICS_EP_DOWNSTREAMS },
		{ "/metrics", METRICS_EP_METRICS },
		{ "/metrics/x", METRICS_EP_CONSOLE },
		{ "/", METRICS_EP_CONSOLE },
		{ "/app.js", METRICS_EP_CONSOLE },
		{ "/v1", METRICS_EP_OTHER },
		{ "/v1/", METRICS_EP_OTHER },
		{ "/v1/nothing", METRICS_EP_OTHER },
		{ "", METRICS_EP_CONSOLE },
	};
	size_t	 i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (metrics_endpoint(t[i].path) != t[i].ep)
			fprintf(stderr, "path '%s'\n", t[i].path);
		CHECK_EQ(metrics_endpoint(t[i].path), t[i].ep);
	}
	CHECK_EQ(metrics_endpoint(NULL), METRICS_EP_OTHER);
	CHECK(strcmp(metrics_endpoint_name(METRICS_EP_DOWNSTREAMS),
	    "downstreams") == 0);
	CHECK(strcmp(metrics_endpoint_name(METRICS_EP_COUNT), "other") == 0);
}

static void
test_counts(void)
{
	struct metrics	*m = metrics_new();

	CHECK(m != NULL);
	if (m == NULL)
		return;
	metrics_count(m, METRICS_EP_STATE, 200, 40);
	metrics_count(m, METRICS_EP_STATE, 304, 0);
	metrics_count(m, METRICS_EP_STATE, 304, 0);
	metrics_count(m, METRICS_EP_OBJECT, 206, 1000);
	metrics_count(m, METRICS_EP_OBJECT, 418, 5);	/* not in the set */
	metrics_count(m, METRICS_EP_OBJECT, 599, 0);
	metrics_count(m, METRICS_EP_COUNT, 200, 1);	/* out of range */
	CHECK_EQ(metrics_requests(m, METRICS_EP_STATE, 200), 1);
	CHECK_EQ(metrics_requests(m, METRICS_EP_STATE, 304), 2);
	CHECK_EQ(metrics_requests(m, METRICS_EP_STATE, 404), 0);
	CHECK_EQ(metrics_requests(m, METRICS_EP_OBJECT, 206), 1);
	/* both land in "other", and are read back through any such code */
	CHECK_EQ(metrics_requests(m, METRICS_EP_OBJECT, 418), 2);
	CHECK_EQ(metrics_requests(m, METRICS_EP_OTHER, 200), 1);
	CHECK_EQ(metrics_bytes(m, METRICS_EP_STATE), 40);
	CHECK_EQ(metrics_bytes(m, METRICS_EP_OBJECT), 1005);
	metrics_count(NULL, METRICS_EP_STATE, 200, 1);	/* NULL-safe */
	metrics_longpoll(NULL, 1);
	metrics_free(m);
	metrics_free(NULL);
}

#define THREADS	8
#define ROUNDS	20000

static void *
counter_thread(void *arg)
{
	struct metrics	*m = arg;
	int		 i;

	for (i = 0; i < ROUNDS; i++) {
		metrics_count(m, METRICS_EP_OBJECT, 200, 3);
		metrics_count(m, (enum metrics_endpoint)(i % METRICS_EP_COUNT),
		    i % 2 ? 404 : 304, 0);
		metrics_longpoll(m, 1);
		metrics_longpoll(m, -1);
	}
	return NULL;
}

/* Counts from many threads at once lose nothing. */
static void
test_counts_threads(void)
{
	struct metrics	*m = metrics_new();
	pthread_t	 t[THREADS];
	uint64_t	 sum = 0;
	size_t		 ep;
	int		 i;

	CHECK(m != NULL);
	if (m == NULL)
		return;
	for (i = 0; i < THREADS; i++)
		CHECK_EQ(pthread_create(&t[i], NULL, counter_thread, m), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(metrics_requests(m, METRICS_EP_OBJECT, 200),
	    THREADS * ROUNDS);
	CHECK_EQ(metrics_bytes(m, METRICS_EP_OBJECT), 3 * THREADS * ROUNDS);
	for (ep = 0; ep < METRICS_EP_COUNT; ep++)
		sum += metrics_requests(m, (enum metrics_endpoint)ep, 404) +
		    metrics_requests(m, (enum metrics_endpoint)ep, 304);
	CHECK_EQ(sum, THREADS * ROUNDS);
	CHECK_EQ(atomic_load(&m->longpolls), 0);
	metrics_free(m);
}

static void
test_label_escape(void)
{
	struct buf	 b;

	buf_init(&b, 1024);
	CHECK_EQ(metrics_label(&b, "plain-name.1"), 0);
	CHECK(strcmp(b.ptr, "plain-name.1") == 0);
	buf_reset(&b);
	CHECK_EQ(metrics_label(&b, "a\\b\"c\nd"), 0);
	CHECK(strcmp(b.ptr, "a\\\\b\\\"c\\nd") == 0);
	buf_reset(&b);
	CHECK_EQ(metrics_sample1(&b, "x_total", "channel", "q\"\n", 7), 0);
	CHECK(strcmp(b.ptr, "x_total{channel=\"q\\\"\\n\"} 7\n") == 0);
	buf_release(&b);
	/* a cap is an error, not a cut line */
	buf_init(&b, 8);
	CHECK_EQ(metrics_sample1(&b, "x_total", "channel", "name", 1),
	    -E2BIG);
	buf_release(&b);
}

static void
test_sync_text(void)
{
	struct metrics_sync	 s, t;
	char			 text[512];

	memset(&s, 0, sizeof(s));
	metrics_sync_observe(&s, 0.05, 100);	/* bucket 0.1 */
	metrics_sync_observe(&s, 0.1, 0);	/* le is inclusive */
	metrics_sync_observe(&s, 3.2, 5000);	/* bucket 5 */
	metrics_sync_observe(&s, 99999, 7);	/* over every bound */
	metrics_sync_observe(&s, -1, 11);	/* bytes only */
	CHECK_EQ(s.count, 4);
	CHECK_EQ(s.bytes, 5118);
	CHECK_EQ(s.sum_us, 50000 + 100000 + 3200000 + 99999000000ULL);
	CHECK_EQ(s.bucket[0], 2);
	CHECK_EQ(s.bucket[3], 1);
	CHECK_EQ(s.bucket[8], 0);
	CHECK_EQ(metrics_sync_format(&s, text, sizeof(text)), 0);
	CHECK(strcmp(text, "4 100002350000 5118 2 0 0 1 0 0 0 0 0") == 0);
	CHECK_EQ(metrics_sync_parse(text, &t), 0);
	CHECK(memcmp(&s, &t, sizeof(s)) == 0);
	CHECK_EQ(metrics_sync_format(&s, text, 10), -E2BIG);
	CHECK_EQ(metrics_sync_parse("", &t), 0);
	CHECK_EQ(t.count, 0);
	CHECK_EQ(metrics_sync_parse("1 2 3", &t), -EBADMSG);
	CHECK_EQ(metrics_sync_parse("1 2 3 0 0 0 0 0 0 0 0 0 9", &t),
	    -EBADMSG);
	CHECK_EQ(metrics_sync_parse("1 2 -3 0 0 0 0 0 0 0 0 0", &t),
	    -EBADMSG);
	CHECK_EQ(metrics_sync_parse("99999999999999999999999 0 0 0 0 0 0 0 "
	    "0 0 0 0", &t), -EBADMSG);
}

static void
test_channels_text(void)
{
	struct metrics_channel	 ch[3], back[3];
	struct buf		 b;
	uint64_t		 ok, failed;
	size_t			 n;

	memset(ch, 0, sizeof(ch));
	snprintf(ch[0].name, sizeof(ch[0].name), "main");
	ch[0].serial = 12;
	ch[0].last_success = 1795341600;
	snprintf(ch[1].name, sizeof(ch[1].name), "clamav.db-2");
	ch[1].serial = 3;
	buf_init(&b, METRICS_META_MAX);
	CHECK_EQ(buf_append(&b, "", 0), 0);
	CHECK_EQ(metrics_channels_format(ch, 2, &b), 0);
	CHECK(strcmp(b.ptr, "main 12 1795341600\nclamav.db-2 3 0\n") == 0);
	CHECK_EQ(metrics_channels_parse(b.ptr, back, 3, &n), 0);
	CHECK_EQ(n, 2);
	CHECK(strcmp(back[1].name, "clamav.db-2") == 0);
	CHECK_EQ(back[0].serial, 12);
	CHECK_EQ(back[0].last_success, 1795341600);
	/* cut at max */
	CHECK_EQ(metrics_channels_parse(b.ptr, back, 1, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(metrics_channels_parse("", back, 3, &n), 0);
	CHECK_EQ(n, 0);
	CHECK_EQ(metrics_channels_parse("main 1 2", back, 3, &n), 0);
	CHECK_EQ(n, 1);
	CHECK_EQ(metrics_channels_parse("main 1\n", back, 3, &n), -EBADMSG);
	CHECK_EQ(metrics_channels_parse("Main 1 2\n", back, 3, &n), -EBADMSG);
	CHECK_EQ(metrics_channels_parse("a\"b 1 2\n", back, 3, &n),
	    -EBADMSG);
	CHECK_EQ(metrics_channels_parse("main 1 2 3\n", back, 3, &n),
	    -EBADMSG);
	CHECK_EQ(metrics_channels_parse(" 1 2\n", back, 3, &n), -EBADMSG);
	buf_release(&b);
	CHECK_EQ(metrics_passes_parse("3 1", &ok, &failed), 0);
	CHECK_EQ(ok, 3);
	CHECK_EQ(failed, 1);
	CHECK_EQ(metrics_passes_parse("3", &ok, &failed), -EBADMSG);
	CHECK_EQ(metrics_passes_parse("3 1 x", &ok, &failed), -EBADMSG);
}

/* Every family has a HELP then a TYPE line, once; every sample belongs
 * to the family above it. */
static int
well_formed(const char *text)
{
	char		 family[128] = "", line[512], name[128];
	const char	*p = text, *nl;
	size_t		 len;
	int		 help = 0;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		if (nl == NULL)
			return 0;	/* the last line ends too */
		len = (size_t)(nl - p);
		if (len >= sizeof(line))
			return 0;
		memcpy(line, p, len);
		line[len] = '\0';
		p = nl + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			if (sscanf(line + 7, "%127s", family) != 1 || help)
				return 0;
			help = 1;
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0) {
			if (!help || sscanf(line + 7, "%127s", name) != 1 ||
			    strcmp(name, family) != 0)
				return 0;
			help = 0;
			continue;
		}
		if (help || family[0] == '\0' ||
		    strncmp(line, family, strlen(family)) != 0)
			return 0;
	}
	return 1;
}

static void
test_render(void)
{
	struct metrics_values	*v = calloc(1, sizeof(*v));
	struct metrics		*m = metrics_new();
	struct buf		 b;

	CHECK(v != NULL && m != NULL);
	if (v == NULL || m == NULL) {
		free(v);
		metrics_free(m);
		return;
	}
	buf_init(&b, METRICS_TEXT_MAX);
	/* nothing collected: families without samples but the counters */
	CHECK_EQ(metrics_render(m, v, &b), 0);
	CHECK(well_formed(b.ptr));
	CHECK(strstr(b.ptr, "# TYPE cascade_http_requests_total counter\n")
	    != NULL);
	CHECK(strstr(b.ptr, "cascade_http_requests_total{") == NULL);
	CHECK(strstr(b.ptr, "# TYPE cascade_store_objects gauge\n"
	    "# HELP cascade_store_bytes") != NULL);
	CHECK(strstr(b.ptr, "cascade_sync_duration_seconds_bucket") == NULL);
	CHECK(strstr(b.ptr, "cascade_longpolls_open 0\n") != NULL);

	metrics_count(m, METRICS_EP_STATE, 304, 0);
	metrics_count(m, METRICS_EP_OBJECT, 200, 123);
	metrics_count(m, METRICS_EP_OBJECT, 418, 0);
	metrics_longpoll(m, 1);
	metrics_longpoll(m, 1);
	v->have_store = 1;
	v->store_objects = 5;
	v->store_bytes = 9000;
	v->have_sync = 1;
	v->upstream = 1;
	metrics_sync_observe(&v->sync[METRICS_PATH_DELTA], 0.25, 300);
	metrics_sync_observe(&v->sync[METRICS_PATH_DELTA], 2, 200);
	metrics_sync_observe(&v->sync[METRICS_PATH_WHOLE], -1, 0);
	v->passes_ok = 4;
	v->passes_failed = 1;
	v->nch = 2;
	snprintf(v->ch[0].name, sizeof(v->ch[0].name), "main");
	v->ch[0].serial = 10;
	v->ch[0].held = 7;
	v->ch[0].last_success = 1795341600;
	snprintf(v->ch[1].name, sizeof(v->ch[1].name), "we\"ird\\");
	v->ch[1].serial = 2;
	v->ch[1].held = 5;	/* ahead: not behind */
	v->have_agents = 1;
	v->agents[AGENTS_CURRENT] = 9998;
	v->agents[AGENTS_OFFLINE] = 2;
	v->have_notify = 1;
	v->notify_sent = 17;
	v->notify_failed = 3;
	v->notify_given_up = 1;
	buf_reset(&b);
	CHECK_EQ(metrics_render(m, v, &b), 0);
	CHECK(well_formed(b.ptr));
	if (!well_formed(b.ptr))
		fprintf(stderr, "%s", b.ptr);
	CHECK(strstr(b.ptr, "cascade_http_requests_total{endpoint=\"state\","
	    "code=\"304\"} 1\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_http_requests_total{endpoint=\"object\","
	    "code=\"other\"} 1\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_http_response_bytes_total{endpoint="
	    "\"object\"} 123\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_longpolls_open 2\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_store_objects 5\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_store_bytes 9000\n") != NULL);
	CHECK(strstr(b.ptr, "# TYPE cascade_sync_duration_seconds histogram\n")
	    != NULL);
	/* cumulative buckets */
	CHECK(strstr(b.ptr, "cascade_sync_duration_seconds_bucket{path="
	    "\"delta\",le=\"0.1\"} 0\ncascade_sync_duration_seconds_bucket{"
	    "path=\"delta\",le=\"0.5\"} 1\ncascade_sync_duration_seconds_"
	    "bucket{path=\"delta\",le=\"1\"} 1\ncascade_sync_duration_seconds"
	    "_bucket{path=\"delta\",le=\"5\"} 2\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_sync_duration_seconds_bucket{path="
	    "\"delta\",le=\"+Inf\"} 2\ncascade_sync_duration_seconds_sum{"
	    "path=\"delta\"} 2.250000\ncascade_sync_duration_seconds_count{"
	    "path=\"delta\"} 2\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_sync_duration_seconds_count{path="
	    "\"whole\"} 0\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_sync_bytes_total{path=\"delta\"} 500\n")
	    != NULL);
	CHECK(strstr(b.ptr, "cascade_sync_passes_total{result=\"failed\"} 1\n")
	    != NULL);
	CHECK(strstr(b.ptr, "cascade_sync_last_success_timestamp_seconds{"
	    "channel=\"main\"} 1795341600\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_upstream_serials_behind{channel="
	    "\"main\"} 3\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_upstream_serials_behind{channel="
	    "\"we\\\"ird\\\\\"} 0\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_agents{state=\"current\"} 9998\n")
	    != NULL);
	CHECK(strstr(b.ptr, "cascade_agents{state=\"pending\"} 0\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_notifications_sent_total 17\n") != NULL);
	CHECK(strstr(b.ptr, "cascade_notifications_failed_total 3\n") != NULL);

	/* not a mirror: no sync samples, even with records */
	v->upstream = 0;
	buf_reset(&b);
	CHECK_EQ(metrics_render(m, v, &b), 0);
	CHECK(well_formed(b.ptr));
	CHECK(strstr(b.ptr, "cascade_sync_bytes_total{") == NULL);
	CHECK(strstr(b.ptr, "cascade_upstream_serials_behind{") == NULL);
	buf_release(&b);
	/* over the cap: an error */
	buf_init(&b, 512);
	CHECK_EQ(metrics_render(m, v, &b), -E2BIG);
	buf_release(&b);
	free(v);
	metrics_free(m);
}

/* The collector on a real data directory. */
static void
test_collector(void)
{
	struct repo_publish_opts	 o = { NULL, NULL, 0 };
	struct repo_publish_result	 res;
	struct metrics_collector	*mc = NULL;
	struct metrics_values		*v = calloc(1, sizeof(*v));
	struct db_agent			 a;
	struct repo			 r;
	struct conf			 c;
	const char			*dir = check_path("repo");
	int				 e;

	CHECK(v != NULL);
	if (v == NULL)
		return;
	CHECK_EQ(repo_init(dir, "main", NULL), 0);
	CHECK_EQ(repo_open(&r, dir), 0);
	CHECK_EQ(check_write_file(check_path("f"), "0123456789", 10), 0);
	CHECK_EQ(repo_lock(&r), 0);
	CHECK_EQ(repo_publish(&r, "virus-pattern", check_path("f"), &o,
	    &res), 0);
	repo_unlock(&r);
	memset(&a, 0, sizeof(a));
	snprintf(a.id, sizeof(a.id), "0123456789abcdef0123456789abcdef");
	snprintf(a.group, sizeof(a.group), "default");
	a.enrolled = (int64_t)time(NULL);
	a.last_seen = a.enrolled;
	CHECK_EQ(db_agent_add(r.db, &a), 0);	/* pending */
	a.id[0] = '1';
	a.licensed = 1;
	CHECK_EQ(db_agent_add(r.db, &a), 0);	/* licensed, no report */
	/* what a mirror's passes left */
	CHECK_EQ(db_meta_set(r.db, METRICS_META_SYNC_DELTA,
	    "2 1500000 4096 0 0 1 1 0 0 0 0 0"), 0);
	CHECK_EQ(db_meta_set(r.db, METRICS_META_SYNC_PASSES, "2 0"), 0);
	CHECK_EQ(db_meta_set(r.db, METRICS_META_UPSTREAM,
	    "main 9 1795341600\nother 4 0\n"), 0);
	c = r.conf;
	snprintf(c.upstream.url, sizeof(c.upstream.url),
	    "http://127.0.0.1:1/");

	e = metrics_collector_start(dir, &c, &mc);
	CHECK_EQ(e, 0);
	if (e == 0) {
		/* the first scrape waits for the first collection */
		metrics_collector_get(mc, v);
		CHECK_EQ(v->have_store, 1);
		/* the version, and the manifest's objects if any */
		CHECK(v->store_objects >= 1);
		CHECK(v->store_bytes >= 10);
		CHECK_EQ(v->have_agents, 1);
		CHECK_EQ(v->agents[AGENTS_PENDING], 1);
		CHECK_EQ(v->agents[AGENTS_LICENSED], 1);
		CHECK_EQ(v->have_sync, 1);
		CHECK_EQ(v->upstream, 1);
		CHECK_EQ(v->sync[METRICS_PATH_DELTA].count, 2);
		CHECK_EQ(v->sync[METRICS_PATH_DELTA].bytes, 4096);
		CHECK_EQ(v->passes_ok, 2);
		CHECK_EQ(v->nch, 2);
		CHECK(strcmp(v->ch[0].name, "main") == 0);
		CHECK_EQ(v->ch[0].serial, 9);
		CHECK_EQ(v->ch[0].held, 1);	/* this repo's own main */
		CHECK_EQ(v->ch[1].held, 0);
		c.upstream.url[0] = '\0';
		metrics_collector_set_conf(mc, &c);
		metrics_collector_stop(mc);
	}
	metrics_collector_get(NULL, v);		/* NULL-safe */
	metrics_collector_stop(NULL);
	CHECK_EQ(metrics_collector_start(check_path("nothing"), &c, &mc) < 0,
	    1);
	repo_close(&r);
	free(v);
}

int
main(void)
{
	if (check_tmpdir_init("test_metrics") < 0)
		return 1;
	log_set_program("test_metrics");
	RUN(test_endpoints);
	RUN(test_counts);
	RUN(test_counts_threads);
	RUN(test_label_escape);
	RUN(test_sync_text);
	RUN(test_channels_text);
	RUN(test_render);
	RUN(test_collector);
	check_rm_rf(check_tmpdir);
	return check_end();
}
