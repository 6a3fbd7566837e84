#!/bin/bash
# `xoauth2-token test` against a hostile server or path (issue 10, items
# 3 and 4; item 5 for its S: lines):
#   - STARTTLS through a front for the private Dovecot (IMAP STARTTLS, POP
#     STLS, SMTP STARTTLS): a clean front passes; a man in the middle who
#     appends plaintext lines after the go-ahead (a whole fake dialogue, so
#     that today's client read them as if they came over TLS and said PASS
#     with a revoked token) is refused before any token is sent, and an
#     injected error challenge no longer makes the plugin mark the token
#     stale (RFC 3207 4.2, RFC 2595 3.1);
#   - bare 3-character SMTP replies ("250\n", "334\n") are read without
#     reading past the line (under valgrind, or ASan in a sanitizer build);
#   - C1 controls (U+009B CSI, U+009D OSC) from the server never reach
#     the terminal in the S: lines.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack openssl
xo_require_helper --private-store
USER=alice@example.com
mkdir -p "$XDG_DATA_HOME/xoauth2"
chmod 700 "$XDG_DATA_HOME/xoauth2"
F=$XDG_DATA_HOME/xoauth2/mail.json

xo_start_mail_servers
xo_tls_pki
xo_tokfile "$F" "$USER" 3600

# The STARTTLS front: relays a client to Dovecot's plain port, answers
# the client's STARTTLS (STLS) itself with the go-ahead -- followed, in
# the same write, by the lines of INJECT-FILE, as a man in the middle
# would -- then speaks TLS with the client (our throwaway certificate)
# and relays the rest to Dovecot.  Logs what happened per connection.
cat >"$XO_TMP/front.py" <<'EOF'
import os, select, socket, ssl, sys
from xo_listen import listen
proto, upstream, cert, key, inject_file, log, portfile = sys.argv[1:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
starttls = {"imap": b"A0 STARTTLS", "pop": b"STLS", "smtp": b"STARTTLS"}[proto]
go = {"imap": b"A0 OK Begin TLS negotiation now\r\n",
      "pop": b"+OK Begin TLS negotiation\r\n",
      "smtp": b"220 2.0.0 Ready to start TLS\r\n"}[proto]

def note(s):
    with open(log, "a") as f:
        f.write(s + "\n")

def serve(c):
    u = socket.create_connection(("127.0.0.1", int(upstream)))
    client, tls, buf = c, False, b""
    try:
        while True:
            if tls and client.pending():
                ready = [client]
            else:
                ready, _, _ = select.select([client, u], [], [], 30)
                if not ready:
                    return
            if u in ready:
                d = u.recv(65536)
                if not d:
                    return
                client.sendall(d)
            if client in ready:
                d = client.recv(65536)
                if not d:
                    return
                if tls:
                    u.sendall(d)
                    continue
                buf += d
                while b"\n" in buf and not tls:
                    line, buf = buf.split(b"\n", 1)
                    if line.rstrip(b"\r").upper() != starttls:
                        u.sendall(line + b"\n")
                        continue
                    inject = open(inject_file, "rb").read()
                    client.sendall(go + inject)   # one write, one segment
                    note("go-ahead sent with %d injected bytes" % len(inject))
                    try:
                        client = ctx.wrap_socket(c, server_side=True)
                    except (OSError, ssl.SSLError) as e:
                        note("no TLS handshake (%s)" % e.__class__.__name__)
                        return
                    note("TLS handshake done")
                    tls = True
    except (OSError, ssl.SSLError):
        pass
    finally:
        for s in (client, u):
            try:
                s.close()
            except OSError:
                pass

ls = listen(portfile, 8)
while True:
    c, _ = ls.accept()
    if os.fork() == 0:
        ls.close()
        serve(c)
        os._exit(0)
    c.close()
    try:
        while os.waitpid(-1, os.WNOHANG)[0] > 0:
            pass
    except ChildProcessError:
        pass
EOF

declare -A UPSTREAM=([imap]=$XO_IMAP_PORT [pop]=$XO_POP3_PORT [smtp]=$XO_SUBMISSION_PORT)
declare -A FRONT
: >"$XO_TMP/inject"
for proto in imap pop smtp; do
    xo_start_py_server "front-$proto" "$XO_TMP/front.py" "$proto" "${UPSTREAM[$proto]}" \
        "$XO_TLS_CERT" "$XO_TLS_KEY" "$XO_TMP/inject" "$XO_TMP/front-$proto.log"
    FRONT[$proto]=$XO_SERVER_PORT
done

# run_test NAME PROTO: xoauth2-token test over STARTTLS through the front;
# stdout and stderr in NAME.out.
run_test() {
    local name=$1 proto=$2
    : >"$XO_TMP/front-$proto.log"
    xo_run_timeout 30 "$XO_HELPER" test mail --$proto "127.0.0.1:${FRONT[$proto]}" \
        --starttls --cafile "$XO_TLS_CA" >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    cat "$XO_TMP/$name.err" >>"$XO_TMP/$name.out"
}

declare -A VERDICT=([imap]=IMAP [pop]=POP [smtp]=SMTP)
declare -A VERB=([imap]=STARTTLS [pop]=STLS [smtp]=STARTTLS)
for proto in imap pop smtp; do
    xo_step "$proto: STARTTLS through a clean front logs in"
    run_test "$proto-clean" "$proto"
    out=$XO_TMP/$proto-clean.out
    xo_assert_rc 0 "$out"
    xo_assert_contains "$out" '^   TLS: TLSv1\.[23], .*, certificate verified for 127\.0\.0\.1$'
    xo_assert_contains "$out" "^PASS: ${VERDICT[$proto]} login to 127\.0\.0\.1:${FRONT[$proto]} as $USER with XOAUTH2 \(STARTTLS\)"
    xo_assert_contains "$XO_TMP/front-$proto.log" '^TLS handshake done$'
done

# An injected error challenge (base64 of Dovecot's JSON): today's client
# hands it to the plugin, which marks the token stale.
challenge=$(printf '{"status":"401","schemes":"bearer","scope":"x"}' | base64 -w0)
expires=$(xo_token_field "$F" expires_at)
xo_step "smtp: an error challenge injected after the go-ahead is not believed"
printf '250 AUTH XOAUTH2\r\n334 \r\n334 %s\r\n' "$challenge" >"$XO_TMP/inject"
run_test smtp-stale smtp
out=$XO_TMP/smtp-stale.out
xo_assert_rc 76 "$out"
xo_assert_contains "$out" "127\.0\.0\.1 sent [0-9]+ bytes after agreeing to STARTTLS and before TLS began, in plaintext: someone on the path may be injecting lines .*no token was sent; check the network path to 127\.0\.0\.1, or use --tls"
xo_assert_not_contains "$out" 'challenge decoded' "the injected challenge was not read"
[ "$(xo_token_field "$F" expires_at)" = "$expires" ] \
    || xo_fail "the token file changed (expires_at $(xo_token_field "$F" expires_at), was $expires): marked stale by an injected line" "$out"
echo "   ok: token file untouched (expires_at $expires)"

# A whole fake dialogue after the go-ahead, with a token the real server
# refuses: today's client reads every answer from the injected lines and
# reports PASS.
xo_revoke "$(xo_token_field "$F" access_token)"
printf '* CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2\r\nA1 OK\r\nA2 OK\r\nA3 OK\r\nA4 OK\r\nA5 OK\r\n' >"$XO_TMP/inject-imap"
printf '+OK\r\nSASL XOAUTH2\r\n.\r\n+ \r\n+OK\r\n+OK 0 0\r\n+OK\r\n' >"$XO_TMP/inject-pop"
printf '250 AUTH XOAUTH2\r\n334 \r\n235 2.7.0 Authentication successful\r\n250 2.0.0 OK\r\n221 2.0.0 Bye\r\n' >"$XO_TMP/inject-smtp"
for proto in imap pop smtp; do
    xo_step "$proto: a fake dialogue injected after the ${VERB[$proto]} go-ahead is refused"
    cp "$XO_TMP/inject-$proto" "$XO_TMP/inject"
    run_test "$proto-inject" "$proto"
    out=$XO_TMP/$proto-inject.out
    xo_assert_rc 76 "$out"
    xo_assert_contains "$out" "^FAIL: ${VERDICT[$proto]} login to .*\(STARTTLS\): 127\.0\.0\.1 sent [0-9]+ bytes after agreeing to ${VERB[$proto]} and before TLS began"
    xo_assert_contains "$out" "^xoauth2-token: mail: 127\.0\.0\.1 sent [0-9]+ bytes after agreeing to ${VERB[$proto]}" \
        "the message names what happened and what to do"
    xo_assert_not_contains "$out" '^C: .*\[base64 of' "no token was sent"
    xo_assert_not_contains "$out" '^PASS' "no PASS"
    xo_assert_contains "$XO_TMP/front-$proto.log" '^go-ahead sent with [1-9][0-9]* injected bytes$'
    xo_assert_not_contains "$XO_TMP/front-$proto.log" 'TLS handshake done' \
        "the client stopped before the handshake"
done

# A plain SMTP server that answers with bare 3-character lines, C1
# controls in its greeting.  Each answer is written when the command
# arrives.
cat >"$XO_TMP/short.py" <<'EOF'
import sys
from xo_listen import listen
portfile = sys.argv[1]
ls = listen(portfile, 4)
while True:
    c, _ = ls.accept()
    c.sendall(b"220-\xc2\x9b31mred\xc2\x9b0m \xc2\x9d0;title\x07 \x1b[2J\r\n220\n")
    f = c.makefile("rb")
    auth = 0
    for line in f:
        cmd = line.strip().upper()
        if cmd.startswith(b"EHLO"):
            c.sendall(b"250-x\n250\n")
        elif cmd.startswith(b"AUTH"):
            auth = 1
            c.sendall(b"334\n")
        elif cmd.startswith(b"QUIT"):
            c.sendall(b"221\n")
            break
        elif auth == 1:
            auth = 2
            c.sendall(b"334\n")
        else:
            c.sendall(b"535\n")
    c.close()
EOF
xo_start_py_server short "$XO_TMP/short.py"
SHORT=$XO_SERVER_PORT

xo_step "smtp: bare 3-character replies (250, 334) are read within the line"
xo_tokfile "$F" "$USER" 3600
CHECK=()
if [ -z "${XO_SANITIZERS:-}" ]; then
    # A sanitizer build has ASan in the helper instead.
    xo_require_cmd valgrind
    CHECK=(valgrind -q --leak-check=no --error-exitcode=99 --log-file="$XO_TMP/vg.log")
fi
xo_run_timeout 60 "${CHECK[@]}" "$XO_HELPER" test mail --smtp "127.0.0.1:$SHORT" --plain \
    >"$XO_TMP/short.out" 2>"$XO_TMP/short.stderr"
cat "$XO_TMP/short.stderr" >>"$XO_TMP/short.out"
if [ -s "$XO_TMP/vg.log" ]; then
    xo_fail "valgrind found invalid reads on 3-character replies" "$XO_TMP/vg.log" "$XO_TMP/short.out"
fi
xo_assert_rc 77 "$XO_TMP/short.out"
xo_assert_contains "$XO_TMP/short.out" '^S: 250$'
xo_assert_contains "$XO_TMP/short.out" '^S: 334$'
xo_assert_contains "$XO_TMP/short.out" '^FAIL: SMTP login .*: 127\.0\.0\.1 refused the login'
echo "   ok: ${CHECK[0]:-ASan} clean"

xo_step "C1 controls from the server are not printed"
xo_assert_contains "$XO_TMP/short.out" '^S: 220-\?31mred\?0m \?0;title\? \?\[2J$' \
    "CSI, OSC, BEL and ESC shown as '?'"
if LC_ALL=C grep -q $'\xc2[\x80-\x9f]\|\x1b\|\x07' "$XO_TMP/short.out"; then
    xo_fail "a control character reached the output" "$XO_TMP/short.out"
fi
echo "   ok: no C0 or C1 control in the output"

xo_pass
