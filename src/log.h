/*
 * log: one-line messages on stderr, prefixed with the program name.
 * The layer with the context logs once; lower layers return -errno.
 * Messages are lower-case, name the object in quotes, end without a period.
 */
#ifndef LOG_H
#define LOG_H

void	 log_set_program(const char *name);
void	 log_set_verbose(int on);
void	 log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	 log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Logs "...: strerror(-r)" and returns r (a negative errno) unchanged. */
int	 log_errno(int r, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Logs and returns -1: for errors whose message says it all. */
int	 log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Text for a negative errno, including the project's fixed meanings. */
const char *log_strerror(int r);

#endif
