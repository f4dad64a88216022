#!/usr/bin/env bash
# The live loop's latency and throughput, against a real database and quant-worker.
#
#   PG*=... bench/worker_latency.sh [N_SIGNALS]      (default 300)
#
# Needs PG* (a superuser) on a database with quant and the TTRC sample bars (as
# scripts/test-in-cluster.sh prepares it), and build/worker/quant-worker (or $QUANT_WORKER_BIN).
# It deploys bench deployments of its own (user bench_<pid>) and stops them at the end.
#
# 1. Latency, with one worker and then two: N signals, one at a time (20 ms apart, so the figure
#    is the path, not a queue), each INSERTed + pg_notify and COMMITted (synchronous_commit=on)
#    in a DO block that records clock_timestamp() right after its COMMIT. Per signal:
#      commit -> broker ack   paper."order".created_at (clock_timestamp() at the paper broker)
#      commit -> booked       trade."order".resolved_at (clock_timestamp() in
#                             trade.worker_record_outcome, the statement that writes the BUY/SELL
#                             trade.log row; its COMMIT follows)
#    Signals alternate 1 / 0 over 10 deployments: every signal is one market order.
# 2. Throughput: 400 PENDING signals (20 deployments x 20 bars, one NOTIFY), time until all are
#    DONE, with one worker and with two: claims (= signals finished) per second, and the CPU time
#    per signal of the workers and of their database backends (robust to the machine's other load).
# Before and after them, the reference in the same run: bare INSERT + pg_notify + COMMIT
# (synchronous_commit=on) by pgbench, p50/p99 at 1 client and commits/s at 2.
# QUANT_BENCH_SKIP_LATENCY=1: the throughput part only.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
N="${1:-300}"
BIN="${QUANT_WORKER_BIN:-$repo/build/worker/quant-worker}"
[ -x "$BIN" ] || { echo "quant-worker not built: $BIN" >&2; exit 1; }
U="bench_$$"
tmp="$(mktemp -d)"
PSQL=(psql -X -q -t -A -v ON_ERROR_STOP=1)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    "${PSQL[@]}" -c "UPDATE trade.deployment SET enabled = false, stopped_at = now()
                     WHERE user_id = '$U' AND stopped_at IS NULL" >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT

start_workers() { # start_workers COUNT TAG
    local i
    for i in $(seq 1 "$1"); do
        QUANT_WORKER_ID="$U-$2-$i" QUANT_WORKER_LOG_LEVEL=warn QUANT_WORKER_POLL_MS=1000 \
            "$BIN" 2>>"$tmp/worker-$2-$i.log" &
        pids+=($!)
    done
    sleep 1
}
stop_workers() {
    local p
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    pids=()
}

deploy() { # deploy COUNT -> deployment ids, one a line
    local sid
    sid="$("${PSQL[@]}" -c "SELECT quant.set_user('$U')" -c "SELECT quant.create_strategy('{\"ticker\":\"TTRC\",
        \"trading_period\":252,\"substrategies\":[{\"indicator\":\"get_rsi\",\"signal_func\":\"reversion_bounded_signal\",
        \"window\":14,\"signal\":30}]}')->>'strategy_id'" | tail -n1)"
    "${PSQL[@]}" -c "SELECT quant.set_user('$U')" -c "SELECT quant.deploy(jsonb_build_object('strategy_id', '$sid',
        'qty', 1, 'schedule', 'manual', 'risk_limits', '{\"max_bar_age_hours\": null, \"max_daily_trades\": 100000,
        \"max_orders_per_minute\": 10000, \"max_position_usd\": 1000000}'::jsonb))->>'deployment_id'
        FROM generate_series(1, $1)" | tail -n +2
}

latency() { # latency WORKERS
    local deps arr
    deps="$(deploy 10)"
    arr="ARRAY[$(echo "$deps" | sed "s/.*/'&'::uuid/" | paste -sd,)]"
    "${PSQL[@]}" -c "SET client_min_messages = warning" \
        -c "CREATE TABLE IF NOT EXISTS public.bench_commit (signal_id uuid PRIMARY KEY, committed_at timestamptz)" \
        -c "TRUNCATE public.bench_commit"
    start_workers "$1" "lat$1"
    "${PSQL[@]}" -c "SET synchronous_commit = on" -c "
    DO \$\$
    DECLARE
        deps uuid[] := $arr;
        sid uuid;
        bar integer := (SELECT count(*) FROM trade.signal WHERE user_id = '$U');
    BEGIN
        FOR i IN 0 .. $N - 1 LOOP
            INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version)
            SELECT d.deployment_id, d.user_id, timestamptz '2030-01-01' + (bar + i) * interval '1 minute',
                   CASE WHEN (i / 10) % 2 = 0 THEN 1 ELSE 0 END, 'TTRC', d.strategy_version
            FROM trade.deployment d WHERE d.deployment_id = deps[1 + i % 10]
            RETURNING signal_id INTO sid;
            PERFORM pg_notify('quant_signal', sid::text);
            COMMIT;
            INSERT INTO public.bench_commit VALUES (sid, clock_timestamp());
            COMMIT;
            PERFORM pg_sleep(0.02);
        END LOOP;
    END
    \$\$"
    # wait for the last ones
    for _ in $(seq 1 100); do
        [ "$("${PSQL[@]}" -c "SELECT count(*) FROM public.bench_commit c JOIN trade.signal s USING (signal_id)
              WHERE s.status IN ('PENDING', 'PROCESSING')")" = 0 ] && break
        sleep 0.1
    done
    stop_workers
    "${PSQL[@]}" -F ' ' -c "
    WITH x AS (
        SELECT extract(epoch FROM p.created_at - c.committed_at) * 1000 AS ack_ms,
               extract(epoch FROM o.resolved_at - c.committed_at) * 1000 AS booked_ms
        FROM public.bench_commit c JOIN trade.\"order\" o USING (signal_id)
        JOIN paper.\"order\" p USING (client_order_id) WHERE o.status = 'FILLED')
    SELECT '$1 worker(s): n=' || count(*)
        || '  commit->broker ack p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ack_ms)::numeric, 2)
        || ' ms p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ack_ms)::numeric, 2)
        || ' ms;  commit->booked (trade.log) p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY booked_ms)::numeric, 2)
        || ' ms p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY booked_ms)::numeric, 2)
        || ' ms max ' || round(max(booked_ms)::numeric, 2) || ' ms' FROM x"
}

throughput() { # throughput WORKERS
    local deps arr n=400 t0 t1 done_n
    deps="$(deploy 20)"
    arr="ARRAY[$(echo "$deps" | sed "s/.*/'&'::uuid/" | paste -sd,)]"
    "${PSQL[@]}" -c "INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version)
        SELECT d.deployment_id, d.user_id, timestamptz '2031-01-01' + b * interval '1 minute',
               CASE WHEN b % 2 = 0 THEN 1 ELSE 0 END, 'TTRC', d.strategy_version
        FROM unnest($arr) WITH ORDINALITY u(id, k) JOIN trade.deployment d ON d.deployment_id = u.id,
             generate_series(0, 19) b ORDER BY b, k"
    t0="$(date +%s.%N)"
    start_workers "$1" "tp$1"  # their catch-up scan finds the PENDING rows
    for _ in $(seq 1 1200); do
        done_n="$("${PSQL[@]}" -c "SELECT count(*) FROM trade.signal WHERE deployment_id = ANY ($arr) AND status = 'DONE'")"
        [ "$done_n" = "$n" ] && break
        sleep 0.05
    done
    t1="$(date +%s.%N)"
    # CPU time (utime + stime, /proc) of the workers and of their database backends (they were
    # started with the workers): robust to the other load on the machine, unlike the wall clock
    local wt=0 bt=0 p bp
    for p in "${pids[@]}"; do wt=$((wt + $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0))); done
    for bp in $("${PSQL[@]}" -c "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'quant-worker%'"); do
        bt=$((bt + $(awk '{print $14 + $15}' "/proc/$bp/stat" 2>/dev/null || echo 0)))
    done
    stop_workers
    # the workers' own clock: first claim to last outcome
    "${PSQL[@]}" -c "SELECT '$1 worker(s): $done_n/$n signals, ' || count(*) || ' orders in '
        || round(extract(epoch FROM max(o.resolved_at) - min(s.claimed_at))::numeric, 2) || ' s (first claim -> last fill) = '
        || round(($n / extract(epoch FROM max(o.resolved_at) - min(s.claimed_at)))::numeric, 0) || ' signals (claims)/s; wall incl. start-up '
        || round(($t1 - $t0)::numeric, 2) || ' s; CPU per signal: workers '
        || round($wt * 1000.0 / $(getconf CLK_TCK) / $n, 3) || ' ms, their database backends '
        || round($bt * 1000.0 / $(getconf CLK_TCK) / $n, 3) || ' ms'
        FROM trade.signal s JOIN trade.\"order\" o USING (signal_id) WHERE s.deployment_id = ANY ($arr)"
}

reference() { # the floor in the same run: bare INSERT + pg_notify, committed (synchronous_commit=on),
    # one client round trip each (pgbench, 1 client, 2,000), and its rate with 2 clients
    "${PSQL[@]}" -c "SET client_min_messages = warning" \
        -c "CREATE TABLE IF NOT EXISTS public.bench_ref (id bigserial PRIMARY KEY, payload text)"
    cat >"$tmp/insert_notify.sql" <<'SQL'
BEGIN;
INSERT INTO public.bench_ref (payload) VALUES ('x');
SELECT pg_notify('bench_ref', 'x');
COMMIT;
SQL
    rm -f "$tmp"/reflog.*
    (cd "$tmp" && PGOPTIONS="-c synchronous_commit=on" pgbench -n -l --log-prefix=reflog -t 2000 -c 1 -f insert_notify.sql >/dev/null 2>&1)
    local tps
    tps="$(PGOPTIONS="-c synchronous_commit=on" pgbench -n -T 3 -c 2 -j 2 -f "$tmp/insert_notify.sql" 2>/dev/null |
        sed -nE 's/^tps = ([0-9.]+).*/\1/p' | head -n1)"
    cat "$tmp"/reflog.* | awk -v tps="$tps" '{print $3}' | sort -n | awk -v tps="$tps" '{a[NR]=$1} END {
        printf "reference: INSERT + pg_notify + COMMIT (sync), 1 client: n=%d p50 %.2f ms p99 %.2f ms; 2 clients: %.0f commits/s\n",
            NR, a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000, tps}'
    "${PSQL[@]}" -c "DROP TABLE public.bench_ref"
}

echo "# machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), worker $BIN"
reference
if [ -z "${QUANT_BENCH_SKIP_LATENCY:-}" ]; then  # set: the throughput part only
    echo "# quant-worker latency: $N signals, one at a time (20 ms apart)"
    latency 1
    latency 2
fi
echo "# quant-worker throughput: 400 PENDING signals (20 deployments x 20), one market order each"
throughput 1
throughput 2
"${PSQL[@]}" -c "DROP TABLE IF EXISTS public.bench_commit"
reference
echo "# load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
