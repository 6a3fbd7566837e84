#!/bin/bash
# Crash safety: `xoauth2-token refresh --force FILE` is killed with
# SIGKILL at a random moment, XO_CRASH_ROUNDS times (default 200).  After
# every kill:
#   1. FILE is complete and parseable (`show` accepts it), mode 0600;
#   2. the refresh token in FILE works at the server: the next refresh,
#      not killed, succeeds -- with one exception, below;
#   3. the server agrees: the user's only unused refresh token is FILE's.
#
# The exception.  The mock server's refresh tokens are strictly single
# use.  If the kill lands after the server rotated the token but before
# the answer is safely in FILE.tmp (the answer in flight, being parsed,
# FILE.tmp half written), the new refresh token dies with the process and
# FILE keeps the old, now used one.  No client can close that window:
# SIGKILL cannot be caught, and nothing can be saved before the server's
# answer exists.  (A kill after FILE.tmp is complete -- typically inside
# fsync -- loses nothing: the next refresh rolls FILE.tmp forward; those
# rounds are counted as "rescued" and must then pass 2 and 3.)  What the client can promise is that FILE
# is then exactly what it was (never half-written), and that the server's
# view is exactly "FILE holds the predecessor of the single unused
# token": the case that real providers' reuse grace covers (Okta's grace
# period, Auth0's reuse interval; Microsoft does not invalidate the
# previous token at once).  Such a round counts as "in flight": we check
# those facts, then re-seed FILE with a new grant (what `login` would do)
# and go on.  Everything else is a failure.
. "$(dirname "$0")/lib.sh"

XO_HELPER=${XO_HELPER:-$XO_TOP_BUILDDIR/helper/xoauth2-token}
[ -x "$XO_HELPER" ] || xo_fail "helper not built: $XO_HELPER"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
export XDG_DATA_HOME=$XO_TMP/data
ROUNDS=${XO_CRASH_ROUNDS:-200}

# mk_tokfile FILE USER EXPIRES_IN
mk_tokfile() { xo_tokfile "$1" "$2" "$3"; }

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
F=$XO_TMP/crash.json
seeds=0
seed() {
    seeds=$((seeds + 1))
    USER_NOW=crash-$seeds@example.com
    mk_tokfile "$F" "$USER_NOW" -10
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
        if [ $changed = 1 ]; then replaced=$((replaced + 1))
        elif [ $tmp_left = 1 ]; then rescued=$((rescued + 1))
        else unchanged=$((unchanged + 1)); fi
        [ ! -e "$F.tmp" ] || xo_fail "round $round: a good refresh left $F.tmp behind"
    elif [ "$rc" = 77 ] && grep -q invalid_grant "$XO_TMP/err"; then
        # The kill landed between the server's rotation and the rename.
        [ $changed = 0 ] || xo_fail "round $round: FILE was replaced, yet its refresh token is refused" "$XO_TMP/err"
        cmp -s "$F" "$XO_TMP/snap" || xo_fail "round $round: FILE changed by the failed refresh"
        view=$(server_view "$F" "$USER_NOW" predecessor)
        [ "$view" = predecessor ] || xo_fail "round $round: refresh token refused, server view: $view" "$XO_TMP/err"
        inflight=$((inflight + 1))
        seed
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
echo "       is the server's previous one; re-seeded):                    $inflight"
echo "     (of all rounds: $midwrite left FILE.tmp behind, $finished finished before the kill)"
[ $((unchanged + replaced + rescued + inflight)) = "$ROUNDS" ] || xo_fail "rounds do not add up"
echo "# crash: $ROUNDS rounds, $((us / 1000)) ms, in flight $inflight"
xo_pass
