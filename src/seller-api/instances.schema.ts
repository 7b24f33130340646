import { z } from "zod";
import { FROZEN_REASONS, INSTANCE_STATUSES } from "../db/schema/instances";
import type { Entitlement as EntitlementView } from "../instances/entitlement";
import { Cursor, PageLimit, type SameType } from "./common.schema";

const isoTime = z.iso.datetime({ offset: false });

/** docs/seller-contract.md "Entitlement": the `data` of instance events and GET /api/v1/instances/{id}. Never a password. */
export const Entitlement = z
  .object({
    instanceId: z.string(),
    test: z.boolean().describe("a debug purchase of the Marketplace's test tools"),
    status: z.enum(INSTANCE_STATUSES),
    orderId: z.string(),
    orderLineId: z.string().nullable(),
    productId: z.string().nullable(),
    skuCode: z.string().nullable(),
    chargingMode: z.string().nullable().describe("PERIOD, ONE_TIME, ON_DEMAND, …; null until the order is known"),
    periodType: z.string().nullable().describe("year, month, day, hour or null"),
    periodNumber: z.number().int().nullable(),
    quantity: z.number().int().nullable(),
    expireAt: isoTime.nullable(),
    customer: z.object({ id: z.string().nullable(), name: z.string().nullable() }).nullable(),
    appInfo: z.object({ frontEndUrl: z.string(), adminUrl: z.string().nullable(), userName: z.string().nullable() }).nullable(),
    frozenReason: z.enum(FROZEN_REASONS).nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
    version: z.number().int(),
  })
  .meta({ id: "Entitlement" });
const _entitlementMatches: SameType<z.output<typeof Entitlement>, EntitlementView> = true;

/** `test` is a query string, so "true"/"false" rather than a JSON boolean. */
const QueryBoolean = z.enum(["true", "false"]).transform((value) => value === "true");

export const InstanceListQuery = z.strictObject({
  status: z.enum(INSTANCE_STATUSES).optional(),
  productId: z.string().min(1).max(64).optional(),
  test: QueryBoolean.optional().describe("true: debug purchases only; false: real ones only; absent: both"),
  limit: PageLimit,
  cursor: Cursor.optional(),
});
export type InstanceListQuery = z.infer<typeof InstanceListQuery>;

export const InstanceList = z
  .object({
    instances: z.array(Entitlement).describe("newest first"),
    nextCursor: z.string().nullable().describe("pass as ?cursor= for the next page; null on the last page"),
  })
  .meta({ id: "InstanceList" });

export const Credentials = z
  .object({ userName: z.string(), password: z.string().describe("the issued password, in plain text: each read is audited") })
  .meta({ id: "Credentials" });
