#!/bin/bash
# doc/recipes/sendmail.md: Debian's real sendmail as a smart-host client
# with XOAUTH2, against the private Dovecot's submission service (which
# relays to the SMTP sink) and the mock OAuth server:
#   - the token file as the AuthInfo password (root-owned): the message
#     reaches the sink, through AUTH XOAUTH2;
#   - an expired token file: the plugin runs the helper from its built-in
#     path (sendmail clears the environment, so XOAUTH2_HELPER never
#     arrives), the file is refreshed once, the message goes;
#   - `show` and `test --smtp` print the length of the AUTH line sendmail
#     really sent; show warns above sendmail's 2047 characters;
#   - a refused (revoked) token: what sendmail does with the 535 (it goes on
#     without AUTH; Dovecot refuses the unauthenticated MAIL: a bounce),
#     nothing reaches the sink;
#   - a token whose AUTH line is over 2047 characters: show warns, and
#     sendmail sends only the first 2047 (nothing reaches the sink);
#   - a literal token over 252 characters as P:: sendmail silently tries
#     no AUTH at all (the recipe's "never a literal token");
#   - the plugin failing (token file gone): sendmail defers the message
#     ("temporary failure, connection abort" in its log);
#   - the recipe's guard (a Local_tls_rcpt rule requiring {auth_type})
#     defers instead of sending to a server that takes mail without AUTH.
# A plugin swapped for another (XO_PLUGIN_DIR) fails the first step.
# The plugin's own explanations never reach sendmail's log (sendmail gives
# libsasl2 no log callback and Debian's libsasl2 has no default one: see
# the recipe), so what the test reads there is sendmail's own lines.
# sendmail is not installed (it would replace postfix): its Debian packages
# are unpacked (tools/build.sh fetched them into $XO_SENDMAIL_DEBS) and the
# binary runs with its own .cf and queue, in a private mount and UTS
# namespace: our plugin (only) bind-mounted over libsasl2's system plugin
# directory, the helper over its built-in directory, a hosts file of its
# own (no DNS), and /dev/log a socket this test reads.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_root
xo_require_helper
xo_require_plugin
xo_require_cmd dovecot m4 unshare dpkg-deb "$XO_PYTHON"
# Under --enable-sanitizers the plugin carries ASan, which sendmail was
# built without.  sendmail links libp11-kit, so the runtime cannot be
# preloaded (it hangs, see lib.sh), and the other way, the runtime loaded
# with the plugin with its link-order check off, needs ASAN_OPTIONS, which
# ASan reads from /proc/self/environ: sendmail has overwritten that area
# with its process title by then.  The plugin's code under ASan is run by
# the other integration tests; here, like t-plugin-valgrind, a skip that
# XO_REQUIRE_ALL does not turn into a failure.
if [ -n "${XO_SANITIZERS:-}" ]; then
    echo "SKIP: $XO_TEST_NAME: sanitizer build (no way to load ASan into sendmail)"
    exit 77
fi
USER=alice@example.com RCPT=bob@example.org
DEBS=${XO_SENDMAIL_DEBS:-/var/cache/xoauth2-tests/sendmail}
ls "$DEBS"/sendmail-bin_*.deb "$DEBS"/sendmail-cf_*.deb >/dev/null 2>&1 ||
    xo_skip "no sendmail packages in $DEBS (tools/build.sh fetches them)"

# --- sendmail, unpacked ---------------------------------------------------
X=$XO_TMP/pkg
mkdir -p "$X"
for d in "$DEBS"/sendmail-bin_*.deb "$DEBS"/sendmail-base_*.deb \
    "$DEBS"/sendmail-cf_*.deb; do
    [ -f "$d" ] && dpkg-deb -x "$d" "$X"
done
SMBIN=
for p in usr/libexec/sendmail/sendmail usr/lib/sm.bin/sendmail; do
    [ -x "$X/$p" ] && { SMBIN=$X/$p; break; }
done
if [ -z "$SMBIN" ]; then	# another release may move it
    for p in $(find "$X/usr" -type f -name sendmail -perm /111); do
        [ "$(head -c4 "$p" | od -An -c | tr -d ' ')" = '177ELF' ] &&
            { SMBIN=$p; break; }
    done
fi
[ -n "$SMBIN" ] || xo_fail "no sendmail binary in the unpacked packages"
MAKEMAP=$(find "$X/usr" -type f -name makemap | head -1)
[ -n "$MAKEMAP" ] || xo_fail "no makemap in the unpacked packages"
CFM4=$X/usr/share/sendmail/cf/m4/cf.m4
[ -f "$CFM4" ] || xo_fail "no cf/m4/cf.m4 in the unpacked sendmail-cf"
ldd "$SMBIN" | grep -q libsasl2 || xo_fail "this sendmail does not link libsasl2"

# The system plugin directory libsasl2 searches (SASL_PATH does not reach
# sendmail), and the helper's built-in directory (the plugin's default).
SYSPLUG=$(dirname "$(ldd "$SMBIN" | awk '/libsasl2\.so/ {print $3}')")/sasl2
[ -d "$SYSPLUG" ] || xo_fail "no libsasl2 plugin directory $SYSPLUG"
# (A plugin swapped for another has none: then configure's default.)
HELPER_PATH=$(grep -aoE -m1 '/[[:alnum:]/._-]*/xoauth2-token' \
    "$XO_PLUGIN_DIR/libxoauth2.so" | head -1) || true
[ -n "$HELPER_PATH" ] || HELPER_PATH=/usr/local/bin/xoauth2-token
HELPER_DIR=$(dirname "$HELPER_PATH")

# Everything sendmail reads lives under S, which the namespace shows as a
# root-owned directory outside /tmp (sendmail refuses unsafe paths).
S=$XO_TMP/sm
mkdir -m 700 "$S" "$S/mqueue" "$S/plugins" "$S/bin"
cp -L "$XO_PLUGIN_DIR/libxoauth2.so" "$S/plugins/"
cp "$XO_HELPER" "$S/bin/xoauth2-token"
cp "$(dirname "$XO_HELPER")/xoauth2-token-full" "$S/bin/"
chmod 755 "$S/plugins" "$S/bin"
MNT=
for m in /mnt /srv /opt; do
    [ -d "$m" ] && [ "$(stat -c %u "$m")" = 0 ] && { MNT=$m; break; }
done
[ -n "$MNT" ] || xo_skip "no root-owned /mnt, /srv or /opt to mount over"
NAME=xo-sm.example.org
# Not 127.0.0.1: sendmail counts its own addresses as local ($=w) and
# would drop the smart host [127.0.0.1] as "this host".
printf '127.0.0.1\tlocalhost\n127.0.1.1\t%s xo-sm\n' "$NAME" >"$S/hosts"
printf 'hosts files\naliases files\n' >"$S/service.switch"
: >"$S/helpfile"
: >"$S/statistics"

# syslog: a datagram socket sendmail (and libsasl2) log to as /dev/log.
SYSLOG=$XO_TMP/syslog.txt
: >"$SYSLOG"
setsid "$XO_PYTHON" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "a")
while True:
    out.write(s.recv(65536).decode("utf-8", "replace").rstrip("\n") + "\n")
    out.flush()
' "$S/log.sock" "$SYSLOG" </dev/null >"$XO_TMP/syslog.err" 2>&1 &
XO__PIDS+=("$!")
xo_poll 5 test -S "$S/log.sock" || xo_fail "syslog socket not created" "$XO_TMP/syslog.err"

# sm_run ARGS...: run sendmail ARGS inside the namespace, its stdout and
# stderr to $XO_TMP/sm.out.
sm_run() {
    xo_run_timeout 60 unshare -m -u --propagation private \
        bash -c '
set -e
S=$1 MNT=$2 SYSPLUG=$3 HELPER_DIR=$4 NAME=$5; shift 5
echo "$NAME" >/proc/sys/kernel/hostname
mount --bind "$S" "$MNT"
mount --bind "$MNT/hosts" /etc/hosts
mount --bind "$MNT/plugins" "$SYSPLUG"
mount --bind "$MNT/bin" "$HELPER_DIR"
mkdir -p "$S/olddev"
mount --rbind /dev "$S/olddev"
mount -t tmpfs -o mode=755 tmpfs /dev
for n in null zero random urandom full; do
    : >"/dev/$n"; mount --bind "$S/olddev/$n" "/dev/$n"
done
umount -l "$S/olddev"
ln -s "$MNT/log.sock" /dev/log
exec "$@"
' sm "$S" "$MNT" "$SYSPLUG" "$HELPER_DIR" "$NAME" \
        "$SMBIN" -C "$MNT/sendmail.cf" "$@" >"$XO_TMP/sm.out" 2>&1
}

# sm_config MECH [PORT [PASSWORD]]: write and compile $S/sendmail.cf (the
# recipe's .mc, guard included, with the smart host on loopback port PORT,
# default Dovecot's submission) and the AuthInfo map (P: the token file,
# or PASSWORD).
sm_config() {
    local port=${2:-$XO_SUBMISSION_PORT} pass=${3:-$MNT/alice.json}
    cat >"$S/sendmail.mc" <<EOF
divert(-1)
include(\`$CFM4')
divert(0)dnl
OSTYPE(\`linux')dnl
define(\`confDOMAIN_NAME', \`$NAME')dnl
define(\`confSERVICE_SWITCH_FILE', \`$MNT/service.switch')dnl
define(\`confHOSTS_FILE', \`$MNT/hosts')dnl
define(\`QUEUE_DIR', \`$MNT/mqueue')dnl
define(\`STATUS_FILE', \`$MNT/statistics')dnl
define(\`HELP_FILE', \`$MNT/helpfile')dnl
define(\`confPID_FILE', \`$MNT/sendmail.pid')dnl
define(\`confDONT_PROBE_INTERFACES', \`True')dnl
define(\`confLOG_LEVEL', \`13')dnl
define(\`confTO_IDENT', \`0')dnl
undefine(\`ALIAS_FILE')dnl
define(\`LOCAL_MAILER_PATH', \`/bin/false')dnl
FEATURE(\`nocanonify')dnl
define(\`SMART_HOST', \`[127.0.0.1]')dnl
define(\`RELAY_MAILER_ARGS', \`TCP \$h $port')dnl
define(\`ESMTP_MAILER_ARGS', \`TCP \$h $port')dnl
define(\`confAUTH_MECHANISMS', \`$1')dnl
define(\`confAUTH_OPTIONS', \`A')dnl
FEATURE(\`authinfo', \`hash $MNT/authinfo')dnl
EOF
    cat >>"$S/sendmail.mc" <<'EOF'
MAILER(`local')dnl
MAILER(`smtp')dnl
LOCAL_TLS_RCPT
R$*		$: <$&{auth_type}>
R<>		$#error $@ 4.7.0 $: "450 not authenticated to the smart host"
EOF
    m4 "$S/sendmail.mc" >"$S/sendmail.cf" 2>"$XO_TMP/m4.err" ||
        xo_fail "m4 could not build sendmail.cf" "$XO_TMP/m4.err"
    printf 'AuthInfo:127.0.0.1 "U:%s" "P:%s" "M:%s"\n' \
        "$USER" "$pass" "$1" >"$S/authinfo"
    chmod 600 "$S/authinfo"
    "$MAKEMAP" -C "$S/sendmail.cf" hash "$S/authinfo" <"$S/authinfo" \
        2>"$XO_TMP/makemap.err" || xo_fail "makemap failed" "$XO_TMP/makemap.err"
}

# sm_send SUBJECT: submit a message and deliver it at once (-odi), with the
# SMTP dialogue (-v) in $XO_TMP/sm.out.
sm_send() {
    printf 'From: %s\nTo: %s\nSubject: %s\n\nbody\n' "$USER" "$RCPT" "$1" \
        >"$XO_TMP/msg"
    sm_run -odi -v -f "$USER" "$RCPT" <"$XO_TMP/msg"
}
queued() { find "$S/mqueue" -name 'qf*' | wc -l; }

xo_start_mail_servers
F=$S/alice.json

for MECH in XOAUTH2 OAUTHBEARER; do
    xo_step "$MECH: the token file as the AuthInfo password: the message goes out"
    sm_config "$MECH"
    xo_tokfile "$F" "$USER" 3600
    sm_send "sendmail $MECH valid"
    xo_sink_wait "sendmail $MECH valid" 10 ||
        xo_fail "the message did not reach the sink" "$XO_TMP/sm.out" "$SYSLOG"
    xo_grep "^>>> AUTH $MECH " "$XO_TMP/sm.out" ||
        xo_fail "sendmail did not send AUTH $MECH" "$XO_TMP/sm.out"
    xo_grep '^235 ' "$XO_TMP/sm.out" ||
        xo_fail "the server did not accept the login" "$XO_TMP/sm.out"
    [ "$(queued)" = 0 ] || xo_fail "the message stayed in the queue" "$XO_TMP/sm.out"
    echo "   ok: AUTH $MECH, 235, at the sink"
    if [ "$MECH" = XOAUTH2 ]; then
        xo_step "show and test --smtp report the size of the AUTH line sendmail sent"
        sent=$(tr -d '\r' <"$XO_TMP/sm.out" | grep -m1 '^>>> AUTH XOAUTH2 ')
        sent=$(( ${#sent} - 4 ))
        "$XO_HELPER" show "$F" >"$XO_TMP/show.out" 2>&1 ||
            xo_fail "show failed" "$XO_TMP/show.out"
        xo_assert_contains "$XO_TMP/show.out" "^AUTH line: +$sent characters with XOAUTH2"
        xo_assert_not_contains "$XO_TMP/show.out" 'sendmail.s limit'
        xo_run_timeout 30 "$XO_HELPER" test "$F" --smtp \
            "127.0.0.1:$XO_SUBMISSION_PORT" --plain --mech XOAUTH2 \
            >"$XO_TMP/test.out" 2>&1
        xo_assert_rc 0 "$XO_TMP/test.out"
        xo_assert_contains "$XO_TMP/test.out" \
            "note: a client sending the initial response .* a line of $sent characters"
        # user + token of 1,505 bytes: 2,049 characters, cut by sendmail.
        "$XO_PYTHON" - "$F" "$S/long.json" <<'PY'
import json, os, sys
t = json.load(open(sys.argv[1]))
t["access_token"] = "A" * (1505 - len(t["user"]))
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(t).encode())
os.close(fd)
PY
        "$XO_HELPER" show "$S/long.json" >"$XO_TMP/show.out" 2>&1 ||
            xo_fail "show failed" "$XO_TMP/show.out"
        xo_assert_contains "$XO_TMP/show.out" "^AUTH line: +2049 characters with XOAUTH2"
        xo_assert_contains "$XO_TMP/show.out" "\[warning\] over sendmail's limit of 2047"
        rm -f "$S/long.json"
    fi
done

xo_step "an expired token file: the plugin runs the helper at $HELPER_PATH, once"
sm_config XOAUTH2
xo_tokfile "$F" "$USER" -10
old=$(xo_token_field "$F" access_token)
r0=$(xo_oauth_refreshes)
sm_send "sendmail refreshed"
xo_sink_wait "sendmail refreshed" 10 ||
    xo_fail "the message did not reach the sink after a refresh" "$XO_TMP/sm.out" "$SYSLOG"
[ "$(xo_token_field "$F" access_token)" != "$old" ] ||
    xo_fail "the token file still holds the expired token"
[ "$(xo_oauth_refreshes)" = $((r0 + 1)) ] ||
    xo_fail "expected one refresh, the server saw $(( $(xo_oauth_refreshes) - r0 ))"
[ "$(stat -c %u "$F")" = 0 ] || xo_fail "the refreshed file is no longer root's"
echo "   ok: refreshed once, file still root's, message at the sink"

xo_step "a refused token: nothing reaches the sink (what sendmail does next)"
n0=$(xo_sink_count)
xo_tokfile "$F" "$USER" 3600
xo_revoke "$(xo_token_field "$F" access_token)"
sm_send "sendmail refused"
[ "$(xo_sink_count)" = "$n0" ] ||
    xo_fail "a message with a refused token reached the sink" "$XO_TMP/sm.out"
xo_grep '^535 ' "$XO_TMP/sm.out" ||
    xo_fail "no 535 from the server" "$XO_TMP/sm.out"
# sendmail goes on without AUTH (no setting of its own changes that); this
# server refuses MAIL then (530), a permanent error: sendmail bounces.  The
# guard cannot help here: MAIL comes before any RCPT.
if xo_grep '^>>> MAIL From:' "$XO_TMP/sm.out"; then
    echo "   sendmail went on without AUTH; the server said:" \
        "$(grep -m1 -A1 '^>>> MAIL' "$XO_TMP/sm.out" | tail -1)"
fi
echo "   queued after the refusal: $(queued) (0: bounced)"
find "$S/mqueue" -name '[qd]f*' -delete
echo "   ok: 535, nothing sent"

xo_step "a failing AUTH (token file unreadable) defers the message"
mv "$F" "$F.away"
sm_send "sendmail failing"
[ "$(queued)" = 1 ] ||
    xo_fail "the message was not deferred (queued: $(queued))" "$XO_TMP/sm.out" "$SYSLOG"
xo_grep 'temporary failure, connection abort' "$SYSLOG" ||
    xo_fail "sendmail did not report a temporary AUTH failure" "$XO_TMP/sm.out" "$SYSLOG"
xo_assert_not_contains "$XO_TMP/sm.out" '>>> MAIL From'
echo "   ok: deferred, no MAIL sent: $(grep -m1 -o 'AUTH=client.*abort' "$SYSLOG")"
mv "$F.away" "$F"
find "$S/mqueue" -name '[qd]f*' -delete

xo_step "a token making an AUTH line over 2047 characters: show warns, sendmail cuts it"
sm_config XOAUTH2
xo_tokfile "$F" "$USER" 3600 access_token="$(printf 'A%.0s' {1..1600})"
"$XO_HELPER" show "$F" >"$XO_TMP/show.out" 2>&1 || xo_fail "show failed" "$XO_TMP/show.out"
xo_assert_contains "$XO_TMP/show.out" "over sendmail's limit of 2047"
want=$(sed -nE 's/^AUTH line: +([0-9]+) characters with XOAUTH2.*/\1/p' "$XO_TMP/show.out")
n0=$(xo_sink_count)
sm_send "sendmail long"
sent=$(tr -d '\r' <"$XO_TMP/sm.out" | grep -m1 '^>>> AUTH XOAUTH2 ') ||
    xo_fail "sendmail sent no AUTH" "$XO_TMP/sm.out"
sent=$(( ${#sent} - 4 ))
[ "$sent" = 2047 ] && [ "$want" -gt 2047 ] ||
    xo_fail "show said $want characters, sendmail sent $sent (want: cut at 2047)" "$XO_TMP/sm.out"
[ "$(xo_sink_count)" = "$n0" ] || xo_fail "the message reached the sink" "$XO_TMP/sm.out"
find "$S/mqueue" -name '[qd]f*' -delete
echo "   ok: show said $want characters; sendmail sent $sent, and the server" \
    "answered: $(tr -d '\r' <"$XO_TMP/sm.out" | grep -m1 -A1 '^>>> AUTH' | tail -1)"

xo_step "a literal token over 252 characters: sendmail drops AUTH (why the recipe says never)"
sm_config XOAUTH2 "$XO_SUBMISSION_PORT" "$(printf 'A%.0s' {1..300})"
: >"$SYSLOG"
n0=$(xo_sink_count)
sm_send "sendmail literal"
[ "$(xo_sink_count)" = "$n0" ] || xo_fail "the message reached the sink" "$XO_TMP/sm.out"
xo_assert_not_contains "$XO_TMP/sm.out" '^>>> AUTH'
xo_assert_not_contains "$SYSLOG" 'AUTH'
echo "   ok: no AUTH tried, and nothing about AUTH in sendmail's log"
find "$S/mqueue" -name '[qd]f*' -delete

xo_step "the recipe's guard: a smart host that offers no AUTH gets nothing"
# The SMTP sink stands for a server that takes MAIL without AUTH (or a
# connection where AUTH was not offered): Local_tls_rcpt, run before each
# RCPT, sees no {auth_type} and defers.
sm_config XOAUTH2 "$XO_SINK_PORT"
xo_tokfile "$F" "$USER" 3600
n0=$(xo_sink_count)
sm_send "sendmail unauthenticated"
[ "$(xo_sink_count)" = "$n0" ] ||
    xo_fail "the message went out without AUTH" "$XO_TMP/sm.out"
[ "$(queued)" = 1 ] ||
    xo_fail "the message was not deferred (queued: $(queued))" "$XO_TMP/sm.out"
xo_grep 'not authenticated to the smart host' "$SYSLOG" ||
    xo_fail "no deferral by the guard" "$XO_TMP/sm.out" "$SYSLOG"
xo_assert_not_contains "$XO_TMP/sm.out" '>>> RCPT'
echo "   ok: deferred by the guard, no RCPT sent"

xo_pass
