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

finish
