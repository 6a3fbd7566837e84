#!/bin/bash
# IMAP through Cyrus imtest + our plugin against a private Dovecot whose
# oauth2 passdb asks the mock OAuth server: for XOAUTH2 and OAUTHBEARER a
# valid token logs in, a revoked one is refused (NO) within a few seconds.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack "$XO_IMTEST"

xo_start_mail_servers --no-sink

USER=alice@example.com

# imtest MECH TOKEN OUT [IMTEST-ARGS...]: one imtest session as $USER.
imtest() { xo_imtest 20 "$USER" "$@"; }

for mech in XOAUTH2 OAUTHBEARER; do
    xo_step "$mech: a valid token logs in"
    out=$XO_TMP/imtest-$mech-valid.out
    token=$(xo_grant "$USER")
    imtest "$mech" "$token" "$out"
    xo_assert_contains "$out" "^C: A01 AUTHENTICATE $mech " \
        "imtest used $mech (with SASL-IR)"
    xo_assert_contains "$out" '^S: A01 OK' "server said OK"
    xo_assert_contains "$out" '^Authenticated\.' "imtest: Authenticated."
    xo_assert_contains "$out" '^(S: )?A02 OK' "our A02 LOGOUT completed"
    xo_assert_rc 0 "$out"
    xo_dovecot_wait_login imap "$USER" "$mech"

    xo_step "$mech: a valid token logs in with an explicit authzid (-u)"
    out=$XO_TMP/imtest-$mech-authzid.out
    imtest "$mech" "$token" "$out" -u "$USER"
    xo_assert_contains "$out" '^Authenticated\.' "imtest: Authenticated."

    xo_step "$mech: a revoked token is refused within 10 s"
    out=$XO_TMP/imtest-$mech-revoked.out
    imtest "$mech" "$(xo_revoked_grant "$USER")" "$out"
    xo_assert_refused_cleanly "$out" "$mech" '^S: \+ ' '^S: A01 NO' \
        '^S: A01 BAD'
done

xo_pass
