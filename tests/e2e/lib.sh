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
cleanup_test_root() { [ -n "${KEEP_TEST_ROOT:-}" ] || rm -rf "$TEST_ROOT"; }
trap cleanup_test_root EXIT

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
test_case() { CURRENT="$1"; }

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
  OUT=$(cat "$out_file")
  ERR=$(cat "$err_file")
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

# ref_of REPO REF: the id REF points at, or "none".
ref_of() { git -C "$1" rev-parse -q --verify "$2^{}" 2>/dev/null || echo none; }

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
# block and set_auto(t, NAME) marks it `auto: true`.
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
env = {"t": t, "env_block": env_block, "set_auto": set_auto}
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

# finish: print the closing line CTest logs and exit non-zero on failure.
finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
