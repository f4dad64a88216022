#!/usr/bin/env python3
"""fake-opend: a local Futu OpenD for tests (README.md in this folder is the contract).

Speaks OpenD's TCP API (../shared/docs/brokers.md §2): the 44-byte little-endian header, protobuf
bodies built from Futu's official .proto files (npm futu-api, compiled by protoc --python_out into
the build tree: --pb-dir). Checks the header, the SHA-1, InitConnect first, increasing serials and
the unlock before REAL orders; keeps accounts, orders (with remarks), fills and positions per
environment; serves history K-lines; faults through an HTTP control port.
"""
import argparse
import hashlib
import http.server
import json
import os
import socket
import socketserver
import struct
import sys
import threading
import time

HEAD = struct.Struct("<2sIBBII20s8s")  # 44 bytes: "FT", proto, fmt, ver, serial, body len, sha1, reserved
assert HEAD.size == 44

P_INIT, P_KEEPALIVE = 1001, 1004
P_ACCLIST, P_UNLOCK, P_SUBACC, P_FUNDS, P_POSITIONS = 2001, 2005, 2008, 2101, 2102
P_ORDERS, P_PLACE, P_FILLS, P_HISTORY = 2201, 2202, 2211, 2221
P_PUSH_ORDER, P_PUSH_FILL = 2208, 2218  # pushes (Trd_UpdateOrder, Trd_UpdateOrderFill)
P_KLINE, P_STATIC = 3103, 3202

TRD_ENV = {"simulate": 0, "real": 1}
TRD_MARKET = {"HK": 1, "US": 2}
QOT_MARKET = {1: "HK", 11: "US"}
SEC_MARKET = {"HK": 1, "US": 2}
CURRENCY = {"HK": 1, "US": 2}  # HKD, USD


def load_pb(pb_dir):
    sys.path.insert(0, pb_dir)
    mods = {}
    for name in ("Common", "InitConnect", "KeepAlive", "Trd_Common", "Trd_GetAccList", "Trd_UnlockTrade",
                 "Trd_PlaceOrder", "Trd_GetOrderList", "Trd_GetHistoryOrderList", "Trd_GetPositionList",
                 "Trd_GetFunds", "Trd_GetOrderFillList", "Trd_SubAccPush", "Trd_UpdateOrder",
                 "Trd_UpdateOrderFill", "Qot_Common", "Qot_RequestHistoryKL", "Qot_GetStaticInfo"):
        mods[name] = __import__(name + "_pb2")
    return mods


class Dropped(Exception):
    """Close the connection without an answer."""


class Fake:
    def __init__(self, args, pb):
        self.args = args
        self.pb = pb
        self.lock = threading.RLock()
        self.start_time = time.time()
        self.reset()

    def reset(self):
        a = self.args
        self.accounts = {}
        for spec in a.account or ["simulate:US:1001", "simulate:HK:1002", "real:US:2001", "real:HK:2002"]:
            parts = spec.split(":")
            env, market, acc = parts[0].lower(), parts[1].upper(), int(parts[2])
            flags = set(parts[3:])
            self.accounts[acc] = {"env": env, "market": market, "acc_id": acc, "cash": float(a.cash),
                                  "fractional": "fractional" in flags, "positions": {}, "orders": [],
                                  "fills": []}
        self.prices = {"US.AAPL": 190.0, "HK.00700": 300.0}
        for p in a.price or []:
            k, v = p.split("=")
            self.prices[k] = float(v)
        self.lots = {}
        for p in a.lot or []:
            k, v = p.split("=")
            self.lots[k] = int(v)
        self.unlocked = False
        self.unlock_calls = []
        self.faults = []
        self.requests = {}
        self.violations = []
        self.place_orders = []  # every Trd_PlaceOrder seen: {acc_id, remark, packet, retType}
        self.packets = set()
        self.next_order_id = 880000
        self.next_fill_id = 990000
        self.next_conn_id = 7000
        self.day = 0
        self.conns = set()
        self.outbox = []  # pushes to send after the current reply: (acc_id, proto, message)
        self.push_enabled = True
        self.push_delay_ms = 0
        self.push_kinds = {"2208", "2218"}
        self.pushes_sent = {"2208": 0, "2218": 0}
        self.pushes_suppressed = 0

    # ---- helpers ------------------------------------------------------------------------
    def lot_of(self, symbol):
        if symbol in self.lots:
            return self.lots[symbol]
        return 100 if symbol.startswith("HK.") else 1

    def take_fault(self, kind_set, proto):
        for f in self.faults:
            if f["fault"] in kind_set and f.get("proto") in (None, proto):
                f["times"] -= 1
                if f["times"] == 0:
                    self.faults.remove(f)
                return f
        return None

    def violation(self, text):
        self.violations.append(text)
        log(f"VIOLATION {text}")

    def account_for(self, header):
        acc = self.accounts.get(header.accID)
        if acc is None:
            return None, f"unknown accID {header.accID}"
        if TRD_ENV[acc["env"]] != header.trdEnv:
            return None, f"accID {header.accID} is not in trdEnv {header.trdEnv}"
        if TRD_MARKET[acc["market"]] != header.trdMarket:
            return None, f"accID {header.accID} does not trade trdMarket {header.trdMarket}"
        return acc, ""

    def fill(self, acc, order, qty):
        qty = min(qty, order["qty"] - order["fillQty"])
        if qty <= 0:
            return
        price = self.prices.get(order["symbol"], 100.0)
        sign = 1 if order["trdSide"] == 1 else -1
        pos = acc["positions"].setdefault(order["symbol"], {"qty": 0.0, "cost": 0.0})
        new_qty = pos["qty"] + sign * qty
        if new_qty != 0 and (pos["qty"] == 0 or (pos["qty"] > 0) == (sign > 0)):
            pos["cost"] = (abs(pos["qty"]) * pos["cost"] + qty * price) / abs(new_qty)
        elif new_qty == 0:
            pos["cost"] = 0.0
        pos["qty"] = new_qty
        acc["cash"] -= sign * qty * price
        order["fillAvgPrice"] = ((order["fillQty"] * order["fillAvgPrice"]) + qty * price) / (order["fillQty"] + qty)
        order["fillQty"] += qty
        order["updateTimestamp"] = time.time()
        order["status"] = 11 if order["fillQty"] >= order["qty"] - 1e-9 else 10
        self.next_fill_id += 1
        acc["fills"].append({"fillID": self.next_fill_id, "orderID": order["orderID"], "code": order["code"],
                             "symbol": order["symbol"], "qty": qty, "price": price, "trdSide": order["trdSide"],
                             "remark": order["remark"], "time": time.time()})
        self.queue_order_push(acc, order)
        self.queue_fill_push(acc, acc["fills"][-1])

    # ---- pushes (Trd_SubAccPush, brokers.md §2.5) -----------------------------------------------
    def header_pb(self, msg, acc):
        msg.trdEnv = TRD_ENV[acc["env"]]
        msg.accID = acc["acc_id"]
        msg.trdMarket = TRD_MARKET[acc["market"]]

    def queue_order_push(self, acc, order):
        rsp = self.pb["Trd_UpdateOrder"].Response()
        rsp.retType = 0
        self.header_pb(rsp.s2c.header, acc)
        rsp.s2c.order.CopyFrom(self.order_pb(order))
        self.outbox.append((acc["acc_id"], P_PUSH_ORDER, rsp))

    def queue_fill_push(self, acc, f):
        rsp = self.pb["Trd_UpdateOrderFill"].Response()
        rsp.retType = 0
        self.header_pb(rsp.s2c.header, acc)
        m = rsp.s2c.orderFill
        m.trdSide, m.fillID, m.fillIDEx = f["trdSide"], f["fillID"], f"F{f['fillID']}"
        m.orderID, m.orderIDEx, m.code, m.name = f["orderID"], f"FT{f['orderID']}", f["code"], f["code"]
        m.qty, m.price = f["qty"], f["price"]
        m.createTime = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(f["time"]))
        m.createTimestamp = f["time"]
        m.secMarket = SEC_MARKET[f["symbol"].split(".")[0]]
        self.outbox.append((acc["acc_id"], P_PUSH_FILL, rsp))

    def take_pushes(self):
        """[(conn, proto, body)] for the subscribed connections; called under the lock after a reply."""
        out, self.outbox = self.outbox, []
        sends = []
        for acc_id, proto, msg in out:
            if not self.push_enabled or str(proto) not in self.push_kinds:
                self.pushes_suppressed += 1
                continue
            body = msg.SerializeToString()
            for c in list(self.conns):
                if acc_id in c.sub_accs:
                    sends.append((c, proto, body))
                    self.pushes_sent[str(proto)] += 1
        return sends, self.push_delay_ms

    def advance(self, acc, order):
        """A query that sees a held order moves it on (partial fills, TimeOut then filled)."""
        plan = order.get("plan")
        if not plan:
            return
        if plan["kind"] == "partial":
            part = order["qty"] / plan["parts"]
            if order["lot"] > 1:
                part = max(order["lot"], round(part / order["lot"]) * order["lot"])
            self.fill(acc, order, part if order["status"] != 10 or plan["left"] > 1 else order["qty"])
            plan["left"] -= 1
            if plan["left"] <= 0 or order["status"] == 11:
                self.fill(acc, order, order["qty"])
                order["plan"] = None
        elif plan["kind"] == "timeout":
            plan["left"] -= 1
            if plan["left"] <= 0:
                order["status"] = 5
                self.fill(acc, order, order["qty"])
                order["plan"] = None

    # ---- messages -----------------------------------------------------------------------
    def order_pb(self, o):
        m = self.pb["Trd_Common"].Order()
        m.trdSide = o["trdSide"]
        m.orderType = o["orderType"]
        m.orderStatus = o["status"]
        m.orderID = o["orderID"]
        m.orderIDEx = f"FT{o['orderID']}"
        m.code = o["code"]
        m.name = o["code"]
        m.qty = o["qty"]
        m.price = o["price"]
        m.createTime = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(o["createTimestamp"]))
        m.updateTime = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(o["updateTimestamp"]))
        m.fillQty = o["fillQty"]
        m.fillAvgPrice = o["fillAvgPrice"]
        if o.get("lastErrMsg"):
            m.lastErrMsg = o["lastErrMsg"]
        m.secMarket = SEC_MARKET[o["symbol"].split(".")[0]]
        m.createTimestamp = o["createTimestamp"]
        m.updateTimestamp = o["updateTimestamp"]
        m.remark = o["remark"]
        m.trdMarket = TRD_MARKET[o["symbol"].split(".")[0]]
        return m

    def handle(self, conn, proto, req_body):
        """Returns the Response message (or raises Dropped)."""
        pb = self.pb
        if proto == P_INIT:
            req = pb["InitConnect"].Request.FromString(req_body)
            rsp = pb["InitConnect"].Response()
            self.next_conn_id += 1
            conn.conn_id = self.next_conn_id
            rsp.retType = 0
            s = rsp.s2c
            s.serverVer = 904
            s.loginUserID = 123456
            s.connID = conn.conn_id
            s.connAESKey = "0123456789abcdef"
            s.keepAliveInterval = self.args.keepalive
            conn.client_id = req.c2s.clientID
            return rsp
        if proto == P_KEEPALIVE:
            req = pb["KeepAlive"].Request.FromString(req_body)
            rsp = pb["KeepAlive"].Response()
            rsp.retType = 0
            rsp.s2c.time = int(time.time())
            conn.keepalives += 1
            return rsp
        if proto == P_ACCLIST:
            pb["Trd_GetAccList"].Request.FromString(req_body)
            rsp = pb["Trd_GetAccList"].Response()
            rsp.retType = 0
            for acc in self.accounts.values():
                a = rsp.s2c.accList.add()
                a.trdEnv = TRD_ENV[acc["env"]]
                a.accID = acc["acc_id"]
                a.trdMarketAuthList.append(TRD_MARKET[acc["market"]])
                a.accType = 2  # cash
                a.accStatus = 0
            return rsp
        if proto == P_UNLOCK:
            req = pb["Trd_UnlockTrade"].Request.FromString(req_body)
            rsp = pb["Trd_UnlockTrade"].Response()
            now = time.time()
            self.unlock_calls = [t for t in self.unlock_calls if now - t < 30] + [now]
            want = hashlib.md5(self.args.trade_password.encode()).hexdigest()
            if len(self.unlock_calls) > 10:
                rsp.retType, rsp.retMsg = -1, "unlock: at most 10 requests per 30 seconds"
            elif self.take_fault({"unlock_refused"}, proto):
                rsp.retType, rsp.retMsg = -1, "unlock refused (injected): the trade password is locked"
            elif req.c2s.unlock and req.c2s.pwdMD5.lower() != want:
                rsp.retType, rsp.retMsg = -1, "unlock failed: wrong trade password"
            else:
                self.unlocked = bool(req.c2s.unlock)
                rsp.retType = 0
            return rsp
        if proto == P_SUBACC:
            req = pb["Trd_SubAccPush"].Request.FromString(req_body)
            rsp = pb["Trd_SubAccPush"].Response()
            unknown = [a for a in req.c2s.accIDList if a not in self.accounts]
            if unknown:
                rsp.retType, rsp.retMsg = -1, f"unknown accID {unknown[0]}"
                return rsp
            conn.sub_accs = set(req.c2s.accIDList)  # the full list: it replaces the last one
            rsp.retType = 0
            rsp.s2c.SetInParent()
            return rsp
        if proto in (P_ORDERS, P_HISTORY):
            mod = pb["Trd_GetOrderList"] if proto == P_ORDERS else pb["Trd_GetHistoryOrderList"]
            req = mod.Request.FromString(req_body)
            rsp = mod.Response()
            acc, why = self.account_for(req.c2s.header)
            if acc is None:
                rsp.retType, rsp.retMsg = -1, why
                return rsp
            rsp.retType = 0
            rsp.s2c.header.CopyFrom(req.c2s.header)
            for o in acc["orders"]:
                if (o["day"] == self.day) != (proto == P_ORDERS):
                    continue
                self.advance(acc, o)
                rsp.s2c.orderList.append(self.order_pb(o))
            return rsp
        if proto == P_FILLS:
            req = pb["Trd_GetOrderFillList"].Request.FromString(req_body)
            rsp = pb["Trd_GetOrderFillList"].Response()
            acc, why = self.account_for(req.c2s.header)
            if acc is None:
                rsp.retType, rsp.retMsg = -1, why
                return rsp
            rsp.retType = 0
            rsp.s2c.header.CopyFrom(req.c2s.header)
            for f in acc["fills"]:
                m = rsp.s2c.orderFillList.add()
                m.trdSide, m.fillID, m.fillIDEx = f["trdSide"], f["fillID"], f"F{f['fillID']}"
                m.orderID, m.code, m.name, m.qty, m.price = f["orderID"], f["code"], f["code"], f["qty"], f["price"]
                m.createTime = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(f["time"]))
            return rsp
        if proto == P_POSITIONS:
            req = pb["Trd_GetPositionList"].Request.FromString(req_body)
            rsp = pb["Trd_GetPositionList"].Response()
            acc, why = self.account_for(req.c2s.header)
            if acc is None:
                rsp.retType, rsp.retMsg = -1, why
                return rsp
            rsp.retType = 0
            rsp.s2c.header.CopyFrom(req.c2s.header)
            for i, (sym, p) in enumerate(sorted(acc["positions"].items())):
                if abs(p["qty"]) < 1e-12:
                    continue
                m = rsp.s2c.positionList.add()
                price = self.prices.get(sym, 100.0)
                m.positionID = 500 + i
                m.positionSide = 0 if p["qty"] > 0 else 1
                m.code = sym.split(".", 1)[1]
                m.name = m.code
                m.qty = abs(p["qty"])
                m.canSellQty = abs(p["qty"])
                m.price = price
                m.val = abs(p["qty"]) * price
                m.plVal = (price - p["cost"]) * p["qty"]
                m.secMarket = SEC_MARKET[sym.split(".")[0]]
                m.averageCostPrice = p["cost"]
                m.dilutedCostPrice = p["cost"]
            return rsp
        if proto == P_FUNDS:
            req = pb["Trd_GetFunds"].Request.FromString(req_body)
            rsp = pb["Trd_GetFunds"].Response()
            acc, why = self.account_for(req.c2s.header)
            if acc is None:
                rsp.retType, rsp.retMsg = -1, why
                return rsp
            rsp.retType = 0
            rsp.s2c.header.CopyFrom(req.c2s.header)
            f = rsp.s2c.funds
            mv = sum(p["qty"] * self.prices.get(s, 100.0) for s, p in acc["positions"].items())
            f.power = acc["cash"]
            f.totalAssets = acc["cash"] + mv
            f.cash = acc["cash"]
            f.marketVal = mv
            f.frozenCash = 0
            f.debtCash = 0
            f.avlWithdrawalCash = acc["cash"]
            f.currency = CURRENCY[acc["market"]]
            return rsp
        if proto == P_PLACE:
            return self.place(conn, req_body)
        if proto == P_STATIC:
            req = pb["Qot_GetStaticInfo"].Request.FromString(req_body)
            rsp = pb["Qot_GetStaticInfo"].Response()
            rsp.retType = 0
            for sec in req.c2s.securityList:
                sym = f"{QOT_MARKET.get(sec.market, '?')}.{sec.code}"
                if sym not in self.prices:
                    continue
                info = rsp.s2c.staticInfoList.add()
                b = info.basic
                b.security.CopyFrom(sec)
                b.id = abs(hash(sym)) % 1000000
                b.lotSize = self.lot_of(sym)
                b.secType = 3  # Eqty
                b.name = sec.code
                b.listTime = "2000-01-03"
            return rsp
        if proto == P_KLINE:
            return self.klines(req_body)
        raise Dropped(f"unknown proto {proto}")

    def place(self, conn, req_body):
        pb = self.pb
        req = pb["Trd_PlaceOrder"].Request.FromString(req_body)
        c = req.c2s
        rsp = pb["Trd_PlaceOrder"].Response()
        record = {"acc_id": c.header.accID, "remark": c.remark, "packet": [c.packetID.connID, c.packetID.serialNo],
                  "qty": c.qty, "code": c.code, "retType": None}
        self.place_orders.append(record)

        def refuse(msg):
            rsp.retType, rsp.retMsg = -1, msg
            record["retType"] = -1
            record["retMsg"] = msg
            return rsp

        acc, why = self.account_for(c.header)
        if acc is None:
            return refuse(why)
        if c.packetID.connID != conn.conn_id:
            return refuse(f"packetID.connID {c.packetID.connID} is not this connection's ({conn.conn_id})")
        key = (c.packetID.connID, c.packetID.serialNo)
        if key in self.packets:
            return refuse("duplicate packetID (anti-replay)")
        self.packets.add(key)
        if acc["env"] == "real" and not self.unlocked:
            return refuse("trading is locked: unlock the trade first (Trd_UnlockTrade)")
        if len(c.remark.encode()) > 64:
            return refuse("remark is longer than 64 bytes")
        market = acc["market"]
        symbol = f"{market}.{c.code}"
        if c.secMarket and c.secMarket != SEC_MARKET[market]:
            return refuse(f"secMarket {c.secMarket} does not match the account's market {market}")
        if symbol not in self.prices:
            return refuse(f"unknown security {symbol}")
        if c.trdSide not in (1, 2):
            return refuse(f"trdSide {c.trdSide}: 1 Buy or 2 Sell")
        if c.orderType not in (1, 2):
            return refuse(f"orderType {c.orderType}: the fake fills 1 Normal and 2 Market")
        lot = self.lot_of(symbol)
        if c.qty <= 0:
            return refuse("qty must be positive")
        if market == "HK" and abs(c.qty / lot - round(c.qty / lot)) > 1e-9:
            return refuse(f"the quantity must be a multiple of the lot size {lot}")
        if market == "US" and abs(c.qty - round(c.qty)) > 1e-9 and not acc["fractional"]:
            return refuse("this account does not support fractional shares")
        self.next_order_id += 1
        now = time.time()
        o = {"orderID": self.next_order_id, "code": c.code, "symbol": symbol, "trdSide": c.trdSide,
             "orderType": c.orderType, "qty": c.qty, "price": c.price, "remark": c.remark, "status": 5,
             "fillQty": 0.0, "fillAvgPrice": 0.0, "createTimestamp": now, "updateTimestamp": now,
             "day": self.day, "lot": lot, "plan": None}
        acc["orders"].append(o)
        record["retType"] = 0
        record["orderID"] = o["orderID"]
        f = self.take_fault({"submit_failed", "timeout_then_fill", "partial_fill", "drop_after_accept"}, P_PLACE)
        if f and f["fault"] == "submit_failed":
            o["status"] = 3
            o["lastErrMsg"] = f.get("message", "submit failed (injected): the exchange refused the order")
            self.queue_order_push(acc, o)
        elif f and f["fault"] == "timeout_then_fill":
            o["status"] = 4
            self.queue_order_push(acc, o)
            o["plan"] = {"kind": "timeout", "left": int(f.get("queries", 2))}
        elif f and f["fault"] == "partial_fill":
            o["plan"] = {"kind": "partial", "parts": int(f.get("parts", 3)), "left": int(f.get("parts", 3))}
            self.advance(acc, o)
        else:
            self.fill(acc, o, c.qty)
        rsp.retType = 0
        rsp.s2c.header.CopyFrom(c.header)
        rsp.s2c.orderID = o["orderID"]
        rsp.s2c.orderIDEx = f"FT{o['orderID']}"
        if f and f["fault"] == "drop_after_accept":
            raise Dropped("drop_after_accept (injected): the order is stored, no answer")
        return rsp

    def klines(self, req_body):
        pb = self.pb
        req = pb["Qot_RequestHistoryKL"].Request.FromString(req_body)
        c = req.c2s
        rsp = pb["Qot_RequestHistoryKL"].Response()
        step = {2: 86400, 9: 3600}.get(c.klType)
        sym = f"{QOT_MARKET.get(c.security.market, '?')}.{c.security.code}"
        if step is None:
            rsp.retType, rsp.retMsg = -1, f"klType {c.klType}: the fake serves 2 (Day) and 9 (60Min)"
            return rsp
        if sym not in self.prices:
            rsp.retType, rsp.retMsg = -1, f"unknown security {sym}"
            return rsp

        def ts(text):
            fmt = "%Y-%m-%d %H:%M:%S" if " " in text else "%Y-%m-%d"
            import calendar
            return calendar.timegm(time.strptime(text, fmt))

        try:
            begin, end = ts(c.beginTime), ts(c.endTime)
        except ValueError:
            rsp.retType, rsp.retMsg = -1, "beginTime/endTime: YYYY-MM-DD or YYYY-MM-DD HH:MM:SS"
            return rsp
        if step == 86400 and " " not in c.endTime:
            end += 86399  # a date-only end includes that day
        now = time.time()
        first = begin // step + (1 if begin % step else 0)
        last = min(end, now) // step
        start_k = int(c.nextReqKey.decode()) if c.nextReqKey else first
        limit = c.maxAckKLNum if c.maxAckKLNum > 0 else 1000
        P = self.prices[sym]
        rsp.retType = 0
        rsp.s2c.security.CopyFrom(c.security)
        k = start_k
        while k <= last and len(rsp.s2c.klList) < limit:
            o = round(P * (1 + ((k * 7) % 11 - 5) / 1000), 3)
            cl = round(P * (1 + ((k * 7 + 7) % 11 - 5) / 1000), 3)
            if k == now // step:
                cl = P  # the forming bar closes at the current price so far
            kl = rsp.s2c.klList.add()
            kl.time = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(k * step))
            kl.isBlank = False
            kl.openPrice, kl.closePrice = o, cl
            kl.highPrice = round(max(o, cl) * 1.001, 3)
            kl.lowPrice = round(min(o, cl) * 0.999, 3)
            kl.volume = 1000 + k % 5
            kl.turnover = kl.volume * cl
            kl.timestamp = float(k * step)
            k += 1
        if k <= last:
            rsp.s2c.nextReqKey = str(k).encode()
        return rsp

    def state(self):
        def order_json(o):
            return {k: v for k, v in o.items() if k != "plan"} | {"held": bool(o.get("plan"))}

        return {"accounts": {str(a): {"env": acc["env"], "market": acc["market"], "cash": acc["cash"],
                                      "fractional": acc["fractional"],
                                      "positions": {s: p for s, p in acc["positions"].items() if p["qty"] != 0},
                                      "orders": [order_json(o) for o in acc["orders"]], "fills": acc["fills"]}
                             for a, acc in self.accounts.items()},
                "prices": self.prices, "unlocked": self.unlocked, "requests": self.requests,
                "violations": self.violations, "place_orders": self.place_orders,
                "faults": self.faults, "day": self.day, "connections": len(self.conns),
                "pushes": {"enabled": self.push_enabled, "delay_ms": self.push_delay_ms, "sent": self.pushes_sent,
                           "suppressed": self.pushes_suppressed,
                           "subscriptions": sorted({a for c in self.conns for a in c.sub_accs})}}

    def control(self, body):
        op = body.get("op")
        if op == "state":
            return self.state()
        if op == "fault":
            f = dict(body)
            f.pop("op")
            if f.get("fault") not in ("latency", "drop_after_accept", "submit_failed", "timeout_then_fill",
                                      "partial_fill", "unlock_refused", "corrupt_header", "drop"):
                raise ValueError(f"unknown fault {f.get('fault')!r}")
            f["times"] = int(f.get("times", 1))
            self.faults.append(f)
            return {}
        if op == "clear_faults":
            self.faults.clear()
            return {}
        if op == "set_price":
            self.prices[body["symbol"]] = float(body["price"])
            return {}
        if op == "new_day":
            self.day += 1  # today's orders move to the history list
            return {"day": self.day}
        if op == "pushes":
            self.push_enabled = bool(body.get("enabled", True))
            self.push_delay_ms = int(body.get("delay_ms", 0))
            self.push_kinds = {str(k) for k in body.get("kinds", ["2208", "2218"])}
            return {}
        if op == "lock":
            self.unlocked = False
            return {}
        if op == "drop_connections":
            for c in list(self.conns):
                try:
                    c.request.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            return {}
        if op == "reset":
            self.reset()
            return {}
        raise ValueError(f"unknown op {op!r}")


LOG = sys.stderr


def log(text):
    LOG.write(time.strftime("%H:%M:%S ") + text + "\n")
    LOG.flush()


class Conn(socketserver.BaseRequestHandler):
    def setup(self):
        self.conn_id = 0
        self.client_id = ""
        self.keepalives = 0
        self.last_serial = None
        self.sub_accs = set()
        self.send_lock = threading.Lock()
        self.push_serial = 0
        with FAKE.lock:
            FAKE.conns.add(self)

    def finish(self):
        with FAKE.lock:
            FAKE.conns.discard(self)

    def read_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.request.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return buf

    def handle(self):
        try:
            while True:
                head = self.read_exact(44)
                flag, proto, fmt, ver, serial, blen, sha, _ = HEAD.unpack(head)
                if flag != b"FT" or fmt != 0 or blen > 16 * 1024 * 1024:
                    FAKE.violation(f"bad header flag={flag!r} fmt={fmt} len={blen}: connection dropped")
                    return
                body = self.read_exact(blen)
                with FAKE.lock:
                    FAKE.requests[str(proto)] = FAKE.requests.get(str(proto), 0) + 1
                    if hashlib.sha1(body).digest() != sha:
                        FAKE.violation(f"proto {proto} serial {serial}: the body's SHA-1 does not match")
                        return
                    if self.conn_id == 0 and proto != P_INIT:
                        FAKE.violation(f"proto {proto} before InitConnect")
                        return
                    if self.last_serial is not None and serial <= self.last_serial:
                        FAKE.violation(f"proto {proto}: serial {serial} does not increase (last {self.last_serial})")
                        return
                    self.last_serial = serial
                    latency = FAKE.take_fault({"latency"}, proto)
                    drop = FAKE.take_fault({"drop"}, proto)
                    try:
                        rsp = FAKE.handle(self, proto, body)
                    except Dropped as e:
                        log(f"proto {proto} serial {serial}: {e}")
                        return
                    except Exception as e:  # noqa: BLE001 - a body that is not the request message
                        FAKE.violation(f"proto {proto} serial {serial}: the body does not parse ({e})")
                        return
                    if drop:
                        log(f"proto {proto} serial {serial}: dropped (injected)")
                        return
                    corrupt = FAKE.take_fault({"corrupt_header"}, proto)
                    pushes, push_delay = FAKE.take_pushes()
                out = rsp.SerializeToString()
                reply = HEAD.pack(b"FT", proto, 0, 0, serial, len(out), hashlib.sha1(out).digest(), b"\0" * 8) + out
                if corrupt:
                    how = corrupt.get("how", "sha1")
                    reply = bytearray(reply)
                    if how == "flag":
                        reply[0:2] = b"XX"
                    else:
                        reply[16] ^= 0xFF
                    reply = bytes(reply)
                    log(f"proto {proto} serial {serial}: corrupt reply header ({how}, injected)")
                if latency:
                    time.sleep(float(latency.get("ms", 500)) / 1000)
                with self.send_lock:
                    self.request.sendall(reply)
                log(f"proto {proto} serial {serial} retType {rsp.retType}")
                if pushes:
                    if push_delay > 0:
                        threading.Timer(push_delay / 1000, send_pushes, (pushes,)).start()
                    else:
                        send_pushes(pushes)
        except (ConnectionError, OSError):
            return


def send_pushes(pushes):
    """Push frames after the reply that caused them (their own serials, per connection)."""
    for c, proto, body in pushes:
        with c.send_lock:
            c.push_serial += 1
            frame = HEAD.pack(b"FT", proto, 0, 0, c.push_serial, len(body), hashlib.sha1(body).digest(), b"\0" * 8) + body
            try:
                c.request.sendall(frame)
            except OSError:
                continue
        log(f"push {proto} to conn {c.conn_id}")


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Control(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/state":
            with FAKE.lock:
                return self.reply(200, {"ok": True} | FAKE.state())
        self.reply(404, {"ok": False, "error": "GET /state or POST /control"})

    def do_POST(self):
        if self.path != "/control":
            return self.reply(404, {"ok": False, "error": "POST /control"})
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
            with FAKE.lock:
                out = FAKE.control(body)
            self.reply(200, {"ok": True} | out)
        except (ValueError, KeyError, TypeError) as e:
            self.reply(400, {"ok": False, "error": str(e)})


def hostport(text):
    host, _, port = text.rpartition(":")
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"fake-opend: only loopback hosts (127.0.0.1), got {host!r}")
    return host, int(port)


def main():
    global FAKE, LOG
    ap = argparse.ArgumentParser(description="fake-opend: a local Futu OpenD for tests (see README.md)")
    ap.add_argument("--listen", default="127.0.0.1:0")
    ap.add_argument("--control", default="127.0.0.1:0")
    ap.add_argument("--account", action="append", help="ENV:MARKET:ACCID[:fractional], e.g. real:US:2001")
    ap.add_argument("--trade-password", default="123456")
    ap.add_argument("--price", action="append", help="SYMBOL=PRICE, e.g. US.AAPL=190")
    ap.add_argument("--lot", action="append", help="SYMBOL=LOTSIZE, e.g. HK.00700=100")
    ap.add_argument("--cash", default="1000000")
    ap.add_argument("--keepalive", type=int, default=10, help="keepAliveInterval (s) InitConnect returns")
    ap.add_argument("--pb-dir", default=os.environ.get("QUANT_FUTU_PB_DIR", ""))
    ap.add_argument("--port-file")
    ap.add_argument("--log")
    args = ap.parse_args()
    if args.log:
        LOG = open(args.log, "a", buffering=1)
    pb_dir = args.pb_dir or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                         "build", "worker", "futu_pb")
    if not os.path.exists(os.path.join(pb_dir, "Trd_PlaceOrder_pb2.py")):
        raise SystemExit(f"fake-opend: Futu's compiled messages are not in {pb_dir} (build quant-worker first)")
    FAKE = Fake(args, load_pb(pb_dir))
    srv = Server(hostport(args.listen), Conn)
    ctl = http.server.ThreadingHTTPServer(hostport(args.control), Control)
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    port, cport = srv.server_address[1], ctl.server_address[1]
    if args.port_file:
        with open(args.port_file, "w") as f:
            f.write(f"{port} {cport}\n")
    print(f"fake-opend listening on 127.0.0.1:{port} control 127.0.0.1:{cport}", flush=True)
    import signal
    signal.signal(signal.SIGTERM, lambda *a: threading.Thread(target=srv.shutdown).start())
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


FAKE = None
if __name__ == "__main__":
    main()
