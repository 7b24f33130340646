import { handleOrderNotify } from "../orders/order-notify";
import { parseOrderNotify } from "../protocol/schemas/parse";
import { basicSignatureParts } from "../protocol/v2-signature";
import { marketplaceEndpoint } from "./marketplace-endpoint";

/** POST /orders: general products' order notification (marketplace-open-apis §3.1, §3.2), GENERAL_ACCESS_KEY. */
export const orderNotifyEndpoint = marketplaceEndpoint({
  name: "order-notify",
  key: "general",
  signatureParts: (_request, url) => basicSignatureParts(url),
  parse: parseOrderNotify,
  handle: handleOrderNotify,
});
