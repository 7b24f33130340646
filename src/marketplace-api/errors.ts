/**
 * A failed open-API call. `retryable` says whether the same request may succeed later (network, timeout, 5xx,
 * rate limit) or never will (bad signature, bad parameter, no permission).
 */
export class MarketplaceApiError extends Error {
  override readonly name = "MarketplaceApiError";
  constructor(
    readonly api: string,
    readonly code: string,
    message: string,
    readonly retryable: boolean,
    readonly httpStatus?: number,
  ) {
    super(`${api}: ${code} ${message}`);
  }
}

/**
 * Marketplace codes that mean "try again later" whatever the HTTP status (spec marketplace-open-apis §2.1, §2.3.4;
 * 91381036 is the upload API's "inner error", answered with HTTP 200, §2.4 E1).
 */
const RETRYABLE_CODES = new Set(["CBC.0999", "MKT.0999", "CBC.0250", "MKT.0250", "APIGW.0303", "91381036"]);

/**
 * Codes that will fail the same way on every resend although the tables give them HTTP 500 (spec §2.1, §2.3.4:
 * MKT.0100 "input parameter validation failed" and MKT.9001–9004 are all documented as 500). Without this list the
 * status rule below would retry a too-old or oversized batch until its deadline passed.
 */
const FINAL_CODES = new Set(
  ["0100", "0101", "0102", "0150", "0151", "0154", "0199", "9001", "9002", "9003", "9004", "9005"].flatMap((n) => [
    `MKT.${n}`,
    `CBC.${n}`,
  ]),
);

export function isRetryableCode(code: string, httpStatus: number): boolean {
  if (RETRYABLE_CODES.has(code)) return true;
  if (FINAL_CODES.has(code)) return false;
  return httpStatus >= 500 || httpStatus === 429 || httpStatus === 408;
}
