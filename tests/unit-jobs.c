/*
 * unit-jobs: helper/jobs.c, the children of `refresh --all --jobs N'.
 *
 * Rows of { items, at most at once, who finishes first }; for each, the
 * work (in the children) counts in shared memory how many run at once,
 * prints a line to stdout and one to stderr (item 1 far more than a
 * pipe holds, while it is not at the head), exits with a status of its
 * own, and item 5 dies of SIGKILL.  The parent's stdout and stderr must
 * hold every item's output in the items' order whoever finished first,
 * the statuses must be each item's, and no more than MAX may have run at
 * once (and more than one, when allowed).  Last, a stop request (stop.h)
 * in the middle: nothing more starts, what started is passed on.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "jobs.h"
#include "stop.h"
#include "unit.h"

#define BIG	(200 * 1024)	/* item 1's stdout: more than a pipe holds */

struct shared {
	int	 running, most;
};

struct row {
	size_t	 n, max;
	int	 reverse;	/* the last items finish first */
	int	 stop_at;	/* item that asks its parent to stop; -1 */
};

static const struct row rows[] = {
	{ 12, 3, 0, -1 },
	{ 12, 3, 1, -1 },
	{ 7, 1, 1, -1 },
	{ 3, 8, 1, -1 },
	{ 1, 4, 0, -1 },
	{ 12, 2, 0, 4 },	/* last: the stop flag stays set */
};

static struct shared *sh;
static const struct row *cur;

static void
pause_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* jobs_fn: in the child. */
static int
work(size_t i, void *arg)
{
	static char big[BIG];
	int now;

	(void)arg;
	now = __atomic_add_fetch(&sh->running, 1, __ATOMIC_SEQ_CST);
	if (now > __atomic_load_n(&sh->most, __ATOMIC_SEQ_CST))
		__atomic_store_n(&sh->most, now, __ATOMIC_SEQ_CST);
	if ((int)i == cur->stop_at)
		kill(getppid(), SIGTERM);
	pause_ms(cur->reverse ? (long)(cur->n - i) * 4 : 4);
	printf("out %zu\n", i);
	if (i == 1) {
		memset(big, 'b', sizeof(big));
		fwrite(big, 1, sizeof(big), stdout);
	}
	fprintf(stderr, "err %zu\n", i);
	fflush(NULL);
	__atomic_sub_fetch(&sh->running, 1, __ATOMIC_SEQ_CST);
	if (i == 5)
		raise(SIGKILL);
	return (int)(i % 4 == 3 ? i : 0);
}

/* What FILE holds, as a string (malloc'd). */
static char *
slurp(FILE *f, size_t *lenp)
{
	long len;
	char *s;

	fflush(f);
	len = ftell(f);
	rewind(f);
	if (len < 0 || (s = malloc((size_t)len + 1)) == NULL ||
	    fread(s, 1, (size_t)len, f) != (size_t)len) {
		printf("FAIL: cannot read the output back\n");
		exit(1);
	}
	s[len] = '\0';
	*lenp = (size_t)len;
	return s;
}

/* Items [0, STARTED) ran: what they must have printed, in order. */
static void
expected(size_t started, char **outp, char **errp)
{
	size_t i, o = 0, e = 0;
	char *out = malloc(started * 32 + BIG + 1), *err = malloc(started * 32 + 1);

	if (out == NULL || err == NULL)
		exit(1);
	for (i = 0; i < started; i++) {
		o += (size_t)sprintf(out + o, "out %zu\n", i);
		if (i == 1) {
			memset(out + o, 'b', BIG);
			o += BIG;
		}
		e += (size_t)sprintf(err + e, "err %zu\n", i);
	}
	out[o] = err[e] = '\0';
	*outp = out;
	*errp = err;
}

static void
run_row(const struct row *r)
{
	FILE *fo = tmpfile(), *fe = tmpfile();
	int saved_out = dup(1), saved_err = dup(2), st[16], want;
	char *who[16], name[16][8], label[64], *out, *err, *wout, *werr;
	size_t i, olen, elen, started = r->n;

	for (i = 0; i < r->n; i++) {
		snprintf(name[i], sizeof(name[i]), "i%zu", i);
		who[i] = name[i];
	}
	cur = r;
	sh->running = sh->most = 0;
	fflush(NULL);
	dup2(fileno(fo), 1);
	dup2(fileno(fe), 2);
	if (jobs_run(r->n, r->max, work, NULL, who, st) != 0)
		exit(1);
	dup2(saved_out, 1);
	dup2(saved_err, 2);
	snprintf(label, sizeof(label), "n %zu max %zu%s%s", r->n, r->max,
	    r->reverse ? " reverse" : "", r->stop_at >= 0 ? " stop" : "");
	if (r->stop_at >= 0) {
		for (started = 0; started < r->n && st[started] != -1; started++)
			;
		for (i = started; i < r->n; i++)
			if (st[i] != -1)
				printf("FAIL %s: item %zu ran after one that did not\n",
				    label, i), unit_failures++;
		if (started == r->n || started <= (size_t)r->stop_at)
			printf("FAIL %s: %zu started after a stop at item %d\n",
			    label, started, r->stop_at), unit_failures++;
	}
	for (i = 0; i < started; i++) {
		want = i == 5 ? 128 + SIGKILL : (int)(i % 4 == 3 ? i : 0);
		if (st[i] != want)
			printf("FAIL %s: item %zu: status %d, want %d\n", label,
			    i, st[i], want), unit_failures++;
	}
	if (sh->most > (int)r->max || (r->max > 1 && r->n > 1 &&
	    r->stop_at < 0 && sh->most < 2))
		printf("FAIL %s: %d ran at once\n", label, sh->most),
		    unit_failures++;
	out = slurp(fo, &olen);
	err = slurp(fe, &elen);
	expected(started, &wout, &werr);
	expect_bytes(label, out, olen, wout, strlen(wout));
	expect_str(label, err, werr);
	free(out), free(err), free(wout), free(werr);
	fclose(fo);
	fclose(fe);
	close(saved_out);
	close(saved_err);
}

int
main(void)
{
	size_t i;

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	stop_catch();
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		run_row(&rows[i]);
	if (unit_failures == 0)
		printf("unit-jobs: %zu rows ok\n", i);
	return unit_failures != 0;
}
