// Result codes of the production interface. Sources: V2 zh-cn_topic_0070649421, V1 zh-cn_topic_0070649057
// (interface §4, docs/marketplace-docs.md).

export const V2_RESULT_CODES = {
  "000000": "success",
  "000001": "authentication failed",
  "000002": "invalid request parameter",
  "000003": "instance ID does not exist",
  "000004": "request is being processed",
  "000005": "other internal service error",
  "000100": "no instance resource available to allocate",
  "000101": "mobile number empty or duplicate",
  "000102": "e-mail empty or duplicate",
  "000103": "this product cannot be purchased again",
  "000104": "internal service exception of the product",
  "000105": "this account already holds the entitlement and cannot open it again",
  "000106": "product resources sold out",
  "000107": "SaaS e-mail domain duplicate",
  // Online License getLicenseAsync (marketplace-open-apis §3.4, O2).
  "000900": "the order's license quota is exhausted",
  "000901": "request outside the order's validity period",
  "000902": "a period license needs an expiry time",
  "000903": "a device fingerprint (hardware code) is required",
} as const;

export const V1_RESULT_CODES = {
  "000000": "success",
  "000001": "authentication failed",
  "000002": "invalid request parameter",
  "000003": "instance ID does not exist",
  "000004": "request is being processed",
  "000005": "other internal service error",
  "000100": "no instance resource available to allocate",
} as const;

export type V2ResultCode = keyof typeof V2_RESULT_CODES;
export type V1ResultCode = keyof typeof V1_RESULT_CODES;
/** Every code any of our interfaces may answer with. V1 codes are a subset of V2's. */
export type ResultCode = V2ResultCode;

export const ResultCode = {
  Success: "000000",
  AuthFailed: "000001",
  InvalidParameter: "000002",
  InstanceNotFound: "000003",
  Processing: "000004",
  InternalError: "000005",
  NoResource: "000100",
  ProductInternalError: "000104",
  LicenseQuotaExhausted: "000900",
  LicenseOutsideValidity: "000901",
  LicenseNeedsExpiry: "000902",
  LicenseNeedsFingerprint: "000903",
} as const satisfies Record<string, ResultCode>;

export function isV1ResultCode(code: string): code is V1ResultCode {
  return code in V1_RESULT_CODES;
}
