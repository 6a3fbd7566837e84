/*
 * front: what xoauth2-token is when it starts.  `token' runs on every
 * connection of every mail program (PassCmd, passwordeval, the plugin's
 * spawn), and a valid token needs no network: this program links only
 * libc, json-c and common/, so it starts as fast as a program can.
 * Whatever needs libcurl, OpenSSL or libsasl2 -- a refresh that is due,
 * login, test, refresh, an option only those know -- it hands to the
 * full program, xoauth2-token-full, by exec(2) with the same arguments
 * and environment: same process, same pid, same messages, same
 * timeouts.  Nothing is printed before the hand-over.
 *
 * Where the full program is (front_find_full): found from this
 * program's own location, /proc/self/exe -- never PATH, argv[0] or the
 * environment, which whoever starts us chooses -- so that a build tree,
 * a copy of both programs, and an install tree staged with DESTDIR or
 * moved all work; then where it was configured to be installed.
 *
 * Built from the same sources as the full program with XO_FRONT
 * defined (commands.c leaves the full-only handlers out); this file
 * replaces refresh.c.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "errors.h"
#include "msg.h"
#include "stop.h"

#define FULL_NAME	"xoauth2-token-full"
/* From the front's directory in an install tree laid out the default
 * way ($(bindir) = PREFIX/bin, $(pkglibexecdir) = PREFIX/libexec/xoauth2,
 * as Debian's package too). */
#define FULL_REL	"libexec/xoauth2/" FULL_NAME

/* How many places front_find_full looks in. */
#define FULL_PLACES	3

static char **front_argv;

void
cmd_front_init(char **argv)
{
	front_argv = argv;
}

/* The login name of UID for a message, else "uid N". */
static void
front_user(uid_t uid, char *buf, size_t size)
{
	struct passwd *pw;

	if ((pw = getpwuid(uid)) != NULL)
		snprintf(buf, size, "%s", pw->pw_name);
	else
		snprintf(buf, size, "uid %u", (unsigned)uid);
}

/* Whether PATH (lstat'd as ST; ISFILE: the program itself, else one of
 * its directories) is safe on the way to a program we exec: it belongs
 * to root or to us, and nobody else may write to it.  A sticky
 * directory such as /tmp is writable by all, but nobody can replace in
 * it what another user put there (and what is below is checked too).
 * Root especially: a program that another user could replace would run
 * as root.  Returns 0, or XO_E_REFUSED after saying why, naming FULL. */
static int
front_check_one(const char *full, const char *path, const struct stat *st,
    int isfile)
{
	uid_t me = geteuid();
	char owner[64];
	mode_t m = st->st_mode;

	if (st->st_uid != 0 && st->st_uid != me) {
		front_user(st->st_uid, owner, sizeof(owner));
		msg(NULL, "refusing to run %s: %s belongs to %s, who could "
		    "replace the program with one of their own%s; install "
		    PROG " where only %s can change it (make install), or "
		    "run it as %s", full, path, owner,
		    me == 0 ? " that root would run" : "",
		    me == 0 ? "root" : "root or you", owner);
		return XO_E_REFUSED;
	}
	if ((m & 022) != 0 && (isfile || !S_ISDIR(m) || !(m & S_ISVTX))) {
		msg(NULL, "refusing to run %s: %s is writable by %s, who could "
		    "replace the program with one of their own%s; run: "
		    "chmod go-w %s", full, path,
		    (m & 022) == 022 ? "group and others" :
		    (m & 020) ? "its group" : "others",
		    me == 0 ? " that root would run" : "", path);
		return XO_E_REFUSED;
	}
	return 0;
}

/* Checks REAL (a path realpath(3) made: no symbolic link, no ..) and
 * every directory above it with front_check_one.  What is checked
 * cannot change afterwards but by root or us: REAL is what runs. */
static int
front_check_chain(const char *real)
{
	char part[PATH_MAX];
	struct stat st;
	size_t i, len, n = strlen(real);
	int r;

	for (i = 0; i <= n; i++) {
		if (i < n && real[i] != '/')
			continue;
		len = i == 0 ? 1 : i;		/* "/" first */
		memcpy(part, real, len);
		part[len] = '\0';
		if (lstat(part, &st) != 0 || S_ISLNK(st.st_mode)) {
			msg(NULL, "refusing to run %s: %s changed while it "
			    "was checked; try again", real, part);
			return XO_E_REFUSED;
		}
		if ((r = front_check_one(real, part, &st, i == n)) != 0)
			return r;
	}
	return 0;
}

/* Resolves CAND, a place where the full program may be, into REAL
 * (PATH_MAX bytes) and checks it as a program to exec deserves.
 * Returns 0 (run REAL); -ENOENT if nothing is there (the caller looks
 * further); or, when something is there that we must not or cannot
 * run, XO_E_REFUSED after saying why: running another copy found
 * further on (perhaps another version) would hide that. */
static int
front_try(const char *cand, char *real)
{
	char me[64];
	struct stat st;
	int e;

	if (realpath(cand, real) == NULL) {
		if ((e = errno) == ENOENT || e == ENOTDIR)
			return -ENOENT;
		front_user(geteuid(), me, sizeof(me));
		msg(NULL, "cannot run %s: %s; run " PROG " from a copy of "
		    "both programs (" PROG " and " FULL_NAME ") in a "
		    "directory that user %s can enter, or install them (make "
		    "install)", cand, strerror(e), me);
		return XO_E_REFUSED;
	}
	if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
		msg(NULL, "refusing to run %s: not a regular file; reinstall "
		    PROG, real);
		return XO_E_REFUSED;
	}
	if ((st.st_mode & 0111) == 0 || access(real, X_OK) != 0) {
		msg(NULL, "cannot run %s: not executable (mode %04o); "
		    "run: chmod 755 %s, or reinstall " PROG, real,
		    (unsigned)(st.st_mode & 07777), real);
		return XO_E_REFUSED;
	}
	return front_check_chain(real);
}

/* The places to look, in order, into PLACES (FULL_PLACES of PATH_MAX
 * bytes; an empty string: nothing to look at): beside this program (a
 * build tree, or a copy of both programs), ../FULL_REL from its
 * directory (an install tree, staged or moved), the configured path.
 * SELFERR: the errno if /proc/self/exe cannot be read, else 0. */
static void
front_places(char places[FULL_PLACES][PATH_MAX], int *selferr)
{
	char self[PATH_MAX], *slash;
	ssize_t n;
	int i;

	for (i = 0; i < FULL_PLACES; i++)
		places[i][0] = '\0';
	*selferr = 0;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1 || self[0] != '/') {
		*selferr = n < 0 ? errno : ENAMETOOLONG;
	} else {
		self[n] = '\0';
		slash = strrchr(self, '/');
		*slash = '\0';		/* the directory ("" for /) */
		if (snprintf(places[0], PATH_MAX, "%s/" FULL_NAME, self) >=
		    PATH_MAX)
			places[0][0] = '\0';	/* no such path: not cut short */
		if ((slash = strrchr(self, '/')) != NULL)
			*slash = '\0';	/* its parent (kernel paths: no ..) */
		if (snprintf(places[1], PATH_MAX, "%s/" FULL_REL, self) >=
		    PATH_MAX)
			places[1][0] = '\0';
	}
	snprintf(places[2], PATH_MAX, "%s", XO_FULL_PATH);
	for (i = 0; i < FULL_PLACES - 1; i++)	/* say each place once */
		if (strcmp(places[i], places[FULL_PLACES - 1]) == 0)
			places[FULL_PLACES - 1][0] = '\0';
}

/* Finds the full program (see the top of this file) into PATH
 * (PATH_MAX bytes).  Returns 0, or an XO_E_* code after saying what
 * is wrong and where it looked. */
static int
front_find_full(char *path)
{
	char places[FULL_PLACES][PATH_MAX], looked[FULL_PLACES * PATH_MAX];
	char why[128] = "";
	size_t len = 0;
	int i, r, selferr;

	front_places(places, &selferr);
	if (selferr != 0)
		snprintf(why, sizeof(why), " (nor beside this program: "
		    "/proc/self/exe: %s)", strerror(selferr));
	looked[0] = '\0';
	for (i = 0; i < FULL_PLACES; i++) {
		if (places[i][0] == '\0')
			continue;
		if ((r = front_try(places[i], path)) != -ENOENT)
			return r;
		len += snprintf(looked + len, sizeof(looked) - len, "%s%s",
		    len > 0 ? ", " : "", places[i]);
		if (len >= sizeof(looked))
			len = sizeof(looked) - 1;
	}
	msg(NULL, "cannot find " FULL_NAME ", the part of " PROG " that "
	    "talks to the network: it is not at %s%s; install both "
	    "programs (make install), or keep " FULL_NAME " beside " PROG
	    " or in ../" FULL_REL " from its directory", looked, why);
	return XO_E_SOFTWARE;
}

int
cmd_run_full(void)
{
	char path[PATH_MAX];
	int r;

	if ((r = front_find_full(path)) != 0)
		return r;
	/* A SIGTERM from here on waits, pending across exec(2), for the
	 * full program's handler (stop.h): none is lost in between. */
	stop_hold();
	execv(path, front_argv);
	stop_release();
	msg(NULL, "cannot run %s: %s; reinstall " PROG, path, strerror(errno));
	return XO_E_SOFTWARE;
}

int
cmd_refresh_target(const struct cmd_args *a, const struct target *t,
    int force, char **accessp)
{
	(void)a;
	(void)t;
	(void)force;
	if (accessp != NULL)
		*accessp = NULL;
	return cmd_run_full();
}
