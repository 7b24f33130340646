import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/protocol/errors";
import { openSecret, sealSecret } from "../../src/crypto/data-key";

const dataKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
const otherKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof GatewayError ? `${error.code}:${error.detail ?? error.message}` : `not a GatewayError: ${String(error)}`;
  }
  return "did not throw";
}

/** Flips one byte of the decoded part `index` (1 = IV, 2 = ciphertext+tag) of a sealed value. */
function flip(sealed: string, part: 1 | 2, at: number): string {
  const parts = sealed.split(".");
  const bytes = Buffer.from(parts[part] ?? "", "base64");
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = (bytes[i] ?? 0) ^ 0x01;
  parts[part] = bytes.toString("base64");
  return parts.join(".");
}

describe("DATA_KEY sealing", () => {
  it("round-trips text, including empty and non-ASCII, in the v1.<iv>.<data> format", async () => {
    for (const plaintext of ["", "s3cret", "张三@例子.中国 🔑", "x".repeat(10_000)]) {
      const sealed = await sealSecret(dataKey, plaintext);
      expect(sealed).toMatch(/^v1\.[A-Za-z0-9+/]{16}\.[A-Za-z0-9+/]+={0,2}$/);
      expect(sealed).not.toContain(plaintext || "\u0000");
      expect(await openSecret(dataKey, sealed)).toBe(plaintext);
    }
  });

  it("produces what a plain WebCrypto AES-256-GCM decryption opens (the format is what it claims)", async () => {
    const sealed = await sealSecret(dataKey, "cross-check");
    const [, iv, data] = sealed.split(".");
    const key = await crypto.subtle.importKey("raw", Buffer.from(dataKey, "base64"), "AES-GCM", false, ["decrypt"]);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: Buffer.from(iv ?? "", "base64") }, key, Buffer.from(data ?? "", "base64"));
    expect(new TextDecoder().decode(plain)).toBe("cross-check");
  });

  it("uses a fresh IV every time, so equal secrets never look equal at rest", async () => {
    const sealed = await Promise.all(Array.from({ length: 200 }, () => sealSecret(dataKey, "same secret")));
    expect(new Set(sealed.map((s) => s.split(".")[1])).size).toBe(200);
    expect(new Set(sealed).size).toBe(200);
  });

  it("detects tampering with the IV, the ciphertext, the tag, the version or the length", async () => {
    const sealed = await sealSecret(dataKey, "do not touch");
    const rejected = /^000005:sealed secret failed authentication/;
    expect(await failure(openSecret(dataKey, flip(sealed, 1, 0)))).toMatch(rejected);
    expect(await failure(openSecret(dataKey, flip(sealed, 2, 0)))).toMatch(rejected);
    expect(await failure(openSecret(dataKey, flip(sealed, 2, -1)))).toMatch(rejected);
    const parts = sealed.split(".");
    const truncated = Buffer.from(parts[2] ?? "", "base64").subarray(0, -1).toString("base64");
    expect(await failure(openSecret(dataKey, `${parts[0]}.${parts[1]}.${truncated}`))).toMatch(rejected);
    expect(await failure(openSecret(dataKey, sealed.replace(/^v1\./, "v2.")))).toBe("000005:sealed secret is not in the v1.<iv>.<data> format");
    expect(await failure(openSecret(dataKey, "v1.AAAAAAAAAAAAAAAA.AAAA"))).toBe("000005:sealed secret is shorter than its authentication tag");
    expect(await failure(openSecret(dataKey, "plain text"))).toMatch(/^000005:sealed secret is not in/);
  });

  it("refuses to open under another DATA_KEY or another context", async () => {
    const sealed = await sealSecret(dataKey, "tenant secret", "instance:i-1:clientSecret");
    expect(await openSecret(dataKey, sealed, "instance:i-1:clientSecret")).toBe("tenant secret");
    expect(await failure(openSecret(otherKey, sealed, "instance:i-1:clientSecret"))).toMatch(/^000005:sealed secret failed authentication/);
    expect(await failure(openSecret(dataKey, sealed, "instance:i-2:clientSecret"))).toMatch(/^000005:sealed secret failed authentication/);
    expect(await failure(openSecret(dataKey, sealed))).toMatch(/^000005:sealed secret failed authentication/);
  });

  it("reports a DATA_KEY that is not base64 of 32 bytes as a configuration error", async () => {
    const short = Buffer.from(new Uint8Array(16)).toString("base64");
    for (const bad of ["", "not-base64!", short]) {
      expect(await failure(sealSecret(bad, "x"))).toMatch(/^000005:setting DATA_KEY: must be base64 of exactly 32 bytes/);
    }
  });

  it("works with the DATA_KEY binding the test Worker gets", async () => {
    const sealed = await sealSecret(env.DATA_KEY, "from env");
    expect(await openSecret(env.DATA_KEY, sealed)).toBe("from env");
  });
});
