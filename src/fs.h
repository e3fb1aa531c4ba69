/*
 * fs: files written durably and read with a cap.
 * A durable write goes to a temporary file in the destination's directory,
 * is fsync'ed, renamed over the destination, and the directory fsync'ed:
 * a crash leaves either the old file or the new one, never half of one.
 * Every descriptor is opened O_CLOEXEC.
 */
#ifndef FS_H
#define FS_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"

#define FS_PATH_MAX	4096

/* A file being written; invisible under its final name until committed. */
struct fs_tmp {
	int	 fd;
	char	 path[FS_PATH_MAX];	/* temporary name */
	char	 final[FS_PATH_MAX];
};

/* Opens a temporary file beside `final` with `mode`. 0 or -errno. */
int	 fs_tmp_open(struct fs_tmp *t, const char *final, mode_t mode);
/* fsync, rename to final, fsync the directory, close. 0 or -errno; on
 * error the temporary file is removed. */
int	 fs_tmp_commit(struct fs_tmp *t);
/* Closes and removes the temporary file; safe after a failed commit. */
void	 fs_tmp_abort(struct fs_tmp *t);

/* Writes all n bytes, retrying short writes. 0 or -errno. */
int	 fs_write_all(int fd, const void *p, size_t n);
/* Durable replace of `path` with the n bytes at p. 0 or -errno. */
int	 fs_write_atomic(const char *path, const void *p, size_t n,
	    mode_t mode);
/* Reads the whole file into b (appending); -E2BIG past b->max. */
int	 fs_read(struct buf *b, const char *path);
/* Like mkdir -p; existing directories are fine. 0 or -errno. */
int	 fs_mkdir_p(const char *path, mode_t mode);
/* The same for the directory that holds path. 0 or -errno. */
int	 fs_mkdir_parent(const char *path, mode_t mode);
/* fsync'es the file or directory at path. 0 or -errno. */
int	 fs_fsync_path(const char *path);
/* The same for a directory only (-ENOTDIR otherwise). */
int	 fs_fsync_dir(const char *dir);
/* fsync'es the directory that holds path. */
int	 fs_fsync_parent(const char *path);
/* Replaces (or creates) the symbolic link `link` to point at `target`,
 * atomically and durably. 0 or -errno. */
int	 fs_symlink_atomic(const char *target, const char *link);
/* Takes an exclusive lock on `path` (created if missing), waiting for it.
 * Returns the descriptor that holds it (close to release) or -errno. */
int	 fs_lock(const char *path);
/* The same without waiting: -EAGAIN when another holds it. */
int	 fs_trylock(const char *path);
/* snprintf into a path buffer; -ENAMETOOLONG when it does not fit. */
int	 fs_path(char *dst, size_t size, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* 1 if path exists, 0 if not, -errno on other errors. */
int	 fs_exists(const char *path);

#endif
