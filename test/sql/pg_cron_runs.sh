#!/usr/bin/env bash
# The live loop's trigger for real (issue 4): a pg_cron job runs quant.run_schedule in this
# cluster and a signal row appears; and the signal's NOTIFY (channel quant_signal, payload the
# signal id) reaches another session once the writing transaction commits.
# Needs PG* pointing at a database with quant and pg_cron (cron.database_name = this database,
# cron.use_background_workers = on, as scripts/test.sh's cluster has). pg_cron 1.4 schedules by
# the minute: the job '* * * * *' runs within ~60 s; we poll for up to 130 s.
# Last line: "N passed, N failed".
set -uo pipefail
USER_NAME="cron_$(date +%s)_$RANDOM"
JOB_NAME="quant_test_$USER_NAME"
PSQL=(psql -X -q -t -A -v ON_ERROR_STOP=1)
pass=0
fail=0
check() { # check DESCRIPTION EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then pass=$((pass + 1)); echo "ok - $1"; else fail=$((fail + 1)); echo "not ok - $1: expected '$2', got '$3'"; fi
}
q() { "${PSQL[@]}" -c "SELECT quant.set_user('$USER_NAME')" -c "$1" | tail -n 1; }

if [ "$("${PSQL[@]}" -c "SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'")" != 1 ]; then
    if [ -n "${QUANT_TEST_ON_DB_URL:-}" ]; then
        echo "pg_cron is not installed in this database (DB_URL's server): skipped"
        echo "0 passed, 0 failed, 1 skipped"
        exit 0
    fi
    echo "pg_cron is not installed in database $PGDATABASE"
    echo "0 passed, 1 failed"
    exit 1
fi

# the hourly schedule runs strategies on 1h bars: CRONH, the sample TTRC bars stored as 1h bars
"${PSQL[@]}" -c "INSERT INTO md.bar (ticker, interval, ts, open, high, low, close, volume)
  SELECT 'CRONH', '1h', ts, open, high, low, close, volume FROM md.bar WHERE ticker = 'TTRC' AND interval = '1d'
  ON CONFLICT DO NOTHING" >/dev/null
q "SELECT quant.set_ticker_mapping('CRONH', 'PAPER', 'CRONH', 'CRYPTO')" >/dev/null
cfg='{"ticker":"CRONH","interval":"1h","trading_period":1638,"substrategies":[{"indicator":"get_rsi","signal_func":"reversion_bounded_signal","window":14,"signal":30}]}'
sid="$(q "SELECT quant.create_strategy('$cfg')->>'strategy_id'")"
# paper, the sample data is from 2006: the stale-bar check off
hourly="$(q "SELECT quant.deploy(jsonb_build_object('strategy_id', '$sid', 'qty', 10, 'schedule', 'hourly',
             'risk_limits', '{\"max_bar_age_hours\": null}'::jsonb))->>'deployment_id'")"
manual="$(q "SELECT quant.deploy(jsonb_build_object('strategy_id', '$sid', 'qty', 10, 'schedule', 'manual',
             'risk_limits', '{\"max_bar_age_hours\": null}'::jsonb))->>'deployment_id'")"
if [ -z "$hourly" ] || [ -z "$manual" ]; then echo "could not deploy"; echo "0 passed, 1 failed"; exit 1; fi

tmp="$(mktemp -d)"
cleanup() {
    "${PSQL[@]}" -c "SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = '$JOB_NAME'" >/dev/null 2>&1 || true
    "${PSQL[@]}" -c "SELECT quant.set_user('$USER_NAME')" \
        -c "SELECT quant.stop_deployment(deployment_id) FROM trade.deployment WHERE user_id = '$USER_NAME'" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

# listening: wait until the listener (application_name cron_listener) has LISTENed and sleeps
listening() {
    for _ in $(seq 100); do
        [ "$("${PSQL[@]}" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cron_listener' AND query LIKE 'SELECT pg_sleep%'")" = 1 ] && return
        sleep 0.05
    done
}

# ---- NOTIFY: a listening session gets the signal id after the writer commits ----
PGAPPNAME=cron_listener psql -X -q -t -A -c "LISTEN quant_signal" -c "SELECT pg_sleep(3)" >"$tmp/listener" 2>&1 &
listener=$!
listening
signal_id="$(q "SELECT quant.run_deployment('$manual')->>'signal_id'")"
wait $listener
check "run_deployment wrote a signal" 1 "$(q "SELECT count(*) FROM trade.signal WHERE signal_id = '${signal_id:-00000000-0000-0000-0000-000000000000}'")"
check "another session LISTENing on quant_signal got the signal id" 1 \
    "$(grep -c "notification \"quant_signal\" with payload \"$signal_id\"" "$tmp/listener")"
# the duplicate guard: no second row, no second notification
PGAPPNAME=cron_listener psql -X -q -t -A -c "LISTEN quant_signal" -c "SELECT pg_sleep(2)" >"$tmp/listener2" 2>&1 &
listener=$!
listening
check "the same bar again: DUPLICATE" DUPLICATE "$(q "SELECT quant.run_deployment('$manual')->>'outcome'")"
wait $listener
check "no notification for a duplicate" 0 "$(grep -c 'notification "quant_signal"' "$tmp/listener2")"

# ---- pg_cron runs quant.run_schedule('hourly') ----
jobid="$("${PSQL[@]}" -c "SELECT cron.schedule('$JOB_NAME', '* * * * *', 'SELECT quant.run_schedule(''hourly'')')")"
check "cron.schedule made a job" 1 "$("${PSQL[@]}" -c "SELECT count(*) FROM cron.job WHERE jobid = '${jobid:-0}' AND jobname = '$JOB_NAME'")"
echo "# waiting for pg_cron (minute granularity, up to 130 s) ..."
status="" n=0
for _ in $(seq 1 65); do
    status="$("${PSQL[@]}" -c "SELECT status FROM cron.job_run_details WHERE jobid = '${jobid:-0}' AND status IN ('succeeded', 'failed') ORDER BY runid LIMIT 1")"
    n="$(q "SELECT count(*) FROM trade.signal WHERE deployment_id = '$hourly'")"
    if [ -n "$status" ] && [ "$n" != 0 ]; then break; fi
    sleep 2
done
check "the pg_cron job ran and succeeded" succeeded "$status"
check "the job's command was quant.run_schedule('hourly')" "SELECT quant.run_schedule('hourly')" \
    "$("${PSQL[@]}" -c "SELECT command FROM cron.job_run_details WHERE jobid = '${jobid:-0}' ORDER BY runid LIMIT 1")"
check "it wrote the hourly deployment's signal" 1 "$n"
check "... PENDING, for quant-worker" PENDING "$(q "SELECT status FROM trade.signal WHERE deployment_id = '$hourly'")"
check "... owned by the deployment's user (run as pg_cron's job owner)" "$USER_NAME" \
    "$(q "SELECT user_id FROM trade.signal WHERE deployment_id = '$hourly'")"
check "... on the latest CRONH 1h bar" t \
    "$(q "SELECT bar_ts = (SELECT max(ts) FROM md.bar WHERE ticker = 'CRONH' AND interval = '1h') FROM trade.signal WHERE deployment_id = '$hourly'")"
check "the manual deployment is not on the hourly schedule (still one signal)" 1 \
    "$(q "SELECT count(*) FROM trade.signal WHERE deployment_id = '$manual'")"
check "cron.unschedule removes the job" t "$("${PSQL[@]}" -c "SELECT cron.unschedule('$JOB_NAME')")"

# ---- quant.install_schedules: the real jobs, idempotent ----
"${PSQL[@]}" -c "SELECT quant.install_schedules()" -c "SELECT quant.install_schedules()" >/dev/null 2>&1
check "install_schedules twice: one job each (daily_close x3 markets, hourly, stop loss, feed deadline, cleanup)" 7 \
    "$("${PSQL[@]}" -c "SELECT count(*) FROM cron.job WHERE jobname IN ('quant_daily_close_US', 'quant_daily_close_HK',
        'quant_daily_close_CRYPTO', 'quant_hourly', 'quant_stop_loss', 'quant_feed_deadline', 'quant_cron_cleanup')")"
check "the stop loss every minute" "* * * * *|SELECT quant.check_stop_losses()" \
    "$("${PSQL[@]}" -c "SELECT schedule || '|' || command FROM cron.job WHERE jobname = 'quant_stop_loss'")"
check "US daily_close at 21:05 UTC Mon-Fri for market US" "5 21 * * 1-5|SELECT quant.run_schedule('daily_close', 'US')" \
    "$("${PSQL[@]}" -c "SELECT schedule || '|' || command FROM cron.job WHERE jobname = 'quant_daily_close_US'")"
check "md.bar's partitions two months ahead, daily (issue 17)" "41 2 * * *|SELECT md.create_bar_partitions()" \
    "$("${PSQL[@]}" -c "SELECT schedule || '|' || command FROM cron.job WHERE jobname = 'quant_bar_partitions'")"
check "uninstall_schedules removes them (and quant_bar_partitions)" 8 "$("${PSQL[@]}" -c "SELECT quant.uninstall_schedules()")"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
