#!/bin/bash
# xoauth2-token list and logout:
#   - list: an empty store says how to add an account; otherwise one row
#     per account with user, provider, expiry and health (valid, expired
#     but refreshable, no refresh token, unusable file), and no secret;
#   - logout: removes the token file and its .tmp but keeps its .lock
#     (tokfile.h: never removed, or a waiter and a newcomer would lock
#     different files), says where
#     the grant can be revoked (per provider), leaves other accounts
#     alone; an unknown account is 66; a file it cannot parse goes too.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_helper --private-store

xo_start_oauth

run() {
    xo_run_timeout 20 "$XO_HELPER" "$@" >"$XO_TMP/out" 2>"$XO_TMP/err"
    cat "$XO_TMP/out" "$XO_TMP/err" >"$XO_TMP/both"
}

xo_step "list: an empty store"
run list
xo_assert_rc 0 "$XO_TMP/both"
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: no accounts in $XO_STORE; add one with: xoauth2-token login ACCOUNT"
[ ! -s "$XO_TMP/out" ] || xo_fail "stdout not empty" "$XO_TMP/out"

xo_step "list: one row per account, with its health"
mkdir -p "$XO_STORE"
chmod 700 "$XO_STORE"
xo_tokfile "$XO_STORE/work.json" alice@example.com 3000 provider=microsoft
xo_tokfile "$XO_STORE/home.json" bob@example.com -100 provider=google
xo_tokfile "$XO_STORE/once.json" carol@example.com -100 refresh_token=
xo_tokfile "$XO_STORE/open.json" dave@example.com 3000
chmod 644 "$XO_STORE/open.json"
printf '{"version": 1, "user": ' >"$XO_STORE/broken.json"
chmod 600 "$XO_STORE/broken.json"
run list
xo_assert_rc 0 "$XO_TMP/both"
sed 's/^/   | /' "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" '^ACCOUNT +USER +PROVIDER +ACCESS TOKEN +HEALTH$'
xo_assert_contains "$XO_TMP/out" '^work +alice@example\.com +microsoft +valid, (49|50) min left +ok$'
xo_assert_contains "$XO_TMP/out" '^home +bob@example\.com +google +expired [0-9]+ s ago +ok \(refreshed when next used\)$'
xo_assert_contains "$XO_TMP/out" '^once +carol@example\.com +mock +expired [0-9]+ s ago +needs login \(access token expired [0-9]+ s ago, no refresh token\)$'
xo_assert_contains "$XO_TMP/out" '^open +- +- +- +unusable: readable by others \(chmod 600\)$'
xo_assert_contains "$XO_TMP/out" '^broken +- +- +- +unusable: '
[ "$(grep -c . "$XO_TMP/out")" = 6 ] || xo_fail "want a header and 5 rows" "$XO_TMP/out"
for f in "$XO_STORE"/*.json; do
    xo_token_field "$f" access_token 2>/dev/null || true
    xo_token_field "$f" refresh_token 2>/dev/null || true
done | grep . >"$XO_TMP/secrets"
if grep -F -f "$XO_TMP/secrets" "$XO_TMP/both" >/dev/null; then
    xo_fail "list prints a token" "$XO_TMP/both"
fi
echo "   ok: no token in the listing"

xo_step "logout: the file and its .tmp go, its .lock stays; the provider's revocation page is named"
run refresh --force work           # leaves work.json.lock behind
xo_assert_rc 0 "$XO_TMP/both"
: >"$XO_STORE/work.json.tmp"
chmod 600 "$XO_STORE/work.json.tmp"
ls "$XO_STORE"/work.json* | sed 's/^/   | /'
lock_inode=$(stat -c %i "$XO_STORE/work.json.lock")
run logout work
xo_assert_rc 0 "$XO_TMP/both"
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: work: removed $XO_STORE/work\.json$"
xo_assert_contains "$XO_TMP/err" '^xoauth2-token: work: the grant stays valid at Microsoft until revoked: personal accounts at https://account\.live\.com/consent/Manage'
for f in "$XO_STORE/work.json" "$XO_STORE/work.json.tmp"; do
    [ ! -e "$f" ] || xo_fail "$f is still there"
done
[ -f "$XO_STORE/work.json.lock" ] && [ "$(stat -c %i "$XO_STORE/work.json.lock")" = "$lock_inode" ] \
    || xo_fail "logout removed or replaced work.json.lock (tokfile.h: never removed)"
echo "   ok: work.json and .tmp are gone, the same work.json.lock stays"
[ -f "$XO_STORE/home.json" ] || xo_fail "another account was touched"
run logout home
xo_assert_rc 0 "$XO_TMP/both"
xo_assert_contains "$XO_TMP/err" 'revoked at https://myaccount\.google\.com/permissions$'
run logout "$XO_STORE/once.json"
xo_assert_rc 0 "$XO_TMP/both"
xo_assert_contains "$XO_TMP/err" 'the grant may stay valid at the provider until you revoke it there'

xo_step "logout: a file it cannot parse is removed all the same"
run logout broken
xo_assert_rc 0 "$XO_TMP/both"
[ ! -e "$XO_STORE/broken.json" ] || xo_fail "broken.json is still there"

xo_step "logout: an unknown account; then token says to log in"
run logout work
xo_assert_rc 66 "$XO_TMP/both"
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: work: no token file $XO_STORE/work\.json; run: xoauth2-token login work$"
run token work
xo_assert_rc 66 "$XO_TMP/both"

xo_step "list after logout"
run list
xo_assert_rc 0 "$XO_TMP/both"
[ "$(grep -c . "$XO_TMP/out")" = 2 ] || xo_fail "want a header and 1 row (open)" "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" '^open '

xo_pass
