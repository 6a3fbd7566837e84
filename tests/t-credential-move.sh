#!/bin/bash
# An app's long-lived secrets moved into systemd's encrypted credential
# store and back (`xoauth2-token credential encrypt|decrypt`, issue 21),
# run by root for a token file that a user (nobody) owns, as for
# xoauth2-token-refresh@nobody.service:
#   1. encrypt moves a private key (--all: the certificate stays a file)
#      and a client secret into $XOAUTH2_CREDSTORE/nobody/ACCOUNT-KIND
#      (this test's store, never /etc): root's, 0600, no plaintext in it,
#      decrypting only under the name the unit gives it (xoauth2_NAME,
#      systemd.exec(5)'s ID_FILENAME); the token file (still nobody's,
#      0600) names the credentials and no longer the files, which stay;
#      the command says how to check and the exact shred -u, and that
#      only the unit can renew;
#   2. a CREDENTIALS_DIRECTORY prepared as systemd does (decrypted, 0400
#      files and a 0500 directory of the renewer's): the unit's command
#      renews both accounts against the test OAuth server, then a real
#      login through the plugin (when the helper reads credentials:
#      secret.h, i21-secret/i21-apponly);
#   3. decrypt brings each back to a new 0600 file of nobody's, the token
#      file names it again, the encrypted copy is gone, and a renewal
#      without CREDENTIALS_DIRECTORY works;
#   4. --for postfix: postfix's token file, postfix's directory of the
#      store, the messages name xoauth2-token-postfix.service/.timer;
#   5. root lends nothing: the owner makes the secret's path a symlink to
#      /etc/shadow, a FIFO, or names a file of root's: refused, nothing
#      encrypted, the token file unchanged; a store others may enter,
#      and a caller who is not root: refused.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack openssl setpriv
xo_require_cmd systemd-creds
xo_require_helper
xo_require_crypto

U=nobody
G=$(id -gn "$U")
CID=5e3c1a7e-0d6b-4a39-9b1e-1f2a3b4c5d6e
CID2=8a1d2c3b-4e5f-4a6b-8c7d-9e0f1a2b3c4d
MBX=relay@example.com
chmod 711 "$XO_TMP"
export XOAUTH2_CREDSTORE=$XO_TMP/credstore
install -d -m 700 "$XOAUTH2_CREDSTORE"
CS=$XOAUTH2_CREDSTORE/$U

xo_start_mail_servers
H=$XO_TMP/home
D=$H/creds
install -d -o "$U" -g "$G" -m 700 "$H" "$D" "$H/data" "$H/data/xoauth2"
xo_app_cert "$D" app
xo_app_secret "$D/secret" "$CID2" "$MBX"
xo_oauth -q app "$CID" --mailbox "$MBX" --cert "$D/app.crt" \
    || xo_fail "cannot register the app"
chown "$U:$G" "$D"/*
FA=$H/data/xoauth2/contoso.json
FB=$H/data/xoauth2/fabrikam.json

# "${AS_USER[@]}" CMD...: CMD as nobody, with the user's store, in a clean
# environment (a unit's).
AS_USER=(setpriv --reuid="$U" --regid="$G" --clear-groups
         env -i PATH=/usr/bin:/bin HOME="$H" XDG_DATA_HOME="$H/data" LANG=C)
# run NAME CMD...: CMD (a helper command line, as root) into NAME.out.
run() {
    local name=$1; shift
    xo_run_timeout 30 "$@" >"$XO_TMP/$name.out" 2>&1
}
# renew NAME [CREDS_DIR]: the unit's command, as the unit runs it.
renew() {
    run "$1" "${AS_USER[@]}" ${2:+CREDENTIALS_DIRECTORY="$2"} "$XO_HELPER" \
        refresh --all --margin 2700
}

# renew_both NAME FROM [CREDS_DIR]: both token files due, the unit's
# command renews them (with the secrets from FROM, for messages).
renew_both() {
    local f
    xo_token_expire_file "$FA" -10; xo_token_expire_file "$FB" -10
    renew "$1" ${3:+"$3"}
    xo_assert_rc 0 "$XO_TMP/$1.out"
    for f in "$FA" "$FB"; do
        [ $(( $(xo_token_field "$f" expires_at) - $(date +%s) )) -gt 3000 ] \
            || xo_fail "${f##*/}: not renewed from $2" "$XO_TMP/$1.out"
    done
}

APP=(--provider custom --app-only --client-id "$CID" --user "$MBX"
     --token-endpoint "$XO_OAUTH_URL/token"
     --scope https://outlook.office365.com/.default)
run login-a "${AS_USER[@]}" "$XO_HELPER" login contoso "${APP[@]}" \
    --certificate "$D/app.crt" --private-key "$D/app.key"
xo_assert_rc 0 "$XO_TMP/login-a.out"
run login-b "${AS_USER[@]}" "$XO_HELPER" login fabrikam "${XO_APP_OPTS[@]}" \
    --client-secret-file "$D/secret"
xo_assert_rc 0 "$XO_TMP/login-b.out"
cp "$FA" "$XO_TMP/a.before"; cp "$FB" "$XO_TMP/b.before"

xo_step "credential encrypt: the key (--all) and the secret go to the store"
run enc-a "$XO_HELPER" credential encrypt "$FA" --all --with-key host
xo_assert_rc 0 "$XO_TMP/enc-a.out"
run enc-b "$XO_HELPER" credential encrypt "$FB" --secret --with-key host
xo_assert_rc 0 "$XO_TMP/enc-b.out"
for pair in contoso-key:2:"$D/app.key" fabrikam-secret:1:"$D/secret"; do
    n=${pair%%:*} f=${pair#*:*:} line=${pair#*:}; line=${line%%:*}
    [ -f "$CS/$n" ] || xo_fail "no $CS/$n"
    [ "$(stat -c '%U %a' "$CS" "$CS/$n" | tr '\n' ' ')" = "root 700 root 600 " ] \
        || xo_fail "$CS/$n: $(stat -c '%U %a' "$CS" "$CS/$n" | tr '\n' ' ')"
    ! grep -qF "$(sed -n "${line}p" "$f")" "$CS/$n" || xo_fail "$CS/$n holds the plaintext"
    systemd-creds decrypt --name="xoauth2_$n" "$CS/$n" - | cmp -s - "$f" \
        || xo_fail "$CS/$n does not decrypt to $f as xoauth2_$n"
    ! systemd-creds decrypt "$CS/$n" - >/dev/null 2>&1 \
        || xo_fail "$CS/$n decrypts under another name than xoauth2_$n"
    [ -f "$f" ] || xo_fail "$f was removed (the admin removes it once the unit renewed)"
done
ls -A "$CS" | grep -q '^\.' && xo_fail "a temporary file is left in $CS"
echo "   ok: $CS/contoso-key and fabrikam-secret: root's 0600, encrypted, named xoauth2_NAME inside; the plaintext files stay"
[ "$(xo_token_field "$FA" private_key_credential)" = xoauth2_contoso-key ] &&
    [ -z "$(xo_token_field "$FA" private_key_file)" ] &&
    [ "$(xo_token_field "$FA" certificate_file)" = "$D/app.crt" ] \
    || xo_fail "contoso's token file does not name the key's credential" "$FA"
[ "$(xo_token_field "$FB" client_secret_credential)" = xoauth2_fabrikam-secret ] &&
    [ -z "$(xo_token_field "$FB" client_secret_file)" ] \
    || xo_fail "fabrikam's token file does not name the secret's credential" "$FB"
[ "$(stat -c '%U %a' "$FA" "$FB" | tr '\n' ' ')" = "$U 600 $U 600 " ] \
    || xo_fail "the token files are not nobody's 0600 any more"
[ "$(xo_token_field "$FA" access_token)" = "$(xo_token_field "$XO_TMP/a.before" access_token)" ] \
    || xo_fail "encrypt changed the access token"
echo "   ok: the token files (nobody's, 0600) name xoauth2_contoso-key and xoauth2_fabrikam-secret, not the files"
xo_assert_contains "$XO_TMP/enc-a.out" \
    "check that the unit renews with it: systemctl start xoauth2-token-refresh@$U.service && xoauth2-token status $FA" \
    "how to check"
xo_assert_contains "$XO_TMP/enc-a.out" \
    "check that a renewal works with it: systemd-run --wait --pipe -p User=$U -p LoadCredentialEncrypted=xoauth2:$CS xoauth2-token refresh --force $FA" \
    "the forced renewal in a unit"
xo_assert_contains "$XO_TMP/enc-a.out" "then remove the plaintext private key: shred -u $D/app.key" "the shred"
xo_assert_contains "$XO_TMP/enc-b.out" "the plugin's own refresh cannot renew this account, the timer does; check it is enabled: systemctl enable --now xoauth2-token-refresh@$U.timer" \
    "the note that only the unit renews"
echo "   ok: it says how to check, the exact shred -u, and that only the timer renews"
run set-note "${AS_USER[@]}" "$XO_HELPER" set fabrikam --notify ''
xo_assert_rc 0 "$XO_TMP/set-note.out"
xo_assert_contains "$XO_TMP/set-note.out" "fabrikam: renewal needs a systemd credential, which only xoauth2-token-refresh@$U.service gets" \
    "set's note"
echo "   ok: set, on a file that names a credential, says the same"

xo_step "a CREDENTIALS_DIRECTORY as systemd makes it: the unit's command renews"
CD=$XO_TMP/run-credentials
mkdir -m 700 "$CD"
for f in "$CS"/*; do
    systemd-creds decrypt --name="xoauth2_${f##*/}" "$f" "$CD/xoauth2_${f##*/}"
done
printf placeholder >"$CD/xoauth2"      # SetCredential=xoauth2:placeholder
chown -R "$U:$G" "$CD"; chmod 400 "$CD"/*; chmod 500 "$CD"
# (Renewal reads credentials once app-only renewal goes through secret.h:
# the same change gives set and login their --client-secret-credential.)
if "$XO_HELPER" help --table | grep -q -- '^option set --client-secret-credential'; then
    renew_both renew-creds "the credentials" "$CD"
    echo "   ok: both renewed with the secrets from \$CREDENTIALS_DIRECTORY"
    run plugin "${AS_USER[@]}" "$XO_HELPER" test fabrikam --imap "127.0.0.1:$XO_IMAP_PORT" --plain \
        --plugin-dir "$XO_PLUGIN_DIR"
    xo_assert_rc 0 "$XO_TMP/plugin.out"
    echo "   ok: a login through the plugin with the renewed token"
else
    echo "   SKIPPED: this helper's app-only renewal does not read systemd credentials yet (i21-apponly)"
fi

xo_step "credential decrypt: back to new files, the encrypted copies gone"
run dec-a "$XO_HELPER" credential decrypt "$FA" --to "$D/app-back.key"
xo_assert_rc 0 "$XO_TMP/dec-a.out"
run dec-b "$XO_HELPER" credential decrypt "$FB" --secret --to "$D/secret-back"
xo_assert_rc 0 "$XO_TMP/dec-b.out"
cmp -s "$D/app-back.key" "$D/app.key" && cmp -s "$D/secret-back" "$D/secret" \
    || xo_fail "decrypt did not bring back the same bytes"
[ "$(stat -c '%U %a' "$D/app-back.key" "$D/secret-back" | tr '\n' ' ')" = "$U 600 $U 600 " ] \
    || xo_fail "the new files are not nobody's 0600"
[ "$(xo_token_field "$FA" private_key_file)" = "$D/app-back.key" ] &&
    [ -z "$(xo_token_field "$FA" private_key_credential)" ] &&
    [ "$(xo_token_field "$FB" client_secret_file)" = "$D/secret-back" ] &&
    [ -z "$(xo_token_field "$FB" client_secret_credential)" ] \
    || xo_fail "the token files do not name the files again" "$FA" "$FB"
[ -z "$(ls -A "$CS")" ] || xo_fail "left in the store: $(ls -A "$CS")"
echo "   ok: nobody's 0600 files, named again; the store is empty"
run dec-again "$XO_HELPER" credential decrypt "$FB" --to "$D/again"
xo_assert_rc 64 "$XO_TMP/dec-again.out"
xo_assert_contains "$XO_TMP/dec-again.out" "names no such systemd credential" "decrypt twice"
renew_both renew-files "the files"
echo "   ok: renewed from the files, without CREDENTIALS_DIRECTORY"

xo_step "--for postfix: postfix's store, postfix's directory of the credential store"
# A postfix instance as far as the setup reads it (postconf -c DIR).
PFD=$XO_TMP/pf
mkdir -p "$PFD"
printf 'queue_directory = %s\nmail_owner = postfix\n' "$PFD/q" >"$PFD/main.cf"
printf 'smtp unix - - n - - smtp\nrelay unix - - n - - smtp\n' >"$PFD/master.cf"
install -d -m 755 "$PFD/q"
install -d -o postfix -g postfix -m 700 "$PFD/q/xoauth2" "$PFD/creds"
install -o postfix -g postfix -m 600 "$D/secret" "$PFD/creds/relay.secret"
install -o postfix -g postfix -m 600 "$FB" "$PFD/q/xoauth2/relay.json"
python3 - "$PFD/q/xoauth2/relay.json" "$PFD/creds/relay.secret" <<'PY'
import json, os, sys
t = json.load(open(sys.argv[1])); t["client_secret_file"] = sys.argv[2]
t.pop("client_secret_credential", None); t["account"] = "relay"
open(sys.argv[1], "w").write(json.dumps(t))
PY
run pf-enc "$XO_HELPER" credential encrypt relay --for postfix --postfix-config "$PFD" --with-key host
xo_assert_rc 0 "$XO_TMP/pf-enc.out"
[ "$(stat -c '%U %a' "$XOAUTH2_CREDSTORE/postfix/relay-secret")" = "root 600" ] \
    || xo_fail "no root-owned $XOAUTH2_CREDSTORE/postfix/relay-secret"
[ "$(xo_token_field "$PFD/q/xoauth2/relay.json" client_secret_credential)" = xoauth2_relay-secret ] \
    || xo_fail "postfix's token file does not name the credential"
[ "$(stat -c %U "$PFD/q/xoauth2/relay.json")" = postfix ] || xo_fail "postfix's token file is not postfix's any more"
xo_assert_contains "$XO_TMP/pf-enc.out" "systemctl start xoauth2-token-postfix.service && xoauth2-token status $PFD/q/xoauth2/relay.json" "the postfix unit"
xo_assert_contains "$XO_TMP/pf-enc.out" "systemctl enable --now xoauth2-token-postfix.timer" "the postfix timer"
echo "   ok: $XOAUTH2_CREDSTORE/postfix/relay-secret, which xoauth2-token-postfix.service loads; the token file stays postfix's"
run pf-dec "$XO_HELPER" credential decrypt relay --for postfix --postfix-config "$PFD" --to "$PFD/creds/relay.secret.back"
xo_assert_rc 0 "$XO_TMP/pf-dec.out"
cmp -s "$PFD/creds/relay.secret.back" "$D/secret" && [ "$(stat -c '%U %a' "$PFD/creds/relay.secret.back")" = "postfix 600" ] \
    || xo_fail "postfix's secret did not come back as postfix's 0600 file"
echo "   ok: and back, as postfix's 0600 file"

xo_step "root lends nothing: a symlink to /etc/shadow, a FIFO, root's file"
# refused NAME WORDS: encrypt of fabrikam refused, nothing in the store,
# the token file as it was.
refused() {
    cp "$FB" "$XO_TMP/b.now"
    run "$1" "$XO_HELPER" credential encrypt "$FB"
    xo_assert_rc 77 "$XO_TMP/$1.out"
    xo_assert_contains "$XO_TMP/$1.out" "$2" "$1's message"
    [ -z "$(ls -A "$CS")" ] || xo_fail "$1: something was encrypted: $(ls -A "$CS")"
    cmp -s "$FB" "$XO_TMP/b.now" || xo_fail "$1: the token file changed"
    ! grep -q '^root:' "$XO_TMP/$1.out" || xo_fail "$1: shadow's text shown"
    echo "   ok: $1: refused ($2), nothing encrypted, the token file unchanged"
}
"${AS_USER[@]}" rm "$D/secret-back"
"${AS_USER[@]}" ln -s /etc/shadow "$D/secret-back"
refused shadow "refusing the client secret file $D/secret-back: not a regular file"
"${AS_USER[@]}" rm "$D/secret-back"
"${AS_USER[@]}" mkfifo -m 600 "$D/secret-back"
refused fifo "refusing the client secret file $D/secret-back: not a regular file"
"${AS_USER[@]}" rm "$D/secret-back"
install -m 600 /dev/null "$XO_TMP/root-secret"; echo root-only >"$XO_TMP/root-secret"
python3 - "$FB" "$XO_TMP/root-secret" <<'PY'
import json, os, sys
t = json.load(open(sys.argv[1])); t["client_secret_file"] = sys.argv[2]
open(sys.argv[1] + ".w", "w").write(json.dumps(t)); os.replace(sys.argv[1] + ".w", sys.argv[1])
PY
chown "$U:$G" "$FB"; chmod 600 "$FB"
refused rootfile "refusing the client secret file $XO_TMP/root-secret: the token file's owner, who renews it, cannot read it"

xo_step "a store others may enter, and a caller who is not root: refused"
cp "$D/secret" "$D/secret-back"; chown "$U:$G" "$D/secret-back"
python3 - "$FB" "$D/secret-back" <<'PY'
import json, os, sys
t = json.load(open(sys.argv[1])); t["client_secret_file"] = sys.argv[2]
open(sys.argv[1] + ".w", "w").write(json.dumps(t)); os.replace(sys.argv[1] + ".w", sys.argv[1])
PY
chown "$U:$G" "$FB"; chmod 600 "$FB"
chmod 755 "$CS"
refused openstore "it must be root's alone; run: chown root:root $CS && chmod 700 $CS"
chmod 700 "$CS"
run notroot "${AS_USER[@]}" "$XO_HELPER" credential encrypt fabrikam
xo_assert_rc 77 "$XO_TMP/notroot.out"
xo_assert_contains "$XO_TMP/notroot.out" "run it as root" "a user's encrypt"
echo "   ok: a user's credential encrypt is refused (root's work)"

xo_pass
