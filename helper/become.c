/*
 * become: the work for one token file, with its owner's rights.  See
 * become.h.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/keyctl.h>

#include "become.h"
#include "errors.h"
#include "msg.h"
#include "stop.h"
#include "tokfile.h"

/* A child that could not become the owner exits with this (the shell's
 * "cannot execute"); no FN returns it. */
#define BECOME_FAILED	126

/* Set in a child once it has become the owner: become_dropped(). */
static int dropped;

int
become_dropped(void)
{
	return dropped;
}

int
become_open(const char *path, struct become *b)
{
	struct stat dst, fst;
	const char *slash = strrchr(path, '/');
	struct passwd *pw;
	int have_file, r;

	memset(b, 0, sizeof(*b));
	b->dirfd = -1;
	b->path = b->at = path;
	if ((r = tokfile_dir_open(path, &b->dirfd, &dst)) != 0)
		return r;
	have_file = fstatat(b->dirfd, slash == NULL ? path : slash + 1, &fst,
	    AT_SYMLINK_NOFOLLOW) == 0;
	if (dst.st_uid != 0) {
		/* Its owner can rename anything in it: root works there for
		 * them only (a caller who is not root lends nothing). */
		if (have_file && fst.st_uid != dst.st_uid && geteuid() == 0) {
			become_close(b);
			return TOKFILE_E_DIROWNER;
		}
		b->uid = dst.st_uid;
		b->gid = have_file ? fst.st_gid : dst.st_gid;
	} else if (have_file && fst.st_uid != 0) {
		/* root's directory, a user's file: the user wrote what is in
		 * it (notify, credential files), so it runs as them. */
		b->uid = fst.st_uid;
		b->gid = fst.st_gid;
	} else {
		b->uid = 0;
		b->gid = dst.st_gid;
	}
	if ((pw = getpwuid(b->uid)) != NULL && b->uid != 0)
		b->gid = pw->pw_gid;
	b->drop = geteuid() == 0 && b->uid != 0;
	return 0;
}

void
become_close(struct become *b)
{
	if (b->dirfd >= 0)
		close(b->dirfd);
	b->dirfd = -1;
}

/* In the child: become B's owner for good, in B's directory.  Returns 0,
 * or -1 after a message. */
static int
become_owner(struct become *b)
{
	const char *slash = strrchr(b->path, '/');
	struct passwd *pw;

	if (fchdir(b->dirfd) == -1) {
		msg(NULL, "cannot enter the directory of %s: %s", b->path,
		    strerror(errno));
		return -1;
	}
	pw = getpwuid(b->uid);
	if ((pw != NULL ? initgroups(pw->pw_name, b->gid) :
	    setgroups(0, NULL)) != 0 || setgid(b->gid) != 0 ||
	    setuid(b->uid) != 0 || setuid(0) == 0 || geteuid() != b->uid ||
	    getegid() != b->gid) {
		msg(NULL, "cannot become uid %u (the owner of %s): %s; not "
		    "touched", (unsigned)b->uid, b->path, strerror(errno));
		return -1;
	}
	/* The session keyring is not the uid's but the session's: root's
	 * (an ssh login's, with its Kerberos tickets or disk keys) would
	 * stay ours to read, and the notify command's.  A new, empty one,
	 * the owner's.  No keyring in the kernel: nothing to leave. */
	if (syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, NULL) == -1 &&
	    errno != ENOSYS) {
		msg(NULL, "cannot leave root's session keyring to work on %s "
		    "as uid %u: %s; not touched", b->path, (unsigned)b->uid,
		    strerror(errno));
		return -1;
	}
	/* Changing uid resets it; the secrets in memory stay ours. */
	(void)prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L);
	/* The owner may now signal us.  Job control's stops are ignored,
	 * so that a stop the parent sees can only be SIGSTOP from outside
	 * (wait_child); the parent stops with the terminal, we finish. */
	(void)signal(SIGTSTP, SIG_IGN);
	(void)signal(SIGTTIN, SIG_IGN);
	(void)signal(SIGTTOU, SIG_IGN);
	b->at = slash == NULL ? b->path : slash + 1;
	dropped = 1;
	return 0;
}

/* Waits for PID, passing on a stop request (stop.h) to it: it is the
 * one at work, and stops the way we would have.  A child that is
 * stopped (SIGSTOP: its owner can send it, to keep root waiting for
 * ever, and every file after theirs with it) is killed, and *STOPPEDp
 * says by what signal it was stopped.  Returns waitpid's. */
static pid_t
wait_child(pid_t pid, int *statusp, int *stoppedp)
{
	struct timespec pause = { 0, 0 };
	long delay_us = 100;
	int passed = 0;
	pid_t w;

	*stoppedp = 0;
	for (;;) {
		w = waitpid(pid, statusp, WNOHANG | WUNTRACED);
		if (w == pid && WIFSTOPPED(*statusp)) {
			*stoppedp = WSTOPSIG(*statusp);
			(void)kill(pid, SIGKILL);
			continue;
		}
		if (w != 0 && !(w == -1 && errno == EINTR))
			return w;
		if (!passed && stop_requested() != 0) {
			(void)kill(pid, stop_requested());
			passed = 1;
		}
		/* A growing pause (0.1 ms .. 32 ms): a valid file's child is
		 * done in a millisecond, and a stop is seen within 32 ms. */
		pause.tv_nsec = delay_us * 1000L;
		nanosleep(&pause, NULL);
		if (delay_us < 32000)
			delay_us *= 2;
	}
}

int
become_run(struct become *b, int (*fn)(const struct become *, void *),
    void *arg)
{
	pid_t pid, w;
	int status = 0, stopped, r;

	if (!b->drop)
		return fn(b, arg);
	fflush(NULL);		/* nothing buffered is written twice */
	if ((pid = fork()) == -1) {
		msg(NULL, "cannot start a process for %s: %s", b->path,
		    strerror(errno));
		return XO_E_OSERR;
	}
	if (pid == 0) {
		r = become_owner(b) == 0 ? fn(b, arg) : BECOME_FAILED;
		fflush(NULL);
		_exit(r);
	}
	w = wait_child(pid, &status, &stopped);
	if (w != pid) {
		msg(NULL, "lost the process working on %s: %s", b->path,
		    strerror(errno));
		return XO_E_OSERR;
	}
	if (stopped != 0) {
		msg(NULL, "the process working on %s as uid %u was stopped "
		    "from outside (%s), by that user or root; killed it: %s "
		    "is not done, try again", b->path, (unsigned)b->uid,
		    strsignal(stopped), b->path);
		return XO_E_TEMPFAIL;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	if (WEXITSTATUS(status) == BECOME_FAILED)
		return XO_E_OSERR;	/* it said why */
	return WEXITSTATUS(status);
}
