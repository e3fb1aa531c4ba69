/*
 * conf: cascade.conf, an INI file (`;` or `#` comments, `[section]`,
 * `key = value`). The only module that includes inih.
 *
 * Keys (all optional; docs/configuration.md is the reference):
 *   [repository] channel, delta_window, retention, manifest_expires,
 *                default_kind, default_edition, state
 *   [server]     listen (repeatable), threads, connection_memory,
 *                connection_limit, connection_timeout, gc_interval,
 *                upload_max
 *   [component NAME] retention, delta_window
 *   [upstream]   url, channels, trust, license_key, username, password,
 *                proxy, proxy_username, proxy_password, ca_file, schedule,
 *                sync_at_startup, downstream_name
 *   [editions]   order
 *   [notify]     retry_interval, retry_max, window, max_concurrent
 *   [agents]     auto_license, default_group
 *   [group NAME] the policy keys below, for the agents of that group
 * An unknown section or key, or a bad value, is an error naming the line.
 *
 * agent.conf, the endpoint agent's file (conf_agent_*), has no sections:
 *   server (repeatable, or several on one line), enroll_key, trust
 *   (repeatable; globs), dir, group, notify, notify_url, proxy,
 *   proxy_username, proxy_password, ca_file, server_post_update, and the
 *   policy keys: schedule, window, scheduled, user_may_disable,
 *   post_update, config_once_per_day, components.
 * A server is an http:// or https:// URL, kept ending in '/'; notify is
 * longpoll, none, or listen [ADDR] ("[v6]:port", "v4:port", ":port";
 * "[::]:9137" if none). components is a list separated by spaces or
 * commas, or "*" (all: set, and empty). A [group NAME] line declares the
 * group even with no key under it.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define CONF_SIZE_MAX		(1u << 20)
#define CONF_LISTEN_MAX		8
#define CONF_COMPONENTS_MAX	256
#define CONF_VALUE_MAX		256
#define CONF_NAME_MAX		128	/* channel, component, kind, edition */
#define CONF_ERROR_MAX		256
#define CONF_TRUST_MAX		8	/* trusted keys of the upstream */
#define CONF_CHANNELS_MAX	32	/* channels taken from the upstream */
#define CONF_EDITIONS_MAX	16
#define CONF_GROUPS_MAX		32
#define CONF_SERVERS_MAX	8	/* servers of an agent */
#define CONF_SELECT_MAX		32	/* components an agent selects */
#define CONF_COMMAND_MAX	1024	/* post_update */
#define CONF_SCHEDULE_TEXT_MAX	32	/* "weekly mon 02:00" */
#define CONF_UPLOAD_MAX		((uint64_t)1 << 40)	/* upload_max, at most */

/* When something recurs: "every 60m", "daily 02:00", "weekly mon 02:00"
 * (local time). */
struct conf_schedule {
	enum { CONF_EVERY, CONF_DAILY, CONF_WEEKLY } kind;
	int64_t	 every;		/* seconds, CONF_EVERY */
	int	 hour, minute;	/* CONF_DAILY, CONF_WEEKLY */
	int	 wday;		/* 0 = Sunday, CONF_WEEKLY */
};

struct conf_upstream {
	char	 url[CONF_VALUE_MAX];		/* "": not a mirror */
	char	 channels[CONF_CHANNELS_MAX][CONF_NAME_MAX + 1];
	int	 nchannels;			/* 0: every channel ("*") */
	char	 trust[CONF_TRUST_MAX][CONF_VALUE_MAX];	/* key files */
	int	 ntrust;
	char	 license_key[CONF_VALUE_MAX];
	char	 username[CONF_VALUE_MAX];
	char	 password[CONF_VALUE_MAX];
	char	 proxy[CONF_VALUE_MAX];
	char	 proxy_username[CONF_VALUE_MAX];
	char	 proxy_password[CONF_VALUE_MAX];
	char	 ca_file[CONF_VALUE_MAX];
	struct conf_schedule schedule;		/* every 60m */
	int	 sync_at_startup;		/* yes */
	/* the name this mirror reports its inventory under upstream (a
	 * conf_valid_name); "": from the host name (sync.h) */
	char	 downstream_name[CONF_NAME_MAX + 1];
};

/*
 * An agent policy. `set` tells which keys were given, so that a policy
 * (the server's, per group) can override another (agent.conf) key by key.
 */
#define CONF_POLICY_SCHEDULE		0x01
#define CONF_POLICY_WINDOW		0x02
#define CONF_POLICY_SCHEDULED		0x04
#define CONF_POLICY_USER_MAY_DISABLE	0x08
#define CONF_POLICY_POST_UPDATE		0x10
#define CONF_POLICY_CONFIG_ONCE		0x20
#define CONF_POLICY_COMPONENTS		0x40

struct conf_policy {
	unsigned		 set;		/* CONF_POLICY_* given */
	struct conf_schedule	 schedule;	/* every 60m */
	int64_t			 window;	/* seconds; 600 */
	int			 scheduled;	/* yes */
	int			 user_may_disable;	/* yes */
	char			 post_update[CONF_COMMAND_MAX];	/* "": none */
	int			 config_once_per_day;	/* no */
	/* component names; 0: all the license allows */
	char			 components[CONF_SELECT_MAX][CONF_NAME_MAX + 1];
	int			 ncomponents;
};

struct conf_group {
	char			 name[CONF_NAME_MAX + 1];
	struct conf_policy	 policy;
};

struct conf_component {
	char	 name[CONF_NAME_MAX + 1];
	int	 retention;		/* 0: the repository's */
	int	 delta_window;		/* -1: the repository's */
};

struct conf {
	/* [repository] */
	char	 channel[CONF_NAME_MAX + 1];	/* "main" */
	int	 delta_window;			/* 30; 0 disables deltas */
	int	 retention;			/* 30 versions per component */
	int64_t	 manifest_expires;		/* seconds; 7 days */
	char	 default_kind[CONF_NAME_MAX + 1];	/* "pattern" */
	char	 default_edition[CONF_NAME_MAX + 1];	/* "standard" */
	/* "" (SQLite, state.db) or a postgresql:// URL for the tables that
	 * servers sharing one database share (db.h); also read in [server] */
	char	 state[CONF_VALUE_MAX];
	/* [server] */
	char	 listen[CONF_LISTEN_MAX][CONF_VALUE_MAX];
	int	 nlisten;			/* 0: "[::]:8080" */
	int	 threads;			/* 0: one per core */
	int	 connection_memory;		/* bytes per connection */
	int	 connection_limit;
	int	 connection_timeout;		/* seconds idle */
	int64_t	 gc_interval;			/* seconds; 1 day */
	uint64_t upload_max;			/* bytes of a publish upload;
						   1 GiB */

	struct conf_component	 components[CONF_COMPONENTS_MAX];
	int			 ncomponents;

	struct conf_upstream	 upstream;
	/* [editions] order, lowest first; empty: one edition, "standard" */
	char	 editions[CONF_EDITIONS_MAX][CONF_NAME_MAX + 1];
	int	 neditions;

	/* [notify]: pushes to agents that listen */
	int64_t	 notify_retry_interval;		/* seconds; 900 */
	int	 notify_retry_max;		/* 5 */
	int64_t	 notify_window;			/* seconds; 0 */
	int	 notify_max_concurrent;		/* 100 */
	/* [agents] */
	int	 agents_auto_license;		/* yes */
	char	 agents_default_group[CONF_NAME_MAX + 1];	/* "default" */
	/* [group NAME] */
	struct conf_group	 groups[CONF_GROUPS_MAX];
	int			 ngroups;
};

/* agent.conf */
enum conf_notify { CONF_NOTIFY_LONGPOLL, CONF_NOTIFY_LISTEN, CONF_NOTIFY_NONE };

struct conf_agent {
	char	 servers[CONF_SERVERS_MAX][CONF_VALUE_MAX];	/* tried in order */
	int	 nservers;			/* >= 1 after a load */
	char	 enroll_key[CONF_VALUE_MAX];	/* "": none */
	char	 trust[CONF_TRUST_MAX][CONF_VALUE_MAX];	/* globs of .pub */
	int	 ntrust;			/* >= 1 after a load */
	char	 dir[CONF_VALUE_MAX];		/* /var/lib/cascade-agent */
	char	 group[CONF_NAME_MAX + 1];	/* asked at enrolment; "" */
	enum conf_notify notify;		/* longpoll */
	char	 notify_listen[CONF_VALUE_MAX];	/* "[::]:9137" with listen */
	char	 notify_url[CONF_VALUE_MAX];	/* "": from the listen address */
	char	 proxy[CONF_VALUE_MAX];
	char	 proxy_username[CONF_VALUE_MAX];
	char	 proxy_password[CONF_VALUE_MAX];
	char	 ca_file[CONF_VALUE_MAX];
	int	 server_post_update;		/* yes: the server's post_update
						   replaces this file's */
	struct conf_policy	 policy;	/* this file's; defaults filled */
};

/* Fills c with the embedded defaults. */
void	 conf_defaults(struct conf *c);
/* Parses text over the defaults already in c. On error, err gets
 * "line N: ..." and c is left partly updated (parse into a copy).
 * 0, -EBADMSG, -E2BIG. */
int	 conf_parse(struct conf *c, const char *p, size_t len,
	    char err[CONF_ERROR_MAX]);
/* conf_defaults + the file at path (read with a cap). A missing file is
 * an error (-ENOENT). */
int	 conf_load(struct conf *c, const char *path, char err[CONF_ERROR_MAX]);
int	 conf_retention(const struct conf *c, const char *component);
int	 conf_delta_window(const struct conf *c, const char *component);
/* "every 60m", "daily 02:00", "weekly mon 02:00". 0 or -EBADMSG. */
int	 conf_schedule_parse(const char *s, struct conf_schedule *ret);
/* The first time after `now` the schedule fires. */
time_t	 conf_schedule_next(const struct conf_schedule *s, time_t now);
/* Rank of an edition in [editions] order (0 lowest), or -1 if unknown.
 * With no order configured every edition has rank 0. */
int	 conf_edition_rank(const struct conf *c, const char *edition);
/* 1 if the upstream channel is one this mirror takes. */
int	 conf_upstream_takes(const struct conf *c, const char *channel);
/* "every 60m" style text of a schedule (the grammar conf_schedule_parse
 * reads; every in the largest whole unit: s, m, h or d). */
void	 conf_schedule_format(const struct conf_schedule *s,
	    char out[CONF_SCHEDULE_TEXT_MAX]);
/* Seconds between two firings: every, 1 day, or 7 days. */
int64_t	 conf_schedule_period(const struct conf_schedule *s);

/* The policy defaults (set = 0). */
void	 conf_policy_defaults(struct conf_policy *p);
/* Copies into dst each key that `over` sets (and marks it set in dst). */
void	 conf_policy_merge(struct conf_policy *dst,
	    const struct conf_policy *over);
/* The [group NAME] of c, or NULL. */
const struct conf_group *conf_group_find(const struct conf *c,
	    const char *name);

/* agent.conf: defaults, parse over them, load a file (like conf_*).
 * A loaded file must name at least one server and one trust glob. */
void	 conf_agent_defaults(struct conf_agent *a);
int	 conf_agent_parse(struct conf_agent *a, const char *p, size_t len,
	    char err[CONF_ERROR_MAX]);
int	 conf_agent_load(struct conf_agent *a, const char *path,
	    char err[CONF_ERROR_MAX]);
/* The commented sample of agent.conf (docs and `cascade-agent sample`). */
extern const char conf_agent_sample[];

/* The commented sample that `cascade init` writes. */
extern const char conf_sample[];
/* 1 if name is a valid channel, kind or edition name: [a-z0-9][a-z0-9._-]*
 * up to CONF_NAME_MAX; components may also hold '/' between parts. */
int	 conf_valid_name(const char *name, int allow_slash);
/* 1 if s is printable text: valid UTF-8 (no overlong form, surrogate or
 * code point past U+10FFFF) without control characters (C0, DEL, C1).
 * Messages, host names, commands: what may travel in the agents' JSON. */
int	 conf_valid_text(const char *s);

#endif
