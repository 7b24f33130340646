import { openAdminPassword, sealAdminPassword } from "./admin-password";
import type { Instance } from "../db/schema/instances";
import type { Settings } from "../env";
import type { EventDraft } from "../events/outbox";
import type { OrderTruth } from "../marketplace-api/order.api";
import { ResultCode } from "../protocol/result-codes";
import type { AppInfo, CallEnvelope, CreateCommand, Outcome } from "./commands";
import type { InstanceChange } from "./instance-change";
import { instanceEvent } from "./instance-events";
import type { PendingOrderFetch } from "./order-fetch";
import { builtinTenant } from "./provisioning/builtin-tenant";
import { provisioningDeadline } from "./provisioning-window";

/** A new purchase before anything is known beyond the call itself. */
export function newPurchase(instanceId: string, command: CreateCommand, envelope: CallEnvelope): Instance {
  const now = envelope.receivedAt;
  return {
    id: instanceId,
    createKey: command.createKey,
    orderId: command.orderId,
    orderLineId: command.orderLineId,
    productId: command.productId,
    skuCode: command.skuCode,
    chargingMode: command.chargingMode,
    periodType: null,
    periodNumber: null,
    quantity: null,
    customerId: null,
    customerName: null,
    orderKnownAt: null,
    status: "provisioning",
    frozenReason: null,
    isTest: envelope.isTest,
    version: 1,
    expireAt: command.expireAt,
    expireSource: command.expireAt === null ? null : "order",
    frontendUrl: null,
    adminUrl: null,
    adminUserName: null,
    adminPasswordSealed: null,
    provisionedAt: null,
    frozenAt: null,
    releasedAt: null,
    failureReason: null,
    failureCode: null,
    memo: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** A failed purchase the Marketplace asks for again: provisioning starts over (docs/lifecycle-rules.md). */
export function retriedPurchase(failed: Instance, now: number): Instance {
  return { ...failed, status: "provisioning", failureCode: null, failureReason: null, version: failed.version + 1, updatedAt: now };
}

/** What the order tells about the purchase; a refreshInstance is newer than any order snapshot, so its expiry wins. */
export function withOrderTruth(instance: Instance, truth: OrderTruth, now: number): Instance {
  const takeExpiry = truth.expireAt !== null && instance.expireSource !== "refresh";
  return {
    ...instance,
    productId: truth.productId ?? instance.productId,
    skuCode: truth.skuCode ?? instance.skuCode,
    chargingMode: truth.chargingMode ?? instance.chargingMode,
    periodType: truth.periodType ?? instance.periodType,
    periodNumber: truth.periodNumber ?? instance.periodNumber,
    quantity: truth.quantity ?? instance.quantity,
    customerId: truth.customerId ?? instance.customerId,
    customerName: truth.customerName ?? instance.customerName,
    orderKnownAt: instance.orderKnownAt ?? now,
    ...(takeExpiry ? { expireAt: truth.expireAt, expireSource: "order" as const } : {}),
  };
}

/**
 * Provisioning once the order is known (debug purchases: at once). Builtin, and every debug purchase in any mode:
 * the gateway issues the login itself. Webhook: instance.created is the provisioning request; its answer finishes it.
 */
export async function provision(instance: Instance, settings: Settings, now: number): Promise<{ next: Instance; events: EventDraft[] }> {
  if (settings.provisioning.mode === "webhook" && !instance.isTest) {
    return { next: instance, events: [instanceEvent("instance.created", instance, now, {}, provisioningDeadline(instance))] };
  }
  const tenant = builtinTenant(settings.frontendUrlTemplate, instance.id);
  const next: Instance = {
    ...instance,
    status: instance.status === "provisioning" ? "active" : instance.status,
    frontendUrl: tenant.frontendUrl,
    adminUrl: tenant.adminUrl ?? null,
    adminUserName: tenant.adminUserName,
    adminPasswordSealed: await sealAdminPassword(settings.dataKey, instance.id, tenant.adminPassword),
    provisionedAt: now,
  };
  return { next, events: [instanceEvent("instance.created", instance, now), instanceEvent("instance.provisioned", next, now)] };
}

/**
 * The order of a purchase or an upgrade has arrived. An upgrade takes on the new product/SKU and tells the seller
 * (instance.upgraded with what it was); a purchase that waited for its order is provisioned now.
 */
export async function orderArrived(instance: Instance, item: PendingOrderFetch, truth: OrderTruth, settings: Settings, now: number): Promise<InstanceChange> {
  let next: Instance = { ...withOrderTruth(instance, truth, now), version: instance.version + 1, updatedAt: now };
  const events: EventDraft[] = [];
  if (item.purpose === "upgrade") {
    events.push(instanceEvent("instance.upgraded", next, now, { previous: { productId: instance.productId, skuCode: instance.skuCode } }));
  } else if (instance.orderKnownAt === null && instance.provisionedAt === null && (instance.status === "provisioning" || instance.status === "frozen")) {
    const provisioned = await provision(next, settings, now);
    next = provisioned.next;
    events.push(...provisioned.events);
  }
  return {
    next,
    events,
    auditEvent: "orderFetched",
    auditDetail: { orderId: item.orderId, purpose: item.purpose, orderType: truth.orderType, chargingMode: truth.chargingMode, expireAt: next.expireAt },
  };
}

/**
 * A create's answer follows the purchase's state, so every repeat tells the Marketplace where the purchase is.
 * `withAppInfo` false: the caller's answer does not carry the buyer's way in (V2), so the password is not opened.
 */
export async function purchaseOutcome(instance: Instance, dataKey: string, withAppInfo = true): Promise<Outcome> {
  const instanceId = instance.id;
  if (instance.status === "failed") {
    return { resultCode: instance.failureCode ?? ResultCode.InternalError, resultMsg: (instance.failureReason ?? "provisioning failed").slice(0, 255), instanceId };
  }
  if (instance.status === "released") {
    // The dial tests replay a product's saved debug cases in any order, its release included, and the V1 debugger
    // refuses a create answer without frontEndUrl (spec §8): a released debug instance still shows its way in.
    const appInfo = instance.isTest && withAppInfo ? await appInfoOf(instance, dataKey) : undefined;
    return { resultCode: ResultCode.Success, resultMsg: "success", instanceId, ...(appInfo ? { appInfo } : {}) };
  }
  if (!withAppInfo) {
    return isUsable(instance) ? { resultCode: ResultCode.Success, resultMsg: "success", instanceId } : { resultCode: ResultCode.Processing, resultMsg: "provisioning", instanceId };
  }
  const appInfo = await appInfoOf(instance, dataKey);
  if (!appInfo) return { resultCode: ResultCode.Processing, resultMsg: "provisioning", instanceId };
  return { resultCode: ResultCode.Success, resultMsg: "success", instanceId, appInfo };
}

function isUsable(instance: Instance): instance is Instance & { frontendUrl: string } {
  return instance.provisionedAt !== null && !!instance.frontendUrl;
}

/** The buyer's way in, in plain text; undefined until provisioning finished. */
export async function appInfoOf(instance: Instance, dataKey: string): Promise<AppInfo | undefined> {
  if (!isUsable(instance)) return undefined;
  const appInfo: AppInfo = { frontEndUrl: instance.frontendUrl };
  if (instance.adminUrl) appInfo.adminUrl = instance.adminUrl;
  if (instance.adminUserName) appInfo.userName = instance.adminUserName;
  if (instance.adminPasswordSealed) appInfo.password = await openAdminPassword(dataKey, instance, instance.adminPasswordSealed);
  if (instance.memo) appInfo.memo = instance.memo;
  return appInfo;
}
