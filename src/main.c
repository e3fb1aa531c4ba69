/*
 * cascade: the command line. Each subcommand parses its options, opens the
 * data directory (-d DIR, default ./var) and calls the module that does
 * the work. Exit status: 0 success, 1 failure, 2 usage.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "agents.h"
#include "cmd_delta.h"
#include "license.h"
#include "log.h"
#include "remote.h"
#include "report.h"
#include "repo.h"
#include "serve.h"
#include "sync.h"
#include "ts.h"
#include "banned.h"

#define DEFAULT_DIR	"var"

static const char usage_text[] =
"usage: cascade COMMAND [-d DIR] [options]\n"
"\n"
"  init    [-d DIR] [--channel NAME] [--key SECRET_KEY]\n"
"                     create a data directory, the channel's key pair\n"
"                     and the admin token DIR/admin.token\n"
"  keygen  -o PREFIX   write a new minisign key pair PREFIX.pub, PREFIX.key\n"
"  publish [-d DIR] COMPONENT FILE [--kind K] [--edition E] [--version N]\n"
"                     publish FILE as the next version of COMPONENT\n"
"  serve   [-d DIR] [--listen ADDR]...\n"
"                     serve the repository over HTTP ([::]:8080)\n"
"  status  [-d DIR]   show the channels and components\n"
"  sync    [-d DIR] [--now [--json]]\n"
"                     sync from the upstream now (--now: ask the server)\n"
"  license add    [-d DIR] KEY --edition E [--username U --password P]\n"
"  license list   [-d DIR]\n"
"  license remove [-d DIR] KEY\n"
"                     manage who may download (--password - reads stdin)\n"
"  agents  [-d DIR] [--json] [--state S] [--group G]\n"
"                     the enrolled agents, each with its state\n"
"  agents  [-d DIR] license ID | unlicense ID | group ID NAME | remove ID\n"
"                     license a pending agent, move it, remove it\n"
"  agents  notify ID  ask an agent to sync now (a running server)\n"
"  downstreams [-d DIR] [--json]\n"
"                     the mirrors that sync from this server, each with its state\n"
"  downstreams [-d DIR] run NAME | remove NAME\n"
"                     make a downstream sync now; forget one\n"
"  downstreams [-d DIR] schedule NAME SCHEDULE [--at-startup] | schedule NAME none\n"
"                     the schedule a downstream syncs on (handed to it)\n"
"  report files [-d DIR] [--json] [--downstream NAME]\n"
"                     what each downstream lacks or holds out of date\n"
"  events  [-d DIR] [--since TIME] [--kind K] [--agent ID] [--json]\n"
"                     the event history (TIME: 2026-11-22T10:00:00Z or 24h;\n"
"                     K: a kind, or a prefix and '*': sync-*)\n"
"  token create [-d DIR] NAME [--role admin|viewer]\n"
"  token list   [-d DIR]\n"
"  token revoke [-d DIR] NAME\n"
"                     tokens of the admin API (create prints the token)\n"
"  verify  [-d DIR]   check every object, signature and reference\n"
"  gc      [-d DIR]   remove what retention no longer keeps\n"
"  diff    OLD NEW DELTA [--level N]   make a delta (a zstd frame)\n"
"  patch   OLD DELTA NEW [--size N]    apply a delta\n"
"\n"
"\n"
"agents, events and sync --now take --server URL --token FILE instead of\n"
"-d DIR: the same through a running server's admin API.\n"
"DIR defaults to ./var. See docs/ for the formats and configuration.\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/* Options shared by the subcommands; each takes what it needs. */
enum { OPT_CHANNEL = 256, OPT_KEY, OPT_KIND, OPT_EDITION, OPT_VERSION,
	OPT_NOW, OPT_LISTEN };

/* ... and those of license, events, token and the remote commands */
enum { OPT_USERNAME = 512, OPT_PASSWORD, OPT_SINCE, OPT_AGENT, OPT_JSON,
	OPT_ROLE, OPT_SERVER, OPT_TOKEN };

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "edition", required_argument, NULL, OPT_EDITION },
	{ "version", required_argument, NULL, OPT_VERSION },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "now", no_argument, NULL, OPT_NOW },
	{ "username", required_argument, NULL, OPT_USERNAME },
	{ "password", required_argument, NULL, OPT_PASSWORD },
	{ "since", required_argument, NULL, OPT_SINCE },
	{ "agent", required_argument, NULL, OPT_AGENT },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "role", required_argument, NULL, OPT_ROLE },
	{ "server", required_argument, NULL, OPT_SERVER },
	{ "token", required_argument, NULL, OPT_TOKEN },
	{ "output", required_argument, NULL, 'o' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

struct args {
	const char	*dir;
	const char	*channel;
	const char	*key;
	const char	*kind;
	const char	*edition;
	const char	*output;
	uint64_t	 version;
	const char	*listen[CONF_LISTEN_MAX];
	int		 nlisten;
	int		 now;
	const char	*username;
	const char	*password;	/* "-": read from stdin */
	const char	*since;
	const char	*agent;
	int		 json;
	const char	*role;
	const char	*server;
	const char	*token;
	int		 dir_set;
	char		**pos;		/* positional arguments */
	int		 npos;
};

/* Parses argv; `allowed` lists the option letters/ids the command takes. */
static int
args_parse(int argc, char **argv, const char *cmd, const int *allowed,
    struct args *a)
{
	int	 c, i, ok;

	memset(a, 0, sizeof(*a));
	a->dir = DEFAULT_DIR;
	optind = 1;
	while ((c = getopt_long(argc, argv, "d:o:vh", long_opts, NULL)) != -1) {
		if (c == '?')
			return usage();
		if (c == 'h')
			return usage();
		if (c == 'v') {
			log_set_verbose(1);
			continue;
		}
		ok = 0;
		for (i = 0; allowed[i] != 0; i++)
			ok |= allowed[i] == c;
		if (!ok) {
			log_error("%s: option '%s' does not apply",
			    cmd, argv[optind - 1]);
			return 2;
		}
		switch (c) {
		case 'd': a->dir = optarg; a->dir_set = 1; break;
		case 'o': a->output = optarg; break;
		case OPT_CHANNEL: a->channel = optarg; break;
		case OPT_KEY: a->key = optarg; break;
		case OPT_KIND: a->kind = optarg; break;
		case OPT_EDITION: a->edition = optarg; break;
		case OPT_VERSION:
			if (ts_parse_u64(optarg, 1, MANIFEST_NUMBER_MAX,
			    &a->version) < 0) {
				log_error("bad version '%s': a positive "
				    "integer", optarg);
				return 2;
			}
			break;
		case OPT_NOW: a->now = 1; break;
		case OPT_USERNAME: a->username = optarg; break;
		case OPT_PASSWORD: a->password = optarg; break;
		case OPT_SINCE: a->since = optarg; break;
		case OPT_AGENT: a->agent = optarg; break;
		case OPT_JSON: a->json = 1; break;
		case OPT_ROLE: a->role = optarg; break;
		case OPT_SERVER: a->server = optarg; break;
		case OPT_TOKEN: a->token = optarg; break;
		case OPT_LISTEN:
			if (a->nlisten == CONF_LISTEN_MAX) {
				log_error("at most %d --listen addresses",
				    CONF_LISTEN_MAX);
				return 2;
			}
			a->listen[a->nlisten++] = optarg;
			break;
		}
	}
	a->pos = argv + optind;
	a->npos = argc - optind;
	if ((a->server == NULL) != (a->token == NULL) ||
	    (a->server != NULL && a->dir_set)) {
		log_error("%s: either -d DIR, or --server URL with --token "
		    "FILE", cmd);
		return 2;
	}
	return 0;
}

static int	 open_repo(struct repo *, const char *);

static int
cmd_init(int argc, char **argv)
{
	static const int allowed[] = { 'd', OPT_CHANNEL, OPT_KEY, 0 };
	struct args	 a;
	struct repo	 r;
	int		 e;

	e = args_parse(argc, argv, "init", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 0)
		return usage();
	if (repo_init(a.dir, a.channel ? a.channel : "main", a.key) < 0)
		return 1;
	if (open_repo(&r, a.dir) != 0)
		return 1;
	e = admin_token_bootstrap(a.dir, r.db, NULL);
	repo_close(&r);
	if (e < 0)
		return log_errno(e, "cannot write the admin token '%s/%s'",
		    a.dir, ADMIN_TOKEN_FILE), 1;
	printf("initialised '%s' (channel '%s', public key %s/keys/%s.pub, "
	    "admin token %s/%s)\n", a.dir, a.channel ? a.channel : "main",
	    a.dir, a.channel ? a.channel : "main", a.dir, ADMIN_TOKEN_FILE);
	return 0;
}

static int
cmd_keygen(int argc, char **argv)
{
	static const int allowed[] = { 'o', 0 };
	struct sig_seckey	 sk;
	struct sig_pubkey	 pk;
	struct args		 a;
	struct buf		 b;
	char			 path[FS_PATH_MAX];
	int			 r;

	r = args_parse(argc, argv, "keygen", allowed, &a);
	if (r != 0)
		return r;
	if (a.npos != 0 || a.output == NULL)
		return usage();
	r = sig_keygen(&sk);
	if (r < 0)
		return log_errno(r, "cannot generate a key pair"), 1;
	buf_init(&b, SIG_KEYFILE_MAX);
	r = fs_path(path, sizeof(path), "%s.key", a.output);
	if (r == 0 && fs_exists(path) == 1)
		r = -EEXIST;
	if (r == 0)
		r = sig_seckey_format(&sk, &b);
	if (r == 0)
		r = fs_write_atomic(path, b.ptr, b.len, 0600);
	if (b.ptr != NULL)
		crypto_wipe(b.ptr, b.len);
	buf_reset(&b);
	sig_seckey_public(&sk, &pk);
	sig_seckey_wipe(&sk);
	if (r == 0)
		r = sig_pubkey_format(&pk, &b);
	if (r == 0)
		r = fs_path(path, sizeof(path), "%s.pub", a.output);
	if (r == 0)
		r = fs_write_atomic(path, b.ptr, b.len, 0644);
	buf_release(&b);
	if (r < 0)
		return log_errno(r, "cannot write '%s'", path), 1;
	printf("wrote %s.pub and %s.key\n", a.output, a.output);
	return 0;
}

static int
open_repo(struct repo *r, const char *dir)
{
	return repo_open(r, dir) < 0 ? 1 : 0;
}

static int
cmd_publish(int argc, char **argv)
{
	static const int allowed[] = { 'd', OPT_KIND, OPT_EDITION,
	    OPT_VERSION, 0 };
	struct repo_publish_opts	 o;
	struct repo_publish_result	 res;
	struct args			 a;
	struct repo			 r;
	int				 e;

	e = args_parse(argc, argv, "publish", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 2)
		return usage();
	if (open_repo(&r, a.dir) != 0)
		return 1;
	o.kind = a.kind;
	o.edition = a.edition;
	o.version = a.version;
	e = repo_lock(&r);
	if (e == 0)
		e = repo_publish(&r, a.pos[0], a.pos[1], &o, &res);
	repo_close(&r);
	if (e < 0)
		return 1;
	if (res.unchanged)
		printf("%s: version %llu already holds these bytes; nothing "
		    "published (channel '%s' serial %llu)\n", a.pos[0],
		    (unsigned long long)res.version, r.conf.channel,
		    (unsigned long long)res.serial);
	else
		printf("%s version %llu, channel '%s' serial %llu (%d "
		    "delta%s)\n", a.pos[0], (unsigned long long)res.version,
		    r.conf.channel, (unsigned long long)res.serial,
		    res.ndeltas, res.ndeltas == 1 ? "" : "s");
	return 0;
}

static int
cmd_verify(int argc, char **argv)
{
	static const int allowed[] = { 'd', 0 };
	struct args	 a;
	struct repo	 r;
	int		 e;

	e = args_parse(argc, argv, "verify", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 0)
		return usage();
	if (open_repo(&r, a.dir) != 0)
		return 1;
	e = repo_verify(&r, 0);
	repo_close(&r);
	if (e < 0)
		return log_errno(e, "cannot verify '%s'", a.dir), 1;
	if (e > 0) {
		log_error("'%s': %d problem%s found", a.dir, e,
		    e == 1 ? "" : "s");
		return 1;
	}
	printf("'%s': every object, manifest and signature checks out\n",
	    a.dir);
	return 0;
}

static int
cmd_gc(int argc, char **argv)
{
	static const int allowed[] = { 'd', 0 };
	struct args	 a;
	struct repo	 r;
	unsigned	 removed = 0;
	int		 e;

	e = args_parse(argc, argv, "gc", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 0)
		return usage();
	if (open_repo(&r, a.dir) != 0)
		return 1;
	e = repo_lock(&r);
	if (e == 0)
		e = repo_gc(&r, &removed);
	repo_close(&r);
	if (e < 0)
		return log_errno(e, "garbage collection of '%s' failed",
		    a.dir), 1;
	printf("removed %u object%s\n", removed, removed == 1 ? "" : "s");
	return 0;
}

/* A mirror as a downstream of its upstream: its name there, its last
 * inventory report, and the schedule it syncs on. */
static void
status_downstream(struct repo *r)
{
	struct conf_schedule	 sc;
	char			 name[CONF_NAME_MAX + 1], given[64] = "";
	char			 last[32] = "", when[TS_LEN + 1] = "never";
	char			 text[CONF_SCHEDULE_TEXT_MAX], *sp;
	uint64_t		 t;
	int			 startup = r->conf.upstream.sync_at_startup;

	sync_downstream_name(&r->conf, name);
	if (db_meta_get(r->db, "inventory_reported", last, sizeof(last)) == 0 &&
	    ts_parse_u64(last, 0, INT64_MAX, &t) == 0)
		ts_format((time_t)t, when);
	/* as the mirror keeps what the upstream set (mirror.h) */
	if (db_meta_get(r->db, "downstream_schedule", given,
	    sizeof(given)) == 0 && given[0] != '\0') {
		sp = strstr(given, " at_startup");
		startup = sp != NULL && sp[11] == '\0';
		if (startup)
			*sp = '\0';
	}
	if (given[0] != '\0' && conf_schedule_parse(given, &sc) == 0) {
		conf_schedule_format(&sc, text);
		printf("schedule %s%s (set by the upstream)\n", text,
		    startup ? ", and at start-up" : "");
	} else {
		conf_schedule_format(&r->conf.upstream.schedule, text);
		printf("schedule %s%s ([upstream] schedule)\n", text,
		    r->conf.upstream.sync_at_startup ? ", and at start-up" :
		    "");
	}
	printf("downstream name %s, inventory last reported %s\n", name, when);
}

/* A mirror's view of its upstream, from what the last passes recorded. */
static void
status_upstream(struct repo *r)
{
	char		 serial[32] = "", last[32] = "", running[8] = "";
	char		 when[TS_LEN + 1] = "never";
	uint64_t	 t;

	if (r->conf.upstream.url[0] == '\0')
		return;
	db_meta_get(r->db, "upstream_serial", serial, sizeof(serial));
	db_meta_get(r->db, "sync_running", running, sizeof(running));
	if (db_meta_get(r->db, "last_sync_ok", last, sizeof(last)) == 0 &&
	    ts_parse_u64(last, 0, INT64_MAX, &t) == 0)
		ts_format((time_t)t, when);
	/* a pass holds the writers' lock: if it is free, none runs */
	if (strcmp(running, "1") == 0 && repo_trylock(r) == 0) {
		repo_unlock(r);
		memcpy(running, "cut", 4);
	}
	printf("upstream %s serial %s, last successful sync %s%s\n",
	    r->conf.upstream.url, serial[0] != '\0' ? serial : "unknown",
	    when, strcmp(running, "1") == 0 ? ", a sync is in progress" :
	    strcmp(running, "cut") == 0 ? ", the last sync was cut short" :
	    "");
	status_downstream(r);
}

static int
cmd_status(int argc, char **argv)
{
	static const int allowed[] = { 'd', 0 };
	char			(*names)[MANIFEST_NAME_MAX + 1] = NULL;
	char			 exp[TS_LEN + 1];
	struct repo_channel	 c;
	struct manifest		*m;
	struct args		 a;
	struct repo		 r;
	size_t			 n = 0, i, j;
	int			 e, bad = 0;

	e = args_parse(argc, argv, "status", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 0)
		return usage();
	if (open_repo(&r, a.dir) != 0)
		return 1;
	status_upstream(&r);
	e = repo_channels(&r, &names, &n);
	if (e == 0 && n == 0)
		printf("'%s': nothing published yet\n", a.dir);
	for (i = 0; e == 0 && i < n; i++) {
		if (repo_channel_load(&r, names[i], &c, &m) < 0) {
			log_error("channel '%s': current manifest does not "
			    "verify", names[i]);
			bad = 1;
			continue;
		}
		ts_format(m->expires, exp);
		printf("channel %s serial %llu expires %s\n", m->channel,
		    (unsigned long long)m->serial, exp);
		for (j = 0; j < m->ncomponents; j++)
			printf("  %-24s %-8s %-10s version %llu, %llu bytes, "
			    "%zu deltas\n", m->components[j].name,
			    m->components[j].kind, m->components[j].edition,
			    (unsigned long long)m->components[j].version,
			    (unsigned long long)m->components[j].size,
			    m->components[j].ndeltas);
		manifest_free(m);
		repo_channel_release(&c);
	}
	free(names);
	repo_close(&r);
	if (e < 0)
		return log_errno(e, "cannot read '%s'", a.dir), 1;
	return bad;
}

static int
cmd_serve(int argc, char **argv)
{
	static const int allowed[] = { 'd', OPT_LISTEN, 0 };
	struct serve_options	 o;
	struct args		 a;
	struct repo		 r;
	int			 e, i;

	e = args_parse(argc, argv, "serve", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 0)
		return usage();
	if (open_repo(&r, a.dir) != 0)
		return 1;
	memset(&o, 0, sizeof(o));
	for (i = 0; i < a.nlisten; i++)
		o.listen[o.nlisten++] = a.listen[i];
	e = serve_run(&r, &o);
	repo_close(&r);
	return e;
}

/* A request file the running server takes within a tick. */
#define SYNC_REQUEST_WAIT	10	/* seconds */

/* sync --now through a running server's admin API. */
static int
sync_now_remote(const struct args *a)
{
	struct remote	*rm = NULL;
	struct buf	 out;
	long		 status = 0;
	int		 rc = 1;

	if (remote_open(a->server, a->token, &rm) < 0)
		return 1;
	buf_init(&out, REMOTE_ANSWER_MAX);
	if (remote_request(rm, "POST", "v1/admin/sync", NULL, 0, &out,
	    &status) < 0)
		goto out;
	if (status != 202) {
		rc = remote_fail(rm, "ask for a sync", status, &out);
		goto out;
	}
	if (a->json)
		fwrite(out.ptr, 1, out.len, stdout);
	else
		printf("sync requested from the server at '%s'\n",
		    remote_url(rm));
	rc = 0;
out:
	buf_release(&out);
	remote_close(rm);
	return rc;
}

static int
cmd_sync(int argc, char **argv)
{
	static const int allowed[] = { 'd', OPT_NOW, OPT_JSON, OPT_SERVER,
	    OPT_TOKEN, 0 };
	struct sync_result	 res;
	struct args		 a;
	struct repo		 r;
	char			 path[FS_PATH_MAX];
	int			 e, i;

	e = args_parse(argc, argv, "sync", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 0)
		return usage();
	if ((a.server != NULL || a.json) && !a.now) {
		log_error("sync: --server and --json go with --now (a running "
		    "server syncs)");
		return 2;
	}
	if (a.server != NULL)
		return sync_now_remote(&a);
	if (open_repo(&r, a.dir) != 0)
		return 1;
	if (a.now) {
		/* ask the running server, which owns the schedule */
		if (r.conf.upstream.url[0] == '\0') {
			repo_close(&r);
			return log_error("'%s' has no [upstream] to sync "
			    "from", a.dir), 1;
		}
		e = fs_path(path, sizeof(path), "%s/sync.request", a.dir);
		if (e == 0)
			e = fs_write_atomic(path, "now\n", 4, 0644);
		repo_close(&r);
		if (e < 0)
			return log_errno(e, "cannot write '%s'", path), 1;
		for (i = 0; i < SYNC_REQUEST_WAIT * 20; i++) {
			if (fs_exists(path) == 0) {
				if (a.json)
					printf("{\"queued\": true}\n");
				else
					printf("sync requested from the server "
					    "on '%s'\n", a.dir);
				return 0;
			}
			usleep(50000);
		}
		unlink(path);
		log_error("no server took the request within %d s: is "
		    "'cascade serve -d %s' running? ('cascade sync -d %s' "
		    "without --now syncs in the foreground)",
		    SYNC_REQUEST_WAIT, a.dir, a.dir);
		return 1;
	}
	e = sync_run(&r, "cascade sync", &res);
	repo_close(&r);
	if (e < 0)
		return 1;
	printf("synced from %s: upstream serial %llu, %u channel%s updated, "
	    "%u refused; %llu bytes by delta, %llu whole\n",
	    r.conf.upstream.url, (unsigned long long)res.upstream_serial,
	    res.channels_updated, res.channels_updated == 1 ? "" : "s",
	    res.channels_refused, (unsigned long long)res.bytes_delta,
	    (unsigned long long)res.bytes_full);
	return res.channels_refused > 0 ? 1 : 0;
}

/* A password given as "-": one line of stdin, without its newline. */
static int
read_password(char *buf, size_t size)
{
	size_t	 n;

	if (fgets(buf, (int)size, stdin) == NULL)
		return -EINVAL;
	n = strcspn(buf, "\r\n");
	if (buf[n] == '\0' && n == size - 1)
		return -E2BIG;		/* no end of line: too long */
	buf[n] = '\0';
	return 0;
}

/* "basic, business, premium" */
static void
editions_list(const struct conf *c, char *out, size_t size)
{
	size_t	 len = 0;
	int	 i;

	out[0] = '\0';
	for (i = 0; i < c->neditions && len < size; i++)
		len += (size_t)snprintf(out + len, size - len, "%s%s",
		    i > 0 ? ", " : "", c->editions[i]);
}

static int
cmd_license_add(int argc, char **argv)
{
	static const int allowed[] = { 'd', OPT_EDITION, OPT_USERNAME,
	    OPT_PASSWORD, 0 };
	struct db_license	 l;
	struct args		 a;
	struct repo		 r;
	char			 err[256], mask[LICENSE_MASK_MAX];
	char			 list[CONF_EDITIONS_MAX * (CONF_NAME_MAX + 2)];
	char			 detail[LICENSE_MASK_MAX + CONF_NAME_MAX + 32];
	char			 pass[LICENSE_PASSWORD_MAX + 2];
	const char		*password;
	int			 e, rc = 1;

	e = args_parse(argc, argv, "license add", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 1)
		return usage();
	if (a.edition == NULL) {
		log_error("license add: --edition is required");
		return 2;
	}
	password = a.password;
	if (password != NULL && strcmp(password, "-") == 0) {
		if (read_password(pass, sizeof(pass)) < 0) {
			log_error("license add: cannot read a password of at "
			    "most %d bytes from stdin", LICENSE_PASSWORD_MAX);
			return 1;
		}
		password = pass;
	}
	license_mask(a.pos[0], mask);
	if (open_repo(&r, a.dir) != 0)
		goto out;
	if (r.conf.neditions > 0 && conf_edition_rank(&r.conf,
	    a.edition) < 0) {
		editions_list(&r.conf, list, sizeof(list));
		log_error("unknown edition '%s': [editions] order in "
		    "'%s/cascade.conf' has %s", a.edition, a.dir, list);
		goto close;
	}
	e = license_make(&l, a.pos[0], a.edition, a.username, password,
	    err, sizeof(err));
	if (e < 0) {
		log_error("license add: %s", err);
		goto close;
	}
	snprintf(detail, sizeof(detail), "added %s edition %s", mask,
	    a.edition);
	e = db_begin(r.db);
	if (e == 0)
		e = db_license_add(r.db, &l);
	if (e == 0)
		e = db_event_add(r.db, "license", NULL, detail);
	if (e == 0)
		e = db_commit(r.db);
	else
		db_rollback(r.db);
	crypto_wipe(&l, sizeof(l));
	if (e == -EEXIST) {
		log_error("license '%s' exists already (remove it first)",
		    mask);
		goto close;
	}
	if (e < 0) {
		log_errno(e, "cannot add license '%s' to '%s'", mask, a.dir);
		goto close;
	}
	printf("added license %s, edition %s%s%s\n", mask, a.edition,
	    a.username != NULL ? ", username " : "",
	    a.username != NULL ? a.username : "");
	rc = 0;
close:
	repo_close(&r);
out:
	crypto_wipe(pass, sizeof(pass));
	return rc;
}

static int
cmd_license_list(int argc, char **argv)
{
	static const int allowed[] = { 'd', 0 };
	struct db_license	*l = NULL;
	struct args		 a;
	struct repo		 r;
	char			 mask[LICENSE_MASK_MAX], created[TS_LEN + 1];
	size_t			 n = 0, i;
	int			 e;

	e = args_parse(argc, argv, "license list", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 0)
		return usage();
	if (open_repo(&r, a.dir) != 0)
		return 1;
	e = db_licenses(r.db, &l, &n);
	repo_close(&r);
	if (e < 0)
		return log_errno(e, "cannot read the licenses of '%s'",
		    a.dir), 1;
	if (n == 0)
		printf("no licenses: everyone is served\n");
	for (i = 0; i < n; i++) {
		license_mask(l[i].key, mask);
		ts_format((time_t)l[i].created, created);
		printf("%-14s %-16s %-24s %s\n", mask, l[i].edition,
		    l[i].username[0] != '\0' ? l[i].username : "-", created);
	}
	if (l != NULL)
		crypto_wipe(l, n * sizeof(*l));
	free(l);
	return 0;
}

static int
cmd_license_remove(int argc, char **argv)
{
	static const int allowed[] = { 'd', 0 };
	struct db_license	 l;
	struct args		 a;
	struct repo		 r;
	char			 mask[LICENSE_MASK_MAX];
	char			 detail[LICENSE_MASK_MAX + CONF_NAME_MAX + 32];
	int			 e;

	e = args_parse(argc, argv, "license remove", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 1)
		return usage();
	license_mask(a.pos[0], mask);
	if (open_repo(&r, a.dir) != 0)
		return 1;
	e = db_begin(r.db);
	if (e == 0)
		e = db_license_get(r.db, a.pos[0], &l);
	if (e == 0) {
		snprintf(detail, sizeof(detail), "removed %s edition %s",
		    mask, l.edition);
		crypto_wipe(&l, sizeof(l));
		e = db_license_remove(r.db, a.pos[0]);
	}
	if (e == 0)
		e = db_event_add(r.db, "license", NULL, detail);
	if (e == 0)
		e = db_commit(r.db);
	else
		db_rollback(r.db);
	repo_close(&r);
	if (e == -ENOENT)
		return log_error("no license '%s' in '%s'", mask, a.dir), 1;
	if (e < 0)
		return log_errno(e, "cannot remove license '%s' from '%s'",
		    mask, a.dir), 1;
	printf("removed license %s\n", mask);
	return 0;
}

static int
cmd_license(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "add") == 0)
		return cmd_license_add(argc - 1, argv + 1);
	if (strcmp(argv[1], "list") == 0)
		return cmd_license_list(argc - 1, argv + 1);
	if (strcmp(argv[1], "remove") == 0)
		return cmd_license_remove(argc - 1, argv + 1);
	log_error("unknown license command '%s' (add, list, remove)",
	    argv[1]);
	return usage();
}

/* Prints s with control characters as '?': one event, one line. */
static void
print_clean(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < ' ' || *s == 0x7f ? '?' : *s);
}

/* How events are printed: one line each, or a JSON array as the admin
 * API writes it. */
struct events_out {
	int		 json;
	size_t		 n;
	struct buf	 b;	/* one JSON item */
};

static int
print_event(void *arg, const struct db_event *e)
{
	struct events_out	*o = arg;
	char			 t[TS_LEN + 1];
	int			 r;

	if (o->json) {
		buf_reset(&o->b);
		r = admin_json_next(&o->b, o->n);
		if (r == 0)
			r = admin_event_json(&o->b, e);
		if (r < 0)
			return r;
		fwrite(o->b.ptr, 1, o->b.len, stdout);
		o->n++;
		return 0;
	}
	ts_format((time_t)e->time, t);
	printf("%s ", t);
	print_clean(e->kind);
	printf(" ");
	/* what the event is about: a channel, an agent, or nothing */
	print_clean(e->channel[0] != '\0' ? e->channel :
	    e->agent[0] != '\0' ? e->agent : "-");
	printf(" ");
	print_clean(e->detail);
	printf("\n");
	o->n++;
	return 0;
}

static void
print_events_end(struct events_out *o)
{
	if (!o->json)
		return;
	buf_reset(&o->b);
	if (admin_json_end(&o->b, o->n) == 0)
		fwrite(o->b.ptr, 1, o->b.len, stdout);
}

/* One event of the admin API's list, printed as a local one is. */
static int
events_row(void *arg, const struct manifest_field *f, size_t n)
{
	struct events_out	*o = arg;
	struct db_event		*e;
	uint64_t		 id;
	time_t			 t;
	int			 r;

	(void)n;
	if (ts_parse_u64(f[0].value, 1, INT64_MAX, &id) < 0 ||
	    ts_parse(f[1].value, strlen(f[1].value), &t) < 0)
		return -EBADMSG;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -ENOMEM;
	e->id = (int64_t)id;
	e->time = (int64_t)t;
	snprintf(e->kind, sizeof(e->kind), "%s", f[2].value);
	snprintf(e->channel, sizeof(e->channel), "%s", f[3].value);
	snprintf(e->agent, sizeof(e->agent), "%s", f[4].value);
	snprintf(e->detail, sizeof(e->detail), "%s", f[5].value);
	r = print_event(o, e);
	free(e);
	return r == 0 ? 0 : r;
}

/* The events through a running server's admin API, page by page. */
static int
events_remote(const struct args *a, int64_t since, struct events_out *o)
{
	char			 id[32], tm[TS_LEN + 2], kind[DB_EVENT_KIND_MAX + 2];
	char			 ch[MANIFEST_NAME_MAX + 1];
	char			 ag[MANIFEST_AGENT_ID_MAX + 1];
	char			 detail[DB_EVENT_DETAIL_MAX + 1], err[256];
	char			 t[TS_LEN + 1];
	struct manifest_field	 f[] = {
		{ "id", MANIFEST_FIELD_INT, id, sizeof(id), 0 },
		{ "time", MANIFEST_FIELD_STRING, tm, sizeof(tm), 0 },
		{ "kind", MANIFEST_FIELD_STRING, kind, sizeof(kind), 0 },
		{ "channel", MANIFEST_FIELD_STRING, ch, sizeof(ch), 0 },
		{ "agent", MANIFEST_FIELD_STRING, ag, sizeof(ag), 0 },
		{ "detail", MANIFEST_FIELD_STRING, detail, sizeof(detail), 0 },
	};
	struct remote		*rm = NULL;
	struct buf		 path, out;
	size_t			 before;
	long			 status = 0;
	int64_t			 after = 0;
	int			 e, rc = 1;

	if (remote_open(a->server, a->token, &rm) < 0)
		return 1;
	buf_init(&path, 1024);
	buf_init(&out, REMOTE_ANSWER_MAX);
	for (;;) {
		buf_reset(&path);
		buf_reset(&out);
		e = buf_printf(&path, "v1/admin/events?limit=%d&after=%lld",
		    ADMIN_EVENTS_LIMIT_MAX, (long long)after);
		if (e == 0 && a->kind != NULL)
			e = buf_puts(&path, "&kind=");
		if (e == 0 && a->kind != NULL)
			e = remote_query_escape(&path, a->kind);
		if (e == 0 && a->agent != NULL)
			e = buf_puts(&path, "&agent=");
		if (e == 0 && a->agent != NULL)
			e = remote_query_escape(&path, a->agent);
		if (e == 0 && since > 0) {
			ts_format((time_t)since, t);
			e = buf_puts(&path, "&since=");
			if (e == 0)
				e = remote_query_escape(&path, t);
		}
		if (e < 0) {
			log_errno(e, "cannot ask for the events");
			break;
		}
		if (remote_request(rm, "GET", path.ptr, NULL, 0, &out,
		    &status) < 0)
			break;
		if (status != 200) {
			remote_fail(rm, "read the events", status, &out);
			break;
		}
		before = o->n;
		err[0] = '\0';
		e = manifest_rows_parse(out.ptr != NULL ? out.ptr : "",
		    out.len, REMOTE_ANSWER_MAX, f, sizeof(f) / sizeof(f[0]),
		    events_row, o, err, sizeof(err));
		if (e < 0) {
			log_error("cannot read the events '%s' listed: %s",
			    remote_url(rm), err[0] != '\0' ? err :
			    log_strerror(e));
			break;
		}
		if (o->n - before < ADMIN_EVENTS_LIMIT_MAX) {
			rc = 0;
			break;
		}
		/* the last id of this page: where the next one starts */
		if (ts_parse_u64(id, 1, INT64_MAX, (uint64_t *)&after) < 0)
			break;
	}
	if (rc == 0)
		print_events_end(o);
	buf_release(&path);
	buf_release(&out);
	remote_close(rm);
	return rc;
}

static int
cmd_events(int argc, char **argv)
{
	static const int allowed[] = { 'd', OPT_SINCE, OPT_KIND, OPT_AGENT,
	    OPT_JSON, OPT_SERVER, OPT_TOKEN, 0 };
	struct db_event_filter	 f;
	struct events_out	 o;
	struct args		 a;
	struct repo		 r;
	time_t			 t;
	int64_t			 since = 0, back;
	size_t			 klen;
	int			 e;

	e = args_parse(argc, argv, "events", allowed, &a);
	if (e != 0)
		return e;
	if (a.npos != 0)
		return usage();
	if (a.since != NULL) {
		if (ts_parse(a.since, strlen(a.since), &t) == 0)
			since = (int64_t)t;
		else if (ts_duration_parse(a.since, &back) == 0)
			since = (int64_t)time(NULL) - back;
		else {
			log_error("bad --since '%s': a time like "
			    "2026-11-22T10:00:00Z, or a duration back from "
			    "now like 90s, 15m, 24h, 7d", a.since);
			return 2;
		}
	}
	klen = a.kind != NULL ? strlen(a.kind) : 0;
	if (a.kind != NULL && (klen == 0 || klen > DB_EVENT_KIND_MAX + 1)) {
		log_error("bad --kind '%s'", a.kind);
		return 2;
	}
	if (a.agent != NULL && (strlen(a.agent) != MANIFEST_AGENT_ID_MAX ||
	    strspn(a.agent, "0123456789abcdef") != MANIFEST_AGENT_ID_MAX)) {
		log_error("bad --agent '%s': an agent id, 32 hex digits",
		    a.agent);
		return 2;
	}
	memset(&o, 0, sizeof(o));
	o.json = a.json;
	buf_init(&o.b, 2 * DB_EVENT_DETAIL_MAX + 4096);
	if (a.server != NULL) {
		e = events_remote(&a, since, &o);
		buf_release(&o.b);
		return e;
	}
	if (open_repo(&r, a.dir) != 0) {
		buf_release(&o.b);
		return 1;
	}
	memset(&f, 0, sizeof(f));
	f.kind = a.kind;
	f.agent = a.agent;
	f.since = since;
	e = db_events_query(r.db, &f, print_event, &o);
	repo_close(&r);
	if (e == 0)
		print_events_end(&o);
	buf_release(&o.b);
	if (e < 0)
		return log_errno(e, "cannot read the events of '%s'", a.dir), 1;
	return 0;
}

/* `cascade token create|list|revoke`: the admin API's tokens, on the
 * data directory only (a token does not make tokens). */
static int
cmd_token(int argc, char **argv)
{
	static const int allowed[] = { 'd', OPT_ROLE, OPT_JSON, 0 };
	struct db_token	*all = NULL;
	struct args	 a;
	struct repo	 r;
	struct buf	 b;
	char		 token[ADMIN_TOKEN_HEX + 1], created[TS_LEN + 1];
	const char	*sub;
	size_t		 n = 0, i;
	int		 e, rc = 1;

	if (argc < 2)
		return usage();
	sub = argv[1];
	e = args_parse(argc - 1, argv + 1, "token", allowed, &a);
	if (e != 0)
		return e;
	if (strcmp(sub, "create") != 0 && strcmp(sub, "list") != 0 &&
	    strcmp(sub, "revoke") != 0) {
		log_error("unknown token command '%s' (create, list, revoke)",
		    sub);
		return usage();
	}
	if (a.npos != (strcmp(sub, "list") == 0 ? 0 : 1))
		return usage();
	if ((a.role != NULL && strcmp(sub, "create") != 0) ||
	    (a.json && strcmp(sub, "list") != 0)) {
		log_error("token %s: option does not apply", sub);
		return 2;
	}
	if (a.role != NULL && !admin_valid_role(a.role)) {
		log_error("bad --role '%s': admin or viewer", a.role);
		return 2;
	}
	if (a.npos == 1 && !admin_valid_token_name(a.pos[0])) {
		log_error("bad token name '%s': 1 to %d of a-z, 0-9, '.', '_', "
		    "'-'", a.pos[0], DB_TOKEN_NAME_MAX);
		return 2;
	}
	if (open_repo(&r, a.dir) != 0)
		return 1;
	if (strcmp(sub, "create") == 0) {
		e = admin_token_create(r.db, a.pos[0], a.role != NULL ?
		    a.role : "admin", "'cascade token'", token);
		if (e == -EEXIST)
			log_error("token '%s' exists already in '%s' (revoke "
			    "it first)", a.pos[0], a.dir);
		else if (e < 0)
			log_errno(e, "cannot create token '%s'", a.pos[0]);
		else {
			/* the only time it is shown */
			printf("%s\n", token);
			crypto_wipe(token, sizeof(token));
			rc = 0;
		}
	} else if (strcmp(sub, "revoke") == 0) {
		e = admin_token_revoke(r.db, a.pos[0], "'cascade token'");
		if (e == -ENOENT)
			log_error("no token '%s' in '%s'", a.pos[0], a.dir);
		else if (e < 0)
			log_errno(e, "cannot revoke token '%s'", a.pos[0]);
		else {
			printf("revoked token '%s'\n", a.pos[0]);
			rc = 0;
		}
	} else {
		e = db_tokens(r.db, &all, &n);
		if (e < 0)
			log_errno(e, "cannot read the tokens of '%s'", a.dir);
		buf_init(&b, SIZE_MAX / 2);
		for (i = 0; e == 0 && i < n; i++) {
			ts_format((time_t)all[i].created, created);
			if (!a.json) {
				printf("%-24s %-8s %s\n", all[i].name,
				    all[i].role, created);
				continue;
			}
			e = admin_json_next(&b, i);
			if (e == 0)
				e = buf_printf(&b, "{\"name\": \"%s\", "
				    "\"role\": \"%s\", \"created\": \"%s\"}",
				    all[i].name, all[i].role, created);
		}
		if (e == 0 && a.json)
			e = admin_json_end(&b, n);
		if (e == 0 && a.json)
			fwrite(b.ptr, 1, b.len, stdout);
		else if (e == 0 && n == 0)
			printf("no tokens: the admin API is closed\n");
		buf_release(&b);
		free(all);
		rc = e < 0 ? 1 : 0;
	}
	repo_close(&r);
	return rc;
}

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
} commands[] = {
	{ "sync", cmd_sync },
	{ "init", cmd_init },
	{ "keygen", cmd_keygen },
	{ "publish", cmd_publish },
	{ "serve", cmd_serve },
	{ "status", cmd_status },
	{ "verify", cmd_verify },
	{ "gc", cmd_gc },
	{ "license", cmd_license },
	{ "events", cmd_events },
	{ "token", cmd_token },
	{ "agents", agents_cli },
	{ "downstreams", report_downstreams_cli },
	{ "report", report_cli },
	{ "diff", cmd_diff },
	{ "patch", cmd_patch },
};

int
main(int argc, char **argv)
{
	size_t	 i;

	log_set_program("cascade");
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	log_error("unknown command '%s'", argv[1]);
	return usage();
}
