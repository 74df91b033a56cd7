#!/usr/bin/env bash
# envflow var set/unset/list and envflow render, end to end with the real git CLI.
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || { echo "skipped: jq is not installed"; exit 125; }

REPO=$(new_repo var)
cd "$REPO"
LOCAL=refs/envflow/local/test
audit_count() { git rev-list --count refs/envflow/audit; }

test_case "list before any override: defaults"
run envflow var list --env test
expect_rc 0
expect_out "NAME           TYPE    DEFAULT                         OVERRIDE  EFFECTIVE                       SOURCE"
expect_out "max_turns      number  4                               -         4                               default"
expect_eq "$(ref_of "$REPO" $LOCAL)" none "local ref before any override"

test_case "set a number and a string on test"
AUDIT_BEFORE=$(audit_count)
run envflow var set --env test max_turns 12
expect_rc 0
expect_out "set max_turns = 12 on test"
run envflow var set --env test support_email help@staging.example.com
expect_rc 0
expect_eq "$(git cat-file -p $LOCAL:overrides.yaml)" '# envflow variable overrides for test
variables:
  max_turns: 12
  support_email: "help@staging.example.com"' "overrides.yaml"
expect_eq "$(git rev-list --count $LOCAL)" 2 "local commits"
expect_eq "$(audit_count)" $((AUDIT_BEFORE + 2)) "audit records"
run git log -1 --format=%B refs/envflow/audit
expect_out "op: var-set"
expect_out "env: test"
expect_out "actor: alice@example.com"
expect_out "note: support_email=\"help@staging.example.com\""
expect_out "move: $LOCAL $(git rev-parse $LOCAL~1) $(git rev-parse $LOCAL)"

test_case "list shows override, default and effective value with their source"
run envflow var list --env test
expect_rc 0
expect_out "max_turns      number  4                               12"
expect_out "support_email  string  support@example.com             help@staging.example.com  help@staging.example.com        override"
expect_out "crm_base_url   url     https://crm.example.com/api/v1  -                         https://crm.example.com/api/v1  default"
run envflow --format json var list --env test
expect_rc 0
expect_eq "$(jq -c '.[] | select(.name == "max_turns")' <<<"$OUT")" \
  '{"default":4,"effective":12,"name":"max_turns","override":12,"problem":null,"source":"override","type":"number"}' "json row"
run envflow var list --env production
expect_out "max_turns      number  4                               -         4                               default"

test_case "wrong type refused, nothing changed"
LOCAL_BEFORE=$(ref_of "$REPO" $LOCAL)
AUDIT_BEFORE=$(audit_count)
run envflow var set --env test max_turns many
expect_rc 1
expect_err "invalid value for max_turns (type number, variables/max_turns.yaml on test): expected a number"
run envflow var set --env test crm_base_url ftp://crm.test
expect_rc 1
expect_err "expected a url"
expect_eq "$(ref_of "$REPO" $LOCAL)" "$LOCAL_BEFORE" "local ref after refusals"
expect_eq "$(audit_count)" "$AUDIT_BEFORE" "audit after refusals"

test_case "unknown variable refused, naming the declared ones"
run envflow var set --env test colour red
expect_rc 1
expect_err "unknown variable 'colour': test ("
expect_err "declares crm_base_url, max_turns, support_email"

test_case "the first environment takes no overrides"
run envflow var set --env dev max_turns 5
expect_rc 1
expect_err "change the default in variables/max_turns.yaml on dev instead"

test_case "only the environment's local groups may change it"
run envflow --actor mallory@example.com var set --env test max_turns 5
expect_rc 1
expect_err "mallory@example.com may not change the local data of test"
run envflow --actor mallory@example.com var unset --env test max_turns
expect_rc 1
expect_eq "$(ref_of "$REPO" $LOCAL)" "$LOCAL_BEFORE" "local ref after non-member"
expect_eq "$(audit_count)" "$AUDIT_BEFORE" "audit after non-member"

test_case "unknown environment is a usage error"
run envflow var list --env qa
expect_rc 2
expect_err "unknown environment 'qa'"

test_case "the same value again changes nothing"
run envflow var set --env test max_turns 12
expect_rc 0
expect_out "already 12; nothing changed"
expect_eq "$(ref_of "$REPO" $LOCAL)" "$LOCAL_BEFORE" "local ref after no-op"

test_case "other files of the local tree are kept"
# Put a guardrail on the local ref by hand (no envflow command writes one yet).
# local_with_guardrail TEXT: a commit on the local ref adding guardrails/pii.yaml.
local_with_guardrail() {
  local tree full
  tree=$(printf '100644 blob %s\tpii.yaml\n' "$(printf '%s' "$1" | git hash-object -w --stdin)" | git mktree)
  full=$( (git ls-tree "$LOCAL"; printf '040000 tree %s\tguardrails\n' "$tree") | git mktree)
  git commit-tree "$full" -p "$LOCAL" -m "guardrail"
}
# An invalid one first: the local data as a change would leave it is
# validated, so nothing is written on top of it.
BAD_GUARD=$(local_with_guardrail $'kind: Guardrail\n')
git update-ref $LOCAL "$BAD_GUARD" "$LOCAL_BEFORE"
run envflow var set --env test max_turns 20
expect_rc 1
expect_err "the local data of test does not validate"
expect_err "guardrails/pii.yaml:1:1: error: missing required field 'action' in Guardrail"
expect_eq "$(ref_of "$REPO" $LOCAL)" "$BAD_GUARD" "local ref after the refusal"
git update-ref $LOCAL "$LOCAL_BEFORE" "$BAD_GUARD"
GUARD=$'kind: Guardrail\nname: pii\ntype: pii_redaction\naction: redact'
HAND=$(local_with_guardrail "$GUARD")
git update-ref $LOCAL "$HAND" "$LOCAL_BEFORE"
run envflow var set --env test max_turns 20
expect_rc 0
expect_eq "$(git cat-file -p $LOCAL:guardrails/pii.yaml)" "$GUARD" "guardrail kept"
expect_eq "$(git rev-parse $LOCAL~1)" "$HAND" "parent is the previous local commit"

test_case "unset"
run envflow var unset --env test max_turns
expect_rc 0
expect_out "removed the override of max_turns on test (was 20)"
run git log -1 --format=%B refs/envflow/audit
expect_out "op: var-unset"
expect_out "note: max_turns"
run envflow var list --env test
expect_out "max_turns      number  4                               -                         4                               default"
run envflow var unset --env test max_turns
expect_rc 0
expect_out "has no override on test; nothing changed"

test_case "the branch head decides what is declared"
git checkout -q dev
cat >variables/region.yaml <<'EOF'
kind: Variable
name: region
type: enum
values: [eu, us]
default: eu
EOF
git add variables/region.yaml
git commit -q -m "Add region"
# Declared on dev only: the value waits on test for the variable to arrive.
run envflow var set --env test region us
expect_rc 0
expect_out "region is declared on dev and has not reached test yet: the value waits for it"
run envflow var list --env test --format json
expect_eq "$(jq -r '.[] | select(.name == "region") | .source' <<<"$OUT")" pending "region's source on test"
# Declared nowhere up to test: refused, nothing written.
BEFORE_LOCAL=$(ref_of "$REPO" $LOCAL)
run envflow var set --env test nowhere us
expect_rc 1
expect_err "unknown variable 'nowhere': test ("
expect_err "no environment before it declares 'nowhere' either"
expect_eq "$(ref_of "$REPO" $LOCAL)" "$BEFORE_LOCAL" "local ref after the refusal"
run envflow var unset --env test region
expect_rc 0

test_case "render is deterministic"
run envflow render test --out "$TEST_ROOT/test-1.json"
expect_rc 0
envflow render test >"$TEST_ROOT/test-2.json"
if cmp -s "$TEST_ROOT/test-1.json" "$TEST_ROOT/test-2.json"; then pass; else fail "two renders differ"; fi
B="$TEST_ROOT/test-1.json"
expect_eq "$(jq -r .environment "$B")" test "environment"
expect_eq "$(jq -r .branch "$B")" test "branch"
expect_eq "$(jq -r .commit "$B")" "$(git rev-parse test)" "commit"
expect_eq "$(jq -r .release "$B")" null "release"
expect_eq "$(jq -r .local_ref "$B")" "$(git rev-parse $LOCAL)" "local_ref"
expect_eq "$(jq -r .generated_by "$B")" "envflow $("$ENVFLOW" --version | awk '{print $NF}')" "generated_by"
expect_eq "$(jq -c .variables.support_email "$B")" \
  '{"source":"override","type":"string","value":"help@staging.example.com"}' "override"
expect_eq "$(jq -c .variables.max_turns "$B")" '{"source":"default","type":"number","value":4}' "default"
expect_eq "$(jq -r '.items.integrations.crm.auth.secret' "$B")" '${secrets.CRM_API_TOKEN}' "secret reference"
expect_eq "$(jq -r '.items.agents | keys | join(",")' "$B")" "support,triage" "agents"
expect_eq "$(jq -r '.documents | keys | join(",")' "$B")" "knowledge/product-faq/returns.md" "documents"
expect_eq "$(jq -r '.items.variables | has("region")' "$B")" false "test lacks dev's new variable"
expect_eq "$(jq -r '.items.variables | has("region")' <(envflow render dev))" true "dev has it"

test_case "render of an unknown environment"
run envflow render qa
expect_rc 2
expect_err "unknown environment 'qa'"

test_case "a release tag on the head is named"
# A tag made by hand carries no release manifest: it is not a release.
git tag -a v0.9.0 -m "v0.9.0" production
expect_eq "$(envflow render production | jq -r .release)" null "a hand-made tag"
edit_config "t = t.replace('release:\n  sign: true\n', 'release:\n  sign: false\n')"
run envflow publish --no-sign --version v1.0.0
expect_rc 0
expect_eq "$(envflow render production | jq -r .release)" v1.0.0 "release"
expect_eq "$(envflow render production | jq -r .variables.support_email.source)" default "production source"

test_case "render --check: bundles that agree"
envflow render test --out "$TEST_ROOT/backend.json"
cp "$TEST_ROOT/backend.json" "$TEST_ROOT/frontend.json"
run envflow render --check "$TEST_ROOT/backend.json" "$TEST_ROOT/frontend.json"
expect_rc 0
expect_out "ok: 2 bundles name environment test, commit $(git rev-parse --short=7 test)"

test_case "render --check: a bundle from another environment and commit"
cd "$TEST_ROOT"
envflow -C "$REPO" render dev --out "$TEST_ROOT/frontend.json"
run envflow render --check backend.json frontend.json
expect_rc 1
expect_err "envflow: error: frontend.json: environment dev, commit $(git -C "$REPO" rev-parse --short=7 dev); expected test, commit $(git -C "$REPO" rev-parse --short=7 test) (from backend.json)"
run envflow --format json render --check backend.json frontend.json
expect_rc 1
expect_eq "$(jq -r .ok <<<"$OUT")" false "json ok"
echo '{"hello": 1}' >"$TEST_ROOT/other.json"
run envflow render --check backend.json other.json
expect_rc 1
expect_err "other.json: not an envflow bundle"
run envflow render --check
expect_rc 2
cd "$REPO"

test_case "racing var set: each success is one local commit and one audit record"
LOCAL_BEFORE=$(git rev-list --count $LOCAL)
AUDIT_BEFORE=$(audit_count)
for i in 1 2 3 4 5 6 7 8; do
  (envflow var set --env staging max_turns "$i" >"$TEST_ROOT/race-$i.out" 2>&1
   echo $? >"$TEST_ROOT/race-$i.rc") &
  (envflow var set --env test max_turns "$((i + 10))" >"$TEST_ROOT/race-t$i.out" 2>&1
   echo $? >"$TEST_ROOT/race-t$i.rc") &
done
wait
WON=0
for f in "$TEST_ROOT"/race-*.rc; do
  case $(cat "$f") in
    0) WON=$((WON + 1)) ;;
    1) grep -q "run it again" "${f%.rc}.out" && pass || fail "loser says: $(cat "${f%.rc}.out")" ;;
    *) fail "racing var set exited $(cat "$f"): $(cat "${f%.rc}.out")" ;;
  esac
done
STAGING_COMMITS=$(git rev-list --count refs/envflow/local/staging)
TEST_COMMITS=$(($(git rev-list --count $LOCAL) - LOCAL_BEFORE))
expect_eq "$((STAGING_COMMITS + TEST_COMMITS))" "$WON" "local commits = successful sets"
expect_eq "$(audit_count)" "$((AUDIT_BEFORE + WON))" "audit records = successful sets"

test_case "git fsck is clean"
run git fsck --no-progress
expect_rc 0

finish
