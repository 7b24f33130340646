import { randomBytes } from "node:crypto";
import { Webhook, WebhookVerificationError } from "standardwebhooks";
import { describe, expect, it } from "vitest";
import { signWebhook, webhookHeaders } from "../../src/events/webhook-signature";

/*
 * Our Standard Webhooks signer (src/events/webhook-signature.ts) checked by the reference implementation, the
 * `standardwebhooks` npm package, which shares no code with it. Its verify() reads the real clock (5 minutes'
 * tolerance), so every signature here is made for now.
 */

const secret = `whsec_${randomBytes(32).toString("base64")}`;
const nowSeconds = () => Math.floor(Date.now() / 1000);

function body(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({ id: "evt_0123", type: "instance.created", timestamp: new Date().toISOString(), instanceId: "inst-1", test: false, data: { status: "provisioning", note: "ünïcödé ✓" }, ...overrides });
}

describe("webhook signature (Standard Webhooks v1)", () => {
  it("the headers we send verify with the standardwebhooks package and give back the body", () => {
    const payload = body();
    const headers = webhookHeaders(secret, "evt_0123", nowSeconds(), payload);
    expect(Object.keys(headers).sort()).toEqual(["content-type", "webhook-id", "webhook-signature", "webhook-timestamp"]);
    expect(headers["content-type"]).toBe("application/json");
    expect(headers["webhook-id"]).toBe("evt_0123");
    expect(headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(new Webhook(secret).verify(payload, headers)).toEqual(JSON.parse(payload));
  });

  it("agrees with the package's own signer for secrets of 24 to 64 bytes", () => {
    for (const size of [24, 32, 48, 64]) {
      const key = `whsec_${randomBytes(size).toString("base64")}`;
      const at = nowSeconds();
      const payload = body({ id: `evt_${size}` });
      expect(signWebhook(key, `evt_${size}`, at, payload)).toBe(new Webhook(key).sign(`evt_${size}`, new Date(at * 1000), payload));
    }
  });

  it.each([
    ["another body", (h: Record<string, string>) => h, body({ test: true })],
    ["another id", (h: Record<string, string>) => ({ ...h, "webhook-id": "evt_other" }), undefined],
    ["another timestamp", (h: Record<string, string>) => ({ ...h, "webhook-timestamp": String(Number(h["webhook-timestamp"]) - 1) }), undefined],
  ])("fails verification with %s", (_name, change, otherBody) => {
    const payload = body();
    const headers = change(webhookHeaders(secret, "evt_0123", nowSeconds(), payload));
    expect(() => new Webhook(secret).verify(otherBody ?? payload, headers)).toThrow(WebhookVerificationError);
  });

  it("fails verification with another secret, and is refused by the package when older than its tolerance", () => {
    const payload = body();
    expect(() => new Webhook(`whsec_${randomBytes(32).toString("base64")}`).verify(payload, webhookHeaders(secret, "evt_0123", nowSeconds(), payload))).toThrow(
      "No matching signature found",
    );
    expect(() => new Webhook(secret).verify(payload, webhookHeaders(secret, "evt_0123", nowSeconds() - 3600, payload))).toThrow("Message timestamp too old");
  });
});
