/*
 * mailtest_sasl: `xoauth2-token test`'s side of SASL, through libsasl2
 * and our plugin only (the path postfix and mbsync take).
 *
 * The token never passes through here: libsasl2 hands the plugin the
 * token file's path (our SASL "password"), and the plugin reads the
 * token, refreshing it through the helper if it is due.  What we see of
 * it is the plugin's output, which we send base64-encoded and show only
 * masked (the wire format read by payload.c, where it is built).  An
 * error challenge is shown decoded too.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <netdb.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sasl/sasl.h>
#include <sasl/saslutil.h>

#include "errors.h"
#include "mailtest.h"
#include "mailtest_int.h"
#include "payload.h"
#include "xo_err.h"
#include "xo_util.h"

/* Describes a client SASL message (the plugin's output) in SHOWN,
 * masked: its user part, and the token never. */
static void
mask_sasl_out(char *shown, size_t size, const char *out, unsigned outlen)
{
	struct xo_payload_span sp;
	char user[200] = "";
	size_t n;

	if (outlen == 0) {
		snprintf(shown, size, "(empty response)");
		return;
	}
	if (outlen == 1 && out[0] == '\001') {
		snprintf(shown, size, "AQ== (OAUTHBEARER: ^A, ending the failed "
		    "exchange)");
		return;
	}
	/* XOAUTH2 "user=U\1auth=...", OAUTHBEARER "n,a=U,\1..." */
	if (xo_payload_parse(out, outlen, &sp) == 0) {
		n = sp.userlen < sizeof(user) ? sp.userlen : sizeof(user) - 1;
		memcpy(user, out + sp.user, n);
		user[n] = '\0';
		xo_printable_utf8(user);
	}
	snprintf(shown, size, "[base64 of %u bytes, masked: user %s, "
	    "auth=Bearer ***]", outlen, user[0] ? user : "(not shown)");
}


static int
cb_getpath(void *context, const char **path)
{
	*path = context;
	return SASL_OK;
}

/* Only our plugin: Debian's libsasl2-modules-kdexoauth2 offers XOAUTH2
 * too, and which one libsasl2 would pick is not defined. */
static int
cb_verifyfile(void *context, const char *file, sasl_verify_type_t type)
{
	const char *base = strrchr(file, '/');

	(void)context;
	if (type != SASL_VRFY_PLUGIN)
		return SASL_OK;
	base = base != NULL ? base + 1 : file;
	return strncmp(base, "libxoauth2.", 11) == 0 ? SASL_OK : SASL_CONTINUE;
}

static int
cb_log(void *context, int level, const char *message)
{
	(void)context;
	if (level <= SASL_LOG_NOTE && message != NULL)
		printf("   (sasl: %s)\n", message);
	return SASL_OK;
}

static int
cb_simple(void *context, int id, const char **result, unsigned *len)
{
	struct session *s = context;

	*result = id == SASL_CB_USER ?
	    (s->mo->authzid != NULL ? s->mo->authzid : "") : s->user;
	if (len != NULL)
		*len = (unsigned)strlen(*result);
	return SASL_OK;
}

static int
cb_pass(sasl_conn_t *conn, void *context, int id, sasl_secret_t **psecret)
{
	struct session *s = context;

	(void)conn;
	(void)id;
	*psecret = s->secret;
	return SASL_OK;
}

static int sasl_ready;

int
mt_sasl_setup(struct session *s, const char *service)
{
	static sasl_callback_t global[4];
	sasl_callback_t *cb;
	char local[NI_MAXHOST + NI_MAXSERV + 2] = "";
	char remote[NI_MAXHOST + NI_MAXSERV + 2] = "";
	char h[NI_MAXHOST], p[NI_MAXSERV];
	struct sockaddr_storage ss;
	socklen_t len;
	size_t n = strlen(s->path);
	int r;
	/* Per connection: ours, alive as long as s->sasl. */
	static sasl_callback_t conn_cbs[4];

	if (!sasl_ready) {
		cb = global;
		if (s->mo->plugin_dir != NULL) {
			cb->id = SASL_CB_GETPATH;
			cb->proc = (int (*)(void))(void *)cb_getpath;
			cb->context = (void *)(uintptr_t)s->mo->plugin_dir;
			cb++;
		}
		cb->id = SASL_CB_VERIFYFILE;
		cb->proc = (int (*)(void))(void *)cb_verifyfile;
		cb->context = NULL;
		cb++;
		cb->id = SASL_CB_LOG;
		cb->proc = (int (*)(void))(void *)cb_log;
		cb->context = NULL;
		cb++;
		cb->id = SASL_CB_LIST_END;
		if ((r = sasl_client_init(global)) != SASL_OK)
			return xo_err_set(&s->err, XO_E_SOFTWARE,
			    "cannot initialise libsasl2: %s",
			    sasl_errstring(r, NULL, NULL));
		sasl_ready = 1;
	}
	if ((s->secret = malloc(sizeof(*s->secret) + n)) == NULL)
		return xo_err_set(&s->err, XO_E_OSERR, "out of memory");
	s->secret->len = n;
	memcpy(s->secret->data, s->path, n + 1);

	len = sizeof(ss);
	if (getsockname(s->fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), p, sizeof(p),
	    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(local, sizeof(local), "%s;%s", h, p);
	len = sizeof(ss);
	if (getpeername(s->fd, (struct sockaddr *)&ss, &len) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, len, h, sizeof(h), p, sizeof(p),
	    NI_NUMERICHOST | NI_NUMERICSERV) == 0)
		snprintf(remote, sizeof(remote), "%s;%s", h, p);

	conn_cbs[0].id = SASL_CB_AUTHNAME;
	conn_cbs[0].proc = (int (*)(void))(void *)cb_simple;
	conn_cbs[0].context = s;
	conn_cbs[1].id = SASL_CB_USER;
	conn_cbs[1].proc = (int (*)(void))(void *)cb_simple;
	conn_cbs[1].context = s;
	conn_cbs[2].id = SASL_CB_PASS;
	conn_cbs[2].proc = (int (*)(void))(void *)cb_pass;
	conn_cbs[2].context = s;
	conn_cbs[3].id = SASL_CB_LIST_END;
	if ((r = sasl_client_new(service, s->host, local[0] ? local : NULL,
	    remote[0] ? remote : NULL, conn_cbs, 0, &s->sasl)) != SASL_OK)
		return xo_err_set(&s->err, XO_E_SOFTWARE, "libsasl2: %s",
		    sasl_errstring(r, NULL, NULL));
	return 0;
}

/* Picks the mechanism: --mech, else XOAUTH2 if offered, else OAUTHBEARER
 * if offered, else XOAUTH2. */
void
mt_choose_mech(struct session *s)
{
	if (s->mo->mech != NULL)
		s->mech = s->mo->mech;
	else if (strstr(s->caps.mechs, " XOAUTH2 ") != NULL)
		s->mech = "XOAUTH2";
	else if (strstr(s->caps.mechs, " OAUTHBEARER ") != NULL)
		s->mech = "OAUTHBEARER";
	else
		s->mech = "XOAUTH2";
	s->offered = strstr(s->caps.mechs, s->mech) != NULL;
	if (!s->offered)
		printf("   note: the server does not list %s among its "
		    "mechanisms (%s); trying it anyway\n", s->mech,
		    s->caps.mechs[0] ? s->caps.mechs + 1 : "none");
}

/* Starts the exchange: *B64p is the base64 of the plugin's first
 * message (a new string, the caller wipes and frees it). */
int
mt_sasl_first(struct session *s, char **b64p)
{
	sasl_interact_t *prompts = NULL;
	const char *out = NULL, *chosen = NULL;
	unsigned outlen = 0, b64len = 0;
	char *b64;
	int r;

	*b64p = NULL;
	r = sasl_client_start(s->sasl, s->mech, &prompts, &out, &outlen, &chosen);
	if (r == SASL_NOMECH)
		return xo_err_set(&s->err, XO_E_CONFIG, "libsasl2 has no %s "
		    "mechanism: libxoauth2.so is not in %s; give its "
		    "directory with --plugin-dir DIR", s->mech,
		    s->mo->plugin_dir != NULL ? s->mo->plugin_dir :
		    getenv("SASL_PATH") != NULL ? "$SASL_PATH" :
		    "libsasl2's plugin directory");
	if (r != SASL_OK && r != SASL_CONTINUE)
		return xo_err_set(&s->err, XO_E_REFUSED, "%s",
		    sasl_errdetail(s->sasl));
	if ((b64 = malloc(MAILTEST_SASL_OUT_MAX)) == NULL)
		return xo_err_set(&s->err, XO_E_OSERR, "out of memory");
	if (sasl_encode64(out, outlen, b64, MAILTEST_SASL_OUT_MAX, &b64len) != SASL_OK) {
		free(b64);
		return xo_err_set(&s->err, XO_E_SOFTWARE,
		    "the plugin's message is too long");
	}
	mask_sasl_out(s->shown, sizeof(s->shown), out, outlen);
	*b64p = b64;
	return 0;
}

/* sendmail's longest SMTP command: its buffer holds 2048 bytes with the
 * NUL, and a longer AUTH line is cut (see doc/recipes/sendmail.md). */
#define MT_SENDMAIL_CMD_MAX	2047

void
mt_sasl_line_note(const struct session *s, const char *b64)
{
	size_t n = strlen("AUTH ") + strlen(s->mech) + 1 + strlen(b64);

	printf("   note: a client sending the initial response with AUTH "
	    "(sendmail, postfix) sends a line of %zu characters\n", n);
	if (n > MT_SENDMAIL_CMD_MAX)
		printf("   warning: over sendmail's limit of %d characters: "
		    "sendmail cuts the line and the server refuses the login; "
		    "relay through postfix, see doc/recipes/sendmail.md\n",
		    MT_SENDMAIL_CMD_MAX);
}

/* Answers the server's challenge (base64 CHALLENGE) with the plugin's
 * response, sent as one base64 line. */
int
mt_sasl_answer(struct session *s, const char *challenge)
{
	const char *out = NULL;
	unsigned inlen = 0, outlen = 0, b64len = 0;
	size_t clen = strlen(challenge);
	char *in = NULL, *b64 = NULL;
	int r, status;

	if ((in = malloc(clen + 1)) == NULL ||
	    (b64 = malloc(MAILTEST_SASL_OUT_MAX)) == NULL) {
		status = xo_err_set(&s->err, XO_E_OSERR, "out of memory");
		goto out;
	}
	if (sasl_decode64(challenge, (unsigned)clen, in, (unsigned)clen + 1,
	    &inlen) != SASL_OK) {
		status = xo_err_set(&s->err, XO_E_PROTOCOL,
		    "the server's challenge is not base64");
		goto out;
	}
	in[inlen] = '\0';
	if (inlen > 0 && !xo_has_ctl(in, inlen)) {
		char *shown = strdup(in);

		if (shown != NULL) {
			xo_printable_utf8(shown);
			printf("   (challenge decoded: %s)\n", shown);
			free(shown);
		}
	}
	r = sasl_client_step(s->sasl, in, inlen, NULL, &out, &outlen);
	if (r != SASL_OK && r != SASL_CONTINUE) {
		status = xo_err_set(&s->err, XO_E_PROTOCOL, "%s",
		    sasl_errdetail(s->sasl));
		goto out;
	}
	if (sasl_encode64(out != NULL ? out : "", outlen, b64, MAILTEST_SASL_OUT_MAX,
	    &b64len) != SASL_OK) {
		status = xo_err_set(&s->err, XO_E_SOFTWARE,
		    "the plugin's answer is too long");
		goto out;
	}
	mask_sasl_out(s->shown, sizeof(s->shown), out, outlen);
	status = mt_send_line(s, b64, s->shown);
 out:
	xo_freezero(b64, MAILTEST_SASL_OUT_MAX);
	free(in);
	return status;
}

/* The server said no: the verdict, with what the plugin learnt. */
int
mt_refused(struct session *s)
{
	const char *detail = sasl_errdetail(s->sasl);

	/* Drop libsasl2's prefix: "SASL(-1): generic failure: ". */
	if (detail != NULL && strncmp(detail, "SASL(", 5) == 0 &&
	    strstr(detail, "): ") != NULL) {
		detail = strstr(detail, "): ") + 3;
		if (strstr(detail, ": ") != NULL &&
		    strncmp(detail, "generic failure: ", 17) == 0)
			detail += 17;
	}
	/* The plugin names the mechanism itself: "XOAUTH2: ...". */
	if (detail != NULL && strncmp(detail, s->mech, strlen(s->mech)) == 0 &&
	    strncmp(detail + strlen(s->mech), ": ", 2) == 0)
		detail += strlen(s->mech) + 2;
	snprintf(s->reply, sizeof(s->reply), "%s", s->line);
	return xo_err_set(&s->err, XO_E_REFUSED,
	    "%s refused the login as %s with %s%s%s", s->host, s->user, s->mech,
	    detail != NULL && *detail ? ": " : "",
	    detail != NULL ? detail : "");
}

void
mt_b64_free(char *b64)
{
	xo_freezero(b64, MAILTEST_SASL_OUT_MAX);
}


void
mt_sasl_done(struct session *s)
{
	if (s->sasl != NULL)
		sasl_dispose(&s->sasl);
	if (sasl_ready) {
		sasl_client_done();
		sasl_ready = 0;
	}
	if (s->secret != NULL) {
		xo_wipe(s->secret->data, s->secret->len);
		free(s->secret);
		s->secret = NULL;
	}
}
