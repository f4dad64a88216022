#!/usr/bin/env bash
# make test's part of issue 17 part 5 (packaging): builds the Debian packages
# (scripts/build-deb.sh, the web UI first if it is not built) and runs test/deb/run.sh: a fresh
# Debian 12 root (debootstrap, cached under build/deb-root/), apt-get install of the packages,
# PostgreSQL with CREATE EXTENSION quant, quant-http/-worker/-feed run as their units say, a
# paper trade through REST, systemd-analyze verify. About 2 minutes with the cached root and
# package downloads (the first run on a machine also debootstraps: about 2 minutes more).
# Needs root (chroot, mounts). Last line "N passed, N failed".
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOG_DIR="${QUANT_TEST_LOG_DIR:-$REPO/build/test-logs}/deb"
mkdir -p "$LOG_DIR"
fail() { echo "FAIL - $*"; echo "deb: 0 passed, 1 failed"; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "the package test needs root (chroot, mounts)"
if [ ! -f "$REPO/http/ui/dist/index.html" ]; then
    "$REPO/scripts/build-ui.sh" >"$LOG_DIR/build-ui.log" 2>&1 || fail "scripts/build-ui.sh ($LOG_DIR/build-ui.log)"
fi
"$REPO/scripts/build-deb.sh" >"$LOG_DIR/build-deb.log" 2>&1 || { tail -n 5 "$LOG_DIR/build-deb.log"; fail "scripts/build-deb.sh ($LOG_DIR/build-deb.log)"; }
exec bash "$REPO/test/deb/run.sh"
