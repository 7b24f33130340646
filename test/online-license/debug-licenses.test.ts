import { describe, expect, it } from "vitest";
import { callV2, createInstance, rowCounts, uniqueId } from "../support/marketplace";
import { type LicenseRoute, callLicense, licenseEventsOf, licenseRequest, licenseRows, licensedPurchase, uploadsOf } from "../support/licenses";

/*
 * Issue 19 item 7 (docs/license-rules.md rule 1): debug (testFlag 1) and real licenses are separate worlds, as debug and
 * real instances are (docs/lifecycle-rules.md rule 4). A debug call never touches a real purchase, never reaches the
 * Marketplace's open API, and always answers 000000 so the saved debug cases replay in any order; a real call never
 * gets a license of a debug instance; a debug license says so in its claims.
 */

const TABLES = ["licenses", "events", "instances", "inbox"] as const;

const debugPurchase = async () => (await createInstance({ testFlag: "1" })).instanceId;

function claimsOf(jws: string | null | undefined): Record<string, unknown> {
  const [, payload = ""] = String(jws).split(".");
  return JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as Record<string, unknown>;
}

describe.each<LicenseRoute>(["/saas", "/license"])("debug and real licenses never cross (%s)", (route) => {
  it("a debug call naming a real instance answers 000000 and issues, uploads and counts nothing", async () => {
    const realId = await licensedPurchase("OFFI-DEVICE-LIC", 1);
    const debug = licenseRequest(realId, { testFlag: "1" });
    const before = await rowCounts(TABLES);
    const answer = await callLicense(debug, route);
    expect(answer.json).toMatchObject({ resultCode: "000000" });
    expect(answer.bodySignValid).toBe(true);
    expect(await rowCounts(TABLES)).toEqual(before);
    expect(await uploadsOf(debug.eventId)).toEqual([]);
    // The real order's one device is still free: the debug call took no part of its quota.
    const real = licenseRequest(realId);
    expect((await callLicense(real, route)).json.resultCode).toBe("000000");
    expect(await licenseRows(real.eventId)).toMatchObject([{ state: "delivered" }]);
    expect((await licenseEventsOf(realId)).map((e) => e.type)).toEqual(["license.issued", "license.delivered"]);
  });

  it("a real call naming a debug instance answers 000003 and stores nothing", async () => {
    const debugId = await debugPurchase();
    const real = licenseRequest(debugId);
    const before = await rowCounts(TABLES);
    expect((await callLicense(real, route)).json.resultCode).toBe("000003");
    expect(await rowCounts(TABLES)).toEqual(before);
    expect(await uploadsOf(real.eventId)).toEqual([]);
  });

  it("a debug call for an instance this gateway never saw answers 000000, every time, and stores and uploads nothing", async () => {
    const body = licenseRequest(`never-${uniqueId("I")}`, { testFlag: "1" });
    const before = await rowCounts(TABLES);
    for (let i = 0; i < 2; i++) expect((await callLicense(body, route)).json.resultCode).toBe("000000");
    expect(await rowCounts(TABLES)).toEqual(before);
    expect(await uploadsOf(body.eventId)).toEqual([]);
  });
});

describe("debug licenses of debug instances", () => {
  it("carry test: true, are answered 000000 without an upload, and repeat the same license", async () => {
    const debugId = await debugPurchase();
    const body = licenseRequest(debugId, { testFlag: "1" });
    expect((await callLicense(body)).json.resultCode).toBe("000000");
    const [row] = await licenseRows(body.eventId);
    expect(row).toMatchObject({ instance_id: debugId, state: "delivered", upload_attempts: 0, issued_by: "builtin" });
    expect(claimsOf(row?.content)).toMatchObject({ test: true, sub: debugId, jti: body.eventId });
    expect(await uploadsOf(body.eventId)).toEqual([]);
    expect((await callLicense(body)).json.resultCode).toBe("000000");
    expect(await licenseRows(body.eventId)).toEqual([row]);
    const events = await licenseEventsOf(debugId);
    expect(events.map((e) => e.type)).toEqual(["license.issued", "license.delivered"]);
    expect(events.every((e) => e.data.test === true)).toBe(true);
  });

  it("a real license carries no test claim", async () => {
    const realId = await licensedPurchase();
    const body = licenseRequest(realId);
    expect((await callLicense(body)).json.resultCode).toBe("000000");
    const [row] = await licenseRows(body.eventId);
    expect(claimsOf(row?.content)).not.toHaveProperty("test");
  });

  it("a debug call after the debug instance's release still answers 000000 and issues nothing", async () => {
    const debugId = await debugPurchase();
    expect((await callV2({ activity: "releaseInstance", instanceId: debugId, testFlag: "1" })).json.resultCode).toBe("000000");
    const body = licenseRequest(debugId, { testFlag: "1" });
    expect((await callLicense(body, "/license")).json.resultCode).toBe("000000");
    expect(await licenseRows(body.eventId)).toEqual([]);
  });
});
