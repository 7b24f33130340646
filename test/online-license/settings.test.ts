import { env } from "cloudflare:workers";
import { calculateJwkThumbprint } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseSettings } from "../../src/env";
import { ConfigurationError } from "../../src/protocol/errors";
import { fetchWith, sendWith } from "../support/kit";
import { makeNewInstance, signedV2Request } from "../support/marketplace";
import { licenseRequest, licenseRows } from "../support/licenses";

/** An X25519 key: a valid PKCS#8 PEM, but not an Ed25519 one. */
const X25519_PKCS8 = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VuBCIEIFjpKxKVyve6Og9s9kSHKRYoV8lrxTlLuz6RHuwE6B5i\n-----END PRIVATE KEY-----";
/** The public half of another Ed25519 key: the key signed with before a rotation. */
const PREVIOUS_PUBLIC_KEY = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAnMvZwV2zmUoOWe/xzhK+piVUMVnwL3GOXUvkiaWfB6U=\n-----END PUBLIC KEY-----";

afterEach(() => vi.restoreAllMocks());

function settingsProblem(overrides: Record<string, string>): ConfigurationError {
  try {
    parseSettings({ ...env, ...overrides });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error("settings parsed");
}

describe("license settings", () => {
  it("refuse a signing key that is not Ed25519 PKCS#8, a previous key that is not Ed25519 SPKI, webhook mode without a URL", () => {
    expect(settingsProblem({ LICENSE_SIGNING_KEY: X25519_PKCS8 })).toMatchObject({ setting: "LICENSE_SIGNING_KEY", problem: expect.stringMatching(/Ed25519/) });
    expect(settingsProblem({ LICENSE_SIGNING_KEY: "not a pem" }).setting).toBe("LICENSE_SIGNING_KEY");
    expect(settingsProblem({ LICENSE_PREVIOUS_PUBLIC_KEY: env.LICENSE_SIGNING_KEY }).setting).toBe("LICENSE_PREVIOUS_PUBLIC_KEY");
    expect(settingsProblem({ LICENSE_MODE: "webhook", SELLER_WEBHOOK_URL: "" })).toMatchObject({ setting: "SELLER_WEBHOOK_URL" });
    expect(settingsProblem({ LICENSE_MODE: "sometimes" }).setting).toBe("LICENSE_MODE");
  });

  it("without LICENSE_SIGNING_KEY a license request is a configuration error (000005), a SaaS call is not", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const noKey = { LICENSE_SIGNING_KEY: "" };
    const purchase = await sendWith(signedV2Request(makeNewInstance({ testFlag: "1" })), noKey, env.SAAS_ACCESS_KEY);
    expect(purchase.json.resultCode).toBe("000000");
    const body = licenseRequest(String(purchase.json.instanceId));
    const answer = await sendWith(signedV2Request(body, { path: "/license", key: env.LICENSE_ACCESS_KEY }), noKey, env.LICENSE_ACCESS_KEY);
    expect(answer.json).toEqual({ resultCode: "000005", resultMsg: "gateway is misconfigured" });
    expect(answer.bodySignValid).toBe(true);
    expect(await licenseRows(body.eventId)).toEqual([]);
  });
});

describe("GET /.well-known/jwks.json", () => {
  it("publishes the current key first and the previous one during a rotation, each with its RFC 7638 thumbprint as kid", async () => {
    const response = await fetchWith(new Request("https://gateway.test/.well-known/jwks.json"), { LICENSE_PREVIOUS_PUBLIC_KEY: PREVIOUS_PUBLIC_KEY });
    expect(response.status).toBe(200);
    const { keys } = (await response.json()) as { keys: Array<{ kty: string; crv: string; x: string; kid: string; alg: string; use: string }> };
    expect(keys).toHaveLength(2);
    for (const key of keys) {
      expect(key).toMatchObject({ kty: "OKP", crv: "Ed25519", alg: "EdDSA", use: "sig" });
      expect(key).not.toHaveProperty("d");
      expect(key.kid).toBe(await calculateJwkThumbprint({ kty: key.kty, crv: key.crv, x: key.x }, "sha256"));
    }
    expect(keys[0]?.kid).not.toBe(keys[1]?.kid);
  });

  it("is empty, not an error, when no key is configured (webhook mode)", async () => {
    const response = await fetchWith(new Request("https://gateway.test/.well-known/jwks.json"), { LICENSE_SIGNING_KEY: "", LICENSE_MODE: "webhook" });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ keys: [] });
  });
});
