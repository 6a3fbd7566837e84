#!/bin/bash
# xoauth2-token login's loopback listener against the other things that
# can reach its port (issue 10 item 6):
#   - a request without this login's state -- a bare `GET /` from a local
#     user or a web page, someone else's redirect -- is answered 400 and
#     waited past; so are /favicon.ico (404) and a POST (405); the real
#     redirect that follows still signs in;
#   - connections that say nothing, or only half a request, do not hold
#     the listener up: the real redirect is answered while they are open;
#   - only answers without our state, then nothing: at the deadline the
#     login says so (76), and no token file is written;
#   - --redirect-host localhost listens on 127.0.0.1 and [::1] on the same
#     port (a browser may try [::1] first), and refuses to start if someone
#     else holds [::1]:PORT.
set -eu
. "$(dirname "$0")/lib.sh"

xo_login_setup ss
USER=alice@example.com

# The "browser": before following the URL, it does what $XO_BROWSER_DO
# says to the listener named in the URL's redirect_uri, logging each
# answer; then it fetches the URL (following the redirect to the
# listener) and logs the status and page.
#   stray      GET /, GET /?code=..&state=wrong, GET /favicon.ico, POST /
#   idle       three connections that send nothing and one that sends
#              half a request line, all left open
#   v6         the listening addresses (ss), then GET / on [::1]:PORT
xo_browser <<'EOF'
import os, socket, time
do = os.environ.get("XO_BROWSER_DO", "")
port = redirect_port(url)

def raw(req, host="127.0.0.1"):
    s = socket.create_connection((host, port), timeout=10)
    s.sendall(req)
    data = b""
    while True:
        d = s.recv(4096)
        if not d:
            break
        data += d
    s.close()
    return data.split(b"\r\n", 1)[0].decode()

held = []
if do == "stray":
    for name, req in (("bare", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
                      ("wrong-state", b"GET /?code=stolen&state=wrong HTTP/1.1\r\n\r\n"),
                      ("favicon", b"GET /favicon.ico HTTP/1.1\r\n\r\n"),
                      ("post", b"POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n")):
        log.write("%s: %s\n" % (name, raw(req)))
elif do == "idle":
    for _ in range(3):
        held.append(socket.create_connection(("127.0.0.1", port), timeout=10))
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /?sta")
    held.append(s)
    log.write("holding %d connections\n" % len(held))
elif do == "v6":
    log.write("listening %s\n" % listening(port))
    log.write("v6: %s\n" % raw(b"GET / HTTP/1.1\r\n\r\n", "::1"))
t0 = time.monotonic()
fetch(url, log)
log.write("fetched in %.1f s\n" % (time.monotonic() - t0))
# The held connections are still open now: the answer did not wait for them.
for s in held:
    s.close()
log.write("done\n")
EOF

# login NAME ARGS...: xoauth2-token login with the mock server's endpoints;
# its stderr, then the browser's log, in NAME.err.  The helper exits once it
# has answered the redirect, often before the browser has read the answer:
# when the browser was started, wait for its last line.
login() {
    local name=$1; shift
    : >"$XO_TMP/browser.log"
    xo_login_mock 40 "$name" --login-hint "$USER" --scope "$XO_IMAP_SCOPE" "$@"
    if xo_grep 'a browser should open' "$XO_TMP/$name.err"; then
        xo_poll 30 xo_grep '^done$' "$XO_TMP/browser.log" \
            || xo_fail "the browser did not finish within 30 s (login $name exited $XO_RC)" \
                "$XO_TMP/$name.err" "$XO_TMP/browser.log"
    fi
    cat "$XO_TMP/browser.log" >>"$XO_TMP/$name.err"
}

# signed_in NAME: the login passed and its token file works.
signed_in() {
    local name=$1
    xo_assert_rc 0 "$XO_TMP/$name.err"
    xo_assert_contains "$XO_TMP/$name.err" "signed in as $USER; token file $XO_STORE/$name\.json written"
    xo_assert_contains "$XO_TMP/$name.err" '^status 200$' "the real redirect was answered 200"
    xo_assert_contains "$XO_TMP/$name.err" '^page .*Signed in' "with the success page"
    xo_run_timeout 20 "$XO_HELPER" refresh --force "$name" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc 0 "$XO_TMP/err"
}

xo_step "requests without the state, favicon.ico, a POST: answered, and the login waits on"
XO_BROWSER_DO=stray login stray
xo_assert_contains "$XO_TMP/stray.err" '^bare: HTTP/1\.1 400 Bad Request$' "a bare GET / is told 400"
xo_assert_contains "$XO_TMP/stray.err" '^wrong-state: HTTP/1\.1 400 Bad Request$' "a wrong state is told 400"
xo_assert_contains "$XO_TMP/stray.err" '^favicon: HTTP/1\.1 404 Not Found$'
xo_assert_contains "$XO_TMP/stray.err" '^post: HTTP/1\.1 405 Method Not Allowed$'
signed_in stray

xo_step "idle and half-sent connections do not hold the listener"
XO_BROWSER_DO=idle login idle
xo_assert_contains "$XO_TMP/idle.err" '^holding 4 connections$'
# Today's limit per connection is 10 s, and the browser gives up after
# 10 s: a listener serving one connection at a time would answer the
# real redirect only after the four held ones had timed out.
signed_in idle
xo_assert_contains "$XO_TMP/idle.err" '^fetched in [0-9]\.[0-9] s$' "answered while they were open"

xo_step "only answers without our state: refused, then the deadline says so"
xo_oauth -q authorize-mode wrong-state
login wrongstate --wait 3
xo_assert_rc 76 "$XO_TMP/wrongstate.err"
xo_assert_contains "$XO_TMP/wrongstate.err" 'refused an answer on http://127\.0\.0\.1:[0-9]+/ with a wrong or missing state'
xo_assert_contains "$XO_TMP/wrongstate.err" '^status 400$' "the browser was told 400"
[ ! -e "$XO_STORE/wrongstate.json" ] || xo_fail "a token file was written"
xo_oauth -q authorize-mode approve

if ! "$XO_PYTHON" -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
    echo "   note: this host has no IPv6 loopback; the [::1] steps do not apply"
    xo_pass
fi

xo_step "--redirect-host localhost: 127.0.0.1 and [::1], the same port"
XO_BROWSER_DO=v6 login v6 --redirect-host localhost
xo_assert_contains "$XO_TMP/v6.err" '^listening 127\.0\.0\.1:([0-9]+) \[::1\]:\1$' \
    "ss: both loopback addresses, one port"
xo_assert_contains "$XO_TMP/v6.err" '^v6: HTTP/1\.1 400 Bad Request$' "[::1] is our listener"
xo_assert_contains "$XO_TMP/v6.err" 'redirect_uri=http%3A%2F%2Flocalhost%3A[0-9]+%2F'
signed_in v6

xo_step "--redirect-host localhost: someone else on [::1]:PORT stops the login"
port=$(xo_free_ports 1)
rm -f "$XO_TMP/squat.ready"
setsid "$XO_PYTHON" -c '
import socket, sys, time
s = socket.socket(socket.AF_INET6)
s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind(("::1", int(sys.argv[1])))
s.listen(4)
open(sys.argv[2], "w").close()
time.sleep(120)' "$port" "$XO_TMP/squat.ready" </dev/null >"$XO_TMP/squat.err" 2>&1 &
XO__PIDS+=("$!")
for ((n = 0; n < 100; n++)); do
    [ -e "$XO_TMP/squat.ready" ] && break
    sleep 0.1
done
[ -e "$XO_TMP/squat.ready" ] || xo_fail "could not hold [::1]:$port" "$XO_TMP/squat.err"
login squat --redirect-host localhost --port "$port"
xo_assert_rc 69 "$XO_TMP/squat.err"
xo_assert_contains "$XO_TMP/squat.err" "cannot listen on 127\.0\.0\.1 and \[::1\]:$port for the browser's answer: Address already in use; choose another --port"
[ ! -e "$XO_STORE/squat.json" ] || xo_fail "a token file was written"

xo_pass
