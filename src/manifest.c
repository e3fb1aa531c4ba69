#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest.h"
#include "ts.h"
#include "banned.h"

struct manifest *
manifest_new(const char *channel)
{
	struct manifest	*m;

	if (strlen(channel) > MANIFEST_NAME_MAX)
		return NULL;
	m = calloc(1, sizeof(*m));
	if (m == NULL)
		return NULL;
	memcpy(m->channel, channel, strlen(channel) + 1);
	return m;
}

void
manifest_free(struct manifest *m)
{
	size_t	 i;

	if (m == NULL)
		return;
	for (i = 0; i < m->ncomponents; i++)
		free(m->components[i].deltas);
	free(m->components);
	free(m);
}

const struct manifest_component *
manifest_find(const struct manifest *m, const char *name)
{
	size_t	 i;

	for (i = 0; i < m->ncomponents; i++)
		if (strcmp(m->components[i].name, name) == 0)
			return &m->components[i];
	return NULL;
}

static int
manifest_check_component(const struct manifest_component *c)
{
	size_t	 i, j;

	if (!conf_valid_name(c->name, 1) || !conf_valid_name(c->kind, 0) ||
	    !conf_valid_name(c->edition, 0))
		return -EBADMSG;
	if (c->version < 1 || c->version > MANIFEST_NUMBER_MAX ||
	    c->size > MANIFEST_NUMBER_MAX)
		return -EBADMSG;
	if (!crypto_is_sha256_hex(c->sha256, strlen(c->sha256)))
		return -EBADMSG;
	if (c->ndeltas > MANIFEST_DELTAS_MAX)
		return -E2BIG;
	for (i = 0; i < c->ndeltas; i++) {
		const struct manifest_delta *d = &c->deltas[i];

		if (d->from < 1 || d->from >= c->version ||
		    d->size > MANIFEST_NUMBER_MAX ||
		    !crypto_is_sha256_hex(d->sha256, strlen(d->sha256)))
			return -EBADMSG;
		for (j = 0; j < i; j++)
			if (c->deltas[j].from == d->from)
				return -EBADMSG;
	}
	return 0;
}

int
manifest_add(struct manifest *m, const struct manifest_component *c)
{
	struct manifest_component	*nc, *arr;
	int				 r;

	r = manifest_check_component(c);
	if (r < 0)
		return r;
	if (manifest_find(m, c->name) != NULL)
		return -EEXIST;
	if (m->ncomponents == MANIFEST_COMPONENTS_MAX)
		return -E2BIG;
	arr = realloc(m->components, (m->ncomponents + 1) * sizeof(*arr));
	if (arr == NULL)
		return -ENOMEM;
	m->components = arr;
	nc = &arr[m->ncomponents];
	*nc = *c;
	nc->deltas = NULL;
	if (c->ndeltas > 0) {
		nc->deltas = calloc(c->ndeltas, sizeof(*nc->deltas));
		if (nc->deltas == NULL)
			return -ENOMEM;
		memcpy(nc->deltas, c->deltas, c->ndeltas * sizeof(*c->deltas));
	}
	m->ncomponents++;
	return 0;
}

/* Parsing. Each helper sets err on failure and returns -EBADMSG. */

static int
perr(char *err, size_t errsize, const char *fmt, ...)
{
	va_list	 ap;

	if (err != NULL && errsize > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errsize, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

static int
get_u64(json_t *obj, const char *key, uint64_t *ret, char *err,
    size_t errsize)
{
	json_t		*v = json_object_get(obj, key);
	json_int_t	 i;

	if (v == NULL)
		return perr(err, errsize, "missing '%s'", key);
	if (!json_is_integer(v))
		return perr(err, errsize, "'%s' is not an integer", key);
	i = json_integer_value(v);
	if (i < 0 || (uint64_t)i > MANIFEST_NUMBER_MAX)
		return perr(err, errsize, "'%s' out of range", key);
	*ret = (uint64_t)i;
	return 0;
}

static int
get_str(json_t *obj, const char *key, char *dst, size_t dstsize,
    char *err, size_t errsize)
{
	json_t		*v = json_object_get(obj, key);
	const char	*s;
	size_t		 n;

	if (v == NULL)
		return perr(err, errsize, "missing '%s'", key);
	if (!json_is_string(v))
		return perr(err, errsize, "'%s' is not a string", key);
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= dstsize || strlen(s) != n)
		return perr(err, errsize, "'%s' too long or holds NUL", key);
	memcpy(dst, s, n + 1);
	return 0;
}

static int
get_time(json_t *obj, const char *key, time_t *ret, char *err,
    size_t errsize)
{
	char	 s[TS_LEN + 1];

	if (get_str(obj, key, s, sizeof(s), err, errsize) < 0)
		return -EBADMSG;
	if (ts_parse(s, strlen(s), ret) < 0)
		return perr(err, errsize, "'%s' is not an RFC 3339 UTC time",
		    key);
	return 0;
}

static int
parse_component(json_t *jc, struct manifest_component *c, char *err,
    size_t errsize)
{
	json_t	*jd, *d;
	size_t	 i;
	int	 r;

	memset(c, 0, sizeof(*c));
	if (!json_is_object(jc))
		return perr(err, errsize, "component is not an object");
	if (get_str(jc, "name", c->name, sizeof(c->name), err, errsize) < 0 ||
	    get_str(jc, "kind", c->kind, sizeof(c->kind), err, errsize) < 0 ||
	    get_str(jc, "edition", c->edition, sizeof(c->edition), err,
	    errsize) < 0 ||
	    get_u64(jc, "version", &c->version, err, errsize) < 0 ||
	    get_u64(jc, "size", &c->size, err, errsize) < 0 ||
	    get_str(jc, "sha256", c->sha256, sizeof(c->sha256), err,
	    errsize) < 0)
		return -EBADMSG;
	jd = json_object_get(jc, "deltas");
	if (jd == NULL || !json_is_array(jd))
		return perr(err, errsize, "component '%s': 'deltas' is not "
		    "an array", c->name);
	if (json_array_size(jd) > MANIFEST_DELTAS_MAX)
		return perr(err, errsize, "component '%s': too many deltas",
		    c->name);
	c->ndeltas = json_array_size(jd);
	if (c->ndeltas > 0) {
		c->deltas = calloc(c->ndeltas, sizeof(*c->deltas));
		if (c->deltas == NULL)
			return -ENOMEM;
	}
	json_array_foreach(jd, i, d) {
		if (!json_is_object(d))
			return perr(err, errsize, "delta is not an object");
		if (get_u64(d, "from", &c->deltas[i].from, err, errsize) < 0 ||
		    get_u64(d, "size", &c->deltas[i].size, err, errsize) < 0 ||
		    get_str(d, "sha256", c->deltas[i].sha256,
		    sizeof(c->deltas[i].sha256), err, errsize) < 0)
			return -EBADMSG;
	}
	r = manifest_check_component(c);
	if (r < 0)
		return perr(err, errsize, "component '%s' is invalid",
		    c->name);
	return 0;
}

int
manifest_parse(const char *p, size_t len, struct manifest **ret_m,
    char *err, size_t errsize)
{
	struct manifest_component	 c;
	struct manifest			*m = NULL;
	json_error_t			 jerr;
	json_t				*root, *jcs, *jc;
	uint64_t			 format;
	size_t				 i;
	int				 r;

	if (err != NULL && errsize > 0)
		err[0] = '\0';
	if (len > MANIFEST_SIZE_MAX) {
		perr(err, errsize, "over %u bytes", MANIFEST_SIZE_MAX);
		return -E2BIG;
	}
	root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return perr(err, errsize, "line %d: %s", jerr.line, jerr.text);
	memset(&c, 0, sizeof(c));
	r = -EBADMSG;
	if (!json_is_object(root)) {
		perr(err, errsize, "not a JSON object");
		goto out;
	}
	if (get_u64(root, "format", &format, err, errsize) < 0)
		goto out;
	if (format != MANIFEST_FORMAT) {
		perr(err, errsize, "unknown format %llu",
		    (unsigned long long)format);
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		r = -ENOMEM;
		goto out;
	}
	if (get_str(root, "channel", m->channel, sizeof(m->channel), err,
	    errsize) < 0 ||
	    get_u64(root, "serial", &m->serial, err, errsize) < 0 ||
	    get_time(root, "issued", &m->issued, err, errsize) < 0 ||
	    get_time(root, "expires", &m->expires, err, errsize) < 0)
		goto out;
	if (!conf_valid_name(m->channel, 0)) {
		perr(err, errsize, "bad channel name");
		goto out;
	}
	if (m->serial < 1) {
		perr(err, errsize, "serial must be at least 1");
		goto out;
	}
	if (m->expires <= m->issued) {
		perr(err, errsize, "expires before it is issued");
		goto out;
	}
	jcs = json_object_get(root, "components");
	if (jcs == NULL || !json_is_array(jcs)) {
		perr(err, errsize, "'components' is not an array");
		goto out;
	}
	if (json_array_size(jcs) > MANIFEST_COMPONENTS_MAX) {
		perr(err, errsize, "too many components");
		r = -E2BIG;
		goto out;
	}
	json_array_foreach(jcs, i, jc) {
		r = parse_component(jc, &c, err, errsize);
		if (r < 0)
			goto out;
		r = manifest_add(m, &c);
		if (r == -EEXIST)
			r = perr(err, errsize, "component '%s' listed twice",
			    c.name);
		if (r < 0)
			goto out;
		free(c.deltas);
		c.deltas = NULL;
	}
	*ret_m = m;
	m = NULL;
	r = 0;
out:
	free(c.deltas);
	manifest_free(m);
	json_decref(root);
	return r;
}

int
manifest_state_parse(const char *p, size_t len, struct manifest_state *ret)
{
	json_error_t	 jerr;
	json_t		*root, *chs, *v;
	const char	*name;
	int		 r = -EBADMSG;

	if (len > MANIFEST_SIZE_MAX)
		return -E2BIG;
	root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return -EBADMSG;
	memset(ret, 0, sizeof(*ret));
	if (!json_is_object(root) ||
	    get_u64(root, "serial", &ret->serial, NULL, 0) < 0)
		goto out;
	chs = json_object_get(root, "channels");
	if (chs == NULL || !json_is_object(chs))
		goto out;
	if (json_object_size(chs) > MANIFEST_STATE_CHANNELS_MAX) {
		r = -E2BIG;
		goto out;
	}
	json_object_foreach(chs, name, v) {
		struct manifest_state_channel *c = &ret->ch[ret->nch];

		if (!conf_valid_name(name, 0) || !json_is_integer(v) ||
		    json_integer_value(v) < 0 ||
		    (uint64_t)json_integer_value(v) > MANIFEST_NUMBER_MAX)
			goto out;
		memcpy(c->name, name, strlen(name) + 1);
		c->serial = (uint64_t)json_integer_value(v);
		ret->nch++;
	}
	r = 0;
out:
	json_decref(root);
	return r;
}

/* Emitting: built with jansson in the order of the format, so the text is
 * canonical for a given manifest. */

static json_t *
emit_component(const struct manifest_component *c)
{
	json_t	*jc, *jd, *d;
	size_t	 i;

	jd = json_array();
	for (i = 0; jd != NULL && i < c->ndeltas; i++) {
		d = json_pack("{s:I, s:I, s:s}",
		    "from", (json_int_t)c->deltas[i].from,
		    "size", (json_int_t)c->deltas[i].size,
		    "sha256", c->deltas[i].sha256);
		if (d == NULL || json_array_append_new(jd, d) < 0) {
			json_decref(jd);
			return NULL;
		}
	}
	if (jd == NULL)
		return NULL;
	jc = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:o}",
	    "name", c->name, "kind", c->kind, "edition", c->edition,
	    "version", (json_int_t)c->version, "size", (json_int_t)c->size,
	    "sha256", c->sha256, "deltas", jd);
	return jc;
}

int
manifest_emit(const struct manifest *m, struct buf *out)
{
	char	 issued[TS_LEN + 1], expires[TS_LEN + 1];
	json_t	*root = NULL, *jcs, *jc;
	char	*text = NULL;
	size_t	 i;
	int	 r = -ENOMEM;

	ts_format(m->issued, issued);
	ts_format(m->expires, expires);
	jcs = json_array();
	for (i = 0; jcs != NULL && i < m->ncomponents; i++) {
		jc = emit_component(&m->components[i]);
		if (jc == NULL || json_array_append_new(jcs, jc) < 0)
			goto out;
	}
	if (jcs == NULL)
		goto out;
	root = json_pack("{s:i, s:s, s:I, s:s, s:s, s:o}",
	    "format", MANIFEST_FORMAT, "channel", m->channel,
	    "serial", (json_int_t)m->serial, "issued", issued,
	    "expires", expires, "components", jcs);
	jcs = NULL;
	if (root == NULL)
		goto out;
	text = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (text == NULL)
		goto out;
	r = buf_puts(out, text);
	if (r == 0)
		r = buf_append(out, "\n", 1);
out:
	free(text);
	json_decref(jcs);
	json_decref(root);
	return r;
}

/* ---- agents' documents --------------------------------------------------- */

/*
 * Each document has a check of its struct, used by the parser (after
 * filling it) and by the emitter (before writing it), so that whatever
 * emits also parses back.
 */

#define MANIFEST_TIME_MAX	((time_t)253402300799)	/* 9999-12-31T23:59:59Z */
#define MANIFEST_WINDOW_MAX	((json_int_t)10 * 366 * 86400)	/* as ts */

static void
err_clear(char *err, size_t errsize)
{
	if (err != NULL && errsize > 0)
		err[0] = '\0';
}

/* The JSON object of an agent document, or an error with its reason. */
static int
doc_load(const char *p, size_t len, json_t **ret_root, char *err,
    size_t errsize)
{
	json_error_t	 jerr;
	json_t		*root;

	err_clear(err, errsize);
	if (len > MANIFEST_DOC_MAX) {
		perr(err, errsize, "document over %u bytes", MANIFEST_DOC_MAX);
		return -E2BIG;
	}
	root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return perr(err, errsize, "line %d: %s", jerr.line, jerr.text);
	if (!json_is_object(root)) {
		json_decref(root);
		return perr(err, errsize, "not a JSON object");
	}
	*ret_root = root;
	return 0;
}

/* A string member that may be absent (""). */
static int
get_opt_str(json_t *obj, const char *key, char *dst, size_t dstsize,
    char *err, size_t errsize)
{
	if (json_object_get(obj, key) == NULL) {
		dst[0] = '\0';
		return 0;
	}
	return get_str(obj, key, dst, dstsize, err, errsize);
}

static int
get_bool(json_t *obj, const char *key, int *ret, char *err, size_t errsize)
{
	json_t	*v = json_object_get(obj, key);

	if (!json_is_boolean(v))
		return perr(err, errsize, "'%s' is not true or false", key);
	*ret = json_is_true(v);
	return 0;
}

/* Printable text of at most max bytes. */
static int
check_text(const char *key, const char *s, size_t max, char *err,
    size_t errsize)
{
	if (strlen(s) > max)
		return perr(err, errsize, "'%s' over %zu bytes", key, max);
	if (!conf_valid_text(s))
		return perr(err, errsize, "'%s' holds control characters or "
		    "bad UTF-8", key);
	return 0;
}

static int
check_name(const char *key, const char *s, int allow_slash, int may_be_empty,
    char *err, size_t errsize)
{
	if (s[0] == '\0' && may_be_empty)
		return 0;
	if (!conf_valid_name(s, allow_slash))
		return perr(err, errsize, "'%s' is not a valid name", key);
	return 0;
}

static int
is_lower_hex(const char *s, size_t len)
{
	size_t	 i;

	if (strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* "" or an http:// or https:// URL, printable, without blanks. */
static int
check_url(const char *key, const char *s, char *err, size_t errsize)
{
	if (s[0] == '\0')
		return 0;
	if (strlen(s) >= MANIFEST_URL_MAX)
		return perr(err, errsize, "'%s' too long", key);
	if ((strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) ||
	    strchr(s, ' ') != NULL || !conf_valid_text(s))
		return perr(err, errsize, "'%s' is not an http:// or https:// "
		    "URL", key);
	return 0;
}

/* Appends root as one line of text; takes root. Spaced like the other
 * documents of the API and ended by a newline, or, with compact, neither
 * (below). A text the parsers would refuse as too big is not emitted. */
static int
doc_emit(json_t *root, int compact, struct buf *out)
{
	char	*text;
	size_t	 n;
	int	 r;

	if (root == NULL)
		return -ENOMEM;
	text = json_dumps(root, JSON_PRESERVE_ORDER |
	    (compact ? JSON_COMPACT : 0));
	json_decref(root);
	if (text == NULL)
		return -ENOMEM;
	n = strlen(text);
	if (n + (compact ? 0 : 1) > MANIFEST_DOC_MAX) {
		free(text);
		return -E2BIG;
	}
	r = buf_append(out, text, n);
	if (r == 0 && !compact) {
		r = buf_append(out, "\n", 1);
		if (r < 0)
			out->len -= n;	/* as it was */
	}
	free(text);
	return r;
}

/* Sets key to a new value in obj; a NULL value (no memory) fails. */
static int
set_new(json_t *obj, const char *key, json_t *v)
{
	if (v == NULL || json_object_set_new(obj, key, v) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- enrolment ---- */

static int
enrol_check(const struct manifest_enrol *e, char *err, size_t errsize)
{
	if (check_text("enroll_key", e->enroll_key, sizeof(e->enroll_key) - 1,
	    err, errsize) < 0 ||
	    check_text("hostname", e->hostname, MANIFEST_HOST_MAX, err,
	    errsize) < 0 ||
	    check_name("group", e->group, 0, 1, err, errsize) < 0)
		return -EBADMSG;
	if (e->hostname[0] == '\0')
		return perr(err, errsize, "'hostname' is empty");
	return 0;
}

int
manifest_enrol_parse(const char *p, size_t len, struct manifest_enrol *ret,
    char *err, size_t errsize)
{
	struct manifest_enrol	 e;
	json_t			*root;
	int			 r;

	r = doc_load(p, len, &root, err, errsize);
	if (r < 0)
		return r;
	memset(&e, 0, sizeof(e));
	r = -EBADMSG;
	if (get_opt_str(root, "enroll_key", e.enroll_key, sizeof(e.enroll_key),
	    err, errsize) < 0 ||
	    get_str(root, "hostname", e.hostname, sizeof(e.hostname), err,
	    errsize) < 0 ||
	    get_opt_str(root, "group", e.group, sizeof(e.group), err,
	    errsize) < 0 ||
	    enrol_check(&e, err, errsize) < 0)
		goto out;
	*ret = e;
	r = 0;
out:
	json_decref(root);
	return r;
}

int
manifest_enrol_emit(const struct manifest_enrol *e, struct buf *out)
{
	json_t	*root;

	if (enrol_check(e, NULL, 0) < 0)
		return -EINVAL;
	root = json_object();
	if (root == NULL ||
	    (e->enroll_key[0] != '\0' && set_new(root, "enroll_key",
	    json_string(e->enroll_key)) < 0) ||
	    set_new(root, "hostname", json_string(e->hostname)) < 0 ||
	    (e->group[0] != '\0' && set_new(root, "group",
	    json_string(e->group)) < 0)) {
		json_decref(root);
		return -ENOMEM;
	}
	return doc_emit(root, 0, out);
}

static int
enrolled_check(const struct manifest_enrolled *e, char *err, size_t errsize)
{
	if (!is_lower_hex(e->id, MANIFEST_AGENT_ID_MAX))
		return perr(err, errsize, "'id' is not %d lower-case hex "
		    "digits", MANIFEST_AGENT_ID_MAX);
	if (!is_lower_hex(e->token, MANIFEST_TOKEN_MAX))
		return perr(err, errsize, "'token' is not %d lower-case hex "
		    "digits", MANIFEST_TOKEN_MAX);
	if (strcmp(e->state, "pending") != 0 &&
	    strcmp(e->state, "licensed") != 0)
		return perr(err, errsize, "'state' is not pending or licensed");
	return check_name("group", e->group, 0, 0, err, errsize);
}

int
manifest_enrolled_parse(const char *p, size_t len,
    struct manifest_enrolled *ret, char *err, size_t errsize)
{
	struct manifest_enrolled	 e;
	json_t				*root;
	int				 r;

	r = doc_load(p, len, &root, err, errsize);
	if (r < 0)
		return r;
	memset(&e, 0, sizeof(e));
	r = -EBADMSG;
	if (get_str(root, "id", e.id, sizeof(e.id), err, errsize) < 0 ||
	    get_str(root, "token", e.token, sizeof(e.token), err,
	    errsize) < 0 ||
	    get_str(root, "state", e.state, sizeof(e.state), err,
	    errsize) < 0 ||
	    get_str(root, "group", e.group, sizeof(e.group), err,
	    errsize) < 0 ||
	    enrolled_check(&e, err, errsize) < 0)
		goto out;
	*ret = e;
	r = 0;
out:
	json_decref(root);
	return r;
}

int
manifest_enrolled_emit(const struct manifest_enrolled *e, struct buf *out)
{
	if (enrolled_check(e, NULL, 0) < 0)
		return -EINVAL;
	return doc_emit(json_pack("{s:s, s:s, s:s, s:s}", "id", e->id,
	    "token", e->token, "state", e->state, "group", e->group), 0, out);
}

/* ---- status ---- */

static int
is_key_id(const char *s)
{
	size_t	 i;

	if (strlen(s) != 16)
		return 0;
	for (i = 0; i < 16; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return 1;
}

static int
status_check(const struct manifest_agent_status *st, char *err,
    size_t errsize)
{
	size_t	 i, j;

	if (check_text("hostname", st->hostname, MANIFEST_HOST_MAX, err,
	    errsize) < 0 ||
	    check_text("agent_version", st->agent_version,
	    MANIFEST_VERSION_TEXT_MAX, err, errsize) < 0 ||
	    check_url("notify", st->notify, err, errsize) < 0 ||
	    check_text("message", st->message, MANIFEST_TEXT_MAX, err,
	    errsize) < 0 ||
	    check_name("group", st->group, 0, 1, err, errsize) < 0)
		return -EBADMSG;
	if (st->hostname[0] == '\0')
		return perr(err, errsize, "'hostname' is empty");
	if (st->agent_version[0] == '\0')
		return perr(err, errsize, "'agent_version' is empty");
	if (st->time < 0 || st->time > MANIFEST_TIME_MAX)
		return perr(err, errsize, "'time' out of range");
	if (st->nkeys > MANIFEST_KEYS_MAX)
		return perr(err, errsize, "too many keys");
	for (i = 0; i < st->nkeys; i++) {
		if (!is_key_id(st->keys[i]))
			return perr(err, errsize, "a key id is not 16 hex "
			    "digits");
		for (j = 0; j < i; j++)
			if (strcmp(st->keys[i], st->keys[j]) == 0)
				return perr(err, errsize, "key %s listed "
				    "twice", st->keys[i]);
	}
	if (st->ninstalled > MANIFEST_INSTALLED_MAX)
		return perr(err, errsize, "too many installed components");
	for (i = 0; i < st->ninstalled; i++) {
		const struct manifest_installed *in = &st->installed[i];

		if (!conf_valid_name(in->name, 1))
			return perr(err, errsize, "an installed component's "
			    "name is not valid");
		if (in->version < 1 || in->version > MANIFEST_NUMBER_MAX)
			return perr(err, errsize, "component '%s': version "
			    "out of range", in->name);
		if (!crypto_is_sha256_hex(in->sha256, strlen(in->sha256)))
			return perr(err, errsize, "component '%s': 'sha256' is "
			    "not 64 lower-case hex digits", in->name);
		for (j = 0; j < i; j++)
			if (strcmp(in->name, st->installed[j].name) == 0)
				return perr(err, errsize, "component '%s' "
				    "listed twice", in->name);
	}
	return 0;
}

static int
status_keys(json_t *root, struct manifest_agent_status *st, char *err,
    size_t errsize)
{
	json_t		*a, *v;
	const char	*s;
	size_t		 i, k;

	a = json_object_get(root, "keys");
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return perr(err, errsize, "'keys' is not an array");
	if (json_array_size(a) > MANIFEST_KEYS_MAX) {
		perr(err, errsize, "over %d keys", MANIFEST_KEYS_MAX);
		return -E2BIG;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) || json_string_length(v) != 16)
			return perr(err, errsize, "a key id is not 16 hex "
			    "digits");
		s = json_string_value(v);
		for (k = 0; k < 16; k++) {
			char ch = s[k];

			if (ch >= 'a' && ch <= 'f')
				ch = (char)(ch - 'a' + 'A');
			st->keys[i][k] = ch;
		}
		st->keys[i][16] = '\0';
		st->nkeys++;
	}
	return 0;
}

static int
status_installed(json_t *root, struct manifest_agent_status *st, char *err,
    size_t errsize)
{
	json_t	*a, *v;
	size_t	 i;

	a = json_object_get(root, "installed");
	if (a == NULL)
		return 0;
	if (!json_is_array(a))
		return perr(err, errsize, "'installed' is not an array");
	if (json_array_size(a) > MANIFEST_INSTALLED_MAX) {
		perr(err, errsize, "over %d installed components",
		    MANIFEST_INSTALLED_MAX);
		return -E2BIG;
	}
	json_array_foreach(a, i, v) {
		struct manifest_installed *in = &st->installed[i];

		if (!json_is_object(v))
			return perr(err, errsize, "an installed component is "
			    "not an object");
		if (get_str(v, "name", in->name, sizeof(in->name), err,
		    errsize) < 0 ||
		    get_u64(v, "version", &in->version, err, errsize) < 0 ||
		    get_str(v, "sha256", in->sha256, sizeof(in->sha256), err,
		    errsize) < 0)
			return -EBADMSG;
		st->ninstalled++;
	}
	return 0;
}

int
manifest_status_parse(const char *p, size_t len,
    struct manifest_agent_status *ret, char *err, size_t errsize)
{
	struct manifest_agent_status	*st;
	char				 result[8];
	json_t				*root;
	int				 r;

	r = doc_load(p, len, &root, err, errsize);
	if (r < 0)
		return r;
	/* about 90 KB: built in the heap, not on the stack */
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		json_decref(root);
		return -ENOMEM;
	}
	r = -EBADMSG;
	if (get_str(root, "hostname", st->hostname, sizeof(st->hostname), err,
	    errsize) < 0 ||
	    get_str(root, "agent_version", st->agent_version,
	    sizeof(st->agent_version), err, errsize) < 0 ||
	    get_opt_str(root, "notify", st->notify, sizeof(st->notify), err,
	    errsize) < 0 ||
	    get_str(root, "result", result, sizeof(result), err, errsize) < 0 ||
	    get_opt_str(root, "message", st->message, sizeof(st->message), err,
	    errsize) < 0 ||
	    get_opt_str(root, "group", st->group, sizeof(st->group), err,
	    errsize) < 0)
		goto out;
	if (strcmp(result, "ok") == 0)
		st->ok = 1;
	else if (strcmp(result, "failed") != 0) {
		perr(err, errsize, "'result' is not ok or failed");
		goto out;
	}
	if (json_object_get(root, "time") != NULL &&
	    get_time(root, "time", &st->time, err, errsize) < 0)
		goto out;
	r = status_keys(root, st, err, errsize);
	if (r == 0)
		r = status_installed(root, st, err, errsize);
	if (r == 0)
		r = status_check(st, err, errsize);
	if (r < 0)
		goto out;
	*ret = *st;
out:
	free(st);
	json_decref(root);
	return r;
}

/*
 * Compact, without a newline, and without the optional members that are
 * empty: then whatever manifest_status_parse took (at most
 * MANIFEST_DOC_MAX bytes) emits again within that size, since every
 * member written was in the text, each in its shortest form. The server
 * keeps reports so, and a fleet sends many.
 */
int
manifest_status_emit(const struct manifest_agent_status *st,
    struct buf *out)
{
	char	 t[TS_LEN + 1];
	json_t	*root, *a, *v;
	size_t	 i;

	if (status_check(st, NULL, 0) < 0)
		return -EINVAL;
	root = json_object();
	if (root == NULL ||
	    set_new(root, "hostname", json_string(st->hostname)) < 0 ||
	    set_new(root, "agent_version", json_string(st->agent_version)) < 0 ||
	    (st->notify[0] != '\0' &&
	    set_new(root, "notify", json_string(st->notify)) < 0) ||
	    set_new(root, "result", json_string(st->ok ? "ok" : "failed")) < 0 ||
	    (st->message[0] != '\0' &&
	    set_new(root, "message", json_string(st->message)) < 0) ||
	    (st->group[0] != '\0' &&
	    set_new(root, "group", json_string(st->group)) < 0))
		goto nomem;
	if (st->nkeys > 0) {
		a = json_array();
		if (set_new(root, "keys", a) < 0)
			goto nomem;
		for (i = 0; i < st->nkeys; i++)
			if (json_array_append_new(a,
			    json_string(st->keys[i])) < 0)
				goto nomem;
	}
	if (st->time != 0) {
		ts_format(st->time, t);
		if (set_new(root, "time", json_string(t)) < 0)
			goto nomem;
	}
	if (st->ninstalled > 0) {
		a = json_array();
		if (set_new(root, "installed", a) < 0)
			goto nomem;
		for (i = 0; i < st->ninstalled; i++) {
			v = json_pack("{s:s, s:I, s:s}",
			    "name", st->installed[i].name,
			    "version", (json_int_t)st->installed[i].version,
			    "sha256", st->installed[i].sha256);
			if (json_array_append_new(a, v) < 0)
				goto nomem;
		}
	}
	return doc_emit(root, 1, out);
nomem:
	json_decref(root);
	return -ENOMEM;
}

/* ---- policy ---- */

static int
policy_check(const char *group, const struct conf_policy *pol, char *err,
    size_t errsize)
{
	struct conf_schedule	 sc;
	char			 text[CONF_SCHEDULE_TEXT_MAX];
	int			 i, j;

	if (group != NULL && check_name("group", group, 0, 0, err,
	    errsize) < 0)
		return -EBADMSG;
	if (pol->set & CONF_POLICY_SCHEDULE) {
		/* valid if its text reads back as the same schedule */
		conf_schedule_format(&pol->schedule, text);
		if (conf_schedule_parse(text, &sc) < 0 ||
		    sc.kind != pol->schedule.kind ||
		    (sc.kind == CONF_EVERY && sc.every != pol->schedule.every) ||
		    (sc.kind != CONF_EVERY && (sc.hour != pol->schedule.hour ||
		    sc.minute != pol->schedule.minute)) ||
		    (sc.kind == CONF_WEEKLY && sc.wday != pol->schedule.wday))
			return perr(err, errsize, "'schedule' is not valid");
	}
	if ((pol->set & CONF_POLICY_WINDOW) &&
	    (pol->window < 0 || pol->window > MANIFEST_WINDOW_MAX))
		return perr(err, errsize, "'window' out of range");
	if ((pol->set & CONF_POLICY_POST_UPDATE) &&
	    (memchr(pol->post_update, '\0', sizeof(pol->post_update)) == NULL ||
	    check_text("post_update", pol->post_update, CONF_COMMAND_MAX - 1,
	    err, errsize) < 0))
		return -EBADMSG;
	if (pol->set & CONF_POLICY_COMPONENTS) {
		if (pol->ncomponents < 0 || pol->ncomponents > CONF_SELECT_MAX)
			return perr(err, errsize, "too many components");
		for (i = 0; i < pol->ncomponents; i++) {
			if (memchr(pol->components[i], '\0',
			    sizeof(pol->components[i])) == NULL ||
			    !conf_valid_name(pol->components[i], 1))
				return perr(err, errsize, "a component name is "
				    "not valid");
			for (j = 0; j < i; j++)
				if (strcmp(pol->components[i],
				    pol->components[j]) == 0)
					return perr(err, errsize, "component "
					    "'%s' listed twice",
					    pol->components[i]);
		}
	}
	return 0;
}

static int
policy_components(json_t *a, struct conf_policy *pol, char *err,
    size_t errsize)
{
	json_t	*v;
	size_t	 i;

	if (!json_is_array(a))
		return perr(err, errsize, "'components' is not an array");
	if (json_array_size(a) > CONF_SELECT_MAX) {
		perr(err, errsize, "over %d components", CONF_SELECT_MAX);
		return -E2BIG;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v) ||
		    json_string_length(v) > CONF_NAME_MAX ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return perr(err, errsize, "a component name is not "
			    "valid");
		memcpy(pol->components[i], json_string_value(v),
		    json_string_length(v) + 1);
		pol->ncomponents++;
	}
	return 0;
}

int
manifest_policy_parse(const char *p, size_t len,
    char group[MANIFEST_NAME_MAX + 1], struct conf_policy *ret, char *err,
    size_t errsize)
{
	struct conf_policy	*pol;
	char			 g[MANIFEST_NAME_MAX + 1], state[32];
	char			 text[CONF_SCHEDULE_TEXT_MAX];
	json_t			*root, *v;
	int			 r;

	r = doc_load(p, len, &root, err, errsize);
	if (r < 0)
		return r;
	pol = malloc(sizeof(*pol));
	if (pol == NULL) {
		json_decref(root);
		return -ENOMEM;
	}
	conf_policy_defaults(pol);
	r = -EBADMSG;
	if (get_str(root, "group", g, sizeof(g), err, errsize) < 0 ||
	    get_str(root, "state", state, sizeof(state), err, errsize) < 0)
		goto out;
	/* any state name, so that a later server may add states */
	if (!conf_valid_name(state, 0)) {
		perr(err, errsize, "'state' is not a valid name");
		goto out;
	}
	if ((v = json_object_get(root, "schedule")) != NULL) {
		if (get_str(root, "schedule", text, sizeof(text), err,
		    errsize) < 0)
			goto out;
		if (conf_schedule_parse(text, &pol->schedule) < 0) {
			perr(err, errsize, "'schedule' is not valid");
			goto out;
		}
		pol->set |= CONF_POLICY_SCHEDULE;
	}
	if ((v = json_object_get(root, "window")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > MANIFEST_WINDOW_MAX) {
			perr(err, errsize, "'window' is not a number of "
			    "seconds in range");
			goto out;
		}
		pol->window = (int64_t)json_integer_value(v);
		pol->set |= CONF_POLICY_WINDOW;
	}
	if (json_object_get(root, "scheduled") != NULL) {
		if (get_bool(root, "scheduled", &pol->scheduled, err,
		    errsize) < 0)
			goto out;
		pol->set |= CONF_POLICY_SCHEDULED;
	}
	if (json_object_get(root, "user_may_disable") != NULL) {
		if (get_bool(root, "user_may_disable", &pol->user_may_disable,
		    err, errsize) < 0)
			goto out;
		pol->set |= CONF_POLICY_USER_MAY_DISABLE;
	}
	if (json_object_get(root, "post_update") != NULL) {
		if (get_str(root, "post_update", pol->post_update,
		    sizeof(pol->post_update), err, errsize) < 0)
			goto out;
		pol->set |= CONF_POLICY_POST_UPDATE;
	}
	if (json_object_get(root, "config_once_per_day") != NULL) {
		if (get_bool(root, "config_once_per_day",
		    &pol->config_once_per_day, err, errsize) < 0)
			goto out;
		pol->set |= CONF_POLICY_CONFIG_ONCE;
	}
	if ((v = json_object_get(root, "components")) != NULL) {
		r = policy_components(v, pol, err, errsize);
		if (r < 0)
			goto out;
		r = -EBADMSG;
		pol->set |= CONF_POLICY_COMPONENTS;
	}
	if (policy_check(g, pol, err, errsize) < 0)
		goto out;
	memcpy(group, g, sizeof(g));
	*ret = *pol;
	r = 0;
out:
	free(pol);
	json_decref(root);
	return r;
}

int
manifest_policy_emit(const char *group, const char *state,
    const struct conf_policy *pol, struct buf *out)
{
	char	 text[CONF_SCHEDULE_TEXT_MAX];
	json_t	*root, *a;
	int	 i;

	if (policy_check(group, pol, NULL, 0) < 0 ||
	    !conf_valid_name(state, 0))
		return -EINVAL;
	root = json_pack("{s:s, s:s}", "group", group, "state", state);
	if (root == NULL)
		return -ENOMEM;
	if (pol->set & CONF_POLICY_SCHEDULE) {
		conf_schedule_format(&pol->schedule, text);
		if (set_new(root, "schedule", json_string(text)) < 0)
			goto nomem;
	}
	if ((pol->set & CONF_POLICY_WINDOW) && set_new(root, "window",
	    json_integer((json_int_t)pol->window)) < 0)
		goto nomem;
	if ((pol->set & CONF_POLICY_SCHEDULED) && set_new(root, "scheduled",
	    json_boolean(pol->scheduled)) < 0)
		goto nomem;
	if ((pol->set & CONF_POLICY_USER_MAY_DISABLE) && set_new(root,
	    "user_may_disable", json_boolean(pol->user_may_disable)) < 0)
		goto nomem;
	if ((pol->set & CONF_POLICY_POST_UPDATE) && set_new(root,
	    "post_update", json_string(pol->post_update)) < 0)
		goto nomem;
	if ((pol->set & CONF_POLICY_CONFIG_ONCE) && set_new(root,
	    "config_once_per_day", json_boolean(pol->config_once_per_day)) < 0)
		goto nomem;
	if (pol->set & CONF_POLICY_COMPONENTS) {
		a = json_array();
		if (set_new(root, "components", a) < 0)
			goto nomem;
		for (i = 0; i < pol->ncomponents; i++)
			if (json_array_append_new(a,
			    json_string(pol->components[i])) < 0)
				goto nomem;
	}
	return doc_emit(root, 0, out);
nomem:
	json_decref(root);
	return -ENOMEM;
}

/* ---- admin documents: flat objects, field by field ---------------------- */

/* One member into its field: 0, or -EBADMSG / -E2BIG with err set. */
static int
field_take(json_t *obj, struct manifest_field *f, char *err, size_t errsize)
{
	json_t		*v = json_object_get(obj, f->name);
	const char	*s;
	char		 num[32];
	int		 n;

	f->present = 0;
	if (f->size > 0)
		f->value[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	switch (f->type) {
	case MANIFEST_FIELD_STRING:
		if (!json_is_string(v))
			return perr(err, errsize, "'%s' must be a string",
			    f->name);
		break;
	case MANIFEST_FIELD_BOOL:
		if (!json_is_boolean(v))
			return perr(err, errsize, "'%s' must be true or false",
			    f->name);
		break;
	case MANIFEST_FIELD_INT:
		if (!json_is_integer(v))
			return perr(err, errsize, "'%s' must be an integer",
			    f->name);
		break;
	default:
		if (json_is_object(v) || json_is_array(v))
			return perr(err, errsize, "'%s' must be a string, a "
			    "number or a boolean", f->name);
		break;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		/* a NUL inside would cut the text short: refuse it */
		if (strlen(s) != json_string_length(v))
			return perr(err, errsize, "'%s' holds a NUL", f->name);
	} else if (json_is_integer(v)) {
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(v));
		s = num;
	} else if (json_is_real(v)) {
		snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		s = num;
	} else
		s = json_is_true(v) ? "true" : "false";
	n = snprintf(f->value, f->size, "%s", s);
	if (n < 0 || (size_t)n >= f->size) {
		perr(err, errsize, "'%s' is longer than %zu bytes", f->name,
		    f->size > 0 ? f->size - 1 : 0);
		return -E2BIG;
	}
	f->present = 1;
	return 0;
}

static int
fields_take(json_t *obj, struct manifest_field *f, size_t n, char *err,
    size_t errsize)
{
	size_t	 i;
	int	 r;

	for (i = 0; i < n; i++) {
		r = field_take(obj, &f[i], err, errsize);
		if (r < 0)
			return r;
	}
	return 0;
}

int
manifest_fields_parse(const char *p, size_t len, struct manifest_field *f,
    size_t n, char *err, size_t errsize)
{
	json_t	*root;
	int	 r;

	r = doc_load(p, len, &root, err, errsize);
	if (r < 0)
		return r;
	r = fields_take(root, f, n, err, errsize);
	json_decref(root);
	return r;
}

int
manifest_rows_parse(const char *p, size_t len, size_t max,
    struct manifest_field *f, size_t n,
    int (*fn)(void *arg, const struct manifest_field *f, size_t n),
    void *arg, char *err, size_t errsize)
{
	json_error_t	 jerr;
	json_t		*root, *row;
	size_t		 i;
	int		 r = 0;

	err_clear(err, errsize);
	if (len > max) {
		perr(err, errsize, "document over %zu bytes", max);
		return -E2BIG;
	}
	root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return perr(err, errsize, "line %d: %s", jerr.line, jerr.text);
	if (!json_is_array(root)) {
		json_decref(root);
		return perr(err, errsize, "not a JSON array");
	}
	json_array_foreach(root, i, row) {
		if (!json_is_object(row)) {
			r = perr(err, errsize, "item %zu is not an object", i);
			break;
		}
		r = fields_take(row, f, n, err, errsize);
		if (r == 0)
			r = fn(arg, f, n);
		if (r != 0)
			break;
	}
	json_decref(root);
	return r;
}

/* ---- a downstream's inventory ---- */

struct manifest_inventory *
manifest_inventory_new(const char *name)
{
	struct manifest_inventory	*inv;

	inv = calloc(1, sizeof(*inv));
	if (inv != NULL)
		snprintf(inv->name, sizeof(inv->name), "%s", name);
	return inv;
}

void
manifest_inventory_free(struct manifest_inventory *inv)
{
	if (inv == NULL)
		return;
	free(inv->ch);
	free(inv->items);
	free(inv);
}

int
manifest_inventory_add_channel(struct manifest_inventory *inv,
    const char *channel, uint64_t serial)
{
	struct manifest_state_channel	*nc;

	if (inv->nch >= MANIFEST_INVENTORY_CHANNELS_MAX ||
	    strlen(channel) > MANIFEST_NAME_MAX)
		return -E2BIG;
	nc = realloc(inv->ch, (inv->nch + 1) * sizeof(*nc));
	if (nc == NULL)
		return -ENOMEM;
	inv->ch = nc;
	memcpy(nc[inv->nch].name, channel, strlen(channel) + 1);
	nc[inv->nch].serial = serial;
	inv->nch++;
	return 0;
}

int
manifest_inventory_add(struct manifest_inventory *inv,
    const struct manifest_inventory_item *it)
{
	struct manifest_inventory_item	*ni;

	if (inv->nitems >= MANIFEST_INVENTORY_COMPONENTS_MAX)
		return -E2BIG;
	ni = realloc(inv->items, (inv->nitems + 1) * sizeof(*ni));
	if (ni == NULL)
		return -ENOMEM;
	inv->items = ni;
	ni[inv->nitems++] = *it;
	return 0;
}

static int
inventory_item_cmp(const void *a, const void *b)
{
	const struct manifest_inventory_item *x = a, *y = b;
	int	 c = strcmp(x->channel, y->channel);

	return c != 0 ? c : strcmp(x->name, y->name);
}

static int
inventory_ptr_cmp(const void *a, const void *b)
{
	return inventory_item_cmp(*(const void *const *)a,
	    *(const void *const *)b);
}

void
manifest_inventory_sort(struct manifest_inventory *inv)
{
	if (inv->nitems > 1)
		qsort(inv->items, inv->nitems, sizeof(*inv->items),
		    inventory_item_cmp);
}

const struct manifest_inventory_item *
manifest_inventory_find(const struct manifest_inventory *inv,
    const char *channel, const char *name)
{
	struct manifest_inventory_item	 key;

	if (inv->nitems == 0 || strlen(channel) > MANIFEST_NAME_MAX ||
	    strlen(name) > MANIFEST_NAME_MAX)
		return NULL;
	memcpy(key.channel, channel, strlen(channel) + 1);
	memcpy(key.name, name, strlen(name) + 1);
	return bsearch(&key, inv->items, inv->nitems, sizeof(*inv->items),
	    inventory_item_cmp);
}

int
manifest_inventory_channel(const struct manifest_inventory *inv,
    const char *channel, uint64_t *ret_serial)
{
	size_t	 i;

	for (i = 0; i < inv->nch; i++)
		if (strcmp(inv->ch[i].name, channel) == 0) {
			*ret_serial = inv->ch[i].serial;
			return 0;
		}
	return -ENOENT;
}

static int
inventory_check(const struct manifest_inventory *inv, char *err,
    size_t errsize)
{
	const struct manifest_inventory_item	**sorted;
	size_t					 i, j;
	int					 r = 0;

	if (memchr(inv->name, '\0', sizeof(inv->name)) == NULL ||
	    check_name("name", inv->name, 0, 0, err, errsize) < 0)
		return -EBADMSG;
	if (inv->nch > MANIFEST_INVENTORY_CHANNELS_MAX ||
	    inv->nitems > MANIFEST_INVENTORY_COMPONENTS_MAX)
		return perr(err, errsize, "too many channels or components");
	for (i = 0; i < inv->nch; i++) {
		if (memchr(inv->ch[i].name, '\0', sizeof(inv->ch[i].name)) ==
		    NULL || !conf_valid_name(inv->ch[i].name, 0))
			return perr(err, errsize, "a channel name is not "
			    "valid");
		if (inv->ch[i].serial > MANIFEST_NUMBER_MAX)
			return perr(err, errsize, "channel '%s': serial out "
			    "of range", inv->ch[i].name);
		for (j = 0; j < i; j++)
			if (strcmp(inv->ch[i].name, inv->ch[j].name) == 0)
				return perr(err, errsize, "channel '%s' "
				    "listed twice", inv->ch[i].name);
	}
	for (i = 0; i < inv->nitems; i++) {
		const struct manifest_inventory_item *it = &inv->items[i];
		uint64_t serial;

		if (memchr(it->channel, '\0', sizeof(it->channel)) == NULL ||
		    memchr(it->name, '\0', sizeof(it->name)) == NULL ||
		    memchr(it->sha256, '\0', sizeof(it->sha256)) == NULL ||
		    !conf_valid_name(it->name, 1))
			return perr(err, errsize, "a component's name is not "
			    "valid");
		if (manifest_inventory_channel(inv, it->channel,
		    &serial) < 0)
			return perr(err, errsize, "component '%s': its "
			    "channel is not in 'channels'", it->name);
		if (it->version < 1 || it->version > MANIFEST_NUMBER_MAX)
			return perr(err, errsize, "component '%s': version "
			    "out of range", it->name);
		if (!crypto_is_sha256_hex(it->sha256, strlen(it->sha256)))
			return perr(err, errsize, "component '%s': 'sha256' is "
			    "not 64 lower-case hex digits", it->name);
	}
	if (inv->nitems < 2)
		return 0;
	/* duplicates, in n log n: an inventory may list a thousand */
	sorted = malloc(inv->nitems * sizeof(*sorted));
	if (sorted == NULL)
		return -ENOMEM;
	for (i = 0; i < inv->nitems; i++)
		sorted[i] = &inv->items[i];
	qsort(sorted, inv->nitems, sizeof(*sorted), inventory_ptr_cmp);
	for (i = 1; r == 0 && i < inv->nitems; i++)
		if (inventory_item_cmp(sorted[i - 1], sorted[i]) == 0)
			r = perr(err, errsize, "component '%s' of channel "
			    "'%s' listed twice", sorted[i]->name,
			    sorted[i]->channel);
	free(sorted);
	return r;
}

static int
inventory_items(json_t *a, struct manifest_inventory *inv, char *err,
    size_t errsize)
{
	json_t	*v;
	size_t	 i;

	if (!json_is_array(a))
		return perr(err, errsize, "'components' is not an array");
	if (json_array_size(a) > MANIFEST_INVENTORY_COMPONENTS_MAX) {
		perr(err, errsize, "over %d components",
		    MANIFEST_INVENTORY_COMPONENTS_MAX);
		return -E2BIG;
	}
	if (json_array_size(a) == 0)
		return 0;
	inv->items = calloc(json_array_size(a), sizeof(*inv->items));
	if (inv->items == NULL)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		struct manifest_inventory_item *it = &inv->items[i];

		if (!json_is_object(v))
			return perr(err, errsize, "a component is not an "
			    "object");
		if (get_str(v, "channel", it->channel, sizeof(it->channel),
		    err, errsize) < 0 ||
		    get_str(v, "name", it->name, sizeof(it->name), err,
		    errsize) < 0 ||
		    get_u64(v, "version", &it->version, err, errsize) < 0 ||
		    get_str(v, "sha256", it->sha256, sizeof(it->sha256), err,
		    errsize) < 0)
			return -EBADMSG;
		inv->nitems++;
	}
	return 0;
}

int
manifest_inventory_parse(const char *p, size_t len,
    struct manifest_inventory **ret, char *err, size_t errsize)
{
	struct manifest_inventory	*inv = NULL;
	const char			*ch;
	json_t				*root, *v;
	int				 r;

	r = doc_load(p, len, &root, err, errsize);
	if (r < 0)
		return r;
	inv = calloc(1, sizeof(*inv));
	if (inv == NULL) {
		r = -ENOMEM;
		goto out;
	}
	r = -EBADMSG;
	if (get_str(root, "name", inv->name, sizeof(inv->name), err,
	    errsize) < 0)
		goto out;
	v = json_object_get(root, "channels");
	if (!json_is_object(v)) {
		perr(err, errsize, "'channels' is not an object");
		goto out;
	}
	if (json_object_size(v) > MANIFEST_INVENTORY_CHANNELS_MAX) {
		r = -E2BIG;
		perr(err, errsize, "over %d channels",
		    MANIFEST_INVENTORY_CHANNELS_MAX);
		goto out;
	}
	if (json_object_size(v) > 0 && (inv->ch = calloc(json_object_size(v),
	    sizeof(*inv->ch))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	{
		json_t	*s;

		json_object_foreach(v, ch, s) {
			struct manifest_state_channel *c = &inv->ch[inv->nch];

			if (!conf_valid_name(ch, 0)) {
				perr(err, errsize, "a channel name is not "
				    "valid");
				goto out;
			}
			if (get_u64(v, ch, &c->serial, err, errsize) < 0)
				goto out;
			memcpy(c->name, ch, strlen(ch) + 1);
			inv->nch++;
		}
	}
	v = json_object_get(root, "components");
	if (v == NULL) {
		perr(err, errsize, "missing 'components'");
		goto out;
	}
	r = inventory_items(v, inv, err, errsize);
	if (r == 0)
		r = inventory_check(inv, err, errsize);
	if (r < 0)
		goto out;
	manifest_inventory_sort(inv);
	*ret = inv;
	inv = NULL;
out:
	manifest_inventory_free(inv);
	json_decref(root);
	return r;
}

int
manifest_inventory_emit(const struct manifest_inventory *inv,
    struct buf *out)
{
	json_t	*root, *chs, *a, *v;
	size_t	 i;
	int	 r;

	r = inventory_check(inv, NULL, 0);
	if (r < 0)
		return r == -ENOMEM ? r : -EINVAL;
	root = json_object();
	chs = json_object();
	a = json_array();
	if (root == NULL || chs == NULL || a == NULL) {
		json_decref(chs);
		json_decref(a);
		goto nomem;
	}
	if (set_new(root, "name", json_string(inv->name)) < 0 ||
	    set_new(root, "channels", chs) < 0) {
		json_decref(a);
		goto nomem;
	}
	if (set_new(root, "components", a) < 0)
		goto nomem;
	for (i = 0; i < inv->nch; i++)
		if (set_new(chs, inv->ch[i].name,
		    json_integer((json_int_t)inv->ch[i].serial)) < 0)
			goto nomem;
	for (i = 0; i < inv->nitems; i++) {
		const struct manifest_inventory_item *it = &inv->items[i];

		v = json_pack("{s:s, s:s, s:I, s:s}", "channel", it->channel,
		    "name", it->name, "version", (json_int_t)it->version,
		    "sha256", it->sha256);
		if (json_array_append_new(a, v) < 0)
			goto nomem;
	}
	return doc_emit(root, 1, out);
nomem:
	json_decref(root);
	return -ENOMEM;
}

static int
inventory_answer_check(const struct manifest_inventory_answer *a)
{
	struct conf_schedule	 sc;
	char			 text[CONF_SCHEDULE_TEXT_MAX];

	if (!a->scheduled)
		return 0;
	/* valid if its text reads back as the same schedule */
	conf_schedule_format(&a->schedule, text);
	if (conf_schedule_parse(text, &sc) < 0 ||
	    sc.kind != a->schedule.kind ||
	    (sc.kind == CONF_EVERY && sc.every != a->schedule.every) ||
	    (sc.kind != CONF_EVERY && (sc.hour != a->schedule.hour ||
	    sc.minute != a->schedule.minute)) ||
	    (sc.kind == CONF_WEEKLY && sc.wday != a->schedule.wday))
		return -EINVAL;
	return 0;
}

int
manifest_inventory_answer_parse(const char *p, size_t len,
    struct manifest_inventory_answer *ret, char *err, size_t errsize)
{
	struct manifest_inventory_answer	 a;
	char					 text[CONF_SCHEDULE_TEXT_MAX];
	json_t					*root, *v;
	int					 r;

	r = doc_load(p, len, &root, err, errsize);
	if (r < 0)
		return r;
	memset(&a, 0, sizeof(a));
	r = -EBADMSG;
	v = json_object_get(root, "schedule");
	if (v == NULL) {
		perr(err, errsize, "missing 'schedule'");
		goto out;
	}
	if (!json_is_null(v)) {
		if (get_str(root, "schedule", text, sizeof(text), err,
		    errsize) < 0)
			goto out;
		if (conf_schedule_parse(text, &a.schedule) < 0) {
			perr(err, errsize, "'schedule' is not valid");
			goto out;
		}
		a.scheduled = 1;
	}
	if (get_bool(root, "at_startup", &a.at_startup, err, errsize) < 0)
		goto out;
	*ret = a;
	r = 0;
out:
	json_decref(root);
	return r;
}

int
manifest_inventory_answer_emit(const struct manifest_inventory_answer *a,
    struct buf *out)
{
	char	 text[CONF_SCHEDULE_TEXT_MAX];

	if (inventory_answer_check(a) < 0)
		return -EINVAL;
	if (a->scheduled)
		conf_schedule_format(&a->schedule, text);
	return doc_emit(json_pack("{s:o, s:b}", "schedule", a->scheduled ?
	    json_string(text) : json_null(), "at_startup",
	    a->at_startup != 0), 0, out);
}
