"""The chaos soak's invariant checker (issue 15, part 5), standard library only.

check(snap) takes a snapshot of both sides (what the database booked and what the brokers hold,
read by chaos.py after the soak has quiesced) and returns the violations, each a
(invariant, detail) pair; an empty list means every invariant holds. self_test(snap) corrupts
deep copies of a clean snapshot, one violation at a time, and proves check() names each.

The snapshot (plain JSON-able dicts and lists):
  signals     [{signal_id, deployment_id, status}]
  orders      [{client_order_id, deployment_id, signal_id, status, side, qty, filled_qty,
                reduce_only, created_at (epoch s), broker}]            trade."order"
  fills       [{client_order_id, deployment_id, side, qty, price, fee, ts}] trade.fill, in booking order
  positions   {deployment_id: qty}                                     trade.position
  logs        [{signal_id, deployment_id, action, order_id, qty}]      trade.log
  deployments {deployment_id: {user_id, broker, key (fake key), limits {..}, starting_cash}}
  breakers    [{breaker_id, user_id, deployment_id, scope, committed_at (epoch s), reset_call (if reset)}]
  audits      [{entity, entity_id, action, committed_at}]              trade.audit (of breakers)
  windows     [{kind: halt|disable, deployment_id|None, start, end}]   what the driver switched
  paper       {orders [{client_order_id, account, side, status, filled_qty, created_at}],
               fills [{client_order_id, account, side, qty, price, fee}],
               positions {account: qty}, cash {account: cash}}
  bybit       {creates [{key, orderLinkId, retCode}],
               orders [{key, orderLinkId, orderStatus, side, cumExecQty, createdTime (ms)}],
               executions [{key, orderLinkId, execQty, execFee, execPrice}],
               positions {"key/symbol": signed size}, wallet {key: USDT}, starting_wallet}
"""
import copy
from collections import Counter, defaultdict

EPS = 1e-6
TERMINAL_SIGNAL = {"DONE", "REJECTED"}
TERMINAL_ORDER = {"FILLED", "REJECTED", "CANCELLED"}


def _f(x):
    return float(x or 0)


def broker_orders(snap):
    """Every order the brokers accepted: {client_order_id: [order, ...]} (a list, to see doubles)."""
    out = defaultdict(list)
    for o in snap["paper"]["orders"]:
        out[o["client_order_id"]].append({"broker": "PAPER", "account": o["account"], "status": o["status"],
                                          "side": o["side"], "filled": _f(o["filled_qty"]),
                                          "created_at": o["created_at"]})
    for o in snap["bybit"]["orders"]:
        out[o["orderLinkId"]].append({"broker": "BYBIT", "account": o["key"], "status": o["orderStatus"],
                                      "side": o["side"].upper(), "filled": _f(o["cumExecQty"]),
                                      "created_at": int(o["createdTime"]) / 1000.0})
    return out


def accepted(bo):
    """Orders that reached the market (paper REJECTED orders and Bybit Rejected ones did not)."""
    return [o for o in bo if o["status"] not in ("REJECTED", "Rejected")]


def linear_realised(fills):
    """Realised P&L of a one-way linear position from its fills (average cost), as a linear
    contract's wallet books it: computed here from the books' fills, independently of both sides."""
    size, avg, pnl = 0.0, 0.0, 0.0
    for f in fills:
        sign = 1 if f["side"] == "BUY" else -1
        left, price = _f(f["qty"]), _f(f["price"])
        if size * sign < 0:
            closed = min(left, abs(size))
            pnl += closed * (price - avg) * (1 if size > 0 else -1)
            size += sign * closed
            left -= closed
            if abs(size) < 1e-12:
                size, avg = 0.0, 0.0
        if left > 1e-12:
            avg = (abs(size) * avg + left * price) / (abs(size) + left)
            size += sign * left
    return pnl


def check(snap):
    v = []

    def bad(name, detail):
        v.append((name, detail))

    orders = {o["client_order_id"]: o for o in snap["orders"]}
    deps = snap["deployments"]
    bo = broker_orders(snap)

    # 1. exactly one broker order per client order id, and none the books do not know
    for cid, lst in bo.items():
        if len(lst) > 1:
            bad("one_broker_order_per_id", f"{cid}: {len(lst)} orders at the broker")
        if cid not in orders:
            bad("one_broker_order_per_id", f"{cid}: at the broker, no trade.order (an order the books lost)")
    ok_creates = Counter(c["orderLinkId"] for c in snap["bybit"]["creates"] if c["retCode"] == 0)
    for cid, n in ok_creates.items():
        if n > 1:
            bad("one_broker_order_per_id", f"{cid}: Bybit accepted {n} creates")
    for cid, o in orders.items():
        at = accepted(bo.get(cid, []))
        if o["status"] == "FILLED" and not at:
            bad("one_broker_order_per_id", f"{cid}: FILLED in the books, not at the broker")
        if o["status"] not in TERMINAL_ORDER:
            bad("orders_terminal", f"{cid}: {o['status']} at the end")

    # 2. every signal terminal
    for s in snap["signals"]:
        if s["status"] not in TERMINAL_SIGNAL:
            bad("signals_terminal", f"{s['signal_id']}: {s['status']}")

    # 3. no order a limit, a breaker or a switch should have stopped
    at_broker = []  # (trade.order, broker order)
    for cid, lst in bo.items():
        o = orders.get(cid)
        for b in accepted(lst):
            if o is not None:
                at_broker.append((o, b))
    per_dep = defaultdict(list)
    for o, b in at_broker:
        per_dep[o["deployment_id"]].append((o, b))
    for dep, lst in per_dep.items():
        lim = deps[dep]["limits"]
        mdt = lim.get("max_daily_trades")
        if mdt is not None:
            days = Counter(int(o["created_at"] // 86400) for o, _b in lst)
            for day, n in days.items():
                if n > mdt:
                    bad("risk_limits", f"{dep}: {n} orders at the broker on day {day}, max_daily_trades {mdt}")
        mpu = lim.get("max_position_usd")
        price = deps[dep].get("price")
        if mpu is not None and price:
            for o, _b in lst:
                if not o["reduce_only"] and _f(o["qty"]) * price > mpu + EPS:
                    bad("risk_limits", f"{o['client_order_id']}: entry of {o['qty']} x {price} over max_position_usd {mpu}")
        mpm = lim.get("max_orders_per_minute")
        if mpm is not None:
            all_dep = sorted(x["created_at"] for x in snap["orders"] if x["deployment_id"] == dep)
            for o, _b in lst:
                before = sum(1 for t in all_dep if o["created_at"] - 60 < t < o["created_at"])
                if before >= mpm:
                    bad("risk_limits", f"{o['client_order_id']}: {before} orders in the minute before, "
                                       f"max_orders_per_minute {mpm}")
    for br in snap["breakers"]:
        for o, b in at_broker:
            if o["reduce_only"]:
                continue
            if br["scope"] == "deployment" and o["deployment_id"] != br["deployment_id"]:
                continue
            if br["scope"] == "account" and deps[o["deployment_id"]]["user_id"] != br["user_id"]:
                continue
            if br["committed_at"] + 0.5 < b["created_at"] < br.get("reset_call", float("inf")):
                # clocks of one machine; 0.5 s for the fake's ms
                bad("breakers", f"{o['client_order_id']}: an entry reached the broker "
                                f"{b['created_at'] - br['committed_at']:.3f} s after breaker {br['breaker_id']}")
    for w in snap["windows"]:
        for o, b in at_broker:
            if w["kind"] == "disable" and (o["deployment_id"] != w["deployment_id"] or o["reduce_only"]):
                continue
            if w["start"] < b["created_at"] < w["end"]:
                bad("kill_switches", f"{o['client_order_id']}: reached the broker during a {w['kind']} "
                                     f"({w['start']:.3f}..{w['end']:.3f}, order at {b['created_at']:.3f})")

    # 4. books equal the broker's: fills per order, positions, cash
    db_fills = defaultdict(float)
    db_fees = defaultdict(float)
    for f in snap["fills"]:
        db_fills[f["client_order_id"]] += _f(f["qty"])
        db_fees[f["client_order_id"]] += _f(f["fee"])
    br_fills = defaultdict(float)
    br_fees = defaultdict(float)
    for f in snap["paper"]["fills"]:
        br_fills[f["client_order_id"]] += _f(f["qty"])
        br_fees[f["client_order_id"]] += _f(f["fee"])
    for e in snap["bybit"]["executions"]:
        br_fills[e["orderLinkId"]] += _f(e["execQty"])
        br_fees[e["orderLinkId"]] += _f(e["execFee"])
    for cid in set(db_fills) | set(br_fills):
        if abs(db_fills[cid] - br_fills[cid]) > EPS:
            bad("books_equal_broker", f"{cid}: filled {db_fills[cid]} in the books, {br_fills[cid]} at the broker")
        elif abs(db_fees[cid] - br_fees[cid]) > EPS:
            bad("books_equal_broker", f"{cid}: fees {db_fees[cid]} in the books, {br_fees[cid]} at the broker")
    for cid, o in orders.items():
        if o["status"] == "FILLED" and abs(_f(o["filled_qty"]) - br_fills[cid]) > EPS:
            bad("books_equal_broker", f"{cid}: filled_qty {o['filled_qty']}, the broker filled {br_fills[cid]}")
    for dep, d in deps.items():
        mine = _f(snap["positions"].get(dep))
        if d["broker"] == "PAPER":
            theirs = _f(snap["paper"]["positions"].get(dep))
        else:
            theirs = _f(snap["bybit"]["positions"].get(f"{d['key']}/{d['symbol']}"))
        if abs(mine - theirs) > EPS:
            bad("books_equal_broker", f"{dep}: position {mine} in the books, {theirs} at the broker")
        fsum = sum((_f(f["qty"]) if f["side"] == "BUY" else -_f(f["qty"])) for f in snap["fills"]
                   if f["deployment_id"] == dep)
        if abs(fsum - mine) > EPS:
            bad("books_equal_broker", f"{dep}: position {mine} is not the sum of its fills {fsum}")
        cash_flow = sum((-1 if f["side"] == "BUY" else 1) * _f(f["qty"]) * _f(f["price"]) - _f(f["fee"])
                        for f in snap["fills"] if f["deployment_id"] == dep)
        if d["broker"] == "PAPER" and dep in snap["paper"]["cash"]:
            want = d["starting_cash"] + cash_flow
            have = _f(snap["paper"]["cash"][dep])
            if abs(want - have) > 1e-4:
                bad("books_equal_broker", f"{dep}: cash from the books' fills {want:.6f}, the paper broker {have:.6f}")
    for key, wallet in snap["bybit"]["wallet"].items():
        mine = sorted((f for f in snap["fills"] if deps[f["deployment_id"]].get("key") == key), key=lambda f: f["ts"])
        have = _f(wallet)
        realised = sum(linear_realised([f for f in mine if f["deployment_id"] == dep])
                       for dep in {f["deployment_id"] for f in mine})  # one position per symbol and key
        want = snap["bybit"]["starting_wallet"] + realised - sum(_f(f["fee"]) for f in mine)
        if abs(want - have) > 1e-4:
            bad("books_equal_broker", f"Bybit key {key}: USDT {have:.6f}, from the books' fills {want:.6f}")

    # 5. the audit trail: every signal has a log row, every order at the broker a BUY/SELL row with
    # its client order id, every refused order a REJECTED row, every breaker an audit row
    logged_signals = {lg["signal_id"] for lg in snap["logs"]}
    trade_rows = defaultdict(list)
    for lg in snap["logs"]:
        if lg["order_id"]:
            trade_rows[lg["order_id"]].append((lg["action"], _f(lg.get("qty"))))
    fill_rows = Counter(f["client_order_id"] for f in snap["fills"])
    for s in snap["signals"]:
        if s["signal_id"] not in logged_signals:
            bad("audit_trail", f"signal {s['signal_id']} ({s['status']}): no trade.log row")
    for cid, o in orders.items():
        acts = [q for a, q in trade_rows.get(cid, []) if a == o["side"]]
        # one BUY/SELL row per fill (a partial fill is booked part by part), for the booked qty
        if len(acts) != fill_rows[cid] or abs(sum(acts) - db_fills[cid]) > EPS:
            bad("audit_trail", f"{cid}: {o['status']}, {fill_rows[cid]} fills of {db_fills[cid]}, "
                               f"trade.log {o['side']} rows {acts}")
        if o["status"] == "FILLED" and not acts:
            bad("audit_trail", f"{cid}: FILLED without a {o['side']} row in trade.log")
        if o["status"] == "REJECTED" and o["signal_id"] not in logged_signals:
            bad("audit_trail", f"{cid}: REJECTED with no trade.log row")
    # a breaker's audit: its own row (entity breaker), or the disable it caused (entity
    # deployment, action breaker) of its deployment / of a deployment of its user, in its transaction
    audited = {a["entity_id"] for a in snap["audits"] if a["entity"] == "breaker"}
    for br in snap["breakers"]:
        if br["breaker_id"] in audited:
            continue
        if not any(a["entity"] == "deployment" and a["action"] == "breaker" and a["entity_id"] in deps
                   and (a["entity_id"] == br["deployment_id"] if br["scope"] == "deployment"
                        else deps[a["entity_id"]]["user_id"] == br["user_id"])
                   and abs(a["committed_at"] - br["committed_at"]) < 1e-6 for a in snap["audits"]):
            bad("audit_trail", f"breaker {br['breaker_id']} ({br['scope']} {br.get('breaker')}): no trade.audit row")
    return v


# ---- the self-test: each corruption must be caught, by the invariant it breaks ---------------
def _first(lst, pred):
    for x in lst:
        if pred(x):
            return x
    return None


def corruptions(snap):
    """(name, invariant it must trip, function(copy) -> bool applied) over a clean snapshot."""
    def filled_paper(s):
        return _first(s["orders"], lambda o: o["status"] == "FILLED" and s["deployments"][o["deployment_id"]]["broker"] == "PAPER")

    def filled_bybit(s):
        return _first(s["orders"], lambda o: o["status"] == "FILLED" and s["deployments"][o["deployment_id"]]["broker"] == "BYBIT")

    def double_paper(s):
        o = filled_paper(s)
        po = _first(s["paper"]["orders"], lambda p: p["client_order_id"] == o["client_order_id"])
        s["paper"]["orders"].append(dict(po))
        return True

    def double_bybit_create(s):
        # a filled order whose create Bybit accepted (under the chaos a fill can also come from a
        # create answered with an error, found by reconciliation: that one has no accepted create)
        filled = {o["client_order_id"] for o in s["orders"]
                  if o["status"] == "FILLED" and s["deployments"][o["deployment_id"]]["broker"] == "BYBIT"}
        c = _first(s["bybit"]["creates"], lambda c: c["orderLinkId"] in filled and c["retCode"] == 0)
        s["bybit"]["creates"].append(dict(c))
        return True

    def lost_order(s):
        o = filled_paper(s)
        s["orders"] = [x for x in s["orders"] if x is not o]
        return True

    def pending_signal(s):
        s["signals"][0]["status"] = "PENDING"
        return True

    def open_order(s):
        s["orders"][-1]["status"] = "SENT"
        return True

    def over_daily(s):
        o = filled_paper(s)
        s["deployments"][o["deployment_id"]]["limits"]["max_daily_trades"] = 0
        return True

    def after_breaker(s):
        o = _first(s["orders"], lambda o: o["status"] == "FILLED" and not o["reduce_only"])
        s["breakers"].append({"breaker_id": "selftest", "user_id": s["deployments"][o["deployment_id"]]["user_id"],
                              "deployment_id": o["deployment_id"], "scope": "deployment", "committed_at": 0.0})
        s["audits"].append({"entity": "breaker", "entity_id": "selftest", "action": "trip", "committed_at": 0.0})
        return True

    def during_halt(s):
        s["windows"].append({"kind": "halt", "deployment_id": None, "start": 0.0, "end": 4e9})
        return True

    def fill_dropped(s):
        o = filled_paper(s)
        s["fills"] = [f for f in s["fills"] if f["client_order_id"] != o["client_order_id"]]
        return True

    def position_off(s):
        dep = next(iter(s["positions"]))
        s["positions"][dep] = _f(s["positions"][dep]) + 1
        return True

    def cash_off(s):
        acct = next(iter(s["paper"]["cash"]))
        s["paper"]["cash"][acct] = _f(s["paper"]["cash"][acct]) - 1
        return True

    def bybit_exec_doubled(s):
        o = filled_bybit(s)
        e = _first(s["bybit"]["executions"], lambda e: e["orderLinkId"] == o["client_order_id"])
        s["bybit"]["executions"].append(dict(e))
        return True

    def log_missing(s):
        o = filled_paper(s)
        s["logs"] = [lg for lg in s["logs"] if lg["order_id"] != o["client_order_id"]]
        return True

    def signal_unlogged(s):
        sid = s["signals"][0]["signal_id"]
        s["logs"] = [lg for lg in s["logs"] if lg["signal_id"] != sid]
        return True

    def breaker_unaudited(s):
        br = s["breakers"][0]
        s["audits"] = [a for a in s["audits"] if a["entity_id"] != br["breaker_id"] and not (
            a["action"] == "breaker" and abs(a["committed_at"] - br["committed_at"]) < 1e-6)]
        return True

    return [
        ("a breaker without its audit row", "audit_trail", breaker_unaudited),
        ("a second paper order under one client order id", "one_broker_order_per_id", double_paper),
        ("Bybit accepted one orderLinkId twice", "one_broker_order_per_id", double_bybit_create),
        ("an order at the broker the books lost", "one_broker_order_per_id", lost_order),
        ("a signal left PENDING", "signals_terminal", pending_signal),
        ("an order left SENT", "orders_terminal", open_order),
        ("more orders than max_daily_trades", "risk_limits", over_daily),
        ("an entry after a breaker tripped", "breakers", after_breaker),
        ("an order during a halt", "kill_switches", during_halt),
        ("a fill missing from the books", "books_equal_broker", fill_dropped),
        ("a position off by one", "books_equal_broker", position_off),
        ("the paper broker's cash off by one", "books_equal_broker", cash_off),
        ("a Bybit execution booked twice at the broker", "books_equal_broker", bybit_exec_doubled),
        ("a filled order without its trade.log row", "audit_trail", log_missing),
        ("a signal without any trade.log row", "audit_trail", signal_unlogged),
    ]


def self_test(snap, tally):
    """tally.check() once per corruption (and once that the clean snapshot passes)."""
    clean = check(snap)
    tally.check(not clean, "self-test: the clean snapshot has no violation", "; ".join(f"{a}: {b}" for a, b in clean[:5]))
    for name, inv, fn in corruptions(snap):
        s = copy.deepcopy(snap)
        try:
            fn(s)
        except (TypeError, AttributeError, StopIteration, KeyError, IndexError) as e:
            tally.check(False, f"self-test: {name}", f"the snapshot has nothing to corrupt ({e!r})")
            continue
        found = [a for a, _b in check(s)]
        tally.check(inv in found, f"self-test: {name} -> {inv}", f"check() found {sorted(set(found))}")
