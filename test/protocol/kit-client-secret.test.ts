import { beforeAll, describe, expect, it } from "vitest";
import { GatewayError } from "../../src/protocol/errors";
import { decryptKitClientSecret, type OaepHash } from "../../src/protocol/kit-client-secret";
import javaVectors from "../fixtures/kit-client-secret-java.json";

const secret = "tenant-app-client-secret-Zx9!";

interface TestKey {
  pem: string;
  encrypt(hash: OaepHash, plaintext: string): Promise<string>;
}

const base64 = (bytes: ArrayBuffer) => Buffer.from(bytes).toString("base64");

function toPem(pkcs8: ArrayBuffer): string {
  const lines = base64(pkcs8).match(/.{1,64}/g) ?? [];
  return `-----BEGIN PRIVATE KEY-----\n${lines.join("\n")}\n-----END PRIVATE KEY-----\n`;
}

// The key pair is made with WebCrypto, independently of the node:crypto code under test.
async function makeKey(modulusLength: number): Promise<TestKey> {
  const pair = (await crypto.subtle.generateKey(
    { name: "RSA-OAEP", modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["encrypt", "decrypt"],
  )) as CryptoKeyPair;
  const pem = toPem((await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer);
  const spki = (await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer;
  return {
    pem,
    async encrypt(hash, plaintext) {
      const publicKey = await crypto.subtle.importKey("spki", spki, { name: "RSA-OAEP", hash }, false, ["encrypt"]);
      return base64(await crypto.subtle.encrypt({ name: "RSA-OAEP" }, publicKey, new TextEncoder().encode(plaintext)));
    },
  };
}

function failure(fn: () => unknown): GatewayError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GatewayError) return error;
    throw new Error(`not a GatewayError: ${String(error)}`);
  }
  throw new Error("did not throw");
}

const keys: Record<number, TestKey> = {};

beforeAll(async () => {
  const [k3072, k4096] = await Promise.all([makeKey(3072), makeKey(4096)]);
  keys[3072] = k3072;
  keys[4096] = k4096;
}, 60_000);

function key(bits: number): TestKey {
  const k = keys[bits];
  if (!k) throw new Error(`no ${bits}-bit test key`);
  return k;
}

describe("kit clientSecret decryption", () => {
  it.each([
    [3072, "SHA-256"],
    [3072, "SHA-1"],
    [4096, "SHA-256"],
    [4096, "SHA-1"],
  ] as const)("decrypts %i-bit RSA-OAEP %s and reports the hash used", async (bits, hash) => {
    const clientSecret = await key(bits).encrypt(hash, secret);
    expect(decryptKitClientSecret(key(bits).pem, clientSecret)).toEqual({ plaintext: secret, hash, mgf1Hash: hash });
  });

  it.each(javaVectors.cases.map((c) => [`${c.transformation} (${c.params})`, c] as const))(
    "decrypts what JDK 17 produced with %s",
    (_, c) => {
      expect(decryptKitClientSecret(javaVectors.privateKeyPem, c.clientSecret)).toEqual({
        plaintext: javaVectors.plaintext,
        hash: c.hash,
        mgf1Hash: c.mgf1Hash,
      });
    },
  );

  it("has in its JDK fixture Java's default SHA-256 OAEP, whose MGF1 stays on SHA-1", () => {
    // Without this case the hand-written third attempt would go untested.
    const mixed = javaVectors.cases.filter((c) => c.hash === "SHA-256" && c.mgf1Hash === "SHA-1");
    expect(mixed).toHaveLength(1);
  });

  it("accepts a Base64 value wrapped over lines and a PEM stored on one line with literal \\n", async () => {
    const clientSecret = await key(3072).encrypt("SHA-256", secret);
    const wrapped = (clientSecret.match(/.{1,76}/g) ?? []).join("\r\n");
    const oneLinePem = key(3072).pem.replace(/\n/g, "\\n");
    expect(decryptKitClientSecret(oneLinePem, wrapped).plaintext).toBe(secret);
  });

  it("answers 000002 with the documented message for a wrong key, and leaks neither secret nor ciphertext", async () => {
    const clientSecret = await key(4096).encrypt("SHA-256", secret);
    const error = failure(() => decryptKitClientSecret(key(3072).pem, clientSecret));
    expect(error.code).toBe("000002");
    expect(error.message).toBe("clientSecret could not be decrypted with the configured KIT_RSA_PRIVATE_KEY");
    const everything = `${error.message} ${error.detail ?? ""} ${error.stack ?? ""}`;
    expect(everything).not.toContain(secret);
    expect(everything).not.toContain(clientSecret.slice(0, 24));
  });

  it("answers 000002 for garbage: not Base64, empty, or random bytes of the right length", () => {
    const pem = key(3072).pem;
    expect(failure(() => decryptKitClientSecret(pem, "not base64 at all!")).message).toBe("clientSecret is not Base64 RSA ciphertext");
    expect(failure(() => decryptKitClientSecret(pem, "")).code).toBe("000002");
    const random = base64(crypto.getRandomValues(new Uint8Array(384)).buffer as ArrayBuffer);
    const error = failure(() => decryptKitClientSecret(pem, random));
    expect(`${error.code}:${error.message}`).toBe("000002:clientSecret could not be decrypted with the configured KIT_RSA_PRIVATE_KEY");
    expect(failure(() => decryptKitClientSecret(pem, "AAAA")).code).toBe("000002");
  });

  it("answers 000005 naming KIT_RSA_PRIVATE_KEY when the key setting is missing or unusable", async () => {
    const ecPair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const ecPem = toPem((await crypto.subtle.exportKey("pkcs8", ecPair.privateKey)) as ArrayBuffer);
    const corrupt = key(3072).pem.replace(/\n[A-Za-z0-9+/]{64}\n/, "\n" + "A".repeat(64) + "\n");
    const cases: [string | undefined, RegExp][] = [
      [undefined, /is not set/],
      ["", /is not set/],
      ["-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----", /not a PKCS#8 PEM/],
      ["-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----", /could not be parsed/],
      [corrupt, /could not be parsed/],
      [ecPem, /not RSA/],
    ];
    const clientSecret = await key(3072).encrypt("SHA-256", secret);
    for (const [pem, problem] of cases) {
      const error = failure(() => decryptKitClientSecret(pem, clientSecret));
      expect(error.code).toBe("000005");
      expect(error.detail).toMatch(/^setting KIT_RSA_PRIVATE_KEY: /);
      expect(error.detail).toMatch(problem);
      expect(`${error.message} ${error.detail ?? ""}`).not.toContain(secret);
    }
  });
});
