import { useCallback, useEffect, useRef, useState } from "react";
import { api, call, type DashboardRow } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import { deploymentRow, type DeploymentLike } from "../lib/deployments";
import { formatTime, useZone } from "../lib/time";
import ProblemBox from "../components/ProblemBox";
import ConfirmDialog from "../components/ConfirmDialog";
import { Link } from "../components/Link";

const REFRESH_MS = 10_000;
// after "Run now", look again every second for a while: the worker books the trade in about one
const FAST_MS = 1_000;
const FAST_FOR_MS = 20_000;

type Pending = { kind: "one"; id: string; enable: boolean } | { kind: "all"; ids: string[] };

export default function Deployments() {
  const zone = useZone();
  const [items, setItems] = useState<DashboardRow[] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [pending, setPending] = useState<Pending | null>(null);
  const [loadedAt, setLoadedAt] = useState<Date | null>(null);
  const [now, setNow] = useState(() => new Date());
  const [disabling, setDisabling] = useState<string>("");
  const fastUntil = useRef(0);

  const load = useCallback(async () => {
    try {
      // one request: every row with its last signal and trade, trades today and P&L (quant.deployment_dashboard)
      setItems(await call(api.GET("/api/v1/dashboard")));
      setLoadedAt(new Date());
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    }
  }, []);

  useEffect(() => {
    void load();
    let last = Date.now();
    const t = window.setInterval(() => {
      const n = Date.now();
      setNow(new Date(n));
      const every = n < fastUntil.current ? FAST_MS : REFRESH_MS;
      if (n - last >= every) {
        last = n;
        void load();
      }
    }, FAST_MS);
    return () => window.clearInterval(t);
  }, [load]);

  async function apply() {
    if (!pending) return;
    const p = pending;
    setPending(null);
    setProblem(null);
    try {
      if (p.kind === "one") {
        await call(api.PATCH("/api/v1/deployments/{id}", { params: { path: { id: p.id } }, body: { enabled: p.enable } }));
      } else {
        // one request: the server's kill switch for everything (POST /deployments/disable_all)
        setDisabling("disabling…");
        const r = await call(api.POST("/api/v1/deployments/disable_all"));
        setDisabling(`${r.disabled} disabled`);
      }
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    } finally {
      await load();
    }
  }

  async function runNow(id: string) {
    setProblem(null);
    try {
      await call(api.POST("/api/v1/deployments/{id}/run", { params: { path: { id } } }));
      fastUntil.current = Date.now() + FAST_FOR_MS;
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    } finally {
      await load();
    }
  }

  const rows = (items ?? []).map((d) =>
    deploymentRow(d as unknown as DeploymentLike, now, (iso) => formatTime(iso, zone)),
  );
  const enabledIds = rows.filter((r) => r.enabled).map((r) => r.id);
  const stale = loadedAt !== null && now.getTime() - loadedAt.getTime() > 2 * REFRESH_MS + 1000;
  return (
    <section>
      <h1>Deployments</h1>
      <div className="row">
        <p className={`muted ${stale ? "stale" : ""}`} data-testid="refreshed" data-stale={stale}>
          {loadedAt
            ? `${stale ? "STALE: " : ""}updated ${formatTime(loadedAt.toISOString(), zone, true)}, every ${REFRESH_MS / 1000} s`
            : "loading…"}
        </p>
        <button
          type="button"
          className="danger"
          disabled={enabledIds.length === 0}
          onClick={() => setPending({ kind: "all", ids: enabledIds })}
        >
          Disable all ({enabledIds.length})
        </button>
        {disabling && <span data-testid="disabling">{disabling}</span>}
      </div>
      <ProblemBox problem={problem} />
      {items !== null && (
        <table data-testid="deployments" data-rows={rows.length}>
          <thead>
            <tr>
              <th>Enabled</th>
              <th>Mode</th>
              <th>Broker</th>
              <th>Symbol</th>
              <th>Qty</th>
              <th>Last signal</th>
              <th>Last trade</th>
              <th>Trades today</th>
              <th>P&amp;L</th>
              <th>Controls</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr
                key={r.id}
                data-deployment-id={r.id}
                data-enabled={r.enabled}
                data-has-signal={r.hasSignal}
                data-has-trade={r.hasTrade}
              >
                <td>{r.enabled ? "yes" : "no"}</td>
                <td>
                  <span className={`badge ${r.mode.toLowerCase()}`}>{r.mode}</span>
                </td>
                <td>{r.broker}</td>
                <td>
                  <Link to={{ name: "deployment", id: r.id }}>{r.ticker}</Link>
                </td>
                <td>{r.qty}</td>
                <td data-col="signal">{r.lastSignal}</td>
                <td data-col="trade">{r.lastTrade}</td>
                <td data-col="today">{r.tradesToday}</td>
                <td data-col="pnl" data-value={r.pnlValue ?? ""} className={r.pnlValue !== null && r.pnlValue < 0 ? "neg" : undefined}>
                  {r.pnl}
                </td>
                <td className="actions">
                  {r.enabled ? (
                    <button type="button" className="danger" onClick={() => setPending({ kind: "one", id: r.id, enable: false })}>
                      Disable
                    </button>
                  ) : (
                    <button type="button" onClick={() => setPending({ kind: "one", id: r.id, enable: true })}>
                      Enable
                    </button>
                  )}
                  {r.enabled && r.status === "active" && (
                    <button type="button" onClick={() => void runNow(r.id)}>
                      Run now
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td colSpan={10}>No deployments.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {pending && (
        <ConfirmDialog
          title={
            pending.kind === "all"
              ? `Disable all ${pending.ids.length} enabled deployments?`
              : pending.enable
                ? "Enable this deployment?"
                : "Disable this deployment?"
          }
          message={
            pending.kind === "all"
              ? "Kill switch for every one: they stop trading at once (each can be enabled again)."
              : pending.enable
                ? "It will trade again on its schedule."
                : "Kill switch: it stops trading at once (it can be enabled again)."
          }
          confirmLabel={pending.kind === "all" ? "Disable all" : pending.enable ? "Enable" : "Disable"}
          onConfirm={() => void apply()}
          onCancel={() => setPending(null)}
        />
      )}
    </section>
  );
}
