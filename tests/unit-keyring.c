/*
 * helper/keyring.c, the libc client of xoauth2-keyring (keyring.h):
 * the item's attributes from a token file and its path, the secret-tool
 * command logout prints, and the client's side of the protocol against a
 * stand-in program written beside this test (the client looks there
 * first): every exit status to its KEYRING_E_* code, the secret on stdin
 * and stdout and never in argv, an answer too large, and a program that
 * never answers, killed at XOAUTH2_KEYRING_TIMEOUT.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "keyring.h"
#include "tokfile.h"
#include "unit.h"
#include "xo_err.h"
#include "xo_util.h"

static const struct {
	const char *path;
	const char *account;
} accounts[] = {
	{ "/home/a/.local/share/xoauth2/work.json", "work" },
	{ "work.json", "work" },
	{ "/x/a.json.json", "a.json" },
	{ "/x/acct", "acct" },
	{ "/x/.json", ".json" },
	{ "/x/my account.json", "my account" },
};

static void
test_items(void)
{
	struct tokfile tok;
	struct keyring_item it;
	struct xo_err err;
	char buf[256];
	size_t i;

	memset(&tok, 0, sizeof(tok));
	tok.user = "alice@example.com";
	tok.client_id = "cid";
	tok.token_endpoint = "https://login.example/token";
	for (i = 0; i < UNIT_NROWS(accounts); i++) {
		unit_rows++;
		expect_int(accounts[i].path, keyring_item_from(&it, &tok,
		    accounts[i].path, buf, sizeof(buf), &err), 0);
		expect_str(accounts[i].path, it.account, accounts[i].account);
	}
	tok.client_id = NULL;
	unit_rows++;
	expect_int("no client_id", keyring_item_from(&it, &tok, "/x/a.json",
	    buf, sizeof(buf), &err), XO_E_DATA);
	expect_contains("no client_id: says which", err.msg, "client_id");
	tok.client_id = "cid";
	tok.refresh_token_store = NULL;
	expect_int("used: no member", keyring_used(&tok), 0);
	tok.refresh_token_store = "file";
	expect_int("used: another word", keyring_used(&tok), 0);
	tok.refresh_token_store = "keyring";
	expect_int("used: keyring", keyring_used(&tok), 1);
	expect_int("used: NULL", keyring_used(NULL), 0);
	unit_rows += 4;
}

static void
test_clear_command(void)
{
	struct keyring_item it = { "o'brien@example.com", "c id",
		"https://t.example/token", "work" };
	char cmd[1024];

	unit_rows++;
	expect_str("secret-tool clear, quoted", keyring_clear_command(&it, cmd,
	    sizeof(cmd)), "secret-tool clear xdg:schema " KEYRING_SCHEMA
	    " user 'o'\\''brien@example.com' client_id 'c id' token_endpoint "
	    "https://t.example/token account work");
}

/* The stand-in: FAKE_MODE says what it does; it records its argv. */
static const char fake_text[] =
	"#!/bin/sh\n"
	"printf '%s\\n' \"$@\" >\"$FAKE_DIR/argv\"\n"
	"case $FAKE_MODE in\n"
	"ok) printf 'rt-from-the-keyring' ;;\n"
	"stdin) cat >\"$FAKE_DIR/stdin\" ;;\n"
	"sleep) exec sleep 30 ;;\n"
	"big) head -c 70000 /dev/zero | tr '\\0' a ;;\n"
	"fail) echo 'boom: the service said no' >&2; exit 14 ;;\n"
	"*) exit \"$FAKE_MODE\" ;;\n"
	"esac\n";

static char fake_path[PATH_MAX], fake_dir[PATH_MAX];

/* Writes the stand-in beside this program.  Returns 0, or -1. */
static int
fake_install(void)
{
	char self[PATH_MAX];
	ssize_t n;
	FILE *f;

	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) <= 0)
		return -1;
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(fake_path, sizeof(fake_path), "%s/" KEYRING_PROG, self);
	snprintf(fake_dir, sizeof(fake_dir), "%s/unit-keyring.d", self);
	(void)mkdir(fake_dir, 0700);
	if ((f = fopen(fake_path, "w")) == NULL)
		return -1;
	fputs(fake_text, f);
	fclose(f);
	setenv("FAKE_DIR", fake_dir, 1);
	return chmod(fake_path, 0700);
}

static void
fake_remove(void)
{
	char p[PATH_MAX + 16];

	unlink(fake_path);
	snprintf(p, sizeof(p), "%s/argv", fake_dir);
	unlink(p);
	snprintf(p, sizeof(p), "%s/stdin", fake_dir);
	unlink(p);
	rmdir(fake_dir);
}

/* The file NAME in fake_dir, read into BUF. */
static const char *
fake_file(const char *name, char *buf, size_t size)
{
	char p[PATH_MAX + 16];
	size_t got = 0;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", fake_dir, name);
	buf[0] = '\0';
	if ((f = fopen(p, "r")) != NULL) {
		got = fread(buf, 1, size - 1, f);
		fclose(f);
	}
	buf[got] = '\0';
	return buf;
}

static const struct {
	const char *mode;
	int code;
	const char *says;
} statuses[] = {
	{ "ok", 0, NULL },
	{ "10", KEYRING_E_NOTFOUND, "holds no such refresh token" },
	{ "11", KEYRING_E_LOCKED, "unlock the \"login\" keyring" },
	{ "12", KEYRING_E_NOBUS, "no D-Bus session bus" },
	{ "13", KEYRING_E_NOSERVICE, "no Secret Service" },
	{ "fail", KEYRING_E_FAILED, "boom: the service said no" },
	{ "1", KEYRING_E_FAILED, "the Secret Service failed" },
	{ "9", KEYRING_E_FAILED, "the Secret Service failed" },
	{ "127", KEYRING_E_NOSUPPORT, "could not be run" },
	{ "big", KEYRING_E_FAILED, "killed" },
};

static const struct keyring_item item = { "alice@example.com", "cid",
	"https://t.example/token", "work" };

static void
test_protocol(void)
{
	struct xo_err err;
	char *secret = NULL, buf[512];
	int64_t t0;
	size_t i;
	int r;

	for (i = 0; i < UNIT_NROWS(statuses); i++) {
		unit_rows++;
		setenv("FAKE_MODE", statuses[i].mode, 1);
		r = keyring_lookup(&item, &secret, &err);
		expect_int(unit_labelf("lookup, mode %s", statuses[i].mode), r,
		    statuses[i].code);
		if (r == 0)
			expect_str("lookup: the secret", secret,
			    "rt-from-the-keyring");
		else
			expect_contains(unit_labelf("lookup, mode %s: says",
			    statuses[i].mode), err.msg, statuses[i].says);
		xo_free_secret(secret);
		secret = NULL;
	}
	expect_str("lookup: argv", fake_file("argv", buf, sizeof(buf)),
	    "lookup\nuser\nalice@example.com\nclient_id\ncid\n"
	    "token_endpoint\nhttps://t.example/token\naccount\nwork\n");
	setenv("FAKE_MODE", "stdin", 1);
	unit_rows++;
	expect_int("store", keyring_store(&item, "rt-new-one", 10, 0, &err), 0);
	expect_str("store: the secret on stdin", fake_file("stdin", buf,
	    sizeof(buf)), "rt-new-one");
	expect_contains("store: not in argv", strstr(fake_file("argv", buf,
	    sizeof(buf)), "rt-new") == NULL ? "ok" : "in argv", "ok");
	setenv("FAKE_MODE", "sleep", 1);
	setenv("XOAUTH2_KEYRING_TIMEOUT", "1", 1);
	unit_rows++;
	t0 = xo_now_ms();
	expect_int("a program that never answers", keyring_probe(&err),
	    KEYRING_E_TIMEOUT);
	expect_contains("never answers: says", err.msg, "no answer within 1 s");
	if (xo_now_ms() - t0 > 3000)
		unit_fail("never answers: bounded", "took %lld ms",
		    (long long)(xo_now_ms() - t0));
	unsetenv("XOAUTH2_KEYRING_TIMEOUT");
}

int
main(void)
{
	test_items();
	test_clear_command();
	if (fake_install() != 0) {
		printf("unit-keyring: cannot write the stand-in %s: %s\n",
		    fake_path, strerror(errno));
		return 1;
	}
	test_protocol();
	fake_remove();
	return unit_done("unit-keyring", unit_rows);
}
