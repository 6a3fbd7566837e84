#!/bin/bash
# make demo: what a new user does, end to end on loopback.  A mock OAuth
# server and a private Dovecot (which checks every token with it, RFC 7662
# introspection) start on 127.0.0.1; `xoauth2-token login` signs in with
# the device flow (the demo approves the code at the mock server, as a
# user would in a browser) and writes a token file; `xoauth2-token test`
# then logs in through libsasl2 and our plugin over IMAP, POP and SMTP
# with XOAUTH2 and OAUTHBEARER; a revoked token is refused, and the plugin
# refreshes it through the helper on the next login.  Then the app-only
# leg: a relay's certificate (`login --app-only`, the client credentials
# grant with a signed assertion), SMTP through the plugin, and a renewal
# with no refresh token anywhere.  Everything stops and is removed at the
# end (XO_KEEP=1 keeps the temp dir and its logs).
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack
xo_require_helper
unset BROWSER DISPLAY WAYLAND_DISPLAY
export XDG_DATA_HOME=$XO_TMP/data
USER=alice@example.com

say() { printf '%s\n' "$*" >&3; }
exec 3>&1 >"$XO_TMP/demo.log" 2>&1
xo_on_exit '[ $? = 0 ] || { say "demo FAILED; details:"; tail -40 "$XO_TMP/demo.log" | xo_mask >&3; }'

say "xoauth2 demo: OAuth server, Dovecot and the clients all on 127.0.0.1"
xo_start_mail_servers
xo_oauth -q device-config --interval 1 --expires-in 60
say "  servers: OAuth $XO_OAUTH_URL, Dovecot IMAP :$XO_IMAP_PORT POP3 :$XO_POP3_PORT SMTP :$XO_SUBMISSION_PORT"

# 1. login, device flow; the code is approved as soon as it is handed out.
say "\$ xoauth2-token login work --provider custom --flow device ..."
xo_device_login "$USER" 15 "$XO_HELPER" login work --provider custom \
    --client-id xoauth2-demo \
    --flow device --device-endpoint "$XO_OAUTH_URL/devicecode" \
    --token-endpoint "$XO_OAUTH_URL/token" \
    --scope "https://outlook.office.com/IMAP.AccessAsUser.All offline_access openid" \
    >"$XO_TMP/login.out" 2>"$XO_TMP/login.err"
[ "$XO_RC" = 0 ] || xo_fail "login failed (exit $XO_RC)" "$XO_TMP/login.err"
code=$(sed -n 's/.*enter the code \([A-Z-]*\).*/\1/p' "$XO_TMP/login.err" | head -1)
say "  showed code $code to enter at $XO_OAUTH_URL/device; the demo approved it as $USER"
say "  $(sed -n 's/^xoauth2-token: work: //p' "$XO_TMP/login.err" | grep '^signed in')"

# run_test NAME ARGS...: xoauth2-token test work ARGS; output in NAME.out.
run_test() {
    local name=$1; shift
    xo_run_timeout 30 "$XO_HELPER" test work "$@" >"$XO_TMP/$name.out" 2>&1
}
# verdict NAME: its PASS/FAIL line.
verdict() {
    grep -E '^(PASS|FAIL)' "$XO_TMP/$1.out" | head -1
}

# 2. test: IMAP, POP and SMTP, both mechanisms.
say "\$ xoauth2-token test work --imap|--pop|--smtp 127.0.0.1:PORT --plain --mech MECH"
declare -A PORT=([imap]=$XO_IMAP_PORT [pop]=$XO_POP3_PORT [smtp]=$XO_SUBMISSION_PORT)
for proto in imap pop smtp; do
    for mech in XOAUTH2 OAUTHBEARER; do
        run_test "$proto-$mech" "--$proto" "127.0.0.1:${PORT[$proto]}" --plain --mech "$mech"
        [ "$XO_RC" = 0 ] || xo_fail "$proto $mech: exit $XO_RC" "$XO_TMP/$proto-$mech.out"
        say "  $(verdict "$proto-$mech")"
    done
done

# 3. a revoked token is refused; the plugin marks the file stale, and the
# next login has the helper refresh it.
xo_revoke "$(xo_token_field "$XDG_DATA_HOME/xoauth2/work.json" access_token)"
run_test revoked --imap "127.0.0.1:$XO_IMAP_PORT" --plain
[ "$XO_RC" = 77 ] || xo_fail "a revoked token: exit $XO_RC, expected 77" "$XO_TMP/revoked.out"
grep -q 'marked stale' "$XO_TMP/revoked.out" || xo_fail "token not marked stale" "$XO_TMP/revoked.out"
say "revoked the access token at the OAuth server, then test again:"
say "  $(verdict revoked | sed 's/ (no TLS)//; s/: 127\.0\.0\.1 refused the login as [^:]*: /: /; s/: it has expired.*//') (exit 77)"
say "  the plugin marked the token file stale"
run_test again --imap "127.0.0.1:$XO_IMAP_PORT" --plain
[ "$XO_RC" = 0 ] || xo_fail "after the refresh: exit $XO_RC" "$XO_TMP/again.out"
say "  next login: the plugin had xoauth2-token refresh it ($(xo_oauth_refreshes) refresh at the server), then $(verdict again | sed 's/ (no TLS)//; s/: LIST.*//')"
# 4. app-only: a relay with a certificate, no person, no refresh token.
"$XO_PYTHON" -c 'import cryptography' 2>/dev/null \
    || xo_fail "python3-cryptography is missing (the test server verifies assertions with it)"
RELAY=relay@example.com
mkdir -m 700 "$XO_TMP/creds"
xo_app_cert "$XO_TMP/creds" relay
xo_oauth -q app xoauth2-demo-relay --mailbox "$RELAY" --cert "$XO_TMP/creds/relay.crt"
say "app-only access for a relay (no person, no refresh token), with a certificate:"
say "\$ xoauth2-token login relay --app-only --provider custom --client-id xoauth2-demo-relay --user $RELAY --certificate relay.crt --private-key relay.key ..."
xo_run_timeout 30 "$XO_HELPER" login relay --app-only --provider custom \
    --client-id xoauth2-demo-relay --user "$RELAY" \
    --token-endpoint "$XO_OAUTH_URL/token" \
    --scope https://outlook.office365.com/.default \
    --certificate "$XO_TMP/creds/relay.crt" --private-key "$XO_TMP/creds/relay.key" \
    >"$XO_TMP/relay-login.out" 2>&1
[ "$XO_RC" = 0 ] || xo_fail "app-only login failed (exit $XO_RC)" "$XO_TMP/relay-login.out"
say "  $(sed -n 's/^xoauth2-token: relay: \(app-only access.*\); token file.*/\1/p' "$XO_TMP/relay-login.out")"
relay_test() {
    xo_run_timeout 30 "$XO_HELPER" test relay "$@" >"$XO_TMP/$name.out" 2>&1
}
name=relay-smtp relay_test --smtp "127.0.0.1:$XO_SUBMISSION_PORT" --plain
[ "$XO_RC" = 0 ] || xo_fail "app-only SMTP: exit $XO_RC" "$XO_TMP/relay-smtp.out"
say "  $(verdict relay-smtp)"
xo_token_expire_file "$XDG_DATA_HOME/xoauth2/relay.json" -60
xo_oauth -q expire --user "$RELAY"
name=relay-again relay_test --smtp "127.0.0.1:$XO_SUBMISSION_PORT" --plain
[ "$XO_RC" = 0 ] || xo_fail "app-only renewal: exit $XO_RC" "$XO_TMP/relay-again.out"
grants=$(xo_oauth_stat app_grants)
say "  the token expired; the plugin had xoauth2-token ask for a new one with the certificate ($grants client credentials requests, no refresh token), then $(verdict relay-again | sed 's/ (no TLS)//')"
say "demo OK ($(xo__elapsed_total)): every login went through libsasl2 and libxoauth2.so; cleaning up"
