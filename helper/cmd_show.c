/*
 * cmd_show: `xoauth2-token show ACCOUNT|FILE`, a token file described
 * without its secrets.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "tokfile.h"
#include "xo_util.h"

int
cmd_show(const struct cmd_args *opt, int argc, char **argv)
{
	struct target t = { NULL, NULL, 0 };
	struct tokfile *tok = NULL;
	char when[64], span[32];
	int64_t now = xo_now_s();
	int r, status;

	(void)opt;
	(void)argc;
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	if ((r = tokfile_read(t.path, &tok)) != 0) {
		status = cmd_report_file_error(&t, r);
		goto out;
	}
	printf("file:           %s\n", t.path);
	printf("account:        %s\n", tok->account != NULL ? tok->account :
	    t.is_account ? t.arg : "(not recorded)");
	printf("user:           %s\n", tok->user);
	printf("provider:       %s\n", tok->provider != NULL ? tok->provider :
	    "(not recorded)");
	printf("token endpoint: %s\n", tok->token_endpoint);
	printf("client id:      %s\n", tok->client_id);
	printf("client secret:  %s\n", tok->client_secret != NULL ? "(set)" :
	    "(none)");
	printf("scope:          %s\n", tok->scope != NULL ? tok->scope :
	    "(provider default)");
	cmd_fmt_time(when, sizeof(when), tok->expires_at);
	cmd_fmt_span(span, sizeof(span), tok->expires_at - now);
	if (tok->expires_at > now)
		printf("access token:   expires %s (in %s)\n", when, span);
	else
		printf("access token:   expired %s (%s ago)\n", when, span);
	printf("refresh token:  %s\n", tok->refresh_token != NULL ?
	    "(set)" : "(none: log in again when the access token expires)");
	if (tok->refreshed_at > 0) {
		cmd_fmt_time(when, sizeof(when), tok->refreshed_at);
		cmd_fmt_span(span, sizeof(span), now - tok->refreshed_at);
		printf("last refresh:   %s (%s ago)\n", when, span);
	} else
		printf("last refresh:   never\n");
	status = cmd_flush_stdout();
 out:
	tokfile_free(tok);
	target_clear(&t);
	return status;
}
