/*
 * addr: the listening addresses of cascade.conf, agent.conf and the
 * command line: "[v6 address]:port", "v4 address:port", and ":port" or
 * "*:port" for every address (IPv6 and IPv4, dual stack). One parser, so
 * that a configuration file is checked with the grammar the server binds
 * with. Port 0 asks the system for a free one; an IPv6 address is
 * written in brackets, and only it.
 */
#ifndef ADDR_H
#define ADDR_H

#include <sys/socket.h>

#define ADDR_MAX	128	/* "[v6 address]:port" and its NUL */

/* 0 (*ret_ss and *ret_len filled), -EINVAL (not an address:port). */
int	 addr_parse(const char *spec, struct sockaddr_storage *ret_ss,
	    socklen_t *ret_len);

#endif
