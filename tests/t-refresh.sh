#!/bin/bash
# xoauth2-token refresh and token against the mock OAuth server (whose
# refresh tokens are single-use and rotated):
#   - a rotated refresh token is stored, and the old one is dead;
#   - `token` refreshes only when the access token is due;
#   - `refresh` without --force leaves a valid token alone, --all walks
#     the store, unknown members survive a rewrite;
#   - `show` prints no secret, and neither does anything else.
. "$(dirname "$0")/lib.sh"

xo_helper_built --private-store

# mk_tokfile FILE USER EXPIRES_IN: a token file with an unknown member,
# which every rewrite must keep.
mk_tokfile() { xo_tokfile "$1" "$2" "$3" 'x-note={"kept": [1, "two"]}'; }

# field FILE MEMBER: print one member of a token file.
field() {
    "$XO_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"
}

# refreshes: the server's count of successful refreshes.
refreshes() {
    xo_oauth_stat refreshes
}

# server_accepts RT_FILE: try the refresh token stored in RT_FILE at the
# server directly (it is consumed if valid); prints the HTTP status.
server_accepts() {
    "$XO_PYTHON" - "$XO_OAUTH_URL/token" "$1" <<'EOF'
import sys, urllib.error, urllib.parse, urllib.request
url, rtfile = sys.argv[1:]
body = urllib.parse.urlencode({"grant_type": "refresh_token",
    "client_id": "xoauth2-test", "refresh_token": open(rtfile).read().strip()})
try:
    with urllib.request.urlopen(url, body.encode(), timeout=10) as r:
        print(r.status)
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
EOF
}

xo_start_oauth
F=$XO_TMP/work.json
mk_tokfile "$F" alice@example.com -10
field "$F" refresh_token >"$XO_TMP/rt0"
field "$F" access_token >"$XO_TMP/at0"

xo_step "token on an expired token refreshes once and prints only the new token"
xo_run_timeout 20 "$XO_HELPER" token "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ "$(wc -l <"$XO_TMP/out")" = 1 ] || xo_fail "stdout is not one line" "$XO_TMP/out"
[ ! -s "$XO_TMP/err" ] || xo_fail "stderr not empty" "$XO_TMP/err"
grep -Eqx 'xoat\.[A-Za-z0-9_-]+' "$XO_TMP/out" || xo_fail "stdout is not a token" "$XO_TMP/out"
cmp -s "$XO_TMP/out" "$XO_TMP/at0" && xo_fail "printed the old, expired token"
[ "$(refreshes)" = 1 ] || xo_fail "server saw $(refreshes) refreshes, want 1"
echo "   ok: new token printed, 1 refresh"

xo_step "the rotated refresh token is stored; the old one is dead at the server"
field "$F" refresh_token >"$XO_TMP/rt1"
field "$F" access_token >"$XO_TMP/at1"
cmp -s "$XO_TMP/at1" "$XO_TMP/out" || xo_fail "stored access token differs from the printed one"
cmp -s "$XO_TMP/rt0" "$XO_TMP/rt1" && xo_fail "refresh token not rotated in the file"
now=$(date +%s)
exp=$(field "$F" expires_at) ref=$(field "$F" refreshed_at)
[ $((exp - now)) -ge 3590 ] && [ $((exp - now)) -le 3600 ] \
    || xo_fail "expires_at is now+$((exp - now)), want about now+3600"
[ $((now - ref)) -ge 0 ] && [ $((now - ref)) -le 5 ] || xo_fail "refreshed_at is $ref, now $now"
[ "$(stat -c %a "$F")" = 600 ] || xo_fail "mode $(stat -c %a "$F") after rewrite"
[ "$(field "$F" x-note)" = "{'kept': [1, 'two']}" ] || xo_fail "unknown member lost: $(field "$F" x-note)"
[ ! -e "$F.tmp" ] || xo_fail "temporary file left behind"
server_accepts "$XO_TMP/rt0" >"$XO_TMP/old"
xo_assert_contains "$XO_TMP/old" '^400 .*invalid_grant' "old refresh token refused (400 invalid_grant)"

xo_step "token with a valid token does not refresh"
for i in 1 2 3; do
    xo_run_timeout 20 "$XO_HELPER" token "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc 0 "$XO_TMP/err"
    cmp -s "$XO_TMP/out" "$XO_TMP/at1" || xo_fail "token changed without need"
done
[ "$(refreshes)" = 1 ] || xo_fail "server saw $(refreshes) refreshes, want still 1"
echo "   ok: same token three times, still 1 refresh"

xo_step "token --margin larger than the lifetime refreshes"
xo_run_timeout 20 "$XO_HELPER" token --margin 4000 "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
cmp -s "$XO_TMP/out" "$XO_TMP/at1" && xo_fail "--margin 4000 did not refresh"
[ "$(refreshes)" = 2 ] || xo_fail "server saw $(refreshes) refreshes, want 2"
echo "   ok: refreshed (2 refreshes)"

xo_step "refresh leaves a valid token alone; --force refreshes it"
cp "$F" "$XO_TMP/before"
xo_run_timeout 20 "$XO_HELPER" refresh "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ ! -s "$XO_TMP/out" ] && [ ! -s "$XO_TMP/err" ] || xo_fail "refresh is not quiet" "$XO_TMP/out" "$XO_TMP/err"
cmp -s "$F" "$XO_TMP/before" || xo_fail "refresh rewrote a valid token"
xo_run_timeout 20 "$XO_HELPER" refresh -v --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: $F: refreshed; access token valid until .* \(in (59|60) min\)$"
[ "$(refreshes)" = 3 ] || xo_fail "server saw $(refreshes) refreshes, want 3"

xo_step "accounts in the store; refresh --all"
mkdir -p "$XDG_DATA_HOME/xoauth2"
mk_tokfile "$XDG_DATA_HOME/xoauth2/due.json" bob@example.com 100
mk_tokfile "$XDG_DATA_HOME/xoauth2/fresh.json" carol@example.com 3000
mkdir "$XDG_DATA_HOME/xoauth2/odd.json"      # not a file: skipped by --all
cp "$XDG_DATA_HOME/xoauth2/fresh.json" "$XO_TMP/fresh.before"
xo_run_timeout 20 "$XO_HELPER" refresh --all -v >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
xo_assert_contains "$XO_TMP/err" '^xoauth2-token: due: refreshed'
xo_assert_contains "$XO_TMP/err" '^xoauth2-token: fresh: still valid, not refreshed'
cmp -s "$XDG_DATA_HOME/xoauth2/fresh.json" "$XO_TMP/fresh.before" || xo_fail "--all rewrote a valid token"
[ "$(refreshes)" = 4 ] || xo_fail "server saw $(refreshes) refreshes, want 4"
xo_run_timeout 20 "$XO_HELPER" token due >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ "$(cat "$XO_TMP/out")" = "$(field "$XDG_DATA_HOME/xoauth2/due.json" access_token)" ] \
    || xo_fail "token ACCOUNT did not print the account's token"
xo_run_timeout 20 "$XO_HELPER" token nobody >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 66
xo_assert_contains "$XO_TMP/err" "^xoauth2-token: nobody: no token file $XDG_DATA_HOME/xoauth2/nobody.json; run: xoauth2-token login nobody$"
xo_run_timeout 20 "$XO_HELPER" token work.json >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 64
xo_assert_contains "$XO_TMP/err" 'write \./NAME\.json'

xo_step "show: everything but the secrets"
xo_run_timeout 20 "$XO_HELPER" show "$F" >"$XO_TMP/show" 2>&1
xo_assert_rc 0 "$XO_TMP/show"
cat "$XO_TMP/show" | sed 's/^/   | /'
xo_assert_contains "$XO_TMP/show" '^user: +alice@example\.com$'
xo_assert_contains "$XO_TMP/show" "^token endpoint: +$XO_OAUTH_URL/token$"
xo_assert_contains "$XO_TMP/show" '^scope: +https://outlook\.office\.com/IMAP\.AccessAsUser\.All offline_access$'
xo_assert_contains "$XO_TMP/show" '^access token: +expires [0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} .* \(in (59|60) min\)$'
xo_assert_contains "$XO_TMP/show" '^last refresh: +[0-9]{4}-.* \([0-9]+ s ago\)$'
mk_tokfile "$XO_TMP/old.json" dave@example.com -7300
xo_run_timeout 20 "$XO_HELPER" show "$XO_TMP/old.json" >>"$XO_TMP/show" 2>&1
xo_assert_rc 0 "$XO_TMP/show"
xo_assert_contains "$XO_TMP/show" '^access token: +expired .* \(2 h ago\)$'
xo_assert_contains "$XO_TMP/show" '^last refresh: +never$'

xo_step "no secret in any output"
# Every token the server issued so far, old and new, from the files.
for f in "$F" "$XDG_DATA_HOME"/xoauth2/*.json "$XO_TMP/old.json"; do
    [ -f "$f" ] || continue
    field "$f" access_token; field "$f" refresh_token
done >"$XO_TMP/secrets"
cat "$XO_TMP/rt0" "$XO_TMP/rt1" "$XO_TMP/at0" >>"$XO_TMP/secrets"
"$XO_HELPER" refresh -v --force "$F" 2>>"$XO_TMP/show" >>"$XO_TMP/show"
"$XO_HELPER" show due >>"$XO_TMP/show" 2>&1
if grep -F -f "$XO_TMP/secrets" "$XO_TMP/show" >/dev/null; then
    xo_fail "a token appears in the output of show/refresh"
fi
grep -q 'client secret: *(none)' "$XO_TMP/show" || xo_fail "show does not report the client secret state"
echo "   ok: $(wc -l <"$XO_TMP/secrets") tokens, none in $(wc -l <"$XO_TMP/show") lines of output"

xo_step "a provider that does not rotate: the old refresh token is kept"
N=$XO_TMP/norotate.json
mk_tokfile "$N" erin@example.com -10
rt_before=$(field "$N" refresh_token)
xo_oauth -q fault norotate --count 1
xo_run_timeout 20 "$XO_HELPER" token "$N" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ "$(field "$N" refresh_token)" = "$rt_before" ] || xo_fail "the refresh token changed although none was returned"
[ "$(field "$N" access_token)" = "$(cat "$XO_TMP/out")" ] || xo_fail "the new access token was not stored"
xo_run_timeout 20 "$XO_HELPER" refresh --force "$N" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ "$(field "$N" refresh_token)" != "$rt_before" ] || xo_fail "the kept refresh token did not work (or was not rotated after)"
echo "   ok: kept, and it still works at the server"

xo_step "timing: token with a valid token (whole process)"
n=200
t0=$EPOCHREALTIME
for ((i = 0; i < n; i++)); do "$XO_HELPER" token "$F" >/dev/null || xo_fail "token failed"; done
us=$(( ${EPOCHREALTIME/[.,]/} - ${t0/[.,]/} ))
echo "   $n runs: $((us / n)) us per run"

xo_pass
