/*
 * mailtest: `xoauth2-token test`, a real IMAP, POP or SMTP login through
 * libsasl2 and the xoauth2 plugin (the path postfix and mbsync take),
 * with the token file's path as the SASL password, then one harmless
 * command and a clean logout.  The dialogue is printed with every SASL
 * message from the client masked.
 */
#ifndef XO_MAILTEST_H
#define XO_MAILTEST_H

struct diag_vars;
struct xo_err;

enum mailtest_proto { MAILTEST_NONE, MAILTEST_IMAP, MAILTEST_POP, MAILTEST_SMTP };
enum mailtest_security {
	MAILTEST_SEC_DEFAULT,	/* IMAP, POP: TLS; SMTP: STARTTLS */
	MAILTEST_SEC_TLS,	/* TLS from the first byte */
	MAILTEST_SEC_STARTTLS,
	MAILTEST_SEC_PLAIN,	/* no TLS: loopback hosts only */
};

/* Strings belong to the caller. */
struct mailtest_options {
	enum mailtest_proto	 proto;
	const char		*server;	/* HOST[:PORT] or [V6]:PORT */
	enum mailtest_security	 security;
	const char		*mech;		/* NULL: what the server offers */
	const char		*authzid;	/* shared mailbox, or NULL */
	const char		*plugin_dir;	/* NULL: SASL_PATH or libsasl2's */
	const char		*cafile;	/* NULL: the system's CAs */
	long			 connect_timeout_ms;
	long			 timeout_ms;	/* each read and write */
	const struct diag_vars	*diag;		/* names in a refusal's fix
						 * (diag.h), or NULL */
};

/* Logs in to the server as USER with the token file PATH (absolute) and
 * reports on stdout: the dialogue, then a one-line verdict, and for a
 * refusal the diagnostics table knows (diag.h), its cause and fix.  WHO
 * names the account in messages.  Returns 0 if the login and the command
 * succeeded, else an XO_E_* code (errors.h) with ERR saying why and what
 * to do, for the caller to print (stdout is flushed by then). */
int mailtest_run(const struct mailtest_options *mo, const char *who,
    const char *path, const char *user, struct xo_err *err);

/*
 * The parts that read the server's bytes, without any I/O, so that they
 * can be fuzzed on their own (fuzz/fuzz_mailtest_lines.c).
 */

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
