#!/bin/bash
# SMTP submission through Cyrus smtptest + our plugin against a private
# Dovecot (relaying to an SMTP sink) whose oauth2 passdb asks the mock OAuth
# server: for XOAUTH2 and OAUTHBEARER a valid token logs in and the message
# reaches the sink; a revoked one gets 535 within a few seconds and nothing
# is relayed.
set -eu
. "$(dirname "$0")/lib.sh"

SMTPTEST=$XO_CYRUS_BIN/smtptest
xo_require_mail_stack "$SMTPTEST"

xo_start_mail_servers

USER=carol@example.com
RCPT=dave@example.net

# smtptest MECH TOKEN SUBJECT OUT: one smtptest session sending one message
# after authentication.  smtptest exits 0 even when authentication fails.
smtptest() {
    local in=$4.in
    {
        printf 'MAIL FROM:<%s>\nRCPT TO:<%s>\nDATA\n' "$USER" "$RCPT"
        xo_message "$USER" "$RCPT" "$3"
        printf '.\nQUIT\n'
    } >"$in"
    xo_run_timeout 20 "$SMTPTEST" -m "$1" -a "$USER" -w "$2" \
        -p "$XO_SUBMISSION_PORT" 127.0.0.1 <"$in" >"$4" 2>&1
}

for mech in XOAUTH2 OAUTHBEARER; do
    xo_step "$mech: a valid token logs in and the message is relayed"
    out=$XO_TMP/smtptest-$mech-valid.out
    subject="xo-smtptest $mech valid $RANDOM"
    token=$(xo_grant "$USER")
    smtptest "$mech" "$token" "$subject" "$out"
    xo_assert_contains "$out" "^C: AUTH $mech " "smtptest used $mech"
    xo_assert_contains "$out" '^S: 235 ' "server said 235"
    xo_assert_contains "$out" '^Authenticated\.' "smtptest: Authenticated."
    xo_assert_contains "$out" '^(S: )?354 ' "DATA accepted"
    xo_assert_rc 0 "$out"
    [ -n "$(xo_sink_grep "^Subject: $subject$")" ] \
        || xo_fail "message '$subject' did not reach the sink" "$out"
    echo "   ok: the sink received '$subject'"
    xo_dovecot_wait_login submission "$USER" "$mech"

    xo_step "$mech: a revoked token is refused within 10 s, nothing relayed"
    out=$XO_TMP/smtptest-$mech-revoked.out
    subject="xo-smtptest $mech revoked $RANDOM"
    smtptest "$mech" "$(xo_revoked_grant "$USER")" "$subject" "$out"
    xo_assert_refused_cleanly "$out" "$mech" '^S: 334 ' '^S: 535 ' '^S: 501 '
    [ -z "$(xo_sink_grep "^Subject: $subject$")" ] \
        || xo_fail "message '$subject' was relayed without authentication" "$out"
    echo "   ok: nothing relayed"
done

xo_pass
