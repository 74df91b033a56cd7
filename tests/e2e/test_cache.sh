#!/usr/bin/env bash
# End-to-end: the cache of validation results. Cold and warm runs report the
# same; --no-cache and ENVFLOW_NO_CACHE bypass it; `envflow cache clear`
# empties it; a corrupt cache file is ignored; concurrent validations leave
# it usable; a bare repository (server side) keeps its cache in its git dir.
. "$(dirname "$0")/lib.sh"

WS=$(new_repo ws)
CACHE="$WS/.git/envflow/cache"

# trace ARGS...: `envflow validate ARGS` in the workspace with the cache
# trace on; the trace line lands in $ERR.
trace() { ENVFLOW_CACHE_TRACE=1 run "$ENVFLOW" -C "$WS" validate "$@"; }

# Break the workspace in a few ways, including across files.
cat >"$WS/agents/broken.yaml" <<'EOF'
kind: Agent
name: broken
instructions: "Write to {{ vars.nope }}"
knowledge:
  - product-faqs
EOF
rm "$WS/agents/triage.yaml"
git -C "$WS" add -A
git -C "$WS" -c core.hooksPath=/dev/null commit -qm "broken on purpose"

# ---------------------------------------------------------------------------
test_case "cold and warm runs report the same, the warm one from the cache"
rm -rf "$CACHE"
run "$ENVFLOW" -C "$WS" validate --rev HEAD --no-cache
expect_rc 1
REFERENCE=$OUT
expect_out "ref-variable"
expect_out "ref-agent"
expect_eq "$(ls "$CACHE" 2>/dev/null | wc -l)" "0" "--no-cache writes nothing"
trace --rev HEAD
expect_rc 1
expect_eq "$OUT" "$REFERENCE" "cold output"
expect_err "0 hits"
trace --rev HEAD
expect_rc 1
expect_eq "$OUT" "$REFERENCE" "warm output"
expect_err " 0 misses"
trace --rev HEAD --format json
expect_rc 1
expect_out '"rule": "ref-knowledge"'

test_case "the working tree shares the results of the commit"
trace
expect_rc 1
expect_eq "$OUT" "$REFERENCE" "worktree output"
expect_err " 0 misses"

test_case "a changed file is checked again, references everywhere"
cat >"$WS/agents/triage.yaml" <<'EOF'
kind: Agent
name: triage
instructions: Route the request.
EOF
trace
expect_rc 1
expect_err "1 misses"
expect_no_out "no agent named 'triage'"
expect_out "ref-variable"

test_case "ENVFLOW_NO_CACHE bypasses it"
ENVFLOW_NO_CACHE=1 ENVFLOW_CACHE_TRACE=1 run "$ENVFLOW" -C "$WS" validate --rev HEAD
expect_rc 1
expect_eq "$OUT" "$REFERENCE" "output"
expect_eq "$ERR" "" "no trace"

# ---------------------------------------------------------------------------
test_case "cache info and cache clear"
run "$ENVFLOW" -C "$WS" cache info
expect_rc 0
expect_out "envflow/cache/"
run "$ENVFLOW" -C "$WS" cache clear
expect_rc 0
expect_out "cleared"
expect_eq "$(ls "$CACHE" 2>/dev/null | wc -l)" "0" "files left"
run "$ENVFLOW" -C "$WS" --format json cache info
expect_rc 0
expect_out '"files": 0'
trace --rev HEAD
expect_rc 1
expect_eq "$OUT" "$REFERENCE" "after clear"
expect_err "0 hits"

# ---------------------------------------------------------------------------
test_case "a corrupt cache file is ignored and replaced"
# Every file: the per-file segments and the whole-snapshot reports.
find "$CACHE" -type f | while read -r f; do
  printf 'garbage' | dd of="$f" bs=1 seek=40 conv=notrunc 2>/dev/null
done
echo "not a segment" >"$CACHE/0000000000000000-0-0-0.seg"
trace --rev HEAD
expect_rc 1
expect_eq "$OUT" "$REFERENCE" "with a corrupt cache"
expect_err "0 hits"
trace --rev HEAD
expect_eq "$OUT" "$REFERENCE" "after the repair"
expect_err " 0 misses"
expect_eq "$(ls "$CACHE"/*.seg | wc -l)" "1" "segments"

test_case "an unwritable cache folder is no error"
rm -rf "$CACHE"
mkdir -p "$(dirname "$CACHE")"
echo "a file where the folder should be" >"$CACHE"
run "$ENVFLOW" -C "$WS" validate --rev HEAD
expect_rc 1
expect_eq "$OUT" "$REFERENCE" "without a cache"
rm -f "$CACHE"

# ---------------------------------------------------------------------------
test_case "concurrent validations leave a usable cache"
rm -rf "$CACHE"
pids=()
for i in 1 2 3 4 5 6; do
  "$ENVFLOW" -C "$WS" validate --rev HEAD >"$TEST_ROOT/out.$i" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid" || true; done
for i in 1 2 3 4 5 6; do
  expect_eq "$(cat "$TEST_ROOT/out.$i")" "$REFERENCE" "concurrent run $i"
done
trace --rev HEAD
expect_eq "$OUT" "$REFERENCE" "after the concurrent runs"
expect_err " 0 misses"
expect_eq "$(ls "$TEST_ROOT"/ws/.git/envflow/cache | grep -c '^tmp-' || true)" "0" "temporary files"

# ---------------------------------------------------------------------------
test_case "a bare repository keeps its cache in its git dir"
BARE="$TEST_ROOT/bare.git"
git clone -q --bare "$WS" "$BARE"
REFS_BEFORE=$(git -C "$BARE" for-each-ref)
OBJECTS_BEFORE=$(find "$BARE/objects" -type f | sort)
ENVFLOW_CACHE_TRACE=1 run "$ENVFLOW" -C "$BARE" validate --rev HEAD
expect_rc 1
expect_eq "$OUT" "$REFERENCE" "bare"
expect_err "$BARE/envflow/cache/"
expect_eq "$(git -C "$BARE" for-each-ref)" "$REFS_BEFORE" "refs"
expect_eq "$(find "$BARE/objects" -type f | sort)" "$OBJECTS_BEFORE" "objects"

# ---------------------------------------------------------------------------
# The working tree: a file whose stat data matches its index entry is known
# by the index's blob id, unread (as `git status` does). In every state below
# the report is the one a run without the cache gives.
WT=$(new_repo wt)
VALID=$'kind: Agent\nname: probe\ninstructions: Fine.\n'
BROKEN=$'kind: Agant\nname: probe\ninstructions: Fine.\n' # same size, unknown kind
PROBE="$WT/agents/probe.yaml"
printf '%s' "$VALID" >"$PROBE"
git -C "$WT" add -A
git -C "$WT" -c core.hooksPath=/dev/null commit -qm probe

# same_as_uncached WHAT [ENV=VALUE...]: `envflow validate` of the working
# tree, twice (cold for what changed, then warm), reports what
# ENVFLOW_NO_CACHE=1 reports; its output stays in $OUT, its code in $RC.
same_as_uncached() {
  local what=$1
  shift
  run env "$@" ENVFLOW_NO_CACHE=1 "$ENVFLOW" -C "$WT" validate
  local reference=$OUT reference_rc=$RC
  run env "$@" "$ENVFLOW" -C "$WT" validate
  expect_eq "$OUT" "$reference" "$what: output"
  run env "$@" "$ENVFLOW" -C "$WT" validate
  expect_eq "$OUT" "$reference" "$what: output, warm"
  expect_eq "$RC" "$reference_rc" "$what: exit code"
}

# settle: every file of the working tree last modified an hour ago, and
# staged again, so none is "racy" (modified in the second the index was
# written, which makes a file be read): a tree edited a while ago.
settle() {
  find "$WT" -path "$WT/.git" -prune -o -type f -exec touch -d '1 hour ago' {} +
  git -C "$WT" add -A
}

# reset_probe: the probe back to its committed, valid content, staged and
# settled, and every result of the committed tree in the cache.
reset_probe() {
  # Removed first: git compares times to the second (it is built without
  # nanosecond times), so it can take a file rewritten in the same second,
  # with its mtime restored, for unchanged and leave it.
  rm -f "$PROBE"
  git -C "$WT" checkout -q HEAD -- .
  chmod -x "$PROBE"
  settle
  "$ENVFLOW" -C "$WT" validate --rev HEAD >/dev/null
  "$ENVFLOW" -C "$WT" validate >/dev/null
}

test_case "worktree: unchanged files are answered from the stored report"
reset_probe
ENVFLOW_CACHE_TRACE=1 run "$ENVFLOW" -C "$WT" validate
expect_rc 0
expect_err "snapshot seen before"

test_case "worktree: the same size, the mtime restored with touch -r (the ctime tells)"
reset_probe
touch -r "$PROBE" "$TEST_ROOT/mtime"
printf '%s' "$BROKEN" >"$PROBE"
touch -r "$TEST_ROOT/mtime" "$PROBE"
same_as_uncached "touch -r"
expect_rc 1
expect_out "unknown-kind"

test_case "worktree: the same size, the mtime restored with touch -d, the index older"
reset_probe
touch -d '2020-01-01 00:00:00' "$PROBE"
git -C "$WT" add "$PROBE"
printf '%s' "$BROKEN" >"$PROBE"
touch -d '2020-01-01 00:00:00' "$PROBE"
same_as_uncached "touch -d"
expect_out "unknown-kind"
touch -d '2019-12-31 00:00:00' "$WT/.git/index" # racy: the file is newer than the index
same_as_uncached "touch -d, index older"
expect_out "unknown-kind"

test_case "worktree: edited right after git add, in the same second"
reset_probe
printf '%s' "${VALID/Fine/Good}" >"$PROBE"
git -C "$WT" add "$PROBE"
printf '%s' "$BROKEN" >"$PROBE"
same_as_uncached "edited after add"
expect_out "unknown-kind"

test_case "worktree: staged, then modified"
reset_probe
printf '%s' "$BROKEN" >"$PROBE"
git -C "$WT" add "$PROBE"
printf '%s' "$VALID" >"$PROBE"
same_as_uncached "staged then modified"
expect_rc 0

test_case "worktree: chmod +x"
reset_probe
chmod +x "$PROBE"
same_as_uncached "chmod +x"
expect_rc 0

test_case "worktree: racy git, the stat data matching a blob the file no longer holds"
# What git's index holds when a file changes within the timestamp tick git
# recorded it in: the entry's stat data is the file's, its blob the old one.
reset_probe
printf '%s' "$BROKEN" >"$PROBE"
python3 - "$WT/.git/index" agents/probe.yaml "$PROBE" <<'PY'
import hashlib, os, struct, sys
index, name, path = sys.argv[1:4]
data = bytearray(open(index, "rb").read())
assert data[:4] == b"DIRC" and struct.unpack(">I", data[4:8])[0] == 2
st = os.lstat(path)
at = 12
for _ in range(struct.unpack(">I", data[8:12])[0]):
    end = data.index(b"\0", at + 62)
    if data[at + 62:end].decode() == name:
        mode = struct.unpack(">I", data[at + 24:at + 28])[0]
        fields = (st.st_ctime_ns // 10**9, st.st_ctime_ns % 10**9, st.st_mtime_ns // 10**9,
                  st.st_mtime_ns % 10**9, st.st_dev, st.st_ino, mode, st.st_uid, st.st_gid,
                  st.st_size)
        struct.pack_into(">10I", data, at, *(f & 0xFFFFFFFF for f in fields))
        break
    at += (62 + end - (at + 62) + 8) // 8 * 8
else:
    sys.exit("no entry " + name)
data[-20:] = hashlib.sha1(data[:-20]).digest()
open(index, "wb").write(data)
PY
touch -r "$PROBE" "$WT/.git/index" # the index written in the file's tick
expect_eq "$(git -C "$WT" diff --name-only)" "agents/probe.yaml" "git sees the change"
same_as_uncached "racy"
expect_out "unknown-kind"
run "$ENVFLOW" -C "$WT" validate --rev HEAD
expect_rc 0 # the committed blob's result was not overwritten

test_case "worktree: a tracked file .gitignore ignores is validated"
reset_probe
printf 'agents/probe.yaml\n' >"$WT/.gitignore"
printf '%s' "$BROKEN" >"$PROBE"
git -C "$WT" add .gitignore "$PROBE"
same_as_uncached "tracked but ignored"
expect_out "unknown-kind"
git -C "$WT" rm -q --cached "$PROBE"
same_as_uncached "untracked and ignored"
expect_no_out "unknown-kind"
rm "$WT/.gitignore"

test_case "worktree: a file a filter converts is read, not taken for its blob"
reset_probe
git -C "$WT" config filter.probe.clean 'sed s/Agant/Agent/'
git -C "$WT" config filter.probe.smudge 'sed s/Agent/Agant/'
printf 'agents/probe.yaml filter=probe\n' >"$WT/.gitattributes"
printf '%s' "$BROKEN" >"$PROBE"
git -C "$WT" add .gitattributes "$PROBE"
settle # not racy: only the attribute tells
expect_eq "$(git -C "$WT" rev-parse :agents/probe.yaml)" \
  "$(git -C "$WT" rev-parse HEAD:agents/probe.yaml)" "the blob is the committed one"
same_as_uncached "filter"
expect_out "unknown-kind"
git -C "$WT" rm -q --cached .gitattributes
rm "$WT/.gitattributes"

test_case "worktree: GIT_INDEX_FILE names the index"
reset_probe
ALT="$TEST_ROOT/alt-index"
GIT_INDEX_FILE=$ALT git -C "$WT" add -A
mv "$WT/.git/index" "$WT/.git/index.away"
same_as_uncached "GIT_INDEX_FILE" GIT_INDEX_FILE="$ALT"
ENVFLOW_CACHE_TRACE=1 GIT_INDEX_FILE=$ALT run "$ENVFLOW" -C "$WT" validate
expect_err "snapshot seen before"
printf '%s' "$BROKEN" >"$PROBE"
same_as_uncached "GIT_INDEX_FILE, modified" GIT_INDEX_FILE="$ALT"
expect_out "unknown-kind"
mv "$WT/.git/index.away" "$WT/.git/index"

test_case "worktree: the policy's size limit, remembered by its commit, follows a change"
# What the policy sets for validation is remembered per config commit
# (cache/memo/policy-options-1): a new policy is a new commit, read afresh;
# a damaged memo is read as none.
reset_probe
cd "$WT"
edit_config 't = t.replace("max_file_size: 1048576", "max_file_size: 20")'
cd - >/dev/null
same_as_uncached "a 20-byte limit"
expect_rc 1
expect_out "file-too-large"
if [ -s "$WT/.git/envflow/cache/memo/policy-options-1" ]; then pass; else
  fail "no policy memo written"
fi
sed -i 's/"max_file_size":20/"max_file_size":1048576/' "$WT/.git/envflow/cache/memo/policy-options-1"
same_as_uncached "the memo edited by hand (its sum no longer holds)"
expect_out "file-too-large"
cd "$WT"
edit_config 't = t.replace("max_file_size: 20", "max_file_size: 1048576")'
cd - >/dev/null
same_as_uncached "the limit raised again"
expect_rc 0

finish
