import type { EventType } from "../db/schema/events";
import type { Instance } from "../db/schema/instances";
import type { EventDraft } from "../events/outbox";
import { entitlementOf } from "./entitlement";

/** The draft of an instance event: its data is the entitlement after the change, plus what the type adds. */
export function instanceEvent(type: EventType, instance: Instance, at: number, extra: Record<string, unknown> = {}, deliverBy?: number): EventDraft {
  return {
    type,
    instanceId: instance.id,
    stream: instance.id,
    test: instance.isTest,
    data: { ...entitlementOf(instance), ...extra },
    at,
    ...(deliverBy === undefined ? {} : { deliverBy }),
  };
}
