import { z } from "zod";
import { EVENT_TYPES } from "../db/schema/events";
import type { SellerEvent as SellerEventBody } from "../events/outbox";
import { Cursor, PageLimit, type SameType } from "./common.schema";

/** One event: the webhook body and the feed entry are the same JSON object (docs/seller-contract.md "Webhooks"). */
export const SellerEvent = z
  .object({
    id: z.string().describe("the same on every webhook retry: deduplicate on it"),
    type: z.enum(EVENT_TYPES),
    timestamp: z.iso.datetime({ offset: false }),
    instanceId: z.string().nullable(),
    test: z.boolean(),
    data: z.record(z.string(), z.unknown()).describe("instance events: the entitlement (see Entitlement), plus scene, previous, reason or resultCode"),
  })
  .meta({ id: "SellerEvent" });
const _sellerEventMatches: SameType<z.output<typeof SellerEvent>, SellerEventBody> = true;

export const EventFeedQuery = z.strictObject({
  after: Cursor.optional().describe("the nextCursor of the previous call; absent: from the first event"),
  limit: PageLimit,
});
export type EventFeedQuery = z.infer<typeof EventFeedQuery>;

export const EventFeed = z
  .object({
    events: z.array(SellerEvent).describe("in commit order"),
    nextCursor: z.string().describe("always present; pass it as ?after= next time, also when events is empty"),
  })
  .meta({ id: "EventFeed" });
