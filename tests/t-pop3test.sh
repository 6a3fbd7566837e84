#!/bin/bash
# POP3 through Cyrus pop3test + our plugin against a private Dovecot whose
# oauth2 passdb asks the mock OAuth server: for XOAUTH2 and OAUTHBEARER a
# valid token logs in (and sees the mailbox), a revoked one gets -ERR
# within a few seconds.
set -eu
. "$(dirname "$0")/lib.sh"

POP3TEST=$XO_CYRUS_BIN/pop3test
xo_require_mail_stack "$POP3TEST"

xo_start_mail_servers --no-sink

USER=bob@example.com
xo_message carol@example.com "$USER" "waiting in the maildrop" \
    | xo_dovecot_save "$USER"

# pop3test MECH TOKEN OUT: one pop3test session, STAT after authentication.
# pop3test exits 0 even when authentication fails: judge by its transcript.
pop3test() {
    xo_run_timeout 20 "$POP3TEST" -m "$1" -a "$USER" -w "$2" \
        -p "$XO_POP3_PORT" 127.0.0.1 <<<"STAT" >"$3" 2>&1
}

for mech in XOAUTH2 OAUTHBEARER; do
    xo_step "$mech: a valid token logs in"
    out=$XO_TMP/pop3test-$mech-valid.out
    token=$(xo_grant "$USER")
    pop3test "$mech" "$token" "$out"
    xo_assert_contains "$out" "^C: AUTH $mech " "pop3test used $mech"
    xo_assert_contains "$out" '^S: \+OK Logged in' "server said +OK"
    xo_assert_contains "$out" '^Authenticated\.' "pop3test: Authenticated."
    xo_assert_contains "$out" '^(S: )?\+OK 1 [0-9]+' "STAT sees the 1 message"
    xo_assert_rc 0 "$out"
    xo_dovecot_wait_login pop3 "$USER" "$mech"

    xo_step "$mech: a revoked token is refused within 10 s"
    out=$XO_TMP/pop3test-$mech-revoked.out
    pop3test "$mech" "$(xo_revoked_grant "$USER")" "$out"
    xo_assert_refused_cleanly "$out" "$mech" '^S: \+ ' '^S: -ERR' \
        '^S: -ERR.*(abort|Unknown command)'
done

xo_pass
