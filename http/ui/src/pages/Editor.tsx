import { useEffect, useState } from "react";
import { api, call } from "../api/client";
import { ApiError, type Problem } from "../lib/problem";
import ProblemBox from "../components/ProblemBox";
import { Link } from "../components/Link";
import { pathOf } from "../lib/router";
import {
  CONJUNCTIONS,
  MAX_SUBSTRATEGIES,
  configToForm,
  formToConfig,
  lockedRange,
  newSub,
  signalFuncsFor,
  validate,
  withIndicator,
  type Catalog,
  type Conjunction,
  type FieldError,
  type StrategyForm,
  type SubForm,
} from "../lib/editor";

// The strategy editor: a form of 1..16 substrategies whose choices come from the catalogs, and a
// JSON tab that validates and round-trips with the form. Saves with POST /strategies (new) or
// PUT /strategies/{id} (a new version when the parameters change).
export default function Editor({ id: pageId }: { id?: string }) {
  // a new strategy, once created, is edited in place (its address replaced, the page not reloaded)
  const [createdId, setCreatedId] = useState<string | undefined>(undefined);
  const id = pageId ?? createdId;
  const [cat, setCat] = useState<Catalog | null>(null);
  const [form, setForm] = useState<StrategyForm | null>(null);
  const [tab, setTab] = useState<"form" | "json">("form");
  const [text, setText] = useState("");
  const [jsonErrors, setJsonErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<Problem | null>(null);
  const [saved, setSaved] = useState<{ id: string; version: number } | null>(null);

  useEffect(() => {
    (async () => {
      try {
        const [inds, funcs, doc] = await Promise.all([
          call(api.GET("/api/v1/indicators")),
          call(api.GET("/api/v1/signal_functions")),
          fetch("/api/v1/openapi.json").then((r) => r.json() as Promise<Record<string, any>>),
        ]);
        const columns: string[] = doc?.components?.schemas?.SubStrategy?.properties?.data_column?.enum ?? ["v"];
        const c: Catalog = { indicators: inds as Catalog["indicators"], signalFuncs: funcs as Catalog["signalFuncs"], columns };
        setCat(c);
        if (id) {
          const s = await call(api.GET("/api/v1/strategies/{id}", { params: { path: { id } } }));
          const r = configToForm(c, JSON.stringify(pick(s as unknown as Record<string, unknown>)));
          setForm(r.form ?? emptyForm(c));
          if (!r.form) setJsonErrors(r.errors);
        } else {
          setForm(emptyForm(c));
        }
      } catch (e) {
        if (e instanceof ApiError) setProblem(e.problem);
      }
    })();
  }, [pageId]);

  if (!cat || !form)
    return (
      <section>
        <h1>{id ? "Edit strategy" : "New strategy"}</h1>
        <ProblemBox problem={problem} />
        {!problem && <p>Loading the catalogs…</p>}
      </section>
    );

  const errors = validate(cat, form);
  const errOf = (field: string) => errors.find((e) => e.field === field)?.message;
  const setSub = (i: number, s: SubForm) => setForm({ ...form, subs: form.subs.map((x, j) => (j === i ? s : x)) });

  function toJson() {
    setText(JSON.stringify(formToConfig(form!), null, 2));
    setJsonErrors([]);
    setTab("json");
  }
  function toForm() {
    const r = configToForm(cat!, text);
    setJsonErrors(r.errors);
    if (r.form) {
      setForm(r.form);
      setTab("form");
    }
  }
  function checkJson() {
    setJsonErrors(configToForm(cat!, text).errors);
  }

  async function save() {
    setProblem(null);
    setSaved(null);
    let f = form!;
    if (tab === "json") {
      const r = configToForm(cat!, text);
      setJsonErrors(r.errors);
      if (!r.form) return;
      f = r.form;
      setForm(f);
    }
    if (validate(cat!, f).length) return;
    const body = formToConfig(f) as never;
    try {
      const s = id
        ? await call(api.PUT("/api/v1/strategies/{id}", { params: { path: { id } }, body }))
        : await call(api.POST("/api/v1/strategies", { body }));
      setSaved({ id: s.strategy_id, version: s.version });
      if (!id) {
        setCreatedId(s.strategy_id);
        window.history.replaceState(null, "", pathOf({ name: "editor", id: s.strategy_id }));
      }
    } catch (e) {
      if (e instanceof ApiError) setProblem(e.problem);
    }
  }

  return (
    <section>
      <h1>{id ? "Edit strategy" : "New strategy"}</h1>
      <ProblemBox problem={problem} />
      {saved && (
        <p className="ok" role="status" data-testid="saved" data-id={saved.id} data-version={saved.version}>
          saved as version {saved.version} — <Link to={{ name: "backtest", id: saved.id }}>backtest it</Link>
        </p>
      )}
      <div role="tablist" aria-label="editor" className="row">
        <button type="button" role="tab" aria-selected={tab === "form"} onClick={() => (tab === "json" ? toForm() : undefined)}>
          Form
        </button>
        <button type="button" role="tab" aria-selected={tab === "json"} onClick={() => (tab === "form" ? toJson() : undefined)}>
          JSON
        </button>
      </div>
      {tab === "form" ? (
        <div data-testid="editor-form" data-subs={form.subs.length} data-valid={errors.length === 0}>
          <div className="grid-fields">
            <label>
              Name
              <input value={form.name} onChange={(e) => setForm({ ...form, name: e.target.value })} />
            </label>
            <label>
              Ticker
              <input value={form.ticker} aria-invalid={!!errOf("ticker")} onChange={(e) => setForm({ ...form, ticker: e.target.value })} />
              {errOf("ticker") && <span className="field-error">{errOf("ticker")}</span>}
            </label>
            <label>
              Join
              <select value={form.conjunction} onChange={(e) => setForm({ ...form, conjunction: e.target.value as Conjunction })}>
                {CONJUNCTIONS.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            </label>
            <label>
              Bars per year
              <input type="number" value={form.trading_period} onChange={(e) => setForm({ ...form, trading_period: Number(e.target.value) })} />
              {errOf("trading_period") && <span className="field-error">{errOf("trading_period")}</span>}
            </label>
            <label>
              Fill delay (bars)
              <input type="number" value={form.fill_delay_bars} onChange={(e) => setForm({ ...form, fill_delay_bars: Number(e.target.value) })} />
            </label>
          </div>
          {form.subs.map((s, i) => {
            const at = `substrategies[${i}]`;
            const range = lockedRange(cat, s.indicator);
            return (
              <fieldset key={i} className="card" data-testid={`sub-${i + 1}`} aria-label={`substrategy ${i + 1}`}>
                <legend>
                  Substrategy {i + 1}
                  {i > 0 && <span className="muted"> ({form.conjunction === "FILTER" ? "gated by #1" : form.conjunction})</span>}
                </legend>
                <label>
                  Indicator
                  <select aria-label={`indicator ${i + 1}`} value={s.indicator} onChange={(e) => setSub(i, withIndicator(cat, s, e.target.value))}>
                    {cat.indicators.map((x) => (
                      <option key={x.name} value={x.name} title={x.description}>
                        {x.name}
                        {x.bounded ? " (bounded)" : ""}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  Signal function
                  <select aria-label={`signal function ${i + 1}`} value={s.signal_func} onChange={(e) => setSub(i, { ...s, signal_func: e.target.value })}>
                    {signalFuncsFor(cat, s.indicator).map((x) => (
                      <option key={x.name} value={x.name} title={x.description}>
                        {x.name}
                      </option>
                    ))}
                  </select>
                  {errOf(`${at}.signal_func`) && <span className="field-error">{errOf(`${at}.signal_func`)}</span>}
                </label>
                <label>
                  Column
                  <select aria-label={`column ${i + 1}`} value={s.data_column} onChange={(e) => setSub(i, { ...s, data_column: e.target.value })}>
                    {cat.columns.map((c) => (
                      <option key={c} value={c}>
                        {c}
                      </option>
                    ))}
                  </select>
                </label>
                <label>
                  Window
                  <input type="number" aria-label={`window ${i + 1}`} value={Number.isFinite(s.window) ? s.window : ""} onChange={(e) => setSub(i, { ...s, window: Number(e.target.value) })} />
                  {errOf(`${at}.window`) && <span className="field-error">{errOf(`${at}.window`)}</span>}
                </label>
                <label>
                  Signal{range ? ` (locked ${range.min}..${range.max})` : ""}
                  <input
                    type="number"
                    aria-label={`signal ${i + 1}`}
                    data-locked={range ? `${range.min}..${range.max}` : ""}
                    min={range?.min}
                    max={range?.max}
                    step="any"
                    value={Number.isFinite(s.signal) ? s.signal : ""}
                    onChange={(e) => setSub(i, { ...s, signal: Number(e.target.value) })}
                  />
                  {errOf(`${at}.signal`) && <span className="field-error">{errOf(`${at}.signal`)}</span>}
                </label>
                <button type="button" className="link danger-text" disabled={form.subs.length <= 1} onClick={() => setForm({ ...form, subs: form.subs.filter((_, j) => j !== i) })}>
                  Remove
                </button>
              </fieldset>
            );
          })}
          <button type="button" disabled={form.subs.length >= MAX_SUBSTRATEGIES} onClick={() => setForm({ ...form, subs: [...form.subs, newSub(cat)] })}>
            Add substrategy ({form.subs.length} of {MAX_SUBSTRATEGIES})
          </button>
        </div>
      ) : (
        <div data-testid="editor-json">
          <label>
            StrategyConfig JSON
            <textarea aria-label="StrategyConfig JSON" rows={24} value={text} spellCheck={false} onChange={(e) => setText(e.target.value)} />
          </label>
          <button type="button" onClick={checkJson}>
            Validate
          </button>
          <ul data-testid="json-errors" data-count={jsonErrors.length} className="field-errors">
            {jsonErrors.map((e, i) => (
              <li key={i} data-field={e.field}>
                <strong>{e.field}</strong>: {e.message}
              </li>
            ))}
          </ul>
        </div>
      )}
      <p className="row">
        <button type="button" onClick={() => void save()} disabled={tab === "form" && errors.length > 0}>
          {id ? "Save (new version)" : "Create strategy"}
        </button>
        {tab === "form" && errors.length > 0 && <span className="muted">{errors.length} field(s) to fix</span>}
      </p>
    </section>
  );
}

function emptyForm(cat: Catalog): StrategyForm {
  return { name: "", ticker: "TTRC", conjunction: "AND", trading_period: 252, fill_delay_bars: 0, subs: [newSub(cat)] };
}

// The StrategyConfig part of a stored strategy (the editor's form keys).
function pick(s: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ["name", "ticker", "conjunction", "trading_period", "fill_delay_bars", "substrategies"]) if (s[k] !== undefined && s[k] !== null) out[k] = s[k];
  return out;
}
