/*
 * mailtest_lines: how `xoauth2-token test` reads the server's bytes --
 * cut into lines (mailtest_net.c) and each protocol's line classifier
 * (mailtest_proto.c) -- without any I/O, so that they can be fuzzed on
 * their own (fuzz/fuzz_mailtest_lines.c).  Shared by the parts of
 * mailtest (mailtest_int.h) and the fuzz target, in a header of its own
 * so that the module's face (mailtest.h) and its private parts do not
 * include each other.
 */
#ifndef XO_MAILTEST_LINES_H
#define XO_MAILTEST_LINES_H

#include <stddef.h>

/* What the server's capability lines said.  Forgotten after STARTTLS
 * (RFC 3207 4.2, RFC 2595 3.1): only what is said over TLS counts. */
struct mailtest_caps {
	char	mechs[1024];	/* " XOAUTH2 OAUTHBEARER ", upper case */
	int	sasl_ir;	/* IMAP SASL-IR */
	int	starttls;	/* IMAP STARTTLS, POP STLS, SMTP STARTTLS */
};

enum mailtest_kind {
	MAILTEST_LINE_OTHER,	/* IMAP untagged, POP anything else */
	MAILTEST_LINE_OK,	/* IMAP tagged OK, POP +OK */
	MAILTEST_LINE_NO,	/* IMAP tagged NO or BAD, POP -ERR */
	MAILTEST_LINE_CONTINUE,	/* IMAP, POP "+": text is the challenge */
	MAILTEST_LINE_END,	/* POP: the "." ending a multi-line answer */
	MAILTEST_LINE_REPLY,	/* SMTP: code, more and text */
};

/* One server line as the protocol reads it.  text points into the line
 * (at its NUL when there is none). */
struct mailtest_line {
	enum mailtest_kind kind;
	int		 code;	/* SMTP: 200-599 */
	int		 more;	/* SMTP: a continuation ("250-") */
	const char	*text;
};

/* Takes the first complete line (up to LF) out of the LEN bytes at BUF:
 * on success *LINEp is a new NUL-terminated copy without the CR LF (the
 * caller frees it), the bytes after it move to the front and *LENp
 * shrinks.  Returns 1 if a line was taken, 0 if BUF holds no LF yet,
 * XO_E_PROTOCOL if the line holds a NUL byte, -ENOMEM. */
int mailtest_take_line(char *buf, size_t *lenp, char **linep);

/* IMAP: judges LINE, read while waiting for the answer to TAG; an
 * untagged CAPABILITY updates CAPS.  Returns 0. */
int mailtest_imap_line(const char *line, const char *tag,
    struct mailtest_caps *caps, struct mailtest_line *lp);

/* POP3: judges LINE; IN_CAPA: a line of CAPA's answer ("SASL ...",
 * "STLS" update CAPS; "." ends it).  Returns 0. */
int mailtest_pop_line(const char *line, int in_capa,
    struct mailtest_caps *caps, struct mailtest_line *lp);

/* SMTP: judges LINE (RFC 5321 4.2: three digits, then SP, "-" or the
 * end); EHLO: a line of the EHLO answer ("AUTH ...", "STARTTLS" update
 * CAPS).  Returns 0, or XO_E_PROTOCOL if LINE is not an SMTP reply. */
int mailtest_smtp_line(const char *line, int ehlo,
    struct mailtest_caps *caps, struct mailtest_line *lp);

/* Server text is made printable with xo_printable_utf8 (xo_util.h). */

#endif
