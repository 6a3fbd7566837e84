/* Table-driven tests of the wire formats and the challenge parser. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "payload.h"
#include "xo_util.h"

static int failures;

/* Prints BUF with control bytes shown as \xNN, for failure messages. */
static void
show(const char *label, const char *buf, size_t len)
{
	size_t i;

	printf("  %s: \"", label);
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)buf[i];
		if (c < 0x20 || c >= 0x7f)
			printf("\\x%02x", c);
		else
			putchar(c);
	}
	printf("\" (%zu bytes)\n", len);
}

static void
expect_bytes(const char *name, const char *got, size_t gotlen,
    const char *want, size_t wantlen)
{
	if (gotlen == wantlen && memcmp(got, want, wantlen) == 0)
		return;
	failures++;
	printf("FAIL %s\n", name);
	show("got ", got, gotlen);
	show("want", want, wantlen);
}

static void
expect_int(const char *name, long got, long want)
{
	if (got == want)
		return;
	failures++;
	printf("FAIL %s: got %ld, want %ld\n", name, got, want);
}

static void
expect_str(const char *name, const char *got, const char *want)
{
	expect_bytes(name, got, strlen(got), want, strlen(want));
}

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
			failures++;
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

static void
test_gs2_escape(void)
{
	static const struct {
		const char *in, *want;
	} rows[] = {
		{ "", "" },
		{ "plain@example.com", "plain@example.com" },
		{ "=", "=3D" },
		{ ",", "=2C" },
		{ "a,b=c", "a=2Cb=3Dc" },
		{ "==,,", "=3D=3D=2C=2C" },
		{ "=3D", "=3D3D" },
	};
	char buf[64];
	size_t i, n;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		n = xo_gs2_escape(buf, sizeof(buf), rows[i].in);
		expect_bytes(rows[i].in, buf, n, rows[i].want,
		    strlen(rows[i].want));
	}
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

static void
test_port(void)
{
	static const struct {
		const char *in;
		int r;
		const char *want;
	} rows[] = {
		{ "127.0.0.1;143", 0, "143" },
		{ "[::1];993", 0, "993" },
		{ "::1;25", 0, "25" },
		{ "192.0.2.1:587", 0, "587" },
		{ "fe80::1:2", -1, "" },
		{ "127.0.0.1", -1, "" },
		{ "127.0.0.1;", -1, "" },
		{ "127.0.0.1;12x", -1, "" },
		{ "127.0.0.1;123456", -1, "" },
		{ "127.0.0.1;65535", 0, "65535" },
		{ "127.0.0.1;65536", -1, "" },
		{ "127.0.0.1;99999", -1, "" },
		{ "", -1, "" },
		{ NULL, -1, "" },
	};
	char buf[8];
	size_t i;
	int r;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		buf[0] = '\0';
		r = xo_port_from_ipport(rows[i].in, buf, sizeof(buf));
		expect_int(rows[i].in ? rows[i].in : "(null)", r, rows[i].r);
		if (r == 0)
			expect_str(rows[i].in, buf, rows[i].want);
	}
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
	static const struct {
		const char *in;
		size_t len;
		int want;
	} rows[] = {
		{ "alice@example.com", 17, 0 },
		{ "ya29.a0AfH6SM-_~+/=", 19, 0 },
		{ "a\001b", 3, 1 },
		{ "token\n", 6, 1 },
		{ "tok\ren", 6, 1 },
		{ "tab\there", 8, 1 },
		{ "del\177", 4, 1 },
		{ "nul\0x", 5, 1 },
		{ "caf\xc3\xa9", 5, 0 },
		{ "", 0, 0 },
	};
	char buf[64], name[48];
	size_t i, pos;
	int c;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		expect_int(rows[i].in, xo_has_ctl(rows[i].in, rows[i].len),
		    rows[i].want);

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
	if (failures > 0) {
		printf("%d check(s) failed\n", failures);
		return 1;
	}
	printf("all payload checks passed\n");
	return 0;
}
