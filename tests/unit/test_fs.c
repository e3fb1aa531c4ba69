/*
 * Unit tests of fs, in a temporary directory: durable writes and capped
 * reads, temporary files that vanish on abort, mkdir -p (of a path or of
 * its directory), fsync, atomic symlinks, the lock, and path overflow.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "fs.h"
#include "check.h"
#include "banned.h"

/* ---- helpers ------------------------------------------------------------ */

static int
is_dir(const char *path)
{
	struct stat	 st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int
has_cloexec(int fd)
{
	int	 f = fcntl(fd, F_GETFD);

	return f >= 0 && (f & FD_CLOEXEC) != 0;
}

/* A fresh, empty subdirectory of check_tmpdir for one test. */
static const char *
fresh(const char *name)
{
	const char	*p = check_path(name);

	check_rm_rf(p);
	if (mkdir(p, 0755) < 0)
		fprintf(stderr, "cannot make '%s'\n", p);
	return p;
}

/* ---- tests -------------------------------------------------------------- */

static void
test_write_read(void)
{
	const char	*dir = fresh("wr");
	char		 path[FS_PATH_MAX];
	struct stat	 st;
	struct buf	 b;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/file", dir), 0);
	CHECK_EQ(fs_write_atomic(path, "hello\n", 6, 0640), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0640);
	CHECK_EQ(st.st_size, 6);

	buf_init(&b, 1024);
	CHECK_EQ(fs_read(&b, path), 0);
	CHECK_EQ(b.len, 6);
	CHECK(b.ptr != NULL && strcmp(b.ptr, "hello\n") == 0);
	buf_release(&b);

	/* a replace, and nothing else left in the directory */
	CHECK_EQ(fs_write_atomic(path, "bye", 3, 0600), 0);
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 07777, 0600);
	buf_init(&b, 1024);
	CHECK_EQ(fs_read(&b, path), 0);
	CHECK(b.ptr != NULL && strcmp(b.ptr, "bye") == 0);
	buf_release(&b);
	CHECK_EQ(check_count_entries(dir), 1);
}

static void
test_write_empty(void)
{
	const char	*dir = fresh("we");
	char		 path[FS_PATH_MAX];
	struct buf	 b;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/empty", dir), 0);
	CHECK_EQ(fs_write_atomic(path, "", 0, 0644), 0);
	CHECK_EQ(fs_exists(path), 1);
	buf_init(&b, 16);
	CHECK_EQ(fs_read(&b, path), 0);
	CHECK_EQ(b.len, 0);
	buf_release(&b);
}

/* Binary bytes, larger than fs_read's chunk, come back the same. */
static void
test_write_read_large(void)
{
	const char	*dir = fresh("wl");
	char		 path[FS_PATH_MAX];
	unsigned char	*p;
	struct buf	 b;
	size_t		 i, n = 300000;

	p = malloc(n);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(i * 7 + (i >> 9));
	CHECK_EQ(fs_path(path, sizeof(path), "%s/big", dir), 0);
	CHECK_EQ(fs_write_atomic(path, p, n, 0644), 0);
	buf_init(&b, n);
	CHECK_EQ(fs_read(&b, path), 0);
	CHECK_EQ(b.len, n);
	CHECK(b.len == n && memcmp(b.ptr, p, n) == 0);
	buf_release(&b);
	free(p);
}

static void
test_read_appends(void)
{
	const char	*dir = fresh("ra");
	char		 path[FS_PATH_MAX];
	struct buf	 b;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/f", dir), 0);
	CHECK_EQ(fs_write_atomic(path, "world", 5, 0644), 0);
	buf_init(&b, 64);
	CHECK_EQ(buf_puts(&b, "hello "), 0);
	CHECK_EQ(fs_read(&b, path), 0);
	CHECK(strcmp(b.ptr, "hello world") == 0);
	buf_release(&b);
}

static void
test_read_cap(void)
{
	const char	*dir = fresh("rc");
	char		 path[FS_PATH_MAX], data[100];
	struct buf	 b;

	memset(data, 'z', sizeof(data));
	CHECK_EQ(fs_path(path, sizeof(path), "%s/f", dir), 0);
	CHECK_EQ(fs_write_atomic(path, data, sizeof(data), 0644), 0);

	buf_init(&b, 99);
	CHECK_EQ(fs_read(&b, path), -E2BIG);
	CHECK(b.len <= 99);
	buf_release(&b);

	buf_init(&b, 100);		/* exactly the size fits */
	CHECK_EQ(fs_read(&b, path), 0);
	CHECK_EQ(b.len, 100);
	buf_release(&b);

	buf_init(&b, 0);
	CHECK_EQ(fs_read(&b, path), -E2BIG);
	buf_release(&b);
}

/* The cap applies across fs_read's chunks too. */
static void
test_read_cap_large(void)
{
	const char	*dir = fresh("rcl");
	char		 path[FS_PATH_MAX];
	char		*data;
	struct buf	 b;
	size_t		 n = 200000;

	data = calloc(1, n);
	CHECK(data != NULL);
	if (data == NULL)
		return;
	CHECK_EQ(fs_path(path, sizeof(path), "%s/f", dir), 0);
	CHECK_EQ(fs_write_atomic(path, data, n, 0644), 0);
	buf_init(&b, n - 1);
	CHECK_EQ(fs_read(&b, path), -E2BIG);
	CHECK(b.len < n);
	buf_release(&b);
	buf_init(&b, 70000);
	CHECK_EQ(fs_read(&b, path), -E2BIG);
	buf_release(&b);
	free(data);
}

static void
test_read_missing(void)
{
	struct buf	 b;

	buf_init(&b, 64);
	CHECK_EQ(fs_read(&b, check_path("no/such/file")), -ENOENT);
	CHECK_EQ(fs_read(&b, check_path("nosuchfile")), -ENOENT);
	CHECK_EQ(b.len, 0);
	buf_release(&b);
}

static void
test_write_atomic_bad_dir(void)
{
	CHECK_EQ(fs_write_atomic(check_path("no/such/dir/f"), "x", 1, 0644),
	    -ENOENT);
}

static void
test_tmp_abort(void)
{
	const char	*dir = fresh("ta");
	char		 path[FS_PATH_MAX];
	struct fs_tmp	 t;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/final", dir), 0);
	CHECK_EQ(fs_tmp_open(&t, path, 0644), 0);
	CHECK(t.fd >= 0);
	CHECK(has_cloexec(t.fd));
	CHECK(strncmp(t.path, dir, strlen(dir)) == 0);	/* same directory */
	CHECK(strcmp(t.final, path) == 0);
	CHECK_EQ(fs_write_all(t.fd, "partial", 7), 0);
	CHECK_EQ(fs_exists(path), 0);		/* invisible until commit */
	CHECK_EQ(fs_exists(t.path), 1);
	fs_tmp_abort(&t);
	CHECK_EQ(fs_exists(path), 0);
	CHECK_EQ(check_count_entries(dir), 0);
	fs_tmp_abort(&t);			/* twice is harmless */
	CHECK_EQ(check_count_entries(dir), 0);
}

static void
test_tmp_commit(void)
{
	const char	*dir = fresh("tc");
	char		 path[FS_PATH_MAX];
	struct fs_tmp	 t;
	struct buf	 b;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/final", dir), 0);
	CHECK_EQ(fs_write_atomic(path, "old", 3, 0644), 0);
	CHECK_EQ(fs_tmp_open(&t, path, 0600), 0);
	CHECK_EQ(fs_write_all(t.fd, "new contents", 12), 0);
	/* the old file stays whole until the commit */
	buf_init(&b, 64);
	CHECK_EQ(fs_read(&b, path), 0);
	CHECK(b.ptr != NULL && strcmp(b.ptr, "old") == 0);
	buf_release(&b);
	CHECK_EQ(fs_tmp_commit(&t), 0);
	buf_init(&b, 64);
	CHECK_EQ(fs_read(&b, path), 0);
	CHECK(b.ptr != NULL && strcmp(b.ptr, "new contents") == 0);
	buf_release(&b);
	CHECK_EQ(check_count_entries(dir), 1);
}

/* A commit that cannot rename (the final name is a non-empty directory)
 * fails, removes its temporary file, and abort after it is safe. */
static void
test_tmp_commit_fails(void)
{
	const char	*dir = fresh("tf");
	char		 path[FS_PATH_MAX], inner[FS_PATH_MAX];
	struct fs_tmp	 t;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/final", dir), 0);
	CHECK_EQ(fs_path(inner, sizeof(inner), "%s/final/x", dir), 0);
	CHECK_EQ(mkdir(path, 0755), 0);
	CHECK_EQ(fs_write_atomic(inner, "x", 1, 0644), 0);
	CHECK_EQ(fs_tmp_open(&t, path, 0644), 0);
	CHECK_EQ(fs_write_all(t.fd, "data", 4), 0);
	CHECK(fs_tmp_commit(&t) < 0);
	CHECK_EQ(check_count_entries(dir), 1);	/* only final/ */
	fs_tmp_abort(&t);
	CHECK_EQ(check_count_entries(dir), 1);
	CHECK(is_dir(path));
}

static void
test_tmp_open_bad_dir(void)
{
	struct fs_tmp	 t;

	CHECK_EQ(fs_tmp_open(&t, check_path("missing/dir/f"), 0644), -ENOENT);
}

static void
test_write_all(void)
{
	const char	*dir = fresh("wa");
	char		 path[FS_PATH_MAX];
	char		*data;
	struct stat	 st;
	size_t		 n = 3u << 20;
	int		 fd;

	data = malloc(n);
	CHECK(data != NULL);
	if (data == NULL)
		return;
	memset(data, 'w', n);
	CHECK_EQ(fs_path(path, sizeof(path), "%s/f", dir), 0);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	CHECK_EQ(fs_write_all(fd, data, n), 0);
	CHECK_EQ(fs_write_all(fd, data, 0), 0);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, n);
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	CHECK_EQ(fs_write_all(fd, "x", 1), -EBADF);
	close(fd);
	free(data);
}

static void
test_mkdir_p(void)
{
	const char	*dir = fresh("mk");
	char		 path[FS_PATH_MAX], sub[FS_PATH_MAX];
	struct stat	 st;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/a/b/c/d", dir), 0);
	CHECK_EQ(fs_mkdir_p(path, 0750), 0);
	CHECK(is_dir(path));
	CHECK_EQ(stat(path, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0750 & ~0022 & 0777);
	CHECK_EQ(fs_mkdir_p(path, 0755), 0);	/* existing is fine */
	CHECK_EQ(fs_path(sub, sizeof(sub), "%s/a/b", dir), 0);
	CHECK_EQ(fs_mkdir_p(sub, 0755), 0);	/* so is a parent */
	CHECK_EQ(fs_path(sub, sizeof(sub), "%s/a/b/e/", dir), 0);
	CHECK_EQ(fs_mkdir_p(sub, 0755), 0);	/* trailing slash */
	CHECK(is_dir(sub));
	CHECK_EQ(fs_path(sub, sizeof(sub), "%s/x//y", dir), 0);
	CHECK_EQ(fs_mkdir_p(sub, 0755), 0);	/* doubled slash */
	CHECK(is_dir(sub));
	CHECK_EQ(fs_mkdir_p(dir, 0755), 0);
}

/* A regular file in the way is an error, in the middle of the path. */
static void
test_mkdir_p_file_inside(void)
{
	const char	*dir = fresh("mf");
	char		 file[FS_PATH_MAX], path[FS_PATH_MAX];

	CHECK_EQ(fs_path(file, sizeof(file), "%s/file", dir), 0);
	CHECK_EQ(fs_write_atomic(file, "x", 1, 0644), 0);
	CHECK_EQ(fs_path(path, sizeof(path), "%s/file/sub", dir), 0);
	CHECK_EQ(fs_mkdir_p(path, 0755), -ENOTDIR);
}

/*
 * ... and at the end: mkdir -p fails with "File exists" there; "existing
 * directories are fine" says fs.h, not existing files. A caller such as
 * store_open would otherwise go on with objects/tmp being a file.
 */
static void
test_mkdir_p_file_at_end(void)
{
	const char	*dir = fresh("me");
	char		 file[FS_PATH_MAX];

	CHECK_EQ(fs_path(file, sizeof(file), "%s/file", dir), 0);
	CHECK_EQ(fs_write_atomic(file, "x", 1, 0644), 0);
	CHECK(fs_mkdir_p(file, 0755) < 0);
}

/* The directory that will hold a file, not the file itself. */
static void
test_mkdir_parent(void)
{
	const char	*dir = fresh("mp");
	char		 path[FS_PATH_MAX], sub[FS_PATH_MAX];

	CHECK_EQ(fs_path(path, sizeof(path), "%s/a/b/file", dir), 0);
	CHECK_EQ(fs_mkdir_parent(path, 0755), 0);
	CHECK_EQ(fs_path(sub, sizeof(sub), "%s/a/b", dir), 0);
	CHECK(is_dir(sub));
	CHECK_EQ(fs_exists(path), 0);
	CHECK_EQ(fs_mkdir_parent(path, 0755), 0);	/* existing is fine */
	CHECK_EQ(fs_write_atomic(path, "x", 1, 0644), 0);
	CHECK_EQ(fs_path(path, sizeof(path), "%s/a/b/file/x", dir), 0);
	CHECK_EQ(fs_mkdir_parent(path, 0755), -ENOTDIR);
}

static void
test_symlink_atomic(void)
{
	const char	*dir = fresh("sl");
	char		 link[FS_PATH_MAX], got[FS_PATH_MAX], file[FS_PATH_MAX];
	ssize_t		 n;

	CHECK_EQ(fs_path(link, sizeof(link), "%s/current", dir), 0);
	CHECK_EQ(fs_symlink_atomic("target-1", link), 0);
	n = readlink(link, got, sizeof(got) - 1);
	CHECK_EQ(n, 8);
	got[n < 0 ? 0 : n] = '\0';
	CHECK(strcmp(got, "target-1") == 0);

	CHECK_EQ(fs_symlink_atomic("target-2/deeper", link), 0);
	n = readlink(link, got, sizeof(got) - 1);
	got[n < 0 ? 0 : n] = '\0';
	CHECK(strcmp(got, "target-2/deeper") == 0);
	CHECK_EQ(check_count_entries(dir), 1);	/* no temporary link left */
	CHECK_EQ(fs_exists(link), 1);		/* dangling still exists */

	/* replaces a regular file too */
	CHECK_EQ(fs_path(file, sizeof(file), "%s/plain", dir), 0);
	CHECK_EQ(fs_write_atomic(file, "x", 1, 0644), 0);
	CHECK_EQ(fs_symlink_atomic("current", file), 0);
	n = readlink(file, got, sizeof(got) - 1);
	got[n < 0 ? 0 : n] = '\0';
	CHECK(strcmp(got, "current") == 0);
	CHECK_EQ(check_count_entries(dir), 2);
}

static void
test_symlink_bad_dir(void)
{
	CHECK_EQ(fs_symlink_atomic("t", check_path("missing/dir/link")),
	    -ENOENT);
}

static void
test_lock(void)
{
	const char	*dir = fresh("lk");
	char		 path[FS_PATH_MAX];
	int		 fd, fd2, fd3;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/lock", dir), 0);
	CHECK_EQ(fs_exists(path), 0);
	fd = fs_lock(path);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(has_cloexec(fd));
	CHECK_EQ(fs_exists(path), 1);		/* created */

	/* a second open file description cannot take it */
	fd2 = open(path, O_RDWR | O_CLOEXEC);
	CHECK(fd2 >= 0);
	errno = 0;
	CHECK_EQ(flock(fd2, LOCK_EX | LOCK_NB), -1);
	CHECK_EQ(errno, EWOULDBLOCK);
	CHECK_EQ(flock(fd2, LOCK_SH | LOCK_NB), -1);

	/* closing the descriptor releases it */
	close(fd);
	CHECK_EQ(flock(fd2, LOCK_EX | LOCK_NB), 0);
	close(fd2);

	/* and fs_lock takes it again, on the existing file */
	fd3 = fs_lock(path);
	CHECK(fd3 >= 0);
	if (fd3 >= 0)
		close(fd3);
}

static void
test_lock_bad_dir(void)
{
	CHECK_EQ(fs_lock(check_path("missing/dir/lock")), -ENOENT);
	CHECK_EQ(fs_trylock(check_path("missing/dir/lock")), -ENOENT);
}

/* fs_trylock: -EAGAIN while another open file description holds it. */
static void
test_trylock(void)
{
	const char	*dir = fresh("tl");
	char		 path[FS_PATH_MAX];
	int		 fd, fd2;

	CHECK_EQ(fs_path(path, sizeof(path), "%s/lock", dir), 0);
	fd = fs_trylock(path);		/* free: taken, the file created */
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	CHECK(has_cloexec(fd));
	CHECK_EQ(fs_exists(path), 1);
	CHECK_EQ(fs_trylock(path), -EAGAIN);	/* held: no waiting */
	close(fd);
	fd = fs_lock(path);
	CHECK(fd >= 0);
	CHECK_EQ(fs_trylock(path), -EAGAIN);	/* held by fs_lock too */
	if (fd >= 0)
		close(fd);
	fd2 = fs_trylock(path);		/* released by the close */
	CHECK(fd2 >= 0);
	if (fd2 >= 0)
		close(fd2);
}

static void
test_path(void)
{
	char	 p[8];

	CHECK_EQ(fs_path(p, sizeof(p), "%s", "1234567"), 0);
	CHECK(strcmp(p, "1234567") == 0);
	CHECK_EQ(fs_path(p, sizeof(p), "%s", "12345678"), -ENAMETOOLONG);
	CHECK_EQ(fs_path(p, sizeof(p), "%s/%d", "abc", 1234), -ENAMETOOLONG);
	CHECK_EQ(fs_path(p, sizeof(p), "%s/%d", "abc", 123), 0);
	CHECK(strcmp(p, "abc/123") == 0);
	CHECK_EQ(fs_path(p, sizeof(p), "%s", ""), 0);
	CHECK(strcmp(p, "") == 0);
	CHECK_EQ(fs_path(p, 1, "%s", "a"), -ENAMETOOLONG);
	CHECK_EQ(fs_path(p, 0, "%s", ""), -ENAMETOOLONG);
}

/* Names that do not fit FS_PATH_MAX are refused everywhere. */
static void
test_path_too_long(void)
{
	char		 lng[FS_PATH_MAX + 16];
	struct fs_tmp	 t;
	struct buf	 b;

	memset(lng, 'a', sizeof(lng) - 1);
	lng[0] = '/';
	lng[sizeof(lng) - 1] = '\0';
	CHECK_EQ(fs_tmp_open(&t, lng, 0644), -ENAMETOOLONG);
	CHECK_EQ(fs_write_atomic(lng, "x", 1, 0644), -ENAMETOOLONG);
	CHECK_EQ(fs_mkdir_p(lng, 0755), -ENAMETOOLONG);
	CHECK_EQ(fs_symlink_atomic("t", lng), -ENAMETOOLONG);
	buf_init(&b, 16);
	CHECK(fs_read(&b, lng) < 0);
	buf_release(&b);

	/* the name fits, the temporary one beside it does not */
	lng[FS_PATH_MAX - 5] = '\0';
	CHECK_EQ(fs_tmp_open(&t, lng, 0644), -ENAMETOOLONG);
}

static void
test_exists_fsync(void)
{
	const char	*dir = fresh("ex");
	char		 path[FS_PATH_MAX];

	CHECK_EQ(fs_exists(dir), 1);
	CHECK_EQ(fs_path(path, sizeof(path), "%s/f", dir), 0);
	CHECK_EQ(fs_exists(path), 0);
	CHECK_EQ(fs_write_atomic(path, "x", 1, 0644), 0);
	CHECK_EQ(fs_exists(path), 1);
	CHECK_EQ(fs_fsync_dir(dir), 0);
	CHECK_EQ(fs_fsync_parent(path), 0);
	CHECK_EQ(fs_fsync_dir(check_path("missing")), -ENOENT);
	CHECK_EQ(fs_fsync_dir(path), -ENOTDIR);
	CHECK_EQ(fs_fsync_path(path), 0);	/* a file */
	CHECK_EQ(fs_fsync_path(dir), 0);	/* or a directory */
	CHECK_EQ(fs_fsync_path(check_path("missing")), -ENOENT);
	CHECK_EQ(fs_path(path, sizeof(path), "%s/f/g", dir), 0);
	CHECK_EQ(fs_exists(path), -ENOTDIR);
}

int
main(void)
{
	umask(022);
	if (check_tmpdir_init("test_fs") < 0)
		return 1;
	RUN(test_write_read);
	RUN(test_write_empty);
	RUN(test_write_read_large);
	RUN(test_read_appends);
	RUN(test_read_cap);
	RUN(test_read_cap_large);
	RUN(test_read_missing);
	RUN(test_write_atomic_bad_dir);
	RUN(test_tmp_abort);
	RUN(test_tmp_commit);
	RUN(test_tmp_commit_fails);
	RUN(test_tmp_open_bad_dir);
	RUN(test_write_all);
	RUN(test_mkdir_p);
	RUN(test_mkdir_p_file_inside);
	RUN(test_mkdir_p_file_at_end);
	RUN(test_mkdir_parent);
	RUN(test_symlink_atomic);
	RUN(test_symlink_bad_dir);
	RUN(test_lock);
	RUN(test_lock_bad_dir);
	RUN(test_trylock);
	RUN(test_path);
	RUN(test_path_too_long);
	RUN(test_exists_fsync);
	check_rm_rf(check_tmpdir);
	return check_end();
}
