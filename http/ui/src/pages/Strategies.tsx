import { useEffect, useState } from "react";
import { api, call, type Strategy } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import ProblemBox from "../components/ProblemBox";
import { Link } from "../components/Link";
import ConfirmDialog from "../components/ConfirmDialog";

export default function Strategies() {
  const [rows, setRows] = useState<Strategy[] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [query, setQuery] = useState("");
  const [deleting, setDeleting] = useState<Strategy | null>(null);
  const [cloned, setCloned] = useState<string>("");

  const load = () =>
    call(api.GET("/api/v1/strategies"))
      .then(setRows)
      .catch((e) => e instanceof ApiError && setProblem(e.problem));
  useEffect(() => {
    void load();
  }, []);

  async function clone(s: Strategy) {
    setProblem(null);
    try {
      const c = await call(api.POST("/api/v1/strategies/{id}/clone", { params: { path: { id: s.strategy_id } }, body: {} }));
      setCloned(c.strategy_id);
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    } finally {
      await load();
    }
  }

  async function remove() {
    const s = deleting;
    setDeleting(null);
    if (!s) return;
    setProblem(null);
    try {
      await call(api.DELETE("/api/v1/strategies/{id}", { params: { path: { id: s.strategy_id } } }));
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    } finally {
      await load();
    }
  }

  const q = query.trim().toLowerCase();
  const shown = (rows ?? []).filter((s) => !q || s.name.toLowerCase().includes(q) || s.ticker.toLowerCase().includes(q));

  return (
    <section>
      <h1>Strategies</h1>
      <ProblemBox problem={problem} />
      <p className="row">
        <Link to={{ name: "editor" }}>New strategy…</Link>
        {cloned && (
          <span data-testid="cloned" data-id={cloned}>
            cloned: <Link to={{ name: "editor", id: cloned }}>edit the copy</Link>
          </span>
        )}
      </p>
      <label className="search">
        Search
        <input type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="name or ticker" />
      </label>
      {rows === null && !problem && <p>Loading…</p>}
      {rows !== null && (
        <table data-testid="strategies" data-rows={shown.length}>
          <thead>
            <tr>
              <th>Name</th>
              <th>Product / ticker</th>
              <th>Substrategies</th>
              <th>Version</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {shown.map((s) => (
              <tr key={s.strategy_id} data-strategy-id={s.strategy_id} className={s.strategy_id === cloned ? "fresh" : undefined}>
                <td>{s.name}</td>
                <td>{s.ticker}</td>
                <td>
                  {s.substrategies.length}: {s.substrategies.map((x) => `${x.indicator}(${x.window})`).join(", ")}
                </td>
                <td>v{s.version}</td>
                <td>
                  <span className="actions">
                    <Link to={{ name: "backtest", id: s.strategy_id }}>Open</Link>
                    <Link to={{ name: "optimise", id: s.strategy_id }}>Optimise</Link>
                    <Link to={{ name: "deploy", id: s.strategy_id }}>Deploy</Link>
                    <Link to={{ name: "editor", id: s.strategy_id }}>Edit</Link>
                    <button type="button" className="link" onClick={() => void clone(s)}>
                      Clone
                    </button>
                    <button type="button" className="link danger-text" onClick={() => setDeleting(s)}>
                      Delete
                    </button>
                  </span>
                </td>
              </tr>
            ))}
            {shown.length === 0 && (
              <tr>
                <td colSpan={5}>No strategies{q ? " match" : " yet (POST /api/v1/strategies)"}.</td>
              </tr>
            )}
          </tbody>
        </table>
      )}
      {deleting && (
        <ConfirmDialog
          title={`Delete ${deleting.name}?`}
          message="A soft delete: it leaves the list, its versions and results are kept. A strategy with running deployments cannot be deleted (stop them first)."
          confirmLabel="Delete"
          onConfirm={() => void remove()}
          onCancel={() => setDeleting(null)}
        />
      )}
    </section>
  );
}
