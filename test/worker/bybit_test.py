#!/usr/bin/env python3
"""BYBIT end to end (issue 12): real PostgreSQL, quant-worker and fake-bybit (test/fakes/bybit)
as separate processes.

A user stores demo credentials (quant.set_broker_credential: sealed in the extension with a key
file, opened by the worker), deploys a BTC-USD strategy on BYBIT (paper -> the demo
environment; the worker's QUANT_BYBIT_BASE_URL points it at the fake). Then: signal -> risk
checks -> intent -> a signed order whose orderLinkId is the client order id -> filled at the fake
-> position from the fake -> trade.log; a flip closes first; spot (base units, -1 = flat);
faults, each injected once (a dropped create answer and a timed-out one: found by orderLinkId,
never sent twice; clock skew -> 10002 -> one resync and a retry; 10006 -> wait; latency; HTTP
502; partial fills over several polls, booked part by part (each part a trade.fill with the
fake's own qty and fee), the rest never re-sent; the worker SIGKILLed after the send while the
fake is slow -> found by orderLinkId on restart, one order; an order that stays New: SENT, then
reconciled; a rejection 110007; a qty below the minimum: REJECTED, never sent; HTTP 403:
REJECTED connection, fail closed), then the books equal the fake's orders and positions; spot
positions count only what the deployment bought (coins held before stay); the testnet
environment goes to its own base URL (QUANT_BYBIT_BASE_URL_TESTNET, a second fake); the secret
never in the worker's log, the API or pg_dump.
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

TN_KEY = f"TNKEY{RUN}"
TN_SECRET = f"tn-SeCrEt-{uuid.uuid4().hex}"
fake = FakeBybit(keys={API_KEY: SECRET}, balances={"USDT": "100000"}, prices={"BTCUSDT": "50000"}).start()
fake_tn = FakeBybit(keys={TN_KEY: TN_SECRET}, balances={"USDT": "100000"}, prices={"BTCUSDT": "50000"}).start()
worker = None
try:
    # BTC-USD bars price BTCUSDT for the risk checks (a shared mapping BTC-USD -> BTCUSDT)
    q("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) VALUES "
      "('BTC-USD', timestamptz '2031-01-01', 50000, 50000, 50000, 50000, 1) ON CONFLICT DO NOTHING")
    sid = as_user("SELECT quant.create_strategy('{\"ticker\":\"BTC-USD\",\"trading_period\":365,\"substrategies\":"
                  "[{\"indicator\":\"get_rsi\",\"signal_func\":\"reversion_bounded_signal\",\"window\":14,"
                  "\"signal\":30}]}')->>'strategy_id'")

    def deploy(category=None, qty="0.01", environment=None):
        extra = f", 'category', '{category}'" if category else ""
        extra += f", 'environment', '{environment}'" if environment else ""
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
                  "QUANT_BYBIT_BASE_URL": fake.url, "QUANT_BYBIT_BASE_URL_TESTNET": fake_tn.url,
                  "QUANT_CREDENTIAL_KEY_FILE": KEYFILE,
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

    def acct(f=None, key=None):
        return (f or fake).state()["accounts"][key or API_KEY]

    def log_count(p, event):
        with open(p.logname) as fh:
            return fh.read().count(f'"{event}"')

    def fills_of(link):
        """trade.fill rows of an order: (qty, fee) as floats, in booking order."""
        return [tuple(float(x) for x in r.split("|")) for r in quanttest.psql_c(
            f"SELECT qty::text || '|' || fee::text FROM trade.fill WHERE client_order_id = '{link}' ORDER BY ts, fill_id"
        ).splitlines() if r.strip()]

    def fake_execs(link, f=None, key=None):
        return [(float(e["execQty"]), float(e["execFee"])) for e in acct(f, key)["executions"] if e["orderLinkId"] == link]

    def fake_order(link, f=None, key=None):
        found = [x for x in acct(f, key)["orders"] if x.get("orderLinkId") == link]
        return found[0] if len(found) == 1 else None

    def close(a, b):
        return abs(a - b) < 1e-9

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

    # ---- faults, each injected once on one order: one order at the fake, the outcome booked ----
    def one_fault(desc, value, inject, log_event=None):
        before = log_count(worker, log_event) if log_event else 0
        inject()
        s = add_signal(dep, value)
        eq(f"{desc}: the signal ends DONE", "DONE", wait_final(s))
        o = orders_of(s)
        link = o[0][0] if o else ""
        fo = fake_order(link)
        check(f"{desc}: one order, FILLED, and the fake holds exactly one Filled order with its orderLinkId",
              len(o) == 1 and o[0][1] == "FILLED" and fo is not None and fo["orderStatus"] == "Filled"
              and len(creates(link)) == 1, f"{o} {fo and fo['orderStatus']} creates={len(creates(link))}")
        check(f"{desc}: booked qty = the fake's cumExecQty", bool(o) and fo is not None
              and close(float(o[0][4] or 0), float(fo["cumExecQty"])), f"{o} {fo}")
        if log_event:
            eq(f"{desc}: the worker logged {log_event} once", 1, log_count(worker, log_event) - before)
        return s, link

    one_fault("clock skew (the fake 30 s ahead: 10002, one resync, one retry)", 1,
              lambda: fake.control(op="clock", skew_ms=30000), "bybit_clock_retry")
    fake.control(op="clock", skew_ms=0)
    one_fault("10006 on order/create (waits for the reset, then sends)", 0,
              lambda: fake.fault("rate_limit", path="/v5/order/create", reset_ms=300), "bybit_rate_limited")
    one_fault("latency 700 ms on order/create", 1, lambda: fake.fault("latency", path="/v5/order/create", ms=700))
    one_fault("HTTP 502 on order/create (not processed: looked up, then sent once)", 0,
              lambda: fake.fault("http_error", path="/v5/order/create", status=502), "bybit_create_in_doubt")
    one_fault("a timed-out order/create that was processed (found by orderLinkId)", 1,
              lambda: fake.fault("timeout", path="/v5/order/create", ms=3000, process=True), "bybit_create_in_doubt")

    # ---- the worker SIGKILLed after the send while the fake is slow ----
    fake.fault("latency", path="/v5/order/create", ms=4000)
    sk = add_signal(dep, 0)
    processed = wait_until(lambda: orders_of(sk) and creates(orders_of(sk)[0][0]), 15, 0.02)
    worker.kill()  # SIGKILL while the answer is still on its way
    worker.wait()
    check("kill after send: the fake processed the create before the worker was killed", bool(processed))
    ok = orders_of(sk)
    check("...the books had only the intent (NEW), no outcome", len(ok) == 1 and ok[0][1] == "NEW", str(ok))
    worker = start_worker("w1")  # the same worker id: reconciles on start
    eq("...after the restart the signal ends DONE", "DONE", wait_final(sk))
    ok = orders_of(sk)
    linkk = ok[0][0] if ok else ""
    check("...its order is FILLED, found by orderLinkId", len(ok) == 1 and ok[0][1] == "FILLED", str(ok))
    eq("...exactly one create at the fake (not re-sent blindly)", 1, len(creates(linkk)))
    eq("...and one order with that orderLinkId", 1, len([x for x in acct()["orders"] if x.get("orderLinkId") == linkk]))
    eq("dep is flat at the fake after the faults", "0", fake_position()[1])

    # ---- partial fills over several polls: booked part by part, the rest never re-sent ----
    dep3 = deploy(qty="0.1")  # 5,000 USDT: inside the default max_position_usd
    fake.fault("partial_fill", parts=1000)  # 0.001 (the step) per poll of 0.1: open at the follow deadline
    s10 = add_signal(dep3, 1)
    ok = wait_until(lambda: orders_of(s10) and orders_of(s10)[0][1] == "SENT", 20)
    o = orders_of(s10)
    link10 = o[0][0] if o else ""
    check("partial fills: still open at the deadline -> SENT", bool(ok), str(o))
    st = fake_order(link10) or {}
    booked = fills_of(link10)
    execs = fake_execs(link10)
    check("...several parts filled (more than one poll), fewer than all", 1 < len(execs) and float(st.get("cumExecQty", 0)) < 0.1,
          f"{len(execs)} {st.get('cumExecQty')}")
    check("...booked part by part while it was followed (more than one trade.fill)", len(booked) > 1, str(booked))
    # its signal is taken up again at once: the open order is reconciled (more parts booked), the
    # signal refused (position unknown while the order is open); after that nobody polls it
    eq("...its signal ends REJECTED (unknown_position: fail closed while the order is open)", "REJECTED",
       wait_final(s10))
    st = fake_order(link10) or {}
    booked = fills_of(link10)
    execs = fake_execs(link10)
    check("...after the reconciliation too, the fills are the fake's executions",
          len(booked) == len(execs) and all(close(a[0], b[0]) and close(a[1], b[1]) for a, b in zip(booked, execs)),
          f"books {len(booked)} fake {len(execs)}")
    pos3 = q(f"SELECT qty::text FROM trade.position WHERE deployment_id = '{dep3}'")
    check("...the position is what was filled (the fake's cumExecQty), not the order's qty",
          pos3 != "" and close(float(pos3), float(st.get("cumExecQty", -1))) and float(pos3) < 0.1,
          f"{pos3} vs {st.get('cumExecQty')}")
    eq("...a BUY trade.log row per part", len(execs),
       int(q(f"SELECT count(*) FROM trade.log WHERE order_id = '{link10}' AND action = 'BUY'")))
    fake.control(op="fill", orderLinkId=link10)  # the rest fills
    s11 = add_signal(dep3, 0)  # the next signal reconciles the open order first, then goes flat
    eq("...the next signal ends DONE", "DONE", wait_final(s11))
    o = orders_of(s10)
    st = fake_order(link10) or {}
    booked = fills_of(link10)
    execs = fake_execs(link10)
    check("...reconciled FILLED with the whole qty", len(o) == 1 and o[0][1] == "FILLED" and close(float(o[0][4]), 0.1)
          and st.get("orderStatus") == "Filled", f"{o} {st.get('orderStatus')}")
    check("...its fills = the fake's executions, summing to 1", len(booked) == len(execs)
          and all(close(a[0], b[0]) and close(a[1], b[1]) for a, b in zip(booked, execs))
          and close(sum(b[0] for b in booked), 0.1), f"{len(booked)} vs {len(execs)}")
    eq("...sent once: the rest was never re-sent", 1, len(creates(link10)))
    o11 = orders_of(s11)
    check("...the next signal sold exactly the 0.1 that was filled", len(o11) == 1 and o11[0][2] == "SELL"
          and close(float(o11[0][3]), 0.1) and o11[0][1] == "FILLED", str(o11))
    eq("...flat at the fake again", "0", fake_position()[1])

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
    fake.control(op="set_balance", coin="BTC", amount="0.5")  # coins held before the deployment traded
    spot = deploy(category="spot")
    s7 = add_signal(spot, 1)
    eq("spot buy: DONE", "DONE", wait_final(s7))
    o = orders_of(s7)
    link7 = o[0][0] if o else ""
    fo = [x for x in acct()["orders"] if x.get("orderLinkId") == link7]
    check("spot Market buy of 0.01 BTC (base units: marketUnit=baseCoin)", len(fo) == 1
          and float(fo[0]["cumExecQty"]) == 0.01, str(fo)[:300])
    btc = float(acct()["balances"].get("BTC", "0"))
    check("the fake's BTC balance is 0.5 + about 0.01 (fees in the coin received)", 0.5099 <= btc <= 0.51, str(btc))
    eq("the spot buy was not skipped although 0.5 BTC were there (they are not the deployment's position)",
       "BUY", o[0][2] if o else "")
    s8 = add_signal(spot, -1)
    eq("spot -1: DONE (flat, not short)", "DONE", wait_final(s8))
    o = orders_of(s8)
    check("one SELL of what the deployment bought (0.01 at most), not of the whole balance",
          len(o) == 1 and o[0][2] == "SELL" and 0.0099 <= float(o[0][3]) <= 0.01, str(o))
    btc = float(acct()["balances"].get("BTC", "0"))
    check("the fake's BTC balance is back at about 0.5 (the coins held before are untouched)",
          0.4999 <= btc <= 0.5, str(btc))
    check("the worker logged spot_no_short", "spot_no_short" in open(worker.logname).read())

    # ---- testnet: its own credentials and its own base URL ----
    try:
        deploy(environment="mainnet")
        check("environment mainnet with paper=true is refused", False, "it was accepted")
    except RuntimeError as e:
        check("environment mainnet with paper=true is refused, naming environment", "environment" in str(e), str(e)[:300])
    try:
        deploy(environment="testnet")
        check("environment testnet without testnet credentials is refused", False, "it was accepted")
    except RuntimeError as e:
        check("environment testnet without testnet credentials is refused, naming testnet", "testnet" in str(e), str(e)[:300])
    q(SET_KEY, f"SELECT quant.set_user('{USER}')",
      f"SELECT quant.set_broker_credential('BYBIT', 'testnet', '{TN_KEY}', '{TN_SECRET}')")
    tn = deploy(environment="testnet")
    s12 = add_signal(tn, 1)
    eq("testnet buy: DONE", "DONE", wait_final(s12))
    o = orders_of(s12)
    link12 = o[0][0] if o else ""
    fo = fake_order(link12, fake_tn, TN_KEY)
    check("the order went to the testnet fake (QUANT_BYBIT_BASE_URL_TESTNET), signed with the testnet key, Filled",
          len(o) == 1 and o[0][1] == "FILLED" and fo is not None and fo["orderStatus"] == "Filled", f"{o} {fo}")
    check("...and not to the demo fake", not [x for x in acct()["orders"] if x.get("orderLinkId") == link12])

    # ---- after all of the above: the books equal the fakes' state ----
    def books_equal(f, key, deployments):
        st = f.state()["accounts"][key]
        links = [x["orderLinkId"] for x in st["orders"] if x.get("orderLinkId")]
        rows = {r.split("|")[0]: r.split("|")[1:] for r in quanttest.psql_c(
            "SELECT client_order_id || '|' || status || '|' || filled_qty::text || '|' || "
            "coalesce((SELECT sum(f.qty) FROM trade.fill f WHERE f.client_order_id = o.client_order_id), 0)::text "
            f"FROM trade.\"order\" o WHERE user_id = '{USER}'").splitlines() if r.strip()}
        bad = []
        for x in st["orders"]:
            r = rows.get(x["orderLinkId"])
            want = {"Filled": "FILLED", "New": "SENT", "PartiallyFilled": "SENT"}.get(x["orderStatus"], "?")
            if r is None or r[0] != want or not close(float(r[1]), float(x["cumExecQty"])) \
                    or not close(float(r[2]), float(x["cumExecQty"])):
                bad.append((x["orderLinkId"], x["orderStatus"], x["cumExecQty"], r))
        dup = [c["orderLinkId"] for c in f.state()["creates"] if c.get("retCode") == 0]
        net = sum(float(p["size"]) * (1 if p["side"] == "Buy" else -1) for p in st["positions"]
                  if p["symbol"] == "BTCUSDT" and float(p["size"]) > 0)
        booked = q("SELECT coalesce(sum(qty), 0)::text FROM trade.position WHERE deployment_id IN ("
                   + ",".join(f"'{d}'" for d in deployments) + ")")
        return links, bad, len(dup) == len(set(dup)), net, float(booked)

    links, bad, unique, net, booked = books_equal(fake, API_KEY, [dep, dep2, dep3])
    check("demo fake: every order there is in the books, same status and filled qty, fills summing to it",
          len(links) > 10 and not bad, f"{len(links)} orders, mismatches {bad[:3]}")
    check("demo fake: no orderLinkId was accepted twice (no duplicate order)", unique)
    check("demo fake: the account's linear position = the booked positions of the linear deployments",
          close(net, booked), f"fake {net} books {booked}")
    links, bad, unique, net, booked = books_equal(fake_tn, TN_KEY, [tn])
    check("testnet fake: the books equal it too", len(links) == 1 and not bad and unique and close(net, booked),
          f"{links} {bad} {net} {booked}")

    # ---- HTTP 403: every later request stops (fail closed) ----
    fake.fault("forbidden", times=-1)
    s9 = add_signal(dep, 1)
    eq("after HTTP 403: REJECTED", "REJECTED", wait_final(s9))
    lg = last_log(s9)
    eq("...with reason connection", "connection", lg[1])
    creates_before = len(fake.state()["creates"])
    s9b = add_signal(dep, 0)
    eq("...and the next signal too (the 10-minute stop, nothing sent)", "REJECTED", wait_final(s9b))
    fake.control(op="clear_faults")
    eq("...no order reached the fake meanwhile (fail closed)", [creates_before, [], []],
       [len(fake.state()["creates"]), orders_of(s9), orders_of(s9b)])
    fake.control(op="clear_faults")
    stop_worker(worker)

    # ---- secrets: never in logs, API answers or pg_dump ----
    logs = "".join(open(os.path.join(LOGDIR, n)).read() for n in os.listdir(LOGDIR))
    check("the secrets are in no worker log", SECRET not in logs and TN_SECRET not in logs and len(logs) > 0)
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
    fake_tn.stop()

print(f"# logs: {LOGDIR}")
sys.exit(T.summary())
