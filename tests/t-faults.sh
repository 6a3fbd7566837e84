#!/bin/bash
# Every way a refresh can fail: the exit status (sysexits), a message that
# names the account, what happened and what to do, bounded time, nothing
# on stdout, no secret anywhere, and the token file byte-for-byte as it was.
. "$(dirname "$0")/lib.sh"

xo_helper_built --private-store

# mk_tokfile FILE USER EXPIRES_IN [ENDPOINT]: with a client secret, which
# no message may show.
mk_tokfile() {
    xo_tokfile "$1" "$2" "$3" ${4:+"token_endpoint=$4"} \
        client_secret=s3cr3t-client-value
}

# secrets FILE: the non-empty secrets of a token file, one a line (the
# file may be broken on purpose: then the known client secret only).
secrets() {
    "$XO_PYTHON" - "$1" <<'EOF'
import json, sys
print("s3cr3t-client-value")
try:
    t = json.load(open(sys.argv[1]))
except ValueError:
    sys.exit(0)
for k in ("access_token", "refresh_token", "client_secret"):
    if isinstance(t.get(k), str) and t[k]:
        print(t[k])
EOF
}

field() {
    "$XO_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"
}

# expect_failure NAME RC REGEX SECS CMD...: run CMD; it must exit RC within
# SECS, print nothing on stdout, say REGEX on stderr, leave $F unchanged
# and show none of the file's secrets.
expect_failure() {
    local name=$1 rc=$2 re=$3 secs=$4; shift 4
    xo_step "$name"
    xo_run_timeout 40 "$@" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc "$rc" "$XO_TMP/err"
    [ "$XO_ELAPSED_MS" -lt $((secs * 1000)) ] \
        || xo_fail "took $XO_ELAPSED s, limit $secs s" "$XO_TMP/err"
    xo_assert_contains "$XO_TMP/err" "$re" "message: $(head -c 300 "$XO_TMP/err")"
    [ ! -s "$XO_TMP/out" ] || xo_fail "stdout not empty" "$XO_TMP/out"
    xo_same_tokens "$F" "$XO_TMP/orig" \
        || xo_fail "token file changed beyond its health record" "$F"
    cp -p "$XO_TMP/orig" "$F"      # the next case starts without a failure
    [ ! -e "$F.tmp" ] || xo_fail "temporary file left behind"
    secrets "$F" >"$XO_TMP/secrets"
    if grep -qF -f "$XO_TMP/secrets" "$XO_TMP/err"; then
        xo_fail "a secret in the message" "$XO_TMP/err"
    fi
    echo "   ok: exit $rc in $XO_ELAPSED s, file unchanged, no secret"
}

xo_start_oauth
F=$XO_TMP/work.json
mk_tokfile "$F" alice@example.com -10
cp "$F" "$XO_TMP/orig"
H=("$XO_HELPER" token --timeout 2 "$F")

xo_oauth -q fault 500
expect_failure "HTTP 500" 75 \
    "^xoauth2-token: $F: token endpoint 127\.0\.0\.1 failed with HTTP 500 \(server_error: injected fault\); try again later$" 5 "${H[@]}"

xo_oauth -q fault hang
expect_failure "server hangs (--timeout 2)" 75 \
    "^xoauth2-token: $F: no answer from token endpoint 127\.0\.0\.1 within 2 s \(--timeout\); try again later$" 5 "${H[@]}"
[ "$XO_ELAPSED_MS" -ge 1900 ] || xo_fail "gave up after $XO_ELAPSED s, before --timeout 2"

xo_oauth -q fault badjson
expect_failure "malformed JSON" 69 \
    "^xoauth2-token: $F: token endpoint 127\.0\.0\.1 sent a malformed answer \(HTTP 200, not a JSON object\); try again later$" 5 "${H[@]}"

xo_oauth -q fault invalid_grant
expect_failure "invalid_grant" 77 \
    "^xoauth2-token: $F: refresh rejected \(invalid_grant: injected fault\); run: xoauth2-token login $F$" 5 "${H[@]}"

xo_oauth -q fault invalid_client
expect_failure "invalid_client" 78 \
    "^xoauth2-token: $F: client rejected \(invalid_client: injected fault\); check client_id and client_secret in $F$" 5 "${H[@]}"

xo_oauth -q fault invalid_grant
expect_failure "invalid_grant, by account name, with refresh" 77 \
    "^xoauth2-token: acct: refresh rejected \(invalid_grant: injected fault\); run: xoauth2-token login acct$" 5 \
    bash -c 'mkdir -p "$XDG_DATA_HOME/xoauth2" && ln -f "$1" "$XDG_DATA_HOME/xoauth2/acct.json" && exec "$2" refresh acct' _ "$F" "$XO_HELPER"

xo_oauth -q fault none
port=$(xo_free_ports 1)        # nobody listens there
mk_tokfile "$XO_TMP/down.json" alice@example.com -10 "http://127.0.0.1:$port/token"
cp "$XO_TMP/down.json" "$F"; cp "$F" "$XO_TMP/orig"
expect_failure "server down (connection refused)" 69 \
    "^xoauth2-token: $F: cannot connect to token endpoint 127\.0\.0\.1: Connection refused; check the network and token_endpoint in $F$" 5 "${H[@]}"

mk_tokfile "$F" alice@example.com -10 "http://mail.example.com/token"
cp "$F" "$XO_TMP/orig"
expect_failure "plain http to a non-loopback host" 78 \
    "^xoauth2-token: $F: token_endpoint must use https:// \(plain http:// is only allowed to a loopback host\), not http://mail\.example\.com; check token_endpoint in $F$" 5 "${H[@]}"

mk_tokfile "$F" alice@example.com -10 "ftp://127.0.0.1/token"
cp "$F" "$XO_TMP/orig"
expect_failure "not http(s)" 78 "token_endpoint must use https://" 5 "${H[@]}"

"$XO_PYTHON" - "$F" <<'EOF'
import json, sys
p = sys.argv[1]; t = json.load(open(p)); del t["refresh_token"]
open(p, "w").write(json.dumps(t))
EOF
cp "$F" "$XO_TMP/orig"
expect_failure "no refresh token in the file" 77 \
    "^xoauth2-token: $F: the token file holds no refresh token; run: xoauth2-token login $F$" 5 "${H[@]}"

echo '{"version":1,"user":"x"' >"$F"; cp "$F" "$XO_TMP/orig"
expect_failure "truncated token file" 65 \
    "^xoauth2-token: $F: this is not a valid token file \(not a JSON object\)$" 5 "${H[@]}"
echo '{"version":1,"user":"x","token_endpoint":"e","client_id":"c","access_token":"at-secret-value"}' >"$F"
cp "$F" "$XO_TMP/orig"
expect_failure "token file without expires_at" 65 \
    "is not a valid token file \(member \"expires_at\" is missing or invalid\)" 5 "${H[@]}"
echo '{"version":2}' >"$F"; cp "$F" "$XO_TMP/orig"
expect_failure "token file from the future" 65 "^xoauth2-token: $F: the token file was written by a newer version of xoauth2-token; upgrade$" 5 "${H[@]}"

xo_step "a failed refresh of a token still valid for a while prints it, with a warning"
mk_tokfile "$F" alice@example.com 200       # within the 300 s margin
cp "$F" "$XO_TMP/orig"
xo_oauth -q fault 500
xo_run_timeout 20 "${H[@]}" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ "$(cat "$XO_TMP/out")" = "$(field "$F" access_token)" ] || xo_fail "did not print the current token"
xo_assert_contains "$XO_TMP/err" "HTTP 500.*try again later"
xo_assert_contains "$XO_TMP/err" "using the current access token, valid for 3 more min"
xo_same_tokens "$F" "$XO_TMP/orig" || xo_fail "token file changed beyond its health record"
cp -p "$XO_TMP/orig" "$F"

xo_step "after all that, the original grant still refreshes (no fault consumed it)"
xo_oauth -q fault none
xo_run_timeout 20 "$XO_HELPER" refresh --force "$F" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
cmp -s "$F" "$XO_TMP/orig" && xo_fail "file not updated"

xo_step "usage errors"
xo_run_timeout 5 "$XO_HELPER" frobnicate >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 64
xo_assert_contains "$XO_TMP/err" "unknown command 'frobnicate'; see xoauth2-token --help"
xo_run_timeout 5 "$XO_HELPER" token --timeout 0 "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 64
xo_run_timeout 5 "$XO_HELPER" refresh >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 64
xo_run_timeout 5 "$XO_HELPER" refresh --all "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 64

xo_pass
