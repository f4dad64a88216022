#!/usr/bin/env bash
# Authentication's replay tests that need several connections: see test/security/auth_lock.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/../security/auth_lock.sh" "$@"
