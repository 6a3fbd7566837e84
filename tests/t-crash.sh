#!/bin/bash
# Crash safety: `xoauth2-token refresh --force FILE` is killed with
# SIGKILL at a random moment, XO_CRASH_ROUNDS times (default 200).  After
# every kill:
#   1. FILE is complete and parseable (`show` accepts it), mode 0600;
#   2. the refresh token in FILE works at the server: the next refresh,
#      not killed, succeeds -- with one exception, below;
#   3. the server agrees: the user's only unused refresh token is FILE's.
#
# The mock server runs with its refresh-token reuse grace on, as real
# providers have (Okta's grace period, Auth0's reuse interval; Microsoft
# does not retire the previous token at once): a kill after the server
# rotated the token but before the answer is safely in FILE.tmp loses the
# new token with the process -- SIGKILL cannot be caught, and nothing can
# be saved before the answer exists -- and FILE keeps the old one, which
# the server then honours once more because its successor was never used.
# Such rounds are counted as "in flight".  What the client itself must
# guarantee is the rest: FILE is never half-written, never loses a token
# it has been given (a kill after FILE.tmp is complete, inside fsync, is
# rolled forward by the next refresh: "rescued"), and is always a file
# whose refresh token works; in an "in flight" round FILE must be exactly
# what it was before.  (At a strictly single-use server, with no grace,
# such a round would lose the grant whatever the client did.)
. "$(dirname "$0")/lib.sh"

xo_helper_built --private-store
ROUNDS=${XO_CRASH_ROUNDS:-200}

# server_view FILE USER [EXPECTED]: compare FILE's refresh token with the
# server's tokens for USER; prints "current" (FILE's is USER's only unused
# one), "predecessor" (FILE's is used, exactly one unused exists) or what
# is wrong.  Reads the state file the mock server keeps under --state-dir;
# without one, cannot tell and prints EXPECTED.
STATE=$XO_TMP/oauth/state/state.json
server_view() {
    if [ "$have_state" = 0 ]; then
        echo "${3:-current}"
        return
    fi
    "$XO_PYTHON" - "$1" "$2" "$STATE" <<'EOF'
import json, sys
path, user, state = sys.argv[1:]
rt = json.load(open(path))["refresh_token"]
refresh = json.load(open(state))["refresh"]
unused = [t for t, i in refresh.items()
          if i["user"] == user and not i["used"] and not i["revoked"]]
mine = refresh.get(rt)
if mine is None:
    print("unknown: the server never issued FILE's refresh token")
elif not mine["used"] and unused == [rt]:
    print("current")
elif mine["used"] and len(unused) == 1:
    print("predecessor")
else:
    print("bad: FILE's token used=%s, %d unused for the user"
          % (mine["used"], len(unused)))
EOF
}

xo_start_oauth
xo_oauth -q grace on
F=$XO_TMP/crash.json
seeds=0
seed() {
    seeds=$((seeds + 1))
    USER_NOW=crash-$seeds@example.com
    xo_tokfile "$F" "$USER_NOW" -10
}
seed
if [ -f "$STATE" ]; then
    have_state=1
else
    have_state=0
    echo "   (no server state file at $STATE: check 3 left out)"
fi

# A pipe nobody writes to: `read -t` on it is a sleep without a fork.
exec {nap}<> <(:)
nap_us() {
    local secs
    printf -v secs '%d.%06d' $(($1 / 1000000)) $(($1 % 1000000))
    read -t "$secs" -u "$nap" || true
}

xo_step "how long does one refresh take?"
t0=$EPOCHREALTIME
for i in 1 2 3 4 5; do
    "$XO_HELPER" refresh --force "$F" 2>"$XO_TMP/err" || xo_fail "refresh failed" "$XO_TMP/err"
done
run_us=$(( (${EPOCHREALTIME/[.,]/} - ${t0/[.,]/}) / 5 ))
# Kill anywhere from exec to a little after the usual end.
span_us=$((run_us * 12 / 10))
echo "   one refresh: $((run_us / 1000)) ms; kills land in 0..$((span_us / 1000)) ms"

grace_uses() {
    xo_oauth_stat grace_uses
}
graces=$(grace_uses)

xo_step "$ROUNDS rounds of kill -9"
unchanged=0 replaced=0 rescued=0 inflight=0 midwrite=0 finished=0
t0=$EPOCHREALTIME
for ((round = 1; round <= ROUNDS; round++)); do
    cp "$F" "$XO_TMP/snap"
    delay=$(( (RANDOM * 32768 + RANDOM) % span_us ))
    "$XO_HELPER" refresh --force "$F" 2>/dev/null &
    pid=$!
    nap_us "$delay"
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rc=$?
    [ "$rc" = 0 ] && finished=$((finished + 1))
    tmp_left=0
    [ -e "$F.tmp" ] && tmp_left=1 && midwrite=$((midwrite + 1))

    # 1. complete and parseable
    "$XO_HELPER" show "$F" >/dev/null 2>"$XO_TMP/err" \
        || xo_fail "round $round (kill at $((delay / 1000)) ms): show fails" "$XO_TMP/err" "$F"
    [ "$(stat -c %a "$F")" = 600 ] || xo_fail "round $round: mode $(stat -c %a "$F")"
    if cmp -s "$F" "$XO_TMP/snap"; then changed=0; else changed=1; fi

    # 2. the stored refresh token works (this refresh is not killed)
    "$XO_HELPER" refresh --force "$F" 2>"$XO_TMP/err"
    rc=$?
    if [ "$rc" = 0 ]; then
        # 3. and the server agrees
        view=$(server_view "$F" "$USER_NOW")
        [ "$view" = current ] || xo_fail "round $round: after a good refresh, server view: $view"
        g=$(grace_uses)
        if [ "$g" != "$graces" ]; then
            # The server honoured FILE's token by its reuse grace: the
            # kill lost the answer in flight, and FILE must be as it was.
            graces=$g
            [ $changed = 0 ] || xo_fail "round $round: FILE was replaced, yet its token needed the server's grace"
            inflight=$((inflight + 1))
        elif [ $changed = 1 ]; then replaced=$((replaced + 1))
        elif [ $tmp_left = 1 ]; then rescued=$((rescued + 1))
        else unchanged=$((unchanged + 1)); fi
        [ ! -e "$F.tmp" ] || xo_fail "round $round: a good refresh left $F.tmp behind"
    else
        xo_fail "round $round (kill at $((delay / 1000)) ms): refresh exited $rc" "$XO_TMP/err"
    fi
done
exec {nap}<&-
us=$(( ${EPOCHREALTIME/[.,]/} - ${t0/[.,]/} ))

echo "   $ROUNDS rounds in $((us / 1000000)).$((us / 100000 % 10)) s:"
echo "     killed before the server rotated (file unchanged, token good): $unchanged"
echo "     killed after the rename (new file, new token good):            $replaced"
echo "     killed after FILE.tmp was complete (rolled forward, token good): $rescued"
echo "     killed with the new token in flight (file unchanged, old token"
echo "       honoured again by the server's reuse grace):                 $inflight"
echo "     (of all rounds: $midwrite left FILE.tmp behind, $finished finished before the kill)"
[ $((unchanged + replaced + rescued + inflight)) = "$ROUNDS" ] || xo_fail "rounds do not add up"
echo "# crash: $ROUNDS rounds, $((us / 1000)) ms, in flight $inflight"
xo_pass
