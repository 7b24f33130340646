import { getSettings } from "../../../env";
import { WEBHOOK_TIMEOUT_MS, describeAttempt, sendEvent } from "../../../events/delivery";
import { newEventId } from "../../../events/outbox";
import { type CheckOutcome, failed, passed, skipped } from "../self-check.types";

export const PING_EVENT_TYPE = "gateway.ping";

/**
 * One signed `gateway.ping` event to SELLER_WEBHOOK_URL, signed and sent exactly as every delivery is
 * (events/delivery.ts), but built here and never stored: it is not in the outbox, so not in the feed, and never
 * retried. The seller's backend acknowledges it like any event (2xx) and may ignore its type.
 */
export async function sellerWebhookCheck(env: Env, now: number): Promise<CheckOutcome> {
  const target = getSettings(env).sellerWebhook;
  if (!target) return skipped("SELLER_WEBHOOK_URL is not set: no webhook to check (the event feed GET /api/v1/events works without one)");
  const id = newEventId();
  const body = JSON.stringify({ id, type: PING_EVENT_TYPE, timestamp: new Date(now).toISOString(), instanceId: null, test: true, data: { selfCheck: true } });
  const host = new URL(target.url).host;
  const attempt = await sendEvent(target, { id, body }, now, Math.min(WEBHOOK_TIMEOUT_MS, 5_000));
  if (attempt.kind === "answered" && attempt.status >= 200 && attempt.status < 300) {
    return passed(`a signed ${PING_EVENT_TYPE} event (webhook-id ${id}) to ${host} was acknowledged: HTTP ${attempt.status}`);
  }
  const answer = describeAttempt(attempt);
  const fix =
    attempt.kind === "no-answer"
      ? `Your backend at SELLER_WEBHOOK_URL (${host}) did not answer: check the URL, that it is reachable from Cloudflare (https, a public name) and answers within 10 s.`
      : attempt.status === 401 || attempt.status === 403
        ? "Your backend refused the signature: its secret must be the gateway's SELLER_WEBHOOK_SECRET (the whole whsec_… value), and it must verify the raw body as received."
        : `Your backend must answer 2xx to every verified event, ${PING_EVENT_TYPE} included (acknowledge a type you do not handle; do not refuse it).`;
  return failed(`a signed ${PING_EVENT_TYPE} event (webhook-id ${id}) to ${host} was answered ${answer}`, fix);
}
