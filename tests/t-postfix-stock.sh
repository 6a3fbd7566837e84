#!/bin/bash
# The README's postfix recipe from stock Debian: Debian's packaged
# master.cf, as installed (smtp, relay and most daemons chroot=y; only
# smtpd's port 25 is off here), and one command:
#
#   xoauth2-token postfix relay --relay [HOST]:PORT --apply
#
# (a private instance: --postfix-config DIR, i.e. postconf -c DIR).
#   1. the account was logged in as root (root's own store): the command
#      moves the file into postfix's store, QUEUE/xoauth2/, owned by
#      postfix, mode 0600 (no copy left behind), makes the chroot alias,
#      and prints the sasl_passwd line and main.cf settings -- without
#      --apply it changes nothing of postfix's;
#   2. --apply writes them (postconf -e, sasl_passwd) and they are exactly
#      what it printed;
#   3. postfix starts with the packaged master.cf and relays a message
#      through Dovecot submission with the token file: the chrooted smtp
#      reads the file by the very path sasl_passwd names;
#   4. the access token expires while postfix runs: the message is
#      deferred, never bounced; the packaged timer's command
#      (xoauth2-token-postfix.service: ExecStart as User= with its
#      Environment=, paths mapped to this instance) refreshes it once;
#      postqueue -f delivers;
#   5. undo (--remove): the map line and the token file are gone, and
#      main.cf is as before step 2 (postconf -n), the admin's own earlier
#      relayhost and smtp_tls_security_level restored.
#   6. chroot off: `login ACCOUNT --for postfix ... --apply` in one step
#      (device flow) into the same kind of store; an expiring token is
#      refreshed by the plugin itself, and the same sasl_passwd path works.
# Postfix is stopped at exit.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_relay_stack

USER=relay@example.com
UNIT=$XO_TOP_SRCDIR/contrib/systemd/xoauth2-token-postfix.service

xo_start_mail_servers
xo_oauth -q device-config --interval 1 --expires-in 60
xo_pf_init
RELAY="[127.0.0.1]:$XO_SUBMISSION_PORT"
STORE=$XO_PF_QUEUE/xoauth2
F=$STORE/relay.json

# main_cf_settings: what main.cf sets (postconf -n) but the line
# "config_directory = DIR" that postconf -c DIR adds of itself -- postfix
# 3.10 leaves it out while main.cf is under a second or so old, so
# whether it is there says nothing about the file.  main.cf must not set
# config_directory itself (checked).
main_cf_settings() {
    local n
    ! grep -Eq '^[[:space:]]*config_directory[[:space:]]*=' "$XO_PF_DIR/main.cf" ||
        { echo "main.cf sets config_directory"; return 1; }
    n=$(postconf -c "$XO_PF_DIR" -n) || { echo "postconf -c $XO_PF_DIR -n failed"; return 1; }
    grep -v '^config_directory = ' <<<"$n"
}

# postfix_cmd ARGS...: xoauth2-token postfix ARGS against this instance.
postfix_cmd() {
    xo_run_timeout 60 "$XO_HELPER" postfix "$@" --postfix-config "$XO_PF_DIR" \
        >"$XO_TMP/postfix-cmd.out" 2>&1
}

xo_step "1. stock master.cf; root logged in 'relay' earlier (its own store)"
xo_pf_configure "$USER" - packaged
for svc in smtp/unix relay/unix cleanup/unix; do
    [ "$(postconf -c "$XO_PF_DIR" -Fh "$svc/chroot")" = y ] \
        || xo_fail "the packaged master.cf should have $svc chroot=y" "$XO_PF_DIR/master.cf"
done
echo "   ok: the packaged master.cf runs smtp, relay and cleanup chroot=y"
export XDG_DATA_HOME=$XO_TMP/root-data
mkdir -p "$XDG_DATA_HOME/xoauth2"
chmod 700 "$XDG_DATA_HOME/xoauth2"
xo_tokfile "$XDG_DATA_HOME/xoauth2/relay.json" "$USER" 3600
# What an admin's main.cf may already say (Debian's own has the second):
# undoing must bring these back, not just delete ours.
postconf -c "$XO_PF_DIR" -e 'relayhost = [old-relay.example]:25' 'smtp_tls_security_level = may'
before_conf=$(main_cf_settings) || xo_fail "$before_conf" "$XO_PF_DIR/main.cf"

postfix_cmd relay --relay "$RELAY"
xo_assert_rc 0 "$XO_TMP/postfix-cmd.out"
cat "$XO_TMP/postfix-cmd.out" | sed 's/^/   | /'
[ ! -e "$XDG_DATA_HOME/xoauth2/relay.json" ] \
    || xo_fail "the token file was copied, not moved: a copy left behind stops working at the next refresh"
[ "$(stat -c '%a %U' "$F")" = "600 postfix" ] \
    || xo_fail "$F is $(stat -c '%a %U' "$F"), want 600 postfix"
[ "$(stat -c '%a %U' "$STORE")" = "700 postfix" ] \
    || xo_fail "$STORE is $(stat -c '%a %U' "$STORE"), want 700 postfix"
echo "   ok: moved into postfix's store: $(stat -c '%a %U' "$F") ${F#"$XO_TMP"/}"
grep -qxF "$(printf '%s\t%s:%s' "$RELAY" "$USER" "$F")" "$XO_TMP/postfix-cmd.out" \
    || xo_fail "the command did not print the sasl_passwd line" "$XO_TMP/postfix-cmd.out"
xo_assert_contains "$XO_TMP/postfix-cmd.out" "^smtp_sasl_mechanism_filter = xoauth2\$"
xo_assert_contains "$XO_TMP/postfix-cmd.out" "^smtp_sasl_password_maps = texthash:$XO_PF_DIR/sasl_passwd\$"
xo_assert_contains "$XO_TMP/postfix-cmd.out" "xoauth2-token-postfix.timer|cron"
[ "$(main_cf_settings)" = "$before_conf" ] && [ ! -e "$XO_PF_DIR/sasl_passwd" ] \
    || xo_fail "without --apply, postfix's configuration changed"
echo "   ok: without --apply, main.cf and sasl_passwd are untouched"
alias_link=$XO_PF_QUEUE/${XO_PF_QUEUE#/}
[ -L "$alias_link" ] && [ "$(readlink "$alias_link")" != "${alias_link#/}" ] \
    && [ "$(readlink -f "$alias_link")" = "$(readlink -f "$XO_PF_QUEUE")" ] \
    || xo_fail "no chroot alias $alias_link -> QUEUE"
case $(readlink "$alias_link") in /*) xo_fail "the chroot alias is absolute" ;; esac
echo "   ok: chroot alias ${alias_link#"$XO_TMP"/} -> $(readlink "$alias_link") (relative)"

xo_step "2. --apply: postconf -e and sasl_passwd, as printed"
postfix_cmd relay --relay "$RELAY" --apply
xo_assert_rc 0 "$XO_TMP/postfix-cmd.out"
sed 's/^/   | /' "$XO_TMP/postfix-cmd.out"
grep -E '^[a-z_]+ = ' "$XO_TMP/postfix-cmd.out" | sort -u >"$XO_TMP/printed"
while IFS= read -r line; do
    k=${line%% = *} v=${line#* = }
    [ "$(postconf -c "$XO_PF_DIR" -h "$k")" = "$v" ] \
        || xo_fail "main.cf: $k is '$(postconf -c "$XO_PF_DIR" -h "$k")', the command printed '$v'"
done <"$XO_TMP/printed"
[ -s "$XO_TMP/printed" ] || xo_fail "no main.cf settings were printed" "$XO_TMP/postfix-cmd.out"
echo "   ok: main.cf has the $(wc -l <"$XO_TMP/printed") settings it printed"
[ "$(cat "$XO_PF_DIR/sasl_passwd")" = "$(printf '%s\t%s:%s' "$RELAY" "$USER" "$F")" ] \
    || xo_fail "sasl_passwd is not the one line printed" "$XO_PF_DIR/sasl_passwd"
echo "   ok: sasl_passwd holds the one line printed"
postfix_cmd relay --relay "$RELAY" --apply
xo_assert_rc 0 "$XO_TMP/postfix-cmd.out"
[ "$(wc -l <"$XO_PF_DIR/sasl_passwd")" = 1 ] || xo_fail "a second --apply added a second line" "$XO_PF_DIR/sasl_passwd"
echo "   ok: --apply again changes nothing (one line)"

xo_step "3. postfix with the packaged master.cf relays through the chrooted smtp"
xo_pf_start
before=$(xo_oauth_refreshes)
subject="xo-stock valid $RANDOM"
xo_pf_send "$subject"
xo_pf_wait_sink "$subject"
xo_pf_queue_id
xo_pf_wait_log "$XO_PF_QID: to=<$XO_PF_RCPT>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$XO_SUBMISSION_PORT.* status=sent"
echo "   ok: status=sent"
xo_dovecot_wait_log "$(xo_dovecot_login_re submission "$USER" XOAUTH2)" \
    "Dovecot logged an XOAUTH2 submission login for $USER"

xo_step "4. the token expires while postfix runs; the packaged timer's command renews it"
old_rt=$(xo_token_field "$F" refresh_token)
xo_revoke "$(xo_token_field "$F" access_token)"
xo_token_expire_file "$F" -60
subject="xo-stock expired $RANDOM"
xo_pf_send "$subject"
xo_pf_queue_id; id=$XO_PF_QID
xo_pf_wait_log "$id: .*status=deferred"
xo_assert_not_contains "$XO_PF_LOG" "$id: .*status=bounced" "nothing bounced"
echo "   ok: deferred, not bounced: $(grep -o "$id: .*status=deferred.*" "$XO_PF_LOG" | head -1 | cut -c1-150)"
# The unit's command, as the unit runs it: User=, Environment=, ExecStart=
# (with this instance's queue directory and the built helper).
unit_user=$(sed -n 's/^User=//p' "$UNIT")
unit_env=$(sed -n 's/^Environment=//p' "$UNIT" | sed "s,/var/spool/postfix,$XO_PF_QUEUE,g")
read -ra unit_exec <<<"$(sed -n 's/^ExecStart=//p' "$UNIT")"
[ "$unit_user" = postfix ] && [ -n "$unit_env" ] && [ "${unit_exec[0]:-}" = /usr/bin/xoauth2-token ] \
    || xo_fail "cannot read User=, Environment= and ExecStart= of $UNIT"
grep -q "^ConditionPathIsDirectory=/var/spool/postfix/xoauth2\$" "$UNIT" \
    || xo_fail "$UNIT does not wait for the postfix store"
echo "   timer's command: runuser -u $unit_user -- env -i $unit_env xoauth2-token ${unit_exec[*]:1}"
unit_exec[0]=$XO_HELPER
# shellcheck disable=SC2086
xo_run_timeout 60 runuser -u "$unit_user" -- env -i PATH=/usr/bin:/bin $unit_env "${unit_exec[@]}" \
    >"$XO_TMP/timer.out" 2>&1
xo_assert_rc 0 "$XO_TMP/timer.out"
[ "$(( $(xo_oauth_refreshes) - before ))" = 1 ] \
    || xo_fail "the timer's command made $(( $(xo_oauth_refreshes) - before )) refreshes, want 1" "$XO_TMP/timer.out"
[ "$(xo_token_field "$F" refresh_token)" != "$old_rt" ] || xo_fail "the rotated refresh token was not stored"
[ "$(stat -c '%a %U' "$F")" = "600 postfix" ] || xo_fail "the refresh changed $F to $(stat -c '%a %U' "$F")"
echo "   ok: one refresh, rotated refresh token stored, file still 600 postfix"
xo_pf_flush
xo_pf_wait_sink "$subject" 30
xo_pf_wait_log "$id: to=<$XO_PF_RCPT>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:$XO_SUBMISSION_PORT.* status=sent"

xo_step "5. undo: --remove"
postfix_cmd relay --remove
xo_assert_rc 0 "$XO_TMP/postfix-cmd.out"
sed 's/^/   | /' "$XO_TMP/postfix-cmd.out"
[ ! -e "$F" ] || xo_fail "the token file is still there"
[ ! -s "$XO_PF_DIR/sasl_passwd" ] || xo_fail "sasl_passwd still has lines" "$XO_PF_DIR/sasl_passwd"
after_conf=$(main_cf_settings) || xo_fail "$after_conf" "$XO_PF_DIR/main.cf"
[ "$after_conf" = "$before_conf" ] || {
    diff <(echo "$before_conf") <(echo "$after_conf") >"$XO_TMP/conf.diff" || true
    xo_fail "postconf -n differs from before --apply" "$XO_TMP/conf.diff"
}
echo "   ok: the token file and the map line are gone; postconf -n is as before"
xo_pf_stop

xo_step "6. chroot off: login --for postfix --apply, one step; the plugin refreshes"
rm -rf "$XO_PF_DIR" "$XO_PF_QUEUE" "$XO_PF_DATA"
xo_pf_init
xo_pf_configure "$USER" - n
xo_device_login "$USER" 30 \
    "$XO_HELPER" login relay --for postfix --postfix-config "$XO_PF_DIR" --relay "$RELAY" --apply \
    --provider custom --client-id xoauth2-test --flow device \
    --device-endpoint "$XO_OAUTH_URL/devicecode" --token-endpoint "$XO_OAUTH_URL/token" \
    --scope "https://outlook.office.com/SMTP.Send offline_access" --user "$USER" \
    >"$XO_TMP/login.out" 2>&1
xo_assert_rc 0 "$XO_TMP/login.out"
sed 's/^/   | /' "$XO_TMP/login.out"
[ "$(stat -c '%a %U' "$F")" = "600 postfix" ] || xo_fail "$F is $(stat -c '%a %U' "$F"), want 600 postfix"
grep -q "$USER:$F\$" "$XO_PF_DIR/sasl_passwd" || xo_fail "sasl_passwd lacks the line" "$XO_PF_DIR/sasl_passwd"
echo "   ok: one command: token file 600 postfix in the store, sasl_passwd and main.cf set"
xo_pf_start
before=$(xo_oauth_refreshes)
xo_token_expire_file "$F" -60
subject="xo-stock nochroot $RANDOM"
xo_pf_send "$subject"
xo_pf_wait_sink "$subject" 30
[ "$(( $(xo_oauth_refreshes) - before ))" = 1 ] || xo_fail "want exactly one plugin-driven refresh" "$XO_PF_LOG"
echo "   ok: the plugin refreshed the expired token itself (chroot=n) and the message went out"

xo_step "the maillog holds no token; nothing bounced"
for f in "$F"; do
    tok=$(xo_token_field "$f" access_token)
    [ -z "$tok" ] || xo_assert_not_contains "$XO_PF_LOG" "$tok" "no access token in the maillog"
done
xo_assert_not_contains "$XO_PF_LOG" "status=bounced" "nothing bounced"
xo_assert_not_contains "$XO_PF_LOG" "fatal:" "no fatal error"
xo_pass
