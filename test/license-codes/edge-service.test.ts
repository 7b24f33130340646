import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HEARTBEAT_GRACE_MS } from "../../src/license-codes/edge-service";
import { uniqueId } from "../support/marketplace";
import { sellerCall } from "../support/seller-api";
import { callLicense, fakeLicenses, licenseEvents, licenseRecord, makeRefresh, makeStatus, newLicenseCode, openApiCalls } from "../support/license-codes";

const activate = (code: string, token?: string | null, body: object = {}) => sellerCall(`/api/v1/license-codes/${code}/activate`, { body, token });
const heartbeat = (code: string, token?: string | null) => sellerCall(`/api/v1/license-codes/${code}/heartbeat`, { body: {}, token });
const read = (code: string, token?: string | null) => sellerCall(`/api/v1/license-codes/${code}`, { token });

/** A code the fake Marketplace knows, of `productId`. */
async function codeOf(productId: string, license: { status?: string; expireTime?: string } = {}): Promise<string> {
  const code = newLicenseCode();
  await fakeLicenses.set(code, { productId, expireTime: "20280131235959", ...license });
  return code;
}

describe("activate (§2.4 L1) through the gateway", () => {
  it("calls the Marketplace with AK/SK, records the code, emits license.activated once", async () => {
    const code = await codeOf("P-EDGE");
    const first = await activate(code, undefined, { realEffectTime: "2026-11-29T10:00:00Z" });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject({ source: "marketplace", license: { code, productId: "P-EDGE", status: "active", marketplaceStatus: "ALIVE", expireAt: "2028-01-31T23:59:59.000Z" } });
    expect((first.json.license as { activatedAt: string | null }).activatedAt).not.toBeNull();
    // The fake verified the AK/SK signature itself (a wrong one is answered 401 APIGW.*, which would be a 503 here).
    const calls = await openApiCalls("/license/activate");
    expect(calls.some((call) => call.authorization?.startsWith(`SDK-HMAC-SHA256 Access=${env.MARKETPLACE_AK}, `))).toBe(true);
    const again = await activate(code);
    expect(again.status).toBe(200);
    expect((await licenseEvents(code)).map((e) => e.type)).toEqual(["license.activated"]);
    expect(await licenseRecord(code)).toMatchObject({ origin: "activation", product_id: "P-EDGE", version: 2 });
  });

  it.each([
    ["92020005", 404],
    ["92020004", 409],
    ["92020002", 400],
    ["92020001", 503],
  ] as const)("the Marketplace's %s is passed on as %i with the code, and records nothing", async (errorCode, status) => {
    const code = await codeOf("P-EDGE");
    await fakeLicenses.error(code, errorCode, 1);
    const answer = await activate(code);
    expect(answer.status).toBe(status);
    expect(answer.json).toMatchObject({ code: errorCode });
    expect(typeof answer.json.error).toBe("string");
    expect(await licenseRecord(code)).toBeNull();
    expect(await licenseEvents(code)).toEqual([]);
  });

  it("a Marketplace outage during activation is a 503 with the reason, nothing recorded", async () => {
    const code = await codeOf("P-EDGE");
    await fakeLicenses.outage([code], "http503");
    const answer = await activate(code);
    await fakeLicenses.outageOver([code]);
    expect(answer.status).toBe(503);
    expect(answer.json).toMatchObject({ code: "HTTP_503" });
    expect(await licenseRecord(code)).toBeNull();
  });
});

describe("heartbeat (§2.4 L2) and the record during an outage", () => {
  it("records each good heartbeat and the Marketplace's status", async () => {
    const code = await codeOf("P-EDGE");
    await activate(code);
    const ok = await heartbeat(code);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ source: "marketplace", license: { marketplaceStatus: "ALIVE" } });
    const record = await licenseRecord(code);
    expect(record?.last_heartbeat_at).toBeGreaterThan(0);
    await fakeLicenses.set(code, { status: "EXPIRED" });
    expect((await heartbeat(code)).json).toMatchObject({ source: "marketplace", license: { marketplaceStatus: "EXPIRED" } });
    // Heartbeats are daily: no event for them.
    expect((await licenseEvents(code)).map((e) => e.type)).toEqual(["license.activated"]);
  });

  it.each(["http503", "http500", "drop"] as const)("outage (%s) within 24 h of the last good heartbeat: answered from the record, source cache", async (mode) => {
    const code = await codeOf("P-EDGE");
    await activate(code);
    await heartbeat(code);
    const good = await licenseRecord(code);
    await fakeLicenses.outage([code], mode);
    try {
      const cached = await heartbeat(code);
      expect(cached.status).toBe(200);
      expect(cached.json).toMatchObject({ source: "cache", license: { code, marketplaceStatus: "ALIVE", lastHeartbeatAt: new Date(good?.last_heartbeat_at ?? 0).toISOString() } });
      expect(typeof cached.json.marketplaceError).toBe("string");
      // The failed call does not move the last good heartbeat.
      expect((await licenseRecord(code))?.last_heartbeat_at).toBe(good?.last_heartbeat_at);
    } finally {
      await fakeLicenses.outageOver([code]);
    }
  });

  it("outage when the last good heartbeat is older than 24 h (or there was none): 503", async () => {
    const code = await codeOf("P-EDGE");
    await activate(code);
    await heartbeat(code);
    await env.DB.prepare("UPDATE license_codes SET last_heartbeat_at = ? WHERE code = ?").bind(Date.now() - HEARTBEAT_GRACE_MS - 60_000, code).run();
    const never = await codeOf("P-EDGE");
    await activate(never);
    await fakeLicenses.outage([code, never], "http503");
    try {
      for (const c of [code, never]) {
        const refused = await heartbeat(c);
        expect(refused.status).toBe(503);
        expect(refused.json).toMatchObject({ code: "HTTP_503" });
        expect(String(refused.json.error)).toMatch(/24 hours/);
      }
    } finally {
      await fakeLicenses.outageOver([code, never]);
    }
  });

  it("the Marketplace's 92020005 on a heartbeat is a 404, never answered from the record", async () => {
    const code = await codeOf("P-EDGE");
    await activate(code);
    await heartbeat(code);
    await fakeLicenses.error(code, "92020005", 1);
    const answer = await heartbeat(code);
    expect(answer.status).toBe(404);
    expect(answer.json).toMatchObject({ code: "92020005" });
  });
});

describe("GET /api/v1/license-codes/{code}: the state from callbacks and calls together", () => {
  it("shows a freeze from the Marketplace's callback on an activated code", async () => {
    const code = await codeOf("P-EDGE");
    await activate(code);
    await callLicense(makeStatus(code, "FREEZE"));
    const answer = await read(code);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ code, status: "frozen", productId: "P-EDGE" });
    expect(typeof answer.json.dataRetainedUntil).toBe("string");
    expect((await read(newLicenseCode())).status).toBe(404);
  });
});

describe("license client tokens: one product's codes, activate / heartbeat / read / usage only", () => {
  const issue = async (productId: string) => {
    const answer = await sellerCall("/api/v1/license-client-tokens", { body: { productId } });
    expect(answer.status).toBe(200);
    return String(answer.json.token);
  };

  it("is issued by the seller token only, derived (same product, same token), and opens its product's codes", async () => {
    const product = uniqueId("P-");
    const token = await issue(product);
    expect(await issue(product)).toBe(token);
    expect((await sellerCall("/api/v1/license-client-tokens", { body: { productId: product }, token })).status).toBe(401);
    const code = await codeOf(product);
    // The seller's backend activates the code it was handed (README: what a client token may do with a new code).
    expect((await activate(code)).status).toBe(200);
    expect((await activate(code, token)).status).toBe(200);
    expect((await heartbeat(code, token)).json).toMatchObject({ source: "marketplace" });
    expect((await read(code, token)).json).toMatchObject({ code, productId: product });
    expect((await sellerCall(`/api/v1/license-codes/${code}/software-usage`, { body: { entries: [{ activeNum: 3 }] }, token })).status).toBe(200);
  });

  it("opens nothing else: other products' codes are 404 (nothing called), other routes 401, a tampered token 401", async () => {
    const mine = uniqueId("P-");
    const token = await issue(mine);
    const theirs = await codeOf("P-THEIRS");
    await activate(theirs);
    const callsBefore = (await openApiCalls("/license/heartbeat")).length;
    expect((await read(theirs, token)).status).toBe(404);
    expect((await heartbeat(theirs, token)).status).toBe(404);
    expect((await activate(theirs, token)).status).toBe(404);
    expect((await sellerCall(`/api/v1/license-codes/${theirs}/software-usage`, { body: { entries: [{ id: "x" }] }, token })).status).toBe(404);
    expect((await openApiCalls("/license/heartbeat")).length).toBe(callsBefore);
    expect((await sellerCall("/api/v1/instances", { token })).status).toBe(401);
    expect((await sellerCall("/api/v1/events", { token })).status).toBe(401);
    const tampered = `${token.slice(0, -2)}${token.endsWith("A") ? "B" : "A"}`;
    expect((await read(theirs, tampered)).status).toBe(401);
    // Another product's token with this product's id swapped in fails its MAC.
    const [prefix, generation, , mac] = token.split(".");
    const swapped = [prefix, generation, Buffer.from("P-THEIRS").toString("base64url"), mac].join(".");
    expect((await read(theirs, swapped)).status).toBe(401);
  });

  it("a code the gateway has never seen is not activated for a client token: 404, no Marketplace write, nothing stored", async () => {
    // Issue 19 item 8: tokens ship inside installed software, so any buyer holds one; the Marketplace names a code's
    // product only in activate's answer, so a client token cannot be shown to own a code the gateway has not seen.
    const mine = uniqueId("P-");
    const token = await issue(mine);
    for (const product of ["P-THEIRS", mine]) {
      const code = await codeOf(product);
      const answer = await activate(code, token);
      expect(answer.status).toBe(404);
      expect(String(answer.json.error)).toMatch(/SELLER_API_TOKEN/);
      expect(await fakeLicenses.activated(code)).toBe(false);
      expect(await licenseRecord(code)).toBeNull();
      expect(await licenseEvents(code)).toEqual([]);
    }
  });

  it("a code recorded for another product is refused before the Marketplace is called", async () => {
    const token = await issue(uniqueId("P-"));
    const code = await codeOf("P-THEIRS");
    await callLicense(makeRefresh(code, { productId: "P-THEIRS" }));
    const answer = await activate(code, token);
    expect(answer.status).toBe(404);
    expect(await fakeLicenses.activated(code)).toBe(false);
    expect(await licenseRecord(code)).toMatchObject({ product_id: "P-THEIRS", activated_at: null });
  });
});

describe("bad input on the edge routes changes nothing", () => {
  it("no token 401, malformed bodies 400", async () => {
    const code = await codeOf("P-EDGE");
    expect((await activate(code, null)).status).toBe(401);
    expect((await activate(code, undefined, { realEffectTime: "yesterday" })).status).toBe(400);
    expect((await sellerCall(`/api/v1/license-codes/${code}/software-usage`, { body: { entries: [] } })).status).toBe(400);
    expect((await sellerCall(`/api/v1/license-codes/${code}/software-usage`, { body: { entries: [{ id: "a", activeNum: 1 }] } })).status).toBe(400);
    expect((await sellerCall(`/api/v1/license-codes/${"L".repeat(65)}`)).status).toBe(400);
    expect(await licenseRecord(code)).toBeNull();
    const queued = await env.DB.prepare("SELECT COUNT(*) AS n FROM license_usage_queue WHERE code = ?").bind(code).first<{ n: number }>();
    expect(queued?.n).toBe(0);
  });
});
