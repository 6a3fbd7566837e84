/*
 * mailtest_proto: the dialogues of `xoauth2-token test` -- IMAP, POP3
 * and SMTP, each from the greeting (and STARTTLS) through the SASL
 * exchange to one harmless command and a clean logout -- and the
 * classifiers of the server's lines, which do no I/O so that they can
 * be fuzzed on their own (fuzz/fuzz_mailtest_lines.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "errors.h"
#include "mailtest.h"
#include "mailtest_int.h"
#include "xo_err.h"
#include "xo_util.h"

/* --- reading the server's lines ------------------------------------- */


/* Adds the LEN bytes of mechanism names at WORDS (space separated) to
 * CAPS, upper case; a byte that cannot be in a mechanism name (RFC 4422
 * 3.1: A-Z, 0-9, '-', '_') becomes '?'.  What does not fit is dropped. */
static void
caps_add(struct mailtest_caps *caps, const char *words, size_t len)
{
	size_t n = strlen(caps->mechs), i;
	char c;

	if (n == 0)
		caps->mechs[n++] = ' ';
	if (n + 1 >= sizeof(caps->mechs))
		return;
	for (i = 0; i < len && n + 2 < sizeof(caps->mechs); i++) {
		c = words[i];
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '-' && c != '_' && c != ' ')
			c = '?';
		caps->mechs[n++] = c;
	}
	caps->mechs[n++] = ' ';
	caps->mechs[n] = '\0';
}

static void
line_init(struct mailtest_line *lp, const char *line, enum mailtest_kind kind)
{
	memset(lp, 0, sizeof(*lp));
	lp->kind = kind;
	lp->text = line + strlen(line);
}

/* The challenge of a continuation line "+ BASE64" (or "+BASE64", "+"). */
static const char *
continuation(const char *line)
{
	return line[1] == ' ' ? line + 2 : line + 1;
}

int
mailtest_imap_line(const char *line, const char *tag,
    struct mailtest_caps *caps, struct mailtest_line *lp)
{
	size_t tl = strlen(tag), n;
	const char *p;

	line_init(lp, line, MAILTEST_LINE_OTHER);
	if (line[0] == '+') {
		lp->kind = MAILTEST_LINE_CONTINUE;
		lp->text = continuation(line);
	} else if (tl > 0 && strncmp(line, tag, tl) == 0 && line[tl] == ' ') {
		p = line + tl + 1;
		lp->kind = strncasecmp(p, "OK", 2) == 0 &&
		    (p[2] == ' ' || p[2] == '\0') ?
		    MAILTEST_LINE_OK : MAILTEST_LINE_NO;
		lp->text = p;
	} else if (strncasecmp(line, "* CAPABILITY ", 13) == 0) {
		for (p = line + 13; *p != '\0'; p += n) {
			p += strspn(p, " ");
			n = strcspn(p, " ");
			if (n > 5 && strncasecmp(p, "AUTH=", 5) == 0)
				caps_add(caps, p + 5, n - 5);
			else if (n == 7 && strncasecmp(p, "SASL-IR", 7) == 0)
				caps->sasl_ir = 1;
			else if (n == 8 && strncasecmp(p, "STARTTLS", 8) == 0)
				caps->starttls = 1;
		}
	}
	return 0;
}

int
mailtest_pop_line(const char *line, int in_capa,
    struct mailtest_caps *caps, struct mailtest_line *lp)
{
	line_init(lp, line, MAILTEST_LINE_OTHER);
	if (in_capa) {
		if (strcmp(line, ".") == 0)
			lp->kind = MAILTEST_LINE_END;
		else if (strncasecmp(line, "SASL ", 5) == 0)
			caps_add(caps, line + 5, strlen(line + 5));
		else if (strcasecmp(line, "STLS") == 0)
			caps->starttls = 1;
	} else if (strncmp(line, "+OK", 3) == 0) {
		lp->kind = MAILTEST_LINE_OK;
		lp->text = line[3] == ' ' ? line + 4 : line + 3;
	} else if (line[0] == '-') {
		lp->kind = MAILTEST_LINE_NO;
		lp->text = line + 1;
	} else if (line[0] == '+') {
		lp->kind = MAILTEST_LINE_CONTINUE;
		lp->text = continuation(line);
	}
	return 0;
}

int
mailtest_smtp_line(const char *line, int ehlo, struct mailtest_caps *caps,
    struct mailtest_line *lp)
{
	const char *kw;
	size_t n;

	line_init(lp, line, MAILTEST_LINE_REPLY);
	/* Each test stops at the NUL: nothing past the line is read. */
	if (line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
	    line[2] < '0' || line[2] > '9' ||
	    (line[3] != ' ' && line[3] != '-' && line[3] != '\0'))
		return XO_E_PROTOCOL;
	lp->code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + line[2] - '0';
	lp->more = line[3] == '-';
	lp->text = line[3] == '\0' ? line + 3 : line + 4;
	if (ehlo && lp->code == 250) {
		kw = lp->text;
		n = strcspn(kw, " =");
		/* "AUTH XOAUTH2 ...", and the old "AUTH=XOAUTH2 ..." */
		if (n == 4 && strncasecmp(kw, "AUTH", 4) == 0 && kw[4] != '\0')
			caps_add(caps, kw + 5, strlen(kw + 5));
		else if (n == 8 && strncasecmp(kw, "STARTTLS", 8) == 0)
			caps->starttls = 1;
	}
	return 0;
}

/* --- IMAP ------------------------------------------------------------------ */

/* Reads until the tagged answer to TAG (untagged CAPABILITY lines are
 * collected on the way).  Returns 0 with *OKp set to 1 for OK, 0 for NO
 * or BAD. */
static int
imap_tagged(struct session *s, const char *tag, int *okp)
{
	struct mailtest_line l;
	int r;

	for (;;) {
		if ((r = mt_read_line(s)) != 0)
			return r;
		mailtest_imap_line(s->line, tag, &s->caps, &l);
		if (l.kind == MAILTEST_LINE_OK || l.kind == MAILTEST_LINE_NO) {
			*okp = l.kind == MAILTEST_LINE_OK;
			return 0;
		}
	}
}

/* The greeting, then TLS if --starttls. */
static int
imap_greeting(struct session *s)
{
	int r, ok;

	if ((r = mt_read_line(s)) != 0)
		return r;
	if (strncasecmp(s->line, "* OK", 4) != 0)
		return xo_err_set(&s->err, XO_E_UNAVAILABLE,
		    "%s did not greet us with * OK", s->host);
	if (s->mo->security != MAILTEST_SEC_STARTTLS)
		return 0;
	if ((r = mt_send_line(s, "A0 STARTTLS", NULL)) != 0 ||
	    (r = imap_tagged(s, "A0", &ok)) != 0)
		return r;
	if (!ok)
		return xo_err_set(&s->err, XO_E_UNAVAILABLE,
		    "%s refused STARTTLS", s->host);
	return mt_start_tls(s);
}

/* Sends "A2 AUTHENTICATE" with the plugin's first message B64: in the
 * command if the server offers SASL-IR, else after its '+'. */
static int
imap_authenticate_first(struct session *s, const char *b64)
{
	struct mailtest_line l;
	char *cmd = NULL;
	int r;

	if (s->caps.sasl_ir) {
		if (asprintf(&cmd, "A2 AUTHENTICATE %s %s", s->mech,
		    b64[0] != '\0' ? b64 : "=") == -1) {
			cmd = NULL;
			r = xo_err_set(&s->err, XO_E_OSERR, "out of memory");
			goto out;
		}
		{
			char shown[sizeof(s->shown) + 64];

			snprintf(shown, sizeof(shown), "A2 AUTHENTICATE %s %s",
			    s->mech, s->shown);
			r = mt_send_line(s, cmd, shown);
		}
		goto out;
	}
	if (asprintf(&cmd, "A2 AUTHENTICATE %s", s->mech) == -1) {
		cmd = NULL;
		r = xo_err_set(&s->err, XO_E_OSERR, "out of memory");
		goto out;
	}
	if ((r = mt_send_line(s, cmd, NULL)) != 0 || (r = mt_read_line(s)) != 0)
		goto out;
	mailtest_imap_line(s->line, "A2", &s->caps, &l);
	if (l.kind != MAILTEST_LINE_CONTINUE) {
		r = l.kind != MAILTEST_LINE_OTHER ? mt_refused(s) :
		    xo_err_set(&s->err, XO_E_PROTOCOL, "expected '+' from %s",
		    s->host);
		goto out;
	}
	r = mt_send_line(s, b64, s->shown);
 out:
	xo_free_secret(cmd);
	return r;
}

/* The SASL exchange: the first message, then an answer to each
 * challenge, until the tagged answer to A2. */
static int
imap_authenticate(struct session *s)
{
	struct mailtest_line l;
	char *b64 = NULL;
	int r;

	if ((r = mt_sasl_setup(s, "imap")) != 0 ||
	    (r = mt_sasl_first(s, &b64)) != 0 ||
	    (r = imap_authenticate_first(s, b64)) != 0)
		goto out;
	for (;;) {
		if ((r = mt_read_line(s)) != 0)
			goto out;
		mailtest_imap_line(s->line, "A2", &s->caps, &l);
		if (l.kind == MAILTEST_LINE_CONTINUE) {
			if ((r = mt_sasl_answer(s, l.text)) != 0)
				goto out;
			continue;
		}
		if (l.kind == MAILTEST_LINE_OK || l.kind == MAILTEST_LINE_NO)
			break;
	}
	r = l.kind == MAILTEST_LINE_OK ? 0 : mt_refused(s);
 out:
	mt_b64_free(b64);
	return r;
}

/* Sends LINE, a command tagged TAG, and reads to its tagged answer:
 * anything but OK fails as "logged in, but WHAT failed". */
static int
imap_command(struct session *s, const char *line, const char *tag,
    const char *what)
{
	int r, ok;

	if ((r = mt_send_line(s, line, NULL)) != 0 ||
	    (r = imap_tagged(s, tag, &ok)) != 0)
		return r;
	return ok ? 0 : xo_err_set(&s->err, XO_E_PROTOCOL,
	    "logged in, but %s failed", what);
}

int
mt_imap(struct session *s)
{
	int r, ok;

	if ((r = imap_greeting(s)) != 0)
		return r;
	if ((r = mt_send_line(s, "A1 CAPABILITY", NULL)) != 0 ||
	    (r = imap_tagged(s, "A1", &ok)) != 0)
		return r;
	mt_choose_mech(s);
	if ((r = imap_authenticate(s)) != 0 ||
	    (r = imap_command(s, "A3 LIST \"\" INBOX", "A3", "LIST")) != 0 ||
	    (r = imap_command(s, "A4 NOOP", "A4", "NOOP")) != 0)
		return r;
	snprintf(s->done, sizeof(s->done), "LIST, NOOP and LOGOUT ok");
	return imap_command(s, "A5 LOGOUT", "A5", "LOGOUT");
}

/* --- POP3 and SMTP: AUTH without an initial response -------------------- */

/* How POP3 or SMTP reads the server's next answer during AUTH, as one of
 * MAILTEST_LINE_CONTINUE (*TEXTp: the challenge), _OK, _NO or _OTHER.
 * EXCHANGE: past the go-ahead, where SMTP takes anything but 334 and
 * 235 as the end. */
typedef int auth_read(struct session *s, int exchange,
    enum mailtest_kind *kindp, const char **textp);

/* "AUTH MECH" with the chosen mechanism: the server's go-ahead (GOAHEAD
 * names it in a message), the plugin's message, an answer to each
 * challenge, until the server's verdict. */
static int
auth_exchange(struct session *s, const char *service, auth_read *rd,
    const char *goahead)
{
	enum mailtest_kind k;
	const char *text;
	char *b64 = NULL, cmd[64];
	int r;

	mt_choose_mech(s);
	if ((r = mt_sasl_setup(s, service)) != 0 ||
	    (r = mt_sasl_first(s, &b64)) != 0)
		goto out;
	if (strcmp(service, "smtp") == 0)
		mt_sasl_line_note(s, b64);
	snprintf(cmd, sizeof(cmd), "AUTH %s", s->mech);
	if ((r = mt_send_line(s, cmd, NULL)) != 0 ||
	    (r = rd(s, 0, &k, NULL)) != 0)
		goto out;
	if (k != MAILTEST_LINE_CONTINUE) {
		r = k == MAILTEST_LINE_NO ? mt_refused(s) : xo_err_set(&s->err,
		    XO_E_PROTOCOL, "expected %s from %s", goahead, s->host);
		goto out;
	}
	if ((r = mt_send_line(s, b64, s->shown)) != 0)
		goto out;
	for (;;) {
		if ((r = rd(s, 1, &k, &text)) != 0)
			goto out;
		if (k == MAILTEST_LINE_OK || k == MAILTEST_LINE_NO)
			break;
		if (k == MAILTEST_LINE_CONTINUE &&
		    (r = mt_sasl_answer(s, text)) != 0)
			goto out;
	}
	r = k == MAILTEST_LINE_OK ? 0 : mt_refused(s);
 out:
	mt_b64_free(b64);
	return r;
}

/* --- POP3 ------------------------------------------------------------------ */

/* Reads one line; *KINDp is what it is (mailtest_pop_line). */
static int
pop_read(struct session *s, int in_capa, enum mailtest_kind *kindp,
    const char **textp)
{
	struct mailtest_line l;
	int r;

	if ((r = mt_read_line(s)) != 0)
		return r;
	mailtest_pop_line(s->line, in_capa, &s->caps, &l);
	*kindp = l.kind;
	if (textp != NULL)
		*textp = l.text;
	return 0;
}

static int
pop_auth_read(struct session *s, int exchange, enum mailtest_kind *kindp,
    const char **textp)
{
	(void)exchange;
	return pop_read(s, 0, kindp, textp);
}

/* The greeting, STLS if --starttls, and CAPA. */
static int
pop_greeting(struct session *s)
{
	enum mailtest_kind k;
	int r;

	if ((r = pop_read(s, 0, &k, NULL)) != 0)
		return r;
	if (k != MAILTEST_LINE_OK)
		return xo_err_set(&s->err, XO_E_UNAVAILABLE, "%s did not greet "
		    "us with +OK", s->host);
	if (s->mo->security == MAILTEST_SEC_STARTTLS) {
		if ((r = mt_send_line(s, "STLS", NULL)) != 0 ||
		    (r = pop_read(s, 0, &k, NULL)) != 0)
			return r;
		if (k != MAILTEST_LINE_OK)
			return xo_err_set(&s->err, XO_E_UNAVAILABLE,
			    "%s refused STLS", s->host);
		if ((r = mt_start_tls(s)) != 0)
			return r;
	}
	if ((r = mt_send_line(s, "CAPA", NULL)) != 0 ||
	    (r = pop_read(s, 0, &k, NULL)) != 0)
		return r;
	while (k == MAILTEST_LINE_OK) {
		if ((r = pop_read(s, 1, &k, NULL)) != 0)
			return r;
		if (k == MAILTEST_LINE_END)
			break;
		k = MAILTEST_LINE_OK;
	}
	return 0;
}

/* Sends LINE and reads its answer: anything but +OK fails as "logged
 * in, but LINE failed". */
static int
pop_command(struct session *s, const char *line)
{
	enum mailtest_kind k;
	int r;

	if ((r = mt_send_line(s, line, NULL)) != 0 ||
	    (r = pop_read(s, 0, &k, NULL)) != 0)
		return r;
	return k == MAILTEST_LINE_OK ? 0 : xo_err_set(&s->err, XO_E_PROTOCOL,
	    "logged in, but %s failed", line);
}

int
mt_pop(struct session *s)
{
	int r;

	/* No initial response: the seed's exchange, and POP's 255-byte
	 * command limit (RFC 5034 4) would not hold a token anyway. */
	if ((r = pop_greeting(s)) != 0 ||
	    (r = auth_exchange(s, "pop", pop_auth_read, "'+'")) != 0 ||
	    (r = pop_command(s, "STAT")) != 0)
		return r;
	snprintf(s->done, sizeof(s->done), "STAT and QUIT ok");
	return pop_command(s, "QUIT");
}

/* --- SMTP ------------------------------------------------------------------ */

/* Reads a (multi-line) reply: *CODEp is its code, *TEXTp the text of
 * its last line (valid until the next read).  EHLO: the answer to EHLO,
 * whose lines are scanned for AUTH and STARTTLS. */
static int
smtp_reply(struct session *s, int ehlo, int *codep, const char **textp)
{
	struct mailtest_line l;
	int r, first = 0;

	for (;;) {
		if ((r = mt_read_line(s)) != 0)
			return r;
		if (mailtest_smtp_line(s->line, ehlo, &s->caps, &l) != 0)
			return xo_err_set(&s->err, XO_E_PROTOCOL, "%s sent a "
			    "line that is not an SMTP reply", s->host);
		if (first != 0 && l.code != first)
			return xo_err_set(&s->err, XO_E_PROTOCOL, "%s changed "
			    "the code within a multi-line reply (%d, then %d)",
			    s->host, first, l.code);
		first = l.code;
		if (!l.more) {
			*codep = l.code;
			if (textp != NULL)
				*textp = l.text;
			return 0;
		}
	}
}

static int
smtp_auth_read(struct session *s, int exchange, enum mailtest_kind *kindp,
    const char **textp)
{
	int r, code;

	if ((r = smtp_reply(s, 0, &code, textp)) != 0)
		return r;
	*kindp = code == 334 ? MAILTEST_LINE_CONTINUE :
	    code == 235 ? MAILTEST_LINE_OK :
	    code >= 500 || exchange ? MAILTEST_LINE_NO : MAILTEST_LINE_OTHER;
	return 0;
}

/* Sends "EHLO" and reads its answer (AFTER: "" or " after STARTTLS"). */
static int
smtp_ehlo(struct session *s, const char *after)
{
	int r, code;

	if ((r = mt_send_line(s, "EHLO xoauth2-token.localhost", NULL)) != 0 ||
	    (r = smtp_reply(s, 1, &code, NULL)) != 0)
		return r;
	return code == 250 ? 0 : xo_err_set(&s->err, XO_E_PROTOCOL, "%s "
	    "refused EHLO%s", s->host, after);
}

/* The greeting, EHLO, and STARTTLS and EHLO again if --starttls. */
static int
smtp_greeting(struct session *s)
{
	int r, code;

	if ((r = smtp_reply(s, 0, &code, NULL)) != 0)
		return r;
	if (code != 220)
		return xo_err_set(&s->err, XO_E_UNAVAILABLE, "%s did not greet "
		    "us with 220", s->host);
	if ((r = smtp_ehlo(s, "")) != 0 ||
	    s->mo->security != MAILTEST_SEC_STARTTLS)
		return r;
	if ((r = mt_send_line(s, "STARTTLS", NULL)) != 0 ||
	    (r = smtp_reply(s, 0, &code, NULL)) != 0)
		return r;
	if (code != 220)
		return xo_err_set(&s->err, XO_E_UNAVAILABLE, "%s refused "
		    "STARTTLS", s->host);
	if ((r = mt_start_tls(s)) != 0)
		return r;
	return smtp_ehlo(s, " after STARTTLS");
}

/* Sends LINE and reads its answer: anything but WANT fails as "logged
 * in, but LINE failed". */
static int
smtp_command(struct session *s, const char *line, int want)
{
	int r, code;

	if ((r = mt_send_line(s, line, NULL)) != 0 ||
	    (r = smtp_reply(s, 0, &code, NULL)) != 0)
		return r;
	return code == want ? 0 : xo_err_set(&s->err, XO_E_PROTOCOL,
	    "logged in, but %s failed", line);
}

int
mt_smtp(struct session *s)
{
	int r;

	if ((r = smtp_greeting(s)) != 0 ||
	    (r = auth_exchange(s, "smtp", smtp_auth_read, "334")) != 0 ||
	    (r = smtp_command(s, "NOOP", 250)) != 0)
		return r;
	snprintf(s->done, sizeof(s->done), "NOOP and QUIT ok");
	return smtp_command(s, "QUIT", 221);
}
