/*
 * Unit tests of addr: the listening addresses of the configuration files
 * and the command line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "check.h"
#include "banned.h"

static int
port_of(const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	return ntohs(((const struct sockaddr_in *)ss)->sin_port);
}

static void
test_addr_good(void)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len;

	CHECK_EQ(addr_parse("[::]:8080", &ss, &len), 0);
	CHECK_EQ(ss.ss_family, AF_INET6);
	CHECK_EQ(port_of(&ss), 8080);
	CHECK_EQ(len, sizeof(struct sockaddr_in6));
	CHECK_EQ(addr_parse("[::1]:0", &ss, &len), 0);
	CHECK_EQ(port_of(&ss), 0);
	CHECK_EQ(addr_parse("127.0.0.1:9137", &ss, &len), 0);
	CHECK_EQ(ss.ss_family, AF_INET);
	CHECK_EQ(len, sizeof(struct sockaddr_in));
	CHECK_EQ(port_of(&ss), 9137);
	/* every address: dual stack */
	CHECK_EQ(addr_parse(":80", &ss, &len), 0);
	CHECK_EQ(ss.ss_family, AF_INET6);
	CHECK_EQ(addr_parse("*:65535", &ss, &len), 0);
	CHECK_EQ(port_of(&ss), 65535);
}

static void
test_addr_bad(void)
{
	static const char *bad[] = {
		"", ":", "8080", "[::]", "[::]8080", "[::]:", "[::]:65536",
		"[::]:-1", "[::]:+1", "[::]:1x", "[::]: 1", "::1:80",
		"[127.0.0.1]:80", "[]:80", "[*]:80", "localhost:80",
		"1.2.3:80", "1.2.3.4.5:80", "[::1:80", "[::g]:80",
		"127.0.0.1:99999999999999999999",
		"[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:"
		    "0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:"
		    "0000:0000:0000]:80",
	};
	struct sockaddr_storage	 ss;
	socklen_t		 len = 7;
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (addr_parse(bad[i], &ss, &len) != -EINVAL) {
			CHECK(!"accepted a bad address");
			return;
		}
	}
	CHECK_EQ(len, 7);	/* untouched on failure */
}

int
main(void)
{
	RUN(test_addr_good);
	RUN(test_addr_bad);
	return check_end();
}
