/*
 * cmd_common: what every command shares -- turning arguments into token
 * files, reporting token-file failures, the shared options, and the one
 * map from codes to sysexits(3) exit statuses (cmd_exit).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "become.h"
#include "cmd.h"
#include "credfile.h"
#include "errors.h"
#include "keyring.h"
#include "msg.h"
#include "secret.h"
#include "store.h"
#include "tokfile.h"
#include "xo_err.h"
#include "xo_util.h"

/* --- exit statuses -------------------------------------------------------- */

/* Each code's status.  A failure class's row (the first of its status)
 * says in a few words what the status means: --help's "exit status"
 * line is made of them (cmd_exit_help), in this order; neighbours with
 * the same words share them ("70/71 internal"). */
static const struct {
	int		 code;
	int		 status;
	const char	*help;
} exit_map[] = {
	{ XO_E_USAGE, EX_USAGE, "usage" },
	{ XO_E_DATA, EX_DATAERR, "bad token file" },
	{ XO_E_NOINPUT, EX_NOINPUT, "no token file" },
	{ XO_E_NOHOST, EX_NOHOST, "unknown mail host" },
	{ XO_E_UNAVAILABLE, EX_UNAVAILABLE, "server unreachable or misbehaving" },
	{ XO_E_SOFTWARE, EX_SOFTWARE, "internal" },
	{ XO_E_OSERR, EX_OSERR, "internal" },
	{ XO_E_CANTCREAT, EX_CANTCREAT, "cannot write/read" },
	{ XO_E_IO, EX_IOERR, "cannot write/read" },
	{ XO_E_TEMPFAIL, EX_TEMPFAIL, "temporary failure (try again)" },
	{ XO_E_PROTOCOL, EX_PROTOCOL, "protocol error" },
	{ XO_E_REFUSED, EX_NOPERM, "refused: unsafe file, sign-in declined, "
	  "grant or token rejected (log in again)" },
	{ XO_E_CONFIG, EX_CONFIG, "configuration" },
	{ -ENOMEM, EX_OSERR, NULL },
	{ -ENOENT, EX_NOINPUT, NULL },
	{ -EACCES, EX_NOPERM, NULL },
	{ -EPERM, EX_NOPERM, NULL },
	{ TOKFILE_E_PERMS, EX_NOPERM, NULL },
	{ TOKFILE_E_NOTREG, EX_NOPERM, NULL },
	{ TOKFILE_E_LOCKED, EX_TEMPFAIL, NULL },
	{ TOKFILE_E_TOOBIG, EX_DATAERR, NULL },
	{ TOKFILE_E_JSON, EX_DATAERR, NULL },
	{ TOKFILE_E_VERSION, EX_DATAERR, NULL },
	{ STORE_E_NAME, EX_USAGE, NULL },
	{ STORE_E_JSONEXT, EX_USAGE, NULL },
	{ STORE_E_NOHOME, EX_CONFIG, NULL },
	/* A credential file or a systemd credential refused (credfile.h,
	 * secret.h): as an unsafe token file. */
	{ CREDFILE_E_NOTREG, EX_NOPERM, NULL },
	{ CREDFILE_E_OWNER, EX_NOPERM, NULL },
	{ CREDFILE_E_PERMS, EX_NOPERM, NULL },
	/* Where a secret lives (secret.h): the token file or the unit says
	 * something wrong, or nothing, until someone fixes it; a command
	 * that failed or took too long may do better on the next run (a
	 * vault that was unreachable, a keyring still locked). */
	{ SECRET_E_TWO, EX_CONFIG, NULL },
	{ SECRET_E_NONE, EX_CONFIG, NULL },
	{ SECRET_E_NOCREDS, EX_CONFIG, NULL },
	{ SECRET_E_NAME, EX_CONFIG, NULL },
	{ SECRET_E_EXIT, EX_TEMPFAIL, NULL },
	{ SECRET_E_TIMEOUT, EX_TEMPFAIL, NULL },
	{ SECRET_E_EMPTY, EX_CONFIG, NULL },
	{ SECRET_E_TOOBIG, EX_CONFIG, NULL },
	{ SECRET_E_WORDS, EX_CONFIG, NULL },
	{ SECRET_E_COMMAND_REFUSED, EX_CONFIG, NULL },
	/* The desktop keyring (keyring.h): gone from it, log in again; locked
	 * or slow, unlock it and try again; no bus or Secret Service here. */
	{ KEYRING_E_NOTFOUND, EX_NOPERM, NULL },
	{ KEYRING_E_LOCKED, EX_TEMPFAIL, NULL },
	{ KEYRING_E_TIMEOUT, EX_TEMPFAIL, NULL },
	{ KEYRING_E_NOBUS, EX_UNAVAILABLE, NULL },
	{ KEYRING_E_NOSERVICE, EX_UNAVAILABLE, NULL },
	{ KEYRING_E_FAILED, EX_UNAVAILABLE, NULL },
	{ KEYRING_E_NOSUPPORT, EX_UNAVAILABLE, NULL },
};

int
cmd_exit(int r)
{
	size_t i;

	if (r >= 0)
		return r;
	if (TOKFILE_E_IS_MEMBER(r))
		return EX_DATAERR;
	for (i = 0; i < sizeof(exit_map) / sizeof(exit_map[0]); i++)
		if (exit_map[i].code == r)
			return exit_map[i].status;
	return EX_IOERR;	/* any other errno: the system said no */
}

#define EXIT_HELP_WIDTH	70

/* Prints WORD (LEN bytes; '\001' stands for a space that does not
 * break: a status and its first word stay on one line) to F after *COLp
 * columns of the current line, first a space, or a new line if it would
 * not fit in EXIT_HELP_WIDTH. */
static void
put_word(FILE *f, const char *word, size_t len, size_t *colp)
{
	size_t i;

	if (*colp > 0 && *colp + 1 + len > EXIT_HELP_WIDTH) {
		fputc('\n', f);
		*colp = 0;
	} else if (*colp > 0) {
		fputc(' ', f);
		(*colp)++;
	}
	for (i = 0; i < len; i++)
		fputc(word[i] == '\001' ? ' ' : word[i], f);
	*colp += len;
}

void
cmd_exit_help(FILE *f)
{
	const size_t n = sizeof(exit_map) / sizeof(exit_map[0]);
	char text[1024], *w, *end;
	size_t i, j, k, off, col = 0;

	off = (size_t)snprintf(text, sizeof(text), "exit status: 0\001ok");
	for (i = 0; i < n; i = j + 1) {
		j = i;
		if (exit_map[i].help == NULL)
			continue;
		/* The rows right after it with the same words share them. */
		while (j + 1 < n && exit_map[j + 1].help != NULL &&
		    strcmp(exit_map[j + 1].help, exit_map[i].help) == 0)
			j++;
		for (k = i; k <= j && off < sizeof(text); k++)
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    "%s%d", k == i ? ", " : "/", exit_map[k].status);
		if (off < sizeof(text))
			off += (size_t)snprintf(text + off, sizeof(text) - off,
			    "\001%s", exit_map[i].help);
	}
	for (w = text; *w != '\0'; w = *end == ' ' ? end + 1 : end) {
		if ((end = strchr(w, ' ')) == NULL)
			end = w + strlen(w);
		put_word(f, w, (size_t)(end - w), &col);
	}
	fputs(".\n", f);
}

void
cmd_exit_table(FILE *f)
{
	size_t i;

	fprintf(f, "exit 0\n");
	for (i = 0; i < sizeof(exit_map) / sizeof(exit_map[0]); i++)
		if (exit_map[i].help != NULL)
			fprintf(f, "exit %d\n", exit_map[i].status);
}

/* --- arguments ------------------------------------------------------------ */

int
target_init(struct target *t, const char *arg)
{
	int r;

	t->arg = arg;
	t->path = NULL;
	t->file = NULL;
	t->is_account = 0;
	if ((r = store_path(arg, &t->path, &t->is_account)) != 0)
		msg(arg, "%s", store_strerror(r));
	t->file = t->path;
	return r;
}

void
target_clear(struct target *t)
{
	free(t->path);
	t->path = NULL;
	t->file = NULL;
}

struct as_owner {
	const struct target *t;
	int		(*fn)(const struct target *, void *);
	void		*arg;
};

/* become_run's side: FN on a copy of T that works where B says. */
static int
as_owner_run(const struct become *b, void *arg)
{
	const struct as_owner *ao = arg;
	struct target t = *ao->t;

	t.file = b->at;
	return cmd_exit(ao->fn(&t, ao->arg));
}

int
cmd_as_owner(const struct target *t,
    int (*fn)(const struct target *, void *), void *arg)
{
	struct as_owner ao = { t, fn, arg };
	struct become b;
	int r;

	if ((r = become_open(t->path, &b)) != 0) {
		become_close(&b);
		return cmd_exit(cmd_report_file_error(t, r));
	}
#ifdef XO_FRONT
	/* The front would hand a due refresh to the full program from the
	 * child, which works in the file's directory: a relative argument
	 * would then name another file.  The full program becomes the
	 * owner itself, from the start. */
	if (b.drop) {
		become_close(&b);
		return cmd_exit(cmd_run_full());
	}
#endif
	r = become_run(&b, as_owner_run, &ao);
	become_close(&b);
	return cmd_exit(r);
}

int
cmd_on_target(const char *name,
    int (*fn)(const struct target *, void *), void *arg)
{
	struct target t = { NULL, NULL, 0, NULL };
	int status;

	if ((status = target_init(&t, name)) == 0)
		status = cmd_as_owner(&t, fn, arg);
	target_clear(&t);
	return status;
}

int
target_read(struct target *t, const char *arg, struct tokfile **tokp)
{
	int r;

	*tokp = NULL;
	if ((r = target_init(t, arg)) != 0)
		return r;
	if ((r = tokfile_read(t->file, tokp)) != 0)
		return cmd_report_file_error(t, r);
	return 0;
}

int
cmd_parse_seconds(const char *opt, const char *s, double min, double max,
    double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !(v >= min && v <= max)) {
		msg(NULL, "%s: '%s' is not a number of seconds between %g and %g",
		    opt, s, min, max);
		return XO_E_USAGE;
	}
	*out = v;
	return 0;
}

int
cmd_parse_int(const char *opt, const char *s, long min, long max,
    const char *what, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		msg(NULL, "%s: '%s' is not %s (%ld-%ld)", opt, s, what, min, max);
		return XO_E_USAGE;
	}
	*out = v;
	return 0;
}

int
cmd_flush_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		msg(NULL, "cannot write to stdout: %s", strerror(errno));
		return XO_E_IO;
	}
	return 0;
}

/* --- shared options ------------------------------------------------------- */

int
cmd_set_string(struct cmd_args *a, const struct cmd_option *o,
    const char *arg)
{
	*(const char **)(void *)((char *)a + o->offset) = arg;
	return 0;
}

int
cmd_set_flag(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	(void)arg;
	*(int *)(void *)((char *)a + o->offset) = 1;
	return 0;
}

static int
set_margin(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	double v;
	int r;

	(void)o;
	if ((r = cmd_parse_seconds("--margin", arg, 0, 86400, &v)) != 0)
		return r;
	a->margin_s = (int64_t)v;
	return 0;
}

/* --connect-timeout, --timeout: milliseconds at OFFSET. */
static int
set_timeout(struct cmd_args *a, const struct cmd_option *o, const char *arg)
{
	char opt[64];
	double v;
	int r;

	snprintf(opt, sizeof(opt), "--%s", o->name);
	if ((r = cmd_parse_seconds(opt, arg, 0.1, 3600, &v)) != 0)
		return r;
	*(long *)(void *)((char *)a + o->offset) = (long)(v * 1000);
	return 0;
}

const struct cmd_option cmd_opts_net[] = {
	{ "connect-timeout", 0, "SECS", set_timeout,
	  CMD_AT(net.connect_timeout_ms) },
	{ "timeout", 0, "SECS", set_timeout, CMD_AT(net.timeout_ms) },
	CMD_STR("cafile", "FILE", net.cafile),
	CMD_OPT_END
};

/* --time-limit: the command's whole budget, from now (the program has
 * just started).  It bounds the wait for the lock and cuts the HTTP
 * timeouts (refresh.c). */
static int
set_time_limit(struct cmd_args *a, const struct cmd_option *o,
    const char *arg)
{
	double v;
	int r;

	(void)o;
	if ((r = cmd_parse_seconds("--time-limit", arg, 0.1, 86400, &v)) != 0)
		return r;
	a->limit_ms = (long)(v * 1000);
	a->deadline_ms = xo_now_ms() + a->limit_ms;
	return 0;
}

const struct cmd_option cmd_opts_limit[] = {
	{ "time-limit", 0, "SECS", set_time_limit, 0 },
	CMD_OPT_END
};

const struct cmd_option cmd_opts_margin[] = {
	{ "margin", 0, "SECS", set_margin, 0 },
	CMD_OPT_END
};

const struct cmd_option cmd_opts_refresh[] = {
	{ "force", 'f', NULL, cmd_set_flag, CMD_AT(force) },
	{ "all", 'a', NULL, cmd_set_flag, CMD_AT(all) },
	{ "verbose", 'v', NULL, cmd_set_flag, CMD_AT(verbose) },
	CMD_OPT_END
};

/* --- token file failures -------------------------------------------------- */

/* LOCK (whose lstat is ST) belongs to another user: say whose, WHY it
 * is refused, and the chown that fixes it. */
static void
report_foreign_lock(const struct target *t, const char *lock,
    const struct stat *st, const char *why)
{
	char owner[64], me[64], word[XO_SHELL_WORD_MAX];
	struct passwd *pw;

	if ((pw = getpwuid(st->st_uid)) != NULL)
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
	else
		snprintf(owner, sizeof(owner), "uid %u", (unsigned)st->st_uid);
	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(me, sizeof(me), "%s", pw->pw_name);
	else
		snprintf(me, sizeof(me), "%u", (unsigned)geteuid());
	msg(t->arg, "cannot open %s: %s (owner %s, mode %04o); run: chown %s "
	    "%s, or remove it", lock, why, owner,
	    (unsigned)(st->st_mode & 07777), me,
	    xo_shell_word(word, sizeof(word), lock));
}

/* The token file's directory, or its lock file, is one another user
 * could swap names in: say which and how to fix it. */
static int
report_unsafe_place(const struct target *t, int r)
{
	const char *slash = strrchr(t->path, '/');
	int dirlen = slash == NULL ? 1 : slash == t->path ? 1 :
	    (int)(slash - t->path);
	const char *dir = slash == NULL ? "." : t->path;
	char lock[PATH_MAX], dirname[PATH_MAX], word[XO_SHELL_WORD_MAX];
	struct stat st;

	snprintf(dirname, sizeof(dirname), "%.*s", dirlen, dir);
	xo_shell_word(word, sizeof(word), dirname);
	if (r == TOKFILE_E_DIRPERMS)
		msg(t->arg, "refusing %s: its directory %s is writable by "
		    "group or others, who could replace or hold its lock and "
		    "temporary files; run: chmod go-w %s", t->path, dirname,
		    word);
	else if (r == TOKFILE_E_DIROWNER)
		msg(t->arg, "refusing %s: its directory %s belongs to another "
		    "user than the file, who could swap names under root; "
		    "move the file to a directory its owner owns, or run: "
		    "chown %u %s", t->path, dirname,
		    lstat(t->path, &st) == 0 ? (unsigned)st.st_uid : 0u, word);
	else if (r == TOKFILE_E_DIRLINK)
		msg(t->arg, "refusing %s: its directory %s is a symbolic link, "
		    "which its owner could point anywhere; name the directory "
		    "it points to", t->path, dirname);
	else if (snprintf(lock, sizeof(lock), "%s.lock", t->path) <
	    (int)sizeof(lock) && lstat(lock, &st) == 0 && st.st_nlink == 1)
		report_foreign_lock(t, lock, &st, "it belongs to another user");
	else
		msg(t->arg, "refusing %s.lock: it has more than one link or "
		    "belongs to another user, so it is not a lock file "
		    PROG " made; check it, remove it (rm %s) and try "
		    "again", t->path, xo_shell_word(word, sizeof(word), lock));
	return XO_E_REFUSED;
}

/* Reports a failure to read (or lock) T's token file; returns the code
 * to exit with.  Messages name the file unless the user typed its path. */
int
cmd_report_file_error(const struct target *t, int r)
{
	const char *file = t->is_account ? t->path : "the token file";
	char word[XO_SHELL_WORD_MAX];
	struct stat st;

	if (r == -ENOENT) {
		if (t->is_account)
			msg(t->arg, "no token file %s; run: " PROG " login %s",
			    t->path, xo_shell_word(word, sizeof(word), t->arg));
		else
			msg(t->arg, "no such token file");
		return -ENOENT;
	}
	if (r == TOKFILE_E_PERMS) {
		xo_shell_word(word, sizeof(word), t->path);
		if (lstat(t->path, &st) == 0)
			msg(t->arg, "refusing %s: it is accessible by group or "
			    "others (mode %04o); run: chmod 600 %s", file,
			    (unsigned)(st.st_mode & 07777), word);
		else
			msg(t->arg, "refusing %s: it is accessible by group or "
			    "others; run: chmod 600 %s", file, word);
		return TOKFILE_E_PERMS;
	}
	if (r == TOKFILE_E_DIRPERMS || r == TOKFILE_E_DIROWNER ||
	    r == TOKFILE_E_DIRLINK || r == TOKFILE_E_LOCKFILE)
		return report_unsafe_place(t, r);
	if (r == TOKFILE_E_NOTREG) {
		if (lstat(t->path, &st) == 0 && S_ISLNK(st.st_mode))
			msg(t->arg, "refusing %s: it is a symbolic link; name "
			    "the file itself", file);
		else if (lstat(t->path, &st) == 0 && !S_ISREG(st.st_mode))
			msg(t->arg, "refusing %s: not a regular file", file);
		else		/* the lock file is the odd one */
			msg(t->arg, "refusing %s.lock: not a regular file",
			    t->path);
		return r;
	}
	if (r == TOKFILE_E_LOCKED) {
		msg(t->arg, "another " PROG " is still refreshing %s; try "
		    "again later", file);
		return r;
	}
	if (r == -EACCES || r == -EPERM) {
		msg(t->arg, "cannot open %s: %s", t->path, tokfile_strerror(r));
		return r;
	}
	if (r == -ENOMEM) {
		msg(t->arg, "out of memory");
		return r;
	}
	if (r == TOKFILE_E_VERSION) {
		msg(t->arg, "%s was written by a newer version of " PROG
		    "; upgrade", t->is_account ? t->path : "the token file");
		return r;
	}
	if (r == TOKFILE_E_JSON || r == TOKFILE_E_TOOBIG ||
	    TOKFILE_E_IS_MEMBER(r)) {
		msg(t->arg, "%s is not a valid token file (%s)%s%s",
		    t->is_account ? t->path : "this", tokfile_strerror(r),
		    t->is_account ? "; run: " PROG " login " : "",
		    t->is_account ? xo_shell_word(word, sizeof(word), t->arg) :
		    "");
		return r;
	}
	msg(t->arg, "cannot read %s: %s", t->path, tokfile_strerror(r));
	return XO_E_IO;
}

/* Reports a failure of tokfile_update_wait before it called back: taking
 * the lock or reading the file.  The lock file is opened (created if
 * missing) first, so an error the token file would not give is its:
 * name it, not the token file.  Returns the exit status. */
int
cmd_report_update_error(const struct target *t, int r)
{
	char lock[PATH_MAX];
	struct stat st;
	int fd;

	if ((r != -EROFS && r != -EACCES && r != -EPERM && r != -ENOSPC &&
	    r != -EDQUOT) ||
	    snprintf(lock, sizeof(lock), "%s.lock", t->path) >= (int)sizeof(lock))
		return cmd_report_file_error(t, r);
	if (lstat(lock, &st) == -1) {
		if (errno != ENOENT)
			return cmd_report_file_error(t, r);
		msg(t->arg, "cannot create %s: %s", lock, tokfile_strerror(r));
		return XO_E_CANTCREAT;
	}
	fd = open(lock, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY);
	if (fd != -1) {
		close(fd);		/* the lock file is fine */
		return cmd_report_file_error(t, r);
	}
	if (errno != EACCES && errno != EPERM)
		return cmd_report_file_error(t, r);
	report_foreign_lock(t, lock, &st, tokfile_strerror(r));
	return XO_E_REFUSED;
}

/* --- credfile_check's set, commands split (issue 21) ---------------------- */

void
cmd_credfile_set(struct credfile_set *set, const struct tokfile *tok,
    int postfix, struct cmd_programs *p)
{
	struct credfile_command *cmds[2] = { &set->client_secret_command,
	    &set->private_key_passphrase_command };
	struct xo_err err;
	size_t i;

	memset(p, 0, sizeof(*p));
	credfile_set_from(set, tok);
	set->postfix_store = postfix;
	for (i = 0; i < 2; i++)
		if (cmds[i]->command != NULL &&
		    secret_argv_split(cmds[i]->command, &p->argv[i], &err) == 0)
			cmds[i]->program = p->argv[i][0];
}

void
cmd_programs_free(struct cmd_programs *p)
{
	secret_argv_free(p->argv[0]);
	secret_argv_free(p->argv[1]);
	memset(p, 0, sizeof(*p));
}
