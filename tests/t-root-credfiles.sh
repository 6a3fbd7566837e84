#!/bin/bash
# Credential files named by a user's token file, refreshed by root
# (issue 16, finding 3).  Before: root read client_secret_file /
# private_key_file with its own rights and posted a root-only secret to
# the user's endpoint, or signed with a root-only key.  Now they are read
# by the file's owner and must be that owner's regular files:
#   - a root-only secret named by the user's file never reaches the server;
#   - a root-only key and certificate are not used to sign anything;
#   - a symlink (the user's own, to root's secret) is refused;
#   - a FIFO is refused at once, without blocking;
#   - a device node (the user's own) is refused without being opened: it
#     is looked at through an O_PATH descriptor only (strace shows it);
#   - root's own file naming a user's secret is refused, with the chown.
. "$(dirname "$0")/lib.sh"

xo_helper_built
[ "$(id -u)" = 0 ] || xo_skip "needs root (refreshes as root for another user)"
U=54321
CID=3f2504e0-4f89-11d3-9a0c-0305e82c3301
MBX=relay@example.com

xo_start_oauth
chmod 711 "$XO_TMP"
R=$XO_TMP/rootonly
xo_canary "$R"
xo_app_cert "$R" root
# The app's secret is root's: a refresh that sends it gets a token.
xo_oauth -q app "$CID" --mailbox "$MBX" --secret-file "$R/secret" \
    || xo_fail "cannot register the app"
D=$XO_TMP/u
xo_user_dir $U "$D"
APP=(grant=client_credentials client_id=$CID refresh_token=
     scope=https://outlook.office365.com/.default)

# app_file FILE MEMBER=VALUE...: an expired app-only token file of $U's.
app_file() {
    local f=$1
    shift
    xo_tokfile "$f" "$MBX" -10 "${APP[@]}" "$@"
    chown $U:$U "$f"
}

# refresh_refused FILE WHAT: root's refresh of FILE fails, naming WHAT,
# and nothing root-only reached the server.
refresh_refused() {
    xo_record_requests "$XO_TMP/bodies"
    xo_run_timeout 10 "$XO_HELPER" refresh "$1" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc nonzero "$XO_TMP/err"
    xo_assert_contains "$XO_TMP/err" "$2"
    ! grep -qF "$XO_CANARY_SECRET" "$XO_TMP/bodies" ||
        xo_fail "root's secret reached the token endpoint" "$XO_TMP/bodies"
    ! grep -q 'client_assertion=' "$XO_TMP/bodies" ||
        xo_fail "something was signed and sent" "$XO_TMP/bodies"
}

xo_step "a root-only client_secret_file in a user's file is never read for them"
app_file "$D/secret.json" client_secret_file="$R/secret"
refresh_refused "$D/secret.json" "client secret file $R/secret: Permission denied"
xo_assert_contains "$XO_TMP/err" "run: chown $U $R/secret && chmod 600 $R/secret\$"
echo "   ok: refused; the secret never reached the server"

xo_step "a root-only private key and certificate are not used to sign"
app_file "$D/cert.json" private_key_file="$R/root.key" certificate_file="$R/root.crt"
refresh_refused "$D/cert.json" "$R/root"
echo "   ok: refused; nothing signed"

xo_step "the user's own symlink to root's secret is refused as a symlink"
ln -s "$R/secret" "$D/link"
chown -h $U:$U "$D/link"
app_file "$D/link.json" client_secret_file="$D/link"
refresh_refused "$D/link.json" "not a regular file"
echo "   ok: refused"

xo_step "a FIFO is refused at once"
mkfifo -m 600 "$D/fifo"
chown $U:$U "$D/fifo"
app_file "$D/fifo.json" client_secret_file="$D/fifo"
refresh_refused "$D/fifo.json" "not a regular file"
xo_assert_faster_than 5 "$XO_TMP/err"
echo "   ok: refused without blocking"

# device_refused MEMBER...: a character device of $U's (/dev/null's
# numbers), named as each MEMBER, is refused by name as not a regular file, and no
# process opened it other than with O_PATH (which runs no driver code).
device_refused() {
    local dev=$D/dev-$1 f=$D/dev-$1.json
    mknod -m 600 "$dev" c 1 3
    chown $U:$U "$dev"
    app_file "$f" "${@/%/=$dev}"
    xo_record_requests "$XO_TMP/bodies"
    xo_run_timeout 10 strace -f -qq -e trace=openat,open -o "$XO_TMP/strace" \
        "$XO_HELPER" refresh "$f" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc nonzero "$XO_TMP/err"
    xo_assert_contains "$XO_TMP/err" "$dev: not a regular file"
    grep -F "\"$dev\"" "$XO_TMP/strace" >"$XO_TMP/opens" ||
        xo_fail "strace saw no look at $dev at all" "$XO_TMP/strace"
    ! grep -v 'O_PATH' "$XO_TMP/opens" ||
        xo_fail "$dev was opened (not only O_PATH)" "$XO_TMP/opens"
}

xo_step "a device node named by the user's file is refused unopened"
command -v strace >/dev/null || xo_fail "strace is needed (apt-get install strace)"
device_refused client_secret_file
device_refused private_key_file certificate_file
echo "   ok: refused, looked at only through O_PATH"

xo_step "root's own file naming a user's secret: refused, with the chown"
printf 'user-secret\n' >"$D/usecret"
chmod 600 "$D/usecret"
chown $U:$U "$D/usecret"
RD=$XO_TMP/rootstore
mkdir -m 700 "$RD"
xo_tokfile "$RD/r.json" "$MBX" -10 "${APP[@]}" client_secret_file="$D/usecret"
refresh_refused "$RD/r.json" "run: chown root $D/usecret"
echo "   ok: refused"

xo_pass
