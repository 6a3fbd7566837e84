/*
 * xoauth2-token: keeps OAuth 2.0 token files fresh and hands out access
 * tokens to mail programs (mbsync PassCmd, msmtp passwordeval, mutt) and
 * to the xoauth2 SASL plugin.
 *
 *   xoauth2-token login ACCOUNT|FILE --provider P --client-id ID ...
 *   xoauth2-token test ACCOUNT|FILE --imap|--pop|--smtp HOST[:PORT] ...
 *   xoauth2-token token ACCOUNT|FILE             print a valid access token
 *   xoauth2-token refresh [--force] ACCOUNT|FILE...|--all
 *   xoauth2-token show ACCOUNT|FILE              everything but the secrets
 *   xoauth2-token list                           the accounts in the store
 *   xoauth2-token logout ACCOUNT|FILE            forget an account
 *
 * A command is one row of the table `commands' below: its name, the
 * options it takes, how many arguments, and the function that runs it.
 * Messages go to stderr as "xoauth2-token: ACCOUNT: what happened; what
 * to do", and the exit status follows sysexits(3) (see usage()).
 * Secrets never reach argv, the environment, or a message.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "login.h"
#include "mailtest.h"
#include "msg.h"
#include "oauth.h"
#include "store.h"
#include "tokfile.h"
#include "xo_util.h"

#define DEFAULT_MARGIN_S	300
#define DEFAULT_CONNECT_MS	10000L
#define DEFAULT_TIMEOUT_MS	30000L
/* A refresh that fails still prints the old access token (with a
 * warning) if it stays valid at least this long. */
#define STILL_USABLE_S		60

/* Options a command may accept. */
#define OPT_MARGIN	0x01
#define OPT_NET		0x02	/* --connect-timeout --timeout --cafile */
#define OPT_FORCE	0x04
#define OPT_ALL		0x08
#define OPT_VERBOSE	0x10
#define OPT_LOGIN	0x20	/* login's own options */
#define OPT_TEST	0x40	/* test's own options */

struct options {
	int64_t		 margin_s;
	struct oauth_options net;
	int		 force, all, verbose;
	struct login_options login;
	struct mailtest_options test;
};

/* One command-line argument resolved to a token file. */
struct target {
	const char	*arg;		/* as given: used in messages */
	char		*path;
	int		 is_account;
};

struct command {
	const char	*name;
	int		(*run)(const struct options *, int, char **);
	unsigned	 opts;		/* OPT_* it accepts */
	int		 min_args, max_args;	/* max -1: no limit */
	const char	*usage;
	const char	*summary;
};

static int cmd_token(const struct options *, int, char **);
static int cmd_refresh(const struct options *, int, char **);
static int cmd_show(const struct options *, int, char **);
static int cmd_login(const struct options *, int, char **);
static int cmd_test(const struct options *, int, char **);
static int cmd_list(const struct options *, int, char **);
static int cmd_logout(const struct options *, int, char **);

static const struct command commands[] = {
	{ "login", cmd_login, OPT_LOGIN | OPT_NET, 1, 1,
	  "login ACCOUNT|FILE --provider microsoft|google|custom --client-id ID\n"
	  "        [--tenant T] [--cloud global|usgov|china] [--flow browser|device]\n"
	  "        [--scope S] [--login-hint EMAIL] [--user EMAIL]\n"
	  "        [--client-secret-file FILE|-] [--auth-endpoint URL]\n"
	  "        [--token-endpoint URL] [--device-endpoint URL] [--port N]\n"
	  "        [--redirect-host 127.0.0.1|localhost] [--wait SECS]\n"
	  "        [--no-browser] [--no-qr] [NET OPTIONS]",
	  "sign in (in a browser, or with a code on another device) and write "
	  "the token file" },
	{ "test", cmd_test, OPT_TEST | OPT_NET, 1, 1,
	  "test ACCOUNT|FILE --imap|--pop|--smtp HOST[:PORT]\n"
	  "        [--tls|--starttls|--plain] [--mech XOAUTH2|OAUTHBEARER]\n"
	  "        [--as MAILBOX] [--plugin-dir DIR] [NET OPTIONS]",
	  "log in to a mail server through libsasl2 and the xoauth2 plugin, "
	  "and say whether it worked" },
	{ "token", cmd_token, OPT_MARGIN | OPT_NET, 1, 1,
	  "token [--margin SECS] [NET OPTIONS] ACCOUNT|FILE",
	  "print a valid access token (refreshing it first if it expires "
	  "within the margin)" },
	{ "refresh", cmd_refresh, OPT_MARGIN | OPT_NET | OPT_FORCE | OPT_ALL |
	  OPT_VERBOSE, 0, -1,
	  "refresh [--force] [--margin SECS] [-v] [NET OPTIONS] ACCOUNT|FILE...|--all",
	  "refresh tokens that expire within the margin (all of them with "
	  "--force; every account in the store with --all)" },
	{ "show", cmd_show, 0, 1, 1,
	  "show ACCOUNT|FILE",
	  "describe a token file, without its secrets" },
	{ "list", cmd_list, 0, 0, 0,
	  "list",
	  "the accounts in the store, with their expiry and health" },
	{ "logout", cmd_logout, 0, 1, 1,
	  "logout ACCOUNT|FILE",
	  "delete the token file (the grant stays valid at the provider until "
	  "revoked there)" },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* --- messages ------------------------------------------------------------ */

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: " PROG " COMMAND [OPTIONS] ARGS\n\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  " PROG " %s\n      %s\n", commands[i].usage,
		    commands[i].summary);
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
	    "login: --provider, --client-id are required; see " PROG "(1)\n"
	    "test:  --tls (default for IMAP, POP), --starttls (default for SMTP),\n"
	    "       --plain (loopback hosts only); --cafile applies to the mail server\n"
	    "NET OPTIONS:\n"
	    "  --connect-timeout SECS  give up connecting after SECS (default %ld)\n"
	    "  --timeout SECS          give up on the whole request after SECS (default %ld)\n"
	    "  --cafile FILE           trust the CA certificates in FILE\n"
	    "  --help, -h              this text;   --version, -V  the version\n"
	    "\n"
	    "exit status: 0 ok, 64 usage, 65 bad token file, 66 no token\n"
	    "file, 68 unknown mail host, 69 server unreachable or misbehaving,\n"
	    "70/71 internal, 73/74 cannot write/read, 75 temporary failure (try\n"
	    "again), 76 protocol error, 77 refused: unsafe file, sign-in declined,\n"
	    "grant or token rejected (log in again), 78 configuration.\n",
	    DEFAULT_MARGIN_S, DEFAULT_CONNECT_MS / 1000, DEFAULT_TIMEOUT_MS / 1000);
}

/* Reports a failure to read (or lock) T's token file; returns the exit
 * status.  Messages name the file unless the user typed its path. */
static int
report_file_error(const struct target *t, int r)
{
	const char *file = t->is_account ? t->path : "the token file";
	struct stat st;

	if (r == -ENOENT) {
		if (t->is_account)
			msg(t->arg, "no token file %s; run: " PROG " login %s",
			    t->path, t->arg);
		else
			msg(t->arg, "no such token file");
		return EX_NOINPUT;
	}
	if (r == TOKFILE_E_PERMS) {
		if (lstat(t->path, &st) == 0)
			msg(t->arg, "refusing %s: it is accessible by group or "
			    "others (mode %04o); run: chmod 600 %s", file,
			    (unsigned)(st.st_mode & 07777), t->path);
		else
			msg(t->arg, "refusing %s: it is accessible by group or "
			    "others; run: chmod 600 %s", file, t->path);
		return EX_NOPERM;
	}
	if (r == TOKFILE_E_NOTREG) {
		if (lstat(t->path, &st) == 0 && S_ISLNK(st.st_mode))
			msg(t->arg, "refusing %s: it is a symbolic link; name "
			    "the file itself", file);
		else if (lstat(t->path, &st) == 0 && !S_ISREG(st.st_mode))
			msg(t->arg, "refusing %s: not a regular file", file);
		else		/* the lock file is the odd one */
			msg(t->arg, "refusing %s.lock: not a regular file",
			    t->path);
		return EX_NOPERM;
	}
	if (r == TOKFILE_E_LOCKED) {
		msg(t->arg, "another " PROG " is still refreshing %s; try "
		    "again later", file);
		return EX_TEMPFAIL;
	}
	if (r == -EACCES || r == -EPERM) {
		msg(t->arg, "cannot open %s: %s", t->path, tokfile_strerror(r));
		return EX_NOPERM;
	}
	if (r == -ENOMEM) {
		msg(t->arg, "out of memory");
		return EX_OSERR;
	}
	if (r == TOKFILE_E_VERSION) {
		msg(t->arg, "%s was written by a newer version of " PROG
		    "; upgrade", t->is_account ? t->path : "the token file");
		return EX_DATAERR;
	}
	if (r == TOKFILE_E_JSON || r == TOKFILE_E_TOOBIG ||
	    TOKFILE_E_IS_MEMBER(r)) {
		msg(t->arg, "%s is not a valid token file (%s)%s%s",
		    t->is_account ? t->path : "this", tokfile_strerror(r),
		    t->is_account ? "; run: " PROG " login " : "",
		    t->is_account ? t->arg : "");
		return EX_DATAERR;
	}
	msg(t->arg, "cannot read %s: %s", t->path, tokfile_strerror(r));
	return EX_IOERR;
}

/* Reports a failure of tokfile_update_wait before it called back: taking
 * the lock or reading the file.  The lock file is opened (created if
 * missing) first, so an error the token file would not give is its:
 * name it, not the token file.  Returns the exit status. */
static int
report_update_error(const struct target *t, int r)
{
	char lock[PATH_MAX], owner[64], me[64];
	struct passwd *pw;
	struct stat st;
	int fd;

	if ((r != -EROFS && r != -EACCES && r != -EPERM && r != -ENOSPC &&
	    r != -EDQUOT) ||
	    snprintf(lock, sizeof(lock), "%s.lock", t->path) >= (int)sizeof(lock))
		return report_file_error(t, r);
	if (lstat(lock, &st) == -1) {
		if (errno != ENOENT)
			return report_file_error(t, r);
		msg(t->arg, "cannot create %s: %s", lock, tokfile_strerror(r));
		return EX_CANTCREAT;
	}
	fd = open(lock, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd != -1) {
		close(fd);		/* the lock file is fine */
		return report_file_error(t, r);
	}
	if (errno != EACCES && errno != EPERM)
		return report_file_error(t, r);
	if ((pw = getpwuid(st.st_uid)) != NULL)
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
	else
		snprintf(owner, sizeof(owner), "uid %u", (unsigned)st.st_uid);
	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(me, sizeof(me), "%s", pw->pw_name);
	else
		snprintf(me, sizeof(me), "%u", (unsigned)geteuid());
	msg(t->arg, "cannot open %s: %s (owner %s, mode %04o); run: chown %s "
	    "%s, or remove it", lock, tokfile_strerror(r), owner,
	    (unsigned)(st.st_mode & 07777), me, lock);
	return EX_NOPERM;
}

static void
report_refresh_error(const struct target *t, const struct oauth_error *err)
{
	switch (err->hint) {
	case OAUTH_HINT_LOGIN:
		msg(t->arg, "%s; run: " PROG " login %s", err->what, t->arg);
		break;
	case OAUTH_HINT_CLIENT:
		msg(t->arg, "%s; check client_id and client_secret in %s",
		    err->what, t->path);
		break;
	case OAUTH_HINT_SCOPE:
		msg(t->arg, "%s; check scope in %s", err->what, t->path);
		break;
	case OAUTH_HINT_ENDPOINT:
		msg(t->arg, "%s; check token_endpoint in %s", err->what, t->path);
		break;
	case OAUTH_HINT_NETWORK:
		msg(t->arg, "%s; check the network and token_endpoint in %s",
		    err->what, t->path);
		break;
	case OAUTH_HINT_LATER:
		msg(t->arg, "%s; try again later", err->what);
		break;
	case OAUTH_HINT_CAFILE:
		msg(t->arg, "%s; if the server uses a private CA, add "
		    "--cafile FILE", err->what);
		break;
	case OAUTH_HINT_PEER:
		msg(t->arg, "%s; check token_endpoint in %s, and if the server "
		    "uses a private CA, add --cafile FILE", err->what, t->path);
		break;
	case OAUTH_HINT_NONE:
		msg(t->arg, "%s", err->what);
		break;
	}
}

/* --- arguments ------------------------------------------------------------ */

static int
target_init(struct target *t, const char *arg)
{
	int r;

	t->arg = arg;
	t->path = NULL;
	t->is_account = 0;
	if ((r = store_path(arg, &t->path, &t->is_account)) != 0) {
		msg(arg, "%s", store_strerror(r));
		return r == -ENOMEM ? EX_OSERR :
		    r == STORE_E_NOHOME ? EX_CONFIG : EX_USAGE;
	}
	return 0;
}

static void
target_clear(struct target *t)
{
	free(t->path);
	t->path = NULL;
}

/* Parses a number of seconds (decimals allowed) between MIN and MAX. */
static int
parse_seconds(const char *opt, const char *s, double min, double max,
    double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
		msg(NULL, "%s: '%s' is not a number of seconds between %g and %g",
		    opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

static void
fmt_time(char *buf, size_t size, int64_t when)
{
	time_t t = (time_t)when;
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
		snprintf(buf, size, "@%" PRId64, when);
}

/* "43 min", "2 h", "3 days": coarse, as people say it. */
static void
fmt_span(char *buf, size_t size, int64_t secs)
{
	if (secs < 0)
		secs = -secs;
	if (secs < 120)
		snprintf(buf, size, "%" PRId64 " s", secs);
	else if (secs < 120 * 60)
		snprintf(buf, size, "%" PRId64 " min", secs / 60);
	else if (secs < 48 * 3600)
		snprintf(buf, size, "%" PRId64 " h", secs / 3600);
	else
		snprintf(buf, size, "%" PRId64 " days", secs / 86400);
}

/* --- refreshing ----------------------------------------------------------- */

/* libcurl's global state: set up on the first refresh (the common case,
 * a valid token, never pays for it), torn down when main returns. */
static int curl_ready;

struct refresh {
	const struct options *opt;
	const char	*path;		/* the token file */
	int		 force;
	int		 called;	/* refresh_locked ran: the lock was taken */
	int		 refreshed;	/* the server issued new tokens */
	int		 status;	/* sysexits code if the refresh failed */
	struct oauth_error err;
	char		*access_token;	/* copy of the final one (secret) */
	int64_t		 expires_at;
};

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* Words tokfile_reserve's failure R for RF (before any request). */
static void
reserve_error(struct refresh *rf, int r)
{
	const char *slash = strrchr(rf->path, '/');
	int dirlen = slash == NULL ? 1 : slash == rf->path ? 1 :
	    (int)(slash - rf->path);
	const char *dir = slash == NULL ? "." : rf->path;

	rf->status = r == -ENOMEM ? EX_OSERR : EX_CANTCREAT;
	rf->err.hint = OAUTH_HINT_NONE;
	if (r == -ENOMEM)
		snprintf(rf->err.what, sizeof(rf->err.what), "out of memory");
	else if (r == -EEXIST)
		snprintf(rf->err.what, sizeof(rf->err.what), "%s.tmp holds the "
		    "result of an interrupted refresh that could not be moved "
		    "into place; not refreshed: check %.*s and try again",
		    rf->path, dirlen, dir);
	else
		snprintf(rf->err.what, sizeof(rf->err.what), "cannot make room "
		    "for the new token file in %.*s (%s); not refreshed, the "
		    "stored refresh token is unused: fix that and try again",
		    dirlen, dir, tokfile_strerror(r));
}

/* Runs under the token file's lock, on what the file holds now. */
static int
refresh_locked(struct tokfile *tok, void *arg)
{
	struct refresh *rf = arg;
	struct oauth_tokens fresh = { NULL, NULL, 0, NULL };
	int64_t asked_at;
	int r;

	rf->called = 1;
	if (!rf->force && tok->expires_at - now_s() > rf->opt->margin_s) {
		/* Valid, or someone refreshed while we waited for the lock. */
		if ((rf->access_token = strdup(tok->access_token)) == NULL)
			goto nomem;
		rf->expires_at = tok->expires_at;
		return TOKFILE_UNCHANGED;
	}
	/* Never spend a refresh token we could not store: at a provider
	 * whose refresh tokens are single-use the grant would be lost.  Make
	 * room for the new file while nothing has been sent. */
	if ((r = tokfile_reserve(rf->path)) != 0) {
		reserve_error(rf, r);
		return TOKFILE_E_ABORTED;
	}
	if (!curl_ready && oauth_init() == 0)
		curl_ready = 1;
	if (!curl_ready) {
		rf->status = EX_SOFTWARE;
		snprintf(rf->err.what, sizeof(rf->err.what),
		    "cannot initialise libcurl");
		rf->err.hint = OAUTH_HINT_NONE;
		return TOKFILE_E_ABORTED;
	}
	/* The token's lifetime starts when the server issues it: count from
	 * before we ask, not from when the answer arrives. */
	asked_at = now_s();
	r = oauth_refresh(tok, &rf->opt->net, &fresh, &rf->err);
	if (r != 0) {
		rf->status = r;
		return TOKFILE_E_ABORTED;
	}
	rf->refreshed = 1;
	/* RFC 6749 6: a new refresh token replaces the old one, which the
	 * server may no longer honour; none means keep the old one. */
	if (tokfile_set(&tok->access_token, fresh.access_token) != 0 ||
	    (fresh.refresh_token != NULL &&
	    tokfile_set(&tok->refresh_token, fresh.refresh_token) != 0))
		goto nomem;
	tok->expires_at = asked_at + fresh.expires_in;
	tok->refreshed_at = now_s();
	rf->expires_at = tok->expires_at;
	rf->access_token = fresh.access_token;
	fresh.access_token = NULL;
	oauth_tokens_clear(&fresh);
	return 0;
 nomem:
	oauth_tokens_clear(&fresh);
	rf->status = EX_OSERR;
	snprintf(rf->err.what, sizeof(rf->err.what), "out of memory");
	rf->err.hint = OAUTH_HINT_NONE;
	return TOKFILE_E_ABORTED;
}

/* Refreshes T if due (or FORCE).  On success returns 0 and, if ACCESSp is
 * not NULL, a copy of the valid access token in *ACCESSp.  Otherwise
 * reports the failure and returns its exit status. */
static int
refresh_target(const struct options *opt, const struct target *t, int force,
    char **accessp)
{
	struct refresh rf;
	long wait_ms;
	int r, status;

	memset(&rf, 0, sizeof(rf));
	rf.opt = opt;
	rf.path = t->path;
	rf.force = force;
	if (accessp != NULL)
		*accessp = NULL;
	/* Whoever holds the lock gives up within its own --timeout. */
	wait_ms = opt->net.timeout_ms + 5000;
	r = tokfile_update_wait(t->path, (int)(wait_ms > INT_MAX ? INT_MAX : wait_ms),
	    refresh_locked, &rf);
	if (r == TOKFILE_E_ABORTED) {
		report_refresh_error(t, &rf.err);
		status = rf.status;
		goto out;
	}
	if (r != 0 && rf.refreshed) {
		/* The server has rotated the refresh token, but we could not
		 * store the new one: the file still holds the old. */
		msg(t->arg, "new tokens were issued but could not be saved to "
		    "%s (%s); the stored refresh token may no longer work: fix "
		    "the problem and run: " PROG " login %s", t->path,
		    tokfile_strerror(r), t->arg);
		status = r == -ENOMEM ? EX_OSERR : EX_CANTCREAT;
		goto out;
	}
	if (r != 0) {
		status = rf.called ? report_file_error(t, r) :
		    report_update_error(t, r);
		goto out;
	}
	if (opt->verbose) {
		char when[64], span[32];

		fmt_time(when, sizeof(when), rf.expires_at);
		fmt_span(span, sizeof(span), rf.expires_at - now_s());
		msg(t->arg, "%s; access token valid until %s (in %s)",
		    rf.refreshed ? "refreshed" : "still valid, not refreshed",
		    when, span);
	}
	if (accessp != NULL) {
		*accessp = rf.access_token;
		rf.access_token = NULL;
	}
	status = 0;
 out:
	xo_free_secret(rf.access_token);
	return status;
}

/* --- commands ------------------------------------------------------------- */

static int
print_token(const char *token)
{
	size_t len = strlen(token);
	char *line;
	ssize_t n;
	size_t off = 0;
	int status = 0;

	/* One write of "TOKEN\n", from a buffer we wipe (not stdio's). */
	if ((line = malloc(len + 1)) == NULL)
		return EX_OSERR;
	memcpy(line, token, len);
	line[len] = '\n';
	while (off < len + 1) {
		n = write(STDOUT_FILENO, line + off, len + 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			msg(NULL, "cannot write the token to stdout: %s",
			    strerror(errno));
			status = EX_IOERR;
			break;
		}
		off += (size_t)n;
	}
	xo_wipe(line, len + 1);
	free(line);
	return status;
}

static int
cmd_token(const struct options *opt, int argc, char **argv)
{
	struct target t = { NULL, NULL, 0 };
	struct tokfile *tok = NULL;
	char *access = NULL;
	int r, status;

	(void)argc;
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	/* Without the lock: writers rename whole files into place. */
	if ((r = tokfile_read(t.path, &tok)) != 0) {
		status = report_file_error(&t, r);
		goto out;
	}
	if (tok->expires_at - now_s() > opt->margin_s) {
		status = print_token(tok->access_token);
		goto out;
	}
	if ((status = refresh_target(opt, &t, 0, &access)) != 0) {
		/* Still good for a while: better late than never. */
		if (tok->expires_at - now_s() >= STILL_USABLE_S) {
			msg(t.arg, "using the current access token, valid for "
			    "%" PRId64 " more min", (tok->expires_at - now_s()) / 60);
			status = print_token(tok->access_token);
		}
		goto out;
	}
	status = print_token(access);
 out:
	xo_free_secret(access);
	tokfile_free(tok);
	target_clear(&t);
	return status;
}

static int
cmd_refresh(const struct options *opt, int argc, char **argv)
{
	struct target t;
	char **names = NULL;
	size_t i, n = 0;
	int r, status = 0, one;

	if (opt->all && argc > 0) {
		msg(NULL, "refresh: give accounts or --all, not both");
		return EX_USAGE;
	}
	if (!opt->all && argc == 0) {
		msg(NULL, "refresh: which account? (or --all)");
		return EX_USAGE;
	}
	if (opt->all) {
		if ((r = store_list(&names, &n)) != 0) {
			msg(NULL, "cannot list the token store: %s",
			    store_strerror(r));
			return r == -ENOMEM ? EX_OSERR :
			    r == STORE_E_NOHOME ? EX_CONFIG : EX_IOERR;
		}
		if (n == 0 && opt->verbose)
			msg(NULL, "no token files in the store");
		argv = names;
		argc = (int)n;
	}
	/* Each one, whatever happened to the others; the first failure
	 * decides the exit status. */
	for (i = 0; i < (size_t)argc; i++) {
		if ((one = target_init(&t, argv[i])) == 0) {
			one = refresh_target(opt, &t, opt->force, NULL);
			target_clear(&t);
		}
		if (status == 0)
			status = one;
	}
	store_names_free(names);
	return status;
}

static int
cmd_show(const struct options *opt, int argc, char **argv)
{
	struct target t = { NULL, NULL, 0 };
	struct tokfile *tok = NULL;
	char when[64], span[32];
	int64_t now = now_s();
	int r, status;

	(void)opt;
	(void)argc;
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	if ((r = tokfile_read(t.path, &tok)) != 0) {
		status = report_file_error(&t, r);
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
	fmt_time(when, sizeof(when), tok->expires_at);
	fmt_span(span, sizeof(span), tok->expires_at - now);
	if (tok->expires_at > now)
		printf("access token:   expires %s (in %s)\n", when, span);
	else
		printf("access token:   expired %s (%s ago)\n", when, span);
	printf("refresh token:  %s\n", tok->refresh_token != NULL ?
	    "(set)" : "(none: log in again when the access token expires)");
	if (tok->refreshed_at > 0) {
		fmt_time(when, sizeof(when), tok->refreshed_at);
		fmt_span(span, sizeof(span), now - tok->refreshed_at);
		printf("last refresh:   %s (%s ago)\n", when, span);
	} else
		printf("last refresh:   never\n");
	if (fflush(stdout) != 0 || ferror(stdout)) {
		msg(NULL, "cannot write to stdout: %s", strerror(errno));
		status = EX_IOERR;
		goto out;
	}
	status = 0;
 out:
	tokfile_free(tok);
	target_clear(&t);
	return status;
}

static int
cmd_login(const struct options *opt, int argc, char **argv)
{
	struct target t = { NULL, NULL, 0 };
	int status;

	(void)argc;
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	status = login_run(&opt->login, &opt->net, t.arg, t.path,
	    t.is_account ? t.arg : NULL);
 out:
	target_clear(&t);
	return status;
}

static int
cmd_test(const struct options *opt, int argc, char **argv)
{
	struct mailtest_options mo = opt->test;
	struct target t = { NULL, NULL, 0 };
	struct tokfile *tok = NULL;
	char *abs = NULL, self[PATH_MAX], when[64], span[32];
	ssize_t n;
	int r, status;

	(void)argc;
	if (mo.proto == MAILTEST_NONE) {
		msg(NULL, "test: which server? add --imap, --pop or --smtp HOST[:PORT]");
		return EX_USAGE;
	}
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	if ((r = tokfile_read(t.path, &tok)) != 0) {
		status = report_file_error(&t, r);
		goto out;
	}
	/* The plugin takes a secret that is an absolute path ending in
	 * ".json" as a token file (xoauth2(7)); anything else it would send
	 * as the token. */
	if ((abs = realpath(t.path, NULL)) == NULL) {
		msg(t.arg, "cannot resolve %s: %s", t.path, strerror(errno));
		status = EX_NOINPUT;
		goto out;
	}
	if (strlen(abs) <= strlen("/.json") ||
	    strcmp(abs + strlen(abs) - strlen(".json"), ".json") != 0 ||
	    abs[strlen(abs) - strlen("/.json")] == '/') {
		msg(t.arg, "the plugin takes a password for a token file only "
		    "if it ends in .json, and %s does not; rename it to "
		    "NAME.json", abs);
		status = EX_CONFIG;
		goto out;
	}
	/* If the token is due, the plugin runs a helper to refresh it: this
	 * one, unless told otherwise. */
	if (getenv("XOAUTH2_HELPER") == NULL &&
	    (n = readlink("/proc/self/exe", self, sizeof(self) - 1)) > 0) {
		self[n] = '\0';
		setenv("XOAUTH2_HELPER", self, 0);
	}
	fmt_time(when, sizeof(when), tok->expires_at);
	fmt_span(span, sizeof(span), tok->expires_at - now_s());
	if (tok->expires_at > now_s())
		printf("   access token valid until %s (in %s)\n", when, span);
	else if (tok->expires_at == 0)	/* the plugin's mark */
		printf("   access token rejected by a server earlier: the plugin "
		    "refreshes it first\n");
	else
		printf("   access token expired %s (%s ago): the plugin "
		    "refreshes it first\n", when, span);
	mo.cafile = opt->net.cafile;
	mo.connect_timeout_ms = opt->net.connect_timeout_ms;
	mo.timeout_ms = opt->net.timeout_ms;
	status = mailtest_run(&mo, t.arg, abs, tok->user);
 out:
	free(abs);
	tokfile_free(tok);
	target_clear(&t);
	return status;
}

static int
cmd_list(const struct options *opt, int argc, char **argv)
{
	struct target t;
	struct tokfile *tok;
	char **names = NULL, *dir = NULL, span[32], expiry[64];
	const char *health;
	size_t i, n = 0;
	int64_t now = now_s();
	int r, status = 0;

	(void)opt;
	(void)argc;
	(void)argv;
	if ((r = store_list(&names, &n)) != 0 || (r = store_dir(&dir)) != 0) {
		msg(NULL, "cannot list the token store: %s", store_strerror(r));
		status = r == -ENOMEM ? EX_OSERR : r == STORE_E_NOHOME ?
		    EX_CONFIG : EX_IOERR;
		goto out;
	}
	if (n == 0) {
		msg(NULL, "no accounts in %s; add one with: " PROG " login "
		    "ACCOUNT --provider ... --client-id ...", dir);
		goto out;
	}
	printf("%-16s %-28s %-10s %-24s %s\n", "ACCOUNT", "USER", "PROVIDER",
	    "ACCESS TOKEN", "HEALTH");
	for (i = 0; i < n; i++) {
		if (target_init(&t, names[i]) != 0)
			continue;
		if ((r = tokfile_read(t.path, &tok)) != 0) {
			printf("%-16s %-28s %-10s %-24s unusable: %s\n", names[i],
			    "-", "-", "-", r == TOKFILE_E_PERMS ? "readable by "
			    "others (chmod 600)" : tokfile_strerror(r));
			target_clear(&t);
			continue;
		}
		fmt_span(span, sizeof(span), tok->expires_at - now);
		snprintf(expiry, sizeof(expiry), tok->expires_at > now ?
		    "valid, %s left" : "expired %s ago", span);
		if (tok->refresh_token != NULL)
			health = tok->expires_at > now ? "ok" :
			    "ok (refreshed when next used)";
		else
			health = tok->expires_at > now ? "no refresh token: log "
			    "in again when it expires" : "expired, no refresh "
			    "token: log in again";
		printf("%-16s %-28s %-10s %-24s %s\n", names[i], tok->user,
		    tok->provider != NULL ? tok->provider : "-", expiry, health);
		tokfile_free(tok);
		target_clear(&t);
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		msg(NULL, "cannot write to stdout: %s", strerror(errno));
		status = EX_IOERR;
	}
 out:
	free(dir);
	store_names_free(names);
	return status;
}

/* Under the token file's lock, so that no refresh puts it back. */
static int
logout_locked(struct tokfile *tok, void *arg)
{
	const char *path = arg;
	char tmp[PATH_MAX];

	(void)tok;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (unlink(path) == -1 && errno != ENOENT)
		return -errno;
	(void)unlink(tmp);
	return TOKFILE_UNCHANGED;
}

static int
cmd_logout(const struct options *opt, int argc, char **argv)
{
	struct target t = { NULL, NULL, 0 };
	struct tokfile *tok = NULL;
	char side[PATH_MAX], *provider = NULL;
	struct stat st;
	int r, status;

	(void)opt;
	(void)argc;
	if ((status = target_init(&t, argv[0])) != 0)
		goto out;
	if (lstat(t.path, &st) == -1) {
		status = report_file_error(&t, -errno);
		goto out;
	}
	if (tokfile_read(t.path, &tok) == 0 && tok->provider != NULL)
		provider = strdup(tok->provider);
	tokfile_free(tok);
	/* A file we cannot parse is removed all the same. */
	r = tokfile_update_wait(t.path, 10000, logout_locked, t.path);
	if (r != 0 && r != TOKFILE_E_LOCKED && unlink(t.path) == -1 &&
	    errno != ENOENT)
		r = -errno;
	else if (r != TOKFILE_E_LOCKED)
		r = 0;
	if (r != 0) {
		status = r == TOKFILE_E_LOCKED ? report_file_error(&t, r) :
		    EX_CANTCREAT;
		if (r != TOKFILE_E_LOCKED)
			msg(t.arg, "cannot remove %s: %s", t.path,
			    tokfile_strerror(r));
		goto out;
	}
	snprintf(side, sizeof(side), "%s.tmp", t.path);
	(void)unlink(side);
	snprintf(side, sizeof(side), "%s.lock", t.path);
	(void)unlink(side);
	msg(t.arg, "removed %s", t.path);
	if (provider != NULL && strcmp(provider, "microsoft") == 0)
		msg(t.arg, "the grant stays valid at Microsoft until revoked: "
		    "personal accounts at https://account.live.com/consent/Manage, "
		    "work or school accounts by an administrator (Entra admin "
		    "center: Enterprise applications, the app, Permissions; or "
		    "revoke the user's sign-in sessions)");
	else if (provider != NULL && strcmp(provider, "google") == 0)
		msg(t.arg, "the grant stays valid at Google until revoked at "
		    "https://myaccount.google.com/permissions");
	else
		msg(t.arg, "the grant may stay valid at the provider until you "
		    "revoke it there (look for connected apps or permissions in "
		    "the account's settings)");
	status = 0;
 out:
	free(provider);
	target_clear(&t);
	return status;
}

/* --- main ----------------------------------------------------------------- */

static const struct command *
command_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCOMMANDS; i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

int
main(int argc, char **argv)
{
	enum { O_MARGIN = 256, O_CONNECT, O_TIMEOUT, O_CAFILE,
		O_PROVIDER, O_CLIENT_ID, O_SECRET_FILE, O_TENANT, O_CLOUD, O_FLOW,
		O_SCOPE, O_HINT, O_USER, O_AUTH_EP, O_TOKEN_EP, O_DEVICE_EP,
		O_PORT, O_REDIRECT_HOST, O_WAIT, O_NO_BROWSER, O_NO_QR,
		O_IMAP, O_POP, O_SMTP, O_TLS, O_STARTTLS, O_PLAIN, O_MECH, O_AS,
		O_PLUGIN_DIR };
	static const struct option longopts[] = {
		{ "margin", required_argument, NULL, O_MARGIN },
		{ "connect-timeout", required_argument, NULL, O_CONNECT },
		{ "timeout", required_argument, NULL, O_TIMEOUT },
		{ "cafile", required_argument, NULL, O_CAFILE },
		{ "provider", required_argument, NULL, O_PROVIDER },
		{ "client-id", required_argument, NULL, O_CLIENT_ID },
		{ "client-secret-file", required_argument, NULL, O_SECRET_FILE },
		{ "tenant", required_argument, NULL, O_TENANT },
		{ "cloud", required_argument, NULL, O_CLOUD },
		{ "flow", required_argument, NULL, O_FLOW },
		{ "scope", required_argument, NULL, O_SCOPE },
		{ "login-hint", required_argument, NULL, O_HINT },
		{ "user", required_argument, NULL, O_USER },
		{ "auth-endpoint", required_argument, NULL, O_AUTH_EP },
		{ "token-endpoint", required_argument, NULL, O_TOKEN_EP },
		{ "device-endpoint", required_argument, NULL, O_DEVICE_EP },
		{ "port", required_argument, NULL, O_PORT },
		{ "redirect-host", required_argument, NULL, O_REDIRECT_HOST },
		{ "wait", required_argument, NULL, O_WAIT },
		{ "no-browser", no_argument, NULL, O_NO_BROWSER },
		{ "no-qr", no_argument, NULL, O_NO_QR },
		{ "imap", required_argument, NULL, O_IMAP },
		{ "pop", required_argument, NULL, O_POP },
		{ "smtp", required_argument, NULL, O_SMTP },
		{ "tls", no_argument, NULL, O_TLS },
		{ "starttls", no_argument, NULL, O_STARTTLS },
		{ "plain", no_argument, NULL, O_PLAIN },
		{ "mech", required_argument, NULL, O_MECH },
		{ "as", required_argument, NULL, O_AS },
		{ "plugin-dir", required_argument, NULL, O_PLUGIN_DIR },
		{ "force", no_argument, NULL, 'f' },
		{ "all", no_argument, NULL, 'a' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct command *cmd;
	struct options opt;
	unsigned bit;
	double v;
	int c, nargs, status;

	/* A reader that goes away must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);

	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf(PROG " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
		return 0;
	}
	if ((cmd = command_find(argv[1])) == NULL) {
		msg(NULL, "unknown command '%s'; see " PROG " --help", argv[1]);
		return EX_USAGE;
	}

	/* Long options in full only: getopt would take --client-secret as
	 * --client-secret-file, and a secret typed there must not be used
	 * (nor echoed). */
	for (c = 2; c < argc && strcmp(argv[c], "--") != 0; c++) {
		size_t len;
		int known = 0, i;

		if (strncmp(argv[c], "--", 2) != 0)
			continue;
		len = strcspn(argv[c] + 2, "=");
		for (i = 0; longopts[i].name != NULL; i++)
			if (strlen(longopts[i].name) == len &&
			    strncmp(longopts[i].name, argv[c] + 2, len) == 0)
				known = 1;
		if (!known) {
			msg(NULL, "unknown option --%.*s%s", (int)(len > 40 ? 40 : len),
			    argv[c] + 2, strncmp(argv[c] + 2, "client-secret", 13) == 0 ?
			    "; a secret on the command line is visible to every user "
			    "(ps): put it in a file and use --client-secret-file FILE "
			    "(- for stdin)" : "");
			return EX_USAGE;
		}
	}

	memset(&opt, 0, sizeof(opt));
	opt.margin_s = DEFAULT_MARGIN_S;
	opt.net.connect_timeout_ms = DEFAULT_CONNECT_MS;
	opt.net.timeout_ms = DEFAULT_TIMEOUT_MS;
	/* Options may come before or after the operands (GNU getopt
	 * permutes them); "--" ends the options. */
	argc--;
	argv++;
	optind = 1;
	while ((c = getopt_long(argc, argv, "fahvV", longopts, NULL)) != -1) {
		bit = 0;
		switch (c) {
		case O_MARGIN:
			if (parse_seconds("--margin", optarg, 0, 86400, &v) != 0)
				return EX_USAGE;
			opt.margin_s = (int64_t)v;
			bit = OPT_MARGIN;
			break;
		case O_CONNECT:
			if (parse_seconds("--connect-timeout", optarg, 0.1, 3600, &v) != 0)
				return EX_USAGE;
			opt.net.connect_timeout_ms = (long)(v * 1000);
			bit = OPT_NET;
			break;
		case O_TIMEOUT:
			if (parse_seconds("--timeout", optarg, 0.1, 3600, &v) != 0)
				return EX_USAGE;
			opt.net.timeout_ms = (long)(v * 1000);
			bit = OPT_NET;
			break;
		case O_CAFILE:
			opt.net.cafile = optarg;
			bit = OPT_NET;
			break;
		case O_PROVIDER:
			opt.login.provider = optarg;
			bit = OPT_LOGIN;
			break;
		case O_CLIENT_ID:
			opt.login.client_id = optarg;
			bit = OPT_LOGIN;
			break;
		case O_SECRET_FILE:
			opt.login.client_secret_file = optarg;
			bit = OPT_LOGIN;
			break;
		case O_TENANT:
			opt.login.tenant = optarg;
			bit = OPT_LOGIN;
			break;
		case O_CLOUD:
			opt.login.cloud = optarg;
			bit = OPT_LOGIN;
			break;
		case O_FLOW:
			opt.login.flow = optarg;
			bit = OPT_LOGIN;
			break;
		case O_SCOPE:
			opt.login.scope = optarg;
			bit = OPT_LOGIN;
			break;
		case O_HINT:
			opt.login.login_hint = optarg;
			bit = OPT_LOGIN;
			break;
		case O_USER:
			opt.login.user = optarg;
			bit = OPT_LOGIN;
			break;
		case O_AUTH_EP:
			opt.login.auth_endpoint = optarg;
			bit = OPT_LOGIN;
			break;
		case O_TOKEN_EP:
			opt.login.token_endpoint = optarg;
			bit = OPT_LOGIN;
			break;
		case O_DEVICE_EP:
			opt.login.device_endpoint = optarg;
			bit = OPT_LOGIN;
			break;
		case O_PORT: {
			char *end;
			long port;

			errno = 0;
			port = strtol(optarg, &end, 10);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    port < 1 || port > 65535) {
				msg(NULL, "--port: '%s' is not a port number "
				    "(1-65535)", optarg);
				return EX_USAGE;
			}
			opt.login.port = (int)port;
			}
			bit = OPT_LOGIN;
			break;
		case O_REDIRECT_HOST:
			opt.login.redirect_host = optarg;
			bit = OPT_LOGIN;
			break;
		case O_WAIT:
			if (parse_seconds("--wait", optarg, 1, 3600, &v) != 0)
				return EX_USAGE;
			opt.login.wait_s = (long)v;
			bit = OPT_LOGIN;
			break;
		case O_NO_BROWSER:
			opt.login.no_browser = 1;
			bit = OPT_LOGIN;
			break;
		case O_NO_QR:
			opt.login.no_qr = 1;
			bit = OPT_LOGIN;
			break;
		case O_IMAP:
		case O_POP:
		case O_SMTP:
			if (opt.test.proto != MAILTEST_NONE) {
				msg(NULL, "test: one of --imap, --pop, --smtp");
				return EX_USAGE;
			}
			opt.test.proto = c == O_IMAP ? MAILTEST_IMAP :
			    c == O_POP ? MAILTEST_POP : MAILTEST_SMTP;
			opt.test.server = optarg;
			bit = OPT_TEST;
			break;
		case O_TLS:
		case O_STARTTLS:
		case O_PLAIN:
			if (opt.test.security != MAILTEST_SEC_DEFAULT) {
				msg(NULL, "test: one of --tls, --starttls, --plain");
				return EX_USAGE;
			}
			opt.test.security = c == O_TLS ? MAILTEST_SEC_TLS :
			    c == O_STARTTLS ? MAILTEST_SEC_STARTTLS :
			    MAILTEST_SEC_PLAIN;
			bit = OPT_TEST;
			break;
		case O_MECH:
			opt.test.mech = optarg;
			bit = OPT_TEST;
			break;
		case O_AS:
			opt.test.authzid = optarg;
			bit = OPT_TEST;
			break;
		case O_PLUGIN_DIR:
			opt.test.plugin_dir = optarg;
			bit = OPT_TEST;
			break;
		case 'f':
			opt.force = 1;
			bit = OPT_FORCE;
			break;
		case 'a':
			opt.all = 1;
			bit = OPT_ALL;
			break;
		case 'v':
			opt.verbose = 1;
			bit = OPT_VERBOSE;
			break;
		case 'h':
			printf("usage: " PROG " %s\n  %s\n", cmd->usage, cmd->summary);
			return 0;
		case 'V':
			printf(PROG " (%s) %s\n", PACKAGE_NAME, PACKAGE_VERSION);
			return 0;
		default:
			fprintf(stderr, "usage: " PROG " %s\n", cmd->usage);
			return EX_USAGE;
		}
		if ((cmd->opts & bit) == 0) {
			msg(NULL, "%s: option %s does not apply here",
			    cmd->name, argv[optind - 1]);
			return EX_USAGE;
		}
	}
	nargs = argc - optind;
	if (nargs < cmd->min_args || (cmd->max_args >= 0 && nargs > cmd->max_args)) {
		fprintf(stderr, "usage: " PROG " %s\n", cmd->usage);
		return EX_USAGE;
	}
	status = cmd->run(&opt, nargs, argv + optind);
	if (curl_ready)
		oauth_cleanup();
	return status;
}
