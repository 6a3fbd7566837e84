#!/bin/bash
# mbsync (isync) with a token file whose access token has expired (in the
# file and at the OAuth server), two ways:
#   - PassCmd "xoauth2-token token FILE": the helper refreshes and prints
#     the new token, which mbsync hands to the plugin as the password;
#   - Pass FILE: the password is the token file path itself, so the plugin
#     runs the helper (xoauth2-token refresh) and reads the new token.
# Either way INBOX syncs, the mock server sees exactly one refresh, and the
# rotated refresh token is stored.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack mbsync
xo_require_helper

xo_start_mail_servers --no-sink

USER=grace@example.com
SUBJECT="xo-mbsync-passcmd waiting in INBOX $RANDOM"
xo_message heidi@example.com "$USER" "$SUBJECT" | xo_dovecot_save "$USER"

mkdir -m 700 "$XO_TMP/tokens"
F=$XO_TMP/tokens/grace.json

# expired_everywhere: the file says its access token has expired, and the
# server agrees (so only a refreshed token can log in).
expired_everywhere() {
    xo_token_expire_file "$F" -60
    xo_oauth -q expire "$(xo_token_field "$F" access_token)" \
        || xo_fail "expire at the server failed"
}

# sync_case NAME MECH PASSLINE: run mbsync, check the sync, one refresh,
# the rotated refresh token stored, and a $MECH login logged by Dovecot.
sync_case() {
    local mech=$2 passline=$3 dir=$XO_TMP/$1 out=$XO_TMP/$1.out
    local before after old_at old_rt logins
    xo_mbsync_config "$dir" "$USER" "$mech" "$passline"
    old_at=$(xo_token_field "$F" access_token)
    old_rt=$(xo_token_field "$F" refresh_token)
    before=$(xo_oauth_refreshes)
    logins=$(xo_count "$XO_DOVECOT_LOG" "$(xo_dovecot_login_re imap "$USER" "$mech")")
    xo_run_mbsync "$dir"
    xo_assert_rc 0 "$out"
    xo_assert_not_contains "$out" 'Error|error' "no errors reported"
    xo_assert_synced "$dir" "$SUBJECT"
    after=$(xo_oauth_refreshes)
    [ $((after - before)) = 1 ] \
        || xo_fail "the server saw $((after - before)) refreshes, want exactly 1" "$out"
    echo "   ok: the server saw exactly 1 refresh"
    [ "$(xo_token_field "$F" access_token)" != "$old_at" ] \
        || xo_fail "the access token in the file was not replaced"
    [ "$(xo_token_field "$F" refresh_token)" != "$old_rt" ] \
        || xo_fail "the rotated refresh token was not stored"
    echo "   ok: the file holds the new access token and the rotated refresh token"
    xo_dovecot_wait_count "$(xo_dovecot_login_re imap "$USER" "$mech")" \
        $((logins + 1)) "Dovecot logged the $mech login"
    xo_assert_not_contains "$out" 'xoat\.|xort\.' "mbsync printed no token"
}

xo_step "PassCmd \"xoauth2-token token FILE\" on an expired token file"
xo_tokfile "$F" "$USER" -60
xo_oauth -q expire "$(xo_token_field "$F" access_token)" || xo_fail "expire at the server failed"
sync_case passcmd XOAUTH2 "PassCmd \"$(xo_shq "$XO_HELPER" token "$F")\""

for mech in XOAUTH2 OAUTHBEARER; do
    xo_step "$mech: Pass FILE (the token file path as the password) on an expired token file"
    expired_everywhere
    sync_case "pass-$mech" "$mech" "Pass $F"
done

xo_step "Pass FILE with a valid token: no refresh"
before=$(xo_oauth_refreshes)
dir=$XO_TMP/pass-valid
xo_mbsync_config "$dir" "$USER" XOAUTH2 "Pass $F"
xo_run_mbsync "$dir"
xo_assert_rc 0 "$dir.out"
xo_assert_synced "$dir" "$SUBJECT"
xo_assert_refreshes "$before" "a valid token was refreshed"
echo "   ok: synced without a refresh"

xo_step "Pass FILE after the server revoked the grant: mbsync fails, names the fix, within 10 s"
expired_everywhere
xo_revoke "$(xo_token_field "$F" refresh_token)"
cp -p "$F" "$XO_TMP/before-revoked"
dir=$XO_TMP/pass-revoked
xo_mbsync_config "$dir" "$USER" XOAUTH2 "Pass $F"
xo_run_mbsync "$dir"
xo_assert_rc nonzero "$dir.out"
xo_assert_faster_than 10 "$dir.out"
xo_assert_contains "$dir.out" "refreshing it failed: .*invalid_grant.*run: xoauth2-token login $F" \
    "mbsync shows the plugin's message naming xoauth2-token login"
xo_same_tokens "$F" "$XO_TMP/before-revoked" \
    || xo_fail "the token file changed after a failed refresh (beyond its health record)"
echo "   ok: the tokens in the file are unchanged"
xo_assert_not_synced "$dir" "$SUBJECT"

xo_pass
