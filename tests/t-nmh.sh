#!/bin/bash
# nmh (post, inc) + our plugin, doc/recipes/nmh.md as written: an MH
# profile in a private HOME whose netrc gives a token file as the password;
# post sends through the private Dovecot's submission service to the SMTP
# sink, inc fetches over POP3, both through libsasl2 and the plugin:
#   - OAUTHBEARER (-saslmech OAUTHBEARER) and XOAUTH2 (no -saslmech:
#     libsasl2 picks, from the mechanisms on SASL_PATH (ours only), the
#     first the server offers, which is XOAUTH2; nmh's own "-saslmech
#     XOAUTH2" is its built-in OAuth code, which never loads a Cyrus
#     plugin): post's message reaches the sink, inc brings the waiting
#     message in, and Dovecot logs the login with that mechanism;
#   - nmh accepts the mechanism's end (before the plugin said SASL_OK
#     after its message, nmh aborted: "Improper SASL protocol response:
#     235", POP "Invalid format for SASL response");
#   - a revoked token: post and inc fail within 10 s, nothing sent or
#     fetched, no token in their output;
#   - SASL_PATH without our plugin: nmh cannot authenticate at all.
set -eu
. "$(dirname "$0")/lib.sh"

# Debian's nmh: the user's commands in /usr/bin/mh, post in /usr/lib/mh
# (Debian 12; found through the package's file list if it moves).
INC=/usr/bin/mh/inc POST=/usr/lib/mh/post
[ -x "$POST" ] || POST=$(dpkg -L nmh 2>/dev/null | grep -m1 '/post$') \
    || POST=/usr/lib/mh/post
xo_require_mail_stack "$POST" "$INC"
xo_require_helper
ldd "$POST" | grep -q 'libsasl2\.so' \
    || xo_skip "this nmh's post is not linked with libsasl2"
POST=$(xo_asan_wrap "$POST") INC=$(xo_asan_wrap "$INC")

xo_start_mail_servers

USER=dora@example.com RCPT=bob@example.org
H=$XO_TMP/nmh-home
F=$H/dora.json
mkdir -p "$H/Mail/inbox"
chmod 700 "$H"
# The recipe: the profile, netrc naming the token file as the password.
cat >"$H/.mh_profile" <<EOF
Path: Mail
credentials: file:$H/.netrc
Welcome: disable
EOF
printf 'machine 127.0.0.1 login %s password %s\n' "$USER" "$F" >"$H/.netrc"
chmod 600 "$H/.netrc"
xo_tokfile "$F" "$USER" 3600
export HOME=$H MH=$H/.mh_profile

# post_draft SUBJECT: write SUBJECT's draft to $H/SUBJECT.draft (post
# adds Date: and Message-ID: itself, and refuses a draft that has them).
post_draft() {
    printf 'From: %s\nTo: %s\nSubject: %s\n\nHello from %s.\n' \
        "$USER" "$RCPT" "$1" "$XO_TEST_NAME" >"$H/$1.draft"
}

# run_post OUT SUBJECT [SWITCH...]: post SUBJECT's draft through the
# submission service with SWITCH... (the SASL ones); output in OUT.
run_post() {
    local out=$1 subject=$2
    shift 2
    post_draft "$subject"
    xo_run_timeout 20 "$POST" -mts smtp -server 127.0.0.1 \
        -port "$XO_SUBMISSION_PORT" \
        -notls -sasl -user "$USER" "$@" "$H/$subject.draft" \
        </dev/null >"$out" 2>&1
}

# run_inc OUT [SWITCH...]: inc from the POP3 service into +inbox.
run_inc() {
    local out=$1
    shift
    xo_run_timeout 20 "$INC" -host 127.0.0.1 -port "$XO_POP3_PORT" -notls \
        -sasl -user "$USER" "$@" -silent +inbox </dev/null >"$out" 2>&1
}

# in_inbox SUBJECT: 0 if a message with SUBJECT is in +inbox.
in_inbox() {
    grep -lqs "^Subject: $1\$" "$H"/Mail/inbox/[0-9]*
}

for mech in OAUTHBEARER XOAUTH2; do
    if [ "$mech" = OAUTHBEARER ]; then
        sw=(-saslmech OAUTHBEARER)
    else
        sw=()
    fi
    xo_step "$mech: post sends through submission"
    out=$XO_TMP/post-$mech.out
    run_post "$out" "nmh-post-$mech" "${sw[@]}"
    xo_assert_rc 0 "$out"
    xo_assert_not_contains "$out" 'Improper SASL|Invalid format' \
        "nmh accepted the mechanism's end"
    xo_sink_wait "nmh-post-$mech" || xo_fail "not at the sink" "$out"
    echo "   ok: at the sink"
    xo_dovecot_wait_login submission "$USER" "$mech"

    xo_step "$mech: inc fetches over POP3"
    out=$XO_TMP/inc-$mech.out
    xo_message carol@example.com "$USER" "nmh-inc-$mech" \
        | xo_dovecot_save "$USER"
    run_inc "$out" "${sw[@]}"
    xo_assert_rc 0 "$out"
    xo_assert_not_contains "$out" 'Improper SASL|Invalid format' \
        "nmh accepted the mechanism's end"
    in_inbox "nmh-inc-$mech" || xo_fail "not in +inbox" "$out"
    echo "   ok: in +inbox"
    xo_dovecot_wait_login pop3 "$USER" "$mech"
done

# The refusals: a token file whose access token the server has revoked
# (still valid by its expiry time, so the plugin sends it; the server's
# error challenge follows, which nmh does not pass to the mechanism: it
# hangs up).  A fresh file for each, so that each run is the same.
for prog in post inc; do
    xo_step "OAUTHBEARER: $prog with a revoked token fails within 10 s"
    out=$XO_TMP/$prog-revoked.out
    xo_tokfile "$F" "$USER" 3600
    xo_revoke "$(xo_token_field "$F" access_token)"
    n=$(xo_sink_count)
    if [ "$prog" = post ]; then
        run_post "$out" nmh-post-revoked -saslmech OAUTHBEARER
    else
        xo_message carol@example.com "$USER" nmh-inc-revoked \
            | xo_dovecot_save "$USER"
        run_inc "$out" -saslmech OAUTHBEARER
    fi
    xo_assert_rc nonzero "$out"
    xo_assert_faster_than 10 "$out"
    xo_assert_contains "$out" 'Authentication failed' "$prog reports the refusal"
    [ "$(xo_sink_count)" = "$n" ] || xo_fail "a message was sent" "$out"
    ! in_inbox nmh-inc-revoked || xo_fail "a message was fetched" "$out"
    xo_assert_not_contains "$out" "$(xo_token_field "$F" access_token)" \
        "no token in $prog's output"
    echo "   ok: nothing sent or fetched"
done

# Swapped out: the same profile with SASL_PATH naming a directory without
# our plugin; nmh must not get in (the test proves the plugin, not nmh).
xo_tokfile "$F" "$USER" 3600
mkdir -p "$XO_TMP/no-plugin"
for prog in post inc; do
    xo_step "$prog without our plugin (SASL_PATH elsewhere) cannot log in"
    out=$XO_TMP/$prog-no-plugin.out
    n=$(xo_sink_count)
    if [ "$prog" = post ]; then
        SASL_PATH=$XO_TMP/no-plugin run_post "$out" nmh-post-no-plugin \
            -saslmech OAUTHBEARER
    else
        SASL_PATH=$XO_TMP/no-plugin run_inc "$out" -saslmech OAUTHBEARER
    fi
    xo_assert_rc nonzero "$out"
    xo_assert_contains "$out" 'No worthy mechs' \
        "$prog finds no OAUTHBEARER in libsasl2"
    [ "$(xo_sink_count)" = "$n" ] || xo_fail "a message was sent" "$out"
    ! in_inbox nmh-inc-revoked || xo_fail "a message was fetched" "$out"
done

xo_pass
