/*
 * store: the object store, one directory of immutable, content-addressed
 * files: DIR/objects/ab/abcdef... (the SHA-256 of the bytes, in hex).
 * New objects are streamed into DIR/objects/tmp, hashed on the way, made
 * durable and renamed into place; an object is never rewritten. A crash
 * leaves at most a stray file in tmp/, which store_clean_tmp removes once
 * it is old enough that no writer can still be filling it.
 */
#ifndef STORE_H
#define STORE_H

#include <stdint.h>

#include "crypto.h"
#include "fs.h"

struct store {
	char	 root[FS_PATH_MAX];	/* DIR/objects */
};

/* Creates the directories if create, else checks they exist.
 * 0 or -errno. */
int	 store_open(struct store *s, const char *datadir, int create);
/* The path of an object; hex must be 64 lower-case hex digits
 * (-EINVAL otherwise). */
int	 store_path(const struct store *s, const char *hex, char *dst,
	    size_t size);
/* Copies fd (from its current offset to EOF) into the store, verifying
 * expect_hex if not NULL (-EPERM on mismatch). ret_hex and ret_size get
 * the object's name and size; *ret_existed is 1 if it was already there.
 * Any of the ret_ pointers may be NULL. 0 or -errno. */
int	 store_put_fd(const struct store *s, int fd, const char *expect_hex,
	    char ret_hex[CRYPTO_SHA256_HEX], uint64_t *ret_size,
	    int *ret_existed);
/* Makes the file open as fd (from offset 0) an object without copying it:
 * hashes it, checks expect_hex if not NULL (-EPERM on mismatch), makes it
 * durable and links it into place. path is the file's name when it has
 * one, inside the store's tmp directory (it is renamed); NULL for a
 * store_tmpfile() file. The caller still closes fd. Same ret_ as
 * store_put_fd. */
int	 store_adopt(const struct store *s, int fd, const char *path,
	    const char *expect_hex, char ret_hex[CRYPTO_SHA256_HEX],
	    uint64_t *ret_size);
int	 store_put_file(const struct store *s, const char *path,
	    char ret_hex[CRYPTO_SHA256_HEX], uint64_t *ret_size,
	    int *ret_existed);
/* Opens an object read-only; -ENOENT if absent. Returns the fd. */
int	 store_open_object(const struct store *s, const char *hex);
/* 1 if present (and *ret_size set when not NULL), 0 if not, or -errno. */
int	 store_has(const struct store *s, const char *hex, uint64_t *ret_size);
/* Rehashes an object: 0, -EPERM if its bytes do not match its name,
 * -ENOENT, -errno. */
int	 store_check(const struct store *s, const char *hex);
int	 store_remove(const struct store *s, const char *hex);
/* Calls fn for each object name (and stray, non-hex file as bad=1);
 * stops on a non-zero return of fn and returns it. */
int	 store_foreach(const struct store *s,
	    int (*fn)(const char *name, int bad, void *arg), void *arg);
/* Removes files in tmp/ last modified more than max_age seconds ago;
 * *ret_removed counts them. 0 or -errno. */
int	 store_clean_tmp(const struct store *s, int64_t max_age,
	    unsigned *ret_removed);
/* A temporary file in the store's tmp directory, for building an object
 * (a delta) before store_put_fd. Returns the fd (unlinked, O_TMPFILE). */
int	 store_tmpfile(const struct store *s);

#endif
