#!/bin/sh
# Builds xoauth2 on Debian 12 or 13 and runs one make target (default: check).
# In a root shell (or with sudo in front):
#
#   tools/build.sh demo     # the end-to-end demo
#   tools/build.sh check    # the whole test suite
#
# As root it first installs the Debian packages the build and the tests
# need (only those missing).  As another user it installs nothing and
# says what is missing.  Extra arguments go to configure, e.g.
#   tools/build.sh check --enable-sanitizers
set -eu

target=${1:-check}
[ $# -gt 0 ] && shift

# build-essential: what dpkg-checkbuilddeps (tests/pkg/t-debs.sh) assumes.
BUILD_DEPS="build-essential autoconf automake libtool pkg-config make gcc libsasl2-dev
	libjson-c-dev libcurl4-openssl-dev libssl-dev libqrencode-dev libsecret-1-dev"
TEST_DEPS="sasl2-bin libsasl2-modules dovecot-imapd dovecot-pop3d
	dovecot-submissiond postfix cyrus-clients isync msmtp python3
	python3-aiosmtpd valgrind ca-certificates procps iproute2 mutt openssl systemd
	python3-cryptography curl chromium tinyproxy stress-ng universal-ctags
	strace nmh"
# login --keyring (t-keyring.sh): GNOME Keyring on a private session bus.
TEST_DEPS="$TEST_DEPS gnome-keyring libsecret-tools dbus-daemon libglib2.0-bin"
TEST_DEPS="$TEST_DEPS $(. /etc/os-release; [ "${VERSION_ID:-}" = 12 ] && echo libauthen-sasl-cyrus-perl || echo libauthen-sasl-xs-perl)"	# Perl through libsasl2 (t-perl-netsmtp.sh): Debian 12 has Authen::SASL::Cyrus, 13 only its successor Authen::SASL::XS

missing=
for p in $BUILD_DEPS $TEST_DEPS; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null |
	    grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "build.sh: missing Debian packages:$missing" >&2
		echo "build.sh: to install them, run it as root: $0 $target (in a root shell, or with sudo)" >&2
		exit 69
	fi
	echo "build.sh: installing:$missing"
	# postfix asks how to configure the system; our tests use private
	# instances, so the system one stays unconfigured.
	echo "postfix postfix/main_mailer_type select No configuration" |
	    debconf-set-selections
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
fi

# sendmail for tests/t-sendmail.sh: installing it would replace postfix, so
# only its packages are fetched (here, so the test needs no network); the
# test unpacks them and runs the binary in a private namespace.
SENDMAIL_DEBS=${XO_SENDMAIL_DEBS:-/var/cache/xoauth2-tests/sendmail}
if [ "$(id -u)" -eq 0 ] &&
    ! ls "$SENDMAIL_DEBS"/sendmail-cf_*.deb >/dev/null 2>&1; then
	echo "build.sh: fetching sendmail's packages into $SENDMAIL_DEBS"
	mkdir -p "$SENDMAIL_DEBS"
	fetch_sendmail() {
		(cd "$SENDMAIL_DEBS" && apt-get download -q \
		    -o APT::Sandbox::User=root \
		    sendmail-bin sendmail-base sendmail-cf)
	}
	fetch_sendmail || { apt-get update -q && fetch_sendmail; } ||
	    echo "build.sh: could not fetch sendmail's packages;" \
		"tests/t-sendmail.sh will skip" >&2
fi

cd "$(dirname "$0")/.."
[ -x configure ] || autoreconf -fi
if [ ! -f Makefile ] || [ $# -gt 0 ]; then
	./configure "$@"
fi
make -j"$(nproc)"
exec make -j"$(nproc)" "$target"
