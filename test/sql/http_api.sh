#!/usr/bin/env bash
# The REST layer's suite (test/http/run.sh) in the test runner's database.
exec bash "$(dirname "${BASH_SOURCE[0]}")/../http/run.sh"
