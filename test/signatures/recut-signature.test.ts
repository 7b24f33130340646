import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { LICENSE_TABLES, callLicense, licenseRecord, makeStatus, newLicenseCode } from "../support/license-codes";
import { type SellerRsaKey, kitTableCounts, makeSellerRsaKey, newKitScope, sendWith, signedKitV2Request, tenantBody } from "../support/kit";
import { createInstance, instanceRow, rowCounts, send, signedV2Request, tableCounts, uniqueId } from "../support/marketplace";

/*
 * The V2 signature covers key + nonce + timestamp + bodyMac with no separator between nonce and timestamp. A captured
 * call whose nonce ends in "0" can have that digit moved to the front of its timestamp: the signed string, and so the
 * signature, stay the same, the time reads the same, and the nonce is new. Such a re-cut call is refused (000001, a
 * bad timestamp) and stores nothing, wherever the V2 signature is checked.
 */

/** A nonce ending in a digit, as the Marketplace's 64-hex nonces often do. */
const nonceEndingInZero = () => `${uniqueId("RC")}0`;

/** The same signed bytes with the nonce's last character moved to the front of the timestamp. */
function recutQuery(request: Request): Request {
  const url = new URL(request.url);
  const nonce = url.searchParams.get("nonce") ?? "";
  const timestamp = url.searchParams.get("timestamp") ?? "";
  url.searchParams.set("nonce", nonce.slice(0, -1));
  url.searchParams.set("timestamp", `${nonce.slice(-1)}${timestamp}`);
  return new Request(url, request);
}

function recutKitHeaders(request: Request): Request {
  const headers = new Headers(request.headers);
  const nonce = headers.get("x-nonce") ?? "";
  headers.set("x-nonce", nonce.slice(0, -1));
  headers.set("x-timestamp", `${nonce.slice(-1)}${headers.get("x-timestamp") ?? ""}`);
  return new Request(request, { headers });
}

const LEADING_ZERO = { resultCode: "000001", resultMsg: "timestamp has a leading zero" };

describe("a re-cut V2 signature (nonce digit moved into the timestamp) is refused", () => {
  it("/saas: FREEZE, UNFREEZE, then the re-cut FREEZE does not freeze again", async () => {
    const { instanceId } = await createInstance();
    const freeze = signedV2Request({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" }, { nonce: nonceEndingInZero() });
    const recut = recutQuery(freeze.clone());
    expect((await send(freeze)).json.resultCode).toBe("000000");
    expect((await send(signedV2Request({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" }))).json.resultCode).toBe("000000");
    const before = await tableCounts();
    const answer = await send(recut);
    expect(answer.json).toEqual(LEADING_ZERO);
    expect(answer.bodySignValid).toBe(true);
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active", version: 3 });
    expect(await tableCounts()).toEqual(before);
  });

  describe("kit", () => {
    let rsa: SellerRsaKey;
    beforeAll(async () => {
      rsa = await makeSellerRsaKey();
    });

    it("a re-cut tenantSync after its delete does not bring the tenant back", async () => {
      const s = newKitScope();
      const add = signedKitV2Request("tenantSync", tenantBody(s), { nonce: nonceEndingInZero() });
      const recut = recutKitHeaders(add.clone());
      const kit = (request: Request) => sendWith(request, { KIT_RSA_PRIVATE_KEY: rsa.pem }, env.KIT_ACCESS_KEY);
      expect((await kit(add)).json.resultCode).toBe("000000");
      expect((await kit(signedKitV2Request("tenantSync", tenantBody(s, { flag: 0 })))).json.resultCode).toBe("000000");
      const before = await kitTableCounts();
      const answer = await kit(recut);
      expect(answer.json).toEqual(LEADING_ZERO);
      expect(answer.bodySignValid).toBe(true);
      expect(await kitTableCounts()).toEqual(before);
    });
  });

  it("/license: FREEZE, UNFREEZE, then the re-cut FREEZE does not freeze the code again", async () => {
    const code = newLicenseCode();
    const freeze = signedV2Request(makeStatus(code, "FREEZE"), { key: env.LICENSE_ACCESS_KEY, path: "/license", nonce: nonceEndingInZero() });
    const recut = recutQuery(freeze.clone());
    expect((await send(freeze, env.LICENSE_ACCESS_KEY)).json.resultCode).toBe("000000");
    expect((await callLicense(makeStatus(code, "UNFREEZE"))).json.resultCode).toBe("000000");
    const before = await rowCounts(LICENSE_TABLES);
    const answer = await send(recut, env.LICENSE_ACCESS_KEY);
    expect(answer.json).toEqual(LEADING_ZERO);
    expect(answer.bodySignValid).toBe(true);
    expect((await licenseRecord(code))?.status).toBe("active");
    expect(await rowCounts(LICENSE_TABLES)).toEqual(before);
  });

  it("/orders: the re-cut notification is refused before anything is stored", async () => {
    const orderId = uniqueId("CS");
    const notify = signedV2Request({ activity: "orderNotify", orderId, orderLineId: `${orderId}-000001`, testFlag: "1" }, {
      key: env.GENERAL_ACCESS_KEY,
      path: "/orders",
      nonce: nonceEndingInZero(),
    });
    const before = await rowCounts(["general_orders", "inbox", "nonces"]);
    const answer = await send(recutQuery(notify), env.GENERAL_ACCESS_KEY);
    expect(answer.json).toEqual(LEADING_ZERO);
    expect(await rowCounts(["general_orders", "inbox", "nonces"])).toEqual(before);
  });
});
