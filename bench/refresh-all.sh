#!/bin/bash
# bench/refresh-all.sh -- `xoauth2-token refresh --all` over many due
# accounts against the test OAuth server (tests/oauth_server.py) answering
# each /token request LATENCY ms late, as a distant provider would.
# Issue 20's target: 1,000 accounts at 200 ms in 30 s or less on a
# 2-core machine, at most --jobs connections open at once, every file
# renewed exactly once.
#
#   bench/refresh-all.sh [--accounts N] [--latency-ms MS] [--jobs N]
#                        [--sample N] [--sequential] [--builddir DIR]
#
# It reports:
#   - the wall time of `refresh --all` (the default --jobs unless given);
#   - the server's most /token requests in flight and connections open at
#     once, and the renewals per account (each file's tokens changed, and
#     the server's count per user: exactly 1 each);
#   - the sequential estimate: --jobs 1 over the first --sample accounts
#     (default 50), scaled to all (--sequential: over all of them);
#   - the helper's own share: the same run with no latency.
#
# A report, not a test: it exits 0 when the target is missed (the line
# says MISSED), and non-zero only when it cannot measure (sysexits).
set -eu

accounts=1000
latency=200
jobs=
sample=50
sequential=0
target_s=30
while [ $# -gt 0 ]; do
	case "$1" in
	--accounts) accounts=$2; shift ;;
	--latency-ms) latency=$2; shift ;;
	--jobs) jobs=$2; shift ;;
	--sample) sample=$2; shift ;;
	--sequential) sequential=1 ;;
	--builddir) XO_TOP_BUILDDIR=$2; shift ;;
	*) echo "usage: $0 [--accounts N] [--latency-ms MS] [--jobs N]" \
	    "[--sample N] [--sequential] [--builddir DIR]" >&2
	   exit 64 ;;
	esac
	shift
done

here=$(cd "$(dirname "$0")" && pwd)
srcdir=${XO_TOP_SRCDIR:-$here/..}
builddir=${XO_TOP_BUILDDIR:-$srcdir}
helper=$builddir/helper/xoauth2-token
server=$srcdir/tests/oauth_server.py
[ -x "$helper" ] || { echo "$0: $helper is not built (make)" >&2; exit 69; }
[ "$sample" -le "$accounts" ] || sample=$accounts

tmp=$(mktemp -d /tmp/xo-bench-refresh.XXXXXX)
pid=
cleanup() {
	[ -z "$pid" ] || kill "$pid" 2>/dev/null || true
	[ -z "$pid" ] || wait "$pid" 2>/dev/null || true
	[ -n "${XO_KEEP:-}" ] || rm -rf "$tmp"
}
trap cleanup EXIT

# No --state-dir: the server would write every token it knows to disk on
# each refresh, its cost growing with the accounts.
python3 "$server" serve --port-file "$tmp/port" --log "$tmp/server.log" \
    --latency-ms "$latency" </dev/null 2>>"$tmp/server.err" &
pid=$!
for _ in $(seq 100); do
	[ -s "$tmp/port" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$tmp/server.err" >&2; exit 69; }
	sleep 0.1
done
[ -s "$tmp/port" ] || { echo "$0: the OAuth server did not start" >&2; exit 69; }
url=http://127.0.0.1:$(cat "$tmp/port")
export XDG_DATA_HOME=$tmp/data
store=$XDG_DATA_HOME/xoauth2
mkdir -p "$store"
chmod 700 "$XDG_DATA_HOME" "$store"

# tokfiles MODE [N]: make: N due token files (a grant each, a user each);
# due: make the first N (default all) due again; check: each file's
# tokens changed since `make' (prints how many did not) -- python, one
# process for all of them.
tokfiles() {
	python3 - "$1" "${2:-$accounts}" "$url" "$store" <<'PY'
import json, os, sys, time, urllib.request
mode, n, url, store = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
names = ["acct%04d" % i for i in range(n)]
def write(path, tok):
    fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, json.dumps(tok).encode())
    os.close(fd)
    os.replace(path + ".new", path)
if mode == "make":
    orig = {}
    for name in names:
        req = urllib.request.Request(url + "/control/grant",
            json.dumps({"user": name + "@example.com"}).encode(),
            {"Content-Type": "application/json"})
        g = json.load(urllib.request.urlopen(req))
        tok = {"version": 1, "account": name, "provider": "mock",
               "user": name + "@example.com", "client_id": "xoauth2-test",
               "token_endpoint": url + "/token",
               "scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
               "access_token": g["access_token"],
               "refresh_token": g["refresh_token"],
               "expires_at": int(time.time()) - 60}
        write(os.path.join(store, name + ".json"), tok)
        orig[name] = [g["access_token"], g["refresh_token"]]
    json.dump(orig, open(os.path.join(store, "..", "orig.json"), "w"))
elif mode == "due":
    for name in names:
        path = os.path.join(store, name + ".json")
        tok = json.load(open(path))
        tok["expires_at"] = int(time.time()) - 60
        write(path, tok)
else:
    orig = json.load(open(os.path.join(store, "..", "orig.json")))
    same = 0
    for name in names:
        tok = json.load(open(os.path.join(store, name + ".json")))
        if [tok["access_token"], tok["refresh_token"]] == orig[name]:
            same += 1
    print(same)
PY
}

stat() {
	python3 "$server" ctl --port-file "$tmp/port" stats
}

field() {
	python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# timed FILE CMD...: runs CMD, its stderr to FILE; prints the seconds,
# and leaves in FILE.cpu the CPU seconds it and its children used.
timed() {
	local out=$1 t0 t1 rc=0
	shift
	t0=$EPOCHREALTIME
	TIMEFORMAT='%U %S'
	{ time "$@" >/dev/null 2>"$out" || rc=$?; } 2>"$out.time"
	t1=$EPOCHREALTIME
	[ "$rc" = 0 ] || echo "   (exit $rc; see $out)" >&2
	python3 -c 'import sys; print("%.2f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$t0" "$t1"
	awk '{ printf "%.2f\n", $1 + $2 }' "$out.time" >"$out.cpu"
}

echo "== refresh --all: $accounts due accounts, $latency ms per request," \
    "$(nproc) CPUs"
tokfiles make
jobs_args=()
[ -z "$jobs" ] || jobs_args=(--jobs "$jobs")
wall=$(timed "$tmp/all.err" "$helper" refresh --all "${jobs_args[@]}")
stat >"$tmp/stats.json"
unrenewed=$(tokfiles check)
read -r inflight conns refreshes once <<EOF
$(python3 - "$tmp/stats.json" "$accounts" <<'PY'
import json, sys
s, n = json.load(open(sys.argv[1])), int(sys.argv[2])
by_user = s["refreshes_by_user"]
once = sum(1 for v in by_user.values() if v == 1)
print(s["token_in_flight_max"], s["connections_max"], s["refreshes"], once)
PY
)
EOF
echo "   wall time:                 $wall s (--jobs ${jobs:-default});" \
    "the helper's CPU: $(cat "$tmp/all.err.cpu") s"
echo "   requests in flight, most:  $inflight"
echo "   connections open, most:    $conns"
echo "   renewals:                  $refreshes for $accounts accounts;" \
    "$once renewed exactly once; $unrenewed files unchanged"

if [ "$sequential" = 1 ]; then
	sample=$accounts
fi
tokfiles due "$sample"
args=()
for ((i = 0; i < sample; i++)); do
	args+=("$(printf 'acct%04d' "$i")")
done
seq_s=$(timed "$tmp/seq.err" "$helper" refresh --jobs 1 "${args[@]}")
seq_est=$(python3 -c 'import sys; print("%.0f" % (float(sys.argv[1]) / int(sys.argv[2]) * int(sys.argv[3])))' \
    "$seq_s" "$sample" "$accounts")
echo "   sequential (--jobs 1):     $seq_s s for $sample accounts:" \
    "about $seq_est s for $accounts"

python3 "$server" ctl --port-file "$tmp/port" -q latency 0 >/dev/null
tokfiles due
own=$(timed "$tmp/own.err" "$helper" refresh --all "${jobs_args[@]}")
echo "   the same with no latency:  $own s (the helper's and the server's" \
    "own share; the helper's CPU: $(cat "$tmp/own.err.cpu") s)"

ok=1
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)' \
    "$wall" "$target_s" || ok=0
[ "$once" = "$accounts" ] && [ "$refreshes" = "$accounts" ] &&
    [ "$unrenewed" = 0 ] || ok=0
# The bound: --jobs, else the default --help states.
bound=${jobs:-$("$helper" refresh -h 2>&1 | grep -o 'default [0-9]*' | head -1 | cut -d' ' -f2)}
[ "$conns" -le "${bound:-0}" ] && [ "$inflight" -le "${bound:-0}" ] || ok=0
if [ "$ok" = 1 ]; then
	echo "   target (<= $target_s s, each file renewed once): met"
else
	echo "   target (<= $target_s s, each file renewed once): MISSED"
fi
