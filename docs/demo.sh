#!/usr/bin/env bash
# The guided tour `make demo` runs: every step prints the command it runs,
# in a throwaway repository, kept at the end so its pipeline can be opened
# in a browser with envflow serve (the last lines say how).
set -euo pipefail
ENVFLOW=${1:?usage: demo.sh PATH/TO/envflow}
ENVFLOW=$(cd "$(dirname "$ENVFLOW")" && pwd)/$(basename "$ENVFLOW")
export PATH="$(dirname "$ENVFLOW"):$PATH"
DEMO=$(mktemp -d "${TMPDIR:-/tmp}/envflow-demo.XXXXXX")
keep=no
trap '[ "$keep" = yes ] || rm -rf "$DEMO"' EXIT
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
sed -i 's/^description: .*/description: Answers product and order questions, kindly and briefly/' agents/support.yaml
show git commit -qam "Support agent: clearer description"
show git log --oneline -2

step "6. The pipeline at a glance"
show envflow status

step "7. A verification check guards test: the starter policy's no-todo check, turned on"
envflow config show | sed '/^#    checks:/,/^#      - {name: no-todo/s/^#//' > "$HOME/envflow.yaml"
show envflow config edit --file "$HOME/envflow.yaml"
sed -i 's/^description: .*/description: Answers product and order questions (TODO ask legal about refunds)/' agents/support.yaml
show git commit -qam "Support agent: refunds, to be checked"
show envflow sync dev
show envflow check test
show envflow sync dev
show git for-each-ref refs/envflow/checks/
sed -i 's/^description: .*/description: Answers product and order questions, kindly and briefly/' agents/support.yaml
show git commit -qam "Support agent: no open notes"
show envflow check test

step "8. Promote dev to test: the plan first, then for real"
show envflow sync dev --dry-run
show envflow sync dev
show envflow status

step "9. Through uat and staging to production, the pipeline after each step"
for env in test uat staging; do
  show envflow sync "$env"
  show envflow status
done

step "10. A signed release (an ssh key made for this tour; allowed signers kept in the policy)"
ssh-keygen -q -t ed25519 -N "" -C alice@example.com -f "$HOME/release-key"
git config --global gpg.format ssh
git config --global user.signingKey "$HOME/release-key"
printf 'alice@example.com namespaces="git" %s\n' "$(cat "$HOME/release-key.pub")" > "$HOME/allowed_signers"
show envflow config put allowed_signers "$HOME/allowed_signers"
envflow config show | sed 's|^release:|release:\n  allowed_signers: allowed_signers|' > "$HOME/envflow.yaml"
show envflow config edit --file "$HOME/envflow.yaml"
show envflow publish
show git -c gpg.ssh.allowedSignersFile="$HOME/allowed_signers" verify-tag v1.0.0
show envflow verify v1.0.0

step "11. A hotfix on production: signed, live, and a back-port issue opened by itself"
show envflow hotfix start urgent-tone
sed -i 's/tone: .*/tone: formal/' agents/support.yaml
show git commit -qam "Hotfix: formal tone for support"
show envflow hotfix finish -m "Formal tone, by legal request"
show envflow backport list
show git switch -q dev

step "12. Meanwhile dev moves on; the sync into production is refused while the back-port is open"
sed -i 's/^description: .*/description: Routes each conversation to the right agent (v2)/' agents/triage.yaml
show git commit -qam "Triage: clearer description"
show envflow check test
for env in dev test uat; do show envflow sync "$env"; done
show envflow sync staging

step "13. Back-port the hotfix into dev, then fast-forward all the way"
show envflow backport apply 1
show envflow check test
for env in dev test uat staging; do show envflow sync "$env"; done
show envflow backport list
show envflow publish
show envflow status

step "14. The new release misbehaves: roll back (auto-promotion into production is held; render follows live)"
show envflow releases
show envflow rollback v1.0.1
# What a deploy job gets: render follows live (--head would render the rolled-back head).
show envflow render production --out "$HOME/production.json"
show grep -E '^  "(environment|release|commit)"' "$HOME/production.json"
show envflow hold list
show envflow status

step "The audit trail: one record per ref movement"
show envflow log
show envflow doctor
keep=yes
printf '\n%sTour done.%s The tour'"'"'s repository is kept in %s.\n' "$bold" "$reset" "$DEMO/shop"
printf 'See its pipeline, releases and audit log in a browser, with the buttons alice may press:\n\n'
printf '  %s -C %s serve --actor alice@example.com\n\n' "$ENVFLOW" "$DEMO/shop"
printf 'then open http://127.0.0.1:8080/ (Ctrl-C stops it; docs/serve.md). Remove it with: rm -rf %s\n' "$DEMO"
