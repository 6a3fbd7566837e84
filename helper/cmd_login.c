/*
 * cmd_login: `xoauth2-token login ACCOUNT|FILE --provider P ...`, its
 * options, and the call into login.c, which runs the flows.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "cmd.h"
#include "errors.h"
#include "login.h"
#include "msg.h"
#include "xo_util.h"

static int
set_port(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	char *end;
	long port;

	(void)o;
	errno = 0;
	port = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || port < 1 ||
	    port > 65535) {
		msg(NULL, "--port: '%s' is not a port number (1-65535)", arg);
		return XO_E_USAGE;
	}
	a->login.port = (int)port;
	return 0;
}

static int
set_wait(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	double v;
	int r;

	(void)o;
	if ((r = cmd_parse_seconds("--wait", arg, 1, 3600, &v)) != 0)
		return r;
	a->login.wait_s = (long)v;
	return 0;
}

#define S(name, meta, member) \
	{ name, 0, meta, cmd_set_string, CMD_AT(login.member) }
#define F(name, member) \
	{ name, 0, NULL, cmd_set_flag, CMD_AT(login.member) }

const struct cmd_option cmd_opts_login[] = {
	S("provider", "P", provider),
	S("client-id", "ID", client_id),
	S("client-secret-file", "FILE", client_secret_file),
	S("tenant", "T", tenant),
	S("cloud", "C", cloud),
	S("flow", "F", flow),
	S("scope", "S", scope),
	S("login-hint", "EMAIL", login_hint),
	S("user", "EMAIL", user),
	S("auth-endpoint", "URL", auth_endpoint),
	S("token-endpoint", "URL", token_endpoint),
	S("device-endpoint", "URL", device_endpoint),
	{ "port", 0, "N", set_port, 0 },
	S("redirect-host", "HOST", redirect_host),
	{ "wait", 0, "SECS", set_wait, 0 },
	F("no-browser", no_browser),
	F("no-qr", no_qr),
	F("app-only", app_only),
	S("certificate", "CERT", certificate),
	S("private-key", "KEY", private_key),
	S("service-account", "KEY.json", service_account),
	CMD_OPT_END
};

int
cmd_login(const struct cmd_args *opt, int argc, char **argv)
{
	struct target t = { NULL, NULL, 0 };
	struct login_options lo;
	char *proxy = NULL, *path = NULL;
	int status;

	(void)argc;
	if ((status = cmd_conf_proxy_file(opt, argv[0], &lo, &proxy)) != 0 ||
	    (status = cmd_conf_check(&lo, argv[0])) != 0)
		goto out;
	if (opt->for_postfix) {
		if ((status = postfix_for_login(argv[0], &opt->postfix, argv[0],
		    &path)) != 0)
			goto out;
		if ((status = login_run(&lo, &opt->net, argv[0], path,
		    NULL)) == 0)
			status = postfix_after_login(argv[0], &opt->postfix, path);
		goto out;
	}
	if (opt->postfix.relay != NULL || opt->postfix.apply ||
	    opt->postfix.sender != NULL || opt->postfix.config_dir != NULL) {
		msg(NULL, "login: --relay, --sender, --apply and "
		    "--postfix-config go with --for postfix");
		status = XO_E_USAGE;
		goto out;
	}
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	status = login_run(&lo, &opt->net, t.arg, t.path,
	    t.is_account ? t.arg : NULL);
 out:
	free(path);
	xo_free_secret(proxy);
	target_clear(&t);
	return status;
}
