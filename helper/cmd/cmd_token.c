/*
 * cmd_token: `xoauth2-token token ACCOUNT|FILE`, a valid access token on
 * stdout -- the command mail programs run on every connection
 * (PassCmd, passwordeval), so the valid-token path reads the file and
 * writes one line, nothing more.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "stop.h"
#include "tokfile.h"
#include "xo_util.h"

static int
print_token(const struct target *t, const char *token)
{
	size_t len = strlen(token);
	char *line;
	int r, status = 0;

	/* The server's tokens are checked (oauth_answer.c); a file's may
	 * have been written by hand, by its owner, for root's terminal: a
	 * C1 control (U+009B CSI) is no token, and is not printed. */
	if (xo_unsafe_text(token, len)) {
		msg(t->arg, "the access token in %s holds control characters "
		    "or is not UTF-8; not printed: run " PROG " login again",
		    t->path);
		return XO_E_DATA;
	}
	/* One write of "TOKEN\n", from a buffer we wipe (not stdio's). */
	if ((line = malloc(len + 1)) == NULL)
		return -ENOMEM;
	memcpy(line, token, len);
	line[len] = '\n';
	if ((r = xo_write_all(STDOUT_FILENO, line, len + 1)) != 0) {
		msg(NULL, "cannot write the token to stdout: %s", strerror(-r));
		status = XO_E_IO;
	}
	xo_freezero(line, len + 1);
	return status;
}

/* `token' for T, with its owner's rights (cmd_as_owner). */
static int
token_one(const struct target *t, void *arg)
{
	const struct cmd_args *opt = arg;
	struct tokfile *tok = NULL;
	char *access = NULL;
	int64_t backoff;
	int status;

	if ((status = tokfile_read(t->file, &tok)) != 0) {
		status = cmd_report_file_error(t, status);
		goto out;
	}
	if (tok->expires_at - xo_now_s() > opt->margin_s) {
		status = print_token(t, tok->access_token);
		goto out;
	}
	/* The last refresh failed a moment ago and the token still works
	 * for a while (tokfile_stale_usable, the plugin's rule too): do not
	 * make the program wait on the endpoint again. */
	if (tokfile_stale_usable(tok, xo_now_s()) &&
	    (backoff = tokfile_backoff(tok, xo_now_s())) > 0) {
		msg(t->arg, "refreshing failed %" PRId64 " s ago (%s); using the "
		    "current access token, valid for %" PRId64 " more min; next "
		    "try in %" PRId64 " s", xo_now_s() - tok->failed_at,
		    tok->failure != NULL ? tok->failure : "no reason recorded",
		    (tok->expires_at - xo_now_s()) / 60, backoff);
		status = print_token(t, tok->access_token);
		goto out;
	}
	if ((status = cmd_refresh_target(opt, t, 0, &access)) != 0) {
		/* Still good for a while: better late than never (unless
		 * told to stop: stop.h). */
		if (tokfile_stale_usable(tok, xo_now_s()) &&
		    !stop_requested()) {
			msg(t->arg, "using the current access token, valid for "
			    "%" PRId64 " more min", (tok->expires_at - xo_now_s()) / 60);
			status = print_token(t, tok->access_token);
		}
		goto out;
	}
	status = print_token(t, access);
 out:
	xo_free_secret(access);
	tokfile_free(tok);
	return status;
}

int
cmd_token(const struct cmd_args *opt, int argc, char **argv)
{
	struct target t = { NULL, NULL, 0, NULL };
	int status;

	(void)argc;
	if ((status = target_init(&t, argv[0])) == 0)
		status = cmd_as_owner(&t, token_one, (void *)(uintptr_t)opt);
	target_clear(&t);
	return status;
}
