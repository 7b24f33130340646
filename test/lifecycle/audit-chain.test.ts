import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { hashAuditLink, verifyAuditChain } from "../../src/instances/audit-chain";
import { listAuditEvents } from "../../src/instances/instance.repo";
import { callV2, createInstance } from "../support/marketplace";

async function instanceWithHistory() {
  const { instanceId } = await createInstance();
  await callV2({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" });
  await callV2({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" });
  await callV2({ activity: "releaseInstance", instanceId });
  return instanceId;
}

describe("audit chain", () => {
  it("links every change of an instance", async () => {
    const instanceId = await instanceWithHistory();
    const events = await listAuditEvents(getDb(env), instanceId);
    expect(events.map((e) => [e.event, e.fromStatus, e.toStatus])).toEqual([
      ["newInstance", null, "active"],
      ["updateInstanceStatus", "active", "frozen"],
      ["updateInstanceStatus", "frozen", "active"],
      ["releaseInstance", "active", "released"],
    ]);
    expect(verifyAuditChain(events)).toEqual({ ok: true, length: 4 });
    expect(events[1]?.prevHash).toBe(events[0]?.hash);
  });

  it("detects an edited row, a deleted row and a re-hashed forgery", async () => {
    const instanceId = await instanceWithHistory();
    const db = getDb(env);

    await env.DB.prepare("UPDATE audit_events SET to_status = 'active' WHERE instance_id = ? AND seq = 2").bind(instanceId).run();
    expect(verifyAuditChain(await listAuditEvents(db, instanceId))).toEqual({ ok: false, seq: 2, problem: "row content does not match its hash" });

    // Forging the hash of the edited row breaks the link from the next one.
    const events = await listAuditEvents(db, instanceId);
    const edited = events[1];
    if (!edited) throw new Error("missing row");
    const { hash: _old, ...link } = edited;
    await env.DB.prepare("UPDATE audit_events SET hash = ? WHERE instance_id = ? AND seq = 2").bind(hashAuditLink(link), instanceId).run();
    expect(verifyAuditChain(await listAuditEvents(db, instanceId))).toEqual({ ok: false, seq: 3, problem: "prev_hash does not match the previous row" });

    await env.DB.prepare("DELETE FROM audit_events WHERE instance_id = ? AND seq = 3").bind(instanceId).run();
    expect(verifyAuditChain(await listAuditEvents(db, instanceId))).toMatchObject({ ok: false, seq: 4, problem: "expected seq 3" });
  });
});
