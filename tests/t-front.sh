#!/bin/bash
# xoauth2-token is two programs (helper/cmd/front.c): the front, run on every
# connection, links only libc and json-c and prints a valid token itself;
# everything that needs the network it hands to xoauth2-token-full by
# exec, in the same process, with the same arguments.  Checked here:
#   - the front's NEEDED libraries are libc and json-c (no libcurl,
#     OpenSSL, libsasl2), the full program's include libcurl;
#   - a valid token: printed with no exec (strace, if installed);
#   - a due token, login, refresh, test and an option only the full
#     program knows: one execve of xoauth2-token-full, same pid, same
#     argv, and the full program's answer.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_helper
FULL=$(dirname "$XO_HELPER")/xoauth2-token-full
[ -x "$FULL" ] || xo_fail "full program not built: $FULL"

xo_step "the front links libc and json-c only"
needed=$(readelf -d "$XO_HELPER" | awk '/NEEDED/ {print $NF}' | tr -d '[]' | tr '\n' ' ')
echo "   | NEEDED: $needed"
for lib in $needed; do
    case $lib in
    libjson-c.so.*|libc.so.*) ;;
    libasan.so.*|libubsan.so.*) [ -n "${XO_SANITIZERS:-}" ] || xo_fail "front links $lib" ;;
    *) xo_fail "the front links $lib: only libc and json-c may load on the token path" ;;
    esac
done
[[ " $needed " == *" libc.so."* ]] || xo_fail "readelf found no libc (bad parse?)"
readelf -d "$FULL" | grep -q 'NEEDED.*libcurl' || xo_fail "the full program does not link libcurl (wrong file?)"
echo "   ok: front: $needed; full: libcurl and the rest"

xo_start_oauth
F=$XO_TMP/acct.json
xo_tokfile "$F" alice@example.org 3600

have_strace=0
command -v strace >/dev/null && have_strace=1
# traced NAME ARGS...: run the helper (under strace -f -e execve when there
# is one); out, err and the exec log in $XO_TMP/NAME.*.
traced() {
    local name=$1; shift
    if [ $have_strace = 1 ]; then
        # LeakSanitizer cannot run in a traced process (it aborts with
        # "LeakSanitizer has encountered a fatal error"): leaks are
        # checked in every other test that runs the helper untraced.
        xo_run_timeout 60 env ${XO_SANITIZERS:+ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0} strace -f -qq -s 4096 -e trace=execve -o "$XO_TMP/$name.trace" \
            "$XO_HELPER" "$@" >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    else
        xo_run_timeout 60 "$XO_HELPER" "$@" >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    fi
}
# As another user than root, strace cannot read the front's memory once it
# has made itself non-dumpable (its first act): an exec's path shows as an
# address.  Then the execve calls after the front's own are counted.
decoded=1
[ "$(id -u)" = 0 ] || decoded=0

# execs NAME N: the run NAME made N execve calls of the full program.
execs() {
    [ $have_strace = 1 ] || return 0
    local n
    if [ $decoded = 1 ]; then
        n=$(grep -c "execve(\"$FULL\"" "$XO_TMP/$1.trace" || true)
    else
        n=$(( $(grep -c 'execve(' "$XO_TMP/$1.trace" || true) - 1 ))
    fi
    [ "$n" = "$2" ] || xo_fail "$1: $n execs of the full program, want $2" "$XO_TMP/$1.trace"
}

xo_step "a valid token: the front prints it, no exec"
traced valid token "$F"
xo_assert_rc 0 "$XO_TMP/valid.err"
[ "$(cat "$XO_TMP/valid.out")" = "$(xo_token_field "$F" access_token)" ] \
    || xo_fail "valid: not the file's token" "$XO_TMP/valid.out"
execs valid 0
echo "   ok"

xo_step "a due token: handed over, refreshed, printed"
xo_token_expire_file "$F"
old=$(xo_token_field "$F" access_token)
traced due token "$F"
xo_assert_rc 0 "$XO_TMP/due.err"
new=$(cat "$XO_TMP/due.out")
[ -n "$new" ] && [ "$new" != "$old" ] && [ "$new" = "$(xo_token_field "$F" access_token)" ] \
    || xo_fail "due: no new token printed" "$XO_TMP/due.out" "$XO_TMP/due.err"
execs due 1
if [ $have_strace = 1 ]; then
    # One process: the exec replaced the front, same pid, same argv.
    [ "$(awk '{print $1}' "$XO_TMP/due.trace" | sort -u | wc -l)" = 1 ] \
        || xo_fail "due: more than one process" "$XO_TMP/due.trace"
    [ $decoded = 0 ] ||
    grep -qF "execve(\"$FULL\", [\"$XO_HELPER\", \"token\", \"$F\"]" "$XO_TMP/due.trace" \
        || xo_fail "due: not the same argv" "$XO_TMP/due.trace"
fi
echo "   ok"

xo_step "refresh, login, test and a full-only option go to the full program"
traced refresh refresh -v "$F"
xo_assert_rc 0 "$XO_TMP/refresh.err"
xo_assert_contains "$XO_TMP/refresh.err" '^xoauth2-token: .*: still valid, not refreshed'
execs refresh 1
traced login login "$XO_TMP/new.json"
xo_assert_rc 64 "$XO_TMP/login.err"
xo_assert_contains "$XO_TMP/login.err" 'which client\? add --client-id ID'
execs login 1
traced test test "$F"
xo_assert_rc 64 "$XO_TMP/test.err"
xo_assert_contains "$XO_TMP/test.err" 'test: which server\?'
execs test 1
traced opt token --provider google "$F"
xo_assert_rc 64 "$XO_TMP/opt.err"
xo_assert_contains "$XO_TMP/opt.err" '^xoauth2-token: token: option --provider does not apply here$'
execs opt 1
echo "   ok"

xo_step "show, list and logout stay in the front"
traced show show "$F"
xo_assert_rc 0 "$XO_TMP/show.err"
xo_assert_contains "$XO_TMP/show.out" '^user: +alice@example\.org$'
execs show 0
echo "   ok"
xo_pass
