/*
 * cmd_status: `xoauth2-token status [ACCOUNT|FILE...]`, the health of
 * token files in one line for monitoring, as a Nagios/Icinga plugin
 * writes it ("XOAUTH2 LEVEL - text"), exiting 0 ok, 1 warning (refresh
 * failing for now, or a token expiring with no way to refresh it), 2
 * critical (someone must log in again or fix the configuration), 3
 * unknown (no accounts).  With -v, one more line per account, and one
 * per file its renewal needs (and per secret kept elsewhere: a systemd
 * credential, a command): ok, or the problem and its fix.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "credfile.h"
#include "errors.h"
#include "health.h"
#include "keyring.h"
#include "msg.h"
#include "store.h"
#include "tokfile.h"
#include "xo_util.h"

#define STATUS_UNKNOWN	3
#define STATUS_LINE_MAX	2048

const struct cmd_option cmd_opts_status[] = {
	{ "verbose", 'v', NULL, cmd_set_flag, CMD_AT(verbose) },
	CMD_OPT_END
};

/* One account's health: its level, and a line in TEXT. */
static enum health_level
status_one(const char *arg, char *text, size_t size)
{
	struct target t = { NULL, NULL, 0, NULL };
	struct tokfile *tok = NULL;
	char verdict[512], fix[HEALTH_FIX_MAX];
	enum health_level level = HEALTH_CRITICAL;
	int r;

	if (store_path(arg, &t.path, &t.is_account) != 0) {
		snprintf(text, size, "%s: not an account or token file", arg);
		goto out;
	}
	if ((r = tokfile_read(t.path, &tok)) != 0) {
		snprintf(text, size, "%s: cannot read %s: %s", arg, t.path,
		    r == -ENOENT ? "no such file" : tokfile_strerror(r));
		goto out;
	}
	level = health_verdict(tok, xo_now_s(), verdict, sizeof(verdict));
	if (health_failing(tok) == HEALTH_LOGIN) {
		health_fix_command(tok, arg, fix, sizeof(fix));
		snprintf(text, size, "%s: %s; run: %s", arg, verdict, fix);
	} else
		snprintf(text, size, "%s: %s", arg, verdict);
	if (health_notify_ignored(tok, t.path))
		snprintf(text + strlen(text), size - strlen(text), " (its notify "
		    "member is ignored: postfix's store takes its command from "
		    HEALTH_NOTIFY_CONF ")");
	health_notify_shown(tok, xo_now_s(), text, size);
 out:
	/* A name, a path, a recorded reason: text from outside. */
	xo_printable_utf8(text);
	tokfile_free(tok);
	target_clear(&t);
	return level;
}

/* -v: where ARG's file (TOK) keeps its refresh token, if in the desktop
 * keyring: and whether the keyring is reachable and unlocked from here
 * (keyring.h runs xoauth2-keyring; the front links no libsecret). */
static void
status_keyring(const char *arg, const struct tokfile *tok)
{
	struct xo_err err;

	if (!keyring_used(tok))
		return;
	if (tok->refresh_token != NULL)
		msg_line("%s: refresh token: in the token file for now (the "
		    "desktop keyring would not take it; the next refresh moves "
		    "it there)", arg);
	else if (keyring_probe(&err) == 0)
		msg_line("%s: refresh token: in the desktop keyring (Secret "
		    "Service): reachable and unlocked", arg);
	else
		msg_line("%s: refresh token: in the desktop keyring (Secret "
		    "Service), but %s", arg, err.msg);
}

/* -v: for ARG's file, one line per file its renewal needs (credfile.h):
 * ok, or the problem and its fix, checked as the user who renews it. */
static void
status_files(const char *arg)
{
	struct credfile_set set;
	struct cmd_programs progs;
	struct tokfile *tok = NULL;
	struct stat st;
	char *path = NULL;
	int is_account;

	memset(&progs, 0, sizeof(progs));
	if (store_path(arg, &path, &is_account) != 0 ||
	    tokfile_read(path, &tok) != 0)
		goto out;	/* the line above said why */
	/* (A command in postfix's store is not run: health.h.) */
	cmd_credfile_set(&set, tok, lstat(path, &st) == 0 &&
	    health_is_postfix(st.st_uid), &progs);
	(void)credfile_check(path, &set, NULL, arg, CREDFILE_LIST);
	status_keyring(arg, tok);
 out:
	cmd_programs_free(&progs);
	tokfile_free(tok);
	free(path);
}

int
cmd_status(const struct cmd_args *opt, int argc, char **argv)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL" };
	enum health_level *levels = NULL, worst = HEALTH_OK;
	char **store = NULL, *dir = NULL, (*lines)[STATUS_LINE_MAX] = NULL;
	size_t i, n = 0, bad = 0;
	int r, status = STATUS_UNKNOWN, first, l;

	if (argc == 0) {
		if ((r = store_list(&store, &n)) != 0 ||
		    (r = store_dir(&dir)) != 0) {
			printf("XOAUTH2 UNKNOWN - cannot list the token store: "
			    "%s\n", store_strerror(r));
			goto out;
		}
		if (n == 0) {
			msg_line("XOAUTH2 UNKNOWN - no accounts in %s", dir);
			goto out;
		}
		argv = store;
		argc = (int)n;
	}
	if ((lines = calloc((size_t)argc, sizeof(*lines))) == NULL ||
	    (levels = calloc((size_t)argc, sizeof(*levels))) == NULL) {
		printf("XOAUTH2 UNKNOWN - out of memory\n");
		goto out;
	}
	for (i = 0; i < (size_t)argc; i++) {
		levels[i] = status_one(argv[i], lines[i], sizeof(lines[i]));
		if (levels[i] > worst)
			worst = levels[i];
		if (levels[i] != HEALTH_OK)
			bad++;
	}
	/* The worst first. */
	printf("XOAUTH2 %s - ", names[worst]);
	if (bad == 0)
		printf("%d account%s ok", argc, argc == 1 ? "" : "s");
	first = 1;
	for (l = HEALTH_CRITICAL; l > HEALTH_OK; l--)
		for (i = 0; i < (size_t)argc; i++)
			if ((int)levels[i] == l) {
				printf("%s%s", first ? "" : "; ", lines[i]);
				first = 0;
			}
	if (bad > 0 && bad < (size_t)argc)
		printf("; %zu of %d ok", (size_t)argc - bad, argc);
	printf("\n");
	if (opt->verbose)
		for (i = 0; i < (size_t)argc; i++) {
			printf("%s\n", lines[i]);
			status_files(argv[i]);
		}
	status = (int)worst;
 out:
	if (cmd_flush_stdout() != 0)
		status = STATUS_UNKNOWN;
	free(lines);
	free(levels);
	free(dir);
	store_names_free(store);
	return status;
}
