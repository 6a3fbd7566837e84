#!/bin/bash
# The front (xoauth2-token) finds the full program (xoauth2-token-full)
# from its own location, /proc/self/exe -- beside itself, then in
# ../libexec/xoauth2/ from its directory, then at the configured path --
# never through PATH, argv[0] or the environment (helper/cmd/front.c).  And it
# execs only a full program that nobody but root (or the user running it)
# can replace: root must never run a program another user could swap.
# Checked here, as root and as nobody, with a token that is due (the
# front hands over, the full program refreshes it at the mock server):
#   - a copy of both programs in a directory of their own;
#   - an install staged with make install DESTDIR=..., then moved (to a
#     path with a space in it);
#   - what is refused, and said: a full program writable by its group, a
#     directory another user owns (root refuses; that user may), one the
#     user cannot enter; and a front alone, whose message names each place
#     it looked (and a decoy on PATH and in argv[0] is not run).
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_helper
xo_require_root
xo_require_cmd setpriv make
FULL=$(dirname "$XO_HELPER")/xoauth2-token-full
[ -x "$FULL" ] || xo_fail "full program not built: $FULL"
id nobody >/dev/null 2>&1 || xo_skip "no user nobody"
umask 022

xo_start_oauth

# Token files: root's and nobody's, each in a directory of its owner's.
mkdir -m 700 "$XO_TMP/root" "$XO_TMP/nobody"
chown nobody: "$XO_TMP/nobody"

have_strace=0
command -v strace >/dev/null && have_strace=1

# due AS FRONT NAME: as user AS (root or nobody), FRONT prints the token
# of a token file that is due; the run's output, errors and (with strace)
# its execve calls are in $XO_TMP/NAME.{out,err,trace}.
due() {
    local as=$1 front=$2 name=$3 f=$XO_TMP/$1/$3.json run=()
    xo_tokfile "$f" alice@example.org -60
    xo_token_field "$f" access_token >"$XO_TMP/$name.old"
    [ "$as" = root ] || { chown nobody: "$f"; run=(setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups); }
    if [ $have_strace = 1 ]; then
        run=(env ${XO_SANITIZERS:+ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0} \
            strace -f -qq -s 4096 -e trace=execve -o "$XO_TMP/$name.trace" "${run[@]}")
    fi
    xo_run_timeout 30 "${run[@]}" "$front" token "$f" >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
}

# ran NAME FULL: the run NAME printed the token the full program FULL
# fetched: one execve of FULL and of no other full program.
ran() {
    local f n
    f=$XO_TMP/$(cat "$XO_TMP/$1.as")/$1.json
    xo_assert_rc 0 "$XO_TMP/$1.err"
    [ -s "$XO_TMP/$1.out" ] && [ "$(cat "$XO_TMP/$1.out")" = "$(xo_token_field "$f" access_token)" ] &&
        [ "$(cat "$XO_TMP/$1.out")" != "$(cat "$XO_TMP/$1.old")" ] \
        || xo_fail "$1: not a refreshed token" "$XO_TMP/$1.out" "$XO_TMP/$1.err"
    if [ $have_strace = 1 ]; then
        n=$(grep -c 'execve("[^"]*/xoauth2-token-full"' "$XO_TMP/$1.trace" || true)
        [ "$n" = 1 ] && grep -qF "execve(\"$2\"" "$XO_TMP/$1.trace" \
            || xo_fail "$1: want one execve of $2" "$XO_TMP/$1.trace"
    fi
    echo "   ok: refreshed and printed by ${2#"$XO_TMP"/}"
}

# runs AS FRONT NAME EXPECTED_FULL: due, then ran.
runs() {
    echo "$1" >"$XO_TMP/$3.as"
    due "$1" "$2" "$3"
    ran "$3" "$4"
}

# refused AS FRONT NAME RC ERE: the run is refused with exit RC and a
# message matching ERE, and no full program runs.
refused() {
    echo "$1" >"$XO_TMP/$3.as"
    due "$1" "$2" "$3"
    xo_assert_rc "$4" "$XO_TMP/$3.err"
    xo_assert_contains "$XO_TMP/$3.err" "$5"
    if [ $have_strace = 1 ] && grep -q 'execve("[^"]*/xoauth2-token-full"' "$XO_TMP/$3.trace"; then
        xo_fail "$3: a full program ran" "$XO_TMP/$3.trace"
    fi
}

# A staged install first: it also tells where the full program is
# configured to live.
xo_step "make install DESTDIR=... (the helper's two programs), then moved"
stage=$XO_TMP/stage
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$XO_TOP_BUILDDIR/helper" \
    install DESTDIR="$stage" >"$XO_TMP/install.out" 2>&1 \
    || xo_fail "make install DESTDIR failed" "$XO_TMP/install.out"
sfront=$(find "$stage" -type f -name xoauth2-token)
sfull=$(find "$stage" -type f -name xoauth2-token-full)
[ -n "$sfront" ] && [ -n "$sfull" ] || xo_fail "make install staged no helper under $stage"
configured=${sfull#"$stage"}
echo "   | staged: ${sfront#"$XO_TMP"/}, ${sfull#"$XO_TMP"/}"
[ "$(dirname "$(dirname "$(dirname "$sfull")")")" = "$(dirname "$(dirname "$sfront")")" ] &&
    [ "$(basename "$(dirname "$sfull")")" = xoauth2 ] &&
    [ "$(basename "$(dirname "$(dirname "$sfull")")")" = libexec ] ||
    xo_skip "configured with a layout other than PREFIX/bin and PREFIX/libexec/xoauth2"
if [ -e "$configured" ] && [ $have_strace = 0 ]; then
    xo_skip "$configured is installed: without strace, which full program ran is unknown"
fi
moved="$XO_TMP/moved tree"
mv "$stage" "$moved"
mfront=$moved${sfront#"$stage"}
mfull=$moved${sfull#"$stage"}
runs root "$mfront" moved-root "$mfull"
runs nobody "$mfront" moved-nobody "$mfull"

xo_step "a copy of both programs, in a directory of their own"
pair=$XO_TMP/pair
mkdir -m 755 "$pair"
cp "$XO_HELPER" "$FULL" "$pair/"
runs root "$pair/xoauth2-token" pair-root "$pair/xoauth2-token-full"
runs nobody "$pair/xoauth2-token" pair-nobody "$pair/xoauth2-token-full"

xo_step "a full program its group may write: refused, as root and as nobody"
chmod g+w "$pair/xoauth2-token-full"
refused root "$pair/xoauth2-token" groupw-root 77 \
    "^xoauth2-token: refusing to run $pair/xoauth2-token-full: $pair/xoauth2-token-full is writable by its group, who could replace the program with one of their own that root would run; run: chmod go-w $pair/xoauth2-token-full$"
refused nobody "$pair/xoauth2-token" groupw-nobody 77 \
    "^xoauth2-token: refusing to run $pair/xoauth2-token-full: $pair/xoauth2-token-full is writable by its group, who could replace the program with one of their own; run: chmod go-w "
chmod g-w "$pair/xoauth2-token-full"

xo_step "a directory nobody owns: root refuses it, nobody may use it"
chown nobody: "$pair"
refused root "$pair/xoauth2-token" owner-root 77 \
    "^xoauth2-token: refusing to run $pair/xoauth2-token-full: $pair belongs to nobody, who could replace the program with one of their own that root would run; install xoauth2-token where only root can change it \(make install\), or run it as nobody$"
runs nobody "$pair/xoauth2-token" owner-nobody "$pair/xoauth2-token-full"
chown root: "$pair"

xo_step "a full program in a directory the user cannot enter: said, not skipped"
chmod 700 "$moved${configured%/xoauth2/*}"
refused nobody "$mfront" closed-nobody 77 \
    "^xoauth2-token: cannot run $mfull: Permission denied; run xoauth2-token from a copy of both programs \(xoauth2-token and xoauth2-token-full\) in a directory that user nobody can enter, or install them \(make install\)$"
chmod 755 "$moved${configured%/xoauth2/*}"

xo_step "the front alone: every place it looked, and no decoy run"
alone=$XO_TMP/alone/bin
mkdir -p "$alone" "$XO_TMP/decoy"
cp "$XO_HELPER" "$alone/"
printf '#!/bin/sh\ntouch %q\nexit 0\n' "$XO_TMP/decoy/ran" >"$XO_TMP/decoy/xoauth2-token-full"
chmod 755 "$XO_TMP/decoy/xoauth2-token-full"
ln -s "$alone/xoauth2-token" "$XO_TMP/decoy/xoauth2-token"
if [ -e "$configured" ]; then
    echo "   ($configured is installed: skipped)"
else
    f=$XO_TMP/root/alone.json
    xo_tokfile "$f" alice@example.org -60
    xo_run_timeout 30 env PATH="$XO_TMP/decoy:$PATH" XOAUTH2_FULL="$XO_TMP/decoy/xoauth2-token-full" \
        bash -c 'exec -a "$0" "$@"' "$XO_TMP/decoy/xoauth2-token" "$alone/xoauth2-token" token "$f" \
        >"$XO_TMP/alone.out" 2>"$XO_TMP/alone.err"
    xo_assert_rc 70 "$XO_TMP/alone.err"
    xo_assert_contains "$XO_TMP/alone.err" \
        "^xoauth2-token: cannot find xoauth2-token-full, the part of xoauth2-token that talks to the network: it is not at $alone/xoauth2-token-full, $XO_TMP/alone/libexec/xoauth2/xoauth2-token-full, $configured; install both programs \(make install\), or keep xoauth2-token-full beside xoauth2-token or in \.\./libexec/xoauth2/xoauth2-token-full from its directory$"
    [ ! -e "$XO_TMP/decoy/ran" ] || xo_fail "the decoy on PATH / in argv[0] ran"
    echo "   ok: the decoy named by PATH and argv[0] did not run"
fi
xo_pass
