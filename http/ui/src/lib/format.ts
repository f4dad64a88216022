// Numbers and times as the pages show them. Times are UTC.

export function pct(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return `${(x * 100).toFixed(digits)}%`;
}

export function num(x: number | null | undefined, digits = 2): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "–";
  return x.toFixed(digits);
}

// "2024-01-02 15:04 UTC" from an ISO 8601 time; "–" for none.
export function utc(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace("T", " ")} UTC`;
}

export type Metrics = {
  total_return?: number | null;
  annualized_return?: number | null;
  sharpe_ratio?: number | null;
  max_drawdown?: number | null;
  calmar_ratio?: number | null;
};

export interface MetricRow {
  key: keyof Metrics;
  label: string;
  strategy: number | null;
  buyHold: number | null;
  shown: [string, string];
  // whether the strategy did better than buy and hold on this metric (null: not comparable)
  better: boolean | null;
}

const METRICS: { key: keyof Metrics; label: string; percent: boolean }[] = [
  { key: "total_return", label: "Total return", percent: true },
  { key: "annualized_return", label: "Annualised return", percent: true },
  { key: "sharpe_ratio", label: "Sharpe ratio", percent: false },
  { key: "max_drawdown", label: "Max drawdown", percent: true },
  { key: "calmar_ratio", label: "Calmar ratio", percent: false },
];

const value = (m: Metrics | undefined, k: keyof Metrics): number | null => {
  const v = m?.[k];
  return typeof v === "number" && Number.isFinite(v) ? v : null;
};

// The metric cards: the strategy against buy and hold. Drawdowns are negative or positive
// fractions depending on convention: the smaller magnitude is better.
export function metricRows(strategy: Metrics | undefined, buyHold: Metrics | undefined): MetricRow[] {
  return METRICS.map(({ key, label, percent }) => {
    const s = value(strategy, key);
    const b = value(buyHold, key);
    const f = percent ? pct : num;
    let better: boolean | null = null;
    if (s !== null && b !== null) better = key === "max_drawdown" ? Math.abs(s) < Math.abs(b) : s > b;
    return { key, label, strategy: s, buyHold: b, shown: [f(s), f(b)], better };
  });
}
