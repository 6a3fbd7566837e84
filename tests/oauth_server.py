#!/usr/bin/python3
"""Mock OAuth 2.0 authorization server for the xoauth2 integration tests.

Loopback only, standard library only.  Two modes:

  oauth_server.py [serve] [--port N] [--port-file F] [--state-dir DIR] [--log F]
                   [--latency-ms MS]
      Run the server.  It binds 127.0.0.1 (port 0 = any free port by default)
      and, once listening, writes the actual port to F.  --latency-ms: each
      /token request is answered MS ms late (as a distant provider would),
      without holding up the others; stats count the /token requests in
      flight (token_in_flight, token_in_flight_max), the connections open
      (connections_open, connections_max) and the refreshes per user
      (refreshes_by_user: a grant's refresh tokens rotate, its user stays).

  oauth_server.py ctl (--port-file F | --port N) COMMAND [ARGS]
      Talk to a running server's control API, for shell tests:
        grant USER [--scope S] [--expires-in N] [--client-id C] [--json]
                                 prints the access token (or the whole JSON)
        refresh-token USER ...   like grant, prints the refresh token instead
        revoke TOKEN             revoke an access or a refresh token
        expire (--user U | TOKEN)
        hook CMD [--count N]     run CMD (sh -c, request body on stdin)
                                 before answering each /token request
        fault MODE [--count N]   MODE: none 500 hang badjson invalid_grant
                                 google_revoked (Google's words for a grant
                                 that ended, which diag.c knows)
                                 invalid_client norotate (a refresh that
                                 returns no new refresh token; /token only)
                                 replay (a client credentials request gets
                                 the previous request's client_assertion
                                 instead of its own, as a replay would)
                                 hold (a refresh is done -- the refresh
                                 token rotated -- and its answer sent up to
                                 half its body, the rest held until
                                 "release": an answer in flight)
                                 ca_blocked, no_service_principal
                                 (Microsoft's AADSTS53003 and 7000229, as
                                 it words them: FAULT_ANSWERS)
                                 unticked (a login's answer grants only
                                 openid/email/profile/offline_access: the
                                 mail scope left unticked at consent)
                                 scope_absent (a login's answer names no
                                 scope: as asked, RFC 6749 5.1)
        release                  send the rest of every held answer

        grace on|off             refresh-token reuse grace (see h_token)
        proxy-only on|off        refuse /token requests that did not come
                                 through an HTTP proxy (no Via header);
                                 stats count both kinds either way
        stats                    prints {"refreshes":..,"introspections":..,..}
        latency MS               answer /token MS ms late from now on
        reset
      For login (authorization code with PKCE, device authorization grant):
        authorize-mode MODE [--user U]   how /authorize answers: approve
                                 (default), deny, wrong-state, no-state;
                                 U signs in unless login_hint names one
        device ACTION [--user U] [--code USER_CODE] [--count N]
                                 ACTION: approve (as U), deny, decline
                                 (Microsoft's authorization_declined),
                                 expire, slow-down (the next N polls)
        device-config [--interval N] [--expires-in N] [--url-alias]
                                 what /devicecode hands out (url-alias:
                                 Google's verification_url)
        device-status            every device code: status, polls, answers
        client CLIENT_ID SECRET  make CLIENT_ID confidential: /token then
                                 wants client_secret=SECRET
      For app-only access (no user, no refresh token):
        app CLIENT_ID --mailbox M [--secret-file F] [--cert PEM]...
            [--expired-secret] [--expires-in N]
                                 register an app for the client credentials
                                 grant (Microsoft's shape): its secret and/or
                                 certificates, and the one mailbox its
                                 service principal may open (tokens are
                                 introspected as that user)
        service-account --key-file KEY.json [--scope S]... [--expires-in N]
                                 register a Google service account from its
                                 JSON key file (only the public key is sent)
                                 for the JWT bearer grant; --scope: the
                                 scopes its domain-wide delegation allows
                                 (default https://mail.google.com/)
        clock-offset SECONDS     the server's clock runs this far ahead (to
                                 see assertions expire)

  oauth_server.py mask < transcript
      Copy stdin to stdout with bearer tokens masked (also inside base64
      SASL messages), for printing client transcripts on test failure.

Endpoints (see ROUTES below; add a function and a table entry for more, e.g.
/authorize or /devicecode):
  POST /introspect      RFC 7662 (form field "token"; "Authorization: Bearer"
                        is accepted too)
  POST /token           RFC 6749 refresh_token grant; refresh tokens are
                        single-use and rotated.  Also authorization_code
                        (PKCE S256 required, redirect_uri loopback and
                        matching) and RFC 8628 device_code; an "openid"
                        scope adds an (unsigned) id_token naming the user.
                        App-only: client_credentials (client_secret, or an
                        RFC 7523 client_assertion whose signature, x5t#S256,
                        aud, iss, sub, nbf, exp, lifetime <= 10 min and
                        single-use jti are checked) and the RFC 7523 JWT
                        bearer grant (Google service accounts: signature,
                        iss, aud, sub, scope, lifetime <= 1 h)
  GET  /authorize       RFC 6749 4.1 + RFC 7636: redirects (302) to the
                        loopback redirect_uri with code and state
  POST /devicecode      RFC 8628 3.1 device authorization
  POST /control/authorize, /control/device, /control/device-config,
       /control/client, /control/app, /control/service-account,
       /control/clock; GET /control/device-status (see ctl above)
  POST /control/grant   {"user","scope","expires_in","client_id"} -> tokens
  POST /control/revoke  {"token"}
  POST /control/expire  {"user"} or {"token"}
  POST /control/fault   {"mode", "count"}
  POST /control/hook    {"command", "count"}: before answering each /token
                        request, run COMMAND (sh -c) with the raw request
                        body on stdin and wait for it (a test swaps files
                        at that moment, or records what was sent); ""
                        removes it
  POST /control/release {}: held answers (fault hold) go on
  POST /control/grace   {"on": true|false}: reuse grace for refresh tokens
                        (off by default; see h_token)
  POST /control/proxy-only {"on": true|false}: /token only through a proxy
  GET  /control/stats
  POST /control/reset

Secrets never go to the log: it records method, path (without query) and
status only.
"""

import argparse
import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# python3-cryptography (Debian) checks the app-only grants' signatures; the
# rest of the server needs only the standard library.
try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa
except ImportError:         # pragma: no cover - reported when used
    x509 = None

ACCESS_PREFIX = "xoat."
REFRESH_PREFIX = "xort."
DEFAULT_CLIENT_ID = "xoauth2-test"
DEFAULT_SCOPE = "https://outlook.office.com/IMAP.AccessAsUser.All offline_access"
DEFAULT_EXPIRES_IN = 3600
FAULT_MODES = ("none", "500", "hang", "badjson", "invalid_grant",
               "google_revoked", "invalid_client",
               "norotate", "replay", "hold")


def aadsts(status, error, code, text):
    """An error answer worded as the Microsoft identity platform words it:
    the AADSTS code and text, then trace and correlation ids on their own
    lines, and error_codes."""
    return (status, {
        "error": error,
        "error_description": "AADSTS%d: %s\r\nTrace ID: 0b3f0c4e-1a2b-4c5d-"
        "8e9f-0a1b2c3d4e5f\r\nCorrelation ID: 7d1c2b3a-4e5f-6071-8293-"
        "a4b5c6d7e8f9\r\nTimestamp: 2026-11-28 15:04:05Z" % (code, text),
        "error_codes": [code], "timestamp": "2026-11-28 15:04:05Z",
        "trace_id": "0b3f0c4e-1a2b-4c5d-8e9f-0a1b2c3d4e5f",
        "correlation_id": "7d1c2b3a-4e5f-6071-8293-a4b5c6d7e8f9",
        "error_uri": "https://login.microsoftonline.com/error?code=%d" % code})


# Faults that answer any /token request with a provider's refusal, as it
# words it: (HTTP status, JSON body).
FAULT_ANSWERS = {
    # A Conditional Access policy, e.g. one blocking the device code flow
    # (Microsoft-managed policies since 2025): the poll after sign-in.
    "ca_blocked": aadsts(400, "invalid_grant", 53003, "Access has been "
                         "blocked by Conditional Access policies. The access "
                         "policy does not allow token issuance."),
    # A multitenant app without a service principal in the tenant.
    "no_service_principal": aadsts(
        401, "invalid_client", 7000229, "The client application "
        "9e5f94bc-e8a4-4e73-b8be-63364c29d753 is missing service principal "
        "in the tenant 72f988bf-86f1-41af-91ab-2d7cd011db47. See "
        "instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"),
}
# Granted whatever the user unticks on a granular consent screen.
IDENTITY_SCOPES = ("openid", "email", "profile", "offline_access")
# Faults that change a grant's answer rather than refuse it: "unticked"
# (the user left the mail scope unticked: the answer's scope keeps only
# IDENTITY_SCOPES; authorization_code and device_code grants).
# "scope_absent": the answer has no scope member (RFC 6749 5.1: the scope
# is then as asked).
FAULT_MODES += tuple(FAULT_ANSWERS) + ("unticked", "scope_absent")

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
        self.latency_ms = 0          # --latency-ms, ctl latency
        self.connections = set()     # live, so kept by reset
        self.connections_open = 0
        self.token_in_flight = 0
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
        self.hook_command = None          # /control/hook
        self.hook_count = None
        self.refresh_grace = False
        self.grace_uses = 0
        self.refreshes_by_client = {}
        self.refreshes_by_user = {}
        # The most /token requests read and not yet answered, and the
        # most connections open, at once (since the last reset).
        self.token_in_flight_max = getattr(self, "token_in_flight", 0)
        self.connections_max = getattr(self, "connections_open", 0)
        self.introspections = 0
        self.token_requests = 0
        self.token_via_proxy = 0     # /token requests with a Via header
        self.token_direct = 0
        self.proxy_only = False
        self.held = 0               # answers held (fault hold), in all
        self.held_now = 0           # .. still waiting for release
        self.release = threading.Event()
        self.login_reset()

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

    def login_reset(self):
        """Login state (authorization codes, device codes); with reset()."""
        self.codes = {}            # code -> {client_id, redirect_uri, ...}
        self.devices = {}          # device_code -> {user_code, status, ...}
        self.clients = {}          # confidential client_id -> secret
        self.authorize_mode = "approve"
        self.authorize_user = "user@example.com"
        self.device_conf = {"interval": 1, "expires_in": 600,
                            "url_alias": False}
        self.authorize_requests = 0
        self.device_polls = 0
        self.apps = {}             # client_id -> see h_ctl_app
        self.service_accounts = {}  # client_email -> see h_ctl_service_account
        self.jtis = {}             # jti -> exp: assertions already used
        self.last_assertion = None  # for the replay fault
        self.clock_offset = 0
        self.app_grants_by_client = {}
        self.assertions_refused = 0

    def now(self):
        return int(time.time()) + self.clock_offset

    def mint_app(self, user, scope, client_id, expires_in):
        """An app-only access token: no refresh token exists for it."""
        access_token = ACCESS_PREFIX + secrets.token_urlsafe(24)
        exp = int(time.time()) + int(expires_in)
        self.access[access_token] = {"user": user, "scope": scope,
                                     "client_id": client_id, "exp": exp,
                                     "revoked": False, "app_only": True}
        self.app_grants_by_client[client_id] = \
            self.app_grants_by_client.get(client_id, 0) + 1
        self.save()
        return access_token

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


def run_hook(state, req):
    """/control/hook: the test's command, with the request body on stdin."""
    with state.lock:
        command = state.hook_command
        if command and state.hook_count is not None:
            state.hook_count -= 1
            if state.hook_count <= 0:
                state.hook_command, state.hook_count = None, None
    if command:
        subprocess.run(["sh", "-c", command], input=req.get("raw", b""),
                       stdout=subprocess.DEVNULL, timeout=60)


def h_token(state, req):
    run_hook(state, req)
    form = req["form"]
    # A proxy that forwards the request adds Via (RFC 9110 7.6.3);
    # tinyproxy does.  A CONNECT tunnel would not: the tests use http://.
    via = req["headers"].get("Via")
    with state.lock:
        state.token_requests += 1
        latency = state.latency_ms
        if via:
            state.token_via_proxy += 1
        else:
            state.token_direct += 1
        if state.proxy_only and not via:
            raise oauth_error(403, "access_denied",
                              "direct request refused: only through the proxy")
        fault = state.take_fault()
    if latency:
        time.sleep(latency / 1000.0)
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
    if fault == "google_revoked":
        raise oauth_error(400, "invalid_grant",
                          "Token has been expired or revoked.")
    if fault == "invalid_client":
        raise oauth_error(401, "invalid_client", "injected fault")
    if fault in FAULT_ANSWERS:
        raise HttpError(*FAULT_ANSWERS[fault])

    req["fault"] = fault
    grant_type = form.get("grant_type", "")
    if grant_type in EXTRA_GRANTS:
        return EXTRA_GRANTS[grant_type](state, req)
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
        state.refreshes_by_user[info["user"]] = \
            state.refreshes_by_user.get(info["user"], 0) + 1
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
    if fault == "hold":
        req["hold"] = True      # _dispatch sends half, then waits
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


def h_hook(state, req):
    body = req["json"] or {}
    command = str(body.get("command", "")) or None
    count = body.get("count")
    with state.lock:
        state.hook_command = command
        state.hook_count = int(count) if count is not None else None
    return 200, {"command": command, "count": count}


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
        if mode == "hold":
            state.release = threading.Event()
    return 200, {"mode": mode, "count": count}


def h_release(state, req):
    with state.lock:
        state.release.set()
        return 200, {"released": state.held_now}


def h_grace(state, req):
    on = bool((req["json"] or {}).get("on"))
    with state.lock:
        state.refresh_grace = on
    return 200, {"grace": on}


def h_proxy_only(state, req):
    on = bool((req["json"] or {}).get("on"))
    with state.lock:
        state.proxy_only = on
    return 200, {"proxy_only": on}


def h_stats(state, req):
    with state.lock:
        return 200, {"refreshes": sum(state.refreshes_by_client.values()),
                     "grace_uses": state.grace_uses,
                     "refreshes_by_client": dict(state.refreshes_by_client),
                     "refreshes_by_user": dict(state.refreshes_by_user),
                     "token_in_flight": state.token_in_flight,
                     "token_in_flight_max": state.token_in_flight_max,
                     "connections_open": state.connections_open,
                     "connections_max": state.connections_max,
                     "latency_ms": state.latency_ms,
                     "introspections": state.introspections,
                     "token_requests": state.token_requests,
                     "token_via_proxy": state.token_via_proxy,
                     "token_direct": state.token_direct,
                     "authorize_requests": state.authorize_requests,
                     "device_polls": state.device_polls,
                     "app_grants": sum(state.app_grants_by_client.values()),
                     "app_grants_by_client": dict(state.app_grants_by_client),
                     "assertions_refused": state.assertions_refused,
                     "held": state.held, "held_now": state.held_now,
                     "fault": state.fault_mode}


def h_latency(state, req):
    ms = (req["json"] or {}).get("ms")
    if not isinstance(ms, int) or ms < 0:
        raise HttpError(400, {"error": "ms must be a whole number >= 0"})
    with state.lock:
        state.latency_ms = ms
    return 200, {"latency_ms": ms}


def h_reset(state, req):
    with state.lock:
        state.reset()
        state.save()
    return 200, {"reset": True}


# --- login: authorization code with PKCE, device authorization grant ---------

AUTHORIZE_MODES = ("approve", "deny", "wrong-state", "no-state")
DEVICE_ACTIONS = ("approve", "deny", "decline", "expire", "slow-down")
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
PKCE_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def is_loopback_redirect(uri):
    u = urllib.parse.urlsplit(uri)
    return (u.scheme == "http" and u.hostname in ("127.0.0.1", "localhost", "::1")
            and u.port is not None)


def check_client(state, form):
    """Lock held.  A confidential client must send its secret."""
    client_id = form.get("client_id", "")
    if not client_id:
        raise oauth_error(400, "invalid_request", "client_id is missing")
    secret = state.clients.get(client_id)
    if secret is not None and form.get("client_secret") != secret:
        raise oauth_error(401, "invalid_client", "client authentication failed")
    return client_id


def issue(state, user, scope, client_id, base):
    """Lock held.  A token response for a new grant (with an id_token if
    the scope asks for openid)."""
    access_token, refresh_token, _ = state.mint(user, scope, client_id,
                                                DEFAULT_EXPIRES_IN)
    body = {"access_token": access_token, "token_type": "Bearer",
            "expires_in": DEFAULT_EXPIRES_IN, "scope": scope}
    if "offline_access" in scope.split() or "https://mail.google.com/" in scope:
        body["refresh_token"] = refresh_token
    if "openid" in scope.split():
        now = int(time.time())
        claims = {"iss": base, "sub": user, "aud": client_id, "iat": now,
                  "exp": now + DEFAULT_EXPIRES_IN, "email": user,
                  "preferred_username": user}
        body["id_token"] = ".".join([b64url(b'{"alg":"none","typ":"JWT"}'),
                                     b64url(json.dumps(claims).encode()), ""])
    return body


def h_authorize(state, req):
    q = req["query"]
    redirect_uri = q.get("redirect_uri", "")
    if not is_loopback_redirect(redirect_uri):
        raise HttpError(400, {"error": "invalid_request",
                              "error_description": "redirect_uri must be "
                              "http://127.0.0.1:PORT/ (loopback, with a port)"})
    if (q.get("response_type") != "code" or not q.get("client_id")
            or q.get("code_challenge_method") != "S256"
            or not PKCE_RE.fullmatch(q.get("code_challenge", ""))
            or not q.get("state")):
        raise HttpError(400, {"error": "invalid_request", "error_description":
                              "need response_type=code, client_id, state and "
                              "a PKCE S256 code_challenge"})
    with state.lock:
        state.authorize_requests += 1
        mode = state.authorize_mode
        params = {"state": q["state"]}
        if mode == "deny":
            params.update(error="access_denied",
                          error_description="the user declined")
        else:
            code = "xoac." + secrets.token_urlsafe(24)
            state.codes[code] = {
                "client_id": q["client_id"], "redirect_uri": redirect_uri,
                "challenge": q["code_challenge"],
                "scope": q.get("scope", DEFAULT_SCOPE),
                "user": q.get("login_hint") or state.authorize_user,
                "exp": time.time() + 60}
            params["code"] = code
        if mode == "wrong-state":
            params["state"] = "not-" + q["state"]
        elif mode == "no-state":
            del params["state"]
    location = redirect_uri + ("&" if "?" in redirect_uri else "?") + \
        urllib.parse.urlencode(params)
    return 302, {"redirect": "see Location"}, {"Location": location}


def h_token_code(state, req):
    form = req["form"]
    with state.lock:
        client_id = check_client(state, form)
        info = state.codes.pop(form.get("code", ""), None)   # single use
        if info is None or info["exp"] < time.time():
            raise oauth_error(400, "invalid_grant", "unknown or used code")
        if info["client_id"] != client_id:
            raise oauth_error(400, "invalid_grant", "code issued to another client")
        if form.get("redirect_uri") != info["redirect_uri"]:
            raise oauth_error(400, "invalid_grant", "redirect_uri differs")
        verifier = form.get("code_verifier", "")
        if (not PKCE_RE.fullmatch(verifier) or b64url(
                hashlib.sha256(verifier.encode()).digest()) != info["challenge"]):
            raise oauth_error(400, "invalid_grant", "PKCE verification failed")
        return 200, issue(state, info["user"], info["scope"], client_id,
                          req["base"])


def h_devicecode(state, req):
    form = req["form"]
    client_id = form.get("client_id", "")
    if not client_id:
        raise oauth_error(400, "invalid_request", "client_id is missing")
    with state.lock:
        conf = dict(state.device_conf)
        device_code = "xodc." + secrets.token_urlsafe(24)
        alphabet = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(secrets.choice(alphabet) for _ in range(8))
        user_code = user_code[:4] + "-" + user_code[4:]
        state.devices[device_code] = {
            "user_code": user_code, "client_id": client_id,
            "scope": form.get("scope") or DEFAULT_SCOPE, "status": "pending",
            "user": None, "slow_down": 0, "created": time.time(),
            "exp": time.time() + conf["expires_in"], "polls": [], "answers": []}
    uri = req["base"] + "/device"
    body = {"device_code": device_code, "user_code": user_code,
            "expires_in": conf["expires_in"], "interval": conf["interval"]}
    if conf["url_alias"]:
        body["verification_url"] = uri               # Google's spelling
    else:
        body["verification_uri"] = uri
        body["verification_uri_complete"] = uri + "?user_code=" + user_code
    return 200, body


def h_token_device(state, req):
    form = req["form"]
    with state.lock:
        client_id = check_client(state, form)
        state.device_polls += 1
        info = state.devices.get(form.get("device_code", ""))
        if info is None or info["client_id"] != client_id:
            raise oauth_error(400, "invalid_grant", "unknown device code")
        now = time.time()
        info["polls"].append(now)

        def answer(error, description):
            info["answers"].append(error)
            return oauth_error(400, error, description)
        if info["status"] == "done":
            raise answer("invalid_grant", "device code already used")
        if info["status"] == "expired" or now >= info["exp"]:
            raise answer("expired_token", "the device code has expired")
        if info["slow_down"] > 0:
            info["slow_down"] -= 1
            raise answer("slow_down", "polling too fast")
        if info["status"] in ("access_denied", "authorization_declined"):
            raise answer(info["status"], "the user declined")
        if info["status"] == "pending":
            raise answer("authorization_pending", "waiting for the user")
        info["status"] = "done"
        info["answers"].append("tokens")
        return 200, issue(state, info["user"], info["scope"], client_id,
                          req["base"])


def h_ctl_authorize(state, req):
    body = req["json"] or {}
    mode = body.get("mode", "approve")
    if mode not in AUTHORIZE_MODES:
        raise HttpError(400, {"error": "mode must be one of "
                              + " ".join(AUTHORIZE_MODES)})
    with state.lock:
        state.authorize_mode = mode
        if body.get("user"):
            state.authorize_user = body["user"]
    return 200, {"mode": mode}


def h_ctl_device(state, req):
    body = req["json"] or {}
    action = body.get("action")
    if action not in DEVICE_ACTIONS:
        raise HttpError(400, {"error": "action must be one of "
                              + " ".join(DEVICE_ACTIONS)})
    with state.lock:
        live = [i for i in state.devices.values()
                if body.get("code") in (None, i["user_code"])]
        if not live:
            raise HttpError(404, {"error": "no such device code"})
        info = max(live, key=lambda i: i["created"])   # the latest
        if action == "approve":
            info["status"] = "approved"
            info["user"] = body.get("user") or state.authorize_user
        elif action == "deny":
            info["status"] = "access_denied"
        elif action == "decline":
            info["status"] = "authorization_declined"
        elif action == "expire":
            info["status"] = "expired"
        else:
            info["slow_down"] += int(body.get("count") or 1)
        return 200, {"user_code": info["user_code"], "status": info["status"]}


def h_ctl_device_config(state, req):
    body = req["json"] or {}
    with state.lock:
        for k in ("interval", "expires_in"):
            if body.get(k) is not None:
                state.device_conf[k] = int(body[k])
        if body.get("url_alias") is not None:
            state.device_conf["url_alias"] = bool(body["url_alias"])
        return 200, dict(state.device_conf)


def h_ctl_device_status(state, req):
    with state.lock:
        return 200, {"devices": [
            {"user_code": i["user_code"], "status": i["status"],
             "polls": [round(t - i["created"], 3) for t in i["polls"]],
             "answers": list(i["answers"])}
            for i in sorted(state.devices.values(), key=lambda i: i["created"])]}


def h_ctl_client(state, req):
    body = req["json"] or {}
    if not body.get("client_id"):
        raise HttpError(400, {"error": "client_id is required"})
    with state.lock:
        if body.get("secret"):
            state.clients[body["client_id"]] = body["secret"]
        else:
            state.clients.pop(body["client_id"], None)
    return 200, {"client_id": body["client_id"],
                 "confidential": bool(body.get("secret"))}


# --- app-only: client credentials (RFC 6749 4.4) and JWT bearer (RFC 7523) --

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_MAX_LIFETIME = 600        # Microsoft: minutes, not hours
SA_ASSERTION_MAX_LIFETIME = 3600    # Google: at most an hour
CLOCK_SKEW = 300
GOOGLE_MAIL_SCOPE = "https://mail.google.com/"


def b64url_decode(s):
    if not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def need_crypto():
    if x509 is None:
        raise HttpError(500, {"error": "server_error", "error_description":
                              "the test server needs python3-cryptography "
                              "for app-only grants"})


def thumbprint_of(cert):
    return b64url(cert.fingerprint(hashes.SHA256()))


def jwt_parts(assertion, refuse):
    """Splits and decodes a compact JWS; REFUSE(reason) raises."""
    parts = assertion.split(".")
    if len(parts) != 3:
        raise refuse("the assertion is not a signed JWT (three parts)")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        sig = b64url_decode(parts[2])
    except ValueError:
        raise refuse("the assertion is not base64url JSON")
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise refuse("the assertion's header or claims are not objects")
    return header, claims, (parts[0] + "." + parts[1]).encode(), sig


def verify_signature(public_key, alg, signed, sig):
    """True if SIG over SIGNED verifies for ALG (RS256 or PS256)."""
    if not isinstance(public_key, rsa.RSAPublicKey):
        return False
    if alg == "RS256":
        pad = padding.PKCS1v15()
    elif alg == "PS256":
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    else:
        return False
    try:
        public_key.verify(sig, signed, pad, hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def check_times(claims, now, max_lifetime, refuse):
    exp, iat, nbf = claims.get("exp"), claims.get("iat"), claims.get("nbf")
    for name, v in (("exp", exp), ("iat", iat), ("nbf", nbf)):
        if v is not None and not isinstance(v, int):
            raise refuse("the assertion's %s is not a number" % name)
    if exp is None:
        raise refuse("the assertion has no exp")
    if exp <= now:
        raise refuse("the assertion expired at %d, it is now %d"
                     % (exp, now), "expired")
    start = nbf if nbf is not None else iat
    if start is None:
        raise refuse("the assertion has neither nbf nor iat")
    if start > now + CLOCK_SKEW:
        raise refuse("the assertion is not valid before %d, it is now %d"
                     % (start, now), "expired")
    if exp - start > max_lifetime:
        raise refuse("the assertion is valid for %d s, more than %d s"
                     % (exp - start, max_lifetime), "expired")


def check_client_assertion(state, req, app, client_id):
    """Lock held.  Microsoft's certificate credentials (RFC 7523 2.2)."""
    form = req["form"]

    def refuse(reason, kind="invalid"):
        state.assertions_refused += 1
        code = "AADSTS700024" if kind == "expired" else "AADSTS700027"
        return oauth_error(401, "invalid_client", "%s: Client assertion "
                           "failed validation: %s." % (code, reason))
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise refuse("client_assertion_type must be " + ASSERTION_TYPE)
    header, claims, signed, sig = jwt_parts(form.get("client_assertion", ""),
                                            refuse)
    thumb = header.get("x5t#S256")
    cert = app["certs"].get(thumb) if isinstance(thumb, str) else None
    if cert is None:
        raise refuse("the certificate with thumbprint '%s' is not registered "
                     "on application '%s'" % (thumb, client_id))
    if not verify_signature(cert.public_key(), header.get("alg"), signed, sig):
        raise refuse("the signature does not verify with the certificate "
                     "'%s' (alg %s)" % (thumb, header.get("alg")))
    aud = req["base"] + req["path"]
    if claims.get("aud") != aud:
        raise refuse("the audience '%s' is not this token endpoint '%s'"
                     % (claims.get("aud"), aud))
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise refuse("iss and sub must be the client id '%s'" % client_id)
    now = state.now()
    check_times(claims, now, ASSERTION_MAX_LIFETIME, refuse)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti:
        raise refuse("the assertion has no jti")
    for old in [j for j, exp in state.jtis.items() if exp < now - CLOCK_SKEW]:
        del state.jtis[old]
    if jti in state.jtis:
        raise refuse("the jti '%s' was already used (an assertion is "
                     "single-use)" % jti)
    state.jtis[jti] = claims["exp"]


def h_token_client_credentials(state, req):
    form = req["form"]
    need_crypto()
    client_id = form.get("client_id", "")
    scope = form.get("scope", "")
    with state.lock:
        app = state.apps.get(client_id)
        if app is None:
            raise oauth_error(400, "unauthorized_client", "AADSTS700016: "
                              "Application with identifier '%s' was not found "
                              "in the directory." % client_id)
        if len(scope.split()) != 1 or not scope.endswith("/.default"):
            raise oauth_error(400, "invalid_scope", "AADSTS1002012: The "
                              "provided value for scope '%s' is not valid. "
                              "Client credential flows must have a scope value "
                              "with /.default suffixed to the resource "
                              "identifier." % scope)
        if "client_secret" in form and "client_assertion" in form:
            raise oauth_error(400, "invalid_request", "send either "
                              "client_secret or client_assertion, not both")
        if "client_secret" in form:
            if app["secret"] is None or form["client_secret"] != app["secret"]:
                raise oauth_error(401, "invalid_client", "AADSTS7000215: "
                                  "Invalid client secret provided.")
            if app["secret_expired"]:
                raise oauth_error(401, "invalid_client", "AADSTS7000222: The "
                                  "provided client secret keys for app '%s' "
                                  "are expired." % client_id)
        elif "client_assertion" in form:
            if req.get("fault") == "replay" and state.last_assertion:
                form["client_assertion"] = state.last_assertion
            state.last_assertion = form["client_assertion"]
            check_client_assertion(state, req, app, client_id)
        else:
            raise oauth_error(401, "invalid_client", "AADSTS7000218: The "
                              "request body must contain the following "
                              "parameter: 'client_assertion' or "
                              "'client_secret'.")
        token = state.mint_app(app["mailbox"], scope, client_id,
                               app["expires_in"])
    return 200, {"access_token": token, "token_type": "Bearer",
                 "expires_in": app["expires_in"],
                 "ext_expires_in": app["expires_in"]}


def h_token_jwt_bearer(state, req):
    """Google's service accounts: RFC 7523 2.1, the assertion is the grant."""
    form = req["form"]
    need_crypto()

    def refuse(reason, kind="invalid"):
        state.assertions_refused += 1
        if kind == "expired":
            reason = ("Invalid JWT: Token must be a short-lived token (60 "
                      "minutes) and in a reasonable timeframe. Check your iat "
                      "and exp values in the JWT claim. (%s)" % reason)
        return oauth_error(400, "invalid_grant", reason)
    with state.lock:
        header, claims, signed, sig = jwt_parts(form.get("assertion", ""),
                                                refuse)
        sa = state.service_accounts.get(claims.get("iss"))
        if sa is None:
            raise refuse("Invalid grant: account not found")
        if (header.get("alg") != "RS256" or
                not verify_signature(sa["public_key"], "RS256", signed, sig)):
            raise refuse("Invalid JWT Signature.")
        aud = req["base"] + req["path"]
        if claims.get("aud") != aud:
            raise refuse("Invalid JWT: the audience '%s' is not '%s'"
                         % (claims.get("aud"), aud))
        check_times(claims, state.now(), SA_ASSERTION_MAX_LIFETIME, refuse)
        scope = claims.get("scope")
        if not isinstance(scope, str) or not scope.split():
            raise refuse("Invalid JWT: no scope")
        if not set(scope.split()) <= set(sa["scopes"]):
            raise oauth_error(401, "unauthorized_client", "Client is "
                              "unauthorized to retrieve access tokens using "
                              "this method, or client not authorized for any "
                              "of the scopes requested.")
        sub = claims.get("sub")
        if not isinstance(sub, str) or "@" not in sub:
            raise refuse("Invalid JWT: sub must name the mailbox")
        token = state.mint_app(sub, scope, claims["iss"], sa["expires_in"])
    return 200, {"access_token": token, "token_type": "Bearer",
                 "expires_in": sa["expires_in"]}


def h_ctl_app(state, req):
    body = req["json"] or {}
    need_crypto()
    if not body.get("client_id") or not body.get("mailbox"):
        raise HttpError(400, {"error": "client_id and mailbox are required"})
    certs = {}
    for pem in body.get("certificates") or []:
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            raise HttpError(400, {"error": "not a PEM certificate"})
        certs[thumbprint_of(cert)] = cert
    with state.lock:
        state.apps[body["client_id"]] = {
            "secret": body.get("secret") or None,
            "secret_expired": bool(body.get("secret_expired")),
            "certs": certs, "mailbox": body["mailbox"],
            "expires_in": int(body.get("expires_in") or DEFAULT_EXPIRES_IN)}
    return 200, {"client_id": body["client_id"], "thumbprints": sorted(certs)}


def h_ctl_service_account(state, req):
    body = req["json"] or {}
    need_crypto()
    if not body.get("client_email") or not body.get("public_key"):
        raise HttpError(400, {"error": "client_email and public_key are "
                              "required"})
    try:
        key = serialization.load_pem_public_key(body["public_key"].encode())
    except ValueError:
        raise HttpError(400, {"error": "not a PEM public key"})
    with state.lock:
        state.service_accounts[body["client_email"]] = {
            "public_key": key,
            "scopes": body.get("scopes") or [GOOGLE_MAIL_SCOPE],
            "expires_in": int(body.get("expires_in") or DEFAULT_EXPIRES_IN)}
    return 200, {"client_email": body["client_email"]}


def h_ctl_clock(state, req):
    with state.lock:
        state.clock_offset = int((req["json"] or {}).get("offset") or 0)
        return 200, {"offset": state.clock_offset}


def consent(grant):
    """GRANT's handler, with the "unticked" fault: of the scopes granted,
    only IDENTITY_SCOPES are left in the answer (and on the tokens)."""
    def handler(state, req):
        status, body = grant(state, req)
        if req.get("fault") == "scope_absent" and status == 200:
            return status, {k: v for k, v in body.items() if k != "scope"}
        if req.get("fault") != "unticked" or status != 200:
            return status, body
        kept = " ".join(w for w in body.get("scope", "").split()
                        if w in IDENTITY_SCOPES)
        with state.lock:
            for t in (body.get("access_token"), body.get("refresh_token")):
                info = state.access.get(t) or state.refresh.get(t)
                if info is not None:
                    info["scope"] = kept
            state.save()
        return status, dict(body, scope=kept)
    return handler


# grant_type -> handler, consulted by h_token before the refresh grant.
EXTRA_GRANTS = {"authorization_code": consent(h_token_code),
                DEVICE_GRANT: consent(h_token_device),
                "client_credentials": h_token_client_credentials,
                JWT_BEARER_GRANT: h_token_jwt_bearer}


ROUTES = {
    ("POST", "/introspect"): h_introspect,
    ("GET", "/introspect"): h_introspect,
    ("POST", "/token"): h_token,
    ("POST", "/control/grant"): h_grant,
    ("POST", "/control/revoke"): h_revoke,
    ("POST", "/control/expire"): h_expire,
    ("POST", "/control/fault"): h_fault,
    ("POST", "/control/hook"): h_hook,
    ("POST", "/control/release"): h_release,
    ("POST", "/control/grace"): h_grace,
    ("POST", "/control/proxy-only"): h_proxy_only,
    ("GET", "/control/stats"): h_stats,
    ("POST", "/control/latency"): h_latency,
    ("POST", "/control/reset"): h_reset,
    ("GET", "/authorize"): h_authorize,
    ("POST", "/devicecode"): h_devicecode,
    ("POST", "/control/authorize"): h_ctl_authorize,
    ("POST", "/control/device"): h_ctl_device,
    ("POST", "/control/device-config"): h_ctl_device_config,
    ("GET", "/control/device-status"): h_ctl_device_status,
    ("POST", "/control/client"): h_ctl_client,
    ("POST", "/control/app"): h_ctl_app,
    ("POST", "/control/service-account"): h_ctl_service_account,
    ("POST", "/control/clock"): h_ctl_clock,
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
               "headers": self.headers, "form": {}, "json": None, "raw": raw,
               "log": self.log_message,
               "base": "http://127.0.0.1:%d" % self.server.server_address[1]}
        extra = {}
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
            status, body, *more = self._timed(handler, req)
            extra = more[0] if more else {}     # e.g. Location
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
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        if req.get("hold"):
            self._send_held(data)
            return
        self.wfile.write(data)

    def _timed(self, handler, req):
        """HANDLER(state, req), counting a /token request in flight until
        its answer is ready (not sent: the client cannot be done before
        the count drops)."""
        state = self.server.state
        if req["path"] != "/token":
            return handler(state, req)
        with state.lock:
            state.token_in_flight += 1
            state.token_in_flight_max = max(state.token_in_flight_max,
                                            state.token_in_flight)
        try:
            return handler(state, req)
        finally:
            with state.lock:
                state.token_in_flight -= 1

    def setup(self):
        """Counts the connection open.  One whose client has closed it
        (end of file waiting) counts as closed already: its thread may
        not have run yet to see that, and the client's count is the one
        that matters."""
        super().setup()
        state = self.server.state
        with state.lock:
            for conn in list(state.connections):
                try:
                    if conn.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT):
                        continue
                except BlockingIOError:
                    continue
                except OSError:
                    pass
                state.connections.discard(conn)
            state.connections.add(self.connection)
            state.connections_open = len(state.connections)
            state.connections_max = max(state.connections_max,
                                        state.connections_open)

    def finish(self):
        state = self.server.state
        with state.lock:
            state.connections.discard(self.connection)
            state.connections_open = len(state.connections)
        super().finish()

    def _send_held(self, data):
        """Fault hold: half the answer now, the rest on release."""
        state = self.server.state
        half = len(data) // 2
        self.wfile.write(data[:half])
        self.wfile.flush()
        with state.lock:
            state.held += 1
            state.held_now += 1
            release = state.release
        self.log_message("POST /token (answer held after %d of %d bytes: "
                         "injected fault)", half, len(data))
        while not (release.wait(0.2) or SHUTDOWN.is_set()):
            pass
        with state.lock:
            state.held_now -= 1
        try:
            self.wfile.write(data[half:])
            self.wfile.flush()
        except OSError:
            pass                # the client went away meanwhile

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
    server.state.latency_ms = args.latency_ms
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
    elif args.cmd == "hook":
        body = {"command": args.command}
        if args.count is not None:
            body["count"] = args.count
        out = ctl_call(base, "POST", "/control/hook", body)
    elif args.cmd == "fault":
        body = {"mode": args.mode}
        if args.count is not None:
            body["count"] = args.count
        out = ctl_call(base, "POST", "/control/fault", body)
    elif args.cmd == "grace":
        out = ctl_call(base, "POST", "/control/grace",
                       {"on": args.state == "on"})
    elif args.cmd == "proxy-only":
        out = ctl_call(base, "POST", "/control/proxy-only",
                       {"on": args.state == "on"})
    elif args.cmd == "latency":
        out = ctl_call(base, "POST", "/control/latency", {"ms": args.ms})
    elif args.cmd == "stats":
        out = ctl_call(base, "GET", "/control/stats")
    elif args.cmd == "release":
        out = ctl_call(base, "POST", "/control/release", {})
    elif args.cmd == "reset":
        out = ctl_call(base, "POST", "/control/reset", {})
    elif args.cmd == "authorize-mode":
        out = ctl_call(base, "POST", "/control/authorize",
                       {"mode": args.mode, "user": args.user})
    elif args.cmd == "device":
        out = ctl_call(base, "POST", "/control/device",
                       {"action": args.action, "user": args.user,
                        "code": args.code, "count": args.count})
    elif args.cmd == "device-config":
        out = ctl_call(base, "POST", "/control/device-config",
                       {"interval": args.interval,
                        "expires_in": args.expires_in,
                        "url_alias": args.url_alias or None})
    elif args.cmd == "device-status":
        out = ctl_call(base, "GET", "/control/device-status")
    elif args.cmd == "client":
        out = ctl_call(base, "POST", "/control/client",
                       {"client_id": args.client_id, "secret": args.secret})
    elif args.cmd == "app":
        body = {"client_id": args.client_id, "mailbox": args.mailbox,
                "secret_expired": args.expired_secret,
                "expires_in": args.expires_in, "certificates": []}
        if args.secret_file:
            with open(args.secret_file) as f:
                body["secret"] = f.read().strip()
        for name in args.cert or []:
            with open(name) as f:
                body["certificates"].append(f.read())
        out = ctl_call(base, "POST", "/control/app", body)
    elif args.cmd == "service-account":
        # Only the public half goes to the server, as with Google.
        with open(args.key_file) as f:
            key = json.load(f)
        pub = serialization.load_pem_private_key(
            key["private_key"].encode(), None).public_key().public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        out = ctl_call(base, "POST", "/control/service-account",
                       {"client_email": key["client_email"],
                        "public_key": pub, "scopes": args.scope,
                        "expires_in": args.expires_in})
    elif args.cmd == "clock-offset":
        out = ctl_call(base, "POST", "/control/clock", {"offset": args.offset})
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
        s = cmd("hook")
        s.add_argument("command")
        s.add_argument("--count", type=int)
        s = cmd("fault")
        s.add_argument("mode", choices=FAULT_MODES)
        s.add_argument("--count", type=int)
        cmd("grace").add_argument("state", choices=("on", "off"))
        cmd("proxy-only").add_argument("state", choices=("on", "off"))
        cmd("stats")
        cmd("latency").add_argument("ms", type=int)
        cmd("release")
        cmd("reset")
        s = cmd("authorize-mode")
        s.add_argument("mode", choices=AUTHORIZE_MODES)
        s.add_argument("--user")
        s = cmd("device")
        s.add_argument("action", choices=DEVICE_ACTIONS)
        s.add_argument("--user")
        s.add_argument("--code")
        s.add_argument("--count", type=int)
        s = cmd("device-config")
        s.add_argument("--interval", type=int)
        s.add_argument("--expires-in", type=int)
        s.add_argument("--url-alias", action="store_true")
        cmd("device-status")
        s = cmd("client")
        s.add_argument("client_id")
        s.add_argument("secret", nargs="?")
        s = cmd("app")
        s.add_argument("client_id")
        s.add_argument("--mailbox", required=True)
        s.add_argument("--secret-file")
        s.add_argument("--cert", action="append")
        s.add_argument("--expired-secret", action="store_true")
        s.add_argument("--expires-in", type=int)
        s = cmd("service-account")
        s.add_argument("--key-file", required=True)
        s.add_argument("--scope", action="append")
        s.add_argument("--expires-in", type=int)
        cmd("clock-offset").add_argument("offset", type=int)
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
    p.add_argument("--latency-ms", type=int, default=0,
                   help="answer /token requests this late")
    return serve(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
