#!/usr/bin/env python3
"""fake-bybit's own behaviour: envelopes, the signature and timestamp checks (with the worked
string of Bybit's guide), klines, order rules, idempotency on orderLinkId, balances, positions
and each fault of the control API. Starts its own fake. Last line: "N passed, N failed"."""
import http.client
import json
import os
import socket
import sys
import time
from decimal import Decimal as D

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "lib"))
import quanttest  # noqa: E402
from fakebybit import FakeBybit, sign  # noqa: E402

T = quanttest.Tally(tap=True)
DOC_KEY = "XXXXXXXXXX"  # the key of Bybit's worked example (brokers.md 1.2)
DOC_TS = 1658384314791
DOC_QUERY = "category=option&symbol=BTC-29JUL22-25000-C"


def envelope_ok(body):
    return (isinstance(body, dict) and list(body)[:5] == ["retCode", "retMsg", "result", "retExtInfo", "time"]
            and isinstance(body["time"], int))


def create(fake, **params):
    p = {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.01"}
    p.update(params)
    _s, _h, body = fake.request("POST", "/v5/order/create", p)
    return body


def realtime(fake, category="linear", **params):
    _s, _h, body = fake.request("GET", "/v5/order/realtime", dict({"category": category}, **params))
    return body


def orders_of(fake, key=None):
    return fake.state()["accounts"][key or fake.key]["orders"]


def test_public(fake):
    status, headers, body = fake.public("/v5/market/time")
    T.check(status == 200 and envelope_ok(body) and body["retCode"] == 0, "market/time: Bybit's envelope", body)
    r = body["result"]
    T.check(isinstance(r["timeSecond"], str) and int(r["timeNano"]) // 1_000_000_000 == int(r["timeSecond"]),
            "market/time: timeSecond/timeNano strings", r)
    for category, field in (("spot", "basePrecision"), ("linear", "qtyStep")):
        _s, _h, body = fake.public("/v5/market/instruments-info", f"category={category}&symbol=BTCUSDT")
        inst = body["result"]["list"][0]
        T.check(body["result"]["category"] == category and isinstance(inst["lotSizeFilter"][field], str),
                f"instruments-info {category}: lotSizeFilter.{field} as a string", inst["lotSizeFilter"])
    _s, _h, body = fake.public("/v5/market/instruments-info", "category=inverse")
    T.check(body["retCode"] == 0 and body["result"]["list"] == [], "instruments-info inverse: empty", body)
    _s, _h, body = fake.public("/v5/market/tickers", "category=linear&symbol=BTCUSDT")
    T.check(body["result"]["list"][0]["lastPrice"] == "50000", "tickers: lastPrice is the fake price", body)
    status, _h, body = fake.public("/v5/no/such/path")
    T.check(status == 404 and body["retCode"] == 10017, "an unknown path: HTTP 404, retCode 10017", (status, body))


def test_kline(fake):
    _s, _h, body = fake.public("/v5/market/kline", "category=linear&symbol=BTCUSDT&interval=1")
    rows = body["result"]["list"]
    T.check(len(rows) == 200, "kline: 200 candles by default", len(rows))
    starts = [int(r[0]) for r in rows]
    T.check(all(a - b == 60000 for a, b in zip(starts, starts[1:])), "kline: newest first, one minute apart")
    T.check(all(isinstance(x, str) for r in rows for x in r) and len(rows[0]) == 7,
            "kline: string arrays [start, o, h, l, c, volume, turnover]")
    now = body["time"]
    T.check(starts[0] == now // 60000 * 60000 and rows[0][4] == "50000",
            "kline: the newest is the forming candle, closing at the current price", rows[0])
    # A closed candle against README's formula, computed here.
    k = starts[1] // 60000
    p0 = D(50000)
    o = (p0 * (1 + D((k * 7) % 11 - 5) / 1000)).quantize(D("0.10"))
    c = (p0 * (1 + D((k * 7 + 7) % 11 - 5) / 1000)).quantize(D("0.10"))
    T.check(D(rows[1][1]) == o and D(rows[1][4]) == c, "kline: a closed candle follows the documented formula",
            (rows[1], o, c))
    _s, _h, body = fake.public("/v5/market/kline", "category=spot&symbol=BTCUSDT&interval=1&limit=1500")
    T.check(len(body["result"]["list"]) == 1000, "kline: limit above 1000 gives 1000", len(body["result"]["list"]))
    end = starts[10]
    start = starts[15]
    _s, _h, body = fake.public("/v5/market/kline", f"category=linear&symbol=BTCUSDT&interval=1&start={start}&end={end}")
    got = [int(r[0]) for r in body["result"]["list"]]
    T.check(got == starts[10:16], "kline: start..end inclusive, newest first", got)
    _s, _h, body = fake.public("/v5/market/kline", "category=linear&symbol=BTCUSDT&interval=D&limit=3")
    days = [int(r[0]) for r in body["result"]["list"]]
    T.check(all(d % 86_400_000 == 0 for d in days) and days[0] - days[1] == 86_400_000, "kline D: UTC midnights", days)
    _s, _h, body = fake.public("/v5/market/kline", "category=linear&symbol=BTCUSDT&interval=7")
    T.check(body["retCode"] == 10001, "kline: an unknown interval is 10001", body)
    fake.control(op="klines", category="linear", symbol="ETHUSDT", interval="60",
                 candles=[[3600000, 1, 2, 0.5, 1.5, 10, 15], [7200000, 1.5, 2, 1, 1.8, 5, 9]])
    _s, _h, body = fake.public("/v5/market/kline", "category=linear&symbol=ETHUSDT&interval=60")
    T.check(body["result"]["list"] == [["7200000", "1.5", "2", "1", "1.8", "5", "9"],
                                       ["3600000", "1", "2", "0.5", "1.5", "10", "15"]],
            "kline: candles set through the control API, newest first", body["result"]["list"])


def test_signing(fake):
    # Bybit's worked example (guide.mdx): the string it signs, checked through the fake's 10004 text.
    fake.control(op="clock", skew_ms=DOC_TS - int(time.time() * 1000) + 500)
    _s, _h, body = fake.request("GET", "/v5/order/realtime", key=DOC_KEY, secret="wrong", timestamp=DOC_TS,
                                query=DOC_QUERY)
    T.check(body["retCode"] == 10004 and f"origin_string[{DOC_TS}{DOC_KEY}5000{DOC_QUERY}]" in body["retMsg"],
            "worked example: the signed string is timestamp+key+recv_window+query, as Bybit's guide", body)
    _s, _h, body = fake.request("GET", "/v5/order/realtime", key=DOC_KEY, timestamp=DOC_TS, query=DOC_QUERY)
    T.check(body["retCode"] == 0 and body["result"]["category"] == "option",
            "worked example: the right signature over that string is accepted", body)
    fake.control(op="clock", skew_ms=0)
    # POST: the body bytes exactly as sent, spaces included.
    spaced = '{"category": "linear", "symbol": "BTCUSDT", "orderId": "none"}'
    _s, _h, body = fake.request("POST", "/v5/order/cancel", body=spaced)
    T.check(body["retCode"] == 110001, "POST: the spaced body signed as sent passes the signature check", body)
    _s, _h, body = fake.request("POST", "/v5/order/cancel", body=spaced, sign_payload=spaced.replace(" ", ""))
    T.check(body["retCode"] == 10004, "POST: signing a re-serialised body instead of the bytes sent is 10004", body)
    # GET: the query exactly as sent, not sorted.
    q = "symbol=BTCUSDT&category=linear"
    _s, _h, body = fake.request("GET", "/v5/position/list", query=q)
    T.check(body["retCode"] == 0, "GET: an unsorted query signed as sent is accepted", body)
    _s, _h, body = fake.request("GET", "/v5/position/list", query=q, sign_payload="category=linear&symbol=BTCUSDT")
    T.check(body["retCode"] == 10004, "GET: signing a re-sorted query is 10004", body)
    # Keys, timestamps.
    _s, _h, body = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"}, key="nobody",
                                secret="x")
    T.check(body["retCode"] == 10003 and body["retMsg"] == "API key is invalid.", "an unknown key is 10003", body)
    status, _h, text = fake.raw("GET", "/v5/position/list?category=linear&symbol=BTCUSDT")
    T.check(json.loads(text)["retCode"] == 10003, "no signature headers at all: 10003", text)
    _s, _h, body = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"},
                                secret="not-the-secret")
    T.check(body["retCode"] == 10004 and body["retMsg"].startswith("error sign!"), "a wrong secret is 10004", body)
    now = int(time.time() * 1000)
    for label, ts, rw, want in (("6 s old with recv_window 5000", now - 6000, 5000, 10002),
                                ("6 s old with recv_window 10000", now - 6000, 10000, 0),
                                ("1.5 s ahead", now + 1500, 5000, 10002),
                                ("0.5 s ahead", now + 500, 5000, 0)):
        _s, _h, body = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"},
                                    timestamp=ts, recv_window=rw)
        T.check(body["retCode"] == want, f"timestamp window: {label} -> {want}", body)
    _s, headers, body = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
    _s, headers2, _b = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
    T.check(headers.get("X-Bapi-Limit") == "50" and int(headers2["X-Bapi-Limit-Status"]) < int(headers["X-Bapi-Limit-Status"])
            and int(headers["X-Bapi-Limit-Reset-Timestamp"]) > 0,
            "rate-limit headers: X-Bapi-Limit 50, Status counts down, Reset-Timestamp", headers)


def test_orders(fake):
    fake.control(op="reset")
    body = create(fake, orderLinkId="lin-1")
    T.check(body["retCode"] == 0 and set(body["result"]) == {"orderId", "orderLinkId"} and
            body["result"]["orderLinkId"] == "lin-1", "order/create: the acknowledgement {orderId, orderLinkId}", body)
    oid = body["result"]["orderId"]
    o = realtime(fake, orderLinkId="lin-1")["result"]["list"][0]
    T.check(o["orderId"] == oid and o["orderStatus"] == "Filled" and o["cumExecQty"] == "0.01" and
            o["avgPrice"] == "50000" and o["leavesQty"] == "0", "realtime by orderLinkId: Filled at the price", o)
    T.check(o["cumExecFee"] == "0.275" and o["timeInForce"] == "IOC", "linear fee 0.01*50000*0.00055; Market is IOC", o)
    dup = create(fake, orderLinkId="lin-1")
    T.check(dup["retCode"] == 110072, "linear duplicate orderLinkId: 110072", dup)
    spot = create(fake, category="spot", qty="100", orderLinkId="spot-1")
    dup = create(fake, category="spot", qty="100", orderLinkId="spot-1")
    T.check(spot["retCode"] == 0 and dup["retCode"] == 170141, "spot duplicate orderLinkId: 170141", dup)
    T.check(len(orders_of(fake)) == 2, "duplicates stored nothing: 2 orders", len(orders_of(fake)))
    so = realtime(fake, "spot", orderLinkId="spot-1")["result"]["list"][0]
    T.check(so["cumExecQty"] == "0.002" and so["cumExecValue"] == "100" and so["marketUnit"] == "quoteCoin",
            "spot Market Buy without marketUnit: qty is the quote value (100 USDT -> 0.002 BTC)", so)
    base = create(fake, category="spot", qty="0.001", marketUnit="baseCoin")
    bo = realtime(fake, "spot", orderId=base["result"]["orderId"])["result"]["list"][0]
    T.check(bo["cumExecQty"] == "0.001" and bo["cumExecValue"] == "50", "spot Market Buy marketUnit=baseCoin: base units", bo)
    _s, _h, wb = fake.request("GET", "/v5/account/wallet-balance", {"accountType": "UNIFIED"})
    coins = {c["coin"]: c for c in wb["result"]["list"][0]["coin"]}
    # USDT: 100000 - 0.275 (linear fee) - 100 - 50; BTC: 0.003 less 0.1% fee in base.
    T.check(coins["USDT"]["walletBalance"] == "99849.725" and coins["BTC"]["walletBalance"] == "0.002997",
            "wallet-balance UNIFIED: fees and spends booked", {c: v["walletBalance"] for c, v in coins.items()})
    _s, _h, wb2 = fake.request("GET", "/v5/account/wallet-balance", {"accountType": "CONTRACT"})
    T.check(wb2["retCode"] == 10001, "wallet-balance: accountType other than UNIFIED is 10001", wb2)
    _s, _h, pl = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
    p = pl["result"]["list"][0]
    T.check(p["side"] == "Buy" and p["size"] == "0.01" and p["avgPrice"] == "50000" and p["positionIdx"] == 0,
            "position/list: one-way long 0.01 at 50000", p)
    _s, _h, pl = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "ETHUSDT"})
    T.check(pl["result"]["list"][0]["side"] == "" and pl["result"]["list"][0]["size"] == "0",
            "position/list by symbol: the empty row", pl)
    _s, _h, pl = fake.request("GET", "/v5/position/list", {"category": "linear"})
    T.check(pl["retCode"] == 10001, "position/list without symbol or settleCoin: 10001", pl)
    # A flip: sell 0.02 at 51000 closes the long (pnl +10) and opens a short 0.01.
    fake.control(op="set_price", symbol="BTCUSDT", price="51000")
    flip = create(fake, side="Sell", qty="0.02")
    _s, _h, pl = fake.request("GET", "/v5/position/list", {"category": "linear", "settleCoin": "USDT"})
    p = pl["result"]["list"][0]
    T.check(flip["retCode"] == 0 and p["side"] == "Sell" and p["size"] == "0.01" and p["avgPrice"] == "51000",
            "a flip: Sell 0.02 against long 0.01 leaves short 0.01 at 51000", p)
    _s, _h, ex = fake.request("GET", "/v5/execution/list", {"category": "linear", "orderId": flip["result"]["orderId"]})
    e = ex["result"]["list"][0]
    T.check(e["execQty"] == "0.02" and e["execPrice"] == "51000" and e["closedSize"] == "0.01" and e["execType"] == "Trade",
            "execution/list: the fill with closedSize", e)
    T.check(create(fake, positionIdx=1)["retCode"] == 10001, "positionIdx 1 in one-way mode: 10001")
    _s, _h, sm = fake.request("POST", "/v5/position/switch-mode", {"category": "linear", "symbol": "BTCUSDT", "mode": 0})
    T.check(sm["retCode"] == 110025, "switch-mode to one-way: 110025 not modified", sm)
    # Rules from the instrument table.
    T.check(create(fake, category="spot", qty="0.00001", marketUnit="baseCoin")["retCode"] == 170136,
            "spot qty below minOrderQty: 170136")
    T.check(create(fake, category="spot", qty="0.0000001", marketUnit="baseCoin")["retCode"] == 170137,
            "spot qty finer than basePrecision: 170137")
    T.check(create(fake, category="spot", qty="0.5")["retCode"] == 170140, "spot Market Buy below minOrderAmt: 170140")
    T.check(create(fake, category="spot", qty="1000000")["retCode"] == 170131, "spot buy above the balance: 170131")
    T.check(create(fake, category="spot", side="Sell", qty="1")["retCode"] == 170131, "spot sell above the coin: 170131")
    T.check(create(fake, qty="0.0001")["retCode"] == 10001, "linear qty below minOrderQty: 10001")
    T.check(create(fake, qty="0.0015")["retCode"] == 10001, "linear qty off the qtyStep: 10001")
    fake.control(op="set_price", symbol="DOGEUSDT", price="0.1")
    T.check(create(fake, symbol="DOGEUSDT", qty="10")["retCode"] == 110094,
            "linear value below minNotionalValue (10 DOGE at 0.1 < 5 USDT): 110094")
    T.check(create(fake, qty="100")["retCode"] == 110007, "linear margin above the available balance: 110007")
    T.check(create(fake, symbol="ETHUSDT", qty="0.01", reduceOnly=True)["retCode"] == 110017,
            "reduceOnly with no position: 110017")
    T.check(create(fake, orderLinkId="x" * 37)["retCode"] == 10001, "orderLinkId longer than 36: 10001")
    T.check(create(fake, orderLinkId="bad id!")["retCode"] == 10001, "orderLinkId outside [0-9A-Za-z_-]: 10001")
    # Limit orders rest, fill when the price comes, cancel.
    lim = create(fake, orderType="Limit", side="Buy", qty="0.01", price="50000", orderLinkId="lim-1")
    lo = realtime(fake, orderLinkId="lim-1")["result"]["list"][0]
    T.check(lo["orderStatus"] == "New" and lo["leavesQty"] == "0.01", "a Limit Buy below the price rests New", lo)
    opened = realtime(fake, symbol="BTCUSDT")["result"]["list"]
    T.check([x["orderLinkId"] for x in opened] == ["lim-1"], "realtime by symbol: open orders only", opened)
    fake.control(op="set_price", symbol="BTCUSDT", price="49999")
    lo = realtime(fake, orderLinkId="lim-1")["result"]["list"][0]
    T.check(lo["orderStatus"] == "Filled" and lo["avgPrice"] == "49999", "the price comes down: the Limit fills", lo)
    _s, _h, c = fake.request("POST", "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                           "orderId": lim["result"]["orderId"]})
    T.check(c["retCode"] == 110001, "cancel of a filled order: 110001", c)
    lim2 = create(fake, orderType="Limit", qty="0.01", price="40000")
    _s, _h, c = fake.request("POST", "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT",
                                                           "orderId": lim2["result"]["orderId"]})
    lo = realtime(fake, orderId=lim2["result"]["orderId"])["result"]["list"][0]
    T.check(c["retCode"] == 0 and lo["orderStatus"] == "Cancelled", "cancel of a resting order: Cancelled", lo)
    T.check(create(fake, orderType="Limit", qty="0.01", price="40000.05")["retCode"] == 10001,
            "a Limit price off the tick: 10001")
    _s, _h, hist = fake.request("GET", "/v5/order/history", {"category": "linear", "limit": "2"})
    T.check(len(hist["result"]["list"]) == 2 and hist["result"]["nextPageCursor"] != "",
            "order/history: newest first, paged with a cursor", hist["result"]["nextPageCursor"])
    _s, _h, hist = fake.request("GET", "/v5/order/history", {"category": "linear", "orderStatus": "Cancelled"})
    T.check([x["orderId"] for x in hist["result"]["list"]] == [lim2["result"]["orderId"]],
            "order/history orderStatus=Cancelled", hist["result"]["list"])
    _s, _h, ro = fake.request("GET", "/v5/order/realtime", {"category": "linear", "symbol": "BTCUSDT", "openOnly": "1"})
    T.check(len(ro["result"]["list"]) >= 3, "realtime openOnly=1 adds closed orders", len(ro["result"]["list"]))


def test_faults(fake):
    fake.control(op="reset")
    # latency: answered, late.
    fake.fault("latency", ms=300, path="/v5/position/list")
    t0 = time.monotonic()
    _s, _h, body = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
    took = time.monotonic() - t0
    print(f"# latency fault of 300 ms: answered after {took * 1000:.0f} ms")
    T.check(body["retCode"] == 0 and took >= 0.3, "latency: the answer comes, no sooner than injected", took)
    # timeout, not processed.
    fake.fault("timeout", ms=1500, path="/v5/order/create")
    try:
        fake.request(
            "POST", "/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                         "orderType": "Market", "qty": "0.01", "orderLinkId": "to-1"}, timeout=0.5)
        T.check(False, "timeout: the client gets no answer", "answered")
    except (socket.timeout, TimeoutError):
        T.check(True, "timeout: the client gets no answer")
    T.check(realtime(fake, orderLinkId="to-1")["result"]["list"] == [], "timeout (process false): no order at the fake")
    # timeout, processed.
    fake.fault("timeout", ms=1500, process=True, path="/v5/order/create")
    try:
        fake.request("POST", "/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                  "orderType": "Market", "qty": "0.01", "orderLinkId": "to-2"}, timeout=0.5)
        T.check(False, "timeout process=true: no answer", "answered")
    except (socket.timeout, TimeoutError):
        T.check(True, "timeout process=true: no answer")
    T.check(realtime(fake, orderLinkId="to-2")["result"]["list"][0]["orderStatus"] == "Filled",
            "timeout process=true: the order exists and filled")
    # drop after processing; the retry with the same orderLinkId is 110072 and the lookup finds it.
    fake.fault("drop", path="/v5/order/create")
    try:
        create(fake, orderLinkId="drop-1")
        T.check(False, "drop: the connection closes without an answer", "answered")
    except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine) as exc:
        T.check(True, f"drop: the connection closes without an answer ({type(exc).__name__})")
    T.check(create(fake, orderLinkId="drop-1")["retCode"] == 110072, "drop: resending the same orderLinkId is 110072")
    found = realtime(fake, orderLinkId="drop-1")["result"]["list"]
    T.check(len(found) == 1 and found[0]["orderStatus"] == "Filled", "drop: the order is found by orderLinkId", found)
    T.check(sum(1 for o in orders_of(fake) if o["orderLinkId"] == "drop-1") == 1, "drop: exactly one order at the fake")
    # 5xx
    fake.fault("http_error", status=503, path="/v5/order/create")
    status, _h, text = fake.raw("POST", "/v5/order/create", "{}")
    T.check(status == 503, "http_error: HTTP 503", status)
    # 10006 with the headers
    fake.fault("rate_limit", reset_ms=2000, path="/v5/order/create")
    now = int(time.time() * 1000)
    _s, headers, body = fake.request("POST", "/v5/order/create", {"category": "linear", "symbol": "BTCUSDT",
                                                                   "side": "Buy", "orderType": "Market", "qty": "0.01",
                                                                   "orderLinkId": "rl-1"})
    T.check(body["retCode"] == 10006 and headers["X-Bapi-Limit-Status"] == "0" and
            int(headers["X-Bapi-Limit-Reset-Timestamp"]) >= now + 1000, "rate_limit: 10006, Status 0, Reset ahead", headers)
    T.check(realtime(fake, orderLinkId="rl-1")["result"]["list"] == [], "rate_limit: nothing stored")
    # 403, once and for a duration
    fake.fault("forbidden")
    status, _h, _b = fake.raw("GET", "/v5/market/time")
    status2, _h, _b = fake.raw("GET", "/v5/market/time")
    T.check(status == 403 and status2 == 200, "forbidden: HTTP 403 once", (status, status2))
    fake.fault("forbidden", duration_ms=400)
    codes = [fake.raw("GET", "/v5/market/time")[0] for _ in range(3)]
    time.sleep(0.5)
    codes.append(fake.raw("GET", "/v5/market/time")[0])
    T.check(codes == [403, 403, 403, 200], "forbidden duration_ms: every request refused until it ends", codes)
    # retcode
    fake.fault("retcode", retCode=10016, path="/v5/order/realtime", times=2)
    got = [realtime(fake, orderLinkId="x")["retCode"] for _ in range(3)]
    T.check(got == [10016, 10016, 0], "retcode times=2: twice, then normal", got)
    # clock skew
    fake.control(op="clock", skew_ms=-20000)
    _s, _h, body = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
    T.check(body["retCode"] == 10002, "clock skew: a local timestamp 20 s ahead of the server is 10002", body)
    fake.sync_clock()
    _s, _h, body = fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"})
    T.check(body["retCode"] == 0, "clock skew: after syncing with market/time the request passes", body)
    fake.offset_ms = 0
    fake.control(op="clock", skew_ms=0)
    # rejections
    for code in (110007, 170136):
        fake.fault("reject", retCode=code)
        body = create(fake, orderLinkId=f"rej-{code}")
        T.check(body["retCode"] == code and realtime(fake, orderLinkId=f"rej-{code}")["result"]["list"] == [],
                f"reject {code}: refused, nothing stored", body)
    T.check(create(fake, orderLinkId="after-rej")["retCode"] == 0, "after a reject the next order goes through")
    # partial fills over polls
    fake.fault("partial_fill", parts=3)
    create(fake, qty="0.03", orderLinkId="part-1")
    seen = [(o["orderStatus"], o["cumExecQty"]) for o in
            (realtime(fake, orderLinkId="part-1")["result"]["list"][0] for _ in range(4))]
    T.check(seen == [("PartiallyFilled", "0.01"), ("PartiallyFilled", "0.02"), ("Filled", "0.03"), ("Filled", "0.03")],
            "partial_fill parts=3: one more part per poll", seen)
    _s, _h, ex = fake.request("GET", "/v5/execution/list", {"category": "linear", "orderLinkId": "part-1"})
    T.check(len(ex["result"]["list"]) == 3, "partial_fill: three executions", len(ex["result"]["list"]))
    # an order that stays New: cancel one, fill another through control
    fake.fault("stay_new", times=2)
    create(fake, orderLinkId="new-1")
    create(fake, category="spot", qty="100", orderLinkId="new-2")
    polls = [realtime(fake, orderLinkId="new-1")["result"]["list"][0]["orderStatus"] for _ in range(3)]
    T.check(polls == ["New"] * 3, "stay_new: New however often it is polled", polls)
    _s, _h, c = fake.request("POST", "/v5/order/cancel", {"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "new-1"})
    st = realtime(fake, orderLinkId="new-1")["result"]["list"][0]
    T.check(c["retCode"] == 0 and st["orderStatus"] == "Cancelled" and st["cumExecQty"] == "0",
            "stay_new then cancel: Cancelled, nothing filled", st)
    fake.control(op="fill", orderLinkId="new-2")
    st = realtime(fake, "spot", orderLinkId="new-2")["result"]["list"][0]
    T.check(st["orderStatus"] == "Filled" and st["cumExecValue"] == "100", "stay_new then control fill: Filled", st)
    # a per-second limit, enforced (the window is 1 s: three requests in a row overrun a limit of 2)
    fake.control(op="set_rate_limit", path="/v5/position/list", limit=2)
    time.sleep(1.1)  # let the window of the earlier position/list calls pass
    replies = [fake.request("GET", "/v5/position/list", {"category": "linear", "symbol": "BTCUSDT"}) for _ in range(3)]
    statuses = [r[1]["X-Bapi-Limit-Status"] for r in replies]
    T.check([r[2]["retCode"] for r in replies] == [0, 0, 10006] and statuses == ["1", "0", "0"] and
            int(replies[2][1]["X-Bapi-Limit-Reset-Timestamp"]) > replies[2][2]["time"] - 1000,
            "set_rate_limit 2/s: the third request in the window is 10006, Status 1, 0, 0", statuses)
    # control errors and the state read
    status, _h, text = fake.raw("POST", "/__control", json.dumps({"op": "nope"}))
    T.check(status == 400 and "op must be one of" in text, "control: an unknown op is HTTP 400 naming the valid ones", text)
    status, _h, text = fake.raw("POST", "/__control", json.dumps({"op": "fault", "fault": "reject"}))
    T.check(status == 400 and "retCode" in text, "control: reject without retCode is refused", text)
    st = fake.state()
    acct = st["accounts"][fake.key]
    T.check({"balances", "positions", "orders", "executions"} <= set(acct) and st["faults"] == [],
            "control state: balances, positions, orders, executions; no fault left", list(acct))
    links = [c["orderLinkId"] for c in st["creates"]]
    T.check(links.count("drop-1") == 2 and [c["retCode"] for c in st["creates"] if c["orderLinkId"] == "drop-1"] == [0, 110072],
            "control state: every create attempt with its retCode", st["creates"][:3])


def test_keys_are_accounts(fake):
    fake.control(op="reset")
    create(fake, orderLinkId="same-id")
    _s, _h, other = fake.request("POST", "/v5/order/create", {"category": "linear", "symbol": "BTCUSDT", "side": "Buy",
                                                              "orderType": "Market", "qty": "0.01",
                                                              "orderLinkId": "same-id"}, key="key-2")
    T.check(other["retCode"] == 0, "each key is its own account: the same orderLinkId on another key is new", other)
    st = fake.state()["accounts"]
    T.check(st["key-2"]["uid"] != st[fake.key]["uid"] and len(st["key-2"]["orders"]) == 1,
            "each key is its own account (uid, orders)", {k: v["uid"] for k, v in st.items()})


def test_keepalive(fake):
    conn = http.client.HTTPConnection("127.0.0.1", fake.port, timeout=5)
    ok = True
    for _ in range(3):
        conn.request("GET", "/v5/market/time")
        resp = conn.getresponse()
        ok = ok and resp.status == 200 and json.loads(resp.read())["retCode"] == 0
    conn.close()
    T.check(ok, "HTTP/1.1 keep-alive: three requests on one connection")


def main():
    with FakeBybit(keys={"test-key": "test-secret", "key-2": "secret-2", DOC_KEY: "doc-secret"},
                   balances={"USDT": "100000"}, prices={"BTCUSDT": "50000", "ETHUSDT": "3000"}) as fake:
        for test in (test_public, test_kline, test_signing, test_orders, test_faults, test_keys_are_accounts,
                     test_keepalive):
            try:
                test(fake)
            except Exception as exc:  # a crash is one failure, and the rest still run
                T.check(False, f"{test.__name__} crashed", f"{type(exc).__name__}: {exc}")
    sys.exit(T.summary())


if __name__ == "__main__":
    main()
