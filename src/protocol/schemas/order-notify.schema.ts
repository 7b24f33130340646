import { z } from "zod";
import { OptionalFlag, optionalString, requiredString } from "./common";

/**
 * General-product order notification (marketplace-open-apis §3.2): the Marketplace says an order was paid; we answer
 * 000000 and fetch the details through Query Order. `testFlag` is marked M but documented "default 0", so a missing one
 * reads as a real call. `orderLineId` is marked M, but not every sale mode sends one: a notification without it (or
 * with "") names the whole order, `orderLineId` "" (docs/lifecycle-rules.md rule 18). Every other field is kept, as
 * `extra`, rather than dropped.
 */
export const OrderNotify = z
  .looseObject({
    activity: z.literal("orderNotify"),
    orderId: requiredString(64),
    orderLineId: optionalString(64),
    testFlag: OptionalFlag,
  })
  .transform(({ activity, orderId, orderLineId, testFlag, ...extra }) => ({
    activity,
    orderId,
    orderLineId: orderLineId ?? "",
    isTest: testFlag,
    extra,
  }));
export type OrderNotify = z.infer<typeof OrderNotify>;
