#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "delta.h"
#include "log.h"
#include "repo.h"
#include "ts.h"
#include "banned.h"

#define REPO_MANIFESTS_KEPT	5	/* old signed manifests gc keeps */

static int
repo_file(const struct repo *r, char *dst, size_t size, const char *what)
{
	return fs_path(dst, size, "%s/%s", r->dir, what);
}

static int
repo_key_path(const char *dir, const char *channel, const char *ext,
    char *dst, size_t size)
{
	return fs_path(dst, size, "%s/keys/%s.%s", dir, channel, ext);
}

int
repo_pubkey(const struct repo *r, const char *channel,
    struct sig_pubkey *ret_pk)
{
	char		 path[FS_PATH_MAX];
	struct buf	 b;
	int		 e;

	e = repo_key_path(r->dir, channel, "pub", path, sizeof(path));
	if (e < 0)
		return e;
	buf_init(&b, SIG_KEYFILE_MAX);
	e = fs_read(&b, path);
	if (e == 0)
		e = sig_pubkey_parse(b.ptr, b.len, ret_pk);
	buf_release(&b);
	return e;
}

static int
repo_seckey(const struct repo *r, const char *channel,
    struct sig_seckey *ret_sk)
{
	char		 path[FS_PATH_MAX];
	struct buf	 b;
	int		 e;

	e = repo_key_path(r->dir, channel, "key", path, sizeof(path));
	if (e < 0)
		return e;
	buf_init(&b, SIG_KEYFILE_MAX);
	e = fs_read(&b, path);
	if (e == 0)
		e = sig_seckey_parse(b.ptr, b.len, ret_sk);
	if (b.ptr != NULL)
		crypto_wipe(b.ptr, b.len);
	buf_release(&b);
	return e;
}

int
repo_init(const char *dir, const char *channel, const char *key_path)
{
	char			 path[FS_PATH_MAX];
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk;
	struct store		 st;
	struct db		*db = NULL;
	struct buf		 b;
	int			 e;

	if (!conf_valid_name(channel, 0))
		return log_error("bad channel name '%s'", channel);
	e = fs_path(path, sizeof(path), "%s/state.db", dir);
	if (e < 0)
		return log_errno(e, "bad data directory '%s'", dir);
	if (fs_exists(path) == 1)
		return log_error("'%s' is already a cascade data directory",
		    dir);
	if (key_path != NULL) {
		buf_init(&b, SIG_KEYFILE_MAX);
		e = fs_read(&b, key_path);
		if (e == 0)
			e = sig_seckey_parse(b.ptr, b.len, &sk);
		if (b.ptr != NULL)
			crypto_wipe(b.ptr, b.len);
		buf_release(&b);
		if (e == -ENOTSUP)
			return log_error("cannot import '%s': encrypted or not "
			    "an Ed25519 minisign key (re-create it with "
			    "minisign -G -W)", key_path);
		if (e < 0)
			return log_errno(e, "cannot import key '%s'", key_path);
	} else {
		e = sig_keygen(&sk);
		if (e < 0)
			return log_errno(e, "cannot generate a key pair");
	}
	e = fs_path(path, sizeof(path), "%s/keys", dir);
	if (e == 0)
		e = fs_mkdir_p(path, 0755);
	if (e == 0)
		e = store_open(&st, dir, 1);
	if (e < 0) {
		sig_seckey_wipe(&sk);
		return log_errno(e, "cannot create '%s'", dir);
	}
	/* keys */
	buf_init(&b, SIG_KEYFILE_MAX);
	e = sig_seckey_format(&sk, &b);
	if (e == 0)
		e = repo_key_path(dir, channel, "key", path, sizeof(path));
	if (e == 0)
		e = fs_write_atomic(path, b.ptr, b.len, 0600);
	if (b.ptr != NULL)
		crypto_wipe(b.ptr, b.len);
	buf_reset(&b);
	sig_seckey_public(&sk, &pk);
	sig_seckey_wipe(&sk);
	if (e == 0)
		e = sig_pubkey_format(&pk, &b);
	if (e == 0)
		e = repo_key_path(dir, channel, "pub", path, sizeof(path));
	if (e == 0)
		e = fs_write_atomic(path, b.ptr, b.len, 0644);
	buf_release(&b);
	if (e < 0)
		return log_errno(e, "cannot write the key pair in '%s/keys'",
		    dir);
	/* configuration: the sample, with the channel filled in */
	buf_init(&b, CONF_SIZE_MAX);
	if (strcmp(channel, "main") == 0)
		e = buf_puts(&b, conf_sample);
	else {
		const char *at = strstr(conf_sample, "channel = main\n");

		e = buf_append(&b, conf_sample, (size_t)(at - conf_sample));
		if (e == 0)
			e = buf_printf(&b, "channel = %s\n%s", channel,
			    at + strlen("channel = main\n"));
	}
	if (e == 0)
		e = fs_path(path, sizeof(path), "%s/cascade.conf", dir);
	if (e == 0 && fs_exists(path) != 1)
		e = fs_write_atomic(path, b.ptr, b.len, 0644);
	buf_release(&b);
	if (e < 0)
		return log_errno(e, "cannot write '%s'", path);
	for (const char *sub = "deltas"; sub != NULL;
	    sub = strcmp(sub, "deltas") == 0 ? "channels" : NULL) {
		e = fs_path(path, sizeof(path), "%s/%s", dir, sub);
		if (e == 0)
			e = fs_mkdir_p(path, 0755);
		if (e < 0)
			return log_errno(e, "cannot create '%s'", path);
	}
	/* the state file last: its presence marks an initialised directory
	 * (a shared database's schema is made by whoever opens it first) */
	e = fs_path(path, sizeof(path), "%s/state.db", dir);
	if (e == 0)
		e = db_open(path, NULL, 1, &db);
	db_close(db);
	if (e == 0)
		e = fs_fsync_dir(dir);
	if (e < 0)
		return log_errno(e, "cannot create '%s'", path);
	return 0;
}

int
repo_open(struct repo *r, const char *dir)
{
	char	 path[FS_PATH_MAX], err[CONF_ERROR_MAX];
	int	 e;

	memset(r, 0, sizeof(*r));
	r->lockfd = -1;
	e = fs_path(r->dir, sizeof(r->dir), "%s", dir);
	if (e < 0)
		return log_errno(e, "bad data directory '%s'", dir);
	e = repo_file(r, path, sizeof(path), "state.db");
	if (e == 0 && fs_exists(path) != 1)
		return log_error("'%s' is not a cascade data directory (run "
		    "'cascade init -d %s')", dir, dir);
	e = repo_file(r, path, sizeof(path), "cascade.conf");
	if (e == 0)
		e = conf_load(&r->conf, path, err);
	if (e == -ENOENT)
		conf_defaults(&r->conf);
	else if (e < 0 && err[0] != '\0')
		return log_error("cannot load '%s': %s", path, err);
	else if (e < 0)
		return log_errno(e, "cannot load '%s'", path);
	e = store_open(&r->store, dir, 0);
	if (e < 0)
		return log_errno(e, "cannot open the object store of '%s'", dir);
	e = repo_file(r, path, sizeof(path), "state.db");
	if (e == 0)
		e = db_open(path, r->conf.state, 0, &r->db);
	if (e < 0)
		return log_errno(e, "cannot open '%s'", path);
	return 0;
}

void
repo_close(struct repo *r)
{
	repo_unlock(r);
	db_close(r->db);
	r->db = NULL;
}

int
repo_reload_conf(struct repo *r)
{
	char		 path[FS_PATH_MAX], err[CONF_ERROR_MAX];
	struct conf	*c;
	int		 e;

	c = malloc(sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	e = repo_file(r, path, sizeof(path), "cascade.conf");
	if (e == 0)
		e = conf_load(c, path, err);
	if (e < 0 && err[0] != '\0')
		log_error("cannot reload '%s': %s; keeping the running "
		    "configuration", path, err);
	else if (e < 0)
		log_errno(e, "cannot reload '%s'; keeping the running "
		    "configuration", path);
	else
		r->conf = *c;
	free(c);
	return e;
}

int
repo_channel_current(const struct repo *r, const char *channel, char *dst,
    size_t size)
{
	char	 path[FS_PATH_MAX];
	ssize_t	 n;
	int	 e;

	e = fs_path(path, sizeof(path), "%s/channels/%s/current", r->dir,
	    channel);
	if (e < 0)
		return e;
	n = readlink(path, dst, size - 1);
	if (n < 0)
		return -errno;
	dst[n] = '\0';
	return 0;
}

int
repo_channel_serial(const struct repo *r, const char *channel,
    uint64_t *ret)
{
	char	 cur[64];
	int	 e;

	e = repo_channel_current(r, channel, cur, sizeof(cur));
	if (e == -ENOENT) {
		*ret = 0;
		return 0;
	}
	if (e < 0)
		return e;
	return ts_parse_u64(cur, 1, MANIFEST_NUMBER_MAX, ret) < 0 ?
	    -EBADMSG : 0;
}

int
repo_install_manifest(struct repo *r, const char *channel, uint64_t serial,
    const char *text, size_t textlen, const char *sig, size_t siglen)
{
	char	 dir[FS_PATH_MAX], path[FS_PATH_MAX], name[32];
	int	 e;

	snprintf(name, sizeof(name), "%llu", (unsigned long long)serial);
	e = fs_path(dir, sizeof(dir), "%s/channels/%s/%s", r->dir, channel,
	    name);
	if (e == 0)
		e = fs_mkdir_p(dir, 0755);
	if (e == 0)
		e = fs_path(path, sizeof(path), "%s/manifest", dir);
	if (e == 0)
		e = fs_write_atomic(path, text, textlen, 0644);
	if (e == 0)
		e = fs_path(path, sizeof(path), "%s/manifest.minisig", dir);
	if (e == 0)
		e = fs_write_atomic(path, sig, siglen, 0644);
	if (e == 0)
		e = fs_fsync_parent(dir);
	/* the switch, last: readers follow `current` only */
	if (e == 0)
		e = fs_path(path, sizeof(path), "%s/channels/%s/current",
		    r->dir, channel);
	if (e == 0)
		e = fs_symlink_atomic(name, path);
	return e;
}

/* Builds, signs and switches to the manifest of the local channel at
 * `serial`, from the state database. */
static int
repo_write_manifest(struct repo *r, uint64_t serial)
{
	const char			*ch = r->conf.channel;
	struct manifest_component	 c;
	struct manifest			*m;
	struct db_version		*cur = NULL;
	struct db_delta			*d = NULL;
	struct sig_seckey		 sk;
	struct buf			 text, sig;
	char				 tc[SIG_COMMENT_MAX];
	size_t				 ncur = 0, nd, i, j;
	time_t				 now = time(NULL);
	int				 e;

	buf_init(&text, MANIFEST_SIZE_MAX);
	buf_init(&sig, SIG_SIGFILE_MAX);
	m = manifest_new(ch);
	if (m == NULL)
		return -ENOMEM;
	m->serial = serial;
	m->issued = now;
	m->expires = now + r->conf.manifest_expires;
	e = db_current(r->db, ch, &cur, &ncur);
	for (i = 0; e == 0 && i < ncur; i++) {
		memset(&c, 0, sizeof(c));
		snprintf(c.name, sizeof(c.name), "%s", cur[i].component);
		snprintf(c.kind, sizeof(c.kind), "%s", cur[i].kind);
		snprintf(c.edition, sizeof(c.edition), "%s", cur[i].edition);
		c.version = cur[i].version;
		c.size = cur[i].size;
		memcpy(c.sha256, cur[i].sha256, sizeof(c.sha256));
		e = db_deltas_to(r->db, ch, c.name, c.sha256, &d, &nd);
		if (e < 0)
			break;
		c.deltas = calloc(nd + 1, sizeof(*c.deltas));
		if (c.deltas == NULL)
			e = -ENOMEM;
		for (j = 0; e == 0 && j < nd; j++) {
			/* a delta whose base left the versions table stays
			 * servable by hash but is not listed */
			if (d[j].from_version == 0 ||
			    d[j].from_version >= c.version ||
			    c.ndeltas == MANIFEST_DELTAS_MAX)
				continue;
			c.deltas[c.ndeltas].from = d[j].from_version;
			c.deltas[c.ndeltas].size = d[j].size;
			memcpy(c.deltas[c.ndeltas].sha256, d[j].sha256,
			    CRYPTO_SHA256_HEX);
			c.ndeltas++;
		}
		free(d);
		d = NULL;
		if (e == 0)
			e = manifest_add(m, &c);
		free(c.deltas);
	}
	free(cur);
	if (e == 0)
		e = manifest_emit(m, &text);
	if (e == 0)
		e = repo_seckey(r, ch, &sk);
	if (e == 0) {
		snprintf(tc, sizeof(tc), "timestamp:%lld\tchannel:%s\t"
		    "serial:%llu", (long long)now, ch,
		    (unsigned long long)serial);
		e = sig_sign(&sk, text.ptr, text.len, tc, &sig);
		sig_seckey_wipe(&sk);
	}
	if (e == 0)
		e = repo_install_manifest(r, ch, serial, text.ptr, text.len,
		    sig.ptr, sig.len);
	manifest_free(m);
	buf_release(&text);
	buf_release(&sig);
	return e;
}

static int
repo_lock_take(struct repo *r, int wait)
{
	char		 path[FS_PATH_MAX];
	uint64_t	 db_serial, disk_serial;
	int		 e;

	if (r->lockfd >= 0)
		return 0;
	e = repo_file(r, path, sizeof(path), "lock");
	if (e == 0)
		e = wait ? fs_lock(path) : fs_trylock(path);
	if (e == -EAGAIN && !wait)
		return e;		/* another writer: not an error */
	if (e < 0)
		return log_errno(e, "cannot lock '%s'", path);
	r->lockfd = e;
	/* a writer that died between the state commit and the manifest
	 * switch left the state ahead of the served manifest */
	e = db_channel_serial(r->db, r->conf.channel, &db_serial);
	if (e == 0)
		e = repo_channel_serial(r, r->conf.channel,
		    &disk_serial);
	if (e == 0 && db_serial > disk_serial) {
		log_warn("channel '%s': state at serial %llu but manifest at "
		    "%llu; re-signing", r->conf.channel,
		    (unsigned long long)db_serial,
		    (unsigned long long)disk_serial);
		e = repo_write_manifest(r, db_serial);
	}
	if (e < 0) {
		repo_unlock(r);
		return log_errno(e, "cannot check channel '%s'",
		    r->conf.channel);
	}
	return 0;
}

int
repo_lock(struct repo *r)
{
	return repo_lock_take(r, 1);
}

int
repo_trylock(struct repo *r)
{
	return repo_lock_take(r, 0);
}

void
repo_unlock(struct repo *r)
{
	if (r->lockfd >= 0)
		close(r->lockfd);
	r->lockfd = -1;
}

int
repo_delta_path(const struct repo *r, const char *from, const char *to,
    char *dst, size_t size)
{
	if (!crypto_is_sha256_hex(from, strlen(from)) ||
	    !crypto_is_sha256_hex(to, strlen(to)))
		return -EINVAL;
	return fs_path(dst, size, "%s/deltas/%s/%s", r->dir, from, to);
}

int
repo_link_delta(struct repo *r, const struct db_delta *d)
{
	char	 target[FS_PATH_MAX], link[FS_PATH_MAX], dir[FS_PATH_MAX];
	int	 e;

	e = repo_delta_path(r, d->from_sha256, d->to_sha256, link,
	    sizeof(link));
	if (e == 0)
		e = fs_path(dir, sizeof(dir), "%s/deltas/%s", r->dir,
		    d->from_sha256);
	if (e == 0)
		e = fs_mkdir_p(dir, 0755);
	if (e == 0)
		e = fs_path(target, sizeof(target), "../../objects/%.2s/%s",
		    d->sha256, d->sha256);
	if (e == 0)
		e = fs_symlink_atomic(target, link);
	return e;
}

/* Makes the delta old -> new, keeps it when it is worth it (at most half
 * the compressed full object) and links it. 1 if kept, 0 if not. */
static int
repo_make_delta(struct repo *r, const struct db_version *old,
    const char *new_hex, int new_fd, uint64_t *yardstick,
    struct db_delta *ret_d)
{
	uint64_t	 size;
	int		 old_fd = -1, tmp = -1, e;

	old_fd = store_open_object(&r->store, old->sha256);
	if (old_fd < 0)
		return old_fd == -ENOENT ? 0 : old_fd;
	if (*yardstick == 0) {
		e = delta_compressed_size(new_fd, 0, yardstick);
		if (e < 0)
			goto out;
	}
	tmp = store_tmpfile(&r->store);
	if (tmp < 0) {
		e = tmp;
		goto out;
	}
	e = delta_create(old_fd, new_fd, tmp, 0, &size);
	if (e < 0)
		goto out;
	if (size > *yardstick / 2) {
		e = 0;
		goto out;
	}
	memset(ret_d, 0, sizeof(*ret_d));
	e = store_adopt(&r->store, tmp, NULL, NULL, ret_d->sha256,
	    &ret_d->size);
	if (e < 0)
		goto out;
	memcpy(ret_d->from_sha256, old->sha256, CRYPTO_SHA256_HEX);
	memcpy(ret_d->to_sha256, new_hex, CRYPTO_SHA256_HEX);
	ret_d->from_version = old->version;
	e = repo_link_delta(r, ret_d);
	if (e == 0)
		e = 1;
out:
	if (tmp >= 0)
		close(tmp);
	close(old_fd);
	return e;
}

int
repo_make_deltas(struct repo *r, const struct db_version *prev, size_t nprev,
    const char *new_hex, int new_fd, struct db_delta **ret_d, size_t *ret_n)
{
	struct db_delta	*d;
	uint64_t	 yardstick = 0;
	size_t		 i, n = 0;
	int		 kept;

	*ret_d = NULL;
	*ret_n = 0;
	if (nprev == 0)
		return 0;
	d = calloc(nprev, sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	for (i = 0; i < nprev; i++) {
		if (strcmp(prev[i].sha256, new_hex) == 0)
			continue;
		kept = repo_make_delta(r, &prev[i], new_hex, new_fd,
		    &yardstick, &d[n]);
		if (kept < 0) {
			free(d);
			return kept;
		}
		n += (size_t)kept;
	}
	*ret_d = d;
	*ret_n = n;
	return 0;
}

int
repo_record(struct repo *r, const char *channel, const struct db_version *v,
    size_t nv, const struct db_delta *d, size_t nd, uint64_t serial)
{
	size_t	 i;
	int	 e;

	e = db_begin(r->db);
	for (i = 0; e == 0 && i < nv; i++)
		e = db_version_add(r->db, channel, &v[i]);
	for (i = 0; e == 0 && i < nd; i++)
		e = db_delta_add(r->db, &d[i]);
	if (e == 0)
		e = db_channel_set_serial(r->db, channel, serial);
	if (e == 0)
		e = db_commit(r->db);
	if (e < 0)
		db_rollback(r->db);
	return e;
}

int
repo_publish(struct repo *r, const char *component, const char *file,
    const struct repo_publish_opts *o, struct repo_publish_result *ret)
{
	int	 fd, e;

	memset(ret, 0, sizeof(*ret));
	if (!conf_valid_name(component, 1))
		return log_error("bad component name '%s' (lower-case letters, "
		    "digits, '.', '_', '-', parts joined by '/')", component);
	if ((o->kind != NULL && !conf_valid_name(o->kind, 0)) ||
	    (o->edition != NULL && !conf_valid_name(o->edition, 0)))
		return log_error("bad kind or edition name");
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return log_errno(-errno, "cannot open '%s'", file);
	e = repo_publish_fd(r, component, fd, file, o, ret);
	close(fd);
	return e;
}

int
repo_publish_fd(struct repo *r, const char *component, int fd,
    const char *file, const struct repo_publish_opts *o,
    struct repo_publish_result *ret)
{
	const char		*ch = r->conf.channel;
	struct db_version	*prev = NULL, nv;
	struct db_delta		*deltas = NULL;
	uint64_t		 serial;
	size_t			 nprev = 0, ndeltas = 0;
	int			 window, e;

	memset(ret, 0, sizeof(*ret));
	memset(&nv, 0, sizeof(nv));
	if (!conf_valid_name(component, 1))
		return log_error("bad component name '%s' (lower-case letters, "
		    "digits, '.', '_', '-', parts joined by '/')", component);
	if ((o->kind != NULL && !conf_valid_name(o->kind, 0)) ||
	    (o->edition != NULL && !conf_valid_name(o->edition, 0)))
		return log_error("bad kind or edition name");
	if (lseek(fd, 0, SEEK_SET) < 0)
		return log_errno(-errno, "cannot read '%s'", file);
	window = conf_delta_window(&r->conf, component);
	e = db_versions(r->db, ch, component,
	    (size_t)(window > 0 ? window : 1), &prev, &nprev);
	if (e < 0) {
		log_errno(e, "cannot read the versions of '%s'", component);
		goto out;
	}
	e = store_put_fd(&r->store, fd, NULL, nv.sha256, &nv.size, NULL);
	if (e < 0) {
		log_errno(e, "cannot store '%s'", file);
		goto out;
	}
	if (nprev > 0 && strcmp(prev[0].sha256, nv.sha256) == 0 &&
	    o->version == 0) {
		ret->unchanged = 1;
		ret->version = prev[0].version;
		memcpy(ret->sha256, nv.sha256, sizeof(ret->sha256));
		e = db_channel_serial(r->db, ch, &ret->serial);
		goto out;
	}
	nv.version = nprev > 0 ? prev[0].version + 1 : 1;
	if (o->version != 0) {
		if (nprev > 0 && o->version <= prev[0].version) {
			e = log_error("version %llu of '%s' is not greater "
			    "than the current %llu",
			    (unsigned long long)o->version, component,
			    (unsigned long long)prev[0].version);
			goto out;
		}
		nv.version = o->version;
	}
	if (nv.version > MANIFEST_NUMBER_MAX) {
		e = log_error("version of '%s' out of range", component);
		goto out;
	}
	snprintf(nv.component, sizeof(nv.component), "%s", component);
	snprintf(nv.kind, sizeof(nv.kind), "%s", o->kind != NULL ? o->kind :
	    nprev > 0 ? prev[0].kind : r->conf.default_kind);
	snprintf(nv.edition, sizeof(nv.edition), "%s",
	    o->edition != NULL ? o->edition :
	    nprev > 0 ? prev[0].edition : r->conf.default_edition);
	nv.published = (int64_t)time(NULL);

	/* deltas from each version in the window, newest first */
	if (window > 0) {
		e = repo_make_deltas(r, prev, nprev, nv.sha256, fd, &deltas,
		    &ndeltas);
		if (e < 0) {
			log_errno(e, "cannot make the deltas of '%s'",
			    component);
			goto out;
		}
	}
	e = db_channel_serial(r->db, ch, &serial);
	if (e == 0)
		e = repo_record(r, ch, &nv, 1, deltas, ndeltas, ++serial);
	if (e < 0) {
		log_errno(e, "cannot record version %llu of '%s'",
		    (unsigned long long)nv.version, component);
		goto out;
	}
	e = repo_write_manifest(r, serial);
	if (e < 0) {
		log_errno(e, "cannot write the manifest of channel '%s'", ch);
		goto out;
	}
	ret->version = nv.version;
	ret->serial = serial;
	ret->ndeltas = (int)ndeltas;
	memcpy(ret->sha256, nv.sha256, sizeof(ret->sha256));
out:
	free(deltas);
	free(prev);
	return e < 0 ? e : 0;
}

int
repo_refresh(struct repo *r, int64_t margin)
{
	struct repo_channel	 c;
	struct manifest		*m = NULL;
	uint64_t		 serial;
	int			 e;

	e = repo_channel_load(r, r->conf.channel, &c, &m);
	if (e == -ENOENT)
		return 0;	/* nothing published yet */
	if (e < 0)
		return e;
	serial = c.serial;
	e = (int64_t)m->expires - (int64_t)time(NULL) > margin ? 0 : 1;
	manifest_free(m);
	repo_channel_release(&c);
	if (e == 0)
		return 0;
	e = db_begin(r->db);
	if (e == 0)
		e = db_channel_set_serial(r->db, r->conf.channel, serial + 1);
	if (e == 0)
		e = db_commit(r->db);
	if (e < 0) {
		db_rollback(r->db);
		return e;
	}
	e = repo_write_manifest(r, serial + 1);
	return e < 0 ? e : 1;
}

int
repo_channel_load(const struct repo *r, const char *channel,
    struct repo_channel *ret_c, struct manifest **ret_m)
{
	struct sig_pubkey	 pk;
	struct manifest		*m = NULL;
	char			 cur[64], path[FS_PATH_MAX], err[256];
	int			 e;

	memset(ret_c, 0, sizeof(*ret_c));
	buf_init(&ret_c->manifest, MANIFEST_SIZE_MAX);
	buf_init(&ret_c->sig, SIG_SIGFILE_MAX);
	snprintf(ret_c->name, sizeof(ret_c->name), "%s", channel);
	e = repo_channel_current(r, channel, cur, sizeof(cur));
	if (e == 0)
		e = fs_path(path, sizeof(path), "%s/channels/%s/%s/manifest",
		    r->dir, channel, cur);
	if (e == 0)
		e = fs_read(&ret_c->manifest, path);
	if (e == 0)
		e = fs_path(path, sizeof(path),
		    "%s/channels/%s/%s/manifest.minisig", r->dir, channel, cur);
	if (e == 0)
		e = fs_read(&ret_c->sig, path);
	if (e == 0)
		e = repo_pubkey(r, channel, &pk);
	if (e == 0)
		e = sig_verify(&pk, ret_c->manifest.ptr, ret_c->manifest.len,
		    ret_c->sig.ptr, ret_c->sig.len);
	if (e == 0)
		e = manifest_parse(ret_c->manifest.ptr, ret_c->manifest.len,
		    &m, err, sizeof(err));
	if (e == 0 && strcmp(m->channel, channel) != 0)
		e = -EBADMSG;
	if (e < 0) {
		manifest_free(m);
		repo_channel_release(ret_c);
		return e;
	}
	ret_c->serial = m->serial;
	ret_c->expires = m->expires;
	if (ret_m != NULL)
		*ret_m = m;
	else
		manifest_free(m);
	return 0;
}

void
repo_channel_release(struct repo_channel *c)
{
	buf_release(&c->manifest);
	buf_release(&c->sig);
}

static int
repo_name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

int
repo_channels(const struct repo *r,
    char (**ret_names)[MANIFEST_NAME_MAX + 1], size_t *ret_n)
{
	char		 path[FS_PATH_MAX], cur[64];
	char		(*names)[MANIFEST_NAME_MAX + 1] = NULL, (*nn)[MANIFEST_NAME_MAX + 1];
	DIR		*d;
	struct dirent	*e;
	size_t		 n = 0;
	int		 rc;

	rc = repo_file(r, path, sizeof(path), "channels");
	if (rc < 0)
		return rc;
	d = opendir(path);
	if (d == NULL)
		return -errno;
	while ((e = readdir(d)) != NULL) {
		if (!conf_valid_name(e->d_name, 0) ||
		    repo_channel_current(r, e->d_name, cur, sizeof(cur)) < 0)
			continue;
		nn = realloc(names, (n + 1) * sizeof(*names));
		if (nn == NULL) {
			free(names);
			closedir(d);
			return -ENOMEM;
		}
		names = nn;
		memcpy(names[n++], e->d_name, strlen(e->d_name) + 1);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), repo_name_cmp);
	*ret_names = names;
	*ret_n = n;
	return 0;
}

/* Garbage collection and verification. */

static int
repo_is_current_sha(const struct db_version *cur, size_t ncur,
    const char *sha)
{
	size_t	 i;

	for (i = 0; i < ncur; i++)
		if (strcmp(cur[i].sha256, sha) == 0)
			return 1;
	return 0;
}

static int
repo_remove_delta(struct repo *r, const struct db_delta *d)
{
	char	 link[FS_PATH_MAX];
	int	 e;

	e = db_delta_remove(r->db, d->from_sha256, d->to_sha256);
	if (e == 0)
		e = repo_delta_path(r, d->from_sha256, d->to_sha256, link,
		    sizeof(link));
	if (e == 0 && unlink(link) < 0 && errno != ENOENT)
		e = -errno;
	return e;
}

struct repo_gc_ctx {
	struct repo	*r;
	unsigned	 removed;
	int		 error;
};

static int
repo_gc_object(const char *name, int bad, void *arg)
{
	struct repo_gc_ctx	*g = arg;
	int			 e;

	if (bad)
		return 0;	/* not ours to remove; verify reports it */
	e = db_object_referenced(g->r->db, name);
	if (e < 0) {
		g->error = e;
		return e;
	}
	if (e == 0 && store_remove(&g->r->store, name) == 0)
		g->removed++;
	return 0;
}

/* Removes signed manifests older than the newest REPO_MANIFESTS_KEPT. */
static void
repo_gc_manifests(struct repo *r, const char *channel, uint64_t current)
{
	char		 dir[FS_PATH_MAX], sub[FS_PATH_MAX], f[FS_PATH_MAX];
	DIR		*d;
	struct dirent	*e;
	uint64_t	 serial;

	if (fs_path(dir, sizeof(dir), "%s/channels/%s", r->dir, channel) < 0)
		return;
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (ts_parse_u64(e->d_name, 1, MANIFEST_NUMBER_MAX,
		    &serial) < 0 || serial + REPO_MANIFESTS_KEPT > current)
			continue;
		if (fs_path(sub, sizeof(sub), "%s/%s", dir, e->d_name) < 0)
			continue;
		if (fs_path(f, sizeof(f), "%s/manifest.minisig", sub) == 0)
			unlink(f);
		if (fs_path(f, sizeof(f), "%s/manifest", sub) == 0)
			unlink(f);
		rmdir(sub);
	}
	closedir(d);
}

/* Drops the versions of one channel beyond retention; appends its
 * current versions to *cur. */
static int
repo_gc_channel(struct repo *r, const char *ch, struct db_version **cur,
    size_t *ncur)
{
	struct db_version	*c = NULL, *v = NULL, *all;
	size_t			 nc = 0, nv, i, j;
	int			 keep, e;

	e = db_current(r->db, ch, &c, &nc);
	for (i = 0; e == 0 && i < nc; i++) {
		keep = conf_retention(&r->conf, c[i].component);
		e = db_versions(r->db, ch, c[i].component, 0, &v, &nv);
		for (j = (size_t)keep; e == 0 && j < nv; j++)
			e = db_version_remove(r->db, ch, c[i].component,
			    v[j].version);
		free(v);
		v = NULL;
	}
	if (e == 0 && nc > 0) {
		all = realloc(*cur, (*ncur + nc) * sizeof(*all));
		if (all == NULL)
			e = -ENOMEM;
		else {
			memcpy(all + *ncur, c, nc * sizeof(*c));
			*cur = all;
			*ncur += nc;
		}
	}
	free(c);
	return e;
}

int
repo_gc(struct repo *r, unsigned *ret_removed)
{
	char			(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	struct repo_gc_ctx	 g = { r, 0, 0 };
	struct db_version	*cur = NULL;
	struct db_delta		*d = NULL;
	uint64_t		 serial;
	size_t			 ncur = 0, nd = 0, n = 0, i;
	unsigned		 stray;
	int			 e, local_listed = 0;

	/* every channel: the local one and those a mirror takes */
	e = repo_channels(r, &names, &n);
	if (e < 0)
		return e;
	e = db_begin(r->db);
	for (i = 0; e == 0 && i < n; i++) {
		local_listed |= strcmp(names[i], r->conf.channel) == 0;
		e = repo_gc_channel(r, names[i], &cur, &ncur);
	}
	if (e == 0 && !local_listed)
		e = repo_gc_channel(r, r->conf.channel, &cur, &ncur);
	/* a delta is only useful while it leads to a current version */
	if (e == 0)
		e = db_deltas_all(r->db, &d, &nd);
	for (i = 0; e == 0 && i < nd; i++)
		if (!repo_is_current_sha(cur, ncur, d[i].to_sha256))
			e = repo_remove_delta(r, &d[i]);
	if (e == 0)
		e = db_commit(r->db);
	else
		db_rollback(r->db);
	free(d);
	free(cur);
	if (e < 0) {
		free(names);
		return e;
	}
	/* objects go only after the state no longer names them */
	e = store_foreach(&r->store, repo_gc_object, &g);
	/* what a writer killed mid-object left; a day is past any write */
	if (e == 0)
		e = store_clean_tmp(&r->store, 86400, &stray);
	for (i = 0; e == 0 && i < n; i++)
		if (db_channel_serial(r->db, names[i], &serial) == 0)
			repo_gc_manifests(r, names[i], serial);
	if (e == 0) {
		e = db_events_prune(r->db, (int64_t)time(NULL) -
		    REPO_EVENTS_KEPT);
		e = e < 0 ? e : 0;
	}
	free(names);
	if (e < 0)
		return e;
	*ret_removed = g.removed;
	return 0;
}

struct repo_verify_ctx {
	struct repo	*r;
	int		 problems;
};

static int
repo_verify_object(const char *name, int bad, void *arg)
{
	struct repo_verify_ctx	*v = arg;
	int			 e;

	if (bad) {
		log_error("object store: stray file '%s'", name);
		v->problems++;
		return 0;
	}
	e = store_check(&v->r->store, name);
	if (e == -EPERM) {
		log_error("object '%s': content does not match its hash",
		    name);
		v->problems++;
	} else if (e < 0) {
		log_errno(e, "object '%s'", name);
		v->problems++;
	}
	return 0;
}

static void
repo_verify_present(struct repo_verify_ctx *v, const char *what,
    const char *sha, uint64_t size)
{
	uint64_t	 have;
	int		 e;

	e = store_has(&v->r->store, sha, &have);
	if (e == 1 && have == size)
		return;
	v->problems++;
	if (e == 1)
		log_error("%s: object '%s' has %llu bytes, not %llu", what,
		    sha, (unsigned long long)have, (unsigned long long)size);
	else
		log_error("%s: object '%s' is missing", what, sha);
}

/* Whether the state records this version (a mirror records only what it
 * fetched). */
static int
repo_holds(struct repo *r, const char *channel,
    const struct manifest_component *mc)
{
	struct db_version	*v = NULL;
	size_t			 n = 0;
	int			 held;

	if (db_versions(r->db, channel, mc->name, 1, &v, &n) < 0)
		return 1;
	held = n > 0 && v[0].version == mc->version;
	free(v);
	return held;
}

/* Checks every signed manifest kept for a channel, and what the current
 * one names. */
static void
repo_verify_channel(struct repo_verify_ctx *v, const char *channel,
    int quick)
{
	struct repo		*r = v->r;
	struct repo_channel	 c;
	struct sig_pubkey	 pk;
	struct manifest		*m = NULL;
	struct buf		 text, sig;
	char			 dir[FS_PATH_MAX], p[FS_PATH_MAX], what[512];
	DIR			*d;
	struct dirent		*e;
	uint64_t		 serial;
	size_t			 i, j;
	int			 rc;

	rc = repo_channel_load(r, channel, &c, &m);
	if (rc < 0) {
		log_errno(rc, "channel '%s': current manifest", channel);
		v->problems++;
		return;
	}
	for (i = 0; i < m->ncomponents; i++) {
		const struct manifest_component *mc = &m->components[i];

		/* a mirror holds only what its license covers */
		if (strcmp(channel, r->conf.channel) != 0 &&
		    !repo_holds(r, channel, mc))
			continue;
		snprintf(what, sizeof(what), "channel '%s': '%s' version %llu",
		    channel, mc->name, (unsigned long long)mc->version);
		repo_verify_present(v, what, mc->sha256, mc->size);
		/* a mirror fetches the upstream's deltas only when it needs
		 * them, and makes its own */
		for (j = 0; strcmp(channel, r->conf.channel) == 0 &&
		    j < mc->ndeltas; j++) {
			snprintf(what, sizeof(what), "channel '%s': delta of "
			    "'%s' from version %llu", channel, mc->name,
			    (unsigned long long)mc->deltas[j].from);
			repo_verify_present(v, what, mc->deltas[j].sha256,
			    mc->deltas[j].size);
		}
	}
	if (time(NULL) >= m->expires) {
		log_error("channel '%s': manifest %llu has expired", channel,
		    (unsigned long long)m->serial);
		v->problems++;
	}
	manifest_free(m);
	repo_channel_release(&c);
	if (quick || repo_pubkey(r, channel, &pk) < 0 ||
	    fs_path(dir, sizeof(dir), "%s/channels/%s", r->dir, channel) < 0)
		return;
	d = opendir(dir);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (ts_parse_u64(e->d_name, 1, MANIFEST_NUMBER_MAX,
		    &serial) < 0)
			continue;
		buf_init(&text, MANIFEST_SIZE_MAX);
		buf_init(&sig, SIG_SIGFILE_MAX);
		rc = fs_path(p, sizeof(p), "%s/%s/manifest", dir, e->d_name);
		if (rc == 0)
			rc = fs_read(&text, p);
		if (rc == 0)
			rc = fs_path(p, sizeof(p), "%s/%s/manifest.minisig",
			    dir, e->d_name);
		if (rc == 0)
			rc = fs_read(&sig, p);
		if (rc == 0)
			rc = sig_verify(&pk, text.ptr, text.len, sig.ptr,
			    sig.len);
		if (rc < 0) {
			log_errno(rc, "channel '%s': manifest %s", channel,
			    e->d_name);
			v->problems++;
		}
		buf_release(&text);
		buf_release(&sig);
	}
	closedir(d);
}

/* Every version the state keeps must have its object. */
static int
repo_verify_versions(struct repo_verify_ctx *v)
{
	struct db_version	*cur = NULL, *all = NULL;
	size_t			 ncur = 0, nall, i, j;
	char			 what[512];
	int			 e;

	e = db_current(v->r->db, v->r->conf.channel, &cur, &ncur);
	for (i = 0; e == 0 && i < ncur; i++) {
		e = db_versions(v->r->db, v->r->conf.channel,
		    cur[i].component, 0, &all, &nall);
		for (j = 0; e == 0 && j < nall; j++) {
			snprintf(what, sizeof(what), "'%s' version %llu",
			    all[j].component,
			    (unsigned long long)all[j].version);
			repo_verify_present(v, what, all[j].sha256,
			    all[j].size);
		}
		free(all);
		all = NULL;
	}
	free(cur);
	return e;
}

int
repo_verify(struct repo *r, int quick)
{
	struct repo_verify_ctx	 v = { r, 0 };
	char			(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	char			 link[FS_PATH_MAX], target[FS_PATH_MAX];
	struct db_delta		*d = NULL;
	size_t			 n = 0, nd = 0, i;
	ssize_t			 len;
	int			 e;

	e = repo_channels(r, &names, &n);
	if (e < 0)
		return e;
	for (i = 0; i < n; i++)
		repo_verify_channel(&v, names[i], quick);
	free(names);
	if (quick)
		return v.problems;
	e = store_foreach(&r->store, repo_verify_object, &v);
	if (e < 0)
		return e;
	e = repo_verify_versions(&v);
	if (e < 0)
		return e;
	e = db_deltas_all(r->db, &d, &nd);
	if (e < 0)
		return e;
	for (i = 0; i < nd; i++) {
		if (repo_delta_path(r, d[i].from_sha256, d[i].to_sha256, link,
		    sizeof(link)) < 0)
			continue;
		len = readlink(link, target, sizeof(target) - 1);
		if (len < 0 || (size_t)len < 64 ||
		    memcmp(target + len - 64, d[i].sha256, 64) != 0) {
			log_error("delta '%s' -> '%s': link missing or wrong",
			    d[i].from_sha256, d[i].to_sha256);
			v.problems++;
		}
		repo_verify_present(&v, "delta", d[i].sha256, d[i].size);
	}
	free(d);
	return v.problems;
}
