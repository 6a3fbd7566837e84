#!/bin/bash
# Names and values a user controls, shown to whoever reads them (issue
# 16, findings 7 and 8).  A throwaway uid's token store holds
#   - files named a$(touch PWNED).json and a'b.json whose grants are gone:
#     every "run: ..." hint that refresh (plain and through the
#     diagnostics table), status, show and list print, pasted into sh -c
#     as an admin would, runs nothing (no PWNED) and names the account;
#   - files whose names and values hold C1 controls (U+009B CSI as C2 9B,
#     and a raw 0x9b byte): list, show and status print no ESC, no C2 9B,
#     no lone 0x9b; `token` (root's too) prints no access token holding
#     them.
# Root sets the stage; the commands run as the user, but for `token`,
# run as root too (a documented root use).
. "$(dirname "$0")/lib.sh"

xo_require_root
xo_require_helper
U=54331

xo_start_oauth
xo_user_init $U
S=$XO_USER_STORE
N1='a$(touch PWNED)'
N2="a'b"

xo_step "two accounts with hostile names, their grants revoked"
for n in "$N1" "$N2"; do
    xo_tokfile "$S/$n.json" alice@example.com -60
    xo_revoke "$(xo_token_field "$S/$n.json" refresh_token)"
done
chown -R $U:$U "$S"

# run NAME ARGS...: the helper as the user, stdout and stderr into
# $XO_TMP/out-NAME.
run() {
    local name=$1; shift
    xo_as_user $U "$XO_HELPER" "$@" >"$XO_TMP/out-$name" 2>&1
}
# pasted NAME ACCOUNT...: every hint in out-NAME, pasted, ran the stand-in
# with one of the ACCOUNTs, and there was at least one.
pasted() {
    local name=$1 hint arg ok n=0; shift
    xo_paste_hints "$XO_TMP/paste-$name" "$XO_TMP/out-$name"
    while IFS=$'\t' read -r hint arg; do
        n=$((n + 1))
        ok=0
        for a in "$@"; do [ "$arg" = "$a" ] && ok=1; done
        [ $ok = 1 ] || xo_fail "$name: the hint '$hint', pasted, named '$arg', not ${*@Q}" \
            "$XO_TMP/out-$name" "$XO_TMP/paste-$name"
    done <"$XO_TMP/paste-$name"
    [ $n -gt 0 ] || xo_fail "$name: no hint to paste" "$XO_TMP/out-$name"
    [ ! -e "$XO_TMP/paste-dir/PWNED" ] || xo_fail "$name: a pasted hint ran touch PWNED"
    echo "   ok: $name: $n hint(s) pasted, each ran nothing and named the account"
}

xo_step "refresh: the plain 'run: login' hint"
run refresh1 refresh "$N1"
run refresh2 refresh "$N2"
pasted refresh1 "$N1"
pasted refresh2 "$N2"

xo_step "refresh through the diagnostics table (Google's 'expired or revoked')"
xo_oauth fault google_revoked >/dev/null || xo_fail "fault not set"
run diag1 refresh --force "$N1"
run diag2 refresh --force "$N2"
xo_oauth fault none >/dev/null
xo_assert_contains "$XO_TMP/out-diag1" "Google ended the grant" "the diagnostics row matched"
pasted diag1 "$N1"
pasted diag2 "$N2"

xo_step "status, show, list"
run status status -v
run show1 show "$N1"
run show2 show "$N2"
run list list
pasted status "$N1" "$N2"
pasted show1 "$N1"
pasted show2 "$N2"
pasted list "$N1" "$N2"

xo_step "C1 controls in file names and values"
C=$'c\xc2\x9b31m'
R=$'r\x9b31m'
for n in "$C" "$R"; do
    xo_tokfile "$S/$n.json" $'u\xc2\x9b2J@example.com' 3600 \
        failure_class=login failed_at=1700000000 failures=1 \
        'failure="refused \u009b31m red \u009d0;title\u009c"' \
        'scope="imap RAWC1"' 'provider="mock\u0085x"'
done
# A raw 0x9b byte (not UTF-8) in a value, as a hand-edited file may hold.
"$XO_PYTHON" - "$S/$R.json" <<'PY'
import sys
p = sys.argv[1]
d = open(p, "rb").read().replace(b"RAWC1", b"\x9b" b"31m")
open(p, "wb").write(d)
PY
chown -R $U:$U "$S"
run list-c1 list
run show-c show "$C"
run show-r show "$R"
run status-c1 status -v
grep -q . "$XO_TMP/out-list-c1" || xo_fail "list printed nothing"
for f in list-c1 show-c show-r status-c1; do
    xo_assert_no_controls "$XO_TMP/out-$f" "$f"
done
xo_assert_contains "$XO_TMP/out-show-c" "^user: +u\?2J@example.com" "show printed the user, its CSI as '?'"

xo_step "token: an access token holding C1 controls is not printed (as root, too)"
T="$S/t.json"
xo_tokfile "$T" alice@example.com 3600 'access_token="at\u009b2J\u009b31mX"'
chown $U:$U "$T"
xo_run_timeout 10 "$XO_HELPER" token "$T" >"$XO_TMP/out-token" 2>"$XO_TMP/err-token"
xo_assert_rc 65 "$XO_TMP/err-token"
[ ! -s "$XO_TMP/out-token" ] || xo_fail "token printed something" "$XO_TMP/out-token"
xo_assert_contains "$XO_TMP/err-token" "the access token in $T holds control characters"
xo_assert_no_controls "$XO_TMP/err-token" "token's message"
echo "   ok: refused, nothing printed"
xo_pass
