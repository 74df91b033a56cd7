# bash completion for envflow and `git envflow` (installed as
# /usr/share/bash-completion/completions/envflow, and as git-envflow there so
# git's own completion finds _git_envflow). The candidates come from envflow
# itself (`envflow __complete WORD...`): commands, options, and the
# environment names and release tags of the repository at hand.

# The candidates for the current word; $1... are the words before it (after
# `envflow`) and the current word last.
_envflow_candidates() {
    envflow __complete "$@" 2>/dev/null
}

_envflow() {
    local cur words cword
    if declare -F _get_comp_words_by_ref >/dev/null; then
        _get_comp_words_by_ref -n : cur words cword
    else
        words=("${COMP_WORDS[@]}") cword=$COMP_CWORD cur=${COMP_WORDS[COMP_CWORD]}
    fi
    local IFS=$'\n'
    # -o default in the `complete` line below: no candidate (a file, free
    # text) leaves the word to bash's file name completion.
    COMPREPLY=($(_envflow_candidates "${words[@]:1:cword-1}" "$cur"))
}

# `git envflow <TAB>`: git's completion calls _git_envflow with words, cword
# and cur set; __git_C_args holds git's -C options, which envflow takes too.
_git_envflow() {
    local i=1
    while [ "$i" -lt "$cword" ] && [ "${words[i]}" != envflow ]; do
        i=$((i + 1))
    done
    __gitcomp_nl "$(_envflow_candidates "${__git_C_args[@]}" \
        "${words[@]:i+1:cword-i-1}" "$cur")"
}

complete -o default -F _envflow envflow git-envflow
