/*
 * fuzz_mailtest_lines: how `xoauth2-token test` reads an IMAP, POP3 or
 * SMTP server (helper/mailtest_net.c, mailtest_proto.c), without the socket: the cutting of
 * the received bytes into lines, each protocol's line parser, and the
 * filter that makes server text printable.  Anyone on the path before
 * TLS can send these bytes.
 *
 * Input: byte 0 picks the protocol (bits 0-1: IMAP, POP, SMTP, SMTP)
 * and the context (bit 2: POP inside CAPA's answer, SMTP inside EHLO's);
 * the rest is what the server sent, cut into lines as read_line does.
 * Each line is handed over in a buffer of its exact size, as read_line
 * does, so a read past it is an ASan report (the `line + 4` of a bare
 * "250\n" was one).
 * Checked: a taken line is the prefix of the buffer up to LF without
 * CR LF and the rest moves up; the text a parser points at lies inside
 * the line; the kinds and SMTP codes agree with the line's first bytes;
 * the capabilities stay terminated, space-framed and made of mechanism
 * characters; printable text has no C0, DEL or C1 controls and is valid
 * UTF-8.
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "fuzz.h"
#include "mailtest_lines.h"
#include "xo_util.h"

#define BUF_MAX	(64 * 1024)	/* MAILTEST_LINE_MAX (mailtest_int.h) */

/* Valid UTF-8 without C0, DEL or C1 controls. */
static void
check_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	unsigned long c;
	size_t n, i;

	while (*p != '\0') {
		FUZZ_CHECK(*p >= 0x20 && *p != 0x7f, "printable: byte 0x%02x",
		    *p);
		n = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 ? 2 :
		    (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 ? 4 : 0;
		FUZZ_CHECK(n != 0, "printable: lead byte 0x%02x", *p);
		c = n == 1 ? *p : *p & (0x7f >> n);
		for (i = 1; i < n; i++) {
			FUZZ_CHECK((p[i] & 0xc0) == 0x80,
			    "printable: bad continuation 0x%02x", p[i]);
			c = c << 6 | (p[i] & 0x3f);
		}
		FUZZ_CHECK(!(c >= 0x80 && c <= 0x9f), "printable: C1 U+%04lx", c);
		FUZZ_CHECK(c <= 0x10ffff && !(c >= 0xd800 && c <= 0xdfff),
		    "printable: U+%lx", c);
		FUZZ_CHECK(n == 1 || c >= (n == 2 ? 0x80UL : n == 3 ?
		    0x800UL : 0x10000UL), "printable: overlong U+%lx", c);
		p += n;
	}
}

static void
check_caps(const struct mailtest_caps *caps)
{
	const char *nul = memchr(caps->mechs, '\0', sizeof(caps->mechs));
	size_t n, i;

	FUZZ_CHECK(nul != NULL, "caps not terminated");
	n = (size_t)(nul - caps->mechs);
	if (n > 0)
		FUZZ_CHECK(n >= 2 && caps->mechs[0] == ' ' &&
		    caps->mechs[n - 1] == ' ', "caps not framed by spaces");
	for (i = 0; i < n; i++) {
		char c = caps->mechs[i];

		FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    c == '-' || c == '_' || c == ' ' || c == '?',
		    "caps: byte 0x%02x", (unsigned char)c);
	}
	FUZZ_CHECK(caps->sasl_ir == 0 || caps->sasl_ir == 1, "sasl_ir %d",
	    caps->sasl_ir);
	FUZZ_CHECK(caps->starttls == 0 || caps->starttls == 1, "starttls %d",
	    caps->starttls);
}

static void
check_line(int proto, int context, const char *line,
    struct mailtest_caps *caps)
{
	struct mailtest_line l;
	size_t len = strlen(line);
	char *copy;
	int r;

	switch (proto) {
	case 0:
		r = mailtest_imap_line(line, "A2", caps, &l);
		FUZZ_CHECK(r == 0, "IMAP returned %d", r);
		FUZZ_CHECK(l.kind == MAILTEST_LINE_OTHER ||
		    l.kind == MAILTEST_LINE_OK || l.kind == MAILTEST_LINE_NO ||
		    l.kind == MAILTEST_LINE_CONTINUE, "IMAP kind %d", l.kind);
		if (l.kind == MAILTEST_LINE_OK || l.kind == MAILTEST_LINE_NO)
			FUZZ_CHECK(strncmp(line, "A2 ", 3) == 0,
			    "tagged answer without the tag");
		if (l.kind == MAILTEST_LINE_OK)
			FUZZ_CHECK(strncasecmp(line + 3, "OK", 2) == 0,
			    "OK that is not OK");
		break;
	case 1:
		r = mailtest_pop_line(line, context, caps, &l);
		FUZZ_CHECK(r == 0, "POP returned %d", r);
		if (context)
			FUZZ_CHECK(l.kind == MAILTEST_LINE_OTHER ||
			    (l.kind == MAILTEST_LINE_END && strcmp(line, ".") == 0),
			    "CAPA line kind %d", l.kind);
		else {
			FUZZ_CHECK(l.kind != MAILTEST_LINE_END &&
			    l.kind != MAILTEST_LINE_REPLY, "POP kind %d", l.kind);
			if (l.kind == MAILTEST_LINE_OK)
				FUZZ_CHECK(strncmp(line, "+OK", 3) == 0,
				    "+OK that is not +OK");
			if (l.kind == MAILTEST_LINE_NO)
				FUZZ_CHECK(line[0] == '-', "-ERR without '-'");
		}
		break;
	default:
		r = mailtest_smtp_line(line, context, caps, &l);
		FUZZ_CHECK(r == 0 || r == XO_E_PROTOCOL, "SMTP returned %d", r);
		FUZZ_CHECK(l.kind == MAILTEST_LINE_REPLY, "SMTP kind %d", l.kind);
		if (r == 0) {
			FUZZ_CHECK(len >= 3 && l.code >= 200 && l.code <= 599 &&
			    l.code / 100 == line[0] - '0' &&
			    l.code / 10 % 10 == line[1] - '0' &&
			    l.code % 10 == line[2] - '0', "code %d for \"%.3s\"",
			    l.code, line);
			FUZZ_CHECK(l.more == (line[3] == '-'), "more %d", l.more);
		}
		break;
	}
	if (proto == 0 && l.kind == MAILTEST_LINE_CONTINUE)
		FUZZ_CHECK(line[0] == '+', "continuation without '+'");
	if (proto == 1 && l.kind == MAILTEST_LINE_CONTINUE)
		FUZZ_CHECK(line[0] == '+' && strncmp(line, "+OK", 3) != 0,
		    "continuation without '+'");
	/* The caller hands text to strlen and base64 decoding. */
	FUZZ_CHECK(l.text >= line && l.text <= line + len,
	    "text outside the line (offset %td of %zu)", l.text - line, len);
	FUZZ_CHECK(strlen(l.text) == len - (size_t)(l.text - line),
	    "text does not end with the line");
	check_caps(caps);

	if ((copy = strdup(line)) == NULL)
		return;
	xo_printable_utf8(copy);
	FUZZ_CHECK(strlen(copy) <= len, "printable text grew");
	check_printable(copy);
	free(copy);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mailtest_caps caps;
	size_t n, len, before;
	char *buf, *line, *nl;
	int proto, context, r;

	if (size < 1)
		return 0;
	proto = data[0] & 3;
	if (proto == 3)
		proto = 2;
	context = (data[0] & 4) != 0;
	n = size - 1 < BUF_MAX ? size - 1 : BUF_MAX;
	if ((buf = malloc(n + 1)) == NULL)
		return 0;
	memcpy(buf, data + 1, n);
	len = n;
	memset(&caps, 0, sizeof(caps));
	for (;;) {
		before = len;
		nl = memchr(buf, '\n', len);
		r = mailtest_take_line(buf, &len, &line);
		FUZZ_CHECK(r == 0 || r == 1 || r == XO_E_PROTOCOL ||
		    r == -ENOMEM, "take_line returned %d", r);
		if (r != 1) {
			FUZZ_CHECK(line == NULL, "no line, but *linep set");
			FUZZ_CHECK(len == before, "no line, but the buffer moved");
			FUZZ_CHECK(r != 0 || nl == NULL, "an LF, but no line");
			if (r == XO_E_PROTOCOL)
				FUZZ_CHECK(memchr(buf, '\0',
				    (size_t)(nl - buf)) != NULL, "NUL refused "
				    "without one");
			break;
		}
		FUZZ_CHECK(nl != NULL, "a line without an LF");
		FUZZ_CHECK(len == before - (size_t)(nl - buf) - 1,
		    "the buffer shrank by %zu, not up to the LF", before - len);
		FUZZ_CHECK(strchr(line, '\n') == NULL, "LF inside the line");
		FUZZ_CHECK(strlen(line) + 1 >= (size_t)(nl - buf) &&
		    strlen(line) <= (size_t)(nl - buf), "line length %zu for "
		    "%td bytes", strlen(line), nl - buf);
		/* As read_line hands it over: a buffer of its exact size. */
		{
			size_t ll = strlen(line);
			char *exact = malloc(ll + 1);

			if (exact != NULL) {
				memcpy(exact, line, ll + 1);
				check_line(proto, context, exact, &caps);
				free(exact);
			}
		}
		free(line);
	}
	free(buf);
	return 0;
}
