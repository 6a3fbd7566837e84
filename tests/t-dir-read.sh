#!/bin/bash
# `token' applies the directory rule refresh applies (issue 16): a valid
# token file in a directory group or others may write (1777 /tmp-style,
# 770) is refused, with the chmod that fixes it, and no token is printed.
# Before, the read path printed it while the write path refused the same
# file.  Also a directory given through a symlink is refused.
. "$(dirname "$0")/lib.sh"

xo_helper_built

xo_start_oauth
for mode in 1777 770; do
    xo_step "token on a valid file in a $mode directory is refused"
    T=$XO_TMP/open$mode
    mkdir "$T"
    chmod $mode "$T"
    xo_tokfile "$T/y.json" bob@example.com 3600
    at=$(xo_token_field "$T/y.json" access_token)
    xo_run_timeout 10 "$XO_HELPER" token "$T/y.json" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc nonzero "$XO_TMP/err"
    ! grep -qF "$at" "$XO_TMP/out" || xo_fail "printed the token from a $mode directory"
    grep -q "its directory $T is writable by group or others.*run: chmod go-w $T\$" "$XO_TMP/err" ||
        xo_fail "no message with the chmod" "$XO_TMP/err"
    chmod go-w "$T"
    xo_run_timeout 10 "$XO_HELPER" token "$T/y.json" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc 0 "$XO_TMP/err"
    grep -qxF "$at" "$XO_TMP/out" || xo_fail "no token after chmod go-w"
    echo "   ok: refused; after chmod go-w it prints the token"
done

xo_step "a directory that is a symbolic link is refused"
mkdir -m 700 "$XO_TMP/real"
xo_tokfile "$XO_TMP/real/z.json" carol@example.com 3600
ln -s real "$XO_TMP/link"
xo_run_timeout 10 "$XO_HELPER" token "$XO_TMP/link/z.json" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc nonzero "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" "its directory $XO_TMP/link is a symbolic link"
[ ! -s "$XO_TMP/out" ] || xo_fail "printed something"
xo_pass
