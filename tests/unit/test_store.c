/*
 * Unit tests of store, in a temporary directory: the layout of objects,
 * put (new, again, with an expected hash), check, foreach with strays,
 * remove, bad names, and a 20 MB object streamed through.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "crypto.h"
#include "fs.h"
#include "store.h"
#include "check.h"
#include "banned.h"

/* SHA-256 of "hello\n" and of "" */
#define HELLO_HEX \
	"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
#define EMPTY_HEX \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define OTHER_HEX \
	"0000000000000000000000000000000000000000000000000000000000000001"

/* ---- helpers ------------------------------------------------------------ */

/* A fresh data directory with a store opened (created) in it. */
static int
fresh_store(const char *name, struct store *s, char *dir, size_t size)
{
	if (fs_path(dir, size, "%s/%s", check_tmpdir, name) < 0)
		return -1;
	check_rm_rf(dir);
	if (mkdir(dir, 0755) < 0)
		return -1;
	return store_open(s, dir, 1);
}

static int
tmp_entries(const struct store *s)
{
	char	 p[FS_PATH_MAX];

	if (fs_path(p, sizeof(p), "%s/tmp", s->root) < 0)
		return -1;
	return check_count_entries(p);
}

/* Writes a plain file in dir; its path in out. */
static int
make_file(const char *dir, const char *name, const void *p, size_t n,
    char *out, size_t outsize)
{
	if (fs_path(out, outsize, "%s/%s", dir, name) < 0)
		return -1;
	return fs_write_atomic(out, p, n, 0644);
}

static void
hex_of(const void *p, size_t n, char hex[CRYPTO_SHA256_HEX])
{
	unsigned char	 md[CRYPTO_SHA256_LEN];

	if (crypto_sha256(p, n, md) < 0)
		abort();
	crypto_hex(md, sizeof(md), hex);
}

struct seen {
	int	 good;
	int	 bad;
	int	 calls;
	int	 stop_after;	/* 0: never */
	char	 last_bad[256];
	int	 saw_hello;
};

static int
seen_fn(const char *name, int bad, void *arg)
{
	struct seen	*s = arg;

	s->calls++;
	if (bad) {
		s->bad++;
		snprintf(s->last_bad, sizeof(s->last_bad), "%s", name);
	} else
		s->good++;
	if (strcmp(name, HELLO_HEX) == 0)
		s->saw_hello = 1;
	if (s->stop_after > 0 && s->calls == s->stop_after)
		return 77;
	return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_open(void)
{
	char		 dir[FS_PATH_MAX], p[FS_PATH_MAX];
	struct store	 s;

	CHECK_EQ(fs_path(dir, sizeof(dir), "%s/open", check_tmpdir), 0);
	CHECK_EQ(mkdir(dir, 0755), 0);
	CHECK_EQ(store_open(&s, dir, 0), -ENOENT);
	CHECK_EQ(store_open(&s, dir, 1), 0);
	CHECK_EQ(fs_path(p, sizeof(p), "%s/objects", dir), 0);
	CHECK(strcmp(s.root, p) == 0);
	CHECK_EQ(fs_path(p, sizeof(p), "%s/objects/tmp", dir), 0);
	CHECK_EQ(fs_exists(p), 1);
	CHECK_EQ(store_open(&s, dir, 0), 0);
	CHECK_EQ(store_open(&s, dir, 1), 0);		/* again is fine */
}

static void
test_path(void)
{
	struct store	 s;
	char		 p[FS_PATH_MAX], want[FS_PATH_MAX], small[16];

	snprintf(s.root, sizeof(s.root), "/data/objects");
	CHECK_EQ(store_path(&s, HELLO_HEX, p, sizeof(p)), 0);
	snprintf(want, sizeof(want), "/data/objects/58/%s", HELLO_HEX);
	CHECK(strcmp(p, want) == 0);
	CHECK_EQ(store_path(&s, HELLO_HEX, small, sizeof(small)),
	    -ENAMETOOLONG);
	CHECK_EQ(store_path(&s, "", p, sizeof(p)), -EINVAL);
	CHECK_EQ(store_path(&s, "58", p, sizeof(p)), -EINVAL);
	CHECK_EQ(store_path(&s, HELLO_HEX "0", p, sizeof(p)), -EINVAL);
	CHECK_EQ(store_path(&s, "5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF"
	    "34D08286A2E846F6BE03", p, sizeof(p)), -EINVAL);
	CHECK_EQ(store_path(&s, "../../../../etc/passwd0000000000000000000000"
	    "00000000000000000000", p, sizeof(p)), -EINVAL);
	CHECK_EQ(store_path(&s, "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af"
	    "34d08286a2e846f6be0g", p, sizeof(p)), -EINVAL);
}

static void
test_put_file(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX], p[FS_PATH_MAX];
	char		 hex[CRYPTO_SHA256_HEX], want[FS_PATH_MAX];
	struct store	 s;
	struct stat	 st;
	struct buf	 b;
	uint64_t	 size = 0;
	int		 existed = -1, fd;

	CHECK_EQ(fresh_store("put", &s, dir, sizeof(dir)), 0);
	CHECK_EQ(make_file(dir, "src", "hello\n", 6, src, sizeof(src)), 0);
	CHECK_EQ(store_has(&s, HELLO_HEX, NULL), 0);
	CHECK_EQ(store_put_file(&s, src, hex, &size, &existed), 0);
	CHECK(strcmp(hex, HELLO_HEX) == 0);
	CHECK_EQ(size, 6);
	CHECK_EQ(existed, 0);

	/* objects/58/5891b5... */
	CHECK_EQ(fs_path(want, sizeof(want), "%s/objects/58/%s", dir,
	    HELLO_HEX), 0);
	CHECK_EQ(store_path(&s, hex, p, sizeof(p)), 0);
	CHECK(strcmp(p, want) == 0);
	CHECK_EQ(stat(want, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_EQ(st.st_size, 6);
	buf_init(&b, 64);
	CHECK_EQ(fs_read(&b, want), 0);
	CHECK(b.ptr != NULL && strcmp(b.ptr, "hello\n") == 0);
	buf_release(&b);

	size = 0;
	CHECK_EQ(store_has(&s, HELLO_HEX, &size), 1);
	CHECK_EQ(size, 6);
	CHECK_EQ(store_has(&s, HELLO_HEX, NULL), 1);
	CHECK_EQ(store_has(&s, OTHER_HEX, &size), 0);
	CHECK_EQ(tmp_entries(&s), 0);

	fd = store_open_object(&s, HELLO_HEX);
	CHECK(fd >= 0);
	if (fd >= 0) {
		char	 got[16];

		CHECK_EQ(read(fd, got, sizeof(got)), 6);
		CHECK(memcmp(got, "hello\n", 6) == 0);
		close(fd);
	}
	CHECK_EQ(store_open_object(&s, OTHER_HEX), -ENOENT);
	CHECK_EQ(store_check(&s, HELLO_HEX), 0);
	CHECK_EQ(store_put_file(&s, "/nonexistent/file", hex, NULL, NULL),
	    -ENOENT);
}

static void
test_put_again(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX], p[FS_PATH_MAX];
	char		 hex[CRYPTO_SHA256_HEX];
	struct store	 s;
	struct stat	 st1, st2;
	uint64_t	 size = 0;
	int		 existed = -1;

	CHECK_EQ(fresh_store("again", &s, dir, sizeof(dir)), 0);
	CHECK_EQ(make_file(dir, "src", "hello\n", 6, src, sizeof(src)), 0);
	CHECK_EQ(store_put_file(&s, src, hex, &size, &existed), 0);
	CHECK_EQ(existed, 0);
	CHECK_EQ(store_path(&s, HELLO_HEX, p, sizeof(p)), 0);
	CHECK_EQ(stat(p, &st1), 0);

	memset(hex, 0, sizeof(hex));
	size = 0;
	CHECK_EQ(store_put_file(&s, src, hex, &size, &existed), 0);
	CHECK_EQ(existed, 1);
	CHECK(strcmp(hex, HELLO_HEX) == 0);
	CHECK_EQ(size, 6);
	CHECK_EQ(stat(p, &st2), 0);
	CHECK(st1.st_ino == st2.st_ino);	/* never rewritten */
	CHECK_EQ(tmp_entries(&s), 0);
	/* NULL return pointers are fine */
	CHECK_EQ(store_put_file(&s, src, NULL, NULL, NULL), 0);
	CHECK_EQ(tmp_entries(&s), 0);
}

static void
test_put_empty(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX];
	char		 hex[CRYPTO_SHA256_HEX];
	struct store	 s;
	uint64_t	 size = 99;

	CHECK_EQ(fresh_store("empty", &s, dir, sizeof(dir)), 0);
	CHECK_EQ(make_file(dir, "src", "", 0, src, sizeof(src)), 0);
	CHECK_EQ(store_put_file(&s, src, hex, &size, NULL), 0);
	CHECK(strcmp(hex, EMPTY_HEX) == 0);
	CHECK_EQ(size, 0);
	CHECK_EQ(store_has(&s, EMPTY_HEX, &size), 1);
	CHECK_EQ(size, 0);
	CHECK_EQ(store_check(&s, EMPTY_HEX), 0);
}

static void
test_put_expect(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX];
	char		 hex[CRYPTO_SHA256_HEX];
	struct store	 s;
	struct seen	 seen;
	uint64_t	 size = 1234;
	int		 fd, existed = -1;

	CHECK_EQ(fresh_store("expect", &s, dir, sizeof(dir)), 0);
	CHECK_EQ(make_file(dir, "src", "hello\n", 6, src, sizeof(src)), 0);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	memcpy(hex, "untouched", 10);
	CHECK_EQ(store_put_fd(&s, fd, OTHER_HEX, hex, &size, &existed),
	    -EPERM);
	CHECK(strcmp(hex, "untouched") == 0);	/* ret_ only on success */
	CHECK_EQ(size, 1234);
	CHECK_EQ(existed, -1);
	CHECK_EQ(store_has(&s, HELLO_HEX, NULL), 0);
	CHECK_EQ(store_has(&s, OTHER_HEX, NULL), 0);
	CHECK_EQ(tmp_entries(&s), 0);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_foreach(&s, seen_fn, &seen), 0);
	CHECK_EQ(seen.calls, 0);		/* nothing stored */

	/* an expected hash in upper case is a mismatch too */
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(store_put_fd(&s, fd, "5891B5B522D5DF086D0FF0B110FBD9D21BB4FC"
	    "7163AF34D08286A2E846F6BE03", NULL, NULL, NULL), -EPERM);

	/* the right one */
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(store_put_fd(&s, fd, HELLO_HEX, hex, &size, &existed), 0);
	CHECK(strcmp(hex, HELLO_HEX) == 0);
	CHECK_EQ(existed, 0);
	CHECK_EQ(store_has(&s, HELLO_HEX, NULL), 1);

	/* a mismatch against an object that exists leaves it alone */
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(store_put_fd(&s, fd, EMPTY_HEX, NULL, NULL, NULL), -EPERM);
	CHECK_EQ(store_check(&s, HELLO_HEX), 0);
	CHECK_EQ(tmp_entries(&s), 0);
	close(fd);
}

/* store_put_fd reads from the current offset. */
static void
test_put_fd_offset(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX];
	char		 hex[CRYPTO_SHA256_HEX], want[CRYPTO_SHA256_HEX];
	struct store	 s;
	uint64_t	 size = 0;
	int		 fd;

	CHECK_EQ(fresh_store("offset", &s, dir, sizeof(dir)), 0);
	CHECK_EQ(make_file(dir, "src", "HEADERhello\n", 12, src,
	    sizeof(src)), 0);
	fd = open(src, O_RDONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(lseek(fd, 6, SEEK_SET), 6);
	CHECK_EQ(store_put_fd(&s, fd, NULL, hex, &size, NULL), 0);
	CHECK(strcmp(hex, HELLO_HEX) == 0);
	CHECK_EQ(size, 6);
	/* at EOF: the empty object */
	CHECK_EQ(store_put_fd(&s, fd, NULL, hex, &size, NULL), 0);
	hex_of("", 0, want);
	CHECK(strcmp(hex, want) == 0);
	CHECK_EQ(size, 0);
	close(fd);
}

static void
test_put_bad_fd(void)
{
	char		 dir[FS_PATH_MAX];
	struct store	 s;
	int		 fd;

	CHECK_EQ(fresh_store("badfd", &s, dir, sizeof(dir)), 0);
	CHECK_EQ(store_put_fd(&s, -1, NULL, NULL, NULL, NULL), -EBADF);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(store_put_fd(&s, fd, NULL, NULL, NULL, NULL), -EISDIR);
	close(fd);
	CHECK_EQ(tmp_entries(&s), 0);
}

static void
test_tmpfile(void)
{
	char		 dir[FS_PATH_MAX], hex[CRYPTO_SHA256_HEX];
	struct store	 s;
	int		 fd, existed = -1;

	CHECK_EQ(fresh_store("tmpfile", &s, dir, sizeof(dir)), 0);
	fd = store_tmpfile(&s);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK_EQ(tmp_entries(&s), 0);		/* unlinked */
	CHECK_EQ(fs_write_all(fd, "hello\n", 6), 0);
	CHECK_EQ(lseek(fd, 0, SEEK_SET), 0);
	CHECK_EQ(store_put_fd(&s, fd, NULL, hex, NULL, &existed), 0);
	CHECK(strcmp(hex, HELLO_HEX) == 0);
	CHECK_EQ(existed, 0);
	close(fd);
	CHECK_EQ(tmp_entries(&s), 0);
}

static void
test_check_corrupt(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX], p[FS_PATH_MAX];
	struct store	 s;
	int		 fd;

	CHECK_EQ(fresh_store("corrupt", &s, dir, sizeof(dir)), 0);
	CHECK_EQ(make_file(dir, "src", "hello\n", 6, src, sizeof(src)), 0);
	CHECK_EQ(store_put_file(&s, src, NULL, NULL, NULL), 0);
	CHECK_EQ(store_check(&s, HELLO_HEX), 0);

	/* flip one byte in place */
	CHECK_EQ(store_path(&s, HELLO_HEX, p, sizeof(p)), 0);
	fd = open(p, O_WRONLY | O_CLOEXEC);
	CHECK(fd >= 0);
	CHECK_EQ(pwrite(fd, "J", 1, 0), 1);
	close(fd);
	CHECK_EQ(store_check(&s, HELLO_HEX), -EPERM);
	/* store_has only looks at presence */
	CHECK_EQ(store_has(&s, HELLO_HEX, NULL), 1);

	/* truncated */
	CHECK_EQ(truncate(p, 0), 0);
	CHECK_EQ(store_check(&s, HELLO_HEX), -EPERM);

	CHECK_EQ(store_check(&s, OTHER_HEX), -ENOENT);
	CHECK_EQ(store_check(&s, "nothex"), -EINVAL);
}

static void
test_foreach(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX], p[FS_PATH_MAX];
	char		 hex[CRYPTO_SHA256_HEX];
	struct store	 s;
	struct seen	 seen;
	int		 i;

	CHECK_EQ(fresh_store("foreach", &s, dir, sizeof(dir)), 0);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_foreach(&s, seen_fn, &seen), 0);
	CHECK_EQ(seen.calls, 0);

	for (i = 0; i < 5; i++) {
		char	 data[32];
		int	 n = snprintf(data, sizeof(data), "object %d\n", i);

		CHECK_EQ(make_file(dir, "src", data, (size_t)n, src,
		    sizeof(src)), 0);
		CHECK_EQ(store_put_file(&s, src, hex, NULL, NULL), 0);
	}
	CHECK_EQ(make_file(dir, "src", "hello\n", 6, src, sizeof(src)), 0);
	CHECK_EQ(store_put_file(&s, src, NULL, NULL, NULL), 0);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_foreach(&s, seen_fn, &seen), 0);
	CHECK_EQ(seen.good, 6);
	CHECK_EQ(seen.bad, 0);
	CHECK(seen.saw_hello);

	/* a stray file beside an object */
	CHECK_EQ(fs_path(p, sizeof(p), "%s/58/junk", s.root), 0);
	CHECK_EQ(fs_write_atomic(p, "x", 1, 0644), 0);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_foreach(&s, seen_fn, &seen), 0);
	CHECK_EQ(seen.good, 6);
	CHECK_EQ(seen.bad, 1);
	CHECK(strcmp(seen.last_bad, "junk") == 0);
	CHECK_EQ(unlink(p), 0);

	/* an object under the wrong prefix */
	CHECK_EQ(fs_path(p, sizeof(p), "%s/ff", s.root), 0);
	CHECK_EQ(mkdir(p, 0755), 0);
	CHECK_EQ(fs_path(p, sizeof(p), "%s/ff/%s", s.root, HELLO_HEX), 0);
	CHECK_EQ(fs_write_atomic(p, "hello\n", 6, 0644), 0);
	/* a stray file at the top, and a directory name that is no prefix */
	CHECK_EQ(fs_path(p, sizeof(p), "%s/README", s.root), 0);
	CHECK_EQ(fs_write_atomic(p, "x", 1, 0644), 0);
	CHECK_EQ(fs_path(p, sizeof(p), "%s/abc", s.root), 0);
	CHECK_EQ(mkdir(p, 0755), 0);
	CHECK_EQ(fs_path(p, sizeof(p), "%s/abc/%s", s.root, HELLO_HEX), 0);
	CHECK_EQ(fs_write_atomic(p, "hello\n", 6, 0644), 0);
	/* files in tmp/ are not objects, and not reported */
	CHECK_EQ(fs_path(p, sizeof(p), "%s/tmp/object.tmp.abcdef", s.root),
	    0);
	CHECK_EQ(fs_write_atomic(p, "x", 1, 0644), 0);
	memset(&seen, 0, sizeof(seen));
	CHECK_EQ(store_foreach(&s, seen_fn, &seen), 0);
	CHECK_EQ(seen.good, 6);
	CHECK_EQ(seen.bad, 3);
}

static void
test_foreach_stops(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX];
	struct store	 s;
	struct seen	 seen;
	int		 i;

	CHECK_EQ(fresh_store("stops", &s, dir, sizeof(dir)), 0);
	for (i = 0; i < 4; i++) {
		char	 data[32];
		int	 n = snprintf(data, sizeof(data), "x%d", i);

		CHECK_EQ(make_file(dir, "src", data, (size_t)n, src,
		    sizeof(src)), 0);
		CHECK_EQ(store_put_file(&s, src, NULL, NULL, NULL), 0);
	}
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	CHECK_EQ(store_foreach(&s, seen_fn, &seen), 77);
	CHECK_EQ(seen.calls, 2);
}

static void
test_remove(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX];
	struct store	 s;
	int		 existed = -1;

	CHECK_EQ(fresh_store("remove", &s, dir, sizeof(dir)), 0);
	CHECK_EQ(make_file(dir, "src", "hello\n", 6, src, sizeof(src)), 0);
	CHECK_EQ(store_put_file(&s, src, NULL, NULL, NULL), 0);
	CHECK_EQ(store_has(&s, HELLO_HEX, NULL), 1);
	CHECK_EQ(store_remove(&s, HELLO_HEX), 0);
	CHECK_EQ(store_has(&s, HELLO_HEX, NULL), 0);
	CHECK_EQ(store_check(&s, HELLO_HEX), -ENOENT);
	CHECK_EQ(store_remove(&s, HELLO_HEX), 0);	/* already gone */
	CHECK_EQ(store_remove(&s, "xyz"), -EINVAL);
	/* and it can come back */
	CHECK_EQ(store_put_file(&s, src, NULL, NULL, &existed), 0);
	CHECK_EQ(existed, 0);
	CHECK_EQ(store_check(&s, HELLO_HEX), 0);
}

static void
test_invalid_hex(void)
{
	static const char	*bad[] = {
		"", "abc", (HELLO_HEX "0"), ("../" HELLO_HEX),
		"5891B5B522D5DF086D0FF0B110FBD9D21BB4FC7163AF34D08286A2E846F6BE03",
		"5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be0 ",
		"../../../../../../../../../../../../../../../../../etc/passwd",
	};
	char			 dir[FS_PATH_MAX];
	struct store		 s;
	uint64_t		 size;
	size_t			 i;
	int			 ok = 1;

	CHECK_EQ(fresh_store("invalid", &s, dir, sizeof(dir)), 0);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (store_has(&s, bad[i], &size) != -EINVAL ||
		    store_open_object(&s, bad[i]) != -EINVAL ||
		    store_check(&s, bad[i]) != -EINVAL ||
		    store_remove(&s, bad[i]) != -EINVAL) {
			fprintf(stderr, "accepted '%s'\n", bad[i]);
			ok = 0;
		}
	}
	CHECK(ok);
}

/* 20 MB, more than one read chunk, in and out with the right hash. */
static void
test_large(void)
{
	unsigned char	 md[CRYPTO_SHA256_LEN];
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX];
	char		 hex[CRYPTO_SHA256_HEX], want[CRYPTO_SHA256_HEX];
	unsigned char	*p;
	struct store	 s;
	uint64_t	 size = 0, n2 = 0;
	size_t		 i, n = 20u << 20;
	uint32_t	 x = 2463534242u;
	int		 fd;

	CHECK_EQ(fresh_store("large", &s, dir, sizeof(dir)), 0);
	p = malloc(n);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	for (i = 0; i < n; i++) {		/* xorshift32 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (unsigned char)x;
	}
	hex_of(p, n, want);
	CHECK_EQ(make_file(dir, "src", p, n, src, sizeof(src)), 0);
	free(p);

	CHECK_EQ(store_put_file(&s, src, hex, &size, NULL), 0);
	CHECK(strcmp(hex, want) == 0);
	CHECK_EQ(size, n);
	CHECK_EQ(store_has(&s, want, &size), 1);
	CHECK_EQ(size, n);

	fd = store_open_object(&s, want);
	CHECK(fd >= 0);
	if (fd >= 0) {
		CHECK_EQ(crypto_sha256_fd(fd, md, &n2), 0);
		crypto_hex(md, sizeof(md), hex);
		CHECK(strcmp(hex, want) == 0);
		CHECK_EQ(n2, n);
		close(fd);
	}
	CHECK_EQ(store_check(&s, want), 0);
	CHECK_EQ(tmp_entries(&s), 0);
	CHECK_EQ(store_remove(&s, want), 0);
}

/*
 * store.h: "A crash leaves at most a stray file in tmp/, which store_put
 * cleans up later." Nothing removes such files: store_put_fd only makes
 * and renames its own, and gc (store_foreach) skips tmp/.
 */
static void
test_put_cleans_stray_tmp(void)
{
	char		 dir[FS_PATH_MAX], src[FS_PATH_MAX], p[FS_PATH_MAX];
	struct store	 s;

	struct timespec	 old[2] = { { 0, 0 }, { 0, 0 } };
	unsigned	 removed = 99;

	CHECK_EQ(fresh_store("stray", &s, dir, sizeof(dir)), 0);
	CHECK_EQ(fs_path(p, sizeof(p), "%s/tmp/object.tmp.Ab12Cd", s.root),
	    0);
	CHECK_EQ(fs_write_atomic(p, "half an object", 14, 0644), 0);
	CHECK_EQ(make_file(dir, "src", "hello\n", 6, src, sizeof(src)), 0);
	CHECK_EQ(store_put_file(&s, src, NULL, NULL, NULL), 0);
	/* a fresh one may still be being written: kept */
	CHECK_EQ(store_clean_tmp(&s, 3600, &removed), 0);
	CHECK_EQ(removed, 0);
	CHECK_EQ(tmp_entries(&s), 1);
	/* one from two hours ago is a leftover: removed */
	old[0].tv_sec = old[1].tv_sec = time(NULL) - 7200;
	CHECK_EQ(utimensat(AT_FDCWD, p, old, 0), 0);
	CHECK_EQ(store_clean_tmp(&s, 3600, &removed), 0);
	CHECK_EQ(removed, 1);
	CHECK_EQ(tmp_entries(&s), 0);
}

static void
test_adopt(void)
{
	char		 dir[FS_PATH_MAX], p[FS_PATH_MAX], hex[CRYPTO_SHA256_HEX];
	char		 want[CRYPTO_SHA256_HEX];
	unsigned char	 md[CRYPTO_SHA256_LEN];
	struct store	 s;
	uint64_t	 size = 0;
	int		 fd;

	CHECK_EQ(fresh_store("adopt", &s, dir, sizeof(dir)), 0);
	crypto_sha256("adopted\n", 8, md);
	crypto_hex(md, sizeof(md), want);
	/* an unnamed temporary file */
	fd = store_tmpfile(&s);
	CHECK(fd >= 0);
	CHECK_EQ(fs_write_all(fd, "adopted\n", 8), 0);
	CHECK_EQ(store_adopt(&s, fd, NULL, NULL, hex, &size), 0);
	CHECK(strcmp(hex, want) == 0);
	CHECK_EQ(size, 8);
	CHECK_EQ(store_check(&s, want), 0);
	close(fd);
	/* a named one is renamed; a wrong hash stores nothing */
	CHECK_EQ(fs_path(p, sizeof(p), "%s/tmp/partial-x", s.root), 0);
	CHECK_EQ(fs_write_atomic(p, "other\n", 6, 0644), 0);
	fd = open(p, O_RDWR);
	CHECK(fd >= 0);
	CHECK_EQ(store_adopt(&s, fd, p, want, NULL, NULL), -EPERM);
	CHECK_EQ(fs_exists(p), 1);
	CHECK_EQ(store_adopt(&s, fd, p, NULL, hex, NULL), 0);
	CHECK_EQ(fs_exists(p), 0);
	CHECK_EQ(store_check(&s, hex), 0);
	close(fd);
	/* the same bytes again: the stored object stays, the file goes */
	CHECK_EQ(fs_write_atomic(p, "other\n", 6, 0644), 0);
	fd = open(p, O_RDWR);
	CHECK_EQ(store_adopt(&s, fd, p, NULL, NULL, NULL), 0);
	CHECK_EQ(fs_exists(p), 0);
	close(fd);
}

int
main(void)
{
	umask(022);
	if (check_tmpdir_init("test_store") < 0)
		return 1;
	RUN(test_open);
	RUN(test_path);
	RUN(test_put_file);
	RUN(test_put_again);
	RUN(test_put_empty);
	RUN(test_put_expect);
	RUN(test_put_fd_offset);
	RUN(test_put_bad_fd);
	RUN(test_tmpfile);
	RUN(test_check_corrupt);
	RUN(test_foreach);
	RUN(test_foreach_stops);
	RUN(test_remove);
	RUN(test_invalid_hex);
	RUN(test_large);
	RUN(test_put_cleans_stray_tmp);
	RUN(test_adopt);
	check_rm_rf(check_tmpdir);
	return check_end();
}
