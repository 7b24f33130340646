import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { CorrectionAnswer, UsageReport } from "../../src/admin/admin-api.schema";
import { HOUR_MS } from "../../src/billing/periods";
import { pushJob } from "../../src/billing/push.job";
import { rollupJob } from "../../src/billing/rollup.job";
import { MINUTE, ingest, partialFailure, recordBySn, recordsOf, setClock, startDayWithInstance, useFakeMarketplace } from "../support/billing";
import { rowCounts } from "../support/marketplace";
import { adminActionsOf, adminGet, adminPost } from "../support/admin";

const fake = useFakeMarketplace();
const isoOf = (ms: number) => new Date(ms).toISOString();

/** Usage of 3 in hour 10 of a fresh day, rolled up at 11:05 and rejected by the Marketplace with code 001. */
async function rejectedRecord() {
  const { day, h10, instanceId } = await startDayWithInstance(fake());
  await ingest([{ instanceId, quantity: 3, time: h10 + 30 * MINUTE }], h10 + 31 * MINUTE);
  await rollupJob(env, h10 + HOUR_MS + 5 * MINUTE);
  const [record] = await recordsOf(instanceId);
  const sn = record?.metering_sn ?? "";
  fake().onPush = () => partialFailure([{ sn, code: "001", message: "instance does not exist" }]);
  await pushJob(env, h10 + HOUR_MS + 5 * MINUTE);
  expect(await recordBySn(sn)).toMatchObject({ state: "rejected", reject_code: "001" });
  fake().onPush = () => Response.json({ error_code: "MKT.0000", error_msg: "success" });
  return { day, h10, instanceId, sn };
}

describe("GET /admin/api/usage", () => {
  it("counts records per hour and state, and lists the rejected ones with the Marketplace's code and message", async () => {
    const { day, h10, instanceId, sn } = await rejectedRecord();
    const answer = await adminGet(`/admin/api/usage?from=${isoOf(day)}&to=${isoOf(day + 24 * HOUR_MS)}`);
    expect(answer.status, answer.text).toBe(200);
    const report = UsageReport.parse(answer.json);
    expect(report.hours).toEqual([{ hour: isoOf(h10), state: "rejected", records: 1, usage: "3" }]);
    expect(report.problems).toEqual([
      expect.objectContaining({ meteringSn: sn, instanceId, state: "rejected", usageValue: "3", rejectCode: "001", rejectMessage: "instance does not exist" }),
    ]);
    // Offsets are RFC 3339 too; a state filter narrows both parts.
    const accepted = UsageReport.parse((await adminGet(`/admin/api/usage?from=${encodeURIComponent(isoOf(day).replace("T00:00:00.000Z", "T08:00:00+08:00"))}&to=${isoOf(day + 24 * HOUR_MS)}&state=accepted`)).json);
    expect(accepted.from).toBe(isoOf(day));
    expect(accepted.hours.filter((row) => row.hour === isoOf(h10))).toEqual([]);
    expect(accepted.problems).toEqual([]);
  });

  it.each([
    ["a date that is not RFC 3339", "from=yesterday"],
    ["a date without a time zone", "from=2030-01-01T00:00:00"],
    ["from after to", "from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z"],
    ["a range longer than 31 days", "from=2030-01-01T00:00:00Z&to=2030-03-01T00:00:00Z"],
    ["an unknown state", "state=lost"],
  ])("400 with a reason for %s", async (_case, query) => {
    const answer = await adminGet(`/admin/api/usage?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: expect.stringMatching(/from|to|state/) });
  });
});

describe("POST /admin/api/usage/{meteringSn}/correct", () => {
  it("writes a new record linked to the rejected one in the latest closed period; the push job sends it; a repeat writes nothing", async () => {
    const { h10, instanceId, sn } = await rejectedRecord();
    const now = h10 + 2 * HOUR_MS + 10 * MINUTE;
    setClock(now);
    const answer = await adminPost(`/admin/api/usage/${sn}/correct`);
    expect(answer.status, answer.text).toBe(200);
    const { original, correction, created } = CorrectionAnswer.parse(answer.json);
    expect(created).toBe(true);
    expect(original).toMatchObject({ meteringSn: sn, state: "rejected", usageValue: "3" });
    expect(correction).toMatchObject({ instanceId, state: "pending", usageValue: "3", correctionOf: sn, periodBegin: isoOf(h10 + HOUR_MS) });
    expect(correction.meteringSn).not.toBe(sn);
    // Never an edit: the original is as it was.
    expect(await recordBySn(sn)).toMatchObject({ state: "rejected", reject_code: "001", usage_value: "3" });
    expect((await adminActionsOf(sn)).map((row) => [row.actor, row.action])).toEqual([["admin", "correctUsage"]]);

    const counts = await rowCounts(["usage_records", "admin_actions"]);
    const again = CorrectionAnswer.parse((await adminPost(`/admin/api/usage/${sn}/correct`)).json);
    expect(again).toMatchObject({ created: false, correction: { meteringSn: correction.meteringSn } });
    expect(await rowCounts(["usage_records", "admin_actions"])).toEqual(counts);

    await pushJob(env, now);
    const pushed = fake().pushes.flatMap((call) => call.records).filter((record) => record.metering_sn === correction.meteringSn);
    expect(pushed).toHaveLength(1);
    expect(pushed[0]).toMatchObject({ instance_id: instanceId, usage_value: "3" });
    expect(await recordBySn(correction.meteringSn)).toMatchObject({ state: "accepted" });
    // Only rejected and expired records are corrected.
    const refused = await adminPost(`/admin/api/usage/${correction.meteringSn}/correct`);
    expect(refused.status).toBe(409);
    expect(refused.json.error).toMatch(/is accepted/);
  });

  it("takes the current period when the latest closed one has a record; that period's own usage is billed next, nothing lost", async () => {
    const { h10, instanceId, sn } = await rejectedRecord();
    const h11 = h10 + HOUR_MS;
    setClock(h11 + 10 * MINUTE);
    const { correction } = CorrectionAnswer.parse((await adminPost(`/admin/api/usage/${sn}/correct`)).json);
    expect(correction.periodBegin).toBe(isoOf(h11));
    // Usage in the correction's hour: not sent before that hour has ended, and not lost.
    await ingest([{ instanceId, quantity: 2, time: h11 + 30 * MINUTE }], h11 + 31 * MINUTE);
    await pushJob(env, h11 + 15 * MINUTE);
    expect(fake().pushedSns()).not.toContain(correction.meteringSn);
    for (const at of [h11 + HOUR_MS + 5 * MINUTE, h11 + 2 * HOUR_MS + 5 * MINUTE]) {
      await rollupJob(env, at);
      await pushJob(env, at);
    }
    const records = await recordsOf(instanceId);
    expect(records.map((row) => [row.period_begin - h10, row.usage_value, row.state])).toEqual([
      [0, "3", "rejected"],
      [HOUR_MS, "3", "accepted"],
      [2 * HOUR_MS, "2", "accepted"],
    ]);
    expect(fake().pushedSns()).toContain(correction.meteringSn);
  });

  it("404 for an unknown record, nothing stored", async () => {
    const counts = await rowCounts(["usage_records", "admin_actions"]);
    expect(await adminPost("/admin/api/usage/no-such-record/correct")).toMatchObject({ status: 404, json: { error: "usage record no-such-record does not exist" } });
    expect(await rowCounts(["usage_records", "admin_actions"])).toEqual(counts);
  });
});
