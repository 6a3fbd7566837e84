#!/bin/bash
# The Debian packages, built, checked and used as an admin would:
#   - dpkg-buildpackage -us -uc -b builds libsasl2-modules-xoauth2 and
#     xoauth2-token from a copy of the tree (DEB_BUILD_OPTIONS=nocheck:
#     the suite runs on its own; debian/rules runs it otherwise);
#   - lintian is clean: no error, no warning but initial-upload-closes-no-bugs
#     (there is no ITP bug to close: this is not an upload to Debian);
#   - the .debs install; the plugin is in the multiarch sasl2 directory and
#     libsasl2 loads it from there with no SASL_PATH (saslpluginviewer);
#   - imtest logs in to a private Dovecot through the installed plugin with
#     both mechanisms, with a literal token and with a token-file path, in
#     which case the plugin has the installed /usr/bin/xoauth2-token
#     refresh the expired token;
#   - the installed xoauth2-token works (show, refresh, test), the
#     installed units pass systemd-analyze verify, the completion loads;
#   - at exit both packages are purged, and nothing of them is left.
# Not part of make check: it installs packages (root; needs debhelper,
# dpkg-dev, lintian, fakeroot and the build dependencies in debian/control).
# Run from a git checkout: bash tests/pkg/t-debs.sh
. "$(dirname "$0")/../lib.sh"
# lib.sh points libsasl2 at the build tree's plugin: not here.
unset SASL_PATH XOAUTH2_HELPER
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

PKGS="libsasl2-modules-xoauth2 xoauth2-token"
IMTEST=$XO_CYRUS_BIN/imtest
xo_require_root
xo_require_cmd dpkg-buildpackage dpkg-checkbuilddeps lintian fakeroot dh git \
    saslpluginviewer "$IMTEST" dovecot systemd-analyze
command -v git >/dev/null && git -C "$XO_TOP_SRCDIR" rev-parse --git-dir >/dev/null 2>&1 \
    || xo_skip "$XO_TOP_SRCDIR is not a git checkout"

# installed PKG: is PKG installed (or half-installed, or config-files)?
installed() {
    dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null | grep -qv '^not-installed$'
}
for p in $PKGS libsasl2-modules-kdexoauth2; do
    # Tests must leave the system as it was: do not touch a package the
    # admin installed (kdexoauth2 would also make the mechanism ambiguous).
    installed "$p" && xo_skip "$p is installed on this machine; remove it to run this test"
done
MA=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
# Where the system units go: /usr/lib on a release whose debhelper has
# dh_movetousr (Debian 13: lintian's aliased-location otherwise), /lib on
# Debian 12 (whose debhelper enables units only from there).
UNITDIR=/lib/systemd/system
command -v dh_movetousr >/dev/null && UNITDIR=/usr/lib/systemd/system
SYSPLUGIN=/usr/lib/$MA/sasl2/libxoauth2.so

xo_step "dpkg-buildpackage -us -uc -b (nocheck) in a copy of the tree"
# Tracked and untracked-but-not-ignored files: what would be committed.
mkdir -p "$XO_TMP/src/xoauth2"
git -C "$XO_TOP_SRCDIR" ls-files -z -co --exclude-standard \
    | (cd "$XO_TOP_SRCDIR" && tar --null -T - -cf -) \
    | tar -C "$XO_TMP/src/xoauth2" -xf - || xo_fail "cannot copy the tree"
cd "$XO_TMP/src/xoauth2" || xo_fail "no copy"
dpkg-checkbuilddeps -Pnocheck >"$XO_TMP/builddeps" 2>&1 \
    || xo_fail "build dependencies missing" "$XO_TMP/builddeps"
t0=$SECONDS
DEB_BUILD_OPTIONS="nocheck parallel=$(nproc) ${DEB_BUILD_OPTIONS:-}" \
    dpkg-buildpackage -us -uc -b >"$XO_TMP/build.log" 2>&1 \
    || { tail -n 60 "$XO_TMP/build.log" >"$XO_TMP/build.tail"
         xo_fail "dpkg-buildpackage failed" "$XO_TMP/build.tail"; }
cd "$XO_TMP/src" || xo_fail "no build dir"
for p in $PKGS; do
    ls "${p}"_*.deb >/dev/null 2>&1 || xo_fail "no $p .deb built" "$XO_TMP/build.log"
done
echo "   ok: built in $((SECONDS - t0)) s:" *.deb

xo_step "lintian: no errors, no warnings (but initial-upload-closes-no-bugs)"
lintian --tag-display-limit 0 -I *.changes >"$XO_TMP/lintian" 2>&1
grep -Ev '^(running with root privileges|N: )' "$XO_TMP/lintian" | sed 's/^/   | /'
! grep -q '^E: ' "$XO_TMP/lintian" || xo_fail "lintian reports errors" "$XO_TMP/lintian"
! grep '^W: ' "$XO_TMP/lintian" | grep -qv ': initial-upload-closes-no-bugs ' ||
    xo_fail "lintian warns" "$XO_TMP/lintian"
echo "   ok: $(grep -c '^E: ' "$XO_TMP/lintian") errors, $(grep -c '^W: ' "$XO_TMP/lintian") warnings (initial-upload-closes-no-bugs)"

xo_step "install both packages"
# From here on, whatever happens, the packages go again at exit.  purge
# runs inside lib.sh's exit handler: setting its rc fails the test.
purge() {
    local left=
    dpkg --purge $PKGS >"$XO_TMP/purge.out" 2>&1 || cat "$XO_TMP/purge.out"
    for p in $PKGS; do installed "$p" && left="$left package $p;"; done
    [ -e "$SYSPLUGIN" ] && left="$left $SYSPLUGIN;"
    [ -e /usr/bin/xoauth2-token ] && left="$left /usr/bin/xoauth2-token;"
    [ -e /etc/xoauth2/credstore.encrypted ] && left="$left /etc/xoauth2/credstore.encrypted;"
    [ -n "$(find /var/lib/systemd -name '*xoauth2*' 2>/dev/null)" ] \
        && left="$left deb-systemd-helper state;"
    if [ -n "$left" ]; then
        echo "FAIL: $XO_TEST_NAME: left after the purge:$left"
        # shellcheck disable=SC2034  # lib.sh's exit handler exits with it
        rc=1
    else
        echo "   purged: $PKGS; nothing left"
    fi
}
xo_on_exit purge
debs=()
for p in $PKGS; do debs+=("./$(ls "${p}"_*.deb)"); done
xo_run_timeout 120 dpkg -i "${debs[@]}" >"$XO_TMP/install.out" 2>&1
xo_assert_rc 0 "$XO_TMP/install.out"
for f in "$SYSPLUGIN" /usr/bin/xoauth2-token /usr/share/man/man1/xoauth2-token.1.gz \
    "$UNITDIR"/xoauth2-token-refresh@.service \
    "$UNITDIR"/xoauth2-token-refresh@.timer \
    "$UNITDIR"/xoauth2-token-postfix.service \
    "$UNITDIR"/xoauth2-token-postfix.timer \
    /usr/lib/systemd/user/xoauth2-token-refresh.service \
    /usr/lib/systemd/user/xoauth2-token-refresh.timer \
    /usr/share/bash-completion/completions/xoauth2-token \
    /usr/share/doc/libsasl2-modules-xoauth2/README.Debian; do
    [ -f "$f" ] || xo_fail "$f is not installed"
done
[ ! -e "${SYSPLUGIN%.so}.la" ] || xo_fail "a .la in the sasl2 dir"
# By the package's own list: with merged /usr both paths reach the file.
dpkg -L xoauth2-token | grep '/systemd/system/' >"$XO_TMP/system-units"
[ "$(grep -c "^$UNITDIR/xoauth2-token-" "$XO_TMP/system-units")" = 4 ] &&
    [ "$(grep -c . "$XO_TMP/system-units")" = 4 ] ||
    xo_fail "the package's system units are not all in $UNITDIR" "$XO_TMP/system-units"
echo "   ok: plugin at $SYSPLUGIN, helper, man page, units (in $UNITDIR), completion"
# Postfix's timer is enabled by the package (zero steps on stock Debian; it
# waits for /var/spool/postfix/xoauth2 with ConditionPathIsDirectory).
[ -L /etc/systemd/system/timers.target.wants/xoauth2-token-postfix.timer ] \
    || xo_fail "the package did not enable xoauth2-token-postfix.timer"
echo "   ok: xoauth2-token-postfix.timer is enabled (timers.target.wants)"
# The credential store the units load (credential encrypt): root's 0700.
[ "$(stat -c '%U %a' /etc/xoauth2/credstore.encrypted 2>&1)" = "root 700" ] \
    || xo_fail "the package did not make /etc/xoauth2/credstore.encrypted (root, 0700)"
echo "   ok: /etc/xoauth2/credstore.encrypted is root's, 0700"

xo_step "libsasl2 loads the plugin from the system directory (no SASL_PATH)"
LD_DEBUG=files saslpluginviewer -c >"$XO_TMP/viewer" 2>"$XO_TMP/viewer.ld"
grep -F "file=$SYSPLUGIN " "$XO_TMP/viewer.ld" | head -1 | sed 's/^ *[0-9]*: */   ld.so: /'
grep -q "file=$SYSPLUGIN " "$XO_TMP/viewer.ld" || xo_fail "saslpluginviewer did not load $SYSPLUGIN" "$XO_TMP/viewer"
# Each mechanism is offered by one plugin, ours ("Plugin NAME" line, then
# its "SASL mechanism: MECH" line).
awk '/^Plugin "/ {split($0, a, "\""); p = a[2]}
     /SASL mechanism: (XOAUTH2|OAUTHBEARER),/ {sub(/,.*/, "", $3); print $3, p}' \
    "$XO_TMP/viewer" | sort >"$XO_TMP/viewer.mechs"
[ "$(tr '\n' ' ' <"$XO_TMP/viewer.mechs")" = "OAUTHBEARER xoauth2 XOAUTH2 xoauth2 " ] \
    || xo_fail "saslpluginviewer -c: want XOAUTH2 and OAUTHBEARER from xoauth2 only" \
        "$XO_TMP/viewer.mechs" "$XO_TMP/viewer"
echo "   ok: saslpluginviewer -c lists xoauth2 (XOAUTH2, OAUTHBEARER)"

xo_step "IMAP logins through the installed plugin"
xo_start_oauth
xo_start_dovecot
USER=alice@example.com
imtest() {
    local mech=$1 pass=$2 out=$3
    xo_run_timeout 20 env -u SASL_PATH "$IMTEST" -m "$mech" -a "$USER" -w "$pass" \
        -p "$XO_IMAP_PORT" 127.0.0.1 <<<"A02 LOGOUT" >"$out" 2>&1
}
for mech in XOAUTH2 OAUTHBEARER; do
    imtest "$mech" "$(xo_grant "$USER")" "$XO_TMP/imtest-$mech.out"
    xo_assert_contains "$XO_TMP/imtest-$mech.out" '^Authenticated\.' "$mech, literal token: Authenticated."
done
xo_dovecot_wait_log "$(xo_dovecot_login_re imap "$USER" OAUTHBEARER)" "Dovecot logged the login"

xo_step "a token-file path: the plugin has the installed helper refresh it"
mkdir -m 700 "$XO_TMP/tokens"
TF=$XO_TMP/tokens/alice.json
xo_tokfile "$TF" "$USER" -60
at0=$(xo_token_field "$TF" access_token)
r0=$(xo_oauth_refreshes)
imtest XOAUTH2 "$TF" "$XO_TMP/imtest-file.out"
xo_assert_contains "$XO_TMP/imtest-file.out" '^Authenticated\.' "token file: Authenticated."
[ "$(xo_token_field "$TF" access_token)" != "$at0" ] || xo_fail "the token file was not refreshed"
[ $(($(xo_oauth_refreshes) - r0)) = 1 ] || xo_fail "server saw $(($(xo_oauth_refreshes) - r0)) refreshes, want 1"
echo "   ok: expired token refreshed once by /usr/bin/xoauth2-token, then logged in"

xo_step "the installed xoauth2-token: show, refresh, test"
export XDG_DATA_HOME=$XO_TMP/data
mkdir -p "$XDG_DATA_HOME/xoauth2"
chmod 700 "$XDG_DATA_HOME" "$XDG_DATA_HOME/xoauth2"
xo_tokfile "$XDG_DATA_HOME/xoauth2/work.json" "$USER" 100
xo_run_timeout 20 /usr/bin/xoauth2-token show work >"$XO_TMP/show" 2>&1
xo_assert_rc 0 "$XO_TMP/show"
xo_assert_contains "$XO_TMP/show" "^user: +$USER\$"
at0=$(xo_token_field "$XDG_DATA_HOME/xoauth2/work.json" access_token)
xo_run_timeout 20 /usr/bin/xoauth2-token refresh -v --all >"$XO_TMP/refresh" 2>&1
xo_assert_rc 0 "$XO_TMP/refresh"
xo_assert_contains "$XO_TMP/refresh" '^xoauth2-token: work: refreshed'
[ "$(xo_token_field "$XDG_DATA_HOME/xoauth2/work.json" access_token)" != "$at0" ] \
    || xo_fail "refresh did not change the access token"
xo_run_timeout 30 /usr/bin/xoauth2-token test work --imap "127.0.0.1:$XO_IMAP_PORT" --plain \
    >"$XO_TMP/test" 2>&1
xo_assert_rc 0 "$XO_TMP/test"

xo_step "the installed units pass systemd-analyze verify"
mkdir -p "$XO_TMP/units" "$XO_TMP/runtime"
for f in "$UNITDIR"/xoauth2-token-refresh@.{service,timer} \
    "$UNITDIR"/xoauth2-token-postfix.{service,timer}; do
    b=${f##*/}; cp "$f" "$XO_TMP/units/${b/@./@root.}"     # an instance
done
systemd-analyze verify --man=no "$XO_TMP"/units/* >"$XO_TMP/verify" 2>&1 \
    || xo_fail "systemd-analyze verify failed (system units)" "$XO_TMP/verify"
XDG_RUNTIME_DIR=$XO_TMP/runtime systemd-analyze --user verify --man=no \
    /usr/lib/systemd/user/xoauth2-token-refresh.{service,timer} >>"$XO_TMP/verify" 2>&1 \
    || xo_fail "systemd-analyze verify failed (user units)" "$XO_TMP/verify"
[ ! -s "$XO_TMP/verify" ] || xo_fail "systemd-analyze verify complained" "$XO_TMP/verify"
echo "   ok: no complaint"

xo_step "the installed bash completion"
out=$(bash -c '. /usr/share/bash-completion/completions/xoauth2-token
    COMP_WORDS=(xoauth2-token token ""); COMP_CWORD=2
    _xoauth2_token; echo "${COMPREPLY[*]}"' 2>&1)
[ "$out" = work ] || xo_fail "completing 'xoauth2-token token ' gave '$out', want 'work'"
echo "   ok: account names from the store"

xo_pass
