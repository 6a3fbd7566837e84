/*
 * cmd_list: `xoauth2-token list`, the accounts in the store with their
 * expiry and health.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apponly.h"
#include "cmd.h"
#include "errors.h"
#include "health.h"
#include "msg.h"
#include "store.h"
#include "tokfile.h"
#include "xo_util.h"

int
cmd_list(const struct cmd_args *opt, int argc, char **argv)
{
	struct target t;
	struct tokfile *tok;
	char **names = NULL, *dir = NULL, span[32], expiry[64], health[512];
	char word[XO_SHELL_WORD_MAX];
	enum health_level level;
	size_t i, n = 0;
	int64_t now = xo_now_s();
	int r, status = 0;

	(void)opt;
	(void)argc;
	(void)argv;
	if ((r = store_list(&names, &n)) != 0 || (r = store_dir(&dir)) != 0) {
		msg(NULL, "cannot list the token store: %s", store_strerror(r));
		status = r == -ENOMEM || r == STORE_E_NOHOME ? r : XO_E_IO;
		goto out;
	}
	if (n == 0) {
		msg(NULL, "no accounts in %s; add one with: " PROG " login "
		    "ACCOUNT --provider ... --client-id ...", dir);
		goto out;
	}
	msg_line("%-16s %-28s %-10s %-24s %s", "ACCOUNT", "USER", "PROVIDER",
	    "ACCESS TOKEN", "HEALTH");
	for (i = 0; i < n; i++) {
		if (target_init(&t, names[i]) != 0)
			continue;
		if ((r = tokfile_read(t.path, &tok)) != 0) {
			msg_line("%-16s %-28s %-10s %-24s unusable: %s", names[i],
			    "-", "-", "-", r == TOKFILE_E_PERMS ? "readable by "
			    "others (chmod 600)" : tokfile_strerror(r));
			target_clear(&t);
			continue;
		}
		xo_fmt_span(span, sizeof(span), tok->expires_at - now);
		snprintf(expiry, sizeof(expiry), tok->expires_at > now ?
		    "valid, %s left" : "expired %s ago", span);
		level = health_verdict(tok, now, health, sizeof(health));
		if (level == HEALTH_OK && tok->expires_at <= now)
			snprintf(health, sizeof(health), "ok (refreshed when "
			    "next used)");
		if (level == HEALTH_OK && apponly_is(tok))
			snprintf(health, sizeof(health), tok->expires_at > now ?
			    "ok (app-only)" : "ok (app-only, renewed when next "
			    "used)");
		msg_line("%-16s %-28s %-10s %-24s %s%s%s", names[i], tok->user,
		    tok->provider != NULL ? tok->provider : "-", expiry, health,
		    health_failing(tok) == HEALTH_LOGIN ? "; the fix: " PROG
		    " show " : "", health_failing(tok) == HEALTH_LOGIN ?
		    xo_shell_word(word, sizeof(word), names[i]) : "");
		tokfile_free(tok);
		target_clear(&t);
	}
	status = cmd_flush_stdout();
 out:
	free(dir);
	store_names_free(names);
	return status;
}
