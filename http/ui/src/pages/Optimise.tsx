// Optimise a strategy: window and signal ranges per substrategy with the live cell count and
// the caps; POST /optimize (cancel stops waiting); the top-N table; the heatmap of window x
// signal where a click backtests that cell; walk-forward with in/out-of-sample Sharpe, the
// overfitting ratio and the equity with its split.
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from "react";
import { api, call, type Strategy, type StrategyConfig } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import { strategyConfig } from "../lib/strategy";
import { metricRows, num, pct } from "../lib/format";
import { equityPoints } from "../lib/series";
import {
  CELLS_CAP,
  GRID_CAP,
  cellConfig,
  defaultRanges,
  gridBody,
  gridCells,
  heatColour,
  heatmap,
  rangeCount,
  type Cell,
  type Range,
} from "../lib/grid";
import ProblemBox from "../components/ProblemBox";
import { Link } from "../components/Link";

const SplitEquityChart = lazy(() => import("../components/SplitEquityChart"));

type Ranges = { window: Range; signal: Range }[];
type OptResult = { grid_size: number; evaluated: number; valid: number; best: Record<string, unknown> | null; top: Cell[]; cells?: Cell[] };
type WalkResult = Record<string, unknown> & {
  is_sharpe: number | null;
  oos_sharpe: number | null;
  overfitting_ratio: number | null;
  split_at?: string;
  best?: { config?: StrategyConfig } | null;
};

export default function Optimise({ id }: { id: string }) {
  const [strategy, setStrategy] = useState<Strategy | null>(null);
  const [ranges, setRanges] = useState<Ranges>([]);
  const [fee, setFee] = useState("5");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState<"" | "grid" | "walk">("");
  const [started, setStarted] = useState(0);
  const [now, setNow] = useState(0);
  const [result, setResult] = useState<OptResult | null>(null);
  const [picked, setPicked] = useState<{ cell: Cell; metrics: Record<string, unknown> | null } | null>(null);
  const [split, setSplit] = useState("0.5");
  const [walk, setWalk] = useState<WalkResult | null>(null);
  const [walkEquity, setWalkEquity] = useState<{ time: number; value: number }[]>([]);
  const [tab, setTab] = useState<"grid" | "walk">("grid");
  const abort = useRef<AbortController | null>(null);

  useEffect(() => {
    call(api.GET("/api/v1/strategies/{id}", { params: { path: { id } } }))
      .then((s) => {
        setStrategy(s);
        setRanges(s.substrategies.map((x) => defaultRanges({ window: Number(x.window), signal: Number(x.signal) })));
      })
      .catch((e) => e instanceof ApiError && setProblem(e.problem));
  }, [id]);

  useEffect(() => {
    if (!busy) return;
    const t = window.setInterval(() => setNow(Date.now()), 200);
    return () => window.clearInterval(t);
  }, [busy]);

  const cells = gridCells(ranges);
  const overCap = !(cells <= GRID_CAP);
  const withCells = cells <= CELLS_CAP;
  const config = strategy ? strategyConfig(strategy) : null;

  const setRange = (i: number, dim: "window" | "signal", k: keyof Range, v: string) =>
    setRanges((rs) => rs.map((r, j) => (j === i ? { ...r, [dim]: { ...r[dim], [k]: v } } : r)));

  async function runGrid() {
    if (!config || overCap) return;
    setProblem(null);
    setPicked(null);
    setBusy("grid");
    setStarted(Date.now());
    const ctl = new AbortController();
    abort.current = ctl;
    try {
      const r = await call(
        api.POST("/api/v1/optimize", {
          body: { config, grid: gridBody(ranges), fee_bps: Number(fee), top_n: 10, include_cells: withCells },
          signal: ctl.signal,
        }),
      );
      setResult(r as unknown as OptResult);
    } catch (e) {
      if (ctl.signal.aborted) setProblem({ status: 0, title: "Cancelled", detail: "stopped waiting for the search (the server's statement timeout ends it)" });
      else if (e instanceof ApiError) setProblem(e.problem);
    } finally {
      setBusy("");
      abort.current = null;
    }
  }

  async function runWalk() {
    if (!config || overCap) return;
    setProblem(null);
    setBusy("walk");
    setStarted(Date.now());
    const ctl = new AbortController();
    abort.current = ctl;
    try {
      const w = (await call(
        api.POST("/api/v1/walk_forward", {
          body: { config, grid: gridBody(ranges), fee_bps: Number(fee), split_ratio: Number(split) },
          signal: ctl.signal,
        }),
      )) as unknown as WalkResult;
      setWalk(w);
      const best = w.best?.config;
      if (best) {
        const s = await call(api.POST("/api/v1/backtest_series", { body: { config: best, fee_bps: Number(fee) } }));
        setWalkEquity(equityPoints(s, (r) => r.cumulative));
      } else setWalkEquity([]);
    } catch (e) {
      if (ctl.signal.aborted) setProblem({ status: 0, title: "Cancelled", detail: "stopped waiting for the walk-forward" });
      else if (e instanceof ApiError) setProblem(e.problem);
    } finally {
      setBusy("");
      abort.current = null;
    }
  }

  async function backtestCell(c: Cell) {
    if (!config) return;
    setPicked({ cell: c, metrics: null });
    try {
      const r = await call(api.POST("/api/v1/backtest", { body: { config: cellConfig(config as unknown as { substrategies: { window?: number; signal?: number }[] }, c) as never, fee_bps: Number(fee) } }));
      setPicked({ cell: c, metrics: r as unknown as Record<string, unknown> });
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    }
  }

  const hm = useMemo(() => (result?.cells ? heatmap(result.cells, 0, "sharpe_ratio") : null), [result]);
  const splitTime = walk?.split_at ? Math.floor(Date.parse(walk.split_at) / 1000) : 0;

  return (
    <section>
      <h1>Optimise {strategy ? `· ${strategy.name}` : ""}</h1>
      <p className="muted">
        <Link to={{ name: "backtest", id }}>Backtest</Link> · <Link to={{ name: "deploy", id }}>Deploy</Link>
      </p>
      <ProblemBox problem={problem} />
      {strategy && (
        <form
          aria-label="grid"
          onSubmit={(e) => {
            e.preventDefault();
            void (tab === "grid" ? runGrid() : runWalk());
          }}
        >
          {strategy.substrategies.map((s, i) => (
            <fieldset key={i} className="ranges">
              <legend>
                {i + 1}. {s.indicator} · {s.signal_func}
              </legend>
              {(["window", "signal"] as const).map((dim) => (
                <div className="row" key={dim}>
                  {(["min", "max", "step"] as const).map((k) => (
                    <label key={k}>
                      {dim} {k} ({i + 1})
                      <input inputMode="decimal" value={ranges[i]?.[dim][k] ?? ""} onChange={(e) => setRange(i, dim, k, e.target.value)} />
                    </label>
                  ))}
                  <span className="muted">{ranges[i] ? `${num(rangeCount(ranges[i][dim]), 0)} values` : ""}</span>
                </div>
              ))}
            </fieldset>
          ))}
          <div className="row">
            <label>
              Fee (bps)
              <input value={fee} onChange={(e) => setFee(e.target.value)} />
            </label>
            <p data-testid="cell-count" data-cells={Number.isFinite(cells) ? cells : ""} className={overCap ? "stale" : ""}>
              {Number.isFinite(cells) ? cells.toLocaleString("en-US") : "–"} cells (cap {GRID_CAP.toLocaleString("en-US")}
              {withCells ? "" : `; over ${CELLS_CAP.toLocaleString("en-US")}: no heatmap`})
            </p>
          </div>
          <div className="row" role="tablist">
            <button type="button" role="tab" aria-selected={tab === "grid"} onClick={() => setTab("grid")}>
              Grid search
            </button>
            <button type="button" role="tab" aria-selected={tab === "walk"} onClick={() => setTab("walk")}>
              Walk-forward
            </button>
          </div>
          {tab === "walk" && (
            <label>
              In-sample share (split ratio)
              <input value={split} onChange={(e) => setSplit(e.target.value)} />
            </label>
          )}
          <div className="row">
            <button type="submit" disabled={!!busy || overCap}>
              {tab === "grid" ? "Run grid" : "Run walk-forward"}
            </button>
            {busy && (
              <>
                <span data-testid="progress">
                  running… {((now - started) / 1000).toFixed(1)} s (the API reports no progress)
                </span>
                <button type="button" onClick={() => abort.current?.abort()}>
                  Cancel
                </button>
              </>
            )}
          </div>
        </form>
      )}

      {tab === "grid" && result && (
        <>
          <p className="muted" data-testid="grid-summary">
            {result.evaluated} of {result.grid_size} cells evaluated, {result.valid} valid
          </p>
          <h2>Top {result.top.length}</h2>
          <table data-testid="top">
            <thead>
              <tr>
                <th>#</th>
                <th>Parameters</th>
                <th>Sharpe</th>
                <th>Total return</th>
                <th>Max drawdown</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {result.top.map((c, i) => (
                <tr key={i} data-sharpe={c.metrics.sharpe_ratio ?? ""}>
                  <td>{i + 1}</td>
                  <td>{c.substrategies.map((p) => `w${p.window} s${p.signal}`).join(" · ")}</td>
                  <td>{num(c.metrics.sharpe_ratio)}</td>
                  <td>{pct(c.metrics.total_return)}</td>
                  <td>{pct(c.metrics.max_drawdown)}</td>
                  <td>
                    <button type="button" onClick={() => void backtestCell(c)}>
                      Backtest
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {hm && (
            <>
              <h2>Sharpe: window × signal{strategy && strategy.substrategies.length > 1 ? " (substrategy 1; best over the others)" : ""}</h2>
              <div
                className="heatmap"
                role="grid"
                aria-label="Sharpe heatmap"
                data-testid="heatmap"
                data-rows={hm.windows.length}
                data-cols={hm.signals.length}
                style={{ gridTemplateColumns: `auto repeat(${hm.signals.length}, minmax(2.2rem, 1fr))` }}
              >
                <div role="columnheader" className="hm-corner">
                  w \ s
                </div>
                {hm.signals.map((s) => (
                  <div role="columnheader" key={s} className="hm-head">
                    {s}
                  </div>
                ))}
                {hm.windows.map((w, i) => (
                  <div role="row" key={w} style={{ display: "contents" }}>
                    <div role="rowheader" className="hm-head">
                      {w}
                    </div>
                    {hm.signals.map((s, j) => {
                      const v = hm.value[i][j];
                      const c = hm.cell[i][j];
                      return (
                        <button
                          key={s}
                          type="button"
                          role="gridcell"
                          className="hm-cell"
                          data-window={w}
                          data-signal={s}
                          data-value={v ?? ""}
                          disabled={!c}
                          title={`window ${w}, signal ${s}: Sharpe ${num(v)}`}
                          aria-label={`window ${w}, signal ${s}: Sharpe ${num(v)}`}
                          style={{ background: heatColour(v, hm.min, hm.max) }}
                          onClick={() => c && void backtestCell(c)}
                        >
                          {num(v, 1)}
                        </button>
                      );
                    })}
                  </div>
                ))}
              </div>
            </>
          )}
          {picked && (
            <div data-testid="cell-backtest" data-params={JSON.stringify(picked.cell.substrategies)}>
              <h2>Backtest of {picked.cell.substrategies.map((p) => `window ${p.window}, signal ${p.signal}`).join(" · ")}</h2>
              {!picked.metrics && <p>Running…</p>}
              {picked.metrics && (
                <table className="metrics">
                  <thead>
                    <tr>
                      <th>Metric</th>
                      <th>Strategy</th>
                      <th>Buy &amp; hold</th>
                    </tr>
                  </thead>
                  <tbody>
                    {metricRows(picked.metrics.metrics as never, picked.metrics.buy_hold_metrics as never).map((m) => (
                      <tr key={m.key} data-metric={m.key}>
                        <td>{m.label}</td>
                        <td data-value={m.strategy ?? ""}>{m.shown[0]}</td>
                        <td data-value={m.buyHold ?? ""}>{m.shown[1]}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          )}
        </>
      )}

      {tab === "walk" && walk && (
        <>
          <div className="cards" data-testid="walk-forward">
            <div className="card">
              <div>In-sample Sharpe</div>
              <div className="v" data-key="is_sharpe" data-value={walk.is_sharpe ?? ""}>
                {num(walk.is_sharpe)}
              </div>
            </div>
            <div className="card">
              <div>Out-of-sample Sharpe</div>
              <div className="v" data-key="oos_sharpe" data-value={walk.oos_sharpe ?? ""}>
                {num(walk.oos_sharpe)}
              </div>
            </div>
            <div className="card">
              <div>Overfitting ratio</div>
              <div className="v" data-key="overfitting_ratio" data-value={walk.overfitting_ratio ?? ""}>
                {num(walk.overfitting_ratio)}
              </div>
            </div>
            <div className="card">
              <div>Best</div>
              <div className="v">
                w{String(walk.best_window ?? "–")} s{String(walk.best_signal ?? "–")}
              </div>
            </div>
          </div>
          {walkEquity.length > 0 && (
            <Suspense fallback={<p>Loading chart…</p>}>
              <SplitEquityChart equity={walkEquity} splitTime={splitTime} />
            </Suspense>
          )}
        </>
      )}
    </section>
  );
}
