#!/bin/bash
# The bash completion (contrib/bash-completion/xoauth2-token), sourced in
# this shell and driven the way bash drives it (COMP_WORDS, COMP_CWORD):
# commands, each command's options, option values, account names from
# the store, and nothing where nothing fits.
. "$(dirname "$0")/lib.sh"

COMPLETION=$XO_TOP_SRCDIR/contrib/bash-completion/xoauth2-token
[ -f "$COMPLETION" ] || xo_fail "missing $COMPLETION"
# compopt works only inside a completion bash started; outside it fails
# harmlessly, and the script ignores that.
# shellcheck source=../contrib/bash-completion/xoauth2-token
. "$COMPLETION" || xo_fail "sourcing $COMPLETION failed"
complete -p xoauth2-token | grep -q -- '-F _xoauth2_token' \
    || xo_fail "the completion does not register _xoauth2_token"

export XDG_DATA_HOME=$XO_TMP/data
mkdir -p "$XDG_DATA_HOME/xoauth2"
: >"$XDG_DATA_HOME/xoauth2/work.json"
: >"$XDG_DATA_HOME/xoauth2/gmail.json"
: >"$XDG_DATA_HOME/xoauth2/work.json.lock"   # not an account
mkdir "$XDG_DATA_HOME/xoauth2/odd.json"      # not a file: not an account

# complete_line LINE: complete the last word of LINE (ending in a space:
# an empty word); the sorted COMPREPLY goes to $got, space-separated.
complete_line() {
    local line=$1
    read -r -a COMP_WORDS <<<"$line"
    [[ $line == *' ' ]] && COMP_WORDS+=("")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE=$line COMP_POINT=${#line}
    COMPREPLY=()
    _xoauth2_token xoauth2-token "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ')
    got=${got% }
}

fails=0
# check LINE EXPECTED: the candidates for LINE are exactly EXPECTED (sorted).
check() {
    complete_line "$1"
    if [ "$got" = "$2" ]; then
        printf '   ok: %-40s -> %s\n' "'$1'" "${2:-(nothing)}"
    else
        printf '   MISMATCH: %s\n      want: %s\n      got:  %s\n' "'$1'" "$2" "$got"
        fails=$((fails + 1))
    fi
}

# check_has LINE WORD...: the candidates for LINE include every WORD.
check_has() {
    local line=$1 w; shift
    complete_line "$line"
    for w in "$@"; do
        if [[ " $got " != *" $w "* ]]; then
            printf '   MISMATCH: %s lacks %s (got: %s)\n' "'$line'" "$w" "$got"
            fails=$((fails + 1))
            return
        fi
    done
    printf '   ok: %-40s has %s\n' "'$line'" "$*"
}

xo_step "commands"
check 'xoauth2-token ' '--help --version credential list login logout postfix refresh set show status test token'
check 'xoauth2-token re' 'refresh'
check 'xoauth2-token lo' 'login logout'

xo_step "options per command"
check 'xoauth2-token refresh --' '--all --cafile --connect-timeout --force --help --jobs --margin --time-limit --timeout --verbose'
check 'xoauth2-token token --' '--cafile --connect-timeout --help --margin --time-limit --timeout'
check 'xoauth2-token show --' '--help'
check_has 'xoauth2-token login --' --provider --client-id --flow --no-browser --client-secret-file
check_has 'xoauth2-token login --' --app-only --certificate --private-key --service-account
check_has 'xoauth2-token test --' --imap --pop --smtp --mech --as --plugin-dir --starttls --verbose
check 'xoauth2-token postfix --' '--apply --help --postfix-config --relay --remove --sender'
check_has 'xoauth2-token login --' --for --relay --apply
check 'xoauth2-token credential ' 'decrypt encrypt'
check 'xoauth2-token credential encrypt --' '--all --for --help --key --passphrase --postfix-config --secret --service-account --to --with-key'

xo_step "option values"
check 'xoauth2-token login work --provider ' 'custom google microsoft'
check 'xoauth2-token login work --flow d' 'device'
check 'xoauth2-token test work --mech ' 'OAUTHBEARER XOAUTH2'
check 'xoauth2-token refresh --margin ' ''
check 'xoauth2-token refresh --jobs ' ''
check 'xoauth2-token credential encrypt work --with-key ' 'auto host host+tpm2 tpm2'

xo_step "account names from the store"
check 'xoauth2-token token ' 'gmail work'
check 'xoauth2-token show w' 'work'
check 'xoauth2-token refresh --force gmail ' 'gmail work'
check 'xoauth2-token token --margin 600 ' 'gmail work'
check 'xoauth2-token token work ' ''
check 'xoauth2-token refresh --all ' ''
check 'xoauth2-token list ' ''
check 'xoauth2-token credential encrypt ' 'gmail work'
check 'xoauth2-token credential decrypt work ' ''

xo_step "a path completes as a file name"
: >"$XO_TMP/relay.json"
check "xoauth2-token show $XO_TMP/rel" "$XO_TMP/relay.json"

xo_step "an empty or missing store offers nothing"
XDG_DATA_HOME=$XO_TMP/none check 'xoauth2-token token ' ''

[ "$fails" = 0 ] || xo_fail "$fails completion(s) differ"
xo_pass
