/*
 * delta: patch-from zstd frames; see delta.h.
 *
 * Both directions map the old file read-only and hand it to libzstd as a
 * prefix. Create also maps the new file and compresses it with a stable
 * input buffer, so zstd keeps no copy of it; apply maps the output file
 * and decompresses into it with a stable output buffer, so zstd keeps no
 * window of its own: peak memory is old + new + the contexts.
 *
 * The two "stable buffer" parameters are libzstd experimental API (hence
 * ZSTD_STATIC_LINKING_ONLY); libzstd checks their preconditions and
 * fails cleanly when they are not met.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>
#include <zstd_errors.h>

#include "delta.h"
#include "fs.h"
#include "banned.h"

#define DELTA_HEADER_MAX	18	/* ZSTD_FRAMEHEADERSIZE_MAX */
#define DELTA_FHD_CHECKSUM	0x04	/* frame header descriptor bit */

/* A read-only or writable mapping of a whole file; ptr is NULL when the
 * file is empty (mmap of 0 bytes fails). */
struct delta_map {
	void	*ptr;
	size_t	 len;
};

static const unsigned char	 delta_empty[1];

int
delta_level_for(uint64_t new_size)
{
	return new_size <= DELTA_SMALL_MAX ? DELTA_LEVEL_SMALL :
	    DELTA_LEVEL_DEFAULT;
}

/* libzstd error codes stop here. */
static int
delta_zerr(size_t ret)
{
	switch (ZSTD_getErrorCode(ret)) {
	case ZSTD_error_memory_allocation:
	case ZSTD_error_workSpace_tooSmall:
		return -ENOMEM;
	case ZSTD_error_frameParameter_windowTooLarge:
		return -E2BIG;
	case ZSTD_error_parameter_unsupported:
	case ZSTD_error_parameter_outOfBound:
		return -EINVAL;
	default:
		return -EBADMSG;
	}
}

static int
delta_size(int fd, uint64_t *ret_size)
{
	struct stat	 st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	if (st.st_size < 0)
		return -EINVAL;
	if ((uint64_t)st.st_size > DELTA_FILE_MAX ||
	    (uint64_t)st.st_size > SIZE_MAX)
		return -E2BIG;
	*ret_size = (uint64_t)st.st_size;
	return 0;
}

static int
delta_map_ro(int fd, struct delta_map *m)
{
	uint64_t	 size;
	void		*p;
	int		 r;

	m->ptr = NULL;
	m->len = 0;
	r = delta_size(fd, &size);
	if (r < 0)
		return r;
	if (size == 0)
		return 0;
	p = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	m->ptr = p;
	m->len = (size_t)size;
	return 0;
}

static void
delta_unmap(struct delta_map *m)
{
	if (m->ptr != NULL)
		munmap(m->ptr, m->len);
	m->ptr = NULL;
	m->len = 0;
}

/* ceil(log2(n)), clamped to what zstd accepts. */
static int
delta_window_log(uint64_t n)
{
	int	 lg = 0;

	while (lg < 63 && ((uint64_t)1 << lg) < n)
		lg++;
	if (lg < ZSTD_WINDOWLOG_MIN)
		lg = ZSTD_WINDOWLOG_MIN;
	if (lg > ZSTD_WINDOWLOG_MAX)
		lg = ZSTD_WINDOWLOG_MAX;
	return lg;
}

static int
delta_check_level(int level)
{
	if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())
		return -EINVAL;
	return 0;
}

#define DELTA_CSET(cctx, p, v) do {					\
	size_t zr_ = ZSTD_CCtx_setParameter((cctx), (p), (v));		\
	if (ZSTD_isError(zr_)) {					\
		r = delta_zerr(zr_);					\
		goto out;						\
	}								\
} while (0)

int
delta_create(int old_fd, int new_fd, int out_fd, int level,
    uint64_t *ret_size)
{
	struct delta_map	 old = { NULL, 0 }, new = { NULL, 0 };
	ZSTD_CCtx		*cctx = NULL;
	ZSTD_inBuffer		 in;
	ZSTD_outBuffer		 out;
	void			*obuf = NULL;
	size_t			 osize, zr;
	uint64_t		 total = 0;
	int			 r;

	r = delta_map_ro(old_fd, &old);
	if (r < 0)
		goto out;
	r = delta_map_ro(new_fd, &new);
	if (r < 0)
		goto out;
	/* the cost of a level grows with all the data the matcher walks */
	if (level == 0)
		level = delta_level_for(old.len > new.len ? old.len : new.len);
	r = delta_check_level(level);
	if (r < 0)
		goto out;

	osize = ZSTD_CStreamOutSize();
	obuf = malloc(osize);
	cctx = ZSTD_createCCtx();
	if (obuf == NULL || cctx == NULL) {
		r = -ENOMEM;
		goto out;
	}
	DELTA_CSET(cctx, ZSTD_c_compressionLevel, level);
	/* At the fast levels, longer minimum matches keep random runs (new
	 * hashes) as literals instead of costly short matches: 6 to 8%
	 * smaller text deltas at the same speed (bench/delta). */
	if (level <= DELTA_LEVEL_DEFAULT)
		DELTA_CSET(cctx, ZSTD_c_minMatch, 7);
	DELTA_CSET(cctx, ZSTD_c_windowLog,
	    delta_window_log((uint64_t)old.len + new.len));
	DELTA_CSET(cctx, ZSTD_c_enableLongDistanceMatching, 1);
	DELTA_CSET(cctx, ZSTD_c_contentSizeFlag, 1);
	DELTA_CSET(cctx, ZSTD_c_checksumFlag, 1);
	DELTA_CSET(cctx, ZSTD_c_stableInBuffer, 1);
	zr = ZSTD_CCtx_setPledgedSrcSize(cctx, new.len);
	if (ZSTD_isError(zr)) {
		r = delta_zerr(zr);
		goto out;
	}
	if (old.len > 0) {
		zr = ZSTD_CCtx_refPrefix(cctx, old.ptr, old.len);
		if (ZSTD_isError(zr)) {
			r = delta_zerr(zr);
			goto out;
		}
	}

	in.src = new.len > 0 ? new.ptr : delta_empty;
	in.size = new.len;
	in.pos = 0;
	do {
		out.dst = obuf;
		out.size = osize;
		out.pos = 0;
		zr = ZSTD_compressStream2(cctx, &out, &in, ZSTD_e_end);
		if (ZSTD_isError(zr)) {
			r = delta_zerr(zr);
			goto out;
		}
		r = fs_write_all(out_fd, obuf, out.pos);
		if (r < 0)
			goto out;
		total += out.pos;
	} while (zr != 0);
	*ret_size = total;
	r = 0;
out:
	ZSTD_freeCCtx(cctx);
	free(obuf);
	delta_unmap(&new);
	delta_unmap(&old);
	return r;
}

int
delta_compressed_size(int new_fd, int level, uint64_t *ret_size)
{
	ZSTD_CCtx	*cctx = NULL;
	ZSTD_inBuffer	 in;
	ZSTD_outBuffer	 out;
	void		*ibuf = NULL, *obuf = NULL;
	size_t		 isize, osize, zr;
	uint64_t	 size, off = 0, total = 0;
	ssize_t		 n;
	int		 r;

	r = delta_size(new_fd, &size);
	if (r < 0)
		return r;
	if (level == 0)
		level = delta_level_for(size);
	r = delta_check_level(level);
	if (r < 0)
		return r;

	isize = ZSTD_CStreamInSize();
	osize = ZSTD_CStreamOutSize();
	ibuf = malloc(isize);
	obuf = malloc(osize);
	cctx = ZSTD_createCCtx();
	if (ibuf == NULL || obuf == NULL || cctx == NULL) {
		r = -ENOMEM;
		goto out;
	}
	DELTA_CSET(cctx, ZSTD_c_compressionLevel, level);
	DELTA_CSET(cctx, ZSTD_c_contentSizeFlag, 1);
	DELTA_CSET(cctx, ZSTD_c_checksumFlag, 1);
	zr = ZSTD_CCtx_setPledgedSrcSize(cctx, size);
	if (ZSTD_isError(zr)) {
		r = delta_zerr(zr);
		goto out;
	}

	for (;;) {
		ZSTD_EndDirective	 mode = ZSTD_e_continue;
		size_t			 want = isize;

		if (size - off < want)
			want = (size_t)(size - off);
		n = 0;
		while (want > 0) {
			n = pread(new_fd, ibuf, want, (off_t)off);
			if (n < 0 && errno == EINTR)
				continue;
			break;
		}
		if (n < 0) {
			r = -errno;
			goto out;
		}
		if (want > 0 && n == 0) {	/* shrank under us */
			r = -EIO;
			goto out;
		}
		off += (uint64_t)n;
		if (off == size)
			mode = ZSTD_e_end;
		in.src = ibuf;
		in.size = (size_t)n;
		in.pos = 0;
		do {
			out.dst = obuf;
			out.size = osize;
			out.pos = 0;
			zr = ZSTD_compressStream2(cctx, &out, &in, mode);
			if (ZSTD_isError(zr)) {
				r = delta_zerr(zr);
				goto out;
			}
			total += out.pos;
		} while (mode == ZSTD_e_end ? zr != 0 : in.pos < in.size);
		if (mode == ZSTD_e_end)
			break;
	}
	*ret_size = total;
	r = 0;
out:
	ZSTD_freeCCtx(cctx);
	free(obuf);
	free(ibuf);
	return r;
}

/* Only a zstd frame (not a skippable one) that declares its size and
 * carries a checksum is a delta. */
int
delta_content_size(int delta_fd, uint64_t *ret_size)
{
	unsigned char		 h[DELTA_HEADER_MAX];
	unsigned long long	 cs;
	uint32_t		 magic;
	size_t			 len = 0;
	ssize_t			 n;

	while (len < sizeof(h)) {
		n = pread(delta_fd, h + len, sizeof(h) - len, (off_t)len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len < 5)
		return -EBADMSG;
	magic = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
	    (uint32_t)h[3] << 24;
	if (magic != ZSTD_MAGICNUMBER || (h[4] & DELTA_FHD_CHECKSUM) == 0)
		return -EBADMSG;
	cs = ZSTD_getFrameContentSize(h, len);
	if (cs == ZSTD_CONTENTSIZE_UNKNOWN || cs == ZSTD_CONTENTSIZE_ERROR)
		return -EBADMSG;
	*ret_size = cs;
	return 0;
}

int
delta_apply(int old_fd, int delta_fd, int out_fd, uint64_t expect_size)
{
	struct delta_map	 old = { NULL, 0 }, new = { NULL, 0 };
	ZSTD_DCtx		*dctx = NULL;
	ZSTD_inBuffer		 in;
	ZSTD_outBuffer		 out;
	void			*ibuf = NULL;
	size_t			 isize, zr;
	uint64_t		 cs, off = 0;
	unsigned char		 extra, none[1];
	ssize_t			 n;
	int			 r;

	/* The header first: nothing is allocated for a frame of the
	 * wrong size. */
	r = delta_content_size(delta_fd, &cs);
	if (r < 0)
		return r;
	if (cs != expect_size || expect_size > DELTA_FILE_MAX ||
	    expect_size > SIZE_MAX)
		return -E2BIG;

	r = delta_map_ro(old_fd, &old);
	if (r < 0)
		goto out;

	if (ftruncate(out_fd, (off_t)expect_size) < 0) {
		r = -errno;
		goto out;
	}
	if (expect_size > 0) {
		/* Reserve the blocks: a store through the mapping into a
		 * hole on a full disk would be SIGBUS, not ENOSPC. */
		r = posix_fallocate(out_fd, 0, (off_t)expect_size);
		if (r != 0) {
			r = -r;
			goto out;
		}
		new.ptr = mmap(NULL, (size_t)expect_size,
		    PROT_READ | PROT_WRITE, MAP_SHARED, out_fd, 0);
		if (new.ptr == MAP_FAILED) {
			new.ptr = NULL;
			r = -errno;
			goto out;
		}
		new.len = (size_t)expect_size;
	}

	isize = ZSTD_DStreamInSize();
	ibuf = malloc(isize);
	dctx = ZSTD_createDCtx();
	if (ibuf == NULL || dctx == NULL) {
		r = -ENOMEM;
		goto out;
	}
	zr = ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax,
	    delta_window_log(DELTA_FILE_MAX));
	if (!ZSTD_isError(zr))
		zr = ZSTD_DCtx_setParameter(dctx, ZSTD_d_stableOutBuffer, 1);
	if (!ZSTD_isError(zr) && old.len > 0)
		zr = ZSTD_DCtx_refPrefix(dctx, old.ptr, old.len);
	if (ZSTD_isError(zr)) {
		r = delta_zerr(zr);
		goto out;
	}

	out.dst = new.len > 0 ? new.ptr : none;
	out.size = new.len;
	out.pos = 0;
	in.src = ibuf;
	in.size = 0;
	in.pos = 0;
	for (;;) {
		if (in.pos == in.size) {
			n = pread(delta_fd, ibuf, isize, (off_t)off);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0) {
				r = -errno;
				goto out;
			}
			if (n == 0) {		/* truncated */
				r = -EBADMSG;
				goto out;
			}
			off += (uint64_t)n;
			in.size = (size_t)n;
			in.pos = 0;
		}
		zr = ZSTD_decompressStream(dctx, &out, &in);
		if (ZSTD_isError(zr)) {
			r = delta_zerr(zr);
			goto out;
		}
		if (zr == 0)
			break;
	}
	/* One frame, all of it, and nothing after it. */
	if (in.pos != in.size || out.pos != new.len) {
		r = -EBADMSG;
		goto out;
	}
	do {
		n = pread(delta_fd, &extra, 1, (off_t)off);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	if (n > 0) {
		r = -EBADMSG;
		goto out;
	}
	r = 0;
out:
	ZSTD_freeDCtx(dctx);
	free(ibuf);
	delta_unmap(&new);
	delta_unmap(&old);
	return r;
}
