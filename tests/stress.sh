#!/bin/bash
# tests/stress.sh -- `make check-stress`: the whole suite, RUNS times in a
# row, with every CPU kept busy by a load generator, to bring out timing
# races (a test that waits for a guessed time instead of an event).
#
# Run from a configured build root (make check-stress does):
#   STRESS_RUNS   runs of the suite (default 10)
#   STRESS_JOBS   make -j for each run (default 2, as `make -j2 check`)
#   STRESS_LOAD   busy workers (default: the number of CPUs)
#   STRESS_TESTS  only these tests (make check TESTS=...; default all)
#   STRESS_DIR    where the logs go (default ./stress-logs)
#   MAKE          the make to run (make check-stress passes its own)
#
# The load is stress-ng --cpu N when stress-ng is installed, else N shell
# busy loops; it is started here and always stopped (exit, Ctrl-C, TERM).
# Each run prints one line; the log of every failed test is kept under
# STRESS_DIR/run-I/.  The closing summary gives the runs, the failures per
# test, and the exit status is 1 if any run failed.
set -u

runs=${STRESS_RUNS:-10}
jobs=${STRESS_JOBS:-2}
load=${STRESS_LOAD:-$(nproc 2>/dev/null || echo 2)}
dir=${STRESS_DIR:-stress-logs}
make=${MAKE:-make}

for v in runs jobs load; do
    case ${!v} in
    '' | *[!0-9]*) echo "stress.sh: STRESS_${v^^} must be a number, not '${!v}'" >&2; exit 2 ;;
    esac
done
[ -f config.status ] || {
    echo "stress.sh: run it from a configured build root (make check-stress)" >&2
    exit 2
}

LOAD_PIDS=()
stop_load() {
    local p
    for p in "${LOAD_PIDS[@]}"; do
        # stress-ng leads its own session (setsid): its workers go with it.
        kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null
    done
    for p in "${LOAD_PIDS[@]}"; do
        wait "$p" 2>/dev/null
        kill -KILL -- "-$p" 2>/dev/null
    done
    LOAD_PIDS=()
}
trap 'stop_load' EXIT
trap 'echo "stress.sh: interrupted"; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

if [ "$load" -gt 0 ]; then
    if command -v stress-ng >/dev/null; then
        setsid stress-ng --cpu "$load" --quiet </dev/null >/dev/null 2>&1 &
        LOAD_PIDS+=($!)
        what="stress-ng --cpu $load"
    else
        for ((i = 0; i < load; i++)); do
            setsid bash -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
            LOAD_PIDS+=($!)
        done
        what="$load busy loops (stress-ng not installed)"
    fi
else
    what="no load (STRESS_LOAD=0)"
fi

# The load must run through every run, or the runs prove nothing.
# (An exited one stays a zombie until waited for: kill -0 is not enough.)
check_load() {
    local p st
    for p in "${LOAD_PIDS[@]}"; do
        st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null)
        [ -n "$st" ] && [ "${st%% *}" != Z ] && continue
        echo "stress.sh: the load generator ($what) is not running $1" >&2
        exit 2
    done
}

mkdir -p "$dir"
rm -rf "$dir"/run-*
echo "stress: $runs runs of 'make -j$jobs check${STRESS_TESTS:+ TESTS=$STRESS_TESTS}' under $what; logs in $dir/"

declare -A FAILS=()       # test -> runs it failed in
failed_runs=0
t_all=$EPOCHREALTIME
for ((r = 1; r <= runs; r++)); do
    check_load "before run $r"
    t0=$EPOCHREALTIME
    rm -f tests/test-suite.log
    if [ -n "${STRESS_TESTS:-}" ]; then
        "$make" -j"$jobs" check TESTS="$STRESS_TESTS" >"$dir/run-$r.out" 2>&1
    else
        "$make" -j"$jobs" check >"$dir/run-$r.out" 2>&1
    fi
    rc=$?
    check_load "after run $r"
    secs=$(( (${EPOCHREALTIME/[.,]/} - ${t0/[.,]/}) / 1000000 ))
    # The harness prints one line per test: PASS|FAIL|ERROR|SKIP|XPASS|XFAIL: name
    pass=$(grep -cE '^(PASS|XFAIL): ' "$dir/run-$r.out")
    skip=$(grep -cE '^SKIP: ' "$dir/run-$r.out")
    bad=$(sed -n -E 's/^(FAIL|ERROR|XPASS): ([^ ]+).*/\2/p' "$dir/run-$r.out" | sort -u)
    nbad=$(printf '%s' "$bad" | grep -c .)
    if [ "$rc" != 0 ] || [ "$nbad" -gt 0 ]; then
        failed_runs=$((failed_runs + 1))
        mkdir -p "$dir/run-$r"
        for t in $bad; do
            FAILS[$t]="${FAILS[$t]:-}${FAILS[$t]:+ }$r"
            cp "tests/${t%.sh}.log" "$dir/run-$r/" 2>/dev/null
        done
        cp tests/test-suite.log "$dir/run-$r/" 2>/dev/null
        [ "$nbad" -gt 0 ] || FAILS["(make exit $rc)"]="${FAILS["(make exit $rc)"]:-}${FAILS["(make exit $rc)"]:+ }$r"
        echo "run $r/$runs: FAIL  ${secs} s  $pass passed, $skip skipped, failed: $(echo $bad) (make exit $rc; logs in $dir/run-$r/)"
    else
        echo "run $r/$runs: ok    ${secs} s  $pass passed, $skip skipped"
    fi
done
stop_load
total=$(( (${EPOCHREALTIME/[.,]/} - ${t_all/[.,]/}) / 1000000 ))

echo "stress summary: $runs runs under $what, $failed_runs failed, ${total} s"
if [ "${#FAILS[@]}" = 0 ]; then
    echo "  no test failed"
else
    for t in $(printf '%s\n' "${!FAILS[@]}" | sort); do
        n=$(wc -w <<<"${FAILS[$t]}")
        echo "  $t: failed $n of $runs (runs ${FAILS[$t]})"
    done
fi
[ "$failed_runs" = 0 ]
