/*
 * apponly: the app-only grants at the token endpoint.  See apponly.h.
 *
 * The request holds a credential (the secret, or an assertion good for
 * minutes): both live in buffers we wipe, and oauth_http.c wipes its form.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "apponly.h"
#include "diag.h"
#include "errors.h"
#include "jwt.h"
#include "msg.h"
#include "xo_err.h"
#include "xo_util.h"

#define ASSERTION_TYPE	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define JWT_BEARER	"urn:ietf:params:oauth:grant-type:jwt-bearer"
#define SECRET_MAX	4096

/* The name of the user running us into ME (SIZE bytes): the token
 * file's owner, whose credential files these must be (become.h). */
static void
reader_name(char *me, size_t size)
{
	struct passwd *pw;

	if ((pw = getpwuid(geteuid())) != NULL)
		snprintf(me, size, "%s", pw->pw_name);
	else
		snprintf(me, size, "%u", (unsigned)geteuid());
}

/* The credential file PATH is not ours: say whose it is and the chown
 * that fixes it.  Returns XO_E_REFUSED. */
static int
owner_words(struct oauth_error *err, const char *what, const char *path)
{
	char owner[64], me[64], word[XO_SHELL_WORD_MAX];
	struct passwd *pw;
	struct stat st;

	if (lstat(path, &st) == 0 && (pw = getpwuid(st.st_uid)) != NULL)
		snprintf(owner, sizeof(owner), "%s", pw->pw_name);
	else
		snprintf(owner, sizeof(owner), "uid %u", (unsigned)st.st_uid);
	reader_name(me, sizeof(me));
	xo_shell_word(word, sizeof(word), path);
	return oauth_seterr(err, XO_E_REFUSED, OAUTH_HINT_NONE, "refusing the "
	    "%s %s: it belongs to %s, and a token file's credentials must "
	    "belong to the token file's owner (%s), who uses them; run: "
	    "chown %s %s", what, path, owner, me, me, word);
}

/* Words the failure R to read the credential file PATH (WHAT: "private
 * key", ...; MEMBER: the token file member naming it).  Returns its
 * errors.h code (or -errno). */
static int
credential_words(struct oauth_error *err, int r, const char *what,
    const char *member, const char *path)
{
	char word[XO_SHELL_WORD_MAX], me[64];
	struct stat st;

	switch (r) {
	case JWT_E_PERMS:
		xo_shell_word(word, sizeof(word), path);
		if (stat(path, &st) == 0)
			return oauth_seterr(err, XO_E_REFUSED, OAUTH_HINT_NONE,
			    "refusing the %s %s: it is accessible by group or "
			    "others (mode %04o); run: chmod 600 %s", what, path,
			    (unsigned)(st.st_mode & 07777), word);
		return oauth_seterr(err, XO_E_REFUSED, OAUTH_HINT_NONE,
		    "refusing the %s %s: it is accessible by group or others; "
		    "run: chmod 600 %s", what, path, word);
	case JWT_E_NOTREG:
		return oauth_seterr(err, XO_E_REFUSED, OAUTH_HINT_NONE,
		    "refusing the %s %s: not a regular file (a symbolic link, "
		    "a device or a FIFO); name the file itself", what, path);
	case JWT_E_OWNER:
		return owner_words(err, what, path);
	case -ENOENT:
		return oauth_seterr(err, XO_E_NOINPUT, OAUTH_HINT_NONE, "no %s "
		    "%s (%s in the token file); put it back, or log in again "
		    "with the new one", what, path, member);
	case -EACCES:
	case -EPERM:
		/* Read as the token file's owner (become.h): theirs, or not
		 * at all. */
		reader_name(me, sizeof(me));
		xo_shell_word(word, sizeof(word), path);
		return oauth_seterr(err, XO_E_REFUSED, OAUTH_HINT_NONE,
		    "cannot read the %s %s: %s; it is read as the token "
		    "file's owner (%s) and must be theirs: run: chown %s %s "
		    "&& chmod 600 %s", what, path, strerror(-r), me, me, word,
		    word);
	case -ENOMEM:
		return oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE,
		    "out of memory");
	case -ENOSYS:
		/* xo_open_regular: /proc/self/fd, to open what it looked at;
		 * not the credentials' fault (XO_E_IO: no "log in"). */
		return oauth_seterr(err, XO_E_IO, OAUTH_HINT_NONE, "cannot "
		    "open the %s %s: /proc is not mounted here, and credential "
		    "files are opened through /proc/self/fd; run " PROG " where "
		    "/proc is mounted", what, path);
	case JWT_E_ENCRYPTED:
		return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_NONE, "the %s "
		    "%s is protected by a passphrase, and nobody is there to "
		    "type it; store it without one (openssl pkey -in %s -out "
		    "NEW.pem), mode 0600", what, path, path);
	case JWT_E_MISMATCH:
		return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_NONE, "the "
		    "certificate %s is not the private key's (%s in the token "
		    "file); log in again with --certificate and --private-key "
		    "of one pair (openssl x509 -noout -pubkey -in CERT and "
		    "openssl pkey -pubout -in KEY print the same key)", path,
		    member);
	}
	if (r > -4096 && r < 0)
		return oauth_seterr(err, XO_E_IO, OAUTH_HINT_NONE,
		    "cannot read the %s %s: %s", what, path, jwt_strerror(r));
	return oauth_seterr(err, XO_E_DATA, OAUTH_HINT_NONE, "the %s %s: %s",
	    what, path, jwt_strerror(r));
}

/* credential_words, and who can fix it: a person (the file is missing,
 * exposed, not the key of the certificate, ...), unless memory or the
 * system failed for now. */
static int
credential_error(struct oauth_error *err, int r, const char *what,
    const char *member, const char *path)
{
	int code = credential_words(err, r, what, member, path);

	if (code != -ENOMEM && code != XO_E_IO)
		err->hint = OAUTH_HINT_LOGIN;
	return code;
}

/* The secret in PATH: its first line, in a new string. */
static int
read_secret(const char *path, char **secretp, struct oauth_error *err)
{
	char *text = NULL;
	size_t len = 0;
	int r;

	*secretp = NULL;
	if ((r = jwt_read_secret(path, &text, &len)) != 0)
		return credential_error(err, r, "client secret file",
		    "client_secret_file", path);
	xo_secret_first_line(text, len);
	if (text[0] == '\0' || strlen(text) > SECRET_MAX ||
	    xo_has_ctl(text, strlen(text))) {
		xo_freezero(text, len);
		return oauth_seterr(err, XO_E_DATA, OAUTH_HINT_LOGIN, "the "
		    "client secret file %s is empty or holds control "
		    "characters; put the secret's value alone on its first "
		    "line", path);
	}
	*secretp = text;
	return 0;
}

/* After the server refused the credentials (oauth_grant returned R):
 * what to check, by kind.  Someone must act (hint LOGIN: the "needs
 * login" of an app-only file), and ERR->base.msg says all (diag NULL). */
static void
refused(struct tokfile *tok, const char *kind, int r, struct oauth_error *err)
{
	char what[sizeof(err->base.msg)];	/* the server's part: 300 at most */
	const struct diag *d;

	/* Trouble on the way (network, TLS, a busy server) says so as is;
	 * a refusal of the request is about the credentials. */
	if (err->hint != OAUTH_HINT_CLIENT && err->hint != OAUTH_HINT_LOGIN &&
	    err->hint != OAUTH_HINT_SCOPE &&
	    !(err->hint == OAUTH_HINT_NONE && r == XO_E_CONFIG))
		return;
	snprintf(what, sizeof(what), "%s", err->base.msg);
	err->hint = OAUTH_HINT_LOGIN;
	err->diag = NULL;
	/* A refusal diag.c knows: its cause and fix for an app, and which
	 * of this machine's credentials was sent. */
	if ((d = diag_match_token(err->code, err->desc)) != NULL) {
		struct diag_vars v = { tok->account, tok->user, tok->client_id,
		    NULL, 1 };
		char cause[256], step[384], mine[200];

		diag_expand(diag_cause(d, &v), &v, cause, sizeof(cause));
		diag_expand(diag_step(d, &v), &v, step, sizeof(step));
		if (strcmp(kind, "certificate") == 0)
			snprintf(mine, sizeof(mine), " (sent: the certificate %s, "
			    "x5t#S256 %s)", tok->certificate_file,
			    tok->certificate_thumbprint != NULL ?
			    tok->certificate_thumbprint : "?");
		else if (strcmp(kind, "secret") == 0)
			snprintf(mine, sizeof(mine), " (sent: the secret in %s)",
			    tok->client_secret_file);
		else
			snprintf(mine, sizeof(mine), " (sent: an assertion "
			    "signed with %s)", tok->service_account_file);
		xo_err_set(&err->base, r, "%.180s: %s%s; %s", what,
		    cause, mine, step);
		return;
	}
	if (strcmp(err->code, "invalid_scope") == 0 && strcmp(kind, "jwt") != 0)
		xo_err_set(&err->base, r, "%.300s; app-only access "
		    "needs the resource's /.default scope (scope in the token "
		    "file; log in again with --scope RESOURCE/.default)", what);
	else if (strcmp(kind, "secret") == 0)
		xo_err_set(&err->base, r, "the app's credentials "
		    "were refused: %.300s; check client_id and the secret in %s (the "
		    "secret's value, not its id, and not expired), and that the "
		    "app has admin consent in the tenant", what,
		    tok->client_secret_file);
	else if (strcmp(kind, "certificate") == 0)
		xo_err_set(&err->base, r, "the app's credentials "
		    "were refused: %.300s; check that the certificate %s "
		    "(x5t#S256 %s) is uploaded to app %s, that the app has admin "
		    "consent in the tenant, and that this machine's clock is "
		    "right", what, tok->certificate_file,
		    tok->certificate_thumbprint != NULL ?
		    tok->certificate_thumbprint : "?", tok->client_id);
	else
		xo_err_set(&err->base, r, "the service account's "
		    "assertion was refused: %.250s; check the key file %s (a key "
		    "deleted in the console stops working), the domain-wide "
		    "delegation of client id %s for %s, that %s is a mailbox of "
		    "the domain, and this machine's clock", what,
		    tok->service_account_file, tok->client_id,
		    tok->scope != NULL ? tok->scope : "?", tok->user);
}

/* client_credentials with a secret or a certificate assertion. */
static int
client_credentials(struct tokfile *tok, const struct oauth_options *net,
    struct oauth_tokens *out, struct oauth_error *err)
{
	struct jwt_key *key = NULL;
	struct jwt_claims c;
	struct oauth_field fields[6];
	char jti[JWT_JTI_LEN + 1], tp[JWT_THUMBPRINT_LEN + 1];
	char *secret = NULL, *assertion = NULL;
	const char *kind;
	size_t n = 0;
	int64_t now;
	int r;

	fields[n++] = (struct oauth_field){ "grant_type", "client_credentials" };
	fields[n++] = (struct oauth_field){ "client_id", tok->client_id };
	fields[n++] = (struct oauth_field){ "scope", tok->scope };
	if (tok->private_key_file != NULL && tok->certificate_file != NULL) {
		kind = "certificate";
		/* The certificate first: an error names the right file. */
		if ((r = jwt_cert_thumbprint(tok->certificate_file, tp)) != 0) {
			r = credential_error(err, r, "certificate",
			    "certificate_file", tok->certificate_file);
			goto out;
		}
		if ((r = jwt_key_load(tok->private_key_file,
		    tok->certificate_file, &key)) != 0) {
			r = credential_error(err, r, "private key",
			    r == JWT_E_MISMATCH ? "certificate_file" :
			    "private_key_file", r == JWT_E_MISMATCH ?
			    tok->certificate_file : tok->private_key_file);
			goto out;
		}
		if ((tok->certificate_thumbprint == NULL ||
		    strcmp(tok->certificate_thumbprint, tp) != 0) &&
		    tokfile_set(&tok->certificate_thumbprint, tp) != 0) {
			r = credential_error(err, -ENOMEM, "", "", "");
			goto out;
		}
		if ((r = jwt_random_jti(jti)) != 0) {
			r = oauth_seterr(err, XO_E_SOFTWARE, OAUTH_HINT_NONE,
			    "no random numbers for the assertion's jti");
			goto out;
		}
		memset(&c, 0, sizeof(c));
		now = xo_now_s();
		c.iss = c.sub = tok->client_id;
		c.aud = tok->token_endpoint;
		c.jti = jti;
		c.nbf = c.iat = now;
		c.exp = now + APPONLY_ASSERTION_S;
		if ((r = jwt_sign(key, JWT_RS256, &c, &assertion)) != 0) {
			r = credential_error(err, r, "private key",
			    "private_key_file", tok->private_key_file);
			goto out;
		}
		fields[n++] = (struct oauth_field){ "client_assertion_type",
		    ASSERTION_TYPE };
		fields[n++] = (struct oauth_field){ "client_assertion", assertion };
	} else if (tok->client_secret_file != NULL) {
		kind = "secret";
		if ((r = read_secret(tok->client_secret_file, &secret, err)) != 0)
			goto out;
		fields[n++] = (struct oauth_field){ "client_secret", secret };
	} else {
		r = oauth_seterr(err, XO_E_DATA, OAUTH_HINT_LOGIN, "the token "
		    "file names no credential for the client credentials grant "
		    "(client_secret_file, or private_key_file and "
		    "certificate_file); log in again");
		goto out;
	}
	if ((r = oauth_grant(tok->token_endpoint, fields, n,
	    "client credentials grant", net, out, err)) != 0)
		refused(tok, kind, r, err);
 out:
	jwt_key_free(key);
	xo_free_secret(secret);
	xo_free_secret(assertion);
	xo_wipe(jti, sizeof(jti));
	return r;
}

/* Google's service accounts: the JWT bearer grant. */
static int
jwt_bearer(struct tokfile *tok, const struct oauth_options *net,
    struct oauth_tokens *out, struct oauth_error *err)
{
	struct jwt_service_account sa;
	struct jwt_key *key = NULL;
	struct jwt_claims c;
	char *assertion = NULL;
	int64_t now;
	int r;

	memset(&sa, 0, sizeof(sa));
	if (tok->service_account_file == NULL) {
		return oauth_seterr(err, XO_E_DATA, OAUTH_HINT_LOGIN, "the "
		    "token file names no service_account_file for the JWT "
		    "bearer grant; log in again");
	}
	if ((r = jwt_service_account_load(tok->service_account_file, &key,
	    &sa)) != 0) {
		r = credential_error(err, r, "service-account key file",
		    "service_account_file", tok->service_account_file);
		goto out;
	}
	memset(&c, 0, sizeof(c));
	now = xo_now_s();
	c.iss = sa.client_email;
	c.sub = tok->user;
	c.aud = tok->token_endpoint;
	c.scope = tok->scope;
	c.iat = now;
	c.exp = now + APPONLY_SA_ASSERTION_S;
	if ((r = jwt_sign(key, JWT_RS256, &c, &assertion)) != 0) {
		r = credential_error(err, r, "service-account key file",
		    "service_account_file", tok->service_account_file);
		goto out;
	}
	{
		const struct oauth_field fields[] = {
			{ "grant_type", JWT_BEARER },
			{ "assertion", assertion },
		};

		if ((r = oauth_grant(tok->token_endpoint, fields, 2,
		    "service-account assertion", net, out, err)) != 0)
			refused(tok, "jwt", r, err);
	}
 out:
	jwt_key_free(key);
	jwt_service_account_clear(&sa);
	xo_free_secret(assertion);
	return r;
}

int
apponly_request(struct tokfile *tok, const struct oauth_options *net,
    struct oauth_tokens *out, struct oauth_error *err)
{
	int r;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	if (tok->grant == NULL || (strcmp(tok->grant, APPONLY_CLIENT_CREDENTIALS)
	    != 0 && strcmp(tok->grant, APPONLY_JWT_BEARER) != 0)) {
		return oauth_seterr(err, XO_E_DATA, OAUTH_HINT_LOGIN,
		    "the token file holds a grant this " PACKAGE_NAME
		    "-token does not know (\"%s\"); upgrade it",
		    tok->grant != NULL ? tok->grant : "");
	}
	if (strcmp(tok->grant, APPONLY_CLIENT_CREDENTIALS) == 0)
		r = client_credentials(tok, net, out, err);
	else
		r = jwt_bearer(tok, net, out, err);
	/* App-only grants have none; a server that sends one anyway gets
	 * it ignored: the app's credentials are what renews. */
	if (r == 0 && out->refresh_token != NULL) {
		xo_free_secret(out->refresh_token);
		out->refresh_token = NULL;
	}
	return r;
}

/* --- login --------------------------------------------------------------- */

/* Sets *ABSp to the absolute path of the credential file FILE, given to
 * OPTION.  Returns 0, or -ENOMEM / an errors.h code after a message. */
static int
absolute(const char *who, const char *option, const char *file, char **absp)
{
	*absp = NULL;
	if (strcmp(file, "-") == 0) {
		msg(who, "%s -: app-only credentials are read again at every "
		    "renewal, so they must be in a file; give its path", option);
		return XO_E_USAGE;
	}
	if ((*absp = realpath(file, NULL)) == NULL) {
		msg(who, "%s %s: %s", option, file, strerror(errno));
		return errno == ENOENT ? XO_E_NOINPUT : XO_E_REFUSED;
	}
	return 0;
}

/* Checks AL's combination of options.  Returns 0 or XO_E_USAGE after a
 * message. */
static int
login_check(const struct apponly_login *al, const char *who)
{
	int creds = (al->client_secret_file != NULL) +
	    (al->certificate != NULL || al->private_key != NULL) +
	    (al->service_account != NULL);

	if (creds != 1) {
		msg(who, "app-only: give one credential: --client-secret-file "
		    "FILE, or --certificate CERT.pem --private-key KEY.pem, or "
		    "(Google) --service-account KEY.json");
		return XO_E_USAGE;
	}
	if ((al->certificate == NULL) != (al->private_key == NULL)) {
		msg(who, "app-only: --certificate and --private-key go together "
		    "(the certificate uploaded to the app, and its key)");
		return XO_E_USAGE;
	}
	if (al->user == NULL || al->user[0] == '\0' ||
	    xo_has_ctl(al->user, strlen(al->user))) {
		msg(who, "app-only: which mailbox? add --user MAILBOX (the "
		    "address the app opens; it logs in as that mailbox)");
		return XO_E_USAGE;
	}
	if (al->service_account == NULL && al->client_id == NULL) {
		msg(who, "app-only: which app? add --client-id APP-ID (the "
		    "application (client) id of the app registration)");
		return XO_E_USAGE;
	}
	if (al->service_account == NULL && al->token_endpoint == NULL) {
		msg(who, "app-only: which token endpoint? add --token-endpoint URL");
		return XO_E_USAGE;
	}
	return 0;
}

/* Fills TOK's credential members from AL (absolute paths) and, for a
 * service account, the endpoint and client id from its key file. */
static int
login_credentials(const struct apponly_login *al, const char *who,
    struct tokfile *tok)
{
	struct jwt_service_account sa;
	struct jwt_key *key = NULL;
	struct oauth_error err;
	char *abs = NULL;
	int r, status;

	memset(&sa, 0, sizeof(sa));
	if (al->client_secret_file != NULL) {
		if ((status = absolute(who, "--client-secret-file",
		    al->client_secret_file, &abs)) != 0)
			return status;
		r = tokfile_set(&tok->client_secret_file, abs);
		free(abs);
		return r == 0 ? 0 : -ENOMEM;
	}
	if (al->certificate != NULL) {
		if ((status = absolute(who, "--certificate", al->certificate,
		    &abs)) != 0)
			return status;
		r = tokfile_set(&tok->certificate_file, abs);
		free(abs);
		if (r != 0)
			return -ENOMEM;
		if ((status = absolute(who, "--private-key", al->private_key,
		    &abs)) != 0)
			return status;
		r = tokfile_set(&tok->private_key_file, abs);
		free(abs);
		return r == 0 ? 0 : -ENOMEM;
	}
	if ((status = absolute(who, "--service-account", al->service_account,
	    &abs)) != 0)
		return status;
	if ((r = tokfile_set(&tok->service_account_file, abs)) != 0) {
		free(abs);
		return -ENOMEM;
	}
	/* Read it now for the endpoint and the id the admin console shows
	 * (and to say at once what is wrong with it). */
	if ((r = jwt_service_account_load(abs, &key, &sa)) != 0) {
		memset(&err, 0, sizeof(err));
		status = credential_error(&err, r, "service-account key file",
		    "--service-account", abs);
		msg(who, "%s", err.base.msg);
		goto out;
	}
	if (tokfile_set(&tok->token_endpoint, al->token_endpoint != NULL ?
	    al->token_endpoint : sa.token_uri) != 0 ||
	    tokfile_set(&tok->client_id, al->client_id != NULL ?
	    al->client_id : sa.client_id != NULL ? sa.client_id :
	    sa.client_email) != 0) {
		status = -ENOMEM;
		goto out;
	}
	status = 0;
 out:
	jwt_key_free(key);
	jwt_service_account_clear(&sa);
	free(abs);
	return status;
}

int
apponly_login_prepare(const struct apponly_login *al, const char *who,
    const char *account, struct tokfile **tokp)
{
	struct oauth_error err;
	struct tokfile *tok = NULL;
	int status;

	*tokp = NULL;
	if ((status = login_check(al, who)) != 0)
		return status;
	if ((tok = calloc(1, sizeof(*tok))) == NULL) {
		msg(who, "out of memory");
		return -ENOMEM;
	}
	tok->version = TOKFILE_VERSION;
	if (tokfile_set(&tok->account, account) != 0 ||
	    tokfile_set(&tok->user, al->user) != 0 ||
	    tokfile_set(&tok->provider, al->provider) != 0 ||
	    tokfile_set(&tok->scope, al->scope) != 0 ||
	    tokfile_set(&tok->grant, al->service_account != NULL ?
	    APPONLY_JWT_BEARER : APPONLY_CLIENT_CREDENTIALS) != 0 ||
	    (al->token_endpoint != NULL &&
	    tokfile_set(&tok->token_endpoint, al->token_endpoint) != 0) ||
	    (al->client_id != NULL &&
	    tokfile_set(&tok->client_id, al->client_id) != 0)) {
		msg(who, "out of memory");
		status = -ENOMEM;
		goto out;
	}
	if ((status = login_credentials(al, who, tok)) != 0) {
		if (status == -ENOMEM)
			msg(who, "out of memory");
		goto out;
	}
	if ((status = oauth_url_check(tok->token_endpoint,
	    "the token endpoint", &err)) != 0) {
		msg(who, "%s", err.base.msg);
		goto out;
	}
	*tokp = tok;
	tok = NULL;
	status = 0;
 out:
	tokfile_free(tok);
	return status;
}

int
apponly_login_token(struct tokfile *tok, const struct oauth_options *net,
    const char *who)
{
	struct oauth_tokens t;
	struct oauth_error err;
	int64_t asked_at;
	int status;

	memset(&t, 0, sizeof(t));
	if (oauth_init() != 0) {
		msg(who, "cannot initialise libcurl");
		return XO_E_SOFTWARE;
	}
	asked_at = xo_now_s();
	status = apponly_request(tok, net, &t, &err);
	oauth_cleanup();
	if (status != 0) {
		if (err.hint == OAUTH_HINT_CAFILE || err.hint == OAUTH_HINT_PEER)
			msg(who, "%s; if the server uses a private CA, add "
			    "--cafile FILE", err.base.msg);
		else if (err.hint == OAUTH_HINT_NETWORK)
			msg(who, "%s; check the network and the endpoint",
			    err.base.msg);
		else if (err.hint == OAUTH_HINT_LATER)
			msg(who, "%s; try again later", err.base.msg);
		else
			msg(who, "%s", err.base.msg);
		goto out;
	}
	tok->expires_at = asked_at + t.expires_in;
	tok->refreshed_at = xo_now_s();
	if (tokfile_set(&tok->access_token, t.access_token) != 0) {
		msg(who, "out of memory");
		status = -ENOMEM;
		goto out;
	}
	status = 0;
 out:
	oauth_tokens_clear(&t);
	return status;
}

void
apponly_describe(const struct tokfile *tok, char *buf, size_t size)
{
	char how[160];

	if (tok->certificate_thumbprint != NULL)
		snprintf(how, sizeof(how), "client credentials, certificate "
		    "x5t#S256 %s", tok->certificate_thumbprint);
	else if (tok->client_secret_file != NULL)
		snprintf(how, sizeof(how), "client credentials, client secret");
	else
		snprintf(how, sizeof(how), "service account, client id %s",
		    tok->client_id);
	snprintf(buf, size, "app-only access to %s (%s)", tok->user, how);
}
