#!/bin/bash
# The README's commands on Debian 13 "trixie", from any Debian machine:
# CI's trixie stage, and what to run by hand before saying "works on 13".
# As root:
#
#   tools/trixie.sh
#
# 1. creates a fresh, minimal trixie system with mmdebstrap (--variant=apt)
#    from the mirrors this machine's apt already uses (its sources for its
#    own release, with trixie in place of that release);
# 2. copies this clone into it (what is committed plus the changes in the
#    work tree, not the build products) at $XO_TRIXIE_CLONE;
# 3. runs there, as a new user in a root shell would, the README's
#        tools/build.sh demo
#        XO_REQUIRE_ALL=1 tools/build.sh check    (0 failures, 0 skips)
#    then builds the Debian packages against trixie and checks them
#    (tests/pkg/t-debs.sh: lintian, install, a login through the installed
#    plugin, purge);
# 4. unmounts and removes the system (XO_KEEP=1 keeps it, unmounted).
# Nothing is cached between runs: each one downloads and installs what a
# fresh machine would.  About 10 minutes on 2 idle cores; needs mmdebstrap and
# about 2 GB in $XO_TRIXIE_TMPDIR.
#
# Settings (environment):
#   XO_TRIXIE_CLONE    where the clone goes inside (default /root/xoauth2, as a clone in a root shell)
#   XO_TRIXIE_TMPDIR   where the system is made (default /var/tmp)
#   XO_TRIXIE_MIRROR, XO_TRIXIE_SECURITY_MIRROR
#                      the Debian archive and its security archive, when
#                      this machine's apt sources do not name them
#   XO_KEEP=1          keep the system afterwards (chroot DIR bash to look)
set -euo pipefail

SUITE=trixie
# /root/xoauth2 (mode 0700) is where a new user's clone is: the README says
# "in a root shell".  Tests that run the helper as nobody or postfix copy
# it where they can (tests/lib.sh, xo_share_build).
CLONE=${XO_TRIXIE_CLONE:-/root/xoauth2}
SRC=$(cd "$(dirname "$0")/.." && pwd)
T0=$SECONDS

say() { printf 'trixie.sh: %s\n' "$*"; }
die() { printf 'trixie.sh: %s\n' "$*" >&2; exit 1; }
took() { printf '%d min %02d s' $(($1 / 60)) $(($1 % 60)); }

[ "$(id -u)" = 0 ] || die "needs root (mmdebstrap, chroot, mounts): run it in a root shell or with sudo"
command -v mmdebstrap >/dev/null ||
    die "mmdebstrap is not installed: apt-get install mmdebstrap"
case $CLONE in
/*) ;;
*) die "XO_TRIXIE_CLONE must be an absolute path, not '$CLONE'" ;;
esac
git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1 || die "$SRC is not a git clone"

# host_mirrors: "ARCHIVE SECURITY", the URIs that this machine's apt
# sources (one-line .list and deb822 .sources) use for its own release
# CODENAME and for CODENAME-security.
host_mirrors() {
    local codename files=()
    codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
        /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] && files+=("$f")
    done
    [ -n "$codename" ] && [ ${#files[@]} -gt 0 ] || return 0
    awk -v main="$codename" -v sec="$codename-security" '
    function take(uri, suite) {
        sub(/\/+$/, "", uri)
        if (suite == main && m == "") m = uri
        if (suite == sec && s == "") s = uri
    }
    function flush(   i, j, n, k, u, su) {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled !~ /^no/) {
            n = split(uris, u, /[ \t]+/); k = split(suites, su, /[ \t]+/)
            for (i = 1; i <= n; i++)
                for (j = 1; j <= k; j++)
                    if (u[i] != "" && su[j] != "") take(u[i], su[j])
        }
        types = uris = suites = enabled = last = ""
    }
    FNR == 1 { flush() }
    /^[ \t]*#/ { next }
    FILENAME ~ /\.sources$/ {
        if ($0 ~ /^[ \t]*$/) { flush(); next }
        if ($0 ~ /^[ \t]/) {        # a continuation line
            if (last == "uris") uris = uris " " $0
            if (last == "suites") suites = suites " " $0
            next
        }
        k = tolower($0); sub(/:.*/, "", k)
        v = $0; sub(/^[^:]*:[ \t]*/, "", v)
        last = k
        if (k == "types") types = v
        else if (k == "uris") uris = v
        else if (k == "suites") suites = v
        else if (k == "enabled") enabled = tolower(v)
        next
    }
    $1 == "deb" {
        i = 2
        if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        take($i, $(i + 1))
    }
    END { flush(); print m, s }
    ' "${files[@]}"
}

read -r MIRROR SECURITY < <(host_mirrors) || true
MIRROR=${XO_TRIXIE_MIRROR:-${MIRROR:-}}
SECURITY=${XO_TRIXIE_SECURITY_MIRROR:-${SECURITY:-}}
[ -n "$MIRROR" ] && [ -n "$SECURITY" ] ||
    die "cannot find this machine's Debian archive and security archive in /etc/apt/sources.list{,.d} (found '${MIRROR:-}' and '${SECURITY:-}'): set XO_TRIXIE_MIRROR and XO_TRIXIE_SECURITY_MIRROR"

TMPROOT=${XO_TRIXIE_TMPDIR:-/var/tmp}
ROOT=$(mktemp -d "$TMPROOT/xoauth2-trixie.XXXXXX")
case $ROOT in *[[:space:]]*) rmdir "$ROOT"; die "XO_TRIXIE_TMPDIR must not contain spaces" ;; esac
MOUNTS=(proc sys dev dev/pts dev/shm)

# cleanup: stop what still runs in the system, unmount, remove.  Never
# removes anything while one of the bind mounts (the host's /dev, ...) is
# still there.
cleanup() {
    local rc=$? p i left
    trap - EXIT INT TERM HUP
    set +e
    for sig in TERM KILL; do
        left=
        for p in /proc/[0-9]*; do
            [ "$(readlink "$p/root" 2>/dev/null)" = "$ROOT" ] || continue
            kill "-$sig" "${p#/proc/}" 2>/dev/null && left=1
        done
        [ -n "$left" ] && [ $sig = TERM ] && sleep 2
    done
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        if mountpoint -q "$ROOT/${MOUNTS[i]}"; then
            umount "$ROOT/${MOUNTS[i]}" || umount -l "$ROOT/${MOUNTS[i]}"
        fi
    done
    # The system's own root mount, last (see step 1).
    if mountpoint -q "$ROOT"; then
        umount "$ROOT" || umount -l "$ROOT"
    fi
    if grep -qE " $ROOT(/| )" /proc/self/mounts; then
        echo "trixie.sh: something is still mounted under $ROOT; not removing it" >&2
        grep -E " $ROOT(/| )" /proc/self/mounts >&2
        [ "$rc" != 0 ] || rc=1
    elif [ "${XO_KEEP:-0}" = 1 ]; then
        say "XO_KEEP=1: kept the system in $ROOT (chroot $ROOT bash; remove it with rm -rf --one-file-system $ROOT)"
    else
        rm -rf --one-file-system "$ROOT"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

say "1. a fresh $SUITE system in $ROOT (archive $MIRROR, security $SECURITY)"
t=$SECONDS
# git: the new user cloned this repository with it.
mmdebstrap --quiet --variant=apt --components=main --include=git "$SUITE" "$ROOT" \
    "deb $MIRROR $SUITE main" "deb $MIRROR $SUITE-updates main" \
    "deb $SECURITY $SUITE-security main"
cp /etc/hosts "$ROOT/etc/hosts"
# Packages installed inside must not start their services (postfix,
# dovecot, ...): the tests start private instances of their own.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
# The system's / is a mount point of its own, as on a real machine (a
# chroot's root is only a directory): tests that enter a private mount
# namespace (t-sendmail: unshare --propagation private) make / private,
# which needs a mount there.  Private, so nothing mounted inside reaches
# this machine.
mount --bind "$ROOT" "$ROOT"
mount --make-private "$ROOT"
for m in "${MOUNTS[@]}"; do
    mount --bind "/$m" "$ROOT/$m"
done
T_SYSTEM=$((SECONDS - t))
say "   made in $(took $T_SYSTEM): $(cat "$ROOT/etc/debian_version")"

say "2. this clone, as committed plus the work tree's changes, at $CLONE"
[ ! -e "$ROOT$CLONE" ] || die "$CLONE already exists in the new system"
mkdir -p "$(dirname "$ROOT$CLONE")"
git clone -q --no-hardlinks "$SRC" "$ROOT$CLONE"
git -C "$SRC" ls-files -z -co --exclude-standard |
    (cd "$SRC" && tar --null --ignore-failed-read -T - -cf -) |
    tar -C "$ROOT$CLONE" -xf -
git -C "$SRC" ls-files -z --deleted | (cd "$ROOT$CLONE" && xargs -0r rm -f --)

# inside SCRIPT: run SCRIPT (bash) in the system, in the clone, with the
# environment of a fresh root login.
inside() {
    chroot "$ROOT" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
        PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        /bin/bash -euo pipefail -c "cd $(printf %q "$CLONE") && $1"
}

say "3. the README's first command: tools/build.sh demo"
t=$SECONDS
inside 'tools/build.sh demo'
T_DEMO=$((SECONDS - t))

say "4. the README's second command: XO_REQUIRE_ALL=1 tools/build.sh check"
t=$SECONDS
inside 'XO_REQUIRE_ALL=1 tools/build.sh check' ||
    { inside 'tail -n 300 tests/test-suite.log' || true; die "the suite failed on $SUITE"; }
inside 'grep -E "^# (TOTAL|PASS|SKIP|FAIL|ERROR):" tests/test-suite.log' | sed 's/^/   /'
inside '! grep -Eq "^# (SKIP|FAIL|ERROR|XPASS): +[1-9]" tests/test-suite.log' ||
    die "the suite had skips or failures on $SUITE"
T_CHECK=$((SECONDS - t))

say "5. the Debian packages, built against $SUITE: lintian, install, a login, purge"
t=$SECONDS
inside 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    debhelper dpkg-dev lintian fakeroot >/dev/null && XO_REQUIRE_ALL=1 bash tests/pkg/t-debs.sh'
T_DEBS=$((SECONDS - t))

say "OK on $SUITE in $(took $((SECONDS - T0))): system $(took $T_SYSTEM)," \
    "demo $(took $T_DEMO) (with the installs), check $(took $T_CHECK), packages $(took $T_DEBS)"
