import { describe, expect, it } from "vitest";
import { createInstance } from "../../support/marketplace";
import { sellerBackend } from "../../support/seller-backend";
import { sellerCall } from "../../support/seller-api";
import { callLicense, licenseEventsOf, licenseRequest, licenseRows, sha256Hex, uploadsOf, waitForLicense, waitForUploads } from "../../support/licenses";

/* LICENSE_MODE=webhook (vitest project workers-license-webhook): the seller's backend issues each license. */

const onlyLicenseRequests = { types: ["license.requested"] };

describe("LICENSE_MODE=webhook", () => {
  it("takes the license from the backend's answer to license.requested, uploads it and answers 000000", async () => {
    const { instanceId } = await createInstance();
    const body = licenseRequest(instanceId);
    await sellerBackend.answer(instanceId, { kind: "json", body: { type: "CHARACTERS", content: `LIC-${body.eventId}` } }, onlyLicenseRequests);
    const answer = await callLicense(body, "/license");
    expect(answer.json.resultCode).toBe("000000");
    const [row] = await licenseRows(body.eventId);
    expect(row).toMatchObject({ state: "delivered", issued_by: "webhook", type: "CHARACTERS", content: `LIC-${body.eventId}` });
    expect((await uploadsOf(body.eventId)).map((u) => u.characters)).toEqual([`LIC-${body.eventId}`]);

    const requested = (await sellerBackend.deliveries(instanceId)).filter((d) => d.type === "license.requested");
    expect(requested).toHaveLength(1);
    expect(requested[0]?.verified).toBe(true);
    // The device travels as its digest only: the raw fingerprint is in no webhook and no stored event.
    expect(requested[0]?.event?.data).toMatchObject({ eventId: body.eventId, fingerprintSha256: await sha256Hex(body.deviceFingerprint) });
    expect(requested[0]?.event?.data).not.toHaveProperty("deviceFingerprint");
    expect(JSON.stringify(await licenseEventsOf(instanceId))).not.toContain(body.deviceFingerprint);

    // A repeat is answered from the record: no second license.requested, no second upload.
    expect((await callLicense(body, "/license")).json.resultCode).toBe("000000");
    expect((await sellerBackend.deliveries(instanceId)).filter((d) => d.type === "license.requested")).toHaveLength(1);
    expect(await uploadsOf(body.eventId)).toHaveLength(1);
    expect((await licenseEventsOf(instanceId)).map((e) => e.type)).toEqual(["license.requested", "license.issued", "license.delivered"]);
  });

  it("a debug license from the backend is delivered as it is issued: never uploaded (docs/license-rules.md rule 1)", async () => {
    const { instanceId } = await createInstance({ testFlag: "1" });
    const body = licenseRequest(instanceId, { testFlag: "1" });
    await sellerBackend.answer(instanceId, { kind: "json", body: { type: "CHARACTERS", content: `DEBUG-${body.eventId}` } }, onlyLicenseRequests);
    expect((await callLicense(body, "/license")).json.resultCode).toBe("000000");
    expect(await licenseRows(body.eventId)).toMatchObject([{ state: "delivered", issued_by: "webhook", upload_attempts: 0 }]);
    expect(await uploadsOf(body.eventId)).toEqual([]);
    const events = await licenseEventsOf(instanceId);
    expect(events.map((e) => e.type)).toEqual(["license.requested", "license.issued", "license.delivered"]);
  });

  it("a slow backend: 000004 within the budget, then the license is uploaded and a retry gets 000000", async () => {
    const { instanceId } = await createInstance();
    const body = licenseRequest(instanceId);
    await sellerBackend.answer(instanceId, { kind: "json", delayMs: 3_500, body: { type: "CHARACTERS", content: `SLOW-${body.eventId}` } }, onlyLicenseRequests);
    const answer = await callLicense(body);
    expect(answer.json.resultCode).toBe("000004");
    expect(answer.bodySignValid).toBe(true);
    const uploads = await waitForUploads(body.eventId, 1);
    expect(uploads.map((u) => u.characters)).toEqual([`SLOW-${body.eventId}`]);
    expect(await waitForLicense(body.eventId, (row) => row.state === "delivered")).toMatchObject({ state: "delivered", upload_attempts: 1 });
    expect((await callLicense(body)).json.resultCode).toBe("000000");
  });

  it("202, then POST /api/v1/licenses/{eventId} with a FILE: uploaded with its name and SHA-256; same body 200, another 409", async () => {
    const { instanceId } = await createInstance();
    const body = licenseRequest(instanceId);
    await sellerBackend.answer(instanceId, { kind: "accept" }, onlyLicenseRequests);
    expect((await callLicense(body)).json.resultCode).toBe("000004");
    expect(await licenseRows(body.eventId)).toMatchObject([{ state: "requested", content: null }]);
    const pending = await sellerCall(`/api/v1/licenses/${body.eventId}`);
    expect(pending.json).toMatchObject({ state: "requested", type: null, uploadAttempts: 0 });

    const file = Buffer.from("license file bytes \u0000\u0001 for the device").toString("base64");
    const license = { type: "FILE", fileName: "device.lic", content: file };
    const issued = await sellerCall(`/api/v1/licenses/${body.eventId}`, { body: license });
    expect(issued.status).toBe(200);
    expect(issued.json).toMatchObject({ eventId: body.eventId, type: "FILE", fileName: "device.lic", issuedBy: "seller-api" });

    const [upload] = await waitForUploads(body.eventId, 1);
    expect(upload).toMatchObject({ type: "FILE", fileName: "device.lic", sha256Matches: true });
    expect(await waitForLicense(body.eventId, (row) => row.state === "delivered")).toMatchObject({ state: "delivered" });
    expect((await callLicense(body)).json.resultCode).toBe("000000");

    expect((await sellerCall(`/api/v1/licenses/${body.eventId}`, { body: license })).status).toBe(200);
    const other = await sellerCall(`/api/v1/licenses/${body.eventId}`, { body: { ...license, content: Buffer.from("other").toString("base64") } });
    expect(other.status).toBe(409);
    expect(await uploadsOf(body.eventId)).toHaveLength(1);
  });

  it("an event with several devices: a POST without fingerprintSha256 is 400 naming it and issues nothing; with it, that device's license", async () => {
    const { instanceId } = await createInstance();
    const first = licenseRequest(instanceId);
    const second = licenseRequest(instanceId, { eventId: first.eventId });
    await sellerBackend.answer(instanceId, { kind: "accept" }, onlyLicenseRequests);
    expect((await callLicense(first)).json.resultCode).toBe("000004");
    expect((await callLicense(second)).json.resultCode).toBe("000004");
    expect(await licenseRows(first.eventId)).toHaveLength(2);

    const license = { type: "CHARACTERS", content: "LIC-for-one-device" };
    const ambiguous = await sellerCall(`/api/v1/licenses/${first.eventId}`, { body: license });
    expect(ambiguous.status).toBe(400);
    expect(JSON.stringify(ambiguous.json)).toContain("fingerprintSha256");
    expect((await sellerCall(`/api/v1/licenses/${first.eventId}`)).status).toBe(400);
    expect((await licenseRows(first.eventId)).map((row) => row.state)).toEqual(["requested", "requested"]);

    const fingerprintSha256 = await sha256Hex(second.deviceFingerprint);
    const issued = await sellerCall(`/api/v1/licenses/${first.eventId}`, { body: { ...license, fingerprintSha256 } });
    expect(issued.status).toBe(200);
    expect(issued.json).toMatchObject({ fingerprintSha256, content: "LIC-for-one-device" });
    const rows = await licenseRows(first.eventId);
    expect(rows.find((row) => row.fingerprint_sha256 === fingerprintSha256)?.state).not.toBe("requested");
    expect(rows.find((row) => row.fingerprint_sha256 !== fingerprintSha256)?.state).toBe("requested");
    expect((await sellerCall(`/api/v1/licenses/${first.eventId}?fingerprintSha256=${fingerprintSha256}`)).json).toMatchObject({ fingerprintSha256 });
  });

  it("a refusal with 000900–000903 is the Marketplace's answer; malformed POST bodies are 400 and change nothing", async () => {
    const { instanceId } = await createInstance();
    const body = licenseRequest(instanceId);
    await sellerBackend.answer(instanceId, { kind: "json", status: 422, body: { resultCode: "000900", message: "no seats left" } }, onlyLicenseRequests);
    const answer = await callLicense(body);
    expect(answer.json).toMatchObject({ resultCode: "000900", resultMsg: "no seats left" });
    expect(await licenseRows(body.eventId)).toMatchObject([{ state: "failed", last_error_code: "000900" }]);
    expect(await uploadsOf(body.eventId)).toEqual([]);

    for (const bad of [{ type: "CHARACTERS" }, { type: "FILE", fileName: "a.lic", content: "not base64!" }, { type: "CHARACTERS", content: "x", extra: 1 }, { type: "CHARACTERS", content: "x".repeat(1025) }]) {
      expect((await sellerCall(`/api/v1/licenses/${body.eventId}`, { body: bad })).status).toBe(400);
    }
    expect((await sellerCall(`/api/v1/licenses/${body.eventId}`, { body: { type: "CHARACTERS", content: "late" } })).status).toBe(409);
    expect(await licenseRows(body.eventId)).toMatchObject([{ state: "failed", content: null }]);
  });
});
