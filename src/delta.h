/*
 * delta: incremental updates as plain zstd frames compressed with the old
 * version as prefix ("patch-from"), long-distance matching on and the
 * window sized to cover the larger file, so that stock
 * `zstd -d --long=31 --patch-from=OLD DELTA -o NEW` reproduces NEW.
 * The only module that includes libzstd.
 *
 * Memory: create and apply map the old file; apply writes into the mapped
 * output file, so it needs old + new + a small constant.
 */
#ifndef DELTA_H
#define DELTA_H

#include <stdint.h>

#define DELTA_LEVEL_DEFAULT	3
#define DELTA_LEVEL_SMALL	19	/* for files up to DELTA_SMALL_MAX */
#define DELTA_SMALL_MAX		(8u << 20)
#define DELTA_FILE_MAX		(1ull << 31)	/* zstd's largest window */

/* Compression level for a pair by the size of the larger file: high
 * levels only pay on small files (level 19 took minutes on large ones). */
int	 delta_level_for(uint64_t size);

/* Writes a delta turning old into new to out_fd (at its current offset);
 * *ret_size gets its size. level 0 means delta_level_for(the larger size).
 * 0, -E2BIG (a file over DELTA_FILE_MAX), -ENOMEM, -errno. */
int	 delta_create(int old_fd, int new_fd, int out_fd, int level,
	    uint64_t *ret_size);
/* Size of new_fd compressed on its own at `level` (data streamed, output
 * discarded): the yardstick a delta is judged against. */
int	 delta_compressed_size(int new_fd, int level, uint64_t *ret_size);
/* Applies the delta read from delta_fd to old_fd, writing exactly
 * expect_size bytes to out_fd (a regular file, truncated to the size).
 * The frame's declared content size is checked against expect_size before
 * anything is allocated. 0, -EBADMSG (not a zstd frame, corrupt, or old
 * not the base it was made from), -E2BIG (content size differs from
 * expect_size or over DELTA_FILE_MAX), -ENOMEM, -errno. */
int	 delta_apply(int old_fd, int delta_fd, int out_fd, uint64_t expect_size);
/* The content size declared in the frame header at the start of delta_fd
 * (read with pread), for callers that have no size of their own.
 * 0, -EBADMSG (not a zstd frame with a checksum and a declared size),
 * -errno. */
int	 delta_content_size(int delta_fd, uint64_t *ret_size);

#endif
