/*
 * commands: the command table of xoauth2-token, and --help.
 *
 * HOW TO ADD A COMMAND:
 *  1. Write helper/cmd/cmd_NAME.c with
 *	int cmd_NAME(const struct cmd_args *a, int argc, char **argv)
 *     which returns 0, -errno or an errors.h code after a message
 *     ("xoauth2-token: ACCOUNT: what happened; what to do", msg.h);
 *     never an exit number: cmd_exit() maps codes to sysexits.  Its own
 *     options, if any, are a `const struct cmd_option cmd_opts_NAME[]'
 *     in the same file (a row per option: name, short name, metavar,
 *     setter, offset in struct cmd_args -- add a member there or in the
 *     options struct of the module it drives), ended by CMD_OPT_END.
 *  2. Declare cmd_NAME (and cmd_opts_NAME) in cmd.h and add a row below:
 *     name, handler, option groups (its own, shared ones such as
 *     cmd_opts_net), least and most arguments (-1: no limit), flags,
 *     the synopsis and a one-line summary.  --help, per-command -h,
 *     option parsing and "does not apply here" come from this row.
 *     If the command may need libcurl, OpenSSL or libsasl2, flag it
 *     CMD_NET and write its handler and its own option group as
 *     FULL(cmd_NAME), FULL(cmd_opts_NAME): the fast front program
 *     (front.c) then hands it to the full one.  A command that needs
 *     the network only sometimes (token) keeps its handler in the front
 *     and calls a function that front.c implements by the hand-over.
 *     A command that stores what a token endpoint answers (a refresh)
 *     is flagged CMD_STOP: SIGTERM then waits for the answer to be
 *     stored (stop.h).
 *  3. Add cmd_NAME.c to helper/Makefile.am (XO_FULL_SOURCES, or
 *     XO_FRONT_SOURCES if it runs in the front too), the command and
 *     its options to contrib/bash-completion/xoauth2-token and
 *     doc/xoauth2-token.1 (tests/t-cmdtable.sh checks both against this
 *     table), and a test.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "msg.h"
#include "provider.h"

const struct command cmd_table[] = {
	{ "login", FULL(cmd_login), { FULL(cmd_opts_login), cmd_opts_net,
	  FULL(cmd_opts_login_postfix), FULL(cmd_opts_conf),
	  FULL(cmd_opts_secret) }, 1, 1, CMD_NET,
	  "login ACCOUNT|FILE --provider P --client-id ID\n"
	  "        [--tenant T] [--cloud C] [--flow browser|device]\n"
	  "        [--scope S] [--login-hint EMAIL] [--user EMAIL]\n"
	  "        [--client-secret-file FILE|-] [--auth-endpoint URL]\n"
	  "        [--token-endpoint URL] [--device-endpoint URL] [--port N]\n"
	  "        [--redirect-host 127.0.0.1|localhost] [--wait SECS]\n"
	  "        [--no-browser] [--no-qr] [--proxy URL|''|--proxy-file FILE]\n"
	  "        [--keyring]\n"
	  "        [--no-proxy HOSTS] [--notify CMD] [NET OPTIONS]\n"
	  "        [--for postfix --relay [HOST]:PORT [--sender ADDRESS] [--apply]\n"
	  "         [--postfix-config DIR]]\n"
	  "      login ACCOUNT|FILE --app-only --provider microsoft|custom\n"
	  "        --client-id ID --user MAILBOX (--client-secret-file FILE |\n"
	  "        --client-secret-credential NAME | --client-secret-command CMD |\n"
	  "        --certificate CERT.pem (--private-key KEY.pem |\n"
	  "        --private-key-credential NAME) [--key-passphrase-file FILE |\n"
	  "        --key-passphrase-credential NAME | --key-passphrase-command CMD])\n"
	  "        [--tenant T] [--cloud C] [--token-endpoint URL] [--scope S]\n"
	  "        [--proxy URL|''] [--no-proxy HOSTS] [--notify CMD] [NET OPTIONS]\n"
	  "        [--for postfix --relay [HOST]:PORT ...]\n"
	  "      login ACCOUNT|FILE --provider google (--service-account KEY.json |\n"
	  "        --service-account-credential NAME)\n"
	  "        --user MAILBOX [--scope S] [--proxy URL|''] [--no-proxy HOSTS]\n"
	  "        [--notify CMD] [NET OPTIONS] [--for postfix --relay [HOST]:PORT ...]",
	  "sign in (in a browser, or with a code on another device; or as an "
	  "app, with no person) and write the token file" },
	{ "test", FULL(cmd_test), { FULL(cmd_opts_test), cmd_opts_net }, 1, 1,
	  CMD_NET,
	  "test ACCOUNT|FILE --imap|--pop|--smtp HOST[:PORT]\n"
	  "        [--tls|--starttls|--plain] [--mech XOAUTH2|OAUTHBEARER]\n"
	  "        [--as MAILBOX] [--plugin-dir DIR] [-v] [NET OPTIONS]",
	  "log in to a mail server through libsasl2 and the xoauth2 plugin, "
	  "say whether it worked, and if not, why and what to change "
	  "(-v: the access token's claims)" },
	{ "token", cmd_token, { cmd_opts_margin, cmd_opts_limit, cmd_opts_net },
	  1, 1, CMD_STOP,
	  "token [--margin SECS] [--time-limit SECS] [NET OPTIONS] ACCOUNT|FILE",
	  "print a valid access token (refreshing it first if it expires "
	  "within the margin)" },
	{ "refresh", FULL(cmd_refresh), { cmd_opts_refresh,
	  FULL(cmd_opts_jobs), cmd_opts_margin, cmd_opts_limit, cmd_opts_net },
	  0, -1, CMD_NET | CMD_STOP,
	  "refresh [--force] [--margin SECS] [--time-limit SECS] [-v]\n"
	  "        [--jobs N] [NET OPTIONS] ACCOUNT|FILE...|--all",
	  "refresh tokens that expire within the margin (all of them with "
	  "--force; every account in the store with --all), up to N (--jobs, "
	  "default 8) at once, each in a process of its own, reported in "
	  "order" },
	{ "show", cmd_show, { NULL }, 1, 1, 0,
	  "show ACCOUNT|FILE",
	  "describe a token file, without its secrets" },
	{ "list", cmd_list, { NULL }, 0, 0, 0,
	  "list",
	  "the accounts in the store, with their expiry and health" },
	{ "status", cmd_status, { cmd_opts_status }, 0, -1, 0,
	  "status [-v] [ACCOUNT|FILE...]",
	  "the health of token files in one line, for monitoring (every "
	  "account in the store if none is named); exit 0 ok, 1 warning, "
	  "2 critical, 3 unknown" },
	{ "set", FULL(cmd_set), { FULL(cmd_opts_conf), FULL(cmd_opts_set),
	  FULL(cmd_opts_secret) }, 1, 1, CMD_NET,
	  "set ACCOUNT|FILE [--proxy URL|''|--proxy-file FILE] "
	  "[--no-proxy HOSTS|''] [--notify CMD|''] [--client-secret-file "
	  "FILE|--certificate CERT --private-key KEY|--service-account "
	  "KEY.json]\n"
	  "        [--client-secret-credential NAME|--client-secret-command CMD]\n"
	  "        [--private-key-credential NAME] [--key-passphrase-file FILE|''|\n"
	  "        --key-passphrase-credential NAME|--key-passphrase-command CMD]\n"
	  "        [--service-account-credential NAME]",
	  "change how a token file is refreshed (proxy, an app-only file's "
	  "credential files) and who is told when it needs a new login "
	  "(notify), without a new login" },
	{ "logout", cmd_logout, { NULL }, 1, 1, 0,
	  "logout ACCOUNT|FILE",
	  "delete the token file (the grant stays valid at the provider until "
	  "revoked there)" },
	{ "postfix", FULL(cmd_postfix), { FULL(cmd_opts_postfix) }, 1, 1,
	  CMD_NET,
	  "postfix ACCOUNT --relay [HOST]:PORT [--sender ADDRESS] [--apply]\n"
	  "        [--postfix-config DIR]  |  postfix ACCOUNT --remove",
	  "put ACCOUNT's token file where postfix's (chrooted) smtp reads it, "
	  "and print or --apply the sasl_passwd line and main.cf settings" },
	{ "credential", FULL(cmd_credential), { FULL(cmd_opts_credential) },
	  2, 2, 0,
	  "credential encrypt ACCOUNT|FILE [--for postfix] [--secret|--key|\n"
	  "        --passphrase|--service-account|--all] [--with-key host|tpm2|\n"
	  "        host+tpm2|auto]  |  credential decrypt ACCOUNT|FILE\n"
	  "        [--for postfix] [--secret|--key|...] --to FILE",
	  "move an app's client secret, key, key passphrase or service-account "
	  "key from its file into an encrypted systemd credential that the "
	  "timer's unit loads (root), or back into a file" },
};
const size_t cmd_count = sizeof(cmd_table) / sizeof(cmd_table[0]);

/* "microsoft (global, usgov, china), google, custom": the provider
 * table for --help. */
static void
provider_list(char *buf, size_t size)
{
	const struct provider_row *p;
	size_t i, n, off = 0;
	int first, last;

	p = provider_table(&n);
	buf[0] = '\0';
	for (i = 0; i < n && off < size; i++) {
		first = i == 0 || strcmp(p[i].name, p[i - 1].name) != 0;
		last = i + 1 == n || strcmp(p[i].name, p[i + 1].name) != 0;
		off += (size_t)snprintf(buf + off, size - off, "%s%s%s%s%s",
		    i == 0 ? "" : ", ", first ? p[i].name : "",
		    first && p[i].cloud != NULL ? " (" : "",
		    p[i].cloud != NULL ? p[i].cloud : "",
		    last && p[i].cloud != NULL ? ")" : "");
	}
}

void
cmd_usage(FILE *f)
{
	char providers[256];
	size_t i;

	provider_list(providers, sizeof(providers));

	fprintf(f, "usage: " PROG " COMMAND [OPTIONS] ARGS\n\n");
	for (i = 0; i < cmd_count; i++)
		fprintf(f, "  " PROG " %s\n      %s\n", cmd_table[i].usage,
		    cmd_table[i].summary);
	fprintf(f,
	    "\n"
	    "ACCOUNT is ACCOUNT.json in ${XDG_DATA_HOME:-~/.local/share}/xoauth2/;\n"
	    "an argument containing a '/' is the path of a token file.\n"
	    "\n"
	    "options:\n"
	    "  --margin SECS           refresh if the token expires within SECS (default %d)\n"
	    "  --force, -f             refresh even if the token is still valid\n"
	    "  --all, -a               every account in the store\n"
	    "  --verbose, -v           say what was done\n"
	    "  --time-limit SECS       token, refresh: give up after SECS in all (the\n"
	    "                          lock wait and the request), never losing tokens\n"
	    "                          the server has sent\n"
	    "login: --provider, --client-id are required; see " PROG "(1)\n"
	    "       --provider P [--cloud C]: %s\n"
	    "test:  --tls (default for IMAP, POP), --starttls (default for SMTP),\n"
	    "       --plain (loopback hosts only); --cafile applies to the mail server\n"
	    "NET OPTIONS:\n"
	    "  --connect-timeout SECS  give up connecting after SECS (default %ld)\n"
	    "  --timeout SECS          give up on the whole request after SECS (default %ld)\n"
	    "  --cafile FILE           trust the CA certificates in FILE\n"
	    "  --help, -h              this text;   --version, -V  the version\n"
	    "\n",
	    CMD_DEFAULT_MARGIN_S, providers, CMD_DEFAULT_CONNECT_MS / 1000,
	    CMD_DEFAULT_TIMEOUT_MS / 1000);
	cmd_exit_help(f);
}

/* For tests/t-cmdtable.sh: the tables as lines of words --
 *   command NAME MIN MAX
 *   option NAME --LONG [-SHORT] [METAVAR]
 *   provider NAME CLOUD|-
 *   exit STATUS
 * ("xoauth2-token help --table"; not documented). */
void
cmd_print_table(FILE *f)
{
	const struct provider_row *prov;
	const struct cmd_option *o;
	size_t c, g, i, n;

	for (c = 0; c < cmd_count; c++) {
		fprintf(f, "command %s %d %d\n", cmd_table[c].name,
		    cmd_table[c].min_args, cmd_table[c].max_args);
		for (g = 0; g < CMD_GROUPS; g++)
			for (o = cmd_table[c].opts[g]; o != NULL && o->name != NULL;
			    o++) {
				fprintf(f, "option %s --%s", cmd_table[c].name,
				    o->name);
				if (o->short_name != 0)
					fprintf(f, " -%c", o->short_name);
				fprintf(f, "%s%s\n", o->metavar != NULL ? " " : "",
				    o->metavar != NULL ? o->metavar : "");
			}
	}
	prov = provider_table(&n);
	for (i = 0; i < n; i++)
		fprintf(f, "provider %s %s\n", prov[i].name,
		    prov[i].cloud != NULL ? prov[i].cloud : "-");
	cmd_exit_table(f);
}
