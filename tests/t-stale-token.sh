#!/bin/bash
# One rule for a token that is due while the token endpoint is failing
# (issue 18): the plugin and `xoauth2-token token` hand out the old
# access token instead of a fresh one only while it stays valid at least
# TOKFILE_STALE_MIN (60 s, common/tokfile.h), during the back-off after a
# failed refresh and after a refresh that fails again.  The same file,
# on each side of that minute, through both:
#   75 s left, back-off running: both use it, without asking the endpoint;
#   45 s left, back-off running: both try to refresh (the endpoint fails
#     with HTTP 500) and neither hands the token out.
# Before issue 18 the plugin sent a token with any time left during the
# back-off, and `token` only one with 60 s.
set -eu
. "$(dirname "$0")/lib.sh"

START=$XO_TOP_BUILDDIR/tests/plugin-start
USER=alice@example.com
xo_require_plugin
xo_require_helper
[ -x "$START" ] || xo_skip "tests/plugin-start not built (make check builds it)"
xo_require_cmd "$XO_PYTHON"

xo_start_oauth
mkdir -m 700 "$XO_TMP/tokens"
F=$XO_TMP/tokens/alice.json
xo_oauth -q fault 500

# stale_file SECS: F with an access token valid SECS more seconds and a
# refresh that failed just now (failures 1: a 30 s back-off).
stale_file() {
    xo_tokfile "$F" "$USER" "$1" failures=1 "failed_at=$(date +%s)" \
        failure_class=temporary "failure=HTTP 500 from the token endpoint"
}
requests() { xo_oauth_stat token_requests; }

# token_side WANT: `token F`; WANT "used": prints the file's token and
# asks nobody; "refused": asks the endpoint and prints nothing.
token_side() {
    local n0
    n0=$(requests)
    xo_run_timeout 30 "$XO_HELPER" token "$F" >"$XO_TMP/token.out" 2>"$XO_TMP/token.err"
    if [ "$1" = used ]; then
        xo_assert_rc 0 "$XO_TMP/token.err"
        [ "$(cat "$XO_TMP/token.out")" = "$(xo_token_field "$F" access_token)" ] ||
            xo_fail "token did not print the file's access token" "$XO_TMP/token.err"
        [ "$(requests)" = "$n0" ] || xo_fail "token asked the endpoint during the back-off"
        echo "   ok: token printed the old access token, endpoint not asked"
    else
        [ "$XO_RC" != 0 ] || xo_fail "token succeeded" "$XO_TMP/token.err"
        [ ! -s "$XO_TMP/token.out" ] || xo_fail "token printed a token that expires within a minute"
        [ "$(requests)" -gt "$n0" ] || xo_fail "token did not try to refresh" "$XO_TMP/token.err"
        echo "   ok: token tried to refresh and printed nothing (exit $XO_RC)"
    fi
}

# plugin_side WANT: one XOAUTH2 start with F as the password.
plugin_side() {
    local n0
    n0=$(requests)
    xo_run_timeout 30 "$START" "$USER" "$F" log_level=5 >"$XO_TMP/plugin.out" 2>&1
    if [ "$1" = used ]; then
        xo_assert_rc 0 "$XO_TMP/plugin.out"
        xo_assert_contains "$XO_TMP/plugin.out" "refreshing it failed [0-9]+ s ago .*; using it, next try in [0-9]+ s" \
            "the plugin logs that it uses the old token"
        [ "$(requests)" = "$n0" ] || xo_fail "the plugin asked the endpoint during the back-off" "$XO_TMP/plugin.out"
        echo "   ok: the plugin sent the old access token, endpoint not asked"
    else
        xo_assert_rc 1 "$XO_TMP/plugin.out"
        xo_assert_contains "$XO_TMP/plugin.out" \
            "^detail: .*the access token in $F expires in [0-9]+ s, too soon to use, and refreshing it failed: " \
            "the plugin says the token expires too soon and why the refresh failed"
        [ "$(requests)" -gt "$n0" ] || xo_fail "the plugin did not try to refresh" "$XO_TMP/plugin.out"
        echo "   ok: the plugin tried to refresh and sent nothing"
    fi
}

xo_step "75 s left, back-off running: token and plugin both use the old token"
stale_file 75
token_side used
stale_file 75
plugin_side used

xo_step "45 s left, back-off running: token and plugin both refresh, and hand out nothing when that fails"
stale_file 45
token_side refused
stale_file 45
plugin_side refused

xo_pass
