#!/usr/bin/env bash
# Installed like a real tool (issue 19): the Debian package the build makes,
# installed by dpkg into a clean root of its own (dpkg --root on an empty
# dpkg database: the real dpkg unpacks and registers it, nothing on this
# machine changes; no chroot, so the installed binary runs with this machine's
# libraries, which its Depends name), then used from there as a user would:
# man pages through man and git help, `git envflow`, bash and zsh completion
# in a real repository. Also `envflow help`, the same text as --help.
. "$(dirname "$0")/lib.sh"

BUILD_DIR=$ENVFLOW_BIN_DIR
ROOT="$TEST_ROOT/root"
export MANPAGER=cat PAGER=cat GIT_PAGER=cat MANWIDTH=80

# --- envflow help ------------------------------------------------------------
test_case "envflow help [COMMAND [SUBCOMMAND]] prints what --help prints"
for words in "" "sync" "var set" "hold" "help"; do
  # shellcheck disable=SC2086 # the words are meant to split
  expect_eq "$(envflow help $words)" "$(envflow $words --help)" "envflow help $words"
done
run envflow help
expect_rc 0
expect_out "help"
expect_out "Show the help of envflow or of a command"

test_case "envflow help with a word that is no command: usage error, closest command named"
run envflow help snyc
expect_rc 2
expect_err "'snyc' is not a command of envflow; did you mean 'sync'?"
run envflow help var sett
expect_rc 2
expect_err "'sett' is not a command of envflow var; did you mean 'set'?"
run envflow help zzzzzz
expect_rc 2
expect_err "see envflow --help"
run envflow --format json help snyc
expect_rc 2
expect_out '"kind"'

# --- the package -------------------------------------------------------------
test_case "the build makes a .deb (cpack, what make package runs)"
run cpack --config "$BUILD_DIR/CPackConfig.cmake" -B "$TEST_ROOT/pkg"
expect_rc 0
DEB=$(ls "$TEST_ROOT"/pkg/envflow_*.deb 2>/dev/null | head -1)
[ -n "$DEB" ] && pass || { fail "no envflow_*.deb in $TEST_ROOT/pkg"$'\n'"$OUT$ERR"; finish; }

test_case "its Depends: git and the package of every shared library the binary links"
depends=$(dpkg-deb -f "$DEB" Depends)
# What dpkg-shlibdeps must have found: for each NEEDED entry of the built
# binary, the package on this machine that holds the library.
needed=(git)
while read -r lib; do
  path=$(ldd "$ENVFLOW" | awk -v lib="$lib" '$1 == lib { print $3 }')
  [ -n "$path" ] || { fail "ldd does not resolve $lib"; continue; }
  # dpkg -S knows the path a package installed, /lib or /usr/lib (merged /usr).
  owner=$(dpkg -S "$path" 2>/dev/null || dpkg -S "$(realpath "$path")" 2>/dev/null ||
    dpkg -S "/usr$path" 2>/dev/null || dpkg -S "${path#/usr}" 2>/dev/null || true)
  owner=${owner%%$'\n'*} owner=${owner%%:*} owner=${owner%%,*}
  [ -n "$owner" ] && needed+=("$owner") || fail "no package holds $path ($lib)"
done < <(objdump -p "$ENVFLOW" | awk '$1 == "NEEDED" { print $2 }')
[ ${#needed[@]} -gt 3 ] && pass || fail "the binary links almost nothing: ${needed[*]}"
names=$(tr ',|' '\n\n' <<<"$depends" | awk '{ print $1 }')
for pkg in "${needed[@]}"; do
  grep -qxF "$pkg" <<<"$names" && pass || fail "Depends lacks $pkg: $depends"
done
# Every alternative group names a package installed here (the package installs
# where it was built).
IFS=',' read -ra groups <<<"$depends"
for group in "${groups[@]}"; do
  ok=""
  IFS='|' read -ra alternatives <<<"$group"
  for alt in "${alternatives[@]}"; do
    name=$(awk '{print $1}' <<<"$alt")
    dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed" && ok=1
  done
  [ -n "$ok" ] && pass || fail "no package of '$group' is installed here"
done
expect_eq "$(dpkg-deb -f "$DEB" Package)" "envflow" "Package"
expect_eq "$(dpkg-deb -f "$DEB" Version)" "$(envflow --version | awk '{print $2}')" "Version"

test_case "dpkg installs it into a clean root"
mkdir -p "$ROOT/var/lib/dpkg/info" "$ROOT/var/lib/dpkg/updates" "$ROOT/var/lib/dpkg/triggers"
: >"$ROOT/var/lib/dpkg/status"
# The root is empty, so its dpkg database has none of the Depends. dpkg reads
# this machine's /etc/dpkg/dpkg.cfg.d, where a slim image excludes
# /usr/share/man and /usr/share/doc (path-exclude): the last matching filter
# wins, so the command line's include keeps every file of the package. Its
# log would go to this machine's /var/log/dpkg.log. dpkg looks for ldconfig
# and start-stop-daemon on PATH, in sbin.
run env PATH="$PATH:/usr/sbin:/sbin" dpkg --root="$ROOT" --log="$TEST_ROOT/dpkg.log" \
  --force-depends --force-not-root --path-include='/*' -i "$DEB"
expect_rc 0
run dpkg --root="$ROOT" -s envflow
expect_out "Status: install ok installed"

test_case "the files: binary, git-envflow, man pages, completion, hooks, schemas, docs"
for f in usr/bin/envflow \
         usr/share/man/man1/envflow.1.gz usr/share/man/man1/envflow-sync.1.gz \
         usr/share/man/man1/git-envflow.1.gz \
         usr/share/bash-completion/completions/envflow \
         usr/share/zsh/vendor-completions/_envflow usr/share/zsh/vendor-completions/_git-envflow \
         usr/share/envflow/hooks/pre-commit usr/share/envflow/hooks/pre-receive \
         usr/share/doc/envflow/commands/sync.md usr/share/doc/envflow/concepts.md; do
  [ -f "$ROOT/$f" ] && pass || fail "not installed: /$f"
done
expect_eq "$(readlink "$ROOT/usr/bin/git-envflow")" "envflow" "git-envflow link"
expect_eq "$(readlink "$ROOT/usr/share/bash-completion/completions/git-envflow")" "envflow" \
  "bash completion for git-envflow"
[ -x "$ROOT/usr/bin/envflow" ] && pass || fail "usr/bin/envflow is not executable"
[ -x "$ROOT/usr/share/envflow/hooks/pre-commit" ] && pass || fail "hooks lost their x bit"
# One man page per page of docs/commands/.
for doc in "$ENVFLOW_SOURCE_DIR"/docs/commands/*.md; do
  base=$(basename "$doc" .md)
  page=envflow-$base
  [ "$base" = README ] && page=envflow
  [ -f "$ROOT/usr/share/man/man1/$page.1.gz" ] && pass || fail "no man page $page(1)"
done
run dpkg --root="$ROOT" -L envflow
expect_out "/usr/share/man/man1/envflow-help.1.gz"
expect_no_out "envflow_unit"
expect_eq "$("$ROOT/usr/bin/envflow" --version)" "$(envflow --version)" "installed binary runs"

test_case "every man page: a NAME line whatis reads, no troff warning"
# man-db's seccomp sandbox needs a container runtime that allows it; these
# pages are ours, so it is not needed to read them.
export MAN_DISABLE_SECCOMP=1 LC_ALL=C.UTF-8
for page in "$ROOT"/usr/share/man/man1/envflow*.1.gz; do
  name=$(basename "$page" .1.gz)
  # lexgrog reads NAME as mandb does for whatis and apropos: "name - text".
  run lexgrog "$page"
  grep -qE "^[^:]*: \"$name - [a-z][^\"]+\"$" <<<"$OUT" && pass ||
    fail "$name(1): NAME is not 'name - text': $OUT$ERR"
  run man --warnings -l "$page"
  [ "$RC" -eq 0 ] && [ -z "$ERR" ] && pass || fail "man --warnings -l $name: rc $RC: $ERR"
  grep -qE "^ +$name - [a-z]" <<<"$OUT" && pass || fail "$name(1) shows no NAME line"$'\n'"$OUT"
  # Every warning troff has, on the terminal's device and on its default
  # (PostScript: other fonts, pages instead of one long sheet).
  for device in utf8 ps; do
    warnings=$(zcat "$page" | groff -k -man -ww -z -T"$device" 2>&1) &&
      [ -z "$warnings" ] && pass || fail "groff -ww -T$device $name: $warnings"
  done
done
run man -l "$ROOT/usr/share/man/man1/envflow.1.gz"
expect_out "envflow - a content-as-code release pipeline on plain git"
expect_out "SYNOPSIS"
expect_out "envflow sync ENV"
expect_out "envflow-sync(1)"
run man -l "$ROOT/usr/share/man/man1/envflow-sync.1.gz"
expect_out "envflow-sync - promote ENV's head to the next environment"
expect_out "envflow sync ENV [--rev REV] [--dry-run]"
expect_out "DESCRIPTION"
expect_out "SEE ALSO"
expect_no_out "](" # no Markdown link left

# From here on the installed envflow is the one on PATH, its pages on MANPATH.
export PATH="$ROOT/usr/bin:$PATH" MANPATH="$ROOT/usr/share/man:"
hash -r
expect_eq "$(command -v envflow)" "$ROOT/usr/bin/envflow" "envflow on PATH"

test_case "git envflow --help and git help envflow show the man page"
run git envflow --help
expect_rc 0
expect_out "envflow - a content-as-code release pipeline on plain git"
expect_out "SYNOPSIS"
run git help envflow
expect_rc 0
expect_out "envflow - a content-as-code release pipeline on plain git"
run man envflow-sync
expect_rc 0
expect_out "envflow-sync - promote"
run git envflow sync --help
expect_rc 0
expect_out "Usage: envflow sync"

# A real repository with environments and a release tag.
REPO=$(new_repo repo)
cd "$REPO"
edit_config "t = t.replace('release:\n  sign: true\n', 'release:\n  sign: false\n')"
run envflow publish --no-sign --version v1.0.0
expect_rc 0
git tag -l 'v*' | grep -qx v1.0.0 && pass || fail "no release tag v1.0.0"
ENVS=$(envflow --format json status |
  python3 -c 'import json, sys; print(" ".join(e["name"] for e in json.load(sys.stdin)["environments"]))')
[ -n "$ENVS" ] && pass || fail "no environments in the policy"

# bash_complete LINE: what completing the end of LINE offers, one a line, in a
# bash with bash-completion loaded (its loader finds the installed file the way
# the first TAB does); a LINE ending in a space completes a new word. A plain
# bash reading a script: an interactive one (-i) without a terminal would
# try to take one for job control.
bash_complete() {
  local line=$1
  XDG_DATA_DIRS="$ROOT/usr/share:/usr/share" LINE="$line" \
    bash --norc --noprofile -s 2>"$TEST_ROOT/bash.err" <<'EOF'
. /usr/share/bash-completion/bash_completion
read -ra COMP_WORDS <<<"$LINE"
[ "${LINE: -1}" = " " ] && COMP_WORDS+=("")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
COMP_LINE=$LINE COMP_POINT=${#LINE}
_completion_loader "${COMP_WORDS[0]}"
spec=$(complete -p "${COMP_WORDS[0]}")
echo "SPEC $spec"
fn=$(sed -E 's/.* -F ([^ ]+) .*/\1/' <<<"$spec")
"$fn" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
declare -F _git_envflow >/dev/null && echo "FN _git_envflow"
printf 'CAND %s\n' "${COMPREPLY[@]}"
true
EOF
}

test_case "bash: the installed completion is found and completes commands"
OUT=$(bash_complete "envflow sy")
grep -qx "SPEC complete -o default -F _envflow envflow" <<<"$OUT" && pass ||
  fail "complete -p envflow: $OUT"$'\n'"$(cat "$TEST_ROOT/bash.err")"
expect_eq "$(grep '^CAND' <<<"$OUT")" "CAND sync" "envflow sy<TAB>"
OUT=$(bash_complete "envflow h")
expect_out "CAND hold"
expect_out "CAND help"
expect_out "CAND hook"
expect_out "CAND hotfix"

test_case "bash: options, listed values, subcommands"
OUT=$(bash_complete "envflow sync --d")
expect_out "CAND --dry-run"
OUT=$(bash_complete "envflow sync --f")
expect_out "CAND --format"
OUT=$(bash_complete "envflow --format ")
expect_eq "$(grep '^CAND' <<<"$OUT" | tr '\n' ' ')" "CAND text CAND json CAND github " "--format values"
OUT=$(bash_complete "envflow hold ")
expect_out "CAND list"
expect_out "CAND set"
expect_out "CAND release"

test_case "bash: environment names and release tags of the repository at hand"
OUT=$(bash_complete "envflow sync ")
for env in $ENVS; do expect_out "CAND $env"; done
expect_no_out "CAND v1.0.0"
OUT=$(bash_complete "envflow sync d")
expect_eq "$(grep '^CAND' <<<"$OUT")" "CAND dev" "envflow sync d<TAB>"
OUT=$(bash_complete "envflow var list --env ")
for env in $ENVS; do expect_out "CAND $env"; done
OUT=$(bash_complete "envflow rollback ")
expect_eq "$(grep '^CAND' <<<"$OUT")" "CAND v1.0.0" "envflow rollback <TAB>"
OUT=$(bash_complete "envflow verify v")
expect_out "CAND v1.0.0"
# Elsewhere (-C names the repository): the same names.
cd "$TEST_ROOT"
OUT=$(bash_complete "envflow -C $REPO sync ")
expect_out "CAND dev"
OUT=$(bash_complete "envflow sync ")
expect_no_out "CAND dev"
cd "$REPO"

test_case "bash: git envflow <TAB> through git's own completion"
OUT=$(bash_complete "git envflow sy")
expect_out "SPEC complete -o bashdefault -o default -o nospace -F __git_wrap__git_main git"
expect_out "FN _git_envflow" # git's completion loaded completions/git-envflow
expect_out "CAND sync "
OUT=$(bash_complete "git envflow sync ")
expect_out "CAND dev "
OUT=$(bash_complete "git envflow rollback ")
expect_out "CAND v1.0.0 "
cd "$TEST_ROOT"
OUT=$(bash_complete "git -C $REPO envflow approve ")
expect_out "CAND test "
cd "$REPO"

# zsh_complete LINE: zsh runs the installed _envflow (or _git-envflow) with the
# words of LINE; compadd and _files only print what they were given.
zsh_complete() {
  LINE=$1 zsh -f 2>"$TEST_ROOT/zsh.err" <<EOF
fpath=($ROOT/usr/share/zsh/vendor-completions \$fpath)
autoload -Uz compinit && compinit -u -d $TEST_ROOT/zcompdump
print "COMPS \$_comps[envflow] \$_comps[git-envflow]"
compadd() { [[ \$1 == -a ]] && printf 'CAND %s\n' "\${(@P)2}" }
_files() { print FILES }
words=(\${(z)LINE})
[[ \$LINE == *' ' ]] && words+=('')
CURRENT=\${#words}
PREFIX=\$words[CURRENT]
if [[ \$words[1] == git ]]; then shift words; CURRENT=\$((CURRENT - 1)); _git-envflow; else _envflow; fi
true
EOF
}

test_case "zsh: compinit binds the installed functions; they complete like bash"
OUT=$(zsh_complete "envflow sy")
expect_out "COMPS _envflow _git-envflow"
expect_eq "$(grep '^CAND' <<<"$OUT")" "CAND sync" "zsh: envflow sy<TAB>"
OUT=$(zsh_complete "envflow sync ")
for env in $ENVS; do expect_out "CAND $env"; done
OUT=$(zsh_complete "envflow rollback v")
expect_out "CAND v1.0.0"
OUT=$(zsh_complete "git envflow approve ")
expect_out "CAND test"
OUT=$(zsh_complete "envflow init ")
expect_out "FILES"
[ -s "$TEST_ROOT/zsh.err" ] && fail "zsh said: $(cat "$TEST_ROOT/zsh.err")" || pass

finish
