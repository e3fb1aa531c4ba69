/*
 * fuzz_agent: arbitrary bytes to agent_state_parse, the parser of
 * cascade-agent's state file. Any result but success, -EBADMSG or -E2BIG
 * is a bug; so is a refusal without "line N: ..." or that leaves a
 * half-filled state. A success must format back into text that parses to
 * the same state (the format is a fixed point after one round).
 *
 * The corpus in fuzz/corpus/agent holds a full state and a few broken ones.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "banned.h"

int	 LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* about 200 KB each: not on the stack */
static struct agent_state	 st, back;

static void
fail(const char *what)
{
	fprintf(stderr, "fuzz_agent: %s\n", what);
	abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf	 t;
	char		 err[256];
	int		 r;

	err[0] = '\0';
	r = agent_state_parse((const char *)data, size, &st, err, sizeof(err));
	if (r < 0) {
		if (r != -EBADMSG && r != -E2BIG)
			fail("unexpected error");
		if (strncmp(err, "line ", 5) != 0 && strncmp(err, "over ", 5) !=
		    0)
			fail("a refusal that names no line");
		if (st.ncomp != 0 || st.nch != 0 || st.has_pending)
			fail("a refusal left a half-filled state");
		return 0;
	}
	if (st.ncomp > AGENT_COMPONENTS_MAX || st.nch > AGENT_CHANNELS_MAX ||
	    st.result > AGENT_RESULT_FAILED)
		fail("a count out of bounds");
	buf_init(&t, AGENT_STATE_MAX);
	if (agent_state_format(&st, &t) < 0)
		fail("cannot format what was parsed");
	if (agent_state_parse(t.ptr, t.len, &back, err, sizeof(err)) < 0)
		fail("cannot parse what was formatted");
	if (memcmp(&st, &back, sizeof(st)) != 0)
		fail("the round trip changed the state");
	buf_release(&t);
	return 0;
}
