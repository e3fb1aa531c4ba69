#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store.h"
#include "banned.h"

int
store_open(struct store *s, const char *datadir, int create)
{
	char	 tmp[FS_PATH_MAX];
	int	 r;

	r = fs_path(s->root, sizeof(s->root), "%s/objects", datadir);
	if (r < 0)
		return r;
	r = fs_path(tmp, sizeof(tmp), "%s/tmp", s->root);
	if (r < 0)
		return r;
	if (create)
		return fs_mkdir_p(tmp, 0755);
	return fs_exists(tmp) == 1 ? 0 : -ENOENT;
}

int
store_path(const struct store *s, const char *hex, char *dst, size_t size)
{
	if (!crypto_is_sha256_hex(hex, strlen(hex)))
		return -EINVAL;
	return fs_path(dst, size, "%s/%.2s/%s", s->root, hex, hex);
}

int
store_tmpfile(const struct store *s)
{
	char	 dir[FS_PATH_MAX];
	int	 fd, r;

	r = fs_path(dir, sizeof(dir), "%s/tmp", s->root);
	if (r < 0)
		return r;
	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
	return fd < 0 ? -errno : fd;
}

int
store_has(const struct store *s, const char *hex, uint64_t *ret_size)
{
	char		 path[FS_PATH_MAX];
	struct stat	 st;
	int		 r;

	r = store_path(s, hex, path, sizeof(path));
	if (r < 0)
		return r;
	if (stat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (ret_size != NULL)
		*ret_size = (uint64_t)st.st_size;
	return 1;
}

int
store_open_object(const struct store *s, const char *hex)
{
	char	 path[FS_PATH_MAX];
	int	 fd, r;

	r = store_path(s, hex, path, sizeof(path));
	if (r < 0)
		return r;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* Streams fd into t while hashing. */
static int
store_copy(int fd, int out, unsigned char md[CRYPTO_SHA256_LEN],
    uint64_t *ret_size)
{
	static const size_t	 chunk = 1u << 20;
	struct crypto_sha256	 h;
	char			*b;
	uint64_t		 total = 0;
	ssize_t			 n;
	int			 r;

	b = malloc(chunk);
	if (b == NULL)
		return -ENOMEM;
	r = crypto_sha256_init(&h);
	if (r < 0)
		goto out;
	for (;;) {
		n = read(fd, b, chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		r = crypto_sha256_update(&h, b, (size_t)n);
		if (r == 0)
			r = fs_write_all(out, b, (size_t)n);
		if (r < 0)
			break;
		total += (uint64_t)n;
	}
	if (r == 0)
		r = crypto_sha256_final(&h, md);
	crypto_sha256_release(&h);
	if (r == 0)
		*ret_size = total;
out:
	free(b);
	return r;
}

int
store_put_fd(const struct store *s, int fd, const char *expect_hex,
    char ret_hex[CRYPTO_SHA256_HEX], uint64_t *ret_size, int *ret_existed)
{
	unsigned char	 md[CRYPTO_SHA256_LEN];
	char		 hex[CRYPTO_SHA256_HEX], path[FS_PATH_MAX];
	char		 dir[FS_PATH_MAX];
	struct fs_tmp	 t;
	uint64_t	 size = 0;
	int		 r, existed = 0;

	r = fs_path(path, sizeof(path), "%s/tmp/object", s->root);
	if (r < 0)
		return r;
	r = fs_tmp_open(&t, path, 0644);
	if (r < 0)
		return r;
	r = store_copy(fd, t.fd, md, &size);
	if (r < 0)
		goto fail;
	crypto_hex(md, sizeof(md), hex);
	if (expect_hex != NULL && strcmp(hex, expect_hex) != 0) {
		r = -EPERM;
		goto fail;
	}
	r = store_path(s, hex, path, sizeof(path));
	if (r < 0)
		goto fail;
	if (fs_exists(path) == 1) {
		existed = 1;
		fs_tmp_abort(&t);
	} else {
		r = fs_path(dir, sizeof(dir), "%s/%.2s", s->root, hex);
		if (r == 0 && mkdir(dir, 0755) < 0 && errno != EEXIST)
			r = -errno;
		if (r == 0)
			r = fs_path(t.final, sizeof(t.final), "%s", path);
		if (r < 0)
			goto fail;
		r = fs_tmp_commit(&t);
		if (r < 0)
			return r;
		/* the new directory entry of ab/ in objects/ */
		r = fs_fsync_dir(s->root);
		if (r < 0)
			return r;
	}
	if (ret_hex != NULL)
		memcpy(ret_hex, hex, sizeof(hex));
	if (ret_size != NULL)
		*ret_size = size;
	if (ret_existed != NULL)
		*ret_existed = existed;
	return 0;
fail:
	fs_tmp_abort(&t);
	return r;
}

int
store_adopt(const struct store *s, int fd, const char *path,
    const char *expect_hex, char ret_hex[CRYPTO_SHA256_HEX],
    uint64_t *ret_size)
{
	unsigned char	 md[CRYPTO_SHA256_LEN];
	char		 hex[CRYPTO_SHA256_HEX], final[FS_PATH_MAX];
	char		 dir[FS_PATH_MAX], proc[64];
	uint64_t	 size;
	int		 r;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return -errno;
	r = crypto_sha256_fd(fd, md, &size);
	if (r < 0)
		return r;
	crypto_hex(md, sizeof(md), hex);
	if (expect_hex != NULL && strcmp(hex, expect_hex) != 0)
		return -EPERM;
	if (fsync(fd) < 0)
		return -errno;
	r = store_path(s, hex, final, sizeof(final));
	if (r == 0)
		r = fs_path(dir, sizeof(dir), "%s/%.2s", s->root, hex);
	if (r < 0)
		return r;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	if (path != NULL && fs_exists(final) == 1)
		r = unlink(path) < 0 ? -errno : 0;	/* never rewritten */
	else if (path != NULL)
		r = rename(path, final) < 0 ? -errno : 0;
	else {
		/* an unnamed O_TMPFILE file gets its name by a link */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		r = linkat(AT_FDCWD, proc, AT_FDCWD, final,
		    AT_SYMLINK_FOLLOW) < 0 ? -errno : 0;
		if (r == -EEXIST)
			r = 0;		/* already stored: the same bytes */
	}
	if (r == 0)
		r = fs_fsync_dir(dir);
	if (r == 0)
		r = fs_fsync_dir(s->root);
	if (r < 0)
		return r;
	if (ret_hex != NULL)
		memcpy(ret_hex, hex, sizeof(hex));
	if (ret_size != NULL)
		*ret_size = size;
	return 0;
}

int
store_put_file(const struct store *s, const char *path,
    char ret_hex[CRYPTO_SHA256_HEX], uint64_t *ret_size, int *ret_existed)
{
	int	 fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = store_put_fd(s, fd, NULL, ret_hex, ret_size, ret_existed);
	close(fd);
	return r;
}

int
store_check(const struct store *s, const char *hex)
{
	unsigned char	 md[CRYPTO_SHA256_LEN];
	char		 got[CRYPTO_SHA256_HEX];
	uint64_t	 size;
	int		 fd, r;

	fd = store_open_object(s, hex);
	if (fd < 0)
		return fd;
	r = crypto_sha256_fd(fd, md, &size);
	close(fd);
	if (r < 0)
		return r;
	crypto_hex(md, sizeof(md), got);
	return strcmp(got, hex) == 0 ? 0 : -EPERM;
}

int
store_remove(const struct store *s, const char *hex)
{
	char	 path[FS_PATH_MAX];
	int	 r;

	r = store_path(s, hex, path, sizeof(path));
	if (r < 0)
		return r;
	if (unlink(path) < 0)
		return errno == ENOENT ? 0 : -errno;
	return 0;
}

int
store_foreach(const struct store *s,
    int (*fn)(const char *name, int bad, void *arg), void *arg)
{
	char		 sub[FS_PATH_MAX];
	DIR		*top, *d;
	struct dirent	*e, *f;
	int		 r = 0;

	top = opendir(s->root);
	if (top == NULL)
		return -errno;
	while (r == 0 && (e = readdir(top)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "tmp") == 0)
			continue;
		if (fs_path(sub, sizeof(sub), "%s/%s", s->root, e->d_name) < 0)
			continue;
		d = opendir(sub);
		if (d == NULL) {
			r = fn(e->d_name, 1, arg);
			continue;
		}
		/* objects/ab/ holds only objects whose names start with ab */
		while (r == 0 && (f = readdir(d)) != NULL) {
			int bad;

			if (strcmp(f->d_name, ".") == 0 ||
			    strcmp(f->d_name, "..") == 0)
				continue;
			bad = !crypto_is_sha256_hex(f->d_name,
			    strlen(f->d_name)) ||
			    strncmp(f->d_name, e->d_name, 2) != 0 ||
			    strlen(e->d_name) != 2;
			r = fn(f->d_name, bad, arg);
		}
		closedir(d);
	}
	closedir(top);
	return r;
}

int
store_clean_tmp(const struct store *s, int64_t max_age, unsigned *ret_removed)
{
	char		 dir[FS_PATH_MAX], path[FS_PATH_MAX];
	struct dirent	*e;
	struct stat	 st;
	time_t		 now = time(NULL);
	unsigned	 n = 0;
	DIR		*d;
	int		 r;

	r = fs_path(dir, sizeof(dir), "%s/tmp", s->root);
	if (r < 0)
		return r;
	d = opendir(dir);
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' ||
		    fs_path(path, sizeof(path), "%s/%s", dir, e->d_name) < 0 ||
		    lstat(path, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (int64_t)(now - st.st_mtime) <= max_age)
			continue;
		if (unlink(path) == 0)
			n++;
	}
	closedir(d);
	*ret_removed = n;
	return 0;
}
