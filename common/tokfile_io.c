/*
 * tokfile_io: the token file on disk -- where it may live
 * (tokfile_dir_open), reading it (tokfile_read), and replacing it
 * atomically and durably under PATH.lock (tokfile_write, tokfile_update*,
 * tokfile_reserve, and rolling a dead writer's PATH.tmp forward).  See
 * tokfile.h for the locking protocol; the format is tokfile.c's.
 *
 * libc only (and tokfile.c): this file is linked into the SASL plugin,
 * which lives inside someone else's process (no printing, no exit, no
 * state between calls, errors as return codes).  Every buffer that held
 * the file's text is wiped before it is freed.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokfile.h"
#include "xo_util.h"

#ifndef O_NOFOLLOW
#error "O_NOFOLLOW is required"
#endif

static char *path_dir(const char *path);

/* PATH with SUFFIX appended, in a new string (NULL: out of memory). */
static char *
path_with(const char *path, const char *suffix)
{
	size_t a = strlen(path), b = strlen(suffix);
	char *p;

	if ((p = malloc(a + b + 1)) == NULL)
		return NULL;
	memcpy(p, path, a);
	memcpy(p + a, suffix, b + 1);
	return p;
}

/* The last component of PATH. */
static const char *
path_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash == NULL ? path : slash + 1;
}

/*
 * Opens NAME (relative to DIRFD, or AT_FDCWD) with FLAGS (and 0600 if
 * they create it) into *FDp, and fstat()s what was opened into *ST.
 * O_NOFOLLOW: a symlink is refused like anything else that is not a
 * regular file (TOKFILE_E_NOTREG); O_NONBLOCK: opening a FIFO must not
 * hang us.  Returns 0 (the caller closes *FDp) or a negative code.
 */
static int
open_regular(int dirfd, const char *name, int flags, struct stat *st,
    int *fdp)
{
	int fd, r;

	*fdp = -1;
	fd = openat(dirfd, name, flags | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (fd == -1) {
		r = -errno;
		if (errno == ELOOP && fstatat(dirfd, name, st,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st->st_mode))
			r = TOKFILE_E_NOTREG;
		return r;
	}
	if (fstat(fd, st) == -1)
		r = -errno;
	else if (!S_ISREG(st->st_mode))
		r = TOKFILE_E_NOTREG;
	else {
		*fdp = fd;
		return 0;
	}
	close(fd);
	return r;
}

int
tokfile_read(const char *path, struct tokfile **tokp)
{
	struct stat st;
	char *text = NULL;
	size_t len = 0;
	int dirfd = -1, fd = -1, r;

	*tokp = NULL;
	/* Readers and writers: one rule about where a token file may live. */
	if ((r = tokfile_dir_open(path, &dirfd, &st)) != 0)
		goto out;
	if ((r = open_regular(dirfd, path_base(path), O_RDONLY, &st, &fd)) != 0)
		goto out;
	if ((st.st_mode & 077) != 0) {
		r = TOKFILE_E_PERMS;
		goto out;
	}
	if ((r = xo_read_max(fd, &st, TOKFILE_MAX, &text, &len)) != 0) {
		r = r == -EFBIG ? TOKFILE_E_TOOBIG : r;
		goto out;
	}
	r = tokfile_parse(text, len, tokp);
 out:
	xo_freezero(text, len);
	if (fd != -1)
		close(fd);
	if (dirfd != -1)
		close(dirfd);
	return r;
}

int
tokfile_dir_open(const char *path, int *dirfdp, struct stat *st)
{
	char *dir;
	int fd, r;

	*dirfdp = -1;
	if ((dir = path_dir(path)) == NULL)
		return -ENOMEM;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	r = fd == -1 ? -errno : 0;
	/* Linux says ENOTDIR (or ELOOP) for a symlink with O_NOFOLLOW. */
	if ((r == -ENOTDIR || r == -ELOOP) && lstat(dir, st) == 0 &&
	    S_ISLNK(st->st_mode))
		r = TOKFILE_E_DIRLINK;
	free(dir);
	if (r != 0)
		return r;
	if (fstat(fd, st) == -1) {
		r = -errno;
		close(fd);
		return r;
	}
	/* Sticky /tmp-style ones too: anyone could hold PATH.lock, plant
	 * PATH.tmp, or rename PATH away there. */
	if ((st->st_mode & 022) != 0) {
		close(fd);
		return TOKFILE_E_DIRPERMS;
	}
	*dirfdp = fd;
	return 0;
}

/* The directory holding PATH, in a new string (NULL: out of memory). */
static char *
path_dir(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* fsync(2) the directory holding PATH, so that a rename in it is durable. */
static int
fsync_parent(const char *path)
{
	char *dir;
	int fd, r = 0;

	if ((dir = path_dir(path)) == NULL)
		return -ENOMEM;
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		r = -errno;
	else {
		/* Some file systems cannot sync a directory (EINVAL): nothing
		 * more we can do there. */
		if (fsync(fd) == -1 && errno != EINVAL)
			r = -errno;
		close(fd);
	}
	free(dir);
	return r;
}

static int
same_grant(const struct tokfile *a, const struct tokfile *b)
{
	return strcmp(a->user, b->user) == 0 &&
	    strcmp(a->token_endpoint, b->token_endpoint) == 0 &&
	    strcmp(a->client_id, b->client_id) == 0;
}

static int
mtime_before(const struct stat *a, const struct stat *b)
{
	return a->st_mtim.tv_sec < b->st_mtim.tv_sec ||
	    (a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec < b->st_mtim.tv_nsec);
}

/*
 * Whether TMP (PATH.tmp) is a finished write that PATH should be rolled
 * forward to.  The caller holds the lock.
 *
 * Only a lock holder writes PATH.tmp, and every write that completes
 * renames it away, so one that exists was the last writer's.  If it is
 * complete (it parses), as safe as PATH itself would have to be, not
 * older than PATH and for the same grant, it is what PATH should hold:
 * typically the answer to a refresh whose old refresh token the server
 * has already retired.  A reservation (tokfile_reserve) is zeros, or
 * text followed by zeros, and never parses.
 */
static int
tmp_rollable(const char *path, const char *tmp)
{
	struct tokfile *tmptok = NULL, *cur = NULL;
	struct stat tst, pst;
	int have_path, ok = 0;

	if (lstat(tmp, &tst) == -1 || !S_ISREG(tst.st_mode))
		goto out;
	have_path = lstat(path, &pst) == 0;
	if (have_path && (tst.st_uid != pst.st_uid || mtime_before(&tst, &pst)))
		goto out;
	if (!have_path && tst.st_uid != geteuid())
		goto out;
	/* tokfile_read refuses symlinks, loose modes and broken text. */
	if (tokfile_read(tmp, &tmptok) != 0)
		goto out;
	if (have_path && tokfile_read(path, &cur) == 0 && !same_grant(cur, tmptok))
		goto out;
	ok = 1;
 out:
	tokfile_free(cur);
	tokfile_free(tmptok);
	return ok;
}

/* Rolls a finished PATH.tmp forward (see tmp_rollable); anything else is
 * left for write_locked or tokfile_reserve to reuse or unlink.  Failures
 * here are not errors: PATH is still good. */
static void
recover_locked(const char *path)
{
	char *tmp = NULL;
	int fd = -1;

	if ((tmp = path_with(path, ".tmp")) == NULL)
		return;
	if (!tmp_rollable(path, tmp))
		goto out;
	/* Its writer may have died before its fsync ended. */
	if ((fd = open(tmp, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1)
		goto out;
	if (rename(tmp, path) == 0)
		(void)fsync_parent(path);
 out:
	if (fd != -1)
		close(fd);
	free(tmp);
}

/*
 * Opens TMP (PATH.tmp) for writing into *FDp; the caller holds the lock.
 * Reuses an existing TMP only if it is a regular file (lstat, then fstat
 * of what was opened: the same inode), owned by us, with one link, no
 * group or other bit, and not a complete token file: that is a
 * reservation, or the remains of a writer that died before finishing.
 * Anything else is unlinked (a symlink itself, never its target) and TMP
 * created with O_EXCL|O_NOFOLLOW, mode 0600.  A complete token file is
 * unlinked too, unless KEEP_ROLLABLE and PATH should be rolled forward to
 * it: then -EEXIST, and it stays.
 */
static int
tmp_open(const char *path, const char *tmp, int keep_rollable, int *fdp)
{
	struct stat lst, st;
	struct tokfile *tok = NULL;
	int fd = -1, r;

	*fdp = -1;
	if (lstat(tmp, &lst) == 0 && S_ISREG(lst.st_mode) &&
	    lst.st_uid == geteuid() && lst.st_nlink == 1 &&
	    (lst.st_mode & 077) == 0) {
		if (tokfile_read(tmp, &tok) == 0) {
			tokfile_free(tok);
			if (keep_rollable && tmp_rollable(path, tmp))
				return -EEXIST;
		} else if ((fd = open(tmp, O_WRONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC | O_NOCTTY)) != -1) {
			if (fstat(fd, &st) == 0 && st.st_ino == lst.st_ino &&
			    st.st_dev == lst.st_dev && S_ISREG(st.st_mode) &&
			    st.st_uid == geteuid() && st.st_nlink == 1) {
				*fdp = fd;
				return 0;
			}
			close(fd);
			fd = -1;
		}
	}
	/* Only a lock holder creates PATH.tmp, so one that exists was left
	 * by a writer that died.  unlink(2) removes a symlink itself, never
	 * its target; O_EXCL then refuses anything that reappeared. */
	if (unlink(tmp) == -1 && errno != ENOENT)
		return -errno;
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC |
	    O_NOCTTY, 0600);
	if (fd == -1)
		return -errno;
	if (fchmod(fd, 0600) == -1) {		/* whatever the umask */
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	*fdp = fd;
	return 0;
}

/* Unlinks PATH.tmp if it is a reservation nobody wrote into (regular,
 * ours, and not a complete token file); the caller holds the lock. */
static void
tmp_discard(const char *path)
{
	struct tokfile *tok = NULL;
	struct stat st;
	char *tmp;

	if ((tmp = path_with(path, ".tmp")) == NULL)
		return;
	if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_uid == geteuid()) {
		if (tokfile_read(tmp, &tok) == 0)
			tokfile_free(tok);
		else
			(void)unlink(tmp);
	}
	free(tmp);
}

/*
 * Before any file work on PATH: the directory rule (tokfile_dir_open).
 * Who does the work is the caller's business: the helper does it as the
 * file's owner (helper/become.h), never as root in a directory another
 * user owns; a writer run as root there is refused (TOKFILE_E_DIROWNER),
 * since that user could swap names under it between two system calls.
 */
static int
place_check(const char *path)
{
	struct stat dst;
	int dirfd, r;

	if ((r = tokfile_dir_open(path, &dirfd, &dst)) != 0)
		return r;
	close(dirfd);
	if (geteuid() == 0 && dst.st_uid != 0)
		return TOKFILE_E_DIROWNER;
	return 0;
}

int
tokfile_reserve(const char *path)
{
	struct stat st;
	char *tmp = NULL, *zeros = NULL;
	off_t want = TOKFILE_RESERVE_MIN, off;
	ssize_t n;
	int fd = -1, r;

	if ((tmp = path_with(path, ".tmp")) == NULL)
		return -ENOMEM;
	if ((r = place_check(path)) != 0) {
		free(tmp);
		return r;
	}
	if (lstat(path, &st) == 0 && st.st_size + TOKFILE_RESERVE_SLACK > want)
		want = st.st_size + TOKFILE_RESERVE_SLACK;
	if (want > TOKFILE_MAX)		/* no file we write is larger */
		want = TOKFILE_MAX;
	if ((r = tmp_open(path, tmp, 1, &fd)) != 0) {
		free(tmp);		/* nothing of ours to remove */
		return r;
	}
	/* posix_fallocate returns an errno value, not -1. */
	r = posix_fallocate(fd, 0, want);
	if (r == EOPNOTSUPP || r == EINVAL) {
		/* No fallocate here (some FUSE and network file systems):
		 * write the zeros ourselves, and sync to hear about the
		 * space now rather than in write_locked's fsync. */
		r = 0;
		if ((zeros = calloc(1, 4096)) == NULL)
			r = ENOMEM;
		for (off = 0; off < want && r == 0; off += n) {
			n = pwrite(fd, zeros, (size_t)(want - off < 4096 ?
			    want - off : 4096), off);
			if (n == -1 && errno == EINTR)
				n = 0;
			else if (n == -1)
				r = errno;
		}
		if (r == 0 && fsync(fd) == -1)
			r = errno;
	}
	r = -r;
	if (fd != -1)
		close(fd);
	if (r != 0)
		(void)unlink(tmp);	/* a reservation, or leftovers */
	free(zeros);
	free(tmp);
	return r;
}

/* Replaces PATH by TOK; the caller holds PATH.lock.  Writes into the
 * PATH.tmp that tokfile_reserve left, if any, so that the blocks it
 * reserved are the ones written: truncated to the new length, written
 * from offset 0, synced and renamed. */
static int
write_locked(const char *path, const struct tokfile *tok)
{
	char *text = NULL, *tmp = NULL;
	size_t len = 0;
	int fd = -1, r;

	if ((r = tokfile_format(tok, &text, &len)) != 0)
		goto out;
	if ((tmp = path_with(path, ".tmp")) == NULL) {
		r = -ENOMEM;
		goto out;
	}
	/* A complete PATH.tmp that recover_locked did not take is replaced
	 * (tokfile_write overwrites on purpose). */
	if ((r = tmp_open(path, tmp, 0, &fd)) != 0)
		goto out;
	if (fchmod(fd, 0600) == -1) {		/* whatever the umask */
		r = -errno;
		goto out;
	}
	/* Cut the reservation to the new length first (the blocks below it
	 * stay allocated): once the text is written, PATH.tmp is complete,
	 * and a writer killed in the fsync below is rolled forward.  Until
	 * then it holds zeros, or text and zeros, and never parses. */
	if (ftruncate(fd, (off_t)len) == -1) {
		r = -errno;
		goto out;
	}
	if ((r = xo_write_all(fd, text, len)) != 0)
		goto out;
	if (fsync(fd) == -1) {
		r = -errno;
		goto out;
	}
	r = close(fd);
	fd = -1;
	if (r == -1) {
		r = -errno;
		goto out;
	}
	if (rename(tmp, path) == -1) {
		r = -errno;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	/* The new file is in place; this only makes the rename durable. */
	r = fsync_parent(path);
 out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL && r != 0)
		unlink(tmp);	/* ours (created or reused) and unfinished */
	free(tmp);
	xo_freezero(text, len);
	return r;
}

/* Whether ST is a lock file we or the token file's owner (TOKST,
 * NULL if there is no token file) made: one link, and theirs. */
static int
lock_ours(const struct stat *st, const struct stat *tokst)
{
	return st->st_nlink == 1 && (st->st_uid == geteuid() ||
	    (tokst != NULL && st->st_uid == tokst->st_uid));
}

/* Takes an exclusive flock on FD, waiting at most WAIT_MS, and no longer
 * once *STOP (if STOP is not NULL) is set.  Returns 0,
 * TOKFILE_E_LOCKED, TOKFILE_E_STOPPED or -errno. */
static int
lock_wait(int fd, int wait_ms, const volatile sig_atomic_t *stop)
{
	struct timespec pause;
	int64_t deadline, delay_ms = 1;

	deadline = xo_now_ms() + (wait_ms > 0 ? wait_ms : 0);
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK)
			return -errno;
		if (xo_now_ms() >= deadline)
			return TOKFILE_E_LOCKED;
		if (stop != NULL && *stop)
			return TOKFILE_E_STOPPED;
		/* Poll with a growing pause (1, 2, 4 .. 32 ms): flock(2) has
		 * no timeout and a signal-based one would be global state.
		 * The pause also bounds how late *STOP is seen. */
		pause.tv_sec = 0;
		pause.tv_nsec = (long)delay_ms * 1000000L;
		nanosleep(&pause, NULL);
		if (delay_ms < 32)
			delay_ms *= 2;
	}
}

/* Opens PATH.lock and takes an exclusive flock on it (lock_wait).  On
 * success *FDp holds it (close to release). */
static int
lock_take(const char *path, int wait_ms,
    const volatile sig_atomic_t *stop, int *fdp)
{
	struct stat st, tokst;
	char *lockpath = NULL;
	int fd = -1, have_tok, r;

	*fdp = -1;
	if ((lockpath = path_with(path, ".lock")) == NULL)
		return -ENOMEM;
	have_tok = lstat(path, &tokst) == 0;
	/* Look before opening too: a linked file we may not open must be
	 * named for what it is, not as a permission problem. */
	if (lstat(lockpath, &st) == 0 && S_ISREG(st.st_mode) &&
	    !lock_ours(&st, have_tok ? &tokst : NULL))
		r = TOKFILE_E_LOCKFILE;
	else if ((r = open_regular(AT_FDCWD, lockpath, O_RDONLY | O_CREAT,
	    &st, &fd)) == 0) {
		/* A second link (say, to /etc/shadow) or another user's
		 * file is not a lock file we made: refuse it, and never
		 * change it. */
		if (!lock_ours(&st, have_tok ? &tokst : NULL))
			r = TOKFILE_E_LOCKFILE;
		else if ((r = lock_wait(fd, wait_ms, stop)) == 0) {
			*fdp = fd;
			fd = -1;
		}
	}
	if (fd != -1)
		close(fd);
	free(lockpath);
	return r;
}

int
tokfile_write(const char *path, const struct tokfile *tok)
{
	int fd, r;

	if ((r = place_check(path)) != 0)
		return r;
	if ((r = lock_take(path, TOKFILE_LOCK_WAIT_MS, NULL, &fd)) == 0) {
		r = write_locked(path, tok);
		close(fd);
	}
	return r;
}

int
tokfile_update_wait(const char *path, int wait_ms,
    int (*fn)(struct tokfile *tok, void *arg), void *arg)
{
	return tokfile_update_stoppable(path, wait_ms, NULL, fn, arg);
}

int
tokfile_update_stoppable(const char *path, int wait_ms,
    const volatile sig_atomic_t *stop,
    int (*fn)(struct tokfile *tok, void *arg), void *arg)
{
	struct tokfile *tok = NULL;
	int fd = -1, r;

	if ((r = place_check(path)) != 0)
		goto out;
	if ((r = lock_take(path, wait_ms, stop, &fd)) != 0)
		goto out;
	recover_locked(path);
	/* Whoever held the lock before us may have refreshed already:
	 * decide on what is in the file now, not on what we read before. */
	if ((r = tokfile_read(path, &tok)) != 0)
		goto out;
	r = fn(tok, arg);
	if (r == TOKFILE_UNCHANGED)
		r = 0;
	else if (r > 0)
		r = -EINVAL;
	else if (r == 0) {
		r = write_locked(path, tok);
		goto out;
	}
	/* Nothing written: drop what FN may have reserved. */
	tmp_discard(path);
 out:
	tokfile_free(tok);
	if (fd != -1)
		close(fd);
	return r;
}

int
tokfile_update(const char *path, int (*fn)(struct tokfile *tok, void *arg),
    void *arg)
{
	return tokfile_update_wait(path, TOKFILE_LOCK_WAIT_MS, fn, arg);
}
