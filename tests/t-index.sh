#!/bin/bash
# tests/INDEX.md, the page a newcomer reads first, names every test: each
# t-*.sh and unit-*.c in tests/ has a row (| NAME | ...), and every row
# names a file that exists.  Fails listing the names to add or remove.
set -eu
dir="${XO_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}/tests"
index=$dir/INDEX.md
[ -f "$index" ] || { echo "FAIL: $index is missing"; exit 1; }
rows=$(sed -n 's/^| \([a-z0-9-]*\.\(sh\|c\)\) |.*/\1/p' "$index" | sort -u)
files=$(cd "$dir" && ls t-*.sh unit-*.c | sort -u)
missing=$(comm -23 <(echo "$files") <(echo "$rows"))
stale=$(comm -13 <(echo "$files") <(echo "$rows") |
    while read -r n; do [ -e "$dir/$n" ] || echo "$n"; done)
rc=0
if [ -n "$missing" ]; then
	echo "FAIL: tests/INDEX.md has no row for (add '| NAME | covers | user story |'):"
	echo "$missing" | sed 's/^/  /'
	rc=1
fi
if [ -n "$stale" ]; then
	echo "FAIL: tests/INDEX.md names tests that do not exist (renamed or removed?):"
	echo "$stale" | sed 's/^/  /'
	rc=1
fi
[ $rc = 0 ] && echo "PASS: tests/INDEX.md names all $(echo "$files" | wc -l) tests"
exit $rc
