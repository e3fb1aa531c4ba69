/*
 * db: the repository's state in SQLite (DIR/state.db, WAL mode): the
 * serial of each channel, every version of every component, and every
 * delta. The only module that includes SQLite. Writers hold the
 * repository lock (see repo.h); readers see a consistent snapshot.
 */
#ifndef DB_H
#define DB_H

#include <stdint.h>

#include "crypto.h"
#include "manifest.h"

struct db;

struct db_version {
	char		 component[MANIFEST_NAME_MAX + 1];
	char		 kind[MANIFEST_NAME_MAX + 1];
	char		 edition[MANIFEST_NAME_MAX + 1];
	uint64_t	 version;
	uint64_t	 size;
	char		 sha256[CRYPTO_SHA256_HEX];
	int64_t		 published;	/* unix time */
};

struct db_delta {
	char		 from_sha256[CRYPTO_SHA256_HEX];
	char		 to_sha256[CRYPTO_SHA256_HEX];
	uint64_t	 from_version;
	uint64_t	 size;
	char		 sha256[CRYPTO_SHA256_HEX];	/* the delta object */
};

/* Opens (creating when create) the state file and its schema.
 * 0, -ENOENT, -EIO. */
int	 db_open(const char *path, int create, struct db **ret_db);
void	 db_close(struct db *db);			/* NULL-safe */
int	 db_begin(struct db *db);	/* immediate write transaction */
int	 db_commit(struct db *db);
void	 db_rollback(struct db *db);

/* 0 when the channel has no serial yet. */
int	 db_channel_serial(struct db *db, const char *channel,
	    uint64_t *ret_serial);
int	 db_channel_set_serial(struct db *db, const char *channel,
	    uint64_t serial);

/* The versions of one component, newest first, at most max (0: all).
 * *ret_v is the caller's (free()), *ret_n its length. */
int	 db_versions(struct db *db, const char *channel, const char *component,
	    size_t max, struct db_version **ret_v, size_t *ret_n);
/* The newest version of each component of a channel, by name. */
int	 db_current(struct db *db, const char *channel,
	    struct db_version **ret_v, size_t *ret_n);
int	 db_version_add(struct db *db, const char *channel,
	    const struct db_version *v);
int	 db_version_remove(struct db *db, const char *channel,
	    const char *component, uint64_t version);

/* Deltas ending at to_sha256, from_version set from the versions table
 * of the channel (deltas whose base is no longer listed have it 0). */
int	 db_deltas_to(struct db *db, const char *channel, const char *component,
	    const char *to_sha256, struct db_delta **ret_d, size_t *ret_n);
/* Every delta, for gc and verify. */
int	 db_deltas_all(struct db *db, struct db_delta **ret_d, size_t *ret_n);
int	 db_delta_add(struct db *db, const struct db_delta *d);
int	 db_delta_remove(struct db *db, const char *from_sha256,
	    const char *to_sha256);
/* Small named values (the mirror's upstream serial, last sync time...):
 * get copies into dst (truncating to size); -ENOENT when unset. */
int	 db_meta_get(struct db *db, const char *key, char *dst, size_t size);
int	 db_meta_set(struct db *db, const char *key, const char *value);
/* 1 if any version or delta row names the object, else 0. */
int	 db_object_referenced(struct db *db, const char *sha256);

#endif
