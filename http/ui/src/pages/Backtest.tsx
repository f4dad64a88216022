import { lazy, Suspense, useEffect, useMemo, useState, type FormEvent } from "react";
import { api, call, type BacktestResults, type SeriesRow, type Strategy } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import { metricRows, utc } from "../lib/format";
import { equityPoints, toPoints } from "../lib/series";
import { strategyConfig } from "../lib/strategy";
import ProblemBox from "../components/ProblemBox";

const EquityChart = lazy(() => import("../components/EquityChart"));

export default function Backtest({ id }: { id: string }) {
  const [strategy, setStrategy] = useState<Strategy | null>(null);
  const [fee, setFee] = useState("5");
  const [result, setResult] = useState<BacktestResults | null>(null);
  const [series, setSeries] = useState<SeriesRow[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    call(api.GET("/api/v1/strategies/{id}", { params: { path: { id } } }))
      .then(setStrategy)
      .catch((e) => e instanceof ApiError && setProblem(e.problem));
  }, [id]);

  async function run(e?: FormEvent) {
    e?.preventDefault();
    if (!strategy) return;
    setBusy(true);
    setProblem(null);
    const body = { config: strategyConfig(strategy), fee_bps: Number(fee) };
    try {
      const [r, s] = await Promise.all([
        call(api.POST("/api/v1/backtest", { body })),
        call(api.POST("/api/v1/backtest_series", { body })),
      ]);
      setResult(r);
      setSeries(s);
    } catch (err) {
      if (err instanceof ApiError) setProblem(err.problem);
    } finally {
      setBusy(false);
    }
  }

  const rows = useMemo(() => (result ? metricRows(result.metrics, result.buy_hold_metrics) : []), [result]);
  const points = useMemo(
    () => ({
      equity: equityPoints(series, (r) => r.cumulative),
      buyHold: equityPoints(series, (r) => r.buy_hold_cumulative),
      price: toPoints(series, (r) => r.price),
    }),
    [series],
  );

  return (
    <section>
      <h1>Backtest {strategy ? `· ${strategy.name}` : ""}</h1>
      {strategy && (
        <p className="muted">
          {strategy.ticker} · v{strategy.version} · {strategy.substrategies.length} substrategies ·{" "}
          {strategy.conjunction ?? "AND"}
        </p>
      )}
      <form className="row" onSubmit={run} aria-label="backtest">
        <label>
          Fee (bps)
          <input name="fee_bps" type="number" step="0.5" value={fee} onChange={(e) => setFee(e.target.value)} />
        </label>
        <button type="submit" disabled={!strategy || busy}>
          {busy ? "Running…" : "Run backtest"}
        </button>
      </form>
      <ProblemBox problem={problem} />
      {result && (
        <>
          <p className="muted" data-testid="range">
            {result.ticker_backtested} · {utc(result.data_range?.start)} → {utc(result.data_range?.end)} · fee{" "}
            {result.fee_bps} bps
          </p>
          <table className="metrics" data-testid="metrics">
            <thead>
              <tr>
                <th>Metric</th>
                <th>Strategy</th>
                <th>Buy &amp; hold</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((m) => (
                <tr key={m.key} data-metric={m.key}>
                  <td>{m.label}</td>
                  <td data-value={m.strategy ?? ""} className={m.better === null ? "" : m.better ? "good" : "bad"}>
                    {m.shown[0]}
                  </td>
                  <td data-value={m.buyHold ?? ""}>{m.shown[1]}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Suspense fallback={<p>Loading chart…</p>}>
            <EquityChart equity={points.equity} buyHold={points.buyHold} price={points.price} />
          </Suspense>
        </>
      )}
    </section>
  );
}
