#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "errors.h"
#include "jobs.h"
#include "msg.h"
#include "stop.h"

/* How long the parent waits for output before it looks again for
 * children that ended (one whose output a grandchild still holds open)
 * and for a stop request: one is seen within this. */
#define JOBS_POLL_MS	32

struct jobs_buf {
	char		*data;
	size_t		 len, cap;
};

enum { JOB_WAITING, JOB_RUNNING, JOB_DONE };

struct job {
	pid_t		 pid;
	int		 fd[2];		/* read ends of its stdout, stderr;
					 * -1: at end */
	struct jobs_buf	 buf[2];	/* what it printed, kept until it is
					 * at the head */
	int		 state;
};

struct jobs {
	struct job	*job;
	size_t		 n, max;
	size_t		 next;		/* the next one to start */
	size_t		 head;		/* the first one not done and printed */
	size_t		 running;
	int		*status;
	int		 stopping;
	struct pollfd	*pfd;		/* 2 * max */
	size_t		*pfd_job;
};

/* Writes all of P to FD (our stdout or stderr); a reader that went away
 * loses the rest, as it would have without us. */
static void
put_all(int fd, const char *p, size_t len)
{
	ssize_t w;

	while (len > 0) {
		w = write(fd, p, len);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		p += w;
		len -= (size_t)w;
	}
}

/* Keeps P in B; if memory runs out, writes it to FD at once (out of
 * order is better than lost). */
static void
buf_add(struct jobs_buf *b, int fd, const char *p, size_t len)
{
	size_t cap;
	char *d;

	if (b->len + len > b->cap) {
		cap = b->cap == 0 ? 4096 : b->cap;
		while (cap < b->len + len)
			cap *= 2;
		if ((d = realloc(b->data, cap)) == NULL) {
			put_all(fd, p, len);
			return;
		}
		b->data = d;
		b->cap = cap;
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
}

/* Reads what job I's stream K (0 stdout, 1 stderr) holds, until it
 * would block: straight out when I is at the head, else into its
 * buffer.  At end of file (or an error) closes the stream. */
static void
take_output(struct jobs *js, size_t i, int k)
{
	struct job *j = &js->job[i];
	char chunk[4096];
	ssize_t r;

	while (j->fd[k] != -1) {
		r = read(j->fd[k], chunk, sizeof(chunk));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && errno == EAGAIN)
			return;
		if (r <= 0) {
			close(j->fd[k]);
			j->fd[k] = -1;
			return;
		}
		if (i == js->head)
			put_all(k + 1, chunk, (size_t)r);
		else
			buf_add(&j->buf[k], k + 1, chunk, (size_t)r);
	}
}

/* Passes on the output of the jobs at the head: all of a done one's,
 * then moves on; what a running one has printed so far (it streams from
 * now on). */
static void
advance(struct jobs *js)
{
	struct job *j;
	int k;

	while (js->head < js->n) {
		j = &js->job[js->head];
		for (k = 0; k < 2; k++) {
			put_all(k + 1, j->buf[k].data, j->buf[k].len);
			free(j->buf[k].data);
			memset(&j->buf[k], 0, sizeof(j->buf[k]));
		}
		if (j->state != JOB_DONE)
			return;
		js->head++;
	}
}

/* In the child: stdout and stderr are the pipes OUT and ERR; the other
 * jobs' output is not its business (as root, its child becomes a
 * file's owner: become.h); runs the work. */
static void
child(const struct jobs *js, jobs_fn *fn, void *arg, int out[2],
    int err[2])
{
	size_t j;
	int r, k;

	for (j = js->head; j < js->next; j++)
		for (k = 0; k < 2; k++)
			if (js->job[j].fd[k] != -1)
				close(js->job[j].fd[k]);
	if (dup2(out[1], STDOUT_FILENO) == -1 ||
	    dup2(err[1], STDERR_FILENO) == -1)
		_exit(127);
	close(out[0]);
	close(out[1]);
	close(err[0]);
	close(err[1]);
	r = fn(js->next, arg);
	fflush(NULL);
	_exit(r & 0xff);
}

/* Starts job NEXT.  Returns 0 (started, or marked done with XO_E_OSERR
 * when nothing else runs), or -1 if it must wait for a running one to
 * end (the system is out of processes or descriptors). */
static int
start_job(struct jobs *js, jobs_fn *fn, void *arg, char *const *who)
{
	size_t i = js->next;
	struct job *j = &js->job[i];
	int out[2] = { -1, -1 }, err[2] = { -1, -1 }, e;
	pid_t pid = -1;

	if (pipe2(out, O_CLOEXEC) == 0 && pipe2(err, O_CLOEXEC) == 0) {
		fflush(NULL);		/* nothing buffered is written twice */
		if ((pid = fork()) == 0)
			child(js, fn, arg, out, err);
	}
	e = errno;
	if (out[1] != -1)
		close(out[1]);
	if (err[1] != -1)
		close(err[1]);
	if (pid == -1) {
		if (out[0] != -1)
			close(out[0]);
		if (err[0] != -1)
			close(err[0]);
		if (js->running > 0) {
			js->max = js->running;	/* no room for more */
			return -1;
		}
		msg(who[i], "cannot start a process for it: %s; try again",
		    strerror(e));
		js->status[i] = XO_E_OSERR;
		j->state = JOB_DONE;
		js->next++;
		return 0;
	}
	(void)fcntl(out[0], F_SETFL, O_NONBLOCK);
	(void)fcntl(err[0], F_SETFL, O_NONBLOCK);
	j->pid = pid;
	j->fd[0] = out[0];
	j->fd[1] = err[0];
	j->state = JOB_RUNNING;
	js->running++;
	js->next++;
	return 0;
}

/* Collects job I if it has ended (waits for it if BLOCK: its streams
 * are at end, it is exiting): takes what its streams still hold (a
 * grandchild may keep them open: not waited for), and its status. */
static void
reap(struct jobs *js, size_t i, int block)
{
	struct job *j = &js->job[i];
	int st = 0, k;
	pid_t w;

	do
		w = waitpid(j->pid, &st, block ? 0 : WNOHANG);
	while (w == -1 && errno == EINTR);
	if (w == 0)
		return;
	for (k = 0; k < 2; k++) {
		take_output(js, i, k);
		if (j->fd[k] != -1) {
			close(j->fd[k]);
			j->fd[k] = -1;
		}
	}
	if (w == -1)		/* not ours any more: cannot be */
		js->status[i] = XO_E_OSERR;
	else if (WIFSIGNALED(st))
		js->status[i] = 128 + WTERMSIG(st);
	else
		js->status[i] = WEXITSTATUS(st);
	j->state = JOB_DONE;
	js->running--;
}

/* Waits (JOBS_POLL_MS at most) for output of the running jobs, takes
 * it, and collects those that ended. */
static void
wait_some(struct jobs *js)
{
	size_t i, np = 0, p;
	struct job *j;
	int k;

	for (i = js->head; i < js->next; i++) {
		j = &js->job[i];
		for (k = 0; j->state == JOB_RUNNING && k < 2; k++) {
			if (j->fd[k] == -1)
				continue;
			js->pfd[np].fd = j->fd[k];
			js->pfd[np].events = POLLIN;
			js->pfd[np].revents = 0;
			js->pfd_job[np++] = i * 2 + (size_t)k;
		}
	}
	if (poll(js->pfd, np, JOBS_POLL_MS) > 0) {
		for (p = 0; p < np; p++)
			if (js->pfd[p].revents != 0)
				take_output(js, js->pfd_job[p] / 2,
				    (int)(js->pfd_job[p] % 2));
	}
	for (i = js->head; i < js->next; i++) {
		j = &js->job[i];
		if (j->state == JOB_RUNNING)
			reap(js, i, j->fd[0] == -1 && j->fd[1] == -1);
	}
}

/* A stop request: start nothing more, pass it on to the running ones. */
static void
stop_all(struct jobs *js)
{
	size_t i;

	js->stopping = 1;
	for (i = js->head; i < js->next; i++)
		if (js->job[i].state == JOB_RUNNING)
			(void)kill(js->job[i].pid, stop_requested());
	for (i = js->next; i < js->n; i++)
		js->job[i].state = JOB_DONE;	/* status -1: not run */
	js->next = js->n;
}

int
jobs_run(size_t n, size_t max, jobs_fn *fn, void *arg, char *const *who,
    int *status)
{
	struct jobs js;
	size_t i;

	memset(&js, 0, sizeof(js));
	js.n = n;
	js.max = max < 1 ? 1 : max > n ? (n > 0 ? n : 1) : max;
	js.status = status;
	js.job = calloc(n > 0 ? n : 1, sizeof(*js.job));
	js.pfd = calloc(2 * js.max, sizeof(*js.pfd));
	js.pfd_job = calloc(2 * js.max, sizeof(*js.pfd_job));
	if (js.job == NULL || js.pfd == NULL || js.pfd_job == NULL) {
		free(js.job);
		free(js.pfd);
		free(js.pfd_job);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		js.job[i].fd[0] = js.job[i].fd[1] = -1;
		status[i] = -1;
	}
	for (;;) {
		if (stop_requested() && !js.stopping)
			stop_all(&js);
		while (js.running < js.max && js.next < n)
			if (start_job(&js, fn, arg, who) != 0)
				break;
		advance(&js);
		if (js.running == 0 && js.next == n)
			break;
		if (js.running > 0)
			wait_some(&js);
	}
	advance(&js);
	free(js.job);
	free(js.pfd);
	free(js.pfd_job);
	return 0;
}
