import { describe, expect, it } from "vitest";
import { licenseUploadDuty } from "../../src/actor/duties/license-upload.duty";
import { KV, reload } from "../../src/actor/instance-scope";
import { dutyHarness } from "../support/duty-scope";
import { newInstanceBody } from "../support/lifecycle";
import { callV2 } from "../support/marketplace";

describe("the license upload duty (no actor)", () => {
  it("is due at the stored time; with no upload due in D1 it clears that time and asks for a re-arm", async () => {
    const answer = await callV2({ ...newInstanceBody(), testFlag: "1" });
    const instanceId = String(answer.json.instanceId);
    const { scope, storage, rearms } = dutyHarness();
    await reload(scope, instanceId);
    const now = Date.now();
    storage.set(KV.licenseDueAt, now);
    expect(licenseUploadDuty.nextDue(scope)).toBe(now);
    await licenseUploadDuty.run(scope, now);
    expect(licenseUploadDuty.nextDue(scope)).toBeUndefined();
    expect(rearms).toEqual([0]);
  });

  it("does nothing without an instance", async () => {
    const { scope, storage, rearms } = dutyHarness();
    storage.set(KV.licenseDueAt, Date.now());
    await licenseUploadDuty.run(scope, Date.now());
    expect(licenseUploadDuty.nextDue(scope)).toBeDefined();
    expect(rearms).toEqual([]);
  });
});
