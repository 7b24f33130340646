import { createHash } from "node:crypto";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createKeyOf, instanceIdFor } from "../../src/instances/instance-id";
import { orderActorName, orderInboxKey } from "../../src/orders/general-order";
import { refreshKey } from "../../src/license-codes/license-code";
import { RefreshLicenseCode } from "../../src/protocol/schemas/license.schema";
import { generalOrderRow } from "../support/general-orders";
import { callLicense, licenseRecord, makeRefresh, newLicenseCode } from "../support/license-codes";
import { callGeneral, callV2, uniqueId } from "../support/marketplace";

/*
 * Keys made of several ids (an order line's actor and inbox key, a purchase's create key and instance id, a license
 * renewal's inbox key) must not collide: ids ("A:X", "L1") and ("A", "X:L1") are different lines. Keys of ids without
 * ':' are the ':'-joined strings they always were, so every key and instance id already stored stays the same.
 */

const sha = (text: string) => createHash("sha256").update(text).digest("hex");

describe("keys of several ids cannot collide", () => {
  it("orderNotify: lines (A:X, L1) and (A, X:L1) are two lines, each stored and recorded", async () => {
    const a = uniqueId("CS");
    const first = { activity: "orderNotify", orderId: `${a}:X`, orderLineId: "L1", testFlag: "1" };
    const second = { activity: "orderNotify", orderId: a, orderLineId: "X:L1", testFlag: "1" };
    expect((await callGeneral(first)).json.resultCode).toBe("000000");
    expect((await callGeneral(second)).json.resultCode).toBe("000000");
    expect(await generalOrderRow({ orderId: `${a}:X`, orderLineId: "L1", isTest: true })).not.toBeNull();
    expect(await generalOrderRow({ orderId: a, orderLineId: "X:L1", isTest: true })).not.toBeNull();
    const inbox = await env.DB.prepare("SELECT COUNT(*) AS n FROM inbox WHERE activity = 'orderNotify' AND request LIKE ?").bind(`%${a}%`).first<{ n: number }>();
    expect(inbox?.n).toBe(2);
  });

  it("newInstance: orders (A:line:B, line C) and (A, line B:line:C) are two purchases", async () => {
    const a = uniqueId("CS");
    const first = await callV2({ activity: "newInstance", orderId: `${a}:line:B`, orderLineId: "C", businessId: crypto.randomUUID(), testFlag: "1" });
    const second = await callV2({ activity: "newInstance", orderId: a, orderLineId: "B:line:C", businessId: crypto.randomUUID(), testFlag: "1" });
    expect(first.json.resultCode).toBe("000000");
    expect(second.json.resultCode).toBe("000000");
    expect(second.json.instanceId).not.toBe(first.json.instanceId);
  });

  it("refreshLicenseCode: renewal orders (O:X, Y) and (O, X:Y) of one code both apply", async () => {
    const code = newLicenseCode();
    const o = uniqueId("CS");
    const first = makeRefresh(code, { orderId: `${o}:X`, orderLineId: "Y", expireTime: "20280131235959" });
    const second = makeRefresh(code, { orderId: o, orderLineId: "X:Y", expireTime: "20290131235959" });
    expect((await callLicense(first)).json.resultCode).toBe("000000");
    expect((await callLicense(second)).json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect((await licenseRecord(code))?.expire_at).toBe(Date.UTC(2029, 0, 31, 23, 59, 59));
  });

  it("ids without ':' keep the keys they always had, so stored instances, actors and inbox records are found again", () => {
    expect(createKeyOf("CS1", { orderLineId: "CS1-000001" }, false)).toBe("create:CS1:line:CS1-000001");
    expect(createKeyOf("CS1", { productId: "P1" }, true)).toBe("debug:create:CS1:product:P1");
    expect(instanceIdFor(createKeyOf("CS1", { orderLineId: "CS1-000001" }, false))).toBe(sha("create:CS1:line:CS1-000001").slice(0, 32));
    expect(orderActorName({ orderId: "CS1", orderLineId: "CS1-000001", isTest: false })).toBe("order:CS1:CS1-000001");
    expect(orderActorName({ orderId: "CS1", orderLineId: "CS1-000001", isTest: true })).toBe("order-test:CS1:CS1-000001");
    expect(orderInboxKey({ orderId: "CS1", orderLineId: "CS1-000001", isTest: true })).toBe("test:orderNotify:CS1:CS1-000001");
    const renewal = RefreshLicenseCode.parse({ activity: "refreshLicenseCode", scene: "RENEWAL", orderId: "CS1", orderLineId: "CS1-000001", license: "LIC1", expireTime: "20280131235959" });
    expect(refreshKey(renewal)).toBe("license:refresh:LIC1:CS1:CS1-000001");
  });
});
