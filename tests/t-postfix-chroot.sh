#!/bin/bash
# The README's "Chrooted smtp" recipe on a real postfix.
#
# A private postfix instance (lib.sh's xo_start_postfix: postfix -c DIR, no
# listener) whose smtp service runs chroot=y, the chroot being its
# queue_directory.  It relays to the private Dovecot's submission service
# (which asks the mock OAuth server, and relays on to the SMTP sink) with
# smtp_sasl_mechanism_filter = xoauth2 and the password /xoauth2/alice.json:
# the token file as smtp sees it inside the chroot, QUEUE/xoauth2/alice.json
# from outside.  Postfix loads libsasl2 and our plugin in smtp's pre_init,
# before the chroot; the plugin opens the token file after it, and cannot
# run the helper there.  The README's timer keeps the file fresh from
# outside: xoauth2-token refresh --margin 1800 QUEUE/xoauth2/alice.json.
# The chroot holds only what postfix creates plus xoauth2/ (no etc/, dev/
# or lib/ copied in): that is all this setup needs.
#
#   1. a valid token: the message is relayed; smtp's root really is the
#      queue directory and the plugin is mapped from a path that does not
#      exist inside the chroot (so it was loaded before the chroot);
#      still valid but within the plugin's 300 s margin: delivered, and
#      the log warns that the plugin could not refresh it;
#   2. the access token expired (in the file and at the server): the
#      message is deferred, not bounced, nothing is sent to the server, and
#      the maillog has the plugin's message that it cannot run the helper
#      in a chroot, naming the timer and chroot=n;
#   3. the timer's command, as root, from outside: exactly one refresh, the
#      file still 0600 and owned by postfix (its lock file too); run again,
#      no refresh; postqueue -f delivers the deferred message, no refresh;
#   4. the server rejects a token the file says is valid: the plugin marks
#      the file stale from inside the chroot (lock and temp file in
#      QUEUE/xoauth2), the message is deferred with the server's 535; the
#      timer's command, this time as postfix, refreshes; postqueue -f
#      delivers;
#   5. the maillog holds no token; nothing bounced; no fatal error.
# Postfix is stopped at exit (xo_on_exit).
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_relay_stack

USER=alice@example.com

xo_start_relay_servers

# --- the token file, inside the chroot (the queue directory) ----------------
TOKDIR=$XO_PF_QUEUE/xoauth2      # from outside
F=$TOKDIR/alice.json
F_IN=/xoauth2/alice.json          # the same file, as chrooted smtp sees it
install -d -o postfix -g postfix -m 700 "$TOKDIR"
xo_tokfile "$F" "$USER" 3600
chown postfix:postfix "$F"
TOKENS_SEEN=("$(xo_token_field "$F" access_token)" "$(xo_token_field "$F" refresh_token)")

xo_step "start a private postfix with smtp chroot=y, password $F_IN"
xo_start_postfix "$USER" "$F_IN" y
if grep -q . "$XO_PF_DIR/check.out"; then
    echo "   postfix check said:"; sed 's/^/   | /' "$XO_PF_DIR/check.out"
fi
xo_assert_not_contains "$XO_PF_DIR/check.out" 'xoauth2' \
    "postfix check has nothing to say about QUEUE/xoauth2"
postconf -c "$XO_PF_DIR" -M smtp/unix >"$XO_TMP/postconf-M.out"
xo_assert_contains "$XO_TMP/postconf-M.out" \
    '^smtp +unix +- +- +y +- +- +smtp$' "postconf -M: smtp/unix has chroot=y"
# Debian's postfix 3.9 and later set the chroot up at every check and
# start (post-install runs /usr/lib/postfix/configure-instance.sh): copies
# of a few files of /etc, nss modules in lib/ and an empty usr/lib/sasl2.
# The README says smtp needs nothing in the chroot for the plugin: checked
# to be only that, and removed, before smtp first runs (nothing was sent).
debian_chroot_sync() {
    local f
    [ -d "$XO_PF_QUEUE/etc" ] || return 0
    for f in "$XO_PF_QUEUE"/etc/* "$XO_PF_QUEUE"/lib/* ; do
        [ -e "$f" ] || continue
        case ${f#"$XO_PF_QUEUE"/} in
        etc/localtime | etc/services | etc/resolv.conf | etc/hosts | etc/host.conf | \
            etc/nsswitch.conf | etc/nss_mdns.config | lib/libnss_*.so.2) ;;
        *) xo_fail "postfix check put ${f#"$XO_PF_QUEUE"/} into the chroot" "$XO_PF_DIR/check.out" ;;
        esac
    done
    [ ! -e "$XO_PF_QUEUE/usr" ] || [ -z "$(find "$XO_PF_QUEUE/usr" ! -type d)" ] ||
        xo_fail "postfix check put files under usr/ in the chroot: $(find "$XO_PF_QUEUE/usr" ! -type d)"
    echo "   postfix check set the chroot up (Debian): $(cd "$XO_PF_QUEUE" && find etc lib usr ! -type d -o -empty 2>/dev/null | tr '\n' ' ')-- removed"
    rm -rf "${XO_PF_QUEUE:?}/etc" "$XO_PF_QUEUE/lib" "$XO_PF_QUEUE/usr"
}
debian_chroot_sync
for d in etc dev lib usr; do
    [ ! -e "$XO_PF_QUEUE/$d" ] || xo_fail "the chroot has $d/: the test wants it bare"
done
echo "   the chroot holds: $(cd "$XO_PF_QUEUE" && echo *) (no etc/, dev/, lib/, usr/)"

LOGIN_RE=$(xo_dovecot_login_re submission "$USER" XOAUTH2)
logins() {
    xo_count "$XO_DOVECOT_LOG" "$LOGIN_RE"
}

# file_ok: still 0600 and owned by postfix, and so is its lock file (the
# plugin, as postfix, must be able to lock it to mark it stale).
file_ok() {
    [ "$(stat -c '%a %U' "$F")" = "600 postfix" ] \
        || xo_fail "token file is now $(stat -c '%a %U:%G' "$F"), want 600 postfix"
    if [ -e "$F.lock" ]; then
        [ "$(stat -c '%U' "$F.lock")" = postfix ] \
            || xo_fail "the lock file is now $(stat -c '%a %U:%G' "$F.lock"), want owner postfix"
    fi
    [ ! -e "$F.tmp" ] || xo_fail "a temp file $F.tmp was left behind"
    echo "   ok: the token file is 0600 and owned by postfix (its lock file: $(stat -c '%U' "$F.lock" 2>/dev/null || echo none))"
}

# one_refresh BEFORE OLD_RT: exactly one refresh at the server since BEFORE,
# and the file holds the rotated refresh token.
one_refresh() {
    xo_assert_renewed_once refresh "$1" "$(xo_oauth_refreshes)" "$F" refresh_token "$2"
    [ "$(xo_token_field "$F" expires_at)" -gt "$(( $(date +%s) + 1800 ))" ] \
        || xo_fail "the refreshed token expires within the timer's margin"
}

remember_tokens() {
    TOKENS_SEEN+=("$(xo_token_field "$F" access_token)" "$(xo_token_field "$F" refresh_token)")
}

# timer AS: the README's timer command, run from outside as root or postfix.
timer() {
    local as=$1
    if [ "$as" = root ]; then
        xo_run_timeout 40 "$XO_HELPER" refresh --margin 1800 "$F" \
            >"$XO_TMP/timer.out" 2>&1
    else
        xo_run_timeout 40 runuser -u "$as" -- "$XO_HELPER" refresh --margin 1800 "$F" \
            >"$XO_TMP/timer.out" 2>&1
    fi
    xo_assert_rc 0 "$XO_TMP/timer.out"
}

# --- 1. a valid token -------------------------------------------------------------
xo_step "1. valid token: the chrooted smtp relays through Dovecot submission"
subject="xo-chroot valid $RANDOM"
xo_pf_send_valid "$subject" "$LOGIN_RE"

xo_step "1. the smtp process is chrooted to the queue directory; the plugin was loaded before"
smtp_pids=()
for p in $(xo_pf_pids); do
    [ "$(cat "/proc/$p/comm" 2>/dev/null)" = smtp ] && smtp_pids+=("$p")
done
[ "${#smtp_pids[@]}" -gt 0 ] || xo_fail "no smtp process of the instance is left to inspect"
[ ! -e "$XO_PF_QUEUE$XO_PLUGIN_DIR" ] \
    || xo_fail "the plugin dir also exists inside the chroot: the check below would prove nothing"
for p in "${smtp_pids[@]}"; do
    root=$(readlink "/proc/$p/root")
    [ "$root" = "$XO_PF_QUEUE" ] \
        || xo_fail "smtp pid $p has root $root, want $XO_PF_QUEUE (chroot=y not in effect)"
    grep -qF "$XO_PLUGIN_DIR/libxoauth2.so" "/proc/$p/maps" \
        || xo_fail "smtp pid $p has not mapped $XO_PLUGIN_DIR/libxoauth2.so"
    grep -q '/libjson-c\.so' "/proc/$p/maps" \
        || xo_fail "smtp pid $p has not mapped json-c"
    echo "   ok: smtp pid $p: root $root; libxoauth2.so and json-c mapped from" \
         "outside the chroot (${XO_PF_QUEUE#"$XO_TMP"/}$XO_PLUGIN_DIR does not exist)"
done

xo_step "1. valid, but within the plugin's refresh margin (300 s): delivered, with a warning"
xo_token_expire_file "$F" 200
before=$(xo_oauth_refreshes)
subject="xo-chroot within the margin $RANDOM"
xo_pf_send "$subject"
xo_pf_wait_sink "$subject"
xo_pf_queue_id
xo_pf_wait_log "$XO_PF_QID: to=<$XO_PF_RCPT>, .* status=sent"
xo_assert_contains "$XO_PF_LOG" \
    "postfix/smtp\[[0-9]+\]: warning: SASL authentication problem: XOAUTH2: refreshing ${F_IN//./\\.} failed \(cannot run ${XO_HELPER//./\\.}: [^)]*\); its access token is still valid, using it" \
    "postfix logged the plugin's warning that it could not refresh"
xo_assert_refreshes "$before" "a refresh happened from inside the chroot"
echo "   ok: no refresh"

# --- 2. the access token expired --------------------------------------------------
xo_step "2. the access token expired: deferred; the log says the helper cannot run in a chroot"
xo_expire "$USER" "$F"
cp -p "$F" "$XO_TMP/before-2.json"
old_rt=$(xo_token_field "$F" refresh_token)
before=$(xo_oauth_refreshes)
l0=$(logins)
subject="xo-chroot expired $RANDOM"
subject2=$subject
xo_pf_send_deferred "$subject"
id2=$XO_PF_QID
xo_assert_contains "$XO_PF_LOG" \
    "postfix/smtp\[[0-9]+\]: warning: SASL authentication failure: XOAUTH2: the access token in ${F_IN//./\\.} has expired and the helper cannot run here \(cannot run ${XO_HELPER//./\\.}: " \
    "postfix logged the plugin's message: the helper cannot run here"
xo_assert_contains "$XO_PF_LOG" \
    "if this process is chrooted \(postfix: chroot=y for smtp in master\.cf\), refresh the file from outside on a timer: xoauth2-token refresh --margin 1800 CHROOT${F_IN//./\\.} \(CHROOT: postconf -h queue_directory\), or set chroot=n" \
    "the message names both fixes: a timer from outside, or chroot=n"
xo_assert_contains "$XO_PF_LOG" \
    "$id2: to=<$XO_PF_RCPT>, .*status=deferred \(SASL authentication failed; cannot authenticate to server 127\.0\.0\.1\[127\.0\.0\.1\]" \
    "deferred as a SASL failure on our side"
tr -d '\r' <"$XO_PF_LOG" | grep -E "helper cannot run here|$id2: to=<" | xo_mask | sed 's/^/   | /'
xo_run_timeout 20 postqueue -c "$XO_PF_DIR" -p >"$XO_TMP/postqueue.out" 2>&1
xo_assert_contains "$XO_TMP/postqueue.out" "^${id2}[ *!]" "the message waits in the queue"
[ "$(logins)" = "$l0" ] || xo_fail "Dovecot saw a login with the expired token" "$XO_DOVECOT_LOG"
echo "   ok: nothing was sent to the server (no new Dovecot login)"
xo_pf_at_sink "$subject" && xo_fail "the message reached the sink"
xo_assert_refreshes "$before" "a refresh happened from inside the chroot"
echo "   ok: no refresh"
cmp -s "$F" "$XO_TMP/before-2.json" || xo_fail "the token file changed"
echo "   ok: the token file is byte for byte unchanged"

# --- 3. the timer, as root --------------------------------------------------------
xo_step "3. the timer's command from outside, as root: one refresh, file still postfix's"
timer root
one_refresh "$before" "$old_rt"
file_ok
remember_tokens

xo_step "3. the timer again: nothing due, no refresh"
before=$(xo_oauth_refreshes)
cp -p "$F" "$XO_TMP/before-3.json"
timer root
xo_assert_refreshes "$before" "the timer refreshed a fresh token"
cmp -s "$F" "$XO_TMP/before-3.json" || xo_fail "the timer rewrote a fresh token file"
echo "   ok: no refresh, the file is unchanged"

xo_step "3. postqueue -f: the deferred message goes through, without a refresh"
xo_pf_flush
xo_pf_delivered "$subject2" "$id2"
xo_assert_refreshes "$before" "the plugin refreshed"
echo "   ok: no refresh"
file_ok

# --- 4. rejected while the file says valid: marked stale inside the chroot ---------
xo_step "4. expired at the server only: deferred with 535; the plugin marks the file stale"
xo_oauth -q expire --user "$USER" || xo_fail "expire at the server failed"
old_at=$(xo_token_field "$F" access_token)
old_rt=$(xo_token_field "$F" refresh_token)
before=$(xo_oauth_refreshes)
subject="xo-chroot rejected by the server $RANDOM"
xo_pf_send_refused "$subject"
id4=$XO_PF_QID
[ "$(xo_token_field "$F" access_token)" = "$old_at" ] \
    || xo_fail "the access token changed without a refresh"
[ "$(xo_token_field "$F" expires_at)" -le "$(date +%s)" ] \
    || xo_fail "the plugin did not mark the token stale (expires_at $(xo_token_field "$F" expires_at))" "$XO_PF_LOG"
echo "   ok: the plugin, chrooted, marked the token in the file stale"
file_ok
xo_assert_refreshes "$before" "a refresh happened before the timer ran"

xo_step "4. the timer's command as postfix, then postqueue -f: delivered"
timer postfix
one_refresh "$before" "$old_rt"
file_ok
remember_tokens
before=$(xo_oauth_refreshes)
xo_pf_flush
xo_pf_delivered "$subject" "$id4"
xo_assert_refreshes "$before" "the plugin refreshed"
echo "   ok: no refresh by the plugin"

# --- 5. the log ---------------------------------------------------------------------
xo_step "5. postfix's maillog holds no token"
xo_pf_assert_clean_log 4 "${TOKENS_SEEN[@]}"

xo_step "stop postfix"
xo_pf_stop
[ -z "$(xo_pf_pids)" ] || xo_fail "postfix processes remain after stop"
echo "   ok: no process of the instance remains"

xo_pass
