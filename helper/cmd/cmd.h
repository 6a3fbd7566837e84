/*
 * cmd: the command layer of xoauth2-token.  A subcommand is one file,
 * cmd_NAME.c, with its handler and its own options, and one row in the
 * command table (commands.c; how to add one is written there).  main.c
 * parses the options the table names and calls the handler.
 *
 * Handlers, like every helper module, return 0, -errno or an errors.h /
 * TOKFILE_E_* / STORE_E_* code after printing a message that says what
 * happened and what to do; cmd_exit() turns that into the sysexits(3)
 * status.  This layer is the only place that knows exit numbers.
 */
#ifndef XO_CMD_H
#define XO_CMD_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "login_options.h"
#include "mailtest.h"
#include "oauth.h"
#include "postfix.h"

/* 10 min, as the plugin: smtp-hve.office365.com refuses tokens close to
 * expiry (501 5.5.127). */
#define CMD_DEFAULT_MARGIN_S	600
#define CMD_DEFAULT_CONNECT_MS	10000L
#define CMD_DEFAULT_TIMEOUT_MS	30000L
/* refresh --jobs: token requests in flight at once.  8 renews 1,000
 * accounts at 200 ms a request in about 26 s, well inside the timers'
 * 15 minutes for a few thousand, while a provider sees no more than a
 * mail client that opens a few folders at once. */
#define CMD_DEFAULT_JOBS	8
#define CMD_MAX_JOBS		64

/* Everything the command line can say; the options fill it in. */
struct cmd_args {
	int64_t		 margin_s;
	/* --time-limit: the whole command gives up by deadline_ms
	 * (xo_now_ms(), counted from when the options were read); 0: no
	 * limit.  limit_ms is what was asked, for messages. */
	int64_t		 deadline_ms;
	long		 limit_ms;
	struct oauth_options net;
	int		 force, all, verbose;
	int		 jobs;		/* refresh --jobs; 0: CMD_DEFAULT_JOBS */
	struct login_options login;
	struct mailtest_options test;
	struct postfix_options postfix;
	int		 for_postfix;	/* login --for postfix */
	const char	*proxy_file;	/* login, set: --proxy-file */
	/* credential encrypt|decrypt (cmd_credential.c) */
	unsigned	 cred_slots;	/* credential.h's CREDENTIAL_* bits */
	const char	*cred_with_key;	/* --with-key */
	const char	*cred_to;	/* decrypt --to FILE */
};

struct cmd_option;

/* Stores ARG (NULL for an option without one) into A as O says.
 * Returns 0, or XO_E_USAGE after a message. */
typedef int cmd_set_fn(struct cmd_args *a, const struct cmd_option *o,
    const char *arg);

/* One option: --NAME (and -SHORT_NAME), METAVAR names its argument (NULL:
 * it takes none).  SET stores it at OFFSET in struct cmd_args (the
 * generic setters below), or does its own checks. */
struct cmd_option {
	const char	*name;
	char		 short_name;
	const char	*metavar;
	cmd_set_fn	*set;
	size_t		 offset;
};
#define CMD_OPT_END	{ NULL, 0, NULL, NULL, 0 }
#define CMD_AT(member)	offsetof(struct cmd_args, member)
/* The two common rows: an option with a value kept as a string at MEMBER
 * of struct cmd_args (e.g. login.user), and a flag set to 1 there. */
#define CMD_STR(name, meta, member) \
	{ name, 0, meta, cmd_set_string, CMD_AT(member) }
#define CMD_FLAG(name, member) \
	{ name, 0, NULL, cmd_set_flag, CMD_AT(member) }

/* Flags of a command. */
#define CMD_NET		0x01	/* may need libcurl, OpenSSL or libsasl2 */
#define CMD_STOP	0x02	/* stores a token endpoint's answer: SIGTERM,
				 * SIGINT, SIGHUP wait for it (stop.h) */

/* In the front program (front.c) a command that needs the full program
 * has no handler and no options of its own (FULL(x) is NULL there):
 * main() hands it over before parsing anything. */
#ifdef XO_FRONT
#define FULL(x)		NULL
#else
#define FULL(x)		x
#endif

#define CMD_GROUPS	5	/* option groups per command, at most */

struct command {
	const char	*name;
	int		(*run)(const struct cmd_args *, int argc, char **argv);
	const struct cmd_option *opts[CMD_GROUPS];	/* NULL-padded */
	int		 min_args, max_args;	/* max -1: no limit */
	unsigned	 flags;		/* CMD_* */
	const char	*usage;		/* synopsis after "xoauth2-token " */
	const char	*summary;	/* one line */
};

/* The table (commands.c), and what --help prints after it. */
extern const struct command cmd_table[];
extern const size_t cmd_count;
void cmd_usage(FILE *f);
void cmd_print_table(FILE *f);

/* Option groups: shared ones (cmd_common.c) and each command's own. */
extern const struct cmd_option cmd_opts_net[];	/* --connect-timeout ... */
extern const struct cmd_option cmd_opts_margin[];
extern const struct cmd_option cmd_opts_limit[];	/* --time-limit */
extern const struct cmd_option cmd_opts_refresh[];	/* -f -a -v */
extern const struct cmd_option cmd_opts_jobs[];	/* refresh --jobs */
extern const struct cmd_option cmd_opts_login[];
extern const struct cmd_option cmd_opts_test[];
extern const struct cmd_option cmd_opts_postfix[];
extern const struct cmd_option cmd_opts_login_postfix[];	/* --for ... */
extern const struct cmd_option cmd_opts_conf[];	/* --proxy --notify (login, set) */
extern const struct cmd_option cmd_opts_set[];	/* set's credential files */
extern const struct cmd_option cmd_opts_secret[];	/* where a secret lives (login, set) */
extern const struct cmd_option cmd_opts_status[];	/* -v */
extern const struct cmd_option cmd_opts_credential[];

/* Generic setters: a const char * at OFFSET, an int set to 1. */
cmd_set_fn cmd_set_string;
cmd_set_fn cmd_set_flag;

/* Handlers (cmd_NAME.c). */
int cmd_login(const struct cmd_args *, int, char **);
int cmd_test(const struct cmd_args *, int, char **);
int cmd_token(const struct cmd_args *, int, char **);
int cmd_refresh(const struct cmd_args *, int, char **);
int cmd_show(const struct cmd_args *, int, char **);
int cmd_list(const struct cmd_args *, int, char **);
int cmd_logout(const struct cmd_args *, int, char **);
int cmd_postfix(const struct cmd_args *, int, char **);
int cmd_status(const struct cmd_args *, int, char **);
int cmd_set(const struct cmd_args *, int, char **);
int cmd_credential(const struct cmd_args *, int, char **);

/* --for postfix (login, credential): sets for_postfix. */
cmd_set_fn cmd_set_for;

/* Checks --proxy, --no-proxy, --notify in C (login, set).  Returns 0 or
 * XO_E_USAGE after a message naming WHO. */
int cmd_conf_check(const struct login_options *c, const char *who);

/* --proxy-file (login, set): sets *LO to A's login options with the
 * proxy URL -- credentials and all, which then need not be in argv or
 * the environment -- read from the first line of A->proxy_file as a
 * secret file is read (a regular file, no group or other permission,
 * never a FIFO's wait).  *TEXTp is that URL (NULL without the option):
 * the caller wipes it with xo_free_secret.  Returns 0 or an errors.h
 * code after a message naming WHO. */
int cmd_conf_proxy_file(const struct cmd_args *a, const char *who,
    struct login_options *lo, char **textp);

/* login --for postfix (cmd_postfix.c): before the login, checks the
 * options, prepares postfix's store and sets *PATHp (new) to ACCOUNT's
 * file there; after it, gives PATH to postfix and prints (or applies) the
 * settings.  Return 0 or a code after a message. */
int postfix_for_login(const char *who, const struct postfix_options *po,
    const char *account, char **pathp);
int postfix_after_login(const char *who, const struct postfix_options *po,
    const char *path);
/* ACCOUNT's file in postfix's store into *PATHp (new), for a command
 * on it (credential --for postfix).  Returns 0 or a code after a
 * message. */
int postfix_account_path(const char *who, const struct postfix_options *po,
    const char *account, char **pathp);

/* The front program (front.c): remembers ARGV, and hands the command
 * line over to the full program (exec; returns only on failure, with a
 * code after a message). */
void cmd_front_init(char **argv);
int cmd_run_full(void);

/* The sysexits(3) status for R (0, -errno or a module code); a positive
 * R is already a status and is returned as is. */
int cmd_exit(int r);

/* --help's "exit status: 0 ok, 64 usage, ..." paragraph, and for
 * `help --table' an "exit STATUS" line per status, both from the table
 * cmd_exit() maps with (cmd_common.c). */
void cmd_exit_help(FILE *f);
void cmd_exit_table(FILE *f);

/* One command-line argument resolved to a token file. */
struct target {
	const char	*arg;		/* as given: used in messages */
	char		*path;		/* for messages, and the file work
					 * of a process that kept its rights */
	int		 is_account;
	const char	*file;		/* where the file work goes: PATH, or
					 * its name in a become child */
};

/* Resolves ARG (an account or a path).  Returns 0 or a STORE_E_* code /
 * -ENOMEM after a message. */
int target_init(struct target *t, const char *arg);
void target_clear(struct target *t);

/* Runs FN(T', ARG) with the rights of the owner of T's token file
 * (become.h: in a child that has become them when we are root and they
 * are not), where T' is T with ->file set to where the file work goes.
 * Refusals of the file's directory are reported here.  Returns an exit
 * status: cmd_exit() of what FN returned. */
int cmd_as_owner(const struct target *t,
    int (*fn)(const struct target *, void *), void *arg);

/* A command on one account's token file: target_init(T, NAME), then
 * cmd_as_owner(T, FN, ARG), then target_clear(T).  Returns an exit
 * status. */
int cmd_on_target(const char *name,
    int (*fn)(const struct target *, void *), void *arg);

/* target_init, then reads T's token file into *TOKp (tokfile_free), as
 * is: without the lock, since writers rename whole files into place.
 * Returns 0, or the code to exit with after a message; either way the
 * caller clears T and frees *TOKp. */
int target_read(struct target *t, const char *arg, struct tokfile **tokp);

/* Say why T's token file could not be read (or locked, for
 * cmd_report_update_error: before the update callback ran).  Return the
 * code to exit with. */
int cmd_report_file_error(const struct target *t, int r);
int cmd_report_update_error(const struct target *t, int r);

/* Parses a number of seconds (decimals allowed) between MIN and MAX for
 * option OPT.  Returns 0, or XO_E_USAGE after a message. */
int cmd_parse_seconds(const char *opt, const char *s, double min,
    double max, double *out);

/* Parses a whole number between MIN and MAX for option OPT into *OUT.
 * Returns 0, or XO_E_USAGE after "OPT: 'S' is not WHAT (MIN-MAX)". */
int cmd_parse_int(const char *opt, const char *s, long min, long max,
    const char *what, long *out);

/* credfile_check's set for TOK (credfile_set_from), with each secret's
 * command split as secret.h runs it, for its program: P keeps the words
 * (cmd_programs_free).  POSTFIX: the file is postfix's (health.h). */
struct credfile_set;
struct tokfile;
struct cmd_programs {
	char		**argv[2];
};
void cmd_credfile_set(struct credfile_set *set, const struct tokfile *tok,
    int postfix, struct cmd_programs *p);
void cmd_programs_free(struct cmd_programs *p);

/* Flushes stdout; returns 0, or XO_E_IO after a message. */
int cmd_flush_stdout(void);

/* Brings T's token up to date (refreshing it if it expires within the
 * margin, or FORCE) under its lock (cmd_refresh.c, through refresh.h).  Returns 0 and, if
 * ACCESSp is not NULL, a copy of the valid access token in *ACCESSp (a
 * secret: xo_free_secret); else a code after a message. */
int cmd_refresh_target(const struct cmd_args *a, const struct target *t,
    int force, char **accessp);

#endif
