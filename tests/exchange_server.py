#!/usr/bin/python3
"""A Microsoft-like mail service for the xoauth2 tests: IMAP, POP and SMTP
that answer the way Exchange Online does, and a token endpoint that answers
the way the Microsoft identity platform (or Google) does.

Loopback only, standard library only.

  exchange_server.py serve --state-dir DIR [--cert PEM --key PEM] [--log F]
      Binds 127.0.0.1 on four kernel-picked ports and, once listening,
      writes DIR/ports: {"imap": N, "pop": N, "smtp": N, "http": N}.
      With --cert/--key, IMAP, POP and SMTP offer STARTTLS and (as
      Exchange does) no AUTH before it; without, AUTH in the clear.

  exchange_server.py jwt [--aud A] [--scp S] [--roles R] [--upn U]
                         [--tid T] [--appid ID] [--exp-in SECS]
      Prints a JWT access token with those claims (signature: not a real
      one: nothing here checks it, and Exchange's check is not the point).

How it answers (read at each login, so a test changes it between runs):

  DIR/mode   the mail servers' answer to AUTH (default "exchange"):
      exchange  decide as Exchange would: the XOAUTH2 token must be a JWT
                for Exchange's audience (any cloud), not expired, carrying
                the protocol's permission (scp, or roles for app-only), for
                the user named in user= (app-only: a mailbox listed in
                DIR/app-mailboxes, one per line, as Add-MailboxPermission
                would); otherwise the bare refusal: IMAP "NO AUTHENTICATE
                failed.", POP "-ERR Authentication failure: ...", SMTP
                "535 5.7.3 Authentication unsuccessful [...]" -- no
                challenge first, unlike Google and Dovecot
      accept    any token
      a name from REPLIES below: that reply to AUTH, whatever the token
      (smtp-not-authenticated: Exchange says it to MAIL FROM without AUTH;
      here to AUTH, since a login test sends no MAIL)
  DIR/token-mode   the token endpoint's answer (default "ok": new tokens
      with the claims in DIR/claims.json, rotating the refresh token), or
      a name from TOKEN_ERRORS below.

  POST /TENANT/oauth2/v2.0/token   (any TENANT)

The log (--log) has one line per command and reply; SASL messages are
shown as their length only, never their content.
"""

import argparse
import base64
import json
import os
import secrets
import signal
import socketserver
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HOST = "XX0PR00CA0001.outlook.office365.com"
TAG = "[XX0PR00CA0001.eurprd00.prod.outlook.com]"

# The mail servers' fixed answers, by the name of the diag row they should
# map to (helper/diag.c).  (protocol, reply line)
REPLIES = {
    "smtp-auth-disabled-tenant": ("smtp", "535 5.7.139 Authentication "
        "unsuccessful, SmtpClientAuthentication is disabled for the Tenant. "
        "Visit https://aka.ms/smtp_auth_disabled for more information. " + TAG),
    "smtp-auth-disabled-mailbox": ("smtp", "535 5.7.139 Authentication "
        "unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. "
        "Visit https://aka.ms/smtp_auth_disabled for more information. " + TAG),
    "smtp-auth-refused": ("smtp", "535 5.7.139 Authentication unsuccessful, "
        "the request did not meet the criteria to be authenticated "
        "successfully. Contact your administrator. " + TAG),
    "smtp-token-refused": ("smtp", "535 5.7.3 Authentication unsuccessful " + TAG),
    "smtp-not-authenticated": ("smtp", "530 5.7.57 Client not authenticated "
        "to send mail. " + TAG),
    "smtp-basic-auth": ("smtp", "550 5.7.30 Basic authentication is not "
        "supported for Client Submission. " + TAG),
    "smtp-token-expires-soon": ("smtp", "501 5.5.127 Token will expire soon"),
    # High Volume Email (smtp-hve.office365.com): the codes are the ones
    # users report there; the words after them are stand-ins (no text of
    # Microsoft's was found), and the diag rows key on the codes only.
    # Exchange says 5.5.105 to RCPT TO and 5.7.60 (its documented words)
    # to MAIL FROM; here, as for 5.7.57, to AUTH: a login test sends no
    # mail.
    "smtp-hve-refused": ("smtp", "501 5.5.124 Authentication unsuccessful "
        "for the HVE account " + TAG),
    "smtp-hve-external-recipient": ("smtp", "550 5.5.105 External recipients "
        "are not allowed for HVE accounts " + TAG),
    "smtp-sendas-denied": ("smtp", "550 5.7.60 SMTP; Client does not have "
        "permissions to send as this sender " + TAG),
    "imap-refused": ("imap", "NO AUTHENTICATE failed."),
    "pop-refused": ("pop", "-ERR Authentication failure: unknown user name "
        "or bad password."),
}
REFUSED = {p: line for p, line in (REPLIES["smtp-token-refused"],
                                   REPLIES["imap-refused"], REPLIES["pop-refused"])}

TRACE = ("\r\nTrace ID: 0b3f0c4e-1a2b-4c5d-8e9f-0a1b2c3d4e5f\r\nCorrelation ID: "
         "7d1c2b3a-4e5f-6071-8293-a4b5c6d7e8f9\r\nTimestamp: 2026-11-28 15:04:05Z")
APP = "9e5f94bc-e8a4-4e73-b8be-63364c29d753"


def aad(status, error, code, text):
    return (status, {"error": error,
                     "error_description": "AADSTS%d: %s%s" % (code, text, TRACE),
                     "error_codes": [code], "timestamp": "2026-11-28 15:04:05Z",
                     "trace_id": "0b3f0c4e-1a2b-4c5d-8e9f-0a1b2c3d4e5f",
                     "correlation_id": "7d1c2b3a-4e5f-6071-8293-a4b5c6d7e8f9"})


# The token endpoint's errors, by diag row name: (HTTP status, JSON body).
TOKEN_ERRORS = {
    "aad-mfa-required": aad(400, "invalid_grant", 50076, "Due to a "
        "configuration change made by your administrator, or because you moved "
        "to a new location, you must use multi-factor authentication to access "
        "'00000002-0000-0ff1-ce00-000000000000'."),
    "aad-mfa-enrol": aad(400, "invalid_grant", 50079, "Due to a configuration "
        "change made by your administrator, or because you moved to a new "
        "location, you must enroll in multi-factor authentication to access "
        "'00000002-0000-0ff1-ce00-000000000000'."),
    "aad-grant-expired": aad(400, "invalid_grant", 700082, "The refresh token "
        "has expired due to inactivity. The token was issued on "
        "2026-08-01T10:00:00Z and was inactive for 90.00:00:00."),
    "aad-grant-revoked": aad(400, "invalid_grant", 50173, "The provided grant "
        "has expired due to it being revoked, a fresh auth token is needed."),
    "aad-sign-in-frequency": aad(400, "invalid_grant", 70043, "The refresh "
        "token has expired or is invalid due to sign-in frequency checks by "
        "conditional access."),
    "aad-consent": aad(400, "invalid_grant", 65001, "The user or administrator "
        "has not consented to use the application with ID '%s'." % APP),
    "aad-app-not-in-tenant": aad(400, "unauthorized_client", 700016,
        "Application with identifier '%s' was not found in the directory "
        "'Contoso'." % APP),
    "aad-public-client-off": aad(401, "invalid_client", 7000218, "The request "
        "body must contain the following parameter: 'client_assertion' or "
        "'client_secret'."),
    "aad-account-not-in-tenant": aad(400, "invalid_request", 50020, "User "
        "account 'alice@outlook.com' from identity provider 'live.com' does "
        "not exist in tenant 'Contoso' and cannot access the application."),
    "aad-tenant-not-found": aad(400, "invalid_request", 90002, "Tenant "
        "'contoso.onmicrosft.com' not found."),
    "aad-conditional-access": aad(400, "invalid_grant", 53003, "Access has "
        "been blocked by Conditional Access policies."),
    "aad-secret-invalid": aad(401, "invalid_client", 7000215, "Invalid client "
        "secret provided. Ensure the secret being sent in the request is the "
        "client secret value, not the client secret ID."),
    "aad-secret-expired": aad(401, "invalid_client", 7000222, "The provided "
        "client secret keys for app '%s' are expired." % APP),
    "aad-assertion-invalid": aad(401, "invalid_client", 700027, "Client "
        "assertion failed signature validation."),
    "aad-scope-default": aad(400, "invalid_scope", 1002012, "The provided "
        "value for scope https://outlook.office365.com/IMAP.AccessAsApp is not "
        "valid. Client credential flows must have a scope value with /.default "
        "suffixed to the resource identifier."),
    "aad-no-service-principal": aad(401, "invalid_client", 7000229, "The "
        "client application %s is missing service principal in the tenant "
        "72f988bf-86f1-41af-91ab-2d7cd011db47. See instructions here: "
        "https://go.microsoft.com/fwlink/?linkid=2225119" % APP),
    "google-grant-revoked": (400, {"error": "invalid_grant",
        "error_description": "Token has been expired or revoked."}),
    "google-no-delegation": (401, {"error": "unauthorized_client",
        "error_description": "Client is unauthorized to retrieve access tokens "
        "using this method, or client not authorized for any of the scopes "
        "requested."}),
    "google-user-unknown": (400, {"error": "invalid_grant",
        "error_description": "Invalid email or User ID"}),
    "google-client-deleted": (401, {"error": "deleted_client",
        "error_description": "The OAuth client was deleted."}),
}

MAIL_AUDIENCES = {"https://outlook.office.com", "https://outlook.office365.com",
                  "00000002-0000-0ff1-ce00-000000000000",
                  "https://outlook.office365.us", "https://outlook-dod.office365.us",
                  "https://partner.outlook.cn"}
PERMISSION = {"imap": ("IMAP.AccessAsUser.All", "IMAP.AccessAsApp"),
              "pop": ("POP.AccessAsUser.All", "POP.AccessAsApp"),
              "smtp": ("SMTP.Send", "SMTP.SendAsApp")}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def make_jwt(claims):
    head = b64url(json.dumps({"typ": "JWT", "alg": "RS256", "kid": "test"}).encode())
    body = b64url(json.dumps(claims).encode())
    return "%s.%s.%s" % (head, body, b64url(secrets.token_bytes(32)))


def jwt_claims(token):
    try:
        body = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (IndexError, ValueError):
        return None


class State:
    def __init__(self, d, log):
        self.dir = d
        self.log_file = log
        self.lock = threading.Lock()

    def read(self, name, default):
        try:
            with open(os.path.join(self.dir, name)) as f:
                return f.read().strip() or default
        except FileNotFoundError:
            return default

    def log(self, fmt, *args):
        with self.lock:
            self.log_file.write(time.strftime("%H:%M:%S ") + (fmt % args) + "\n")
            self.log_file.flush()

    def decide(self, proto, payload):
        """The reply line to an XOAUTH2 message (bytes), or None: success."""
        mode = self.read("mode", "exchange")
        if mode == "accept":
            return None
        if mode in REPLIES:
            return REPLIES[mode][1]
        if mode != "exchange":
            self.log("unknown mode %r: refusing", mode)
            return REFUSED[proto]
        why = self.check(proto, payload)
        if why is not None:
            self.log("%s: refused: %s", proto, why)
            return REFUSED[proto]
        return None

    def check(self, proto, payload):
        parts = payload.split(b"\x01")
        if len(parts) != 4 or not parts[0].startswith(b"user=") or \
                not parts[1].startswith(b"auth=Bearer ") or parts[2:] != [b"", b""]:
            return "not an XOAUTH2 message"
        user = parts[0][5:].decode("utf-8", "replace")
        claims = jwt_claims(parts[1][12:].decode("ascii", "replace"))
        if not isinstance(claims, dict):
            return "not a JWT"
        if str(claims.get("aud", "")).rstrip("/") not in MAIL_AUDIENCES:
            return "audience %r" % claims.get("aud")
        if claims.get("exp", 0) <= time.time():
            return "expired"
        app = claims.get("idtyp") == "app" or ("roles" in claims and "scp" not in claims)
        delegated, apponly = PERMISSION[proto]
        if app:
            if apponly not in claims.get("roles", []):
                return "no %s role" % apponly
            allowed = self.read("app-mailboxes", "").lower().split()
            if user.lower() not in allowed:
                return "app-only: no permission on %s" % user
            return None
        scopes = [s.rsplit("/", 1)[-1] for s in str(claims.get("scp", "")).split()]
        if delegated not in scopes:
            return "no %s scope" % delegated
        who = claims.get("upn") or claims.get("preferred_username") or ""
        if who.lower() != user.lower():
            return "user= %s, token for %s" % (user, who)
        return None


# --- the mail protocols -------------------------------------------------------

class Conn:
    def __init__(self, sock, state, proto, tls_ctx):
        self.sock, self.state, self.proto, self.tls_ctx = sock, state, proto, tls_ctx
        self.buf = b""
        self.tls = False

    def send(self, line):
        self.state.log("%s S: %s", self.proto, line)
        self.sock.sendall(line.encode() + b"\r\n")

    def recv(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError
            self.buf += data
            if len(self.buf) > 1 << 20:
                raise EOFError
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def log_client(self, line, secret=False):
        self.state.log("%s C: %s", self.proto,
                       "[%d bytes]" % len(line) if secret else line)

    def start_tls(self):
        self.sock = self.tls_ctx.wrap_socket(self.sock, server_side=True)
        self.tls = True
        self.buf = b""

    def auth_offered(self):
        return self.tls or self.tls_ctx is None

    def sasl(self, b64):
        try:
            payload = base64.b64decode(b64, validate=True)
        except ValueError:
            return REFUSED[self.proto]
        return self.state.decide(self.proto, payload)


def imap(c):
    c.send("* OK The Microsoft Exchange IMAP4 service is ready. [WFgwUFIwMENBMDAwMQ==]")
    authed = False
    while True:
        line = c.recv()
        tag, _, rest = line.partition(" ")
        cmd, _, arg = rest.partition(" ")
        cmd = cmd.upper()
        c.log_client(line, secret=cmd == "AUTHENTICATE" and " " in arg)
        if cmd == "CAPABILITY":
            caps = "IMAP4 IMAP4rev1"
            if c.auth_offered():
                caps += " AUTH=PLAIN AUTH=XOAUTH2 SASL-IR"
            else:
                caps += " LOGINDISABLED STARTTLS"
            c.send("* CAPABILITY %s UIDPLUS MOVE ID UNSELECT CHILDREN IDLE "
                   "NAMESPACE LITERAL+" % caps)
            c.send("%s OK CAPABILITY completed." % tag)
        elif cmd == "STARTTLS" and c.tls_ctx is not None and not c.tls:
            c.send("%s OK Begin TLS negotiation now." % tag)
            c.start_tls()
        elif cmd == "AUTHENTICATE" and c.auth_offered():
            mech, _, ir = arg.partition(" ")
            if mech.upper() != "XOAUTH2":
                c.send("%s NO The AUTH protocol exchange was canceled by the "
                       "client." % tag)
                continue
            if not ir:
                c.send("+ ")
                ir = c.recv()
                c.log_client(ir, secret=True)
            refusal = c.sasl(ir)
            if refusal is None:
                authed = True
                c.send("%s OK AUTHENTICATE completed." % tag)
            else:
                c.send("%s %s" % (tag, refusal))
        elif cmd == "LIST" and authed:
            c.send('* LIST (\\Marked \\HasNoChildren) "/" INBOX')
            c.send("%s OK LIST completed." % tag)
        elif cmd == "NOOP":
            c.send("%s OK NOOP completed." % tag)
        elif cmd == "LOGOUT":
            c.send("* BYE Microsoft Exchange Server IMAP4 server signing off.")
            c.send("%s OK LOGOUT completed." % tag)
            return
        else:
            c.send("%s BAD Command Error. 12" % tag)


def pop(c):
    c.send("+OK The Microsoft Exchange POP3 service is ready. [WFgwUFIwMENBMDAwMQ==]")
    authed = False
    while True:
        line = c.recv()
        cmd, _, arg = line.partition(" ")
        cmd = cmd.upper()
        c.log_client(line)
        if cmd == "CAPA":
            c.send("+OK")
            for cap in ["TOP", "UIDL"] + (["SASL PLAIN XOAUTH2", "USER"]
                                          if c.auth_offered() else ["STLS"]):
                c.send(cap)
            c.send(".")
        elif cmd == "STLS" and c.tls_ctx is not None and not c.tls:
            c.send("+OK Begin TLS negotiation")
            c.start_tls()
        elif cmd == "AUTH" and c.auth_offered():
            if arg.upper() != "XOAUTH2":
                c.send("-ERR Unrecognized authentication type.")
                continue
            c.send("+ ")
            b64 = c.recv()
            c.log_client(b64, secret=True)
            refusal = c.sasl(b64)
            if refusal is None:
                authed = True
                c.send("+OK User successfully authenticated.")
            else:
                c.send(refusal)
        elif cmd == "STAT" and authed:
            c.send("+OK 0 0")
        elif cmd == "QUIT":
            c.send("+OK Microsoft Exchange Server POP3 server signing off.")
            return
        else:
            c.send("-ERR Command is not valid in this state.")


def smtp(c):
    c.send("220 %s Microsoft ESMTP MAIL Service ready at %s" %
           (HOST, time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())))
    authed = False
    while True:
        line = c.recv()
        cmd, _, arg = line.partition(" ")
        cmd = cmd.upper()
        c.log_client(line, secret=cmd == "AUTH" and " " in arg)
        if cmd in ("EHLO", "HELO"):
            ext = ["SIZE 157286400", "PIPELINING", "DSN", "ENHANCEDSTATUSCODES"]
            if c.tls_ctx is not None and not c.tls:
                ext.append("STARTTLS")
            if c.auth_offered():
                ext.append("AUTH LOGIN XOAUTH2")
            ext += ["8BITMIME", "BINARYMIME", "CHUNKING", "SMTPUTF8"]
            lines = ["%s Hello [127.0.0.1]" % HOST] + ext
            for i, l in enumerate(lines):
                c.send("250%s%s" % (" " if i == len(lines) - 1 else "-", l))
        elif cmd == "STARTTLS" and c.tls_ctx is not None and not c.tls:
            c.send("220 2.0.0 SMTP server ready")
            c.start_tls()
        elif cmd == "AUTH" and c.auth_offered():
            mech, _, ir = arg.partition(" ")
            if mech.upper() != "XOAUTH2":
                c.send("504 5.7.4 Unrecognized authentication type " + TAG)
                continue
            if not ir:
                c.send("334 ")
                ir = c.recv()
                c.log_client(ir, secret=True)
            refusal = c.sasl(ir)
            if refusal is None:
                authed = True
                c.send("235 2.7.0 Authentication successful")
            else:
                c.send(refusal)
        elif cmd == "MAIL" and not authed:
            c.send(REPLIES["smtp-not-authenticated"][1])
        elif cmd == "NOOP":
            c.send("250 2.0.0 OK " + TAG)
        elif cmd == "QUIT":
            c.send("221 2.0.0 Service closing transmission channel")
            return
        else:
            c.send("500 5.3.3 Unrecognized command " + TAG)


class MailServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def mail_handler(proto, run):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            srv = self.server
            c = Conn(self.request, srv.state, proto, srv.tls_ctx)
            c.sock.settimeout(60)
            try:
                run(c)
            except (EOFError, OSError, ssl.SSLError) as e:
                srv.state.log("%s: connection ends: %s", proto, e or "EOF")
    return Handler


# --- the token endpoint ---------------------------------------------------------

class TokenHandler(BaseHTTPRequestHandler):
    def do_POST(self):
        st = self.server.state
        path = urllib.parse.urlsplit(self.path).path
        n = int(self.headers.get("Content-Length") or 0)
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        grant = form.get("grant_type", [""])[0]
        if not path.endswith("/oauth2/v2.0/token"):
            return self.answer(404, {"error": "not_found"})
        mode = st.read("token-mode", "ok")
        st.log("token: %s %s grant_type=%s -> %s", self.command, path, grant, mode)
        if mode in TOKEN_ERRORS:
            return self.answer(*TOKEN_ERRORS[mode])
        if grant not in ("refresh_token", "client_credentials"):
            return self.answer(*aad(400, "unsupported_grant_type", 70003,
                                    "The app requested an unsupported grant type."))
        try:
            with open(os.path.join(st.dir, "claims.json")) as f:
                claims = json.load(f)
        except FileNotFoundError:
            claims = {"aud": "https://outlook.office.com",
                      "scp": "IMAP.AccessAsUser.All POP.AccessAsUser.All SMTP.Send"}
        claims = dict(claims, exp=int(time.time()) + 3600, iat=int(time.time()))
        body = {"token_type": "Bearer", "expires_in": 3600,
                "access_token": make_jwt(claims)}
        if grant == "refresh_token":
            body["refresh_token"] = "0.AXoA" + secrets.token_urlsafe(24)
        self.answer(200, body)

    def answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, fmt, *args):
        pass


class HttpServer(ThreadingHTTPServer):
    daemon_threads = True


def serve(args):
    os.makedirs(args.state_dir, exist_ok=True)
    log = open(args.log, "a") if args.log else sys.stderr
    state = State(args.state_dir, log)
    tls_ctx = None
    if args.cert:
        tls_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_ctx.load_cert_chain(args.cert, args.key)
    servers, ports = [], {}
    for proto, run in (("imap", imap), ("pop", pop), ("smtp", smtp)):
        s = MailServer(("127.0.0.1", 0), mail_handler(proto, run))
        s.state, s.tls_ctx = state, tls_ctx
        servers.append(s)
        ports[proto] = s.server_address[1]
    h = HttpServer(("127.0.0.1", 0), TokenHandler)
    h.state = state
    servers.append(h)
    ports["http"] = h.server_address[1]
    for s in servers:
        threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2},
                         daemon=True).start()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    tmp = os.path.join(args.state_dir, "ports.tmp")
    with open(tmp, "w") as f:
        json.dump(ports, f)
    os.replace(tmp, os.path.join(args.state_dir, "ports"))
    state.log("listening: %s", ports)
    done.wait()
    for s in servers:
        s.shutdown()
        s.server_close()
    return 0


def jwt_cmd(args):
    claims = {"aud": args.aud, "iss": "https://sts.windows.net/%s/" % args.tid,
              "tid": args.tid, "appid": args.appid,
              "iat": int(time.time()), "exp": int(time.time()) + args.exp_in}
    if args.scp is not None:
        claims["scp"] = args.scp
    if args.roles is not None:
        claims["roles"] = args.roles.split()
        claims["idtyp"] = "app"
    if args.upn is not None:
        claims["upn"] = claims["unique_name"] = args.upn
    print(make_jwt(claims))
    return 0


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--state-dir", required=True)
    s.add_argument("--cert")
    s.add_argument("--key")
    s.add_argument("--log")
    j = sub.add_parser("jwt")
    j.add_argument("--aud", default="https://outlook.office.com")
    j.add_argument("--scp")
    j.add_argument("--roles")
    j.add_argument("--upn")
    j.add_argument("--tid", default="72f988bf-86f1-41af-91ab-2d7cd011db47")
    j.add_argument("--appid", default=APP)
    j.add_argument("--exp-in", type=int, default=3600)
    args = p.parse_args(argv)
    return serve(args) if args.cmd == "serve" else jwt_cmd(args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
