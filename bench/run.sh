#!/bin/bash
# bench/run.sh -- build bench/bench into the build tree and compare our
# plugin with Cyrus's PLAIN: the cost of one exchange (token as secret,
# and token-file path as secret), and of dlopen in a fresh process; and
# time "xoauth2-token token FILE" as a whole process.  With --callgrind
# (and valgrind installed), also instructions per exchange and the
# plugin's most expensive functions.
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
quick=0
xo_args=()
while [ $# -gt 0 ]; do
	case "$1" in
	--callgrind) callgrind=1 ;;
	--quick) quick=1
		 xo_args+=(--rounds 5 --batch-ms 20 --dlopen-runs 40
			   --helper-runs 20) ;;
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
helper=$XO_TOP_BUILDDIR/helper/xoauth2-token
if [ -z "${XO_PLAIN_SO:-}" ]; then
	libdir=$($PKG_CONFIG --variable=libdir libsasl2 2>/dev/null || true)
	XO_PLAIN_SO=${libdir:-/usr/lib/x86_64-linux-gnu}/sasl2/libplain.so
fi

[ -f "$xo_so" ] || { echo "bench: $xo_so is not built; run make first" >&2; exit 69; }
[ -x "$helper" ] || { echo "bench: $helper is not built; run make first" >&2; exit 69; }
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
    -I"$XO_TOP_SRCDIR/tests" "$XO_TOP_SRCDIR/bench/bench.c" $SASL_CFLAGS \
    $SASL_LIBS -ldl
if readelf -d "$bench" | grep -q 'NEEDED.*json-c'; then
	echo "bench: $bench links json-c, which hides its load cost" >&2
	exit 70
fi

echo "xoauth2 bench: $(date -u '+%Y-%m-%d %H:%M:%SZ'), $(nproc) CPUs," \
    "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "  ours:     $xo_so ($(stat -c '%s bytes, built %y' "$xo_so" | cut -c1-40))"
echo "  baseline: $XO_PLAIN_SO"
echo "  helper:   $helper"
echo
"$bench" --xoauth2-so "$xo_so" --plain-so "$XO_PLAIN_SO" --helper "$helper" \
    ${xo_args[@]+"${xo_args[@]}"}

[ "$callgrind" = 1 ] || exit 0
if ! command -v valgrind >/dev/null; then
	echo; echo "callgrind: skipped, valgrind is not installed"
	exit 0
fi

# Instructions are stable from run to run where times are not.  Only
# bench_batch() is counted: setup, plugin loading and warm-up are not.
if [ "$quick" = 1 ]; then iters=${XO_CALLGRIND_ITERS:-500}
else iters=${XO_CALLGRIND_ITERS:-2000}; fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/xo-bench-cg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo
echo "callgrind: instructions per exchange ($iters exchanges in bench_batch;" \
    "token-file cases $((iters / 4)))"
printf '%-18s %12s\n' case "Ir/exchange"
base_name='' base_ir=''
names=() irs=() ns=()
while IFS=$'\t' read -r name role; do
	out=$tmp/cg.$((${#names[@]}))
	# A token-file exchange costs ten times PLAIN's instructions, and
	# callgrind is slow on the 64 KB wipe among them; the count per
	# exchange is the same with a quarter of the exchanges.
	case $name in
	*-tokenfile) n=$((iters / 4)) ;;
	*) n=$iters ;;
	esac
	[ "$n" -ge 1 ] || n=1
	valgrind --tool=callgrind --toggle-collect=bench_batch \
	    --callgrind-out-file="$out" -q \
	    "$bench" --xoauth2-so "$xo_so" --plain-so "$XO_PLAIN_SO" \
	    --case "$name" --iterations "$n" >/dev/null
	total=$(awk '/^(totals|summary):/ {print $2; exit}' "$out")
	ir=$((total / n))
	printf '%-18s %12d\n' "$name" "$ir"
	names+=("$name"); irs+=("$ir"); ns+=("$n")
	if [ "$role" = baseline ]; then base_name=$name; base_ir=$ir; fi
done < <("$bench" --list-cases)
echo
for i in "${!names[@]}"; do
	[ "${names[i]}" = "$base_name" ] && continue
	awk -v a="${irs[i]}" -v b="$base_ir" -v w="${names[i]}/$base_name" \
	    'BEGIN { printf "ratio instructions %s = %.2f\n", w, a / b }'
done

# Where an exchange spends its instructions: the top functions by self
# cost, then a function of the plugin and what it calls (inclusive).
# shellcheck disable=SC2016  # awk's \$1, not the shell's
per_exch='{ ir = $1; gsub(",", "", ir); fn = $0
	   sub(/^ *[0-9,]+ +\( *[0-9.]+%\) +/, "", fn)
	   printf "  %8d Ir/exchange  %s\n", ir / n, fn }'

# cg_top FILE: the 12 functions with the most self cost; per exchange,
# given $n exchanges.
cg_top() {
	callgrind_annotate --inclusive=no "$1" 2>/dev/null |
	    awk -v n="$n" '/PROGRAM TOTALS/ { go = 1; next }
		go && /^ *[0-9,]+ +\(/ && shown++ < 12 '"$per_exch"
}

# cg_tree FILE calling|caller FUNCTION: FUNCTION's inclusive cost with
# what it calls, or with who calls it; the 12 costliest lines.
# callgrind_annotate may list a function twice (once per spelling of its
# source file's name); the entry with the most callers or callees wins.
cg_tree() {
	callgrind_annotate --inclusive=yes --tree="$2" "$1" 2>/dev/null |
	    awk -v fn="$3" '
		function done_block() {
			if (hit && k > best_k) {
				for (i = 0; i < k; i++)
					best[i] = block[i]
				best_k = k
			}
			k = 0; hit = 0
		}
		/^$/ { done_block(); next }
		{ block[k++] = $0 }
		/^ *[0-9,]+ +\( *[0-9.]+%\) +\* / {
			name = $0
			sub(/ +\[[^]]*\]$/, "", name)
			if (name ~ (":" fn "$"))
				hit = 1
		}
		END { done_block()
		      for (i = 0; i < best_k && i < 12; i++) print best[i] }' |
	    awk -v n="$n" '{ sub(/\*  /, ""); sub(/>   /, "  > "); sub(/< /, "  < ")
				 sub(/ \([0-9,]+x\)/, "") } '"$per_exch"
}

for i in "${!names[@]}"; do
	n=${ns[i]}
	case ${names[i]} in
	XOAUTH2)
		echo
		echo "callgrind: XOAUTH2, top functions by self cost"
		cg_top "$tmp/cg.$i"
		echo
		echo "callgrind: XOAUTH2, the plugin's xo_step and what it" \
		    "calls (inclusive)"
		cg_tree "$tmp/cg.$i" calling xo_step
		xo_ir=${irs[i]}
		;;
	XOAUTH2-tokenfile)
		echo
		echo "callgrind: XOAUTH2-tokenfile, top functions by self cost"
		cg_top "$tmp/cg.$i"
		echo
		echo "callgrind: XOAUTH2-tokenfile, the plugin's xo_step and" \
		    "what it calls (inclusive)"
		cg_tree "$tmp/cg.$i" calling xo_step
		echo
		echo "callgrind: XOAUTH2-tokenfile, tokfile_read and what it" \
		    "calls (inclusive)"
		cg_tree "$tmp/cg.$i" calling tokfile_read
		echo
		echo "callgrind: XOAUTH2-tokenfile, who calls xo_has_ctl"
		cg_tree "$tmp/cg.$i" caller xo_has_ctl
		if [ -n "${xo_ir:-}" ]; then
			echo
			echo "callgrind: the token file adds" \
			    "$((irs[i] - xo_ir)) Ir/exchange to XOAUTH2's $xo_ir"
		fi
		;;
	esac
done
