/*
 * Unit tests of the agent's pieces that need no server: the state file
 * (round trip, strict refusals, the share of each writer), installing
 * and rolling back files, the reconciliation after a crash at each step
 * of an install, backoff arithmetic, what a policy selects, the
 * post-update runner and the log's rotation. Includes agent.c to reach
 * its statics.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.c"
#include "check.h"
#include "banned.h"

#define SHA_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SHA_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

/* ---- helpers ---------------------------------------------------------- */

static char *
slurp(const char *path, size_t *ret_len)
{
	struct buf	 b;

	buf_init(&b, 1u << 24);
	if (fs_read(&b, path) < 0) {
		buf_release(&b);
		return NULL;
	}
	if (ret_len != NULL)
		*ret_len = b.len;
	if (b.ptr == NULL)
		return strdup("");
	return buf_detach(&b, NULL);
}

static int
file_is(const char *path, const char *text)
{
	char	*got;
	int	 same;

	got = slurp(path, NULL);
	same = got != NULL && strcmp(got, text) == 0;
	free(got);
	return same;
}

static void
sha_of(const char *text, char hex[CRYPTO_SHA256_HEX])
{
	unsigned char	 md[CRYPTO_SHA256_LEN];

	crypto_sha256(text, strlen(text), md);
	crypto_hex(md, sizeof(md), hex);
}

/* A fresh directory under the test's own, with its .cascade. */
static const char *
fresh(const char *name)
{
	static char	 dir[CHECK_PATH_MAX];
	char		 sub[CHECK_PATH_MAX + 16];

	snprintf(dir, sizeof(dir), "%s", check_path(name));
	check_rm_rf(dir);
	snprintf(sub, sizeof(sub), "%s/.cascade", dir);
	if (fs_mkdir_p(sub, 0700) < 0)
		abort();
	return dir;
}

static struct agent *
test_agent_at(const char *dir)
{
	struct agent	*a;

	a = calloc(1, sizeof(*a));
	if (a == NULL)
		abort();
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->cond, NULL);
	pthread_mutex_init(&a->loglock, NULL);
	snprintf(a->dir, sizeof(a->dir), "%s", dir);
	snprintf(a->sdir, sizeof(a->sdir), "%s/.cascade", dir);
	return a;
}

static void
comp_set(struct agent_component *c, const char *name, uint64_t v,
    const char *sha)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->name, sizeof(c->name), "%s", name);
	snprintf(c->kind, sizeof(c->kind), "pattern");
	snprintf(c->channel, sizeof(c->channel), "main");
	c->version = v;
	snprintf(c->sha256, sizeof(c->sha256), "%s", sha);
}

static struct agent_state *
sample_state(void)
{
	struct agent_state	*st;

	st = calloc(1, sizeof(*st));
	if (st == NULL)
		abort();
	agent_state_init(st);
	snprintf(st->etag, sizeof(st->etag), "\"%s\"", SHA_A);
	st->server_serial = 42;
	snprintf(st->config_day, sizeof(st->config_day), "2026-11-22");
	snprintf(st->group, sizeof(st->group), "branch-1");
	snprintf(st->enrolment, sizeof(st->enrolment), "licensed");
	st->result = AGENT_RESULT_FAILED;
	snprintf(st->message, sizeof(st->message), "post_update exited 3: "
	    "scan failed - see ~/log; 100%% done");
	st->last_sync = 1795000000;
	st->paused = 1;
	st->next_sync = 1795003600;
	st->last_report = 1795000001;
	snprintf(st->ch[0].name, sizeof(st->ch[0].name), "main");
	st->ch[0].serial = 7;
	snprintf(st->ch[1].name, sizeof(st->ch[1].name), "vendor.b");
	st->ch[1].serial = 123456789;
	st->nch = 2;
	comp_set(&st->comp[0], "virus-pattern", 3, SHA_B);
	st->comp[0].prev_version = 2;
	memcpy(st->comp[0].prev_sha256, SHA_A, CRYPTO_SHA256_HEX);
	comp_set(&st->comp[1], "config/branch-1", 1, SHA_A);
	snprintf(st->comp[1].kind, sizeof(st->comp[1].kind), "config");
	memcpy(st->comp[1].held_sha256, SHA_B, CRYPTO_SHA256_HEX);
	comp_set(&st->comp[2], "engine", 0, "");
	st->ncomp = 3;
	st->has_pending = 1;
	comp_set(&st->pending, "virus-pattern", 4, SHA_A);
	return st;
}

/* ---- the state file --------------------------------------------------- */

static void
test_state_round_trip(void)
{
	struct agent_state	*st, *back;
	struct buf		 t1, t2;
	char			 err[128];

	st = sample_state();
	back = calloc(1, sizeof(*back));
	buf_init(&t1, AGENT_STATE_MAX);
	buf_init(&t2, AGENT_STATE_MAX);
	CHECK_EQ(agent_state_format(st, &t1), 0);
	CHECK_EQ(agent_state_parse(t1.ptr, t1.len, back, err, sizeof(err)), 0);
	CHECK(memcmp(st, back, sizeof(*st)) == 0);
	CHECK_EQ(agent_state_format(back, &t2), 0);
	CHECK(t1.len == t2.len && memcmp(t1.ptr, t2.ptr, t1.len) == 0);
	CHECK(strstr(t1.ptr, "\nmessage post_update exited 3: ") != NULL);

	/* empty values: "-", and an empty message */
	agent_state_init(st);
	buf_reset(&t1);
	CHECK_EQ(agent_state_format(st, &t1), 0);
	CHECK(strstr(t1.ptr, "\netag -\n") != NULL);
	CHECK(strstr(t1.ptr, "\nmessage\n") != NULL);
	CHECK_EQ(agent_state_parse(t1.ptr, t1.len, back, err, sizeof(err)), 0);
	CHECK(memcmp(st, back, sizeof(*st)) == 0);
	buf_release(&t1);
	buf_release(&t2);
	free(st);
	free(back);
}

/* A line replaced, added or removed in a good state text must be
 * refused (or accepted) as expected. */
static int
parse_edit(const char *from, const char *to, char *err, size_t errsize)
{
	struct agent_state	*st, *back;
	struct buf		 t, e;
	const char		*at;
	int			 r;

	st = sample_state();
	back = calloc(1, sizeof(*back));
	buf_init(&t, AGENT_STATE_MAX);
	buf_init(&e, AGENT_STATE_MAX);
	agent_state_format(st, &t);
	at = strstr(t.ptr, from);
	if (at == NULL) {
		fprintf(stderr, "no '%s' in the sample\n", from);
		r = 1;
	} else {
		buf_append(&e, t.ptr, (size_t)(at - t.ptr));
		buf_puts(&e, to);
		buf_puts(&e, at + strlen(from));
		r = agent_state_parse(e.ptr, e.len, back, err, errsize);
		/* a refusal leaves nothing half parsed */
		if (r < 0 && (back->ncomp != 0 || back->nch != 0))
			r = 2;
	}
	buf_release(&t);
	buf_release(&e);
	free(st);
	free(back);
	return r;
}

static void
test_state_refused(void)
{
	struct agent_state	*st;
	char			 err[128];
	struct {
		const char *from, *to;
	} bad[] = {
		{ "cascade-agent-state 1\n", "cascade-agent-state 2\n" },
		{ "cascade-agent-state 1\n", "" },
		{ "end\n", "" },
		{ "end\n", "end" },
		{ "end\n", "end\nend\n" },
		{ "end\n", "end\npaused 0\n" },
		{ "paused 1\n", "paused 2\n" },
		{ "paused 1\n", "paused 1\npaused 0\n" },
		{ "paused 1\n", "paused  1\n" },
		{ "paused 1\n", "paused 1 \n" },
		{ "paused 1\n", "colour blue\n" },
		{ "server_serial 42\n", "server_serial -1\n" },
		{ "server_serial 42\n", "server_serial 9007199254740993\n" },
		{ "server_serial 42\n", "server_serial 4x\n" },
		{ "config_day 2026-11-22\n", "config_day 2026/11/22\n" },
		{ "group branch-1\n", "group ../etc\n" },
		{ "group branch-1\n", "group Branch\n" },
		{ "result failed\n", "result maybe\n" },
		{ "message post", "message \x01post" },
		{ "message post", "message \xc3\xa9post" },
		{ "etag \"", "etag \x7f\"" },
		{ "channel main 7\n", "channel main 7\nchannel main 8\n" },
		{ "channel main 7\n", "channel main/x 7\n" },
		{ "channel main 7\n", "channel main\n" },
		{ "component virus-pattern pattern", "component ../x pattern" },
		{ "component virus-pattern pattern",
		  "component virus-pattern/../x pattern" },
		{ "component virus-pattern pattern",
		  "component .cascade/agent pattern" },
		{ "component virus-pattern pattern main 3 ",
		  "component virus-pattern pattern main 0 " },
		{ "component engine pattern main 0 -",
		  "component engine pattern main 1 -" },
		{ "component engine pattern main 0 - 0 - -\n",
		  "component engine pattern main 0 - 0 - - extra\n" },
		{ "component engine pattern main 0 - 0 - -\n",
		  "component engine pattern main 0 - 0 -\n" },
		{ "component engine pattern main 0 - 0 - -\n",
		  "component engine pattern main 0 - 0 - -\n"
		  "component engine pattern main 0 - 0 - -\n" },
		{ "2 " SHA_A, "2 " SHA_A "0" },
		{ "2 " SHA_A, "2 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "AAAAAAAAAAAA" },
		{ "pending virus-pattern pattern main 4",
		  "pending virus-pattern pattern main 0" },
		{ "pending", "pending virus-pattern pattern main 4 " SHA_A
		  " 0 - -\npending" },
	};
	size_t			 i;
	int			 r;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		r = parse_edit(bad[i].from, bad[i].to, err, sizeof(err));
		if (r != -EBADMSG && r != -E2BIG)
			fprintf(stderr, "edit %zu ('%s'): %d\n", i, bad[i].to,
			    r);
		CHECK(r == -EBADMSG || r == -E2BIG);
		CHECK(strncmp(err, "line ", 5) == 0);
	}
	/* the same edits done right are fine */
	CHECK_EQ(parse_edit("paused 1\n", "paused 0\n", err, sizeof(err)), 0);
	CHECK_EQ(parse_edit("message post", "message  post", err,
	    sizeof(err)), 0);
	CHECK_EQ(parse_edit("channel main 7\n", "", err, sizeof(err)), 0);

	/* a NUL inside, and no text at all */
	st = calloc(1, sizeof(*st));
	CHECK_EQ(agent_state_parse("cascade-agent-state 1\n\0nd\n", 26, st,
	    err, sizeof(err)), -EBADMSG);
	CHECK_EQ(agent_state_parse("", 0, st, err, sizeof(err)), -EBADMSG);
	CHECK(strstr(err, "empty") != NULL);
	free(st);
}

static void
test_state_caps(void)
{
	struct agent_state	*st;
	struct buf		 t;
	char			 err[128];
	int			 i;

	st = calloc(1, sizeof(*st));
	buf_init(&t, AGENT_STATE_MAX + 2);
	buf_puts(&t, AGENT_STATE_MAGIC "\n");
	for (i = 0; i <= AGENT_CHANNELS_MAX; i++)
		buf_printf(&t, "channel c%d %d\n", i, i);
	buf_puts(&t, "end\n");
	CHECK_EQ(agent_state_parse(t.ptr, t.len, st, err, sizeof(err)),
	    -E2BIG);
	CHECK(strstr(err, "too many channels") != NULL);
	buf_reset(&t);
	buf_puts(&t, AGENT_STATE_MAGIC "\n");
	buf_printf(&t, "message %0*d\nend\n", AGENT_LINE_MAX, 1);
	CHECK_EQ(agent_state_parse(t.ptr, t.len, st, err, sizeof(err)),
	    -EBADMSG);
	CHECK(strstr(err, "too long") != NULL);
	buf_reset(&t);
	while (t.len <= AGENT_STATE_MAX)
		buf_puts(&t, "x");
	CHECK_EQ(agent_state_parse(t.ptr, t.len, st, err, sizeof(err)),
	    -E2BIG);
	buf_release(&t);
	free(st);
}

static void
test_state_files(void)
{
	struct agent_state	*st, *mine, *disk;
	const char		*dir = fresh("state");
	char			 sdir[CHECK_PATH_MAX], path[CHECK_PATH_MAX + 16];
	char			 err[128];

	snprintf(sdir, sizeof(sdir), "%s/.cascade", dir);
	snprintf(path, sizeof(path), "%s/state", sdir);
	st = calloc(1, sizeof(*st));
	disk = calloc(1, sizeof(*disk));
	/* none yet: a fresh state */
	CHECK_EQ(agent_state_load(sdir, st, err, sizeof(err)), 0);
	CHECK_EQ(st->ncomp, 0);

	/* pause writes only the flag; a sync's commit keeps it */
	st->paused = 1;
	CHECK_EQ(agent_state_commit(sdir, st, AGENT_STATE_PAUSE), 0);
	mine = sample_state();
	mine->paused = 0;
	mine->next_sync = 5;
	CHECK_EQ(agent_state_commit(sdir, mine, AGENT_STATE_SYNC), 0);
	CHECK_EQ(agent_state_load(sdir, disk, err, sizeof(err)), 0);
	CHECK_EQ(disk->paused, 1);
	CHECK_EQ(disk->next_sync, 0);
	CHECK_EQ(disk->ncomp, 3);
	CHECK(strcmp(disk->group, "branch-1") == 0);
	/* run's times, and nothing else of it */
	agent_state_init(st);
	st->next_sync = 99;
	st->last_report = 98;
	CHECK_EQ(agent_state_commit(sdir, st, AGENT_STATE_RUN), 0);
	CHECK_EQ(agent_state_load(sdir, disk, err, sizeof(err)), 0);
	CHECK_EQ(disk->next_sync, 99);
	CHECK_EQ(disk->last_report, 98);
	CHECK_EQ(disk->ncomp, 3);
	CHECK_EQ(disk->paused, 1);

	/* a corrupt file is refused, named, and never overwritten */
	CHECK_EQ(check_write_file(path, "cascade-agent-state 1\nbogus\nend\n",
	    32), 0);
	CHECK_EQ(agent_state_load(sdir, disk, err, sizeof(err)), -EBADMSG);
	CHECK(strcmp(err, "line 2: unknown item") == 0);
	CHECK_EQ(agent_state_commit(sdir, mine, AGENT_STATE_SYNC), -EBADMSG);
	CHECK(file_is(path, "cascade-agent-state 1\nbogus\nend\n"));
	free(st);
	free(mine);
	free(disk);
}

/* ---- installing ------------------------------------------------------- */

static void
test_install_and_swap(void)
{
	const char	*dir = fresh("install");
	char		 src[CHECK_PATH_MAX], final[CHECK_PATH_MAX];
	char		 prev[CHECK_PATH_MAX];
	struct stat	 st;

	snprintf(src, sizeof(src), "%s/.cascade/new", dir);
	snprintf(final, sizeof(final), "%s/config/branch-1", dir);
	snprintf(prev, sizeof(prev), "%s/.cascade/prev/config/branch-1", dir);

	/* the first version: no previous one */
	CHECK_EQ(check_write_file(src, "v1\n", 3), 0);
	CHECK_EQ(agent_install_file(dir, "config/branch-1", src, 1), 0);
	CHECK(file_is(final, "v1\n"));
	CHECK(stat(src, &st) < 0 && errno == ENOENT);
	CHECK(stat(prev, &st) < 0);

	/* the second: the first kept, by link (same inode) */
	CHECK_EQ(check_write_file(src, "v2\n", 3), 0);
	{
		struct stat before;

		CHECK_EQ(stat(final, &before), 0);
		CHECK_EQ(agent_install_file(dir, "config/branch-1", src, 1),
		    0);
		CHECK_EQ(stat(prev, &st), 0);
		CHECK_EQ(st.st_ino, before.st_ino);
	}
	CHECK(file_is(final, "v2\n"));
	CHECK(file_is(prev, "v1\n"));

	/* an unverified current file is not kept: prev stays v1 */
	CHECK_EQ(check_write_file(final, "tampered\n", 9), 0);
	CHECK_EQ(check_write_file(src, "v3\n", 3), 0);
	CHECK_EQ(agent_install_file(dir, "config/branch-1", src, 0), 0);
	CHECK(file_is(final, "v3\n"));
	CHECK(file_is(prev, "v1\n"));

	/* rollback swaps, twice back where it was */
	CHECK_EQ(agent_swap_prev(dir, "config/branch-1"), 0);
	CHECK(file_is(final, "v1\n"));
	CHECK(file_is(prev, "v3\n"));
	CHECK_EQ(agent_swap_prev(dir, "config/branch-1"), 0);
	CHECK(file_is(final, "v3\n"));
	CHECK(file_is(prev, "v1\n"));

	/* names that would leave dir */
	CHECK_EQ(check_write_file(src, "x", 1), 0);
	CHECK_EQ(agent_install_file(dir, "../escape", src, 1), -EINVAL);
	CHECK_EQ(agent_install_file(dir, "a/../../escape", src, 1), -EINVAL);
	CHECK_EQ(agent_install_file(dir, ".cascade/agent", src, 1), -EINVAL);
	CHECK_EQ(agent_swap_prev(dir, "../escape"), -EINVAL);
	/* a missing source: nothing changes */
	unlink(src);
	CHECK(agent_install_file(dir, "config/branch-1", src, 1) < 0);
	CHECK(file_is(final, "v3\n"));
	CHECK(file_is(prev, "v1\n"));
	/* no previous version kept: nothing to swap */
	CHECK(agent_swap_prev(dir, "never-installed") < 0);
}

/*
 * A crash at each step of an install, as the next start finds it: the
 * state (with or without the pending record) and the files.
 */
static void
test_reconcile(void)
{
	struct agent_state	*st, *disk;
	struct agent		*a;
	const char		*dir = fresh("reconcile");
	char			 final[CHECK_PATH_MAX], other[CHECK_PATH_MAX];
	char			 h1[CRYPTO_SHA256_HEX], h2[CRYPTO_SHA256_HEX];
	char			 err[128];

	a = test_agent_at(dir);
	st = calloc(1, sizeof(*st));
	disk = calloc(1, sizeof(*disk));
	sha_of("v1\n", h1);
	sha_of("v2\n", h2);
	snprintf(final, sizeof(final), "%s/virus-pattern", dir);
	snprintf(other, sizeof(other), "%s/engine", dir);

	/* cut before the rename: old file, pending recorded */
	CHECK_EQ(check_write_file(final, "v1\n", 3), 0);
	agent_state_init(st);
	comp_set(&st->comp[0], "virus-pattern", 1, h1);
	st->ncomp = 1;
	comp_set(&st->pending, "virus-pattern", 2, h2);
	st->pending.prev_version = 1;
	memcpy(st->pending.prev_sha256, h1, CRYPTO_SHA256_HEX);
	st->has_pending = 1;
	agent_reconcile(a, st);
	CHECK_EQ(st->has_pending, 0);
	CHECK_EQ(st->comp[0].version, 1);
	CHECK_EQ(agent_state_load(a->sdir, disk, err, sizeof(err)), 0);
	CHECK_EQ(disk->has_pending, 0);
	CHECK_EQ(disk->comp[0].version, 1);

	/* cut after the rename, before the state: the pending one is it */
	CHECK_EQ(check_write_file(final, "v2\n", 3), 0);
	st->has_pending = 1;
	agent_reconcile(a, st);
	CHECK_EQ(st->comp[0].version, 2);
	CHECK(strcmp(st->comp[0].sha256, h2) == 0);
	CHECK_EQ(st->comp[0].prev_version, 1);
	CHECK_EQ(agent_state_load(a->sdir, disk, err, sizeof(err)), 0);
	CHECK_EQ(disk->comp[0].version, 2);

	/* a new component whose first install was cut after the rename */
	CHECK_EQ(check_write_file(other, "v1\n", 3), 0);
	comp_set(&st->pending, "engine", 1, h1);
	st->has_pending = 1;
	agent_reconcile(a, st);
	CHECK_EQ(st->ncomp, 2);
	CHECK(strcmp(st->comp[1].name, "engine") == 0);
	CHECK_EQ(st->comp[1].version, 1);

	/* changed outside: fetched again, never a delta base */
	CHECK_EQ(check_write_file(final, "edited\n", 7), 0);
	unlink(other);
	agent_reconcile(a, st);
	CHECK_EQ(st->comp[0].version, 0);
	CHECK_EQ(st->comp[0].sha256[0], '\0');
	CHECK_EQ(st->comp[1].version, 0);
	CHECK_EQ(agent_state_load(a->sdir, disk, err, sizeof(err)), 0);
	CHECK_EQ(disk->comp[0].version, 0);
	/* and the previous version is still known for rollback */
	CHECK_EQ(disk->comp[0].prev_version, 1);
	free(st);
	free(disk);
	agent_free(a);
}

/* ---- arithmetic and selection ----------------------------------------- */

static void
test_backoff(void)
{
	CHECK_EQ(agent_backoff(1, -1), 5);
	CHECK_EQ(agent_backoff(2, -1), 10);
	CHECK_EQ(agent_backoff(3, -1), 20);
	CHECK_EQ(agent_backoff(10, -1), 2560);
	CHECK_EQ(agent_backoff(11, -1), 3600);
	CHECK_EQ(agent_backoff(12, -1), 3600);
	CHECK_EQ(agent_backoff(1000000, -1), 3600);
	CHECK_EQ(agent_backoff(0, -1), 5);
	/* Retry-After wins when longer, even past the hour */
	CHECK_EQ(agent_backoff(1, 8), 8);
	CHECK_EQ(agent_backoff(3, 8), 20);
	CHECK_EQ(agent_backoff(1, 7200), 7200);
	CHECK_EQ(agent_backoff(1, 0), 5);
}

static void
test_pick(void)
{
	struct conf_policy	 p;

	conf_policy_defaults(&p);
	/* all, patterns and engines alike */
	CHECK_EQ(agent_pick(&p, "default", "virus-pattern", "pattern",
	    "2026-11-22", ""), AGENT_TAKE);
	CHECK_EQ(agent_pick(&p, "default", "clamav/daily", "engine",
	    "2026-11-22", "2026-11-22"), AGENT_TAKE);
	/* configuration: the agent's group only */
	CHECK_EQ(agent_pick(&p, "default", "config/default", "config",
	    "2026-11-22", ""), AGENT_TAKE);
	CHECK_EQ(agent_pick(&p, "default", "config/branch-1", "config",
	    "2026-11-22", ""), AGENT_OTHER_GROUP);
	CHECK_EQ(agent_pick(&p, "default", "config/default/extra", "config",
	    "2026-11-22", ""), AGENT_OTHER_GROUP);
	CHECK_EQ(agent_pick(&p, "default", "settings", "config",
	    "2026-11-22", ""), AGENT_OTHER_GROUP);
	CHECK_EQ(agent_pick(&p, "", "config/default", "config",
	    "2026-11-22", ""), AGENT_OTHER_GROUP);
	/* not of kind config: a name is just a name */
	CHECK_EQ(agent_pick(&p, "default", "config/branch-1", "pattern",
	    "2026-11-22", ""), AGENT_TAKE);
	/* once a day: not twice the same local day, patterns every time */
	CHECK_EQ(agent_pick(&p, "default", "config/default", "config",
	    "2026-11-22", "2026-11-22"), AGENT_TAKE);
	p.config_once_per_day = 1;
	CHECK_EQ(agent_pick(&p, "default", "config/default", "config",
	    "2026-11-22", "2026-11-22"), AGENT_CONFIG_TAKEN_TODAY);
	CHECK_EQ(agent_pick(&p, "default", "config/default", "config",
	    "2026-11-23", "2026-11-22"), AGENT_TAKE);
	CHECK_EQ(agent_pick(&p, "default", "config/default", "config",
	    "2026-11-22", ""), AGENT_TAKE);
	CHECK_EQ(agent_pick(&p, "default", "virus-pattern", "pattern",
	    "2026-11-22", "2026-11-22"), AGENT_TAKE);
	/* an explicit list: only those */
	snprintf(p.components[0], sizeof(p.components[0]), "virus-pattern");
	snprintf(p.components[1], sizeof(p.components[1]), "config/default");
	p.ncomponents = 2;
	CHECK_EQ(agent_pick(&p, "default", "virus-pattern", "pattern",
	    "2026-11-22", ""), AGENT_TAKE);
	CHECK_EQ(agent_pick(&p, "default", "scan-engine", "engine",
	    "2026-11-22", ""), AGENT_NOT_SELECTED);
	CHECK_EQ(agent_pick(&p, "default", "virus-pattern-2", "pattern",
	    "2026-11-22", ""), AGENT_NOT_SELECTED);
	CHECK_EQ(agent_pick(&p, "default", "config/default", "config",
	    "2026-11-23", "2026-11-22"), AGENT_TAKE);
	CHECK_EQ(agent_pick(&p, "branch-1", "config/branch-1", "config",
	    "2026-11-23", ""), AGENT_NOT_SELECTED);
}

static void
test_day(void)
{
	char	 d[AGENT_DAY_LEN + 1];

	agent_day(time(NULL), d);
	CHECK(agent_valid_day(d));
	CHECK(!agent_valid_day("2026-1-22"));
	CHECK(!agent_valid_day("2026-11-2x"));
}

/* ---- post_update ------------------------------------------------------ */

static void
test_post_update(void)
{
	char		 msg[AGENT_MESSAGE_MAX + 1];
	long long	 t0;
	volatile int	 cancel = 1;

	CHECK_EQ(agent_post_update("echo scanned; echo second", "a,b", "/d",
	    10, NULL, msg, sizeof(msg)), 0);
	CHECK(strcmp(msg, "scanned") == 0);
	CHECK_EQ(agent_post_update("test \"$CASCADE_UPDATED\" = a,b && "
	    "test \"$CASCADE_AGENT_DIR\" = /d", "a,b", "/d", 10, NULL, msg,
	    sizeof(msg)), 0);
	CHECK_EQ(agent_post_update("echo; echo 'no db' >&2; exit 3", "a",
	    "/d", 10, NULL, msg, sizeof(msg)), -1);
	CHECK(strcmp(msg, "post_update exited 3: no db") == 0);
	CHECK_EQ(agent_post_update("exit 1", "a", "/d", 10, NULL, msg,
	    sizeof(msg)), -1);
	CHECK(strcmp(msg, "post_update exited 1") == 0);
	CHECK_EQ(agent_post_update("echo dying; kill -9 $$", "a", "/d", 10,
	    NULL, msg, sizeof(msg)), -1);
	CHECK(strcmp(msg, "post_update killed by signal 9: dying") == 0);
	CHECK_EQ(agent_post_update("printf 'bad\\001\\tbytes\\377'; exit 2",
	    "a", "/d", 10, NULL, msg, sizeof(msg)), -1);
	CHECK(strcmp(msg, "post_update exited 2: bad??bytes?") == 0);
	/* lots of output: read and dropped, never a blocked child */
	CHECK_EQ(agent_post_update("head -c 3000000 /dev/zero | tr '\\0' x; "
	    "exit 4", "a", "/d", 20, NULL, msg, sizeof(msg)), -1);
	CHECK(strncmp(msg, "post_update exited 4: xxxx", 26) == 0);
	CHECK(strlen(msg) < 30 + AGENT_OUTPUT_MAX);
	/* too long: killed with its group */
	t0 = agent_now_ms();
	CHECK_EQ(agent_post_update("echo waiting; sleep 30 & sleep 30",
	    "a", "/d", 1, NULL, msg, sizeof(msg)), -1);
	CHECK(agent_now_ms() - t0 < 5000);
	CHECK(strcmp(msg, "post_update timed out after 1 s (killed): "
	    "waiting") == 0);
	/* asked to stop */
	t0 = agent_now_ms();
	CHECK_EQ(agent_post_update("sleep 30", "a", "/d", 60, &cancel, msg,
	    sizeof(msg)), -1);
	CHECK(agent_now_ms() - t0 < 5000);
	CHECK(strstr(msg, "interrupted") != NULL);
	/* no shell to speak of */
	CHECK_EQ(agent_post_update("/nonexistent/cmd", "a", "/d", 10, NULL,
	    msg, sizeof(msg)), -1);
	CHECK(strncmp(msg, "post_update exited 127: ", 24) == 0);
}

/* ---- the log and the identity ----------------------------------------- */

static void
test_log_rotation(void)
{
	struct agent	*a;
	const char	*dir = fresh("log");
	char		 line[900], path[CHECK_PATH_MAX], old[CHECK_PATH_MAX];
	char		*text;
	struct stat	 st;
	int		 i;

	a = test_agent_at(dir);
	snprintf(path, sizeof(path), "%s/.cascade/log", dir);
	snprintf(old, sizeof(old), "%s/.cascade/log.1", dir);
	memset(line, 'm', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	agent_log_append(a, "first\nsecond\x1b[0m");
	text = slurp(path, NULL);
	CHECK(text != NULL && strlen(text) > TS_LEN &&
	    strcmp(text + TS_LEN, " first?second?[0m\n") == 0);
	free(text);
	for (i = 0; i < 1300; i++)
		agent_log_append(a, line);
	CHECK_EQ(stat(old, &st), 0);
	CHECK(st.st_size <= AGENT_LOG_MAX && st.st_size > AGENT_LOG_MAX / 2);
	CHECK_EQ(stat(path, &st), 0);
	CHECK(st.st_size < AGENT_LOG_MAX / 2);
	text = slurp(old, NULL);
	CHECK(text != NULL && strncmp(text + TS_LEN, " first", 6) == 0);
	free(text);
	agent_free(a);
}

static void
test_identity(void)
{
	struct agent	*a;
	const char	*dir = fresh("identity");
	char		 path[CHECK_PATH_MAX];
	struct stat	 st;
	const char	*id = "0123456789abcdef0123456789abcdef";
	const char	*tok = "00112233445566778899aabbccddeeff"
			    "00112233445566778899aabbccddeeff";

	a = test_agent_at(dir);
	CHECK_EQ(agent_identity_load(a), 0);
	CHECK_EQ(a->enrolled, 0);
	memcpy(a->id, id, 33);
	memcpy(a->token, tok, 65);
	snprintf(a->enrolled_at, sizeof(a->enrolled_at), "http://h:1/");
	CHECK_EQ(agent_identity_save(a), 0);
	snprintf(path, sizeof(path), "%s/.cascade/agent", dir);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0600);
	memset(a->id, 0, sizeof(a->id));
	memset(a->token, 0, sizeof(a->token));
	CHECK_EQ(agent_identity_load(a), 0);
	CHECK_EQ(a->enrolled, 1);
	CHECK(strcmp(a->id, id) == 0 && strcmp(a->token, tok) == 0);
	CHECK(strcmp(a->enrolled_at, "http://h:1/") == 0);

	CHECK(agent_identity_parse(a, "cascade-agent-id 1\nid 0123\ntoken "
	    "00\n", 33) < 0);
	CHECK(agent_identity_parse(a, "cascade-agent-id 1\nid "
	    "0123456789ABCDEF0123456789abcdef\n", 55) < 0);
	CHECK_EQ(check_write_file(path, "cascade-agent-id 1\nid x\n", 24), 0);
	CHECK(agent_identity_load(a) < 0);
	agent_free(a);
}

int
main(void)
{
	int	 r;

	if (check_tmpdir_init("test_agent") < 0)
		return 1;
	RUN(test_state_round_trip);
	RUN(test_state_refused);
	RUN(test_state_caps);
	RUN(test_state_files);
	RUN(test_install_and_swap);
	RUN(test_reconcile);
	RUN(test_backoff);
	RUN(test_pick);
	RUN(test_day);
	RUN(test_post_update);
	RUN(test_log_rotation);
	RUN(test_identity);
	r = check_end();
	check_rm_rf(check_tmpdir);
	return r;
}
