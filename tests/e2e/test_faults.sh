#!/usr/bin/env bash
# End-to-end: fault injection (issue 8). Every ref-moving command is killed
# with SIGKILL at each of its fault points in turn (ENVFLOW_FAULT="*:k", see
# docs/reliability.md): after every kill the repository's refs and HEAD are
# exactly as before the command or exactly as after an uninterrupted run
# (never between), `git fsck` finds no corruption, `envflow doctor` passes
# (so every ref is where its audit record says: one record per move); then
# the same command run again completes, or refuses naming the lock file a
# killed transaction left (removed as a user would, and run once more), and
# the after-state holds, working tree included.
#
# FAULTS_ONLY=NAME runs one command's loop (names below); the closing lines
# print the number of (command, point) kills and the time taken.
. "$(dirname "$0")/lib.sh"

command -v ssh-keygen >/dev/null || { echo "ssh-keygen not found: skipped"; exit 125; }

# Deterministic ids: record, tag and commit times come from ENVFLOW_NOW, git's
# from the fixed dates of lib.sh, so an uninterrupted run and a run completed
# after a kill write the very same objects.
export ENVFLOW_NOW=1767225600
unset ENVFLOW_FAULT ENVFLOW_FAULT_TRACE
START=$SECONDS

# --- templates: each command runs on a fresh copy (cp -a) of one of these ---
# T_pub: a new pipeline, nothing published; signing key set up (ssh), the
#        policy allows unsigned releases (release.sign: false).
# T_hot: v1.0.0 published, hotfix/fix1 checked out with one commit on it.
# T_main: v1.0.1 (hotfix) live, back-port issue 1 open, uat held, an
#        override on test, dev two commits ahead of test and test one ahead
#        of uat; dev checked out, clean.
ssh-keygen -q -t ed25519 -N '' -C alice -f "$TEST_ROOT/signing_key"
git config --global gpg.format ssh
git config --global user.signingKey "$TEST_ROOT/signing_key"
echo "alice@example.com namespaces=\"git\" $(cat "$TEST_ROOT/signing_key.pub")" \
  >"$TEST_ROOT/allowed_signers"

quiet() { "$@" >/dev/null || { echo "template step failed: $*" >&2; exit 1; }; }

R=$(new_repo template)
cd "$R"
quiet envflow config put allowed_signers "$TEST_ROOT/allowed_signers"
envflow config show >"$TEST_ROOT/cfg.yaml"
sed -i 's/^  sign: true$/  sign: false\n  allowed_signers: allowed_signers/' "$TEST_ROOT/cfg.yaml"
quiet envflow config edit --file "$TEST_ROOT/cfg.yaml"
cp -a "$R" "$TEST_ROOT/T_pub"
quiet envflow publish
quiet envflow hotfix start fix1
sed -i 's/^tone: empathetic/tone: friendly/' agents/support.yaml
git commit -qam "Support agent: friendly tone"
cp -a "$R" "$TEST_ROOT/T_hot"
quiet envflow hotfix finish -m "Friendlier tone"
git switch -q dev
quiet envflow hold set uat --reason "freeze for the fault suite"
quiet envflow var set --env test max_turns 12
sed -i 's/max_tokens: 800/max_tokens: 900/' agents/support.yaml
git commit -qam "Longer answers"
quiet envflow sync dev
sed -i 's/max_tokens: 900/max_tokens: 950/' agents/support.yaml
git commit -qam "Even longer answers"
cp -a "$R" "$TEST_ROOT/T_main"
cd "$TEST_ROOT"

# Inputs of config put / config edit.
echo "a note kept on the config ref" >"$TEST_ROOT/notes.txt"
envflow -C "$TEST_ROOT/T_main" config show |
  sed 's/max_file_size: 1048576/max_file_size: 2097152/' >"$TEST_ROOT/cfg-edit.yaml"

# refs DIR: every ref with its id. head DIR: what HEAD is. state DIR: both.
refs() { git -C "$1" for-each-ref --format='%(refname) %(objectname)'; }
head_of() { echo "HEAD $(git -C "$1" symbolic-ref -q HEAD || git -C "$1" rev-parse HEAD)"; }
state() { refs "$1"; head_of "$1"; }

KILLS=0
COMMANDS=0
LOCKS=0
WORK="$TEST_ROOT/work"
TRACE="$TEST_ROOT/trace"

# fault_loop NAME TEMPLATE ARGS...: the loop described at the top for
# `envflow ARGS` on copies of TEMPLATE.
fault_loop() {
  local name=$1 template="$TEST_ROOT/$2"
  shift 2
  if [ -n "${FAULTS_ONLY:-}" ] && [ "$FAULTS_ONLY" != "$name" ]; then return; fi
  test_case "$name: uninterrupted run"
  COMMANDS=$((COMMANDS + 1))
  local before after after_tree k points point line before_refs before_head after_refs after_head
  before=$(state "$template")
  before_refs=$(refs "$template")
  before_head=$(head_of "$template")
  rm -rf "$WORK" "$TRACE"
  cp -a "$template" "$WORK"
  run env ENVFLOW_FAULT_TRACE="$TRACE" envflow -C "$WORK" "$@"
  expect_rc 0
  after=$(state "$WORK")
  after_refs=$(refs "$WORK")
  after_head=$(head_of "$WORK")
  after_tree=$(git -C "$WORK" status --porcelain 2>&1)
  if [ "$before" = "$after" ]; then fail "envflow $* moved no ref"; fi
  points=$(wc -l <"$TRACE" 2>/dev/null || echo 0)
  if [ "$points" -lt 3 ]; then fail "envflow $* passed only $points fault points"; fi
  echo "$name: $points points: $(tr '\n' ' ' <"$TRACE")"

  for ((k = 1; k <= points; k++)); do
    rm -rf "$WORK" "$TRACE"
    cp -a "$template" "$WORK"
    # (stderr of the block: bash's own "Killed" notice)
    { run env ENVFLOW_FAULT="*:$k" ENVFLOW_FAULT_TRACE="$TRACE" envflow -C "$WORK" "$@"; } 2>/dev/null
    point=""
    if [ -f "$TRACE" ]; then
      while IFS= read -r line || [ -n "$line" ]; do point=$line; done <"$TRACE"
    fi
    point="$point#$k"
    test_case "$name: killed at $point"
    KILLS=$((KILLS + 1))
    expect_rc 137
    # Refs all as before or all as after. HEAD, switched by a checkout after
    # the refs moved (hotfix start), may still be as before then: the next
    # run finishes the switch.
    local now_refs now_head
    now_refs=$(refs "$WORK")
    now_head=$(head_of "$WORK")
    if [ "$now_refs" = "$before_refs" ] || [ "$now_refs" = "$after_refs" ]; then pass; else
      fail "refs between before and after:"$'\n'"$(diff <(echo "$before_refs") <(echo "$now_refs"))"
    fi
    if [ "$now_head" = "$before_head" ] || { [ "$now_refs" = "$after_refs" ] && [ "$now_head" = "$after_head" ]; }; then
      pass
    else fail "HEAD is $now_head with refs ${now_refs:0:40}…"; fi
    if out=$(git -C "$WORK" fsck --no-dangling --no-progress 2>&1); then pass; else
      fail "git fsck: $out"
    fi
    run envflow -C "$WORK" doctor
    expect_rc 0

    # The same command again: completes, or names the lock file to remove.
    local tries=0
    while :; do
      # Time passes before a person looks again: a lock left by the kill is
      # older than the few seconds envflow waits for a live writer.
      find_locks "$WORK/.git"
      [ ${#LOCKS_FOUND[@]} -eq 0 ] || touch -d '1 minute ago' "${LOCKS_FOUND[@]}"
      run envflow -C "$WORK" "$@"
      [ "$RC" -eq 1 ] || break
      local locks lock
      locks=$(sed -n 's/^.* remove \(.*\.lock\) and run the command again.*$/\1/p' <<<"$ERR")
      if [ -z "$locks" ] || [ "$tries" -ge 3 ]; then break; fi
      if [ "$(state "$WORK")" != "$before" ]; then fail "a refusal changed refs"; fi
      for lock in $locks; do
        if [ -e "$lock" ]; then pass; else fail "named lock $lock does not exist"; fi
        rm -f "$lock"
        LOCKS=$((LOCKS + 1))
      done
      tries=$((tries + 1))
    done
    # Done, or a clear "already …" refusal of what the killed run finished.
    if [ "$RC" -eq 1 ] && grep -q "already" <<<"$ERR"; then pass; else expect_rc 0; fi
    expect_eq "$(state "$WORK")" "$after" "refs after the run that followed the kill"
    expect_eq "$(git -C "$WORK" status --porcelain 2>&1)" "$after_tree" "working tree"
    find_locks "$WORK/.git"
    if [ ${#LOCKS_FOUND[@]} -gt 0 ]; then fail "lock files left: ${LOCKS_FOUND[*]}"; fi
  done
}

fault_loop sync T_main sync dev
fault_loop approve T_main approve uat
fault_loop var-set T_main var set --env test support_email help@test.example.com
fault_loop var-unset T_main var unset --env test max_turns
fault_loop publish-unsigned T_pub publish --no-sign
fault_loop publish-signed T_pub publish
if [ -z "${FAULTS_ONLY:-}" ] || [ "$FAULTS_ONLY" = publish-signed ]; then
  test_case "publish-signed: the release completed after the last kill is signed"
  if git -C "$WORK" cat-file tag v1.0.0 | grep -q "BEGIN SSH SIGNATURE"; then pass; else
    fail "v1.0.0 is not signed"; fi
fi
fault_loop rollback T_main rollback v1.0.0
fault_loop hotfix-start T_main hotfix start fix2
fault_loop hotfix-finish T_hot hotfix finish -m "Friendlier tone"
fault_loop backport-apply T_main backport apply 1
fault_loop hold-release T_main hold release uat
fault_loop config-put T_main config put notes "$TEST_ROOT/notes.txt"
fault_loop config-edit T_main config edit --file "$TEST_ROOT/cfg-edit.yaml"

echo "fault injection: $KILLS kills over $COMMANDS commands ($LOCKS stale locks named and removed) in $((SECONDS - START)) s"
finish
