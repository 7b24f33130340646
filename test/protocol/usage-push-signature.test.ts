import { describe, expect, it } from "vitest";
import {
  canonicalUsageBody,
  createUsagePushHeaders,
  createUsagePushSignature,
  verifyUsagePushHeaders,
} from "../../src/protocol/usage-push-signature";

const key = "test-usage-push-key";
const tsMs = 1_709_690_865_879;
const nonce = "6c63c221-1f6b-4141-8ff4-22f5dfe82b65";

function makeRecord(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    instance_id: "7f141bf1-0000-4000-8000-fb3a8ad50721",
    record_time: "20220809T091000Z",
    begin_time: "20220809T080000Z",
    end_time: "20220809T090000Z",
    usage_value: "99",
    metering_sn: "sn-0001",
    ...overrides,
  };
}

const body = canonicalUsageBody({ usage_records: [makeRecord()] });

describe("usage push signature (§1.3)", () => {
  it("matches an independent WebCrypto computation of the documented formula", async () => {
    const enc = new TextEncoder();
    const k = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(`ts=${tsMs}&nonce=${nonce}&body=${body}`)));
    const expected = btoa(String.fromCharCode(...mac));
    expect(createUsagePushHeaders(key, body, tsMs, nonce)).toEqual({ signature: expected, ts: "1709690865879", nonce });
  });

  it("signs a body given as bytes exactly like the same body as a string, non-ASCII included", () => {
    const unicodeBody = canonicalUsageBody({ usage_records: [makeRecord({ metering_sn: "云商店-é-😀" })] });
    expect(createUsagePushHeaders(key, new TextEncoder().encode(unicodeBody), tsMs, nonce)).toEqual(
      createUsagePushHeaders(key, unicodeBody, tsMs, nonce),
    );
  });

  it("verifies its own headers, from a plain record in any name case and from fetch Headers", () => {
    const headers = createUsagePushHeaders(key, body, tsMs, nonce);
    expect(verifyUsagePushHeaders(key, body, headers)).toBe(true);
    expect(verifyUsagePushHeaders(key, body, { Signature: headers.signature, TS: headers.ts, Nonce: headers.nonce })).toBe(true);
    expect(verifyUsagePushHeaders(key, body, new Headers({ ...headers, "content-type": "application/json" }))).toBe(true);
    expect(verifyUsagePushHeaders(key, new TextEncoder().encode(body), headers)).toBe(true);
  });

  it("rejects a tampered body, ts or nonce, a wrong key, and a re-serialised body", () => {
    const headers = createUsagePushHeaders(key, body, tsMs, nonce);
    expect(verifyUsagePushHeaders(key, body.replace('"99"', '"98"'), headers)).toBe(false);
    expect(verifyUsagePushHeaders(key, `${body} `, headers)).toBe(false);
    expect(verifyUsagePushHeaders(key, JSON.stringify(JSON.parse(body), null, 1), headers)).toBe(false);
    expect(verifyUsagePushHeaders(key, body, { ...headers, ts: String(tsMs + 1) })).toBe(false);
    expect(verifyUsagePushHeaders(key, body, { ...headers, nonce: `${nonce.slice(0, -1)}6` })).toBe(false);
    expect(verifyUsagePushHeaders("other-key", body, headers)).toBe(false);
    expect(verifyUsagePushHeaders("", body, headers)).toBe(false);
  });

  it("rejects missing, repeated and malformed headers", () => {
    const headers = createUsagePushHeaders(key, body, tsMs, nonce);
    expect(verifyUsagePushHeaders(key, body, { ts: headers.ts, nonce: headers.nonce })).toBe(false);
    expect(verifyUsagePushHeaders(key, body, { signature: headers.signature, nonce: headers.nonce })).toBe(false);
    expect(verifyUsagePushHeaders(key, body, { signature: headers.signature, ts: headers.ts })).toBe(false);
    expect(verifyUsagePushHeaders(key, body, { ...headers, signature: [headers.signature, headers.signature] })).toBe(false);
    expect(verifyUsagePushHeaders(key, body, { ...headers, Signature: headers.signature })).toBe(false);
    expect(verifyUsagePushHeaders(key, body, { ...headers, signature: headers.signature.slice(0, -1) })).toBe(false);
    expect(verifyUsagePushHeaders(key, body, { ...headers, ts: "17e11" })).toBe(false);
    // A Unix time is written without a leading zero, as ours always are.
    const padded = { ...headers, ts: `0${headers.ts}` };
    expect(verifyUsagePushHeaders(key, body, { ...padded, signature: createUsagePushSignature(key, body, padded.ts, padded.nonce) })).toBe(false);
    // The signature is Base64, whose case is significant.
    const flipped = headers.signature.replace(/[A-Za-z]/, (c) => (c === c.toLowerCase() ? c.toUpperCase() : c.toLowerCase()));
    expect(verifyUsagePushHeaders(key, body, { ...headers, signature: flipped })).toBe(false);
  });

  it("refuses a timestamp or nonce that could not go out as §1.3 allows", () => {
    expect(() => createUsagePushHeaders(key, body, 1.5, nonce)).toThrow(RangeError);
    expect(() => createUsagePushHeaders(key, body, -1, nonce)).toThrow(RangeError);
    // 0 is no time we would ever send; every other safe integer prints without a leading zero.
    expect(() => createUsagePushHeaders(key, body, 0, nonce)).toThrow(RangeError);
    expect(() => createUsagePushHeaders(key, body, tsMs, "")).toThrow(TypeError);
    expect(() => createUsagePushHeaders(key, body, tsMs, "x".repeat(65))).toThrow(TypeError);
    expect(() => createUsagePushHeaders(key, body, tsMs, "a&body=b")).toThrow(TypeError);
    expect(() => createUsagePushHeaders("", body, tsMs, nonce)).toThrow(TypeError);
    expect(createUsagePushHeaders(key, body, tsMs, "x".repeat(64)).nonce).toHaveLength(64);
  });
});

describe("canonical usage body (the 'natural sorting' reading)", () => {
  it("sorts keys at every level in code-unit order, keeps array order, writes no whitespace", () => {
    const value = {
      usage_records: [
        { metering_sn: "b", begin_time: "t", nested: { z: 1, a: [3, 1, 2], M: { y: true, x: null } } },
        { a: "first in the array stays second" },
      ],
      Zeta: 0,
      alpha: -1.5,
    };
    expect(canonicalUsageBody(value)).toBe(
      '{"Zeta":0,"alpha":-1.5,"usage_records":[{"begin_time":"t","metering_sn":"b","nested":{"M":{"x":null,"y":true},"a":[3,1,2],"z":1}},' +
        '{"a":"first in the array stays second"}]}',
    );
  });

  it("sorts integer-like keys as strings, where JSON.stringify would put them first in numeric order", () => {
    const value = { b: 1, "10": 2, "9": 3, "": 4 };
    expect(JSON.stringify(value)).toBe('{"9":3,"10":2,"b":1,"":4}');
    expect(canonicalUsageBody(value)).toBe('{"":4,"10":2,"9":3,"b":1}');
  });

  it("keeps non-ASCII as UTF-8 and escapes only what JSON requires", () => {
    const text = canonicalUsageBody({ "ключ": "云商店 é 😀", q: 'a"b\\c\n' });
    expect(text).toBe('{"q":"a\\"b\\\\c\\n","ключ":"云商店 é 😀"}');
    expect(text).not.toMatch(/\\u/);
    // 云 is E4 BA 91 and 😀 is F0 9F 98 80 in UTF-8: the bytes that get signed and sent.
    const hex = [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
    expect(hex).toContain("e4ba91");
    expect(hex).toContain("f09f9880");
  });

  it("matches the spec's example record layout once sorted, and round-trips through JSON.parse", () => {
    const text = canonicalUsageBody({ usage_records: [makeRecord({ relate_pkg_instance: undefined })] });
    expect(text).toBe(
      '{"usage_records":[{"begin_time":"20220809T080000Z","end_time":"20220809T090000Z",' +
        '"instance_id":"7f141bf1-0000-4000-8000-fb3a8ad50721","metering_sn":"sn-0001","record_time":"20220809T091000Z","usage_value":"99"}]}',
    );
    expect(JSON.parse(text)).toEqual({ usage_records: [makeRecord()] });
  });

  it("refuses values JSON cannot carry faithfully instead of changing them", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    expect(() => canonicalUsageBody({ v: Number.NaN })).toThrow(TypeError);
    expect(() => canonicalUsageBody({ v: Number.POSITIVE_INFINITY })).toThrow(TypeError);
    expect(() => canonicalUsageBody({ v: 1n })).toThrow(TypeError);
    expect(() => canonicalUsageBody({ v: new Date(0) })).toThrow(TypeError);
    expect(() => canonicalUsageBody({ v: new Map() })).toThrow(TypeError);
    expect(() => canonicalUsageBody({ v: [1, undefined] })).toThrow(TypeError);
    // eslint-disable-next-line no-sparse-arrays
    expect(() => canonicalUsageBody([1, , 2])).toThrow(TypeError);
    expect(() => canonicalUsageBody(cyclic)).toThrow(/cyclic/);
    expect(() => canonicalUsageBody(undefined)).toThrow(TypeError);
    // The same object twice side by side is not a cycle.
    const shared = { a: 1 };
    expect(canonicalUsageBody({ x: shared, y: [shared] })).toBe('{"x":{"a":1},"y":[{"a":1}]}');
  });
});
