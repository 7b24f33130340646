import { describe, expect, it } from "vitest";
import { inboxDigestKey } from "../../src/crypto/inbox-digest-key";
import { REMOVED, withoutPersonalFields } from "../../src/protocol/personal-fields";

const DATA_KEY = "dGVzdC1kYXRhLWtleS0zMi1ieXRlcy1sb25nLW9rISE=";

/** HKDF-SHA-256 then HMAC-SHA-256 with WebCrypto, independently of the node:crypto code under test. */
async function webCryptoDigest(received: string): Promise<string> {
  const enc = new TextEncoder();
  const ikm = await crypto.subtle.importKey("raw", Uint8Array.from(atob(DATA_KEY), (c) => c.charCodeAt(0)), "HKDF", false, ["deriveBits"]);
  const bits = await crypto.subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(), info: enc.encode("koogallery-gateway inbox request digest v1") },
    ikm,
    256,
  );
  const key = await crypto.subtle.importKey("raw", bits, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return [...new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(received)))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

// The richer V2 newInstance of spec §3.1 (buyerInfo, orderInfo) and a V1 newInstance (§5.3).
const V2_BODY = {
  activity: "newInstance",
  orderId: "CS1",
  orderLineId: "CS1-000001",
  businessId: "b-1",
  buyerInfo: { customerId: "cust-1", customerName: "张三", userId: "u-1", userName: "zhangsan", mobilePhone: "13800138000", email: "z@example.com" },
  orderInfo: [{ orderId: "CS1", chargingMode: "PERIOD", extendParams: [{ name: "ip", value: "203.0.113.9" }], productInfo: [{ skuCode: "s", productId: "p" }] }],
};
const V1_PARAMS = { activity: "newInstance", customerId: "cust-1", customerName: "Buyer Co.", userName: "iam-user", userId: "iam-1", mobilePhone: "IV16charsxxxxxxxBASE64==", email: "IV16charsyyyyyyyBASE64==", saasExtendParams: "W3sibmFtZSI6ImEiLCJ2YWx1ZSI6ImIifV0=", orderId: "CS2", productId: "p", skuCode: "s", businessId: "b-2", timeStamp: "20261101120000000" };

describe("withoutPersonalFields", () => {
  it("replaces personal fields at any depth and keeps everything that defines the purchase", () => {
    const recorded = JSON.parse(withoutPersonalFields(V2_BODY, JSON.stringify(V2_BODY), inboxDigestKey(DATA_KEY)));
    expect(recorded).toMatchObject({
      activity: "newInstance",
      orderId: "CS1",
      orderLineId: "CS1-000001",
      businessId: "b-1",
      buyerInfo: { customerId: "cust-1", customerName: REMOVED, userId: REMOVED, userName: REMOVED, mobilePhone: REMOVED, email: REMOVED },
      orderInfo: [{ orderId: "CS1", chargingMode: "PERIOD", extendParams: REMOVED, productInfo: [{ skuCode: "s", productId: "p" }] }],
    });
    const text = JSON.stringify(recorded);
    for (const personal of ["张三", "zhangsan", "13800138000", "z@example.com", "203.0.113.9", "u-1"]) expect(text).not.toContain(personal);
  });

  it("does the same for V1's top-level parameters", () => {
    const text = withoutPersonalFields(V1_PARAMS, "activity=newInstance&…", inboxDigestKey(DATA_KEY));
    expect(JSON.parse(text)).toMatchObject({ customerId: "cust-1", customerName: REMOVED, userName: REMOVED, userId: REMOVED, mobilePhone: REMOVED, email: REMOVED, saasExtendParams: REMOVED, orderId: "CS2" });
    for (const personal of ["Buyer Co.", "iam-user", "IV16chars", "W3sibmFtZSI6"]) expect(text).not.toContain(personal);
  });

  it("keeps an HMAC of the body as received under a key derived from DATA_KEY (checked with WebCrypto)", async () => {
    const received = ` ${JSON.stringify(V2_BODY)}\n`;
    const recorded = JSON.parse(withoutPersonalFields(V2_BODY, received, inboxDigestKey(DATA_KEY)));
    expect(recorded.receivedBodyHmac).toBe(await webCryptoDigest(received));
    expect(recorded.receivedBodyHmac).not.toBe(await webCryptoDigest(JSON.stringify(V2_BODY)));
  });

  it("is pure: the input is not changed and the same input gives the same text", () => {
    const copy = structuredClone(V2_BODY);
    const once = withoutPersonalFields(copy, "x", inboxDigestKey(DATA_KEY));
    expect(copy).toEqual(V2_BODY);
    expect(withoutPersonalFields(copy, "x", inboxDigestKey(DATA_KEY))).toBe(once);
  });
});
