/*
 * cmd_test: `xoauth2-token test ACCOUNT|FILE --imap|--pop|--smtp
 * HOST[:PORT]`, its options, and the call into mailtest.c.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "diag.h"
#include "errors.h"
#include "mailtest.h"
#include "msg.h"
#include "provider.h"
#include "tokfile.h"
#include "xo_err.h"
#include "xo_util.h"

static int
set_server(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	if (a->test.proto != MAILTEST_NONE) {
		msg(NULL, "test: one of --imap, --pop, --smtp");
		return XO_E_USAGE;
	}
	a->test.proto = o->name[0] == 'i' ? MAILTEST_IMAP :
	    o->name[0] == 'p' ? MAILTEST_POP : MAILTEST_SMTP;
	a->test.server = arg;
	return 0;
}

static int
set_security(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	(void)arg;
	if (a->test.security != MAILTEST_SEC_DEFAULT) {
		msg(NULL, "test: one of --tls, --starttls, --plain");
		return XO_E_USAGE;
	}
	a->test.security = strcmp(o->name, "tls") == 0 ? MAILTEST_SEC_TLS :
	    strcmp(o->name, "starttls") == 0 ? MAILTEST_SEC_STARTTLS :
	    MAILTEST_SEC_PLAIN;
	return 0;
}

const struct cmd_option cmd_opts_test[] = {
	{ "imap", 0, "HOST[:PORT]", set_server, 0 },
	{ "pop", 0, "HOST[:PORT]", set_server, 0 },
	{ "smtp", 0, "HOST[:PORT]", set_server, 0 },
	{ "tls", 0, NULL, set_security, 0 },
	{ "starttls", 0, NULL, set_security, 0 },
	{ "plain", 0, NULL, set_security, 0 },
	CMD_STR("mech", "MECH", test.mech),
	CMD_STR("as", "MAILBOX", test.authzid),
	CMD_STR("plugin-dir", "DIR", test.plugin_dir),
	{ "verbose", 'v', NULL, cmd_set_flag, CMD_AT(verbose) },
	CMD_OPT_END
};

/* What the access token says about itself, read here (a JWT, at
 * Microsoft): with VERBOSE its claims, always what would make the server
 * refuse it.  Fills V->app_only and V->tenant (into TENANT).  Never
 * prints the token or its signature. */
static int
show_claims(const struct tokfile *tok, const struct mailtest_options *mo,
    int verbose, struct diag_vars *v, char *tenant, size_t tenant_size)
{
	struct diag_claims c;
	char warn[2048], when[64], span[32], *line, *next;
	int r;

	if ((r = diag_claims_parse(tok->access_token, &c)) != 0) {
		if (r == -ENOMEM)
			return r;
		if (verbose)
			printf("   access token: not a JWT (opaque, as Google's "
			    "are): nothing to decode\n");
		return 0;
	}
	v->app_only = c.app_only;
	if (c.tid[0] != '\0') {
		snprintf(tenant, tenant_size, "%s", c.tid);
		v->tenant = tenant;
	}
	if (verbose) {
		printf("   access token claims (read here, signature not "
		    "checked):\n");
		printf("   aud:   %s\n", c.aud[0] ? c.aud : "(none)");
		if (c.scp[0] != '\0' || !c.app_only)
			printf("   scp:   %s\n", c.scp[0] ? c.scp : "(none)");
		if (c.roles[0] != '\0')
			printf("   roles: %s%s\n", c.roles, c.app_only ?
			    " (app-only)" : "");
		printf("   user:  %s\n", c.user[0] ? c.user : "(none)");
		if (c.tid[0] != '\0')
			printf("   tid:   %s\n", c.tid);
		if (c.appid[0] != '\0')
			printf("   appid: %s\n", c.appid);
		if (c.exp != 0) {
			xo_fmt_time(when, sizeof(when), c.exp);
			xo_fmt_span(span, sizeof(span), c.exp - xo_now_s());
			printf("   exp:   %s (%s %s%s)\n", when,
			    c.exp > xo_now_s() ? "in" : "", span,
			    c.exp > xo_now_s() ? "" : " ago");
		}
	}
	/* Expired is not worth a warning: the plugin refreshes it first. */
	diag_claims_check(&c, tok->user, mo->proto == MAILTEST_IMAP ?
	    DIAG_IMAP : mo->proto == MAILTEST_POP ? DIAG_POP : DIAG_SMTP,
	    c.exp != 0 && c.exp <= xo_now_s() ? c.exp - 1 : xo_now_s(),
	    warn, sizeof(warn));
	for (line = warn; *line != '\0'; line = next) {
		next = strchr(line, '\n');
		*next++ = '\0';
		printf("   warning: %s\n", line);
	}
	return 0;
}

int
cmd_test(const struct cmd_args *opt, int argc, char **argv)
{
	struct mailtest_options mo = opt->test;
	struct target t = { NULL, NULL, 0, NULL };
	struct tokfile *tok = NULL;
	struct diag_vars vars;
	struct xo_err err;
	char *abs = NULL, self[PATH_MAX], when[64], span[32], tenant[128];
	ssize_t n;
	int r, status;

	(void)argc;
	memset(&vars, 0, sizeof(vars));
	if (mo.proto == MAILTEST_NONE) {
		msg(NULL, "test: which server? add --imap, --pop or --smtp HOST[:PORT]");
		return XO_E_USAGE;
	}
	if ((status = target_read(&t, argv[0], &tok)) != 0)
		goto out;
	/* The plugin takes a secret that is an absolute path ending in
	 * ".json" as a token file (xoauth2(7)); anything else it would send
	 * as the token. */
	if ((abs = realpath(t.path, NULL)) == NULL) {
		msg(t.arg, "cannot resolve %s: %s", t.path, strerror(errno));
		status = XO_E_NOINPUT;
		goto out;
	}
	if (strlen(abs) <= strlen("/.json") ||
	    strcmp(abs + strlen(abs) - strlen(".json"), ".json") != 0 ||
	    abs[strlen(abs) - strlen("/.json")] == '/') {
		msg(t.arg, "the plugin takes a password for a token file only "
		    "if it ends in .json, and %s does not; rename it to "
		    "NAME.json", abs);
		status = XO_E_CONFIG;
		goto out;
	}
	/* If the token is due, the plugin runs a helper to refresh it: this
	 * one, unless told otherwise. */
	if (getenv("XOAUTH2_HELPER") == NULL &&
	    (n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		setenv("XOAUTH2_HELPER", self, 0);
	}
	xo_fmt_time(when, sizeof(when), tok->expires_at);
	xo_fmt_span(span, sizeof(span), tok->expires_at - xo_now_s());
	if (tok->expires_at > xo_now_s())
		printf("   access token valid until %s (in %s)\n", when, span);
	else if (tok->expires_at == 0)	/* the plugin's mark */
		printf("   access token rejected by a server earlier: the plugin "
		    "refreshes it first\n");
	else
		printf("   access token expired %s (%s ago): the plugin "
		    "refreshes it first\n", when, span);
	vars.account = t.arg;
	vars.user = mo.authzid != NULL ? mo.authzid : tok->user;
	vars.client_id = tok->client_id;
	vars.tenant = provider_tenant(tok->token_endpoint, tenant, sizeof(tenant));
	if ((r = show_claims(tok, &mo, opt->verbose, &vars, tenant,
	    sizeof(tenant))) != 0) {
		msg(t.arg, "out of memory");
		status = r;
		goto out;
	}
	if (tok->grant != NULL)		/* an app-only file (tokfile.h) */
		vars.app_only = 1;
	mo.diag = &vars;
	mo.cafile = opt->net.cafile;
	mo.connect_timeout_ms = opt->net.connect_timeout_ms;
	mo.timeout_ms = opt->net.timeout_ms;
	if ((status = mailtest_run(&mo, t.arg, abs, tok->user, &err)) != 0)
		msg(t.arg, "%s", err.msg);
 out:
	free(abs);
	tokfile_free(tok);
	target_clear(&t);
	return status;
}
