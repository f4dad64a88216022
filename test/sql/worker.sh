#!/usr/bin/env bash
# quant-worker's acceptance tests: see test/worker/run.sh (run in the test cluster, PG* set).
exec "$(dirname "${BASH_SOURCE[0]}")/../worker/run.sh" "$@"
