/*
 * fuzz_delta: arbitrary bytes as a delta, applied to a small fixed old
 * file. The expected size is the one the frame declares (when it is
 * small) or the old file's size, so both the early size check and the
 * decoder are reached. Any result but success, -EBADMSG or -E2BIG is a
 * bug, and so is a success that leaves an output of the wrong size.
 *
 * The corpus in fuzz/corpus/delta holds deltas against fuzz_delta_old().
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "delta.h"
#include "fs.h"
#include "banned.h"

#define FUZZ_OUT_MAX	(1u << 20)	/* larger declared sizes are not tried */

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int	 fuzz_delta_old(struct buf *b);

/* The old version: a few lines of a signature database. */
int
fuzz_delta_old(struct buf *b)
{
	unsigned int	 i;
	int		 r;

	for (i = 0; i < 48; i++) {
		r = buf_printf(b, "%08x%08x%08x%08x:%u:Win.Trojan.Agent-%u-0:73\n",
		    i * 2654435761u, i * 40503u + 7u, ~i * 2246822519u,
		    i ^ 0x5bd1e995u, 1000u + i * 37u, 900000u + i);
		if (r < 0)
			return r;
	}
	return 0;
}

static int
fuzz_memfd(const char *name, const void *p, size_t n)
{
	int	 fd;

	fd = memfd_create(name, MFD_CLOEXEC);
	if (fd < 0)
		abort();
	if (fs_write_all(fd, p, n) < 0)
		abort();
	return fd;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int	 old_fd = -1;
	static uint64_t	 old_len;
	struct stat	 st;
	uint64_t	 expect;
	int		 dfd, xfd, r;

	if (old_fd < 0) {
		struct buf	 b;

		buf_init(&b, 1u << 20);
		if (fuzz_delta_old(&b) < 0)
			abort();
		old_fd = fuzz_memfd("old", b.ptr, b.len);
		old_len = b.len;
		buf_release(&b);
	}

	dfd = fuzz_memfd("delta", data, size);
	xfd = fuzz_memfd("out", NULL, 0);
	if (delta_content_size(dfd, &expect) < 0 || expect > FUZZ_OUT_MAX)
		expect = old_len;
	r = delta_apply(old_fd, dfd, xfd, expect);
	if (r == 0) {
		if (fstat(xfd, &st) < 0 || (uint64_t)st.st_size != expect)
			abort();
	} else if (r != -EBADMSG && r != -E2BIG) {
		fprintf(stderr, "delta_apply: unexpected %d\n", r);
		abort();
	}
	close(dfd);
	close(xfd);
	return 0;
}
