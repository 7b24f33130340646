import { z } from "zod";
import { COMPACT_UTC, V1_TIMESTAMP } from "../time-formats";
import {
  InstanceIdList,
  OptionalFlag,
  optionalAmount,
  optionalDigits,
  optionalString,
  optionalTime,
  requiredString,
  requiredTime,
  withIsTest,
} from "./common";

/*
 * V1.0 basic interface: GET, every field a URL query parameter, so every value arrives as a string
 * (saas-production-interface §5). Integer fields are coerced to numbers, times are validated and kept as sent, yes/no flags
 * to booleans (`testFlag` → `isTest`, `trialFlag` → `isTrial`, `trialToFormal` → `isTrialToFormal`). Empty optional
 * parameters read as absent. `authToken` is not part of the parsed request: it is checked over the raw parameters
 * before parsing (§5.1). In the §5.4 table a parameter not marked "O" is mandatory.
 */

const v1Common = {
  /** UTC yyyyMMddHHmmssSSS, String(20). */
  timeStamp: requiredTime(V1_TIMESTAMP),
  /** String/Integer(2): "1" debug, "0" or absent real. */
  testFlag: OptionalFlag,
};

/** §5.3. Lengths as documented; `mobilePhone`/`email` stay AES ciphertext (§5.2), decrypted by the handler. */
export const V1NewInstance = z
  .object({
    activity: z.literal("newInstance"),
    ...v1Common,
    customerId: requiredString(100),
    // Mandatory on the CN page, optional on the intl page: optional here.
    customerName: optionalString(64),
    userId: optionalString(64),
    userName: optionalString(64),
    mobilePhone: optionalString(),
    email: optionalString(),
    businessId: requiredString(64),
    orderId: requiredString(64),
    skuCode: requiredString(64),
    productId: requiredString(64),
    trialFlag: OptionalFlag,
    expireTime: optionalTime(COMPACT_UTC),
    // 0 pay-per-use, 1 yearly/monthly, 3 one-time, 5 pay-per-use package. Kept open: a new mode must not fail a purchase.
    chargingMode: optionalDigits(2),
    periodType: optionalString(10),
    periodNumber: optionalDigits(2),
    // "Integer, 4–7": which field has which length was not captured, so all three allow 7 digits.
    amount: optionalDigits(7),
    diskSize: optionalDigits(7),
    bandWidth: optionalDigits(7),
    saasExtendParams: optionalString(2048),
    orderAmount: optionalAmount(20, false),
    provisionType: optionalString(),
  })
  .transform(({ trialFlag, ...rest }) => ({ ...withIsTest(rest), isTrial: trialFlag }));
export type V1NewInstance = z.infer<typeof V1NewInstance>;

/** §5.4 renew / trial→paid. `orderAmount` is negative for a renewal refund. */
export const V1RefreshInstance = z
  .object({
    activity: z.literal("refreshInstance"),
    ...v1Common,
    orderId: requiredString(64),
    instanceId: requiredString(64),
    productId: optionalString(64),
    expireTime: requiredTime(COMPACT_UTC),
    trialToFormal: OptionalFlag,
    periodType: optionalString(10),
    periodNumber: optionalDigits(2),
    orderAmount: optionalAmount(20, true),
  })
  .transform(({ trialToFormal, ...rest }) => ({ ...withIsTest(rest), isTrialToFormal: trialToFormal }));
export type V1RefreshInstance = z.infer<typeof V1RefreshInstance>;

/** §5.4 expire (freeze). `orderId` is the original order. */
export const V1ExpireInstance = z
  .object({
    activity: z.literal("expireInstance"),
    ...v1Common,
    instanceId: requiredString(64),
    orderId: requiredString(64),
  })
  .transform(withIsTest);
export type V1ExpireInstance = z.infer<typeof V1ExpireInstance>;

/** §5.4 release. `orderId` is the original purchase order. */
export const V1ReleaseInstance = z
  .object({
    activity: z.literal("releaseInstance"),
    ...v1Common,
    instanceId: requiredString(64),
    orderId: requiredString(64),
    orderAmount: optionalAmount(20, true),
  })
  .transform(withIsTest);
export type V1ReleaseInstance = z.infer<typeof V1ReleaseInstance>;

/** §5.4 upgrade (V2 calls it `upgradeInstance`). `orderId` is the new order. */
export const V1Upgrade = z
  .object({
    activity: z.literal("upgrade"),
    ...v1Common,
    instanceId: requiredString(64),
    orderId: requiredString(64),
    skuCode: requiredString(64),
    productId: requiredString(64),
    amount: optionalDigits(7),
    diskSize: optionalDigits(7),
    bandWidth: optionalDigits(7),
    saasExtendParams: optionalString(2048),
  })
  .transform(withIsTest);
export type V1Upgrade = z.infer<typeof V1Upgrade>;

export const V1InstanceStatusValue = z.enum(["FREEZE", "NORMAL"]);
export type V1InstanceStatusValue = z.infer<typeof V1InstanceStatusValue>;

/** §5.4 status change (pay-per-use). */
export const V1InstanceStatus = z
  .object({
    activity: z.literal("instanceStatus"),
    ...v1Common,
    instanceId: requiredString(64),
    instanceStatus: V1InstanceStatusValue,
  })
  .transform(withIsTest);
export type V1InstanceStatus = z.infer<typeof V1InstanceStatus>;

/** §5.4 query: `instanceId` comma-separated (sent as %2C), ≤100 IDs, output as `instanceIds`. */
export const V1QueryInstance = z
  .object({
    activity: z.literal("queryInstance"),
    ...v1Common,
    instanceId: InstanceIdList,
  })
  .transform(({ instanceId, ...rest }) => ({ ...withIsTest(rest), instanceIds: instanceId }));
export type V1QueryInstance = z.infer<typeof V1QueryInstance>;

export const V1BasicRequest = z.discriminatedUnion("activity", [
  V1NewInstance,
  V1RefreshInstance,
  V1ExpireInstance,
  V1ReleaseInstance,
  V1Upgrade,
  V1InstanceStatus,
  V1QueryInstance,
]);
export type V1BasicRequest = z.infer<typeof V1BasicRequest>;
export type V1BasicActivity = V1BasicRequest["activity"];

export const V1_BASIC_ACTIVITIES = [
  "newInstance",
  "refreshInstance",
  "expireInstance",
  "releaseInstance",
  "upgrade",
  "instanceStatus",
  "queryInstance",
] as const satisfies readonly V1BasicActivity[];

// Fails to compile when an activity is added to the union but not to the list.
true satisfies Exclude<V1BasicActivity, (typeof V1_BASIC_ACTIVITIES)[number]> extends never ? true : never;
