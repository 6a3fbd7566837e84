/*
 * helper/secret.c (issue 21): where a long-lived secret lives, and
 * reading it from a file, a systemd credential or a command.  Tables:
 * command words (and their round trip through xo_shell_word), where a
 * token file says a secret is, credentials in a CREDENTIALS_DIRECTORY
 * made here the way systemd makes one, and commands: how the end of a
 * run (child.h: exit, signal, time limit, size, a stop) is worded and
 * coded, stdin /dev/null, no shell.  The running itself (the process
 * group killed, our descriptors, SIGCHLD) is unit-child.c's.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errors.h"
#include "credfile.h"
#include "secret.h"
#include "stop.h"
#include "tokfile.h"
#include "unit.h"
#include "xo_err.h"
#include "xo_util.h"

static char dir[64];		/* this run's files */

/* --- words ---------------------------------------------------------------- */

static const struct {
	const char	*name;
	const char	*in;
	const char	*want[6];	/* NULL-terminated */
	int		 code;
	const char	*words;		/* in the refusal; NULL: "script" */
} split_rows[] = {
	{ "plain", "pass show work/secret", { "pass", "show", "work/secret" } },
	{ "blanks", "  a \t b   c  ", { "a", "b", "c" } },
	{ "single quotes", "'a b' 'c\"d\\e$f'", { "a b", "c\"d\\e$f" } },
	{ "double quotes", "\"a \\\" \\\\ \\$ \\` b\"", { "a \" \\ $ ` b" } },
	{ "other backslash kept in \"\"", "\"a\\nb\"", { "a\\nb" } },
	{ "backslash outside", "a\\ b \\|", { "a b", "|" } },
	{ "continued line", "a \\\nb c\\\nd", { "a", "b", "cd" } },
	{ "glued", "a'b'\"c\"d", { "abcd" } },
	{ "empty word later", "x '' \"\"", { "x", "", "" } },
	{ "operators quoted", "'|;&<>()$`' \"|;&<>()\"", { "|;&<>()$`",
	    "|;&<>()" } },
	{ "# and ~ inside a word", "a#b a~b", { "a#b", "a~b" } },
	{ "empty", "", { NULL }, SECRET_E_WORDS, "empty" },
	{ "blank", "  \t ", { NULL }, SECRET_E_WORDS, "empty" },
	{ "empty first word", "'' x", { NULL }, SECRET_E_WORDS, "empty" },
	{ "pipe", "gpg -d x | head -1", { NULL }, SECRET_E_WORDS },
	{ "semicolon", "a;b", { NULL }, SECRET_E_WORDS },
	{ "and", "a && b", { NULL }, SECRET_E_WORDS },
	{ "background", "a &", { NULL }, SECRET_E_WORDS },
	{ "redirect out", "a >f", { NULL }, SECRET_E_WORDS },
	{ "redirect in", "a <f", { NULL }, SECRET_E_WORDS },
	{ "subshell", "(a)", { NULL }, SECRET_E_WORDS },
	{ "dollar", "echo $HOME", { NULL }, SECRET_E_WORDS },
	{ "command substitution", "echo $(id)", { NULL }, SECRET_E_WORDS },
	{ "backquotes", "echo `id`", { NULL }, SECRET_E_WORDS },
	{ "dollar in \"\"", "echo \"$HOME\"", { NULL }, SECRET_E_WORDS },
	{ "backquote in \"\"", "echo \"`id`\"", { NULL }, SECRET_E_WORDS },
	{ "open '", "echo 'abc", { NULL }, SECRET_E_WORDS },
	{ "open \"", "echo \"abc", { NULL }, SECRET_E_WORDS },
	{ "trailing backslash", "echo a\\", { NULL }, SECRET_E_WORDS },
	{ "new line", "a\nb", { NULL }, SECRET_E_WORDS },
	{ "tilde", "gpg -d ~/s.gpg", { NULL }, SECRET_E_WORDS },
	{ "comment", "pass show x #note", { NULL }, SECRET_E_WORDS },
	{ "glob", "cat /etc/s*", { NULL }, SECRET_E_WORDS },
};

static void
check_split(const char *label, const void *p)
{
	const __typeof__(split_rows[0]) *t = p;
	struct xo_err err;
	char **argv = NULL;
	size_t i;
	int r;

	xo_err_clear(&err);
	r = secret_argv_split(t->in, &argv, &err);
	expect_int(label, r, t->code);
	if (r != 0) {
		if (argv != NULL)
			unit_fail(label, "argv set on failure");
		expect_contains(label, err.msg, t->words != NULL ? t->words :
		    "script");
		return;
	}
	for (i = 0; t->want[i] != NULL; i++)
		expect_str(unit_labelf("%s word %zu", label, i),
		    argv[i], t->want[i]);
	if (argv[i] != NULL)
		unit_fail(label, "more words than wanted: \"%s\"", argv[i]);
	secret_argv_free(argv);
}

/* Words quoted by xo_shell_word split back to themselves. */
static const struct unit_named trip_rows[] = {
	{ "space", "a b" }, { "quote", "it's" }, { "double", "\"q\"" },
	{ "dollar", "$HOME" }, { "backslash", "back\\slash" }, { "empty", "" },
	{ "tab", "tab\there" }, { "operators", "|;&<>()`" },
	{ "tilde", "~x" }, { "hash", "#h" }, { "glob", "*?[" },
	{ "utf-8", "\xc3\xbcn\xc3\xaf" }, { "plain", "work/secret" },
	{ "all", "' \" \\ $ ` ''" },
};

static void
check_trip(const char *label, const void *p)
{
	const struct unit_named *t = p;
	char cmd[3 * XO_SHELL_WORD_MAX], w[XO_SHELL_WORD_MAX];
	struct xo_err err;
	char **argv = NULL;
	int r;

	snprintf(cmd, sizeof(cmd), "prog %s %s", xo_shell_word(w, sizeof(w),
	    t->in), t->in[0] != '\0' ? "x" : "''");
	r = secret_argv_split(cmd, &argv, &err);
	expect_int(label, r, 0);
	if (r != 0)
		return;
	expect_str(unit_labelf("%s: %s", label, cmd), argv[1], t->in);
	expect_int(unit_labelf("%s: words", label), argv[3] == NULL, 1);
	secret_argv_free(argv);
}

/* --- where ---------------------------------------------------------------- */

static const struct {
	const char	*name;
	enum secret_slot slot;
	const char	*set[2];	/* members given a value */
	enum secret_kind kind;
	const char	*member;	/* wanted; with TWO: in the message */
	int		 code;
} where_rows[] = {
	{ "none", SECRET_CLIENT_SECRET, { NULL }, SECRET_NOWHERE, NULL },
	{ "client secret file", SECRET_CLIENT_SECRET,
	    { "client_secret_file" }, SECRET_FILE, "client_secret_file" },
	{ "client secret credential", SECRET_CLIENT_SECRET,
	    { "client_secret_credential" }, SECRET_CREDENTIAL,
	    "client_secret_credential" },
	{ "client secret command", SECRET_CLIENT_SECRET,
	    { "client_secret_command" }, SECRET_COMMAND,
	    "client_secret_command" },
	{ "client secret: two", SECRET_CLIENT_SECRET,
	    { "client_secret_file", "client_secret_command" }, SECRET_NOWHERE,
	    "client_secret_file and client_secret_command", SECRET_E_TWO },
	{ "key credential", SECRET_PRIVATE_KEY, { "private_key_credential" },
	    SECRET_CREDENTIAL, "private_key_credential" },
	{ "key: another slot's member", SECRET_PRIVATE_KEY,
	    { "client_secret_command" }, SECRET_NOWHERE, NULL },
	{ "passphrase command", SECRET_KEY_PASSPHRASE,
	    { "private_key_passphrase_command" }, SECRET_COMMAND,
	    "private_key_passphrase_command" },
	{ "passphrase: two", SECRET_KEY_PASSPHRASE,
	    { "private_key_passphrase_credential",
	    "private_key_passphrase_file" }, SECRET_NOWHERE,
	    "private_key_passphrase_file and private_key_passphrase_credential",
	    SECRET_E_TWO },
	{ "service account: two", SECRET_SERVICE_ACCOUNT,
	    { "service_account_file", "service_account_credential" },
	    SECRET_NOWHERE, "service_account_file and "
	    "service_account_credential", SECRET_E_TWO },
};

/* TOK's member NAME, as a place to write. */
static char **
member_of(struct tokfile *tok, const char *name)
{
	static const struct { const char *name; size_t off; } m[] = {
#define M(x)	{ #x, offsetof(struct tokfile, x) }
		M(client_secret_file), M(client_secret_credential),
		M(client_secret_command), M(private_key_file),
		M(private_key_credential), M(private_key_passphrase_file),
		M(private_key_passphrase_credential),
		M(private_key_passphrase_command), M(service_account_file),
		M(service_account_credential),
#undef M
	};
	size_t i;

	for (i = 0; i < UNIT_NROWS(m); i++)
		if (strcmp(m[i].name, name) == 0)
			return (char **)(void *)((char *)tok + m[i].off);
	return NULL;
}

static void
check_where(const char *label, const void *p)
{
	const __typeof__(where_rows[0]) *t = p;
	struct tokfile tok;
	struct secret_src src;
	struct xo_err err;
	char v[2][16], buf[128];
	int i, r;

	memset(&tok, 0, sizeof(tok));
	for (i = 0; i < 2 && t->set[i] != NULL; i++) {
		char **m = member_of(&tok, t->set[i]);

		snprintf(v[i], sizeof(v[i]), "value%d", i);
		if (m == NULL) {
			unit_fail(label, "no member %s", t->set[i]);
			return;
		}
		*m = v[i];
	}
	xo_err_clear(&err);
	r = secret_where(&tok, t->slot, &src, &err);
	expect_int(label, r, t->code);
	if (r != 0) {
		expect_contains(label, err.msg, t->member);
		return;
	}
	expect_int(unit_labelf("%s: kind", label), src.kind, t->kind);
	expect_str(unit_labelf("%s: member", label), src.member, t->member);
	if (t->kind != SECRET_NOWHERE)
		expect_str(unit_labelf("%s: value", label), src.value, "value0");
	if (t->kind == SECRET_NOWHERE) {
		struct secret out = { NULL, 0 };

		expect_int(unit_labelf("%s: read", label),
		    secret_read(&src, &out, &err), SECRET_E_NONE);
		expect_contains(unit_labelf("%s: read", label), err.msg,
		    t->slot == SECRET_PRIVATE_KEY ? "private_key_file or "
		    "private_key_credential)" : "client_secret_file or "
		    "client_secret_credential or client_secret_command)");
	}
	expect_contains(unit_labelf("%s: describe", label),
	    secret_describe(&src, buf, sizeof(buf)), t->kind ==
	    SECRET_NOWHERE ? "nowhere" : "value0");
}

/* --- files and credentials ------------------------------------------------ */

enum make { REG, LINK, FIFO, NONE };

static const struct {
	const char	*name;		/* also the file's name in DIR */
	enum secret_kind kind;
	enum secret_slot slot;
	enum make	 make;
	const char	*text;		/* REG: its bytes (TEXT_LEN of them) */
	size_t		 text_len;
	mode_t		 mode;
	int		 other_owner;	/* uid 65534 (needs root) */
	const char	*want;		/* the secret, or in the message */
	int		 code;
} read_rows[] = {
	{ "good", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, REG, "s3cret\n", 7,
	    0400, 0, "s3cret" },
	{ "good-0440", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, REG, "s3\r\n",
	    4, 0440, 0, "s3" },
	{ "second-line", SECRET_CREDENTIAL, SECRET_KEY_PASSPHRASE, REG,
	    "pw\nnote\n", 8, 0400, 0, "pw" },
	{ "pem-kept", SECRET_CREDENTIAL, SECRET_PRIVATE_KEY, REG,
	    "-----BEGIN X-----\nAA\n-----END X-----\n", 37, 0400, 0,
	    "-----BEGIN X-----\nAA\n-----END X-----\n" },
	{ "root-owned", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, REG, "r\n", 2,
	    0400, 0, "r" },
	{ "symlink", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, LINK, "s\n", 2,
	    0400, 0, "not a regular file", CREDFILE_E_NOTREG },
	{ "fifo", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, FIFO, NULL, 0,
	    0600, 0, "not a regular file", CREDFILE_E_NOTREG },
	{ "group-writable", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, REG,
	    "s\n", 2, 0460, 0, "group or others may change it",
	    CREDFILE_E_PERMS },
	{ "not-ours", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, REG, "s\n", 2,
	    0400, 1, "uid 65534", CREDFILE_E_OWNER },
	{ "missing", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, NONE, NULL, 0,
	    0, 0, "LoadCredentialEncrypted=missing:", -ENOENT },
	{ "empty", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, REG, "\n", 1,
	    0400, 0, "empty", SECRET_E_EMPTY },
	{ "nul", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, REG, "a\0b\n", 4,
	    0400, 0, "NUL", XO_E_DATA },
	{ "big", SECRET_CREDENTIAL, SECRET_PRIVATE_KEY, REG, NULL,
	    SECRET_MAX + 1, 0400, 0, "larger than", SECRET_E_TOOBIG },
	{ "../good", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, NONE, NULL, 0,
	    0, 0, "plain file name", SECRET_E_NAME },
	{ "a/b", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, NONE, NULL, 0, 0, 0,
	    "plain file name", SECRET_E_NAME },
	{ ".", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, NONE, NULL, 0, 0, 0,
	    "plain file name", SECRET_E_NAME },
	{ "..", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, NONE, NULL, 0, 0, 0,
	    "plain file name", SECRET_E_NAME },
	{ "", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, NONE, NULL, 0, 0, 0,
	    "plain file name", SECRET_E_NAME },
	{ "tab\tname", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, NONE, NULL, 0,
	    0, 0, "plain file name", SECRET_E_NAME },
	{ "\xc3\xa9t\xc3\xa9", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, NONE,
	    NULL, 0, 0, 0, "plain file name", SECRET_E_NAME },
	{ "a 256-byte name", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, NONE,
	    NULL, 0, 0, 0, "plain file name", SECRET_E_NAME },
	{ "sp ace", SECRET_CREDENTIAL, SECRET_CLIENT_SECRET, REG, "sp\n", 3,
	    0400, 0, "sp" },
	{ "file-0600", SECRET_FILE, SECRET_CLIENT_SECRET, REG, "f\n", 2, 0600,
	    0, "f" },
	{ "file-0640", SECRET_FILE, SECRET_CLIENT_SECRET, REG, "f\n", 2, 0640,
	    0, "chmod 600", CREDFILE_E_PERMS },
	{ "file-link", SECRET_FILE, SECRET_CLIENT_SECRET, LINK, "f\n", 2, 0600,
	    0, "not a regular file", CREDFILE_E_NOTREG },
};

/* Makes T's file in DIR.  Returns 0, or -1 if it cannot be made here
 * (skipped). */
static int
make_file(const __typeof__(read_rows[0]) *t, const char *path)
{
	char target[192], *big = NULL;
	const char *text = t->text;
	int fd, r = 0;

	if (t->make == NONE)
		return 0;
	if (t->make == FIFO)
		return mkfifo(path, t->mode);
	if (t->make == LINK) {
		snprintf(target, sizeof(target), "%s.target", path);
		path = target;
	}
	if (text == NULL) {
		if ((big = malloc(t->text_len)) == NULL)
			return -1;
		memset(big, 'A', t->text_len);
		text = big;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1 ||
	    xo_write_all(fd, text, t->text_len) != 0)
		r = -1;
	if (fd != -1)
		close(fd);
	free(big);
	if (r == 0 && chmod(path, t->mode) != 0)
		r = -1;
	if (r == 0 && (t->other_owner || strcmp(t->name, "root-owned") == 0) &&
	    (geteuid() != 0 || chown(path, t->other_owner ? 65534 : 0,
	    t->other_owner ? 65534 : 0) != 0))
		r = -1;
	if (r == 0 && t->make == LINK)
		r = symlink(target, unit_labelf("%s/%s", dir, t->name));
	return r;
}

static void
check_read(const char *label, const void *p)
{
	const __typeof__(read_rows[0]) *t = p;
	char path[128], name256[257];
	struct secret_src src = { 0 };
	struct secret out = { NULL, 0 };
	struct xo_err err;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dir, t->name);
	if (make_file(t, path) != 0) {
		printf("skip %s: cannot be made here (root needed?)\n", label);
		return;
	}
	src.slot = t->slot;
	src.kind = t->kind;
	src.value = t->kind == SECRET_FILE ? path : t->name;
	if (strcmp(t->name, "a 256-byte name") == 0) {
		memset(name256, 'n', sizeof(name256) - 1);
		name256[sizeof(name256) - 1] = '\0';
		src.value = name256;
	}
	src.member = "some_member";
	src.label = "some secret";
	xo_err_clear(&err);
	r = secret_read(&src, &out, &err);
	expect_int(label, r, t->code);
	if (r == 0)
		expect_bytes(label, out.data, out.len, t->want, strlen(t->want));
	else {
		expect_contains(label, err.msg, t->want);
		if (out.data != NULL)
			unit_fail(label, "data set on failure");
	}
	secret_clear(&out);
}

/* Without $CREDENTIALS_DIRECTORY (or a relative one): the words say
 * which unit has the credential and how to run it. */
static void
check_nocreds(void)
{
	static const char *const words[] = { "not started by the systemd unit",
	    "LoadCredentialEncrypted=good", "xoauth2-token-postfix.service",
	    "xoauth2-token-refresh@USER.service",
	    "systemctl list-timers 'xoauth2-token*'",
	    "systemctl start xoauth2-token-postfix.service" };
	struct secret_src src = { SECRET_CLIENT_SECRET, SECRET_CREDENTIAL,
	    "good", "client_secret_credential", "client secret" };
	struct secret out = { NULL, 0 };
	struct xo_err err;
	size_t i;
	int pass;

	for (pass = 0; pass < 2; pass++) {
		if (pass == 0)
			unsetenv("CREDENTIALS_DIRECTORY");
		else
			setenv("CREDENTIALS_DIRECTORY", "relative/dir", 1);
		unit_rows++;
		expect_int(unit_labelf("no credentials dir %d", pass),
		    secret_read(&src, &out, &err), SECRET_E_NOCREDS);
		for (i = 0; i < UNIT_NROWS(words); i++)
			expect_contains(unit_labelf("no credentials dir %d", pass),
			    err.msg, words[i]);
	}
	unit_rows++;
	setenv("CREDENTIALS_DIRECTORY", "/nonexistent/credentials", 1);
	expect_int("credentials dir missing", secret_read(&src, &out, &err),
	    -ENOENT);
	expect_contains("credentials dir missing", err.msg,
	    "cannot open $CREDENTIALS_DIRECTORY (/nonexistent/credentials)");
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
}

/* --- commands ------------------------------------------------------------- */

static const struct {
	const char	*name;
	enum secret_slot slot;
	const char	*command;
	const char	*want;		/* the secret, or in the message */
	int		 code;
	int		 max_ms;	/* 0: no bound checked */
	const char	*limit;		/* XOAUTH2_SECRET_TIMEOUT; NULL: 30 */
} command_rows[] = {
	{ "output trimmed", SECRET_CLIENT_SECRET, "printf '%s\\n' s3cret",
	    "s3cret" },
	{ "CR LF trimmed", SECRET_KEY_PASSPHRASE, "printf 'pw\\r\\n'", "pw" },
	{ "no shell: one word with spaces, no expansion",
	    SECRET_CLIENT_SECRET, "printf '%s|' 'a b' '$HOME' \"*\"",
	    "a b|$HOME|*|" },
	{ "stdin is /dev/null", SECRET_CLIENT_SECRET,
	    "readlink /proc/self/fd/0", "/dev/null" },
	{ "exit 3", SECRET_CLIENT_SECRET, "sh -c 'exit 3'",
	    "sh, failed (exit status 3", SECRET_E_EXIT },
	{ "killed", SECRET_CLIENT_SECRET, "sh -c 'kill -TERM $$'",
	    "signal 15", SECRET_E_EXIT },
	{ "not found", SECRET_CLIENT_SECRET, "xo-no-such-program x",
	    "no program xo-no-such-program in PATH", -ENOENT },
	{ "not found, path", SECRET_CLIENT_SECRET, "/nonexistent/prog",
	    "no program /nonexistent/prog", -ENOENT },
	{ "bad words", SECRET_CLIENT_SECRET, "pass show x | head -1",
	    "script", SECRET_E_WORDS },
	{ "empty output", SECRET_CLIENT_SECRET, "true", "empty",
	    SECRET_E_EMPTY },
	{ "NUL refused", SECRET_CLIENT_SECRET, "printf 'a\\0b'", "NUL",
	    XO_E_DATA },
	{ "too big", SECRET_CLIENT_SECRET, "yes", "more than", SECRET_E_TOOBIG,
	    5000 },
	{ "sleep 30: killed after 1 s", SECRET_CLIENT_SECRET, "sleep 30",
	    "did not finish in 1 s", SECRET_E_TIMEOUT, 2500, "1" },
	/* A limit out of 1..600 is not taken (0 would kill at once). */
	{ "limit 0 not taken", SECRET_CLIENT_SECRET,
	    "sh -c 'sleep 0.2; printf y'", "y", 0, 0, "0" },
};

static void
check_command(const char *label, const void *p)
{
	const __typeof__(command_rows[0]) *t = p;
	struct secret_src src = { 0 };
	struct secret out = { NULL, 0 };
	struct xo_err err;
	int64_t t0, ms;
	int r;

	src.slot = t->slot;
	src.kind = SECRET_COMMAND;
	src.value = t->command;
	src.member = "some_command";
	src.label = "some secret";
	xo_err_clear(&err);
	/* Room for a loaded machine, unless the limit is the point. */
	setenv("XOAUTH2_SECRET_TIMEOUT", t->limit != NULL ? t->limit : "30", 1);
	t0 = xo_now_ms();
	r = secret_read(&src, &out, &err);
	ms = xo_now_ms() - t0;
	expect_int(label, r, t->code);
	if (r == 0)
		expect_bytes(label, out.data, out.len, t->want, strlen(t->want));
	else
		expect_contains(label, err.msg, t->want);
	if (t->max_ms > 0 && ms > t->max_ms)
		unit_fail(label, "took %lld ms, more than %d", (long long)ms,
		    t->max_ms);
	secret_clear(&out);
}

/* Told to stop (SIGTERM: stop.h) while the command runs: it is
 * killed (unit-child.c: at once, its group too) and said as a
 * temporary failure.  Last: the flag stays set. */
static void
check_stop(void)
{
	const char *label = "SIGTERM: the command stopped";
	struct secret_src src = { SECRET_CLIENT_SECRET, SECRET_COMMAND,
	    "sh -c 'kill -TERM $PPID; exec sleep 30'", "some_command",
	    "some secret" };
	struct secret out = { NULL, 0 };
	struct xo_err err;

	unit_rows++;
	stop_catch();
	setenv("XOAUTH2_SECRET_TIMEOUT", "60", 1);
	/* The command signals us itself, once it runs: no guessed time. */
	expect_int(label, secret_read(&src, &out, &err), XO_E_TEMPFAIL);
	expect_contains(label, err.msg, "stopped by SIGTERM while the command "
	    "for the some secret (some_command), sh, ran");
	expect_int(unit_labelf("%s: flag", label), stop_requested(), SIGTERM);
}

/* secret_set: one source per secret, the others cleared; a kind the
 * secret cannot have is refused. */
static void
check_set(void)
{
	struct tokfile tok;
	struct secret_src src;
	struct xo_err err;

	memset(&tok, 0, sizeof(tok));
	unit_rows += 4;
	expect_int("set: a file", secret_set(&tok, SECRET_CLIENT_SECRET,
	    SECRET_FILE, "/s"), 0);
	expect_int("set: then a command", secret_set(&tok,
	    SECRET_CLIENT_SECRET, SECRET_COMMAND, "pass show s"), 0);
	expect_int("set: where", secret_where(&tok, SECRET_CLIENT_SECRET,
	    &src, &err), 0);
	expect_int("set: the command, alone", src.kind, SECRET_COMMAND);
	expect_int("set: the file cleared", tok.client_secret_file == NULL, 1);
	expect_int("set: a key from a command", secret_set(&tok,
	    SECRET_PRIVATE_KEY, SECRET_COMMAND, "x"), XO_E_SOFTWARE);
	expect_int("set: nowhere", secret_set(&tok, SECRET_CLIENT_SECRET,
	    SECRET_NOWHERE, NULL), 0);
	expect_int("set: nothing left", tok.client_secret_command == NULL, 1);
}

int
main(void)
{
	char cmd[128];
	int rows;

	snprintf(dir, sizeof(dir), "/tmp/unit-secret.XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	setenv("CREDENTIALS_DIRECTORY", dir, 1);
	UNIT_TABLE_NAMED(split_rows, check_split);
	UNIT_TABLE_NAMED(trip_rows, check_trip);
	UNIT_TABLE_NAMED(where_rows, check_where);
	UNIT_TABLE_NAMED(read_rows, check_read);
	check_nocreds();
	UNIT_TABLE_NAMED(command_rows, check_command);
	check_stop();
	check_set();
	rows = unit_rows;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	if (system(cmd) != 0)
		printf("cannot remove %s\n", dir);
	return unit_done("unit-secret", rows);
}
