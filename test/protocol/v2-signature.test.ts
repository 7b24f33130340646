import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/protocol/errors";
import { createV2Signature, verifyV2Request, verifyV2Signature, type ReplayStore } from "../../src/protocol/v2-signature";

const key = "test-access-key";
const body = '{"activity":"newInstance","orderId":"CS1","orderLineId":"CS1-000001","businessId":"b1"}';
const now = 1_717_000_000_123;
const tolerance = 60_000;

function parts(overrides: Partial<{ signature: string | null; timestamp: string | null; nonce: string | null }> = {}) {
  const timestamp = String(now);
  const nonce = "7d1e0c6a9b3f4e21";
  return { signature: createV2Signature(key, body, timestamp, nonce), timestamp, nonce, ...overrides };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof GatewayError ? `${error.code}:${error.message}` : "not a GatewayError";
  }
  return undefined;
}

describe("V2 request signature", () => {
  it("matches an independent computation of the documented formula", async () => {
    // Computed here with WebCrypto, independently of node:crypto used by the implementation.
    const enc = new TextEncoder();
    const k = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
    const bodyMac = hex(await crypto.subtle.sign("HMAC", k, enc.encode(body)));
    const expected = hex(await crypto.subtle.sign("HMAC", k, enc.encode(`${key}abc${now}${bodyMac}`)));
    expect(createV2Signature(key, body, String(now), "abc")).toBe(expected.toUpperCase());
  });

  it("accepts a valid signature in upper or lower case, and a seconds timestamp", () => {
    expect(codeOf(() => verifyV2Signature(key, body, parts(), now, tolerance))).toBeUndefined();
    const lower = parts();
    lower.signature = String(lower.signature).toLowerCase();
    expect(codeOf(() => verifyV2Signature(key, body, lower, now, tolerance))).toBeUndefined();
    const seconds = String(Math.floor(now / 1000));
    const sigSeconds = createV2Signature(key, body, seconds, "n1");
    expect(codeOf(() => verifyV2Signature(key, body, { signature: sigSeconds, timestamp: seconds, nonce: "n1" }, now, tolerance))).toBeUndefined();
  });

  it("verifies over raw bytes: a re-serialised body fails", () => {
    const reserialised = JSON.stringify(JSON.parse(body), null, 1);
    expect(codeOf(() => verifyV2Signature(key, reserialised, parts(), now, tolerance))).toBe("000001:signature does not match");
    expect(codeOf(() => verifyV2Signature(key, new TextEncoder().encode(body), parts(), now, tolerance))).toBeUndefined();
  });

  it("rejects a tampered body, a wrong key, a changed nonce", () => {
    expect(codeOf(() => verifyV2Signature(key, body.replace("CS1", "CS2"), parts(), now, tolerance))).toBe("000001:signature does not match");
    expect(codeOf(() => verifyV2Signature("other-key", body, parts(), now, tolerance))).toBe("000001:signature does not match");
    expect(codeOf(() => verifyV2Signature(key, body, { ...parts(), nonce: "other" }, now, tolerance))).toBe("000001:signature does not match");
  });

  it("rejects stale and future timestamps at the tolerance edge", () => {
    expect(codeOf(() => verifyV2Signature(key, body, parts(), now + tolerance, tolerance))).toBeUndefined();
    expect(codeOf(() => verifyV2Signature(key, body, parts(), now + tolerance + 1, tolerance))).toBe("000001:timestamp is too old");
    expect(codeOf(() => verifyV2Signature(key, body, parts(), now - tolerance - 1, tolerance))).toBe("000001:timestamp is in the future");
  });

  it("rejects missing and malformed parts", () => {
    expect(codeOf(() => verifyV2Signature(key, body, parts({ signature: null, nonce: null }), now, tolerance))).toBe("000001:missing signature, nonce");
    expect(codeOf(() => verifyV2Signature(key, body, parts({ timestamp: "12a" }), now, tolerance))).toBe("000001:timestamp is not a Unix time");
    expect(codeOf(() => verifyV2Signature(key, body, parts({ signature: "ABC" }), now, tolerance))).toBe("000001:signature is not 64 hex characters");
    expect(codeOf(() => verifyV2Signature(key, body, parts({ nonce: "x".repeat(129) }), now, tolerance))).toBe("000001:nonce is too long");
  });

  it("refuses a timestamp with a leading zero: a nonce's last digit moved into it would keep the signature", () => {
    const signed = { signature: createV2Signature(key, body, String(now), "7d1e0c6a9b3f4e20"), timestamp: String(now), nonce: "7d1e0c6a9b3f4e20" };
    expect(codeOf(() => verifyV2Signature(key, body, signed, now, tolerance))).toBeUndefined();
    const recut = { signature: signed.signature, nonce: "7d1e0c6a9b3f4e2", timestamp: `0${signed.timestamp}` };
    expect(createV2Signature(key, body, recut.timestamp, recut.nonce)).toBe(signed.signature);
    expect(codeOf(() => verifyV2Signature(key, body, recut, now, tolerance))).toBe("000001:timestamp has a leading zero");
    expect(codeOf(() => verifyV2Signature(key, body, parts({ timestamp: "0" }), now, tolerance))).toBe("000001:timestamp has a leading zero");
  });

  it("refuses a seconds timestamp that the nonce's last digits turn into a fresh millisecond one", () => {
    // 1801801801802 ms and 1801801802 s are 0.2 s apart: "180" can move between the nonce and the timestamp.
    const at = 1_801_801_801_802;
    const ms = String(at);
    const signature = createV2Signature(key, body, ms, "n180");
    expect(codeOf(() => verifyV2Signature(key, body, { signature, timestamp: ms, nonce: "n180" }, at, tolerance))).toBeUndefined();
    const recut = { signature, timestamp: ms.slice(3), nonce: "n180180" };
    expect(createV2Signature(key, body, recut.timestamp, recut.nonce)).toBe(signature);
    expect(codeOf(() => verifyV2Signature(key, body, recut, at, tolerance))).toBe(
      "000001:timestamp in seconds could also be read as milliseconds with the nonce's last digits",
    );
    // A seconds timestamp at the same instant whose nonce does not end in those digits is one reading only.
    const seconds = ms.slice(3);
    const plain = { signature: createV2Signature(key, body, seconds, "n181"), timestamp: seconds, nonce: "n181" };
    expect(codeOf(() => verifyV2Signature(key, body, plain, at, tolerance))).toBeUndefined();
  });

  it("rejects a replayed nonce through the store, and only valid requests reach the store", async () => {
    const seen = new Map<string, number>();
    const store: ReplayStore = {
      async remember(nonce, expiresAtMs) {
        if (seen.has(nonce)) return false;
        seen.set(nonce, expiresAtMs);
        return true;
      },
    };
    await verifyV2Request(key, body, parts(), now, tolerance, store);
    expect(seen.get(String(parts().nonce))).toBe(now + tolerance);
    await expect(verifyV2Request(key, body, parts(), now, tolerance, store)).rejects.toThrow("replay");
    await expect(verifyV2Request(key, body + " ", { ...parts(), nonce: "fresh" }, now, tolerance, store)).rejects.toThrow("signature");
    expect(seen.has("fresh")).toBe(false);
  });
});
