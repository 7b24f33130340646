import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { instanceListQueries } from "../../src/seller-api/instance-list.query";
import { Entitlement } from "../../src/seller-api/instances.schema";
import { createInstance, uniqueId } from "../support/marketplace";
import { seedInstance, sellerCall } from "../support/seller-api";

const T0 = Date.UTC(2026, 10, 1);

/** Walks every page of a list query and returns the ids in the order served, with the number of pages. */
async function walk(query: string): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const answer = await sellerCall(`/api/v1/instances?${query}${cursor ? `&cursor=${cursor}` : ""}`);
    expect(answer.status, JSON.stringify(answer.json)).toBe(200);
    for (const item of answer.json.instances as Array<{ instanceId: string }>) ids.push(item.instanceId);
    cursor = answer.json.nextCursor as string | null;
    pages += 1;
  } while (cursor !== null && pages < 100);
  return { ids, pages };
}

describe("GET /api/v1/instances/{id}", () => {
  it("answers the entitlement of an instance bought through newInstance, in the documented shape, never a password", async () => {
    const { instanceId, body } = await createInstance();
    const answer = await sellerCall(`/api/v1/instances/${instanceId}`);
    expect(answer.status).toBe(200);
    expect(answer.headers.get("cache-control")).toBe("no-store");
    expect(Entitlement.parse(answer.json)).toMatchObject({ instanceId, orderId: body.orderId, orderLineId: body.orderLineId, test: false });
    expect(JSON.stringify(answer.json)).not.toMatch(/password/i);
  });

  it("404 for an unknown id, 400 for one longer than 64 characters", async () => {
    expect(await sellerCall("/api/v1/instances/no-such-instance")).toMatchObject({ status: 404, json: { error: "instance no-such-instance does not exist" } });
    const long = await sellerCall(`/api/v1/instances/${"x".repeat(65)}`);
    expect(long.status).toBe(400);
    expect(long.json.error).toMatch(/^path parameter id:/);
  });
});

describe("GET /api/v1/instances", () => {
  it("pages newest first through one product, filtered by status and test flag, each row exactly once", async () => {
    const productId = uniqueId("P");
    const seeded: Array<{ id: string; status: "active" | "frozen"; isTest: boolean; createdAt: number }> = [];
    for (let i = 0; i < 23; i += 1) {
      // Pairs share a created_at, so the id tie-break of the keyset is exercised.
      const row = { status: i % 3 === 0 ? ("frozen" as const) : ("active" as const), isTest: i % 5 === 0, createdAt: T0 + Math.floor(i / 2) * 1000 };
      seeded.push({ ...row, id: await seedInstance({ ...row, productId }) });
    }
    const newest = [...seeded].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));

    const all = await walk(`productId=${productId}&limit=5`);
    expect(all.ids).toEqual(newest.map((row) => row.id));
    expect(all.pages).toBe(5);

    const frozenReal = await walk(`productId=${productId}&status=frozen&test=false&limit=2`);
    expect(frozenReal.ids).toEqual(newest.filter((row) => row.status === "frozen" && !row.isTest).map((row) => row.id));
  });

  it("without productId merges the index ranges of every status and both test flags in one newest-first order", async () => {
    // Rows far in the future of every other test's rows, so they are the first pages of the unfiltered list.
    const base = Date.UTC(2099, 0, 1);
    const statuses = ["provisioning", "active", "frozen", "released", "failed"] as const;
    const ids: string[] = [];
    for (let i = 0; i < 12; i += 1) ids.push(await seedInstance({ status: statuses[i % 5], isTest: i % 2 === 1, createdAt: base + i * 1000, productId: null }));
    const first = await sellerCall("/api/v1/instances?limit=7");
    const second = await sellerCall(`/api/v1/instances?limit=5&cursor=${first.json.nextCursor}`);
    const served = [...(first.json.instances as Array<{ instanceId: string }>), ...(second.json.instances as Array<{ instanceId: string }>)].map((item) => item.instanceId);
    expect(served).toEqual([...ids].reverse());

    const testOnly = await sellerCall("/api/v1/instances?test=true&status=released&limit=10");
    expect((testOnly.json.instances as Array<{ instanceId: string; test: boolean; status: string }>).slice(0, 1)).toEqual([
      expect.objectContaining({ instanceId: ids[3], test: true, status: "released" }),
    ]);
  });

  it("says null as nextCursor on the last page and defaults to 100 per page", async () => {
    const productId = uniqueId("P");
    await seedInstance({ productId, createdAt: T0 });
    const answer = await sellerCall(`/api/v1/instances?productId=${productId}`);
    expect(answer.json).toMatchObject({ nextCursor: null, instances: [expect.objectContaining({ productId })] });
  });

  it.each([
    ["limit=0", /^query parameter limit:/],
    ["limit=501", /^query parameter limit:/],
    ["limit=ten", /^query parameter limit:/],
    ["status=paused", /^query parameter status:/],
    ["test=yes", /^query parameter test:/],
    ["sort=asc", /^query parameter: unknown "sort"/],
    ["status=active&status=frozen", /given twice/],
    ["cursor=not-a-cursor", /^cursor is not one this API returned$/],
    ["cursor=%2B%2B%2B", /^cursor is not one this API returned$/],
    [`cursor=${Buffer.from(JSON.stringify(["e", 5])).toString("base64url")}`, /^cursor is not one this API returned$/],
    [`cursor=${Buffer.from(JSON.stringify(["i", -1, "x"])).toString("base64url")}`, /^cursor is not one this API returned$/],
  ])("400 with a reason for %s", async (query, reason) => {
    const answer = await sellerCall(`/api/v1/instances?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(reason);
  });

  it.each([
    [{ productId: "P1" }, "instances_product_idx", 1],
    [{ productId: "P1", status: "active" as const, test: false }, "instances_product_idx", 1],
    [{}, "instances_list_idx", 10],
    [{ status: "frozen" as const }, "instances_list_idx", 2],
    [{ status: "frozen" as const, test: true }, "instances_list_idx", 1],
  ])("%o: each query walks %s in order (%i ranges), no table scan, no sort of all matches", async (filter, index, ranges) => {
    const queries = instanceListQueries(getDb(env), filter, { createdAt: T0, id: "x" }, 101);
    expect(queries).toHaveLength(ranges);
    for (const query of queries) {
      const { sql, params } = query.toSQL();
      const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all<{ detail: string }>();
      const detail = plan.results.map((row) => row.detail).join(" | ");
      expect(detail).toMatch(new RegExp(`USING INDEX ${index}`));
      expect(detail).not.toMatch(/TEMP B-TREE/);
    }
  });
});
