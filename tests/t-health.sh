#!/bin/bash
# A token file's health, status and the notify command (issue 13 item 3),
# with the real helper against the mock OAuth server:
#   - a healthy file: status OK (exit 0), no notification;
#   - the endpoint fails (500): the failure is recorded (class temporary,
#     1 in a row), the tokens untouched, status WARNING (1), no mail;
#   - the grant dies (invalid_grant) under 50 refreshers at once: the
#     endpoint is asked once, the file says "needs login", status
#     CRITICAL (2) with the fix command, list says so, and the shipped
#     contrib/notify/notify-mail sends exactly one mail (through a
#     sendmail that records what it is given) naming the account, the
#     reason and the command to run -- and no secret; a later failure of
#     the same episode sends none;
#   - the grant works again under 50 refreshers: one "works again" mail,
#     status OK;
#   - a notify command that hangs is stopped within its time limit;
#   - root refreshing a file someone else owns runs its notify command as
#     that owner (the owner wrote the command);
#   - an app-only file (`login --app-only ... --notify CMD`): the server
#     refuses its client secret (AADSTS7000222, expired) under 50
#     refreshers: "needs login", one mail whose fix is the app-only login
#     (status, list and show say the same); a temporary failure sends
#     none; a new secret in the file: one "works again" mail; refused
#     again (7000215), a new `login --app-only` (notify kept) ends the
#     episode with one mail.  No client secret reaches a mail or the
#     notify command's environment.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_helper
xo_require_cmd "$XO_PYTHON"

N=${XO_HEALTH_HERD:-50}
USER=alice@example.com
H=$XO_HELPER
xo_private_store
mkdir -p "$XO_STORE"
chmod 700 "$XO_STORE"
F=$XO_STORE/work.json
MAIL=$XO_TMP/mail.log

xo_start_oauth

# A sendmail that records its arguments, its input and its environment.
cat >"$XO_TMP/sendmail" <<EOF
#!/bin/sh
{ echo "ARGS: \$*"; cat; echo "=== END"; } >>"$MAIL"
env >>"$XO_TMP/notify-env"
EOF
chmod 755 "$XO_TMP/sendmail"
NOTIFY="SENDMAIL=$(xo_shq "$XO_TMP/sendmail" "$XO_TOP_SRCDIR/contrib/notify/notify-mail") root"

mails() { [ -f "$MAIL" ] && grep -c "^=== END" "$MAIL" || echo 0; }
field() { xo_token_field "$F" "$1"; }

# herd [ACCOUNT]: N `refresh ACCOUNT` (work) at once, outputs in
# $XO_TMP/herd.N.
herd() {
    local i pids=() account=${1:-work}
    for ((i = 0; i < N; i++)); do
        ( rc=0; "$H" refresh "$account" >"$XO_TMP/herd.$i" 2>&1 || rc=$?
          echo "$rc" >"$XO_TMP/herd.$i.rc" ) &
        pids+=($!)
    done
    wait "${pids[@]}"
}

xo_step "a healthy file: status OK, exit 0"
xo_tokfile "$F" "$USER" 3600 account=work
"$XO_PYTHON" - "$F" "$NOTIFY" <<'PY'
import json, sys
p, cmd = sys.argv[1:]
t = json.load(open(p)); t["notify"] = cmd
open(p, "w").write(json.dumps(t))
PY
xo_run_timeout 10 "$H" status >"$XO_TMP/status.out" 2>&1
xo_assert_rc 0 "$XO_TMP/status.out"
xo_assert_contains "$XO_TMP/status.out" '^XOAUTH2 OK - 1 account ok$'

xo_step "the token endpoint fails (500): recorded as temporary, status WARNING"
xo_token_expire_file "$F" -60
at=$(field access_token); rt=$(field refresh_token)
xo_oauth -q fault 500
xo_run_timeout 30 "$H" refresh work >"$XO_TMP/r500.out" 2>&1
xo_assert_rc 75 "$XO_TMP/r500.out"
[ "$(field failure_class)" = temporary ] || xo_fail "failure_class is '$(field failure_class)'" "$F"
[ "$(field failures)" = 1 ] || xo_fail "failures is '$(field failures)'" "$F"
[ -n "$(field failed_at)" ] || xo_fail "no failed_at" "$F"
[ "$(field access_token)" = "$at" ] && [ "$(field refresh_token)" = "$rt" ] \
    || xo_fail "a failed refresh changed the tokens"
echo "   ok: failed_at, failures 1, class temporary recorded; tokens untouched"
xo_run_timeout 10 "$H" status >"$XO_TMP/status.out" 2>&1
xo_assert_rc 1 "$XO_TMP/status.out"
xo_assert_contains "$XO_TMP/status.out" '^XOAUTH2 WARNING - work: refresh failing \(1 times'
[ "$(mails)" = 0 ] || xo_fail "a temporary failure sent mail" "$MAIL"
echo "   ok: no notification for a temporary failure"

xo_step "the grant dies under $N refreshers at once: one request, one mail"
xo_oauth -q fault invalid_grant
before=$(xo_oauth_stat token_requests)
sleep 1      # the 500 above is from an earlier second than the herd starts
herd
asked=$(( $(xo_oauth_stat token_requests) - before ))
for ((i = 0; i < N; i++)); do
    [ "$(cat "$XO_TMP/herd.$i.rc")" = 77 ] || xo_fail "refresher $i exited $(cat "$XO_TMP/herd.$i.rc")" "$XO_TMP/herd.$i"
done
echo "   ok: all $N refreshers exited 77 (log in again)"
# Those that waited for the lock behind a failure say so instead of
# asking again; those that started after it ask (as a new run would).
spared=$(grep -l 'another refresh, a moment ago' "$XO_TMP"/herd.[0-9]* | wc -l)
[ $((asked + spared)) = "$N" ] && [ "$spared" -gt 0 ] \
    || xo_fail "$asked refreshers asked the token endpoint and $spared were spared, of $N"
echo "   ok: $asked of $N refreshers asked the token endpoint; $spared waited behind a failure and did not"
[ "$(field failure_class)" = login ] || xo_fail "failure_class is '$(field failure_class)'" "$F"
[ "$(mails)" = 1 ] || xo_fail "$(mails) mails for one episode, want 1" "$MAIL"
echo "   ok: exactly one notification"
xo_assert_contains "$MAIL" '^ARGS: -oi -- root$' "sendmail got -oi -- root"
xo_assert_contains "$MAIL" '^To: root$'
xo_assert_contains "$MAIL" '^Subject: xoauth2: work \(alice@example.com\) on .* needs a new login$'
xo_assert_contains "$MAIL" 'invalid_grant' "the reason"
xo_assert_contains "$MAIL" "^  xoauth2-token login work --provider custom --token-endpoint $XO_OAUTH_URL/token --client-id xoauth2-test --user alice@example.com\$" "the exact fix"
xo_assert_contains "$XO_TMP/notify-env" '^XOAUTH2_EVENT=needs-login$'
xo_assert_contains "$XO_TMP/notify-env" "^XOAUTH2_FILE=$F\$"

xo_run_timeout 10 "$H" status >"$XO_TMP/status.out" 2>&1
xo_assert_rc 2 "$XO_TMP/status.out"
xo_assert_contains "$XO_TMP/status.out" '^XOAUTH2 CRITICAL - work: needs login \(refresh refused .*invalid_grant.*\); run: xoauth2-token login work --provider custom'
[ "$(wc -l <"$XO_TMP/status.out")" = 1 ] || xo_fail "status printed more than one line" "$XO_TMP/status.out"
xo_run_timeout 10 "$H" list >"$XO_TMP/list.out" 2>&1
xo_assert_rc 0 "$XO_TMP/list.out"
xo_assert_contains "$XO_TMP/list.out" '^work .*needs login'
xo_run_timeout 10 "$H" show work >"$XO_TMP/show.out" 2>&1
xo_assert_contains "$XO_TMP/show.out" '^to fix, run: +xoauth2-token login work '

xo_step "the same episode fails again later: no second mail"
sleep 1
xo_run_timeout 30 "$H" refresh work >"$XO_TMP/again.out" 2>&1
xo_assert_rc 77 "$XO_TMP/again.out"
[ "$(field failures)" -ge 2 ] || xo_fail "failures did not grow" "$F"
[ "$(mails)" = 1 ] || xo_fail "a second mail for the same episode" "$MAIL"
echo "   ok: $(field failures) failures in a row, still one mail"

xo_step "the grant works again under $N refreshers: one 'works again' mail"
xo_oauth -q fault none
herd
for ((i = 0; i < N; i++)); do
    [ "$(cat "$XO_TMP/herd.$i.rc")" = 0 ] || xo_fail "refresher $i exited $(cat "$XO_TMP/herd.$i.rc")" "$XO_TMP/herd.$i"
done
[ "$(mails)" = 2 ] || xo_fail "$(mails) mails, want 2" "$MAIL"
xo_assert_contains "$MAIL" '^Subject: xoauth2: work \(alice@example.com\) on .* works again$'
[ "$(field failures)" = "" ] || xo_fail "failures not reset: $(field failures)" "$F"
xo_run_timeout 10 "$H" status work >"$XO_TMP/status.out" 2>&1
xo_assert_rc 0 "$XO_TMP/status.out"

xo_step "no secret reached the notify command or its mail"
for s in "$at" "$rt" "$(field access_token)" "$(field refresh_token)"; do
    ! grep -qF -- "$s" "$MAIL" "$XO_TMP/notify-env" || xo_fail "a token reached the notification"
done
echo "   ok: no token in the mails nor in the notify command's environment"

xo_step "a notify command that hangs is stopped (XOAUTH2_NOTIFY_TIMEOUT=2)"
# A duration no other process on the machine uses, to find it again.
hang="sleep 300.$$"
xo_run_timeout 10 "$H" set work --notify "exec $hang" >"$XO_TMP/set.out" 2>&1
xo_assert_rc 0 "$XO_TMP/set.out"
xo_token_expire_file "$F" -60
xo_oauth -q fault invalid_grant
XOAUTH2_NOTIFY_TIMEOUT=2 xo_run_timeout 30 "$H" refresh work >"$XO_TMP/hang.out" 2>&1
xo_assert_rc 77 "$XO_TMP/hang.out"
xo_assert_contains "$XO_TMP/hang.out" 'the notify command did not finish within 2 s and was stopped'
xo_assert_faster_than 10 "$XO_TMP/hang.out"
! pgrep -fx "$hang" >/dev/null || xo_fail "the hanging notify command is still running"
echo "   ok: no notify command left running"

if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    xo_step "root refreshing a file owned by nobody: the notify command runs as nobody"
    mkdir -m 1777 "$XO_TMP/drop"
    xo_run_timeout 10 "$H" set work --notify "id -un >$XO_TMP/drop/who; env >$XO_TMP/drop/env" \
        >"$XO_TMP/set.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/set.out"
    xo_oauth -q fault none
    xo_run_timeout 30 "$H" refresh --force work >"$XO_TMP/ok.out" 2>&1   # ends the episode
    xo_assert_rc 0 "$XO_TMP/ok.out"
    rm -f "$XO_TMP/drop/who" "$XO_TMP/drop/env"    # the recovery's, as root
    # nobody's file in nobody's directory (root acts as the owner there:
    # become.h; a directory only root may write is root's to work in).
    chown nobody "$F" "$(dirname "$F")"
    [ ! -e "$F.lock" ] || chown nobody "$F.lock"
    xo_token_expire_file "$F" -60
    xo_oauth -q fault invalid_grant
    xo_run_timeout 30 "$H" refresh work >"$XO_TMP/drop.out" 2>&1
    xo_assert_rc 77 "$XO_TMP/drop.out"
    [ "$(cat "$XO_TMP/drop/who" 2>/dev/null)" = nobody ] \
        || xo_fail "the notify command ran as '$(cat "$XO_TMP/drop/who" 2>/dev/null)', want nobody" "$XO_TMP/drop.out"
    [ "$(stat -c %U "$F")" = nobody ] || xo_fail "the file is no longer nobody's"
    xo_assert_contains "$XO_TMP/drop/env" '^XOAUTH2_EVENT=needs-login$'
    echo "   ok: run as the file's owner (nobody), not as root; the file stays nobody's"
    chown root "$F" "$F.lock" "$(dirname "$F")"
fi

if "$XO_PYTHON" -c 'import cryptography' 2>/dev/null; then
    xo_step "app-only: login --app-only --notify stores the command; status OK"
    CID=3f2504e0-4f89-11d3-9a0c-0305e82c3301
    MBX=relay@example.com
    D=$XO_TMP/creds
    mkdir -m 700 "$D"
    xo_app_secret "$D/secret" "$CID" "$MBX"
    SECRETS=("$(head -1 "$D/secret")")
    APP=("${XO_APP_OPTS[@]}")
    FA=$XO_STORE/relay.json
    rm -f "$MAIL" "$XO_TMP/notify-env"
    xo_oauth -q fault none
    xo_run_timeout 30 "$H" login relay "${APP[@]}" --client-secret-file "$D/secret" \
        --notify "$NOTIFY" >"$XO_TMP/app-login.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/app-login.out"
    [ "$(xo_token_field "$FA" notify)" = "$NOTIFY" ] || xo_fail "--notify was not stored" "$FA"
    [ "$(mails)" = 0 ] || xo_fail "a first login sent mail" "$MAIL"
    xo_run_timeout 10 "$H" status relay >"$XO_TMP/status.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/status.out"
    xo_assert_contains "$XO_TMP/status.out" '^XOAUTH2 OK - 1 account ok$'
    FIX="xoauth2-token login relay --app-only --provider custom --token-endpoint $XO_OAUTH_URL/token --scope https://outlook.office365.com/.default --client-id $CID --client-secret-file $D/secret --user $MBX"

    xo_step "app-only: the client secret expires (AADSTS7000222) under $N refreshers: needs login, one mail"
    xo_oauth -q app "$CID" --mailbox "$MBX" --secret-file "$D/secret" --expired-secret
    xo_token_expire_file "$FA" -60
    herd relay
    asked=0
    for ((i = 0; i < N; i++)); do
        rc=$(cat "$XO_TMP/herd.$i.rc")
        if grep -q 'another refresh, a moment ago' "$XO_TMP/herd.$i"; then
            [ "$rc" = 77 ] || xo_fail "spared refresher $i exited $rc" "$XO_TMP/herd.$i"
        else
            asked=$((asked + 1))
            [ "$rc" = 78 ] || xo_fail "refresher $i exited $rc" "$XO_TMP/herd.$i"
            xo_assert_contains "$XO_TMP/herd.$i" "relay: client rejected \(invalid_client: AADSTS7000222: .*: the client secret has expired \(sent: the secret in $D/secret\); .*write its Value \(not its ID\) into that file" >/dev/null
            xo_assert_not_contains "$XO_TMP/herd.$i" "run: xoauth2-token login relay" "a delegated login's advice" >/dev/null
        fi
    done
    echo "   ok: $asked of $N asked and were refused (78); the others waited behind the failure (77)"
    [ "$(xo_token_field "$FA" failure_class)" = login ] \
        || xo_fail "failure_class is '$(xo_token_field "$FA" failure_class)', want login" "$FA"
    [ "$(mails)" = 1 ] || xo_fail "$(mails) mails for one episode, want 1" "$MAIL"
    xo_assert_contains "$MAIL" '^Subject: xoauth2: relay \(relay@example.com\) on .* needs a new login$'
    xo_assert_contains "$MAIL" 'AADSTS7000222' "the reason"
    xo_assert_contains "$MAIL" "^  $FIX\$" "the exact fix: the app-only login"
    xo_assert_contains "$XO_TMP/notify-env" '^XOAUTH2_CLASS=login$'
    xo_assert_contains "$XO_TMP/notify-env" "^XOAUTH2_FIX=$FIX\$"
    xo_run_timeout 10 "$H" status relay >"$XO_TMP/status.out" 2>&1
    xo_assert_rc 2 "$XO_TMP/status.out"
    xo_assert_contains "$XO_TMP/status.out" "^XOAUTH2 CRITICAL - relay: needs login \(refresh refused .*AADSTS7000222.*\); run: $FIX\$"
    xo_run_timeout 10 "$H" list >"$XO_TMP/list.out" 2>&1
    xo_assert_contains "$XO_TMP/list.out" '^relay .*needs login'
    xo_run_timeout 10 "$H" show relay >"$XO_TMP/show.out" 2>&1
    xo_assert_contains "$XO_TMP/show.out" "^to fix, run: +$FIX\$"

    xo_step "app-only: a network blip (500) in the episode: still needs login, then no second mail"
    xo_oauth -q fault 500 --count 1
    xo_run_timeout 30 "$H" refresh --force relay >"$XO_TMP/app500.out" 2>&1
    xo_assert_rc 75 "$XO_TMP/app500.out"
    # A temporary failure says nothing about the credentials: the file
    # still needs a person, and the episode goes on.
    xo_run_timeout 10 "$H" status relay >"$XO_TMP/status.out" 2>&1
    xo_assert_rc 2 "$XO_TMP/status.out"
    xo_assert_contains "$XO_TMP/status.out" "^XOAUTH2 CRITICAL - relay: needs login"
    xo_run_timeout 30 "$H" refresh --force relay >"$XO_TMP/app-again.out" 2>&1
    xo_assert_rc 78 "$XO_TMP/app-again.out"
    [ "$(mails)" = 1 ] || xo_fail "$(mails) mails: the blip started a second episode" "$MAIL"

    xo_step "app-only: a new secret in the file: the next refresh works, one 'works again' mail"
    xo_app_secret "$D/secret" "$CID" "$MBX"
    SECRETS+=("$(head -1 "$D/secret")")
    xo_run_timeout 30 "$H" refresh relay >"$XO_TMP/app-ok.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/app-ok.out"
    [ "$(mails)" = 2 ] || xo_fail "$(mails) mails, want 2" "$MAIL"
    xo_assert_contains "$MAIL" '^Subject: xoauth2: relay \(relay@example.com\) on .* works again$'
    xo_run_timeout 10 "$H" status relay >"$XO_TMP/status.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/status.out"

    xo_step "app-only: the secret refused again (7000215); a new login --app-only ends the episode"
    xo_app_secret "$D/secret2" "$CID" "$MBX"
    SECRETS+=("$(head -1 "$D/secret2")")
    xo_run_timeout 30 "$H" refresh --force relay >"$XO_TMP/app-bad.out" 2>&1
    xo_assert_rc 78 "$XO_TMP/app-bad.out"
    xo_assert_contains "$XO_TMP/app-bad.out" 'AADSTS7000215'
    [ "$(mails)" = 3 ] || xo_fail "$(mails) mails, want 3" "$MAIL"
    xo_run_timeout 30 "$H" login relay "${APP[@]}" --client-secret-file "$D/secret2" \
        >"$XO_TMP/app-relogin.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/app-relogin.out"
    [ "$(mails)" = 4 ] || xo_fail "$(mails) mails, want 4 (the login's 'works again')" "$MAIL"
    [ "$(grep -c '^Subject: .* works again$' "$MAIL")" = 2 ] || xo_fail "not a 'works again' mail" "$MAIL"
    [ "$(xo_token_field "$FA" notify)" = "$NOTIFY" ] || xo_fail "the login dropped the notify command" "$FA"
    # The message gives the new token's expiry, not the replaced file's.
    want=$(date -d "@$(xo_token_field "$FA" expires_at)" +%H:%M)
    xo_assert_contains "$XO_TMP/app-relogin.out" "token file $FA written \(access token valid until $want,"
    xo_run_timeout 10 "$H" status relay >"$XO_TMP/status.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/status.out"

    xo_step "app-only: no client secret reached a mail or a notify command's environment"
    for s in "${SECRETS[@]}"; do
        ! grep -qF -- "$s" "$MAIL" "$XO_TMP/notify-env" "$FA" || xo_fail "a client secret leaked"
    done
    echo "   ok: ${#SECRETS[@]} secrets, none in $(mails) mails, their environments or the token file"
else
    echo "   (app-only part skipped: python3-cryptography is not installed)"
fi

xo_step "status: no accounts is UNKNOWN (3); a missing file is CRITICAL"
XDG_DATA_HOME=$XO_TMP/empty xo_run_timeout 10 "$H" status >"$XO_TMP/status.out" 2>&1
xo_assert_rc 3 "$XO_TMP/status.out"
xo_run_timeout 10 "$H" status "$XO_TMP/none.json" >"$XO_TMP/status.out" 2>&1
xo_assert_rc 2 "$XO_TMP/status.out"
xo_assert_contains "$XO_TMP/status.out" '^XOAUTH2 CRITICAL - .*none.json: cannot read'

xo_pass
