import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { HOUR_MS } from "../../src/billing/periods";
import { pushJob } from "../../src/billing/push.job";
import { accepted, insertSyntheticRecords, MINUTE, partialFailure, recordBySn, testDay, useFakeMarketplace } from "../support/billing";
import { problemRows } from "../support/problems";

/* The push job's problems, with the Marketplace's usage push (a fetch mock) failing and recovering. */

const fake = useFakeMarketplace();

describe("usage push problems", () => {
  it("usage_push.failing opens when a push call fails as a whole (with the earliest deadline) and clears on a run whose calls are answered", async () => {
    const day = testDay();
    const now = day + 11 * HOUR_MS + 5 * MINUTE;
    const [sn] = await insertSyntheticRecords(2, day + 10 * HOUR_MS, now);
    const deadline = (await recordBySn(sn ?? ""))?.deadline ?? 0;
    fake().onPush = () => new Response("<html>502 Bad Gateway</html>", { status: 502, headers: { "Content-Type": "text/html" } });
    expect(await pushJob(env, now)).toMatchObject({ waiting: 2 });
    const [opened, ...others] = await problemRows("usage_push.failing", "usage push");
    expect(others).toEqual([]);
    expect(opened).toMatchObject({ severity: "critical", count: 1, resolved_at: null });
    expect(opened?.summary).toContain(`earliest deadline is ${new Date(deadline).toISOString().slice(0, 16).replace("T", " ")} UTC`);
    // Still failing: the same problem counts the run.
    await pushJob(env, now + 10 * MINUTE);
    expect((await problemRows("usage_push.failing", "usage push"))[0]).toMatchObject({ count: 2, resolved_at: null });
    fake().onPush = accepted;
    expect(await pushJob(env, now + 40 * MINUTE)).toMatchObject({ accepted: 2 });
    expect((await problemRows("usage_push.failing", "usage push"))[0]).toMatchObject({ resolved_by: "gateway", resolved_at: now + 40 * MINUTE });
  });

  it("usage.rejected opens per record code and stays open for a person", async () => {
    const day = testDay();
    const now = day + 11 * HOUR_MS + 5 * MINUTE;
    const sns = await insertSyntheticRecords(3, day + 10 * HOUR_MS, now);
    fake().onPush = () =>
      partialFailure([
        { sn: sns[0] ?? "", code: "001", message: "instance does not exist" },
        { sn: sns[2] ?? "", code: "001", message: "instance does not exist" },
      ]);
    expect(await pushJob(env, now)).toMatchObject({ rejected: 2, accepted: 1 });
    const [row] = await problemRows("usage.rejected", "001");
    expect(row).toMatchObject({ severity: "warning", count: 1, resolved_at: null });
    expect(row?.summary).toMatch(/rejected 2 usage records with 001 \(instance does not exist\)/);
    expect(row?.detail).toContain(sns[0]);
  });

  it("usage_push.expired opens when records miss their deadline", async () => {
    const day = testDay();
    const now = day + 11 * HOUR_MS + 5 * MINUTE;
    const [sn] = await insertSyntheticRecords(1, day + 10 * HOUR_MS, now);
    const deadline = (await recordBySn(sn ?? ""))?.deadline ?? 0;
    expect(await pushJob(env, deadline)).toMatchObject({ expired: 1 });
    const [row] = await problemRows("usage_push.expired", "usage records");
    expect(row).toMatchObject({ severity: "critical", resolved_at: null });
    expect(row?.summary).toMatch(new RegExp(`1 usage records missed their push deadline \\(e\\.g\\. ${sn}\\)`));
  });
});
