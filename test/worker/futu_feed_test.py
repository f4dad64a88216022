#!/usr/bin/env python3
"""The live feed's FUTU source end to end (issue 14): real PostgreSQL, quant-feed, quant-worker and
fake-opend, each its own process.

A feed tick (quant.run_schedule('hourly'), what the pg_cron job runs) queues the fetch of a product
whose source is FUTU; quant-feed reads its hourly K-lines from fake-opend (Qot_RequestHistoryKL,
klType 60Min), drops the forming bar, stores the closed ones; the waiting FUTU deployment is
evaluated at once: a signal, then quant-worker's order at the fake (SIMULATE) with the client
order id as remark, filled, booked. The stored bars equal the fake's documented formula (computed
here, independently). A daily product with a long history is fetched over several pages
(nextReqKey). Last line: "N passed, N failed".
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "lib"))
sys.path.insert(0, os.path.join(REPO, "test", "fakes", "futu"))
import quanttest  # noqa: E402
from futuopend import FakeOpenD  # noqa: E402

T = quanttest.Tally(tap=True)
FEED_BIN = os.environ["QUANT_FEED_BIN"]
WORKER_BIN = os.environ["QUANT_WORKER_BIN"]
RUN = uuid.uuid4().hex[:8].upper()
USER = f"futu_feed_{RUN.lower()}"
LOGDIR = tempfile.mkdtemp(prefix="quant_futu_feed_test_")
PRICE = 190.0
SIM_US = 1001


def check(desc, ok, detail=""):
    T.check(ok, desc, detail)


def eq(desc, want, got):
    check(desc, want == got, f"expected {want!r}, got {got!r}")


def q(*sql):
    out = quanttest.psql_c(*sql)
    lines = [line for line in out.splitlines() if line.strip() != ""]
    return lines[-1] if lines else ""


def as_user(sql):
    return q(f"SELECT quant.set_user('{USER}')", sql)


def wait_until(fn, timeout=60.0, step=0.2):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def start(binary, name, **env):
    e = dict(os.environ)
    e.update({"QUANT_FUTU_OPEND": f"127.0.0.1:{fake.port}", "QUANT_BYBIT_BASE_URL": "off",
              "QUANT_FEED_POLL_MS": "300", "QUANT_WORKER_POLL_MS": "300", "QUANT_WORKER_ID": f"w-{RUN}",
              "QUANT_FEED_ID": f"{name}-{RUN}", "QUANT_FUTU_PLACE_PER_30S": "1000"})
    e.update({k: str(v) for k, v in env.items()})
    log = open(os.path.join(LOGDIR, f"{name}.log"), "a")
    p = subprocess.Popen([binary], env=e, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    p.logname = log.name
    return p


def stop(p):
    if p is not None and p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def fetches(ticker):
    out = quanttest.psql_c(f"SELECT fetch_id, status, coalesce(rows_stored, -1), coalesce(error, '') "
                           f"FROM md.bar_fetch WHERE ticker = '{ticker}' ORDER BY fetch_id")
    return [line.split("|", 3) for line in out.splitlines() if line.strip()]


def fake_bar(k, step):
    """fake-opend's documented K-line k (README.md: Qot_RequestHistoryKL), computed here."""
    o = round(PRICE * (1 + ((k * 7) % 11 - 5) / 1000), 3)
    c = round(PRICE * (1 + ((k * 7 + 7) % 11 - 5) / 1000), 3)
    return (o, round(max(o, c) * 1.001, 3), round(min(o, c) * 0.999, 3), c, 1000 + k % 5)


fake = FakeOpenD(accounts=[f"simulate:US:{SIM_US}", "real:US:2001"], prices={"US.AAPL": str(PRICE)}).start()
feed = worker = None
try:
    H, D = f"FH_{RUN}", f"FD_{RUN}"
    for t in (H, D):  # shared mappings: the data tickers trade as US.AAPL on FUTU
        q(f"INSERT INTO refdata.ticker_mapping (data_ticker, broker, broker_ticker, market) "
          f"VALUES ('{t}', 'FUTU', 'US.AAPL', 'US') ON CONFLICT DO NOTHING")
    q(f"SELECT quant.set_feed('{H}', '1h', 'FUTU', 'US.AAPL')")
    q(f"SELECT quant.set_feed('{D}', '1d', 'FUTU', 'US.AAPL', min_bars => 1500)")
    eq("quant.list_feeds shows both FUTU sources", "2",
       q(f"SELECT count(*) FROM quant.list_feeds() f WHERE f->>'ticker' LIKE '%\\_{RUN}' AND f->>'source' = 'FUTU'"))
    # a first row each, so the strategies can be stored
    q(f"INSERT INTO md.bar (ticker, \"interval\", ts, open, high, low, close, volume) VALUES "
      f"('{H}', '1h', date_trunc('hour', now()) - interval '400 hours', 1, 1, 1, 1, 1), "
      f"('{D}', '1d', date_trunc('day', now()) - interval '4000 days', 1, 1, 1, 1, 1)")

    def strategy(ticker, interval):
        cfg = {"ticker": ticker, "interval": interval, "trading_period": 252,
               "substrategies": [{"indicator": "get_rsi", "signal_func": "momentum_bounded_signal", "window": 14,
                                  "signal": 1}]}  # RSI > 1: long on the fake's oscillating bars
        return as_user(f"SELECT quant.create_strategy('{json.dumps(cfg)}')->>'strategy_id'")

    def deploy(sid, qty, schedule):
        return as_user(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'broker', 'FUTU', "
                       f"'qty', {qty}, 'schedule', '{schedule}', 'risk_limits', jsonb_build_object("
                       f"'max_position_usd', 10000000)))->>'deployment_id'")

    dH = deploy(strategy(H, "1h"), 3, "hourly")
    check("an hourly FUTU deployment (SIMULATE) on the fed product", len(dH) == 36, dH)
    eq("...it trades US.AAPL", "US.AAPL", q(f"SELECT ticker FROM trade.deployment WHERE deployment_id = '{dH}'"))

    feed = start(FEED_BIN, "feed")
    worker = start(WORKER_BIN, "worker")
    kl_before = fake.state()["requests"].get("3103", 0)
    # ---- the tick: fetch -> bars -> signal -> order ----
    q("SET quant.feed_deadline_s = 600", "SELECT quant.run_schedule('hourly')")
    sig = wait_until(lambda: q(f"SELECT status FROM trade.signal WHERE deployment_id = '{dH}' AND status IN ('DONE', 'REJECTED') LIMIT 1"), 90)
    eq("the tick ended in a traded signal (DONE)", "DONE", sig)
    fh = fetches(H)
    check("the FUTU fetch is DONE and stored bars", fh and fh[0][1] == "DONE" and int(fh[0][2]) > 0, str(fh))
    check("...from fake-opend's Qot_RequestHistoryKL", fake.state()["requests"].get("3103", 0) > kl_before)
    nH = int(q(f"SELECT count(*) FROM md.bar WHERE ticker = '{H}' AND \"interval\" = '1h'"))
    check("back-fill: at least the window's history (2 x 14 + 10) + the seed row", nH >= 39, str(nH))
    eq("no duplicate bars", str(nH), q(f"SELECT count(DISTINCT ts) FROM md.bar WHERE ticker = '{H}' AND \"interval\" = '1h'"))
    formed = q(f"SELECT bool_and(b.ts + interval '1 hour' <= f.started_at) FROM md.bar b, md.bar_fetch f "
               f"WHERE b.ticker = '{H}' AND b.\"interval\" = '1h' AND f.fetch_id = {fh[0][0] if fh else 0}")
    eq("the forming bar was never stored", "t", formed)
    rows = quanttest.psql_c(f"SELECT extract(epoch FROM ts)::bigint, open, high, low, close, volume FROM md.bar "
                            f"WHERE ticker = '{H}' AND \"interval\" = '1h' ORDER BY ts DESC LIMIT 30").splitlines()
    bad = []
    for r in rows:
        ts, o, h, lo, c, v = r.split("|")
        want = fake_bar(int(ts) // 3600, 3600)
        got = (float(o), float(h), float(lo), float(c), float(v))
        if any(abs(a - b) > 1e-9 for a, b in zip(want, got)):
            bad.append((ts, want, got))
    check("the newest 30 stored bars equal fake-opend's formula (open, high, low, close, volume)",
          len(rows) == 30 and not bad, str(bad[:2]))
    eq("the signal is long (+1) on the newest closed bar", "1|true",
       q(f"SELECT signal::int || '|' || (bar_ts = (SELECT max(ts) FROM md.bar WHERE ticker = '{H}' AND \"interval\" = '1h'))::text "
         f"FROM trade.signal WHERE deployment_id = '{dH}' LIMIT 1"))
    coid = q(f"SELECT client_order_id FROM trade.\"order\" WHERE deployment_id = '{dH}' AND status = 'FILLED'")
    fo = [o for o in fake.state()["accounts"][str(SIM_US)]["orders"] if o["remark"] == coid]
    check("one FILLED order at the fake's SIMULATE account, the client order id as remark",
          bool(coid) and len(fo) == 1 and fo[0]["status"] == 11 and fo[0]["qty"] == 3, str(fo)[:300])
    eq("the books equal the fake (3 US.AAPL)", "3",
       q(f"SELECT qty::float8::text FROM trade.position WHERE deployment_id = '{dH}'"))
    eq("trade.log: a BUY", "BUY", q(f"SELECT action FROM trade.log WHERE deployment_id = '{dH}' AND action = 'BUY' LIMIT 1"))
    as_user(f"SELECT quant.stop_deployment('{dH}')")

    # ---- daily K-lines over several pages (nextReqKey) ----
    dD = deploy(strategy(D, "1d"), 1, "daily_close")
    kl_before = fake.state()["requests"].get("3103", 0)
    q("SET quant.feed_deadline_s = 600", "SELECT quant.run_schedule('daily_close')")
    got = wait_until(lambda: (lambda f: f and f[-1][1] in ("DONE", "FAILED") and f[-1])(fetches(D)), 90)
    check("the daily FUTU fetch is DONE", bool(got) and got[1] == "DONE", str(got))
    nD = int(q(f"SELECT count(*) FROM md.bar WHERE ticker = '{D}' AND \"interval\" = '1d'"))
    check("...it stored over 1,500 daily bars (min_bars)", nD > 1500, str(nD))
    pages = fake.state()["requests"].get("3103", 0) - kl_before
    check("...read in several pages of at most 1,000 (nextReqKey)", pages >= 2, str(pages))
    eq("...no duplicate bars", str(nD), q(f"SELECT count(DISTINCT ts) FROM md.bar WHERE ticker = '{D}' AND \"interval\" = '1d'"))
    eq("...none forming (each closed before the fetch started)", "t",
       q(f"SELECT bool_and(b.ts + interval '1 day' <= f.started_at) FROM md.bar b, md.bar_fetch f "
         f"WHERE b.ticker = '{D}' AND b.\"interval\" = '1d' AND f.fetch_id = {got[0] if got else 0}"))
    as_user(f"SELECT quant.stop_deployment('{dD}')")
    eq("no protocol violation at the fake", [], fake.state()["violations"])
finally:
    stop(feed)
    stop(worker)
    fake.stop()

print(f"# logs: {LOGDIR}")
sys.exit(T.summary())
