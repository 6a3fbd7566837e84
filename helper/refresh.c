/*
 * refresh: the refresh engine behind `token' and `refresh'.  Under the
 * token file's lock it checks the file again (someone may have
 * refreshed it while we waited), reserves room for the new file, asks
 * the token endpoint, and stores what it answers -- never spending a
 * refresh token that could not be stored.  The command layer
 * (helper/cmd/cmd_refresh.c) resolves the target and says why a token
 * file could not be read or locked; the rest this module says itself,
 * in the order it happens (a failure, then what the notify command
 * said).
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apponly.h"
#include "diag.h"
#include "errors.h"
#include "health.h"
#include "keyring.h"
#include "msg.h"
#include "provider.h"
#include "oauth.h"
#include "refresh.h"
#include "stop.h"
#include "tokfile.h"
#include "xo_util.h"

static void
report_refresh_error(const struct refresh_file *t,
    const struct oauth_error *err, const struct diag_vars *v)
{
	char why[1024], word[XO_SHELL_WORD_MAX];

	/* A refusal the diagnostics table knows: its cause and its fix. */
	if (err->diag != NULL) {
		msg(t->arg, "%s: %s", err->base.msg, diag_explain(err->diag, v, why,
		    sizeof(why)));
		return;
	}
	switch (err->hint) {
	case OAUTH_HINT_LOGIN:
		/* apponly.c's words say which credential and what to do. */
		if (v->app_only)
			msg(t->arg, "%s", err->base.msg);
		else
			msg(t->arg, "%s; run: " PROG " login %s", err->base.msg,
			    xo_shell_word(word, sizeof(word), t->arg));
		break;
	case OAUTH_HINT_CLIENT:
		msg(t->arg, "%s; check client_id and client_secret in %s",
		    err->base.msg, t->path);
		break;
	case OAUTH_HINT_SCOPE:
		msg(t->arg, "%s; check scope in %s", err->base.msg, t->path);
		break;
	case OAUTH_HINT_ENDPOINT:
		msg(t->arg, "%s; check token_endpoint in %s", err->base.msg, t->path);
		break;
	case OAUTH_HINT_NETWORK:
		msg(t->arg, "%s; check the network and token_endpoint in %s",
		    err->base.msg, t->path);
		break;
	case OAUTH_HINT_LATER:
		msg(t->arg, "%s; try again later", err->base.msg);
		break;
	case OAUTH_HINT_CAFILE:
		msg(t->arg, "%s; if the server uses a private CA, add "
		    "--cafile FILE", err->base.msg);
		break;
	case OAUTH_HINT_PEER:
		msg(t->arg, "%s; check token_endpoint in %s, and if the server "
		    "uses a private CA, add --cafile FILE", err->base.msg, t->path);
		break;
	case OAUTH_HINT_NONE:
		msg(t->arg, "%s", err->base.msg);
		break;
	}
}

/* Of a --time-limit, kept back for storing the answer: a quarter, at
 * most this much; and a request gets no less than that either. */
#define REFRESH_STORE_RESERVE_MS	1000

/* libcurl's global state: set up on the first refresh (the common case,
 * a valid token, never pays for it), torn down at exit. */
static int curl_ready;

static void
curl_done(void)
{
	oauth_cleanup();
}

struct refresh {
	const struct refresh_options *opt;
	const char	*arg;		/* as given: for messages */
	const char	*path;		/* the token file, for messages */
	const char	*file;		/* .. where its file work goes */
	/* The file's failure record before we waited for the lock. */
	int		 seen;
	int64_t		 seen_failures, seen_failed_at;
	int		 failed;	/* refused or failed; health recorded */
	int		 force;
	int		 called;	/* refresh_locked ran: the lock was taken */
	int		 refreshed;	/* the server issued new tokens */
	int		 status;	/* errors.h code if the refresh failed */
	struct oauth_error err;
	char		 who[256];	/* the file's user, for the messages */
	char		 client_id[256];
	char		 tenant[128];
	int		 app_only;	/* the file holds an app-only grant */
	int		 from_keyring;	/* tok->refresh_token is the keyring's */
	char		*access_token;	/* copy of the final one (secret) */
	int64_t		 expires_at;
	/* Decided under the lock, acted on after it. */
	enum health_event event;
	char		*notify;	/* the notify command, or NULL */
	uid_t		 owner;		/* the file's, seen under the lock */
	char		*user;
	char		 fix[HEALTH_FIX_MAX];
};

/* The class of a failed refresh: diag's table where a row matches the
 * server's answer (the AADSTS codes), else what the error's hint says. */
static enum health_class
classify(const struct oauth_error *err, int r)
{
	const struct diag *d;

	/* The keyring holds no refresh token for the file: only a login
	 * brings one back.  Locked, no bus, no Secret Service: the grant is
	 * fine, someone must unlock the keyring or run us in the desktop
	 * session; a "needs login" would send them the wrong way. */
	if (r == KEYRING_E_NOTFOUND)
		return HEALTH_LOGIN;
	/* oauth_answer.c matched the error and its description to the table. */
	if ((d = err->diag) != NULL) {
		switch (d->cls) {
		case DIAG_CLASS_LOGIN:
			return HEALTH_LOGIN;
		case DIAG_CLASS_CONFIG:
			return HEALTH_CONFIG;
		case DIAG_CLASS_TEMPORARY:
			return HEALTH_TEMPORARY;
		case DIAG_CLASS_NONE:
			break;
		}
	}
	switch (err->hint) {
	case OAUTH_HINT_LOGIN:
		return HEALTH_LOGIN;
	case OAUTH_HINT_CLIENT:
	case OAUTH_HINT_SCOPE:
	case OAUTH_HINT_ENDPOINT:
	case OAUTH_HINT_CAFILE:
	case OAUTH_HINT_PEER:
		return HEALTH_CONFIG;
	case OAUTH_HINT_NETWORK:
	case OAUTH_HINT_LATER:
		return HEALTH_TEMPORARY;
	case OAUTH_HINT_NONE:
		break;
	}
	return r == XO_E_CONFIG ? HEALTH_CONFIG : HEALTH_TEMPORARY;
}

/* Keeps what RF's notify command needs once the lock is gone (TOK is
 * freed by then), or records in TOK why it will not run.  Returns 0 or
 * -ENOMEM. */
static int
health_keep(struct refresh *rf, struct tokfile *tok)
{
	struct xo_err err;
	struct stat st;
	int r;

	if (rf->event == HEALTH_EV_NONE)
		return 0;
	if ((r = health_notify_command(tok->notify, &rf->notify, &err)) ==
	    -ENOMEM)
		return r;
	/* The record is of this event's notice: skipped, or not. */
	if (rf->notify == NULL)
		return health_record_notify(tok, r != 0 ? err.msg : NULL,
		    xo_now_s());
	/* Whose command it is: the file's owner, now, under the lock (not
	 * known: nobody's, so that root runs nothing). */
	rf->owner = lstat(rf->file, &st) == 0 ? st.st_uid : (uid_t)-1;
	if (health_notify_allowed(rf->owner, &err) != 0) {
		free(rf->notify);
		rf->notify = NULL;
		msg(rf->arg, "notify command of %s %s; run " PROG " as that "
		    "user", rf->path, err.msg);
		return health_record_notify(tok, err.msg, xo_now_s());
	}
	if (health_record_notify(tok, NULL, 0) != 0)
		return -ENOMEM;
	if ((rf->user = strdup(tok->user)) == NULL)
		return -ENOMEM;
	health_fix_command(tok, rf->arg, rf->fix, sizeof(rf->fix));
	return 0;
}

/* Runs the file's notify command for what RF decided under the lock. */
static void
health_tell(const struct refresh *rf, const struct refresh_file *t)
{
	struct health_notice n;

	if (rf->event == HEALTH_EV_NONE || rf->notify == NULL)
		return;
	memset(&n, 0, sizeof(n));
	n.event = rf->event;
	n.account = t->arg;
	n.user = rf->user;
	n.path = t->path;
	n.reason = rf->event == HEALTH_EV_NEEDS_LOGIN ? rf->err.base.msg : "";
	n.fix = rf->event == HEALTH_EV_NEEDS_LOGIN ? rf->fix : "";
	health_announce(rf->notify, &n, rf->owner);
}

/* Words tokfile_reserve's failure R for RF (before any request). */
static void
reserve_error(struct refresh *rf, int r)
{
	const char *slash = strrchr(rf->path, '/');
	int dirlen = slash == NULL ? 1 : slash == rf->path ? 1 :
	    (int)(slash - rf->path);
	const char *dir = slash == NULL ? "." : rf->path;

	if (r == -ENOMEM)
		rf->status = oauth_seterr(&rf->err, -ENOMEM, OAUTH_HINT_NONE,
		    "out of memory");
	else if (r == -EEXIST)
		rf->status = oauth_seterr(&rf->err, XO_E_CANTCREAT,
		    OAUTH_HINT_NONE, "%s.tmp holds the result of an "
		    "interrupted refresh that could not be moved into place; "
		    "not refreshed: check %.*s and try again", rf->path,
		    dirlen, dir);
	else
		rf->status = oauth_seterr(&rf->err, XO_E_CANTCREAT,
		    OAUTH_HINT_NONE, "cannot make room for the new token file "
		    "in %.*s (%s); not refreshed, the stored refresh token is "
		    "unused: fix that and try again", dirlen, dir,
		    tokfile_strerror(r));
}

/* Before a request: gives up if told to stop (stop.h) or if too little
 * of --time-limit is left, else points NET at the deadline and the stop
 * flag.  Returns 0, or TOKFILE_E_ABORTED with RF's error filled in; the
 * file is unchanged either way. */
static int
request_budget(struct refresh *rf, struct oauth_options *net)
{
	const struct refresh_options *opt = rf->opt;
	int64_t reserve, left;
	char limit[32], spent[32];
	int sig;

	if ((sig = stop_requested()) != 0) {
		rf->status = oauth_seterr(&rf->err, XO_E_TEMPFAIL,
		    OAUTH_HINT_NONE, "stopped by %s before asking the token "
		    "endpoint; %s is unchanged", stop_name(sig), rf->path);
		return TOKFILE_E_ABORTED;
	}
	net->stop = stop_flag();
	if (opt->deadline_ms == 0)
		return 0;
	reserve = opt->limit_ms / 4 < REFRESH_STORE_RESERVE_MS ?
	    opt->limit_ms / 4 : REFRESH_STORE_RESERVE_MS;
	left = opt->deadline_ms - xo_now_ms() - reserve;
	if (left < reserve) {
		xo_fmt_ms(limit, sizeof(limit), opt->limit_ms);
		xo_fmt_ms(spent, sizeof(spent), opt->limit_ms - left - reserve);
		rf->status = oauth_seterr(&rf->err, XO_E_TEMPFAIL,
		    OAUTH_HINT_LATER, "the lock on %s was free only after %s, "
		    "too late within --time-limit %s to ask the token "
		    "endpoint; not refreshed", rf->path, spent, limit);
		return TOKFILE_E_ABORTED;
	}
	net->deadline_ms = opt->deadline_ms - reserve;
	net->limit_name = "--time-limit";
	return 0;
}

/* Records in RF a failure found under the lock: STATUS to exit with,
 * HINT and WHAT happened.  Returns TOKFILE_E_ABORTED, for the update
 * callback to give up with. */
static int
refresh_abort(struct refresh *rf, int status, enum oauth_hint hint,
    const char *what)
{
	rf->status = oauth_seterr(&rf->err, status, hint, "%s", what);
	return TOKFILE_E_ABORTED;
}

/* Did a refresh of TOK fail while RF waited for the lock?  Asking again
 * at once would fail the same way, once more per waiting process (50
 * plugin instances behind a dead endpoint): then RF says what it said,
 * and 1 is returned.  Else 0. */
static int
failed_meanwhile(struct refresh *rf, const struct tokfile *tok)
{
	enum health_class c;

	if ((c = health_failing(tok)) == HEALTH_NONE || !rf->seen ||
	    (tok->failures == rf->seen_failures &&
	    tok->failed_at == rf->seen_failed_at))
		return 0;
	rf->status = oauth_seterr(&rf->err, health_class_code(c),
	    c == HEALTH_LOGIN ? OAUTH_HINT_LOGIN : c == HEALTH_TEMPORARY ?
	    OAUTH_HINT_LATER : OAUTH_HINT_NONE, "%s (another refresh, a "
	    "moment ago)", tok->failure != NULL ? tok->failure :
	    "refresh failed");
	return 1;
}

/* Sets up libcurl on the first refresh of this process.  Returns 0 or
 * XO_E_SOFTWARE. */
static int
curl_start(void)
{
	if (!curl_ready && oauth_init() == 0) {
		curl_ready = 1;
		atexit(curl_done);
	}
	return curl_ready ? 0 : XO_E_SOFTWARE;
}

/* For a file whose refresh token is in the desktop keyring (keyring.h):
 * reads it into TOK for the request (refresh_keyring_ask takes it out
 * again).  If the file still holds one -- a rotated token the keyring
 * would not take -- that one is the newest and goes instead.  Returns 0,
 * or a KEYRING_E_* code with RF's error saying what to do. */
static int
refresh_keyring_fetch(struct refresh *rf, struct tokfile *tok)
{
	struct keyring_item it;
	struct xo_err e;
	char account[256], word[XO_SHELL_WORD_MAX];
	char *rt = NULL;
	int r;

	if (tok->refresh_token != NULL)
		return 0;
	memset(&rf->err, 0, sizeof(rf->err));
	if ((r = keyring_item_from(&it, tok, rf->path, account,
	    sizeof(account), &e)) == 0)
		r = keyring_lookup(&it, &rt, &e);
	if (r == KEYRING_E_NOTFOUND)
		return oauth_seterr(&rf->err, r, OAUTH_HINT_NONE, "%s; log in "
		    "again: " PROG " login %s --keyring", e.msg,
		    xo_shell_word(word, sizeof(word), rf->arg));
	if (r != 0)
		return oauth_seterr(&rf->err, r, OAUTH_HINT_NONE, "%s; %s is "
		    "unchanged", e.msg, rf->path);
	tok->refresh_token = rt;
	rf->from_keyring = 1;
	return 0;
}

/* The refresh_token grant for a keyring file: as oauth_refresh, with the
 * refresh token from the keyring, which never stays in TOK. */
static int
refresh_keyring_ask(struct refresh *rf, struct tokfile *tok,
    const struct oauth_options *net, struct oauth_tokens *fresh)
{
	int r;

	if ((r = refresh_keyring_fetch(rf, tok)) != 0)
		return r;
	r = oauth_refresh(tok, net, fresh, &rf->err);
	if (rf->from_keyring) {
		xo_free_secret(tok->refresh_token);
		tok->refresh_token = NULL;
	}
	return r;
}

/* Of what --time-limit leaves, kept back for writing the file after
 * storing in the keyring; less than this left: no keyring store. */
#define REFRESH_KEYRING_WRITE_MS	250

/* How long storing in the keyring may take now (0: the usual bound), or
 * -1 (with E said) if --time-limit leaves no time for it: the file is
 * written in time, holding the token, rather than the helper killed
 * with it nowhere. */
static int
refresh_keyring_time(const struct refresh *rf, struct xo_err *e)
{
	int64_t left;

	if (rf->opt->deadline_ms == 0)
		return 0;
	left = rf->opt->deadline_ms - xo_now_ms() - REFRESH_KEYRING_WRITE_MS;
	if (left >= REFRESH_KEYRING_WRITE_MS)
		return left > INT_MAX ? 0 : (int)left;
	xo_err_set(e, KEYRING_E_TIMEOUT, "no time left within --time-limit "
	    "to store the new refresh token in the desktop keyring");
	return -1;
}

/* After a keyring file's refresh: NEW (the rotated refresh token, or
 * NULL) or, if the file held one, that one goes to the keyring before
 * the file is written, and out of TOK.  If the keyring will not take it
 * (or not in the time --time-limit leaves), it must not be lost: TOK
 * keeps it (written to the file, loudly said), and the next refresh that
 * reaches the keyring moves it there.  Returns 0 or -ENOMEM. */
static int
refresh_keyring_keep(struct refresh *rf, struct tokfile *tok,
    const char *new)
{
	struct keyring_item it;
	struct xo_err e;
	char account[256];
	const char *rt = new != NULL ? new : tok->refresh_token;
	int r, ms;

	if (rt == NULL)
		return 0;
	if ((r = keyring_item_from(&it, tok, rf->path, account,
	    sizeof(account), &e)) == 0 &&
	    (ms = refresh_keyring_time(rf, &e)) >= 0 &&
	    (r = keyring_store(&it, rt, strlen(rt), ms, &e)) == 0) {
		if (tok->refresh_token != NULL)
			msg(rf->arg, "the refresh token is in the desktop "
			    "keyring again; %s no longer holds it", rf->path);
		xo_free_secret(tok->refresh_token);
		tok->refresh_token = NULL;
		return 0;
	}
	if (new != NULL && tokfile_set(&tok->refresh_token, new) != 0)
		return -ENOMEM;
	msg(rf->arg, "WARNING: %s; the refresh token is kept in %s for now "
	    "(not lost), and the next refresh that reaches the keyring moves "
	    "it there", e.msg, rf->path);
	return 0;
}

/* Asks the token endpoint (through NET) for TOK's new tokens, under the
 * lock, and records in TOK what came of it: the new tokens, or the
 * failure (which the plugin's back-off, the notify command and `status'
 * go by).  Returns what the update callback returns. */
static int
refresh_ask(struct refresh *rf, struct tokfile *tok,
    const struct oauth_options *net)
{
	struct oauth_tokens fresh = { NULL, NULL, 0, NULL, NULL };
	int64_t asked_at;
	int r;

	/* The token's lifetime starts when the server issues it: count from
	 * before we ask, not from when the answer arrives. */
	asked_at = xo_now_s();
	/* App-only files have no refresh token: the app's credentials
	 * ask for a new access token. */
	r = apponly_is(tok) ? apponly_request(tok, net, &fresh, &rf->err) :
	    keyring_used(tok) ? refresh_keyring_ask(rf, tok, net, &fresh) :
	    oauth_refresh(tok, net, &fresh, &rf->err);
	if (r != 0)
		oauth_tokens_clear(&fresh);
	if (r != 0 && rf->err.stopped) {
		/* Not the endpoint's failure: nothing to record. */
		rf->status = oauth_seterr(&rf->err, r, OAUTH_HINT_NONE,
		    "stopped by %s while waiting for the token endpoint's "
		    "answer; %s is unchanged", stop_name(stop_requested()),
		    rf->path);
		return TOKFILE_E_ABORTED;
	}
	if (r != 0) {
		/* Nothing changes but the record of it. */
		rf->err.diag = diag_grant_end(rf->err.diag, rf->err.code,
		    rf->err.desc, tok->provider, apponly_is(tok) ? 0 :
		    tok->login_at, xo_now_s());
		rf->status = r;
		rf->failed = 1;
		if (health_record_failure(tok, classify(&rf->err, r),
		    rf->err.base.msg, xo_now_s(), &rf->event) != 0 ||
		    health_keep(rf, tok) != 0)
			return TOKFILE_E_ABORTED;
		return 0;
	}
	rf->refreshed = 1;
	/* RFC 6749 6: a new refresh token replaces the old one, which the
	 * server may no longer honour; none means keep the old one. */
	if (tokfile_set(&tok->access_token, fresh.access_token) != 0)
		goto nomem;
	if (keyring_used(tok) && !apponly_is(tok)) {
		if (refresh_keyring_keep(rf, tok, fresh.refresh_token) != 0)
			goto nomem;
	} else if (fresh.refresh_token != NULL &&
	    tokfile_set(&tok->refresh_token, fresh.refresh_token) != 0)
		goto nomem;
	tok->expires_at = asked_at + fresh.expires_in;
	health_record_success(tok, xo_now_s(), &rf->event);
	if (health_keep(rf, tok) != 0)
		goto nomem;
	rf->expires_at = tok->expires_at;
	rf->access_token = fresh.access_token;
	fresh.access_token = NULL;
	oauth_tokens_clear(&fresh);
	return 0;
 nomem:
	oauth_tokens_clear(&fresh);
	return refresh_abort(rf, -ENOMEM, OAUTH_HINT_NONE, "out of memory");
}

/* Runs under the token file's lock, on what the file holds now. */
static int
refresh_locked(struct tokfile *tok, void *arg)
{
	struct refresh *rf = arg;
	struct oauth_options net = rf->opt->net;
	int r;

	rf->called = 1;
	snprintf(rf->who, sizeof(rf->who), "%s", tok->user);
	rf->app_only = tok->grant != NULL;
	snprintf(rf->client_id, sizeof(rf->client_id), "%s", tok->client_id);
	provider_tenant(tok->token_endpoint, rf->tenant, sizeof(rf->tenant));
	if (tok->proxy != NULL) {	/* else the environment's */
		net.proxy = tok->proxy;
		net.no_proxy = tok->no_proxy;
	}
	if (!rf->force && tok->expires_at - xo_now_s() > rf->opt->margin_s) {
		/* Valid, or someone refreshed while we waited for the lock. */
		if ((rf->access_token = strdup(tok->access_token)) == NULL)
			return refresh_abort(rf, -ENOMEM, OAUTH_HINT_NONE,
			    "out of memory");
		rf->expires_at = tok->expires_at;
		return TOKFILE_UNCHANGED;
	}
	if (!rf->force && failed_meanwhile(rf, tok))
		return TOKFILE_E_ABORTED;
	/* Told to stop, or out of time: now, while nothing has been sent. */
	if ((r = request_budget(rf, &net)) != 0)
		return r;
	/* Never spend a refresh token we could not store: at a provider
	 * whose refresh tokens are single-use the grant would be lost.  Make
	 * room for the new file while nothing has been sent. */
	if ((r = tokfile_reserve(rf->file)) != 0) {
		reserve_error(rf, r);
		return TOKFILE_E_ABORTED;
	}
	if (curl_start() != 0)
		return refresh_abort(rf, XO_E_SOFTWARE, OAUTH_HINT_NONE,
		    "cannot initialise libcurl");
	return refresh_ask(rf, tok, &net);
}

/* How long to wait for the lock on a token file: whoever holds it gives
 * up within its own --timeout; and we within our --time-limit, which
 * *LIMITEDp says if it is the shorter. */
static int
lock_wait_ms(const struct refresh_options *opt, int *limitedp)
{
	int64_t wait_ms = opt->net.timeout_ms + 5000;

	*limitedp = opt->deadline_ms != 0 &&
	    opt->deadline_ms - xo_now_ms() < wait_ms;
	if (*limitedp)
		wait_ms = opt->deadline_ms - xo_now_ms();
	if (wait_ms < 0)
		wait_ms = 0;
	return (int)(wait_ms > INT_MAX ? INT_MAX : wait_ms);
}

/* Reports what came of the locked update (tokfile_update_stoppable's R;
 * LIMITED: its wait was cut to --time-limit) for T, and runs the notify
 * command if one is due.  Returns 0 or the code to exit with; a failure
 * to read or lock the file is left to the caller to word (RES). */
static int
refresh_outcome(const struct refresh *rf, const struct refresh_file *t,
    int r, int limited, struct refresh_result *res)
{
	struct diag_vars v;
	char limit[32], word[XO_SHELL_WORD_MAX];

	/* What fills in the names of a known refusal's fix (diag.h). */
	v.account = t->arg;
	v.user = rf->who;
	v.client_id = rf->client_id;
	v.tenant = rf->tenant;
	v.app_only = rf->app_only;
	if (r == TOKFILE_E_STOPPED) {
		msg(t->arg, "stopped by %s while waiting for another refresh "
		    "of %s to finish; it is unchanged",
		    stop_name(stop_requested()), t->path);
		return XO_E_TEMPFAIL;
	}
	if (r == TOKFILE_E_LOCKED && limited) {
		xo_fmt_ms(limit, sizeof(limit), rf->opt->limit_ms);
		msg(t->arg, "another " PROG " held the lock on %s for all of "
		    "--time-limit %s; not refreshed: try again later", t->path,
		    limit);
		return r;
	}
	if (r == TOKFILE_E_ABORTED) {
		report_refresh_error(t, &rf->err, &v);
		return rf->status;
	}
	if (r != 0 && rf->refreshed) {
		/* The server has rotated the refresh token, but we could not
		 * store the new one: the file still holds the old. */
		msg(t->arg, "new tokens were issued but could not be saved to "
		    "%s (%s); the stored refresh token may no longer work: fix "
		    "the problem and run: " PROG " login %s", t->path,
		    tokfile_strerror(r), xo_shell_word(word, sizeof(word),
		    t->arg));
		return r == -ENOMEM ? -ENOMEM : XO_E_CANTCREAT;
	}
	if (r != 0 && rf->failed) {
		/* The refresh failed and so did recording it. */
		report_refresh_error(t, &rf->err, &v);
		return rf->status;
	}
	if (r != 0) {
		res->file_error = 1;
		res->locked = rf->called;
		return r;
	}
	if (rf->failed) {
		report_refresh_error(t, &rf->err, &v);
		health_tell(rf, t);
		return rf->status;
	}
	health_tell(rf, t);
	if (rf->refreshed && stop_requested())
		msg(t->arg, "got %s while storing the new tokens: they are "
		    "stored in %s; stopping", stop_name(stop_requested()),
		    t->path);
	return 0;
}

int
refresh_run(const struct refresh_options *opt, const struct refresh_file *t,
    struct refresh_result *res)
{
	struct refresh rf;
	struct tokfile *before = NULL;
	int r, status, limited;

	memset(res, 0, sizeof(*res));
	memset(&rf, 0, sizeof(rf));
	rf.opt = opt;
	rf.arg = t->arg;
	rf.path = t->path;
	rf.file = t->file;
	rf.force = opt->force;
	if (tokfile_read(t->file, &before) == 0) {
		rf.seen = 1;
		rf.seen_failures = before->failures;
		rf.seen_failed_at = before->failed_at;
	}
	tokfile_free(before);
	r = tokfile_update_stoppable(t->file, lock_wait_ms(opt, &limited),
	    stop_flag(), refresh_locked, &rf);
	if ((status = refresh_outcome(&rf, t, r, limited, res)) != 0)
		goto out;
	res->refreshed = rf.refreshed;
	res->expires_at = rf.expires_at;
	res->access_token = rf.access_token;
	rf.access_token = NULL;
	status = 0;
 out:
	xo_free_secret(rf.access_token);
	free(rf.notify);
	free(rf.user);
	return status;
}

void
refresh_result_clear(struct refresh_result *res)
{
	if (res == NULL)
		return;
	xo_free_secret(res->access_token);
	memset(res, 0, sizeof(*res));
}
