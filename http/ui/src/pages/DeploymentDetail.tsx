// One deployment: its config (qty and limits editable), position and P&L, signals and fills
// over price, the signal and trade logs (virtualised; REJECTED rows and their reasons
// highlighted), the audit trail, CSV of each log.
import { lazy, Suspense, useCallback, useEffect, useMemo, useState, type FormEvent } from "react";
import { api, call, type Deployment, type SeriesRow } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import { formatTime, useZone } from "../lib/time";
import { num } from "../lib/format";
import { toPoints } from "../lib/series";
import { snapMarkers, type MarkerEvent } from "../lib/markers";
import { columnsOf, download, toCsv } from "../lib/csv";
import { positionPnl } from "../lib/pnl";
import { liveVsBacktest } from "../lib/live";
import ProblemBox from "../components/ProblemBox";
import VirtualTable from "../components/VirtualTable";
import { Link } from "../components/Link";

const PriceChart = lazy(() => import("../components/PriceChart"));

type Row = Record<string, unknown>;
const SIG: Record<string, string> = { "1": "LONG", "0": "FLAT", "-1": "SHORT" };
const str = (v: unknown) => (v === null || v === undefined ? "" : String(v));

export default function DeploymentDetail({ id }: { id: string }) {
  const zone = useZone();
  const [dep, setDep] = useState<Deployment | null>(null);
  const [signals, setSignals] = useState<Row[]>([]);
  const [trades, setTrades] = useState<Row[]>([]);
  const [audit, setAudit] = useState<Row[]>([]);
  const [position, setPosition] = useState<Row | null>(null);
  const [series, setSeries] = useState<SeriesRow[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState("");
  const [edit, setEdit] = useState({ qty: "", maxPositionUsd: "", maxDailyTrades: "", stopLossPct: "" });

  const load = useCallback(async () => {
    const path = { params: { path: { id } } };
    try {
      const [d, s, t, a, p] = await Promise.all([
        call(api.GET("/api/v1/deployments/{id}", path)),
        call(api.GET("/api/v1/deployments/{id}/signals", path)),
        call(api.GET("/api/v1/deployments/{id}/trades", path)),
        call(api.GET("/api/v1/deployments/{id}/audit", path)),
        call(api.GET("/api/v1/deployments/{id}/position", path)),
      ]);
      setDep(d);
      setSignals(s as unknown as Row[]);
      setTrades(t as unknown as Row[]);
      setAudit(a as unknown as Row[]);
      setPosition(p as unknown as Row);
      const rl = (d.risk_limits ?? {}) as Record<string, unknown>;
      setEdit({
        qty: str(d.qty),
        maxPositionUsd: str(rl.max_position_usd),
        maxDailyTrades: str(rl.max_daily_trades),
        stopLossPct: str(rl.stop_loss_pct),
      });
      return d;
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
      return null;
    }
  }, [id]);

  useEffect(() => {
    (async () => {
      const d = await load();
      if (!d) return;
      try {
        // the price of the pinned version's bars, from its backtest series
        const versions = await call(api.GET("/api/v1/strategies/{id}/versions", { params: { path: { id: d.strategy_id } } }));
        const v = versions.find((x) => x.version === d.strategy_version) ?? versions[versions.length - 1];
        if (!v) return;
        const { strategy_id: _s, version: _v, created_at: _c, params_hash: _h, ...config } = v as Record<string, unknown>;
        void _s, void _v, void _c, void _h;
        setSeries(await call(api.POST("/api/v1/backtest_series", { body: { config: config as never } })));
      } catch (e) {
        if (e instanceof ApiError) setProblem(e.problem);
      }
    })();
  }, [load]);

  async function save(e: FormEvent) {
    e.preventDefault();
    setProblem(null);
    setSaved("");
    try {
      await call(
        api.PATCH("/api/v1/deployments/{id}", {
          params: { path: { id } },
          body: {
            qty: Number(edit.qty),
            risk_limits: {
              max_position_usd: Number(edit.maxPositionUsd),
              max_daily_trades: Number(edit.maxDailyTrades),
              stop_loss_pct: Number(edit.stopLossPct),
            },
          },
        }),
      );
      setSaved("saved");
      await load();
    } catch (err) {
      if (err instanceof ApiError) setProblem(err.problem);
    }
  }

  const price = useMemo(() => toPoints(series, (r) => r.price), [series]);
  const markers = useMemo(() => {
    const ev: MarkerEvent[] = [];
    for (const s of signals) {
      const k = str(s.signal);
      ev.push({ ts: str(s.bar_ts), kind: k === "1" ? "long" : k === "-1" ? "short" : "flat", text: SIG[k] ?? k });
    }
    for (const t of trades) {
      const a = str(t.action);
      if (a === "BUY" || a === "SELL") ev.push({ ts: str(t.bar_ts ?? t.timestamp), kind: a === "BUY" ? "buy" : "sell", text: `${a} ${str(t.qty)}` });
    }
    return snapMarkers(price, ev);
  }, [signals, trades, price]);
  const lastPrice = price.length ? price[price.length - 1].value : null;
  const pnl = positionPnl(position, lastPrice);
  const rejected = trades.filter((t) => t.action === "REJECTED").length;
  const vs = useMemo(() => liveVsBacktest(signals, trades, series), [signals, trades, series]);

  const csv = (name: string, rows: Row[]) => download(`${name}-${id}.csv`, toCsv(rows, columnsOf(rows)));
  const rl = (dep?.risk_limits ?? {}) as Record<string, unknown>;

  return (
    <section>
      <h1>
        Deployment {dep ? `· ${dep.ticker}` : ""}{" "}
        {dep && <span className={`badge ${dep.paper ? "paper" : "live"}`}>{dep.paper ? "PAPER" : "LIVE"}</span>}
      </h1>
      <ProblemBox problem={problem} />
      {dep && (
        <>
          <p className="muted">
            {dep.broker} · {dep.status} · schedule {dep.schedule} · strategy{" "}
            <Link to={{ name: "backtest", id: dep.strategy_id }}>v{dep.strategy_version}</Link> · portfolio {dep.portfolio}
          </p>
          <div className="cards" data-testid="position">
            <div className="card">
              <div>Position</div>
              <div className="v" data-testid="position-qty" data-value={str(position?.qty)}>
                {str(position?.qty)} {str(position?.symbol)}
              </div>
            </div>
            <div className="card">
              <div>Avg price</div>
              <div className="v">{num(position?.avg_price as number | null)}</div>
            </div>
            <div className="card">
              <div>Realised P&amp;L</div>
              <div className="v" data-testid="realized-pnl" data-value={str(position?.realized_pnl)}>
                {num(pnl.realized)}
              </div>
            </div>
            <div className="card">
              <div>Unrealised P&amp;L (last bar {num(lastPrice)})</div>
              <div className="v" data-testid="unrealized-pnl">{num(pnl.unrealized)}</div>
            </div>
          </div>

          <form className="row" onSubmit={save} aria-label="deployment config">
            <label>
              Qty
              <input value={edit.qty} inputMode="decimal" onChange={(e) => setEdit({ ...edit, qty: e.target.value })} />
            </label>
            <label>
              Max position (USD)
              <input value={edit.maxPositionUsd} onChange={(e) => setEdit({ ...edit, maxPositionUsd: e.target.value })} />
            </label>
            <label>
              Max trades per day
              <input value={edit.maxDailyTrades} onChange={(e) => setEdit({ ...edit, maxDailyTrades: e.target.value })} />
            </label>
            <label>
              Stop loss (%)
              <input value={edit.stopLossPct} onChange={(e) => setEdit({ ...edit, stopLossPct: e.target.value })} />
            </label>
            <button type="submit">Save</button>
            {saved && <span data-testid="saved">{saved}</span>}
          </form>
          <p className="muted">
            Other limits: orders/minute {str(rl.max_orders_per_minute) || "default"}, rejects in a row before a pause{" "}
            {str(rl.max_consecutive_rejects) || "default"}, max bar age{" "}
            {"max_bar_age_hours" in rl ? (rl.max_bar_age_hours === null ? "off" : `${str(rl.max_bar_age_hours)} h`) : "default"}.
          </p>

          <h2>Signals and fills over price</h2>
          <Suspense fallback={<p>Loading chart…</p>}>
            {price.length > 0 ? <PriceChart price={price} markers={markers} testId="deployment-chart" /> : <p>Loading prices…</p>}
          </Suspense>

          <h2>Live against the backtest of the same bars</h2>
          {series.length === 0 ? (
            <p>Loading the backtest…</p>
          ) : (
            <div
              data-testid="live-vs-backtest"
              data-compared={vs.compared}
              data-matched={vs.matched}
              data-mismatched={vs.mismatched}
              data-missing={vs.missing}
              data-fills={vs.fills.length}
            >
              <p>
                {vs.compared === 0
                  ? "No live signal on a bar of the backtest yet."
                  : `${vs.matched} of ${vs.compared} live signals equal the backtest's position on their bar (pinned version ${dep?.strategy_version ?? "?"})`}
                {vs.missing ? `; ${vs.missing} on bars the backtest does not have` : ""}.
              </p>
              {vs.rows.length > 0 && (
                <table>
                  <thead>
                    <tr>
                      <th>Bar</th>
                      <th>Live signal</th>
                      <th>Backtest position</th>
                      <th>Same</th>
                    </tr>
                  </thead>
                  <tbody>
                    {vs.rows.slice(-50).map((r) => (
                      <tr key={r.barTs} data-bar={r.barTs} data-live={r.live ?? ""} data-backtest={r.backtest ?? ""} className={r.match === false ? "rejected" : undefined}>
                        <td>{formatTime(r.barTs, zone)}</td>
                        <td>{r.live === null ? "–" : (SIG[String(r.live)] ?? r.live)}</td>
                        <td>{r.backtest === null ? "–" : (SIG[String(r.backtest)] ?? r.backtest)}</td>
                        <td>{r.match === null ? "–" : r.match ? "yes" : <strong>no</strong>}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
              {vs.fills.length > 0 && (
                <table data-testid="fills-vs-backtest">
                  <thead>
                    <tr>
                      <th>Fill</th>
                      <th>Action</th>
                      <th>Fill price</th>
                      <th>Backtest close</th>
                      <th>Difference</th>
                    </tr>
                  </thead>
                  <tbody>
                    {vs.fills.slice(-50).map((f, i) => (
                      <tr key={i} data-slippage={f.slippage ?? ""}>
                        <td>{formatTime(f.ts, zone, true)}</td>
                        <td>{f.action}</td>
                        <td>{num(f.price, 4)}</td>
                        <td>{num(f.backtestPrice, 4)}</td>
                        <td>{num(f.slippage, 4)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              )}
            </div>
          )}

          <h2>
            Trades ({trades.length}
            {rejected ? `, ${rejected} rejected` : ""}){" "}
            <button type="button" onClick={() => csv("trades", trades)}>
              CSV
            </button>
          </h2>
          <VirtualTable
            testId="trades-log"
            label="trades log"
            rows={trades}
            rowKey={(t) => str(t.log_id)}
            rowClass={(t) => (t.action === "REJECTED" ? "rejected" : "")}
            header={["Time", "Action", "Qty", "Price", "OK", "Reason", "Message", "Bar"]}
            cells={(t) => [
              formatTime(str(t.timestamp), zone, true),
              t.action === "REJECTED" ? <strong>REJECTED</strong> : str(t.action),
              str(t.qty),
              str(t.price),
              t.success ? "yes" : "no",
              <span data-col="reason">{str(t.reason)}</span>,
              str(t.message),
              formatTime(str(t.bar_ts), zone),
            ]}
          />

          <h2>
            Signals ({signals.length}){" "}
            <button type="button" onClick={() => csv("signals", signals)}>
              CSV
            </button>
          </h2>
          <VirtualTable
            testId="signals-log"
            label="signals log"
            rows={signals}
            rowKey={(s) => str(s.signal_id)}
            rowClass={(s) => (s.status === "REJECTED" ? "rejected" : "")}
            header={["Bar", "Signal", "Status", "Version", "Created", "Processed"]}
            cells={(s) => [
              formatTime(str(s.bar_ts), zone),
              SIG[str(s.signal)] ?? str(s.signal),
              str(s.status),
              str(s.strategy_version),
              formatTime(str(s.created_at), zone, true),
              formatTime(str(s.processed_at), zone, true),
            ]}
          />

          <h2>
            Audit trail ({audit.length}){" "}
            <button type="button" onClick={() => csv("audit", audit)}>
              CSV
            </button>
          </h2>
          <VirtualTable
            testId="audit-log"
            label="audit trail"
            rows={audit}
            height={240}
            rowKey={(a) => str(a.audit_id)}
            header={["When", "Who", "Action", "Message"]}
            cells={(a) => [formatTime(str(a.at), zone, true), str(a.user), str(a.action), str(a.message)]}
          />
        </>
      )}
    </section>
  );
}
