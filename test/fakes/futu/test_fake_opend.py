#!/usr/bin/env python3
"""fake-opend's own behaviour (README.md's contract), driven by a test client that frames packets
with struct and hashlib (brokers.md §2.1), not by the C++ adapter. Last line: "N passed, N failed".
"""
import hashlib
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from futuopend import FakeOpenD, pb_dir, python_with_protobuf  # noqa: E402

try:
    import google.protobuf  # noqa: F401
except ImportError:
    exe = python_with_protobuf()
    if exe and exe != sys.executable:
        os.execv(exe, [exe] + sys.argv)
    print("# google.protobuf is missing (python3-protobuf)")
    print("0 passed, 1 failed")
    sys.exit(1)

REPO = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, os.path.join(REPO, "test", "lib"))
sys.path.insert(0, pb_dir())
import quanttest  # noqa: E402
import InitConnect_pb2  # noqa: E402
import Qot_RequestHistoryKL_pb2  # noqa: E402
import Trd_GetHistoryOrderList_pb2  # noqa: E402
import Trd_GetOrderList_pb2  # noqa: E402
import Trd_PlaceOrder_pb2  # noqa: E402
import Trd_SubAccPush_pb2  # noqa: E402
import Trd_UnlockTrade_pb2  # noqa: E402
import Trd_UpdateOrder_pb2  # noqa: E402
import Trd_UpdateOrderFill_pb2  # noqa: E402

T = quanttest.Tally(tap=True)


def closed(c):
    try:
        c.recv()
        return False
    except (ConnectionError, OSError):
        return True


def init(c):
    r = InitConnect_pb2.Request()
    r.c2s.clientVer, r.c2s.clientID = 300, "test"
    rsp = c.call(1001, r, InitConnect_pb2.Response)
    c.conn_id = rsp.s2c.connID
    return rsp


def order(c, acc, env, market, code, qty, remark, serial):
    p = Trd_PlaceOrder_pb2.Request()
    x = p.c2s
    x.packetID.connID, x.packetID.serialNo = c.conn_id, serial
    x.header.trdEnv, x.header.accID, x.header.trdMarket = env, acc, market
    x.trdSide, x.orderType, x.code, x.qty, x.secMarket, x.remark = 1, 2, code, qty, market, remark
    return c.call(2202, p, Trd_PlaceOrder_pb2.Response)


def unlock(c, pw):
    u = Trd_UnlockTrade_pb2.Request()
    u.c2s.unlock, u.c2s.pwdMD5 = True, hashlib.md5(pw.encode()).hexdigest()
    return c.call(2005, u, Trd_UnlockTrade_pb2.Response)


with FakeOpenD(trade_password="246810", keepalive=7) as fake:
    c = fake.client()
    rsp = init(c)
    T.check(rsp.retType == 0 and rsp.s2c.keepAliveInterval == 7 and rsp.s2c.connID > 0,
            "InitConnect: retType 0, connID, the configured keepAliveInterval", str(rsp))
    r = order(c, 2001, 1, 2, "AAPL", 1, "real-locked", 1)
    T.check(r.retType == -1 and "unlock" in r.retMsg, "a REAL order before the unlock is refused", r.retMsg)
    r = unlock(c, "wrong")
    T.check(r.retType == -1 and "wrong" in r.retMsg, "a wrong trade password: refused", r.retMsg)
    fake.fault("unlock_refused")
    T.check(unlock(c, "246810").retType == -1, "unlock_refused fault: the right password is refused once")
    T.check(unlock(c, "246810").retType == 0, "the right password (its MD5) unlocks")
    r = order(c, 2001, 1, 2, "AAPL", 2, "real-ok", 2)
    T.check(r.retType == 0 and r.s2c.orderID > 0, "after the unlock a REAL order is accepted", str(r))
    st = fake.state()
    o = [x for x in st["accounts"]["2001"]["orders"] if x["remark"] == "real-ok"]
    T.check(len(o) == 1 and o[0]["status"] == 11 and st["accounts"]["2001"]["positions"]["US.AAPL"]["qty"] == 2,
            "the order is kept with its remark, Filled_All, and the REAL position is 2", str(o))
    T.check("US.AAPL" not in st["accounts"]["1001"]["positions"], "the SIMULATE account is untouched")
    r = order(c, 2001, 1, 2, "AAPL", 2, "replay", 2)
    T.check(r.retType == -1 and "packetID" in r.retMsg, "a replayed packetID is refused", r.retMsg)
    r = order(c, 1002, 0, 1, "00700", 150, "hk-150", 3)
    T.check(r.retType == -1 and "lot size 100" in r.retMsg, "HK: 150 shares (lot 100) refused", r.retMsg)
    r = order(c, 1001, 0, 2, "AAPL", 0.5, "frac", 4)
    T.check(r.retType == -1 and "fractional" in r.retMsg, "US fractional refused on an account without it", r.retMsg)
    fake.fault("submit_failed")
    r = order(c, 1001, 0, 2, "AAPL", 1, "sf", 5)
    st = fake.state()
    sf = [x for x in st["accounts"]["1001"]["orders"] if x["remark"] == "sf"]
    T.check(r.retType == 0 and sf and sf[0]["status"] == 3, "submit_failed: accepted, then SubmitFailed (3)", str(sf))

    # order lists: today's, then history after new_day
    ol = Trd_GetOrderList_pb2.Request()
    ol.c2s.header.trdEnv, ol.c2s.header.accID, ol.c2s.header.trdMarket = 1, 2001, 2
    r = c.call(2201, ol, Trd_GetOrderList_pb2.Response)
    T.check([x.remark for x in r.s2c.orderList] == ["real-ok"], "today's order list has the remark",
            str([x.remark for x in r.s2c.orderList]))
    fake.control(op="new_day")
    r = c.call(2201, ol, Trd_GetOrderList_pb2.Response)
    hl = Trd_GetHistoryOrderList_pb2.Request()
    hl.c2s.header.CopyFrom(ol.c2s.header)
    hl.c2s.filterConditions.beginTime = "2020-01-01 00:00:00"
    hr = c.call(2221, hl, Trd_GetHistoryOrderList_pb2.Response)
    T.check(len(r.s2c.orderList) == 0 and [x.remark for x in hr.s2c.orderList] == ["real-ok"],
            "after new_day the order is in the history list only")

    # K-lines: paging with nextReqKey; the forming bar is the last one
    now = time.time()
    k = Qot_RequestHistoryKL_pb2.Request()
    k.c2s.rehabType, k.c2s.klType = 1, 9
    k.c2s.security.market, k.c2s.security.code = 11, "AAPL"
    k.c2s.beginTime = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now - 10 * 3600))
    k.c2s.endTime = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(now))
    k.c2s.maxAckKLNum = 4
    bars = []
    pages = 0
    while True:
        kr = c.call(3103, k, Qot_RequestHistoryKL_pb2.Response)
        pages += 1
        bars += list(kr.s2c.klList)
        if not kr.s2c.nextReqKey:
            break
        k.c2s.nextReqKey = kr.s2c.nextReqKey
    ts = [b.timestamp for b in bars]
    T.check(pages == 3 and len(bars) == 10 and ts == sorted(ts) and all(t % 3600 == 0 for t in ts),
            "60-minute K-lines: 10 bars in pages of 4 (nextReqKey), oldest first", f"{pages} pages {len(bars)} bars")
    T.check(ts[-1] + 3600 > now, "the last bar is the forming one (its hour has not ended)")
    T.check(bars[-1].closePrice == 190.0, "the forming bar closes at the current price so far")

    # faults on the wire
    fake.fault("corrupt_header", proto=2201)
    c.send_raw(2201, ol.SerializeToString())
    got = c.recv()
    T.check(not got["sha_ok"], "corrupt_header: the reply's SHA-1 does not match its body")
    fake.fault("drop_after_accept")
    order_req = Trd_PlaceOrder_pb2.Request()
    x = order_req.c2s
    x.packetID.connID, x.packetID.serialNo = c.conn_id, 99
    x.header.trdEnv, x.header.accID, x.header.trdMarket = 0, 1001, 2
    x.trdSide, x.orderType, x.code, x.qty, x.remark = 1, 2, "AAPL", 1, "dropped"
    c.send_raw(2202, order_req.SerializeToString())
    T.check(closed(c), "drop_after_accept: no answer, the connection is closed")
    T.check(any(o["remark"] == "dropped" for o in fake.state()["accounts"]["1001"]["orders"]),
            "...but the order was stored (found by remark later)")

    # pushes: Trd_SubAccPush, then a filled order pushes Trd_UpdateOrder and Trd_UpdateOrderFill after the reply
    c = fake.client()
    init(c)
    sub = Trd_SubAccPush_pb2.Request()
    sub.c2s.accIDList.append(1001)
    T.check(c.call(2008, sub, Trd_SubAccPush_pb2.Response).retType == 0, "Trd_SubAccPush of 1001: retType 0")
    T.check(order(c, 1001, 0, 2, "AAPL", 1, "pushed-1", 1).retType == 0, "an order after the subscription")
    frames = [c.recv(), c.recv()]
    protos = sorted(f["proto"] for f in frames)
    T.check(protos == [2208, 2218] and all(f["sha_ok"] for f in frames), "...pushes 2208 and 2218 follow, SHA-1 right",
            str(protos))
    po = next((Trd_UpdateOrder_pb2.Response.FromString(f["body"]) for f in frames if f["proto"] == 2208), None)
    pf = next((Trd_UpdateOrderFill_pb2.Response.FromString(f["body"]) for f in frames if f["proto"] == 2218), None)
    T.check(po is not None and po.s2c.order.remark == "pushed-1" and po.s2c.order.orderStatus == 11
            and po.s2c.header.accID == 1001, "...the order push: the remark, Filled_All, the account")
    T.check(pf is not None and pf.s2c.orderFill.qty == 1 and pf.s2c.orderFill.orderID == po.s2c.order.orderID,
            "...the fill push: qty 1 of that orderID")
    fake.control(op="pushes", enabled=False)
    T.check(order(c, 1001, 0, 2, "AAPL", 1, "pushed-2", 2).retType == 0, "pushes suppressed: the order is placed")
    c.sock.settimeout(0.5)
    try:
        c.recv()
        T.check(False, "...and no push follows")
    except OSError:
        T.check(True, "...and no push follows")
    T.check(fake.state()["pushes"]["suppressed"] == 2, "...the fake counts 2 suppressed pushes")
    fake.control(op="pushes", enabled=True)
    c.close()

    # protocol checks: each drops the connection and is recorded
    c = fake.client()
    c.send_raw(2201, ol.SerializeToString())
    T.check(closed(c), "a request before InitConnect: connection dropped")
    c = fake.client()
    init(c)
    body = ol.SerializeToString()
    c.send_raw(2201, body, sha=b"\0" * 20)
    T.check(closed(c), "a wrong SHA-1: connection dropped")
    c = fake.client()
    init(c)
    c.send_raw(2201, body, serial=c.serial)  # the same serial again
    T.check(closed(c), "a serial that does not increase: connection dropped")
    c = fake.client()
    c.send_raw(1001, b"", flag=b"XX")
    T.check(closed(c), "a bad header flag: connection dropped")
    v = fake.state()["violations"]
    T.check(len(v) == 4 and "before InitConnect" in v[0] and "SHA-1" in v[1] and "serial" in v[2] and "flag" in v[3],
            "the four violations are recorded in order", str(v))

sys.exit(T.summary())
