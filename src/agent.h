/*
 * agent: cascade-agent, the endpoint daemon (DESIGN.md section 6). It
 * enrols with its server, keeps the components its policy selects
 * current under `dir`, installs each one atomically, keeps the previous
 * version for rollback, runs the post-update command and reports its
 * status. No database: its state is a few small files.
 *
 * Layout under dir (agent.conf `dir`):
 *   dir/COMPONENT            an installed file ("config/default" makes
 *                            the subdirectory)
 *   dir/.cascade/agent       id and token (mode 0600)
 *   dir/.cascade/state       the state below (a strict line format)
 *   dir/.cascade/policy      the server's last policy document
 *   dir/.cascade/channels/   the last verified manifest (and .minisig)
 *                            of each channel
 *   dir/.cascade/prev/COMPONENT   the previous version, for rollback
 *   dir/.cascade/partial/SHA256   downloads to resume (Range)
 *   dir/.cascade/log, log.1  the message log ("RFC3339 message" lines,
 *                            rotated past AGENT_LOG_MAX)
 *   dir/.cascade/NAME.lock   the state lock, the sync lock, the run lock
 *
 * Install order (a kill -9 anywhere leaves dir/COMPONENT the old file or
 * the new one, whole): the new content is verified (size, SHA-256) in
 * dir/.cascade, fsync'ed; the state records it as pending; the current
 * file is hard-linked into prev/; the new one is renamed over it; the
 * directories are fsync'ed; then the state records it installed. At
 * start, an installed file that matches neither the state nor the
 * pending install is reported and fetched again.
 *
 * State ownership between processes (run, sync, pause...): the installed
 * versions and sync results belong to the holder of the sync lock; the
 * paused flag to pause/resume; the schedule times and the notify URL to
 * `run`. Each write takes the state lock, rereads the file and replaces
 * only its own part. The state is never trusted blindly: an installed
 * file is hashed before it serves as a delta base, and a corrupt state
 * file is refused (with its line) rather than rewritten.
 *
 * Each sync tries the servers in order (the next on a connection
 * failure, 5xx or 429): the policy (the server's keys over agent.conf's),
 * /v1/state with the ETag of the last complete sync, a channel's
 * manifest when its serial moved (accepted only when a trusted key signed
 * it, its serial is not lower than the one held and it has not expired),
 * then each selected component by delta from the verified installed
 * version, else whole (resumed), bounded by its signed size. Failures
 * retry with backoff (AGENT_RETRY_MIN doubling to AGENT_RETRY_MAX, at
 * least the server's Retry-After); the installed content stays the last
 * good version.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "conf.h"
#include "fetch.h"
#include "manifest.h"

#define AGENT_VERSION		"0.4.0"
#define AGENT_CONF_DEFAULT	"/etc/cascade/agent.conf"

#define AGENT_STATE_MAX		(512u << 10)	/* the state file */
#define AGENT_LINE_MAX		2048		/* a state line */
#define AGENT_LOG_MAX		(1u << 20)	/* then log -> log.1 */
#define AGENT_COMPONENTS_MAX	MANIFEST_INSTALLED_MAX
#define AGENT_CHANNELS_MAX	64
#define AGENT_KEYS_MAX		MANIFEST_KEYS_MAX
#define AGENT_MESSAGE_MAX	MANIFEST_TEXT_MAX
#define AGENT_DAY_LEN		10		/* "2026-11-22" */
#define AGENT_RETRY_MIN		5		/* seconds; doubles */
#define AGENT_RETRY_MAX		3600
#define AGENT_POST_UPDATE_TIMEOUT 600		/* seconds, then killed */
#define AGENT_OUTPUT_MAX	1024		/* post_update output kept */
#define AGENT_POLL_WAIT		60		/* long-poll wait, seconds */
#define AGENT_NOTIFY_BODY_MAX	4096

/* One installed component. sha256 "" (version 0): a file is there that
 * is no verified version (it is fetched again, never a delta base). */
struct agent_component {
	char		 name[MANIFEST_NAME_MAX + 1];
	char		 kind[MANIFEST_NAME_MAX + 1];
	char		 channel[MANIFEST_NAME_MAX + 1];
	uint64_t	 version;
	char		 sha256[CRYPTO_SHA256_HEX];
	uint64_t	 prev_version;		/* 0: none kept */
	char		 prev_sha256[CRYPTO_SHA256_HEX];
	/* after a rollback: the version not to take again ("": none) */
	char		 held_sha256[CRYPTO_SHA256_HEX];
};

struct agent_channel {
	char		 name[MANIFEST_NAME_MAX + 1];
	uint64_t	 serial;		/* of the manifest held */
};

enum agent_result { AGENT_RESULT_NONE, AGENT_RESULT_OK, AGENT_RESULT_FAILED };

struct agent_state {
	/* the sync lock holder's */
	struct agent_component	 comp[AGENT_COMPONENTS_MAX];
	size_t			 ncomp;
	struct agent_channel	 ch[AGENT_CHANNELS_MAX];
	size_t			 nch;
	int			 has_pending;
	struct agent_component	 pending;	/* an install under way */
	char			 etag[FETCH_ETAG_MAX];	/* of /v1/state */
	uint64_t		 server_serial;
	char			 config_day[AGENT_DAY_LEN + 1];	/* local */
	char			 group[MANIFEST_NAME_MAX + 1];	/* the server's */
	char			 enrolment[16];	/* "pending", "licensed", "" */
	enum agent_result	 result;
	char			 message[AGENT_MESSAGE_MAX + 1];
	time_t			 last_sync;	/* 0: never */
	/* pause and resume's */
	int			 paused;
	/* run's */
	time_t			 next_sync;	/* 0: none planned */
	time_t			 last_report;
	char			 notify[MANIFEST_URL_MAX];	/* run's URL */
};

/* Which part of the state a writer owns (agent_state_commit). */
#define AGENT_STATE_SYNC	0x1
#define AGENT_STATE_PAUSE	0x2
#define AGENT_STATE_RUN		0x4

void	 agent_state_init(struct agent_state *st);
/* Strict parse of a state file's text; err gets "line N: why".
 * 0, -EBADMSG, -E2BIG. */
int	 agent_state_parse(const char *p, size_t len, struct agent_state *st,
	    char *err, size_t errsize);
/* Appends the text of st to out. 0, -E2BIG, -ENOMEM. */
int	 agent_state_format(const struct agent_state *st, struct buf *out);
/* Loads sdir/state (dir/.cascade); a missing file is a fresh state.
 * 0, -EBADMSG (err says where), -errno. */
int	 agent_state_load(const char *sdir, struct agent_state *st,
	    char *err, size_t errsize);
/* Under the state lock: rereads sdir/state and writes it back with the
 * parts in `own` taken from st, durably. 0 or -errno (-EBADMSG when the
 * file on disk is corrupt). */
int	 agent_state_commit(const char *sdir, const struct agent_state *st,
	    unsigned own);
struct agent_component *agent_state_find(struct agent_state *st,
	    const char *name);

/*
 * Installs src (a verified file under dir/.cascade, on dir's filesystem)
 * as dir/name, keeping the current dir/name (when keep_prev) as
 * .cascade/prev/name. 0, -ENOSPC, -errno.
 */
int	 agent_install_file(const char *dir, const char *name,
	    const char *src, int keep_prev);
/* Swaps .cascade/prev/name and dir/name. 0 or -errno. */
int	 agent_swap_prev(const char *dir, const char *name);

/* Seconds to wait after the n-th failure in a row (n >= 1): 5 s doubling
 * to 1 h, at least retry_after (the server's Retry-After; -1: none). */
int64_t	 agent_backoff(int failures, int64_t retry_after);

/*
 * Whether a component of a manifest is one to take: selected by the
 * policy's list (all when empty); of kind config only config/GROUP; and
 * with config_once_per_day a config component at most once per local
 * day (today and config_day "YYYY-MM-DD").
 */
enum agent_pick { AGENT_TAKE, AGENT_NOT_SELECTED, AGENT_OTHER_GROUP,
	AGENT_CONFIG_TAKEN_TODAY };
enum agent_pick agent_pick(const struct conf_policy *pol, const char *group,
	    const char *name, const char *kind, const char *today,
	    const char *config_day);

/*
 * Runs the post-update command with /bin/sh -c, CASCADE_UPDATED (the
 * names, comma-separated) and CASCADE_AGENT_DIR in its environment, for
 * at most timeout seconds (then its process group is killed; also soon
 * after *cancel turns non-zero, when cancel is not NULL). msg gets the
 * first line of its output, or "post_update exited N: first line" (or
 * killed by a signal, or timed out) when it failed: then -1, else 0.
 */
int	 agent_post_update(const char *cmd, const char *updated,
	    const char *dir, int timeout, const volatile int *cancel,
	    char *msg, size_t msgsize);

/* The commands of cascade-agent; each returns the exit status (0 success,
 * 1 failure) and says why on stderr. conf_path: agent.conf. */
int	 agent_cmd_run(const char *conf_path);
int	 agent_cmd_sync(const char *conf_path);
int	 agent_cmd_enroll(const char *conf_path);
int	 agent_cmd_status(const char *conf_path);
int	 agent_cmd_rollback(const char *conf_path, const char *component);
int	 agent_cmd_pause(const char *conf_path, int pause);
int	 agent_cmd_log(const char *conf_path);

#endif
