import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/protocol/errors";
import { openSecret, sealSecret } from "../../src/crypto/data-key";

const dataKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
const CONTEXT = "test:row-1:secret";
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
  it("round-trips text, including empty and non-ASCII, in the v2.<iv>.<data> format", async () => {
    for (const plaintext of ["", "s3cret", "张三@例子.中国 🔑", "x".repeat(10_000)]) {
      const sealed = await sealSecret(dataKey, plaintext, CONTEXT);
      expect(sealed).toMatch(/^v2\.[A-Za-z0-9+/]{16}\.[A-Za-z0-9+/]+={0,2}$/);
      expect(sealed).not.toContain(plaintext || "\u0000");
      expect(await openSecret(dataKey, sealed, CONTEXT)).toBe(plaintext);
    }
  });

  it("produces what a plain WebCrypto AES-256-GCM decryption opens (the format is what it claims)", async () => {
    const sealed = await sealSecret(dataKey, "cross-check", CONTEXT);
    const [, iv, data] = sealed.split(".");
    const key = await crypto.subtle.importKey("raw", Buffer.from(dataKey, "base64"), "AES-GCM", false, ["decrypt"]);
    const additionalData = new TextEncoder().encode(CONTEXT);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: Buffer.from(iv ?? "", "base64"), additionalData }, key, Buffer.from(data ?? "", "base64"));
    expect(new TextDecoder().decode(plain)).toBe("cross-check");
  });

  it("uses a fresh IV every time, so equal secrets never look equal at rest", async () => {
    const sealed = await Promise.all(Array.from({ length: 200 }, () => sealSecret(dataKey, "same secret", CONTEXT)));
    expect(new Set(sealed.map((s) => s.split(".")[1])).size).toBe(200);
    expect(new Set(sealed).size).toBe(200);
  });

  it("detects tampering with the IV, the ciphertext, the tag, the version or the length", async () => {
    const sealed = await sealSecret(dataKey, "do not touch", CONTEXT);
    const rejected = /^000005:sealed secret failed authentication/;
    expect(await failure(openSecret(dataKey, flip(sealed, 1, 0), CONTEXT))).toMatch(rejected);
    expect(await failure(openSecret(dataKey, flip(sealed, 2, 0), CONTEXT))).toMatch(rejected);
    expect(await failure(openSecret(dataKey, flip(sealed, 2, -1), CONTEXT))).toMatch(rejected);
    const parts = sealed.split(".");
    const truncated = Buffer.from(parts[2] ?? "", "base64").subarray(0, -1).toString("base64");
    expect(await failure(openSecret(dataKey, `${parts[0]}.${parts[1]}.${truncated}`, CONTEXT))).toMatch(rejected);
    expect(await failure(openSecret(dataKey, sealed.replace(/^v2\./, "v3."), CONTEXT))).toBe("000005:sealed secret is not in the v2.<iv>.<data> format");
    // Relabelled as the unbound first format, a bound value still does not open: its tag covers the context.
    expect(await failure(openSecret(dataKey, sealed.replace(/^v2\./, "v1."), CONTEXT, "none"))).toMatch(rejected);
    expect(await failure(openSecret(dataKey, "v2.AAAAAAAAAAAAAAAA.AAAA", CONTEXT))).toBe("000005:sealed secret is shorter than its authentication tag");
    expect(await failure(openSecret(dataKey, "plain text", CONTEXT))).toMatch(/^000005:sealed secret is not in/);
  });

  it("refuses to open under another DATA_KEY or another context", async () => {
    const sealed = await sealSecret(dataKey, "tenant secret", "instance:i-1:clientSecret");
    expect(await openSecret(dataKey, sealed, "instance:i-1:clientSecret")).toBe("tenant secret");
    expect(await failure(openSecret(otherKey, sealed, "instance:i-1:clientSecret"))).toMatch(/^000005:sealed secret failed authentication/);
    expect(await failure(openSecret(dataKey, sealed, "instance:i-2:clientSecret"))).toMatch(/^000005:sealed secret failed authentication/);
    expect(await failure(openSecret(dataKey, sealed, ""))).toMatch(/^000005:sealed secret failed authentication/);
  });

  it("opens the first format (v1) as it was sealed: bound to the same context, or to none where the caller says so", async () => {
    const key = await crypto.subtle.importKey("raw", Buffer.from(dataKey, "base64"), "AES-GCM", false, ["encrypt"]);
    const v1 = async (plaintext: string, context?: string) => {
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const options = context === undefined ? { name: "AES-GCM", iv } : { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) };
      const data = await crypto.subtle.encrypt(options, key, new TextEncoder().encode(plaintext));
      return `v1.${Buffer.from(iv).toString("base64")}.${Buffer.from(data).toString("base64")}`;
    };
    const bound = await v1("bound", CONTEXT);
    expect(await openSecret(dataKey, bound, CONTEXT)).toBe("bound");
    expect(await failure(openSecret(dataKey, bound, "other"))).toMatch(/^000005:sealed secret failed authentication/);
    const unbound = await v1("unbound");
    expect(await openSecret(dataKey, unbound, CONTEXT, "none")).toBe("unbound");
    // Where values were bound from the start, an unbound one (copied from elsewhere) does not open.
    expect(await failure(openSecret(dataKey, unbound, CONTEXT))).toMatch(/^000005:sealed secret failed authentication/);
  });

  it("reports a DATA_KEY that is not base64 of 32 bytes as a configuration error", async () => {
    const short = Buffer.from(new Uint8Array(16)).toString("base64");
    for (const bad of ["", "not-base64!", short]) {
      expect(await failure(sealSecret(bad, "x", CONTEXT))).toMatch(/^000005:setting DATA_KEY: must be base64 of exactly 32 bytes/);
    }
  });

  it("works with the DATA_KEY binding the test Worker gets", async () => {
    const sealed = await sealSecret(env.DATA_KEY, "from env", CONTEXT);
    expect(await openSecret(env.DATA_KEY, sealed, CONTEXT)).toBe("from env");
  });
});
