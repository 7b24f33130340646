import { beforeAll, describe, expect, it } from "vitest";
import { parseSsoSettings } from "../../src/sso/sso-settings";
import { makeSigningKey } from "../support/sso";

/* Issue 20: SSO's own settings. Off without OIDC_CLIENT_ID; then every other one required; a problem names the setting, never its value. */

let good: Record<string, string>;
let weakKeyPem: string;
beforeAll(async () => {
  const key = await makeSigningKey();
  weakKeyPem = (await makeSigningKey(1024)).privatePem;
  good = {
    PUBLIC_URL: "https://gateway.example.com",
    OIDC_CLIENT_ID: "app",
    OIDC_CLIENT_SECRET: "0123456789abcdef0123456789abcdef-secret",
    OIDC_REDIRECT_URIS: "https://app.example.com/cb, http://127.0.0.1:3000/cb",
    OIDC_SIGNING_KEY: key.privatePem.replace(/\n/g, "\\n"),
    OIDC_PREVIOUS_PUBLIC_KEY: "",
    DATA_KEY: "dGVzdC1kYXRhLWtleS0zMi1ieXRlcy1sb25nLW9rISE=",
  };
});

describe("SSO settings", () => {
  it("are off while OIDC_CLIENT_ID is unset or blank, whatever else is set", () => {
    expect(parseSsoSettings({ ...good, OIDC_CLIENT_ID: undefined })).toEqual({ state: "off" });
    expect(parseSsoSettings({ ...good, OIDC_CLIENT_ID: "  ", OIDC_SIGNING_KEY: "garbage" })).toEqual({ state: "off" });
  });

  it("parse a good set: issuer, callback, exact redirect URIs, a one-line PEM", () => {
    const parsed = parseSsoSettings({ ...good, PUBLIC_URL: "https://gateway.example.com/" });
    expect(parsed.state).toBe("on");
    if (parsed.state !== "on") return;
    expect(parsed.config).toMatchObject({
      issuer: "https://gateway.example.com/oidc",
      callbackUrl: "https://gateway.example.com/oidc/callback",
      redirectUris: ["https://app.example.com/cb", "http://127.0.0.1:3000/cb"],
    });
    expect(parsed.config.signingKey).toContain("\n");
  });

  const cases: Array<[string, Record<string, string | undefined>, string]> = [
    ["PUBLIC_URL missing", { PUBLIC_URL: "" }, "PUBLIC_URL"],
    ["PUBLIC_URL with a path", { PUBLIC_URL: "https://gateway.example.com/base" }, "PUBLIC_URL"],
    ["PUBLIC_URL plain http to a public host", { PUBLIC_URL: "http://gateway.example.com" }, "PUBLIC_URL"],
    ["a short client secret", { OIDC_CLIENT_SECRET: "short-secret" }, "OIDC_CLIENT_SECRET"],
    ["no redirect URIs", { OIDC_REDIRECT_URIS: undefined }, "OIDC_REDIRECT_URIS"],
    ["a redirect URI with a fragment", { OIDC_REDIRECT_URIS: "https://app.example.com/cb#x" }, "OIDC_REDIRECT_URIS"],
    ["a relative redirect URI", { OIDC_REDIRECT_URIS: "/cb" }, "OIDC_REDIRECT_URIS"],
    ["a signing key that is not a PEM", { OIDC_SIGNING_KEY: "secret-value-that-must-not-leak" }, "OIDC_SIGNING_KEY"],
    ["a bad previous public key", { OIDC_PREVIOUS_PUBLIC_KEY: "-----BEGIN PUBLIC KEY-----\nsecret-value-that-must-not-leak\n-----END PUBLIC KEY-----" }, "OIDC_PREVIOUS_PUBLIC_KEY"],
    ["no DATA_KEY", { DATA_KEY: undefined }, "DATA_KEY"],
  ];
  for (const [what, change, setting] of cases) {
    it(`are broken, naming ${setting}, with ${what}`, () => {
      const parsed = parseSsoSettings({ ...good, ...change });
      expect(parsed).toMatchObject({ state: "broken", setting });
      expect(JSON.stringify(parsed)).not.toContain("secret-value-that-must-not-leak");
    });
  }

  it("refuse an RSA key under 2048 bits", () => {
    expect(parseSsoSettings({ ...good, OIDC_SIGNING_KEY: weakKeyPem })).toMatchObject({ state: "broken", setting: "OIDC_SIGNING_KEY" });
  });
});
