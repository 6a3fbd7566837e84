#!/bin/bash
# Builds the libFuzzer targets out of tree and runs each for SECONDS
# (default 60), then prints the executions and findings of every target.
#
#   fuzz/run.sh            # 60 s per target
#   fuzz/run.sh 300        # 5 minutes per target
#   fuzz/run.sh 0          # build, then replay the corpora once (a quick
#                          # regression check; what CI can afford)
#
# Environment:
#   FUZZ_BUILDDIR   where binaries, the growing corpora and crash files go
#                   (default /tmp/xoauth2-fuzz; kept between runs, so the
#                   corpora keep growing)
#   FUZZ_TARGETS    which targets (default: all nine)
#   FUZZ_ARGS       more libFuzzer flags, e.g. "-max_len=70000"
#   CC              a clang with libFuzzer (default clang; Debian:
#                   clang-14 and libclang-rt-14-dev)
#   PKG_CONFIG      for json-c, libcurl, libsasl2 and openssl (default
#                   pkg-config)
#
# Exit status: 0 if every target built and nothing was found, 1 if a
# target found a crash, leak, timeout or OOM (the input is saved under
# $FUZZ_BUILDDIR/artifacts/TARGET/; replay it with the binary), 2 if a
# target did not build.
set -u

seconds=${1:-60}
case $seconds in ''|*[!0-9]*) echo "usage: $0 [SECONDS]" >&2; exit 64 ;; esac

src=$(cd "$(dirname "$0")/.." && pwd)
fuzz=$src/fuzz
build=${FUZZ_BUILDDIR:-/tmp/xoauth2-fuzz}
targets=${FUZZ_TARGETS:-fuzz_challenge fuzz_payload fuzz_tokfile fuzz_token_response
	fuzz_device_response fuzz_loopback fuzz_mailtest_lines fuzz_sasl
	fuzz_claims}
CC=${CC:-clang}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

mkdir -p "$build" || exit 2
cd "$build" || exit 2

# The few config.h facts the sources use, without running configure.
cat >config.h <<'H'
#define _GNU_SOURCE 1
#define HAVE_EXPLICIT_BZERO 1
#define PACKAGE_NAME "xoauth2"
#define PACKAGE_VERSION "fuzz"
H

CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
	-fno-sanitize-recover=undefined -Wall -Wextra -Wshadow -Wformat=2
	-Wstrict-prototypes -Wmissing-prototypes -Wpointer-arith -Wwrite-strings
	-Wundef -Wvla -Wnull-dereference -Wimplicit-fallthrough"
CPPFLAGS="-I$build -I$fuzz -I$src/plugin -I$src/common -I$src/helper -I$src/tests"
jsonc=$($PKG_CONFIG --cflags --libs json-c) || exit 2
curl=$($PKG_CONFIG --cflags --libs libcurl) || exit 2
sasl=$($PKG_CONFIG --cflags --libs libsasl2) || exit 2
ssl=$($PKG_CONFIG --cflags --libs openssl) || exit 2
common="$src/common/tokfile.c $src/common/tokfile_io.c
	$src/common/xo_json.c $src/common/xo_util.c
	$src/common/xo_err.c"
oauth="$src/helper/oauth.c $src/helper/oauth_http.c $src/helper/oauth_answer.c $src/helper/wipemem.c"

build_target() {
	local t=$1 srcs libs
	case $t in
	fuzz_challenge|fuzz_payload)
		srcs="$src/plugin/payload.c $src/common/xo_util.c"; libs=$jsonc ;;
	fuzz_tokfile)
		srcs=$common; libs=$jsonc ;;
	fuzz_token_response|fuzz_device_response)
		srcs="$oauth $src/helper/diag.c $src/helper/base64url.c $common"
		libs="$curl $jsonc $ssl" ;;
	fuzz_loopback)
		srcs="$src/helper/loopback.c $src/common/xo_util.c"; libs= ;;
	fuzz_claims)
		srcs="$src/helper/diag.c $src/helper/base64url.c $common"
		libs=$jsonc ;;
	fuzz_mailtest_lines)
		srcs="$src/helper/mailtest.c $src/helper/mailtest_net.c
		    $src/helper/mailtest_proto.c $src/helper/mailtest_sasl.c
		    $src/plugin/payload.c $oauth $src/helper/msg.c
		    $src/helper/diag.c $src/helper/base64url.c $common"; libs="$sasl $ssl $curl $jsonc" ;;
	fuzz_sasl)
		# The real libsasl2 loads the plugin, built here with the
		# sanitizers and coverage, from sasl-plugin/ (SASL_PATH); the
		# driver talks only to libsasl2 (no stand-in for its utils).
		mkdir -p sasl-plugin || return 1
		# shellcheck disable=SC2086
		$CC ${CFLAGS/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,} \
		    -shared -fPIC -fvisibility=hidden $CPPFLAGS \
		    -DXO_HELPER_PATH='"/nonexistent/xoauth2-token"' \
		    -o sasl-plugin/libxoauth2.so $src/plugin/xoauth2.c \
		    $src/plugin/payload.c $src/plugin/tokenfile.c \
		    $src/plugin/message.c $common $jsonc || return 1
		srcs=; libs="-DXO_LIBFUZZER $sasl" ;;
	*)
		echo "run.sh: unknown target $t" >&2; return 1 ;;
	esac
	# shellcheck disable=SC2086
	$CC $CFLAGS $CPPFLAGS -o "$t" "$fuzz/$t.c" $srcs $libs
}

declare -A execs finds status
rc=0
for t in $targets; do
	echo "== $t: building"
	if ! build_target "$t" >"$t.build.log" 2>&1; then
		cat "$t.build.log"
		status[$t]="BUILD FAILED"; execs[$t]=0; finds[$t]=0; rc=2
		continue
	fi
	mkdir -p "corpus/$t" "artifacts/$t"
	before=$(find "artifacts/$t" -type f | wc -l)
	# New inputs go to the first (private) corpus; the seeds in the
	# tree are only read.
	if [ "$seconds" = 0 ]; then
		run=(-runs=0)
	else
		run=(-max_total_time="$seconds")
	fi
	echo "== $t: running ${seconds} s"
	case $t in
	fuzz_loopback) dict=$fuzz/http.dict ;;
	fuzz_mailtest_lines) dict=$fuzz/mail.dict ;;
	fuzz_sasl)
		# Its token files go under sasl-files/ (removed below:
		# libFuzzer may exit without running atexit handlers).
		export SASL_PATH=$build/sasl-plugin XO_SASL_FUZZ_DIR=$build/sasl-files
		mkdir -p "$XO_SASL_FUZZ_DIR"
		dict=$fuzz/json.dict ;;
	*) dict=$fuzz/json.dict ;;
	esac
	# shellcheck disable=SC2086
	./"$t" "${run[@]}" -print_final_stats=1 -dict="$dict" \
	    -artifact_prefix="artifacts/$t/" -timeout=10 -rss_limit_mb=2048 \
	    ${FUZZ_ARGS:-} "corpus/$t" "$fuzz/corpus/$t" >"$t.log" 2>&1
	frc=$?
	[ "$t" != fuzz_sasl ] || rm -rf "$build/sasl-files"
	execs[$t]=$(awk '/stat::number_of_executed_units/ {print $2}' "$t.log" | tail -1)
	after=$(find "artifacts/$t" -type f | wc -l)
	finds[$t]=$((after - before))
	if [ "$frc" != 0 ] || [ "${finds[$t]}" != 0 ]; then
		status[$t]=FOUND
		rc=1
		grep -a -E -A25 '^==[0-9]+==ERROR|check failed|runtime error|Test unit written' \
		    "$t.log" | head -60
	else
		status[$t]=ok
	fi
done

echo
printf '%-22s %12s %9s  %s\n' target executions findings status
for t in $targets; do
	printf '%-22s %12s %9s  %s\n' "$t" "${execs[$t]:-?}" "${finds[$t]}" \
	    "${status[$t]}"
done
echo "(logs, corpora and crash inputs in $build)"
exit $rc
