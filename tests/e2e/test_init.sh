#!/usr/bin/env bash
# End-to-end: `envflow init` — fresh repositories, custom pipelines, refusals,
# adopting existing repositories, hook chaining, --bare, and the CLI surface
# around it (git envflow, --help, --version, "did you mean").
. "$(dirname "$0")/lib.sh"

DEFAULT_ENVS=(dev test uat staging production)
ZERO=0000000000000000000000000000000000000000

# valid_json: stdout ($OUT) parses as JSON.
expect_json() {
  if python3 -c 'import json,sys; json.load(sys.stdin)' <<<"$OUT" >/dev/null 2>&1; then pass; else
    fail "stdout is not JSON: $OUT"
  fi
}

# envflow_refs REPO: every refs/envflow/* ref with its id (empty when none).
envflow_refs() { git -C "$1" for-each-ref --format='%(refname) %(objectname)' refs/envflow/; }
# all_refs REPO: every ref with its id.
all_refs() { git -C "$1" for-each-ref --format='%(refname) %(objectname)'; }

# ---------------------------------------------------------------------------
test_case "init fresh: text output"
FRESH="$TEST_ROOT/fresh"
run "$ENVFLOW" init "$FRESH"
expect_rc 0
expect_out "Initialized envflow repository in"
expect_out "dev -> test -> uat -> staging -> production"
expect_out "Next:"
expect_out "envflow validate"
expect_out "envflow sync dev"

test_case "init fresh: every environment branch at one commit"
DEV=$(ref_of "$FRESH" refs/heads/dev)
if [ "$DEV" = none ]; then fail "no dev branch"; else pass; fi
for env in "${DEFAULT_ENVS[@]}"; do
  expect_eq "$(ref_of "$FRESH" "refs/heads/$env")" "$DEV" "refs/heads/$env"
done
expect_eq "$(git -C "$FRESH" for-each-ref --format='%(refname)' refs/heads/ | wc -l | tr -d ' ')" 5 \
  "number of branches"
expect_eq "$(git -C "$FRESH" symbolic-ref HEAD)" refs/heads/dev "HEAD"
expect_eq "$(git -C "$FRESH" rev-list --count dev)" 1 "commits on dev"
expect_eq "$(git -C "$FRESH" status --porcelain)" "" "working tree clean after init"

test_case "init fresh: starter workspace committed"
run git -C "$FRESH" ls-tree -r --name-only dev
expect_out "workspace.yaml"
expect_out "agents/triage.yaml"
expect_out "agents/support.yaml"
expect_out "workflows/support-request.yaml"
expect_out "knowledge/product-faq.yaml"
expect_out "integrations/crm.yaml"
expect_out "channels/web-widget.yaml"
expect_out "variables/max_turns.yaml"
[ -f "$FRESH/workspace.yaml" ] && pass || fail "workspace.yaml not checked out"

test_case "init fresh: config ref"
CONFIG=$(ref_of "$FRESH" refs/envflow/config)
if [ "$CONFIG" = none ]; then fail "no refs/envflow/config"; else pass; fi
run git -C "$FRESH" show refs/envflow/config:envflow.yaml
expect_rc 0
for env in "${DEFAULT_ENVS[@]}"; do expect_out "$env"; done
expect_out "alice@example.com"

test_case "init fresh: one audit record naming every moved ref"
expect_eq "$(git -C "$FRESH" rev-list --count refs/envflow/audit)" 1 "audit records"
run git -C "$FRESH" log -1 --format=%B refs/envflow/audit
expect_out "op: init"
expect_out "actor: alice@example.com"
for env in "${DEFAULT_ENVS[@]}"; do
  expect_out "move: refs/heads/$env $ZERO $DEV"
done
expect_out "move: refs/envflow/config $ZERO $CONFIG"
expect_eq "$(grep -c '^move: ' <<<"$OUT")" 6 "move lines"

test_case "init fresh: hook installed and executable"
HOOK="$FRESH/.git/hooks/pre-commit"
[ -f "$HOOK" ] && pass || fail "no $HOOK"
[ -x "$HOOK" ] && pass || fail "$HOOK not executable"
grep -qF "hook pre-commit" "$HOOK" && pass || fail "$HOOK does not call envflow hook pre-commit"

test_case "init fresh: workspace validates clean, fsck clean"
run "$ENVFLOW" -C "$FRESH" validate
expect_rc 0
expect_out "ok:"
run "$ENVFLOW" -C "$FRESH" validate --rev dev
expect_rc 0
run git -C "$FRESH" fsck --strict
expect_rc 0

test_case "init fresh: --format json"
run "$ENVFLOW" --format json init "$TEST_ROOT/fresh-json"
expect_rc 0
expect_json
JSON_OK=$(python3 - "$OUT" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
assert d["environments"] == ["dev", "test", "uat", "staging", "production"], d
assert d["adopted"] is False, d
assert len(d["commit"]) == 40, d
assert d["actor"] == "alice@example.com", d
assert isinstance(d["hooks"], list) and d["hooks"], d
print("ok")
PY
) || true
expect_eq "$JSON_OK" ok "json fields"
expect_eq "$(ref_of "$TEST_ROOT/fresh-json" refs/heads/production)" \
  "$(ref_of "$TEST_ROOT/fresh-json" refs/heads/dev)" "json init: production at dev"

test_case "init --actor"
run "$ENVFLOW" --actor carol@example.com init "$TEST_ROOT/actor"
expect_rc 0
run git -C "$TEST_ROOT/actor" log -1 --format=%B refs/envflow/audit
expect_out "actor: carol@example.com"
run git -C "$TEST_ROOT/actor" show refs/envflow/config:envflow.yaml
expect_out "carol@example.com"

# ---------------------------------------------------------------------------
test_case "init --envs dev,prod"
TWO="$TEST_ROOT/two"
run "$ENVFLOW" init "$TWO" --envs dev,prod
expect_rc 0
expect_out "dev -> prod"
expect_eq "$(git -C "$TWO" for-each-ref --format='%(refname:short)' refs/heads/ | sort | tr '\n' ' ')" \
  "dev prod " "branches"
expect_eq "$(ref_of "$TWO" refs/heads/prod)" "$(ref_of "$TWO" refs/heads/dev)" "prod at dev"
run git -C "$TWO" show refs/envflow/config:envflow.yaml
expect_out "prod"
expect_no_out "staging"
run git -C "$TWO" log -1 --format=%B refs/envflow/audit
expect_eq "$(grep -c '^move: ' <<<"$OUT")" 3 "move lines (dev, prod, config)"
run "$ENVFLOW" -C "$TWO" validate
expect_rc 0

test_case "init --envs: bad lists are usage errors and create nothing"
for bad in "dev" "Dev,Prod" "dev,test,dev" "dev,,prod" "a,b,c,d,e,f,g,h,i"; do
  dir="$TEST_ROOT/bad-envs-$RANDOM"
  run "$ENVFLOW" init "$dir" --envs "$bad"
  CURRENT="init --envs $bad"
  expect_rc 2
  if [ -n "$ERR" ]; then pass; else fail "no message on stderr"; fi
  if [ -e "$dir/.git" ] && [ -n "$(envflow_refs "$dir")" ]; then
    fail "refs created for --envs $bad"
  else pass; fi
done

# ---------------------------------------------------------------------------
test_case "init twice is refused and changes nothing"
BEFORE=$(all_refs "$FRESH")
HOOK_BEFORE=$(cat "$FRESH/.git/hooks/pre-commit")
run "$ENVFLOW" init "$FRESH"
expect_rc 1
expect_err "already an envflow repository"
expect_eq "$(all_refs "$FRESH")" "$BEFORE" "refs after second init"
expect_eq "$(cat "$FRESH/.git/hooks/pre-commit")" "$HOOK_BEFORE" "hook after second init"
[ ! -e "$FRESH/.git/hooks/pre-commit.envflow-chained" ] && pass || fail "second init chained its own hook"
run "$ENVFLOW" -C "$FRESH" init
expect_rc 1

# ---------------------------------------------------------------------------
test_case "adopt: existing commits, no workspace"
ADOPT="$TEST_ROOT/adopt"
git init -q -b dev "$ADOPT"
echo "# team notes" >"$ADOPT/README.md"
git -C "$ADOPT" add README.md
git -C "$ADOPT" commit -qm "first"
FIRST=$(ref_of "$ADOPT" HEAD)
run "$ENVFLOW" init "$ADOPT"
expect_rc 0
NEWDEV=$(ref_of "$ADOPT" refs/heads/dev)
expect_eq "$(git -C "$ADOPT" rev-parse dev^)" "$FIRST" "starter commit sits on top of the existing history"
expect_eq "$(git -C "$ADOPT" show dev:README.md)" "# team notes" "README kept"
run git -C "$ADOPT" cat-file -e dev:workspace.yaml
expect_rc 0
for env in "${DEFAULT_ENVS[@]}"; do
  expect_eq "$(ref_of "$ADOPT" "refs/heads/$env")" "$NEWDEV" "adopt: refs/heads/$env"
done
run git -C "$ADOPT" log -1 --format=%B refs/envflow/audit
expect_out "move: refs/heads/dev $FIRST $NEWDEV"
expect_eq "$(git -C "$ADOPT" status --porcelain)" "" "working tree clean after adopt"
[ -f "$ADOPT/workspace.yaml" ] && [ -f "$ADOPT/agents/triage.yaml" ] && pass ||
  fail "starter workspace not checked out after adopt"
run "$ENVFLOW" -C "$ADOPT" validate
expect_rc 0
[ -x "$ADOPT/.git/hooks/pre-commit" ] && pass || fail "adopt: hook not installed"

test_case "adopt: existing history on main (not an env branch)"
ADOPT_MAIN="$TEST_ROOT/adopt-main"
git init -q "$ADOPT_MAIN"
echo hello >"$ADOPT_MAIN/notes.txt"
git -C "$ADOPT_MAIN" add notes.txt
git -C "$ADOPT_MAIN" commit -qm "on main"
MAIN=$(ref_of "$ADOPT_MAIN" HEAD)
run "$ENVFLOW" init "$ADOPT_MAIN"
expect_rc 0
expect_eq "$(git -C "$ADOPT_MAIN" rev-parse dev^ 2>/dev/null || echo none)" "$MAIN" "dev built on main's head"
expect_eq "$(ref_of "$ADOPT_MAIN" refs/heads/main)" "$MAIN" "main untouched"

test_case "adopt: a repository that already has a valid workspace keeps its content"
OWN="$TEST_ROOT/own"
git init -q -b dev "$OWN"
cp -r "$ENVFLOW_SOURCE_DIR/templates/workspace/." "$OWN/"
# Make it recognisably ours: a different workspace name and one more agent.
sed -i 's/^name: customer-support$/name: our-own-workspace/' "$OWN/workspace.yaml"
printf 'kind: Agent\nname: ours\ninstructions: Our own agent.\n' >"$OWN/agents/ours.yaml"
git -C "$OWN" add -A
git -C "$OWN" commit -qm "our content"
OWN_HEAD=$(ref_of "$OWN" HEAD)
run "$ENVFLOW" init "$OWN"
expect_rc 0
expect_out "Adopted"
expect_eq "$(ref_of "$OWN" refs/heads/dev)" "$OWN_HEAD" "dev not moved"
for env in "${DEFAULT_ENVS[@]}"; do
  expect_eq "$(ref_of "$OWN" "refs/heads/$env")" "$OWN_HEAD" "adopt-own: refs/heads/$env"
done
expect_eq "$(git -C "$OWN" show dev:workspace.yaml | grep -c our-own-workspace)" 1 "our workspace.yaml kept"
run git -C "$OWN" cat-file -e dev:agents/ours.yaml
expect_rc 0
expect_eq "$(git -C "$OWN" rev-list --count dev)" 1 "no starter commit added"
expect_eq "$(git -C "$OWN" status --porcelain)" "" "working tree clean after adopt"
run git -C "$OWN" log -1 --format=%B refs/envflow/audit
expect_no_out "move: refs/heads/dev "
expect_out "move: refs/heads/test $ZERO $OWN_HEAD"

test_case "adopt: an invalid existing workspace is refused"
BROKEN="$TEST_ROOT/broken-own"
git init -q -b dev "$BROKEN"
cp -r "$ENVFLOW_SOURCE_DIR/templates/workspace/." "$BROKEN/"
printf 'kind: Agent\nname: triage\n' >"$BROKEN/agents/triage.yaml" # no instructions
git -C "$BROKEN" add -A
git -C "$BROKEN" commit -qm "broken content"
run "$ENVFLOW" init "$BROKEN"
expect_rc 1
expect_err "agents/triage.yaml:"
expect_eq "$(envflow_refs "$BROKEN")" "" "no refs/envflow/* after a refused adopt"
expect_eq "$(ref_of "$BROKEN" refs/heads/test)" none "no test branch after a refused adopt"

# one_commit_repo DIR: a plain git repository on dev, one commit of file.txt.
one_commit_repo() {
  git init -q -b dev "$1"
  echo one >"$1/file.txt"
  git -C "$1" add file.txt
  git -C "$1" commit -qm one
}

test_case "adopt refused with uncommitted changes"
DIRTY="$TEST_ROOT/dirty"
one_commit_repo "$DIRTY"
echo two >"$DIRTY/file.txt"
DIRTY_BEFORE=$(all_refs "$DIRTY")
run "$ENVFLOW" init "$DIRTY"
expect_rc 1
expect_err "uncommitted changes"
expect_err "file.txt"
expect_eq "$(envflow_refs "$DIRTY")" "" "no refs/envflow/* after a refused adopt"
expect_eq "$(all_refs "$DIRTY")" "$DIRTY_BEFORE" "refs unchanged"
expect_eq "$(cat "$DIRTY/file.txt")" two "working tree change kept"
[ ! -e "$DIRTY/.git/hooks/pre-commit" ] && pass || fail "hook installed by a refused init"

test_case "adopt refused with staged changes"
STAGED="$TEST_ROOT/staged"
one_commit_repo "$STAGED"
echo new >"$STAGED/new.txt"
git -C "$STAGED" add new.txt
run "$ENVFLOW" init "$STAGED"
expect_rc 1
expect_err "uncommitted changes"
expect_eq "$(envflow_refs "$STAGED")" "" "no refs/envflow/* after a refused adopt"

test_case "adopt refused when a 'test' branch exists"
HAS_TEST="$TEST_ROOT/has-test"
one_commit_repo "$HAS_TEST"
git -C "$HAS_TEST" branch test
HAS_TEST_BEFORE=$(all_refs "$HAS_TEST")
run "$ENVFLOW" init "$HAS_TEST"
expect_rc 1
expect_err "branch 'test' already exists"
expect_eq "$(envflow_refs "$HAS_TEST")" "" "no refs/envflow/*"
expect_eq "$(all_refs "$HAS_TEST")" "$HAS_TEST_BEFORE" "refs unchanged"
# ...while other names avoid the clash.
run "$ENVFLOW" init "$HAS_TEST" --envs dev,qa,prod
expect_rc 0

test_case "init into a folder whose untracked file collides with the starter"
COLLIDE="$TEST_ROOT/collide"
mkdir -p "$COLLIDE/agents"
echo "my own notes" >"$COLLIDE/agents/triage.yaml"
run "$ENVFLOW" init "$COLLIDE"
expect_rc 1
expect_err "agents/triage.yaml"
expect_eq "$(cat "$COLLIDE/agents/triage.yaml")" "my own notes" "untracked file untouched"
expect_eq "$(envflow_refs "$COLLIDE" 2>/dev/null || true)" "" "no refs/envflow/* after a refused init"

# ---------------------------------------------------------------------------
test_case "a foreign pre-commit hook is chained and still runs"
CHAIN="$TEST_ROOT/chain"
git init -q "$CHAIN" # no commits yet: the hook is all there is
MARKER="$TEST_ROOT/chained-ran"
cat >"$CHAIN/.git/hooks/pre-commit" <<EOF
#!/bin/sh
# team hook
echo ran >>"$MARKER"
exit 0
EOF
chmod +x "$CHAIN/.git/hooks/pre-commit"
run "$ENVFLOW" init "$CHAIN"
expect_rc 0
[ -x "$CHAIN/.git/hooks/pre-commit.envflow-chained" ] && pass || fail "foreign hook not kept as pre-commit.envflow-chained"
grep -qF "hook pre-commit" "$CHAIN/.git/hooks/pre-commit" && pass || fail "envflow hook not installed"
grep -qF "# team hook" "$CHAIN/.git/hooks/pre-commit.envflow-chained" && pass || fail "chained hook content changed"
# A valid commit runs both hooks: envflow's first, then the team's.
echo "Extra note." >>"$CHAIN/knowledge/product-faq/returns.md"
git -C "$CHAIN" add knowledge/product-faq/returns.md
run git -C "$CHAIN" commit -m "valid change"
expect_rc 0
expect_eq "$(cat "$MARKER" 2>/dev/null)" ran "chained hook ran once"
# A broken commit stops at envflow's hook: the team hook does not run.
printf 'kind: Agent\nname: triage\ninstructions: [unclosed\n' >"$CHAIN/agents/triage.yaml"
git -C "$CHAIN" add agents/triage.yaml
run git -C "$CHAIN" commit -m "broken change"
if [ "$RC" -ne 0 ]; then pass; else fail "broken commit accepted"; fi
expect_eq "$(cat "$MARKER" 2>/dev/null | wc -l | tr -d ' ')" 1 "chained hook did not run after envflow refused"
git -C "$CHAIN" reset -q --hard
# install-hooks again keeps the chain as is.
run "$ENVFLOW" -C "$CHAIN" install-hooks
expect_rc 0
grep -qF "# team hook" "$CHAIN/.git/hooks/pre-commit.envflow-chained" && pass || fail "chained hook lost on reinstall"

# ---------------------------------------------------------------------------
test_case "init --bare"
BARE="$TEST_ROOT/server.git"
run "$ENVFLOW" init "$BARE" --bare
expect_rc 0
expect_eq "$(git -C "$BARE" rev-parse --is-bare-repository)" true "bare"
BDEV=$(ref_of "$BARE" refs/heads/dev)
if [ "$BDEV" = none ]; then fail "no dev in bare repo"; else pass; fi
for env in "${DEFAULT_ENVS[@]}"; do
  expect_eq "$(ref_of "$BARE" "refs/heads/$env")" "$BDEV" "bare: refs/heads/$env"
done
[ "$(ref_of "$BARE" refs/envflow/config)" != none ] && pass || fail "bare: no config ref"
expect_eq "$(git -C "$BARE" rev-list --count refs/envflow/audit)" 1 "bare: audit records"
run "$ENVFLOW" -C "$BARE" validate --rev dev
expect_rc 0
run git -C "$BARE" fsck --strict
expect_rc 0
run git clone -q "$BARE" "$TEST_ROOT/from-bare"
expect_rc 0
[ -f "$TEST_ROOT/from-bare/workspace.yaml" ] && pass || fail "clone of bare repo lacks workspace.yaml"

# ---------------------------------------------------------------------------
test_case "git envflow --version"
run git envflow --version
expect_rc 0
expect_out "envflow"
run "$ENVFLOW" --version
expect_rc 0
expect_out "envflow"

test_case "git envflow validate"
run git -C "$FRESH" envflow validate
expect_rc 0

test_case "envflow --help"
run "$ENVFLOW" --help
expect_rc 0
expect_out "init"
expect_out "validate"
run "$ENVFLOW" init --help
expect_rc 0
expect_out "--envs"

test_case "unknown command suggests the nearest one"
run "$ENVFLOW" valdiate
expect_rc 2
expect_err "did you mean 'validate'"
run "$ENVFLOW" frobnicate
expect_rc 2
expect_err "frobnicate"

test_case "no command is a usage error"
run "$ENVFLOW"
expect_rc 2

finish
