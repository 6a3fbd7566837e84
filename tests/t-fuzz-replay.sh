#!/bin/bash
# Every fuzz corpus (fuzz/corpus/TARGET/) through its target, built with
# the project's compiler and a plain main() (tests/fuzz-replay.c) instead
# of libFuzzer: the targets' checks hold for gcc builds on every `make
# check', not only in `make fuzz'.  A corpus without a replay program
# fails: add TARGET to FUZZ_REPLAYS in tests/Makefile.am.
set -eu
. "$(dirname "$0")/lib.sh"

n=0
for dir in "$XO_TOP_SRCDIR"/fuzz/corpus/*/; do
    t=$(basename "$dir")
    prog=$XO_TOP_BUILDDIR/tests/replay-$t
    xo_step "$t"
    [ -x "$prog" ] || xo_fail "no replay program for $t: add replay-$t to FUZZ_REPLAYS in tests/Makefile.am"
    files=$(find "$dir" -maxdepth 1 -type f | wc -l)
    [ "$files" -gt 0 ] || xo_fail "$dir is empty"
    xo_run_timeout 120 "$prog" "$dir" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc 0 "$XO_TMP/err"
    grep -qx ".*: $files inputs replayed" "$XO_TMP/out" \
        || xo_fail "$t: not every input of $dir replayed ($files files)" "$XO_TMP/out"
    n=$((n + files))
done
[ "$n" -gt 0 ] || xo_fail "no corpus under $XO_TOP_SRCDIR/fuzz/corpus"
echo "   ok: $n inputs"
xo_pass
