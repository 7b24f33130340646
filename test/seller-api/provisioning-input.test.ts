import { describe, expect, it } from "vitest";
import { MAX_SELLER_BODY_BYTES } from "../../src/seller-api/route";
import { rowCounts } from "../support/marketplace";
import { SELLER_TABLES, seedInstance, sellerCall } from "../support/seller-api";

/*
 * Refusals of the webhook-mode writes that happen before the actor is asked: malformed input and unknown instances.
 * What the actor answers (200, same body again, 409) is in test/webhook-mode/seller-writes.test.ts.
 */

const instanceId = await seedInstance({ status: "provisioning", createdAt: Date.UTC(2026, 10, 2) });

describe.each([
  ["provisioned", { frontEndUrl: "https://app.example.com/t/1" }],
  ["provisioning-failed", { resultCode: "000106", message: "no capacity" }],
])("POST /api/v1/instances/{id}/%s: bad input", (write, valid) => {
  const path = `/api/v1/instances/${instanceId}/${write}`;

  it.each([
    ["not JSON", { raw: "{nope" }, /^body is not valid UTF-8 JSON$/],
    ["another content type", { raw: JSON.stringify(valid), contentType: "text/plain" }, /^content type must be application\/json$/],
    ["an array", { body: [valid] }, /^body: /],
    ["an unknown field", { body: { ...valid, extra: 1 } }, /^body: unknown "extra"/],
    ["an empty object", { body: {} }, /^body \w+: /],
  ])("400 for %s, storing nothing", async (_name, call, reason) => {
    const before = await rowCounts(SELLER_TABLES);
    const answer = await sellerCall(path, { method: "POST", ...call });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(reason);
    expect(await rowCounts(SELLER_TABLES)).toEqual(before);
  });

  it("413 for a body over the limit, storing nothing", async () => {
    const before = await rowCounts(SELLER_TABLES);
    const answer = await sellerCall(path, { method: "POST", body: { ...valid, padding: "x".repeat(MAX_SELLER_BODY_BYTES) } });
    expect(answer).toMatchObject({ status: 413, json: { error: `request body exceeds ${MAX_SELLER_BODY_BYTES} bytes` } });
    expect(await rowCounts(SELLER_TABLES)).toEqual(before);
  });

  it("404 for an unknown instance, storing nothing", async () => {
    const before = await rowCounts(SELLER_TABLES);
    const answer = await sellerCall(`/api/v1/instances/no-such-instance/${write}`, { method: "POST", body: valid });
    expect(answer).toMatchObject({ status: 404, json: { error: "instance no-such-instance does not exist" } });
    expect(await rowCounts(SELLER_TABLES)).toEqual(before);
  });

  it("a GET is not this route", async () => {
    expect((await sellerCall(path)).status).toBe(404);
  });
});

describe("field rules", () => {
  it.each([
    [{ frontEndUrl: "ftp://app.example.com" }, /^body frontEndUrl: /],
    [{ frontEndUrl: "not a url" }, /^body frontEndUrl: /],
    [{ frontEndUrl: "https://app.example.com", password: "" }, /^body password: /],
  ])("provisioned %o is 400", async (body, reason) => {
    const answer = await sellerCall(`/api/v1/instances/${instanceId}/provisioned`, { method: "POST", body });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(reason);
  });

  it.each([
    [{ resultCode: "000005", message: "x" }, /^body resultCode: /],
    [{ resultCode: "000106", message: "" }, /^body message: /],
    [{ resultCode: "000106", message: "m".repeat(256) }, /^body message: /],
  ])("provisioning-failed %o is 400", async (body, reason) => {
    const answer = await sellerCall(`/api/v1/instances/${instanceId}/provisioning-failed`, { method: "POST", body });
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(reason);
  });

  it("credentials of an unknown instance is 404", async () => {
    expect(await sellerCall("/api/v1/instances/no-such-instance/credentials")).toMatchObject({ status: 404 });
  });
});
