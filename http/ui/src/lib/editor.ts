// The strategy editor's model: a form of 1..16 substrategies joined by AND / OR / FILTER, whose
// choices come from the catalogs (GET /indicators, /signal_functions; the columns from the
// SubStrategy schema of /openapi.json). A bounded indicator (RSI, stochastic: 0..100) locks the
// signal to its catalog range and takes only the signal functions made for bounded values.
// formToConfig and configToForm round-trip: the JSON tab shows formToConfig(form), and a JSON
// text that validates becomes the form again.

export interface IndicatorInfo {
  name: string;
  description?: string;
  bounded?: boolean;
  window_min?: number;
  window_max?: number;
  window_floor?: number;
  signal_min?: number;
  signal_max?: number;
  signal_step?: number;
}
export interface SignalFuncInfo {
  name: string;
  description?: string;
  for_bounded?: boolean;
}
export interface Catalog {
  indicators: IndicatorInfo[];
  signalFuncs: SignalFuncInfo[];
  columns: string[];
}

export const CONJUNCTIONS = ["AND", "OR", "FILTER"] as const;
export type Conjunction = (typeof CONJUNCTIONS)[number];
export const MAX_SUBSTRATEGIES = 16;

export interface SubForm {
  indicator: string;
  signal_func: string;
  window: number;
  signal: number;
  data_column: string;
}
export interface StrategyForm {
  name: string;
  ticker: string;
  conjunction: Conjunction;
  trading_period: number;
  fill_delay_bars: number;
  subs: SubForm[];
}
export interface FieldError {
  field: string;
  message: string;
}

export function indicatorOf(cat: Catalog, name: string): IndicatorInfo | undefined {
  return cat.indicators.find((i) => i.name === name);
}

// The signal functions an indicator may take: for_bounded ones for a bounded indicator, the others otherwise.
export function signalFuncsFor(cat: Catalog, indicator: string): SignalFuncInfo[] {
  const ind = indicatorOf(cat, indicator);
  if (!ind) return cat.signalFuncs;
  return cat.signalFuncs.filter((f) => !!f.for_bounded === !!ind.bounded);
}

// The locked signal range of a bounded indicator, or null (free).
export function lockedRange(cat: Catalog, indicator: string): { min: number; max: number } | null {
  const ind = indicatorOf(cat, indicator);
  if (!ind || !ind.bounded) return null;
  return { min: ind.signal_min ?? 0, max: ind.signal_max ?? 100 };
}

export function newSub(cat: Catalog, indicator?: string): SubForm {
  const ind = indicatorOf(cat, indicator ?? "") ?? cat.indicators[0];
  const funcs = signalFuncsFor(cat, ind?.name ?? "");
  const range = lockedRange(cat, ind?.name ?? "");
  return {
    indicator: ind?.name ?? "",
    signal_func: funcs[0]?.name ?? "",
    window: Math.max(ind?.window_min ?? 14, ind?.window_floor ?? 1),
    signal: range ? Math.round((range.min + range.max) * 0.3) : 0,
    data_column: cat.columns.includes("v") ? "v" : (cat.columns[0] ?? "v"),
  };
}

// A sub after its indicator changed: a signal function that fits and the signal inside a locked range.
export function withIndicator(cat: Catalog, sub: SubForm, indicator: string): SubForm {
  const funcs = signalFuncsFor(cat, indicator);
  const range = lockedRange(cat, indicator);
  let signal = sub.signal;
  if (range) signal = Math.min(range.max, Math.max(range.min, signal));
  const ind = indicatorOf(cat, indicator);
  const window = Math.max(sub.window, ind?.window_floor ?? 1);
  return {
    ...sub,
    indicator,
    signal_func: funcs.some((f) => f.name === sub.signal_func) ? sub.signal_func : (funcs[0]?.name ?? ""),
    signal,
    window,
  };
}

// Every field error of a form (empty: valid), each naming its field as the server does.
export function validate(cat: Catalog, f: StrategyForm): FieldError[] {
  const e: FieldError[] = [];
  if (!f.ticker.trim()) e.push({ field: "ticker", message: "a ticker is required" });
  if (!CONJUNCTIONS.includes(f.conjunction)) e.push({ field: "conjunction", message: `one of ${CONJUNCTIONS.join(", ")}` });
  if (!Number.isInteger(f.trading_period) || f.trading_period < 1)
    e.push({ field: "trading_period", message: "a whole number of bars per year, at least 1" });
  if (!Number.isInteger(f.fill_delay_bars) || f.fill_delay_bars < 0 || f.fill_delay_bars > 1000)
    e.push({ field: "fill_delay_bars", message: "0 to 1000" });
  if (f.subs.length < 1 || f.subs.length > MAX_SUBSTRATEGIES)
    e.push({ field: "substrategies", message: `1 to ${MAX_SUBSTRATEGIES} substrategies` });
  f.subs.forEach((s, i) => {
    const at = `substrategies[${i}]`;
    const ind = indicatorOf(cat, s.indicator);
    if (!ind) e.push({ field: `${at}.indicator`, message: `one of ${cat.indicators.map((x) => x.name).join(", ")}` });
    const funcs = signalFuncsFor(cat, s.indicator);
    if (!funcs.some((x) => x.name === s.signal_func))
      e.push({ field: `${at}.signal_func`, message: `one of ${funcs.map((x) => x.name).join(", ")}` });
    const floor = ind?.window_floor ?? 1;
    if (!Number.isInteger(s.window) || s.window < floor) e.push({ field: `${at}.window`, message: `a whole number, at least ${floor}` });
    if (!Number.isFinite(s.signal)) e.push({ field: `${at}.signal`, message: "a number" });
    const range = lockedRange(cat, s.indicator);
    if (range && Number.isFinite(s.signal) && (s.signal < range.min || s.signal > range.max))
      e.push({ field: `${at}.signal`, message: `${s.indicator} is bounded: ${range.min} to ${range.max}` });
    if (!cat.columns.includes(s.data_column)) e.push({ field: `${at}.data_column`, message: `one of ${cat.columns.join(", ")}` });
  });
  return e;
}

// The StrategyConfig JSON of a form (what POST /strategies takes).
export function formToConfig(f: StrategyForm): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (f.name.trim()) out.name = f.name.trim();
  out.ticker = f.ticker.trim();
  out.conjunction = f.conjunction;
  out.trading_period = f.trading_period;
  if (f.fill_delay_bars !== 0) out.fill_delay_bars = f.fill_delay_bars;
  out.substrategies = f.subs.map((s, i) => ({
    id: i + 1,
    indicator: s.indicator,
    signal_func: s.signal_func,
    window: s.window,
    signal: s.signal,
    data_column: s.data_column,
  }));
  return out;
}

const CONFIG_KEYS = new Set(["name", "ticker", "conjunction", "trading_period", "fill_delay_bars", "substrategies",
  // a stored strategy's own keys, accepted and ignored (as the server does)
  "strategy_id", "client_strategy_id", "version", "versions", "created_at", "updated_at", "deleted_at", "latest_result", "user", "interval", "description"]);
const SUB_KEYS = new Set(["id", "indicator", "signal_func", "window", "signal", "data_column"]);

// A JSON text back to a form, or the field errors (parse errors as field "json").
export function configToForm(cat: Catalog, text: string): { form?: StrategyForm; errors: FieldError[] } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { errors: [{ field: "json", message: e instanceof Error ? e.message : String(e) }] };
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return { errors: [{ field: "json", message: "a JSON object (a StrategyConfig)" }] };
  const o = v as Record<string, unknown>;
  const errors: FieldError[] = [];
  for (const k of Object.keys(o)) if (!CONFIG_KEYS.has(k)) errors.push({ field: k, message: "not a StrategyConfig key the editor knows" });
  const subsIn = Array.isArray(o.substrategies) ? o.substrategies : null;
  if (!subsIn) errors.push({ field: "substrategies", message: "an array of 1 to 16 substrategies" });
  const subs: SubForm[] = (subsIn ?? []).map((x, i) => {
    const s = (typeof x === "object" && x !== null ? x : {}) as Record<string, unknown>;
    for (const k of Object.keys(s)) if (!SUB_KEYS.has(k)) errors.push({ field: `substrategies[${i}].${k}`, message: "not a substrategy key the editor knows" });
    return {
      indicator: typeof s.indicator === "string" ? s.indicator : "",
      signal_func: typeof s.signal_func === "string" ? s.signal_func : "",
      window: typeof s.window === "number" ? s.window : NaN,
      signal: typeof s.signal === "number" ? s.signal : NaN,
      data_column: typeof s.data_column === "string" ? s.data_column : "v",
    };
  });
  const conj = typeof o.conjunction === "string" ? o.conjunction.toUpperCase() : "AND";
  const form: StrategyForm = {
    name: typeof o.name === "string" ? o.name : "",
    ticker: typeof o.ticker === "string" ? o.ticker : "",
    conjunction: conj as Conjunction,
    trading_period: typeof o.trading_period === "number" ? o.trading_period : 252,
    fill_delay_bars: typeof o.fill_delay_bars === "number" ? o.fill_delay_bars : 0,
    subs,
  };
  errors.push(...validate(cat, form));
  return errors.length ? { errors } : { form, errors };
}
