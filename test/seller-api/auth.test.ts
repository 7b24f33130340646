import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { sellerApiRoutes } from "../../src/seller-api/seller-api";
import { fetchWith } from "../support/kit";
import { rowCounts } from "../support/marketplace";
import { SELLER_API_OPERATIONS, SELLER_TABLES, sellerCall, sellerRequest } from "../support/seller-api";

/** Each route of the table with its path parameters filled in and, for writes, a body that would be valid. */
const calls = sellerApiRoutes.map((route) => ({
  name: `${route.method.toUpperCase()} ${route.path}`,
  path: route.path.replace("{id}", "inst-auth-1").replace("{code}", "LIC-AUTH-1").replace("{eventId}", "ev-auth-1"),
  method: route.method === "post" ? ("POST" as const) : ("GET" as const),
  body: route.path.endsWith("/provisioned")
    ? { frontEndUrl: "https://app.example.com/x" }
    : route.path.endsWith("/provisioning-failed")
      ? { resultCode: "000106", message: "no capacity" }
      : route.path.endsWith("/usage")
        ? { events: [{ eventId: "e-auth-1", instanceId: "inst-auth-1", quantity: 1, time: Date.now() }] }
        : route.path.startsWith("/api/v1/licenses/") && route.method === "post"
          ? { type: "CHARACTERS", content: "LIC-auth-1" }
          : undefined,
}));

describe("seller API: who may call", () => {
  it("covers every route of the table, usage and kit reads included", () => {
    expect(calls.map((call) => call.name).sort()).toEqual([...SELLER_API_OPERATIONS].sort());
  });

  it.each(calls)("$name: 401 with one message for no token, a wrong one, the admin token, another scheme; stores nothing", async (call) => {
    const before = await rowCounts(SELLER_TABLES);
    const wrong = env.SELLER_API_TOKEN.replace(/.$/, (c) => (c === "x" ? "y" : "x"));
    for (const token of [null, wrong, env.ADMIN_TOKEN, "", `${env.SELLER_API_TOKEN}x`]) {
      const answer = await sellerCall(call.path, { method: call.method, token, body: call.body });
      expect(answer.status, String(token)).toBe(401);
      expect(answer.json).toEqual({ error: "missing or invalid bearer token" });
      expect(answer.headers.get("www-authenticate")).toMatch(/^Bearer/);
    }
    const basic = sellerRequest(call.path, { method: call.method, token: null, body: call.body });
    basic.headers.set("Authorization", `Basic ${btoa(`seller:${env.SELLER_API_TOKEN}`)}`);
    expect((await fetchWith(basic, {})).status).toBe(401);
    expect(await rowCounts(SELLER_TABLES)).toEqual(before);
  });

  it.each(calls)("$name: 503 naming where to look while the settings are broken, even with the right token", async (call) => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const before = await rowCounts(SELLER_TABLES);
    const response = await fetchWith(sellerRequest(call.path, { method: call.method, body: call.body }), { DATA_KEY: "broken" });
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: "gateway misconfigured: see /admin/api/health" });
    expect(errors.mock.calls.map((args) => String(args[0])).join("\n")).toMatch(/seller_api\.misconfigured.*DATA_KEY/);
    expect(await rowCounts(SELLER_TABLES)).toEqual(before);
    errors.mockRestore();
  });

  it("an unknown /api/v1 path is a JSON 404", async () => {
    const answer = await sellerCall("/api/v1/nothing-here");
    expect(answer.status).toBe(404);
    expect(answer.json).toEqual({ error: "no such route" });
  });
});
