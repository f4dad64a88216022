#!/usr/bin/env bash
# The web UI (http/ui): its unit tests (Vitest), the committed OpenAPI copy against the server's,
# and the browser tests (test/ui/browser.mjs: Playwright on Debian's chromium) against the real
# stack: this database (the test runner's, with the extension and the sample bars) and a
# quant-http serving the UI built here. Builds the UI first (npm ci when node_modules is
# missing). Screenshots: $QUANT_TEST_LOG_DIR/ui (build/test-logs/ui). Last line "N passed, N failed".
set -uo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
UI="$REPO/http/ui"
BIN="${QUANT_HTTP_BIN:-$REPO/build/http/quant-http}"
WORKER="${QUANT_WORKER_BIN:-$REPO/build/worker/quant-worker}"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
SHOTS="${QUANT_TEST_LOG_DIR:-$REPO/build/test-logs}/ui"
PSQL=(psql -X -q -At -v ON_ERROR_STOP=1)
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit $?; }

for need in node npm "$CHROMIUM" "$BIN" "$WORKER"; do
    command -v "$need" >/dev/null 2>&1 || { bad "missing $need (make deps; make build)"; finish; }
done
mkdir -p "$SHOTS"

# ---- build ----
if [ ! -d "$UI/node_modules" ] || [ "$UI/package-lock.json" -nt "$UI/node_modules/.package-lock.json" ]; then
    (cd "$UI" && npm ci --no-audit --no-fund) >"$SHOTS/npm-ci.log" 2>&1 || { bad "npm ci (see $SHOTS/npm-ci.log)"; finish; }
fi
if (cd "$UI" && npm run build) >"$SHOTS/build.log" 2>&1; then
    ok "the UI builds (typecheck + vite build)"
else
    bad "the UI build failed:"; tail -n 20 "$SHOTS/build.log"; finish
fi

# ---- unit tests ----
out="$(cd "$UI" && npx vitest run 2>&1)"
echo "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -E '✓|✗|×|FAIL|Tests' | sed 's/^/  vitest: /'
vt="$(echo "$out" | sed 's/\x1b\[[0-9;]*m//g' | grep -E '^ +Tests ' | tail -n 1)"
vp="$(echo "$vt" | grep -oE '[0-9]+ passed' | grep -oE '[0-9]+' || echo 0)"
vf="$(echo "$vt" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 0)"
[ -n "$vt" ] || vf=1
passed=$((passed + vp)) failed=$((failed + vf))

# ---- the stack: people, a strategy, a deployment ----
sfx="$$"
ALICE="ui_alice_$sfx" BOB="ui_bob_$sfx" CAROL="ui_carol_$sfx" ADMIN="ui_admin_$sfx" ADMIN_PW="admin-secret-4"
ALICE_PW="alice-secret-1" BOB_PW="bob-secret-22" CAROL_PW="carol-secret-3" ALICE_TRADE_PW="alice-trade-pw-9"
# the make-run sample (quant.install_sample_deployment): RSI reversion on TTRC, LONG on the last bar
RSI_CONFIG='{"name":"ui rsi reversion","ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}'
CONFIG='{"name":"ui sample","ticker":"TTRC","conjunction":"AND","trading_period":252,"substrategies":[{"id":1,"indicator":"get_bollinger_band","signal_func":"momentum_band_signal","window":20,"signal":1.0,"data_column":"v"}]}'
"${PSQL[@]}" -c 'SET client_min_messages = warning' -c 'CREATE EXTENSION IF NOT EXISTS quant' >/dev/null
if [ "$("${PSQL[@]}" -c "SELECT count(*) FROM md.bar WHERE ticker = 'TTRC'")" = 0 ]; then
    "${PSQL[@]}" -c "SELECT quant.load_bars_csv('TTRC', '${QUANT_DATA_DIR:-$REPO/data}/ttrc_daily_ohlcv.csv')" >/dev/null
fi
setup="$("${PSQL[@]}" 2>&1 <<SQL
SELECT quant.set_person_password('$ALICE', '$ALICE_PW');
SELECT quant.set_person_password('$BOB', '$BOB_PW');
SELECT quant.set_person_password('$CAROL', '$CAROL_PW');
SELECT quant.set_person_password('$ADMIN', '$ADMIN_PW');
SELECT quant.set_person_admin('$ADMIN', true);
SELECT quant.set_user('$BOB');
SELECT quant.create_strategy('{"name":"bob own","ticker":"TTRC","trading_period":252,"substrategies":[{"indicator":"get_rsi","signal_func":"momentum_bounded_signal","window":14,"signal":70}]}');
SELECT quant.set_user('$ALICE');
SELECT 'S=' || (quant.create_strategy('$CONFIG'::jsonb)->>'strategy_id');
SELECT 'D=' || (quant.deploy(jsonb_build_object('strategy_id', (SELECT strategy_id FROM bt.strategy WHERE user_id = '$ALICE' LIMIT 1), 'qty', 10, 'broker', 'PAPER'))->>'deployment_id');
SELECT 'R=' || (quant.run_deployment((SELECT deployment_id FROM trade.deployment WHERE user_id = '$ALICE' LIMIT 1))->>'outcome');
SELECT 'K=' || quant.create_api_key('$ALICE', 'ui test');
-- a long trade log for the detail page (virtualised): 3,000 rejections of the first deployment
INSERT INTO trade.log (deployment_id, user_id, ts, action, success, message, reason, bar_ts)
SELECT d.deployment_id, d.user_id, now() - i * interval '1 minute', 'REJECTED', false, 'ui test: rejection ' || i,
       'stale_bars', timestamptz '2006-12-29 00:00+00'
FROM (SELECT deployment_id, user_id FROM trade.deployment WHERE user_id = '$ALICE' LIMIT 1) d, generate_series(1, 3000) i;
SELECT 'T=' || (quant.create_strategy('$RSI_CONFIG'::jsonb)->>'strategy_id');
SELECT quant.set_trade_password('$ALICE_TRADE_PW');
-- the live FUTU deploy below needs alice's Futu trade password in the credential store (issue 14)
COPY (SELECT repeat('5b', 32)) TO '/tmp/quant_ui_credential_$sfx.key';
SET quant.credential_key_file = '/tmp/quant_ui_credential_$sfx.key';
SELECT quant.set_broker_credential('FUTU', 'real', 'default', 'ui-futu-trade-pw') IS NOT NULL;
SQL
)" || { bad "setting up people, a strategy and a deployment: $setup"; finish; }
STRATEGY="$(echo "$setup" | sed -n 's/^S=//p')" DEPLOYMENT="$(echo "$setup" | sed -n 's/^D=//p')" KEY="$(echo "$setup" | sed -n 's/^K=//p')" RSI="$(echo "$setup" | sed -n 's/^T=//p')"
[ -n "$STRATEGY" ] && [ -n "$DEPLOYMENT" ] && [ -n "$KEY" ] && [ -n "$RSI" ] && ok "setup: 3 people, alice's strategy and paper deployment" ||
    { bad "setup: $setup"; finish; }

# ---- quant-http on a free port, serving the build ----
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
QUANT_HTTP_ADDR="127.0.0.1:$port" QUANT_HTTP_METRICS_ADDR=off QUANT_HTTP_UI_DIR="$UI/dist" \
    QUANT_HTTP_AUTH_FAILURES_PER_MIN=100 "$BIN" >"$SHOTS/quant-http.log" 2>&1 &
srv=$!
# quant-worker turns the signals into paper trades (its own id; the paper broker; no Bybit host)
QUANT_WORKER_ID="ui-test-$$" QUANT_WORKER_POLL_MS=300 QUANT_BYBIT_BASE_URL=off "$WORKER" >"$SHOTS/quant-worker.log" 2>&1 &
wrk=$!
trap 'kill "$srv" "$wrk" 2>/dev/null; wait "$srv" "$wrk" 2>/dev/null' EXIT
BASE="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -fsS "$BASE/healthz" >/dev/null 2>&1 && break; sleep 0.1; done

# the committed OpenAPI copy (the source of the generated types) is the server's document
if curl -fsS "$BASE/api/v1/openapi.json" | python3 -c '
import json, sys
served = json.load(sys.stdin)
committed = json.load(open(sys.argv[1]))
sys.exit(0 if served == committed else 1)' "$UI/openapi.json"; then
    ok "http/ui/openapi.json is the server's /api/v1/openapi.json (the typed client is current)"
else
    bad "http/ui/openapi.json differs from the server's document: run http/ui/scripts/openapi.sh"
fi

# static serving: SPA fallback, cache headers, gzip
h="$(curl -sS -D - -o /dev/null -H 'Accept-Encoding: gzip' "$BASE/deployments")"
echo "$h" | grep -qi '^cache-control: no-cache' && echo "$h" | grep -qi '^content-type: text/html' &&
    ok "a page path gets index.html, no-cache" || bad "SPA fallback: $h"
asset="$(cd "$UI/dist" && ls assets/*.js | head -n 1)"
h="$(curl -sS -D - -o /dev/null -H 'Accept-Encoding: gzip' "$BASE/$asset")"
echo "$h" | grep -qi '^cache-control: public, max-age=31536000, immutable' && echo "$h" | grep -qi '^content-encoding: gzip' &&
    ok "a hashed asset: immutable, gzip" || bad "asset headers: $h"
code="$(curl -sS -o /dev/null -w '%{http_code}' "$BASE/assets/nope.js")"
[ "$code" = 404 ] && ok "a missing asset is 404" || bad "missing asset: $code"
code="$(curl -sS -o /dev/null -w '%{http_code}' --path-as-is "$BASE/../../etc/passwd")"
[ "$code" = 404 ] || [ "$code" = 400 ] && ok "no path outside the UI directory ($code)" || bad "path traversal: $code"

# ---- the browser ----
out="$(mktemp)"
BASE_URL="$BASE" UI_SHOTS="$SHOTS" CHROMIUM="$CHROMIUM" UI_ALICE="$ALICE" UI_ALICE_PW="$ALICE_PW" UI_BOB="$BOB" \
    UI_BOB_PW="$BOB_PW" UI_CAROL="$CAROL" UI_CAROL_PW="$CAROL_PW" UI_ADMIN="$ADMIN" UI_ADMIN_PW="$ADMIN_PW" ALICE_STRATEGY="$STRATEGY" ALICE_CONFIG="$CONFIG" \
    ALICE_DEPLOYMENT="$DEPLOYMENT" ALICE_KEY="$KEY" ALICE_RSI="$RSI" ALICE_RSI_CONFIG="$RSI_CONFIG" ALICE_TRADE_PW="$ALICE_TRADE_PW" timeout 400 node "$REPO/test/ui/browser.mjs" 2>&1 | tee "$out"
line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)"
rm -f "$out"
if [ -z "$line" ]; then
    bad "browser tests: no summary line"
else
    p=${line%% passed*} f=${line#*passed, } f=${f%% failed*}
    passed=$((passed + p)) failed=$((failed + f))
fi
# ---- performance figures (never asserted; bench/README.md records them) ----
out="$(mktemp)"
BASE_URL="$BASE" UI_SHOTS="$SHOTS" CHROMIUM="$CHROMIUM" UI_ALICE="$ALICE" UI_ALICE_PW="$ALICE_PW" ALICE_RSI="$RSI" \
    timeout 300 node "$REPO/test/ui/perf.mjs" 2>&1 | tee "$out"
line="$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)"
rm -f "$out"
if [ -z "$line" ]; then
    bad "perf: no summary line"
else
    p=${line%% passed*} f=${line#*passed, } f=${f%% failed*}
    passed=$((passed + p)) failed=$((failed + f))
fi
# the initial load: index.html and what it loads itself (scripts, styles, modulepreloads), gzip
initial="$(python3 - "$UI/dist" <<'PY'
import os, re, sys
d = sys.argv[1]
html = open(os.path.join(d, "index.html")).read()
files = ["index.html"] + sorted(set(re.findall(r'(?:src|href)="/?(assets/[^"]+)"', html)))
size = lambda f: os.path.getsize(os.path.join(d, f + ".gz")) if os.path.exists(os.path.join(d, f + ".gz")) else os.path.getsize(os.path.join(d, f))
total = sum(size(f) for f in files)
lazy = sum(size(os.path.join("assets", f)) for f in os.listdir(os.path.join(d, "assets")) if not f.endswith(".gz") and "assets/" + f not in files)
print(total, lazy, len(files))
PY
)"
read -r init_b lazy_b init_n <<<"$initial"
echo "# figure: bundle: initial load ${init_b} bytes gzip ($init_n files), lazily loaded chunks ${lazy_b} bytes gzip"
[ "${init_b:-999999999}" -le 307200 ] && ok "bundle: the initial load is at most 300 KB gzip ($init_b bytes)" ||
    bad "bundle: the initial load is over 300 KB gzip ($init_b bytes)"
echo "screenshots: $SHOTS"
finish
