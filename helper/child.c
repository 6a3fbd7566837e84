/*
 * child: runs a program with pipes and a deadline, and leaves nothing
 * behind.  See child.h.  Only libc: the front links it.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "child.h"
#include "errors.h"
#include "stop.h"
#include "xo_err.h"
#include "xo_util.h"

#define RUN_SLICE_MS	50	/* how often a silent program is looked at */
#define RUN_CHUNK	4096

/* The pipes of a run, as polled: its stdin (our write end), its stdout
 * and its stderr (our read ends); -1 when not ours or closed. */
enum { P_IN, P_OUT, P_ERR, P_N };

/* One run in progress. */
struct run {
	const struct child_spec *spec;
	struct child_result *res;
	pid_t		 pid;
	struct pollfd	 pfd[P_N];
	size_t		 sent;		/* of SPEC->in */
	size_t		 errlen;	/* in RES->errtext */
	int64_t		 deadline;	/* xo_now_ms() */
	int		 exited;	/* the leader has exited (not reaped) */
};

void
child_result_clear(struct child_result *res)
{
	if (res == NULL)
		return;
	xo_freezero(res->out, res->out_cap);
	res->out = NULL;
	res->out_len = res->out_cap = 0;
}

static void
close_fd(int *fd)
{
	if (*fd != -1)
		close(*fd);
	*fd = -1;
}

static void
close_pair(int p[2])
{
	close_fd(&p[0]);
	close_fd(&p[1]);
}

/* The child: stdin IN (-1: /dev/null), stdout OUT, stderr ERRFD (-1:
 * ours), maybe its own process group; then SPEC's program.  A failure's
 * errno goes to STATUSFD (close-on-exec: nothing comes when the exec
 * works), negated if it came before the exec. */
static void __attribute__((noreturn))
child_exec(const struct child_spec *spec, int in, int out, int errfd,
    int statusfd)
{
	struct sigaction sa;
	sigset_t none;
	int e;

	if (spec->own_group)
		(void)setpgid(0, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGPIPE, &sa, NULL);
	(void)sigaction(SIGCHLD, &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	if (in == -1)
		in = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* Above 2 first, so that no dup2 below overwrites another. */
	if (in == -1 || (in = fcntl(in, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (out = fcntl(out, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    (errfd != -1 && (errfd = fcntl(errfd, F_DUPFD_CLOEXEC, 3)) == -1) ||
	    (statusfd = fcntl(statusfd, F_DUPFD_CLOEXEC, 3)) == -1 ||
	    dup2(in, STDIN_FILENO) == -1 || dup2(out, STDOUT_FILENO) == -1 ||
	    (errfd != -1 && dup2(errfd, STDERR_FILENO) == -1) ||
	    (spec->err_mode == CHILD_STDERR_MERGE &&
	    dup2(STDOUT_FILENO, STDERR_FILENO) == -1) ||
	    dup2(statusfd, 3) == -1 || fcntl(3, F_SETFD, FD_CLOEXEC) == -1) {
		e = -errno;
		if (write(statusfd, &e, sizeof(e)) != (ssize_t)sizeof(e))
			_exit(126);	/* seen as an exit status */
		_exit(127);
	}
	closefrom(4);
	if (spec->path != NULL)
		execv(spec->path, spec->argv);
	else
		execvp(spec->argv[0], spec->argv);
	e = errno;
	if (write(3, &e, sizeof(e)) != (ssize_t)sizeof(e))
		_exit(126);
	_exit(127);
}

/* Kills what is left of RUN (its group, or the leader alone) and reaps
 * the leader into *STATUSp.  Returns 0, or -ETIMEDOUT if it is not gone
 * CHILD_REAP_MS after SIGKILL (it is left, not waited for). */
static int
run_kill(struct run *run, int *statusp)
{
	struct timespec nap = { 0, 10 * 1000000L };
	int64_t until = xo_now_ms() + CHILD_REAP_MS;
	int st = 0;
	pid_t w;

	if (run->spec->own_group)
		(void)kill(-run->pid, SIGKILL);
	(void)kill(run->pid, SIGKILL);	/* also had its setpgid failed */
	while ((w = waitpid(run->pid, &st, WNOHANG)) == 0 ||
	    (w == -1 && errno == EINTR)) {
		if (xo_now_ms() >= until)
			return -ETIMEDOUT;
		if (w == 0)
			(void)nanosleep(&nap, NULL);
	}
	*statusp = st;
	return w == run->pid ? 0 : -ECHILD;
}

/* Our ends of the pipes into RUN->pfd (and the child's closed in P). */
static void
run_ends(struct run *run, int in[2], int out[2], int er[2])
{
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&er[1]);
	if (in[1] != -1 && (run->spec->inlen == 0 ||
	    fcntl(in[1], F_SETFL, O_NONBLOCK) == -1))
		close_fd(&in[1]);	/* nothing to feed: its stdin ends */
	run->pfd[P_IN] = (struct pollfd){ in[1], POLLOUT, 0 };
	run->pfd[P_OUT] = (struct pollfd){ out[0], POLLIN, 0 };
	run->pfd[P_ERR] = (struct pollfd){ er[0], POLLIN, 0 };
	in[1] = out[0] = er[0] = -1;
}

/* Starts RUN's program.  Returns 0, -errno, or CHILD_E_EXEC (reaped). */
static int
run_start(struct run *run)
{
	const struct child_spec *spec = run->spec;
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, er[2] = { -1, -1 };
	int st[2] = { -1, -1 }, e = 0, status, r;
	ssize_t n;

	if ((spec->in != NULL && pipe2(in, O_CLOEXEC) == -1) ||
	    (spec->out_fd == -1 && pipe2(out, O_CLOEXEC) == -1) ||
	    (spec->err_mode == CHILD_STDERR_LINE &&
	    pipe2(er, O_CLOEXEC) == -1) ||
	    pipe2(st, O_CLOEXEC) == -1 || (run->pid = fork()) == -1) {
		r = -errno;
		goto out;
	}
	if (run->pid == 0)
		child_exec(spec, in[0], out[1] != -1 ? out[1] : spec->out_fd,
		    er[1], st[1]);
	run->res->started = 1;
	if (spec->own_group)
		(void)setpgid(run->pid, run->pid);	/* either of us wins */
	close_fd(&st[1]);
	while ((n = read(st[0], &e, sizeof(e))) == -1 && errno == EINTR)
		;
	r = 0;
	if (n == (ssize_t)sizeof(e)) {
		(void)run_kill(run, &status);
		run->res->exec_errno = e;
		r = CHILD_E_EXEC;
	} else
		run_ends(run, in, out, er);
 out:
	close_pair(in);
	close_pair(out);
	close_pair(er);
	close_pair(st);
	return r;
}

/* Reads and drops what *FD holds now; closes it at its end. */
static void
drain(int *fd)
{
	char sink[512];
	ssize_t n;

	n = read(*fd, sink, sizeof(sink));
	if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN))
		close_fd(fd);
}

/* Makes room for RUN_CHUNK more bytes (and a NUL) in RUN's output, at
 * most out_max + 2: the old copy is wiped, never left to realloc. */
static int
out_grow(struct run *run)
{
	struct child_result *res = run->res;
	size_t cap, max = run->spec->out_max + 2;
	char *buf;

	if (res->out_cap - res->out_len > RUN_CHUNK)
		return 0;
	cap = res->out_cap == 0 ? 2 * RUN_CHUNK : 2 * res->out_cap;
	if (cap > max)
		cap = max;
	if (cap <= res->out_cap)
		return 0;
	if ((buf = malloc(cap)) == NULL)
		return -ENOMEM;
	if (res->out_len > 0)
		memcpy(buf, res->out, res->out_len);
	xo_freezero(res->out, res->out_cap);
	res->out = buf;
	res->out_cap = cap;
	return 0;
}

/* Reads what RUN's stdout holds now (closed at its end).  Returns 0 or
 * a negative code (CHILD_E_TOOBIG). */
static int
out_read(struct run *run)
{
	const struct child_spec *spec = run->spec;
	struct child_result *res = run->res;
	size_t room;
	ssize_t n;
	int r;

	if (spec->out_truncate && res->out_len >= spec->out_max) {
		drain(&run->pfd[P_OUT].fd);
		return 0;
	}
	if ((r = out_grow(run)) != 0)
		return r;
	room = res->out_cap - res->out_len - 1;		/* the NUL */
	if (spec->out_truncate && room > spec->out_max - res->out_len)
		room = spec->out_max - res->out_len;
	if (room == 0)
		return CHILD_E_TOOBIG;
	n = read(run->pfd[P_OUT].fd, res->out + res->out_len, room);
	if (n == -1)
		return errno == EINTR || errno == EAGAIN ? 0 : -errno;
	if (n == 0) {
		close_fd(&run->pfd[P_OUT].fd);
		return 0;
	}
	res->out_len += (size_t)n;
	return res->out_len > spec->out_max ? CHILD_E_TOOBIG : 0;
}

/* Reads RUN's stderr: the first CHILD_ERRTEXT - 1 bytes are kept, the
 * rest dropped (the program never blocks on it). */
static void
err_read(struct run *run)
{
	ssize_t n;

	if (run->errlen >= CHILD_ERRTEXT - 1) {
		drain(&run->pfd[P_ERR].fd);
		return;
	}
	n = read(run->pfd[P_ERR].fd, run->res->errtext + run->errlen,
	    CHILD_ERRTEXT - 1 - run->errlen);
	if (n > 0)
		run->errlen += (size_t)n;
	if (n == 0 || (n == -1 && errno != EINTR && errno != EAGAIN))
		close_fd(&run->pfd[P_ERR].fd);
}

/* Feeds RUN's stdin what it takes now; closed once all is sent, or
 * when the program will take no more (EPIPE: IN_SHORT tells). */
static void
in_write(struct run *run)
{
	const struct child_spec *spec = run->spec;
	ssize_t n;

	n = write(run->pfd[P_IN].fd, spec->in + run->sent,
	    spec->inlen - run->sent);
	if (n > 0)
		run->sent += (size_t)n;
	if (run->sent == spec->inlen ||
	    (n == -1 && errno != EINTR && errno != EAGAIN))
		close_fd(&run->pfd[P_IN].fd);
}

/* Has RUN's leader exited?  (Not reaped: its id stays its group's.) */
static int
run_exited(struct run *run)
{
	siginfo_t si;

	memset(&si, 0, sizeof(si));
	if (waitid(P_PID, (id_t)run->pid, &si, WEXITED | WNOHANG | WNOWAIT)
	    == -1)
		return errno != EINTR;
	return si.si_pid == run->pid;
}

/* The deadline or the stop flag, if either ends RUN now; else 0. */
static int
run_over(const struct run *run)
{
	if (xo_now_ms() >= run->deadline)
		return CHILD_E_TIMEOUT;
	if (run->spec->stop && stop_requested())
		return CHILD_E_STOPPED;
	return 0;
}

/* Feeds and reads RUN until its output ends, or its leader has exited
 * and nothing more is ready (a grandchild may keep the output open: it
 * is killed with the group).  Returns 0, or a negative code. */
static int
run_collect(struct run *run)
{
	struct pollfd *p = run->pfd;
	int64_t left;
	int r;

	while (p[P_IN].fd != -1 || p[P_OUT].fd != -1 || p[P_ERR].fd != -1) {
		if ((r = run_over(run)) != 0)
			return r;
		left = run->deadline - xo_now_ms();
		r = poll(p, P_N, run->exited ? 0 :
		    (int)(left < RUN_SLICE_MS ? left : RUN_SLICE_MS));
		if (r == -1 && errno != EINTR)
			return -errno;
		if (r == 0 && run->exited)
			return 0;
		if (r == 0)
			run->exited = run_exited(run);
		if (r <= 0)
			continue;
		if (p[P_IN].fd != -1 && p[P_IN].revents != 0)
			in_write(run);
		if (p[P_OUT].fd != -1 && p[P_OUT].revents != 0 &&
		    (r = out_read(run)) != 0)
			return r;
		if (p[P_ERR].fd != -1 && p[P_ERR].revents != 0)
			err_read(run);
	}
	return 0;
}

/* Waits (until RUN's deadline) for its leader to exit: at its output's
 * end it is exiting, so looked at after 1 ms, then 2, 4... up to
 * RUN_SLICE_MS. */
static int
run_wait(struct run *run)
{
	struct timespec nap = { 0, 1000000L };
	int r;

	while (!run->exited) {
		if ((r = run_over(run)) != 0)
			return r;
		if ((run->exited = run_exited(run)))
			break;
		(void)nanosleep(&nap, NULL);
		if (nap.tv_nsec < RUN_SLICE_MS * 1000000L / 2)
			nap.tv_nsec *= 2;
	}
	return 0;
}

/* SIGCHLD ignored (or SA_NOCLDWAIT) would reap our child behind our
 * back: set to the default for the run, and back after (*OLDp).
 * Returns whether it must be put back. */
static int
sigchld_save(struct sigaction *old)
{
	struct sigaction sa;

	if (sigaction(SIGCHLD, NULL, old) == -1)
		return 0;
	if (old->sa_handler != SIG_IGN && !(old->sa_flags & SA_NOCLDWAIT))
		return 0;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	return sigaction(SIGCHLD, &sa, NULL) == 0;
}

/* Plain words for R, the end of SPEC's run; the caller words its own. */
static int
run_words(const struct child_spec *spec, const struct child_result *res,
    int r, struct xo_err *err)
{
	const char *prog = spec->argv[0];
	int e = res->exec_errno;

	switch (r) {
	case CHILD_E_EXEC:
		return xo_err_set(err, r, "cannot run %s: %s", prog,
		    strerror(e < 0 ? -e : e));
	case CHILD_E_TIMEOUT:
		return xo_err_set(err, r, "%s did not finish in %d ms and was "
		    "killed", prog, spec->timeout_ms);
	case CHILD_E_TOOBIG:
		return xo_err_set(err, r, "%s printed more than %zu bytes and "
		    "was killed", prog, spec->out_max);
	case CHILD_E_STOPPED:
		return xo_err_set(err, r, "stopped by %s while %s ran: it was "
		    "killed", stop_name(stop_requested()), prog);
	}
	return xo_err_set(err, r, "cannot %s %s: %s", res->started ?
	    "read the output of" : "start", prog, xo_errno_text(r));
}

int
child_run(const struct child_spec *spec, struct child_result *res,
    struct xo_err *err)
{
	struct sigaction oldchld, oldpipe, ign;
	struct run run;
	int r, st = 0, restore;

	memset(res, 0, sizeof(*res));
	memset(&run, 0, sizeof(run));
	run.spec = spec;
	run.res = res;
	if (spec->argv == NULL || spec->argv[0] == NULL ||
	    spec->timeout_ms <= 0)
		return xo_err_set(err, -EINVAL, "nothing to run, or no "
		    "deadline");
	run.deadline = xo_now_ms() + spec->timeout_ms;
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	restore = sigchld_save(&oldchld);
	if (spec->in != NULL)
		(void)sigaction(SIGPIPE, &ign, &oldpipe);
	if ((r = run_start(&run)) == 0) {
		if ((r = run_collect(&run)) == 0)
			r = run_wait(&run);
		/* Any of its group still there goes too; a leader that had
		 * exited (r == 0) is reaped at once. */
		if (run_kill(&run, &st) != 0 && r == 0)
			r = -ECHILD;
		res->status = st;
		res->in_short = spec->in != NULL && run.sent < spec->inlen;
		for (st = 0; st < P_N; st++)
			close_fd(&run.pfd[st].fd);
	}
	if (spec->in != NULL)
		(void)sigaction(SIGPIPE, &oldpipe, NULL);
	if (restore)
		(void)sigaction(SIGCHLD, &oldchld, NULL);
	if (res->out != NULL)
		res->out[res->out_len] = '\0';	/* out_read keeps room */
	res->errtext[strcspn(res->errtext, "\r\n")] = '\0';
	return r == 0 ? 0 : run_words(spec, res, r, err);
}
