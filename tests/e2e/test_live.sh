#!/usr/bin/env bash
# End-to-end: live means what end users get (issue 14). Publish v1.0.0, then
# a bad v1.1.0, roll back to v1.0.0; a hotfix then starts from the live
# release (not the rolled-back head), ships live + the fix and nothing that
# was rolled back; the back-port brings it home and the pipeline returns to
# normal through a deliberate promotion. render follows live; --head and
# --release pick other content; --check --expect refuses a bundle for another
# environment. Hand-made moves with plain git are judged the same way.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }

export ENVFLOW_ACTOR=rm@example.com # init puts its actor in every group
R=$(new_repo live --envs dev,test,production)
cd "$R"
git config user.email "rm@example.com"
git config user.name "rm"
edit_config "t = t.replace('release:\n  sign: true', 'release:\n  sign: false')"
bundle_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)" <<<"$OUT"; }
set_description() {
  git checkout -q dev
  sed -i "s/^description: .*/description: $1/" agents/support.yaml
  git commit -q -am "support: $1"
}
ship() {
  envflow sync dev >/dev/null && envflow sync test >/dev/null
}

test_case "publish v1.0.0, publish a bad v1.1.0, roll back"
set_description good
GOOD=$(ref_of . HEAD)
ship
run envflow publish --no-sign
expect_rc 0
set_description bad
BAD=$(ref_of . HEAD)
ship
run envflow publish --no-sign
expect_rc 0
V_BAD=$(git describe --tags refs/envflow/live)
run envflow rollback v1.0.0
expect_rc 0
expect_eq "$(git rev-parse refs/envflow/live^{})" "$GOOD" "live is the good release"
expect_eq "$(git for-each-ref refs/envflow/holds/production | wc -l)" 1 "production held"

test_case "render production renders the live release, --head the head, --release any"
run envflow render production
expect_rc 0
expect_eq "$(bundle_field '["commit"]')" "$GOOD" "render production commit"
expect_eq "$(bundle_field '["release"]')" "v1.0.0" "render production release"
run envflow render production --head
expect_rc 0
expect_eq "$(bundle_field '["commit"]')" "$BAD" "render --head commit"
run envflow render production --release "$V_BAD"
expect_rc 0
expect_eq "$(bundle_field '["release"]')" "$V_BAD" "render --release"

test_case "a hotfix starts from live and says so"
run envflow hotfix start fix
expect_rc 0
expect_out "live release"
expect_eq "$(ref_of . refs/heads/hotfix/fix)" "$GOOD" "hotfix branch base"
sed -i "s/^  temperature: .*/  temperature: 0.1/" agents/support.yaml
git commit -q -am "fix: support temperature"
FIX=$(ref_of . HEAD)

test_case "hotfix finish ships live + the fix, nothing rolled back"
run envflow hotfix finish --no-sign
expect_rc 0
expect_eq "$(git rev-parse refs/envflow/live^{})" "$FIX" "live is the fix"
expect_eq "$(ref_of . refs/heads/production)" "$FIX" "production is the fix"
if git merge-base --is-ancestor "$BAD" "$FIX"; then fail "the rolled-back commit is in the hotfix"; else pass; fi
run git show "refs/envflow/live^{}:agents/support.yaml"
expect_out "description: good"
expect_out "temperature: 0.1"

test_case "status stays calm on the hotfix path"
run envflow status
expect_rc 0
if grep -q BROKEN <<<"$OUT"; then fail "status says BROKEN: $OUT"; else pass; fi
run envflow backport list
expect_rc 0
expect_out "fix"

test_case "the back-port brings the fix home; the pipeline returns to normal by promotion"
git checkout -q dev
run envflow backport apply 1
expect_rc 0
run envflow sync dev
expect_rc 0
run envflow hold release production --reason "the fix is back in dev; bad is fixed by hand next"
expect_rc 0
set_description "good again"
ship
expect_eq "$(git merge-base --is-ancestor "$FIX" refs/heads/production && echo yes)" "yes" "production holds the fix"
run git show refs/heads/production:agents/support.yaml
expect_out "description: good again"
expect_out "temperature: 0.1"
run envflow publish --no-sign
expect_rc 0
run envflow doctor
expect_rc 0

test_case "render --check --expect refuses a bundle for another environment"
envflow render test >"$TEST_ROOT/test.json"
envflow render production >"$TEST_ROOT/prod.json"
run envflow render --check --expect production "$TEST_ROOT/test.json"
expect_rc 1
expect_err "test"
run env APP_ENV=production envflow render --check "$TEST_ROOT/test.json"
expect_rc 1
run envflow render --check --expect production "$TEST_ROOT/prod.json"
expect_rc 0

finish
