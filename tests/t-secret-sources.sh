#!/bin/bash
# An app's long-lived secrets kept elsewhere than a plain file (issue 21),
# each case a login --app-only or a renewal against the test OAuth server,
# then a real login through the plugin (Cyrus imtest, the token file as
# its password, to the private Dovecot) with the token that came of it:
#   a. the client secret from a command (a script that prints it): run
#      without a shell (a word with a space stays one argument, '$HOME'
#      stays literal), the secret in no argv or environment of the
#      command or of the helper; show and status -v say where it lives;
#      naming a credential instead clears the command;
#   b. the client secret and the private key as systemd credentials:
#      `systemd-creds encrypt --with-key=host` output, decrypted into a
#      CREDENTIALS_DIRECTORY prepared as systemd does (a fresh directory,
#      0500, the renewer's; each credential 0400, the renewer's), given
#      to the login and the renewal only; without it, the clear message,
#      a nonzero exit, the token file's tokens unchanged;
#      a Google service account's key as a credential: the endpoint read
#      from it at login, renewed;
#   c. encrypted PEM keys, PKCS#8 (openssl pkcs8 -topk8 -v2 aes-256-cbc)
#      and traditional (openssl rsa -aes256 -traditional), with the
#      passphrase from a file, a credential, a command; a wrong
#      passphrase and a missing one: said as such, tokens unchanged; a
#      passphrase named for a key that has none: renews, status -v says so;
#   d. a command that fails, and one that hangs (XOAUTH2_SECRET_TIMEOUT=2):
#      bounded, said, its process group gone, tokens unchanged;
#   e. a token file postfix owns: a command is refused by set and by
#      login --for postfix, and a renewal does not run one written into
#      the file (a marker file proves it; the same script runs as postfix
#      by hand).
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_mail_stack openssl "$XO_IMTEST"
xo_require_cmd systemd-creds setpriv
xo_require_helper --private-store
xo_require_crypto
id postfix >/dev/null 2>&1 || xo_skip "no postfix account"

CID=5d1d5a4e-21a1-4c1b-9a1e-0fb1cbd0a521
MBX=relay@example.com
H=$XO_HELPER
xo_start_mail_servers --no-sink

D=$XO_TMP/creds
mkdir -m 700 "$D"
BIN=$XO_TMP/bin                 # the secret commands (postfix can run them)
mkdir -m 755 "$BIN"
LOG=$XO_TMP/cmdlog              # what the commands saw
mkdir -m 777 "$LOG"
# A client secret with what a shell or a form would mangle: a space, a +, a /.
SECRET="xo-cs+$RANDOM$RANDOM/sec ret-$RANDOM$RANDOM"
printf '%s\n' "$SECRET" >"$D/secret"
chmod 600 "$D/secret"
xo_app_cert "$D" app
PASS="xo-pp $RANDOM$RANDOM-$RANDOM"
printf '%s\n' "$PASS" >"$D/pass"
chmod 600 "$D/pass"
openssl pkcs8 -topk8 -v2 aes-256-cbc -in "$D/app.key" -out "$D/app-p8.key" \
    -passout "file:$D/pass" 2>/dev/null || xo_fail "openssl pkcs8 cannot encrypt the key"
openssl rsa -aes256 -traditional -in "$D/app.key" -out "$D/app-trad.key" \
    -passout "file:$D/pass" 2>/dev/null || xo_fail "openssl rsa cannot encrypt the key"
chmod 600 "$D/app-p8.key" "$D/app-trad.key"
grep -q '^-----BEGIN ENCRYPTED PRIVATE KEY-----' "$D/app-p8.key" || xo_fail "not PKCS#8 encrypted" "$D/app-p8.key"
grep -q '^Proc-Type: 4,ENCRYPTED' "$D/app-trad.key" || xo_fail "not a traditional encrypted key" "$D/app-trad.key"
xo_oauth -q app "$CID" --mailbox "$MBX" --cert "$D/app.crt" --secret-file "$D/secret" \
    || xo_fail "cannot register the app"
# What must never leave its place: the secret, the passphrase, the key's
# PEM lines (the encrypted forms' too).
{ echo "$SECRET"; echo "$PASS"; grep -hv -- '-----\|^Proc-Type\|^DEK-Info\|^$' \
    "$D/app.key" "$D/app-p8.key" "$D/app-trad.key"; } >"$XO_TMP/secrets"

LOGIN=(--provider custom --app-only --client-id "$CID" --user "$MBX"
       --token-endpoint "$XO_OAUTH_URL/token"
       --scope https://outlook.office365.com/.default)
S=$XDG_DATA_HOME/xoauth2

# helper NAME ARGS...: xoauth2-token ARGS; NAME.out (stdout, then stderr).
helper() {
    local name=$1; shift
    xo_run_timeout 30 "$H" "$@" >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    cat "$XO_TMP/$name.err" >>"$XO_TMP/$name.out"
}
grants() { xo_oauth_stat app_grants; }
# no_secrets FILE: none of the secrets is in FILE.
no_secrets() {
    ! grep -qF -f "$XO_TMP/secrets" "$1" || xo_fail "a secret is in ${1##*/}" "$1"
}
# imap_login NAME FILE: a real login through the plugin with FILE's token.
imap_login() {
    xo_imtest 30 "$MBX" XOAUTH2 "$2" "$XO_TMP/$1.imtest"
    xo_assert_contains "$XO_TMP/$1.imtest" '^Authenticated\.' \
        "$1: imtest logged in through the plugin with the token"
}
# renews NAME FILE [ENV...]: FILE expired, one `refresh --force` (with
# ENV) asks for one new app-only token, stores it, and the plugin logs in
# with it.
renews() {
    local name=$1 f=$2 old before
    shift 2
    xo_token_expire_file "$f" -60
    old=$(xo_token_field "$f" access_token)
    before=$(grants)
    xo_run_timeout 30 env "$@" "$H" refresh --force "$f" \
        >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    xo_assert_rc 0 "$XO_TMP/$name.err"
    xo_assert_renewed_once "app-only token request" "$before" "$(grants)" \
        "$f" access_token "$old"
    no_secrets "$f"
    no_secrets "$XO_TMP/$name.err"
    imap_login "$name" "$f"
}
# refused NAME FILE RC ERE [ENV...]: a forced refresh of FILE fails with RC
# and ERE, no token request is made, and the file keeps its tokens and
# credentials (only the health record may change).
refused() {
    local name=$1 f=$2 rc=$3 ere=$4 before
    shift 4
    cp -p "$f" "$XO_TMP/$name.before"
    before=$(grants)
    xo_run_timeout 30 env "$@" "$H" refresh --force "$f" \
        >"$XO_TMP/$name.out" 2>"$XO_TMP/$name.err"
    xo_assert_rc "$rc" "$XO_TMP/$name.err"
    xo_assert_contains "$XO_TMP/$name.err" "$ere" "$name: the message"
    [ "$(grants)" = "$before" ] || xo_fail "$name: a token request was made"
    xo_same_tokens "$f" "$XO_TMP/$name.before" || xo_fail "$name: the token file changed" "$f"
    no_secrets "$XO_TMP/$name.err"
    sed 's/^/   | /' "$XO_TMP/$name.err"
}
# member FILE NAME: the token file member NAME ("" if absent).
member() { xo_token_field "$1" "$2"; }

# ================================================================================
xo_step "a. the client secret from a command, run without a shell"
# It records what it was given and what it can see of itself and of its
# parent (the helper), then prints the secret from a root-only file.
cat >"$BIN/print-secret" <<EOF
#!/bin/sh
n=\$(ls "$LOG" | grep -c '^run\.' || true)
dir="$LOG/run.\$n"
mkdir "\$dir"
printf '%s\n' "\$#" >"\$dir/argc"
for a in "\$@"; do printf '[%s]\n' "\$a"; done >"\$dir/argv"
cat /proc/\$\$/cmdline >"\$dir/cmdline"
cat /proc/\$\$/environ >"\$dir/environ"
cat /proc/\$PPID/cmdline >"\$dir/parent-cmdline"
cat /proc/\$PPID/environ >"\$dir/parent-environ"
echo "print-secret: ran as uid \$(id -u)" >&2
cat "$D/secret"
EOF
chmod 755 "$BIN/print-secret"
CMD="$BIN/print-secret 'two words' '\$HOME' plain"
helper login-cmd login cmd "${LOGIN[@]}" --client-secret-command "$CMD"
xo_assert_rc 0 "$XO_TMP/login-cmd.out"
F=$S/cmd.json
[ "$(member "$F" client_secret_command)" = "$CMD" ] || xo_fail "client_secret_command is not the command as given" "$F"
[ -z "$(member "$F" client_secret_file)" ] || xo_fail "a client_secret_file too" "$F"
no_secrets "$F"
no_secrets "$XO_TMP/login-cmd.out"
[ -d "$LOG/run.0" ] || xo_fail "the login did not run the command" "$XO_TMP/login-cmd.out"
imap_login login-cmd "$F"
renews renew-cmd "$F"
[ -d "$LOG/run.1" ] || xo_fail "the renewal did not run the command"
for run in "$LOG"/run.*; do
    [ "$(cat "$run/argc")" = 3 ] || xo_fail "the command got $(cat "$run/argc") arguments, want 3" "$run/argv"
    [ "$(cat "$run/argv")" = "$(printf '[two words]\n[$HOME]\n[plain]')" ] \
        || xo_fail "the command's arguments were not its words as given (a shell?)" "$run/argv"
    for f in cmdline environ parent-cmdline parent-environ; do
        [ -s "$run/$f" ] || xo_fail "nothing read from /proc for $f" "$run/$f"
        ! grep -aqF -f "$XO_TMP/secrets" "$run/$f" || xo_fail "the secret is in the $f of ${run##*/}"
    done
done
grep -aq 'xoauth2-token' "$LOG/run.1/parent-cmdline" || xo_fail "the command's parent is not the helper" "$LOG/run.1/parent-cmdline"
echo "   ok: 3 words, one of them with a space, none expanded; no secret in the argv or environment of the command or of the helper"
xo_assert_contains "$XO_TMP/renew-cmd.err" 'print-secret: ran as uid 0' "the command's stderr reaches ours"

helper show-cmd show cmd
xo_assert_contains "$XO_TMP/show-cmd.out" "^client secret: +command $BIN/print-secret 'two words' '\\\$HOME' plain$" "show: where the client secret lives"
no_secrets "$XO_TMP/show-cmd.out"
helper status-cmd status -v cmd
xo_assert_contains "$XO_TMP/status-cmd.out" "^  cmd: the client secret: command $BIN/print-secret .*: ok \($BIN/print-secret is $BIN/print-secret, which root can run" "status -v: the command's program, checked"
# A program found through the caller's PATH only: a renewal the plugin
# starts has PATH=/usr/local/bin:/usr/bin:/bin, and status -v says so.
xo_run_timeout 30 env PATH="$BIN:$PATH" "$H" set cmd --client-secret-command "print-secret 'two words'" \
    >"$XO_TMP/set-bare.out" 2>&1
xo_assert_rc 0 "$XO_TMP/set-bare.out"
xo_run_timeout 30 env PATH="$BIN:$PATH" "$H" status -v cmd >"$XO_TMP/status-bare.out" 2>&1
xo_assert_contains "$XO_TMP/status-bare.out" "^  cmd: the client secret: command print-secret 'two words': ok \(print-secret is $BIN/print-secret, which root can run; what it prints is not checked here\); but not in the PATH a renewal the plugin starts has \(/usr/local/bin:/usr/bin:/bin\): name it by its full path$" "status -v: a program only the caller's PATH finds"
helper set-cmd-back set cmd --client-secret-command "$CMD"
xo_assert_rc 0 "$XO_TMP/set-cmd-back.out"
helper set-cmd-bad set cmd --client-secret-command "$BIN/print-secret | tee /tmp/x"
xo_assert_rc 64 "$XO_TMP/set-cmd-bad.out"
xo_assert_contains "$XO_TMP/set-cmd-bad.out" "--client-secret-command: the command does not split into words at byte [0-9]+: .*shell operator" "set refuses a command a shell would be needed for"
[ "$(member "$F" client_secret_command)" = "$CMD" ] || xo_fail "the refused set changed the file" "$F"
helper set-cmd-none set cmd --client-secret-command "xo-no-such-program --print"
xo_assert_rc 77 "$XO_TMP/set-cmd-none.out"
xo_assert_contains "$XO_TMP/set-cmd-none.out" "the client secret: command xo-no-such-program --print: root cannot find or run xo-no-such-program in PATH; name the program by its full path, or install it" "set: a command's program that the renewer cannot find"
[ "$(member "$F" client_secret_command)" = "$CMD" ] || xo_fail "the refused set changed the file" "$F"

# ================================================================================
xo_step "b. the client secret and the private key as systemd credentials (systemd-creds, host key)"
printf '%s\n' "$SECRET" | systemd-creds encrypt --with-key=host --name=xo_relay_secret - "$D/xo_relay_secret.cred" 2>"$XO_TMP/creds.err" \
    || xo_fail "systemd-creds encrypt failed" "$XO_TMP/creds.err"
systemd-creds encrypt --with-key=host --name=xo_relay_key "$D/app.key" "$D/xo_relay_key.cred" 2>>"$XO_TMP/creds.err" \
    || xo_fail "systemd-creds encrypt failed" "$XO_TMP/creds.err"
printf '%s\n' "$PASS" | systemd-creds encrypt --with-key=host --name=xo_relay_pass - "$D/xo_relay_pass.cred" 2>>"$XO_TMP/creds.err" \
    || xo_fail "systemd-creds encrypt failed" "$XO_TMP/creds.err"
for n in xo_relay_secret xo_relay_key xo_relay_pass; do
    no_secrets "$D/$n.cred"
done
# creds_dir DIR USER NAME...: DIR as systemd makes $CREDENTIALS_DIRECTORY
# for a unit running as USER with LoadCredentialEncrypted=NAME:...
creds_dir() {
    local dir=$1 user=$2 n
    shift 2
    mkdir "$dir"
    for n in "$@"; do
        systemd-creds decrypt --name="$n" "$D/$n.cred" "$dir/$n" 2>>"$XO_TMP/creds.err" \
            || xo_fail "systemd-creds decrypt $n failed" "$XO_TMP/creds.err"
        chmod 400 "$dir/$n"
        chown "$user:" "$dir/$n"
    done
    chmod 500 "$dir"
    chown "$user:" "$dir"
}
CREDS=$XO_TMP/credentials
creds_dir "$CREDS" root xo_relay_secret xo_relay_key xo_relay_pass
echo "   ok: $(ls "$CREDS" | wc -l) credentials decrypted into $CREDS (0500, each 0400)"

# The key as a credential, from the first token on.
helper login-nocreds login ckey "${LOGIN[@]}" --certificate "$D/app.crt" \
    --private-key-credential xo_relay_key
xo_assert_rc nonzero "$XO_TMP/login-nocreds.out"
xo_assert_contains "$XO_TMP/login-nocreds.out" "ckey: the private key is the systemd credential xo_relay_key \(private_key_credential\), and no \\\$CREDENTIALS_DIRECTORY is set here" "login without the unit's credentials: said"
[ ! -e "$S/ckey.json" ] || xo_fail "a failed login wrote a token file"
xo_run_timeout 30 env CREDENTIALS_DIRECTORY="$CREDS" "$H" login ckey "${LOGIN[@]}" \
    --certificate "$D/app.crt" --private-key-credential xo_relay_key \
    >"$XO_TMP/login-ckey.out" 2>&1
xo_assert_rc 0 "$XO_TMP/login-ckey.out"
xo_assert_contains "$XO_TMP/login-ckey.out" "ckey: renewal needs a systemd credential, which only xoauth2-token-refresh@root\.service gets: the plugin's own refresh cannot renew this account, the timer does" "login says who can renew"
FK=$S/ckey.json
[ "$(member "$FK" private_key_credential)" = xo_relay_key ] || xo_fail "private_key_credential" "$FK"
[ -z "$(member "$FK" private_key_file)" ] || xo_fail "a private_key_file too" "$FK"
no_secrets "$FK"
imap_login login-ckey "$FK"
renews renew-ckey "$FK" CREDENTIALS_DIRECTORY="$CREDS"
helper show-ckey show ckey
xo_assert_contains "$XO_TMP/show-ckey.out" "^private key: +systemd credential xo_relay_key$" "show: where the key lives"
helper status-ckey status -v ckey
xo_assert_contains "$XO_TMP/status-ckey.out" "^  ckey: the private key: systemd credential xo_relay_key: read only by the unit \(not checked here\)$" "status -v names the credential"

# The secret moved into a credential with set (the command's file).
helper set-csecret set cmd --client-secret-credential xo_relay_secret
xo_assert_rc 0 "$XO_TMP/set-csecret.out"
xo_assert_contains "$XO_TMP/set-csecret.out" "cmd: new credentials stored \(where they live, never the secrets\); the next renewal by the timer's unit uses them" "set: the timer's unit renews now"
xo_assert_contains "$XO_TMP/set-csecret.out" "cmd: renewal needs a systemd credential, which only xoauth2-token-refresh@root\.service gets" "set says who can renew now"
xo_assert_not_contains "$XO_TMP/set-csecret.out" "refresh --force" "set does not suggest a renewal by hand, which cannot read the credential"
[ "$(member "$F" client_secret_credential)" = xo_relay_secret ] || xo_fail "client_secret_credential" "$F"
[ -z "$(member "$F" client_secret_command)" ] || xo_fail "set kept the command beside the credential" "$F"
runs=$(ls "$LOG" | wc -l)
renews renew-csecret "$F" CREDENTIALS_DIRECTORY="$CREDS"
[ "$(ls "$LOG" | wc -l)" = "$runs" ] || xo_fail "the old command ran"
helper show-csecret show cmd
xo_assert_contains "$XO_TMP/show-csecret.out" "^client secret: +systemd credential xo_relay_secret$" "show: the secret is a credential now"

xo_step "b. without the unit's CREDENTIALS_DIRECTORY: said, nonzero, tokens unchanged"
refused nocreds-secret "$F" 75 "the client secret is the systemd credential xo_relay_secret \(client_secret_credential\), and no \\\$CREDENTIALS_DIRECTORY is set here: .*systemctl start"
refused nocreds-key "$FK" 75 "the private key is the systemd credential xo_relay_key \(private_key_credential\), and no \\\$CREDENTIALS_DIRECTORY is set here"
mkdir -m 500 "$XO_TMP/other-unit"
refused othercreds "$FK" 78 "no credential xo_relay_key in \\\$CREDENTIALS_DIRECTORY \($XO_TMP/other-unit\): the unit that runs this does not load the private key; add LoadCredentialEncrypted=xo_relay_key:FILE" \
    CREDENTIALS_DIRECTORY="$XO_TMP/other-unit"


xo_step "b. a Google service account's key as a systemd credential"
SAMBX=alice@example.com
xo_service_account_key "$D/sa.json" relay@xoauth2-test.iam.gserviceaccount.com
xo_oauth -q service-account --key-file "$D/sa.json"
grep -v -- '-----' <("$XO_PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["private_key"])' "$D/sa.json") \
    | grep . >>"$XO_TMP/secrets"
systemd-creds encrypt --with-key=host --name=xo_relay_sa "$D/sa.json" "$D/xo_relay_sa.cred" 2>>"$XO_TMP/creds.err" \
    || xo_fail "systemd-creds encrypt failed" "$XO_TMP/creds.err"
CREDS2=$XO_TMP/credentials-sa
creds_dir "$CREDS2" root xo_relay_sa
xo_run_timeout 30 env CREDENTIALS_DIRECTORY="$CREDS2" "$H" login gsa --provider google \
    --service-account-credential xo_relay_sa --user "$SAMBX" >"$XO_TMP/login-gsa.out" 2>&1
xo_assert_rc 0 "$XO_TMP/login-gsa.out"
FG=$S/gsa.json
[ "$(member "$FG" grant)" = jwt_bearer ] && [ "$(member "$FG" service_account_credential)" = xo_relay_sa ] &&
    [ -z "$(member "$FG" service_account_file)" ] &&
    [ "$(member "$FG" token_endpoint)" = "$XO_OAUTH_URL/token" ] \
    || xo_fail "the service account's file: grant, credential, or the endpoint read from the key" "$FG"
no_secrets "$FG"
xo_imtest 30 "$SAMBX" XOAUTH2 "$FG" "$XO_TMP/login-gsa.imtest"
xo_assert_contains "$XO_TMP/login-gsa.imtest" '^Authenticated\.' "imtest logged in as $SAMBX with the service account's token"
xo_token_expire_file "$FG" -60
old=$(xo_token_field "$FG" access_token)
xo_run_timeout 30 env CREDENTIALS_DIRECTORY="$CREDS2" "$H" refresh --force "$FG" >"$XO_TMP/renew-gsa.out" 2>&1
xo_assert_rc 0 "$XO_TMP/renew-gsa.out"
xo_assert_token_renewed "$FG" "$old" "the service account's token was not renewed"
xo_imtest 30 "$SAMBX" XOAUTH2 "$FG" "$XO_TMP/renew-gsa.imtest"
xo_assert_contains "$XO_TMP/renew-gsa.imtest" '^Authenticated\.' "imtest logged in with the renewed token"
helper show-gsa show gsa
xo_assert_contains "$XO_TMP/show-gsa.out" "^service account: systemd credential xo_relay_sa$" "show: where the service account's key lives"

# ================================================================================
xo_step "c. encrypted PEM keys (PKCS#8, traditional), the passphrase from a file, a credential, a command"
printf '#!/bin/sh\ncat %q\n' "$D/pass" >"$BIN/print-pass"
chmod 755 "$BIN/print-pass"
helper login-enc login enc "${LOGIN[@]}" --certificate "$D/app.crt" \
    --private-key "$D/app-p8.key" --key-passphrase-file "$D/pass"
xo_assert_rc 0 "$XO_TMP/login-enc.out"
FE=$S/enc.json
[ "$(member "$FE" private_key_passphrase_file)" = "$D/pass" ] || xo_fail "private_key_passphrase_file" "$FE"
no_secrets "$FE"
imap_login login-enc "$FE"
for key in app-p8 app-trad; do
    for src in file credential command; do
        case $src in
        file)       opt=(--key-passphrase-file "$D/pass") ;;
        credential) opt=(--key-passphrase-credential xo_relay_pass) ;;
        command)    opt=(--key-passphrase-command "$BIN/print-pass") ;;
        esac
        helper "set-$key-$src" set enc --private-key "$D/$key.key" "${opt[@]}"
        xo_assert_rc 0 "$XO_TMP/set-$key-$src.out"
        n=0
        for m in private_key_passphrase_file private_key_passphrase_credential private_key_passphrase_command; do
            [ -n "$(member "$FE" "$m")" ] && n=$((n + 1))
        done
        [ "$n" = 1 ] || xo_fail "$key, $src: $n passphrase members in the file, want 1" "$FE"
        renews "renew-$key-$src" "$FE" CREDENTIALS_DIRECTORY="$CREDS"
    done
done
helper set-enc-file set enc --private-key "$D/app-p8.key" --key-passphrase-file "$D/pass"
xo_assert_rc 0 "$XO_TMP/set-enc-file.out"
helper status-enc status -v enc
xo_assert_contains "$XO_TMP/status-enc.out" "^  enc: the private key $D/app-p8\.key: ok \(root's, mode 0600, encrypted: opened with the passphrase from file $D/pass\)$" "status -v: the encrypted key and where its passphrase is"
xo_assert_contains "$XO_TMP/status-enc.out" "^  enc: the key passphrase file $D/pass: ok \(root's, mode 0600\)$" "status -v: the passphrase file, checked"
helper set-enc-cmd set enc --key-passphrase-command "$BIN/print-pass"
xo_assert_rc 0 "$XO_TMP/set-enc-cmd.out"
[ -z "$(member "$FE" private_key_passphrase_file)" ] || xo_fail "set kept the passphrase file beside the command" "$FE"
helper show-enc show enc
xo_assert_contains "$XO_TMP/show-enc.out" "^key passphrase: +command $BIN/print-pass$" "show: where the passphrase lives"

xo_step "c. a wrong passphrase, a missing one: said as such, tokens unchanged"
printf 'not the passphrase\n' >"$D/wrong"
chmod 600 "$D/wrong"
for key in app-p8 app-trad; do
    helper "set-wrong-$key" set enc --private-key "$D/$key.key" --key-passphrase-file "$D/wrong"
    xo_assert_rc 0 "$XO_TMP/set-wrong-$key.out"
    refused "wrong-$key" "$FE" 78 "the key passphrase from $D/wrong does not open the private key $D/$key\.key: a wrong passphrase \(or a damaged key\)"
    xo_assert_not_contains "$XO_TMP/wrong-$key.err" 'error:[0-9A-F]{8}|routines|PEM_read' "no OpenSSL error dump"
done
# set checks what the renewal will need: a key it cannot open is refused.
cp -p "$FE" "$XO_TMP/enc.before"
helper set-nopass set enc --key-passphrase-file ''
xo_assert_rc 77 "$XO_TMP/set-nopass.out"
xo_assert_contains "$XO_TMP/set-nopass.out" "enc: the private key $D/app-trad\.key: protected by a passphrase, and the token file names none; run: xoauth2-token set ACCOUNT with --key-passphrase-file FILE, --key-passphrase-credential NAME or --key-passphrase-command CMD" "set refuses to leave an encrypted key without its passphrase"
cmp -s "$FE" "$XO_TMP/enc.before" || xo_fail "the refused set changed the file" "$FE"
# A login that forgets it: its first token request says so.
helper login-nopass login enc2 "${LOGIN[@]}" --certificate "$D/app.crt" --private-key "$D/app-p8.key"
xo_assert_rc 78 "$XO_TMP/login-nopass.out"
NOPASS="the private key $D/app-p8\.key is protected by a passphrase, and the token file names none; name where it is with xoauth2-token set ACCOUNT and one of --key-passphrase-file FILE, --key-passphrase-credential NAME \(a systemd credential\) or --key-passphrase-command CMD; or store the key without one"
xo_assert_contains "$XO_TMP/login-nopass.out" "enc2: $NOPASS" "login: the encrypted key, and the three ways to name its passphrase"
[ ! -e "$S/enc2.json" ] || xo_fail "a failed login wrote a token file"
# A file that lost its passphrase member (edited by hand): the renewal says so.
helper set-p8 set enc --private-key "$D/app-p8.key" --key-passphrase-file "$D/pass"
xo_assert_rc 0 "$XO_TMP/set-p8.out"
"$XO_PYTHON" - "$FE" <<'PY' || xo_fail "cannot edit $FE"
import json, os, sys
p = sys.argv[1]
t = json.load(open(p))
del t["private_key_passphrase_file"]
fd = os.open(p + ".n", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(t).encode())
os.close(fd)
os.replace(p + ".n", p)
PY
refused nopass "$FE" 78 "$NOPASS"
helper status-nopass status -v enc
xo_assert_contains "$XO_TMP/status-nopass.out" "^  enc: the private key $D/app-p8\.key: protected by a passphrase, and the token file names none" "status -v: an encrypted key without a passphrase"

xo_step "c. a passphrase named for a key that has none: renews, status -v says so"
helper set-plain set enc --private-key "$D/app.key" --key-passphrase-file "$D/pass"
xo_assert_rc 0 "$XO_TMP/set-plain.out"
renews renew-plain "$FE"
helper status-plain status -v enc
xo_assert_contains "$XO_TMP/status-plain.out" "^  enc: the private key $D/app\.key: ok \(root's, mode 0600; not encrypted: the key passphrase the token file names is not needed\)$" "status -v notes the unneeded passphrase"

# ================================================================================
xo_step "d. a command that fails, one that hangs: bounded, said, tokens unchanged"
printf '#!/bin/sh\necho "vault: permission denied" >&2\nexit 3\n' >"$BIN/fails"
cat >"$BIN/hangs" <<EOF
#!/bin/sh
echo \$\$ >"$LOG/hangs.pid"
sleep 300 &
echo \$! >"$LOG/hangs-child.pid"
wait
EOF
chmod 755 "$BIN/fails" "$BIN/hangs"
helper set-fails set cmd --client-secret-command "$BIN/fails"
xo_assert_rc 0 "$XO_TMP/set-fails.out"
refused fails "$F" 75 "the command for the client secret \(client_secret_command\), $BIN/fails, failed \(exit status 3"
xo_assert_contains "$XO_TMP/fails.err" '^vault: permission denied$' "the command's own words reach stderr"
helper set-hangs set cmd --client-secret-command "$BIN/hangs"
xo_assert_rc 0 "$XO_TMP/set-hangs.out"
refused hangs "$F" 75 "the command for the client secret \(client_secret_command\), $BIN/hangs, did not finish in 2 s and was killed" \
    XOAUTH2_SECRET_TIMEOUT=2
[ "$XO_ELAPSED_MS" -lt 10000 ] || xo_fail "the hung command held the renewal for $XO_ELAPSED s"
# dead: gone, or a zombie its new parent has not reaped yet (SIGKILL
# takes effect as the process next runs: wait for that event).
dead() { ! grep -qs '^State:[[:space:]]*[^Z]' "/proc/$1/status"; }
for p in "$LOG/hangs.pid" "$LOG/hangs-child.pid"; do
    xo_poll 5 dead "$(cat "$p")" || xo_fail "the hung command's process $(cat "$p") is still there"
done
echo "   ok: given up after $XO_ELAPSED s; the command and its child are gone"

# ================================================================================
xo_step "e. a token file postfix owns: no command, at set, at login --for postfix, at renewal"
PF=$XO_TMP/pf
xo_user_dir "$(id -u postfix)" "$PF"
install -o postfix -g postfix -m 600 "$D/secret" "$PF/secret"
helper login-pf login "$PF/relay.json" "${LOGIN[@]}" --client-secret-file "$PF/secret"
xo_assert_rc 0 "$XO_TMP/login-pf.out"
FP=$PF/relay.json
[ "$(stat -c %U "$FP")" = postfix ] || xo_fail "the token file is not postfix's"
cat >"$BIN/marker" <<EOF
#!/bin/sh
: >"$LOG/marker"
cat "$PF/secret"
EOF
chmod 755 "$BIN/marker"
# The control: postfix can run it, and it leaves its mark.
setpriv --reuid postfix --regid postfix --clear-groups "$BIN/marker" >/dev/null \
    || xo_fail "postfix cannot run $BIN/marker"
[ -e "$LOG/marker" ] || xo_fail "the marker script leaves no mark"
rm -f "$LOG/marker"
cp -p "$FP" "$XO_TMP/pf.before"
helper set-pf set "$FP" --client-secret-command "$BIN/marker"
xo_assert_rc 77 "$XO_TMP/set-pf.out"
xo_assert_contains "$XO_TMP/set-pf.out" "refusing a secret's command in a token file postfix owns: a chrooted smtp can write that file, and the renewal \(the timer\) would run the command outside the chroot; keep the secret in a systemd credential instead .*see SECURITY\.md" "set refuses a command for postfix's file"
cmp -s "$FP" "$XO_TMP/pf.before" || xo_fail "the refused set changed the file" "$FP"
helper login-forpf login pfrelay --for postfix --relay '[127.0.0.1]:25' \
    --postfix-config "$XO_TMP/no-postfix" "${LOGIN[@]}" --client-secret-command "$BIN/marker"
xo_assert_rc 77 "$XO_TMP/login-forpf.out"
xo_assert_contains "$XO_TMP/login-forpf.out" "pfrelay: refusing a secret's command in a token file postfix owns" "login --for postfix refuses a command"
# Written into the file all the same (as a chrooted smtp could):
"$XO_PYTHON" - "$FP" "$BIN/marker" <<'PY' || xo_fail "cannot edit $FP"
import json, os, sys
p, cmd = sys.argv[1:3]
st = os.stat(p)
t = json.load(open(p))
del t["client_secret_file"]
t["client_secret_command"] = cmd
fd = os.open(p + ".n", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(t).encode())
os.fchown(fd, st.st_uid, st.st_gid)
os.close(fd)
os.replace(p + ".n", p)
PY
refused pf-renew "$FP" 78 "refusing to run the client secret's command \(client_secret_command in the token file\): the file is postfix's, which a chrooted smtp can write, and the command would run outside the chroot; keep the client secret in a systemd credential instead \(see SECURITY\.md\): xoauth2-token set ACCOUNT --client-secret-credential NAME"
[ ! -e "$LOG/marker" ] || xo_fail "the renewal ran the command of postfix's file"
helper status-pf status -v "$FP"
xo_assert_contains "$XO_TMP/status-pf.out" "the client secret: command $BIN/marker, in a token file postfix owns, which a chrooted smtp can write: it is not run" "status -v says the command is not run"
[ ! -e "$LOG/marker" ] || xo_fail "status ran the command"
echo "   ok: refused at set and at login --for postfix; the renewal and status did not run it"

xo_step "no secret in any output, capture or token file of the run"
xo_step "root renews a user's file that names a command: the command runs as that user, never as root"
# The user writes the command into their own token file, hoping root's
# renewal (refresh, a root timer) runs it with root's rights.
NB=$(id -u nobody)
xo_user_dir "$NB" "$XO_TMP/nobody-store"
printf '#!/bin/sh\nid -u >"%s"\necho not-a-real-secret\n' "$XO_TMP/ran-as" >"$BIN/whoami-secret"
chmod 755 "$BIN/whoami-secret"
: >"$XO_TMP/ran-as" && chmod 666 "$XO_TMP/ran-as"
U=$XO_TMP/nobody-store/u.json
printf '{"version":1,"user":"u@example.com","token_endpoint":"%s/token","client_id":"c","access_token":"a","expires_at":1,"grant":"client_credentials","client_secret_command":"%s"}\n' \
    "$XO_OAUTH_URL" "$BIN/whoami-secret" >"$U"
chown nobody "$U" && chmod 600 "$U"
xo_run_timeout 30 "$XO_HELPER" refresh "$U" >"$XO_TMP/root-cmd.out" 2>"$XO_TMP/root-cmd.err" || true
[ "$(cat "$XO_TMP/ran-as")" = "$NB" ] \
    || xo_fail "root's renewal of nobody's file ran the command as uid '$(cat "$XO_TMP/ran-as")', want $NB" "$XO_TMP/root-cmd.err"
echo "   ok: the command ran as nobody ($NB)"

for f in "$XO_TMP"/*.out "$XO_TMP"/*.err "$S"/*.json "$FP"; do
    no_secrets "$f"
done
echo "   ok: $(ls "$XO_TMP"/*.out "$XO_TMP"/*.err | wc -l) captures and $(ls "$S"/*.json | wc -l) token files searched"
xo_pass
