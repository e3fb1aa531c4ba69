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
 * An unknown section or key, or a bad value, is an error naming the line.
 */
#ifndef CONF_H
#define CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_SIZE_MAX		(1u << 20)
#define CONF_LISTEN_MAX		8
#define CONF_COMPONENTS_MAX	256
#define CONF_VALUE_MAX		256
#define CONF_NAME_MAX		128	/* channel, component, kind, edition */
#define CONF_ERROR_MAX		256

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
/* The commented sample that `cascade init` writes. */
extern const char conf_sample[];
/* 1 if name is a valid channel, kind or edition name: [a-z0-9][a-z0-9._-]*
 * up to CONF_NAME_MAX; components may also hold '/' between parts. */
int	 conf_valid_name(const char *name, int allow_slash);

#endif
