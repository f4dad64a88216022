#!/usr/bin/env python3
"""FUTU order pushes end to end (issue 14): real PostgreSQL, quant-worker and fake-opend.

The worker subscribes its accounts (Trd_SubAccPush) and books a fill from the Trd_UpdateOrder /
Trd_UpdateOrderFill pushes. Polling is slowed (QUANT_FUTU_POLL_MS=2000) so the source shows in the
fake's request counts: with pushes, the signal is DONE with no Trd_GetOrderList at all; with pushes
suppressed at the fake, polling (the fallback) still books it; with pushes late and polling fast,
both arrive and the fill is booked once. After the fake drops every connection the worker
subscribes again. Books equal the fake's throughout. Last line: "N passed, N failed".
"""
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
BIN = os.environ["QUANT_WORKER_BIN"]
RUN = uuid.uuid4().hex[:8]
USER = f"futu_push_{RUN}"
LOGDIR = tempfile.mkdtemp(prefix="quant_futu_push_test_")
SIM_US = 1001


def check(desc, ok, detail=""):
    T.check(ok, desc, detail)


def eq(desc, want, got):
    check(desc, want == got, f"expected {want!r}, got {got!r}")


def q(*sql):
    out = quanttest.psql_c(*sql)
    lines = [line for line in out.splitlines() if line.strip() != ""]
    return lines[-1] if lines else ""


def wait_until(fn, timeout=30.0, step=0.1):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


fake = FakeOpenD(accounts=[f"simulate:US:{SIM_US}", "real:US:2001"], prices={"US.AAPL": "190"}).start()
worker = None


def start_worker(name, **env):
    e = dict(os.environ)
    e.update({"QUANT_WORKER_ID": f"{name}-{RUN}", "QUANT_WORKER_POLL_MS": "300",
              "QUANT_FUTU_OPEND": f"127.0.0.1:{fake.port}", "QUANT_FUTU_FOLLOW_MS": "15000",
              "QUANT_FUTU_POLL_MS": "2000", "QUANT_FUTU_TIMEOUT_MS": "3000", "QUANT_FUTU_PLACE_PER_30S": "1000",
              "QUANT_BYBIT_BASE_URL": "off", "QUANT_WORKER_LOG_LEVEL": "debug"})
    e.update({k: str(v) for k, v in env.items()})
    log = open(os.path.join(LOGDIR, f"{name}.log"), "a")
    p = subprocess.Popen([BIN], env=e, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
    p.logname = log.name
    return p


def stop_worker(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


try:
    q("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) VALUES "
      "('AAPL', timestamptz '2031-01-01', 190, 190, 190, 190, 1) ON CONFLICT DO NOTHING")
    sid = q(f"SELECT quant.set_user('{USER}')",
            "SELECT quant.create_strategy('{\"ticker\":\"AAPL\",\"trading_period\":365,\"substrategies\":[{\"indicator\":"
            "\"get_rsi\",\"signal_func\":\"reversion_bounded_signal\",\"window\":14,\"signal\":30}]}')->>'strategy_id'")
    dep = q(f"SELECT quant.set_user('{USER}')",
            f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'broker', 'FUTU', 'qty', 2, "
            f"'schedule', 'manual', 'risk_limits', jsonb_build_object('max_bar_age_hours', null, "
            f"'max_orders_per_minute', 100, 'max_daily_trades', 100, 'max_consecutive_rejects', 100)))->>'deployment_id'")
    check("a paper FUTU deployment (SIMULATE)", len(dep) == 36, dep)
    bar = [0]

    def add_signal(value):
        bar[0] += 1
        return q(f"WITH d AS (SELECT * FROM trade.deployment WHERE deployment_id = '{dep}'), "
                 f"s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version) "
                 f"SELECT deployment_id, user_id, timestamptz '2031-01-01' + {bar[0]} * interval '1 minute', {value}, "
                 f"'AAPL', strategy_version FROM d RETURNING signal_id) "
                 f"SELECT signal_id, pg_notify('quant_signal', signal_id::text) FROM s").split("|")[0]

    def status(s):
        return q(f"SELECT status FROM trade.signal WHERE signal_id = '{s}'")

    def wait_final(s):
        return wait_until(lambda: status(s) in ("DONE", "REJECTED") and status(s), 40) or status(s)

    def order_lists():
        r = fake.state()["requests"]
        return r.get("2201", 0) + r.get("2221", 0)

    def fake_qty():
        return fake.state()["accounts"][str(SIM_US)]["positions"].get("US.AAPL", {}).get("qty", 0.0)

    def booked():
        return float(q(f"SELECT coalesce(qty::float8::text, '0') FROM trade.position WHERE deployment_id = '{dep}'") or 0)

    def fills_per_order():
        return q(f"SELECT coalesce(max(n), 0) FROM (SELECT count(*) n FROM trade.fill f JOIN trade.\"order\" o "
                 f"USING (client_order_id) WHERE o.deployment_id = '{dep}' GROUP BY client_order_id) x")

    worker = start_worker("w1")

    # ---- pushes on, polling slowed: booked from the push ----
    s1 = add_signal(1)
    wait_until(lambda: fake.state()["pushes"]["subscriptions"] == [SIM_US], 20)
    eq("the worker subscribed the SIMULATE account (Trd_SubAccPush, the full list)", [SIM_US],
       fake.state()["pushes"]["subscriptions"])
    eq("pushes on: the buy is DONE", "DONE", wait_final(s1))
    st = fake.state()
    check("...the fake pushed Trd_UpdateOrder and Trd_UpdateOrderFill",
          st["pushes"]["sent"]["2208"] >= 1 and st["pushes"]["sent"]["2218"] >= 1, str(st["pushes"]))
    eq("...booked from the push: no order-list query (Trd_GetOrderList / history) was needed", 0, order_lists())
    check("...the worker logged the pushed outcome", '"event":"futu_order_pushed"' in open(worker.logname).read())
    eq("...books equal the fake (2)", (2.0, 2.0), (fake_qty(), booked()))
    first = next((ln for ln in open(worker.logname) if '"event":"order_result"' in ln), "")
    check("...from the Trd_UpdateOrder push (its status Filled_All)", '"message":"futu Filled_All"' in first, first[:300])

    # ---- only fill pushes (Trd_UpdateOrderFill adding up to the qty) settle it too ----
    fake.control(op="pushes", enabled=True, kinds=[2218])
    s1b = add_signal(0)
    eq("fill pushes only: the close is DONE", "DONE", wait_final(s1b))
    eq("...still no order-list query", 0, order_lists())
    check("...booked from Trd_UpdateOrderFill", "from Trd_UpdateOrderFill pushes" in open(worker.logname).read())
    eq("...flat at the fake and in the books", (0.0, 0.0), (fake_qty(), booked()))
    s1c = add_signal(1)
    eq("...buy again (books 2)", "DONE", wait_final(s1c))
    fake.control(op="pushes", enabled=True)

    # ---- pushes suppressed: polling (the fallback) books it ----
    fake.control(op="pushes", enabled=False)
    before = order_lists()
    s2 = add_signal(-1)
    eq("pushes suppressed: the flip is DONE all the same", "DONE", wait_final(s2))
    check("...through the order list (polling)", order_lists() > before, f"{before} -> {order_lists()}")
    check("...the fake suppressed pushes", fake.state()["pushes"]["suppressed"] > 0)
    eq("...books equal the fake (-2)", (-2.0, -2.0), (fake_qty(), booked()))

    # ---- both arrive (pushes late, polling fast): booked once ----
    stop_worker(worker)
    fake.control(op="pushes", enabled=True, delay_ms=400)
    worker = start_worker("w2", QUANT_FUTU_POLL_MS="20")
    s3 = add_signal(0)
    eq("pushes late + polling fast: DONE", "DONE", wait_final(s3))
    s4 = add_signal(1)
    eq("...and the next signal too (the late pushes of the last order are ignored)", "DONE", wait_final(s4))
    time.sleep(0.5)  # let the last late push arrive before counting
    eq("...every order has exactly one fill (never booked twice)", "1", fills_per_order())
    eq("...books equal the fake (2)", (2.0, 2.0), (fake_qty(), booked()))
    eq("...as many fills booked as the fake made", str(sum(1 for _ in fake.state()["accounts"][str(SIM_US)]["fills"])),
       q(f"SELECT count(*) FROM trade.fill f JOIN trade.\"order\" o USING (client_order_id) WHERE o.deployment_id = '{dep}'"))

    # ---- the connection dropped: subscribed again on the new one, pushes book again ----
    stop_worker(worker)
    fake.control(op="pushes", enabled=True, delay_ms=0)
    worker = start_worker("w3")
    s5 = add_signal(0)
    eq("a first signal on the new worker: DONE", "DONE", wait_final(s5))
    fake.control(op="drop_connections")
    wait_until(lambda: fake.state()["pushes"]["subscriptions"] == [], 10)
    s6 = add_signal(1)
    eq("after the fake dropped the connection: DONE", "DONE", wait_final(s6))
    eq("...the new connection subscribed again", [SIM_US], fake.state()["pushes"]["subscriptions"])
    eq("...books equal the fake (2)", (2.0, 2.0), (fake_qty(), booked()))
    stop_worker(worker)
    st = fake.state()
    eq("no protocol violation at the fake", [], st["violations"])
    remarks = [p["remark"] for p in st["place_orders"] if p["retType"] == 0]
    eq("no remark accepted twice (no duplicate order)", len(remarks), len(set(remarks)))
finally:
    if worker is not None and worker.poll() is None:
        worker.kill()
    fake.stop()

print(f"# logs: {LOGDIR}")
sys.exit(T.summary())
