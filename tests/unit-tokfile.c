/*
 * unit-tokfile: the token file module (common/tokfile.c, the schema, and
 * common/tokfile_io.c, the file on disk).
 *
 * A table of parse cases, then the file operations in a private temp
 * directory: write/read round trip, refused modes and file types, a
 * symlink planted at the temporary or lock path, root refused in a
 * directory another user owns,
 * tokfile_update re-reading the file once it holds the lock, and the
 * space reservation (tokfile_reserve) that the write then reuses.
 * Exits 1 at the first mismatch, printing what was expected and got.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tokfile.h"

static const char *where = "";
static char dir[] = "/tmp/unit-tokfile.XXXXXX";

static void
cleanup(void)
{
	char cmd[64];

	if (dir[sizeof(dir) - 7] != 'X') {	/* mkdtemp filled it in */
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
}

static void
fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void
fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL: %s: ", where);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	cleanup();
	exit(1);
}

static void
expect_r(int got, int want)
{
	if (got != want)
		fail("got %d (%s), want %d (%s)", got, tokfile_strerror(got),
		    want, tokfile_strerror(want));
}

static void
expect_str(const char *what, const char *got, const char *want)
{
	if (got == NULL && want == NULL)
		return;
	if (got == NULL || want == NULL || strcmp(got, want) != 0)
		fail("%s: got \"%s\", want \"%s\"", what,
		    got ? got : "(null)", want ? want : "(null)");
}

static void
expect_int(const char *what, long long got, long long want)
{
	if (got != want)
		fail("%s: got %lld, want %lld", what, got, want);
}

/* --- parsing ------------------------------------------------------------ */

#define HEAD	"{\"version\":1,\"user\":\"alice@contoso.com\"," \
		"\"token_endpoint\":\"https://login.example/token\"," \
		"\"client_id\":\"cid\","
#define GOOD	HEAD "\"access_token\":\"AT\",\"expires_at\":1764264000}"

/* An app-only file: paths to the credentials, no refresh token. */
#define APP_ONLY HEAD "\"access_token\":\"AT\",\"expires_at\":1," \
	"\"grant\":\"client_credentials\",\"client_secret_file\":\"/s\"," \
	"\"private_key_file\":\"/k.pem\",\"certificate_file\":\"/c.pem\"," \
	"\"certificate_thumbprint\":\"T\",\"service_account_file\":\"/sa.json\"}"

static const struct parse_case {
	const char	*name;
	const char	*text;
	int		 want;		/* 0, or a TOKFILE_E_* code */
	const char	*member;	/* for a member error: its name */
} parse_cases[] = {
	{ "minimal", GOOD, 0, NULL },
	{ "full",
	  "{\"version\":1,\"account\":\"work\",\"user\":\"alice@contoso.com\","
	  "\"provider\":\"microsoft\",\"token_endpoint\":"
	  "\"https://login.microsoftonline.com/common/oauth2/v2.0/token\","
	  "\"client_id\":\"cid\",\"client_secret\":\"cs\",\"scope\":\"a b\","
	  "\"access_token\":\"AT\",\"expires_at\":1764264000,"
	  "\"refresh_token\":\"RT\",\"refreshed_at\":1764260400}\n", 0, NULL },
	{ "white space around", " \n\t" GOOD "\n\n ", 0, NULL },
	{ "unknown members kept", HEAD "\"access_token\":\"AT\","
	  "\"expires_at\":1,\"x\":{\"y\":[1,\"z\",null]},\"w\":null}", 0, NULL },
	{ "null optional", HEAD "\"access_token\":\"AT\",\"expires_at\":1,"
	  "\"refresh_token\":null,\"client_secret\":\"\"}", 0, NULL },
	{ "expires_at 0", HEAD "\"access_token\":\"AT\",\"expires_at\":0}", 0, NULL },
	{ "health members",
	  HEAD "\"access_token\":\"AT\",\"expires_at\":1,"
	  "\"proxy\":\"http://proxy.example:3128\",\"no_proxy\":\"localhost,.lan\","
	  "\"notify\":\"/usr/bin/notify root\",\"failed_at\":1764264100,"
	  "\"failures\":3,\"failure_class\":\"login\","
	  "\"failure\":\"refresh rejected (invalid_grant)\","
	  "\"notify_skipped\":\"not run as root\",\"notify_skipped_at\":17}",
	  0, NULL },

	{ "empty", "", TOKFILE_E_JSON, NULL },
	{ "not JSON", "access_token=AT", TOKFILE_E_JSON, NULL },
	{ "truncated", HEAD "\"access_token\":\"AT\",\"expires_", TOKFILE_E_JSON, NULL },
	{ "array", "[1,2]", TOKFILE_E_JSON, NULL },
	{ "string", "\"x\"", TOKFILE_E_JSON, NULL },
	{ "trailing garbage", GOOD "x", TOKFILE_E_JSON, NULL },
	{ "two objects", GOOD GOOD, TOKFILE_E_JSON, NULL },
	{ "too deep", HEAD "\"access_token\":\"AT\",\"expires_at\":1,\"x\":"
	  "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]}", TOKFILE_E_JSON, NULL },

	{ "no version", "{\"user\":\"u\"}", TOKFILE_E_MEMBER, "version" },
	{ "version string", "{\"version\":\"1\"}", TOKFILE_E_MEMBER, "version" },
	{ "version 2", "{\"version\":2}", TOKFILE_E_VERSION, NULL },
	{ "version 0", "{\"version\":0}", TOKFILE_E_VERSION, NULL },
	{ "no user", "{\"version\":1,\"token_endpoint\":\"e\",\"client_id\":\"c\","
	  "\"access_token\":\"AT\",\"expires_at\":1}", TOKFILE_E_MEMBER, "user" },
	{ "user null", "{\"version\":1,\"user\":null,\"token_endpoint\":\"e\","
	  "\"client_id\":\"c\",\"access_token\":\"AT\",\"expires_at\":1}",
	  TOKFILE_E_MEMBER, "user" },
	{ "user empty", "{\"version\":1,\"user\":\"\",\"token_endpoint\":\"e\","
	  "\"client_id\":\"c\",\"access_token\":\"AT\",\"expires_at\":1}",
	  TOKFILE_E_MEMBER, "user" },
	{ "user number", "{\"version\":1,\"user\":7,\"token_endpoint\":\"e\","
	  "\"client_id\":\"c\",\"access_token\":\"AT\",\"expires_at\":1}",
	  TOKFILE_E_MEMBER, "user" },
	{ "no access_token", HEAD "\"expires_at\":1}", TOKFILE_E_MEMBER, "access_token" },
	{ "access_token NUL", HEAD "\"access_token\":\"A\\u0000T\",\"expires_at\":1}",
	  TOKFILE_E_MEMBER, "access_token" },
	{ "access_token newline", HEAD "\"access_token\":\"A\\nT\",\"expires_at\":1}",
	  TOKFILE_E_MEMBER, "access_token" },
	{ "access_token SOH", HEAD "\"access_token\":\"A\\u0001T\",\"expires_at\":1}",
	  TOKFILE_E_MEMBER, "access_token" },
	{ "access_token array", HEAD "\"access_token\":[\"AT\"],\"expires_at\":1}",
	  TOKFILE_E_MEMBER, "access_token" },
	{ "no expires_at", HEAD "\"access_token\":\"AT\"}", TOKFILE_E_MEMBER, "expires_at" },
	{ "expires_at string", HEAD "\"access_token\":\"AT\",\"expires_at\":\"1\"}",
	  TOKFILE_E_MEMBER, "expires_at" },
	{ "expires_at double", HEAD "\"access_token\":\"AT\",\"expires_at\":1.5}",
	  TOKFILE_E_MEMBER, "expires_at" },
	{ "expires_at negative", HEAD "\"access_token\":\"AT\",\"expires_at\":-1}",
	  TOKFILE_E_MEMBER, "expires_at" },
	{ "refresh_token number", HEAD "\"access_token\":\"AT\",\"expires_at\":1,"
	  "\"refresh_token\":5}", TOKFILE_E_MEMBER, "refresh_token" },
	{ "refreshed_at bool", HEAD "\"access_token\":\"AT\",\"expires_at\":1,"
	  "\"refreshed_at\":true}", TOKFILE_E_MEMBER, "refreshed_at" },
	{ "client_secret object", HEAD "\"access_token\":\"AT\",\"expires_at\":1,"
	  "\"client_secret\":{}}", TOKFILE_E_MEMBER, "client_secret" },
	{ "failures negative", HEAD "\"access_token\":\"AT\",\"expires_at\":1,"
	  "\"failures\":-1}", TOKFILE_E_MEMBER, "failures" },
	{ "failure with newline", HEAD "\"access_token\":\"AT\",\"expires_at\":1,"
	  "\"failure\":\"a\\nb\"}", TOKFILE_E_MEMBER, "failure" },
	{ "proxy number", HEAD "\"access_token\":\"AT\",\"expires_at\":1,"
	  "\"proxy\":3128}", TOKFILE_E_MEMBER, "proxy" },
	{ "no client_id", "{\"version\":1,\"user\":\"u\",\"token_endpoint\":\"e\","
	  "\"access_token\":\"AT\",\"expires_at\":1}", TOKFILE_E_MEMBER, "client_id" },
	{ "app-only", APP_ONLY, 0, NULL },
	{ "grant number", HEAD "\"access_token\":\"AT\",\"expires_at\":1,"
	  "\"grant\":4}", TOKFILE_E_MEMBER, "grant" },
	{ "private_key_file newline", HEAD "\"access_token\":\"AT\","
	  "\"expires_at\":1,\"private_key_file\":\"/k\\n\"}", TOKFILE_E_MEMBER,
	  "private_key_file" },
	{ "service_account_file array", HEAD "\"access_token\":\"AT\","
	  "\"expires_at\":1,\"service_account_file\":[]}", TOKFILE_E_MEMBER,
	  "service_account_file" },
};

static void
test_parse_table(void)
{
	struct tokfile *tok;
	const struct parse_case *c;
	size_t i;
	int r;

	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		c = &parse_cases[i];
		where = c->name;
		tok = (struct tokfile *)1;	/* must be reset to NULL */
		r = tokfile_parse(c->text, strlen(c->text), &tok);
		if (c->member != NULL) {
			char want[64];

			snprintf(want, sizeof(want), "\"%s\"", c->member);
			if (!TOKFILE_E_IS_MEMBER(r) ||
			    strstr(tokfile_strerror(r), want) == NULL)
				fail("got %d (%s), want the member error for %s",
				    r, tokfile_strerror(r), want);
		} else
			expect_r(r, c->want);
		if (r != 0 && tok != NULL)
			fail("failed parse left *tokp = %p", (void *)tok);
		if (r == 0 && tok == NULL)
			fail("parse succeeded with *tokp = NULL");
		tokfile_free(tok);
	}
	printf("ok: %zu parse cases\n", i);
}

static void
test_parse_values(void)
{
	const char *full = parse_cases[1].text;
	struct tokfile *tok = NULL;

	where = "parse values";
	expect_r(tokfile_parse(full, strlen(full), &tok), 0);
	expect_int("version", tok->version, 1);
	expect_str("account", tok->account, "work");
	expect_str("user", tok->user, "alice@contoso.com");
	expect_str("provider", tok->provider, "microsoft");
	expect_str("token_endpoint", tok->token_endpoint,
	    "https://login.microsoftonline.com/common/oauth2/v2.0/token");
	expect_str("client_id", tok->client_id, "cid");
	expect_str("client_secret", tok->client_secret, "cs");
	expect_str("scope", tok->scope, "a b");
	expect_str("access_token", tok->access_token, "AT");
	expect_str("refresh_token", tok->refresh_token, "RT");
	expect_int("expires_at", tok->expires_at, 1764264000);
	expect_int("refreshed_at", tok->refreshed_at, 1764260400);
	tokfile_free(tok);

	where = "parse optional absent";
	expect_r(tokfile_parse(GOOD, strlen(GOOD), &tok), 0);
	if (tok->account || tok->provider || tok->client_secret || tok->scope ||
	    tok->refresh_token || tok->refreshed_at || tok->extra)
		fail("absent optional members are not NULL/0");
	tokfile_free(tok);

	where = "parse empty client_secret";
	expect_r(tokfile_parse(parse_cases[4].text, strlen(parse_cases[4].text),
	    &tok), 0);
	expect_str("client_secret", tok->client_secret, NULL);
	expect_str("refresh_token", tok->refresh_token, NULL);
	tokfile_free(tok);

	where = "parse health members";
	expect_r(tokfile_parse(parse_cases[6].text,
	    strlen(parse_cases[6].text), &tok), 0);
	expect_str("proxy", tok->proxy, "http://proxy.example:3128");
	expect_str("no_proxy", tok->no_proxy, "localhost,.lan");
	expect_str("notify", tok->notify, "/usr/bin/notify root");
	expect_int("failed_at", tok->failed_at, 1764264100);
	expect_int("failures", tok->failures, 3);
	expect_str("failure_class", tok->failure_class, "login");
	expect_str("failure", tok->failure, "refresh rejected (invalid_grant)");
	expect_str("notify_skipped", tok->notify_skipped, "not run as root");
	expect_int("notify_skipped_at", tok->notify_skipped_at, 17);
	if (tok->extra != NULL)
		fail("health members kept as unknown members");
	tokfile_free(tok);

	/* Length is honoured: the text need not be NUL-terminated. */
	where = "parse with length";
	{
		char buf[sizeof(GOOD) + 8];

		memcpy(buf, GOOD, strlen(GOOD));
		memcpy(buf + strlen(GOOD), "garbage", 8);
		expect_r(tokfile_parse(buf, strlen(GOOD), &tok), 0);
		tokfile_free(tok);
	}

	/* The app-only members: parsed, and written back as they were. */
	where = "parse app-only";
	expect_r(tokfile_parse(APP_ONLY, strlen(APP_ONLY), &tok), 0);
	expect_str("grant", tok->grant, "client_credentials");
	expect_str("client_secret_file", tok->client_secret_file, "/s");
	expect_str("private_key_file", tok->private_key_file, "/k.pem");
	expect_str("certificate_file", tok->certificate_file, "/c.pem");
	expect_str("certificate_thumbprint", tok->certificate_thumbprint, "T");
	expect_str("service_account_file", tok->service_account_file, "/sa.json");
	if (tok->extra != NULL || tok->refresh_token != NULL)
		fail("app-only members landed in extra, or a refresh token");
	{
		struct tokfile *back = NULL;
		char *text = NULL;
		size_t len;

		expect_r(tokfile_format(tok, &text, &len), 0);
		expect_r(tokfile_parse(text, len, &back), 0);
		expect_str("grant again", back->grant, "client_credentials");
		expect_str("thumbprint again", back->certificate_thumbprint, "T");
		expect_str("service_account_file again",
		    back->service_account_file, "/sa.json");
		tokfile_free(back);
		free(text);
	}
	tokfile_free(tok);
	tokfile_free(NULL);
	printf("ok: parsed values\n");
}

static void
test_parse_huge(void)
{
	size_t len = TOKFILE_MAX + 1, i;
	struct tokfile *tok = NULL;
	char *big;

	where = "huge";
	if ((big = malloc(len + 1)) == NULL)
		fail("out of memory");
	/* A valid object padded with spaces past the cap. */
	memcpy(big, GOOD, strlen(GOOD));
	for (i = strlen(GOOD); i < len; i++)
		big[i] = ' ';
	big[len] = '\0';
	expect_r(tokfile_parse(big, len, &tok), TOKFILE_E_TOOBIG);
	expect_r(tokfile_parse(big, TOKFILE_MAX, &tok), 0);
	tokfile_free(tok);
	free(big);
	printf("ok: size cap\n");
}

static void
test_format_roundtrip(void)
{
	const char *text = parse_cases[3].text;	/* with unknown members */
	struct tokfile *a = NULL, *b = NULL;
	char *out = NULL, *out2 = NULL;
	size_t len, len2;

	where = "format round trip";
	expect_r(tokfile_parse(text, strlen(text), &a), 0);
	expect_r(tokfile_set(&a->refresh_token, "RT2"), 0);
	expect_r(tokfile_set(&a->scope, "s"), 0);
	a->refreshed_at = 42;
	expect_r(tokfile_format(a, &out, &len), 0);
	if (len != strlen(out) || out[len - 1] != '\n')
		fail("formatted length %zu, strlen %zu, no final newline?",
		    len, strlen(out));
	if (strstr(out, "\"x\": {") == NULL || strstr(out, "\"w\": null") == NULL)
		fail("unknown members not preserved:\n%s", out);
	if (strstr(out, "\\/") != NULL)
		fail("slashes escaped:\n%s", out);
	expect_r(tokfile_parse(out, len, &b), 0);
	expect_str("refresh_token", b->refresh_token, "RT2");
	expect_str("scope", b->scope, "s");
	expect_int("refreshed_at", b->refreshed_at, 42);
	expect_str("access_token", b->access_token, "AT");
	expect_r(tokfile_format(b, &out2, &len2), 0);
	expect_str("second format", out2, out);

	where = "format refuses missing required";
	expect_r(tokfile_set(&b->access_token, NULL), 0);
	free(out);
	out = NULL;
	if (!TOKFILE_E_IS_MEMBER(tokfile_format(b, &out, &len)) || out != NULL)
		fail("formatted a token without access_token");
	where = "format refuses control characters";
	expect_r(tokfile_set(&b->access_token, "A\nB"), 0);
	if (!TOKFILE_E_IS_MEMBER(tokfile_format(b, &out, &len)))
		fail("formatted an access token with a newline");
	free(out);
	free(out2);
	tokfile_free(a);
	tokfile_free(b);
	printf("ok: format round trip\n");
}

/*
 * Whatever tokfile_format returns, tokfile_read must accept: a file the
 * helper writes but cannot read back loses its refresh token.  Unknown
 * members written compactly grow several times when indented (the round
 * trip of fuzz/fuzz_tokfile.c: a 30 KB file became 195 KB), so a file
 * near the cap is written compactly, and one that does not fit even so
 * is refused (TOKFILE_E_TOOBIG) before anything is written.
 */
static const struct format_case {
	const char	*name;
	const char	*element;	/* of the unknown member's array */
	int		 count;		/* how many */
	int		 want;		/* of tokfile_format and tokfile_write */
	int		 indented;	/* if written: indented, or compact */
} format_cases[] = {
	{ "small file indented", "[1]", 10, 0, 1 },
	{ "indented past the cap: compact", "[1]", 12000, 0, 0 },
	{ "compact past the cap: refused",
	  "\"\001\001\001\001\001\001\001\001\"", 1500, TOKFILE_E_TOOBIG, 0 },
};

/* --- files -------------------------------------------------------------- */

static char *
in_dir(const char *name)
{
	/* Enough that no path is ever reused in this program. */
	static char paths[128][256];
	static int next;
	char *p;

	if (next == 128)
		fail("in_dir: out of slots");
	p = paths[next++];

	snprintf(p, 256, "%s/%s", dir, name);
	return p;
}

static struct tokfile *
sample(const char *access)
{
	struct tokfile *tok = NULL;

	expect_r(tokfile_parse(parse_cases[1].text,
	    strlen(parse_cases[1].text), &tok), 0);
	expect_r(tokfile_set(&tok->access_token, access), 0);
	return tok;
}

static void
put_file(const char *path, const char *text, mode_t mode)
{
	int fd;

	unlink(path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1 ||
	    write(fd, text, strlen(text)) != (ssize_t)strlen(text) ||
	    fchmod(fd, mode) == -1 || close(fd) == -1)
		fail("cannot create %s: %s", path, strerror(errno));
}

static char *
slurp(const char *path)
{
	static char buf[4096];
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		fail("cannot open %s: %s", path, strerror(errno));
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		fail("cannot read %s", path);
	buf[n] = '\0';
	return buf;
}

static void
test_write_read(void)
{
	const char *path = in_dir("rt.json");
	struct tokfile *a = sample("AT-rt"), *b = NULL;
	struct stat st;
	mode_t old = umask(0);

	where = "write/read";
	expect_r(tokfile_write(path, a), 0);
	umask(old);
	if (stat(path, &st) == -1)
		fail("no file after write");
	expect_int("mode", st.st_mode & 07777, 0600);
	expect_r(tokfile_read(path, &b), 0);
	expect_str("access_token", b->access_token, "AT-rt");
	expect_str("refresh_token", b->refresh_token, a->refresh_token);
	expect_int("expires_at", b->expires_at, a->expires_at);
	if (access(in_dir("rt.json.tmp"), F_OK) == 0)
		fail("temporary file left behind");
	if (stat(in_dir("rt.json.lock"), &st) == -1 || (st.st_mode & 077) != 0)
		fail("lock file missing or not 0600");
	tokfile_free(b);

	where = "write replaces";
	expect_r(tokfile_set(&a->access_token, "AT-2"), 0);
	expect_r(tokfile_write(path, a), 0);
	expect_r(tokfile_read(path, &b), 0);
	expect_str("access_token", b->access_token, "AT-2");
	tokfile_free(b);

	where = "read missing";
	expect_r(tokfile_read(in_dir("nope.json"), &b), -ENOENT);
	if (b != NULL)
		fail("*tokp not NULL");
	tokfile_free(a);
	printf("ok: write/read round trip\n");
}

static void
test_format_size(void)
{
	const char *path = in_dir("size.json");
	const struct format_case *c;
	struct tokfile *tok = NULL, *back = NULL;
	char *text, *p, *out = NULL;
	size_t i, len;
	int j;

	for (i = 0; i < sizeof(format_cases) / sizeof(format_cases[0]); i++) {
		c = &format_cases[i];
		where = c->name;
		if ((text = malloc(strlen(GOOD) + 16 +
		    (strlen(c->element) + 1) * (size_t)c->count)) == NULL)
			fail("out of memory");
		/* GOOD without its "}", then "x": [ELEMENT, ...]} */
		p = text + strlen(GOOD) - 1;
		memcpy(text, GOOD, strlen(GOOD) - 1);
		p += sprintf(p, ",\"x\":[");
		for (j = 0; j < c->count; j++)
			p += sprintf(p, "%s%s", j ? "," : "", c->element);
		strcpy(p, "]}");
		if (strlen(text) > TOKFILE_MAX)
			fail("input of %zu bytes is not readable itself",
			    strlen(text));
		expect_r(tokfile_parse(text, strlen(text), &tok), 0);

		expect_r(tokfile_format(tok, &out, &len), c->want);
		put_file(path, GOOD, 0600);
		expect_r(tokfile_write(path, tok), c->want);
		if (c->want != 0) {
			if (out != NULL)
				fail("text returned with an error");
			expect_str("file after a refused write", slurp(path), GOOD);
		} else {
			if (len + 1 > TOKFILE_MAX)
				fail("formatted %zu bytes", len);
			expect_int("indented", strstr(out, "\n  \"version\": 1") != NULL,
			    c->indented);
			expect_r(tokfile_read(path, &back), 0);
			expect_str("access_token read back", back->access_token, "AT");
			tokfile_free(back);
			back = NULL;
		}
		free(out);
		out = NULL;
		tokfile_free(tok);
		tok = NULL;
		free(text);
	}
	printf("ok: %zu format size cases\n", i);
}

static void
test_refusals(void)
{
	const char *path = in_dir("perm.json");
	struct tokfile *tok = NULL;
	static const struct { mode_t mode; int want; } modes[] = {
		{ 0600, 0 }, { 0400, 0 }, { 0644, TOKFILE_E_PERMS },
		{ 0640, TOKFILE_E_PERMS }, { 0604, TOKFILE_E_PERMS },
		{ 0620, TOKFILE_E_PERMS }, { 0602, TOKFILE_E_PERMS },
		{ 0601, TOKFILE_E_PERMS }, { 0610, TOKFILE_E_PERMS },
	};
	char name[32], *big;
	size_t i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		snprintf(name, sizeof(name), "mode %04o", (unsigned)modes[i].mode);
		where = name;
		put_file(path, GOOD, modes[i].mode);
		expect_r(tokfile_read(path, &tok), modes[i].want);
		tokfile_free(tok);
		tok = NULL;
	}

	where = "directory";
	if (mkdir(in_dir("dir.json"), 0700) == -1)
		fail("mkdir: %s", strerror(errno));
	expect_r(tokfile_read(in_dir("dir.json"), &tok), TOKFILE_E_NOTREG);

	where = "fifo";			/* must not block */
	if (mkfifo(in_dir("fifo.json"), 0600) == -1)
		fail("mkfifo: %s", strerror(errno));
	expect_r(tokfile_read(in_dir("fifo.json"), &tok), TOKFILE_E_NOTREG);

	where = "symlink";
	put_file(in_dir("real.json"), GOOD, 0600);
	if (symlink("real.json", in_dir("link.json")) == -1)
		fail("symlink: %s", strerror(errno));
	expect_r(tokfile_read(in_dir("link.json"), &tok), TOKFILE_E_NOTREG);
	expect_r(tokfile_read(in_dir("real.json"), &tok), 0);
	tokfile_free(tok);
	tok = NULL;

	where = "big file";
	if ((big = malloc(TOKFILE_MAX + 2)) == NULL)
		fail("out of memory");
	memset(big, ' ', TOKFILE_MAX + 1);
	memcpy(big, GOOD, strlen(GOOD));
	big[TOKFILE_MAX + 1] = '\0';
	put_file(path, big, 0600);
	expect_r(tokfile_read(path, &tok), TOKFILE_E_TOOBIG);
	free(big);

	where = "garbage file";
	put_file(path, "{\"version\":1,", 0600);
	expect_r(tokfile_read(path, &tok), TOKFILE_E_JSON);
	printf("ok: refused modes, directory, FIFO, symlink, size, garbage\n");
}

static void
test_symlinks_not_followed(void)
{
	const char *path = in_dir("sym.json"), *victim = in_dir("victim");
	struct tokfile *tok = sample("AT-sym"), *back = NULL;
	struct stat st;

	where = "symlink at PATH.tmp";
	put_file(victim, "victim\n", 0600);
	if (symlink(victim, in_dir("sym.json.tmp")) == -1)
		fail("symlink: %s", strerror(errno));
	expect_r(tokfile_write(path, tok), 0);
	expect_str("victim", slurp(victim), "victim\n");
	if (lstat(path, &st) == -1 || !S_ISREG(st.st_mode))
		fail("%s is not a regular file", path);
	if (lstat(in_dir("sym.json.tmp"), &st) == 0)
		fail("PATH.tmp still exists");
	expect_r(tokfile_read(path, &back), 0);
	expect_str("access_token", back->access_token, "AT-sym");
	tokfile_free(back);

	where = "dangling symlink at PATH.tmp";
	if (symlink(in_dir("created-by-attack"), in_dir("sym.json.tmp")) == -1)
		fail("symlink: %s", strerror(errno));
	expect_r(tokfile_write(path, tok), 0);
	if (access(in_dir("created-by-attack"), F_OK) == 0)
		fail("the symlink's target was created");

	where = "symlink at PATH.lock";
	put_file(in_dir("l.json"), GOOD, 0600);
	if (symlink(victim, in_dir("l.json.lock")) == -1)
		fail("symlink: %s", strerror(errno));
	expect_r(tokfile_write(in_dir("l.json"), tok), TOKFILE_E_NOTREG);
	expect_str("victim", slurp(victim), "victim\n");
	expect_str("file untouched", slurp(in_dir("l.json")), GOOD);

	where = "directory at PATH.tmp";
	put_file(in_dir("d.json"), GOOD, 0600);
	if (mkdir(in_dir("d.json.tmp"), 0700) == -1)
		fail("mkdir: %s", strerror(errno));
	if (tokfile_write(in_dir("d.json"), tok) == 0)
		fail("wrote through a directory at PATH.tmp");
	expect_str("file untouched", slurp(in_dir("d.json")), GOOD);
	tokfile_free(tok);
	printf("ok: symlinks at the temporary and lock paths not followed\n");
}

/* Root never writes in a directory another user owns: that user could
 * swap names under it between two system calls (the helper does that
 * work as the owner: helper/become.h).  Readers are not refused. */
static void
test_root_foreign_dir(void)
{
	const char *sub = in_dir("user"), *path = in_dir("user/owned.json");
	struct tokfile *tok = sample("AT-own"), *got = NULL;

	if (geteuid() != 0) {
		printf("skip: root in another user's directory (not root)\n");
		tokfile_free(tok);
		return;
	}
	where = "root in another user's directory";
	if (mkdir(sub, 0700) == -1)
		fail("mkdir: %s", strerror(errno));
	put_file(path, GOOD, 0600);
	if (chown(sub, 4321, 4322) == -1 || chown(path, 4321, 4322) == -1)
		fail("chown: %s", strerror(errno));
	expect_r(tokfile_write(path, tok), TOKFILE_E_DIROWNER);
	expect_r(tokfile_reserve(path), TOKFILE_E_DIROWNER);
	expect_str("file untouched", slurp(path), GOOD);
	if (access(in_dir("user/owned.json.lock"), F_OK) == 0)
		fail("a lock file was created");
	expect_r(tokfile_read(path, &got), 0);
	tokfile_free(got);
	tokfile_free(tok);
	printf("ok: root refuses to write in another user's directory\n");
}

/* --- tokfile_update ------------------------------------------------------ */

struct seen {
	char	access[64];
	int	ret;
	const char *set;	/* new access token, or NULL */
	int	delay_ms;
};

static int
update_fn(struct tokfile *tok, void *arg)
{
	struct seen *s = arg;
	struct timespec ts;

	snprintf(s->access, sizeof(s->access), "%s", tok->access_token);
	if (s->delay_ms > 0) {
		ts.tv_sec = s->delay_ms / 1000;
		ts.tv_nsec = (long)(s->delay_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	if (s->set != NULL && tokfile_set(&tok->access_token, s->set) != 0)
		return -ENOMEM;
	return s->ret;
}

struct child_arg {
	int		 ready;		/* pipe: one byte once we hold the lock */
	int		 delay_ms;
	const char	*set;
};

static int
child_fn(struct tokfile *tok, void *arg)
{
	struct child_arg *c = arg;
	struct timespec ts;

	if (write(c->ready, "L", 1) != 1)
		return -EIO;
	ts.tv_sec = c->delay_ms / 1000;
	ts.tv_nsec = (long)(c->delay_ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
	return tokfile_set(&tok->access_token, c->set);
}

/* Forks a child that runs tokfile_update(PATH) with a callback that holds
 * the lock DELAY_MS, then sets the access token to SET; returns once the
 * child holds the lock. */
static pid_t
slow_updater(const char *path, const char *set, int delay_ms)
{
	int ready[2];
	pid_t pid;
	char c;

	if (pipe(ready) == -1 || (pid = fork()) == -1)
		fail("fork: %s", strerror(errno));
	if (pid == 0) {
		struct child_arg arg = { ready[1], delay_ms, set };

		close(ready[0]);
		_exit(tokfile_update(path, child_fn, &arg) == 0 ? 0 : 1);
	}
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1)
		fail("child did not take the lock");
	close(ready[0]);
	return pid;
}

static void
reap(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		fail("the child updater failed");
}

static long
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static void
test_update(void)
{
	const char *path = in_dir("up.json");
	struct tokfile *tok = sample("AT-A"), *back = NULL;
	struct seen s;
	struct timespec t0;
	struct stat st1, st2;
	char before[4096];
	pid_t pid;
	long ms;

	where = "update re-reads under the lock";
	expect_r(tokfile_write(path, tok), 0);
	/* We read "A" now; the child changes it to "B" while we wait. */
	pid = slow_updater(path, "AT-B", 300);
	memset(&s, 0, sizeof(s));
	s.set = "AT-C";
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_r(tokfile_update(path, update_fn, &s), 0);
	ms = ms_since(&t0);
	reap(pid);
	expect_str("callback saw", s.access, "AT-B");
	if (ms < 150)
		fail("update did not wait for the lock (%ld ms)", ms);
	expect_r(tokfile_read(path, &back), 0);
	expect_str("final access_token", back->access_token, "AT-C");
	tokfile_free(back);
	back = NULL;

	where = "update gives up waiting";
	pid = slow_updater(path, "AT-D", 600);
	memset(&s, 0, sizeof(s));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	expect_r(tokfile_update_wait(path, 100, update_fn, &s), TOKFILE_E_LOCKED);
	ms = ms_since(&t0);
	if (ms < 90 || ms > 3000)
		fail("lock wait of 100 ms took %ld ms", ms);
	if (s.access[0] != '\0')
		fail("callback ran without the lock");
	reap(pid);

	/* A stop (a signal handler's flag) ends the wait at once: a helper
	 * told to stop while queued on the lock leaves the file alone. */
	where = "update stops waiting when told to";
	pid = slow_updater(path, "AT-D2", 2000);
	memset(&s, 0, sizeof(s));
	{
		volatile sig_atomic_t stop = 1;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		expect_r(tokfile_update_stoppable(path, 10000, &stop, update_fn,
		    &s), TOKFILE_E_STOPPED);
	}
	ms = ms_since(&t0);
	if (ms > 1000)
		fail("a stop while waiting for the lock took %ld ms", ms);
	if (s.access[0] != '\0')
		fail("callback ran without the lock");
	reap(pid);
	expect_str("strerror", tokfile_strerror(TOKFILE_E_STOPPED),
	    "stopped while waiting for the lock");

	where = "update unchanged: no write";
	if (stat(path, &st1) == -1)
		fail("stat: %s", strerror(errno));
	snprintf(before, sizeof(before), "%s", slurp(path));
	memset(&s, 0, sizeof(s));
	s.set = "AT-X";
	s.ret = TOKFILE_UNCHANGED;
	expect_r(tokfile_update(path, update_fn, &s), 0);
	if (stat(path, &st2) == -1)
		fail("stat: %s", strerror(errno));
	expect_int("inode", (long long)st2.st_ino, (long long)st1.st_ino);
	expect_str("content", slurp(path), before);

	where = "update error: no write, code passed on";
	s.ret = TOKFILE_E_ABORTED;
	expect_r(tokfile_update(path, update_fn, &s), TOKFILE_E_ABORTED);
	expect_str("content", slurp(path), before);
	s.ret = -EPIPE;
	expect_r(tokfile_update(path, update_fn, &s), -EPIPE);
	s.ret = 7;
	expect_r(tokfile_update(path, update_fn, &s), -EINVAL);
	expect_str("content", slurp(path), before);

	where = "update of a refused file";
	if (chmod(path, 0644) == -1)
		fail("chmod: %s", strerror(errno));
	memset(&s, 0, sizeof(s));
	expect_r(tokfile_update(path, update_fn, &s), TOKFILE_E_PERMS);
	if (s.access[0] != '\0')
		fail("callback ran on a refused file");
	where = "update of a missing file";
	expect_r(tokfile_update(in_dir("missing.json"), update_fn, &s), -ENOENT);
	tokfile_free(tok);
	printf("ok: update re-reads under the lock, waits, skips, aborts\n");
}

/* Writes TOK's serialisation to PATH.tmp as a killed writer would have
 * left it: all of it, or only its first CUT bytes. */
static void
leave_tmp(const char *path, const struct tokfile *tok, size_t cut, mode_t mode)
{
	char tmp[300], *text = NULL;
	size_t len;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	expect_r(tokfile_format(tok, &text, &len), 0);
	if (cut > 0 && cut < len)
		text[cut] = '\0';
	put_file(tmp, text, mode);
	free(text);
}

static void
test_roll_forward(void)
{
	const char *path = in_dir("rf.json");
	char tmp[300];
	struct tokfile *tok = sample("AT-old"), *next = sample("AT-new");
	struct seen s;
	struct timespec past[2];

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	where = "roll forward a finished PATH.tmp";
	expect_r(tokfile_write(path, tok), 0);
	leave_tmp(path, next, 0, 0600);
	memset(&s, 0, sizeof(s));
	s.ret = TOKFILE_UNCHANGED;
	expect_r(tokfile_update(path, update_fn, &s), 0);
	expect_str("callback saw", s.access, "AT-new");
	if (access(tmp, F_OK) == 0)
		fail("PATH.tmp still there");

	static const struct {
		const char *name;
		size_t cut;
		mode_t mode;
		const char *user;	/* another grant */
		int older;		/* PATH.tmp older than PATH */
	} keep[] = {
		{ "truncated PATH.tmp discarded", 40, 0600, NULL, 0 },
		{ "PATH.tmp mode 0644 discarded", 0, 0644, NULL, 0 },
		{ "PATH.tmp of another grant discarded", 0, 0600, "mallory", 0 },
		{ "PATH.tmp older than PATH discarded", 0, 0600, NULL, 1 },
	};
	size_t i;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		where = keep[i].name;
		expect_r(tokfile_set(&tok->access_token, "AT-file"), 0);
		expect_r(tokfile_write(path, tok), 0);
		expect_r(tokfile_set(&next->user, keep[i].user ? keep[i].user :
		    tok->user), 0);
		leave_tmp(path, next, keep[i].cut, keep[i].mode);
		if (keep[i].older) {
			past[0].tv_sec = past[1].tv_sec = time(NULL) - 100;
			past[0].tv_nsec = past[1].tv_nsec = 0;
			if (utimensat(AT_FDCWD, tmp, past, 0) == -1)
				fail("utimensat: %s", strerror(errno));
		}
		memset(&s, 0, sizeof(s));
		s.set = "AT-written";
		expect_r(tokfile_update(path, update_fn, &s), 0);
		expect_str("callback saw", s.access, "AT-file");
		if (access(tmp, F_OK) == 0)
			fail("PATH.tmp not cleaned up by the write");
	}

	where = "symlink at PATH.tmp not rolled forward";
	expect_r(tokfile_write(path, tok), 0);
	expect_r(tokfile_set(&next->user, tok->user), 0);
	leave_tmp(in_dir("elsewhere.json"), next, 0, 0600);
	if (symlink(in_dir("elsewhere.json.tmp"), tmp) == -1)
		fail("symlink: %s", strerror(errno));
	memset(&s, 0, sizeof(s));
	s.ret = TOKFILE_UNCHANGED;
	expect_r(tokfile_update(path, update_fn, &s), 0);
	expect_str("callback saw", s.access, "AT-file");
	tokfile_free(tok);
	tokfile_free(next);
	printf("ok: a finished PATH.tmp is rolled forward, others are not\n");
}

/* --- tokfile_reserve ----------------------------------------------------- */

struct reserve_arg {
	const char	*path;
	int		 ret;		/* what the callback returns */
	int		 reserved;	/* tokfile_reserve's answer */
	struct stat	 tmp;		/* PATH.tmp after reserving */
};

static int
reserve_fn(struct tokfile *tok, void *arg)
{
	struct reserve_arg *a = arg;
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s.tmp", a->path);
	if ((a->reserved = tokfile_reserve(a->path)) != 0)
		return a->reserved;
	if (lstat(tmp, &a->tmp) == -1)
		fail("no PATH.tmp after tokfile_reserve: %s", strerror(errno));
	if (tokfile_set(&tok->access_token, "AT-reserved") != 0)
		return -ENOMEM;
	return a->ret;
}

static void
test_reserve(void)
{
	static const struct {
		const char *name;
		int plant;	/* at PATH.tmp: 0 none, 1 symlink, 2 dangling
				 * symlink, 3 unfinished write, 4 mode 0644,
				 * 5 hard link to the victim */
		int reused;	/* the planted file is written into */
		int ret;	/* the callback's return */
	} rows[] = {
		{ "reserve, then write into the reservation", 0, 0, 0 },
		{ "reserve, callback skips: reservation removed", 0, 0, TOKFILE_UNCHANGED },
		{ "reserve, callback fails: reservation removed", 0, 0, TOKFILE_E_ABORTED },
		{ "symlink at PATH.tmp: not followed by the reservation", 1, 0, 0 },
		{ "dangling symlink at PATH.tmp: target not created", 2, 0, 0 },
		{ "unfinished PATH.tmp of ours: reused", 3, 1, 0 },
		{ "PATH.tmp mode 0644: replaced, not reused", 4, 0, 0 },
		{ "PATH.tmp hard link: replaced, not reused", 5, 0, 0 },
	};
	const char *victim = in_dir("rs-victim"), *attack = in_dir("rs-attack");
	struct tokfile *tok = sample("AT-rs"), *back = NULL;
	struct reserve_arg a;
	struct stat st, planted;
	char path[300], tmp[310], *text;
	size_t i;
	int hold;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		where = rows[i].name;
		snprintf(path, sizeof(path), "%s/rs%zu.json", dir, i);
		snprintf(tmp, sizeof(tmp), "%s.tmp", path);
		expect_r(tokfile_write(path, tok), 0);
		text = strdup(slurp(path));
		put_file(victim, "victim\n", 0600);
		switch (rows[i].plant) {
		case 1:
			if (symlink(victim, tmp) == -1)
				fail("symlink: %s", strerror(errno));
			break;
		case 2:
			unlink(attack);
			if (symlink(attack, tmp) == -1)
				fail("symlink: %s", strerror(errno));
			break;
		case 3:
			leave_tmp(path, tok, 40, 0600);
			break;
		case 4:
			leave_tmp(path, tok, 40, 0644);
			break;
		case 5:
			if (link(victim, tmp) == -1)
				fail("link: %s", strerror(errno));
			break;
		}
		memset(&planted, 0, sizeof(planted));
		hold = -1;
		/* Held open, so that a new file cannot get its inode number. */
		if (rows[i].plant != 0 && ((hold = open(tmp, O_PATH |
		    O_NOFOLLOW)) == -1 || fstat(hold, &planted) == -1))
			fail("open/fstat: %s", strerror(errno));

		memset(&a, 0, sizeof(a));
		a.path = path;
		a.ret = rows[i].ret;
		expect_r(tokfile_update(path, reserve_fn, &a),
		    rows[i].ret == TOKFILE_UNCHANGED ? 0 : rows[i].ret);
		expect_r(a.reserved, 0);
		if (!S_ISREG(a.tmp.st_mode))
			fail("the reservation is not a regular file");
		expect_int("reservation mode", a.tmp.st_mode & 07777, 0600);
		expect_int("reservation links", a.tmp.st_nlink, 1);
		if (a.tmp.st_size < TOKFILE_RESERVE_MIN ||
		    a.tmp.st_blocks * 512 < TOKFILE_RESERVE_MIN)
			fail("reserved %lld bytes (%lld blocks), want %d",
			    (long long)a.tmp.st_size,
			    (long long)a.tmp.st_blocks, TOKFILE_RESERVE_MIN);
		if (rows[i].plant != 0)
			expect_int("planted file reused",
			    a.tmp.st_ino == planted.st_ino, rows[i].reused);
		if (hold != -1)
			close(hold);
		expect_str("victim", slurp(victim), "victim\n");
		if (access(attack, F_OK) == 0)
			fail("the symlink's target was created");
		if (lstat(tmp, &st) == 0)
			fail("PATH.tmp left behind");
		if (rows[i].ret != 0) {
			expect_str("file untouched", slurp(path), text);
			free(text);
			continue;
		}
		free(text);
		if (lstat(path, &st) == -1)
			fail("lstat: %s", strerror(errno));
		expect_int("written into the reservation (same inode)",
		    st.st_ino, a.tmp.st_ino);
		expect_int("mode", st.st_mode & 07777, 0600);
		if (st.st_size >= TOKFILE_RESERVE_MIN)
			fail("not truncated: %lld bytes", (long long)st.st_size);
		expect_r(tokfile_read(path, &back), 0);
		expect_str("access_token", back->access_token, "AT-reserved");
		tokfile_free(back);
		back = NULL;
	}

	where = "reservation: PATH's size + slack";
	snprintf(path, sizeof(path), "%s/rs-big.json", dir);
	{
		char big[30001];
		char *json;
		size_t n;

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		n = strlen(GOOD) + sizeof(big) + 16;
		if ((json = malloc(n)) == NULL)
			fail("out of memory");
		snprintf(json, n, "%s,\"pad\":\"%s\"}", HEAD
		    "\"access_token\":\"AT\",\"expires_at\":1764264000", big);
		put_file(path, json, 0600);
		free(json);
	}
	if (lstat(path, &planted) == -1)
		fail("lstat: %s", strerror(errno));
	memset(&a, 0, sizeof(a));
	a.path = path;
	expect_r(tokfile_update(path, reserve_fn, &a), 0);
	if (a.tmp.st_size < planted.st_size + TOKFILE_RESERVE_SLACK)
		fail("reserved %lld bytes for a %lld-byte file",
		    (long long)a.tmp.st_size, (long long)planted.st_size);
	expect_r(tokfile_read(path, &back), 0);
	expect_str("access_token", back->access_token, "AT-reserved");
	tokfile_free(back);

	where = "a zero-filled reservation is never rolled forward";
	snprintf(path, sizeof(path), "%s/rs-crash.json", dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	expect_r(tokfile_write(path, tok), 0);
	text = strdup(slurp(path));
	{
		int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);

		if (fd == -1 || posix_fallocate(fd, 0, TOKFILE_RESERVE_MIN) != 0 ||
		    close(fd) == -1)
			fail("cannot plant a reservation: %s", strerror(errno));
	}
	{
		struct seen s;

		memset(&s, 0, sizeof(s));
		s.ret = TOKFILE_UNCHANGED;
		expect_r(tokfile_update(path, update_fn, &s), 0);
		expect_str("callback saw", s.access, "AT-rs");
	}
	expect_str("file untouched", slurp(path), text);
	free(text);
	if (access(tmp, F_OK) == 0)
		fail("the reservation was not removed");
	tokfile_free(tok);
	printf("ok: %zu reservation cases; the write reuses it, never follows "
	    "a symlink\n", sizeof(rows) / sizeof(rows[0]) + 2);
}

/* tokfile_backoff: rows of {failures, failed_at, refreshed_at, now, want}. */
static void
test_backoff(void)
{
	static const struct {
		const char *name;
		int64_t failures, failed_at, refreshed_at, now, want;
	} rows[] = {
		{ "never failed", 0, 0, 0, 1000, 0 },
		{ "failures but no time", 2, 0, 0, 1000, 0 },
		{ "one failure, just now", 1, 1000, 0, 1000, 30 },
		{ "one failure, 10 s ago", 1, 1000, 0, 1010, 20 },
		{ "one failure, 30 s ago", 1, 1000, 0, 1030, 0 },
		{ "one failure, long ago", 1, 1000, 0, 5000, 0 },
		{ "two failures", 2, 1000, 0, 1000, 60 },
		{ "three failures", 3, 1000, 500, 1001, 119 },
		{ "five failures", 5, 1000, 0, 1000, 300 },
		{ "many failures: capped", 4000000000LL, 1000, 0, 1000, 300 },
		{ "succeeded since", 3, 1000, 1001, 1001, 0 },
		{ "clock went back", 1, 9000, 0, 1000, 30 },
	};
	struct tokfile tok;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		where = rows[i].name;
		memset(&tok, 0, sizeof(tok));
		tok.failures = rows[i].failures;
		tok.failed_at = rows[i].failed_at;
		tok.refreshed_at = rows[i].refreshed_at;
		expect_int("back-off", tokfile_backoff(&tok, rows[i].now),
		    rows[i].want);
	}
	printf("ok: %zu back-off cases\n", i);
}

/* tokfile_stale_usable, the one rule of plugin and `token' for a due
 * token while refreshing fails: rows of {token, seconds left, want}. */
static void
test_stale_usable(void)
{
	static const struct {
		const char *name, *token;
		int64_t left;
		int want;
	} rows[] = {
		{ "an hour left", "at", 3600, 1 },
		{ "just the minute", "at", TOKFILE_STALE_MIN, 1 },
		{ "a second short", "at", TOKFILE_STALE_MIN - 1, 0 },
		{ "seconds left", "at", 5, 0 },
		{ "expires now", "at", 0, 0 },
		{ "expired", "at", -60, 0 },
		{ "marked stale by the plugin", "at", -1000, 0 },
		{ "no token", NULL, 3600, 0 },
		{ "empty token", "", 3600, 0 },
	};
	struct tokfile tok;
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		where = rows[i].name;
		memset(&tok, 0, sizeof(tok));
		tok.access_token = (char *)(uintptr_t)rows[i].token;
		tok.expires_at = 1000 + rows[i].left;
		expect_int("stale usable", tokfile_stale_usable(&tok, 1000),
		    rows[i].want);
	}
	printf("ok: %zu stale-token cases\n", i);
}

static void
test_strerror(void)
{
	static const int codes[] = { 0, -ENOENT, TOKFILE_E_PERMS,
	    TOKFILE_E_NOTREG, TOKFILE_E_TOOBIG, TOKFILE_E_JSON,
	    TOKFILE_E_VERSION, TOKFILE_E_LOCKED, TOKFILE_E_ABORTED,
	    TOKFILE_E_MEMBER, TOKFILE_E_MEMBER - 99, -99999, 12 };
	size_t i;

	where = "strerror";
	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		if (tokfile_strerror(codes[i]) == NULL ||
		    tokfile_strerror(codes[i])[0] == '\0')
			fail("no text for %d", codes[i]);
	printf("ok: strerror\n");
}

int
main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (mkdtemp(dir) == NULL) {
		printf("FAIL: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	test_parse_table();
	test_parse_values();
	test_parse_huge();
	test_format_roundtrip();
	test_write_read();
	test_format_size();
	test_refusals();
	test_symlinks_not_followed();
	test_root_foreign_dir();
	test_update();
	test_roll_forward();
	test_reserve();
	test_backoff();
	test_stale_usable();
	test_strerror();
	cleanup();
	printf("PASS: unit-tokfile\n");
	return 0;
}
