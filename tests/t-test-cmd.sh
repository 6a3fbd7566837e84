#!/bin/bash
# `xoauth2-token login` then `xoauth2-token test`: the two commands a new
# user runs.  The token file comes from a real (mock) browser login; then
# `test` logs in through libsasl2 and our plugin (the token file's path is
# the SASL password) to the private Dovecot over IMAP, POP and SMTP
# (submission), with XOAUTH2 and OAUTHBEARER:
#   - with a valid token: exit 0, a PASS line, Dovecot logged the login,
#     and no token in the output (client SASL messages are masked);
#   - with a revoked token: exit 77, a FAIL line naming the refusal, a
#     message saying what to do -- and the plugin marked the token stale,
#     so the next `test` refreshes it (through the helper) and passes;
#   - TLS: a certificate from an unknown CA is refused, --cafile trusts it;
#   - --plain to a host that is not loopback is refused before connecting;
#   - a token file whose name does not end in .json (the plugin would send
#     its path as the token) is refused before connecting.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack openssl
xo_require_helper --private-store
USER=alice@example.com

xo_start_mail_servers
xo_message carol@example.com "$USER" "waiting" | xo_dovecot_save "$USER"

xo_step "login (browser flow, custom provider) writes the token file"
# The "browser" follows the redirect to the helper's loopback listener.
cat >"$XO_TMP/browser" <<EOF
#!/bin/sh
exec "$XO_PYTHON" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=10).read()' "\$1" >>"$XO_TMP/browser.log" 2>&1
EOF
chmod +x "$XO_TMP/browser"
BROWSER=$XO_TMP/browser xo_login_mock 30 mail --login-hint "$USER" --scope "$XO_IMAP_SCOPE"
xo_assert_rc 0 "$XO_TMP/mail.err"
F=$XDG_DATA_HOME/xoauth2/mail.json
xo_assert_contains "$XO_TMP/mail.err" "signed in as $USER; token file $F written"

# run_test NAME ARGS...: xoauth2-token test mail ARGS, output in NAME.out
# (stdout: the dialogue and the verdict) and NAME.err.
run_test() {
    local name=$1; shift
    xo_run_timeout 30 "$XO_HELPER" test mail "$@" \
        >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    cat "$XO_TMP/$name.err" >>"$XO_TMP/$name.out"
}

# every_token: every token the server issued into the file so far.
every_token() {
    xo_token_field "$F" access_token >>"$XO_TMP/secrets"
    xo_token_field "$F" refresh_token >>"$XO_TMP/secrets"
}
: >"$XO_TMP/secrets"
every_token

# assert_error_challenge FILE: FILE shows the server's error challenge
# decoded, once: a JSON object with a "status" (RFC 7628 3.2.2).  Parsed,
# not matched: Dovecot 2.3 sends {"status":...,"schemes":...}, 2.4
# {"schemes":...,"status":...}.
assert_error_challenge() {
    "$XO_PYTHON" - "$1" <<'PY' || xo_fail "want one decoded error challenge, a JSON object with a status" "$1"
import json, re, sys
lines = open(sys.argv[1], encoding="utf-8", errors="replace").read().split("\n")
found = [m.group(1) for m in
         (re.fullmatch(r"   \(challenge decoded: (.*)\)\r?", l) for l in lines) if m]
if len(found) != 1:
    sys.exit("%d decoded challenges" % len(found))
c = json.loads(found[0])
if not isinstance(c, dict) or not isinstance(c.get("status"), str) or not c["status"]:
    sys.exit("no status in %r" % c)
print("   ok: the server's error challenge, decoded: status %s" % c["status"])
PY
}

declare -A PORT=([imap]=$XO_IMAP_PORT [pop]=$XO_POP3_PORT [smtp]=$XO_SUBMISSION_PORT)
declare -A SERVICE=([imap]=imap [pop]=pop3 [smtp]=submission)
declare -A AFTER=([imap]='^C: A3 LIST "" INBOX$' [pop]='^C: STAT$' [smtp]='^C: NOOP$')
refreshes=0
for proto in imap pop smtp; do
    for mech in XOAUTH2 OAUTHBEARER; do
        xo_step "$proto $mech: a valid token logs in"
        run_test "$proto-$mech-ok" --$proto "127.0.0.1:${PORT[$proto]}" \
            --plain --mech "$mech"
        out=$XO_TMP/$proto-$mech-ok.out
        xo_assert_rc 0 "$out"
        xo_assert_contains "$out" "^PASS: ${proto^^} login to 127\.0\.0\.1:${PORT[$proto]} as $USER with $mech \(no TLS\)" \
            "one-line verdict: PASS"
        xo_assert_contains "$out" "^C: (A2 AUTHENTICATE $mech )?\[base64 of [0-9]+ bytes, masked: user $USER, auth=Bearer \*\*\*\]$" \
            "the plugin's message, masked"
        xo_assert_contains "$out" "${AFTER[$proto]}" "a harmless command after login"
        xo_dovecot_wait_login "${SERVICE[$proto]}" "$USER" "$mech"
        # Every run but the first follows a revocation: the plugin
        # marked the token stale, and this run refreshed it.
        [ "$(xo_oauth_refreshes)" = "$refreshes" ] \
            || xo_fail "server saw $(xo_oauth_refreshes) refreshes, want $refreshes"
        every_token

        xo_step "$proto $mech: a revoked token is refused, cleanly"
        xo_revoke "$(xo_token_field "$F" access_token)"
        run_test "$proto-$mech-revoked" --$proto "127.0.0.1:${PORT[$proto]}" \
            --plain --mech "$mech"
        out=$XO_TMP/$proto-$mech-revoked.out
        xo_assert_rc 77 "$out"
        assert_error_challenge "$out"
        xo_assert_contains "$out" "^FAIL: ${proto^^} login .* with $mech .*: 127\.0\.0\.1 refused the login as $USER with $mech: .*rejected the access token" \
            "one-line verdict: FAIL, with the plugin's reason"
        xo_assert_contains "$out" "^xoauth2-token: mail: .*; run: xoauth2-token refresh --force mail" \
            "says what to do"
        xo_assert_faster_than 10 "$out"
        refreshes=$((refreshes + 1))
    done
done

xo_step "no token in any output"
cat "$XO_TMP"/*.out "$XO_TMP/mail.err" >"$XO_TMP/all-output"
if grep -F -f "$XO_TMP/secrets" "$XO_TMP/all-output" >/dev/null; then
    xo_fail "a token appears in the output" "$XO_TMP/all-output"
fi
echo "   ok: $(sort -u "$XO_TMP/secrets" | wc -l) tokens, none in $(wc -l <"$XO_TMP/all-output") lines"

xo_step "TLS: a relay with a certificate from a throwaway CA"
# Implicit TLS in front of Dovecot's plain IMAP port.
xo_start_tls_relay "$XO_IMAP_PORT"
TLS_PORT=$XO_TLS_PORT

xo_step "TLS: an unknown CA is refused, with the --cafile hint"
run_test tls-unknown --imap "127.0.0.1:$TLS_PORT" --tls
out=$XO_TMP/tls-unknown.out
xo_assert_rc 69 "$out"
xo_assert_contains "$out" "certificate is not trusted .*add --cafile FILE"
xo_assert_not_contains "$out" '^C: \[base64' "no token was sent"

xo_step "TLS: --cafile makes it trusted; the login passes over TLS"
run_test tls-ok --imap "127.0.0.1:$TLS_PORT" --tls --cafile "$XO_TLS_CA"
out=$XO_TMP/tls-ok.out
xo_assert_rc 0 "$out"
xo_assert_contains "$out" '^   TLS: TLSv1\.[23], .*, certificate verified for 127\.0\.0\.1$'
xo_assert_contains "$out" "^PASS: IMAP login to 127\.0\.0\.1:$TLS_PORT as $USER with XOAUTH2 \(TLS\)"

xo_step "--plain is refused to a host that is not loopback"
run_test plain-remote --imap 192.0.2.1:143 --plain
xo_assert_rc 64 "$XO_TMP/plain-remote.out"
xo_assert_contains "$XO_TMP/plain-remote.out" 'only allowed to a loopback host'

xo_step "a token file not named *.json: the plugin would send its path as a token; refused"
cp -p "$F" "$XO_TMP/mail-token"
xo_run_timeout 30 "$XO_HELPER" test "$XO_TMP/mail-token" --imap "127.0.0.1:$XO_IMAP_PORT" \
    --plain >"$XO_TMP/not-json.out" 2>&1
xo_assert_rc 78 "$XO_TMP/not-json.out"
xo_assert_contains "$XO_TMP/not-json.out" "only if it ends in \.json, and $XO_TMP/mail-token does not; rename it to NAME\.json"
xo_assert_not_contains "$XO_TMP/not-json.out" '^C: ' "nothing was sent"

xo_step "a missing plugin is a configuration error"
run_test no-plugin --imap "127.0.0.1:$XO_IMAP_PORT" --plain --plugin-dir "$XO_TMP"
xo_assert_rc 78 "$XO_TMP/no-plugin.out"
xo_assert_contains "$XO_TMP/no-plugin.out" 'libxoauth2\.so is not in .*--plugin-dir DIR'

xo_pass
