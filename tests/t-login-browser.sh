#!/bin/bash
# xoauth2-token login, browser flow (authorization code + PKCE S256 +
# state, redirect to a one-shot listener on 127.0.0.1), end to end against
# the mock OAuth server with $BROWSER set to a script that fetches the URL:
#   - the token file is complete (0600, usable by `refresh` as is), the
#     server verified PKCE, no code or token reaches stdout/stderr;
#   - the listener is bound to 127.0.0.1 only (ss), unreachable on any
#     other address (127.0.0.2), and gone after one answer;
#   - a wrong or missing state is refused (76), a denial is reported (77),
#     no answer times out (75); none of them writes a token file;
#   - a confidential client's secret comes from a file or stdin, never
#     argv; a wrong one is reported as such;
#   - the presets build the right URLs (Microsoft tenants and clouds,
#     Google's offline access), and Google's device flow is refused.
set -eu
. "$(dirname "$0")/lib.sh"

xo_login_setup ss
USER=alice@example.com

# The "browser": records the URL, checks the listener named in its
# redirect_uri (bound address with ss, a connection to 127.0.0.2), then
# fetches the URL, following the redirect to the listener.
xo_browser <<'EOF'
import socket
log.write("url %s\n" % url)
port = redirect_port(url)
log.write("listening %s\n" % listening(port))
try:
    socket.create_connection(("127.0.0.2", port), timeout=2).close()
    log.write("other-address connected\n")
except OSError as e:
    log.write("other-address refused (%s)\n" % e.__class__.__name__)
fetch(url, log)
log.write("done\n")
EOF

# wait_browser: the helper does not wait for the browser it started, which
# may still be writing what the listener answered: wait for its "done".
wait_browser() {
    grep -q '^url ' "$XO_TMP/browser.log" || return 0
    xo_wait_line "$XO_TMP/browser.log" '^done$' 10 "the browser did not finish"
}

# login NAME ARGS...: xoauth2-token login with the mock server's endpoints.
login() {
    local name=$1; shift
    : >"$XO_TMP/browser.log"
    xo_login_mock 30 "$name" "$@"
    wait_browser
}

xo_step "browser flow end to end"
login work --login-hint "$USER" \
    --scope "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
xo_assert_rc 0 "$XO_TMP/work.err"
F=$XO_STORE/work.json
xo_assert_contains "$XO_TMP/work.err" \
    "^xoauth2-token: work: signed in as $USER; token file $F written \(access token valid until [0-9:]+, refreshed automatically\)$"
xo_assert_contains "$XO_TMP/work.err" "^    $XO_OAUTH_URL/authorize\?response_type=code&client_id=xoauth2-test&redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A[0-9]+%2F&" \
    "the URL is printed"
xo_assert_contains "$XO_TMP/browser.log" '[?&]code_challenge=[A-Za-z0-9_-]{43}&code_challenge_method=S256' \
    "PKCE S256 challenge in the request"
xo_assert_contains "$XO_TMP/browser.log" '[?&]state=[A-Za-z0-9_-]{32}&' "a random state"
xo_assert_contains "$XO_TMP/browser.log" '^status 200$' "the listener answered 200"
xo_assert_contains "$XO_TMP/browser.log" '^page .*Signed in' "with the success page"
[ ! -s "$XO_TMP/work.out" ] || xo_fail "login wrote to stdout" "$XO_TMP/work.out"
[ "$(stat -c %a "$F")" = 600 ] || xo_fail "token file mode $(stat -c %a "$F")"
[ "$(stat -c %a "$XO_STORE")" = 700 ] || xo_fail "store mode $(stat -c %a "$XO_STORE")"
for m in user provider token_endpoint client_id scope account; do
    echo "   $m: $(xo_token_field "$F" "$m")"
done
[ "$(xo_token_field "$F" user)" = "$USER" ] || xo_fail "user not recorded"
[ "$(xo_token_field "$F" provider)" = custom ] || xo_fail "provider not recorded"
[ "$(xo_token_field "$F" token_endpoint)" = "$XO_OAUTH_URL/token" ] || xo_fail "endpoint not recorded"
xo_token_field "$F" refresh_token | grep -q '^xort\.' || xo_fail "no refresh token stored"
echo "   ok: complete token file, 0600 in a 0700 store"

xo_step "the listener: 127.0.0.1 only, unreachable elsewhere, gone after one answer"
xo_assert_contains "$XO_TMP/browser.log" '^listening 127\.0\.0\.1:[0-9]+$' \
    "ss: bound to 127.0.0.1 (not 0.0.0.0, not [::])"
xo_assert_contains "$XO_TMP/browser.log" '^other-address refused' \
    "a connection to 127.0.0.2 is refused"
port=$(sed -n 's/.*redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A\([0-9]*\)%2F.*/\1/p' "$XO_TMP/browser.log")
if "$XO_PYTHON" -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2)' "$port" 2>/dev/null; then
    xo_fail "something still listens on $port after the login"
fi
echo "   ok: port $port closed after the login"

xo_step "the token file works with refresh, unchanged"
xo_run_timeout 20 "$XO_HELPER" refresh -v --force work >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" '^xoauth2-token: work: refreshed'

xo_step "a wrong state is refused and nothing is written"
# The listener waits past an answer without our state (anyone who can
# reach the port could send one: t-login-listener.sh), so the login ends
# at the deadline, saying what it refused.
xo_oauth -q authorize-mode wrong-state
login wrongstate --login-hint "$USER" --wait 3
xo_assert_rc 76 "$XO_TMP/wrongstate.err"
xo_assert_contains "$XO_TMP/wrongstate.err" 'refused an answer on http://127\.0\.0\.1:[0-9]+/ with a wrong or missing state'
xo_assert_contains "$XO_TMP/browser.log" '^status 400$' "the browser was told 400"
[ ! -e "$XO_STORE/wrongstate.json" ] || xo_fail "a token file was written"
xo_oauth -q authorize-mode no-state
login nostate --login-hint "$USER" --wait 3
xo_assert_rc 76 "$XO_TMP/nostate.err"
[ ! -e "$XO_STORE/nostate.json" ] || xo_fail "a token file was written"

xo_step "a denial is reported"
xo_oauth -q authorize-mode deny
login denied --login-hint "$USER"
xo_assert_rc 77 "$XO_TMP/denied.err"
xo_assert_contains "$XO_TMP/denied.err" 'sign-in refused by the provider \(access_denied: the user declined\)'
[ ! -e "$XO_STORE/denied.json" ] || xo_fail "a token file was written"
xo_oauth -q authorize-mode approve

xo_step "no answer: a timeout"
BROWSER=/bin/true login slow --login-hint "$USER" --wait 1
xo_assert_rc 75 "$XO_TMP/slow.err"
xo_assert_contains "$XO_TMP/slow.err" 'no answer from the browser within 1 s'
[ ! -e "$XO_STORE/slow.json" ] || xo_fail "a token file was written"

xo_step "a fixed --port; the user from the ID token (openid)"
port=$(xo_free_ports 1)
login fixed --port "$port" --scope "imap offline_access openid"
xo_assert_rc 0 "$XO_TMP/fixed.err"
xo_assert_contains "$XO_TMP/browser.log" "redirect_uri=http%3A%2F%2F127\.0\.0\.1%3A$port%2F"
[ "$(xo_token_field "$XO_STORE/fixed.json" user)" = user@example.com ] \
    || xo_fail "user not taken from the ID token: $(xo_token_field "$XO_STORE/fixed.json" user)"
echo "   ok: user@example.com from the ID token"

xo_step "who signs in must be known"
login nobody
xo_assert_rc 64 "$XO_TMP/nobody.err"
xo_assert_contains "$XO_TMP/nobody.err" 'add --user EMAIL'

xo_step "a confidential client: the secret from a file, or stdin"
xo_oauth -q client xoauth2-conf 'S3cr3t-Value'
printf 'S3cr3t-Value\n' >"$XO_TMP/secret"
chmod 600 "$XO_TMP/secret"
login conf --login-hint "$USER" --client-id xoauth2-conf --client-secret-file "$XO_TMP/secret"
xo_assert_rc 0 "$XO_TMP/conf.err"
[ "$(xo_token_field "$XO_STORE/conf.json" client_secret)" = S3cr3t-Value ] \
    || xo_fail "client secret not stored"
login conf2 --login-hint "$USER" --client-id xoauth2-conf --client-secret-file - <"$XO_TMP/secret"
xo_assert_rc 0 "$XO_TMP/conf2.err"
xo_run_timeout 20 "$XO_HELPER" refresh --force conf2 >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
login conf3 --login-hint "$USER" --client-id xoauth2-conf --client-secret-file - <<<"wrong"
xo_assert_rc 78 "$XO_TMP/conf3.err"
xo_assert_contains "$XO_TMP/conf3.err" 'client rejected \(invalid_client: .*\); check --client-id and the client secret$'
login conf4 --login-hint "$USER" --client-secret S3cr3t-Value
xo_assert_rc 64 "$XO_TMP/conf4.err"
xo_assert_contains "$XO_TMP/conf4.err" 'unknown option --client-secret; a secret on the command line is visible'
xo_assert_not_contains "$XO_TMP/conf4.err" 'S3cr3t' "the secret is not echoed"

xo_step "presets: the authorization URLs (no network: the browser only records)"
cat >"$XO_TMP/recorder" <<EOF
#!/bin/sh
echo "url \$1" >>"$XO_TMP/browser.log"
EOF
chmod +x "$XO_TMP/recorder"
preset() {
    local name=$1; shift
    : >"$XO_TMP/browser.log"
    BROWSER=$XO_TMP/recorder xo_run_timeout 20 "$XO_HELPER" login "$name" \
        --client-id 00000000-1111-2222-3333-444444444444 --wait 1 "$@" \
        >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    xo_assert_rc 75 "$XO_TMP/$name.err"
    # the helper gave up after 1 s whether or not the recorder had run yet
    xo_wait_line "$XO_TMP/browser.log" '^url ' 20 "the recorder was not run"
}
preset ms --provider microsoft --tenant contoso.onmicrosoft.com --login-hint "$USER"
xo_assert_contains "$XO_TMP/browser.log" '^url https://login\.microsoftonline\.com/contoso\.onmicrosoft\.com/oauth2/v2\.0/authorize\?response_type=code&'
xo_assert_contains "$XO_TMP/browser.log" 'scope=https%3A%2F%2Foutlook\.office\.com%2FIMAP\.AccessAsUser\.All%20https%3A%2F%2Foutlook\.office\.com%2FPOP\.AccessAsUser\.All%20https%3A%2F%2Foutlook\.office\.com%2FSMTP\.Send%20offline_access&' \
    "the seed's IMAP, POP and SMTP scopes + offline_access"
xo_assert_contains "$XO_TMP/browser.log" 'login_hint=alice%40example\.com'
preset msgov --provider microsoft --cloud usgov
xo_assert_contains "$XO_TMP/browser.log" '^url https://login\.microsoftonline\.us/common/oauth2/v2\.0/authorize\?'
xo_assert_contains "$XO_TMP/browser.log" 'scope=https%3A%2F%2Foutlook\.office365\.us%2FIMAP\.AccessAsUser\.All%20.*offline_access%20openid%20profile%20email&' \
    "usgov scopes; openid to learn the user"
preset google --provider google --login-hint "$USER"
xo_assert_contains "$XO_TMP/browser.log" '^url https://accounts\.google\.com/o/oauth2/v2/auth\?.*scope=https%3A%2F%2Fmail\.google\.com%2F&.*&access_type=offline&prompt=consent$'
xo_run_timeout 10 "$XO_HELPER" login g --provider google --client-id x --flow device \
    --login-hint "$USER" >"$XO_TMP/out" 2>"$XO_TMP/gdev.err"
xo_assert_rc 64 "$XO_TMP/gdev.err"
xo_assert_contains "$XO_TMP/gdev.err" 'Google does not allow mail scopes .* in its device flow; use --flow browser'
xo_run_timeout 10 "$XO_HELPER" login m --provider microsoft --client-id x \
    --tenant 'bad/tenant' >"$XO_TMP/out" 2>"$XO_TMP/tenant.err"
xo_assert_rc 64 "$XO_TMP/tenant.err"
xo_run_timeout 10 "$XO_HELPER" login c --provider custom --client-id x --user u \
    --token-endpoint http://192.0.2.1/token --auth-endpoint "$XO_OAUTH_URL/authorize" \
    >"$XO_TMP/out" 2>"$XO_TMP/http.err"
xo_assert_rc 78 "$XO_TMP/http.err"
xo_assert_contains "$XO_TMP/http.err" 'must use https://'

xo_step "no code, token or secret in any output"
for f in "$XO_STORE"/*.json; do
    xo_token_field "$f" access_token; xo_token_field "$f" refresh_token
done >"$XO_TMP/secrets"
echo S3cr3t-Value >>"$XO_TMP/secrets"
cat "$XO_TMP"/*.err "$XO_TMP"/*.out >"$XO_TMP/all"
if grep -F -f "$XO_TMP/secrets" "$XO_TMP/all" >/dev/null || grep -q 'xoac\.' "$XO_TMP/all"; then
    xo_fail "a secret appears in the output" "$XO_TMP/all"
fi
echo "   ok: none in $(wc -l <"$XO_TMP/all") lines"

xo_pass
