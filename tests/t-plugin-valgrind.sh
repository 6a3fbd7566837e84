#!/bin/bash
# The in-process client tests under valgrind memcheck: no invalid reads or
# writes, no uninitialised use, no definite or indirect leaks.
set -eu
builddir="${XO_TOP_BUILDDIR:-.}/tests"
if ! command -v valgrind >/dev/null; then
	echo "SKIP: valgrind not installed"
	[ "${XO_REQUIRE_ALL:-0}" = 1 ] && exit 1
	exit 77
fi
if [ -n "${XO_SANITIZERS:-}" ]; then
	echo "SKIP: sanitizer build (ASan and valgrind do not mix)"; exit 77
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! valgrind -q --leak-check=full --show-leak-kinds=definite,indirect \
    --errors-for-leak-kinds=definite,indirect --error-exitcode=3 \
    --log-file="$log" "$builddir/sasl-client" >/dev/null; then
	cat "$log"
	echo "FAIL: valgrind reported errors or leaks (above)"
	exit 1
fi
if [ -s "$log" ]; then
	cat "$log"; echo "FAIL: valgrind said something"; exit 1
fi
echo "PASS: sasl-client clean under valgrind memcheck"
