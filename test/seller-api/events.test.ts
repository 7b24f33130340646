import { describe, expect, it } from "vitest";
import { EventFeed } from "../../src/seller-api/events.schema";
import { uniqueId } from "../support/marketplace";
import { seedEvent, sellerCall } from "../support/seller-api";

interface FeedPage {
  events: Array<{ id: string; instanceId: string | null; type: string }>;
  nextCursor: string;
}

async function feed(query = ""): Promise<FeedPage> {
  const answer = await sellerCall(`/api/v1/events${query}`);
  expect(answer.status, JSON.stringify(answer.json)).toBe(200);
  return EventFeed.parse(answer.json) as FeedPage;
}

/** Reads to the end of the feed from `cursor`, as a seller's poller does. */
async function drain(cursor: string, limit: number): Promise<{ ids: string[]; cursor: string }> {
  const ids: string[] = [];
  for (;;) {
    const page = await feed(`?after=${cursor}&limit=${limit}`);
    ids.push(...page.events.map((event) => event.id));
    cursor = page.nextCursor;
    if (page.events.length === 0) return { ids, cursor };
  }
}

describe("GET /api/v1/events", () => {
  it("serves each event as the stored webhook body, in commit order, and a cursor that sees each exactly once", async () => {
    const start = await feed("?limit=500");
    const cursor = (await drain(start.nextCursor, 500)).cursor;
    const instanceId = uniqueId("I");
    const written = [];
    for (const type of ["instance.created", "instance.provisioned", "instance.frozen"] as const) written.push(await seedEvent({ instanceId, type }));

    const first = await feed(`?after=${cursor}&limit=2`);
    expect(first.events.map((event) => event.id)).toEqual(written.slice(0, 2).map((row) => row.id));
    expect(first.events[0]).toEqual({ id: written[0]?.id, type: "instance.created", timestamp: expect.any(String), instanceId, test: false, data: { instanceId } });
    const second = await feed(`?after=${first.nextCursor}&limit=2`);
    expect(second.events.map((event) => event.id)).toEqual([written[2]?.id]);

    // Nothing new: the cursor comes back unchanged, so the poller stays where it is.
    const idle = await feed(`?after=${second.nextCursor}`);
    expect(idle).toEqual({ events: [], nextCursor: second.nextCursor });
  });

  it("a reader polling while events are being written sees every event exactly once, in seq order", async () => {
    const start = await drain((await feed("?limit=500")).nextCursor, 500);
    const instanceIds = Array.from({ length: 10 }, () => uniqueId("I"));
    const seen: string[] = [];
    let cursor = start.cursor;
    const writing = (async () => {
      const ids: string[] = [];
      for (let round = 0; round < 5; round += 1) {
        const batch = await Promise.all(instanceIds.map((instanceId) => seedEvent({ instanceId, type: "instance.renewed" })));
        ids.push(...batch.map((row) => row.id));
      }
      return ids;
    })();
    let done = false;
    void writing.then(() => {
      done = true;
    });
    while (!done) {
      const page = await feed(`?after=${cursor}&limit=7`);
      seen.push(...page.events.map((event) => event.id));
      cursor = page.nextCursor;
    }
    seen.push(...(await drain(cursor, 7)).ids);
    const written = await writing;
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => written.includes(id)).sort()).toEqual([...written].sort());
  });

  it("without after starts at the first event; with no events after it the cursor is still present", async () => {
    const page = await feed("?limit=1");
    expect(typeof page.nextCursor).toBe("string");
    expect(page.nextCursor.length).toBeGreaterThan(0);
  });

  it.each([
    ["?after=garbage", /^cursor is not one this API returned$/],
    [`?after=${Buffer.from(JSON.stringify(["i", 1, "x"])).toString("base64url")}`, /^cursor is not one this API returned$/],
    [`?after=${Buffer.from(JSON.stringify(["e", 1.5])).toString("base64url")}`, /^cursor is not one this API returned$/],
    ["?after=", /^query parameter after:/],
    ["?limit=0", /^query parameter limit:/],
    ["?limit=501", /^query parameter limit:/],
    ["?cursor=abc", /^query parameter: unknown "cursor"/],
  ])("400 with a reason for %s", async (query, reason) => {
    const answer = await sellerCall(`/api/v1/events${query}`);
    expect(answer.status).toBe(400);
    expect(answer.json.error).toMatch(reason);
  });
});
