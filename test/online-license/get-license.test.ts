import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { OVERDUE_AFTER_MS, deliverySweepJob } from "../../src/jobs/delivery-sweep.job";
import { sendWith } from "../support/kit";
import { callV2, createInstance, rowCounts, signedV2Request, uniqueId } from "../support/marketplace";
import { sellerCall } from "../support/seller-api";
import {
  type LicenseRoute,
  callLicense,
  licenseEventsOf,
  licenseRequest,
  licenseRows,
  licensedPurchase,
  runUploadsNow,
  sha256Hex,
  steerUploads,
  uploadsOf,
} from "../support/licenses";

const TABLES = ["licenses", "events", "inbox"] as const;

describe.each<LicenseRoute>(["/saas", "/license"])("getLicenseAsync on %s", (route) => {
  it("produces, uploads and answers 000000; a repeat gets the same license and uploads nothing new", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    const first = await callLicense(body, route);
    expect(first.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(first.bodySignValid).toBe(true);
    const [row] = await licenseRows(body.eventId);
    expect(row).toMatchObject({ instance_id: instanceId, state: "delivered", type: "CHARACTERS", issued_by: "builtin", upload_attempts: 1 });
    expect(row?.fingerprint_sha256).toBe(await sha256Hex(body.deviceFingerprint));
    const uploads = await uploadsOf(body.eventId);
    expect(uploads).toHaveLength(1);
    expect(uploads[0]).toMatchObject({ type: "CHARACTERS", characters: row?.content });

    const repeat = await callLicense(body, route);
    expect(repeat.json.resultCode).toBe("000000");
    expect(await licenseRows(body.eventId)).toEqual([row]);
    expect(await uploadsOf(body.eventId)).toHaveLength(1);
    expect((await licenseEventsOf(instanceId)).map((e) => e.type)).toEqual(["license.issued", "license.delivered"]);
  });

  it("refuses the same signed request replayed (000001), for a known and for an unknown instance", async () => {
    const instanceId = await licensedPurchase();
    const key = route === "/license" ? env.LICENSE_ACCESS_KEY : env.SAAS_ACCESS_KEY;
    for (const target of [instanceId, `never-${uniqueId("LIC")}`]) {
      const signed = signedV2Request(licenseRequest(target), { key, path: route });
      const first = await exports.default.fetch(signed.clone());
      expect(((await first.json()) as { resultCode: string }).resultCode).not.toBe("000001");
      const before = await rowCounts([...TABLES]);
      const replay = await exports.default.fetch(signed);
      expect(await replay.json()).toMatchObject({ resultCode: "000001" });
      expect(await rowCounts([...TABLES])).toEqual(before);
    }
  });

  it("gives another device of the same event its own license", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    await callLicense(body, route);
    const other = await callLicense({ ...body, deviceFingerprint: "HW-another-device" }, route);
    expect(other.json.resultCode).toBe("000000");
    const rows = await licenseRows(body.eventId);
    expect(rows).toHaveLength(2);
    expect(rows[0]?.content).not.toBe(rows[1]?.content);
    expect(rows[1]?.fingerprint_sha256).toBe(await sha256Hex("HW-another-device"));
  });
});

describe("concurrent retries", () => {
  it("five identical requests at once produce one license, one upload and one license.issued", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    const answers = await Promise.all(Array.from({ length: 5 }, () => callLicense(body)));
    for (const answer of answers) expect(["000000", "000004"]).toContain(answer.json.resultCode);
    expect(answers.some((answer) => answer.json.resultCode === "000000")).toBe(true);
    const rows = await licenseRows(body.eventId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ state: "delivered", upload_attempts: 1 });
    expect(await uploadsOf(body.eventId)).toHaveLength(1);
    expect((await licenseEventsOf(instanceId)).map((e) => e.type)).toEqual(["license.issued", "license.delivered"]);
  });
});

describe("getLicenseAsync refusals", () => {
  it("000902: a period license without expireTime; nothing stored", async () => {
    const instanceId = await licensedPurchase();
    const { expireTime: _omitted, ...body } = licenseRequest(instanceId);
    const before = await rowCounts(TABLES);
    const answer = await callLicense(body);
    expect(answer.json.resultCode).toBe("000902");
    expect(answer.json.resultMsg).toMatch(/expireTime/);
    expect(answer.bodySignValid).toBe(true);
    expect(await rowCounts(TABLES)).toEqual(before);
  });

  it("000903: a device-bound product (LICENSE_DEVICE_PRODUCTS) without deviceFingerprint", async () => {
    const instanceId = await licensedPurchase("OFFI-DEVICE-LIC");
    const { deviceFingerprint: _omitted, ...body } = licenseRequest(instanceId);
    const answer = await callLicense(body, "/license");
    expect(answer.json.resultCode).toBe("000903");
    expect(await licenseRows(body.eventId)).toEqual([]);
  });

  it("000900: a device-bound order of quantity 1 licenses one device (again for it, not for a second)", async () => {
    const instanceId = await licensedPurchase("OFFI-DEVICE-LIC", 1);
    const first = licenseRequest(instanceId);
    expect((await callLicense(first)).json.resultCode).toBe("000000");
    const sameDevice = licenseRequest(instanceId, { deviceFingerprint: first.deviceFingerprint });
    expect((await callLicense(sameDevice)).json.resultCode).toBe("000000");
    const second = licenseRequest(instanceId);
    const answer = await callLicense(second);
    expect(answer.json.resultCode).toBe("000900");
    expect(await licenseRows(second.eventId)).toEqual([]);
  });

  it("000901: a license that would outlast the order", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId, { expireTime: "2029-01-01 00:00:00 z" });
    expect((await callLicense(body)).json.resultCode).toBe("000901");
    expect(await licenseRows(body.eventId)).toEqual([]);
  });

  it("000003: an instance no purchase created, and a released one", async () => {
    const unknown = licenseRequest(`unknown-${uniqueId("I")}`);
    const before = await rowCounts(TABLES);
    const answer = await callLicense(unknown);
    expect(answer.json.resultCode).toBe("000003");
    expect(await rowCounts(TABLES)).toEqual(before);

    const { instanceId } = await createInstance();
    expect((await callV2({ activity: "releaseInstance", instanceId })).json.resultCode).toBe("000000");
    const released = licenseRequest(instanceId);
    expect((await callLicense(released, "/license")).json.resultCode).toBe("000003");
    expect(await licenseRows(released.eventId)).toEqual([]);
  });

  it.each([
    ["a missing eventId", { eventId: undefined }, /eventId/],
    ["an effectiveTime in another format", { effectiveTime: "20261129120000" }, /effectiveTime/],
    ["an expireTime before effectiveTime", { effectiveTime: "2026-11-29 12:00:00 z", expireTime: "2026-11-28 12:00:00 z" }, /expireTime/],
    ["a fingerprint over 1024 characters", { deviceFingerprint: "x".repeat(1025) }, /deviceFingerprint/],
  ])("000002 for %s; nothing stored", async (_name, overrides, message) => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId, overrides);
    const before = await rowCounts(TABLES);
    const answer = await callLicense(body);
    expect(answer.json.resultCode).toBe("000002");
    expect(answer.json.resultMsg).toMatch(message);
    expect(await rowCounts(TABLES)).toEqual(before);
  });

  it("000001 for a call signed with another key; nothing stored", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    const before = await rowCounts(TABLES);
    const answer = await callV2(body, { path: "/license", key: "not-the-license-key" });
    expect(answer.json.resultCode).toBe("000001");
    expect(await rowCounts(TABLES)).toEqual(before);
  });
});

describe("license upload", () => {
  it("retries an upload that failed twice (000004 meanwhile), then delivers and answers 000000", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    await steerUploads(body.eventId, [
      { status: 500, code: "CBC.0999" },
      { status: 500, code: "CBC.0999" },
    ]);
    const first = await callLicense(body);
    expect(first.json.resultCode).toBe("000004");
    let [row] = await licenseRows(body.eventId);
    expect(row).toMatchObject({ state: "issued", upload_attempts: 1, last_error_code: "CBC.0999" });
    expect(row?.next_upload_at).toBeGreaterThan(Date.now());
    const content = row?.content;

    // A retry of the Marketplace before the backoff is over answers from the record and uploads nothing.
    expect((await callLicense(body)).json.resultCode).toBe("000004");
    expect(await uploadsOf(body.eventId)).toHaveLength(1);

    await runUploadsNow(instanceId);
    [row] = await licenseRows(body.eventId);
    expect(row).toMatchObject({ state: "issued", upload_attempts: 2 });
    await runUploadsNow(instanceId);
    [row] = await licenseRows(body.eventId);
    expect(row).toMatchObject({ state: "delivered", upload_attempts: 3, content });

    const uploads = await uploadsOf(body.eventId);
    expect(uploads.map((u) => u.answeredCode)).toEqual(["CBC.0999", "CBC.0999", "CBC.0000"]);
    expect(new Set(uploads.map((u) => u.characters))).toEqual(new Set([content]));
    expect((await callLicense(body)).json.resultCode).toBe("000000");
    expect((await licenseEventsOf(instanceId)).map((e) => e.type)).toEqual(["license.issued", "license.delivered"]);
  });

  it("an upload whose alarm was lost is woken by the webhook sweep and delivered", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    await steerUploads(body.eventId, [{ status: 503, code: "CBC.0999" }]);
    expect((await callLicense(body)).json.resultCode).toBe("000004");
    const stub = env.INSTANCES.get(env.INSTANCES.idFromName(instanceId));
    await runInDurableObject(stub, async (_actor, state) => {
      await state.storage.deleteAlarm();
      state.storage.kv.delete("licenseDueAt");
    });
    const [row] = await licenseRows(body.eventId);
    const counts = await deliverySweepJob(env, Number(row?.next_upload_at) + OVERDUE_AFTER_MS + 1);
    expect(counts.licenseUploadsWoken).toBeGreaterThanOrEqual(1);
    expect(counts.licenseWakeFailures).toBe(0);
    await env.DB.prepare("UPDATE licenses SET next_upload_at = 0 WHERE id = ?").bind(row?.id).run();
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await licenseRows(body.eventId)).toMatchObject([{ state: "delivered", upload_attempts: 2 }]);
  });

  it("records 91381037 (invalid license format), reports it and never uploads again", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    await steerUploads(body.eventId, [{ status: 200, code: "91381037" }]);
    const answer = await callLicense(body);
    expect(answer.json.resultCode).toBe("000005");
    expect(answer.json.resultMsg).toMatch(/91381037/);
    const [row] = await licenseRows(body.eventId);
    expect(row).toMatchObject({ state: "failed", upload_attempts: 1, last_error_code: "91381037", next_upload_at: null });
    const events = await licenseEventsOf(instanceId);
    expect(events.map((e) => e.type)).toEqual(["license.issued", "license.delivery_failed"]);
    expect(events[1]?.data).toMatchObject({ eventId: body.eventId, state: "failed", lastErrorCode: "91381037" });
    expect(events[1]?.data).not.toHaveProperty("content");

    await runUploadsNow(instanceId);
    expect((await callLicense(body)).json.resultCode).toBe("000005");
    expect(await uploadsOf(body.eventId)).toHaveLength(1);

    const seen = await sellerCall(`/api/v1/licenses/${body.eventId}`);
    expect(seen.status).toBe(200);
    expect(seen.json).toMatchObject({ state: "failed", uploadAttempts: 1, lastErrorCode: "91381037", instanceId });
    expect(JSON.stringify(seen.json)).not.toContain(body.deviceFingerprint);
  });
});

describe("builtin licenses verify offline against the JWKS", () => {
  it("verifies with jose against /.well-known/jwks.json and fails when one byte changes", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    expect((await callLicense(body, "/license")).json.resultCode).toBe("000000");
    const [row] = await licenseRows(body.eventId);
    const token = String(row?.content);

    const response = await exports.default.fetch(new Request("https://gateway.test/.well-known/jwks.json"));
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toMatch(/max-age=\d+/);
    const jwksJson = (await response.json()) as { keys: Array<Record<string, string>> };
    expect(jwksJson.keys).toHaveLength(1);
    expect(jwksJson.keys[0]).not.toHaveProperty("d");
    const keys = createLocalJWKSet(jwksJson as Parameters<typeof createLocalJWKSet>[0]);

    const { payload, protectedHeader } = await jwtVerify(token, keys, { issuer: "https://gateway.test", subject: instanceId, algorithms: ["EdDSA"] });
    expect(protectedHeader.kid).toBe(jwksJson.keys[0]?.kid);
    expect(payload).toMatchObject({ jti: body.eventId, productId: "OFFI000000001", skuCode: "SKU-STD", fingerprint: await sha256Hex(body.deviceFingerprint) });
    expect(payload.exp).toBe(Math.floor((Date.parse(body.expireTime.replace(" z", "Z").replace(" ", "T"))) / 1000));
    expect(typeof payload.nbf).toBe("number");

    const [header, claims, signature] = token.split(".") as [string, string, string];
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1);
    await expect(jwtVerify(`${header}.${claims}.${flip(signature, 5)}`, keys)).rejects.toThrow();
    await expect(jwtVerify(`${header}.${flip(claims, 10)}.${signature}`, keys)).rejects.toThrow();
  });
});

describe("a builtin license longer than the upload API's 1024 characters", () => {
  it("is uploaded as the file license.jwt with its SHA-256, and still verifies", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    const issuer = `https://issuer.example/${"p".repeat(900)}`;
    const answer = await sendWith(signedV2Request(body, { path: "/license", key: env.LICENSE_ACCESS_KEY }), { LICENSE_ISSUER: issuer }, env.LICENSE_ACCESS_KEY);
    expect(answer.json.resultCode).toBe("000000");
    const [row] = await licenseRows(body.eventId);
    expect(row).toMatchObject({ state: "delivered", type: "FILE", file_name: "license.jwt" });
    const [upload] = await uploadsOf(body.eventId);
    expect(upload).toMatchObject({ type: "FILE", fileName: "license.jwt", sha256Matches: true });
    const token = Buffer.from(String(row?.content), "base64").toString("utf8");
    expect(token.length).toBeGreaterThan(1024);
    const jwksJson = (await (await exports.default.fetch(new Request("https://gateway.test/.well-known/jwks.json"))).json()) as Parameters<typeof createLocalJWKSet>[0];
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwksJson), { issuer });
    expect(payload.jti).toBe(body.eventId);
  });
});

describe("GET /api/v1/licenses/{eventId}", () => {
  it("shows a delivered license to the seller token only; 404 for an unknown event", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    await callLicense(body);
    const seen = await sellerCall(`/api/v1/licenses/${body.eventId}`);
    expect(seen.status).toBe(200);
    expect(seen.json).toMatchObject({ eventId: body.eventId, instanceId, state: "delivered", type: "CHARACTERS", uploadAttempts: 1, lastError: null, issuedBy: "builtin" });
    expect(seen.json.fingerprintSha256).toBe(await sha256Hex(body.deviceFingerprint));
    expect((await sellerCall(`/api/v1/licenses/${body.eventId}`, { token: "wrong" })).status).toBe(401);
    expect((await sellerCall(`/api/v1/licenses/${uniqueId("EV")}`)).status).toBe(404);
    expect((await sellerCall(`/api/v1/licenses/${body.eventId}?fingerprintSha256=xyz`)).status).toBe(400);
  });

  it("POST in builtin mode: the issued license is not replaced (409), the same one is 200", async () => {
    const instanceId = await licensedPurchase();
    const body = licenseRequest(instanceId);
    await callLicense(body);
    const [row] = await licenseRows(body.eventId);
    expect((await sellerCall(`/api/v1/licenses/${body.eventId}`, { body: { type: "CHARACTERS", content: "other" } })).status).toBe(409);
    expect((await sellerCall(`/api/v1/licenses/${body.eventId}`, { body: { type: "CHARACTERS", content: row?.content } })).status).toBe(200);
  });
});

it("test env has a signing key (vitest.config.ts TEST_SECRETS)", () => {
  expect(env.LICENSE_SIGNING_KEY).toMatch(/BEGIN PRIVATE KEY/);
});
