#!/usr/bin/env bash
# `make install` (cmake --install) with a prefix: envflow and git-envflow land
# in PREFIX/bin, and an installed (or moved) binary works on its own:
# schemas, templates and hooks are built in.
. "$(dirname "$0")/lib.sh"
BUILD_DIR=$(dirname "$ENVFLOW")
[ -f "$BUILD_DIR/cmake_install.cmake" ] || { echo "not a CMake build dir: $BUILD_DIR"; exit 125; }

test_case "install with a prefix"
run cmake --install "$BUILD_DIR" --prefix "$TEST_ROOT/prefix"
expect_rc 0
[ -x "$TEST_ROOT/prefix/bin/envflow" ] && pass || fail "no PREFIX/bin/envflow"
[ -L "$TEST_ROOT/prefix/bin/git-envflow" ] && pass || fail "no PREFIX/bin/git-envflow"
[ -f "$TEST_ROOT/prefix/share/envflow/schemas/agent.schema.json" ] && pass || fail "schemas not installed"

test_case "a moved binary works, and git envflow finds it on PATH"
mkdir -p "$TEST_ROOT/elsewhere"
cp "$TEST_ROOT/prefix/bin/envflow" "$TEST_ROOT/elsewhere/envflow"
run "$TEST_ROOT/elsewhere/envflow" init "$TEST_ROOT/ws"
expect_rc 0
cd "$TEST_ROOT/ws"
run env PATH="$TEST_ROOT/prefix/bin:/usr/bin:/bin" git envflow validate
expect_rc 0
expect_out "files valid"
test_case "hooks installed from a path with quotes and \$( ) run that binary, inertly"
ODD="$TEST_ROOT/it's \$(touch $TEST_ROOT/pwned) \"x\""
mkdir -p "$ODD"
cp "$TEST_ROOT/prefix/bin/envflow" "$ODD/envflow"
run "$ODD/envflow" init "$TEST_ROOT/odd-ws"
expect_rc 0
cd "$TEST_ROOT/odd-ws"
echo "kind: Agent" >agents/broken.yaml
git add agents/broken.yaml
# PATH without envflow: only the quoted path in the hook can find it.
run env PATH=/usr/bin:/bin git commit -q -m "broken agent"
expect_rc 1
expect_err "agents/broken.yaml"
[ ! -e "$TEST_ROOT/pwned" ] && pass || fail "the install path ran as shell code"
finish
