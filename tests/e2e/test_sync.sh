#!/usr/bin/env bash
# End-to-end: `envflow sync` and `envflow approve` (issue 3) — promotion
# through all five environments by fast-forward, --dry-run, --rev, the gates
# (membership, approvals, fast-forward, validation, variable overrides), the
# JSON plan, and the audit trail: one `op: sync` record per movement, none for
# a refusal (invariant 2); refs untouched by every refusal (invariant 3/4).
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }

ENVS=(dev test uat staging production)

# all_refs: every environment ref, the audit and the config ref, one line.
all_refs() { refs_line "$R" "${ENVS[@]}" envflow/audit envflow/config; }

# sync_records: how many `op: sync` records the audit trail holds.
sync_records() { git -C "$R" log --format=%B refs/envflow/audit | grep -c '^op: sync' || true; }

expect_fsck_clean() {
  local out
  if out=$(git -C "$R" fsck --strict --no-progress 2>&1); then pass; else
    fail "git fsck --strict: $out"
  fi
}

# expect_unchanged BEFORE: refs (environments, audit, config) as they were.

# commit_dev MESSAGE: commit everything in the work tree on dev (hook runs).
commit_dev() { git -C "$R" add -A && git -C "$R" commit -q -m "$1"; }

R=$(new_repo pipeline)
cd "$R"
BASE=$(ref_of "$R" refs/heads/dev)

# ---------------------------------------------------------------------------
test_case "fresh pipeline: already in sync"
run envflow sync dev
expect_rc 0
expect_out "already in sync"
expect_eq "$(sync_records)" 0 "sync records after a no-op"

test_case "dry run: prints commits and semantic changes, moves nothing"
sed -i 's/temperature: 0.3/temperature: 0.5/' agents/support.yaml
commit_dev "Tune the support agent's temperature"
variable_yaml greeting string Hello! "First line the widget shows." >variables/greeting.yaml
commit_dev "Add a greeting variable"
DEV1=$(ref_of "$R" refs/heads/dev)
BEFORE=$(all_refs)
run envflow sync dev --dry-run
expect_rc 0
expect_out "2 commits from dev to test:"
expect_out "Tune the support agent's temperature"
expect_out "Add a greeting variable"
expect_out "~ Agent support: model.temperature"
expect_out "+ Variable greeting"
expect_out "dry run: test would move ${BASE:0:7}..${DEV1:0:7}; nothing changed"
expect_unchanged "$BEFORE"
run envflow sync dev --dry-run --format json
expect_rc 0
expect_json "data['dry_run'] is True and data['moved'] is False and data['to'] == '$DEV1' and data['from'] == '$BASE'"
expect_unchanged "$BEFORE"
expect_eq "$(sync_records)" 0 "sync records after dry runs"

# ---------------------------------------------------------------------------
test_case "sync through all five environments"
for i in 0 1 2 3; do
  src=${ENVS[$i]} dst=${ENVS[$((i + 1))]}
  OLD=$(ref_of "$R" "refs/heads/$dst")
  run envflow sync "$src"
  expect_rc 0
  expect_out "synced $dst ${OLD:0:7}..${DEV1:0:7}"
  expect_eq "$(ref_of "$R" "refs/heads/$dst")" "$DEV1" "$dst after sync $src"
  expect_eq "$(sync_records)" $((i + 1)) "sync records after sync $src"
  # The newest record is this sync, moving exactly this ref.
  expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^move: ')" \
    "move: refs/heads/$dst $OLD $DEV1" "audit move of sync $src"
  expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep -c '^op: sync')" 1 "one record"
  expect_fsck_clean
done
for r in "${ENVS[@]}"; do
  expect_eq "$(ref_of "$R" "refs/heads/$r")" "$DEV1" "$r at dev's head"
done
# Fast-forward only: no merge commit was made anywhere.
expect_eq "$(git rev-list --merges --count production)" 0 "merge commits on production"

test_case "no-op: already in sync, exit 0, nothing recorded"
BEFORE=$(all_refs)
run envflow sync dev
expect_rc 0
expect_out "test is already in sync with dev (${DEV1:0:7}): nothing to do"
run envflow sync staging --format json
expect_rc 0
expect_json "data['noop'] is True and data['moved'] is False"
expect_unchanged "$BEFORE"

test_case "usage: the last environment and unknown environments"
run envflow sync production
expect_rc 2
expect_err "production is the last environment"
run envflow sync nowhere
expect_rc 2
expect_err "unknown environment 'nowhere'"
run envflow sync
expect_rc 2
run envflow sync dev --rev no-such-rev
expect_rc 2
expect_err "unknown revision 'no-such-rev'"
expect_unchanged "$BEFORE"

# ---------------------------------------------------------------------------
test_case "--rev: an older commit of dev"
sed -i 's/temperature: 0.5/temperature: 0.6/' agents/support.yaml
commit_dev "Warmer support agent"
DEV2=$(ref_of "$R" refs/heads/dev)
sed -i 's/^default: Hello!/default: Hi there!/' variables/greeting.yaml
commit_dev "Friendlier greeting"
DEV3=$(ref_of "$R" refs/heads/dev)
N=$(sync_records)
run envflow sync dev --rev "${DEV2:0:10}"
expect_rc 0
expect_out "1 commit from dev to test:"
expect_out "Warmer support agent"
expect_no_out "Friendlier greeting"
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV2" "test after --rev"
expect_eq "$(sync_records)" $((N + 1)) "sync records after --rev"
run envflow sync dev --rev "$DEV2"
expect_rc 0
expect_out "already in sync"
run envflow sync dev --rev HEAD~2
expect_rc 0
expect_out "already in sync"
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV2" "an ancestor --rev does not move test back"

test_case "--rev: a commit not on the source branch is refused"
git checkout -q -b side
sed -i 's/temperature: 0.6/temperature: 0.9/' agents/support.yaml
commit_dev "Side experiment"
SIDE=$(ref_of "$R" refs/heads/side)
git checkout -q dev
git checkout -q -- .
BEFORE=$(all_refs)
run envflow sync dev --rev side
expect_rc 1
expect_err "revision ${SIDE:0:7} is not on dev's branch 'dev'"
expect_unchanged "$BEFORE"
# A commit of test is not on uat's source... it is on test: --rev names test's commits.
run envflow sync test --rev "$DEV3"
expect_rc 1
expect_err "is not on test's branch 'test'"
expect_unchanged "$BEFORE"

test_case "refused for a non-member; refs unchanged"
run envflow sync dev --actor mallory@example.com
expect_rc 1
expect_err "mallory@example.com may not promote into test"
expect_err "release-managers"
expect_unchanged "$BEFORE"
ENVFLOW_ACTOR=mallory@example.com run envflow sync dev
expect_rc 1
expect_err "mallory@example.com may not promote into test"
run envflow sync dev --dry-run --actor mallory@example.com
expect_rc 1
expect_unchanged "$BEFORE"

run envflow sync dev
expect_rc 0
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV3" "test at dev's head"

# ---------------------------------------------------------------------------
test_case "approvals: config edit requires 2 approvals into uat from qa"
edit_config '
t = t.replace("  admins: [\"alice@example.com\"]\n",
              "  admins: [\"alice@example.com\"]\n  qa: [\"bob@example.com\", \"carol@example.com\"]\n", 1)
i = t.index("  - name: uat")
j = t.index("  - name: staging")
block = t[i:j].replace("approvals: 0", "approvals: 2").replace("approvers: [\"release-managers\"]", "approvers: [\"qa\", \"release-managers\"]")
t = t[:i] + block + t[j:]
'
expect_rc 0
expect_out "pipeline config updated"
run envflow config show
expect_out 'qa: ["bob@example.com", "carol@example.com"]'
expect_out "approvals: 2"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^op: ')" "op: config" "config edit audited"

test_case "approvals: refused without approvals, naming the approve command"
BEFORE=$(all_refs)
N=$(sync_records)
run envflow sync test
expect_rc 1
expect_err "needs 2 approvals"
expect_err "has 0"
expect_err "envflow approve uat --rev ${DEV3:0:7}"
expect_unchanged "$BEFORE"

test_case "approvals: a non-approver cannot approve"
run envflow approve uat --actor mallory@example.com
expect_rc 1
expect_err "mallory@example.com is not an approver for uat"
expect_unchanged "$BEFORE"
run envflow approve dev
expect_rc 2
expect_err "dev is the first environment"

test_case "approvals: 1 of 2 is not enough"
run envflow approve uat --actor bob@example.com
expect_rc 0
expect_out "approved ${DEV3:0:7} into uat by bob@example.com (1 approval of 2 needed)"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^op: ')" "op: approve" "approve audited"
# An approval is a ref of its own (the person's name percent-encoded: '.'
# is %2E): the record moves exactly that ref, created at the approved commit.
expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^move: ')" \
  "move: refs/envflow/approvals/uat/$DEV3/bob@example%2Ecom 0000000000000000000000000000000000000000 $DEV3" \
  "approve moves only its approval ref"
expect_eq "$(ref_of "$R" "refs/envflow/approvals/uat/$DEV3/bob@example%2Ecom")" "$DEV3" "the approval ref"
run envflow approve uat --actor bob@example.com
expect_rc 0
expect_out "already approved"
BEFORE=$(all_refs)
run envflow sync test
expect_rc 1
expect_err "has 1 approval of 2 needed (bob@example.com)"
expect_unchanged "$BEFORE"

test_case "approvals: the syncing actor's own approval does not count"
run envflow approve uat
expect_rc 0
expect_out "(2 approvals of 2 needed)"
BEFORE=$(all_refs)
run envflow sync test
expect_rc 1
expect_err "not counting alice@example.com"
expect_err "has 1 approval of 2 needed (bob@example.com)"
expect_unchanged "$BEFORE"

test_case "approvals: an approval for an older commit does not count for a newer head"
sed -i 's/temperature: 0.6/temperature: 0.7/' agents/support.yaml
commit_dev "Slightly warmer again"
DEV4=$(ref_of "$R" refs/heads/dev)
run envflow approve uat --actor carol@example.com --rev "$DEV3"
expect_rc 0
run envflow sync dev
expect_rc 0
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV4" "test at the new head"
BEFORE=$(all_refs)
run envflow sync test
expect_rc 1
expect_err "promoting ${DEV4:0:7} into uat needs 2 approvals"
expect_err "has 0"
expect_unchanged "$BEFORE"

test_case "approvals: bob + carol approved the older commit: --rev promotes it"
N=$(sync_records)
run envflow sync test --rev "$DEV3" --format json
expect_rc 0
expect_json "data['moved'] is True and data['to'] == '$DEV3' and sorted(data['approvals']) == ['bob@example.com', 'carol@example.com'] and data['approvals_required'] == 2"
expect_eq "$(ref_of "$R" refs/heads/uat)" "$DEV3" "uat after approved sync"
expect_eq "$(sync_records)" $((N + 1)) "sync records after approved sync"
expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^approval: ' | sort | tr '\n' ' ')" \
  "approval: bob@example.com approval: carol@example.com " "approvals in the audit record"

test_case "approvals: carol approves the new head after bob: sync passes"
run envflow approve uat --actor bob@example.com
expect_rc 0
expect_out "(1 approval of 2 needed)"
run envflow sync test
expect_rc 1
run envflow approve uat --actor carol@example.com --format json
expect_rc 0
expect_json "data['commit'] == '$DEV4' and data['required'] == 2 and len(data['approvals']) == 2"
run envflow sync test
expect_rc 0
expect_out "synced uat ${DEV3:0:7}..${DEV4:0:7}"
expect_eq "$(ref_of "$R" refs/heads/uat)" "$DEV4" "uat after approvals"
expect_eq "$(sync_records)" $((N + 2)) "sync records"
run envflow sync uat
expect_rc 0
run envflow sync staging
expect_rc 0
for r in "${ENVS[@]}"; do
  expect_eq "$(ref_of "$R" "refs/heads/$r")" "$DEV4" "$r at dev's head"
done
expect_fsck_clean

# ---------------------------------------------------------------------------
test_case "diverged target: refused naming the target's extra commit"
sed -i 's/temperature: 0.7/temperature: 0.4/' agents/support.yaml
commit_dev "Cooler support agent"
DEV5=$(ref_of "$R" refs/heads/dev)
git checkout -q test
sed -i 's/^default: Hi there!/default: Hotfixed by hand/' variables/greeting.yaml
git commit -q --no-verify -am "Edited straight on test"
HAND=$(ref_of "$R" refs/heads/test)
git checkout -q dev
BEFORE=$(all_refs)
N=$(sync_records)
run envflow sync dev
expect_rc 1
expect_err "test has 1 commit that dev lacks, so it cannot be fast-forwarded"
expect_err "${HAND:0:7} Edited straight on test"
expect_err "bring them into dev"
expect_unchanged "$BEFORE"
expect_eq "$(sync_records)" "$N" "no record for a refused sync"
# Via update-ref too: two extra commits.
HAND2=$(git commit-tree -p "$HAND" -m "Second hand-made commit" "$HAND^{tree}")
git update-ref refs/heads/test "$HAND2" "$HAND"
run envflow sync dev --dry-run
expect_rc 1
expect_err "test has 2 commits that dev lacks"
expect_err "${HAND2:0:7} Second hand-made commit"
git update-ref refs/heads/test "$DEV4" "$HAND2"
run envflow sync dev
expect_rc 0
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV5" "test after the divergence was undone"

# ---------------------------------------------------------------------------
test_case "invalid content on dev: refused with diagnostics, refs unchanged"
cat >agents/broken.yaml <<'EOF'
kind: Agent
name: not-the-file-name
EOF
git add agents/broken.yaml
git commit -q --no-verify -m "Broken agent"
BAD=$(ref_of "$R" refs/heads/dev)
BEFORE=$(all_refs)
N=$(sync_records)
run envflow sync dev
expect_rc 1
expect_err "the content of ${BAD:0:7} (Broken agent) does not validate"
expect_err "agents/broken.yaml"
expect_err "fix it on dev"
expect_unchanged "$BEFORE"
run envflow sync dev --dry-run
expect_rc 1
expect_err "agents/broken.yaml"
expect_eq "$(sync_records)" "$N" "no record for a refused sync"
git reset -q --hard HEAD~1

# ---------------------------------------------------------------------------
test_case "override made invalid by a retyped variable: refused naming it"
run envflow var set --env test max_turns 12
expect_rc 0
variable_yaml max_turns string '"four"' "Turns the triage agent takes before handing over, in words." \
  >variables/max_turns.yaml
commit_dev "Retype max_turns as a string"
RETYPED=$(ref_of "$R" refs/heads/dev)
BEFORE=$(all_refs)
N=$(sync_records)
LOCAL=$(ref_of "$R" refs/envflow/local/test)
run envflow sync dev
expect_rc 1
expect_err "would leave the variable overrides of test invalid"
expect_err "max_turns: value 12 does not fit variables/max_turns.yaml on test (type string"
expect_err "expected a string, got integer 12"
expect_err "envflow var set/unset --env test"
expect_unchanged "$BEFORE"
expect_eq "$(ref_of "$R" refs/envflow/local/test)" "$LOCAL" "local ref unchanged"
expect_eq "$(sync_records)" "$N" "no record for a refused sync"
run envflow var unset --env test max_turns
expect_rc 0
run envflow sync dev
expect_rc 0
expect_eq "$(ref_of "$R" refs/heads/test)" "$RETYPED" "test after the override was unset"

test_case "override of a removed variable: dropped in the same move, never left dangling"
# An override of a variable the incoming content no longer declares cannot
# fit anything: the sync drops it in the same change (one record moving both
# the branch and the local ref), so no environment is left with an override
# of an undeclared variable.
run envflow var set --env test greeting "Howdy"
expect_rc 0
LOCAL=$(ref_of "$R" refs/envflow/local/test)
OLD=$(ref_of "$R" refs/heads/test)
git rm -q variables/greeting.yaml
commit_dev "Drop the greeting variable"
DROPPED=$(ref_of "$R" refs/heads/dev)
N=$(sync_records)
run envflow sync dev --dry-run
expect_rc 0
expect_out "the override of greeting on test goes with it: the variable is removed"
expect_eq "$(ref_of "$R" refs/envflow/local/test)" "$LOCAL" "local ref after a dry run"
run envflow sync dev
expect_rc 0
expect_out "the override of greeting on test goes with it: the variable is removed"
expect_override_dropped "$R" greeting "$LOCAL" "$OLD" "$DROPPED"
expect_eq "$(sync_records)" $((N + 1)) "one record for the sync"
expect_fsck_clean

test_case "never-promoted content (guardrails) on dev: refused, says where it belongs"
mkdir -p guardrails
printf 'kind: Guardrail\nname: no-pii\n' >guardrails/no-pii.yaml
git add guardrails/no-pii.yaml
git commit -q --no-verify -m "Guardrail in the wrong place"
BEFORE=$(all_refs)
run envflow sync dev
expect_rc 1
expect_err "guardrails/no-pii.yaml"
expect_err "refs/envflow/local/"
expect_unchanged "$BEFORE"
git reset -q --hard HEAD~1

test_case "sync --format json: source/target/from/to/commits/diff"
sed -i 's/temperature: 0.4/temperature: 0.45/' agents/support.yaml
commit_dev "Fine-tune support temperature"
DEV6=$(ref_of "$R" refs/heads/dev)
run envflow sync dev --format json
expect_rc 0
expect_json \
  "data['source'] == 'dev' and data['target'] == 'test' and data['from'] == '$DROPPED' and data['to'] == '$DEV6'" \
  "data['moved'] is True and data['noop'] is False and data['dry_run'] is False" \
  "[c['id'] for c in data['commits']] == ['$DEV6'] and data['commits'][0]['summary'] == 'Fine-tune support temperature' and data['commits'][0]['author'] == 'alice@example.com'" \
  "any(i['kind'] == 'Agent' and i['name'] == 'support' and i['change'] == 'changed' and 'model.temperature' in i['fields'] for i in data['diff']['items'])"
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV6" "test after json sync"

# ---------------------------------------------------------------------------
test_case "sync into the branch checked out in the work tree leaves no phantom changes"
# Like git's receive.denyCurrentBranch / "refusing to fetch into branch checked
# out": either refuse, or move the work tree along — never leave an index that
# silently reverts the promotion on the next commit.
sed -i 's/temperature: 0.45/temperature: 0.35/' agents/support.yaml
commit_dev "Cooler again"
DEV7=$(ref_of "$R" refs/heads/dev)
git checkout -q test
OLD=$(ref_of "$R" refs/heads/test)
run envflow sync dev
if [ "$RC" -eq 0 ]; then
  expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV7" "test after sync"
  expect_eq "$(git status --porcelain --untracked-files=no)" "" "git status on test after sync into it"
else
  expect_rc 1
  expect_eq "$(ref_of "$R" refs/heads/test)" "$OLD" "test after a refused sync"
fi
git checkout -q -f dev
envflow sync dev >/dev/null
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV7" "test at dev's head"

# ---------------------------------------------------------------------------
test_case "sync in a bare mirror (the server's copy, a CI merge job)"
M="$TEST_ROOT/server.git"
git clone -q --mirror "$R" "$M"
sed -i 's/temperature: 0.35/temperature: 0.3/' agents/support.yaml
commit_dev "Back to the starter temperature"
DEV8=$(ref_of "$R" refs/heads/dev)
git push -q "$M" dev
MN=$(git -C "$M" log --format=%B refs/envflow/audit | grep -c '^op: sync' || true)
OLD=$(ref_of "$M" refs/heads/test)
run envflow -C "$M" sync dev
expect_rc 0
expect_out "synced test ${OLD:0:7}..${DEV8:0:7}"
expect_eq "$(ref_of "$M" refs/heads/test)" "$DEV8" "test in the mirror"
expect_eq "$(git -C "$M" log --format=%B refs/envflow/audit | grep -c '^op: sync' || true)" $((MN + 1)) "sync records in the mirror"
if out=$(git -C "$M" fsck --strict --no-progress 2>&1); then pass; else fail "git fsck in the mirror: $out"; fi
# A mirror's +refs/*:refs/* fetches refs/envflow/* too: doctor has nothing to mend.
run envflow -C "$M" doctor
expect_rc 0
git fetch -q "$M" '+refs/envflow/*:refs/envflow/*' '+refs/heads/test:refs/heads/test'
expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV8" "test fetched back"

# ---------------------------------------------------------------------------
test_case "audit: exactly one sync record per movement, matching envflow log"
# Movements of the non-first environments, counted from the refs' moves.
MOVES=$(git log --format=%B refs/envflow/audit | grep -c '^move: refs/heads/\(test\|uat\|staging\|production\) ' || true)
INIT_MOVES=4
expect_eq "$(sync_records)" $((MOVES - INIT_MOVES)) "sync records vs environment moves"
run envflow log --op sync --format json
expect_rc 0
# One environment branch moved per sync (a sync that drops overrides of
# removed variables moves the target's local ref too).
expect_json "len(data) == $(sync_records) and all(len([m for m in r['moves'] if m['ref'].startswith('refs/heads/')]) == 1 for r in data)"

test_case "doctor and fsck clean at the end"
run envflow doctor
expect_rc 0
expect_out "all checks pass"
expect_fsck_clean

finish
