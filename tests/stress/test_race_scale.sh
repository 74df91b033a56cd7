#!/usr/bin/env bash
# Stress: a short run of tests/stress/race_at_scale.sh (issue 8, racing
# at scale) for ctest: 10 rounds of concurrent sync, publish, var set, approve
# and backport apply on one repository, 5 rounds of concurrent pushes and
# `--push` promotions into one server repository, every invariant checked
# after each round. The full run (200 rounds) is in docs/reliability.md.
export ROUNDS=${RACE_SCALE_ROUNDS:-10}
export SERVER_ROUNDS=${RACE_SCALE_SERVER_ROUNDS:-5}
export CHECK_EVERY=5 HOTFIX_EVERY=4
exec bash "$(dirname "$0")/race_at_scale.sh"
