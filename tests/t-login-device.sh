#!/bin/bash
# xoauth2-token login, device flow (RFC 8628), against the mock OAuth
# server, whose approval the test controls:
#   - pending -> slow_down -> approved: polls at the server's interval,
#     5 s more after slow_down (measured from the server's poll times),
#     then a complete token file (user from the ID token) that `refresh`
#     uses as is;
#   - access_denied, authorization_declined, expired_token and a code that
#     runs out of time stop at once with a clear message and no file;
#   - Google's verification_url spelling is understood;
#   - on a terminal: a countdown, and a QR code when built with libqrencode.
set -eu
. "$(dirname "$0")/lib.sh"

unset BROWSER DISPLAY WAYLAND_DISPLAY
xo_login_setup
xo_oauth -q device-config --interval 1 --expires-in 60

LOGIN_PID= LOGIN_T0=
# login_bg NAME ARGS...: start a device-flow login in the background.
login_bg() {
    local name=$1; shift
    LOGIN_T0=$EPOCHREALTIME
    "$XO_HELPER" login "$name" --provider custom --client-id xoauth2-test \
        --device-endpoint "$XO_OAUTH_URL/devicecode" \
        --token-endpoint "$XO_OAUTH_URL/token" \
        --scope "https://outlook.office.com/IMAP.AccessAsUser.All offline_access openid" \
        "$@" >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err" &
    LOGIN_PID=$!
    xo_on_exit "kill $LOGIN_PID 2>/dev/null || true"
}

# login_wait: wait (at most 30 s) for it; sets XO_RC and XO_ELAPSED as
# xo_run_timeout does.
login_wait() {
    local n us
    for ((n = 0; n < 300; n++)); do
        kill -0 "$LOGIN_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$LOGIN_PID" 2>/dev/null || true
    XO_RC=0
    wait "$LOGIN_PID" || XO_RC=$?
    us=$(( ${EPOCHREALTIME/[.,]/} - ${LOGIN_T0/[.,]/} ))
    XO_ELAPSED_MS=$((us / 1000))
    XO_ELAPSED=$(printf '%d.%03d' $((us / 1000000)) $((us % 1000000 / 1000)))
}

# status FIELD: of the latest device code (polls, answers, status).
status() {
    xo_oauth device-status | "$XO_PYTHON" -c '
import json, sys
d = json.load(sys.stdin)["devices"][-1]
print(" ".join(map(str, d[sys.argv[1]])) if isinstance(d[sys.argv[1]], list) else d[sys.argv[1]])' "$1"
}

# wait_answers N: until the latest device code has had N answers.
wait_answers() {
    local n
    for ((n = 0; n < 200; n++)); do
        [ "$(status answers | wc -w)" -ge "$1" ] && return 0
        sleep 0.05
    done
    xo_fail "the helper did not poll $1 times" "$XO_TMP/$name.err"
}

name=dev
xo_step "pending -> slow_down -> approved"
login_bg dev
wait_answers 2                       # two authorization_pending
xo_oauth -q device slow-down
wait_answers 3                       # the slow_down
xo_oauth -q device approve --user bob@example.com
login_wait
xo_assert_rc 0 "$XO_TMP/dev.err"
answers=$(status answers)
polls=$(status polls)
echo "   server: answers: $answers"
echo "   server: polls at: $polls (s after the code was issued)"
# Two pending answers at least (a loaded machine may let one more poll
# in before the test's slow-down lands), then slow_down, then tokens.
[[ $answers =~ ^(authorization_pending ){2,}slow_down\ tokens$ ]] \
    || xo_fail "answers: $answers"
"$XO_PYTHON" - "$answers" $polls <<'EOF' || xo_fail "poll intervals wrong: $polls"
import sys
answers = sys.argv[1].split()
t = [float(x) for x in sys.argv[2:]]
gaps = [b - a for a, b in zip([0.0] + t, t)]
print("   gaps: " + " ".join("%.2f" % g for g in gaps))
# interval 1 s up to the slow_down answer, then 1 + 5 = 6 s
k = answers.index("slow_down")
assert all(0.95 <= g < 2.5 for g in gaps[:k + 1]), gaps
assert 5.95 <= gaps[k + 1] < 7.5, gaps
EOF
echo "   ok: every 1 s, then every 6 s after slow_down"
xo_assert_contains "$XO_TMP/dev.err" '^xoauth2-token: dev: to sign in, open http://127\.0\.0\.1:[0-9]+/device in a browser \(on any device\) and enter the code [B-Z]{4}-[B-Z]{4} \(valid 1 min\)$'
xo_assert_contains "$XO_TMP/dev.err" '^xoauth2-token: dev: or open http://127\.0\.0\.1:[0-9]+/device\?user_code='
xo_assert_contains "$XO_TMP/dev.err" '^xoauth2-token: dev: the server asked to poll more slowly; now every 6 s$'
xo_assert_contains "$XO_TMP/dev.err" "^xoauth2-token: dev: signed in as bob@example\.com; token file $XO_STORE/dev\.json written"
[ ! -s "$XO_TMP/dev.out" ] || xo_fail "stdout is not a terminal, yet something was printed" "$XO_TMP/dev.out"
[ "$(xo_token_field "$XO_STORE/dev.json" user)" = bob@example.com ] || xo_fail "user not from the ID token"
[ "$(stat -c %a "$XO_STORE/dev.json")" = 600 ] || xo_fail "mode $(stat -c %a "$XO_STORE/dev.json")"
xo_run_timeout 20 "$XO_HELPER" refresh -v --force dev >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" '^xoauth2-token: dev: refreshed'

# stopped NAME ACTION RC MESSAGE-ERE: the server answers ACTION after the
# first pending poll; the login must stop with RC and MESSAGE, no file.
stopped() {
    name=$1
    xo_step "$2: stops with exit $3"
    login_bg "$1" --user carol@example.com
    wait_answers 1
    [ "$2" = timeout ] || xo_oauth -q device "$2"
    login_wait
    xo_assert_rc "$3" "$XO_TMP/$1.err"
    xo_assert_contains "$XO_TMP/$1.err" "$4"
    [ ! -e "$XO_STORE/$1.json" ] || xo_fail "a token file was written"
}
stopped denied deny 77 '^xoauth2-token: denied: the sign-in was declined \(access_denied\); log in again to retry$'
stopped declined decline 77 'the sign-in was declined \(authorization_declined\)'
stopped expired expire 75 'expired before the sign-in was completed \(expired_token\); log in again$'
xo_oauth -q device-config --expires-in 2
stopped timeout timeout 75 '^xoauth2-token: timeout: the code [B-Z-]+ expired before the sign-in was completed; log in again$'

xo_step "Google's verification_url"
xo_oauth -q device-config --expires-in 60 --url-alias
name=alias
login_bg alias --user carol@example.com
wait_answers 1
xo_oauth -q device approve
login_wait
xo_assert_rc 0 "$XO_TMP/alias.err"
xo_assert_contains "$XO_TMP/alias.err" 'to sign in, open http://127\.0\.0\.1:[0-9]+/device in a browser'
[ "$(xo_token_field "$XO_STORE/alias.json" user)" = carol@example.com ] || xo_fail "--user not recorded"

xo_step "on a terminal: a countdown (and a QR code with libqrencode)"

xo_oauth -q device-config --expires-in 90
name=tty
# The helper's stdout and stderr are a pseudo-terminal (xo_pty.py).
"$XO_PYTHON" "$XO_TESTS_DIR/xo_pty.py" "$XO_TMP/tty.typescript" \
    "$XO_HELPER" login tty --provider custom \
    --client-id xoauth2-test --user dave@example.com \
    --device-endpoint "$XO_OAUTH_URL/devicecode" \
    --token-endpoint "$XO_OAUTH_URL/token" --scope "imap offline_access" \
    </dev/null >"$XO_TMP/tty.err" 2>&1 &
LOGIN_PID=$! LOGIN_T0=$EPOCHREALTIME
xo_on_exit "kill $LOGIN_PID 2>/dev/null || true"
wait_answers 3
xo_oauth -q device approve
login_wait
xo_assert_rc 0 "$XO_TMP/tty.typescript"
xo_assert_contains "$XO_TMP/tty.typescript" 'waiting for the sign-in\.\.\. 1:2[0-9] left' "a countdown"
if ldd "$XO_HELPER" | grep -q libqrencode; then
    xo_assert_contains "$XO_TMP/tty.typescript" $'\xe2\x96\x80' "a QR code (half blocks)"
    xo_assert_contains "$XO_TMP/tty.typescript" 'scan to open http://127\.0\.0\.1:[0-9]+/device'
else
    echo "   (built without libqrencode: no QR code to check)"
fi

xo_pass
