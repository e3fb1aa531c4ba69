/*
 * Unit tests of delta: round trips, the stock zstd CLI as a second
 * decoder, and every way a delta can be wrong.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "cmd_delta.h"
#include "delta.h"
#include "fs.h"
#include "banned.h"

/* Writes a test file: name in check_tmpdir. */
static int
put(const char *name, const void *data, size_t len)
{
	return check_write_file(check_path(name), data, len);
}

/* Reads a whole test file; caller frees. NULL on error. */
static char *
get(const char *name, size_t *ret_len)
{
	struct buf	 b;
	char		*p;

	buf_init(&b, (size_t)1 << 30);
	if (fs_read(&b, check_path(name)) < 0) {
		buf_release(&b);
		return NULL;
	}
	if (b.ptr == NULL && buf_append(&b, "", 0) < 0)
		return NULL;
	p = buf_detach(&b, ret_len);
	return p;
}

static int
ropen(const char *name)
{
	return open(check_path(name), O_RDONLY | O_CLOEXEC);
}

static int
wopen(const char *name)
{
	return open(check_path(name), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC,
	    0600);
}

/* delta_create(old, new) -> "delta". */
static int
make_delta(const char *old, const char *new, const char *delta, int level,
    uint64_t *ret_size)
{
	int	 ofd, nfd, dfd, r;

	ofd = ropen(old);
	nfd = ropen(new);
	dfd = wopen(delta);
	if (ofd < 0 || nfd < 0 || dfd < 0)
		r = -errno;
	else
		r = delta_create(ofd, nfd, dfd, level, ret_size);
	if (ofd >= 0)
		close(ofd);
	if (nfd >= 0)
		close(nfd);
	if (dfd >= 0)
		close(dfd);
	return r;
}

static int
apply_delta(const char *old, const char *delta, const char *out,
    uint64_t expect)
{
	int	 ofd, dfd, xfd, r;

	ofd = ropen(old);
	dfd = ropen(delta);
	xfd = wopen(out);
	if (ofd < 0 || dfd < 0 || xfd < 0)
		r = -errno;
	else
		r = delta_apply(ofd, dfd, xfd, expect);
	if (ofd >= 0)
		close(ofd);
	if (dfd >= 0)
		close(dfd);
	if (xfd >= 0)
		close(xfd);
	return r;
}

/* 1 if the file holds exactly len bytes equal to data. */
static int
same(const char *name, const void *data, size_t len)
{
	char	*p;
	size_t	 n;
	int	 eq;

	p = get(name, &n);
	if (p == NULL)
		return 0;
	eq = n == len && (len == 0 || memcmp(p, data, len) == 0);
	free(p);
	return eq;
}

/*
 * Round trip old -> new through a delta; *ret_dsize gets the delta's size.
 * 0 when the output is byte for byte new.
 */
static int
roundtrip(const void *old, size_t olen, const void *new, size_t nlen,
    uint64_t *ret_dsize)
{
	uint64_t	 dsize = 0;
	int		 r;

	if ((r = put("old", old, olen)) < 0 || (r = put("new", new, nlen)) < 0)
		return r;
	r = make_delta("old", "new", "delta", 0, &dsize);
	if (r < 0)
		return r;
	r = apply_delta("old", "delta", "out", nlen);
	if (r < 0)
		return r;
	if (!same("out", new, nlen))
		return -EPERM;
	if (ret_dsize != NULL)
		*ret_dsize = dsize;
	return 0;
}

/* xorshift64*: deterministic test data. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

/* One line of a ClamAV-like signature database, for record id. */
static int
sig_record(struct buf *b, uint64_t id)
{
	static const char	*fam[] = { "Win.Trojan.Agent", "Doc.Dropper.Emotet",
	    "Unix.Malware.Mirai", "Html.Phishing.Bank", "Win.Ransomware.Lock" };
	uint64_t		 s = id * 0x9e3779b97f4a7c15ull + 1;
	uint64_t		 h1 = rnd(&s), h2 = rnd(&s);

	return buf_printf(b, "%016llx%016llx:%llu:%s-%llu-0:73\n",
	    (unsigned long long)h1, (unsigned long long)h2,
	    (unsigned long long)(rnd(&s) % 4000000 + 64), fam[id % 5],
	    (unsigned long long)(id + 1000000));
}

/*
 * The database of version v: records 0..n-1, minus every 997th one in
 * the new version, plus new ones inserted every 331 records and appended.
 */
static int
sig_db(struct buf *b, uint64_t n, int v)
{
	uint64_t	 i, extra = n;
	int		 r;

	for (i = 0; i < n; i++) {
		if (v == 1 && i % 997 == 500)
			continue;
		if ((r = sig_record(b, i)) < 0)
			return r;
		if (v == 1 && i % 331 == 7 && (r = sig_record(b, extra++)) < 0)
			return r;
	}
	for (i = 0; v == 1 && i < 50; i++)
		if ((r = sig_record(b, extra++)) < 0)
			return r;
	return 0;
}

static void
test_level_for(void)
{
	CHECK_EQ(delta_level_for(0), DELTA_LEVEL_SMALL);
	CHECK_EQ(delta_level_for(DELTA_SMALL_MAX), DELTA_LEVEL_SMALL);
	CHECK_EQ(delta_level_for(DELTA_SMALL_MAX + 1ull), DELTA_LEVEL_DEFAULT);
	CHECK_EQ(delta_level_for(DELTA_FILE_MAX), DELTA_LEVEL_DEFAULT);
}

static void
test_small_text(void)
{
	const char	*a = "The quick brown fox jumps over the lazy dog.\n"
	    "Pack my box with five dozen liquor jugs.\n";
	const char	*b = "The quick brown fox jumped over the lazy dog.\n"
	    "Pack my box with five dozen liquor jugs.\nAnd a third line.\n";

	CHECK_EQ(roundtrip(a, strlen(a), b, strlen(b), NULL), 0);
	CHECK_EQ(roundtrip(b, strlen(b), a, strlen(a), NULL), 0);
}

static void
test_sigdb(void)
{
	struct buf	 o, n;
	uint64_t	 dsize = 0, csize = 0;
	int		 fd;

	buf_init(&o, (size_t)64 << 20);
	buf_init(&n, (size_t)64 << 20);
	CHECK_EQ(sig_db(&o, 30000, 0), 0);
	CHECK_EQ(sig_db(&n, 30000, 1), 0);
	CHECK(o.len > (size_t)2 << 20);
	CHECK_EQ(roundtrip(o.ptr, o.len, n.ptr, n.len, &dsize), 0);
	/* ~120 new records of ~75 random-ish bytes, ~30 removed. */
	CHECK(dsize > 0 && dsize < 16384);
	fd = ropen("new");
	CHECK(fd >= 0);
	CHECK_EQ(delta_compressed_size(fd, 0, &csize), 0);
	close(fd);
	CHECK(csize > 8 * dsize && csize < n.len);
	fprintf(stderr, "sigdb: new %zu, delta %llu, compressed %llu\n", n.len,
	    (unsigned long long)dsize, (unsigned long long)csize);

	/* And backwards. */
	CHECK_EQ(roundtrip(n.ptr, n.len, o.ptr, o.len, &dsize), 0);
	CHECK(dsize > 0 && dsize < 16384);
	buf_release(&o);
	buf_release(&n);
}

static void
test_empty(void)
{
	const char	*t = "some content\n";
	uint64_t	 dsize = 0;

	CHECK_EQ(roundtrip("", 0, t, strlen(t), NULL), 0);	/* empty old */
	CHECK_EQ(roundtrip(t, strlen(t), "", 0, &dsize), 0);	/* empty new */
	CHECK(dsize > 0 && dsize < 32);
	CHECK_EQ(roundtrip("", 0, "", 0, &dsize), 0);		/* both */
	CHECK(dsize > 0 && dsize < 32);
}

static void
test_identical(void)
{
	struct buf	 o;
	uint64_t	 dsize = 0;

	buf_init(&o, (size_t)64 << 20);
	CHECK_EQ(sig_db(&o, 5000, 0), 0);
	CHECK_EQ(roundtrip(o.ptr, o.len, o.ptr, o.len, &dsize), 0);
	CHECK(dsize > 0 && dsize < 64);
	buf_release(&o);
}

/* delta_create writes from out_fd's offset; apply truncates its output. */
static void
test_offsets(void)
{
	uint64_t	 dsize = 0;
	char		*p;
	size_t		 n;
	int		 ofd, nfd, dfd;

	CHECK_EQ(put("old", "abcdefghij", 10), 0);
	CHECK_EQ(put("new", "abcdefXhij", 10), 0);
	ofd = ropen("old");
	nfd = ropen("new");
	dfd = wopen("delta");
	CHECK(ofd >= 0 && nfd >= 0 && dfd >= 0);
	CHECK_EQ(fs_write_all(dfd, "HDR", 3), 0);
	CHECK_EQ(delta_create(ofd, nfd, dfd, 0, &dsize), 0);
	CHECK_EQ(lseek(dfd, 0, SEEK_CUR), (off_t)(3 + dsize));
	close(ofd);
	close(nfd);
	close(dfd);
	p = get("delta", &n);
	CHECK(p != NULL && n == 3 + dsize && memcmp(p, "HDR", 3) == 0);
	CHECK_EQ(put("delta", p + 3, n - 3), 0);
	free(p);

	/* A longer stale output file ends up exactly expect_size long. */
	CHECK_EQ(put("out", "0123456789012345678901234567890123456789", 40), 0);
	ofd = ropen("old");
	dfd = ropen("delta");
	nfd = open(check_path("out"), O_RDWR | O_CLOEXEC);
	CHECK_EQ(delta_apply(ofd, dfd, nfd, 10), 0);
	close(ofd);
	close(dfd);
	close(nfd);
	CHECK(same("out", "abcdefXhij", 10));
}

static void
test_bad_level(void)
{
	uint64_t	 dsize = 0;
	int		 fd;

	CHECK_EQ(put("old", "a", 1), 0);
	CHECK_EQ(put("new", "b", 1), 0);
	CHECK_EQ(make_delta("old", "new", "delta", 1000, &dsize), -EINVAL);
	fd = ropen("new");
	CHECK_EQ(delta_compressed_size(fd, 1000, &dsize), -EINVAL);
	close(fd);
}

static void
test_compressed_size(void)
{
	uint64_t	 csize = 0;
	char		*p;
	size_t		 i;
	int		 fd;

	CHECK_EQ(put("new", "", 0), 0);
	fd = ropen("new");
	CHECK_EQ(delta_compressed_size(fd, 3, &csize), 0);
	close(fd);
	CHECK(csize > 0 && csize < 32);

	/* More than one read chunk, very compressible. */
	p = malloc((size_t)1 << 20);
	CHECK(p != NULL);
	if (p == NULL)
		return;
	for (i = 0; i < (size_t)1 << 20; i++)
		p[i] = (char)('a' + i % 7);
	CHECK_EQ(put("new", p, (size_t)1 << 20), 0);
	free(p);
	fd = ropen("new");
	CHECK_EQ(delta_compressed_size(fd, 3, &csize), 0);
	CHECK(csize > 0 && csize < 4096);
	CHECK_EQ(delta_compressed_size(fd, 19, &csize), 0);
	CHECK(csize > 0 && csize < 4096);
	close(fd);
}

/* Stock `zstd -d --patch-from` decodes our deltas. */
static void
test_zstd_cli(void)
{
	struct buf	 o, n, cmd;
	uint64_t	 dsize = 0;

	buf_init(&o, (size_t)64 << 20);
	buf_init(&n, (size_t)64 << 20);
	buf_init(&cmd, 3 * FS_PATH_MAX);
	CHECK_EQ(sig_db(&o, 12000, 0), 0);
	CHECK_EQ(sig_db(&n, 12000, 1), 0);
	CHECK_EQ(put("old", o.ptr, o.len), 0);
	CHECK_EQ(put("new", n.ptr, n.len), 0);
	CHECK_EQ(make_delta("old", "new", "delta", 0, &dsize), 0);
	CHECK_EQ(buf_printf(&cmd, "zstd -qq -f -d --patch-from='%s' '%s' "
	    "-o '%s'", check_path("old"), check_path("delta"),
	    check_path("cli")), 0);
	CHECK_EQ(system(cmd.ptr), 0);
	CHECK(same("cli", n.ptr, n.len));

	/* And the large-file level. */
	CHECK_EQ(make_delta("old", "new", "delta", DELTA_LEVEL_DEFAULT,
	    &dsize), 0);
	CHECK_EQ(system(cmd.ptr), 0);
	CHECK(same("cli", n.ptr, n.len));

	/* An empty old file: a plain frame. */
	CHECK_EQ(put("old", "", 0), 0);
	CHECK_EQ(make_delta("old", "new", "delta", 0, &dsize), 0);
	CHECK_EQ(system(cmd.ptr), 0);
	CHECK(same("cli", n.ptr, n.len));

	buf_release(&cmd);
	buf_release(&o);
	buf_release(&n);
}

/* Deltas made by the zstd CLI apply too. */
static void
test_zstd_cli_delta(void)
{
	struct buf	 o, n, cmd;
	int		 fd;
	uint64_t	 cs = 0;

	buf_init(&o, (size_t)64 << 20);
	buf_init(&n, (size_t)64 << 20);
	buf_init(&cmd, 3 * FS_PATH_MAX);
	CHECK_EQ(sig_db(&o, 12000, 0), 0);
	CHECK_EQ(sig_db(&n, 12000, 1), 0);
	CHECK_EQ(put("old", o.ptr, o.len), 0);
	CHECK_EQ(put("new", n.ptr, n.len), 0);
	CHECK_EQ(buf_printf(&cmd, "zstd -qq -f -3 --patch-from='%s' '%s' "
	    "-o '%s'", check_path("old"), check_path("new"),
	    check_path("delta")), 0);
	CHECK_EQ(system(cmd.ptr), 0);
	fd = ropen("delta");
	CHECK_EQ(delta_content_size(fd, &cs), 0);
	close(fd);
	CHECK_EQ(cs, n.len);
	CHECK_EQ(apply_delta("old", "delta", "out", n.len), 0);
	CHECK(same("out", n.ptr, n.len));
	buf_release(&cmd);
	buf_release(&o);
	buf_release(&n);
}

static void
test_wrong_size(void)
{
	const char	*a = "version one of the file\n";
	const char	*b = "version two of the file, a bit longer\n";
	uint64_t	 dsize = 0, cs = 0;
	int		 fd;

	CHECK_EQ(put("old", a, strlen(a)), 0);
	CHECK_EQ(put("new", b, strlen(b)), 0);
	CHECK_EQ(make_delta("old", "new", "delta", 0, &dsize), 0);
	fd = ropen("delta");
	CHECK_EQ(delta_content_size(fd, &cs), 0);
	close(fd);
	CHECK_EQ(cs, strlen(b));
	CHECK_EQ(apply_delta("old", "delta", "out", strlen(b) + 1), -E2BIG);
	CHECK_EQ(apply_delta("old", "delta", "out", strlen(b) - 1), -E2BIG);
	CHECK_EQ(apply_delta("old", "delta", "out", 0), -E2BIG);
	CHECK_EQ(apply_delta("old", "delta", "out", UINT64_MAX), -E2BIG);
	CHECK_EQ(apply_delta("old", "delta", "out", strlen(b)), 0);
}

static void
test_wrong_base(void)
{
	struct buf	 o, n, o2;
	uint64_t	 dsize = 0;

	buf_init(&o, (size_t)64 << 20);
	buf_init(&n, (size_t)64 << 20);
	buf_init(&o2, (size_t)64 << 20);
	CHECK_EQ(sig_db(&o, 3000, 0), 0);
	CHECK_EQ(sig_db(&n, 3000, 1), 0);
	CHECK_EQ(put("old", o.ptr, o.len), 0);
	CHECK_EQ(put("new", n.ptr, n.len), 0);
	CHECK_EQ(make_delta("old", "new", "delta", 0, &dsize), 0);

	/* Same size, one record changed: only the checksum can tell. */
	CHECK_EQ(buf_append(&o2, o.ptr, o.len), 0);
	o2.ptr[o2.len / 2] ^= 1;
	CHECK_EQ(put("old2", o2.ptr, o2.len), 0);
	CHECK_EQ(apply_delta("old2", "delta", "out", n.len), -EBADMSG);

	/* Shorter: matches point past the prefix. */
	CHECK_EQ(put("old2", o.ptr, o.len / 2), 0);
	CHECK_EQ(apply_delta("old2", "delta", "out", n.len), -EBADMSG);
	CHECK_EQ(put("old2", "", 0), 0);
	CHECK_EQ(apply_delta("old2", "delta", "out", n.len), -EBADMSG);

	/* A different database altogether. */
	buf_reset(&o2);
	CHECK_EQ(sig_db(&o2, 3100, 1), 0);
	CHECK_EQ(put("old2", o2.ptr, o2.len), 0);
	CHECK_EQ(apply_delta("old2", "delta", "out", n.len), -EBADMSG);

	CHECK_EQ(apply_delta("old", "delta", "out", n.len), 0);
	CHECK(same("out", n.ptr, n.len));
	buf_release(&o);
	buf_release(&n);
	buf_release(&o2);
}

static void
test_truncated(void)
{
	struct buf	 o, n;
	uint64_t	 dsize = 0;
	char		*d;
	size_t		 dlen = 0, cut[] = { 0, 1, 4, 5, 8, 12, 20, 100 };
	size_t		 i;

	buf_init(&o, (size_t)64 << 20);
	buf_init(&n, (size_t)64 << 20);
	CHECK_EQ(sig_db(&o, 3000, 0), 0);
	CHECK_EQ(sig_db(&n, 3000, 1), 0);
	CHECK_EQ(put("old", o.ptr, o.len), 0);
	CHECK_EQ(put("new", n.ptr, n.len), 0);
	CHECK_EQ(make_delta("old", "new", "delta", 0, &dsize), 0);
	d = get("delta", &dlen);
	CHECK(d != NULL && dlen > 100);
	if (d == NULL)
		goto out;
	for (i = 0; i < sizeof(cut) / sizeof(cut[0]); i++) {
		CHECK_EQ(put("delta2", d, cut[i]), 0);
		CHECK_EQ(apply_delta("old", "delta2", "out", n.len), -EBADMSG);
	}
	for (i = dlen / 2; i < dlen; i++) {
		CHECK_EQ(put("delta2", d, i), 0);
		CHECK_EQ(apply_delta("old", "delta2", "out", n.len), -EBADMSG);
	}

	/* Trailing garbage, or a second frame. */
	CHECK_EQ(put("delta2", d, dlen), 0);
	CHECK_EQ(apply_delta("old", "delta2", "out", n.len), 0);
	{
		char	*d2 = malloc(2 * dlen);

		CHECK(d2 != NULL);
		if (d2 == NULL)
			goto out;
		memcpy(d2, d, dlen);
		memcpy(d2 + dlen, d, dlen);
		CHECK_EQ(put("delta2", d2, dlen + 1), 0);
		CHECK_EQ(apply_delta("old", "delta2", "out", n.len),
		    -EBADMSG);
		CHECK_EQ(put("delta2", d2, 2 * dlen), 0);
		CHECK_EQ(apply_delta("old", "delta2", "out", n.len),
		    -EBADMSG);
		free(d2);
	}
out:
	free(d);
	buf_release(&o);
	buf_release(&n);
}

/* Every single-bit flip of a delta fails, or still gives exactly new. */
static void
test_bitflip(void)
{
	const char	*a = "alpha beta gamma delta epsilon zeta eta theta\n"
	    "iota kappa lambda mu nu xi omicron pi rho sigma tau\n";
	const char	*b = "alpha beta gamma DELTA epsilon zeta eta theta\n"
	    "iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon\n";
	uint64_t	 dsize = 0;
	char		*d;
	size_t		 dlen = 0, i;
	int		 bit, r, bad = 0;

	CHECK_EQ(put("old", a, strlen(a)), 0);
	CHECK_EQ(put("new", b, strlen(b)), 0);
	CHECK_EQ(make_delta("old", "new", "delta", 0, &dsize), 0);
	d = get("delta", &dlen);
	CHECK(d != NULL);
	if (d == NULL)
		return;
	for (i = 0; i < dlen; i++) {
		for (bit = 0; bit < 8; bit++) {
			d[i] ^= (char)(1 << bit);
			CHECK_EQ(put("delta2", d, dlen), 0);
			r = apply_delta("old", "delta2", "out", strlen(b));
			if (r == 0 && !same("out", b, strlen(b)))
				bad++;
			if (r != 0 && r != -EBADMSG && r != -E2BIG)
				bad++;
			d[i] ^= (char)(1 << bit);
		}
	}
	CHECK_EQ(bad, 0);
	free(d);
}

static void
test_garbage(void)
{
	uint64_t	 s = 42, cs;
	char		 junk[4096];
	size_t		 i, len;
	int		 round, fd, r;

	CHECK_EQ(put("old", "some old content\n", 17), 0);
	for (round = 0; round < 300; round++) {
		len = (size_t)(rnd(&s) % sizeof(junk));
		for (i = 0; i < len; i++)
			junk[i] = (char)rnd(&s);
		if (round % 2 == 1 && len >= 5) {
			/* Give it a zstd magic and a checksummed header. */
			memcpy(junk, "\x28\xb5\x2f\xfd", 4);
			junk[4] = (char)((junk[4] & ~0x08) | 0x04);
		}
		CHECK_EQ(put("delta", junk, len), 0);
		fd = ropen("delta");
		r = delta_content_size(fd, &cs);
		close(fd);
		if (round % 2 == 0) {
			CHECK_EQ(apply_delta("old", "delta", "out", 17),
			    -EBADMSG);
			continue;
		}
		if (r < 0 || cs > (1u << 20))
			cs = 17;
		r = apply_delta("old", "delta", "out", cs);
		CHECK(r == -EBADMSG || r == -E2BIG);
	}

	/* A skippable frame is not a delta, even one of size 0. */
	CHECK_EQ(put("delta", "\x50\x2a\x4d\x18\x00\x00\x00\x00", 8), 0);
	CHECK_EQ(apply_delta("old", "delta", "out", 0), -EBADMSG);
	/* Nor a file that is not there. */
	CHECK_EQ(apply_delta("old", "nonexistent", "out", 0), -ENOENT);
}

/* A frame without a checksum is refused (we could not tell a wrong base). */
static void
test_no_checksum(void)
{
	struct buf	 cmd;

	buf_init(&cmd, 3 * FS_PATH_MAX);
	CHECK_EQ(put("old", "hello old world\n", 16), 0);
	CHECK_EQ(put("new", "hello new world\n", 16), 0);
	CHECK_EQ(buf_printf(&cmd, "zstd -qq -f --no-check --patch-from='%s' "
	    "'%s' -o '%s'", check_path("old"), check_path("new"),
	    check_path("delta")), 0);
	CHECK_EQ(system(cmd.ptr), 0);
	CHECK_EQ(apply_delta("old", "delta", "out", 16), -EBADMSG);
	buf_release(&cmd);
}

static int
cmd(int (*fn)(int, char **), const char *a0, const char *a1, const char *a2,
    const char *a3, const char *a4, const char *a5)
{
	char	*argv[7];
	int	 argc = 0;

	argv[argc++] = (char *)a0;
	if (a1 != NULL)
		argv[argc++] = (char *)a1;
	if (a2 != NULL)
		argv[argc++] = (char *)a2;
	if (a3 != NULL)
		argv[argc++] = (char *)a3;
	if (a4 != NULL)
		argv[argc++] = (char *)a4;
	if (a5 != NULL)
		argv[argc++] = (char *)a5;
	argv[argc] = NULL;
	return fn(argc, argv);
}

/* `cascade diff` and `cascade patch`: exit statuses, no file left over. */
static void
test_cmd(void)
{
	char		 o[FS_PATH_MAX], n[FS_PATH_MAX], d[FS_PATH_MAX];
	char		 x[FS_PATH_MAX];
	struct dirent	*e;
	struct buf	 ob, nb;
	char		 size[32];
	DIR		*dir;
	int		 stray = 0;

	buf_init(&ob, (size_t)1 << 20);
	buf_init(&nb, (size_t)1 << 20);
	CHECK_EQ(sig_db(&ob, 300, 0), 0);
	CHECK_EQ(sig_db(&nb, 300, 1), 0);
	CHECK_EQ(put("old", ob.ptr, ob.len), 0);
	CHECK_EQ(put("new", nb.ptr, nb.len), 0);
	CHECK(snprintf(size, sizeof(size), "%zu", nb.len) > 0);
	CHECK_EQ(fs_path(o, sizeof(o), "%s", check_path("old")), 0);
	CHECK_EQ(fs_path(n, sizeof(n), "%s", check_path("new")), 0);
	CHECK_EQ(fs_path(d, sizeof(d), "%s", check_path("cmd-delta")), 0);
	CHECK_EQ(fs_path(x, sizeof(x), "%s", check_path("cmd-out")), 0);

	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, NULL, NULL), 0);
	CHECK_EQ(cmd(cmd_patch, "patch", o, d, x, NULL, NULL), 0);
	CHECK(same("cmd-out", nb.ptr, nb.len));
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, "--level", "3"), 0);
	CHECK_EQ(cmd(cmd_diff, "diff", "--level=22", o, n, d, NULL), 0);
	CHECK_EQ(cmd(cmd_patch, "patch", o, d, x, "--size", size), 0);
	CHECK(same("cmd-out", nb.ptr, nb.len));

	/* Usage errors. */
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, NULL, NULL, NULL), 2);
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, x, NULL), 2);
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, "--level", NULL), 2);
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, "--level", "0"), 2);
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, "--level", "23"), 2);
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, "--level", "-1"), 2);
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, "--level", "3x"), 2);
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, "--level", ""), 2);
	CHECK_EQ(cmd(cmd_diff, "diff", o, n, d, "--bogus", NULL), 2);
	CHECK_EQ(cmd(cmd_patch, "patch", o, d, x, "--size", " 15"), 2);
	CHECK_EQ(cmd(cmd_patch, "patch", o, d, x, "--size", "+15"), 2);
	CHECK_EQ(cmd(cmd_patch, "patch", o, d, x, "--size",
	    "18446744073709551616"), 2);

	/* Errors: the output is not created. */
	CHECK_EQ(cmd(cmd_patch, "patch", o, d, check_path("cmd-x"), "--size",
	    "14"), 1);
	CHECK_EQ(cmd(cmd_patch, "patch", o, "--size=0", d, check_path("cmd-x"),
	    NULL), 1);
	CHECK_EQ(cmd(cmd_patch, "patch", n, d, check_path("cmd-x"), NULL, NULL),
	    1);
	CHECK_EQ(cmd(cmd_patch, "patch", o, n, check_path("cmd-x"), NULL, NULL),
	    1);
	CHECK_EQ(cmd(cmd_diff, "diff", check_path("missing"), n,
	    check_path("cmd-x"), NULL, NULL), 1);
	CHECK_EQ(fs_exists(check_path("cmd-x")), 0);
	dir = opendir(check_tmpdir);
	CHECK(dir != NULL);
	while (dir != NULL && (e = readdir(dir)) != NULL)
		if (strstr(e->d_name, ".tmp.") != NULL)
			stray++;
	if (dir != NULL)
		closedir(dir);
	CHECK_EQ(stray, 0);
	buf_release(&ob);
	buf_release(&nb);
}

int
main(void)
{
	if (check_tmpdir_init("test_delta") < 0)
		return 1;
	RUN(test_level_for);
	RUN(test_small_text);
	RUN(test_sigdb);
	RUN(test_empty);
	RUN(test_identical);
	RUN(test_offsets);
	RUN(test_bad_level);
	RUN(test_compressed_size);
	RUN(test_zstd_cli);
	RUN(test_zstd_cli_delta);
	RUN(test_wrong_size);
	RUN(test_wrong_base);
	RUN(test_truncated);
	RUN(test_bitflip);
	RUN(test_garbage);
	RUN(test_no_checksum);
	RUN(test_cmd);
	check_rm_rf(check_tmpdir);
	return check_end();
}
