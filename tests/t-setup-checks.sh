#!/bin/bash
# Setup-time checks (issue 20): a setup that works today must not fail at
# 3 a.m.  `login --for postfix`, `postfix` and `set` check, as the user
# who will renew (postfix for its store, the file's owner otherwise), that
# the credential files the renewal reads and the helper programs are
# usable by that user; if not they refuse, write nothing, and print the
# exact install/chown/chmod, which this test runs before trying again.
# Before: the command succeeded and the first renewal, an hour later,
# could not read the secret.
#   1. a root-only secret (in a root-only directory) refused at
#      `login --for postfix --app-only --apply`: no store file, postfix's
#      configuration untouched, nothing sent; the printed install run, the
#      login with the copy succeeds;
#   2. a private key and certificate that are root's: refused the same
#      way; the chown/chmod printed run; the login succeeds;
#   3. `postfix --apply` on a store file whose secret postfix can no
#      longer read: refused, postfix's configuration untouched; fixed;
#   4. `set` on a user's app-only file whose secret the user cannot read:
#      refused, the file unchanged; fixed; set works; `set
#      --client-secret-file` naming a root-only secret: refused with the
#      install of a copy, which set then stores and a renewal uses;
#   5. `status -v` says, per file the renewal needs, ok or the problem and
#      its fix;
#   6. the helper itself: run from a directory others may write, setup
#      is refused with the chmod.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_relay_stack openssl
xo_require_crypto

MBX=relay@example.com
CID=0b1f0c36-9d44-4bd5-8e3a-6a5d7c2f1e01
CID2=7d3f3f0e-2a9b-4c55-b1f2-9b6e0e4a2c02
U=54321
xo_start_relay_servers
chmod 711 "$XO_TMP"
xo_pf_configure "$MBX" - packaged
RELAY="[127.0.0.1]:$XO_SUBMISSION_PORT"
STORE=$XO_PF_QUEUE/xoauth2
PLACE=$XO_PF_DIR/xoauth2

# The app's secret, root's, in root's directory (as in /root).
R=$XO_TMP/rootonly
xo_canary "$R"
xo_oauth -q app "$CID" --mailbox "$MBX" --secret-file "$R/secret" \
    || xo_fail "cannot register the app"
APP=(--provider custom --app-only --client-id "$CID" --user "$MBX"
     --token-endpoint "$XO_OAUTH_URL/token"
     --scope https://outlook.office365.com/.default)
FOR=(--for postfix --postfix-config "$XO_PF_DIR" --relay "$RELAY" --apply)

# pf_sum: a checksum of postfix's configuration (what --apply writes).
pf_sum() {
    cat "$XO_PF_DIR"/main.cf "$XO_PF_DIR"/sasl_passwd* 2>/dev/null | sha256sum
}

# run_fix OUT: runs, as root, the fix OUT printed ("run: CMD, and name
# ..." or "run: CMD" at the end of a line).
run_fix() {
    local fix
    fix=$(sed -n 's/.*; run: \(.*\)$/\1/p' "$1" | sed 's/, and name .* instead$//' | head -1)
    [ -n "$fix" ] || xo_fail "no fix printed" "$1"
    echo "   running the printed fix: $fix"
    bash -c "$fix" || xo_fail "the printed fix failed: $fix"
}

# refused OUT: the setup command was refused, saying nothing was written.
refused() {
    xo_assert_rc nonzero "$1"
    xo_assert_contains "$1" "refusing: the renewal runs as postfix|refusing: the renewal runs as $U" \
        "refused, naming who renews"
    xo_assert_contains "$1" "nothing was written"
}

xo_step "1. a root-only secret at login --for postfix --app-only --apply: refused"
before=$(pf_sum)
xo_run_timeout 60 "$XO_HELPER" login relay "${FOR[@]}" "${APP[@]}" \
    --client-secret-file "$R/secret" >"$XO_TMP/out" 2>&1
refused "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" \
    "client secret file $R/secret: postfix cannot read it: the renewal runs as postfix, and $R is closed to them; run: install -d -o postfix -g postfix -m 700 $PLACE && install -o postfix -g postfix -m 600 $R/secret $PLACE/secret, and name $PLACE/secret instead"
[ ! -e "$STORE/relay.json" ] || xo_fail "a store file was written" "$STORE/relay.json"
[ "$(pf_sum)" = "$before" ] || xo_fail "postfix's configuration changed"
[ "$(xo_oauth_stat app_grants)" = 0 ] || xo_fail "a token was asked for"
xo_assert_not_contains "$XO_TMP/out" "$XO_CANARY_SECRET" "the secret is not shown"
echo "   ok: no store file, postfix's configuration untouched, nothing sent"

xo_step "1. the printed install, then the login with the copy: done"
run_fix "$XO_TMP/out"
[ "$(stat -c '%U %a' "$PLACE/secret")" = "postfix 600" ] || xo_fail "the copy is $(stat -c '%U %a' "$PLACE/secret")"
xo_run_timeout 60 "$XO_HELPER" login relay "${FOR[@]}" "${APP[@]}" \
    --client-secret-file "$PLACE/secret" >"$XO_TMP/out" 2>&1
xo_assert_rc 0 "$XO_TMP/out"
[ "$(stat -c '%U' "$STORE/relay.json")" = postfix ] || xo_fail "no store file"
grep -q "$MBX:$STORE/relay.json\$" "$XO_PF_DIR/sasl_passwd" || xo_fail "sasl_passwd lacks the line" "$XO_PF_DIR/sasl_passwd"
xo_run_timeout 30 runuser -u postfix -- "$XO_HELPER" refresh --force "$STORE/relay.json" \
    >"$XO_TMP/renew.out" 2>&1
xo_assert_rc 0 "$XO_TMP/renew.out"
echo "   ok: set up, and postfix renews it"

xo_step "2. a private key and certificate of root's: refused, chown printed"
K=$XO_TMP/keys
install -d -m 755 "$K"
xo_app_cert "$K" relay2
xo_oauth -q app "$CID2" --mailbox "$MBX" --cert "$K/relay2.crt" \
    || xo_fail "cannot register the second app"
APP2=(--provider custom --app-only --client-id "$CID2" --user "$MBX"
      --token-endpoint "$XO_OAUTH_URL/token"
      --scope https://outlook.office365.com/.default
      --certificate "$K/relay2.crt" --private-key "$K/relay2.key")
before=$(pf_sum)
grants=$(xo_oauth_stat app_grants)
xo_run_timeout 60 "$XO_HELPER" login relay2 "${FOR[@]}" "${APP2[@]}" >"$XO_TMP/out" 2>&1
refused "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" \
    "private key $K/relay2.key: they cannot read it, and the renewal reads it as postfix, whose own it must be; run: chown postfix:postfix $K/relay2.key && chmod 600 $K/relay2.key"
xo_assert_contains "$XO_TMP/out" \
    "certificate $K/relay2.crt: not theirs, and the renewal reads it as postfix, whose own it must be; run: chown postfix:postfix $K/relay2.crt && chmod go-w $K/relay2.crt"
[ ! -e "$STORE/relay2.json" ] || xo_fail "a store file was written"
[ "$(pf_sum)" = "$before" ] || xo_fail "postfix's configuration changed"
[ "$(xo_oauth_stat app_grants)" = "$grants" ] || xo_fail "a token was asked for"
grep 'run: chown' "$XO_TMP/out" | sed 's/.*; run: //' >"$XO_TMP/fixes"
while read -r fix; do echo "   running: $fix"; bash -c "$fix" || xo_fail "fix failed: $fix"; done <"$XO_TMP/fixes"
xo_run_timeout 60 "$XO_HELPER" login relay2 "${FOR[@]}" "${APP2[@]}" >"$XO_TMP/out" 2>&1
xo_assert_rc 0 "$XO_TMP/out"
[ -e "$STORE/relay2.json" ] || xo_fail "no store file"
echo "   ok: refused with nothing written, then set up after the printed fixes"

xo_step "3. postfix --apply: the store file's secret is no longer postfix's"
chown root:root "$PLACE/secret"
before=$(pf_sum)
xo_run_timeout 60 "$XO_HELPER" postfix relay --postfix-config "$XO_PF_DIR" \
    --relay "$RELAY" --apply >"$XO_TMP/out" 2>&1
refused "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" \
    "client secret file $PLACE/secret: they cannot read it, and the renewal reads it as postfix, whose own it must be; run: chown postfix:postfix $PLACE/secret && chmod 600 $PLACE/secret"
[ "$(pf_sum)" = "$before" ] || xo_fail "postfix's configuration changed"
run_fix "$XO_TMP/out"
xo_run_timeout 60 "$XO_HELPER" postfix relay --postfix-config "$XO_PF_DIR" \
    --relay "$RELAY" --apply >"$XO_TMP/out" 2>&1
xo_assert_rc 0 "$XO_TMP/out"
echo "   ok: refused, then applied after the printed fix"

xo_step "4. set on a user's app-only file whose secret they cannot read"
D=$XO_TMP/u
xo_user_dir $U "$D"
install -m 600 "$R/secret" "$D/secret"        # root's, in the user's directory
xo_tokfile "$D/app.json" "$MBX" 3600 grant=client_credentials client_id="$CID" \
    refresh_token= scope=https://outlook.office365.com/.default \
    client_secret_file="$D/secret"
chown $U:$U "$D/app.json"
sum=$(sha256sum <"$D/app.json")
xo_run_timeout 30 "$XO_HELPER" set "$D/app.json" --no-proxy example.org >"$XO_TMP/out" 2>&1
refused "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" \
    "client secret file $D/secret: they cannot read it, and the renewal reads it as $U, whose own it must be; run: chown $U:$U $D/secret && chmod 600 $D/secret"
[ "$(sha256sum <"$D/app.json")" = "$sum" ] || xo_fail "the token file changed"
run_fix "$XO_TMP/out"
xo_run_timeout 30 "$XO_HELPER" set "$D/app.json" --no-proxy example.org >"$XO_TMP/out" 2>&1
xo_assert_rc 0 "$XO_TMP/out"
[ "$(xo_token_field "$D/app.json" no_proxy)" = example.org ] || xo_fail "set did not set" "$D/app.json"
echo "   ok: refused with the file unchanged, then set after the printed fix"

xo_step "4. set --client-secret-file: a root-only secret refused with the install; the copy taken"
install -m 600 "$R/secret" "$R/new.secret"
sum=$(sha256sum <"$D/app.json")
xo_run_timeout 30 "$XO_HELPER" set "$D/app.json" --client-secret-file "$R/new.secret" >"$XO_TMP/out" 2>&1
refused "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" \
    "client secret file $R/new.secret: $U cannot read it: the renewal runs as $U, and $R is closed to them; run: install -d -o $U -g $U -m 700 $D && install -o $U -g $U -m 600 $R/new.secret $D/new.secret, and name $D/new.secret instead"
[ "$(sha256sum <"$D/app.json")" = "$sum" ] || xo_fail "the token file changed"
run_fix "$XO_TMP/out"
xo_run_timeout 30 "$XO_HELPER" set "$D/app.json" --client-secret-file "$D/new.secret" >"$XO_TMP/out" 2>&1
xo_assert_rc 0 "$XO_TMP/out"
[ "$(xo_token_field "$D/app.json" client_secret_file)" = "$D/new.secret" ] || xo_fail "not stored" "$D/app.json"
xo_run_timeout 30 "$XO_HELPER" refresh --force "$D/app.json" >"$XO_TMP/renew.out" 2>&1
xo_assert_rc 0 "$XO_TMP/renew.out"
echo "   ok: refused, then the copy stored, and the renewal (as $U) uses it"

xo_step "5. status -v: one line per file the renewal needs"
xo_run_timeout 30 "$XO_HELPER" status -v "$D/app.json" "$STORE/relay2.json" >"$XO_TMP/out" 2>&1 || true
xo_assert_contains "$XO_TMP/out" "client secret file $D/new.secret: ok \\($U's, mode 0600\\)"
xo_assert_contains "$XO_TMP/out" "private key $K/relay2.key: ok \\(postfix's, mode 0600\\)"
xo_assert_contains "$XO_TMP/out" "certificate $K/relay2.crt: ok"
xo_assert_contains "$XO_TMP/out" "helper .*xoauth2-token-full: ok"
chmod 640 "$D/new.secret"
xo_run_timeout 30 "$XO_HELPER" status -v "$D/app.json" >"$XO_TMP/out" 2>&1 || true
xo_assert_contains "$XO_TMP/out" \
    "client secret file $D/new.secret: group or others have access to it; run: chmod 600 $D/new.secret"
chmod 600 "$D/new.secret"
echo "   ok: status -v says ok, or the problem and its fix"

xo_step "5. the user names root's files as their credentials: root's status -v and set read them as the user"
# The file's owner points client_secret_file at /etc/shadow, through a
# symlink of theirs and directly, and a FIFO: root checks it as $U, who
# can open none of them; nothing of /etc/shadow is shown, nothing hangs.
ln -s /etc/shadow "$D/evil.link"
mkfifo "$D/evil.fifo"
chown -h $U:$U "$D/evil.link" "$D/evil.fifo"
for evil in "$D/evil.link" /etc/shadow "$D/evil.fifo"; do
    xo_tokfile "$D/evil.json" "$MBX" 3600 grant=client_credentials client_id="$CID" \
        refresh_token= scope=https://outlook.office365.com/.default \
        client_secret_file="$evil"
    chown $U:$U "$D/evil.json"
    xo_run_timeout 30 "$XO_HELPER" status -v "$D/evil.json" >"$XO_TMP/out" 2>&1 || true
    xo_assert_contains "$XO_TMP/out" "client secret file $evil: " "status -v names the file"
    xo_assert_not_contains "$XO_TMP/out" "client secret file $evil: ok" "not ok"
    sum=$(sha256sum <"$D/evil.json")
    xo_run_timeout 30 "$XO_HELPER" set "$D/evil.json" --no-proxy example.org >"$XO_TMP/set.out" 2>&1
    refused "$XO_TMP/set.out"
    [ "$(sha256sum <"$D/evil.json")" = "$sum" ] || xo_fail "set changed the file" "$D/evil.json"
    for f in "$XO_TMP/out" "$XO_TMP/set.out"; do
        ! grep -q '^root:' "$f" || xo_fail "a line of /etc/shadow was shown" "$f"
    done
done
rm -f "$D/evil.json" "$D/evil.link" "$D/evil.fifo"
echo "   ok: a symlink to /etc/shadow, /etc/shadow itself and a FIFO: named, not ok, refused by set, nothing read"

xo_step "6. the helper in a directory its group may write: refused, chmod printed"
H=$XO_TMP/hbin
install -d -m 775 -g postfix "$H"
cp "$(dirname "$XO_HELPER")"/xoauth2-token "$(dirname "$XO_HELPER")"/xoauth2-token-full "$H"/
xo_run_timeout 60 "$H/xoauth2-token-full" login relay3 "${FOR[@]}" "${APP[@]}" \
    --client-secret-file "$PLACE/secret" >"$XO_TMP/out" 2>&1
refused "$XO_TMP/out"
xo_assert_contains "$XO_TMP/out" "helper $H/xoauth2-token-full: $H may be changed by group or others, who could replace the program; run: chmod go-w $H"
[ ! -e "$STORE/relay3.json" ] || xo_fail "a store file was written"
run_fix "$XO_TMP/out"
xo_run_timeout 60 "$H/xoauth2-token-full" login relay3 "${FOR[@]}" "${APP[@]}" \
    --client-secret-file "$PLACE/secret" >"$XO_TMP/out" 2>&1
xo_assert_rc 0 "$XO_TMP/out"
echo "   ok: refused, then set up after the printed chmod"

xo_pass
