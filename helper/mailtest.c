/*
 * mailtest: `xoauth2-token test`, a small IMAP / POP3 / SMTP client
 * around libsasl2 -- the run and its verdict.  The parts (mailtest_int.h)
 * do the rest: the transport (mailtest_net.c), the dialogues
 * (mailtest_proto.c) and the SASL glue (mailtest_sasl.c).
 *
 * Each step returns 0 or an errors.h code after filling s->err; the
 * verdict prints the dialogue's end on stdout and hands the caller the
 * message with what to do.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "errors.h"
#include "mailtest.h"
#include "mailtest_int.h"
#include "msg.h"	/* PROG */
#include "oauth.h"
#include "xo_err.h"
#include "xo_util.h"

static const char *
proto_name(enum mailtest_proto p)
{
	return p == MAILTEST_IMAP ? "IMAP" : p == MAILTEST_POP ? "POP" : "SMTP";
}

/* A refusal the diagnostics table knows: its cause and fix, on stdout
 * under the verdict and in ERR.  Returns its errors.h code. */
static int
explain(struct session *s, const struct diag *d, struct xo_err *err)
{
	char cause[512], step[1024];

	xo_printable_utf8(s->reply);
	diag_expand(diag_cause(d, s->mo->diag), s->mo->diag, cause,
	    sizeof(cause));
	diag_expand(diag_step(d, s->mo->diag), s->mo->diag, step, sizeof(step));
	printf("   cause: %s\n   fix:   %s\n", cause, step);
	fflush(stdout);
	return xo_err_set(err, d->cls == DIAG_CLASS_TEMPORARY ? XO_E_TEMPFAIL :
	    XO_E_REFUSED, "%s answered \"%s\": %s; %s", s->host, s->reply,
	    cause, step);
}

/* The port when --server names none: by protocol and, as given (the
 * default unresolved), security. */
static const char *
default_port(const struct mailtest_options *mo)
{
	switch (mo->proto) {
	case MAILTEST_IMAP:
		return mo->security == MAILTEST_SEC_STARTTLS ||
		    mo->security == MAILTEST_SEC_PLAIN ? "143" : "993";
	case MAILTEST_POP:
		return mo->security == MAILTEST_SEC_STARTTLS ||
		    mo->security == MAILTEST_SEC_PLAIN ? "110" : "995";
	default:
		return mo->security == MAILTEST_SEC_TLS ? "465" : "587";
	}
}

/* Checks MO and points s->mo at RESOLVED, a copy with the default
 * security made explicit; sets s->host and s->port.  Returns 0, or
 * XO_E_USAGE with ERR saying what is wrong. */
static int
session_options(struct session *s, const struct mailtest_options *mo,
    struct mailtest_options *resolved, struct xo_err *err)
{
	char bracketed[sizeof(s->host) + 2];

	if (mo->mech != NULL && strcmp(mo->mech, "XOAUTH2") != 0 &&
	    strcmp(mo->mech, "OAUTHBEARER") != 0)
		return xo_err_set(err, XO_E_USAGE, "--mech is XOAUTH2 or "
		    "OAUTHBEARER, not '%s'", mo->mech);
	if (mt_parse_server(s, mo->server, default_port(mo)) != 0)
		return xo_err_set(err, XO_E_USAGE, "'%s' is not HOST[:PORT] "
		    "(an IPv6 address goes in brackets: [::1]:143)",
		    mo->server);
	/* The default: TLS for IMAP and POP, STARTTLS for SMTP. */
	*resolved = *mo;
	if (resolved->security == MAILTEST_SEC_DEFAULT)
		resolved->security = mo->proto == MAILTEST_SMTP ?
		    MAILTEST_SEC_STARTTLS : MAILTEST_SEC_TLS;
	s->mo = resolved;
	if (s->mo->security != MAILTEST_SEC_PLAIN)
		return 0;
	snprintf(bracketed, sizeof(bracketed), strchr(s->host, ':') ?
	    "[%s]" : "%s", s->host);
	if (!oauth_host_is_loopback(bracketed))
		return xo_err_set(err, XO_E_USAGE, "--plain would send the "
		    "access token unencrypted to %s; it is only allowed to a "
		    "loopback host: use --tls or --starttls", s->host);
	return 0;
}

/* Connects, starts TLS if --tls, and logs in in the protocol's way. */
static int
session_dialogue(struct session *s)
{
	int status;

	if ((status = mt_conn_open(s)) == 0 &&
	    (s->mo->security != MAILTEST_SEC_TLS || (status = mt_conn_tls(s)) == 0))
		status = s->mo->proto == MAILTEST_IMAP ? mt_imap(s) :
		    s->mo->proto == MAILTEST_POP ? mt_pop(s) : mt_smtp(s);
	return status;
}

/* Prints the verdict of STATUS (HOW: the security, T0: when the test
 * began) and, on failure, fills ERR with the message and what to do.
 * Returns STATUS, or another errors.h code: a refusal the diagnostics
 * table knows may be temporary. */
static int
session_verdict(struct session *s, int status, const char *how, long t0,
    struct xo_err *err)
{
	enum mailtest_proto proto = s->mo->proto;
	const char *reason = s->err.msg;
	char word[XO_SHELL_WORD_MAX];
	const struct diag *known;

	if (status == 0) {
		printf("PASS: %s login to %s:%s as %s with %s (%s): %s, in %.2f s\n",
		    proto_name(proto), s->host, s->port, s->user, s->mech, how,
		    s->done, (double)(xo_now_ms() - t0) / 1000);
		return status;
	}
	printf("FAIL: %s login to %s:%s as %s%s%s (%s): %s\n",
	    proto_name(proto), s->host, s->port, s->user,
	    s->mech != NULL ? " with " : "", s->mech != NULL ? s->mech : "",
	    how, reason);
	fflush(stdout);
	if (status == XO_E_REFUSED && s->sasl != NULL &&
	    (known = diag_match(proto == MAILTEST_IMAP ? DIAG_IMAP :
	    proto == MAILTEST_POP ? DIAG_POP : DIAG_SMTP, s->reply)) != NULL)
		return explain(s, known, err);
	if (status == XO_E_REFUSED && s->sasl != NULL) {
		xo_shell_word(word, sizeof(word), s->who);
		return xo_err_set(err, status, "%s; run: " PROG " refresh "
		    "--force %s, and if the server still says no, check that "
		    "the grant has the %s scope and that %s access is enabled "
		    "for the mailbox, then: " PROG " login %s", reason, word,
		    proto_name(proto), proto_name(proto), word);
	}
	return xo_err_set(err, status, "%s", reason);
}

/* Ends the SASL session and the connection; wipes what was read and
 * the secret. */
static void
session_free(struct session *s)
{
	mt_sasl_done(s);
	mt_conn_close(s);
	free(s->line);
	xo_freezero(s->in, MAILTEST_LINE_MAX + 1);
}

int
mailtest_run(const struct mailtest_options *mo, const char *who,
    const char *path, const char *user, struct xo_err *err)
{
	struct mailtest_options resolved;
	struct session s;
	const char *how;
	long t0 = xo_now_ms();
	int status;

	memset(&s, 0, sizeof(s));
	s.mo = mo;
	s.who = who;
	s.path = path;
	s.user = user;
	s.fd = -1;
	xo_err_clear(err);
	if ((status = session_options(&s, mo, &resolved, err)) != 0)
		return status;
	how = s.mo->security == MAILTEST_SEC_TLS ? "TLS" :
	    s.mo->security == MAILTEST_SEC_STARTTLS ? "STARTTLS" : "no TLS";
	if ((s.in = malloc(MAILTEST_LINE_MAX + 1)) == NULL)
		return xo_err_set(err, XO_E_OSERR, "out of memory");
	printf("%s test: %s port %s (%s) as %s, token file %s\n",
	    proto_name(mo->proto), s.host, s.port, how, user, path);
	fflush(stdout);
	status = session_verdict(&s, session_dialogue(&s), how, t0, err);
	fflush(stdout);
	session_free(&s);
	return status;
}

