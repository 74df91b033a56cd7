#!/usr/bin/env bash
# Many people pushing to dev at once, as a busy team's server sees it:
#
#   concurrent_push.sh prepare SERVER WORK N   # N clones, each with one commit
#   concurrent_push.sh run WORK N REPORT       # all N push at once
#
# `prepare` clones SERVER N times into WORK and commits one small change in
# each (the description of its own agent, agents/agent-<i>.yaml, so no two
# changes conflict). `run` releases the N clones together; each pushes to
# dev and, when git refuses because dev moved meanwhile (the refusals git
# gives any server: "fetch first", "non-fast-forward", a ref lock held by
# another push), pulls with rebase and pushes again, up to 200 tries. What
# any other refusal says (a hook that declined, an error of envflow's) is a
# failure. REPORT gets "landed L failed F tries T"; the exit status is 1
# when a push failed, so hyperfine (bench/run.sh) drops the row.
set -euo pipefail

case "${1:-}" in
prepare)
  server=$2 work=$3 n=$4
  rm -rf "$work"
  mkdir -p "$work"
  git clone -q "$server" "$work/c0"
  git -C "$work/c0" checkout -q dev
  for i in $(seq 1 "$n"); do
    c="$work/c$i"
    cp -a "$work/c0" "$c"
    file=$(printf 'agents/agent-%06d.yaml' "$i")
    sed -i "s/^description: .*/description: Changed by clone $i at once./" "$c/$file"
    git -C "$c" -c core.hooksPath=/dev/null commit -qam "clone $i: one agent's description"
  done
  ;;
run)
  work=$2 n=$3 report=$4
  rm -f "$work"/go "$work"/*.result
  pids=()
  for i in $(seq 1 "$n"); do
    (
      c="$work/c$i"
      # Wait for the start (bounded: a bench never hangs).
      for _ in $(seq 1 6000); do [ -e "$work/go" ] && break; sleep 0.01; done
      tries=0
      while [ "$tries" -lt 200 ]; do
        tries=$((tries + 1))
        if git -C "$c" push -q origin dev 2>"$c.err"; then
          echo "landed $tries" >"$c.result"
          exit 0
        fi
        if ! grep -qE 'fetch first|non-fast-forward|cannot lock ref|failed to lock|incorrect old value' "$c.err"; then
          echo "failed $tries $(tr '\n' ' ' <"$c.err" | head -c 400)" >"$c.result"
          exit 1
        fi
        git -C "$c" -c core.hooksPath=/dev/null pull -q --rebase origin dev 2>>"$c.err" || {
          echo "failed $tries pull: $(tail -2 "$c.err" | tr '\n' ' ')" >"$c.result"
          exit 1
        }
      done
      echo "failed $tries (200 tries)" >"$c.result"
      exit 1
    ) &
    pids+=($!)
  done
  : >"$work/go"
  for pid in "${pids[@]}"; do wait "$pid" || true; done
  landed=$(cat "$work"/c*.result | grep -c '^landed' || true)
  failed=$(cat "$work"/c*.result | grep -c '^failed' || true)
  tries=$(awk '{s += $2} END {print s}' "$work"/c*.result)
  echo "landed $landed failed $failed tries $tries" >"$report"
  grep -h '^failed' "$work"/c*.result | head -3 >>"$report" || true
  [ "$failed" = 0 ]
  ;;
*)
  echo "usage: concurrent_push.sh prepare SERVER WORK N | run WORK N REPORT" >&2
  exit 2
  ;;
esac
