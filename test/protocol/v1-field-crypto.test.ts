import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/protocol/errors";
import { decryptV1Field, deriveV1Key, encryptV1Field, type V1EncryptType } from "../../src/protocol/v1-field-crypto";
import vectors from "../fixtures/v1-aes-vectors.json";

interface Vector {
  accessKey: string;
  encryptType: V1EncryptType;
  keyBits: number;
  keyHex: string;
  iv: string;
  plaintext: string;
  value: string;
}

const cases = vectors.cases as Vector[];
const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
const label = (v: Vector) => `key ${JSON.stringify(v.accessKey.slice(0, 12))}…, type ${v.encryptType}, ${JSON.stringify(v.plaintext.slice(0, 16))}`;

function errorOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof GatewayError ? `${error.code}:${error.message}` : `not a GatewayError: ${String(error)}`;
  }
  return undefined;
}

describe("V1 field encryption against JDK vectors", () => {
  it("covers the cases the vectors promise", () => {
    expect(vectors.generatedBy).toMatch(/OpenJDK 17/);
    const keys = new Set(cases.map((v) => v.accessKey));
    expect([...keys].some((k) => /[^\x00-\x7f]/.test(k))).toBe(true);
    expect(new Set(cases.map((v) => v.encryptType))).toEqual(new Set(["1", "2"]));
    expect(cases.map((v) => v.plaintext)).toEqual(expect.arrayContaining(["", "0123456789ABCDEF", "张三@例子.中国", "13800138000"]));
  });

  const keyCases = [...new Map(cases.map((v) => [`${v.accessKey}|${v.encryptType}`, v])).values()];

  it.each(keyCases.map((v) => [`key ${JSON.stringify(v.accessKey.slice(0, 12))}…, type ${v.encryptType}`, v] as const))("derives the JVM key: %s", (_, v) => {
    const key = deriveV1Key(v.accessKey, v.encryptType);
    expect(key.length * 8).toBe(v.keyBits);
    expect(hex(key)).toBe(v.keyHex);
  });

  it.each(cases.map((v) => [label(v), v] as const))("encrypts to the JVM value and decrypts it back: %s", (_, v) => {
    expect(encryptV1Field(v.accessKey, v.plaintext, v.encryptType, v.iv)).toBe(v.value);
    expect(decryptV1Field(v.accessKey, v.value, v.encryptType)).toBe(v.plaintext);
  });

  it("has the 128-bit key as a prefix of the 256-bit key (both are the first bytes of one SHA1PRNG stream)", () => {
    for (const accessKey of new Set(cases.map((v) => v.accessKey))) {
      expect(hex(deriveV1Key(accessKey, "1")).startsWith(hex(deriveV1Key(accessKey, "2")))).toBe(true);
    }
  });
});

describe("V1 field encryption round trip and failures", () => {
  const accessKey = "round-trip-access-key";

  it("round-trips with a random alphanumeric IV, fresh each time", () => {
    for (const encryptType of ["1", "2"] as const) {
      const first = encryptV1Field(accessKey, "张三@例子.中国", encryptType);
      const second = encryptV1Field(accessKey, "张三@例子.中国", encryptType);
      expect(first).toMatch(/^[A-Za-z0-9]{16}[A-Za-z0-9+/]+={0,2}$/);
      expect(first.slice(0, 16)).not.toBe(second.slice(0, 16));
      expect(decryptV1Field(accessKey, first, encryptType)).toBe("张三@例子.中国");
      expect(decryptV1Field(accessKey, second, encryptType)).toBe("张三@例子.中国");
    }
  });

  it("accepts a value whose + arrived as a space (unencoded in a query string)", () => {
    const v = cases.find((c) => c.value.slice(16).includes("+"));
    expect(v).toBeDefined();
    if (!v) return;
    expect(decryptV1Field(v.accessKey, v.value.replace(/\+/g, " "), v.encryptType)).toBe(v.plaintext);
  });

  it("fails clearly with a wrong access key or the wrong encryptType", () => {
    const value = encryptV1Field(accessKey, "13800138000", "1", "0123456789abcdef");
    const message = "000002:mobilePhone could not be decrypted with the configured access key and encryptType";
    expect(errorOf(() => decryptV1Field("other-access-key", value, "1", "mobilePhone"))).toBe(`${message} 1`);
    expect(errorOf(() => decryptV1Field(accessKey, value, "2", "mobilePhone"))).toBe(`${message} 2`);
  });

  it("never hands back garbage for a wrong key, across many keys", () => {
    // A wrong key gives valid padding about 1 time in 256; the UTF-8 check must catch those too.
    const value = encryptV1Field(accessKey, "someone@example.com", "1");
    for (let i = 0; i < 600; i++) {
      expect(errorOf(() => decryptV1Field(`wrong-${i}`, value, "1"))).toMatch(/^000002:encrypted field could not be decrypted/);
    }
  });

  it("fails on a tampered ciphertext or IV", () => {
    const value = encryptV1Field(accessKey, "P@ssw0rd-1234567890", "1", "AbCdEfGhIjKlMnOp");
    const body = Buffer.from(value.slice(16), "base64");
    body[body.length - 1] = (body[body.length - 1] ?? 0) ^ 0x5a;
    expect(errorOf(() => decryptV1Field(accessKey, value.slice(0, 16) + body.toString("base64"), "1"))).toMatch(/^000002:.*could not be decrypted/);
    // CBC: a changed IV changes only the first block of plaintext, which then is not what was sent.
    const ivChanged = "XbCdEfGhIjKlMnOp" + value.slice(16);
    const result = (() => {
      try {
        return decryptV1Field(accessKey, ivChanged, "1");
      } catch {
        return "rejected";
      }
    })();
    expect(result).not.toBe("P@ssw0rd-1234567890");
  });

  it("rejects malformed values before decrypting", () => {
    expect(errorOf(() => decryptV1Field(accessKey, "", "1"))).toBe("000002:encrypted field is too short to be a 16-character IV plus Base64 AES ciphertext");
    expect(errorOf(() => decryptV1Field(accessKey, "0123456789abcdefAAAA", "1"))).toMatch(/^000002:encrypted field is too short/);
    expect(errorOf(() => decryptV1Field(accessKey, "0123456789abcdef" + "!!!!".repeat(6), "1"))).toBe(
      "000002:encrypted field is not a 16-character IV followed by Base64 AES ciphertext",
    );
    expect(errorOf(() => decryptV1Field(accessKey, "0123456789abcdef" + "A".repeat(25), "1"))).toMatch(/^000002:encrypted field is not a 16-character IV/);
    expect(errorOf(() => decryptV1Field(accessKey, "0123456789abcdef" + "A".repeat(32), "1"))).toBe(
      "000002:encrypted field ciphertext is not a whole number of AES blocks",
    );
  });

  it("refuses an IV that is not 16 alphanumerics as a programming error", () => {
    expect(errorOf(() => encryptV1Field(accessKey, "x", "1", "short"))).toBe("000005:internal error");
  });
});
