import { useCallback, useEffect, useState } from "react";
import { api, call, type Deployment } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import { deploymentRow, type DeploymentLike } from "../lib/deployments";
import ProblemBox from "../components/ProblemBox";
import ConfirmDialog from "../components/ConfirmDialog";

const REFRESH_MS = 10_000;

export default function Deployments() {
  const [items, setItems] = useState<Deployment[] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [pending, setPending] = useState<{ id: string; enable: boolean } | null>(null);
  const [loadedAt, setLoadedAt] = useState<Date | null>(null);

  const load = useCallback(async () => {
    try {
      const list = await call(api.GET("/api/v1/deployments"));
      // each row's last signal and trades come with the deployment's own GET
      const full = await Promise.all(
        list.map((d) => call(api.GET("/api/v1/deployments/{id}", { params: { path: { id: d.deployment_id } } }))),
      );
      setItems(full);
      setLoadedAt(new Date());
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    }
  }, []);

  useEffect(() => {
    void load();
    const t = window.setInterval(() => void load(), REFRESH_MS);
    return () => window.clearInterval(t);
  }, [load]);

  async function apply() {
    if (!pending) return;
    const { id, enable } = pending;
    setPending(null);
    setProblem(null);
    try {
      await call(api.PATCH("/api/v1/deployments/{id}", { params: { path: { id } }, body: { enabled: enable } }));
      await load();
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    }
  }

  const rows = (items ?? []).map((d) => deploymentRow(d as unknown as DeploymentLike));
  return (
    <section>
      <h1>Deployments</h1>
      <p className="muted" data-testid="refreshed">
        {loadedAt ? `updated ${loadedAt.toISOString().slice(11, 19)} UTC, every ${REFRESH_MS / 1000} s` : "loading…"}
      </p>
      <ProblemBox problem={problem} />
      {items !== null && (
        <table data-testid="deployments" data-rows={rows.length}>
          <thead>
            <tr>
              <th>Enabled</th>
              <th>Mode</th>
              <th>Broker</th>
              <th>Ticker</th>
              <th>Qty</th>
              <th>Last signal</th>
              <th>Last trade</th>
              <th>Kill switch</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.id} data-deployment-id={r.id} data-enabled={r.enabled}>
                <td>{r.enabled ? "yes" : "no"}</td>
                <td>
                  <span className={`badge ${r.mode.toLowerCase()}`}>{r.mode}</span>
                </td>
                <td>{r.broker}</td>
                <td>{r.ticker}</td>
                <td>{r.qty}</td>
                <td>{r.lastSignal}</td>
                <td>{r.lastTrade}</td>
                <td>
                  {r.enabled ? (
                    <button type="button" className="danger" onClick={() => setPending({ id: r.id, enable: false })}>
                      Disable
                    </button>
                  ) : (
                    <button type="button" onClick={() => setPending({ id: r.id, enable: true })}>
                      Enable
                    </button>
                  )}
                </td>
              </tr>
            ))}
            {rows.length === 0 && (
              <tr>
                <td colSpan={8}>No deployments.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {pending && (
        <ConfirmDialog
          title={pending.enable ? "Enable this deployment?" : "Disable this deployment?"}
          message={
            pending.enable
              ? "It will trade again on its schedule."
              : "Kill switch: it stops trading at once (it can be enabled again)."
          }
          confirmLabel={pending.enable ? "Enable" : "Disable"}
          onConfirm={() => void apply()}
          onCancel={() => setPending(null)}
        />
      )}
    </section>
  );
}
