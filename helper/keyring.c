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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
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

/* One run of the program: what goes in, how it ended (child.h). */
struct keyring_run {
	const char	*in;		/* the secret for store, or NULL */
	size_t		 inlen;
	int		 r;		/* child_run's code */
	struct child_result res;	/* stdout (a secret), stderr's line */
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

/* Runs the program with VERB and IT's attributes (IT may be NULL) and
 * RUN's input: its own words on stderr, killed at RUN's bound.  Returns
 * 0 (RUN says how it ended), or KEYRING_E_NOSUPPORT (ERR) if there is no
 * program to run. */
static int
keyring_exec(const char *verb, const struct keyring_item *it,
    struct keyring_run *run, struct xo_err *err)
{
	char path[PATH_MAX];
	const char *argv[12];
	struct child_spec spec = { .path = path, .in = run->in,
	    .inlen = run->inlen, .out_fd = -1, .out_max = KEYRING_SECRET_MAX,
	    .timeout_ms = run->timeout_ms, .err_mode = CHILD_STDERR_LINE };
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
	spec.argv = (char *const *)argv;
	run->r = child_run(&spec, &run->res, NULL);
	return 0;
}

/* Words for a run that did not end by itself (R: child_run's code). */
static int
keyring_failed(const struct keyring_run *run, const char *what,
    struct xo_err *err)
{
	char limit[32];
	int e = run->res.exec_errno;

	xo_fmt_ms(limit, sizeof(limit), run->timeout_ms);
	switch (run->r) {
	case CHILD_E_TIMEOUT:
		return xo_err_set(err, KEYRING_E_TIMEOUT, "cannot %s the "
		    "desktop keyring: no answer within %s (stopped "
		    KEYRING_PROG "); if it is waiting for a password, "
		    KEYRING_UNLOCK, what, limit);
	case CHILD_E_EXEC:
		return xo_err_set(err, KEYRING_E_NOSUPPORT, "cannot %s the "
		    "desktop keyring: " KEYRING_PROG " could not be run (%s)",
		    what, strerror(e < 0 ? -e : e));
	case CHILD_E_TOOBIG:
		return xo_err_set(err, KEYRING_E_FAILED, "cannot %s the desktop "
		    "keyring: " KEYRING_PROG " printed more than %d bytes and "
		    "was killed", what, KEYRING_SECRET_MAX);
	}
	return xo_err_set(err, XO_E_OSERR, "cannot run " KEYRING_PROG " to %s "
	    "the desktop keyring: %s", what, xo_errno_text(run->r));
}

/* Words for how RUN ended (WHAT: "store the refresh token in", ...).
 * Returns 0 or the KEYRING_E_* code (ERR). */
static int
keyring_outcome(const struct keyring_run *run, const char *what,
    struct xo_err *err)
{
	int st = run->res.status, status;

	if (run->r != 0)
		return keyring_failed(run, what, err);
	status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	switch (status) {
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
	    "keyring: %s", what, run->res.errtext[0] != '\0' ?
	    run->res.errtext : status == -1 ? KEYRING_PROG " was killed" :
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
	child_result_clear(&run->res);
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
	if (run.res.out_len == 0 ||
	    memchr(run.res.out, '\0', run.res.out_len) != NULL) {
		r = xo_err_set(err, KEYRING_E_FAILED, "the refresh token in "
		    "the desktop keyring is empty or not text; log in again");
		goto out;
	}
	*secretp = run.res.out;		/* NUL-terminated by child_run */
	run.res.out = NULL;
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
