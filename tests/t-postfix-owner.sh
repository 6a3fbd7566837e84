#!/bin/bash
# What the postfix user (or a compromised chrooted smtp acting as it)
# can plant in postfix's store must not steer root's postfix setup
# (issue 16, findings 4 and 5):
#   4. --remove restores main.cf only from root's record next to main.cf
#      (config_directory/xoauth2-main.cf.saved), which postfix cannot
#      write; the record an older version kept in QUEUE/xoauth2/, which
#      postfix rewrites to relayhost = [attacker.example]:25 and
#      smtp_tls_security_level = none, is never applied, only printed as
#      postconf commands (one larger than 64 KiB is not even read); a
#      record that is not root's alone is ignored;
#   5. `postfix ACCOUNT` gives ACCOUNT.json and its .lock to postfix only
#      if each is a regular file with one link: a hard link planted in
#      the store to a root-only file (a stand-in for /etc/shadow, and
#      root's own token file) leaves that file root's, mode 600;
#   7. a token file postfix wrote with CSI (U+009B) in its user and its
#      name: root's `postfix ACCOUNT` refuses it, and root's list and show
#      of postfix's store print no control character.
# fs.protected_hardlinks=1 stops postfix from linking files it does not
# own, so root makes the links (the state the attack leaves where the
# sysctl is 0); nothing of postfix runs: postconf edits a private
# instance's main.cf.
. "$(dirname "$0")/lib.sh"

xo_require_postfix
xo_require_helper

owner() { stat -c %U:%G:%a "$1"; }

xo_start_oauth
xo_pf_init
XO_SUBMISSION_PORT=2525     # a relay that is never reached: postfix is not started
xo_pf_configure relay@example.com - n
STORE=$XO_PF_QUEUE/xoauth2
SAVED=$XO_PF_DIR/xoauth2-main.cf.saved
LEGACY=$STORE/postfix-main.cf.saved
RELAY="[127.0.0.1]:$XO_SUBMISSION_PORT"
export XDG_DATA_HOME=$XO_TMP/root-data
mkdir -p -m 700 "$XDG_DATA_HOME" "$XDG_DATA_HOME/xoauth2"

# pf ARGS...: xoauth2-token postfix ARGS for the private instance, as root.
pf() {
    xo_run_timeout 60 "$XO_HELPER" postfix "$@" --postfix-config "$XO_PF_DIR" \
        >"$XO_TMP/pf.out" 2>&1
}
setting() { postconf -c "$XO_PF_DIR" -h "$1"; }

xo_step "4. --apply records main.cf's settings next to main.cf, root's alone"
xo_tokfile "$XDG_DATA_HOME/xoauth2/relay.json" relay@example.com 3600
pf relay --relay "$RELAY" --apply
xo_assert_rc 0 "$XO_TMP/pf.out"
[ "$(setting relayhost)" = "$RELAY" ] || xo_fail "--apply did not set relayhost" "$XO_TMP/pf.out"
[ -f "$SAVED" ] && [ "$(stat -c %U:%h "$SAVED")" = root:1 ] \
    || xo_fail "no root-owned record at $SAVED" "$XO_TMP/pf.out"
[ ! -e "$LEGACY" ] || xo_fail "the record is still kept in postfix's store"
cp "$SAVED" "$XO_TMP/saved.orig"
echo "   ok: $(owner "$SAVED") ${SAVED#"$XO_TMP"/}; relayhost = $(setting relayhost)"

xo_step "4. postfix cannot write root's record, and its own in the queue is not applied"
hostile='relayhost=[attacker.example]:25
smtp_tls_security_level=none'
runuser -u postfix -- sh -c "printf '%s\n' '$hostile' >'$SAVED'" 2>/dev/null \
    && xo_fail "postfix could write $SAVED"
runuser -u postfix -- sh -c "printf '%s\n' '$hostile' >'$XO_PF_DIR/x.tmp' && mv '$XO_PF_DIR/x.tmp' '$SAVED'" 2>/dev/null \
    && xo_fail "postfix could replace $SAVED"
cmp -s "$SAVED" "$XO_TMP/saved.orig" || xo_fail "root's record changed"
runuser -u postfix -- sh -c "printf '%s\n' '$hostile' >'$LEGACY.new' && mv '$LEGACY.new' '$LEGACY'" \
    || xo_fail "postfix cannot write in its own store (test set-up)"
pf relay --remove
xo_assert_rc 0 "$XO_TMP/pf.out"
[ "$(setting relayhost)" != "[attacker.example]:25" ] && [ "$(setting smtp_tls_security_level)" != none ] \
    || xo_fail "--remove applied postfix's file: relayhost=$(setting relayhost), smtp_tls_security_level=$(setting smtp_tls_security_level)" "$XO_TMP/pf.out"
[ -z "$(setting relayhost)" ] || xo_fail "relayhost not removed: $(setting relayhost)" "$XO_TMP/pf.out"
echo "   ok: relayhost='$(setting relayhost)', smtp_tls_security_level='$(setting smtp_tls_security_level)' (main.cf set neither before)"
sed 's/^/   | /' "$XO_TMP/pf.out"

xo_step "4. only an older version's record (the upgrade case): shown, not applied"
rm -f "$SAVED"
xo_tokfile "$XDG_DATA_HOME/xoauth2/relay.json" relay@example.com 3600
pf relay --relay "$RELAY" --apply
xo_assert_rc 0 "$XO_TMP/pf.out"
[ ! -e "$SAVED" ] || xo_fail "--apply recorded main.cf's settings, already ours, as what it said before"
pf relay --remove
xo_assert_rc 0 "$XO_TMP/pf.out"
[ "$(setting relayhost)" != "[attacker.example]:25" ] && [ "$(setting smtp_tls_security_level)" != none ] \
    || xo_fail "--remove applied the old record" "$XO_TMP/pf.out"
xo_assert_contains "$XO_TMP/pf.out" "NOT applied: $LEGACY" "the old record is named as not applied"
cmds=$(sed -n 's/^#   //p' "$XO_TMP/pf.out")
grep -qxF "postconf -c $XO_PF_DIR -e 'relayhost=[attacker.example]:25'" <<<"$cmds" &&
    grep -qxF "postconf -c $XO_PF_DIR -e smtp_tls_security_level=none" <<<"$cmds" \
    || xo_fail "the old record's settings are not printed as postconf commands" "$XO_TMP/pf.out"
echo "   ok: printed for the admin to check and run:"
sed 's/^/   | /' <<<"$cmds"

xo_step "4. a huge record postfix planted in the queue: not read, --remove is quick"
xo_tokfile "$XDG_DATA_HOME/xoauth2/relay.json" relay@example.com 3600
rm -f "$SAVED" "$LEGACY"
pf relay --relay "$RELAY" --apply
xo_assert_rc 0 "$XO_TMP/pf.out"
rm -f "$SAVED"          # the upgrade case: only the old record is there
# Sparse: 300 MiB of NULs on no disk; before, root read all of it into
# one getline buffer (a file postfix keeps growing: without end).
runuser -u postfix -- truncate -s 300M "$LEGACY"
pf relay --remove
xo_assert_rc 0 "$XO_TMP/pf.out"
xo_assert_contains "$XO_TMP/pf.out" "$LEGACY is there but cannot be read \(larger than 64 KiB, no saved record\)"
xo_assert_faster_than 5 "$XO_TMP/pf.out"
rm -f "$LEGACY"
echo "   ok: refused unread"

xo_step "4. a record that is not root's alone is ignored"
xo_tokfile "$XDG_DATA_HOME/xoauth2/relay.json" relay@example.com 3600
rm -f "$LEGACY"
pf relay --relay "$RELAY" --apply
xo_assert_rc 0 "$XO_TMP/pf.out"
printf '%s\n' "$hostile" >"$SAVED"
chown postfix "$SAVED"
pf relay --remove
[ "$(setting relayhost)" != "[attacker.example]:25" ] && [ "$(setting smtp_tls_security_level)" != none ] \
    || xo_fail "--remove applied a record owned by postfix" "$XO_TMP/pf.out"
xo_assert_contains "$XO_TMP/pf.out" "NOT applied: $SAVED \(it does not belong to root\)"
rm -f "$SAVED"

xo_step "5. a hard-linked .lock in postfix's store: the linked file stays root's"
printf 'root:$6$not-a-real-hash:19000:0:99999:7:::\n' >"$XO_TMP/shadow"   # a stand-in for /etc/shadow
chmod 600 "$XO_TMP/shadow"
xo_tokfile "$STORE/relay2.json" relay@example.com 3600
chown postfix:postfix "$STORE/relay2.json"
ln "$XO_TMP/shadow" "$STORE/relay2.json.lock"
pf relay2 --relay "$RELAY"
[ "$(owner "$XO_TMP/shadow")" = root:root:600 ] \
    || xo_fail "the linked stand-in for /etc/shadow is now $(owner "$XO_TMP/shadow")" "$XO_TMP/pf.out"
xo_assert_rc nonzero "$XO_TMP/pf.out"
xo_assert_contains "$XO_TMP/pf.out" "refusing to give $STORE/relay2.json.lock to postfix: it has more than one link"
echo "   ok: $(owner "$XO_TMP/shadow") ${XO_TMP##*/}/shadow"

xo_step "5. ACCOUNT.json itself a hard link to root's own token file"
ROOTS=$XDG_DATA_HOME/xoauth2/mine.json
xo_tokfile "$ROOTS" root@example.com 3600
ln "$ROOTS" "$STORE/relay3.json"
pf relay3 --relay "$RELAY"
[ "$(owner "$ROOTS")" = root:root:600 ] \
    || xo_fail "root's token file is now $(owner "$ROOTS")" "$XO_TMP/pf.out"
xo_assert_rc nonzero "$XO_TMP/pf.out"
xo_assert_contains "$XO_TMP/pf.out" "refusing to give $STORE/relay3.json to postfix: it has more than one link"
echo "   ok: $(owner "$ROOTS") mine.json"

xo_step "7. C1 controls in a file postfix wrote: nothing reaches root's terminal"
CSI=$'\xc2\x9b'
xo_tokfile "$STORE/relay5$CSI.json" "u${CSI}2J@example.com" 3600 \
    'failure="refused \u009b31m"' failure_class=login failed_at=1700000000 failures=1
chown postfix:postfix "$STORE/relay5$CSI.json"
pf "relay5$CSI" --relay "$RELAY"
xo_assert_rc nonzero "$XO_TMP/pf.out"
xo_assert_contains "$XO_TMP/pf.out" "its user holds control characters"
xo_assert_no_controls "$XO_TMP/pf.out" "postfix ACCOUNT"
XDG_DATA_HOME=$XO_PF_QUEUE "$XO_HELPER" list >"$XO_TMP/list.out" 2>&1 || true
XDG_DATA_HOME=$XO_PF_QUEUE "$XO_HELPER" show "relay5$CSI" >"$XO_TMP/show.out" 2>&1 || true
grep -q "relay5" "$XO_TMP/list.out" || xo_fail "list does not show relay5" "$XO_TMP/list.out"
xo_assert_no_controls "$XO_TMP/list.out" "root's list of postfix's store"
xo_assert_no_controls "$XO_TMP/show.out" "root's show of a file in postfix's store"
rm -f "$STORE/relay5$CSI.json"

xo_step "5. a plain file is still adopted"
xo_tokfile "$STORE/relay4.json" relay@example.com 3600
pf relay4 --relay "$RELAY"
xo_assert_rc 0 "$XO_TMP/pf.out"
[ "$(owner "$STORE/relay4.json")" = postfix:postfix:600 ] \
    || xo_fail "relay4.json is $(owner "$STORE/relay4.json")" "$XO_TMP/pf.out"
echo "   ok: relay4.json $(owner "$STORE/relay4.json")"
xo_pass
