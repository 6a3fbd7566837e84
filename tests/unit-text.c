/*
 * common/xo_util.c's text checks, as the helper uses them on what a
 * server says: xo_unsafe_text (controls, C1 included, never reach a
 * terminal), xo_printable_utf8 (the terminal filter) and xo_printable
 * (ASCII for logs).  Issue 10 item 5: CSI (U+009B) and OSC (U+009D),
 * as UTF-8 or as lone bytes.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "xo_util.h"

static int rows;

static void
test_unsafe(void)
{
	static const struct {
		const char *in;
		size_t len;
		int want;
	} t[] = {
		{ "alice@example.com", 17, 0 },
		{ "caf\xc3\xa9", 5, 0 },
		{ "\xc2\xa0nbsp", 6, 0 },		/* U+00A0 is printable */
		{ "\xe2\x80\x9b", 3, 0 },		/* U+201B: 9B continues */
		{ "\xf0\x9f\x93\xa7 mail", 9, 0 },	/* U+1F4E7 */
		{ "", 0, 0 },
		{ "a\nb", 3, 1 },
		{ "esc\033[2J", 7, 1 },
		{ "del\177", 4, 1 },
		{ "a\xc2\x9b" "31mb", 7, 1 },		/* CSI */
		{ "\xc2\x9d" "0;title\xc2\x9c", 11, 1 },	/* OSC ... ST */
		{ "\xc2\x80", 2, 1 },
		{ "\xc2\x9f", 2, 1 },
		{ "a\x9b" "31m", 5, 1 },		/* lone: 8-bit CSI */
		{ "\xff\x9b", 2, 1 },			/* after an invalid lead */
		{ "ya29.long-enough-for-a-word\xc2\x9b", 29, 1 },
	};
	char label[64];
	size_t i;
	int c;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rows++;
		snprintf(label, sizeof(label), "unsafe row %zu", i);
		expect_int(label, xo_unsafe_text(t[i].in, t[i].len), t[i].want);
	}
	/* Every single byte, alone among letters. */
	for (c = 0; c < 256; c++) {
		char buf[3] = { 'a', (char)c, 'b' };

		rows++;
		snprintf(label, sizeof(label), "unsafe byte 0x%02x", c);
		expect_int(label, xo_unsafe_text(buf, 3), c < 0x20 || c == 0x7f ||
		    (c >= 0x80 && c <= 0x9f));
	}
}

static void
test_filters(void)
{
	static const struct {
		const char *in, *utf8, *ascii;
	} t[] = {
		{ "plain text", "plain text", "plain text" },
		{ "x\xc2\x9b" "2J\xc2\x9d" "0;pwned\a\033[m", "x?2J?0;pwned??[m",
		  "x??2J??0;pwned??[m" },
		{ "caf\xc3\xa9", "caf\xc3\xa9", "caf??" },
		{ "lone\x9b" "c", "lone?c", "lone?c" },
		{ "cut\xc3", "cut?", "cut?" },
	};
	char buf[64], label[64];
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		rows++;
		snprintf(buf, sizeof(buf), "%s", t[i].in);
		xo_printable_utf8(buf);
		snprintf(label, sizeof(label), "printable_utf8 row %zu", i);
		expect_str(label, buf, t[i].utf8);
		expect_int(label, xo_unsafe_text(buf, strlen(buf)), 0);
		xo_printable(buf, sizeof(buf), t[i].in, strlen(t[i].in));
		snprintf(label, sizeof(label), "printable row %zu", i);
		expect_str(label, buf, t[i].ascii);
	}
}

int
main(void)
{
	test_unsafe();
	test_filters();
	return unit_done("unit-text", rows);
}
