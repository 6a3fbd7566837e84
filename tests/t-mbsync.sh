#!/bin/bash
# mbsync (isync) + our plugin: with AuthMechs XOAUTH2 or OAUTHBEARER and a
# PassCmd printing the access token, mbsync syncs the server's INBOX (a
# private Dovecot whose oauth2 passdb asks the mock OAuth server) into a
# local Maildir; with a revoked token it fails within a few seconds and
# syncs nothing.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_cmd mbsync dovecot "$XO_PYTHON"
xo_require_root
xo_require_plugin

xo_start_oauth
xo_start_dovecot

USER=erin@example.com
SUBJECT="xo-mbsync waiting in INBOX $RANDOM"
xo_message frank@example.com "$USER" "$SUBJECT" | xo_dovecot_save "$USER"

# mbsyncrc MECH DIR: write DIR/mbsyncrc syncing the server INBOX into
# DIR/Maildir; the token is read from DIR/token by PassCmd.
mbsyncrc() {
    local mech=$1 dir=$2
    mkdir -p "$dir/Maildir"
    cat >"$dir/mbsyncrc" <<EOF
IMAPAccount server
Host 127.0.0.1
Port $XO_IMAP_PORT
User $USER
PassCmd "cat $dir/token"
AuthMechs $mech
SSLType None
Timeout 15

IMAPStore server
Account server

MaildirStore local
Path $dir/Maildir/
Inbox $dir/Maildir/INBOX

Channel inbox
Far :server:
Near :local:
Patterns INBOX
Create Near
Sync Pull
SyncState *
EOF
}

for mech in XOAUTH2 OAUTHBEARER; do
    xo_step "$mech: mbsync with a valid token syncs INBOX"
    dir=$XO_TMP/mbsync-$mech-valid
    out=$dir.out
    mbsyncrc "$mech" "$dir"
    (umask 077; xo_grant "$USER" >"$dir/token")
    xo_run_timeout 30 mbsync -c "$dir/mbsyncrc" -a >"$out" 2>&1
    xo_assert_rc 0 "$out"
    xo_assert_not_contains "$out" 'Error|error' "no errors reported"
    grep -rlF "Subject: $SUBJECT" "$dir/Maildir/INBOX" >/dev/null \
        || xo_fail "the message did not arrive in the local Maildir" "$out"
    echo "   ok: '$SUBJECT' arrived in the local Maildir"
    xo_assert_contains "$XO_DOVECOT_LOG" \
        "imap-login: Info: Login: user=<$USER>, method=$mech" \
        "Dovecot logged the $mech login"

    xo_step "$mech: mbsync with a revoked token fails within 10 s"
    dir=$XO_TMP/mbsync-$mech-revoked
    out=$dir.out
    mbsyncrc "$mech" "$dir"
    (umask 077; xo_grant "$USER" >"$dir/token")
    xo_revoke "$(cat "$dir/token")"
    xo_run_timeout 30 mbsync -c "$dir/mbsyncrc" -a >"$out" 2>&1
    xo_assert_rc nonzero "$out"
    xo_assert_contains "$out" "AUTHENTICATE.* returned an error: NO" \
        "mbsync reports the server's NO"
    xo_assert_faster_than 10 "$out"
    ! grep -rqF "Subject: $SUBJECT" "$dir/Maildir" \
        || xo_fail "a message was synced without authentication" "$out"
    echo "   ok: nothing synced"
done

xo_pass
