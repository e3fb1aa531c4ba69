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
