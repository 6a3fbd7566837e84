#!/bin/bash
# Unsafe token files are refused, like ssh refuses a readable key: a mode
# with group or other bits (with the chmod to run), anything but a regular
# file (directory, FIFO, symlink).  Writers never follow a symlink planted
# at the temporary or lock path, and root keeps the file's owner.
. "$(dirname "$0")/lib.sh"

xo_helper_built --private-store

# refused NAME RC REGEX FILE CMD...: CMD must exit RC quickly with REGEX
# on stderr, nothing on stdout, and leave FILE as it was.
refused() {
    local name=$1 rc=$2 re=$3 file=$4; shift 4
    xo_step "$name"
    [ -f "$file" ] && cp -a "$file" "$XO_TMP/orig"
    xo_run_timeout 10 "$@" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc "$rc" "$XO_TMP/err"
    xo_assert_faster_than 3 "$XO_TMP/err"
    xo_assert_contains "$XO_TMP/err" "$re" "message: $(head -c 300 "$XO_TMP/err")"
    [ ! -s "$XO_TMP/out" ] || xo_fail "stdout not empty" "$XO_TMP/out"
    if [ -f "$file" ] && [ ! -L "$file" ]; then
        cmp -s "$file" "$XO_TMP/orig" || xo_fail "file changed"
        [ "$(stat -c %a "$file")" = "$(stat -c %a "$XO_TMP/orig")" ] || xo_fail "mode changed"
    fi
}

xo_start_oauth
F=$XO_TMP/perm.json
xo_tokfile "$F" alice@example.com -10

for mode in 644 640 604 660 620 602 610 601; do
    chmod "$mode" "$F"
    for cmd in token refresh show; do
        refused "mode 0$mode refused by $cmd" 77 \
            "^xoauth2-token: $F: refusing the token file: it is accessible by group or others \(mode 0$mode\); run: chmod 600 $F$" \
            "$F" "$XO_HELPER" "$cmd" "$F"
    done
done
chmod 700 "$F"
xo_step "mode 0700 accepted (only group and other bits matter)"
xo_run_timeout 10 "$XO_HELPER" show "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
chmod 600 "$F"
xo_step "mode 0600 accepted"
xo_run_timeout 10 "$XO_HELPER" token "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
chmod 400 "$F"
xo_step "mode 0400 accepted (and stays 0600 after a rewrite)"
xo_run_timeout 10 "$XO_HELPER" refresh --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ "$(stat -c %a "$F")" = 600 ] || xo_fail "mode $(stat -c %a "$F") after rewrite"

mkdir -p "$XDG_DATA_HOME/xoauth2"
mkdir "$XDG_DATA_HOME/xoauth2/dir.json"
refused "a directory" 77 "^xoauth2-token: dir: refusing $XDG_DATA_HOME/xoauth2/dir\.json: not a regular file$" \
    /nonexistent "$XO_HELPER" token dir

mkfifo -m 600 "$XO_TMP/fifo.json"
refused "a FIFO (must not block)" 77 "^xoauth2-token: $XO_TMP/fifo\.json: refusing the token file: not a regular file$" \
    /nonexistent "$XO_HELPER" token "$XO_TMP/fifo.json"

ln -s "$F" "$XO_TMP/link.json"
refused "a symlink to a good token file" 77 \
    "^xoauth2-token: $XO_TMP/link\.json: refusing the token file: it is a symbolic link; name the file itself$" \
    /nonexistent "$XO_HELPER" refresh --force "$XO_TMP/link.json"
[ -L "$XO_TMP/link.json" ] || xo_fail "the symlink was replaced"

xo_step "a symlink planted at FILE.tmp is not followed"
echo "victim" >"$XO_TMP/victim"
chmod 644 "$XO_TMP/victim"
ln -s "$XO_TMP/victim" "$F.tmp"
cp "$F" "$XO_TMP/before"
xo_run_timeout 10 "$XO_HELPER" refresh --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ "$(cat "$XO_TMP/victim")" = victim ] || xo_fail "the symlink's target was written"
[ "$(stat -c %a "$XO_TMP/victim")" = 644 ] || xo_fail "the symlink's target changed mode"
[ -f "$F" ] && [ ! -L "$F" ] || xo_fail "$F is not a regular file"
[ ! -e "$F.tmp" ] && [ ! -L "$F.tmp" ] || xo_fail "$F.tmp still there"
cmp -s "$F" "$XO_TMP/before" && xo_fail "not refreshed"
echo "   ok: victim untouched, $F refreshed"

xo_step "a dangling symlink at FILE.tmp does not create its target"
ln -s "$XO_TMP/created-by-attacker" "$F.tmp"
xo_run_timeout 10 "$XO_HELPER" refresh --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ ! -e "$XO_TMP/created-by-attacker" ] || xo_fail "the symlink was followed"

rm -f "$F.lock"
ln -s "$XO_TMP/victim" "$F.lock"
refused "a symlink at FILE.lock" 77 "^xoauth2-token: $F: refusing $F\.lock: not a regular file$" \
    "$F" "$XO_HELPER" refresh --force "$F"
[ "$(cat "$XO_TMP/victim")" = victim ] || xo_fail "the lock symlink's target was written"
rm -f "$F.lock"

if [ "$(id -u)" = 0 ]; then
    # root does the work for a user's file as that user (become.h), who
    # cannot write in root's directory: refused, nothing changed there.
    xo_step "root refreshing a user's file in root's directory: as the user, who may not write there"
    chown 65534:65534 "$F"
    rm -f "$F.lock"
    sum0=$(sha256sum "$F")
    xo_run_timeout 10 "$XO_HELPER" refresh --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc nonzero "$XO_TMP/err"
    xo_assert_contains "$XO_TMP/err" "Permission denied"
    [ "$(sha256sum "$F")" = "$sum0" ] || xo_fail "the file changed"
    [ "$(stat -c %u:%g:%a "$F")" = 65534:65534:600 ] \
        || xo_fail "after refresh: $(stat -c %u:%g:%a "$F"), want 65534:65534:600"
    [ ! -e "$F.lock" ] && [ ! -e "$F.tmp" ] || xo_fail "root left files in its directory for the user"
    echo "   ok: refused, 65534:65534 0600 kept, nothing created"
    if command -v setpriv >/dev/null; then
        xo_step "... and that user can still refresh it"
        # Give the user the directory (a 0777 one is refused: anyone
        # could hold the lock or plant FILE.tmp there).
        chown 65534:65534 "$XO_TMP"
        xo_run_timeout 10 setpriv --reuid 65534 --regid 65534 --clear-groups \
            "$XO_HELPER" refresh --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
        chown 0:0 "$XO_TMP"
        xo_assert_rc 0 "$XO_TMP/err"
    fi
fi

xo_pass
