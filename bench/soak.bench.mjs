// Soak: mixed signed traffic at a steady rate against `wrangler dev` for 10 minutes (default), printing workerd's
// memory (RSS) and latency percentiles at the start and the end, and a line every 30 s in between. Not in CI.
// Run with `npm run bench:soak` (flags: --minutes 1, --rate 10). Every process here listens on 127.0.0.1 only.
//
// The gateway runs as `npm run dev` runs it (wrangler dev --ip 127.0.0.1 --test-scheduled), but, as in
// bench/lifecycle.bench.mjs, on its own port and database (.wrangler/soak-state) with the committed example secrets,
// so a soak never touches a developer's local state. Query order goes to the local fake Marketplace (--any-order).
import { execFileSync, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdirSync, openSync, readFileSync, rmSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { benchEnv, v2Signature, waitReady } from "./support.mjs";

const { values: flags } = parseArgs({
  options: {
    minutes: { type: "string", default: process.env.SOAK_MINUTES ?? "10" },
    rate: { type: "string", default: process.env.SOAK_RATE ?? "10" },
  },
});
const MINUTES = Number(flags.minutes);
const RATE = Number(flags.rate);
if (!(MINUTES > 0 && MINUTES <= 120) || !(RATE > 0 && RATE <= 500)) throw new Error("--minutes in (0, 120], --rate in (0, 500]");

const PORT = 8807;
const FAKE_PORT = 8806;
const STATE = ".wrangler/soak-state";
const OUT = "bench/results";
const SAAS_KEY = "soak-saas-access-key";
const KIT_KEY = "soak-kit-access-key";
const SELLER_TOKEN = "soak-seller-api-token";
const BASE = `http://127.0.0.1:${PORT}`;
const env = benchEnv;

// ---- signing, as the Marketplace does (spec §2.3) ------------------------------------------------------------------

function signedBasic(bodyObject) {
  const body = JSON.stringify(bodyObject);
  const timestamp = String(Date.now());
  const nonce = randomUUID().replaceAll("-", "");
  const query = new URLSearchParams({ signature: v2Signature(SAAS_KEY, body, timestamp, nonce), timestamp, nonce });
  return { url: `${BASE}/saas?${query}`, init: { method: "POST", headers: { "Content-Type": "application/json;charset=utf8" }, body } };
}

function kitTime() {
  // UTC+8 yyyyMMddHHmmssSSS (§6).
  return new Date(Date.now() + 8 * 3_600_000).toISOString().replace(/[-:TZ.]/g, "").slice(0, 17);
}

function signedKit(name, bodyObject) {
  const body = JSON.stringify(bodyObject);
  const timestamp = String(Date.now());
  const nonce = randomUUID().replaceAll("-", "");
  const headers = { "Content-Type": "application/json;charset=utf8", "x-sign": v2Signature(KIT_KEY, body, timestamp, nonce), "x-timestamp": timestamp, "x-nonce": nonce };
  return { url: `${BASE}/saas/produceAPI/v2/${name}`, init: { method: "POST", headers, body } };
}

const seller = (path) => ({ url: `${BASE}${path}`, init: { headers: { Authorization: `Bearer ${SELLER_TOKEN}` } } });

// ---- the traffic mix ------------------------------------------------------------------------------------------------

const instances = [];
const purchases = [];
const pick = (list) => list[Math.floor(Math.random() * list.length)];

function freshPurchase() {
  const orderId = `CSS${randomUUID().replaceAll("-", "").slice(0, 20).toUpperCase()}`;
  return { activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: randomUUID() };
}

/** [weight, name, request builder]; builders needing an instance fall back to a fresh purchase until one exists. */
const MIX = [
  [25, "newInstance fresh", () => signedBasic(freshPurchase())],
  [10, "newInstance repeat", () => (purchases.length ? signedBasic({ ...pick(purchases), businessId: randomUUID() }) : signedBasic(freshPurchase()))],
  [20, "queryInstance", () => signedBasic({ activity: "queryInstance", instanceId: pick(instances) ?? "none" })],
  [15, "updateInstanceStatus", () => signedBasic({ activity: "updateInstanceStatus", instanceId: pick(instances) ?? "none", status: Math.random() < 0.5 ? "FREEZE" : "UNFREEZE" })],
  [5, "refreshInstance", () => {
    const orderId = `RNS${randomUUID().replaceAll("-", "").slice(0, 20).toUpperCase()}`;
    return signedBasic({ activity: "refreshInstance", scene: "RENEWAL", orderId, orderLineId: `${orderId}-000001`, instanceId: pick(instances) ?? "none", expireTime: "20301231235959" });
  }],
  [5, "kit tenantSync", () => {
    const instanceId = pick(instances) ?? "none";
    return signedKit("tenantSync", { instanceId, orderId: `KT${Date.now()}`, tenantId: `T-${instanceId.slice(0, 8)}`, tenantCode: "soak", name: "Soak Co.", domainName: "https://soak.example.com", flag: 1, testFlag: 0, timeStamp: kitTime() });
  }],
  [10, "seller GET instance", () => seller(`/api/v1/instances/${pick(instances) ?? "none"}`)],
  [5, "seller GET events", () => seller("/api/v1/events?limit=50")],
  [5, "GET /healthz", () => ({ url: `${BASE}/healthz`, init: {} })],
];
const TOTAL_WEIGHT = MIX.reduce((sum, [weight]) => sum + weight, 0);

function nextRequest() {
  let roll = Math.random() * TOTAL_WEIGHT;
  for (const [weight, name, build] of MIX) {
    roll -= weight;
    if (roll < 0) return { name, ...build() };
  }
  return { name: MIX[0][1], ...MIX[0][2]() };
}

// ---- measuring ------------------------------------------------------------------------------------------------------

const samples = []; // { at: sent, ms, ok }
let inFlight = 0;
let failures = 0;
const failureKinds = new Map();

async function fire() {
  const request = nextRequest();
  const sentAt = Date.now();
  const started = performance.now();
  inFlight += 1;
  let ok = false;
  let kind = "";
  try {
    const response = await fetch(request.url, { ...request.init, signal: AbortSignal.timeout(30_000) });
    const text = await response.text();
    // Refusals the mix causes on purpose (a renewal of a released instance: 000003) are answers, not failures;
    // a 5xx or an internal-error code (000005) is a failure.
    ok = response.status < 500 && !text.includes('"resultCode":"000005"');
    if (!ok) kind = `${request.name}: HTTP ${response.status} ${text.slice(0, 80)}`;
    if (request.name === "newInstance fresh" && response.status === 200) {
      const json = JSON.parse(text);
      if (json.instanceId) {
        instances.push(json.instanceId);
        purchases.push(JSON.parse(request.init.body));
      }
    }
  } catch (error) {
    kind = `${request.name}: ${error.name}`;
  } finally {
    inFlight -= 1;
  }
  // By send time: a window's latency is that of the requests sent in it, however late they answer.
  samples.push({ at: sentAt, ms: performance.now() - started, ok });
  if (!ok) {
    failures += 1;
    failureKinds.set(kind, (failureKinds.get(kind) ?? 0) + 1);
  }
}

function percentiles(from, to) {
  const window = samples.filter((s) => s.at >= from && s.at < to).map((s) => s.ms).sort((a, b) => a - b);
  const at = (p) => window[Math.min(window.length - 1, Math.floor((p / 100) * window.length))] ?? NaN;
  return { n: window.length, p50: at(50), p90: at(90), p99: at(99), max: window.at(-1) ?? NaN };
}

/** RSS of the workerd processes wrangler started (its process group), in MiB. */
function workerdRssMiB(pgid) {
  try {
    const out = execFileSync("ps", ["-o", "rss=,comm=", "-g", String(pgid)], { encoding: "utf8" });
    const kib = out
      .split("\n")
      .filter((line) => /workerd/.test(line))
      .reduce((sum, line) => sum + Number(line.trim().split(/\s+/)[0] ?? 0), 0);
    return kib / 1024;
  } catch {
    return NaN;
  }
}

const fmt = (p) => `n ${String(p.n).padStart(6)}  p50 ${p.p50.toFixed(1).padStart(7)} ms  p90 ${p.p90.toFixed(1).padStart(7)} ms  p99 ${p.p99.toFixed(1).padStart(7)} ms  max ${p.max.toFixed(1).padStart(7)} ms`;

// ---- processes ------------------------------------------------------------------------------------------------------

function start(command, args, logFile) {
  const fd = openSync(logFile, "w");
  const child = spawn(command, args, { env, detached: true, stdio: ["ignore", fd, fd] });
  return {
    pid: child.pid,
    output: () => readFileSync(logFile, "utf8"),
    stop: () => {
      try {
        process.kill(-child.pid, "SIGINT");
      } catch {}
    },
  };
}


async function main() {
  rmSync(STATE, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });
  execFileSync("npx", ["wrangler", "d1", "migrations", "apply", "DB", "--local", "--persist-to", STATE], { env, stdio: "ignore" });
  const fake = start("npx", ["node", "tools/fake-marketplace/fake-marketplace.ts", "--port", String(FAKE_PORT), "--any-order"], `${OUT}/soak-fake.log`);
  const vars = [`SAAS_ACCESS_KEY:${SAAS_KEY}`, `KIT_ACCESS_KEY:${KIT_KEY}`, `SELLER_API_TOKEN:${SELLER_TOKEN}`, `MARKETPLACE_API_BASE:http://127.0.0.1:${FAKE_PORT}`];
  const gateway = start(
    "npx",
    ["wrangler", "dev", "--ip", "127.0.0.1", "--port", String(PORT), "--inspector-port", "9350", "--test-scheduled", "--show-interactive-dev-session=false", "--persist-to", STATE, "--env-file", ".dev.vars.example", ...vars.flatMap((v) => ["--var", v])],
    `${OUT}/soak-dev.log`,
  );
  const stopAll = () => {
    gateway.stop();
    fake.stop();
  };
  process.once("SIGINT", () => {
    stopAll();
    process.exit(130);
  });
  try {
    await waitReady(`${BASE}/healthz`);
    // Warm-up (compilation, first database pages), not measured.
    for (let i = 0; i < 20; i++) await fire();
    samples.length = 0;
    failures = 0;
    failureKinds.clear();

    const begin = Date.now();
    const end = begin + MINUTES * 60_000;
    const window = Math.min(60_000, (MINUTES * 60_000) / 4);
    const rssStart = workerdRssMiB(gateway.pid);
    console.log(`soak: ${RATE} req/s for ${MINUTES} min against wrangler dev on ${BASE} (${new Date(begin).toISOString()}), workerd RSS at start ${rssStart.toFixed(0)} MiB`);
    const interval = 1000 / RATE;
    let sent = 0;
    let nextReport = begin + 30_000;
    const pending = new Set();
    // Open loop: requests leave on schedule whether or not earlier ones have answered, as the Marketplace's do.
    while (Date.now() < end) {
      const due = begin + sent * interval;
      const wait = due - Date.now();
      if (wait > 0) await sleep(wait);
      const p = fire();
      pending.add(p);
      p.finally(() => pending.delete(p));
      sent += 1;
      if (Date.now() >= nextReport) {
        // Sent at least 5 s ago, so nearly all have answered.
        const last = percentiles(Date.now() - 35_000, Date.now() - 5_000);
        console.log(`  ${String(Math.round((Date.now() - begin) / 1000)).padStart(4)} s  sent ${String(sent).padStart(6)}  in flight ${String(inFlight).padStart(4)}  failures ${failures}  sent 5-35 s ago: ${fmt(last)}  RSS ${workerdRssMiB(gateway.pid).toFixed(0)} MiB`);
        nextReport += 30_000;
      }
    }
    await Promise.allSettled([...pending]);
    const rssEnd = workerdRssMiB(gateway.pid);
    const first = percentiles(begin, begin + window);
    const lastWindow = percentiles(end - window, end);
    console.log(`\nsent ${sent} requests in ${MINUTES} min (${(sent / (MINUTES * 60)).toFixed(1)} req/s), ${instances.length} instances created, ${failures} failures`);
    for (const [kind, count] of failureKinds) console.log(`  failure x${count}: ${kind}`);
    console.log(`start (first ${window / 1000} s): ${fmt(first)}   workerd RSS ${rssStart.toFixed(0)} MiB`);
    console.log(`end   (last ${window / 1000} s):  ${fmt(lastWindow)}   workerd RSS ${rssEnd.toFixed(0)} MiB`);
    console.log(`drift: p99 ${(lastWindow.p99 / first.p99).toFixed(2)}x, RSS ${(rssEnd - rssStart >= 0 ? "+" : "") + (rssEnd - rssStart).toFixed(0)} MiB`);
  } finally {
    stopAll();
  }
}

await main();
