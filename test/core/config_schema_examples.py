#!/usr/bin/env python3
"""The config JSON Schemas (core: strategy_config_schema, deployment_config_schema) against a
real JSON Schema validator (python3-jsonschema): every golden config validates, and every JSON
config in the project's Markdown (README examples) is judged the same way by the schema and by
the core's validator, except that the schema may accept what only the validator can refuse (a
window under the indicator's floor, FILTER with one substrategy)."""
import glob
import json
import os
import subprocess
import sys

import jsonschema

TOOL, ROOT = sys.argv[1], sys.argv[2]


def schema(kind):
    out = subprocess.run([TOOL, "schema", kind], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def core_accepts(kind, doc):
    out = subprocess.run([TOOL, "validate", kind], input=json.dumps(doc), check=True, capture_output=True,
                         text=True).stdout.strip()
    return out == "ok", out


validators = {}
for kind in ("strategy", "deployment"):
    s = schema(kind)
    jsonschema.Draft202012Validator.check_schema(s)
    validators[kind] = jsonschema.Draft202012Validator(s, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)

failures = []
checked = 0


def judge(kind, doc, where, must_be_valid=False):
    global checked
    checked += 1
    errors = sorted(validators[kind].iter_errors(doc), key=str)
    ok, core = core_accepts(kind, doc)
    if must_be_valid and not ok:
        failures.append(f"{where}: the core refuses it: {core}")
    if ok and errors:
        failures.append(f"{where}: the core accepts it, the schema refuses it: {errors[0].message}")


with open(os.path.join(ROOT, "test/golden/golden_backtests.json")) as f:
    for i, case in enumerate(json.load(f)["cases"]):
        judge("strategy", case["config"], f"golden case {i}", must_be_valid=True)


def json_objects(text):
    """Every JSON object that starts at a '{' of text (nested ones too)."""
    decoder = json.JSONDecoder()
    for i, c in enumerate(text):
        if c == "{":
            try:
                obj, _ = decoder.raw_decode(text, i)
            except ValueError:
                continue
            if isinstance(obj, dict):
                yield obj


examples = 0
for path in sorted(glob.glob(os.path.join(ROOT, "**/*.md"), recursive=True)):
    if "/build" in path:
        continue
    with open(path) as f:
        text = f.read()
    for obj in json_objects(text):
        rel = os.path.relpath(path, ROOT)
        if "substrategies" in obj and "ticker" in obj:
            judge("strategy", obj, f"{rel}: {json.dumps(obj)[:80]}")
            examples += 1
        elif "strategy_id" in obj and "qty" in obj:
            judge("deployment", obj, f"{rel}: {json.dumps(obj)[:80]}")
            examples += 1

# What the validators fold or allow that a hand-written schema tends to miss.
sid = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
base = {"ticker": "TTRC", "trading_period": 252,
        "substrategies": [{"indicator": "get_rsi", "signal_func": "momentum_bounded_signal", "window": 14,
                           "signal": 70}, {"indicator": "get_sma_distance", "signal_func": "momentum_band_signal",
                                           "window": 20.0, "signal": 0.01, "data_column": "close"}]}
for extra in ({}, {"conjunction": "filter"}, {"conjunction": "Or"}, {"fill_delay_bars": 1}, {"name": None},
              {"strategy_id": sid, "version": 3, "created_at": "2026-01-01T00:00:00Z", "latest_result": None}):
    judge("strategy", {**base, **extra}, f"strategy with {extra}", must_be_valid=True)
for extra in ({}, {"broker": "paper", "market": "us", "schedule": "HOURLY"}, {"paper": False, "broker": "BYBIT",
              "confirm_live": True, "trade_password": "x", "market": "CRYPTO", "qty": 0.5},
              {"risk_limits": {"max_position_usd": 5000, "max_daily_trades": 3, "stop_loss_pct": 2.5,
                               "max_bar_age_hours": None, "max_order_notional": 1000, "max_order_qty": 10,
                               "max_orders_per_minute": 2, "max_consecutive_rejects": 5}},
              {"deployment_id": None, "strategy_version": None, "ticker": "US.AAPL", "portfolio": "growth"}):
    judge("deployment", {"strategy_id": sid, "qty": 10, **extra}, f"deployment with {extra}", must_be_valid=True)
# and what both refuse
for bad in ({"risk_limits": {"max_loss": 1}}, {"qty": 0}, {"broker": "IBKR"}, {"strategy_id": "x"}):
    doc = {"strategy_id": sid, "qty": 10, **bad}
    if validators["deployment"].is_valid(doc) or core_accepts("deployment", doc)[0]:
        failures.append(f"deployment with {bad}: accepted")
    checked += 1

for f in failures:
    print("FAIL", f)
print(f"{checked} documents checked ({examples} from the Markdown), {len(failures)} failures")
sys.exit(1 if failures else 0)
