#!/bin/bash
# mbsync (isync) + our plugin: with AuthMechs XOAUTH2 or OAUTHBEARER and a
# PassCmd printing the access token, mbsync syncs the server's INBOX (a
# private Dovecot whose oauth2 passdb asks the mock OAuth server) into a
# local Maildir; with a revoked token it fails within a few seconds and
# syncs nothing.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack mbsync

xo_start_mail_servers --no-sink

USER=erin@example.com
SUBJECT="xo-mbsync waiting in INBOX $RANDOM"
xo_message frank@example.com "$USER" "$SUBJECT" | xo_dovecot_save "$USER"

# Each run: DIR/mbsyncrc (lib.sh's xo_mbsync_config) pulls the server INBOX
# into DIR/Maildir; PassCmd reads the token from DIR/token.
for mech in XOAUTH2 OAUTHBEARER; do
    xo_step "$mech: mbsync with a valid token syncs INBOX"
    dir=$XO_TMP/mbsync-$mech-valid
    out=$dir.out
    xo_mbsync_config "$dir" "$USER" "$mech" "PassCmd \"cat $dir/token\""
    (umask 077; xo_grant "$USER" >"$dir/token")
    xo_run_mbsync "$dir"
    xo_assert_rc 0 "$out"
    xo_assert_not_contains "$out" 'Error|error' "no errors reported"
    xo_assert_not_contains "$out" 'deprecated|not recognized' \
        "isync $XO_MBSYNC_VERSION takes the configuration as written (TLSType/SSLType)"
    xo_assert_synced "$dir" "$SUBJECT"
    xo_dovecot_wait_login imap "$USER" "$mech"

    xo_step "$mech: mbsync with a revoked token fails within 10 s"
    dir=$XO_TMP/mbsync-$mech-revoked
    out=$dir.out
    xo_mbsync_config "$dir" "$USER" "$mech" "PassCmd \"cat $dir/token\""
    (umask 077; xo_grant "$USER" >"$dir/token")
    xo_revoke "$(cat "$dir/token")"
    xo_run_mbsync "$dir"
    xo_assert_rc nonzero "$out"
    xo_assert_contains "$out" "$(xo_mbsync_refused_re)" \
        "mbsync reports the server's NO [AUTHENTICATIONFAILED]"
    xo_assert_faster_than 10 "$out"
    xo_assert_not_synced "$dir" "$SUBJECT"
done

xo_pass
