#!/bin/bash
# make demo: real XOAUTH2 and OAUTHBEARER logins through libsasl2 and our
# plugin, end to end on loopback: a mock OAuth server, a private Dovecot
# that checks every token with it (RFC 7662 introspection), Cyrus's own
# imtest, pop3test and smtptest as the clients, and a token file that the
# plugin refreshes through xoauth2-token.  Everything stops at the end.
set -eu
. "$(dirname "$0")/lib.sh"

IMTEST=$XO_CYRUS_BIN/imtest POP3TEST=$XO_CYRUS_BIN/pop3test
SMTPTEST=$XO_CYRUS_BIN/smtptest
xo_require_cmd "$IMTEST" "$POP3TEST" "$SMTPTEST" dovecot "$XO_PYTHON"
xo_require_root
xo_require_plugin
xo_require_helper
USER=alice@example.com

say() { printf '%s\n' "$*" >&3; }
exec 3>&1 >"$XO_TMP/demo.log" 2>&1
xo_on_exit '[ $? = 0 ] || { say "demo FAILED; details:"; tail -40 "$XO_TMP/demo.log" >&3; }'

say "xoauth2 demo: logins through libsasl2 + libxoauth2.so on 127.0.0.1"
xo_start_oauth
xo_start_smtp_sink
xo_start_dovecot
say "  servers: OAuth $XO_OAUTH_URL, Dovecot IMAP :$XO_IMAP_PORT POP3 :$XO_POP3_PORT submission :$XO_SUBMISSION_PORT"

# verdict OUT: "Authenticated" or the server's refusal, from a transcript.
verdict() {
    if xo_grep '^Authenticated\.' "$1"; then echo "logged in"
    else tr -d '\r' <"$1" | grep -E '^S: (A01 NO|-ERR|535)' | head -1 | cut -c4-; fi
}

token=$(xo_grant "$USER")
say "  granted $USER an access token (1 h) at the OAuth server"
for mech in XOAUTH2 OAUTHBEARER; do
    out=$XO_TMP/imap-$mech
    xo_run_timeout 20 "$IMTEST" -m "$mech" -a "$USER" -w "$token" \
        -p "$XO_IMAP_PORT" 127.0.0.1 <<<"A02 LOGOUT" >"$out" 2>&1
    xo_grep '^Authenticated\.' "$out" || xo_fail "IMAP $mech failed" "$out"
    say "  IMAP  $(printf '%-11s' $mech) imtest:    $(verdict "$out") ($XO_ELAPSED s)"
    out=$XO_TMP/pop-$mech
    xo_run_timeout 20 "$POP3TEST" -m "$mech" -a "$USER" -w "$token" \
        -p "$XO_POP3_PORT" 127.0.0.1 <<<"QUIT" >"$out" 2>&1
    xo_grep '^Authenticated\.' "$out" || xo_fail "POP3 $mech failed" "$out"
    say "  POP3  $(printf '%-11s' $mech) pop3test:  $(verdict "$out") ($XO_ELAPSED s)"
done

out=$XO_TMP/smtp
printf 'MAIL FROM:<%s>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nSubject: xoauth2 demo\r\n\r\nhello\r\n.\r\nQUIT\r\n' \
    "$USER" | xo_run_timeout 20 "$SMTPTEST" -m XOAUTH2 -a "$USER" -w "$token" \
    -p "$XO_SUBMISSION_PORT" 127.0.0.1 >"$out" 2>&1
for _ in $(seq 50); do [ "$(xo_sink_count)" -ge 1 ] && break; sleep 0.1; done
[ "$(xo_sink_count)" -ge 1 ] || xo_fail "the message did not reach the sink" "$out"
say "  SMTP  XOAUTH2     smtptest:  $(verdict "$out"), message relayed to the sink"

xo_revoke "$token"
out=$XO_TMP/imap-revoked
xo_run_timeout 20 "$IMTEST" -m XOAUTH2 -a "$USER" -w "$token" \
    -p "$XO_IMAP_PORT" 127.0.0.1 <<<"A02 LOGOUT" >"$out" 2>&1
xo_grep '^S: A01 NO' "$out" || xo_fail "a revoked token was not refused" "$out"
say "  revoked the token: IMAP says \"$(verdict "$out")\" ($XO_ELAPSED s)"

file=$XO_TMP/alice.json
xo_tokfile "$file" "$USER" -60
out=$XO_TMP/imap-file
xo_run_timeout 60 "$IMTEST" -m XOAUTH2 -a "$USER" -w "$file" \
    -p "$XO_IMAP_PORT" 127.0.0.1 <<<"A02 LOGOUT" >"$out" 2>&1
xo_grep '^Authenticated\.' "$out" || xo_fail "token-file login failed" "$out"
refreshes=$(xo_oauth_refreshes)
say "  token file with an expired token as the password: the plugin ran"
say "    xoauth2-token refresh ($refreshes refresh at the server), then $(verdict "$out") ($XO_ELAPSED s)"
"$XO_HELPER" show "$file" | sed 's/^/    /' >&3
say "demo OK: every login went through libsasl2 and libxoauth2.so"
