#!/bin/bash
# TLS verification is always on: a token endpoint with a certificate from
# an unknown CA is refused (with the --cafile hint), --cafile makes it
# trusted, a certificate for another name is refused even then, and the
# token file is unchanged whenever the refresh fails; the same through an
# HTTP proxy's CONNECT tunnel (tinyproxy).
#
# The mock server speaks plain HTTP; a small TLS relay (certificate for
# "localhost" from a throwaway CA) sits in front of it.
. "$(dirname "$0")/lib.sh"

xo_helper_built
xo_require_cmd openssl tinyproxy
export XDG_DATA_HOME=$XO_TMP/data

# mk_tokfile FILE USER EXPIRES_IN ENDPOINT
mk_tokfile() { xo_tokfile "$1" "$2" "$3" "token_endpoint=$4"; }

xo_start_oauth

# The certificate names localhost only: 127.0.0.1 is "another name".
xo_step "TLS relay in front of the mock server (a throwaway CA, a certificate for localhost)"
xo_start_tls_relay "$XO_OAUTH_PORT" DNS:localhost
TLS_PORT=$XO_TLS_PORT
echo "   relay on https://localhost:$TLS_PORT"

F=$XO_TMP/tls.json

# refused NAME RC REGEX CMD...: CMD fails with RC and REGEX; F unchanged.
refused() {
    local name=$1 rc=$2 re=$3; shift 3
    xo_step "$name"
    cp "$F" "$XO_TMP/orig"
    xo_run_timeout 20 "$@" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc "$rc" "$XO_TMP/err"
    xo_assert_contains "$XO_TMP/err" "$re" "message: $(head -c 300 "$XO_TMP/err")"
    xo_same_tokens "$F" "$XO_TMP/orig" \
        || xo_fail "token file changed beyond its health record" "$F"
    cp -p "$XO_TMP/orig" "$F"      # the next case starts without a failure
    [ ! -s "$XO_TMP/out" ] || xo_fail "stdout not empty" "$XO_TMP/out"
}

mk_tokfile "$F" alice@example.com -10 "https://localhost:$TLS_PORT/token"
refused "unknown CA: refused" 69 \
    "^xoauth2-token: $F: TLS with token endpoint localhost failed: .*; check token_endpoint in $F, and if the server uses a private CA, add --cafile FILE$" \
    "$XO_HELPER" token "$F"
refused "--cafile that does not exist" 78 "^xoauth2-token: $F: cannot load the CA certificates: .*nope\.pem$" \
    "$XO_HELPER" token --cafile "$XO_TMP/nope.pem" "$F"

xo_step "--cafile with our CA: trusted"
xo_run_timeout 20 "$XO_HELPER" token --cafile "$XO_TLS_CA" "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
grep -Eqx 'xoat\.[A-Za-z0-9_-]+' "$XO_TMP/out" || xo_fail "no token printed" "$XO_TMP/out"

mk_tokfile "$F" alice@example.com -10 "https://127.0.0.1:$TLS_PORT/token"
refused "a certificate for another name: refused even with --cafile" 69 \
    "^xoauth2-token: $F: TLS with token endpoint 127\.0\.0\.1 failed: .*(subject name|host ?name).*; check token_endpoint in $F, and if" \
    "$XO_HELPER" token --cafile "$XO_TLS_CA" "$F"

# Through an HTTP proxy, an https:// endpoint is reached with CONNECT (a
# tunnel; t-proxy's plain-http endpoint takes the other path, a GET with
# the whole URL).  TLS runs end to end through the tunnel, so the same
# verification holds: our CA with --cafile, the name checked.
xo_start_proxy
connects() { grep -c "CONNECT $1:$TLS_PORT " "$XO_PROXY_LOG" || true; }
mk_proxied() { xo_tokfile "$F" alice@example.com -10 "token_endpoint=https://$1:$TLS_PORT/token" "proxy=$XO_PROXY_URL"; }

mk_proxied localhost
refused "through the proxy, unknown CA: refused, and the message names the proxy" 69 \
    "^xoauth2-token: $F: TLS with token endpoint localhost through the proxy http://127\.0\.0\.1:$XO_PROXY_PORT failed: .*; check token_endpoint in $F, and if the server uses a private CA, add --cafile FILE$" \
    "$XO_HELPER" token "$F"
[ "$(connects localhost)" -ge 1 ] || xo_fail "the refused request did not go through the proxy" "$XO_PROXY_LOG"

xo_step "through the proxy (CONNECT), with our CA: trusted and refreshed"
n0=$(connects localhost)
xo_run_timeout 20 "$XO_HELPER" token --cafile "$XO_TLS_CA" "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
grep -Eqx 'xoat\.[A-Za-z0-9_-]+' "$XO_TMP/out" || xo_fail "no token printed" "$XO_TMP/out"
[ "$(connects localhost)" = $((n0 + 1)) ] \
    || xo_fail "not one CONNECT localhost:$TLS_PORT for the refresh" "$XO_PROXY_LOG"
echo "   ok: one CONNECT tunnel, TLS verified inside it"

mk_proxied 127.0.0.1
refused "through the proxy, a certificate for another name: refused even with --cafile" 69 \
    "^xoauth2-token: $F: TLS with token endpoint 127\.0\.0\.1 through the proxy http://127\.0\.0\.1:$XO_PROXY_PORT failed: .*(subject name|host ?name).*; check token_endpoint in $F, and if" \
    "$XO_HELPER" token --cafile "$XO_TLS_CA" "$F"
[ "$(connects 127.0.0.1)" -ge 1 ] || xo_fail "the refused request did not go through the proxy" "$XO_PROXY_LOG"

xo_pass
