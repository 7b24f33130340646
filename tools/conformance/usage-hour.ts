// One simulated usage hour through to the (fake) Marketplace, for the end-to-end stage (.ci/e2e.sh):
//
//   node … tools/conformance/usage-hour.ts --url <gateway> --marketplace <fake Marketplace> [--seller <fake seller>]
//                                          [--env-file <the gateway's settings>]
//
// A real pay-per-use purchase (signed newInstance without testFlag; the fake's query order answers ON_DEMAND) is
// provisioned through the seller backend, usage comes in through POST /api/v1/usage, the */5 cron runs through
// wrangler's /cdn-cgi/handler/scheduled with its scheduled time moved past the end of the hour (plus the roll-up's
// grace), and the fake Marketplace must hold exactly one record of that hour with the summed usage, also after the
// cron runs again. The hour is "simulated" only in that the cron's clock and the fake's are moved forward: ingestion,
// roll-up, signing and the push are the real code over real HTTP. Exit 1 on any failed step.
import { existsSync, readFileSync } from "node:fs";
import { baseUrl, send, v2Call } from "./client";
import { hex } from "./ids";
import { loadSettings, parseEnvFile } from "./settings";

const HOUR_MS = 3_600_000;
/** src/billing/periods.ts ROLLUP_GRACE_MS is 2 min: an hour is rolled up once it ended that long ago. */
const AFTER_GRACE_MS = 3 * 60_000;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

let failures = 0;
function step(ok: boolean, name: string, detail: string): boolean {
  if (!ok) failures += 1;
  console.log(`${ok ? "ok  " : "FAIL"} usage   ${name.padEnd(46)} ${detail}`);
  return ok;
}

async function json(url: string, init: RequestInit = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as Record<string, unknown> };
  } catch {
    return { status: response.status, body: { text } };
  }
}

/** The open API's record time format, yyyyMMdd'T'HHmmss'Z'. */
const openApiTime = (ms: number) => new Date(ms).toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

async function main(): Promise<void> {
  const gateway = baseUrl(argument("url") ?? fail("--url <gateway> is required"));
  const marketplace = (argument("marketplace") ?? fail("--marketplace <fake Marketplace URL> is required")).replace(/\/+$/, "");
  const seller = argument("seller")?.replace(/\/+$/, "");
  const envFile = argument("env-file");
  const settings = loadSettings(envFile);
  const fileValues = envFile && existsSync(envFile) ? parseEnvFile(readFileSync(envFile, "utf8")) : {};
  const sellerToken = process.env.SELLER_API_TOKEN ?? fileValues.SELLER_API_TOKEN ?? fail("SELLER_API_TOKEN is not set");
  const key = settings.keys.saas;

  // 1. A pay-per-use order the fake's query order knows, and its real purchase.
  const orderId = `CSE2E${hex(6)}`;
  const orderInfo = {
    orderId,
    orderType: "NEW",
    createTime: openApiTime(Date.now()).replace(/[TZ]/g, ""),
    orderLine: [{ orderLineId: `${orderId}-000001`, chargingMode: "ON_DEMAND", productInfo: [{ productId: "OFFI-E2E-ONDEMAND", skuCode: "SKU-E2E", linearValue: 1, productName: "E2E pay-per-use" }] }],
    buyerInfo: { customerId: "e2e-customer", customerName: "E2E Buyer" },
  };
  const configured = await json(`${marketplace}/__control/config`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ orders: { [orderId]: orderInfo } }) });
  if (!step(configured.status === 200, "fake Marketplace knows the order", `${orderId} ON_DEMAND`)) return;
  const create = await send(v2Call(gateway, "/saas", key, { activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID() }));
  const instanceId = typeof create.json?.instanceId === "string" ? create.json.instanceId : "";
  if (!step(["000000", "000004"].includes(String(create.json?.resultCode)) && instanceId !== "", "real newInstance", `${String(create.json?.resultCode)} ${instanceId}`)) return;
  let code = String(create.json?.resultCode);
  const started = Date.now();
  while (code !== "000000" && Date.now() - started < 30_000) {
    await new Promise((resolve) => setTimeout(resolve, 300));
    code = String((await send(v2Call(gateway, "/saas", key, { activity: "queryInstance", instanceId }))).json?.resultCode);
  }
  if (!step(code === "000000", "provisioned (order fetched, seller answered)", `queryInstance ${code} after ${Date.now() - started} ms`)) return;
  if (seller) {
    const deliveries = await json(`${seller}/__control/deliveries?instanceId=${instanceId}`);
    const created = ((deliveries.body.deliveries ?? []) as Array<{ type?: string; verified?: boolean; status?: number }>).filter((d) => d.type === "instance.created");
    step(created.some((d) => d.verified && d.status === 200), "seller backend got instance.created, verified", `${created.length} delivery(ies)`);
  }

  // 2. Usage through the seller API.
  const now = Date.now();
  const events = [
    { eventId: `e2e-${hex(6)}-1`, instanceId, quantity: 12.5, time: now },
    { eventId: `e2e-${hex(6)}-2`, instanceId, quantity: "0.25", time: new Date(now + 1).toISOString() },
  ];
  const usageInit = { method: "POST", headers: { "Content-Type": "application/json", Authorization: `Bearer ${sellerToken}` }, body: JSON.stringify({ events }) };
  const usage = await json(`${gateway}/api/v1/usage`, usageInit);
  const accepted = (usage.body.accepted ?? []) as string[];
  if (!step(usage.status === 200 && events.every((e) => accepted.includes(e.eventId)), "POST /api/v1/usage accepted both events", `HTTP ${usage.status} ${JSON.stringify(usage.body).slice(0, 120)}`)) return;
  const again = await json(`${gateway}/api/v1/usage`, usageInit);
  step(again.status === 200 && events.every((e) => ((again.body.duplicates ?? []) as string[]).includes(e.eventId)), "the same events again are duplicates", `HTTP ${again.status}`);

  // 3. The hour ends: the cron runs after it (scheduled time moved forward), and the fake's clock with it.
  const hourStart = Math.floor(now / HOUR_MS) * HOUR_MS;
  const cronAt = hourStart + HOUR_MS + AFTER_GRACE_MS;
  await json(`${marketplace}/__control/clock`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ offsetMs: cronAt - Date.now() }) });
  const records = async () => {
    const report = await json(`${marketplace}/__control/records`);
    return ((report.body.records ?? []) as Array<{ instanceId: string; usageValue: string; beginTime: string; endTime: string; meteringSn: string | null }>).filter((r) => r.instanceId === instanceId);
  };
  for (const run of [1, 2]) {
    const cron = await fetch(`${gateway}/cdn-cgi/handler/scheduled?cron=${encodeURIComponent("*/5 * * * *")}&time=${cronAt + (run - 1) * 5 * 60_000}`, { signal: AbortSignal.timeout(30_000) });
    await cron.text();
    const held = await records();
    const detail = held.map((r) => `${r.beginTime}–${r.endTime} ${r.usageValue} sn ${r.meteringSn ?? "-"}`).join(", ") || "no record";
    const ok =
      cron.status === 200 &&
      held.length === 1 &&
      Number(held[0]?.usageValue) === 12.75 &&
      // The record covers the instance's part of the hour: from its start (or the hour's) to the hour's end.
      (held[0]?.beginTime ?? "") >= openApiTime(hourStart) &&
      (held[0]?.beginTime ?? "") <= openApiTime(now) &&
      held[0]?.endTime === openApiTime(hourStart + HOUR_MS);
    step(ok, run === 1 ? "cron pushed the hour to the Marketplace" : "cron again: nothing pushed twice", `cron HTTP ${cron.status}; ${detail}`);
  }
  await json(`${marketplace}/__control/clock`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ offsetMs: 0 }) });
}

function fail(message: string): never {
  console.error(`usage-hour: ${message}`);
  process.exit(2);
}

await main();
console.log(failures ? `\nusage hour: ${failures} step(s) failed` : "\nusage hour: every step passed");
process.exitCode = failures ? 1 : 0;
