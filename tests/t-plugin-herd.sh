#!/bin/bash
# The plugin's thundering herd: 20 imtest logins at once (XOAUTH2, then 5
# with OAUTHBEARER), each with the SASL password set to the path of one
# token file whose access token has expired (in the file and at the OAuth
# server).  Every plugin instance finds it due and runs the helper
# (xoauth2-token refresh); the helper's lock means the mock server, whose
# refresh tokens are single-use, sees exactly one refresh, and every login
# succeeds with the token that one refresh stored.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack "$XO_IMTEST"
xo_require_helper

N=${XO_PLUGIN_HERD:-20}
N_OB=${XO_PLUGIN_HERD_OAUTHBEARER:-5}
USER=alice@example.com

xo_start_oauth
# Dovecot allows 10 IMAP sessions per user and address by default; the
# herd is one user from 127.0.0.1.
XO_DOVECOT_EXTRA='protocol imap {
  mail_max_userip_connections = 200
}'
xo_start_dovecot

F=$XO_TMP/tokens/alice.json
mkdir -m 700 "$XO_TMP/tokens"

# herd MECH COUNT: COUNT imtest sessions at once, all with the token file
# as password, outputs in $XO_TMP/herd-MECH/; sets HERD_MS (wall time).
herd() {
    local mech=$1 count=$2 dir=$XO_TMP/herd-$1 i t0 us pids=()
    rm -rf "$dir"
    mkdir "$dir"
    t0=$EPOCHREALTIME
    for ((i = 0; i < count; i++)); do
        ( xo_imtest 40 "$USER" "$mech" "$F" "$dir/out.$i"
          echo "$XO_RC $XO_ELAPSED" >"$dir/rc.$i" ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    us=$(( ${EPOCHREALTIME/[.,]/} - ${t0/[.,]/} ))
    HERD_MS=$((us / 1000))
}

# herd_check MECH COUNT: every session exited 0 and authenticated.
herd_check() {
    local mech=$1 count=$2 dir=$XO_TMP/herd-$1 i rc slowest=0 e
    for ((i = 0; i < count; i++)); do
        read -r rc e <"$dir/rc.$i"
        [ "$rc" = 0 ] || xo_fail "$mech session $i: imtest exit $rc after $e s" "$dir/out.$i"
        xo_grep "^C: A01 AUTHENTICATE $mech " "$dir/out.$i" \
            || xo_fail "$mech session $i did not use $mech" "$dir/out.$i"
        xo_grep '^Authenticated\.' "$dir/out.$i" \
            || xo_fail "$mech session $i did not authenticate" "$dir/out.$i"
        xo_grep '^S: A01 OK' "$dir/out.$i" \
            || xo_fail "$mech session $i: no A01 OK" "$dir/out.$i"
        e=${e/./}; e=$((10#$e))
        [ "$e" -gt "$slowest" ] && slowest=$e
    done
    SLOWEST_MS=$slowest
    echo "   ok: $count/$count imtest sessions said Authenticated."
}

# login_re MECH: Dovecot's log line for a login of $USER with MECH;
# logins MECH: how many it logged so far.
login_re() {
    xo_dovecot_login_re imap "$USER" "$1"
}
logins() {
    xo_count "$XO_DOVECOT_LOG" "$(login_re "$1")"
}

declare -A RESULT
for mech in XOAUTH2 OAUTHBEARER; do
    count=$N
    [ "$mech" = OAUTHBEARER ] && count=$N_OB
    xo_step "$mech: $count concurrent imtest logins on one expired token file"
    if [ "$mech" = XOAUTH2 ]; then
        xo_tokfile "$F" "$USER" -60
    else
        xo_token_expire_file "$F" -60
    fi
    old_at=$(xo_token_field "$F" access_token)
    old_rt=$(xo_token_field "$F" refresh_token)
    # the server must not accept the old access token either: only the
    # refreshed one can log in.
    xo_oauth -q expire "$old_at" || xo_fail "expire at the server failed"
    before=$(xo_oauth_refreshes)
    logins_before=$(logins "$mech")

    herd "$mech" "$count"
    herd_check "$mech" "$count"

    after=$(xo_oauth_refreshes)
    [ $((after - before)) = 1 ] \
        || xo_fail "$mech: the server saw $((after - before)) refreshes, want exactly 1"
    echo "   ok: the server saw exactly 1 refresh"
    new_at=$(xo_token_field "$F" access_token)
    new_rt=$(xo_token_field "$F" refresh_token)
    [ "$new_at" != "$old_at" ] || xo_fail "$mech: the access token in the file was not replaced"
    if [ -z "$new_rt" ] || [ "$new_rt" = "$old_rt" ]; then
        xo_fail "$mech: the rotated refresh token was not stored"
    fi
    echo "   ok: the file holds a new access token and the rotated refresh token"
    [ "$(stat -c %a "$F")" = 600 ] || xo_fail "$mech: token file mode is $(stat -c %a "$F")"
    xo_dovecot_wait_count "$(login_re "$mech")" $((logins_before + count)) \
        "$mech: Dovecot logged $count logins"
    logins_after=$(logins "$mech")
    [ $((logins_after - logins_before)) = "$count" ] \
        || xo_fail "$mech: Dovecot logged $((logins_after - logins_before)) logins, want $count"
    echo "   $mech herd: $count logins, 1 refresh, wall time $HERD_MS ms," \
         "slowest session ${SLOWEST_MS} ms"
    RESULT[$mech]="$count logins, 1 refresh, ${HERD_MS} ms wall"
done

# The round above races: a late plugin may read the file after the first
# refresh and never run the helper.  Here every plugin must: the test holds
# the file's lock while the herd starts, so all of them read the expired
# token and queue in the helper; a wrapper counts the helper runs.
if command -v flock >/dev/null; then
    xo_step "XOAUTH2: $N logins queued on the lock (the test holds it while they start)"
    cat >"$XO_TMP/helper-wrapper" <<EOF
#!/bin/sh
echo "\$*" >>"$XO_TMP/helper-runs"
exec "$XO_HELPER" "\$@"
EOF
    chmod 755 "$XO_TMP/helper-wrapper"
    : >"$XO_TMP/helper-runs"
    xo_token_expire_file "$F" -60
    xo_oauth -q expire "$(xo_token_field "$F" access_token)" \
        || xo_fail "expire at the server failed"
    old_rt=$(xo_token_field "$F" refresh_token)
    before=$(xo_oauth_refreshes)
    # Hold the lock (taken before the first login starts) until every
    # login's helper waits on it (at most 30 s), so that none can find
    # the token already fresh: under load a fixed hold let late sessions
    # skip the helper.
    xo_hold_lock "$F" "[ \$(xo_lock_waiters '$F.lock' '$XO_HELPER') -ge $N ]"
    XOAUTH2_HELPER=$XO_TMP/helper-wrapper herd XOAUTH2 "$N"
    wait "$XO_HOLDER"
    xo_assert_contains "$XO_HOLD_MARK" '^released$' "all $N helpers waited on the lock"
    herd_check XOAUTH2 "$N"
    runs=$(wc -l <"$XO_TMP/helper-runs")
    [ "$runs" = "$N" ] \
        || xo_fail "the helper ran $runs times, want $N (one per login)" "$XO_TMP/helper-runs"
    echo "   ok: every plugin ran the helper ($runs runs of: $(sort -u "$XO_TMP/helper-runs" | sed "s|$XO_TMP|\$XO_TMP|"))"
    after=$(xo_oauth_refreshes)
    [ $((after - before)) = 1 ] \
        || xo_fail "queued herd: the server saw $((after - before)) refreshes, want exactly 1"
    [ "$(xo_token_field "$F" refresh_token)" != "$old_rt" ] \
        || xo_fail "queued herd: the rotated refresh token was not stored"
    echo "   ok: the server saw exactly 1 refresh; the rotated refresh token was stored"
    echo "   queued herd: $N logins, $N helper runs, 1 refresh, wall time $HERD_MS ms" \
         "(part of it waiting for the test's lock)"
    RESULT[queued]="$N logins, $N helper runs, 1 refresh, ${HERD_MS} ms wall (incl. the lock held by the test)"
else
    echo "   (flock(1) not installed: queued round skipped)"
fi

xo_step "the stored refresh token still works (one more refresh, forced)"
before=$(xo_oauth_refreshes)
xo_run_timeout 20 "$XO_HELPER" refresh --force "$F" 2>"$XO_TMP/force.err"
xo_assert_rc 0 "$XO_TMP/force.err"
[ $(($(xo_oauth_refreshes) - before)) = 1 ] || xo_fail "the forced refresh did not reach the server"
echo "   ok"

for k in XOAUTH2 OAUTHBEARER queued; do
    if [ -n "${RESULT[$k]:-}" ]; then echo "# plugin herd $k: ${RESULT[$k]}"; fi
done
xo_pass
