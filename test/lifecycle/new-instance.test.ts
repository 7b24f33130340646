import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callV2, makeNewInstance } from "../support/marketplace";


describe("newInstance", () => {
  it("creates an active instance and answers 000000 with a deterministic instance id", async () => {
    const body = makeNewInstance();
    const answer = await callV2(body);
    expect(answer.status).toBe(200);
    expect(answer.bodySignValid).toBe(true);
    expect(answer.json).toMatchObject({ resultCode: "000000", instanceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    const row = await env.DB.prepare("SELECT * FROM instances WHERE id = ?").bind(answer.json.instanceId).first();
    expect(row).toMatchObject({ status: "active", order_id: body.orderId });
  });

  it("answers a retry with a new businessId byte for byte, creating nothing", async () => {
    const body = makeNewInstance();
    const first = await callV2(body);
    const second = await callV2({ ...body, businessId: crypto.randomUUID() });
    expect(second.text).toBe(first.text);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM instances WHERE order_id = ?").bind(body.orderId).first<{ n: number }>();
    expect(count?.n).toBe(1);
  });
});
