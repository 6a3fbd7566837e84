/*
 * credfile: the files a renewal needs, and who may read them.  See
 * credfile.h.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "become.h"
#include "credfile.h"
#include "errors.h"
#include "msg.h"
#include "tokfile.h"
#include "xo_err.h"
#include "xo_util.h"

#define FRONT_NAME	PROG
#define FULL_NAME	PROG "-full"
#define LINE_MAX_	(4 * XO_SHELL_WORD_MAX)

int
credfile_open(const char *path, int secret, int *fdp, struct stat *stp)
{
	int fd, r;

	*fdp = -1;
	/* Not even opened unless regular: a device's open routine would
	 * run, a FIFO would block, a symlink could lead anywhere. */
	if ((r = xo_open_regular(AT_FDCWD, path, &fd, stp)) != 0)
		return r;
	if (fd == -1)
		return CREDFILE_E_NOTREG;
	if (stp->st_uid != geteuid()) {
		close(fd);
		return CREDFILE_E_OWNER;
	}
	if ((stp->st_mode & (secret ? 077 : 022)) != 0) {
		close(fd);
		return CREDFILE_E_PERMS;
	}
	*fdp = fd;
	return 0;
}

void
credfile_set_from(struct credfile_set *set, const struct tokfile *tok)
{
	memset(set, 0, sizeof(*set));
	set->client_secret_file = tok->client_secret_file;
	set->private_key_file = tok->private_key_file;
	set->certificate_file = tok->certificate_file;
	set->service_account_file = tok->service_account_file;
	set->private_key_passphrase_file = tok->private_key_passphrase_file;
	set->client_secret_command.command = tok->client_secret_command;
	set->private_key_passphrase_command.command =
	    tok->private_key_passphrase_command;
	set->client_secret_credential = tok->client_secret_credential;
	set->private_key_credential = tok->private_key_credential;
	set->private_key_passphrase_credential =
	    tok->private_key_passphrase_credential;
	set->service_account_credential = tok->service_account_credential;
}

/* What a check needs: how to report, and who we are (the renewer). */
struct check {
	const struct credfile_set *set;
	const char	*who;
	const char	*place;		/* where a readable copy may go */
	int		 how;
	char		 user[64], group[64];	/* the renewer's names */
	char		 owner[140];		/* "user:group", for chown */
	int		 bad;
	int		 root;		/* the caller is root */
};

/* Reports one file's verdict: LINE ("WHAT PATH: ok", or the problem
 * and its fix). */
static void
report(struct check *c, int ok, const char *line)
{
	if (!ok)
		c->bad++;
	if (c->how == CREDFILE_LIST)
		msg_line("  %s: %s", c->who, line);
	else if (!ok)
		msg(c->who, "%s", line);
}

/* The first directory on the way to PATH that we cannot enter, into
 * DIR (PATH_MAX bytes); 0 if there is one, else -1. */
static int
closed_dir(const char *path, char *dir)
{
	size_t i, n = strlen(path);

	if (access("/", X_OK) != 0) {
		snprintf(dir, PATH_MAX, "/");
		return 0;
	}
	for (i = 1; i < n && i < PATH_MAX; i++) {
		if (path[i] != '/')
			continue;
		memcpy(dir, path, i);
		dir[i] = '\0';
		if (access(dir, X_OK) != 0)
			return 0;
	}
	return -1;
}

/* The fix for a file we cannot reach (a closed directory DIR on the
 * way): a copy of it in C->place, ours.  Into LINE (LINE_MAX_ bytes). */
static void
words_closed(const struct check *c, const char *what, const char *path,
    const char *dir, int secret, char *line)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	char w[XO_SHELL_WORD_MAX], p[XO_SHELL_WORD_MAX], t[XO_SHELL_WORD_MAX];
	char to[PATH_MAX];

	snprintf(to, sizeof(to), "%s/%s", c->place, base);
	xo_shell_word(w, sizeof(w), path);
	xo_shell_word(p, sizeof(p), c->place);
	xo_shell_word(t, sizeof(t), to);
	/* (A path too long for LINE: the message is cut, still a message.) */
	if (snprintf(line, LINE_MAX_, "the %s %s: %s cannot read it: the "
	    "renewal runs as %s, and %s is closed to them; run: install -d "
	    "-o %s -g %s -m 700 %s && install -o %s -g %s -m %s %s %s, and "
	    "name %s instead", what, path, c->user, c->user, dir, c->user,
	    c->group, p, c->user, c->group, secret ? "600" : "644", w, t,
	    to) >= LINE_MAX_)
		line[LINE_MAX_ - 1] = '\0';
}

/* Words the failure R of credfile_open on PATH into LINE. */
static void
words(const struct check *c, int r, const char *what, const char *path,
    int secret, char *line)
{
	char w[XO_SHELL_WORD_MAX], dir[PATH_MAX];
	const char *mode = secret ? "600" : "go-w";

	xo_shell_word(w, sizeof(w), path);
	if ((r == -EACCES || r == -EPERM) && closed_dir(path, dir) == 0)
		words_closed(c, what, path, dir, secret, line);
	else if (r == -EACCES || r == -EPERM || r == CREDFILE_E_OWNER)
		snprintf(line, LINE_MAX_, "the %s %s: %s, and the renewal reads "
		    "it as %s, whose own it must be; run: chown %s %s && chmod "
		    "%s %s", what, path, r == CREDFILE_E_OWNER ? "not "
		    "theirs" : "they cannot read it", c->user, c->owner, w,
		    mode, w);
	else if (r == CREDFILE_E_PERMS)
		snprintf(line, LINE_MAX_, "the %s %s: %s; run: chmod %s %s",
		    what, path, secret ? "group or others have access to it" :
		    "group or others may change it", mode, w);
	else if (r == CREDFILE_E_NOTREG)
		snprintf(line, LINE_MAX_, "the %s %s: not a regular file (a "
		    "symbolic link, a device or a FIFO), which the renewal "
		    "refuses; name the file itself", what, path);
	else if (r == -ENOENT || r == -ENOTDIR)
		snprintf(line, LINE_MAX_, "the %s %s: no such file; put it "
		    "there, or name the right one", what, path);
	else
		snprintf(line, LINE_MAX_, "the %s %s: cannot open it as %s: %s",
		    what, path, c->user, r < 0 && r > -4096 ? strerror(-r) :
		    "refused");
}

/* Checks one credential file as the renewal will open it. */
static void
check_cred(struct check *c, const char *what, const char *path, int secret)
{
	char line[LINE_MAX_];
	struct stat st;
	int fd, r;

	if (path == NULL)
		return;
	if ((r = credfile_open(path, secret, &fd, &st)) == 0) {
		close(fd);
		snprintf(line, sizeof(line), "the %s %s: ok (%s's, mode %04o)",
		    what, path, c->user, (unsigned)(st.st_mode & 07777));
		report(c, 1, line);
		return;
	}
	words(c, r, what, path, secret, line);
	report(c, 0, line);
}

/* Whether the PEM text at TEXT is an encrypted private key: PKCS#8's
 * "ENCRYPTED PRIVATE KEY", or the traditional form's Proc-Type header. */
static int
pem_encrypted(const char *text)
{
	return strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") != NULL ||
	    strstr(text, "Proc-Type: 4,ENCRYPTED") != NULL;
}

/* Whether the set names a passphrase for the key, and where, into BUF. */
static const char *
passphrase_at(const struct credfile_set *s, char *buf, size_t size)
{
	if (s->private_key_passphrase_file != NULL)
		snprintf(buf, size, "file %s", s->private_key_passphrase_file);
	else if (s->private_key_passphrase_credential != NULL)
		snprintf(buf, size, "systemd credential %s",
		    s->private_key_passphrase_credential);
	else if (s->private_key_passphrase_command.command != NULL)
		snprintf(buf, size, "a command");
	else
		return NULL;
	return buf;
}

/* Checks the private key file PATH as check_cred does, and whether it
 * needs the passphrase the set names: an encrypted key without one
 * cannot be used; a passphrase for a key that has none is said. */
static void
check_key(struct check *c, const char *path)
{
	char line[LINE_MAX_], at[PATH_MAX + 32], *text = NULL;
	const char *pass = passphrase_at(c->set, at, sizeof(at));
	struct stat st;
	size_t len = 0;
	int fd, r, enc;

	if (path == NULL)
		return;
	if ((r = credfile_open(path, 1, &fd, &st)) != 0) {
		words(c, r, "private key", path, 1, line);
		report(c, 0, line);
		return;
	}
	r = xo_read_max(fd, &st, 64 * 1024, &text, &len);
	close(fd);
	enc = r == 0 && pem_encrypted(text);
	xo_freezero(text, len);
	if (enc && pass == NULL)
		snprintf(line, sizeof(line), "the private key %s: protected by "
		    "a passphrase, and the token file names none; run: " PROG
		    " set ACCOUNT with --key-passphrase-file FILE, "
		    "--key-passphrase-credential NAME or --key-passphrase-command "
		    "CMD", path);
	else
		snprintf(line, sizeof(line), "the private key %s: ok (%s's, mode "
		    "%04o%s%s%s)", path, c->user, (unsigned)(st.st_mode & 07777),
		    enc ? ", encrypted: opened with the passphrase from " : "",
		    enc ? pass : "", !enc && pass != NULL ? "; not encrypted: "
		    "the key passphrase the token file names is not needed" : "");
	report(c, !(enc && pass == NULL), line);
}

/* The PATH the plugin gives the helper it runs (plugin/tokenfile.c). */
#define PLUGIN_PATH	"/usr/local/bin:/usr/bin:/bin"

/* The program PROG (a command's first word) as execvp finds it with the
 * search path PATH (NULL: ours; unset, PLUGIN_PATH): itself if it holds
 * a '/', or the first executable in PATH, into FOUND.  Returns 0 if we
 * can run it, else -1. */
static int
find_program(const char *prog, const char *path, char *found, size_t size)
{
	const char *p, *end;
	struct stat st;
	size_t n;

	if (strchr(prog, '/') != NULL) {
		snprintf(found, size, "%s", prog);
		return stat(prog, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(prog, X_OK) == 0 ? 0 : -1;
	}
	if (path == NULL)
		path = getenv("PATH");
	if (path == NULL || *path == '\0')
		path = PLUGIN_PATH;
	for (p = path; ; p = end + 1) {
		end = strchr(p, ':');
		n = end != NULL ? (size_t)(end - p) : strlen(p);
		/* (An empty entry is the current directory, as execvp has it.) */
		snprintf(found, size, "%.*s/%s", (int)(n > 0 ? n : 1),
		    n > 0 ? p : ".", prog);
		if (stat(found, &st) == 0 && S_ISREG(st.st_mode) &&
		    access(found, X_OK) == 0)
			return 0;
		if (end == NULL)
			return -1;
	}
}

/* Checks the command CMD that prints WHAT (a secret): it splits, and
 * we (the renewer) can run its program; not at all in postfix's store. */
static void
check_command(struct check *c, const char *what,
    const struct credfile_command *cmd)
{
	char line[LINE_MAX_], found[PATH_MAX], other[PATH_MAX];
	char shown[LINE_MAX_ / 2];
	int ok = 0;

	if (cmd->command == NULL)
		return;
	/* (secret.h's words for it: "command WORDS", printable.) */
	snprintf(shown, sizeof(shown), "command %s", cmd->command);
	xo_printable_utf8(shown);
	if (c->set->postfix_store)
		snprintf(line, sizeof(line), "the %s: %s, in a token file "
		    "postfix owns, which a chrooted smtp can write: it is not "
		    "run (the timer would run it outside the chroot); keep the "
		    "secret in a systemd credential instead (see SECURITY.md)",
		    what, shown);
	else if (cmd->program == NULL)
		snprintf(line, sizeof(line), "the %s: %s: does not split into "
		    "words as a renewal runs it (no shell); name a program and "
		    "its arguments, or a script: " PROG " set ACCOUNT with the "
		    "option for it says why", what, shown);
	else if (find_program(cmd->program, NULL, found, sizeof(found)) != 0)
		snprintf(line, sizeof(line), "the %s: %s: %s cannot find or "
		    "run %s%s; name the program by its full path, or install "
		    "it", what, shown, c->user, cmd->program,
		    strchr(cmd->program, '/') != NULL ? "" : " in PATH");
	else {
		/* A renewal the plugin starts searches its own PATH. */
		snprintf(line, sizeof(line), "the %s: %s: ok (%s is %s, which "
		    "%s can run; what it prints is not checked here)%s", what,
		    shown, cmd->program, found, c->user, find_program(
		    cmd->program, PLUGIN_PATH, other, sizeof(other)) == 0 ? "" :
		    "; but not in the PATH a renewal the plugin starts has ("
		    PLUGIN_PATH "): name it by its full path");
		ok = 1;
	}
	report(c, ok, line);
}

/* Names the systemd credential NAME that holds WHAT (CREDFILE_LIST):
 * only the unit that loads it can read it. */
static void
name_credential(struct check *c, const char *what, const char *name)
{
	char line[LINE_MAX_];

	if (name == NULL || c->how != CREDFILE_LIST)
		return;
	snprintf(line, sizeof(line), "the %s: systemd credential %s: read "
	    "only by the unit (not checked here)", what, name);
	report(c, 1, line);
}

/* Whether PATH (lstat'd as ST; ISFILE: the program, else a directory
 * on the way to it) is safe and usable on the way to a program the
 * renewal runs: root's or ours, that nobody else may change (a sticky
 * directory such as /tmp excepted, as front.c's rule), and that we can
 * enter, or read and run.  Into LINE the problem and its fix; returns 0
 * if there is none. */
static int
program_part(const struct check *c, const char *prog, const char *path,
    const struct stat *st, int isfile, char *line)
{
	char w[XO_SHELL_WORD_MAX];
	mode_t m = st->st_mode;

	xo_shell_word(w, sizeof(w), path);
	if (st->st_uid != 0 && st->st_uid != geteuid())
		snprintf(line, LINE_MAX_, "the helper %s: %s belongs to uid "
		    "%u, who could replace the program; run: chown root %s",
		    prog, path, (unsigned)st->st_uid, w);
	else if ((m & 022) != 0 && (isfile || !(m & S_ISVTX)))
		snprintf(line, LINE_MAX_, "the helper %s: %s may be changed by "
		    "group or others, who could replace the program; run: "
		    "chmod go-w %s", prog, path, w);
	else if (access(path, isfile ? R_OK | X_OK : X_OK) != 0)
		snprintf(line, LINE_MAX_, "the helper %s: %s cannot %s %s; run: "
		    "chmod %s %s (or install " PROG " where %s can run it: make "
		    "install)", prog, c->user, isfile ? "read and run" :
		    "enter", path, isfile ? "a+rx" : "a+x", w, c->user);
	else
		return 0;
	return -1;
}

/* Checks the helper program PROG and every directory above it. */
static void
check_program(struct check *c, const char *prog)
{
	char part[PATH_MAX], line[LINE_MAX_];
	struct stat st;
	size_t i, len, n = strlen(prog);

	for (i = 0; i <= n; i++) {
		if (i < n && prog[i] != '/')
			continue;
		len = i == 0 ? 1 : i;		/* "/" first */
		if (len >= sizeof(part))
			return;
		memcpy(part, prog, len);
		part[len] = '\0';
		if (lstat(part, &st) != 0) {
			snprintf(line, sizeof(line), "the helper %s: %s cannot "
			    "reach %s: %s; install " PROG " where %s can run it "
			    "(make install)", prog, c->user, part,
			    strerror(errno), c->user);
			report(c, 0, line);
			return;
		}
		if (program_part(c, prog, part, &st, i == n, line) != 0) {
			report(c, 0, line);
			return;
		}
	}
	snprintf(line, sizeof(line), "the helper %s: ok (%s can run it, and "
	    "nobody else can change it)", prog, c->user);
	report(c, 1, line);
}

/* The programs a renewal runs: this one, and the other of the pair --
 * beside it (a build tree, a copy of both), else where it was
 * configured to be.  Checks each that exists. */
static void
check_programs(struct check *c)
{
	char self[PATH_MAX], other[PATH_MAX], *slash;
	const char *name, *configured = NULL;
	ssize_t n;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1 || self[0] != '/')
		return;		/* no /proc: the renewal says so itself */
	self[n] = '\0';
	check_program(c, self);
	slash = strrchr(self, '/');
	name = strcmp(slash + 1, FULL_NAME) == 0 ? FRONT_NAME : FULL_NAME;
#if defined(XO_FULL_PATH)
	configured = XO_FULL_PATH;
#elif defined(XO_HELPER_PATH)
	configured = XO_HELPER_PATH;
#endif
	snprintf(other, sizeof(other), "%.*s/%s", (int)(slash - self), self,
	    name);
	if (access(other, F_OK) == 0)
		check_program(c, other);
	else if (configured != NULL && access(configured, F_OK) == 0 &&
	    realpath(configured, other) != NULL)
		check_program(c, other);
}

/* In the renewer's process: everything, then the verdict.  Returns 0,
 * or 1 if something is wrong (an exit status: become_run). */
static int
check_here(const struct become *b, void *arg)
{
	struct check *c = arg;
	const struct credfile_set *s = c->set;
	struct passwd *pw;
	struct group *gr;

	(void)b;
	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(c->user, sizeof(c->user), "%s", pw->pw_name);
	else
		snprintf(c->user, sizeof(c->user), "%u", (unsigned)geteuid());
	if ((gr = getgrgid(getegid())) != NULL)
		snprintf(c->group, sizeof(c->group), "%s", gr->gr_name);
	else
		snprintf(c->group, sizeof(c->group), "%u", (unsigned)getegid());
	snprintf(c->owner, sizeof(c->owner), "%s:%s", c->user, c->group);
	check_cred(c, "client secret file", s->client_secret_file, 1);
	check_command(c, "client secret", &s->client_secret_command);
	name_credential(c, "client secret", s->client_secret_credential);
	check_key(c, s->private_key_file);
	name_credential(c, "private key", s->private_key_credential);
	check_cred(c, "key passphrase file", s->private_key_passphrase_file, 1);
	check_command(c, "key passphrase",
	    &s->private_key_passphrase_command);
	name_credential(c, "key passphrase",
	    s->private_key_passphrase_credential);
	check_cred(c, "certificate", s->certificate_file, 0);
	check_cred(c, "service-account key file", s->service_account_file, 1);
	name_credential(c, "service-account key",
	    s->service_account_credential);
	check_programs(c);
	if (c->bad > 0 && c->how == CREDFILE_QUIET)
		msg(c->who, "refusing: the renewal runs as %s, who could not "
		    "use %s above; nothing was written: run %s%s, then this "
		    "command again", c->user, c->bad == 1 ? "the file" :
		    "the files", c->bad == 1 ? "the fix" : "the fixes",
		    c->root ? " as root" : "");
	return c->bad > 0 ? 1 : 0;
}

int
credfile_check(const char *path, const struct credfile_set *set,
    const char *place, const char *who, int how)
{
	struct check c;
	struct become b;
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	int r;

	memset(&c, 0, sizeof(c));
	c.set = set;
	c.who = who;
	c.how = how;
	if (place == NULL) {
		snprintf(dir, sizeof(dir), "%.*s", slash == NULL ? 1 :
		    slash == path ? 1 : (int)(slash - path),
		    slash == NULL ? "." : path);
		place = dir;
	}
	c.place = place;
	c.root = geteuid() == 0;
	/* A place become.h refuses is refused, in its own words, by the
	 * caller's next step on PATH (the login, the adoption, the update,
	 * status's line): nothing to check here. */
	if (become_open(path, &b) != 0) {
		become_close(&b);
		return 0;
	}
	r = become_run(&b, check_here, &c);
	become_close(&b);
	if (r == 1)
		return XO_E_REFUSED;
	return r == 0 ? 0 : XO_E_OSERR;
}
