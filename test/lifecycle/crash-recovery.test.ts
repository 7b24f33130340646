import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { auditKeyOf, verifyAuditChain } from "../../src/instances/audit-chain";
import { type InstanceActor, getInstanceActor } from "../../src/actor/instance.actor";
import { listAuditEvents } from "../../src/instances/instance.repo";
import { callV2, instanceRow, makeNewInstance } from "../support/marketplace";

/** What a crash right after the D1 batch and before the actor cached the result leaves behind. */
async function forgetCache(instanceId: string) {
  await runInDurableObject(getInstanceActor(env, instanceId), (_actor: InstanceActor, state) => {
    for (const [key] of state.storage.kv.list()) state.storage.kv.delete(key);
  });
}

describe("crash between the D1 write and the actor's cache", () => {
  it("a retried create gets the recorded answer byte for byte, and later changes continue the chain", async () => {
    const body = makeNewInstance();
    const first = await callV2(body);
    const instanceId = String(first.json.instanceId);
    await forgetCache(instanceId);
    const retry = await callV2({ ...body, businessId: crypto.randomUUID() });
    expect(retry.text).toBe(first.text);
    await forgetCache(instanceId);
    const freeze = await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" });
    expect(freeze.json.resultCode).toBe("000000");
    expect(await instanceRow(instanceId)).toMatchObject({ status: "frozen", version: 2 });
    const events = await listAuditEvents(getDb(env), instanceId);
    expect(events.map((e) => e.event)).toEqual(["newInstance", "updateInstanceStatus"]);
    expect(verifyAuditChain(auditKeyOf(env.DATA_KEY), events).ok).toBe(true);
  });

  it("a stale cache (an older instance version) cannot fork the chain: the write fails and the actor reloads", async () => {
    const body = makeNewInstance();
    const created = await callV2(body);
    const instanceId = String(created.json.instanceId);
    const stub = getInstanceActor(env, instanceId);
    const stale = await runInDurableObject(stub, (_actor: InstanceActor, state) => ({
      instance: state.storage.kv.get("instance"),
      head: state.storage.kv.get("auditHead"),
    }));
    await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" });
    await runInDurableObject(stub, (_actor: InstanceActor, state) => {
      state.storage.kv.put("instance", stale.instance);
      state.storage.kv.put("auditHead", stale.head);
    });
    const release = await callV2({ activity: "releaseInstance", instanceId });
    expect(release.json.resultCode).toBe("000000");
    const events = await listAuditEvents(getDb(env), instanceId);
    expect(events.map((e) => [e.event, e.fromStatus, e.toStatus])).toEqual([
      ["newInstance", null, "active"],
      ["updateInstanceStatus", "active", "frozen"],
      ["releaseInstance", "frozen", "released"],
    ]);
    expect(verifyAuditChain(auditKeyOf(env.DATA_KEY), events).ok).toBe(true);
  });
});
