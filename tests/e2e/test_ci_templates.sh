#!/usr/bin/env bash
# End-to-end: the CI templates of issue 7.
#
# - `envflow init --ci github|gitlab` commits the workflow files (fresh and
#   adopted repositories, other environment names), refuses an unknown value
#   (exit 2) and a file it would overwrite (exit 1), changing nothing.
# - `--format github`: diagnostics as GitHub workflow commands (validate and
#   the pre-commit hook).
# - The GitHub workflows pass SchemaStore's workflow schema
#   (@action-validator/cli from npm), and their `run:` steps, executed in
#   order like a runner would (tests/e2e/ci/github_steps.mjs), validate a
#   pull request with annotations, promote a push to dev into test (auto)
#   and promote test into uat by hand, against a bare origin with envflow's
#   server hooks.
# - The GitLab template runs for real with gitlab-ci-local (npm) in shell
#   mode against such an origin: its rules pick the right jobs, a push to dev
#   is auto-promoted to test, the manual job promotes test into uat.
#
# The npm tools come from `make test-deps` (tests/e2e/ci/install-node-tools,
# into tests/.node). Without them (or without rsync, which gitlab-ci-local's
# shell jobs need) the suite runs the checks that need none and exits 125.
. "$(dirname "$0")/lib.sh"

CI_DIR="$ENVFLOW_SOURCE_DIR/tests/e2e/ci"
NODE_BIN="$ENVFLOW_SOURCE_DIR/tests/.node/node_modules/.bin"
# The Node.js 20 that make test-deps installs next to the tools (Debian 12's
# Node.js 18 cannot run gitlab-ci-local 4.73): first on PATH, so the tools'
# `#!/usr/bin/env node` and the suite's own node run on it.
for runtime in "$ENVFLOW_SOURCE_DIR"/tests/.node/node_modules/node-linux-*/bin; do
  [ -x "$runtime/node" ] && PATH="$runtime:$PATH"
done

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
  ! grep -q 'fetch-depth' "$GH"/.github/workflows/*.yml; then pass; else
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
if grep -q 'envflow sync qa --push' "$GL/.gitlab-ci.yml" && ! grep -q GIT_DEPTH "$GL/.gitlab-ci.yml" &&
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
OTHER=$(grep -v '^::error file=[^:,]*,line=[0-9]*,col=[0-9]*,title=[a-z-]*::' <<<"$OUT" || true)
if grep -qv '^invalid: ' <<<"$OTHER"; then
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

# ---------------------------------------------------------------------------
# A shared origin with envflow's server hooks. The pusher's identity is
# REMOTE_USER, which receive-pack inherits over file:// as it would from the
# forge's authentication: each CI run below sets it to the identity of the
# job's credential.
policy() { # policy FIRST-USER-OF-TEST'S-PROMOTE-GROUP
  cat <<EOF
version: 1
environments:
  - name: dev
    branch: dev
    write: [developers, ci]
  - name: test
    branch: test
    promote: [ci, release-managers]
    auto: true
  - name: uat
    branch: uat
    promote: [release-managers]
  - name: staging
    branch: staging
    promote: [release-managers]
  - name: production
    branch: production
    promote: [release-managers]
    approvals: 1
    approvers: [release-managers]
groups:
  developers: [alice]
  ci: [envflow-ci]
  release-managers: [bob, carol]
  admins: [adam]
admins: [admins]
publishers: [release-managers]
hotfixers: [release-managers]
identity:
  env: [REMOTE_USER]
  required: true
EOF
}
# new_origin NAME CI: a bare origin made with init --ci CI, the policy above
# and the server hooks; a developer clone of it in $TEST_ROOT/NAME-dev.
new_origin() {
  local srv="$TEST_ROOT/$1.git"
  ENVFLOW_ACTOR=adam envflow init --bare --ci "$2" "$srv" >/dev/null
  policy >"$TEST_ROOT/policy.yaml"
  ENVFLOW_ACTOR=adam envflow -C "$srv" config edit --file "$TEST_ROOT/policy.yaml" >/dev/null
  envflow install-hooks --server "$srv" >/dev/null
  git clone -q "file://$srv" "$TEST_ROOT/$1-dev"
  (cd "$TEST_ROOT/$1-dev" && ENVFLOW_ACTOR=alice envflow setup >/dev/null)
}
# dev_push NAME TEXT: alice commits a valid change on dev and pushes it.
dev_push() {
  local w="$TEST_ROOT/$1-dev"
  git -C "$w" checkout -q dev
  sed -i "s/^description: .*/description: $2/" "$w/agents/support.yaml"
  git -C "$w" commit -q -am "Support agent: $2"
  REMOTE_USER=alice ENVFLOW_ACTOR=alice git -C "$w" push -q origin dev 2>/dev/null
  ref_of "$w" HEAD
}
# records_for REPO REF NEW: audit records on REPO that move REF to NEW.
records_for() {
  git -C "$1" log --format=%B refs/envflow/audit | grep -c "^move: $2 [0-9a-f]* $3\$" || true
}

# run_github_job WORKFLOW JOB CLONE VALUES: run JOB's steps of WORKFLOW in
# CLONE like a runner: `uses: actions/checkout` is the clone the caller made
# (it must ask for fetch-depth 0), each `run:` step in order with bash -eo
# pipefail, stopping at the first failure. VALUES is a JSON object of the
# `${{ … }}` expressions' values. Sets RC, OUT and ERR (all steps),
# JOB_ENVIRONMENT and STEPS (the names of the steps run).
run_github_job() {
  local workflow=$1 job=$2 clone=$3 values=$4 dir kind nn rest
  dir=$(mktemp -d "$TEST_ROOT/steps.XXXXXX")
  printf '%s' "$values" >"$dir/values.json"
  OUT="" ERR="" RC=0 STEPS="" JOB_ENVIRONMENT=""
  if ! node "$CI_DIR/github_steps.mjs" "$workflow" "$job" "$dir/values.json" "$dir/steps" \
    >"$dir/plan" 2>"$dir/plan.err"; then
    RC=99 ERR=$(cat "$dir/plan.err")
    return
  fi
  : >"$dir/out"
  : >"$dir/err"
  while read -r kind nn rest; do
    case $kind in
    uses)
      if [[ $rest == actions/checkout@* ]]; then STEPS+="checkout;"; else
        RC=98 ERR="unexpected action: $rest"
        break
      fi
      ;;
    run)
      STEPS+="$rest;"
      set +e
      (cd "$clone" && GITHUB_WORKSPACE="$clone" RUNNER_TEMP="$dir" CI=true GITHUB_ACTIONS=true \
        bash "$dir/steps/$nn.sh") >>"$dir/out" 2>>"$dir/err"
      RC=$?
      set -e
      [ "$RC" -eq 0 ] || break
      ;;
    environment) JOB_ENVIRONMENT="$nn${rest:+ $rest}" ;;
    esac
  done <"$dir/plan"
  OUT=$(cat "$dir/out")
  ERR=${ERR:-$(cat "$dir/err")}
}
# checkout CLONE SRV REF: what actions/checkout (and GitLab's default
# GIT_DEPTH) leaves for a push to REF (a branch): a depth-1 clone of REF
# alone. envflow fetches what else it needs (issue 13).
checkout() {
  git clone -q --depth 1 --single-branch --branch "$3" "file://$2" "$1"
}

VARS_NONE='"vars.ENVFLOW_SOURCE": "", "vars.ENVFLOW_SOURCE_REF": ""'

test_case "GitHub: the validate workflow annotates a pull request"
new_origin ghsrv github
SRV="$TEST_ROOT/ghsrv.git"
W="$TEST_ROOT/ghsrv-dev"
git -C "$W" checkout -q -b feature dev
sed -i 's/^name: support$/name: other/' "$W/agents/support.yaml"
git -C "$W" -c core.hooksPath=/dev/null commit -q -am "a broken agent"
PR=$(ref_of "$W" HEAD)
checkout "$TEST_ROOT/gh-pr" "$SRV" dev
git -C "$TEST_ROOT/gh-pr" fetch -q "$W" feature # GitHub's refs/pull/N/merge
git -C "$TEST_ROOT/gh-pr" checkout -q --detach "$PR"
GITHUB_SHA=$PR run_github_job "$SRV/../gh/.github/workflows/envflow-validate.yml" validate \
  "$TEST_ROOT/gh-pr" "{$VARS_NONE}"
expect_rc 1
expect_eq "$STEPS" "checkout;Install envflow;Fetch the pipeline (refs/envflow/*);Validate;" "steps run"
expect_out "envflow $(envflow --version | sed 's/^envflow //')"
expect_out "::error file=agents/support.yaml,line=2,col=7,title=name-mismatch::name 'other' does not match the file name"
# setup reads the server's pipeline under refs/envflow-remote/origin/ (never as the clone's own refs).
if git -C "$TEST_ROOT/gh-pr" rev-parse -q --verify refs/envflow-remote/origin/envflow/config >/dev/null; then pass; else
  fail "envflow setup did not fetch the server's refs/envflow/config"
fi
git -C "$W" checkout -q dev

test_case "GitHub: a push to dev is promoted into test (auto), not further"
git clone -q "$SRV" "$TEST_ROOT/ghsrv-wf" 2>/dev/null
WF="$TEST_ROOT/ghsrv-wf/.github/workflows"
NEW=$(dev_push ghsrv "promoted by GitHub Actions")
expect_eq "$(ref_of "$SRV" refs/heads/dev)" "$NEW" "origin dev after alice's push"
UAT_BEFORE=$(ref_of "$SRV" refs/heads/uat)
checkout "$TEST_ROOT/gh-push" "$SRV" dev
GITHUB_SHA=$NEW GITHUB_ACTOR=alice REMOTE_USER=envflow-ci run_github_job "$WF/envflow-promote.yml" promote \
  "$TEST_ROOT/gh-push" "{$VARS_NONE, \"vars.ENVFLOW_CI_ACTOR || 'envflow-ci'\": \"envflow-ci\"}"
expect_rc 0
expect_eq "$STEPS" "checkout;Install envflow;Fetch the pipeline (refs/envflow/*);Promote automatically;" "steps run"
expect_out "test synced from dev"
expect_out "pushed to origin (one atomic push per operation):"
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$NEW" "origin test"
expect_eq "$(ref_of "$SRV" refs/heads/uat)" "$UAT_BEFORE" "origin uat (not auto)"
expect_eq "$(records_for "$SRV" refs/heads/test "$NEW")" 1 "audit records of the promotion"
TRAIL=$(git -C "$SRV" log --format=%B refs/envflow/audit) # whole, not cut short by grep -q
if grep -q '^actor: envflow-ci$' <<<"$TRAIL"; then pass; else
  fail "no audit record by envflow-ci: $TRAIL"
fi

test_case "GitHub: the same job again has nothing to do and succeeds"
rm -rf "$TEST_ROOT/gh-push"
checkout "$TEST_ROOT/gh-push" "$SRV" dev
BEFORE=$(all_refs "$SRV")
GITHUB_SHA=$NEW REMOTE_USER=envflow-ci run_github_job "$WF/envflow-promote.yml" promote \
  "$TEST_ROOT/gh-push" "{$VARS_NONE, \"vars.ENVFLOW_CI_ACTOR || 'envflow-ci'\": \"envflow-ci\"}"
expect_rc 0
expect_eq "$(all_refs "$SRV")" "$BEFORE" "origin refs"

test_case "GitHub: the manual workflow promotes test into uat, in the uat environment"
checkout "$TEST_ROOT/gh-manual" "$SRV" dev
GITHUB_SHA=$NEW REMOTE_USER=bob run_github_job "$WF/envflow-promote-manual.yml" promote \
  "$TEST_ROOT/gh-manual" "{$VARS_NONE, \"github.actor\": \"bob\", \"inputs.env\": \"test\"}"
expect_rc 0
expect_eq "$JOB_ENVIRONMENT" "uat" "the job's GitHub environment"
expect_eq "$STEPS" "checkout;Install envflow;Fetch the pipeline (refs/envflow/*);Promote;" "steps run"
expect_eq "$(ref_of "$SRV" refs/heads/uat)" "$NEW" "origin uat"
expect_eq "$(records_for "$SRV" refs/heads/uat "$NEW")" 1 "audit records of the promotion"

test_case "GitHub: a manual promotion by someone not allowed changes nothing"
rm -rf "$TEST_ROOT/gh-manual"
checkout "$TEST_ROOT/gh-manual" "$SRV" dev
BEFORE=$(all_refs "$SRV")
GITHUB_SHA=$NEW REMOTE_USER=alice run_github_job "$WF/envflow-promote-manual.yml" promote \
  "$TEST_ROOT/gh-manual" "{$VARS_NONE, \"github.actor\": \"alice\", \"inputs.env\": \"uat\"}"
expect_rc 1
expect_eq "$JOB_ENVIRONMENT" "staging" "the job's GitHub environment"
expect_eq "$(all_refs "$SRV")" "$BEFORE" "origin refs"

# ---------------------------------------------------------------------------
# gitlab-ci-local runs the jobs of the .gitlab-ci.yml in the clone it is
# started in (shell executor, no image), with the process environment.
gcl() { # gcl CLONE ARGS...: run gitlab-ci-local in CLONE
  local clone=$1
  shift
  run env -C "$clone" "$NODE_BIN/gitlab-ci-local" --shell-executor-no-image --no-color \
    --ignore-predefined-vars CI_PIPELINE_SOURCE,GITLAB_USER_LOGIN "$@"
}
# jobs_of CLONE ARGS...: "name when" for each job gitlab-ci-local would run.
jobs_of() {
  gcl "$@" --list-json
  node -e 'for (const j of JSON.parse(require("fs").readFileSync(0, "utf8")))
             if (j.when !== "never") console.log(`${j.name} ${j.when}`)' <<<"$OUT"
}

test_case "GitLab: the rules pick the jobs of each pipeline"
new_origin glsrv gitlab
SRV="$TEST_ROOT/glsrv.git"
checkout "$TEST_ROOT/gl-list" "$SRV" dev
expect_eq "$(jobs_of "$TEST_ROOT/gl-list" --variable CI_PIPELINE_SOURCE=push | sort | tr '\n' ' ')" \
  "envflow-promote on_success envflow-promote-dev manual " "jobs of a push to dev"
expect_eq "$(jobs_of "$TEST_ROOT/gl-list" --variable CI_PIPELINE_SOURCE=merge_request_event | sort | tr '\n' ' ')" \
  "envflow-promote-dev manual envflow-validate on_success " "jobs of a merge request from dev"
checkout "$TEST_ROOT/gl-list-test" "$SRV" test
expect_eq "$(jobs_of "$TEST_ROOT/gl-list-test" --variable CI_PIPELINE_SOURCE=push | sort | tr '\n' ' ')" \
  "envflow-promote-test manual " "jobs of a push to test"
checkout "$TEST_ROOT/gl-list-production" "$SRV" production
expect_eq "$(jobs_of "$TEST_ROOT/gl-list-production" --variable CI_PIPELINE_SOURCE=push | sort | tr '\n' ' ')" \
  "" "jobs of a push to production"

test_case "GitLab: the validate job of a merge request"
checkout "$TEST_ROOT/gl-mr" "$SRV" dev
gcl "$TEST_ROOT/gl-mr" --variable CI_PIPELINE_SOURCE=merge_request_event envflow-validate
expect_rc 0
expect_out "ok: 11 files valid"
expect_out "PASS  envflow-validate"

test_case "GitLab: a push to dev is auto-promoted into test (gitlab-ci-local)"
NEW=$(dev_push glsrv "promoted by GitLab CI")
UAT_BEFORE=$(ref_of "$SRV" refs/heads/uat)
checkout "$TEST_ROOT/gl-push" "$SRV" dev
REMOTE_USER=envflow-ci gcl "$TEST_ROOT/gl-push" --variable CI_PIPELINE_SOURCE=push envflow-promote
expect_rc 0
expect_out "PASS  envflow-promote"
expect_out "envflow-promote > test synced from dev"
expect_out "envflow-promote > uat is not auto-promoted"
expect_out "envflow-promote > pushed to origin (one atomic push per operation):"
expect_eq "$(ref_of "$SRV" refs/heads/test)" "$NEW" "origin test"
expect_eq "$(ref_of "$SRV" refs/heads/uat)" "$UAT_BEFORE" "origin uat (not auto)"
expect_eq "$(records_for "$SRV" refs/heads/test "$NEW")" 1 "audit records of the promotion"

test_case "GitLab: the manual job promotes test into uat"
checkout "$TEST_ROOT/gl-manual" "$SRV" test
REMOTE_USER=bob gcl "$TEST_ROOT/gl-manual" --variable CI_PIPELINE_SOURCE=push \
  --variable GITLAB_USER_LOGIN=bob envflow-promote-test
expect_rc 0
expect_out "PASS  envflow-promote-test"
expect_eq "$(ref_of "$SRV" refs/heads/uat)" "$NEW" "origin uat"
expect_eq "$(ref_of "$SRV" refs/heads/staging)" "$UAT_BEFORE" "origin staging"
expect_eq "$(records_for "$SRV" refs/heads/uat "$NEW")" 1 "audit records of the promotion"
if grep -q '^actor: bob$' <<<"$(git -C "$SRV" log -1 --format=%B refs/envflow/audit)"; then pass; else
  fail "the newest audit record is not bob's: $(git -C "$SRV" log -1 --format=%B refs/envflow/audit)"
fi

test_case "GitLab: a manual job played by someone not allowed fails, nothing moves"
checkout "$TEST_ROOT/gl-manual2" "$SRV" uat
BEFORE=$(all_refs "$SRV")
REMOTE_USER=alice gcl "$TEST_ROOT/gl-manual2" --variable CI_PIPELINE_SOURCE=push \
  --variable GITLAB_USER_LOGIN=alice envflow-promote-uat
expect_rc 0 # allow_failure: the pipeline goes on; the job is marked
expect_out "WARN  envflow-promote-uat"
expect_err "alice may not promote into staging"
expect_eq "$(all_refs "$SRV")" "$BEFORE" "origin refs"

expect_eq "$(git -C "$SRV" fsck --no-progress 2>&1)" "" "git fsck of the GitLab origin"

finish
