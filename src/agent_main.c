/*
 * cascade-agent: the endpoint agent's command line. Options and dispatch
 * only; agent.c does the work. Exit status: 0 success, 1 failure,
 * 2 usage.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "conf.h"
#include "log.h"
#include "banned.h"

static const char usage_text[] =
"usage: cascade-agent [-c FILE] [-v] COMMAND\n"
"\n"
"  run                 the daemon: sync at start, on schedule and on\n"
"                      notification (SIGHUP reloads FILE, SIGTERM stops)\n"
"  sync                sync now; exit 0 when current\n"
"  enroll              enrol with the first server that answers\n"
"  status              installed versions, enrolment, last and next sync\n"
"  rollback COMPONENT  go back to the previous version kept\n"
"  pause | resume      stop or restart scheduled updates (when the policy\n"
"                      allows it: user_may_disable)\n"
"  log                 the agent's message log\n"
"  sample              print a commented sample agent.conf\n"
"\n"
"FILE defaults to " AGENT_CONF_DEFAULT ".\n";

static int
usage(void)
{
	fputs(usage_text, stderr);
	return 2;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char	*conf = AGENT_CONF_DEFAULT, *cmd;
	int		 ch, nargs;

	log_set_program("cascade-agent");
	/* options before or after the command: "enroll -c agent.conf" */
	while ((ch = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			conf = optarg;
			break;
		case 'v':
			log_set_verbose(1);
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage();
		}
	}
	if (optind >= argc)
		return usage();
	cmd = argv[optind];
	nargs = argc - optind - 1;
	if (strcmp(cmd, "rollback") == 0)
		return nargs == 1 ? agent_cmd_rollback(conf, argv[optind + 1]) :
		    usage();
	if (nargs != 0)
		return usage();
	if (strcmp(cmd, "run") == 0)
		return agent_cmd_run(conf);
	if (strcmp(cmd, "sync") == 0)
		return agent_cmd_sync(conf);
	if (strcmp(cmd, "enroll") == 0 || strcmp(cmd, "enrol") == 0)
		return agent_cmd_enroll(conf);
	if (strcmp(cmd, "status") == 0)
		return agent_cmd_status(conf);
	if (strcmp(cmd, "pause") == 0)
		return agent_cmd_pause(conf, 1);
	if (strcmp(cmd, "resume") == 0)
		return agent_cmd_pause(conf, 0);
	if (strcmp(cmd, "log") == 0)
		return agent_cmd_log(conf);
	if (strcmp(cmd, "sample") == 0) {
		fputs(conf_agent_sample, stdout);
		return 0;
	}
	return usage();
}
