#!/bin/bash
# App-only access end to end: no person, no refresh token.
#
# `xoauth2-token login --app-only` with a certificate (the client
# credentials grant with an RFC 7523 assertion the test server verifies),
# then `xoauth2-token test` over IMAP, POP and SMTP (submission) through
# libsasl2 and the plugin to the private Dovecot, whose oauth2 passdb
# asks the test server; `show` says what the file is and no secret;
# the token expires and the plugin's refresh (run by `test`) asks for a
# new app-only token; the same with a client secret, and with a Google
# service account (JWT bearer grant).  Each refusal has its message:
# a group-readable key, a replayed jti, an expired assertion, a wrong
# audience, a wrong secret, a key that is not the certificate's.  The
# file never holds the key, the secret, or a refresh token, and keeps
# its token when a renewal fails.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack openssl
xo_require_helper
xo_require_crypto
export XDG_DATA_HOME=$XO_TMP/data

CID=0f8fad5b-d9cb-469f-a165-70867728950e
MBX=relay@example.com

xo_start_mail_servers
xo_message carol@example.com "$MBX" "for the relay" | xo_dovecot_save "$MBX"

D=$XO_TMP/creds
mkdir -m 700 "$D"
xo_app_cert "$D" app
xo_app_cert "$D" other
printf 'app-secret-%s\n' "$RANDOM$RANDOM" >"$D/secret"
chmod 600 "$D/secret"
xo_oauth -q app "$CID" --mailbox "$MBX" --cert "$D/app.crt" \
    --secret-file "$D/secret" || xo_fail "cannot register the app"
TP=$(openssl x509 -in "$D/app.crt" -outform DER | openssl dgst -sha256 -binary |
    openssl base64 -A | tr '+/' '-_' | tr -d '=')

app_grants() {
    xo_oauth_stat app_grants
}

# helper NAME ARGS...: run xoauth2-token ARGS; NAME.out, NAME.err.
helper() {
    local name=$1; shift
    xo_run_timeout 30 "$XO_HELPER" "$@" >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    cat "$XO_TMP/$name.err" >>"$XO_TMP/$name.out"
}

# no_secrets FILE: neither key, nor the secret, nor a refresh token.
no_secrets() {
    xo_assert_not_contains "$1" 'PRIVATE KEY|refresh_token|client_secret"' "$1"
    ! grep -qF "$(head -1 "$D/secret")" "$1" || xo_fail "the client secret is in $1"
    ! grep -qF "$(sed -n 2p "$D/app.key")" "$1" || xo_fail "the private key is in $1"
}

LOGIN=(--provider custom --app-only --client-id "$CID" --user "$MBX"
       --token-endpoint "$XO_OAUTH_URL/token"
       --scope https://outlook.office365.com/.default)

xo_step "login --app-only with a certificate"
before=$(app_grants)
helper login login relay "${LOGIN[@]}" --certificate "$D/app.crt" \
    --private-key "$D/app.key"
xo_assert_rc 0 "$XO_TMP/login.out"
F=$XDG_DATA_HOME/xoauth2/relay.json
xo_assert_contains "$XO_TMP/login.out" \
    "relay: app-only access to $MBX \(client credentials, certificate x5t#S256 $TP\); token file $F written" \
    "login's message"
[ "$(stat -c %a "$F")" = 600 ] || xo_fail "the token file is mode $(stat -c %a "$F")"
[ "$(xo_token_field "$F" grant)" = client_credentials ] || xo_fail "grant is not client_credentials" "$F"
[ "$(xo_token_field "$F" private_key_file)" = "$D/app.key" ] || xo_fail "private_key_file" "$F"
[ "$(xo_token_field "$F" certificate_file)" = "$D/app.crt" ] || xo_fail "certificate_file" "$F"
[ "$(xo_token_field "$F" certificate_thumbprint)" = "$TP" ] || xo_fail "certificate_thumbprint" "$F"
no_secrets "$F"
[ $(( $(app_grants) - before )) = 1 ] || xo_fail "login made $(( $(app_grants) - before )) token requests"
echo "   ok: one token request; the file names the key and certificate, holds neither"

xo_step "show: grant, client id, thumbprint, mailbox; no secret"
helper show show relay
xo_assert_rc 0 "$XO_TMP/show.out"
xo_assert_contains "$XO_TMP/show.out" "^grant: +client credentials \(app-only, no refresh token\)$"
xo_assert_contains "$XO_TMP/show.out" "^client id: +$CID$"
xo_assert_contains "$XO_TMP/show.out" "^mailbox: +$MBX$"
xo_assert_contains "$XO_TMP/show.out" "^certificate: +$D/app\.crt \(x5t#S256 $TP\)$"
xo_assert_contains "$XO_TMP/show.out" "^private key: +$D/app\.key$"
xo_assert_not_contains "$XO_TMP/show.out" "xoat\.|refresh token: +\(none: log in" "show"

helper list list
xo_assert_rc 0 "$XO_TMP/list.out"
xo_assert_contains "$XO_TMP/list.out" "^relay +$MBX +custom +valid, .* left +ok \(app-only\)$" "list"

declare -A PORT=([imap]=$XO_IMAP_PORT [pop]=$XO_POP3_PORT [smtp]=$XO_SUBMISSION_PORT)
for proto in imap pop smtp; do
    xo_step "$proto: test logs in with the app-only token"
    helper "test-$proto" test relay --$proto "127.0.0.1:${PORT[$proto]}" --plain
    xo_assert_rc 0 "$XO_TMP/test-$proto.out"
    xo_assert_contains "$XO_TMP/test-$proto.out" \
        "^PASS: ${proto^^} login to 127\.0\.0\.1:${PORT[$proto]} as $MBX with XOAUTH2"
    xo_assert_not_contains "$XO_TMP/test-$proto.out" 'xoat\.' "the transcript"
done

xo_step "expired: the plugin's refresh asks for a new app-only token"
xo_expire "$MBX" "$F"
old=$(xo_token_field "$F" access_token)
before=$(app_grants)
helper test-renew test relay --imap "127.0.0.1:$XO_IMAP_PORT" --plain
xo_assert_rc 0 "$XO_TMP/test-renew.out"
xo_assert_contains "$XO_TMP/test-renew.out" "^PASS: IMAP login"
[ $(( $(app_grants) - before )) = 1 ] || xo_fail "$(( $(app_grants) - before )) token requests, want 1"
xo_assert_token_renewed "$F" "$old" "the access token was not renewed"
[ "$(xo_token_field "$F" expires_at)" -gt "$(( $(date +%s) + 3000 ))" ] || xo_fail "expires_at not renewed"
no_secrets "$F"
echo "   ok: one new app-only token, stored; still no refresh token"
helper token token relay
xo_assert_rc 0 "$XO_TMP/token.out"
[ "$(head -1 "$XO_TMP/token.out")" = "$(xo_token_field "$F" access_token)" ] \
    || xo_fail "token printed another token"
helper refresh refresh --force -v relay
xo_assert_rc 0 "$XO_TMP/refresh.out"
xo_assert_contains "$XO_TMP/refresh.out" "relay: refreshed; access token valid until"

# refused NAME ACCOUNT WANT-RC ERE: a forced refresh of ACCOUNT fails with
# WANT-RC and ERE, and leaves its tokens and credentials as they were.
refused() {
    local f=$XDG_DATA_HOME/xoauth2/$2.json
    cp -p "$f" "$XO_TMP/before.json"
    helper "$1" refresh --force "$2"
    xo_assert_rc "$3" "$XO_TMP/$1.out"
    xo_assert_contains "$XO_TMP/$1.out" "$4" "the message"
    # The tokens and the credentials stay; the health record (last
    # failure) is the file's business to update.
    "$XO_PYTHON" - "$f" "$XO_TMP/before.json" <<'PY' || xo_fail "the token file's tokens changed" "$f"
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("access_token", "expires_at", "grant", "user", "client_id",
        "token_endpoint", "private_key_file", "certificate_file",
        "certificate_thumbprint", "client_secret_file", "service_account_file")
sys.exit(0 if all(a.get(k) == b.get(k) for k in keys) else 1)
PY
    sed 's/^/   | /' "$XO_TMP/$1.err"
}

xo_step "a group-readable key is refused before anything is sent"
chmod 640 "$D/app.key"
before=$(app_grants)
refused perms relay 77 "^xoauth2-token: relay: refusing the private key $D/app\.key: it is accessible by group or others \(mode 0640\); run: chmod 600 $D/app\.key$"
chmod 600 "$D/app.key"
[ "$(app_grants)" = "$before" ] || xo_fail "a token was issued anyway"
# A person must act: for an app-only file that is "needs login".
[ "$(xo_token_field "$F" failure_class)" = login ] \
    || xo_fail "a refused key is class '$(xo_token_field "$F" failure_class)', want login" "$F"

xo_step "a replayed jti"
xo_oauth -q fault replay --count 1
refused replay relay 78 "relay: client rejected \(invalid_client: AADSTS700027: .*jti .* already used.*: the certificate assertion was refused: .* \(sent: the certificate $D/app\.crt, x5t#S256 $TP\); upload the certificate .* the app $CID .*clock"

[ "$(xo_token_field "$F" failure_class)" = login ] \
    || xo_fail "a refused assertion is class '$(xo_token_field "$F" failure_class)', want login" "$F"

xo_step "an expired assertion (the server's clock is 15 min ahead)"
xo_oauth -q clock-offset 900
refused expired relay 78 "AADSTS700024: Client assertion .*expired at.*this machine's clock is right"
xo_oauth -q clock-offset 0

xo_step "a key that is not the certificate's"
cp -p "$D/app.key" "$D/app.key.good"
cp -p "$D/other.key" "$D/app.key"
refused mismatch relay 78 "relay: the certificate $D/app\.crt is not the private key's"
mv "$D/app.key.good" "$D/app.key"

xo_step "a wrong audience"
helper login-aud login aud "${LOGIN[@]}" --certificate "$D/app.crt" \
    --private-key "$D/app.key" --token-endpoint "http://localhost:$XO_OAUTH_PORT/token"
xo_assert_rc 78 "$XO_TMP/login-aud.out"
xo_assert_contains "$XO_TMP/login-aud.out" \
    "aud: client rejected \(invalid_client: AADSTS700027: .*audience 'http://localhost:$XO_OAUTH_PORT/token'.*: the certificate assertion was refused" \
    "login's message"
[ ! -e "$XDG_DATA_HOME/xoauth2/aud.json" ] || xo_fail "a refused login wrote a token file"

xo_step "a client secret instead of a certificate"
helper login-secret login secret "${LOGIN[@]}" --client-secret-file "$D/secret"
xo_assert_rc 0 "$XO_TMP/login-secret.out"
FS=$XDG_DATA_HOME/xoauth2/secret.json
[ "$(xo_token_field "$FS" client_secret_file)" = "$D/secret" ] || xo_fail "client_secret_file" "$FS"
no_secrets "$FS"
helper test-secret test secret --smtp "127.0.0.1:$XO_SUBMISSION_PORT" --plain
xo_assert_rc 0 "$XO_TMP/test-secret.out"
printf 'wrong\n' >"$D/secret.new"; chmod 600 "$D/secret.new"
cp -p "$D/secret" "$D/secret.good"; mv "$D/secret.new" "$D/secret"
refused wrong-secret secret 78 "secret: client rejected \(invalid_client: AADSTS7000215: Invalid client secret.*: the client secret is wrong .* \(sent: the secret in $D/secret\); .*Certificates & secrets: add a client secret and write its Value \(not its ID\) into that file"
# The cause and the step are said once (the refresh path used to repeat
# them after apponly.c's own words).
[ "$(grep -o 'the client secret is wrong' "$XO_TMP/wrong-secret.err" | wc -l)" = 1 ] \
    || xo_fail "the cause is repeated" "$XO_TMP/wrong-secret.err"
[ "$(grep -o 'Certificates & secrets' "$XO_TMP/replay.err" | wc -l)" = 1 ] \
    || xo_fail "the step is repeated" "$XO_TMP/replay.err"
mv "$D/secret.good" "$D/secret"
helper show-secret show secret
xo_assert_rc 0 "$XO_TMP/show-secret.out"
xo_assert_contains "$XO_TMP/show-secret.out" "^grant: +client credentials \(app-only, no refresh token\)$"
xo_assert_contains "$XO_TMP/show-secret.out" "^client id: +$CID$"
xo_assert_contains "$XO_TMP/show-secret.out" "^mailbox: +$MBX$"
xo_assert_contains "$XO_TMP/show-secret.out" "^client secret: +in $D/secret$"
no_secrets "$XO_TMP/show-secret.out"
no_secrets "$XO_TMP/show.out"

xo_step "usage: what --app-only needs, said before anything is sent"
before=$(app_grants)
# usage NAME ERE ARGS...: login exits 64 with ERE, and writes nothing.
usage() {
    local name=$1 ere=$2
    shift 2
    helper "$name" login "u-$name" "$@"
    xo_assert_rc 64 "$XO_TMP/$name.out"
    xo_assert_contains "$XO_TMP/$name.out" "$ere" "the message"
    [ ! -e "$XDG_DATA_HOME/xoauth2/u-$name.json" ] || xo_fail "$name wrote a token file"
}
CERT=(--certificate "$D/app.crt" --private-key "$D/app.key")
usage no-user 'which mailbox\? add --user MAILBOX' --provider custom --app-only \
    --client-id "$CID" --token-endpoint "$XO_OAUTH_URL/token" "${CERT[@]}"
usage two-creds 'give one credential' "${LOGIN[@]}" "${CERT[@]}" \
    --client-secret-file "$D/secret"
usage no-creds 'give one credential' "${LOGIN[@]}"
usage half-pair '--certificate and --private-key go together' "${LOGIN[@]}" \
    --certificate "$D/app.crt"
usage stdin-secret 'must be in a file' "${LOGIN[@]}" --client-secret-file -
usage ms-no-tenant 'add --tenant with its id or domain' --provider microsoft \
    --app-only --client-id "$CID" --user "$MBX" "${CERT[@]}"
usage ms-common 'add --tenant with its id or domain' --provider microsoft \
    --tenant common --app-only --client-id "$CID" --user "$MBX" "${CERT[@]}"
usage google-no-sa 'add --service-account KEY.json' --provider google \
    --app-only --user "$MBX"
usage app-flow '--flow.* do not apply' "${LOGIN[@]}" "${CERT[@]}" --flow device
usage cert-delegated '--certificate and --private-key are for --app-only' \
    --provider custom --client-id "$CID" --token-endpoint "$XO_OAUTH_URL/token" \
    --auth-endpoint "$XO_OAUTH_URL/authorize" --user "$MBX" "${CERT[@]}"
[ "$(app_grants)" = "$before" ] || xo_fail "a usage error reached the server"
echo "   ok: 10 usage errors, each with its message, none reached the server"

xo_step "Google service account (JWT bearer grant)"
xo_service_account_key "$D/sa.json" relay@xoauth2-test.iam.gserviceaccount.com
xo_oauth -q service-account --key-file "$D/sa.json"
xo_message carol@example.com alice@example.com "for alice" | xo_dovecot_save alice@example.com
helper login-sa login gmail --provider google --service-account "$D/sa.json" \
    --user alice@example.com
xo_assert_rc 0 "$XO_TMP/login-sa.out"
FG=$XDG_DATA_HOME/xoauth2/gmail.json
[ "$(xo_token_field "$FG" grant)" = jwt_bearer ] || xo_fail "grant is not jwt_bearer" "$FG"
[ "$(xo_token_field "$FG" token_endpoint)" = "$XO_OAUTH_URL/token" ] || xo_fail "token_uri" "$FG"
xo_assert_not_contains "$FG" 'PRIVATE KEY|refresh_token' "the token file"
helper test-sa test gmail --imap "127.0.0.1:$XO_IMAP_PORT" --plain --mech OAUTHBEARER
xo_assert_rc 0 "$XO_TMP/test-sa.out"
xo_assert_contains "$XO_TMP/test-sa.out" "^PASS: IMAP login .* as alice@example\.com with OAUTHBEARER"
helper show-sa show gmail
xo_assert_contains "$XO_TMP/show-sa.out" "^grant: +service account \(app-only, no refresh token\)$"
xo_assert_contains "$XO_TMP/show-sa.out" "^service account: +$D/sa\.json$"
xo_step "refusals through diag's table: an app not in the tenant, no domain-wide delegation"
helper login-unknown login unknown --provider custom --app-only --client-id nonesuch \
    --user "$MBX" --token-endpoint "$XO_OAUTH_URL/token" \
    --scope https://outlook.office365.com/.default --client-secret-file "$D/secret"
xo_assert_rc 78 "$XO_TMP/login-unknown.out"
xo_assert_contains "$XO_TMP/login-unknown.out" \
    "unknown: .*AADSTS700016: .*: the application nonesuch is not in this tenant" "the message"
xo_service_account_key "$D/sa2.json" nodeleg@xoauth2-test.iam.gserviceaccount.com
xo_oauth -q service-account --key-file "$D/sa2.json" --scope https://www.googleapis.com/auth/drive
helper login-nodeleg login nodeleg --provider google --service-account "$D/sa2.json" \
    --user alice@example.com
xo_assert_rc 78 "$XO_TMP/login-nodeleg.out"
xo_assert_contains "$XO_TMP/login-nodeleg.out" \
    "nodeleg: .*unauthorized_client: .*domain-wide delegation is not granted.*Manage Domain Wide Delegation" "the message"
sed 's/^/   | /' "$XO_TMP/login-unknown.err" "$XO_TMP/login-nodeleg.err"

chmod 644 "$D/sa.json"
refused sa-perms gmail 77 "refusing the service-account key file $D/sa\.json: it is accessible by group or others \(mode 0644\); run: chmod 600"
chmod 600 "$D/sa.json"

xo_pass
