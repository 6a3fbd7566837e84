/*
 * common/xo_util.c's text checks, as the helper uses them on what a
 * server says: xo_unsafe_text (controls, C1 included, never reach a
 * terminal), xo_printable (the one filter for terminals, logs and
 * messages; xo_printable_utf8 is it in place).  Issue 10 item 5 and
 * issue 16 finding 7: CSI (U+009B) and OSC (U+009D), as UTF-8 or as
 * lone bytes.  xo_shell_word, the one quoting of "run: ..." hints
 * (issue 16 finding 8), and xo_secret_first_line, which leaves nothing
 * of a secret file's later lines (finding 10).  And its I/O loops, xo_read_full and
 * xo_write_all, through short reads (one packet a read) and errors.
 * xo_open_regular: only a regular file is opened; a FIFO, a device, a
 * directory or a symlink is only looked at (finding 3).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "xo_util.h"

static void
test_unsafe(void)
{
	static const struct unit_row t[] = {
		{ "alice@example.com", NULL, 17, 0 },
		{ "caf\xc3\xa9", NULL, 5, 0 },
		{ "\xc2\xa0nbsp", NULL, 6, 0 },		/* U+00A0 is printable */
		{ "\xe2\x80\x9b", NULL, 3, 0 },		/* U+201B: 9B continues */
		{ "\xf0\x9f\x93\xa7 mail", NULL, 9, 0 },	/* U+1F4E7 */
		{ "", NULL, 0, 0 },
		{ "a\nb", NULL, 3, 1 },
		{ "esc\033[2J", NULL, 7, 1 },
		{ "del\177", NULL, 4, 1 },
		{ "a\xc2\x9b" "31mb", NULL, 7, 1 },		/* CSI */
		{ "\xc2\x9d" "0;title\xc2\x9c", NULL, 11, 1 },	/* OSC ... ST */
		{ "\xc2\x80", NULL, 2, 1 },
		{ "\xc2\x9f", NULL, 2, 1 },
		{ "a\x9b" "31m", NULL, 5, 1 },		/* lone: 8-bit CSI */
		{ "\xff\x9b", NULL, 2, 1 },			/* after an invalid lead */
		{ "ya29.long-enough-for-a-word\xc2\x9b", NULL, 29, 1 },
	};
	char label[64];
	int c;

	/* IN (LEN bytes) is unsafe text exactly when CODE is 1. */
	UNIT_PRED_TABLE("unsafe", t, xo_unsafe_text);
	/* Every single byte, alone among letters. */
	for (c = 0; c < 256; c++) {
		char buf[3] = { 'a', (char)c, 'b' };

		unit_rows++;
		snprintf(label, sizeof(label), "unsafe byte 0x%02x", c);
		expect_int(label, xo_unsafe_text(buf, 3), c < 0x20 || c == 0x7f ||
		    (c >= 0x80 && c <= 0x9f));
	}
}

/* Both filters make IN into WANT, and WANT is safe. */
static void
check_filters(const char *row_label, const void *row)
{
	const struct unit_row *t = row;
	char buf[64], label[96];

	snprintf(buf, sizeof(buf), "%s", t->in);
	xo_printable_utf8(buf);
	snprintf(label, sizeof(label), "printable_utf8%s", row_label);
	expect_str(label, buf, t->want);
	expect_int(label, xo_unsafe_text(buf, strlen(buf)), 0);
	xo_printable(buf, sizeof(buf), t->in, strlen(t->in));
	snprintf(label, sizeof(label), "printable%s", row_label);
	expect_str(label, buf, t->want);
}

static void
test_filters(void)
{
	static const struct unit_row t[] = {
		{ "plain text", "plain text" },
		{ "x\xc2\x9b" "2J\xc2\x9d" "0;pwned\a\033[m", "x?2J?0;pwned??[m" },
		{ "caf\xc3\xa9", "caf\xc3\xa9" },
		{ "lone\x9b" "c", "lone?c" },
		{ "cut\xc3", "cut?" },
		{ "\xe2\x80\x9b ok", "\xe2\x80\x9b ok" },	/* U+201B */
		{ "\xed\xa0\x80", "???" },		/* a surrogate */
		{ "a\r\nb\tc", "a??b?c" },
	};

	UNIT_TABLE("", t, check_filters);
}

/* The function of the sized rows below: it writes IN into a buffer of
 * LEN bytes and returns it. */
static const char *(*sized_fn)(char *, size_t, const char *);

/* IN, written by sized_fn into LEN bytes, reads WANT. */
static void
check_sized(const char *label, const void *row)
{
	const struct unit_row *t = row;
	char buf[64];

	expect_str(label, sized_fn(buf, t->len, t->in), t->want);
}

static const char *
printable_cut(char *buf, size_t size, const char *in)
{
	return xo_printable(buf, size, in, strlen(in));
}

/* What does not fit is cut at a character boundary and marked "...". */
static void
test_printable_cut(void)
{
	static const struct unit_row t[] = {
		{ "abcdef", "abcdef", 7 },
		{ "abcdefg", "abc...", 7 },
		{ "ab\xc3\xa9\xc3\xa9xyz", "ab\xc3\xa9...", 8 },
		{ "a\xc3\xa9\xc3\xa9xyzw", "a\xc3\xa9...", 8 },	/* not half of e-acute */
		{ "\xc2\x9b\xc2\x9b\xc2\x9b\xc2\x9b", "????", 7 },	/* shrinks: fits */
		{ "abc", "ab", 3 },
	};

	sized_fn = printable_cut;
	UNIT_TABLE("printable cut", t, check_sized);
}

/* xo_shell_word: what sh reads back is the input, and nothing runs. */
static void
test_shell_word(void)
{
	static const struct unit_row t[] = {
		{ "work", "work", 64 },
		{ "alice@example.com", "alice@example.com", 64 },
		{ "/var/spool/postfix/xoauth2/relay.json",
		  "/var/spool/postfix/xoauth2/relay.json", 64 },
		{ "", "''", 64 },
		{ "a$(touch PWNED)", "'a$(touch PWNED)'", 64 },
		{ "a'b", "'a'\\''b'", 64 },
		{ "`id`;x", "'`id`;x'", 64 },
		{ "[smtp.office365.com]:587", "'[smtp.office365.com]:587'", 64 },
		{ "~root", "'~root'", 64 },
		{ "abcdefghijkl", "'abcdef...'", 12 },
		{ "a''''''''", "'a'\\''...'", 12 },
	};

	sized_fn = xo_shell_word;
	UNIT_TABLE("shell word", t, check_sized);
}

/* xo_secret_first_line: the first line stays, every later byte is 0. */
static void
check_secret_first_line(const char *label, const void *row)
{
	const struct unit_row *t = row;
	char buf[64];
	size_t j, len, n;
	int dirty;

	memset(buf, 'x', sizeof(buf));
	len = strlen(t->in);
	memcpy(buf, t->in, len + 1);
	n = xo_secret_first_line(buf, len);
	expect_str(label, buf, t->want);
	expect_int(label, (long)n, (long)strlen(t->want));
	for (dirty = 0, j = n; j < len; j++)
		dirty |= buf[j] != '\0';
	expect_int(label, dirty, 0);
}

static void
test_secret_first_line(void)
{
	static const struct unit_row t[] = {
		{ "s3cret\nsecond line\n", "s3cret" },
		{ "s3cret\r\nsecond", "s3cret" },
		{ "s3cret", "s3cret" },
		{ "\nsecond", "" },
	};

	UNIT_TABLE("secret first line", t, check_secret_first_line);
}

/* xo_fmt_ms, the durations in the plugin's and the helper's messages. */
struct fmt_ms_row {
	long long ms;
	const char *out;
};

static void
check_fmt_ms(const char *label, const void *row)
{
	const struct fmt_ms_row *t = row;
	char buf[32];

	xo_fmt_ms(buf, sizeof(buf), t->ms);
	expect_str(label, buf, t->out);
}

static void
test_fmt_ms(void)
{
	static const struct fmt_ms_row t[] = {
		{ 0, "0 s" }, { 55000, "55 s" }, { 4500, "4.5 s" },
		{ 750, "0.75 s" }, { 2170, "2.17 s" }, { 1001, "1.001 s" },
	};

	UNIT_TABLE("fmt_ms", t, check_fmt_ms);
}

/* xo_read_full over a SOCK_SEQPACKET pair, where every read returns one
 * packet at most: it must keep reading to SIZE or the end. */
static void
test_io(void)
{
	static const struct {
		const char *packets[3];
		size_t size;
		const char *want;
	} t[] = {
		{ { "abc", "defg", "h" }, 100, "abcdefgh" },
		{ { "abc", "defg", "h" }, 8, "abcdefgh" },
		{ { "abc", "defg", "h" }, 5, "abcde" },
		{ { "", NULL, NULL }, 10, "" },
	};
	char label[64], buf[128], *big, *back;
	size_t i, j, got;
	int sv[2], r;
	FILE *f;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++, unit_rows++) {
		snprintf(label, sizeof(label), "read_full row %zu", i);
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == -1) {
			perror("socketpair");
			exit(1);
		}
		for (j = 0; j < 3 && t[i].packets[j] != NULL; j++)
			if (t[i].packets[j][0] != '\0')
				expect_int(label, xo_write_all(sv[1], t[i].packets[j],
				    strlen(t[i].packets[j])), 0);
		close(sv[1]);
		r = xo_read_full(sv[0], buf, t[i].size, &got);
		close(sv[0]);
		expect_int(label, r, 0);
		expect_bytes(label, buf, got, t[i].want, strlen(t[i].want));
	}
	/* Errors: -errno, and nothing counted as read. */
	got = 99;
	expect_int("read_full bad fd", xo_read_full(-1, buf, 10, &got), -EBADF);
	expect_int("read_full bad fd: got", (int)got, 0);
	expect_int("write_all bad fd", xo_write_all(-1, "x", 1), -EBADF);
	/* A large write, back whole. */
	if ((big = malloc(300000)) == NULL || (back = malloc(300001)) == NULL ||
	    (f = tmpfile()) == NULL) {
		perror("unit-text");
		exit(1);
	}
	for (i = 0; i < 300000; i++)
		big[i] = (char)(i * 7);
	expect_int("write_all 300000", xo_write_all(fileno(f), big, 300000), 0);
	lseek(fileno(f), 0, SEEK_SET);
	expect_int("read_full back", xo_read_full(fileno(f), back, 300001,
	    &got), 0);
	expect_bytes("read_full back", back, got, big, 300000);
	unit_rows += 2;
	fclose(f);
	free(big);
	free(back);
}

/* xo_open_regular on each kind of file: rows of {name, opened, type}. */
static void
test_open_regular(void)
{
	char dir[] = "/tmp/unit-text.XXXXXX", path[64], label[96];
	static const struct {
		const char	*name;	/* in DIR; NULL: the device below */
		int		 opened;
		mode_t		 type;
	} t[] = {
		{ "file", 1, S_IFREG },
		{ "fifo", 0, S_IFIFO },
		{ "dir", 0, S_IFDIR },
		{ "link", 0, S_IFLNK },
		{ NULL, 0, S_IFCHR },
	};
	struct stat st;
	size_t i, got = 0;
	int fd, r, dfd;

	if (mkdtemp(dir) == NULL || (dfd = open(dir, O_DIRECTORY)) == -1 ||
	    (fd = openat(dfd, "file", O_WRONLY | O_CREAT, 0600)) == -1 ||
	    write(fd, "x\n", 2) != 2 || close(fd) != 0 ||
	    mkfifoat(dfd, "fifo", 0600) != 0 || mkdirat(dfd, "dir", 0700) != 0 ||
	    symlinkat("file", dfd, "link") != 0) {
		perror("unit-text: open_regular set-up");
		exit(1);
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++, unit_rows++) {
		snprintf(label, sizeof(label), "open_regular %s",
		    t[i].name != NULL ? t[i].name : "/dev/null");
		/* A FIFO opened for reading would block here: it must not. */
		r = xo_open_regular(t[i].name != NULL ? dfd : AT_FDCWD,
		    t[i].name != NULL ? t[i].name : "/dev/null", &fd, &st);
		expect_int(label, r, 0);
		expect_int(label, fd >= 0, t[i].opened);
		expect_int(label, (int)(st.st_mode & S_IFMT), (int)t[i].type);
		if (fd >= 0) {
			expect_int(label, xo_read_full(fd, path, 2, &got), 0);
			expect_bytes(label, path, got, "x\n", 2);
			expect_int(label, fcntl(fd, F_GETFD) & FD_CLOEXEC,
			    FD_CLOEXEC);
			close(fd);
		}
	}
	expect_int("open_regular missing", xo_open_regular(dfd, "none", &fd,
	    &st), -ENOENT);
	expect_int("open_regular missing: fd", fd, -1);
	unit_rows++;
	unlinkat(dfd, "file", 0);
	unlinkat(dfd, "fifo", 0);
	unlinkat(dfd, "link", 0);
	unlinkat(dfd, "dir", AT_REMOVEDIR);
	close(dfd);
	rmdir(dir);
}

int
main(void)
{
	test_unsafe();
	test_filters();
	test_printable_cut();
	test_shell_word();
	test_secret_first_line();
	test_fmt_ms();
	test_io();
	test_open_regular();
	return unit_done("unit-text", unit_rows);
}
