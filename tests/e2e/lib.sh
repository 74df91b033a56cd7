# Shared helpers for the end-to-end suites. Source it first thing:
#   . "$(dirname "$0")/lib.sh"
# Each suite drives the real envflow binary ($ENVFLOW, set by CTest) with the
# real git CLI in temporary repositories, isolated from the host's config.
set -euo pipefail

: "${ENVFLOW:?ENVFLOW must point at the envflow binary (CTest sets it)}"
: "${ENVFLOW_SOURCE_DIR:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
ENVFLOW_BIN_DIR=$(cd "$(dirname "$ENVFLOW")" && pwd)
export PATH="$ENVFLOW_BIN_DIR:$PATH"

TEST_ROOT=$(mktemp -d "${TMPDIR:-/tmp}/envflow-e2e.XXXXXX")
# A suite that sets its own EXIT trap must call cleanup_test_root from it.
# It also ends the suite's background processes still running (racers of a
# suite stopped half-way), so that none outlives it.
cleanup_test_root() {
  if [ "$BASHPID" = "$$" ]; then
    [ -z "${E2E_WATCHDOG_PID:-}" ] || kill "$E2E_WATCHDOG_PID" 2>/dev/null || true
    local -a left
    mapfile -t left < <(e2e_own $(jobs -p))
    [ ${#left[@]} -eq 0 ] || e2e_kill "${left[@]}"
  fi
  [ -n "${KEEP_TEST_ROOT:-}" ] || rm -rf "$TEST_ROOT"
}
trap cleanup_test_root EXIT

# --- Bounded waits -----------------------------------------------------------
# No wait in a suite may last for ever. E2E_TIMEOUT is ctest's TIMEOUT for the
# suite (tests/CMakeLists.txt passes it); E2E_WAIT_BOUND bounds one wait of the
# harness (a barrier, racers to finish); past E2E_WATCHDOG seconds the
# watchdog lists the suite's processes and where they are blocked, then stops
# the suite with a failure, before ctest's timeout would kill it silently.
: "${E2E_TIMEOUT:=300}"
: "${E2E_WAIT_BOUND:=120}"
: "${E2E_WATCHDOG:=$((E2E_TIMEOUT > 60 ? E2E_TIMEOUT - 20 : E2E_TIMEOUT * 2 / 3))}"

# e2e_tree PID...: these processes and all their descendants, parents first.
e2e_tree() {
  local -A kids=()
  local stat line pid ppid
  for stat in /proc/[0-9]*/stat; do
    { read -r line <"$stat"; } 2>/dev/null || continue
    pid=${line%% *}
    line=${line##*) } # the command name may hold spaces and parentheses
    ppid=${line#* }
    ppid=${ppid%% *}
    kids[$ppid]+=" $pid"
  done
  local -a queue=("$@")
  local i=0
  while ((i < ${#queue[@]})); do
    pid=${queue[$i]}
    i=$((i + 1))
    [ -d "/proc/$pid" ] || continue
    echo "$pid"
    for ppid in ${kids[$pid]:-}; do queue+=("$ppid"); done
  done
}

# e2e_dump PID...: the processes and their descendants (`ps`), then where each
# one is blocked in the kernel: its stack where readable, else its wait channel.
e2e_dump() {
  local -a pids
  mapfile -t pids < <(e2e_tree "$@")
  if [ ${#pids[@]} -eq 0 ]; then
    echo "  (no process left)"
    return 0
  fi
  if command -v ps >/dev/null; then
    ps -o pid,ppid,stat,wchan:32,etime,args -p "$(IFS=,; echo "${pids[*]}")" | sed 's/^/  /'
  else
    local pid
    for pid in "${pids[@]}"; do
      echo "  $pid $(cut -d' ' -f3 "/proc/$pid/stat" 2>/dev/null) $(cat "/proc/$pid/wchan" 2>/dev/null)" \
        "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)"
    done
  fi
  local pid stack
  for pid in "${pids[@]}"; do
    stack=$(head -5 "/proc/$pid/stack" 2>/dev/null) || stack=""
    if [ -n "$stack" ]; then
      echo "  $pid kernel stack:"
      sed 's/^/      /' <<<"$stack"
    else
      echo "  $pid waits in: $(cat "/proc/$pid/wchan" 2>/dev/null || echo '?')"
    fi
  done
}

# e2e_own PID...: those of the PIDs that are still children of this shell
# (a PID of a child that has ended may already name another process).
e2e_own() {
  local pid line
  for pid; do
    { read -r line <"/proc/$pid/stat"; } 2>/dev/null || continue
    line=${line##*) }
    line=${line#* }
    [ "${line%% *}" != "$$" ] || echo "$pid"
  done
}

# e2e_kill PID...: end these processes and their descendants (TERM, then KILL
# whatever is left after 5 s).
e2e_kill() {
  local -a pids
  mapfile -t pids < <(e2e_tree "$@")
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  local end=$((SECONDS + 5)) pid alive
  while ((SECONDS < end)); do
    alive=0
    for pid in "${pids[@]}"; do
      if kill -0 "$pid" 2>/dev/null; then alive=1; fi
    done
    ((alive)) || return 0
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}

# e2e_read_within DEADLINE FD: read one line from FD into LINE, waiting at most
# until $SECONDS reaches DEADLINE; fails when none came.
e2e_read_within() {
  local left=$(($1 - SECONDS))
  ((left > 0)) || left=1
  read -r -t "$left" -u "$2" LINE
}

# The watchdog: a process of its own (not a child of the suite, so that a
# bare `wait` does not wait for it) that checks every 2 s that the suite is
# still running and fires at E2E_WATCHDOG seconds.
e2e_watchdog() {
  local suite=$1 name=$2 deadline=$((SECONDS + E2E_WATCHDOG))
  while kill -0 "$suite" 2>/dev/null; do
    if ((SECONDS >= deadline)); then
      trap '' TERM # the suite's exit must not cut the dump short
      echo "=== watchdog: $name still running after ${E2E_WATCHDOG}s (ctest's timeout: ${E2E_TIMEOUT}s)"
      echo "=== last test case started: $(cat "$TEST_ROOT/.case" 2>/dev/null || echo '(none)')"
      echo "=== its processes, and where they are blocked:"
      e2e_dump "$suite"
      echo "FAIL [watchdog]: $name did not finish within ${E2E_WATCHDOG}s; stopped (process dump above)"
      # The suite exits at USR1 once its foreground command ends: end the
      # processes below it (listed afresh each time, while it still holds
      # them: once it exits they belong to init) until it has, 10 s at most.
      local -a below
      local end=$((SECONDS + 10))
      mapfile -t below < <(e2e_tree "$suite" | tail -n +2)
      kill -USR1 "$suite" 2>/dev/null || true
      while kill -0 "$suite" 2>/dev/null && ((SECONDS < end)); do
        [ ${#below[@]} -eq 0 ] || kill -TERM "${below[@]}" 2>/dev/null || true
        sleep 0.2
        mapfile -t below < <(e2e_tree "$suite" | tail -n +2)
      done
      [ ${#below[@]} -eq 0 ] || e2e_kill "${below[@]}"
      kill -KILL "$suite" 2>/dev/null || true
      return 0
    fi
    sleep 2 </dev/null >/dev/null 2>&1
  done
}
e2e_watchdog_fired() {
  trap - USR1
  FAILED=$((FAILED + 1))
  echo "$PASSED passed, $FAILED failed (stopped by the watchdog)"
  exit 1
}
trap e2e_watchdog_fired USR1
(e2e_watchdog "$$" "$(basename "$0")" </dev/null >&2 & echo $! >"$TEST_ROOT/.watchdog")
E2E_WATCHDOG_PID=$(<"$TEST_ROOT/.watchdog")

# Hermetic git: no host config, fixed identities and dates.
export HOME="$TEST_ROOT/home"
mkdir -p "$HOME"
export GIT_CONFIG_GLOBAL="$HOME/.gitconfig"
export GIT_CONFIG_SYSTEM=/dev/null
export GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Alice Dev" GIT_AUTHOR_EMAIL="alice@example.com"
export GIT_COMMITTER_NAME="Alice Dev" GIT_COMMITTER_EMAIL="alice@example.com"
export GIT_AUTHOR_DATE="2026-01-01T00:00:00Z" GIT_COMMITTER_DATE="2026-01-01T00:00:00Z"
export NO_COLOR=1
unset ENVFLOW_ACTOR GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE
git config --global user.name "Alice Dev"
git config --global user.email "alice@example.com"
git config --global init.defaultBranch main
git config --global advice.detachedHead false

PASSED=0
FAILED=0
CURRENT=""

# test NAME: start a named check (for the report).
test_case() {
  CURRENT="$1"
  printf '%s\n' "$1" >"$TEST_ROOT/.case" # for the watchdog
}

pass() { PASSED=$((PASSED + 1)); }
fail() {
  FAILED=$((FAILED + 1))
  echo "FAIL [$CURRENT]: $*" >&2
}

# run CMD...: run a command, capturing stdout in $OUT, stderr in $ERR, exit code in $RC.
run() {
  local out_file="$TEST_ROOT/.out" err_file="$TEST_ROOT/.err"
  set +e
  "$@" >"$out_file" 2>"$err_file"
  RC=$?
  set -e
  OUT=$(<"$out_file")
  ERR=$(<"$err_file")
}

expect_rc() {
  if [ "$RC" -eq "$1" ]; then pass; else
    fail "expected exit $1, got $RC"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"
  fi
}

# expect_out TEXT / expect_err TEXT: fixed-string match in captured output.
expect_out() {
  if grep -qF -- "$1" <<<"$OUT"; then pass; else fail "stdout lacks '$1'"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"; fi
}
expect_err() {
  if grep -qF -- "$1" <<<"$ERR"; then pass; else fail "stderr lacks '$1'"$'\n'"stdout: $OUT"$'\n'"stderr: $ERR"; fi
}
expect_no_out() {
  if grep -qF -- "$1" <<<"$OUT"; then fail "stdout has '$1'"$'\n'"stdout: $OUT"; else pass; fi
}

# expect_eq ACTUAL EXPECTED [WHAT]
expect_eq() {
  if [ "$1" = "$2" ]; then pass; else fail "${3:-value}: expected '$2', got '$1'"; fi
}

# expect_json EXPR...: each Python expression EXPR is true of `data`, the JSON
# document in $OUT: one check per EXPR, all evaluated by one interpreter (a
# Python start costs more than the checks; batch the checks of one output).
expect_json() {
  local said i=0 expr
  local -a verdicts
  said=$(python3 -c '
import json, sys
try:
    data = json.loads(sys.argv[1])
except ValueError:
    data = None
for expr in sys.argv[2:]:
    try:
        print("ok" if data is not None and eval(expr, {"data": data}) else "no")
    except Exception:
        print("no")
' "$OUT" "$@" 2>/dev/null) || true
  mapfile -t verdicts <<<"$said"
  for expr; do
    if [ "${verdicts[$i]:-}" = ok ]; then pass; else
      fail "JSON check failed: $expr"$'\n'"stdout: $OUT"
    fi
    i=$((i + 1))
  done
}

# find_locks DIR: the *.lock files and folders under DIR (hidden ones too) in
# the array LOCKS_FOUND, walked by the shell: the fault suites look after
# every run, and a find(1) per look adds up.
find_locks() {
  local had_globstar=0 had_nullglob=0 had_dotglob=0
  shopt -q globstar && had_globstar=1
  shopt -q nullglob && had_nullglob=1
  shopt -q dotglob && had_dotglob=1
  shopt -s globstar nullglob dotglob
  LOCKS_FOUND=("$1"/**/*.lock)
  ((had_globstar)) || shopt -u globstar
  ((had_nullglob)) || shopt -u nullglob
  ((had_dotglob)) || shopt -u dotglob
}

# ref_of REPO REF: the id REF points at, or "none".
ref_of() { git -C "$1" rev-parse -q --verify "$2^{}" 2>/dev/null || echo none; }

# variable_yaml NAME TYPE DEFAULT DESCRIPTION: print a Variable file.
variable_yaml() {
  printf 'kind: Variable\nname: %s\ntype: %s\ndefault: %s\ndescription: %s\n' "$@"
}

# requires COMMAND...: skip the suite (exit 125) when a COMMAND is missing.
requires() {
  local c
  for c in "$@"; do
    command -v "$c" >/dev/null || { echo "$c not found: skipped"; exit 125; }
  done
}

# expect_unchanged BEFORE: the suite's all_refs still prints BEFORE.
expect_unchanged() { expect_eq "$(all_refs)" "$1" "refs after a refusal"; }

# expect_override_dropped REPO VAR LOCAL_BEFORE TEST_BEFORE TEST_AFTER: a sync
# into test (TEST_BEFORE to TEST_AFTER) that removed the variable VAR took
# its override on test with it: a local commit after LOCAL_BEFORE without
# it, and the sync's record (the newest) moves both refs.
expect_override_dropped() {
  local local_after
  local_after=$(ref_of "$1" refs/envflow/local/test)
  expect_eq "$(ref_of "$1" refs/heads/test)" "$5" "test after the sync"
  expect_eq "$(git -C "$1" rev-parse -q --verify "$local_after^")" "$3" "the local commit follows the previous one"
  if git -C "$1" show "$local_after:overrides.yaml" | grep -q "$2"; then
    fail "the override of $2 is still on test"
  else pass; fi
  expect_eq "$(git -C "$1" log -1 --format=%B refs/envflow/audit | grep '^move: ' | sort | tr '\n' ' ')" \
    "move: refs/envflow/local/test $3 $local_after move: refs/heads/test $4 $5 " \
    "the sync's record moves the branch and the local ref"
}

# refs_line DIR REF...: where each REF of the repository DIR points, one
# line (NAME=ID, none when missing), to compare before and after a refusal.
# A REF `dev` stands for refs/heads/dev, `envflow/audit` for
# refs/envflow/audit (named audit), `tags` for every tag (NAME=ID, commas).
refs_line() {
  local dir=$1 r line=""
  shift
  for r in "$@"; do
    case $r in
      tags) line+="tags=$(git -C "$dir" for-each-ref --format='%(refname:short)=%(objectname)' refs/tags | tr '\n' ,) " ;;
      envflow/*) line+="${r#envflow/}=$(git -C "$dir" rev-parse -q --verify "refs/$r" || echo none) " ;;
      *) line+="$r=$(ref_of "$dir" "refs/heads/$r") " ;;
    esac
  done
  echo "${line% }"
}

# new_repo NAME [init args...]: `envflow init` a fresh repository; prints its path.
new_repo() {
  local dir="$TEST_ROOT/$1"
  shift
  "$ENVFLOW" init "$dir" "$@" >/dev/null
  echo "$dir"
}

# edit_config PYTHON: rewrite envflow.yaml through `config show` / `config edit
# --file` (must succeed; OUT and ERR stay for more checks). PYTHON edits the
# text in variable `t`; env_block(t, NAME, fn) rewrites one environment's
# block, set_auto(t, NAME) marks it `auto: true`, and qa_approves(t, NAME, N,
# MEMBERS) adds the group qa (MEMBERS, after admins) and makes NAME wait for
# N approvals by qa instead of the release managers' 0.
edit_config() {
  envflow config show >"$TEST_ROOT/cfg.yaml"
  python3 - "$TEST_ROOT/cfg.yaml" "$1" <<'EOF'
import sys
path, code = sys.argv[1], sys.argv[2]
t = open(path).read()
def env_block(t, name, fn):
    i = t.index("  - name: " + name + "\n")
    j = t.find("  - name: ", i + 1)
    j = t.index("\n\n", i) + 1 if j < 0 else j
    return t[:i] + fn(t[i:j]) + t[j:]
def set_auto(t, name):
    return env_block(t, name, lambda b: b.replace("    branch: " + name + "\n",
                                                  "    branch: " + name + "\n    auto: true\n"))
def qa_approves(t, name, n, members):
    admins = '  admins: ["alice@example.com"]\n'
    qa = "  qa: [" + ", ".join('"' + m + '"' for m in members) + "]\n"
    t = t.replace(admins, admins + qa, 1)
    return env_block(t, name, lambda b: b.replace("approvals: 0", "approvals: " + str(n)).replace(
        'approvers: ["release-managers"]', 'approvers: ["qa"]'))
env = {"t": t, "env_block": env_block, "set_auto": set_auto, "qa_approves": qa_approves}
exec(code, env)
open(path, "w").write(env["t"])
EOF
  run envflow config edit --file "$TEST_ROOT/cfg.yaml"
  expect_rc 0
}

# free_port: a TCP port on 127.0.0.1 for a server a suite starts: the first
# of a few random ones that nothing answers on.
free_port() {
  local port
  for port in $(shuf -i 20000-60000 -n 50); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return 0
    fi
  done
  return 1
}

# race_run DIR CMD...: run each CMD (a shell command line, evaluated in a
# process of its own; quote words with `printf '%q '`) at the same instant.
# Every racer says it is ready, then blocks at a barrier; once all are ready
# (or after E2E_WAIT_BOUND seconds) the barrier lets them all go. Results in
# DIR/<i>.out, DIR/<i>.err, DIR/<i>.rc for i = 0..RACERS-1; sets RACERS.
# The barrier is a FIFO this shell holds open for reading and writing, with
# one line written per racer: a racer that reaches it late still finds its
# line, so none can wait for a release that has already happened. Racers
# still running E2E_WAIT_BOUND seconds after the release fail the case, with
# a dump of where they are blocked, and are killed.
race_run() {
  local dir=$1
  shift
  rm -rf "$dir"
  mkdir -p "$dir"
  mkfifo "$dir/.go" "$dir/.said"
  local go said
  exec {go}<>"$dir/.go" {said}<>"$dir/.said"
  local -a pids=()
  local i=0 cmd
  for cmd in "$@"; do
    (
      exec {go}>&- {said}>&-
      # Opened read-write: opening a FIFO so never blocks, even if the suite
      # has gone; the bounded read is the only wait.
      echo "ready $i" 1<>"$dir/.said"
      read -r -t "$E2E_WAIT_BOUND" _ 0<>"$dir/.go" ||
        echo "race_run: racer $i not released within ${E2E_WAIT_BOUND}s; starting anyway" >&2
      set +e
      eval "$cmd" >"$dir/$i.out" 2>"$dir/$i.err"
      echo $? >"$dir/$i.rc"
      echo "done $i" 1<>"$dir/.said"
    ) &
    pids+=($!)
    i=$((i + 1))
  done
  RACERS=$i
  local ready=0 ended=0 deadline=$((SECONDS + E2E_WAIT_BOUND)) LINE
  while ((ready < RACERS)) && e2e_read_within "$deadline" "$said"; do
    case $LINE in ready*) ready=$((ready + 1)) ;; done*) ended=$((ended + 1)) ;; esac
  done
  if ((ready < RACERS)); then
    echo "race_run: $ready of $RACERS racers ready after ${E2E_WAIT_BOUND}s; released anyway" >&2
  fi
  for ((i = 0; i < RACERS; i++)); do echo go >&"$go"; done
  deadline=$((SECONDS + E2E_WAIT_BOUND))
  while ((ended < RACERS)) && e2e_read_within "$deadline" "$said"; do
    case $LINE in done*) ended=$((ended + 1)) ;; esac
  done
  if ((ended < RACERS)); then
    fail "race_run: $((RACERS - ended)) of $RACERS racers still running ${E2E_WAIT_BOUND}s after the release:"$'\n'"$(e2e_dump "${pids[@]}")"
    e2e_kill $(e2e_own "${pids[@]}")
  fi
  wait "${pids[@]}" || true
  exec {go}>&- {said}>&-
}

# finish: print the closing line CTest logs and exit non-zero on failure.
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}

# policy_yaml [-g GROUP=MEMBER,...]... [-i VAR,... [-o]] [-s true|false]
#             [-r LINE] [-x LINE]... [-D] ENV...: print a pipeline policy.
# Each ENV is NAME[:APPROVALS[:APPROVERS[:LINE]]]: the first is written by
# developers, each later one promoted into by release-managers, with
# `approvals: APPROVALS` and `approvers: [APPROVERS]` where given, and LINE
# (e.g. "auto: true") as one more of its lines; operators change every
# environment's local data (-D: not the first's). -g: a group and its members
# (in the order given); the roles admins, publishers and hotfixers are the
# groups of those names. -i: the variables naming the pusher, required (-o:
# optional). -s: whether releases are signed (false). -r: one more line under
# release:, -x one more line at the top level.
policy_yaml() {
  local opt groups=() vars= required=true sign=false release_line= extra=() dev_local=1
  local OPTIND=1
  while getopts g:i:os:r:x:D opt; do
    case $opt in
      g) groups+=("$OPTARG") ;;
      i) vars=$OPTARG ;;
      o) required=false ;;
      s) sign=$OPTARG ;;
      r) release_line=$OPTARG ;;
      x) extra+=("$OPTARG") ;;
      D) dev_local= ;;
      *) return 2 ;;
    esac
  done
  shift $((OPTIND - 1))
  local env name approvals approvers line first=1 group
  printf 'version: 1\nenvironments:\n'
  for env in "$@"; do
    IFS=: read -r name approvals approvers line <<<"$env"
    printf '  - name: %s\n    branch: %s\n' "$name" "$name"
    if [ -n "$first" ]; then
      echo "    write: [developers]"
    else
      [ -z "$line" ] || echo "    $line"
      echo "    promote: [release-managers]"
      [ -z "$approvals" ] || echo "    approvals: $approvals"
      [ -z "$approvers" ] || echo "    approvers: [$approvers]"
    fi
    [ -z "$first" ] || [ -n "$dev_local" ] && echo "    local: [operators]"
    first=
  done
  echo "groups:"
  for group in "${groups[@]}"; do
    echo "  ${group%%=*}: [$(sed 's/,/, /g' <<<"${group#*=}")]"
  done
  printf 'admins: [admins]\npublishers: [publishers]\nhotfixers: [hotfixers]\n'
  [ -z "$vars" ] ||
    printf 'identity:\n  env: [%s]\n  required: %s\n' "$(sed 's/,/, /g' <<<"$vars")" "$required"
  [ "${#extra[@]}" -eq 0 ] || printf '%s\n' "${extra[@]}"
  printf 'release:\n  sign: %s\n' "$sign"
  [ -z "$release_line" ] || echo "  $release_line"
}

# team_policy: print a policy for a team on a shared server: alice
# (developers) writes dev; bob promotes into test and production (no
# approvals), publishes, finishes hotfixes and changes local data; adam is
# the admin; the pusher must be authenticated (REMOTE_USER); unsigned releases.
team_policy() {
  policy_yaml -g developers=alice -g release-managers=bob -g operators=bob -g publishers=bob \
    -g hotfixers=bob -g admins=adam -i REMOTE_USER \
    dev test:0:release-managers production:0:release-managers
}

# role_policy REQUIRED SIGN [AUTO [RELEASE_LINE]]: print the five-environment
# policy with one person per role: alice (developers) writes dev; bob and
# carol (release-managers) promote, production after one approval; olga
# (operators) changes local data; paul publishes; hank finishes hotfixes;
# adam is the admin. The pusher comes from a forge's variables or
# REMOTE_USER, required when REQUIRED is true; releases signed when SIGN is
# true. AUTO, when given, is a line for test and uat ("auto: true");
# RELEASE_LINE one more line under release: (e.g. "allowed_signers: FILE").
role_policy() {
  local optional=()
  [ "$1" = true ] || optional=(-o)
  policy_yaml -g developers=alice -g release-managers=bob,carol -g operators=olga \
    -g publishers=paul -g hotfixers=hank -g admins=adam \
    -i GL_USERNAME,GITEA_PUSHER_NAME,GL_USER,REMOTE_USER "${optional[@]}" \
    -x "validation:" -x "  max_file_size: 1048576" -s "$2" -r "${4:-}" \
    dev "test:0:release-managers:${3:-}" "uat:0:release-managers:${3:-}" \
    staging:0:release-managers production:1:release-managers
}

# team_server POLICY_FILE USER...: the team's server: $WEB/repos/shop.git
# (sets SRV; WEB defaults to $TEST_ROOT/web), made by adam with the
# pipeline config POLICY_FILE and envflow's server hooks, served over smart
# HTTP (http_server_start) to USER..., each with the password USER-pw.
team_server() {
  local policy=$1 who
  shift
  WEB=${WEB:-$TEST_ROOT/web}
  mkdir -p "$WEB/repos" "$WEB/docroot"
  SRV="$WEB/repos/shop.git"
  ENVFLOW_ACTOR=adam "$ENVFLOW" init --bare --envs dev,test,production "$SRV" >/dev/null
  ENVFLOW_ACTOR=adam "$ENVFLOW" -C "$SRV" config edit --file "$policy" >/dev/null
  "$ENVFLOW" install-hooks --server "$SRV" >/dev/null
  : >"$WEB/users"
  for who in "$@"; do echo "$who:$who-pw" >>"$WEB/users"; done
  http_server_start "$WEB"
}

# url USER: the team server's URL with USER's credentials.
url() { echo "http://$1:$1-pw@127.0.0.1:$HTTP_PORT/git/shop.git"; }

# team_clones USER...: each USER's clone of the team's server, in
# $TEST_ROOT/USER, committing and acting as USER (USER@example.com), set up.
team_clones() {
  local who dir
  for who in "$@"; do
    dir="$TEST_ROOT/$who"
    git clone -q "$(url "$who")" "$dir"
    git -C "$dir" config user.email "$who@example.com"
    git -C "$dir" config user.name "$who"
    git -C "$dir" config envflow.actor "$who"
    (cd "$dir" && "$ENVFLOW" setup >/dev/null)
  done
}

# json_get EXPR: evaluate a Python expression over the JSON in $OUT (as `d`).
json_get() {
  python3 -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1" <<<"$OUT"
}

# server_refs: every ref of the server $SRV with its id, one per line.
server_refs() { git -C "$SRV" for-each-ref --format='%(refname) %(objectname)'; }

# --- A smart-HTTP git server: lighttpd on 127.0.0.1 running `git http-backend`
# as a CGI behind HTTP basic auth, so a server hook learns the pusher from
# REMOTE_USER exactly as in a real deployment.
# http_server_start WEB: serve the bare repositories in WEB/repos at
# http://USER:PASSWORD@127.0.0.1:$HTTP_PORT/git/NAME.git, for the users of
# WEB/users ("user:password" lines, lighttpd's plain format). Exits 125
# (skipped) when lighttpd or git-http-backend cannot be had: lighttpd is
# installed with apt-get when missing and running as root. The server is
# stopped when the suite exits.
http_server_start() {
  HTTP_WEB="$1"
  if ! command -v lighttpd >/dev/null 2>&1 && [ -x /usr/sbin/lighttpd ]; then
    PATH="$PATH:/usr/sbin"
  fi
  if ! command -v lighttpd >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
      echo "lighttpd missing: installing it with apt-get"
      { apt-get install -y -q lighttpd || { apt-get update -q && apt-get install -y -q lighttpd; }; } \
        >"$TEST_ROOT/apt.log" 2>&1 || true
      PATH="$PATH:/usr/sbin"
    fi
    if ! command -v lighttpd >/dev/null 2>&1; then
      echo "skipped: lighttpd is not installed and cannot be installed here (apt-get install lighttpd as root)"
      exit 125
    fi
  fi
  local backend
  backend="$(git --exec-path)/git-http-backend"
  if [ ! -x "$backend" ]; then
    echo "skipped: git-http-backend not found at $backend"
    exit 125
  fi
  mkdir -p "$HTTP_WEB/docroot"
  HTTP_PID=""
  trap http_server_stop EXIT
  local attempt
  for attempt in 1 2 3; do
    if http_server_try "$backend"; then
      export GIT_TERMINAL_PROMPT=0
      return 0
    fi
    http_server_kill
  done
  echo "skipped: lighttpd did not start: $(cat "$HTTP_WEB/lighttpd.out" "$HTTP_WEB/error.log" 2>/dev/null)"
  exit 125
}

# One try on a free port: the first of a few random ones nothing answers on.
http_server_try() {
  HTTP_PORT=$(free_port) || return 1
  cat >"$HTTP_WEB/lighttpd.conf" <<CONF
server.bind = "127.0.0.1"
server.port = $HTTP_PORT
server.document-root = "$HTTP_WEB/docroot"
server.errorlog = "$HTTP_WEB/error.log"
server.modules = ("mod_alias", "mod_setenv", "mod_auth", "mod_authn_file", "mod_cgi")
alias.url = ("/git/" => "$1/")
\$HTTP["url"] =~ "^/git/" {
  cgi.assign = ("" => "")
  setenv.add-environment = (
    "GIT_PROJECT_ROOT" => "$HTTP_WEB/repos",
    "GIT_HTTP_EXPORT_ALL" => "1",
    "HOME" => "$HOME",
    "GIT_CONFIG_GLOBAL" => "$GIT_CONFIG_GLOBAL",
    "GIT_CONFIG_NOSYSTEM" => "1",
    "PATH" => "$PATH"
  )
}
auth.backend = "plain"
auth.backend.plain.userfile = "$HTTP_WEB/users"
auth.require = ("/git/" => ("method" => "basic", "realm" => "envflow test", "require" => "valid-user"))
CONF
  lighttpd -D -f "$HTTP_WEB/lighttpd.conf" >"$HTTP_WEB/lighttpd.out" 2>&1 &
  HTTP_PID=$!
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$HTTP_PORT") 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$HTTP_PID" 2>/dev/null; then
      return 1
    fi
    sleep 0.1
  done
  return 1
}

http_server_kill() {
  if [ -n "${HTTP_PID:-}" ]; then
    kill "$HTTP_PID" 2>/dev/null || true
    wait "$HTTP_PID" 2>/dev/null || true
    HTTP_PID=""
  fi
}

http_server_stop() {
  http_server_kill
  cleanup_test_root
}
