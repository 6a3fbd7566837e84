/*
 * login: presets, the two flows, and the token file they produce.
 *
 * Secrets here: the client secret (read from a file or stdin, never from
 * argv), the PKCE code verifier, the authorization code, the device code
 * and the tokens.  Each lives in a buffer this file owns and wipes.  What
 * the user sees (the URL, the user code) is not secret; the URL carries
 * only the PKCE challenge and the state.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "apponly.h"
#include "base64url.h"
#include "become.h"
#include "credential.h"
#include "errors.h"
#include "idtoken.h"
#include "health.h"
#include "keyring.h"
#include "login.h"
#include "loopback.h"
#include "msg.h"
#include "oauth.h"
#include "pkce.h"
#include "provider.h"
#include "qr.h"
#include "store.h"
#include "tokfile.h"
#include "xo_util.h"

extern char **environ;

#define SECRET_MAX	4096	/* longest client secret we read */
#define DEVICE_GRANT	"urn:ietf:params:oauth:grant-type:device_code"
#define TRANSIENT_TRIES	3	/* device flow: network hiccups in a row */

static int
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while (p != NULL && (p = strstr(p, word)) != NULL) {
		if ((p == list || p[-1] == ' ') && (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

/* --- what the user granted --------------------------------------------- */

/* The words a provider's consent screen shows for a mail scope, where a
 * user may untick it (granular consent). */
static const struct {
	const char	*scope;
	const char	*words;
} consent_words[] = {
	{ "https://mail.google.com/", "Read, compose, send, and permanently "
	  "delete all your email from Gmail" },
};

/* The last path segment of the scope S (N bytes): "SMTP.Send" of
 * "https://outlook.office.com/SMTP.Send"; S itself if it has no '/';
 * "" if it ends in '/'.  *LENp gets its length. */
static const char *
scope_leaf(const char *s, size_t n, size_t *lenp)
{
	size_t i = n;

	while (i > 0 && s[i - 1] != '/')
		i--;
	*lenp = n - i;
	return s + i;
}

/* 1 if the space-separated list GRANTED holds SCOPE: the same word, or
 * (Microsoft may name a resource's scope either way) the same last
 * segment of a URI. */
static int
scope_granted(const char *granted, const char *scope)
{
	size_t sn = strlen(scope), gn, sl, gl;
	const char *p = granted, *sleaf, *gleaf;

	sleaf = scope_leaf(scope, sn, &sl);
	for (p += strspn(p, " "); *p != '\0'; p += strspn(p, " ")) {
		gn = strcspn(p, " ");
		gleaf = scope_leaf(p, gn, &gl);
		if ((gn == sn && strncasecmp(p, scope, sn) == 0) ||
		    (sl > 0 && gl == sl && strncasecmp(gleaf, sleaf, sl) == 0))
			return 1;
		p += gn;
	}
	return 0;
}

/* 1 if SCOPE is a mail scope: a word of some provider row's scope
 * (provider.h's table) but offline_access, which any OAuth server
 * understands and no consent screen shows. */
static int
mail_scope(const char *scope)
{
	const struct provider_row *rows;
	size_t i, n;

	if (strcmp(scope, "offline_access") == 0)
		return 0;
	rows = provider_table(&n);
	for (i = 0; i < n; i++)
		if (rows[i].scope != NULL && has_word(rows[i].scope, scope))
			return 1;
	return 0;
}

/* The first mail scope this login asked for (P's scope) that the server
 * did not grant (T's scope; absent: all as asked, RFC 6749 5.1), copied
 * into BUF; 0 if none is missing. */
static int
scope_missing(const struct provider *p, const struct oauth_tokens *t,
    char *buf, size_t size)
{
	const char *w;
	size_t n;

	if (t->scope == NULL || p->scope == NULL)
		return 0;
	for (w = p->scope + strspn(p->scope, " "); *w != '\0';
	    w += n, w += strspn(w, " ")) {
		n = strcspn(w, " ");
		if (n >= size)
			continue;
		snprintf(buf, size, "%.*s", (int)n, w);
		if (mail_scope(buf) && !scope_granted(t->scope, buf))
			return 1;
	}
	return 0;
}

/* Refuses a login whose token lacks a mail scope (a box left unticked
 * on the consent screen): such a token opens no mailbox.  Returns 0,
 * or XO_E_REFUSED after a message; nothing is written then. */
static int
login_scope_check(const char *who, const char *again,
    const struct provider *p, const struct oauth_tokens *t)
{
	char scope[256], granted[256], word[XO_SHELL_WORD_MAX];
	const char *words = NULL;
	size_t i;

	if (!scope_missing(p, t, scope, sizeof(scope)))
		return 0;
	for (i = 0; i < sizeof(consent_words) / sizeof(consent_words[0]); i++)
		if (strcmp(consent_words[i].scope, scope) == 0)
			words = consent_words[i].words;
	snprintf(granted, sizeof(granted), "%s", t->scope);
	xo_printable_utf8(granted);
	if (words != NULL)
		msg(who, "%s granted \"%s\" but not %s, without which the "
		    "token opens no mail: the box \"%s\" was left unticked on "
		    "the consent screen; nothing was written: log in again and "
		    "tick it: " PROG " login %s", p->row->title, granted, scope,
		    words, xo_shell_word(word, sizeof(word), again));
	else
		msg(who, "%s granted \"%s\" but not %s, without which the "
		    "token opens no mail: it was refused on the consent screen "
		    "(a box left unticked) or by an administrator's policy; "
		    "nothing was written: log in again and grant it: " PROG
		    " login %s", p->row->title, granted, scope,
		    xo_shell_word(word, sizeof(word), again));
	return XO_E_REFUSED;
}

/* Reads the client secret from FILE ("-": stdin): its first line.
 * Returns 0 with a new *SECRETp, or an errors.h code after a message. */
static int
read_client_secret(const char *file, const char *who, char **secretp)
{
	char *buf = NULL;
	size_t got = 0;
	int fd = -1, r;

	*secretp = NULL;
	if (strcmp(file, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		/* Not named: a mistaken secret must not be echoed. */
		msg(who, "cannot open the file given to --client-secret-file: %s",
		    strerror(errno));
		return errno == ENOENT ? XO_E_NOINPUT : XO_E_REFUSED;
	}
	if ((buf = malloc(SECRET_MAX + 1)) == NULL) {
		msg(who, "out of memory");
		r = -ENOMEM;
		goto out;
	}
	if ((r = xo_read_full(fd, buf, SECRET_MAX, &got)) != 0) {
		msg(who, "cannot read the client secret: %s", strerror(-r));
		r = XO_E_IO;
		goto out;
	}
	buf[got] = '\0';
	xo_secret_first_line(buf, got);
	if (buf[0] == '\0' || xo_has_ctl(buf, strlen(buf))) {
		msg(who, "the client secret %s is empty or holds control "
		    "characters; put the secret alone on its first line",
		    strcmp(file, "-") == 0 ? "on stdin" : "file");
		r = XO_E_DATA;
		goto out;
	}
	*secretp = buf;
	buf = NULL;
	r = 0;
 out:
	xo_freezero(buf, SECRET_MAX + 1);
	if (fd != -1 && fd != STDIN_FILENO)
		close(fd);
	return r;
}

/* --- who logged in ---------------------------------------------------- */

/* --- the token file ---------------------------------------------------- */

/* mkdir -p DIR, new directories 0700. */
static int
mkdir_p(const char *dir)
{
	char *p, *copy, c;
	int r = 0;

	if ((copy = strdup(dir)) == NULL)
		return -ENOMEM;
	for (p = copy + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(copy, 0700) == -1 && errno != EEXIST) {
			r = -errno;
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(copy);
	return r;
}

/* The directory of PATH, in a new string (NULL: out of memory). */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	return strndup(path, slash == path ? 1 : (size_t)(slash - path));
}

/* Before anyone signs in: can we write FILE (PATH, for messages)? */
static int
check_writable(const char *file, const char *path, const char *who)
{
	char *dir = NULL, *shown = NULL;
	int status = 0;

	if ((dir = dir_of(file)) == NULL || (shown = dir_of(path)) == NULL) {
		msg(who, "out of memory");
		status = -ENOMEM;
	} else if (access(dir, W_OK | X_OK) != 0) {
		msg(who, "cannot write the token file into %s: %s; fix that "
		    "first, then log in", shown, strerror(errno));
		status = XO_E_CANTCREAT;
	}
	free(shown);
	free(dir);
	return status;
}

/* Creates the store holding ACCOUNT's file PATH, as the caller (their
 * own store: XDG_DATA_HOME or HOME). */
static int
store_create(const char *path, const char *who)
{
	char *dir;
	int r;

	if ((dir = dir_of(path)) == NULL) {
		msg(who, "out of memory");
		return -ENOMEM;
	}
	if ((r = mkdir_p(dir)) != 0)
		msg(who, "cannot create the token store %s: %s", dir,
		    strerror(-r));
	free(dir);
	return r != 0 ? XO_E_CANTCREAT : 0;
}

/* What a login keeps in the token file besides the grant. */
struct settings {
	const char	*proxy;		/* NULL: none */
	const char	*no_proxy;
	const char	*notify;
	int		 keyring;	/* --keyring */
};

/* Decides the proxy and notify command to store (see login.h), from LO,
 * the environment and OLD (the previous file, or NULL), and says which
 * proxy is used.  The strings point into those.  Returns 0 or a code
 * after a message. */
static int
settings_resolve(const struct login_options *lo, const char *who,
    const char *endpoint, const struct tokfile *old, struct settings *set)
{
	const char *var = NULL, *env_no = NULL, *env, *from = NULL;
	struct oauth_error err;
	char shown[256];

	memset(set, 0, sizeof(*set));
	set->keyring = lo->keyring;
	env = oauth_env_proxy(endpoint, &var, &env_no);
	if (lo->proxy != NULL) {
		set->proxy = *lo->proxy != '\0' ? lo->proxy : NULL;
		set->no_proxy = env_no;
		from = "--proxy";
	} else if (env != NULL) {
		set->proxy = env;
		set->no_proxy = env_no;
		from = var;
	} else if (old != NULL && old->proxy != NULL) {
		set->proxy = old->proxy;
		set->no_proxy = old->no_proxy;
		from = "the previous login";
	}
	if (lo->no_proxy != NULL)
		set->no_proxy = *lo->no_proxy != '\0' ? lo->no_proxy : NULL;
	if (set->proxy != NULL &&
	    oauth_proxy_check(set->proxy, shown, sizeof(shown), &err) != 0) {
		msg(who, "%s: %s; give --proxy URL, or --proxy '' for none",
		    from, err.base.msg);
		return lo->proxy != NULL ? XO_E_USAGE : XO_E_CONFIG;
	}
	if (set->proxy != NULL)
		msg(who, "using the proxy %s (from %s)%s%s, and storing it for "
		    "every refresh of this file (--proxy URL for another, "
		    "--proxy '' for none)", shown, from,
		    set->no_proxy != NULL ? ", except for " : "",
		    set->no_proxy != NULL ? set->no_proxy : "");
	else if (lo->proxy != NULL || (old != NULL && old->proxy != NULL))
		msg(who, "no proxy: the token endpoint is reached directly");
	if (lo->notify != NULL)
		set->notify = *lo->notify != '\0' ? lo->notify : NULL;
	else if (old != NULL)
		set->notify = old->notify;
	return 0;
}

/* Replacing the previous file under its lock: its health says whether
 * this login ends a "needs login" episode. */
struct replace {
	struct tokfile	*fresh;		/* after the swap: the old contents */
	int		 called;
	enum health_event event;
};

static int
replace_locked(struct tokfile *tok, void *arg)
{
	struct replace *rp = arg;
	struct tokfile swap;

	rp->called = 1;
	health_record_success(tok, xo_now_s(), &rp->event);
	swap = *tok;
	*tok = *rp->fresh;
	*rp->fresh = swap;
	return 0;
}

/* Writes TOK to PATH, in place of what is there, under its lock; *EVp
 * says whether the file needed a login.  Returns 0 or a code. */
static int
replace_file(const char *path, struct tokfile *tok, enum health_event *evp)
{
	struct replace rp = { tok, 0, HEALTH_EV_NONE };
	int r;

	*evp = HEALTH_EV_NONE;
	r = tokfile_update(path, replace_locked, &rp);
	/* No file, or one we cannot read: write afresh (TOK untouched). */
	if (r != 0 && !rp.called)
		return tokfile_write(path, tok);
	if (r == 0)
		*evp = rp.event;
	return r;
}

/* The login ended a "needs login" episode: tell the notify command. */
static void
tell_recovered(const char *notify, const char *who, const char *user,
    const char *path, const char *file)
{
	struct health_notice n;
	struct stat st;
	struct xo_err err;
	char *cmd = NULL;

	memset(&n, 0, sizeof(n));
	n.event = HEALTH_EV_RECOVERED;
	n.account = who;
	n.user = user;
	n.path = path;
	n.reason = "";
	n.fix = "";
	/* After the write: a skip is said on stderr only. */
	if (health_notify_command(notify, &cmd, &err) != 0 ||
	    cmd == NULL)
		return;
	health_announce(cmd, &n, lstat(file, &st) == 0 ? st.st_uid :
	    (uid_t)-1);
	free(cmd);
}

/* Stores SET in TOK.  Returns 0 or -ENOMEM. */
static int
settings_store(struct tokfile *tok, const struct settings *set)
{
	if (tokfile_set(&tok->proxy, set->proxy) != 0 ||
	    tokfile_set(&tok->no_proxy, set->proxy != NULL ? set->no_proxy :
	    NULL) != 0 ||
	    tokfile_set(&tok->notify, set->notify) != 0)
		return -ENOMEM;
	return 0;
}

/* Writes TOK, complete, to PATH in place of what is there, says what
 * was written (DONE; until when the access token is valid, and AFTER
 * that) and, if
 * that ends a "needs login" episode, tells SET's notify command.  TOK
 * holds the previous file's contents afterwards (replace_file). */
static int
write_login(const char *path, const char *file, const char *who,
    struct tokfile *tok, const char *done, const char *after,
    const struct settings *set)
{
	enum health_event event;
	char when[64], user[256];
	time_t exp = (time_t)tok->expires_at;
	struct tm tm;
	int r;

	snprintf(user, sizeof(user), "%s", tok->user);
	if (localtime_r(&exp, &tm) == NULL ||
	    strftime(when, sizeof(when), "%H:%M", &tm) == 0)
		snprintf(when, sizeof(when), "@%lld", (long long)exp);
	if ((r = replace_file(file, tok, &event)) != 0) {
		msg(who, "signed in, but cannot write the token file %s: %s; "
		    "fix that and log in again", path, tokfile_strerror(r));
		return r == -ENOMEM ? -ENOMEM : XO_E_CANTCREAT;
	}
	msg(who, "%s; token file %s written (access token valid until %s%s)",
	    done, path, when, after);
	if (event == HEALTH_EV_RECOVERED)
		tell_recovered(set->notify, who, user, path, file);
	return 0;
}

/* login --keyring: is the keyring there to store in?  Asked before the
 * sign-in, so that nobody signs in for nothing.  Returns 0 or a
 * KEYRING_E_* code after a message. */
static int
login_keyring_check(const struct login_options *lo, const char *who)
{
	struct xo_err err;
	int r;

	if (!lo->keyring)
		return 0;
	if ((r = keyring_probe(&err)) != 0)
		msg(who, "--keyring: %s; not signing in", err.msg);
	return r;
}

/* login --keyring: puts TOK's refresh token into the desktop keyring
 * (keyring.h; the item TOK and PATH name), first: then TOK keeps no
 * refresh token but "refresh_token_store": "keyring".  If the keyring
 * will not take it, nothing is stored (the caller writes no file).
 * Returns 0 or a code after a message. */
static int
save_keyring(const char *who, const char *path, struct tokfile *tok)
{
	struct keyring_item it;
	struct xo_err err;
	char account[256];
	int r;

	if (tok->refresh_token == NULL)
		return 0;	/* save() says what that means */
	if ((r = keyring_item_from(&it, tok, path, account, sizeof(account),
	    &err)) != 0 || (r = keyring_store(&it, tok->refresh_token,
	    strlen(tok->refresh_token), 0, &err)) != 0) {
		msg(who, "signed in, but %s; nothing stored, %s not written: "
		    "log in again once that is fixed (or without --keyring)",
		    err.msg, path);
		return r;
	}
	xo_free_secret(tok->refresh_token);
	tok->refresh_token = NULL;
	if (tokfile_set(&tok->refresh_token_store, "keyring") != 0) {
		msg(who, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

/* After a login that replaced OLD (NULL: none) with a file for USER,
 * CLIENT_ID, ENDPOINT (KEYRING: kept in the keyring): OLD's keyring
 * item, if it is not the one just replaced, goes (said either way). */
static void
login_keyring_leftover(const char *who, const char *path,
    const struct tokfile *old, int keyring, const char *user,
    const char *client_id, const char *endpoint)
{
	struct keyring_item it;
	struct xo_err err;
	char account[256], cmd[2048];

	if (!keyring_used(old) || (keyring && old->user != NULL &&
	    strcmp(old->user, user) == 0 && old->client_id != NULL &&
	    strcmp(old->client_id, client_id) == 0 &&
	    old->token_endpoint != NULL &&
	    strcmp(old->token_endpoint, endpoint) == 0))
		return;
	if (keyring_item_from(&it, old, path, account, sizeof(account),
	    &err) != 0)
		return;
	if (keyring_clear(&it, &err) == 0)
		msg(who, "removed the previous login's refresh token from the "
		    "desktop keyring");
	else
		msg(who, "%s; the previous login's refresh token stays there: "
		    "remove it later with: %s", err.msg,
		    keyring_clear_command(&it, cmd, sizeof(cmd)));
}

/* Writes the new grant and SET to PATH.  Takes over nothing: copies. */
static int
save(const char *path, const char *file, const char *account, const char *who,
    const struct provider *p, const char *client_id,
    const char *client_secret, const char *user,
    const struct oauth_tokens *t, int64_t asked_at,
    const struct settings *set)
{
	struct tokfile *tok;
	char done[512], word[XO_SHELL_WORD_MAX];
	int status;

	if ((tok = calloc(1, sizeof(*tok))) == NULL) {
		msg(who, "out of memory");
		return -ENOMEM;
	}
	tok->version = TOKFILE_VERSION;
	tok->expires_at = asked_at + t->expires_in;
	tok->refreshed_at = xo_now_s();
	tok->login_at = tok->refreshed_at;
	if (tokfile_set(&tok->account, account) != 0 ||
	    tokfile_set(&tok->user, user) != 0 ||
	    tokfile_set(&tok->provider, p->name) != 0 ||
	    tokfile_set(&tok->token_endpoint, p->token_endpoint) != 0 ||
	    tokfile_set(&tok->client_id, client_id) != 0 ||
	    tokfile_set(&tok->client_secret, client_secret) != 0 ||
	    tokfile_set(&tok->scope, p->scope) != 0 ||
	    tokfile_set(&tok->access_token, t->access_token) != 0 ||
	    tokfile_set(&tok->refresh_token, t->refresh_token) != 0 ||
	    settings_store(tok, set) != 0) {
		msg(who, "out of memory");
		status = -ENOMEM;
		goto out;
	}
	if (set->keyring && (status = save_keyring(who, path, tok)) != 0)
		goto out;
	snprintf(done, sizeof(done), "signed in as %s", user);
	if ((status = write_login(path, file, who, tok, done,
	    t->refresh_token != NULL ? ", refreshed automatically" : "",
	    set)) != 0)
		goto out;
	if (set->keyring && t->refresh_token != NULL)
		msg(who, "the refresh token is in the desktop keyring (Secret "
		    "Service), not in %s", path);
	if (t->refresh_token == NULL)
		msg(who, "the server issued no refresh token (is offline_access "
		    "or the provider's equivalent in the scope?); you will have "
		    "to log in again when the access token expires");
	msg(who, "check it with: " PROG " test %s --imap HOST (or --pop, --smtp)",
	    xo_shell_word(word, sizeof(word), account != NULL ? account :
	    path));
	status = 0;
 out:
	tokfile_free(tok);
	return status;
}

/* A refusal the diagnostics table knows (diag.h): says what happened,
 * its cause and its fix (LO, if not NULL, fills in the names), and
 * returns 1; else 0. */
static int
report_known_error(const char *who, const struct login_options *lo,
    const struct oauth_error *err)
{
	const struct diag_vars v = { who, lo != NULL ? lo->user : NULL,
	    lo != NULL ? lo->client_id : NULL, lo != NULL ? lo->tenant : NULL,
	    0 };
	char why[1024];

	if (err->diag == NULL)
		return 0;
	msg(who, "%s: %s", err->base.msg, diag_explain(err->diag, &v, why,
	    sizeof(why)));
	return 1;
}

/* Says what went wrong at the token endpoint, and what to do. */
static void
report_grant_error(const char *who, const struct login_options *lo,
    const struct oauth_error *err)
{
	if (report_known_error(who, lo, err))
		return;
	switch (err->hint) {
	case OAUTH_HINT_CLIENT:
		msg(who, "%s; check --client-id and the client secret", err->base.msg);
		break;
	case OAUTH_HINT_SCOPE:
		msg(who, "%s; check --scope", err->base.msg);
		break;
	case OAUTH_HINT_CAFILE:
	case OAUTH_HINT_PEER:
		msg(who, "%s; if the server uses a private CA, add --cafile FILE",
		    err->base.msg);
		break;
	case OAUTH_HINT_NETWORK:
		msg(who, "%s; check the network and the endpoint", err->base.msg);
		break;
	default:
		msg(who, "%s; log in again", err->base.msg);
		break;
	}
}

/* --- the browser flow ------------------------------------------------- */

static int
program_on_path(const char *name)
{
	const char *path = getenv("PATH"), *p, *end;
	char buf[PATH_MAX];

	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = end) {
		end = p + strcspn(p, ":");
		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)(end - p), p,
		    name) < (int)sizeof(buf) && access(buf, X_OK) == 0)
			return 1;
		if (*end == ':')
			end++;
	}
	return 0;
}

/* Starts $BROWSER URL (the first of a ':' list; "%s" stands for the URL)
 * or, with a display, xdg-open URL, without waiting for it.  Returns its
 * pid, 0 if there is nothing to run, -1 if it could not start. */
static pid_t
open_browser(const char *url, const char *who)
{
	const char *browser = getenv("BROWSER");
	char *cmd = NULL, *p, *script = NULL;
	char arg0[] = "sh", argc_[] = "-c", xdg[] = "xdg-open";
	char *argv[5];
	pid_t pid = 0;
	size_t n;
	int e;

	if (browser != NULL && *browser != '\0') {
		n = strcspn(browser, ":");
		if ((cmd = strndup(browser, n)) == NULL)
			return -1;
		/* sh runs it; the URL goes in as "$1", never into the text. */
		if ((p = strstr(cmd, "%s")) != NULL) {
			*p = '\0';
			e = asprintf(&script, "%s\"$1\"%s", cmd, p + 2);
		} else
			e = asprintf(&script, "%s \"$1\"", cmd);
		if (e == -1) {
			free(cmd);
			return -1;
		}
		argv[0] = arg0;
		argv[1] = argc_;
		argv[2] = script;
		argv[3] = arg0;		/* $0 */
		argv[4] = NULL;
		{
			char *full[6] = { argv[0], argv[1], argv[2], argv[3],
			    (char *)(uintptr_t)url, NULL };	/* $1 */
			e = posix_spawn(&pid, "/bin/sh", NULL, NULL, full,
			    environ);
		}
		if (e != 0) {
			msg(who, "cannot run $BROWSER: %s", strerror(e));
			pid = -1;
		}
	} else if ((getenv("DISPLAY") != NULL || getenv("WAYLAND_DISPLAY") != NULL) &&
	    program_on_path("xdg-open")) {
		argv[0] = xdg;
		argv[1] = (char *)(uintptr_t)url;
		argv[2] = NULL;
		if ((e = posix_spawnp(&pid, "xdg-open", NULL, NULL, argv,
		    environ)) != 0) {
			msg(who, "cannot run xdg-open: %s", strerror(e));
			pid = -1;
		}
	}
	free(cmd);
	free(script);
	return pid;
}

/* Builds the authorization request URL into a new *URLp. */
static int
authorize_url(const struct provider *p, const char *client_id,
    const char *redirect_uri, const char *state, const char *challenge,
    const char *login_hint, char **urlp)
{
	const struct oauth_field fields[] = {
		{ "response_type", "code" },
		{ "client_id", client_id },
		{ "redirect_uri", redirect_uri },
		{ "scope", p->scope },
		{ "state", state },
		{ "code_challenge", challenge },
		{ "code_challenge_method", "S256" },
		{ "login_hint", login_hint },
	};

	return oauth_authorize_url(p->auth_endpoint, fields,
	    sizeof(fields) / sizeof(fields[0]), p->extra_auth, urlp);
}

/* Says why the browser's answer did not come (RES, after waiting
 * WAIT_S on REDIRECT_URI; BROWSER: the browser command's pid, or 0).
 * Returns the code. */
static int
report_no_answer(const char *who, const struct loopback_result *res,
    pid_t browser, long wait_s, const char *redirect_uri)
{
	int wstatus;

	switch (res->outcome) {
	case LOOPBACK_DENIED:
		msg(who, "sign-in refused by the provider (%s%s%s); check "
		    "--client-id, --scope and the account, then log in again",
		    res->error, res->error_description[0] ? ": " : "",
		    res->error_description);
		return XO_E_REFUSED;
	case LOOPBACK_BAD_STATE:
		msg(who, "refused an answer on %s with a wrong or missing "
		    "state: it was not for this login (someone else's "
		    "redirect?); log in again", redirect_uri);
		return XO_E_PROTOCOL;
	case LOOPBACK_NO_CODE:
		msg(who, "the browser came back without an authorization "
		    "code; log in again");
		return XO_E_PROTOCOL;
	case LOOPBACK_IO:
		msg(who, "waiting for the browser failed: %s",
		    strerror(res->sys_errno));
		return XO_E_OSERR;
	default:
		break;
	}
	if (browser > 0 && waitpid(browser, &wstatus, WNOHANG) == browser &&
	    (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0))
		msg(who, "no answer from the browser within %ld s (the browser "
		    "command failed); open the URL yourself, or use --flow "
		    "device", wait_s);
	else
		msg(who, "no answer from the browser within %ld s; log in "
		    "again (--wait SECS for longer), or use --flow device on a "
		    "machine without a browser", wait_s);
	return XO_E_TEMPFAIL;
}

/* Checks what the browser flow needs before anything is started. */
static int
browser_check(const char *who, const struct provider *p, const char *rhost)
{
	struct oauth_error err;
	int r;

	if (p->auth_endpoint == NULL) {
		msg(who, "the browser flow needs --auth-endpoint URL; or use "
		    "--flow device");
		return XO_E_USAGE;
	}
	if ((r = oauth_url_check(p->auth_endpoint, "the authorization endpoint",
	    &err)) != 0) {
		msg(who, "%s", err.base.msg);
		return r;
	}
	if (strcmp(rhost, "127.0.0.1") != 0 && strcmp(rhost, "localhost") != 0) {
		msg(who, "--redirect-host is 127.0.0.1 or localhost");
		return XO_E_USAGE;
	}
	return 0;
}

/* The authorization code CODE for tokens (RFC 6749 4.1.3, with the PKCE
 * VERIFIER).  Returns 0 with *OUT filled, or a code after a message. */
static int
exchange_code(const struct login_options *lo, const struct oauth_options *net,
    const char *who, const struct provider *p, const char *client_secret,
    const char *code, const char *redirect_uri, const char *verifier,
    struct oauth_tokens *out, int64_t *asked_atp)
{
	const struct oauth_field fields[] = {
		{ "grant_type", "authorization_code" },
		{ "code", code },
		{ "redirect_uri", redirect_uri },
		{ "client_id", lo->client_id },
		{ "client_secret", client_secret },
		{ "code_verifier", verifier },
	};
	struct oauth_error err;
	int r;

	/* The code's tokens start their life when issued. */
	*asked_atp = xo_now_s();
	if ((r = oauth_grant(p->token_endpoint, fields,
	    sizeof(fields) / sizeof(fields[0]), "authorization code", net, out,
	    &err)) != 0)
		report_grant_error(who, lo, &err);
	return r;
}

static int
flow_browser(const struct login_options *lo, const struct oauth_options *net,
    const char *who, const struct provider *p, const char *client_secret,
    struct oauth_tokens *out, int64_t *asked_atp)
{
	struct loopback *lb = NULL;
	struct loopback_result res;
	char verifier[PKCE_VERIFIER_LEN + 1] = "", state[40] = "";
	char challenge[PKCE_CHALLENGE_LEN + 1], redirect_uri[64];
	char *url = NULL;
	const char *rhost = lo->redirect_host != NULL ? lo->redirect_host :
	    "127.0.0.1";
	pid_t browser = 0;
	int port = 0, r, status, wstatus;
	long wait_s = lo->wait_s > 0 ? lo->wait_s : LOGIN_DEFAULT_WAIT_S;

	memset(&res, 0, sizeof(res));
	if ((status = browser_check(who, p, rhost)) != 0)
		return status;
	if (pkce_random(verifier, sizeof(verifier), 32) != 0 ||
	    pkce_random(state, sizeof(state), 24) != 0 ||
	    pkce_s256(challenge, verifier) != 0) {
		msg(who, "cannot get random bytes or SHA-256 from OpenSSL");
		status = XO_E_SOFTWARE;
		goto out;
	}
	if ((r = loopback_open(lo->port, strcmp(rhost, "localhost") == 0,
	    &lb, &port)) != 0) {
		msg(who, "cannot listen on %s:%d for the browser's answer: "
		    "%s%s", strcmp(rhost, "localhost") == 0 ?
		    "127.0.0.1 and [::1]" : "127.0.0.1", lo->port,
		    strerror(-r), lo->port != 0 ?
		    "; choose another --port, or leave it out" : "");
		status = XO_E_UNAVAILABLE;
		goto out;
	}
	snprintf(redirect_uri, sizeof(redirect_uri), "http://%s:%d/", rhost,
	    port);
	if (authorize_url(p, lo->client_id, redirect_uri, state, challenge,
	    lo->login_hint, &url) != 0) {
		msg(who, "out of memory");
		status = -ENOMEM;
		goto out;
	}
	/* Working as another user for root (--for postfix), a browser
	 * would run as them with root's environment (its proxy password,
	 * vault token, X authority): none is started. */
	if (!lo->no_browser && !become_dropped())
		browser = open_browser(url, who);
	msg(who, "%s this URL in a browser on this machine and sign in "
	    "(waiting %ld s for the answer on %s):\n\n    %s\n",
	    browser > 0 ? "a browser should open; if not, open" :
	    become_dropped() ? "no browser is started for another user; "
	    "open" : "open", wait_s, redirect_uri, url);
	*asked_atp = xo_now_s();
	if (loopback_wait(lb, wait_s * 1000, state, &res) != 0)
		status = report_no_answer(who, &res, browser, wait_s,
		    redirect_uri);
	else
		status = exchange_code(lo, net, who, p, client_secret, res.code,
		    redirect_uri, verifier, out, asked_atp);
 out:
	if (browser > 0)
		(void)waitpid(browser, &wstatus, WNOHANG);
	loopback_result_clear(&res);
	loopback_close(lb);
	free(url);
	xo_wipe(verifier, sizeof(verifier));
	xo_wipe(state, sizeof(state));
	return status;
}

/* --- the device flow --------------------------------------------------- */

/* Sleeps SECS seconds; on a terminal, counts down to DEADLINE. */
static void
wait_tick(int64_t secs, int64_t deadline, int tty)
{
	int64_t i, left;

	for (i = 0; i < secs; i++) {
		if (tty) {
			left = deadline - xo_now_s();
			if (left < 0)
				left = 0;
			fprintf(stderr, "\r  waiting for the sign-in... %lld:%02lld "
			    "left \033[K", (long long)(left / 60),
			    (long long)(left % 60));
			fflush(stderr);
		}
		sleep(1);
	}
}

/* The loopback port the hint below suggests: any free one will do. */
#define HINT_PORT	8400

/* A device code sign-in refused by a Conditional Access policy (ERR):
 * since 2025 Microsoft-managed policies block the device code flow in
 * many tenants, where the browser flow still works, from a headless host
 * too, through an ssh port forward to its loopback listener.  Returns 1
 * after saying so, 0 if ERR is another refusal. */
static int
device_blocked(const char *who, const struct oauth_error *err)
{
	if (err->diag == NULL ||
	    strcmp(err->diag->name, "aad-conditional-access") != 0)
		return 0;
	msg(who, "%s: a Conditional Access policy blocks the device code "
	    "flow for this sign-in (Microsoft-managed policies do so since "
	    "2025); the browser flow still works: run the same login with "
	    "--flow browser --port %d; on a machine without a browser, "
	    "connect to it first with ssh -L %d:localhost:%d HOST and open "
	    "the URL it prints in the browser on your side (or an admin "
	    "exempts this app from the policy: Entra admin center > Sign-in "
	    "logs shows which one)", err->base.msg, HINT_PORT, HINT_PORT,
	    HINT_PORT);
	return 1;
}

/* Starts a device authorization and tells the user where to go.
 * Returns 0 with *DEV filled, or a code after a message. */
static int
device_start(const struct login_options *lo, const struct oauth_options *net,
    const char *who, const struct provider *p, struct oauth_device *dev)
{
	const struct oauth_field fields[] = {
		{ "client_id", lo->client_id },
		{ "scope", p->scope },
	};
	struct oauth_error err;
	const char *show;
	int r;

	if (p->device_refused) {
		msg(who, "%s does not allow mail scopes (%s) in its device "
		    "flow; use --flow browser (on a machine without a browser, "
		    "forward the port: ssh -L PORT:127.0.0.1:PORT, and add "
		    "--port PORT)", p->row->title, p->row->scope);
		return XO_E_USAGE;
	}
	if (p->device_endpoint == NULL) {
		msg(who, "the device flow needs --device-endpoint URL; or use "
		    "--flow browser");
		return XO_E_USAGE;
	}
	if ((r = oauth_device_authorize(p->device_endpoint, fields,
	    sizeof(fields) / sizeof(fields[0]), net, dev, &err)) != 0) {
		if (!device_blocked(who, &err))
			msg(who, "%s", err.base.msg);
		return r;
	}
	msg(who, "to sign in, open %s in a browser (on any device) and "
	    "enter the code %s (valid %lld min)", dev->verification_uri,
	    dev->user_code, (long long)(dev->expires_in + 30) / 60);
	if (dev->verification_uri_complete != NULL)
		msg(who, "or open %s", dev->verification_uri_complete);
	show = dev->verification_uri_complete != NULL ?
	    dev->verification_uri_complete : dev->verification_uri;
	if (!lo->no_qr && isatty(STDOUT_FILENO) && qr_print(stdout, show) == 0)
		printf("  (scan to open %s)\n", show);
	fflush(stdout);
	return 0;
}

/* What a failed poll (R, ERR) means: 1 to poll again (*INTERVALp and
 * *TRANSIENTp updated), else the code to give up with, after a message. */
static int
device_poll_failed(const char *who, const struct oauth_device *dev, int r,
    const struct oauth_error *err, int64_t *intervalp, int *transientp)
{
	if (strcmp(err->code, "slow_down") == 0) {
		/* RFC 8628 3.5: 5 s more, from now on. */
		*intervalp += 5;
		msg(who, "the server asked to poll more slowly; now every "
		    "%lld s", (long long)*intervalp);
		return 1;
	}
	if (strcmp(err->code, "access_denied") == 0 ||
	    strcmp(err->code, "authorization_declined") == 0) {
		msg(who, "the sign-in was declined (%s); log in again to "
		    "retry", err->code);
		return XO_E_REFUSED;
	}
	if (strcmp(err->code, "expired_token") == 0) {
		msg(who, "the code %s expired before the sign-in was "
		    "completed (expired_token); log in again", dev->user_code);
		return XO_E_TEMPFAIL;
	}
	if (err->code[0] == '\0' && r == XO_E_TEMPFAIL &&
	    ++*transientp < TRANSIENT_TRIES) {
		msg(who, "%s; trying again", err->base.msg);
		return 1;
	}
	if (!device_blocked(who, err))
		report_grant_error(who, NULL, err);
	return r;
}

static int
flow_device(const struct login_options *lo, const struct oauth_options *net,
    const char *who, const struct provider *p, const char *client_secret,
    struct oauth_tokens *out, int64_t *asked_atp)
{
	struct oauth_device dev;
	struct oauth_error err;
	int64_t deadline, interval;
	int r, status, tty = isatty(STDERR_FILENO), transient = 0;

	memset(&dev, 0, sizeof(dev));
	if ((status = device_start(lo, net, who, p, &dev)) != 0)
		goto out;
	deadline = xo_now_s() + dev.expires_in;
	interval = dev.interval > 0 ? dev.interval : 5;
	for (;;) {
		const struct oauth_field fields[] = {
			{ "grant_type", DEVICE_GRANT },
			{ "device_code", dev.device_code },
			{ "client_id", lo->client_id },
			{ "client_secret", client_secret },
		};

		wait_tick(interval, deadline, tty);
		if (xo_now_s() >= deadline) {
			if (tty)
				fputs("\r\033[K", stderr);
			msg(who, "the code %s expired before the sign-in was "
			    "completed; log in again", dev.user_code);
			status = XO_E_TEMPFAIL;
			goto out;
		}
		*asked_atp = xo_now_s();
		if ((r = oauth_grant(p->token_endpoint, fields,
		    sizeof(fields) / sizeof(fields[0]), "device code", net, out,
		    &err)) == 0)
			break;
		if (strcmp(err.code, "authorization_pending") == 0) {
			transient = 0;
			continue;
		}
		if (tty)
			fputs("\r\033[K", stderr);
		if ((status = device_poll_failed(who, &dev, r, &err, &interval,
		    &transient)) != 1)
			goto out;
	}
	if (tty)
		fputs("\r\033[K", stderr);
	status = 0;
 out:
	oauth_device_clear(&dev);
	return status;
}

/* --- login ------------------------------------------------------------- */

/* Checks LO and resolves its provider into *P and its flow into *FLOWp
 * ("browser" or "device"), before anything is asked of anyone.  Returns
 * 0, or a code after a message. */
static int
login_prepare(const struct login_options *lo, const char *who,
    struct provider *p, const char **flowp)
{
	struct oauth_error err;
	struct xo_err perr;
	const char *flow = lo->flow;
	int r, know_user;

	if (lo->client_id == NULL) {
		msg(who, "which client? add --client-id ID (register an "
		    "application with the provider: see " PROG "(1))");
		return XO_E_USAGE;
	}
	if (lo->user != NULL && (lo->user[0] == '\0' || strlen(lo->user) >
	    IDTOKEN_USER_MAX || xo_unsafe_text(lo->user, strlen(lo->user)))) {
		msg(who, "--user: not a user name");
		return XO_E_USAGE;
	}
	know_user = lo->user != NULL || lo->login_hint != NULL;
	if ((r = provider_resolve(lo, know_user, p, &perr)) != 0) {
		msg(who, "%s", perr.msg);
		return r == -ENOMEM ? r : XO_E_USAGE;
	}
	if (!know_user && (p->scope == NULL || !has_word(p->scope, "openid"))) {
		msg(who, "who is signing in? add --user EMAIL (or --login-hint "
		    "EMAIL, or openid in --scope so the server says)");
		return XO_E_USAGE;
	}
	if ((r = oauth_url_check(p->token_endpoint, "the token endpoint",
	    &err)) != 0 || (p->device_endpoint != NULL &&
	    (r = oauth_url_check(p->device_endpoint, "the device endpoint",
	    &err)) != 0)) {
		msg(who, "%s", err.base.msg);
		return r;
	}
	/* Unless told: a browser here if one can be started, else the
	 * device flow. */
	if (flow == NULL)
		flow = (getenv("BROWSER") != NULL || getenv("DISPLAY") != NULL ||
		    getenv("WAYLAND_DISPLAY") != NULL || p->device_endpoint == NULL ||
		    p->device_refused) && p->auth_endpoint != NULL ?
		    "browser" : "device";
	if (strcmp(flow, "browser") != 0 && strcmp(flow, "device") != 0) {
		msg(who, "--flow is browser or device, not '%s'", flow);
		return XO_E_USAGE;
	}
	*flowp = flow;
	return 0;
}

/* Who signed in: --user, the ID token's claims, or --login-hint, in a
 * new *USERp.  Returns 0, or XO_E_PROTOCOL after a message. */
static int
login_user(const struct login_options *lo, const char *who,
    const struct oauth_tokens *t, char **userp)
{
	*userp = NULL;
	if (lo->user != NULL)
		*userp = strdup(lo->user);
	else if (idtoken_user(t->id_token, userp) != 0)
		*userp = NULL;
	else if (*userp == NULL && lo->login_hint != NULL)
		*userp = strdup(lo->login_hint);
	if (*userp == NULL) {
		msg(who, "signed in, but the server did not say who you are; "
		    "log in again with --user EMAIL");
		return XO_E_PROTOCOL;
	}
	return 0;
}

/* login --app-only, once the provider table has said where and what
 * for (AL): apponly.c builds the file and asks for its first token; the
 * proxy and the notify command are kept as for any login. */
static int
login_app_only_run(const struct login_options *lo,
    const struct apponly_login *al, const struct oauth_options *net,
    const char *who, const char *path, const char *file, const char *account)
{
	struct oauth_options via = *net;
	struct tokfile *tok = NULL, *old = NULL;
	struct settings set;
	char done[512], word[XO_SHELL_WORD_MAX];
	int status;

	if ((status = apponly_login_prepare(al, who, account, &tok)) != 0)
		goto out;
	/* As login_run: a previous login's proxy and notify command stay
	 * unless replaced, and the first request goes the way its renewals
	 * will. */
	if (tokfile_read(file, &old) != 0)
		old = NULL;
	if ((status = settings_resolve(lo, who, tok->token_endpoint, old,
	    &set)) != 0)
		goto out;
	if (settings_store(tok, &set) != 0) {
		msg(who, "out of memory");
		status = -ENOMEM;
		goto out;
	}
	via.proxy = set.proxy != NULL ? set.proxy : "";
	via.no_proxy = set.no_proxy;
	if ((status = check_writable(file, path, who)) != 0 ||
	    (status = apponly_login_token(tok, &via, who)) != 0)
		goto out;
	apponly_describe(tok, done, sizeof(done));
	if ((status = write_login(path, file, who, tok, done, ", renewed with the "
	    "app's credentials when due: no refresh token", &set)) != 0)
		goto out;
	/* i21: only the unit that loads a credential renews the file. */
	credential_setup_note_file(file, who);
	msg(who, "check it with: " PROG " test %s --imap HOST (or --pop, "
	    "--smtp)", xo_shell_word(word, sizeof(word), account != NULL ?
	    account : path));
	status = 0;
 out:
	tokfile_free(old);
	tokfile_free(tok);
	return status;
}

/* Whether LO names a service account's key (a file or a credential):
 * Google's app-only access, --app-only or not. */
static int
names_service_account(const struct login_options *lo)
{
	return lo->service_account != NULL ||
	    lo->service_account_credential != NULL;
}

/* Whether LO names what only an app's login has: a certificate, a key,
 * a key passphrase, or a client secret kept as a credential or a
 * command. */
static int
names_app_secret(const struct login_options *lo)
{
	return lo->certificate != NULL || lo->private_key != NULL ||
	    lo->private_key_credential != NULL ||
	    lo->key_passphrase_file != NULL ||
	    lo->key_passphrase_credential != NULL ||
	    lo->key_passphrase_command != NULL ||
	    lo->client_secret_credential != NULL ||
	    lo->client_secret_command != NULL;
}

/* login --app-only: the provider table says where and what for. */
static int
login_app_only(const struct login_options *lo, const struct oauth_options *net,
    const char *who, const char *path, const char *file, const char *account)
{
	struct login_options alo = *lo;
	struct apponly_login al;
	struct provider p;
	const struct provider_row *row;
	struct xo_err err;
	char titles[128];
	int status;

	alo.app_only = 1;
	if (lo->flow != NULL || lo->login_hint != NULL ||
	    lo->auth_endpoint != NULL || lo->device_endpoint != NULL ||
	    lo->port != 0 || lo->redirect_host != NULL) {
		msg(who, "--app-only signs in as the app, with no person and no "
		    "browser: --flow, --login-hint, --auth-endpoint, "
		    "--device-endpoint, --port and --redirect-host do not apply");
		return XO_E_USAGE;
	}
	row = lo->provider != NULL ? provider_find(lo->provider, NULL) : NULL;
	if (row != NULL && (row->quirks & PROVIDER_TENANT) &&
	    !provider_one_tenant(row, lo->tenant)) {
		msg(who, "--app-only: the app signs in to one tenant: add --tenant "
		    "with its id or domain (e.g. contoso.onmicrosoft.com)");
		return XO_E_USAGE;
	}
	if (row != NULL && (row->quirks & PROVIDER_SERVICE_ACCOUNT) &&
	    !names_service_account(lo)) {
		msg(who, "--provider %s --app-only: add --service-account "
		    "KEY.json (a service account with domain-wide delegation)",
		    row->name);
		return XO_E_USAGE;
	}
	if (row != NULL && !(row->quirks & (PROVIDER_SERVICE_ACCOUNT |
	    PROVIDER_CUSTOM)) && names_service_account(lo)) {
		msg(who, "--service-account is for %s (or --provider "
		    "custom); %s's app-only access uses --client-secret-file, "
		    "or --certificate and --private-key", provider_titles(
		    PROVIDER_SERVICE_ACCOUNT, titles, sizeof(titles)),
		    row->title);
		return XO_E_USAGE;
	}
	if ((status = provider_resolve(&alo, 1, &p, &err)) != 0) {
		msg(who, "%s", err.msg);
		return status == -ENOMEM ? status : XO_E_USAGE;
	}
	memset(&al, 0, sizeof(al));
	al.provider = p.name;
	/* A service account's key file names its token endpoint (token_uri);
	 * custom's --token-endpoint wins. */
	al.token_endpoint = names_service_account(lo) &&
	    !(p.row->quirks & PROVIDER_CUSTOM) ? NULL : p.token_endpoint;
	al.scope = p.scope;
	al.client_id = lo->client_id;
	al.user = lo->user;
	apponly_sources_from(lo, &al.src);
	status = login_app_only_run(lo, &al, net, who, path, file, account);
	provider_clear(&p);
	return status;
}

/* A login, in the process that works for the file's owner (become.h). */
struct login_job {
	const struct login_options *lo;
	const struct oauth_options *net;
	const char	*who;
	const char	*path;
	const char	*account;
	const char	*client_secret;	/* read before: the caller's file */
};

/* The person's login (browser or device flow), for J, writing FILE. */
static int
login_person(const struct login_job *j, const char *file)
{
	const struct login_options *lo = j->lo;
	const char *who = j->who;
	struct provider p;
	struct oauth_tokens t;
	struct oauth_options via = *j->net;
	struct settings set;
	struct tokfile *old = NULL;
	char *user = NULL;
	const char *flow = NULL;
	int64_t asked_at = 0;
	int status;

	memset(&p, 0, sizeof(p));
	memset(&t, 0, sizeof(t));
	if ((status = login_prepare(lo, who, &p, &flow)) != 0)
		goto out;
	/* A previous login's proxy and notify command stay unless
	 * replaced, and the login goes the way its refreshes will. */
	if (tokfile_read(file, &old) != 0)
		old = NULL;
	if ((status = settings_resolve(lo, who, p.token_endpoint, old,
	    &set)) != 0)
		goto out;
	via.proxy = set.proxy != NULL ? set.proxy : "";
	via.no_proxy = set.no_proxy;
	if ((status = check_writable(file, j->path, who)) != 0 ||
	    (status = login_keyring_check(lo, who)) != 0)
		goto out;
	if (oauth_init() != 0) {
		msg(who, "cannot initialise libcurl");
		status = XO_E_SOFTWARE;
		goto out;
	}
	if (strcmp(flow, "browser") == 0)
		status = flow_browser(lo, &via, who, &p, j->client_secret, &t,
		    &asked_at);
	else
		status = flow_device(lo, &via, who, &p, j->client_secret, &t,
		    &asked_at);
	oauth_cleanup();
	if (status != 0 || (status = login_scope_check(who, j->account !=
	    NULL ? j->account : j->path, &p, &t)) != 0 ||
	    (status = login_user(lo, who, &t, &user)) != 0)
		goto out;
	status = save(j->path, file, j->account, who, &p, lo->client_id,
	    j->client_secret, user, &t, asked_at, &set);
	if (status == 0)
		login_keyring_leftover(who, j->path, old, lo->keyring, user,
		    lo->client_id, p.token_endpoint);
 out:
	tokfile_free(old);
	oauth_tokens_clear(&t);
	provider_clear(&p);
	free(user);
	return status;
}

int
login_secret(const struct login_options *lo, const char *who,
    char **secretp)
{
	*secretp = NULL;
	if (lo->app_only || names_service_account(lo) ||
	    lo->client_secret_file == NULL)
		return 0;
	return read_client_secret(lo->client_secret_file, who, secretp);
}

int
login_store_create(const char *path, const char *who)
{
	return store_create(path, who);
}

int
login_run(const struct login_options *lo, const struct oauth_options *net,
    const char *who, const char *path, const char *file, const char *account,
    const char *client_secret)
{
	struct login_job j = { lo, net, who, path, account, client_secret };

	if ((lo->app_only || names_service_account(lo)) && lo->keyring) {
		msg(who, "--keyring keeps a person's refresh token; an app-only "
		    "login has none (its secret or key stays where you name it)");
		return XO_E_USAGE;
	}
	if (lo->app_only || names_service_account(lo))
		return login_app_only(lo, net, who, path, file, account);
	if (names_app_secret(lo)) {
		msg(who, "--certificate and --private-key are for --app-only (as "
		    "are --private-key-credential, the --key-passphrase-* "
		    "options, --client-secret-credential and "
		    "--client-secret-command: a person's login reads its client "
		    "secret once, from --client-secret-file)");
		return XO_E_USAGE;
	}
	return login_person(&j, file);
}
