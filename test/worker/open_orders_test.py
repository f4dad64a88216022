#!/usr/bin/env python3
"""Orders that do not finish at once (issue 15, part 3): real PostgreSQL, quant-worker and
fake-bybit (test/fakes/bybit) as separate processes.

A deployment's risk_limits.open_order_policy (cancel, the default, or leave) and
open_order_timeout_s (default 60) say what happens to an order still open at the broker after
its deadline; the worker's sweep (QUANT_WORKER_SWEEP_MS) applies them:
- validation: a bad policy or timeout is refused by quant.deploy naming the field (22023);
- cancel, an order that stays New: cancelled at the fake by its orderLinkId after the
  deadline; CANCELLED in the books, no fill, flat, the signal REJECTED; sent once;
- cancel after a partial fill: the parts so far booked as fills (each the fake's execution),
  then cancelled; the order FILLED for what was filled, the position = the fake's cumExecQty
  (less than the order's qty), the remainder never re-sent (one create), the signal DONE;
- the cancel is idempotent on the client order id: the worker SIGKILLed right after the
  cancel (QUANT_WORKER_CRASH_AT=after_cancel), restarted: it finds the order Cancelled and
  books it once; one create, one cancel accepted;
- leave: past its deadline the order stays open at the fake (no cancel), SENT in the books,
  its parts booked as they fill; when the rest fills it is reconciled FILLED;
- paper: the paper broker never leaves an order open: nothing is ever overdue.
Last line: "N passed, N failed".
"""
import os
import signal
import stat
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

BIN = os.environ["QUANT_WORKER_BIN"]
RUN = uuid.uuid4().hex[:8]
USER = f"oo_{RUN}"
API_KEY = f"OOKEY{RUN}"
SECRET = f"oo-SeCrEt-{uuid.uuid4().hex}"
LOGDIR = tempfile.mkdtemp(prefix="quant_open_orders_test_")


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


def wait_until(fn, timeout=20.0, step=0.1):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


keydir = tempfile.mkdtemp(prefix="quant_cred_")
os.chmod(keydir, 0o755)
KEYFILE = os.path.join(keydir, "credential.key")
with open(KEYFILE, "w") as f:
    f.write(os.urandom(32).hex() + "\n")
os.chmod(KEYFILE, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
SET_KEY = f"SET quant.credential_key_file = '{KEYFILE}'"

fake = FakeBybit(keys={API_KEY: SECRET}, balances={"USDT": "100000"}, prices={"BTCUSDT": "50000"}).start()
workers = []
try:
    q("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) VALUES "
      "('BTC-USD', timestamptz '2031-01-01', 50000, 50000, 50000, 50000, 1) ON CONFLICT DO NOTHING")
    sid = as_user("SELECT quant.create_strategy('{\"ticker\":\"BTC-USD\",\"trading_period\":365,\"substrategies\":"
                  "[{\"indicator\":\"get_rsi\",\"signal_func\":\"reversion_bounded_signal\",\"window\":14,"
                  "\"signal\":30}]}')->>'strategy_id'")
    q(SET_KEY, f"SELECT quant.set_user('{USER}')",
      f"SELECT quant.set_broker_credential('BYBIT', 'demo', '{API_KEY}', '{SECRET}')")

    def deploy(qty="0.01", broker="BYBIT", **limits):
        rl = ", ".join(f"'{k}', {v if not isinstance(v, str) else repr(v)}" for k, v in limits.items())
        rl = (", " + rl) if rl else ""
        return as_user(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'broker', '{broker}', "
                       f"'qty', {qty}, 'schedule', 'manual', "
                       f"'risk_limits', jsonb_build_object('max_bar_age_hours', null, 'max_orders_per_minute', 100, "
                       f"'max_daily_trades', 100, 'max_consecutive_rejects', 100{rl})))->>'deployment_id'")

    print("# validation of the policy")
    for bad, field in ((("open_order_policy", "'cancelled'"), "open_order_policy"),
                       (("open_order_timeout_s", "0"), "open_order_timeout_s"),
                       (("open_order_timeout_s", "1.5"), "open_order_timeout_s"),
                       (("open_order_timeout_s", "86401"), "open_order_timeout_s")):
        try:
            as_user(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'qty', 1, 'schedule', 'manual', "
                    f"'risk_limits', jsonb_build_object('{bad[0]}', {bad[1]})))")
            check(f"{bad[0]} = {bad[1]} is refused", False, "accepted")
        except RuntimeError as e:
            check(f"{bad[0]} = {bad[1]} is refused naming risk_limits.{field}",
                  f"risk_limits.{field}" in str(e) and ("cancel" in str(e) or "86400" in str(e)), str(e)[:300])
    dflt = deploy()
    eq("not given: the stored limits leave them out (the defaults apply: cancel, 60 s)", "|",
       q(f"SELECT concat(risk_limits->>'open_order_policy', '|', risk_limits->>'open_order_timeout_s') "
         f"FROM trade.deployment WHERE deployment_id = '{dflt}'"))
    eq("given: stored normalised", "leave|5",
       q(f"SELECT concat(risk_limits->>'open_order_policy', '|', risk_limits->>'open_order_timeout_s') "
         f"FROM trade.deployment WHERE deployment_id = '{deploy(open_order_policy='leave', open_order_timeout_s=5)}'"))

    def start_worker(name, **env):
        e = dict(os.environ)
        e.update({"QUANT_WORKER_ID": f"{name}-{RUN}", "QUANT_WORKER_POLL_MS": "200", "QUANT_WORKER_SWEEP_MS": "300",
                  "QUANT_BYBIT_BASE_URL": fake.url, "QUANT_CREDENTIAL_KEY_FILE": KEYFILE,
                  "QUANT_BYBIT_FOLLOW_MS": "800", "QUANT_BYBIT_POLL_MS": "100", "QUANT_BYBIT_TIMEOUT_MS": "2000"})
        e.pop("QUANT_WORKER_CRASH_AT", None)
        e.update({k: str(v) for k, v in env.items()})
        log = open(os.path.join(LOGDIR, f"{name}.log"), "a")
        p = subprocess.Popen([BIN], env=e, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        p.logname = log.name
        workers.append(p)
        return p

    def stop_worker(p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    bar = [0]

    def add_signal(d, value):
        bar[0] += 1
        return q(f"WITH d AS (SELECT * FROM trade.deployment WHERE deployment_id = '{d}'), "
                 f"s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version) "
                 f"SELECT deployment_id, user_id, timestamptz '2031-01-01' + {bar[0]} * interval '1 minute', {value}, "
                 f"'BTC-USD', strategy_version FROM d RETURNING signal_id) "
                 f"SELECT signal_id, pg_notify('quant_signal', signal_id::text) FROM s").split("|")[0]

    def status(s):
        return q(f"SELECT status FROM trade.signal WHERE signal_id = '{s}'")

    def wait_final(s, timeout=30.0):
        return wait_until(lambda: status(s) in ("DONE", "REJECTED") and status(s), timeout) or status(s)

    def order_of(s):
        r = q(f"SELECT client_order_id || '|' || status || '|' || qty::text || '|' || filled_qty::text "
              f"FROM trade.\"order\" WHERE signal_id = '{s}' ORDER BY created_at LIMIT 1")
        return r.split("|") if r else ["", "", "0", "0"]

    def fake_order(link):
        found = [x for x in fake.state()["accounts"][API_KEY]["orders"] if x.get("orderLinkId") == link]
        return found[0] if len(found) == 1 else {}

    def creates(link):
        return [c for c in fake.state()["creates"] if c["orderLinkId"] == link and c.get("retCode") == 0]

    def fills_of(link):
        return [tuple(float(x) for x in r.split("|")) for r in quanttest.psql_c(
            f"SELECT qty::text || '|' || fee::text FROM trade.fill WHERE client_order_id = '{link}' ORDER BY ts, fill_id"
        ).splitlines() if r.strip()]

    def fake_execs(link):
        return [(float(e["execQty"]), float(e["execFee"])) for e in fake.state()["accounts"][API_KEY]["executions"]
                if e["orderLinkId"] == link]

    def cancels():
        return fake.state()["requests"].get("POST /v5/order/cancel", 0)

    def position(d):
        return float(q(f"SELECT coalesce(sum(qty), 0)::text FROM trade.position WHERE deployment_id = '{d}'") or 0)

    def close(a, b):
        return abs(a - b) < 1e-9

    w = start_worker("oo")

    print("# cancel: an order that stays New")
    dep = deploy(open_order_timeout_s=1)
    fake.fault("stay_new")
    c0 = cancels()
    s = add_signal(dep, 1)
    # (the signal itself may end first: refused unknown_position while its order is open)
    check("the order is CANCELLED after its deadline", bool(wait_until(lambda: order_of(s)[1] == "CANCELLED", 30)),
          str(order_of(s)))
    eq("...the signal ends REJECTED (nothing filled)", "REJECTED", wait_final(s))
    link, st, qty, filled = order_of(s)
    eq("...the order CANCELLED in the books, nothing filled", ["CANCELLED", 0.0], [st, float(filled)])
    eq("...Cancelled at the fake, by its orderLinkId", "Cancelled", fake_order(link).get("orderStatus"))
    eq("...one cancel request, one create", [1, 1], [cancels() - c0, len(creates(link))])
    eq("...flat", 0.0, position(dep))
    check("...the worker logged open_order_cancelled", "open_order_cancelled" in open(w.logname).read())

    print("# cancel after a partial fill: the parts booked, the rest never re-sent")
    dep2 = deploy(qty="0.1", open_order_timeout_s=1)
    fake.fault("partial_fill", parts=1000)  # 0.001 per query of 0.1: open well past the deadline
    s = add_signal(dep2, 1)
    check("the order ends FILLED (for the part) after its deadline",
          bool(wait_until(lambda: order_of(s)[1] == "FILLED", 30)), str(order_of(s)))
    check("...the signal ends (DONE, or REJECTED unknown_position if it was taken up while the order was open)",
          wait_final(s) in ("DONE", "REJECTED"), status(s))
    link, st, qty, filled = order_of(s)
    fo = fake_order(link)
    check("...the fake's order ended cancelled with a part filled",
          fo.get("orderStatus") in ("Cancelled", "PartiallyFilledCanceled") and 0 < float(fo.get("cumExecQty", 0)) < 0.1,
          str({k: fo.get(k) for k in ("orderStatus", "cumExecQty")}))
    check("...FILLED in the books for the part: filled_qty = the fake's cumExecQty < qty 0.1",
          st == "FILLED" and close(float(filled), float(fo.get("cumExecQty", -1))) and float(filled) < 0.1,
          f"{st} {filled} {fo.get('cumExecQty')}")
    booked, execs = fills_of(link), fake_execs(link)
    check("...each part a trade.fill equal to the fake's executions (qty and fee)",
          len(booked) == len(execs) > 1 and all(close(a[0], b[0]) and close(a[1], b[1]) for a, b in zip(booked, execs)),
          f"books {len(booked)} fake {len(execs)}")
    check("...the position is what was filled", close(position(dep2), float(fo.get("cumExecQty", -1))),
          f"{position(dep2)}")
    time.sleep(1.5)  # sweeps after the end: nothing more is sent
    eq("...sent once: the remainder was never re-sent (one create; no other order of the deployment)", [1, 1],
       [len(creates(link)), int(q(f"SELECT count(*) FROM trade.\"order\" WHERE deployment_id = '{dep2}'"))])

    print("# the cancel is idempotent on the client order id: SIGKILL right after it")
    stop_worker(w)
    w = start_worker("oo-crash", QUANT_WORKER_CRASH_AT="after_cancel")
    dep3 = deploy(qty="0.05", open_order_timeout_s=1)  # (one account: its position holds the 0.009 above)
    fake.fault("stay_new")
    c0 = cancels()
    s = add_signal(dep3, 1)
    w.wait(timeout=30)
    eq("the worker was killed after the cancel (SIGKILL)", -9, w.returncode)
    link, st, qty, filled = order_of(s)
    eq("...the fake cancelled it, the books still say SENT", ["Cancelled", "SENT"],
       [fake_order(link).get("orderStatus"), st])
    w = start_worker("oo-crash")  # the same id, no crash hook
    check("after the restart the order is CANCELLED",
          bool(wait_until(lambda: order_of(s)[1] == "CANCELLED", 30)), str(order_of(s)))
    link, st, qty, filled = order_of(s)
    eq("...CANCELLED in the books", "CANCELLED", st)
    eq("...one create, one cancel request (the repeat found it ended)", [1, 1], [len(creates(link)), cancels() - c0])

    print("# leave: past its deadline the order stays open, its parts booked")
    dep4 = deploy(qty="0.1", open_order_policy="leave", open_order_timeout_s=1)
    c0 = cancels()
    fake.fault("partial_fill", parts=1000)
    s = add_signal(dep4, 1)
    check("the worker left it open (open_order_left)",
          bool(wait_until(lambda: "open_order_left" in open(w.logname).read(), 20)))
    time.sleep(1.5)
    link, st, qty, filled = order_of(s)
    fo = fake_order(link)
    check("...still open at the fake and SENT in the books, not cancelled",
          fo.get("orderStatus") in ("New", "PartiallyFilled") and st == "SENT" and cancels() == c0,
          f"{fo.get('orderStatus')} {st} cancels {cancels() - c0}")
    booked_before = len(fills_of(link))
    time.sleep(1.5)
    check("...each sweep books its new parts", len(fills_of(link)) > booked_before,
          f"{booked_before} -> {len(fills_of(link))}")
    fake.control(op="fill", orderLinkId=link)  # the rest fills
    ok = wait_until(lambda: order_of(s)[1] == "FILLED", 20)
    link, st, qty, filled = order_of(s)
    # (qty: what the account's position needed to reach 0.1; the earlier partial fill is in it)
    check("...when the rest filled: FILLED with the order's whole qty", bool(ok) and close(float(filled), float(qty)),
          f"{st} {filled} of {qty}")
    booked, execs = fills_of(link), fake_execs(link)
    check("...its fills are the fake's executions, summing to the qty", len(booked) == len(execs)
          and all(close(a[0], b[0]) and close(a[1], b[1]) for a, b in zip(booked, execs))
          and close(sum(b[0] for b in booked), float(qty)), f"{len(booked)} vs {len(execs)}")
    eq("...sent once", 1, len(creates(link)))

    print("# paper: never open, never overdue")
    pdep = deploy(qty="0.1", broker="PAPER", open_order_timeout_s=1)
    s = add_signal(pdep, 1)
    final = wait_final(s)
    link, st, qty, filled = order_of(s)
    check("a paper order is final at once (FILLED or REJECTED), never SENT", st in ("FILLED", "REJECTED") and
          final in ("DONE", "REJECTED"), f"{st} {final}")
    eq("...the sweep finds nothing overdue", "0",
       q(f"SELECT count(*) FROM trade.worker_overdue_orders('x', 60) WHERE deployment_id = '{pdep}'"))
    stop_worker(w)
    eq("the worker exits 0 on SIGTERM", 0, w.returncode)
except Exception as e:  # a harness failure is a failed test, the logs kept
    check("the test harness ran to the end", False, repr(e))
finally:
    for p in workers:
        if p.poll() is None:
            p.kill()
            p.wait()
    fake.stop()
    q(f"UPDATE trade.deployment SET enabled = false, stopped_at = now() WHERE user_id = '{USER}' AND stopped_at IS NULL")
if T.failed:
    print(f"# worker logs: {LOGDIR}")
sys.exit(T.summary())
