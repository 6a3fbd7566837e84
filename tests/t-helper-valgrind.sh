#!/bin/bash
# xoauth2-token's main paths under valgrind (memcheck, full leak check):
# no invalid access, no use of uninitialised memory, no leak -- on success
# and on every kind of failure.
. "$(dirname "$0")/lib.sh"

# Not a missing tool (so not xo_skip, which XO_REQUIRE_ALL turns into a
# failure): in a sanitizer build the helper is checked by ASan instead.
if [ -n "${XO_SANITIZERS:-}" ]; then
    echo "SKIP: sanitizer build (ASan and valgrind do not mix)"; exit 77
fi

xo_helper_built
xo_require_cmd valgrind
export XDG_DATA_HOME=$XO_TMP/data

# mk_tokfile FILE USER EXPIRES_IN [ENDPOINT]: every member set, and an
# unknown one.
mk_tokfile() {
    xo_tokfile "$1" "$2" "$3" ${4:+"token_endpoint=$4"} account=vg \
        client_secret=cs "scope=s offline_access" 'extra={"a": [1, null, "x"]}'
}

# --trace-children: the front hands most commands to xoauth2-token-full
# by exec; both are checked.
VG=(valgrind -q --trace-children=yes --leak-check=full --show-leak-kinds=definite,indirect,possible
    --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99
    --log-file="$XO_TMP/vg.%p")
runs=0
# vg WANT_RC CMD-ARGS...: run the helper under valgrind; it must exit
# WANT_RC and valgrind must report nothing.
vg() {
    local want=$1 f; shift
    rm -f "$XO_TMP"/vg.*
    xo_run_timeout 120 "${VG[@]}" "$XO_HELPER" "$@" >"$XO_TMP/out" 2>"$XO_TMP/err"
    for f in "$XO_TMP"/vg.*; do
        [ -s "$f" ] && xo_fail "valgrind: $*" "$f" "$XO_TMP/err"
    done
    [ "$XO_RC" = "$want" ] || xo_fail "$*: exit $XO_RC, want $want" "$XO_TMP/err"
    runs=$((runs + 1))
    echo "   ok: $* -> $XO_RC, valgrind clean"
}

xo_start_oauth
mkdir -p "$XDG_DATA_HOME/xoauth2"
F=$XDG_DATA_HOME/xoauth2/vg.json

xo_step "success paths"
mk_tokfile "$F" alice@example.com -10
vg 0 token vg                       # refresh, then print
vg 0 token vg                       # fast path
vg 0 refresh --force -v vg
vg 0 refresh vg                     # not due
mk_tokfile "$XDG_DATA_HOME/xoauth2/other.json" bob@example.com -10
vg 0 refresh --all -v
vg 0 show vg
vg 0 show "$F"
vg 0 --help
vg 0 --version

xo_step "failure paths"
for mode in 500 badjson invalid_grant invalid_client; do
    xo_oauth -q fault "$mode" --count 1
    vg "$(case $mode in 500) echo 75;; badjson) echo 69;; invalid_grant) echo 77;; invalid_client) echo 78;; esac)" \
        refresh --force vg
done
xo_oauth -q fault hang --count 1
vg 75 refresh --force --timeout 2 vg
# Under valgrind on a busy machine the 2 s may run out before the request
# reaches the server: then the hang is still armed, and must not catch
# the next step's request.
xo_oauth -q fault none
mk_tokfile "$XO_TMP/down.json" alice@example.com -10 "http://127.0.0.1:$(xo_free_ports 1)/token"
vg 69 token "$XO_TMP/down.json"
mk_tokfile "$XO_TMP/plain.json" alice@example.com -10 "http://mail.example.com/token"
vg 78 token "$XO_TMP/plain.json"
chmod 644 "$F"
vg 77 token vg
chmod 600 "$F"
echo '{"version":1,"user":"u"}' >"$XO_TMP/bad.json"; chmod 600 "$XO_TMP/bad.json"
vg 65 show "$XO_TMP/bad.json"
vg 66 token nobody
vg 64 token --margin x vg
vg 64 frobnicate

if "$XO_PYTHON" -c 'import cryptography' 2>/dev/null; then
    xo_step "app-only: login, renewals, show, and refusals (certificate, secret, service account)"
    C=$XO_TMP/creds
    mkdir -m 700 "$C"
    xo_app_cert "$C" app
    xo_app_cert "$C" other
    printf 'vg-secret\n' >"$C/secret"; chmod 600 "$C/secret"
    xo_oauth -q app vg-app --mailbox relay@example.com --cert "$C/app.crt" \
        --secret-file "$C/secret"
    xo_service_account_key "$C/sa.json" vg@xoauth2-test.iam.gserviceaccount.com
    xo_oauth -q service-account --key-file "$C/sa.json"
    APP=(--provider custom --app-only --client-id vg-app --user relay@example.com
         --token-endpoint "$XO_OAUTH_URL/token" --scope https://outlook.office365.com/.default)
    vg 0 login app "${APP[@]}" --certificate "$C/app.crt" --private-key "$C/app.key"
    vg 0 login app-secret "${APP[@]}" --client-secret-file "$C/secret"
    vg 0 login app-sa --provider google --service-account "$C/sa.json" --user alice@example.com
    vg 0 refresh --force -v app
    vg 0 refresh --force -v app-secret
    vg 0 refresh --force -v app-sa
    vg 0 show app
    xo_oauth -q fault replay --count 1
    vg 78 refresh --force app
    xo_oauth -q fault invalid_client --count 1
    vg 78 refresh --force app-secret
    chmod 640 "$C/app.key"
    vg 77 refresh --force app
    chmod 600 "$C/app.key"
    vg 78 login app-mismatch "${APP[@]}" --certificate "$C/app.crt" --private-key "$C/other.key"
    vg 64 login app-usage "${APP[@]}"
fi

echo "# valgrind: $runs runs clean"
xo_pass
