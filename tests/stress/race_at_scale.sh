#!/usr/bin/env bash
# Racing at scale (issue 8): ROUNDS rounds (default 200) of concurrent
# envflow operations on one repository, then concurrent pushes into one
# server repository, with every invariant checked independently of envflow:
#
#   local:  each round, 6 to 8 processes released together at a barrier run
#           a mix of `sync` (same and different environments), `publish`,
#           `var set` (same and different variables and environments),
#           `approve` and `backport apply` (hotfixes are finished between
#           rounds so there are back-ports to race); dev gets a commit
#           between rounds.
#   server: a bare repository behind `envflow install-hooks --server`;
#           each round three developers push to dev from their clones at once
#           (losers fetch, rebase and push again) while release managers run
#           `envflow sync ENV --push` and an operator `var set --push`.
#
# Checked after every round: every exit code is 0 or a clean refusal (exit 1
# with a message) — never 3, never a crash; every move a process reported
# has exactly one audit record and every new record a reported move
# (tests/stress/audit_check.py, plain git only); no lock file or quarantine
# left; the working tree clean. Every CHECK_EVERY rounds and at the end:
# `envflow doctor` exit 0, the whole trail replayed (per ref the moves chain
# old -> new, no move recorded twice, every audited ref where its last record
# left it) and `git fsck --strict` clean. A summary table is printed at the
# end (docs/reliability.md, "Racing at scale", has the figures of a run).
#
# Not in ctest (it is long): run it by hand or in a nightly job:
#   ENVFLOW=build/envflow bash tests/stress/race_at_scale.sh
#   ROUNDS=20 SERVER_ROUNDS=10 ENVFLOW=build/envflow bash tests/stress/race_at_scale.sh
# tests/stress/test_race_scale.sh runs a short version in ctest.
# By hand, the watchdog of lib.sh allows the full run two hours.
: "${E2E_TIMEOUT:=7200}"
. "$(dirname "$0")/../e2e/lib.sh"

command -v python3 >/dev/null || { echo "python3 not found: skipped"; exit 125; }

ROUNDS=${ROUNDS:-200}
SERVER_ROUNDS=${SERVER_ROUNDS:-$ROUNDS}
CHECK_EVERY=${CHECK_EVERY:-10}
HOTFIX_EVERY=${HOTFIX_EVERY:-20}
CHECK="$(cd "$(dirname "$0")" && pwd)/audit_check.py"
OUTS="$TEST_ROOT/outs"
T_START=$(date +%s)

declare -A TALLY=()      # "part kind outcome" -> count
declare -A CHECKS=()     # check name -> times passed
declare -A RECORDS=()    # "part op" -> records on the trail at the end
RACER_KINDS=()
RACER_CMDS=()

# add_racer KIND CMD...: one process of the next race. KIND is what
# audit_check.py expects (sync, publish, var, approve ACTOR, backport, push).
add_racer() {
  local kind=$1
  shift
  RACER_KINDS+=("$kind")
  RACER_CMDS+=("$(printf '%q ' "$@")")
}

# run_race: run every racer added since the last race, released together
# once all are ready (race_run). Results in $OUTS/<i>.{kind,out,err,rc};
# sets RACERS.
run_race() {
  race_run "$OUTS" "${RACER_CMDS[@]}"
  local i
  for ((i = 0; i < RACERS; i++)); do echo "${RACER_KINDS[$i]}" >"$OUTS/$i.kind"; done
  RACER_KINDS=()
  RACER_CMDS=()
}

racer_dump() {
  local i
  for ((i = 0; i < RACERS; i++)); do
    echo "  racer $i [$(cat "$OUTS/$i.kind")] rc=$(cat "$OUTS/$i.rc" 2>/dev/null):" \
      "$(head -c 600 "$OUTS/$i.err" | tr '\n' '|')"
  done
}

# check_round PART REPO BEFORE [ARGS]: the racers' outcomes against the
# records appended since BEFORE; tallies outcomes.
check_round() {
  local part=$1 repo=$2 before=$3 line bad=0
  shift 3
  while IFS= read -r line; do
    case $line in
    TALLY\ *)
      read -r _ kind outcome <<<"$line"
      TALLY["$part $kind $outcome"]=$((${TALLY["$part $kind $outcome"]:-0} + 1))
      ;;
    REASON\ *)
      echo "$part ${line#REASON }" >>"$TEST_ROOT/reasons.txt"
      ;;
    FAIL\ *)
      fail "$part round $round: ${line#FAIL }"
      bad=1
      ;;
    esac
  done < <(python3 "$CHECK" round "$repo" "$before" "$OUTS" "$RACERS" "$@")
  if [ "$bad" -eq 0 ]; then
    pass
    CHECKS["$part: reported moves = records"]=$((${CHECKS["$part: reported moves = records"]:-0} + 1))
  else
    echo "$(racer_dump)" >&2
  fi
}

# check_chain PART REPO [ARGS]: replay the whole trail.
check_chain() {
  local part=$1 repo=$2 line bad=0
  shift 2
  local out
  out=$(python3 "$CHECK" chain "$repo" "$@")
  while IFS= read -r line; do
    case $line in
    FAIL\ *)
      fail "$part after round $round: ${line#FAIL }"
      bad=1
      ;;
    esac
  done <<<"$out"
  if [ "$bad" -eq 0 ]; then
    pass
    CHECKS["$part: audit chain replayed"]=$((${CHECKS["$part: audit chain replayed"]:-0} + 1))
  fi
  CHAIN_OUT=$out
}

check_doctor() {
  local part=$1 repo=$2
  run envflow -C "$repo" doctor
  if [ "$RC" -eq 0 ]; then
    pass
    CHECKS["$part: envflow doctor exit 0"]=$((${CHECKS["$part: envflow doctor exit 0"]:-0} + 1))
  else
    fail "$part after round $round: envflow doctor exit $RC"$'\n'"$OUT"$'\n'"$ERR"
  fi
}

check_fsck() {
  local part=$1 repo=$2 out
  if out=$(git -C "$repo" fsck --strict --no-progress 2>&1); then
    pass
    CHECKS["$part: git fsck --strict clean"]=$((${CHECKS["$part: git fsck --strict clean"]:-0} + 1))
  else
    fail "$part after round $round: git fsck --strict: $out"
  fi
}

# check_leftovers PART GITDIR: no lock file, no quarantine folder.
check_leftovers() {
  local part=$1 dir=$2 left
  left=$(find "$dir" \( -name '*.lock' -o -name 'tmp_objdir-*' \) -print 2>/dev/null | head -5)
  if [ -z "$left" ]; then
    pass
    CHECKS["$part: no lock file or quarantine left"]=$((${CHECKS["$part: no lock file or quarantine left"]:-0} + 1))
  else
    fail "$part round $round: left behind: $left"
  fi
}

# ===========================================================================
# Local: one repository, many processes.
# ===========================================================================
R=$(new_repo pipeline)
cd "$R"
# uat needs one QA approval: approve and sync of test race for real.
edit_config "t = qa_approves(t, 'uat', 1, ['qa1@example.com', 'qa2@example.com', 'qa3@example.com', 'qa4@example.com'])
t = t.replace('release:\n  sign: true', 'release:\n  sign: false')"

HOTFIXES=0
# make_hotfix: a hotfix finished on production (between rounds), which opens
# a back-port issue for the racers to apply.
make_hotfix() {
  HOTFIXES=$((HOTFIXES + 1))
  envflow hotfix start "hf$HOTFIXES" >/dev/null
  sed -i "s/^description: .*/description: Hotfix $HOTFIXES of the triage agent./" agents/triage.yaml
  git commit -q --no-verify -am "Hotfix $HOTFIXES"
  envflow hotfix finish --no-sign -m "Hotfix $HOTFIXES" >/dev/null
  git switch -q dev
}

open_backports() {
  envflow --format json backport list |
    python3 -c 'import json,sys; print(" ".join(str(i["id"]) for i in json.load(sys.stdin) if i["status"] == "open"))'
}

echo "local: $ROUNDS rounds"
test_case "local"
T0=$(date +%s)
STEPS=(test uat staging)
for ((round = 1; round <= ROUNDS; round++)); do
  # A commit on dev between rounds (every tenth through the pre-commit hook).
  sed -i "s/^  max_tokens: .*/  max_tokens: $((1000 + round))/" agents/support.yaml
  if ((round % 10 == 0)); then
    git commit -q -am "Round $round: max_tokens $((1000 + round))"
  else
    git commit -q --no-verify -am "Round $round: max_tokens $((1000 + round))"
  fi
  if ((round % HOTFIX_EVERY == HOTFIX_EVERY / 2)); then
    make_hotfix
    # two open at once every other time
    if ((round % (2 * HOTFIX_EVERY) == HOTFIX_EVERY / 2)); then make_hotfix; fi
  fi
  OPEN=$( ((HOTFIXES > 0)) && open_backports || true)
  QA="qa$((round % 4 + 1))@example.com"
  add_racer sync envflow --format json sync dev
  add_racer sync envflow --format json sync "${STEPS[$((round % 3))]}"
  if ((round % 2 == 0)); then add_racer sync envflow --format json sync dev; fi
  if ((round % 3 == 0)); then add_racer sync envflow --format json sync "${STEPS[$(((round + 1) % 3))]}"; fi
  add_racer publish envflow --format json publish --no-sign
  add_racer var envflow --format json var set --env test max_turns $((round % 9 + 1))
  if ((round % 2 == 0)); then
    add_racer var envflow --format json var set --env test max_turns $((round % 7 + 2))
  else
    add_racer var envflow --format json var set --env uat support_email "team$((round % 5))@example.com"
  fi
  add_racer "approve $QA" envflow --format json --actor "$QA" approve uat
  for id in $OPEN; do
    add_racer backport envflow --format json backport apply "$id"
    if ((round % 2 == 0)); then add_racer backport envflow --format json backport apply "$id"; fi
  done
  BEFORE=$(ref_of "$R" refs/envflow/audit)
  run_race
  check_round local "$R" "$BEFORE"
  check_leftovers local "$R/.git"
  if [ -z "$(git status --porcelain --untracked-files=no)" ]; then
    pass
    CHECKS["local: working tree clean"]=$((${CHECKS["local: working tree clean"]:-0} + 1))
  else
    fail "round $round: working tree not clean: $(git status --porcelain | head -3)"
  fi
  if ((round % CHECK_EVERY == 0 || round == ROUNDS)); then
    check_doctor local "$R"
    check_chain local "$R"
    check_fsck local "$R"
  fi
  if ((round % 25 == 0)); then echo "  round $round: $(($(date +%s) - T0))s, $FAILED failures"; fi
done
LOCAL_SECONDS=$(($(date +%s) - T0))
while read -r _ op n; do RECORDS["local $op"]=$n; done < <(grep '^RECORDS ' <<<"$CHAIN_OUT")
LOCAL_CHAIN=$(grep '^CHAIN ' <<<"$CHAIN_OUT")

# ===========================================================================
# Server: one bare repository, several clones pushing at once.
# ===========================================================================
SRV="$TEST_ROOT/server.git"
ENVFLOW_ACTOR=adam "$ENVFLOW" init --bare "$SRV" >/dev/null
policy_yaml -g developers=dora,dave,dina -g release-managers=rita,rick -g operators=otto \
  -g publishers=paul -g hotfixers=paul -g admins=adam -i REMOTE_USER \
  dev test:0 uat:0 staging:0 production:0 >"$TEST_ROOT/policy.yaml"
ENVFLOW_ACTOR=adam "$ENVFLOW" -C "$SRV" config edit --file "$TEST_ROOT/policy.yaml" >/dev/null
envflow install-hooks --server "$SRV" >/dev/null

# Three developers, each editing a file of their own (so a rebase never
# conflicts), and clones for the release managers, the operator and the
# publisher.
declare -A EDITS=([dora]=agents/support.yaml [dave]=agents/triage.yaml [dina]=variables/max_turns.yaml)
for who in dora dave dina rita rick otto paul; do
  git clone -q "file://$SRV" "$TEST_ROOT/$who"
  git -C "$TEST_ROOT/$who" checkout -q dev 2>/dev/null || git -C "$TEST_ROOT/$who" checkout -q -b dev origin/dev
  git -C "$TEST_ROOT/$who" config user.email "$who"
done
for who in rita rick otto paul; do envflow -C "$TEST_ROOT/$who" setup >/dev/null; done

# push_dev CLONE USER: push the clone's dev until it is in; when the push
# loses a race (rejected: the server's dev moved), fetch, rebase, push again.
# Prints `pushed OLD NEW` and `attempt N rejected` lines; exit 0 once in,
# 4 when the server's hook refused the content (a bug here: it is valid).
push_dev() {
  local c=$1 user=$2 n out
  for ((n = 1; n <= 40; n++)); do
    if out=$(REMOTE_USER=$user git -C "$c" push origin dev 2>&1); then
      echo "pushed $(git -C "$c" rev-parse HEAD~1) $(git -C "$c" rev-parse HEAD)"
      return 0
    fi
    if grep -q "envflow: push rejected" <<<"$out"; then
      echo "$out" >&2
      return 4
    fi
    echo "attempt $n rejected: $(grep -m1 -E 'rejected|error' <<<"$out")"
    git -C "$c" fetch -q origin
    git -C "$c" rebase -q origin/dev >/dev/null 2>&1 || { echo "rebase failed" >&2; return 4; }
  done
  echo "still rejected after $((n - 1)) attempts: $out" >&2
  return 1
}

# retry_push USER CLONE ARGS...: an envflow command with --push, run again
# (as a CI job would be) while it loses the race to another push.
retry_push() {
  local user=$1 c=$2 n rc
  shift 2
  for ((n = 1; n <= 10; n++)); do
    rc=0
    ENVFLOW_ACTOR=$user REMOTE_USER=$user envflow -C "$c" --format json "$@" --push \
      >"$TEST_ROOT/$user.try.out" 2>"$TEST_ROOT/$user.try.err" || rc=$?
    cat "$TEST_ROOT/$user.try.err" >&2
    if [ "$rc" -eq 1 ] && grep -qiE 'stale info|rejected|refused|moved since|run it again|fetch first' \
      "$TEST_ROOT/$user.try.err"; then
      echo "attempt $n lost" >>"$TEST_ROOT/$user.losses"
      sleep 0.0$((RANDOM % 5))
      continue
    fi
    cat "$TEST_ROOT/$user.try.out"
    return "$rc"
  done
  cat "$TEST_ROOT/$user.try.out"
  return 1
}

echo "server: $SERVER_ROUNDS rounds"
test_case "server"
T0=$(date +%s)
PUSH_ATTEMPTS=0
PUSH_REJECTED=0
for ((round = 1; round <= SERVER_ROUNDS; round++)); do
  for who in dora dave dina; do
    c="$TEST_ROOT/$who"
    git -C "$c" fetch -q origin
    git -C "$c" reset -q --hard origin/dev
    sed -i "s/^description: .*/description: Round $round by $who./" "$c/${EDITS[$who]}"
    git -C "$c" commit -q -am "Round $round by $who"
    add_racer push push_dev "$c" "$who"
  done
  rm -f "$TEST_ROOT"/*.losses
  add_racer sync retry_push rita "$TEST_ROOT/rita" sync dev
  add_racer sync retry_push rick "$TEST_ROOT/rick" sync "${STEPS[$((round % 3))]}"
  add_racer var retry_push otto "$TEST_ROOT/otto" var set --env test max_turns $((round % 9 + 1))
  if ((round % 5 == 0)); then add_racer publish retry_push paul "$TEST_ROOT/paul" publish --no-sign; fi
  BEFORE=$(ref_of "$SRV" refs/envflow/audit)
  run_race
  check_round server "$SRV" "$BEFORE" --branch-of=first=dev
  check_leftovers server "$SRV"
  for ((i = 0; i < RACERS; i++)); do
    if [ "$(cat "$OUTS/$i.kind")" = push ]; then
      n=$(grep -c '^attempt ' "$OUTS/$i.out" || true)
      PUSH_REJECTED=$((PUSH_REJECTED + n))
      PUSH_ATTEMPTS=$((PUSH_ATTEMPTS + n + 1))
    fi
  done
  for who in rita rick otto paul; do
    if [ -f "$TEST_ROOT/$who.losses" ]; then
      n=$(wc -l <"$TEST_ROOT/$who.losses")
      TALLY["server retry lost-race"]=$((${TALLY["server retry lost-race"]:-0} + n))
    fi
  done
  if ((round % CHECK_EVERY == 0 || round == SERVER_ROUNDS)); then
    check_doctor server "$SRV"
    check_chain server "$SRV" --first-env-audited
    check_fsck server "$SRV"
  fi
  if ((round % 25 == 0)); then echo "  round $round: $(($(date +%s) - T0))s, $FAILED failures"; fi
done
SERVER_SECONDS=$(($(date +%s) - T0))
while read -r _ op n; do RECORDS["server $op"]=$n; done < <(grep '^RECORDS ' <<<"$CHAIN_OUT")
SERVER_CHAIN=$(grep '^CHAIN ' <<<"$CHAIN_OUT")
# The dev pushes the server took: one `push` record each, nothing else moved dev.
expect_eq "$(git -C "$SRV" log --format=%B refs/envflow/audit | grep -c '^move: refs/heads/dev ' || true)" \
  "$((${TALLY["server push moved"]:-0} + 1))" "server: records of dev moves (pushes + init)"

# ===========================================================================
# Summary
# ===========================================================================
echo
echo "== racing at scale: summary =="
echo "local:  $ROUNDS rounds in ${LOCAL_SECONDS}s, $HOTFIXES hotfixes between rounds; $LOCAL_CHAIN"
echo "server: $SERVER_ROUNDS rounds in ${SERVER_SECONDS}s; $PUSH_ATTEMPTS dev push attempts, $PUSH_REJECTED rejected (fetch, rebase, retry); $SERVER_CHAIN"
echo
printf '%-7s %-9s %8s %8s %10s %8s %8s\n' part operation moved no-op lost-race refused other
for part in local server; do
  for kind in sync publish var approve backport push; do
    moved=${TALLY["$part $kind moved"]:-0}
    noop=${TALLY["$part $kind noop"]:-0}
    lost=${TALLY["$part $kind lost-race"]:-0}
    refused=${TALLY["$part $kind refused"]:-0}
    other=0
    for key in "${!TALLY[@]}"; do
      case $key in
      "$part $kind moved" | "$part $kind noop" | "$part $kind lost-race" | "$part $kind refused") ;;
      "$part $kind "*) other=$((other + TALLY[$key])) ;;
      esac
    done
    total=$((moved + noop + lost + refused + other))
    if [ "$total" -eq 0 ]; then continue; fi
    printf '%-7s %-9s %8d %8d %10d %8d %8d\n' "$part" "$kind" "$moved" "$noop" "$lost" "$refused" "$other"
  done
done
[ -n "${TALLY["server retry lost-race"]:-}" ] &&
  echo "server: --push runs that lost a race and were run again: ${TALLY["server retry lost-race"]}"
echo
echo "refusals (exit 1), by reason:"
if [ -f "$TEST_ROOT/reasons.txt" ]; then sort "$TEST_ROOT/reasons.txt" | uniq -c | sort -rn | head -25; fi
echo
echo "records on the trail at the end, by op:"
for part in local server; do
  line=""
  while IFS= read -r k; do
    case $k in "$part "*) line+=" ${k#"$part "}=${RECORDS[$k]}" ;; esac
  done < <(printf '%s\n' "${!RECORDS[@]}" | sort)
  echo "  $part:$line"
done
echo
echo "invariant checks passed:"
while IFS= read -r k; do
  printf '  %-45s %6d\n' "$k" "${CHECKS[$k]}"
done < <(printf '%s\n' "${!CHECKS[@]}" | sort)
echo "total time: $(($(date +%s) - T_START))s"
finish
