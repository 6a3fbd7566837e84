#!/bin/bash
# The postfix store's notify command (issue 16, finding 9).  postfix (and
# so a chrooted smtp, which can write /xoauth2/*.json) owns the store's
# files; the packaged timer runs the helper outside the chroot.  Before,
# it ran a "notify" member planted there.  Now, running as postfix, the
# command comes only from root-owned configuration (/etc/xoauth2/notify;
# XOAUTH2_NOTIFY_CONF here), for the timer's command and for root's
# `refresh --all` over the store alike; one postfix may write is refused,
# and the skip is recorded in the file: `status` and `show` say it (not
# only the refresh's stderr, which a timer's journal keeps), until a
# notify command runs again.
. "$(dirname "$0")/lib.sh"

xo_helper_built
[ "$(id -u)" = 0 ] || xo_skip "needs root (runs as postfix)"
id postfix >/dev/null 2>&1 || xo_skip "no postfix user"
xo_require_cmd setpriv
PF=$(id -u postfix)
UNIT=$XO_TOP_SRCDIR/contrib/systemd/xoauth2-token-postfix.service
[ -f "$UNIT" ] || UNIT=$(dirname "$0")/../contrib/systemd/xoauth2-token-postfix.service
# The timer's command, as the unit runs it: its arguments after the program.
read -r -a ARGS <<<"$(sed -n 's|^ExecStart=[^ ]* ||p' "$UNIT")"
[ "${ARGS[0]}" = refresh ] || xo_fail "cannot read ExecStart from $UNIT"

xo_start_oauth
chmod 711 "$XO_TMP"
Q=$XO_TMP/queue
mkdir -m 755 "$Q"
xo_user_dir "$PF" "$Q/xoauth2"
OUT=$XO_TMP/out
xo_user_dir "$PF" "$OUT"
CONF=$XO_TMP/notify.conf
printf 'id -u >>%s/conf\n' "$OUT" >"$CONF"
chmod 644 "$CONF"
F=$Q/xoauth2/relay.json

plant() {
    xo_tokfile "$F" relay@example.com -10 "notify=id -u >>$OUT/member"
    chown postfix: "$F"
    xo_oauth -q fault invalid_grant --count 1 || xo_fail "fault not set"
}

xo_step "the timer's command (as postfix) ignores the planted notify member"
plant
xo_as_user "$PF" env XDG_DATA_HOME="$Q" XOAUTH2_NOTIFY_CONF="$CONF" \
    "$XO_HELPER" "${ARGS[@]}" >"$XO_TMP/o" 2>"$XO_TMP/e"
[ ! -e "$OUT/member" ] || xo_fail "the planted notify member ran (as $(cat "$OUT/member"))" "$XO_TMP/e"
[ "$(cat "$OUT/conf" 2>/dev/null)" = "$PF" ] || xo_fail "root's notify command did not run as postfix" "$XO_TMP/e"
echo "   ok: root's command ran as postfix; the member did not run"

xo_step "root's refresh --all over the store: the same, as postfix"
rm -f "$OUT/conf"
plant
XDG_DATA_HOME="$Q" XOAUTH2_NOTIFY_CONF="$CONF" \
    xo_run_timeout 30 "$XO_HELPER" refresh --all >"$XO_TMP/o" 2>"$XO_TMP/e"
[ ! -e "$OUT/member" ] || xo_fail "the planted notify member ran (as $(cat "$OUT/member"))" "$XO_TMP/e"
[ "$(cat "$OUT/conf" 2>/dev/null)" = "$PF" ] || xo_fail "root's notify command did not run as postfix" "$XO_TMP/e"
echo "   ok"

xo_step "a notify configuration postfix may write is refused"
rm -f "$OUT/conf"
chown postfix "$CONF"
plant
XDG_DATA_HOME="$Q" XOAUTH2_NOTIFY_CONF="$CONF" \
    xo_run_timeout 30 "$XO_HELPER" refresh --all >"$XO_TMP/o" 2>"$XO_TMP/e"
[ ! -e "$OUT/conf" ] && [ ! -e "$OUT/member" ] || xo_fail "a notify command ran" "$XO_TMP/e"
xo_assert_contains "$XO_TMP/e" "not running a notify command: $CONF must be a regular file of root's"
echo "   ok: refused"

xo_step "status and show name the skipped notify command and why"
XDG_DATA_HOME="$Q" xo_run_timeout 10 "$XO_HELPER" status >"$XO_TMP/st" 2>&1
xo_assert_rc 2 "$XO_TMP/st"
xo_assert_contains "$XO_TMP/st" "CRITICAL - relay: needs login"
xo_assert_contains "$XO_TMP/st" "(notify command skipped [0-9]* s ago: $CONF must be a regular file of root's that nobody else may write)"
XDG_DATA_HOME="$Q" xo_run_timeout 10 "$XO_HELPER" show relay >"$XO_TMP/sh" 2>&1
xo_assert_contains "$XO_TMP/sh" "^notify skipped: [0-9]* s ago: $CONF must be a regular file of root's"
echo "   ok"

xo_step "once a notify command runs again, the skip is no longer shown"
chown root "$CONF"
XDG_DATA_HOME="$Q" XOAUTH2_NOTIFY_CONF="$CONF" xo_run_timeout 30 "$XO_HELPER" refresh --all >"$XO_TMP/o" 2>"$XO_TMP/e"
[ "$(cat "$OUT/conf" 2>/dev/null)" = "$PF" ] || xo_fail "the recovery's notify command did not run as postfix" "$XO_TMP/e"
XDG_DATA_HOME="$Q" xo_run_timeout 10 "$XO_HELPER" status >"$XO_TMP/st" 2>&1
xo_assert_rc 0 "$XO_TMP/st"
! grep -q 'skipped' "$XO_TMP/st" || xo_fail "the old skip is still shown" "$XO_TMP/st"
echo "   ok"
xo_pass
