#!/bin/bash
# bench/run.sh -- build bench/bench into the build tree and compare our
# plugin with Cyrus's PLAIN: the cost of one exchange, and of dlopen in a
# fresh process.  With --callgrind (and valgrind installed), also
# instructions per exchange and the plugin's most expensive functions.
#
#   bench/run.sh [--callgrind] [--quick] [--srcdir DIR] [--builddir DIR]
#                [--plugin-dir DIR] [-- BENCH-ARGS...]
#
# Directories come from the options, else the environment the Makefile
# sets (XO_TOP_SRCDIR, XO_TOP_BUILDDIR, XO_PLUGIN_DIR), else this script's
# tree.  XO_PLAIN_SO overrides where libplain.so is; CC, SASL_CFLAGS and
# SASL_LIBS come from configure through make when run that way.
#
# A report, not a test: it exits 0 when a target is missed (the line says
# MISSED), and non-zero only when it cannot measure (sysexits).
set -eu

callgrind=0
xo_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--callgrind) callgrind=1 ;;
	--quick) xo_args+=(--rounds 5 --batch-ms 20 --dlopen-runs 40) ;;
	--srcdir) XO_TOP_SRCDIR=$2; shift ;;
	--builddir) XO_TOP_BUILDDIR=$2; shift ;;
	--plugin-dir) XO_PLUGIN_DIR=$2; shift ;;
	--) shift; xo_args+=("$@"); break ;;
	*) echo "usage: $0 [--callgrind] [--quick] [--srcdir DIR]" \
	    "[--builddir DIR] [--plugin-dir DIR] [-- BENCH-ARGS...]" >&2
	   exit 64 ;;
	esac
	shift
done

: "${XO_TOP_SRCDIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
if [ -z "${XO_TOP_BUILDDIR:-}" ]; then
	if [ -f ./config.status ]; then XO_TOP_BUILDDIR=$(pwd)
	else XO_TOP_BUILDDIR=$XO_TOP_SRCDIR; fi
fi
: "${XO_PLUGIN_DIR:=$XO_TOP_BUILDDIR/plugin/.libs}"
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
export LC_ALL=C

xo_so=$XO_PLUGIN_DIR/libxoauth2.so
if [ -z "${XO_PLAIN_SO:-}" ]; then
	libdir=$($PKG_CONFIG --variable=libdir libsasl2 2>/dev/null || true)
	XO_PLAIN_SO=${libdir:-/usr/lib/x86_64-linux-gnu}/sasl2/libplain.so
fi

[ -f "$xo_so" ] || { echo "bench: $xo_so is not built; run make first" >&2; exit 69; }
[ -f "$XO_PLAIN_SO" ] || {
	echo "bench: no $XO_PLAIN_SO to compare with; install libsasl2-modules" \
	    "or set XO_PLAIN_SO" >&2
	exit 69
}
# An ASan plugin cannot be loaded into this uninstrumented bench, and its
# numbers would mean nothing anyway.
if readelf -d "$xo_so" | grep -q 'NEEDED.*lib[at]san'; then
	echo "bench: $xo_so is a sanitizer build; configure without" \
	    "--enable-sanitizers to benchmark" >&2
	exit 69
fi

# Build.  SASL_* come from configure when make runs us; by hand, from
# pkg-config.  Never json-c: see the top of bench.c.
: "${SASL_CFLAGS=$($PKG_CONFIG --cflags libsasl2)}"
: "${SASL_LIBS=$($PKG_CONFIG --libs libsasl2)}"
mkdir -p "$XO_TOP_BUILDDIR/bench"
bench=$XO_TOP_BUILDDIR/bench/bench
# shellcheck disable=SC2086  # the flag lists are meant to split
${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Wshadow -Wformat=2 \
    -Wstrict-prototypes -Wmissing-prototypes -o "$bench" \
    "$XO_TOP_SRCDIR/bench/bench.c" $SASL_CFLAGS $SASL_LIBS -ldl
if readelf -d "$bench" | grep -q 'NEEDED.*json-c'; then
	echo "bench: $bench links json-c, which hides its load cost" >&2
	exit 70
fi

echo "xoauth2 bench: $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  ours:     $xo_so ($(stat -c '%s bytes, built %y' "$xo_so" | cut -c1-40))"
echo "  baseline: $XO_PLAIN_SO"
echo
"$bench" --xoauth2-so "$xo_so" --plain-so "$XO_PLAIN_SO" ${xo_args[@]+"${xo_args[@]}"}

[ "$callgrind" = 1 ] || exit 0
if ! command -v valgrind >/dev/null; then
	echo; echo "callgrind: skipped, valgrind is not installed"
	exit 0
fi

# Instructions are stable from run to run where times are not.  Only
# bench_batch() is counted: setup, plugin loading and warm-up are not.
iters=${XO_CALLGRIND_ITERS:-2000}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xo-bench-cg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo
echo "callgrind: instructions per exchange ($iters exchanges in bench_batch)"
printf '%-16s %12s\n' case "Ir/exchange"
base_name='' base_ir=''
names=() irs=()
while IFS=$'\t' read -r name role; do
	out=$tmp/cg.$((${#names[@]}))
	valgrind --tool=callgrind --toggle-collect=bench_batch \
	    --callgrind-out-file="$out" -q \
	    "$bench" --xoauth2-so "$xo_so" --plain-so "$XO_PLAIN_SO" \
	    --case "$name" --iterations "$iters" >/dev/null
	total=$(awk '/^(totals|summary):/ {print $2; exit}' "$out")
	ir=$((total / iters))
	printf '%-16s %12d\n' "$name" "$ir"
	names+=("$name"); irs+=("$ir")
	if [ "$role" = baseline ]; then base_name=$name; base_ir=$ir; fi
done < <("$bench" --list-cases)
echo
for i in "${!names[@]}"; do
	[ "${names[i]}" = "$base_name" ] && continue
	awk -v a="${irs[i]}" -v b="$base_ir" -v w="${names[i]}/$base_name" \
	    'BEGIN { printf "ratio instructions %s = %.2f\n", w, a / b }'
done

# Where an XOAUTH2 exchange spends its instructions: the top functions by
# self cost, then what the plugin's step calls (inclusive).
# shellcheck disable=SC2016  # awk's \$1, not the shell's
per_exch='{ ir = $1; gsub(",", "", ir); fn = $0
	   sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", fn)
	   printf "  %8d Ir/exchange  %s\n", ir / n, fn }'
for i in "${!names[@]}"; do
	[ "${names[i]}" = XOAUTH2 ] || continue
	echo
	echo "callgrind: XOAUTH2, top functions by self cost"
	callgrind_annotate --inclusive=no "$tmp/cg.$i" 2>/dev/null |
	    awk -v n="$iters" '/PROGRAM TOTALS/ { go = 1; next }
		go && /^ *[0-9,]+ +\(/ && shown++ < 12 '"$per_exch"
	echo
	echo "callgrind: XOAUTH2, the plugin's xo_step and what it calls (inclusive)"
	callgrind_annotate --inclusive=yes --tree=calling "$tmp/cg.$i" \
	    2>/dev/null |
	    awk -v n="$iters" '/^ *[0-9,]+ .*\* .*:xo_step \[/ { go = 1 }
		go && /^$/ { exit }
		go && shown++ < 12 { sub(/\*  /, ""); sub(/>   /, "  > ")
				     sub(/ \([0-9,]+x\)/, "") }
		go && shown <= 12 '"$per_exch"
done
