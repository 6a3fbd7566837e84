#!/bin/bash
# A person's refresh token in the desktop keyring (login --keyring;
# helper/keyring.h), with a real GNOME Keyring on a private session bus:
#   - no session bus, and a bus without a Secret Service: login --keyring
#     refuses before the sign-in, with the reason, no file;
#   - login --keyring: the file has no refresh_token but
#     "refresh_token_store": "keyring", the item is in the keyring
#     (secret-tool), show says so;
#   - refresh: the rotated token is in the keyring (the old one is
#     single-use at the server: a second refresh proves the keyring's is
#     the live one), never in the file;
#   - a real IMAP login through the plugin (imtest, Dovecot) on an expired
#     file: the plugin's helper refreshes from the keyring;
#   - locked keyring: refresh fails within a few seconds saying to unlock
#     it (exit 75, recorded as temporary), the tokens in the file
#     unchanged, nothing sent to the server; login --keyring refuses
#     before the sign-in;
#   - a Secret Service that never answers: the keyring program is killed
#     after XOAUTH2_KEYRING_TIMEOUT, the refresh fails with exit 75;
#   - a rotated token that the keyring will not take (locked, or no
#     answer within what --time-limit leaves) is kept in the file (said
#     loudly), and the next refresh with the keyring unlocked moves it
#     there;
#   - a login without --keyring over a keyring file removes its item;
#   - logout removes the item; with the keyring locked it removes the file
#     and prints the secret-tool command, which removes the item later.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack "$XO_IMTEST"
xo_login_setup
xo_keyring_start
xo_keyring_bus bare
xo_start_dovecot

USER=alice@example.com
SCHEMA=org.xoauth2.RefreshToken
item() { xo_keyring_item "$@"; }

# helper_kr NAME ARGS...: the helper, bounded, output in $XO_TMP/NAME.*
helper_kr() {
    local name=$1; shift
    xo_run_timeout 30 "$XO_HELPER" "$@" >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
}
# device_login ACCOUNT [ARGS...]: a device-flow login of $USER.
device_login() {
    local acct=$1; shift
    xo_device_login "$USER" 30 "$XO_HELPER" login "$acct" --provider custom \
        --client-id xoauth2-test --flow device --user "$USER" \
        --device-endpoint "$XO_OAUTH_URL/devicecode" \
        --token-endpoint "$XO_OAUTH_URL/token" --scope "$XO_IMAP_SCOPE" \
        "$@" >"$XO_TMP/$acct.out" 2>"$XO_TMP/$acct.err"
}
# keyring_login ACCOUNT [ARGS...]: the same with --keyring.
keyring_login() { device_login "$@" --keyring; }
F=$XO_STORE/kr.json

xo_step "no session bus: login --keyring refuses before the sign-in"
xo_run_timeout 20 env -u DBUS_SESSION_BUS_ADDRESS XDG_RUNTIME_DIR="$XO_TMP/none" \
    "$XO_HELPER" login nobus --provider custom --client-id xoauth2-test \
    --user "$USER" --flow device --device-endpoint "$XO_OAUTH_URL/devicecode" \
    --token-endpoint "$XO_OAUTH_URL/token" --keyring \
    >"$XO_TMP/nobus.out" 2>"$XO_TMP/nobus.err"
xo_assert_rc 69 "$XO_TMP/nobus.err"
xo_assert_contains "$XO_TMP/nobus.err" 'no D-Bus session bus here' "says there is no bus"
xo_assert_contains "$XO_TMP/nobus.err" 'not signing in' "before the sign-in"
[ ! -e "$XO_STORE/nobus.json" ] || xo_fail "a token file was written"

xo_step "a bus without a Secret Service: login --keyring refuses, naming it"
DBUS_SESSION_BUS_ADDRESS=unix:path=$XO_TMP/keyring/bare.sock xo_run_timeout 20 "$XO_HELPER" login nosvc \
    --provider custom --client-id xoauth2-test --flow device --user "$USER" \
    --device-endpoint "$XO_OAUTH_URL/devicecode" \
    --token-endpoint "$XO_OAUTH_URL/token" --keyring \
    >"$XO_TMP/nosvc.out" 2>"$XO_TMP/nosvc.err"
xo_assert_rc 69 "$XO_TMP/nosvc.err"
xo_assert_contains "$XO_TMP/nosvc.err" 'no Secret Service on the session bus' "says there is no Secret Service"
[ ! -e "$XO_STORE/nosvc.json" ] || xo_fail "a token file was written"

xo_step "login --keyring: the refresh token goes to the keyring, not the file"
keyring_login kr
[ "$XO_RC" = 0 ] || xo_fail "login --keyring failed ($XO_RC)" "$XO_TMP/kr.err"
xo_assert_contains "$XO_TMP/kr.err" 'refresh token is in the desktop keyring' "login says where it is"
[ -z "$(xo_token_field "$F" refresh_token)" ] || xo_fail "the token file holds a refresh token" "$F"
[ "$(xo_token_field "$F" refresh_token_store)" = keyring ] || xo_fail "no refresh_token_store keyring" "$F"
RT1=$(item kr) || xo_fail "no item in the keyring"
[ -n "$RT1" ] || xo_fail "empty item in the keyring"
grep -qF "$RT1" "$F" && xo_fail "the refresh token is in the file"
secret-tool search xdg:schema "$SCHEMA" account kr 2>&1 |
    grep -q "label = xoauth2-token: kr ($USER)" || xo_fail "no item labelled xoauth2-token: kr ($USER)"
echo "   ok: file without it, item in the keyring"
helper_kr show show kr
xo_assert_contains "$XO_TMP/show.out" 'refresh token: +in the desktop keyring \(Secret Service\)' "show says where"
helper_kr status status -v kr
xo_assert_rc 0 "$XO_TMP/status.out"
xo_assert_contains "$XO_TMP/status.out" 'in the desktop keyring \(Secret Service\): reachable and unlocked' "status -v probed it"

xo_step "refresh: the rotated refresh token lands in the keyring"
before=$(xo_oauth_refreshes)
helper_kr refresh1 refresh kr --force
xo_assert_rc 0 "$XO_TMP/refresh1.err"
RT2=$(item kr)
[ -n "$RT2" ] && [ "$RT2" != "$RT1" ] || xo_fail "the keyring still holds the old refresh token"
[ -z "$(xo_token_field "$F" refresh_token)" ] || xo_fail "the refresh wrote the refresh token into the file" "$F"
helper_kr refresh2 refresh kr --force
xo_assert_rc 0 "$XO_TMP/refresh2.err"
[ "$(xo_oauth_refreshes)" = $((before + 2)) ] || xo_fail "the server saw $(( $(xo_oauth_refreshes) - before )) refreshes, want 2"
echo "   ok: the server took the keyring's rotated token (its refresh tokens are single-use)"

xo_step "a real IMAP login through the plugin, the file's access token expired"
# The plugin runs the helper with PATH and LC_ALL only: the keyring
# program finds the bus where a desktop session has it, /run/user/UID/bus;
# imtest runs in a mount namespace of its own where that is our bus.
cat >"$XO_TMP/imtest-session" <<EOF
#!/bin/sh
if [ -z "\${XO_IN_NS:-}" ]; then
    XO_IN_NS=1 exec unshare -m --propagation private "\$0" "\$@"
fi
mount -t tmpfs -o mode=755 tmpfs /run || exit 1
mkdir -p -m 700 /run/user/\$(id -u) || exit 1
ln -s "$XO_KEYRING_BUS" /run/user/\$(id -u)/bus || exit 1
exec "$XO_IMTEST" "\$@"
EOF
chmod +x "$XO_TMP/imtest-session"
XO_IMTEST_REAL=$XO_IMTEST
XO_IMTEST=$XO_TMP/imtest-session
xo_token_expire_file "$F" -60
xo_oauth -q expire "$(xo_token_field "$F" access_token)"
RT3=$(item kr)
out=$XO_TMP/imtest.out
xo_imtest 30 "$USER" XOAUTH2 "$F" "$out"
xo_assert_contains "$out" '^Authenticated\.' "imtest: Authenticated."
xo_dovecot_wait_login imap "$USER" XOAUTH2
[ "$(item kr)" != "$RT3" ] || xo_fail "the plugin's refresh did not rotate the keyring's token"
XO_IMTEST=$XO_IMTEST_REAL
[ -z "$(xo_token_field "$F" refresh_token)" ] || xo_fail "refresh token in the file" "$F"

xo_step "locked keyring: a refresh fails at once, saying to unlock it; the file keeps its tokens"
RT4=$(item kr)
xo_keyring_lock
cp "$F" "$XO_TMP/kr.before"
before=$(xo_oauth_refreshes)
helper_kr locked refresh kr --force
xo_assert_rc 75 "$XO_TMP/locked.err"
xo_assert_contains "$XO_TMP/locked.err" 'keyring: it is locked; unlock the "login" keyring' "says to unlock it"
xo_assert_faster_than 5 "a locked keyring"
xo_same_tokens "$F" "$XO_TMP/kr.before" || xo_fail "the tokens in the file changed" "$F"
[ "$(xo_token_field "$F" failure_class)" = temporary ] || xo_fail "not recorded as temporary" "$F"
[ "$(xo_oauth_refreshes)" = "$before" ] || xo_fail "a refresh reached the server"
helper_kr locked-login login kr2 --provider custom --client-id xoauth2-test \
    --user "$USER" --flow device --device-endpoint "$XO_OAUTH_URL/devicecode" \
    --token-endpoint "$XO_OAUTH_URL/token" --keyring
xo_assert_rc 75 "$XO_TMP/locked-login.err"
xo_assert_contains "$XO_TMP/locked-login.err" 'it is locked.*not signing in' "login refuses before the sign-in"

xo_step "a Secret Service that never answers: xoauth2-keyring is killed at the bound, no hang"
# gnome-keyring-daemon stopped (SIGSTOP) still owns its name on the bus:
# every call to it waits.  XOAUTH2_KEYRING_TIMEOUT=2 instead of 10 s.
cp "$F" "$XO_TMP/kr.before"
kill -STOP "$XO_KEYRING_PID"
XOAUTH2_KEYRING_TIMEOUT=2 helper_kr stopped refresh kr --force
kill -CONT "$XO_KEYRING_PID"
xo_assert_rc 75 "$XO_TMP/stopped.err"
xo_assert_contains "$XO_TMP/stopped.err" 'no answer within 2 s' "says it did not answer"
xo_assert_faster_than 5 "a Secret Service that never answers"
xo_same_tokens "$F" "$XO_TMP/kr.before" || xo_fail "the tokens in the file changed" "$F"
pgrep -f "xoauth2-keyring lookup" >/dev/null && xo_fail "xoauth2-keyring is still running"
echo "   ok: no xoauth2-keyring left behind"

xo_step "a rotated token the locked keyring will not take stays in the file, then moves back"
# The state a failed store leaves: the newest refresh token in the file.
"$XO_PYTHON" - "$F" "$RT4" <<'EOF'
import json, os, sys
t = json.load(open(sys.argv[1])); t["refresh_token"] = sys.argv[2]
open(sys.argv[1] + ".n", "w").write(json.dumps(t)); os.chmod(sys.argv[1] + ".n", 0o600)
os.replace(sys.argv[1] + ".n", sys.argv[1])
EOF
helper_kr kept refresh kr --force
xo_assert_rc 0 "$XO_TMP/kept.err"
xo_assert_contains "$XO_TMP/kept.err" 'WARNING: .*locked.*kept in .*kr.json for now \(not lost\)' "says loudly it is kept in the file"
RT5=$(xo_token_field "$F" refresh_token)
[ -n "$RT5" ] && [ "$RT5" != "$RT4" ] || xo_fail "the rotated token is not in the file" "$F"

xo_step "--time-limit and a keyring that never answers: the rotated token is kept in the file, in time"
# What the plugin runs: a refresh that must end within --time-limit.  The
# store into the keyring gets what is left of it, not its usual 10 s.
kill -STOP "$XO_KEYRING_PID"
helper_kr bounded refresh kr --force --time-limit 3
kill -CONT "$XO_KEYRING_PID"
xo_assert_rc 0 "$XO_TMP/bounded.err"
xo_assert_faster_than 3 "$XO_TMP/bounded.err"
xo_assert_contains "$XO_TMP/bounded.err" 'WARNING: .*no answer within .*kept in .*kr.json for now' "says it is kept in the file"
RT5b=$(xo_token_field "$F" refresh_token)
[ -n "$RT5b" ] && [ "$RT5b" != "$RT5" ] || xo_fail "the rotated token is not in the file" "$F"
RT5=$RT5b
xo_keyring_restart
[ "$(item kr)" = "$RT4" ] || xo_fail "the unlocked keyring does not hold the old token"
helper_kr moved refresh kr --force
xo_assert_rc 0 "$XO_TMP/moved.err"
xo_assert_contains "$XO_TMP/moved.err" 'the refresh token is in the desktop keyring again; .*kr.json no longer holds it' "says it moved"
[ -z "$(xo_token_field "$F" refresh_token)" ] || xo_fail "still in the file" "$F"
RT6=$(item kr)
[ -n "$RT6" ] && [ "$RT6" != "$RT5" ] && [ "$RT6" != "$RT4" ] || xo_fail "the keyring does not hold the newest token"

xo_step "no refresh token in argv or environ (helper, xoauth2-keyring), the file, or any output"
# Every execve of a refresh that reads, sends and stores a refresh token,
# with its full argv and environment (strace -v); then every refresh token
# the server ever issued, searched for there, in the token file, in every
# capture of this test and in the servers' and the keyring daemon's logs.
if command -v strace >/dev/null; then
    # LeakSanitizer cannot run under ptrace: off for this one run (a
    # sanitizer build; nothing otherwise).
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        xo_run_timeout 30 strace -f -v -s 65535 -e trace=execve \
        -o "$XO_TMP/execve.trace" "$XO_HELPER" refresh kr --force \
        >"$XO_TMP/traced.out" 2>"$XO_TMP/traced.err"
    xo_assert_rc 0 "$XO_TMP/traced.err"
    grep -q 'execve("[^"]*/xoauth2-keyring", \["[^"]*", "lookup"' "$XO_TMP/execve.trace" \
        || xo_fail "strace did not see xoauth2-keyring lookup" "$XO_TMP/execve.trace"
    grep -q 'execve("[^"]*/xoauth2-keyring", \["[^"]*", "store"' "$XO_TMP/execve.trace" \
        || xo_fail "strace did not see xoauth2-keyring store" "$XO_TMP/execve.trace"
else
    xo_skip "strace is not installed (argv/environ of xoauth2-keyring)"
fi
"$XO_PYTHON" - "$XO_TMP/oauth/state/state.json" "$F" "$XO_TMP" <<'PY' \
    >"$XO_TMP/scan.out" 2>&1 || xo_fail "a refresh token outside the keyring" "$XO_TMP/scan.out"
import glob, json, os, sys
state, tokfile, tmp = sys.argv[1:4]
secrets = {s for s in json.load(open(state))["refresh"] if len(s) >= 12}
places = [tokfile, os.path.join(tmp, "execve.trace"), os.path.join(tmp, "keyring", "daemon.log"),
          os.path.join(tmp, "dovecot", "dovecot.log"), os.path.join(tmp, "oauth", "server.log")]
places += glob.glob(os.path.join(tmp, "*.out")) + glob.glob(os.path.join(tmp, "*.err"))
leaks = []
for p in places:
    if not os.path.isfile(p):
        continue
    data = open(p, "rb").read()
    leaks += ["%s: %s...%s" % (p, s[:6], s[-3:]) for s in secrets if s.encode() in data]
print("%d refresh tokens, %d files searched" % (len(secrets), len(places)))
for l in leaks:
    print("LEAK: " + l)
sys.exit(1 if leaks else 0)
PY
cat "$XO_TMP/scan.out"
echo "   ok: in none of them"

xo_step "logout with the keyring locked: the file goes, the secret-tool command is printed"
xo_keyring_lock
helper_kr logout-locked logout kr
xo_assert_rc 0 "$XO_TMP/logout-locked.err"
[ ! -e "$F" ] || xo_fail "the file is still there"
xo_assert_contains "$XO_TMP/logout-locked.err" 'remove it later with: secret-tool clear xdg:schema org.xoauth2.RefreshToken' "prints the command"
cmd=$(sed -n 's/.*remove it later with: //p' "$XO_TMP/logout-locked.err")
xo_keyring_restart
[ -n "$(item kr)" ] || xo_fail "the item went while locked?"
bash -c "$cmd" || xo_fail "the printed command failed: $cmd"
[ -z "$(item kr)" ] || xo_fail "the printed command left the item"
echo "   ok: the printed command removed it"

xo_step "a login without --keyring over a keyring file: the old item goes, the token is in the file"
keyring_login kr3
[ "$XO_RC" = 0 ] || xo_fail "login --keyring failed ($XO_RC)" "$XO_TMP/kr3.err"
[ -n "$(item kr3)" ] || xo_fail "no item after login --keyring"
device_login kr3
[ "$XO_RC" = 0 ] || xo_fail "login failed ($XO_RC)" "$XO_TMP/kr3.err"
xo_assert_contains "$XO_TMP/kr3.err" "removed the previous login's refresh token from the desktop keyring" "says so"
[ -z "$(item kr3)" ] || xo_fail "the old item is still in the keyring"
[ -n "$(xo_token_field "$XO_STORE/kr3.json" refresh_token)" ] || xo_fail "no refresh token in the file"
[ -z "$(xo_token_field "$XO_STORE/kr3.json" refresh_token_store)" ] || xo_fail "refresh_token_store left in the file"

xo_step "logout with the keyring unlocked removes the item"
keyring_login kr
[ "$XO_RC" = 0 ] || xo_fail "login --keyring failed ($XO_RC)" "$XO_TMP/kr.err"
[ -n "$(item kr)" ] || xo_fail "no item after login"
helper_kr logout logout kr
xo_assert_rc 0 "$XO_TMP/logout.err"
xo_assert_contains "$XO_TMP/logout.err" 'removed its refresh token from the desktop keyring' "says so"
[ -z "$(item kr)" ] || xo_fail "the item is still in the keyring"

xo_pass
