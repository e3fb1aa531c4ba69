/*
 * Unit tests of notify, the server's pushes to listening agents, against
 * a real HTTP listener on loopback standing in for the agents: each push
 * carries the agent's own notify key; at most max_concurrent are in
 * flight; a push that fails is retried retry_max times, then given up;
 * agents that are offline, pending or without a URL are not pushed to.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "crypto.h"
#include "db.h"
#include "http.h"
#include "notify.h"
#include "check.h"
#include "banned.h"

#define AGENTS		6

/* The stand-in agents: /v1/notify/N expects agent N's notify key. */
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static int		 inflight, most, took[AGENTS], refused;
static char		 keys[AGENTS][CRYPTO_SHA256_HEX];

static void
agent_handler(void *ctx, struct http_request *req)
{
	struct timespec	 hold = { 0, 100 * 1000000L };
	const char	*auth = http_header(req, "Authorization");
	const char	*path = http_path(req);
	char		 want[128];
	int		 n = -1, ok;

	(void)ctx;
	if (strncmp(path, "/v1/notify/", 11) == 0 && path[11] >= '0' &&
	    path[11] < '0' + AGENTS && path[12] == '\0')
		n = path[11] - '0';
	if (n >= 0)
		snprintf(want, sizeof(want), "Bearer %s", keys[n]);
	ok = n >= 0 && strcmp(http_method(req), "POST") == 0 &&
	    auth != NULL && strcmp(auth, want) == 0;
	pthread_mutex_lock(&lock);
	if (++inflight > most)
		most = inflight;
	pthread_mutex_unlock(&lock);
	/* a slow agent, so that pushes overlap if they may */
	nanosleep(&hold, NULL);
	pthread_mutex_lock(&lock);
	inflight--;
	if (ok)
		took[n]++;
	else
		refused++;
	pthread_mutex_unlock(&lock);
	if (ok)
		http_reply(req, 204, http_response_copy("", 0));
	else
		http_reply_error(req, 401, "unauthorized", "wrong key");
}

static int
wait_counts(struct notify *n, uint64_t sent, uint64_t given_up)
{
	struct timespec	 pause = { 0, 20 * 1000000L };
	uint64_t	 s, f, g;
	int		 i;

	for (i = 0; i < 1000; i++) {	/* 20 s */
		notify_counts(n, &s, &f, &g);
		if (s >= sent && g >= given_up)
			return 0;
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "sent %llu given up %llu\n", (unsigned long long)s,
	    (unsigned long long)g);
	return -1;
}

static void
add_agent(struct db *db, int i, const char *url, int licensed,
    int64_t last_seen)
{
	struct db_agent	 a;
	char		 token[16];

	memset(&a, 0, sizeof(a));
	snprintf(a.id, sizeof(a.id), "%032x", i + 1);
	snprintf(token, sizeof(token), "token-%d", i);
	crypto_token_hash(CRYPTO_LABEL_TOKEN, token, a.token_hash);
	crypto_token_hash(CRYPTO_LABEL_NOTIFY, token, a.notify_key);
	if (i < AGENTS)
		crypto_hex(a.notify_key, sizeof(a.notify_key), keys[i]);
	snprintf(a.group, sizeof(a.group), "default");
	snprintf(a.hostname, sizeof(a.hostname), "host-%d", i);
	snprintf(a.notify_url, sizeof(a.notify_url), "%s", url);
	a.licensed = licensed;
	a.enrolled = last_seen;
	a.last_seen = last_seen;
	CHECK_EQ(db_agent_add(db, &a), 0);
}

static void
test_pushes(void)
{
	static struct conf	 c;
	struct http_config	 hc;
	struct http_server	*hs = NULL;
	struct notify		*n = NULL;
	struct db		*db = NULL;
	char			 path[CHECK_PATH_MAX], url[256], err[128];
	const char		*addr;
	time_t			 now = time(NULL);
	uint64_t		 s, f, g;
	int			 i;

	memset(&hc, 0, sizeof(hc));
	hc.listen[0] = "127.0.0.1:0";
	hc.nlisten = 1;
	hc.threads = 8;			/* never the limit here */
	hc.connection_memory = 32768;
	hc.connection_limit = 64;
	hc.connection_timeout = 10;
	hc.body_max = 4096;
	CHECK_EQ(http_server_start(&hc, agent_handler, NULL, &hs, err,
	    sizeof(err)), 0);
	if (hs == NULL)
		return;
	addr = http_server_address(hs, 0);

	snprintf(path, sizeof(path), "%s/state.db", check_tmpdir);
	CHECK_EQ(db_open(path, NULL, 1, &db), 0);
	if (db == NULL)
		goto out;
	for (i = 0; i < AGENTS; i++) {
		snprintf(url, sizeof(url), "http://%s/v1/notify/%d", addr, i);
		add_agent(db, i, url, 1, now);
	}
	/* not pushed to: no URL, pending, offline (3 hours of the default
	 * hourly schedule) */
	add_agent(db, AGENTS, "", 1, now);
	snprintf(url, sizeof(url), "http://%s/v1/notify/0", addr);
	add_agent(db, AGENTS + 1, url, 0, now);
	add_agent(db, AGENTS + 2, url, 1, now - 4 * 3600);

	conf_defaults(&c);
	c.notify_max_concurrent = 2;
	c.notify_window = 0;
	c.notify_retry_interval = 1;
	c.notify_retry_max = 1;
	CHECK_EQ(notify_start(check_tmpdir, &c, &n), 0);
	if (n == NULL)
		goto out;
	CHECK_EQ(notify_publish(n, 7), AGENTS);
	CHECK_EQ(wait_counts(n, AGENTS, 0), 0);
	pthread_mutex_lock(&lock);
	for (i = 0; i < AGENTS; i++)
		CHECK_EQ(took[i], 1);
	CHECK_EQ(refused, 0);
	CHECK(most >= 1 && most <= 2);	/* max_concurrent */
	pthread_mutex_unlock(&lock);

	/* an agent that is down: 1 + retry_max attempts, then given up */
	add_agent(db, AGENTS + 3, "http://127.0.0.1:1/v1/notify", 1, now);
	CHECK_EQ(notify_publish(n, 8), AGENTS + 1);
	CHECK_EQ(wait_counts(n, 2 * AGENTS, 1), 0);
	notify_counts(n, &s, &f, &g);
	CHECK_EQ(s, 2 * AGENTS);
	CHECK_EQ(f, 2);
	CHECK_EQ(g, 1);
out:
	notify_stop(n);
	db_close(db);
	http_server_stop(hs);
}

int
main(void)
{
	if (check_tmpdir_init("test_notify") < 0)
		return 1;
	RUN(test_pushes);
	check_rm_rf(check_tmpdir);
	return check_end();
}
