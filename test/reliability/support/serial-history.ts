import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { getDb } from "../../../src/db/client";
import type { FrozenReason, InstanceStatus } from "../../../src/db/schema/instances";
import { auditKeyOf, verifyAuditChain } from "../../../src/instances/audit-chain";
import { listAuditEvents } from "../../../src/instances/instance.repo";
import { type LifecycleEvent, transition } from "../../../src/instances/state-machine";
import type { MarketplaceAnswer } from "../../support/marketplace";

/*
 * "Consistent with one serial order", checked for one instance after concurrent or failing calls: the applied calls
 * (its inbox rows, in commit order) replayed through the state machine give its audit rows, its events and its final
 * state; every answer that changed nothing is what the state machine answers at some point of that history (or a
 * repeat of a recorded call); and the audit chain verifies.
 */

export type Kind = "create" | "renew" | "freeze" | "unfreeze" | "expire" | "release";

export interface StormCall {
  orderId: string;
  dialect: "v1" | "v2";
  kind: Kind;
  /** Renewals carry their own order: a repeat of one is answered from its record. */
  renewalOrderId?: string;
  send(): Promise<MarketplaceAnswer>;
}

/** The state-machine event of a lifecycle call (as src/dialects/v1.ts and v2.ts map them). */
function eventOf(kind: Exclude<Kind, "create">): LifecycleEvent {
  switch (kind) {
    case "renew":
      return { kind: "renew", extendsIntoFuture: true };
    case "freeze":
      return { kind: "freeze", reason: "marketplace" };
    case "expire":
      return { kind: "freeze", reason: "expired-v1" };
    case "unfreeze":
      return { kind: "unfreeze" };
    case "release":
      return { kind: "release" };
  }
}

/** The lifecycle call an inbox row records. */
function kindOfRequest(request: Record<string, unknown>): Kind {
  switch (request.activity) {
    case "newInstance":
      return "create";
    case "refreshInstance":
      return "renew";
    case "expireInstance":
      return "expire";
    case "releaseInstance":
      return "release";
    case "updateInstanceStatus":
      return request.status === "FREEZE" ? "freeze" : "unfreeze";
    case "instanceStatus":
      return request.instanceStatus === "FREEZE" ? "freeze" : "unfreeze";
    default:
      throw new Error(`unexpected activity in the inbox: ${String(request.activity)}`);
  }
}

interface ReplayState {
  status: InstanceStatus;
  frozenReason: FrozenReason | null;
  provisioned: boolean;
}

const LIFECYCLE_AUDIT = new Set(["refreshInstance", "updateInstanceStatus", "releaseInstance", "expireInstance", "instanceStatus"]);

export async function checkInstance(instanceId: string, calls: Array<StormCall & { answer: MarketplaceAnswer }>): Promise<void> {
  const row = await env.DB.prepare("SELECT status, frozen_reason, version FROM instances WHERE id = ?")
    .bind(instanceId)
    .first<{ status: InstanceStatus; frozen_reason: FrozenReason | null; version: number }>();
  expect(row, `instance ${instanceId}`).not.toBeNull();
  if (!row) return;

  // The audit chain: gapless, every MAC valid, one row per version.
  const audit = await listAuditEvents(getDb(env), instanceId);
  expect(verifyAuditChain(auditKeyOf(env.DATA_KEY), audit)).toEqual({ ok: true, length: audit.length });
  expect(row.version).toBe(audit.length);
  expect(audit[0]?.event).toBe("newInstance");

  // Replay the applied calls, in commit order, through the state machine.
  const inbox = await env.DB.prepare("SELECT id, activity, request, result_code AS resultCode, idempotency_key AS idempotencyKey FROM inbox WHERE instance_id = ? ORDER BY id")
    .bind(instanceId)
    .all<{ id: number; activity: string; request: string; resultCode: string; idempotencyKey: string }>();
  const applied = inbox.results.filter((entry) => entry.activity !== "newInstance");
  expect(audit.filter((c) => LIFECYCLE_AUDIT.has(c.event)).map((c) => c.event)).toEqual(applied.map((a) => a.activity));
  const history: ReplayState[] = [];
  const expectedEvents: string[] = [];
  let next = 0;
  for (const row of audit) {
    const state = history.at(-1);
    if (row.event === "newInstance") {
      expect(state).toBeUndefined();
      const provisioned = row.toStatus === "active";
      history.push({ status: row.toStatus as InstanceStatus, frozenReason: null, provisioned });
      if (provisioned) expectedEvents.push("instance.created", "instance.provisioned");
      continue;
    }
    if (!state) throw new Error(`audit row ${row.seq} (${row.event}) before the create`);
    if (row.event === "orderFetched") {
      // The purchase waited for its order (query order slower than the create's budget): provisioned now, unless it
      // was released meanwhile (src/instances/purchase.ts orderArrived).
      expect(state.provisioned, `orderFetched on a provisioned instance (seq ${row.seq})`).toBe(false);
      const provisions = state.status === "provisioning" || state.status === "frozen";
      const to: InstanceStatus = state.status === "provisioning" ? "active" : state.status;
      expect([row.fromStatus, row.toStatus]).toEqual([state.status, to]);
      history.push({ ...state, status: to, provisioned: provisions });
      if (provisions) expectedEvents.push("instance.created", "instance.provisioned");
      continue;
    }
    expect(LIFECYCLE_AUDIT.has(row.event), `unexpected audit row ${row.event}`).toBe(true);
    const entry = applied[next];
    next += 1;
    if (!entry) throw new Error(`audit row ${row.seq} has no inbox entry`);
    const kind = kindOfRequest(JSON.parse(entry.request) as Record<string, unknown>);
    if (kind === "create") throw new Error("unreachable");
    const verdict = transition(state, eventOf(kind));
    expect(verdict.type, `inbox ${entry.id} (${kind}) from ${state.status}`).toBe("apply");
    if (verdict.type !== "apply") return;
    expect(entry.resultCode).toBe("000000");
    expect([row.fromStatus, row.toStatus]).toEqual([state.status, verdict.to]);
    if (kind === "renew") expectedEvents.push("instance.renewed");
    if (kind === "renew" && state.status === "frozen" && verdict.to !== "frozen") expectedEvents.push("instance.unfrozen");
    if (kind === "freeze" || kind === "expire") expectedEvents.push("instance.frozen");
    if (kind === "unfreeze") expectedEvents.push("instance.unfrozen");
    if (kind === "release") expectedEvents.push("instance.released");
    history.push({ ...state, status: verdict.to, frozenReason: verdict.frozenReason });
  }
  const final = history.at(-1) as ReplayState;
  // Once every order fetch is done, only a purchase released while it waited is left unprovisioned.
  if (final.status !== "released") expect(final.provisioned, "never provisioned").toBe(true);
  expect({ status: row.status, frozenReason: row.frozen_reason }).toEqual({ status: final.status, frozenReason: final.frozenReason });

  // Events: in seq order, no duplicates, exactly those of the replayed history.
  const events = await env.DB.prepare("SELECT seq, id, type FROM events WHERE instance_id = ? ORDER BY seq").bind(instanceId).all<{ seq: number; id: string; type: string }>();
  expect(new Set(events.results.map((e) => e.id)).size).toBe(events.results.length);
  expect(new Set(events.results.map((e) => e.seq)).size).toBe(events.results.length);
  expect(events.results.map((e) => e.type)).toEqual(expectedEvents);

  // Answers. Creates: all succeed (or are still processing); the V2 ones byte for byte alike.
  const creates = calls.filter((c) => c.kind === "create");
  for (const create of creates) expect(["000000", "000004"], create.answer.text).toContain(create.answer.json.resultCode);
  // (All may be 000004 when query order outran the create's budget; the Marketplace's retry is checked by the caller.)
  expect(new Set(creates.filter((c) => c.dialect === "v2" && c.answer.json.resultCode === "000000").map((c) => c.answer.text)).size).toBeLessThanOrEqual(1);
  // Every answer carries a valid Body-Sign.
  for (const call of calls) expect(call.answer.bodySignValid, call.answer.text).toBe(true);
  // Every recorded change was answered success; every other answer is what the state
  // machine answers at some point of the history (before the create: the instance does not exist).
  const appliedRenewals = new Set(applied.filter((a) => a.activity === "refreshInstance").map((a) => String((JSON.parse(a.request) as { orderId?: unknown }).orderId)));
  let successes = 0;
  for (const call of calls) {
    if (call.kind === "create") continue;
    const code = call.answer.json.resultCode;
    if (code === "000000") successes += 1;
    if (call.renewalOrderId && appliedRenewals.has(call.renewalOrderId) && code === "000000") continue;
    // 000005: the actor could not take the call on within its budget (src/dialects/answer-budget.ts) and dropped it
    // unapplied; a change is never answered 000004.
    const possible = new Set(["000003", "000005"]);
    for (const state of history) {
      const verdict = transition(state, eventOf(call.kind));
      possible.add(verdict.type === "reject" ? verdict.code : "000000");
    }
    expect([...possible], `${call.dialect} ${call.kind}: ${call.answer.text}`).toContain(code);
  }
  expect(successes).toBeGreaterThanOrEqual(applied.length);
}

