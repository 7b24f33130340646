import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { callV2, createInstance, expireTime, instanceRow, makeNewInstance, tableCounts, uniqueId } from "../support/marketplace";


const inOneYear = () => expireTime(new Date(Date.now() + 365 * 86400_000));

function refresh(instanceId: string, overrides: Record<string, unknown> = {}) {
  const orderId = uniqueId("RN");
  return { activity: "refreshInstance", scene: "RENEWAL", orderId, orderLineId: `${orderId}-000001`, instanceId, expireTime: inOneYear(), ...overrides };
}

describe("queryInstance", () => {
  it("returns appInfo with the issued credentials, stored sealed", async () => {
    const { instanceId } = await createInstance();
    const answer = await callV2({ activity: "queryInstance", instanceId });
    expect(answer.bodySignValid).toBe(true);
    expect(answer.json.resultCode).toBe("000000");
    const info = answer.json.info as Array<{ instanceId: string; appInfo: Record<string, string> }>;
    expect(info).toHaveLength(1);
    expect(info[0]?.instanceId).toBe(instanceId);
    expect(info[0]?.appInfo.frontEndUrl).toBe(env.FRONTEND_URL_TEMPLATE.replace("{instanceId}", instanceId));
    const password = info[0]?.appInfo.password ?? "";
    expect(password).toMatch(/^.{20}$/);
    expect(password).toMatch(/[A-Z]/);
    expect(password).toMatch(/[0-9]/);
    const row = await instanceRow(instanceId);
    expect(String(row?.admin_password_sealed)).toMatch(/^v2\./);
    expect(String(row?.admin_password_sealed)).not.toContain(password);
    // The same credentials on every query.
    const again = await callV2({ activity: "queryInstance", instanceId });
    expect(again.text).toBe(answer.text);
  });

  it("answers several ids at once, skipping unknown ones, and 000003 when none is known", async () => {
    const a = await createInstance();
    const b = await createInstance();
    const answer = await callV2({ activity: "queryInstance", instanceId: `${a.instanceId},nosuchinstance,${b.instanceId}` });
    expect(answer.json.resultCode).toBe("000000");
    expect((answer.json.info as Array<{ instanceId: string }>).map((i) => i.instanceId)).toEqual([a.instanceId, b.instanceId]);
    const none = await callV2({ activity: "queryInstance", instanceId: "nosuchinstance" });
    expect(none.json).toMatchObject({ resultCode: "000003" });
    expect(none.json.resultMsg).toContain("nosuchinstance");
    const debug = await callV2({ activity: "queryInstance", instanceId: "nosuchinstance", testFlag: "1" });
    expect(debug.json).toMatchObject({ resultCode: "000000", info: [{ instanceId: "nosuchinstance" }] });
  });

  it("refuses more than 100 ids with 000002", async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `id${i}`).join(",");
    const answer = await callV2({ activity: "queryInstance", instanceId: ids });
    expect(answer.json.resultCode).toBe("000002");
    expect(answer.json.resultMsg).toMatch(/instanceId/);
  });
});

describe("refreshInstance", () => {
  it.each(["TRIAL_TO_FORMAL", "RENEWAL", "UNSUBSCRIBE_RENEWAL_PERIOD", "RENEWAL_CHANGE"])("applies scene %s: new expiry, audit row, repeat answered once", async (scene) => {
    const { instanceId } = await createInstance();
    const target = new Date(Date.UTC(2030, 0, 31, 15, 59, 59));
    const body = refresh(instanceId, { scene, expireTime: expireTime(target), productId: "P-YEARLY" });
    const first = await callV2(body);
    expect(first.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    const row = await instanceRow(instanceId);
    expect(row).toMatchObject({ expire_at: target.getTime(), expire_source: "refresh", product_id: "P-YEARLY", status: "active", version: 2 });
    const repeat = await callV2(body);
    expect(repeat.text).toBe(first.text);
    expect(await instanceRow(instanceId)).toMatchObject({ version: 2 });
  });

  it("accepts a 17-digit expireTime (the spec's example has milliseconds)", async () => {
    const { instanceId } = await createInstance();
    const answer = await callV2(refresh(instanceId, { expireTime: "20300131155959256" }));
    expect(answer.json.resultCode).toBe("000000");
    expect(await instanceRow(instanceId)).toMatchObject({ expire_at: Date.UTC(2030, 0, 31, 15, 59, 59, 256) });
  });

  it("answers the same order with another expiry as a conflict and changes nothing", async () => {
    const { instanceId } = await createInstance();
    const body = refresh(instanceId, { expireTime: "20300101000000" });
    await callV2(body);
    const before = await tableCounts();
    const conflict = await callV2({ ...body, expireTime: "20310101000000" });
    expect(conflict.json.resultCode).toBe("000002");
    expect(conflict.json.resultMsg).toMatch(/already used with different parameters/);
    expect(await instanceRow(instanceId)).toMatchObject({ expire_at: Date.UTC(2030, 0, 1) });
    expect({ ...(await tableCounts()), nonces: 0 }).toEqual({ ...before, nonces: 0 });
  });

  it("answers 000003 for an unknown instance and 000000 for a debug call, storing nothing", async () => {
    const before = await tableCounts();
    const real = await callV2(refresh("no-such-instance"));
    expect(real.json).toMatchObject({ resultCode: "000003" });
    expect(real.json.resultMsg).toContain("no-such-instance");
    const debug = await callV2(refresh("no-such-instance", { testFlag: "1" }));
    expect(debug.json.resultCode).toBe("000000");
    // Not even the nonces: the actors each call reached keep them (src/actor/replay-guard.ts).
    expect(await tableCounts()).toEqual(before);
  });
});

describe("updateInstanceStatus", () => {
  it("freezes, unfreezes and freezes again; repeats are no-ops", async () => {
    const { instanceId } = await createInstance();
    const status = (value: string) => callV2({ activity: "updateInstanceStatus", instanceId, status: value });
    expect((await status("FREEZE")).json.resultCode).toBe("000000");
    expect(await instanceRow(instanceId)).toMatchObject({ status: "frozen", version: 2 });
    const frozenAgain = await status("FREEZE");
    expect(frozenAgain.text).toBe('{"resultCode":"000000","resultMsg":"success"}');
    expect(await instanceRow(instanceId)).toMatchObject({ version: 2 });
    expect((await status("UNFREEZE")).json.resultCode).toBe("000000");
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active", frozen_at: null, version: 3 });
    expect((await status("UNFREEZE")).text).toBe('{"resultCode":"000000","resultMsg":"success"}');
    expect((await status("FREEZE")).json.resultCode).toBe("000000");
    expect(await instanceRow(instanceId)).toMatchObject({ status: "frozen", version: 4 });
  });

  it("refuses an unknown status value with 000002", async () => {
    const { instanceId } = await createInstance();
    const answer = await callV2({ activity: "updateInstanceStatus", instanceId, status: "PAUSE" });
    expect(answer.json.resultCode).toBe("000002");
    expect(answer.json.resultMsg).toMatch(/^status/);
  });
});

describe("releaseInstance", () => {
  it("releases once, answers repeats byte for byte, then refuses renewals and unfreezes with 000003", async () => {
    const { instanceId } = await createInstance();
    const first = await callV2({ activity: "releaseInstance", instanceId });
    expect(first.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(await instanceRow(instanceId)).toMatchObject({ status: "released" });
    const repeat = await callV2({ activity: "releaseInstance", instanceId });
    expect(repeat.text).toBe(first.text);
    const renew = await callV2(refresh(instanceId));
    expect(renew.json.resultCode).toBe("000003");
    expect(renew.json.resultMsg).toMatch(/released/);
    const unfreeze = await callV2({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" });
    expect(unfreeze.json.resultCode).toBe("000003");
    const query = await callV2({ activity: "queryInstance", instanceId });
    expect(query.json).toMatchObject({ resultCode: "000000", info: [{ instanceId }] });
    expect((query.json.info as Array<Record<string, unknown>>)[0]?.appInfo).toBeUndefined();
  });

  it("a debug release for an instance never seen answers 000000 and stores nothing in D1 (its actor keeps the nonce)", async () => {
    const before = await tableCounts();
    const answer = await callV2({ activity: "releaseInstance", instanceId: "debug-only-id", testFlag: "1" });
    expect(answer.json.resultCode).toBe("000000");
    expect(await tableCounts()).toEqual(before);
  });
});

describe("upgradeInstance and changeInstanceCheck", () => {
  it("upgrades once per order", async () => {
    const { instanceId } = await createInstance();
    const orderId = uniqueId("UP");
    const body = { activity: "upgradeInstance", instanceId, orderId, orderLineId: `${orderId}-000001` };
    const first = await callV2(body);
    expect(first.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    const repeat = await callV2(body);
    expect(repeat.text).toBe(first.text);
    const audit = await env.DB.prepare("SELECT event FROM audit_events WHERE instance_id = ? ORDER BY seq").bind(instanceId).all<{ event: string }>();
    expect(audit.results.map((r) => r.event)).toEqual(["newInstance", "upgradeInstance"]);
  });

  it("allows a renewal change for a live instance and refuses it for an unknown one", async () => {
    const { instanceId } = await createInstance();
    const ok = await callV2({ activity: "changeInstanceCheck", instanceId, productInfo: { skuCode: "S2" } });
    expect(ok.json.resultCode).toBe("000000");
    const unknown = await callV2({ activity: "changeInstanceCheck", instanceId: "nope", productInfo: {} });
    expect(unknown.json.resultCode).toBe("000003");
  });
});

describe("debug calls never touch real instances", () => {
  it("a testFlag release of a real instance answers success and leaves it active", async () => {
    const { instanceId } = await createInstance();
    const answer = await callV2({ activity: "releaseInstance", instanceId, testFlag: "1" });
    expect(answer.json.resultCode).toBe("000000");
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active", version: 1 });
  });

  it("a debug create makes a test instance whose lifecycle works", async () => {
    const body = makeNewInstance({ testFlag: "1" });
    const created = await callV2(body);
    expect(created.json.resultCode).toBe("000000");
    const instanceId = String(created.json.instanceId);
    expect(await instanceRow(instanceId)).toMatchObject({ is_test: 1, status: "active" });
    const released = await callV2({ activity: "releaseInstance", instanceId, testFlag: 1 });
    expect(released.json.resultCode).toBe("000000");
    expect(await instanceRow(instanceId)).toMatchObject({ status: "released" });
  });
});
