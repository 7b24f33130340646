import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { getDb } from "../../src/db/client";
import { createHash } from "node:crypto";
import { type AuditLink, GENESIS_HASH, auditKeyOf, hashAuditLink, verifyAuditChain } from "../../src/instances/audit-chain";
import { canonicalJson } from "../../src/protocol/canonical-json";
import { listAuditEvents } from "../../src/instances/instance.repo";
import { callV2, createInstance } from "../support/marketplace";

const KEY = auditKeyOf(env.DATA_KEY);

/** Rewrites every row from `fromSeq` on so that each links to the one before, hashed with `hash`: a forger's tool. */
async function rehashChain(instanceId: string, fromSeq: number, hash: (link: AuditLink) => string) {
  const rows = await listAuditEvents(getDb(env), instanceId);
  let prevHash = rows[fromSeq - 2]?.hash ?? GENESIS_HASH;
  for (const row of rows.filter((r) => r.seq >= fromSeq)) {
    const { hash: _old, ...rest } = row;
    const link = { ...rest, prevHash };
    prevHash = hash(link);
    await env.DB.prepare("UPDATE audit_events SET prev_hash = ?, hash = ? WHERE instance_id = ? AND seq = ?").bind(link.prevHash, prevHash, instanceId, row.seq).run();
  }
}

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
    expect(verifyAuditChain(KEY, events)).toEqual({ ok: true, length: 4 });
    expect(events[1]?.prevHash).toBe(events[0]?.hash);
  });

  it("detects an edited row, a deleted row and a re-hashed forgery", async () => {
    const instanceId = await instanceWithHistory();
    const db = getDb(env);

    await env.DB.prepare("UPDATE audit_events SET to_status = 'active' WHERE instance_id = ? AND seq = 2").bind(instanceId).run();
    expect(verifyAuditChain(KEY, await listAuditEvents(db, instanceId))).toEqual({ ok: false, seq: 2, problem: "row content does not match its MAC" });

    // Forging the hash of the edited row breaks the link from the next one.
    const events = await listAuditEvents(db, instanceId);
    const edited = events[1];
    if (!edited) throw new Error("missing row");
    const { hash: _old, ...link } = edited;
    await env.DB.prepare("UPDATE audit_events SET hash = ? WHERE instance_id = ? AND seq = 2").bind(hashAuditLink(KEY, link), instanceId).run();
    expect(verifyAuditChain(KEY, await listAuditEvents(db, instanceId))).toEqual({ ok: false, seq: 3, problem: "prev_hash does not match the previous row" });

    await env.DB.prepare("DELETE FROM audit_events WHERE instance_id = ? AND seq = 3").bind(instanceId).run();
    expect(verifyAuditChain(KEY, await listAuditEvents(db, instanceId))).toMatchObject({ ok: false, seq: 4, problem: "expected seq 3" });
  });

  it("is keyed: an edit re-hashed through the whole chain without the key is detected", async () => {
    const instanceId = await instanceWithHistory();
    const db = getDb(env);
    await env.DB.prepare("UPDATE audit_events SET to_status = 'active' WHERE instance_id = ? AND seq = 2").bind(instanceId).run();
    // What a forger without DATA_KEY can compute: the unkeyed hash of the same canonical row, and a MAC under a guess.
    await rehashChain(instanceId, 2, (link) => createHash("sha256").update(canonicalJson(link)).digest("hex"));
    expect(verifyAuditChain(KEY, await listAuditEvents(db, instanceId))).toEqual({ ok: false, seq: 2, problem: "row content does not match its MAC" });
    await rehashChain(instanceId, 2, (link) => hashAuditLink(auditKeyOf(btoa("x".repeat(32))), link));
    expect(verifyAuditChain(KEY, await listAuditEvents(db, instanceId))).toEqual({ ok: false, seq: 2, problem: "row content does not match its MAC" });
    // With the key the same rewrite verifies: what protects the chain is the key, not the format.
    await rehashChain(instanceId, 2, (link) => hashAuditLink(KEY, link));
    expect(verifyAuditChain(KEY, await listAuditEvents(db, instanceId))).toEqual({ ok: true, length: 4 });
  });
});
