#!/usr/bin/env bash
# Build the web UI (http/ui) into http/ui/dist, which quant-http serves at / (QUANT_HTTP_UI_DIR
# overrides the directory). npm ci first when node_modules is missing or older than the lockfile
# (the npm registry is reachable on a fresh machine; versions are pinned in package-lock.json).
set -euo pipefail
ui="$(cd "$(dirname "${BASH_SOURCE[0]}")/../http/ui" && pwd)"
command -v npm >/dev/null || { echo "[ui] npm is not installed: the web UI is not built" >&2; exit 1; }
cd "$ui"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    npm ci --no-audit --no-fund
fi
npm run build --silent
echo "[ui] built $ui/dist ($(du -sh dist | cut -f1))"
