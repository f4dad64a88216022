// The web UI's performance figures in a real browser (Debian's chromium through playwright-core),
// against the stack test/sql/ui.sh starts: time to an interactive dashboard, the backtest page of
// the 5,550-bar sample, and a 100,000-bar series (/bench/chart), with frame times (the deltas
// between requestAnimationFrame callbacks) while each chart is zoomed and panned. Never asserts a
// time: it checks that each thing was drawn and prints "# figure: ..." lines (bench/README.md
// records them) and $UI_SHOTS/perf.json. Last line "N passed, N failed".
//
// Environment: BASE_URL, UI_SHOTS, CHROMIUM, UI_ALICE, UI_ALICE_PW, ALICE_RSI; PG* for psql.
import { createRequire } from "node:module";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
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
const [ALICE, ALICE_PW, RSI] = ["UI_ALICE", "UI_ALICE_PW", "ALICE_RSI"].map(env);
const psql = (sql) => execFileSync("psql", ["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql], { encoding: "utf8" }).trim();

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
const figures = {};
function figure(key, text, value) {
  figures[key] = value;
  console.log(`# figure: ${text}`);
}

// Frame times while fn() interacts with the page: rAF deltas (ms), summarised.
async function frames(page, fn) {
  await page.evaluate(() => {
    window.__frames = [];
    window.__stop = false;
    let last = performance.now();
    const tick = (t) => {
      window.__frames.push(t - last);
      last = t;
      if (!window.__stop) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  await fn();
  const d = await page.evaluate(() => {
    window.__stop = true;
    return window.__frames.slice(1);
  });
  const s = [...d].sort((a, b) => a - b);
  const q = (p) => (s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN);
  return { frames: s.length, p50: +q(0.5).toFixed(1), p95: +q(0.95).toFixed(1), max: +(s[s.length - 1] ?? NaN).toFixed(1), over50: s.filter((x) => x > 50).length };
}

// Zoom in and out with the wheel and pan by dragging, over the chart's box, for a few seconds.
async function interact(page, testId) {
  const box = await page.getByTestId(testId).boundingBox();
  const x = box.x + box.width / 2;
  const y = box.y + box.height / 2;
  await page.mouse.move(x, y);
  for (let i = 0; i < 15; i++) {
    await page.mouse.wheel(0, -240);
    await page.waitForTimeout(40);
  }
  await page.mouse.down();
  for (let i = 0; i < 30; i++) {
    await page.mouse.move(x + (i % 10 < 5 ? i * 8 : (10 - i) * 8), y, { steps: 2 });
    await page.waitForTimeout(16);
  }
  await page.mouse.up();
  for (let i = 0; i < 15; i++) {
    await page.mouse.wheel(0, 240);
    await page.waitForTimeout(40);
  }
}

async function main() {
  const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"] });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.setDefaultTimeout(60000);
    await page.goto(BASE + "/");
    await page.getByLabel("User name").fill(ALICE);
    await page.getByLabel("Password").fill(ALICE_PW);
    await page.getByRole("button", { name: "Log in" }).click();
    await page.getByTestId("user").waitFor();

    // ---- time to an interactive dashboard: a fresh load of /deployments until its rows are there ----
    const ttis = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(BASE + "/deployments");
      await page.locator("[data-testid=deployments] tbody tr[data-deployment-id]").first().waitFor();
      ttis.push(await page.evaluate(() => performance.now()));
    }
    const rows = await page.getByTestId("deployments").getAttribute("data-rows");
    check("dashboard: drawn with its rows", Number(rows) >= 1, rows);
    ttis.sort((a, b) => a - b);
    figure("dashboard_tti_ms", `dashboard time to interactive (navigation start to rows, median of 5): ${ttis[2].toFixed(0)} ms (${rows} deployments)`, +ttis[2].toFixed(0));

    // ---- the backtest page of the 5,550-bar sample ----
    const bars = Number(psql(`SELECT count(*) FROM md.bar WHERE ticker = 'TTRC'`));
    await page.goto(`${BASE}/strategies/${RSI}/backtest`);
    const t0 = await page.evaluate(() => performance.now());
    await page.getByRole("button", { name: "Run backtest" }).click();
    await page.locator("[data-testid=price-chart] canvas").first().waitFor();
    await page.locator("[data-testid=equity-chart] canvas").first().waitFor();
    const t1 = await page.evaluate(() => performance.now());
    const drawn = Number(await page.getByTestId("price-chart").getAttribute("data-series-length"));
    check(`backtest: the price chart draws the sample's bars (${bars})`, drawn > 5000 && drawn <= bars, `${drawn} of ${bars}`);
    figure("backtest_click_to_charts_ms", `backtest page, ${drawn} bars: click to drawn charts ${(t1 - t0).toFixed(0)} ms`, +(t1 - t0).toFixed(0));
    await page.getByTestId("price-chart").scrollIntoViewIfNeeded();
    const fb = await frames(page, () => interact(page, "price-chart"));
    check("backtest: frames were recorded while zooming and panning", fb.frames > 20, fb);
    figure("backtest_frames", `backtest page (${drawn} bars) zoom/pan frame times: p50 ${fb.p50} ms, p95 ${fb.p95} ms, max ${fb.max} ms, ${fb.over50} of ${fb.frames} frames over 50 ms`, fb);
    await page.screenshot({ path: join(SHOTS, "perf-backtest.png"), fullPage: true });

    // ---- a 100,000-bar series ----
    await page.goto(`${BASE}/bench/chart?n=100000`);
    const c0 = await page.evaluate(() => performance.now());
    await page.locator("[data-testid=bench-chart] canvas").first().waitFor();
    const c1 = await page.evaluate(() => performance.now());
    const n = Number(await page.getByTestId("bench-chart").getAttribute("data-series-length"));
    check("100k series: the chart holds 100,000 points", n === 100000, String(n));
    figure("series100k_draw_ms", `100,000-bar series: page script to drawn canvas ${(c1 - c0).toFixed(0)} ms (navigation start to drawn ${c1.toFixed(0)} ms)`, +c1.toFixed(0));
    const fc = await frames(page, () => interact(page, "bench-chart"));
    check("100k series: frames were recorded while zooming and panning", fc.frames > 20, fc);
    figure("series100k_frames", `100,000-bar series zoom/pan frame times: p50 ${fc.p50} ms, p95 ${fc.p95} ms, max ${fc.max} ms, ${fc.over50} of ${fc.frames} frames over 50 ms`, fc);
    await page.screenshot({ path: join(SHOTS, "perf-100k.png"), fullPage: true });
    writeFileSync(join(SHOTS, "perf.json"), JSON.stringify(figures, null, 2) + "\n");
  } finally {
    await browser.close();
  }
}

main()
  .catch((e) => check("perf run", false, e.stack || String(e)))
  .finally(() => {
    console.log(`${passed} passed, ${failed} failed`);
    process.exit(failed === 0 ? 0 : 1);
  });
