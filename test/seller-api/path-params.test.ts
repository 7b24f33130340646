import { describe, expect, it } from "vitest";
import { adminGet } from "../support/admin";
import { callLicense, makeStatus, newLicenseCode } from "../support/license-codes";
import { callGeneral, createInstance, uniqueId } from "../support/marketplace";
import { sellerCall } from "../support/seller-api";

/*
 * Path parameters arrive percent-encoded (a client library encodes ':' in an order id, a proxy may encode any byte);
 * every route reads them decoded, and a malformed escape is a 400 that says so, never a 500 or a silent miss.
 */

/** Every character as %XX: what a strict client sends, and the hardest case for a route that reads raw params. */
const encodeAll = (value: string) => [...new TextEncoder().encode(value)].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, "0")}`).join("");

describe("path parameters are percent-decoded, once, in every route", () => {
  it("GET /api/v1/orders/A%3AX finds order A:X", async () => {
    const orderId = `${uniqueId("CS")}:X`;
    expect((await callGeneral({ activity: "orderNotify", orderId, orderLineId: `${orderId}-000001`, testFlag: "1" })).json.resultCode).toBe("000000");
    const answer = await sellerCall(`/api/v1/orders/${encodeURIComponent(orderId)}`);
    expect(answer.status).toBe(200);
    expect(answer.json).toMatchObject({ orderId, lines: [{ orderId, orderLineId: `${orderId}-000001` }] });
  });

  it("instances, their credentials and kit reads, and the admin timeline, take an encoded instance id", async () => {
    const { instanceId } = await createInstance({ testFlag: "1" });
    const encoded = encodeAll(instanceId);
    expect(await sellerCall(`/api/v1/instances/${encoded}`)).toMatchObject({ status: 200, json: { instanceId } });
    expect((await sellerCall(`/api/v1/instances/${encoded}/credentials`)).status).toBe(200);
    expect(await sellerCall(`/api/v1/instances/${encoded}/tenant`)).toMatchObject({ status: 404, json: { error: `no kit tenant synced for instance ${instanceId}` } });
    const timeline = await adminGet(`/admin/api/instances/${encoded}/timeline`);
    expect(timeline.status).toBe(200);
  });

  it("license-code routes take an encoded code", async () => {
    const code = newLicenseCode();
    expect((await callLicense(makeStatus(code, "FREEZE"))).json.resultCode).toBe("000000");
    expect(await sellerCall(`/api/v1/license-codes/${encodeAll(code)}`)).toMatchObject({ status: 200, json: { code } });
  });

  it("a malformed escape is a 400 naming the parameter, in the seller and the admin API", async () => {
    expect(await sellerCall("/api/v1/orders/%ZZ")).toMatchObject({ status: 400, json: { error: "path parameter orderId is not valid percent-encoding" } });
    expect(await sellerCall("/api/v1/instances/A%E0%A4%A")).toMatchObject({ status: 400, json: { error: "path parameter id is not valid percent-encoding" } });
    expect(await sellerCall("/api/v1/instances/%ZZ/users")).toMatchObject({ status: 400, json: { error: "path parameter id is not valid percent-encoding" } });
    expect(await sellerCall("/api/v1/license-codes/%ZZ")).toMatchObject({ status: 400, json: { error: "path parameter code is not valid percent-encoding" } });
    const admin = await adminGet("/admin/api/instances/%ZZ/timeline");
    expect(admin.status).toBe(400);
    expect(admin.json).toEqual({ error: "path parameter id is not valid percent-encoding" });
    // The token is still checked first: nothing about the path is told to a caller without one.
    expect((await sellerCall("/api/v1/orders/%ZZ", { token: null })).status).toBe(401);
  });
});
