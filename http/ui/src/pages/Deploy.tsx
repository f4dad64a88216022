// The deploy wizard (seed §3): strategy → target → risk limits → paper/live → review, then the
// three POSTs with the status of each; Retry sends only what has not happened (lib/deploy.ts).
import { useEffect, useMemo, useState } from "react";
import { api, call, type Strategy } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import { strategyConfig } from "../lib/strategy";
import {
  BROKERS,
  SCHEDULES,
  STEPS,
  defaultForm,
  deploymentBody,
  freshProgress,
  livePhrase,
  reviewJson,
  runDeploy,
  type DeployForm,
  type DeployIO,
  type DeployProgress,
} from "../lib/deploy";
import { takeBacktest } from "../lib/handoff";
import ProblemBox from "../components/ProblemBox";
import { Link } from "../components/Link";

type Mapping = { data_ticker: string; broker: string; broker_ticker: string; market: string };

const io: DeployIO = {
  postStrategy: (cfg) => call(api.POST("/api/v1/strategies", { body: cfg as never })),
  postResult: (id, result) =>
    call(api.POST("/api/v1/strategies/{id}/results", { params: { path: { id } }, body: result as never })) as Promise<{
      result_id?: string;
    }>,
  listResults: (id) =>
    call(api.GET("/api/v1/strategies/{id}/results", { params: { path: { id } } })) as Promise<
      { result_id?: string; run_at?: string }[]
    >,
  postDeployment: (body) => call(api.POST("/api/v1/deployments", { body: body as never })),
  listDeployments: () => call(api.GET("/api/v1/deployments")),
};

const WIZARD = ["Strategy", "Target", "Risk limits", "Paper or live", "Review"] as const;

export default function Deploy({ id }: { id: string }) {
  const [strategy, setStrategy] = useState<Strategy | null>(null);
  const [configText, setConfigText] = useState("");
  const [result, setResult] = useState<Record<string, unknown> | null>(null);
  const [resultFrom, setResultFrom] = useState<string>("");
  const [mappings, setMappings] = useState<Mapping[]>([]);
  const [form, setForm] = useState<DeployForm>(defaultForm);
  const [step, setStep] = useState(0);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [progress, setProgress] = useState<DeployProgress>(freshProgress);
  const [busy, setBusy] = useState(false);
  const [tried, setTried] = useState(false);

  useEffect(() => {
    (async () => {
      try {
        const s = await call(api.GET("/api/v1/strategies/{id}", { params: { path: { id } } }));
        setStrategy(s);
        setConfigText(JSON.stringify({ strategy_id: s.strategy_id, ...(strategyConfig(s) as unknown as Record<string, unknown>) }, null, 2));
        const handed = takeBacktest(id);
        if (handed) {
          setResult(handed);
          setResultFrom("the backtest you ran");
        } else {
          const r = await call(api.POST("/api/v1/backtest", { body: { config: strategyConfig(s), fee_bps: 5 } }));
          setResult(r as unknown as Record<string, unknown>);
          setResultFrom("a backtest over all bars at 5 bps, run now");
        }
        setMappings((await call(api.GET("/api/v1/ticker_mappings"))) as Mapping[]);
      } catch (e) {
        if (e instanceof ApiError) setProblem(e.problem);
      }
    })();
  }, [id]);

  const parsed = useMemo((): { config: Record<string, unknown> | null; error: string } => {
    try {
      const v = JSON.parse(configText) as unknown;
      if (v === null || typeof v !== "object" || Array.isArray(v)) return { config: null, error: "must be a JSON object" };
      return { config: v as Record<string, unknown>, error: "" };
    } catch (e) {
      return { config: null, error: e instanceof Error ? e.message : String(e) };
    }
  }, [configText]);

  const dataTicker = typeof parsed.config?.ticker === "string" ? (parsed.config.ticker as string) : strategy?.ticker ?? "";
  const symbols = useMemo(() => {
    const own = mappings.filter((m) => m.data_ticker === dataTicker && m.broker === form.broker).map((m) => m.broker_ticker);
    if (form.broker === "PAPER" && !own.includes(dataTicker)) own.push(dataTicker);
    return own;
  }, [mappings, dataTicker, form.broker]);
  const displayTicker = form.ticker || symbols[0] || dataTicker;
  const built = deploymentBody(form, progress.strategyId ?? (parsed.config?.strategy_id as string) ?? id, displayTicker);
  const errors = tried ? built.errors : {};
  const locked = (name: "strategy" | "deployment") => progress.steps[name].status === "done" || busy;
  const done = progress.steps.deployment.status === "done";
  const started = Object.values(progress.steps).some((s) => s.status !== "waiting");

  const upd = <K extends keyof DeployForm>(k: K, v: DeployForm[K]) => setForm((f) => ({ ...f, [k]: v }));

  const plan = built.body && parsed.config ? { strategy: parsed.config, result, deployment: built.body } : null;
  const { strategy_id: _sid, ...deploymentShown } = built.body ?? {};
  void _sid;

  function next() {
    setTried(true);
    if (step === 0 && !parsed.config) return;
    setStep((s) => Math.min(s + 1, WIZARD.length - 1));
  }

  async function send() {
    setTried(true);
    if (!plan) return;
    setBusy(true);
    try {
      setProgress(await runDeploy(plan, progress, io, setProgress));
    } finally {
      setBusy(false);
    }
  }

  const err = (k: keyof DeployForm) =>
    errors[k] ? (
      <span className="field-error" role="alert" data-field={k}>
        {errors[k]}
      </span>
    ) : null;

  return (
    <section className="wizard">
      <h1>Deploy {strategy ? `· ${strategy.name}` : ""}</h1>
      <ProblemBox problem={problem} />
      <ol className="steps" aria-label="wizard steps">
        {WIZARD.map((w, i) => (
          <li key={w}>
            <button type="button" aria-current={i === step ? "step" : undefined} onClick={() => setStep(i)}>
              {i + 1}. {w}
            </button>
          </li>
        ))}
      </ol>

      {step === 0 && (
        <fieldset disabled={locked("strategy")}>
          <legend>Strategy (StrategyConfig JSON, sent as POST /api/v1/strategies)</legend>
          <label>
            Strategy JSON
            <textarea rows={14} value={configText} onChange={(e) => setConfigText(e.target.value)} spellCheck={false} />
          </label>
          {parsed.error && (
            <span className="field-error" role="alert" data-field="config">
              not valid JSON: {parsed.error}
            </span>
          )}
          <p className="muted">
            With its strategy_id the same parameters keep the version (a change makes a new one). Backtest result to
            store: {result ? resultFrom : "loading…"}.
          </p>
        </fieldset>
      )}

      {step === 1 && (
        <fieldset disabled={locked("deployment")}>
          <legend>Target</legend>
          <label>
            Broker
            <select aria-label="Broker" value={form.broker} onChange={(e) => setForm((f) => ({ ...f, broker: e.target.value, ticker: "" }))}>
              {BROKERS.map((b) => (
                <option key={b}>{b}</option>
              ))}
            </select>
          </label>
          <label>
            Broker symbol
            <select aria-label="Broker symbol" value={form.ticker} onChange={(e) => upd("ticker", e.target.value)}>
              <option value="">from the ticker mapping{symbols[0] ? ` (${symbols[0]})` : ""}</option>
              {symbols.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
          <label>
            Quantity per signal
            <input inputMode="decimal" value={form.qty} onChange={(e) => upd("qty", e.target.value)} aria-invalid={!!errors.qty} />
            {err("qty")}
          </label>
          <label>
            Schedule
            <select value={form.schedule} onChange={(e) => upd("schedule", e.target.value)}>
              {SCHEDULES.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            Portfolio
            <input value={form.portfolio} onChange={(e) => upd("portfolio", e.target.value)} />
          </label>
        </fieldset>
      )}

      {step === 2 && (
        <fieldset disabled={locked("deployment")}>
          <legend>Risk limits (seed §4 defaults)</legend>
          <label>
            Max position (USD)
            <input inputMode="decimal" value={form.maxPositionUsd} onChange={(e) => upd("maxPositionUsd", e.target.value)} />
            {err("maxPositionUsd")}
          </label>
          <label>
            Max trades per day (UTC)
            <input inputMode="numeric" value={form.maxDailyTrades} onChange={(e) => upd("maxDailyTrades", e.target.value)} />
            {err("maxDailyTrades")}
          </label>
          <label>
            Stop loss (%)
            <input inputMode="decimal" value={form.stopLossPct} onChange={(e) => upd("stopLossPct", e.target.value)} />
            {err("stopLossPct")}
          </label>
          <label>
            Stale-bar check
            <select value={form.barAge} onChange={(e) => upd("barAge", e.target.value as DeployForm["barAge"])}>
              <option value="default">default for the schedule</option>
              <option value="hours">at most N hours old</option>
              <option value="off">off (paper only)</option>
            </select>
            {err("barAge")}
          </label>
          {form.barAge === "hours" && (
            <label>
              Max bar age (hours)
              <input inputMode="decimal" value={form.maxBarAgeHours} onChange={(e) => upd("maxBarAgeHours", e.target.value)} />
              {err("maxBarAgeHours")}
            </label>
          )}
        </fieldset>
      )}

      {step === 3 && (
        <fieldset disabled={locked("deployment")}>
          <legend>Paper or live</legend>
          <label className="inline">
            <input type="radio" name="mode" checked={form.paper} onChange={() => upd("paper", true)} /> Paper (simulated
            fills; the default)
          </label>
          <label className="inline">
            <input type="radio" name="mode" checked={!form.paper} onChange={() => upd("paper", false)} /> Live (real
            orders)
          </label>
          {!form.paper && (
            <div className="live-box">
              <p>
                <strong>Live trading sends real orders.</strong> Type <code>{livePhrase(displayTicker)}</code> and your
                trade password.
              </p>
              <label>
                Confirmation
                <input value={form.confirmText} onChange={(e) => upd("confirmText", e.target.value)} autoComplete="off" />
                {err("confirmText")}
              </label>
              <label>
                Trade password
                <input
                  type="password"
                  value={form.tradePassword}
                  onChange={(e) => upd("tradePassword", e.target.value)}
                  autoComplete="off"
                />
                {err("tradePassword")}
              </label>
            </div>
          )}
        </fieldset>
      )}

      {step === 4 && (
        <div>
          <h2>Review</h2>
          <p>
            Mode:{" "}
            <span className={`badge ${form.paper ? "paper" : "live"}`} data-testid="review-mode">
              {form.paper ? "PAPER" : "LIVE"}
            </span>
          </p>
          <ol className="posts" data-testid="posts">
            {STEPS.map((s, i) => {
              const st = progress.steps[s.name];
              const body =
                s.name === "strategy" ? parsed.config : s.name === "result" ? result : built.body ? { ...deploymentShown, strategy_id: progress.strategyId ?? "(from step 1)" } : null;
              return (
                <li key={s.name} data-step={s.name} data-status={st.status} data-http={st.httpStatus ?? ""}>
                  <div className="post-head">
                    <strong>
                      {i + 1}. {s.label}
                    </strong>{" "}
                    <span className={`status ${st.status}`}>
                      {st.status}
                      {st.httpStatus !== undefined ? ` (${st.httpStatus === 0 ? "no answer" : st.httpStatus})` : ""}
                    </span>
                    {st.note && <span className="muted"> · {st.note}</span>}
                  </div>
                  {st.problem && (
                    <ProblemBox
                      problem={{ ...st.problem, hint: st.problem.hint, field: st.problem.field }}
                    />
                  )}
                  <details open={s.name !== "result"}>
                    <summary>JSON</summary>
                    <pre data-testid={`json-${s.name}`}>{body ? reviewJson(body) : "(not valid yet)"}</pre>
                  </details>
                </li>
              );
            })}
          </ol>
          {Object.keys(built.errors).length > 0 && tried && (
            <p className="field-error" role="alert" data-testid="form-errors">
              Fix first: {Object.entries(built.errors).map(([k, v]) => `${k}: ${v}`).join("; ")}
            </p>
          )}
          {!done && (
            <button type="button" className={form.paper ? "" : "danger"} disabled={busy || !result} onClick={() => void send()}>
              {busy ? "Sending…" : started ? "Retry" : form.paper ? "Deploy on paper" : "Deploy LIVE"}
            </button>
          )}
          {done && progress.deploymentId && (
            <p data-testid="deployed" data-deployment-id={progress.deploymentId}>
              Deployed.{" "}
              <Link to={{ name: "deployment", id: progress.deploymentId }}>Open the deployment</Link> ·{" "}
              <Link to={{ name: "deployments" }}>Dashboard</Link>
            </p>
          )}
        </div>
      )}

      <div className="row">
        {step > 0 && (
          <button type="button" onClick={() => setStep((s) => s - 1)}>
            Back
          </button>
        )}
        {step < WIZARD.length - 1 && (
          <button type="button" onClick={next}>
            Next
          </button>
        )}
      </div>
    </section>
  );
}
