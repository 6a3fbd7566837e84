#!/bin/bash
# The helper holds refresh tokens and client secrets in memory: it must
# never leave them in a core dump.  From its first instruction on it is
# not dumpable (prctl PR_SET_DUMPABLE 0: no core, no ptrace by its own
# user, /proc/PID owned by root) and its core size limit is 0 (soft and
# hard).  Checked from outside on a live helper -- a browser login
# waiting for its answer -- run as an unprivileged user, as mail
# programs run it.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_helper
xo_require_cmd setpriv
[ "$(id -u)" = 0 ] || xo_skip "needs root to run the helper as another user"
user=nobody
uid=$(id -u "$user") || xo_skip "no user $user"
gid=$(id -g "$user")

# A directory the helper may write into (login checks that first).
dir=$XO_TMP/store
mkdir "$dir"
chown "$user" "$dir"

xo_step "a login waiting for the browser, run as $user"
setpriv --reuid="$uid" --regid="$gid" --clear-groups \
    "$XO_HELPER" login "$dir/x.json" --provider custom --client-id nodump \
    --user someone@example.org --flow browser --no-browser --wait 60 \
    --auth-endpoint http://127.0.0.1:9/authorize \
    --token-endpoint http://127.0.0.1:9/token \
    </dev/null >"$XO_TMP/out" 2>"$XO_TMP/err" &
pid=$!
xo_on_exit "kill $pid 2>/dev/null; wait $pid 2>/dev/null"
# Wait for the event: the URL printed, i.e. main() ran long ago.
for ((i = 0; i < 300; i++)); do
    grep -q 'this URL in a browser' "$XO_TMP/err" && break
    kill -0 "$pid" 2>/dev/null || xo_fail "the login ended early" "$XO_TMP/err"
    sleep 0.1
done
grep -q 'this URL in a browser' "$XO_TMP/err" || xo_fail "no URL within 30 s" "$XO_TMP/err"
awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status" | grep -qx "$uid" \
    || xo_fail "pid $pid is not the helper running as $user" "/proc/$pid/status"

xo_step "its core size limit is 0, soft and hard"
grep '^Max core file size' "/proc/$pid/limits" | sed 's/^/   | /'
grep -Eq '^Max core file size +0 +0 ' "/proc/$pid/limits" \
    || xo_fail "core dumps allowed" "/proc/$pid/limits"
echo "   ok: RLIMIT_CORE 0 0"

xo_step "it is not dumpable: the kernel gives its /proc files to root"
owner=$(stat -c %u "/proc/$pid/status")
echo "   | /proc/$pid/status owner: $owner (the process runs as $uid)"
[ "$owner" = 0 ] || xo_fail "the helper is dumpable (/proc/$pid/status owned by $owner)"
echo "   ok: not dumpable"

kill "$pid"
wait "$pid" 2>/dev/null || true
xo_pass
