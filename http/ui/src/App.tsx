import { lazy, Suspense, useEffect, useState } from "react";
import { api, call, onReachability, onUnauthenticated } from "./api/client";
import type { Problem } from "./lib/problem";
import { pageOf, type Page } from "./lib/router";
import { Link } from "./components/Link";
import Login from "./pages/Login";
import Strategies from "./pages/Strategies";
import Backtest from "./pages/Backtest";
import Deployments from "./pages/Deployments";
import Deploy from "./pages/Deploy";
import DeploymentDetail from "./pages/DeploymentDetail";
import Optimise from "./pages/Optimise";
import Admin from "./pages/Admin";
import Editor from "./pages/Editor";
import { setZone, useZone } from "./lib/time";

const BenchChart = lazy(() => import("./pages/BenchChart"));

type Who = { state: "loading" } | { state: "anonymous" } | { state: "user"; user: string };

export default function App() {
  const [who, setWho] = useState<Who>({ state: "loading" });
  const [page, setPage] = useState<Page>(() => pageOf(window.location.pathname));
  const [down, setDown] = useState<Problem | null>(null);
  const zone = useZone();
  // always visible: whether anything trades live (enabled, not paper), refreshed on each page
  const [live, setLive] = useState<number | null>(null);
  // the Admin page's link, for an administrator of logins only (GET /admin/me)
  const [isAdmin, setIsAdmin] = useState(false);

  useEffect(() => onReachability(setDown), []);
  useEffect(() => onUnauthenticated(() => setWho({ state: "anonymous" })), []);
  useEffect(() => {
    const onPop = () => setPage(pageOf(window.location.pathname));
    window.addEventListener("popstate", onPop);
    return () => window.removeEventListener("popstate", onPop);
  }, []);
  useEffect(() => {
    call(api.GET("/api/v1/session"))
      .then((w) => setWho({ state: "user", user: w.user }))
      .catch(() => setWho({ state: "anonymous" }));
  }, []);

  useEffect(() => {
    if (who.state !== "user") return;
    call(api.GET("/api/v1/admin/me"))
      .then((m) => setIsAdmin(m.admin))
      .catch(() => setIsAdmin(false));
  }, [who]);

  useEffect(() => {
    if (who.state !== "user") return;
    const look = () =>
      call(api.GET("/api/v1/deployments"))
        .then((ds) => setLive(ds.filter((d) => !d.paper && d.enabled !== false && d.status === "active").length))
        .catch(() => setLive(null));
    void look();
    const t = window.setInterval(look, 15_000);
    return () => window.clearInterval(t);
  }, [who.state, page]);

  async function logout() {
    try {
      await call(api.DELETE("/api/v1/session"));
    } finally {
      setWho({ state: "anonymous" });
    }
  }

  const banner = down && (
    <div className="banner" role="alert" data-testid="unreachable">
      API unreachable: {down.detail}. Retrying on the next request.
    </div>
  );

  if (who.state === "loading") return <>{banner}</>;
  if (who.state === "anonymous")
    return (
      <>
        {banner}
        <Login onLogin={(user) => setWho({ state: "user", user })} />
      </>
    );
  return (
    <>
      {banner}
      <header className="top">
        <nav aria-label="pages">
          <strong>quant</strong>
          <Link to={{ name: "strategies" }}>Strategies</Link>
          <Link to={{ name: "deployments" }}>Deployments</Link>
          {isAdmin && <Link to={{ name: "admin" }}>Admin</Link>}
        </nav>
        <div className="who">
          {live !== null && (
            <span className={`badge ${live > 0 ? "live" : "paper"}`} data-testid="mode-badge" data-live={live}>
              {live > 0 ? `LIVE ×${live}` : "PAPER only"}
            </span>
          )}
          <label className="inline zone">
            Times
            <select aria-label="time zone" data-testid="zone" value={zone} onChange={(e) => setZone(e.target.value === "local" ? "local" : "UTC")}>
              <option value="UTC">UTC</option>
              <option value="local">local</option>
            </select>
          </label>
          logged in as <span data-testid="user">{who.user}</span>
          <button type="button" onClick={() => void logout()}>
            Log out
          </button>
        </div>
      </header>
      <main>
        {page.name === "strategies" && <Strategies />}
        {page.name === "backtest" && <Backtest id={page.id} />}
        {page.name === "deployments" && <Deployments />}
        {page.name === "deploy" && <Deploy id={page.id} />}
        {page.name === "deployment" && <DeploymentDetail id={page.id} />}
        {page.name === "optimise" && <Optimise id={page.id} />}
        {page.name === "admin" && <Admin />}
        {page.name === "bench" && (
          <Suspense fallback={<p>Loading…</p>}>
            <BenchChart />
          </Suspense>
        )}
        {page.name === "editor" && <Editor key={page.id ?? "new"} id={page.id} />}
        {page.name === "not-found" && <p>No page at {page.path}.</p>}
      </main>
    </>
  );
}
