#!/bin/bash
# Errors that name the fix: `xoauth2-token test` and `refresh` against a
# Microsoft-like service (exchange_server.py: IMAP, POP and SMTP answering
# the way Exchange Online does -- a bare NO / -ERR / 535, no challenge --
# and a token endpoint answering with AADSTS and Google errors).
#   - every mail-server row of the diagnostics table (helper/diag.c),
#     High Volume Email's (501 5.5.124, 550 5.5.105) and SendAs denied
#     (550 5.7.60) included, with their app-only fixes,
#     driven through the real `test` (libsasl2 and our plugin): the reply
#     maps to its cause and the exact admin step, on stdout and stderr;
#   - Exchange's own decision (mode "exchange"): a Microsoft Graph token, a
#     token for another user, an app-only token without mailbox permission
#     are refused with a bare reply, and `test -v` shows the token's claims
#     (never the token) and warns about the audience / the user;
#   - every token-endpoint row: `refresh` names the cause and the step;
#   - the default refresh margin is 600 s in the helper and the plugin
#     (smtp-hve refuses tokens close to expiry: 501 5.5.127).
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_cmd "$XO_PYTHON" openssl
xo_require_plugin
xo_require_helper

xo_start_exchange tls --tls
TLS_SMTP_PORT=$XO_EX_SMTP_PORT TLS_DIR=$XO_EX_DIR
xo_start_exchange ex
export XDG_DATA_HOME=$XO_TMP/data
mkdir -p -m 700 "$XDG_DATA_HOME" "$XDG_DATA_HOME/xoauth2"
F=$XDG_DATA_HOME/xoauth2/work.json
USER=alice@contoso.com
APPID=9e5f94bc-e8a4-4e73-b8be-63364c29d753
SCOPES="IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send"
declare -A PORT=([imap]=$XO_EX_IMAP_PORT [pop]=$XO_EX_POP_PORT [smtp]=$XO_EX_SMTP_PORT)
: >"$XO_TMP/secrets"

# jwt ARGS...: a JWT access token (exchange_server.py jwt ARGS), remembered
# as a secret that no output may show.
jwt() {
    local t
    t=$("$XO_PYTHON" "$XO_TESTS_DIR/exchange_server.py" jwt "$@")
    echo "$t" >>"$XO_TMP/secrets"
    echo "${t##*.}" >>"$XO_TMP/secrets"         # the signature alone, too
    echo "$t"
}

# mkfile USER TOKEN EXPIRES_IN: the token file $F for USER.
mkfile() {
    "$XO_PYTHON" - "$F" "$1" "$2" "$3" "$XO_EX_TOKEN_URL" "$APPID" <<'PY'
import json, os, sys, time
path, user, token, exp, endpoint, appid = sys.argv[1:]
tok = {"version": 1, "account": "work", "user": user, "provider": "microsoft",
       "token_endpoint": endpoint, "client_id": appid,
       "scope": "https://outlook.office.com/SMTP.Send offline_access",
       "access_token": token, "expires_at": int(time.time()) + int(exp),
       "refresh_token": "0.AXoA-refresh-token-for-the-test"}
fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(tok, indent=1).encode())
os.close(fd)
os.replace(path + ".new", path)
PY
    echo "0.AXoA-refresh-token-for-the-test" >>"$XO_TMP/secrets"
}

# run NAME ARGS...: xoauth2-token ARGS, stdout in NAME.out, stderr in
# NAME.err (and appended to NAME.out).
run() {
    local name=$1; shift
    xo_run_timeout 30 "$XO_HELPER" "$@" >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    cat "$XO_TMP/$name.err" >>"$XO_TMP/$name.out"
}

# token_requests: how many token requests the responder has answered.
token_requests() {
    grep -c ' token: POST ' "$XO_EX_LOG" || true
}

# What the tokens the responder mints look like (after the plugin marks a
# refused token stale, the next test refreshes it there).
printf '{"aud": "https://outlook.office.com", "scp": "%s", "upn": "%s"}\n' \
    "$SCOPES" "$USER" | tee "$TLS_DIR/claims.json" >"$XO_EX_DIR/claims.json"

xo_step "a good token logs in over IMAP, POP and SMTP (plain), and SMTP with STARTTLS"
mkfile "$USER" "$(jwt --upn "$USER" --scp "$SCOPES")" 3600
for proto in imap pop smtp; do
    run "ok-$proto" test work --$proto "127.0.0.1:${PORT[$proto]}" --plain
    xo_assert_rc 0 "$XO_TMP/ok-$proto.out"
    xo_assert_contains "$XO_TMP/ok-$proto.out" "^PASS: ${proto^^} login"
done
run ok-starttls test work --smtp "localhost:$TLS_SMTP_PORT" --cafile "$XO_TLS_CA"
xo_assert_rc 0 "$XO_TMP/ok-starttls.out"
xo_assert_contains "$XO_TMP/ok-starttls.out" '^C: STARTTLS$'
xo_assert_contains "$XO_TMP/ok-starttls.out" '^PASS: SMTP login .* \(STARTTLS\)'

# --- every mail-server row -------------------------------------------------------
# mode (= the table row) | protocol | exit status | cause (ERE) | fix (ERE)
ROWS=$(cat <<'EOF'
smtp-auth-disabled-tenant|smtp|77|SMTP AUTH is disabled for the whole organization|an Exchange admin runs: Set-TransportConfig -SmtpClientAuthenticationDisabled \$false \(or, for this mailbox only: Set-CASMailbox -Identity alice@contoso\.com -SmtpClientAuthenticationDisabled \$false\)
smtp-auth-disabled-mailbox|smtp|77|SMTP AUTH is disabled for the mailbox alice@contoso\.com|an Exchange admin runs: Set-CASMailbox -Identity alice@contoso\.com -SmtpClientAuthenticationDisabled \$false$
smtp-auth-refused|smtp|77|Exchange does not allow SMTP AUTH here|Set-CASMailbox -Identity alice@contoso\.com -SmtpClientAuthenticationDisabled \$false, and if the organization has it off: Set-TransportConfig
smtp-token-refused|smtp|77|Exchange refused the token: the token's audience or scope is not Exchange's|xoauth2-token test work -v; then log in again with the scope https://outlook\.office\.com/SMTP\.Send: xoauth2-token login work
smtp-not-authenticated|smtp|77|without logging in|smtp_sasl_auth_enable = yes
smtp-basic-auth|smtp|77|a password was sent \(basic authentication\), not an OAuth token|smtp_sasl_mechanism_filter = xoauth2
smtp-token-expires-soon|smtp|75|expires too soon for this server|xoauth2_refresh_margin=900 .*xoauth2-token refresh --margin 900 work
imap-refused|imap|77|Exchange refused the login and says no more over IMAP|https://outlook\.office\.com/IMAP\.AccessAsUser\.All: xoauth2-token login work; if IMAP is off, an Exchange admin runs: Set-CASMailbox -Identity alice@contoso\.com -ImapEnabled \$true
pop-refused|pop|77|Exchange refused the login and says no more over POP|Set-CASMailbox -Identity alice@contoso\.com -PopEnabled \$true
smtp-hve-refused|smtp|77|the High Volume Email endpoint \(smtp-hve\.office365\.com\) refused the login: it takes only app-only tokens, from an app on the HVE account's Allowed Apps list|log in app-only: xoauth2-token login work --app-only --tenant [^ ]+ --client-id 9e5f94bc-e8a4-4e73-b8be-63364c29d753 --user alice@contoso\.com --client-secret-file FILE, and an Exchange admin runs: Add-HVEAppAccess -Identity alice@contoso\.com -AppIds 9e5f94bc-e8a4-4e73-b8be-63364c29d753 \(up to 5 minutes to apply\)
smtp-hve-external-recipient|smtp|77|the High Volume Email endpoint \(smtp-hve\.office365\.com\) delivers only to recipients inside the organization|send mail for outside recipients through smtp\.office365\.com
smtp-sendas-denied|smtp|77|the login worked, but alice@contoso\.com may not send as the sender address: sending as a shared mailbox over SMTP needs SendAs on it \(FullAccess, which IMAP needs, is not enough\)|an Exchange admin runs: Add-RecipientPermission -Identity SHARED_MAILBOX -Trustee alice@contoso\.com -AccessRights SendAs
EOF
)
n=0
while IFS='|' read -r mode proto rc cause fix; do
    xo_step "$mode: the $proto reply maps to its cause and fix"
    echo "$mode" >"$XO_EX_DIR/mode"
    mkfile "$USER" "$(jwt --upn "$USER" --scp "$SCOPES")" 3600
    run "$mode" test work --$proto "127.0.0.1:${PORT[$proto]}" --plain
    out=$XO_TMP/$mode.out
    xo_assert_rc "$rc" "$out"
    xo_assert_contains "$out" "^FAIL: ${proto^^} login to 127\.0\.0\.1:${PORT[$proto]} as $USER with XOAUTH2"
    xo_assert_contains "$out" "^   cause: .*$cause" "stdout: the cause"
    xo_assert_contains "$out" "^   fix:   .*$fix" "stdout: the fix"
    xo_assert_contains "$XO_TMP/$mode.err" "^xoauth2-token: work: 127\.0\.0\.1 answered \".*\": .*$cause.*; .*$fix" \
        "stderr: one line, what happened and what to do"
    xo_assert_faster_than 10 "$out"
    n=$((n + 1))
done <<<"$ROWS"
[ "$n" = 12 ] || xo_fail "$n mail rows run, want 12"
echo "exchange" >"$XO_EX_DIR/mode"

# --- Exchange's own decision, and what -v shows ---------------------------------
xo_step "a Microsoft Graph token: IMAP says a bare NO; -v shows the audience and warns"
mkfile "$USER" "$(jwt --aud https://graph.microsoft.com --upn "$USER" --scp Mail.Read)" 3600
run graph test work --imap "127.0.0.1:$XO_EX_IMAP_PORT" --plain -v
out=$XO_TMP/graph.out
xo_assert_rc 77 "$out"
xo_assert_contains "$out" '^S: A2 NO AUTHENTICATE failed\.$' "Exchange's bare refusal"
xo_assert_not_contains "$out" '^\+ ' "no challenge"
xo_assert_contains "$out" '^   aud:   https://graph\.microsoft\.com$' "-v: the audience"
xo_assert_contains "$out" "^   user:  $USER\$" "-v: the user"
xo_assert_contains "$out" '^   scp:   Mail\.Read$' "-v: the scopes"
xo_assert_contains "$out" '^   tid:   72f988bf-86f1-41af-91ab-2d7cd011db47$' "-v: the tenant"
xo_assert_contains "$out" '^   exp:   .*\(in [0-9]+ min\)$' "-v: the expiry"
xo_assert_contains "$out" '^   warning: the token.s audience is "https://graph\.microsoft\.com", not Exchange Online.s mail .*Microsoft Graph token' \
    "warns: not the mail audience"
xo_assert_contains "$out" '^   cause: Exchange refused the login and says no more over IMAP' "the IMAP row"

xo_step "another user's token: SMTP 535 5.7.3; the warning names both users"
mkfile "$USER" "$(jwt --upn bob@contoso.com --scp "$SCOPES")" 3600
run other-user test work --smtp "127.0.0.1:$XO_EX_SMTP_PORT" --plain
out=$XO_TMP/other-user.out
xo_assert_rc 77 "$out"
xo_assert_contains "$out" '^S: 535 5\.7\.3 Authentication unsuccessful'
xo_assert_contains "$out" "^   warning: the token is bob@contoso\.com's, but the login is as $USER \(user=\): Exchange refuses that with 535 5\.7\.3" \
    "warns (even without -v): another user's token"
xo_assert_not_contains "$out" '^   aud:' "claims only with -v"
xo_assert_contains "$out" '^   cause: Exchange refused the token' "the 5.7.3 row"

xo_step "an app-only token without mailbox permission: 535 5.7.3; the fix names the service principal and the permission"
MBX=shared@contoso.com
mkfile "$MBX" "$(jwt --roles 'SMTP.SendAsApp IMAP.AccessAsApp')" 3600
run app-refused test work --smtp "127.0.0.1:$XO_EX_SMTP_PORT" --plain -v
out=$XO_TMP/app-refused.out
xo_assert_rc 77 "$out"
xo_assert_contains "$out" '^S: 535 5\.7\.3 Authentication unsuccessful'
xo_assert_contains "$out" '^   roles: SMTP\.SendAsApp IMAP\.AccessAsApp \(app-only\)$' "-v: the roles, app-only"
xo_assert_not_contains "$out" '^   warning:' "no warning: audience and roles are right"
xo_assert_contains "$out" "^   cause: Exchange refused the app-only token: the app's service principal is not registered in Exchange, or it has no permission on the mailbox $MBX" \
    "the app-only cause"
xo_assert_contains "$out" "^   fix:   New-ServicePrincipal -AppId $APPID -ObjectId <the enterprise application's object id>; then Add-MailboxPermission -Identity $MBX -User <that service principal> -AccessRights FullAccess, and to send as it: Add-RecipientPermission -Identity $MBX -Trustee <that service principal> -AccessRights SendAs" \
    "the app-only fix"

for mode in smtp-hve-refused smtp-sendas-denied; do
    xo_step "$mode with an app-only token: the fix is the app's (HVE's Allowed Apps; SendAs for its service principal)"
    echo "$mode" >"$XO_EX_DIR/mode"
    mkfile "$MBX" "$(jwt --roles 'SMTP.SendAsApp')" 3600
    run "app-$mode" test work --smtp "127.0.0.1:$XO_EX_SMTP_PORT" --plain
    out=$XO_TMP/app-$mode.out
    xo_assert_rc 77 "$out"
    case $mode in
    smtp-hve-refused)
        xo_assert_contains "$out" "^   cause: the High Volume Email endpoint \(smtp-hve\.office365\.com\) refused the app-only token: the app $APPID is not on the Allowed Apps list of the HVE account $MBX"
        xo_assert_contains "$out" "^   fix:   an Exchange admin runs: Add-HVEAppAccess -Identity $MBX -AppIds $APPID; wait 5 minutes, then test again\$" ;;
    smtp-sendas-denied)
        xo_assert_contains "$out" "^   cause: the app-only login for $MBX worked, but the app may not send as the sender address"
        xo_assert_contains "$out" "^   fix:   an Exchange admin runs: Add-RecipientPermission -Identity $MBX -Trustee <the app's service principal> -AccessRights SendAs\$" ;;
    esac
done
echo "exchange" >"$XO_EX_DIR/mode"

xo_step "... once the mailbox permission is there, the same token logs in"
echo "$MBX" >"$XO_EX_DIR/app-mailboxes"
mkfile "$MBX" "$(jwt --roles 'SMTP.SendAsApp IMAP.AccessAsApp')" 3600
run app-ok test work --smtp "127.0.0.1:$XO_EX_SMTP_PORT" --plain
xo_assert_rc 0 "$XO_TMP/app-ok.out"

# --- every token-endpoint row ------------------------------------------------------
# mode (= the table row) | exit status | cause (ERE) | fix (ERE)
TOKEN_ROWS=$(cat <<'EOF'
aad-mfa-required|77|now requires multi-factor authentication|xoauth2-token login work
aad-mfa-enrol|77|must enrol in multi-factor authentication|https://aka\.ms/mfasetup, then: xoauth2-token login work
aad-grant-expired|77|went unused for 90 days|run: xoauth2-token login work, then keep it in use with the refresh timer
aad-grant-revoked|77|grant was revoked|run: xoauth2-token login work
aad-sign-in-frequency|77|sign-in frequency policy|run: xoauth2-token login work
aad-consent|77|nobody has consented|Enterprise applications > the app 9e5f94bc-e8a4-4e73-b8be-63364c29d753 > Permissions > Grant admin consent
aad-app-not-in-tenant|78|the application 9e5f94bc-e8a4-4e73-b8be-63364c29d753 is not in this tenant|Application \(client\) ID
aad-public-client-off|78|not allowed public client flows|Allow public client flows: Yes
aad-account-not-in-tenant|78|not in the app's tenant|--tenant consumers
aad-tenant-not-found|78|the tenant contoso\.onmicrosoft\.com does not exist|check --tenant
aad-conditional-access|77|Conditional Access policy blocked the sign-in|Sign-in logs \(filter on the app 9e5f94bc-e8a4-4e73-b8be-63364c29d753\)
aad-secret-invalid|78|client secret is wrong|add a client secret and give its Value \(not its ID\) with xoauth2-token login work --client-secret-file FILE
aad-secret-expired|78|client secret has expired|Certificates & secrets: add a client secret
aad-assertion-invalid|78|certificate assertion was refused|Certificates & secrets > Certificates
aad-scope-default|78|scope ending in /\.default|https://outlook\.office365\.com/\.default
aad-no-service-principal|78|the app 9e5f94bc-e8a4-4e73-b8be-63364c29d753 has no service principal \(enterprise application\) in this tenant: since March 2026|a tenant admin runs: az ad sp create --id 9e5f94bc-e8a4-4e73-b8be-63364c29d753 \(or New-MgServicePrincipal -AppId 9e5f94bc-e8a4-4e73-b8be-63364c29d753\); then: xoauth2-token login work
google-grant-revoked|77|Google ended the grant|run: xoauth2-token login work; if it recurs every week, publish the app
google-no-delegation|78|domain-wide delegation is not granted|Manage Domain Wide Delegation
google-user-unknown|77|not a user of the Workspace domain|--user MAILBOX
google-client-deleted|69|was deleted in the Google Cloud console|--client-id NEW_ID
EOF
)
mkfile "$USER" "$(jwt --upn "$USER" --scp "$SCOPES")" 3600
cp -p "$F" "$XO_TMP/before-refresh.json"
n=0
while IFS='|' read -r mode rc cause fix; do
    xo_step "$mode: refresh names the cause and the fix"
    echo "$mode" >"$XO_EX_DIR/token-mode"
    run "$mode" refresh --force work
    xo_assert_rc "$rc" "$XO_TMP/$mode.out"
    xo_assert_contains "$XO_TMP/$mode.err" "^xoauth2-token: work: .*: .*$cause.*; .*$fix" \
        "one line: what the server said, the cause, the fix"
    xo_assert_not_contains "$XO_TMP/$mode.err" 'Trace ID' "no trace ids"
    for m in access_token refresh_token expires_at; do
        [ "$(xo_token_field "$F" $m)" = "$(xo_token_field "$XO_TMP/before-refresh.json" $m)" ] \
            || xo_fail "$m changed after a refused refresh"
    done
    n=$((n + 1))
done <<<"$TOKEN_ROWS"
[ "$n" = 20 ] || xo_fail "$n token rows run, want 20"
echo ok >"$XO_EX_DIR/token-mode"

# --- the refresh margin -----------------------------------------------------------
xo_step "the helper's default margin is 600 s: a token valid for 450 s is refreshed"
mkfile "$USER" "$(jwt --upn "$USER" --scp "$SCOPES" --exp-in 450)" 450
before=$(token_requests)
run margin-helper token work
xo_assert_rc 0 "$XO_TMP/margin-helper.out"
[ "$(token_requests)" = $((before + 1)) ] \
    || xo_fail "token did not refresh a token expiring in 450 s" "$XO_EX_LOG"
echo "   ok: refreshed"
run margin-fresh token work
[ "$(token_requests)" = $((before + 1)) ] || xo_fail "a fresh token was refreshed again"
echo "   ok: the fresh one is not"

xo_step "the plugin's default margin is 600 s: test with a token valid for 450 s refreshes first"
mkfile "$USER" "$(jwt --upn "$USER" --scp "$SCOPES" --exp-in 450)" 450
before=$(token_requests)
run margin-plugin test work --smtp "127.0.0.1:$XO_EX_SMTP_PORT" --plain
xo_assert_rc 0 "$XO_TMP/margin-plugin.out"
xo_assert_contains "$XO_TMP/margin-plugin.out" 'expires within 600 s; running .* refresh' \
    "the plugin says it refreshes, with its margin"
[ "$(token_requests)" = $((before + 1)) ] \
    || xo_fail "the plugin did not refresh a token expiring in 450 s" "$XO_EX_LOG"
echo "   ok: refreshed by the plugin"
run help --help
xo_assert_contains "$XO_TMP/help.out" 'refresh if the token expires within SECS \(default 600\)'

xo_step "no token, no signature in any output"
cat "$XO_TMP"/*.out >"$XO_TMP/all-output"
sort -u "$XO_TMP/secrets" | grep -v '^$' >"$XO_TMP/secrets.u"
if grep -F -f "$XO_TMP/secrets.u" "$XO_TMP/all-output" >/dev/null; then
    xo_fail "a token appears in the output" "$XO_TMP/all-output"
fi
echo "   ok: $(wc -l <"$XO_TMP/secrets.u") secrets, none in $(wc -l <"$XO_TMP/all-output") lines"

xo_pass
