import { env } from "cloudflare:workers";
import { SQLiteAsyncDialect } from "drizzle-orm/sqlite-core";
import { describe, expect, it, vi } from "vitest";
import { HOUR_MS } from "../../src/billing/periods";
import { CLAIM_ORDER_INDEX, LEASE_MS, MAX_CALLS_PER_RUN, claimQuery, makePushJob, pushJob } from "../../src/billing/push.job";
import { MarketplaceApiError } from "../../src/marketplace-api/errors";
import { rollupJob } from "../../src/billing/rollup.job";
import { getSettings } from "../../src/env";
import { MAX_RECORDS_PER_PUSH, pushUsage } from "../../src/marketplace-api/usage.api";
import { formatOpenApiTime } from "../../src/protocol/time-formats";
import { verifyUsagePushHeaders } from "../../src/protocol/usage-push-signature";
import {
  accepted,
  ingest,
  insertSyntheticRecords,
  MINUTE,
  partialFailure,
  recordBySn,
  recordsOf,
  startDayWithInstance,
  testDay,
  useFakeMarketplace,
} from "../support/billing";

const fake = useFakeMarketplace();

/** An instance with usage in hour 10 of a fresh day, rolled up at 11:05: one pending record. */
async function pendingRecord(quantity: number | string = 3): Promise<{ day: number; h10: number; instanceId: string; sn: string }> {
  const { day, h10, instanceId } = await startDayWithInstance(fake());
  await ingest([{ instanceId, quantity, time: h10 + 30 * MINUTE }], h10 + 31 * MINUTE);
  await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
  const [record] = await recordsOf(instanceId);
  if (!record) throw new Error("no record");
  return { day, h10, instanceId, sn: record.metering_sn };
}

describe("push window and wire format", () => {
  it("sends a closed hour at minute 5 of the next hour, signed, with the usage hour's times, and records it accepted", async () => {
    const { h10, instanceId, sn } = await pendingRecord("12.5");
    const at = h10 + HOUR_MS + 5 * MINUTE;
    const counts = await pushJob(env, at);
    expect(counts).toMatchObject({ claimed: 1, calls: 1, accepted: 1, rejected: 0, waiting: 0, expired: 0 });
    const [call] = fake().pushes;
    expect(call?.records).toEqual([
      {
        instance_id: instanceId,
        // When the record was made (the roll-up at 11:05), not when it is sent.
        record_time: formatOpenApiTime(h10 + HOUR_MS + 5 * MINUTE),
        begin_time: formatOpenApiTime(h10),
        end_time: formatOpenApiTime(h10 + HOUR_MS),
        usage_value: "12.5",
        metering_sn: sn,
      },
    ]);
    expect(verifyUsagePushHeaders(getSettings(env).keys.usagePush, call?.text ?? "", call?.headers ?? new Headers())).toBe(true);
    expect(await recordBySn(sn)).toMatchObject({ state: "accepted", attempts: 1, lease_owner: null, reject_code: null });
    // Nothing left to send.
    expect(await pushJob(env, at + 5 * MINUTE)).toMatchObject({ claimed: 0, calls: 0 });
  });

  it("sends at most 1000 records per call", async () => {
    const day = testDay();
    const now = day + 11 * HOUR_MS + 5 * MINUTE;
    const sns = await insertSyntheticRecords(2 * MAX_RECORDS_PER_PUSH + 5, day + 10 * HOUR_MS, now);
    const counts = await pushJob(env, now);
    expect(fake().pushes.map((call) => call.records.length)).toEqual([1000, 1000, 5]);
    expect(counts).toMatchObject({ claimed: sns.length, accepted: sns.length, calls: 3 });
    expect(new Set(fake().pushedSns()).size).toBe(sns.length);
  });
});

describe("record states", () => {
  it("partial failure: the records the Marketplace names are rejected with their code, the others accepted", async () => {
    const day = testDay();
    const now = day + 11 * HOUR_MS + 5 * MINUTE;
    const sns = await insertSyntheticRecords(4, day + 10 * HOUR_MS, now);
    fake().onPush = () =>
      partialFailure([
        { sn: sns[1] ?? "", code: "001", message: "instance does not exist" },
        { sn: sns[3] ?? "", code: "12", message: "not pay-per-use" },
      ]);
    const counts = await pushJob(env, now);
    expect(counts).toMatchObject({ accepted: 2, rejected: 2 });
    const rows = await Promise.all(sns.map((sn) => recordBySn(sn)));
    expect(rows.map((r) => [r?.state, r?.reject_code])).toEqual([
      ["accepted", null],
      ["rejected", "001"],
      ["accepted", null],
      ["rejected", "012"],
    ]);
    expect(rows[1]?.reject_message).toBe("instance does not exist");
    // Rejected records stay rejected: never sent again.
    expect(await pushJob(env, now + 10 * MINUTE)).toMatchObject({ claimed: 0 });
  });

  it("a first-time 005 is a refusal, not a confirmation", async () => {
    const { h10, sn } = await pendingRecord();
    fake().onPush = () => partialFailure([{ sn, code: "005" }]);
    await pushJob(env, h10 + HOUR_MS + 5 * MINUTE);
    expect(await recordBySn(sn)).toMatchObject({ state: "rejected", reject_code: "005" });
  });

  it("retries a failed call with backoff inside the deadline, resending the same metering_sn, until accepted", async () => {
    const { h10, sn } = await pendingRecord();
    const t0 = h10 + HOUR_MS + 5 * MINUTE;
    fake().onPush = () => Response.json({ error_code: "MKT.0999", error_msg: "busy" }, { status: 500 });
    expect(await pushJob(env, t0)).toMatchObject({ waiting: 1, accepted: 0 });
    expect(await recordBySn(sn)).toMatchObject({ state: "sent", attempts: 1, next_attempt_at: t0 + 5 * MINUTE, lease_owner: null, last_error: expect.stringContaining("MKT.0999") });
    // Not due yet: nothing is sent.
    expect(await pushJob(env, t0 + 4 * MINUTE)).toMatchObject({ claimed: 0 });
    expect(await pushJob(env, t0 + 5 * MINUTE)).toMatchObject({ claimed: 1, waiting: 1 });
    expect(await recordBySn(sn)).toMatchObject({ attempts: 2, next_attempt_at: t0 + 15 * MINUTE });
    fake().onPush = accepted;
    expect(await pushJob(env, t0 + 15 * MINUTE)).toMatchObject({ accepted: 1 });
    expect(fake().pushedSns()).toEqual([sn, sn, sn]);
    expect(await recordBySn(sn)).toMatchObject({ state: "accepted", attempts: 3 });
  });

  it("never schedules a retry past the deadline, and expires what could not be sent in time", async () => {
    const { h10, sn } = await pendingRecord();
    const deadline = h10 + 3 * HOUR_MS;
    fake().onPush = () => Response.json({ error_code: "MKT.0999", error_msg: "busy" }, { status: 500 });
    const late = deadline - 10 * MINUTE;
    await pushJob(env, late);
    const record = await recordBySn(sn);
    expect(record?.next_attempt_at).toBeLessThan(deadline - MINUTE);
    expect(record?.next_attempt_at).toBeGreaterThan(late);
    expect(await pushJob(env, deadline)).toMatchObject({ expired: 1, claimed: 0 });
    expect(await recordBySn(sn)).toMatchObject({ state: "expired", reject_message: "sent 1 time(s), never confirmed before the deadline" });
  });

  it("expires a record that was never sent before its deadline (the push job did not run for two hours)", async () => {
    const { h10, sn } = await pendingRecord();
    expect(await pushJob(env, h10 + 3 * HOUR_MS)).toMatchObject({ expired: 1, calls: 0 });
    expect(fake().pushes).toEqual([]);
    expect(await recordBySn(sn)).toMatchObject({ state: "expired", attempts: 0, reject_message: "never sent before the deadline" });
  });

  it("keeps records waiting (not rejected) when the Marketplace refuses our signature, and logs it", async () => {
    const { h10, sn } = await pendingRecord();
    const errors = vi.spyOn(console, "error");
    fake().onPush = () => Response.json({ error_code: "MKT.0102", error_msg: "Invalid body sign" }, { status: 400 });
    await pushJob(env, h10 + HOUR_MS + 5 * MINUTE);
    expect(await recordBySn(sn)).toMatchObject({ state: "pending", last_error: expect.stringContaining("MKT.0102") });
    expect(errors.mock.calls.some(([line]) => String(line).includes("usage.push_misconfigured"))).toBe(true);
  });

  it("splits a batch refused as a whole for a record's sake until the record is alone, and rejects only that one", async () => {
    const day = testDay();
    const now = day + 11 * HOUR_MS + 5 * MINUTE;
    const sns = await insertSyntheticRecords(8, day + 10 * HOUR_MS, now);
    const bad = sns[5] ?? "";
    fake().onPush = (call) =>
      call.records.some((r) => r.metering_sn === bad)
        ? Response.json({ error_code: "MKT.9001", error_msg: "instance ID not found" }, { status: 500 })
        : accepted(call);
    const counts = await pushJob(env, now);
    expect(counts).toMatchObject({ accepted: 7, rejected: 1 });
    expect(await recordBySn(bad)).toMatchObject({ state: "rejected", reject_code: "MKT.9001" });
    // 8 → 4+4 → 2+2 → 1+1: one call per level on the bad side.
    expect(counts.calls).toBe(7);
  });

  it("warns when a record is still unconfirmed at 75% of its push window", async () => {
    const { h10 } = await pendingRecord();
    fake().onPush = () => Response.json({ error_code: "MKT.0999", error_msg: "busy" }, { status: 500 });
    const warnings = vi.spyOn(console, "warn");
    expect(await pushJob(env, h10 + HOUR_MS + 89 * MINUTE)).toMatchObject({ atRisk: 0 });
    expect(await pushJob(env, h10 + HOUR_MS + 90 * MINUTE)).toMatchObject({ atRisk: 1 });
    expect(warnings.mock.calls.some(([line]) => String(line).includes("usage.deadline_at_risk"))).toBe(true);
  });
});

describe("crash safety and concurrency", () => {
  it("a run killed after the Marketplace took the records and before recording it: resent with the same metering_sn after the lease, 005 means accepted", async () => {
    const { h10, sn } = await pendingRecord();
    const t0 = h10 + HOUR_MS + 5 * MINUTE;
    const killed = makePushJob({
      push: async (config, records, now) => {
        await pushUsage(config, records, now);
        throw new Error("isolate killed after the call returned");
      },
    });
    await expect(killed(env, t0)).rejects.toThrow("isolate killed");
    expect(await recordBySn(sn)).toMatchObject({ state: "sent", attempts: 1, lease_owner: expect.stringMatching(/^push:/) });
    // While the lease holds, no other run touches it.
    expect(await pushJob(env, t0 + LEASE_MS - 1)).toMatchObject({ claimed: 0 });
    // The Marketplace already holds it: it answers the resend with 005.
    fake().onPush = (call) => partialFailure(call.records.map((r) => ({ sn: r.metering_sn, code: "005", message: "duplicate metering_sn" })));
    expect(await pushJob(env, t0 + LEASE_MS)).toMatchObject({ claimed: 1, accepted: 1, confirmedByDuplicate: 1 });
    expect(fake().pushedSns()).toEqual([sn, sn]);
    expect(await recordBySn(sn)).toMatchObject({ state: "accepted", attempts: 2 });
  });

  it("a resend answered 010 (same instance, begin and end) is also read as already accepted", async () => {
    const { h10, sn } = await pendingRecord();
    const t0 = h10 + HOUR_MS + 5 * MINUTE;
    fake().onPush = () => new Response("<html>gateway timeout</html>", { status: 504 });
    await pushJob(env, t0);
    fake().onPush = () => partialFailure([{ sn, code: "010" }]);
    expect(await pushJob(env, t0 + 5 * MINUTE)).toMatchObject({ accepted: 1, confirmedByDuplicate: 1 });
  });

  it("two overlapping runs never send the same record", async () => {
    const day = testDay();
    const now = day + 11 * HOUR_MS + 5 * MINUTE;
    const sns = await insertSyntheticRecords(1500, day + 10 * HOUR_MS, now);
    // Slow answers, so both runs are in flight at once.
    fake().onPush = async (call) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return accepted(call);
    };
    const [a, b] = await Promise.all([pushJob(env, now), pushJob(env, now + 1000)]);
    const pushed = fake().pushedSns();
    expect(pushed).toHaveLength(sns.length);
    expect(new Set(pushed).size).toBe(sns.length);
    expect((a.claimed ?? 0) + (b.claimed ?? 0)).toBe(sns.length);
    expect(a.claimed).toBeGreaterThan(0);
    expect(b.claimed).toBeGreaterThan(0);
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM usage_records WHERE state != 'accepted'").first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("a run whose lease was taken over changes nothing of what the new owner decided", async () => {
    const { h10, sn } = await pendingRecord();
    const t0 = h10 + HOUR_MS + 5 * MINUTE;
    let release: () => void = () => undefined;
    const hung = new Promise<void>((resolve) => {
      release = resolve;
    });
    let calling = false;
    const stalled = makePushJob({
      push: async (config, records, now) => {
        calling = true;
        await hung;
        return pushUsage(config, records, now);
      },
    });
    const slowRun = stalled(env, t0);
    await vi.waitFor(() => expect(calling).toBe(true));
    // The lease ran out while the first run hung; a second run takes the record over and gets it refused.
    fake().onPush = () => partialFailure([{ sn, code: "003", message: "usage value abnormal" }]);
    expect(await pushJob(env, t0 + LEASE_MS)).toMatchObject({ rejected: 1 });
    fake().onPush = accepted;
    release();
    expect(await slowRun).toMatchObject({ accepted: 1, leaseLost: 1 });
    expect(await recordBySn(sn)).toMatchObject({ state: "rejected", reject_code: "003" });
  });
});

/** Every record answered with the same record code. */
function allRefused(code: string) {
  return (call: { records: Array<{ metering_sn: string }> }) => partialFailure(call.records.map((r) => ({ sn: r.metering_sn, code, message: `code ${code}` })));
}

describe("one rule for duplicate answers (issue 9 item 9)", () => {
  it("a claim that never reached the Marketplace (call budget used up) does not make a later 005 a confirmation", async () => {
    const day = testDay();
    const t0 = day + 11 * HOUR_MS + 5 * MINUTE;
    const sns = await insertSyntheticRecords(64, day + 10 * HOUR_MS, t0);
    // Every batch of more than one record is refused as a whole for a record's sake: the run splits down to single
    // records, whose calls get no answer, until its call budget is used up; the records left were claimed, not sent.
    const splitting = makePushJob({
      push: async (_config, records) => {
        if (records.length > 1) throw new MarketplaceApiError("usagePush.new", "MKT.9001", "instance ID not found", false, 500);
        throw new MarketplaceApiError("usagePush.new", "TIMEOUT", "no answer", true);
      },
    });
    const first = await splitting(env, t0);
    expect(first.calls).toBe(MAX_CALLS_PER_RUN);
    const rows = await Promise.all(sns.map((sn) => recordBySn(sn)));
    const reached = rows.filter((r) => r?.deliveries === 1).map((r) => r?.metering_sn);
    const neverSent = rows.filter((r) => r?.deliveries === 0).map((r) => r?.metering_sn);
    expect(reached.length).toBeGreaterThan(0);
    expect(neverSent.length).toBeGreaterThan(0);
    expect(reached.length + neverSent.length).toBe(sns.length);

    fake().onPush = allRefused("005");
    const second = await pushJob(env, t0 + 30 * MINUTE);
    expect(second).toMatchObject({ accepted: reached.length, confirmedByDuplicate: reached.length, rejected: neverSent.length, conflicts: neverSent.length });
    for (const sn of neverSent) expect(await recordBySn(sn ?? "")).toMatchObject({ state: "rejected", reject_code: "005", reject_message: expect.stringMatching(/^conflict/) });
    for (const sn of reached) expect(await recordBySn(sn ?? "")).toMatchObject({ state: "accepted" });
  });

  it("010 for a record sent before is a conflict when another record of ours reached the Marketplace first for that period", async () => {
    const day = testDay();
    const now = day + 11 * HOUR_MS + 5 * MINUTE;
    const [first, second] = await insertSyntheticRecords(2, day + 10 * HOUR_MS, now);
    // Same instance, begin and end as `first` (as an hourly and a daily record of one instance can have), another key.
    await env.DB.prepare("UPDATE usage_records SET instance_id = 'inst-0', period_begin = period_begin - 1, state = 'accepted', deliveries = 1, first_sent_at = ? WHERE metering_sn = ?")
      .bind(now - HOUR_MS, second)
      .run();
    fake().onPush = () => new Response("<html>gateway timeout</html>", { status: 504 });
    await pushJob(env, now);
    fake().onPush = allRefused("010");
    expect(await pushJob(env, now + 5 * MINUTE)).toMatchObject({ accepted: 0, rejected: 1, conflicts: 1 });
    expect(await recordBySn(first ?? "")).toMatchObject({ state: "rejected", reject_code: "010", reject_message: expect.stringMatching(/^conflict/) });
  });
});

describe("records that expired while sent but unconfirmed (issue 9 item 10)", () => {
  async function expiredUnconfirmed() {
    const record = await pendingRecord();
    fake().onPush = () => Response.json({ error_code: "MKT.0999", error_msg: "busy" }, { status: 500 });
    await pushJob(env, record.h10 + HOUR_MS + 5 * MINUTE);
    return { ...record, deadline: record.h10 + 3 * HOUR_MS };
  }

  it("one more push after the deadline: 005 says the Marketplace held it, and the ledger says accepted", async () => {
    const { sn, deadline } = await expiredUnconfirmed();
    fake().onPush = allRefused("005");
    expect(await pushJob(env, deadline)).toMatchObject({ expired: 1, expiredHeld: 1, expiredNotHeld: 0 });
    expect(fake().pushedSns()).toEqual([sn, sn]);
    expect(await recordBySn(sn)).toMatchObject({ state: "accepted", expiry_check: "held", reject_code: null, lease_owner: null });
    // Checked once: never pushed again.
    expect(await pushJob(env, deadline + 5 * MINUTE)).toMatchObject({ calls: 0 });
  });

  it("any other answer says it was not held: the record stays expired with that answer's code", async () => {
    const { sn, deadline } = await expiredUnconfirmed();
    fake().onPush = allRefused("007");
    expect(await pushJob(env, deadline)).toMatchObject({ expired: 1, expiredHeld: 0, expiredNotHeld: 1 });
    expect(await recordBySn(sn)).toMatchObject({ state: "expired", expiry_check: "not-held", reject_code: "007", reject_message: expect.stringContaining("not held") });
    expect(await pushJob(env, deadline + 5 * MINUTE)).toMatchObject({ calls: 0 });
  });

  it("no answer to the check: asked again on the next run", async () => {
    const { sn, deadline } = await expiredUnconfirmed();
    expect(await pushJob(env, deadline)).toMatchObject({ expired: 1, expiredHeld: 0, expiredNotHeld: 0 });
    expect(await recordBySn(sn)).toMatchObject({ state: "expired", expiry_check: "due" });
    fake().onPush = allRefused("005");
    expect(await pushJob(env, deadline + 5 * MINUTE)).toMatchObject({ expiredHeld: 1 });
    expect(await recordBySn(sn)).toMatchObject({ state: "accepted", expiry_check: "held" });
  });

  it("a record that never reached the Marketplace is not pushed after its deadline", async () => {
    const { h10, sn } = await pendingRecord();
    expect(await pushJob(env, h10 + 3 * HOUR_MS)).toMatchObject({ expired: 1, calls: 0 });
    expect(await recordBySn(sn)).toMatchObject({ state: "expired", expiry_check: null });
  });
});

describe("the push claim does not grow with the backlog (issue 9 item 11)", () => {
  it("reads due records in deadline order from an index: no temporary b-tree", async () => {
    const { sql, params } = new SQLiteAsyncDialect().sqlToQuery(claimQuery("push:plan", Date.UTC(2030, 0, 1), 1000));
    const plan = await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`)
      .bind(...params)
      .all<{ detail: string }>();
    const details = plan.results.map((row) => row.detail);
    expect(details.some((d) => d.includes(`USING INDEX ${CLAIM_ORDER_INDEX}`))).toBe(true);
    expect(details.filter((d) => d.includes("TEMP B-TREE"))).toEqual([]);
  });
});
