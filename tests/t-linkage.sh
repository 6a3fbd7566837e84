#!/bin/bash
# The plugin is loaded into every SASL process: it must not drag libcurl or
# OpenSSL in, and must export nothing but its entry point.
set -eu
so="${XO_PLUGIN_DIR:-plugin/.libs}/libxoauth2.so"
[ -f "$so" ] || { echo "FAIL: $so not built"; exit 1; }

needed=$(readelf -d "$so" | awk '/NEEDED/ {print $NF}' | tr -d '[]')
echo "NEEDED: $needed"
for lib in $needed; do
	case "$lib" in
	libjson-c.so.*|libc.so.*) ;;
	# configure --enable-sanitizers: the runtimes come with the build.
	libasan.so.*|libubsan.so.*) [ -n "${XO_SANITIZERS:-}" ] ||
	    { echo "FAIL: plugin links $lib in a build without sanitizers"; exit 1; } ;;
	*) echo "FAIL: plugin links $lib (only json-c and libc are allowed)"; exit 1 ;;
	esac
done
echo "$needed" | grep -q 'libc\.so' || { echo "FAIL: readelf found no libc (bad parse?)"; exit 1; }

exported=$(nm -D --defined-only "$so" | awk '$2 ~ /^[TDBRVW]$/ {print $3}')
echo "exported: $exported"
[ "$exported" = "sasl_client_plug_init" ] || { echo "FAIL: plugin exports more than sasl_client_plug_init"; exit 1; }

# No writable data: the plugin has no mutable globals.  (Its mechanism
# table is const; with -z relro,now it is read-only after relocation.)
writable=$(objdump -t "$so" | awk '$4 == ".data" || $4 == ".bss" {print $NF}' |
	grep -v -E '^(\.data|\.bss|__dso_handle|__TMC_END__|completed\.[0-9]+)$' || true)
if [ -n "$writable" ]; then
	echo "FAIL: the plugin has writable global data: $writable"; exit 1
fi
echo "PASS: links only $(echo $needed), exports only sasl_client_plug_init, no mutable globals"
