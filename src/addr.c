#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"
#include "ts.h"
#include "banned.h"

int
addr_parse(const char *spec, struct sockaddr_storage *ret_ss,
    socklen_t *ret_len)
{
	struct sockaddr_storage	 ss;
	struct sockaddr_in6	*s6 = (struct sockaddr_in6 *)&ss;
	struct sockaddr_in	*s4 = (struct sockaddr_in *)&ss;
	char			 host[ADDR_MAX];
	const char		*s = spec, *colon, *port;
	uint64_t		 p;
	size_t			 hl;
	int			 v6 = spec[0] == '[';

	memset(&ss, 0, sizeof(ss));
	if (v6) {
		colon = strstr(s, "]:");
		if (colon == NULL)
			return -EINVAL;
		hl = (size_t)(colon - s - 1);
		port = colon + 2;
		s++;
	} else {
		colon = strrchr(s, ':');
		if (colon == NULL)
			return -EINVAL;
		hl = (size_t)(colon - s);
		port = colon + 1;
	}
	if (hl >= sizeof(host) || ts_parse_u64(port, 0, 65535, &p) < 0)
		return -EINVAL;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (!v6 && (hl == 0 || strcmp(host, "*") == 0)) {
		memcpy(host, "::", 3);
		v6 = 1;
	}
	/* brackets hold an IPv6 address, and only they do */
	if (v6 && inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)p);
		*ret_len = sizeof(*s6);
	} else if (!v6 && inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)p);
		*ret_len = sizeof(*s4);
	} else
		return -EINVAL;
	*ret_ss = ss;
	return 0;
}
