import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { loggingD1 } from "../../src/db/query-log";

/** The opt-in D1 query log the benchmarks read: one line per round trip, with D1's row counts where D1 gives them. */

afterEach(() => {
  vi.restoreAllMocks();
});

function roundTrips(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>).filter((line) => line.event === "d1.roundtrip");
}

describe("loggingD1", () => {
  it("logs statements, rows read and rows written per round trip, summed over a batch; raw() and first() without meta", async () => {
    const table = `query_log_${crypto.randomUUID().replaceAll("-", "")}`;
    await env.DB.prepare(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY, v TEXT)`).run();
    const spy = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const db = loggingD1(env.DB);

    await db.batch([db.prepare(`INSERT INTO ${table} (id, v) VALUES (1, 'a'), (2, 'b')`), db.prepare(`INSERT INTO ${table} (id, v) VALUES (?, ?)`).bind(3, "c")]);
    const all = await db.prepare(`SELECT * FROM ${table}`).all();
    const raw = await db.prepare(`SELECT id FROM ${table} WHERE id < ?`).bind(3).raw();
    const first = await db.prepare(`SELECT v FROM ${table} WHERE id = 9`).first();
    await expect(db.prepare(`SELECT * FROM no_such_table_${table}`).all()).rejects.toThrow();

    expect(all.results).toHaveLength(3);
    expect(raw).toEqual([[1], [2]]);
    expect(first).toBeNull();
    const lines = roundTrips(spy);
    expect(lines).toEqual([
      { level: "info", event: "d1.roundtrip", statements: 2, rowsRead: expect.any(Number), rowsWritten: 3 },
      { level: "info", event: "d1.roundtrip", statements: 1, rowsRead: 3, rowsWritten: 0 },
      { level: "info", event: "d1.roundtrip", statements: 1, rowsRead: null, rowsWritten: null, rowsReturned: 2 },
      { level: "info", event: "d1.roundtrip", statements: 1, rowsRead: null, rowsWritten: null, rowsReturned: 0 },
      { level: "info", event: "d1.roundtrip", statements: 1, rowsRead: null, rowsWritten: null },
    ]);
  });
});
