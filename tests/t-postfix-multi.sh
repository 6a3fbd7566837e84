#!/bin/bash
# Several relay accounts through one postfix (the README's "several
# accounts" recipe): per-sender relay and credentials, each account with
# its own token file, set up with
#
#   xoauth2-token postfix ACCOUNT --relay [HOST]:PORT --sender ADDRESS --apply
#
# (smtp_sender_dependent_authentication + sender_dependent_relayhost_maps).  Two
# relays, two private Dovecot submission services (one standing for
# Microsoft 365, one for Gmail), one postfix whose smtp is not chrooted, so
# the plugin itself runs the helper when a token is due (t-postfix-stock
# covers the packaged, chrooted master.cf):
#   1. mail from each sender goes out through its own relay, logged in as
#      its own account (each relay's Dovecot logs only its user);
#   2. one account's grant dies (its access token expired and revoked, its
#      refresh token revoked): the plugin's refresh is refused, its mail is
#      deferred (never bounced) with a reason that says to log in again,
#      and the other account's mail still goes out at once;
#   3. removing one account (--remove) leaves the other working
#      and the SASL settings in place.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_relay_stack

MS_USER=alice@contoso.example
GM_USER=bob@gmail.example

xo_start_oauth
xo_start_smtp_sink
XO_DOVECOT_NAME=dovecot-ms xo_start_dovecot
MS_PORT=$XO_SUBMISSION_PORT MS_LOG=$XO_DOVECOT_LOG
XO_DOVECOT_NAME=dovecot-gm xo_start_dovecot
GM_PORT=$XO_SUBMISSION_PORT GM_LOG=$XO_DOVECOT_LOG
echo "   relays: 'Microsoft' 127.0.0.1:$MS_PORT, 'Gmail' 127.0.0.1:$GM_PORT"

xo_pf_init
xo_pf_configure "$MS_USER" - n
STORE=$XO_PF_QUEUE/xoauth2
export XDG_DATA_HOME=$XO_TMP/root-data
mkdir -p "$XDG_DATA_HOME/xoauth2"
chmod 700 "$XDG_DATA_HOME/xoauth2"
xo_tokfile "$XDG_DATA_HOME/xoauth2/work.json" "$MS_USER" 3600 provider=microsoft
xo_tokfile "$XDG_DATA_HOME/xoauth2/gmail.json" "$GM_USER" 3600 provider=google

postfix_cmd() {
    xo_run_timeout 60 "$XO_HELPER" postfix "$@" --postfix-config "$XO_PF_DIR" \
        >"$XO_TMP/postfix-cmd.out" 2>&1
    xo_assert_rc 0 "$XO_TMP/postfix-cmd.out"
    sed 's/^/   | /' "$XO_TMP/postfix-cmd.out"
}

xo_step "set up both accounts, one per sender"
postfix_cmd work --relay "[127.0.0.1]:$MS_PORT" --sender "$MS_USER" --apply
postfix_cmd gmail --relay "[127.0.0.1]:$GM_PORT" --sender "$GM_USER" --apply
[ "$(postconf -c "$XO_PF_DIR" -h smtp_sender_dependent_authentication)" = yes ] \
    || xo_fail "smtp_sender_dependent_authentication is not yes"
[ -z "$(postconf -c "$XO_PF_DIR" -h relayhost)" ] || xo_fail "a per-sender setup set relayhost"
[ "$(grep -c . "$XO_PF_DIR/sasl_passwd")" = 2 ] && [ "$(grep -c . "$XO_PF_DIR/sender_relay")" = 2 ] \
    || xo_fail "want two lines in sasl_passwd and sender_relay" "$XO_PF_DIR/sasl_passwd" "$XO_PF_DIR/sender_relay"
echo "   ok: two password lines, two relay lines, smtp_sender_dependent_authentication = yes"
xo_pf_start

# send FROM SUBJECT
send() {
    XO_PF_USER=$1
    xo_pf_send "$2"
    xo_pf_queue_id
}
# login_re USER: an XOAUTH2 submission login of USER in a relay's log;
# logins LOG USER: how many are in LOG.
login_re() {
    xo_dovecot_login_re submission "$1" XOAUTH2
}
logins() {
    xo_count "$1" "$(login_re "$2")"
}

xo_step "1. each sender's mail goes out through its own relay, as its own account"
send "$MS_USER" "xo-multi ms $RANDOM"; ms_subj=$(sed -n 's/^Subject: //p' "$XO_TMP/msg"); ms_id=$XO_PF_QID
send "$GM_USER" "xo-multi gm $RANDOM"; gm_subj=$(sed -n 's/^Subject: //p' "$XO_TMP/msg"); gm_id=$XO_PF_QID
xo_pf_wait_sink "$ms_subj"
xo_pf_wait_sink "$gm_subj"
xo_pf_wait_log "$ms_id: to=<$XO_PF_RCPT>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$MS_PORT.* status=sent"
xo_pf_wait_log "$gm_id: to=<$XO_PF_RCPT>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$GM_PORT.* status=sent"
# (Dovecot writes its log asynchronously: wait for the login lines.)
XO_DOVECOT_LOG=$MS_LOG xo_dovecot_wait_count "$(login_re "$MS_USER")" 1 \
    "the 'Microsoft' relay logged $MS_USER's login"
XO_DOVECOT_LOG=$GM_LOG xo_dovecot_wait_count "$(login_re "$GM_USER")" 1 \
    "the 'Gmail' relay logged $GM_USER's login"
[ "$(logins "$MS_LOG" "$MS_USER")" -ge 1 ] && [ "$(logins "$MS_LOG" "$GM_USER")" = 0 ] \
    || xo_fail "the 'Microsoft' relay did not see exactly $MS_USER" "$MS_LOG"
[ "$(logins "$GM_LOG" "$GM_USER")" -ge 1 ] && [ "$(logins "$GM_LOG" "$MS_USER")" = 0 ] \
    || xo_fail "the 'Gmail' relay did not see exactly $GM_USER" "$GM_LOG"
echo "   ok: $MS_USER via :$MS_PORT, $GM_USER via :$GM_PORT, each with its own token"

xo_step "2. the 'Microsoft' grant dies: its mail waits, Gmail's does not"
W=$STORE/work.json
xo_revoke "$(xo_token_field "$W" access_token)"
xo_revoke "$(xo_token_field "$W" refresh_token)"
xo_token_expire_file "$W" -60
t0=$EPOCHREALTIME
send "$MS_USER" "xo-multi ms-dead $RANDOM"; dead_id=$XO_PF_QID
send "$GM_USER" "xo-multi gm-after $RANDOM"; gm2_subj=$(sed -n 's/^Subject: //p' "$XO_TMP/msg")
xo_pf_wait_sink "$gm2_subj" 15
secs=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
xo_pf_wait_log "$dead_id: .*status=deferred"
xo_assert_contains "$XO_PF_LOG" "warning: SASL authentication failure: .*work\.json.*invalid_grant.*login" \
    "the maillog says the grant is gone and to log in again"
xo_assert_not_contains "$XO_PF_LOG" "$dead_id: .*status=bounced" "the dead account's mail is not bounced"
echo "   ok: Gmail's message went out ${secs} s after both were sent; the other is deferred: $(grep -o "$dead_id: .*status=deferred.*" "$XO_PF_LOG" | head -1 | cut -c1-160)"

xo_step "3. remove the 'Microsoft' account; Gmail keeps working"
postfix_cmd work --remove
[ ! -e "$W" ] || xo_fail "work.json is still there"
[ "$(grep -c . "$XO_PF_DIR/sasl_passwd")" = 1 ] && grep -q "^$GM_USER" "$XO_PF_DIR/sasl_passwd" \
    || xo_fail "sasl_passwd should keep only Gmail's line" "$XO_PF_DIR/sasl_passwd"
[ "$(grep -c . "$XO_PF_DIR/sender_relay")" = 1 ] || xo_fail "sender_relay should keep one line" "$XO_PF_DIR/sender_relay"
[ "$(postconf -c "$XO_PF_DIR" -h smtp_sasl_auth_enable)" = yes ] || xo_fail "SASL was turned off with an account left"
send "$GM_USER" "xo-multi gm-last $RANDOM"; gm3_subj=$(sed -n 's/^Subject: //p' "$XO_TMP/msg")
xo_pf_wait_sink "$gm3_subj" 20
echo "   ok: one account left, still relayed"
xo_assert_not_contains "$XO_PF_LOG" "status=bounced" "nothing bounced"
xo_pass
