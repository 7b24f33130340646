import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createV2Signature } from "../../src/protocol/v2-signature";
import { makeNewInstance, send, signedV2Request, tableCounts } from "../support/marketplace";

interface Case {
  name: string;
  request: () => Request;
  code: string;
  message: RegExp;
}

const valid = () => makeNewInstance();

const cases: Case[] = [
  {
    name: "no signature parameters",
    request: () => new Request("https://gateway.test/saas", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(valid()) }),
    code: "000001",
    message: /^missing signature, timestamp, nonce$/,
  },
  { name: "signed with another key", request: () => signedV2Request(valid(), { key: "not-the-key" }), code: "000001", message: /^signature does not match$/ },
  {
    name: "signature of another body",
    request: () => {
      const timestamp = String(Date.now());
      const signature = createV2Signature(env.SAAS_ACCESS_KEY, JSON.stringify(valid()), timestamp, "n-1");
      return signedV2Request(valid(), { timestamp, nonce: "n-1", signature });
    },
    code: "000001",
    message: /^signature does not match$/,
  },
  { name: "timestamp 61 s old", request: () => signedV2Request(valid(), { timestamp: Date.now() - 61_000 }), code: "000001", message: /^timestamp is too old$/ },
  { name: "timestamp 61 s ahead", request: () => signedV2Request(valid(), { timestamp: Date.now() + 61_000 }), code: "000001", message: /^timestamp is in the future$/ },
  { name: "timestamp not a number", request: () => signedV2Request(valid(), { timestamp: "yesterday" }), code: "000001", message: /^timestamp is not a Unix time$/ },
  { name: "body not JSON", request: () => signedV2Request("{activity:newInstance"), code: "000002", message: /^request body is not valid JSON$/ },
  { name: "body a JSON array", request: () => signedV2Request("[1,2]"), code: "000002", message: /^request body must be a JSON object$/ },
  { name: "body over 64 KiB", request: () => signedV2Request({ ...valid(), padding: "x".repeat(66_000) }), code: "000002", message: /^request body exceeds 65536 bytes$/ },
  { name: "content type text/plain", request: () => signedV2Request(valid(), { contentType: "text/plain" }), code: "000002", message: /^content type must be application\/json/ },
  { name: "unknown activity", request: () => signedV2Request({ ...valid(), activity: "deleteEverything" }), code: "000002", message: /^unknown activity "deleteEverything"$/ },
  { name: "missing activity", request: () => signedV2Request({ orderId: "CS1" }), code: "000002", message: /^missing activity$/ },
  { name: "missing orderLineId", request: () => signedV2Request({ activity: "newInstance", orderId: "CS1", businessId: "b" }), code: "000002", message: /^orderLineId: required$/ },
  { name: "orderId of 65 characters", request: () => signedV2Request({ ...valid(), orderId: "O".repeat(65) }), code: "000002", message: /^orderId: too long \(max 64\)$/ },
  { name: "orderId a number", request: () => signedV2Request({ ...valid(), orderId: 12345 }), code: "000002", message: /^orderId: expected string, got number$/ },
  { name: "testFlag 2", request: () => signedV2Request({ ...valid(), testFlag: "2" }), code: "000002", message: /^testFlag: must be "0" or "1"$/ },
  { name: "expireTime not a date", request: () => signedV2Request({ activity: "refreshInstance", scene: "RENEWAL", orderId: "o", orderLineId: "l", instanceId: "i", expireTime: "20301332000000" }), code: "000002", message: /^expireTime/ },
  { name: "scene unknown", request: () => signedV2Request({ activity: "refreshInstance", scene: "FOREVER", orderId: "o", orderLineId: "l", instanceId: "i", expireTime: "20300101000000" }), code: "000002", message: /^scene: must be/ },
  { name: "body not UTF-8", request: () => signedV2Request(new TextDecoder("latin1").decode(new Uint8Array([0x7b, 0xff, 0x7d]))), code: "000002", message: /JSON|UTF-8/ },
];

describe("bad input on POST /saas: the spec's code, a clear message, a signed answer, nothing stored", () => {
  it.each(cases)("$name → $code", async ({ request, code, message }) => {
    const before = await tableCounts();
    const answer = await send(request());
    expect(answer.status).toBe(200);
    expect(answer.bodySignValid).toBe(true);
    expect(answer.json.resultCode).toBe(code);
    expect(answer.json.resultMsg).toMatch(message);
    expect(await tableCounts()).toEqual(before);
  });

  it("a replayed nonce is refused with 000001 and changes nothing", async () => {
    const request = signedV2Request(valid(), { nonce: "replayed-nonce-1" });
    const replay = request.clone();
    const first = await send(request);
    expect(first.json.resultCode).toBe("000000");
    const before = await tableCounts();
    const second = await send(replay);
    expect(second.json).toMatchObject({ resultCode: "000001", resultMsg: "nonce was already used (replay)" });
    expect(await tableCounts()).toEqual(before);
  });

  it("GET /saas and unknown paths are not callbacks", async () => {
    expect((await exports.default.fetch("https://gateway.test/saas")).status).toBe(404);
    expect((await exports.default.fetch("https://gateway.test/saasx", { method: "POST" })).status).toBe(404);
  });
});
