#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "banned.h"

int
fs_path(char *dst, size_t size, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -ENAMETOOLONG;
	return 0;
}

static int
fs_dirname(const char *path, char *dir, size_t size)
{
	char	 tmp[FS_PATH_MAX];
	int	 r;

	r = fs_path(tmp, sizeof(tmp), "%s", path);
	if (r < 0)
		return r;
	return fs_path(dir, size, "%s", dirname(tmp));
}

static int
fs_fsync_open(const char *path, int flags)
{
	int	 fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | flags);
	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int
fs_fsync_path(const char *path)
{
	return fs_fsync_open(path, 0);
}

int
fs_fsync_dir(const char *dir)
{
	return fs_fsync_open(dir, O_DIRECTORY);
}

int
fs_fsync_parent(const char *path)
{
	char	 dir[FS_PATH_MAX];
	int	 r;

	r = fs_dirname(path, dir, sizeof(dir));
	if (r < 0)
		return r;
	return fs_fsync_dir(dir);
}

int
fs_mkdir_parent(const char *path, mode_t mode)
{
	char	 dir[FS_PATH_MAX];
	int	 r;

	r = fs_dirname(path, dir, sizeof(dir));
	if (r < 0)
		return r;
	return fs_mkdir_p(dir, mode);
}

int
fs_tmp_open(struct fs_tmp *t, const char *final, mode_t mode)
{
	int	 r;

	t->fd = -1;
	r = fs_path(t->final, sizeof(t->final), "%s", final);
	if (r < 0)
		return r;
	r = fs_path(t->path, sizeof(t->path), "%s.tmp.XXXXXX", final);
	if (r < 0)
		return r;
	t->fd = mkostemp(t->path, O_CLOEXEC);
	if (t->fd < 0)
		return -errno;
	if (fchmod(t->fd, mode) < 0) {
		r = -errno;
		fs_tmp_abort(t);
		return r;
	}
	return 0;
}

int
fs_tmp_commit(struct fs_tmp *t)
{
	int	 r = 0;

	if (fsync(t->fd) < 0)
		r = -errno;
	if (r == 0 && close(t->fd) < 0)
		r = -errno;
	else if (r < 0)
		close(t->fd);
	t->fd = -1;
	if (r == 0 && rename(t->path, t->final) < 0)
		r = -errno;
	if (r < 0) {
		unlink(t->path);
		return r;
	}
	return fs_fsync_parent(t->final);
}

void
fs_tmp_abort(struct fs_tmp *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	unlink(t->path);
}

int
fs_write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
fs_write_atomic(const char *path, const void *p, size_t n, mode_t mode)
{
	struct fs_tmp	 t;
	int		 r;

	r = fs_tmp_open(&t, path, mode);
	if (r < 0)
		return r;
	r = fs_write_all(t.fd, p, n);
	if (r < 0) {
		fs_tmp_abort(&t);
		return r;
	}
	return fs_tmp_commit(&t);
}

int
fs_read(struct buf *b, const char *path)
{
	char	 chunk[65536];
	ssize_t	 n;
	int	 fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		r = buf_append(b, chunk, (size_t)n);
		if (r < 0)
			break;
	}
	close(fd);
	return r;
}

int
fs_mkdir_p(const char *path, mode_t mode)
{
	struct stat	 st;
	char		 tmp[FS_PATH_MAX];
	char		*p;
	int		 r;

	r = fs_path(tmp, sizeof(tmp), "%s", path);
	if (r < 0)
		return r;
	if (tmp[0] == '\0')
		return -EINVAL;
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0) {
		if (errno != EEXIST)
			return -errno;
		if (stat(tmp, &st) < 0)
			return -errno;
		if (!S_ISDIR(st.st_mode))
			return -ENOTDIR;
	}
	return 0;
}

int
fs_symlink_atomic(const char *target, const char *link)
{
	char	 tmp[FS_PATH_MAX];
	int	 r;

	r = fs_path(tmp, sizeof(tmp), "%s.tmp.%ld", link, (long)getpid());
	if (r < 0)
		return r;
	unlink(tmp);
	if (symlink(target, tmp) < 0)
		return -errno;
	if (rename(tmp, link) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	return fs_fsync_parent(link);
}

int
fs_lock(const char *path)
{
	int	 fd;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
	}
	return fd;
}

int
fs_trylock(const char *path)
{
	int	 fd, r;

	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno != EINTR) {
			r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
			close(fd);
			return r;
		}
	}
	return fd;
}

int
fs_exists(const char *path)
{
	struct stat	 st;

	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : -errno;
}
