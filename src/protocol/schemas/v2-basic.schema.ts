import { z } from "zod";
import { COMPACT_UTC } from "../time-formats";
import { GetLicenseAsync } from "./license.schema";
import { InstanceIdList, OptionalFlag, jsonOrValue, optionalString, requiredString, requiredTime, withIsTest } from "./common";

/*
 * V2.0 basic interfaces: POST JSON to the one production URL, scenario in `activity`
 * (saas-production-interface §3). Lengths are the documented maxima. Unknown fields are dropped, not rejected: the
 * Marketplace has sent richer `newInstance` bodies in some variants (§3.1), and a robust server ignores them.
 * `testFlag` becomes `isTest`; times are validated and kept as sent.
 */

/** §3.1. Lengths: orderId, orderLineId, businessId 64. */
export const NewInstance = z
  .object({
    activity: z.literal("newInstance"),
    orderId: requiredString(64),
    orderLineId: requiredString(64),
    businessId: requiredString(64),
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type NewInstance = z.infer<typeof NewInstance>;

/** §3.2. `instanceId` is a comma-separated list (≤100 IDs of ≤64 characters), output as `instanceIds`. */
export const QueryInstance = z
  .object({
    activity: z.literal("queryInstance"),
    instanceId: InstanceIdList,
    testFlag: OptionalFlag,
  })
  .transform(({ instanceId, ...rest }) => ({ ...withIsTest(rest), instanceIds: instanceId }));
export type QueryInstance = z.infer<typeof QueryInstance>;

export const REFRESH_SCENES = ["TRIAL_TO_FORMAL", "RENEWAL", "UNSUBSCRIBE_RENEWAL_PERIOD", "RENEWAL_CHANGE"] as const;
export const RefreshScene = z.enum(REFRESH_SCENES);
export type RefreshScene = z.infer<typeof RefreshScene>;

/** §3.3. `expireTime` is UTC yyyyMMddHHmmss (17 digits accepted), validated and kept as sent. `orderId` is the new order. */
export const RefreshInstance = z
  .object({
    activity: z.literal("refreshInstance"),
    scene: RefreshScene,
    orderId: requiredString(64),
    orderLineId: requiredString(64),
    instanceId: requiredString(64),
    productId: optionalString(64),
    expireTime: requiredTime(COMPACT_UTC),
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type RefreshInstance = z.infer<typeof RefreshInstance>;

export const InstanceStatus = z.enum(["FREEZE", "UNFREEZE"]);
export type InstanceStatus = z.infer<typeof InstanceStatus>;

/** §3.4. */
export const UpdateInstanceStatus = z
  .object({
    activity: z.literal("updateInstanceStatus"),
    instanceId: requiredString(64),
    status: InstanceStatus,
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type UpdateInstanceStatus = z.infer<typeof UpdateInstanceStatus>;

/** §3.5. `orderId`/`orderLineId` only when the release comes from an unsubscription. */
export const ReleaseInstance = z
  .object({
    activity: z.literal("releaseInstance"),
    instanceId: requiredString(64),
    orderId: optionalString(64),
    orderLineId: optionalString(64),
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type ReleaseInstance = z.infer<typeof ReleaseInstance>;

/** §3.6. `orderId` is the new upgrade order. */
export const UpgradeInstance = z
  .object({
    activity: z.literal("upgradeInstance"),
    instanceId: requiredString(64),
    orderId: requiredString(64),
    orderLineId: requiredString(64),
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type UpgradeInstance = z.infer<typeof UpgradeInstance>;

/**
 * §3.7. The inner fields of `productInfo` were never captured (open question 9): it must be an object (or a JSON
 * string of one) and is passed through whole. No length is documented for `instanceId`; ours are ≤64.
 */
export const ChangeInstanceCheck = z
  .object({
    activity: z.literal("changeInstanceCheck"),
    instanceId: requiredString(64),
    productInfo: jsonOrValue(z.looseObject({})),
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type ChangeInstanceCheck = z.infer<typeof ChangeInstanceCheck>;

export const V2BasicRequest = z.discriminatedUnion("activity", [
  NewInstance,
  QueryInstance,
  RefreshInstance,
  UpdateInstanceStatus,
  ReleaseInstance,
  UpgradeInstance,
  ChangeInstanceCheck,
  // Online License products (marketplace-open-apis §3.4) share the SaaS 2.0 activities and may register /saas.
  GetLicenseAsync,
]);
export type V2BasicRequest = z.infer<typeof V2BasicRequest>;
export type V2BasicActivity = V2BasicRequest["activity"];

export const V2_BASIC_ACTIVITIES = [
  "newInstance",
  "queryInstance",
  "refreshInstance",
  "updateInstanceStatus",
  "releaseInstance",
  "upgradeInstance",
  "changeInstanceCheck",
  "getLicenseAsync",
] as const satisfies readonly V2BasicActivity[];

// Fails to compile when an activity is added to the union but not to the list.
true satisfies Exclude<V2BasicActivity, (typeof V2_BASIC_ACTIVITIES)[number]> extends never ? true : never;
