import { useEffect, useState } from "react";
import { api, call, type Login } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import { formatTime, useZone } from "../lib/time";
import ProblemBox from "../components/ProblemBox";
import ConfirmDialog from "../components/ConfirmDialog";

// People's logins, for an administrator person (GET/POST /api/v1/admin/users...): create,
// reset a password, unlock. Anyone else sees the server's 403 problem.
type Pending = { kind: "reset"; user: string; password: string } | { kind: "unlock"; user: string };

export default function Admin() {
  const zone = useZone();
  const [rows, setRows] = useState<Login[] | null>(null);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [admin, setAdmin] = useState(false);
  const [resetPw, setResetPw] = useState<Record<string, string>>({});
  const [pending, setPending] = useState<Pending | null>(null);
  const [done, setDone] = useState("");

  const load = () =>
    call(api.GET("/api/v1/admin/users"))
      .then((r) => setRows(r))
      .catch((e) => e instanceof ApiError && setProblem(e.problem));
  useEffect(() => {
    void load();
  }, []);

  async function create(ev: React.FormEvent) {
    ev.preventDefault();
    setProblem(null);
    setDone("");
    try {
      const r = await call(api.POST("/api/v1/admin/users", { body: { user_id: user, password, admin } }));
      setDone(`created ${r.user}`);
      setUser("");
      setPassword("");
      setAdmin(false);
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    } finally {
      await load();
    }
  }

  async function apply() {
    const p = pending;
    setPending(null);
    if (!p) return;
    setProblem(null);
    setDone("");
    try {
      if (p.kind === "reset") {
        await call(api.POST("/api/v1/admin/users/reset_password", { body: { user_id: p.user, password: p.password } }));
        setResetPw((m) => ({ ...m, [p.user]: "" }));
        setDone(`password of ${p.user} reset`);
      } else {
        await call(api.POST("/api/v1/admin/users/unlock", { body: { user_id: p.user } }));
        setDone(`${p.user} unlocked`);
      }
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    } finally {
      await load();
    }
  }

  return (
    <section>
      <h1>Logins</h1>
      <ProblemBox problem={problem} />
      {done && (
        <p className="ok" role="status" data-testid="admin-done">
          {done}
        </p>
      )}
      {rows !== null && (
        <>
          <form className="card" onSubmit={(e) => void create(e)} aria-label="new login">
            <h2>New login</h2>
            <label>
              User name
              <input value={user} onChange={(e) => setUser(e.target.value)} autoComplete="off" />
            </label>
            <label>
              Initial password
              <input type="password" value={password} onChange={(e) => setPassword(e.target.value)} autoComplete="new-password" />
            </label>
            <label className="inline">
              <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} /> administrator
            </label>
            <button type="submit">Create login</button>
          </form>
          <table data-testid="logins" data-rows={rows.length}>
            <thead>
              <tr>
                <th>User</th>
                <th>Admin</th>
                <th>Failures</th>
                <th>Locked until</th>
                <th>Password set</th>
                <th>New password</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.user} data-user={r.user} data-locked={r.locked_until ? "true" : "false"} data-failures={r.failures}>
                  <td>{r.user}</td>
                  <td>{r.admin ? "yes" : "no"}</td>
                  <td>{r.failures}</td>
                  <td className={r.locked_until ? "neg" : undefined}>{r.locked_until ? formatTime(r.locked_until, zone) : "–"}</td>
                  <td>{formatTime(r.password_set_at, zone)}</td>
                  <td>
                    <input
                      type="password"
                      aria-label={`new password of ${r.user}`}
                      value={resetPw[r.user] ?? ""}
                      onChange={(e) => setResetPw((m) => ({ ...m, [r.user]: e.target.value }))}
                      autoComplete="new-password"
                    />
                  </td>
                  <td className="actions">
                    <button type="button" onClick={() => setPending({ kind: "reset", user: r.user, password: resetPw[r.user] ?? "" })}>
                      Reset password
                    </button>
                    {r.locked_until && (
                      <button type="button" onClick={() => setPending({ kind: "unlock", user: r.user })}>
                        Unlock
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
      {pending && (
        <ConfirmDialog
          title={pending.kind === "reset" ? `Reset the password of ${pending.user}?` : `Unlock ${pending.user}?`}
          message={
            pending.kind === "reset"
              ? "Their open sessions end at once; they log in with the new password."
              : "Their failed attempts stop counting; the password stays."
          }
          confirmLabel={pending.kind === "reset" ? "Reset password" : "Unlock"}
          onConfirm={() => void apply()}
          onCancel={() => setPending(null)}
        />
      )}
    </section>
  );
}
