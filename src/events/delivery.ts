import type { EventRow } from "../db/schema/events";
import { webhookHeaders } from "./webhook-signature";

/** docs/seller-contract.md "Webhooks": no answer within 10 s is a failed attempt. */
export const WEBHOOK_TIMEOUT_MS = 10_000;
/** …retried for 24 hours, then the delivery is marked failed (visible to the operator, re-sendable). */
export const DELIVERY_WINDOW_MS = 24 * 3600_000;
const FIRST_RETRY_MS = 30_000;
const MAX_RETRY_GAP_MS = 3600_000;
/** Enough of an answer to read a provisioning result or log a reason; the rest is not read. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** Delay before retry number `failures` (1 = after the first failed attempt): 30 s, doubling, at most an hour. */
export function retryDelayMs(failures: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.max(0, failures - 1), MAX_RETRY_GAP_MS);
}

export type DeliveryAttempt =
  | { kind: "answered"; status: number; text: string }
  | { kind: "no-answer"; error: string };

export interface WebhookTarget {
  url: string;
  secret: string;
}

/** One signed POST of a stored event, exactly its stored body; never throws. */
export async function sendEvent(target: WebhookTarget, event: Pick<EventRow, "id" | "body">, now: number, timeoutMs = WEBHOOK_TIMEOUT_MS): Promise<DeliveryAttempt> {
  const headers = webhookHeaders(target.secret, event.id, Math.floor(now / 1000), event.body);
  let response: Response;
  try {
    response = await fetch(target.url, { method: "POST", headers, body: event.body, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return { kind: "no-answer", error: timedOut ? `no answer within ${timeoutMs} ms` : `network: ${error instanceof Error ? error.message : String(error)}` };
  }
  try {
    return { kind: "answered", status: response.status, text: await readCapped(response) };
  } catch (error) {
    return { kind: "no-answer", error: `answer body lost (HTTP ${response.status}): ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function readCapped(response: Response): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
    if (size >= MAX_ANSWER_BYTES) {
      await reader.cancel();
      break;
    }
  }
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES));
}

export function describeAttempt(attempt: DeliveryAttempt): string {
  return attempt.kind === "answered" ? `HTTP ${attempt.status}` : attempt.error;
}
