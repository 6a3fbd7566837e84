/*
 * cmd_set: `xoauth2-token set ACCOUNT|FILE --proxy URL --no-proxy HOSTS
 * --notify CMD`, how a token file is refreshed and who is told, changed
 * without a new login ('' clears one).  The same options of `login'
 * (cmd_opts_conf) store them at sign-in.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "credfile.h"
#include "errors.h"
#include "health.h"
#include "jwt.h"
#include "msg.h"
#include "oauth.h"
#include "tokfile.h"
#include "xo_util.h"

#define S(name, meta, member) \
	{ name, 0, meta, cmd_set_string, CMD_AT(login.member) }

const struct cmd_option cmd_opts_conf[] = {
	S("proxy", "URL", proxy),
	{ "proxy-file", 0, "FILE", cmd_set_string, CMD_AT(proxy_file) },
	S("no-proxy", "HOSTS", no_proxy),
	S("notify", "CMD", notify),
	CMD_OPT_END
};

int
cmd_conf_check(const struct login_options *c, const char *who)
{
	struct oauth_error err;
	char shown[256];

	if (c->proxy != NULL && *c->proxy != '\0' &&
	    oauth_proxy_check(c->proxy, shown, sizeof(shown), &err) != 0) {
		msg(who, "--proxy: %s", err.base.msg);
		return XO_E_USAGE;
	}
	if ((c->no_proxy != NULL &&
	    xo_unsafe_text(c->no_proxy, strlen(c->no_proxy))) ||
	    (c->notify != NULL && xo_unsafe_text(c->notify, strlen(c->notify)))) {
		msg(who, "--no-proxy, --notify: one line of printable text");
		return XO_E_USAGE;
	}
	return 0;
}

int
cmd_conf_proxy_file(const struct cmd_args *a, const char *who,
    struct login_options *lo, char **textp)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*lo = a->login;
	*textp = NULL;
	if (a->proxy_file == NULL)
		return 0;
	if (a->login.proxy != NULL) {
		msg(who, "--proxy and --proxy-file: give one");
		return XO_E_USAGE;
	}
	if ((r = jwt_read_secret(a->proxy_file, &text, &len)) != 0) {
		msg(who, "refusing --proxy-file %s: %s%s", a->proxy_file,
		    r == JWT_E_PERMS || r == JWT_E_NOTREG ? jwt_strerror(r) :
		    r < 0 ? strerror(-r) : jwt_strerror(r),
		    r == JWT_E_PERMS ? "; run: chmod 600 FILE" : "");
		return r == -ENOENT ? XO_E_NOINPUT : r == -ENOMEM ? r :
		    XO_E_REFUSED;
	}
	xo_secret_first_line(text, len);
	if (text[0] == '\0' || xo_has_ctl(text, strlen(text))) {
		msg(who, "--proxy-file %s: put the proxy URL alone on its first "
		    "line", a->proxy_file);
		xo_freezero(text, len);
		return XO_E_DATA;
	}
	lo->proxy = text;
	*textp = text;
	return 0;
}

/* Applies the settings to the token file, under its lock. */
static int
set_locked(struct tokfile *tok, void *arg)
{
	const struct login_options *c = arg;

	if ((c->proxy != NULL &&
	    tokfile_set(&tok->proxy, *c->proxy ? c->proxy : NULL) != 0) ||
	    (c->no_proxy != NULL &&
	    tokfile_set(&tok->no_proxy, *c->no_proxy ? c->no_proxy : NULL) != 0) ||
	    (c->notify != NULL &&
	    tokfile_set(&tok->notify, *c->notify ? c->notify : NULL) != 0))
		return -ENOMEM;
	/* No proxy: no list of hosts to reach without it. */
	if (c->proxy != NULL && *c->proxy == '\0' &&
	    tokfile_set(&tok->no_proxy, NULL) != 0)
		return -ENOMEM;
	return 0;
}

/* Before `set' changes how T's file is renewed: checks, as its owner
 * (we are: cmd_as_owner), that the renewal can use the credential files
 * it names and the helper programs (credfile.h).  Returns 0 or a code
 * after a message. */
static int
set_check(const struct target *t)
{
	struct credfile_set set;
	struct tokfile *tok = NULL;
	const char *slash = strrchr(t->path, '/');
	char place[PATH_MAX];
	int r;

	/* A copy the owner can read goes beside the token file. */
	snprintf(place, sizeof(place), "%.*s", slash == NULL ? 1 :
	    slash == t->path ? 1 : (int)(slash - t->path),
	    slash == NULL ? "." : t->path);
	if ((r = tokfile_read(t->file, &tok)) != 0)
		return cmd_report_file_error(t, r);
	set.client_secret_file = tok->client_secret_file;
	set.private_key_file = tok->private_key_file;
	set.certificate_file = tok->certificate_file;
	set.service_account_file = tok->service_account_file;
	r = credfile_check(t->file, &set, place, t->arg, CREDFILE_QUIET);
	tokfile_free(tok);
	return r;
}

/* `set' for T, with its owner's rights (cmd_as_owner). */
static int
set_one(const struct target *t, void *arg)
{
	const struct login_options *c = arg;
	char shown[256];
	int r;

	if ((r = set_check(t)) != 0)
		return r;
	if ((r = tokfile_update_wait(t->file, 10000, set_locked, arg)) != 0)
		return cmd_report_update_error(t, r);
	if (c->proxy != NULL && *c->proxy == '\0')
		msg(t->arg, "no proxy stored: refreshes go direct (or through the "
		    "proxy variables of their own environment)");
	else if (c->proxy != NULL) {
		health_proxy_shown(c->proxy, shown, sizeof(shown));
		msg(t->arg, "refreshes go through the proxy %s", shown);
	}
	if (c->no_proxy != NULL)
		msg(t->arg, "%s%s", *c->no_proxy ? "reached without the proxy: " :
		    "no hosts reached without the proxy", c->no_proxy);
	if (c->notify != NULL)
		msg(t->arg, "%s", *c->notify ? "notify command stored; it runs "
		    "when the file needs a new login, and when it recovers" :
		    "notify command removed");
	return 0;
}

int
cmd_set(const struct cmd_args *opt, int argc, char **argv)
{
	struct login_options lo;
	const struct login_options *c = &lo;
	struct target t = { NULL, NULL, 0, NULL };
	char *proxy = NULL;
	int status;

	(void)argc;
	if ((status = cmd_conf_proxy_file(opt, argv[0], &lo, &proxy)) != 0)
		return status;
	if (c->proxy == NULL && c->no_proxy == NULL && c->notify == NULL) {
		msg(NULL, "set: what? add --proxy URL (or --proxy-file FILE), "
		    "--no-proxy HOSTS or --notify CMD ('' removes one)");
		return XO_E_USAGE;
	}
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	if ((status = cmd_conf_check(c, t.arg)) != 0)
		goto out;
	status = cmd_as_owner(&t, set_one, (void *)(uintptr_t)c);
 out:
	xo_free_secret(proxy);
	target_clear(&t);
	return status;
}
