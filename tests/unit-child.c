/*
 * helper/child.c: running a program with pipes and a deadline, once for
 * its three callers (secret.c, keyring.c, credential.c; their own tests
 * keep only how each words the end of a run).  A table of runs: stdout
 * captured, stdin's bytes delivered (more than a pipe holds, and to a
 * program that reads none of them), /dev/null, exit statuses and
 * signals, a program that cannot start, the output bound (killed, or
 * truncated), the deadline, the process group killed whole (a
 * grandchild too), a grandchild that keeps stdout open not waited for,
 * stderr's first line or with stdout; then our
 * descriptors, SIGCHLD ignored, no output buffer left unwiped (free is
 * wrapped: every buffer freed during a run is searched for the output's
 * bytes), and the stop flag.
 */
#include "config.h"

#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "child.h"
#include "stop.h"
#include "unit.h"
#include "xo_err.h"
#include "xo_util.h"

static char dir[64];		/* this run's files */

/* --- free, watched -------------------------------------------------------- */

/* Linked with -Wl,--wrap=free: while WATCH is set, a buffer freed that
 * still holds MARK is counted (an output buffer not wiped). */
void __real_free(void *);
void __wrap_free(void *);

#define MARK	"ThisIsTheSecretOutput:"
static int watch, unwiped;

void
__wrap_free(void *p)
{
	size_t n;

	if (watch && p != NULL) {
		n = malloc_usable_size(p);
		if (memmem(p, n, MARK, sizeof(MARK) - 1) != NULL)
			unwiped++;
	}
	__real_free(p);
}

/* --- runs ----------------------------------------------------------------- */

#define BIG	(200 * 1024)	/* more than a pipe holds */
static char big[BIG];

static const struct {
	const char	*name;
	const char	*argv[6];	/* @: DIR */
	const char	*path;
	const char	*in;		/* "BIG": big[] */
	size_t		 inlen;
	size_t		 out_max;	/* 0: 1024 */
	int		 out_truncate;
	int		 timeout_ms;	/* 0: 30 s (a loaded machine) */
	int		 own_group;
	enum child_stderr err_mode;
	int		 code;
	const char	*out;		/* NULL: not checked; "BIG": big[] */
	size_t		 outlen;	/* 0: strlen(out) */
	int		 exit;		/* with code 0 */
	int		 sig;		/* killed by it, with code 0 */
	const char	*errtext;
	int		 in_short;
	int		 max_ms;	/* 0: not checked */
	const char	*pidfile;	/* a process of its group, killed */
} run_rows[] = {
	{ "stdout captured", { "printf", "%s|", "a b", "$HOME" }, .out =
	    "a b|$HOME|" },
	{ "argv[0] is not the program run", { "named-so", "-c",
	    "printf %s \"$0\"" }, .path = "/bin/sh", .out = "named-so" },
	{ "stdin's bytes delivered, a NUL too", { "cat" }, .in = "ab\0cd",
	    .inlen = 5, .out = "ab\0cd", .outlen = 5 },
	{ "stdin: more than a pipe holds, read as it is fed", { "cat" },
	    .in = "BIG", .inlen = BIG, .out_max = BIG, .out = "BIG" },
	{ "stdin not read: no error, said", { "true" }, .in = "BIG",
	    .inlen = BIG, .out = "", .in_short = 1 },
	{ "stdin empty", { "wc", "-c" }, .in = "", .inlen = 0, .out = "0\n" },
	{ "no stdin: /dev/null", { "readlink", "/proc/self/fd/0" }, .out =
	    "/dev/null\n" },
	{ "exit 3", { "sh", "-c", "exit 3" }, .exit = 3 },
	{ "killed by a signal", { "sh", "-c", "kill -TERM $$" },
	    .sig = SIGTERM },
	{ "not on PATH", { "xo-no-such-program" }, .code = CHILD_E_EXEC },
	{ "no such path", { "x" }, .path = "/nonexistent/prog",
	    .code = CHILD_E_EXEC },
	{ "output at the bound", { "head", "-c", "100", "/dev/zero" },
	    .out_max = 100 },
	{ "output past the bound: killed", { "yes" }, .out_max = 100000,
	    .code = CHILD_E_TOOBIG, .max_ms = 5000 },
	{ "output past the bound, truncated: the rest dropped", { "sh", "-c",
	    "head -c 100000 /dev/zero | tr '\\0' x; exit 4" }, .out_max = 10,
	    .out_truncate = 1, .out = "xxxxxxxxxx", .exit = 4 },
	{ "the deadline", { "sleep", "30" }, .timeout_ms = 500,
	    .code = CHILD_E_TIMEOUT, .max_ms = 2500 },
	{ "the deadline kills its group, a grandchild too", { "sh", "-c",
	    "sleep 30 & echo $! >@/gc.pid; wait" }, .timeout_ms = 500,
	    .own_group = 1, .code = CHILD_E_TIMEOUT, .max_ms = 2500,
	    .pidfile = "gc.pid" },
	{ "a grandchild keeps stdout: done when the leader is", { "sh", "-c",
	    "printf ok; sleep 30 & echo $! >@/bg.pid" }, .own_group = 1,
	    .out = "ok", .max_ms = 2000, .pidfile = "bg.pid" },
	{ "stderr: its first line", { "sh", "-c", "echo first >&2; "
	    "echo second >&2; exit 5" }, .err_mode = CHILD_STDERR_LINE,
	    .exit = 5, .errtext = "first" },
	{ "stderr with stdout, as 2>&1", { "sh", "-c", "printf a; printf b "
	    ">&2; printf c" }, .err_mode = CHILD_STDERR_MERGE, .out = "abc" },
	{ "stderr: much more, dropped, never blocks", { "sh", "-c",
	    "head -c 100000 /dev/zero | tr '\\0' e >&2; printf done" },
	    .err_mode = CHILD_STDERR_LINE, .out = "done" },
};

/* The pid in DIR/NAME, or -1. */
static pid_t
read_pid(const char *name)
{
	FILE *f = fopen(unit_labelf("%s/%s", dir, name), "r");
	long pid = -1;

	if (f != NULL) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	unlink(unit_labelf("%s/%s", dir, name));
	return (pid_t)pid;
}

/* The process PID (ours as the subreaper) is gone within a second,
 * killed: it was in the program's process group. */
static void
expect_killed(const char *label, pid_t pid)
{
	int64_t until = xo_now_ms() + 1000;
	int st = 0;
	pid_t w;

	if (pid <= 0) {
		unit_fail(label, "no pid written");
		return;
	}
	while ((w = waitpid(pid, &st, WNOHANG)) == 0 && xo_now_ms() < until)
		usleep(10000);
	if (w == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		return;
	unit_fail(label, "the process %ld of its group is %s", (long)pid,
	    w == 0 ? "still running" : "gone, but not by SIGKILL");
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
}

/* ROW's argv, with @ as DIR, into ARGV (words in BUF). */
static void
row_argv(const char *const *words, char **argv, char buf[6][256])
{
	const char *at;
	int i;

	for (i = 0; i < 6 && words[i] != NULL; i++) {
		if ((at = strchr(words[i], '@')) != NULL)
			snprintf(buf[i], 256, "%.*s%s%s", (int)(at - words[i]),
			    words[i], dir, at + 1);
		else
			snprintf(buf[i], 256, "%s", words[i]);
		argv[i] = buf[i];
	}
	argv[i] = NULL;
}

/* How T's run ended, against what T wants. */
static void
expect_end(const char *label, const __typeof__(run_rows[0]) *t,
    const struct child_result *res, int r)
{
	int st = res->status;

	expect_int(label, r, t->code);
	if (r == CHILD_E_EXEC)
		expect_int(unit_labelf("%s: errno", label), res->exec_errno,
		    ENOENT);
	if (r != 0)
		return;
	if (t->sig != 0)
		expect_int(unit_labelf("%s: signal", label), WIFSIGNALED(st) ?
		    WTERMSIG(st) : -1, t->sig);
	else
		expect_int(unit_labelf("%s: exit", label), WIFEXITED(st) ?
		    WEXITSTATUS(st) : -1, t->exit);
	if (t->out != NULL && strcmp(t->out, "BIG") == 0)
		expect_int(unit_labelf("%s: output", label),
		    res->out_len == BIG && memcmp(res->out, big, BIG) == 0, 1);
	else if (t->out != NULL)
		expect_bytes(unit_labelf("%s: output", label), res->out_len ?
		    res->out : "", res->out_len, t->out, t->outlen != 0 ?
		    t->outlen : strlen(t->out));
	expect_int(unit_labelf("%s: stdin short", label), res->in_short,
	    t->in_short);
	if (t->errtext != NULL)
		expect_str(unit_labelf("%s: stderr", label), res->errtext,
		    t->errtext);
	if (res->out != NULL && res->out[res->out_len] != '\0')
		unit_fail(label, "output not NUL-terminated");
}

static void
check_run(const char *label, const void *p)
{
	const __typeof__(run_rows[0]) *t = p;
	char *argv[7], words[6][256];
	struct child_spec spec;
	struct child_result res;
	struct xo_err err;
	int64_t t0, ms;
	int r;

	row_argv(t->argv, argv, words);
	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.path = t->path;
	spec.in = t->in != NULL && strcmp(t->in, "BIG") == 0 ? big : t->in;
	spec.inlen = t->inlen;
	spec.out_fd = -1;
	spec.out_max = t->out_max != 0 ? t->out_max : 1024;
	spec.out_truncate = t->out_truncate;
	spec.timeout_ms = t->timeout_ms != 0 ? t->timeout_ms : 30000;
	spec.own_group = t->own_group;
	spec.err_mode = t->err_mode;
	xo_err_clear(&err);
	t0 = xo_now_ms();
	r = child_run(&spec, &res, &err);
	ms = xo_now_ms() - t0;
	expect_end(label, t, &res, r);
	if (r != 0)
		expect_contains(unit_labelf("%s: words", label), err.msg,
		    argv[0]);
	if (t->max_ms > 0 && ms > t->max_ms)
		unit_fail(label, "took %lld ms, more than %d", (long long)ms,
		    t->max_ms);
	if (t->pidfile != NULL)
		expect_killed(label, read_pid(t->pidfile));
	child_result_clear(&res);
	if (res.out != NULL || res.out_len != 0)
		unit_fail(label, "child_result_clear left the output");
}

/* --- around a run --------------------------------------------------------- */

/* A run with ARGV (the rest as a caller sets it) into *RES. */
static int
run_simple(char *const *argv, struct child_result *res, int stop,
    size_t out_max)
{
	struct child_spec spec;

	memset(&spec, 0, sizeof(spec));
	spec.argv = argv;
	spec.out_fd = -1;
	spec.out_max = out_max;
	spec.timeout_ms = 30000;
	spec.own_group = 1;
	spec.stop = stop;
	return child_run(&spec, res, NULL);
}

/* A descriptor of ours (not close-on-exec) is not the program's; a
 * SIGCHLD we ignore stays ignored, and the program is still reaped. */
static void
check_fds_and_sigchld(void)
{
	char fdpath[64], *readlink_fd[] = { (char *)"readlink", fdpath, NULL };
	char *printf_x[] = { (char *)"printf", (char *)"x", NULL };
	struct child_result res;
	struct sigaction sa;
	int fd, high;

	unit_rows += 3;
	/* Above the few a child uses on its way to exec (0 to 3). */
	fd = open("/dev/null", O_RDONLY);
	high = fcntl(fd, F_DUPFD, 20);
	close(fd);
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", high);
	expect_int("our descriptor: run", run_simple(readlink_fd, &res, 0,
	    1024), 0);
	expect_int("our descriptor: not inherited", WIFEXITED(res.status) &&
	    WEXITSTATUS(res.status) == 1, 1);
	close(high);
	child_result_clear(&res);

	signal(SIGCHLD, SIG_IGN);
	expect_int("SIGCHLD ignored: run", run_simple(printf_x, &res, 0, 1024),
	    0);
	expect_bytes("SIGCHLD ignored: output", res.out, res.out_len, "x", 1);
	expect_int("SIGCHLD ignored: exit", WIFEXITED(res.status) &&
	    WEXITSTATUS(res.status) == 0, 1);
	sigaction(SIGCHLD, NULL, &sa);
	expect_int("SIGCHLD ignored: still", sa.sa_handler == SIG_IGN, 1);
	signal(SIGCHLD, SIG_DFL);
	child_result_clear(&res);
}

/* 300 KiB of output grow the buffer six times: no old copy is freed
 * with the output in it, nor the last by child_result_clear. */
static void
check_wiped(void)
{
	char cmd[128];
	char *argv[] = { (char *)"sh", (char *)"-c", cmd, NULL };
	struct child_result res;
	int r;

	unit_rows++;
	snprintf(cmd, sizeof(cmd), "yes %s | head -c 300000", MARK);
	watch = 1;
	r = run_simple(argv, &res, 0, 400000);
	expect_int("wiped: run", r, 0);
	expect_int("wiped: all of it", res.out_len, 300000);
	expect_int("wiped: marked", memmem(res.out, res.out_len, MARK,
	    sizeof(MARK) - 1) != NULL, 1);
	child_result_clear(&res);
	watch = 0;
	expect_int("wiped: output buffers freed unwiped", unwiped, 0);
}

/* Told to stop (SIGTERM: stop.h) while the program runs: with STOP its
 * group, which no terminal signals, is killed at once; without, the
 * flag is not ours to read.  Last: the flag stays set. */
static void
check_stop(void)
{
	const char *label = "SIGTERM: the program killed at once";
	char cmd[256], *argv[] = { (char *)"sh", (char *)"-c", cmd, NULL };
	char *printf_y[] = { (char *)"printf", (char *)"y", NULL };
	struct child_result res;
	int64_t t0;
	pid_t pid;

	unit_rows += 2;
	stop_catch();
	/* The program signals us itself, once it runs: no guessed time. */
	snprintf(cmd, sizeof(cmd), "echo $$ >%s/st.pid; kill -TERM $PPID; "
	    "exec sleep 30", dir);
	t0 = xo_now_ms();
	expect_int(label, run_simple(argv, &res, 1, 1024), CHILD_E_STOPPED);
	if (xo_now_ms() - t0 > 2000)
		unit_fail(label, "took %lld ms", (long long)(xo_now_ms() - t0));
	expect_int(unit_labelf("%s: flag", label), stop_requested(), SIGTERM);
	pid = read_pid("st.pid");	/* the leader: reaped by child_run */
	if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH)
		unit_fail(label, "the program (pid %ld) is still there",
		    (long)pid);
	child_result_clear(&res);
	expect_int("not told to heed the flag: runs", run_simple(printf_y, &res,
	    0, 1024), 0);
	expect_bytes("not told to heed the flag: output", res.out, res.out_len,
	    "y", 1);
	child_result_clear(&res);
}

int
main(void)
{
	char cmd[128];
	size_t i;
	int rows;

	snprintf(dir, sizeof(dir), "/tmp/unit-child.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	for (i = 0; i < BIG; i++)
		big[i] = (char)('a' + i % 23);
	/* Orphans of a program's group become ours: expect_killed sees
	 * how they ended. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);
	UNIT_TABLE_NAMED(run_rows, check_run);
	check_fds_and_sigchld();
	check_wiped();
	check_stop();
	rows = unit_rows;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", dir);
	return unit_done("unit-child", rows);
}
