#!/usr/bin/env bash
# The guided tour `make demo` runs: every step prints the command it runs,
# in a throwaway repository that is removed afterwards.
set -euo pipefail
ENVFLOW=${1:?usage: demo.sh PATH/TO/envflow}
ENVFLOW=$(cd "$(dirname "$ENVFLOW")" && pwd)/$(basename "$ENVFLOW")
export PATH="$(dirname "$ENVFLOW"):$PATH"
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/envflow-demo.XXXXXX")
trap 'rm -rf "$DEMO"' EXIT
export HOME="$DEMO/home" GIT_CONFIG_GLOBAL="$DEMO/home/.gitconfig" GIT_CONFIG_NOSYSTEM=1
mkdir -p "$HOME"
git config --global user.name "Alice Dev"
git config --global user.email "alice@example.com"
git config --global init.defaultBranch main

bold=""; reset=""
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then bold=$'\033[1m'; reset=$'\033[0m'; fi
step() { printf '\n%s== %s%s\n' "$bold" "$1" "$reset"; }
show() { printf '%s$ %s%s\n' "$bold" "$*" "$reset"; "$@" || printf '(exit %d)\n' "$?"; }

cd "$DEMO"
step "1. A new envflow repository with the starter workspace"
show envflow init shop
cd shop
show git branch --list
show ls -R agents workflows variables

step "2. Validate the workspace"
show envflow validate

step "3. A mistake: a workflow step names an agent that does not exist, a literal token"
sed -i 's/agent: support$/agent: suport/' workflows/support-request.yaml
printf '  # leaked\n' >> integrations/crm.yaml
sed -i "s|secret: \${secrets.CRM_API_TOKEN}|secret: \"ghp_$(printf 'a%.0s' {1..36})\"|" integrations/crm.yaml
show envflow validate
show envflow validate --format json

step "4. The pre-commit hook refuses the broken commit"
show git commit -qam "Broken change"
show git log --oneline -1

step "5. Fix it and commit"
git checkout -q -- .
sed -i 's/tone: friendly/tone: empathetic/' agents/support.yaml
show git commit -qam "Support agent: empathetic tone"
show git log --oneline -2

if "$ENVFLOW" sync --help >/dev/null 2>&1 && ! "$ENVFLOW" sync dev --dry-run 2>&1 | grep -q "not built yet"; then
  step "6. The pipeline at a glance"
  show envflow status
  step "7. Promote dev to test (plan first, then for real)"
  show envflow sync dev --dry-run
  show envflow sync dev
  show envflow status
  step "8. Every ref movement is in the audit trail"
  show envflow log
fi
printf '\n%sTour done.%s The repository was in %s and is removed now.\n' "$bold" "$reset" "$DEMO"
