import { describe, expect, it } from "vitest";
import { SEALED, SEALED_FIELD, openOrderSnapshot, sealOrderSnapshot } from "../../src/crypto/order-snapshot";
import { GatewayError } from "../../src/protocol/errors";

const dataKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");
const otherKey = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64");

/** The query-order mock of marketplace-open-apis §2.1 (G5), with the buyer fields the docs and the mock list. */
function orderInfo(orderId = "MOCKPERIODYEARNEW") {
  return {
    orderId,
    orderType: "NEW",
    createTime: "20241121090846",
    orderLine: [
      {
        orderLineId: `${orderId}-000001`,
        chargingMode: "PERIOD",
        periodType: "year",
        periodNumber: 1,
        expireTime: "20251121235959",
        productInfo: [{ productId: "p-1", skuCode: "s-1", linearValue: 50, productName: "Basic" }],
        extendParams: [{ name: "ip", value: "203.0.113.9" }],
        currency: "100",
      },
    ],
    buyerInfo: {
      customerId: "cust-1",
      customerName: "hw-account-zhang",
      customerRealName: "张三",
      customerType: 1,
      userId: "iam-1",
      userName: "zhangsan",
      mobilePhone: "13800138000",
      email: "z@example.com",
    },
    extendParams: [{ name: "emailDomainName", value: "example.com" }],
  };
}

async function failure(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    return error instanceof GatewayError ? error.code : `not a GatewayError: ${String(error)}`;
  }
  return "did not throw";
}

describe("order snapshot sealing", () => {
  it("seals the buyer's personal fields and leaves the order readable", async () => {
    const sealed = await sealOrderSnapshot(dataKey, orderInfo());
    expect(sealed).toMatchObject({
      orderId: "MOCKPERIODYEARNEW",
      orderType: "NEW",
      orderLine: [{ chargingMode: "PERIOD", expireTime: "20251121235959", productInfo: [{ productId: "p-1", skuCode: "s-1" }], extendParams: SEALED }],
      buyerInfo: { customerId: "cust-1", customerType: 1, customerName: SEALED, customerRealName: SEALED, userId: SEALED, userName: SEALED, mobilePhone: SEALED, email: SEALED },
      extendParams: SEALED,
      [SEALED_FIELD]: expect.stringMatching(/^v2\./),
    });
    const text = JSON.stringify(sealed);
    for (const personal of ["hw-account-zhang", "张三", "iam-1", "zhangsan", "13800138000", "z@example.com", "203.0.113.9", "emailDomainName"]) {
      expect(text).not.toContain(personal);
    }
  });

  it("opens back to exactly what the Marketplace sent, through JSON as D1 stores it", async () => {
    const stored = JSON.parse(JSON.stringify(await sealOrderSnapshot(dataKey, orderInfo())));
    expect(await openOrderSnapshot(dataKey, stored)).toEqual(orderInfo());
  });

  it("keeps a snapshot without personal fields as it is", async () => {
    const { buyerInfo: _b, extendParams: _e, ...bare } = orderInfo();
    const line = { ...bare.orderLine[0], extendParams: undefined };
    const plain = { ...bare, orderLine: [JSON.parse(JSON.stringify(line))] };
    const sealed = await sealOrderSnapshot(dataKey, plain);
    expect(sealed).toEqual(plain);
    expect(await openOrderSnapshot(dataKey, sealed)).toEqual(plain);
  });

  it("does not open under another DATA_KEY, for another order, or after tampering", async () => {
    const sealed = await sealOrderSnapshot(dataKey, orderInfo("CS-A"));
    expect(await failure(openOrderSnapshot(otherKey, sealed))).toBe("000005");
    expect(await failure(openOrderSnapshot(dataKey, { ...sealed, orderId: "CS-B" }))).toBe("000005");
    const other = await sealOrderSnapshot(dataKey, orderInfo("CS-B"));
    expect(await failure(openOrderSnapshot(dataKey, { ...sealed, [SEALED_FIELD]: other[SEALED_FIELD] }))).toBe("000005");
  });

  it("does not change its input", async () => {
    const input = orderInfo();
    await sealOrderSnapshot(dataKey, input);
    expect(input).toEqual(orderInfo());
  });
});
