# tests/lib.sh -- shared helpers for the xoauth2 integration tests (bash).
#
# Source it first thing from a test script:
#     . "$(dirname "$0")/lib.sh"
#
# Sourcing it sets up the environment contract (XO_TOP_SRCDIR, XO_TOP_BUILDDIR,
# XO_PLUGIN_DIR, SASL_PATH), a private temp dir $XO_TMP, and an EXIT trap that
# stops every server started through this file and removes $XO_TMP (kept when
# XO_KEEP=1).  Nothing here touches /etc/dovecot, /etc/postfix or the system
# SASL plugin dir; everything listens on 127.0.0.1 only.
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip (99 is not used).
#
# Needs, in one line: xo_require_mail_stack, xo_require_relay_stack,
#             xo_require_crypto, xo_require_helper [--private-store]
# Servers:    xo_start_mail_servers [--no-sink] (the three below),
#             xo_start_relay_servers (and xo_pf_init),
#             xo_start_oauth, xo_start_smtp_sink, xo_start_dovecot,
#             xo_start_exchange (a Microsoft-like IMAP/POP/SMTP + token endpoint),
#             xo_start_py_server (a test's own python server, xo_listen.py)
# Logins:     xo_login_mock, xo_device_login, xo_browser (xo_browser.py)
# Tokens:     xo_grant USER, xo_revoke TOKEN, xo_oauth CTL-ARGS...
# Mail:       xo_dovecot_save USER < message, xo_sink_count
# mbsync:     xo_mbsync_config DIR USER MECH PASSLINE, xo_run_mbsync DIR,
#             xo_assert_synced DIR SUBJECT, xo_assert_not_synced DIR SUBJECT
# Postfix:    xo_require_postfix, xo_pf_init, xo_start_postfix, xo_pf_send,
#             xo_pf_send_valid / _undeferred / _deferred / _refused, ...
#             (see "private postfix instance" below)
# Running:    xo_run_timeout SECS CMD... (sets XO_RC, XO_ELAPSED, XO_ELAPSED_MS)
# Checks:     xo_step, xo_assert_contains, xo_assert_not_contains,
#             xo_assert_rc, xo_assert_faster_than, xo_grep, xo_error_reply_re
# Outcome:    xo_pass, xo_fail MSG [FILE...], xo_skip MSG
# Needs:      xo_require_cmd, xo_require_plugin, xo_require_root

XO_PYTHON=${XO_PYTHON:-/usr/bin/python3}   # system python (aiosmtpd lives there)
XO_TESTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
XO_TEST_NAME=$(basename "$0" .sh)
XO_CYRUS_BIN=${XO_CYRUS_BIN:-/usr/lib/cyrus/bin}

# --- environment contract -------------------------------------------------
# The automake harness exports these; by hand they default to the source
# tree, or to the current directory when it is a configured build root.
: "${XO_TOP_SRCDIR:=$(cd "$XO_TESTS_DIR/.." && pwd)}"
if [ -z "${XO_TOP_BUILDDIR:-}" ]; then
    if [ -f ./config.status ]; then XO_TOP_BUILDDIR=$(pwd)
    else XO_TOP_BUILDDIR=$XO_TOP_SRCDIR; fi
fi
: "${XO_PLUGIN_DIR:=$XO_TOP_BUILDDIR/plugin/.libs}"
export XO_TOP_SRCDIR XO_TOP_BUILDDIR XO_PLUGIN_DIR
# libsasl2 must load our plugin and nothing else (Debian ships another
# XOAUTH2 plugin in the system dir; which one would win is undefined).
export SASL_PATH="$XO_PLUGIN_DIR"
export LC_ALL=C
# No test inherits the caller's proxy: the helper (curl) and the mock
# server's ctl client (urllib) would send loopback requests through it.  A
# test that wants a proxy sets one after sourcing this file (t-proxy.sh).
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy \
    no_proxy NO_PROXY

# The tarball check in CI (distcheck) sets this: the integration tests
# already ran on the same machine, so they need not run twice.
if [ "${XO_SKIP_INTEGRATION:-0}" = 1 ]; then
    echo "SKIP: $XO_TEST_NAME: XO_SKIP_INTEGRATION=1"
    exit 77
fi

# --- temp dir and cleanup ---------------------------------------------------
XO_TMP=$(mktemp -d "${XO_TMPDIR:-/tmp}/xo-$XO_TEST_NAME.XXXXXX")
# Dovecot's unprivileged processes (mail user, dovenull) must traverse it.
chmod 711 "$XO_TMP"
# Servers run in the background, each in its own session (setsid keeps the
# pid), so a Ctrl-C reaches only this script, whose traps stop them in order.
XO__PIDS=()          # background servers, stopped in reverse order
XO__CHILD=           # the client currently run by xo_run_timeout
XO__ATEXIT=()        # commands to run at exit, before the servers stop
XO__T0=$EPOCHREALTIME

xo__cleanup() {
    local rc=$? i pid
    trap - EXIT INT TERM HUP
    set +e
    if [ -n "$XO__CHILD" ]; then
        kill -TERM "$XO__CHILD" 2>/dev/null
        wait "$XO__CHILD" 2>/dev/null
    fi
    for ((i = ${#XO__ATEXIT[@]} - 1; i >= 0; i--)); do
        (exit "$rc"); eval "${XO__ATEXIT[i]}"
    done
    for ((i = ${#XO__PIDS[@]} - 1; i >= 0; i--)); do
        xo__stop_pid "${XO__PIDS[i]}"
    done
    if [ "${XO_KEEP:-0}" = 1 ]; then
        echo "# XO_KEEP=1: kept $XO_TMP"
    else
        rm -rf "$XO_TMP"
    fi
    exit "$rc"
}
trap xo__cleanup EXIT
trap 'echo "# interrupted"; exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# --- sanitizer builds -------------------------------------------------------
# With configure --enable-sanitizers (make check then exports XO_SANITIZERS
# and XO_ASAN_PRELOAD) the plugin is built with ASan and UBSan, and ASan
# wants to be the first library of the process that loads it.  The programs
# that load it here were built without it, so imtest, pop3test, smtptest
# and mbsync run through wrappers in $XO_TMP/asan-bin (t-pluginviewer.sh
# preloads saslpluginviewer itself):
#  - most get the runtime preloaded (XO_ASAN_ENV; postfix passes it on
#    through import_environment): every check, heap included;
#  - programs linking libp11-kit (the Cyrus clients, through gnutls) cannot:
#    its constructor calls newlocale(), whose malloc starts the preloaded
#    ASan, whose start-up calls dlerror(), which takes the locale lock
#    newlocale holds -- glibc's lock is left corrupt and the plugin's first
#    json-c call hangs (llvm-project issue 49223 is the same trap).  They
#    get the runtime with the plugin (verify_asan_link_order=0): stack,
#    global and UB checks, no heap checks (sasl-client has those).
# Leak checking is off in them: their leaks are not ours, and ours are
# checked where our code is the whole program (sasl-client, the helper).
# xo_asan_wrap PROGRAM: prints the program to run for PROGRAM (a path), a
# client that loads the plugin: in a sanitizer build a wrapper in
# $XO_TMP/asan-bin (of the same name, so PATH finds it) that gives it the
# runtime as described above; otherwise PROGRAM itself.
xo_asan_wrap() {
    local env w
    [ -n "${XO_SANITIZERS:-}" ] || { printf '%s\n' "$1"; return 0; }
    w=$XO_TMP/asan-bin/${1##*/}
    env=$XO_ASAN_ENV
    ldd "$1" 2>/dev/null | grep -q 'libp11-kit\.so' &&
        env="$XO__ASAN_OPTS:verify_asan_link_order=0"
    printf '#!/bin/sh\nexec env %s %q "$@"\n' "$env" "$1" >"$w"
    chmod 755 "$w"
    printf '%s\n' "$w"
}
XO_ASAN_ENV=
if [ -n "${XO_SANITIZERS:-}" ]; then
    : "${XO_ASAN_PRELOAD:=$(gcc -print-file-name=libasan.so)}"
    if [ ! -f "$XO_ASAN_PRELOAD" ]; then
        echo "FAIL: $XO_TEST_NAME: no ASan runtime to preload at '$XO_ASAN_PRELOAD'"
        rm -rf "$XO_TMP"
        exit 1
    fi
    XO__ASAN_OPTS="ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    XO_ASAN_ENV="LD_PRELOAD=$XO_ASAN_PRELOAD $XO__ASAN_OPTS"
    mkdir "$XO_TMP/asan-bin"
    for XO__P in "$XO_CYRUS_BIN"/imtest "$XO_CYRUS_BIN"/pop3test \
        "$XO_CYRUS_BIN"/smtptest $(command -v mbsync); do
        [ -x "$XO__P" ] && xo_asan_wrap "$XO__P" >/dev/null
    done
    XO_CYRUS_BIN=$XO_TMP/asan-bin
    PATH=$XO_TMP/asan-bin:$PATH
fi
# After the wrappers: under the sanitizers imtest must be the wrapper.
XO_IMTEST=$XO_CYRUS_BIN/imtest

# xo__stop_pid PID: stop a server started with setsid (so PID is also its
# process group): TERM the leader, wait up to 5 s for the whole group (e.g.
# Dovecot's children) to go, then KILL whatever is left of that group.
xo__stop_pid() {
    local pid=$1 n
    kill -TERM "$pid" 2>/dev/null || true
    for ((n = 0; n < 50; n++)); do
        kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# --- outcome --------------------------------------------------------------
xo__elapsed_total() {
    local us=$(( ${EPOCHREALTIME/[.,]/} - ${XO__T0/[.,]/} ))
    printf '%d.%02d s' $((us / 1000000)) $((us % 1000000 / 10000))
}

# xo_mask: copy stdin to stdout with bearer tokens masked (also inside
# base64 SASL messages; server challenges are shown decoded).
xo_mask() {
    "$XO_PYTHON" "$XO_TESTS_DIR/oauth_server.py" mask
}

# xo_show FILE [TITLE]: print a transcript (masked), indented.
xo_show() {
    local f=$1 title=${2:-$1}
    echo "----- ${title#"$XO_TMP"/} -----"
    if [ -f "$f" ]; then xo_mask < "$f" | sed 's/^/| /'
    else echo "| (missing)"; fi
}

# xo_fail MSG [FILE...]: print MSG, the given transcripts and the tails of
# the server logs, then exit 1.
xo_fail() {
    local msg=$1 f; shift
    echo "FAIL: $XO_TEST_NAME: $msg"
    for f in "$@"; do xo_show "$f"; done
    if [ -n "${XO_DOVECOT_LOG:-}" ] && [ -f "$XO_DOVECOT_LOG" ]; then
        echo "----- dovecot log (last 30 lines) -----"
        tail -n 30 "$XO_DOVECOT_LOG" | xo_mask | sed 's/^/| /'
    fi
    if [ -n "${XO_OAUTH_LOG:-}" ] && [ -f "$XO_OAUTH_LOG" ]; then
        echo "----- oauth server log (last 15 lines) -----"
        tail -n 15 "$XO_OAUTH_LOG" | sed 's/^/| /'
        if [ -s "$XO_TMP/oauth/server.err" ]; then
            echo "----- oauth server stderr (last 15 lines) -----"
            tail -n 15 "$XO_TMP/oauth/server.err" | xo_mask | sed 's/^/| /'
        fi
    fi
    exit 1
}

# xo_skip MSG: exit 77, or fail when XO_REQUIRE_ALL=1 (e.g. in CI, where
# a missing tool must not silently skip the test).
xo_skip() {
    if [ "${XO_REQUIRE_ALL:-0}" = 1 ]; then
        xo_fail "XO_REQUIRE_ALL=1 but: $1"
    fi
    echo "SKIP: $XO_TEST_NAME: $1"
    exit 77
}

# xo_pass: report success with the client run times, exit 0.
xo_pass() {
    if [ -f "$XO_TMP/timings" ]; then
        echo "client runs:"
        cat "$XO_TMP/timings"
    fi
    echo "PASS: $XO_TEST_NAME ($(xo__elapsed_total))"
    exit 0
}

# xo_on_exit CMD: run CMD (a string, eval'd) when the script exits, before
# the servers started through this file are stopped; hooks run last-first.
# For what lib.sh cannot stop by pid (e.g. a daemonising postfix).
# The commands see the script's exit status in $?.  (Scripts must not set an
# EXIT trap of their own: it would replace the one that stops the servers.)
xo_on_exit() {
    XO__ATEXIT+=("$1")
}

# xo_step TEXT: announce what is being checked.
xo_step() {
    echo "== $*"
}

# --- requirements ---------------------------------------------------------
# xo_require_cmd CMD...: skip unless each is executable (a path or on PATH).
xo_require_cmd() {
    local c
    for c in "$@"; do
        if [[ $c == */* ]]; then [ -x "$c" ] || xo_skip "$c not installed"
        else command -v "$c" >/dev/null || xo_skip "$c not installed"; fi
    done
}

xo_require_root() {
    [ "$(id -u)" = 0 ] || xo_skip "needs root (private Dovecot instance)"
}

xo_require_plugin() {
    [ -f "$XO_PLUGIN_DIR/libxoauth2.so" ] \
        || xo_skip "plugin not built: $XO_PLUGIN_DIR/libxoauth2.so missing"
}

# xo_shq WORD...: print the words quoted for sh -c, each in single quotes,
# separated by spaces.  For command lines a test writes into a config that
# a shell runs (PassCmd, passwordeval, a notify command): a clone's path,
# hence the helper's, may hold a space.
xo_shq() {
    local w q="'\\''" out=
    for w in "$@"; do
        out="$out${out:+ }'${w//\'/$q}'"
    done
    printf '%s\n' "$out"
}

# --- running clients ------------------------------------------------------
# xo_run_timeout SECS CMD...: run CMD (stdin/stdout/stderr as redirected by
# the caller) killing it after SECS.  Never fails itself; sets
#   XO_RC          exit status (124 = timed out)
#   XO_ELAPSED     wall time, "S.mmm"
#   XO_ELAPSED_MS  wall time in milliseconds
# Example:
#   xo_run_timeout 20 "$IMTEST" ... <<<"A02 LOGOUT" >"$out" 2>&1
xo_run_timeout() {
    local secs=$1 t0 us; shift
    t0=$EPOCHREALTIME
    # in the background (with stdin kept) so that a Ctrl-C interrupts the
    # wait at once; the EXIT trap then kills the client.
    timeout -k 2 "$secs" "$@" <&0 &
    XO__CHILD=$!
    XO_RC=0
    wait "$XO__CHILD" || XO_RC=$?
    XO__CHILD=
    us=$(( ${EPOCHREALTIME/[.,]/} - ${t0/[.,]/} ))
    XO_ELAPSED_MS=$((us / 1000))
    XO_ELAPSED=$(printf '%d.%03d' $((us / 1000000)) $((us % 1000000 / 1000)))
    if [ "$XO_RC" = 124 ] || [ "$XO_RC" = 137 ]; then
        echo "xo_run_timeout: ${1##*/} killed after ${secs} s" >&2
    fi
    echo "   ${1##*/}: exit $XO_RC after $XO_ELAPSED s" >>"$XO_TMP/timings"
    return 0
}

# --- assertions -------------------------------------------------------------
# xo_grep ERE FILE: grep -E ignoring CRs (protocol transcripts end in CRLF).
xo_grep() {
    [ -f "$2" ] && tr -d '\r' <"$2" | grep -Eq -- "$1"
}

# xo_assert_contains FILE ERE [WHAT]: FILE must match the extended regexp.
xo_assert_contains() {
    xo_grep "$2" "$1" \
        || xo_fail "${3:-expected /$2/ in ${1##*/}}" "$1"
    echo "   ok: ${3:-${1##*/} matches /$2/}"
}

xo_assert_not_contains() {
    ! xo_grep "$2" "$1" \
        || xo_fail "${3:-unexpected /$2/ in ${1##*/}}" "$1"
    echo "   ok: ${3:-${1##*/} does not match /$2/}"
}

# xo_error_reply_re MECH: ERE for a Cyrus test client's answer to the
# server's error challenge: XOAUTH2 sends an empty response, OAUTHBEARER a
# single ^A (RFC 7628 3.2.3), base64 "AQ==".
xo_error_reply_re() {
    case $1 in
    XOAUTH2) echo '^C: $' ;;
    OAUTHBEARER) echo '^C: AQ==$' ;;
    *) xo_fail "xo_error_reply_re: unknown mechanism $1" ;;
    esac
}

# xo_assert_refused_cleanly OUT MECH CHALLENGE_RE REFUSED_RE ABORT_RE: OUT
# is the transcript of a Cyrus test client (imtest, pop3test, smtptest) that
# sent a revoked token: the server sent its error challenge (CHALLENGE_RE),
# the client answered it as MECH requires rather than aborting (no
# ABORT_RE), the server refused (REFUSED_RE), and all within 10 s.
xo_assert_refused_cleanly() {
    local out=$1 mech=$2
    xo_assert_contains "$out" "$3" "server sent its error challenge"
    xo_assert_contains "$out" "$(xo_error_reply_re "$mech")" \
        "client answered it as $mech requires"
    xo_assert_contains "$out" "$4" "server refused"
    xo_assert_not_contains "$out" '^Authenticated\.' "not authenticated"
    xo_assert_not_contains "$out" "$5" \
        "client answered the error challenge (no abort)"
    xo_assert_faster_than 10 "$out"
}

# xo_assert_rc EXPECTED [FILE]: the last xo_run_timeout's exit status.
# EXPECTED may be "nonzero".
xo_assert_rc() {
    local want=$1 file=${2:-}
    if [ "$XO_RC" = 124 ] || [ "$XO_RC" = 137 ]; then
        xo_fail "client timed out (killed after $XO_ELAPSED s)" ${file:+"$file"}
    elif [ "$want" = nonzero ]; then
        [ "$XO_RC" != 0 ] \
            || xo_fail "exit status 0, expected failure" ${file:+"$file"}
    else
        [ "$XO_RC" = "$want" ] \
            || xo_fail "exit status $XO_RC, expected $want" ${file:+"$file"}
    fi
    echo "   ok: exit status $XO_RC (${XO_ELAPSED} s)"
}

# xo_assert_faster_than SECS [FILE]: the last xo_run_timeout took < SECS.
xo_assert_faster_than() {
    [ "$XO_ELAPSED_MS" -lt $(($1 * 1000)) ] \
        || xo_fail "took $XO_ELAPSED s, limit $1 s" ${2:+"$2"}
    echo "   ok: took $XO_ELAPSED s (< $1 s)"
}

# --- ports ----------------------------------------------------------------
# xo_free_ports N: print N distinct free loopback ports, one per line.  The
# kernel picks them (bind to port 0), all held at once so they differ;
# starters retry with fresh ports if one is taken in the meantime.
xo_free_ports() {
    "$XO_PYTHON" - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print("\n".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# xo_wait_listen PORT [PID] [SECS]: wait until something (PID itself, if
# given: another process may hold a port we were told was free) listens on
# 127.0.0.1:PORT, at most SECS (default 10); fail early if PID has died.
xo_wait_listen() {
    local port=$1 pid=${2:-} secs=${3:-10} n
    for ((n = 0; n < secs * 10; n++)); do
        if ss -Hltnp "sport = :$port" 2>/dev/null | grep -q "${pid:+pid=${pid}[,)]}"; then
            return 0
        fi
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.1
    done
    return 1
}

# xo_wait_file FILE PID WHAT LOG: wait until the server PID (started in the
# background) has written FILE (its port file), at most 10 s; fail naming
# WHAT, with LOG, if it dies or does not.
xo_wait_file() {
    local n
    for ((n = 0; n < 100; n++)); do
        [ -s "$1" ] && return 0
        kill -0 "$2" 2>/dev/null || xo_fail "$3 died" "$4"
        sleep 0.1
    done
    xo_fail "$3 did not start" "$4"
}

# xo_poll SECS CMD...: run CMD every 0.1 s until it succeeds (return 0),
# at most about SECS (return 1).  The wait for an event: a file, a line.
xo_poll() {
    local secs=$1 n; shift
    for ((n = 0; n < secs * 10; n++)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

# xo_wait_line FILE ERE [SECS] [WHAT]: wait until FILE matches ERE (a line
# another process writes: a log line, a "done" mark), at most SECS (default
# 20); fail with WHAT and FILE otherwise.  For output written by a process
# the test does not wait for (e.g. a $BROWSER the helper leaves running).
xo_wait_line() {
    xo_poll "${3:-20}" xo_grep "$2" "$1" \
        || xo_fail "${4:-${1##*/} did not show /$2/} within ${3:-20} s" "$1"
}

# xo_count FILE ERE: how many lines of FILE match ERE (0 if no FILE).
xo_count() {
    [ -f "$1" ] || { echo 0; return 0; }
    tr -d '\r' <"$1" | grep -cE -- "$2" || true
}

# xo__count_ge FILE ERE N: at least N lines of FILE match ERE.
xo__count_ge() {
    [ "$(xo_count "$1" "$2")" -ge "$3" ]
}

# xo_hold_lock FILE UNTIL: take FILE.lock (flock, as the helper does) in
# a background subshell, and return once it is held.  The holder lets go
# when the shell command UNTIL succeeds (checked every 0.1 s), at most
# after 30 s.  Sets XO_HOLDER (its pid: wait for it) and XO_HOLD_MARK (a
# file that ends in "released" when UNTIL came true, else "gave up").
xo_hold_lock() {
    XO_HOLD_MARK=$XO_TMP/hold-lock.$RANDOM
    (
        exec 9>>"$1.lock"
        flock 9 || exit 1
        echo held >"$XO_HOLD_MARK"
        if xo_poll 30 eval "$2"; then echo released; else echo "gave up"; fi \
            >>"$XO_HOLD_MARK"
    ) </dev/null &
    XO_HOLDER=$!
    xo_wait_line "$XO_HOLD_MARK" '^held$' 20 "the test could not take $1.lock"
}

# xo_lock_waiters LOCKFILE PROGRAM: how many processes running PROGRAM (a
# path; or PROGRAM-full, which the helper's front execs for the commands
# that go to the network) have LOCKFILE open (the helper keeps it open
# while it waits).
xo_lock_waiters() {
    local exe p n=0
    exe=$(readlink -f "$2")
    for p in $(find /proc/[0-9]*/fd -maxdepth 1 -lname "$1" 2>/dev/null | cut -d/ -f3 | sort -u); do
        case $(readlink "/proc/$p/exe" 2>/dev/null) in
        "$exe" | "$exe"-full) n=$((n + 1)) ;;
        esac
    done
    echo "$n"
}

# --- mock OAuth server ------------------------------------------------------
# xo_start_oauth: sets XO_OAUTH_PORT, XO_OAUTH_URL, XO_OAUTH_PORT_FILE,
# XO_OAUTH_LOG.  The server binds port 0 itself, so it cannot collide.
xo_start_oauth() {
    local dir=$XO_TMP/oauth n pid
    mkdir -p "$dir"
    XO_OAUTH_PORT_FILE=$dir/port
    XO_OAUTH_LOG=$dir/server.log
    setsid "$XO_PYTHON" "$XO_TESTS_DIR/oauth_server.py" serve \
        --port-file "$XO_OAUTH_PORT_FILE" --state-dir "$dir/state" \
        --log "$XO_OAUTH_LOG" </dev/null >>"$dir/server.err" 2>&1 &
    pid=$!
    XO__PIDS+=("$pid")
    for ((n = 0; n < 100; n++)); do
        [ -s "$XO_OAUTH_PORT_FILE" ] && break
        kill -0 "$pid" 2>/dev/null \
            || xo_fail "OAuth server died" "$dir/server.err"
        sleep 0.1
    done
    [ -s "$XO_OAUTH_PORT_FILE" ] \
        || xo_fail "OAuth server did not start" "$dir/server.err"
    XO_OAUTH_PORT=$(cat "$XO_OAUTH_PORT_FILE")
    XO_OAUTH_URL=http://127.0.0.1:$XO_OAUTH_PORT
    echo "   oauth server on $XO_OAUTH_URL"
}

# xo_oauth CTL-ARGS...: oauth_server.py ctl against our server, e.g.
#   xo_oauth stats;  xo_oauth fault 500 --count 1
xo_oauth() {
    "$XO_PYTHON" "$XO_TESTS_DIR/oauth_server.py" ctl \
        --port-file "$XO_OAUTH_PORT_FILE" "$@"
}

# xo_grant USER [ARGS...]: mint a grant, print its access token.
xo_grant() {
    xo_oauth grant "$@"
}

# xo_device_login USER SECS CMD...: CMD, a device-flow login, in the
# background (redirect the call to keep its output); the mock server
# approves the code for USER as soon as one is handed out; waits up to SECS
# for CMD to end.  XO_RC is its exit status.
xo_device_login() {
    local user=$1 secs=$2 pid n
    shift 2
    "$@" &
    pid=$!
    xo_on_exit "kill $pid 2>/dev/null || true"
    for ((n = 0; n < 100; n++)); do
        xo_oauth -q device approve --user "$user" >/dev/null 2>&1 && break
        sleep 0.1
    done
    XO_RC=0
    for ((n = 0; n < secs * 10; n++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    wait "$pid" || XO_RC=$?
}

# xo_revoke TOKEN
xo_revoke() {
    xo_oauth -q revoke "$1"
}

# xo_revoked_grant USER: mint a grant and revoke it at once; print its
# access token (what a client holding a revoked token sends).
xo_revoked_grant() {
    local token
    token=$(xo_grant "$1") || return
    xo_revoke "$token"
    echo "$token"
}

# --- SMTP sink (aiosmtpd) -------------------------------------------------
# xo_start_smtp_sink: sets XO_SINK_PORT and XO_SINK_DIR (a Maildir: each
# received message is a file under $XO_SINK_DIR/new).
xo_start_smtp_sink() {
    local pid _
    XO_SINK_DIR=$XO_TMP/sink
    for _ in 1 2 3; do
        XO_SINK_PORT=$(xo_free_ports 1)
        setsid "$XO_PYTHON" -m aiosmtpd -n -l "127.0.0.1:$XO_SINK_PORT" \
            -c aiosmtpd.handlers.Mailbox "$XO_SINK_DIR" \
            </dev/null >>"$XO_TMP/sink.log" 2>&1 &
        pid=$!
        XO__PIDS+=("$pid")      # at once, so an interrupt stops it too
        if xo_wait_listen "$XO_SINK_PORT" "$pid"; then
            echo "   smtp sink on 127.0.0.1:$XO_SINK_PORT"
            return 0
        fi
        xo__stop_pid "$pid"
        unset 'XO__PIDS[-1]'
    done
    xo_fail "SMTP sink did not start" "$XO_TMP/sink.log"
}

# xo_sink_count: number of messages the sink has received.
xo_sink_count() {
    find "$XO_SINK_DIR/new" -type f 2>/dev/null | wc -l
}

# xo_sink_wait SUBJECT [SECS]: 0 once a message with SUBJECT is at the
# sink (within SECS, default 5), else 1.
xo_sink_wait() {
    local n
    for ((n = 0; n < ${2:-5} * 10; n++)); do
        [ -n "$(xo_sink_grep "^Subject: $1\$")" ] && return 0
        sleep 0.1
    done
    return 1
}

# xo_sink_grep ERE: print the sink files matching ERE.
xo_sink_grep() {
    local f
    for f in "$XO_SINK_DIR"/new/*; do
        xo_grep "$1" "$f" && echo "$f"
    done
    return 0
}

# --- private Dovecot --------------------------------------------------------
# xo_start_dovecot: a Dovecot instance under $XO_TMP/dovecot with IMAP, POP3
# and (if the SMTP sink runs) submission on 127.0.0.1, authenticating only
# XOAUTH2/OAUTHBEARER through the oauth2 passdb against our OAuth server.
# Sets XO_IMAP_PORT, XO_POP3_PORT, XO_SUBMISSION_PORT, XO_DOVECOT_CONF,
# XO_DOVECOT_LOG, XO_MAIL_DIR.  Mail is stored as user $XO_MAIL_USER.
# A second instance in the same script: set XO_DOVECOT_NAME (its directory
# under $XO_TMP) for that call, and keep the first one's ports beforehand.
# XO_DOVECOT_EXTRA: more configuration, appended before Dovecot starts (a
# `doveadm reload` afterwards would take effect at some later moment that
# nothing announces: new connections may still meet the old settings).
XO_MAIL_USER=${XO_MAIL_USER:-mail}

# xo_dovecot_syntax: set XO_DOVECOT_SYNTAX to 2.3 or 2.4, the configuration
# language (and log wording) of the installed Dovecot (dovecot --version;
# Debian 12 has 2.3.19, Debian 13 2.4.1); once per script.
xo_dovecot_syntax() {
    local v
    [ -z "${XO__DOVECOT_SEEN:-}" ] || return 0
    xo_require_cmd dovecot
    v=$(dovecot --version 2>&1) || xo_fail "dovecot --version failed: $v"
    case $v in
    2.3.*) XO_DOVECOT_SYNTAX=2.3 XO__DOVECOT_SEEN=1 ;;
    2.4.*) XO_DOVECOT_SYNTAX=2.4 XO__DOVECOT_SEEN=1 ;;
    *)  echo "xo_dovecot_syntax: Dovecot $v: tests/lib.sh writes configuration for 2.3 and 2.4 only" >&2
        xo_fail "Dovecot $v: tests/lib.sh writes configuration for 2.3 and 2.4 only" ;;
    esac
}

# xo_dovecot_login_re SERVICE USER MECH: the ERE of the log line with which
# Dovecot's SERVICE-login process (imap, pop3, submission) announces USER's
# successful login with MECH.  2.3 words it "Login: user=<...>", 2.4
# "Logged in: user=<...>"; both go on ", method=MECH, rip=...".
xo_dovecot_login_re() {
    xo_dovecot_syntax
    case $XO_DOVECOT_SYNTAX in
    2.3) echo "$1-login: Info: Login: user=<$2>, method=$3," ;;
    *) echo "$1-login: Info: Logged in: user=<$2>, method=$3," ;;
    esac
}

# xo__dovecot_conf_head: the lines a Dovecot configuration must start with
# (2.4: which language and storage format it is written for; 2.3: none).
xo__dovecot_conf_head() {
    [ "$XO_DOVECOT_SYNTAX" = 2.3 ] && return 0
    printf 'dovecot_config_version = 2.4.0\ndovecot_storage_version = 2.4.0\n'
}

# xo__dovecot_conf_auth DIR: cleartext allowed (no TLS on loopback), the
# Maildir, the oauth2 passdb (introspection at the mock server; 2.3 reads
# it from DIR/oauth2.conf.ext) and the static userdb, in the installed
# Dovecot's language.
xo__dovecot_conf_auth() {
    local gid
    gid=$(id -gn "$XO_MAIL_USER")
    if [ "$XO_DOVECOT_SYNTAX" = 2.3 ]; then
        cat <<EOF
disable_plaintext_auth = no
mail_location = maildir:~/Maildir
passdb {
  driver = oauth2
  mechanisms = xoauth2 oauthbearer
  args = $1/oauth2.conf.ext
}
userdb {
  driver = static
  args = uid=$XO_MAIL_USER gid=$gid home=$XO_MAIL_DIR/%u allow_all_users=yes
}
EOF
        return 0
    fi
    cat <<EOF
auth_allow_cleartext = yes
mail_driver = maildir
mail_path = ~/Maildir
oauth2 {
$(xo__oauth2_introspection)
  http_client_request_absolute_timeout = 5s
}
passdb oauth2 {
  mechanisms_filter = xoauth2 oauthbearer
}
userdb static {
  fields {
    uid = $XO_MAIL_USER
    gid = $gid
    home = $XO_MAIL_DIR/%{user}
  }
}
userdb_static_allow_all_users = yes
EOF
}

# The oauth2 passdb asks the mock server's introspection endpoint: the
# same settings in 2.3's oauth2.conf.ext and 2.4's oauth2 { } block.
xo__oauth2_introspection() {
    cat <<EOF
introspection_mode = post
introspection_url = $XO_OAUTH_URL/introspect
username_attribute = username
active_attribute = active
active_value = true
force_introspection = yes
EOF
}

xo_start_dovecot() {
    local d=$XO_TMP/${XO_DOVECOT_NAME:-dovecot} pid ports protocols port _
    [ -n "${XO_OAUTH_URL:-}" ] || xo_fail "xo_start_dovecot needs xo_start_oauth first"
    xo_require_root
    xo_require_cmd dovecot doveadm
    id "$XO_MAIL_USER" >/dev/null 2>&1 || xo_skip "no system user $XO_MAIL_USER"
    mkdir -p "$d/run" "$d/state"
    XO_DOVECOT_CONF=$d/dovecot.conf
    XO_DOVECOT_LOG=$d/dovecot.log
    XO_MAIL_DIR=$XO_TMP/mail
    mkdir -p "$XO_MAIL_DIR"
    chown "$XO_MAIL_USER:" "$XO_MAIL_DIR"
    chmod 700 "$XO_MAIL_DIR"

    xo_dovecot_syntax
    if [ "$XO_DOVECOT_SYNTAX" = 2.3 ]; then
        { xo__oauth2_introspection; echo "timeout_msecs = 5000"; } >"$d/oauth2.conf.ext"
    fi
    protocols="imap pop3"
    [ -n "${XO_SINK_PORT:-}" ] && protocols="$protocols submission"

    for _ in 1 2 3; do
        mapfile -t ports < <(xo_free_ports 3)
        [ "${#ports[@]}" = 3 ] || xo_fail "could not pick free ports"
        XO_IMAP_PORT=${ports[0]} XO_POP3_PORT=${ports[1]}
        XO_SUBMISSION_PORT=${ports[2]}
        [ -n "${XO_SINK_PORT:-}" ] || XO_SUBMISSION_PORT=0
        cat >"$XO_DOVECOT_CONF" <<EOF
$(xo__dovecot_conf_head)
# generated by tests/lib.sh for $XO_TEST_NAME (Dovecot $XO_DOVECOT_SYNTAX)
instance_name = xo-$XO_TEST_NAME${XO_DOVECOT_NAME:+-$XO_DOVECOT_NAME}
base_dir = $d/run
state_dir = $d/state
log_path = $XO_DOVECOT_LOG
listen = 127.0.0.1
protocols = $protocols
hostname = localhost
ssl = no
login_trusted_networks = 127.0.0.0/8
auth_mechanisms = xoauth2 oauthbearer
auth_verbose = yes
first_valid_uid = 1
first_valid_gid = 1
submission_relay_host = 127.0.0.1
submission_relay_port = ${XO_SINK_PORT:-25}
submission_relay_ssl = no

$(xo__dovecot_conf_auth "$d")

service imap-login {
  inet_listener imap {
    port = $XO_IMAP_PORT
  }
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3 {
    port = $XO_POP3_PORT
  }
  inet_listener pop3s {
    port = 0
  }
}
service submission-login {
  inet_listener submission {
    port = $XO_SUBMISSION_PORT
  }
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
# No auth penalty: Dovecot 2.3 delays every auth from an IP by 4, 8, 15 s
# after failures, even from login_trusted_networks; mode 0 disables it
# (2.4 has the same listener).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
EOF
        [ -z "${XO_DOVECOT_EXTRA:-}" ] ||
            printf '# XO_DOVECOT_EXTRA\n%s\n' "$XO_DOVECOT_EXTRA" >>"$XO_DOVECOT_CONF"
        : >"$XO_DOVECOT_LOG"
        setsid dovecot -F -c "$XO_DOVECOT_CONF" </dev/null >>"$d/master.out" 2>&1 &
        pid=$! XO_DOVECOT_PID=$!
        XO__PIDS+=("$pid")      # at once, so an interrupt stops it too
        for port in "$XO_IMAP_PORT" "$XO_POP3_PORT" "$XO_SUBMISSION_PORT"; do
            [ "$port" = 0 ] && continue
            xo_wait_listen "$port" "$pid" || { port=fail; break; }
        done
        if [ "$port" != fail ]; then
            echo "   dovecot: imap $XO_IMAP_PORT, pop3 $XO_POP3_PORT," \
                 "submission $XO_SUBMISSION_PORT (log ${XO_DOVECOT_LOG#"$XO_TMP"/})"
            return 0
        fi
        xo__stop_pid "$pid"
        unset 'XO__PIDS[-1]'
        grep -q 'Address already in use' "$XO_DOVECOT_LOG" "$d/master.out" \
            || break
    done
    xo_fail "Dovecot did not start" "$d/master.out" "$XO_DOVECOT_LOG"
}

# xo_imtest SECS USER MECH SECRET OUT [IMTEST-ARGS...]: one Cyrus imtest
# session through our plugin on the private Dovecot's IMAP port
# (authentication name USER, SECRET as the password: a token or a token
# file's path), LOGOUT after authentication; the transcript in OUT, XO_RC
# as xo_run_timeout.  imtest exits 0 even when authentication fails:
# judge by the transcript.  Its argv is "imtest IMTEST-ARGS... -m MECH -a
# USER -w SECRET -p PORT 127.0.0.1" (t-secrets looks for it).
xo_imtest() {
    local secs=$1 user=$2 mech=$3 secret=$4 out=$5
    shift 5
    xo_run_timeout "$secs" "$XO_IMTEST" "$@" -m "$mech" -a "$user" -w "$secret" \
        -p "$XO_IMAP_PORT" 127.0.0.1 <<<"A02 LOGOUT" >"$out" 2>&1
}

# xo_start_mail_servers [--no-sink]: the mock OAuth server, the SMTP sink
# (not with --no-sink) and Dovecot (with submission when there is a sink):
# what a test of a mail client against real servers starts first.
xo_start_mail_servers() {
    xo_start_oauth
    [ "${1:-}" = --no-sink ] || xo_start_smtp_sink
    xo_start_dovecot
}

# xo_stop_dovecot: stop the instance (the one started last) now and wait
# until every process of it has gone, so its log is complete (its log
# process writes asynchronously).
xo_stop_dovecot() {
    local i
    [ -n "${XO_DOVECOT_PID:-}" ] || return 0
    xo__stop_pid "$XO_DOVECOT_PID"
    for i in "${!XO__PIDS[@]}"; do      # not again at exit: the pid is free
        [ "${XO__PIDS[i]}" != "$XO_DOVECOT_PID" ] || unset 'XO__PIDS[i]'
    done
    XO__PIDS=("${XO__PIDS[@]}")
    XO_DOVECOT_PID=
}

# Dovecot's log process writes asynchronously: a client can have its answer
# (and exit) before the line is in the file.  So wait for it:
# xo_dovecot_wait_log ERE [WHAT] [SECS]: until the log matches ERE;
# xo_dovecot_wait_count ERE N [WHAT] [SECS]: until N lines of it match ERE
# (the caller counted the lines before; more would not be an error here).
xo_dovecot_wait_log() {
    xo_poll "${3:-20}" xo_grep "$1" "$XO_DOVECOT_LOG" \
        || xo_fail "${2:+$2: }Dovecot's log did not show /$1/ within ${3:-20} s"
    echo "   ok: ${2:-Dovecot logged /$1/}"
}
# xo_dovecot_wait_login SERVICE USER MECH: Dovecot logged USER's MECH login
# through SERVICE (imap, pop3, submission) within 20 s.
xo_dovecot_wait_login() {
    xo_dovecot_wait_log "$(xo_dovecot_login_re "$1" "$2" "$3")" \
        "Dovecot logged the $3 login"
}
xo_dovecot_wait_count() {
    xo_poll "${4:-20}" xo__count_ge "$XO_DOVECOT_LOG" "$1" "$2" \
        || xo_fail "${3:+$3: }Dovecot's log has $(xo_count "$XO_DOVECOT_LOG" "$1") lines matching /$1/, not $2, after ${4:-20} s"
    echo "   ok: ${3:-$2 lines of the Dovecot log match /$1/}"
}

# xo_doveadm ARGS...: doveadm against the private instance.
xo_doveadm() {
    doveadm -c "$XO_DOVECOT_CONF" "$@"
}

# xo_dovecot_save USER [MAILBOX] < MESSAGE: deliver a message straight into
# the user's server mailbox (default INBOX).
xo_dovecot_save() {
    xo_doveadm save -u "$1" -m "${2:-INBOX}"
}

# xo_message FROM TO SUBJECT: print a small RFC 5322 message (LF endings).
xo_message() {
    printf 'From: <%s>\nTo: <%s>\nSubject: %s\nDate: %s\nMessage-ID: <%s.%s@xoauth2.test>\n\nHello from %s.\n' \
        "$1" "$2" "$3" "$(date -R)" "$RANDOM$RANDOM" "$$" "$XO_TEST_NAME"
}

# --- mbsync (isync) -----------------------------------------------------------
# One run = one DIR: DIR/mbsyncrc, the local Maildir DIR/Maildir, and the
# output in DIR.out.  Needs xo_start_dovecot first.
#
# xo_mbsync_version: set XO_MBSYNC_VERSION (e.g. 1.4.4; Debian 12 has
# isync 1.4.4, Debian 13 1.5.1), once per script.  XO_MBSYNC_15 is 1 for
# isync 1.5 or later: it calls SSLType TLSType (and warns about the old
# name), and words a tagged NO without the "NO".
xo_mbsync_version() {
    [ -z "${XO__MBSYNC_SEEN:-}" ] || return 0
    XO__MBSYNC_SEEN=1
    XO_MBSYNC_VERSION=$(mbsync --version 2>/dev/null | sed -n 's/^isync \([0-9][0-9.]*\).*/\1/p')
    [ -n "$XO_MBSYNC_VERSION" ] || xo_fail "cannot tell mbsync's version: 'mbsync --version' says '$(mbsync --version 2>&1)'"
    XO_MBSYNC_15=0
    printf '1.5\n%s\n' "$XO_MBSYNC_VERSION" | sort -V -C && XO_MBSYNC_15=1
    return 0
}

# xo_mbsync_refused_re: the ERE of mbsync's line for an AUTHENTICATE that
# the server refused with NO [AUTHENTICATIONFAILED] (isync 1.4: "returned
# an error: NO [AUTHENTICATIONFAILED] ...", 1.5: "returned an error:
# [AUTHENTICATIONFAILED] ...").
xo_mbsync_refused_re() {
    xo_mbsync_version
    if [ "$XO_MBSYNC_15" = 1 ]; then
        echo "IMAP command 'AUTHENTICATE .* returned an error: \[AUTHENTICATIONFAILED\] "
    else
        echo "IMAP command 'AUTHENTICATE .* returned an error: NO \[AUTHENTICATIONFAILED\] "
    fi
}

# xo_mbsync_config DIR USER MECH PASSLINE: write DIR/mbsyncrc pulling the
# server's INBOX (plain IMAP on XO_IMAP_PORT, as USER, AuthMechs MECH) into
# DIR/Maildir; PASSLINE is its Pass or PassCmd line, e.g. "Pass $FILE".
# No TLS: "TLSType None" (isync 1.5), "SSLType None" (1.4).
xo_mbsync_config() {
    local dir=$1 user=$2 mech=$3 passline=$4 tlskey=SSLType
    xo_mbsync_version
    [ "$XO_MBSYNC_15" = 1 ] && tlskey=TLSType
    mkdir -p "$dir/Maildir"
    cat >"$dir/mbsyncrc" <<EOF
IMAPAccount server
Host 127.0.0.1
Port $XO_IMAP_PORT
User $user
$passline
AuthMechs $mech
$tlskey None
Timeout 15

IMAPStore server
Account server

MaildirStore local
Path $dir/Maildir/
Inbox $dir/Maildir/INBOX

Channel inbox
Far :server:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
EOF
}

# xo_run_mbsync DIR: mbsync -a with DIR/mbsyncrc, output in DIR.out, killed
# after 30 s; sets XO_RC, XO_ELAPSED, XO_ELAPSED_MS (see xo_run_timeout).
xo_run_mbsync() {
    xo_run_timeout 30 mbsync -c "$1/mbsyncrc" -a >"$1.out" 2>&1
}

# xo_assert_synced DIR SUBJECT: the message arrived in DIR/Maildir/INBOX.
xo_assert_synced() {
    grep -rlF "Subject: $2" "$1/Maildir/INBOX" >/dev/null \
        || xo_fail "the message did not arrive in the local Maildir" "$1.out"
    echo "   ok: '$2' arrived in the local Maildir"
}

# xo_assert_not_synced DIR SUBJECT: the message is nowhere in DIR/Maildir.
xo_assert_not_synced() {
    ! grep -rqF "Subject: $2" "$1/Maildir" \
        || xo_fail "a message was synced without authentication" "$1.out"
    echo "   ok: nothing synced"
}

# --- token files --------------------------------------------------------------
# xo_tokfile FILE USER EXPIRES_IN [MEMBER=VALUE...]: grant USER at the mock
# OAuth server and write a token file (0600, as xoauth2-token would) whose
# access token expires in EXPIRES_IN seconds (negative: already expired).
# MEMBER=VALUE pairs add or replace members (VALUE is JSON if it parses as
# JSON, else a string; MEMBER= alone removes the member), e.g.
#   xo_tokfile "$F" alice@example.com -10 client_secret=s3cr3t token_endpoint=$URL
xo_tokfile() {
    xo_oauth grant "$2" --json >"$XO_TMP/grant.json" || xo_fail "grant failed"
    "$XO_PYTHON" - "$XO_OAUTH_URL/token" "$XO_TMP/grant.json" "$@" <<'PY'
import json, os, sys, time
endpoint, grant, path, user, exp = sys.argv[1:6]
g = json.load(open(grant))
tok = {"version": 1, "account": os.path.basename(path).rsplit(".", 1)[0],
       "user": user, "provider": "mock", "token_endpoint": endpoint,
       "client_id": "xoauth2-test",
       "scope": "https://outlook.office.com/IMAP.AccessAsUser.All offline_access",
       "access_token": g["access_token"],
       "expires_at": int(time.time()) + int(exp),
       "refresh_token": g["refresh_token"]}
for kv in sys.argv[6:]:
    k, _, v = kv.partition("=")
    if v == "":
        tok.pop(k, None)
        continue
    try:
        tok[k] = json.loads(v)
    except ValueError:
        tok[k] = v
fd = os.open(path + ".new", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(tok, indent=1).encode())
os.close(fd)
os.replace(path + ".new", path)
PY
    rm -f "$XO_TMP/grant.json"
}

# --- app-only credentials (t-app-*) -------------------------------------------
# xo_app_cert DIR NAME: a throwaway RSA key DIR/NAME.key (0600) and its
# self-signed certificate DIR/NAME.crt, as an admin would upload to Entra.
xo_app_cert() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=xoauth2 $2" \
        -keyout "$1/$2.key" -out "$1/$2.crt" >/dev/null 2>&1 \
        || xo_fail "openssl cannot make a key and certificate"
    chmod 600 "$1/$2.key"
}

# xo_app_secret FILE CID MAILBOX: a fresh client secret in FILE (0600; its
# directory must exist), registered with the test server as app CID for
# MAILBOX.  XO_APP_OPTS gets that app-only account's login options, all
# but the secret's, which the caller adds where it wants it.
xo_app_secret() {
    printf 'app-secret-%s\n' "$RANDOM$RANDOM" >"$1"
    chmod 600 "$1"
    xo_oauth -q app "$2" --mailbox "$3" --secret-file "$1" \
        || xo_fail "cannot register the app"
    XO_APP_OPTS=(--provider custom --app-only --client-id "$2" --user "$3"
        --token-endpoint "$XO_OAUTH_URL/token"
        --scope https://outlook.office365.com/.default)
}

# xo_pf_app_cert CID MAILBOX: postfix's own app credentials, as the README
# says to keep them: CRED=$XO_TMP/postfix-creds (postfix's, 0700) holding
# relay.key (0600) and relay.crt, both postfix's; the certificate is
# registered with the test server as app CID for MAILBOX.
xo_pf_app_cert() {
    CRED=$XO_TMP/postfix-creds
    install -d -o postfix -g postfix -m 700 "$CRED"
    xo_app_cert "$CRED" relay
    chown postfix:postfix "$CRED/relay.key" "$CRED/relay.crt"
    xo_oauth -q app "$1" --mailbox "$2" --cert "$CRED/relay.crt" \
        || xo_fail "cannot register the app"
}

# xo_service_account_key FILE EMAIL: a Google-style service-account JSON
# key file (0600) with a fresh RSA key, whose token_uri is our server.
xo_service_account_key() {
    local pem=$XO_TMP/sa.$$.pem
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$pem" \
        >/dev/null 2>&1 || xo_fail "openssl cannot make a key"
    "$XO_PYTHON" - "$1" "$2" "$pem" "$XO_OAUTH_URL/token" <<'PY' || xo_fail "cannot write $1"
import json, os, sys
path, email, pem, uri = sys.argv[1:5]
key = {"type": "service_account", "project_id": "xoauth2-test",
       "private_key_id": "0123456789abcdef", "private_key": open(pem).read(),
       "client_email": email, "client_id": "109876543210987654321",
       "auth_uri": "https://accounts.google.com/o/oauth2/auth",
       "token_uri": uri}
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(key, indent=2).encode())
os.close(fd)
PY
    rm -f "$pem"
}

# --- plugin token-file mode: helpers for t-postfix, t-plugin-herd, ----------
# --- t-mbsync-passcmd ---------------------------------------------------------
# XO_HELPER: the built helper; the plugin runs it when $XOAUTH2_HELPER says so.
XO_HELPER=${XO_HELPER:-$XO_TOP_BUILDDIR/helper/xoauth2-token}

# xo_helper_built [--private-store]: fail (not skip) unless the helper is
# built, for the tests of the helper itself, where a missing helper is a
# broken build; --private-store: xo_private_store too.
xo_helper_built() {
    [ -x "$XO_HELPER" ] || xo_fail "helper not built: $XO_HELPER"
    [ "${1:-}" != --private-store ] || xo_private_store
}

# xo_require_helper [--private-store]: skip unless the helper is built;
# export XOAUTH2_HELPER (the plugin's test override) pointing at it;
# --private-store: xo_private_store too.
xo_require_helper() {
    [ -x "$XO_HELPER" ] || xo_skip "helper not built: $XO_HELPER missing"
    export XOAUTH2_HELPER=$XO_HELPER
    [ "${1:-}" != --private-store ] || xo_private_store
}
# xo_private_store: the helper's store is the test's own: XDG_DATA_HOME is
# $XO_TMP/data, XO_STORE the store in it ($XDG_DATA_HOME/xoauth2).
xo_private_store() {
    export XDG_DATA_HOME=$XO_TMP/data
    XO_STORE=$XDG_DATA_HOME/xoauth2
}

# The scope the mock logins ask for (Microsoft's IMAP scope).
XO_IMAP_SCOPE="https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
# xo_login_mock SECS NAME [ARGS...]: `xoauth2-token login NAME ARGS...`
# against the mock OAuth server's endpoints (custom provider, client
# xoauth2-test) within SECS; its stdout and stderr in $XO_TMP/NAME.out and
# NAME.err, XO_RC as xo_run_timeout.
xo_login_mock() {
    local secs=$1 name=$2
    shift 2
    xo_run_timeout "$secs" "$XO_HELPER" login "$name" --provider custom \
        --client-id xoauth2-test --auth-endpoint "$XO_OAUTH_URL/authorize" \
        --token-endpoint "$XO_OAUTH_URL/token" "$@" \
        >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
}

# xo_login_setup [CMD...]: what a login test needs: python and CMDs, the
# helper with a private store (XO_STORE), the test OAuth server started.
xo_login_setup() {
    xo_require_cmd "$XO_PYTHON" "$@"
    xo_require_helper --private-store
    xo_start_oauth
}

# xo_browser [ARG] <<'EOF' ... EOF: BROWSER is a stand-in that runs the
# python program on stdin (kept as $XO_TMP/browser.py) with the URL and ARG
# (default: the log it should write, $XO_TMP/browser.log), tests/ on its
# PYTHONPATH.  The program starts with sys, `url` and `log` (the URL, and
# ARG opened for appending, line-buffered) and xo_browser.py's
# redirect_port(URL), listening(PORT) and fetch(URL, LOG) at hand.
xo_browser() {
    { printf '%s\n' 'import sys' \
        'from xo_browser import fetch, listening, redirect_port, start' \
        'url, log = start(sys.argv)'
      cat; } >"$XO_TMP/browser.py"
    cat >"$XO_TMP/browser" <<EOF
#!/bin/sh
exec env PYTHONPATH="$XO_TESTS_DIR" "$XO_PYTHON" "$XO_TMP/browser.py" "\$1" \\
    "${1:-$XO_TMP/browser.log}"
EOF
    chmod +x "$XO_TMP/browser"
    export BROWSER=$XO_TMP/browser
}

# xo__runs_as USER CMD...: run CMD as USER (this user if it is us), quiet.
xo__runs_as() {
    local user=$1; shift
    if [ "$user" = "$(id -un)" ]; then
        "$@" >/dev/null 2>&1
    else
        setpriv --reuid="$user" --regid="$(id -g "$user")" --init-groups \
            "$@" >/dev/null 2>&1
    fi
}

# xo_share_build: the tests run the helper (two programs: the front,
# xoauth2-token, and xoauth2-token-full, which the front finds beside
# itself) as root and, as root, also as nobody and postfix, and postfix's
# smtp loads the plugin.  A build tree that one of them cannot use -- a
# clone in /root (0700) or in a home directory (0700 or 0750), which those
# users cannot enter; a tree another user owns, whose full program the
# front refuses to exec as root -- is copied: both programs and the
# plugin go to $XO_TMP/build (root's, mode 0755 under $XO_TMP's 0711), and
# XO_HELPER, XO_PLUGIN_DIR and SASL_PATH point there.  The helper itself
# is asked (help --table execs the full program), so the same rules
# decide as in use.  Called once, when this file is sourced.
xo_share_build() {
    local users=() u full cant=
    [ -x "$XO_HELPER" ] || return 0
    users=("$(id -un)")
    if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
        for u in nobody postfix; do
            id "$u" >/dev/null 2>&1 && users+=("$u")
        done
    fi
    for u in "${users[@]}"; do
        if ! xo__runs_as "$u" "$XO_HELPER" help --table ||
            ! xo__runs_as "$u" test -r "$XO_PLUGIN_DIR/libxoauth2.so"; then
            cant="$cant $u"
        fi
    done
    [ -n "$cant" ] || return 0
    full=$(dirname "$XO_HELPER")/xoauth2-token-full
    mkdir -p -m 755 "$XO_TMP/build" "$XO_TMP/build/helper" "$XO_TMP/build/plugin"
    cp "$XO_HELPER" "$XO_TMP/build/helper/xoauth2-token"
    [ ! -f "$full" ] || cp "$full" "$XO_TMP/build/helper/"
    # The keyring program too (a build with libsecret): found beside them.
    [ ! -f "$(dirname "$full")/xoauth2-keyring" ] ||
        cp "$(dirname "$full")/xoauth2-keyring" "$XO_TMP/build/helper/"
    [ ! -f "$XO_PLUGIN_DIR/libxoauth2.so" ] ||
        cp -L "$XO_PLUGIN_DIR/libxoauth2.so" "$XO_TMP/build/plugin/"
    chmod -R go-w "$XO_TMP/build"
    XO_HELPER=$XO_TMP/build/helper/xoauth2-token
    XO_PLUGIN_DIR=$XO_TMP/build/plugin
    export XO_PLUGIN_DIR SASL_PATH=$XO_PLUGIN_DIR
    cant=${cant# }
    echo "   (the build tree does not serve ${cant// /, }: a directory they cannot enter, or one another user could change; the helper and the plugin run from copies in \$XO_TMP/build)"
}
xo_share_build


# xo_token_field FILE MEMBER: print one member of a token file.
xo_token_field() {
    "$XO_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$1" "$2"
}

# xo_token_expire_file FILE [EXPIRES_IN]: rewrite the file's expires_at to
# now + EXPIRES_IN (default -60: expired), atomically, keeping its owner,
# group and mode (as the helper would).
xo_token_expire_file() {
    "$XO_PYTHON" - "$1" "${2:--60}" <<'EOF' || xo_fail "cannot rewrite token file $1"
import json, os, sys, time
p, exp = sys.argv[1], int(sys.argv[2])
st = os.stat(p)
t = json.load(open(p))
t["expires_at"] = int(time.time()) + exp
tmp = p + ".xo-new"
fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, st.st_mode & 0o7777)
os.write(fd, json.dumps(t, indent=1).encode())
os.fchown(fd, st.st_uid, st.st_gid)
os.close(fd)
os.replace(tmp, p)
EOF
}

# xo_same_tokens FILE ORIG: FILE holds what ORIG held, but for the
# health record a failed refresh writes (failed_at, failures,
# failure_class, failure).
xo_same_tokens() {
    cmp -s "$1" "$2" && return 0
    "$XO_PYTHON" - "$1" "$2" 2>/dev/null <<'PY'
import json, sys
health = ("failed_at", "failures", "failure_class", "failure")
a, b = ({k: v for k, v in json.load(open(p)).items() if k not in health}
        for p in sys.argv[1:])
sys.exit(0 if a == b else 1)
PY
}

# xo_oauth_refreshes: the mock server's count of successful refreshes.
xo_oauth_refreshes() {
    xo_oauth_stat refreshes
}

# xo_assert_refreshes N WHAT: the mock server has seen N refreshes in all
# (N: an earlier xo_oauth_refreshes), else fail saying WHAT happened.
xo_assert_refreshes() {
    [ "$(xo_oauth_refreshes)" = "$1" ] || xo_fail "$2"
}
# xo_expire USER FILE: USER's access token has expired, at the mock server
# and in the token file FILE (a minute ago).
xo_expire() {
    xo_oauth -q expire --user "$1" || xo_fail "expire at the server failed"
    xo_token_expire_file "$2" -60
}
# xo_assert_renewed_once WHAT BEFORE NOW FILE FIELD OLD: the server counted
# exactly one WHAT (a refresh, an app-only token) since BEFORE (NOW is its
# count now), and FILE's FIELD is no longer OLD: renewed once, and stored.
xo_assert_renewed_once() {
    local got=$(( $3 - $2 ))
    [ "$got" = 1 ] ||
        xo_fail "the server saw $got times $1, want exactly 1" ${XO_PF_LOG:+"$XO_PF_LOG"}
    [ "$(xo_token_field "$4" "$5")" != "$6" ] ||
        xo_fail "the new $5 was not stored in the file" "$4"
    echo "   ok: the server saw exactly 1 $1; the new $5 was stored"
}
# xo_assert_token_renewed FILE OLD WHAT [N]: FILE's access token is no
# longer OLD, else fail saying WHAT (and show FILE); with N, the mock
# server has seen exactly N refreshes in all.
xo_assert_token_renewed() {
    [ -z "${4:-}" ] ||
        xo_assert_refreshes "$4" "expected $4 refresh(es), server saw $(xo_oauth_refreshes)"
    [ "$(xo_token_field "$1" access_token)" != "$2" ] || xo_fail "$3" "$1"
}

# xo_oauth_stat FIELD: one counter of the mock server's stats (e.g.
# token_requests, token_via_proxy, token_direct).
xo_oauth_stat() {
    xo_oauth stats | "$XO_PYTHON" -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"
}

# --- HTTP proxy (tinyproxy) -------------------------------------------------
# xo_start_proxy: a private tinyproxy on 127.0.0.1 (foreground, its own
# config, log and pid under $XO_TMP/proxy; stopped at exit).  Sets
# XO_PROXY_PORT, XO_PROXY_URL (http://127.0.0.1:PORT), XO_PROXY_LOG.  It
# forwards http:// requests (adding "Via: 1.1 xo-test-proxy
# (tinyproxy/...)", which the mock OAuth server counts) and CONNECT.
# XO_PROXY_AUTH=USER:PASSWORD: it asks for those (Basic), else 407.
xo_start_proxy() {
    local dir=$XO_TMP/proxy pid _
    xo_require_cmd tinyproxy
    mkdir -p "$dir"
    XO_PROXY_LOG=$dir/tinyproxy.log
    for _ in 1 2 3; do
        XO_PROXY_PORT=$(xo_free_ports 1)
        cat >"$dir/tinyproxy.conf" <<EOC
Port $XO_PROXY_PORT
Listen 127.0.0.1
Timeout 30
LogFile "$XO_PROXY_LOG"
LogLevel Info
MaxClients 100
Allow 127.0.0.1
ViaProxyName "xo-test-proxy"
${XO_PROXY_AUTH:+BasicAuth ${XO_PROXY_AUTH%%:*} ${XO_PROXY_AUTH#*:}}
EOC
        setsid tinyproxy -d -c "$dir/tinyproxy.conf" </dev/null >>"$dir/out" 2>&1 &
        pid=$!
        XO__PIDS+=("$pid")
        if xo_wait_listen "$XO_PROXY_PORT" "$pid"; then
            XO_PROXY_URL=http://127.0.0.1:$XO_PROXY_PORT
            echo "   http proxy (tinyproxy) on $XO_PROXY_URL"
            return 0
        fi
        xo__stop_pid "$pid"
        unset 'XO__PIDS[-1]'
    done
    xo_fail "tinyproxy did not start" "$dir/out" "$XO_PROXY_LOG"
}

# --- private postfix instance -----------------------------------------------
# Used by t-postfix and t-postfix-chroot.  A private instance (postfix -c
# DIR, nothing under /etc/postfix) with no listener (the smtp inet service
# is off) that relays everything to the private Dovecot's submission
# service, authenticating with smtp_sasl_mechanism_filter = xoauth2 and one
# smtp_sasl_password_maps entry.  Needs root, xo_start_smtp_sink and
# xo_start_dovecot first.
#
#   xo_require_postfix          skip unless postfix and its user/group exist
#   xo_pf_init                  pick the paths, nothing runs yet:
#       XO_PF_DIR    config_directory (main.cf, master.cf, sasl_passwd)
#       XO_PF_QUEUE  queue_directory: also the root of chrooted services
#       XO_PF_DATA   data_directory      XO_PF_LOG  maillog_file
#   xo_start_postfix USER PASSWORD [SMTP_CHROOT]
#                               write the config (smtp/unix chroot=y or n,
#                               default n, set with postconf -F and
#                               checked) and start it -> XO_PF_MASTER;
#                               postfix is stopped at exit (xo_on_exit)
#   xo_pf_send SUBJECT          sendmail -C a message from USER to XO_PF_RCPT
#   xo_pf_queue_id              XO_PF_QID: the last message's queue id
#   xo_pf_at_sink SUBJECT, xo_pf_wait_sink SUBJECT [SECS],
#   xo_pf_wait_log ERE [SECS], xo_pf_pids, xo_pf_stop
XO_PF_RCPT=${XO_PF_RCPT:-bob@example.net}

# xo_require_mail_stack [CMD...]: what a test against the private Dovecot
# and the mock OAuth server needs: dovecot, the system python, CMD..., root
# and the built plugin (skips, naming what is missing).
xo_require_mail_stack() {
    xo_require_cmd dovecot "$XO_PYTHON" "$@"
    xo_require_root
    xo_require_plugin
}
# xo_require_relay_stack [CMD...]: the same for a private postfix relaying
# to that Dovecot through the plugin, with the helper (its token files).
xo_require_relay_stack() {
    xo_require_postfix
    xo_require_mail_stack "$@"
    xo_require_helper
}
# xo_require_crypto [WHY]: python3-cryptography, with which the mock server
# verifies the app-only grants' assertions.
xo_require_crypto() {
    "$XO_PYTHON" -c 'import cryptography' 2>/dev/null \
        || xo_skip "python3-cryptography is not installed${1:+ ($1)}"
}

xo_require_postfix() {
    xo_require_root
    xo_require_cmd postfix postconf sendmail postqueue runuser
    id postfix >/dev/null 2>&1 || xo_skip "no system user postfix"
    getent group postdrop >/dev/null || xo_skip "no system group postdrop"
}

xo_pf_init() {
    XO_PF_DIR=$XO_TMP/postfix              # config_directory
    XO_PF_QUEUE=$XO_TMP/postfix-queue      # outside XO_PF_DIR: postfix check
    XO_PF_DATA=$XO_TMP/postfix-data        # wants config_directory root's
    XO_PF_LOG=$XO_PF_DIR/maillog
    mkdir -p "$XO_PF_DIR" "$XO_PF_QUEUE" "$XO_PF_DATA"
    chown postfix:postfix "$XO_PF_DATA"
    # postfix's smtp runs the helper as user postfix: xo_share_build made
    # sure it can (and XOAUTH2_HELPER, set by xo_require_helper, says which).
}

# xo_pf_master_pid: the running master's pid, or fail.  A master that has
# exited but is not reaped yet (a zombie: kill -0 still succeeds) is not
# running; a second postfix stop would log "fatal: ... not running".
xo_pf_master_pid() {
    local p st
    p=$(tr -d ' \n' <"$XO_PF_QUEUE/pid/master.pid" 2>/dev/null) || return 1
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
    st=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null) || return 1
    [ "${st%% *}" != Z ] && echo "$p"
}

# xo_pf_pids: processes of this instance, master included (postfix daemons
# chdir to the queue directory; for chrooted ones the kernel shows the
# same path from outside).
xo_pf_pids() {
    local d
    for d in /proc/[0-9]*; do
        [ "$(readlink "$d/cwd" 2>/dev/null)" = "$XO_PF_QUEUE" ] && echo "${d#/proc/}"
    done
    return 0
}

# xo_pf_stop: postfix stop, then make sure nothing of the instance is left.
xo_pf_stop() {
    local n pids
    [ -n "${XO_PF_DIR:-}" ] && [ -f "$XO_PF_DIR/main.cf" ] || return 0
    if xo_pf_master_pid >/dev/null; then
        postfix -c "$XO_PF_DIR" stop >>"$XO_PF_DIR/postfix-ctl.out" 2>&1 || true
    fi
    for ((n = 0; n < 100; n++)); do
        pids=$(xo_pf_pids)
        [ -z "$pids" ] && return 0
        sleep 0.1
    done
    echo "# postfix instance still running after stop: killing $pids"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
}

xo_start_postfix() {
    xo_pf_configure "$@"
    xo_pf_start
}

# xo_pf_configure USER PASSWORD [SMTP_CHROOT]: write the instance's
# main.cf, master.cf and sasl_passwd, start nothing.  PASSWORD "-": no
# relayhost and no SASL settings at all (a test that lets
# `xoauth2-token postfix --apply` write them); SMTP_CHROOT "packaged":
# Debian's packaged master.cf as installed (only smtpd's port 25 off).
xo_pf_configure() {
    local user=$1 password=$2 chroot=${3:-n} other
    case $chroot in
    y) other=n ;;
    n) other=y ;;
    packaged) other= ;;
    *) xo_fail "xo_start_postfix: SMTP_CHROOT must be y, n or packaged, not '$chroot'" ;;
    esac
    [ -n "${XO_PF_DIR:-}" ] || xo_fail "xo_start_postfix needs xo_pf_init first"
    [ "${XO_SUBMISSION_PORT:-0}" != 0 ] \
        || xo_fail "xo_start_postfix needs Dovecot submission (sink, then dovecot)"
    XO_PF_USER=$user
    if [ "$password" != - ]; then
        printf '[127.0.0.1]:%s\t%s:%s\n' "$XO_SUBMISSION_PORT" "$user" "$password" \
            >"$XO_PF_DIR/sasl_passwd"
    fi
    cat >"$XO_PF_DIR/main.cf" <<EOC
# generated by tests/lib.sh for $XO_TEST_NAME: a private instance, no listener
compatibility_level = 3.6
queue_directory = $XO_PF_QUEUE
data_directory = $XO_PF_DATA
mail_owner = postfix
setgid_group = postdrop
myhostname = xo-postfix.localdomain
mydomain = localdomain
myorigin = \$myhostname
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
# no local delivery at all
mydestination =
local_recipient_maps =
local_transport = error:5.1.1 local delivery is disabled in this test instance
alias_maps =
alias_database =
biff = no
smtputf8_enable = no
maillog_file = $XO_PF_LOG
maillog_file_prefixes = /var, /dev/stdout, $XO_PF_DIR
# postfix passes on only these; the plugin needs SASL_PATH (our plugin
# only) and XOAUTH2_HELPER (the built helper); a sanitizer build, the
# ASan runtime (XO_ASAN_ENV).  { } keeps a space in a path (a clone's).
import_environment = MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C POSTLOG_SERVICE POSTLOG_HOSTNAME { SASL_PATH=$XO_PLUGIN_DIR }${XOAUTH2_HELPER:+ { XOAUTH2_HELPER=$XOAUTH2_HELPER \}}${XO_ASAN_ENV:+ $XO_ASAN_ENV}
$([ "$password" = - ] || cat <<EOS
relayhost = [127.0.0.1]:$XO_SUBMISSION_PORT
smtp_sasl_auth_enable = yes
smtp_sasl_mechanism_filter = xoauth2
smtp_sasl_security_options = noanonymous
smtp_sasl_password_maps = texthash:$XO_PF_DIR/sasl_passwd
smtp_tls_security_level = none
EOS
)
# every message must log in afresh (no reuse of an authenticated session)
smtp_connection_cache_on_demand = no
smtp_connection_cache_destinations =
EOC
    # No smtp inet service (nothing binds port 25); postlogd for
    # maillog_file.  smtp/unix is written with the other chroot value on
    # purpose: it is then set the way an admin would (postconf -F), and
    # checked, so the check shows that postconf -F took.
    cat >"$XO_PF_DIR/master.cf" <<EOC
# service type  private unpriv  chroot  wakeup  maxproc command + args
#smtp      inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       $other       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
EOC
    if [ "$chroot" = packaged ]; then
        # Debian's packaged master.cf, as installed: chroot=y for smtp,
        # relay and most daemons; only the smtpd listener on port 25 is
        # commented out (a test binds no well-known port).
        [ -r /usr/share/postfix/master.cf.dist ] \
            || xo_skip "no /usr/share/postfix/master.cf.dist (Debian's packaged master.cf)"
        sed 's/^smtp \{1,\}inet /#&/' /usr/share/postfix/master.cf.dist >"$XO_PF_DIR/master.cf"
        chroot=$(postconf -c "$XO_PF_DIR" -Fh smtp/unix/chroot)
    else
        postconf -c "$XO_PF_DIR" -F "smtp/unix/chroot=$chroot"
    fi
    [ "$(postconf -c "$XO_PF_DIR" -Fh smtp/unix/chroot)" = "$chroot" ] \
        || xo_fail "postconf -F did not set smtp/unix/chroot=$chroot" "$XO_PF_DIR/master.cf"
    XO_PF_CHROOT=$chroot
}

# xo_pf_start: check and start the instance xo_pf_configure wrote.
xo_pf_start() {
    local n chroot=${XO_PF_CHROOT:-n}
    xo_on_exit xo_pf_stop
    postfix -c "$XO_PF_DIR" check >"$XO_PF_DIR/check.out" 2>&1 \
        || xo_fail "postfix check failed" "$XO_PF_DIR/check.out"
    postfix -c "$XO_PF_DIR" start >"$XO_PF_DIR/postfix-ctl.out" 2>&1 \
        || xo_fail "postfix start failed" "$XO_PF_DIR/postfix-ctl.out" "$XO_PF_LOG"
    for ((n = 0; n < 50; n++)); do xo_pf_master_pid >/dev/null && break; sleep 0.1; done
    XO_PF_MASTER=$(xo_pf_master_pid) \
        || xo_fail "postfix master is not running" "$XO_PF_DIR/postfix-ctl.out" "$XO_PF_LOG"
    xo_pf_pids | grep -qx "$XO_PF_MASTER" \
        || xo_fail "cannot find the postfix instance's processes by their working directory"
    if ss -Hltnp 2>/dev/null | grep -q "pid=${XO_PF_MASTER}[,)]"; then
        xo_fail "the postfix instance listens on a TCP port" "$XO_PF_DIR/master.cf"
    fi
    echo "   postfix master pid $XO_PF_MASTER, config ${XO_PF_DIR#"$XO_TMP"/}," \
         "relayhost [127.0.0.1]:$XO_SUBMISSION_PORT, smtp chroot=$chroot"
    echo "   ok: smtp/unix chroot=$chroot (postconf -F); the instance binds no TCP port"
}

# xo_pf_send SUBJECT: inject a message from XO_PF_USER with sendmail -C
# (kept in $XO_TMP/msg for xo_pf_queue_id).
xo_pf_send() {
    xo_message "$XO_PF_USER" "$XO_PF_RCPT" "$1" >"$XO_TMP/msg"
    xo_run_timeout 20 sendmail -C "$XO_PF_DIR" -f "$XO_PF_USER" "$XO_PF_RCPT" \
        <"$XO_TMP/msg" >"$XO_TMP/sendmail.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/sendmail.out"
}

# xo_pf_at_sink SUBJECT: is a message with SUBJECT at the sink?
xo_pf_at_sink() {
    [ -n "$(xo_sink_grep "^Subject: $1\$")" ]
}

# xo_pf_wait_sink SUBJECT [SECS]: wait until the message is at the sink.
xo_pf_wait_sink() {
    local n
    for ((n = 0; n < ${2:-20} * 10; n++)); do
        if xo_pf_at_sink "$1"; then
            echo "   ok: '$1' reached the sink (via postfix and Dovecot submission)"
            return 0
        fi
        sleep 0.1
    done
    xo_fail "'$1' did not reach the sink within ${2:-20} s" "$XO_PF_LOG"
}

# xo_pf_wait_log ERE [SECS]: wait until the maillog matches ERE.
xo_pf_wait_log() {
    local n
    for ((n = 0; n < ${2:-20} * 10; n++)); do
        xo_grep "$1" "$XO_PF_LOG" && return 0
        sleep 0.1
    done
    xo_fail "postfix's log did not show /$1/ within ${2:-20} s" "$XO_PF_LOG"
}

# xo_pf_flush: postqueue -f, as an admin retries the deferred mail now;
# postqueue itself must succeed (its output in $XO_TMP/postqueue.out).
xo_pf_flush() {
    xo_run_timeout 20 postqueue -c "$XO_PF_DIR" -f >"$XO_TMP/postqueue.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/postqueue.out"
}

# xo_pf_delivered SUBJECT QID [SECS]: the message reached the sink and
# postfix logged queue id QID as sent to XO_PF_RCPT.
xo_pf_delivered() {
    xo_pf_wait_sink "$1" "${3:-20}"
    xo_pf_wait_log "$2: to=<$XO_PF_RCPT>, .* status=sent"
}
# xo_start_relay_servers: xo_start_mail_servers, then a private postfix
# directory (xo_pf_init) that the test configures and starts.
xo_start_relay_servers() {
    xo_start_mail_servers
    xo_pf_init
}
# xo_pf_relayed SUBJECT: the message sent last (xo_pf_queue_id -> XO_PF_QID)
# reached the sink, and postfix logged it sent through Dovecot submission.
xo_pf_relayed() {
    xo_pf_wait_sink "$1"
    xo_pf_queue_id
    xo_pf_wait_log "$XO_PF_QID: to=<$XO_PF_RCPT>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$XO_SUBMISSION_PORT.* status=sent"
    echo "   ok: postfix logged status=sent for $XO_PF_QID"
}
# xo_pf_send_deferred SUBJECT: SUBJECT goes into postfix, which defers it
# (never bounces it).  Sets XO_PF_QID.
xo_pf_send_deferred() {
    xo_pf_send "$1"
    xo_pf_queue_id
    xo_pf_wait_log "$XO_PF_QID: to=<$XO_PF_RCPT>, .* status=deferred"
    xo_assert_not_contains "$XO_PF_LOG" "$XO_PF_QID: .*status=bounced" "not bounced"
}
# xo_pf_send_refused SUBJECT: SUBJECT goes into postfix, which defers it
# with the server's 535 (the server refused the token).  Sets XO_PF_QID.
xo_pf_send_refused() {
    xo_pf_send "$1"
    xo_pf_queue_id
    xo_pf_wait_log "$XO_PF_QID: to=<$XO_PF_RCPT>, .*status=deferred \(SASL authentication failed; server 127\.0\.0\.1\[127\.0\.0\.1\] said: 535"
    echo "   ok: $XO_PF_QID deferred with the server's 535"
}
# xo_pf_send_undeferred SUBJECT: SUBJECT is relayed at the first attempt
# (xo_pf_relayed, and no deferral logged for it).  Sets XO_PF_QID.
xo_pf_send_undeferred() {
    xo_pf_send "$1"
    xo_pf_relayed "$1"
    xo_assert_not_contains "$XO_PF_LOG" "$XO_PF_QID: .*status=deferred" "no deferral on the way"
}
# xo_pf_send_valid SUBJECT LOGIN_RE: with a valid token, SUBJECT goes
# through postfix and Dovecot submission: postfix logs it sent through the
# submission port, Dovecot logs one more login matching LOGIN_RE, and the
# mock server sees no refresh.  Sets XO_PF_QID.
xo_pf_send_valid() {
    local before l0
    before=$(xo_oauth_refreshes)
    l0=$(xo_count "$XO_DOVECOT_LOG" "$2")
    xo_pf_send "$1"
    xo_pf_relayed "$1"
    xo_dovecot_wait_count "$2" $((l0 + 1)) "Dovecot logged an XOAUTH2 submission login"
    xo_assert_refreshes "$before" "a valid token was refreshed"
    echo "   ok: no refresh"
}
# xo_pf_send_unrefreshed SUBJECT WHAT: SUBJECT goes through postfix to the
# sink without a refresh at the mock server (else fail saying WHAT).
xo_pf_send_unrefreshed() {
    local before
    before=$(xo_oauth_refreshes)
    xo_pf_send "$1"
    xo_pf_wait_sink "$1"
    xo_assert_refreshes "$before" "$2"
    echo "   ok: no refresh"
}
# xo_pf_assert_clean_log N [TOKEN...]: postfix's maillog holds none of
# TOKEN... (empty ones skipped) and no token-shaped string, nothing bounced,
# no fatal error; the sink holds N messages.
xo_pf_assert_clean_log() {
    local n=$1 t
    shift
    for t in "$@"; do
        [ -n "$t" ] || continue
        ! grep -qF "$t" "$XO_PF_LOG" || xo_fail "a token appears in postfix's maillog"
    done
    xo_assert_not_contains "$XO_PF_LOG" 'xoat\.|xort\.|auth=Bearer' "no token-shaped string"
    echo "   ok: none of the $# tokens of this run is in the maillog"
    xo_assert_not_contains "$XO_PF_LOG" 'status=bounced' "nothing bounced"
    xo_assert_not_contains "$XO_PF_LOG" '(fatal|panic):' "no fatal errors"
    t=$(xo_sink_count)
    [ "$t" = "$n" ] || xo_fail "the sink has $t messages, want $n"
    echo "   ok: the sink holds the $n messages"
}

# xo_pf_queue_id: set XO_PF_QID to the queue id of the last message
# xo_pf_send sent (cleanup logs its Message-ID); waits up to 10 s for it.
# (Not printed: xo_fail in a $(...) would lose its message.)
xo_pf_queue_id() {
    local mid n
    XO_PF_QID=
    mid=$(sed -n 's/^Message-ID: <\(.*\)>$/\1/p' "$XO_TMP/msg")
    for ((n = 0; n < 100; n++)); do
        XO_PF_QID=$(tr -d '\r' <"$XO_PF_LOG" 2>/dev/null \
            | sed -n "s/.* \([0-9A-F]\{6,\}\): message-id=<$mid>.*/\1/p" | head -1)
        [ -n "$XO_PF_QID" ] && return 0
        sleep 0.1
    done
    xo_fail "postfix did not log the message-id <$mid>" "$XO_PF_LOG"
}

# xo_start_py_server NAME SCRIPT ARGS...: the python SCRIPT ARGS... PORTFILE
# in the background, stopped at exit, with tests/ on PYTHONPATH (xo_listen.py:
# the listener that writes PORTFILE); waits for the port -> XO_SERVER_PORT.
# Its output in $XO_TMP/NAME.err.
xo_start_py_server() {
    local name=$1 pid n
    shift
    rm -f "$XO_TMP/$name.port"
    PYTHONPATH=$XO_TESTS_DIR setsid "$XO_PYTHON" "$@" "$XO_TMP/$name.port" \
        </dev/null >"$XO_TMP/$name.err" 2>&1 &
    pid=$!
    XO__PIDS+=("$pid")
    for ((n = 0; n < 100; n++)); do
        [ -s "$XO_TMP/$name.port" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    [ -s "$XO_TMP/$name.port" ] || xo_fail "$name did not start" "$XO_TMP/$name.err"
    XO_SERVER_PORT=$(cat "$XO_TMP/$name.port")
}

# --- TLS in front of a plain port (t-mutt, t-helper-tls) ---------------------
# xo_tls_pki [SAN]: a throwaway CA and a server certificate signed by it (CN
# localhost; subjectAltName SAN, default DNS:localhost,IP:127.0.0.1), made
# once per script (SAN counts on the first call).  Sets XO_TLS_CA,
# XO_TLS_CERT and XO_TLS_KEY (the server's key, unencrypted).
xo_tls_pki() {
    local p=$XO_TMP/pki san=${1:-DNS:localhost,IP:127.0.0.1}
    xo_require_cmd openssl
    mkdir -p "$p"
    [ -s "$p/srv.pem" ] || {
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$p/ca.key" -out "$p/ca.pem" -days 2 -subj /CN=xoauth2-test-ca \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign &&
        openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -keyout "$p/srv.key" -out "$p/srv.csr" -subj /CN=localhost &&
        printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$san" >"$p/ext" &&
        openssl x509 -req -in "$p/srv.csr" -CA "$p/ca.pem" -CAkey "$p/ca.key" \
            -CAcreateserial -out "$p/srv.pem" -days 2 -extfile "$p/ext"
    } >"$p/log" 2>&1 || xo_fail "openssl failed" "$p/log"
    XO_TLS_CA=$p/ca.pem XO_TLS_CERT=$p/srv.pem XO_TLS_KEY=$p/srv.key
}

# xo_start_tls_relay UPSTREAM_PORT [SAN]: implicit TLS on a free loopback port,
# relaying to 127.0.0.1:UPSTREAM_PORT (e.g. Dovecot's plain IMAP port, for
# clients that send a bearer token only over TLS).  The certificate
# (CN=localhost, SAN DNS:localhost and IP:127.0.0.1) is signed by a
# throwaway CA (made once, shared by every relay of the script: call it
# once per upstream port; SAN, as for xo_tls_pki, counts on the first).  Sets XO_TLS_PORT, XO_TLS_CA (the CA) and XO_TLS_CERT (the
# server's certificate).
xo_start_tls_relay() {
    local p=$XO_TMP/pki
    xo_tls_pki "${2:-}"
    cat >"$p/relay.py" <<'PY'
import socket, ssl, sys, threading
from xo_listen import listen
cert, key, upstream, portfile = sys.argv[1:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = listen(portfile)

def pump(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (OSError, ssl.SSLError):
        c.close()
        return
    u = socket.create_connection(("127.0.0.1", int(upstream)))
    threading.Thread(target=pump, args=(t, u), daemon=True).start()
    pump(u, t)

while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
PY
    xo_start_py_server "tls-relay-$1" "$p/relay.py" "$p/srv.pem" "$p/srv.key" "$1"
    XO_TLS_PORT=$XO_SERVER_PORT
    echo "   TLS relay on 127.0.0.1:$XO_TLS_PORT -> $1"
}

# --- a Microsoft-like mail service (t-diag) ----------------------------------
# xo_start_exchange NAME [--tls]: exchange_server.py (IMAP, POP and SMTP that
# answer the way Exchange Online does, and a token endpoint answering the
# way the Microsoft identity platform does) in $XO_TMP/NAME.  With --tls the
# mail services offer STARTTLS with xo_tls_pki's certificate and, like
# Exchange, no AUTH before it.  What it answers is read from files in its
# directory at each login (see exchange_server.py: mode, token-mode,
# claims.json, app-mailboxes).  Sets XO_EX_DIR, XO_EX_LOG, XO_EX_IMAP_PORT,
# XO_EX_POP_PORT, XO_EX_SMTP_PORT and XO_EX_TOKEN_URL (tenant
# contoso.onmicrosoft.com).
xo_start_exchange() {
    local dir=$XO_TMP/$1 pid n tls=()
    if [ "${2:-}" = --tls ]; then
        xo_tls_pki
        tls=(--cert "$XO_TLS_CERT" --key "$XO_TLS_KEY")
    fi
    mkdir -p "$dir"
    XO_EX_DIR=$dir XO_EX_LOG=$dir/server.log
    setsid "$XO_PYTHON" "$XO_TESTS_DIR/exchange_server.py" serve \
        --state-dir "$dir" --log "$XO_EX_LOG" "${tls[@]}" \
        </dev/null >>"$dir/server.err" 2>&1 &
    pid=$!
    XO__PIDS+=("$pid")
    xo_wait_file "$dir/ports" "$pid" exchange_server.py "$dir/server.err"
    read -r XO_EX_IMAP_PORT XO_EX_POP_PORT XO_EX_SMTP_PORT n < <("$XO_PYTHON" -c \
        'import json, sys; p = json.load(open(sys.argv[1])); print(p["imap"], p["pop"], p["smtp"], p["http"])' \
        "$dir/ports")
    XO_EX_TOKEN_URL=http://127.0.0.1:$n/contoso.onmicrosoft.com/oauth2/v2.0/token
    echo "   exchange-like service in $1: imap $XO_EX_IMAP_PORT, pop $XO_EX_POP_PORT," \
         "smtp $XO_EX_SMTP_PORT${tls:+ (STARTTLS)}, token endpoint $XO_EX_TOKEN_URL"
}

# --- a throwaway user, hostile text (issue 16) ---------------------------------
# xo_user_init UID: a user with no passwd entry: its home $XO_TMP/home-UID
# (mode 700, its own) with a token store $XO_TMP/home-UID/data/xoauth2.
# Sets XO_USER_HOME and XO_USER_STORE.  xo_as_user UID CMD... runs CMD as
# that uid and gid with no supplementary groups, its HOME and
# XDG_DATA_HOME set, under xo_run_timeout (30 s).
xo_user_init() {
    xo_require_cmd setpriv
    XO_USER_HOME=$XO_TMP/home-$1
    XO_USER_STORE=$XO_USER_HOME/data/xoauth2
    chmod 711 "$XO_TMP"
    mkdir -p -m 700 "$XO_USER_HOME" "$XO_USER_HOME/data" "$XO_USER_STORE"
    chown -R "$1:$1" "$XO_USER_HOME"
}

xo_as_user() {
    local uid=$1; shift
    xo_run_timeout 30 setpriv --reuid "$uid" --regid "$uid" --clear-groups \
        env HOME="$XO_TMP/home-$uid" XDG_DATA_HOME="$XO_TMP/home-$uid/data" "$@"
}

# xo_assert_no_controls FILE WHAT: no ESC, no C1 control (a lone byte
# 0x80-0x9f that is not inside a UTF-8 character, or U+0080-U+009F as
# C2 80..9F) and no other C0 control but newline and tab in FILE.
xo_assert_no_controls() {
    "$XO_PYTHON" - "$1" <<'PY' || xo_fail "$2: control characters in ${1##*/}" "$1"
import re, sys
data = open(sys.argv[1], "rb").read()
bad = []
for m in re.finditer(rb"[\x00-\x08\x0b-\x1f\x7f]|\xc2[\x80-\x9f]", data):
    bad.append(m.start())
# a C1 byte not continuing a valid multi-byte UTF-8 character
text = data.decode("utf-8", errors="surrogateescape")
for i, ch in enumerate(text):
    if 0xdc80 <= ord(ch) <= 0xdc9f:
        bad.append(i)
if bad:
    print("   control characters at offsets %s" % bad[:10])
    sys.exit(1)
PY
    echo "   ok: $2: no ESC, no C0 or C1 control"
}

# xo_paste_hints OUT FILE...: every "xoauth2-token SUBCOMMAND ..." hint in
# FILE..., cut where a person would stop copying (the end of the line, or
# ", " / "; " outside quotes), pasted into sh -c as an admin would, with
# PATH starting at a stand-in xoauth2-token that only records its
# arguments, in a scratch directory.  Writes to OUT one line per hint:
# the hint, a tab, and the argument after the subcommand as sh passed it
# (or "(nothing ran)").  Fails if a pasted hint created a file.
xo_paste_hints() {
    local out=$1 bin=$XO_TMP/paste-bin dir=$XO_TMP/paste-dir hint; shift
    mkdir -p "$bin" "$dir"
    cat >"$bin/xoauth2-token" <<'SH'
#!/bin/sh
# records its arguments, one per line, for xo_paste_hints
for a in "$@"; do printf '%s\n' "$a"; done >"$XO_PASTE_ARGS"
SH
    chmod 755 "$bin/xoauth2-token"
    : >"$out"
    "$XO_PYTHON" - "$@" >"$XO_TMP/paste-hints" <<'PY'
import sys
for f in sys.argv[1:]:
    for line in open(f, "rb").read().decode("utf-8", "replace").splitlines():
        start = 0
        while True:
            i = line.find("xoauth2-token ", start)
            if i < 0:
                break
            if line[i + 14:].split(" ")[0] not in ("login", "show", "refresh",
                                                   "test", "set", "status"):
                start = i + 14
                continue
            j, q = i, False
            while j < len(line):
                c = line[j]
                if c == "\\" and not q:
                    j += 1          # an escaped character, \' included
                elif c == "'":
                    q = not q
                elif not q and line[j:j + 2] in (", ", "; "):
                    break
                j += 1
            print(line[i:j].rstrip(",;"))
            start = j
PY
    while IFS= read -r hint; do
        rm -f "$dir/args"
        (cd "$dir" && XO_PASTE_ARGS=$dir/args PATH="$bin:/usr/bin:/bin" \
            sh -c "$hint" >/dev/null 2>&1) || true
        if [ -f "$dir/args" ]; then
            printf '%s\t%s\n' "$hint" "$(awk 'NR > 1 && !/^--/ { print; exit }' "$dir/args")" >>"$out"
        else
            printf '%s\t(nothing ran)\n' "$hint" >>"$out"
        fi
        [ -z "$(ls -A "$dir" | grep -vx args)" ] \
            || xo_fail "pasting '$hint' made files: $(ls -A "$dir")" "$out"
    done <"$XO_TMP/paste-hints"
}

# --- what other processes can see, and what stays in memory -------------------
# xo_sampler_start SAMPLES SWEEPS: every 20 ms, the argv (/proc/PID/cmdline,
# what ps shows) and environment (/proc/PID/environ) of every process,
# each distinct one written once to SAMPLES ("PID argv: ..." / "PID
# environ: ...").  Python processes are the test's own harness (the mock
# server, its ctl client and xo_tokfile, which take tokens in argv): they
# are left out.  xo_sampler_stop writes the number of sweeps to SWEEPS.
xo_sampler_start() {
    setsid "$XO_PYTHON" - "$1" "$2" <<'PY' &
import os, signal, sys, time
out, sweeps_file = sys.argv[1:3]
seen, sweeps = set(), 0
def stop(*_):
    open(sweeps_file, "w").write("%d\n" % sweeps)
    os._exit(0)     # at once: no exception to unwind through the loop
signal.signal(signal.SIGTERM, stop)
with open(out, "ab") as f:
    while True:
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = open("/proc/%s/cmdline" % pid, "rb").read()
                env = open("/proc/%s/environ" % pid, "rb").read()
            except OSError:
                continue
            if b"python" in os.path.basename(cmd.split(b"\0")[0]):
                continue
            for kind, val in ((b"argv", cmd), (b"environ", env)):
                line = b"%s %s: %s\n" % (pid.encode(), kind, val.replace(b"\0", b" "))
                if line not in seen:
                    seen.add(line)
                    f.write(line)
        f.flush()
        sweeps += 1
        time.sleep(0.02)
PY
    XO_SAMPLER=$!
    XO__PIDS+=("$XO_SAMPLER")
}

xo_sampler_stop() {
    local n
    kill -TERM "$XO_SAMPLER" 2>/dev/null || true
    for ((n = 0; n < 100; n++)); do
        kill -0 "$XO_SAMPLER" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$XO_SAMPLER" 2>/dev/null \
        && xo_fail "the process sampler did not stop within 5 s of SIGTERM"
    wait "$XO_SAMPLER" 2>/dev/null || true
}

# xo_mem_count PID STRING: how many times STRING is in the writable memory
# (heap, stack, data) of the live process PID, read through
# /proc/PID/mem (root).  For "a secret is wiped once used".  Read in
# 1 MiB pieces (overlapping by the needle's length); a writable mapping of
# 1 GiB or more is a sanitizer's shadow reservation (ASan maps terabytes),
# never where the program keeps its data, and is passed over.  STRING
# "hex:HEX" is the bytes HEX spells (binary: a key's numbers).
xo_mem_count() {
    "$XO_PYTHON" - "$1" "$2" <<'PY'
import re, sys
pid, needle = sys.argv[1], sys.argv[2].encode()
if needle.startswith(b"hex:"):
    needle = bytes.fromhex(needle[4:].decode())
piece, most = 1 << 20, 1 << 30
n = 0
with open("/proc/%s/maps" % pid) as maps, open("/proc/%s/mem" % pid, "rb", 0) as mem:
    for line in maps:
        m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
        if not m or "w" not in m.group(3):
            continue
        start, end = int(m.group(1), 16), int(m.group(2), 16)
        if end - start >= most:
            continue
        tail = b""
        for at in range(start, end, piece):
            try:
                mem.seek(at)
                chunk = mem.read(min(piece, end - at))
            except (OSError, OverflowError, ValueError):
                tail = b""
                continue
            buf = tail + chunk
            n += buf.count(needle)
            # shorter than the needle: one that straddles the pieces is
            # counted once, with the next piece
            keep = len(needle) - 1
            tail = buf[-keep:] if keep > 0 else b""
print(n)
PY
}

# --- root acting for others (issue 16): a user, a root-only canary ----------
# xo_user_dir UID DIR: DIR (and parents) exists, owned by UID:UID, mode 0700.
xo_user_dir() {
    mkdir -p "$2" || xo_fail "cannot create $2"
    chown "$1:$1" "$2" && chmod 700 "$2" || xo_fail "cannot give $2 to $1"
}

# xo_canary DIR: a root-only directory (0700) holding a root-only secret
# file DIR/secret (0600); XO_CANARY_SECRET is its content.  What a user
# must never reach through root: xo_canary_sum says if anything there
# changed, and the secret must never reach a server.
xo_canary() {
    mkdir -m 700 "$1" || xo_fail "cannot create $1"
    XO_CANARY_SECRET=root-only-canary-$RANDOM$RANDOM$RANDOM
    printf '%s\n' "$XO_CANARY_SECRET" >"$1/secret"
    chmod 600 "$1/secret"
}

# xo_canary_sum DIR: one checksum of the names, owners, modes, types and
# contents of everything under DIR.
xo_canary_sum() {
    (cd "$1" && find . -printf '%p %U %G %m %y %s\n' | sort &&
        find . -type f -exec sha256sum {} + | sort) | sha256sum
}

# xo_record_requests FILE [MORE]: the OAuth server appends the body of
# every /token request to FILE before answering, then runs the shell
# command MORE (if given) once, at that moment: a test swaps files there.
xo_record_requests() {
    : >"$1"
    rm -f "$1.once"
    xo_oauth -q hook "cat >>'$1'; echo >>'$1'${2:+; [ -e '$1.once' ] || { : >'$1.once'; $2; }}" \
        || xo_fail "cannot set the OAuth server's hook"
}

# --- the desktop keyring (login --keyring; t-keyring.sh, t-secrets.sh) --------
# xo_keyring_start: a private session bus under dbus-run-session (our
# configuration: no service activation, so nothing starts a Secret Service
# behind our back) and gnome-keyring-daemon on it,
# its "login" keyring (in $XO_TMP/keyring) created or unlocked with a
# password on stdin, as PAM does at a desktop login.  Exports
# DBUS_SESSION_BUS_ADDRESS; XO_KEYRING_BUS is its socket.  Skips without
# dbus-run-session, dbus-daemon, gnome-keyring-daemon, secret-tool, gdbus or xoauth2-keyring
# (a build without libsecret).
xo_keyring_start() {
    xo_require_cmd dbus-run-session dbus-daemon gnome-keyring-daemon secret-tool gdbus
    [ -x "$(dirname "$XO_HELPER")/xoauth2-keyring" ] \
        || xo_skip "built without libsecret: $(dirname "$XO_HELPER")/xoauth2-keyring missing"
    mkdir -p "$XO_TMP/keyring/home" "$XO_TMP/keyring/run"
    chmod 700 "$XO_TMP/keyring" "$XO_TMP/keyring/run"
    xo_keyring_bus main
    export DBUS_SESSION_BUS_ADDRESS=unix:path=$XO_KEYRING_BUS
    xo_keyring_daemon
}
# xo_keyring_bus NAME: a private session bus at $XO_TMP/keyring/NAME.sock
# (XO_KEYRING_BUS for "main").
xo_keyring_bus() {
    local sock=$XO_TMP/keyring/$1.sock pid
    cat >"$XO_TMP/keyring/$1.conf" <<EOC
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=$sock</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
EOC
    if [ "$1" = main ]; then
        # The session a desktop-less user gets: dbus-run-session, which
        # runs the bus for as long as its program (here a holder that
        # stops last but one: stopping it ends the session and its bus).
        dbus-run-session --config-file="$XO_TMP/keyring/$1.conf" -- \
            sh -c 'echo $$ >"$1" && exec sleep 100000' sh "$XO_TMP/keyring/$1.holder" \
            </dev/null >"$XO_TMP/keyring/$1.log" 2>&1 &
        pid=$!
        XO__PIDS+=("$pid")
        xo_poll 10 test -s "$XO_TMP/keyring/$1.holder" -a -S "$sock" \
            || xo_fail "dbus-run-session ($1) did not start" "$XO_TMP/keyring/$1.log"
        XO__PIDS+=($(pgrep -P "$pid" dbus-daemon) "$(cat "$XO_TMP/keyring/$1.holder")")
    else
        dbus-daemon --config-file="$XO_TMP/keyring/$1.conf" --nofork \
            </dev/null >"$XO_TMP/keyring/$1.log" 2>&1 &
        pid=$!
        XO__PIDS+=("$pid")
        xo_poll 10 test -S "$sock" || xo_fail "dbus-daemon ($1) did not start" "$XO_TMP/keyring/$1.log"
    fi
    [ "$1" != main ] || XO_KEYRING_BUS=$sock
}
xo__keyring_up() {
    DBUS_SESSION_BUS_ADDRESS=unix:path=$XO_KEYRING_BUS gdbus call --session \
        --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
        --method org.freedesktop.DBus.NameHasOwner org.freedesktop.secrets \
        2>/dev/null | grep -q true
}
# xo_keyring_daemon: (re)start gnome-keyring-daemon, unlocking the keyring.
XO_KEYRING_PID=
XO_KEYRING_PW=xo-keyring-test-password
xo_keyring_daemon() {
    printf '%s' "$XO_KEYRING_PW" >"$XO_TMP/keyring/pw"
    DBUS_SESSION_BUS_ADDRESS=unix:path=$XO_KEYRING_BUS HOME=$XO_TMP/keyring/home \
        XDG_DATA_HOME=$XO_TMP/keyring/home XDG_RUNTIME_DIR=$XO_TMP/keyring/run \
        XDG_CONFIG_HOME=$XO_TMP/keyring/home/.config \
        XDG_CACHE_HOME=$XO_TMP/keyring/home/.cache \
        gnome-keyring-daemon --foreground --unlock --components=secrets \
        <"$XO_TMP/keyring/pw" >>"$XO_TMP/keyring/daemon.log" 2>&1 &
    XO_KEYRING_PID=$!
    XO__PIDS+=("$XO_KEYRING_PID")
    xo_poll 20 xo__keyring_up || xo_fail "gnome-keyring-daemon did not start" "$XO_TMP/keyring/daemon.log"
}
# xo_keyring_restart: stop the daemon and start it again: the keyring is
# unlocked again (with the same password).
xo_keyring_restart() {
    kill "$XO_KEYRING_PID" 2>/dev/null || true
    wait "$XO_KEYRING_PID" 2>/dev/null || true
    xo_poll 10 eval '! xo__keyring_up' || xo_fail "gnome-keyring-daemon did not stop"
    xo_keyring_daemon
}
# xo_keyring_lock: lock the "login" keyring (the Secret Service's Lock).
xo_keyring_lock() {
    gdbus call --session --dest org.freedesktop.secrets \
        --object-path /org/freedesktop/secrets \
        --method org.freedesktop.Secret.Service.Lock \
        "['/org/freedesktop/secrets/collection/login']" >/dev/null \
        || xo_fail "cannot lock the login keyring"
}
# xo_keyring_item ACCOUNT: print the refresh token the keyring holds for
# the token file ACCOUNT.json (helper/keyring.h's schema).
xo_keyring_item() {
    secret-tool lookup xdg:schema org.xoauth2.RefreshToken account "$1" 2>/dev/null
}
# xo_keyring_move FILE: FILE's refresh token into the keyring, as login
# --keyring would have put it, and out of FILE ("refresh_token_store").
xo_keyring_move() {
    "$XO_PYTHON" - "$1" <<'PY' || xo_fail "cannot move the refresh token of $1 into the keyring"
import json, os, subprocess, sys
p = sys.argv[1]
t = json.load(open(p))
acct = os.path.basename(p)[:-5] if p.endswith(".json") else os.path.basename(p)
subprocess.run(["secret-tool", "store", "--label=xoauth2-token: %s (%s)" % (acct, t["user"]),
                "xdg:schema", "org.xoauth2.RefreshToken", "user", t["user"],
                "client_id", t["client_id"], "token_endpoint", t["token_endpoint"],
                "account", acct], input=t.pop("refresh_token").encode(), check=True)
t["refresh_token_store"] = "keyring"
with open(p + ".xo-new", "w") as f:
    os.fchmod(f.fileno(), os.stat(p).st_mode & 0o7777)
    json.dump(t, f)
os.replace(p + ".xo-new", p)
PY
}
