/* Table-driven tests of the wire formats and the challenge parser. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "payload.h"
#include "unit.h"
#include "xo_util.h"

/* The seed document's vectors, through the real base64 of libsasl2. */
static void
test_xoauth2_vectors(void)
{
	static const struct {
		const char *user, *token, *base64;
	} rows[] = {
		{ "test@contoso.onmicrosoft.com",
		  "EwBAAl3BAAUFFpUAo7J3Ve0bjLBWZWCclRC3EoAA",
		  "dXNlcj10ZXN0QGNvbnRvc28ub25taWNyb3NvZnQuY29tAWF1dGg9QmVhcmVy"
		  "IEV3QkFBbDNCQUFVRkZwVUFvN0ozVmUwYmpMQldaV0NjbFJDM0VvQUEBAQ==" },
	};
	char buf[512], b64[1024];
	unsigned b64len;
	size_t i, n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = xo_payload_xoauth2(buf, sizeof(buf), rows[i].user,
		    rows[i].token);
		expect_int("xoauth2 length", (long)n, (long)strlen(buf));
		if (sasl_encode64(buf, (unsigned)n, b64, sizeof(b64),
		    &b64len) != SASL_OK) {
			unit_failures++;
			printf("FAIL sasl_encode64\n");
			continue;
		}
		expect_bytes("xoauth2 seed vector", b64, b64len,
		    rows[i].base64, strlen(rows[i].base64));
	}
	n = xo_payload_xoauth2(buf, sizeof(buf), "someuser@example.com",
	    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
	expect_bytes("xoauth2 second vector", buf, n,
	    "user=someuser@example.com\001auth=Bearer "
	    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001",
	    strlen("user=someuser@example.com\001auth=Bearer "
	    "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\001\001"));
}

static void
test_oauthbearer(void)
{
	static const struct {
		const char *name, *authzid, *host, *port, *token, *want;
	} rows[] = {
		{ "full", "user@example.com", "server.example.com", "143",
		  "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==",
		  "n,a=user@example.com,\001host=server.example.com\001"
		  "port=143\001auth=Bearer "
		  "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001" },
		{ "no authzid", NULL, "imap.example.com", "993", "T",
		  "n,,\001host=imap.example.com\001port=993\001"
		  "auth=Bearer T\001\001" },
		{ "empty authzid", "", "h", NULL, "T",
		  "n,,\001host=h\001auth=Bearer T\001\001" },
		{ "no host or port", "u", NULL, "", "T",
		  "n,a=u,\001auth=Bearer T\001\001" },
		{ "escaped authzid", "a=b,c@d", NULL, NULL, "T",
		  "n,a=a=3Db=2Cc@d,\001auth=Bearer T\001\001" },
		/* sendmail hands libsasl2 its address literal. */
		{ "bracketed IPv4 literal", "u", "[127.0.0.1]", "587", "T",
		  "n,a=u,\001host=127.0.0.1\001port=587\001"
		  "auth=Bearer T\001\001" },
		{ "bracketed IPv6 literal, tagged", "u", "[IPv6:2001:db8::1]",
		  NULL, "T", "n,a=u,\001host=2001:db8::1\001auth=Bearer T\001\001" },
		{ "bracketed IPv6, tag in lower case", "u", "[ipv6:::1]", NULL,
		  "T", "n,a=u,\001host=::1\001auth=Bearer T\001\001" },
		{ "bracketed IPv6, no tag", "u", "[::1]", NULL, "T",
		  "n,a=u,\001host=::1\001auth=Bearer T\001\001" },
		{ "bracketed name", "u", "[smtp.example.com]", NULL, "T",
		  "n,a=u,\001host=smtp.example.com\001auth=Bearer T\001\001" },
		{ "only one pair goes", "u", "[[h]]", NULL, "T",
		  "n,a=u,\001host=[[h]]\001auth=Bearer T\001\001" },
		{ "empty brackets kept", "u", "[]", NULL, "T",
		  "n,a=u,\001host=[]\001auth=Bearer T\001\001" },
		{ "unbalanced kept", "u", "[127.0.0.1", NULL, "T",
		  "n,a=u,\001host=[127.0.0.1\001auth=Bearer T\001\001" },
		{ "tag alone kept", "u", "[IPv6:]", NULL, "T",
		  "n,a=u,\001host=IPv6:\001auth=Bearer T\001\001" },
		{ "bare IPv6 untouched", "u", "2001:db8::1", NULL, "T",
		  "n,a=u,\001host=2001:db8::1\001auth=Bearer T\001\001" },
	};
	char buf[512];
	size_t i, n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = xo_payload_oauthbearer(buf, sizeof(buf), rows[i].authzid,
		    rows[i].host, rows[i].port, rows[i].token);
		expect_bytes(rows[i].name, buf, n, rows[i].want,
		    strlen(rows[i].want));
	}
}

/* IN, escaped for a GS2 header, reads WANT. */
static void
check_gs2_escape(const char *label, const void *row)
{
	const struct unit_row *t = row;
	char buf[64];
	size_t n;

	n = xo_gs2_escape(buf, sizeof(buf), t->in);
	expect_bytes(label, buf, n, t->want, strlen(t->want));
}

static void
test_gs2_escape(void)
{
	static const struct unit_row t[] = {
		{ "", "" },
		{ "plain@example.com", "plain@example.com" },
		{ "=", "=3D" },
		{ ",", "=2C" },
		{ "a,b=c", "a=2Cb=3Dc" },
		{ "==,,", "=3D=3D=2C=2C" },
		{ "=3D", "=3D3D" },
	};

	UNIT_TABLE_NAMED(t, check_gs2_escape);
}

/* The builders behave like snprintf: size first, then fill; never write
 * past OUTSIZE, always terminate. */
static void
test_truncation(void)
{
	const char *want = "user=u\001auth=Bearer t\001\001";
	char buf[64];
	size_t size, n, full = strlen(want);

	expect_int("size query", (long)xo_payload_xoauth2(NULL, 0, "u", "t"),
	    (long)full);
	for (size = 1; size <= full + 1; size++) {
		memset(buf, 'X', sizeof(buf));
		n = xo_payload_xoauth2(buf, size, "u", "t");
		expect_int("truncated return", (long)n, (long)full);
		expect_int("terminated", buf[size - 1] == '\0', 1);
		expect_int("no overrun", buf[size] == 'X', 1);
		expect_int("prefix", memcmp(buf, want, size - 1) == 0, 1);
	}
	n = xo_payload_oauthbearer(buf, 4, "a,b", "h", "1", "t");
	expect_int("oauthbearer truncated return", (long)n,
	    (long)strlen("n,a=a=2Cb,\001host=h\001port=1\001auth=Bearer t\001\001"));
	expect_str("oauthbearer truncated", buf, "n,a");
}

/* IN ("ip;port") gives the port WANT, or fails with CODE. */
static void
check_port(const char *label, const void *row)
{
	const struct unit_row *t = row;
	char buf[8];
	int r;

	buf[0] = '\0';
	r = xo_port_from_ipport(t->in, buf, sizeof(buf));
	expect_int(label, r, t->code);
	if (r == 0)
		expect_str(label, buf, t->want);
}

static void
test_port(void)
{
	static const struct unit_row t[] = {
		{ "127.0.0.1;143", "143", 0, 0 },
		{ "[::1];993", "993", 0, 0 },
		{ "::1;25", "25", 0, 0 },
		{ "192.0.2.1:587", "587", 0, 0 },
		{ "fe80::1:2", "", 0, -1 },
		{ "127.0.0.1", "", 0, -1 },
		{ "127.0.0.1;", "", 0, -1 },
		{ "127.0.0.1;12x", "", 0, -1 },
		{ "127.0.0.1;123456", "", 0, -1 },
		{ "127.0.0.1;65535", "65535", 0, 0 },
		{ "127.0.0.1;65536", "", 0, -1 },
		{ "127.0.0.1;99999", "", 0, -1 },
		{ "", "", 0, -1 },
		{ NULL, "", 0, -1 },
	};

	UNIT_TABLE_NAMED(t, check_port);
}

static void
test_challenge(void)
{
	static const struct {
		const char *name, *in;
		int r;
		const char *status, *schemes, *scope;
	} rows[] = {
		{ "google", "{\"status\":\"401\",\"schemes\":\"Bearer\","
		  "\"scope\":\"https://mail.google.com/\"}", 0,
		  "401", "Bearer", "https://mail.google.com/" },
		{ "dovecot", "{\"status\":\"invalid_token\",\"schemes\":\"bearer\","
		  "\"scope\":\"mail\"}", 0, "invalid_token", "bearer", "mail" },
		{ "numeric status", "{\"status\":400}", 0, "400", "", "" },
		{ "empty object", "{}", 0, "", "", "" },
		{ "wrong types", "{\"status\":[1],\"scope\":{\"a\":1},"
		  "\"schemes\":true}", 0, "", "", "" },
		{ "control chars made printable", "{\"status\":\"4\\u00010\\n1\"}",
		  0, "4?0?1", "", "" },
		{ "not json", "Authentication failed", -1, "", "", "" },
		{ "array", "[\"status\",\"401\"]", -1, "", "", "" },
		{ "truncated", "{\"status\":\"401\"", -1, "", "", "" },
		{ "too deep", "{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}", -1,
		  "", "", "" },
		{ "empty", "", -1, "", "", "" },
	};
	struct xo_challenge ch;
	char big[2048];
	size_t i;
	int r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		r = xo_challenge_parse(rows[i].in, strlen(rows[i].in), &ch);
		expect_int(rows[i].name, r, rows[i].r);
		expect_str(rows[i].name, ch.status, rows[i].status);
		expect_str(rows[i].name, ch.schemes, rows[i].schemes);
		expect_str(rows[i].name, ch.scope, rows[i].scope);
	}

	/* A long scope is cut to fit and says so. */
	snprintf(big, sizeof(big), "{\"status\":\"401\",\"scope\":\"%0*d\"}",
	    1000, 0);
	r = xo_challenge_parse(big, strlen(big), &ch);
	expect_int("long scope parsed", r, 0);
	expect_int("long scope cut", (long)strlen(ch.scope),
	    (long)sizeof(ch.scope) - 1);
	expect_str("long scope ellipsis", ch.scope + sizeof(ch.scope) - 4,
	    "...");

	/* Length is honoured: bytes after LEN are not read. */
	r = xo_challenge_parse("{}garbage", 2, &ch);
	expect_int("length honoured", r, 0);
}

static void
test_has_ctl(void)
{
	static const struct unit_row t[] = {
		{ "alice@example.com", NULL, 17, 0 },
		{ "ya29.a0AfH6SM-_~+/=", NULL, 19, 0 },
		{ "a\001b", NULL, 3, 1 },
		{ "token\n", NULL, 6, 1 },
		{ "tok\ren", NULL, 6, 1 },
		{ "tab\there", NULL, 8, 1 },
		{ "del\177", NULL, 4, 1 },
		{ "nul\0x", NULL, 5, 1 },
		{ "caf\xc3\xa9", NULL, 5, 0 },
		{ "", NULL, 0, 0 },
	};
	char buf[64], name[48];
	size_t pos;
	int c;

	/* IN (LEN bytes) holds a control character exactly when CODE is 1. */
	UNIT_PRED_TABLE(NULL, t, xo_has_ctl);

	/* The word-at-a-time scan: every byte value at every position of
	 * a 37-byte token (words and tail), against the obvious rule. */
	for (c = 0; c < 256; c++)
		for (pos = 0; pos < 37; pos++) {
			memset(buf, 'A', 37);
			buf[pos] = (char)c;
			snprintf(name, sizeof(name), "byte 0x%02x at %zu", c, pos);
			expect_int(name, xo_has_ctl(buf, 37),
			    c < 0x20 || c == 0x7f);
		}
	/* Neighbours of the boundaries in one word must not mask each
	 * other (borrows in the subtraction). */
	memcpy(buf, "\x20\x7e\x80\xff\x21\x7e\x20\xfe", 8);
	expect_int("boundary bytes, clean", xo_has_ctl(buf, 8), 0);
	memcpy(buf, "\x20\x7e\x80\xff\x21\x7f\x20\xfe", 8);
	expect_int("boundary bytes, DEL", xo_has_ctl(buf, 8), 1);
	memcpy(buf, "\xff\xff\xff\xff\xff\xff\xff\x1f", 8);
	expect_int("0x1f after 0xff", xo_has_ctl(buf, 8), 1);
	/* Only LEN bytes are read. */
	expect_int("length honoured", xo_has_ctl("abcdefgh\n", 8), 0);
}

/* One message for the parser: OK 0 or -1; USER and TOKEN what its
 * spans must hold (NULL: none). */
struct parse_row {
	const char	*name;
	const char	*msg;
	int		 ok;
	const char	*user, *token;
};

static void
check_parse(const struct parse_row *row, const char *msg, size_t len)
{
	struct xo_payload_span sp;
	int r;

	r = xo_payload_parse(msg, len, &sp);
	unit_rows++;
	expect_int(row->name, r, row->ok);
	if (r != 0) {
		expect_int(row->name, (long)(sp.user | sp.userlen | sp.token |
		    sp.toklen), 0);
		return;
	}
	expect_bytes(row->name, msg + sp.user, sp.userlen,
	    row->user != NULL ? row->user : "",
	    row->user != NULL ? strlen(row->user) : 0);
	expect_bytes(row->name, msg + sp.token, sp.toklen, row->token,
	    strlen(row->token));
}

/* The wire format read back (xo_payload_parse): messages as the
 * builders make them, and what a server, a proxy or a bug could hand
 * over instead. */
static void
test_parse(void)
{
	static const struct parse_row rows[] = {
		{ "xoauth2", "user=u@example.com\001auth=Bearer T0k.en\001\001",
		  0, "u@example.com", "T0k.en" },
		{ "xoauth2, empty user", "user=\001auth=Bearer T\001\001",
		  0, NULL, "T" },
		{ "xoauth2, empty token", "user=u\001auth=Bearer \001\001",
		  0, "u", "" },
		{ "oauthbearer", "n,a=u@example.com,\001host=h\001port=143\001"
		  "auth=Bearer T\001\001", 0, "u@example.com", "T" },
		{ "oauthbearer, no authzid", "n,,\001auth=Bearer T\001\001",
		  0, NULL, "T" },
		{ "oauthbearer, escaped authzid", "n,a=a=3Db=2Cc,\001"
		  "auth=Bearer T\001\001", 0, "a=3Db=2Cc", "T" },
		{ "oauthbearer, auth first", "n,,\001auth=Bearer T\001"
		  "host=h\001\001", 0, NULL, "T" },
		{ "the first auth counts", "n,,\001auth=Bearer A\001"
		  "auth=Bearer B\001\001", 0, NULL, "A" },
		{ "empty", "", -1, NULL, NULL },
		{ "just the end", "\001\001", -1, NULL, NULL },
		{ "no end", "user=u\001auth=Bearer T\001", -1, NULL, NULL },
		{ "no end at all", "user=u\001auth=Bearer T", -1, NULL, NULL },
		{ "no auth field", "user=u\001host=h\001\001", -1, NULL, NULL },
		{ "no fields", "user=u\001\001", -1, NULL, NULL },
		{ "auth not bearer", "user=u\001auth=Basic T\001\001", -1,
		  NULL, NULL },
		{ "bearer in lower case", "user=u\001auth=bearer T\001\001", -1,
		  NULL, NULL },
		{ "empty field inside", "user=u\001\001auth=Bearer T\001\001",
		  -1, NULL, NULL },
		{ "trailing byte", "user=u\001auth=Bearer T\001\001x", -1, NULL,
		  NULL },
		{ "unknown start", "User=u\001auth=Bearer T\001\001", -1,
		  NULL, NULL },
		{ "gs2 without the second comma", "n,\001auth=Bearer T\001\001",
		  -1, NULL, NULL },
		{ "gs2 authzid unterminated", "n,a=u\001auth=Bearer T\001\001",
		  -1, NULL, NULL },
		{ "gs2 channel binding", "y,,\001auth=Bearer T\001\001", -1,
		  NULL, NULL },
		{ "a challenge", "{\"status\":\"401\"}", -1, NULL, NULL },
		{ "the OAUTHBEARER abort", "\001", -1, NULL, NULL },
	};
	struct xo_payload_args a;
	struct parse_row built;
	char buf[512], *copy;
	size_t i, n, cut;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		/* In a buffer of its exact size: a read past it is ASan's. */
		n = strlen(rows[i].msg);
		if ((copy = malloc(n + 1)) == NULL)
			abort();
		memcpy(copy, rows[i].msg, n);
		check_parse(&rows[i], copy, n);
		free(copy);
	}

	/* Round trip: built by each builder, parsed back. */
	a.user = "alice@example.com";
	a.host = "imap.example.com";
	a.port = "993";
	a.token = "ya29.a0AfH6SM-_~+/=";
	built.ok = 0;
	built.user = a.user;
	built.token = a.token;
	built.name = "round trip xoauth2";
	n = xo_payload_build_xoauth2(buf, sizeof(buf), &a);
	check_parse(&built, buf, n);
	built.name = "round trip oauthbearer";
	n = xo_payload_build_oauthbearer(buf, sizeof(buf), &a);
	check_parse(&built, buf, n);
	a.user = "shared,box=1";
	a.host = a.port = NULL;
	built.user = "shared=2Cbox=3D1";
	built.name = "round trip oauthbearer, escaped, no host";
	n = xo_payload_build_oauthbearer(buf, sizeof(buf), &a);
	check_parse(&built, buf, n);

	/* Every cut of a built message is refused: only whole ones parse. */
	a.user = "u";
	n = xo_payload_build_oauthbearer(buf, sizeof(buf), &a);
	built.ok = -1;
	built.name = "cut message";
	for (cut = 0; cut < n; cut++)
		check_parse(&built, buf, cut);
}

int
main(void)
{
	test_xoauth2_vectors();
	test_oauthbearer();
	test_gs2_escape();
	test_truncation();
	test_port();
	test_challenge();
	test_has_ctl();
	test_parse();
	return unit_done("unit-payload", unit_rows);
}
