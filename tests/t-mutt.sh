#!/bin/bash
# The README's mutt recipe: mutt's own XOAUTH2 and OAUTHBEARER code (Debian's
# mutt is built with GNU SASL, -USE_SASL: it never loads libsasl2 or our
# plugin) with imap_oauth_refresh_command / smtp_oauth_refresh_command set
# to `xoauth2-token token FILE`.  Mutt sends a bearer token over IMAP only
# with TLS, so IMAP and submission are reached through a TLS relay (a
# throwaway CA, trusted through $certificate_file).  For each mechanism:
#   - batch send (`mutt -s SUBJECT RCPT < body`): SMTP login, the message
#     reaches the sink, and its Fcc ($record on the IMAP server) is appended
#     through an IMAP login: both logins in Dovecot's log;
#   - reading: mutt on a pseudo-terminal opens the IMAP INBOX and shows a
#     message that was delivered there, then quits;
# and an expired token file is refreshed by the command before the login,
# a revoked token sends nothing.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_cmd mutt dovecot openssl "$XO_PYTHON"
xo_require_root
xo_require_helper
USER=alice@example.com RCPT=bob@example.org
export HOME=$XO_TMP/home          # no ~/.muttrc, no ~/Mail of the caller
mkdir -p "$HOME"

xo_start_mail_servers
xo_start_tls_relay "$XO_IMAP_PORT"; IMAPS=$XO_TLS_PORT
xo_start_tls_relay "$XO_SUBMISSION_PORT"; SMTPS=$XO_TLS_PORT
cat "$XO_TLS_CERT" "$XO_TLS_CA" >"$XO_TMP/certificates"
xo_message carol@example.com "$USER" "waiting in the inbox" | xo_dovecot_save "$USER"

F=$XO_TMP/alice.json
xo_tokfile "$F" "$USER" 3600

# muttrc MECH: $XO_TMP/muttrc-MECH, the README recipe on loopback.
muttrc() {
    cat >"$XO_TMP/muttrc-$1" <<EOC
set from = "$USER"
set imap_user = "$USER"
set folder = "imaps://$USER@127.0.0.1:$IMAPS/"
set spoolfile = "+INBOX"
set record = "+Sent"
set imap_authenticators = "$1"
set imap_oauth_refresh_command = "$(xo_shq "$XO_HELPER" token "$F")"
set smtp_url = "smtps://$USER@127.0.0.1:$SMTPS/"
set smtp_authenticators = "$1"
set smtp_oauth_refresh_command = "$(xo_shq "$XO_HELPER" token "$F")"
set certificate_file = "$XO_TMP/certificates"
set header_cache = ""
set quit = yes
set confirmcreate = no
EOC
}
xo_doveadm mailbox create -u "$USER" Sent

# send MECH SUBJECT: batch send; output in SUBJECT.out.
send() {
    echo "Hello from $XO_TEST_NAME." >"$XO_TMP/body"
    xo_run_timeout 30 mutt -n -F "$XO_TMP/muttrc-$1" -s "$2" "$RCPT" \
        <"$XO_TMP/body" >"$XO_TMP/$2.out" 2>&1
}

# login_re MECH PROTO: Dovecot's log line for a PROTO login with MECH;
# logins MECH PROTO: how many it logged so far.
login_re() {
    xo_dovecot_login_re "$2" "$USER" "${1^^}"
}
logins() {
    xo_count "$XO_DOVECOT_LOG" "$(login_re "$1" "$2")"
}


# read_inbox MECH: mutt on a pty (24x80) opens the INBOX; the screen in MECH.screen.
read_inbox() {
    xo_run_timeout 30 "$XO_PYTHON" "$XO_TESTS_DIR/xo_pty.py" "$XO_TMP/$1.screen" \
        --term vt100 24 80 mutt -n -F "$XO_TMP/muttrc-$1" -e 'push <quit>' \
        </dev/null >"$XO_TMP/$1.read.out" 2>&1
}

for mech in xoauth2 oauthbearer; do
    muttrc "$mech"
    xo_step "$mech: batch send (SMTP) with an Fcc to the IMAP server"
    imap0=$(logins "$mech" imap) smtp0=$(logins "$mech" submission)
    send "$mech" "mutt-$mech"
    xo_assert_rc 0 "$XO_TMP/mutt-$mech.out"
    xo_sink_wait "mutt-$mech" || xo_fail "not at the sink" "$XO_TMP/mutt-$mech.out"
    echo "   ok: at the sink"
    xo_dovecot_wait_count "$(login_re "$mech" submission)" $((smtp0 + 1)) "an SMTP $mech login in Dovecot's log"
    xo_dovecot_wait_count "$(login_re "$mech" imap)" $((imap0 + 1)) "an IMAP $mech login in Dovecot's log"
    xo_doveadm search -u "$USER" mailbox Sent header subject "mutt-$mech" >"$XO_TMP/found"
    [ -s "$XO_TMP/found" ] || xo_fail "the Fcc is not in Sent" "$XO_TMP/mutt-$mech.out"
    echo "   ok: Dovecot logged an SMTP and an IMAP $mech login; the Fcc is in Sent"

    xo_step "$mech: mutt on a terminal opens the IMAP INBOX"
    imap0=$(logins "$mech" imap)
    read_inbox "$mech"
    xo_assert_rc 0 "$XO_TMP/$mech.read.out"
    xo_assert_contains "$XO_TMP/$mech.screen" 'waiting in the inbox' "the INBOX's message is listed"
    xo_dovecot_wait_count "$(login_re "$mech" imap)" $((imap0 + 1)) "an IMAP $mech login in Dovecot's log"
done

xo_step "expired token file: the refresh command refreshes it first"
old=$(xo_token_field "$F" access_token)
xo_token_expire_file "$F" -60
send xoauth2 mutt-refreshed
xo_assert_rc 0 "$XO_TMP/mutt-refreshed.out"
xo_sink_wait mutt-refreshed || xo_fail "not at the sink" "$XO_TMP/mutt-refreshed.out"
xo_assert_token_renewed "$F" "$old" "the access token did not change" 1
echo "   ok: 1 refresh at the server (not one per login), message sent"

xo_step "revoked token: nothing is sent"
xo_revoke "$(xo_token_field "$F" access_token)"
n=$(xo_sink_count)
send xoauth2 mutt-revoked
xo_assert_rc nonzero "$XO_TMP/mutt-revoked.out"
xo_assert_faster_than 20 "$XO_TMP/mutt-revoked.out"
[ "$(xo_sink_count)" = "$n" ] || xo_fail "a message was sent with a revoked token"
echo "   ok: nothing reached the sink"

xo_pass
