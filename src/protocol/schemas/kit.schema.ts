import { z } from "zod";
import { ENTRY_DATE, KIT_TIMESTAMP } from "../time-formats";
import { integerOf, jsonOrValue, optionalString, optionalTime, requiredString, requiredTime, withIsTest } from "./common";

/*
 * Joint-operation kit syncs: POST JSON to <production URL>/produceAPI/v2/<name> (V2) or /produceAPI/<name> (V1)
 * (saas-production-interface §6). `flag` and `testFlag` are Integer on the V2 pages; digit strings are accepted as
 * well. `testFlag` becomes `isTest`, `timeStamp`/`currentSyncTime` (UTC+8) and `entryDate` are validated and kept as sent.
 *
 * The V1 schemas accept the V1 wire shape (lists as JSON strings, `orgInfo` with `name`) and output the V2 shape, so a
 * handler sees one type per sync; only the allowed `flag` values are narrower in V1 (modify and revoke are V2 only).
 */

export const MAX_AUTH_SYNC_USERS = 500;

/**
 * `instanceId` is M in every table, but is sent empty when the seller applies for an app credential or uses a test
 * account (§6 common rules). Absent, null and "" all become "".
 */
const KitInstanceId = z.preprocess((value) => value ?? "", z.string().max(64));

const kitCommon = {
  instanceId: KitInstanceId,
  /** Integer, M: 0 real data, 1 debug data. */
  testFlag: integerOf([0, 1] as const).transform((n) => n === 1),
  /** UTC+8 yyyyMMddHHmmssSSS. */
  timeStamp: requiredTime(KIT_TIMESTAMP),
};

/** 0 delete, 1 add, 2 modify (V2 only), 3 revoke authorization (authSync, V2 only). */
const FLAGS_V1 = [0, 1] as const;
const FLAGS_V2 = [0, 1, 2] as const;

// ---- 6.1 tenantSync -------------------------------------------------------------------------------------------------

function tenantSync<const F extends readonly number[]>(flags: F) {
  return z
    .object({
      ...kitCommon,
      orderId: requiredString(64),
      tenantId: requiredString(64),
      tenantCode: requiredString(64),
      name: requiredString(255),
      /** The tenant's auth-centre domain with its https:// prefix; the SSO base URL (§6.6). Not checked as a URL here. */
      domainName: requiredString(255),
      flag: integerOf(flags),
    })
    .transform(withIsTest);
}

export const TenantSync = tenantSync(FLAGS_V2);
export type TenantSync = z.infer<typeof TenantSync>;
export const TenantSyncV1 = tenantSync(FLAGS_V1);
export type TenantSyncV1 = z.infer<typeof TenantSyncV1>;

// ---- 6.2 applicationSync --------------------------------------------------------------------------------------------

function applicationSync<const F extends readonly number[]>(flags: F) {
  return z
    .object({
      ...kitCommon,
      tenantId: requiredString(64),
      appId: requiredString(64),
      clientId: requiredString(),
      /** RSA-OAEP ciphertext (README point 8); a secret once decrypted. Never quoted in messages. */
      clientSecret: requiredString(),
      flag: integerOf(flags),
    })
    .transform(withIsTest);
}

export const ApplicationSync = applicationSync(FLAGS_V2);
export type ApplicationSync = z.infer<typeof ApplicationSync>;
export const ApplicationSyncV1 = applicationSync(FLAGS_V1);
export type ApplicationSyncV1 = z.infer<typeof ApplicationSyncV1>;

// ---- 6.3 authSync ---------------------------------------------------------------------------------------------------

const BooleanText = z.unknown().transform((value, ctx): boolean => {
  if (value === true || (typeof value === "string" && value.toLowerCase() === "true")) return true;
  if (value === false || (typeof value === "string" && value.toLowerCase() === "false")) return false;
  ctx.addIssue({ code: "custom", message: value === undefined || value === null ? "required" : 'must be true or false' });
  return z.NEVER;
});

export const EmployeeType = z.enum(["1", "2", "3", "4"]);
export type EmployeeType = z.infer<typeof EmployeeType>;

/** `extension`: entryDate yyyy-MM-d; employeeType "1" regular, "2" intern, "3" agency, "4" outsourced; workPlace. */
export const KitUserExtension = z.object({
  entryDate: optionalTime(ENTRY_DATE),
  employeeType: z.preprocess(
    (value) => (value === null || value === "" ? undefined : typeof value === "number" ? String(value) : value),
    EmployeeType.optional(),
  ),
  workPlace: optionalString(),
});
export type KitUserExtension = z.infer<typeof KitUserExtension>;

/** One entry of `userList` (§6.3). No lengths are documented for user fields. */
export const KitUser = z.object({
  /** Login account; the same value SSO userinfo returns. */
  userName: requiredString(),
  name: requiredString(),
  position: optionalString(),
  orgCode: requiredString(),
  role: z.enum(["user", "admin"]),
  /** Sent as the string "true"/"false" in the examples; a JSON boolean is accepted too. */
  enable: BooleanText,
  employeeCode: optionalString(),
  mobile: optionalString(),
  email: optionalString(),
  extension: z.preprocess((value) => (value === null || value === "" ? undefined : value), jsonOrValue(KitUserExtension).optional()),
});
export type KitUser = z.infer<typeof KitUser>;

/** At most 500 users per call; an array or (V1, and the V2 examples) a JSON string of one. */
export const KitUserList = jsonOrValue(z.array(KitUser).max(MAX_AUTH_SYNC_USERS));

function authSync<const F extends readonly number[]>(flags: F) {
  return z
    .object({
      ...kitCommon,
      tenantId: requiredString(64),
      appId: requiredString(64),
      userList: KitUserList,
      /** UTC+8 yyyyMMddHHmmssSSS. */
      currentSyncTime: requiredTime(KIT_TIMESTAMP),
      flag: integerOf(flags),
    })
    .transform(withIsTest);
}

export const AuthSync = authSync([0, 1, 2, 3] as const);
export type AuthSync = z.infer<typeof AuthSync>;
export const AuthSyncV1 = authSync([0, 1, 2] as const);
export type AuthSyncV1 = z.infer<typeof AuthSyncV1>;

// ---- 6.4 singleOrgSync ----------------------------------------------------------------------------------------------

function singleOrgSync() {
  return z
    .object({
      ...kitCommon,
      tenantId: requiredString(64),
      /** Unique in the tenant. */
      orgCode: requiredString(64),
      orgName: requiredString(128),
      /** Absent (or empty) only for a top-level department. */
      parentCode: optionalString(64),
      flag: integerOf(FLAGS_V2),
    })
    .transform(withIsTest);
}

/** 0 delete, 1 add, 2 modify in both versions. */
export const SingleOrgSync = singleOrgSync();
export type SingleOrgSync = z.infer<typeof SingleOrgSync>;
export const SingleOrgSyncV1 = singleOrgSync();
export type SingleOrgSyncV1 = z.infer<typeof SingleOrgSyncV1>;

// ---- 6.5 allOrgSync -------------------------------------------------------------------------------------------------

export const OrgInfo = z.object({
  orgCode: requiredString(64),
  orgName: requiredString(128),
  parentCode: optionalString(64),
});
export type OrgInfo = z.infer<typeof OrgInfo>;

/** V1 `orgInfo` entries say `name` where V2 says `orgName`; `orgName` is read too in case V1 adopted it. */
export const OrgInfoV1 = z
  .preprocess(
    (value) =>
      value !== null && typeof value === "object" && !("name" in value) && "orgName" in value
        ? { ...value, name: (value as { orgName: unknown }).orgName }
        : value,
    z.object({
      orgCode: requiredString(64),
      name: requiredString(128),
      parentCode: optionalString(64),
    }),
  )
  .transform(({ name, ...rest }): OrgInfo => ({ ...rest, orgName: name }));
export type OrgInfoV1 = z.infer<typeof OrgInfoV1>;

/** No `flag`: a full sync replaces the department tree. `orgInfoList` may arrive as a JSON string (§6.5). */
export const AllOrgSync = z
  .object({
    ...kitCommon,
    tenantId: requiredString(64),
    orgInfoList: jsonOrValue(z.array(OrgInfo)),
  })
  .transform(withIsTest);
export type AllOrgSync = z.infer<typeof AllOrgSync>;

/** V1 names the list `orgInfo` (a JSON string); output as `orgInfoList` like V2. */
export const AllOrgSyncV1 = z
  .object({
    ...kitCommon,
    tenantId: requiredString(64),
    orgInfo: jsonOrValue(z.array(OrgInfoV1)),
  })
  .transform(({ orgInfo, ...rest }): AllOrgSync => ({ ...withIsTest(rest), orgInfoList: orgInfo }));
export type AllOrgSyncV1 = z.infer<typeof AllOrgSyncV1>;

// ---- dispatch -------------------------------------------------------------------------------------------------------

export const KIT_SYNC_NAMES = ["tenantSync", "applicationSync", "authSync", "singleOrgSync", "allOrgSync"] as const;
export type KitSyncName = (typeof KIT_SYNC_NAMES)[number];
export type KitVersion = "v1" | "v2";

/** What parseKitRequest returns: the sync named by the path, its version, and the body in the V2 shape. */
export type KitRequest =
  | { name: "tenantSync"; version: KitVersion; request: TenantSync }
  | { name: "applicationSync"; version: KitVersion; request: ApplicationSync }
  | { name: "authSync"; version: KitVersion; request: AuthSync }
  | { name: "singleOrgSync"; version: KitVersion; request: SingleOrgSync }
  | { name: "allOrgSync"; version: KitVersion; request: AllOrgSync };

// Fails to compile when a sync is added to the list but not to KitRequest, or the other way round.
true satisfies [Exclude<KitSyncName, KitRequest["name"]>, Exclude<KitRequest["name"], KitSyncName>] extends [never, never]
  ? true
  : never;
