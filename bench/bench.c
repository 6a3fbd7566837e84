/*
 * bench: what an XOAUTH2 / OAUTHBEARER exchange and loading
 * libxoauth2.so cost, next to Cyrus's own PLAIN plugin measured in the
 * same run.  It is a report, not a test: a missed target prints MISSED
 * and the exit status stays 0; only a bench that cannot run exits non-zero
 * (sysexits: 64 usage, 69 unavailable, 70 internal).
 *
 *   bench --xoauth2-so PATH --plain-so PATH
 *         [--part all|exchange|dlopen|helper] [--rounds N] [--batch-ms MS]
 *         [--dlopen-runs N] [--helper PATH] [--helper-runs N]
 *       Every part, or one.  Run by bench/run.sh.  The helper part
 *       (with --helper, the built xoauth2-token) times "xoauth2-token
 *       token FILE" on a valid token as a whole process, next to
 *       /bin/true; it has no target.
 *   bench --xoauth2-so PATH --plain-so PATH --case NAME --iterations N
 *       One case, one batch of N exchanges in bench_batch() and nothing
 *       else timed: for valgrind --tool=callgrind --toggle-collect=bench_batch.
 *   bench --list-cases
 *       The case table, for run.sh.
 *   bench --dlopen PATH [--preload LIB]
 *       Child mode: one timed dlopen(PATH, RTLD_NOW) + dlsym in a fresh
 *       process; prints "NS NEW-OBJECTS".  Never run by hand.
 *
 * Exchanges are in-process with no network: sasl_client_new, _start with
 * the mechanism forced, _step with an empty challenge until done (the
 * server's success), sasl_dispose; every one must go as its case row
 * says or the bench stops.  libsasl2 loads only a private plugin
 * directory holding our plugin and libplain.so, so no other plugin (Debian
 * ships another XOAUTH2) can answer for a mechanism.
 *
 * This binary must not link json-c: in --dlopen mode it would already be
 * loaded and its cost would vanish from libxoauth2.so's.  It does link
 * libsasl2, as every process that loads a SASL plugin does (and our
 * plugin takes sasl_errstring from it).
 */
#define _GNU_SOURCE	/* memmem, dl_iterate_phdr */

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sasl/sasl.h>

#include "sasl-setup.h"

#define EX_USAGE	64
#define EX_UNAVAILABLE	69
#define EX_SOFTWARE	70

/* Targets: the most our plugin may cost, as a multiple of PLAIN's. */
#ifndef TARGET_EXCHANGE
#define TARGET_EXCHANGE	1.5
#endif
#ifndef TARGET_TOKEN_FILE
#define TARGET_TOKEN_FILE 3.0	/* reads and parses a file each time */
#endif
#ifndef TARGET_DLOPEN
#define TARGET_DLOPEN	2.5
#endif

/* ------------------------------------------------------------------ */
/* Cases                                                               */

/* How a case hands the application's secret to the mechanism. */
enum secret_kind {
	SECRET_TOKEN,		/* the access token itself */
	SECRET_TOKEN_FILE,	/* the path of a token file holding it */
};

/* One row of the exchange table.  The baseline row is PLAIN; every other
 * row is reported as a ratio to it.  Every exchange, timed or not, must
 * take exactly STEPS _step calls after _start and end in SASL_OK, or the
 * bench stops: for STEPS 1 that is SASL_CONTINUE from _start, then
 * SASL_OK. */
struct bench_case {
	const char		*name;	/* row label, and --case NAME */
	const char		*mech;	/* mechanism forced in _start */
	enum secret_kind	 secret;
	int			 steps;	/* _step calls after _start */
	int			 baseline;
	double			 target; /* max ratio to baseline; 0: none */
};

/*
 * XOAUTH2-tokenfile: the secret is the path of a token file whose access
 * token is valid for an hour, so the plugin reads and parses the file on
 * every exchange and sends the token from it: no refresh, no helper run.
 * main() points XOAUTH2_HELPER at a path that does not exist, so that a
 * refresh can never reach the network; since the plugin carries on with
 * a still-valid token when its helper fails, secret_release also stops
 * the bench on the plugin's log message announcing a refresh, and on a
 * lock file beside the token file.  The initial response is checked to
 * carry bench_token, read from the file, as for the other cases.
 */
static const struct bench_case cases[] = {
	{ "PLAIN",	 "PLAIN",	SECRET_TOKEN, 0, 1, 0 },
	{ "XOAUTH2",	 "XOAUTH2",	SECRET_TOKEN, 1, 0, TARGET_EXCHANGE },
	{ "OAUTHBEARER", "OAUTHBEARER",	SECRET_TOKEN, 1, 0, TARGET_EXCHANGE },
	{ "XOAUTH2-tokenfile", "XOAUTH2", SECRET_TOKEN_FILE, 1, 0,
	  TARGET_TOKEN_FILE },
};
#define NCASES	(sizeof(cases) / sizeof(cases[0]))

/* ------------------------------------------------------------------ */
/* Credentials and callbacks                                           */

#define BENCH_USER	"alice.example@contoso.onmicrosoft.com"
#define TOKEN_LEN	1536

/* A JWT-shaped access token (header.payload.signature, base64url), the
 * size of a Microsoft 365 one.  Filled once by token_make. */
static char bench_token[TOKEN_LEN + 1];

/* A token file made for the bench: DIR is a fresh mkdtemp() directory,
 * PATH the file in it.  DIR is "" when there is none. */
struct token_fixture {
	char	dir[PATH_MAX];
	char	path[PATH_MAX + 32];
};

struct bench_env {
	sasl_secret_t	*secret;	/* what SASL_CB_PASS hands out; ours */
	struct token_fixture tokfile;	/* SECRET_TOKEN_FILE's file */
	unsigned long	 log_calls;	/* messages libsasl2 passed to us */
	unsigned long	 log_debug;	/* of which SASL_LOG_DEBUG or finer */
	unsigned long	 log_loud;	/* of which SASL_LOG_NOTE or coarser */
	unsigned long	 loud_before;	/* log_loud at secret_prepare */
	char		 loud_last[256]; /* the last of those */
	sasl_callback_t	 callbacks[5];
};

static void
token_make(void)
{
	static const char b64url[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t x = 2463534242u;	/* xorshift32: same token every run */
	size_t i;

	for (i = 0; i < TOKEN_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		bench_token[i] = b64url[x & 63];
	}
	memcpy(bench_token, "eyJ0eXAiOiJKV1Qi", 16);
	bench_token[120] = '.';
	bench_token[TOKEN_LEN - 343] = '.';
	bench_token[TOKEN_LEN] = '\0';
}

static int
cb_getsimple(void *context, int id, const char **result, unsigned *len)
{
	const char *v;

	(void)context;
	switch (id) {
	case SASL_CB_AUTHNAME:
		v = BENCH_USER;
		break;
	case SASL_CB_USER:
		v = "";		/* no authzid: log in as ourselves */
		break;
	default:
		return SASL_BADPARAM;
	}
	return sasl_setup_give(result, len, v, strlen(v));
}

static int
cb_getsecret(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
	struct bench_env *env = context;

	(void)conn;
	if (id != SASL_CB_PASS || env->secret == NULL)
		return SASL_BADPARAM;
	*psecret = env->secret;
	return SASL_OK;
}

/* Drops every message, as an application that filters debug output
 * does; counts them, since the formatting is part of the cost.  Without
 * any log callback libsasl2 sends client messages of every level to
 * syslog. */
static int
cb_log(void *context, int level, const char *message)
{
	struct bench_env *env = context;

	env->log_calls++;
	if (level >= SASL_LOG_DEBUG)
		env->log_debug++;
	if (level <= SASL_LOG_NOTE) {
		env->log_loud++;
		snprintf(env->loud_last, sizeof(env->loud_last), "%s",
		    message);
	}
	return SASL_OK;
}

typedef int (*cb_proc)(void);
#define CB(f)	((cb_proc)(void (*)(void))(f))

static void
env_init(struct bench_env *env)
{
	memset(env, 0, sizeof(*env));
	env->callbacks[0] = (sasl_callback_t){ SASL_CB_LOG, CB(cb_log), env };
	env->callbacks[1] = (sasl_callback_t){ SASL_CB_AUTHNAME,
	    CB(cb_getsimple), env };
	env->callbacks[2] = (sasl_callback_t){ SASL_CB_USER,
	    CB(cb_getsimple), env };
	env->callbacks[3] = (sasl_callback_t){ SASL_CB_PASS,
	    CB(cb_getsecret), env };
	env->callbacks[4] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };
}

#ifndef TOKEN_FILE_VALID_S
#define TOKEN_FILE_VALID_S	3600	/* well beyond the 300 s margin */
#endif

/* Makes FX a new directory under $TMPDIR holding tok.json, a token file
 * whose access token is bench_token, valid for TOKEN_FILE_VALID_S, mode
 * 0600 as the plugin and the helper demand.  Returns 0, or -1 with a
 * message on stderr and nothing left behind; fixture_remove undoes it. */
static int
fixture_make(struct token_fixture *fx)
{
	char text[TOKEN_LEN + 512];
	const char *tmp = getenv("TMPDIR");
	size_t len, off = 0;
	ssize_t n;
	int fd = -1, len_i, e, r = -1;

	snprintf(fx->dir, sizeof(fx->dir), "%s/xo-bench-tok.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(fx->dir) == NULL) {
		fprintf(stderr, "bench: mkdtemp %s: %s\n", fx->dir,
		    strerror(errno));
		fx->dir[0] = '\0';
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/tok.json", fx->dir);
	len_i = snprintf(text, sizeof(text), "{\"version\":1,"
	    "\"user\":\"u@example.com\","
	    "\"token_endpoint\":\"http://127.0.0.1:9/token\","
	    "\"client_id\":\"c\",\"access_token\":\"%s\","
	    "\"expires_at\":%lld,\"refresh_token\":\"r\"}\n", bench_token,
	    (long long)time(NULL) + TOKEN_FILE_VALID_S);
	if (len_i < 0 || (size_t)len_i >= sizeof(text)) {
		fprintf(stderr, "bench: token file text too long\n");
		goto out;
	}
	len = (size_t)len_i;
	fd = open(fx->path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		fprintf(stderr, "bench: %s: %s\n", fx->path, strerror(errno));
		goto out;
	}
	while (off < len) {
		if ((n = write(fd, text + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "bench: write %s: %s\n", fx->path,
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	/* The umask may only have taken bits away; say it exactly. */
	if (fchmod(fd, 0600) != 0) {
		fprintf(stderr, "bench: chmod %s: %s\n", fx->path,
		    strerror(errno));
		goto out;
	}
	e = close(fd);
	fd = -1;
	if (e != 0) {
		fprintf(stderr, "bench: close %s: %s\n", fx->path,
		    strerror(errno));
		goto out;
	}
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	if (r != 0) {
		unlink(fx->path);
		rmdir(fx->dir);
		fx->dir[0] = '\0';
	}
	return r;
}

/* Removes what fixture_make made.  Returns 0, or -1 with a message if
 * PATH.lock or PATH.tmp turned up beside the file: something (a refresh,
 * or the plugin marking the token stale) took the writer's lock, which a
 * token valid for an hour must never cause.  Accepts an empty FX. */
static int
fixture_remove(struct token_fixture *fx)
{
	static const char *const sidecars[] = { ".lock", ".tmp" };
	char side[sizeof(fx->path) + 8];
	size_t i;
	int r = 0;

	if (fx->dir[0] == '\0')
		return 0;
	for (i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", fx->path, sidecars[i]);
		if (unlink(side) == 0) {
			fprintf(stderr, "bench: %s appeared: something tried "
			    "to rewrite the token file\n", side);
			r = -1;
		}
	}
	if (unlink(fx->path) != 0 || rmdir(fx->dir) != 0) {
		fprintf(stderr, "bench: removing %s: %s\n", fx->dir,
		    strerror(errno));
		r = -1;
	}
	fx->dir[0] = '\0';
	return r;
}

/* Makes env->secret hold the secret case BC hands out, writing its token
 * file first if it has one.  Returns 0 or -1 with a message on stderr;
 * secret_release frees it. */
static int
secret_prepare(struct bench_env *env, const struct bench_case *bc)
{
	const char *value = NULL;
	size_t n;

	switch (bc->secret) {
	case SECRET_TOKEN:
		value = bench_token;
		break;
	case SECRET_TOKEN_FILE:
		if (fixture_make(&env->tokfile) != 0)
			return -1;
		value = env->tokfile.path;
		break;
	}
	if (value == NULL) {
		fprintf(stderr, "bench: %s: no secret for this case\n",
		    bc->name);
		return -1;
	}
	n = strlen(value);
	if ((env->secret = malloc(sizeof(*env->secret) + n)) == NULL) {
		fprintf(stderr, "bench: out of memory\n");
		fixture_remove(&env->tokfile);
		return -1;
	}
	env->secret->len = n;
	memcpy(env->secret->data, value, n + 1);
	env->loud_before = env->log_loud;
	return 0;
}

/* Frees the secret and removes its token file, if any.  Returns 0, or -1
 * with a message if the token file was written to meanwhile (see
 * fixture_remove) or if any exchange since secret_prepare logged at
 * SASL_LOG_NOTE or above.  The latter catches a refresh even when it
 * failed harmlessly: the plugin announces one before running the helper,
 * and when the helper cannot run (XOAUTH2_HELPER is /nonexistent) but
 * the token is still valid it warns and carries on with SASL_OK. */
static int
secret_release(struct bench_env *env)
{
	int r = 0;

	free(env->secret);
	env->secret = NULL;
	if (env->log_loud != env->loud_before) {
		fprintf(stderr, "bench: %lu messages at SASL_LOG_NOTE or above; "
		    "the last: %s\n", env->log_loud - env->loud_before,
		    env->loud_last);
		r = -1;
	}
	if (fixture_remove(&env->tokfile) != 0)
		r = -1;
	return r;
}

/* ------------------------------------------------------------------ */
/* libsasl2 with a private plugin directory                            */

/* Points libsasl2 at a fresh directory holding only links to XO_SO and
 * PLAIN_SO, initialises it (which loads both) and removes the directory.
 * Returns 0, or -1 with a message on stderr. */
static int
sasl_setup(const char *xo_so, const char *plain_so, struct bench_env *env)
{
	/* The first NWANTED must all be there; EXTERNAL is built into
	 * libsasl2's client. */
	static const char *const allowed[] = {
		"PLAIN", "XOAUTH2", "OAUTHBEARER", "EXTERNAL",
	};
	const size_t nwanted = 3;
	char dir[PATH_MAX], xo_link[PATH_MAX + 32], plain_link[PATH_MAX + 32];
	const char *tmp = getenv("TMPDIR");
	const char **mechs;
	int found = 0, r = -1, i, rc;
	size_t k;

	snprintf(dir, sizeof(dir), "%s/xo-bench.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "bench: mkdtemp %s: %s\n", dir,
		    strerror(errno));
		return -1;
	}
	snprintf(xo_link, sizeof(xo_link), "%s/libxoauth2.so", dir);
	snprintf(plain_link, sizeof(plain_link), "%s/libplain.so", dir);
	if (symlink(xo_so, xo_link) != 0 || symlink(plain_so, plain_link) != 0) {
		fprintf(stderr, "bench: symlink in %s: %s\n", dir,
		    strerror(errno));
		goto out;
	}
	setenv("SASL_PATH", dir, 1);
	if ((rc = sasl_client_init(env->callbacks)) != SASL_OK) {
		fprintf(stderr, "bench: sasl_client_init: %s\n",
		    sasl_errstring(rc, NULL, NULL));
		goto out;
	}
	/* Loaded now: the exchanges must not see any other plugin. */
	if ((mechs = sasl_global_listmech()) == NULL) {
		fprintf(stderr, "bench: libsasl2 lists no mechanisms\n");
		goto out;
	}
	for (i = 0; mechs[i] != NULL; i++) {
		for (k = 0; k < sizeof(allowed) / sizeof(allowed[0]); k++)
			if (strcmp(mechs[i], allowed[k]) == 0)
				break;
		if (k == sizeof(allowed) / sizeof(allowed[0])) {
			fprintf(stderr, "bench: unexpected mechanism %s "
			    "from %s\n", mechs[i], dir);
			goto out;
		}
		found += k < nwanted;
	}
	if (found != (int)nwanted) {
		fprintf(stderr, "bench: %s did not yield PLAIN, XOAUTH2 and "
		    "OAUTHBEARER (is %s a built plugin?)\n", dir, xo_so);
		goto out;
	}
	r = 0;
 out:
	unlink(xo_link);
	unlink(plain_link);
	rmdir(dir);
	return r;
}

/* ------------------------------------------------------------------ */
/* Exchanges                                                           */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Whether an exchange of BC on CONN that made STEPS _step calls after
 * _start and ended in R went as BC says.  Returns SASL_OK, or else the
 * failing code (SASL_BADPROT for the wrong number of steps) after saying
 * what happened on stderr.  Called for every exchange: the fast path is
 * two comparisons. */
static int
exchange_result(const struct bench_case *bc, sasl_conn_t *conn, int r,
    int steps)
{
	const char *detail;

	if (r == SASL_OK && steps == bc->steps)
		return SASL_OK;
	if (r == SASL_OK) {
		fprintf(stderr, "bench: %s: SASL_OK after %d _step calls, "
		    "expected %d\n", bc->name, steps, bc->steps);
		return SASL_BADPROT;
	}
	detail = conn != NULL ? sasl_errdetail(conn) : NULL;
	fprintf(stderr, "bench: %s: exchange failed after %d _step calls: "
	    "%s (%s)\n", bc->name, steps, sasl_errstring(r, NULL, NULL),
	    detail != NULL ? detail : "no detail");
	return r;
}

/* One exchange of BC.  Returns SASL_OK if it went as BC says, else the
 * failing code with a message on stderr (exchange_result).  If CHECK,
 * the initial response must also carry the token. */
static int
one_exchange(const struct bench_case *bc, struct bench_env *env, int check)
{
	sasl_conn_t *conn = NULL;
	sasl_interact_t *interact = NULL;
	const char *out = NULL, *mech = NULL;
	unsigned outlen = 0;
	int r, steps = 0;

	r = sasl_client_new("imap", "outlook.office365.com", "192.0.2.10;50123",
	    "192.0.2.20;993", env->callbacks, 0, &conn);
	if (r != SASL_OK)
		goto out;
	r = sasl_client_start(conn, bc->mech, &interact, &out, &outlen, &mech);
	if (check && (r == SASL_OK || r == SASL_CONTINUE)) {
		if (mech == NULL || strcmp(mech, bc->mech) != 0 ||
		    out == NULL || memmem(out, outlen, bench_token,
		    strlen(bench_token)) == NULL) {
			fprintf(stderr, "bench: %s: the initial response "
			    "(%u bytes, mechanism %s) does not carry the "
			    "token\n", bc->name, outlen, mech ? mech : "none");
			sasl_dispose(&conn);
			return SASL_FAIL;
		}
	}
	/* An empty challenge is the server's success for our mechanisms. */
	while (r == SASL_CONTINUE && steps < 8) {
		r = sasl_client_step(conn, "", 0, &interact, &out, &outlen);
		steps++;
	}
 out:
	r = exchange_result(bc, conn, r, steps);
	sasl_dispose(&conn);
	return r;
}

int bench_batch(const struct bench_case *, struct bench_env *, long);

/* Runs N exchanges of BC.  Returns SASL_OK or the first failure.  Not
 * static nor inlined: callgrind's --toggle-collect names it. */
__attribute__((noinline)) int
bench_batch(const struct bench_case *bc, struct bench_env *env, long n)
{
	long i;
	int r;

	for (i = 0; i < n; i++)
		if ((r = one_exchange(bc, env, 0)) != SASL_OK)
			return r;
	return SASL_OK;
}

/* Runs N exchanges of BC outside bench_batch, so that callgrind does not
 * count them.  Returns 0 or -1. */
static int
warm_up(const struct bench_case *bc, struct bench_env *env, long n)
{
	for (; n > 0; n--)
		if (one_exchange(bc, env, 0) != SASL_OK)
			return -1;
	return 0;
}

/* Checks one exchange of BC end to end and counts its log messages. */
static int
case_verify(const struct bench_case *bc, struct bench_env *env,
    unsigned long *log_calls, unsigned long *log_debug)
{
	unsigned long calls0 = env->log_calls, debug0 = env->log_debug;

	if (one_exchange(bc, env, 1) != SASL_OK)
		return -1;
	*log_calls = env->log_calls - calls0;
	*log_debug = env->log_debug - debug0;
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Sorts V and returns its quantile Q (0.5: the median). */
static double
quantile(double *v, size_t n, double q)
{
	size_t i;

	qsort(v, n, sizeof(*v), cmp_double);
	i = (size_t)(q * (double)(n - 1) + 0.5);
	return v[i];
}

/* Prints a ratio line; "MISSED" when over TARGET (0: no target). */
static void
print_ratio(const char *what, double ratio, double target, const char *extra)
{
	printf("ratio %s = %.2f", what, ratio);
	if (target > 0)
		printf(" (target <= %.1f)%s", target,
		    ratio > target ? " MISSED" : "");
	printf("%s\n", extra);
}

#define MAX_ROUNDS	64
#define MECH_CHUNK	256

/* Like bench_batch, but times only sasl_client_start and _step, the part
 * a mechanism decides: the connections are made before the clock starts
 * and disposed of after it stops, MECH_CHUNK at a time.  (sasl_client_new
 * resolves the local host name, which costs more than any mechanism.)
 * Returns SASL_OK or the first failure; *NS gets the time. */
static int
mech_batch(const struct bench_case *bc, struct bench_env *env, long n,
    uint64_t *ns)
{
	static sasl_conn_t *conns[MECH_CHUNK];
	sasl_interact_t *interact = NULL;
	const char *out, *mech;
	unsigned outlen;
	uint64_t t0;
	long done, m, i;
	int r = SASL_OK, steps;

	*ns = 0;
	for (done = 0; done < n && r == SASL_OK; done += m) {
		m = n - done < MECH_CHUNK ? n - done : MECH_CHUNK;
		for (i = 0; i < m; i++) {
			r = sasl_client_new("imap", "outlook.office365.com",
			    "192.0.2.10;50123", "192.0.2.20;993",
			    env->callbacks, 0, &conns[i]);
			if (r != SASL_OK) {
				m = i;
				goto dispose;
			}
		}
		t0 = now_ns();
		for (i = 0; i < m && r == SASL_OK; i++) {
			r = sasl_client_start(conns[i], bc->mech, &interact,
			    &out, &outlen, &mech);
			for (steps = 0; r == SASL_CONTINUE && steps < 8; steps++)
				r = sasl_client_step(conns[i], "", 0,
				    &interact, &out, &outlen);
			r = exchange_result(bc, conns[i], r, steps);
		}
		*ns += now_ns() - t0;
 dispose:
		for (i = 0; i < m; i++)
			sasl_dispose(&conns[i]);
	}
	return r;
}

struct case_result {
	long		 iters;		/* exchanges per round */
	double		 ns[MAX_ROUNDS]; /* ns per exchange, each round */
	double		 mech_ns[MAX_ROUNDS]; /* ns in start + step */
	unsigned long	 log_calls, log_debug;
	unsigned long	 checked;	/* exchanges that went as expected */
};

/* Prints the ratio of case C to BASE, given their ns per exchange in each
 * round.  Both ran back to back within a round, so a round's ratio is
 * little disturbed by the machine's speed drifting; the headline is the
 * median of those, the spread their range. */
static void
report_ratio(const char *what, const struct bench_case *c,
    const struct bench_case *base, const double *vc, const double *vb,
    int rounds, double target)
{
	double ratio[MAX_ROUNDS], med;
	char label[128], extra[96];
	int i;

	for (i = 0; i < rounds; i++)
		ratio[i] = vc[i] / vb[i];
	med = quantile(ratio, (size_t)rounds, 0.5);
	snprintf(label, sizeof(label), "%s %s/%s", what, c->name, base->name);
	snprintf(extra, sizeof(extra), "  [rounds %.2f..%.2f]", ratio[0],
	    ratio[rounds - 1]);
	print_ratio(label, med, target, extra);
}

static int
part_exchange(struct bench_env *env, int rounds, double batch_ms)
{
	static struct case_result res[NCASES];
	double sorted[MAX_ROUNDS], med, mech_med;
	size_t c, base = 0;
	uint64_t t0, dt;
	long n;
	int round, i;

	for (c = 0; c < NCASES; c++) {
		const struct bench_case *bc = &cases[c];

		if (bc->baseline)
			base = c;
		if (secret_prepare(env, bc) != 0)
			return -1;
		if (case_verify(bc, env, &res[c].log_calls,
		    &res[c].log_debug) != 0)
			goto fail;
		res[c].checked = 1;
		/* Warm up while finding the batch size that takes
		 * about BATCH_MS. */
		for (n = 64;; n *= 2) {
			t0 = now_ns();
			if (bench_batch(bc, env, n) != SASL_OK)
				goto fail;
			dt = now_ns() - t0;
			res[c].checked += (unsigned long)n;
			if (dt > batch_ms * 1e6 / 4)
				break;
		}
		res[c].iters = (long)((double)n * batch_ms * 1e6 / (double)dt);
		if (res[c].iters < 1)
			res[c].iters = 1;
		if (secret_release(env) != 0)
			return -1;
	}

	/* Interleave the cases, each round starting with another one, so
	 * that drift in the machine's speed hits them all alike. */
	for (round = 0; round < rounds; round++) {
		for (i = 0; i < (int)NCASES; i++) {
			c = ((size_t)round + (size_t)i) % NCASES;
			if (secret_prepare(env, &cases[c]) != 0)
				return -1;
			t0 = now_ns();
			if (bench_batch(&cases[c], env, res[c].iters) != SASL_OK)
				goto fail_timed;
			dt = now_ns() - t0;
			res[c].ns[round] = (double)dt / (double)res[c].iters;
			if (mech_batch(&cases[c], env, res[c].iters,
			    &dt) != SASL_OK)
				goto fail_timed;
			res[c].mech_ns[round] = (double)dt /
			    (double)res[c].iters;
			res[c].checked += 2 * (unsigned long)res[c].iters;
			if (secret_release(env) != 0)
				return -1;
		}
	}

	printf("exchange: sasl_client_new + _start + _step(\"\") + "
	    "sasl_dispose, in-process; token %zu bytes\n", strlen(bench_token));
	printf("%-18s %10s %8s %8s %14s %11s %8s %s\n", "case", "median ns",
	    "min", "max", "start+step ns", "iters/round", "checked",
	    "log msgs");
	for (c = 0; c < NCASES; c++) {
		memcpy(sorted, res[c].mech_ns, (size_t)rounds * sizeof(double));
		mech_med = quantile(sorted, (size_t)rounds, 0.5);
		memcpy(sorted, res[c].ns, (size_t)rounds * sizeof(double));
		med = quantile(sorted, (size_t)rounds, 0.5);	/* sorts */
		printf("%-18s %10.0f %8.0f %8.0f %14.0f %11ld %8lu "
		    "%lu (%lu debug)\n", cases[c].name, med, sorted[0],
		    sorted[rounds - 1], mech_med, res[c].iters, res[c].checked,
		    res[c].log_calls, res[c].log_debug);
	}
	/* Reaching here means every one of them went as its row says. */
	printf("checked: exchanges that went as their row says (_start, its "
	    "_step calls, SASL_OK),\n  no message at SASL_LOG_NOTE or above; "
	    "one that does not stops the bench\n");
	for (c = 0; c < NCASES; c++)
		if (cases[c].secret == SECRET_TOKEN_FILE)
			printf("  %s: each _start SASL_CONTINUE, _step SASL_OK; "
			    "no refresh tried, token file never locked\n",
			    cases[c].name);
	printf("\n");
	for (c = 0; c < NCASES; c++)
		if (c != base)
			report_ratio("exchange", &cases[c], &cases[base],
			    res[c].ns, res[base].ns, rounds, cases[c].target);
	for (c = 0; c < NCASES; c++)
		if (c != base)
			report_ratio("start+step", &cases[c], &cases[base],
			    res[c].mech_ns, res[base].mech_ns, rounds, 0);
	return 0;
 fail_timed:
	fprintf(stderr, "bench: %s: exchange failed while timing\n",
	    cases[c].name);
 fail:
	(void)secret_release(env);	/* already failing */
	return -1;
}

/* ------------------------------------------------------------------ */
/* dlopen in fresh processes                                           */

#define MAX_OBJS	128

struct objlist {
	int	n;
	char	name[MAX_OBJS][256];
};

static int
obj_collect(struct dl_phdr_info *info, size_t size, void *data)
{
	struct objlist *l = data;
	const char *base;

	(void)size;
	if (l->n >= MAX_OBJS)
		return 1;
	base = strrchr(info->dlpi_name, '/');
	base = base != NULL ? base + 1 : info->dlpi_name;
	snprintf(l->name[l->n++], sizeof(l->name[0]), "%s", base);
	return 0;
}

static int
obj_has(const struct objlist *l, const char *name)
{
	int i;

	for (i = 0; i < l->n; i++)
		if (strcmp(l->name[i], name) == 0)
			return 1;
	return 0;
}

/* Child mode.  Prints "NS OBJ,OBJ" (the objects the dlopen added).
 * Returns an exit status. */
static int
dlopen_child(const char *path, const char *preload)
{
	static struct objlist before, after;
	uint64_t t0, t1;
	void *h, *sym;
	int i, first = 1;

	if (preload != NULL && dlopen(preload, RTLD_NOW) == NULL) {
		fprintf(stderr, "bench: preload: %s\n", dlerror());
		return EX_UNAVAILABLE;
	}
	dl_iterate_phdr(obj_collect, &before);
	t0 = now_ns();
	h = dlopen(path, RTLD_NOW);
	sym = h != NULL ? dlsym(h, "sasl_client_plug_init") : NULL;
	t1 = now_ns();
	if (h == NULL || sym == NULL) {
		fprintf(stderr, "bench: dlopen %s: %s\n", path, dlerror());
		return EX_UNAVAILABLE;
	}
	dl_iterate_phdr(obj_collect, &after);
	printf("%llu ", (unsigned long long)(t1 - t0));
	for (i = 0; i < after.n; i++) {
		if (obj_has(&before, after.name[i]))
			continue;
		printf("%s%s", first ? "" : ",", after.name[i]);
		first = 0;
	}
	printf("%s\n", first ? "-" : "");
	return 0;
}

#define OBJS_MAX	1024

/* Runs "SELF --dlopen PATH [--preload LIB]" and reads its report: the
 * time into *NS, the objects it loaded into OBJS (OBJS_MAX bytes).
 * Returns 0, or -1 with a message on stderr. */
static int
spawn_dlopen(const char *path, const char *preload, double *ns, char *objs)
{
	char buf[1024];
	const char *argv[6];
	unsigned long long v;
	ssize_t got;
	size_t len = 0;
	pid_t pid;
	int fd[2], status, argc = 0, r = -1;

	argv[argc++] = "bench";
	argv[argc++] = "--dlopen";
	argv[argc++] = path;
	if (preload != NULL) {
		argv[argc++] = "--preload";
		argv[argc++] = preload;
	}
	argv[argc] = NULL;
	if (pipe(fd) != 0) {
		fprintf(stderr, "bench: pipe: %s\n", strerror(errno));
		return -1;
	}
	fflush(stdout);
	if ((pid = fork()) < 0) {
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		close(fd[0]);
		if (dup2(fd[1], STDOUT_FILENO) < 0)
			_exit(EX_SOFTWARE);
		close(fd[1]);
		/* execv does not change the strings; its type is historic. */
		execv("/proc/self/exe", (char *const *)(uintptr_t)argv);
		_exit(EX_UNAVAILABLE);
	}
	close(fd[1]);
	while (len < sizeof(buf) - 1 &&
	    (got = read(fd[0], buf + len, sizeof(buf) - 1 - len)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)got;
	}
	buf[len] = '\0';
	close(fd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 ||
	    sscanf(buf, "%llu %1023s", &v, objs) != 2) {
		fprintf(stderr, "bench: the --dlopen %s child failed\n",
		    path);
		goto out;
	}
	*ns = (double)v;
	r = 0;
 out:
	return r;
}

/* A row of the dlopen table. */
struct dlopen_row {
	const char	*label;
	const char	*path;
	const char	*preload;	/* loaded before the clock starts */
	double		*ns;		/* one sample per child; ours */
	char		 objs[OBJS_MAX]; /* what the dlopen added */
};

static int
part_dlopen(const char *xo_so, const char *plain_so, int runs)
{
	struct dlopen_row rows[] = {
		{ "libplain.so", plain_so, NULL, NULL, "" },
		{ "libxoauth2.so", xo_so, NULL, NULL, "" },
		/* Our own share: json-c loaded untimed first, as in an
		 * application that already uses it. */
		{ "libxoauth2.so, json-c loaded", xo_so, "libjson-c.so.5",
		    NULL, "" },
	};
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	const int warmup = 5;
	double med[3], p10, p90, v;
	char objs[OBJS_MAX], extra[96];
	size_t k, j;
	int i, r = -1;

	for (k = 0; k < nrows; k++) {
		if ((rows[k].ns = calloc((size_t)runs, sizeof(double))) == NULL) {
			fprintf(stderr, "bench: out of memory\n");
			goto out;
		}
	}
	/* Interleaved as well; the first runs only warm the page cache. */
	for (i = -warmup; i < runs; i++) {
		for (j = 0; j < nrows; j++) {
			k = ((size_t)(i + warmup) + j) % nrows;
			if (spawn_dlopen(rows[k].path, rows[k].preload, &v,
			    objs) != 0)
				goto out;
			if (i < 0)
				continue;
			rows[k].ns[i] = v;
			snprintf(rows[k].objs, sizeof(rows[k].objs), "%s",
			    objs);
		}
	}
	/* Row 1 is libxoauth2.so alone: its dlopen must have loaded json-c. */
	if (strstr(rows[1].objs, "libjson-c") == NULL) {
		fprintf(stderr, "bench: warning: json-c was already loaded "
		    "before libxoauth2.so (%s): the dlopen ratio is too "
		    "kind\n", rows[1].objs);
	}

	printf("\ndlopen(RTLD_NOW) + dlsym in a fresh process, %d processes "
	    "per row\n", runs);
	printf("%-30s %9s %9s %9s  %s\n", "library", "median us", "p10 us",
	    "p90 us", "objects it loaded");
	for (k = 0; k < nrows; k++) {
		med[k] = quantile(rows[k].ns, (size_t)runs, 0.5);
		p10 = quantile(rows[k].ns, (size_t)runs, 0.1);
		p90 = quantile(rows[k].ns, (size_t)runs, 0.9);
		printf("%-30s %9.1f %9.1f %9.1f  %s\n", rows[k].label,
		    med[k] / 1e3, p10 / 1e3, p90 / 1e3, rows[k].objs);
	}
	printf("\n");
	print_ratio("dlopen xoauth2/plain", med[1] / med[0], TARGET_DLOPEN, "");
	snprintf(extra, sizeof(extra), "  [json-c already loaded]");
	print_ratio("dlopen xoauth2/plain", med[2] / med[0], 0, extra);
	r = 0;
 out:
	for (k = 0; k < nrows; k++)
		free(rows[k].ns);
	return r;
}

/* ------------------------------------------------------------------ */
/* xoauth2-token token FILE as a whole process                          */

/* Runs ARGV (ARGV[0] a path) in a child made by fork and execv, with
 * stdin on DEVNULL, stdout on OUT_FD and stderr on ERR_FD, and waits for
 * it.  Returns 0 if it exited 0, *NS the time from before fork to after
 * waitpid; else -1 with a message on stderr. */
static int
spawn_timed(const char *const *argv, int devnull, int out_fd, int err_fd,
    double *ns)
{
	uint64_t t0, t1;
	pid_t pid;
	int status;

	fflush(stdout);
	fflush(stderr);
	t0 = now_ns();
	if ((pid = fork()) < 0) {
		fprintf(stderr, "bench: fork: %s\n", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		if (dup2(devnull, STDIN_FILENO) < 0 ||
		    dup2(out_fd, STDOUT_FILENO) < 0 ||
		    dup2(err_fd, STDERR_FILENO) < 0)
			_exit(EX_SOFTWARE);
		/* execv does not change the strings; its type is historic. */
		execv(argv[0], (char *const *)(uintptr_t)argv);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "bench: waitpid: %s\n", strerror(errno));
			return -1;
		}
	}
	t1 = now_ns();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		fprintf(stderr, "bench: %s %s: %s %d\n", argv[0],
		    argv[1] != NULL ? argv[1] : "",
		    WIFEXITED(status) ? "exit status" : "signal",
		    WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		return -1;
	}
	*ns = (double)(t1 - t0);
	return 0;
}

/* Whether F, a child's stdout or stderr, holds exactly WANT.  Reads at
 * most 4 KB; a mismatch is shown (first line only) in the message. */
static int
file_holds(FILE *f, const char *what, const char *want)
{
	char got[4096];
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = '\0';
	if (n == strlen(want) && memcmp(got, want, n) == 0)
		return 1;
	got[strcspn(got, "\n")] = '\0';
	fprintf(stderr, "bench: xoauth2-token token: unexpected %s (%zu "
	    "bytes): %.200s\n", what, n, got);
	return 0;
}

/* Times "HELPER token FILE" on a token valid for an hour (no refresh, no
 * network), RUNS processes, against /bin/true for scale.  Before timing,
 * one run must print exactly the token and a newline; all runs must exit
 * 0 and say nothing on stderr (the helper falls back to the current token
 * with a message when a refresh fails), and nothing may take the token
 * file's lock.  Returns 0, or -1 with a message on stderr. */
static int
part_helper(const char *helper, int runs)
{
	static struct token_fixture fx;
	const char *tok_argv[] = { helper, "token", fx.path, NULL };
	const char *true_argv[] = { "/bin/true", NULL };
	struct {
		const char	 *label;
		const char *const *argv;
		double		 *ns;
	} rows[] = {
		{ "xoauth2-token token FILE", tok_argv, NULL },
		{ "/bin/true", true_argv, NULL },
	};
	const size_t nrows = sizeof(rows) / sizeof(rows[0]);
	const int warmup = 3;
	char want[TOKEN_LEN + 2], extra[64];
	double med[2], p90, v;
	FILE *out = NULL, *err = NULL;
	size_t k, j;
	int devnull = -1, i, r = -1;

	if (access(helper, X_OK) != 0) {
		fprintf(stderr, "bench: %s: %s\n", helper, strerror(errno));
		return -1;
	}
	for (k = 0; k < nrows; k++) {
		if ((rows[k].ns = calloc((size_t)runs, sizeof(double))) == NULL) {
			fprintf(stderr, "bench: out of memory\n");
			goto out;
		}
	}
	if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    (out = tmpfile()) == NULL || (err = tmpfile()) == NULL) {
		fprintf(stderr, "bench: /dev/null or tmpfile: %s\n",
		    strerror(errno));
		goto out;
	}
	if (fixture_make(&fx) != 0)
		goto out;

	/* What it prints, once, untimed. */
	snprintf(want, sizeof(want), "%s\n", bench_token);
	if (spawn_timed(tok_argv, devnull, fileno(out), fileno(err), &v) != 0) {
		(void)file_holds(err, "stderr", "");	/* shows why */
		goto out;
	}
	if (!file_holds(out, "output", want))
		goto out;

	/* Interleaved, as the dlopen rows; the first runs warm the caches. */
	for (i = -warmup; i < runs; i++) {
		for (j = 0; j < nrows; j++) {
			k = ((size_t)(i + warmup) + j) % nrows;
			if (spawn_timed(rows[k].argv, devnull, devnull,
			    fileno(err), &v) != 0) {
				(void)file_holds(err, "stderr", "");
				goto out;
			}
			if (i >= 0)
				rows[k].ns[i] = v;
		}
	}
	if (!file_holds(err, "stderr", ""))
		goto out;
	if (fixture_remove(&fx) != 0)
		goto out;

	printf("\nxoauth2-token token FILE, token valid for %d min (no "
	    "refresh): fork + exec + wait,\nstdout to /dev/null, %d "
	    "processes per row\n", TOKEN_FILE_VALID_S / 60, runs);
	printf("%-30s %9s %9s\n", "command", "median ms", "p90 ms");
	for (k = 0; k < nrows; k++) {
		med[k] = quantile(rows[k].ns, (size_t)runs, 0.5);
		p90 = quantile(rows[k].ns, (size_t)runs, 0.9);
		printf("%-30s %9.2f %9.2f\n", rows[k].label, med[k] / 1e6,
		    p90 / 1e6);
	}
	printf("\n");
	/* The front program (helper/cmd/front.c) loads libc and json-c only:
	 * issue 11 asks for at most twice /bin/true. */
	snprintf(extra, sizeof(extra), "  [%d runs each, interleaved]", runs);
	print_ratio("process xoauth2-token-token/true", med[0] / med[1],
	    2.0, extra);
	r = 0;
 out:
	if (fixture_remove(&fx) != 0)
		r = -1;
	if (out != NULL)
		fclose(out);
	if (err != NULL)
		fclose(err);
	if (devnull != -1)
		close(devnull);
	for (k = 0; k < nrows; k++)
		free(rows[k].ns);
	return r;
}

/* ------------------------------------------------------------------ */

static void
usage(void)
{
	fprintf(stderr,
	    "usage: bench --xoauth2-so PATH --plain-so PATH "
	    "[--part all|exchange|dlopen|helper]\n"
	    "             [--rounds N] [--batch-ms MS] [--dlopen-runs N]\n"
	    "             [--helper PATH] [--helper-runs N]\n"
	    "       bench --xoauth2-so PATH --plain-so PATH --case NAME "
	    "--iterations N\n"
	    "       bench --list-cases\n"
	    "       bench --dlopen PATH [--preload LIB]\n");
	exit(EX_USAGE);
}

static long
num_arg(const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		usage();
	return v;
}

/* The options: each takes one value, a string or a number from 1 to MAX. */
struct string_opt {
	const char	*name;
	const char	**to;
};
struct number_opt {
	const char	*name;
	long		*to;
	long		 max;
};

/* Sets option NAME to V from the tables; -1: no such option. */
static int
set_option(const char *name, const char *v, const struct string_opt *so,
    size_t nso, const struct number_opt *no, size_t nno)
{
	size_t k;

	for (k = 0; k < nso; k++)
		if (strcmp(name, so[k].name) == 0) {
			*so[k].to = v;
			return 0;
		}
	for (k = 0; k < nno; k++)
		if (strcmp(name, no[k].name) == 0) {
			*no[k].to = num_arg(v, 1, no[k].max);
			return 0;
		}
	return -1;
}

int
main(int argc, char **argv)
{
	static struct bench_env env;
	const char *xo_so = NULL, *plain_so = NULL, *part = "all";
	const char *dl_path = NULL, *preload = NULL, *case_name = NULL;
	const char *helper = NULL;
	long rounds = 21, batch_ms = 40, dl_runs = 200, iterations = 0;
	long helper_runs = 100;
	int want_sasl, want_exchange, want_dlopen, want_helper;
	unsigned long lc, ld;
	const struct string_opt string_opts[] = {
		{ "--xoauth2-so", &xo_so }, { "--plain-so", &plain_so },
		{ "--part", &part }, { "--dlopen", &dl_path },
		{ "--preload", &preload }, { "--case", &case_name },
		{ "--helper", &helper },
	};
	const struct number_opt number_opts[] = {
		{ "--rounds", &rounds, MAX_ROUNDS },
		{ "--batch-ms", &batch_ms, 10000 },
		{ "--dlopen-runs", &dl_runs, 100000 },
		{ "--iterations", &iterations, 100000000 },
		{ "--helper-runs", &helper_runs, 100000 },
	};
	size_t c;
	int i, r = 0;

	if (argc == 2 && strcmp(argv[1], "--list-cases") == 0) {
		/* For run.sh: "NAME<TAB>baseline|-", one case a line. */
		for (c = 0; c < NCASES; c++)
			printf("%s\t%s\n", cases[c].name,
			    cases[c].baseline ? "baseline" : "-");
		return 0;
	}
	for (i = 1; i < argc; i += 2) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (v == NULL || set_option(argv[i], v, string_opts,
		    sizeof(string_opts) / sizeof(string_opts[0]), number_opts,
		    sizeof(number_opts) / sizeof(number_opts[0])) != 0)
			usage();
	}
	if (dl_path != NULL)
		return dlopen_child(dl_path, preload);
	if (xo_so == NULL || plain_so == NULL)
		usage();
	want_exchange = strcmp(part, "all") == 0 || strcmp(part, "exchange") == 0;
	want_dlopen = strcmp(part, "all") == 0 || strcmp(part, "dlopen") == 0;
	want_helper = (strcmp(part, "all") == 0 && helper != NULL) ||
	    strcmp(part, "helper") == 0;
	if (!want_exchange && !want_dlopen && !want_helper)
		usage();
	if (want_helper && helper == NULL)
		usage();
	want_sasl = want_exchange || case_name != NULL;

	/* A token file whose token is valid needs no helper; should the
	 * plugin run one anyway, let it fail, never reach the network. */
	setenv("XOAUTH2_HELPER", "/nonexistent", 1);
	token_make();
	env_init(&env);
	if (want_sasl && sasl_setup(xo_so, plain_so, &env) != 0)
		return EX_UNAVAILABLE;

	if (case_name != NULL) {
		/* One batch for callgrind; everything else is untimed. */
		for (c = 0; c < NCASES; c++)
			if (strcmp(cases[c].name, case_name) == 0)
				break;
		if (c == NCASES || iterations == 0)
			usage();
		if (secret_prepare(&env, &cases[c]) != 0 ||
		    case_verify(&cases[c], &env, &lc, &ld) != 0 ||
		    warm_up(&cases[c], &env, 100) != 0 ||
		    bench_batch(&cases[c], &env, iterations) != SASL_OK)
			r = EX_SOFTWARE;
		if (secret_release(&env) != 0)
			r = EX_SOFTWARE;
		if (r == 0)
			printf("case %s: %ld exchanges in bench_batch, all "
			    "as expected\n", case_name, iterations);
	} else {
		if (want_exchange &&
		    part_exchange(&env, (int)rounds, (double)batch_ms) != 0)
			r = EX_SOFTWARE;
		if (r == 0 && want_helper &&
		    part_helper(helper, (int)helper_runs) != 0)
			r = EX_SOFTWARE;
		if (r == 0 && want_dlopen &&
		    part_dlopen(xo_so, plain_so, (int)dl_runs) != 0)
			r = EX_SOFTWARE;
	}
	if (want_sasl)
		sasl_client_done();
	return r;
}
