#!/bin/bash
# One message path: libsasl2's utils->seterror and utils->log have their
# own formatter (no %u, %ld, %zu; a one-byte overflow after trailing
# literal text), so the plugin formats every message itself and hands
# libsasl2 only "%s" (plugin/message.c).  This proves from the sources
# that no other call remains, in the plugin or in the common/ code it
# links; message.h also poisons both names, so the build fails first.
# And no test replaces libsasl2's formatters with a printf-like stand-in.
set -eu
src=${XO_TOP_SRCDIR:-.}
cd "$src"
fail=0

# 1. Nobody but message.c names utils->seterror or utils->log (called or
#    taken as a pointer), comments aside.
direct=$(grep -n -E -e '->[[:space:]]*(seterror|log)\b' plugin/*.[ch] common/*.[ch] |
	grep -v -E '^plugin/message\.c:|^[^:]+:[0-9]+:[[:space:]]*(/?\*)' || true)
if [ -n "$direct" ]; then
	echo "FAIL: direct calls to libsasl2's formatters (use xo_msg_error/xo_msg_log):"
	echo "$direct"
	fail=1
fi

# 2. message.c hands libsasl2 "%s" and nothing else.
calls=$(grep -E '(seterror|->log)[[:space:]]*\(' plugin/message.c)
bad=$(echo "$calls" | grep -v -E '\(utils->conn, (flags|level), "%s", buf\);' || true)
if [ "$(echo "$calls" | wc -l)" != 2 ] || [ -n "$bad" ]; then
	echo "FAIL: plugin/message.c must call seterror and log once each with \"%s\":"
	echo "$calls"
	fail=1
fi

# 3. Every plugin file that holds a sasl_utils_t includes message.h, and
#    after the other headers (its poison must see them first).
for f in plugin/*.c; do
	[ "$f" = plugin/message.c ] && continue
	grep -q 'sasl_utils_t' "$f" || continue
	last=$(grep -n '^#include' "$f" | tail -1)
	case $last in
	*'"message.h"'*) ;;
	*) echo "FAIL: $f uses sasl_utils_t but does not include message.h last"; fail=1 ;;
	esac
done

# 4. The formats are checked by the compiler.
for fn in xo_msg_error xo_msg_log; do
	grep -A2 -E "^void $fn\(" plugin/message.h | grep -q 'format(printf' ||
	    { echo "FAIL: $fn lacks __attribute__((format(printf, ...)))"; fail=1; }
done

# 5. No test or fuzz target stands in for libsasl2's utils table: a
#    stand-in with printf semantics hid both crashes once.  Drive the
#    plugin through the real libsasl2 (tests/sasl-client.c, fuzz/fuzz_sasl.c).
stubs=$(grep -n -E -e '(\.|->)[[:space:]]*(seterror|log)[[:space:]]*=[^=]' \
	tests/*.c fuzz/*.c bench/*.c 2>/dev/null || true)
if [ -n "$stubs" ]; then
	echo "FAIL: a stand-in for libsasl2's seterror/log (use the real libsasl2):"
	echo "$stubs"
	fail=1
fi

[ "$fail" = 0 ] || exit 1
echo "PASS: every plugin message goes through message.c with \"%s\"; common/ has none; no stand-in for libsasl2's formatters"
