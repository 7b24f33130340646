import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { type Browser, type BrowserContext, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createV2Signature } from "../../src/protocol/v2-signature";
import { type FakeMarketplace, startFakeMarketplace } from "../../tools/fake-marketplace/fake-marketplace";
import { TEST_SECRETS } from "../../vitest.config";

/*
 * The admin page in a real browser against a real `npm run dev`: headless Chromium (Debian's `chromium` package,
 * driven by playwright-core; .ci/run installs it) signs in, finds a purchase whose customer name is a script tag,
 * opens its timeline and sees the name as text. Without the browser this test fails and says so: it never passes
 * silently. `wrangler dev` runs hermetically: its settings come from a temporary env file (the suite's test secrets,
 * so the log secret scan knows them; .dev.vars is not read when --env-file is given), its D1 and Durable Objects
 * from a temporary --persist-to folder, and the Marketplace's query order from an in-process fake.
 */

const root = path.join(import.meta.dirname, "../..");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const SCREENSHOT = path.join(root, "test-results/admin-page.png");
const HOSTILE_NAME = "<script>alert(1)</script>";
const run = promisify(execFile);

const STATEMENT = {
  period: "2026-11",
  timezone: "Asia/Shanghai",
  currency: "CNY",
  final: false,
  generatedAt: "2026-12-06T15:00:00.000Z",
  from: "2026-09-30T16:00:00.000Z",
  to: "2026-12-31T16:00:00.000Z",
  orders: [
    { source: "instance", note: null, orderId: "CS-1", orderLineId: "CS-1-000001", orderType: "NEW", chargingMode: "PERIOD", productId: `${HOSTILE_NAME}2`, skuCode: "sku", instanceId: "i-1", amount: "9.90", listAmount: "19.90", createdAt: "2026-11-01T01:00:00.000Z" },
    { source: "instance", note: null, orderId: "CS-2", orderLineId: "CS-2-000001", orderType: "UNSUBSCRIBE", chargingMode: "PERIOD", productId: "P-2", skuCode: "sku", instanceId: null, amount: "-99.90", listAmount: "-99.90", createdAt: "2026-11-30T15:59:59.000Z" },
  ],
  usage: [
    { instanceId: "i-3", productId: "P-3", skuCode: "hour", hours: 720, quantity: "0.3", rejectedQuantity: "0", expiredQuantity: "0", pendingQuantity: "0" },
    { instanceId: "i-4", productId: "P-3", skuCode: "hour", hours: 2, quantity: "1.5", rejectedQuantity: "0.1", expiredQuantity: "0", pendingQuantity: "0" },
  ],
  totals: {
    orders: 2,
    amount: "-90.00",
    unknownAmounts: 0,
    usageQuantity: "1.8",
    products: [
      { productId: `${HOSTILE_NAME}2`, orders: 1, amount: "9.90", usageQuantity: "0" },
      { productId: "P-2", orders: 1, amount: "-99.90", usageQuantity: "0" },
    ],
  },
};
const STATEMENT_CSV = "\uFEFFkind,orderId,amount\norder,CS-1,9.90\norder,CS-2,-99.90\n";
const STATEMENT_RECONCILIATION = {
  period: "2026-Q4",
  matched: 3,
  onlyInBill: [{ key: `${HOSTILE_NAME}/X-1`, kind: "order", value: "1.00", rows: [3] }],
  onlyInLedger: [],
  different: [{ key: "i-4", kind: "usage", bill: "1.6", ledger: "1.5", rows: [4] }],
};

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

let fake: FakeMarketplace | undefined;
let dev: { pid: number; output: string[]; exited: Promise<unknown> } | undefined;
let browser: Browser | undefined;
let scratch = "";
let base = "";

const orderId = `CS-ADMIN-UI-${Date.now().toString(36).toUpperCase()}`;

function order(): Record<string, unknown> {
  return {
    orderId,
    orderType: "NEW",
    createTime: "20261101090846",
    orderLine: [
      {
        orderLineId: `${orderId}-000001`,
        chargingMode: "PERIOD",
        periodType: "month",
        periodNumber: 1,
        expireTime: "20371231235959",
        productInfo: [{ productId: "00301-ADMIN-UI-0--0", skuCode: "admin-ui-sku", linearValue: 1, productName: "Admin UI product" }],
      },
    ],
    buyerInfo: { customerId: "admin-ui-customer", customerName: HOSTILE_NAME },
  };
}

/** A real (not debug) newInstance, signed as the Marketplace signs it; retried while the gateway answers 000004. */
async function purchase(): Promise<string> {
  const body = JSON.stringify({ activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID() });
  return waitFor("the purchase to be provisioned", 30_000, async () => {
    const timestamp = String(Date.now());
    const nonce = crypto.randomUUID().replaceAll("-", "");
    const signature = createV2Signature(TEST_SECRETS.SAAS_ACCESS_KEY, body, timestamp, nonce);
    const response = await fetch(`${base}/saas?${new URLSearchParams({ signature, timestamp, nonce })}`, {
      method: "POST",
      headers: { "content-type": "application/json;charset=utf8" },
      body,
    });
    const answer = (await response.json()) as { resultCode: string; instanceId?: string };
    return answer.resultCode === "000000" && answer.instanceId ? answer.instanceId : undefined;
  });
}

async function stopDev(): Promise<void> {
  if (!dev) return;
  const { pid, exited } = dev;
  dev = undefined;
  // wrangler leaves workerd running when only npm is stopped: signal the whole process group (spawned detached).
  try {
    process.kill(-pid, "SIGINT");
  } catch {
    return;
  }
  const stopped = await Promise.race([exited.then(() => true), new Promise((resolve) => setTimeout(() => resolve(false), 10_000))]);
  if (!stopped) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) return;
  scratch = mkdtempSync(path.join(tmpdir(), "admin-page-"));
  fake = await startFakeMarketplace({
    port: 0,
    credentials: { [TEST_SECRETS.MARKETPLACE_AK]: TEST_SECRETS.MARKETPLACE_SK },
    usagePushKey: TEST_SECRETS.USAGE_PUSH_KEY,
    orders: { [orderId]: order() },
  });
  const settings = { ...TEST_SECRETS, MARKETPLACE_API_BASE: fake.url };
  const envFile = path.join(scratch, "dev.env");
  writeFileSync(envFile, Object.entries(settings).map(([name, value]) => `${name}=${JSON.stringify(value)}`).join("\n"));
  const persist = path.join(scratch, "state");
  const wranglerEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" };
  await run("npm", ["run", "db:migrate:local", "--", "--persist-to", persist], { cwd: root, env: wranglerEnv });
  // A cron job whose last run failed a minute ago: the page must warn that it is late.
  const failedAt = Date.now() - 60_000;
  const failedRun = `INSERT INTO job_runs (job, started_at, finished_at, status, error) VALUES ('usagePush', ${failedAt}, ${failedAt + 1000}, 'failed', 'Marketplace unreachable (browser test)')`;
  // An open final outcome whose summary is markup: the Problems tab must count it and show it as text. (A final one:
  // the gateway's own checks would clear a condition that is not there.)
  const openProblem = `INSERT INTO problems (kind, subject, severity, summary, detail, count, opened_at, last_seen_at, alert_opened) VALUES ('delivery.failed', 'http://127.0.0.1:9', 'warning', '${HOSTILE_NAME} failed', 'browser test', 2, ${failedAt}, ${failedAt}, 'off')`;
  await run("npx", ["wrangler", "d1", "execute", "DB", "--local", "--persist-to", persist, "--command", `${failedRun}; ${openProblem}`], {
    cwd: root,
    env: { ...wranglerEnv, XDG_CONFIG_HOME: path.join(root, ".wrangler-config") },
  });

  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const child = spawn("npm", ["run", "dev", "--", "--env-file", envFile, "--persist-to", persist], {
    cwd: root,
    env: { ...wranglerEnv, PORT: String(port) },
    // Its own process group (setsid), so stopping it stops wrangler and workerd too.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  child.stdout.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
  child.stderr.on("data", (chunk: Buffer) => output.push(chunk.toString("utf8")));
  const exited = new Promise((resolve) => child.on("exit", resolve));
  if (child.pid === undefined) throw new Error("npm run dev did not start");
  dev = { pid: child.pid, output, exited };
  await waitFor(`npm run dev on ${base}`, 180_000, async () => ((await fetch(`${base}/healthz`)).status > 0 ? true : undefined)).catch((error: unknown) => {
    throw new Error(`${String(error)}\n--- npm run dev said ---\n${output.join("").slice(-3000)}`);
  });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
}, 300_000);

afterAll(async () => {
  await browser?.close();
  await stopDev();
  await fake?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}, 30_000);

/** A page whose dialogs (none expected: the page never alerts) and console errors or uncaught errors are collected. */
async function watchedPage(context: BrowserContext): Promise<{ page: Page; dialogs: string[]; problems: string[] }> {
  const page = await context.newPage();
  const dialogs: string[] = [];
  page.on("dialog", (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  const problems: string[] = [];
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(message.text());
  });
  page.on("pageerror", (error) => problems.push(error.message));
  return { page, dialogs, problems };
}

describe("the admin page in headless Chromium", () => {
  it("signs in, finds a purchase, opens its timeline and shows a <script> customer name as text", async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(`Chromium is not installed at ${CHROMIUM}: run "apt-get install -y chromium" (.ci/run does). This test never passes without a browser.`);
    }
    const instanceId = await purchase();
    const context = await browser!.newContext();
    const { page, dialogs, problems } = await watchedPage(context);

    await page.goto(`${base}/admin`);
    await page.fill("#token", TEST_SECRETS.ADMIN_TOKEN);
    await page.click("#sign-in-form button[type=submit]");
    await page.waitForSelector("#console:not([hidden])");
    expect(await page.evaluate(() => sessionStorage.length)).toBe(1);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    // The late job is announced above every tab.
    const warning = page.locator("#late-jobs");
    await warning.waitFor();
    expect(await warning.textContent()).toContain("usagePush (last run failed)");

    // Search by the customer name: the API matches it, the table shows it as text.
    await page.fill("#instance-filters input[name=q]", HOSTILE_NAME);
    await page.click("#instance-filters button[type=submit]");
    const row = page.locator(`#instances tr[data-instance-id="${instanceId}"]`);
    await row.waitFor();
    expect(await row.locator("td").nth(5).textContent()).toBe(HOSTILE_NAME);

    await row.click();
    await page.waitForSelector("#timeline:not([hidden])");
    expect(await page.locator("#timeline-id").textContent()).toBe(instanceId);
    expect(await page.locator("#timeline-summary .customer-name").textContent()).toBe(HOSTILE_NAME);
    // The purchase's own callback is in the timeline, with its result code.
    await expect.poll(() => page.locator("#timeline-entries li").count()).toBeGreaterThan(0);
    expect(await page.locator("#timeline-entries").textContent()).toContain("newInstance");

    // Shown as text, never run: no dialog, no script element besides app.js, no error (a CSP violation included).
    expect(dialogs).toEqual([]);
    expect(await page.evaluate('[...document.querySelectorAll("script")].map((script) => script.getAttribute("src"))')).toEqual(["/admin/app.js"]);
    expect(problems).toEqual([]);

    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(existsSync(SCREENSHOT)).toBe(true);

    // The jobs tab marks the late job's row and shows its error.
    await page.click('nav [data-tab="jobs"]');
    const lateRow = page.locator("#jobs tr.late");
    await lateRow.waitFor();
    expect(await lateRow.textContent()).toContain("Marketplace unreachable (browser test)");
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, "-jobs.png"), fullPage: true });

    // The Problems tab: its open count, the problem as text, its link, and resolving it with a note.
    expect(await page.locator("#problems-count").textContent()).toBe("1");
    await page.click('nav [data-tab="problems"]');
    const problemRow = page.locator("#problems tr.warning");
    await problemRow.waitFor();
    expect(await problemRow.textContent()).toContain(`${HOSTILE_NAME} failed`);
    expect(await problemRow.locator("button", { hasText: "Deliveries" }).count()).toBe(1);
    await problemRow.locator("input").fill("resent after the backend was fixed (browser test)");
    await problemRow.locator("button", { hasText: "Resolve" }).click();
    await page.locator("#problems p.empty").waitFor();
    await expect.poll(() => page.locator("#problems-count").isHidden()).toBe(true);
    expect(dialogs).toEqual([]);

    // The usage and deliveries tabs load from their routes without an error.
    await page.click('nav [data-tab="usage"]');
    await page.locator("#usage p.hint").waitFor();
    await page.click('nav [data-tab="deliveries"]');
    await page.locator("#deliveries :is(table, p.empty)").waitFor();
    expect(await page.locator("#status.error").count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  }, 120_000);

  it("the Statements tab: a period's totals, orders and usage as text, its CSV saved with the token, a bill reconciled", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: run "apt-get install -y chromium".`);
    const context = await browser!.newContext({ acceptDownloads: true });
    const { page, dialogs, problems } = await watchedPage(context);
    // The statements API as the seller contract fixes it, answered here: the page is what this test looks at.
    const asked: string[] = [];
    const uploads: Array<{ type: string | undefined; body: string }> = [];
    await page.route("**/admin/api/statements/**", async (route) => {
      const request = route.request();
      const url = new URL(request.url());
      asked.push(`${request.method()} ${url.pathname}${url.search} ${request.headers().authorization === `Bearer ${TEST_SECRETS.ADMIN_TOKEN}` ? "with token" : "WITHOUT TOKEN"}`);
      if (request.method() === "POST") {
        uploads.push({ type: request.headers()["content-type"], body: (request.postDataBuffer() ?? Buffer.alloc(0)).toString("hex") });
        await route.fulfill({ json: STATEMENT_RECONCILIATION });
      } else if (url.searchParams.get("format") === "csv") {
        await route.fulfill({ status: 200, contentType: "text/csv; charset=utf-8", body: STATEMENT_CSV });
      } else {
        await route.fulfill({ json: { ...STATEMENT, period: decodeURIComponent(url.pathname.split("/").pop() ?? "") } });
      }
    });

    await page.goto(`${base}/admin#statements`);
    await page.fill("#token", TEST_SECRETS.ADMIN_TOKEN);
    await page.click("#sign-in-form button[type=submit]");
    await page.waitForSelector("#tab-statements:not([hidden])");
    // Opening the tab shows last month (China time) at once.
    await page.locator("#statement table").first().waitFor();
    await page.fill("#statement-filters input[name=month]", "2026-11");
    await page.selectOption("#statement-filters select[name=span]", "quarter");
    await page.click("#statement-filters button[type=submit]");
    await expect.poll(() => page.locator("#statement p").first().textContent()).toContain("2026-Q4 (Asia/Shanghai), amounts in CNY, open");
    const statement = page.locator("#statement");
    expect(await statement.locator("table").nth(0).textContent()).toContain(`${HOSTILE_NAME}2`);
    expect(await statement.locator("table").nth(1).locator("tbody tr").count()).toBe(2);
    expect(await statement.locator("table").nth(1).textContent()).toContain("-99.90");
    expect(await statement.locator("table").nth(2).locator("tr.rejected").count()).toBe(1);

    const [download] = await Promise.all([page.waitForEvent("download"), page.click("#statement-csv")]);
    expect(download.suggestedFilename()).toBe("statement-2026-Q4.csv");
    expect(readFileSync(await download.path(), "utf8")).toBe(STATEMENT_CSV);

    const bill = "\uFEFF订单号,订单行号,金额\nCS-1,CS-1-000001,9.90\n";
    await page.setInputFiles("#reconcile-form input[name=bill]", { name: "bill.csv", mimeType: "text/csv", buffer: Buffer.from(bill, "utf8") });
    await page.click("#reconcile-form button[type=submit]");
    await expect.poll(() => page.locator("#reconciliation p.warning").textContent()).toBe("2026-Q4: 3 matched, 1 only in the bill, 0 only in the ledger, 1 different");
    expect(await page.locator("#reconciliation").textContent()).toContain(`order ${HOSTILE_NAME}/X-1: 1.00 (bill row 3)`);
    // The file's bytes as saved, its BOM included.
    expect(uploads).toEqual([{ type: "text/csv", body: Buffer.from(bill, "utf8").toString("hex") }]);

    expect(asked.every((line) => line.endsWith("with token"))).toBe(true);
    expect(asked.slice(1)).toEqual([
      "GET /admin/api/statements/2026-Q4 with token",
      "GET /admin/api/statements/2026-Q4?format=csv with token",
      "POST /admin/api/statements/2026-Q4/reconcile with token",
    ]);
    expect(dialogs).toEqual([]);
    expect(await page.locator("#status.error").count()).toBe(1); // the reconciliation found differences: said in red
    expect(problems).toEqual([]);
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, "-statements.png"), fullPage: true });

    // The real statements API: the month of the first test's purchase (its createTime, 2026-11-01) lists its order.
    await page.unroute("**/admin/api/statements/**");
    await page.fill("#statement-filters input[name=month]", "2026-11");
    await page.selectOption("#statement-filters select[name=span]", "month");
    await page.click("#statement-filters button[type=submit]");
    await expect.poll(() => page.locator("#statement").textContent()).toContain(orderId);
    expect(await page.locator("#statement p").first().textContent()).toContain("2026-11 (Asia/Shanghai), amounts in CNY");
    const [real] = await Promise.all([page.waitForEvent("download"), page.click("#statement-csv")]);
    expect(real.suggestedFilename()).toBe("statement-2026-11.csv");
    const csv = readFileSync(await real.path(), "utf8");
    expect(csv.startsWith("\uFEFF")).toBe(true);
    expect(csv).toContain(orderId);
    expect(await page.locator("#status.error").count()).toBe(0);
    expect(problems).toEqual([]);
    await context.close();
  }, 60_000);

  it("with JavaScript off, submitting the sign-in form puts the token in no URL and sends it nowhere", async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: run "apt-get install -y chromium".`);
    // Before app.js has loaded (or when it never does), the form is submitted by the browser itself.
    const context = await browser!.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    const sent: string[] = [];
    page.on("request", (request) => sent.push(`${request.method()} ${request.url()} ${request.postData() ?? ""}`));
    await page.goto(`${base}/admin`);
    await page.fill("#token", TEST_SECRETS.ADMIN_TOKEN);
    await Promise.all([page.waitForNavigation(), page.click("#sign-in-form button[type=submit]")]);

    expect(sent.join("\n")).not.toContain(TEST_SECRETS.ADMIN_TOKEN);
    expect(sent.some((line) => line.startsWith(`POST ${base}/admin`))).toBe(true);
    expect(page.url()).toBe(`${base}/admin`);
    // The page is served again, signed out: nothing the submit carried is reflected.
    expect(await page.locator("#sign-in-form").count()).toBe(1);
    expect(await page.content()).not.toContain(TEST_SECRETS.ADMIN_TOKEN);
    await context.close();
  }, 60_000);
});
