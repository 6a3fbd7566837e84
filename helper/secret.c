/*
 * secret: where a long-lived secret lives, and reading it from there.
 * See secret.h.  Only libc: the front (show, status) describes secrets
 * with secret_where and secret_describe.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "credfile.h"
#include "errors.h"
#include "secret.h"
#include "stop.h"
#include "tokfile.h"
#include "xo_err.h"
#include "xo_util.h"

#define NO_MEMBER	((size_t)-1)
#define MEMBER(name)	{ #name, offsetof(struct tokfile, name) }
#define NO_SOURCE	{ NULL, NO_MEMBER }

/* Each secret, and the token file members that may say where it is:
 * indexed by enum secret_kind - 1 (file, credential, command). */
static const struct where_row {
	enum secret_slot slot;
	const char	*label;
	int		 text;		/* one line of text; else PEM/JSON */
	struct {
		const char	*name;
		size_t		 offset;
	} member[3];
} where_rows[] = {
	{ SECRET_CLIENT_SECRET, "client secret", 1, {
	    MEMBER(client_secret_file), MEMBER(client_secret_credential),
	    MEMBER(client_secret_command) } },
	{ SECRET_PRIVATE_KEY, "private key", 0, {
	    MEMBER(private_key_file), MEMBER(private_key_credential),
	    NO_SOURCE } },
	{ SECRET_KEY_PASSPHRASE, "private key's passphrase", 1, {
	    MEMBER(private_key_passphrase_file),
	    MEMBER(private_key_passphrase_credential),
	    MEMBER(private_key_passphrase_command) } },
	{ SECRET_SERVICE_ACCOUNT, "service account key", 0, {
	    MEMBER(service_account_file), MEMBER(service_account_credential),
	    NO_SOURCE } },
};

#define NROWS	(sizeof(where_rows) / sizeof(where_rows[0]))

static const struct where_row *
row_of(enum secret_slot slot)
{
	size_t i;

	for (i = 0; i < NROWS; i++)
		if (where_rows[i].slot == slot)
			return &where_rows[i];
	return NULL;
}

int
secret_where(const struct tokfile *tok, enum secret_slot slot,
    struct secret_src *src, struct xo_err *err)
{
	const struct where_row *row = row_of(slot);
	const char *value;
	size_t k;

	memset(src, 0, sizeof(*src));
	src->slot = slot;
	src->kind = SECRET_NOWHERE;
	if (row == NULL)
		return xo_err_set(err, XO_E_SOFTWARE, "no such secret (%d)",
		    (int)slot);
	src->label = row->label;
	for (k = 0; k < 3; k++) {
		if (row->member[k].offset == NO_MEMBER)
			continue;
		memcpy(&value, (const char *)tok + row->member[k].offset,
		    sizeof(value));
		if (value == NULL)
			continue;
		if (src->kind != SECRET_NOWHERE)
			return xo_err_set(err, SECRET_E_TWO, "the token file "
			    "names two places for the %s, %s and %s, and "
			    "which one is meant is not for us to guess; remove "
			    "one of them from the token file",
			    row->label, src->member, row->member[k].name);
		src->kind = (enum secret_kind)(k + 1);
		src->value = value;
		src->member = row->member[k].name;
	}
	return 0;
}

int
secret_set(struct tokfile *tok, enum secret_slot slot, enum secret_kind kind,
    const char *value)
{
	const struct where_row *row = row_of(slot);
	char **field;
	size_t k;

	if (row == NULL || (kind != SECRET_NOWHERE &&
	    row->member[kind - 1].offset == NO_MEMBER))
		return XO_E_SOFTWARE;
	for (k = 0; k < 3; k++) {
		if (row->member[k].offset == NO_MEMBER)
			continue;
		field = (char **)(void *)((char *)tok + row->member[k].offset);
		if (tokfile_set(field, k + 1 == (size_t)kind ? value :
		    NULL) != 0)
			return -ENOMEM;
	}
	return 0;
}

void
secret_clear(struct secret *out)
{
	if (out == NULL)
		return;
	xo_freezero(out->data, out->len);
	out->data = NULL;
	out->len = 0;
}

/* --- words ---------------------------------------------------------------- */

/* A split in progress: the words go one after the other, each
 * NUL-terminated, into BUF (argv[0] is BUF, so that freeing argv[0]
 * frees them all); WORDS points at each. */
struct split {
	const char	*p;		/* the next byte of the command */
	char		*buf, *w;	/* all words; the end of the last */
	char		**words;
	size_t		 n;
	int		 inword;	/* a word has begun (even '') */
};

#define SHELL_OPERATORS	"|&;<>()$`\n"
#define SHELL_EXPANDS	"*?["

/* The refusal of COMMAND at the byte P, for WHY.  The command is not
 * repeated: it may carry a credential of its own (a vault token). */
static int
split_refuse(struct xo_err *err, const char *command, const char *p,
    const char *why)
{
	return xo_err_set(err, SECRET_E_WORDS, "the command does not split "
	    "into words at byte %zu: %s; it is run without a shell, so write "
	    "a small script that does what you need and name that script as "
	    "the command (or quote the character if you mean it literally)",
	    (size_t)(p - command) + 1, why);
}

/* Ends the current word, if one has begun. */
static void
split_end_word(struct split *s)
{
	if (!s->inword)
		return;
	*s->w++ = '\0';
	s->inword = 0;
}

/* Reads a "..." whose opening quote was at S->p - 1.  Returns 0, or a
 * refusal (an open quote, a $ or ` the shell would expand). */
static int
split_double(struct split *s, const char *command, struct xo_err *err)
{
	for (;; s->p++) {
		if (*s->p == '\0')
			return split_refuse(err, command, s->p,
			    "a \" is never closed");
		if (*s->p == '"') {
			s->p++;
			return 0;
		}
		if (*s->p == '$' || *s->p == '`')
			return split_refuse(err, command, s->p, "a shell would "
			    "expand the $ or ` inside \"...\" (escape it as "
			    "\\$ or put the word in '...')");
		if (*s->p == '\\' && s->p[1] != '\0' &&
		    strchr("\\\"$`", s->p[1]) != NULL)
			s->p++;
		else if (*s->p == '\\' && s->p[1] == '\n') {
			s->p++;
			continue;
		}
		*s->w++ = *s->p;
	}
}

/* Reads one byte (or a quoted run) at S->p outside quotes. */
static int
split_step(struct split *s, const char *command, struct xo_err *err)
{
	const char *q;
	char c = *s->p;

	if (c == ' ' || c == '\t') {
		split_end_word(s);
		s->p++;
		return 0;
	}
	if (c == '\\' && s->p[1] == '\n') {	/* a continued line */
		s->p += 2;
		return 0;
	}
	if (!s->inword) {
		s->words[s->n++] = s->w;
		s->inword = 1;
		if (c == '#' || c == '~')
			return split_refuse(err, command, s->p, c == '#' ?
			    "a shell would read a word that begins with # as "
			    "a comment" : "a shell would expand ~ to a home "
			    "directory; write the full path");
	}
	if (strchr(SHELL_OPERATORS, c) != NULL)
		return split_refuse(err, command, s->p, c == '\n' ? "it holds "
		    "a new line, which a shell reads as a second command" :
		    "it holds a shell operator or expansion (| & ; < > ( ) $ "
		    "`) outside quotes");
	if (strchr(SHELL_EXPANDS, c) != NULL)
		return split_refuse(err, command, s->p, "a shell would expand "
		    "a * ? or [ outside quotes to file names");
	if (c == '\'') {
		if ((q = strchr(s->p + 1, '\'')) == NULL)
			return split_refuse(err, command, s->p,
			    "a ' is never closed");
		memcpy(s->w, s->p + 1, (size_t)(q - s->p - 1));
		s->w += q - s->p - 1;
		s->p = q + 1;
		return 0;
	}
	if (c == '"') {
		s->p++;
		return split_double(s, command, err);
	}
	if (c == '\\') {
		if (s->p[1] == '\0')
			return split_refuse(err, command, s->p,
			    "it ends in a backslash");
		s->p++;
		c = *s->p;
	}
	*s->w++ = c;
	s->p++;
	return 0;
}

int
secret_argv_split(const char *command, char ***argvp, struct xo_err *err)
{
	struct split s;
	size_t len = strlen(command);
	int r;

	*argvp = NULL;
	memset(&s, 0, sizeof(s));
	s.p = command;
	/* At most one word per two bytes ("a b c"), and each word at most
	 * its bytes and its NUL. */
	if ((s.buf = malloc(2 * len + 2)) == NULL ||
	    (s.words = calloc(len / 2 + 2, sizeof(*s.words))) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	s.w = s.buf;
	while (*s.p != '\0')
		if ((r = split_step(&s, command, err)) != 0)
			goto out;
	split_end_word(&s);
	if (s.n == 0 || s.words[0][0] == '\0') {
		r = xo_err_set(err, SECRET_E_WORDS, "the command is empty%s; "
		    "name a program that prints the secret (and its arguments)",
		    s.n == 0 ? "" : " (its first word is '')");
		goto out;
	}
	s.words[s.n] = NULL;
	*argvp = s.words;
	s.words = NULL;
	s.buf = NULL;
	r = 0;
 out:
	free(s.buf);
	free(s.words);
	return r;
}

void
secret_argv_free(char **argv)
{
	if (argv == NULL)
		return;
	free(argv[0]);		/* every word (see struct split) */
	free(argv);
}

/* --- describing ----------------------------------------------------------- */

const char *
secret_describe(const struct secret_src *src, char *buf, size_t size)
{
	const char *what;

	switch (src->kind) {
	case SECRET_FILE:
		what = "file";
		break;
	case SECRET_CREDENTIAL:
		what = "systemd credential";
		break;
	case SECRET_COMMAND:
		what = "command";
		break;
	default:
		return "nowhere";
	}
	if (size == 0)
		return "";
	snprintf(buf, size, "%s %s", what, src->value != NULL ?
	    src->value : "");
	/* The value came from a file: no terminal escapes on the way out. */
	xo_printable_utf8(buf);
	return buf;
}

/* --- reading -------------------------------------------------------------- */

/* What was read for SRC: BUF (LEN bytes, NUL at BUF[LEN], allocated by
 * us; always handed over or wiped) becomes *OUT once it passes the rule
 * for its slot (secret.h). */
static int
secret_finish(const struct secret_src *src, char *buf, size_t len,
    struct secret *out, struct xo_err *err)
{
	const struct where_row *row = row_of(src->slot);
	int r;

	if (buf == NULL)
		len = 0;
	else if (row != NULL && row->text) {
		if (memchr(buf, '\0', len) != NULL) {
			r = xo_err_set(err, XO_E_DATA, "the %s from %s (%s) "
			    "holds a NUL byte, which no %s does: is it the "
			    "right one (not a binary file)?", src->label,
			    src->kind == SECRET_COMMAND ? "the command" :
			    src->value, src->member, src->label);
			goto out;
		}
		len = xo_secret_first_line(buf, len);
	}
	if (len == 0) {
		r = xo_err_set(err, SECRET_E_EMPTY, "the %s from %s (%s) is "
		    "empty; put the %s there", src->label, src->kind ==
		    SECRET_COMMAND ? "the command" : src->value, src->member,
		    src->label);
		goto out;
	}
	out->data = buf;
	out->len = len;
	return 0;
 out:
	xo_freezero(buf, len);
	return r;
}

/* UID as people say it, "postfix (uid 107)", into BUF; returns BUF. */
static const char *
user_words(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(buf, size, "%s (uid %u)", pw->pw_name, (unsigned)uid);
	else
		snprintf(buf, size, "uid %u", (unsigned)uid);
	return buf;
}

/* Words the failure R to open the file or credential PATH (WHAT: "file"
 * or "systemd credential") of SRC. */
static int
open_words(const struct secret_src *src, int r, const char *what,
    const char *path, const struct stat *st, struct xo_err *err)
{
	char word[XO_SHELL_WORD_MAX], owner[96], me[96];

	xo_shell_word(word, sizeof(word), path);
	user_words(st->st_uid, owner, sizeof(owner));
	user_words(geteuid(), me, sizeof(me));
	if (src->kind == SECRET_CREDENTIAL &&
	    (r == CREDFILE_E_OWNER || r == CREDFILE_E_PERMS))
		return xo_err_set(err, r, "refusing the %s's systemd credential "
		    "%s (%s): %s %s, mode %04o; systemd makes a credential "
		    "0400 or 0440 for the unit's user: run this in the unit "
		    "whose User= renews, %s, with LoadCredentialEncrypted=",
		    src->label, path, src->member, r == CREDFILE_E_OWNER ?
		    "it belongs to" : "group or others may change it, owner",
		    owner, (unsigned)(st->st_mode & 07777), me);
	switch (r) {
	case CREDFILE_E_NOTREG:
		return xo_err_set(err, r, "refusing the %s's %s %s (%s): not a "
		    "regular file (a symbolic link, a device or a FIFO); name "
		    "the file itself", src->label, what, path, src->member);
	case CREDFILE_E_OWNER:
		return xo_err_set(err, r, "refusing the %s's %s %s (%s): it "
		    "belongs to %s, and the renewal reads it as %s, who must "
		    "own it; run: chown %u %s", src->label, what, path,
		    src->member, owner, me, (unsigned)geteuid(), word);
	case CREDFILE_E_PERMS:
		return xo_err_set(err, r, "refusing the %s's %s %s (%s): group "
		    "or others may read or change it (mode %04o); run: chmod "
		    "600 %s", src->label, what, path, src->member,
		    (unsigned)(st->st_mode & 07777), word);
	case -ENOENT:
		return xo_err_set(err, r, "no %s's %s %s (%s in the token "
		    "file); put it back, or name where it is now", src->label,
		    what, path, src->member);
	case -ENOSYS:
		return xo_err_set(err, XO_E_IO, "cannot open the %s's %s %s: "
		    "/proc is not mounted here, and secrets are opened "
		    "through /proc/self/fd; run this where /proc is mounted",
		    src->label, what, path);
	case -ENOMEM:
		return xo_err_set(err, r, "out of memory");
	case SECRET_E_TOOBIG:
		return xo_err_set(err, r, "refusing the %s's %s %s (%s): "
		    "larger than %d bytes, which no %s is; is it the right "
		    "one?", src->label, what, path, src->member, SECRET_MAX,
		    src->label);
	default:
		return xo_err_set(err, r, "cannot read the %s's %s %s (%s): "
		    "%s", src->label, what, path, src->member,
		    xo_errno_text(r));
	}
}

/* Reads the open FD (its fstat ST) into *BUFp (*LENp bytes), at most
 * SECRET_MAX. */
static int
read_fd(int fd, const struct stat *st, char **bufp, size_t *lenp)
{
	int r = xo_read_max(fd, st, SECRET_MAX, bufp, lenp);

	return r == -EFBIG ? SECRET_E_TOOBIG : r;
}

static int
read_file(const struct secret_src *src, struct secret *out,
    struct xo_err *err)
{
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, r;

	memset(&st, 0, sizeof(st));
	if ((r = credfile_open(src->value, 1, &fd, &st)) != 0 ||
	    (r = read_fd(fd, &st, &buf, &len)) != 0) {
		if (fd != -1)
			close(fd);
		return open_words(src, r, "file", src->value, &st, err);
	}
	close(fd);
	return secret_finish(src, buf, len, out, err);
}

int
secret_credential_name_ok(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > NAME_MAX || strcmp(name, ".") == 0 ||
	    strcmp(name, "..") == 0)
		return 0;
	for (i = 0; i < n; i++)
		if (name[i] == '/' || name[i] < ' ' || name[i] > '~')
			return 0;
	return 1;
}

/* The words for a process that has no $CREDENTIALS_DIRECTORY. */
static int
nocreds_words(const struct secret_src *src, const char *dir,
    struct xo_err *err)
{
	return xo_err_set(err, SECRET_E_NOCREDS, "the %s is the systemd "
	    "credential %s (%s), and %s: this process was not started by "
	    "the systemd unit that has the credential (LoadCredentialEncrypted="
	    "%s:...).  The timer's unit renews it: xoauth2-token-postfix."
	    "service for postfix, xoauth2-token-refresh@USER.service for "
	    "another user (see: systemctl list-timers 'xoauth2-token*'); to "
	    "renew now, by hand, run: systemctl start xoauth2-token-postfix."
	    "service (or xoauth2-token-refresh@USER.service)",
	    src->label, src->value, src->member, dir == NULL ? "no "
	    "$CREDENTIALS_DIRECTORY is set here" : "$CREDENTIALS_DIRECTORY is "
	    "not an absolute path", src->value);
}

/* Opens SRC's credential into *FDp (*ST its fstat): regular, not a
 * symbolic link, ours or root's, nobody else may change it (systemd
 * makes them 0400 or 0440, the unit's user's). */
static int
open_credential(const struct secret_src *src, int *fdp, struct stat *st,
    char *path, size_t size, struct xo_err *err)
{
	const char *dir = secure_getenv("CREDENTIALS_DIRECTORY");
	int dfd, fd = -1, r;

	*fdp = -1;
	if (!secret_credential_name_ok(src->value))
		return xo_err_set(err, SECRET_E_NAME, "the %s's credential "
		    "name (%s) is not a plain file name (printable ASCII, no "
		    "'/', not . or .., at most %d bytes); name it as in the "
		    "unit's LoadCredentialEncrypted=NAME:...", src->label,
		    src->member, NAME_MAX);
	if (dir == NULL || dir[0] != '/')
		return nocreds_words(src, dir, err);
	snprintf(path, size, "%s/%s", dir, src->value);
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		r = -errno;
		return xo_err_set(err, r, "cannot open $CREDENTIALS_DIRECTORY "
		    "(%s): %s; is this the unit that has the %s?", dir,
		    strerror(-r), src->label);
	}
	r = xo_open_regular(dfd, src->value, &fd, st);
	close(dfd);
	if (r == 0 && fd == -1)
		r = CREDFILE_E_NOTREG;
	else if (r == 0 && st->st_uid != geteuid() && st->st_uid != 0)
		r = CREDFILE_E_OWNER;
	else if (r == 0 && (st->st_mode & 022) != 0)
		r = CREDFILE_E_PERMS;
	if (r == -ENOENT && strncmp(src->value, "xoauth2_", 8) == 0)
		return xo_err_set(err, r, "no credential %s in "
		    "$CREDENTIALS_DIRECTORY (%s): the unit loads "
		    "/etc/xoauth2/credstore.encrypted/USER/%s for it, USER being "
		    "the unit's; put the %s there, as root, with: xoauth2-token "
		    "credential encrypt ACCOUNT", src->value, dir,
		    src->value + 8, src->label);
	if (r == -ENOENT)
		return xo_err_set(err, r, "no credential %s in "
		    "$CREDENTIALS_DIRECTORY (%s): the unit that runs this does "
		    "not load the %s; add LoadCredentialEncrypted=%s:FILE to it "
		    "(systemctl edit UNIT)", src->value, dir, src->label,
		    src->value);
	if (r != 0) {
		if (fd != -1)
			close(fd);
		return open_words(src, r, "systemd credential", path, st, err);
	}
	*fdp = fd;
	return 0;
}

static int
read_credential(const struct secret_src *src, struct secret *out,
    struct xo_err *err)
{
	char path[PATH_MAX + NAME_MAX + 2];
	struct stat st;
	char *buf = NULL;
	size_t len = 0;
	int fd = -1, r;

	memset(&st, 0, sizeof(st));
	if ((r = open_credential(src, &fd, &st, path, sizeof(path), err)) != 0)
		return r;
	r = read_fd(fd, &st, &buf, &len);
	close(fd);
	if (r != 0)
		return open_words(src, r, "systemd credential", path, &st, err);
	return secret_finish(src, buf, len, out, err);
}

/* --- commands ------------------------------------------------------------- */

/* A command is run by child.h: stdin /dev/null, stderr ours, its own
 * process group, killed at the time limit, at more than SECRET_MAX
 * bytes, or when we are told to stop.  What is ours: the words. */

/* XOAUTH2_SECRET_TIMEOUT (1..600), else SECRET_COMMAND_TIMEOUT. */
static int
command_timeout(void)
{
	const char *s = secure_getenv("XOAUTH2_SECRET_TIMEOUT");
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return SECRET_COMMAND_TIMEOUT;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > 600)
		return SECRET_COMMAND_TIMEOUT;
	return (int)v;
}


/* Words a failure E of ARGV for SRC: an exec's errno, or (negative)
 * one before the exec. */
static int
exec_words(const struct secret_src *src, char **argv, int e,
    struct xo_err *err)
{
	const char *path = getenv("PATH");

	if (e < 0)
		return xo_err_set(err, e, "cannot run the command for the %s "
		    "(%s): its standard input (/dev/null) or output could not "
		    "be set up: %s", src->label, src->member, strerror(-e));
	if (e == ENOENT && strchr(argv[0], '/') == NULL)
		return xo_err_set(err, -e, "cannot run the command for the %s "
		    "(%s): no program %s in PATH (%s); name it by its full "
		    "path, or install it", src->label, src->member, argv[0],
		    path != NULL ? path : "unset");
	if (e == ENOENT)
		return xo_err_set(err, -e, "cannot run the command for the %s "
		    "(%s): no program %s; name the program where it is",
		    src->label, src->member, argv[0]);
	return xo_err_set(err, -e, "cannot run the command for the %s (%s): "
	    "%s: %s%s", src->label, src->member, argv[0], strerror(e),
	    e == EACCES ? "; make it executable for the user this runs as" :
	    "");
}

/* Words the end of the run RES of SRC's command PROG (R: child_run's
 * code; SECONDS its time limit). */
static int
command_words(const struct secret_src *src, const struct child_result *res,
    char **argv, int seconds, int r, struct xo_err *err)
{
	const char *prog = argv[0];
	int st = res->status;
	char me[96];

	user_words(geteuid(), me, sizeof(me));
	if (r == CHILD_E_EXEC)
		return exec_words(src, argv, res->exec_errno, err);
	if (r == CHILD_E_TIMEOUT)
		return xo_err_set(err, SECRET_E_TIMEOUT, "the command for the %s "
		    "(%s), %s, did not finish in %d s and was killed; run it by "
		    "hand, as %s, to see where it waits (a prompt? its input is "
		    "/dev/null here); XOAUTH2_SECRET_TIMEOUT=SECONDS (at most "
		    "600) gives it longer", src->label, src->member, prog,
		    seconds, me);
	if (r == CHILD_E_STOPPED)
		return xo_err_set(err, XO_E_TEMPFAIL, "stopped by %s while the "
		    "command for the %s (%s), %s, ran: it was killed", stop_name(
		    stop_requested()), src->label, src->member, prog);
	if (r == CHILD_E_TOOBIG)
		return xo_err_set(err, SECRET_E_TOOBIG, "the command for the %s "
		    "(%s), %s, printed more than %d bytes, which no %s is; it was "
		    "killed: is it the right command?", src->label, src->member,
		    prog, SECRET_MAX, src->label);
	if (r != 0 && !res->started)
		return xo_err_set(err, r, "cannot start the command for the %s "
		    "(%s): %s; try again", src->label, src->member,
		    xo_errno_text(r));
	if (r != 0)
		return xo_err_set(err, r, "cannot read the output of the "
		    "command for the %s (%s), %s: %s", src->label, src->member,
		    prog, xo_errno_text(r));
	if (WIFSIGNALED(st))
		return xo_err_set(err, SECRET_E_EXIT, "the command for the %s "
		    "(%s), %s, was killed by signal %d (%s); run it by hand, as "
		    "%s, to see why (xoauth2-token show prints it)",
		    src->label, src->member, prog, WTERMSIG(st),
		    strsignal(WTERMSIG(st)), me);
	return xo_err_set(err, SECRET_E_EXIT, "the command for the %s (%s), "
	    "%s, failed (exit status %d; what it said, if anything, is "
	    "above); run it by hand, as %s, to see why (xoauth2-token show "
	    "prints it)", src->label, src->member, prog,
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1, me);
}

/* ERR's message (of code R) begins with the member that holds the
 * command, as a message about a file begins with its name. */
static int
words_for(const struct secret_src *src, int r, struct xo_err *err)
{
	char was[XO_ERR_MSG];

	if (err == NULL)
		return r;
	snprintf(was, sizeof(was), "%s", err->msg);
	return xo_err_set(err, r, "%s: %s", src->member, was);
}

static int
read_command(const struct secret_src *src, struct secret *out,
    struct xo_err *err)
{
	struct child_spec spec = { .out_fd = -1, .out_max = SECRET_MAX,
	    .own_group = 1, .stop = 1, .err_mode = CHILD_STDERR_OURS };
	struct child_result res;
	char **argv = NULL;
	int r, seconds;

	if ((r = secret_argv_split(src->value, &argv, err)) != 0)
		return words_for(src, r, err);
	seconds = command_timeout();
	spec.argv = argv;
	spec.timeout_ms = 1000 * seconds;
	r = child_run(&spec, &res, err);
	if (r != 0 || !WIFEXITED(res.status) || WEXITSTATUS(res.status) != 0)
		r = command_words(src, &res, argv, seconds, r, err);
	else {
		/* secret_finish keeps the output, or wipes it. */
		r = secret_finish(src, res.out, res.out_len, out, err);
		res.out = NULL;
	}
	child_result_clear(&res);
	secret_argv_free(argv);
	return r;
}

/* The words for a secret that is nowhere: the members that could say. */
static int
none_words(const struct secret_src *src, struct xo_err *err)
{
	const struct where_row *row = row_of(src->slot);
	char names[256];
	size_t k, n = 0;

	names[0] = '\0';
	for (k = 0; row != NULL && k < 3; k++)
		if (row->member[k].offset != NO_MEMBER)
			n += (size_t)snprintf(names + n, sizeof(names) - n,
			    "%s%s", n > 0 ? " or " : "", row->member[k].name);
	return xo_err_set(err, SECRET_E_NONE, "the token file says nowhere "
	    "where the %s is (%s); name it, or log in again",
	    row != NULL ? row->label : "secret", names);
}

int
secret_read(const struct secret_src *src, struct secret *out,
    struct xo_err *err)
{
	out->data = NULL;
	out->len = 0;
	switch (src->value != NULL ? src->kind : SECRET_NOWHERE) {
	case SECRET_FILE:
		return read_file(src, out, err);
	case SECRET_CREDENTIAL:
		return read_credential(src, out, err);
	case SECRET_COMMAND:
		return read_command(src, out, err);
	default:
		return none_words(src, err);
	}
}
