#!/usr/bin/env python3
"""Signal commit -> filled, FUTU (quant-worker -> fake-opend, SIMULATE) beside PAPER, in one run.

    PG*=... python3 bench/futu_latency.py [N_SIGNALS [SPACING_MS]]   (default 1000 per broker, 20 ms apart)

Needs PG* (a superuser) on a database with quant installed, build/worker/quant-worker and the
compiled Futu messages (build/worker/futu_pb). One deployment per broker (FUTU positions are the
account's, so one deployment keeps every signal an order), signals alternating 1 / 0 (each one
market order of 1 share), one at a time, SPACING_MS apart. Per signal:
  commit   clock_timestamp() right after the signal's COMMIT (a DO block, synchronous_commit=on)
  filled   PAPER: paper."order".created_at (the paper broker fills at once);
           FUTU: the fake's order updateTimestamp when it filled (time.time() at the fake)
FUTU also in parts: commit -> claimed (trade.signal.claimed_at: waiting for the worker, a queue when
the worker is slower than the spacing), claimed -> placed (the fake's createTimestamp: context,
funds, positions, intent, gate, the PlaceOrder spacing), placed -> booked (trade."order".resolved_at:
the fill's push or poll, the outcome's commit). The worker follows orders by pushes (Trd_SubAccPush)
first, the order list second. Prints p50 / p99 / max in ms; never asserts (figures in bench/README.md).
"""
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "test", "lib"))
sys.path.insert(0, os.path.join(REPO, "test", "fakes", "futu"))
import quanttest  # noqa: E402
from futuopend import FakeOpenD  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
SPACING_S = (float(sys.argv[2]) if len(sys.argv) > 2 else 20.0) / 1000
BIN = os.environ.get("QUANT_WORKER_BIN", os.path.join(REPO, "build", "worker", "quant-worker"))
U = f"bench_futu_{uuid.uuid4().hex[:6]}"


def q(*sql):
    out = quanttest.psql_c(*sql)
    lines = [x for x in out.splitlines() if x.strip()]
    return lines[-1] if lines else ""


def pct(xs, p):
    xs = sorted(xs)
    if not xs:
        return float("nan")
    k = (len(xs) - 1) * p
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


fake = FakeOpenD(prices={"US.AAPL": "190"}, cash="100000000").start()
tmp = tempfile.mkdtemp(prefix="futu_bench_")
worker = None
try:
    q("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) VALUES "
      "('AAPL', timestamptz '2031-01-01', 190, 190, 190, 190, 1) ON CONFLICT DO NOTHING")
    sid = q(f"SELECT quant.set_user('{U}')",
            "SELECT quant.create_strategy('{\"ticker\":\"AAPL\",\"trading_period\":365,\"substrategies\":"
            "[{\"indicator\":\"get_rsi\",\"signal_func\":\"reversion_bounded_signal\",\"window\":14,"
            "\"signal\":30}]}')->>'strategy_id'")
    limits = ("'risk_limits', jsonb_build_object('max_bar_age_hours', null, 'max_orders_per_minute', 10000, "
              "'max_daily_trades', 100000, 'max_consecutive_rejects', 1000, 'max_position_usd', 100000000)")
    deps = {}
    for broker in ("PAPER", "FUTU"):
        deps[broker] = q(f"SELECT quant.set_user('{U}')",
                         f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'broker', '{broker}', "
                         f"'qty', 1, 'schedule', 'manual', {limits}))->>'deployment_id'")
    q("SET client_min_messages = warning",
      "CREATE TABLE IF NOT EXISTS public.bench_commit (signal_id uuid PRIMARY KEY, committed_at timestamptz)")
    env = dict(os.environ, QUANT_WORKER_ID=f"{U}-w", QUANT_WORKER_LOG_LEVEL="warn", QUANT_WORKER_POLL_MS="1000",
               QUANT_FUTU_OPEND=f"127.0.0.1:{fake.port}", QUANT_BYBIT_BASE_URL="off", QUANT_FUTU_POLL_MS="5",
               QUANT_FUTU_PLACE_PER_30S="1000000")  # the path, not OpenD's 15 per 30 s
    log = open(os.path.join(tmp, "worker.log"), "w")
    worker = subprocess.Popen([BIN], env=env, stdout=log, stderr=log)
    time.sleep(1)
    results = {}
    for broker in ("PAPER", "FUTU"):
        d = deps[broker]
        q("TRUNCATE public.bench_commit")
        q("SET synchronous_commit = on", f"""
        DO $$
        DECLARE sid uuid;
        BEGIN
            FOR i IN 0 .. {N} - 1 LOOP
                INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version)
                SELECT d.deployment_id, d.user_id, timestamptz '2031-01-01' + i * interval '1 minute',
                       CASE WHEN i % 2 = 0 THEN 1 ELSE 0 END, 'AAPL', d.strategy_version
                FROM trade.deployment d WHERE d.deployment_id = '{d}'
                RETURNING signal_id INTO sid;
                PERFORM pg_notify('quant_signal', sid::text);
                COMMIT;
                INSERT INTO public.bench_commit VALUES (sid, clock_timestamp());
                COMMIT;
                PERFORM pg_sleep({SPACING_S});
            END LOOP;
        END $$""")
        for _ in range(600):
            if q("SELECT count(*) FROM public.bench_commit c JOIN trade.signal s USING (signal_id) "
                 "WHERE s.status IN ('PENDING', 'PROCESSING')") == "0":
                break
            time.sleep(0.1)
        rows = [r.split("|") for r in quanttest.psql_c(
            "SELECT o.client_order_id, extract(epoch FROM c.committed_at)::float8, "
            "coalesce(extract(epoch FROM p.created_at)::float8, 0) FROM public.bench_commit c "
            "JOIN trade.\"order\" o USING (signal_id) LEFT JOIN paper.\"order\" p USING (client_order_id) "
            "WHERE o.status = 'FILLED'").splitlines() if r.strip()]
        if broker == "FUTU":
            orders = {o["remark"]: o for o in fake.state()["accounts"]["1001"]["orders"] if o["status"] == 11}
            filled = {k: o["updateTimestamp"] for k, o in orders.items()}
            ms = [(filled[r[0]] - float(r[1])) * 1000 for r in rows if r[0] in filled]
            parts = [r.split("|") for r in quanttest.psql_c(
                "SELECT o.client_order_id, extract(epoch FROM c.committed_at)::float8, "
                "extract(epoch FROM s.claimed_at)::float8, extract(epoch FROM o.resolved_at)::float8 "
                "FROM public.bench_commit c JOIN trade.signal s USING (signal_id) "
                "JOIN trade.\"order\" o USING (signal_id) WHERE o.status = 'FILLED'").splitlines() if r.strip()]
            queue = [(float(p[2]) - float(p[1])) * 1000 for p in parts if p[0] in orders]
            place = [(orders[p[0]]["createTimestamp"] - float(p[2])) * 1000 for p in parts if p[0] in orders]
            book = [(float(p[3]) - orders[p[0]]["createTimestamp"]) * 1000 for p in parts if p[0] in orders]
            created = sorted(o["createTimestamp"] for o in orders.values())
            gaps = [(b - a) * 1000 for a, b in zip(created, created[1:])]
            print(f"  FUTU PlaceOrder gaps at the fake: min {min(gaps) if gaps else float('nan'):.2f} ms, "
                  f"{sum(1 for g in gaps if g < 22)} of {len(gaps)} under 22 ms (the client's 20 ms spacing binds "
                  f"only there)", flush=True)
            for name, xs in (("commit->claimed", queue), ("claimed->placed at the fake", place),
                             ("placed->booked", book)):
                print(f"  FUTU {name}: p50 {pct(xs, 0.5):.2f} ms  p99 {pct(xs, 0.99):.2f} ms  "
                      f"max {max(xs) if xs else float('nan'):.2f} ms", flush=True)
        else:
            ms = [(float(r[2]) - float(r[1])) * 1000 for r in rows if float(r[2]) > 0]
        results[broker] = ms
        print(f"{broker}: n={len(ms)} of {N}  commit->filled p50 {pct(ms, 0.5):.2f} ms  p99 {pct(ms, 0.99):.2f} ms"
              f"  max {max(ms) if ms else float('nan'):.2f} ms", flush=True)
    st = fake.state()
    remarks = [p["remark"] for p in st["place_orders"] if p["retType"] == 0]
    print(f"# fake-opend: {len(remarks)} orders accepted, {len(set(remarks))} distinct remarks, "
          f"violations {len(st['violations'])}, requests {json.dumps(st['requests'])}, "
          f"pushes {json.dumps(st['pushes']['sent'])}")
finally:
    if worker is not None:
        worker.terminate()
        worker.wait(20)
    q(f"UPDATE trade.deployment SET enabled = false, stopped_at = now() WHERE user_id = '{U}' AND stopped_at IS NULL")
    q("DROP TABLE IF EXISTS public.bench_commit")
    fake.stop()
