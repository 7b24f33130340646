import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createV2Signature } from "../../src/protocol/v2-signature";
import { generalOrderRow, keyOf, makeOrderNotify } from "../support/general-orders";
import { readAnswer, rowCounts, signedV2Request } from "../support/marketplace";

/*
 * Bad input on POST /orders: the spec's code (000001 authentication, 000002 parameters), a clear message, an answer
 * signed with the general key whatever went wrong, and nothing stored: no order, no inbox record, no nonce, no event.
 */

const TABLES = ["general_orders", "inbox", "nonces", "events"] as const;

const valid = () => makeOrderNotify({ testFlag: "1" });
/** Signed as the Marketplace signs an order notification: V2 in the query, GENERAL_ACCESS_KEY. */
const signed = (body: string | object, options: Parameters<typeof signedV2Request>[1] = {}) =>
  signedV2Request(body, { path: "/orders", key: env.GENERAL_ACCESS_KEY, ...options });

const send = async (request: Request) => readAnswer(await exports.default.fetch(request), env.GENERAL_ACCESS_KEY);

interface Case {
  name: string;
  request: () => Request;
  code: string;
  message: RegExp;
}

const cases: Case[] = [
  {
    name: "unsigned",
    request: () => new Request("https://gateway.test/orders", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(valid()) }),
    code: "000001",
    message: /^missing signature, timestamp, nonce$/,
  },
  { name: "signed with the SaaS key (wrong key)", request: () => signed(valid(), { key: env.SAAS_ACCESS_KEY }), code: "000001", message: /^signature does not match$/ },
  { name: "signed with an unknown key", request: () => signed(valid(), { key: "not-the-key" }), code: "000001", message: /^signature does not match$/ },
  {
    name: "signature of another body",
    request: () => {
      const timestamp = String(Date.now());
      const signature = createV2Signature(env.GENERAL_ACCESS_KEY, JSON.stringify(valid()), timestamp, "n-orders-1");
      return signed(valid(), { timestamp, nonce: "n-orders-1", signature });
    },
    code: "000001",
    message: /^signature does not match$/,
  },
  { name: "stale: timestamp 61 s old", request: () => signed(valid(), { timestamp: Date.now() - 61_000 }), code: "000001", message: /^timestamp is too old$/ },
  { name: "timestamp 61 s ahead", request: () => signed(valid(), { timestamp: Date.now() + 61_000 }), code: "000001", message: /^timestamp is in the future$/ },
  { name: "malformed: body not JSON", request: () => signed("{activity:orderNotify"), code: "000002", message: /^request body is not valid JSON$/ },
  { name: "malformed: body a JSON array", request: () => signed("[1,2]"), code: "000002", message: /^request body must be a JSON object$/ },
  { name: "oversized: body over 64 KiB", request: () => signed({ ...valid(), padding: "x".repeat(66_000) }), code: "000002", message: /^request body exceeds 65536 bytes$/ },
  { name: "content type text/plain", request: () => signed(valid(), { contentType: "text/plain" }), code: "000002", message: /^content type must be application\/json/ },
  {
    name: "unknown activity (a SaaS call sent to the order URL)",
    request: () => signed({ ...valid(), activity: "newInstance" }),
    code: "000002",
    message: /^unknown activity "newInstance": this URL \(POST \/orders\) takes orderNotify only$/,
  },
  { name: "missing activity", request: () => signed({ orderId: "CS1", orderLineId: "CS1-1" }), code: "000002", message: /^missing activity$/ },
  // A missing orderLineId is not bad input: the notification names the whole order (test/orders/notify-fields.test.ts).
  { name: "missing orderId", request: () => signed({ activity: "orderNotify", orderLineId: "CS1-000001", testFlag: "1" }), code: "000002", message: /^orderId: required$/ },
  { name: "orderLineId a number", request: () => signed({ ...valid(), orderLineId: 1 }), code: "000002", message: /^orderLineId: expected string, got number$/ },
  { name: "orderId of 65 characters", request: () => signed({ ...valid(), orderId: "O".repeat(65) }), code: "000002", message: /^orderId: too long \(max 64\)$/ },
  { name: "orderLineId of 65 characters", request: () => signed({ ...valid(), orderLineId: "L".repeat(65) }), code: "000002", message: /^orderLineId: too long \(max 64\)$/ },
  { name: "orderId a number", request: () => signed({ ...valid(), orderId: 12345 }), code: "000002", message: /^orderId: expected string, got number$/ },
  { name: "testFlag 2", request: () => signed({ ...valid(), testFlag: "2" }), code: "000002", message: /^testFlag: must be "0" or "1"$/ },
];

describe("bad input on POST /orders: its code, a clear message, a signed answer, nothing stored", () => {
  it.each(cases)("$name → $code", async ({ request, code, message }) => {
    const before = await rowCounts(TABLES);
    const answer = await send(request());
    expect(answer.status).toBe(200);
    expect(answer.bodySignValid).toBe(true);
    expect(answer.json.resultCode).toBe(code);
    expect(answer.json.resultMsg).toMatch(message);
    expect(await rowCounts(TABLES)).toEqual(before);
  });

  it("a replayed call (same nonce) is refused with 000001 and changes nothing", async () => {
    const body = valid();
    const request = signed(body, { nonce: "replayed-order-nonce-1" });
    const replay = request.clone();
    expect((await send(request)).json.resultCode).toBe("000000");
    const stored = await generalOrderRow(keyOf(body));
    expect(stored).not.toBeNull();
    const before = await rowCounts(TABLES);
    const second = await send(replay);
    expect(second.json).toEqual({ resultCode: "000001", resultMsg: "nonce was already used (replay)" });
    expect(second.bodySignValid).toBe(true);
    expect(await rowCounts(TABLES)).toEqual(before);
    expect(await generalOrderRow(keyOf(body))).toEqual(stored);
  });

  it("GET /orders is not a callback", async () => {
    expect((await exports.default.fetch("https://gateway.test/orders")).status).toBe(404);
  });
});
