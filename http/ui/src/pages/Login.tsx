import { useState, type FormEvent } from "react";
import { api, call } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import ProblemBox from "../components/ProblemBox";

export default function Login({ onLogin }: { onLogin: (user: string) => void }) {
  const [user, setUser] = useState("");
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<Problem | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setProblem(null);
    try {
      const s = await call(api.POST("/api/v1/session", { body: { user, password } }));
      onLogin(s.user);
    } catch (err) {
      if (err instanceof ApiError) setProblem(err.problem);
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login">
      <h1>quant</h1>
      <form onSubmit={submit} aria-label="log in">
        <label>
          User name
          <input name="user" autoComplete="username" value={user} onChange={(e) => setUser(e.target.value)} required />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            required
          />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? "Logging in…" : "Log in"}
        </button>
      </form>
      <ProblemBox problem={problem} />
    </main>
  );
}
