/*
 * health: the refresh record in a token file, the notify command, and the
 * verdict of `list' and `status'.  See health.h.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "errors.h"
#include "health.h"
#include "keyring.h"
#include "msg.h"
#include "provider.h"
#include "tokfile.h"
#include "xo_err.h"
#include "xo_util.h"

/* No refresh token: warn this long before the access token expires. */
#define HEALTH_WARN_AHEAD_S	(24 * 3600)

static const struct {
	enum health_class c;
	const char	*name;		/* as stored in failure_class */
	int		 code;		/* errors.h */
} classes[] = {
	{ HEALTH_TEMPORARY, "temporary", XO_E_TEMPFAIL },
	{ HEALTH_LOGIN, "login", XO_E_REFUSED },
	{ HEALTH_CONFIG, "config", XO_E_CONFIG },
};
#define NCLASSES (sizeof(classes) / sizeof(classes[0]))

const char *
health_class_name(enum health_class c)
{
	size_t i;

	for (i = 0; i < NCLASSES; i++)
		if (classes[i].c == c)
			return classes[i].name;
	return "";
}

int
health_class_code(enum health_class c)
{
	size_t i;

	for (i = 0; i < NCLASSES; i++)
		if (classes[i].c == c)
			return classes[i].code;
	return XO_E_TEMPFAIL;
}

enum health_class
health_failing(const struct tokfile *tok)
{
	size_t i;

	if (tok->failures <= 0)
		return HEALTH_NONE;
	for (i = 0; tok->failure_class != NULL && i < NCLASSES; i++)
		if (strcmp(tok->failure_class, classes[i].name) == 0)
			return classes[i].c;
	return HEALTH_TEMPORARY;	/* written by a newer version */
}

int
health_record_failure(struct tokfile *tok, enum health_class c,
    const char *reason, int64_t now, enum health_event *evp)
{
	char text[HEALTH_REASON_MAX + 1];

	*evp = HEALTH_EV_NONE;
	/* A temporary failure (the network, a busy server) says nothing
	 * about the grant or the credentials: a file that needs a login or
	 * a fix still does, for the reason the refusal gave, and its
	 * episode goes on -- no second notice, and its end is still seen.
	 * It counts as a failure all the same (the plugin's back-off). */
	if (c == HEALTH_TEMPORARY && health_failing(tok) != HEALTH_NONE &&
	    health_failing(tok) != HEALTH_TEMPORARY) {
		tok->failed_at = now;
		tok->failures = tok->failures < INT32_MAX ? tok->failures + 1 :
		    tok->failures;
		return 0;
	}
	/* Printable ASCII only: it is shown on terminals and in mail, and
	 * a token file refuses control characters.  Cut, not marked "...":
	 * the input is never longer than the output holds. */
	xo_printable(text, sizeof(text), reason,
	    strnlen(reason, HEALTH_REASON_MAX));
	if (c == HEALTH_LOGIN && health_failing(tok) != HEALTH_LOGIN)
		*evp = HEALTH_EV_NEEDS_LOGIN;
	if (tokfile_set(&tok->failure_class, health_class_name(c)) != 0 ||
	    tokfile_set(&tok->failure, text) != 0) {
		*evp = HEALTH_EV_NONE;
		return -ENOMEM;
	}
	tok->failed_at = now;
	tok->failures = tok->failures < INT32_MAX ? tok->failures + 1 :
	    tok->failures;
	return 0;
}

void
health_record_success(struct tokfile *tok, int64_t now,
    enum health_event *evp)
{
	*evp = health_failing(tok) == HEALTH_LOGIN ? HEALTH_EV_RECOVERED :
	    HEALTH_EV_NONE;
	/* failed_at, failure_class and failure stay: the last failure. */
	tok->failures = 0;
	tok->refreshed_at = now;
}

/* Appends to BUF (SIZE bytes, NUL-terminated) as printf would. */
static void
append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
append(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* Appends S to BUF as one shell word (xo_shell_word). */
static void
append_word(char *buf, size_t size, const char *s)
{
	char word[XO_SHELL_WORD_MAX];

	append(buf, size, "%s", xo_shell_word(word, sizeof(word), s));
}

/* The credentials of TOK's app-only login, as its options. */
static void
fix_app_credentials(const struct tokfile *tok, char *fix, size_t size)
{
	if (tok->service_account_file != NULL) {
		append(fix, size, " --service-account ");
		append_word(fix, size, tok->service_account_file);
		return;
	}
	append(fix, size, " --client-id ");
	append_word(fix, size, tok->client_id);
	if (tok->certificate_file != NULL && tok->private_key_file != NULL) {
		append(fix, size, " --certificate ");
		append_word(fix, size, tok->certificate_file);
		append(fix, size, " --private-key ");
		append_word(fix, size, tok->private_key_file);
	} else if (tok->client_secret_file != NULL) {
		append(fix, size, " --client-secret-file ");
		append_word(fix, size, tok->client_secret_file);
	}
}

void
health_fix_command(const struct tokfile *tok, const char *arg, char *fix,
    size_t size)
{
	int app = tok->grant != NULL;

	fix[0] = '\0';
	append(fix, size, PROG " login ");
	append_word(fix, size, arg);
	/* A service account implies --app-only. */
	if (app && tok->service_account_file == NULL)
		append(fix, size, " --app-only");
	provider_login_options(tok->provider, tok->token_endpoint,
	    app ? tok->scope : NULL, fix, size);
	if (app)
		fix_app_credentials(tok, fix, size);
	else {
		append(fix, size, " --client-id ");
		append_word(fix, size, tok->client_id);
		if (tok->client_secret != NULL)
			append(fix, size, " --client-secret-file FILE");
	}
	append(fix, size, " --user ");
	append_word(fix, size, tok->user);
}

void
health_notify_shown(const struct tokfile *tok, int64_t now, char *text,
    size_t size)
{
	char ago[32];

	if (tok->notify_skipped == NULL)
		return;
	xo_fmt_span(ago, sizeof(ago), now - tok->notify_skipped_at);
	append(text, size, " (notify command skipped %s ago: %s)", ago,
	    tok->notify_skipped);
}

void
health_proxy_shown(const char *proxy, char *buf, size_t size)
{
	const char *host = strstr(proxy, "://"), *at, *end;

	host = host != NULL ? host + 3 : proxy;
	end = host + strcspn(host, "/?#");
	/* user:password@ is left out. */
	for (at = end; at > host && at[-1] != '@'; at--)
		;
	snprintf(buf, size, "%.*s%.*s", (int)(host - proxy), proxy,
	    (int)(end - (at > host ? at : host)), at > host ? at : host);
	if (xo_unsafe_text(buf, strlen(buf)))
		snprintf(buf, size, "(not printable)");
}

enum health_level
health_verdict(const struct tokfile *tok, int64_t now, char *text,
    size_t size)
{
	enum health_class c = health_failing(tok);
	const char *reason = tok->failure != NULL ? tok->failure : "no reason recorded";
	char ago[32], left[32];

	xo_fmt_span(ago, sizeof(ago), now - tok->failed_at);
	xo_fmt_span(left, sizeof(left), tok->expires_at - now);
	switch (c) {
	case HEALTH_LOGIN:
		snprintf(text, size, "needs login (refresh refused %s ago: %s)",
		    ago, reason);
		return HEALTH_CRITICAL;
	case HEALTH_CONFIG:
		snprintf(text, size, "refresh failing: configuration (%" PRId64
		    " times, last %s ago: %s)", tok->failures, ago, reason);
		return HEALTH_CRITICAL;
	case HEALTH_TEMPORARY:
		snprintf(text, size, "refresh failing (%" PRId64 " times, last "
		    "%s ago: %s); access token %s %s", tok->failures, ago,
		    reason, tok->expires_at > now ? "valid for" : "expired",
		    tok->expires_at > now ? left : "");
		/* trailing space when expired: trim it */
		if (text[0] != '\0' && text[strlen(text) - 1] == ' ')
			text[strlen(text) - 1] = '\0';
		return HEALTH_WARNING;
	case HEALTH_NONE:
		break;
	}
	/* App-only files (grant) ask anew each time: no refresh token
	 * needed; a keyring file keeps its own in the keyring. */
	if (tok->refresh_token == NULL && tok->grant == NULL &&
	    !keyring_used(tok)) {
		if (tok->expires_at <= now) {
			snprintf(text, size, "needs login (access token expired "
			    "%s ago, no refresh token)", left);
			return HEALTH_CRITICAL;
		}
		snprintf(text, size, "no refresh token: access token expires "
		    "in %s, then log in again", left);
		return tok->expires_at - now < HEALTH_WARN_AHEAD_S ?
		    HEALTH_WARNING : HEALTH_OK;
	}
	snprintf(text, size, "ok");
	return HEALTH_OK;
}

/* The environment of a notify command for N (see health.h) into ENV
 * (at most NENV - 1 entries and a NULL), built in BUF (SIZE bytes). */
static void
notify_env(const struct health_notice *n, char **env, size_t nenv,
    char *buf, size_t size)
{
	const char *kv[][2] = {
		{ "XOAUTH2_EVENT", n->event == HEALTH_EV_RECOVERED ?
		    "recovered" : "needs-login" },
		{ "XOAUTH2_ACCOUNT", n->account },
		{ "XOAUTH2_USER", n->user },
		{ "XOAUTH2_FILE", n->path },
		{ "XOAUTH2_CLASS", n->event == HEALTH_EV_NEEDS_LOGIN ?
		    "login" : "" },
		{ "XOAUTH2_REASON", n->reason != NULL ? n->reason : "" },
		{ "XOAUTH2_FIX", n->fix != NULL ? n->fix : "" },
		{ "XOAUTH2_HOST", NULL },
		{ "PATH", getenv("PATH") },
		{ "HOME", NULL },
		{ "USER", NULL },
		{ "LOGNAME", NULL },
		{ "LANG", getenv("LANG") },
	};
	char host[256] = "";
	struct passwd *pw = getpwuid(geteuid());
	size_t i, k = 0, used = 0;
	int w;

	(void)gethostname(host, sizeof(host) - 1);
	kv[7][1] = host;
	if (kv[8][1] == NULL)
		kv[8][1] = "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin";
	kv[9][1] = pw != NULL ? pw->pw_dir : "/";
	kv[10][1] = kv[11][1] = pw != NULL ? pw->pw_name : NULL;
	for (i = 0; i < sizeof(kv) / sizeof(kv[0]) && k + 1 < nenv; i++) {
		if (kv[i][1] == NULL)
			continue;
		w = snprintf(buf + used, size - used, "%s=%s", kv[i][0], kv[i][1]);
		if (w < 0 || (size_t)w >= size - used)
			break;
		env[k++] = buf + used;
		used += (size_t)w + 1;
	}
	env[k] = NULL;
}

/* In the child, before the exec: closes every descriptor above stderr.
 * What the caller inherited (root's cron or shell may hold a root-only
 * file open on fd 7) or opened and kept (a socket) is not the owner's
 * command's to read. */
static void
close_inherited(void)
{
#ifdef HAVE_CLOSEFROM
	closefrom(3);
#else
	long fd, max = sysconf(_SC_OPEN_MAX);

	if (max <= 0 || max > 65536)
		max = 65536;
	for (fd = 3; fd < max; fd++)
		(void)close((int)fd);
#endif
}

/* In the child: detach, run COMMAND with N's environment only and no
 * descriptor but stdin, stdout and stderr on /dev/null.  Never
 * returns. */
static void
notify_child(const char *command, const struct health_notice *n)
{
	static char buf[8192];
	char *env[16];
	int fd;

	(void)setsid();
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, 0);
		(void)dup2(fd, 1);
		(void)dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	close_inherited();
	notify_env(n, env, sizeof(env) / sizeof(env[0]), buf, sizeof(buf));
	execle("/bin/sh", "sh", "-c", command, (char *)NULL, env);
	_exit(127);
}

/* What became of the notify command PID, whose waitpid gave W and
 * STATUS: 0 if it exited 0, else a code and ERR. */
static int
notify_status(pid_t pid, pid_t w, int status, struct xo_err *err)
{
	if (w == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (w != pid)
		return xo_err_set(err, XO_E_OSERR, "lost the notify command: "
		    "%s", strerror(errno));
	if (WIFEXITED(status) && WEXITSTATUS(status) == 126)
		return xo_err_set(err, XO_E_CONFIG, "the notify command could "
		    "not be set up (exit status 126)");
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return xo_err_set(err, XO_E_CONFIG, "the notify command was "
		    "not found (exit status 127)");
	if (WIFEXITED(status))
		return xo_err_set(err, XO_E_UNAVAILABLE, "the notify command "
		    "failed (exit status %d)", WEXITSTATUS(status));
	return xo_err_set(err, XO_E_UNAVAILABLE, "the notify command was "
	    "killed by signal %d", WTERMSIG(status));
}

int
health_notify(const char *command, const struct health_notice *n,
    struct xo_err *err)
{
	struct timespec pause = { 0, 10 * 1000000L };
	int64_t deadline;
	const char *env = getenv("XOAUTH2_NOTIFY_TIMEOUT");
	pid_t pid, w;
	int status = 0, limit = HEALTH_NOTIFY_TIMEOUT_S;

	xo_err_clear(err);
	/* For tests and impatient people; the plugin's clean environment
	 * never sets it. */
	if (env != NULL && atoi(env) >= 1 && atoi(env) <= 300)
		limit = atoi(env);
	fflush(NULL);		/* nothing buffered twice */
	if ((pid = fork()) == -1)
		return xo_err_set(err, -errno, "cannot start the notify "
		    "command: %s", strerror(errno));
	if (pid == 0)
		notify_child(command, n);

	deadline = xo_now_ms() + (int64_t)limit * 1000;
	for (;;) {
		w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w == -1 && errno != EINTR))
			break;
		if (xo_now_ms() >= deadline) {
			/* Its whole session: sendmail and whatever it ran. */
			kill(-pid, SIGTERM);
			kill(pid, SIGTERM);
			deadline = xo_now_ms() + 2000;
			while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
			    xo_now_ms() < deadline)
				nanosleep(&pause, NULL);
			kill(-pid, SIGKILL);
			if (w == 0)
				(void)waitpid(pid, &status, 0);
			return xo_err_set(err, XO_E_TEMPFAIL, "the notify "
			    "command did not finish within %d s and was "
			    "stopped", limit);
		}
		nanosleep(&pause, NULL);
	}
	return notify_status(pid, w, status, err);
}

int
health_notify_allowed(uid_t owner, struct xo_err *err)
{
	xo_err_clear(err);
	/* become.h makes this impossible; if it ever is not, the owner's
	 * command must not get root. */
	if (geteuid() != 0 || owner == 0)
		return 0;
	if (owner == (uid_t)-1)
		return xo_err_set(err, XO_E_REFUSED, "not run as root: the "
		    "token file's owner could not be seen under its lock");
	return xo_err_set(err, XO_E_REFUSED, "not run as root: the token "
	    "file belongs to uid %u", (unsigned)owner);
}

int
health_record_notify(struct tokfile *tok, const char *skipped, int64_t now)
{
	char text[HEALTH_REASON_MAX + 1];

	if (skipped == NULL) {
		tok->notify_skipped_at = 0;
		return tokfile_set(&tok->notify_skipped, NULL);
	}
	xo_printable(text, sizeof(text), skipped, strnlen(skipped,
	    HEALTH_REASON_MAX));
	tok->notify_skipped_at = now;
	return tokfile_set(&tok->notify_skipped, text);
}

void
health_announce(const char *command, const struct health_notice *n,
    uid_t owner)
{
	char word[XO_SHELL_WORD_MAX];
	struct xo_err err;

	if (health_notify_allowed(owner, &err) != 0) {
		msg(n->account, "notify command of %s %s; run " PROG " as "
		    "that user", n->path, err.msg);
		return;
	}
	if (health_notify(command, n, &err) == 0)
		return;
	if (health_notify_from_conf())
		msg(n->account, "%s; change it in " HEALTH_NOTIFY_CONF, err.msg);
	else
		msg(n->account, "%s; change it with: " PROG " set %s --notify "
		    "CMD", err.msg, xo_shell_word(word, sizeof(word),
		    n->account));
}

/* Whether UID is the postfix account's (whose files a chrooted smtp can
 * write). */
static int
is_postfix(uid_t uid)
{
	struct passwd *pw = getpwnam("postfix");

	return pw != NULL && pw->pw_uid == uid && uid != 0;
}

int
health_is_postfix(uid_t uid)
{
	return is_postfix(uid);
}

int
health_notify_from_conf(void)
{
	return is_postfix(geteuid());
}

int
health_notify_ignored(const struct tokfile *tok, const char *path)
{
	struct stat st;

	return tok->notify != NULL && lstat(path, &st) == 0 &&
	    is_postfix(st.st_uid);
}

/* The first line of the root-owned file CONF (see health.h) in a new
 * *CMDp; none if it does not exist.  Returns 0, -ENOMEM, or, if CONF is
 * unsafe or cannot be opened, a code with ERR saying so (after a
 * message). */
static int
notify_conf_read(const char *conf, char **cmdp, struct xo_err *err)
{
	char text[4096], word[XO_SHELL_WORD_MAX];
	struct stat st;
	size_t len = 0;
	int fd, r;

	if ((fd = open(conf, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return 0;
		r = xo_err_set(err, -errno, "cannot open %s: %s", conf,
		    strerror(errno));
		msg(NULL, "not running a notify command: %s", err->msg);
		return r;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & 022) != 0 || st.st_nlink != 1) {
		xo_shell_word(word, sizeof(word), conf);
		r = xo_err_set(err, XO_E_REFUSED, "%s must be a regular file "
		    "of root's that nobody else may write", conf);
		msg(NULL, "not running a notify command: %s; run: chown "
		    "root: %s && chmod go-w %s", err->msg, word, word);
		close(fd);
		return r;
	}
	if (xo_read_full(fd, text, sizeof(text) - 1, &len) != 0)
		len = 0;
	close(fd);
	text[len] = '\0';
	text[strcspn(text, "\n")] = '\0';
	if (text[0] == '\0')
		return 0;
	return (*cmdp = strdup(text)) == NULL ? -ENOMEM : 0;
}

int
health_notify_command(const char *member, char **cmdp, struct xo_err *err)
{
	const char *conf = secure_getenv("XOAUTH2_NOTIFY_CONF");

	*cmdp = NULL;
	xo_err_clear(err);
	if (health_notify_from_conf())
		return notify_conf_read(conf != NULL && *conf != '\0' ? conf :
		    HEALTH_NOTIFY_CONF, cmdp, err);
	if (member == NULL)
		return 0;
	return (*cmdp = strdup(member)) == NULL ? -ENOMEM : 0;
}
