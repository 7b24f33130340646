import { describe, expect, it } from "vitest";
import { QUERY_ORDER_PATH, queryOrder } from "../../src/marketplace-api/order.api";
import { NOW, answer, credentials, failure, restoreMocksAfterEach } from "../support/open-api";
import { mockFetch } from "./fetch-mock";

restoreMocksAfterEach();

const orderInfo = (expireTime: string) => ({
  orderId: "CS1",
  orderType: "NEW",
  orderLine: [{ orderLineId: "CS1-000001", chargingMode: "PERIOD", expireTime, productInfo: [{ productId: "P", skuCode: "S" }] }],
  somethingNew: true,
});

describe("query order through the shared client (§2.1)", () => {
  it("GET with the ids in the query, no body; CBC.0000 is success as well as MKT.0000", async () => {
    const seen = mockFetch(() => answer({ resultCode: "CBC.0000", resultMsg: "success", orderInfo: orderInfo("20270101000000") }));
    const truth = await queryOrder(credentials, "CS1", "CS1-000001", NOW);
    expect(truth).toMatchObject({ orderLineId: "CS1-000001", productId: "P", expireAt: Date.UTC(2027, 0, 1) });
    expect(seen[0]?.method).toBe("GET");
    expect(seen[0]?.url.pathname).toBe(QUERY_ORDER_PATH);
    expect(seen[0]?.url.search).toBe("?orderId=CS1&orderLineId=CS1-000001");
    expect(seen[0]?.body).toHaveLength(0);
    expect(seen[0]?.headers.get("authorization")).toMatch(/^SDK-HMAC-SHA256 Access=TESTAK, SignedHeaders=content-type;host;x-sdk-date, Signature=[0-9a-f]{64}$/);
  });

  it("a malformed expireTime is a final BAD_ORDER_INFO (a resend cannot fix it)", async () => {
    mockFetch(() => answer({ resultCode: "MKT.0000", orderInfo: orderInfo("2027-01-01") }));
    expect(await failure(queryOrder(credentials, "CS1", null, NOW))).toMatchObject({ code: "BAD_ORDER_INFO", retryable: false });
  });

  it.each([
    [500, "CBC.0999", true],
    [406, "CBC.0250", true],
    [500, "CBC.0100", false],
    [401, "CBC.0150", false],
    [400, "CBC.0101", false],
  ] as const)("HTTP %i %s → retryable %s", async (status, code, retryable) => {
    mockFetch(() => answer({ resultCode: code, resultMsg: "x" }, status));
    expect(await failure(queryOrder(credentials, "CS1", null, NOW))).toMatchObject({ code, retryable, httpStatus: status });
  });
});
