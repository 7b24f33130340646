import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createInstance, rowCounts } from "../support/marketplace";
import { SELLER_TABLES, sellerCall } from "../support/seller-api";

/* Builtin mode (this project's PROVISIONING_MODE): the gateway issues the login; the seller reads it, never writes it. */

async function credentialReads(instanceId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM audit_events WHERE instance_id = ? AND event = 'credentialsRead'").bind(instanceId).first<{ n: number }>();
  return row?.n ?? -1;
}

describe("builtin mode: credentials and the webhook-mode writes", () => {
  it("GET …/credentials gives the issued login, audits each read, and the entitlement shows the same userName but no password", async () => {
    const { instanceId } = await createInstance();
    const first = await sellerCall(`/api/v1/instances/${instanceId}/credentials`);
    expect(first.status).toBe(200);
    expect(first.json).toEqual({ userName: expect.any(String), password: expect.any(String) });
    expect(String(first.json.password).length).toBeGreaterThanOrEqual(12);
    expect(first.headers.get("cache-control")).toBe("no-store");
    expect((await sellerCall(`/api/v1/instances/${instanceId}/credentials`)).json).toEqual(first.json);
    expect(await credentialReads(instanceId)).toBe(2);

    const entitlement = await sellerCall(`/api/v1/instances/${instanceId}`);
    expect(entitlement.json).toMatchObject({ status: "active", appInfo: { userName: first.json.userName, frontEndUrl: expect.stringContaining(instanceId) } });
    expect(JSON.stringify(entitlement.json)).not.toContain(String(first.json.password));
  });

  it.each([
    ["provisioned", { frontEndUrl: "https://app.example.com/t/x" }],
    ["provisioning-failed", { resultCode: "000106", message: "no capacity" }],
  ])("POST …/%s is 409 (the gateway provisioned it itself) and stores nothing", async (write, body) => {
    const { instanceId } = await createInstance();
    const before = await rowCounts(SELLER_TABLES);
    const answer = await sellerCall(`/api/v1/instances/${instanceId}/${write}`, { method: "POST", body });
    expect(answer.status).toBe(409);
    expect(answer.json.error).toMatch(/builtin|already provisioned/);
    expect(await rowCounts(SELLER_TABLES)).toEqual(before);
    expect((await sellerCall(`/api/v1/instances/${instanceId}`)).json).toMatchObject({ status: "active" });
  });
});
