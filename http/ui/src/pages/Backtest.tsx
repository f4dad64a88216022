import { lazy, Suspense, useEffect, useMemo, useState, type FormEvent } from "react";
import { api, call, type BacktestResults, type SeriesRow, type Strategy } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import { metricRows, num, pct, utc } from "../lib/format";
import { equityPoints, toPoints } from "../lib/series";
import { positionChanges, snapMarkers } from "../lib/markers";
import { backtestTrades } from "../lib/trades";
import { columnsOf, download, toCsv } from "../lib/csv";
import { formatTime, useZone } from "../lib/time";
import VirtualTable from "../components/VirtualTable";
import Versions from "../components/Versions";
import { strategyConfig } from "../lib/strategy";
import ProblemBox from "../components/ProblemBox";
import { Link, navigate } from "../components/Link";
import { handBacktest } from "../lib/handoff";

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
      drawdown: toPoints(series, (r) => r.drawdown),
    }),
    [series],
  );
  const markers = useMemo(() => snapMarkers(points.price, positionChanges(series)), [points, series]);
  const trades = useMemo(() => backtestTrades(series), [series]);
  const zone = useZone();

  return (
    <section>
      <h1>Backtest {strategy ? `· ${strategy.name}` : ""}</h1>
      {strategy && (
        <p className="muted">
          {strategy.ticker} · v{strategy.version} · {strategy.substrategies.length} substrategies ·{" "}
          {strategy.conjunction ?? "AND"}
        </p>
      )}
      {strategy && <Versions id={id} current={strategy.version} />}
      <form className="row" onSubmit={run} aria-label="backtest">
        <label>
          Fee (bps)
          <input name="fee_bps" type="number" step="0.5" value={fee} onChange={(e) => setFee(e.target.value)} />
        </label>
        <button type="submit" disabled={!strategy || busy}>
          {busy ? "Running…" : "Run backtest"}
        </button>
        {result && (
          <button
            type="button"
            onClick={() => {
              handBacktest(id, result);
              navigate({ name: "deploy", id });
            }}
          >
            Deploy this…
          </button>
        )}
        <Link to={{ name: "optimise", id }}>Optimise</Link>
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
            <EquityChart equity={points.equity} buyHold={points.buyHold} price={points.price} drawdown={points.drawdown} markers={markers} />
          </Suspense>
          <div className="row">
            <button type="button" onClick={() => download(`backtest-${id}.json`, JSON.stringify({ result, series }, null, 2), "application/json")}>
              Export JSON
            </button>
            <button type="button" onClick={() => download(`backtest-series-${id}.csv`, toCsv(series as unknown as Record<string, unknown>[], columnsOf(series as unknown as Record<string, unknown>[])))}>
              Export series CSV
            </button>
            <button type="button" onClick={() => download(`backtest-trades-${id}.csv`, toCsv(trades as unknown as Record<string, unknown>[], columnsOf(trades as unknown as Record<string, unknown>[])))}>
              Export trades CSV
            </button>
          </div>
          <h2>Trades ({trades.length})</h2>
          <VirtualTable
            testId="backtest-trades"
            label="backtest trades"
            rows={trades}
            rowKey={(t) => `${t.entry_ts}`}
            header={["Side", "Entry", "Entry price", "Exit", "Exit price", "Return", "Bars"]}
            cells={(t) => [t.side, formatTime(t.entry_ts, zone), num(t.entry_price), formatTime(t.exit_ts, zone), num(t.exit_price), pct(t.ret), String(t.bars)]}
          />
        </>
      )}
    </section>
  );
}
