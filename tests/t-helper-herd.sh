#!/bin/bash
# The thundering herd: 50 concurrent `xoauth2-token token FILE` on one
# expired token.  At a server with single-use refresh tokens, a second
# refresh with the same token would fail (or burn the grant), so exactly
# one process may refresh; the others wait on the lock, re-read the file
# and print the token the first one stored.
. "$(dirname "$0")/lib.sh"

xo_helper_built --private-store
N=${XO_HERD:-50}

refreshes() {
    xo_oauth_stat refreshes
}

# herd CMD...: run N copies of CMD at once, outputs in $XO_TMP/herd/;
# sets HERD_MS (wall time).
herd() {
    local i t0 pids=()
    rm -rf "$XO_TMP/herd"
    mkdir "$XO_TMP/herd"
    t0=$EPOCHREALTIME
    for ((i = 0; i < N; i++)); do
        ( timeout 60 "$@" >"$XO_TMP/herd/out.$i" 2>"$XO_TMP/herd/err.$i"
          echo $? >"$XO_TMP/herd/rc.$i" ) &
        pids+=($!)
    done
    wait "${pids[@]}"
    HERD_MS=$(( (${EPOCHREALTIME/[.,]/} - ${t0/[.,]/}) / 1000 ))
}

# herd_check: every run exited 0, printed one line, all the same line.
herd_check() {
    local i
    for ((i = 0; i < N; i++)); do
        [ "$(cat "$XO_TMP/herd/rc.$i")" = 0 ] \
            || xo_fail "run $i exited $(cat "$XO_TMP/herd/rc.$i")" "$XO_TMP/herd/err.$i"
        cmp -s "$XO_TMP/herd/out.$i" "$XO_TMP/herd/out.0" \
            || xo_fail "run $i printed another token than run 0" "$XO_TMP/herd/out.$i" "$XO_TMP/herd/out.0"
    done
    [ "$(wc -l <"$XO_TMP/herd/out.0")" = 1 ] || xo_fail "run 0 printed no token" "$XO_TMP/herd/err.0"
}

xo_start_oauth
F=$XO_TMP/herd.json

xo_step "$N concurrent 'token' on one expired token"
xo_tokfile "$F" alice@example.com -60
cp "$F" "$XO_TMP/before"
before=$(refreshes)
herd "$XO_HELPER" token "$F"
herd_check
after=$(refreshes)
[ $((after - before)) = 1 ] || xo_fail "server saw $((after - before)) refreshes, want exactly 1"
cmp -s "$F" "$XO_TMP/before" && xo_fail "the file was not updated"
grep -qF "$(cat "$XO_TMP/herd/out.0")" "$F" || xo_fail "the printed token is not the stored one"
echo "   ok: $N/$N succeeded with the same token, 1 refresh, $HERD_MS ms wall time"
herd1_ms=$HERD_MS

# expire_file FILE: mark the access token in FILE expired (as a writer would).
expire_file() {
    "$XO_PYTHON" - "$1" <<'EOF'
import json, os, sys, time
p = sys.argv[1]
t = json.load(open(p))
t["expires_at"] = int(time.time()) - 1
fd = os.open(p + ".x", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(t).encode()); os.close(fd); os.replace(p + ".x", p)
EOF
}

if command -v flock >/dev/null; then
    xo_step "$N 'token' all queued on the lock (the test holds it while they start)"
    expire_file "$F"
    before=$(refreshes)
    # Every run reads the expired token, finds it due and waits for the
    # lock; once all of them wait, the test lets go: one refreshes and the
    # rest must re-read.
    xo_hold_lock "$F" "[ \$(xo_lock_waiters '$F.lock' '$XO_HELPER') -ge $N ]"
    herd "$XO_HELPER" token "$F"
    wait "$XO_HOLDER"
    xo_assert_contains "$XO_HOLD_MARK" '^released$' "all $N runs waited on the lock"
    herd_check
    after=$(refreshes)
    [ $((after - before)) = 1 ] || xo_fail "server saw $((after - before)) refreshes, want exactly 1"
    echo "   ok: $N/$N succeeded with the same token, 1 refresh, $HERD_MS ms wall time (part of it waiting for the test's lock)"
else
    echo "   (flock(1) not installed: queued-herd round skipped)"
fi

xo_step "$N concurrent 'refresh' (timer style) on the now expired token"
expire_file "$F"
before=$(refreshes)
herd "$XO_HELPER" refresh "$F"
for ((i = 0; i < N; i++)); do
    [ "$(cat "$XO_TMP/herd/rc.$i")" = 0 ] || xo_fail "refresh $i exited $(cat "$XO_TMP/herd/rc.$i")" "$XO_TMP/herd/err.$i"
done
after=$(refreshes)
[ $((after - before)) = 1 ] || xo_fail "server saw $((after - before)) refreshes, want exactly 1"
echo "   ok: $N/$N succeeded, 1 refresh, $HERD_MS ms wall time"

xo_step "the stored refresh token still works"
xo_run_timeout 20 "$XO_HELPER" refresh --force "$F" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"

# An app-only file has no refresh token to burn, but the server counts
# every client credentials request (and Microsoft throttles them): the
# herd still makes exactly one.
if "$XO_PYTHON" -c 'import cryptography' 2>/dev/null; then
    xo_step "$N concurrent 'token' on one expired app-only file (certificate)"
    mkdir -m 700 "$XO_TMP/creds"
    xo_app_cert "$XO_TMP/creds" app
    xo_oauth -q app herd-app --mailbox relay@example.com \
        --cert "$XO_TMP/creds/app.crt" || xo_fail "cannot register the app"
    A=$XO_TMP/app.json
    xo_run_timeout 30 "$XO_HELPER" login "$A" --provider custom --app-only \
        --client-id herd-app --user relay@example.com \
        --token-endpoint "$XO_OAUTH_URL/token" \
        --scope https://outlook.office365.com/.default \
        --certificate "$XO_TMP/creds/app.crt" \
        --private-key "$XO_TMP/creds/app.key" 2>"$XO_TMP/err"
    xo_assert_rc 0 "$XO_TMP/err"
    expire_file "$A"
    app_grants() {
        xo_oauth_stat app_grants
    }
    before=$(app_grants)
    herd "$XO_HELPER" token "$A"
    herd_check
    after=$(app_grants)
    [ $((after - before)) = 1 ] || xo_fail "server issued $((after - before)) app-only tokens, want exactly 1"
    grep -qF "$(cat "$XO_TMP/herd/out.0")" "$A" || xo_fail "the printed token is not the stored one"
    echo "   ok: $N/$N succeeded with the same token, 1 client credentials request, $HERD_MS ms wall time"
else
    xo_skip "python3-cryptography is not installed (app-only herd)"
fi

echo "# herd: $N token runs, 1 refresh, ${herd1_ms} ms"
xo_pass
