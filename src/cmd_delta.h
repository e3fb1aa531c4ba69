/*
 * cmd_delta: the `cascade diff` and `cascade patch` subcommands, thin
 * wrappers of delta.h for files on disk. The output file is written
 * durably (fs_tmp_open / fs_tmp_commit): it appears complete under its
 * name or not at all.
 *
 * argv[0] is the subcommand name. Each returns the process exit status:
 * 0 done, 1 error (logged on stderr), 2 usage error.
 */
#ifndef CMD_DELTA_H
#define CMD_DELTA_H

/* cascade diff OLD NEW DELTA [--level N]
 * N is a zstd level, 1 to 22; by default delta_level_for(size of NEW). */
int	 cmd_diff(int argc, char **argv);
/* cascade patch OLD DELTA NEW [--size N]
 * N is the size NEW must have; by default the size the delta declares. */
int	 cmd_patch(int argc, char **argv);

#endif
