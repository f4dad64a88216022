#!/usr/bin/env python3
"""BYBIT end to end (issue 12): real PostgreSQL, quant-worker and fake-bybit (test/fakes/bybit)
as separate processes.

A user stores demo credentials (quant.set_broker_credential: sealed in the extension with a key
file, opened by the worker), deploys a BTC-USD strategy on BYBIT (paper -> the demo
environment; the worker's QUANT_BYBIT_BASE_URL points it at the fake). Then: signal -> risk
checks -> intent -> a signed order whose orderLinkId is the client order id -> filled at the fake
-> position from the fake -> trade.log; a flip closes first; spot (base units, -1 = flat);
faults (a dropped create answer: found by orderLinkId, never sent twice; an order that stays New:
SENT, then reconciled; a rejection 110007; a qty below the minimum: REJECTED, never sent; HTTP
403: REJECTED connection, fail closed); the secret never in the worker's log, the API or pg_dump.
Last line: "N passed, N failed".
"""
import json
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
if not os.path.exists(os.path.join(FAKE_DIR, "fakebybit.py")):
    # the fake is another work package's (test/fakes/bybit); without it there is nothing to run
    print("# SKIP: test/fakes/bybit is not in this checkout")
    print("0 passed, 0 failed")
    sys.exit(0)
sys.path.insert(0, FAKE_DIR)
from fakebybit import FakeBybit  # noqa: E402

BIN = os.environ["QUANT_WORKER_BIN"]
RUN = uuid.uuid4().hex[:8]
USER = f"bybit_{RUN}"
API_KEY = f"B2KEY{RUN}"
SECRET = f"b2-SeCrEt-{uuid.uuid4().hex}"
LOGDIR = tempfile.mkdtemp(prefix="quant_bybit_test_")


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


# ---- the key file: readable by the server (it seals) and the worker (it opens) ----
keydir = tempfile.mkdtemp(prefix="quant_cred_")
os.chmod(keydir, 0o755)
KEYFILE = os.path.join(keydir, "credential.key")
with open(KEYFILE, "w") as f:
    f.write(os.urandom(32).hex() + "\n")
os.chmod(KEYFILE, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
SET_KEY = f"SET quant.credential_key_file = '{KEYFILE}'"

fake = FakeBybit(keys={API_KEY: SECRET}, balances={"USDT": "100000"}, prices={"BTCUSDT": "50000"}).start()
worker = None
try:
    # BTC-USD bars price BTCUSDT for the risk checks (a shared mapping BTC-USD -> BTCUSDT)
    q("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) VALUES "
      "('BTC-USD', timestamptz '2031-01-01', 50000, 50000, 50000, 50000, 1) ON CONFLICT DO NOTHING")
    sid = as_user("SELECT quant.create_strategy('{\"ticker\":\"BTC-USD\",\"trading_period\":365,\"substrategies\":"
                  "[{\"indicator\":\"get_rsi\",\"signal_func\":\"reversion_bounded_signal\",\"window\":14,"
                  "\"signal\":30}]}')->>'strategy_id'")

    def deploy(category=None, qty="0.01"):
        extra = f", 'category', '{category}'" if category else ""
        return as_user(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'broker', 'BYBIT', "
                       f"'qty', {qty}, 'schedule', 'manual'{extra}, "
                       f"'risk_limits', jsonb_build_object('max_bar_age_hours', null, 'max_orders_per_minute', 100, "
                       f"'max_daily_trades', 100, 'max_consecutive_rejects', 100)))->>'deployment_id'")

    # ---- credentials and the deploy-time refusal ----
    try:
        deploy()
        check("deploy on BYBIT without credentials is refused", False, "it was accepted")
    except RuntimeError as e:
        check("deploy on BYBIT without credentials is refused, naming the demo environment",
              "credentials" in str(e) and "demo" in str(e), str(e)[:300])
    set_out = q(SET_KEY, f"SELECT quant.set_user('{USER}')",
                f"SELECT quant.set_broker_credential('BYBIT', 'demo', '{API_KEY}', '{SECRET}')")
    check("set_broker_credential returns a fingerprint, not the secret",
          '"fingerprint"' in set_out and SECRET not in set_out, set_out)
    listed = as_user("SELECT string_agg(l::text, ';') FROM quant.list_broker_credentials() l")
    check("list_broker_credentials never shows the secret", SECRET not in listed and "demo" in listed, listed)
    dep = deploy()
    check("with demo credentials the BYBIT deployment is accepted", len(dep) == 36, dep)
    eq("it trades BTCUSDT (the mapping)", "BTCUSDT",
       q(f"SELECT ticker FROM trade.deployment WHERE deployment_id = '{dep}'"))

    def start_worker(name, **env):
        e = dict(os.environ)
        e.update({"QUANT_WORKER_ID": f"{name}-{RUN}", "QUANT_WORKER_POLL_MS": "300",
                  "QUANT_BYBIT_BASE_URL": fake.url, "QUANT_CREDENTIAL_KEY_FILE": KEYFILE,
                  "QUANT_BYBIT_FOLLOW_MS": "1500", "QUANT_BYBIT_POLL_MS": "50", "QUANT_BYBIT_TIMEOUT_MS": "2000"})
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

    def wait_final(s, timeout=25.0):
        return wait_until(lambda: status(s) in ("DONE", "REJECTED") and status(s), timeout) or status(s)

    def orders_of(s):
        return [r.split("|") for r in quanttest.psql_c(
            f"SELECT client_order_id, status, side, qty::text, coalesce(filled_qty::text, ''), "
            f"coalesce(broker_order_id, '') FROM trade.\"order\" WHERE signal_id = '{s}' ORDER BY created_at, leg"
        ).splitlines() if r.strip()]

    def last_log(s):
        r = q(f"SELECT action || '|' || coalesce(reason, '') || '|' || coalesce(message, '') FROM trade.log "
              f"WHERE signal_id = '{s}' ORDER BY ts DESC, log_id DESC LIMIT 1")
        return r.split("|", 2) if r else ["", "", ""]

    def acct():
        return fake.state()["accounts"][API_KEY]

    def fake_position(symbol="BTCUSDT"):
        for p in acct()["positions"]:
            if p["symbol"] == symbol and float(p["size"]) > 0:
                return (p["side"], p["size"])
        return ("", "0")

    def creates(link):
        """The creates the fake accepted for this orderLinkId (a repeat gets 110072/170141 and makes no order)."""
        return [c for c in fake.state()["creates"] if c["orderLinkId"] == link and c.get("retCode") == 0]

    worker = start_worker("w1")

    # ---- end to end on linear ----
    s1 = add_signal(dep, 1)
    eq("linear buy: the signal is DONE", "DONE", wait_final(s1))
    o = orders_of(s1)
    check("one order, FILLED, its client order id 36 characters", len(o) == 1 and o[0][1] == "FILLED"
          and len(o[0][0]) == 36, str(o))
    link = o[0][0] if o else ""
    fo = [x for x in acct()["orders"] if x.get("orderLinkId") == link]
    check("the fake has exactly that orderLinkId (signed, accepted), Filled",
          len(fo) == 1 and fo[0]["orderStatus"] == "Filled" and len(creates(link)) == 1, str(fo)[:300])
    eq("the fake's position: Buy 0.01 BTCUSDT", ("Buy", "0.01"), (fake_position()[0], f"{float(fake_position()[1]):g}"))
    lg = last_log(s1)
    check("trade.log: a BUY row with the client order id", lg[0] == "BUY", str(lg))
    eq("trade.log.order_id is the client order id", link,
       q(f"SELECT order_id FROM trade.log WHERE signal_id = '{s1}' AND action = 'BUY'"))
    eq("the booked position equals the fake's (0.01)", "0.01",
       q(f"SELECT qty::float8::text FROM trade.position WHERE deployment_id = '{dep}'"))

    # ---- a flip: close the long first, then open the short ----
    s2 = add_signal(dep, -1)
    eq("flip: DONE", "DONE", wait_final(s2))
    o = orders_of(s2)
    check("flip: two SELL legs, both FILLED", len(o) == 2 and all(x[1] == "FILLED" and x[2] == "SELL" for x in o), str(o))
    eq("the fake's position: Sell 0.01", ("Sell", "0.01"), (fake_position()[0], f"{float(fake_position()[1]):g}"))
    eq("the booked position: -0.01", "-0.01",
       q(f"SELECT qty::float8::text FROM trade.position WHERE deployment_id = '{dep}'"))

    # ---- a dropped answer after the create was processed: looked up by orderLinkId, not re-sent ----
    fake.fault("drop", path="/v5/order/create")
    s3 = add_signal(dep, 0)
    eq("dropped create answer: the signal still ends DONE", "DONE", wait_final(s3))
    o = orders_of(s3)
    check("its order is FILLED", len(o) == 1 and o[0][1] == "FILLED", str(o))
    eq("the fake accepted exactly one create for that orderLinkId (no duplicate order)", 1,
       len(creates(o[0][0])) if o else -1)
    eq("...and holds one order with it", 1,
       len([x for x in acct()["orders"] if o and x.get("orderLinkId") == o[0][0]]))
    eq("flat at the fake", "0", fake_position()[1] if fake_position()[0] == "" else fake_position()[1])

    # ---- rejections ----
    fake.fault("reject", retCode=110007, retMsg="ab not enough for new order")
    s4 = add_signal(dep, 1)
    eq("110007: the signal is REJECTED", "REJECTED", wait_final(s4))
    lg = last_log(s4)
    check("REJECTED broker_rejected with the mapped reason", lg[1] == "broker_rejected" and "110007" in lg[2], str(lg))
    tiny = deploy(qty="0.0004")
    s5 = add_signal(tiny, 1)
    eq("a qty below the minimum: REJECTED", "REJECTED", wait_final(s5))
    lg = last_log(s5)
    check("...with the rounding reason, and never sent", "below the minimum" in lg[2]
          and not [c for c in fake.state()["creates"] if c["orderLinkId"] in [x[0] for x in orders_of(s5)]], str(lg))

    # ---- an order that stays New: SENT at the deadline, then reconciled when it fills ----
    dep2 = deploy()
    fake.fault("stay_new")
    s6 = add_signal(dep2, 1)
    ok = wait_until(lambda: orders_of(s6) and orders_of(s6)[0][1] == "SENT", 15)
    check("an order still New at the deadline stays SENT", bool(ok), str(orders_of(s6)))
    link6 = orders_of(s6)[0][0] if orders_of(s6) else ""
    fake.control(op="fill", orderLinkId=link6)
    stop_worker(worker)
    worker = start_worker("w1")  # the same worker id: it takes its own claim back at once, reconciles on start
    ok = wait_until(lambda: orders_of(s6) and orders_of(s6)[0][1] == "FILLED", 15)
    check("after it filled, reconciliation books it FILLED (found by orderLinkId)", bool(ok), str(orders_of(s6)))
    eq("...sent once", 1, len(creates(link6)))
    # the signal itself was refused while its order was open (position unknown: fail closed)
    # (its log has the REJECTED unknown_position row, then the BUY row reconciliation booked)
    eq("...while it was open, its signal was REJECTED unknown_position (fail closed)",
       ["REJECTED", "1"], [wait_final(s6), q(f"SELECT count(*) FROM trade.log WHERE signal_id = '{s6}' "
                                            f"AND action = 'REJECTED' AND reason = 'unknown_position'")])

    # ---- spot: base units, -1 = flat ----
    spot = deploy(category="spot")
    s7 = add_signal(spot, 1)
    eq("spot buy: DONE", "DONE", wait_final(s7))
    o = orders_of(s7)
    link7 = o[0][0] if o else ""
    fo = [x for x in acct()["orders"] if x.get("orderLinkId") == link7]
    check("spot Market buy of 0.01 BTC (base units: marketUnit=baseCoin)", len(fo) == 1
          and float(fo[0]["cumExecQty"]) == 0.01, str(fo)[:300])
    btc = float(acct()["balances"].get("BTC", "0"))
    check("the fake's BTC balance is about 0.01 (fees in the coin received)", 0.0099 <= btc <= 0.01, str(btc))
    s8 = add_signal(spot, -1)
    eq("spot -1: DONE (flat, not short)", "DONE", wait_final(s8))
    o = orders_of(s8)
    check("one SELL of the whole balance", len(o) == 1 and o[0][2] == "SELL", str(o))
    btc = float(acct()["balances"].get("BTC", "0"))
    check("the fake's BTC balance is (about) zero", btc < 0.000048, str(btc))
    check("the worker logged spot_no_short", "spot_no_short" in open(worker.logname).read())

    # ---- HTTP 403: every later request stops (fail closed) ----
    fake.fault("forbidden", times=-1)
    s9 = add_signal(dep, 1)
    eq("after HTTP 403: REJECTED", "REJECTED", wait_final(s9))
    lg = last_log(s9)
    eq("...with reason connection", "connection", lg[1])
    fake.control(op="clear_faults")
    stop_worker(worker)

    # ---- secrets: never in logs, API answers or pg_dump ----
    logs = "".join(open(os.path.join(LOGDIR, n)).read() for n in os.listdir(LOGDIR))
    check("the secret is in no worker log", SECRET not in logs and len(logs) > 0)
    api = as_user(f"SELECT quant.get_deployment('{dep}')::text") + as_user("SELECT string_agg(a::text, ',') FROM quant.audit_trail() a")
    check("the secret is in no API answer (deployment, audit trail)", SECRET not in api)
    dump = subprocess.run(["pg_dump", "--no-owner"], capture_output=True, text=True)
    check("pg_dump ran", dump.returncode == 0, dump.stderr[:300])
    check("the secret is not in pg_dump's output", SECRET not in dump.stdout and len(dump.stdout) > 1000)
    check("...but its ciphertext is (a dump restores it; only the key file opens it)",
          "broker_credential" in dump.stdout)
finally:
    if worker is not None and worker.poll() is None:
        worker.kill()
    fake.stop()

print(f"# logs: {LOGDIR}")
sys.exit(T.summary())
