import { commit } from "../actor/commit";
import { closeWindowIfDue } from "../actor/duties/provisioning-window.duty";
import { type InstanceScope, KV, auditHead, load } from "../actor/instance-scope";
import { ResultCode } from "../protocol/result-codes";
import { openAdminPassword } from "./admin-password";
import { auditKeyOf } from "./audit-chain";
import { type CallEnvelope, createCommandOf } from "./commands";
import { entitlementOf } from "./entitlement";
import { nextAuditRow, statements } from "./instance.repo";
import { windowClosed } from "./provisioning-window";
import { purchase } from "./purchase-call";
import type { AdminRetryResult, CredentialsResult, ProvisionedBody, ProvisioningFailedBody, SellerWriteResult } from "./seller-commands";
import { notAwaitingSeller, provisionedBySeller, purchaseFailed, sameProvisioning } from "./seller-provisioning";

/** The seller's backend and the operator write to an instance through these, each inside the instance actor's queue. */

/** POST /api/v1/instances/{id}/provisioned: finishes a webhook provisioning answered 202. */
export async function provisionedCall(s: InstanceScope, instanceId: string, body: ProvisionedBody, now: number): Promise<SellerWriteResult> {
  const loaded = await load(s, instanceId);
  if (!loaded) return { status: 404, error: `instance ${instanceId} does not exist` };
  const instance = await closeWindowIfDue(s, loaded, now);
  if (instance.provisionedAt !== null) {
    return (await sameProvisioning(instance, body, s.settings.dataKey))
      ? { status: 200, entitlement: entitlementOf(instance) }
      : { status: 409, error: "instance is already provisioned with other details" };
  }
  const refusal = notAwaitingSeller(instance, s.settings);
  if (refusal) return { status: 409, error: refusal };
  const change = await provisionedBySeller(instance, body, s.settings.dataKey, now, "provisionedBySellerApi");
  await commit(s, instance, change, now);
  await s.armAlarm();
  return { status: 200, entitlement: entitlementOf(change.next) };
}

/** POST /api/v1/instances/{id}/provisioning-failed: the Marketplace gets the seller's code. */
export async function provisioningFailedCall(s: InstanceScope, instanceId: string, body: ProvisioningFailedBody, now: number): Promise<SellerWriteResult> {
  const loaded = await load(s, instanceId);
  if (!loaded) return { status: 404, error: `instance ${instanceId} does not exist` };
  const instance = await closeWindowIfDue(s, loaded, now);
  if (instance.status === "failed") {
    return instance.failureCode === body.resultCode
      ? { status: 200, entitlement: entitlementOf(instance) }
      : { status: 409, error: `instance already failed with ${instance.failureCode ?? ResultCode.InternalError}` };
  }
  if (instance.provisionedAt !== null) return { status: 409, error: "instance is already provisioned" };
  const refusal = notAwaitingSeller(instance, s.settings);
  if (refusal) return { status: 409, error: refusal };
  const change = purchaseFailed(instance, body.resultCode, body.message, now);
  await commit(s, instance, change, now);
  await s.armAlarm();
  return { status: 200, entitlement: entitlementOf(change.next) };
}

/** GET /api/v1/instances/{id}/credentials: the builtin login; each read leaves an audit row. */
export async function credentialsCall(s: InstanceScope, instanceId: string, now: number): Promise<CredentialsResult> {
  const instance = await load(s, instanceId);
  if (!instance) return { status: 404, error: `instance ${instanceId} does not exist` };
  if (!instance.adminPasswordSealed || !instance.adminUserName) {
    return { status: 409, error: instance.provisionedAt === null ? "instance is not provisioned yet" : "the login was not issued by the gateway" };
  }
  if (instance.status === "released") return { status: 409, error: "instance has been released" };
  const password = await openAdminPassword(s.settings.dataKey, instance, instance.adminPasswordSealed);
  const audit = nextAuditRow(auditKeyOf(s.settings.dataKey), auditHead(s), {
    instanceId,
    at: now,
    event: "credentialsRead",
    fromStatus: instance.status,
    toStatus: instance.status,
    detail: { by: "seller-api" },
  });
  await s.db.batch([statements.insertAudit(s.db, audit)]);
  s.kv.put(KV.auditHead, { seq: audit.seq, hash: audit.hash });
  return { status: 200, userName: instance.adminUserName, password };
}

/**
 * POST /admin/api/instances/{id}/retry-provisioning: a failed purchase starts over exactly as a Marketplace retry of
 * its newInstance would (order first, then provisioning, the same events), audited as the operator's.
 */
export async function retryProvisioningCall(s: InstanceScope, instanceId: string, now: number): Promise<AdminRetryResult> {
  const instance = await load(s, instanceId);
  if (!instance) return { status: 404, error: `instance ${instanceId} does not exist` };
  if (instance.status !== "failed") return { status: 409, error: `instance is ${instance.status}, not failed` };
  if (!instance.isTest && windowClosed(instance, now)) {
    return { status: 409, error: "the Marketplace's 3-hour window for this purchase has closed: it failed the purchase and refunded it" };
  }
  const envelope: CallEnvelope = {
    dialect: "v2",
    activity: "retryProvisioning",
    idempotencyKey: null,
    fingerprint: "",
    requestText: "",
    isTest: instance.isTest,
    receivedAt: now,
    by: "admin",
  };
  // No inbox row: the Marketplace did not call; the audit row and the events record the retry.
  await purchase(s, instanceId, instance, envelope, createCommandOf(instance), instance.createKey, false);
  const next = await load(s, instanceId);
  return next ? { status: 200, instance: next } : { status: 404, error: `instance ${instanceId} does not exist` };
}
