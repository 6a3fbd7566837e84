#!/bin/bash
# xoauth2-token login's browser flow with a real browser: headless
# Chromium (Debian's chromium) as $BROWSER against the mock OAuth server
# (issue 9 item 5).  A real browser opens speculative connections, may ask
# for /favicon.ico and may retry; the listener must still answer the
# redirect with the success page and exit, and the token file must work.
# Twice: the default redirect to 127.0.0.1, and --redirect-host localhost,
# which Chromium resolves to [::1] and 127.0.0.1 itself.  Before the first
# sign-in, Chromium also loads a local web page whose images point at the
# listener (/, a wrong state, /favicon.ico): the listener must answer them
# and keep waiting (the previous listener ended the login on the first).
set -eu
. "$(dirname "$0")/lib.sh"

command -v chromium >/dev/null ||
    xo_skip "chromium not installed (Debian package chromium; tools/build.sh installs it)"
xo_login_setup ss timeout
USER=alice@example.com

# The browser: Chromium, headless, with a profile of its own, printing the
# DOM of the page it ends on (the listener's) to browser.dom; its last log
# line is "done RC".  With XO_STRAY_PAGE=1 it first loads a page (served
# from a server of its own on 127.0.0.1) with images on the listener, and
# logs whether the listener still listens once that page has loaded.
mkdir -p "$XO_TMP/chromium"
xo_browser <<'EOF'
import http.server, os, subprocess, threading
tmp = os.path.dirname(sys.argv[2])
log.write("url %s\n" % url)
port = redirect_port(url)

def chromium(target, dom):
    with open(dom, "w") as out, open(os.path.join(tmp, "chromium.err"), "a") as err:
        return subprocess.run(
            ["timeout", "-k", "5", "60", "chromium", "--headless=new",
             "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--no-default-browser-check",
             "--user-data-dir=" + os.path.join(tmp, "chromium", "profile"),
             "--dump-dom", target], stdout=out, stderr=err).returncode

if os.environ.get("XO_STRAY_PAGE") == "1":
    l = "http://127.0.0.1:%d" % port
    page = ("<!doctype html><title>stray</title>" + "".join(
        '<img src="%s%s" onerror="this.alt=\'answered\'">' % (l, p)
        for p in ("/", "/?code=stolen&state=wrong", "/favicon.ico"))).encode()

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    rc = chromium("http://127.0.0.1:%d/stray.html" % srv.server_address[1],
                  os.path.join(tmp, "stray.dom"))
    srv.shutdown()
    ss = subprocess.run(["ss", "-Hltn", "sport = :%d" % port],
                        capture_output=True, text=True).stdout.strip()
    log.write("stray page: chromium %d; listener %s\n" %
              (rc, "still listening" if ss else "gone"))
log.write("done %d\n" % chromium(url, os.path.join(tmp, "browser.dom")))
EOF
# Chromium's processes all carry our profile directory: stop any left.
xo_on_exit 'for p in $(pgrep -f -- "--user-data-dir=$XO_TMP/chromium/" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done'

# login NAME ARGS...: xoauth2-token login with Chromium as the browser;
# then wait for Chromium to finish (the helper does not wait for it).
login() {
    local name=$1 n; shift
    : >"$XO_TMP/browser.log"
    : >"$XO_TMP/browser.dom"
    xo_login_mock 90 "$name" --login-hint "$USER" --scope "$XO_IMAP_SCOPE" \
        --wait 60 "$@"
    for ((n = 0; n < 1400; n++)); do
        xo_grep '^done ' "$XO_TMP/browser.log" && break
        sleep 0.1
    done
    xo_grep '^done ' "$XO_TMP/browser.log" ||
        xo_fail "Chromium did not finish within 140 s (login $name exited $XO_RC)" \
            "$XO_TMP/$name.err" "$XO_TMP/browser.log" "$XO_TMP/chromium.err"
    cp "$XO_TMP/browser.dom" "$XO_TMP/$name.dom"
}

# signed_in NAME HOST: the login passed through HOST's listener, Chromium
# showed the success page, the listener is gone, the token file works.
signed_in() {
    local name=$1 host=$2 port
    xo_assert_rc 0 "$XO_TMP/$name.err"
    xo_assert_contains "$XO_TMP/$name.err" "signed in as $USER; token file $XO_STORE/$name\.json written"
    xo_assert_contains "$XO_TMP/browser.log" '^done 0$' "Chromium exited 0"
    xo_assert_contains "$XO_TMP/$name.dom" '<h1>Signed in</h1>' "Chromium shows the success page"
    port=$(sed -n "s/.*redirect_uri=http%3A%2F%2F$host%3A\([0-9]*\)%2F.*/\1/p" "$XO_TMP/browser.log")
    [ -n "$port" ] || xo_fail "no $host redirect_uri in the URL" "$XO_TMP/browser.log"
    [ -z "$(ss -Hltn "sport = :$port")" ] || xo_fail "something still listens on $port"
    echo "   ok: listener on port $port gone"
    [ "$(stat -c %a "$XO_STORE/$name.json")" = 600 ] || xo_fail "token file mode"
    [ "$(xo_token_field "$XO_STORE/$name.json" user)" = "$USER" ] || xo_fail "user not recorded"
    xo_run_timeout 20 "$XO_HELPER" refresh -v --force "$name" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc 0 "$XO_TMP/err"
    xo_assert_contains "$XO_TMP/err" "^xoauth2-token: $name: refreshed"
}

xo_step "Chromium: a page hitting the listener first, then the sign-in through 127.0.0.1"
XO_STRAY_PAGE=1 login chromium
xo_assert_contains "$XO_TMP/browser.log" '^stray page: chromium 0; listener still listening$' \
    "the listener answered the page's requests and kept waiting"
xo_assert_contains "$XO_TMP/stray.dom" '(<img [^>]*alt="answered"[^>]*>.*){3}' \
    "Chromium finished loading each of the three (onerror: none is an image)"
signed_in chromium 127\.0\.0\.1
codes=$(xo_oauth_stat authorize_requests 2>/dev/null || echo "?")
echo "   (authorization requests at the server so far: $codes)"

xo_step "Chromium signs in through --redirect-host localhost (127.0.0.1 and [::1])"
login local --redirect-host localhost
signed_in local localhost

xo_step "no code or token in the output"
for f in "$XO_STORE"/*.json; do
    xo_token_field "$f" access_token; xo_token_field "$f" refresh_token
done >"$XO_TMP/secrets"
cat "$XO_TMP"/*.err "$XO_TMP"/*.out >"$XO_TMP/all"
if grep -F -f "$XO_TMP/secrets" "$XO_TMP/all" >/dev/null || grep -q 'xoac\.' "$XO_TMP/all"; then
    xo_fail "a secret appears in the output" "$XO_TMP/all"
fi
echo "   ok: none in $(wc -l <"$XO_TMP/all") lines"

xo_pass
