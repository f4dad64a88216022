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

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
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
    await shot(page, "04-backtest");

    // ---- a bad request shows the problem's detail and field ----
    await page.getByLabel("Fee (bps)").fill("-5");
    await page.getByRole("button", { name: "Run backtest" }).click();
    await page.getByTestId("problem").waitFor();
    const feeProblem = await page.getByTestId("problem").innerText();
    check("backtest: a negative fee shows the server's problem detail", /fee/i.test(feeProblem), feeProblem);
    await shot(page, "05-backtest-problem");

    // ---- the dashboard and its kill switch ----
    t0 = Date.now();
    await page.goto(BASE + "/deployments");
    const row = page.locator(`tr[data-deployment-id="${DEPLOYMENT}"]`);
    await row.waitFor();
    console.log(`# figure: page load to interactive dashboard ${Date.now() - t0} ms`);
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
    await page.route("**/api/v1/deployments", (r) => r.abort("connectionrefused"));
    await page.reload();
    await page.getByTestId("unreachable").waitFor();
    check("banner: API unreachable is shown when the API does not answer", await page.getByTestId("unreachable").isVisible());
    await shot(page, "09-unreachable");
    await page.unroute("**/api/v1/deployments");

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

    // ---- phone width ----
    await page.setViewportSize({ width: 390, height: 800 });
    await login(page, ALICE, ALICE_PW);
    await page.getByTestId("strategies").waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check("phone width: no page-wide horizontal scroll on the strategies page", overflow <= 1, String(overflow));
    await shot(page, "12-phone-strategies");
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
