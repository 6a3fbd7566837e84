/*
 * child: runs a program, feeds it bytes, captures what it prints, within
 * a deadline, and leaves nothing behind -- the helper's one owner of that
 * rule.  secret.c (a secret command), keyring.c (xoauth2-keyring),
 * credential.c (systemd-creds) and postfix.c (postconf, postmap,
 * postfix, systemctl) ask it and word the outcome themselves: the
 * mapping from a run's end to their codes and messages stays theirs.
 * Only libc (and stop.h): the front links it.
 *
 * One run:
 *   - the program is SPEC->path (execv), or ARGV[0] looked up in PATH
 *     (execvp) if path is NULL; no shell; the environment is ours;
 *   - its stdin is SPEC->in (INLEN bytes, fed as it reads, then closed;
 *     one that exits without reading it all is no error: IN_SHORT says
 *     so) or /dev/null; its stdout is captured (at most SPEC->out_max
 *     bytes; with out_truncate the rest is read and dropped) or is
 *     SPEC->out_fd; its stderr is ours, or goes with stdout, or its
 *     first line is captured into RES->errtext (the rest is dropped);
 *   - in it: SIGPIPE and SIGCHLD at their default, no signal blocked,
 *     no descriptor of ours beyond 0, 1, 2 (closefrom), a process group
 *     of its own if SPEC->own_group (then no terminal signal reaches it:
 *     SPEC->stop is how it is stopped);
 *   - the run ends at the end of its output, once the program (the
 *     leader) has exited -- or as soon as the leader has exited and its
 *     output holds nothing more: a grandchild that keeps the output open
 *     is not waited for; at the deadline (CHILD_E_TIMEOUT); at more than
 *     out_max bytes of output (CHILD_E_TOOBIG, unless out_truncate);
 *     when we are told to stop
 *     (SPEC->stop and stop_requested(): CHILD_E_STOPPED);
 *   - then what is left of it is killed (SIGKILL to its group, or to the
 *     leader) and the leader reaped, waited for at most CHILD_REAP_MS
 *     (one stuck in the kernel, on a dead NFS server, is left);
 *   - a SIGCHLD we ignore (or SA_NOCLDWAIT, which would reap the child
 *     behind our back) is at its default for the run and back after;
 *     SIGPIPE is ignored while we feed its stdin, and back after;
 *   - the output buffer grows by copying, and the old copy is wiped;
 *     child_result_clear wipes the last one.  A caller that keeps the
 *     output takes RES->out (and sets it NULL).
 */
#ifndef XO_CHILD_H
#define XO_CHILD_H

#include <stddef.h>

struct xo_err;

/* Errors (errors.h lists every module's range). */
#define CHILD_E_EXEC		(-2701)	/* it could not be started:
					 * RES->exec_errno says why */
#define CHILD_E_TIMEOUT		(-2702)	/* the deadline passed: killed */
#define CHILD_E_TOOBIG		(-2703)	/* more than out_max bytes: killed */
#define CHILD_E_STOPPED		(-2704)	/* told to stop (stop.h): killed */

#define CHILD_REAP_MS		2000	/* for a killed leader to be gone */
#define CHILD_ERRTEXT		256

enum child_stderr {
	CHILD_STDERR_OURS,		/* inherited: the user sees it */
	CHILD_STDERR_LINE,		/* its first line into RES->errtext */
	CHILD_STDERR_MERGE,		/* into stdout, as 2>&1 */
};

/* What to run, and how. */
struct child_spec {
	char *const	*argv;		/* NULL-terminated; argv[0] names it */
	const char	*path;		/* the program; NULL: argv[0] on PATH */
	const char	*in;		/* stdin's bytes, or NULL: /dev/null */
	size_t		 inlen;
	int		 out_fd;	/* stdout; -1: captured into RES->out */
	size_t		 out_max;	/* captured: more is CHILD_E_TOOBIG */
	int		 out_truncate;	/* ... or is read and dropped */
	int		 timeout_ms;	/* > 0: the deadline, from the start */
	int		 own_group;	/* a process group of its own */
	int		 stop;		/* give up once stop_requested() */
	enum child_stderr err_mode;
};

/* How a run ended. */
struct child_result {
	char		*out;		/* stdout (a secret, maybe), NUL at
					 * out[out_len]; NULL if nothing came */
	size_t		 out_len, out_cap;
	int		 status;	/* its wait status, when child_run
					 * returned 0 */
	int		 started;	/* it was forked (else nothing ran) */
	int		 exec_errno;	/* CHILD_E_EXEC: execv's errno (> 0),
					 * or -errno of a step before it */
	int		 in_short;	/* it did not read all of SPEC->in */
	char		 errtext[CHILD_ERRTEXT];	/* CHILD_STDERR_LINE */
};

/* Runs SPEC (see above) into *RES (emptied first; wipe it with
 * child_result_clear, whatever is returned).  Returns 0 once the program
 * ended by itself (RES->status says how: any exit status, a signal), or
 * CHILD_E_EXEC, CHILD_E_TIMEOUT, CHILD_E_TOOBIG, CHILD_E_STOPPED, or
 * -errno (a pipe, fork, poll or read failed; -ECHILD if the leader could
 * not be reaped); ERR has plain words naming argv[0], which a caller
 * replaces with its own. */
int child_run(const struct child_spec *spec, struct child_result *res,
    struct xo_err *err);

/* Wipes and frees RES's output; RES may be used again. */
void child_result_clear(struct child_result *res);

#endif
