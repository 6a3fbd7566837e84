#!/bin/bash
# Faults around the token file and the helper, beyond t-faults.sh (HTTP):
# the token directory full or read-only during a refresh, the lock held by
# someone else or not openable, the helper missing or hanging when the
# plugin runs it (through real clients: imtest and xoauth2-token test), an
# access token that the server expired after the plugin read it, and the
# token file replaced by a symlink.  Each case: bounded time, a message
# that says what happened (asserted), the exit status, and nothing lost --
# the file byte-for-byte as it was and, where the new tokens could not be
# stored, no refresh at the server (the helper reserves the space first),
# so the grant survives even a strictly single-use server.
#
# Needs root (tmpfs mounts, private Dovecot).  The mounts are undone at
# exit, also on failure.  XO_SLOW=1 adds the plugin's own 60 s helper
# timeout through a real client (about 65 s).
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_root
xo_require_cmd "$XO_IMTEST" dovecot flock setpriv mount umount "$XO_PYTHON"
xo_require_plugin
xo_require_helper --private-store
USER=alice@example.com
H=$XO_HELPER

xo_start_mail_servers --no-sink

# --- helpers ----------------------------------------------------------------
# mount_tmpfs DIR SIZE: a private tmpfs at DIR (0700), unmounted at exit.
mount_tmpfs() {
    mkdir -p "$1"
    mount -t tmpfs -o "size=$2,mode=0700" xo-faults-fs "$1" \
        || xo_skip "cannot mount a tmpfs at $1 (no CAP_SYS_ADMIN here?)"
    xo_on_exit "umount '$1' 2>/dev/null || umount -l '$1' 2>/dev/null || true"
}

# fill DIR: write until the file system says ENOSPC.
fill() {
    dd if=/dev/zero of="$1/filler" bs=4k 2>/dev/null || true
    dd if=/dev/zero of="$1/filler2" bs=1 2>/dev/null || true   # the last bytes
    [ "$(df --output=avail -B1 "$1" | tail -1 | tr -d ' ')" = 0 ] \
        || xo_fail "could not fill $1"
}

# snapshot FILE: keep a copy to compare with (unchanged FILE).
snapshot() { cp -p "$1" "$XO_TMP/orig"; }
unchanged() {
    cmp -s "$1" "$XO_TMP/orig" || xo_fail "token file changed: $1" "$1"
    [ ! -e "$1.tmp" ] || xo_fail "temporary file $1.tmp left behind"
    echo "   ok: $1 byte-for-byte unchanged, no .tmp left"
}

# run NAME SECS CMD...: CMD (output in $XO_TMP/out, $XO_TMP/err), which
# must finish well within SECS.
run() {
    local name=$1 secs=$2; shift 2
    xo_step "$name"
    xo_run_timeout $((secs + 20)) "$@" >"$XO_TMP/out" 2>"$XO_TMP/err"
    [ "$XO_RC" != 124 ] && [ "$XO_RC" != 137 ] \
        || xo_fail "timed out after $XO_ELAPSED s" "$XO_TMP/err" "$XO_TMP/out"
    xo_assert_faster_than "$secs" "$XO_TMP/err"
}

refreshes() { xo_oauth_refreshes; }

# imtest_login FILE OUT: one imtest session with FILE as the password.
imtest_login() { xo_imtest 40 "$USER" XOAUTH2 "$1" "$2"; }

# "${MAILTEST[@]}" FILE: xoauth2-token test, a libsasl2 client that prints
# the plugin's error detail (imtest only says "generic failure").
MAILTEST=("$H" test --imap "127.0.0.1:$XO_IMAP_PORT" --plain --plugin-dir "$XO_PLUGIN_DIR")

# =============================================================================
D=$XO_TMP/full
mount_tmpfs "$D" 64k
F=$D/work.json

# The helper reserves the new file's space (PATH.tmp) under the lock
# before it asks the server: with no room it stops there, so the refresh
# token is never spent, and the grant survives even at a strictly
# single-use server (grace off).
grace_uses() { xo_oauth stats | sed -n 's/.*"grace_uses": *\([0-9]*\).*/\1/p'; }
for grace in on off; do
    xo_oauth -q grace "$grace"
    xo_tokfile "$F" "$USER" -10
    rt0=$(xo_token_field "$F" refresh_token)
    rm -f "$D/filler" "$D/filler2"
    : >"$F.lock"; chmod 600 "$F.lock"    # as a previous run would leave it
    fill "$D"
    snapshot "$F"
    n0=$(refreshes)
    g0=$(grace_uses)
    run "directory full during a refresh (grace $grace): refused before any network" 10 \
        "$H" refresh --timeout 5 "$F"
    xo_assert_rc 73 "$XO_TMP/err"
    xo_assert_contains "$XO_TMP/err" \
        "^xoauth2-token: $F: cannot make room for the new token file in $D \(No space left on device\); not refreshed, the stored refresh token is unused: fix that and try again$"
    [ ! -s "$XO_TMP/out" ] || xo_fail "stdout not empty" "$XO_TMP/out"
    unchanged "$F"
    [ "$(refreshes)" = "$n0" ] || xo_fail "the server was asked although the new tokens could not be stored"
    echo "   ok: no refresh at the server; the refresh token on disk is unused"

    rm -f "$D/filler" "$D/filler2"
    run "space freed, refresh again with the stored refresh token (grace $grace)" 10 \
        "$H" refresh --timeout 5 "$F"
    xo_assert_rc 0 "$XO_TMP/err"
    [ "$(xo_token_field "$F" refresh_token)" != "$rt0" ] \
        || xo_fail "refresh token not rotated"
    [ "$(refreshes)" = $((n0 + 1)) ] || xo_fail "expected one refresh at the server"
    [ "$(grace_uses)" = "$g0" ] || xo_fail "the server had to use its reuse grace"
    [ ! -e "$F.tmp" ] || xo_fail "$F.tmp left behind"
    echo "   ok: the grant survived without the provider's reuse grace"
done

# =============================================================================
xo_oauth -q grace off
rm -f "$D"/*
xo_tokfile "$F" "$USER" -10
snapshot "$F"
mount -o remount,ro "$D" || xo_fail "cannot remount $D read-only"
n0=$(refreshes)
run "read-only directory, no lock file yet: refused before any network" 5 \
    "$H" refresh --timeout 5 "$F"
xo_assert_rc 73 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: $F: cannot create $F\.lock: Read-only file system$"
unchanged "$F"
[ "$(refreshes)" = "$n0" ] || xo_fail "the server was asked although the lock could not be taken"
echo "   ok: no refresh at the server"

mount -o remount,rw "$D"
: >"$F.lock"; chmod 600 "$F.lock"
mount -o remount,ro "$D"
run "read-only directory, lock file present: refused before any network" 10 \
    "$H" refresh --timeout 5 "$F"
xo_assert_rc 73 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" \
    "^xoauth2-token: $F: cannot make room for the new token file in $D \(Read-only file system\); not refreshed, the stored refresh token is unused: fix that and try again$"
unchanged "$F"
[ "$(refreshes)" = "$n0" ] || xo_fail "the server was asked although the new tokens could not be stored"
echo "   ok: no refresh at the server"
xo_step "the plugin meanwhile (imtest, file expired, directory read-only): fails, no AUTHENTICATE sent"
imtest_login "$F" "$XO_TMP/imtest-ro.out"
xo_assert_contains "$XO_TMP/imtest-ro.out" '^Authentication failed\. generic failure' "imtest: generic failure"
xo_assert_not_contains "$XO_TMP/imtest-ro.out" '^C: A01 AUTHENTICATE' "no token sent"
xo_assert_faster_than 10 "$XO_TMP/imtest-ro.out"
run "... and xoauth2-token test shows the plugin's message" 10 "${MAILTEST[@]}" "$F"
xo_assert_rc 77 "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" "the access token in $F has expired and refreshing it failed: xoauth2-token: $F: cannot make room for the new token file in $D \(Read-only file system\)"
[ "$(refreshes)" = "$n0" ] || xo_fail "the plugin's helper refreshed at the server"
mount -o remount,rw "$D"
run "writable again: the stored refresh token still works (grace off)" 10 \
    "$H" refresh --timeout 5 "$F"
xo_assert_rc 0 "$XO_TMP/err"
cmp -s "$F" "$XO_TMP/orig" && xo_fail "not refreshed"
[ "$(refreshes)" = $((n0 + 1)) ] || xo_fail "expected one refresh at the server"
xo_oauth -q grace on

# =============================================================================
xo_tokfile "$F" "$USER" -10
snapshot "$F"
n0=$(refreshes)
setsid flock "$F.lock" sleep 30 </dev/null >/dev/null 2>&1 &
holder=$!
XO__PIDS+=("$holder")
for ((i = 0; i < 50; i++)); do
    flock -n "$F.lock" true 2>/dev/null || break
    sleep 0.1
done
run "lock held by another process (flock): gives up after --timeout + 5 s" 10 \
    "$H" refresh --timeout 2 "$F"
xo_assert_rc 75 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: $F: another xoauth2-token is still refreshing the token file; try again later$"
[ "$XO_ELAPSED_MS" -ge 6500 ] || xo_fail "gave up after $XO_ELAPSED s, before 7 s"
unchanged "$F"
[ "$(refreshes)" = "$n0" ] || xo_fail "refreshed without the lock"
xo__stop_pid "$holder"       # flock and its sleep (its own session)

U=$XO_TMP/u
mkdir -m 700 "$U"
chown 65534:65534 "$U"
FU=$U/work.json
xo_tokfile "$FU" "$USER" -10
chown 65534:65534 "$FU"
: >"$FU.lock"; chmod 600 "$FU.lock"    # root's, not the user's
snapshot "$FU"
chmod 711 "$XO_TMP"
run "lock file not openable by the file's owner (root's, 0600)" 5 \
    setpriv --reuid 65534 --regid 65534 --clear-groups "$H" refresh --timeout 5 "$FU"
xo_assert_rc 77 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: $FU: cannot open $FU\.lock: it belongs to another user \(owner root, mode 0600\); run: chown nobody $FU\.lock, or remove it$"
unchanged "$FU"
[ "$(refreshes)" = "$n0" ] || xo_fail "the server was asked although the lock could not be taken"

# =============================================================================
G=$XO_TMP/tok
mkdir -m 700 "$G"
F=$G/work.json
xo_tokfile "$F" "$USER" -10
snapshot "$F"
n0=$(refreshes)
export XOAUTH2_HELPER=$XO_TMP/no/such/xoauth2-token
xo_step "helper missing, through imtest: login fails at once, nothing sent"
imtest_login "$F" "$XO_TMP/imtest-missing.out"
xo_assert_rc 0 "$XO_TMP/imtest-missing.out"
xo_assert_faster_than 5 "$XO_TMP/imtest-missing.out"
xo_assert_contains "$XO_TMP/imtest-missing.out" '^Authentication failed\. generic failure' "imtest: generic failure"
xo_assert_not_contains "$XO_TMP/imtest-missing.out" '^C: A01 AUTHENTICATE' "no (expired) token sent"
run "helper missing, through xoauth2-token test: the plugin's message" 5 "${MAILTEST[@]}" "$F"
xo_assert_rc 77 "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" \
    "the access token in $F has expired and the helper cannot run here \(cannot run $XOAUTH2_HELPER: No such file or directory\)"
unchanged "$F"

cat >"$XO_TMP/hang-helper" <<EOF
#!/bin/sh
echo \$\$ >"$XO_TMP/hang-helper.pid"
exec sleep 600
EOF
chmod 755 "$XO_TMP/hang-helper"
export XOAUTH2_HELPER=$XO_TMP/hang-helper
# kill_hang_helper: in the background (pid in killer), SIGKILL the hanging
# helper 3 s after it has started, as the OOM killer or an admin would.
kill_hang_helper() {
    rm -f "$XO_TMP/hang-helper.pid"
    ( for ((i = 0; i < 100; i++)); do
          [ -s "$XO_TMP/hang-helper.pid" ] && break; sleep 0.1
      done
      sleep 3; kill -KILL "$(cat "$XO_TMP/hang-helper.pid")" ) &
    killer=$!
}
xo_step "helper hangs and is killed from outside (OOM killer, admin): imtest fails in bounded time"
kill_hang_helper
imtest_login "$F" "$XO_TMP/imtest-hang.out"
wait "$killer" || true
xo_assert_faster_than 10 "$XO_TMP/imtest-hang.out"
[ "$XO_ELAPSED_MS" -ge 2900 ] || xo_fail "did not wait for the helper"
xo_assert_contains "$XO_TMP/imtest-hang.out" '^Authentication failed\. generic failure' "imtest: generic failure"
xo_assert_not_contains "$XO_TMP/imtest-hang.out" '^C: A01 AUTHENTICATE' "no (expired) token sent"
kill_hang_helper
run "... the same through xoauth2-token test: the plugin's message" 10 "${MAILTEST[@]}" "$F"
wait "$killer" || true
xo_assert_rc 77 "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" \
    "the access token in $F has expired and refreshing it failed: $XOAUTH2_HELPER failed \(signal 9\)"
unchanged "$F"
if [ "${XO_SLOW:-0}" = 1 ]; then
    run "helper hangs: the plugin stops it after xoauth2_helper_timeout (60 s, XO_SLOW=1)" 70 "${MAILTEST[@]}" "$F"
    xo_assert_rc 77 "$XO_TMP/out"
    xo_assert_contains "$XO_TMP/out" "$XOAUTH2_HELPER did not finish within 55 s and was stopped with SIGTERM \(xoauth2_helper_timeout=60\)"
    pid=$(cat "$XO_TMP/hang-helper.pid")
    ! kill -0 "$pid" 2>/dev/null || xo_fail "the hanging helper is still running"
    unchanged "$F"
else
    echo "   (the plugin's own timeout, 60 s by default, is checked in-process by"
    echo "    sasl-client with xoauth2_helper_timeout=1; XO_SLOW=1 runs it here)"
fi
[ "$(refreshes)" = "$n0" ] || xo_fail "a refresh happened"
export XOAUTH2_HELPER=$XO_HELPER

# =============================================================================
xo_tokfile "$F" "$USER" 3600
at0=$(xo_token_field "$F" access_token)
xo_oauth -q expire "$at0"
n0=$(refreshes)
xo_step "access token expired at the server after the plugin read it: 401, marked stale"
imtest_login "$F" "$XO_TMP/imtest-stale1.out"
xo_assert_faster_than 10 "$XO_TMP/imtest-stale1.out"
xo_assert_contains "$XO_TMP/imtest-stale1.out" '^C: A01 AUTHENTICATE XOAUTH2 ' "the token was sent"
xo_assert_contains "$XO_TMP/imtest-stale1.out" '^S: A01 NO' "server said NO"
[ "$(xo_token_field "$F" expires_at)" = 0 ] \
    || xo_fail "the plugin did not mark the file stale (expires_at $(xo_token_field "$F" expires_at))" "$F"
[ "$(xo_token_field "$F" access_token)" = "$at0" ] || xo_fail "access token changed"
[ "$(refreshes)" = "$n0" ] || xo_fail "refreshed during the failed login"
echo "   ok: expires_at = 0 in $F, nothing else changed"
xo_step "... the next login refreshes and succeeds"
imtest_login "$F" "$XO_TMP/imtest-stale2.out"
xo_assert_faster_than 10 "$XO_TMP/imtest-stale2.out"
xo_assert_contains "$XO_TMP/imtest-stale2.out" '^Authenticated\.' "imtest: Authenticated."
[ "$(refreshes)" = $((n0 + 1)) ] || xo_fail "expected exactly one refresh"
[ "$(xo_token_field "$F" access_token)" != "$at0" ] || xo_fail "access token not replaced"
echo "   ok: one refresh, new access token stored"

# =============================================================================
V=$XO_TMP/elsewhere.json
xo_tokfile "$V" "$USER" 3600
L=$G/link.json
ln -s "$V" "$L"
cp -p "$V" "$XO_TMP/orig"
xo_step "token file replaced by a symlink (to a valid 0600 file): the plugin refuses to read it"
imtest_login "$L" "$XO_TMP/imtest-link.out"
xo_assert_faster_than 5 "$XO_TMP/imtest-link.out"
xo_assert_contains "$XO_TMP/imtest-link.out" '^Authentication failed\. generic failure' "imtest: generic failure"
xo_assert_not_contains "$XO_TMP/imtest-link.out" '^C: A01 AUTHENTICATE' "no token sent"
run "the helper refuses to read it (token)" 5 "$H" token "$L"
xo_assert_rc 77 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: $L: refusing the token file: it is a symbolic link; name the file itself$"
[ ! -s "$XO_TMP/out" ] || xo_fail "a token was printed" "$XO_TMP/out"
run "the helper refuses to write through it (refresh --force)" 5 "$H" refresh --force "$L"
xo_assert_rc 77 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: $L: refusing the token file: it is a symbolic link; name the file itself$"
cmp -s "$V" "$XO_TMP/orig" || xo_fail "the symlink's target changed"
[ -L "$L" ] || xo_fail "the symlink was replaced"
[ ! -e "$L.tmp" ] || xo_fail "$L.tmp left behind"
echo "   ok: target byte-for-byte unchanged, the link still a link"

xo_pass
