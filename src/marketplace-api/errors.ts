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

/** Marketplace codes that mean "try again later" whatever the HTTP status (spec marketplace-open-apis.md §2.1, §2.3.4). */
const RETRYABLE_CODES = new Set(["CBC.0999", "MKT.0999", "CBC.0250", "MKT.0250", "APIGW.0303"]);

export function isRetryableCode(code: string, httpStatus: number): boolean {
  if (RETRYABLE_CODES.has(code)) return true;
  return httpStatus >= 500 || httpStatus === 429 || httpStatus === 408;
}
