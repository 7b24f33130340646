import type { Answer, Delivery } from "../../tools/fake-seller-backend/fake-seller-backend.ts";

/*
 * Steering the fake seller backend behind the test webhook URL (test/support/outbound-marketplace.ts). Everything is
 * per instance, because test files run in parallel against one fake: compute the instance id first (instanceIdFor of
 * the purchase's create key) and set its answers before buying.
 */

const CONTROL = "http://127.0.0.1:9/__seller/__control";

async function control(path: string, body: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${CONTROL}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`fake seller backend ${path}: ${response.status} ${await response.text()}`);
}

export const sellerBackend = {
  /** Answer the instance's next `times` deliveries (absent: all) of the given types (absent: any) like this. */
  answer: (instanceId: string, answer: Answer, options: { times?: number; types?: string[] } = {}) => control("/rule", { instanceId, answer, ...options }),
  /** Fail `times` deliveries with `answer` (500 by default), then answer normally again. */
  failTimes: (instanceId: string, times: number, answer: Answer = { kind: "error" }) => control("/rule", { instanceId, answer, times }),
  clear: (instanceId: string) => control("/clear", { instanceId }),
  /** Check this instance's signature timestamps against a simulated clock instead of the real one (null: real). */
  clock: (instanceId: string, now: number | null) => control("/clock", { instanceId, now }),
  /** Every delivery of one event (webhook-id = event id), for events without an instance. */
  async deliveriesOfEvent(eventId: string): Promise<Delivery[]> {
    const response = await fetch(`${CONTROL}/deliveries?webhookId=${encodeURIComponent(eventId)}`);
    return ((await response.json()) as { deliveries: Delivery[] }).deliveries;
  },
  async deliveries(instanceId: string): Promise<Delivery[]> {
    const response = await fetch(`${CONTROL}/deliveries?instanceId=${encodeURIComponent(instanceId)}`);
    return ((await response.json()) as { deliveries: Delivery[] }).deliveries;
  },
};
