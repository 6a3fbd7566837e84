/*
 * Token-file secrets: a secret that is an absolute path ending in ".json"
 * names a token file (common/tokfile.h) instead of being the bearer token
 * itself.  Postfix
 * cannot run a command to get a password, so the plugin must find a fresh
 * token by itself: it reads the file, and when the access token is about
 * to expire it runs the helper (xoauth2-token refresh FILE), which does
 * the HTTP, takes the file's lock and rewrites it atomically.  The plugin
 * itself never talks to the network.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "tokenfile.h"
#include "tokfile.h"
#include "payload.h"
#include "xo_util.h"
#include "message.h"	/* last: it forbids direct calls to libsasl2's formatters */

/* Refresh 10 min before expiry: Exchange Online's high-volume SMTP
 * endpoint (smtp-hve.office365.com) refuses a token close to its expiry
 * with "501 5.5.127 Token will expire soon". */
#define XO_MARGIN_DEFAULT	600
#define XO_HELPER_TIMEOUT	60	/* xoauth2_helper_timeout (struct helper_clock) */
#define XO_HELPER_GRACE_MS	5000	/* .. at most this between its steps */
#define XO_HELPER_MSG_MAX	1024

/* Reads the SASL option NAME (from the application's getopt callback,
 * e.g. postfix's smtpd.conf-style files) as a string, or NULL. */
static const char *
get_option(const sasl_utils_t *utils, const char *name)
{
	const char *val = NULL;
	unsigned len = 0;

	if (utils->getopt == NULL ||
	    utils->getopt(utils->getopt_context, "XOAUTH2", name, &val,
	    &len) != SASL_OK || val == NULL || *val == '\0')
		return NULL;
	return val;
}

static long
get_number_option(const sasl_utils_t *utils, const char *name, long def,
    long min, long max)
{
	const char *s = get_option(utils, name);
	char shown[XO_MSG_VALUE_MAX];
	char *end;
	long v;

	if (s == NULL)
		return def;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max) {
		xo_msg_log(utils, SASL_LOG_WARN, "XOAUTH2: ignoring "
		    "option %s=%s (not a number from %ld to %ld)", name,
		    xo_msg_value(shown, sizeof(shown), s), min, max);
		return def;
	}
	return v;
}

/* The SASL option xoauth2_token_files: on unless it says no.  A value we
 * do not know turns it off (with a warning): the option exists to keep
 * user-chosen passwords from being opened as files, so a typo must not
 * leave that door open. */
static int
token_files_enabled(const sasl_utils_t *utils)
{
	static const char *const on[] = { "yes", "on", "true", "1" };
	static const char *const off[] = { "no", "off", "false", "0" };
	const char *s = get_option(utils, "xoauth2_token_files");
	char shown[XO_MSG_VALUE_MAX];
	size_t i;

	if (s == NULL)
		return 1;
	for (i = 0; i < sizeof(on) / sizeof(on[0]); i++) {
		if (strcasecmp(s, on[i]) == 0)
			return 1;
		if (strcasecmp(s, off[i]) == 0)
			return 0;
	}
	xo_msg_log(utils, SASL_LOG_WARN, "XOAUTH2: option xoauth2_token_files=%s "
	    "is neither yes nor no; token files are off (passwords are sent "
	    "as tokens) until it says yes", xo_msg_value(shown, sizeof(shown), s));
	return 0;
}

int
xo_is_token_file(const sasl_utils_t *utils, const char *s)
{
	size_t n = strlen(s);

	/* "/" ... "/NAME.json", NAME not empty. */
	if (n < 7 || s[0] != '/' || strcmp(s + n - 5, ".json") != 0 ||
	    s[n - 6] == '/')
		return 0;
	return token_files_enabled(utils);
}

/* The helper to run: the SASL option xoauth2_helper, else (outside
 * setuid/setgid programs) $XOAUTH2_HELPER, else the configured path. */
static const char *
helper_path(const sasl_utils_t *utils)
{
	const char *p;

	if ((p = get_option(utils, "xoauth2_helper")) != NULL)
		return p;
	if ((p = secure_getenv("XOAUTH2_HELPER")) != NULL && *p == '/')
		return p;
	return XO_HELPER_PATH;
}

/* Keeps the first line of what the helper said, made printable. */
static void
first_line(char *msg, size_t size)
{
	size_t n = strcspn(msg, "\n");

	msg[n] = '\0';
	xo_printable(msg, size, msg, n);
}

/* The helper's time, out of xoauth2_helper_timeout (TOTAL_MS, the most
 * the application waits): it is told to be done within LIMIT_MS
 * (--time-limit), which it keeps by itself, giving up in words; if it
 * has not exited GRACE_MS later it gets SIGTERM, on which it stores any
 * answer it has (a rotated refresh token) and exits; GRACE_MS after
 * that, at TOTAL_MS, SIGKILL.  GRACE_MS is a quarter of TOTAL_MS, at
 * most XO_HELPER_GRACE_MS. */
struct helper_clock {
	long	 total_ms, grace_ms, limit_ms;
};

static void
helper_clock_init(struct helper_clock *hc, long timeout_s)
{
	hc->total_ms = timeout_s * 1000;
	hc->grace_ms = hc->total_ms / 4 < XO_HELPER_GRACE_MS ?
	    hc->total_ms / 4 : XO_HELPER_GRACE_MS;
	hc->limit_ms = hc->total_ms - 2 * hc->grace_ms;
}

/* Starts "HELPER refresh --margin N --time-limit L PATH" with a clean
 * environment, no stdin, and stdout and stderr into a new pipe whose
 * reading end is *FDp.  Returns 0, or -1 with MSG saying why. */
static int
spawn_helper(const char *helper, const char *path, long margin,
    const struct helper_clock *hc, pid_t *pidp, int *fdp, char *msg,
    size_t msgsize)
{
	/* execve wants writable strings; these are ours, on the stack. */
	char env_path[] = "PATH=/usr/local/bin:/usr/bin:/bin";
	char env_lc[] = "LC_ALL=C";
	char *const envp[] = { env_path, env_lc, NULL };
	char arg_refresh[] = "refresh", arg_margin[] = "--margin";
	char arg_limit[] = "--time-limit";
	char marginarg[24], limitarg[32];
	char *argv[8];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	char prog[XO_MSG_VALUE_MAX];
	int fds[2] = { -1, -1 }, e;

	*pidp = -1;
	*fdp = -1;
	xo_msg_value(prog, sizeof(prog), helper);
	snprintf(marginarg, sizeof(marginarg), "%ld", margin);
	snprintf(limitarg, sizeof(limitarg), "%ld.%03ld", hc->limit_ms / 1000,
	    hc->limit_ms % 1000);
	argv[0] = (char *)(uintptr_t)helper;
	argv[1] = arg_refresh;
	argv[2] = arg_margin;
	argv[3] = marginarg;
	argv[4] = arg_limit;
	argv[5] = limitarg;
	argv[6] = (char *)(uintptr_t)path;
	argv[7] = NULL;

	if (pipe2(fds, O_CLOEXEC) != 0) {
		snprintf(msg, msgsize, "cannot create a pipe: %s",
		    strerror(errno));
		return -1;
	}
	/* posix_spawn: safe in threaded daemons; the child gets default
	 * signal handling and an empty mask whatever the host set. */
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr,
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	/* Nothing to read, and what it says (stdout or stderr) is only for
	 * our error message.  No /dev/null: a chroot may not have one, and
	 * then the failure would blame the helper. */
	posix_spawn_file_actions_addclose(&fa, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
#ifdef HAVE_POSIX_SPAWN_FILE_ACTIONS_ADDCLOSEFROM_NP
	posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif
	e = posix_spawn(pidp, helper, &fa, &attr, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(fds[1]);
	if (e != 0) {
		snprintf(msg, msgsize, "cannot run %s: %s", prog, strerror(e));
		close(fds[0]);
		*pidp = -1;
		return -1;
	}
	*fdp = fds[0];
	return 0;
}

/* Reads what is there on *FDp into OUT (GOT bytes so far, SIZE in all;
 * the rest is discarded), waiting at most WAIT_MS; at EOF closes *FDp
 * and sets it to -1. */
static void
collect(int *fdp, char *out, size_t size, size_t *got, long wait_ms)
{
	struct pollfd pfd;
	char discard[256];
	ssize_t n;

	pfd.fd = *fdp;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)wait_ms) <= 0 || pfd.revents == 0)
		return;
	if (*got < size - 1)
		n = read(*fdp, out + *got, size - 1 - *got);
	else
		n = read(*fdp, discard, sizeof(discard));
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		close(*fdp);
		*fdp = -1;
		return;
	}
	if (*got < size - 1)
		*got += (size_t)n;
}

/* Collects PID's output on FD (closed here) into OUT until it exits,
 * stopping it as HC says.  Returns how it ended: 0 by itself, SIGTERM
 * or SIGKILL if we sent that; *REAPEDp is 0 if the application reaped
 * it first (a SIGCHLD handler of its own: ECHILD), and *STATUSp its
 * wait status otherwise. */
static int
wait_helper(pid_t pid, int fd, const struct helper_clock *hc, char *out,
    size_t outsize, int *statusp, int *reapedp)
{
	size_t got = 0;
	int64_t now, next, term_at, kill_at;
	pid_t w;
	int sent = 0;

	out[0] = '\0';
	*statusp = 0;
	*reapedp = 1;
	now = xo_now_ms();
	term_at = now + hc->total_ms - hc->grace_ms;
	kill_at = now + hc->total_ms;
	for (;;) {
		w = waitpid(pid, statusp, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			*reapedp = 0;
			break;
		}
		now = xo_now_ms();
		if (sent == 0 && now >= term_at) {
			kill(pid, SIGTERM);
			sent = SIGTERM;
		}
		if (sent == SIGTERM && now >= kill_at) {
			kill(pid, SIGKILL);
			sent = SIGKILL;
			while ((w = waitpid(pid, statusp, 0)) < 0 &&
			    errno == EINTR)
				;
			if (w < 0)
				*reapedp = 0;
			break;
		}
		next = (sent == 0 ? term_at : kill_at) - now;
		if (next < 0)
			next = 0;
		/* Its exit shows as EOF, unless something it started
		 * keeps the pipe open: look again at least every 100 ms. */
		if (fd != -1)
			collect(&fd, out, outsize, &got, next < 100 ? next : 100);
		else
			usleep(10000);
	}
	/* What it said last, if it is there already. */
	while (fd != -1 && got < outsize - 1) {
		size_t before = got;

		collect(&fd, out, outsize, &got, 0);
		if (got == before)
			break;
	}
	if (fd != -1)
		close(fd);
	out[got] = '\0';
	return sent;
}

/* Runs the helper (spawn_helper) for PATH, for at most TIMEOUT seconds
 * (struct helper_clock).  Returns 0 if it exited 0, else -1 with MSG
 * saying why in words. */
static int
run_helper(const sasl_utils_t *utils, const char *helper, const char *path,
    long margin, long timeout, char *msg, size_t msgsize)
{
	struct helper_clock hc;
	char prog[XO_MSG_VALUE_MAX], out[XO_HELPER_MSG_MAX];
	char when[32], grace[32];
	pid_t pid;
	int fd, status, reaped, sent;

	msg[0] = '\0';
	xo_msg_value(prog, sizeof(prog), helper);
	helper_clock_init(&hc, timeout);
	if (spawn_helper(helper, path, margin, &hc, &pid, &fd, msg,
	    msgsize) != 0)
		return -1;
	sent = wait_helper(pid, fd, &hc, out, sizeof(out), &status, &reaped);
	first_line(out, sizeof(out));
	xo_fmt_ms(when, sizeof(when), hc.total_ms - hc.grace_ms);
	xo_fmt_ms(grace, sizeof(grace), hc.grace_ms);
	if (sent == SIGKILL) {
		snprintf(msg, msgsize, "%s did not finish within %s, ignored "
		    "SIGTERM for %s and was killed with SIGKILL "
		    "(xoauth2_helper_timeout=%ld)%s%s", prog, when, grace,
		    timeout, out[0] != '\0' ? "; it said: " : "", out);
		return -1;
	}
	if (!reaped) {
		/* We only know it is gone; the re-read of the file tells
		 * the rest. */
		xo_msg_log(utils, SASL_LOG_DEBUG, "XOAUTH2: helper "
		    "reaped by the application; relying on the token file");
		return 0;
	}
	if (sent == SIGTERM) {
		/* It stored whatever answer it had before it exited. */
		snprintf(msg, msgsize, "%s did not finish within %s and was "
		    "stopped with SIGTERM (xoauth2_helper_timeout=%ld)%s%s",
		    prog, when, timeout, out[0] != '\0' ? "; it said: " : "",
		    out);
		return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (out[0] != '\0')
		snprintf(msg, msgsize, "%s", out);
	else
		snprintf(msg, msgsize, "%s failed (%s %d)", prog,
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
	return -1;
}

/* A file-backed token is worth sending while it has not expired. */
static int
usable(const struct tokfile *tok, time_t now, long margin)
{
	return tok->access_token != NULL && tok->access_token[0] != '\0' &&
	    (int64_t)now + margin < tok->expires_at;
}

static char *
dup_str(const sasl_utils_t *utils, const char *s)
{
	size_t n = strlen(s);
	char *d;

	if ((d = utils->malloc(n + 1)) != NULL)
		memcpy(d, s, n + 1);
	return d;
}

/* What to do about a token file tokfile_read refused (R). */
static const char *
read_hint(int r)
{
	if (r == -ENOENT)
		return " (a chrooted program, such as postfix's smtp with "
		    "chroot=y, looks for it inside the chroot)";
	if (r == -EACCES)
		return " (the file and its directory must be readable, and "
		    "the directory writable, by the user this program runs as)";
	if (r == TOKFILE_E_PERMS)
		return "; only its owner may read it: run chmod 600 ";
	if (r == TOKFILE_E_NOTREG)
		return " (give the path of the file itself, not a symlink)";
	if (r == TOKFILE_E_DIRPERMS)
		return " (anyone who may write there could swap it: run chmod "
		    "go-w on the directory)";
	if (r == TOKFILE_E_DIRLINK)
		return " (give the directory it points to)";
	if (r == TOKFILE_E_JSON || r == TOKFILE_E_VERSION ||
	    TOKFILE_E_IS_MEMBER(r))
		return "; recreate it with xoauth2-token login";
	return "";
}

/* The token endpoint failed a moment ago (the helper recorded it) and
 * TOK's token may still be used (tokfile_stale_usable): every login
 * waiting on the endpoint again helps nobody.  Logs that it is used;
 * returns whether it is. */
static int
backing_off(const sasl_utils_t *utils, const char *mech, const char *file,
    const struct tokfile *tok, time_t now, long margin)
{
	char why[XO_MSG_VALUE_MAX];
	int64_t backoff;

	if (!tokfile_stale_usable(tok, (int64_t)now) ||
	    (backoff = tokfile_backoff(tok, (int64_t)now)) <= 0)
		return 0;
	xo_msg_value(why, sizeof(why), tok->failure != NULL ?
	    tok->failure : "no reason recorded");
	xo_msg_log(utils, SASL_LOG_NOTE, "%s: access token in %s "
	    "expires within %ld s, but refreshing it failed %lld s ago "
	    "(%s); using it, next try in %lld s", mech, file, margin,
	    (long long)(now - tok->failed_at > 0 ? now - tok->failed_at : 0),
	    why, (long long)backoff);
	return 1;
}

/* Runs the helper to refresh the token file at PATH (*TOKp: what it
 * held, replaced by what it holds after), and judges the result: a
 * fresh token, or after a failure one still fit to use
 * (tokfile_stale_usable).  Returns SASL_OK, or SASL_FAIL after an error
 * message that says what to do. */
static int
refresh_file(const sasl_utils_t *utils, const char *mech, const char *path,
    const char *file, long margin, struct tokfile **tokp)
{
	char msg[XO_HELPER_MSG_MAX], prog[XO_MSG_VALUE_MAX], state[64];
	const char *helper = helper_path(utils);
	long timeout = get_number_option(utils, "xoauth2_helper_timeout",
	    XO_HELPER_TIMEOUT, 1, 600);
	time_t now;
	int r;

	xo_msg_value(prog, sizeof(prog), helper);
	xo_msg_log(utils, SASL_LOG_NOTE, "%s: access token in %s "
	    "expires within %ld s; running %s refresh", mech, file, margin,
	    prog);
	r = run_helper(utils, helper, path, margin, timeout, msg, sizeof(msg));
	tokfile_free(*tokp);
	*tokp = NULL;
	if (tokfile_read(path, tokp) != 0) {
		xo_msg_error(utils, 0, "%s: token file %s cannot be read after "
		    "refreshing: %s", mech, file, r != 0 ? msg : "unknown reason");
		return SASL_FAIL;
	}
	now = time(NULL);
	if (r == 0 ? usable(*tokp, now, 0) :
	    tokfile_stale_usable(*tokp, (int64_t)now)) {
		if (r != 0)
			xo_msg_log(utils, SASL_LOG_WARN, "%s: refreshing "
			    "%s failed (%s); its access token is still valid, "
			    "using it", mech, file, msg);
		return SASL_OK;
	}
	if (usable(*tokp, now, 0))
		snprintf(state, sizeof(state), "expires in %lld s, too soon to "
		    "use,", (long long)((*tokp)->expires_at - (int64_t)now));
	else
		snprintf(state, sizeof(state), "has expired");
	if (r != 0 && access(helper, X_OK) != 0)
		xo_msg_error(utils, 0, "%s: the access token in %s %s and the "
		    "helper cannot run here (%s); if this process is chrooted "
		    "(postfix: chroot=y for smtp in master.cf), refresh the "
		    "file from outside on a timer: xoauth2-token refresh "
		    "--margin 1800 CHROOT%s (CHROOT: postconf -h "
		    "queue_directory), or set chroot=n", mech, file, state,
		    msg, file);
	else
		xo_msg_error(utils, 0, "%s: the access token in %s %s and "
		    "refreshing it failed: %s", mech, file, state,
		    r != 0 ? msg : "the helper left it expired");
	return SASL_FAIL;
}

int
xo_token_from_file(const sasl_utils_t *utils, const char *mech,
    const char *path, char **tokenp)
{
	struct tokfile *tok = NULL;
	char file[XO_MSG_VALUE_MAX];
	long margin;
	time_t now;
	int r, ret = SASL_FAIL;

	*tokenp = NULL;
	xo_msg_value(file, sizeof(file), path);
	margin = get_number_option(utils, "xoauth2_refresh_margin",
	    XO_MARGIN_DEFAULT, 0, 86400);
	if ((r = tokfile_read(path, &tok)) != 0) {
		xo_msg_error(utils, 0, "%s: cannot read token file "
		    "%s: %s%s%s", mech, file, tokfile_strerror(r),
		    read_hint(r), r == TOKFILE_E_PERMS ? file : "");
		ret = r == -ENOMEM ? SASL_NOMEM : SASL_FAIL;
		goto out;
	}
	now = time(NULL);
	if (!usable(tok, now, margin) &&
	    !backing_off(utils, mech, file, tok, now, margin) &&
	    (ret = refresh_file(utils, mech, path, file, margin, &tok)) !=
	    SASL_OK)
		goto out;
	if ((*tokenp = dup_str(utils, tok->access_token)) == NULL) {
		xo_msg_error(utils, 0, "%s: out of memory", mech);
		ret = SASL_NOMEM;
		goto out;
	}
	ret = SASL_OK;
 out:
	tokfile_free(tok);
	return ret;
}

static int
mark_stale(struct tokfile *tok, void *arg)
{
	const char *used = arg;

	/* Someone may have refreshed since we read it: leave theirs be. */
	if (tok->access_token == NULL || strcmp(tok->access_token, used) != 0)
		return TOKFILE_UNCHANGED;
	tok->expires_at = 0;
	return 0;
}

void
xo_token_mark_stale(const sasl_utils_t *utils, const char *mech,
    const char *path, const char *token)
{
	char file[XO_MSG_VALUE_MAX];
	int r;

	/* A refresher may hold the lock for its whole HTTP exchange; this
	 * is only a hint, so do not stall the application for it. */
	r = tokfile_update_wait(path, 2000, mark_stale,
	    (void *)(uintptr_t)token);
	xo_msg_value(file, sizeof(file), path);
	if (r != 0 && r != TOKFILE_UNCHANGED)
		xo_msg_log(utils, SASL_LOG_WARN, "%s: cannot mark the "
		    "token in %s as rejected (%s); the next login refreshes it "
		    "only when it expires", mech, file, tokfile_strerror(r));
	else
		xo_msg_log(utils, SASL_LOG_NOTE, "%s: token in %s marked "
		    "stale; the next login refreshes it", mech, file);
}
