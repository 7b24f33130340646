import { z } from "zod";
import { OptionalFlag, requiredString, withIsTest } from "./common";

/**
 * General-product order notification (marketplace-open-apis.md §3.2): the Marketplace says an order was paid; we answer
 * 000000 and fetch the details through Query Order. `testFlag` is marked M but documented "default 0", so a missing one
 * reads as a real call. Unknown fields are dropped.
 */
export const OrderNotify = z
  .object({
    activity: z.literal("orderNotify"),
    orderId: requiredString(64),
    orderLineId: requiredString(64),
    testFlag: OptionalFlag,
  })
  .transform(withIsTest);
export type OrderNotify = z.infer<typeof OrderNotify>;
