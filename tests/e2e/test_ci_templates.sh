#!/usr/bin/env bash
# End-to-end: the CI templates of issue 7.
#
# - `envflow init --ci github|gitlab` commits the workflow files (fresh and
#   adopted repositories, other environment names), refuses an unknown value
#   (exit 2) and a file it would overwrite (exit 1), changing nothing.
# - `--format github`: diagnostics as GitHub workflow commands (validate and
#   the pre-commit hook).
# - The GitHub workflows pass SchemaStore's workflow schema
#   (@action-validator/cli from npm).
#
# The npm tools come from `make test-deps` (tests/e2e/ci/install-node-tools,
# into tests/.node). Without them (or without rsync, which gitlab-ci-local's
# shell jobs need) the suite runs the checks that need none and exits 125.
. "$(dirname "$0")/lib.sh"

CI_DIR="$ENVFLOW_SOURCE_DIR/tests/e2e/ci"
NODE_BIN="$ENVFLOW_SOURCE_DIR/tests/.node/node_modules/.bin"
ZERO=0000000000000000000000000000000000000000

all_refs() { git -C "$1" for-each-ref --format='%(refname) %(objectname)'; }

# ---------------------------------------------------------------------------
test_case "init --ci github: three workflows in the first commit on dev"
GH="$TEST_ROOT/gh"
run envflow init --ci github "$GH"
expect_rc 0
expect_out "ci            .github/workflows/envflow-promote-manual.yml, .github/workflows/envflow-promote.yml, .github/workflows/envflow-validate.yml"
DEV=$(ref_of "$GH" refs/heads/dev)
for f in envflow-validate.yml envflow-promote.yml envflow-promote-manual.yml; do
  if git -C "$GH" cat-file -e "dev:.github/workflows/$f" 2>/dev/null; then pass; else
    fail "dev has no .github/workflows/$f"
  fi
done
expect_eq "$(git -C "$GH" rev-list --count dev)" 1 "commits on dev"
expect_eq "$(ref_of "$GH" refs/heads/production)" "$DEV" "production"
expect_eq "$(git -C "$GH" status --porcelain)" "" "git status after init"
if grep -q "^    branches: \[dev\]$" "$GH/.github/workflows/envflow-promote.yml" &&
  grep -q 'run: envflow sync --auto --push$' "$GH/.github/workflows/envflow-promote.yml" &&
  grep -q 'run: envflow sync "$ENVFLOW_ENV" --push$' "$GH/.github/workflows/envflow-promote-manual.yml" &&
  grep -q 'fetch-depth: 0' "$GH/.github/workflows/envflow-validate.yml"; then pass; else
  fail "workflow contents: $(cat "$GH"/.github/workflows/*.yml)"
fi
if grep -q '@@\|#@' "$GH"/.github/workflows/*.yml; then fail "template markers left"; else pass; fi
run envflow -C "$GH" validate
expect_rc 0
expect_out "ok: 11 files valid"

test_case "init --ci gitlab: .gitlab-ci.yml with a manual job per promotion"
GL="$TEST_ROOT/gl"
run envflow --format json init --ci gitlab --envs dev,qa,prod "$GL"
expect_rc 0
expect_out '"ci_files": ['
expect_out '".gitlab-ci.yml"'
if git -C "$GL" cat-file -e dev:.gitlab-ci.yml 2>/dev/null; then pass; else fail "no .gitlab-ci.yml on dev"; fi
for job in envflow-validate: envflow-promote: envflow-promote-dev: envflow-promote-qa:; do
  if grep -q "^$job\$" "$GL/.gitlab-ci.yml"; then pass; else fail "no job $job"; fi
done
if grep -q "^envflow-promote-prod:" "$GL/.gitlab-ci.yml"; then fail "a job promotes the last environment"; else pass; fi
if grep -q 'envflow sync qa --push' "$GL/.gitlab-ci.yml" && grep -q 'GIT_DEPTH: "0"' "$GL/.gitlab-ci.yml" &&
  grep -q '$CI_COMMIT_BRANCH == "dev"' "$GL/.gitlab-ci.yml"; then pass; else
  fail ".gitlab-ci.yml: $(cat "$GL/.gitlab-ci.yml")"
fi

test_case "init --ci: an unknown value is a usage error and creates nothing"
run envflow init --ci jenkins "$TEST_ROOT/jk"
expect_rc 2
expect_err "unknown CI system 'jenkins' for --ci: use github or gitlab"
if [ -e "$TEST_ROOT/jk" ]; then fail "init created $TEST_ROOT/jk"; else pass; fi
run envflow init --ci "" "$TEST_ROOT/jk"
expect_rc 2

test_case "init --ci gitlab adopting a repository: one commit on top, same way"
AD="$TEST_ROOT/adopt"
mkdir -p "$AD"
git -C "$AD" init -q -b main
cp -r "$GH"/{workspace.yaml,agents,channels,integrations,knowledge,variables,workflows} "$AD/"
git -C "$AD" add -A
git -C "$AD" commit -qm "our workspace"
BASE=$(ref_of "$AD" HEAD)
run envflow -C "$AD" init --ci gitlab
expect_rc 0
expect_out "Adopted envflow repository"
expect_out "ci            .gitlab-ci.yml"
DEV=$(ref_of "$AD" refs/heads/dev)
expect_eq "$(git -C "$AD" rev-parse dev^)" "$BASE" "parent of the CI commit"
expect_eq "$(git -C "$AD" log -1 --format=%s dev)" "Add envflow's GitLab CI jobs" "CI commit subject"
expect_eq "$(git -C "$AD" diff --name-only "$BASE" dev)" ".gitlab-ci.yml" "what the CI commit adds"
expect_eq "$(ref_of "$AD" refs/heads/uat)" "$DEV" "uat"
expect_eq "$(ref_of "$AD" refs/heads/main)" "$BASE" "main stays"
expect_eq "$(git -C "$AD" status --porcelain)" "" "git status after adopting"
expect_eq "$(git -C "$AD" log -1 --format=%B refs/envflow/audit | grep -c '^op: init$')" 1 "init record"

test_case "init --ci refuses to overwrite a committed CI file, and changes nothing"
AD2="$TEST_ROOT/adopt2"
mkdir -p "$AD2/.github/workflows"
git -C "$AD2" init -q -b main
cp -r "$GH"/{workspace.yaml,agents,channels,integrations,knowledge,variables,workflows} "$AD2/"
echo "name: ours" >"$AD2/.github/workflows/envflow-promote.yml"
git -C "$AD2" add -A
git -C "$AD2" commit -qm "our workspace and workflow"
BEFORE=$(all_refs "$AD2")
run envflow -C "$AD2" init --ci github
expect_rc 1
expect_err ".github/workflows/envflow-promote.yml is already committed and envflow init --ci github would overwrite it"
expect_eq "$(all_refs "$AD2")" "$BEFORE" "refs after the refusal"
run envflow -C "$AD2" init --ci gitlab # the other system does not collide
expect_rc 0

test_case "init --ci refuses an untracked file where a CI file goes"
mkdir -p "$TEST_ROOT/untracked"
git -C "$TEST_ROOT/untracked" init -q -b main
echo "# mine" >"$TEST_ROOT/untracked/.gitlab-ci.yml"
run envflow init --ci gitlab "$TEST_ROOT/untracked"
expect_rc 1
expect_err ".gitlab-ci.yml is in the working tree but not committed"
expect_eq "$(cat "$TEST_ROOT/untracked/.gitlab-ci.yml")" "# mine" "the untracked file"

# ---------------------------------------------------------------------------
test_case "--format github: validate prints workflow commands"
VG="$TEST_ROOT/vg"
envflow init "$VG" >/dev/null
sed -i 's/^name: support$/name: other/' "$VG/agents/support.yaml"
printf 'kind: Agent\nname: "a,b"\n' >"$VG/agents/a,b.yaml"
run envflow -C "$VG" --format github validate agents/support.yaml
expect_rc 1
expect_out "::error file=agents/support.yaml,line=2,col=7,title=name-mismatch::name 'other' does not match the file name; rename the file to agents/other.yaml or set 'name: support'"
expect_out "invalid: 1 problem in 1 file"
run envflow -C "$VG" validate --format github
expect_rc 1
expect_out "::error file=agents/a%2Cb.yaml,line=1,col=1,title=schema::"
if grep -v '^::error file=[^:,]*,line=[0-9]*,col=[0-9]*,title=[a-z-]*::' <<<"$OUT" | grep -qv '^invalid: '; then
  fail "a line that is not a workflow command: $OUT"
else pass; fi
git -C "$VG" checkout -q -- agents/support.yaml
rm "$VG/agents/a,b.yaml"
run envflow -C "$VG" --format github validate --rev dev
expect_rc 0
expect_out "ok: 11 files valid"

test_case "--format github: the pre-commit hook's diagnostics"
sed -i 's/^name: support$/name: other/' "$VG/agents/support.yaml"
git -C "$VG" add agents/support.yaml
run envflow -C "$VG" --format github hook pre-commit
expect_rc 1
expect_err "::error file=agents/support.yaml,line=2,col=7,title=name-mismatch::"
expect_err "commit refused"
git -C "$VG" reset -q
git -C "$VG" checkout -q -- agents/support.yaml

# ---------------------------------------------------------------------------
# From here on: the npm tools.
missing=()
command -v node >/dev/null || missing+=(node)
command -v rsync >/dev/null || missing+=(rsync)
for tool in action-validator gitlab-ci-local; do
  [ -x "$NODE_BIN/$tool" ] || missing+=("$tool")
done
[ -d "$ENVFLOW_SOURCE_DIR/tests/.node/node_modules/js-yaml" ] || missing+=(js-yaml)
if [ ${#missing[@]} -eq 0 ] && ! "$NODE_BIN/gitlab-ci-local" --version >/dev/null 2>&1; then
  missing+=("a gitlab-ci-local that runs on node $(node --version)")
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "skipped: the workflow schema check and the CI runs need ${missing[*]} (make test-deps)"
  finish || exit 1
  exit 125
fi

test_case "GitHub workflows pass the workflow schema (action-validator)"
for f in "$GH"/.github/workflows/*.yml; do
  run "$NODE_BIN/action-validator" "$f"
  expect_rc 0
done
envflow init --ci github --envs main,prod "$TEST_ROOT/gh2" >/dev/null
for f in "$TEST_ROOT"/gh2/.github/workflows/*.yml; do
  run "$NODE_BIN/action-validator" "$f"
  expect_rc 0
done
# The schema check bites: a job without runs-on, an unknown input type.
sed 's/runs-on:/runs_on:/' "$GH/.github/workflows/envflow-promote.yml" >"$TEST_ROOT/bad.yml"
run "$NODE_BIN/action-validator" "$TEST_ROOT/bad.yml"
expect_rc 1
sed 's/type: choice/type: choise/' "$GH/.github/workflows/envflow-promote-manual.yml" >"$TEST_ROOT/bad.yml"
run "$NODE_BIN/action-validator" "$TEST_ROOT/bad.yml"
expect_rc 1

finish
