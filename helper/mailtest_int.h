/*
 * mailtest_int: what the parts of `xoauth2-token test` share, and no
 * one else (mailtest.h is the module's face; each part includes both).  The parts, and the one
 * way arrows run between them (mailtest.c -> proto -> sasl, net):
 *
 *	mailtest.c		the run: options, the dialogue, the verdict
 *	mailtest_proto.c	the IMAP, POP3 and SMTP dialogues, and the
 *				classifiers of the server's lines
 *	mailtest_sasl.c		libsasl2 and our plugin: callbacks, the
 *				exchange, the client's messages masked
 *	mailtest_net.c		transport: connect, TLS, lines in and out
 *
 * Every step returns 0 or an errors.h code after filling s->err
 * (xo_err_set), whose message is the verdict's "why".
 */
#ifndef XO_MAILTEST_INT_H
#define XO_MAILTEST_INT_H

#include <stddef.h>

#include <openssl/ssl.h>
#include <sasl/sasl.h>

#include "mailtest_lines.h"
#include "xo_err.h"

struct mailtest_options;

#define MAILTEST_LINE_MAX	(64 * 1024)	/* longest server line we accept */
#define MAILTEST_SASL_OUT_MAX	(96 * 1024)	/* base64 of the plugin's output */

/* One test: the options, the connection, the SASL exchange and what
 * the verdict will say. */
struct session {
	const struct mailtest_options *mo;
	const char	*who;
	const char	*path;		/* token file: the SASL password */
	const char	*user;
	char		 host[256];	/* without brackets */
	char		 port[8];
	int		 fd;
	SSL_CTX		*ctx;
	SSL		*ssl;
	char		*in;		/* MAILTEST_LINE_MAX + 1 bytes */
	size_t		 inlen;		/* bytes in the buffer */
	char		*line;		/* the last line read, in its own copy */
	sasl_conn_t	*sasl;
	sasl_secret_t	*secret;	/* the path, as libsasl2 wants it */
	const char	*mech;		/* chosen */
	int		 offered;	/* the server listed mech */
	struct mailtest_caps caps;	/* what the server offers */
	struct xo_err	 err;		/* the verdict's "why" */
	char		 reply[512];	/* the server's refusal, as received */
	char		 done[128];	/* what worked after login */
	char		 shown[300];	/* the client's SASL message, masked */
};

/* mailtest_net.c: the connection. */

/* Prints "S: LINE" or "C: LINE", made printable. */
void mt_show(char who, const char *line);
/* Splits SERVER into s->host and s->port (DEFPORT if none).  Returns 0
 * or XO_E_USAGE. */
int mt_parse_server(struct session *s, const char *server,
    const char *defport);
/* Connects to s->host, s->port. */
int mt_conn_open(struct session *s);
/* TLS on the open connection, the certificate verified. */
int mt_conn_tls(struct session *s);
/* TLS after the server's go-ahead to STARTTLS (or STLS); forgets what
 * the server said before. */
int mt_start_tls(struct session *s);
/* Sends LINE + CRLF, showing SHOWN (NULL: LINE itself). */
int mt_send_line(struct session *s, const char *line, const char *shown);
/* Reads one line (without its CR LF) into s->line and shows it. */
int mt_read_line(struct session *s);
/* Ends TLS and closes the connection.  Accepts a closed one. */
void mt_conn_close(struct session *s);

/* mailtest_proto.c: the dialogues, each up to its clean logout. */
int mt_imap(struct session *s);
int mt_pop(struct session *s);
int mt_smtp(struct session *s);

/* mailtest_sasl.c: the SASL exchange through libsasl2 and our plugin. */

/* Picks s->mech: --mech, else what the server offers. */
void mt_choose_mech(struct session *s);
/* A libsasl2 client connection for SERVICE ("imap", "pop", "smtp"). */
int mt_sasl_setup(struct session *s, const char *service);
/* Starts the exchange: *B64p is the base64 of the plugin's first
 * message (wipe and free it with mt_b64_free); s->shown its mask. */
int mt_sasl_first(struct session *s, char **b64p);
/* Answers the server's challenge (base64 CHALLENGE) on one line. */
int mt_sasl_answer(struct session *s, const char *challenge);
/* The server said no (s->line): the verdict, with what the plugin
 * learnt.  Returns XO_E_REFUSED. */
int mt_refused(struct session *s);
/* Prints the length of the SMTP AUTH line a client sending B64 (the
 * base64 of the plugin's first message) as its initial response sends
 * (sendmail, postfix), with a warning above sendmail's limit. */
void mt_sasl_line_note(const struct session *s, const char *b64);

/* Wipes and frees what mt_sasl_first made.  Accepts NULL. */
void mt_b64_free(char *b64);
/* Ends the SASL connection and libsasl2; wipes the secret. */
void mt_sasl_done(struct session *s);

#endif
