#!/bin/bash
# The command and provider tables (helper/commands.c, helper/provider.c)
# are the truth; what users see must agree with them:
#   - the bash completion offers exactly the table's commands, each
#     command's options, and the providers and clouds;
#   - --help names every command's synopsis and every option, and no
#     option the table lacks;
#   - xoauth2-token(1)'s SYNOPSIS names every command, and the page
#     documents every option and provider; its EXIT STATUS lists the
#     statuses of cmd_exit()'s table (cmd_common.c), no more, no less
#     (--help's paragraph is made from that table).
# The tables come from the program itself ("xoauth2-token help --table").
#
# Then a provider really is one row: the helper is built again with a
# throwaway provider (two clouds, a tenant) as the table's first row,
# its provider.c copied, the row added, nothing else changed, and that
# helper's --help, table, the fix command of `status' and `show' (the
# tenant and the cloud read back from a token file's endpoint), the
# app-only tenant rule and the --relay example (its SMTP host) all come
# from the row.  The copies go
# away with the test's directory.
set -eu
. "$(dirname "$0")/lib.sh"

xo_require_helper
COMPLETION=$XO_TOP_SRCDIR/contrib/bash-completion/xoauth2-token
MAN=$XO_TOP_SRCDIR/doc/xoauth2-token.1

xo_run_timeout 20 "$XO_HELPER" help --table >"$XO_TMP/table" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
commands=$(awk '$1 == "command" { print $2 }' "$XO_TMP/table")
[ -n "$commands" ] || xo_fail "no commands in the table" "$XO_TMP/table"
# opts CMD: the table's long options of CMD, sorted, one line.
opts() { awk -v c="$1" '$1 == "option" && $2 == c { print $3 }' "$XO_TMP/table" | sort | tr '\n' ' '; }
sorted() { tr ' ' '\n' | grep -v '^$' | sort | tr '\n' ' '; }

fails=0
differ() {
    printf '   MISMATCH: %s\n      table: %s\n      %s: %s\n' "$1" "$2" "$3" "$4"
    fails=$((fails + 1))
}

xo_step "the completion agrees with the table"
# shellcheck source=../contrib/bash-completion/xoauth2-token
. "$COMPLETION"
export XDG_DATA_HOME=$XO_TMP/data
complete_words() {
    local line=$1
    read -r -a COMP_WORDS <<<"$line"
    [[ $line == *' ' ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _xoauth2_token xoauth2-token "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    printf '%s ' "${COMPREPLY[@]}" | sorted
}
want=$(echo "$commands --help --version" | sorted)
got=$(complete_words 'xoauth2-token ')
[ "$got" = "$want" ] || differ "commands" "$want" "completion" "$got"
for c in $commands; do
    want=$(echo "$(opts "$c") --help" | sorted)
    got=$(complete_words "xoauth2-token $c --")
    [ "$got" = "$want" ] || differ "options of $c" "$want" "completion" "$got"
done
want=$(awk '$1 == "provider" { print $2 }' "$XO_TMP/table" | sort -u | tr '\n' ' ')
got=$(complete_words 'xoauth2-token login x --provider ')
[ "$got" = "$want" ] || differ "providers" "$want" "completion" "$got"
want=$(awk '$1 == "provider" && $3 != "-" { print $3 }' "$XO_TMP/table" | sort -u | tr '\n' ' ')
got=$(complete_words 'xoauth2-token login x --cloud ')
[ "$got" = "$want" ] || differ "clouds" "$want" "completion" "$got"

xo_step "--help agrees with the table"
xo_run_timeout 20 "$XO_HELPER" --help >"$XO_TMP/help" 2>"$XO_TMP/err"
xo_assert_rc 0 "$XO_TMP/err"
for c in $commands; do
    grep -q "^  xoauth2-token $c\\b" "$XO_TMP/help" || differ "--help" "$c" "--help" "(no synopsis)"
done
want=$(awk '$1 == "option" { print $3 }' "$XO_TMP/table" | sort -u | tr '\n' ' ')
for p in $(awk '$1 == "provider" { print $2 }' "$XO_TMP/table" | sort -u); do
    grep -q "^       --provider P .*\b$p\b" "$XO_TMP/help" || differ "providers in --help" "$p" "--help" "(missing)"
done
got=$( (grep -o -- '--[a-z][a-z-]*' "$XO_TMP/help" | grep -v -x -e '--help' -e '--version') | sort -u | tr '\n' ' ')
[ "$got" = "$want" ] || differ "options in --help" "$want" "--help" "$got"
# --for postfix goes with every kind of login (cmd_login.c), so each
# login form of the synopsis offers it.
forms=$(awk '/^  xoauth2-token login |^      login / { n++ } /^  xoauth2-token [a-z]/ && !/ login / { n = 0 } n && /--for postfix/ { print n }' "$XO_TMP/help" | sort -u | wc -l)
all=$(grep -c -E '^  xoauth2-token login |^      login ' "$XO_TMP/help")
[ "$forms" = "$all" ] || differ "login forms offering --for postfix" "$all" "--help" "$forms"

xo_step "xoauth2-token(1) agrees with the table"
synopsis=$(sed -n '/^\.SH SYNOPSIS/,/^\.SH /p' "$MAN")
for c in $commands; do
    grep -qx "\\.B $c" <<<"$synopsis" || differ "man SYNOPSIS" "$c" "xoauth2-token.1" "(missing)"
done
for o in $(awk '$1 == "option" { print $3 }' "$XO_TMP/table" | sort -u); do
    grep -q -- "$(sed 's/-/\\\\-/g' <<<"$o")\\b" "$MAN" || differ "man options" "$o" "xoauth2-token.1" "(missing)"
done
for p in $(awk '$1 == "provider" { print $2 }' "$XO_TMP/table" | sort -u); do
    grep -qw -- "$p" <<<"$synopsis" || differ "man SYNOPSIS providers" "$p" "xoauth2-token.1" "(missing)"
done

want=$(awk '$1 == "exit" { print $2 }' "$XO_TMP/table" | sort -n | tr '\n' ' ')
[ -n "$want" ] || differ "exit statuses" "(none)" "help --table" "(none)"
got=$(sed -n '/^\.SH EXIT STATUS/,/^\.SH [A-Z]/p' "$MAN" |
    awk 'tp && /^\.B [0-9]/ { for (i = 2; i <= NF; i++) print $i } { tp = /^\.TP/ }' |
    sort -n | tr '\n' ' ')
[ "$got" = "$want" ] || differ "man EXIT STATUS" "$want" "xoauth2-token.1" "$got"

[ "$fails" = 0 ] || xo_fail "$fails place(s) disagree with the command or provider table"
echo "   ok: completion, --help and the man page agree with the tables"

xo_step "a throwaway provider is one row: built in, its answers come from the row"
PV=$XO_TMP/pv
mkdir -p -m 755 "$PV"
# The rows, first in the table (so their relay is the example): cloud
# "main" (the default) at acme.test, "eu" at eu.acme.test.
acme_row() {
    cat <<EOF
	{ .name = "acme", .title = "Acme Mail", .cloud = "$1",
	  .quirks = PROVIDER_TENANT,
	  .authorize = "https://login.$2/{tenant}/oauth2/authorize",
	  .token = "https://login.$2/{tenant}/oauth2/token",
	  .scope = "mail.send offline", .identity_scope = "openid",
	  .default_tenant = "everyone", .shared_tenants = "everyone",
	  .app_scope = "https://mail.$2/.default", .relay = "[smtp.$2]:2525" },
EOF
}
ROWS="$(acme_row main acme.test; acme_row eu eu.acme.test)"
ROWS=$ROWS awk '{ print } /^static const struct provider_row providers\[\] = \{$/ { print ENVIRON["ROWS"]; n++ }
    END { if (n != 1) exit 1 }' "$XO_TOP_SRCDIR/helper/provider.c" >"$PV/provider.c" \
    || xo_fail "provider.c has no 'providers[] = {' line to add a row after"
# Each program's provider.o and link, as make would run them, with the
# copy in place of provider.c and the results in $PV (the build tree is
# not touched: no dependency files, no outputs there).
(cd "$XO_TOP_BUILDDIR/helper" && make -s --no-print-directory -n -W provider.c xoauth2-token xoauth2-token-full) >"$PV/make.sh" 2>"$PV/make.err" \
    || xo_fail "make -n cannot say how the helper is built" "$PV/make.err"
sed -E -e '/^(mv|rm) -f /d' -e '/^make/d' -e 's/-MT [^ ]+ -MD -MP -MF [^ ]+//' \
    -e "s|\`test -f 'provider.c' [^\`]*\`provider.c|$PV/provider.c|" \
    -e "s| (xoauth2_token(_full)?-provider\.o)| $PV/\1|g" \
    -e "s|-o (xoauth2-token(-full)?) |-o $PV/\1 |" "$PV/make.sh" >"$PV/build.sh"
grep -q "$PV/provider.c" "$PV/build.sh" || xo_fail "no provider.c compile step in make's commands" "$PV/make.sh"
(cd "$XO_TOP_BUILDDIR/helper" && bash -e "$PV/build.sh") >"$PV/build.out" 2>&1 \
    || xo_fail "the helper does not build with the throwaway row" "$PV/build.out"
[ -x "$PV/xoauth2-token" ] && [ -x "$PV/xoauth2-token-full" ] \
    || xo_fail "the throwaway build made no programs" "$PV/build.out"
chmod -R go-w "$PV"
H=$PV/xoauth2-token

xo_run_timeout 20 "$H" help --table >"$PV/table" 2>&1
xo_assert_rc 0 "$PV/table"
xo_assert_contains "$PV/table" '^provider acme main$' "the default cloud"
xo_assert_contains "$PV/table" '^provider acme eu$' "the other cloud"
xo_run_timeout 20 "$H" --help >"$PV/help" 2>&1
grep -q '^       --provider P .*\bacme\b' "$PV/help" || xo_fail "--help does not offer --provider acme" "$PV/help"

# fixcmd FILE: what `status' says to run for FILE, and `show' the same.
TOKS=$XO_TMP/data/xoauth2
mkdir -p -m 700 "$TOKS"
acme_file() {
    "$XO_PYTHON" - "$TOKS/$1.json" "$2" <<'PY'
import json, os, sys, time
path, endpoint = sys.argv[1:3]
now = int(time.time())
tok = {"version": 1, "account": os.path.basename(path)[:-5],
       "user": "alice@acme.test", "provider": "acme",
       "token_endpoint": endpoint, "client_id": "app-1",
       "scope": "mail.send offline", "access_token": "at-not-used",
       "expires_at": now - 60, "refresh_token": "rt-not-used",
       "failed_at": now - 5, "failure_class": "login",
       "failure": "invalid_grant: revoked", "failures": 1}
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
os.write(fd, json.dumps(tok).encode())
os.close(fd)
PY
}
check_fix() {
    local name=$1 want=$2
    xo_run_timeout 20 "$H" status "$name" >"$PV/status.$name" 2>&1 || true
    grep -qF -- "; run: xoauth2-token login $name $want --client-id app-1 --user alice@acme.test" "$PV/status.$name" \
        || xo_fail "status of $name does not name the row's options ($want)" "$PV/status.$name"
    xo_run_timeout 20 "$H" show "$name" >"$PV/show.$name" 2>&1 || true
    grep -qF -- "xoauth2-token login $name $want --client-id" "$PV/show.$name" \
        || xo_fail "show of $name does not name the row's options ($want)" "$PV/show.$name"
    echo "   ok: $name: $want"
}
export XDG_DATA_HOME=$XO_TMP/data
acme_file eu "https://login.eu.acme.test/contoso.test/oauth2/token"
check_fix eu "--provider acme --tenant contoso.test --cloud eu"
acme_file main "https://login.acme.test/everyone/oauth2/token"
check_fix main "--provider acme"

# An app signs in to one tenant: the row's shared tenant name is not one.
xo_run_timeout 20 "$H" login app --app-only --provider acme --cloud eu \
    --tenant everyone --client-id c --user u@acme.test \
    --client-secret-file "$PV/none" >"$PV/app.out" 2>&1 || true
xo_assert_rc 64 "$PV/app.out"
xo_assert_contains "$PV/app.out" 'the app signs in to one tenant' "the row's shared tenant refused for an app"

xo_run_timeout 20 "$H" postfix eu >"$PV/relay.out" 2>&1 || true
xo_assert_contains "$PV/relay.out" '--relay \[HOST\]:PORT is required \(e\.g\. \[smtp\.acme\.test\]:2525\)' "the row's SMTP host as the example"
echo "   ok: the table, --help, status, show, the app-only tenant rule and the --relay example come from the row"
xo_pass
