# Helpers for the `envflow serve` suites (test_serve_*.sh), after lib.sh.

# The Python that has Debian's selenium (python3-selenium): the system one,
# whatever python3 comes first on PATH.
SYSTEM_PYTHON=/usr/bin/python3
[ -x "$SYSTEM_PYTHON" ] || SYSTEM_PYTHON=python3
SERVE_HTTP="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/serve_http.py"

SERVE_PIDS=()

# start_serve DIR [serve args...]: run `envflow -C DIR serve --listen
# 127.0.0.1:0 ARGS` in the background; sets SERVE_URL (ends in '/') and
# SERVE_PID once it listens. Fails when it exits first.
start_serve() {
  local dir=$1
  shift
  local out="$TEST_ROOT/serve.$RANDOM.out"
  "$ENVFLOW" -C "$dir" serve --listen 127.0.0.1:0 "$@" >"$out" 2>"$out.err" &
  SERVE_PID=$!
  SERVE_PIDS+=("$SERVE_PID")
  SERVE_LOG="$out.err"
  local i
  for i in $(seq 1 600); do
    SERVE_URL=$(grep -o 'http://[^ ]*' "$out" 2>/dev/null || true)
    [ -n "$SERVE_URL" ] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$out.err" >&2; return 1; }
    sleep 0.1
  done
  return 1
}

# stop_serve [PID]: SIGTERM the server (default: the last started) and wait
# for it; sets STOP_RC to its exit code.
stop_serve() {
  local pid=${1:-$SERVE_PID}
  kill -TERM "$pid" 2>/dev/null || true
  set +e
  wait "$pid" 2>/dev/null
  STOP_RC=$?
  set -e
}

stop_all_serves() {
  local pid
  for pid in "${SERVE_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

# http METHOD PATH [-H 'Name: value']... [-d BODY]: one request to SERVE_URL;
# CODE gets the status, BODY the response body.
http() {
  local method=$1 path=$2
  shift 2
  local reply
  reply=$("$SYSTEM_PYTHON" "$SERVE_HTTP" "$method" "${SERVE_URL%/}$path" "$@")
  CODE=$(head -n 1 <<<"$reply")
  BODY=$(tail -n +2 <<<"$reply")
}

# csrf_token: the token the page serves in <meta name="csrf-token">.
csrf_token() {
  http GET / "$@"
  sed -n 's/.*<meta name="csrf-token" content="\([0-9a-f]*\)".*/\1/p' <<<"$BODY"
}

expect_code() {
  if [ "$CODE" = "$1" ]; then pass; else fail "expected HTTP $1, got $CODE: $BODY"; fi
}

# expect_body_json PYTHON: a Python expression over `data` (the body) holds.
expect_body_json() {
  if python3 -c "import json,sys; data = json.load(sys.stdin); sys.exit(0 if ($1) else 1)" \
    <<<"$BODY" >/dev/null 2>&1; then pass; else
    fail "JSON check failed: $1"$'\n'"body: $BODY"
  fi
}

# same_json A B: two JSON documents are equal (key order aside).
same_json() {
  python3 -c 'import json,sys; sys.exit(0 if json.loads(sys.argv[1]) == json.loads(sys.argv[2]) else 1)' "$1" "$2"
}

# write_policy FILE: the policy both suites use. Four environments; people
# in different groups: adam (admin), alice (developer), bob (release manager,
# publisher), carol (QA: approves into uat), olga (operator: variables),
# dana (in no group: reads only).
write_policy() {
  policy_yaml -g admins=adam -g developers=alice -g release-managers=bob -g qa=carol -g operators=olga \
    -g publishers=bob -g hotfixers=bob \
    dev test:0:release-managers uat:1:qa production:0:release-managers >"$1"
}

# new_pipeline NAME: a repository with the policy above and one commit on
# dev waiting to go into test; prints its path.
new_pipeline() {
  local dir="$TEST_ROOT/$1"
  ENVFLOW_ACTOR=adam "$ENVFLOW" init --envs dev,test,uat,production "$dir" >/dev/null
  write_policy "$TEST_ROOT/policy.yaml"
  ENVFLOW_ACTOR=adam "$ENVFLOW" -C "$dir" config edit --file "$TEST_ROOT/policy.yaml" >/dev/null
  git -C "$dir" switch -q dev
  sed -i 's/^tone: .*/tone: formal/' "$dir/agents/support.yaml"
  git -C "$dir" commit -qam "Support agent: formal tone"
  echo "$dir"
}
