/*
 * repo: a cascade data directory and the operations on it.
 *
 *   DIR/cascade.conf                 configuration (conf.h)
 *   DIR/keys/CH.pub, CH.key          the channel's minisign key pair
 *   DIR/objects/ab/abcd...           immutable objects (store.h)
 *   DIR/deltas/FROM/TO               symlink to the delta's object
 *   DIR/channels/CH/SERIAL/manifest  a signed manifest and its
 *   DIR/channels/CH/SERIAL/manifest.minisig   signature, never rewritten
 *   DIR/channels/CH/current          symlink to the served SERIAL
 *   DIR/state.db                     versions, deltas, serials (db.h)
 *   DIR/lock                         writers hold it (flock)
 *
 * Order of a publish, so that a crash at any point leaves the served state
 * whole: objects and delta links first, then the state database, then the
 * manifest files, then the switch of `current` by rename. Readers (the
 * server) only ever follow `current`.
 */
#ifndef REPO_H
#define REPO_H

#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "fs.h"
#include "manifest.h"
#include "sig.h"
#include "store.h"

#define REPO_EVENTS_KEPT	(180 * 86400)	/* seconds of event history */

struct repo {
	char		 dir[FS_PATH_MAX];
	struct conf	 conf;
	struct store	 store;
	struct db	*db;
	int		 lockfd;	/* -1 when not held */
};

struct repo_publish_opts {
	const char	*kind;		/* NULL: previous version's, or conf */
	const char	*edition;	/* NULL: previous version's, or conf */
	uint64_t	 version;	/* 0: next */
};

struct repo_publish_result {
	uint64_t	 version;
	uint64_t	 serial;
	int		 unchanged;	/* same bytes as the current version */
	int		 ndeltas;
	char		 sha256[CRYPTO_SHA256_HEX];
};

/* The signed state of a channel, as served: exact bytes. */
struct repo_channel {
	char		 name[MANIFEST_NAME_MAX + 1];
	uint64_t	 serial;
	time_t		 expires;
	struct buf	 manifest;
	struct buf	 sig;
};

/* Creates DIR (state, store, keys, configuration). key_path, if not NULL,
 * is an existing unencrypted minisign secret key to import. Fails with
 * -EEXIST on a directory that is already initialised. Logs its errors. */
int	 repo_init(const char *dir, const char *channel, const char *key_path);
/* Opens an initialised DIR. Logs its errors. */
int	 repo_open(struct repo *r, const char *dir);
void	 repo_close(struct repo *r);
/* Re-reads cascade.conf; the old configuration stays on error. */
int	 repo_reload_conf(struct repo *r);
/* Takes the writers' lock (waits for it) and repairs a manifest left
 * behind by a crash. repo_unlock releases it. */
int	 repo_lock(struct repo *r);
/* The same without waiting: -EAGAIN (not logged) while another process
 * or thread (a mirror's sync) holds it. */
int	 repo_trylock(struct repo *r);
void	 repo_unlock(struct repo *r);

/* With the lock held. Logs its errors. */
int	 repo_publish(struct repo *r, const char *component, const char *file,
	    const struct repo_publish_opts *o,
	    struct repo_publish_result *ret);
/* The same from an open file (read from its start; the caller keeps and
 * closes fd), such as an upload that has no name; file names it in the
 * messages. */
int	 repo_publish_fd(struct repo *r, const char *component, int fd,
	    const char *file, const struct repo_publish_opts *o,
	    struct repo_publish_result *ret);
/*
 * The steps of a publish, for the mirror's sync too (with the lock held):
 * repo_make_deltas makes deltas to the object new_hex (open as new_fd)
 * from each of the versions in prev that are worth one (at most half the
 * compressed object), storing and linking them; *ret_d (caller frees)
 * gets them. repo_record writes versions, deltas and the channel's serial
 * in one transaction. repo_install_manifest writes a signed manifest as
 * channels/CH/SERIAL/ and switches `current` to it, last. repo_link_delta
 * makes the deltas/FROM/TO link of a stored delta object.
 */
int	 repo_make_deltas(struct repo *r, const struct db_version *prev,
	    size_t nprev, const char *new_hex, int new_fd,
	    struct db_delta **ret_d, size_t *ret_n);
int	 repo_record(struct repo *r, const char *channel,
	    const struct db_version *v, size_t nv, const struct db_delta *d,
	    size_t nd, uint64_t serial);
int	 repo_install_manifest(struct repo *r, const char *channel,
	    uint64_t serial, const char *text, size_t textlen, const char *sig,
	    size_t siglen);
int	 repo_link_delta(struct repo *r, const struct db_delta *d);
/* Re-signs the local channel with serial + 1 when its manifest expires
 * within `margin` seconds. 1 if it did, 0 if not needed, or -errno. */
int	 repo_refresh(struct repo *r, int64_t margin);
/* Removes versions beyond retention, superseded deltas, old manifests,
 * unreferenced objects and events older than REPO_EVENTS_KEPT; never
 * anything a current manifest names.
 * *ret_removed counts removed objects. */
int	 repo_gc(struct repo *r, unsigned *ret_removed);
/* Checks every object, manifest, signature and reference; logs each
 * problem and returns how many there were (or -errno). If quick, objects
 * are checked for presence and size, not rehashed, and only current
 * manifests are checked. */
int	 repo_verify(struct repo *r, int quick);

/* Names of the channels that have a current manifest (sorted). */
int	 repo_channels(const struct repo *r, char (**ret_names)[MANIFEST_NAME_MAX + 1],
	    size_t *ret_n);
/* Where `current` of channel points (its serial dir name). 0 or -errno. */
int	 repo_channel_current(const struct repo *r, const char *channel,
	    char *dst, size_t size);
/* The serial of the manifest `current` points at; 0 when none. */
int	 repo_channel_serial(const struct repo *r, const char *channel,
	    uint64_t *ret);
/* Reads the current manifest and signature of a channel and verifies the
 * signature with DIR/keys/CH.pub before parsing. */
int	 repo_channel_load(const struct repo *r, const char *channel,
	    struct repo_channel *ret_c, struct manifest **ret_m);
void	 repo_channel_release(struct repo_channel *c);
/* Path of the delta link from one object to another (both hex). */
int	 repo_delta_path(const struct repo *r, const char *from, const char *to,
	    char *dst, size_t size);
/* Loads DIR/keys/CH.pub. */
int	 repo_pubkey(const struct repo *r, const char *channel,
	    struct sig_pubkey *ret_pk);

#endif
