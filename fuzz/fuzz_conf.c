/*
 * fuzz_conf: arbitrary bytes to conf_parse over conf_defaults, and to
 * conf_agent_parse over conf_agent_defaults (agent.conf). Any result but
 * success, -EBADMSG or -E2BIG (-ENOMEM aside) is a bug; so is an error
 * text that is not terminated or, for text without a NUL, does not name
 * its line. A success must leave every value within its documented
 * bounds, and every policy must go out as JSON and back.
 *
 * The corpus in fuzz/corpus/conf holds conf_sample, conf_agent_sample and
 * a few broken files.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conf.h"
#include "manifest.h"
#include "banned.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf	 c;	/* about 100 KB: not on the stack */
static struct conf_agent a;

static void
fail(const char *what, const char *err)
{
	fprintf(stderr, "fuzz_conf: %s%s%s\n", what, err != NULL ? ": " : "",
	    err != NULL ? err : "");
	abort();
}

static int
terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

static void	 check_policy(const struct conf_policy *);

static void
check_bounds(const struct conf *k)
{
	int	 i;

	if (!terminated(k->channel, sizeof(k->channel)) ||
	    !conf_valid_name(k->channel, 0) ||
	    !conf_valid_name(k->default_kind, 0) ||
	    !conf_valid_name(k->default_edition, 0))
		fail("a name out of bounds", NULL);
	if (k->delta_window < 0 || k->delta_window > 1000 ||
	    k->retention < 1 || k->retention > 100000 ||
	    k->manifest_expires < 60 || k->gc_interval < 1)
		fail("a repository value out of bounds", NULL);
	if (k->threads < 0 || k->threads > 256 ||
	    k->connection_memory < 1024 || k->connection_limit < 1 ||
	    k->connection_timeout < 1 || k->connection_timeout > 86400)
		fail("a server value out of bounds", NULL);
	if (k->notify_retry_interval < 1 || k->notify_retry_max < 0 ||
	    k->notify_retry_max > 1000 || k->notify_window < 0 ||
	    k->notify_max_concurrent < 1 ||
	    k->notify_max_concurrent > 100000 ||
	    (k->agents_auto_license != 0 && k->agents_auto_license != 1) ||
	    !conf_valid_name(k->agents_default_group, 0))
		fail("a notify or agents value out of bounds", NULL);
	if (k->ngroups < 0 || k->ngroups > CONF_GROUPS_MAX)
		fail("ngroups out of bounds", NULL);
	for (i = 0; i < k->ngroups; i++) {
		if (!conf_valid_name(k->groups[i].name, 0) ||
		    conf_group_find(k, k->groups[i].name) != &k->groups[i])
			fail("a group name out of bounds", NULL);
		check_policy(&k->groups[i].policy);
	}
	if (k->nlisten < 0 || k->nlisten > CONF_LISTEN_MAX)
		fail("nlisten out of bounds", NULL);
	for (i = 0; i < k->nlisten; i++)
		if (!terminated(k->listen[i], sizeof(k->listen[i])))
			fail("a listen value not terminated", NULL);
	if (k->ncomponents < 0 || k->ncomponents > CONF_COMPONENTS_MAX)
		fail("ncomponents out of bounds", NULL);
	for (i = 0; i < k->ncomponents; i++) {
		const struct conf_component *cc = &k->components[i];

		if (!terminated(cc->name, sizeof(cc->name)) ||
		    !conf_valid_name(cc->name, 1))
			fail("a component name out of bounds", NULL);
		if (cc->retention < 0 || cc->retention > 100000 ||
		    cc->delta_window < -1 || cc->delta_window > 1000)
			fail("a component value out of bounds", NULL);
		if (conf_retention(k, cc->name) < 1 ||
		    conf_delta_window(k, cc->name) < 0)
			fail("an effective value out of bounds", NULL);
	}
}

static void
check_result(const char *p, size_t size, int r, const char *err)
{
	if (!terminated(err, CONF_ERROR_MAX))
		fail("err is not terminated", NULL);
	if (r == 0)
		return;
	if (r != -EBADMSG && r != -E2BIG && r != -ENOMEM) {
		fprintf(stderr, "fuzz_conf: a parse returned %d\n", r);
		abort();
	}
	if (r == -EBADMSG && err[0] == '\0')
		fail("-EBADMSG without a reason", NULL);
	if (r == -EBADMSG && memchr(p, '\0', size) == NULL &&
	    strncmp(err, "line ", 5) != 0)
		fail("the error does not name its line", err);
}

/* In bounds, and out as the server's policy document and back. */
static void
check_policy(const struct conf_policy *p)
{
	struct conf_policy	 back;
	struct conf_schedule	 sc;
	struct buf		 t;
	char			 text[CONF_SCHEDULE_TEXT_MAX], group[CONF_NAME_MAX + 1];
	char			 err[256];
	int			 i, r;

	if (p->set & ~0x7fu || p->window < 0 ||
	    !terminated(p->post_update, sizeof(p->post_update)) ||
	    !conf_valid_text(p->post_update) ||
	    p->ncomponents < 0 || p->ncomponents > CONF_SELECT_MAX)
		fail("a policy value out of bounds", NULL);
	for (i = 0; i < p->ncomponents; i++)
		if (!conf_valid_name(p->components[i], 1))
			fail("a policy component out of bounds", NULL);
	conf_schedule_format(&p->schedule, text);
	if (conf_schedule_parse(text, &sc) < 0 ||
	    conf_schedule_period(&sc) != conf_schedule_period(&p->schedule))
		fail("a schedule does not read back", text);
	buf_init(&t, MANIFEST_DOC_MAX);
	r = manifest_policy_emit("g", "licensed", p, &t);
	if (r == 0)
		r = manifest_policy_parse(t.ptr, t.len, group, &back, err,
		    sizeof(err));
	if (r != 0 && r != -ENOMEM)
		fail("a policy does not go out as JSON and back", t.ptr);
	if (r == 0 && back.set != p->set)
		fail("a policy's keys differ after JSON", t.ptr);
	buf_release(&t);
}

static void
check_agent(const struct conf_agent *k)
{
	int	 i;

	if (k->nservers < 0 || k->nservers > CONF_SERVERS_MAX ||
	    k->ntrust < 0 || k->ntrust > CONF_TRUST_MAX)
		fail("an agent count out of bounds", NULL);
	for (i = 0; i < k->nservers; i++)
		if (!terminated(k->servers[i], sizeof(k->servers[i])) ||
		    (strncmp(k->servers[i], "http://", 7) != 0 &&
		    strncmp(k->servers[i], "https://", 8) != 0) ||
		    k->servers[i][strlen(k->servers[i]) - 1] != '/')
			fail("a server out of bounds", k->servers[i]);
	for (i = 0; i < k->ntrust; i++)
		if (!terminated(k->trust[i], sizeof(k->trust[i])) ||
		    k->trust[i][0] == '\0')
			fail("a trust glob out of bounds", NULL);
	if (k->dir[0] == '\0' || !terminated(k->dir, sizeof(k->dir)))
		fail("dir out of bounds", NULL);
	if (k->group[0] != '\0' && !conf_valid_name(k->group, 0))
		fail("group out of bounds", NULL);
	if ((k->notify == CONF_NOTIFY_LISTEN) != (k->notify_listen[0] != '\0'))
		fail("notify and its address disagree", NULL);
	if (k->server_post_update != 0 && k->server_post_update != 1)
		fail("server_post_update out of bounds", NULL);
	check_policy(&k->policy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data;
	char		 err[CONF_ERROR_MAX];
	int		 r;

	conf_defaults(&c);
	memset(err, 'X', sizeof(err));
	r = conf_parse(&c, p, size, err);
	check_result(p, size, r, err);
	if (r == 0)
		check_bounds(&c);

	conf_agent_defaults(&a);
	memset(err, 'X', sizeof(err));
	r = conf_agent_parse(&a, p, size, err);
	check_result(p, size, r, err);
	if (r == 0)
		check_agent(&a);
	return 0;
}
