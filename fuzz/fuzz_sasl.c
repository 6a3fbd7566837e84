/*
 * fuzz_sasl: the built plugin driven only through libsasl2's public
 * client API (sasl_client_new, sasl_client_start, sasl_client_step,
 * sasl_errdetail), the way an application drives it, with random
 * applications, credentials, token files and servers.  SASL_PATH must
 * name a directory holding the plugin.
 *
 * Each round makes an application: a mechanism (or a list for libsasl2
 * to choose from), a service and server name (control bytes, too long),
 * a remote address, SASL options (xoauth2_*: valid, garbage, absent), a
 * required security strength, and for the user name, authorization id
 * and secret a way to give them (callback, callback returning NULL or
 * failing, prompt, nothing) and a value: random bytes with control bytes
 * and NULs, format directives, 0 to 70 KB and every limit +-1, a token
 * that begins with '/', or the path of a token file that is valid,
 * expiring, expired, corrupt, JSON-shaped garbage, too big, readable by
 * others, a symlink, a directory, a FIFO, empty or missing.  It answers
 * SASL_INTERACT prompts, then plays a server for 0 to 3 steps: success,
 * random bytes, or a JSON-shaped challenge (deep nesting, huge numbers,
 * invalid UTF-8, \u0000, wrong types, truncation).  sasl_errdetail is
 * read after every call.
 *
 * Checked: no crash, leak (every libsasl2 allocation is counted and must
 * be freed by sasl_dispose), or sanitizer report; the first message is
 * sent only for valid credentials, and then it is exactly the message of
 * the spec with the right token (a token file's token, never its path);
 * valid credentials from callbacks are always sent; the answers to the
 * server's challenges are the ones the specs require; every message of
 * the plugin (errdetail and log) is printable, bounded, and never holds
 * the secret or a token file's token; every round ends in bounded time.
 *
 * Built two ways:
 *   tests/sasl-fuzz (make check): sasl-fuzz [--seed N] [--rounds N]
 *       [--round R]; the environment's XO_SASL_FUZZ_SEED and
 *       XO_SASL_FUZZ_ROUNDS set the defaults.  Round R depends only on
 *       the seed and R, so --round R replays one failure.
 *   fuzz/run.sh's fuzz_sasl (-DXO_LIBFUZZER): the input's bytes make
 *       every choice.
 * The token files live in a new directory under $XO_SASL_FUZZ_DIR, else
 * /dev/shm (the plugin fsyncs when it marks a token stale), else $TMPDIR
 * or /tmp; it is removed at exit.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sasl/sasl.h>

#include "sasl-setup.h"

/* --- choices ------------------------------------------------------------ */

/* Where the choices come from: libFuzzer's input, or a PRNG. */
struct dice {
	const uint8_t	*data;		/* NULL: use state */
	size_t		 len, pos;
	uint64_t	 state;
};

static uint64_t
splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A number from 0 to N - 1 (0 if N is 0). */
static uint32_t
roll(struct dice *d, uint32_t n)
{
	uint64_t v = 0;
	int i, bytes;

	if (n <= 1)
		return 0;
	if (d->data == NULL)
		return (uint32_t)(splitmix64(&d->state) % n);
	bytes = n <= 0x100 ? 1 : n <= 0x10000 ? 2 : 4;
	for (i = 0; i < bytes; i++)
		v = v << 8 | (d->pos < d->len ? d->data[d->pos++] : 0);
	return (uint32_t)(v % n);
}

/* 1 with probability 1/N. */
static int
one_in(struct dice *d, uint32_t n)
{
	return roll(d, n) == 0;
}

/* --- a growable buffer ----------------------------------------------------- */

struct buf {
	char	*p;
	size_t	 len, cap;
};

static void
die(const char *what)
{
	fprintf(stderr, "sasl-fuzz: %s: %s\n", what, strerror(errno));
	exit(99);
}

static void
buf_need(struct buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;

	if (b->len + more + 1 <= b->cap)
		return;
	while (cap < b->len + more + 1)
		cap *= 2;
	if ((b->p = realloc(b->p, cap)) == NULL)
		die("realloc");
	b->cap = cap;
}

static void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_need(b, n);
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void __attribute__((format(printf, 2, 3)))
buf_fmt(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	buf_need(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

static void
buf_reset(struct buf *b)
{
	b->len = 0;
	buf_need(b, 0);
	b->p[0] = '\0';
}

static void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* --- random values ----------------------------------------------------------- */

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A length: mostly short, often at a limit of the plugin or libsasl2. */
static size_t
pick_len(struct dice *d)
{
	static const size_t edges[] = { 1023, 1024, 1025, 65535, 65536, 65537,
	    126, 127, 128, 255, 256, 276, 2047, 2048 };

	switch (roll(d, 20)) {
	case 0:
		return 0;
	case 1: case 2: case 3: case 4: case 5: case 6:
		return 1 + roll(d, 16);
	case 7: case 8: case 9: case 10: case 11:
		return 17 + roll(d, 200);
	case 12: case 13:
		return edges[roll(d, sizeof(edges) / sizeof(edges[0]))];
	case 14: case 15:
		return 200 + roll(d, 5000);
	case 16:
		return 60000 + roll(d, 10001);	/* up to 70 KB */
	default:
		return 8 + roll(d, 60);
	}
}

/* Fills OUT with LEN bytes of one random kind. */
static void
fill(struct dice *d, struct buf *out, size_t len)
{
	static const char fmtish[] = "%s%u%n%d%zu%%%m%z%c%i%p%x%lld ";
	size_t i, kind = roll(d, 6);
	char c = 'x';

	buf_reset(out);
	buf_need(out, len);
	for (i = 0; i < len; i++) {
		switch (kind) {
		case 0:		/* a token's alphabet (RFC 6750 b64token) */
			c = b64[roll(d, 64)];
			break;
		case 1:		/* printable ASCII */
			c = (char)(0x20 + roll(d, 0x5f));
			break;
		case 2:		/* anything, NUL and control bytes too */
			c = (char)roll(d, 256);
			break;
		case 3:		/* a token with the odd control byte */
			c = one_in(d, 40) ? (char)roll(d, 0x20) : b64[roll(d, 64)];
			break;
		case 4:		/* format directives */
			c = fmtish[roll(d, sizeof(fmtish) - 1)];
			break;
		default:	/* high bytes: invalid UTF-8, Latin-1 */
			c = (char)(0x80 + roll(d, 0x80));
			break;
		}
		out->p[i] = c;
	}
	out->len = len;
	out->p[len] = '\0';
}

/* --- token files -------------------------------------------------------------- */

enum file_kind {
	F_VALID, F_EXPIRING, F_EXPIRED, F_CORRUPT, F_SHAPED, F_HUGE, F_LOOSE,
	F_SYMLINK, F_DIR, F_FIFO, F_EMPTY, F_MISSING, F_CTLTOKEN, F_BADTYPES,
	F_NOTOKEN, F_LONGPATH, F_NOPARENT, F_NKINDS
};

static const char *const file_names[F_NKINDS] = {
	"valid.json", "expiring.json", "expired.json", "corrupt.json",
	"shaped.json", "huge.json", "loose.json", "link.json", "dir.json",
	"fifo.json", "empty.json", "missing.json", "ctltoken.json",
	"badtypes.json", "notoken.json", NULL, NULL
};

/* The access tokens in the files that hold one (never to be shown). */
#define TOKEN_VALID	"FTvalid0Qm9uam91ciBsZSBtb25kZQ4Zx9"
#define TOKEN_EXPIRING	"FTexpiring0c2FsdXQgbGUgbW9uZGU7Yq"
#define TOKEN_EXPIRED	"FTexpired0aGVsbG8gd29ybGQgYWdhaW4"
#define TOKEN_HELPER	"FThelper0cmVmcmVzaGVkIGJ5IHRoZSBo"

static char dir[64];		/* our token files' directory */
static char helper_ok[128];	/* a helper that refreshes the file */
static char helper_none[128];	/* a helper that does not exist */

static void
put_file(const char *path, const char *text, size_t len, mode_t mode)
{
	FILE *f;

	unlink(path);
	if ((f = fopen(path, "w")) == NULL ||
	    (len > 0 && fwrite(text, 1, len, f) != len) || fclose(f) != 0 ||
	    chmod(path, mode) != 0)
		die(path);
}

static void
put_text(const char *path, const char *text)
{
	put_file(path, text, strlen(text), 0600);
}

static void
put_tokfile(enum file_kind k, const char *token, long expires_in)
{
	char path[128];
	struct buf b = { NULL, 0, 0 };

	snprintf(path, sizeof(path), "%s/%s", dir, file_names[k]);
	buf_fmt(&b, "{\"version\":1,\"user\":\"u@example.com\","
	    "\"token_endpoint\":\"http://127.0.0.1:9/token\",\"client_id\":"
	    "\"c\",\"access_token\":\"%s\",\"expires_at\":%ld,"
	    "\"refresh_token\":\"RT0secret\"}\n", token,
	    (long)time(NULL) + expires_in);
	put_file(path, b.p, b.len, 0600);
	buf_free(&b);
}

/* (Re)writes the files whose content a round may change (the plugin
 * marks a rejected token stale; the helper refreshes). */
static void
reset_files(void)
{
	put_tokfile(F_VALID, TOKEN_VALID, 200000);	/* beyond any margin */
	put_tokfile(F_EXPIRING, TOKEN_EXPIRING, 120);	/* within 300 s; over the
						 * 60 s a due token must keep */
	put_tokfile(F_EXPIRED, TOKEN_EXPIRED, -10);
}

static void
make_files(void)
{
	const char *tmp = getenv("XO_SASL_FUZZ_DIR");
	struct buf b = { NULL, 0, 0 };
	char path[128], target[128];
	int i;

	if (tmp == NULL && access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";	/* the plugin fsyncs when it marks */
	if (tmp == NULL && (tmp = getenv("TMPDIR")) == NULL)
		tmp = "/tmp";
	snprintf(dir, sizeof(dir), "%s/xo-sasl-fuzz.XXXXXX", tmp);
	if (mkdtemp(dir) == NULL)
		die(dir);
	reset_files();
#define PATH(k)	(snprintf(path, sizeof(path), "%s/%s", dir, file_names[k]), path)
	put_text(PATH(F_CORRUPT), "{\"version\":1,\"user\":\"u\",\"acc\x01\xff");
	buf_str(&b, "{\"version\":1,\"access_token\":");
	for (i = 0; i < 3000; i++)
		buf_str(&b, "[{\"a\":");
	buf_str(&b, "1e999999999");
	put_file(PATH(F_SHAPED), b.p, b.len, 0600);
	buf_reset(&b);
	buf_str(&b, "{\"version\":1,\"user\":\"u\",\"token_endpoint\":\"t\","
	    "\"client_id\":\"c\",\"expires_at\":99999999999,\"access_token\":\"");
	while (b.len < 70000)
		buf_str(&b, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	buf_str(&b, "\"}");
	put_file(PATH(F_HUGE), b.p, b.len, 0600);
	buf_reset(&b);
	buf_fmt(&b, "{\"version\":1,\"user\":\"u\",\"token_endpoint\":\"t\","
	    "\"client_id\":\"c\",\"access_token\":\"%s\",\"expires_at\":"
	    "99999999999}", TOKEN_VALID);
	put_file(PATH(F_LOOSE), b.p, b.len, 0644);
	snprintf(target, sizeof(target), "%s/%s", dir, file_names[F_VALID]);
	if (symlink(target, PATH(F_SYMLINK)) != 0)
		die(path);
	if (mkdir(PATH(F_DIR), 0700) != 0)
		die(path);
	if (mkfifo(PATH(F_FIFO), 0600) != 0)
		die(path);
	put_file(PATH(F_EMPTY), "", 0, 0600);
	put_text(PATH(F_CTLTOKEN), "{\"version\":1,\"user\":\"u\",\"token_"
	    "endpoint\":\"t\",\"client_id\":\"c\",\"access_token\":\"FT\\u0000"
	    "x\\u0001y\",\"expires_at\":99999999999}");
	put_text(PATH(F_BADTYPES), "{\"version\":\"1\",\"user\":[],\"token_"
	    "endpoint\":{},\"client_id\":null,\"access_token\":7,\"expires_at\":"
	    "1e400}");
	put_text(PATH(F_NOTOKEN), "{\"version\":1,\"user\":\"u\",\"token_"
	    "endpoint\":\"t\",\"client_id\":\"c\",\"expires_at\":99999999999}");
#undef PATH
	snprintf(helper_ok, sizeof(helper_ok), "%s/helper", dir);
	buf_reset(&b);
	buf_fmt(&b, "#!/bin/sh\n[ \"$1\" = refresh ] || exit 64\n"
	    "for f; do :; done\numask 077\n"
	    "printf '{\"version\":1,\"user\":\"u\",\"token_endpoint\":\"t\","
	    "\"client_id\":\"c\",\"access_token\":\"%s\",\"expires_at\":%%s}' "
	    "$(($(date +%%s) + 200000)) >\"$f.new\" && exec mv \"$f.new\" "
	    "\"$f\"\n", TOKEN_HELPER);
	put_file(helper_ok, b.p, b.len, 0700);
	snprintf(helper_none, sizeof(helper_none), "%s/no-such-helper", dir);
	buf_free(&b);
	/* The default helper must never be the installed one. */
	setenv("XOAUTH2_HELPER", helper_none, 1);
	/* Without an authentication name callback libsasl2 stands in with
	 * $USER: none here, as under cron, so "none" means none. */
	unsetenv("USER");
	unsetenv("USERNAME");
}

static void
remove_files(void)
{
	char path[128];
	int k;

	for (k = 0; k < F_NKINDS; k++) {
		if (file_names[k] == NULL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, file_names[k]);
		if (k == F_DIR)
			rmdir(path);
		else
			unlink(path);
		snprintf(path, sizeof(path), "%s/%s.lock", dir, file_names[k]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.tmp", dir, file_names[k]);
		unlink(path);
		snprintf(path, sizeof(path), "%s/%s.new", dir, file_names[k]);
		unlink(path);
	}
	unlink(helper_ok);
	if (rmdir(dir) != 0)
		fprintf(stderr, "sasl-fuzz: %s: not empty, left behind\n", dir);
}

/* --- the application --------------------------------------------------------- */

enum give { G_CALLBACK, G_CB_NULL, G_CB_FAIL, G_PROMPT, G_NOTHING };

struct cred {
	enum give	 give;
	struct buf	 val;
};

enum { O_HELPER, O_MARGIN, O_TIMEOUT, O_FILES, O_N };
static const char *const opt_names[O_N] = {
	"xoauth2_helper", "xoauth2_refresh_margin", "xoauth2_helper_timeout",
	"xoauth2_token_files"
};

struct round {
	struct dice	 d;
	uint64_t	 number;
	struct cred	 authname, authzid, secret;
	sasl_secret_t	*sec;		/* what the secret callback hands out */
	const char	*opt[O_N];	/* NULL: not set */
	int		 has_getopt;	/* the application has a getopt callback */
	struct buf	 optbuf[O_N];
	int		 files_on;	/* the plugin takes paths as files */
	int		 file;		/* the secret's file kind, or -1 */
	int		 helper_ok;	/* the helper refreshes */
	int		 margin;	/* the plugin's margin, s */
	struct buf	 service, server, challenge, expect, log;
	struct buf	 sent;		/* the token the plugin sent, or "" */
	int		 has_server;
	const char	*remote;
	unsigned	 min_ssf;
	int		 use_prompts;	/* the application can be asked */
};

static struct round *cur;	/* for the callbacks' checks */
static long live_allocs;
static unsigned long count_interact, count_error,
    count_steps, count_files, count_sent, count_refused_new;

static void __attribute__((format(printf, 1, 2), noreturn))
fail(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "FAIL round %" PRIu64 ": ", cur ? cur->number : 0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (cur != NULL && cur->log.len > 0)
		fprintf(stderr, "what the plugin logged:\n%.4000s", cur->log.p);
#ifdef XO_LIBFUZZER
	abort();
#else
	fprintf(stderr, "replay: sasl-fuzz --seed %s --round %" PRIu64 "\n",
	    getenv("XO_SASL_FUZZ_SEED_USED"), cur ? cur->number : 0);
	exit(1);
#endif
}

static void *
count_malloc(size_t n)
{
	void *p = malloc(n);

	if (p != NULL)
		live_allocs++;
	return p;
}

static void *
count_calloc(size_t n, size_t m)
{
	void *p = calloc(n, m);

	if (p != NULL)
		live_allocs++;
	return p;
}

static void *
count_realloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (p == NULL && q != NULL)
		live_allocs++;
	return q;
}

static void
count_free(void *p)
{
	if (p != NULL)
		live_allocs--;
	free(p);
}

/* Whether the secret names a token file by the plugin's rule. */
static int
is_path(const struct round *r)
{
	const struct buf *s = &r->secret.val;

	return r->files_on && s->len > 6 && s->p[0] == '/' &&
	    strcmp(s->p + s->len - 5, ".json") == 0 && s->p[s->len - 6] != '/';
}

/* Whether this round's server challenge holds S, raw or with its JSON
 * escapes undone, when S is not the token the plugin sent: a server that
 * quotes some other string back is not the plugin's leak, but the token
 * it sent the plugin must never quote (a server echoing our message). */
static int
server_said(const struct round *r, const char *s)
{
	const struct buf *c = &r->challenge;
	struct buf u = { NULL, 0, 0 };
	size_t i, n = strlen(s);
	char hex[5], ch;
	int found;

	if (n == 0 || strcmp(s, r->sent.p) == 0)
		return 0;
	if (memmem(c->p, c->len, s, n) != NULL)
		return 1;
	buf_reset(&u);
	for (i = 0; i < c->len; i++) {
		ch = c->p[i];
		if (ch == '\\' && i + 5 < c->len && c->p[i + 1] == 'u') {
			memcpy(hex, c->p + i + 2, 4);
			hex[4] = '\0';
			ch = (char)strtoul(hex, NULL, 16);
			i += 5;
		} else if (ch == '\\' && i + 1 < c->len)
			ch = c->p[++i];
		buf_add(&u, &ch, 1);
	}
	found = memmem(u.p, u.len, s, n) != NULL;
	buf_free(&u);
	return found;
}

/* Whether S is in what the application or the server gave the plugin
 * this round (user names, service, server name, the challenge): a
 * message may quote those, and a string found there is theirs, not a
 * secret the plugin let out (an application may name its service
 * "imapRT0secret"). */
static int
others_said(const struct round *r, const char *s)
{
	return strstr(r->authname.val.p, s) != NULL ||
	    strstr(r->authzid.val.p, s) != NULL ||
	    strstr(r->service.p, s) != NULL ||
	    strstr(r->server.p, s) != NULL || server_said(r, s);
}

/* Whether S is an RFC 6750 b64token: what real bearer tokens look like. */
static int
is_b64token(const struct buf *s)
{
	size_t n = strspn(s->p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrs"
	    "tuvwxyz0123456789-._~+/");

	return n > 0 && n + strspn(s->p + n, "=") == s->len;
}

/* Whether the secret must never be shown: what would be sent as a token.
 * Short or common strings are left out (they occur in any message), and
 * so are secrets that are not b64tokens: one with a space or a quote
 * can be pieced together from the message's own words and a user name
 * beside them (" LLLL" in "the token for LLLLL"), while a code path
 * that leaks the secret leaks any secret, and fill() makes b64tokens
 * often.  The option names are left out too: libFuzzer learns them from
 * the getopt callback's strcmp, and the plugin's warnings name them. */
static int
watch_secret(const struct round *r)
{
	const struct buf *s = &r->secret.val;
	int i;

	if (s->len < 12 || !is_b64token(s) || r->file >= 0 || is_path(r))
		return 0;
	for (i = 0; i < O_N; i++)
		if (strstr(opt_names[i], s->p) != NULL)
			return 0;
	if (others_said(r, s->p) || strstr(dir, s->p))
		return 0;
	return 1;
}

/* The length of the printable character at S (UTF-8, not a control:
 * C0, DEL, C1 as C2 80..9F or a lone 0x80-0x9f), or 0.  An oracle of
 * its own, independent of xo_printable, which made the text. */
static size_t
printable_char(const unsigned char *s)
{
	unsigned long c;
	size_t n, i;

	if (s[0] < 0x20 || s[0] == 0x7f)
		return 0;
	if (s[0] < 0x80)
		return 1;
	n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 && s[0] <= 0xef ?
	    3 : s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : 0;
	if (n == 0)
		return 0;
	c = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < 0xa0 || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	return n;
}

/* Checks one message of the plugin (an error detail or a log line). */
static void
check_text(const char *where, const char *s)
{
	static const char *const tokens[] = { TOKEN_VALID, TOKEN_EXPIRING,
	    TOKEN_EXPIRED, TOKEN_HELPER, "RT0secret" };
	size_t i, n, len;

	if (s == NULL)
		fail("%s: NULL", where);
	n = strlen(s);
	if (n > 2048 + 128)
		fail("%s: %zu bytes", where, n);
	for (i = 0; i < n; i += len)
		if ((len = printable_char((const unsigned char *)s + i)) == 0)
			fail("%s: byte 0x%02x at %zu: \"%s\"", where,
			    (unsigned char)s[i], i, s);
	for (i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
		if (strstr(s, tokens[i]) != NULL &&
		    (cur == NULL || !others_said(cur, tokens[i])))
			fail("%s: holds a token file's secret: \"%s\"", where, s);
	if (cur != NULL && watch_secret(cur) && strstr(s, cur->secret.val.p))
		fail("%s: holds the secret: \"%s\"", where, s);
}

/* Only the plugin's messages are ours to check; libsasl2 adds its own
 * (which may quote what the application gave it). */
static int
is_ours(const char *s)
{
	return strstr(s, "XOAUTH2") != NULL || strstr(s, "OAUTHBEARER") != NULL;
}

static void
check_detail(sasl_conn_t *conn, const char *after)
{
	const char *d = sasl_errdetail(conn);

	if (d == NULL)
		fail("sasl_errdetail after %s: NULL", after);
	if (is_ours(d))
		check_text("sasl_errdetail", d);
}

static int
cb_log(void *context, int level, const char *message)
{
	(void)context;
	(void)level;
	if (message == NULL)
		fail("log: NULL message");
	if (is_ours(message))
		check_text("log", message);
	if (cur != NULL && cur->log.len < 65536) {
		buf_str(&cur->log, message);
		buf_str(&cur->log, "\n");
	}
	return SASL_OK;
}

static int
cb_getopt(void *context, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	struct round *r = context;
	int i;

	(void)plugin;
	for (i = 0; i < O_N; i++)
		if (strcmp(option, opt_names[i]) == 0 && r->opt[i] != NULL) {
			*result = r->opt[i];
			if (len != NULL)
				*len = (unsigned)strlen(r->opt[i]);
			return SASL_OK;
		}
	return SASL_FAIL;
}

static struct cred *
cred_of(struct round *r, unsigned long id)
{
	switch (id) {
	case SASL_CB_AUTHNAME:	return &r->authname;
	case SASL_CB_USER:	return &r->authzid;
	case SASL_CB_PASS:	return &r->secret;
	default:		return NULL;
	}
}

static int
cb_simple(void *context, int id, const char **result, unsigned *len)
{
	struct round *r = context;
	struct cred *c = cred_of(r, (unsigned long)id);

	if (c == NULL)
		fail("simple callback for id %d", id);
	if (c->give == G_CB_FAIL)
		return SASL_FAIL;
	if (c->give == G_CB_NULL)
		return sasl_setup_give(result, len, NULL, 0);
	return sasl_setup_give(result, len, c->val.p, c->val.len);
}

static int
cb_secret(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
	struct round *r = context;
	const struct buf *v = &r->secret.val;

	(void)conn;
	if (id != SASL_CB_PASS)
		fail("secret callback for id %d", id);
	if (r->secret.give == G_CB_FAIL)
		return SASL_FAIL;
	if (r->secret.give == G_CB_NULL) {
		*psecret = NULL;
		return SASL_OK;
	}
	return sasl_setup_secret(&r->sec, v->p, v->len, psecret);
}

/* --- one round ----------------------------------------------------------------- */

static void
pick_cred(struct round *r, struct cred *c, int is_secret)
{
	static const enum give gives[] = { G_CALLBACK, G_CALLBACK, G_CALLBACK,
	    G_CALLBACK, G_CALLBACK, G_CALLBACK, G_PROMPT, G_PROMPT, G_NOTHING,
	    G_CB_NULL, G_CB_FAIL };
	struct dice *d = &r->d;

	c->give = gives[roll(d, sizeof(gives) / sizeof(gives[0]))];
	if (is_secret && one_in(d, 6)) {
		int k = (int)roll(d, F_NKINDS);

		/* These run the helper, which is slow: keep them rare. */
		if ((k == F_EXPIRING || k == F_EXPIRED) && !one_in(d, 8))
			k = F_VALID;

		buf_reset(&c->val);
		count_files++;
		/* A file with a known state, one that changes, or an odd path
		 * to one of them. */
		if (k == F_LONGPATH) {
			buf_str(&c->val, "/");
			while (c->val.len < 5000)
				buf_str(&c->val, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
			buf_str(&c->val, ".json");
		} else if (k == F_NOPARENT)
			buf_str(&c->val, "/nonexistent/xoauth2/x.json");
		else if (one_in(d, 8))
			buf_fmt(&c->val, "%s/.//%s", dir, file_names[k]);
		else
			buf_fmt(&c->val, "%s/%s", dir, file_names[k]);
		r->file = k;
		return;
	}
	fill(d, &c->val, pick_len(d));
	if (is_secret && one_in(d, 8)) {
		/* A token that begins with '/' (1 in 64 base64 tokens); some
		 * end in .json too, which makes them paths by the rule. */
		c->val.p[0] = '/';
		if (c->val.len == 0)
			buf_str(&c->val, "/");
		if (one_in(d, 4))
			buf_str(&c->val, ".json");
	}
}

static void
pick_options(struct round *r)
{
	static const char *const helpers[] = { NULL, NULL, "/bin/false",
	    "relative/helper" };
	static const char *const margins[] = { NULL, "0", "300", "86400",
	    "86401", "-1", "99999999999999999999", "3e2", "" };
	static const char *const timeouts[] = { NULL, "5", "0", "601", "x" };
	static const char *const files[] = { NULL, NULL, "yes", "no", "NO",
	    "on", "off", "true", "false", "1", "0", "maybe", "" };
	struct dice *d = &r->d;
	int i;

	r->opt[O_HELPER] = helpers[roll(d, 4)];
	/* Spawning is slow: a real helper only now and then. */
	if (r->opt[O_HELPER] == NULL && one_in(d, 4))
		r->opt[O_HELPER] = one_in(d, 8) ? helper_ok : helper_none;
	r->opt[O_MARGIN] = margins[roll(d, sizeof(margins) / sizeof(margins[0]))];
	r->opt[O_TIMEOUT] = timeouts[roll(d, sizeof(timeouts) / sizeof(timeouts[0]))];
	r->opt[O_FILES] = files[roll(d, sizeof(files) / sizeof(files[0]))];
	/* Now and then, garbage for any of them; or no getopt callback. */
	for (i = 0; i < O_N; i++)
		if (one_in(d, 30)) {
			fill(d, &r->optbuf[i], pick_len(d) % 3000);
			r->opt[i] = r->optbuf[i].p;
		}
	r->has_getopt = !one_in(d, 10);
	for (i = 0; i < O_N && !r->has_getopt; i++)
		r->opt[i] = NULL;
	r->helper_ok = r->opt[O_HELPER] == helper_ok;
	if (r->opt[O_FILES] == NULL || r->opt[O_FILES][0] == '\0')
		r->files_on = 1;
	else
		r->files_on = !strcasecmp(r->opt[O_FILES], "yes") ||
		    !strcasecmp(r->opt[O_FILES], "on") ||
		    !strcasecmp(r->opt[O_FILES], "true") ||
		    !strcmp(r->opt[O_FILES], "1");
	r->margin = 300;
	if (r->opt[O_MARGIN] != NULL && strcmp(r->opt[O_MARGIN], "0") == 0)
		r->margin = 0;
}

/* A challenge: empty, random bytes, or JSON-shaped. */
static void
pick_challenge(struct dice *d, struct buf *b)
{
	static const char *const values[] = { "\"401\"", "401", "4e2",
	    "1e999999", "-0", "null", "true", "[]", "{}", "\"\"",
	    "123456789012345678901234567890123456789012345678901234567890",
	    "\"\\u0000\"", "\"\\ud800\"", "\"\\uDBFF\\uDFFF\"", "\"\xc0\xaf\"",
	    "\"\xff\xfe\"", "\"a\\u0001b\\u009b\"", "\"Bearer\"", "\"bearer\"",
	    "\"https://mail.google.com/\"", "\"%s%n%u\"" };
	static const char *const keys[] = { "status", "schemes", "scope",
	    "openid-configuration", "error", "", "status\\u0000" };
	size_t i, n, depth;
	struct buf v = { NULL, 0, 0 };

	buf_reset(b);
	switch (roll(d, 8)) {
	case 0:		/* success */
		return;
	case 1:		/* random bytes */
		fill(d, b, 1 + pick_len(d) % 9000);
		return;
	case 2:		/* deep nesting, closed or not */
		depth = 1 + roll(d, 20000);
		for (i = 0; i < depth; i++)
			buf_str(b, one_in(d, 2) ? "[" : "{\"status\":");
		if (one_in(d, 2))
			for (i = 0; i < depth; i++)
				buf_str(b, "]");
		return;
	default:	/* an object of known and odd members */
		buf_str(b, "{");
		n = roll(d, 8);
		for (i = 0; i < n; i++) {
			if (i > 0)
				buf_str(b, ",");
			buf_fmt(b, "\"%s\":", keys[roll(d, sizeof(keys) /
			    sizeof(keys[0]))]);
			if (one_in(d, 4)) {
				fill(d, &v, pick_len(d) % 600);
				buf_str(b, "\"");
				buf_add(b, v.p, v.len);
				buf_str(b, "\"");
			} else
				buf_str(b, values[roll(d, sizeof(values) /
				    sizeof(values[0]))]);
		}
		if (!one_in(d, 6))
			buf_str(b, "}");
		buf_free(&v);
		/* Truncated anywhere, now and then. */
		if (b->len > 1 && one_in(d, 8)) {
			b->len = 1 + roll(d, (uint32_t)b->len - 1);
			b->p[b->len] = '\0';
		}
		return;
	}
}

static int
has_ctl(const struct buf *b)
{
	size_t i;

	for (i = 0; i < b->len; i++)
		if ((unsigned char)b->p[i] < 0x20 || b->p[i] == 0x7f)
			return 1;
	return 0;
}

/* Whether the plugin gets no value at all (a failing or NULL callback,
 * or none and it was never asked). */
static int
no_value(const struct cred *c)
{
	return c->give == G_CB_FAIL || c->give == G_CB_NULL ||
	    c->give == G_NOTHING;
}

/* The value the plugin ends up with, and whether it takes it. */
static int
valid_user(const struct cred *c, int required)
{
	if (no_value(c))
		return !required;
	if (required && c->val.len == 0)
		return 0;
	return c->val.len <= 1024 && !has_ctl(&c->val);
}

/* The bearer token the plugin should send, or NULL if it must not send
 * anything (as far as the secret goes). */
static const char *
expected_token(const struct round *r, int *maybe)
{
	const struct buf *s = &r->secret.val;

	*maybe = 0;
	if (no_value(&r->secret) || s->len == 0 || s->len > 65536 ||
	    has_ctl(s))
		return NULL;
	if (r->file < 0 && !is_path(r))
		return s->p;
	if (!r->files_on)
		return s->p;
	switch (r->file) {
	case F_VALID:
		return TOKEN_VALID;
	case F_EXPIRING:
		*maybe = r->helper_ok;	/* refreshed, or still valid */
		return TOKEN_EXPIRING;
	case F_EXPIRED:
		*maybe = 1;		/* only if the helper refreshed */
		return r->helper_ok ? TOKEN_HELPER : NULL;
	default:
		return NULL;		/* a path, not a token: never sent */
	}
}

/* Whether libsasl2 2.1.28's canon_user refuses the name ("All-whitespace
 * username"): it strips leading and trailing blanks, then refuses when
 * what is left is as long as the leading blanks were (so " a" and "  ab"
 * are refused, and " " is not). */
static int
canon_refuses(const struct cred *c)
{
	size_t lead, rest;

	if (no_value(c) || c->val.len == 0)
		return 0;
	lead = strspn(c->val.p, " ");
	if (lead > c->val.len)
		lead = c->val.len;
	rest = c->val.len - lead;
	while (rest > 0 && c->val.p[lead + rest - 1] == ' ')
		rest--;
	return lead == rest;
}

/* What the gs2 header of RFC 5801 makes of S. */
static void
gs2(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++)
		if (*s == '=')
			buf_str(b, "=3D");
		else if (*s == ',')
			buf_str(b, "=2C");
		else
			buf_add(b, s, 1);
}

/* Keeps the token of the plugin's first message: what follows its first
 * "\x01auth=Bearer " (no other field of a sent message holds a control
 * byte), up to the closing "\x01\x01". */
static void
note_sent(struct round *r, const char *out, unsigned outlen)
{
	static const char key[] = "\001auth=Bearer ";
	const char *p;

	buf_reset(&r->sent);
	if (out == NULL || outlen < 2 ||
	    (p = memmem(out, outlen, key, sizeof(key) - 1)) == NULL)
		return;
	p += sizeof(key) - 1;
	if (p <= out + outlen - 2)
		buf_add(&r->sent, p, (size_t)(out + outlen - 2 - p));
}

/* What sasl_client_start returns once the first message is out: for SMTP
 * and POP, SASL_OK with doneflag unset (done unless the server refuses:
 * nmh reads the outcome next and aborts on a 235 after "continue"; the
 * error challenge still reaches the plugin); for any other service
 * SASL_CONTINUE (mbsync steps only after it). */
static int
sent_result(const struct round *r)
{
	static const char *const done[] = { "smtp", "submission", "pop",
	    "pop3" };
	size_t i;

	for (i = 0; i < sizeof(done) / sizeof(done[0]); i++)
		if (r->service.len == strlen(done[i]) &&
		    memcmp(r->service.p, done[i], r->service.len) == 0)
			return SASL_OK;
	return SASL_CONTINUE;
}

static void
check_first(struct round *r, sasl_conn_t *conn, const char *mech,
    const char *out, unsigned outlen, int result)
{
	const char *token, *user;
	int maybe, valid, as_authzid;

	token = expected_token(r, &maybe);
	/* With no authentication name to be had (no callback, a failing
	 * one, a prompt with nowhere to ask) and an authzid from a
	 * callback, the plugin logs in as the authzid. */
	as_authzid = (r->authname.give == G_CB_FAIL ||
	    r->authname.give == G_NOTHING || (r->authname.give == G_PROMPT &&
	    !r->use_prompts)) && r->authzid.give == G_CALLBACK &&
	    r->authzid.val.len > 0;
	valid = (as_authzid ? valid_user(&r->authzid, 1) :
	    valid_user(&r->authname, 1) && valid_user(&r->authzid, 0)) &&
	    r->min_ssf == 0 && (strcmp(mech, "OAUTHBEARER") != 0 ||
	    !r->has_server || (r->server.len <= 255 && !has_ctl(&r->server)));
	if (result != sent_result(r)) {
		if (valid && (canon_refuses(&r->authname) ||
		    canon_refuses(&r->authzid)) &&
		    strstr(sasl_errdetail(conn), "was not accepted by libsasl2"))
			return;
		/* Valid values from callbacks are always sent (libsasl2's
		 * user canonicalisation trims spaces and has its own limit). */
		if (valid && token != NULL && !maybe &&
		    r->authname.give == G_CALLBACK &&
		    r->secret.give == G_CALLBACK &&
		    (r->authzid.give == G_CALLBACK ||
		    r->authzid.give == G_CB_FAIL))
			fail("%s: valid credentials refused (%d, file %d, "
			    "token files %s): %s", mech, result, r->file,
			    r->opt[O_FILES] ? r->opt[O_FILES] : "(unset)",
			    sasl_errdetail(conn));
		return;
	}
	count_sent++;
	note_sent(r, out, outlen);
	if (!valid)
		fail("%s: sent with an invalid user, server name or SSF", mech);
	if (token == NULL)
		fail("%s: sent although the secret was bad or a broken token "
		    "file (file kind %d)", mech, r->file);
	if (out == NULL)
		fail("%s: sent (%d) without a message", mech, result);
	buf_reset(&r->expect);
	user = !no_value(&r->authzid) && r->authzid.val.len > 0 ?
	    r->authzid.val.p : r->authname.val.p;
	if (strcmp(mech, "XOAUTH2") == 0) {
		buf_fmt(&r->expect, "user=%s\001auth=Bearer %s\001\001", user,
		    token);
		if (outlen != r->expect.len ||
		    memcmp(out, r->expect.p, outlen) != 0) {
			if (maybe && r->file == F_EXPIRING) {
				buf_reset(&r->expect);
				buf_fmt(&r->expect, "user=%s\001auth=Bearer %s"
				    "\001\001", user, TOKEN_HELPER);
				if (outlen == r->expect.len &&
				    memcmp(out, r->expect.p, outlen) == 0)
					return;
			}
			fail("XOAUTH2: the message is not the spec's "
			    "(%u bytes, want %zu; gives %d/%d/%d, lengths "
			    "%zu/%zu/%zu)", outlen, r->expect.len,
			    r->authname.give, r->authzid.give, r->secret.give,
			    r->authname.val.len, r->authzid.val.len,
			    r->secret.val.len);
		}
		return;
	}
	/* OAUTHBEARER: "n,a=USER,\x01" [host=..\x01] [port=..\x01]
	 * "auth=Bearer TOKEN\x01\x01" */
	buf_str(&r->expect, "n,a=");
	gs2(&r->expect, user);
	buf_str(&r->expect, ",\001");
	if (outlen < r->expect.len || memcmp(out, r->expect.p, r->expect.len))
		fail("OAUTHBEARER: the gs2 header is not the spec's");
	if (r->has_server && r->server.len > 0) {
		size_t i;

		const char *h = r->server.p;
		int hl = (int)r->server.len;

		/* An address literal "[X]", "[IPv6:X]" is sent as X. */
		if (hl >= 3 && h[0] == '[' && h[hl - 1] == ']' &&
		    strcspn(h + 1, "[]") == (size_t)hl - 2) {
			h++;
			hl -= 2;
			if (hl > 5 && strncasecmp(h, "ipv6:", 5) == 0) {
				h += 5;
				hl -= 5;
			}
		}
		/* libsasl2 lower-cases the name it is given. */
		buf_reset(&r->expect);
		buf_fmt(&r->expect, "\001host=%.*s\001", hl, h);
		for (i = 0; i < r->expect.len; i++)
			if (r->expect.p[i] >= 'A' && r->expect.p[i] <= 'Z')
				r->expect.p[i] = (char)(r->expect.p[i] - 'A' + 'a');
		if (memmem(out, outlen, r->expect.p, r->expect.len) == NULL)
			fail("OAUTHBEARER: no host=%s in \"%.*s\"", r->server.p,
			    (int)(outlen < 300 ? outlen : 300), out);
	}
	buf_reset(&r->expect);
	buf_fmt(&r->expect, "\001auth=Bearer %s\001\001", maybe &&
	    r->file == F_EXPIRING && outlen >= strlen(TOKEN_HELPER) &&
	    memmem(out, outlen, TOKEN_HELPER, strlen(TOKEN_HELPER)) ?
	    TOKEN_HELPER : token);
	if (outlen < r->expect.len || memcmp(out + outlen - r->expect.len,
	    r->expect.p, r->expect.len) != 0)
		fail("OAUTHBEARER: does not end with the token");
}

/* Answers the prompts: each with its value, now and then with nothing. */
static void
answer(struct round *r, sasl_interact_t *prompts)
{
	sasl_interact_t *p;
	struct cred *c;

	for (p = prompts; p->id != SASL_CB_LIST_END; p++) {
		if (p->prompt == NULL || p->challenge == NULL)
			fail("prompt %lu without text", p->id);
		if ((c = cred_of(r, p->id)) == NULL)
			fail("prompt for id %lu", p->id);
		if (one_in(&r->d, 12)) {
			p->result = NULL;
			p->len = 0;
			continue;
		}
		p->result = c->val.p;
		p->len = (unsigned)c->val.len;
		/* What the plugin gets now is the answer, whatever the
		 * callback does. */
		if (c->give == G_CB_NULL || c->give == G_NOTHING)
			c->give = G_PROMPT;
	}
}

/* A connection with callbacks for R's application; PLAIN: one that
 * libsasl2 accepts (a log, options, a valid address). */
static sasl_conn_t *
new_conn(struct round *r, sasl_callback_t *cbs, int plain)
{
	/* Only addresses libsasl2 accepts: it leaks the connection when it
	 * refuses one (2.1.28), and the plugin never sees those. */
	static const char *const remotes[] = { NULL, "127.0.0.1;993",
	    "127.0.0.1;65535", "::1;143", "10.0.0.1;0", "127.0.0.1;99999" };
	struct dice *d = &r->d;
	sasl_conn_t *conn = NULL;
	int n = 0, res;
	const struct { unsigned long id; struct cred *c; int secret; } slots[] = {
		{ SASL_CB_AUTHNAME, &r->authname, 0 },
		{ SASL_CB_USER, &r->authzid, 0 },
		{ SASL_CB_PASS, &r->secret, 1 },
	};
	size_t i;

	if (plain || !one_in(d, 20))
		cbs[n++] = (sasl_callback_t){ SASL_CB_LOG,
		    (int (*)(void))(void *)cb_log, r };
	if (plain || r->has_getopt)
		cbs[n++] = (sasl_callback_t){ SASL_CB_GETOPT,
		    (int (*)(void))(void *)cb_getopt, r };
	for (i = 0; i < 3; i++) {
		switch (slots[i].c->give) {
		case G_CALLBACK:
		case G_CB_NULL:
		case G_CB_FAIL:
			cbs[n++] = (sasl_callback_t){ slots[i].id, slots[i].secret ?
			    (int (*)(void))(void *)cb_secret :
			    (int (*)(void))(void *)cb_simple, r };
			break;
		case G_PROMPT:	/* listed without a function: ask me */
			cbs[n++] = (sasl_callback_t){ slots[i].id, NULL, NULL };
			break;
		case G_NOTHING:
			break;
		}
	}
	cbs[n] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };

	r->remote = remotes[roll(d, sizeof(remotes) / sizeof(remotes[0]))];
	res = sasl_client_new(r->service.p, r->has_server ? r->server.p : NULL,
	    NULL, r->remote, cbs, 0, &conn);
	/* (On failure libsasl2 may leave CONN pointing at freed memory.) */
	if (res != SASL_OK) {
		count_refused_new++;
		return NULL;
	}
	sasl_setup_props(conn, r->min_ssf);
	return conn;
}

static void
play_round(struct round *r)
{
	static const char *const mechs[] = { "XOAUTH2", "OAUTHBEARER",
	    "XOAUTH2 OAUTHBEARER", "OAUTHBEARER XOAUTH2", "PLAIN XOAUTH2" };
	struct dice *d = &r->d;
	sasl_callback_t cbs[12];
	sasl_interact_t *prompts = NULL;
	sasl_conn_t *conn;
	const char *out = NULL, *chosen = NULL, *mechlist;
	unsigned outlen = 0;
	int res, steps, i, interactions = 0, use_prompts, rejected = 0, sent = 0;
	long before = live_allocs;
	time_t t0 = time(NULL);

	r->file = -1;
	pick_options(r);
	pick_cred(r, &r->authname, 0);
	pick_cred(r, &r->authzid, 0);
	pick_cred(r, &r->secret, 1);
	if (one_in(d, 10))
		fill(d, &r->service, pick_len(d) % 300);
	else {
		buf_reset(&r->service);
		buf_str(&r->service, one_in(d, 3) ? "imap" : one_in(d, 2) ?
		    "smtp" : "pop");
	}
	r->has_server = !one_in(d, 20);
	if (one_in(d, 5))
		fill(d, &r->server, pick_len(d) % 400);
	else {
		buf_reset(&r->server);
		buf_str(&r->server, "mail.example.com");
	}
	/* libsasl2 copies the server name as a C string. */
	r->server.len = strlen(r->server.p);
	r->service.len = strlen(r->service.p);
	r->min_ssf = one_in(d, 30) ? 1 + roll(d, 256) : 0;
	use_prompts = r->use_prompts = !one_in(d, 8);
	buf_reset(&r->challenge);
	buf_reset(&r->log);

	if ((conn = new_conn(r, cbs, 0)) == NULL) {
		/* libsasl2 2.1.28 leaks a few blocks when it refuses an
		 * address ("nonsense"): not ours to count. */
		before = live_allocs;
		goto out;
	}
	mechlist = mechs[roll(d, sizeof(mechs) / sizeof(mechs[0]))];
	for (;;) {
		out = NULL;
		outlen = 0;
		res = sasl_client_start(conn, mechlist, use_prompts ? &prompts :
		    NULL, &out, &outlen, &chosen);
		check_detail(conn, "sasl_client_start");
		if (res != SASL_INTERACT)
			break;
		count_interact++;
		if (!use_prompts)
			fail("SASL_INTERACT without a place for prompts");
		if (prompts == NULL)
			fail("SASL_INTERACT without prompts");
		if (++interactions > 3) {
			/* An application giving up frees the last prompts
			 * (the plugin frees them only when called again). */
			count_free(prompts);
			goto dispose;
		}
		answer(r, prompts);
	}
	/* The message sent: sent_result says what the start returns. */
	if (res == sent_result(r)) {
		if (chosen == NULL)
			fail("%d without a mechanism", res);
		check_first(r, conn, chosen, out, outlen, res);
		sent = 1;
	} else {
		count_error++;
		if (res == SASL_OK || res == SASL_CONTINUE)
			fail("service \"%s\": start returned %d, not %d",
			    r->service.p, res, sent_result(r));
		check_first(r, conn, chosen ? chosen : mechlist, out, outlen,
		    res);
	}

	/* The server's side: 0 to 3 steps.  (After a failed start there is
	 * no exchange to step: libsasl2 itself crashes if asked to.) */
	steps = sent ? (int)roll(d, 4) : 0;
	for (i = 0; i < steps; i++) {
		pick_challenge(d, &r->challenge);
		out = NULL;
		outlen = 0;
		res = sasl_client_step(conn, r->challenge.len > 0 ||
		    one_in(d, 2) ? r->challenge.p : NULL,
		    (unsigned)r->challenge.len, NULL, &out, &outlen);
		count_steps++;
		check_detail(conn, "sasl_client_step");
		if (r->file >= 0 && r->challenge.len > 0)
			rejected = 1;
		/* The first reply decides: success, or the server's error,
		 * answered (play_exchange checks the answers). */
		if (sent && i == 0 && r->challenge.len == 0 && res != SASL_OK)
			fail("%s: success gave %d", chosen, res);
		if (sent && i == 0 && r->challenge.len > 0 &&
		    res != SASL_CONTINUE)
			fail("%s: an error challenge gave %d", chosen, res);
		if (sent && i > 0 && (res == SASL_OK || res == SASL_CONTINUE))
			fail("%s: went on after the exchange ended (%d)",
			    chosen, res);
	}
 dispose:
	sasl_dispose(&conn);
	if (time(NULL) - t0 > 20)
		fail("the round took %ld s", (long)(time(NULL) - t0));
 out:
	if (live_allocs != before)
		fail("%ld allocation(s) not freed after sasl_dispose",
		    live_allocs - before);
	/* Files the plugin marked stale or the helper rewrote. */
	if (rejected || r->helper_ok)
		reset_files();
}

/* A second, strict look at the steps: with valid callbacks and a literal
 * token, every reply must be the one the specs require. */
static void
play_exchange(struct round *r)
{
	struct dice *d = &r->d;
	sasl_callback_t cbs[12];
	sasl_conn_t *conn;
	const char *out = NULL, *chosen = NULL, *mech;
	unsigned outlen = 0;
	int res, i, steps, state = 0;	/* 0 sent, 1 rejected, 2 done */

	r->file = -1;
	for (i = 0; i < O_N; i++)
		r->opt[i] = NULL;
	r->files_on = 1;
	r->helper_ok = 0;
	r->authname.give = r->secret.give = G_CALLBACK;
	r->authzid.give = one_in(d, 2) ? G_CALLBACK : G_CB_FAIL;
	buf_reset(&r->authname.val);
	buf_str(&r->authname.val, "user@example.com");
	buf_reset(&r->authzid.val);
	if (one_in(d, 3))
		buf_str(&r->authzid.val, "shared=box,1@example.com");
	fill(d, &r->secret.val, 1 + roll(d, 3000));
	for (i = 0; i < (int)r->secret.val.len; i++)
		r->secret.val.p[i] = b64[(unsigned char)r->secret.val.p[i] % 64];
	r->secret.val.p[0] = 'T';
	buf_reset(&r->service);
	buf_str(&r->service, one_in(d, 3) ? "imap" : one_in(d, 2) ? "smtp" :
	    "pop");
	buf_reset(&r->server);
	buf_str(&r->server, "imap.example.com");
	r->has_server = 1;
	r->min_ssf = 0;
	mech = one_in(d, 2) ? "XOAUTH2" : "OAUTHBEARER";
	if ((conn = new_conn(r, cbs, 1)) == NULL)
		fail("sasl_client_new refused a plain application");
	res = sasl_client_start(conn, mech, NULL, &out, &outlen, &chosen);
	check_detail(conn, "sasl_client_start");
	if (res != sent_result(r))
		fail("%s: a plain application refused (%d): %s", mech, res,
		    sasl_errdetail(conn));
	check_first(r, conn, mech, out, outlen, res);
	steps = 1 + (int)roll(d, 3);
	for (i = 0; i < steps; i++) {
		pick_challenge(d, &r->challenge);
		out = NULL;
		outlen = 0;
		res = sasl_client_step(conn, r->challenge.p,
		    (unsigned)r->challenge.len, NULL, &out, &outlen);
		check_detail(conn, "sasl_client_step");
		if (state == 0 && r->challenge.len == 0) {
			if (res != SASL_OK)
				fail("%s: success gave %d", mech, res);
			state = 2;
		} else if (state == 0) {
			if (res != SASL_CONTINUE || out == NULL ||
			    (strcmp(mech, "XOAUTH2") == 0 ? outlen != 0 :
			    outlen != 1 || out[0] != '\001'))
				fail("%s: error challenge answered %d, %u bytes",
				    mech, res, outlen);
			if (!strstr(sasl_errdetail(conn), "rejected the access "
			    "token") && !strstr(sasl_errdetail(conn),
			    "refused the login"))
				fail("%s: the challenge not reported: %s", mech,
				    sasl_errdetail(conn));
			state = 1;
		} else if (res == SASL_OK || res == SASL_CONTINUE)
			fail("%s: went on after the exchange ended (%d)", mech,
			    res);
	}
	sasl_dispose(&conn);
}

/* The round's named buffers, for round_init and round_free to walk: a
 * buffer added to struct round is added here, once. */
#define ROUND_NBUFS	9
static void
round_bufs(struct round *r, struct buf *b[ROUND_NBUFS])
{
	struct buf *all[ROUND_NBUFS] = { &r->authname.val, &r->authzid.val,
	    &r->secret.val, &r->service, &r->server, &r->challenge,
	    &r->expect, &r->log, &r->sent };

	memcpy(b, all, sizeof(all));
}

static void
round_init(struct round *r)
{
	struct buf *b[ROUND_NBUFS];
	int i;

	memset(r, 0, sizeof(*r));
	round_bufs(r, b);
	for (i = 0; i < ROUND_NBUFS; i++)
		buf_reset(b[i]);
}

static void
round_free(struct round *r)
{
	struct buf *b[ROUND_NBUFS];
	int i;

	round_bufs(r, b);
	for (i = 0; i < ROUND_NBUFS; i++)
		buf_free(b[i]);
	for (i = 0; i < O_N; i++)
		buf_free(&r->optbuf[i]);
	free(r->sec);
}

static void
run_one(struct round *r)
{
	cur = r;
	if (one_in(&r->d, 4))
		play_exchange(r);
	else
		play_round(r);
	cur = NULL;
}

static void
setup(void)
{
	int res;

	if (getenv("SASL_PATH") == NULL) {
		fprintf(stderr, "sasl-fuzz: SASL_PATH must name the directory "
		    "of the built plugin\n");
		exit(99);
	}
	make_files();
	atexit(remove_files);
	sasl_set_alloc(count_malloc, count_calloc, count_realloc, count_free);
	if ((res = sasl_client_init(NULL)) != SASL_OK) {
		fprintf(stderr, "sasl-fuzz: sasl_client_init: %s\n",
		    sasl_errstring(res, NULL, NULL));
		exit(99);
	}
}

#ifdef XO_LIBFUZZER
int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setup();
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct round r;

	round_init(&r);
	r.d.data = data;
	r.d.len = size;
	run_one(&r);
	round_free(&r);
	return 0;
}
#else
static uint64_t
number(const char *s, const char *what)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno != 0 || *s == '\0' || *end != '\0') {
		fprintf(stderr, "sasl-fuzz: %s: not a number: %s\n", what, s);
		exit(64);
	}
	return v;
}

int
main(int argc, char **argv)
{
	const char *s;
	uint64_t seed = 20261128, rounds = 20000, first = 0, i;
	struct timespec t0, t1;
	char seedtext[32];
	double secs;
	int a, only = 0;

	if ((s = getenv("XO_SASL_FUZZ_SEED")) != NULL && *s != '\0')
		seed = number(s, "XO_SASL_FUZZ_SEED");
	if ((s = getenv("XO_SASL_FUZZ_ROUNDS")) != NULL && *s != '\0')
		rounds = number(s, "XO_SASL_FUZZ_ROUNDS");
	for (a = 1; a < argc; a++) {
		if (a + 1 < argc && strcmp(argv[a], "--seed") == 0)
			seed = number(argv[++a], "--seed");
		else if (a + 1 < argc && strcmp(argv[a], "--rounds") == 0)
			rounds = number(argv[++a], "--rounds");
		else if (a + 1 < argc && strcmp(argv[a], "--round") == 0) {
			first = number(argv[++a], "--round");
			only = 1;
		} else {
			fprintf(stderr, "usage: sasl-fuzz [--seed N] "
			    "[--rounds N] [--round R]\n");
			return 64;
		}
	}
	if (only)
		rounds = 1;
	snprintf(seedtext, sizeof(seedtext), "%" PRIu64, seed);
	setenv("XO_SASL_FUZZ_SEED_USED", seedtext, 1);
	setup();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = first; i < first + rounds; i++) {
		struct round r;
		uint64_t st = seed ^ (i * 0xd1342543de82ef95ULL);

		round_init(&r);
		r.number = i;
		r.d.state = splitmix64(&st);
		run_one(&r);
		round_free(&r);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	sasl_client_done();
	printf("sasl-fuzz: seed %" PRIu64 ", %" PRIu64 " rounds in %.1f s "
	    "(%.0f/s): %lu first messages sent, %lu refused, %lu prompt "
	    "rounds, %lu server steps, %lu token-file secrets, %lu "
	    "applications refused by sasl_client_new; no failure\n",
	    seed, rounds, secs, secs > 0 ? (double)rounds / secs : 0.0,
	    count_sent, count_error, count_interact, count_steps, count_files,
	    count_refused_new);
	return 0;
}
#endif
