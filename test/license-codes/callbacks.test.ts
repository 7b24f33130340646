import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { FREEZE_DATA_RETENTION_MS, planCallback } from "../../src/license-codes/license-code";
import { RefreshLicenseCode } from "../../src/protocol/schemas/license.schema";
import {
  callLicense,
  licenseEvents,
  licenseRecord,
  makeRefresh,
  makeRelease,
  makeStatus,
  newLicenseCode,
  waitForDeliveries,
} from "../support/license-codes";

const inboxRows = async (code: string) =>
  (await env.DB.prepare("SELECT idempotency_key AS k, interface, activity, result_code AS code FROM inbox WHERE idempotency_key LIKE ?").bind(`license:%:${code}%`).all()).results;

describe("refreshLicenseCode (§3.3): a renewal order is applied once", () => {
  it("records a code first heard of in a renewal, emits license.renewed in the batch, and answers a repeat 000000 without a change", async () => {
    const code = newLicenseCode();
    const body = makeRefresh(code);
    const first = await callLicense(body);
    expect(first.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(first.bodySignValid).toBe(true);
    const record = await licenseRecord(code);
    expect(record).toMatchObject({
      origin: "callback",
      status: "active",
      order_id: body.orderId,
      order_line_id: body.orderLineId,
      product_id: "OFFI-LIC-1",
      expire_at: Date.UTC(2028, 0, 31, 23, 59, 59),
      last_refresh_scene: "RENEWAL",
      version: 1,
    });
    const events = await licenseEvents(code);
    expect(events.map((e) => e.type)).toEqual(["license.renewed"]);
    expect(events[0]).toMatchObject({ instanceId: null, data: { code, status: "active", expireAt: "2028-01-31T23:59:59.000Z", orderId: body.orderId, version: 1 } });
    expect(await inboxRows(code)).toEqual([{ k: `license:refresh:${code}:${body.orderId}:${body.orderLineId}`, interface: "license", activity: "refreshLicenseCode", code: "000000" }]);

    // The Marketplace's retry (a new nonce, same order) and a late one with another expiry: no-ops.
    const repeat = await callLicense(body);
    expect(repeat.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(repeat.bodySignValid).toBe(true);
    await callLicense({ ...body, expireTime: "20300101000000" });
    expect(await licenseRecord(code)).toMatchObject({ version: 1, expire_at: Date.UTC(2028, 0, 31, 23, 59, 59) });
    expect(await licenseEvents(code)).toHaveLength(1);
  });

  it("a second renewal order applies; UNSUBSCRIBE_RENEWAL_PERIOD moves the expiry back and emits license.renewal_cancelled", async () => {
    const code = newLicenseCode();
    await callLicense(makeRefresh(code));
    const second = makeRefresh(code, { expireTime: "20290131235959", productId: null });
    expect((await callLicense(second)).json.resultCode).toBe("000000");
    expect(await licenseRecord(code)).toMatchObject({ version: 2, expire_at: Date.UTC(2029, 0, 31, 23, 59, 59), order_id: second.orderId, product_id: "OFFI-LIC-1" });
    const cancel = makeRefresh(code, { scene: "UNSUBSCRIBE_RENEWAL_PERIOD", expireTime: "20280131235959" });
    expect((await callLicense(cancel)).json.resultCode).toBe("000000");
    expect(await licenseRecord(code)).toMatchObject({ version: 3, expire_at: Date.UTC(2028, 0, 31, 23, 59, 59), last_refresh_scene: "UNSUBSCRIBE_RENEWAL_PERIOD" });
    expect((await licenseEvents(code)).map((e) => e.type)).toEqual(["license.renewed", "license.renewed", "license.renewal_cancelled"]);
  });
});

describe("updateLicenseCodeStatus (§3.3): idempotent by state, data kept through the 15-day freeze period", () => {
  it("FREEZE records frozenAt and the retention date; repeats change nothing; UNFREEZE lifts it once", async () => {
    const code = newLicenseCode();
    await callLicense(makeRefresh(code));
    const before = Date.now();
    expect((await callLicense(makeStatus(code, "FREEZE"))).json).toEqual({ resultCode: "000000", resultMsg: "success" });
    const frozen = await licenseRecord(code);
    expect(frozen).toMatchObject({ status: "frozen", version: 2 });
    expect(frozen?.frozen_at).toBeGreaterThanOrEqual(before);
    expect(frozen?.data_retained_until).toBe((frozen?.frozen_at ?? 0) + FREEZE_DATA_RETENTION_MS);
    // The renewal data stays while frozen.
    expect(frozen?.expire_at).toBe(Date.UTC(2028, 0, 31, 23, 59, 59));

    const repeat = await callLicense(makeStatus(code, "FREEZE"));
    expect(repeat.json.resultCode).toBe("000000");
    expect(await licenseRecord(code)).toMatchObject({ version: 2, frozen_at: frozen?.frozen_at });

    expect((await callLicense(makeStatus(code, "UNFREEZE"))).json.resultCode).toBe("000000");
    expect(await licenseRecord(code)).toMatchObject({ status: "active", frozen_at: null, data_retained_until: null, version: 3 });
    expect((await callLicense(makeStatus(code, "UNFREEZE"))).json.resultCode).toBe("000000");
    expect(await licenseRecord(code)).toMatchObject({ version: 3 });
    const events = await licenseEvents(code);
    expect(events.map((e) => e.type)).toEqual(["license.renewed", "license.frozen", "license.unfrozen"]);
    expect(events[1]?.data).toMatchObject({ status: "frozen", frozenAt: new Date(frozen?.frozen_at ?? 0).toISOString() });
  });
});

describe("releaseLicenseCode (§3.3): always succeeds", () => {
  it("releases once, answers every repeat 000000, and a released code ignores later status changes and renewals", async () => {
    const code = newLicenseCode();
    await callLicense(makeStatus(code, "FREEZE"));
    const release = makeRelease(code, { orderId: "CS-UNSUB-1", orderLineId: "CS-UNSUB-1-000001" });
    expect((await callLicense(release)).json).toEqual({ resultCode: "000000", resultMsg: "success" });
    const released = await licenseRecord(code);
    expect(released).toMatchObject({ status: "released", order_id: "CS-UNSUB-1", data_retained_until: null, version: 2 });
    for (const body of [release, makeRelease(code), makeStatus(code, "UNFREEZE"), makeRefresh(code)]) {
      const answer = await callLicense(body);
      expect(answer.json.resultCode).toBe("000000");
      expect(answer.bodySignValid).toBe(true);
    }
    expect(await licenseRecord(code)).toMatchObject({ status: "released", version: 2 });
    expect((await licenseEvents(code)).map((e) => e.type)).toEqual(["license.frozen", "license.released"]);
  });

  it("a release of a code never seen records it released (the default policy), so the Marketplace stops retrying", async () => {
    const code = newLicenseCode();
    expect((await callLicense(makeRelease(code))).json.resultCode).toBe("000000");
    expect(await licenseRecord(code)).toMatchObject({ status: "released", origin: "callback" });
  });
});

describe("one actor per code", () => {
  it("concurrent callbacks for a new code are applied one after the other: one row, every change, a retried renewal once", async () => {
    const code = newLicenseCode();
    const renewal = makeRefresh(code);
    const answers = await Promise.all([callLicense(renewal), callLicense(renewal), callLicense(makeStatus(code, "FREEZE")), callLicense(renewal)]);
    expect(answers.map((a) => a.json.resultCode)).toEqual(["000000", "000000", "000000", "000000"]);
    const record = await licenseRecord(code);
    expect(record).toMatchObject({ status: "frozen", order_id: renewal.orderId, version: 2 });
    expect((await licenseEvents(code)).map((e) => e.type).sort()).toEqual(["license.frozen", "license.renewed"]);
  });
});

describe("unknown codes: one policy (LICENSE_UNKNOWN_CODES)", () => {
  it("reject answers 000003 and plans no change; record plans the change", () => {
    const call = RefreshLicenseCode.parse(makeRefresh("LIC-NEVER-SEEN"));
    const rejected = planCallback(undefined, call, { now: 1, unknownCodes: "reject", orderAlreadyApplied: false });
    expect(rejected).toEqual({ kind: "answer", resultCode: "000003", resultMsg: "license code LIC-NEVER-SEEN does not exist" });
    expect(planCallback(undefined, call, { now: 1, unknownCodes: "record", orderAlreadyApplied: false })).toMatchObject({ kind: "change", event: "license.renewed" });
  });
});

describe("events reach the seller's backend", () => {
  it("license.* events are delivered as signed webhooks, in order", async () => {
    const code = newLicenseCode();
    await callLicense(makeRefresh(code));
    await callLicense(makeStatus(code, "FREEZE"));
    const deliveries = await waitForDeliveries(code, 2);
    expect(deliveries.map((d) => [d.type, d.verified, d.status])).toEqual([
      ["license.renewed", true, 200],
      ["license.frozen", true, 200],
    ]);
    expect(deliveries[0]?.event).toMatchObject({ type: "license.renewed", instanceId: null, test: false, data: { code } });
  });
});
