#!/bin/bash
# The test OAuth server's app-only grants, fed assertions that helper/jwt.c
# signed (jwt-sign): the client credentials grant with a secret or a
# certificate assertion (Microsoft's shape), the JWT bearer grant of a
# Google service account, and each refusal the helper's tests lean on:
# a wrong secret, an expired secret, a replayed jti, an expired or
# too-long-lived assertion, a wrong audience, iss/sub not the client, an
# unregistered certificate, a tampered signature, a scope without
# /.default, an unknown app, an undelegated scope.  Tokens it issues are
# active at introspection (what Dovecot asks) as the app's mailbox, and
# no refresh token is ever handed out.
. "$(dirname "$0")/lib.sh"

SIGN=$XO_TOP_BUILDDIR/tests/jwt-sign
[ -x "$SIGN" ] || xo_fail "not built: $SIGN"
xo_require_cmd curl openssl
xo_require_crypto

xo_start_oauth
D=$XO_TMP/creds
mkdir -m 700 "$D"
CID=11111111-2222-3333-4444-555555555555
MBX=relay@example.com
TOKEN_URL=$XO_OAUTH_URL/token
AT=urn:ietf:params:oauth:client-assertion-type:jwt-bearer

xo_app_cert "$D" app
xo_app_cert "$D" other
printf 's3cret-value' >"$D/secret"    # curl's @FILE sends every byte
chmod 600 "$D/secret"
xo_oauth -q app "$CID" --mailbox "$MBX" --secret-file "$D/secret" \
    --cert "$D/app.crt" || xo_fail "cannot register the app"
xo_oauth -q app expired-app --mailbox "$MBX" --secret-file "$D/secret" \
    --expired-secret || xo_fail "cannot register the second app"

# post OUT FIELD=VALUE... (FIELD@FILE reads the value from FILE): POST a
# form to the token endpoint; OUT gets the body, HTTP the status.
post() {
    local out=$1 args=() f
    shift
    for f in "$@"; do args+=(--data-urlencode "$f"); done
    HTTP=$(curl -s -o "$out" -w '%{http_code}' --max-time 10 "${args[@]}" \
        "$TOKEN_URL") || xo_fail "curl failed"
}

# cc OUT [FIELD=VALUE...]: a client credentials request for $CID.
cc() {
    local out=$1
    shift
    post "$out" grant_type=client_credentials "client_id=$CID" \
        scope=https://outlook.office365.com/.default "$@"
}

# sign FILE ARGS...: jwt-sign into FILE (mode 0600: it is a credential).
sign() {
    local f=$1
    shift
    (umask 077; set -o pipefail; "$SIGN" "$@" | tr -d '\n' >"$f") \
        || xo_fail "jwt-sign $* failed"
}

# expect_ok OUT: 200, an access token, no refresh token, and the token is
# active at introspection as the mailbox $2 (default $MBX).
expect_ok() {
    [ "$HTTP" = 200 ] || xo_fail "HTTP $HTTP, want 200" "$1"
    local tok
    tok=$("$XO_PYTHON" -c 'import json, sys; d = json.load(open(sys.argv[1]))
assert "refresh_token" not in d, "a refresh token was issued"
print(d["access_token"])' "$1") || xo_fail "no access token, or a refresh token" "$1"
    curl -s --max-time 10 --data-urlencode "token=$tok" \
        "$XO_OAUTH_URL/introspect" >"$1.intro" || xo_fail "introspection failed"
    xo_assert_contains "$1.intro" '"active": true' "introspection"
    xo_assert_contains "$1.intro" "\"username\": \"${2:-$MBX}\"" "introspection"
}

# expect_refused OUT STATUS ERE: the status and the error description.
expect_refused() {
    [ "$HTTP" = "$2" ] || xo_fail "HTTP $HTTP, want $2" "$1"
    xo_assert_contains "$1" "$3" "the refusal"
    xo_assert_not_contains "$1" 'access_token' "the refusal"
}

ASSERT=(--key "$D/app.key" --cert "$D/app.crt" --iss "$CID" --sub "$CID"
        --aud "$TOKEN_URL" --random-jti)

xo_step "client secret: right, wrong, expired; no credential at all"
cc "$XO_TMP/r" "client_secret@$D/secret"
expect_ok "$XO_TMP/r"
cc "$XO_TMP/r" client_secret=wrong
expect_refused "$XO_TMP/r" 401 'AADSTS7000215: Invalid client secret'
post "$XO_TMP/r" grant_type=client_credentials client_id=expired-app \
    scope=https://outlook.office365.com/.default "client_secret@$D/secret"
expect_refused "$XO_TMP/r" 401 'AADSTS7000222: .*expired'
cc "$XO_TMP/r"
expect_refused "$XO_TMP/r" 401 'AADSTS7000218'

xo_step "certificate assertion, RS256 and PS256"
sign "$D/a1" "${ASSERT[@]}"
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a1"
expect_ok "$XO_TMP/r"
sign "$D/a2" "${ASSERT[@]}" --alg PS256
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a2"
expect_ok "$XO_TMP/r"

xo_step "the same assertion again: its jti is single-use"
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a1"
expect_refused "$XO_TMP/r" 401 "AADSTS700027: .*jti .* already used"

xo_step "expired, not yet valid, too long-lived"
sign "$D/a" "${ASSERT[@]}" --start -900
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a"
expect_refused "$XO_TMP/r" 401 'AADSTS700024: .*expired at'
sign "$D/a" "${ASSERT[@]}" --start 3600
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a"
expect_refused "$XO_TMP/r" 401 'AADSTS700024: .*not valid before'
sign "$D/a" "${ASSERT[@]}" --lifetime 3600
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a"
expect_refused "$XO_TMP/r" 401 'AADSTS700024: .*more than 600 s'
xo_step "a good assertion while the server's clock is 15 min ahead"
xo_oauth -q clock-offset 900
sign "$D/a" "${ASSERT[@]}"
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a"
expect_refused "$XO_TMP/r" 401 'AADSTS700024: .*expired at'
xo_oauth -q clock-offset 0

xo_step "wrong audience, iss or sub; unregistered certificate; tampered"
sign "$D/a" --key "$D/app.key" --cert "$D/app.crt" --iss "$CID" --sub "$CID" \
    --aud "http://localhost:$XO_OAUTH_PORT/token" --random-jti
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a"
expect_refused "$XO_TMP/r" 401 "AADSTS700027: .*audience 'http://localhost:"
sign "$D/a" --key "$D/app.key" --cert "$D/app.crt" --iss "$CID" --sub other \
    --aud "$TOKEN_URL" --random-jti
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a"
expect_refused "$XO_TMP/r" 401 'AADSTS700027: .*iss and sub'
sign "$D/a" --key "$D/other.key" --cert "$D/other.crt" --iss "$CID" \
    --sub "$CID" --aud "$TOKEN_URL" --random-jti
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/a"
expect_refused "$XO_TMP/r" 401 'AADSTS700027: .*is not registered'
sign "$D/a" "${ASSERT[@]}"
# Claims from another assertion, the first one's signature.
sign "$D/b" "${ASSERT[@]}" --sub "$CID" --lifetime 200
{ cut -d. -f1,2 "$D/b"; printf .; cut -d. -f3 "$D/a"; } | tr -d '\n' >"$D/t"
cc "$XO_TMP/r" "client_assertion_type=$AT" "client_assertion@$D/t"
expect_refused "$XO_TMP/r" 401 'AADSTS700027: .*signature does not verify'
cc "$XO_TMP/r" client_assertion_type=other "client_assertion@$D/a"
expect_refused "$XO_TMP/r" 401 'client_assertion_type must be'

xo_step "scope without /.default, unknown app"
post "$XO_TMP/r" grant_type=client_credentials "client_id=$CID" \
    "scope=https://outlook.office.com/IMAP.AccessAsUser.All" \
    "client_secret@$D/secret"
expect_refused "$XO_TMP/r" 400 'AADSTS1002012'
post "$XO_TMP/r" grant_type=client_credentials client_id=nonesuch \
    scope=https://outlook.office365.com/.default "client_secret@$D/secret"
expect_refused "$XO_TMP/r" 400 "AADSTS700016: .*'nonesuch'"

xo_step "Google service account: JWT bearer grant"
SA=relay@xoauth2-test.iam.gserviceaccount.com
xo_service_account_key "$D/sa.json" "$SA"
xo_service_account_key "$D/rogue.json" "$SA"
xo_oauth -q service-account --key-file "$D/sa.json" \
    || xo_fail "cannot register the service account"
JB=urn:ietf:params:oauth:grant-type:jwt-bearer
sign "$D/g" --service-account "$D/sa.json" --sub alice@example.com \
    --scope https://mail.google.com/ --lifetime 3600 --no-nbf
post "$XO_TMP/r" "grant_type=$JB" "assertion@$D/g"
expect_ok "$XO_TMP/r" alice@example.com
sign "$D/g" --service-account "$D/rogue.json" --sub alice@example.com \
    --scope https://mail.google.com/ --no-nbf
post "$XO_TMP/r" "grant_type=$JB" "assertion@$D/g"
expect_refused "$XO_TMP/r" 400 'Invalid JWT Signature'
sign "$D/g" --service-account "$D/sa.json" --sub alice@example.com \
    --scope https://mail.google.com/ --lifetime 7200 --no-nbf
post "$XO_TMP/r" "grant_type=$JB" "assertion@$D/g"
expect_refused "$XO_TMP/r" 400 'short-lived token'
sign "$D/g" --service-account "$D/sa.json" --sub alice@example.com \
    --scope https://www.googleapis.com/auth/drive --no-nbf
post "$XO_TMP/r" "grant_type=$JB" "assertion@$D/g"
expect_refused "$XO_TMP/r" 401 'unauthorized_client'
sign "$D/g" --service-account "$D/sa.json" --sub alice@example.com \
    --scope https://mail.google.com/ --aud "$XO_OAUTH_URL/other" --no-nbf
post "$XO_TMP/r" "grant_type=$JB" "assertion@$D/g"
expect_refused "$XO_TMP/r" 400 'audience'

xo_step "counters"
xo_oauth stats >"$XO_TMP/stats"
xo_assert_contains "$XO_TMP/stats" '"app_grants": 4,' "the server's counters"
xo_assert_contains "$XO_TMP/stats" '"refreshes": 0,' "the server's counters"
xo_pass
