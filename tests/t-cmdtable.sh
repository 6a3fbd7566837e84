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
xo_pass
