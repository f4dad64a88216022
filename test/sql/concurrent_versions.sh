#!/usr/bin/env bash
# Two (and then eight) sessions update one strategy at the same time: the row lock in
# quant.update_strategy must give versions n+1 and n+2, never two n+1. Then the validator's
# warnings as NOTICEs of create_strategy / update_strategy (which pgTAP cannot see).
# Needs PG* pointing at a database with quant installed. Last line: "N passed, N failed".
set -uo pipefail
USER_NAME="conc_$(date +%s)_$RANDOM"
PSQL=(psql -X -q -t -A -v ON_ERROR_STOP=1)
pass=0
fail=0
check() { # check DESCRIPTION EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "not ok - $1: expected '$2', got '$3'"; fi
}
cfg() { # cfg WINDOW
    echo "{\"ticker\":\"MSFT\",\"trading_period\":252,\"substrategies\":[{\"indicator\":\"get_rsi\",\"signal_func\":\"reversion_bounded_signal\",\"window\":$1,\"signal\":30}]}"
}

sid="$("${PSQL[@]}" -c "SELECT quant.set_user('$USER_NAME')" -c "SELECT quant.create_strategy('$(cfg 14)')->>'strategy_id'" | tail -n 1)"
if [ -z "$sid" ]; then echo "could not create the strategy"; echo "0 passed, 1 failed"; exit 1; fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Session A takes the lock and holds it; session B starts while A is still open.
PGAPPNAME=cv_session_a "${PSQL[@]}" >"$tmp/a" 2>&1 <<SQL &
SELECT quant.set_user('$USER_NAME') \\gset
BEGIN;
SELECT quant.update_strategy('$sid', '$(cfg 15)')->>'version';
SELECT pg_sleep(3);
COMMIT;
SQL
pid_a=$!
# B starts once A holds the lock (A is in its pg_sleep), however slow the machine is
for _ in $(seq 100); do
    [ "$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cv_session_a' AND query LIKE 'SELECT pg_sleep%'")" = 1 ] && break
    sleep 0.1
done
"${PSQL[@]}" >"$tmp/b" 2>&1 <<SQL &
SELECT quant.set_user('$USER_NAME') \\gset
SELECT quant.update_strategy('$sid', '$(cfg 16)')->>'version';
SQL
pid_b=$!
wait $pid_a; rc_a=$?
wait $pid_b; rc_b=$?
check "session A succeeded" 0 "$rc_a"
check "session B succeeded" 0 "$rc_b"
check "session A made version 2" 2 "$(grep -E '^[0-9]+$' "$tmp/a" | head -n 1)"
check "session B waited and made version 3" 3 "$(grep -E '^[0-9]+$' "$tmp/b" | head -n 1)"

# Eight at once, each with new parameters: versions 4..11, each exactly once.
for w in 20 21 22 23 24 25 26 27; do
    "${PSQL[@]}" -c "SELECT quant.set_user('$USER_NAME')" -c "SELECT quant.update_strategy('$sid', '$(cfg $w)')->>'version'" \
        >"$tmp/w$w" 2>&1 &
done
wait
versions="$(cat "$tmp"/w* | grep -E '^[0-9]+$' | grep -v "^$USER_NAME$" | sort -n | tr '\n' ' ')"
check "eight concurrent updates made versions 4 to 11 once each" "4 5 6 7 8 9 10 11 " "$versions"
stored="$("${PSQL[@]}" -c "SELECT quant.set_user('$USER_NAME')" \
    -c "SELECT count(*) || '/' || count(DISTINCT (v->>'version')) || '/' || max((v->>'version')::int) FROM quant.strategy_versions('$sid') v" | tail -n 1)"
check "stored versions: 11 rows, 11 distinct, max 11" "11/11/11" "$stored"
current="$("${PSQL[@]}" -c "SELECT quant.set_user('$USER_NAME')" -c "SELECT quant.get_strategy('$sid')->>'version'" | tail -n 1)"
check "current version is 11" 11 "$current"

# The validator's warnings reach the caller as NOTICEs naming the function, once per call.
warn_cfg='{"ticker":"MSFT","trading_period":252,"substrategies":[{"indicator":"get_sma","signal_func":"momentum_band_signal","window":14,"signal":0}]}'
warn_re='NOTICE:  quant.%s: substrategies\[0\]: get_sma is a price level'
notices() { # notices SQL...: the stderr of the statements, as the user
    psql -X -q -t -A -c "SELECT quant.set_user('$USER_NAME')" "$@" 2>&1 >/dev/null
}
out="$(notices -c "SELECT quant.create_strategy('$warn_cfg') IS NOT NULL")"
check "create_strategy: the warning is one NOTICE naming it" 1 "$(grep -c "$(printf "$warn_re" create_strategy)" <<<"$out")"
wid="$("${PSQL[@]}" -c "SELECT quant.set_user('$USER_NAME')" -c "SELECT quant.create_strategy('$warn_cfg')->>'strategy_id'" 2>/dev/null | tail -n 1)"
out="$(notices -c "SELECT quant.update_strategy('$wid', '$warn_cfg') IS NOT NULL")"
check "update_strategy: the warning is one NOTICE naming it" 1 "$(grep -c "$(printf "$warn_re" update_strategy)" <<<"$out")"
out="$(notices -c "SELECT quant.create_strategy(jsonb_set('$warn_cfg', '{strategy_id}', to_jsonb('$wid'::text))) IS NOT NULL")"
check "create_strategy of an own strategy_id (an update): still one NOTICE" 1 "$(grep -c 'NOTICE:  quant\.[a-z_]*: substrategies\[0\]' <<<"$out")"
# the backend parses a config once (its cache of parsed Strategy JSON, extension/src/args.c): the
# warning is still raised by every call
out="$(notices -c "SELECT quant.backtest('$warn_cfg') IS NOT NULL" -c "SELECT quant.backtest('$warn_cfg') IS NOT NULL" \
    -c "SELECT count(quant.backtest('$warn_cfg')) FROM generate_series(1, 3)")"
check "backtest of one config 5 times in a session (parsed once): 5 NOTICEs" 5 "$(grep -c "$(printf "$warn_re" backtest)" <<<"$out")"
out="$(notices -c "SELECT quant.create_strategy('$(cfg 30)') IS NOT NULL")"
check "a config without warnings raises no NOTICE" 0 "$(grep -c NOTICE <<<"$out")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
