#!/usr/bin/env python3
"""The live feed end to end (issue 11 part 4): real PostgreSQL with pg_cron, quant-feed,
quant-worker and fake-bybit (test/fakes/bybit) serving klines, each its own process.

1. A pg_cron job runs quant.run_schedule('hourly'): the fed products' fetches are queued,
   quant-feed fetches the hourly klines from the fake (back-filling a first deployment's
   history), drops the forming candle, stores the closed bars, and the waiting deployments are
   evaluated at once: a signal, then an order on PAPER filled by quant-worker; no human step.
2. In the same run: a product whose source fails (an unknown symbol) gives its deployment a
   REJECTED stale_bars row while the others trade; a traded product and a factor product whose
   source serves only old candles (late bars) give stale_bars, never a signal; a product whose
   source serves a bad candle (high < low) stores nothing and the fetch names the row and field.
3. The fetcher killed mid-fetch (during the request; and after the COPY, before the commit):
   no bar of that fetch is stored; after a restart the fetch completes, each bar once.
4. The fetcher down: the run's deadline passes and the waiting deployment is REJECTED
   stale_bars (quant.feed_deadline), never evaluated on the old bars.
No sleeps as synchronisation and no time assertions: every wait is on a condition with a
generous deadline. Last line: "N passed, N failed".
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "lib"))
import quanttest  # noqa: E402

T = quanttest.Tally(tap=True)
FAKE_DIR = os.path.join(REPO, "test", "fakes", "bybit")
sys.path.insert(0, FAKE_DIR)
from fakebybit import FakeBybit  # noqa: E402

FEED_BIN = os.environ["QUANT_FEED_BIN"]
WORKER_BIN = os.environ["QUANT_WORKER_BIN"]
RUN = uuid.uuid4().hex[:8].upper()
USER = f"feed_{RUN.lower()}"
JOB = f"quant_test_feed_{RUN.lower()}"
LOGDIR = tempfile.mkdtemp(prefix="quant_feed_test_")
HOUR_MS = 3_600_000


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


def wait_until(fn, timeout=30.0, step=0.2):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


def tk(name):
    return f"F{name}_{RUN}"


def strategy(ticker, factor=None, window=5):
    sub = {"indicator": "get_sma", "signal_func": "momentum_band_signal", "window": window, "signal": 1.0}
    subs = [sub]
    if factor:
        subs.append(dict(sub, id=2, ticker=factor))
        subs[0] = dict(sub, id=1)
    cfg = {"ticker": ticker, "interval": "1h", "trading_period": 8760, "conjunction": "AND", "substrategies": subs}
    return as_user(f"SELECT quant.create_strategy('{json.dumps(cfg)}')->>'strategy_id'")


def deploy(sid, ticker, qty="0.1"):
    return as_user(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'broker', 'PAPER', "
                   f"'ticker', '{ticker}', 'market', 'CRYPTO', 'qty', {qty}, 'schedule', 'hourly'))->>'deployment_id'")


def start(binary, name, **env):
    e = dict(os.environ)
    e.update({"QUANT_BYBIT_BASE_URL": fake.url, "QUANT_BYBIT_TIMEOUT_MS": "20000", "QUANT_FEED_POLL_MS": "300",
              "QUANT_WORKER_POLL_MS": "300", "QUANT_WORKER_ID": f"w-{RUN}", "QUANT_FEED_ID": f"{name}-{RUN}"})
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
    """(fetch_id, status, rows_stored, error) of ticker's fetches, oldest first."""
    out = quanttest.psql_c(f"SELECT fetch_id, status, coalesce(rows_stored, -1), coalesce(error, ''), attempts "
                           f"FROM md.bar_fetch WHERE ticker = '{ticker}' ORDER BY fetch_id")
    return [line.split("|", 4) for line in out.splitlines() if line.strip()]


def bars(ticker):
    return int(q(f"SELECT count(*) FROM md.bar WHERE ticker = '{ticker}' AND \"interval\" = '1h'"))


def log_rows(dep):
    out = quanttest.psql_c(f"SELECT action || '|' || coalesce(reason, '') || '|' || coalesce(message, '') "
                           f"FROM trade.log WHERE deployment_id = '{dep}' ORDER BY ts, log_id")
    return [line.split("|", 2) for line in out.splitlines() if line.strip()]


def old_candles(symbol_price, hours_ago_newest, n=60):
    """n hourly candles, the newest opened hours_ago_newest hours before the current hour."""
    now = int(time.time() * 1000) // HOUR_MS * HOUR_MS
    newest = now - hours_ago_newest * HOUR_MS
    return [[newest - i * HOUR_MS, symbol_price, symbol_price * 1.001, symbol_price * 0.999, symbol_price, 1, 1]
            for i in range(n)]


fake = FakeBybit(keys={"FEEDKEY": "FEEDSECRET"},
                 prices={"BTCUSDT": "50000", "ETHUSDT": "3000", "SOLUSDT": "150", "XRPUSDT": "2",
                         "ADAUSDT": "1"}).start()
feed = worker = None
try:
    if q("SELECT count(*) FROM pg_extension WHERE extname = 'pg_cron'") != "1":
        check("pg_cron is installed in the test database", False, "it is not")
        raise SystemExit
    A, C, L, X, V, K, K2, S = (tk(n) for n in "ACLXVKJS")
    # ---- sources: BYBIT klines for each product (the fake), one symbol unknown to it ----
    for t, sym in ((A, "BTCUSDT"), (C, "NOPEUSDT"), (L, "SOLUSDT"), (X, "XRPUSDT"), (V, "ADAUSDT"),
                   (K, "ETHUSDT"), (K2, "ETHUSDT"), (S, "BTCUSDT")):
        q(f"SELECT quant.set_feed('{t}', '1h', 'BYBIT', '{sym}')")
    eq("quant.list_feeds shows the sources", "8",
       q(f"SELECT count(*) FROM quant.list_feeds() f WHERE f->>'ticker' LIKE '%\\_{RUN}' AND f->>'source' = 'BYBIT'"))
    # late bars: SOL and XRP candles end 5 hours ago; a bad ADA candle (high below low)
    fake.control(op="klines", symbol="SOLUSDT", category="linear", interval="60", candles=old_candles(150, 5))
    fake.control(op="klines", symbol="XRPUSDT", category="linear", interval="60", candles=old_candles(2, 5))
    bad = old_candles(1, 1, 30)
    bad[3] = [bad[3][0], 1, 0.9, 1.1, 1, 1, 1]
    fake.control(op="klines", symbol="ADAUSDT", category="linear", interval="60", candles=bad)

    # ---- the strategies need their products' bars to exist before they are stored: a first row ----
    for t in (A, C, L, X, V, K, K2, S):
        q(f"INSERT INTO md.bar (ticker, \"interval\", ts, open, high, low, close, volume) VALUES "
          f"('{t}', '1h', date_trunc('hour', now()) - interval '400 hours', 1, 1, 1, 1, 1) ON CONFLICT DO NOTHING")
    dA = deploy(strategy(A), A)
    dC = deploy(strategy(C), C)
    dL = deploy(strategy(L), L)
    dX = deploy(strategy(A, factor=X), A)
    dV = deploy(strategy(V), V)
    check("five hourly PAPER deployments", all(len(d) == 36 for d in (dA, dC, dL, dX, dV)), str((dA, dC, dL, dX, dV)))

    feed = start(FEED_BIN, "feed1")
    worker = start(WORKER_BIN, "worker")

    # ---- 1. pg_cron tick -> fetch -> bars -> signal -> order on PAPER ----
    jobid = q(f"SELECT cron.schedule('{JOB}', '* * * * *', 'SELECT quant.run_schedule(''hourly'')')")
    print("# waiting for pg_cron (minute granularity) ...", flush=True)
    sig = wait_until(lambda: q(f"SELECT status FROM trade.signal WHERE deployment_id = '{dA}' AND status = 'DONE' LIMIT 1"),
                     timeout=180)
    q(f"SELECT cron.unschedule('{JOB}')")
    # let a run that pg_cron started finish before looking at the logs
    wait_until(lambda: q("SELECT count(*) FROM md.feed_run WHERE finished_at IS NULL AND deadline > now()") == "0",
               timeout=120)
    eq("the pg_cron job's run ended in a traded signal for the fresh product", "DONE", sig)
    ran = q(f"SELECT count(*) FROM cron.job_run_details WHERE jobid = {jobid or 0} AND status = 'succeeded'")
    check("pg_cron ran the job (cron.job_run_details)", ran not in ("", "0"), ran)
    fa = fetches(A)
    check("A's first fetch is DONE and stored bars", fa and fa[0][1] == "DONE" and int(fa[0][2]) > 0, str(fa[:2]))
    nA = bars(A)
    check("back-fill: at least the largest window's history (2 x 5 + 10 = 20 closed bars) + the seed row",
          nA >= 21, str(nA))
    eq("no duplicate bars", str(nA), q(f"SELECT count(DISTINCT ts) FROM md.bar WHERE ticker = '{A}' AND \"interval\" = '1h'"))
    formed = q(f"SELECT bool_and(b.ts + interval '1 hour' <= f.started_at) FROM md.bar b, md.bar_fetch f "
               f"WHERE b.ticker = '{A}' AND b.\"interval\" = '1h' AND f.fetch_id = {fa[0][0] if fa else 0}")
    eq("the forming candle was never stored (every bar closed before its fetch started)", "t", formed)
    eq("the signal is on the newest closed bar", "t",
       q(f"SELECT bool_and(s.bar_ts = (SELECT max(ts) FROM md.bar WHERE ticker = '{A}' AND \"interval\" = '1h') "
         f"AND s.bar_ts + interval '1 hour' <= s.created_at) FROM trade.signal s WHERE s.deployment_id = '{dA}'"))
    eq("the signal is long (+1)", "1", q(f"SELECT signal::int FROM trade.signal WHERE deployment_id = '{dA}' LIMIT 1"))
    rows = log_rows(dA)
    check("trade.log: a BUY on PAPER", any(r[0] == "BUY" for r in rows), str(rows))
    eq("the paper position is 0.1", "0.1", q(f"SELECT qty::float8::text FROM trade.position WHERE deployment_id = '{dA}'"))
    eq("one signal for the bar, however many ticks", "1",
       q(f"SELECT count(*) FROM trade.signal WHERE deployment_id = '{dA}'"))
    eq("gaps are reported: A's first fetch found the hole after the seed row", "t",
       q(f"SELECT jsonb_array_length(gaps) >= 1 FROM md.bar_fetch WHERE fetch_id = {fa[0][0] if fa else 0}"))
    fl = as_user(f"SELECT count(*) FROM quant.fetch_log('{A}', '1h') l WHERE l->>'status' = 'DONE'")
    check("quant.fetch_log lists A's fetches", fl not in ("", "0"), fl)

    # ---- 2. one bad product never blocks the others; late bars -> stale_bars ----
    rc = log_rows(dC)
    check("a failing source: REJECTED stale_bars naming the product and the source's error",
          rc and all(r[0] == "REJECTED" and r[1] == "stale_bars" for r in rc) and C in rc[0][2]
          and "Not supported symbols" in rc[0][2], str(rc[:2]))
    fc = fetches(C)
    check("its fetches are FAILED with the error", fc and all(f[1] == "FAILED" and f[3] for f in fc), str(fc[:2]))
    eq("no signal for the failing product", "0", q(f"SELECT count(*) FROM trade.signal WHERE deployment_id = '{dC}'"))
    eq("md.feed counts its consecutive failures", "t",
       q(f"SELECT failures >= 1 AND last_error IS NOT NULL FROM md.feed WHERE ticker = '{C}'"))
    rl = log_rows(dL)
    check("late bars of the traded product: REJECTED stale_bars, no signal",
          rl and all(r[1] == "stale_bars" for r in rl) and L in rl[0][2], str(rl[:2]))
    eq("... no signal", "0", q(f"SELECT count(*) FROM trade.signal WHERE deployment_id = '{dL}'"))
    rx = log_rows(dX)
    check("late bars of a FACTOR product: REJECTED stale_bars naming it, no signal",
          rx and all(r[1] == "stale_bars" for r in rx) and X in rx[0][2], str(rx[:2]))
    eq("... no signal", "0", q(f"SELECT count(*) FROM trade.signal WHERE deployment_id = '{dX}'"))
    fv = fetches(V)
    check("a bad candle: the fetch FAILED naming the row and the field, nothing stored",
          fv and fv[0][1] == "FAILED" and re.search(r"bar \d+ \(", fv[0][3]) is not None
          and "high" in fv[0][3] and "below low" in fv[0][3], str(fv[:1]))
    eq("... not one of its bars stored", 1, bars(V))
    rv = log_rows(dV)
    check("... and its deployment REJECTED stale_bars", rv and rv[0][1] == "stale_bars", str(rv[:1]))
    for d in (dA, dC, dL, dX, dV):
        as_user(f"SELECT quant.stop_deployment('{d}')")

    # ---- 3a. kill the fetcher during the request: nothing stored, the next run completes ----
    dK = deploy(strategy(K), K)
    stop(feed)
    feed = start(FEED_BIN, "feedK")
    fake.fault("latency", ms=8000, path="/v5/market/kline")
    q("SET quant.feed_deadline_s = 600", "SELECT quant.run_schedule('hourly')")
    got = wait_until(lambda: (lambda f: f and f[-1][1] == "FETCHING")(fetches(K)), timeout=60)
    check("the fetch is FETCHING (the fetcher waits on the slow source)", bool(got), str(fetches(K)))
    feed.kill()
    feed.wait()
    fk = fetches(K)
    eq("killed mid-request: still FETCHING, claimed", "FETCHING", fk[-1][1] if fk else "")
    eq("... and no bar of it stored", 1, bars(K))
    fake.control(op="clear_faults")
    feed = start(FEED_BIN, "feedK")  # the same id takes its own claim back at once
    done = wait_until(lambda: (lambda f: f and f[-1][1] in ("DONE", "FAILED") and f[-1])(fetches(K)), timeout=90)
    check("after the restart the fetch completes (DONE, second attempt)",
          bool(done) and done[1] == "DONE" and done[4] == "2", str(done))
    nK = bars(K)
    check("its bars are stored once each", nK >= 21 and str(nK) == q(
        f"SELECT count(DISTINCT ts) FROM md.bar WHERE ticker = '{K}' AND \"interval\" = '1h'"), str(nK))
    sk = wait_until(lambda: q(f"SELECT status FROM trade.signal WHERE deployment_id = '{dK}' AND status = 'DONE' LIMIT 1"),
                    timeout=60)
    eq("... and the waiting deployment traded", "DONE", sk)
    as_user(f"SELECT quant.stop_deployment('{dK}')")

    # ---- 3b. killed after the COPY, before the commit: nothing half-stored ----
    dK2 = deploy(strategy(K2), K2)
    stop(feed)
    feed = start(FEED_BIN, "feedK2", QUANT_FEED_CRASH_AT="before_commit")
    q("SET quant.feed_deadline_s = 600", "SELECT quant.run_schedule('hourly')")
    feed.wait(timeout=60)
    check("the fetcher died at its crash hook (SIGKILL)", feed.returncode == -signal.SIGKILL, str(feed.returncode))
    fk2 = fetches(K2)
    eq("after the COPY, before the commit: the fetch is still FETCHING", "FETCHING", fk2[-1][1] if fk2 else "")
    eq("... and none of its bars is in md.bar", 1, bars(K2))
    feed = start(FEED_BIN, "feedK2")
    done = wait_until(lambda: (lambda f: f and f[-1][1] in ("DONE", "FAILED") and f[-1])(fetches(K2)), timeout=90)
    check("after the restart it completes", bool(done) and done[1] == "DONE", str(done))
    nK2 = bars(K2)
    eq("every bar once", str(nK2), q(f"SELECT count(DISTINCT ts) FROM md.bar WHERE ticker = '{K2}' AND \"interval\" = '1h'"))
    eq("rows_stored = the bars the fetch added", str(nK2 - 1), done[2] if done else "")
    as_user(f"SELECT quant.stop_deployment('{dK2}')")

    # ---- 4. the fetcher is down: the deadline passes -> stale_bars, no signal ----
    dS = deploy(strategy(S), S)
    stop(feed)
    feed = None
    q("SET quant.feed_deadline_s = 0", "SELECT quant.run_schedule('hourly')")
    eq("nothing evaluated while it waits", "0", q(f"SELECT count(*) FROM trade.log WHERE deployment_id = '{dS}'"))
    n = q("SELECT quant.feed_deadline()")
    check("quant.feed_deadline evaluates the waiting deployment", n not in ("", "0"), n)
    rs = log_rows(dS)
    check("bars that did not arrive in time: REJECTED stale_bars naming the product",
          rs and rs[0][1] == "stale_bars" and S in rs[0][2] and "deadline" in rs[0][2], str(rs))
    eq("... no signal on the old bars", "0", q(f"SELECT count(*) FROM trade.signal WHERE deployment_id = '{dS}'"))
    as_user(f"SELECT quant.stop_deployment('{dS}')")
except SystemExit:
    pass
except Exception as e:  # a failure of the harness itself is a failed check, not a crash
    check("the test ran to its end", False, repr(e)[:500])
finally:
    try:
        q(f"SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = '{JOB}'")
    except Exception:
        pass
    for p in (feed, worker):
        if p is not None and p.poll() is None:
            p.kill()
            p.wait()
    fake.stop()

print(f"# logs: {LOGDIR}")
sys.exit(T.summary())
