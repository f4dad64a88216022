#!/usr/bin/env python3
"""fake-bybit: a local Bybit V5 REST server for tests (Python standard library only).

The protocol follows ../shared/docs/brokers.md section 1 (relative to the repo root); the command line, the
endpoints, the rules it applies and the control API are in README.md next to this file.
"""

import argparse
import calendar
import datetime
import hashlib
import hmac
import ipaddress
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections import deque
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

D = Decimal
ZERO = D(0)
DEFAULT_RECV_WINDOW = 5000
HISTORY_DAYS = 30
LINK_ID_RE = re.compile(r"^[0-9A-Za-z_-]{1,36}$")
MINUTE_INTERVALS = {"1", "3", "5", "15", "30", "60", "120", "240", "360", "720"}
DAY_MS = 86_400_000
WEEK_MS = 7 * DAY_MS
MONDAY_OFFSET_MS = 4 * DAY_MS  # 1970-01-05 was a Monday
OPEN_STATUSES = ("New", "PartiallyFilled", "Untriggered")
# Per-second API limits (brokers.md 1.10); order/create is 10 on linear, 20 on spot.
RATE_LIMITS = {
    "/v5/order/create": 10,
    "/v5/order/cancel": 10,
    "/v5/order/realtime": 50,
    "/v5/order/history": 50,
    "/v5/execution/list": 50,
    "/v5/position/list": 50,
    "/v5/account/wallet-balance": 50,
}
DEFAULT_RATE_LIMIT = 50
ORDER_FAULTS = ("reject", "stay_new", "partial_fill", "duplicate_ack")
TRANSPORT_FAULTS = ("latency", "timeout", "drop", "http_error", "rate_limit", "forbidden", "retcode")


def fmt(value):
    """A Decimal as Bybit writes numbers: a plain string, no exponent, no trailing zeros."""
    if value is None:
        return ""
    value = D(value)
    if value == 0:
        return "0"
    return format(value.normalize(), "f")


def floor_to(value, step):
    return (value / step).to_integral_value(rounding=ROUND_DOWN) * step


def is_multiple(value, step):
    return (value / step) == (value / step).to_integral_value()


def to_decimal(text):
    if isinstance(text, bool) or text is None:
        return None
    try:
        value = D(str(text))
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


class ApiError(Exception):
    def __init__(self, code, msg, http_status=200):
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.http_status = http_status


class Instrument:
    def __init__(self, category, symbol, base, quote, step, min_qty, max_qty, min_value, tick):
        self.category = category
        self.symbol = symbol
        self.base = base
        self.quote = quote
        self.step = D(step)  # basePrecision on spot, qtyStep on linear
        self.min_qty = D(min_qty)
        self.max_qty = D(max_qty)
        self.min_value = D(min_value)  # minOrderAmt on spot, minNotionalValue on linear
        self.tick = D(tick)

    def info(self):
        common = {
            "symbol": self.symbol,
            "baseCoin": self.base,
            "quoteCoin": self.quote,
            "status": "Trading",
        }
        if self.category == "spot":
            common.update(
                {
                    "innovation": "0",
                    "marginTrading": "utaOnly",
                    "stTag": "0",
                    "lotSizeFilter": {
                        "basePrecision": fmt(self.step),
                        "quotePrecision": "0.00000001",
                        "minOrderQty": fmt(self.min_qty),
                        "maxOrderQty": fmt(self.max_qty),
                        "minOrderAmt": fmt(self.min_value),
                        "maxOrderAmt": "2000000",
                    },
                    "priceFilter": {"tickSize": fmt(self.tick)},
                    "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
                }
            )
            return common
        scale = max(0, -self.tick.normalize().as_tuple().exponent)
        common.update(
            {
                "contractType": "LinearPerpetual",
                "launchTime": "1584230400000",
                "deliveryTime": "0",
                "deliveryFeeRate": "",
                "priceScale": str(scale),
                "leverageFilter": {"minLeverage": "1", "maxLeverage": "100.00", "leverageStep": "0.01"},
                "priceFilter": {"minPrice": fmt(self.tick), "maxPrice": "1999999.80", "tickSize": fmt(self.tick)},
                "lotSizeFilter": {
                    "maxOrderQty": fmt(self.max_qty),
                    "minOrderQty": fmt(self.min_qty),
                    "qtyStep": fmt(self.step),
                    "postOnlyMaxOrderQty": fmt(self.max_qty),
                    "maxMktOrderQty": fmt(self.max_qty),
                    "minNotionalValue": fmt(self.min_value),
                },
                "unifiedMarginTrade": True,
                "fundingInterval": 480,
                "settleCoin": self.quote,
                "copyTrading": "both",
                "upperFundingRate": "0.00375",
                "lowerFundingRate": "-0.00375",
                "isPreListing": False,
                "preListingInfo": None,
            }
        )
        return common


def builtin_instruments(symbol):
    """(spot, linear) instruments of a symbol: the built-in table, or a generic XXXUSDT."""
    if symbol == "BTCUSDT":
        return (
            Instrument("spot", symbol, "BTC", "USDT", "0.000001", "0.000048", "71.73956243", "1", "0.01"),
            Instrument("linear", symbol, "BTC", "USDT", "0.001", "0.001", "1190", "5", "0.10"),
        )
    if symbol == "ETHUSDT":
        return (
            Instrument("spot", symbol, "ETH", "USDT", "0.00001", "0.00062", "1229.2336343", "1", "0.01"),
            Instrument("linear", symbol, "ETH", "USDT", "0.01", "0.01", "7240", "5", "0.01"),
        )
    for quote in ("USDT", "USDC"):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            base = symbol[: -len(quote)]
            return (
                Instrument("spot", symbol, base, quote, "0.0001", "0.0001", "1000000", "1", "0.0001"),
                Instrument("linear", symbol, base, quote, "0.001", "0.001", "1000000", "5", "0.0001"),
            )
    raise ValueError(f"--price {symbol}: a symbol must end in USDT or USDC (e.g. BTCUSDT)")


class Order:
    def __init__(self, **kw):
        self.__dict__.update(kw)

    def is_open(self):
        return self.status in OPEN_STATUSES

    def api(self):
        avg = ""
        if self.cum_qty > 0:
            avg = fmt((self.cum_value / self.cum_qty).quantize(D("0.00000001")))
        elif self.category == "spot":
            avg = "0"
        leaves = ZERO if not self.is_open() else max(self.base_target - self.cum_qty, ZERO)
        leaves_value = leaves * (self.price if self.price else self.ref_price)
        fee_detail = {self.fee_coin: fmt(self.cum_fee)} if self.cum_fee > 0 else {}
        return {
            "orderId": self.order_id,
            "orderLinkId": self.link_id,
            "blockTradeId": "",
            "symbol": self.symbol,
            "price": fmt(self.shown_price),
            "qty": fmt(self.qty),
            "side": self.side,
            "isLeverage": "0" if self.category == "spot" else "",
            "positionIdx": 0,
            "orderStatus": self.status,
            "createType": "CreateByUser",
            "cancelType": self.cancel_type,
            "rejectReason": self.reject_reason,
            "avgPrice": avg,
            "leavesQty": fmt(leaves),
            "leavesValue": fmt(leaves_value),
            "cumExecQty": fmt(self.cum_qty),
            "cumExecValue": fmt(self.cum_value),
            "cumExecFee": fmt(self.cum_fee),
            "cumFeeDetail": fee_detail,
            "timeInForce": self.tif,
            "orderType": self.order_type,
            "stopOrderType": "",
            "orderIv": "",
            "marketUnit": self.market_unit,
            "slippageToleranceType": "UNKNOWN",
            "slippageTolerance": "0",
            "triggerPrice": "",
            "takeProfit": "",
            "stopLoss": "",
            "tpslMode": "",
            "ocoTriggerBy": "",
            "tpLimitPrice": "",
            "slLimitPrice": "",
            "tpTriggerBy": "",
            "slTriggerBy": "",
            "triggerDirection": 0,
            "triggerBy": "",
            "lastPriceOnCreated": fmt(self.ref_price),
            "basePrice": "",
            "reduceOnly": self.reduce_only,
            "closeOnTrigger": False,
            "placeType": "",
            "smpType": "None",
            "smpGroup": 0,
            "smpOrderId": "",
            "createdTime": str(self.created),
            "updatedTime": str(self.updated),
        }


class Position:
    def __init__(self, symbol):
        self.symbol = symbol
        self.size = ZERO  # signed: > 0 long, < 0 short
        self.avg = ZERO
        self.cum_realised = ZERO
        self.cur_realised = ZERO
        self.created = 0
        self.updated = 0
        self.seq = 0


class Account:
    def __init__(self, key, secret, uid, balances):
        self.key = key
        self.secret = secret
        self.uid = uid
        self.wallet = dict(balances)
        self.locked = {}
        self.cum_realised = {}
        self.positions = {}
        self.orders = []
        self.by_id = {}
        self.link_ids = set()
        self.by_link = {}  # orderLinkId -> its order
        self.executions = []


class Fault:
    def __init__(self, spec):
        kind = spec.get("fault")
        if kind not in ORDER_FAULTS + TRANSPORT_FAULTS:
            raise ValueError(f"fault must be one of {', '.join(TRANSPORT_FAULTS + ORDER_FAULTS)}; got {kind!r}")
        self.kind = kind
        self.spec = spec
        self.times = int(spec.get("times", 1))
        if self.times == 0 or self.times < -1:
            raise ValueError("times must be a positive count or -1 (until cleared)")
        default_path = "/v5/order/create" if kind in ORDER_FAULTS else None
        self.path = spec.get("path", default_path)
        self.method = spec.get("method")
        if kind == "reject" and not isinstance(spec.get("retCode"), int):
            raise ValueError("fault reject needs an integer retCode (e.g. 110007 or 170136)")
        if kind == "retcode" and not isinstance(spec.get("retCode"), int):
            raise ValueError("fault retcode needs an integer retCode")
        if kind == "partial_fill" and int(spec.get("parts", 3)) < 2:
            raise ValueError("partial_fill parts must be >= 2")

    def matches(self, method, path):
        return (self.path is None or self.path == path) and (self.method is None or self.method == method)

    def describe(self):
        return dict(self.spec, times_left=self.times)


class Exchange:
    """All state; every method runs under self.lock."""

    def __init__(self, args):
        self.lock = threading.RLock()
        self.args = args
        self.start_ms = int(time.time() * 1000)
        self.reset()

    # ---- state -------------------------------------------------------------------------
    def reset(self):
        args = self.args
        self.skew_ms = 0
        self.faults = []
        self.forbidden_until = 0
        self.prices = {}
        self.start_prices = {}
        self.instruments = {"spot": {}, "linear": {}}
        for symbol, price in args.prices.items():
            self.add_symbol(symbol, price)
        self.accounts = {}
        for i, (key, secret) in enumerate(args.keys):
            self.accounts[key] = Account(key, secret, str(10_000_001 + i), args.balances)
        self.requests = {}
        self.creates = []
        self.rate_windows = {}
        self.klines = {}
        self.limit_overrides = {}  # path -> per-second limit, enforced (control set_rate_limit)

    def add_symbol(self, symbol, price):
        spot, linear = builtin_instruments(symbol)
        self.instruments["spot"][symbol] = spot
        self.instruments["linear"][symbol] = linear
        self.prices[symbol] = D(price)
        self.start_prices.setdefault(symbol, D(price))

    def now_ms(self):
        return int(time.time() * 1000) + self.skew_ms

    def coin_usd(self, coin):
        if coin in ("USDT", "USDC", "USD"):
            return D(1)
        price = self.prices.get(coin + "USDT")
        return price if price is not None else ZERO

    def fee_rate(self, category):
        return D(str(self.args.fee_spot if category == "spot" else self.args.fee_linear))

    def leverage(self):
        return D(str(self.args.leverage))

    # ---- faults ------------------------------------------------------------------------
    def take_fault(self, method, path, kinds):
        for fault in self.faults:
            if fault.kind in kinds and fault.matches(method, path):
                if fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.faults.remove(fault)
                return fault
        return None

    # ---- rate limits -------------------------------------------------------------------
    def rate_limit(self, who, path, category):
        limit = RATE_LIMITS.get(path, DEFAULT_RATE_LIMIT)
        if path == "/v5/order/create" and category == "spot":
            limit = 20
        limit = self.limit_overrides.get(path, limit)
        now = int(time.time() * 1000)
        window = self.rate_windows.setdefault((who, path), deque())
        while window and window[0] <= now - 1000:
            window.popleft()
        over = len(window) >= limit
        if not over:
            window.append(now)
        remaining = max(limit - len(window), 0)
        reset = (window[0] + 1000 if over else now) + self.skew_ms  # in the server's clock
        return over, {
            "X-Bapi-Limit": str(limit),
            "X-Bapi-Limit-Status": str(remaining),
            "X-Bapi-Limit-Reset-Timestamp": str(reset),
        }

    # ---- auth --------------------------------------------------------------------------
    def authenticate(self, headers, payload):
        key = headers.get("X-BAPI-API-KEY")
        account = self.accounts.get(key) if key else None
        if account is None:
            raise ApiError(10003, "API key is invalid.")
        ts_text = headers.get("X-BAPI-TIMESTAMP", "")
        rw_text = headers.get("X-BAPI-RECV-WINDOW") or str(DEFAULT_RECV_WINDOW)
        server = self.now_ms()
        if not ts_text.isdigit() or not rw_text.isdigit():
            raise ApiError(
                10002,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts_text}],server_timestamp[{server}],recv_window[{rw_text}]",
            )
        ts, rw = int(ts_text), int(rw_text)
        if not (server - rw <= ts < server + 1000):
            raise ApiError(
                10002,
                "invalid request, please check your server timestamp or recv_window param. "
                f"req_timestamp[{ts}],server_timestamp[{server}],recv_window[{rw}]",
            )
        origin = ts_text + key + rw_text + payload
        want = hmac.new(account.secret.encode(), origin.encode(), hashlib.sha256).hexdigest()
        got = headers.get("X-BAPI-SIGN", "")
        if not hmac.compare_digest(want, got.lower()):
            raise ApiError(10004, f"error sign! origin_string[{origin}]")
        return account

    # ---- public endpoints --------------------------------------------------------------
    def market_time(self, _q):
        now = self.now_ms()
        return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000 + 123_456)}

    def category_of(self, q, allowed, default=None):
        category = q.get("category", default)
        if category is None:
            raise ApiError(10001, "params error: category is required")
        if category not in allowed:
            raise ApiError(10001, f"params error: category only support {', '.join(allowed)}")
        return category

    def instruments_info(self, q):
        category = self.category_of(q, ("spot", "linear", "inverse", "option"))
        rows = []
        if category in self.instruments and q.get("status", "Trading") == "Trading":
            for inst in self.instruments[category].values():
                if q.get("symbol") and q["symbol"] != inst.symbol:
                    continue
                if q.get("baseCoin") and q["baseCoin"] != inst.base:
                    continue
                rows.append(inst.info())
        return {"category": category, "list": rows, "nextPageCursor": ""}

    def tickers(self, q):
        category = self.category_of(q, ("spot", "linear", "inverse", "option"))
        rows = []
        for inst in self.instruments.get(category, {}).values():
            if q.get("symbol") and q["symbol"] != inst.symbol:
                continue
            p = self.prices[inst.symbol]
            p0 = self.start_prices[inst.symbol]
            row = {
                "symbol": inst.symbol,
                "bid1Price": fmt(p - inst.tick),
                "bid1Size": "1",
                "ask1Price": fmt(p + inst.tick),
                "ask1Size": "1",
                "lastPrice": fmt(p),
                "prevPrice24h": fmt(p0),
                "price24hPcnt": fmt(((p - p0) / p0).quantize(D("0.0001"))),
                "highPrice24h": fmt(max(p, p0)),
                "lowPrice24h": fmt(min(p, p0)),
                "turnover24h": "0",
                "volume24h": "0",
            }
            if category == "spot":
                row["usdIndexPrice"] = fmt(p)
            else:
                row.update(
                    {
                        "indexPrice": fmt(p),
                        "markPrice": fmt(p),
                        "prevPrice1h": fmt(p0),
                        "openInterest": "0",
                        "openInterestValue": "0",
                        "fundingRate": "0.0001",
                        "nextFundingTime": str((self.now_ms() // 28_800_000 + 1) * 28_800_000),
                        "predictedDeliveryPrice": "",
                        "basisRate": "",
                        "deliveryFeeRate": "",
                        "deliveryTime": "0",
                        "basis": "",
                    }
                )
            rows.append(row)
        if q.get("symbol") and not rows:
            raise ApiError(10001, "Not supported symbols")
        return {"category": category, "list": rows}

    # klines ---------------------------------------------------------------------------
    @staticmethod
    def candle_start(interval, t):
        if interval in MINUTE_INTERVALS:
            step = int(interval) * 60_000
            return t // step * step
        if interval == "D":
            return t // DAY_MS * DAY_MS
        if interval == "W":
            return (t - MONDAY_OFFSET_MS) // WEEK_MS * WEEK_MS + MONDAY_OFFSET_MS
        day = datetime.datetime.fromtimestamp(t / 1000, datetime.timezone.utc)
        return calendar.timegm((day.year, day.month, 1, 0, 0, 0)) * 1000

    @staticmethod
    def candle_next(interval, start, direction):
        if interval in MINUTE_INTERVALS:
            return start + direction * int(interval) * 60_000
        if interval == "D":
            return start + direction * DAY_MS
        if interval == "W":
            return start + direction * WEEK_MS
        day = datetime.datetime.fromtimestamp(start / 1000, datetime.timezone.utc)
        month = day.year * 12 + day.month - 1 + direction
        return calendar.timegm((month // 12, month % 12 + 1, 1, 0, 0, 0)) * 1000

    @staticmethod
    def candle_index(interval, start):
        if interval in MINUTE_INTERVALS:
            return start // (int(interval) * 60_000)
        if interval == "D":
            return start // DAY_MS
        if interval == "W":
            return (start - MONDAY_OFFSET_MS) // WEEK_MS
        day = datetime.datetime.fromtimestamp(start / 1000, datetime.timezone.utc)
        return (day.year - 1970) * 12 + day.month - 1

    def synthetic_candle(self, inst, interval, start, forming):
        k = self.candle_index(interval, start)
        p0 = self.start_prices[inst.symbol]
        tick = inst.tick
        o = (p0 * (1 + D((k * 7) % 11 - 5) / 1000)).quantize(tick)
        c = (p0 * (1 + D((k * 7 + 7) % 11 - 5) / 1000)).quantize(tick)
        if forming:
            c = self.prices[inst.symbol]
            h, low = max(o, c), min(o, c)
        else:
            h = (max(o, c) * D("1.001")).quantize(tick)
            low = (min(o, c) * D("0.999")).quantize(tick)
        v = D(1 + k % 5)
        return [str(start), fmt(o), fmt(h), fmt(low), fmt(c), fmt(v), fmt(v * c)]

    def kline(self, q):
        category = self.category_of(q, ("spot", "linear", "inverse"), default="linear")
        symbol = q.get("symbol")
        interval = q.get("interval")
        if not symbol:
            raise ApiError(10001, "params error: symbol is required")
        if interval not in MINUTE_INTERVALS and interval not in ("D", "W", "M"):
            raise ApiError(10001, "Invalid period!")
        inst = self.instruments.get(category, {}).get(symbol)
        if inst is None:
            raise ApiError(10001, "Not supported symbols")
        try:
            limit = int(q.get("limit", 200))
            start = int(q["start"]) if q.get("start") else None
            end = int(q["end"]) if q.get("end") else None
        except ValueError as exc:
            raise ApiError(10001, f"params error: {exc}") from None
        limit = max(1, min(limit, 1000))
        now = self.now_ms()
        forming = self.candle_start(interval, now)
        explicit = self.klines.get((category, symbol, interval))
        if explicit is not None:
            rows = [r for s, r in sorted(explicit.items(), reverse=True)
                    if (start is None or s >= start) and (end is None or s <= end)]
            return {"category": category, "symbol": symbol, "list": rows[:limit]}
        first = self.candle_start(interval, self.start_ms - HISTORY_DAYS * DAY_MS)
        rows = []
        if start is not None and end is None:
            s = max(self.candle_start(interval, start), first)
            if s < start:
                s = self.candle_next(interval, s, 1)
            while s <= forming and len(rows) < limit:
                rows.append(self.synthetic_candle(inst, interval, s, s == forming))
                s = self.candle_next(interval, s, 1)
            rows.reverse()
        else:
            s = self.candle_start(interval, min(end if end is not None else now, now))
            low = max(start if start is not None else first, first)
            while s >= low and len(rows) < limit:
                rows.append(self.synthetic_candle(inst, interval, s, s == forming))
                s = self.candle_next(interval, s, -1)
        return {"category": category, "symbol": symbol, "list": rows}

    # ---- private: account info (ccxt) --------------------------------------------------
    def query_api(self, acct, _q):
        return {
            "id": acct.uid, "note": "fake-bybit", "apiKey": acct.key, "readOnly": 0, "secret": "",
            "permissions": {"ContractTrade": ["Order", "Position"], "Spot": ["SpotTrade"], "Wallet": ["AccountTransfer"],
                            "Options": [], "Derivatives": [], "CopyTrading": [], "BlockTrade": [], "Exchange": [], "NFT": []},
            "ips": ["*"], "type": 1, "deadlineDay": -1, "expiredAt": "", "createdAt": "2024-01-01T00:00:00Z",
            "unified": 0, "uta": 1, "userID": int(acct.uid), "inviterID": 0, "vipLevel": "No VIP",
            "mktMakerLevel": "0", "affiliateID": 0, "rsaPublicKey": "", "isMaster": True, "parentUid": "0",
            "kycLevel": "LEVEL_DEFAULT", "kycRegion": "",
        }

    def account_info(self, _acct, _q):
        return {"marginMode": "REGULAR_MARGIN", "updatedTime": str(self.start_ms), "unifiedMarginStatus": 6,
                "dcpStatus": "OFF", "timeWindow": 10, "smpGroup": 0, "isMasterTrader": False,
                "spotHedgingStatus": "OFF"}

    def coin_info(self, acct, _q):
        coins = set(acct.wallet)
        for inst in self.instruments["spot"].values():
            coins.update((inst.base, inst.quote))
        rows = [{"name": c, "coin": c, "remainAmount": "1000000",
                 "chains": [{"chainType": c, "confirmation": "1", "withdrawFee": "0", "depositMin": "0",
                             "withdrawMin": "0", "chain": c, "chainDeposit": "1", "chainWithdraw": "1",
                             "minAccuracy": "8", "withdrawPercentageFee": "0"}]} for c in sorted(coins)]
        return {"rows": rows}

    # ---- private: wallet and positions -------------------------------------------------
    def position_figures(self, pos):
        mark = self.prices[pos.symbol]
        size = abs(pos.size)
        upl = (mark - pos.avg) * pos.size if pos.size else ZERO
        value = size * pos.avg
        im = size * mark / self.leverage()
        mm = size * mark * D("0.005")
        return upl, value, im, mm

    def wallet_balance(self, acct, q):
        account_type = q.get("accountType")
        if account_type != "UNIFIED":
            raise ApiError(10001, "accountType only support UNIFIED")
        wanted = [c for c in q.get("coin", "").split(",") if c]
        upl_total = im_total = mm_total = ZERO
        for pos in acct.positions.values():
            upl, _v, im, mm = self.position_figures(pos)
            upl_total += upl
            im_total += im
            mm_total += mm
        coins = []
        tot_wallet = tot_equity = ZERO
        for coin in sorted(set(acct.wallet) | set(wanted)):
            bal = acct.wallet.get(coin, ZERO)
            upl = upl_total if coin == "USDT" else ZERO
            if not wanted and bal == 0 and upl == 0:
                continue
            if wanted and coin not in wanted:
                continue
            equity = bal + upl
            usd = self.coin_usd(coin)
            tot_wallet += bal * usd
            tot_equity += equity * usd
            coins.append({
                "coin": coin, "equity": fmt(equity), "usdValue": fmt((equity * usd).quantize(D("0.00000001"))),
                "walletBalance": fmt(bal), "free": "", "locked": fmt(acct.locked.get(coin, ZERO)),
                "spotHedgingQty": "0", "borrowAmount": "0", "availableToWithdraw": "", "accruedInterest": "0",
                "totalOrderIM": "0", "totalPositionIM": fmt(im_total if coin == "USDT" else ZERO),
                "totalPositionMM": fmt(mm_total if coin == "USDT" else ZERO),
                "unrealisedPnl": fmt(upl), "cumRealisedPnl": fmt(acct.cum_realised.get(coin, ZERO)),
                "bonus": "0", "marginCollateral": True, "collateralSwitch": True, "availableToBorrow": "",
                "spotBorrow": "0",
            })
        margin_balance = tot_wallet + upl_total
        q8 = D("0.00000001")
        row = {
            "accountType": "UNIFIED", "accountLTV": "0",
            "accountIMRate": fmt((im_total / margin_balance).quantize(D("0.0001"))) if margin_balance > 0 else "0",
            "accountMMRate": fmt((mm_total / margin_balance).quantize(D("0.0001"))) if margin_balance > 0 else "0",
            "accountIMRateByMp": "0", "accountMMRateByMp": "0",
            "totalEquity": fmt(tot_equity.quantize(q8)), "totalWalletBalance": fmt(tot_wallet.quantize(q8)),
            "totalMarginBalance": fmt(margin_balance.quantize(q8)),
            "totalAvailableBalance": fmt((margin_balance - im_total).quantize(q8)),
            "totalPerpUPL": fmt(upl_total.quantize(q8)), "totalInitialMargin": fmt(im_total.quantize(q8)),
            "totalMaintenanceMargin": fmt(mm_total.quantize(q8)),
            "totalInitialMarginByMp": "0", "totalMaintenanceMarginByMp": "0", "coin": coins,
        }
        return {"list": [row]}

    def available_usdt(self, acct):
        upl_total = im_total = ZERO
        for pos in acct.positions.values():
            upl, _v, im, _mm = self.position_figures(pos)
            upl_total += upl
            im_total += im
        return acct.wallet.get("USDT", ZERO) - acct.locked.get("USDT", ZERO) + upl_total - im_total

    def position_row(self, pos):
        upl, value, im, mm = self.position_figures(pos)
        side = "Buy" if pos.size > 0 else ("Sell" if pos.size < 0 else "")
        tick = self.instruments["linear"][pos.symbol].tick
        return {
            "positionIdx": 0, "riskId": 1, "riskLimitValue": "2000000", "symbol": pos.symbol, "side": side,
            "size": fmt(abs(pos.size)), "avgPrice": fmt(pos.avg.quantize(D("0.00000001"))) if pos.size else "0",
            "positionValue": fmt(value.quantize(D("0.00000001"))) if pos.size else "",
            "tradeMode": 0, "positionStatus": "Normal", "autoAddMargin": 0, "adlRankIndicator": 2 if pos.size else 0,
            "leverage": fmt(self.leverage()), "positionBalance": fmt(im.quantize(D("0.00000001"))),
            "markPrice": fmt(self.prices[pos.symbol]), "liqPrice": "", "bustPrice": "",
            "positionMM": fmt(mm.quantize(D("0.00000001"))), "positionIM": fmt(im.quantize(D("0.00000001"))),
            "tpslMode": "Full", "takeProfit": "0", "stopLoss": "0", "trailingStop": "0",
            "unrealisedPnl": fmt(upl.quantize(tick * D("0.0001"))), "curRealisedPnl": fmt(pos.cur_realised),
            "cumRealisedPnl": fmt(pos.cum_realised), "sessionAvgPrice": "", "isReduceOnly": False,
            "mmrSysUpdatedTime": "", "leverageSysUpdatedTime": "",
            "createdTime": str(pos.created), "updatedTime": str(pos.updated), "seq": pos.seq,
        }

    def position_list(self, acct, q):
        category = q.get("category")
        if category != "linear":
            raise ApiError(10001, "category only support linear in this account (fake: no inverse/option)")
        symbol, settle = q.get("symbol"), q.get("settleCoin")
        if not symbol and not settle:
            raise ApiError(10001, "Missing some parameters that must be filled in, symbol or settleCoin")
        rows = []
        if symbol:
            for sym in symbol.split(","):
                if sym not in self.instruments["linear"]:
                    raise ApiError(10001, "params error: symbol invalid")
                rows.append(self.position_row(acct.positions.get(sym) or Position(sym)))
        else:
            for pos in acct.positions.values():
                if pos.size != 0 and self.instruments["linear"][pos.symbol].quote == settle:
                    rows.append(self.position_row(pos))
        return {"category": "linear", "list": rows, "nextPageCursor": ""}

    def switch_mode(self, _acct, body):
        """One-way mode only: asking for it again is Bybit's 110025 'not modified'."""
        if body.get("category") != "linear":
            raise ApiError(10001, "params error: category only support linear")
        if not body.get("symbol") and not body.get("coin"):
            raise ApiError(10001, "params error: symbol or coin is required")
        if str(body.get("mode")) == "0":
            raise ApiError(110025, "Position mode is not modified")
        raise ApiError(10001, "params error: fake-bybit keeps one-way mode (mode 0) only")

    # ---- private: orders ---------------------------------------------------------------
    def order_create(self, acct, body):
        category = body.get("category")
        spot = category == "spot"
        if category not in ("spot", "linear"):
            raise ApiError(10001, "params error: category only support spot, linear (fake-bybit)")
        symbol = body.get("symbol")
        inst = self.instruments[category].get(symbol) if isinstance(symbol, str) else None
        if inst is None:
            raise ApiError(170121, "Invalid symbol.") if spot else ApiError(10001, "params error: symbol invalid")
        side = body.get("side")
        if side not in ("Buy", "Sell"):
            raise ApiError(10001, "params error: side invalid")
        order_type = body.get("orderType")
        if order_type not in ("Market", "Limit"):
            raise ApiError(10001, "params error: orderType invalid")
        qty = to_decimal(body.get("qty"))
        if qty is None or qty <= 0:
            raise ApiError(10001, "params error: qty invalid")
        price = None
        if order_type == "Limit":
            price = to_decimal(body.get("price"))
            if price is None or price <= 0:
                raise ApiError(10001, "params error: price invalid")
            if not is_multiple(price, inst.tick):
                raise ApiError(170134, "Order price has too many decimals.") if spot else ApiError(
                    10001, "params error: price invalid: not a multiple of tickSize")
        tif = body.get("timeInForce", "IOC" if order_type == "Market" else "GTC")
        if tif not in ("GTC", "IOC", "FOK", "PostOnly", "RPI"):
            raise ApiError(10001, "params error: timeInForce invalid")
        if order_type == "Market":
            tif = "IOC"
        link_id = body.get("orderLinkId")
        if link_id is not None and (not isinstance(link_id, str) or not LINK_ID_RE.match(link_id)):
            raise ApiError(10001, "params error: orderLinkId invalid: at most 36 of [0-9A-Za-z_-]")
        position_idx = body.get("positionIdx", 0)
        if not spot and str(position_idx) != "0":
            raise ApiError(10001, "position idx not match position mode")
        reduce_only = body.get("reduceOnly") in (True, "true", "True", 1, "1")
        market_unit = body.get("marketUnit", "")
        if market_unit not in ("", "baseCoin", "quoteCoin"):
            raise ApiError(10001, "params error: marketUnit invalid")
        if link_id and link_id in acct.link_ids:
            raise ApiError(170141, "Duplicate clientOrderId.") if spot else ApiError(110072, "OrderLinkedID is duplicate")
        ref = self.prices[symbol]
        exec_price = price if price is not None else ref
        # The quantity in the base coin this order fills.
        if spot and order_type == "Market" and side == "Buy" and market_unit != "baseCoin":
            if qty < inst.min_value:
                raise ApiError(170140, "Order value below the lower limit.")
            base_target = floor_to(qty / ref, inst.step)
            if base_target < inst.min_qty:
                raise ApiError(170136, "Order quantity below the lower limit.")
            unit = "quoteCoin"
        else:
            base_target = qty
            unit = market_unit if spot and order_type == "Market" else ""
            if not is_multiple(qty, inst.step):
                raise ApiError(170137, "Order quantity has too many decimals.") if spot else ApiError(
                    10001, "params error: qty invalid: not a multiple of qtyStep")
            if qty < inst.min_qty:
                raise ApiError(170136, "Order quantity below the lower limit.") if spot else ApiError(
                    10001, "The number of contracts exceeds minimum limit allowed")
            if qty * exec_price < inst.min_value:
                raise ApiError(170140, "Order value below the lower limit.") if spot else ApiError(
                    110094, f"Order does not meet minimum order value {fmt(inst.min_value)}{inst.quote}")

        lock_coin, lock_amount = None, ZERO
        if spot:
            if side == "Buy":
                lock_coin = inst.quote
                lock_amount = qty if unit == "quoteCoin" else base_target * exec_price
            else:
                lock_coin, lock_amount = inst.base, base_target
            free = acct.wallet.get(lock_coin, ZERO) - acct.locked.get(lock_coin, ZERO)
            if lock_amount > free:
                raise ApiError(170131, "Insufficient balance.")
        else:
            pos = acct.positions.get(symbol)
            size = pos.size if pos else ZERO
            sign = 1 if side == "Buy" else -1
            reducing = min(base_target, abs(size)) if size * sign < 0 else ZERO
            if reduce_only and reducing < base_target:
                if reducing == 0:
                    raise ApiError(110017, "current position is zero, cannot fix reduce-only order qty")
                base_target = reducing
            opening = base_target - reducing
            need = opening * exec_price / self.leverage() + base_target * exec_price * self.fee_rate(category)
            if opening > 0 and need > self.available_usdt(acct):
                raise ApiError(110007, "ab not enough for new order")

        fault = self.take_fault("POST", "/v5/order/create", ORDER_FAULTS)
        if fault and fault.kind == "reject":
            raise ApiError(fault.spec["retCode"], fault.spec.get("retMsg", default_msg(fault.spec["retCode"])))
        now = self.now_ms()
        if not spot and order_type == "Market":
            band = D("1.05") if side == "Buy" else D("0.95")
            shown = (ref * band).quantize(inst.tick)
        else:
            shown = price if price is not None else ZERO
        order = Order(
            order_id=str(uuid.uuid4()), link_id=link_id or "", category=category, symbol=symbol, side=side,
            order_type=order_type, qty=qty, price=price, shown_price=shown, tif=tif, status="New",
            base_target=base_target, cum_qty=ZERO, cum_value=ZERO, cum_fee=ZERO,
            fee_coin=(inst.base if side == "Buy" else inst.quote) if spot else inst.quote,
            ref_price=ref, market_unit=unit, reduce_only=reduce_only, cancel_type="UNKNOWN",
            reject_reason="EC_NoError", created=now, updated=now, hold=None, parts=0, parts_done=0,
            lock_coin=lock_coin, lock_left=lock_amount, key=acct.key,
        )
        if lock_coin:
            acct.locked[lock_coin] = acct.locked.get(lock_coin, ZERO) + lock_amount
        acct.orders.append(order)
        acct.by_id[order.order_id] = order
        if link_id:
            acct.link_ids.add(link_id)
            acct.by_link[link_id] = order
        if fault and fault.kind == "stay_new":
            order.hold = "stay_new"
        elif fault and fault.kind == "partial_fill":
            order.hold = "partial"
            order.parts = int(fault.spec.get("parts", 3))
        else:
            self.try_fill(acct, order)
        if fault and fault.kind == "duplicate_ack":
            # the order is taken, but the answer is the one a repeated orderLinkId gets (the first
            # acknowledgement lost, a retry on the way answered): the client must look it up
            raise ApiError(170141, "Duplicate clientOrderId.") if spot else ApiError(110072, "OrderLinkedID is duplicate")
        return {"orderId": order.order_id, "orderLinkId": order.link_id}

    def marketable(self, order):
        if order.order_type == "Market":
            return True
        p = self.prices[order.symbol]
        return p <= order.price if order.side == "Buy" else p >= order.price

    def try_fill(self, acct, order):
        if order.is_open() and order.hold is None and self.marketable(order):
            self.fill(acct, order, order.base_target - order.cum_qty)

    def fill(self, acct, order, qty):
        inst = self.instruments[order.category][order.symbol]
        qty = min(floor_to(qty, inst.step), order.base_target - order.cum_qty)
        if qty <= 0:
            return
        price = self.prices[order.symbol]
        if order.order_type == "Limit":
            price = min(price, order.price) if order.side == "Buy" else max(price, order.price)
        value = qty * price
        rate = self.fee_rate(order.category)
        now = self.now_ms()
        closed_size = ZERO
        if order.category == "spot":
            w = acct.wallet
            if order.lock_coin:
                part = order.lock_left if qty == order.base_target - order.cum_qty else min(
                    order.lock_left, value if order.side == "Buy" else qty)
                acct.locked[order.lock_coin] -= part
                order.lock_left -= part
            if order.side == "Buy":
                fee = qty * rate
                w[inst.quote] = w.get(inst.quote, ZERO) - value
                w[inst.base] = w.get(inst.base, ZERO) + qty - fee
            else:
                fee = value * rate
                w[inst.base] = w.get(inst.base, ZERO) - qty
                w[inst.quote] = w.get(inst.quote, ZERO) + value - fee
        else:
            fee = value * rate
            pos = acct.positions.get(order.symbol)
            if pos is None:
                pos = acct.positions[order.symbol] = Position(order.symbol)
                pos.created = now
            sign = 1 if order.side == "Buy" else -1
            pnl = ZERO
            left = qty
            if pos.size * sign < 0:
                closed_size = min(left, abs(pos.size))
                pnl = closed_size * (price - pos.avg) * (1 if pos.size > 0 else -1)
                pos.size += sign * closed_size
                left -= closed_size
                if pos.size == 0:
                    pos.avg = ZERO
            if left > 0:
                total = abs(pos.size) + left
                pos.avg = (abs(pos.size) * pos.avg + left * price) / total
                pos.size += sign * left
            realised = pnl - fee
            pos.cur_realised += realised
            pos.cum_realised += realised
            pos.updated = now
            pos.seq += 1
            acct.wallet[inst.quote] = acct.wallet.get(inst.quote, ZERO) + realised
            acct.cum_realised[inst.quote] = acct.cum_realised.get(inst.quote, ZERO) + realised
        order.cum_qty += qty
        order.cum_value += value
        order.cum_fee += fee
        order.updated = now
        done = order.cum_qty >= order.base_target
        order.status = "Filled" if done else "PartiallyFilled"
        if done:
            order.hold = None
            self.release_lock(acct, order)
        acct.executions.append({
            "symbol": order.symbol, "orderType": order.order_type, "underlyingPrice": "", "orderLinkId": order.link_id,
            "side": order.side, "indexPrice": "", "orderId": order.order_id, "stopOrderType": "", "leavesQty": fmt(
                order.base_target - order.cum_qty), "execTime": str(now), "feeCurrency": order.fee_coin,
            "isMaker": False, "execFee": fmt(fee), "feeRate": fmt(rate), "execId": str(uuid.uuid4()), "tradeIv": "",
            "blockTradeId": "", "markPrice": fmt(self.prices[order.symbol]), "execPrice": fmt(price),
            "markIv": "", "orderQty": fmt(order.qty), "orderPrice": fmt(order.shown_price), "execValue": fmt(value),
            "execType": "Trade", "execQty": fmt(qty), "closedSize": fmt(closed_size), "seq": len(acct.executions) + 1,
            "category": order.category,
        })

    def release_lock(self, acct, order):
        if order.lock_coin and order.lock_left:
            acct.locked[order.lock_coin] -= order.lock_left
            order.lock_left = ZERO

    def advance(self, acct, order):
        """A poll of a partial_fill order fills one more part."""
        if order.hold == "partial" and order.is_open():
            order.parts_done += 1
            inst = self.instruments[order.category][order.symbol]
            if order.parts_done >= order.parts:
                qty = order.base_target - order.cum_qty
            else:
                qty = max(floor_to(order.base_target / order.parts, inst.step), inst.step)
            self.fill(acct, order, qty)

    def select_orders(self, acct, q, history):
        category = self.category_of(q, ("spot", "linear", "inverse", "option"))
        order_id, link_id = q.get("orderId"), q.get("orderLinkId")
        if category == "linear" and not history and not (q.get("symbol") or q.get("baseCoin") or q.get("settleCoin")
                                         or order_id or link_id):
            raise ApiError(10001, "Missing some parameters that must be filled in, symbol or settleCoin or baseCoin")
        try:
            limit = int(q.get("limit", 20))
            offset = int(q.get("cursor") or 0)
            start = int(q["startTime"]) if q.get("startTime") else None
            end = int(q["endTime"]) if q.get("endTime") else None
        except ValueError:
            raise ApiError(10001, "params error: limit, cursor, startTime or endTime invalid") from None
        if not 1 <= limit <= 50:
            raise ApiError(10001, "params error: limit must be 1..50")
        rows = []
        if order_id or link_id:  # a lookup of one order
            one = acct.by_id.get(order_id) if order_id else acct.by_link.get(link_id)
            candidates = [one] if one else []
        else:
            candidates = reversed(acct.orders)
        for o in candidates:
            if o.category != category:
                continue
            if order_id and o.order_id != order_id:
                continue
            if link_id and not order_id and o.link_id != link_id:
                continue
            if q.get("symbol") and o.symbol != q["symbol"]:
                continue
            if q.get("baseCoin") and self.instruments[category][o.symbol].base != q["baseCoin"]:
                continue
            if q.get("settleCoin") and self.instruments[category][o.symbol].quote != q["settleCoin"]:
                continue
            if history:
                if q.get("orderStatus") and o.status != q["orderStatus"]:
                    continue
                if start is not None and o.created < start:
                    continue
                if end is not None and o.created > end:
                    continue
            elif not (order_id or link_id) and q.get("openOnly", "0") == "0" and not o.is_open():
                continue
            rows.append(o)
        page = rows[offset:offset + limit]
        for o in page:
            self.advance(acct, o)
        cursor = str(offset + limit) if offset + limit < len(rows) else ""
        return {"category": category, "list": [o.api() for o in page], "nextPageCursor": cursor}

    def order_realtime(self, acct, q):
        return self.select_orders(acct, q, history=False)

    def order_history(self, acct, q):
        return self.select_orders(acct, q, history=True)

    def find_order(self, acct, category, order_id, link_id):
        if order_id:
            o = acct.by_id.get(order_id)
            return o if o and o.category == category else None
        o = acct.by_link.get(link_id) if link_id else None
        return o if o and o.category == category else None

    def order_cancel(self, acct, body):
        category = body.get("category")
        if category not in ("spot", "linear"):
            raise ApiError(10001, "params error: category only support spot, linear (fake-bybit)")
        if not body.get("symbol"):
            raise ApiError(10001, "params error: symbol is required")
        if not body.get("orderId") and not body.get("orderLinkId"):
            raise ApiError(10001, "params error: orderId or orderLinkId is required")
        o = self.find_order(acct, category, body.get("orderId"), body.get("orderLinkId"))
        if o is None or not o.is_open() or o.symbol != body["symbol"]:
            if category == "spot":
                raise ApiError(170213, "Order does not exist.")
            raise ApiError(110001, "order not exists or too late to cancel")
        o.status = "PartiallyFilledCanceled" if category == "spot" and o.cum_qty > 0 else "Cancelled"
        o.cancel_type = "CancelByUser"
        o.hold = None
        o.updated = self.now_ms()
        self.release_lock(acct, o)
        return {"orderId": o.order_id, "orderLinkId": o.link_id}

    def execution_list(self, acct, q):
        category = self.category_of(q, ("spot", "linear", "inverse", "option"))
        try:
            limit = int(q.get("limit", 50))
            offset = int(q.get("cursor") or 0)
        except ValueError:
            raise ApiError(10001, "params error: limit or cursor invalid") from None
        if not 1 <= limit <= 100:
            raise ApiError(10001, "params error: limit must be 1..100")
        for o in acct.orders:
            if o.category == category and ((q.get("orderId") and o.order_id == q["orderId"]) or (
                    q.get("orderLinkId") and o.link_id == q["orderLinkId"])):
                self.advance(acct, o)
        rows = []
        for e in reversed(acct.executions):
            if e["category"] != category:
                continue
            if any(q.get(k) and e[k] != q[k] for k in ("symbol", "orderId", "orderLinkId")):
                continue
            if q.get("startTime") and int(e["execTime"]) < int(q["startTime"]):
                continue
            if q.get("endTime") and int(e["execTime"]) > int(q["endTime"]):
                continue
            rows.append({k: v for k, v in e.items() if k != "category"})
        page = rows[offset:offset + limit]
        cursor = str(offset + limit) if offset + limit < len(rows) else ""
        return {"category": category, "list": page, "nextPageCursor": cursor}

    # ---- control -----------------------------------------------------------------------
    def control(self, cmd):
        op = cmd.get("op")
        if op == "state":
            return self.state(cmd.get("key"))
        if op == "set_price":
            symbol, price = cmd.get("symbol"), to_decimal(cmd.get("price"))
            if not isinstance(symbol, str) or price is None or price <= 0:
                raise ValueError("set_price needs symbol (e.g. BTCUSDT) and a positive price")
            if symbol not in self.prices:
                self.add_symbol(symbol, price)
            self.prices[symbol] = price
            for acct in self.accounts.values():
                for o in list(acct.orders):
                    if o.symbol == symbol and o.order_type == "Limit":
                        self.try_fill(acct, o)
            return {}
        if op == "set_balance":
            coin, amount = cmd.get("coin"), to_decimal(cmd.get("amount"))
            if not isinstance(coin, str) or amount is None:
                raise ValueError("set_balance needs coin (e.g. USDT) and amount")
            for acct in self.pick_accounts(cmd.get("key")):
                acct.wallet[coin] = amount
            return {}
        if op == "clock":
            if not isinstance(cmd.get("skew_ms"), int):
                raise ValueError("clock needs an integer skew_ms")
            self.skew_ms = cmd["skew_ms"]
            return {}
        if op == "fault":
            fault = Fault(cmd)
            self.faults.append(fault)
            return {"fault": fault.describe()}
        if op == "clear_faults":
            self.faults = []
            self.skew_ms = 0
            self.forbidden_until = 0
            return {}
        if op == "fill":
            for acct in self.pick_accounts(cmd.get("key")):
                for o in acct.orders:
                    if (cmd.get("orderId") and o.order_id == cmd["orderId"]) or (
                            cmd.get("orderLinkId") and o.link_id == cmd["orderLinkId"]):
                        if not o.is_open():
                            raise ValueError(f"order {o.order_id} is {o.status}, not open")
                        qty = to_decimal(cmd.get("qty")) if cmd.get("qty") is not None else None
                        o.hold = None if qty is None else o.hold
                        self.fill(acct, o, qty if qty is not None else o.base_target - o.cum_qty)
                        return {"order": o.api()}
            raise ValueError("fill: no such order (give orderId or orderLinkId)")
        if op == "klines":
            key = (cmd.get("category", "linear"), cmd.get("symbol"), str(cmd.get("interval")))
            candles = cmd.get("candles")
            if not isinstance(candles, list):
                raise ValueError("klines needs candles: [[startMs, open, high, low, close, volume, turnover], ...]")
            self.klines[key] = {int(c[0]): [str(c[0])] + [fmt(to_decimal(x)) for x in c[1:7]] for c in candles}
            return {}
        if op == "set_rate_limit":
            path, limit = cmd.get("path"), cmd.get("limit")
            if not isinstance(path, str) or not isinstance(limit, int) or limit < 1:
                raise ValueError("set_rate_limit needs path (e.g. /v5/order/create) and a positive integer limit")
            self.limit_overrides[path] = limit
            return {}
        if op == "reset":
            self.reset()
            return {}
        raise ValueError("op must be one of state, set_price, set_balance, clock, fault, clear_faults, fill, "
                         f"klines, set_rate_limit, reset; got {op!r}")

    def pick_accounts(self, key):
        if key is None:
            return list(self.accounts.values())
        if key not in self.accounts:
            raise ValueError(f"no account with key {key!r}")
        return [self.accounts[key]]

    def state(self, key=None):
        accounts = {}
        for acct in self.pick_accounts(key):
            accounts[acct.key] = {
                "uid": acct.uid,
                "balances": {c: fmt(v) for c, v in sorted(acct.wallet.items())},
                "locked": {c: fmt(v) for c, v in sorted(acct.locked.items()) if v},
                "positions": [self.position_row(p) for p in acct.positions.values()],
                "orders": [dict(o.api(), category=o.category) for o in acct.orders],
                "executions": list(acct.executions),
            }
        return {
            "accounts": accounts,
            "prices": {s: fmt(p) for s, p in self.prices.items()},
            "requests": dict(self.requests),
            "creates": list(self.creates),
            "skew_ms": self.skew_ms,
            "server_time": self.now_ms(),
            "faults": [f.describe() for f in self.faults],
        }


def default_msg(code):
    return {
        110007: "ab not enough for new order",
        170136: "Order quantity below the lower limit.",
        170131: "Insufficient balance.",
        110072: "OrderLinkedID is duplicate",
        170141: "Duplicate clientOrderId.",
        10000: "Server Timeout",
        10016: "Server error.",
        10006: "Too many visits!",
    }.get(code, "fault injected by fake-bybit")


PUBLIC = {
    "/v5/market/time": Exchange.market_time,
    "/v5/market/instruments-info": Exchange.instruments_info,
    "/v5/market/kline": Exchange.kline,
    "/v5/market/tickers": Exchange.tickers,
}
PRIVATE_GET = {
    "/v5/order/realtime": Exchange.order_realtime,
    "/v5/order/history": Exchange.order_history,
    "/v5/execution/list": Exchange.execution_list,
    "/v5/position/list": Exchange.position_list,
    "/v5/account/wallet-balance": Exchange.wallet_balance,
    "/v5/user/query-api": Exchange.query_api,
    "/v5/account/info": Exchange.account_info,
    "/v5/asset/coin/query-info": Exchange.coin_info,
}
PRIVATE_POST = {
    "/v5/order/create": Exchange.order_create,
    "/v5/order/cancel": Exchange.order_cancel,
    "/v5/position/switch-mode": Exchange.switch_mode,
}


def is_loopback(host):
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-bybit"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no Nagle/delayed-ACK stall
    exchange = None  # set in main
    log_file = None

    def log_message(self, fmt_, *args):  # the request log is written by log_line
        pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    # ---- plumbing ----------------------------------------------------------------------
    def send(self, status, body, headers=None, content_type="application/json"):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def hang_up(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def envelope(self, code, msg, result):
        return json.dumps({"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {},
                           "time": self.exchange.now_ms()}, separators=(",", ":"))

    def log_line(self, method, path, status, code):
        line = f"{time.strftime('%H:%M:%S')} {method} {path} http={status} retCode={code}\n"
        out = self.log_file or sys.stderr
        out.write(line)
        out.flush()

    def handle_any(self, method):
        ex = self.exchange
        url = urlsplit(self.path)
        path, raw_query = url.path, url.query
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        if path.startswith("/__control"):
            self.handle_control(method, path, raw_body)
            return
        with ex.lock:
            name = f"{method} {path}"
            ex.requests[name] = ex.requests.get(name, 0) + 1
            now = int(time.time() * 1000)  # the ban runs on real time, not the skewed clock
            if ex.forbidden_until > now:
                fault = Fault({"fault": "forbidden"})
            else:
                fault = ex.take_fault(method, path, TRANSPORT_FAULTS)
            if fault and fault.kind == "forbidden" and fault.spec.get("duration_ms"):
                ex.forbidden_until = now + int(fault.spec["duration_ms"])
        if fault:
            k = fault.kind
            if k == "timeout" and not fault.spec.get("process"):
                self.log_line(method, path, "-", "timeout")
                time.sleep(int(fault.spec.get("ms", 30000)) / 1000)
                self.hang_up()
                return
            if k == "http_error":
                status = int(fault.spec.get("status", 502))
                self.log_line(method, path, status, "-")
                self.send(status, fault.spec.get("body", f"<html><body>{status} fake-bybit</body></html>"),
                          content_type="text/html")
                return
            if k == "forbidden":
                self.log_line(method, path, 403, "-")
                self.send(403, "<html><head><title>403 Forbidden</title></head><body>403 Forbidden</body></html>",
                          content_type="text/html")
                return
            if k == "rate_limit":
                reset = ex.now_ms() + int(fault.spec.get("reset_ms", 1000))
                hdr = {"X-Bapi-Limit": str(RATE_LIMITS.get(path, DEFAULT_RATE_LIMIT)), "X-Bapi-Limit-Status": "0",
                       "X-Bapi-Limit-Reset-Timestamp": str(reset)}
                self.log_line(method, path, 200, 10006)
                self.send(200, self.envelope(10006, "Too many visits!", {}), hdr)
                return
            if k == "retcode":
                code = fault.spec["retCode"]
                self.log_line(method, path, 200, code)
                self.send(200, self.envelope(code, fault.spec.get("retMsg", default_msg(code)), {}))
                return
        status, body, headers, code = self.process(method, path, raw_query, raw_body)
        if fault and fault.kind == "latency":
            time.sleep(int(fault.spec.get("ms", 1000)) / 1000)
        if fault and fault.kind in ("drop", "timeout"):
            self.log_line(method, path, "dropped", code)
            if fault.kind == "timeout":
                time.sleep(int(fault.spec.get("ms", 30000)) / 1000)
            self.hang_up()
            return
        self.log_line(method, path, status, code)
        self.send(status, body, headers)

    def process(self, method, path, raw_query, raw_body):
        ex = self.exchange
        headers = {k.upper(): v for k, v in self.headers.items()}
        limit_headers = {}
        with ex.lock:
            try:
                if method == "GET" and path in PUBLIC:
                    q = dict(parse_qsl(raw_query, keep_blank_values=True))
                    _over, limit_headers = ex.rate_limit(self.client_address[0], path, None)
                    return 200, self.envelope(0, "OK", PUBLIC[path](ex, q)), limit_headers, 0
                table = PRIVATE_GET if method == "GET" else PRIVATE_POST
                if path not in table:
                    if path in PRIVATE_GET or path in PRIVATE_POST or path in PUBLIC:
                        raise ApiError(10001, f"method {method} not allowed on {path}", 405)
                    raise ApiError(10017, "route not found", 404)
                payload = raw_query if method == "GET" else raw_body.decode("utf-8", "replace")
                acct = ex.authenticate(headers, payload)
                if method == "GET":
                    params = dict(parse_qsl(raw_query, keep_blank_values=True))
                else:
                    try:
                        params = json.loads(raw_body or b"{}")
                    except ValueError:
                        raise ApiError(10001, "params error: the body is not JSON") from None
                    if not isinstance(params, dict):
                        raise ApiError(10001, "params error: the body must be a JSON object")
                over, limit_headers = ex.rate_limit(acct.uid, path, params.get("category"))
                if over and (ex.args.enforce_rate_limits or path in ex.limit_overrides):
                    raise ApiError(10006, "Too many visits!")
                try:
                    result = table[path](ex, acct, params)
                except ApiError as err:
                    if path == "/v5/order/create":
                        ex.creates.append({"key": acct.key, "orderLinkId": params.get("orderLinkId"),
                                           "retCode": err.code})
                    raise
                if path == "/v5/order/create":
                    ex.creates.append({"key": acct.key, "orderLinkId": params.get("orderLinkId"), "retCode": 0,
                                       "orderId": result["orderId"]})
                return 200, self.envelope(0, "OK", result), limit_headers, 0
            except ApiError as err:
                return err.http_status, self.envelope(err.code, err.msg, {}), limit_headers, err.code

    def handle_control(self, method, path, raw_body):
        if not is_loopback(self.client_address[0]):
            self.send(403, json.dumps({"ok": False, "error": "control is for loopback clients only"}))
            return
        try:
            if method == "GET" and path == "/__control/state":
                cmd = {"op": "state"}
            elif method == "POST" and path == "/__control":
                cmd = json.loads(raw_body or b"{}")
                if not isinstance(cmd, dict):
                    raise ValueError("the body must be a JSON object {\"op\": ...}")
            else:
                raise ValueError("use POST /__control {\"op\": ...} or GET /__control/state")
            with self.exchange.lock:
                reply = self.exchange.control(cmd)
            self.send(200, json.dumps(dict(reply, ok=True)))
        except (ValueError, TypeError, KeyError) as exc:
            self.send(400, json.dumps({"ok": False, "error": str(exc)}))


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def parse_pairs(values, what):
    pairs = {}
    for value in values or []:
        for item in value.split(","):
            if not item:
                continue
            name, sep, amount = item.partition("=")
            number = to_decimal(amount)
            if not sep or not name or number is None:
                raise SystemExit(f"{what} wants NAME=NUMBER (e.g. USDT=100000); got {item!r}")
            pairs[name.strip().upper()] = number
    return pairs


def main(argv=None):
    ap = argparse.ArgumentParser(description="fake-bybit: a local Bybit V5 REST server for tests (see README.md)")
    ap.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT on loopback (port 0 = any free port)")
    ap.add_argument("--key", action="append", default=[], help="API key (repeatable; pairs with --secret)")
    ap.add_argument("--secret", action="append", default=[], help="API secret of the --key at the same position")
    ap.add_argument("--balance", action="append", help="COIN=AMOUNT starting balance of each account")
    ap.add_argument("--price", action="append", help="SYMBOL=PRICE current price")
    ap.add_argument("--port-file", help="write the bound port here")
    ap.add_argument("--log", help="request log file (default stderr)")
    ap.add_argument("--enforce-rate-limits", action="store_true", help="answer 10006 over the per-second limits")
    ap.add_argument("--fee-spot", type=float, default=0.001)
    ap.add_argument("--fee-linear", type=float, default=0.00055)
    ap.add_argument("--leverage", type=float, default=10)
    args = ap.parse_args(argv)
    if len(args.key) != len(args.secret) or not args.key:
        ap.error("give at least one --key K --secret S pair (as many --secret as --key)")
    args.keys = list(zip(args.key, args.secret))
    args.balances = parse_pairs(args.balance, "--balance") or {"USDT": D(100000)}
    args.prices = parse_pairs(args.price, "--price") or {"BTCUSDT": D(50000), "ETHUSDT": D(3000)}
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    if not is_loopback(host) and host != "localhost":
        ap.error(f"--listen {args.listen}: fake-bybit listens on loopback only (127.0.0.1)")
    try:
        exchange = Exchange(args)
    except ValueError as exc:
        ap.error(str(exc))
    Handler.exchange = exchange
    Handler.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
    server = Server((host, int(port)), Handler)
    bound = server.server_address[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w", encoding="utf-8") as f:
            f.write(f"{bound}\n")
        os.replace(args.port_file + ".tmp", args.port_file)

    def stop(_sig, _frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"fake-bybit listening on {host}:{bound}", flush=True)
    server.serve_forever(poll_interval=0.2)
    server.server_close()


if __name__ == "__main__":
    main()
