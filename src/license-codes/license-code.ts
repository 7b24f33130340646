import { createHash } from "node:crypto";
import { compoundKey } from "../db/compound-key";
import type { EventType } from "../db/schema/events";
import type { LicenseCodeRow } from "../db/schema/license-codes";
import { canonicalJson } from "../protocol/canonical-json";
import { ResultCode } from "../protocol/result-codes";
import type { RefreshLicenseCode, ReleaseLicenseCode, UpdateLicenseCodeStatus } from "../protocol/schemas/license.schema";
import { COMPACT_UTC } from "../protocol/time-formats";

/*
 * The license-code lifecycle (marketplace-open-apis §3.3): every callback is a function of (record, call) that
 * either changes the record and names its event, or is answered without a change. Pure: the actor commits.
 */

export type LicenseCodeCallback = RefreshLicenseCode | UpdateLicenseCodeStatus | ReleaseLicenseCode;

/** §3.3 L5: frozen codes keep the buyer's data for up to 15 days, during which a renewal may still unfreeze them. */
export const FREEZE_DATA_RETENTION_MS = 15 * 24 * 3600_000;

/**
 * A callback for a code the gateway has never seen. The Marketplace issues codes without telling the seller (the
 * first the gateway may hear of one is its activation, or a renewal a year later), and 000003 makes it retry 60
 * times and then list the call as failed: `record` (the default) takes the callback as the first news of the code.
 * `reject` answers 000003 (setting LICENSE_UNKNOWN_CODES).
 */
export const UNKNOWN_CODE_POLICIES = ["record", "reject"] as const;
export type UnknownCodePolicy = (typeof UNKNOWN_CODE_POLICIES)[number];

export interface CallbackContext {
  now: number;
  unknownCodes: UnknownCodePolicy;
  /** refreshLicenseCode: whether this renewal order (orderId + orderLineId) was applied before. */
  orderAlreadyApplied: boolean;
}

export type CallbackPlan =
  | { kind: "answer"; resultCode: ResultCode; resultMsg: string; unchanged?: string }
  | { kind: "change"; next: LicenseCodeRow; event: EventType; inboxKey: string; resultMsg: string };

/** The inbox key under which a renewal order is recorded: a repeat of it is answered without a change. */
export function refreshKey(call: RefreshLicenseCode): string {
  return compoundKey("license:refresh", [call.license, call.orderId, call.orderLineId]);
}

/** SHA-256 over the parsed call, key order ignored: what the inbox stores beside the request. */
export function callFingerprint(call: LicenseCodeCallback): string {
  return createHash("sha256").update(canonicalJson(call)).digest("hex");
}

/** A record for a code first heard of now. */
export function newLicenseCode(code: string, origin: LicenseCodeRow["origin"], isTest: boolean, now: number): LicenseCodeRow {
  return {
    code,
    origin,
    productId: null,
    orderId: null,
    orderLineId: null,
    isTest,
    status: "active",
    expireAt: null,
    lastRefreshScene: null,
    frozenAt: null,
    dataRetainedUntil: null,
    releasedAt: null,
    activatedAt: null,
    marketplaceStatus: null,
    amount: null,
    lastHeartbeatAt: null,
    lastCallError: null,
    lastCallErrorAt: null,
    version: 0,
    createdAt: now,
    updatedAt: now,
  };
}

const ok = (resultMsg: string, unchanged?: string): CallbackPlan => ({ kind: "answer", resultCode: ResultCode.Success, resultMsg, unchanged });

export function planCallback(current: LicenseCodeRow | undefined, call: LicenseCodeCallback, context: CallbackContext): CallbackPlan {
  const { now } = context;
  if (!current && context.unknownCodes === "reject") {
    return { kind: "answer", resultCode: ResultCode.InstanceNotFound, resultMsg: `license code ${call.license} does not exist` };
  }
  const base = current ?? newLicenseCode(call.license, "callback", call.isTest, now);
  const bump = (changes: Partial<LicenseCodeRow>): LicenseCodeRow => ({ ...base, ...changes, version: base.version + 1, updatedAt: now });
  switch (call.activity) {
    case "refreshLicenseCode": {
      if (context.orderAlreadyApplied) return ok("success", "renewal order already applied");
      if (base.status === "released") return ok("license code is released; nothing to renew", "released");
      const expireAt = COMPACT_UTC.check(call.expireTime);
      const next = bump({
        orderId: call.orderId,
        orderLineId: call.orderLineId,
        productId: call.productId ?? base.productId,
        // Checked by the schema already; a failure here is a bug, and then the old expiry is kept.
        expireAt: expireAt.ok ? expireAt.epochMs : base.expireAt,
        lastRefreshScene: call.scene,
      });
      const event = call.scene === "RENEWAL" ? "license.renewed" : "license.renewal_cancelled";
      return { kind: "change", next, event, inboxKey: refreshKey(call), resultMsg: "success" };
    }
    case "updateLicenseCodeStatus": {
      if (base.status === "released") return ok("license code is released", "released");
      const freeze = call.status === "FREEZE";
      // Idempotent by state: a repeat finds the code already where the call wants it. A new code has no state yet.
      if (current && (freeze ? base.status === "frozen" : base.status === "active")) return ok("success", `already ${base.status}`);
      const next = freeze
        ? bump({ status: "frozen", frozenAt: now, dataRetainedUntil: now + FREEZE_DATA_RETENTION_MS })
        : bump({ status: "active", frozenAt: null, dataRetainedUntil: null });
      return {
        kind: "change",
        next,
        event: freeze ? "license.frozen" : "license.unfrozen",
        inboxKey: `license:status:${call.license}:v${next.version}`,
        resultMsg: "success",
      };
    }
    case "releaseLicenseCode": {
      // Release always succeeds (§6: repeated deletes must succeed); a released code stays as it was released.
      if (current?.status === "released") return ok("success", "already released");
      const next = bump({
        status: "released",
        releasedAt: now,
        dataRetainedUntil: null,
        orderId: call.orderId ?? base.orderId,
        orderLineId: call.orderLineId ?? base.orderLineId,
      });
      return { kind: "change", next, event: "license.released", inboxKey: `license:release:${call.license}`, resultMsg: "success" };
    }
    default: {
      const unhandled: never = call;
      throw new Error(`unhandled license callback ${JSON.stringify(unhandled)}`);
    }
  }
}

/** What activate answered (§2.4 L1), as the actor records it. */
export interface ActivationFacts {
  productId: string | null;
  orderId: string | null;
  expireAt: number | null;
  status: string | null;
  amount: number | null;
}

/** What a successful heartbeat answered (§2.4 L2). */
export interface HeartbeatFacts {
  status: string | null;
  activateAt: number | null;
  expireAt: number | null;
}

/** An activation through the edge service; `license.activated` only for the first one. */
export function applyActivation(current: LicenseCodeRow | undefined, code: string, facts: ActivationFacts, now: number): { next: LicenseCodeRow; first: boolean } {
  const base = current ?? newLicenseCode(code, "activation", false, now);
  const first = base.activatedAt === null;
  const next: LicenseCodeRow = {
    ...base,
    productId: facts.productId ?? base.productId,
    orderId: base.orderId ?? facts.orderId,
    // activate's expiry is an estimate (L1); a callback's or a heartbeat's is better, so it only fills a gap.
    expireAt: base.expireAt ?? facts.expireAt,
    marketplaceStatus: facts.status ?? base.marketplaceStatus,
    amount: facts.amount === null ? base.amount : Math.trunc(facts.amount),
    activatedAt: base.activatedAt ?? now,
    lastCallError: null,
    lastCallErrorAt: null,
    version: base.version + 1,
    updatedAt: now,
  };
  return { next, first };
}

export function applyHeartbeat(current: LicenseCodeRow | undefined, code: string, facts: HeartbeatFacts, now: number): LicenseCodeRow {
  const base = current ?? newLicenseCode(code, "heartbeat", false, now);
  return {
    ...base,
    marketplaceStatus: facts.status ?? base.marketplaceStatus,
    expireAt: facts.expireAt ?? base.expireAt,
    activatedAt: base.activatedAt ?? facts.activateAt,
    lastHeartbeatAt: now,
    lastCallError: null,
    lastCallErrorAt: null,
    version: base.version + 1,
    updatedAt: now,
  };
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/** The record as the seller sees it: the `data` of license.* events and GET /api/v1/license-codes/{code}. */
export function licenseCodeView(row: LicenseCodeRow) {
  return {
    code: row.code,
    test: row.isTest,
    status: row.status,
    productId: row.productId,
    orderId: row.orderId,
    orderLineId: row.orderLineId,
    expireAt: iso(row.expireAt),
    lastRefreshScene: row.lastRefreshScene,
    frozenAt: iso(row.frozenAt),
    dataRetainedUntil: iso(row.dataRetainedUntil),
    releasedAt: iso(row.releasedAt),
    activatedAt: iso(row.activatedAt),
    marketplaceStatus: row.marketplaceStatus,
    amount: row.amount,
    lastHeartbeatAt: iso(row.lastHeartbeatAt),
    createdAt: iso(row.createdAt) ?? "",
    updatedAt: iso(row.updatedAt) ?? "",
    version: row.version,
  };
}
export type LicenseCodeView = ReturnType<typeof licenseCodeView>;

export function licenseCodeStream(code: string): string {
  return `license-code:${code}`;
}
