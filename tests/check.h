/*
 * check: the unit-test harness. Each test is a function; CHECK records a
 * failure and goes on. Output is one line per test, "ok NAME" or
 * "not ok NAME", which tests/run counts; the exit status is non-zero when
 * any test failed.
 */
#ifndef CHECK_H
#define CHECK_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int	check_failed_now;
static int	check_passed;
static int	check_failed;

#define CHECK(expr) do {						\
	if (!(expr)) {							\
		fprintf(stderr, "%s:%d: check failed: %s\n",		\
		    __FILE__, __LINE__, #expr);				\
		check_failed_now = 1;					\
	}								\
} while (0)

/* Integers compared, both values printed on failure. */
#define CHECK_EQ(a, b) do {						\
	long long check_a = (long long)(a), check_b = (long long)(b);	\
	if (check_a != check_b) {					\
		fprintf(stderr, "%s:%d: check failed: %s == %s "	\
		    "(%lld != %lld)\n", __FILE__, __LINE__, #a, #b,	\
		    check_a, check_b);					\
		check_failed_now = 1;					\
	}								\
} while (0)

static void
check_run(const char *name, void (*fn)(void))
{
	check_failed_now = 0;
	fn();
	if (check_failed_now) {
		check_failed++;
		printf("not ok %s\n", name);
	} else {
		check_passed++;
		printf("ok %s\n", name);
	}
	fflush(stdout);
}

#define RUN(fn)	check_run(#fn, fn)

static int
check_end(void)
{
	return check_failed == 0 ? 0 : 1;
}

/*
 * Files. A test binary that needs files gets one temporary directory,
 * made by check_tmpdir_init in main and removed by
 * check_rm_rf(check_tmpdir) before it returns, so that runs neither see
 * each other's files nor leave any in /tmp. The helpers are static
 * inline: a test that uses none of them gets no unused-function warning.
 */

#define CHECK_PATH_MAX	4096

static char	check_tmpdir[64];

/* Makes /tmp/PROG.XXXXXX in check_tmpdir; -1 (and a message) on error. */
static inline int
check_tmpdir_init(const char *prog)
{
	int	 n;

	n = snprintf(check_tmpdir, sizeof(check_tmpdir), "/tmp/%s.XXXXXX",
	    prog);
	if (n < 0 || (size_t)n >= sizeof(check_tmpdir)) {
		fprintf(stderr, "%s: name too long for a temporary "
		    "directory\n", prog);
		return -1;
	}
	if (mkdtemp(check_tmpdir) == NULL) {
		perror("mkdtemp");
		return -1;
	}
	return 0;
}

/*
 * A path inside check_tmpdir. Four buffers in turn, so that one call
 * may take a few paths as arguments; each stays valid for the next three
 * calls. Aborts rather than test a truncated path.
 */
static inline const char *
check_path(const char *name)
{
	static char	 paths[4][CHECK_PATH_MAX];
	static int	 i;
	int		 n;

	i = (i + 1) % 4;
	n = snprintf(paths[i], sizeof(paths[i]), "%s/%s", check_tmpdir, name);
	if (n < 0 || (size_t)n >= sizeof(paths[i])) {
		fprintf(stderr, "path too long: %s/%s\n", check_tmpdir, name);
		abort();
	}
	return paths[i];
}

static inline int
check_rm_entry(const char *path, const struct stat *st, int type,
    struct FTW *f)
{
	(void)st;
	(void)type;
	(void)f;
	return remove(path);
}

/*
 * rm -rf path: 0 when it is gone (or was not there). Depth first and
 * without following symbolic links, so that nothing outside is touched.
 */
static inline int
check_rm_rf(const char *path)
{
	if (nftw(path, check_rm_entry, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
	    errno != ENOENT) {
		fprintf(stderr, "cannot remove '%s': %s\n", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* The number of entries of dir (without . and ..), or -1. */
static inline int
check_count_entries(const char *dir)
{
	struct dirent	*e;
	DIR		*d;
	int		 n = 0;

	d = opendir(dir);
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/*
 * Creates or truncates path and writes the n bytes at p: 0 or -errno.
 * Plain writes, not the code under test (fs), to set up its input.
 */
static inline int
check_write_file(const char *path, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;
	int		 fd, r = 0;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	while (n > 0) {
		w = write(fd, c, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			r = w < 0 ? -errno : -EIO;
			break;
		}
		c += w;
		n -= (size_t)w;
	}
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

#endif
