#!/bin/bash
# libsasl2's own tool sees both client mechanisms in the build's plugin dir.
set -eu
dir="${XO_PLUGIN_DIR:-plugin/.libs}"
command -v saslpluginviewer >/dev/null || { echo "SKIP: saslpluginviewer (sasl2-bin) not installed"; [ "${XO_REQUIRE_ALL:-0}" = 1 ] && exit 1; exit 77; }
# A sanitizer build's plugin needs the ASan runtime first in the process.
preload=()
if [ -n "${XO_SANITIZERS:-}" ]; then
	preload=(env "LD_PRELOAD=${XO_ASAN_PRELOAD:-$(gcc -print-file-name=libasan.so)}"
	    "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0")
fi
out=$("${preload[@]}" saslpluginviewer -c -p "$dir" 2>&1)
echo "$out"
for mech in XOAUTH2 OAUTHBEARER; do
	echo "$out" | grep -A1 '^Plugin "xoauth2" \[loaded\]' | grep -q "SASL mechanism: $mech," ||
	    { echo "FAIL: $mech not listed as a loaded client mechanism"; exit 1; }
done
echo "PASS: both mechanisms listed"
