#!/bin/bash
# A proxy that survives (issue 13 item 2): the token endpoint is reached
# only through a real HTTP proxy on loopback (tinyproxy; the mock OAuth
# server refuses /token requests that did not come through a proxy and
# counts both kinds), from every refresh path:
#   1. login with http_proxy in its environment: it says so, uses it,
#      and stores it in the token file;
#   2. `token` from an environment without any proxy variable;
#   3. a private postfix, whose environment has no proxy variable and
#      whose plugin runs the helper with an empty one: the refresh goes
#      through the proxy and the mail through; with the proxy removed
#      (`set --proxy ''`) the same refresh is refused;
#      The shipped contrib/notify/notify-mail goes out through this
#      postfix's real sendmail;
#   4. no_proxy honoured: with the endpoint's host in it, the refresh
#      goes direct;
#   5. a proxy that is down: the message names the proxy; credentials in
#      the proxy URL are never shown;
#   6. app-only files the same way: `login --app-only` takes the proxy
#      from all_proxy, says so and stores it; the same postfix's plugin
#      renews an expired app-only file through it, and only through it;
#      `--proxy ''` removes it, and no_proxy is stored and honoured.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_relay_stack tinyproxy
xo_require_crypto "the mock server's app grants"

USER=alice@example.com
H=$XO_HELPER
export XDG_DATA_HOME=$XO_TMP/data

xo_start_oauth
xo_start_proxy
xo_oauth -q proxy-only on
xo_oauth -q device-config --interval 1 --expires-in 60
unset BROWSER DISPLAY WAYLAND_DISPLAY

via() { xo_oauth_stat token_via_proxy; }
direct() { xo_oauth_stat token_direct; }

# --- 1. login picks the proxy up from its environment ------------------------
xo_step "1. login with http_proxy set: the proxy is used, shown and stored"
( export http_proxy=$XO_PROXY_URL
  exec "$H" login work --provider custom --client-id xoauth2-test \
    --device-endpoint "$XO_OAUTH_URL/devicecode" \
    --token-endpoint "$XO_OAUTH_URL/token" --flow device --user "$USER" \
    --scope "https://outlook.office.com/IMAP.AccessAsUser.All offline_access" \
    >"$XO_TMP/login.out" 2>"$XO_TMP/login.err" ) &
LOGIN=$!
xo_on_exit "kill $LOGIN 2>/dev/null || true"
for ((n = 0; n < 100; n++)); do
    xo_oauth device-status | grep -q '"status": "pending"' && break
    sleep 0.1
done
xo_oauth -q device approve --user "$USER"
rc=0
timeout 30 tail --pid="$LOGIN" -f /dev/null || true
wait "$LOGIN" || rc=$?
[ "$rc" = 0 ] || xo_fail "login exited $rc" "$XO_TMP/login.err"
xo_assert_contains "$XO_TMP/login.err" "using the proxy http://127\.0\.0\.1:$XO_PROXY_PORT \(from http_proxy\)"
F=$XDG_DATA_HOME/xoauth2/work.json
[ "$(xo_token_field "$F" proxy)" = "$XO_PROXY_URL" ] || xo_fail "the proxy was not stored" "$F"
[ "$(direct)" = 0 ] && [ "$(via)" -ge 1 ] || xo_fail "login: $(direct) direct and $(via) proxied token requests"
echo "   ok: stored proxy $XO_PROXY_URL; the login's token request came through the proxy"

# --- 2. token, from an environment without a proxy ----------------------------
xo_step "2. token from an environment without proxy variables: through the stored proxy"
xo_token_expire_file "$F" -60
v0=$(via)
env | grep -qi '_proxy=' && xo_fail "the test's environment has a proxy variable"
xo_run_timeout 30 "$H" token work >"$XO_TMP/token.out" 2>"$XO_TMP/token.err"
xo_assert_rc 0 "$XO_TMP/token.err"
[ "$(via)" = $((v0 + 1)) ] && [ "$(direct)" = 0 ] \
    || xo_fail "token: $(direct) direct, $(( $(via) - v0 )) proxied" "$XO_TMP/token.err"
xo_assert_contains "$XO_PROXY_LOG" 'Established connection to host "127\.0\.0\.1"' "tinyproxy logged the connection"
echo "   ok: the refresh went through the proxy"

# --- 3. the plugin in a private postfix ---------------------------------------
xo_step "3. postfix: the plugin runs the helper with an empty environment; the proxy holds"
xo_start_smtp_sink
xo_start_dovecot
xo_pf_init
TOKDIR=$XO_TMP/postfix-tokens
mkdir -m 700 "$TOKDIR"
chown postfix:postfix "$TOKDIR"
P=$TOKDIR/alice.json
cp "$F" "$P"
chown postfix:postfix "$P"
chmod 600 "$P"
rm -f "$F"          # one holder of the grant
xo_start_postfix "$USER" "$P" n
tr '\0' '\n' <"/proc/$XO_PF_MASTER/environ" >"$XO_TMP/master.env"
xo_assert_not_contains "$XO_TMP/master.env" '(^|_)[Pp][Rr][Oo][Xx][Yy]=' "postfix's environment has no proxy variable"
xo_expire "$USER" "$P"
v0=$(via)
subject="xo-proxy through postfix $RANDOM"
xo_pf_send "$subject"
xo_pf_wait_sink "$subject" 40
[ "$(via)" = $((v0 + 1)) ] && [ "$(direct)" = 0 ] \
    || xo_fail "postfix: $(direct) direct, $(( $(via) - v0 )) proxied" "$XO_PF_LOG"
echo "   ok: the plugin's refresh went through the proxy; the mail went out"

xo_step "3b. the same without the stored proxy: refused, the mail waits"
xo_run_timeout 10 "$H" set "$P" --proxy '' >"$XO_TMP/set.out" 2>&1
xo_assert_rc 0 "$XO_TMP/set.out"
[ -z "$(xo_token_field "$P" proxy)" ] || xo_fail "--proxy '' did not remove it" "$P"
xo_expire "$USER" "$P"
d0=$(direct)
subject="xo-proxy without proxy $RANDOM"
xo_pf_send "$subject"
xo_pf_queue_id
xo_pf_wait_log "$XO_PF_QID: to=<.*status=deferred" 40
[ "$(direct)" -gt "$d0" ] || xo_fail "no direct request seen"
xo_assert_contains "$XO_PF_LOG" "direct request refused" "postfix's log has the refusal"
echo "   ok: without the stored proxy the plugin's refresh went direct and was refused"
xo_run_timeout 10 "$H" set "$P" --proxy "$XO_PROXY_URL" >"$XO_TMP/set.out" 2>&1
xo_assert_rc 0 "$XO_TMP/set.out"
xo_assert_contains "$XO_TMP/set.out" "refreshes go through the proxy http://127\.0\.0\.1:$XO_PROXY_PORT"
chown postfix:postfix "$P"
xo_pf_flush
xo_pf_wait_sink "$subject" 40
echo "   ok: proxy set again without a login; the deferred mail went out"

xo_step "3c. contrib/notify/notify-mail through this postfix's real sendmail"
( export XOAUTH2_EVENT=needs-login XOAUTH2_ACCOUNT=alice XOAUTH2_USER=$USER \
    XOAUTH2_FILE=$P XOAUTH2_REASON="refresh rejected (invalid_grant: test)" \
    XOAUTH2_FIX="xoauth2-token login $P --provider custom" XOAUTH2_HOST=xo-test \
    SENDMAIL="sendmail -C $XO_PF_DIR -f $USER"
  exec "$XO_TOP_SRCDIR/contrib/notify/notify-mail" "$XO_PF_RCPT" ) >"$XO_TMP/notify.out" 2>&1 \
    || xo_fail "notify-mail failed" "$XO_TMP/notify.out"
xo_pf_wait_sink "xoauth2: alice \($USER\) on xo-test needs a new login" 40
xo_assert_contains "$(xo_sink_grep '^Subject: xoauth2: alice')" \
    "^  xoauth2-token login $P --provider custom\$" "the mail names the fix"
echo "   ok: the example mailed through sendmail, postfix and the relay"

# --- 4. no_proxy --------------------------------------------------------------
xo_step "4. no_proxy: the endpoint's host listed, the refresh goes direct"
xo_oauth -q proxy-only off
xo_run_timeout 10 "$H" set "$P" --no-proxy 127.0.0.1 >"$XO_TMP/set.out" 2>&1
xo_assert_rc 0 "$XO_TMP/set.out"
xo_token_expire_file "$P" -60
v0=$(via) d0=$(direct)
xo_run_timeout 30 "$H" refresh "$P" >"$XO_TMP/np.out" 2>&1
xo_assert_rc 0 "$XO_TMP/np.out"
[ "$(direct)" = $((d0 + 1)) ] && [ "$(via)" = "$v0" ] \
    || xo_fail "no_proxy: $(( $(direct) - d0 )) direct, $(( $(via) - v0 )) proxied"
echo "   ok: direct, as no_proxy says"
xo_run_timeout 10 "$H" set "$P" --no-proxy '' >"$XO_TMP/set.out" 2>&1

# --- 5. a proxy that is down; credentials never shown ------------------------
xo_step "5. the proxy is down: the message names it; its password is never shown"
xo_run_timeout 10 "$H" set "$P" --proxy "http://bob:pr0xyS3cret@127.0.0.1:1" >"$XO_TMP/set.out" 2>&1
xo_assert_rc 0 "$XO_TMP/set.out"
xo_token_expire_file "$P" -60
xo_run_timeout 30 "$H" refresh "$P" >"$XO_TMP/down.out" 2>&1
xo_assert_rc nonzero "$XO_TMP/down.out"
xo_assert_contains "$XO_TMP/down.out" 'through the proxy http://127\.0\.0\.1:1'
xo_run_timeout 10 "$H" show "$P" >"$XO_TMP/show.out" 2>&1
xo_assert_contains "$XO_TMP/show.out" '^proxy: +http://127\.0\.0\.1:1 '
for f in "$XO_TMP/set.out" "$XO_TMP/down.out" "$XO_TMP/show.out" "$XO_PF_LOG"; do
    ! grep -q pr0xyS3cret "$f" || xo_fail "the proxy password was shown" "$f"
done
[ "$(xo_token_field "$P" failure_class)" = temporary ] || xo_fail "not recorded as temporary" "$P"
echo "   ok: named the proxy, recorded a temporary failure, never showed the password"

# --- 6. app-only files ---------------------------------------------------------
xo_step "6. login --app-only with all_proxy set: the proxy is used, shown and stored"
xo_oauth -q proxy-only on
CID=5b3b4f58-4f2c-4d7e-9f0e-0a1b2c3d4e5f
# A token file's credential files are its owner's (SECURITY.md): root's
# login reads root's secret; postfix's copy below gets it as its own.
SECRET=$TOKDIR/app-secret
xo_app_secret "$SECRET" "$CID" "$USER"
APP=("${XO_APP_OPTS[@]}" --client-secret-file "$SECRET")
FA=$XDG_DATA_HOME/xoauth2/relay.json
v0=$(via) d0=$(direct)
( export all_proxy=$XO_PROXY_URL
  exec "$H" login relay "${APP[@]}" ) >"$XO_TMP/app-login.out" 2>&1 \
    || xo_fail "login --app-only failed" "$XO_TMP/app-login.out"
xo_assert_contains "$XO_TMP/app-login.out" \
    "^xoauth2-token: relay: using the proxy http://127\.0\.0\.1:$XO_PROXY_PORT \(from all_proxy\), and storing it"
xo_assert_contains "$XO_TMP/app-login.out" "relay: app-only access to $USER \(client credentials, client secret\); token file $FA written"
[ "$(xo_token_field "$FA" proxy)" = "$XO_PROXY_URL" ] || xo_fail "the proxy was not stored" "$FA"
[ "$(xo_token_field "$FA" grant)" = client_credentials ] || xo_fail "not an app-only file" "$FA"
[ "$(via)" = $((v0 + 1)) ] && [ "$(direct)" = "$d0" ] \
    || xo_fail "app-only login: $(( $(direct) - d0 )) direct, $(( $(via) - v0 )) proxied"
echo "   ok: stored; the app's token request came through the proxy"

xo_step "6b. postfix renews the expired app-only file through the stored proxy only"
cp "$FA" "$P"
chown postfix:postfix "$P" "$SECRET"        # postfix's renewals read it
chmod 600 "$P"
xo_expire "$USER" "$P"
old=$(xo_token_field "$P" access_token)
v0=$(via) d0=$(direct)
subject="xo-proxy app-only through postfix $RANDOM"
xo_pf_send "$subject"
xo_pf_wait_sink "$subject" 40
[ "$(via)" = $((v0 + 1)) ] && [ "$(direct)" = "$d0" ] \
    || xo_fail "postfix, app-only: $(( $(direct) - d0 )) direct, $(( $(via) - v0 )) proxied" "$XO_PF_LOG"
xo_assert_token_renewed "$P" "$old" "the app-only token was not renewed"
[ -z "$(xo_token_field "$P" refresh_token)" ] || xo_fail "an app-only file grew a refresh token" "$P"
echo "   ok: the plugin's app-only renewal went through the proxy; the mail went out"

xo_step "6c. login --app-only --proxy '' with all_proxy set: removed, direct"
xo_oauth -q proxy-only off
chown root:root "$SECRET"                  # root's login again
v0=$(via) d0=$(direct)
( export all_proxy=$XO_PROXY_URL
  exec "$H" login relay "${APP[@]}" --proxy '' ) >"$XO_TMP/app-noproxy.out" 2>&1 \
    || xo_fail "login --app-only --proxy '' failed" "$XO_TMP/app-noproxy.out"
xo_assert_contains "$XO_TMP/app-noproxy.out" "relay: no proxy: the token endpoint is reached directly"
[ -z "$(xo_token_field "$FA" proxy)" ] || xo_fail "--proxy '' did not remove it" "$FA"
[ "$(direct)" = $((d0 + 1)) ] && [ "$(via)" = "$v0" ] \
    || xo_fail "--proxy '': $(( $(direct) - d0 )) direct, $(( $(via) - v0 )) proxied"
echo "   ok: no proxy stored; the request went direct"

xo_step "6d. login --app-only --proxy URL with no_proxy naming the endpoint: stored, honoured"
v0=$(via) d0=$(direct)
( export no_proxy=127.0.0.1
  exec "$H" login relay "${APP[@]}" --proxy "$XO_PROXY_URL" ) >"$XO_TMP/app-np.out" 2>&1 \
    || xo_fail "login --app-only --proxy failed" "$XO_TMP/app-np.out"
xo_assert_contains "$XO_TMP/app-np.out" "using the proxy http://127\.0\.0\.1:$XO_PROXY_PORT \(from --proxy\), except for 127\.0\.0\.1"
[ "$(xo_token_field "$FA" proxy)" = "$XO_PROXY_URL" ] && [ "$(xo_token_field "$FA" no_proxy)" = 127.0.0.1 ] \
    || xo_fail "proxy and no_proxy not stored" "$FA"
[ "$(direct)" = $((d0 + 1)) ] && [ "$(via)" = "$v0" ] \
    || xo_fail "no_proxy at login: $(( $(direct) - d0 )) direct, $(( $(via) - v0 )) proxied"
xo_token_expire_file "$FA" -60
v0=$(via) d0=$(direct)
xo_run_timeout 30 "$H" refresh relay >"$XO_TMP/app-np-refresh.out" 2>&1
xo_assert_rc 0 "$XO_TMP/app-np-refresh.out"
[ "$(direct)" = $((d0 + 1)) ] && [ "$(via)" = "$v0" ] \
    || xo_fail "no_proxy at renewal: $(( $(direct) - d0 )) direct, $(( $(via) - v0 )) proxied"
echo "   ok: no_proxy stored with the proxy; login and renewal went direct"
! grep -qF "$(head -1 "$SECRET")" "$XO_TMP"/app-*.out "$FA" "$P" "$XO_PF_LOG" \
    || xo_fail "the client secret was shown or stored"

xo_pf_stop
xo_pass
