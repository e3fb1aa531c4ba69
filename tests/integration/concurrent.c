/*
 * concurrent: 100 clients download from a running cascade server over
 * libcurl while a publish happens; each answer must be whole and one of
 * the two consistent states: the manifest and signature either the old or
 * the new ones, the object byte for byte, the state document either serial.
 *
 * usage: concurrent BASE_URL CASCADE DATADIR NEWFILE PUBKEY
 * Prints "ok ..." / "not ok ..." lines; exit status 0 when all passed.
 */
#include <curl/curl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "crypto.h"
#include "fs.h"

#define CLIENTS		100
#define ROUNDS		12	/* requests per client */
#define DEADLINE	120	/* seconds for the whole test */

extern char **environ;

struct client {
	CURL		*h;
	struct buf	 body;
	int		 round;
	int		 kind;		/* 0 state, 1 manifest, 2 sig, 3 object */
};

static char	 base[512];
static char	 object_sha[CRYPTO_SHA256_HEX];
static char	 seen_manifest[CLIENTS * ROUNDS][CRYPTO_SHA256_HEX];
static char	 seen_sig[CLIENTS * ROUNDS][CRYPTO_SHA256_HEX];
static int	 nseen_manifest, nseen_sig, failures, done_requests;

static size_t
on_data(char *p, size_t size, size_t n, void *arg)
{
	struct client	*c = arg;

	return buf_append(&c->body, p, size * n) == 0 ? size * n : 0;
}

static void
start_request(CURLM *m, struct client *c)
{
	char	 url[1024];

	c->kind = c->round % 4;
	if (c->kind == 0)
		snprintf(url, sizeof(url), "%s/v1/state", base);
	else if (c->kind == 1)
		snprintf(url, sizeof(url), "%s/v1/channels/main/manifest", base);
	else if (c->kind == 2)
		snprintf(url, sizeof(url), "%s/v1/channels/main/manifest.minisig",
		    base);
	else
		snprintf(url, sizeof(url), "%s/v1/objects/%s", base, object_sha);
	buf_reset(&c->body);
	curl_multi_remove_handle(m, c->h);
	curl_easy_setopt(c->h, CURLOPT_URL, url);
	curl_multi_add_handle(m, c->h);
}

static void
hash_hex(const struct buf *b, char out[CRYPTO_SHA256_HEX])
{
	unsigned char	 md[CRYPTO_SHA256_LEN];

	crypto_sha256(b->ptr != NULL ? b->ptr : "", b->len, md);
	crypto_hex(md, sizeof(md), out);
}

static void
finish_request(struct client *c, CURLcode rc, unsigned long long serial)
{
	char	 hex[CRYPTO_SHA256_HEX], want[128], want2[128];
	long	 code = 0;

	curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
	done_requests++;
	if (rc != CURLE_OK || code != 200) {
		fprintf(stderr, "request kind %d: curl %d, status %ld\n",
		    c->kind, rc, code);
		failures++;
		return;
	}
	hash_hex(&c->body, hex);
	switch (c->kind) {
	case 0:
		snprintf(want, sizeof(want), "\"serial\": %llu,", serial);
		snprintf(want2, sizeof(want2), "\"serial\": %llu,", serial + 1);
		if (strstr(c->body.ptr, want) == NULL &&
		    strstr(c->body.ptr, want2) == NULL) {
			fprintf(stderr, "state neither old nor new: %s\n",
			    c->body.ptr);
			failures++;
		}
		break;
	case 1:
		memcpy(seen_manifest[nseen_manifest++], hex, sizeof(hex));
		break;
	case 2:
		memcpy(seen_sig[nseen_sig++], hex, sizeof(hex));
		break;
	default:
		if (strcmp(hex, object_sha) != 0) {
			fprintf(stderr, "object came back corrupt\n");
			failures++;
		}
	}
}

static int
file_hash(const char *path, char out[CRYPTO_SHA256_HEX])
{
	struct buf	 b;
	int		 r;

	buf_init(&b, 64u << 20);
	r = fs_read(&b, path);
	if (r == 0)
		hash_hex(&b, out);
	buf_release(&b);
	return r;
}

static int
current_hashes(const char *dir, char m[CRYPTO_SHA256_HEX],
    char s[CRYPTO_SHA256_HEX])
{
	char	 p[FS_PATH_MAX];

	snprintf(p, sizeof(p), "%s/channels/main/current/manifest", dir);
	if (file_hash(p, m) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/channels/main/current/manifest.minisig",
	    dir);
	return file_hash(p, s);
}

/* The sha256 of the first component in the current manifest. */
static int
first_object(const char *dir, char out[CRYPTO_SHA256_HEX])
{
	char		 p[FS_PATH_MAX], *at;
	struct buf	 b;

	snprintf(p, sizeof(p), "%s/channels/main/current/manifest", dir);
	buf_init(&b, 16u << 20);
	if (fs_read(&b, p) < 0 || (at = strstr(b.ptr, "\"sha256\": \"")) == NULL) {
		buf_release(&b);
		return -1;
	}
	memcpy(out, at + 11, 64);
	out[64] = '\0';
	buf_release(&b);
	return 0;
}

int
main(int argc, char **argv)
{
	static struct client	 cl[CLIENTS];
	char			 m_old[CRYPTO_SHA256_HEX], s_old[CRYPTO_SHA256_HEX];
	char			 m_new[CRYPTO_SHA256_HEX], s_new[CRYPTO_SHA256_HEX];
	char			 p[FS_PATH_MAX];
	unsigned long long	 serial;
	CURLMsg			*msg;
	CURLM			*m;
	pid_t			 pub = -1;
	time_t			 deadline = time(NULL) + DEADLINE;
	int			 running, i, j, left, status = -1, bad;

	if (argc != 6) {
		fprintf(stderr, "usage: concurrent BASE CASCADE DIR NEWFILE "
		    "PUBKEY\n");
		return 2;
	}
	snprintf(base, sizeof(base), "%s", argv[1]);
	if (current_hashes(argv[3], m_old, s_old) < 0 ||
	    first_object(argv[3], object_sha) < 0) {
		fprintf(stderr, "cannot read the current state of %s\n",
		    argv[3]);
		return 1;
	}
	snprintf(p, sizeof(p), "%s/channels/main/current", argv[3]);
	{
		char cur[32];
		ssize_t n = readlink(p, cur, sizeof(cur) - 1);

		if (n <= 0)
			return 1;
		cur[n] = '\0';
		serial = strtoull(cur, NULL, 10);
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	m = curl_multi_init();
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)CLIENTS);
	for (i = 0; i < CLIENTS; i++) {
		cl[i].h = curl_easy_init();
		buf_init(&cl[i].body, 64u << 20);
		curl_easy_setopt(cl[i].h, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(cl[i].h, CURLOPT_WRITEDATA, &cl[i]);
		curl_easy_setopt(cl[i].h, CURLOPT_TIMEOUT, 60L);
		cl[i].round = i;	/* spread the kinds */
		start_request(m, &cl[i]);
	}
	left = CLIENTS;
	while (left > 0 && time(NULL) < deadline) {
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &j)) != NULL) {
			struct client *c = NULL;

			if (msg->msg != CURLMSG_DONE)
				continue;
			for (i = 0; i < CLIENTS; i++)
				if (cl[i].h == msg->easy_handle)
					c = &cl[i];
			finish_request(c, msg->data.result, serial);
			if (++c->round < c - cl + ROUNDS)
				start_request(m, c);
			else {
				curl_multi_remove_handle(m, c->h);
				left--;
			}
		}
		/* publish once the clients are in full flight */
		if (pub < 0 && done_requests >= CLIENTS) {
			char *pargv[] = { argv[2], "publish", "-d", argv[3],
			    "virus-pattern", argv[4], NULL };

			if (posix_spawn(&pub, argv[2], NULL, NULL, pargv,
			    environ) != 0)
				pub = 0;
		}
		curl_multi_poll(m, NULL, 0, 100, NULL);
	}
	if (pub > 0)
		waitpid(pub, &status, 0);
	printf("%s all %d requests answered in time\n",
	    left == 0 ? "ok" : "not ok", CLIENTS * ROUNDS);
	printf("%s the publish ran during the downloads\n",
	    pub > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ?
	    "ok" : "not ok");
	printf("%s every answer was 200 and whole (%d bad)\n",
	    failures == 0 ? "ok" : "not ok", failures);
	if (current_hashes(argv[3], m_new, s_new) < 0)
		return 1;
	bad = 0;
	for (i = 0; i < nseen_manifest; i++)
		bad += strcmp(seen_manifest[i], m_old) != 0 &&
		    strcmp(seen_manifest[i], m_new) != 0;
	for (i = 0; i < nseen_sig; i++)
		bad += strcmp(seen_sig[i], s_old) != 0 &&
		    strcmp(seen_sig[i], s_new) != 0;
	printf("%s every manifest and signature was the old or the new one "
	    "(%d of %d otherwise)\n", bad == 0 ? "ok" : "not ok", bad,
	    nseen_manifest + nseen_sig);
	for (i = 0; i < CLIENTS; i++) {
		curl_easy_cleanup(cl[i].h);
		buf_release(&cl[i].body);
	}
	curl_multi_cleanup(m);
	curl_global_cleanup();
	return failures == 0 && bad == 0 && left == 0 ? 0 : 1;
}
