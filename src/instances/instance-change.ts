import type { Instance } from "../db/schema/instances";
import type { EventDraft } from "../events/outbox";

/**
 * What the lifecycle domain decides and the instance's actor commits as one D1 batch: the instance after the change,
 * the seller's events it causes, and what its audit row says.
 */
export interface InstanceChange {
  next: Instance;
  events: EventDraft[];
  auditEvent: string;
  auditDetail: Record<string, unknown>;
}
