/*
 * fuzz_agentdoc: arbitrary bytes to the four agent document parsers
 * (enrolment, its answer, status, policy). Any result but success,
 * -EBADMSG (with a reason), -E2BIG or -ENOMEM is a bug. A document that
 * parses must emit, and the text must parse back to the same fields; a
 * status report must emit within the size it came in (the server keeps
 * what it re-emits), and a policy's emitted text must be the same bytes
 * when emitted again (only the keys it sets, in a fixed order).
 *
 * The corpus in fuzz/corpus/agentdoc holds small valid and invalid
 * documents like the examples in src/manifest.h.
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

/* about 90 KB each: not on the stack */
static struct manifest_agent_status	 st, st_back;

static void
fail(const char *what, const struct buf *text)
{
	fprintf(stderr, "fuzz_agentdoc: %s\n", what);
	if (text != NULL && text->ptr != NULL)
		fprintf(stderr, "%s", text->ptr);
	abort();
}

/* The result of a parse: an error must be a known one, with a reason. */
static void
check_result(const char *doc, int r, const char *err, size_t errsize)
{
	if (memchr(err, '\0', errsize) == NULL)
		fail("err is not terminated", NULL);
	if (r == 0 || r == -E2BIG || r == -ENOMEM)
		return;
	if (r != -EBADMSG) {
		fprintf(stderr, "fuzz_agentdoc: %s parse returned %d\n", doc,
		    r);
		abort();
	}
	if (err[0] == '\0')
		fail("-EBADMSG without a reason", NULL);
}

static void
enrol(const char *p, size_t size)
{
	struct manifest_enrol	 e, back;
	struct buf		 t;
	char			 err[256];
	int			 r;

	memset(err, 'X', sizeof(err));
	r = manifest_enrol_parse(p, size, &e, err, sizeof(err));
	check_result("enrol", r, err, sizeof(err));
	if (r < 0)
		return;
	buf_init(&t, MANIFEST_DOC_MAX);
	r = manifest_enrol_emit(&e, &t);
	if (r == 0)
		r = manifest_enrol_parse(t.ptr, t.len, &back, err,
		    sizeof(err));
	if (r != 0 && r != -ENOMEM)
		fail("enrol: no round trip", &t);
	if (r == 0 && (strcmp(e.enroll_key, back.enroll_key) != 0 ||
	    strcmp(e.hostname, back.hostname) != 0 ||
	    strcmp(e.group, back.group) != 0))
		fail("enrol: fields differ after a round trip", &t);
	buf_release(&t);
}

static void
enrolled(const char *p, size_t size)
{
	struct manifest_enrolled	 e, back;
	struct buf			 t;
	char				 err[256];
	int				 r;

	memset(err, 'X', sizeof(err));
	r = manifest_enrolled_parse(p, size, &e, err, sizeof(err));
	check_result("enrolled", r, err, sizeof(err));
	if (r < 0)
		return;
	buf_init(&t, MANIFEST_DOC_MAX);
	r = manifest_enrolled_emit(&e, &t);
	if (r == 0)
		r = manifest_enrolled_parse(t.ptr, t.len, &back, err,
		    sizeof(err));
	if (r != 0 && r != -ENOMEM)
		fail("enrolled: no round trip", &t);
	if (r == 0 && (strcmp(e.id, back.id) != 0 ||
	    strcmp(e.token, back.token) != 0 ||
	    strcmp(e.state, back.state) != 0 ||
	    strcmp(e.group, back.group) != 0))
		fail("enrolled: fields differ after a round trip", &t);
	buf_release(&t);
}

static int
status_same(const struct manifest_agent_status *a,
    const struct manifest_agent_status *b)
{
	size_t	 i;

	if (strcmp(a->hostname, b->hostname) != 0 ||
	    strcmp(a->agent_version, b->agent_version) != 0 ||
	    strcmp(a->notify, b->notify) != 0 || a->ok != b->ok ||
	    strcmp(a->message, b->message) != 0 ||
	    strcmp(a->group, b->group) != 0 || a->nkeys != b->nkeys ||
	    a->time != b->time || a->ninstalled != b->ninstalled)
		return 0;
	for (i = 0; i < a->nkeys; i++)
		if (strcmp(a->keys[i], b->keys[i]) != 0)
			return 0;
	for (i = 0; i < a->ninstalled; i++)
		if (strcmp(a->installed[i].name, b->installed[i].name) != 0 ||
		    a->installed[i].version != b->installed[i].version ||
		    strcmp(a->installed[i].sha256, b->installed[i].sha256) != 0)
			return 0;
	return 1;
}

static void
status(const char *p, size_t size)
{
	struct buf	 t;
	char		 err[256];
	int		 r;

	memset(err, 'X', sizeof(err));
	r = manifest_status_parse(p, size, &st, err, sizeof(err));
	check_result("status", r, err, sizeof(err));
	if (r < 0)
		return;
	if (st.nkeys > MANIFEST_KEYS_MAX ||
	    st.ninstalled > MANIFEST_INSTALLED_MAX)
		fail("status: over a cap", NULL);
	buf_init(&t, MANIFEST_DOC_MAX);
	r = manifest_status_emit(&st, &t);
	/* never longer than the text it came from: it emits again */
	if (r == 0 && t.len > size)
		fail("status: emitted longer than it came", &t);
	if (r == 0)
		r = manifest_status_parse(t.ptr, t.len, &st_back, err,
		    sizeof(err));
	if (r != 0 && r != -ENOMEM)
		fail("status: no round trip", &t);
	if (r == 0 && !status_same(&st, &st_back))
		fail("status: fields differ after a round trip", &t);
	buf_release(&t);
}

static int
policy_same(const struct conf_policy *a, const struct conf_policy *b)
{
	int	 i;

	if (a->set != b->set)
		return 0;
	if ((a->set & CONF_POLICY_SCHEDULE) &&
	    (a->schedule.kind != b->schedule.kind ||
	    a->schedule.every != b->schedule.every ||
	    a->schedule.hour != b->schedule.hour ||
	    a->schedule.minute != b->schedule.minute ||
	    a->schedule.wday != b->schedule.wday))
		return 0;
	if (((a->set & CONF_POLICY_WINDOW) && a->window != b->window) ||
	    ((a->set & CONF_POLICY_SCHEDULED) &&
	    a->scheduled != b->scheduled) ||
	    ((a->set & CONF_POLICY_USER_MAY_DISABLE) &&
	    a->user_may_disable != b->user_may_disable) ||
	    ((a->set & CONF_POLICY_POST_UPDATE) &&
	    strcmp(a->post_update, b->post_update) != 0) ||
	    ((a->set & CONF_POLICY_CONFIG_ONCE) &&
	    a->config_once_per_day != b->config_once_per_day))
		return 0;
	if (a->set & CONF_POLICY_COMPONENTS) {
		if (a->ncomponents != b->ncomponents)
			return 0;
		for (i = 0; i < a->ncomponents; i++)
			if (strcmp(a->components[i], b->components[i]) != 0)
				return 0;
	}
	return 1;
}

static void
policy(const char *p, size_t size)
{
	struct conf_policy	 pol, back;
	struct buf		 t1, t2;
	char			 group[MANIFEST_NAME_MAX + 1];
	char			 group2[MANIFEST_NAME_MAX + 1];
	char			 err[256];
	int			 r;

	memset(err, 'X', sizeof(err));
	r = manifest_policy_parse(p, size, group, &pol, err, sizeof(err));
	check_result("policy", r, err, sizeof(err));
	if (r < 0)
		return;
	if (pol.set & ~0x7fu || pol.ncomponents < 0 ||
	    pol.ncomponents > CONF_SELECT_MAX)
		fail("policy: out of bounds", NULL);
	buf_init(&t1, MANIFEST_DOC_MAX);
	buf_init(&t2, MANIFEST_DOC_MAX);
	/* the state is not kept by the parser: any valid one will do */
	r = manifest_policy_emit(group, "licensed", &pol, &t1);
	if (r == 0)
		r = manifest_policy_parse(t1.ptr, t1.len, group2, &back, err,
		    sizeof(err));
	if (r != 0 && r != -ENOMEM)
		fail("policy: no round trip", &t1);
	if (r == 0 && (strcmp(group, group2) != 0 || !policy_same(&pol,
	    &back)))
		fail("policy: fields differ after a round trip", &t1);
	if (r == 0) {
		r = manifest_policy_emit(group2, "licensed", &back, &t2);
		if (r == 0 && (t1.len != t2.len ||
		    memcmp(t1.ptr, t2.ptr, t1.len) != 0))
			fail("policy: emit is not canonical", &t1);
	}
	buf_release(&t1);
	buf_release(&t2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*p = (const char *)data;

	enrol(p, size);
	enrolled(p, size);
	status(p, size);
	policy(p, size);
	return 0;
}
