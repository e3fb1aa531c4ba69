/*
 * repo: publish, re-signing before expiry, the repair of a manifest left
 * behind by a crash, and gc, on a data directory in a temporary place.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "repo.h"
#include "banned.h"

/* An initialised, opened repository in a fresh directory. */
static int
fresh_repo(const char *name, struct repo *r)
{
	const char	*dir = check_path(name);

	if (repo_init(dir, "main", NULL) < 0)
		return -1;
	return repo_open(r, dir);
}

static int
publish(struct repo *r, const char *component, const char *text,
    struct repo_publish_result *res)
{
	struct repo_publish_opts	 o = { NULL, NULL, 0 };
	const char			*f = check_path("input");

	if (check_write_file(f, text, strlen(text)) < 0)
		return -1;
	return repo_publish(r, component, f, &o, res);
}

static void
test_publish_and_load(void)
{
	struct repo_publish_result	 res;
	struct repo_channel		 c;
	struct manifest			*m = NULL;
	struct repo			 r;

	CHECK_EQ(fresh_repo("pub", &r), 0);
	CHECK_EQ(repo_lock(&r), 0);
	CHECK_EQ(publish(&r, "virus-pattern", "one\n", &res), 0);
	CHECK_EQ(res.version, 1);
	CHECK_EQ(res.serial, 1);
	CHECK_EQ(publish(&r, "virus-pattern", "one\ntwo\n", &res), 0);
	CHECK_EQ(res.version, 2);
	CHECK_EQ(res.serial, 2);
	CHECK_EQ(publish(&r, "virus-pattern", "one\ntwo\n", &res), 0);
	CHECK_EQ(res.unchanged, 1);
	CHECK_EQ(res.serial, 2);
	CHECK_EQ(repo_channel_load(&r, "main", &c, &m), 0);
	CHECK_EQ(c.serial, 2);
	CHECK(m != NULL && m->ncomponents == 1 &&
	    m->components[0].version == 2 &&
	    strcmp(m->components[0].kind, "pattern") == 0);
	manifest_free(m);
	repo_channel_release(&c);
	repo_close(&r);
}

static void
test_refresh_before_expiry(void)
{
	struct repo_publish_result	 res;
	struct repo_channel		 c;
	struct repo			 r;

	CHECK_EQ(fresh_repo("refresh", &r), 0);
	CHECK_EQ(repo_lock(&r), 0);
	/* nothing published: nothing to re-sign */
	CHECK_EQ(repo_refresh(&r, 0), 0);
	CHECK_EQ(publish(&r, "cfg", "a = 1\n", &res), 0);
	/* far from expiry: left alone */
	CHECK_EQ(repo_refresh(&r, 60), 0);
	/* within the margin: a new serial, same content, valid again */
	CHECK_EQ(repo_refresh(&r, 30 * 86400), 1);
	CHECK_EQ(repo_channel_load(&r, "main", &c, NULL), 0);
	CHECK_EQ(c.serial, 2);
	CHECK(c.expires > time(NULL) + 6 * 86400);
	CHECK(strstr(c.manifest.ptr, "\"version\": 1") != NULL);
	repo_channel_release(&c);
	CHECK_EQ(repo_verify(&r, 0), 0);
	repo_close(&r);
}

static void
test_repair_after_crash(void)
{
	struct repo_publish_result	 res;
	struct repo			 r;
	char				 cur[32], link[FS_PATH_MAX];

	CHECK_EQ(fresh_repo("crash", &r), 0);
	CHECK_EQ(repo_lock(&r), 0);
	CHECK_EQ(publish(&r, "p", "v1\n", &res), 0);
	CHECK_EQ(publish(&r, "p", "v2\n", &res), 0);
	repo_unlock(&r);
	/* as if the writer died after the state commit, before the switch */
	CHECK_EQ(fs_path(link, sizeof(link), "%s/channels/main/current",
	    r.dir), 0);
	CHECK_EQ(fs_symlink_atomic("1", link), 0);
	CHECK_EQ(repo_lock(&r), 0);
	CHECK_EQ(repo_channel_current(&r, "main", cur, sizeof(cur)), 0);
	CHECK(strcmp(cur, "2") == 0);
	CHECK_EQ(repo_verify(&r, 0), 0);
	repo_close(&r);
}

static void
test_bad_names_and_versions(void)
{
	struct repo_publish_opts	 o = { NULL, NULL, 0 };
	struct repo_publish_result	 res;
	struct repo			 r;

	CHECK_EQ(fresh_repo("bad", &r), 0);
	CHECK_EQ(repo_lock(&r), 0);
	CHECK(publish(&r, "../x", "x\n", &res) < 0);
	CHECK(publish(&r, "A", "x\n", &res) < 0);
	CHECK_EQ(publish(&r, "ok", "x\n", &res), 0);
	o.version = 1;
	CHECK(repo_publish(&r, "ok", check_path("input"), &o, &res) < 0);
	o.kind = "Bad Kind";
	o.version = 0;
	CHECK(repo_publish(&r, "ok", check_path("input"), &o, &res) < 0);
	o.kind = NULL;
	CHECK(repo_publish(&r, "ok", check_path("nope"), &o, &res) < 0);
	repo_close(&r);
}

static void
test_init_refuses_twice(void)
{
	CHECK_EQ(repo_init(check_path("twice"), "main", NULL), 0);
	CHECK(repo_init(check_path("twice"), "main", NULL) < 0);
	CHECK(repo_init(check_path("badch"), "Bad", NULL) < 0);
}

int
main(void)
{
	if (check_tmpdir_init("test_repo") < 0)
		return 1;
	RUN(test_publish_and_load);
	RUN(test_refresh_before_expiry);
	RUN(test_repair_after_crash);
	RUN(test_bad_names_and_versions);
	RUN(test_init_refuses_twice);
	check_rm_rf(check_tmpdir);
	return check_end();
}
