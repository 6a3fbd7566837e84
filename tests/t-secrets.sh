#!/bin/bash
# Secret hygiene: run every path that handles a secret -- the helper
# (refresh -v, token, show, list, test, each HTTP failure), the plugin in
# token-file and token mode through imtest (XOAUTH2 and OAUTHBEARER, the
# 401 challenge and the stale mark, a refresh by the plugin), and the
# plugin with its log at the highest level (SASL_LOG_PASS) through a small
# libsasl2 client compiled here -- with the most verbose logging the
# programs allow, then search every log, stderr capture and transcript,
# and the argv and environment of every process sampled while the helper
# and the clients ran (one refresh hangs a while so that the sampler sees
# it), for every access token, refresh token and client secret of the run,
# and, for the app-only leg (login --app-only with a certificate and with a
# client secret, renewals by the helper and the plugin, a hang, refusals),
# the app's client secret and every line of its private key, which must
# not be in the token files either.
# None may appear, except where they belong: the token files, the mock
# server's state, and the stdout of "xoauth2-token token" (its purpose).
#
# Why a slice, not the whole suite under a wrapper: the slice reaches every
# code path that prints, logs or passes on a secret (helper, plugin, both
# mechanisms, every failure message), runs in well under a minute, and the
# other scripts delete their logs and mask their transcripts.
#
# Left off on purpose: Dovecot's auth_debug_passwords and
# auth_verbose_passwords, which make Dovecot log the credentials it was
# given -- Dovecot's choice, not ours.  imtest's transcript carries the
# SASL message (base64, as the protocol does); its "C:" lines are left out
# of the base64-decoded search, not of the plain one.  And imtest -w TOKEN
# (the token itself as the password) puts the token in imtest's argv: that
# is imtest's interface, so the sampler runs only around token-file logins.
#
# XO_SECRETS_SELFTEST_LEAK=1 writes one secret into a log on purpose: the
# test must then fail (proves the search works end to end); =app writes a
# line of the app-only leg's private key.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_root
xo_require_cmd "$XO_IMTEST" dovecot cc "$XO_PYTHON"
xo_require_plugin
xo_require_helper --private-store
USER=alice@example.com
H=$XO_HELPER
LOGS=$XO_TMP/logs               # every capture to search
TOK=$XO_TMP/tokens              # token files: secrets belong here
mkdir -p "$LOGS" "$TOK"
chmod 700 "$TOK"
CLIENT_SECRET=xo-cs-$RANDOM$RANDOM-$RANDOM$RANDOM-confidential
N=0

xo_start_oauth
# t-secrets: as verbose as Dovecot gets without logging passwords
XO_DOVECOT_EXTRA='auth_verbose = yes
auth_debug = yes
auth_debug_passwords = no
auth_verbose_passwords = no
mail_debug = yes
verbose_proctitle = yes
log_debug = category=auth'
xo_start_dovecot
# A confidential client: every refresh sends the client secret.
xo_oauth -q client xoauth2-test "$CLIENT_SECRET"

# --- a libsasl2 client that logs everything the plugin says --------------------
# tests/plugin-start, built here as a plain program (the ASan runtime is
# preloaded below), with log_level 7 (SASL_LOG_PASS): every plugin message
# at every level, as "log: [LEVEL] ..." on stdout.
cc -I"$XO_TOP_BUILDDIR" -o "$XO_TMP/plugin-start" "$XO_TESTS_DIR/plugin-start.c" \
    -lsasl2 >"$LOGS/cc.out" 2>&1 \
    || xo_fail "cannot build the logging client (tests/plugin-start.c)" "$LOGS/cc.out"
# Its SASL options: every message (SASL_LOG_PASS), the helper's time.
LOG7=(log_level=7 xoauth2_helper_timeout=20)
SASLOG=("$XO_TMP/plugin-start")
# shellcheck disable=SC2206
[ -z "$XO_ASAN_ENV" ] || SASLOG=(env $XO_ASAN_ENV "$XO_TMP/plugin-start")

# --- running things, every output kept -------------------------------------------
# cap NAME CMD...: run CMD, stdout and stderr into $LOGS/NAME.{out,err}.
cap() {
    local name=$1; shift
    N=$((N + 1))
    xo_run_timeout 40 "$@" >"$LOGS/$N-$name.out" 2>"$LOGS/$N-$name.err" </dev/null
    [ "$XO_RC" != 124 ] && [ "$XO_RC" != 137 ] \
        || xo_fail "$name timed out" "$LOGS/$N-$name.err"
}

# imtest_file NAME MECH FILE: imtest with the token file's path as password.
imtest_file() {
    N=$((N + 1))
    xo_imtest 40 "$USER" "$2" "$3" "$LOGS/$N-$1.imtest" -v
}

# tokfile FILE EXPIRES_IN: a token file of a confidential client.
tokfile() { xo_tokfile "$1" "$USER" "$2" client_secret="$CLIENT_SECRET"; }

# --- the process sampler: xo_sampler_start (lib.sh) into $LOGS ---------------------
sampler_start() { xo_sampler_start "$LOGS/ps.samples" "$LOGS/ps.sweeps"; }
sampler_stop() { xo_sampler_stop; }

# ================================================================================
F=$TOK/work.json
sampler_start

xo_step "helper: refresh -v, token, show, list (token files of a confidential client)"
tokfile "$F" -10
cap refresh-v "$H" refresh -v --force "$F"
[ "$XO_RC" = 0 ] || xo_fail "refresh -v failed" "$LOGS/$N-refresh-v.err"
N=$((N + 1))
"$H" token "$F" >"$XO_TMP/token-stdout" 2>"$LOGS/$N-token.err" || true
cap show "$H" show "$F"
mkdir -p "$XDG_DATA_HOME/xoauth2"
chmod 700 "$XDG_DATA_HOME/xoauth2"
tokfile "$XDG_DATA_HOME/xoauth2/acct.json" 3600
cap list "$H" list
cap refresh-all "$H" refresh -v --all --force

xo_step "helper: every HTTP failure, verbose"
for fault in 500 badjson invalid_grant invalid_client norotate; do
    tokfile "$F" -10
    xo_oauth -q fault "$fault" --count 1
    cap "fault-$fault" "$H" refresh -v --force --timeout 5 "$F"
done
xo_oauth -q fault none

xo_step "helper: a hanging token endpoint (the sampler sees the helper for 3 s)"
tokfile "$F" -10
xo_oauth -q fault hang --count 1
cap fault-hang "$H" refresh -v --force --timeout 3 "$F"
[ "$XO_RC" = 75 ] || xo_fail "hang: exit $XO_RC" "$LOGS/$N-fault-hang.err"

xo_step "plugin runs the helper while the endpoint hangs (imtest, token file)"
# The plugin runs "HELPER refresh --margin N --time-limit L FILE", whose HTTP timeout is
# 30 s; a wrapper of the same name adds --timeout 3 to keep this short.
mkdir "$XO_TMP/wrap"
printf '#!/bin/sh\nshift\nexec %q refresh --timeout 3 "$@"\n' "$H" >"$XO_TMP/wrap/xoauth2-token"
chmod 755 "$XO_TMP/wrap/xoauth2-token"
tokfile "$F" -10
xo_oauth -q fault hang --count 1
XOAUTH2_HELPER=$XO_TMP/wrap/xoauth2-token imtest_file plugin-hang XOAUTH2 "$F"
[ "$XO_ELAPSED_MS" -ge 2900 ] || xo_fail "the plugin's refresh did not wait" "$LOGS/$N-plugin-hang.imtest"

xo_step "plugin: token-file logins through imtest -v (refresh by the plugin, then a fresh token)"
for mech in XOAUTH2 OAUTHBEARER; do
    tokfile "$F" -10
    imtest_file "file-expired-$mech" "$mech" "$F"
    xo_grep '^Authenticated\.' "$LOGS/$N-file-expired-$mech.imtest" \
        || xo_fail "$mech: no login" "$LOGS/$N-file-expired-$mech.imtest"
    imtest_file "file-valid-$mech" "$mech" "$F"
    xo_grep '^Authenticated\.' "$LOGS/$N-file-valid-$mech.imtest" \
        || xo_fail "$mech: no login" "$LOGS/$N-file-valid-$mech.imtest"
done

xo_step "plugin: a token expired at the server (401 challenge, stale mark, refresh)"
for mech in XOAUTH2 OAUTHBEARER; do
    tokfile "$F" 3600
    xo_oauth -q expire "$(xo_token_field "$F" access_token)"
    imtest_file "stale-$mech" "$mech" "$F"
    imtest_file "after-stale-$mech" "$mech" "$F"
    xo_grep '^Authenticated\.' "$LOGS/$N-after-stale-$mech.imtest" \
        || xo_fail "$mech: no login after the stale mark" "$LOGS/$N-after-stale-$mech.imtest"
done

xo_step "plugin with log_level 7 (SASL_LOG_PASS): refresh, valid, 401 challenge, helper failures"
for mech in XOAUTH2 OAUTHBEARER; do
    tokfile "$F" -10
    cap "saslog-refresh-$mech" "${SASLOG[@]}" -m "$mech" "$USER" "$F" "${LOG7[@]}"
    cap "saslog-401-$mech" "${SASLOG[@]}" -m "$mech" -c \
        '{"status":"401","schemes":"bearer","scope":"https://outlook.office.com/IMAP.AccessAsUser.All"}' \
        "$USER" "$F" "${LOG7[@]}"
    cap "saslog-after-401-$mech" "${SASLOG[@]}" -m "$mech" "$USER" "$F" "${LOG7[@]}"
done
tokfile "$F" -10
xo_oauth -q fault invalid_client --count 1
cap saslog-helper-fails "${SASLOG[@]}" -m XOAUTH2 "$USER" "$F" "${LOG7[@]}"
tokfile "$F" 200              # within the margin: the helper fails, token still used
xo_oauth -q fault 500 --count 1
cap saslog-helper-fails-valid "${SASLOG[@]}" -m XOAUTH2 "$USER" "$F" "${LOG7[@]}"
xo_grep '^log: \[' "$LOGS/$N-saslog-helper-fails-valid.out" \
    || xo_fail "the logging client logged nothing" "$LOGS/$N-saslog-helper-fails-valid.out"

xo_step "helper: xoauth2-token test (a libsasl2 client of its own), ok and refused"
tokfile "$F" -10
cap mailtest "$H" test --imap "127.0.0.1:$XO_IMAP_PORT" --plain --plugin-dir "$XO_PLUGIN_DIR" "$F"
[ "$XO_RC" = 0 ] || xo_fail "xoauth2-token test failed" "$LOGS/$N-mailtest.out" "$LOGS/$N-mailtest.err"
xo_oauth -q revoke "$(xo_token_field "$F" access_token)"
"$XO_PYTHON" - "$F" <<'PY'
import json, sys
p = sys.argv[1]; t = json.load(open(p)); t["expires_at"] = 2**31
open(p + ".n", "w").write(json.dumps(t))
PY
chmod 600 "$F.n"; mv "$F.n" "$F"
cap mailtest-refused "$H" test --imap "127.0.0.1:$XO_IMAP_PORT" --plain --plugin-dir "$XO_PLUGIN_DIR" "$F"
[ "$XO_RC" != 0 ] || xo_fail "a revoked token logged in" "$LOGS/$N-mailtest-refused.out"

xo_step "app-only: login (certificate, secret), token, show, renewals by the helper and the plugin, a hang, refusals"
if "$XO_PYTHON" -c 'import cryptography' 2>/dev/null; then
    CRED=$XO_TMP/creds
    mkdir -m 700 "$CRED"
    xo_app_cert "$CRED" app
    APP_SECRET=xo-app-$RANDOM$RANDOM-$RANDOM$RANDOM-secret
    printf '%s\n' "$APP_SECRET" >"$CRED/secret"
    chmod 600 "$CRED/secret"
    # What must never leave the credential files: the secret, and every
    # line of the key's PEM body.
    { echo "$APP_SECRET"; grep -v -- '-----' "$CRED/app.key"; } >"$XO_TMP/app-secrets"
    xo_oauth -q app secrets-app --mailbox "$USER" --cert "$CRED/app.crt" \
        --secret-file "$CRED/secret"
    A=$TOK/app.json
    AS=$TOK/app-secret.json
    APP=(--provider custom --app-only --client-id secrets-app --user "$USER"
         --token-endpoint "$XO_OAUTH_URL/token"
         --scope https://outlook.office365.com/.default)
    cap app-login "$H" login "$A" "${APP[@]}" --certificate "$CRED/app.crt" \
        --private-key "$CRED/app.key"
    [ "$XO_RC" = 0 ] || xo_fail "app-only login failed" "$LOGS/$N-app-login.err"
    cap app-login-secret "$H" login "$AS" "${APP[@]}" --client-secret-file "$CRED/secret"
    [ "$XO_RC" = 0 ] || xo_fail "app-only login (secret) failed" "$LOGS/$N-app-login-secret.err"
    cap app-refresh-v "$H" refresh -v --force "$A"
    cap app-refresh-secret-v "$H" refresh -v --force "$AS"
    cap app-show "$H" show "$A"
    cap app-show-secret "$H" show "$AS"
    xo_token_expire_file "$A" -10
    # The plugin's renewal while the endpoint hangs (the sampler sees the
    # helper, with the key loaded, for 3 s), then one that works.
    xo_oauth -q fault hang --count 1
    XOAUTH2_HELPER=$XO_TMP/wrap/xoauth2-token imtest_file app-plugin-hang XOAUTH2 "$A"
    imtest_file app-plugin-renews XOAUTH2 "$A"
    xo_grep '^Authenticated\.' "$LOGS/$N-app-plugin-renews.imtest" \
        || xo_fail "app-only: no login" "$LOGS/$N-app-plugin-renews.imtest"
    xo_oauth -q fault hang --count 1
    cap app-fault-hang "$H" refresh -v --force --timeout 3 "$A"
    xo_oauth -q fault hang --count 1
    cap app-fault-hang-secret "$H" refresh -v --force --timeout 3 "$AS"
    for fault in 500 invalid_client replay; do
        xo_oauth -q fault "$fault" --count 1
        cap "app-fault-$fault" "$H" refresh -v --force "$A"
    done
    xo_oauth -q fault invalid_client --count 1
    cap app-fault-secret "$H" refresh -v --force "$AS"
    xo_oauth -q fault none
    for f in "$A" "$AS"; do
        ! grep -qFf "$XO_TMP/app-secrets" "$f" || xo_fail "the app's secret or key is in $f"
    done
    echo "   ok: the app-only token files hold neither the secret nor the key"
else
    : >"$XO_TMP/app-secrets"
    echo "   (python3-cryptography not installed: app-only leg skipped)"
fi

# --- issue 21: an app's secrets from a command, systemd credentials, a key
# passphrase (helper/apponly.c through secret.h) --------------------------------
# Renewals (refresh -v) whose client secret comes from a command and from
# a systemd credential, and whose encrypted key (a credential) is opened
# with a passphrase from a command: the secret, the passphrase and the
# key's lines join the secrets the search below looks for (in every
# capture, log, token file, and the argv/environ of every process the
# sampler saw); the commands also copy their own and their parent's (the
# helper's) /proc cmdline and environ into $LOGS, so those are searched
# whatever the sampler caught.  Then, while a renewal of each waits on a
# hung token endpoint (every secret read and used), the helper's memory
# (xo_mem_count): the secret as read, the passphrase, the key's PEM lines
# and its private exponent (as DER and as BIGNUM limbs) are nowhere; the
# secret as the form sends it (URL-encoded: libcurl's copy), or for the
# key the certificate's thumbprint, is: the reader does see memory.
xo_step "secrets from a command, systemd credentials, a key passphrase (issue 21): renewals, then the helper's memory"
if "$XO_PYTHON" -c 'import cryptography' 2>/dev/null && command -v systemd-creds >/dev/null; then
    SRC=$XO_TMP/sources
    mkdir -m 700 "$SRC"
    # What a form encodes differently: the secret as read is only ever
    # in our buffers, which are wiped.
    SRC_SECRET="xo-src+$RANDOM$RANDOM/sec ret-$RANDOM$RANDOM"
    SRC_PASS=xo-pass-$RANDOM$RANDOM-$RANDOM$RANDOM
    printf '%s\n' "$SRC_SECRET" >"$SRC/secret"
    printf '%s\n' "$SRC_PASS" >"$SRC/pass"
    chmod 600 "$SRC/secret" "$SRC/pass"
    xo_app_cert "$SRC" app
    openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$SRC/app.key" -out "$SRC/app-enc.key" \
        -passout "file:$SRC/pass" 2>/dev/null || xo_fail "cannot encrypt the key"
    chmod 600 "$SRC/app-enc.key"
    xo_oauth -q app sources-app --mailbox "$USER" --cert "$SRC/app.crt" \
        --secret-file "$SRC/secret"
    SRC_FORM=$("$XO_PYTHON" -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe="-._~"))' "$SRC_SECRET")
    # 24 bytes from the middle of the private exponent, hex: as DER has
    # it (big-endian) and as BIGNUM limbs do (little-endian).
    SRC_D=$("$XO_PYTHON" - "$SRC/app.key" <<'PY'
import sys
from cryptography.hazmat.primitives import serialization
k = serialization.load_pem_private_key(open(sys.argv[1], "rb").read(), None)
d = k.private_numbers().d.to_bytes(256, "big")
print(d[100:124].hex(), d[::-1][100:124].hex())
PY
)
    { echo "$SRC_SECRET"; echo "$SRC_PASS"
      grep -hv -- '-----' "$SRC/app.key" "$SRC/app-enc.key"; } >>"$XO_TMP/app-secrets"
    # The commands: what they see of themselves and of the helper into
    # $LOGS (searched below), then the secret.
    mkdir -m 755 "$XO_TMP/srcbin"
    for what in secret pass; do
        printf '#!/bin/sh\nfor f in cmdline environ; do\n    cat /proc/$$/$f >%q/cmd-$$-%s-self-$f\n    cat /proc/$PPID/$f >%q/cmd-$$-%s-parent-$f\ndone\ncat %q\n' \
            "$LOGS" "$what" "$LOGS" "$what" "$SRC/$what" >"$XO_TMP/srcbin/print-$what"
        chmod 755 "$XO_TMP/srcbin/print-$what"
    done
    CD=$XO_TMP/credentials
    mkdir "$CD"
    { printf '%s\n' "$SRC_SECRET" | systemd-creds encrypt --with-key=host --name=xo_secret - "$SRC/xo_secret.cred" &&
      systemd-creds encrypt --with-key=host --name=xo_key "$SRC/app-enc.key" "$SRC/xo_key.cred"; } \
        2>"$LOGS/systemd-creds.err" || xo_fail "systemd-creds encrypt failed" "$LOGS/systemd-creds.err"
    for n in xo_secret xo_key; do
        systemd-creds decrypt --name="$n" "$SRC/$n.cred" "$CD/$n" 2>>"$LOGS/systemd-creds.err" \
            || xo_fail "systemd-creds decrypt failed" "$LOGS/systemd-creds.err"
        chmod 400 "$CD/$n"
    done
    chmod 500 "$CD"
    SAPP=(--provider custom --app-only --client-id sources-app --user "$USER"
          --token-endpoint "$XO_OAUTH_URL/token"
          --scope https://outlook.office365.com/.default)
    SC=$TOK/src-command.json
    SCR=$TOK/src-credential.json
    SK=$TOK/src-key.json
    cap src-login-command "$H" login "$SC" "${SAPP[@]}" \
        --client-secret-command "$XO_TMP/srcbin/print-secret"
    [ "$XO_RC" = 0 ] || xo_fail "login with a secret command failed" "$LOGS/$N-src-login-command.err"
    cap src-login-credential env CREDENTIALS_DIRECTORY="$CD" "$H" login "$SCR" "${SAPP[@]}" \
        --client-secret-credential xo_secret
    [ "$XO_RC" = 0 ] || xo_fail "login with a secret credential failed" "$LOGS/$N-src-login-credential.err"
    cap src-login-key env CREDENTIALS_DIRECTORY="$CD" "$H" login "$SK" "${SAPP[@]}" \
        --certificate "$SRC/app.crt" --private-key-credential xo_key \
        --key-passphrase-command "$XO_TMP/srcbin/print-pass"
    [ "$XO_RC" = 0 ] || xo_fail "login with an encrypted key credential failed" "$LOGS/$N-src-login-key.err"
    for f in "$SC" "$SCR" "$SK"; do
        cap "src-refresh-v-${f##*/}" env CREDENTIALS_DIRECTORY="$CD" "$H" refresh -v --force "$f"
        [ "$XO_RC" = 0 ] || xo_fail "refresh -v of $f failed" "$LOGS/$N-src-refresh-v-${f##*/}.err"
        cap "src-show-${f##*/}" "$H" show "$f"
        cap "src-status-${f##*/}" env CREDENTIALS_DIRECTORY="$CD" "$H" status -v "$f"
    done
    ls "$LOGS"/cmd-*-secret-parent-environ "$LOGS"/cmd-*-pass-parent-environ >/dev/null \
        || xo_fail "the commands recorded nothing"
    # mem_counts PID: in PID's writable memory, how many times: the secret
    # as read, the passphrase, the key's PEM lines, the private exponent,
    # the secret as the form sends it (into MEM_*).
    mem_counts() {
        local l hex
        MEM_RAW=$(xo_mem_count "$1" "$SRC_SECRET")
        MEM_PASS=$(xo_mem_count "$1" "$SRC_PASS")
        MEM_FORM=$(xo_mem_count "$1" "$SRC_FORM")
        MEM_LINES=0
        while read -r l; do
            MEM_LINES=$((MEM_LINES + $(xo_mem_count "$1" "$l")))
        done < <(grep -hv -- '-----' "$SRC/app.key" "$SRC/app-enc.key")
        MEM_D=0
        for hex in $SRC_D; do
            MEM_D=$((MEM_D + $(xo_mem_count "$1" "hex:$hex")))
        done
    }
    # While the request of the key's renewal waits on a hung endpoint,
    # the key is already gone: only the assertion, good for minutes, waits.
    hangs=$(xo_count "$XO_OAUTH_LOG" "hanging: injected fault")
    xo_oauth -q fault hang --count 1
    N=$((N + 1))
    CREDENTIALS_DIRECTORY=$CD "$H" refresh --force --timeout 20 "$SK" \
        >"$LOGS/$N-src-hang.out" 2>"$LOGS/$N-src-hang.err" </dev/null &
    pid=$!
    xo_poll 15 xo__count_ge "$XO_OAUTH_LOG" "hanging: injected fault" $((hangs + 1)) \
        || xo_fail "the renewal of $SK never reached the token endpoint" "$LOGS/$N-src-hang.err"
    mem_counts "$pid"
    tp=$(xo_mem_count "$pid" "$(xo_token_field "$SK" certificate_thumbprint)")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    xo_oauth -q fault none
    echo "   | ${SK##*/}, its request waiting: passphrase $MEM_PASS, key lines $MEM_LINES, private exponent $MEM_D; the certificate's thumbprint $tp"
    [ "$MEM_PASS" = 0 ] && [ "$MEM_LINES" = 0 ] && [ "$MEM_D" = 0 ] \
        || xo_fail "${SK##*/}: the key or its passphrase is in the helper's memory while its request waits"
    [ "$tp" -ge 1 ] || xo_fail "not even the thumbprint is in the helper's memory: the reader sees nothing"
    # After use: a renewal that recovers a file marked "needs login" runs
    # its notify command once the file is written, and waits for it; the
    # command holds the helper there until the test has read its memory.
    printf '#!/bin/sh\n: >%q\ni=0\nwhile [ ! -e %q ] && [ $i -lt 150 ]; do sleep 0.1; i=$((i + 1)); done\n' \
        "$XO_TMP/notify.waiting" "$XO_TMP/notify.release" >"$XO_TMP/srcbin/notify-wait"
    chmod 755 "$XO_TMP/srcbin/notify-wait"
    for f in "$SC" "$SCR" "$SK"; do
        "$XO_PYTHON" - "$f" "$XO_TMP/srcbin/notify-wait" <<'PY' || xo_fail "cannot mark $f"
import json, os, sys, time
p, notify = sys.argv[1:3]
t = json.load(open(p))
t.update(failures=1, failure_class="login", failed_at=int(time.time()) - 5,
         failure="marked by t-secrets", notify=notify)
fd = os.open(p + ".n", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(t).encode())
os.close(fd)
os.replace(p + ".n", p)
PY
        rm -f "$XO_TMP/notify.waiting" "$XO_TMP/notify.release"
        N=$((N + 1))
        CREDENTIALS_DIRECTORY=$CD "$H" refresh --force "$f" \
            >"$LOGS/$N-src-after.out" 2>"$LOGS/$N-src-after.err" </dev/null &
        pid=$!
        xo_poll 20 test -e "$XO_TMP/notify.waiting" \
            || xo_fail "the renewal of $f ran no notify command" "$LOGS/$N-src-after.err"
        mem_counts "$pid"
        seen=$(xo_mem_count "$pid" "$f")
        : >"$XO_TMP/notify.release"
        rc=0
        wait "$pid" || rc=$?
        [ "$rc" = 0 ] || xo_fail "the renewal of $f failed ($rc)" "$LOGS/$N-src-after.err"
        echo "   | ${f##*/}, after use: secret as read $MEM_RAW, as sent $MEM_FORM, passphrase $MEM_PASS, key lines $MEM_LINES, private exponent $MEM_D; the file's path $seen"
        [ "$MEM_RAW" = 0 ] && [ "$MEM_FORM" = 0 ] && [ "$MEM_PASS" = 0 ] &&
            [ "$MEM_LINES" = 0 ] && [ "$MEM_D" = 0 ] \
            || xo_fail "${f##*/}: a secret stays in the helper's memory after use (see above)"
        [ "$seen" -ge 1 ] || xo_fail "not even the file's path is in the helper's memory: the reader sees nothing"
    done
    echo "   ok: the secrets from a command and from credentials, the passphrase and the key are wiped once used"
else
    echo "   (python3-cryptography or systemd-creds missing: the issue 21 leg skipped)"
fi

sampler_stop

xo_step "plugin: direct token (not a file) through imtest (not sampled: the token is imtest's argv)"
for mech in XOAUTH2 OAUTHBEARER; do
    t=$(xo_grant "$USER")
    N=$((N + 1))
    xo_imtest 20 "$USER" "$mech" "$t" "$LOGS/$N-direct-$mech.imtest" -v
    xo_revoke "$t"
    N=$((N + 1))
    xo_imtest 20 "$USER" "$mech" "$t" "$LOGS/$N-direct-revoked-$mech.imtest" -v
done

if [ "${XO_SECRETS_SELFTEST_LEAK:-0}" = 1 ]; then
    echo "   (XO_SECRETS_SELFTEST_LEAK=1: writing a refresh token into a log)"
    echo "debug: refresh_token=$(xo_token_field "$F" refresh_token)" >>"$LOGS/leak.err"
elif [ "${XO_SECRETS_SELFTEST_LEAK:-0}" = app ]; then
    echo "   (XO_SECRETS_SELFTEST_LEAK=app: writing a line of the app's key into a log)"
    sed -n 2p "$XO_TMP/app-secrets" >>"$LOGS/leak.err"
fi

# ================================================================================
xo_step "search every log, capture, transcript and process sample for the run's secrets"
# Dovecot's log process writes asynchronously: stop the instance (every
# process of it gone), so that its log is complete.  The mock server
# flushes each line itself.
xo_stop_dovecot
cp "$XO_DOVECOT_LOG" "$LOGS/dovecot.log"
cp "$XO_TMP/dovecot/master.out" "$LOGS/dovecot-master.out" 2>/dev/null || true
cp "$XO_OAUTH_LOG" "$LOGS/oauth-server.log"
cp "$XO_TMP/oauth/server.err" "$LOGS/oauth-server.err" 2>/dev/null || true
cp "$XO_TMP/timings" "$LOGS/timings" 2>/dev/null || true
journal=
if command -v journalctl >/dev/null && journalctl -q -n 0 >/dev/null 2>&1; then
    journalctl -q --since "@${XO__T0%[.,]*}" >"$LOGS/journal" 2>/dev/null || true
    journal=" + journal"
fi

XO_APP_SECRETS=$XO_TMP/app-secrets \
"$XO_PYTHON" - "$XO_TMP/oauth/state/state.json" "$CLIENT_SECRET" "$LOGS" \
    "$TOK" "$XDG_DATA_HOME/xoauth2" "$XO_TMP/token-stdout" <<'PY' >"$XO_TMP/scan.out" 2>&1 || scan_rc=$?
import base64, binascii, glob, json, os, re, sys

state, client_secret, logs = sys.argv[1:4]
tokdirs, token_stdout = sys.argv[4:6], sys.argv[6]

st = json.load(open(state))
secrets = set(st["access"]) | set(st["refresh"]) | {client_secret}
for d in tokdirs:
    for p in glob.glob(os.path.join(d, "*.json")):
        try:
            t = json.load(open(p))
        except ValueError:
            continue
        for k in ("access_token", "refresh_token", "client_secret"):
            if isinstance(t.get(k), str) and t[k]:
                secrets.add(t[k])
# App-only credentials: the client secret and the key's PEM lines.
secrets |= {l.strip() for l in open(os.environ["XO_APP_SECRETS"]) if l.strip()}
secrets = {s for s in secrets if len(s) >= 12}
# What "xoauth2-token token" printed must be one of them (it is its job).
printed = open(token_stdout).read().strip()
if printed not in secrets:
    print("the token stdout is not a known access token: the collection is incomplete")
    sys.exit(2)

b64word = re.compile(rb"[A-Za-z0-9+/=_-]{24,}")

# Dovecot 2.3's auth_debug logs what the oauth2 passdb returns, the bearer
# token among it ("client passdb out: OK ... token=..."), even with
# auth_debug_passwords=no: Dovecot's logging, not ours; those lines only.
dovecot_own = re.compile(rb"^.* auth: Debug: client passdb out: OK\t.*\ttoken=.*$", re.M)

def decoded(data, skip_client_lines):
    out = []
    for line in data.splitlines():
        if skip_client_lines and line.startswith(b"C: "):
            continue
        for w in b64word.findall(line):
            for dec in (base64.b64decode, base64.urlsafe_b64decode):
                try:
                    out.append(dec(w + b"=" * (-len(w) % 4)))
                except (binascii.Error, ValueError):
                    pass
    return b"\n".join(out)

files = [p for p in glob.glob(os.path.join(logs, "**"), recursive=True)
         if os.path.isfile(p)]
leaks = []
nbytes = dovecot_lines = 0
for p in sorted(files):
    data = open(p, "rb").read()
    nbytes += len(data)
    if os.path.basename(p) == "dovecot.log":
        dovecot_lines += len(dovecot_own.findall(data))
        data = dovecot_own.sub(b"(Dovecot's passdb debug line)", data)
    dec = decoded(data, p.endswith(".imtest"))
    for s in secrets:
        b = s.encode()
        if b in data:
            leaks.append("%s: %s...%s (plain)" % (os.path.relpath(p, logs), s[:6], s[-3:]))
        elif b in dec:
            leaks.append("%s: %s...%s (inside base64)" % (os.path.relpath(p, logs), s[:6], s[-3:]))
print("%d secrets (%d in the server's state), %d files, %d bytes searched"
      % (len(secrets), len(st["access"]) + len(st["refresh"]), len(files), nbytes))
print("note: %d Dovecot auth_debug 'passdb out: OK ... token=' lines (Dovecot's) left out"
      % dovecot_lines)
for l in leaks:
    print("LEAK: " + l)
sys.exit(1 if leaks else 0)
PY
cat "$XO_TMP/scan.out"
[ "${scan_rc:-0}" = 0 ] || xo_fail "secrets found outside the token files (see LEAK lines)" "$XO_TMP/scan.out"
samples=$(cat "$LOGS/ps.sweeps" 2>/dev/null || echo 0)
[ "$samples" -ge 50 ] || xo_fail "only $samples process sweeps taken"
for re in "argv: $H refresh --margin [0-9]+ --time-limit [0-9.]+ $F \$" \
    "argv: $H refresh --timeout 3 --margin [0-9]+ --time-limit [0-9.]+ $F \$" "argv: $H refresh -v --force --timeout 3 $F \$" \
    "argv: [^ ]*/imtest -v -m XOAUTH2 -a $USER -w $F " "argv: $XO_TMP/plugin-start -m XOAUTH2 $USER $F " \
    ${A:+"argv: $H refresh -v --force --timeout 3 $A \$"} \
    ${A:+"argv: $H refresh --timeout 3 --margin [0-9]+ --time-limit [0-9.]+ $A \$"}; do
    grep -aEq -- "$re" "$LOGS/ps.samples" \
        || xo_fail "the sampler never saw /$re/"
done
# The plugin runs the helper with a clean environment: PATH and LC_ALL only
# (each helper run by the plugin directly that the sampler saw).
seen=0
for pid in $(grep -aE "^[0-9]+ argv: $H refresh --margin " "$LOGS/ps.samples" | cut -d' ' -f1); do
    # The environment sampled with that argv: the sampler writes a new
    # argv and a new environ of one sweep together, and writes nothing
    # that has not changed (then it is the last one recorded before).
    # Before its exec the plugin's child is still the client, with the
    # client's environment: that one does not count.
    env=$(awk -v p="$pid" -v h="$H refresh --margin " '
        $1 == p && $2 == "environ:" { e = $0; sub(/^[0-9]+ environ: /, "", e) }
        a { print ($1 == p && $2 == "environ:") ? e : last; exit }
        $1 == p && $2 == "argv:" && index($0, h) > 0 { a = 1; last = e }
        END { if (a) print last }' "$LOGS/ps.samples" | head -1)
    [ -z "$env" ] || [ "$env" = "PATH=/usr/local/bin:/usr/bin:/bin LC_ALL=C " ] \
        || xo_fail "the helper run by the plugin (pid $pid) had the environment: $env"
    seen=$((seen + 1))
done
echo "   ok: the $seen helper runs by the plugin seen had only PATH and LC_ALL in their environment"
echo "   ok: no secret in $(ls "$LOGS" | wc -l) captures, the Dovecot (auth_debug) and mock server logs$journal, nor in the argv/environ of any process over $samples sweeps (the helper run by the plugin, imtest, saslog among them)"

# ================================================================================
# The desktop keyring (login --keyring, helper/keyring.h; t-keyring.sh
# covers the rest): a refresh reads the refresh token from GNOME Keyring
# through xoauth2-keyring and stores the rotated one there.  Neither is
# in the argv or environment of the helper or of xoauth2-keyring (every
# execve, traced with its environment), nor in the token file or any
# output; and once stored, the rotated one is gone from the helper's
# memory: the helper, refreshing a second file whose token endpoint never
# answers, is read through /proc/PID/mem while it waits.
keyring_leg() {
    local K=$TOK/kr.json Hf=$TOK/kr-hang.json rt0 rt1 hrt hp pid n_old n_new n_ctl
    xo_step "keyring: no refresh token in argv, environ, the file, output, or the helper's memory once stored"
    xo_keyring_start
    xo_tokfile "$K" "$USER" -60 client_secret="$CLIENT_SECRET"
    xo_keyring_move "$K"
    rt0=$(xo_keyring_item kr)
    [ -n "$rt0" ] || xo_fail "no refresh token in the keyring"
    xo_require_cmd strace
    # LeakSanitizer cannot run under ptrace: off for this run (sanitizer
    # builds only; nothing otherwise).
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        xo_run_timeout 30 strace -f -v -s 65535 -e trace=execve \
        -o "$LOGS/keyring-execve.trace" "$H" refresh -v --force "$K" \
        >"$LOGS/keyring-refresh.out" 2>"$LOGS/keyring-refresh.err"
    xo_assert_rc 0 "$LOGS/keyring-refresh.err"
    grep -q 'execve("[^"]*/xoauth2-keyring", \["[^"]*", "lookup"' "$LOGS/keyring-execve.trace" &&
        grep -q 'execve("[^"]*/xoauth2-keyring", \["[^"]*", "store"' "$LOGS/keyring-execve.trace" ||
        xo_fail "the trace has no xoauth2-keyring lookup and store" "$LOGS/keyring-execve.trace"
    rt1=$(xo_keyring_item kr)
    [ -n "$rt1" ] && [ "$rt1" != "$rt0" ] || xo_fail "the keyring does not hold a rotated refresh token"
    for s in "$rt0" "$rt1"; do
        for f in "$LOGS"/keyring-* "$K" "$XO_TMP/keyring/daemon.log" "$XO_OAUTH_LOG"; do
            ! grep -qF -- "$s" "$f" || xo_fail "a refresh token of the keyring file is in $f (${s:0:6}...)"
        done
    done
    echo "   ok: not in the argv or environment of any execve, the token file, the captures or the logs"

    # A token endpoint that accepts and never answers, for the second file.
    "$XO_PYTHON" - "$XO_TMP/hang.port" "$XO_TMP/hang.accepted" <<'PY' &
import os, socket, sys, time
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(4)
open(sys.argv[1] + ".t", "w").write("%d\n" % ls.getsockname()[1])
os.replace(sys.argv[1] + ".t", sys.argv[1])
c, _ = ls.accept(); c.recv(65536)
open(sys.argv[2] + ".t", "w").write("accepted\n"); os.replace(sys.argv[2] + ".t", sys.argv[2])
time.sleep(120)
PY
    XO__PIDS+=("$!")
    xo_poll 10 test -s "$XO_TMP/hang.port" || xo_fail "the silent token endpoint did not start"
    hp=$(cat "$XO_TMP/hang.port")
    xo_tokfile "$Hf" "$USER" -60 client_secret="$CLIENT_SECRET" \
        token_endpoint="http://127.0.0.1:$hp/token"
    hrt=$(xo_token_field "$Hf" refresh_token)
    xo_token_expire_file "$K" -60
    "$H" refresh --jobs 1 --force --timeout 30 "$K" "$Hf" \
        >"$LOGS/keyring-mem.out" 2>"$LOGS/keyring-mem.err" &
    pid=$!
    xo_on_exit "kill $pid 2>/dev/null || true"
    xo_poll 20 test -s "$XO_TMP/hang.accepted" || xo_fail "the helper never reached the second file's endpoint" "$LOGS/keyring-mem.err"
    rt1=$rt0; rt0=$(xo_keyring_item kr)   # rt0: what the keyring held; now the new one
    n_new=$(xo_mem_count "$pid" "$rt0")
    n_old=$(xo_mem_count "$pid" "$rt1")
    n_ctl=$(xo_mem_count "$pid" "$hrt")
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    [ "$rt0" != "$rt1" ] || xo_fail "the first file was not refreshed before the second" "$LOGS/keyring-mem.err"
    # The second file's refresh token is being sent: the reader sees it.
    [ "$n_ctl" -ge 1 ] || xo_fail "the memory check sees nothing (the second file's token, being sent, is not there either)"
    [ "$n_new" = 0 ] || xo_fail "the rotated refresh token, stored in the keyring, is in the helper's memory $n_new time(s)"
    # The token it sent: libcurl's copy of the request, as for a refresh
    # token kept in the file (no more than that one).
    [ "$n_old" -le 1 ] || xo_fail "the keyring's refresh token, once sent, is in the helper's memory $n_old times"
    echo "   ok: while the helper waits on the next file: the stored token 0 times, the one sent $n_old (libcurl's request copy), the next file's $n_ctl (control)"
}
if command -v gnome-keyring-daemon >/dev/null && command -v secret-tool >/dev/null &&
    [ -x "$(dirname "$XO_HELPER")/xoauth2-keyring" ]; then
    keyring_leg
elif [ "${XO_REQUIRE_ALL:-0}" = 1 ]; then
    xo_fail "XO_REQUIRE_ALL=1 but the keyring leg cannot run (gnome-keyring, secret-tool or xoauth2-keyring missing)"
else
    echo "   note: keyring leg left out (gnome-keyring, secret-tool or xoauth2-keyring missing)"
fi

xo_pass
