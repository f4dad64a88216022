#!/usr/bin/env python3
"""FUTU end to end (issue 14): real PostgreSQL, quant-worker and fake-opend (test/fakes/futu) as
separate processes, speaking OpenD's framing with Futu's compiled messages.

SIMULATE (paper) and REAL (paper = false through the live gate, the trade password from the
credential store, unlocked with its MD5): signal -> checks -> intent -> Trd_PlaceOrder with the
client order id as remark -> filled at the fake -> position/cash from the fake -> trade.log. Each
fault once (dropped connection after the order was accepted, SubmitFailed, TimeOut then filled,
partial fills, latency, unlock refused, a corrupt reply header): no duplicate order at the fake,
no lost outcome, books equal to the fake's. The worker killed after the send: found by remark on
restart, not re-sent (also when the order moved to the history list). HK board lots; US
fractional quantities. Last line: "N passed, N failed".
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
sys.path.insert(0, os.path.join(REPO, "test", "fakes", "futu"))
import quanttest  # noqa: E402
from futuopend import FakeOpenD, pb_dir, python_with_protobuf  # noqa: E402

T = quanttest.Tally(tap=True)
BIN = os.environ["QUANT_WORKER_BIN"]
RUN = uuid.uuid4().hex[:8]
USER = f"futu_{RUN}"
TRADE_PW = f"tp{RUN}"
LIVE_PW = f"live-Pw-{RUN}"
LOGDIR = tempfile.mkdtemp(prefix="quant_futu_test_")
SIM_US, SIM_HK, REAL_US = 1001, 1002, 2001
HK_TICKER = "FUTUHK0700"  # this test's data ticker for HK.00700


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


def wait_until(fn, timeout=25.0, step=0.1):
    t0 = time.time()
    while time.time() - t0 < timeout:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


check("the compiled Futu messages exist (build/worker/futu_pb, from futu-api's proto/)",
      os.path.exists(os.path.join(pb_dir(), "Trd_PlaceOrder_pb2.py")), pb_dir())
check("a Python with google.protobuf runs the fake (python3-protobuf)", python_with_protobuf() is not None)

keydir = tempfile.mkdtemp(prefix="quant_cred_")
os.chmod(keydir, 0o755)
KEYFILE = os.path.join(keydir, "credential.key")
with open(KEYFILE, "w") as f:
    f.write(os.urandom(32).hex() + "\n")
os.chmod(KEYFILE, stat.S_IRUSR | stat.S_IWUSR | stat.S_IRGRP | stat.S_IROTH)
SET_KEY = f"SET quant.credential_key_file = '{KEYFILE}'"

fake = FakeOpenD(accounts=[f"simulate:US:{SIM_US}:fractional", f"simulate:HK:{SIM_HK}", f"real:US:{REAL_US}",
                           "real:HK:2002"],
                 trade_password=TRADE_PW, prices={"US.AAPL": "190", "HK.00700": "300"},
                 lots={"HK.00700": 100}, keepalive=2).start()
worker = None
try:
    q("INSERT INTO md.bar (ticker, ts, open, high, low, close, volume) VALUES "
      "('AAPL', timestamptz '2031-01-01', 190, 190, 190, 190, 1), "
      f"('{HK_TICKER}', timestamptz '2031-01-01', 300, 300, 300, 300, 1) ON CONFLICT DO NOTHING")
    # a shared mapping (the risk checks price a broker symbol by shared mappings only)
    q(f"INSERT INTO refdata.ticker_mapping (data_ticker, broker, broker_ticker, market) "
      f"VALUES ('{HK_TICKER}', 'FUTU', 'HK.00700', 'HK') ON CONFLICT DO NOTHING")

    def strategy(ticker):
        return as_user("SELECT quant.create_strategy('{\"ticker\":\"" + ticker + "\",\"trading_period\":365,"
                       "\"substrategies\":[{\"indicator\":\"get_rsi\",\"signal_func\":\"reversion_bounded_signal\","
                       "\"window\":14,\"signal\":30}]}')->>'strategy_id'")

    sid_us, sid_hk = strategy("AAPL"), strategy(HK_TICKER)
    limits = ("'risk_limits', jsonb_build_object('max_bar_age_hours', null, 'max_orders_per_minute', 100, "
              "'max_daily_trades', 100, 'max_consecutive_rejects', 100, 'max_position_usd', 10000000)")

    def deploy(sid, qty, paper=True):
        live = "" if paper else (f", 'paper', false, 'confirm_live', true, 'trade_password', '{LIVE_PW}'")
        lim = limits if paper else limits.replace("'max_bar_age_hours', null", "'max_bar_age_hours', 8760")
        return as_user(f"SELECT quant.deploy(jsonb_build_object('strategy_id', '{sid}', 'broker', 'FUTU', "
                       f"'qty', {qty}, 'schedule', 'manual', {lim}{live}))->>'deployment_id'")

    sim = deploy(sid_us, 3)
    check("a paper FUTU deployment (SIMULATE) needs no credentials", len(sim) == 36, sim)
    eq("it trades US.AAPL (the product mapping)", "US.AAPL",
       q(f"SELECT ticker FROM trade.deployment WHERE deployment_id = '{sim}'"))

    def start_worker(name, **env):
        e = dict(os.environ)
        e.update({"QUANT_WORKER_ID": f"{name}-{RUN}", "QUANT_WORKER_POLL_MS": "300",
                  "QUANT_FUTU_OPEND": f"127.0.0.1:{fake.port}", "QUANT_CREDENTIAL_KEY_FILE": KEYFILE,
                  "QUANT_FUTU_FOLLOW_MS": "1500", "QUANT_FUTU_POLL_MS": "50", "QUANT_FUTU_TIMEOUT_MS": "2000",
                  "QUANT_FUTU_PLACE_PER_30S": "1000",  # ~20 orders in a minute; the limit has its gtest
                  "QUANT_BYBIT_BASE_URL": "off"})
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

    def add_signal(d, value, ticker="AAPL"):
        bar[0] += 1
        return q(f"WITH d AS (SELECT * FROM trade.deployment WHERE deployment_id = '{d}'), "
                 f"s AS (INSERT INTO trade.signal (deployment_id, user_id, bar_ts, signal, ticker, strategy_version) "
                 f"SELECT deployment_id, user_id, timestamptz '2031-01-01' + {bar[0]} * interval '1 minute', {value}, "
                 f"'{ticker}', strategy_version FROM d RETURNING signal_id) "
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

    def acct(acc):
        return fake.state()["accounts"][str(acc)]

    def fake_orders(acc, remark):
        return [o for o in acct(acc)["orders"] if o["remark"] == remark]

    def fake_qty(acc, symbol="US.AAPL"):
        return acct(acc)["positions"].get(symbol, {}).get("qty", 0.0)

    def booked(dep):
        v = q(f"SELECT coalesce(qty::float8::text, '0') FROM trade.position WHERE deployment_id = '{dep}'")
        return float(v or 0)

    def accepted(remark):
        return [p for p in fake.state()["place_orders"] if p["remark"] == remark and p["retType"] == 0]

    worker = start_worker("w1")

    # ---- SIMULATE end to end ----
    s1 = add_signal(sim, 1)
    eq("SIMULATE buy: the signal is DONE", "DONE", wait_final(s1))
    o = orders_of(s1)
    check("one order, FILLED, with a 36-character client order id", len(o) == 1 and o[0][1] == "FILLED"
          and len(o[0][0]) == 36, str(o))
    coid = o[0][0] if o else ""
    fo = fake_orders(SIM_US, coid)
    check("the fake holds exactly one order with that remark, Filled_All (11), in the SIMULATE account",
          len(fo) == 1 and fo[0]["status"] == 11 and fo[0]["qty"] == 3, str(fo)[:300])
    eq("the broker order id is the fake's orderID", str(fo[0]["orderID"]) if fo else "?", o[0][5] if o else "")
    eq("the fake's SIMULATE position: 3 US.AAPL", 3.0, fake_qty(SIM_US))
    eq("the booked position equals the fake's", 3.0, booked(sim))
    lg = last_log(s1)
    check("trade.log: a BUY row", lg[0] == "BUY", str(lg))
    eq("the REAL account was not touched", 0, len(acct(REAL_US)["orders"]))
    eq("SIMULATE needs no unlock: none was sent", 0, fake.state()["requests"].get("2005", 0))
    st = fake.state()
    eq("no protocol violation at the fake (header, SHA-1, InitConnect first, serials)", [], st["violations"])

    # ---- latency: answered late, still one order ----
    fake.fault("latency", ms=800, proto=2202)
    s2 = add_signal(sim, -1)
    eq("latency on PlaceOrder: DONE", "DONE", wait_final(s2))
    eq("...the flip to -1 leaves the fake at -3", -3.0, fake_qty(SIM_US))
    eq("...and the books agree", -3.0, booked(sim))

    # ---- a dropped connection after the order was accepted: found by remark, not re-sent ----
    fake.fault("drop_after_accept")
    s3 = add_signal(sim, 0)
    eq("dropped after accept: DONE", "DONE", wait_final(s3))
    o = orders_of(s3)
    check("...its order is FILLED", len(o) == 1 and o[0][1] == "FILLED", str(o))
    eq("...the fake accepted exactly one PlaceOrder with that remark", 1, len(accepted(o[0][0])) if o else -1)
    eq("...flat at the fake and in the books", (0.0, 0.0), (fake_qty(SIM_US), booked(sim)))

    # ---- SubmitFailed: REJECTED with the reason ----
    fake.fault("submit_failed", message="submit failed: market closed")
    s4 = add_signal(sim, 1)
    eq("SubmitFailed: REJECTED", "REJECTED", wait_final(s4))
    lg = last_log(s4)
    check("...broker_rejected naming SubmitFailed and the reason", lg[1] == "broker_rejected"
          and "SubmitFailed" in lg[2] and "market closed" in lg[2], str(lg))
    eq("...nothing moved at the fake", 0.0, fake_qty(SIM_US))

    # ---- TimeOut then filled ----
    fake.fault("timeout_then_fill", queries=3)
    s5 = add_signal(sim, 1)
    eq("TimeOut then filled: DONE", "DONE", wait_final(s5))
    o = orders_of(s5)
    check("...FILLED 3 (TimeOut is not final)", len(o) == 1 and o[0][1] == "FILLED" and float(o[0][4]) == 3, str(o))
    eq("...one order at the fake", 1, len(accepted(o[0][0])) if o else -1)

    # ---- partial fills ----
    fake.fault("partial_fill", parts=3)
    s6 = add_signal(sim, -1)
    eq("partial fills: DONE", "DONE", wait_final(s6))
    o = orders_of(s6)
    check("...the flip's legs FILLED in full", all(x[1] == "FILLED" for x in o) and len(o) == 2, str(o))
    eq("...the fake and the books agree at -3", (-3.0, -3.0), (fake_qty(SIM_US), booked(sim)))

    # ---- a corrupt reply header: the connection is dropped, the order found by remark ----
    fake.fault("corrupt_header", proto=2202)
    s7 = add_signal(sim, 0)
    eq("corrupt reply header: DONE", "DONE", wait_final(s7))
    o = orders_of(s7)
    check("...FILLED", len(o) == 1 and o[0][1] == "FILLED", str(o))
    eq("...one order at the fake", 1, len(accepted(o[0][0])) if o else -1)
    check("...the worker logged the protocol error and reconnected",
          "futu_protocol_error" in open(worker.logname).read())
    eq("...flat at the fake and in the books", (0.0, 0.0), (fake_qty(SIM_US), booked(sim)))

    # ---- the worker killed after the send: found by remark on restart (even in the history list) ----
    stop_worker(worker)
    worker = start_worker("w2", QUANT_WORKER_CRASH_AT="after_send")
    s8 = add_signal(sim, 1)
    wait_until(lambda: worker.poll() is not None, 25)
    check("the worker died after the send (SIGKILL hook)", worker.poll() is not None)
    o = orders_of(s8)
    check("...its order is not booked yet (NEW or SENT)", len(o) == 1 and o[0][1] in ("NEW", "SENT"), str(o))
    coid8 = o[0][0] if o else ""
    eq("...the fake has it once", 1, len(accepted(coid8)))
    fake.control(op="new_day")  # today's orders move to the history list
    worker = start_worker("w2")  # the same id: takes its claim back, reconciles on start
    ok = wait_until(lambda: orders_of(s8) and orders_of(s8)[0][1] == "FILLED", 25)
    check("on restart it is found by remark in the history list and booked FILLED", bool(ok), str(orders_of(s8)))
    eq("...never re-sent", 1, len(accepted(coid8)))
    eq("...the signal ends DONE", "DONE", wait_final(s8))
    eq("...books equal the fake (3)", (3.0, 3.0), (fake_qty(SIM_US), booked(sim)))
    check("the worker sent KeepAlive at OpenD's interval (2 s here)",
          bool(wait_until(lambda: fake.state()["requests"].get("1004", 0) > 0, 10)))

    # ---- US fractional (deploy refuses 0.5 for US; the adapter is the second barrier) ----
    try:
        deploy(sid_us, 0.5)
        check("deploy refuses a fractional US qty", False, "accepted")
    except RuntimeError as e:
        check("deploy refuses a fractional US qty (whole shares)", "whole number of shares" in str(e), str(e)[:200])
    q(f"UPDATE trade.deployment SET qty = 3.5 WHERE deployment_id = '{sim}'")  # past the SQL check: 0.5 to buy
    s9 = add_signal(sim, 1)
    eq("US fractional (buy 0.5), not allowed for the account here: REJECTED", "REJECTED", wait_final(s9))
    lg = last_log(s9)
    check("...naming fractional, never sent", "fractional" in lg[2] and not any(
        p["qty"] == 0.5 for p in fake.state()["place_orders"]), str(lg))
    stop_worker(worker)
    worker = start_worker("w3", QUANT_FUTU_FRACTIONAL_ACCOUNTS=str(SIM_US))
    s10 = add_signal(sim, 1)
    eq("...allowed for the account (QUANT_FUTU_FRACTIONAL_ACCOUNTS): DONE", "DONE", wait_final(s10))
    eq("...books equal the fake (3.5)", (3.5, 3.5), (fake_qty(SIM_US), booked(sim)))

    # ---- HK board lots ----
    hk = deploy(sid_hk, 150)
    s11 = add_signal(hk, 1, HK_TICKER)
    eq("HK 150 shares (lot 100): REJECTED", "REJECTED", wait_final(s11))
    lg = last_log(s11)
    check("...with the lot reason", "board lots of 100" in lg[2], str(lg))
    hk2 = deploy(sid_hk, 200)
    s12 = add_signal(hk2, 1, HK_TICKER)
    eq("HK 200 shares (2 lots): DONE", "DONE", wait_final(s12))
    eq("...the fake's SIMULATE HK account holds 200 HK.00700", 200.0, fake_qty(SIM_HK, "HK.00700"))

    # ---- REAL: credentials, unlock, live gate ----
    as_user(f"SELECT quant.set_trade_password('{LIVE_PW}')")
    set_out = q(SET_KEY, f"SELECT quant.set_user('{USER}')",
                f"SELECT quant.set_broker_credential('FUTU', 'real', '{REAL_US}', '{TRADE_PW}')")
    check("set_broker_credential('FUTU', 'real', accID, trade password): a fingerprint, not the password",
          '"fingerprint"' in set_out and TRADE_PW not in set_out, set_out)
    try:
        q(SET_KEY, f"SELECT quant.set_user('{USER}')",
          f"SELECT quant.set_broker_credential('FUTU', 'mainnet', '{REAL_US}', 'x')")
        check("FUTU environment mainnet is refused", False, "accepted")
    except RuntimeError as e:
        check("FUTU environment mainnet is refused, naming real or simulate", "real or simulate" in str(e), str(e)[:200])
    real = deploy(sid_us, 2, paper=False)
    check("a live FUTU deployment (paper = false) through the live gate", len(real) == 36, real)
    fake.fault("unlock_refused")
    s13 = add_signal(real, 1)
    eq("unlock refused: REJECTED (fail closed)", "REJECTED", wait_final(s13))
    eq("...reason connection", "connection", last_log(s13)[1])
    check("...the worker logged OpenD's reason", "unlock refused" in open(worker.logname).read())
    eq("...nothing at the REAL account", 0, len(acct(REAL_US)["orders"]))
    s14 = add_signal(real, 1)
    eq("REAL buy after a good unlock: DONE", "DONE", wait_final(s14))
    o = orders_of(s14)
    fo = fake_orders(REAL_US, o[0][0]) if o else []
    check("...one Filled_All order in the REAL account with the remark", len(fo) == 1 and fo[0]["status"] == 11,
          str(fo)[:300])
    check("...the fake is unlocked (the MD5 of the trade password matched)", fake.state()["unlocked"])
    eq("...books equal the fake (2)", (2.0, 2.0), (fake_qty(REAL_US), booked(real)))
    check("...the SIMULATE position is untouched (3.5)", fake_qty(SIM_US) == 3.5, str(fake_qty(SIM_US)))
    stop_worker(worker)

    st = fake.state()
    eq("no protocol violation at the fake over the whole run", [], st["violations"])
    remarks = [p["remark"] for p in st["place_orders"] if p["retType"] == 0]
    eq("no remark accepted twice at the fake (no duplicate order)", len(remarks), len(set(remarks)))
    logs = "".join(open(os.path.join(LOGDIR, n)).read() for n in os.listdir(LOGDIR))
    check("the trade password is in no worker log", TRADE_PW not in logs and len(logs) > 0)
finally:
    if worker is not None and worker.poll() is None:
        worker.kill()
    fake.stop()

print(f"# logs: {LOGDIR}")
sys.exit(T.summary())
