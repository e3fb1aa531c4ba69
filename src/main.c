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

#include "cmd_delta.h"
#include "log.h"
#include "repo.h"
#include "serve.h"
#include "ts.h"
#include "banned.h"

#define DEFAULT_DIR	"var"

static const char usage_text[] =
"usage: cascade COMMAND [-d DIR] [options]\n"
"\n"
"  init    [-d DIR] [--channel NAME] [--key SECRET_KEY]\n"
"                     create a data directory and the channel's key pair\n"
"  keygen  -o PREFIX   write a new minisign key pair PREFIX.pub, PREFIX.key\n"
"  publish [-d DIR] COMPONENT FILE [--kind K] [--edition E] [--version N]\n"
"                     publish FILE as the next version of COMPONENT\n"
"  serve   [-d DIR] [--listen ADDR]...\n"
"                     serve the repository over HTTP ([::]:8080)\n"
"  status  [-d DIR]   show the channels and components\n"
"  verify  [-d DIR]   check every object, signature and reference\n"
"  gc      [-d DIR]   remove what retention no longer keeps\n"
"  diff    OLD NEW DELTA [--level N]   make a delta (a zstd frame)\n"
"  patch   OLD DELTA NEW [--size N]    apply a delta\n"
"\n"
"DIR defaults to ./var. See docs/ for the formats and configuration.\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

/* Options shared by the subcommands; each takes what it needs. */
enum { OPT_CHANNEL = 256, OPT_KEY, OPT_KIND, OPT_EDITION, OPT_VERSION,
	OPT_LISTEN };

static const struct option long_opts[] = {
	{ "dir", required_argument, NULL, 'd' },
	{ "channel", required_argument, NULL, OPT_CHANNEL },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "kind", required_argument, NULL, OPT_KIND },
	{ "edition", required_argument, NULL, OPT_EDITION },
	{ "version", required_argument, NULL, OPT_VERSION },
	{ "listen", required_argument, NULL, OPT_LISTEN },
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
		case 'd': a->dir = optarg; break;
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
	return 0;
}

static int
cmd_init(int argc, char **argv)
{
	static const int allowed[] = { 'd', OPT_CHANNEL, OPT_KEY, 0 };
	struct args	 a;
	int		 r;

	r = args_parse(argc, argv, "init", allowed, &a);
	if (r != 0)
		return r;
	if (a.npos != 0)
		return usage();
	if (repo_init(a.dir, a.channel ? a.channel : "main", a.key) < 0)
		return 1;
	printf("initialised '%s' (channel '%s', public key %s/keys/%s.pub)\n",
	    a.dir, a.channel ? a.channel : "main", a.dir,
	    a.channel ? a.channel : "main");
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

static const struct {
	const char	*name;
	int		(*fn)(int, char **);
} commands[] = {
	{ "init", cmd_init },
	{ "keygen", cmd_keygen },
	{ "publish", cmd_publish },
	{ "serve", cmd_serve },
	{ "status", cmd_status },
	{ "verify", cmd_verify },
	{ "gc", cmd_gc },
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
