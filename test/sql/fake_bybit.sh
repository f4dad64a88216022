#!/usr/bin/env bash
# fake-bybit (test/fakes/bybit): its own behaviour (test_fake_bybit.py) and the conformance of a
# client nobody here wrote, ccxt (test/fakes/bybit/ccxt/conformance.js), against it. Needs no
# database. ccxt is installed with `npm ci` from the committed lockfile into
# test/fakes/bybit/ccxt/node_modules (git-ignored) when it is missing.
# Last line: "N passed, N failed" (", 1 skipped" when ccxt cannot be installed, e.g. offline).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
fake_dir="$repo/test/fakes/bybit"
ccxt_dir="$fake_dir/ccxt"
work="$(mktemp -d)"
fake_pid=""
cleanup() {
    if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null; wait "$fake_pid" 2>/dev/null; fi
    rm -rf "$work"
}
trap cleanup EXIT

passed=0 failed=0 skipped=0
# add_counts LOG NAME: add the "N passed, N failed" last line of LOG (a missing line is a failure).
add_counts() {
    local line p f
    line="$(grep -v '^[[:space:]]*$' "$1" | tail -n 1)"
    p="$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed.*/\1/p' <<<"$line")"
    f="$(sed -nE 's/^([0-9]+) passed, ([0-9]+) failed.*/\2/p' <<<"$line")"
    if [ -z "$p" ]; then
        echo "$2: no 'N passed, N failed' line"
        failed=$((failed + 1))
        return
    fi
    if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "$2: exit status $3"; fi
    passed=$((passed + p))
    failed=$((failed + f))
}

echo "== fake-bybit: its own behaviour (test_fake_bybit.py)"
rc=0
python3 "$fake_dir/test_fake_bybit.py" 2>&1 | tee "$work/own.log"
rc="${PIPESTATUS[0]}"
add_counts "$work/own.log" test_fake_bybit.py "$rc"

echo "== fake-bybit: ccxt conformance (ccxt/conformance.js)"
ccxt_ready=1
if ! command -v node >/dev/null; then
    echo "SKIP ccxt conformance: no node (install nodejs, see scripts/install-deps.sh)"
    ccxt_ready=0
elif [ ! -f "$ccxt_dir/node_modules/ccxt/package.json" ] ||
    [ "$(node -p "require('$ccxt_dir/node_modules/ccxt/package.json').version" 2>/dev/null)" != \
      "$(node -p "require('$ccxt_dir/package.json').dependencies.ccxt")" ]; then
    echo "installing ccxt: npm ci in $ccxt_dir (from the committed package-lock.json)"
    if ! command -v npm >/dev/null; then
        echo "SKIP ccxt conformance: no npm to install ccxt"
        ccxt_ready=0
    elif ! (cd "$ccxt_dir" && timeout 600 npm ci --ignore-scripts --no-audit --no-fund) >"$work/npm.log" 2>&1; then
        tail -n 15 "$work/npm.log"
        echo "SKIP ccxt conformance: npm ci failed (no network to the npm registry?); run it by hand: (cd $ccxt_dir && npm ci --ignore-scripts)"
        ccxt_ready=0
    fi
fi
if [ "$ccxt_ready" -eq 1 ]; then
    python3 "$fake_dir/fake_bybit.py" --listen 127.0.0.1:0 --key ccxt-key --secret ccxt-secret \
        --balance USDT=100000 --price BTCUSDT=50000 --price ETHUSDT=3000 \
        --port-file "$work/port" --log "$work/requests.log" >"$work/fake.out" 2>&1 &
    fake_pid=$!
    for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.1; done
    if [ ! -s "$work/port" ]; then
        echo "fake-bybit did not start:"; cat "$work/fake.out"
        failed=$((failed + 1))
    else
        rc=0
        (cd "$ccxt_dir" && FAKE_BYBIT_URL="http://127.0.0.1:$(cat "$work/port")" FAKE_BYBIT_KEY=ccxt-key \
            FAKE_BYBIT_SECRET=ccxt-secret timeout 300 node conformance.js) 2>&1 | tee "$work/ccxt.log"
        rc="${PIPESTATUS[0]}"
        add_counts "$work/ccxt.log" conformance.js "$rc"
        echo "-- the fake's request log (method path status retCode):"
        awk '{print $2, $3, $4, $5}' "$work/requests.log" | sort | uniq -c
    fi
else
    skipped=1
fi

if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
