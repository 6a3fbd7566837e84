#!/usr/bin/python3
"""Mock OAuth 2.0 authorization server for the xoauth2 integration tests.

Loopback only, standard library only.  Two modes:

  oauth_server.py [serve] [--port N] [--port-file F] [--state-dir DIR] [--log F]
      Run the server.  It binds 127.0.0.1 (port 0 = any free port by default)
      and, once listening, writes the actual port to F.

  oauth_server.py ctl (--port-file F | --port N) COMMAND [ARGS]
      Talk to a running server's control API, for shell tests:
        grant USER [--scope S] [--expires-in N] [--client-id C] [--json]
                                 prints the access token (or the whole JSON)
        refresh-token USER ...   like grant, prints the refresh token instead
        revoke TOKEN             revoke an access or a refresh token
        expire (--user U | TOKEN)
        fault MODE [--count N]   MODE: none 500 hang badjson invalid_grant
                                 invalid_client norotate (a refresh that
                                 returns no new refresh token; /token only)
        grace on|off             refresh-token reuse grace (see h_token)
        stats                    prints {"refreshes":..,"introspections":..,..}
        reset

  oauth_server.py mask < transcript
      Copy stdin to stdout with bearer tokens masked (also inside base64
      SASL messages), for printing client transcripts on test failure.

Endpoints (see ROUTES below; add a function and a table entry for more, e.g.
/authorize or /devicecode):
  POST /introspect      RFC 7662 (form field "token"; "Authorization: Bearer"
                        is accepted too)
  POST /token           RFC 6749 refresh_token grant; refresh tokens are
                        single-use and rotated
  POST /control/grant   {"user","scope","expires_in","client_id"} -> tokens
  POST /control/revoke  {"token"}
  POST /control/expire  {"user"} or {"token"}
  POST /control/fault   {"mode", "count"}
  POST /control/grace   {"on": true|false}: reuse grace for refresh tokens
                        (off by default; see h_token)
  GET  /control/stats
  POST /control/reset

Secrets never go to the log: it records method, path (without query) and
status only.
"""

import argparse
import base64
import binascii
import json
import os
import re
import secrets
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ACCESS_PREFIX = "xoat."
REFRESH_PREFIX = "xort."
DEFAULT_CLIENT_ID = "xoauth2-test"
DEFAULT_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
DEFAULT_EXPIRES_IN = 3600
FAULT_MODES = ("none", "500", "hang", "badjson", "invalid_grant", "invalid_client",
               "norotate")

# Set on shutdown; "hang" requests wait on it so they never outlive the server.
SHUTDOWN = threading.Event()


class HttpError(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def oauth_error(status, error, description):
    return HttpError(status, {"error": error, "error_description": description})


class State:
    """All tokens and counters.  Every access holds self.lock."""

    def __init__(self, state_dir=None):
        self.lock = threading.Lock()
        self.state_file = (os.path.join(state_dir, "state.json")
                           if state_dir else None)
        self.reset()
        if self.state_file and os.path.exists(self.state_file):
            with open(self.state_file) as f:
                saved = json.load(f)
            self.access = saved.get("access", {})
            self.refresh = saved.get("refresh", {})

    def reset(self):
        self.access = {}    # token -> {user, scope, client_id, exp, revoked}
        self.refresh = {}   # token -> {user, scope, client_id, used, revoked}
        self.fault_mode = "none"
        self.fault_count = None           # None: unlimited
        self.refresh_grace = False
        self.grace_uses = 0
        self.refreshes_by_client = {}
        self.introspections = 0
        self.token_requests = 0

    def save(self):
        """Persist the tokens (not the counters) if --state-dir was given."""
        if not self.state_file:
            return
        tmp = self.state_file + ".tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"access": self.access, "refresh": self.refresh}, f)
        os.replace(tmp, self.state_file)

    # --- called with self.lock held ---------------------------------------

    def mint(self, user, scope, client_id, expires_in):
        access_token = ACCESS_PREFIX + secrets.token_urlsafe(24)
        refresh_token = REFRESH_PREFIX + secrets.token_urlsafe(24)
        exp = int(time.time()) + int(expires_in)
        self.access[access_token] = {"user": user, "scope": scope,
                                     "client_id": client_id, "exp": exp,
                                     "revoked": False}
        self.refresh[refresh_token] = {"user": user, "scope": scope,
                                       "client_id": client_id, "used": False,
                                       "revoked": False}
        self.save()
        return access_token, refresh_token, exp

    def take_fault(self):
        """Return the fault mode for this /token request, consuming a count."""
        mode = self.fault_mode
        if mode == "none":
            return mode
        if self.fault_count is not None:
            self.fault_count -= 1
            if self.fault_count <= 0:
                self.fault_mode, self.fault_count = "none", None
        return mode


# --- request handlers: (handler, state, request) -> (status, body) ---------
# "request" is a dict: method, path, query, headers, form (dict of str),
# json (parsed JSON body or None).  Returning a dict body sends JSON; a
# bytes/str body is sent as is (badjson fault).

def h_introspect(state, req):
    token = req["form"].get("token", "")
    auth = req["headers"].get("Authorization", "")
    if not token and auth.lower().startswith("bearer "):
        token = auth[7:].strip()
    with state.lock:
        state.introspections += 1
        info = state.access.get(token)
        if (info is None or info["revoked"]
                or info["exp"] <= int(time.time())):
            return 200, {"active": False}
        return 200, {"active": True, "username": info["user"],
                     "scope": info["scope"], "exp": info["exp"],
                     "client_id": info["client_id"], "token_type": "Bearer"}


def h_token(state, req):
    form = req["form"]
    with state.lock:
        state.token_requests += 1
        fault = state.take_fault()
    if fault == "hang":
        req["log"]("%s %s (hanging: injected fault)", "POST", req["path"])
        SHUTDOWN.wait()          # until the server stops (client gives up first)
        raise ConnectionAbortedError("hang fault: server shutting down")
    if fault == "500":
        return 500, {"error": "server_error",
                     "error_description": "injected fault"}
    if fault == "badjson":
        return 200, b'{"access_token": "xoat.truncated", "token_type": '
    if fault == "invalid_grant":
        raise oauth_error(400, "invalid_grant", "injected fault")
    if fault == "invalid_client":
        raise oauth_error(401, "invalid_client", "injected fault")

    grant_type = form.get("grant_type", "")
    if grant_type != "refresh_token":
        raise oauth_error(400, "unsupported_grant_type",
                          "only refresh_token is implemented")
    client_id = form.get("client_id", "")
    if not client_id:
        auth = req["headers"].get("Authorization", "")
        if auth.lower().startswith("basic "):
            try:
                user_pass = base64.b64decode(auth[6:]).decode()
                client_id = urllib.parse.unquote(user_pass.split(":", 1)[0])
            except (ValueError, binascii.Error):
                pass
    if not client_id:
        raise oauth_error(400, "invalid_request", "client_id is missing")
    refresh_token = form.get("refresh_token", "")
    with state.lock:
        info = state.refresh.get(refresh_token)
        if info is None:
            raise oauth_error(400, "invalid_grant", "unknown refresh token")
        if info["revoked"]:
            raise oauth_error(400, "invalid_grant", "refresh token revoked")
        if info["client_id"] != client_id:
            raise oauth_error(400, "invalid_grant",
                              "refresh token was issued to another client")
        if info["used"]:
            # Reuse grace, as real providers have (Okta's grace period,
            # Auth0's reuse interval; Microsoft does not retire the old
            # token at once): a used token is honoured again while the
            # one it was exchanged for has never been used -- its answer
            # was lost, e.g. the client died before storing it.  That
            # successor is retired.  Off unless a test turns it on.
            succ = state.refresh.get(info.get("successor", ""))
            if not (state.refresh_grace and succ is not None
                    and not succ["used"] and not succ["revoked"]):
                raise oauth_error(400, "invalid_grant",
                                  "refresh token already used")
            succ["revoked"] = True
            state.grace_uses += 1
        scope = form.get("scope") or info["scope"]
        access_token, new_refresh, _ = state.mint(
            info["user"], scope, client_id, DEFAULT_EXPIRES_IN)
        state.refreshes_by_client[client_id] = \
            state.refreshes_by_client.get(client_id, 0) + 1
        if fault == "norotate":
            # A provider that does not rotate: the old refresh token
            # stays the one to use, and no new one is sent.
            del state.refresh[new_refresh]
            state.save()
            return 200, {"access_token": access_token, "token_type": "Bearer",
                         "expires_in": DEFAULT_EXPIRES_IN, "scope": scope}
        info["used"] = True
        info["successor"] = new_refresh
        state.save()
    return 200, {"access_token": access_token, "token_type": "Bearer",
                 "expires_in": DEFAULT_EXPIRES_IN,
                 "refresh_token": new_refresh, "scope": scope}


def h_grant(state, req):
    body = req["json"] or {}
    user = body.get("user")
    if not user:
        raise HttpError(400, {"error": "user is required"})
    with state.lock:
        access_token, refresh_token, exp = state.mint(
            user, body.get("scope", DEFAULT_SCOPE),
            body.get("client_id", DEFAULT_CLIENT_ID),
            body.get("expires_in", DEFAULT_EXPIRES_IN))
    return 200, {"access_token": access_token, "refresh_token": refresh_token,
                 "expires_at": exp}


def h_revoke(state, req):
    token = (req["json"] or {}).get("token", "")
    with state.lock:
        info = state.access.get(token) or state.refresh.get(token)
        if info is None:
            raise HttpError(404, {"error": "unknown token"})
        info["revoked"] = True
        state.save()
    return 200, {"revoked": True}


def h_expire(state, req):
    body = req["json"] or {}
    now = int(time.time())
    n = 0
    with state.lock:
        for token, info in state.access.items():
            if token == body.get("token") or info["user"] == body.get("user"):
                info["exp"] = min(info["exp"], now - 1)
                n += 1
        state.save()
    if n == 0:
        raise HttpError(404, {"error": "no matching access token"})
    return 200, {"expired": n}


def h_fault(state, req):
    body = req["json"] or {}
    mode = str(body.get("mode", "none"))
    if mode not in FAULT_MODES:
        raise HttpError(400, {"error": "mode must be one of "
                              + " ".join(FAULT_MODES)})
    count = body.get("count")
    if count is not None and int(count) <= 0:
        mode, count = "none", None
    with state.lock:
        state.fault_mode = mode
        state.fault_count = int(count) if count is not None else None
    return 200, {"mode": mode, "count": count}


def h_grace(state, req):
    on = bool((req["json"] or {}).get("on"))
    with state.lock:
        state.refresh_grace = on
    return 200, {"grace": on}


def h_stats(state, req):
    with state.lock:
        return 200, {"refreshes": sum(state.refreshes_by_client.values()),
                     "grace_uses": state.grace_uses,
                     "refreshes_by_client": dict(state.refreshes_by_client),
                     "introspections": state.introspections,
                     "token_requests": state.token_requests,
                     "fault": state.fault_mode}


def h_reset(state, req):
    with state.lock:
        state.reset()
        state.save()
    return 200, {"reset": True}


ROUTES = {
    ("POST", "/introspect"): h_introspect,
    ("GET", "/introspect"): h_introspect,
    ("POST", "/token"): h_token,
    ("POST", "/control/grant"): h_grant,
    ("POST", "/control/revoke"): h_revoke,
    ("POST", "/control/expire"): h_expire,
    ("POST", "/control/fault"): h_fault,
    ("POST", "/control/grace"): h_grace,
    ("GET", "/control/stats"): h_stats,
    ("POST", "/control/reset"): h_reset,
}


class Handler(BaseHTTPRequestHandler):
    server_version = "xoauth2-mock-oauth/1"
    protocol_version = "HTTP/1.1"

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        req = {"method": method, "path": url.path,
               "query": dict(urllib.parse.parse_qsl(url.query)),
               "headers": self.headers, "form": {}, "json": None,
               "log": self.log_message}
        try:
            if ctype == "application/json" or url.path.startswith("/control/"):
                try:
                    req["json"] = json.loads(raw) if raw.strip() else None
                except ValueError:
                    raise HttpError(400, {"error": "body is not JSON"})
            else:
                req["form"] = dict(urllib.parse.parse_qsl(
                    raw.decode("utf-8", "replace"), keep_blank_values=True))
            handler = ROUTES.get((method, url.path))
            if handler is None:
                known = {p for (_, p) in ROUTES}
                raise HttpError(405 if url.path in known else 404,
                                {"error": "no such endpoint"})
            status, body = handler(self.server.state, req)
        except HttpError as e:
            status, body = e.status, e.body
        except ConnectionAbortedError:
            self.close_connection = True
            return
        if isinstance(body, dict):
            data = json.dumps(body).encode()
        else:
            data = body if isinstance(body, bytes) else str(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def log_request(self, code="-", size="-"):
        path = urllib.parse.urlsplit(self.path).path   # never the query
        self.log_message("%s %s %s", self.command, path, code)

    def log_message(self, fmt, *args):
        self.server.log.write("%s %s\n" % (time.strftime("%H:%M:%S"),
                                           fmt % args))
        self.server.log.flush()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def serve(args):
    server = Server(("127.0.0.1", args.port), Handler)
    if args.state_dir:
        os.makedirs(args.state_dir, exist_ok=True)
    server.state = State(args.state_dir)
    server.log = open(args.log, "a") if args.log else sys.stderr
    port = server.server_address[1]

    def stop(signum, frame):
        SHUTDOWN.set()
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, stop)      # Ctrl-C when run by hand

    if args.port_file:       # written only once we are listening
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    server.log.write("listening on 127.0.0.1:%d\n" % port)
    server.log.flush()
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        SHUTDOWN.set()
        server.server_close()
    return 0


# --- ctl client -------------------------------------------------------------

def ctl_call(base, method, path, body=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return json.loads(r.read())
    except urllib.error.HTTPError as e:
        sys.stderr.write("oauth_server ctl: %s %s: HTTP %d %s\n"
                         % (method, path, e.code, e.read().decode()))
        sys.exit(1)
    except (urllib.error.URLError, OSError) as e:
        sys.stderr.write("oauth_server ctl: %s %s: %s\n"
                         % (method, base + path, getattr(e, "reason", e)))
        sys.exit(1)


def ctl(args):
    if args.port is None:
        with open(args.port_file) as f:
            args.port = int(f.read().strip())
    base = "http://127.0.0.1:%d" % args.port
    out = None
    if args.cmd in ("grant", "refresh-token"):
        body = {"user": args.user, "client_id": args.client_id}
        if args.scope is not None:
            body["scope"] = args.scope
        if args.expires_in is not None:
            body["expires_in"] = args.expires_in
        res = ctl_call(base, "POST", "/control/grant", body)
        if args.json:
            out = res
        else:
            print(res["access_token" if args.cmd == "grant"
                      else "refresh_token"])
    elif args.cmd == "revoke":
        out = ctl_call(base, "POST", "/control/revoke", {"token": args.token})
    elif args.cmd == "expire":
        body = {"user": args.user} if args.user else {"token": args.token}
        out = ctl_call(base, "POST", "/control/expire", body)
    elif args.cmd == "fault":
        body = {"mode": args.mode}
        if args.count is not None:
            body["count"] = args.count
        out = ctl_call(base, "POST", "/control/fault", body)
    elif args.cmd == "grace":
        out = ctl_call(base, "POST", "/control/grace",
                       {"on": args.state == "on"})
    elif args.cmd == "stats":
        out = ctl_call(base, "GET", "/control/stats")
    elif args.cmd == "reset":
        out = ctl_call(base, "POST", "/control/reset", {})
    if out is not None and not args.quiet:
        print(json.dumps(out))
    return 0


# --- transcript masking -----------------------------------------------------

TOKEN_RE = re.compile(r"\b(%s|%s)[A-Za-z0-9_-]+" % (re.escape(ACCESS_PREFIX),
                                                   re.escape(REFRESH_PREFIX)))
B64_RE = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}")


def mask_text(text):
    def b64(m):
        s = m.group(0)
        try:
            dec = base64.b64decode(s + "=" * (-len(s) % 4), validate=True)
            dec = dec.decode("utf-8")
        except (ValueError, binascii.Error, UnicodeDecodeError):
            return s
        if "auth=" not in dec and not TOKEN_RE.search(dec):
            if dec.startswith("{") and dec.isprintable():
                return "%s[=%s]" % (s, dec)     # show challenges decoded
            return s
        dec = re.sub(r"(auth=Bearer )[^\x01]*", r"\1***", dec)
        dec = TOKEN_RE.sub(lambda t: t.group(1) + "***", dec)
        return "[base64:%s]" % dec.replace("\x01", "^A")
    text = TOKEN_RE.sub(lambda t: t.group(1) + "***", text)
    return B64_RE.sub(b64, text)


def main(argv):
    if argv and argv[0] == "mask":
        sys.stdout.write(mask_text(sys.stdin.read()))
        return 0
    if argv and argv[0] == "ctl":
        p = argparse.ArgumentParser(prog="oauth_server.py ctl")
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--port-file")
        g.add_argument("--port", type=int)
        p.add_argument("-q", "--quiet", action="store_true",
                       help="print nothing on success (except tokens)")
        common = argparse.ArgumentParser(add_help=False)
        common.add_argument("-q", "--quiet", action="store_true",
                            default=argparse.SUPPRESS)
        sub = p.add_subparsers(dest="cmd", required=True)

        def cmd(name):
            return sub.add_parser(name, parents=[common])
        for name in ("grant", "refresh-token"):
            s = cmd(name)
            s.add_argument("user")
            s.add_argument("--scope")
            s.add_argument("--expires-in", type=int)
            s.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
            s.add_argument("--json", action="store_true")
        cmd("revoke").add_argument("token")
        s = cmd("expire")
        s.add_argument("--user")
        s.add_argument("token", nargs="?")
        s = cmd("fault")
        s.add_argument("mode", choices=FAULT_MODES)
        s.add_argument("--count", type=int)
        cmd("grace").add_argument("state", choices=("on", "off"))
        cmd("stats")
        cmd("reset")
        args = p.parse_args(argv[1:])
        if args.cmd == "expire" and not (args.user or args.token):
            p.error("expire needs --user U or TOKEN")
        return ctl(args)
    if argv and argv[0] == "serve":
        argv = argv[1:]
    p = argparse.ArgumentParser(prog="oauth_server.py")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--port-file")
    p.add_argument("--state-dir")
    p.add_argument("--log", help="log file (default: stderr)")
    return serve(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
