#!/usr/bin/env bash
# `make demo` (docs/demo.sh) runs the whole tour to the end: every step the
# issue names happens, in order, and the repository ends consistent.
. "$(dirname "$0")/lib.sh"
command -v ssh-keygen >/dev/null || { echo "ssh-keygen missing"; exit 125; }

test_case "the tour runs to the end"
# stderr into stdout: the tour's refusals are part of the story, in order.
# TMPDIR: the repository the tour keeps goes with this suite's folder.
run env TMPDIR="$TEST_ROOT" bash -c 'bash "$1" "$2" 2>&1' demo "$ENVFLOW_SOURCE_DIR/docs/demo.sh" "$ENVFLOW"
expect_rc 0
expect_out "Tour done."

test_case "the tour ends by saying how to open its repository's page"
expect_out "serve --actor alice@example.com"
expect_out "http://127.0.0.1:8080/"
kept=$(sed -n 's/.* -C \(.*\) serve --actor.*/\1/p' <<<"$OUT")
if [ -d "$kept" ] && [ -n "$kept" ]; then pass; else fail "the tour's repository is not kept: '$kept'"; fi
live=$(envflow -C "$kept" status --format json | python3 -c 'import json,sys; print(json.load(sys.stdin)["live"])')
expect_eq "$live" "v1.0.1" "live in the kept repository"

test_case "every step of the tour happens, in order"
order=(
  "== 1. A new envflow repository"
  "no agent named 'suport'"
  "commit refused"
  "check no-todo has no result"
  "check no-todo on test for"
  "failed (exit 1)"
  "check no-todo failed on"
  "refs/envflow/checks/test/"
  "passed"
  "synced test"
  "synced production"
  "published v1.0.0"
  "Good \"git\" signature"
  "opened back-port issue 1"
  "promoting into production is refused until it is back-ported"
  "back-ported hotfix v1.0.1 into dev"
  "synced production"
  "published v1.0.2"
  "rolled back live: v1.0.2 -> v1.0.1"
  "$ envflow render production"
  "\"commit\": \"$(git -C "$kept" rev-parse 'v1.0.1^{}')\""
  "\"release\": \"v1.0.1\""
  "HELD (rollback"
  "invariant-2"
  "all checks pass"
)
rest=$OUT
for want in "${order[@]}"; do
  case "$rest" in
    *"$want"*) rest=${rest#*"$want"}; pass ;;
    *) fail "not found (in order): $want" ;;
  esac
done
finish
