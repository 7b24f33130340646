// What the benchmarks share: the environment wrangler runs in, waiting for a server, and the Marketplace's signing.
import { createHmac, randomUUID } from "node:crypto";
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

/** Telemetry off, no network look-ups, wrangler's settings inside the project. */
export const benchEnv = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", XDG_CONFIG_HOME: ".wrangler-config" };

/** Resolves once `url` answers at all (any status), polling every 500 ms; throws after `attempts` tries. */
export async function waitReady(url, attempts = 120) {
  for (let i = 0; i < attempts; i++) {
    try {
      await fetch(url);
      return;
    } catch {
      await sleep(500);
    }
  }
  throw new Error(`nothing answers at ${url}`);
}

/** A V2 signature as the Marketplace makes it (spec §2.3): HMAC over the raw body, then over key + nonce + timestamp + body MAC. */
export function v2Signature(key, body, timestamp, nonce) {
  const bodyMac = createHmac("sha256", key).update(body).digest("hex");
  return createHmac("sha256", key).update(key + nonce + timestamp + bodyMac).digest("hex").toUpperCase();
}

/** One pre-signed V2 request as bench/requests.lua replays it: "path?query<TAB>body". */
export function signedRequestLine(key, body) {
  const timestamp = String(Date.now());
  const nonce = randomUUID().replaceAll("-", "");
  return `/saas?signature=${v2Signature(key, body, timestamp, nonce)}&timestamp=${timestamp}&nonce=${nonce}\t${body}`;
}

/** A newInstance body for an order never seen before. */
export function freshOrderBody() {
  const orderId = `CSB${randomUUID().replaceAll("-", "").slice(0, 20).toUpperCase()}`;
  return JSON.stringify({ activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: randomUUID() });
}

/** `count` signed requests of `makeBody` in a file for bench/requests.lua; returns its path. */
export function writeRequestFile(name, key, count, makeBody) {
  const lines = [];
  for (let i = 0; i < count; i++) lines.push(signedRequestLine(key, makeBody()));
  // Outside the project: wrangler dev watches the project tree and would rebuild the Worker mid-run.
  const file = `${tmpdir()}/koogallery-bench-${name}.txt`;
  writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}
