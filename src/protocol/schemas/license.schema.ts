import { z } from "zod";
import { COMPACT_UTC, ONLINE_LICENSE_TIME } from "../time-formats";
import { OptionalFlag, optionalString, requiredString, requiredTime, withIsTest } from "./common";

/*
 * License callbacks: POST JSON with the V2 query-string signature, scenario in `activity` (marketplace-open-apis
 * §3.3 license-code products, §3.4 online License). The §3.3 table gives no lengths: order IDs and the license code
 * take the Marketplace's usual 64 (the license-activate API types `license` as String(64), §2.4). Unknown fields are
 * dropped. `testFlag` becomes `isTest`; times are validated and kept as sent.
 */

export const LICENSE_REFRESH_SCENES = ["RENEWAL", "UNSUBSCRIBE_RENEWAL_PERIOD"] as const;
export const LicenseRefreshScene = z.enum(LICENSE_REFRESH_SCENES);
export type LicenseRefreshScene = z.infer<typeof LicenseRefreshScene>;

/**
 * Renew or un-renew a license code. `orderId` is the new order. `expireTime` is documented as yyyyMMddHHmmss; like
 * V2 `refreshInstance` (whose example has milliseconds) 17 digits are accepted too.
 */
export const RefreshLicenseCode = z
  .object({
    activity: z.literal("refreshLicenseCode"),
    scene: LicenseRefreshScene,
    orderId: requiredString(64),
    orderLineId: requiredString(64),
    license: requiredString(64),
    productId: optionalString(64),
    expireTime: requiredTime(COMPACT_UTC),
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type RefreshLicenseCode = z.infer<typeof RefreshLicenseCode>;

export const LicenseCodeStatus = z.enum(["FREEZE", "UNFREEZE"]);
export type LicenseCodeStatus = z.infer<typeof LicenseCodeStatus>;

export const UpdateLicenseCodeStatus = z
  .object({
    activity: z.literal("updateLicenseCodeStatus"),
    license: requiredString(64),
    status: LicenseCodeStatus,
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type UpdateLicenseCodeStatus = z.infer<typeof UpdateLicenseCodeStatus>;

/** `orderId`/`orderLineId` only when the release comes from an unsubscription. */
export const ReleaseLicenseCode = z
  .object({
    activity: z.literal("releaseLicenseCode"),
    license: requiredString(64),
    orderId: optionalString(64),
    orderLineId: optionalString(64),
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type ReleaseLicenseCode = z.infer<typeof ReleaseLicenseCode>;

/**
 * Online License (§3.4). `effectiveTime`/`expireTime` String(32), UTC like "2023-10-27 10:30:15 z"; `expireTime` is
 * required for period products, which only the handler can tell. `eventId` + `deviceFingerprint` identify a retry.
 */
export const GetLicenseAsync = z
  .object({
    activity: z.literal("getLicenseAsync"),
    instanceId: requiredString(64),
    effectiveTime: z.string().max(32).pipe(requiredTime(ONLINE_LICENSE_TIME)),
    expireTime: z.preprocess(
      (value) => (value === null || value === "" ? undefined : value),
      z.string().max(32).pipe(requiredTime(ONLINE_LICENSE_TIME)).optional(),
    ),
    eventId: requiredString(64),
    deviceFingerprint: optionalString(1024),
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type GetLicenseAsync = z.infer<typeof GetLicenseAsync>;

export const LicenseRequest = z.discriminatedUnion("activity", [
  RefreshLicenseCode,
  UpdateLicenseCodeStatus,
  ReleaseLicenseCode,
  GetLicenseAsync,
]);
export type LicenseRequest = z.infer<typeof LicenseRequest>;
export type LicenseActivity = LicenseRequest["activity"];

export const LICENSE_ACTIVITIES = [
  "refreshLicenseCode",
  "updateLicenseCodeStatus",
  "releaseLicenseCode",
  "getLicenseAsync",
] as const satisfies readonly LicenseActivity[];

// Fails to compile when an activity is added to the union but not to the list.
true satisfies Exclude<LicenseActivity, (typeof LICENSE_ACTIVITIES)[number]> extends never ? true : never;
