#!/usr/bin/env bash
# Refresh http/ui/openapi.json (the source of src/api/schema.d.ts) from a quant-http binary:
# starts it on a free port (no database needed for this document), fetches /api/v1/openapi.json.
# test/sql/ui.sh fails when the committed copy differs from the server's.
set -euo pipefail
ui="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${QUANT_HTTP_BIN:-$ui/../../build/http/quant-http}"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
DB_URL="${DB_URL:-postgresql:///nonexistent?connect_timeout=1}" QUANT_HTTP_ADDR="127.0.0.1:$port" \
    QUANT_HTTP_METRICS_ADDR=off QUANT_HTTP_ACCESS_LOG=0 "$bin" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS "http://127.0.0.1:$port/api/v1/openapi.json" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin), indent=2, sort_keys=True))' >"$ui/openapi.json"
echo "wrote $ui/openapi.json"
