import { describe, expect, it } from "vitest";
import { configToForm, formToConfig, lockedRange, newSub, signalFuncsFor, validate, withIndicator, type Catalog, type StrategyForm } from "./editor";

const cat: Catalog = {
  indicators: [
    { name: "get_sma", bounded: false, window_floor: 1, window_min: 5 },
    { name: "get_rsi", bounded: true, window_floor: 2, window_min: 5, signal_min: 0, signal_max: 100 },
  ],
  signalFuncs: [
    { name: "momentum_band_signal", for_bounded: false },
    { name: "momentum_bounded_signal", for_bounded: true },
    { name: "reversion_bounded_signal", for_bounded: true },
  ],
  columns: ["v", "open", "high", "low", "close", "volume"],
};

describe("strategy editor", () => {
  it("offers the bounded signal functions for a bounded indicator and locks its range", () => {
    expect(signalFuncsFor(cat, "get_rsi").map((f) => f.name)).toEqual(["momentum_bounded_signal", "reversion_bounded_signal"]);
    expect(signalFuncsFor(cat, "get_sma").map((f) => f.name)).toEqual(["momentum_band_signal"]);
    expect(lockedRange(cat, "get_rsi")).toEqual({ min: 0, max: 100 });
    expect(lockedRange(cat, "get_sma")).toBeNull();
    const s = withIndicator(cat, { ...newSub(cat, "get_sma"), signal: 250 }, "get_rsi");
    expect(s).toMatchObject({ indicator: "get_rsi", signal_func: "momentum_bounded_signal", signal: 100 });
  });
  it("round-trips a 3-substrategy form through its JSON", () => {
    const f: StrategyForm = {
      name: "three", ticker: "TTRC", conjunction: "FILTER", trading_period: 252, fill_delay_bars: 1,
      subs: [
        { indicator: "get_rsi", signal_func: "reversion_bounded_signal", window: 14, signal: 30, data_column: "v" },
        { indicator: "get_sma", signal_func: "momentum_band_signal", window: 20, signal: 0.01, data_column: "close" },
        { indicator: "get_rsi", signal_func: "momentum_bounded_signal", window: 9, signal: 70, data_column: "high" },
      ],
    };
    expect(validate(cat, f)).toEqual([]);
    const text = JSON.stringify(formToConfig(f), null, 2);
    const back = configToForm(cat, text);
    expect(back.errors).toEqual([]);
    expect(back.form).toEqual(f);
  });
  it("names the field of each error", () => {
    const bad = configToForm(cat, '{"ticker":"T","substrategies":[{"indicator":"get_rsi","signal_func":"momentum_band_signal","window":1,"signal":120,"data_column":"x"}],"colour":1}');
    expect(bad.errors.map((e) => e.field).sort()).toEqual([
      "colour", "substrategies[0].data_column", "substrategies[0].signal", "substrategies[0].signal_func", "substrategies[0].window",
    ]);
    expect(configToForm(cat, "{nope").errors[0].field).toBe("json");
    const many = { ticker: "T", substrategies: Array.from({ length: 17 }, () => newSub(cat, "get_sma")) };
    expect(configToForm(cat, JSON.stringify(many)).errors.map((e) => e.field)).toContain("substrategies");
  });
});
