#!/usr/bin/env bash
# envflow's benchmark: `make bench`, or
#
#   bench/run.sh PATH/TO/envflow
#
# Generates synthetic workspaces (bench/gen_workspace.py) of 1,000, 10,000
# and 100,000 files, commits each into a repository made with `envflow init`,
# and times, in one run, side by side: envflow validate cold and warm, the
# pre-receive hook for a push of 10 changed files, envflow status and sync,
# the pipeline page of envflow serve,
# the peers a team would otherwise wire up (ajv + js-yaml, python-jsonschema
# with yaml.CSafeLoader, on the same schemas/) and three floors (cat of every
# file, yaml-cpp's parser alone, libyaml's parser alone). Medians of
# BENCH_RUNS runs (hyperfine), peak memory from /usr/bin/time. Prints the
# table and writes docs/performance.md (bench/report.py).
#
# Environment: BENCH_SIZES ("1000 10000 100000"), BENCH_RUNS (5; 3 for
# 100,000 files), BENCH_WORK (scratch folder, default $TMPDIR/envflow-bench),
# BENCH_OUT (docs/performance.md), BENCH_PEERS_MAX (largest size the peers
# run on, 10000: python-jsonschema takes minutes on 100,000 files),
# BENCH_ONLY (names of the rows to run, e.g. "serve-page serve-diff"; all
# when empty: with it, point BENCH_OUT elsewhere, the report has only those).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

# Internal: `run.sh --commit-change CLONE SEED`, hyperfine's --prepare for a
# push: edit 10 files of CLONE's workspace and commit them.
if [ "${1:-}" = "--commit-change" ]; then
  clone=$2
  seed=$(($(cat "$clone/.bench-seed" 2>/dev/null || echo 100) + 1))
  echo "$seed" >"$clone/.bench-seed"
  python3 "$HERE/gen_workspace.py" --mutate 10 --seed "$seed" --out "$clone" >/dev/null
  git -C "$clone" add -A -- . ':!.bench-seed'
  git -C "$clone" -c core.hooksPath=/dev/null commit -qm "bench: 10 files changed ($seed)"
  exit 0
fi

[ $# -ge 1 ] || { echo "usage: bench/run.sh PATH/TO/envflow" >&2; exit 2; }
ENVFLOW=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
[ -x "$ENVFLOW" ] || { echo "bench: no envflow binary at $1" >&2; exit 2; }

SIZES=${BENCH_SIZES:-"1000 10000 100000"}
RUNS=${BENCH_RUNS:-5}
WORK=${BENCH_WORK:-${TMPDIR:-/tmp}/envflow-bench}
OUT=${BENCH_OUT:-$ROOT/docs/performance.md}
PEERS_MAX=${BENCH_PEERS_MAX:-10000}
ONLY=${BENCH_ONLY:-}
RESULTS="$WORK/results"
mkdir -p "$WORK" "$RESULTS"
rm -f "$RESULTS"/*.json "$RESULTS"/*.mem "$RESULTS"/*.txt

say() { printf 'bench: %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------
need_debs=()
command -v hyperfine >/dev/null || need_debs+=(hyperfine)
command -v curl >/dev/null || need_debs+=(curl)
[ -x /usr/bin/time ] || need_debs+=(time)
/usr/bin/python3 -c 'import jsonschema' 2>/dev/null || need_debs+=(python3-jsonschema)
/usr/bin/python3 -c 'import yaml; yaml.CSafeLoader' 2>/dev/null || need_debs+=(python3-yaml)
command -v g++ >/dev/null || need_debs+=(g++)
[ -f /usr/include/yaml.h ] || need_debs+=(libyaml-dev)
if [ ${#need_debs[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ${need_debs[*]}"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_debs[@]}" >/dev/null
  else
    say "missing ${need_debs[*]}: install them (Debian packages) and run again"
    exit 2
  fi
fi
NODE_MODULES="$HERE/.node/node_modules"
HAVE_NODE=0
if command -v node >/dev/null && command -v npm >/dev/null; then
  if [ ! -d "$NODE_MODULES/ajv" ] || [ ! -d "$NODE_MODULES/js-yaml" ]; then
    say "npm install ajv js-yaml into bench/.node"
    npm install --prefix "$HERE/.node" --no-audit --no-fund --silent ajv@8 js-yaml@4 >/dev/null
  fi
  HAVE_NODE=1
else
  say "no node/npm: the ajv + js-yaml peer is skipped"
fi
PARSE_ONLY="$WORK/yaml_parse_only"
g++ -O2 -std=c++20 "$HERE/yaml_parse_only.cpp" -lyaml-cpp -lyaml -o "$PARSE_ONLY"

# --- hermetic git --------------------------------------------------------------
export HOME="$WORK/home"
mkdir -p "$HOME"
export GIT_CONFIG_GLOBAL="$HOME/.gitconfig" GIT_CONFIG_SYSTEM=/dev/null GIT_CONFIG_NOSYSTEM=1
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE ENVFLOW_NO_CACHE ENVFLOW_THREADS ENVFLOW_CACHE_TRACE
git config --global user.name "Bench"
git config --global user.email "bench@example.com"
git config --global init.defaultBranch main
git config --global gc.auto 0
export ENVFLOW_ACTOR=bench@example.com
export REMOTE_USER=bench@example.com # the pusher, as a web server would say

# --- workspaces ----------------------------------------------------------------
# prepare N: workspace ws-N, repository repo-N (every environment at the
# generated content, dev one commit of 10 changed files ahead), packed.
prepare() {
  local n=$1
  local ws="$WORK/ws-$n" repo="$WORK/repo-$n"
  if [ -f "$repo/.git/bench-ready" ]; then
    return
  fi
  rm -rf "$ws" "$repo" "$WORK/srv-$n.git" "$WORK/clone-$n"
  say "generating $n files"
  python3 "$HERE/gen_workspace.py" --files "$n" --out "$ws"
  "$ENVFLOW" init "$repo" >/dev/null
  git -C "$repo" rm -rq --cached -- . >/dev/null
  find "$repo" -mindepth 1 -maxdepth 1 ! -name .git -exec rm -rf {} +
  cp -r "$ws/." "$repo/"
  git -C "$repo" add -A
  git -C "$repo" -c core.hooksPath=/dev/null commit -qm "bench: $n generated files"
  local base
  base=$(git -C "$repo" rev-parse HEAD)
  for branch in test uat staging production; do
    git -C "$repo" update-ref "refs/heads/$branch" "$base"
  done
  python3 "$HERE/gen_workspace.py" --mutate 10 --seed 1 --out "$repo" >/dev/null
  git -C "$repo" add -A
  git -C "$repo" -c core.hooksPath=/dev/null commit -qm "bench: 10 files changed"
  git -C "$repo" gc -q
  echo "$base" >"$repo/.git/bench-base"
  touch "$repo/.git/bench-ready"
}

# The server side: a bare clone with envflow's hooks, and a clone to push from.
prepare_server() {
  local n=$1
  local repo="$WORK/repo-$n" srv="$WORK/srv-$n.git" clone="$WORK/clone-$n"
  rm -rf "$srv" "$clone"
  git clone -q --bare "$repo" "$srv"
  git -C "$repo" push -q "$srv" 'refs/envflow/*:refs/envflow/*'
  "$ENVFLOW" install-hooks --server "$srv" >/dev/null
  git clone -q "$srv" "$clone"
  git -C "$clone" checkout -q dev
  # The server has seen this content before (it validated it when it was
  # pushed): fill its cache the way that push would have.
  "$ENVFLOW" -C "$srv" validate --rev dev >/dev/null
}

# --- timing --------------------------------------------------------------------
# bench NAME SIZE RUNS [hyperfine options...] -- 'COMMAND': median of RUNS
# runs of the shell command COMMAND (hyperfine subtracts the shell's start).
bench() {
  local name=$1 n=$2 runs=$3
  shift 3
  wanted "$name" || return 0
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  say "$name ($n files)"
  if ! hyperfine --style none --runs "$runs" "${opts[@]}" \
    --export-json "$RESULTS/$name@$n.json" "$1" >/dev/null 2>"$RESULTS/$name@$n.err"; then
    say "  failed: $(tail -3 "$RESULTS/$name@$n.err")"
    rm -f "$RESULTS/$name@$n.json"
  fi
}

# wanted NAME: the row NAME is to run (BENCH_ONLY).
wanted() {
  [ -z "$ONLY" ] || [[ " $ONLY " == *" $1 "* ]]
}

# memory NAME SIZE COMMAND...: peak resident set of one run, in KiB.
memory() {
  local name=$1 n=$2
  wanted "$name" || return 0
  shift 2
  /usr/bin/time -f '%M' -o "$RESULTS/$name@$n.mem" "$@" >/dev/null 2>&1 || true
}

{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "nproc: $(nproc)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "memory: $(free -m | awk '/^Mem:/ {print $2}') MiB"
  echo "uptime_start: $(uptime)"
  echo "envflow: $("$ENVFLOW" --version)"
  echo "yaml-cpp: $(dpkg-query -W -f '${Version}' libyaml-cpp-dev 2>/dev/null || echo '?')"
  echo "libyaml: $(dpkg-query -W -f '${Version}' libyaml-dev 2>/dev/null || echo '?')"
  echo "node: $(node --version 2>/dev/null || echo none)"
  echo "python: $(/usr/bin/python3 --version 2>&1)"
  echo "hyperfine: $(hyperfine --version)"
  echo "runs: $RUNS"
} >"$RESULTS/machine.txt"

for n in $SIZES; do
  prepare "$n"
done

for n in $SIZES; do
  repo="$WORK/repo-$n" ws="$WORK/ws-$n"
  runs=$RUNS
  [ "$n" -ge 100000 ] && runs=${BENCH_RUNS_LARGE:-3}
  E="$ENVFLOW -C $repo"

  bench validate-cold "$n" "$runs" --prepare "$E cache clear" -- "$E validate --rev dev"
  bench validate-warm "$n" "$runs" --warmup 1 -- "$E validate --rev dev"
  bench validate-worktree-warm "$n" "$runs" --warmup 1 -- "$E validate"
  # git's own look at the same working tree (it reads the index and stats
  # every file, as the row above does): the floor of issue 18's 3x target.
  bench floor-git-status "$n" "$runs" --warmup 1 -- "git -C $repo status --porcelain >/dev/null"
  bench validate-cold-1thread "$n" 1 --prepare "$E cache clear" \
    -- "ENVFLOW_THREADS=1 $E validate --rev dev"
  memory validate-cold "$n" env ENVFLOW_NO_CACHE=1 $E validate --rev dev
  memory validate-warm "$n" $E validate --rev dev

  base=$(cat "$repo/.git/bench-base")
  bench status "$n" "$runs" --warmup 1 -- "$E status"
  bench sync "$n" "$runs" --warmup 1 --prepare "git -C $repo update-ref refs/heads/test $base" \
    -- "$E sync dev"
  git -C "$repo" update-ref refs/heads/test "$base"
  memory sync "$n" $E sync dev
  git -C "$repo" update-ref refs/heads/test "$base"

  # envflow serve's pipeline page, warm (the server has drawn it before):
  # its HTML is what the browser paints first (its CSS and script are
  # cached); what waits to go on (the semantic diff with values) is loaded
  # by the page's script after that, from GET /api/diff, timed apart.
  if wanted serve-page || wanted serve-diff; then
    $E serve --listen 127.0.0.1:0 --actor bench@example.com >"$WORK/serve-$n.out" 2>/dev/null &
    serve_pid=$!
    url=""
    for _ in $(seq 1 100); do
      url=$(grep -o 'http://[^ ]*' "$WORK/serve-$n.out" 2>/dev/null || true)
      [ -n "$url" ] && break
      sleep 0.1
    done
    bench serve-page "$n" "$runs" --warmup 2 -- "curl -sf -H 'Accept: text/html' -o /dev/null $url"
    from=$(git -C "$repo" rev-parse test) to=$(git -C "$repo" rev-parse dev)
    bench serve-diff "$n" "$runs" --warmup 2 \
      -- "curl -sf -o /dev/null '${url}api/diff?from=$from&to=$to&values=1'"
    kill "$serve_pid" 2>/dev/null || true
    wait "$serve_pid" 2>/dev/null || true
  fi

  if wanted push-10 || wanted push-10-nocache || wanted hook-10 || wanted floor-push; then
    # The pre-receive hook for a push of 10 changed files, warm (the server
    # validated its content before) and with the cache off.
    prepare_server "$n"
    clone="$WORK/clone-$n"
    srv="$WORK/srv-$n.git"
    bench push-10 "$n" "$runs" --prepare "bash $HERE/run.sh --commit-change $clone" \
      -- "git -C $clone push -q origin dev"
    bench push-10-nocache "$n" 1 --prepare "bash $HERE/run.sh --commit-change $clone" \
      -- "ENVFLOW_NO_CACHE=1 git -C $clone push -q origin dev"
    # The hook alone, without git's part of the push: the pushed commit waits
    # on a side ref, the hook is asked about moving dev to it.
    bash "$HERE/run.sh" --commit-change "$clone"
    git -C "$clone" push -q origin HEAD:refs/bench/next
    old=$(git -C "$srv" rev-parse dev) new=$(git -C "$srv" rev-parse refs/bench/next)
    printf '%s %s refs/heads/dev\n' "$old" "$new" >"$WORK/hook-input-$n"
    bench hook-10 "$n" "$runs" --warmup 1 -- "$ENVFLOW -C $srv hook pre-receive <$WORK/hook-input-$n"
    memory hook-10 "$n" sh -c "$ENVFLOW -C $srv hook pre-receive <$WORK/hook-input-$n"
    # git's own part (after the hook's input is fixed, so it still covers one commit): the same push into a copy of the server without hooks.
    rm -rf "$WORK/srv-plain-$n.git"
    git clone -q --bare "$srv" "$WORK/srv-plain-$n.git"
    git -C "$clone" remote remove plain 2>/dev/null || true
    git -C "$clone" remote add plain "$WORK/srv-plain-$n.git"
    git -C "$clone" push -q plain dev
    bench floor-push "$n" "$runs" --prepare "bash $HERE/run.sh --commit-change $clone" \
      -- "git -C $clone push -q plain dev"
  fi

  # Floors and peers, on the same files.
  bench floor-cat "$n" "$runs" --warmup 1 -- "find $ws -type f -print0 | xargs -0 cat >/dev/null"
  bench floor-yaml-cpp "$n" "$runs" --warmup 1 -- "find $ws -name '*.yaml' | $PARSE_ONLY"
  bench floor-libyaml "$n" "$runs" --warmup 1 -- "find $ws -name '*.yaml' | $PARSE_ONLY --libyaml"
  if [ "$n" -le "$PEERS_MAX" ]; then
    if [ "$HAVE_NODE" = 1 ]; then
      bench peer-ajv "$n" "$runs" --warmup 1 \
        -- "NODE_PATH=$NODE_MODULES node $HERE/peers/ajv_validate.js $ROOT/schemas $ws"
      memory peer-ajv "$n" env NODE_PATH="$NODE_MODULES" node "$HERE/peers/ajv_validate.js" \
        "$ROOT/schemas" "$ws"
    fi
    bench peer-jsonschema "$n" "$runs" \
      -- "/usr/bin/python3 $HERE/peers/jsonschema_validate.py $ROOT/schemas $ws"
  fi
  echo "uptime_after_$n: $(uptime)" >>"$RESULTS/machine.txt"
done

# --- history ---------------------------------------------------------------------
# The everyday commands and the pre-receive hook on the same 1,000-file
# workspace with no history, with 10,000 audit records (100 release tags, 100
# back-port issues) and with 100,000 records (1,000 tags, 1,000 issues), made
# by bench/gen_history.py: a row's cost must not grow with history (issue 18).
# Result names: hist-ROW@RECORDS.
HIST_FILES=${BENCH_HISTORY_FILES:-1000}
HISTORIES=${BENCH_HISTORIES:-"0 10000 100000"}
hist_rows="hist-status hist-sync hist-approve hist-hold hist-releases hist-backports hist-render hist-log hist-hook hist-post-hook"
hist_wanted=0
for row in $hist_rows; do wanted "$row" && hist_wanted=1; done
if [ "$hist_wanted" = 1 ]; then
  prepare "$HIST_FILES"
  for h in $HISTORIES; do
    hrepo="$WORK/hist-$h"
    if [ ! -f "$hrepo/.git/bench-ready" ]; then
      say "history of $h records"
      rm -rf "$hrepo"
      cp -a "$WORK/repo-$HIST_FILES" "$hrepo"
      rm -f "$hrepo/.git/bench-ready"
      python3 "$HERE/gen_history.py" "$hrepo" --records "$h" --tags $((h / 100)) \
        --backports $((h / 100))
      git -C "$hrepo" pack-refs --all
      touch "$hrepo/.git/bench-ready"
    fi
    E="$ENVFLOW -C $hrepo"
    test_head=$(git -C "$hrepo" rev-parse test) dev_head=$(git -C "$hrepo" rev-parse dev)
    approval="refs/envflow/approvals/test/$dev_head/bench@example%2Ecom"
    bench hist-status "$h" "$RUNS" --warmup 1 -- "$E status"
    bench hist-sync "$h" "$RUNS" --warmup 1 -- "$E sync dev --dry-run"
    bench hist-approve "$h" "$RUNS" --prepare "git -C $hrepo update-ref -d $approval" \
      -- "$E approve test --rev dev"
    bench hist-hold "$h" "$RUNS" --prepare "$E hold release test --reason bench >/dev/null 2>&1 || true" \
      -- "$E hold set test --reason bench"
    $E hold release test --reason bench >/dev/null 2>&1 || true
    bench hist-releases "$h" "$RUNS" --warmup 1 -- "$E releases"
    bench hist-backports "$h" "$RUNS" --warmup 1 -- "$E backport list"
    bench hist-render "$h" "$RUNS" --warmup 1 -- "$E render production"
    bench hist-log "$h" "$RUNS" --warmup 1 -- "$E log | head -20"
    printf '%s %s refs/heads/test\n' "$test_head" "$dev_head" >"$WORK/hist-hook-$h"
    bench hist-hook "$h" "$RUNS" --warmup 1 -- "$E hook pre-receive <$WORK/hist-hook-$h"
    # post-receive records the same move (one more record on the trail per run).
    bench hist-post-hook "$h" "$RUNS" --warmup 1 -- "$E hook post-receive <$WORK/hist-hook-$h"
  done
  echo "uptime_after_history: $(uptime)" >>"$RESULTS/machine.txt"
fi

# --- pushes at once -----------------------------------------------------------------
# BENCH_PUSHERS clones (100) push a small change each to dev at the same
# moment, retrying as git makes anyone retry when dev moved meanwhile
# (bench/concurrent_push.sh), into the server with envflow's hooks and into
# a copy without hooks: the floor. Failures other than git's own refusals
# fail the row; the report gives the landed pushes, the tries and the ratio.
PUSHERS=${BENCH_PUSHERS:-100}
if wanted push-concurrent || wanted floor-push-concurrent; then
  prepare "$HIST_FILES"
  prepare_server "$HIST_FILES"
  srv="$WORK/srv-$HIST_FILES.git" plain="$WORK/srv-plain-concurrent.git"
  rm -rf "$plain"
  git clone -q --bare "$srv" "$plain" # a fresh clone has no hooks
  for row in push-concurrent floor-push-concurrent; do
    target=$srv
    [ "$row" = floor-push-concurrent ] && target=$plain
    bench "$row" "$PUSHERS" 1 \
      --prepare "bash $HERE/concurrent_push.sh prepare $target $WORK/concurrent $PUSHERS" \
      -- "bash $HERE/concurrent_push.sh run $WORK/concurrent $PUSHERS $RESULTS/$row@$PUSHERS.txt"
  done
  echo "uptime_after_concurrent: $(uptime)" >>"$RESULTS/machine.txt"
fi

echo "uptime_end: $(uptime)" >>"$RESULTS/machine.txt"
/usr/bin/python3 "$HERE/report.py" "$RESULTS" "$OUT"
say "wrote $OUT"
