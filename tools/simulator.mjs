#!/usr/bin/env node
// The Marketplace's debugger, run by hand: signs every V2 debug case (testFlag "1") the way the Marketplace does,
// sends each twice to a production URL, and checks what the debugger checks: HTTP 200, application/json,
// resultCode 000000, a well-formed Body-Sign that verifies, the same answer on repeat.
//
//   node tools/simulator.mjs [--url http://127.0.0.1:8787/saas] [--key <SAAS_ACCESS_KEY>] [--real]
//
// Without --url it targets `npm run dev` on this machine: port $PORT when set (as `PORT=8788 npm run dev`), else 8787.
// --key defaults to SAAS_ACCESS_KEY from .dev.vars (or .dev.vars.example). --real sends the cases without testFlag,
// as a real purchase would (only against a development deployment). Exit code 1 when any check fails.
// Its signing is written from the spec, independently of src/, so it checks the gateway rather than agreeing with it.
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";

function argument(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : fallback;
}

function devVar(name) {
  for (const file of [".dev.vars", ".dev.vars.example"]) {
    if (!existsSync(file)) continue;
    const match = new RegExp(`^${name}="?([^"\\n]*)"?`, "m").exec(readFileSync(file, "utf8"));
    if (match?.[1]) return match[1];
  }
  return undefined;
}

const url = argument("url", `http://127.0.0.1:${process.env.PORT || "8787"}/saas`);
const key = argument("key", devVar("SAAS_ACCESS_KEY"));
const real = process.argv.includes("--real");
if (!key) {
  console.error("no key: pass --key or create .dev.vars");
  process.exit(2);
}

const hmac = (message) => createHmac("sha256", key).update(message);

async function call(body) {
  const raw = JSON.stringify(real ? body : { ...body, testFlag: "1" });
  const timestamp = String(Date.now());
  const nonce = randomBytes(32).toString("hex");
  const signature = hmac(key + nonce + timestamp + hmac(raw).digest("hex")).digest("hex").toUpperCase();
  const target = `${url}?signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`;
  const started = Date.now();
  const response = await fetch(target, { method: "POST", headers: { "Content-Type": "application/json;charset=utf8", Accept: "application/json" }, body: raw });
  const text = await response.text();
  const bodySign = response.headers.get("Body-Sign") ?? "";
  const match = /^sign_type="HMAC-SHA256", signature="([^"]+)"$/.exec(bodySign);
  let json = {};
  try {
    json = JSON.parse(text);
  } catch {}
  return {
    ms: Date.now() - started,
    status: response.status,
    contentType: response.headers.get("content-type") ?? "",
    text,
    json,
    bodySignOk: match?.[1] === hmac(text).digest("base64"),
  };
}

const orderId = `CSDEBUG${randomUUID().replaceAll("-", "").slice(0, 12).toUpperCase()}`;
let failures = 0;

async function check(name, body, expect = (json) => json.resultCode === "000000") {
  const first = await call(body);
  const second = await call(body);
  const problems = [];
  for (const [label, answer] of [["first", first], ["repeat", second]]) {
    if (answer.status !== 200) problems.push(`${label}: HTTP ${answer.status}`);
    if (!answer.contentType.startsWith("application/json")) problems.push(`${label}: content type ${answer.contentType}`);
    if (!answer.bodySignOk) problems.push(`${label}: Body-Sign missing or wrong`);
    if (!("resultCode" in answer.json) || !("resultMsg" in answer.json)) problems.push(`${label}: no resultCode/resultMsg`);
    if (!expect(answer.json)) problems.push(`${label}: ${answer.text.slice(0, 160)}`);
  }
  if (body.activity !== "queryInstance" && first.text !== second.text) problems.push("repeat answered differently");
  failures += problems.length > 0 ? 1 : 0;
  console.log(`${problems.length ? "FAIL" : "ok  "} ${name.padEnd(34)} ${String(first.ms).padStart(4)} ms  ${problems.join("; ") || first.text.slice(0, 90)}`);
  return first.json;
}

console.log(`${real ? "real" : "debug (testFlag 1)"} cases against ${url}\n`);
const created = await check("newInstance", { activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: randomUUID() });
const instanceId = created.instanceId ?? "unknown";
await check("queryInstance", { activity: "queryInstance", instanceId }, (json) => json.resultCode === "000000" && json.info?.[0]?.instanceId === instanceId);
const renewal = `${orderId}R`;
await check("refreshInstance RENEWAL", { activity: "refreshInstance", scene: "RENEWAL", orderId: renewal, orderLineId: `${renewal}-000001`, instanceId, expireTime: "20301231235959" });
await check("updateInstanceStatus FREEZE", { activity: "updateInstanceStatus", instanceId, status: "FREEZE" });
await check("updateInstanceStatus UNFREEZE", { activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" });
const upgrade = `${orderId}U`;
await check("upgradeInstance", { activity: "upgradeInstance", instanceId, orderId: upgrade, orderLineId: `${upgrade}-000001` });
await check("changeInstanceCheck", { activity: "changeInstanceCheck", instanceId, productInfo: { skuCode: "SKU" } });
// Online-License products (marketplace-open-apis.md §3.4): 000004 until the license is uploaded to the open API.
const licenseTime = (ms) => `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} z`;
await check(
  "getLicenseAsync",
  { activity: "getLicenseAsync", instanceId, effectiveTime: licenseTime(Date.now()), expireTime: licenseTime(Date.now() + 30 * 86400_000), eventId: `EV${orderId}`, deviceFingerprint: "SIMULATOR-DEVICE-1" },
  (json) => json.resultCode === "000000" || json.resultCode === "000004",
);
await check("releaseInstance", { activity: "releaseInstance", instanceId });
if (!real) await check("releaseInstance of an unknown id", { activity: "releaseInstance", instanceId: "never-seen-by-this-gateway" });
console.log(failures ? `\n${failures} case(s) failed` : "\nall cases passed");
process.exit(failures ? 1 : 0);
