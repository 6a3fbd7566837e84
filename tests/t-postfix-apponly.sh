#!/bin/bash
# The README's relay recipe: postfix relays with an app-only token file.
#
# A private postfix instance (lib.sh's xo_start_postfix: postfix -c DIR, no
# listener) relays to the private Dovecot's submission service (whose
# oauth2 passdb asks the test server) with smtp_sasl_mechanism_filter =
# xoauth2 and, as the password, the path of a token file written by
# `xoauth2-token login --app-only` run as postfix: the client credentials
# grant with a certificate assertion.  Nothing anywhere holds a refresh
# token: every renewal is a new client credentials request.
#
#   unchrooted smtp (the plugin runs the helper as postfix):
#   1. the message is relayed, no token request;
#   2. the token expired (file and server): the plugin renews it before
#      logging in, with exactly one app-only token request;
#   3. the server rejects a token the file says is valid: deferred with
#      the server's 535, the file marked stale; postqueue -f: renewed,
#      delivered;
#   chrooted smtp (the file moved into the queue directory):
#   4. relayed; then expired: deferred, not bounced, nothing sent; the
#      README's timer command, as postfix from outside, renews it with one
#      request; postqueue -f delivers;
#   stock Debian master.cf (smtp chrooted), the README's one command:
#   5. `login relay --for postfix --apply --app-only ...` puts the file in
#      postfix's store and sets postfix up; relayed; expired: deferred, the
#      packaged timer's command (xoauth2-token-postfix.service, as postfix)
#      renews it with one request; postqueue -f delivers.
# Throughout: the file stays 0600 and postfix's, holds no key, secret or
# refresh token; the maillog holds no token and no key.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_relay_stack openssl
xo_require_crypto

MBX=relay@example.com
CID=6f9619ff-8b86-d011-b42d-00c04fc964ff

xo_start_relay_servers

# --- the app's credentials: postfix's own, 0600 -------------------------------
xo_pf_app_cert "$CID" "$MBX"

TOKDIR=$XO_TMP/postfix-tokens
install -d -o postfix -g postfix -m 700 "$TOKDIR"
F=$TOKDIR/relay.json

# The app-only login of the README's recipe, less where the file goes.
APP_LOGIN=(--provider custom --app-only --client-id "$CID" --user "$MBX"
    --token-endpoint "$XO_OAUTH_URL/token"
    --scope https://outlook.office365.com/.default
    --certificate "$CRED/relay.crt" --private-key "$CRED/relay.key")

xo_step "login --app-only as postfix (the README's recipe)"
xo_run_timeout 30 runuser -u postfix -- "$XO_HELPER" login "$F" "${APP_LOGIN[@]}" \
    >"$XO_TMP/login.out" 2>&1
xo_assert_rc 0 "$XO_TMP/login.out"
xo_assert_contains "$XO_TMP/login.out" "app-only access to $MBX"

app_grants() {
    xo_oauth_stat app_grants
}
LOGIN_RE=$(xo_dovecot_login_re submission "$MBX" XOAUTH2)
logins() {
    xo_count "$XO_DOVECOT_LOG" "$LOGIN_RE"
}
TOKENS_SEEN=()
remember() { TOKENS_SEEN+=("$(xo_token_field "$F" access_token)"); }
remember

# file_ok: 0600, postfix's, and nothing in it but paths and the token.
file_ok() {
    [ "$(stat -c '%a %U' "$F")" = "600 postfix" ] \
        || xo_fail "token file is now $(stat -c '%a %U:%G' "$F"), want 600 postfix"
    xo_assert_not_contains "$F" 'PRIVATE KEY|refresh_token|client_secret"' "the token file"
    ! grep -qF "$(sed -n 2p "$CRED/relay.key")" "$F" || xo_fail "the key is in the token file"
    [ "$(xo_token_field "$F" grant)" = client_credentials ] || xo_fail "grant changed" "$F"
    echo "   ok: the token file is 0600, postfix's, app-only, with no key and no refresh token"
}

# noted: old is the file's access token, before the grants so far.
noted() {
    old=$(xo_token_field "$F" access_token)
    before=$(app_grants)
}

# renewed BEFORE OLD_AT: exactly one app-only token request since BEFORE,
# its token stored, no refresh_token grant; file_ok; the token remembered.
renewed() {
    xo_assert_renewed_once "app-only token request" "$1" "$(app_grants)" \
        "$F" access_token "$2"
    [ "$(xo_oauth_stat refreshes)" = 0 ] || xo_fail "a refresh_token grant happened"
    file_ok
    remember
}

# relayed_unrenewed SUBJECT: SUBJECT is relayed with the token in the file,
# which is not renewed (app_grants still BEFORE).
relayed_unrenewed() {
    xo_pf_send "$1"
    xo_pf_relayed "$1"
    [ "$(app_grants)" = "$before" ] || xo_fail "a valid token was renewed"
}

# --- unchrooted ---------------------------------------------------------------
xo_step "start a private postfix, smtp chroot=n, password $F"
xo_start_postfix "$MBX" "$F" n

xo_step "1. valid app-only token: relayed, no token request"
before=$(app_grants)
l0=$(logins)
relayed_unrenewed "xo-apponly valid $RANDOM"
xo_dovecot_wait_count "$LOGIN_RE" $((l0 + 1)) "Dovecot logged an XOAUTH2 login for $MBX"
file_ok

xo_step "2. expired in the file and at the server: the plugin renews it first"
xo_expire "$MBX" "$F"
noted
subject="xo-apponly expired $RANDOM"
xo_pf_send_undeferred "$subject"
renewed "$before" "$old"

xo_step "3. rejected by the server while the file says valid: deferred, marked stale"
xo_oauth -q expire --user "$MBX"
noted
subject="xo-apponly rejected $RANDOM"
xo_pf_send_refused "$subject"
id3=$XO_PF_QID
[ "$(xo_token_field "$F" expires_at)" -le "$(date +%s)" ] || xo_fail "the file was not marked stale"
[ "$(app_grants)" = "$before" ] || xo_fail "renewed before the retry"
echo "   ok: deferred with the server's 535; the file is marked stale"
xo_pf_flush
xo_pf_delivered "$subject" "$id3"
renewed "$before" "$old"

# --- chrooted -----------------------------------------------------------------
xo_step "4. chrooted smtp: the file moves into the queue directory"
xo_pf_stop
install -d -o postfix -g postfix -m 700 "$XO_PF_QUEUE/xoauth2"
mv "$F" "$XO_PF_QUEUE/xoauth2/relay.json"
F=$XO_PF_QUEUE/xoauth2/relay.json
xo_start_postfix "$MBX" /xoauth2/relay.json y
before=$(app_grants)
relayed_unrenewed "xo-apponly chroot valid $RANDOM"

xo_step "4. expired: deferred (the helper cannot run in the chroot), nothing sent"
xo_expire "$MBX" "$F"
old=$(xo_token_field "$F" access_token)
l0=$(logins)
subject="xo-apponly chroot expired $RANDOM"
xo_pf_send_deferred "$subject"
id4=$XO_PF_QID
xo_assert_contains "$XO_PF_LOG" "has expired and the helper cannot run here" \
    "the plugin says it cannot renew from inside the chroot"
[ "$(logins)" = "$l0" ] || xo_fail "an expired token was sent to the server"

xo_step "4. the README's timer command, as postfix from outside: renewed; postqueue -f"
xo_run_timeout 40 runuser -u postfix -- "$XO_HELPER" refresh --margin 1800 "$F" \
    >"$XO_TMP/timer.out" 2>&1
xo_assert_rc 0 "$XO_TMP/timer.out"
renewed "$before" "$old"
xo_pf_flush
xo_pf_delivered "$subject" "$id4"
echo "   ok: the deferred message went through"

xo_step "the maillog holds no token and no key"
xo_pf_assert_clean_log 5 "${TOKENS_SEEN[@]}"
xo_assert_not_contains "$XO_PF_LOG" 'PRIVATE KEY' "the maillog"
! grep -qF "$(sed -n 2p "$CRED/relay.key")" "$XO_PF_LOG" || xo_fail "the key is in the maillog"

# --- stock Debian master.cf, one command -------------------------------------------
xo_step "5. stock master.cf: login --app-only --for postfix --apply, in one command"
xo_pf_stop
rm -rf "$XO_PF_DIR" "$XO_PF_QUEUE" "$XO_PF_DATA"
xo_pf_init
xo_pf_configure "$MBX" - packaged
xo_run_timeout 60 "$XO_HELPER" login relay --for postfix --postfix-config "$XO_PF_DIR" \
    --relay "[127.0.0.1]:$XO_SUBMISSION_PORT" --apply "${APP_LOGIN[@]}" \
    >"$XO_TMP/login-for.out" 2>&1
xo_assert_rc 0 "$XO_TMP/login-for.out"
sed 's/^/   | /' "$XO_TMP/login-for.out"
F=$XO_PF_QUEUE/xoauth2/relay.json
file_ok
grep -q "$MBX:$F\$" "$XO_PF_DIR/sasl_passwd" || xo_fail "sasl_passwd lacks the line" "$XO_PF_DIR/sasl_passwd"
xo_pf_start
before=$(app_grants)
relayed_unrenewed "xo-apponly stock valid $RANDOM"

xo_step "5. expired: deferred; the packaged timer's command (as postfix, the store as --all) renews it"
xo_expire "$MBX" "$F"
old=$(xo_token_field "$F" access_token)
subject="xo-apponly stock expired $RANDOM"
xo_pf_send_deferred "$subject"
id5=$XO_PF_QID
UNIT=$XO_TOP_SRCDIR/contrib/systemd/xoauth2-token-postfix.service
unit_env=$(sed -n 's/^Environment=//p' "$UNIT" | sed "s,/var/spool/postfix,$XO_PF_QUEUE,g")
read -ra unit_exec <<<"$(sed -n 's/^ExecStart=//p' "$UNIT")"
[ -n "$unit_env" ] && [ "${unit_exec[0]:-}" = /usr/bin/xoauth2-token ] || xo_fail "cannot read $UNIT"
unit_exec[0]=$XO_HELPER
# shellcheck disable=SC2086
xo_run_timeout 60 runuser -u postfix -- env -i PATH=/usr/bin:/bin $unit_env "${unit_exec[@]}" \
    >"$XO_TMP/timer.out" 2>&1
xo_assert_rc 0 "$XO_TMP/timer.out"
renewed "$before" "$old"
xo_pf_flush
xo_pf_delivered "$subject" "$id5" 30
echo "   ok: the deferred message went through"
xo_pf_assert_clean_log 7 "${TOKENS_SEEN[@]}"
xo_assert_not_contains "$XO_PF_LOG" 'PRIVATE KEY' "the maillog"

xo_pf_stop
xo_pass
