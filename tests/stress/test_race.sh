#!/usr/bin/env bash
# Stress: concurrency (invariant 3). Several `envflow sync` processes are
# released at the same instant on one repository, many rounds in a row: never
# do two of them move the same ref, the losers say why, nothing is lost, no
# lock file is left behind, the audit trail has exactly one record per
# movement and its moves form an unbroken chain; `git fsck` and `envflow
# doctor` are clean afterwards. Also concurrent `approve` by different actors
# and syncs racing a `config edit`.
. "$(dirname "$0")/../e2e/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }

ROUNDS=${RACE_ROUNDS:-30}

R=$(new_repo pipeline)
cd "$R"
OUTS="$TEST_ROOT/outs"

# race CMD1 -- CMD2 -- ...: run every command (each an envflow argument list)
# in its own process, released together (race_run). Results in
# $OUTS/<i>.out/.err/.rc, and in RACER_RC, RACER_OUT and RACER_ERR (read
# once here, without a process per file: the checks below look at every
# racer several times); sets RACERS to the number of commands.
race() {
  local -a cmds=() args=()
  while :; do
    if [ $# -eq 0 ] || [ "$1" = "--" ]; then
      cmds+=("envflow $(printf '%q ' "${args[@]}")")
      args=()
      [ $# -eq 0 ] && break
      shift
      continue
    fi
    args+=("$1")
    shift
  done
  race_run "$OUTS" "${cmds[@]}"
  RACER_RC=() RACER_OUT=() RACER_ERR=()
  local i
  for ((i = 0; i < RACERS; i++)); do
    RACER_RC[i]="" RACER_OUT[i]="" RACER_ERR[i]=""
    [ ! -e "$OUTS/$i.rc" ] || read -r "RACER_RC[i]" <"$OUTS/$i.rc"
    IFS= read -r -d '' "RACER_OUT[i]" <"$OUTS/$i.out" || true
    IFS= read -r -d '' "RACER_ERR[i]" <"$OUTS/$i.err" || true
  done
}

# racers_with RC TEXT: how many racers exited RC with TEXT in stdout+stderr.
racers_with() {
  local n=0 i
  for ((i = 0; i < RACERS; i++)); do
    if [ "${RACER_RC[i]}" = "$1" ] && [[ ${RACER_OUT[i]}${RACER_ERR[i]} == *"$2"* ]]; then
      n=$((n + 1))
    fi
  done
  echo "$n"
}

racer_dump() {
  local i
  for ((i = 0; i < RACERS; i++)); do
    local text=${RACER_OUT[i]}${RACER_ERR[i]}
    echo "racer $i rc=${RACER_RC[i]}: ${text//$'\n'/|}"
  done
}

# expect_sync_racers TARGET: exactly one racer synced into TARGET, every
# other one lost cleanly (already in sync / moved since / locked, exit 0 or 1).
expect_sync_racers() {
  local won lost
  # Text output says "synced"/"already in sync"; --format json says moved/noop.
  won=$(($(racers_with 0 "synced $1 ") + $(racers_with 0 '"moved": true')))
  lost=$(($(racers_with 0 "already in sync") + $(racers_with 0 '"noop": true') + \
    $(racers_with 1 "moved since this sync began") + $(racers_with 1 "locked")))
  if [ "$won" -eq 1 ] && [ $((won + lost)) -eq "$RACERS" ]; then pass; else
    fail "round $round: $won winners, $lost clean losers of $RACERS"$'\n'"$(racer_dump)"
  fi
}

sync_records() { git log --format=%B refs/envflow/audit | grep -c '^op: sync' || true; }

lock_files() { find .git -name '*.lock' | sort; }

# ---------------------------------------------------------------------------
test_case "N syncs of dev released at once: exactly one moves test"
T0=$(date +%s)
for ((round = 1; round <= ROUNDS; round++)); do
  sed -i "s/^  max_tokens: .*/  max_tokens: $((800 + round))/" agents/support.yaml
  git commit -q --no-verify -am "Round $round: max_tokens $((800 + round))"
  DEV=$(ref_of "$R" refs/heads/dev)
  OLD=$(ref_of "$R" refs/heads/test)
  N=$(sync_records)
  if ((round % 3 == 0)); then
    race sync dev -- sync dev -- sync dev -- sync dev --format json -- sync dev
  else
    race sync dev -- sync dev
  fi
  expect_sync_racers test
  expect_eq "$(ref_of "$R" refs/heads/test)" "$DEV" "round $round: test at dev's head"
  expect_eq "$(sync_records)" $((N + 1)) "round $round: sync records"
  expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep '^move: ')" \
    "move: refs/heads/test $OLD $DEV" "round $round: the record's move"
  expect_eq "$(lock_files)" "" "round $round: lock files left"
done

test_case "syncs of dev and of test released at once, with --rev"
for ((round = 1; round <= ROUNDS / 3; round++)); do
  sed -i "s/^  max_tokens: .*/  max_tokens: $((900 + round))/" agents/support.yaml
  git commit -q --no-verify -am "Second series $round"
  PREV=$(ref_of "$R" refs/heads/dev~1)
  N=$(sync_records)
  declare -A BEFORE_REF=()
  for env in test uat staging; do BEFORE_REF[$env]=$(ref_of "$R" "refs/heads/$env"); done
  race sync dev -- sync dev --rev "$PREV" -- sync test -- sync test -- sync uat
  TARGETS=(test test uat uat staging)
  ok=0
  for ((i = 0; i < RACERS; i++)); do
    case "${RACER_RC[i]}" in
    0) ok=$((ok + 1)) ;;
    1) [[ ${RACER_ERR[i]} =~ "moved since this sync began"|locked ]] && ok=$((ok + 1)) ;;
    esac
  done
  expect_eq "$ok" "$RACERS" "round $round: every racer won or lost cleanly"$'\n'"$(racer_dump)"
  # A loser's reason must be true: its target really moved (by a racer of the
  # same target). Syncs into different environments do not conflict; losing
  # to another environment's sync on the shared audit ref is a bug.
  for ((i = 0; i < RACERS; i++)); do
    tgt=${TARGETS[$i]}
    if [[ ${RACER_ERR[i]} =~ "moved since this sync began"|locked ]]; then
      if [ "$(ref_of "$R" "refs/heads/$tgt")" != "${BEFORE_REF[$tgt]}" ]; then pass; else
        fail "round $round: racer $i (into $tgt) lost though $tgt did not move"$'\n'"$(racer_dump)"
      fi
    fi
  done
  SYNCED=$(cat "$OUTS"/*.out | grep -c '^synced ' || true)
  expect_eq "$(sync_records)" $((N + SYNCED)) "round $round: one record per reported movement"
  expect_eq "$(lock_files)" "" "round $round: lock files left"
done
# Bring everything up to date, sequentially.
for env in dev test uat staging; do envflow sync "$env" >/dev/null; done
DEV=$(ref_of "$R" refs/heads/dev)
for env in test uat staging production; do
  expect_eq "$(ref_of "$R" "refs/heads/$env")" "$DEV" "$env at dev's head"
done

test_case "audit: moves of each ref form an unbroken chain (nothing lost)"
CHAIN=$(git log --reverse --format=%B refs/envflow/audit | python3 -c '
import sys
last = {}
bad = []
for line in sys.stdin:
    if not line.startswith("move: "):
        continue
    ref, old, new = line.split()[1:4]
    if ref in last and last[ref] != old:
        bad.append(f"{ref}: {old[:7]} does not continue {last[ref][:7]}")
    last[ref] = new
print("\n".join(bad) if bad else "ok")
')
expect_eq "$CHAIN" "ok" "audit chain of moves"
expect_eq "$(git rev-list --merges --count refs/envflow/audit)" 0 "audit trail is linear"

# ---------------------------------------------------------------------------
test_case "concurrent approvals by different actors: none lost"
edit_config "t = qa_approves(t, 'uat', 5, ['bob@example.com', 'carol@example.com', 'dave@example.com', 'erin@example.com',
                                  'frank@example.com'])"
sed -i "s/^  max_tokens: .*/  max_tokens: 700/" agents/support.yaml
git commit -q --no-verify -am "Shorter answers"
envflow sync dev >/dev/null
for ((round = 1; round <= 6; round++)); do
  sed -i "s/^  max_tokens: .*/  max_tokens: $((700 + round))/" agents/support.yaml
  git commit -q --no-verify -am "Shorter answers $round"
  envflow sync dev >/dev/null
  HEADC=$(ref_of "$R" refs/heads/test)
  APPROVES_BEFORE=$(git log --format=%B refs/envflow/audit | grep -c '^op: approve' || true)
  race approve uat --actor bob@example.com -- approve uat --actor carol@example.com -- \
    approve uat --actor dave@example.com -- approve uat --actor erin@example.com -- \
    approve uat --actor frank@example.com
  expect_eq "$(racers_with 0 "approved ${HEADC:0:7} into uat")" 5 \
    "round $round: approvers that succeeded"$'\n'"$(racer_dump)"
  expect_eq "$(git log --format=%B refs/envflow/audit | grep -c '^op: approve' || true)" \
    $((APPROVES_BEFORE + $(racers_with 0 "approved ${HEADC:0:7} into uat"))) \
    "round $round: one approve record per reported approval"
  expect_eq "$(lock_files)" "" "round $round: lock files left"
  run envflow status --format json
  HAVE=$(python3 -c 'import json,sys; d=json.load(sys.stdin); print([e for e in d["environments"] if e["name"]=="test"][0]["approvals"]["have"])' <<<"$OUT")
  if [ "$HAVE" -lt 5 ]; then
    # Whoever lost is told to run it again: doing so completes the approvals.
    for who in bob carol dave erin frank; do envflow approve uat --actor "$who@example.com" >/dev/null; done
  fi
  run envflow sync test
  expect_rc 0
  expect_eq "$(ref_of "$R" refs/heads/uat)" "$HEADC" "round $round: uat after 5 approvals"
  expect_eq "$(git log -1 --format=%B refs/envflow/audit | grep -c '^approval: ')" 5 "round $round: approvals in the sync record"
done

test_case "the same actor approving twice at once counts once"
sed -i "s/^  max_tokens: .*/  max_tokens: 701/" agents/support.yaml
git commit -q --no-verify -am "Slightly longer answers"
envflow sync dev >/dev/null
race approve uat --actor bob@example.com -- approve uat --actor bob@example.com -- \
  approve uat --actor bob@example.com
expect_eq "$(racers_with 0 "approved")" 3 "bob's approvals all exit 0"$'\n'"$(racer_dump)"
run envflow status --format json
expect_rc 0
expect_eq "$(python3 -c 'import json,sys; d=json.load(sys.stdin); print([e for e in d["environments"] if e["name"]=="test"][0]["approvals"]["have"])' <<<"$OUT")" \
  1 "bob counted once"

# ---------------------------------------------------------------------------
test_case "sync racing config edit: both finish cleanly, the config is one of the two"
# Each round: an admin flips test's approvals between 0 and 1 while two syncs run.
APPROVALS_NOW=0
for ((round = 1; round <= ROUNDS / 3; round++)); do
  sed -i "s/^  max_tokens: .*/  max_tokens: $((600 + round))/" agents/support.yaml
  git commit -q --no-verify -am "Config race $round"
  DEV=$(ref_of "$R" refs/heads/dev)
  OLD=$(ref_of "$R" refs/heads/test)
  NEXT=$((1 - APPROVALS_NOW))
  envflow config show >"$TEST_ROOT/cfg.yaml"
  python3 - "$TEST_ROOT/cfg.yaml" "$NEXT" <<'EOF'
import sys, re
p, n = sys.argv[1], sys.argv[2]
t = open(p).read()
i = t.index("  - name: test")
j = t.index("  - name: uat")
t = t[:i] + re.sub(r"approvals: \d+", "approvals: " + n, t[i:j]) + t[j:]
open(p, "w").write(t)
EOF
  N=$(sync_records)
  CONFIG_BEFORE=$(ref_of "$R" refs/envflow/config)
  race sync dev -- config edit --file "$TEST_ROOT/cfg.yaml" -- sync dev
  # The config edit never loses to a sync (they touch different refs).
  expect_eq "${RACER_RC[1]}" 0 "round $round: config edit"$'\n'"$(racer_dump)"
  NOW=$(envflow config show | sed -n '/name: test/,/name: uat/p' | grep -o 'approvals: [0-9]*' | cut -d' ' -f2)
  if [ "${RACER_RC[1]}" = 0 ]; then
    expect_eq "$NOW" "$NEXT" "round $round: config holds the edit"
  else
    expect_eq "$(ref_of "$R" refs/envflow/config)" "$CONFIG_BEFORE" "round $round: a failed edit changes nothing"
  fi
  APPROVALS_NOW=$NOW
  NEW=$(ref_of "$R" refs/heads/test)
  if [ "$NEW" = "$DEV" ]; then
    expect_eq "$(sync_records)" $((N + 1)) "round $round: one record for the movement"
    expect_eq "$(racers_with 0 "synced test ")" 1 "round $round: one winner"$'\n'"$(racer_dump)"
  else
    expect_eq "$NEW" "$OLD" "round $round: test either moved to dev or not at all"
    expect_eq "$(sync_records)" "$N" "round $round: no record without movement"
    expect_eq "$(racers_with 1 "needs 1 approval")" 2 "round $round: both refused for approvals"$'\n'"$(racer_dump)"
  fi
  expect_eq "$(lock_files)" "" "round $round: lock files left"
done

test_case "config records match the config ref's history"
# init writes the first config commit; every later commit is one audited
# change (op: config).
expect_eq "$(git log --format=%B refs/envflow/audit | grep -c '^op: config$' || true)" \
  $(($(git rev-list --count refs/envflow/config) - 1)) "config records vs config commits"

# ---------------------------------------------------------------------------
test_case "afterwards: fsck, doctor, no lock files, time budget"
if out=$(git fsck --strict --no-progress 2>&1); then pass; else fail "git fsck: $out"; fi
# Leave the pipeline consistent for doctor: no approvals, everything synced.
envflow config show | sed 's/approvals: [0-9]*/approvals: 0/' >"$TEST_ROOT/cfg.yaml"
envflow config edit --file "$TEST_ROOT/cfg.yaml" >/dev/null
for env in dev test uat staging; do envflow sync "$env" >/dev/null; done
run envflow doctor
expect_rc 0
expect_out "all checks pass"
expect_eq "$(lock_files)" "" "lock files left"
echo "race suite: $ROUNDS rounds in $(($(date +%s) - T0))s"

finish
