// What the benchmarks share: the environment wrangler runs in, waiting for a server, and the Marketplace's signing.
import { createHmac } from "node:crypto";
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
