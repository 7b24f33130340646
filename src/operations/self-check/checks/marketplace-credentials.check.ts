import { getSettings } from "../../../env";
import { MarketplaceApiError } from "../../../marketplace-api/errors";
import { queryOrder } from "../../../marketplace-api/order.api";
import { type CheckOutcome, failed, passed } from "../self-check.types";

/** The Marketplace's documented mock order (marketplace-open-apis §2.1): canned data, no real order behind it. */
export const MOCK_ORDER_ID = "MOCKPERIODYEARNEW";
/** Inside the few seconds a run may take; a healthy open API answers in well under a second. */
const TIMEOUT_MS = 5_000;

const NO_MOCK =
  "The usage-push key (USAGE_PUSH_KEY) and the upload API have no mock order, so they are proven only by the first real push and upload (GET /admin/api/usage, the deliveries of license.*)";

/**
 * Query order of the mock order, signed with MARKETPLACE_AK/SK at MARKETPLACE_API_BASE through the client every real
 * purchase uses: an answer proves the keys, the host and the clock (the API gateway refuses a signature more than
 * 15 minutes off, APIGW.0303).
 */
export async function marketplaceCredentialsCheck(env: Env): Promise<CheckOutcome> {
  const { marketplace } = getSettings(env);
  try {
    const order = await queryOrder(marketplace, MOCK_ORDER_ID, null, new Date(), TIMEOUT_MS);
    return passed(`query order of the mock order ${MOCK_ORDER_ID} at ${marketplace.apiBase} answered (orderType ${order.orderType ?? "?"}): MARKETPLACE_AK/SK, the host and the clock are right. ${NO_MOCK}.`);
  } catch (error) {
    if (!(error instanceof MarketplaceApiError)) throw error;
    return failed(`query order of ${MOCK_ORDER_ID} at ${marketplace.apiBase} failed: ${error.message}. ${NO_MOCK}.`, fixFor(error, marketplace.apiBase));
  }
}

/** One advice per kind of failure: the clock, the keys, the host, or the Marketplace itself. */
export function fixFor(error: MarketplaceApiError, apiBase: string): string {
  if (error.code === "APIGW.0303") {
    return "The signature's time (X-Sdk-Date) is more than 15 minutes from the Marketplace's: set the clock of the machine running the gateway right (under `npm run dev`, your computer's; enable NTP).";
  }
  if (error.code === "NETWORK" || error.code === "TIMEOUT") {
    return `The open API did not answer at ${apiBase}: check MARKETPLACE_API_BASE (https://mkt.myhuaweicloud.com, or https://mkt-intl.myhuaweicloud.com for the international site) and that its name resolves and the host is reachable.`;
  }
  if (/^APIGW\./.test(error.code) || /^(CBC|MKT)\.015[014]$/.test(error.code) || error.httpStatus === 401 || error.httpStatus === 403) {
    return "The open API refused the access key: set MARKETPLACE_AK and MARKETPLACE_SK to the seller account's access key pair (My Credentials > Access Keys of the account that publishes the product), with `npx wrangler secret put`.";
  }
  if (/^HTTP_404$/.test(error.code) || error.httpStatus === 404) {
    return `${apiBase} has no query-order API: MARKETPLACE_API_BASE must be the Marketplace's open-API host (https://mkt.myhuaweicloud.com).`;
  }
  return "The Marketplace answered with an error of its own: run the self-check again later; if it persists, quote the code to Huawei Cloud support.";
}
