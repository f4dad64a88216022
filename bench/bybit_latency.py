#!/usr/bin/env python3
"""Signal commit -> order filled, BYBIT (against fake-bybit) beside PAPER in the same run, and
the signed requests per second one adapter sustains against the fake (issue 12). Never asserted.

    PG*=... python3 bench/bybit_latency.py [N_SIGNALS=1000]

Needs PG* (a superuser) on a database with quant and the TTRC sample bars (as the test cluster
has them), build/worker/quant-worker and build/bench/bench_bybit. It starts fake-bybit
(test/fakes/bybit) on loopback, stores demo credentials for its own user bench_bybit_<pid> (a key
file in a temporary directory), deploys one PAPER deployment (TTRC) and one BYBIT linear one
(BTC-USD -> BTCUSDT), starts one quant-worker and sends N signals to each, one at a time (20 ms
apart: the path, not a queue), alternating 1 / 0 (every signal one market order). Per signal,
from clock_timestamp() right after the signal's COMMIT:
  PAPER  -> the paper broker's fill (paper."order".created_at: it fills at once)
  BYBIT  -> the fake's fill (its order's updatedTime, ms: the fake fills a market order at once)
  both   -> booked (trade."order".resolved_at, the statement writing the BUY/SELL trade.log row)
The fake's own latency is measured apart: signed requests from bench_bybit (C++, the adapter's
gateway) per endpoint, first with Bybit's default budgets (which the gateway obeys: X-Bapi-Limit-
Status 0 -> wait for the reset), then raised. The signals run with the budgets raised: at 50
signals/s they would otherwise queue behind order/create's 10/s. The deployments are stopped at
the end.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(REPO, "test", "lib"))
sys.path.insert(0, os.path.join(REPO, "test", "fakes", "bybit"))
import quanttest  # noqa: E402
from fakebybit import FakeBybit  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
WORKER = os.environ.get("QUANT_WORKER_BIN", os.path.join(REPO, "build", "worker", "quant-worker"))
BENCH = os.environ.get("QUANT_BENCH_BYBIT_BIN", os.path.join(REPO, "build", "bench", "bench_bybit"))
USER = f"bench_bybit_{os.getpid()}"
KEY, SECRET = f"BENCH{os.getpid()}", f"bench-secret-{os.getpid()}-x"


def q(*sql):
    out = quanttest.psql_c(*sql)
    lines = [line for line in out.splitlines() if line.strip() != ""]
    return lines[-1] if lines else ""


def as_user(sql):
    return q(f"SELECT quant.set_user('{USER}')", sql)


def deploy(strategy, broker):
    return as_user(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{strategy}', 'broker', '{broker}', "
                   f"'qty', {'0.01' if broker == 'BYBIT' else '1'}, 'schedule', 'manual', 'risk_limits', "
                   f"jsonb_build_object('max_bar_age_hours', null, 'max_orders_per_minute', 10000, "
                   f"'max_daily_trades', 100000, 'max_consecutive_rejects', 100, "
                   f"'max_position_usd', 1000000)))->>'deployment_id'")


def strategy(ticker):
    return as_user(f"SELECT quant.create_strategy('{{\"ticker\":\"{ticker}\",\"trading_period\":365,"
                   f"\"substrategies\":[{{\"indicator\":\"get_rsi\",\"signal_func\":\"reversion_bounded_signal\","
                   f"\"window\":14,\"signal\":30}}]}}')->>'strategy_id'")


def send(dep, ticker, n, start_bar):
    """n signals one at a time, 20 ms apart, each committed; the commit times in bench_bybit_commit."""
    q("SET synchronous_commit = on", f"""
    DO $$
    DECLARE sid uuid;
    BEGIN
        FOR i IN 0 .. {n} - 1 LOOP
            INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version)
            SELECT d.deployment_id, d.user_id, timestamptz '2032-01-01' + ({start_bar} + i) * interval '1 minute',
                   CASE WHEN i % 2 = 0 THEN 1 ELSE 0 END, '{ticker}', d.strategy_version
            FROM trade.deployment d WHERE d.deployment_id = '{dep}'
            RETURNING signal_id INTO sid;
            PERFORM pg_notify('quant_signal', sid::text);
            COMMIT;
            INSERT INTO public.bench_bybit_commit VALUES (sid, clock_timestamp());
            COMMIT;
            PERFORM pg_sleep(0.02);
        END LOOP;
    END
    $$""")
    deadline = time.time() + 120
    while time.time() < deadline:
        if q(f"SELECT count(*) FROM trade.signal WHERE deployment_id = '{dep}' AND status IN ('PENDING', 'PROCESSING')") == "0":
            return
        time.sleep(0.2)


def pct(sql_ms, where):
    return q(f"""WITH x AS ({sql_ms})
        SELECT 'n=' || count(*) || '  p50 ' || round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 2)
            || ' ms  p99 ' || round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 2)
            || ' ms  max ' || round(max(ms)::numeric, 2) || ' ms' FROM x {where}""")


def main():
    keydir = tempfile.mkdtemp(prefix="quant_bench_cred_")
    os.chmod(keydir, 0o755)
    keyfile = os.path.join(keydir, "credential.key")
    with open(keyfile, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    os.chmod(keyfile, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
    fake = FakeBybit(keys={KEY: SECRET}, balances={"USDT": "100000000"}, prices={"BTCUSDT": "50000"}).start()
    worker = None
    try:
        q("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) VALUES "
          "('BTC-USD', timestamptz '2031-01-01', 50000, 50000, 50000, 50000, 1) ON CONFLICT DO NOTHING")
        q(f"SET quant.credential_key_file = '{keyfile}'", f"SELECT quant.set_user('{USER}')",
          f"SELECT quant.set_broker_credential('BYBIT', 'demo', '{KEY}', '{SECRET}')")
        if os.path.exists(BENCH):
            print("# one adapter's gateway against the fake (bench_bybit, 3 s per case), Bybit's default budgets "
                  "(the gateway waits when X-Bapi-Limit-Status reaches 0):")
            sys.stdout.flush()
            subprocess.run([BENCH, fake.url, KEY, SECRET, "3"], check=False)
        else:
            print(f"# {BENCH} not built: no requests/s figure")
        # the signals below come at 50/s, above Bybit's default order/create budget (10/s), which
        # the gateway obeys: raised so that the figure is the path, not the budget's queue
        for path in ("/v5/position/list", "/v5/account/wallet-balance", "/v5/order/realtime",
                     "/v5/order/history", "/v5/order/create"):
            fake.control(op="set_rate_limit", path=path, limit=1000000)
        paper = deploy(strategy("TTRC"), "PAPER")
        bybit = deploy(strategy("BTC-USD"), "BYBIT")
        q("SET client_min_messages = warning",
          "CREATE TABLE IF NOT EXISTS public.bench_bybit_commit (signal_id uuid PRIMARY KEY, committed_at timestamptz)")
        q("TRUNCATE public.bench_bybit_commit")
        env = dict(os.environ, QUANT_WORKER_ID=f"{USER}-w", QUANT_WORKER_LOG_LEVEL="warn", QUANT_WORKER_POLL_MS="1000",
                   QUANT_BYBIT_BASE_URL=fake.url, QUANT_CREDENTIAL_KEY_FILE=keyfile, QUANT_BYBIT_POLL_MS="1")
        log = open(os.path.join(keydir, "worker.log"), "w")
        worker = subprocess.Popen([WORKER], env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        time.sleep(1)
        load = os.getloadavg()
        print(f"# {N} signals per broker, one at a time (20 ms apart), one quant-worker; load average {load[0]:.2f}")
        send(paper, "TTRC", N, 0)
        send(bybit, "BTC-USD", N, N)
        # the fake's fill times (its clock = ours: no skew)
        fills = {o["orderLinkId"]: int(o["updatedTime"]) for o in fake.state()["accounts"][KEY]["orders"]
                 if o.get("orderStatus") == "Filled" and o.get("orderLinkId")}
        q("CREATE TABLE IF NOT EXISTS public.bench_bybit_fill (client_order_id text PRIMARY KEY, filled_ms bigint)")
        q("TRUNCATE public.bench_bybit_fill")
        rows = ",".join(f"('{k}', {v})" for k, v in fills.items())
        if rows:
            q(f"INSERT INTO public.bench_bybit_fill VALUES {rows}")
        base = ("FROM public.bench_bybit_commit c JOIN trade.\"order\" o USING (signal_id) "
                "WHERE o.status = 'FILLED' AND o.deployment_id = '{}'")
        print("PAPER  commit -> paper broker fill:   " + pct(
            "SELECT extract(epoch FROM p.created_at - c.committed_at) * 1000 AS ms " + base.format(paper).replace(
                "WHERE", "JOIN paper.\"order\" p USING (client_order_id) WHERE"), ""))
        print("PAPER  commit -> booked (trade.log):  " + pct(
            "SELECT extract(epoch FROM o.resolved_at - c.committed_at) * 1000 AS ms " + base.format(paper), ""))
        print("BYBIT  commit -> filled at the fake:  " + pct(
            "SELECT f.filled_ms - extract(epoch FROM c.committed_at) * 1000 AS ms " + base.format(bybit).replace(
                "WHERE", "JOIN public.bench_bybit_fill f USING (client_order_id) WHERE"), ""))
        print("BYBIT  commit -> booked (trade.log):  " + pct(
            "SELECT extract(epoch FROM o.resolved_at - c.committed_at) * 1000 AS ms " + base.format(bybit), ""))
        reqs = fake.state()["requests"]
        print("# fake requests during the run: " + ", ".join(f"{k} {v}" for k, v in sorted(reqs.items())))
        worker.terminate()
        worker.wait(30)
        worker = None
        if os.path.exists(BENCH):
            print("# the same with the fake's budgets raised (as during the signals above):")
            sys.stdout.flush()
            subprocess.run([BENCH, fake.url, KEY, SECRET, "3"], check=False)
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
        fake.stop()
        q(f"UPDATE trade.deployment SET enabled = false, stopped_at = now() WHERE user_id = '{USER}' AND stopped_at IS NULL")
        q("DROP TABLE IF EXISTS public.bench_bybit_commit, public.bench_bybit_fill")
        shutil.rmtree(keydir, ignore_errors=True)


if __name__ == "__main__":
    main()
