/*
 * conf: cascade.conf, an INI file (`;` or `#` comments, `[section]`,
 * `key = value`). The only module that includes inih.
 *
 * Keys (all optional; docs/configuration.md is the reference):
 *   [repository] channel, delta_window, retention, manifest_expires,
 *                default_kind, default_edition
 *   [server]     listen (repeatable), threads, connection_memory,
 *                connection_limit, connection_timeout, gc_interval
 *   [component NAME] retention, delta_window
 *   [upstream]   url, channels, trust, license_key, username, password,
 *                proxy, proxy_username, proxy_password, ca_file, schedule,
 *                sync_at_startup
 *   [editions]   order
 * An unknown section or key, or a bad value, is an error naming the line.
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
	/* [server] */
	char	 listen[CONF_LISTEN_MAX][CONF_VALUE_MAX];
	int	 nlisten;			/* 0: "[::]:8080" */
	int	 threads;			/* 0: one per core */
	int	 connection_memory;		/* bytes per connection */
	int	 connection_limit;
	int	 connection_timeout;		/* seconds idle */
	int64_t	 gc_interval;			/* seconds; 1 day */

	struct conf_component	 components[CONF_COMPONENTS_MAX];
	int			 ncomponents;

	struct conf_upstream	 upstream;
	/* [editions] order, lowest first; empty: one edition, "standard" */
	char	 editions[CONF_EDITIONS_MAX][CONF_NAME_MAX + 1];
	int	 neditions;
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
/* The commented sample that `cascade init` writes. */
extern const char conf_sample[];
/* 1 if name is a valid channel, kind or edition name: [a-z0-9][a-z0-9._-]*
 * up to CONF_NAME_MAX; components may also hold '/' between parts. */
int	 conf_valid_name(const char *name, int allow_slash);

#endif
