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

/* The reading of the server's lines: mailtest_lines.h. */

#endif
