#!/bin/bash
# The README's msmtp recipe: msmtp's own (GNU SASL built-in) XOAUTH2 and
# OAUTHBEARER with `passwordeval "xoauth2-token token FILE"`, sending
# through the private Dovecot's submission service to the SMTP sink:
#   - a valid token file: the message reaches the sink, for both mechanisms;
#   - an expired token file: `xoauth2-token token` refreshes it first (one
#     refresh at the server, a new access token in the file), then sends;
#   - a revoked token: msmtp fails (non-zero, within 15 s), nothing sent.
# msmtp does not load libsasl2 or our plugin: this proves the helper side
# of the recipe (passwordeval's output is the bearer token msmtp sends).
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_cmd msmtp dovecot "$XO_PYTHON"
xo_require_root
xo_require_helper
USER=alice@example.com RCPT=bob@example.org

xo_start_mail_servers
msmtp --version | grep -q 'oauthbearer and xoauth2' \
    || xo_skip "this msmtp has no built-in xoauth2/oauthbearer"

F=$XO_TMP/alice.json
# msmtprc MECH: write $XO_TMP/msmtprc-MECH, the README recipe on loopback.
msmtprc() {
    cat >"$XO_TMP/msmtprc-$1" <<EOC
defaults
logfile $XO_TMP/msmtp.log

account work
host 127.0.0.1
port $XO_SUBMISSION_PORT
tls off
auth $1
user $USER
from $USER
passwordeval "$(xo_shq "$XO_HELPER" token "$F")"

account default : work
EOC
    chmod 600 "$XO_TMP/msmtprc-$1"
}

# send MECH SUBJECT: msmtp -t with a small message; output in SUBJECT.out.
send() {
    xo_message "$USER" "$RCPT" "$2" >"$XO_TMP/$2.msg"
    xo_run_timeout 20 msmtp -C "$XO_TMP/msmtprc-$1" -a work -t \
        <"$XO_TMP/$2.msg" >"$XO_TMP/$2.out" 2>&1
}


xo_tokfile "$F" "$USER" 3600
for mech in xoauth2 oauthbearer; do
    msmtprc "$mech"
    xo_step "auth $mech, passwordeval xoauth2-token token: the message is sent"
    send "$mech" "msmtp-$mech"
    xo_assert_rc 0 "$XO_TMP/msmtp-$mech.out"
    xo_sink_wait "msmtp-$mech" || xo_fail "not at the sink" "$XO_TMP/msmtp-$mech.out" "$XO_TMP/msmtp.log"
    echo "   ok: at the sink"
    xo_dovecot_wait_login submission "$USER" "${mech^^}"
done

xo_step "expired token file: xoauth2-token token refreshes it, then msmtp sends"
old=$(xo_token_field "$F" access_token)
xo_token_expire_file "$F" -60
send xoauth2 msmtp-refreshed
xo_assert_rc 0 "$XO_TMP/msmtp-refreshed.out"
xo_sink_wait msmtp-refreshed || xo_fail "not at the sink" "$XO_TMP/msmtp-refreshed.out" "$XO_TMP/msmtp.log"
xo_assert_token_renewed "$F" "$old" "the access token did not change" 1
echo "   ok: 1 refresh at the server, new access token in the file, message sent"

xo_step "revoked token: msmtp fails, nothing sent"
xo_revoke "$(xo_token_field "$F" access_token)"
n=$(xo_sink_count)
send xoauth2 msmtp-revoked
xo_assert_rc nonzero "$XO_TMP/msmtp-revoked.out"
xo_assert_faster_than 15 "$XO_TMP/msmtp-revoked.out"
xo_assert_contains "$XO_TMP/msmtp-revoked.out" 'authentication failed|535' "msmtp reports the refusal"
[ "$(xo_sink_count)" = "$n" ] || xo_fail "a message was sent with a revoked token"
grep -qF "$(xo_token_field "$F" access_token)" "$XO_TMP"/msmtp*.out "$XO_TMP/msmtp.log" \
    && xo_fail "a token appears in msmtp's output or log"
echo "   ok: no token in msmtp's output or log"

xo_pass
