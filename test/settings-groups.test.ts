import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { fetchWith } from "./support/kit";
import { makeNewInstance, signedV2Request } from "./support/marketplace";

/*
 * Settings are grouped by feature. Only the group the Marketplace's own interfaces need may turn callbacks into 000005;
 * a broken optional feature (the seller API, the admin API) is disabled alone and shows in health.
 */

const SAME_TOKENS = { SELLER_API_TOKEN: env.ADMIN_TOKEN };

async function callbackCode(overrides: Record<string, unknown>): Promise<string> {
  const response = await fetchWith(signedV2Request(makeNewInstance()), overrides);
  return ((await response.json()) as { resultCode: string }).resultCode;
}

async function adminHealth(overrides: Record<string, unknown>): Promise<{ status: string; settings: unknown; features: Record<string, unknown> }> {
  const response = await fetchWith(new Request("https://gateway.test/admin/api/health", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } }), overrides);
  expect(response.status).toBe(200);
  return (await response.json()) as { status: string; settings: unknown; features: Record<string, unknown> };
}

describe("settings by feature", () => {
  it("SELLER_API_TOKEN equal to ADMIN_TOKEN: health 503 naming both (never the value), the seller API 503, callbacks still served", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const healthz = await fetchWith(new Request("https://gateway.test/healthz"), SAME_TOKENS);
    expect(healthz.status).toBe(503);
    expect(JSON.stringify(await healthz.json())).not.toContain("SELLER_API_TOKEN");

    const health = await adminHealth(SAME_TOKENS);
    expect(health.status).toBe("degraded");
    expect(health.features).toMatchObject({ marketplace: "ok", admin: "ok", sellerApi: { setting: "SELLER_API_TOKEN", problem: "must differ from ADMIN_TOKEN" } });
    expect(JSON.stringify(health)).not.toContain(env.ADMIN_TOKEN);

    for (const token of [env.ADMIN_TOKEN, env.SELLER_API_TOKEN]) {
      const api = await fetchWith(new Request("https://gateway.test/api/v1/instances", { headers: { authorization: `Bearer ${token}` } }), SAME_TOKENS);
      expect(api.status).toBe(503);
    }
    expect(await callbackCode(SAME_TOKENS)).toBe("000000");
    errors.mockRestore();
  });

  it("a missing or malformed optional setting disables its feature only: callbacks are not 000005", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    for (const broken of [{ SELLER_API_TOKEN: undefined }, { SELLER_API_TOKEN: " " }, { ADMIN_TOKEN: undefined }]) {
      expect(await callbackCode(broken)).toBe("000000");
      expect((await fetchWith(new Request("https://gateway.test/healthz"), broken)).status).toBe(503);
    }
    const health = await adminHealth({ SELLER_API_TOKEN: undefined });
    expect(health).toMatchObject({ status: "degraded", settings: { setting: "SELLER_API_TOKEN", problem: "is missing" }, features: { marketplace: "ok", sellerApi: { setting: "SELLER_API_TOKEN" } } });
    // A setting the Marketplace's interfaces need still stops them, as before.
    expect(await callbackCode({ DATA_KEY: "c2hvcnQ=" })).toBe("000005");
    expect(await adminHealth({ DATA_KEY: "c2hvcnQ=" })).toMatchObject({ features: { marketplace: { setting: "DATA_KEY" }, sellerApi: "ok" } });
    errors.mockRestore();
  });

  it("a malformed PUBLIC_URL (alerts' links, single sign-on, the self-check) is an optional feature's: named in health, callbacks still served", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    for (const broken of [{ PUBLIC_URL: "https://gateway.example.com/admin" }, { PUBLIC_URL: "http://gateway.example.com" }]) {
      expect(await callbackCode(broken)).toBe("000000");
      expect((await fetchWith(new Request("https://gateway.test/healthz"), broken)).status).toBe(503);
      expect(await adminHealth(broken)).toMatchObject({ status: "degraded", features: { marketplace: "ok", publicUrl: { setting: "PUBLIC_URL" } } });
    }
    errors.mockRestore();
  });
});
