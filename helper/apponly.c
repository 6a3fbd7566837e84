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
#include "credfile.h"
#include "diag.h"
#include "errors.h"
#include "health.h"
#include "jwt.h"
#include "msg.h"
#include "secret.h"
#include "xo_err.h"
#include "xo_util.h"

#define ASSERTION_TYPE	"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#define JWT_BEARER	"urn:ietf:params:oauth:grant-type:jwt-bearer"
#define CLIENT_SECRET_MAX	4096	/* longest client secret we send */
#define SOURCE_NONE	1	/* read_source: the token file names none */

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

	/* secret.h reads files with credfile_open, jwt.c through it too:
	 * the same refusals, the same words. */
	r = r == CREDFILE_E_NOTREG ? JWT_E_NOTREG : r == CREDFILE_E_OWNER ?
	    JWT_E_OWNER : r == CREDFILE_E_PERMS ? JWT_E_PERMS : r;
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

/* The options that name each secret's source, for messages. */
static const struct {
	const char	*file, *credential, *command;
} slot_options[] = {
	[SECRET_CLIENT_SECRET] = { "--client-secret-file",
	    "--client-secret-credential", "--client-secret-command" },
	[SECRET_PRIVATE_KEY] = { "--private-key", "--private-key-credential",
	    NULL },
	[SECRET_KEY_PASSPHRASE] = { "--key-passphrase-file",
	    "--key-passphrase-credential", "--key-passphrase-command" },
	[SECRET_SERVICE_ACCOUNT] = { "--service-account",
	    "--service-account-credential", NULL },
};

/* What today's file messages call each secret's file. */
static const char *const slot_file_words[] = {
	[SECRET_CLIENT_SECRET] = "client secret file",
	[SECRET_PRIVATE_KEY] = "private key",
	[SECRET_KEY_PASSPHRASE] = "key passphrase file",
	[SECRET_SERVICE_ACCOUNT] = "service-account key file",
};

/* Where SRC's secret is, for a message: a file's path, or secret.h's
 * words ("systemd credential NAME", "command WORDS"), into BUF. */
static const char *
source_words(const struct secret_src *src, char *buf, size_t size)
{
	if (src->kind == SECRET_FILE) {
		snprintf(buf, size, "%s", src->value);
		return buf;
	}
	return secret_describe(src, buf, size);
}

/* A command named by a token file that postfix owns (its store) is not
 * run: a chrooted smtp can write that file, and the command would run
 * outside the chroot (health.h, as for notify).  Returns 0 or
 * SECRET_E_COMMAND_REFUSED with ERR saying what to use instead. */
static int
command_allowed(const struct secret_src *src, struct oauth_error *err)
{
	if (src->kind != SECRET_COMMAND || !health_is_postfix(geteuid()))
		return 0;
	return oauth_seterr(err, SECRET_E_COMMAND_REFUSED, OAUTH_HINT_LOGIN,
	    "refusing to run the %s's command (%s in the token file): the "
	    "file is postfix's, which a chrooted smtp can write, and the "
	    "command would run outside the chroot; keep the %s in a systemd "
	    "credential instead (see SECURITY.md): " PROG " set ACCOUNT %s "
	    "NAME", src->label, src->member, src->label,
	    slot_options[src->slot].credential);
}

/* Words the failure R of secret_read on SRC (WHY: its words).  A
 * file's failures keep their words (credential_words); a credential's
 * or a command's are secret.h's, with who can fix it. */
static int
read_error(struct oauth_error *err, int r, const struct secret_src *src,
    const struct xo_err *why)
{
	/* (A file secret.h found empty or too large: what jwt.c said.) */
	if (src->kind == SECRET_FILE && r == SECRET_E_EMPTY &&
	    src->slot == SECRET_CLIENT_SECRET)
		return oauth_seterr(err, XO_E_DATA, OAUTH_HINT_LOGIN, "the "
		    "client secret file %s is empty or holds control "
		    "characters; put the secret's value alone on its first "
		    "line", src->value);
	if (src->kind == SECRET_FILE && ((r == SECRET_E_EMPTY &&
	    src->slot != SECRET_KEY_PASSPHRASE) || r == SECRET_E_TOOBIG ||
	    r == XO_E_IO))
		r = r == SECRET_E_TOOBIG ? JWT_E_TOOBIG : r == XO_E_IO ?
		    -ENOSYS : src->slot == SECRET_SERVICE_ACCOUNT ? JWT_E_JSON :
		    JWT_E_KEY;
	if (src->kind == SECRET_FILE && r != -ENOMEM && ((r < 0 && r > -200) ||
	    r == CREDFILE_E_NOTREG || r == CREDFILE_E_OWNER ||
	    r == CREDFILE_E_PERMS || (r <= JWT_E_PERMS && r >= JWT_E_PASSPHRASE)))
		return credential_error(err, r, slot_file_words[src->slot],
		    src->member, src->value);
	switch (r) {
	case -ENOMEM:
		return oauth_seterr(err, -ENOMEM, OAUTH_HINT_NONE,
		    "out of memory");
	case SECRET_E_NOCREDS:
		/* Only the unit has it: its timer renews (a renewal the
		 * plugin starts cannot), so no alarm beyond a warning. */
	case SECRET_E_EXIT:
	case SECRET_E_TIMEOUT:
		/* A vault unreachable, a keyring locked: the next run may
		 * do better. */
		return oauth_seterr(err, XO_E_TEMPFAIL, OAUTH_HINT_NONE, "%s",
		    why->msg);
	}
	/* Empty, too big, a bad name, no such credential, a command that
	 * does not split: someone must change something. */
	return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_LOGIN, "%s", why->msg);
}

/* Reads SLOT's secret from where TOK says it lives into *OUT (the
 * caller wipes it: secret_clear), and *SRC says where that was.  Returns
 * 0, SOURCE_NONE if TOK names no source (*OUT empty), or a code with ERR
 * set. */
static int
read_source(const struct tokfile *tok, enum secret_slot slot,
    struct secret_src *src, struct secret *out, struct oauth_error *err)
{
	struct xo_err why;
	int r;

	memset(out, 0, sizeof(*out));
	memset(&why, 0, sizeof(why));
	if ((r = secret_where(tok, slot, src, &why)) != 0)
		return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_LOGIN, "%s",
		    why.msg);
	if (src->kind == SECRET_NOWHERE)
		return SOURCE_NONE;
	if ((r = command_allowed(src, err)) != 0)
		return r;
	if ((r = secret_read(src, out, &why)) != 0)
		return read_error(err, r, src, &why);
	return 0;
}

/* The client secret TOK names into *OUT (secret_clear), where it lives
 * into *SRC: the first line of what secret.h read (the lines after it,
 * a note or the next secret, wiped), as a client_secret_file always was.
 * Returns 0, SOURCE_NONE, or a code with ERR set. */
static int
client_secret(const struct tokfile *tok, struct secret_src *src,
    struct secret *out, struct oauth_error *err)
{
	char at[XO_SHELL_WORD_MAX];
	size_t n;
	int r;

	if ((r = read_source(tok, SECRET_CLIENT_SECRET, src, out, err)) != 0)
		return r;
	n = strlen(out->data);
	if (n > 0 && n <= CLIENT_SECRET_MAX && !xo_has_ctl(out->data, n))
		return 0;
	secret_clear(out);
	if (src->kind == SECRET_FILE)
		return oauth_seterr(err, XO_E_DATA, OAUTH_HINT_LOGIN, "the "
		    "client secret file %s is empty or holds control "
		    "characters; put the secret's value alone on its first "
		    "line", src->value);
	return oauth_seterr(err, XO_E_DATA, OAUTH_HINT_LOGIN, "the client "
	    "secret from %s is longer than %d bytes, or holds control "
	    "characters; it must be the secret's value alone",
	    source_words(src, at, sizeof(at)), CLIENT_SECRET_MAX);
}

/* After the server refused the credentials (oauth_grant returned R):
 * what to check, by kind.  Someone must act (hint LOGIN: the "needs
 * login" of an app-only file), and ERR->base.msg says all (diag NULL).
 * AT: where the secret or the key was ("in PATH", "from systemd
 * credential NAME", ...). */
static void
refused(struct tokfile *tok, const char *kind, const char *at, int r,
    struct oauth_error *err)
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
			snprintf(mine, sizeof(mine), " (sent: the secret %s)", at);
		else
			snprintf(mine, sizeof(mine), " (sent: an assertion "
			    "signed with %s)", at);
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
		    "were refused: %.300s; check client_id and the secret %s (the "
		    "secret's value, not its id, and not expired), and that the "
		    "app has admin consent in the tenant", what, at);
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
		    at, tok->client_id,
		    tok->scope != NULL ? tok->scope : "?", tok->user);
}

/* "in PATH" for a file, "from WHERE" for a credential or a command:
 * where SRC's secret was, for refused(). */
static const char *
source_at(const struct secret_src *src, char *buf, size_t size)
{
	char words[XO_SHELL_WORD_MAX];

	if (src->kind == SECRET_FILE)
		snprintf(buf, size, "in %s", src->value);
	else
		snprintf(buf, size, "from %s", secret_describe(src, words,
		    sizeof(words)));
	return buf;
}

/* Words the failure R of jwt_key_parse on the key from KS (the
 * passphrase from PS, kind SECRET_NOWHERE if none). */
static int
key_error(struct oauth_error *err, int r, const struct tokfile *tok,
    const struct secret_src *ks, const struct secret_src *ps)
{
	char key[XO_SHELL_WORD_MAX], pass[XO_SHELL_WORD_MAX];

	source_words(ks, key, sizeof(key));
	if (r == JWT_E_ENCRYPTED)
		return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_LOGIN, "the "
		    "private key %s is protected by a passphrase, and the token "
		    "file names none; name where it is with " PROG " set ACCOUNT "
		    "and one of --key-passphrase-file FILE, "
		    "--key-passphrase-credential NAME (a systemd credential) or "
		    "--key-passphrase-command CMD; or store the key without one "
		    "(openssl pkey -in KEY -out NEW.pem, mode 0600)", key);
	if (r == JWT_E_PASSPHRASE)
		return oauth_seterr(err, XO_E_CONFIG, OAUTH_HINT_LOGIN, "the key "
		    "passphrase from %s does not open the private key %s: a "
		    "wrong passphrase (or a damaged key); check the two with: "
		    "openssl pkey -in KEY -noout (it asks for the passphrase)",
		    source_words(ps, pass, sizeof(pass)), key);
	if (r == JWT_E_MISMATCH)
		return credential_error(err, r, "private key", "certificate_file",
		    tok->certificate_file);
	return credential_error(err, r, "private key", ks->member, key);
}

/* Loads the private key TOK names (a file or a systemd credential) and
 * TOK's certificate into *KEYp; an encrypted key is opened with the
 * passphrase TOK names (read only then: an unencrypted key needs none).
 * Every copy of the key's text and the passphrase is wiped here. */
static int
load_key(const struct tokfile *tok, struct jwt_key **keyp,
    struct oauth_error *err)
{
	struct secret_src ks, ps;
	struct secret pem, pass;
	int r;

	*keyp = NULL;
	memset(&ps, 0, sizeof(ps));
	memset(&pass, 0, sizeof(pass));
	ps.kind = SECRET_NOWHERE;
	if ((r = read_source(tok, SECRET_PRIVATE_KEY, &ks, &pem, err)) != 0)
		goto out;
	r = jwt_key_parse(pem.data, pem.len, NULL, tok->certificate_file, keyp);
	if (r == JWT_E_ENCRYPTED) {
		/* (A passphrase is its source's first line: secret.h.) */
		if ((r = read_source(tok, SECRET_KEY_PASSPHRASE, &ps, &pass,
		    err)) < 0)
			goto out;
		r = jwt_key_parse(pem.data, pem.len, r == SOURCE_NONE ? NULL :
		    pass.data, tok->certificate_file, keyp);
	}
	if (r != 0)
		r = key_error(err, r, tok, &ks, &ps);
 out:
	secret_clear(&pem);
	secret_clear(&pass);
	return r;
}

/* The client assertion for TOK's certificate and key into *ASSERTIONp
 * (the caller wipes it), and where the key was into AT.  The key is
 * freed before the request goes out: only the assertion, good for
 * minutes, waits on the network. */
static int
certificate_assertion(struct tokfile *tok, char **assertionp, char *at,
    size_t atsize, struct oauth_error *err)
{
	struct jwt_key *key = NULL;
	struct jwt_claims c;
	struct secret_src ks;
	struct xo_err why;
	char jti[JWT_JTI_LEN + 1], tp[JWT_THUMBPRINT_LEN + 1];
	char words[XO_SHELL_WORD_MAX];
	int64_t now;
	int r;

	*assertionp = NULL;
	/* The certificate first: an error names the right file. */
	if ((r = jwt_cert_thumbprint(tok->certificate_file, tp)) != 0)
		return credential_error(err, r, "certificate",
		    "certificate_file", tok->certificate_file);
	if ((r = load_key(tok, &key, err)) != 0)
		goto out;
	/* (load_key found one place for the key: secret_where says it.) */
	(void)secret_where(tok, SECRET_PRIVATE_KEY, &ks, &why);
	source_at(&ks, at, atsize);
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
	if ((r = jwt_sign(key, JWT_RS256, &c, assertionp)) != 0)
		r = credential_error(err, r, "private key", ks.member,
		    source_words(&ks, words, sizeof(words)));
 out:
	jwt_key_free(key);
	xo_wipe(jti, sizeof(jti));
	return r;
}

/* Whether TOK names a private key (a file or a credential). */
static int
names_key(const struct tokfile *tok)
{
	return tok->private_key_file != NULL ||
	    tok->private_key_credential != NULL;
}

/* client_credentials with a secret or a certificate assertion. */
static int
client_credentials(struct tokfile *tok, const struct oauth_options *net,
    struct oauth_tokens *out, struct oauth_error *err)
{
	struct oauth_field fields[6];
	struct secret_src src;
	struct secret secret;
	char *assertion = NULL, at[XO_SHELL_WORD_MAX + 8];
	const char *kind;
	size_t n = 0;
	int r;

	memset(&secret, 0, sizeof(secret));
	snprintf(at, sizeof(at), "?");
	fields[n++] = (struct oauth_field){ "grant_type", "client_credentials" };
	fields[n++] = (struct oauth_field){ "client_id", tok->client_id };
	fields[n++] = (struct oauth_field){ "scope", tok->scope };
	if (names_key(tok) && tok->certificate_file != NULL) {
		kind = "certificate";
		if ((r = certificate_assertion(tok, &assertion, at, sizeof(at),
		    err)) != 0)
			goto out;
		fields[n++] = (struct oauth_field){ "client_assertion_type",
		    ASSERTION_TYPE };
		fields[n++] = (struct oauth_field){ "client_assertion", assertion };
	} else {
		kind = "secret";
		if ((r = client_secret(tok, &src, &secret, err)) < 0)
			goto out;
		if (r == SOURCE_NONE) {
			r = oauth_seterr(err, XO_E_DATA, OAUTH_HINT_LOGIN, "the "
			    "token file names no credential for the client "
			    "credentials grant (a client secret: client_secret_file, "
			    "_credential or _command; or private_key_file or "
			    "_credential and certificate_file); log in again");
			goto out;
		}
		source_at(&src, at, sizeof(at));
		fields[n++] = (struct oauth_field){ "client_secret", secret.data };
	}
	if ((r = oauth_grant(tok->token_endpoint, fields, n,
	    "client credentials grant", net, out, err)) != 0)
		refused(tok, kind, at, r, err);
 out:
	secret_clear(&secret);
	xo_free_secret(assertion);
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
	struct secret_src src;
	struct secret text;
	char *assertion = NULL, at[XO_SHELL_WORD_MAX + 8];
	int64_t now;
	int r;

	memset(&sa, 0, sizeof(sa));
	if ((r = read_source(tok, SECRET_SERVICE_ACCOUNT, &src, &text,
	    err)) == SOURCE_NONE)
		return oauth_seterr(err, XO_E_DATA, OAUTH_HINT_LOGIN, "the "
		    "token file names no service-account key "
		    "(service_account_file or _credential) for the JWT bearer "
		    "grant; log in again");
	if (r != 0)
		return r;
	source_words(&src, at, sizeof(at));
	r = jwt_service_account_parse(text.data, text.len, &key, &sa);
	secret_clear(&text);
	if (r != 0) {
		r = credential_error(err, r, "service-account key file",
		    src.member, at);
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
	r = jwt_sign(key, JWT_RS256, &c, &assertion);
	/* Only the assertion waits on the network. */
	jwt_key_free(key);
	key = NULL;
	if (r != 0) {
		r = credential_error(err, r, "service-account key file",
		    src.member, at);
		goto out;
	}
	{
		const struct oauth_field fields[] = {
			{ "grant_type", JWT_BEARER },
			{ "assertion", assertion },
		};

		if ((r = oauth_grant(tok->token_endpoint, fields, 2,
		    "service-account assertion", net, out, err)) != 0)
			refused(tok, "jwt", at, r, err);
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

/* How many of A, B, C are named. */
static int
named(const char *a, const char *b, const char *c)
{
	return (a != NULL) + (b != NULL) + (c != NULL);
}

void
apponly_sources_from(const struct login_options *lo, struct apponly_sources *s)
{
	s->client_secret_file = lo->client_secret_file;
	s->client_secret_credential = lo->client_secret_credential;
	s->client_secret_command = lo->client_secret_command;
	s->certificate = lo->certificate;
	s->private_key = lo->private_key;
	s->private_key_credential = lo->private_key_credential;
	s->key_passphrase_file = lo->key_passphrase_file;
	s->key_passphrase_credential = lo->key_passphrase_credential;
	s->key_passphrase_command = lo->key_passphrase_command;
	s->service_account = lo->service_account;
	s->service_account_credential = lo->service_account_credential;
}

int
apponly_sources_named(const struct apponly_sources *s)
{
	return named(s->client_secret_file, s->client_secret_credential,
	    s->client_secret_command) + named(s->certificate, s->private_key,
	    s->private_key_credential) + named(s->key_passphrase_file,
	    s->key_passphrase_credential, s->key_passphrase_command) +
	    named(s->service_account, s->service_account_credential, NULL);
}

int
apponly_postfix_command(const char *who)
{
	msg(who, "refusing a secret's command in a token file postfix owns: "
	    "a chrooted smtp can write that file, and the renewal (the timer) "
	    "would run the command outside the chroot; keep the secret in a "
	    "systemd credential instead (--client-secret-credential NAME, "
	    "--key-passphrase-credential NAME; see SECURITY.md)");
	return XO_E_REFUSED;
}

/* Checks the source of TOK's SLOT for apponly_sources_check. */
static int
source_check(const struct tokfile *tok, enum secret_slot slot,
    const char *who)
{
	struct secret_src src;
	struct xo_err why;
	char **argv = NULL;
	int r;

	memset(&why, 0, sizeof(why));
	if ((r = secret_where(tok, slot, &src, &why)) != 0) {
		msg(who, "%s", why.msg);
		return XO_E_USAGE;
	}
	if (src.kind == SECRET_CREDENTIAL &&
	    !secret_credential_name_ok(src.value)) {
		msg(who, "%s: not a systemd credential's name (a plain file "
		    "name in $CREDENTIALS_DIRECTORY: printable ASCII, no \"/\", "
		    "not . or .., at most %d bytes); name it as in the unit's "
		    "LoadCredentialEncrypted=NAME:...",
		    slot_options[slot].credential, NAME_MAX);
		return XO_E_USAGE;
	}
	if (src.kind != SECRET_COMMAND)
		return 0;
	if (health_is_postfix(geteuid()))
		return apponly_postfix_command(who);
	if ((r = secret_argv_split(src.value, &argv, &why)) != 0) {
		msg(who, "%s: %s", slot_options[slot].command, why.msg);
		return r == -ENOMEM ? r : XO_E_USAGE;
	}
	secret_argv_free(argv);
	return 0;
}

int
apponly_sources_check(const struct tokfile *tok, const char *who)
{
	static const enum secret_slot slots[] = { SECRET_CLIENT_SECRET,
	    SECRET_PRIVATE_KEY, SECRET_KEY_PASSPHRASE, SECRET_SERVICE_ACCOUNT };
	size_t i;
	int r;

	for (i = 0; i < sizeof(slots) / sizeof(slots[0]); i++)
		if ((r = source_check(tok, slots[i], who)) != 0)
			return r;
	return 0;
}

/* Where A (a file), B (a credential) or C (a command) says a secret
 * is, the first one named, into *KIND and *VALUE; SECRET_NOWHERE if none. */
static void
named_at(const char *a, const char *b, const char *c,
    enum secret_kind *kind, const char **value)
{
	*kind = a != NULL ? SECRET_FILE : b != NULL ? SECRET_CREDENTIAL :
	    c != NULL ? SECRET_COMMAND : SECRET_NOWHERE;
	*value = a != NULL ? a : b != NULL ? b : c;
}

int
apponly_sources_store(struct tokfile *tok, const struct apponly_sources *s)
{
	enum secret_kind c, k, p, a;
	const char *cv, *kv, *pv, *av;

	named_at(s->client_secret_file, s->client_secret_credential,
	    s->client_secret_command, &c, &cv);
	named_at(s->private_key, s->private_key_credential, NULL, &k, &kv);
	named_at(s->key_passphrase_file, s->key_passphrase_credential,
	    s->key_passphrase_command, &p, &pv);
	named_at(s->service_account, s->service_account_credential, NULL,
	    &a, &av);
	/* A client secret replaces a certificate and its key (and the
	 * key's passphrase), and the other way round. */
	if (c != SECRET_NOWHERE &&
	    (secret_set(tok, SECRET_CLIENT_SECRET, c, cv) != 0 ||
	    secret_set(tok, SECRET_PRIVATE_KEY, SECRET_NOWHERE, NULL) != 0 ||
	    secret_set(tok, SECRET_KEY_PASSPHRASE, SECRET_NOWHERE, NULL) != 0 ||
	    tokfile_set(&tok->certificate_file, NULL) != 0 ||
	    tokfile_set(&tok->certificate_thumbprint, NULL) != 0))
		return -ENOMEM;
	if ((k != SECRET_NOWHERE || s->certificate != NULL) &&
	    secret_set(tok, SECRET_CLIENT_SECRET, SECRET_NOWHERE, NULL) != 0)
		return -ENOMEM;
	if (k != SECRET_NOWHERE &&
	    secret_set(tok, SECRET_PRIVATE_KEY, k, kv) != 0)
		return -ENOMEM;
	if (s->certificate != NULL &&
	    tokfile_set(&tok->certificate_file, s->certificate) != 0)
		return -ENOMEM;
	/* "" for a passphrase: the key has none any more. */
	if (p != SECRET_NOWHERE && secret_set(tok, SECRET_KEY_PASSPHRASE,
	    *pv != '\0' ? p : SECRET_NOWHERE, pv) != 0)
		return -ENOMEM;
	if (a != SECRET_NOWHERE &&
	    secret_set(tok, SECRET_SERVICE_ACCOUNT, a, av) != 0)
		return -ENOMEM;
	return 0;
}

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

/* Checks the sources S names for the app's secrets: one credential,
 * one source per secret, a passphrase only for a key.  Returns 0 or
 * XO_E_USAGE after a message. */
static int
sources_check(const struct apponly_sources *s, const char *who)
{
	int cs = named(s->client_secret_file, s->client_secret_credential,
	    s->client_secret_command);
	int pk = named(s->private_key, s->private_key_credential, NULL);
	int pp = named(s->key_passphrase_file, s->key_passphrase_credential,
	    s->key_passphrase_command);
	int sa = named(s->service_account, s->service_account_credential, NULL);

	if ((cs > 0) + (s->certificate != NULL || pk > 0) + (sa > 0) != 1) {
		msg(who, "app-only: give one credential: --client-secret-file "
		    "FILE (or --client-secret-credential NAME, "
		    "--client-secret-command CMD), or --certificate CERT.pem "
		    "--private-key KEY.pem (or --private-key-credential NAME), or "
		    "(Google) --service-account KEY.json (or "
		    "--service-account-credential NAME)");
		return XO_E_USAGE;
	}
	if (cs > 1 || pk > 1 || pp > 1 || sa > 1) {
		msg(who, "app-only: %s name where one secret is: give one",
		    cs > 1 ? "--client-secret-file, --client-secret-credential "
		    "and --client-secret-command" : pk > 1 ? "--private-key and "
		    "--private-key-credential" : pp > 1 ? "--key-passphrase-file, "
		    "--key-passphrase-credential and --key-passphrase-command" :
		    "--service-account and --service-account-credential");
		return XO_E_USAGE;
	}
	if ((s->certificate == NULL) != (pk == 0)) {
		msg(who, "app-only: --certificate and --private-key go together "
		    "(the certificate uploaded to the app, and its key; or "
		    "--private-key-credential NAME, the key as a systemd "
		    "credential)");
		return XO_E_USAGE;
	}
	if (pp > 0 && pk == 0) {
		msg(who, "app-only: --key-passphrase-file, "
		    "--key-passphrase-credential and --key-passphrase-command "
		    "open an encrypted private key: they go with --certificate "
		    "and --private-key (or --private-key-credential)");
		return XO_E_USAGE;
	}
	return 0;
}

/* Checks AL's combination of options.  Returns 0 or XO_E_USAGE after a
 * message. */
static int
login_check(const struct apponly_login *al, const char *who)
{
	int sa = al->src.service_account != NULL ||
	    al->src.service_account_credential != NULL;
	int status;

	if ((status = sources_check(&al->src, who)) != 0)
		return status;
	if (al->user == NULL || al->user[0] == '\0' ||
	    xo_has_ctl(al->user, strlen(al->user))) {
		msg(who, "app-only: which mailbox? add --user MAILBOX (the "
		    "address the app opens; it logs in as that mailbox)");
		return XO_E_USAGE;
	}
	if (!sa && al->client_id == NULL) {
		msg(who, "app-only: which app? add --client-id APP-ID (the "
		    "application (client) id of the app registration)");
		return XO_E_USAGE;
	}
	if (!sa && al->token_endpoint == NULL) {
		msg(who, "app-only: which token endpoint? add --token-endpoint URL");
		return XO_E_USAGE;
	}
	return 0;
}

/* Sets *FIELDp to the absolute path of FILE (given to OPTION), or
 * leaves it alone if FILE is NULL.  Returns 0, or -ENOMEM / an errors.h
 * code after a message. */
static int
set_path(char **fieldp, const char *who, const char *option, const char *file)
{
	char *abs = NULL;
	int r;

	if (file == NULL)
		return 0;
	if ((r = absolute(who, option, file, &abs)) != 0)
		return r;
	r = tokfile_set(fieldp, abs);
	free(abs);
	if (r != 0)
		msg(who, "out of memory");
	return r == 0 ? 0 : -ENOMEM;
}

/* Fills TOK's credential members from AL's sources (files by absolute
 * path, credentials and commands as given). */
static int
login_sources(const struct apponly_login *al, const char *who,
    struct tokfile *tok)
{
	const struct apponly_sources *s = &al->src;
	int r;

	if ((r = set_path(&tok->client_secret_file, who,
	    "--client-secret-file", s->client_secret_file)) != 0 ||
	    (r = set_path(&tok->certificate_file, who, "--certificate",
	    s->certificate)) != 0 ||
	    (r = set_path(&tok->private_key_file, who, "--private-key",
	    s->private_key)) != 0 ||
	    (r = set_path(&tok->private_key_passphrase_file, who,
	    "--key-passphrase-file", s->key_passphrase_file)) != 0 ||
	    (r = set_path(&tok->service_account_file, who, "--service-account",
	    s->service_account)) != 0)
		return r;
	if (tokfile_set(&tok->client_secret_credential,
	    s->client_secret_credential) != 0 ||
	    tokfile_set(&tok->client_secret_command,
	    s->client_secret_command) != 0 ||
	    tokfile_set(&tok->private_key_credential,
	    s->private_key_credential) != 0 ||
	    tokfile_set(&tok->private_key_passphrase_credential,
	    s->key_passphrase_credential) != 0 ||
	    tokfile_set(&tok->private_key_passphrase_command,
	    s->key_passphrase_command) != 0 ||
	    tokfile_set(&tok->service_account_credential,
	    s->service_account_credential) != 0) {
		msg(who, "out of memory");
		return -ENOMEM;
	}
	return apponly_sources_check(tok, who);
}

/* Fills TOK's credential members from AL and, for a service account,
 * the endpoint and client id from its key (read now, from where it
 * lives, as a renewal will: and to say at once what is wrong with it). */
static int
login_credentials(const struct apponly_login *al, const char *who,
    struct tokfile *tok)
{
	struct jwt_service_account sa;
	struct jwt_key *key = NULL;
	struct oauth_error err;
	struct secret_src src;
	struct secret text;
	char at[XO_SHELL_WORD_MAX];
	int r, status;

	memset(&sa, 0, sizeof(sa));
	memset(&err, 0, sizeof(err));
	if ((status = login_sources(al, who, tok)) != 0)
		return status;
	if (tok->service_account_file == NULL &&
	    tok->service_account_credential == NULL)
		return 0;
	if ((status = read_source(tok, SECRET_SERVICE_ACCOUNT, &src, &text,
	    &err)) != 0) {
		msg(who, "%s", err.base.msg);
		return status;
	}
	r = jwt_service_account_parse(text.data, text.len, &key, &sa);
	secret_clear(&text);
	if (r != 0) {
		status = credential_error(&err, r, "service-account key file",
		    src.kind == SECRET_FILE ? "--service-account" :
		    "--service-account-credential", source_words(&src, at,
		    sizeof(at)));
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
	    tokfile_set(&tok->grant, al->src.service_account != NULL ||
	    al->src.service_account_credential != NULL ?
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
	else if (strcmp(tok->grant, APPONLY_CLIENT_CREDENTIALS) == 0)
		snprintf(how, sizeof(how), "client credentials, client secret");
	else
		snprintf(how, sizeof(how), "service account, client id %s",
		    tok->client_id);
	snprintf(buf, size, "app-only access to %s (%s)", tok->user, how);
}
