/*
 * keyring: runs xoauth2-keyring (keyring_prog.c) for the front and the
 * full program, with libc only: see keyring.h for why a child, and the
 * protocol.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "keyring.h"
#include "msg.h"
#include "tokfile.h"
#include "xo_err.h"
#include "xo_util.h"

#ifndef XO_KEYRING_PATH
#define XO_KEYRING_PATH	"/usr/libexec/xoauth2/" KEYRING_PROG
#endif
#define KEYRING_REL	"libexec/xoauth2/" KEYRING_PROG

/* What the unlock advice says, once. */
#define KEYRING_UNLOCK	"unlock the \"login\" keyring (log in to the " \
	"desktop session, or unlock it in seahorse, or run " \
	"gnome-keyring-daemon --unlock with its password on stdin) and try " \
	"again"

/* One run of the program: what goes in, what came out. */
struct keyring_run {
	const char	*in;		/* the secret for store, or NULL */
	size_t		 inlen;
	char		*out;		/* stdout (a secret), KEYRING_SECRET_MAX */
	size_t		 outlen;
	char		 errtext[256];	/* stderr's first line */
	size_t		 errlen;
	int		 status;	/* exit status, or -1 if killed */
	int		 timed_out;
	int		 timeout_ms;	/* the bound of this run */
};

int
keyring_used(const struct tokfile *tok)
{
	return tok != NULL && tok->refresh_token_store != NULL &&
	    strcmp(tok->refresh_token_store, "keyring") == 0;
}

int
keyring_item_from(struct keyring_item *it, const struct tokfile *tok,
    const char *path, char *buf, size_t size, struct xo_err *err)
{
	const char *base = strrchr(path, '/');
	size_t len;

	memset(it, 0, sizeof(*it));
	base = base == NULL ? path : base + 1;
	len = strlen(base);
	if (len > 5 && strcmp(base + len - 5, ".json") == 0)
		len -= 5;
	snprintf(buf, size, "%.*s", (int)len, base);
	if (tok->user == NULL || tok->client_id == NULL ||
	    tok->token_endpoint == NULL)
		return xo_err_set(err, XO_E_DATA, "%s has no %s, which names "
		    "its refresh token in the desktop keyring; log in again",
		    path, tok->user == NULL ? "user" : tok->client_id == NULL ?
		    "client_id" : "token_endpoint");
	it->user = tok->user;
	it->client_id = tok->client_id;
	it->token_endpoint = tok->token_endpoint;
	it->account = buf;
	return 0;
}

/* Finds the program into PATH (PATH_MAX bytes): beside this program (a
 * build tree, or the full program in $(pkglibexecdir)), in
 * ../KEYRING_REL from its directory (the front in $(bindir)), or at the
 * configured place.  Returns 0 or KEYRING_E_NOSUPPORT (ERR). */
static int
keyring_find(char *path, struct xo_err *err)
{
	char self[PATH_MAX], *slash;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0 && (size_t)n < sizeof(self) - 1 && self[0] == '/') {
		self[n] = '\0';
		*strrchr(self, '/') = '\0';
		if (snprintf(path, PATH_MAX, "%s/" KEYRING_PROG, self) <
		    PATH_MAX && access(path, X_OK) == 0)
			return 0;
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';
		if (snprintf(path, PATH_MAX, "%s/" KEYRING_REL, self) <
		    PATH_MAX && access(path, X_OK) == 0)
			return 0;
	}
	snprintf(path, PATH_MAX, "%s", XO_KEYRING_PATH);
	if (access(path, X_OK) == 0)
		return 0;
#ifdef HAVE_LIBSECRET
	return xo_err_set(err, KEYRING_E_NOSUPPORT, "cannot run %s (%s), "
	    "which reaches the desktop keyring: install it (Debian: the "
	    "xoauth2-token-keyring package; from source: make install), or "
	    "log in without --keyring", path, strerror(errno));
#else
	return xo_err_set(err, KEYRING_E_NOSUPPORT, "this build of " PROG
	    " has no desktop keyring support (built without libsecret: "
	    "install libsecret-1-dev and configure again); log in without "
	    "--keyring");
#endif
}

/* How long a run may take, in ms: WANT if it is shorter (0: no wish). */
static int
keyring_timeout_ms(int want)
{
	const char *env = getenv("XOAUTH2_KEYRING_TIMEOUT");
	long s = env != NULL ? strtol(env, NULL, 10) : 0;

	if (s < 1 || s > 60)
		s = KEYRING_TIMEOUT;
	return want > 0 && want < s * 1000 ? want : (int)s * 1000;
}

/* The child's side: pipes onto 0, 1, 2, then exec. */
static void
keyring_child(const char *path, const char **argv, int in, int out, int errfd)
{
	if (dup2(in, 0) == -1 || dup2(out, 1) == -1 || dup2(errfd, 2) == -1)
		_exit(127);
#ifdef HAVE_CLOSEFROM
	closefrom(3);
#endif
	signal(SIGPIPE, SIG_DFL);
	execv(path, (char *const *)argv);
	_exit(127);
}

/* Moves what is ready between RUN and the pipes FDS (stdin, stdout,
 * stderr; -1 once closed).  Returns 0, or -1 if stdout overflowed. */
static int
keyring_pump(struct keyring_run *run, struct pollfd *pfd, size_t *sent)
{
	ssize_t n;

	if (pfd[0].fd != -1 && (pfd[0].revents & (POLLOUT | POLLERR))) {
		n = write(pfd[0].fd, run->in + *sent, run->inlen - *sent);
		if (n > 0)
			*sent += (size_t)n;
		if (n < 0 || *sent == run->inlen) {
			close(pfd[0].fd);
			pfd[0].fd = -1;
		}
	}
	if (pfd[1].fd != -1 && (pfd[1].revents & (POLLIN | POLLHUP))) {
		n = read(pfd[1].fd, run->out + run->outlen,
		    KEYRING_SECRET_MAX + 1 - run->outlen);
		if (n > 0 && (run->outlen += (size_t)n) > KEYRING_SECRET_MAX)
			return -1;
		if (n == 0 || (n < 0 && errno != EINTR)) {
			close(pfd[1].fd);
			pfd[1].fd = -1;
		}
	}
	if (pfd[2].fd != -1 && (pfd[2].revents & (POLLIN | POLLHUP))) {
		n = read(pfd[2].fd, run->errtext + run->errlen,
		    sizeof(run->errtext) - 1 - run->errlen);
		if (n > 0)
			run->errlen += (size_t)n;
		if (n <= 0 && !(n < 0 && errno == EINTR)) {
			close(pfd[2].fd);
			pfd[2].fd = -1;
		}
	}
	return 0;
}

/* Feeds and reads the child PID through PFD until both output pipes
 * close, the deadline passes or stdout overflows; then kills it if it
 * still runs, and reaps it.  Fills RUN's status. */
static void
keyring_talk(struct keyring_run *run, pid_t pid, struct pollfd *pfd)
{
	int64_t deadline = xo_now_ms() + run->timeout_ms, left;
	size_t sent = 0;
	int i, wstatus = 0, reaped = 0, overflow = 0;
	pid_t w;

	while (pfd[1].fd != -1 || pfd[2].fd != -1) {
		if ((left = deadline - xo_now_ms()) <= 0) {
			run->timed_out = 1;
			break;
		}
		if (poll(pfd, 3, (int)left) == -1 && errno != EINTR)
			break;
		if ((overflow = keyring_pump(run, pfd, &sent)) != 0)
			break;
	}
	for (i = 0; i < 3; i++)
		if (pfd[i].fd != -1)
			close(pfd[i].fd);
	/* Its pipes closed as it exits: give it until the deadline. */
	while (!run->timed_out && !overflow && !reaped) {
		if ((w = waitpid(pid, &wstatus, WNOHANG)) == pid)
			reaped = 1;
		else if (w == -1 && errno != EINTR)
			break;
		else if (xo_now_ms() >= deadline)
			run->timed_out = 1;
		else
			(void)poll(NULL, 0, 5);
	}
	if (!reaped) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &wstatus, 0) == -1 && errno == EINTR)
			;
	}
	run->status = reaped && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) :
	    -1;
}

/* Runs the program with VERB and IT's attributes (IT may be NULL) and
 * RUN's input.  Returns 0 (RUN says how it ended), or a negative code
 * (ERR) if it could not run. */
static int
keyring_exec(const char *verb, const struct keyring_item *it,
    struct keyring_run *run, struct xo_err *err)
{
	char path[PATH_MAX];
	const char *argv[12];
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 };
	struct pollfd pfd[3];
	struct sigaction ign, old;
	pid_t pid;
	int r, i = 0;

	if ((r = keyring_find(path, err)) != 0)
		return r;
	argv[i++] = path;
	argv[i++] = verb;
	if (it != NULL) {
		argv[i++] = "user";
		argv[i++] = it->user;
		argv[i++] = "client_id";
		argv[i++] = it->client_id;
		argv[i++] = "token_endpoint";
		argv[i++] = it->token_endpoint;
		argv[i++] = "account";
		argv[i++] = it->account;
	}
	argv[i] = NULL;
	if ((run->out = malloc(KEYRING_SECRET_MAX + 1)) == NULL)
		return xo_err_set(err, -ENOMEM, "out of memory");
	if (pipe2(in, O_CLOEXEC) == -1 || pipe2(out, O_CLOEXEC) == -1 ||
	    pipe2(er, O_CLOEXEC) == -1) {
		r = xo_err_set(err, XO_E_OSERR, "cannot make a pipe to %s: %s",
		    path, strerror(errno));
		goto out;
	}
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &ign, &old);
	if ((pid = fork()) == -1) {
		r = xo_err_set(err, XO_E_OSERR, "cannot run %s: %s", path,
		    strerror(errno));
		sigaction(SIGPIPE, &old, NULL);
		goto out;
	}
	if (pid == 0)
		keyring_child(path, argv, in[0], out[1], er[1]);
	close(in[0]);
	close(out[1]);
	close(er[1]);
	in[0] = out[1] = er[1] = -1;
	if (run->in == NULL) {
		close(in[1]);
		in[1] = -1;
	}
	pfd[0] = (struct pollfd){ in[1], POLLOUT, 0 };
	pfd[1] = (struct pollfd){ out[0], POLLIN, 0 };
	pfd[2] = (struct pollfd){ er[0], POLLIN, 0 };
	in[1] = out[0] = er[0] = -1;	/* keyring_talk closes them */
	keyring_talk(run, pid, pfd);
	sigaction(SIGPIPE, &old, NULL);
	run->errtext[run->errlen] = '\0';
	run->errtext[strcspn(run->errtext, "\r\n")] = '\0';
	r = 0;
 out:
	for (i = 0; i < 2; i++) {
		if (in[i] != -1)
			close(in[i]);
		if (out[i] != -1)
			close(out[i]);
		if (er[i] != -1)
			close(er[i]);
	}
	return r;
}

/* Words for how RUN ended (WHAT: "store the refresh token in", ...).
 * Returns 0 or the KEYRING_E_* code (ERR). */
static int
keyring_outcome(const struct keyring_run *run, const char *what,
    struct xo_err *err)
{
	char limit[32];

	xo_fmt_ms(limit, sizeof(limit), run->timeout_ms);
	if (run->timed_out)
		return xo_err_set(err, KEYRING_E_TIMEOUT, "cannot %s the "
		    "desktop keyring: no answer within %s (stopped "
		    KEYRING_PROG "); if it is waiting for a password, "
		    KEYRING_UNLOCK, what, limit);
	switch (run->status) {
	case KEYRING_EXIT_OK:
		return 0;
	case KEYRING_EXIT_NOTFOUND:
		return xo_err_set(err, KEYRING_E_NOTFOUND, "cannot %s the "
		    "desktop keyring: it holds no such refresh token (was it "
		    "removed?)", what);
	case KEYRING_EXIT_LOCKED:
		return xo_err_set(err, KEYRING_E_LOCKED, "cannot %s the "
		    "desktop keyring: it is locked; " KEYRING_UNLOCK, what);
	case KEYRING_EXIT_NOBUS:
		return xo_err_set(err, KEYRING_E_NOBUS, "cannot %s the "
		    "desktop keyring: there is no D-Bus session bus here "
		    "(DBUS_SESSION_BUS_ADDRESS is unset and there is no "
		    "$XDG_RUNTIME_DIR/bus, nor /run/user/UID/bus); run this "
		    "inside your desktop "
		    "session (or start a session bus: dbus-run-session), or "
		    "log in again without --keyring", what);
	case KEYRING_EXIT_NOSERVICE:
		return xo_err_set(err, KEYRING_E_NOSERVICE, "cannot %s the "
		    "desktop keyring: no Secret Service on the session bus "
		    "(nothing provides org.freedesktop.secrets); start "
		    "gnome-keyring-daemon (or KWallet, KeePassXC), or log in "
		    "again without --keyring", what);
	case 127:
		return xo_err_set(err, KEYRING_E_NOSUPPORT, "cannot %s the "
		    "desktop keyring: " KEYRING_PROG " could not be run",
		    what);
	}
	return xo_err_set(err, KEYRING_E_FAILED, "cannot %s the desktop "
	    "keyring: %s", what, run->errtext[0] != '\0' ? run->errtext :
	    run->status == -1 ? KEYRING_PROG " was killed" :
	    "the Secret Service failed");
}

/* Runs VERB for IT with IN (LEN bytes, or NULL); *RUN keeps stdout.
 * Returns 0 or a negative code (ERR). */
static int
keyring_do(const char *verb, const struct keyring_item *it, const char *in,
    size_t len, const char *what, struct keyring_run *run,
    struct xo_err *err)
{
	int r, timeout_ms = run->timeout_ms;

	memset(run, 0, sizeof(*run));
	run->timeout_ms = keyring_timeout_ms(timeout_ms);
	run->in = in;
	run->inlen = len;
	if ((r = keyring_exec(verb, it, run, err)) != 0)
		return r;
	return keyring_outcome(run, what, err);
}

static void
keyring_run_clear(struct keyring_run *run)
{
	if (run->out != NULL)
		xo_freezero(run->out, KEYRING_SECRET_MAX + 1);
	run->out = NULL;
}

int
keyring_probe(struct xo_err *err)
{
	struct keyring_run run = { .timeout_ms = 0 };
	int r;

	r = keyring_do("probe", NULL, NULL, 0, "reach", &run, err);
	keyring_run_clear(&run);
	return r;
}

int
keyring_store(const struct keyring_item *it, const char *secret, size_t len,
    int timeout_ms, struct xo_err *err)
{
	struct keyring_run run = { .timeout_ms = timeout_ms };
	int r;

	r = keyring_do("store", it, secret, len, "store the refresh token in",
	    &run, err);
	keyring_run_clear(&run);
	return r;
}

int
keyring_lookup(const struct keyring_item *it, char **secretp,
    struct xo_err *err)
{
	struct keyring_run run = { .timeout_ms = 0 };
	int r;

	*secretp = NULL;
	if ((r = keyring_do("lookup", it, NULL, 0, "read the refresh token "
	    "from", &run, err)) != 0)
		goto out;
	if (run.outlen == 0 || run.outlen > KEYRING_SECRET_MAX ||
	    memchr(run.out, '\0', run.outlen) != NULL) {
		r = xo_err_set(err, KEYRING_E_FAILED, "the refresh token in "
		    "the desktop keyring is empty or not text; log in again");
		goto out;
	}
	run.out[run.outlen] = '\0';
	*secretp = run.out;
	run.out = NULL;
 out:
	keyring_run_clear(&run);
	return r;
}

int
keyring_clear(const struct keyring_item *it, struct xo_err *err)
{
	struct keyring_run run = { .timeout_ms = 0 };
	int r;

	r = keyring_do("clear", it, NULL, 0, "remove the refresh token from",
	    &run, err);
	keyring_run_clear(&run);
	return r;
}

const char *
keyring_clear_command(const struct keyring_item *it, char *buf, size_t size)
{
	char w[4][XO_SHELL_WORD_MAX];

	snprintf(buf, size, "secret-tool clear xdg:schema " KEYRING_SCHEMA
	    " user %s client_id %s token_endpoint %s account %s",
	    xo_shell_word(w[0], sizeof(w[0]), it->user),
	    xo_shell_word(w[1], sizeof(w[1]), it->client_id),
	    xo_shell_word(w[2], sizeof(w[2]), it->token_endpoint),
	    xo_shell_word(w[3], sizeof(w[3]), it->account));
	return buf;
}
