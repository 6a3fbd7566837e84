#!/bin/bash
# Microsoft's and Google's newer refusals at login and renewal (issue 20),
# against the mock OAuth server answering as the providers word them:
#   - a device code sign-in that a Conditional Access policy blocks
#     (AADSTS53003) names the browser flow, --port and
#     `ssh -L PORT:localhost:PORT`; nothing is written; the browser flow it
#     names, with that --port, then works;
#   - a multitenant app without a service principal in the tenant
#     (AADSTS7000229), at app-only login and at renewal: az ad sp create /
#     New-ServicePrincipal, with the app's id;
#   - a login whose mail scope was left unticked on the consent screen
#     (the answer's scope lacks it) is refused: nothing written, the
#     message names the box Google shows for https://mail.google.com/;
#     an answer with the scope, or without a scope member (RFC 6749 5.1:
#     as asked), is accepted;
#   - login writes login_at, refresh keeps it; a Google refresh refused
#     with invalid_grant 7 days after the login says an OAuth client in
#     Testing gets 7-day refresh tokens and how to publish it; 3 days
#     after, the usual hint.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_crypto
unset BROWSER DISPLAY WAYLAND_DISPLAY
xo_login_setup
xo_oauth -q device-config --interval 1 --expires-in 60
USER=alice@example.com
GMAIL="https://mail.google.com/"

# helper NAME ARGS...: xoauth2-token ARGS within 30 s; stdout and stderr
# both in $XO_TMP/NAME.out.
helper() {
    local name=$1; shift
    xo_run_timeout 30 "$XO_HELPER" "$@" >"$XO_TMP/$name.out" 2>&1
}

# device_login ACCOUNT: a device-flow login of $USER at the test server,
# approved there; stdout and stderr in $XO_TMP/ACCOUNT.out and .err.
device_login() {
    XO_ELAPSED="?"     # xo_device_login does not time it
    xo_device_login "$USER" 30 "$XO_HELPER" login "$1" --provider custom \
        --client-id xoauth2-test --flow device --user "$USER" \
        --device-endpoint "$XO_OAUTH_URL/devicecode" \
        --token-endpoint "$XO_OAUTH_URL/token" --scope "$XO_IMAP_SCOPE" \
        >"$XO_TMP/$1.out" 2>"$XO_TMP/$1.err"
}

# --- Microsoft: the device code flow blocked by a policy ------------------------
xo_step "device flow refused by Conditional Access (AADSTS53003): the browser flow, --port and ssh -L are named"
xo_oauth -q fault ca_blocked --count 1
device_login dev
out=$XO_TMP/dev.err
xo_assert_rc 77 "$out"
xo_assert_contains "$out" "^xoauth2-token: dev: device code rejected \(invalid_grant: AADSTS53003: Access has been blocked by Conditional Access policies\. The access policy does not allow token issuance\.\): a Conditional Access policy blocks the device code flow" \
    "what the server said, first"
xo_assert_contains "$out" "the browser flow still works: run the same login with --flow browser --port 8400; on a machine without a browser, connect to it first with ssh -L 8400:localhost:8400 HOST and open the URL it prints" \
    "the browser flow, its port, the ssh forward"
xo_assert_not_contains "$out" 'Trace ID' "no trace ids"
[ ! -e "$XO_STORE/dev.json" ] || xo_fail "a token file was written" "$XO_STORE/dev.json"
echo "   ok: nothing written"

xo_step "... and the browser flow it names works, with that --port"
PORT=$(xo_free_ports 1)
xo_browser <<'EOF'
fetch(url, log)
EOF
: >"$XO_TMP/browser.log"
xo_login_mock 30 dev --flow browser --port "$PORT" --login-hint "$USER" \
    --scope "$XO_IMAP_SCOPE"
xo_assert_rc 0 "$XO_TMP/dev.err"
xo_assert_contains "$XO_TMP/dev.err" "waiting [0-9]+ s for the answer on http://127\.0\.0\.1:$PORT/" "the port asked for"
xo_assert_contains "$XO_TMP/dev.err" "signed in as $USER; token file $XO_STORE/dev\.json written"
unset BROWSER

# --- Microsoft: a multitenant app without a service principal ------------------
CID=9e5f94bc-e8a4-4e73-b8be-63364c29d753
MBX=relay@example.com
D=$XO_TMP/creds
mkdir -m 700 "$D"
xo_app_secret "$D/secret" "$CID" "$MBX"
APP=("${XO_APP_OPTS[@]}" --client-secret-file "$D/secret")
SP_FIX="a tenant admin runs: az ad sp create --id $CID \(or New-MgServicePrincipal -AppId $CID\), then in Exchange Online PowerShell: New-ServicePrincipal -AppId $CID -ObjectId <the enterprise application's object id>"

xo_step "app-only login refused for a missing service principal (AADSTS7000229): New-ServicePrincipal"
xo_oauth -q fault no_service_principal --count 1
helper sp-login login relay "${APP[@]}"
out=$XO_TMP/sp-login.out
xo_assert_rc 78 "$out"
xo_assert_contains "$out" "^xoauth2-token: relay: .*AADSTS7000229: The client application $CID is missing service principal in the tenant .*: the app $CID has no service principal \(enterprise application\) in this tenant: since March 2026 Microsoft refuses a multitenant app without one \(sent: the secret in $D/secret\); $SP_FIX" \
    "the cause, what was sent, the admin's commands"
[ ! -e "$XO_STORE/relay.json" ] || xo_fail "a token file was written"

xo_step "... and at renewal: the same hint, the token file keeps its token"
helper sp-ok login relay "${APP[@]}"
xo_assert_rc 0 "$XO_TMP/sp-ok.out"
cp "$XO_STORE/relay.json" "$XO_TMP/relay.before"
xo_oauth -q fault no_service_principal --count 1
helper sp-refresh refresh --force relay
out=$XO_TMP/sp-refresh.out
xo_assert_rc 78 "$out"
xo_assert_contains "$out" "^xoauth2-token: relay: .*AADSTS7000229: .*: the app $CID has no service principal .*; $SP_FIX" \
    "the renewal names the same fix"
[ "$(xo_token_field "$XO_STORE/relay.json" access_token)" = \
  "$(xo_token_field "$XO_TMP/relay.before" access_token)" ] \
    || xo_fail "the refused renewal changed the token"

# --- Google: the mail scope unticked at consent --------------------------------
xo_browser <<'EOF'
fetch(url, log)
EOF

xo_step "browser login, mail scope unticked: refused, nothing written, Google's box named"
xo_oauth -q fault unticked
xo_login_mock 30 gmail --login-hint "$USER" --scope "$GMAIL openid email"
out=$XO_TMP/gmail.err
xo_assert_rc 77 "$out"
xo_assert_contains "$out" "^xoauth2-token: gmail: the server granted \"openid email\" but not https://mail\.google\.com/, without which the token opens no mail: the box \"Read, compose, send, and permanently delete all your email from Gmail\" was left unticked on the consent screen; nothing was written: log in again and tick it: xoauth2-token login gmail$" \
    "what was granted, what is missing, the box to tick"
xo_assert_not_contains "$out" "token file .* written"
[ ! -e "$XO_STORE/gmail.json" ] || xo_fail "a token file was written" "$XO_STORE/gmail.json"
echo "   ok: nothing written"

xo_step "device login, Microsoft's mail scope unticked: refused the same way"
device_login msdev
xo_assert_rc 77 "$XO_TMP/msdev.err"
xo_assert_contains "$XO_TMP/msdev.err" "^xoauth2-token: msdev: the server granted \"offline_access\" but not https://outlook\.office\.com/IMAP\.AccessAsUser\.All, without which the token opens no mail: it was refused on the consent screen \(a box left unticked\) or by an administrator's policy; nothing was written"
[ ! -e "$XO_STORE/msdev.json" ] || xo_fail "a token file was written"

xo_step "an answer without a scope member (RFC 6749 5.1: as asked) is accepted"
xo_oauth -q fault scope_absent
xo_login_mock 30 noscope --login-hint "$USER" --scope "$GMAIL openid email"
xo_assert_rc 0 "$XO_TMP/noscope.err"
xo_assert_contains "$XO_TMP/noscope.err" "signed in as $USER; token file $XO_STORE/noscope\.json written"
xo_oauth -q fault none

xo_step "the mail scope granted: the login is written, with login_at"
t0=$(date +%s)
xo_login_mock 30 gmail --login-hint "$USER" --scope "$GMAIL openid email"
xo_assert_rc 0 "$XO_TMP/gmail.err"
F=$XO_STORE/gmail.json
login_at=$(xo_token_field "$F" login_at)
[ "$login_at" -ge "$t0" ] && [ "$login_at" -le "$(date +%s)" ] \
    || xo_fail "login_at is '$login_at', not the login's time" "$F"
echo "   ok: login_at $login_at"

xo_step "refresh keeps login_at"
helper keep refresh --force gmail
xo_assert_rc 0 "$XO_TMP/keep.out"
[ "$(xo_token_field "$F" login_at)" = "$login_at" ] || xo_fail "refresh changed login_at" "$F"
echo "   ok: still $login_at"

# --- Google: a client in Testing, 7 days later ----------------------------------
# google FILE DAYS: the token file FILE, a Google grant logged in DAYS
# days ago (provider google, the mock's endpoint).
google() {
    mkdir -p -m 700 "$XO_STORE"
    xo_tokfile "$XO_STORE/$1.json" "$USER" 3600 provider=google \
        "scope=$GMAIL" "login_at=$(( $(date +%s) - $2 * 86400 - 1800 ))"
}

xo_step "a Google refresh refused (invalid_grant) 7 days after the login: the Testing status and Publish app"
google week 7
xo_oauth -q fault google_revoked --count 1
helper week refresh --force week
out=$XO_TMP/week.out
xo_assert_rc 77 "$out"
xo_assert_contains "$out" "^xoauth2-token: week: refresh rejected \(invalid_grant: Token has been expired or revoked\.\): Google ended the grant 7 days after the login: an OAuth client in \"Testing\" publishing status gets refresh tokens that expire after 7 days; publish the app \(Google Cloud console > APIs & Services > OAuth consent screen > Publish app; .*\), then: xoauth2-token login week$" \
    "the 7-day rule and how to publish"
helper week-status status week
xo_assert_contains "$XO_TMP/week-status.out" "needs login" "status: a login is needed"

xo_step "... 3 days after the login: the usual words, no 7-day claim"
google days3 3
xo_oauth -q fault google_revoked --count 1
helper days3 refresh --force days3
xo_assert_rc 77 "$XO_TMP/days3.out"
xo_assert_contains "$XO_TMP/days3.out" "Google ended the grant \(a password change"
xo_assert_not_contains "$XO_TMP/days3.out" "7 days after the login"

xo_pass
