#!/bin/bash
# doc/recipes/perl.md's script, as written (only its settings changed):
# Perl's Net::SMTP with Authen::SASL::XS or ::Cyrus (Debian 13, 12), so
# libsasl2 and our plugin,
# sending through the private Dovecot's submission service to the sink:
#   - XOAUTH2 and OAUTHBEARER with the token file as the password (`auth`
#     names the user): the message reaches the sink;
#   - an expired token file: the plugin has the helper refresh it (one
#     refresh, new access token in the file), then the message is sent;
#   - only `user` given and no $USER in the environment (cron): sends;
#   - a revoked token: the script fails at once with the server's 535 and
#     the command that explains it, nothing sent, no token printed;
#   - SASL_PATH at a directory without our plugin: the script fails
#     saying XOAUTH2 is not available (so the sends above were ours).
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack perl
xo_require_helper
perl -MNet::SMTP -e 'use Authen::SASL qw(XS Cyrus); exit !@Authen::SASL::Plugins' 2>/dev/null \
    || xo_skip "neither Authen::SASL::XS nor ::Cyrus is installed (Debian 13: libauthen-sasl-xs-perl, 12: libauthen-sasl-cyrus-perl)"
xo_asan_wrap "$(command -v perl)" >/dev/null     # perl, from PATH, loads the plugin

USER_=frank@example.com RCPT=bob@example.org
RECIPE=$XO_TOP_SRCDIR/doc/recipes/perl.md

xo_start_mail_servers

mkdir -m 700 "$XO_TMP/tokens"
F=$XO_TMP/tokens/frank.json
xo_tokfile "$F" "$USER_" 3600

# script NAME MECH [CALLBACK]: the recipe's script with loopback settings
# (and CALLBACK instead of `auth`, if given) in $XO_TMP/NAME.pl.
script() {
    "$XO_PYTHON" - "$RECIPE" "$XO_TMP/$1.pl" "$XO_SUBMISSION_PORT" "$2" \
        "$USER_" "$F" "$RCPT" "$1" "${3:-auth}" <<'PY' || xo_fail "cannot take the script from $RECIPE"
import re, sys
recipe, out, port, mech, user, tokfile, rcpt, subject, cb = sys.argv[1:]
text = open(recipe).read()
code = re.search(r"```perl\n(.*?)```", text, re.S).group(1)
settings = {"host": "'127.0.0.1'", "port": port, "starttls": "0",
            "mech": "'%s'" % mech, "user": "'%s'" % user,
            "tokfile": "'%s'" % tokfile, "rcpt": "'%s'" % rcpt,
            "subject": "'%s'" % subject}
for k, v in settings.items():
    code, n = re.subn(r"^my \$%s\s*=.*$" % k, "my $%s = %s;" % (k, v),
                      code, count=1, flags=re.M)
    assert n == 1, "no setting " + k
if cb != "auth":
    code, n = re.subn(r"\{ auth => \$user,", "{ %s => $user," % cb, code)
    assert n == 1, "no auth callback"
open(out, "w").write(code)
PY
}

# send NAME [ENV...]: run $XO_TMP/NAME.pl (under env ENV...); output in
# $XO_TMP/NAME.out.
send() {
    local name=$1; shift
    xo_run_timeout 30 env "$@" perl "$XO_TMP/$name.pl" \
        </dev/null >"$XO_TMP/$name.out" 2>&1
}

for mech in XOAUTH2 OAUTHBEARER; do
    xo_step "$mech, \`auth\` and the token file as the password: the message is sent"
    script "perl-$mech" "$mech"
    send "perl-$mech"
    xo_assert_rc 0 "$XO_TMP/perl-$mech.out"
    xo_sink_wait "perl-$mech" || xo_fail "not at the sink" "$XO_TMP/perl-$mech.out"
    echo "   ok: at the sink"
    xo_dovecot_wait_login submission "$USER_" "$mech"
done

xo_step "expired token file: the plugin refreshes it, then Net::SMTP sends"
old=$(xo_token_field "$F" access_token)
before=$(xo_oauth_refreshes)
xo_token_expire_file "$F" -60
xo_oauth -q expire "$old" || xo_fail "expire at the server failed"
script perl-refreshed XOAUTH2
send perl-refreshed
xo_assert_rc 0 "$XO_TMP/perl-refreshed.out"
xo_sink_wait perl-refreshed || xo_fail "not at the sink" "$XO_TMP/perl-refreshed.out"
xo_assert_token_renewed "$F" "$old" "the access token in the file did not change" $((before + 1))
echo "   ok: 1 refresh at the server, new access token in the file, message sent"

xo_step "only \`user\`, no \$USER in the environment (as under cron): sends as that user"
script perl-user-only XOAUTH2 user
send perl-user-only -u USER -u USERNAME
xo_assert_rc 0 "$XO_TMP/perl-user-only.out"
xo_sink_wait perl-user-only || xo_fail "not at the sink" "$XO_TMP/perl-user-only.out"
echo "   ok: at the sink"

xo_step "revoked token: the script fails at once with the 535 and the fix, nothing sent"
xo_revoke "$(xo_token_field "$F" access_token)"
n=$(xo_sink_count)
script perl-revoked XOAUTH2
send perl-revoked
xo_assert_rc nonzero "$XO_TMP/perl-revoked.out"
xo_assert_faster_than 15 "$XO_TMP/perl-revoked.out"
xo_assert_contains "$XO_TMP/perl-revoked.out" \
    "XOAUTH2 login as $USER_ at 127.0.0.1 failed: 535 " "the script names the refusal"
xo_assert_contains "$XO_TMP/perl-revoked.out" \
    "to see why: xoauth2-token test $F --smtp 127.0.0.1" "and the command that explains it"
[ "$(xo_sink_count)" = "$n" ] || xo_fail "a message was sent with a revoked token"
grep -qF "$(xo_token_field "$F" access_token)" "$XO_TMP"/perl-*.out \
    && xo_fail "a token appears in the script's output"
echo "   ok: nothing sent, no token in the output"

xo_step "SASL_PATH without our plugin: XOAUTH2 is not available, nothing sent"
mkdir "$XO_TMP/no-plugin"
xo_tokfile "$F" "$USER_" 3600
script perl-no-plugin XOAUTH2
send perl-no-plugin SASL_PATH="$XO_TMP/no-plugin"
xo_assert_rc nonzero "$XO_TMP/perl-no-plugin.out"
xo_assert_contains "$XO_TMP/perl-no-plugin.out" "XOAUTH2 is not available" \
    "the script says the mechanism is missing"
[ "$(xo_sink_count)" = "$n" ] || xo_fail "a message was sent without the plugin"
echo "   ok: nothing sent"

xo_pass
