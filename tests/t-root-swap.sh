#!/bin/bash
# Root refreshing a user's file while the user swaps its directory for a
# symlink to a root-only one, at the moment the token endpoint (theirs to
# time) is asked (issue 16, findings 2, 1 and 6).  Before: root re-resolved
# the directory after the request, wrote daemon.json into the root-only
# directory with members of the user's choosing, then ran the file's
# notify command as root (lstat found root's new file) with root's
# environment.  Now the work is done by a child that is the user, in the
# directory it opened first:
#   - nothing in the root-only directory changes;
#   - the notify command runs as the user (never uid 0);
#   - root's https_proxy password and VAULT_TOKEN do not reach it, nor
#     a root-only file root's caller held open on fd 7 (before: the
#     notify command read it with cat <&7).
. "$(dirname "$0")/lib.sh"

xo_helper_built
[ "$(id -u)" = 0 ] || xo_skip "needs root (refreshes as root for another user)"
xo_require_cmd setpriv
U=54321

xo_start_oauth
chmod 711 "$XO_TMP"
R=$XO_TMP/rootonly
xo_canary "$R"
sum0=$(xo_canary_sum "$R")
H=$XO_TMP/home
xo_user_dir $U "$H"
xo_user_dir $U "$H/store"
xo_user_dir $U "$H/out"
chmod 711 "$H"
F=$H/store/daemon.json
xo_tokfile "$F" alice@example.com -10 \
    "notify=id -u >>$H/out/uid; env >$H/out/env; cat >$H/out/fd7 <&7" planted=yes
chown $U:$U "$F"

xo_step "the user swaps its directory for a symlink to root's while root's refresh waits on the endpoint"
xo_oauth -q fault invalid_grant --count 1 || xo_fail "fault not set"
xo_record_requests "$XO_TMP/bodies" \
    "setpriv --reuid $U --regid $U --clear-groups sh -c 'mv $H/store $H/away && ln -s $R $H/store'"
https_proxy=http://rootuser:root-proxy-pass@proxy.invalid:3128 \
VAULT_TOKEN=s.root-vault-token \
    xo_run_timeout 30 "$XO_HELPER" refresh "$F" >"$XO_TMP/out" 2>"$XO_TMP/err" 7<"$R/secret"
xo_assert_rc 77 "$XO_TMP/err"
[ -L "$H/store" ] || xo_fail "the hook did not swap the directory" "$XO_TMP/err"

[ "$(xo_canary_sum "$R")" = "$sum0" ] || {
    ls -la "$R" >"$XO_TMP/ls"
    xo_fail "root changed the root-only directory for the user" "$XO_TMP/ls"
}
echo "   ok: nothing in $R changed"

[ -s "$H/out/uid" ] || xo_fail "the notify command did not run" "$XO_TMP/err"
! grep -qx 0 "$H/out/uid" || xo_fail "the user's notify command ran as root"
[ "$(sort -u "$H/out/uid")" = $U ] || xo_fail "the notify command ran as $(cat "$H/out/uid")"
echo "   ok: the notify command ran as $U, never as root"

xo_assert_not_contains "$H/out/env" 'root-proxy-pass|root-vault-token|VAULT_TOKEN|https_proxy'
xo_assert_contains "$H/out/env" '^XOAUTH2_EVENT=needs-login$'
[ -e "$H/out/fd7" ] || xo_fail "the notify command did not get to fd 7"
[ ! -s "$H/out/fd7" ] || xo_fail "the user's notify command read root's fd 7" "$H/out/fd7"
echo "   ok: root's proxy password, vault token and open fd 7 did not reach it"

xo_assert_contains "$H/away/daemon.json" '"failure_class": "login"'
[ "$(stat -c %u "$H/away/daemon.json")" = $U ] || xo_fail "the file is no longer $U's"
echo "   ok: the failure was recorded in the directory root opened, as $U"

# The work happens in the file's directory: an argument relative to the
# caller's must still name the same file (the front hands a due refresh
# to the full program; login resolves credential paths).
xo_step "root's token on the user's expired file, named relative to root's directory"
xo_oauth -q hook ""
rm -f "$H/store"
mv "$H/away" "$H/store"
xo_tokfile "$F" alice@example.com -10
chown $U:$U "$F"
cd "$H"
xo_run_timeout 30 "$XO_HELPER" token store/daemon.json >"$XO_TMP/out" 2>"$XO_TMP/err"
cd - >/dev/null
xo_assert_rc 0 "$XO_TMP/err"
grep -qxF "$(xo_token_field "$F" access_token)" "$XO_TMP/out" || xo_fail "not the refreshed token" "$XO_TMP/out"
[ "$(stat -c %u "$F")" = $U ] || xo_fail "the file is no longer $U's"
echo "   ok: refreshed as $U and printed"

xo_step "root's app-only login into the user's directory, credentials named relative"
CID=3f2504e0-4f89-11d3-9a0c-0305e82c3301
xo_user_dir $U "$H/cred"
xo_app_cert "$H/cred" app
chown $U:$U "$H/cred/app.key" "$H/cred/app.crt"
xo_oauth -q app "$CID" --mailbox relay@example.com --cert "$H/cred/app.crt" \
    || xo_fail "cannot register the app"
cd "$H"
xo_run_timeout 30 "$XO_HELPER" login "$H/store/app.json" --provider custom \
    --app-only --client-id "$CID" --user relay@example.com \
    --token-endpoint "$XO_OAUTH_URL/token" --scope https://outlook.office365.com/.default \
    --certificate cred/app.crt --private-key cred/app.key >"$XO_TMP/out" 2>"$XO_TMP/err"
cd - >/dev/null
xo_assert_rc 0 "$XO_TMP/err"
[ "$(xo_token_field "$H/store/app.json" private_key_file)" = "$H/cred/app.key" ] ||
    xo_fail "the key's path is not the one given" "$H/store/app.json"
[ "$(stat -c %u "$H/store/app.json")" = $U ] || xo_fail "the new file is not $U's"
echo "   ok: written as $U, with the paths the caller meant"

xo_step "a SIGTERM to root's refresh reaches the child that is waiting on the endpoint"
xo_tokfile "$F" alice@example.com -10
chown $U:$U "$F"
rm -f "$XO_TMP/asked"
xo_oauth -q fault hang --count 1 || xo_fail "fault not set"
xo_oauth -q hook "echo asked >$XO_TMP/asked" --count 1 || xo_fail "hook not set"
"$XO_HELPER" refresh "$F" >"$XO_TMP/out" 2>"$XO_TMP/err" &
pid=$!
xo_wait_file "$XO_TMP/asked" $pid "the refresh" "$XO_TMP/err"
t0=$EPOCHREALTIME
kill -TERM $pid
rc=0
wait $pid || rc=$?
us=$(( ${EPOCHREALTIME/[.,]/} - ${t0/[.,]/} ))
# It dies of the signal at the end (stop.h), as its caller expects.
[ $rc = 143 ] || xo_fail "exit $rc after SIGTERM, want 143 (killed by it)" "$XO_TMP/err"
[ $us -lt 5000000 ] || xo_fail "took $((us / 1000)) ms to stop"
xo_assert_contains "$XO_TMP/err" "stopped by SIGTERM while waiting for the token endpoint"
echo "   ok: stopped in $((us / 1000)) ms, as the single process did"
xo_pass
