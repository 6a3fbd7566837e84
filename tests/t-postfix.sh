#!/bin/bash
# A real postfix, end to end, in the plugin's token-file mode.
#
# A private postfix instance (lib.sh's xo_start_postfix: postfix -c DIR;
# nothing under /etc/postfix, no listener: the smtp inet service is off)
# relays every message to the private Dovecot's submission service,
# authenticating with smtp_sasl_mechanism_filter = xoauth2 and a
# smtp_sasl_password_maps entry whose password is the path of a token file.
# Dovecot (its oauth2 passdb asks the mock OAuth server) relays on to the
# SMTP sink.  The smtp client runs unchrooted as user postfix, which owns
# the token file, so the plugin can run the helper (xoauth2-token refresh)
# to rewrite it.
#
#   0. a valid token: the message reaches the sink, no refresh;
#   a. the access token expired at the server and the file says so: the
#      plugin refreshes before logging in, the message goes through;
#   b. expired at the server but the file says valid: the first attempt is
#      deferred with the server's 535 in postfix's log and the plugin marks
#      the file stale; after postqueue -f the plugin refreshes and the
#      message goes through;
#   c. the refresh is rejected (invalid_grant): the message is deferred,
#      not bounced, the log names xoauth2-token login, the tokens in the
#      file are untouched and its health says "needs login"; once the
#      server accepts refreshes again it goes through.
# Each time: exactly one refresh at the server, the rotated refresh token
# stored, the file still 0600 and owned by postfix; the maillog holds no
# token.  Postfix is stopped at exit (xo_on_exit).
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_relay_stack

USER=alice@example.com

xo_start_relay_servers

TOKDIR=$XO_TMP/postfix-tokens       # postfix's, the helper rewrites in it
F=$TOKDIR/alice.json

# --- the token file: owned by postfix (smtp runs as postfix) ----------------
mkdir -m 700 "$TOKDIR"
chown postfix:postfix "$TOKDIR"
xo_tokfile "$F" "$USER" 3600
chown postfix:postfix "$F"
TOKENS_SEEN=("$(xo_token_field "$F" access_token)" "$(xo_token_field "$F" refresh_token)")

# --- the private postfix instance -------------------------------------------
# smtp/unix chroot=n: the plugin must run the helper and see the token file
# (xo_start_postfix sets it with postconf -F and checks that it took).
xo_step "start a private postfix (postfix -c DIR)"
xo_start_postfix "$USER" "$F" n

LOGIN_RE=$(xo_dovecot_login_re submission "$USER" XOAUTH2)
remember_tokens() {
    TOKENS_SEEN+=("$(xo_token_field "$F" access_token)" "$(xo_token_field "$F" refresh_token)")
}

# file_ok: still 0600, owned by postfix.
file_ok() {
    [ "$(stat -c '%a %U' "$F")" = "600 postfix" ] \
        || xo_fail "token file is now $(stat -c '%a %U:%G' "$F"), want 600 postfix"
    echo "   ok: the token file is 0600 and owned by postfix"
}

# noted: old_rt is the file's refresh token, before the refreshes so far.
noted() {
    old_rt=$(xo_token_field "$F" refresh_token)
    before=$(xo_oauth_refreshes)
}

# renewed BEFORE OLD_RT: exactly one refresh since BEFORE, its rotated
# refresh token stored, the file still postfix's 0600, and its tokens
# remembered (none may reach the log).
renewed() {
    xo_assert_renewed_once refresh "$1" "$(xo_oauth_refreshes)" "$F" refresh_token "$2"
    file_ok
    remember_tokens
}

# --- 0. a valid token ---------------------------------------------------------
xo_step "0. valid token: postfix relays through Dovecot submission"
subject="xo-postfix valid $RANDOM"
xo_pf_send_valid "$subject" "$LOGIN_RE"

# --- a. expired at the server and in the file -------------------------------
xo_step "a. expired at the server and in the file: the plugin refreshes before logging in"
xo_expire "$USER" "$F"
noted
subject="xo-postfix after expiry, file says expired $RANDOM"
xo_pf_send_undeferred "$subject"
renewed "$before" "$old_rt"

xo_step "a. a second message after the refresh: no further refresh"
subject="xo-postfix after refresh $RANDOM"
xo_pf_send_unrefreshed "$subject" "the fresh token was refreshed again"

# --- b. rejected by the server while the file says valid --------------------
xo_step "b. expired at the server only: first attempt deferred, file marked stale"
xo_oauth -q expire --user "$USER" || xo_fail "expire at the server failed"
old_at=$(xo_token_field "$F" access_token)
old_rt=$(xo_token_field "$F" refresh_token)
[ "$(xo_token_field "$F" expires_at)" -gt "$(( $(date +%s) + 1000 ))" ] \
    || xo_fail "the file should still say its token is valid"
before=$(xo_oauth_refreshes)
subject="xo-postfix rejected by the server $RANDOM"
xo_pf_send_refused "$subject"
idb=$XO_PF_QID
xo_assert_contains "$XO_PF_LOG" \
    "postfix/smtp\[[0-9]+\]: warning: SASL authentication failure: XOAUTH2: the server rejected the access token for $USER \(status 401" \
    "postfix logged the plugin's reading of the server's 401 challenge"
xo_assert_contains "$XO_PF_LOG" \
    "warning: SASL authentication failure: XOAUTH2: the server rejected the access token for $USER .*; to see why: xoauth2-token test ${F//./\\.} --smtp 127\.0\.0\.1\$" \
    "the log line names the command that shows why"
tr -d '\r' <"$XO_PF_LOG" | grep "$idb: to=<" | sed 's/^/   | /'
xo_pf_at_sink "$subject" && xo_fail "the rejected message reached the sink"
[ "$(xo_token_field "$F" access_token)" = "$old_at" ] \
    || xo_fail "the access token changed without a refresh"
[ "$(xo_token_field "$F" expires_at)" -le "$(date +%s)" ] \
    || xo_fail "the plugin did not mark the token stale (expires_at $(xo_token_field "$F" expires_at))"
echo "   ok: the plugin marked the token in the file stale"
xo_assert_refreshes "$before" "a refresh happened before the retry"
file_ok

xo_step "b. postqueue -f: the plugin refreshes, the message goes through"
xo_pf_flush
xo_pf_delivered "$subject" "$idb"
renewed "$before" "$old_rt"

xo_step "b. a second message: no further refresh"
subject="xo-postfix after the stale refresh $RANDOM"
xo_pf_send_unrefreshed "$subject" "the fresh token was refreshed again"

# --- c. the refresh is rejected ----------------------------------------------
xo_step "c. refresh rejected (invalid_grant): deferred, not bounced; the log names the fix"
xo_expire "$USER" "$F"
cp -p "$F" "$XO_TMP/before-c.json"
old_rt=$(xo_token_field "$F" refresh_token)
xo_oauth -q fault invalid_grant || xo_fail "cannot set the fault"
before=$(xo_oauth_refreshes)
subject="xo-postfix refresh rejected $RANDOM"
xo_pf_send_deferred "$subject"
idc=$XO_PF_QID
xo_assert_contains "$XO_PF_LOG" \
    "refreshing it failed: .*invalid_grant.*run: xoauth2-token login $F" \
    "postfix's log has the plugin's message naming xoauth2-token login"
tr -d '\r' <"$XO_PF_LOG" | grep -E "xoauth2-token login|$idc: to=<" | sed 's/^/   | /'
xo_run_timeout 20 postqueue -c "$XO_PF_DIR" -p >"$XO_TMP/postqueue.out" 2>&1
xo_assert_contains "$XO_TMP/postqueue.out" "^${idc}[ *!]" "the message waits in the queue"
"$XO_PYTHON" - "$XO_TMP/before-c.json" "$F" <<'PY' || xo_fail "a rejected refresh changed more than its health record" "$F"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
health = ("failed_at", "failures", "failure_class", "failure")
sys.exit(0 if {k: v for k, v in a.items() if k not in health} ==
         {k: v for k, v in b.items() if k not in health}
         and b.get("failure_class") == "login" and b.get("failures", 0) >= 1
         else 1)
PY
echo "   ok: the token file holds the same tokens; only its health record changed (needs login)"
xo_assert_refreshes "$before" "a refresh succeeded despite the fault"
xo_pf_at_sink "$subject" && xo_fail "the message reached the sink without a login"

xo_step "c. the server accepts refreshes again: postqueue -f delivers the deferred message"
xo_oauth -q fault none || xo_fail "cannot clear the fault"
xo_pf_flush
xo_pf_delivered "$subject" "$idc"
renewed "$before" "$old_rt"

# --- the log ----------------------------------------------------------------------
xo_step "postfix's maillog holds no token"
xo_pf_assert_clean_log 6 "${TOKENS_SEEN[@]}"

xo_step "stop postfix"
xo_pf_stop
[ -z "$(xo_pf_pids)" ] || xo_fail "postfix processes remain after stop"
echo "   ok: no process of the instance remains"

xo_pass
