/*
 * manifest: one channel's signed state, as JSON (format 1):
 *
 *   {"format": 1, "channel": "main", "serial": 3,
 *    "issued": "2026-11-22T10:00:00Z", "expires": "2026-11-29T10:00:00Z",
 *    "components": [{"name": "virus-pattern", "kind": "pattern",
 *        "edition": "standard", "version": 2, "size": 1234,
 *        "sha256": "<64 hex>", "deltas": [{"from": 1, "size": 56,
 *        "sha256": "<64 hex>"}]}]}
 *
 * docs/formats.md is the reference. The parser takes untrusted bytes
 * (p, len), verified by signature first where they come from a peer, and
 * checks every field, cap and constraint below; unknown members are
 * ignored so that later formats can add some. The only user of jansson.
 */
#ifndef MANIFEST_H
#define MANIFEST_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "crypto.h"

#define MANIFEST_FORMAT		1
#define MANIFEST_SIZE_MAX	(16u << 20)
#define MANIFEST_COMPONENTS_MAX	4096
#define MANIFEST_DELTAS_MAX	1000
#define MANIFEST_NAME_MAX	CONF_NAME_MAX
#define MANIFEST_NUMBER_MAX	((uint64_t)1 << 53)	/* exact in JSON */

struct manifest_delta {
	uint64_t	 from;		/* version it starts from */
	uint64_t	 size;
	char		 sha256[CRYPTO_SHA256_HEX];
};

struct manifest_component {
	char			 name[MANIFEST_NAME_MAX + 1];
	char			 kind[MANIFEST_NAME_MAX + 1];
	char			 edition[MANIFEST_NAME_MAX + 1];
	uint64_t		 version;	/* >= 1 */
	uint64_t		 size;
	char			 sha256[CRYPTO_SHA256_HEX];
	struct manifest_delta	*deltas;	/* owned */
	size_t			 ndeltas;
};

struct manifest {
	char				 channel[MANIFEST_NAME_MAX + 1];
	uint64_t			 serial;	/* >= 1 */
	time_t				 issued;
	time_t				 expires;	/* > issued */
	struct manifest_component	*components;	/* owned */
	size_t				 ncomponents;
};

struct manifest *manifest_new(const char *channel);	/* NULL on ENOMEM */
void	 manifest_free(struct manifest *m);		/* NULL-safe */
/* Appends a component (copied; its deltas array too). Names are checked.
 * 0, -EBADMSG, -E2BIG, -EEXIST (name already there), -ENOMEM. */
int	 manifest_add(struct manifest *m, const struct manifest_component *c);
const struct manifest_component *manifest_find(const struct manifest *m,
	    const char *name);

/* The state document of /v1/state: {"serial": N, "channels": {"main":
 * 12, ...}}. */
#define MANIFEST_STATE_CHANNELS_MAX	256

struct manifest_state_channel {
	char		 name[MANIFEST_NAME_MAX + 1];
	uint64_t	 serial;
};

struct manifest_state {
	uint64_t			 serial;
	struct manifest_state_channel	 ch[MANIFEST_STATE_CHANNELS_MAX];
	size_t				 nch;
};

/* Strict parse of a state document (untrusted, unsigned: it only says
 * what to fetch). 0, -EBADMSG, -E2BIG. */
int	 manifest_state_parse(const char *p, size_t len,
	    struct manifest_state *ret);

/* Strict parse. 0, -EBADMSG (with a reason in err, if not NULL),
 * -E2BIG, -ENOMEM. *ret_m is the caller's. */
int	 manifest_parse(const char *p, size_t len, struct manifest **ret_m,
	    char *err, size_t errsize);
/* Appends the canonical JSON text (2-space indent, trailing newline). */
int	 manifest_emit(const struct manifest *m, struct buf *out);

#endif
