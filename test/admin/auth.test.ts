import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { rowCounts } from "../support/marketplace";
import { adminCall } from "../support/admin";

/*
 * Every admin route refuses a caller without the admin token before it looks at anything else: 401, the same body
 * whatever was wrong, nothing stored. The seller's token is not the admin's, and the admin's is not the seller's.
 */

const ROUTES: Array<{ method: "GET" | "POST"; path: string }> = [
  { method: "GET", path: "/admin/api/health" },
  { method: "GET", path: "/admin/api/instances" },
  { method: "GET", path: "/admin/api/instances/some-instance/timeline" },
  { method: "POST", path: "/admin/api/instances/some-instance/replay/1" },
  { method: "POST", path: "/admin/api/instances/some-instance/retry-provisioning" },
  { method: "GET", path: "/admin/api/deliveries" },
  { method: "POST", path: "/admin/api/deliveries/evt_0/resend" },
  { method: "GET", path: "/admin/api/usage" },
  { method: "POST", path: "/admin/api/usage/some-sn/correct" },
  { method: "GET", path: "/admin/api/jobs" },
  { method: "POST", path: "/admin/api/jobs/usageRollup/run" },
  { method: "GET", path: "/admin/api/no-such-route" },
];

const REFUSED: Array<[string, string | null]> = [
  ["no Authorization header", null],
  ["a wrong token", "Bearer not-the-admin-token"],
  ["the seller API token", `Bearer ${env.SELLER_API_TOKEN}`],
  ["the admin token as another scheme", `Basic ${env.ADMIN_TOKEN}`],
];

const TABLES = ["instances", "inbox", "audit_events", "events", "usage_records", "job_runs", "admin_actions"] as const;

describe("admin API authentication", () => {
  for (const route of ROUTES) {
    it.each(REFUSED)(`${route.method} ${route.path}: %s is 401 without detail and stores nothing`, async (_case, authorization) => {
      const before = await rowCounts(TABLES);
      const answer = await adminCall(route.path, { method: route.method, authorization });
      expect(answer.status).toBe(401);
      expect(answer.json).toEqual({ error: "missing or invalid admin bearer token" });
      expect(answer.headers.get("cache-control")).toBe("no-store");
      expect(answer.headers.get("www-authenticate")).toBe('Bearer realm="admin"');
      expect(await rowCounts(TABLES)).toEqual(before);
    });
  }

  it("answers with the admin token, JSON and no-store", async () => {
    const answer = await adminCall("/admin/api/instances?limit=1");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toMatch(/^application\/json/);
    expect(answer.headers.get("cache-control")).toBe("no-store");
  });

  it("an unknown admin route is 404 with the token", async () => {
    expect(await adminCall("/admin/api/no-such-route")).toMatchObject({ status: 404, json: { error: "no such route" } });
  });

  it.each(["/api/v1/instances", "/api/v1/events"])("the admin token is refused on the seller API (%s)", async (path) => {
    const response = await exports.default.fetch(new Request(`https://gateway.test${path}`, { headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` } }));
    expect(response.status).toBe(401);
  });
});
