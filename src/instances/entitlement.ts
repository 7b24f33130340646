import type { Instance } from "../db/schema/instances";

/** The seller-facing view of an instance (docs/seller-contract.md "Entitlement"): never a password. */
export interface Entitlement {
  instanceId: string;
  test: boolean;
  status: Instance["status"];
  orderId: string;
  orderLineId: string | null;
  productId: string | null;
  skuCode: string | null;
  chargingMode: string | null;
  periodType: string | null;
  periodNumber: number | null;
  quantity: number | null;
  expireAt: string | null;
  customer: { id: string | null; name: string | null } | null;
  appInfo: { frontEndUrl: string; adminUrl: string | null; userName: string | null } | null;
  frozenReason: Instance["frozenReason"];
  createdAt: string;
  updatedAt: string;
  version: number;
}

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function entitlementOf(row: Instance): Entitlement {
  return {
    instanceId: row.id,
    test: row.isTest,
    status: row.status,
    orderId: row.orderId,
    orderLineId: row.orderLineId,
    productId: row.productId,
    skuCode: row.skuCode,
    chargingMode: row.chargingMode,
    periodType: row.periodType,
    periodNumber: row.periodNumber,
    quantity: row.quantity,
    expireAt: iso(row.expireAt),
    customer: row.customerId === null && row.customerName === null ? null : { id: row.customerId, name: row.customerName },
    appInfo: row.frontendUrl ? { frontEndUrl: row.frontendUrl, adminUrl: row.adminUrl, userName: row.adminUserName } : null,
    frozenReason: row.frozenReason,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    version: row.version,
  };
}
