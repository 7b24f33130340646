/*
 * Which order lines are refunds, and so count negative on the statement. Query order's amounts carry no sign of their
 * own in the documents (marketplace-open-apis §2.1: `currency`, `currencyAfterDiscount`, decimal strings), so the
 * sign comes from what the order is:
 * - `orderType` UNSUBSCRIBE (§2.1 OrderInfo: NEW, TRIAL, TRIAL_TO_FORMAL, UNSUBSCRIBE, RENEW, CHANGE): an
 *   unsubscription's refund order;
 * - a refreshInstance or refreshLicenseCode with scene UNSUBSCRIBE_RENEWAL_PERIOD (saas-production-interface §3.3,
 *   marketplace-open-apis §3.3: 退续费, a renewal refund; V1 sends a negative `orderAmount` for it);
 * - the order a releaseInstance or releaseLicenseCode names (saas-production-interface §3.5: present only when the
 *   release comes from an unsubscription, "the refund order ID"; §3.3 L9 likewise).
 * The callback is stored with the order row as `activity`, the scene after a colon (order-fetch.ts recordFetchOf,
 * license-code-orders.ts licenseOrderOf), so a line not fetched yet is still known to be a refund.
 */

const REFUND_ORDER_TYPES = new Set(["UNSUBSCRIBE"]);
const REFUND_ACTIVITIES = new Set([
  "releaseInstance",
  "releaseLicenseCode",
  "refreshInstance:UNSUBSCRIBE_RENEWAL_PERIOD",
  "refreshLicenseCode:UNSUBSCRIBE_RENEWAL_PERIOD",
]);

export function isRefund(orderType: string | null, activity: string | null): boolean {
  return (orderType !== null && REFUND_ORDER_TYPES.has(orderType)) || (activity !== null && REFUND_ACTIVITIES.has(activity));
}

/**
 * The amount as the statement shows it: a refund negative, by text ("-" in front), never through a float. An amount
 * the Marketplace already sent negative stays as sent, and a zero gets no sign.
 */
export function signedAmount(amount: string | null, refund: boolean): string | null {
  if (amount === null || !refund || amount.startsWith("-") || /^0+(\.0+)?$/.test(amount)) return amount;
  return `-${amount}`;
}
