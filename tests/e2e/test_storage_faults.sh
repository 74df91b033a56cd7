#!/usr/bin/env bash
# End-to-end: a full disk and a read-only repository (issue 8). Needs root
# and mount(2) (skipped with 125 otherwise); runs in a private mount
# namespace when unshare(1) can make one, so no mount outlives it.
#
# Disk full: the repository sits on a small tmpfs, filled up but for 0, 1,
# 2, ... free pages, and `sync`, `var set` and `publish` (signed) run at
# each level until one has room enough: every run either completes or fails
# with exit 3 and a message that names the problem ("No space left on
# device"); refs unchanged, `git fsck` clean, `envflow doctor` clean; once
# the filler is gone the same command completes.
#
# Read-only: the repository bind-mounted read-only; the same commands fail
# with exit 3 naming "Read-only file system", nothing changed; read-only
# commands (status, doctor) still work. The same with only .git/objects
# read-only (refs writable): no ref may point at an object never written.
if [ "$(id -u)" -ne 0 ]; then echo "not root: cannot mount: skipped"; exit 125; fi
# Before lib.sh: its temporary folder is removed by the process that made it.
if [ -z "${ENVFLOW_STORAGE_NS:-}" ] && unshare --mount --propagation private true 2>/dev/null; then
  export ENVFLOW_STORAGE_NS=1
  exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

command -v ssh-keygen >/dev/null || { echo "ssh-keygen not found: skipped"; exit 125; }
PROBE="$TEST_ROOT/probe"
mkdir -p "$PROBE"
if ! mount -t tmpfs -o size=1m tmpfs "$PROBE" 2>/dev/null; then
  echo "cannot mount a tmpfs here: skipped"
  exit 125
fi
umount "$PROBE"

MOUNTS=()
unmount_all() {
  local m
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; done
  cleanup_test_root
}
trap unmount_all EXIT

export ENVFLOW_NOW=1767225600
START=$SECONDS

ssh-keygen -q -t ed25519 -N '' -C alice -f "$TEST_ROOT/signing_key"
git config --global gpg.format ssh
git config --global user.signingKey "$TEST_ROOT/signing_key"

# The template: dev one commit ahead of test, nothing published yet.
T=$(new_repo template)
sed -i 's/max_tokens: 800/max_tokens: 900/' "$T/agents/support.yaml"
git -C "$T" commit -qam "Longer answers"

state() {
  git -C "$1" for-each-ref --format='%(refname) %(objectname)'
  echo "HEAD $(git -C "$1" symbolic-ref -q HEAD || git -C "$1" rev-parse HEAD)"
}

COMMANDS=("sync dev" "var set --env test max_turns 12" "publish")

# after_state ARGS...: refs after an uninterrupted `envflow ARGS` on a copy.
after_state() {
  rm -rf "$TEST_ROOT/ref-run"
  cp -a "$T" "$TEST_ROOT/ref-run"
  envflow -C "$TEST_ROOT/ref-run" "$@" >/dev/null
  state "$TEST_ROOT/ref-run"
}

# ---------------------------------------------------------------------------
# Disk full
# ---------------------------------------------------------------------------
FULL="$TEST_ROOT/full"
mkdir -p "$FULL"
mount -t tmpfs -o size=16m tmpfs "$FULL"
MOUNTS+=("$FULL")
PAGE=$(getconf PAGESIZE)
BEFORE=$(state "$T")
RUNS=0
for cmd in "${COMMANDS[@]}"; do
  read -ra args <<<"$cmd"
  AFTER=$(after_state "${args[@]}")
  done_at=""
  for ((free = 0; free <= 256; free++)); do
    test_case "disk full: $cmd with $free free pages"
    RUNS=$((RUNS + 1))
    rm -rf "$FULL/repo" "$FULL/filler"
    cp -a "$T" "$FULL/repo"
    # Fill the file system to the last page (a page a write: each one fits
    # whole or fails), then give back `free` pages.
    dd if=/dev/zero of="$FULL/filler" bs="$PAGE" status=none 2>/dev/null || true
    if [ "$free" -gt 0 ]; then truncate -s "-$((free * PAGE))" "$FULL/filler"; fi
    run envflow -C "$FULL/repo" "${args[@]}"
    if [ "$RC" -eq 0 ]; then
      expect_eq "$(state "$FULL/repo")" "$AFTER" "refs after a run that had room"
      done_at=$free
    else
      expect_rc 3
      expect_err "No space left on device"
      expect_eq "$(state "$FULL/repo")" "$BEFORE" "refs after a run without room"
    fi
    if out=$(git -C "$FULL/repo" fsck --no-dangling --no-progress 2>&1); then pass; else
      fail "git fsck: $out"
    fi
    find_locks "$FULL/repo/.git"
    if [ ${#LOCKS_FOUND[@]} -gt 0 ]; then fail "lock files left: ${LOCKS_FOUND[*]}"; fi
    rm -f "$FULL/filler"
    run envflow -C "$FULL/repo" doctor
    expect_rc 0
    if [ -z "$done_at" ]; then
      test_case "disk full: $cmd once space is freed"
      run envflow -C "$FULL/repo" "${args[@]}"
      expect_rc 0
      expect_eq "$(state "$FULL/repo")" "$AFTER" "refs once space is freed"
    else
      break
    fi
  done
  if [ -z "$done_at" ]; then fail "$cmd never had room enough"; fi
  echo "disk full: $cmd: failed cleanly with 0..$((done_at - 1)) free pages, completed with $done_at"
done
umount "$FULL"

# ---------------------------------------------------------------------------
# Read-only repository
# ---------------------------------------------------------------------------
RO_SRC="$TEST_ROOT/ro-src"
RO="$TEST_ROOT/ro"
cp -a "$T" "$RO_SRC"
mkdir -p "$RO"
mount --bind "$RO_SRC" "$RO"
MOUNTS+=("$RO")
mount -o remount,ro,bind "$RO"
BEFORE=$(state "$RO")
for cmd in "${COMMANDS[@]}"; do
  read -ra args <<<"$cmd"
  test_case "read-only: $cmd"
  RUNS=$((RUNS + 1))
  run envflow -C "$RO" "${args[@]}"
  expect_rc 3
  expect_err "Read-only file system"
  expect_eq "$(state "$RO")" "$BEFORE" "refs of the read-only repository"
done
test_case "read-only: status and doctor still work"
run envflow -C "$RO" status
expect_rc 0
run envflow -C "$RO" doctor
expect_rc 0
if out=$(git -C "$RO" fsck --no-dangling --no-progress 2>&1); then pass; else fail "git fsck: $out"; fi
umount "$RO"

# Only the object database read-only (a shared or full objects folder): refs
# could still be written, so a write that fails unreported would leave a
# ref pointing at a missing object (libgit2 1.5's git_commit_create does
# that).
OBJ="$TEST_ROOT/objects-ro"
for cmd in "${COMMANDS[@]}"; do
  read -ra args <<<"$cmd"
  test_case "read-only objects: $cmd"
  RUNS=$((RUNS + 1))
  rm -rf "$OBJ"
  cp -a "$T" "$OBJ"
  mount --bind "$OBJ/.git/objects" "$OBJ/.git/objects"
  MOUNTS+=("$OBJ/.git/objects")
  mount -o remount,ro,bind "$OBJ/.git/objects"
  run envflow -C "$OBJ" "${args[@]}"
  expect_rc 3
  expect_err "Read-only file system"
  expect_eq "$(state "$OBJ")" "$BEFORE" "refs when objects cannot be written"
  if out=$(git -C "$OBJ" fsck --no-dangling --no-progress 2>&1); then pass; else
    fail "git fsck: $out"
  fi
  umount "$OBJ/.git/objects"
done

echo "storage faults: $RUNS runs in $((SECONDS - START)) s"
finish
