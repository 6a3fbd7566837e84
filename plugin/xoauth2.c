/*
 * libxoauth2: Cyrus SASL client mechanisms XOAUTH2 and OAUTHBEARER
 * (RFC 7628), which send an OAuth 2.0 bearer token to IMAP, POP and SMTP
 * servers such as Microsoft 365, Outlook.com, Gmail and Dovecot.
 *
 * This file is loaded into every process that uses libsasl2, so it keeps
 * to the plugin's manners: memory through utils->malloc/free, messages
 * only through message.h (formatted by us, never with a token), no
 * global state that changes, no exit or abort, secrets wiped before free.
 *
 * An exchange has three steps:
 *   START  gather the user and token (prompt results first, then the
 *          application's callbacks; if anything is missing, ask for it
 *          with SASL_INTERACT), send the client's initial message;
 *   SENT   an empty challenge means the server accepted us; a non-empty
 *          one is the server's JSON error, which we report and answer as
 *          the specifications require (XOAUTH2: empty; OAUTHBEARER: \x01)
 *          so that the server ends the exchange with its NO / 535;
 *   FAILED / DONE  any further step is a protocol error.
 *
 * How START ends depends on the protocol, because libsasl2's clients
 * disagree and the mechanism cannot know the outcome when it returns:
 *   SMTP, POP  SASL_OK with the message, oparams->doneflag left 0.  nmh's
 *          post and inc read the server's outcome next after SASL_OK, and
 *          after SASL_CONTINUE take the 235 / +OK for a challenge and
 *          abort ("Improper SASL protocol response: 235").  libsasl2
 *          (lib/client.c, sasl_client_step) refuses a step only once
 *          doneflag is set ("attempting client step after doneflag"), so
 *          a client that steps us again with the server's error challenge
 *          (postfix, sendmail, smtptest, pop3test) still gets its answer.
 *   others (IMAP)  SASL_CONTINUE, as before: mbsync refuses to step after
 *          SASL_OK ("IMAP wants more steps despite successful SASL
 *          authentication") and then hangs until the server gives up, so
 *          it needs "continue" to answer an error challenge; no IMAP
 *          client on libsasl2 we know of minds a "continue".
 * Either way a success is the empty challenge (SENT) or no step at all.
 */
#include "config.h"

#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "payload.h"
#include "tokenfile.h"
#include "xo_util.h"
#include "message.h"	/* last: it forbids direct calls to libsasl2's formatters */

#define XO_EXPORT __attribute__((visibility("default")))

/* Longest user name and token we accept; real ones are far shorter
 * (Microsoft's access tokens are about 2-3 KiB). */
#define XO_USER_MAX	1024
#define XO_TOKEN_MAX	(64 * 1024)
#define XO_HOST_MAX	255	/* RFC 1035: a host name is at most 255 bytes */

/*
 * The mechanisms, one row each: what differs between them.  Adding a
 * mechanism is a row here, its builder in payload.c and its line in
 * xo_plugins below (which takes the name and glob_context from the row).
 */
struct xo_mech {
	char		 name[16];	/* SASL name, and our messages' prefix */
	xo_payload_builder *build;	/* the client's message (payload.h) */
	int		 sends_host;	/* it carries host=: check the name */
	const char	*abort;		/* the answer to an error challenge */
	unsigned	 abortlen;
};

static const struct xo_mech xo_mechs[] = {
	{
		.name = "XOAUTH2",
		.build = xo_payload_build_xoauth2,
		.sends_host = 0,
		.abort = "",		/* Google: an empty response */
		.abortlen = 0,
	},
	{
		.name = "OAUTHBEARER",
		.build = xo_payload_build_oauthbearer,
		.sends_host = 1,
		.abort = "\001",	/* RFC 7628 3.2.3: a dummy \x01 */
		.abortlen = 1,
	},
};

/* The services (libsasl2's first argument to sasl_client_new) whose
 * exchange ends with SASL_OK after our message: see the top of the file. */
static const char *const xo_done_services[] = {
	"smtp",		/* postfix, sendmail, nmh's post, smtptest */
	"submission",
	"pop",		/* nmh's inc, pop3test */
	"pop3",
};

enum xo_state { XO_START, XO_SENT, XO_FAILED, XO_DONE };

struct xo_ctx {
	const struct xo_mech *mech;
	enum xo_state	 state;
	char		*out;		/* our last message; holds the token */
	size_t		 outlen;
	char		 who[128];	/* printable user name, for messages */
	char		*tokpath;	/* token file the token came from, or NULL */
	char		*token;		/* the token read from it (secret) */
};

/* What the application gave us for one exchange.  Pointers belong to the
 * application (callback results, prompt results) and are valid only
 * during this step. */
struct xo_creds {
	const char	*authname;
	unsigned	 authnamelen;
	const char	*authzid;
	unsigned	 authzidlen;
	const char	*secret;
	size_t		 secretlen;
};

/* Words for a libsasl2 result code.  (The plugin does not link libsasl2,
 * so sasl_errstring is not ours to call.) */
static const char *
sasl_reason(int r)
{
	switch (r) {
	case SASL_NOMEM:	return "out of memory";
	case SASL_BADPARAM:	return "invalid parameter";
	case SASL_NOUSER:	return "user not found";
	case SASL_BADPROT:	return "protocol error";
	case SASL_FAIL:		return "the application's callback failed";
	default:		return "libsasl2 error";
	}
}

static void
out_free(struct xo_ctx *ctx, const sasl_utils_t *utils)
{
	if (ctx->out != NULL) {
		xo_wipe(ctx->out, ctx->outlen + 1);
		utils->free(ctx->out);
	}
	ctx->out = NULL;
	ctx->outlen = 0;
}

static int
xo_new(void *glob_context, sasl_client_params_t *params, void **conn_context)
{
	const sasl_utils_t *utils = params->utils;
	const struct xo_mech *mech = glob_context;
	struct xo_ctx *ctx;

	*conn_context = NULL;
	/* libsasl2 normally filters us out already; say why if it did not. */
	if (params->props.min_ssf > params->external_ssf) {
		xo_msg_error(utils, 0, "%s: the application requires "
		    "a security layer of strength %u, which OAuth bearer "
		    "mechanisms do not provide (connection strength %u); use "
		    "TLS or lower the required SSF", mech->name,
		    params->props.min_ssf, params->external_ssf);
		return SASL_TOOWEAK;
	}
	if ((ctx = utils->malloc(sizeof(*ctx))) == NULL) {
		xo_msg_error(utils, 0, "%s: out of memory", mech->name);
		return SASL_NOMEM;
	}
	memset(ctx, 0, sizeof(*ctx));
	ctx->mech = mech;
	ctx->state = XO_START;
	*conn_context = ctx;
	return SASL_OK;
}

/* Where the value ID comes from: the prompt the application filled in
 * (returns SASL_OK with *RESp and *LENp set from it), else its callback
 * (returns SASL_CONTINUE with *PROCp and *CONTEXTp, for the caller to
 * call), else nowhere (SASL_INTERACT: ask for it); or an error. */
static int
find_value(const sasl_utils_t *utils, const sasl_interact_t *prompts,
    unsigned long id, const char **res, size_t *len, sasl_callback_ft *procp,
    void **contextp)
{
	int r;

	*res = NULL;
	*len = 0;
	*procp = NULL;
	*contextp = NULL;
	for (; prompts != NULL && prompts->id != SASL_CB_LIST_END; prompts++)
		if (prompts->id == id && prompts->result != NULL) {
			*res = prompts->result;
			*len = prompts->len;
			return SASL_OK;
		}
	r = utils->getcallback(utils->conn, id, procp, contextp);
	if (r != SASL_OK)
		return r;
	return *procp == NULL ? SASL_INTERACT : SASL_CONTINUE;
}

/* Gets the simple value ID (user or authentication name): prompt result
 * first, then the application's callback.  Returns SASL_OK, SASL_INTERACT
 * if it must be asked for, or an error. */
static int
get_simple(const sasl_utils_t *utils, const sasl_interact_t *prompts,
    unsigned long id, const char **res, unsigned *len)
{
	sasl_callback_ft proc;
	void *context;
	size_t n;
	int r;

	r = find_value(utils, prompts, id, res, &n, &proc, &context);
	*len = (unsigned)n;
	if (r != SASL_CONTINUE)
		return r;
	r = ((sasl_getsimple_t *)(void *)proc)(context, (int)id, res, len);
	if (r == SASL_OK && *res == NULL)
		*len = 0;
	else if (r == SASL_OK && *len == 0)
		*len = (unsigned)strlen(*res);
	return r;
}

/* Gets the secret: prompt result first, then a sasl_getsecret_t callback.
 * The sasl_secret_t stays the application's; we only read it. */
static int
get_secret(const sasl_utils_t *utils, const sasl_interact_t *prompts,
    const char **res, size_t *len)
{
	sasl_callback_ft proc;
	sasl_secret_t *secret = NULL;
	void *context;
	int r;

	r = find_value(utils, prompts, SASL_CB_PASS, res, len, &proc, &context);
	if (r != SASL_CONTINUE)
		return r;
	r = ((sasl_getsecret_t *)(void *)proc)(utils->conn, context,
	    SASL_CB_PASS, &secret);
	if (r != SASL_OK)
		return r;
	if (secret == NULL)
		return SASL_INTERACT;
	/* check_value refuses one that is too long, saying how long. */
	*res = (const char *)secret->data;
	*len = secret->len;
	return SASL_OK;
}

/* Builds the prompts for what is missing, in the order the application
 * will show them.  Returns SASL_INTERACT, or SASL_NOMEM. */
static int
make_prompts(const sasl_utils_t *utils, const char *mech,
    sasl_interact_t **prompt_need, int need_authname, int need_authzid,
    int need_secret)
{
	sasl_interact_t *prompts, *p;
	size_t n = 1 + (need_authname != 0) + (need_authzid != 0) +
	    (need_secret != 0);

	if ((prompts = utils->malloc(n * sizeof(*prompts))) == NULL) {
		xo_msg_error(utils, 0, "%s: out of memory", mech);
		return SASL_NOMEM;
	}
	memset(prompts, 0, n * sizeof(*prompts));
	p = prompts;
	if (need_authzid) {
		p->id = SASL_CB_USER;
		p->challenge = "Authorization Name";
		p->prompt = "Mailbox to log in to (empty for your own)";
		p++;
	}
	if (need_authname) {
		p->id = SASL_CB_AUTHNAME;
		p->challenge = "Authentication Name";
		p->prompt = "User name (e-mail address)";
		p++;
	}
	if (need_secret) {
		p->id = SASL_CB_PASS;
		p->challenge = "OAuth 2.0 access token";
		p->prompt = "Access token";
		p++;
	}
	p->id = SASL_CB_LIST_END;
	*prompt_need = prompts;
	return SASL_INTERACT;
}

/* Checks one value for the wire: not empty (if REQUIRED), no control
 * characters, not absurdly long.  Sets an error and returns SASL_BADPARAM
 * if it fails. */
static int
check_value(const sasl_utils_t *utils, const char *mech, const char *what,
    const char *s, size_t len, size_t max, int required)
{
	if (required && len == 0) {
		xo_msg_error(utils, 0, "%s: the %s is empty", mech, what);
		return SASL_BADPARAM;
	}
	if (len > max) {
		xo_msg_error(utils, 0, "%s: the %s is too long "
		    "(%zu bytes, at most %zu)", mech, what, len, max);
		return SASL_BADPARAM;
	}
	if (xo_has_ctl(s, len)) {	/* NUL included */
		xo_msg_error(utils, 0, "%s: the %s contains a control "
		    "character (a stray newline from a password command?); "
		    "remove it", mech, what);
		return SASL_BADPARAM;
	}
	return SASL_OK;
}

/* Checks the server's host name, which OAUTHBEARER sends as host=: a
 * control character would end the field (\x01) or forge another. */
static int
check_host(const sasl_utils_t *utils, const char *mech, const char *host)
{
	size_t n;

	if (host == NULL)
		return SASL_OK;
	n = strlen(host);
	if (n > XO_HOST_MAX) {
		xo_msg_error(utils, 0, "%s: the server host name the application "
		    "gave is too long (%zu bytes, at most %d); check the server "
		    "name in its configuration", mech, n, XO_HOST_MAX);
		return SASL_BADPARAM;
	}
	if (xo_has_ctl(host, n)) {
		xo_msg_error(utils, 0, "%s: the server host name the application "
		    "gave contains a control character; check the server name "
		    "in its configuration", mech);
		return SASL_BADPARAM;
	}
	return SASL_OK;
}

/* Copies LEN bytes at S into a NUL-terminated string from utils->malloc.
 * The caller wipes and frees it. */
static char *
dup_len(const sasl_utils_t *utils, const char *s, size_t len)
{
	char *d;

	if ((d = utils->malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static void
secret_free(const sasl_utils_t *utils, char *s)
{
	if (s == NULL)
		return;
	xo_wipe(s, strlen(s));
	utils->free(s);
}

/* Takes the token from the token file that the secret TOKEN names (an
 * absolute path ending in ".json"), keeping the path in ctx->tokpath and
 * the token in ctx->token; a secret that names none is the token, and
 * stays where it is.  Returns SASL_OK, or an error after its message. */
static int
take_token(struct xo_ctx *ctx, const sasl_utils_t *utils, char **tokenp)
{
	char *token = NULL;
	int r;

	/* tokfile_parse has refused empty values and control characters. */
	if (!xo_is_token_file(utils, *tokenp))
		return SASL_OK;
	if (ctx->tokpath != NULL)
		utils->free(ctx->tokpath);
	ctx->tokpath = *tokenp;
	*tokenp = NULL;
	if ((r = xo_token_from_file(utils, ctx->mech->name, ctx->tokpath,
	    &token)) != SASL_OK)
		return r;
	/* Kept: if the server rejects it, the file is marked stale only if
	 * it still holds this token. */
	secret_free(utils, ctx->token);
	ctx->token = token;
	return SASL_OK;
}

/* Builds our initial message into ctx->out, with the mechanism's
 * builder. */
static int
build_message(struct xo_ctx *ctx, sasl_client_params_t *params,
    const struct xo_creds *c)
{
	const sasl_utils_t *utils = params->utils;
	char *authname = NULL, *authzid = NULL, *token = NULL;
	struct xo_payload_args a;
	char port[8];
	size_t n;
	int r;

	if ((authname = dup_len(utils, c->authname, c->authnamelen)) == NULL ||
	    (authzid = dup_len(utils, c->authzid, c->authzidlen)) == NULL ||
	    (token = dup_len(utils, c->secret, c->secretlen)) == NULL)
		goto nomem;
	if ((r = take_token(ctx, utils, &token)) != SASL_OK)
		goto out;
	/* Who we log in as: the authzid if given (a shared mailbox is
	 * reached with the delegate's token and the mailbox's address in
	 * XOAUTH2's user=), else ourselves (OAUTHBEARER's gs2 a=: Dovecot
	 * refuses "n,," with "Missing username"; Gmail documents a=USER). */
	a.user = *authzid != '\0' ? authzid : authname;
	a.host = params->serverFQDN;
	if (xo_port_from_ipport(params->ipremoteport, port, sizeof(port)) != 0)
		port[0] = '\0';
	a.port = port;
	a.token = ctx->token != NULL ? ctx->token : token;
	n = ctx->mech->build(NULL, 0, &a);
	if ((ctx->out = utils->malloc(n + 1)) == NULL)
		goto nomem;
	ctx->outlen = n;
	ctx->mech->build(ctx->out, n + 1, &a);
	r = SASL_OK;
	goto out;
 nomem:
	xo_msg_error(utils, 0, "%s: out of memory", ctx->mech->name);
	r = SASL_NOMEM;
 out:
	secret_free(utils, authname);
	secret_free(utils, authzid);
	secret_free(utils, token);
	return r;
}

/* Tells libsasl2 who we are.  The authzid is the identity we act as
 * (a shared mailbox); without one we act as ourselves. */
static int
set_identity(struct xo_ctx *ctx, sasl_client_params_t *params,
    const struct xo_creds *c, sasl_out_params_t *oparams)
{
	const sasl_utils_t *utils = params->utils;
	const char *which = "user name";
	int r;

	if (c->authzidlen > 0) {
		which = "authorization id (mailbox)";
		r = params->canon_user(utils->conn, c->authzid, c->authzidlen,
		    SASL_CU_AUTHZID, oparams);
		if (r == SASL_OK) {
			which = "user name";
			r = params->canon_user(utils->conn, c->authname,
			    c->authnamelen, SASL_CU_AUTHID, oparams);
		}
	} else
		r = params->canon_user(utils->conn, c->authname,
		    c->authnamelen, SASL_CU_AUTHID | SASL_CU_AUTHZID, oparams);
	/* libsasl2's canonicalisation refuses, say, a name of blanks. */
	if (r != SASL_OK)
		xo_msg_error(utils, 0, "%s: the %s was not accepted by libsasl2 "
		    "(%s); check that it is not blank or malformed",
		    ctx->mech->name, which, r == SASL_FAIL ?
		    "refused" : sasl_reason(r));
	return r;
}

/* The command that shows why the server said no, and what to change
 * (the helper maps Exchange's bare refusals to their fix): "xoauth2-token
 * test FILE --smtp HOST", FILE the token file if the token came from one.
 * Returns BUF (of SIZE bytes). */
static const char *
test_command(const struct xo_ctx *ctx, const sasl_client_params_t *params,
    char *buf, size_t size)
{
	char file[XO_MSG_VALUE_MAX], host[XO_MSG_VALUE_MAX];
	const char *svc = params->service != NULL ? params->service : "";

	snprintf(buf, size, "xoauth2-token test %s %s %s", ctx->tokpath != NULL ?
	    xo_msg_value(file, sizeof(file), ctx->tokpath) : "ACCOUNT",
	    strcmp(svc, "smtp") == 0 || strcmp(svc, "submission") == 0 ?
	    "--smtp" : strcmp(svc, "imap") == 0 ? "--imap" :
	    strncmp(svc, "pop", 3) == 0 ? "--pop" : "--imap|--pop|--smtp",
	    params->serverFQDN != NULL && *params->serverFQDN != '\0' ?
	    xo_msg_value(host, sizeof(host), params->serverFQDN) : "HOST");
	return buf;
}

/* Frees the prompts of the previous round, whose results are in use
 * only until this step is done with them. */
static void
prompts_free(const sasl_utils_t *utils, sasl_interact_t **prompt_need)
{
	if (prompt_need != NULL && *prompt_need != NULL) {
		utils->free(*prompt_need);
		*prompt_need = NULL;
	}
}

/* Gathers the user name, authorization id and token into C: prompt
 * results first, then the application's callbacks.  Returns SASL_OK, or
 * SASL_INTERACT with new prompts in *PROMPT_NEED for what is missing, or
 * an error after its message. */
static int
get_creds(struct xo_ctx *ctx, const sasl_utils_t *utils,
    sasl_interact_t **prompt_need, struct xo_creds *c)
{
	const sasl_interact_t *prompts = prompt_need ? *prompt_need : NULL;
	const char *mech = ctx->mech->name;
	int r_authname, r_authzid, r_secret;

	memset(c, 0, sizeof(*c));
	r_authname = get_simple(utils, prompts, SASL_CB_AUTHNAME,
	    &c->authname, &c->authnamelen);
	r_authzid = get_simple(utils, prompts, SASL_CB_USER,
	    &c->authzid, &c->authzidlen);
	r_secret = get_secret(utils, prompts, &c->secret, &c->secretlen);
	/* An application that names only the authorization id (Perl's
	 * Authen::SASL::XS/Cyrus given just `user`) and has no
	 * authentication name to give, nor a way to ask for one, logs in
	 * as that name: it is the name the message carries either way
	 * (user=, a=), and libsasl2's stand-in for the missing callback
	 * fails wherever $USER is unset (cron, daemons).  It becomes our
	 * own identity, authentication and authorization id alike. */
	if (r_authname != SASL_OK && (r_authname != SASL_INTERACT ||
	    prompt_need == NULL) && r_authzid == SASL_OK &&
	    c->authzid != NULL && c->authzidlen > 0) {
		c->authname = c->authzid;
		c->authnamelen = c->authzidlen;
		c->authzid = NULL;
		c->authzidlen = 0;
		r_authname = SASL_OK;
	}
	if (r_authname != SASL_OK && r_authname != SASL_INTERACT) {
		xo_msg_error(utils, 0, "%s: cannot get the user name "
		    "from the application (%s)", mech, sasl_reason(r_authname));
		return r_authname;
	}
	if (r_secret != SASL_OK && r_secret != SASL_INTERACT) {
		xo_msg_error(utils, 0, "%s: cannot get the access "
		    "token from the application (%s)", mech,
		    sasl_reason(r_secret));
		return r_secret;
	}
	/* The authorization id is optional: an application that cannot
	 * supply one simply has none. */
	if (r_authzid != SASL_OK && r_authzid != SASL_INTERACT) {
		c->authzid = NULL;
		r_authzid = SASL_OK;
	}
	if (c->authzid == NULL)
		c->authzidlen = 0;
	if (r_authname != SASL_INTERACT && r_authzid != SASL_INTERACT &&
	    r_secret != SASL_INTERACT)
		return SASL_OK;
	prompts_free(utils, prompt_need);
	if (prompt_need == NULL) {
		xo_msg_error(utils, 0, "%s: the application gave no %s and "
		    "cannot be asked for it", mech, r_secret == SASL_INTERACT ?
		    "access token" : "user name");
		return SASL_BADPARAM;
	}
	return make_prompts(utils, mech, prompt_need,
	    r_authname == SASL_INTERACT, r_authzid == SASL_INTERACT,
	    r_secret == SASL_INTERACT);
}

/* Checks what C holds for the wire (and the server's name, if the
 * mechanism sends it), then tells libsasl2 who we are and keeps a
 * printable name for messages.  Returns SASL_OK, or an error after its
 * message. */
static int
use_creds(struct xo_ctx *ctx, sasl_client_params_t *params,
    const struct xo_creds *c, sasl_out_params_t *oparams)
{
	const sasl_utils_t *utils = params->utils;
	const char *mech = ctx->mech->name;
	int r;

	if ((r = check_value(utils, mech, "user name", c->authname,
	    c->authnamelen, XO_USER_MAX, 1)) != SASL_OK ||
	    (r = check_value(utils, mech, "authorization id (mailbox)",
	    c->authzid, c->authzidlen, XO_USER_MAX, 0)) != SASL_OK ||
	    (r = check_value(utils, mech, "access token", c->secret,
	    c->secretlen, XO_TOKEN_MAX, 1)) != SASL_OK)
		return r;
	if (ctx->mech->sends_host &&
	    (r = check_host(utils, mech, params->serverFQDN)) != SASL_OK)
		return r;
	if ((r = set_identity(ctx, params, c, oparams)) != SASL_OK)
		return r;
	if (c->authzidlen > 0)
		xo_printable(ctx->who, sizeof(ctx->who), c->authzid,
		    c->authzidlen);
	else
		xo_printable(ctx->who, sizeof(ctx->who), c->authname,
		    c->authnamelen);
	return SASL_OK;
}

/* Whether our message ends the exchange for SERVICE as far as we know:
 * SASL_OK (done unless refused) rather than SASL_CONTINUE. */
static int
done_after_message(const char *service)
{
	size_t i;

	for (i = 0; service != NULL &&
	    i < sizeof(xo_done_services) / sizeof(xo_done_services[0]); i++)
		if (strcmp(service, xo_done_services[i]) == 0)
			return 1;
	return 0;
}

static int
step_start(struct xo_ctx *ctx, sasl_client_params_t *params,
    unsigned serverinlen, sasl_interact_t **prompt_need,
    const char **clientout, unsigned *clientoutlen,
    sasl_out_params_t *oparams)
{
	const sasl_utils_t *utils = params->utils;
	struct xo_creds c;
	char service[XO_MSG_VALUE_MAX], cmd[3 * XO_MSG_VALUE_MAX];
	int r;

	if (serverinlen > 0) {
		xo_msg_error(utils, 0, "%s: the server sent data "
		    "before the client's first message (protocol error)",
		    ctx->mech->name);
		r = SASL_BADPROT;
		goto out;
	}
	if ((r = get_creds(ctx, utils, prompt_need, &c)) == SASL_INTERACT)
		return r;	/* with the new prompts */
	if (r != SASL_OK ||
	    (r = use_creds(ctx, params, &c, oparams)) != SASL_OK ||
	    (r = build_message(ctx, params, &c)) != SASL_OK)
		goto out;

	oparams->doneflag = 0;	/* so that libsasl2 lets an error in */
	oparams->mech_ssf = 0;
	oparams->maxoutbuf = 0;
	oparams->encode_context = NULL;
	oparams->encode = NULL;
	oparams->decode_context = NULL;
	oparams->decode = NULL;
	oparams->param_version = 0;

	*clientout = ctx->out;
	*clientoutlen = (unsigned)ctx->outlen;
	ctx->state = XO_SENT;
	/* Microsoft refuses a bad token with a bare NO / 535 and no
	 * challenge, so we never get another step.  Leave the explanation
	 * where sasl_errdetail() finds it; a success never shows it. */
	xo_msg_error(utils, SASL_NOLOG, "%s: if the server said no "
	    "at once, the token for %s is expired, revoked or not valid for "
	    "%s; to see why: %s", ctx->mech->name, ctx->who,
	    params->service ? xo_msg_value(service, sizeof(service),
	    params->service) : "this service", test_command(ctx, params, cmd,
	    sizeof(cmd)));
	/* Done unless refused, or "continue": see the top of the file. */
	r = done_after_message(params->service) ? SASL_OK : SASL_CONTINUE;
 out:
	/* The prompt results have been copied or are no longer needed. */
	prompts_free(utils, prompt_need);
	return r;
}

/* Whether S (LEN bytes) holds the token we sent, or its first or last 16
 * bytes (an echo cut short).  For a server or proxy that echoes our
 * message back in its error challenge: what we quote of the challenge
 * goes to the application's log, which is no place for a token. */
static int
holds_token(const struct xo_ctx *ctx, const char *s, size_t len)
{
	struct xo_payload_span sp;
	const char *tok;
	size_t n;

	if (ctx->out == NULL ||
	    xo_payload_parse(ctx->out, ctx->outlen, &sp) != 0 || sp.toklen == 0)
		return 0;
	tok = ctx->out + sp.token;
	n = sp.toklen < 16 ? sp.toklen : 16;
	return memmem(s, len, tok, n) != NULL ||
	    memmem(s, len, tok + sp.toklen - n, n) != NULL;
}

/* The server's answer to our message: empty is success, anything else is
 * its error challenge, which must be answered before it will say NO. */
static int
step_reply(struct xo_ctx *ctx, sasl_client_params_t *params,
    const char *serverin, unsigned serverinlen, const char **clientout,
    unsigned *clientoutlen, sasl_out_params_t *oparams)
{
	const sasl_utils_t *utils = params->utils;
	struct xo_challenge ch;
	char raw[96], cmd[3 * XO_MSG_VALUE_MAX];
	int parsed, echoed;

	if (serverinlen == 0) {
		out_free(ctx, utils);
		ctx->state = XO_DONE;
		oparams->doneflag = 1;
		return SASL_OK;
	}

	ctx->state = XO_FAILED;
	/* The server knows better than the expiry time in the file. */
	if (ctx->tokpath != NULL && ctx->token != NULL)
		xo_token_mark_stale(utils, ctx->mech->name, ctx->tokpath,
		    ctx->token);
	parsed = xo_challenge_parse(serverin, serverinlen, &ch) == 0;
	echoed = holds_token(ctx, serverin, serverinlen) ||
	    holds_token(ctx, ch.status, strlen(ch.status)) ||
	    holds_token(ctx, ch.scope, strlen(ch.scope));
	out_free(ctx, utils);
	if (echoed) {
		xo_msg_error(utils, 0, "%s: the server refused the "
		    "login for %s with a challenge that holds the access token "
		    "we sent (a server or proxy echoing our message back); it "
		    "is not shown here; to see why: %s", ctx->mech->name,
		    ctx->who, test_command(ctx, params, cmd, sizeof(cmd)));
	} else if (parsed) {
		xo_msg_error(utils, 0, "%s: the server rejected the "
		    "access token for %s (status %s%s%s%s%s): it has expired or "
		    "been revoked, or does not carry the scope the server "
		    "wants; to see why: %s", ctx->mech->name, ctx->who,
		    ch.status[0] ? ch.status : "not given",
		    ch.scope[0] ? ", scope \"" : "", ch.scope,
		    ch.scope[0] ? "\"" : "",
		    ch.schemes[0] && strcasecmp(ch.schemes, "bearer") != 0 ?
		    ", schemes not Bearer" : "",
		    test_command(ctx, params, cmd, sizeof(cmd)));
	} else {
		xo_printable(raw, sizeof(raw), serverin, serverinlen);
		xo_msg_error(utils, 0, "%s: the server refused the "
		    "login for %s with a challenge that is not the JSON error "
		    "we expect: \"%s\"", ctx->mech->name, ctx->who, raw);
	}
	xo_wipe(&ch, sizeof(ch));
	*clientout = ctx->mech->abort;
	*clientoutlen = ctx->mech->abortlen;
	return SASL_CONTINUE;
}

static int
xo_step(void *conn_context, sasl_client_params_t *params,
    const char *serverin, unsigned serverinlen,
    sasl_interact_t **prompt_need, const char **clientout,
    unsigned *clientoutlen, sasl_out_params_t *oparams)
{
	struct xo_ctx *ctx = conn_context;
	const sasl_utils_t *utils = params->utils;

	if (clientout == NULL || clientoutlen == NULL || oparams == NULL) {
		xo_msg_error(utils, 0, "XOAUTH2 plugin: called "
		    "without output parameters");
		return SASL_BADPARAM;
	}
	*clientout = NULL;
	*clientoutlen = 0;
	switch (ctx->state) {
	case XO_START:
		return step_start(ctx, params, serverinlen, prompt_need,
		    clientout, clientoutlen, oparams);
	case XO_SENT:
		return step_reply(ctx, params, serverin, serverinlen,
		    clientout, clientoutlen, oparams);
	case XO_FAILED:
		xo_msg_error(utils, 0, "%s: the server went on after "
		    "its error challenge instead of ending the exchange "
		    "(protocol error)", ctx->mech->name);
		return SASL_BADPROT;
	case XO_DONE:
	default:
		break;
	}
	xo_msg_error(utils, 0, "%s: the server went on after the "
	    "exchange succeeded (protocol error)", ctx->mech->name);
	return SASL_BADPROT;
}

static void
xo_dispose(void *conn_context, const sasl_utils_t *utils)
{
	struct xo_ctx *ctx = conn_context;

	if (ctx == NULL)
		return;
	out_free(ctx, utils);
	secret_free(utils, ctx->token);
	if (ctx->tokpath != NULL)
		utils->free(ctx->tokpath);
	xo_wipe(ctx, sizeof(*ctx));
	utils->free(ctx);
}

static const unsigned long xo_required_prompts[] = {
	SASL_CB_AUTHNAME, SASL_CB_PASS, SASL_CB_LIST_END
};

/* The client plug of mechanism M (a row of xo_mechs): all alike but for
 * the name and the row, which xo_new finds in glob_context. */
#define XO_PLUG(M) {							\
	.mech_name = (M).name,		/* SASL name, from the row */	\
	.max_ssf = 0,			/* no security layer */		\
	.security_flags = SASL_SEC_NOANONYMOUS |			\
	    SASL_SEC_PASS_CREDENTIALS,	/* the token is a credential */	\
	.features = SASL_FEAT_WANT_CLIENT_FIRST |			\
	    SASL_FEAT_ALLOWS_PROXY,	/* initial response; authzid */	\
	.required_prompts = xo_required_prompts, /* user, token */	\
	.glob_context = (void *)(uintptr_t)&(M), /* the row */		\
	.mech_new = xo_new,		/* a context per exchange */	\
	.mech_step = xo_step,		/* START, SENT, FAILED/DONE */	\
	.mech_dispose = xo_dispose,	/* wipes and frees it */	\
	.mech_free = NULL,		/* no global state to free */	\
	.idle = NULL,			/* nothing to do when idle */	\
	.spare_fptr1 = NULL,		/* spare */			\
	.spare_fptr2 = NULL,		/* spare */			\
}

/* Read-only: libsasl2 only reads the table it is handed. */
static const sasl_client_plug_t xo_plugins[] = {
	XO_PLUG(xo_mechs[0]),		/* XOAUTH2 */
	XO_PLUG(xo_mechs[1]),		/* OAUTHBEARER */
};

_Static_assert(sizeof(xo_plugins) / sizeof(xo_plugins[0]) ==
    sizeof(xo_mechs) / sizeof(xo_mechs[0]), "a plug for each mechanism");

XO_EXPORT int sasl_client_plug_init(const sasl_utils_t *, int, int *,
    sasl_client_plug_t **, int *);

XO_EXPORT int
sasl_client_plug_init(const sasl_utils_t *utils, int max_version,
    int *out_version, sasl_client_plug_t **pluglist, int *plugcount)
{
	if (max_version < SASL_CLIENT_PLUG_VERSION) {
		xo_msg_error(utils, 0, "XOAUTH2 plugin: libsasl2 "
		    "client plugin interface %d is older than the %d we need",
		    max_version, SASL_CLIENT_PLUG_VERSION);
		return SASL_BADVERS;
	}
	*out_version = SASL_CLIENT_PLUG_VERSION;
	*pluglist = (sasl_client_plug_t *)(uintptr_t)xo_plugins;
	*plugcount = (int)(sizeof(xo_plugins) / sizeof(xo_plugins[0]));
	return SASL_OK;
}
