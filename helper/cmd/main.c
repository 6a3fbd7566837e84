/*
 * xoauth2-token: keeps OAuth 2.0 token files fresh and hands out access
 * tokens to mail programs (mbsync PassCmd, msmtp passwordeval, mutt) and
 * to the xoauth2 SASL plugin.
 *
 * This file only dispatches: it finds the command in the command table
 * (commands.c), parses the options that command's row names, and runs
 * its handler (cmd_NAME.c); cmd_exit() turns the handler's code into
 * the exit status.  Messages go to stderr as "xoauth2-token: ACCOUNT:
 * what happened; what to do".  Secrets never reach argv, the
 * environment, or a message.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/resource.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "stop.h"
#ifndef XO_FRONT
#include "wipemem.h"
#endif

/* Every option of every command, once: getopt_long's table and ours side
 * by side (LONGOPTS[i] is ROWS[i]).  Short options are their own val. */
#define MAX_OPTIONS	128

struct optset {
	struct option	 longopts[MAX_OPTIONS + 1];
	const struct cmd_option *rows[MAX_OPTIONS];
	char		 shortopts[2 * MAX_OPTIONS + 8];
	size_t		 n;
};

static void
optset_add(struct optset *os, const struct cmd_option *o)
{
	size_t i, len;

	for (i = 0; i < os->n; i++)
		if (strcmp(os->rows[i]->name, o->name) == 0)
			return;
	if (os->n == MAX_OPTIONS)
		return;		/* t-cmdtable.sh would notice the loss */
	os->rows[os->n] = o;
	os->longopts[os->n].name = o->name;
	os->longopts[os->n].has_arg = o->metavar != NULL ? required_argument :
	    no_argument;
	os->longopts[os->n].flag = NULL;
	os->longopts[os->n].val = o->short_name != 0 ? o->short_name :
	    256 + (int)os->n;
	if (o->short_name != 0) {
		len = strlen(os->shortopts);
		os->shortopts[len++] = o->short_name;
		if (o->metavar != NULL)
			os->shortopts[len++] = ':';
		os->shortopts[len] = '\0';
	}
	os->n++;
}

static void
optset_build(struct optset *os)
{
	const struct cmd_option *o;
	size_t c, g;

	memset(os, 0, sizeof(*os));
	strcpy(os->shortopts, "hV");
	for (c = 0; c < cmd_count; c++)
		for (g = 0; g < CMD_GROUPS; g++)
			for (o = cmd_table[c].opts[g]; o != NULL && o->name != NULL;
			    o++)
				optset_add(os, o);
	os->longopts[os->n].name = "help";
	os->longopts[os->n].val = 'h';
	os->longopts[os->n + 1].name = "version";
	os->longopts[os->n + 1].val = 'V';
}

/* Long options in full only: getopt would take --client-secret as
 * --client-secret-file, and a secret typed there must not be used (nor
 * echoed).  Returns 0 or XO_E_USAGE after a message. */
static int
check_full_names(const struct optset *os, int argc, char **argv)
{
	const struct option *lo;
	size_t len;
	int c, known;

	for (c = 2; c < argc && strcmp(argv[c], "--") != 0; c++) {
		if (strncmp(argv[c], "--", 2) != 0)
			continue;
		len = strcspn(argv[c] + 2, "=");
		known = 0;
		for (lo = os->longopts; lo->name != NULL; lo++)
			if (strlen(lo->name) == len &&
			    strncmp(lo->name, argv[c] + 2, len) == 0)
				known = 1;
		if (!known) {
#ifdef XO_FRONT
			/* Perhaps an option of a full-only command. */
			return cmd_run_full();
#endif
			msg(NULL, "unknown option --%.*s%s", (int)(len > 40 ? 40 : len),
			    argv[c] + 2, strncmp(argv[c] + 2, "client-secret", 13) == 0 ?
			    "; a secret on the command line is visible to every user "
			    "(ps): put it in a file and use --client-secret-file FILE "
			    "(- for stdin)" : "");
			return XO_E_USAGE;
		}
	}
	return 0;
}

static int
takes_option(const struct command *cmd, const struct cmd_option *o)
{
	const struct cmd_option *p;
	size_t g;

	for (g = 0; g < CMD_GROUPS; g++)
		for (p = cmd->opts[g]; p != NULL && p->name != NULL; p++)
			if (p == o || strcmp(p->name, o->name) == 0)
				return 1;
	return 0;
}

static const struct command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < cmd_count; i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}

static void
args_init(struct cmd_args *a)
{
	memset(a, 0, sizeof(*a));
	a->margin_s = CMD_DEFAULT_MARGIN_S;
	a->net.connect_timeout_ms = CMD_DEFAULT_CONNECT_MS;
	a->net.timeout_ms = CMD_DEFAULT_TIMEOUT_MS;
}

/* Parses CMD's options (ARGV[0] is the command's name) into A and sets
 * *NARGSp to the index of the first operand.  Returns 0, a code, or 1
 * if -h or -V was answered. */
static int
parse_options(const struct command *cmd, int argc, char **argv,
    struct cmd_args *a, int *firstp)
{
	static struct optset os;
	const struct cmd_option *o;
	size_t i;
	int c, r, nargs;

	optset_build(&os);
	if ((r = check_full_names(&os, argc + 1, argv - 1)) != 0)
		return r;
	/* Options may come before or after the operands (GNU getopt
	 * permutes them); "--" ends the options. */
	optind = 1;
	while ((c = getopt_long(argc, argv, os.shortopts, os.longopts,
	    NULL)) != -1) {
		if (c == 'h') {
			printf("usage: " PROG " %s\n  %s\n", cmd->usage,
			    cmd->summary);
			return 1;
		}
		if (c == 'V') {
			printf(PROG " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 1;
		}
		for (o = NULL, i = 0; i < os.n && o == NULL; i++)
			if (os.longopts[i].val == c)
				o = os.rows[i];
		if (o == NULL) {
			fprintf(stderr, "usage: " PROG " %s\n", cmd->usage);
			return XO_E_USAGE;
		}
		if ((r = o->set(a, o, optarg)) != 0)
			return r;
		if (!takes_option(cmd, o)) {
			msg(NULL, "%s: option --%s does not apply here",
			    cmd->name, o->name);
			return XO_E_USAGE;
		}
	}
	nargs = argc - optind;
	if (nargs < cmd->min_args || (cmd->max_args >= 0 &&
	    nargs > cmd->max_args)) {
		fprintf(stderr, "usage: " PROG " %s\n", cmd->usage);
		return XO_E_USAGE;
	}
	*firstp = optind;
	return 0;
}

/* The process holds refresh tokens and client secrets: no core dump
 * may keep them, and no other process of the user may read its memory
 * (ptrace, /proc/PID/mem).  Best effort: neither call can fail here in
 * a way that would leave anything to say. */
static void
no_core_dumps(void)
{
	const struct rlimit none = { 0, 0 };

	(void)setrlimit(RLIMIT_CORE, &none);
	(void)prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
}

int
main(int argc, char **argv)
{
	const struct command *cmd;
	struct cmd_args a;
	int first = 0, r;

	no_core_dumps();
#ifndef XO_FRONT
	/* Before OpenSSL or libcurl allocate a byte: their copies of our
	 * secrets are wiped when they free them (wipemem.h).  Too late is
	 * a bug of ours, not the user's: carry on. */
	(void)wipemem_init();
#endif
	/* A reader that goes away must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		cmd_usage(stderr);
		return cmd_exit(XO_E_USAGE);
	}
	if (strcmp(argv[1], "help") == 0 && argc == 3 &&
	    strcmp(argv[2], "--table") == 0) {
#ifdef XO_FRONT
		cmd_front_init(argv);	/* the full table: in the full program */
		return cmd_exit(cmd_run_full());
#endif
		cmd_print_table(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cmd_usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf(PROG " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	if ((cmd = command_find(argv[1])) == NULL) {
		msg(NULL, "unknown command '%s'; see " PROG " --help", argv[1]);
		return cmd_exit(XO_E_USAGE);
	}
#ifdef XO_FRONT
	cmd_front_init(argv);
	if (cmd->run == NULL)
		return cmd_exit(cmd_run_full());
#else
	/* The front hands over with these blocked (stop_hold): a signal
	 * sent meanwhile is delivered now, to the flag or as it would be. */
	if (cmd->flags & CMD_STOP)
		stop_catch();
	else
		stop_release();
#endif
	args_init(&a);
	if ((r = parse_options(cmd, argc - 1, argv + 1, &a, &first)) != 0)
		return r == 1 ? 0 : cmd_exit(r);
	r = cmd_exit(cmd->run(&a, argc - 1 - first, argv + 1 + first));
	/* Told to stop: the work that could not be undone is done (and
	 * said); now die of the signal, as whoever sent it expects. */
	stop_exit();
	return r;
}
