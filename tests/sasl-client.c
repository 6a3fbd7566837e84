/*
 * The plugin through libsasl2's client API, as an application sees it:
 * callbacks and prompts, authzid, every rejection, both error challenges,
 * and no leaks (every allocation goes through counting allocators).
 * SASL_PATH must point at the build's plugin directory.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sasl/sasl.h>

#include "sasl-setup.h"
#include "unit.h"

#define TOKEN	"EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"
#define USER	"test@contoso.onmicrosoft.com"
/* Pieces of TOKEN, for servers that echo part of it. */
#define TOKEN_TAIL	"wBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA"	/* all but 'E' */
#define TOKEN_HEAD16	"EwBAAl3BAAUFFpUA"
#define TOKEN_LAST16	"jLBWZWCclRC3EoAA"
/* An opaque base64 token may begin with '/' (1 in 64 do). */
#define SLASH_TOKEN	"/9j+Ab3dEf/GhIjK0lMnOpQ=="

static long live_allocs;	/* allocations not yet freed */
static char logbuf[16384];	/* the latest of what the plugin logged */
static int token_logged;	/* the token appeared in a log message */

/* Counting allocators: the plugin's utils->malloc/free end up here, and
 * so do libsasl2's own buffers.  Each block carries its size in front and
 * a canary byte behind, checked when it is freed or resized: libsasl2
 * 2.1.28's formatter writes its closing NUL one byte past its error
 * buffer when literal text follows the last conversion and the message
 * lands on the buffer's size, and this catches that without ASan. */
#define CANARY	0xa5
static int canary_hits;

struct block {
	size_t	size;
	size_t	pad;		/* keeps the data 16-byte aligned */
};

static void *
block_data(struct block *b, size_t n)
{
	b->size = n;
	((unsigned char *)(b + 1))[n] = CANARY;
	return b + 1;
}

static struct block *
block_check(void *p)
{
	struct block *b = (struct block *)p - 1;

	if (((unsigned char *)p)[b->size] != CANARY)
		canary_hits++;
	return b;
}

static void *
count_malloc(size_t n)
{
	struct block *b = malloc(sizeof(*b) + n + 1);

	if (b == NULL)
		return NULL;
	live_allocs++;
	return block_data(b, n);
}

static void *
count_calloc(size_t n, size_t m)
{
	void *p;

	if (m != 0 && n > ((size_t)-1 - sizeof(struct block) - 1) / m)
		return NULL;
	if ((p = count_malloc(n * m)) != NULL)
		memset(p, 0, n * m);
	return p;
}

static void *
count_realloc(void *p, size_t n)
{
	struct block *b;

	if (p == NULL)
		return count_malloc(n);
	if ((b = realloc(block_check(p), sizeof(*b) + n + 1)) == NULL)
		return NULL;
	return block_data(b, n);
}

static void
count_free(void *p)
{
	if (p == NULL)
		return;
	live_allocs--;
	free(block_check(p));
}

/* What the application hands over; NULL means "no callback". */
struct app {
	const char	*authname;
	const char	*authzid;
	const char	*secret;
	size_t		 secretlen;	/* 0: strlen(secret) */
	const char	*server;
	const char	*service;	/* NULL: "imap" */
	const char	*remote;	/* "ip;port" */
	unsigned	 min_ssf;
	int		 prompt;	/* list callbacks with NULL proc */
	sasl_secret_t	*sec;		/* owned by the "application" */
};

static int
cb_simple(void *context, int id, const char **result, unsigned *len)
{
	struct app *a = context;
	const char *v = id == SASL_CB_USER ? a->authzid : a->authname;

	return sasl_setup_give(result, len, v, v != NULL ? strlen(v) : 0);
}

static int
cb_secret(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
	struct app *a = context;
	size_t n = a->secretlen ? a->secretlen : strlen(a->secret);

	(void)conn;
	(void)id;
	return sasl_setup_secret(&a->sec, a->secret, n, psecret);
}

/* SASL options, as an application's config file would give them. */
static const char *opt_helper_timeout;
static const char *opt_token_files;

static int
cb_getopt(void *context, const char *plugin, const char *option,
    const char **result, unsigned *len)
{
	(void)context;
	(void)plugin;
	if (strcmp(option, "xoauth2_helper_timeout") == 0)
		*result = opt_helper_timeout;
	else if (strcmp(option, "xoauth2_token_files") == 0)
		*result = opt_token_files;
	else
		*result = NULL;
	if (*result == NULL)
		return SASL_FAIL;
	if (len != NULL)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

static int
cb_log(void *context, int level, const char *message)
{
	size_t have = strlen(logbuf), n = strlen(message);

	(void)context;
	(void)level;
	if (strstr(message, TOKEN) != NULL ||
	    strstr(message, SLASH_TOKEN) != NULL)
		token_logged = 1;
	/* Keep the latest messages: start over when the next one does not
	 * fit (the checks look for what was just logged). */
	if (have + n + 2 > sizeof(logbuf))
		logbuf[have = 0] = '\0';
	if (n > sizeof(logbuf) - 2)
		n = sizeof(logbuf) - 2;
	memcpy(logbuf + have, message, n);
	logbuf[have + n] = '\n';
	logbuf[have + n + 1] = '\0';
	return SASL_OK;
}

/* Creates a connection with callbacks for what A provides. */
static sasl_conn_t *
conn_new(struct app *a, sasl_callback_t *cbs)
{
	sasl_conn_t *conn = NULL;
	int n = 0, r;

	cbs[n++] = (sasl_callback_t){ SASL_CB_LOG,
	    (int (*)(void))(void *)cb_log, NULL };
	cbs[n++] = (sasl_callback_t){ SASL_CB_GETOPT,
	    (int (*)(void))(void *)cb_getopt, NULL };
	if (a->authname)
		cbs[n++] = (sasl_callback_t){ SASL_CB_AUTHNAME,
		    (int (*)(void))(void *)cb_simple, a };
	if (a->authzid)
		cbs[n++] = (sasl_callback_t){ SASL_CB_USER,
		    (int (*)(void))(void *)cb_simple, a };
	if (a->secret)
		cbs[n++] = (sasl_callback_t){ SASL_CB_PASS,
		    (int (*)(void))(void *)cb_secret, a };
	/* A callback listed without a function means "ask me with a
	 * prompt", which is how mbsync and KIMAP declare it. */
	if (a->prompt) {
		cbs[n++] = (sasl_callback_t){ SASL_CB_AUTHNAME, NULL, NULL };
		cbs[n++] = (sasl_callback_t){ SASL_CB_USER, NULL, NULL };
		cbs[n++] = (sasl_callback_t){ SASL_CB_PASS, NULL, NULL };
	}
	cbs[n] = (sasl_callback_t){ SASL_CB_LIST_END, NULL, NULL };

	r = sasl_client_new(a->service ? a->service : "imap",
	    a->server ? a->server : "imap.example.com",
	    NULL, a->remote, cbs, 0, &conn);
	if (r != SASL_OK) {
		unit_fail("sasl_client_new",
		    "%s", sasl_errstring(r, NULL, NULL));
		return NULL;
	}
	sasl_setup_props(conn, a->min_ssf);
	return conn;
}

static void
expect_out(const char *name, const char *out, unsigned outlen,
    const char *want, size_t wantlen)
{
	if (outlen != wantlen || (wantlen > 0 && memcmp(out, want, wantlen)))
		unit_fail(name, "client message differs (%u bytes, want %zu)",
		    outlen, wantlen);
}

static void
expect_detail(const char *name, sasl_conn_t *conn, const char *needle)
{
	const char *d = sasl_errdetail(conn);

	if (d == NULL || strstr(d, needle) == NULL)
		unit_fail(name,
		    "error detail \"%s\" lacks \"%s\"", d ? d : "(null)",
		    needle);
	else
		printf("  %s: %s\n", name, d);
	if (d != NULL && (strstr(d, TOKEN) != NULL ||
	    strstr(d, SLASH_TOKEN) != NULL))
		unit_fail(name, "the token appears in the error message");
}

/* What sasl_client_start gives once the message is out, for the service
 * of A: SMTP and POP, SASL_OK (done unless refused: nmh reads the server's
 * outcome next); IMAP, SASL_CONTINUE (mbsync steps only after it). */
static int
start_result(const struct app *a)
{
	const char *s = a->service ? a->service : "imap";

	return strcmp(s, "smtp") == 0 || strcmp(s, "submission") == 0 ||
	    strcmp(s, "pop") == 0 || strcmp(s, "pop3") == 0 ?
	    SASL_OK : SASL_CONTINUE;
}

/* Starts MECH with the application A and checks the initial message. */
static sasl_conn_t *
start(const char *name, struct app *a, sasl_callback_t *cbs,
    const char *mech, const char *want, size_t wantlen)
{
	sasl_conn_t *conn;
	const char *out = NULL, *chosen = NULL;
	unsigned outlen = 0;
	int r;

	if ((conn = conn_new(a, cbs)) == NULL)
		return NULL;
	r = sasl_client_start(conn, mech, NULL, &out, &outlen, &chosen);
	if (r != start_result(a)) {
		unit_fail(name, "sasl_client_start gave %d, not %d: %s",
		    r, start_result(a), sasl_errdetail(conn));
		sasl_dispose(&conn);
		return NULL;
	}
	if (chosen == NULL || strcmp(chosen, mech) != 0)
		unit_fail(name,
		    "chose %s, not %s", chosen ? chosen : "nothing", mech);
	expect_out(name, out, outlen, want, wantlen);
	return conn;
}

/*
 * Starts MECH, which must be refused: no initial message, an error detail
 * containing DETAIL (every detail contains ""), and, when MAXSECS > 0,
 * the refusal within MAXSECS seconds.
 */
static void
start_refused(const char *name, struct app *a, sasl_callback_t *cbs,
    const char *mech, const char *detail, long maxsecs)
{
	sasl_conn_t *conn;
	const char *out = NULL, *chosen = NULL;
	unsigned outlen = 0;
	time_t t0 = time(NULL);
	int r;

	if ((conn = conn_new(a, cbs)) == NULL)
		return;
	r = sasl_client_start(conn, mech, NULL, &out, &outlen, &chosen);
	if (r == SASL_OK || r == SASL_CONTINUE || r == SASL_INTERACT)
		unit_fail(name,
		    "%s went ahead (%d, %u bytes)", mech, r, outlen);
	else
		expect_detail(name, conn, detail);
	if (maxsecs > 0 && time(NULL) - t0 > maxsecs)
		unit_fail(name, "took %ld s", (long)(time(NULL) - t0));
	sasl_dispose(&conn);
}

#define S(lit)	lit, sizeof(lit) - 1

/* The application most tests are: USER with TOKEN, no authzid, and the
 * first messages it sends without a server name and port. */
#define TOKEN_APP	{ .authname = USER, .authzid = "", .secret = TOKEN }
#define MSG_XOAUTH2	S("user=" USER "\001auth=Bearer " TOKEN "\001\001")
#define MSG_OAUTHBEARER	\
	S("n,a=" USER ",\001host=imap.example.com\001auth=Bearer " TOKEN "\001\001")

/* One application, its callbacks and its connection, with the client's
 * last message. */
struct client {
	struct app	 a;
	sasl_callback_t	 cbs[10];
	sasl_conn_t	*conn;
	const char	*out;
	unsigned	 outlen;
};

/* start() for C; 0 if it did not. */
static int
client_start(struct client *c, const char *name, const char *mech,
    const char *want, size_t wantlen)
{
	c->conn = start(name, &c->a, c->cbs, mech, want, wantlen);
	return c->conn != NULL;
}

/* One step of C's exchange: the server says CHALLENGE (LEN bytes). */
static int
client_step(struct client *c, const char *challenge, unsigned len)
{
	c->out = NULL;
	return sasl_client_step(c->conn, challenge, len, NULL, &c->out,
	    &c->outlen);
}

static void
test_callbacks(void)
{
	struct client c = { .a = TOKEN_APP };
	int r;

	if (!client_start(&c, "xoauth2 callbacks", "XOAUTH2", MSG_XOAUTH2))
		goto out;
	/* The immediate refusal (Microsoft) leaves a useful detail. */
	expect_detail("refused without challenge", c.conn, "expired");
	expect_detail("refused without challenge: what to run", c.conn,
	    "; to see why: xoauth2-token test ACCOUNT --imap imap.example.com");
	if ((r = client_step(&c, "", 0)) != SASL_OK)
		unit_fail("xoauth2 success", "empty challenge gave %d", r);
	r = client_step(&c, "", 0);
	if (r == SASL_OK || r == SASL_CONTINUE)
		unit_fail("step after success", "gave %d", r);
	sasl_dispose(&c.conn);

	c.a.server = "imap.example.com";
	c.a.remote = "127.0.0.1;993";
	if (!client_start(&c, "oauthbearer callbacks", "OAUTHBEARER",
	    S("n,a=" USER ",\001host=imap.example.com\001port=993\001auth=Bearer "
	    TOKEN "\001\001")))
		goto out;
	if ((r = client_step(&c, "", 0)) != SASL_OK)
		unit_fail("oauthbearer success", "empty challenge gave %d", r);
	sasl_dispose(&c.conn);

	/* No remote address: the port is left out. */
	c.a.remote = NULL;
	client_start(&c, "oauthbearer no port", "OAUTHBEARER", MSG_OAUTHBEARER);
	sasl_dispose(&c.conn);

	/* The secret is read by length; a secret callback's extra bytes and
	 * a missing NUL do not leak into the message. */
	c.a.secret = "abcdef";
	c.a.secretlen = 3;
	client_start(&c, "secret by length", "XOAUTH2",
	    S("user=" USER "\001auth=Bearer abc\001\001"));
	sasl_dispose(&c.conn);
 out:
	free(c.a.sec);
}

static void
test_authzid(void)
{
	struct app a = { .authname = "delegate@contoso.com",
	    .authzid = "shared=box,1@contoso.com", .secret = TOKEN };
	sasl_callback_t cbs[10];
	sasl_conn_t *conn;
	const char *user = NULL, *authid = NULL;

	/* XOAUTH2 names the shared mailbox in user=, with the delegate's
	 * token (Microsoft's documented way to open a shared mailbox). */
	conn = start("xoauth2 authzid", &a, cbs, "XOAUTH2",
	    S("user=shared=box,1@contoso.com\001auth=Bearer " TOKEN "\001\001"));
	if (conn != NULL) {
		sasl_getprop(conn, SASL_USERNAME, (const void **)&user);
		sasl_getprop(conn, SASL_AUTHUSER, (const void **)&authid);
		if (user == NULL || strcmp(user, "shared=box,1@contoso.com"))
			unit_fail("xoauth2 authzid", "SASL_USERNAME is %s",
			    user ? user : "(null)");
		if (authid == NULL || strcmp(authid, "delegate@contoso.com"))
			unit_fail("xoauth2 authzid", "SASL_AUTHUSER is %s",
			    authid ? authid : "(null)");
	}
	sasl_dispose(&conn);
	a.server = "mail.example.org";
	conn = start("oauthbearer authzid escaped", &a, cbs, "OAUTHBEARER",
	    S("n,a=shared=3Dbox=2C1@contoso.com,\001host=mail.example.org\001"
	    "auth=Bearer " TOKEN "\001\001"));
	sasl_dispose(&conn);
	/* Only an authorization id, no authentication name and no prompts
	 * (Perl's Authen::SASL::Cyrus given just `user`): libsasl2 would
	 * stand in with $USER, which daemons and cron lack; the name given
	 * is who we log in as. */
	unsetenv("USER");
	unsetenv("USERNAME");
	a.authname = NULL;
	a.authzid = USER;
	a.server = NULL;
	conn = start("authzid only, xoauth2", &a, cbs, "XOAUTH2", MSG_XOAUTH2);
	if (conn != NULL) {
		sasl_getprop(conn, SASL_AUTHUSER, (const void **)&authid);
		if (authid == NULL || strcmp(authid, USER))
			unit_fail("authzid only", "SASL_AUTHUSER is %s",
			    authid ? authid : "(null)");
	}
	sasl_dispose(&conn);
	conn = start("authzid only, oauthbearer", &a, cbs, "OAUTHBEARER",
	    MSG_OAUTHBEARER);
	sasl_dispose(&conn);
	free(a.sec);
}

/* An application without callbacks, answering SASL_INTERACT prompts the
 * way mbsync and KIMAP do. */
static void
test_prompts(void)
{
	struct app a = { .prompt = 1 };
	sasl_callback_t cbs[10];
	sasl_interact_t *prompts = NULL, *p;
	sasl_conn_t *conn;
	const char *out = NULL, *chosen = NULL;
	unsigned outlen = 0;
	int r, seen = 0, rounds = 0;

	if ((conn = conn_new(&a, cbs)) == NULL)
		return;
	while ((r = sasl_client_start(conn, "XOAUTH2", &prompts, &out,
	    &outlen, &chosen)) == SASL_INTERACT && rounds++ < 3) {
		for (p = prompts; p->id != SASL_CB_LIST_END; p++) {
			if (p->prompt == NULL)
				unit_fail("prompts",
				    "prompt %lu has no text", p->id);
			switch (p->id) {
			case SASL_CB_AUTHNAME:
				p->result = USER;
				seen |= 1;
				break;
			case SASL_CB_USER:
				p->result = "";
				seen |= 2;
				break;
			case SASL_CB_PASS:
				p->result = TOKEN;
				seen |= 4;
				break;
			default:
				unit_fail("prompts",
				    "unexpected prompt %lu", p->id);
				p->result = "";
			}
			p->len = (unsigned)strlen(p->result);
		}
	}
	if (r != SASL_CONTINUE)
		unit_fail("prompts", "start ended with %d: %s", r,
		    sasl_errdetail(conn));
	else
		expect_out("prompts", out, outlen, MSG_XOAUTH2);
	if ((seen & 5) != 5)
		unit_fail("prompts",
		    "not asked for user name and token (%d)", seen);
	sasl_dispose(&conn);
}

/* Every rejection: a clear error, nothing sent. */
static void
test_rejections(void)
{
	static const struct {
		const char *name, *authname, *authzid, *secret, *detail;
	} rows[] = {
		{ "token with \\x01", USER, "", "abc\001def", "control character" },
		{ "token with newline", USER, "", TOKEN "\n", "control character" },
		{ "empty token", USER, "", "", "access token is empty" },
		{ "user with \\x01", "a\001b@x", "", TOKEN, "control character" },
		{ "user with CR", "a@x\r", "", TOKEN, "control character" },
		{ "empty user", "", "", TOKEN, "user name is empty" },
		{ "authzid with DEL", USER, "box\177", TOKEN, "control character" },
	};
	static const char *mechs[] = { "XOAUTH2", "OAUTHBEARER" };
	struct app a;
	sasl_callback_t cbs[10];
	size_t i, m;

	for (m = 0; m < 2; m++)
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.authname = rows[i].authname;
		a.authzid = rows[i].authzid;
		a.secret = rows[i].secret;
		start_refused(rows[i].name, &a, cbs, mechs[m], rows[i].detail,
		    0);
		free(a.sec);
	}

	/* A security layer is something bearer tokens cannot give. */
	memset(&a, 0, sizeof(a));
	a.authname = USER;
	a.secret = TOKEN;
	a.min_ssf = 56;
	start_refused("min_ssf 56", &a, cbs, "XOAUTH2", "", 0);
	free(a.sec);
}

static void test_echoes(struct app *, sasl_callback_t *);

/*
 * How the first step ends, by service (start checks the result): SMTP and
 * POP say SASL_OK with the message, for nmh; yet libsasl2 must still pass
 * the server's error challenge to the plugin (doneflag unset) and get the
 * answer the server waits for, and an empty success challenge ends it.
 */
/* client_start for MECH (0 XOAUTH2, 1 OAUTHBEARER) with its message. */
static int
client_start_mech(struct client *c, const char *name, int mech)
{
	if (mech)
		return client_start(c, name, "OAUTHBEARER", MSG_OAUTHBEARER);
	return client_start(c, name, "XOAUTH2", MSG_XOAUTH2);
}

static void
test_services(void)
{
	static const char *const services[] = { "smtp", "pop", "imap" };
	static const char json[] = "{\"status\":\"invalid_token\"}";
	struct client c = { .a = TOKEN_APP };
	char name[64];
	size_t i;
	int m, r;

	for (i = 0; i < sizeof(services) / sizeof(services[0]); i++)
		for (m = 0; m < 2; m++) {
			c.a.service = services[i];
			snprintf(name, sizeof(name), "%s %s, refused",
			    services[i], m ? "OAUTHBEARER" : "XOAUTH2");
			if (client_start_mech(&c, name, m)) {
				r = client_step(&c, json, sizeof(json) - 1);
				if (r != SASL_CONTINUE || c.out == NULL ||
				    c.outlen != (m ? 1u : 0u) ||
				    (m && c.out[0] != '\001'))
					unit_fail(name, "error challenge not "
					    "answered: r=%d len=%u (%s)", r,
					    c.outlen, sasl_errdetail(c.conn));
			}
			sasl_dispose(&c.conn);
			snprintf(name, sizeof(name), "%s %s, accepted",
			    services[i], m ? "OAUTHBEARER" : "XOAUTH2");
			if (client_start_mech(&c, name, m) &&
			    (r = client_step(&c, "", 0)) != SASL_OK)
				unit_fail(name, "empty challenge gave %d", r);
			sasl_dispose(&c.conn);
		}
	free(c.a.sec);
}

/* The server's JSON error: reported, answered, then the exchange ends. */
static void
test_challenges(void)
{
	static const char google[] = "{\"status\":\"401\",\"schemes\":\"Bearer\","
	    "\"scope\":\"https://mail.google.com/\"}";
	struct client c = { .a = TOKEN_APP };
	int r;

	if (client_start(&c, "xoauth2 challenge", "XOAUTH2", MSG_XOAUTH2)) {
		r = client_step(&c, google, sizeof(google) - 1);
		if (r != SASL_CONTINUE || c.out == NULL || c.outlen != 0)
			unit_fail("xoauth2 challenge",
			    "answer: r=%d len=%u", r, c.outlen);
		expect_detail("xoauth2 challenge status", c.conn, "status 401");
		expect_detail("xoauth2 challenge scope", c.conn,
		    "scope \"https://mail.google.com/\"");
		expect_detail("xoauth2 challenge user", c.conn, USER);
		expect_detail("xoauth2 challenge: what to run", c.conn,
		    "; to see why: xoauth2-token test ACCOUNT --imap "
		    "imap.example.com");
		if (strstr(logbuf, "status 401") == NULL)
			unit_fail("xoauth2 challenge",
			    "not logged for the admin");
		r = client_step(&c, google, sizeof(google) - 1);
		if (r != SASL_BADPROT)
			unit_fail("second challenge",
			    "gave %d, not SASL_BADPROT", r);
		expect_detail("second challenge", c.conn, "protocol error");
	}
	sasl_dispose(&c.conn);

	if (client_start(&c, "oauthbearer challenge", "OAUTHBEARER",
	    MSG_OAUTHBEARER)) {
		r = client_step(&c, google, sizeof(google) - 1);
		if (r != SASL_CONTINUE || c.outlen != 1 || c.out[0] != '\001')
			unit_fail("oauthbearer challenge",
			    "answer is not \\x01");
		expect_detail("oauthbearer challenge", c.conn, "status 401");
	}
	sasl_dispose(&c.conn);

	if (client_start(&c, "non-json challenge", "XOAUTH2", MSG_XOAUTH2)) {
		r = client_step(&c, "go away\001", 8);
		if (r != SASL_CONTINUE || c.outlen != 0)
			unit_fail("non-json challenge",
			    "r=%d len=%u", r, c.outlen);
		expect_detail("non-json challenge", c.conn, "\"go away?\"");
	}
	sasl_dispose(&c.conn);
	test_echoes(&c.a, c.cbs);
	free(c.a.sec);
}

/* A server or proxy that echoes our message (or part of it) back in its
 * error challenge: the plugin quotes challenges in messages that go to
 * the log, so it must leave the token out, in whatever form it comes
 * back.  (expect_detail also fails on the whole token.) */
static void
test_echoes(struct app *a, sasl_callback_t *cbs)
{
	static const struct {
		const char *name, *mech, *challenge;
	} rows[] = {
		{ "echo: our whole message", "XOAUTH2",
		  "user=" USER "\001auth=Bearer " TOKEN "\001\001" },
		{ "echo: the token in the JSON scope, escaped", "OAUTHBEARER",
		  "{\"status\":\"401\",\"scope\":\"\\u0045"
		  TOKEN_TAIL "\"}" },
		{ "echo: the token's first 16 bytes", "XOAUTH2",
		  "error near: auth=Bearer " TOKEN_HEAD16 },
		{ "echo: the token's last 16 bytes", "OAUTHBEARER",
		  "{\"status\":\"401\",\"scope\":\"https://x/ "
		  TOKEN_LAST16 "\"}" },
	};
	char msg[512];
	const char *out;
	unsigned outlen;
	size_t i, n;
	int r;
	sasl_conn_t *conn;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (strcmp(rows[i].mech, "XOAUTH2") == 0)
			n = (size_t)snprintf(msg, sizeof(msg), "user=%s\001"
			    "auth=Bearer %s\001\001", USER, TOKEN);
		else
			n = (size_t)snprintf(msg, sizeof(msg), "n,a=%s,\001"
			    "host=imap.example.com\001auth=Bearer %s\001\001",
			    USER, TOKEN);
		conn = start(rows[i].name, a, cbs, rows[i].mech, msg, n);
		if (conn == NULL)
			continue;
		logbuf[0] = '\0';
		out = NULL;
		r = sasl_client_step(conn, rows[i].challenge,
		    (unsigned)strlen(rows[i].challenge), NULL, &out, &outlen);
		if (r != SASL_CONTINUE || out == NULL)
			unit_fail(rows[i].name, "r=%d", r);
		expect_detail(rows[i].name, conn,
		    "holds the access token we sent");
		if (strstr(sasl_errdetail(conn), TOKEN_HEAD16) != NULL ||
		    strstr(sasl_errdetail(conn), TOKEN_LAST16) != NULL ||
		    strstr(logbuf, TOKEN_HEAD16) != NULL ||
		    strstr(logbuf, TOKEN_LAST16) != NULL)
			unit_fail(rows[i].name, "part of the token is shown");
		if (strstr(logbuf, "holds the access token") == NULL)
			unit_fail(rows[i].name, "not logged for the admin");
		sasl_dispose(&conn);
	}
}

/* Values longer than the plugin takes: refused with their length.  Every
 * one of these crashed the host once (libsasl2's formatter has no %u and
 * read the length as a string). */
static void
test_long_values(void)
{
	static const char *mechs[] = { "XOAUTH2", "OAUTHBEARER" };
	enum { USER_LONG = 2000, TOKEN_LONG = 70000 };
	char *longuser, *longtoken;
	struct app a;
	sasl_callback_t cbs[10];
	sasl_interact_t *prompts, *p;
	sasl_conn_t *conn;
	const char *out, *chosen;
	unsigned outlen;
	size_t m;
	int r;

	longuser = malloc(USER_LONG + 1);
	longtoken = malloc(TOKEN_LONG + 1);
	if (longuser == NULL || longtoken == NULL) {
		unit_fail("long values", "out of memory");
		goto out;
	}
	memset(longuser, 'u', USER_LONG);
	longuser[USER_LONG] = '\0';
	memset(longtoken, 'T', TOKEN_LONG);
	longtoken[TOKEN_LONG] = '\0';

	for (m = 0; m < 2; m++) {
		const struct {
			const char *name, *authname, *authzid, *secret;
			int prompt;
			const char *detail;
		} rows[] = {
			{ "2000-byte user name", longuser, "", TOKEN, 0,
			    "user name is too long (2000 bytes, at most 1024)" },
			{ "2000-byte authzid", USER, longuser, TOKEN, 0,
			    "(mailbox) is too long (2000 bytes, at most 1024)" },
			{ "70000-byte token", USER, "", longtoken, 0,
			    "token is too long (70000 bytes, at most 65536)" },
			{ "70000-byte token, prompted", USER, "", longtoken, 1,
			    "token is too long (70000 bytes, at most 65536)" },
		};
		size_t i;

		for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			memset(&a, 0, sizeof(a));
			a.authname = rows[i].authname;
			a.authzid = rows[i].authzid;
			if (rows[i].prompt)
				a.prompt = 1;
			else
				a.secret = rows[i].secret;
			if ((conn = conn_new(&a, cbs)) == NULL)
				continue;
			prompts = NULL;
			out = NULL;
			while ((r = sasl_client_start(conn, mechs[m], &prompts,
			    &out, &outlen, &chosen)) == SASL_INTERACT) {
				for (p = prompts; p->id != SASL_CB_LIST_END; p++) {
					p->result = p->id == SASL_CB_PASS ?
					    rows[i].secret : "";
					p->len = (unsigned)strlen(p->result);
				}
			}
			if (r == SASL_OK || r == SASL_CONTINUE)
				unit_fail(rows[i].name,
				    "%s accepted it", mechs[m]);
			else
				expect_detail(rows[i].name, conn, rows[i].detail);
			sasl_dispose(&conn);
			free(a.sec);
		}
	}
 out:
	free(longuser);
	free(longtoken);
}

/* libsasl2 2.1.28 writes one byte past its error buffer (and sasl_errdetail
 * then reads past it) when literal text follows the last conversion of a
 * format and the message fills the buffer exactly.  Messages that embed a
 * user name and the server's challenge reach every length from about 100
 * to 330 bytes here; the canaries of the counting allocator (and ASan)
 * see any byte written past a block. */
static void
test_error_buffer_sizes(void)
{
	static const char *mechs[] = { "XOAUTH2", "OAUTHBEARER" };
	char user[200], challenge[200];
	struct app a;
	sasl_callback_t cbs[10];
	sasl_conn_t *conn;
	const char *out, *chosen, *d;
	unsigned outlen;
	size_t m, ulen, clen, json;
	int r, before = canary_hits;

	for (m = 0; m < 2; m++)
	for (json = 0; json < 2; json++)
	for (ulen = 1; ulen < 140; ulen++)
	for (clen = 1; clen < 100; clen += ulen == 139 ? 1 : 99) {
		memset(user, 'u', ulen);
		user[ulen] = '\0';
		if (json)
			snprintf(challenge, sizeof(challenge),
			    "{\"status\":\"401\",\"scope\":\"%.*s\"}",
			    (int)clen, "ssssssssssssssssssssssssssssssssssssssss"
			    "ssssssssssssssssssssssssssssssssssssssssssssssssss"
			    "ssssssssssssssssssss");
		else {
			memset(challenge, 'c', clen);
			challenge[clen] = '\0';
		}
		memset(&a, 0, sizeof(a));
		a.authname = user;
		a.authzid = "";
		a.secret = TOKEN;
		if ((conn = conn_new(&a, cbs)) == NULL)
			return;
		r = sasl_client_start(conn, mechs[m], NULL, &out, &outlen,
		    &chosen);
		d = sasl_errdetail(conn);
		if (r == SASL_CONTINUE) {
			r = sasl_client_step(conn, challenge,
			    (unsigned)strlen(challenge), NULL, &out, &outlen);
			d = sasl_errdetail(conn);
			/* The plugin shortens a long name to 127 bytes. */
			user[ulen < 120 ? ulen : 120] = '\0';
			if (r != SASL_CONTINUE || d == NULL ||
			    strstr(d, user) == NULL)
				unit_fail("error buffer sizes", "user %zu, "
				    "challenge %zu: r=%d detail %s", ulen,
				    clen, r, d ? d : "(null)");
		} else
			unit_fail("error buffer sizes", "start: %d", r);
		sasl_dispose(&conn);
		free(a.sec);
	}
	if (canary_hits != before)
		unit_fail("error buffer sizes",
		    "a byte was written past %d heap "
		    "block(s) while formatting errors", canary_hits - before);
	else
		printf("  error messages of every length: no byte written "
		    "past libsasl2's buffers\n");
}

static char tmpdir[] = "/tmp/xo-sasl-client.XXXXXX";
static char tmpdir2[] = "/tmp/xo-sasl-backoff.XXXXXX";

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f;

	unlink(path);
	if ((f = fopen(path, "w")) == NULL || fputs(text, f) == EOF ||
	    fclose(f) != 0 || chmod(path, mode) != 0) {
		unit_fail("write_file", "%s", path);
		return;
	}
}

/* Removes what a token-file test leaves in DIR: the token file PATH with
 * its lock and temporary file, and the fake HELPER; DIR must then be
 * empty (WHAT names the test). */
static void
remove_tokdir(const char *what, const char *dir, const char *path,
    const char *helper)
{
	char name[300];	/* PATH is at most 255 bytes */

	unlink(path);
	unlink(helper);
	snprintf(name, sizeof(name), "%s.lock", path);
	unlink(name);
	snprintf(name, sizeof(name), "%s.tmp", path);
	unlink(name);
	if (rmdir(dir) != 0)
		unit_fail(what, "%s not empty after the test", dir);
}

static void
write_tokfile(const char *path, const char *token, long expires_at)
{
	char text[1024];

	snprintf(text, sizeof(text), "{\"version\":1,\"user\":\"" USER "\","
	    "\"token_endpoint\":\"http://127.0.0.1:9/token\","
	    "\"client_id\":\"c\",\"access_token\":\"%s\","
	    "\"expires_at\":%ld,\"refresh_token\":\"R1\"}\n", token,
	    expires_at);
	write_file(path, text, 0600);
}

/* Reads FILE's "expires_at" the simple way. */
static long
file_expiry(const char *path)
{
	char text[2048];
	const char *p;
	size_t n;
	FILE *f;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	if ((p = strstr(text, "\"expires_at\"")) == NULL)
		return -1;
	p = strchr(p, ':');
	return p ? strtol(p + 1, NULL, 10) : -1;
}

/* Only an absolute path ending in ".json" names a token file: a token
 * that begins with '/' is sent as it is, and never repeated in a message. */
static void
check_slash_token(const char *label, const void *row)
{
	const struct unit_named *t = row;
	struct app a = { .authname = USER, .authzid = "", .secret = t->in };
	sasl_callback_t cbs[10];
	sasl_conn_t *conn;
	char want[256];
	int n;

	n = snprintf(want, sizeof(want), "user=" USER "\001auth=Bearer "
	    "%s\001\001", t->in);
	conn = start(label, &a, cbs, "XOAUTH2", want, (size_t)n);
	if (conn != NULL) {
		expect_detail(label, conn, "expired");
		if (strstr(sasl_errdetail(conn), t->in) != NULL)
			unit_fail(label,
			    "the token is repeated in the error message");
	}
	sasl_dispose(&conn);
	free(a.sec);
}

static void
test_slash_token(void)
{
	static const struct unit_named rows[] = {
		{ "token beginning with /", SLASH_TOKEN },
		{ "token /", "/" },
		{ "token /.json", "/.json" },
		{ "relative .json name", "work.json" },
		{ "path not ending .json", "/nonexistent/xoauth2/work.json.bak" },
	};

	UNIT_TABLE_NAMED(rows, check_slash_token);
}

/* serverFQDN goes into OAUTHBEARER's host=: a control character in it
 * would end the field or forge another. */
static void
test_server_name(void)
{
	static const char *bad[] = { "imap.example.com\001auth=Bearer x",
	    "imap.example.com\n", "imap\177.example.com" };
	struct app a = TOKEN_APP;
	sasl_callback_t cbs[10];
	sasl_conn_t *conn;
	char longname[300];
	size_t i;

	memset(longname, 'h', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	for (i = 0; i <= sizeof(bad) / sizeof(bad[0]); i++) {
		a.server = i < sizeof(bad) / sizeof(bad[0]) ? bad[i] : longname;
		start_refused("bad server name", &a, cbs, "OAUTHBEARER",
		    a.server == longname ?
		    "host name the application gave is too long (299 bytes" :
		    "host name the application gave contains a control", 0);
	}
	/* sendmail hands libsasl2 its address literal: host= is bare. */
	a.server = "[127.0.0.1]";
	conn = start("bracketed address literal", &a, cbs, "OAUTHBEARER",
	    S("n,a=" USER ",\001host=127.0.0.1\001auth=Bearer " TOKEN
	    "\001\001"));
	sasl_dispose(&conn);
	/* XOAUTH2 does not send it. */
	a.server = bad[0];
	conn = start("bad server name, XOAUTH2", &a, cbs, "XOAUTH2",
	    MSG_XOAUTH2);
	sasl_dispose(&conn);
	free(a.sec);
}

/* Makes DIR (a mkdtemp template) for a token-file test WHAT: PATH
 * (256 bytes) names the token file in it, HELPER (256 bytes) the fake
 * helper, and C is an application whose secret is PATH.  -1: no
 * directory. */
static int
open_tokdir(const char *what, char *dir, char *path, char *helper,
    struct client *c)
{
	if (mkdtemp(dir) == NULL) {
		unit_fail(what, "mkdtemp");
		return -1;
	}
	snprintf(path, 256, "%s/work.json", dir);
	snprintf(helper, 256, "%s/helper", dir);
	memset(c, 0, sizeof(*c));
	c->a = (struct app){ .authname = USER, .authzid = "", .secret = path };
	return 0;
}

/* A secret that begins with '/' names a token file; an expiring token is
 * refreshed through the helper ($XOAUTH2_HELPER here: a script standing in
 * for xoauth2-token), and a token the server rejects is marked stale. */
static void
test_token_file(void)
{
	char path[256], helper[256], script[1024];
	struct client c;
	long now = (long)time(NULL);
	int r;

	if (open_tokdir("token file", tmpdir, path, helper, &c) != 0)
		return;

	/* Valid for an hour: used as it is, no helper run. */
	setenv("XOAUTH2_HELPER", "/nonexistent/xoauth2-token", 1);
	write_tokfile(path, "FRESH1", now + 3600);
	c.conn = start("token file, valid", &c.a, c.cbs, "XOAUTH2",
	    S("user=" USER "\001auth=Bearer FRESH1\001\001"));
	sasl_dispose(&c.conn);

	/* xoauth2_token_files: no (a service passing user-chosen passwords):
	 * the path is the password, sent as it is; the file is not read.  A
	 * value that is neither yes nor no also turns them off, with a
	 * warning; yes keeps them. */
	{
		static const struct {
			const char *value;
			int files;
		} opts[] = { { "no", 0 }, { "OFF", 0 }, { "nope", 0 },
		    { "yes", 1 }, { "on", 1 } };
		char want[512];
		size_t i;
		int n;

		for (i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
			opt_token_files = opts[i].value;
			logbuf[0] = '\0';
			if (opts[i].files)
				n = snprintf(want, sizeof(want), "user=" USER
				    "\001auth=Bearer FRESH1\001\001");
			else
				n = snprintf(want, sizeof(want), "user=" USER
				    "\001auth=Bearer %s\001\001", path);
			c.conn = start(opts[i].value, &c.a, c.cbs, "XOAUTH2",
			    want, (size_t)n);
			sasl_dispose(&c.conn);
			if (strcmp(opts[i].value, "nope") == 0 &&
			    strstr(logbuf, "xoauth2_token_files=nope is neither "
			    "yes nor no") == NULL)
				unit_fail("xoauth2_token_files=nope",
				    "no warning");
		}
		opt_token_files = NULL;
	}

	/* Expiring but still valid, and the helper cannot run: use it (and
	 * log why it was not refreshed).  120 s: well over the 60 s a due
	 * token must keep to be used (tokfile_stale_usable), however slow
	 * this run is. */
	write_tokfile(path, "STILL", now + 120);
	c.conn = start("token file, expiring, no helper", &c.a, c.cbs,
	    "XOAUTH2", S("user=" USER "\001auth=Bearer STILL\001\001"));
	sasl_dispose(&c.conn);
	if (strstr(logbuf, "still valid") == NULL)
		unit_fail("token file, expiring, no helper",
		    "no warning logged");

	/* Expired, and the helper cannot run: say so, and what to do. */
	write_tokfile(path, "OLD", now - 10);
	start_refused("token file, no helper", &c.a, c.cbs, "XOAUTH2",
	    "from outside on a timer: xoauth2-token refresh", 0);

	/* Expiring: the helper is run with "refresh --margin N --time-limit
	 * L FILE" (L: the default xoauth2_helper_timeout of 60 s less two
	 * grace periods of 5 s) and the plugin sends what it wrote. */
	snprintf(script, sizeof(script), "#!/bin/sh\n"
	    "[ \"$1\" = refresh ] && [ \"$2\" = --margin ] && "
	    "[ \"$4\" = --time-limit ] && [ \"$5\" = 50.000 ] || exit 64\n"
	    "f=$6\n"
	    "umask 077\n"
	    "printf '{\"version\":1,\"user\":\"u\",\"token_endpoint\":\"t\","
	    "\"client_id\":\"c\",\"access_token\":\"NEW2\","
	    "\"expires_at\":%ld}' > \"$f.new\" && mv \"$f.new\" \"$f\"\n",
	    now + 3600);
	write_file(helper, script, 0700);
	setenv("XOAUTH2_HELPER", helper, 1);
	c.conn = start("token file, refreshed", &c.a, c.cbs, "OAUTHBEARER",
	    S("n,a=" USER ",\001host=imap.example.com\001auth=Bearer NEW2\001\001"));
	sasl_dispose(&c.conn);

	/* The server rejects it: the file is marked stale for next time. */
	c.conn = start("token file, rejected", &c.a, c.cbs, "XOAUTH2",
	    S("user=" USER "\001auth=Bearer NEW2\001\001"));
	if (c.conn != NULL) {
		r = sasl_client_step(c.conn, "{\"status\":\"401\"}", 16, NULL,
		    &c.out, &c.outlen);
		if (r != SASL_CONTINUE)
			unit_fail("token file, rejected", "step gave %d", r);
		if (file_expiry(path) != 0)
			unit_fail("token file, rejected", "not marked stale "
			    "(expires_at %ld)", file_expiry(path));
	}
	sasl_dispose(&c.conn);

	/* The helper fails: its own message reaches the application. */
	write_file(helper, "#!/bin/sh\necho 'xoauth2-token: work: refresh "
	    "rejected (invalid_grant); run: xoauth2-token login work' >&2\n"
	    "exit 77\n", 0700);
	start_refused("token file, helper fails", &c.a, c.cbs, "XOAUTH2",
	    "run: xoauth2-token login work", 0);

	/* The helper hangs: SIGTERM a quarter of xoauth2_helper_timeout
	 * before it ends (0.75 s of 1 s); sleep dies of it. */
	write_file(helper, "#!/bin/sh\nexec sleep 30\n", 0700);
	opt_helper_timeout = "1";
	start_refused("token file, helper hangs", &c.a, c.cbs, "XOAUTH2",
	    "did not finish within 0.75 s and was stopped with "
	    "SIGTERM (xoauth2_helper_timeout=1)", 5);

	/* SIGTERM lets the helper finish what it must (store a rotated
	 * token) and say so: its words reach the application.  This one
	 * also checks its --time-limit: 2 s less two grace periods of
	 * 0.5 s. */
	snprintf(script, sizeof(script), "#!/bin/sh\n"
	    "[ \"$5\" = 1.000 ] || { echo \"time limit $5\"; exit 64; }\n"
	    "trap 'kill $!; echo xoauth2-token: work: stopped by SIGTERM, "
	    "file stored >&2; exit 75' TERM\n"
	    "sleep 30 & wait $!\n");
	write_file(helper, script, 0700);
	opt_helper_timeout = "2";
	start_refused("token file, helper stops on SIGTERM", &c.a, c.cbs,
	    "XOAUTH2", "did not finish within 1.5 s and was stopped with "
	    "SIGTERM (xoauth2_helper_timeout=2); it said: "
	    "xoauth2-token: work: stopped by SIGTERM, file stored", 3);

	/* One that ignores SIGTERM is killed at xoauth2_helper_timeout. */
	write_file(helper, "#!/bin/sh\ntrap '' TERM\nexec sleep 30\n", 0700);
	start_refused("token file, helper ignores SIGTERM", &c.a, c.cbs,
	    "XOAUTH2", "did not finish within 1.5 s, ignored SIGTERM for "
	    "0.5 s and was killed with SIGKILL "
	    "(xoauth2_helper_timeout=2)", 4);
	opt_helper_timeout = NULL;

	/* Loose permissions are refused with the fix. */
	write_tokfile(path, "FRESH1", now + 3600);
	chmod(path, 0644);
	start_refused("token file, mode 0644", &c.a, c.cbs, "XOAUTH2",
	    "chmod 600", 0);

	/* A path too long to show is reported by its length. */
	{
		static char longpath[5012];

		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[0] = '/';
		memcpy(longpath + sizeof(longpath) - 6, ".json", 6);
		c.a.secret = longpath;
		start_refused("token file, 5011-byte path", &c.a, c.cbs,
		    "XOAUTH2", "cannot read token file (5011 bytes, too "
		    "long to show): File name too long", 0);
	}

	/* A path that does not exist. */
	c.a.secret = "/nonexistent/xoauth2/work.json";
	start_refused("token file, missing", &c.a, c.cbs, "XOAUTH2",
	    "No such file", 0);
	free(c.a.sec);
	remove_tokdir("token file", tmpdir, path, helper);
}

/* Lines in FILE (the fake helper's spawn count); 0 if it is missing. */
static int
count_lines(const char *path)
{
	FILE *f;
	int c, n = 0;

	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

/* A helper standing in for xoauth2-token while the token endpoint is
 * down: it counts its runs in COUNT and records the failure in the file
 * (failed_at now, NFAIL consecutive), as the real one does, leaving
 * the access token (TOKEN, expiring at EXPIRES_AT) alone. */
static void
write_failing_helper(const char *helper, const char *count,
    const char *token, long expires_at, int nfail)
{
	char script[2048];

	snprintf(script, sizeof(script), "#!/bin/sh\n"
	    "echo run >> '%s'\n"
	    "for f; do :; done\n"
	    "umask 077\n"
	    "printf '{\"version\":1,\"user\":\"" USER "\",\"token_endpoint\":"
	    "\"http://127.0.0.1:9/token\",\"client_id\":\"c\","
	    "\"access_token\":\"%s\",\"expires_at\":%ld,"
	    "\"refresh_token\":\"R1\",\"failed_at\":%%s,\"failures\":%d,"
	    "\"failure_class\":\"temporary\",\"failure\":\"token endpoint "
	    "down (test)\"}' \"$(date +%%s)\" > \"$f.new\" && mv \"$f.new\" \"$f\"\n"
	    "echo 'xoauth2-token: work: cannot connect to token endpoint' >&2\n"
	    "exit 75\n", count, token, expires_at, nfail);
	write_file(helper, script, 0700);
}

/* A token file for TOKEN, valid until EXPIRES_AT, whose refresh failed
 * (temporarily, once) at FAILED_AT. */
static void
write_failed_tokfile(const char *path, const char *token, long expires_at,
    long failed_at)
{
	char text[1024];

	snprintf(text, sizeof(text), "{\"version\":1,\"user\":\"" USER "\","
	    "\"token_endpoint\":\"http://127.0.0.1:9/token\",\"client_id\":\"c\","
	    "\"access_token\":\"%s\",\"expires_at\":%ld,"
	    "\"refresh_token\":\"R1\",\"failed_at\":%ld,\"failures\":1,"
	    "\"failure_class\":\"temporary\"}\n", token, expires_at, failed_at);
	write_file(path, text, 0600);
}

/* The fake helper ran WANT times in all (the lines in COUNT): else NAME
 * fails with "the helper ran N times WHERE, want WANT WHY"; OK, if not
 * NULL, is said when it did. */
static void
expect_runs(const char *name, const char *count, int want, const char *where,
    const char *why, const char *ok)
{
	int runs = count_lines(count);

	if (runs != want)
		unit_fail(name, "the helper ran %d times%s, want %d%s", runs,
		    where, want, why);
	else if (ok != NULL)
		printf("  back-off: %s\n", ok);
}

/* Issue 10 item 8: while the access token is still valid but inside the
 * margin and refreshing fails, the plugin does not run the helper again
 * (and wait for it) on every login: the helper recorded the failure in
 * the file, and the plugin backs off.  Expired tokens are always tried. */
static void
test_backoff(void)
{
	char path[256], helper[256], count[256];
	struct client c;
	const char *chosen;
	long now = (long)time(NULL);
	int i, r;

	if (open_tokdir("back-off", tmpdir2, path, helper, &c) != 0)
		return;
	snprintf(count, sizeof(count), "%s/runs", tmpdir2);
	setenv("XOAUTH2_HELPER", helper, 1);

	/* Valid for 2 more minutes, inside the 5-minute margin. */
	write_tokfile(path, "VALID", now + 120);
	write_failing_helper(helper, count, "VALID", now + 120, 1);
	for (i = 0; i < 5; i++) {
		logbuf[0] = '\0';
		c.conn = start("back-off, valid token", &c.a, c.cbs, "XOAUTH2",
		    S("user=" USER "\001auth=Bearer VALID\001\001"));
		sasl_dispose(&c.conn);
		if (i > 0 && strstr(logbuf, "next try in") == NULL)
			unit_fail("back-off, valid token",
			    "login %d: no back-off "
			    "note logged: %s", i + 1, logbuf);
	}
	expect_runs("back-off, valid token", count, 1, " for 5 logins", "",
	    "5 logins inside the margin, 1 helper run");

	/* The back-off is over (the failure was 40 s ago): try again. */
	write_failed_tokfile(path, "VALID", now + 120, now - 40);
	c.conn = start("back-off over", &c.a, c.cbs, "XOAUTH2",
	    S("user=" USER "\001auth=Bearer VALID\001\001"));
	sasl_dispose(&c.conn);
	expect_runs("back-off over", count, 2, "", "", NULL);

	/* Expired: no back-off, every login tries (and fails). */
	write_failing_helper(helper, count, "EXPIRED", now - 10, 1);
	write_failed_tokfile(path, "EXPIRED", now - 10, now);
	for (i = 0; i < 3; i++) {
		if ((c.conn = conn_new(&c.a, c.cbs)) == NULL)
			break;
		r = sasl_client_start(c.conn, "XOAUTH2", NULL, &c.out,
		    &c.outlen, &chosen);
		if (r == SASL_OK || r == SASL_CONTINUE)
			unit_fail("back-off, expired token",
			    "sent an expired token");
		sasl_dispose(&c.conn);
	}
	expect_runs("back-off, expired token", count, 5, " in all",
	    " (every login with an expired token tries)",
	    "3 logins with an expired token, 3 helper runs");

	free(c.a.sec);
	unlink(count);
	remove_tokdir("back-off", tmpdir2, path, helper);
}

int
main(void)
{
	long baseline;
	int r;

	if (getenv("SASL_PATH") == NULL) {
		printf("SASL_PATH must name the build's plugin directory\n");
		return 99;
	}
	sasl_set_alloc(count_malloc, count_calloc, count_realloc, count_free);
	if ((r = sasl_client_init(NULL)) != SASL_OK) {
		printf("sasl_client_init: %s\n", sasl_errstring(r, NULL, NULL));
		return 99;
	}
	baseline = live_allocs;

	test_callbacks();
	test_authzid();
	test_prompts();
	test_rejections();
	test_challenges();
	test_services();
	test_long_values();
	test_error_buffer_sizes();
	test_slash_token();
	test_server_name();
	test_token_file();
	test_backoff();

	if (live_allocs != baseline)
		unit_fail("leaks", "%ld allocation(s) not freed after dispose",
		    live_allocs - baseline);
	else
		printf("  no allocation outstanding after the exchanges\n");
	if (canary_hits > 0)
		unit_fail("heap canaries",
		    "%d block(s) were written past their end",
		    canary_hits);
	if (token_logged)
		unit_fail("log hygiene", "the token appears in the SASL log");
	sasl_client_done();
	return unit_status("client API");
}
