#!/bin/bash
# Secrets that come from files stay out of sight (issue 16, finding 10):
#   1. a proxy that wants a password (tinyproxy with BasicAuth, the only
#      way to the token endpoint): `login --proxy-file FILE` signs in
#      through it without the password ever in the argv of any process
#      (sampled every 20 ms through the whole run), and show, list,
#      status and every message leave the credentials out; `token`
#      renews through it; `set --proxy-file` changes it the same way;
#   2. a proxy file that group or others can read is refused, as a
#      secret file is;
#   3. a client secret file with more than one line: while an app-only
#      renewal waits on the token endpoint (a hang), the lines after the
#      first are nowhere in the helper's memory (read through
#      /proc/PID/mem), only the first line, which it sends.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_root
xo_require_cmd tinyproxy curl "$XO_PYTHON"
xo_require_helper --private-store
USER=alice@example.com
H=$XO_HELPER
PUSER=xo-proxy-user
PPASS=xo-pp-$RANDOM$RANDOM-$RANDOM$RANDOM

xo_start_oauth
# (a shell variable, not exported: tinyproxy's environment is sampled too)
XO_PROXY_AUTH=$PUSER:$PPASS
xo_start_proxy
unset XO_PROXY_AUTH
xo_oauth -q proxy-only on
xo_oauth -q device-config --interval 1 --expires-in 60
unset BROWSER DISPLAY WAYLAND_DISPLAY
AUTH_URL=http://$PUSER:$PPASS@127.0.0.1:$XO_PROXY_PORT
via() { xo_oauth_stat token_via_proxy; }
code=$(curl -s -o /dev/null -w '%{http_code}' -x "$XO_PROXY_URL" "$XO_OAUTH_URL/" || true)
[ "$code" = 407 ] || xo_fail "the proxy lets a request without credentials through (HTTP $code)"
echo "   ok: the proxy answers 407 without its password"

mkdir -m 700 "$XO_TMP/conf"
printf '%s\n# the proxy of the office\n' "$AUTH_URL" >"$XO_TMP/conf/proxy"
chmod 600 "$XO_TMP/conf/proxy"
xo_sampler_start "$XO_TMP/ps.samples" "$XO_TMP/ps.sweeps"

xo_step "1. login --proxy-file: through the proxy, its password in no argv"
"$H" login work --provider custom --client-id xoauth2-test \
    --device-endpoint "$XO_OAUTH_URL/devicecode" \
    --token-endpoint "$XO_OAUTH_URL/token" --flow device --user "$USER" \
    --scope "https://outlook.office.com/IMAP.AccessAsUser.All offline_access" \
    --proxy-file "$XO_TMP/conf/proxy" >"$XO_TMP/login.out" 2>"$XO_TMP/login.err" &
LOGIN=$!
xo_on_exit "kill $LOGIN 2>/dev/null || true"
pending() { xo_oauth device-status | grep -q '"status": "pending"'; }
xo_poll 10 pending || xo_fail "the login asked for no device code" "$XO_TMP/login.err"
xo_oauth -q device approve --user "$USER"
rc=0
wait "$LOGIN" || rc=$?
[ "$rc" = 0 ] || xo_fail "login exited $rc" "$XO_TMP/login.err"
F=$XDG_DATA_HOME/xoauth2/work.json
[ "$(xo_token_field "$F" proxy)" = "$AUTH_URL" ] || xo_fail "the proxy was not stored" "$F"
[ "$(via)" -ge 1 ] || xo_fail "the login did not go through the proxy"
xo_assert_contains "$XO_TMP/login.err" "using the proxy http://127\.0\.0\.1:$XO_PROXY_PORT " "the login names the proxy without its credentials"
echo "   ok: signed in through the proxy, which is stored (with its password) in the 0600 token file"

xo_step "1. token renews through it; show, list, status leave the credentials out"
xo_token_expire_file "$F" -60
v0=$(via)
xo_run_timeout 30 "$H" token work >"$XO_TMP/token.out" 2>"$XO_TMP/token.err"
xo_assert_rc 0 "$XO_TMP/token.err"
[ "$(via)" -gt "$v0" ] || xo_fail "token did not renew through the proxy"
for c in show list status; do
    if [ $c = show ]; then "$H" show work; else "$H" $c; fi >"$XO_TMP/$c.out" 2>&1 || true
done
xo_assert_contains "$XO_TMP/show.out" "^proxy: +http://127\.0\.0\.1:$XO_PROXY_PORT " "show names the proxy"

xo_step "1. set --proxy-file: changed without the password in argv"
printf '%s\n' "$AUTH_URL" >"$XO_TMP/conf/proxy2"
chmod 600 "$XO_TMP/conf/proxy2"
xo_run_timeout 10 "$H" set work --proxy-file "$XO_TMP/conf/proxy2" >"$XO_TMP/set.out" 2>&1
xo_assert_rc 0 "$XO_TMP/set.out"
xo_assert_contains "$XO_TMP/set.out" "refreshes go through the proxy http://127\.0\.0\.1:$XO_PROXY_PORT"

xo_step "2. a proxy file others can read is refused"
chmod 644 "$XO_TMP/conf/proxy2"
xo_run_timeout 10 "$H" set work --proxy-file "$XO_TMP/conf/proxy2" >"$XO_TMP/set644.out" 2>&1
xo_assert_rc nonzero "$XO_TMP/set644.out"
xo_assert_contains "$XO_TMP/set644.out" "refusing --proxy-file .*proxy2: .*chmod 600"
xo_run_timeout 10 "$H" set work --proxy "$XO_PROXY_URL" --proxy-file "$XO_TMP/conf/proxy" >"$XO_TMP/setboth.out" 2>&1
xo_assert_rc 64 "$XO_TMP/setboth.out"

xo_sampler_stop
sweeps=$(cat "$XO_TMP/ps.sweeps")
grep -aq -- "--proxy-file $XO_TMP/conf/proxy " "$XO_TMP/ps.samples" \
    || xo_fail "the sampler never saw the login with --proxy-file ($sweeps sweeps)"
for f in "$XO_TMP"/ps.samples "$XO_TMP"/*.out "$XO_TMP"/*.err; do
    if grep -aqF -e "$PPASS" -e "$PUSER:" -- "$f"; then
        grep -aF -e "$PPASS" -e "$PUSER:" -- "$f" | cut -c1-300 >"$XO_TMP/leak"
        xo_fail "the proxy's credentials are in ${f##*/}" "$XO_TMP/leak"
    fi
done
echo "   ok: the proxy password is in no argv or environment over $sweeps sweeps, nor in login, token, show, list, status or set"

xo_step "3. a multi-line client secret file: only the first line stays in memory"
xo_oauth -q proxy-only off
CRED=$XO_TMP/creds
mkdir -m 700 "$CRED"
S1=xo-cs1-$RANDOM$RANDOM-$RANDOM$RANDOM
S2=xo-cs2-$RANDOM$RANDOM-$RANDOM$RANDOM
printf '%s\n' "$S1" >"$CRED/registered"
printf '%s\n%s second line, e.g. the next secret\n' "$S1" "$S2" >"$CRED/secret"
chmod 600 "$CRED/secret" "$CRED/registered"
xo_oauth -q app wipe-app --mailbox "$USER" --secret-file "$CRED/registered"
A=$XO_TMP/app.json
xo_run_timeout 30 "$H" login "$A" --provider custom --app-only --client-id wipe-app \
    --user "$USER" --token-endpoint "$XO_OAUTH_URL/token" \
    --scope https://outlook.office365.com/.default --client-secret-file "$CRED/secret" \
    >"$XO_TMP/app-login.out" 2>&1
xo_assert_rc 0 "$XO_TMP/app-login.out"
xo_oauth -q fault hang --count 1
xo_token_expire_file "$A" -60
"$H" refresh --force --timeout 20 "$A" >"$XO_TMP/hang.out" 2>&1 &
HANG=$!
xo_on_exit "kill $HANG 2>/dev/null || true"
xo_wait_line "$XO_OAUTH_LOG" "hanging: injected fault" 15
# The helper waits for the answer: the secret was read and sent.
full=$(readlink "/proc/$HANG/exe" 2>/dev/null || true)
first=$(xo_mem_count "$HANG" "$S1")
second=$(xo_mem_count "$HANG" "$S2")
kill "$HANG" 2>/dev/null || true
wait "$HANG" 2>/dev/null || true
# The first line is still there (libcurl's copy of the request): the
# reader saw the helper's memory, so "0 times" below is no blind spot.
[ "$first" -ge 1 ] || xo_fail "the client secret's first line was not found in the helper's memory either: the memory check sees nothing ($full)"
[ "$second" = 0 ] || xo_fail "the client secret file's second line is in the helper's memory $second time(s) ($full)"
echo "   ok: while the renewal waits: first line in memory $first time(s), the second line 0 times ($full)"
xo_pass
