#!/usr/bin/env python3
"""The live feed's tick: 1,000 hourly PAPER deployments over 200 products (5 strategies each),
every product fed from fake-bybit's hourly klines (its own process), one quant-feed.

    PG*=... python3 bench/feed_tick.py [PRODUCTS] [PER_PRODUCT]     (default 200 5; a superuser)

1. cold tick: quant.run_schedule('hourly') with no bars stored: 200 back-fills, 1,000 evaluations.
2. hot ticks (x3): the newest bar of every product and the bench's signals removed first, so the
   tick brings one new closed bar per product and every deployment writes a signal again.
Each figure: from the COMMIT of run_schedule (the feed tick) to the moment all signals are
written (polled every 20 ms), and the database's own span (the run's start -> the newest
signal's created_at). Figures go to bench/README.md ("Live feed"); nothing is asserted.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "test", "fakes", "bybit"))
from fakebybit import FakeBybit  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 200
PER = int(sys.argv[2]) if len(sys.argv) > 2 else 5
FEED_BIN = os.environ.get("QUANT_FEED_BIN", os.path.join(REPO, "build", "worker", "quant-feed"))
USER = f"bench_feed_{os.getpid()}"
PSQL = ["psql", "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1"]


def q(sql):
    out = subprocess.run(PSQL, input=sql + ";\n", capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(out.stderr)
    return out.stdout.strip()


tickers = [f"BF{i:03d}_{os.getpid()}" for i in range(N)]
symbols = [f"BF{i:03d}USDT" for i in range(N)]
fake = FakeBybit(keys={"K": "S"}, prices={s: str(100 + i) for i, s in enumerate(symbols)}).start()
feed = None
try:
    q("SET client_min_messages = warning; " + "; ".join(
        f"SELECT quant.set_feed('{t}', '1h', 'BYBIT', '{s}')" for t, s in zip(tickers, symbols)))
    # a seed bar per product (old), so that strategies on it can be stored
    q("INSERT INTO md.bar (ticker, \"interval\", ts, open, high, low, close, volume) SELECT t, '1h', "
      "date_trunc('hour', now()) - interval '500 hours', 1, 1, 1, 1, 1 FROM unnest(ARRAY["
      + ",".join(f"'{t}'" for t in tickers) + "]) t")
    cfgs = []
    for t in tickers:
        for k in range(PER):
            cfgs.append(json.dumps({"ticker": t, "interval": "1h", "trading_period": 8760, "substrategies": [
                {"indicator": "get_sma", "signal_func": "momentum_band_signal", "window": 5 + k, "signal": 1.0}]}))
    t0 = time.time()
    q(f"SET client_min_messages = warning; SELECT quant.set_user('{USER}'); "
      "SELECT count(quant.deploy(jsonb_build_object('strategy_id', quant.create_strategy(c::jsonb)->>'strategy_id', "
      "'qty', 1, 'schedule', 'hourly', 'ticker', c::jsonb->>'ticker', 'market', 'CRYPTO'))) "
      "FROM unnest(ARRAY[" + ",".join("'" + c + "'" for c in cfgs) + "]) c")
    print(f"# setup: {len(cfgs)} deployments over {N} products in {time.time() - t0:.1f} s", flush=True)
    log = open(os.path.join(tempfile.gettempdir(), f"feed_tick_{os.getpid()}.log"), "w")
    env = dict(os.environ, QUANT_BYBIT_BASE_URL=fake.url, QUANT_FEED_POLL_MS="1000", QUANT_WORKER_LOG_LEVEL="warn")
    feed = subprocess.Popen([FEED_BIN], env=env, stdout=log, stderr=log)
    deps = f"(SELECT deployment_id FROM trade.deployment WHERE user_id = '{USER}')"

    def tick(label):
        q(f"DELETE FROM trade.signal WHERE deployment_id IN {deps}")
        q("SET client_min_messages = warning; SELECT quant.set_user('" + USER + "')")
        t0 = time.time()
        q("SELECT quant.run_schedule('hourly')")
        t_commit = time.time()
        want = str(len(cfgs))
        while q(f"SELECT count(*) FROM trade.signal WHERE deployment_id IN {deps}") != want:
            if time.time() - t_commit > 600:
                print(f"{label}: not all signals after 600 s", flush=True)
                return
            time.sleep(0.02)
        t1 = time.time()
        span = q("SELECT extract(epoch FROM (SELECT max(created_at) FROM trade.signal WHERE deployment_id IN "
                 f"{deps}) - (SELECT max(started_at) FROM md.feed_run))")
        print(f"{label:<12} tick commit -> {want} signals: {t1 - t_commit:6.3f} s (run_schedule itself "
              f"{t_commit - t0:.3f} s; in the database: run start -> last signal {float(span):.3f} s)", flush=True)

    tick("cold")
    for i in range(3):
        # the newest bar of every product goes: the next tick brings it back, a new closed bar
        q("DELETE FROM md.bar b USING (SELECT ticker, max(ts) AS ts FROM md.bar WHERE ticker = ANY (ARRAY["
          + ",".join(f"'{t}'" for t in tickers) + "]) AND \"interval\" = '1h' GROUP BY ticker) m "
          "WHERE b.ticker = m.ticker AND b.\"interval\" = '1h' AND b.ts = m.ts")
        tick(f"hot {i + 1}")
finally:
    if feed is not None:
        feed.terminate()
        feed.wait()
    fake.stop()
    try:
        q(f"UPDATE trade.deployment SET enabled = false, stopped_at = now() WHERE user_id = '{USER}'")
        q("DELETE FROM md.feed WHERE ticker LIKE 'BF%\\_" + str(os.getpid()) + "'")
    except Exception as e:  # noqa: BLE001
        print("cleanup:", e)
