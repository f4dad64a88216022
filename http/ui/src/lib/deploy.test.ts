import { describe, expect, it } from "vitest";
import {
  SEED_RISK_DEFAULTS,
  StepError,
  defaultForm,
  deploymentBody,
  freshProgress,
  livePhrase,
  reviewJson,
  runDeploy,
  type DeployIO,
  type DeployPlan,
} from "./deploy";

describe("deploy form", () => {
  it("starts on paper with the seed's risk limits", () => {
    const f = defaultForm();
    expect(f.paper).toBe(true);
    expect(f.broker).toBe("PAPER");
    expect([f.maxPositionUsd, f.maxDailyTrades, f.stopLossPct].map(Number)).toEqual([
      SEED_RISK_DEFAULTS.max_position_usd,
      SEED_RISK_DEFAULTS.max_daily_trades,
      SEED_RISK_DEFAULTS.stop_loss_pct,
    ]);
    expect(SEED_RISK_DEFAULTS).toEqual({ max_position_usd: 10000, max_daily_trades: 10, stop_loss_pct: 5 });
  });
  it("builds the DeploymentConfig of a paper form", () => {
    const { body, errors } = deploymentBody({ ...defaultForm(), qty: "10", schedule: "manual", barAge: "off" }, "S1", "TTRC");
    expect(errors).toEqual({});
    expect(body).toEqual({
      strategy_id: "S1",
      broker: "PAPER",
      qty: 10,
      paper: true,
      schedule: "manual",
      portfolio: "DEFAULT",
      risk_limits: { max_position_usd: 10000, max_daily_trades: 10, stop_loss_pct: 5, max_bar_age_hours: null },
    });
  });
  it("names the wrong fields and sends nothing", () => {
    const { body, errors } = deploymentBody(
      { ...defaultForm(), qty: "0", maxDailyTrades: "2.5", stopLossPct: "150", barAge: "hours", maxBarAgeHours: "" },
      "S1",
      "TTRC",
    );
    expect(body).toBeNull();
    expect(Object.keys(errors).sort()).toEqual(["maxBarAgeHours", "maxDailyTrades", "qty", "stopLossPct"]);
  });
  it("live needs the typed phrase and the trade password; the stale check stays on", () => {
    const live = { ...defaultForm(), qty: "1", broker: "FUTU", ticker: "US.TTRC", paper: false };
    expect(livePhrase("US.TTRC")).toBe("LIVE US.TTRC");
    const a = deploymentBody({ ...live, barAge: "off" }, "S", "US.TTRC");
    expect(Object.keys(a.errors).sort()).toEqual(["barAge", "confirmText", "tradePassword"]);
    const b = deploymentBody({ ...live, confirmText: "LIVE US.TTRC", tradePassword: "pw" }, "S", "US.TTRC");
    expect(b.errors).toEqual({});
    expect(b.body).toMatchObject({ paper: false, confirm_live: true, trade_password: "pw", ticker: "US.TTRC" });
    // the review shows everything but the password
    expect(reviewJson(b.body)).toContain('"trade_password": "••••••"');
    expect(reviewJson(b.body)).not.toContain('"pw"');
  });
});

// A fake server: counts what is stored; `lose` makes the next call of a kind happen at the
// server but lose its answer; `refuse` answers it with a 4xx.
function fakeServer() {
  const results: { result_id: string; run_at: string }[] = [];
  const deployments: { deployment_id: string; strategy_id: string }[] = [{ deployment_id: "old", strategy_id: "S" }];
  const lose = new Set<string>();
  const refuse = new Map<string, number>();
  const calls: string[] = [];
  const maybe = <T>(kind: string, act: () => T): T => {
    calls.push(kind);
    const st = refuse.get(kind);
    if (st) {
      refuse.delete(kind);
      throw new StepError({ status: st, title: "refused", detail: `${kind} refused`, field: "qty" });
    }
    const v = act();
    if (lose.delete(kind)) throw new StepError({ status: 0, title: "API unreachable", detail: "connection reset" });
    return v;
  };
  const io: DeployIO = {
    postStrategy: async () => maybe("strategy", () => ({ strategy_id: "S" })),
    postResult: async (_id, r) =>
      maybe("result", () => {
        const x = { result_id: `r${results.length}`, run_at: String(r.run_at) };
        results.push(x);
        return x;
      }),
    listResults: async () => results.map((r) => ({ ...r, run_at: new Date(r.run_at).toISOString() })),
    postDeployment: async (b) =>
      maybe("deployment", () => {
        const d = { deployment_id: `d${deployments.length}`, strategy_id: String(b.strategy_id) };
        deployments.push(d);
        return d;
      }),
    listDeployments: async () => deployments.slice(),
  };
  return { io, results, deployments, lose, refuse, calls };
}

const plan: DeployPlan = {
  strategy: { name: "x", ticker: "TTRC" },
  result: { run_at: "2026-12-02T17:00:00.123456+00:00", metrics: {} },
  deployment: { qty: 10 },
};

describe("the three POSTs", () => {
  it("sends each once, in order", async () => {
    const s = fakeServer();
    const seen: string[] = [];
    const p = await runDeploy(plan, freshProgress(), s.io, (x) => seen.push(Object.values(x.steps).map((t) => t.status[0]).join("")));
    expect(Object.values(p.steps).map((t) => t.status)).toEqual(["done", "done", "done"]);
    expect(p.deploymentId).toBe("d1");
    expect(s.calls).toEqual(["strategy", "result", "deployment"]);
    expect(seen[0]).toBe("sww");
    expect(seen.at(-1)).toBe("ddd");
  });
  it("a retry after lost answers adopts what the server did: never a second result or deployment", async () => {
    const s = fakeServer();
    s.lose.add("result");
    s.lose.add("deployment");
    let p = await runDeploy(plan, freshProgress(), s.io);
    expect(p.steps.result).toMatchObject({ status: "failed", httpStatus: 0 });
    expect(p.steps.deployment.status).toBe("waiting");
    p = await runDeploy(plan, p, s.io);
    expect(p.steps.result.status).toBe("done");
    expect(p.steps.deployment).toMatchObject({ status: "failed", httpStatus: 0 });
    p = await runDeploy(plan, p, s.io);
    expect(p.steps.deployment.status).toBe("done");
    expect(s.results).toHaveLength(1);
    expect(s.deployments.map((d) => d.deployment_id)).toEqual(["old", "d1"]);
    expect(p.deploymentId).toBe("d1");
    // POST /strategies once only: a done step is not sent again
    expect(s.calls.filter((c) => c === "strategy")).toHaveLength(1);
  });
  it("a refusal (4xx) stores nothing and is sent again on retry", async () => {
    const s = fakeServer();
    s.refuse.set("deployment", 403);
    let p = await runDeploy(plan, freshProgress(), s.io);
    expect(p.steps.deployment).toMatchObject({ status: "failed", httpStatus: 403 });
    expect(p.steps.deployment.problem?.field).toBe("qty");
    p = await runDeploy(plan, p, s.io);
    expect(p.steps.deployment.status).toBe("done");
    expect(s.deployments).toHaveLength(2);
    expect(s.results).toHaveLength(1);
  });
  it("no backtest result: the middle step is skipped", async () => {
    const s = fakeServer();
    const p = await runDeploy({ ...plan, result: null }, freshProgress(), s.io);
    expect(p.steps.result.status).toBe("skipped");
    expect(p.steps.deployment.status).toBe("done");
  });
});
