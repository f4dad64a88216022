// The deploy wizard's logic (seed §3, the one-click deploy): the form's defaults (seed §4's risk
// limits, paper first), the exact JSON of the three POSTs, the live confirmation, and the
// runner that sends them in order and, on a retry, never sends again what already happened.
//
// A step whose request failed with a definite refusal (a 4xx: nothing was stored, the SQL API
// stores nothing on error) is sent again as it is. A step whose request got no answer (network,
// 5xx) may have happened at the server: before sending it again the runner looks (the results
// of the strategy for one with this run_at; the deployments for one that was not there before
// the first attempt) and adopts what it finds.

// seed §4 "Risk & Safety": the defaults of the three named limits
export const SEED_RISK_DEFAULTS = { max_position_usd: 10000, max_daily_trades: 10, stop_loss_pct: 5 } as const;

export const BROKERS = ["PAPER", "BYBIT", "FUTU"] as const;
export const SCHEDULES = ["daily_close", "hourly", "manual"] as const;

export interface DeployForm {
  broker: string;
  ticker: string; // the broker's symbol; "" lets the server take refdata.ticker_mapping's
  qty: string;
  schedule: string;
  portfolio: string;
  maxPositionUsd: string;
  maxDailyTrades: string;
  stopLossPct: string;
  // the stale-bar check: "default" (per schedule), "off" (paper only), or hours
  barAge: "default" | "off" | "hours";
  maxBarAgeHours: string;
  paper: boolean;
  confirmText: string;
  tradePassword: string;
}

export function defaultForm(): DeployForm {
  return {
    broker: "PAPER",
    ticker: "",
    qty: "",
    schedule: "daily_close",
    portfolio: "DEFAULT",
    maxPositionUsd: String(SEED_RISK_DEFAULTS.max_position_usd),
    maxDailyTrades: String(SEED_RISK_DEFAULTS.max_daily_trades),
    stopLossPct: String(SEED_RISK_DEFAULTS.stop_loss_pct),
    barAge: "default",
    maxBarAgeHours: "",
    paper: true,
    confirmText: "",
    tradePassword: "",
  };
}

// What the user types to switch on live trading (seed §4.1 "explicit user confirmation").
export function livePhrase(ticker: string): string {
  return `LIVE ${ticker}`.trim();
}

export type FieldErrors = Partial<Record<keyof DeployForm, string>>;

const positive = (s: string) => s.trim() !== "" && Number.isFinite(Number(s)) && Number(s) > 0;
const wholePositive = (s: string) => positive(s) && Number.isInteger(Number(s));

// The DeploymentConfig (seed §1.2) of a form, or the fields that are wrong. The server checks
// everything again; this only catches what a form can (empty, not a number, the live phrase).
export function deploymentBody(
  f: DeployForm,
  strategyId: string,
  displayTicker: string,
): { body: Record<string, unknown> | null; errors: FieldErrors } {
  const errors: FieldErrors = {};
  if (!positive(f.qty)) errors.qty = "a number > 0";
  if (!positive(f.maxPositionUsd)) errors.maxPositionUsd = "a number > 0 (USD)";
  if (!wholePositive(f.maxDailyTrades)) errors.maxDailyTrades = "a whole number >= 1";
  if (!positive(f.stopLossPct) || Number(f.stopLossPct) > 100) errors.stopLossPct = "a percentage in (0, 100]";
  if (f.barAge === "hours" && !positive(f.maxBarAgeHours)) errors.maxBarAgeHours = "hours > 0";
  if (f.barAge === "off" && !f.paper) errors.barAge = "the stale-bar check can be off on paper only";
  if (!f.paper) {
    const want = livePhrase(f.ticker || displayTicker);
    if (f.confirmText.trim() !== want) errors.confirmText = `type ${want} to confirm live trading`;
    if (f.tradePassword === "") errors.tradePassword = "live trading needs your trade password";
  }
  if (Object.keys(errors).length > 0) return { body: null, errors };
  const risk: Record<string, unknown> = {
    max_position_usd: Number(f.maxPositionUsd),
    max_daily_trades: Number(f.maxDailyTrades),
    stop_loss_pct: Number(f.stopLossPct),
  };
  if (f.barAge === "off") risk.max_bar_age_hours = null;
  if (f.barAge === "hours") risk.max_bar_age_hours = Number(f.maxBarAgeHours);
  const body: Record<string, unknown> = {
    strategy_id: strategyId,
    broker: f.broker,
    ...(f.ticker.trim() ? { ticker: f.ticker.trim() } : {}),
    qty: Number(f.qty),
    paper: f.paper,
    schedule: f.schedule,
    portfolio: f.portfolio.trim() || "DEFAULT",
    risk_limits: risk,
  };
  if (!f.paper) {
    body.confirm_live = true;
    body.trade_password = f.tradePassword;
  }
  return { body, errors };
}

// The JSON as the review step shows it: exact, except the trade password, which is masked.
export function reviewJson(body: unknown): string {
  return JSON.stringify(body, (k, v) => (k === "trade_password" && typeof v === "string" ? "••••••" : v), 2);
}

// ---- the three POSTs ----

export type StepName = "strategy" | "result" | "deployment";
export const STEPS: { name: StepName; label: string }[] = [
  { name: "strategy", label: "POST /api/v1/strategies" },
  { name: "result", label: "POST /api/v1/strategies/{id}/results" },
  { name: "deployment", label: "POST /api/v1/deployments" },
];

export interface StepProblem {
  status: number;
  title: string;
  detail: string;
  field?: string;
  hint?: string;
}

export interface StepState {
  status: "waiting" | "sending" | "done" | "failed" | "skipped";
  httpStatus?: number; // the answer's status; 0: none came
  problem?: StepProblem;
  note?: string; // e.g. "found the one stored by the attempt that got no answer"
}

export interface DeployProgress {
  steps: Record<StepName, StepState>;
  strategyId?: string;
  resultId?: string;
  deploymentId?: string;
  // the deployments that existed before the first POST /deployments (to recognise ours)
  before?: string[];
  // a request that got no answer, per step: it may have happened
  unanswered: Partial<Record<StepName, boolean>>;
}

export function freshProgress(): DeployProgress {
  return {
    steps: { strategy: { status: "waiting" }, result: { status: "waiting" }, deployment: { status: "waiting" } },
    unanswered: {},
  };
}

export interface DeployPlan {
  strategy: Record<string, unknown>; // a StrategyConfig (with strategy_id when it is a stored one)
  result: Record<string, unknown> | null; // a BacktestResults with its run_at, or null
  deployment: Record<string, unknown>; // a DeploymentConfig without strategy_id (filled from step 1)
}

// The calls the runner makes (the page passes the API client's; the tests fakes).
export interface DeployIO {
  postStrategy(cfg: Record<string, unknown>): Promise<{ strategy_id: string }>;
  postResult(strategyId: string, result: Record<string, unknown>): Promise<{ result_id?: string }>;
  listResults(strategyId: string): Promise<{ result_id?: string; run_at?: string }[]>;
  postDeployment(body: Record<string, unknown>): Promise<{ deployment_id: string }>;
  listDeployments(): Promise<{ deployment_id: string; strategy_id: string }[]>;
}

// What an IO call throws: the status (0 = no answer) and the problem+json.
export class StepError extends Error {
  constructor(readonly problem: StepProblem) {
    super(problem.detail);
  }
}

const noAnswer = (p: StepProblem) => p.status === 0 || p.status >= 500;

function asProblem(e: unknown): StepProblem {
  if (e instanceof StepError) return e.problem;
  const o = e as { problem?: StepProblem } | null;
  if (o && typeof o === "object" && o.problem && typeof o.problem.status === "number") return o.problem;
  return { status: 0, title: "error", detail: e instanceof Error ? e.message : String(e) };
}

const sameTime = (a: unknown, b: unknown) =>
  typeof a === "string" && typeof b === "string" && Date.parse(a) === Date.parse(b) && !Number.isNaN(Date.parse(a));

// Sends what is not done yet, in order, stopping at the first failure. `onChange` sees every
// state (the page renders it). Returns the final progress; call it again to retry.
export async function runDeploy(
  plan: DeployPlan,
  start: DeployProgress,
  io: DeployIO,
  onChange: (p: DeployProgress) => void = () => {},
): Promise<DeployProgress> {
  let p: DeployProgress = { ...start, steps: { ...start.steps }, unanswered: { ...start.unanswered } };
  const set = (name: StepName, s: StepState, extra: Partial<DeployProgress> = {}) => {
    p = { ...p, ...extra, steps: { ...p.steps, [name]: s } };
    onChange(p);
  };
  const fail = (name: StepName, e: unknown) => {
    const problem = asProblem(e);
    set(name, { status: "failed", httpStatus: problem.status, problem }, {
      unanswered: { ...p.unanswered, [name]: noAnswer(problem) },
    });
  };

  // 1. POST /strategies: the server's own duplicate guard (the same parameters, or the config's
  //    strategy_id) makes it safe to send again
  if (p.steps.strategy.status !== "done") {
    set("strategy", { status: "sending" });
    try {
      const s = await io.postStrategy(plan.strategy);
      set("strategy", { status: "done", httpStatus: 201 }, { strategyId: s.strategy_id });
    } catch (e) {
      fail("strategy", e);
      return p;
    }
  }
  const sid = p.strategyId as string;

  // 2. POST /strategies/{id}/results
  if (p.steps.result.status !== "done" && p.steps.result.status !== "skipped") {
    if (!plan.result) {
      set("result", { status: "skipped", note: "no backtest result to store" });
    } else {
      set("result", { status: "sending" });
      try {
        let found: string | undefined;
        if (p.unanswered.result) {
          const stored = await io.listResults(sid);
          const mine = stored.find((r) => sameTime(r.run_at, plan.result?.run_at));
          if (mine) found = mine.result_id ?? "";
        }
        if (found !== undefined) {
          set("result", { status: "done", httpStatus: 200, note: "already stored by the unanswered attempt" }, {
            resultId: found,
            unanswered: { ...p.unanswered, result: false },
          });
        } else {
          const r = await io.postResult(sid, plan.result);
          set("result", { status: "done", httpStatus: 201 }, { resultId: r.result_id, unanswered: { ...p.unanswered, result: false } });
        }
      } catch (e) {
        fail("result", e);
        return p;
      }
    }
  }

  // 3. POST /deployments
  if (p.steps.deployment.status !== "done") {
    set("deployment", { status: "sending" });
    try {
      let before = p.before;
      if (before === undefined) {
        before = (await io.listDeployments()).map((d) => d.deployment_id);
        p = { ...p, before };
      }
      let found: string | undefined;
      if (p.unanswered.deployment) {
        const known = new Set(before);
        const now = await io.listDeployments();
        found = now.find((d) => d.strategy_id === sid && !known.has(d.deployment_id))?.deployment_id;
      }
      if (found) {
        set("deployment", { status: "done", httpStatus: 200, note: "already deployed by the unanswered attempt" }, {
          deploymentId: found,
          unanswered: { ...p.unanswered, deployment: false },
        });
      } else {
        const d = await io.postDeployment({ ...plan.deployment, strategy_id: sid });
        set("deployment", { status: "done", httpStatus: 201 }, {
          deploymentId: d.deployment_id,
          unanswered: { ...p.unanswered, deployment: false },
        });
      }
    } catch (e) {
      fail("deployment", e);
      return p;
    }
  }
  return p;
}
