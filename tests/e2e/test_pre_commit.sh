#!/usr/bin/env bash
# End-to-end: the pre-commit hook. Broken staged content is refused by a real
# `git commit` with path:line:col and the rule, nothing is committed; the index
# (not the working tree) is what is validated, including `git commit -a` and
# partial commits (temporary GIT_INDEX_FILE); commits on read-only environment
# branches are refused; install-hooks is idempotent; and the same refusal goes
# through the real pre-commit framework, both as a `repo: local` system hook
# and through this repository's own .pre-commit-hooks.yaml.
. "$(dirname "$0")/lib.sh"

REPO=$(new_repo repo)

# head REPO: the commit HEAD points at.
head_of() { git -C "$1" rev-parse HEAD; }

# commit REPO ARGS...: `git commit` in REPO, captured.
commit() {
  local dir="$1"
  shift
  run git -C "$dir" commit "$@"
}

# expect_refused WHERE RULE: the last commit failed, and git's stderr (where
# hook output goes) names WHERE ("path:line:col") and [RULE].
expect_refused() {
  if [ "$RC" -ne 0 ]; then pass; else fail "commit accepted"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"; fi
  expect_err "$1: error: "
  [ -z "${2:-}" ] || expect_err "[$2]"
}

BROKEN_AGENT='kind: Agent
name: triage
instructions: Help.
tone: friendly
tone: formal
'
# The duplicate key sits at 5:1.

# commit_refused LOCATION RULE ARGS...: `commit "$REPO" ARGS` is refused at
# LOCATION for RULE (expect_refused) and HEAD is still $BEFORE.
commit_refused() {
  local location=$1 rule=$2
  shift 2
  commit "$REPO" "$@"
  expect_refused "$location" "$rule"
  expect_eq "$(head_of "$REPO")" "$BEFORE" "HEAD"
}

# broken_commit_refused DIR HOW: committing BROKEN_AGENT as agents/triage.yaml
# in DIR is refused through HOW (the framework, the manifest), naming
# file:line:col and the rule; HEAD stays. ALL is what the commit printed.
broken_commit_refused() {
  local before
  before=$(head_of "$1")
  printf '%s' "$BROKEN_AGENT" >"$1/agents/triage.yaml"
  git -C "$1" add agents/triage.yaml
  commit "$1" -m "broken through $2"
  if [ "$RC" -ne 0 ]; then pass; else fail "commit accepted"$'\n'"$OUT"$'\n'"$ERR"; fi
  ALL="$OUT"$'\n'"$ERR"
  grep -qF "agents/triage.yaml:5:1: error: " <<<"$ALL" && pass || fail "no file:line:col through $2: $ALL"
  grep -qF "[yaml-duplicate-key]" <<<"$ALL" && pass || fail "no rule through $2: $ALL"
  expect_eq "$(head_of "$1")" "$before" "HEAD after a refused commit"
}

# ---------------------------------------------------------------------------
test_case "hook is installed by init"
[ -x "$REPO/.git/hooks/pre-commit" ] && pass || fail "no executable pre-commit hook"

test_case "broken staged file is refused, nothing committed"
BEFORE=$(head_of "$REPO")
printf '%s' "$BROKEN_AGENT" >"$REPO/agents/triage.yaml"
git -C "$REPO" add agents/triage.yaml
commit "$REPO" -m "break triage"
expect_refused "agents/triage.yaml:5:1" yaml-duplicate-key
expect_err "commit refused"
expect_eq "$(head_of "$REPO")" "$BEFORE" "HEAD after a refused commit"
expect_eq "$(git -C "$REPO" rev-list --count HEAD)" 1 "commit count"
expect_eq "$(git -C "$REPO" diff --cached --name-only)" "agents/triage.yaml" "change still staged"

test_case "several problems are all reported"
printf 'kind: Agent\nname: other\ninstructions: x\n' >"$REPO/agents/helper.yaml"
git -C "$REPO" add agents/helper.yaml
commit "$REPO" -m "two problems"
expect_refused "agents/triage.yaml:5:1" yaml-duplicate-key
expect_err "agents/helper.yaml:2:7: error: "
expect_err "[name-mismatch]"
expect_eq "$(head_of "$REPO")" "$BEFORE" "HEAD after a refused commit"
git -C "$REPO" reset -q --hard
git -C "$REPO" clean -qfd

test_case "a valid change commits"
sed -i 's/^tone: friendly$/tone: neutral/' "$REPO/agents/triage.yaml"
git -C "$REPO" add agents/triage.yaml
commit "$REPO" -m "triage: neutral tone"
expect_rc 0
expect_eq "$(git -C "$REPO" rev-list --count HEAD)" 2 "commit count"
expect_eq "$(git -C "$REPO" show HEAD:agents/triage.yaml | grep -c '^tone: neutral$')" 1 "committed content"

# Its speed is a bench target (bench/, docs/performance.md), not asserted
# here: a busy machine is no failure. The time is printed for the log.
test_case "hook runs on the starter workspace"
START=$(date +%s%N)
run bash -c 'cd "$1" && "$2" hook pre-commit' _ "$REPO" "$ENVFLOW"
END=$(date +%s%N)
expect_rc 0
echo "  [$CURRENT] $(((END - START) / 1000000)) ms"

# ---------------------------------------------------------------------------
test_case "index, not working tree: staged broken, fixed only in the working tree"
BEFORE=$(head_of "$REPO")
cp "$REPO/agents/triage.yaml" "$TEST_ROOT/triage.good"
printf '%s' "$BROKEN_AGENT" >"$REPO/agents/triage.yaml"
git -C "$REPO" add agents/triage.yaml
cp "$TEST_ROOT/triage.good" "$REPO/agents/triage.yaml" # fixed, not staged
commit_refused "agents/triage.yaml:5:1" yaml-duplicate-key -m "staged is broken"
git -C "$REPO" reset -q --hard

test_case "index, not working tree: staged good, broken only in the working tree"
sed -i 's/^tone: neutral$/tone: formal/' "$REPO/agents/triage.yaml"
git -C "$REPO" add agents/triage.yaml
printf '%s' "$BROKEN_AGENT" >"$REPO/agents/triage.yaml" # broken, not staged
echo 'garbage: [' >"$REPO/agents/untracked.yaml"        # untracked, not staged
commit "$REPO" -m "staged is good"
expect_rc 0
expect_eq "$(git -C "$REPO" show HEAD:agents/triage.yaml | grep -c '^tone: formal$')" 1 "committed the staged version"
git -C "$REPO" reset -q --hard
git -C "$REPO" clean -qfd

test_case "index, not working tree: a staged deletion is seen"
BEFORE=$(head_of "$REPO")
LINE=$(grep -nF 'agent: support' "$REPO/workflows/support-request.yaml" | head -1 | cut -d: -f1)
git -C "$REPO" rm -q --cached agents/support.yaml # workflow still names agent 'support'
commit_refused "workflows/support-request.yaml:$LINE:12" ref-agent -m "remove support agent from the index only"
git -C "$REPO" reset -q --hard

test_case "git commit -a (temporary index) refuses broken content"
BEFORE=$(head_of "$REPO")
printf '%s' "$BROKEN_AGENT" >"$REPO/agents/triage.yaml"
commit_refused "agents/triage.yaml:5:1" yaml-duplicate-key -a -m "commit -a broken"
expect_eq "$(git -C "$REPO" diff --cached --name-only)" "" "index untouched by a refused commit -a"
git -C "$REPO" reset -q --hard

test_case "git commit -a accepts good content"
sed -i 's/^tone: formal$/tone: concise/' "$REPO/agents/triage.yaml"
commit "$REPO" -a -m "commit -a good"
expect_rc 0
expect_eq "$(git -C "$REPO" show HEAD:agents/triage.yaml | grep -c '^tone: concise$')" 1 "committed"

test_case "partial commit (git commit PATH) is validated on its temporary index"
BEFORE=$(head_of "$REPO")
printf '%s' "$BROKEN_AGENT" >"$REPO/agents/triage.yaml"
commit_refused "agents/triage.yaml:5:1" yaml-duplicate-key -m "partial" -- agents/triage.yaml
git -C "$REPO" reset -q --hard

test_case "secret literal refused at commit"
BEFORE=$(head_of "$REPO")
FAKE_TOKEN="gh""p_""$(printf 'Zy9XwV8uT7%.0s' 1 2 3 4)"
sed -i "s|^  secret: \${secrets.CRM_API_TOKEN}\$|  secret: $FAKE_TOKEN|" "$REPO/integrations/crm.yaml"
LINE=$(grep -nF "$FAKE_TOKEN" "$REPO/integrations/crm.yaml" | cut -d: -f1)
git -C "$REPO" add integrations/crm.yaml
commit_refused "integrations/crm.yaml:$LINE:11" secret-literal -m "inline token"
git -C "$REPO" reset -q --hard

test_case "staged symlink refused at commit"
BEFORE=$(head_of "$REPO")
ln -s /etc/hostname "$REPO/agents/host.yaml"
git -C "$REPO" add agents/host.yaml
commit_refused "agents/host.yaml:1:1" file-symlink -m "a link"
git -C "$REPO" reset -q --hard
rm -f "$REPO/agents/host.yaml"

test_case "--no-verify bypasses (documented git behaviour), validate still catches it"
printf '%s' "$BROKEN_AGENT" >"$REPO/agents/triage.yaml"
git -C "$REPO" add agents/triage.yaml
commit "$REPO" --no-verify -m "bypass"
expect_rc 0
run "$ENVFLOW" -C "$REPO" validate --rev HEAD
expect_rc 1
git -C "$REPO" reset -q --hard HEAD~1

# ---------------------------------------------------------------------------
test_case "commit on test is refused: read-only"
git -C "$REPO" checkout -q test
BEFORE=$(head_of "$REPO")
sed -i 's/^tone: friendly$/tone: formal/' "$REPO/agents/triage.yaml"
git -C "$REPO" add agents/triage.yaml
commit "$REPO" -m "edit on test"
if [ "$RC" -ne 0 ]; then pass; else fail "commit on test accepted"; fi
expect_err "test is read-only: change dev and promote with envflow sync"
expect_eq "$(head_of "$REPO")" "$BEFORE" "test HEAD"
git -C "$REPO" reset -q --hard

test_case "commit on production is refused too"
git -C "$REPO" checkout -q production
BEFORE=$(head_of "$REPO")
echo "More." >>"$REPO/knowledge/product-faq/returns.md"
commit "$REPO" -a -m "edit on production"
if [ "$RC" -ne 0 ]; then pass; else fail "commit on production accepted"; fi
expect_err "production is read-only"
expect_eq "$(head_of "$REPO")" "$BEFORE" "production HEAD"
git -C "$REPO" reset -q --hard

test_case "a feature branch is not protected"
git -C "$REPO" checkout -q -b feature/tone dev
sed -i 's/^tone: concise$/tone: playful/' "$REPO/agents/triage.yaml"
commit "$REPO" -a -m "feature work"
expect_rc 0
git -C "$REPO" checkout -q dev

# ---------------------------------------------------------------------------
test_case "install-hooks is idempotent"
HOOK="$REPO/.git/hooks/pre-commit"
FIRST=$(cat "$HOOK")
run "$ENVFLOW" -C "$REPO" install-hooks
expect_rc 0
expect_out "pre-commit"
run "$ENVFLOW" install-hooks "$REPO"
expect_rc 0
expect_eq "$(cat "$HOOK")" "$FIRST" "hook content after reinstall"
[ -x "$HOOK" ] && pass || fail "hook not executable"
[ ! -e "$HOOK.envflow-chained" ] && pass || fail "reinstall chained envflow's own hook"
expect_eq "$(ls "$REPO/.git/hooks" | grep -c envflow || true)" 0 "no stray envflow files in hooks/"

test_case "install-hooks from envflow at another path does not chain envflow's own hook"
# A rebuilt or installed envflow lives elsewhere (make install): its hook text
# differs only in the binary path, and must replace the old one, not chain it.
mkdir -p "$TEST_ROOT/moved"
cp "$ENVFLOW" "$TEST_ROOT/moved/envflow"
run "$TEST_ROOT/moved/envflow" -C "$REPO" install-hooks
expect_rc 0
[ ! -e "$HOOK.envflow-chained" ] && pass ||
  fail "envflow's own hook was kept as a foreign hook: $HOOK.envflow-chained"$'\n'"$(cat "$HOOK.envflow-chained")"
grep -qF "$TEST_ROOT/moved/envflow" "$HOOK" && pass || fail "hook does not use the new binary"
run "$TEST_ROOT/moved/envflow" -C "$REPO" install-hooks
expect_rc 0
run "$ENVFLOW" -C "$REPO" install-hooks
expect_rc 0
[ ! -e "$HOOK.envflow-chained" ] && pass || fail "envflow's own hook chained after reinstalling back"
rm -f "$HOOK" "$HOOK.envflow-chained" # start over whatever happened above
run "$ENVFLOW" -C "$REPO" install-hooks
expect_rc 0

test_case "linked worktrees: the hook sees the worktree's branch and index"
git -C "$REPO" worktree add -q "$TEST_ROOT/wt-test" test
echo "More." >>"$TEST_ROOT/wt-test/knowledge/product-faq/returns.md"
BEFORE=$(head_of "$TEST_ROOT/wt-test")
commit "$TEST_ROOT/wt-test" -a -m "edit test in a worktree"
if [ "$RC" -ne 0 ]; then pass; else fail "commit on test accepted in a linked worktree"; fi
expect_err "test is read-only"
expect_eq "$(head_of "$TEST_ROOT/wt-test")" "$BEFORE" "test HEAD"
git -C "$REPO" worktree add -q -b wt-feature "$TEST_ROOT/wt-dev" dev
printf '%s' "$BROKEN_AGENT" >"$TEST_ROOT/wt-dev/agents/triage.yaml"
git -C "$TEST_ROOT/wt-dev" add agents/triage.yaml
commit "$TEST_ROOT/wt-dev" -m "broken in a worktree"
expect_refused "agents/triage.yaml:5:1" yaml-duplicate-key
git -C "$TEST_ROOT/wt-dev" reset -q --hard
sed -i 's/^tone: concise$/tone: formal/' "$TEST_ROOT/wt-dev/agents/triage.yaml"
commit "$TEST_ROOT/wt-dev" -a -m "good in a worktree"
expect_rc 0

test_case "install-hooks into a plain clone, then the hook works"
CLONE="$TEST_ROOT/clone"
git clone -q -b dev "$REPO" "$CLONE"
[ ! -e "$CLONE/.git/hooks/pre-commit" ] && pass || fail "clone already has a hook"
run "$ENVFLOW" -C "$CLONE" install-hooks
expect_rc 0
printf '%s' "$BROKEN_AGENT" >"$CLONE/agents/triage.yaml"
commit "$CLONE" -a -m "broken in clone"
expect_refused "agents/triage.yaml:5:1" yaml-duplicate-key

test_case "install-hooks in a bare repository is a usage error"
git clone -q --bare "$REPO" "$TEST_ROOT/bare.git"
run "$ENVFLOW" -C "$TEST_ROOT/bare.git" install-hooks
expect_rc 2

# ---------------------------------------------------------------------------
# The real pre-commit framework. Skip (125) only when it cannot be had.
if ! command -v pre-commit >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  apt-get install -y pre-commit >/dev/null 2>&1 || true
fi
if ! command -v pre-commit >/dev/null 2>&1; then
  echo "pre-commit (the framework) is not installed: apt-get install -y pre-commit" >&2
  finish >&2 || exit 1
  exit 125
fi
export PRE_COMMIT_HOME="$TEST_ROOT/pre-commit-home"
export PRE_COMMIT_COLOR=never
export VIRTUALENV_OFFLINE=1 PIP_NO_INDEX=1

# framework_repo NAME CONFIG: an init'ed repository whose pre-commit hook is
# the framework's, configured by CONFIG (committed).
framework_repo() {
  local dir
  dir=$(new_repo "$1")
  printf '%s' "$2" >"$dir/.pre-commit-config.yaml"
  git -C "$dir" add .pre-commit-config.yaml
  git -C "$dir" commit -q -m "pre-commit config"
  run bash -c 'cd "$1" && pre-commit install' _ "$dir"
  if [ "$RC" -ne 0 ]; then fail "pre-commit install failed: $OUT $ERR"; fi
  echo "$dir"
}

test_case "pre-commit framework: repo: local system hook"
FW=$(framework_repo fw-local 'repos:
  - repo: local
    hooks:
      - id: envflow
        name: envflow
        entry: envflow hook pre-commit
        language: system
        pass_filenames: false
        always_run: true
')
grep -qF "pre-commit" "$FW/.git/hooks/pre-commit" && ! grep -qF "envflow hook pre-commit" "$FW/.git/hooks/pre-commit" &&
  pass || fail "the framework's hook did not replace envflow's"
broken_commit_refused "$FW" "the framework"
grep -qF "Failed" <<<"$ALL" && pass || fail "framework did not report a failure: $ALL"
# Index, not working tree, through the framework too (it stashes unstaged changes).
git -C "$FW" reset -q --hard
sed -i 's/^tone: friendly$/tone: formal/' "$FW/agents/triage.yaml"
git -C "$FW" add agents/triage.yaml
printf '%s' "$BROKEN_AGENT" >"$FW/agents/triage.yaml"
commit "$FW" -m "good staged, broken unstaged"
expect_rc 0
expect_eq "$(git -C "$FW" show HEAD:agents/triage.yaml | grep -c '^tone: formal$')" 1 "committed the staged version"
expect_eq "$(cat "$FW/agents/triage.yaml")" "$(printf '%s' "$BROKEN_AGENT")" "unstaged change kept in the working tree"
git -C "$FW" reset -q --hard
# And the read-only branch rule.
git -C "$FW" checkout -q test
echo "More." >>"$FW/knowledge/product-faq/returns.md"
commit "$FW" -a -m "edit on test"
if [ "$RC" -ne 0 ]; then pass; else fail "commit on test accepted through the framework"; fi
grep -qF "test is read-only" <<<"$OUT"$'\n'"$ERR" && pass || fail "no read-only message: $OUT $ERR"
git -C "$FW" reset -q --hard
git -C "$FW" checkout -q dev

test_case "pre-commit framework: this repository's .pre-commit-hooks.yaml"
MANIFEST="$ENVFLOW_SOURCE_DIR/.pre-commit-hooks.yaml"
[ -f "$MANIFEST" ] && pass || fail "no $MANIFEST"
run python3 -c '
import sys, yaml
hooks = yaml.safe_load(open(sys.argv[1]))
h = [x for x in hooks if x["id"] == "envflow-validate"][0]
assert h["entry"] == "envflow hook pre-commit", h
assert h["language"] == "system", h
assert h["pass_filenames"] is False and h["always_run"] is True, h
assert h.get("description"), h
' "$MANIFEST"
expect_rc 0
HOOKS_REPO="$TEST_ROOT/envflow-hooks"
git init -q "$HOOKS_REPO"
cp "$MANIFEST" "$HOOKS_REPO/.pre-commit-hooks.yaml"
git -C "$HOOKS_REPO" add .pre-commit-hooks.yaml
git -C "$HOOKS_REPO" commit -q -m "envflow pre-commit manifest"
HOOKS_REV=$(head_of "$HOOKS_REPO")
FW2=$(framework_repo fw-manifest "repos:
  - repo: file://$HOOKS_REPO
    rev: $HOOKS_REV
    hooks:
      - id: envflow-validate
")
run bash -c 'cd "$1" && pre-commit run --all-files' _ "$FW2"
expect_rc 0
expect_out "envflow validate"
broken_commit_refused "$FW2" "the manifest"
grep -qF "envflow validate" <<<"$ALL" && pass || fail "hook name from the manifest not shown: $ALL"
git -C "$FW2" reset -q --hard
sed -i 's/^tone: friendly$/tone: formal/' "$FW2/agents/triage.yaml"
commit "$FW2" -a -m "good through the manifest"
expect_rc 0

finish
