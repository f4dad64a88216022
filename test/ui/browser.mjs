// The web UI in a real browser (Debian's chromium through playwright-core; never a downloaded
// browser) against the real stack that test/sql/ui.sh starts: PostgreSQL with the extension and
// the sample bars, quant-http serving http/ui/dist. The figures the pages show are checked
// against the database, queried independently with psql. Prints one line per check and
// "N passed, N failed" last; screenshots go to $UI_SHOTS.
//
// Environment: BASE_URL (quant-http), UI_SHOTS, UI_ALICE/UI_BOB/UI_CAROL (+ _PW), ALICE_STRATEGY,
// ALICE_CONFIG (the JSON the strategy was created from), ALICE_DEPLOYMENT, ALICE_KEY, CHROMIUM;
// PG* for psql.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "../../http/ui/package.json"));
const { chromium } = require("playwright-core");

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const BASE = env("BASE_URL");
const SHOTS = env("UI_SHOTS");
const [ALICE, ALICE_PW, BOB, BOB_PW, CAROL, CAROL_PW] = ["UI_ALICE", "UI_ALICE_PW", "UI_BOB", "UI_BOB_PW", "UI_CAROL", "UI_CAROL_PW"].map(env);
const STRATEGY = env("ALICE_STRATEGY");
const CONFIG = env("ALICE_CONFIG");
const DEPLOYMENT = env("ALICE_DEPLOYMENT");
const KEY = env("ALICE_KEY");
const RSI = env("ALICE_RSI");
const TRADE_PW = env("ALICE_TRADE_PW");
const RSI_CONFIG_SQL = env("ALICE_RSI_CONFIG");
const [ADMIN, ADMIN_PW] = ["UI_ADMIN", "UI_ADMIN_PW"].map(env);

let passed = 0;
let failed = 0;
function check(name, ok, detail = "") {
  if (ok) {
    passed++;
    console.log(`ok - ${name}`);
  } else {
    failed++;
    console.log(`FAIL - ${name}${detail ? `: ${typeof detail === "string" ? detail : JSON.stringify(detail)}` : ""}`);
  }
}
const psql = (sql) => execFileSync("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8" }).trim();
const lit = (s) => `'${s.replace(/'/g, "''")}'`;

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

async function login(page, user, pw) {
  await page.goto(BASE + "/");
  await page.getByLabel("User name").fill(user);
  await page.getByLabel("Password").fill(pw);
  await page.getByRole("button", { name: "Log in" }).click();
}

// Waits until fn() is truthy (polling; a generous deadline, never a fixed sleep); its last value.
async function until(fn, ms = 30000) {
  const end = Date.now() + ms;
  let v;
  for (;;) {
    v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 200));
  }
}

// The wizard's steps by their buttons; `to` is the step's label.
async function wizardStep(page, to) {
  await page.getByRole("list", { name: "wizard steps" }).getByRole("button", { name: to }).click();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, timezoneId: "Asia/Hong_Kong" });
    const page = await context.newPage();
    page.setDefaultTimeout(15000);

    // ---- login ----
    await page.goto(BASE + "/");
    // waitFor, not isVisible(): the page renders after its script has loaded
    const loginButton = page.getByRole("button", { name: "Log in" });
    check("login page at /", await loginButton.waitFor({ state: "visible" }).then(() => true, () => false));
    await shot(page, "01-login");
    await login(page, ALICE, "not-the-password");
    const prob = page.getByTestId("problem");
    await prob.waitFor();
    const probText = await prob.innerText();
    check("a wrong password shows the problem's detail and hint",
      probText.includes("the user name or password is wrong") && probText.includes("hint:"), probText);
    await shot(page, "02-login-wrong");
    await page.getByLabel("Password").fill(ALICE_PW);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByTestId("user").waitFor();
    check("logged in: who is shown", (await page.getByTestId("user").innerText()) === ALICE);
    const cookies = await context.cookies();
    const c = cookies.find((x) => x.name === "quant_session");
    check("the session cookie is HttpOnly and SameSite=Strict", c && c.httpOnly && c.sameSite === "Strict", c);
    psql(`SELECT 1`);

    // ---- strategies ----
    const table = page.getByTestId("strategies");
    await table.waitFor();
    const ids = await table.locator("tbody tr[data-strategy-id]").evaluateAll((rs) => rs.map((r) => r.dataset.strategyId));
    check("strategies: alice's strategy is listed", ids.includes(STRATEGY), ids);
    const expectedCount = Number(psql(`SELECT count(*) FROM bt.strategy WHERE user_id = ${lit(ALICE)} AND deleted_at IS NULL`));
    check("strategies: as many rows as alice has in the database", ids.length === expectedCount, `${ids.length} vs ${expectedCount}`);
    await shot(page, "03-strategies");

    // ---- backtest: the metrics equal quant.backtest's ----
    await page.locator(`tr[data-strategy-id="${STRATEGY}"]`).getByRole("link", { name: "Open" }).click();
    let t0 = Date.now();
    await page.getByRole("button", { name: "Run backtest" }).click();
    await page.getByTestId("metrics").waitFor();
    const shown = await page.getByTestId("metrics").locator("tbody tr").evaluateAll((rs) =>
      rs.map((r) => ({ key: r.dataset.metric, s: r.children[1].dataset.value, b: r.children[2].dataset.value })));
    const want = JSON.parse(psql(`SELECT jsonb_build_object('m', r->'metrics', 'b', r->'buy_hold_metrics') FROM quant.backtest(${lit(CONFIG)}::jsonb) r`));
    const same = (ui, db) => (db === null || db === undefined ? ui === "" : Number(ui) === db);
    const bad = shown.filter((x) => !same(x.s, want.m[x.key]) || !same(x.b, want.b[x.key]));
    check("backtest: 5 metrics shown", shown.length === 5, shown);
    check("backtest: every metric equals quant.backtest's (strategy and buy and hold)", shown.length === 5 && bad.length === 0, { bad, want });
    const chart = page.getByTestId("equity-chart");
    await chart.waitFor();
    await page.locator("[data-testid=equity-chart] canvas").first().waitFor();
    console.log(`# figure: backtest click to drawn equity chart ${Date.now() - t0} ms`);
    const drawn = Number(await chart.getAttribute("data-series-length"));
    const bh = Number(await chart.getAttribute("data-buyhold-length"));
    const bars = Number(psql(`SELECT count(*) FROM quant.backtest_series(${lit(CONFIG)}::jsonb) WHERE cumulative IS NOT NULL`));
    check("backtest: the equity chart draws one point per bar of quant.backtest_series", drawn === bars && drawn > 100, `${drawn} vs ${bars}`);
    check("backtest: the buy-and-hold line is drawn too", bh > 100, String(bh));
    const priceLen = Number(await page.getByTestId("price-chart").getAttribute("data-series-length"));
    check("backtest: the price chart is drawn", priceLen > 100, String(priceLen));
    const ddLen = Number(await page.getByTestId("drawdown-chart").getAttribute("data-series-length"));
    const ddRows = Number(psql(`SELECT count(*) FROM quant.backtest_series(${lit(CONFIG)}::jsonb) WHERE drawdown IS NOT NULL`));
    check("backtest: the drawdown pane draws one point per bar", ddLen === ddRows && ddLen > 100, `${ddLen} vs ${ddRows}`);
    const changes = JSON.parse(psql(`SELECT jsonb_build_object('all', count(*), 'entries', count(*) FILTER (WHERE position <> 0)) FROM (SELECT position, lag(position, 1, 0::float8) OVER (ORDER BY ts) AS prev FROM quant.backtest_series(${lit(CONFIG)}::jsonb) WHERE position IS NOT NULL AND price IS NOT NULL) x WHERE position <> prev`));
    const pc = page.getByTestId("price-chart");
    check("backtest: entry and exit markers, one per position change of quant.backtest_series",
      Number(await pc.getAttribute("data-markers")) === changes.all && Number(await pc.getAttribute("data-entries")) === changes.entries && changes.all > 0,
      { ui: await pc.getAttribute("data-markers"), changes });
    check("backtest: the trade list has one row per entry", Number(await page.getByTestId("backtest-trades").getAttribute("data-total-rows")) === changes.entries);
    const [jdl] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: "Export JSON" }).click()]);
    const jtext = await (async () => { const ch = []; for await (const c of await jdl.createReadStream()) ch.push(c); return Buffer.concat(ch).toString("utf8"); })();
    const jexp = JSON.parse(jtext);
    check("backtest: the JSON export holds the result and every series row", jexp.result.metrics.sharpe_ratio === want.m.sharpe_ratio && jexp.series.length === Number(psql(`SELECT count(*) FROM quant.backtest_series(${lit(CONFIG)}::jsonb)`)));
    await shot(page, "04-backtest");

    // ---- a bad request shows the problem's detail and field ----
    await page.getByLabel("Fee (bps)").fill("-5");
    await page.getByRole("button", { name: "Run backtest" }).click();
    await page.getByTestId("problem").waitFor();
    const feeProblem = await page.getByTestId("problem").innerText();
    check("backtest: a negative fee shows the server's problem detail", /fee/i.test(feeProblem), feeProblem);
    await shot(page, "05-backtest-problem");

    // ---- optimise: live cell count, a grid, the top table, a heatmap cell backtested, walk-forward ----
    await page.goto(`${BASE}/strategies/${STRATEGY}/optimise`);
    const cellCount = page.getByTestId("cell-count");
    await cellCount.waitFor();
    check("optimise: the default ranges count 5 x 5 = 25 cells", (await cellCount.getAttribute("data-cells")) === "25", await cellCount.innerText());
    await page.getByLabel("window step (1)").fill("1");
    check("optimise: the count follows the ranges live (21 x 5 = 105)", (await cellCount.getAttribute("data-cells")) === "105");
    await page.getByLabel("window max (1)").fill("5000");
    await page.getByLabel("window step (1)").fill("0.001");
    check("optimise: over the cap the run is refused before sending", await page.getByRole("button", { name: "Run grid" }).isDisabled() && /cap 2,000,000/.test(await cellCount.innerText()));
    await page.getByLabel("window max (1)").fill("30");
    await page.getByLabel("window step (1)").fill("1");
    const grid = [{ window: { min: 10, max: 30, step: 1 }, signal: { min: 0.5, max: 1.5, step: 0.25 } }];
    await page.getByRole("button", { name: "Run grid" }).click();
    const heat = page.getByTestId("heatmap");
    await heat.waitFor({ timeout: 60000 });
    const opt = JSON.parse(psql(`SELECT jsonb_build_object('best', r->'best'->'metrics'->'sharpe_ratio', 'size', r->'grid_size', 'top', jsonb_array_length(r->'top')) FROM quant.optimize(${lit(CONFIG)}::jsonb, ${lit(JSON.stringify(grid))}::jsonb, 5.0) r`));
    check("optimise: the heatmap has 21 windows x 5 signals", (await heat.getAttribute("data-rows")) === "21" && (await heat.getAttribute("data-cols")) === "5");
    check("optimise: the grid size is quant.optimize's", (await page.getByTestId("grid-summary").innerText()).includes(`of ${opt.size} cells`));
    const topRows = page.getByTestId("top").locator("tbody tr");
    check("optimise: the top table's best Sharpe is quant.optimize's best", Math.abs(Number(await topRows.first().getAttribute("data-sharpe")) - opt.best) < 1e-12 && (await topRows.count()) === opt.top, { ui: await topRows.first().getAttribute("data-sharpe"), opt });
    await shot(page, "25-optimise-heatmap");
    await heat.locator('[data-window="25"][data-signal="1.25"]').click();
    const cb = page.getByTestId("cell-backtest");
    await cb.locator('tr[data-metric="sharpe_ratio"]').waitFor();
    const cellCfg = JSON.parse(CONFIG);
    cellCfg.substrategies[0].window = 25;
    cellCfg.substrategies[0].signal = 1.25;
    const cellWant = JSON.parse(psql(`SELECT r->'metrics' FROM quant.backtest(${lit(JSON.stringify(cellCfg))}::jsonb, 5.0) r`));
    const cellShown = await cb.locator("tbody tr").evaluateAll((rs) => rs.map((r) => [r.dataset.metric, r.children[1].dataset.value]));
    check("optimise: clicking the heatmap cell (25, 1.25) backtests it: quant.backtest's metrics",
      cellShown.length === 5 && cellShown.every(([k, v]) => (cellWant[k] === null ? v === "" : Number(v) === cellWant[k])), { cellShown, cellWant });
    const heatVal = Number(await heat.locator('[data-window="25"][data-signal="1.25"]').getAttribute("data-value"));
    check("optimise: the heatmap square's Sharpe is that backtest's", Math.abs(heatVal - cellWant.sharpe_ratio) < 1e-9, `${heatVal} vs ${cellWant.sharpe_ratio}`);
    await shot(page, "26-optimise-cell");
    await page.getByRole("tab", { name: "Walk-forward" }).click();
    await page.getByRole("button", { name: "Run walk-forward" }).click();
    const wf = page.getByTestId("walk-forward");
    await wf.waitFor({ timeout: 60000 });
    const wfWant = JSON.parse(psql(`SELECT r FROM quant.walk_forward(${lit(CONFIG)}::jsonb, ${lit(JSON.stringify(grid))}::jsonb, 0.5, 5.0) r`));
    const wfShown = await wf.locator("[data-key]").evaluateAll((es) => Object.fromEntries(es.map((e) => [e.dataset.key, e.dataset.value])));
    check("walk-forward: in/out-of-sample Sharpe and the overfitting ratio are quant.walk_forward's",
      ["is_sharpe", "oos_sharpe", "overfitting_ratio"].every((k) => (wfWant[k] === null ? wfShown[k] === "" : Math.abs(Number(wfShown[k]) - wfWant[k]) < 1e-12)), { wfShown, wfWant });
    const wchart = page.getByTestId("walk-forward-chart");
    await wchart.waitFor();
    const splitWant = Math.floor(Date.parse(wfWant.split_at) / 1000);
    const isLen = Number(await wchart.getAttribute("data-is-length"));
    const oosLen = Number(await wchart.getAttribute("data-oos-length"));
    check("walk-forward: the equity is split at split_at (both parts drawn)",
      Number(await wchart.getAttribute("data-split-time")) === splitWant && isLen > 100 && oosLen > 100, { isLen, oosLen, split: await wchart.getAttribute("data-split-time"), splitWant });
    await shot(page, "27-walk-forward");

    // ---- the deploy wizard from a backtest: paper, every POST's status, a retry never duplicates ----
    const count = (sql) => Number(psql(sql));
    const resultsBefore = count(`SELECT count(*) FROM bt.result WHERE strategy_id = ${lit(RSI)}`);
    const deploymentsBefore = count(`SELECT count(*) FROM trade.deployment WHERE strategy_id = ${lit(RSI)}`);
    await page.goto(`${BASE}/strategies/${RSI}/backtest`);
    await page.getByRole("button", { name: "Run backtest" }).click();
    await page.getByTestId("metrics").waitFor();
    await page.getByRole("button", { name: "Deploy this…" }).click();
    const cfgBox = page.getByLabel("Strategy JSON");
    await cfgBox.waitFor();
    await until(async () => (await cfgBox.inputValue()) !== "");
    check("wizard: step 1 holds the strategy's JSON with its id", JSON.parse(await cfgBox.inputValue()).strategy_id === RSI);
    await shot(page, "13-wizard-strategy");
    await page.getByRole("button", { name: "Next" }).click();
    await page.getByLabel("Quantity per signal").fill("10");
    await page.getByLabel("Schedule").selectOption("manual");
    check("wizard: the broker is PAPER by default", (await page.getByLabel("Broker", { exact: true }).inputValue()) === "PAPER");
    await shot(page, "14-wizard-target");
    await page.getByRole("button", { name: "Next" }).click();
    const riskDefaults = [await page.getByLabel("Max position (USD)").inputValue(), await page.getByLabel("Max trades per day (UTC)").inputValue(), await page.getByLabel("Stop loss (%)").inputValue()];
    check("wizard: risk limits start at the seed's defaults (10000 USD, 10 trades, 5%)", riskDefaults.join(",") === "10000,10,5", riskDefaults);
    // the sample bars end in 2006: the stale-bar check off, which paper allows
    await page.getByLabel("Stale-bar check").selectOption("off");
    await shot(page, "15-wizard-risk");
    await page.getByRole("button", { name: "Next" }).click();
    check("wizard: paper is chosen by default", await page.getByRole("radio", { name: /Paper/ }).isChecked());
    await page.getByRole("button", { name: "Next" }).click();
    const shownDeploy = JSON.parse(await page.getByTestId("json-deployment").innerText());
    check("wizard: the review shows the exact deployment JSON",
      shownDeploy.qty === 10 && shownDeploy.paper === true && shownDeploy.broker === "PAPER" && shownDeploy.schedule === "manual" &&
      shownDeploy.risk_limits.max_position_usd === 10000 && shownDeploy.risk_limits.max_bar_age_hours === null, shownDeploy);
    const shownResult = JSON.parse(await page.getByTestId("json-result").textContent());
    check("wizard: the result to store is the backtest's (same run_at as the page ran)", typeof shownResult.run_at === "string" && shownResult.metrics !== undefined, shownResult);
    await shot(page, "16-wizard-review");
    // the answers of the first POST /results and the first POST /deployments are lost (the server did them)
    const lose = async (pattern) => {
      let first = true;
      await page.route(pattern, async (route) => {
        if (first && route.request().method() === "POST") {
          first = false;
          await route.fetch();
          await route.abort("connectionreset");
        } else await route.continue();
      });
    };
    await lose(`**/api/v1/strategies/${RSI}/results`);
    await lose("**/api/v1/deployments");
    await page.getByRole("button", { name: "Deploy on paper" }).click();
    const posts = page.getByTestId("posts");
    await posts.locator('li[data-step="result"][data-status="failed"]').waitFor();
    check("wizard: POST /strategies shows done (201)", (await posts.locator('li[data-step="strategy"]').getAttribute("data-http")) === "201");
    check("wizard: the lost answer of POST /results shows failed (no answer)", (await posts.locator('li[data-step="result"]').getAttribute("data-http")) === "0");
    await shot(page, "17-wizard-lost-answer");
    await page.getByRole("button", { name: "Retry" }).click();
    await posts.locator('li[data-step="deployment"][data-status="failed"]').waitFor();
    check("wizard: the retry found the stored result instead of storing it again",
      count(`SELECT count(*) FROM bt.result WHERE strategy_id = ${lit(RSI)}`) === resultsBefore + 1);
    await page.getByRole("button", { name: "Retry" }).click();
    const deployed = page.getByTestId("deployed");
    await deployed.waitFor();
    const newDep = await deployed.getAttribute("data-deployment-id");
    await page.unroute(`**/api/v1/strategies/${RSI}/results`);
    await page.unroute("**/api/v1/deployments");
    check("wizard: every POST done after the retries", (await posts.locator('li[data-status="done"]').count()) === 3);
    check("wizard: one deployment in the database, not two (the retry adopted the unanswered one)",
      count(`SELECT count(*) FROM trade.deployment WHERE strategy_id = ${lit(RSI)}`) === deploymentsBefore + 1 &&
      psql(`SELECT deployment_id FROM trade.deployment WHERE strategy_id = ${lit(RSI)} ORDER BY created_at DESC LIMIT 1`) === newDep);
    check("wizard: one result stored in all", count(`SELECT count(*) FROM bt.result WHERE strategy_id = ${lit(RSI)}`) === resultsBefore + 1);
    check("wizard: the deployment is as reviewed (paper, qty 10, manual, stale check off)",
      psql(`SELECT paper || ' ' || qty::int || ' ' || schedule || ' ' || (risk_limits->'max_bar_age_hours')::text FROM trade.deployment WHERE deployment_id = ${lit(newDep)}`) === "true 10 manual null");
    await shot(page, "18-wizard-deployed");

    // ---- the dashboard: run it, and a signal and a paper trade appear (quant-worker fills it) ----
    await page.getByRole("link", { name: "Dashboard" }).click();
    const newRow = page.locator(`tr[data-deployment-id="${newDep}"]`);
    await newRow.waitFor();
    check("dashboard: the new deployment has no signal yet", (await newRow.getAttribute("data-has-signal")) === "false");
    await page.getByTestId("mode-badge").waitFor();
    check("always visible: the header says PAPER only while nothing trades live", (await page.getByTestId("mode-badge").innerText()) === "PAPER only");
    const t1 = Date.now();
    await newRow.getByRole("button", { name: "Run now" }).click();
    await page.locator(`tr[data-deployment-id="${newDep}"][data-has-signal="true"][data-has-trade="true"]`).waitFor({ timeout: 30000 });
    console.log(`# figure: Run now to a paper trade on the dashboard ${Date.now() - t1} ms`);
    const tradeDb = psql(`SELECT action || ' ' || success FROM trade.log WHERE deployment_id = ${lit(newDep)} ORDER BY ts DESC LIMIT 1`);
    const tradeUi = await newRow.locator('td[data-col="trade"]').innerText();
    check("dashboard: a paper trade appeared, the one quant-worker booked", tradeDb === "BUY true" && tradeUi.startsWith("BUY @"), `${tradeDb} / ${tradeUi}`);
    const sigUi = await newRow.locator('td[data-col="signal"]').innerText();
    check("dashboard: the signal appeared (LONG, as quant.evaluate says)",
      sigUi.startsWith("LONG @") && psql(`SELECT signal::int FROM trade.signal WHERE deployment_id = ${lit(newDep)}`) === "1", sigUi);
    await shot(page, "19-dashboard-paper-trade");
    // times: UTC by default, local on request (this browser runs in Asia/Hong_Kong, UTC+8)
    await page.getByTestId("zone").selectOption("local");
    await until(async () => (await newRow.locator('td[data-col="signal"]').innerText()).endsWith("local"), 5000);
    const sigLocal = await newRow.locator('td[data-col="signal"]').innerText();
    const utcMs = Date.parse(sigUi.replace(/^LONG @ /, "").replace(" UTC", "Z").replace(" ", "T"));
    const localMs = Date.parse(sigLocal.replace(/^LONG @ /, "").replace(" local", "Z").replace(" ", "T"));
    check("times: the switch shows local time (UTC+8 here)", localMs - utcMs === 8 * 3600 * 1000, `${sigUi} / ${sigLocal}`);
    await shot(page, "19b-dashboard-local-time");
    await page.getByTestId("zone").selectOption("UTC");

    // ---- the deployment's detail page: position, P&L, markers over price, logs, audit, CSV, edit ----
    await newRow.getByRole("link", { name: "TTRC" }).click();
    await page.getByTestId("trades-log").waitFor();
    const posDb = psql(`SELECT coalesce(qty, 0)::float8 || ' ' || coalesce(realized_pnl, 0)::float8 FROM trade.position WHERE deployment_id = ${lit(newDep)}`);
    const posUi = `${Number(await page.getByTestId("position-qty").getAttribute("data-value"))} ${Number(await page.getByTestId("realized-pnl").getAttribute("data-value"))}`;
    check("detail: the position and realised P&L are the booked ones", posDb === posUi && posDb.startsWith("10 "), `${posUi} vs ${posDb}`);
    const dchart = page.getByTestId("deployment-chart");
    await dchart.waitFor();
    await page.locator("[data-testid=deployment-chart] canvas").first().waitFor();
    const priceRows = count(`SELECT count(*) FROM quant.backtest_series(${lit(RSI_CONFIG_SQL)}::jsonb) WHERE price IS NOT NULL`);
    check("detail: the price is drawn, one point per bar", Number(await dchart.getAttribute("data-series-length")) === priceRows, `${await dchart.getAttribute("data-series-length")} vs ${priceRows}`);
    const buys = count(`SELECT count(*) FROM trade.log WHERE deployment_id = ${lit(newDep)} AND action = 'BUY'`);
    check("detail: the signal and the fill are drawn as markers over price",
      Number(await dchart.getAttribute("data-markers-long")) === 1 && Number(await dchart.getAttribute("data-markers-buy")) === buys && buys === 1,
      { long: await dchart.getAttribute("data-markers-long"), buy: await dchart.getAttribute("data-markers-buy"), buys });
    // live against the backtest of the same bars: the pinned version's quant.backtest_series, joined in SQL
    const lvb = page.getByTestId("live-vs-backtest");
    await lvb.waitFor();
    const lvbDb = JSON.parse(psql(`WITH d AS (SELECT * FROM trade.deployment WHERE deployment_id = ${lit(newDep)}),
        v AS (SELECT v.config FROM bt.strategy_version v, d WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version),
        s AS (SELECT * FROM v, quant.backtest_series(v.config))
      SELECT jsonb_build_object('compared', count(*) FILTER (WHERE s.position IS NOT NULL), 'matched', count(*) FILTER (WHERE s.position = g.signal),
                                'missing', count(*) FILTER (WHERE s.position IS NULL))
      FROM trade.signal g LEFT JOIN s ON s.ts = g.bar_ts WHERE g.deployment_id = ${lit(newDep)} AND g.source = 'schedule'`));
    const lvbUi = { compared: Number(await lvb.getAttribute("data-compared")), matched: Number(await lvb.getAttribute("data-matched")), missing: Number(await lvb.getAttribute("data-missing")) };
    check("detail: live signals against the backtest's positions on the same bars equal SQL's join", lvbUi.compared === lvbDb.compared && lvbUi.matched === lvbDb.matched && lvbUi.missing === lvbDb.missing && lvbDb.compared >= 1, { lvbUi, lvbDb });
    check("detail: the live signal is the backtest's position on its bar", lvbDb.matched === lvbDb.compared, lvbDb);
    const slip = await page.getByTestId("fills-vs-backtest").locator("tbody tr").evaluateAll((rs) => rs.map((r) => Number(r.dataset.slippage)));
    const slipDb = JSON.parse(psql(`WITH d AS (SELECT * FROM trade.deployment WHERE deployment_id = ${lit(newDep)}),
        v AS (SELECT v.config FROM bt.strategy_version v, d WHERE v.strategy_id = d.strategy_id AND v.version = d.strategy_version)
      SELECT coalesce(jsonb_agg((l.price - s.price)::float8 ORDER BY l.ts), '[]') FROM trade.log l CROSS JOIN v
      JOIN quant.backtest_series(v.config) s ON s.ts = l.bar_ts WHERE l.deployment_id = ${lit(newDep)} AND l.action IN ('BUY', 'SELL') AND l.success`));
    check("detail: each fill beside the backtest's close of its bar (the difference as SQL computes it)",
      slip.length === slipDb.length && slip.length >= 1 && [...slip].sort().every((x, i) => Math.abs(x - [...slipDb].sort()[i]) < 1e-9), { slip, slipDb });
    await shot(page, "20b-detail-live-vs-backtest");
    check("detail: the trades log has every row of the database",
      Number(await page.getByTestId("trades-log").getAttribute("data-total-rows")) === count(`SELECT count(*) FROM trade.log WHERE deployment_id = ${lit(newDep)}`));
    const auditDb = count(`SELECT count(*) FROM trade.audit WHERE entity_id = ${lit(newDep)}`);
    check("detail: the audit trail has the deployment's rows (the deploy at least)",
      auditDb >= 1 && Number(await page.getByTestId("audit-log").getAttribute("data-total-rows")) === auditDb, String(auditDb));
    await shot(page, "23-deployment-detail");
    const [dl] = await Promise.all([page.waitForEvent("download"), page.getByRole("heading", { name: /^Trades/ }).getByRole("button", { name: "CSV" }).click()]);
    const csvText = await (async () => { const chunks = []; for await (const c of await dl.createReadStream()) chunks.push(c); return Buffer.concat(chunks).toString("utf8"); })();
    const csvLines = csvText.trim().split(/\r\n/);
    check("detail: the trades CSV has a header and one line per trade", csvLines.length === 1 + count(`SELECT count(*) FROM trade.log WHERE deployment_id = ${lit(newDep)}`) && csvLines[0].includes("action"), csvLines.slice(0, 2));
    await page.getByLabel("Qty", { exact: true }).fill("12");
    await page.getByLabel("Stop loss (%)").fill("4");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByTestId("saved").waitFor();
    check("detail: qty and a limit edited (PATCH), in the database",
      psql(`SELECT qty::int || ' ' || (risk_limits->>'stop_loss_pct')::float8 FROM trade.deployment WHERE deployment_id = ${lit(newDep)}`) === "12 4");
    // the long log of the first deployment: virtualised, REJECTED rows and reasons highlighted
    await page.goto(`${BASE}/deployments/${DEPLOYMENT}`);
    const tlog = page.getByTestId("trades-log");
    await tlog.waitFor();
    const totalDb = count(`SELECT count(*) FROM trade.log WHERE deployment_id = ${lit(DEPLOYMENT)}`);
    const total = Number(await tlog.getAttribute("data-total-rows"));
    const rendered = await tlog.locator("tbody tr:not([aria-hidden])").count();
    check("detail: a 3,000-row log is complete but only a window of it is in the DOM", total === totalDb && totalDb > 3000 && rendered > 0 && rendered < 100, `${total}/${totalDb}, ${rendered} rendered`);
    const rej = tlog.locator("tbody tr.rejected").first();
    check("detail: REJECTED rows are highlighted with their reason", (await rej.count()) === 1 && (await rej.locator('[data-col="reason"]').innerText()) === "stale_bars");
    await tlog.evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await until(async () => (await tlog.locator("tbody tr:not([aria-hidden])").last().innerText()).includes("rejection 3000"), 10000);
    check("detail: scrolled to the end, the oldest row is rendered", (await tlog.locator("tbody tr:not([aria-hidden])").last().innerText()).includes("rejection 3000"));
    await shot(page, "24-deployment-long-log");

    // ---- a live deploy: refused without the password, accepted with it ----
    await page.goto(`${BASE}/strategies`);
    await page.locator(`tr[data-strategy-id="${RSI}"]`).getByRole("link", { name: "Deploy" }).click();
    await until(async () => (await page.getByLabel("Strategy JSON").inputValue()) !== "");
    await wizardStep(page, "Target");
    await page.getByLabel("Broker", { exact: true }).selectOption("FUTU");
    await page.getByLabel("Broker symbol").selectOption("US.TTRC");
    await page.getByLabel("Quantity per signal").fill("1");
    await page.getByLabel("Schedule").selectOption("manual");
    await wizardStep(page, "Paper or live");
    await page.getByRole("radio", { name: /Live/ }).check();
    await page.getByLabel("Confirmation").fill("LIVE US.TTRC");
    await wizardStep(page, "Review");
    check("wizard: the review says LIVE", (await page.getByTestId("review-mode").innerText()) === "LIVE");
    const liveBefore = count(`SELECT count(*) FROM trade.deployment WHERE strategy_id = ${lit(RSI)} AND NOT paper`);
    await page.getByRole("button", { name: "Deploy LIVE" }).click();
    await page.getByTestId("form-errors").waitFor();
    check("live: without the trade password the wizard sends nothing and says why",
      /trade password/.test(await page.getByTestId("form-errors").innerText()) && (await posts.locator('li[data-status="waiting"]').count()) === 3);
    const noPw = await page.evaluate(async (sid) => {
      const r = await fetch("/api/v1/deployments", { method: "POST", headers: { "Content-Type": "application/json", "X-Quant-Csrf": "1" },
        body: JSON.stringify({ strategy_id: sid, broker: "FUTU", qty: 1, paper: false, confirm_live: true }) });
      return { status: r.status, body: await r.json() };
    }, RSI);
    check("live: the server refuses paper=false without the trade password (403)", noPw.status === 403 && /trade_password/.test(noPw.body.detail), noPw);
    await wizardStep(page, "Paper or live");
    await page.getByLabel("Trade password").fill("not-the-trade-password");
    await wizardStep(page, "Review");
    await page.getByRole("button", { name: "Deploy LIVE" }).click();
    await posts.locator('li[data-step="deployment"][data-status="failed"]').waitFor();
    const wrong = await posts.locator('li[data-step="deployment"]').innerText();
    check("live: a wrong trade password is refused (403) and its detail shown",
      (await posts.locator('li[data-step="deployment"]').getAttribute("data-http")) === "403" && /wrong trade password/.test(wrong), wrong);
    check("live: nothing deployed after the refusals", count(`SELECT count(*) FROM trade.deployment WHERE strategy_id = ${lit(RSI)} AND NOT paper`) === liveBefore);
    await shot(page, "20-wizard-live-refused");
    await wizardStep(page, "Paper or live");
    await page.getByLabel("Trade password").fill(TRADE_PW);
    await wizardStep(page, "Review");
    const liveJson = await page.getByTestId("json-deployment").innerText();
    check("live: the review masks the trade password", !liveJson.includes(TRADE_PW) && /"trade_password": "•+"/.test(liveJson), liveJson);
    await page.getByRole("button", { name: "Retry" }).click();
    await page.getByTestId("deployed").waitFor();
    const liveDep = await page.getByTestId("deployed").getAttribute("data-deployment-id");
    check("live: accepted with the trade password (LIVE on FUTU US.TTRC)",
      psql(`SELECT paper || ' ' || broker || ' ' || ticker FROM trade.deployment WHERE deployment_id = ${lit(liveDep)}`) === "false FUTU US.TTRC");
    await shot(page, "21-wizard-live-deployed");
    await page.getByRole("link", { name: "Dashboard" }).click();
    await until(async () => (await page.getByTestId("mode-badge").getAttribute("data-live")) === "1", 20000);
    check("always visible: the header says LIVE ×1 once a live deployment runs", (await page.getByTestId("mode-badge").innerText()) === "LIVE ×1");

    // ---- a bad strategy shows the field error ----
    await page.goto(`${BASE}/strategies/${RSI}/deploy`);
    const box = page.getByLabel("Strategy JSON");
    await box.waitFor();
    await until(async () => (await box.inputValue()) !== "");
    const badCfg = JSON.parse(await box.inputValue());
    delete badCfg.strategy_id;
    badCfg.substrategies[0].window = 1;
    await box.fill(JSON.stringify(badCfg, null, 2));
    await wizardStep(page, "Target");
    await page.getByLabel("Quantity per signal").fill("5");
    await wizardStep(page, "Review");
    const strategiesBefore = count(`SELECT count(*) FROM bt.strategy WHERE user_id = ${lit(ALICE)}`);
    await page.getByRole("button", { name: "Deploy on paper" }).click();
    await posts.locator('li[data-step="strategy"][data-status="failed"]').waitFor();
    const stepText = await posts.locator('li[data-step="strategy"]').innerText();
    check("bad strategy: POST /strategies is 422 and the field is named",
      (await posts.locator('li[data-step="strategy"]').getAttribute("data-http")) === "422" && /field: .*window/.test(stepText), stepText);
    check("bad strategy: nothing stored, the later POSTs not sent",
      count(`SELECT count(*) FROM bt.strategy WHERE user_id = ${lit(ALICE)}`) === strategiesBefore &&
      (await posts.locator('li[data-status="waiting"]').count()) === 2);
    await shot(page, "22-wizard-bad-strategy");

    // ---- strategies: version history with a diff, soft delete ----
    const put = await page.evaluate(async ([sid, cfg]) => {
      const c = JSON.parse(cfg);
      c.substrategies[0].window = 15;
      const r = await fetch(`/api/v1/strategies/${sid}`, { method: "PUT", headers: { "Content-Type": "application/json", "X-Quant-Csrf": "1" }, body: JSON.stringify(c) });
      return { status: r.status, version: (await r.json()).version };
    }, [RSI, RSI_CONFIG_SQL]);
    check("versions: a PUT with another window makes version 2", put.status === 200 && put.version === 2, put);
    await page.goto(`${BASE}/strategies/${RSI}/backtest`);
    const versions = page.getByTestId("versions");
    await versions.waitFor();
    await versions.locator("summary").click();
    const diff = page.getByTestId("diff");
    check("versions: the history lists both versions", (await versions.getAttribute("data-count")) === String(count(`SELECT count(*) FROM bt.strategy_version WHERE strategy_id = ${lit(RSI)}`)));
    const diffText = await diff.innerText();
    check("versions: the diff v1 → v2 is the window line only", (await diff.getAttribute("data-removed")) === "1" && (await diff.getAttribute("data-added")) === "1" && /- +"window": 14/.test(diffText) && /\+ +"window": 15/.test(diffText), diffText);
    await shot(page, "28-version-diff");
    const made = await page.evaluate(async () => {
      const r = await fetch("/api/v1/strategies", { method: "POST", headers: { "Content-Type": "application/json", "X-Quant-Csrf": "1" },
        body: JSON.stringify({ name: "ui throwaway", ticker: "TTRC", trading_period: 252, substrategies: [{ indicator: "get_rsi", signal_func: "reversion_bounded_signal", window: 21, signal: 30 }] }) });
      return { status: r.status, body: await r.json() };
    });
    check("delete: a throwaway strategy to delete (POST 201)", made.status === 201 && typeof made.body.strategy_id === "string", made);
    const tmp = made.body.strategy_id;
    await page.goto(`${BASE}/strategies`);
    await page.locator(`tr[data-strategy-id="${RSI}"]`).getByRole("button", { name: "Delete" }).click();
    await page.getByTestId("confirm").getByRole("button", { name: "Delete" }).click();
    await page.getByTestId("problem").waitFor();
    check("delete: a strategy with running deployments is refused (409) with the hint",
      (await page.getByTestId("problem").getAttribute("data-status")) === "409" && /stop them first/.test(await page.getByTestId("problem").innerText()) &&
      psql(`SELECT deleted_at IS NULL FROM bt.strategy WHERE strategy_id = ${lit(RSI)}`) === "t");
    await page.locator(`tr[data-strategy-id="${tmp}"]`).getByRole("button", { name: "Delete" }).click();
    check("delete: asks first", psql(`SELECT deleted_at IS NULL FROM bt.strategy WHERE strategy_id = ${lit(tmp)}`) === "t");
    await page.getByTestId("confirm").getByRole("button", { name: "Delete" }).click();
    await page.locator(`tr[data-strategy-id="${tmp}"]`).waitFor({ state: "detached" });
    check("delete: soft-deleted in the database and gone from the list", psql(`SELECT deleted_at IS NOT NULL FROM bt.strategy WHERE strategy_id = ${lit(tmp)}`) === "t");

    // ---- clone (POST /strategies/{id}/clone) ----
    await page.goto(`${BASE}/strategies`);
    const before = count(`SELECT count(*) FROM bt.strategy WHERE user_id = ${lit(ALICE)} AND deleted_at IS NULL`);
    await page.locator(`tr[data-strategy-id="${STRATEGY}"]`).getByRole("button", { name: "Clone" }).click();
    await page.getByTestId("cloned").waitFor();
    const cloneId = await page.getByTestId("cloned").getAttribute("data-id");
    check("clone: one more strategy of alice's, listed", count(`SELECT count(*) FROM bt.strategy WHERE user_id = ${lit(ALICE)} AND deleted_at IS NULL`) === before + 1 &&
      (await page.locator(`tr[data-strategy-id="${cloneId}"]`).count()) === 1, cloneId);
    check("clone: the same parameters as the original, a new id, \"(copy)\"", psql(`SELECT (SELECT v.params_hash FROM bt.strategy s JOIN bt.strategy_version v ON v.strategy_id = s.strategy_id AND v.version = s.current_version WHERE s.strategy_id = ${lit(STRATEGY)})
      = (SELECT params_hash FROM bt.strategy_version WHERE strategy_id = ${lit(cloneId)} AND version = 1) AND (SELECT name FROM bt.strategy WHERE strategy_id = ${lit(cloneId)}) LIKE '% (copy)'`) === "t");
    await shot(page, "13-cloned");

    // ---- the strategy editor: 3 substrategies from the catalogs, the JSON tab round-trips ----
    await page.goto(`${BASE}/strategies/new`);
    const form = page.getByTestId("editor-form");
    await form.waitFor();
    await page.getByLabel("Name", { exact: true }).fill("ui editor three");
    await page.getByLabel("Ticker").fill("TTRC");
    await page.getByLabel("Join").selectOption("OR");
    await page.getByRole("button", { name: /^Add substrategy/ }).click();
    await page.getByRole("button", { name: /^Add substrategy/ }).click();
    check("editor: three substrategies", (await form.getAttribute("data-subs")) === "3");
    const indOptions = await page.getByLabel("indicator 1").locator("option").evaluateAll((os) => os.map((o) => o.value));
    check("editor: the indicator choices are the catalog's", JSON.stringify(indOptions.sort()) === JSON.stringify(psql(`SELECT string_agg(name, ',' ORDER BY name) FROM refdata.indicator`).split(",")), indOptions);
    await page.getByLabel("indicator 1").selectOption("get_rsi");
    const lockedAttr = await page.getByLabel("signal 1").getAttribute("data-locked");
    const rsiRange = psql(`SELECT signal_min || '..' || signal_max FROM refdata.indicator WHERE name = 'get_rsi'`);
    check("editor: a bounded indicator locks its signal range (the catalog's)", lockedAttr === rsiRange, `${lockedAttr} vs ${rsiRange}`);
    const fnOptions = await page.getByLabel("signal function 1").locator("option").evaluateAll((os) => os.map((o) => o.value));
    check("editor: a bounded indicator offers the bounded signal functions only", JSON.stringify(fnOptions.sort()) === JSON.stringify(psql(`SELECT string_agg(name, ',' ORDER BY name) FROM refdata.signal_func WHERE for_bounded`).split(",")), fnOptions);
    await page.getByLabel("signal function 1").selectOption("reversion_bounded_signal");
    await page.getByLabel("window 1").fill("14");
    await page.getByLabel("signal 1").fill("30");
    await page.getByLabel("indicator 2").selectOption("get_sma_distance");
    await page.getByLabel("column 2").selectOption("close");
    await page.getByLabel("window 2").fill("20");
    await page.getByLabel("signal 2").fill("0.02");
    await page.getByLabel("indicator 3").selectOption("get_stochastic_oscillator");
    await page.getByLabel("signal function 3").selectOption("momentum_bounded_signal");
    await page.getByLabel("window 3").fill("9");
    await page.getByLabel("signal 3").fill("70");
    await shot(page, "14-editor-form");
    await page.getByRole("tab", { name: "JSON" }).click();
    const area = page.getByLabel("StrategyConfig JSON");
    const j1 = JSON.parse(await area.inputValue());
    const wantSubs = [
      { id: 1, indicator: "get_rsi", signal_func: "reversion_bounded_signal", window: 14, signal: 30, data_column: "v" },
      { id: 2, indicator: "get_sma_distance", signal_func: j1.substrategies?.[1]?.signal_func, window: 20, signal: 0.02, data_column: "close" },
      { id: 3, indicator: "get_stochastic_oscillator", signal_func: "momentum_bounded_signal", window: 9, signal: 70, data_column: "v" },
    ];
    check("editor: the JSON tab is the form's StrategyConfig", j1.name === "ui editor three" && j1.conjunction === "OR" && JSON.stringify(j1.substrategies) === JSON.stringify(wantSubs), j1);
    // edit the JSON, back to the form, back to JSON: the same text
    j1.substrategies[1].window = 33;
    await area.fill(JSON.stringify(j1, null, 2));
    await page.getByRole("tab", { name: "Form" }).click();
    await form.waitFor();
    check("editor: an edit in the JSON tab reaches the form", (await page.getByLabel("window 2").inputValue()) === "33");
    await page.getByRole("tab", { name: "JSON" }).click();
    check("editor: form → JSON → form → JSON round-trips", (await area.inputValue()) === JSON.stringify(j1, null, 2));
    const badJson = structuredClone(j1);
    badJson.substrategies[0].signal = 150;
    badJson.substrategies[2].data_column = "nope";
    await area.fill(JSON.stringify(badJson));
    await page.getByRole("button", { name: "Validate" }).click();
    const errFields = await page.getByTestId("json-errors").locator("li").evaluateAll((ls) => ls.map((l) => l.dataset.field));
    check("editor: the JSON tab validates, naming each field", errFields.includes("substrategies[0].signal") && errFields.includes("substrategies[2].data_column") && errFields.length === 2, errFields);
    await page.getByRole("tab", { name: "Form" }).click();
    check("editor: an invalid JSON does not replace the form", (await page.getByTestId("editor-json").count()) === 1);
    await shot(page, "15-editor-json-errors");
    await area.fill(JSON.stringify(j1, null, 2));
    await page.getByRole("button", { name: "Create strategy" }).click();
    await page.locator("[data-testid=saved], [data-testid=problem]").first().waitFor();
    check("editor: created without a problem", (await page.getByTestId("problem").count()) === 0, (await page.getByTestId("problem").count()) ? await page.getByTestId("problem").innerText() : "");
    const newId = await page.getByTestId("saved").getAttribute("data-id");
    const stored = JSON.parse(psql(`SELECT config FROM bt.strategy_version WHERE strategy_id = ${lit(newId)} AND version = 1`));
    const norm = (xs) => xs.map((x) => ({ id: x.id, indicator: x.indicator, signal_func: x.signal_func, window: x.window, signal: Number(x.signal), data_column: x.data_column }));
    check("editor: saved as alice's strategy with the 3 substrategies and OR",
      stored.conjunction === "OR" && JSON.stringify(norm(stored.substrategies)) === JSON.stringify(norm(j1.substrategies)) && psql(`SELECT user_id FROM bt.strategy WHERE strategy_id = ${lit(newId)}`) === ALICE, stored);
    await page.goto(`${BASE}/strategies/${newId}/edit`);
    await form.waitFor();
    await page.getByRole("tab", { name: "JSON" }).click();
    const reopened = JSON.parse(await area.inputValue());
    check("editor: reopening the stored strategy gives the same StrategyConfig", JSON.stringify(norm(reopened.substrategies)) === JSON.stringify(norm(j1.substrategies)) && reopened.name === j1.name, reopened);
    await shot(page, "16-editor-reopened");

    // ---- the dashboard and its kill switch ----
    // the dashboard comes from one request (GET /api/v1/dashboard), never one per deployment
    const dashReqs = [];
    const onDash = (rq) => { const u = new URL(rq.url()).pathname; if (rq.method() === "GET" && (u === "/api/v1/dashboard" || u.startsWith("/api/v1/deployments/"))) dashReqs.push(u); };
    page.on("request", onDash);
    t0 = Date.now();
    await page.goto(BASE + "/deployments");
    const row = page.locator(`tr[data-deployment-id="${DEPLOYMENT}"]`);
    await row.waitFor();
    console.log(`# figure: page load to interactive dashboard ${Date.now() - t0} ms`);
    page.off("request", onDash);
    const nRows = Number(await page.getByTestId("deployments").getAttribute("data-rows"));
    check("dashboard: one GET /api/v1/dashboard for all rows, no GET per deployment", dashReqs.length === 1 && dashReqs[0] === "/api/v1/dashboard" && nRows >= 2, { dashReqs, nRows });
    // each row's trades today and P&L against the tables (an independent query, not the function)
    const wantRows = JSON.parse(psql(`SELECT coalesce(jsonb_agg(jsonb_build_object('id', d.deployment_id,
        'today', (SELECT count(*) FROM trade."order" o WHERE o.deployment_id = d.deployment_id AND o.status <> 'REJECTED' AND (o.created_at AT TIME ZONE 'UTC')::date = (now() AT TIME ZONE 'UTC')::date)
                 || ' / ' || coalesce(d.risk_limits->>'max_daily_trades', '10'),
        'realized', coalesce(p.realized_pnl, 0), 'qty', coalesce(p.qty, 0), 'avg', p.avg_price, 'price', paper.price_of(d.ticker))), '[]')
      FROM trade.deployment d LEFT JOIN trade.position p USING (deployment_id) WHERE d.user_id = ${lit(ALICE)} AND d.stopped_at IS NULL`));
    const shownRows = await page.getByTestId("deployments").locator("tbody tr[data-deployment-id]").evaluateAll((rs) =>
      rs.map((r) => ({ id: r.dataset.deploymentId, today: r.querySelector("[data-col=today]").textContent, pnl: r.querySelector("[data-col=pnl]").dataset.value })));
    const badRows = wantRows.filter((w) => {
      const s = shownRows.find((x) => x.id === w.id);
      const pnl = w.realized + (Number(w.qty) === 0 ? 0 : (w.price - w.avg) * w.qty);
      return !s || s.today !== w.today || Math.abs(Number(s.pnl) - pnl) > 1e-6;
    });
    check("dashboard: every row's trades today / limit and P&L equal the tables'", wantRows.length === shownRows.length && badRows.length === 0, { badRows, shownRows });
    const rowText = await row.innerText();
    check("dashboard: the deployment's row (PAPER, broker, ticker, qty)",
      rowText.includes("PAPER") && rowText.includes("TTRC") && rowText.includes("10") && (await row.getAttribute("data-enabled")) === "true", rowText);
    const sig = psql(`SELECT signal::int || ' ' || to_char(bar_ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI') FROM trade.signal WHERE deployment_id = ${lit(DEPLOYMENT)} ORDER BY bar_ts DESC, created_at DESC LIMIT 1`);
    const [sv, sd, st] = sig.split(" ");
    const wantSig = sig === "" ? "–" : `${{ "1": "LONG", "0": "FLAT", "-1": "SHORT" }[sv]} @ ${sd} ${st} UTC`;
    console.log(`# the database's newest signal of the deployment: ${sig || "none"}`);
    check("dashboard: the last signal is the database's newest signal", rowText.includes(wantSig), `${wantSig} in ${rowText}`);
    await shot(page, "06-deployments");
    await row.getByRole("button", { name: "Disable" }).click();
    const dialog = page.getByTestId("confirm");
    await dialog.waitFor();
    check("kill switch: asks for confirmation first", await dialog.isVisible());
    check("kill switch: nothing changed before the confirmation", psql(`SELECT enabled FROM trade.deployment WHERE deployment_id = ${lit(DEPLOYMENT)}`) === "t");
    await shot(page, "07-kill-confirm");
    await dialog.getByRole("button", { name: "Disable" }).click();
    await page.locator(`tr[data-deployment-id="${DEPLOYMENT}"][data-enabled="false"]`).waitFor();
    check("kill switch: the database has the deployment disabled",
      psql(`SELECT enabled FROM trade.deployment WHERE deployment_id = ${lit(DEPLOYMENT)}`) === "f");
    await shot(page, "08-killed");
    // "disable all": a confirmation first, then every enabled deployment of alice's is disabled
    const enabledBefore = count(`SELECT count(*) FROM trade.deployment WHERE user_id = ${lit(ALICE)} AND enabled`);
    await page.getByRole("button", { name: /^Disable all/ }).click();
    await page.getByTestId("confirm").waitFor();
    check("disable all: asks first, nothing changed yet", enabledBefore >= 1 && count(`SELECT count(*) FROM trade.deployment WHERE user_id = ${lit(ALICE)} AND enabled`) === enabledBefore, String(enabledBefore));
    await shot(page, "08b-disable-all-confirm");
    // one POST /deployments/disable_all, no PATCH per deployment
    const bulk = [];
    const onBulk = (rq) => { if (rq.url().includes("/api/v1/deployments") && rq.method() !== "GET") bulk.push(`${rq.method()} ${new URL(rq.url()).pathname}`); };
    page.on("request", onBulk);
    await page.getByTestId("confirm").getByRole("button", { name: "Disable all" }).click();
    await until(async () => (await page.getByTestId("disabling").count()) === 1 && (await page.getByTestId("disabling").innerText()) === `${enabledBefore} disabled`, 15000);
    page.off("request", onBulk);
    check("disable all: one POST /api/v1/deployments/disable_all and no PATCH", bulk.length === 1 && bulk[0] === "POST /api/v1/deployments/disable_all", bulk);
    check("disable all: audited as disable_all for each", count(`SELECT count(*) FROM trade.audit WHERE action = 'disable_all' AND entity_id IN (SELECT deployment_id FROM trade.deployment WHERE user_id = ${lit(ALICE)})`) === enabledBefore);
    check("disable all: none of alice's deployments is enabled in the database", count(`SELECT count(*) FROM trade.deployment WHERE user_id = ${lit(ALICE)} AND enabled`) === 0);

    // ---- CSRF: a mutation by cookie without the header is refused ----
    const csrf = await page.evaluate(async (id) => {
      const r = await fetch(`/api/v1/deployments/${id}`, { method: "PATCH", headers: { "Content-Type": "application/json" }, body: '{"enabled": true}' });
      return { status: r.status, body: await r.json() };
    }, DEPLOYMENT);
    check("csrf: a PATCH by cookie without X-Quant-Csrf is 403", csrf.status === 403, csrf);
    check("csrf: and changed nothing", psql(`SELECT enabled FROM trade.deployment WHERE deployment_id = ${lit(DEPLOYMENT)}`) === "f");

    // ---- API keys keep working ----
    const byKey = await fetch(`${BASE}/api/v1/session`, { headers: { Authorization: `Bearer ${KEY}` } });
    check("api key: GET /api/v1/session by Bearer key names alice", byKey.status === 200 && (await byKey.json()).user === ALICE);

    // ---- the API unreachable banner ----
    // every API call but the session's gets no answer (a call that succeeds would end the banner)
    const down = (u) => u.pathname.startsWith("/api/v1/") && u.pathname !== "/api/v1/session";
    await page.route(down, (r) => r.abort("connectionrefused"));
    await page.reload();
    await page.getByTestId("unreachable").waitFor();
    check("banner: API unreachable is shown when the API does not answer", await page.getByTestId("unreachable").isVisible());
    await shot(page, "09-unreachable");
    await page.unroute(down);

    // ---- logout ----
    await page.getByRole("button", { name: "Log out" }).click();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    check("logout: the login page again", true);
    check("logout: the session is ended in the database",
      psql(`SELECT count(*) FROM trade.session WHERE user_id = ${lit(ALICE)} AND revoked_at IS NULL`) === "0");
    const after = await page.evaluate(async () => (await fetch("/api/v1/session")).status);
    check("logout: the cookie no longer authenticates", after === 401, String(after));

    // ---- bob cannot see alice's strategies ----
    await login(page, BOB, BOB_PW);
    await page.getByTestId("user").waitFor();
    check("bob: logged in as bob", (await page.getByTestId("user").innerText()) === BOB);
    await page.getByTestId("strategies").waitFor();
    const bobIds = await page.getByTestId("strategies").locator("tbody tr[data-strategy-id]").evaluateAll((rs) => rs.map((r) => r.dataset.strategyId));
    check("bob: alice's strategy is not in bob's list", !bobIds.includes(STRATEGY), bobIds);
    await shot(page, "10-bob-strategies");
    await page.goto(`${BASE}/strategies/${STRATEGY}/backtest`);
    await page.getByTestId("problem").waitFor();
    const bobProblem = page.getByTestId("problem");
    check("bob: alice's strategy by its address is 404", (await bobProblem.getAttribute("data-status")) === "404", await bobProblem.innerText());
    await shot(page, "11-bob-404");
    await page.getByRole("link", { name: "Deployments" }).click();
    await page.getByTestId("deployments").waitFor();
    check("bob: alice's deployment is not on bob's dashboard", (await page.locator(`tr[data-deployment-id="${DEPLOYMENT}"]`).count()) === 0);

    // ---- session expiry ----
    psql(`UPDATE trade.session SET expires_at = now() - interval '1 second' WHERE user_id = ${lit(BOB)}`);
    await page.reload();
    await page.getByRole("button", { name: "Log in" }).waitFor();
    check("expiry: an expired session gets the login page", true);

    // ---- lockout: the trade password's rule (5 wrong in a row lock for 15 minutes) ----
    const post = (user, password) => fetch(`${BASE}/api/v1/session`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ user, password }) });
    const statuses = [];
    for (let i = 0; i < 5; i++) statuses.push((await post(CAROL, "wrong-password")).status);
    const locked = await post(CAROL, CAROL_PW);
    const lockedBody = await locked.json();
    check("lockout: 5 wrong passwords are 401 each", statuses.every((s) => s === 401), statuses);
    check("lockout: then even the right password is refused (429, locked until ..)", locked.status === 429 && /locked/.test(lockedBody.detail), lockedBody);
    psql(`SELECT quant.set_person_password(${lit(CAROL)}, ${lit(CAROL_PW)})`);
    check("lockout: an administrator's reset unlocks it", (await post(CAROL, CAROL_PW)).status === 200);

    // ---- logins, by an administrator person (/admin) ----
    const carolMe = page.waitForResponse((r) => r.url().endsWith("/api/v1/admin/me"));
    await login(page, CAROL, CAROL_PW);
    await page.getByTestId("user").waitFor();
    check("admin: /admin/me says carol is no administrator", (await (await carolMe).json()).admin === false);
    check("admin: no Admin link for carol (GET /admin/me)", (await page.getByRole("navigation", { name: "pages" }).getByRole("link", { name: "Admin" }).count()) === 0);
    await page.goto(`${BASE}/admin`);
    await page.getByTestId("problem").waitFor();
    check("admin: carol (not an administrator) gets the 403 problem", (await page.getByTestId("problem").getAttribute("data-status")) === "403");
    await page.getByRole("button", { name: "Log out" }).click();
    await login(page, ADMIN, ADMIN_PW);
    await page.getByTestId("user").waitFor();
    await page.getByRole("navigation", { name: "pages" }).getByRole("link", { name: "Admin" }).click();
    const logins = page.getByTestId("logins");
    await logins.waitFor();
    check("admin: every login is listed", Number(await logins.getAttribute("data-rows")) === count(`SELECT count(*) FROM trade.person`));
    const NEWU = `${ADMIN}_new`;
    await page.getByLabel("User name").fill(NEWU);
    await page.getByLabel("Initial password").fill("short");
    await page.getByRole("button", { name: "Create login" }).click();
    await page.getByTestId("problem").waitFor();
    check("admin: a short password is refused naming the field", /password/.test(await page.getByTestId("problem").innerText()) && count(`SELECT count(*) FROM trade.person WHERE user_id = ${lit(NEWU)}`) === 0);
    await page.getByLabel("Initial password").fill("first-pass-123");
    await page.getByRole("button", { name: "Create login" }).click();
    await page.locator(`tr[data-user="${NEWU}"]`).waitFor();
    check("admin: the new login is in the database", count(`SELECT count(*) FROM trade.person WHERE user_id = ${lit(NEWU)} AND NOT admin`) === 1);
    for (let i = 0; i < 5; i++) await post(NEWU, "wrong-password");
    await page.reload();
    await page.locator(`tr[data-user="${NEWU}"][data-locked="true"]`).waitFor();
    check("admin: 5 wrong passwords show it locked", (await post(NEWU, "first-pass-123")).status === 429);
    await shot(page, "17-admin-locked");
    await page.locator(`tr[data-user="${NEWU}"]`).getByRole("button", { name: "Unlock" }).click();
    await page.getByTestId("confirm").getByRole("button", { name: "Unlock" }).click();
    await page.locator(`tr[data-user="${NEWU}"][data-locked="false"]`).waitFor();
    check("admin: unlocked: the password logs in again", (await post(NEWU, "first-pass-123")).status === 200);
    await page.getByLabel(`new password of ${NEWU}`).fill("second-pass-456");
    await page.locator(`tr[data-user="${NEWU}"]`).getByRole("button", { name: "Reset password" }).click();
    await page.getByTestId("confirm").getByRole("button", { name: "Reset password" }).click();
    await page.getByTestId("admin-done").waitFor();
    check("admin: reset: the old password fails, the new one logs in", (await post(NEWU, "first-pass-123")).status === 401 && (await post(NEWU, "second-pass-456")).status === 200);
    await shot(page, "18-admin");
    await page.getByRole("button", { name: "Log out" }).click();

    // ---- phone width ----
    await page.setViewportSize({ width: 390, height: 800 });
    await login(page, ALICE, ALICE_PW);
    await page.getByTestId("strategies").waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check("phone width: no page-wide horizontal scroll on the strategies page", overflow <= 1, String(overflow));
    await shot(page, "12-phone-strategies");

    // ---- every page at 1280 px and at phone width (390 px), kept as artifacts ----
    const pages = [
      ["strategies", "/strategies", "strategies"],
      ["editor", "/strategies/new", "editor-form"],
      ["backtest", `/strategies/${RSI}/backtest`, "versions"],
      ["optimise", `/strategies/${RSI}/optimise`, null],
      ["deploy", `/strategies/${RSI}/deploy`, null],
      ["deployments", "/deployments", "deployments"],
      ["deployment", `/deployments/${DEPLOYMENT}`, "trades-log"],
      ["admin", "/admin", "problem"],
    ];
    for (const [w, h] of [[1280, 900], [390, 800]]) {
      await page.setViewportSize({ width: w, height: h });
      for (const [name, path, testId] of pages) {
        await page.goto(BASE + path);
        if (testId) await page.getByTestId(testId).first().waitFor();
        else await page.locator("main h1").first().waitFor();
        const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        console.log(`# layout: ${name} at ${w} px: ${over > 1 ? `${over} px wider than the screen` : "fits"}`);
        await shot(page, `page-${w}-${name}`);
      }
    }
    const missingShots = pages.flatMap(([name]) => [1280, 390].map((w) => `page-${w}-${name}.png`)).filter((f) => !existsSync(join(SHOTS, f)));
    check(`screenshots: every page (${pages.length}) at 1280 px and at 390 px`, missingShots.length === 0, missingShots);
  } finally {
    await browser.close();
  }
}

main()
  .catch((e) => check("browser run", false, e.stack || String(e)))
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
