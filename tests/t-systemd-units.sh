#!/bin/bash
# The systemd units that keep grants alive (contrib/systemd/):
#   - they pass `systemd-analyze verify` (system template and user units);
#   - the timer's period plus its random delay is well inside the --margin
#     the service passes, and the margin is shorter than an access token's
#     life (else every run would refresh);
#   - the system units load their user's directory of the encrypted
#     credential store (credential encrypt), with SetCredential= standing in
#     so that a missing directory does not stop the unit (systemd.exec(5),
#     252: "the latter will act as default if the former cannot be
#     retrieved"); the user unit loads none (252's user manager cannot
#     decrypt);
#   - the exact ExecStart command line, run as the service runs it (clean
#     environment, the store found through HOME, or XDG_DATA_HOME for the
#     user unit) against the mock OAuth server: due tokens are refreshed,
#     fresh ones are left untouched, and it is quiet.
# Needs systemd-analyze (Debian package: systemd).
. "$(dirname "$0")/lib.sh"

UNITS=$XO_TOP_SRCDIR/contrib/systemd
xo_helper_built
xo_require_cmd systemd-analyze

SYS_SERVICE=$UNITS/xoauth2-token-refresh@.service
SYS_TIMER=$UNITS/xoauth2-token-refresh@.timer
USER_SERVICE=$UNITS/user/xoauth2-token-refresh.service
USER_TIMER=$UNITS/user/xoauth2-token-refresh.timer
PF_SERVICE=$UNITS/xoauth2-token-postfix.service
PF_TIMER=$UNITS/xoauth2-token-postfix.timer

# unit_value FILE KEY: the value of KEY= in FILE (the last one wins).
unit_value() {
    sed -n "s/^$2=//p" "$1" | tail -n 1
}

# to_seconds SPAN: a systemd time span of the forms used here (2min, 60,
# 1h, 30s) in seconds.
to_seconds() {
    case $1 in
    *min) echo $((${1%min} * 60)) ;;
    *h) echo $((${1%h} * 3600)) ;;
    *s) echo "${1%s}" ;;
    *) echo "$1" ;;
    esac
}

xo_step "systemd-analyze verify"
# verify insists that ExecStart's program exists: the copies point at the
# built helper instead of /usr/bin/xoauth2-token (only that line differs;
# tests/pkg/t-debs.sh verifies the installed files as they are).
mkdir -p "$XO_TMP/units/user" "$XO_TMP/runtime"
# The built helper's path as one word of a unit's command line, quoted
# for systemd (a clone's path may hold a space; % and $ are specials).
exe=${XO_HELPER//\\/\\\\}; exe=${exe//\"/\\\"}; exe=${exe//%/%%}; exe=\"${exe//\$/\$\$}\"
for f in "$SYS_SERVICE" "$SYS_TIMER" "$USER_SERVICE" "$USER_TIMER" "$PF_SERVICE" "$PF_TIMER"; do
    case $f in
    */user/*) out=$XO_TMP/units/user/${f##*/} ;;
    *) out=$XO_TMP/units/${f##*/}; out=${out/@./@root.} ;;   # an instance
    esac
    while IFS= read -r line; do
        [[ $line == "ExecStart=/usr/bin/xoauth2-token "* ]] &&
            line="ExecStart=$exe ${line#ExecStart=/usr/bin/xoauth2-token }"
        printf '%s\n' "$line"
    done <"$f" >"$out"
    [ "$(diff "$f" "$out" | grep -c '^>')" = "$(grep -c '^ExecStart=' "$f")" ] \
        || xo_fail "${f##*/}: ExecStart is not /usr/bin/xoauth2-token ..."
done
systemd-analyze verify --man=no "$XO_TMP"/units/*@root.* "$XO_TMP"/units/xoauth2-token-postfix.* \
    >"$XO_TMP/verify" 2>&1
echo "$?" >"$XO_TMP/verify.rc"
XDG_RUNTIME_DIR=$XO_TMP/runtime systemd-analyze --user verify --man=no \
    "$XO_TMP"/units/user/* >>"$XO_TMP/verify" 2>&1
echo "$?" >>"$XO_TMP/verify.rc"
[ "$(tr -d '\n' <"$XO_TMP/verify.rc")" = 00 ] && [ ! -s "$XO_TMP/verify" ] \
    || xo_fail "systemd-analyze verify complained (exit $(tr '\n' ' ' <"$XO_TMP/verify.rc"))" "$XO_TMP/verify"
echo "   ok: xoauth2-token-refresh@.service/.timer (as @root), xoauth2-token-postfix.service/.timer and the user units: no complaint"

xo_step "encrypted credentials: each system unit loads its user's directory, never fails for want of it"
# The credential's ID is xoauth2_FILENAME (systemd.exec(5): a directory's
# files get "the provided ID suffixed with _$FILENAME"), what `credential
# encrypt` records and embeds (--name).
for pair in "$PF_SERVICE:/etc/xoauth2/credstore.encrypted/postfix" \
            "$SYS_SERVICE:/etc/xoauth2/credstore.encrypted/%i"; do
    f=${pair%%:*}; want=${pair#*:}
    [ "$(grep -c '^LoadCredentialEncrypted=' "$f")" = 1 ] \
        || xo_fail "${f##*/}: want one LoadCredentialEncrypted= line"
    [ "$(unit_value "$f" LoadCredentialEncrypted)" = "xoauth2:$want" ] \
        || xo_fail "${f##*/}: LoadCredentialEncrypted=$(unit_value "$f" LoadCredentialEncrypted), want xoauth2:$want"
    [[ $(unit_value "$f" SetCredential) == xoauth2:?* ]] \
        || xo_fail "${f##*/}: no SetCredential=xoauth2:VALUE: the unit would not start without $want"
    echo "   ok: ${f##*/}: xoauth2:$want, SetCredential=xoauth2: stands in"
done
! grep -q '^LoadCredential' "$USER_SERVICE" \
    || xo_fail "${USER_SERVICE##*/}: a user manager of systemd 252 cannot decrypt host-key credentials"
grep -q 'systemd-creds --user' "$USER_SERVICE" \
    || xo_fail "${USER_SERVICE##*/}: the comment does not say what works where (systemd-creds --user)"
echo "   ok: the user unit loads none and says what works where"

xo_step "the timer runs well within the margin; the margin is shorter than a token's life"
services=("$SYS_SERVICE" "$USER_SERVICE" "$PF_SERVICE")
timers=("$SYS_TIMER" "$USER_TIMER" "$PF_TIMER")
for i in "${!services[@]}"; do
    set -- "${services[i]}" "${timers[i]}"
    cmd=$(unit_value "$1" ExecStart)
    margin=$(sed -n 's/.* --margin \([0-9]*\).*/\1/p' <<<"$cmd")
    [[ $cmd == "/usr/bin/xoauth2-token refresh --all --margin "* ]] \
        || xo_fail "${1##*/}: unexpected ExecStart: $cmd"
    [ "$(unit_value "$2" OnCalendar)" = '*:0/15' ] \
        || xo_fail "${2##*/}: OnCalendar is not every 15 minutes"
    [ "$(unit_value "$2" Persistent)" = true ] || xo_fail "${2##*/}: not Persistent=true"
    gap=$((900 + $(to_seconds "$(unit_value "$2" RandomizedDelaySec)") \
              + $(to_seconds "$(unit_value "$2" AccuracySec)")))
    # Twice the longest gap between two runs: one failed run (network down)
    # still leaves a run before the token expires.  Access tokens live an
    # hour (Google: 3599 s, Microsoft: 60 to 90 min).
    [ "$margin" -ge $((2 * gap)) ] && [ "$margin" -lt 3599 ] \
        || xo_fail "${1##*/}: --margin $margin vs. at most $gap s between runs"
    echo "   ok: ${1##*/}: at most $gap s between runs, --margin $margin"
done
[ "$(unit_value "$SYS_SERVICE" ExecStart)" = "$(unit_value "$USER_SERVICE" ExecStart)" ] \
    || xo_fail "the system and user services run different commands"

xo_start_oauth

# run_unit_command HOME [XDG_DATA_HOME]: the ExecStart line, word-split as
# systemd does for this simple line, with the built helper, in a clean
# environment like the service's (HOME and USER come from User=).
run_unit_command() {
    local -a argv
    read -r -a argv <<<"$(unit_value "$SYS_SERVICE" ExecStart)"
    argv[0]=$XO_HELPER
    xo_run_timeout 30 env -i PATH=/usr/bin:/bin HOME="$1" USER="$(id -un)" \
        LANG=C ${2:+XDG_DATA_HOME="$2"} "${argv[@]}" >"$XO_TMP/out" 2>"$XO_TMP/err"
}

# fill_store DIR: accounts expired, due soon, due within the margin, fresh.
fill_store() {
    mkdir -p "$1"
    chmod 700 "$1"
    xo_tokfile "$1/expired.json" a@example.com -10
    xo_tokfile "$1/soon.json" b@example.com 120
    xo_tokfile "$1/within.json" c@example.com 2000
    xo_tokfile "$1/fresh.json" d@example.com 3500
    for a in expired soon within fresh; do cp "$1/$a.json" "$XO_TMP/$a.before"; done
}

# check_store DIR: the first three refreshed, the fresh one untouched.
check_store() {
    local a now exp
    now=$(date +%s)
    for a in expired soon within; do
        ! cmp -s "$1/$a.json" "$XO_TMP/$a.before" || xo_fail "$a: not refreshed"
        exp=$(xo_token_field "$1/$a.json" expires_at)
        [ $((exp - now)) -ge 3500 ] || xo_fail "$a: expires in $((exp - now)) s after the run"
        [ "$(xo_token_field "$1/$a.json" access_token)" != \
          "$(xo_token_field "$XO_TMP/$a.before" access_token)" ] || xo_fail "$a: same access token"
    done
    cmp -s "$1/fresh.json" "$XO_TMP/fresh.before" || xo_fail "fresh: rewritten"
    echo "   ok: expired, soon (120 s), within the margin (2000 s): refreshed; fresh (3500 s): untouched"
}

xo_step "the system service's command: the store under HOME (User=)"
H=$XO_TMP/home
fill_store "$H/.local/share/xoauth2"
r0=$(xo_oauth_refreshes)
run_unit_command "$H"
xo_assert_rc 0 "$XO_TMP/err"
[ ! -s "$XO_TMP/out" ] && [ ! -s "$XO_TMP/err" ] \
    || xo_fail "the command is not quiet (the journal would fill)" "$XO_TMP/out" "$XO_TMP/err"
check_store "$H/.local/share/xoauth2"
[ $(($(xo_oauth_refreshes) - r0)) = 3 ] || xo_fail "server saw $(($(xo_oauth_refreshes) - r0)) refreshes, want 3"
echo "   ok: 3 refreshes at the server"

xo_step "a second run at once refreshes nothing"
for a in expired soon within fresh; do cp "$H/.local/share/xoauth2/$a.json" "$XO_TMP/$a.before"; done
r0=$(xo_oauth_refreshes)
run_unit_command "$H"
xo_assert_rc 0 "$XO_TMP/err"
for a in expired soon within fresh; do
    cmp -s "$H/.local/share/xoauth2/$a.json" "$XO_TMP/$a.before" || xo_fail "$a: rewritten"
done
xo_assert_refreshes "$r0" "the second run refreshed"
echo "   ok: no refresh, no file rewritten"

xo_step "the user service's command: XDG_DATA_HOME honoured"
fill_store "$XO_TMP/xdg/xoauth2"
run_unit_command "$XO_TMP/nohome" "$XO_TMP/xdg"
xo_assert_rc 0 "$XO_TMP/err"
check_store "$XO_TMP/xdg/xoauth2"
[ ! -e "$XO_TMP/nohome" ] || xo_fail "created something under HOME although XDG_DATA_HOME is set"

xo_step "an empty store is not an error (a user with no accounts yet)"
mkdir -p "$XO_TMP/empty"
run_unit_command "$XO_TMP/empty"
xo_assert_rc 0 "$XO_TMP/err"

xo_pass
