#!/bin/bash
# Root refreshing a token file in a directory another user owns (a root
# timer refreshing postfix's files; issue 10 item 1):
#   - a PATH.lock hard-linked to a root file is refused, and that file
#     keeps its owner (today's attack: root fchown()ed it to the user);
#   - a normal refresh there works and everything it leaves belongs to
#     the directory's owner (the file work is done as that user);
#   - a failed refresh there leaves no PATH.tmp reservation behind;
#   - a file owned by someone else than its directory's owner is refused;
#   - a group- or world-writable directory (sticky /tmp-style too) is
#     refused, with the chmod that fixes it.
# Throwaway numeric uids with no passwd entry: no system config touched.
# fs.protected_hardlinks=1 stops a user from linking a file they do not
# own, so the test plays the attacker's part as root (root may link
# anything): the file system state is the one the attack leaves.
. "$(dirname "$0")/lib.sh"

xo_helper_built
[ "$(id -u)" = 0 ] || xo_skip "needs root (refreshes as root in another user's directory)"
export XDG_DATA_HOME=$XO_TMP/data
U=54321 V=54322

owner() { stat -c %u:%g:%a "$1"; }

xo_start_oauth
chmod 711 "$XO_TMP"		# the user must be able to reach its directory
D=$XO_TMP/victim
mkdir -m 700 "$D"
chown $U:$U "$D"
F=$D/x.json
xo_tokfile "$F" alice@example.com -10
chown $U:$U "$F"
printf 'root:secret-hash:0:0:::\n' >"$XO_TMP/decoy"	# stands for /etc/shadow
chmod 600 "$XO_TMP/decoy"
ln "$XO_TMP/decoy" "$F.lock"

xo_step "a hard-linked PATH.lock is refused and its target keeps its owner"
xo_run_timeout 20 "$XO_HELPER" refresh --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
rc=$XO_RC
[ "$(owner "$XO_TMP/decoy")" = 0:0:600 ] ||
    xo_fail "the linked file now has owner:group:mode $(owner "$XO_TMP/decoy")"
[ $rc != 0 ] || xo_fail "refresh succeeded through a hard-linked lock file" "$XO_TMP/err"
grep -q "refusing $F.lock: it has more than one link" "$XO_TMP/err" ||
    xo_fail "no message naming the lock file" "$XO_TMP/err"
echo "   ok: refused (rc $rc), decoy still 0:0:600"

xo_step "without the link, root refreshes and all it leaves is the user's"
rm "$F.lock"
rt0=$(grep -o '"refresh_token": "[^"]*"' "$F")
xo_run_timeout 20 "$XO_HELPER" refresh --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
[ "$(grep -o '"refresh_token": "[^"]*"' "$F")" != "$rt0" ] ||
    xo_fail "the rotated refresh token was not stored"
for f in "$F" "$F.lock"; do
    [ "$(stat -c %u:%g "$f")" = $U:$U ] || xo_fail "$f is $(stat -c %u:%g "$f"), want $U:$U"
done
[ ! -e "$F.tmp" ] || xo_fail "$F.tmp left behind"
echo "   ok: refreshed, file and lock owned by $U"

xo_step "a failed refresh there leaves no reservation behind"
xo_oauth fault 500 --count 1 >/dev/null || xo_fail "fault not set"
xo_run_timeout 20 "$XO_HELPER" refresh --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
xo_assert_rc nonzero "$XO_TMP/err"
[ ! -e "$F.tmp" ] || xo_fail "$F.tmp left behind after a failed refresh"
[ "$(stat -c %u:%g "$F")" = $U:$U ] || xo_fail "$F is $(stat -c %u:%g "$F"), want $U:$U"
echo "   ok: nothing left in $D"

xo_step "a file that is not its directory owner's is refused"
chown $V:$V "$F"
xo_run_timeout 20 "$XO_HELPER" refresh --force "$F" >"$XO_TMP/out" 2>"$XO_TMP/err"
rc=$XO_RC
[ $rc != 0 ] || xo_fail "refreshed a file of uid $V in uid $U's directory"
grep -q "refusing $F: its directory $D belongs to another user" "$XO_TMP/err" ||
    xo_fail "no message naming the directory" "$XO_TMP/err"
chown $U:$U "$F"
echo "   ok: refused (rc $rc)"

for mode in 1777 770; do
    xo_step "a directory with mode $mode is refused, with the chmod to run"
    T=$XO_TMP/open$mode
    mkdir "$T"
    chmod $mode "$T"
    xo_tokfile "$T/y.json" bob@example.com -10
    xo_run_timeout 20 "$XO_HELPER" refresh --force "$T/y.json" >"$XO_TMP/out" 2>"$XO_TMP/err"
    rc=$XO_RC
    [ $rc != 0 ] || xo_fail "refreshed a token file in a $mode directory"
    grep -q "its directory $T is writable by group or others.*run: chmod go-w $T\$" "$XO_TMP/err" ||
        xo_fail "no message with the chmod" "$XO_TMP/err"
    [ ! -e "$T/y.json.lock" ] && [ ! -e "$T/y.json.tmp" ] ||
        xo_fail "left files in $T"
    chmod go-w "$T"
    xo_run_timeout 20 "$XO_HELPER" refresh --force "$T/y.json" >"$XO_TMP/out" 2>"$XO_TMP/err"
    xo_assert_rc 0 "$XO_TMP/err"
    echo "   ok: refused (rc $rc); after chmod go-w it refreshes"
done

xo_pass
