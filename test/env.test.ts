import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { featureSettings, parseSettings } from "../src/env";
import { GatewayError } from "../src/protocol/errors";
import { fetchWith } from "./support/kit";
import { makeNewInstance, signedV2Request, tableCounts } from "./support/marketplace";

function problemOf(raw: Record<string, unknown>): string | undefined {
  try {
    parseSettings(raw);
    return undefined;
  } catch (error) {
    return error instanceof GatewayError ? `${error.code} ${error.detail}` : String(error);
  }
}

const WHSEC_RULE = "must be whsec_ + base64 of 24 to 64 random bytes (Standard Webhooks format)";

describe("settings", () => {
  it("falls back to SAAS_ACCESS_KEY for the keys left empty, and applies defaults", () => {
    const settings = parseSettings({ ...env, KIT_ACCESS_KEY: "", LICENSE_ACCESS_KEY: undefined, USAGE_PUSH_KEY: "  ", MARKETPLACE_API_BASE: "", ENABLE_V1: "" });
    expect(settings.keys).toMatchObject({ saas: env.SAAS_ACCESS_KEY, kit: env.SAAS_ACCESS_KEY, license: env.SAAS_ACCESS_KEY, usagePush: env.SAAS_ACCESS_KEY, general: env.GENERAL_ACCESS_KEY });
    expect(settings.marketplace.apiBase).toBe("https://mkt.myhuaweicloud.com");
    expect(settings.enableV1).toBe(true);
    expect(settings.signatureToleranceMs).toBe(60_000);
  });

  it.each([
    [{ SAAS_ACCESS_KEY: undefined }, "000005 setting SAAS_ACCESS_KEY: is missing"],
    [{ DATA_KEY: "c2hvcnQ=" }, "000005 setting DATA_KEY: must be base64 of exactly 32 bytes (openssl rand -base64 32)"],
    [{ MARKETPLACE_API_BASE: "http://mkt.example.com" }, "000005 setting MARKETPLACE_API_BASE: must be https:// (http:// only for 127.0.0.1 or localhost)"],
    [{ FRONTEND_URL_TEMPLATE: "https://app.example.com/" }, "000005 setting FRONTEND_URL_TEMPLATE: must contain {instanceId}"],
    [{ ENABLE_V1: "yes" }, "000005 setting ENABLE_V1: must be \"true\" or \"false\""],
    [{ SIGNATURE_TOLERANCE_SECONDS: "-5" }, "000005 setting SIGNATURE_TOLERANCE_SECONDS: Too small: expected number to be >=1"],
    [{ PROVISIONING_MODE: "webhook", SELLER_WEBHOOK_URL: "" }, "000005 setting SELLER_WEBHOOK_URL: is required when PROVISIONING_MODE is webhook"],
    [{ PROVISIONING_MODE: "webhook", SELLER_WEBHOOK_URL: undefined }, "000005 setting SELLER_WEBHOOK_URL: is required when PROVISIONING_MODE is webhook"],
    [{ SELLER_WEBHOOK_SECRET: "" }, "000005 setting SELLER_WEBHOOK_SECRET: is required when SELLER_WEBHOOK_URL is set"],
    [{ PROVISIONING_MODE: "webhook", SELLER_WEBHOOK_SECRET: undefined }, "000005 setting SELLER_WEBHOOK_SECRET: is required when SELLER_WEBHOOK_URL is set"],
    [{ SELLER_WEBHOOK_SECRET: "not-a-whsec-secret" }, `000005 setting SELLER_WEBHOOK_SECRET: ${WHSEC_RULE}`],
    [{ SELLER_WEBHOOK_SECRET: `whsec_${Buffer.alloc(16, 1).toString("base64")}` }, `000005 setting SELLER_WEBHOOK_SECRET: ${WHSEC_RULE}`],
    [{ SELLER_WEBHOOK_SECRET: `whsec_${Buffer.alloc(65, 1).toString("base64")}` }, `000005 setting SELLER_WEBHOOK_SECRET: ${WHSEC_RULE}`],
    [{ SELLER_WEBHOOK_SECRET: "whsec_!!!!" }, `000005 setting SELLER_WEBHOOK_SECRET: ${WHSEC_RULE}`],
    [{ SELLER_WEBHOOK_URL: "http://seller.example.com/webhook" }, "000005 setting SELLER_WEBHOOK_URL: must be https:// (http:// only for 127.0.0.1 or localhost)"],
    [{ SELLER_WEBHOOK_URL: "not a url" }, "000005 setting SELLER_WEBHOOK_URL: is not a URL"],
    [{ KIT_RSA_PRIVATE_KEY: "-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----" }, "000005 setting KIT_RSA_PRIVATE_KEY: must be a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----); convert with openssl pkcs8 -topk8 -nocrypt"],
  ])("refuses %o, naming the setting", (override, expected) => {
    expect(problemOf({ ...env, ...override })).toBe(expected);
  });

  it("seller webhook: https or loopback http with a whsec_ secret is a webhook; no URL is none (the feed still works); webhook mode works", () => {
    const secret = `whsec_${Buffer.alloc(32, 7).toString("base64")}`;
    expect(parseSettings({ ...env, SELLER_WEBHOOK_URL: "https://seller.example.com/hooks/", SELLER_WEBHOOK_SECRET: secret }).sellerWebhook).toEqual({ url: "https://seller.example.com/hooks", secret });
    expect(parseSettings({ ...env, SELLER_WEBHOOK_URL: "http://localhost:8790/webhook", SELLER_WEBHOOK_SECRET: secret }).sellerWebhook?.url).toBe("http://localhost:8790/webhook");
    expect(parseSettings({ ...env, SELLER_WEBHOOK_URL: "", SELLER_WEBHOOK_SECRET: "" }).sellerWebhook).toBeUndefined();
    expect(parseSettings({ ...env, PROVISIONING_MODE: "webhook" }).provisioning.mode).toBe("webhook");
    expect(parseSettings({ ...env, PROVISIONING_WEBHOOK_URL: "https://old.example.com" })).not.toHaveProperty("provisioningWebhookUrl");
  });

  it("PUBLIC_URL: an https origin (a trailing slash is dropped), http only for loopback, or unset", () => {
    expect(featureSettings({ ...env, PUBLIC_URL: "https://gateway.example.com/" }, "publicUrl").url).toBe("https://gateway.example.com");
    expect(featureSettings({ ...env, PUBLIC_URL: "http://127.0.0.1:8787" }, "publicUrl").url).toBe("http://127.0.0.1:8787");
    expect(featureSettings({ ...env, PUBLIC_URL: "" }, "publicUrl").url).toBeUndefined();
    const refusal = (value: string) => {
      try {
        featureSettings({ ...env, PUBLIC_URL: value }, "publicUrl");
        return "accepted";
      } catch (error) {
        return error instanceof GatewayError ? error.detail : String(error);
      }
    };
    expect(refusal("http://gateway.example.com")).toBe("setting PUBLIC_URL: must be https:// (http:// only for 127.0.0.1 or localhost)");
    expect(refusal("https://gateway.example.com/admin")).toBe("setting PUBLIC_URL: must be an origin only (https://host, no path or query)");
  });

  it("a bad setting fails the first request with 000005 and a logged error naming it, storing nothing", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const broken = { DATA_KEY: "not-base64-of-32-bytes" };
    const before = await tableCounts();
    const response = await fetchWith(signedV2Request(makeNewInstance()), broken);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ resultCode: "000005", resultMsg: "gateway is misconfigured" });
    expect(errors.mock.calls.map((call) => String(call[0])).join("\n")).toMatch(/"event":"settings.invalid".*setting DATA_KEY/);
    expect(await tableCounts()).toEqual(before);

    const health = await fetchWith(new Request("https://gateway.test/admin/api/health", { headers: { authorization: `Bearer ${env.ADMIN_TOKEN}` } }), broken);
    expect(await health.json()).toMatchObject({ status: "degraded", settings: { setting: "DATA_KEY" } });
    errors.mockRestore();
  });
});
