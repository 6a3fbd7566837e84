#!/bin/bash
# The documented uses of root, end to end (issue 16): root acts on files
# others own, and lends them none of its rights.
#   1. root's `refresh --all` over a user's store, while the user swaps the
#      store for a symlink to a root-only directory when the endpoint is
#      asked, and one of the files names a root-only client secret;
#   2. `login --for postfix --app-only` over a file postfix planted (a
#      notify member, a "needs login" record); then with a root-only key;
#   3. `login --for postfix` with the device flow; 3b. with the browser
#      flow: no browser is started as postfix with root's environment
#      (before: $BROWSER ran as postfix with root's VAULT_TOKEN, readable
#      in its /proc/PID/environ by any process of postfix's);
#   4. `postfix ACCOUNT --apply` (root's own file moved into the store);
#   5. the packaged timer's command (ExecStart, as postfix), which postfix's
#      planted notify member must not reach;
#   6. `postfix ACCOUNT --remove`.
# Throughout: nothing in a root-only canary directory changes, no notify
# command of an owner's choosing runs as root (they append `id -u`), and
# the canary's secret never reaches the token endpoint.
. "$(dirname "$0")/lib.sh"

xo_require_postfix
xo_require_cmd setpriv openssl "$XO_PYTHON"
xo_require_helper
xo_require_crypto
unset BROWSER DISPLAY WAYLAND_DISPLAY
U=54321
PF=$(id -u postfix)
MBX=relay@example.com
CID=6f9619ff-8b86-d011-b42d-00c04fc964ff
UNIT=$XO_TOP_SRCDIR/contrib/systemd/xoauth2-token-postfix.service

xo_start_oauth
xo_oauth -q device-config --interval 1 --expires-in 60
chmod 711 "$XO_TMP"
R=$XO_TMP/rootonly
xo_canary "$R"
xo_app_cert "$R" root
sum0=$(xo_canary_sum "$R")
OUT=$XO_TMP/notify-out          # where every notify command appends id -u
mkdir -m 1733 "$OUT"
BODIES=$XO_TMP/bodies
ALL_BODIES=$XO_TMP/all-bodies
: >"$ALL_BODIES"

# checks WHAT: the three promises, after WHAT.
checks() {
    cat "$BODIES" >>"$ALL_BODIES" 2>/dev/null || true
    [ "$(xo_canary_sum "$R")" = "$sum0" ] || {
        ls -la "$R" >"$XO_TMP/ls"
        xo_fail "$1: the root-only directory changed" "$XO_TMP/ls"
    }
    ! cat "$OUT"/* 2>/dev/null | grep -qx 0 || xo_fail "$1: an owner's notify command ran as root"
    ! grep -qF "$XO_CANARY_SECRET" "$ALL_BODIES" || xo_fail "$1: root's secret reached the token endpoint"
    echo "   ok: canary unchanged, no notify as root, no root secret sent"
}

xo_step "1. root's refresh --all over a user's store, the store swapped during the request"
UH=$XO_TMP/uhome
xo_user_dir $U "$UH"
chmod 711 "$UH"
xo_user_dir $U "$UH/data"
xo_user_dir $U "$UH/data/xoauth2"
S=$UH/data/xoauth2
xo_tokfile "$S/a.json" alice@example.com -10 "notify=id -u >>$OUT/user"
xo_oauth -q app "$CID" --mailbox "$MBX" --secret-file "$R/secret" \
    || xo_fail "cannot register the app"
xo_tokfile "$S/b.json" "$MBX" -10 grant=client_credentials client_id=$CID \
    refresh_token= scope=https://outlook.office365.com/.default \
    client_secret_file="$R/secret"
chown $U:$U "$S"/*.json
xo_oauth -q fault invalid_grant --count 1
xo_record_requests "$BODIES" \
    "setpriv --reuid $U --regid $U --clear-groups sh -c 'mv $S $UH/data/away && ln -s $R $S'"
XDG_DATA_HOME=$UH/data xo_run_timeout 60 "$XO_HELPER" refresh --all \
    >"$XO_TMP/o1" 2>"$XO_TMP/e1"
xo_assert_rc nonzero "$XO_TMP/e1"
[ -L "$S" ] || xo_fail "the store was not swapped" "$XO_TMP/e1"
[ "$(cat "$OUT/user" 2>/dev/null)" = $U ] || xo_fail "the user's notify command ran as \"$(cat "$OUT/user" 2>/dev/null)\", want $U" "$XO_TMP/e1"
checks "refresh --all"
rm -f "$S"
mv "$UH/data/away" "$S"

xo_step "2. login --for postfix --app-only over a file postfix planted"
xo_pf_init
XO_SUBMISSION_PORT=2525     # postfix is configured, never started
xo_pf_configure "$MBX" - packaged
xo_pf_app_cert "$CID" "$MBX"
Q=$XO_PF_QUEUE/xoauth2
install -d -o postfix -g postfix -m 700 "$Q"
F=$Q/relay.json
# postfix's plant: a notify member, and a "needs login" record so that
# the login ends an episode (the recovered notice).
xo_tokfile "$F" "$MBX" -10 "notify=id -u >>$OUT/planted" failures=3 \
    failure_class=login failure=planted "failed_at=$(date +%s)"
chown postfix: "$F"
xo_record_requests "$BODIES"
APP=(--provider custom --app-only --client-id "$CID" --user "$MBX"
     --token-endpoint "$XO_OAUTH_URL/token"
     --scope https://outlook.office365.com/.default)
xo_run_timeout 60 "$XO_HELPER" login relay --for postfix --postfix-config "$XO_PF_DIR" \
    --relay "[127.0.0.1]:2525" "${APP[@]}" \
    --certificate "$CRED/relay.crt" --private-key "$CRED/relay.key" \
    >"$XO_TMP/o2" 2>&1
xo_assert_rc 0 "$XO_TMP/o2"
[ "$(stat -c '%a %U' "$F")" = "600 postfix" ] || xo_fail "$F is $(stat -c '%a %U' "$F")"
[ ! -e "$OUT/planted" ] || xo_fail "postfix's planted notify member ran (as $(cat "$OUT/planted"))"
checks "login --for postfix --app-only"

xo_step "2b. ... naming root's key: refused, nothing signed"
xo_record_requests "$BODIES"
xo_run_timeout 60 "$XO_HELPER" login relay --for postfix --postfix-config "$XO_PF_DIR" \
    --relay "[127.0.0.1]:2525" "${APP[@]}" \
    --certificate "$R/root.crt" --private-key "$R/root.key" >"$XO_TMP/o2b" 2>&1
xo_assert_rc nonzero "$XO_TMP/o2b"
! grep -q client_assertion= "$BODIES" || xo_fail "something was signed with root's key" "$BODIES"
checks "login --for postfix with root's key"

xo_step "3. login --for postfix, device flow"
xo_record_requests "$BODIES"
"$XO_HELPER" login dev --for postfix --postfix-config "$XO_PF_DIR" \
    --relay "[127.0.0.1]:2525" --provider custom --client-id xoauth2-test \
    --device-endpoint "$XO_OAUTH_URL/devicecode" --token-endpoint "$XO_OAUTH_URL/token" \
    --scope "https://outlook.office.com/SMTP.Send offline_access" --user bob@example.com \
    --flow device >"$XO_TMP/o3" 2>&1 &
LOGIN_PID=$!
xo_on_exit "kill $LOGIN_PID 2>/dev/null || true"
# login_done FLOW OUT FILE: the background login (LOGIN_PID) exited 0 and
# wrote FILE 0600, owned by postfix.
login_done() {
    local rc=0
    wait "$LOGIN_PID" || rc=$?
    [ $rc = 0 ] || xo_fail "$1 login --for postfix: exit $rc" "$2"
    [ "$(stat -c '%a %U' "$3")" = "600 postfix" ] ||
        xo_fail "${3##*/} is $(stat -c '%a %U' "$3")"
}
device_asked() {
    xo_oauth device-status | "$XO_PYTHON" -c 'import json, sys; sys.exit(not json.load(sys.stdin)["devices"])'
}
xo_poll 20 device_asked || xo_fail "no device code asked" "$XO_TMP/o3"
xo_oauth -q device approve --user bob@example.com
login_done device "$XO_TMP/o3" "$Q/dev.json"
checks "login --for postfix (device)"

xo_step "3b. login --for postfix, browser flow: no browser runs as postfix"
BR=$XO_TMP/browser-out
mkdir -m 1733 "$BR"
printf '#!/bin/sh\nid -u >>%s/uid\nenv >%s/env\n' "$BR" "$BR" >"$XO_TMP/recorder"
chmod 755 "$XO_TMP/recorder"
BROWSER=$XO_TMP/recorder VAULT_TOKEN=s.root-vault-token \
"$XO_HELPER" login web --for postfix --postfix-config "$XO_PF_DIR" \
    --relay "[127.0.0.1]:2525" --provider custom --client-id xoauth2-test \
    --auth-endpoint "$XO_OAUTH_URL/authorize" --token-endpoint "$XO_OAUTH_URL/token" \
    --scope "https://outlook.office.com/SMTP.Send offline_access" --user bob@example.com \
    --flow browser --wait 20 >"$XO_TMP/o3b" 2>&1 &
LOGIN_PID=$!
xo_on_exit "kill $LOGIN_PID 2>/dev/null || true"
# Decided: the browser ran (as whom?), or the helper said it starts none.
browser_decided() {
    [ -s "$BR/uid" ] || grep -q 'no browser is started for another user' "$XO_TMP/o3b"
}
xo_poll 20 browser_decided || xo_fail "neither a browser nor the URL" "$XO_TMP/o3b"
[ ! -e "$BR/uid" ] || xo_fail "a browser ran as uid $(cat "$BR/uid") with root's environment$(grep -q VAULT_TOKEN "$BR/env" && echo ' (VAULT_TOKEN included)')" "$XO_TMP/o3b"
url=$(grep -oE "$XO_OAUTH_URL/authorize\?[^ ]+" "$XO_TMP/o3b" | head -1)
[ -n "$url" ] || xo_fail "no URL printed" "$XO_TMP/o3b"
"$XO_PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10).read()' "$url" \
    || xo_fail "the admin's own browser could not sign in" "$XO_TMP/o3b"
login_done browser "$XO_TMP/o3b" "$Q/web.json"
echo "   ok: the URL was printed for the admin's own browser; none ran as postfix"
checks "login --for postfix (browser)"

xo_step "4. postfix ACCOUNT --apply: root's own file moved into the store"
export XDG_DATA_HOME=$XO_TMP/root-data
mkdir -p -m 700 "$XDG_DATA_HOME/xoauth2"
xo_tokfile "$XDG_DATA_HOME/xoauth2/mv.json" "$MBX" 3600
xo_run_timeout 60 "$XO_HELPER" postfix mv --relay "[127.0.0.1]:2525" --apply \
    --postfix-config "$XO_PF_DIR" >"$XO_TMP/o4" 2>&1
xo_assert_rc 0 "$XO_TMP/o4"
[ "$(stat -c '%a %U' "$Q/mv.json")" = "600 postfix" ] || xo_fail "mv.json is $(stat -c '%a %U' "$Q/mv.json")"
unset XDG_DATA_HOME
checks "postfix --apply"

xo_step "5. the packaged timer's command, as postfix: the planted member does not run"
xo_tokfile "$F" "$MBX" -10 grant=client_credentials client_id=$CID refresh_token= \
    scope=https://outlook.office365.com/.default \
    private_key_file="$CRED/relay.key" certificate_file="$CRED/relay.crt" \
    "notify=id -u >>$OUT/planted"
chown postfix: "$F"
xo_oauth -q fault invalid_grant --count 1
xo_record_requests "$BODIES"
unit_env=$(sed -n 's/^Environment=//p' "$UNIT" | sed "s,/var/spool/postfix,$XO_PF_QUEUE,g")
unit_exec=$(sed -n 's/^ExecStart=//p' "$UNIT" | sed "s,^/usr/bin/xoauth2-token ,$XO_HELPER ,")
[ -n "$unit_env" ] && [ -n "$unit_exec" ] || xo_fail "cannot read $UNIT"
# shellcheck disable=SC2086
xo_run_timeout 60 setpriv --reuid postfix --regid postfix --init-groups \
    env -i PATH=/usr/bin:/bin $unit_env $unit_exec >"$XO_TMP/o5" 2>&1
[ "$XO_RC" = 77 ] || xo_fail "the timer's refresh should need a login (exit 77), not $XO_RC" "$XO_TMP/o5"
[ -s "$BODIES" ] || xo_fail "the timer asked nothing" "$XO_TMP/o5"
[ ! -e "$OUT/planted" ] || xo_fail "postfix's planted notify member ran (as $(cat "$OUT/planted"))" "$XO_TMP/o5"
checks "the timer's command"

xo_step "6. postfix ACCOUNT --remove"
xo_run_timeout 60 "$XO_HELPER" postfix mv --remove --postfix-config "$XO_PF_DIR" \
    >"$XO_TMP/o6" 2>&1
xo_assert_rc 0 "$XO_TMP/o6"
[ ! -e "$Q/mv.json" ] || xo_fail "mv.json is still there"
checks "postfix --remove"
[ "$PF" != 0 ] || xo_fail "postfix is uid 0?"
xo_pass
