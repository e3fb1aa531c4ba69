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
 * ignored so that later formats can add some. The only user of jansson,
 * so the other JSON documents of the protocol are here too: the state
 * document, the agents' enrolment, status and policy, and a downstream
 * mirror's inventory and its answer (docs/api.md).
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

/*
 * Agents' documents (docs/api.md). Every parser is strict about types,
 * lengths and characters (names as conf_valid_name, text printable UTF-8
 * without control characters, as conf_valid_text) and fills a caller's
 * struct only on success; 0, -EBADMSG with a reason in err (may be
 * NULL), -E2BIG (over a cap), -ENOMEM. Unknown members are ignored.
 * Every emitter appends one line of JSON (members in the order shown,
 * ended by a newline; the status report compact, without one) that its
 * parser takes back; 0, -EINVAL (a field the parser would refuse),
 * -E2BIG (over MANIFEST_DOC_MAX, or out's cap; out is left as it was),
 * -ENOMEM.
 */
#define MANIFEST_DOC_MAX	(64u << 10)	/* any agent document */
#define MANIFEST_AGENT_ID_MAX	32		/* hex */
#define MANIFEST_TOKEN_MAX	64		/* hex */
#define MANIFEST_HOST_MAX	255
#define MANIFEST_TEXT_MAX	1024		/* messages */
#define MANIFEST_URL_MAX	CONF_VALUE_MAX
#define MANIFEST_VERSION_TEXT_MAX 32		/* "0.4.0" */
#define MANIFEST_KEYS_MAX	16
#define MANIFEST_INSTALLED_MAX	256

/* POST /v1/agents: {"enroll_key": "...", "hostname": "...", "group":
 * "..."}; enroll_key and group may be absent (""). */
struct manifest_enrol {
	char	 enroll_key[CONF_VALUE_MAX];
	char	 hostname[MANIFEST_HOST_MAX + 1];
	char	 group[MANIFEST_NAME_MAX + 1];
};
int	 manifest_enrol_parse(const char *p, size_t len,
	    struct manifest_enrol *ret, char *err, size_t errsize);
int	 manifest_enrol_emit(const struct manifest_enrol *e, struct buf *out);

/* Its answer: {"id": "<32 hex>", "token": "<64 hex>", "state":
 * "pending"|"licensed", "group": "..."}. */
struct manifest_enrolled {
	char	 id[MANIFEST_AGENT_ID_MAX + 1];
	char	 token[MANIFEST_TOKEN_MAX + 1];
	char	 state[16];
	char	 group[MANIFEST_NAME_MAX + 1];
};
int	 manifest_enrolled_parse(const char *p, size_t len,
	    struct manifest_enrolled *ret, char *err, size_t errsize);
int	 manifest_enrolled_emit(const struct manifest_enrolled *e,
	    struct buf *out);

/* PUT /v1/agents/{id}/status:
 *   {"hostname": "...", "agent_version": "0.4.0", "notify": "http://...",
 *    "result": "ok"|"failed", "message": "...", "group": "default",
 *    "keys": ["<16 hex key id>", ...], "time": "<RFC 3339>",
 *    "installed": [{"name": "virus-pattern", "version": 3,
 *        "sha256": "<64 hex>"}, ...]}
 * keys are the ids of the channel keys the agent accepts (read in either
 * case, kept upper-case); time is the agent's last sync (absent before
 * the first). Only hostname, agent_version and result are required. The
 * emitter leaves out the members that are empty, so that a report that
 * parsed always emits again within MANIFEST_DOC_MAX. */
struct manifest_installed {
	char		 name[MANIFEST_NAME_MAX + 1];
	uint64_t	 version;
	char		 sha256[CRYPTO_SHA256_HEX];
};

struct manifest_agent_status {
	char			 hostname[MANIFEST_HOST_MAX + 1];
	char			 agent_version[MANIFEST_VERSION_TEXT_MAX + 1];
	char			 notify[MANIFEST_URL_MAX];	/* "": none */
	int			 ok;		/* result "ok" (1) or "failed" */
	char			 message[MANIFEST_TEXT_MAX + 1];
	char			 group[MANIFEST_NAME_MAX + 1];
	char			 keys[MANIFEST_KEYS_MAX][17];
	size_t			 nkeys;
	time_t			 time;		/* 0: none */
	struct manifest_installed installed[MANIFEST_INSTALLED_MAX];
	size_t			 ninstalled;
};
int	 manifest_status_parse(const char *p, size_t len,
	    struct manifest_agent_status *ret, char *err, size_t errsize);
int	 manifest_status_emit(const struct manifest_agent_status *st,
	    struct buf *out);

/* GET /v1/agents/{id}/policy: {"group": "default", "state": "licensed",
 * and each key the group's policy sets: "schedule": "every 60m",
 * "window": 600, "scheduled": true, "user_may_disable": true,
 * "post_update": "...", "config_once_per_day": false, "components":
 * [...]}. Parsing fills only the keys present (p->set). */
int	 manifest_policy_parse(const char *p, size_t len,
	    char group[MANIFEST_NAME_MAX + 1], struct conf_policy *ret,
	    char *err, size_t errsize);
int	 manifest_policy_emit(const char *group, const char *state,
	    const struct conf_policy *pol, struct buf *out);

/*
 * A downstream mirror's inventory, PUT /v1/downstreams/{name}/inventory:
 *   {"name": "branch-1", "channels": {"main": 12, "vendor": 0},
 *    "components": [{"channel": "main", "name": "virus-pattern",
 *        "version": 3, "sha256": "<64 hex>"}, ...]}
 * name is the downstream's (a conf_valid_name); channels are those it
 * takes from its upstream, each with the serial it holds (0: none yet);
 * components are the current versions it holds, each in a listed
 * channel, a (channel, name) pair at most once. The whole document is
 * an agent document as above (MANIFEST_DOC_MAX; compact, without a
 * newline, so that what parsed always emits again within the size it
 * came in). The parser keeps the items sorted by channel, then name,
 * which manifest_inventory_find needs.
 */
#define MANIFEST_INVENTORY_CHANNELS_MAX		MANIFEST_STATE_CHANNELS_MAX
#define MANIFEST_INVENTORY_COMPONENTS_MAX	1024

struct manifest_inventory_item {
	char		 channel[MANIFEST_NAME_MAX + 1];
	char		 name[MANIFEST_NAME_MAX + 1];
	uint64_t	 version;	/* >= 1 */
	char		 sha256[CRYPTO_SHA256_HEX];
};

struct manifest_inventory {
	char				 name[MANIFEST_NAME_MAX + 1];
	struct manifest_state_channel	*ch;		/* owned */
	size_t				 nch;
	struct manifest_inventory_item	*items;		/* owned */
	size_t				 nitems;
};

/* An empty inventory of the downstream name (checked at emit): NULL on
 * ENOMEM. */
struct manifest_inventory *manifest_inventory_new(const char *name);
void	 manifest_inventory_free(struct manifest_inventory *inv); /* NULL-safe */
/* Appends a channel, or an item (copied). Fields are checked at emit.
 * 0, -E2BIG (over a cap), -ENOMEM. */
int	 manifest_inventory_add_channel(struct manifest_inventory *inv,
	    const char *channel, uint64_t serial);
int	 manifest_inventory_add(struct manifest_inventory *inv,
	    const struct manifest_inventory_item *it);
/* Sorts the items by channel, then name (as the parser leaves them). */
void	 manifest_inventory_sort(struct manifest_inventory *inv);
/* The item of (channel, name) in sorted items, or NULL. */
const struct manifest_inventory_item *manifest_inventory_find(
	    const struct manifest_inventory *inv, const char *channel,
	    const char *name);
/* The serial held of a listed channel; -ENOENT when it is not listed. */
int	 manifest_inventory_channel(const struct manifest_inventory *inv,
	    const char *channel, uint64_t *ret_serial);
/* *ret is the caller's (manifest_inventory_free). */
int	 manifest_inventory_parse(const char *p, size_t len,
	    struct manifest_inventory **ret, char *err, size_t errsize);
int	 manifest_inventory_emit(const struct manifest_inventory *inv,
	    struct buf *out);

/* The upstream's answer to an inventory: {"schedule": "every 30m" or
 * null, "at_startup": true}: the schedule set for this downstream
 * upstream, if any, and whether it also syncs at start-up. */
struct manifest_inventory_answer {
	int			 scheduled;	/* 0: "schedule" is null */
	struct conf_schedule	 schedule;
	int			 at_startup;
};
int	 manifest_inventory_answer_parse(const char *p, size_t len,
	    struct manifest_inventory_answer *ret, char *err, size_t errsize);
int	 manifest_inventory_answer_emit(
	    const struct manifest_inventory_answer *a, struct buf *out);

/*
 * The admin API's documents (docs/openapi.yaml) are flat JSON objects,
 * or arrays of them, read here member by member: its request bodies on
 * the server, its answers in the CLI's remote mode. Each field names a
 * member and the type it must have (ANY: any scalar); its value comes
 * back as text (a string as is, an integer in decimal, a boolean as
 * "true" or "false"), with present 0 when the member is absent or null.
 * Other members are ignored. 0, -EBADMSG (malformed, not an object, or
 * a member of another type; the reason in err), -E2BIG (a value longer
 * than its buffer, or a document over the cap: MANIFEST_DOC_MAX for an
 * object).
 */
enum manifest_field_type {
	MANIFEST_FIELD_ANY, MANIFEST_FIELD_STRING, MANIFEST_FIELD_BOOL,
	MANIFEST_FIELD_INT
};

struct manifest_field {
	const char			*name;
	enum manifest_field_type	 type;
	char				*value;		/* out, size bytes */
	size_t				 size;
	int				 present;	/* out */
};

int	 manifest_fields_parse(const char *p, size_t len,
	    struct manifest_field *f, size_t n, char *err, size_t errsize);
/* An array of such objects, at most max bytes: fn is called with the
 * fields of each, in order; a non-zero return of fn stops the walk and
 * is returned. */
int	 manifest_rows_parse(const char *p, size_t len, size_t max,
	    struct manifest_field *f, size_t n,
	    int (*fn)(void *arg, const struct manifest_field *f, size_t n),
	    void *arg, char *err, size_t errsize);

/* Strict parse. 0, -EBADMSG (with a reason in err, if not NULL),
 * -E2BIG, -ENOMEM. *ret_m is the caller's. */
int	 manifest_parse(const char *p, size_t len, struct manifest **ret_m,
	    char *err, size_t errsize);
/* Appends the canonical JSON text (2-space indent, trailing newline). */
int	 manifest_emit(const struct manifest *m, struct buf *out);

#endif
