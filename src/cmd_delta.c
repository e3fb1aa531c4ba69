/*
 * cmd_delta: `cascade diff` and `cascade patch`; see cmd_delta.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_delta.h"
#include "delta.h"
#include "fs.h"
#include "log.h"
#include "banned.h"

#define CMD_DELTA_LEVEL_MAX	22	/* zstd's ZSTD_maxCLevel() */
#define CMD_DELTA_MODE		0644

static const char	*cmd_diff_usage =
    "usage: cascade diff OLD NEW DELTA [--level N]\n";
static const char	*cmd_patch_usage =
    "usage: cascade patch OLD DELTA NEW [--size N]\n";

/*
 * Three operands and one option `opt` taking a value (as "opt V" or
 * "opt=V"), in any order; "--" ends the options. 0 done, 1 help asked
 * for, -1 usage error (logged).
 */
static int
cmd_delta_args(int argc, char **argv, const char *opt, const char *pos[3],
    const char **ret_val)
{
	const char	*a, *val = NULL;
	size_t		 optlen = strlen(opt);
	int		 i, n = 0, dashdash = 0;

	for (i = 1; i < argc; i++) {
		a = argv[i];
		if (!dashdash && a[0] == '-' && a[1] != '\0') {
			if (strcmp(a, "--") == 0) {
				dashdash = 1;
				continue;
			}
			if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
				return 1;
			if (strcmp(a, opt) == 0) {
				if (i + 1 >= argc) {
					log_error("option '%s' needs a value",
					    opt);
					return -1;
				}
				val = argv[++i];
				continue;
			}
			if (strncmp(a, opt, optlen) == 0 && a[optlen] == '=') {
				val = a + optlen + 1;
				continue;
			}
			log_error("unknown option '%s'", a);
			return -1;
		}
		if (n == 3) {
			log_error("too many arguments");
			return -1;
		}
		pos[n++] = a;
	}
	if (n < 3) {
		log_error("missing arguments");
		return -1;
	}
	*ret_val = val;
	return 0;
}

/* A decimal number in [min, max]: digits only, no sign, no blanks. */
static int
cmd_delta_number(const char *s, uint64_t min, uint64_t max,
    uint64_t *ret_v)
{
	unsigned long long	 v;
	char			*end;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*ret_v = v;
	return 0;
}

static int
cmd_delta_open(const char *path)
{
	int	 fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(-errno, "cannot open '%s'", path);
	return fd;
}

/* -1 to go on, or the exit status to stop with (help, usage error). */
static int
cmd_delta_parse(int argc, char **argv, const char *opt, const char *usage,
    const char *pos[3], const char **ret_val)
{
	switch (cmd_delta_args(argc, argv, opt, pos, ret_val)) {
	case 0:
		return -1;
	case 1:
		fputs(usage, stdout);
		return 0;
	default:
		fputs(usage, stderr);
		return 2;
	}
}

int
cmd_diff(int argc, char **argv)
{
	struct fs_tmp	 t;
	const char	*pos[3], *val = NULL;
	uint64_t	 level = 0, size = 0;
	int		 ofd = -1, nfd = -1, r, rc = 1;

	r = cmd_delta_parse(argc, argv, "--level", cmd_diff_usage, pos, &val);
	if (r >= 0)
		return r;
	if (val != NULL &&
	    cmd_delta_number(val, 1, CMD_DELTA_LEVEL_MAX, &level) < 0) {
		log_error("invalid level '%s' (1 to %d)", val,
		    CMD_DELTA_LEVEL_MAX);
		return 2;
	}

	if ((ofd = cmd_delta_open(pos[0])) < 0 ||
	    (nfd = cmd_delta_open(pos[1])) < 0)
		goto out;
	r = fs_tmp_open(&t, pos[2], CMD_DELTA_MODE);
	if (r < 0) {
		log_errno(r, "cannot create '%s'", pos[2]);
		goto out;
	}
	r = delta_create(ofd, nfd, t.fd, (int)level, &size);
	if (r < 0) {
		fs_tmp_abort(&t);
		log_errno(r, "cannot make a delta from '%s' to '%s'", pos[0],
		    pos[1]);
		goto out;
	}
	r = fs_tmp_commit(&t);
	if (r < 0) {
		log_errno(r, "cannot write '%s'", pos[2]);
		goto out;
	}
	log_debug("delta '%s': %llu bytes", pos[2], (unsigned long long)size);
	rc = 0;
out:
	if (nfd >= 0)
		close(nfd);
	if (ofd >= 0)
		close(ofd);
	return rc;
}

int
cmd_patch(int argc, char **argv)
{
	struct fs_tmp	 t;
	const char	*pos[3], *val = NULL;
	uint64_t	 size = 0, declared = 0;
	int		 ofd = -1, dfd = -1, r, rc = 1;

	r = cmd_delta_parse(argc, argv, "--size", cmd_patch_usage, pos, &val);
	if (r >= 0)
		return r;
	if (val != NULL && cmd_delta_number(val, 0, DELTA_FILE_MAX, &size) < 0) {
		log_error("invalid size '%s' (0 to %llu)", val,
		    (unsigned long long)DELTA_FILE_MAX);
		return 2;
	}

	if ((ofd = cmd_delta_open(pos[0])) < 0 ||
	    (dfd = cmd_delta_open(pos[1])) < 0)
		goto out;
	r = delta_content_size(dfd, &declared);
	if (r == -EBADMSG) {
		log_error("'%s' is not a delta", pos[1]);
		goto out;
	}
	if (r < 0) {
		log_errno(r, "cannot read delta '%s'", pos[1]);
		goto out;
	}
	if (val == NULL)
		size = declared;
	else if (size != declared) {
		log_error("delta '%s' makes %llu bytes, not %llu", pos[1],
		    (unsigned long long)declared, (unsigned long long)size);
		goto out;
	}

	r = fs_tmp_open(&t, pos[2], CMD_DELTA_MODE);
	if (r < 0) {
		log_errno(r, "cannot create '%s'", pos[2]);
		goto out;
	}
	r = delta_apply(ofd, dfd, t.fd, size);
	if (r < 0) {
		fs_tmp_abort(&t);
		if (r == -EBADMSG)
			log_error("cannot apply delta '%s' to '%s': corrupt, "
			    "or not made from that file", pos[1], pos[0]);
		else
			log_errno(r, "cannot apply delta '%s' to '%s'", pos[1],
			    pos[0]);
		goto out;
	}
	r = fs_tmp_commit(&t);
	if (r < 0) {
		log_errno(r, "cannot write '%s'", pos[2]);
		goto out;
	}
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	if (ofd >= 0)
		close(ofd);
	return rc;
}
