import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { CLIENT_TOKEN_LIMIT, CODE_LIMITS, type WindowCount, countCall } from "../../src/license-codes/rate-limits";
import { uniqueId } from "../support/marketplace";
import { sellerCall } from "../support/seller-api";
import { fakeLicenses, licenseEvents, licenseRecord, newLicenseCode } from "../support/license-codes";

/*
 * Issue 19 item 10 (docs/license-rules.md rule 4): activate, heartbeat and software-usage spend the seller's open-API
 * quota, so each license client token and each code has a share, answered 429 with Retry-After beyond it. The
 * counters are the one state a refused call changes.
 */

const activate = (code: string, token?: string) => sellerCall(`/api/v1/license-codes/${code}/activate`, { body: {}, token });
const heartbeat = (code: string, token?: string) => sellerCall(`/api/v1/license-codes/${code}/heartbeat`, { body: {}, token });
const usage = (code: string, token?: string) => sellerCall(`/api/v1/license-codes/${code}/software-usage`, { body: { entries: [{ activeNum: 1 }] }, token });

const limiter = (name: string) => env.RATE_LIMITS.get(env.RATE_LIMITS.idFromName(name));

async function counter(name: string, key: string): Promise<WindowCount | undefined> {
  return runInDurableObject(limiter(name), (_object, state) => state.storage.kv.get<WindowCount>(`window:${key}`));
}

/** Sets a counter as if `count` calls had been made in the current window. */
async function spend(name: string, key: string, count: number, windowMs: number): Promise<void> {
  const now = Date.now();
  await runInDurableObject(limiter(name), (_object, state) => state.storage.kv.put(`window:${key}`, { start: now - (now % windowMs), count }));
}

/** Open-API calls the Worker makes naming this code (the fake is shared by test files; the spy sees only this one). */
function marketplaceCallsFor(code: string) {
  const spy = vi.spyOn(globalThis, "fetch");
  return () =>
    spy.mock.calls.filter(([input, init]) => {
      const url = input instanceof Request ? input.url : String(input);
      return url.includes("/api/mkp-openapi-public/") && typeof init?.body === "string" && init.body.includes(code);
    }).length;
}

const issue = async (productId: string) => String((await sellerCall("/api/v1/license-client-tokens", { body: { productId } })).json.token);

async function knownCode(productId: string): Promise<string> {
  const code = newLicenseCode();
  await fakeLicenses.set(code, { productId });
  expect((await activate(code)).status).toBe(200);
  return code;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("fixed windows", () => {
  it("count calls in windows aligned to the rule, refuse past the limit with the time to the window's end, start over", () => {
    const rule = { limit: 2, windowMs: 60_000 };
    const t0 = 1_800_000_000_000;
    let state: WindowCount | undefined;
    const verdicts = [t0, t0 + 1_000, t0 + 2_000].map((now) => {
      const verdict = countCall(state, rule, now);
      state = verdict.next;
      return verdict;
    });
    expect(verdicts.map((v) => v.allowed)).toEqual([true, true, false]);
    expect(verdicts[2]?.retryAfterMs).toBe(60_000 - ((t0 + 2_000) % 60_000));
    const next = countCall(state, rule, t0 - (t0 % 60_000) + 60_000);
    expect(next).toMatchObject({ allowed: true, next: { count: 1 } });
  });
});

describe("per code", () => {
  it(`activate: ${CODE_LIMITS.activate.limit} an hour; the next is 429 with Retry-After, and changes nothing but the counter`, async () => {
    const code = await knownCode("P-RATE");
    for (let i = 1; i < CODE_LIMITS.activate.limit; i++) expect((await activate(code)).status).toBe(200);
    const record = await licenseRecord(code);
    const events = await licenseEvents(code);
    const calls = marketplaceCallsFor(code);

    const refused = await activate(code);
    expect(refused.status).toBe(429);
    const retryAfter = Number(refused.headers.get("Retry-After"));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(String(refused.json.error)).toMatch(/activate/);
    // The one state a refused call changed: the counter (one more than the limit).
    expect(calls()).toBe(0);
    expect(await licenseRecord(code)).toEqual(record);
    expect(await licenseEvents(code)).toEqual(events);
    expect(await counter(`code:${code}`, "activate")).toMatchObject({ count: CODE_LIMITS.activate.limit + 1 });
    // Other actions of the code have their own share (and the spy does see the Worker's open-API calls).
    expect((await heartbeat(code)).status).toBe(200);
    expect(calls()).toBe(1);
  });

  it("heartbeat and software-usage past their share: 429, no Marketplace call, no queue row", async () => {
    const code = await knownCode("P-RATE");
    await spend(`code:${code}`, "heartbeat", CODE_LIMITS.heartbeat.limit, CODE_LIMITS.heartbeat.windowMs);
    await spend(`code:${code}`, "softwareUsage", CODE_LIMITS.softwareUsage.limit, CODE_LIMITS.softwareUsage.windowMs);
    const calls = marketplaceCallsFor(code);
    expect((await heartbeat(code)).status).toBe(429);
    const refused = await usage(code);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
    expect(calls()).toBe(0);
    const queued = await env.DB.prepare("SELECT COUNT(*) AS n FROM license_usage_queue WHERE code = ?").bind(code).first<{ n: number }>();
    expect(queued?.n).toBe(0);
  });
});

describe("per license client token", () => {
  it(`${CLIENT_TOKEN_LIMIT.limit} calls a minute for the token; then 429 before the code is looked at, other tokens and the seller unaffected`, async () => {
    const product = uniqueId("P-");
    const token = await issue(product);
    const code = await knownCode(product);
    expect((await heartbeat(code, token)).status).toBe(200);
    await spend(`client:${env.LICENSE_CLIENT_TOKEN_GENERATION}:${product}`, "calls", CLIENT_TOKEN_LIMIT.limit, CLIENT_TOKEN_LIMIT.windowMs);
    const codeCounter = await counter(`code:${code}`, "heartbeat");
    const record = await licenseRecord(code);
    const calls = marketplaceCallsFor(code);

    for (const refused of [await heartbeat(code, token), await activate(code, token), await usage(code, token)]) {
      expect(refused.status).toBe(429);
      expect(Number(refused.headers.get("Retry-After"))).toBeGreaterThanOrEqual(1);
      expect(Number(refused.headers.get("Retry-After"))).toBeLessThanOrEqual(60);
      expect(String(refused.json.error)).toMatch(/token/);
    }
    expect(calls()).toBe(0);
    expect(await licenseRecord(code)).toEqual(record);
    // Refused before the code's share was counted.
    expect(await counter(`code:${code}`, "heartbeat")).toEqual(codeCounter);
    // Reading the record spends no quota; the seller's own token and another product's token keep working.
    expect((await sellerCall(`/api/v1/license-codes/${code}`, { token })).status).toBe(200);
    expect((await heartbeat(code)).status).toBe(200);
    const other = uniqueId("P-");
    expect((await heartbeat(await knownCode(other), await issue(other))).status).toBe(200);
  });
});
