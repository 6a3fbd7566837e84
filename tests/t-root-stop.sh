#!/bin/bash
# Root refreshing users' files, one child per file that has become the
# file's owner (become.h): what may the owner do to that child?
#   - read its memory or environment (root's proxy password, other
#     files' tokens): no, it is not dumpable;
#   - SIGSTOP it, at the moment its token endpoint (theirs to time) is
#     asked: before, root waited for it for ever (cron's `refresh --all`
#     and every file after theirs hung); now root kills a stopped child,
#     says so, and goes on with the next file;
#   - SIGTSTP (job control's stop): ignored by the child;
#   - read root's session keyring (keys an ssh login holds) from their
#     notify command: before, the child kept root's session keyring,
#     which setuid does not change, and its possessor could read it.
. "$(dirname "$0")/lib.sh"

xo_helper_built
[ "$(id -u)" = 0 ] || xo_skip "needs root (refreshes as root for another user)"
xo_require_cmd setpriv
xo_require_cmd pgrep
U=54321
V=54322

xo_start_oauth
chmod 711 "$XO_TMP"
xo_user_dir $U "$XO_TMP/u"
xo_user_dir $U "$XO_TMP/out"
xo_user_dir $V "$XO_TMP/v"
FU=$XO_TMP/u/stop.json
FV=$XO_TMP/v/next.json

# plant: both files expired, U's first.
plant() {
    xo_tokfile "$FU" alice@example.com -10
    chown $U:$U "$FU"
    xo_tokfile "$FV" bob@example.com -10
    chown $V:$V "$FV"
}

# as_u SIG: the hook, as $U: find $U's helper process (the child at work;
# nothing else runs as this throwaway uid), try to read its environment,
# then send it SIG.
as_u() {
    printf "setpriv --reuid %s --regid %s --clear-groups sh -c 'p=\$(pgrep -u %s -x \"xoauth2-token.*\"); echo \$p >%s/pid; cat /proc/\$p/environ >%s/environ 2>%s/environ.err; kill -%s \$p'" \
        $U $U $U "$XO_TMP/out" "$XO_TMP/out" "$XO_TMP/out" "$1"
}

xo_step "the owner SIGSTOPs root's child while its endpoint is asked"
plant
# --jobs 1: one file after the other, so that the hook's first request is
# $FU's (several at once: t-refresh-jobs.sh).
xo_record_requests "$XO_TMP/bodies" "$(as_u STOP)"
VAULT_TOKEN=s.root-vault-token xo_run_timeout 30 "$XO_HELPER" refresh --jobs 1 "$FU" "$FV" >"$XO_TMP/o" 2>"$XO_TMP/e"
[ -s "$XO_TMP/out/pid" ] || xo_fail "the hook found no process of $U's" "$XO_TMP/e"
xo_assert_rc 75 "$XO_TMP/e"
xo_assert_contains "$XO_TMP/e" "the process working on $FU as uid $U was stopped from outside .*, by that user or root; killed it: $FU is not done, try again\$"
echo "   ok: root killed the stopped child and said so"
[ "$(stat -c %u "$FV")" = $V ] || xo_fail "$FV is no longer $V's"
xo_assert_not_contains "$FV" '"failure'
[ "$(xo_token_field "$FV" expires_at)" -gt "$(date +%s)" ] || xo_fail "the next file was not refreshed" "$XO_TMP/e"
echo "   ok: the next file was refreshed"
[ ! -s "$XO_TMP/out/environ" ] || xo_fail "$U read the child's environment" "$XO_TMP/out/environ"
xo_assert_contains "$XO_TMP/out/environ.err" "Permission denied"
echo "   ok: $U could not read the child's environment (not dumpable)"

xo_step "SIGTSTP (job control) does not stop the child"
plant
rm -f "$XO_TMP/out/pid"
xo_record_requests "$XO_TMP/bodies" "$(as_u TSTP)"
xo_run_timeout 30 "$XO_HELPER" refresh --jobs 1 "$FU" "$FV" >"$XO_TMP/o" 2>"$XO_TMP/e"
[ -s "$XO_TMP/out/pid" ] || xo_fail "the hook found no process of $U's" "$XO_TMP/e"
xo_assert_rc 0 "$XO_TMP/e"
[ "$(xo_token_field "$FU" expires_at)" -gt "$(date +%s)" ] || xo_fail "$FU was not refreshed" "$XO_TMP/e"
echo "   ok: both refreshed"

xo_step "root's session keyring does not reach the owner's notify command"
# Root's session (an ssh login's: Kerberos tickets, disk keys) holds a key;
# the helper runs in a session keyring of the test's own, made here.
cat >"$XO_TMP/keyadd.py" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
SYS_add_key, SYS_keyctl, JOIN_SESSION_KEYRING = 248, 250, 1
assert libc.syscall(SYS_keyctl, JOIN_SESSION_KEYRING, None) >= 0, "keyctl"
secret = sys.argv[1].encode()
assert libc.syscall(SYS_add_key, b"user", b"xo-canary", secret, len(secret),
                    ctypes.c_long(-3)) >= 0, "add_key"
os.execvp(sys.argv[2], sys.argv[2:])
PY
cat >"$XO_TMP/keyread.py" <<'PY'
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
SYS_keyctl, SEARCH, READ = 250, 10, 11
k = libc.syscall(SYS_keyctl, SEARCH, ctypes.c_long(-3), b"user", b"xo-canary", 0)
buf = ctypes.create_string_buffer(256)
n = libc.syscall(SYS_keyctl, READ, k, buf, 256) if k >= 0 else -1
print(buf.raw[:n].decode() if n > 0 else "no key (%d)" % ctypes.get_errno())
PY
chmod 644 "$XO_TMP/keyread.py"
if [ "$(uname -m)" != x86_64 ]; then
    echo "   skipped: the key syscalls' numbers here are x86_64's"
    xo_pass
fi
xo_tokfile "$FU" alice@example.com -10 \
    "notify=$XO_PYTHON $XO_TMP/keyread.py >$XO_TMP/out/key 2>&1"
chown $U:$U "$FU"
xo_oauth -q hook ""
xo_oauth -q fault invalid_grant --count 1
KEY=root-session-key-$RANDOM$RANDOM
xo_run_timeout 30 "$XO_PYTHON" "$XO_TMP/keyadd.py" "$KEY" "$XO_HELPER" refresh "$FU" \
    >"$XO_TMP/o" 2>"$XO_TMP/e"
xo_assert_rc 77 "$XO_TMP/e"
[ -s "$XO_TMP/out/key" ] || xo_fail "the notify command did not run" "$XO_TMP/e"
! grep -qF "$KEY" "$XO_TMP/out/key" || xo_fail "the user's notify command read root's session key" "$XO_TMP/out/key"
xo_assert_contains "$XO_TMP/out/key" "^no key"
echo "   ok: $(cat "$XO_TMP/out/key")"
xo_pass
