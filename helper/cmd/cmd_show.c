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

#include "apponly.h"
#include "cmd.h"
#include "errors.h"
#include "health.h"
#include "keyring.h"
#include "msg.h"
#include "payload.h"
#include "secret.h"
#include "tokfile.h"
#include "xo_err.h"
#include "xo_util.h"

/* show's line for where TOK keeps SLOT's secret (TITLE: the line's
 * head), if it names a place: a file by its path (after FILE_WORDS, the
 * words show always had), else secret.h's words ("systemd credential
 * NAME", "command WORDS"). */
static void
show_secret(const struct tokfile *tok, enum secret_slot slot,
    const char *title, const char *file_words)
{
	struct secret_src src;
	struct xo_err err;
	char where[1024];

	memset(&err, 0, sizeof(err));
	if (secret_where(tok, slot, &src, &err) != 0)
		msg_line("%-15s %s", title, err.msg);
	else if (src.kind == SECRET_FILE)
		msg_line("%-15s %s%s", title, file_words, src.value);
	else if (src.kind != SECRET_NOWHERE)
		msg_line("%-15s %s", title, secret_describe(&src, where,
		    sizeof(where)));
}

/* show's lines for an app-only file: what grant, which credential (by
 * where it lives, path and thumbprint: never the secret or the key). */
static void
show_app_only(const struct tokfile *tok)
{
	const char *grant = tok->grant;

	if (strcmp(grant, APPONLY_CLIENT_CREDENTIALS) == 0)
		grant = "client credentials";
	else if (strcmp(grant, APPONLY_JWT_BEARER) == 0)
		grant = "service account";
	msg_line("grant:          %s (app-only, no refresh token)", grant);
	msg_line("mailbox:        %s", tok->user);
	if (tok->certificate_file != NULL)
		msg_line("certificate:    %s (x5t#S256 %s)", tok->certificate_file,
		    tok->certificate_thumbprint != NULL ?
		    tok->certificate_thumbprint : "not computed yet");
	show_secret(tok, SECRET_PRIVATE_KEY, "private key:", "");
	show_secret(tok, SECRET_KEY_PASSPHRASE, "key passphrase:", "file ");
	show_secret(tok, SECRET_CLIENT_SECRET, "client secret:", "in ");
	show_secret(tok, SECRET_SERVICE_ACCOUNT, "service account:", "");
}

/* show's lines for the identity: file, account, user or grant,
 * provider, endpoint and client (never the secret). */
static void
show_identity(const struct tokfile *tok, const struct target *t)
{
	msg_line("file:           %s", t->path);
	msg_line("account:        %s", tok->account != NULL ? tok->account :
	    t->is_account ? t->arg : "(not recorded)");
	if (apponly_is(tok))
		show_app_only(tok);
	else
		msg_line("user:           %s", tok->user);
	msg_line("provider:       %s", tok->provider != NULL ? tok->provider :
	    "(not recorded)");
	msg_line("token endpoint: %s", tok->token_endpoint);
	msg_line("client id:      %s", tok->client_id);
	if (!apponly_is(tok))
		msg_line("client secret:  %s", tok->client_secret != NULL ?
		    "(set)" : "(none)");
	msg_line("scope:          %s", tok->scope != NULL ? tok->scope :
	    "(provider default)");
}

/* show's lines for the tokens' times at NOW: expiry, last refresh,
 * last failure. */
static void
show_times(const struct tokfile *tok, int64_t now)
{
	char when[64], span[32];

	xo_fmt_time(when, sizeof(when), tok->expires_at);
	xo_fmt_span(span, sizeof(span), tok->expires_at - now);
	if (tok->expires_at > now)
		msg_line("access token:   expires %s (in %s)", when, span);
	else
		msg_line("access token:   expired %s (%s ago)", when, span);
	if (keyring_used(tok) && !apponly_is(tok))
		msg_line("refresh token:  %s", tok->refresh_token != NULL ?
		    "(set) in this file for now: the desktop keyring would not "
		    "take it; the next refresh moves it there" : "in the "
		    "desktop keyring (Secret Service)");
	else if (!apponly_is(tok))
		msg_line("refresh token:  %s", tok->refresh_token != NULL ?
		    "(set)" : "(none: log in again when the access token "
		    "expires)");
	if (tok->refreshed_at > 0) {
		xo_fmt_time(when, sizeof(when), tok->refreshed_at);
		xo_fmt_span(span, sizeof(span), now - tok->refreshed_at);
		msg_line("last refresh:   %s (%s ago)", when, span);
	} else
		msg_line("last refresh:   never");
	if (tok->failed_at > 0) {
		xo_fmt_time(when, sizeof(when), tok->failed_at);
		xo_fmt_span(span, sizeof(span), now - tok->failed_at);
		msg_line("last failure:   %s (%s ago), %s: %s", when, span,
		    tok->failure_class != NULL ? tok->failure_class : "?",
		    tok->failure != NULL ? tok->failure : "no reason recorded");
	}
}

/* show's lines for the file's health at NOW (and the fix), its proxy
 * and its notify command. */
static void
show_health(const struct tokfile *tok, const struct target *t, int64_t now)
{
	char health[512], fix[HEALTH_FIX_MAX], shown[256];
	enum health_level level;
	size_t n;

	level = health_verdict(tok, now, health, sizeof(health));
	msg_line("health:         %s%s", health, level == HEALTH_OK ? "" :
	    level == HEALTH_WARNING ? " [warning]" : " [critical]");
	if (health_failing(tok) == HEALTH_LOGIN) {
		health_fix_command(tok, t->arg, fix, sizeof(fix));
		msg_line("to fix, run:    %s", fix);
	}
	if (tok->proxy != NULL) {
		health_proxy_shown(tok->proxy, shown, sizeof(shown));
		msg_line("proxy:          %s (no proxy for: %s)", shown,
		    tok->no_proxy != NULL ? tok->no_proxy : "-");
	} else
		msg_line("proxy:          (none stored: the proxy variables of "
		    "the refreshing process; none when the plugin runs it)");
	/* A notify command may carry a secret (a webhook URL): its
	 * program only. */
	n = strcspn(tok->notify != NULL ? tok->notify : "", " \t");
	if (health_notify_ignored(tok, t->path))
		msg_line("notify:         %.*s%s (ignored: postfix's store takes "
		    "its command from " HEALTH_NOTIFY_CONF ")", (int)n,
		    tok->notify, tok->notify[n] != '\0' ? " ..." : "");
	else if (tok->notify != NULL)
		msg_line("notify:         %.*s%s", (int)n, tok->notify,
		    tok->notify[n] != '\0' ? " ..." : "");
	else
		msg_line("notify:         (none)");
	if (tok->notify_skipped != NULL) {
		xo_fmt_span(shown, sizeof(shown), now - tok->notify_skipped_at);
		msg_line("notify skipped: %s ago: %s", shown,
		    tok->notify_skipped);
	}
}

/* The longest SMTP command sendmail sends: its command buffer holds 2048
 * bytes with the NUL, so an AUTH line beyond 2047 characters is cut and
 * the server refuses the login (user + token over about 1,504 bytes). */
#define SENDMAIL_CMD_MAX	2047

/* Length of "AUTH MECH " and the base64 of a client message of N bytes:
 * the SMTP command a client sends with an initial response. */
static size_t
auth_line_len(const char *mech, size_t n)
{
	return strlen("AUTH ") + strlen(mech) + 1 + (n + 2) / 3 * 4;
}

/* show's lines for the size of the AUTH line the access token makes (what
 * sendmail cuts), for both mechanisms; OAUTHBEARER also carries the
 * server's host and port (counted as "smtp.example.com" and 587). */
static void
show_auth_size(const struct tokfile *tok)
{
	size_t x, o;

	if (tok->access_token == NULL || tok->user == NULL)
		return;
	x = auth_line_len("XOAUTH2", xo_payload_xoauth2(NULL, 0, tok->user,
	    tok->access_token));
	o = auth_line_len("OAUTHBEARER", xo_payload_oauthbearer(NULL, 0,
	    tok->user, "smtp.example.com", "587", tok->access_token));
	msg_line("AUTH line:      %zu characters with XOAUTH2, about %zu with "
	    "OAUTHBEARER (token %zu bytes)", x, o, strlen(tok->access_token));
	if (x > SENDMAIL_CMD_MAX)
		msg_line("                [warning] over sendmail's limit of %d "
		    "characters: sendmail cuts the AUTH line and the server "
		    "refuses the login, with either mechanism; relay through "
		    "postfix (no such limit), see doc/recipes/sendmail.md",
		    SENDMAIL_CMD_MAX);
	else if (o > SENDMAIL_CMD_MAX)
		msg_line("                [warning] OAUTHBEARER's is over "
		    "sendmail's limit of %d characters: with sendmail use "
		    "\"M:XOAUTH2\", see doc/recipes/sendmail.md",
		    SENDMAIL_CMD_MAX);
}

int
cmd_show(const struct cmd_args *opt, int argc, char **argv)
{
	struct target t = { NULL, NULL, 0, NULL };
	struct tokfile *tok = NULL;
	int64_t now = xo_now_s();
	int status;

	(void)opt;
	(void)argc;
	if ((status = target_read(&t, argv[0], &tok)) != 0)
		goto out;
	show_identity(tok, &t);
	show_times(tok, now);
	show_auth_size(tok);
	show_health(tok, &t, now);
	status = cmd_flush_stdout();
 out:
	tokfile_free(tok);
	target_clear(&t);
	return status;
}
