import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type SellerRsaKey, kitNow, kitTableCounts, makeSellerRsaKey, makeV1NewInstance, sendWith, signedV1Get, v1Now } from "../support/kit";
import { uniqueId } from "../support/marketplace";
import { specV1AuthToken, specV1KitParams } from "../support/spec-signatures";

/*
 * The V1 authToken signs "name=value&name=value" of the decoded parameters, names sorted. A value holding
 * "&otherName=" reads, in that string, exactly like two parameters, and a name holding "=" like a name and a value:
 * from one captured call, a differently cut call with the same token can be built (a debug purchase whose testFlag
 * is folded into skuCode becomes a real one). Such calls are refused (000001) before anything is stored.
 */

const debugPurchase = (): Record<string, string> => makeV1NewInstance({ testFlag: "1", timeStamp: v1Now() });

/** The captured call's token on other parameters that sign to the same string. */
function withToken(params: Record<string, string>, authToken: string): Request {
  return new Request(`https://gateway.test/saas/v1?${new URLSearchParams({ ...params, authToken })}`, { method: "GET" });
}

const send = (request: Request) => sendWith(request, {}, env.SAAS_ACCESS_KEY);

describe("V1 authToken: parameters that could be cut another way are refused", () => {
  it("a debug purchase re-cut into a real one (testFlag folded into skuCode) is refused and stores nothing", async () => {
    const params = debugPurchase();
    const token = specV1AuthToken(env.SAAS_ACCESS_KEY, params);
    const { testFlag: _folded, ...rest } = params;
    const recut = { ...rest, skuCode: `${params.skuCode}&testFlag=${params.testFlag}` };
    expect(specV1AuthToken(env.SAAS_ACCESS_KEY, recut)).toBe(token);
    const before = await kitTableCounts();
    const answer = await send(withToken(recut, token));
    expect(answer.json).toEqual({ resultCode: "000001", resultMsg: 'parameter "skuCode" holds "&testFlag=": the signed parameters could be read another way' });
    expect(answer.bodySignValid).toBe(true);
    expect(await kitTableCounts()).toEqual(before);
  });

  it("a parameter name holding '=' is refused", async () => {
    const params = { ...debugPurchase(), customerName: "A=B" };
    const token = specV1AuthToken(env.SAAS_ACCESS_KEY, params);
    const { customerName: _split, ...rest } = params;
    const recut = { ...rest, "customerName=A": "B" };
    expect(specV1AuthToken(env.SAAS_ACCESS_KEY, recut)).toBe(token);
    const before = await kitTableCounts();
    const answer = await send(withToken(recut, token));
    expect(answer.json).toEqual({ resultCode: "000001", resultMsg: "a parameter name is not a plain word (letters, digits, _)" });
    expect(await kitTableCounts()).toEqual(before);
  });

  it("a value with a plain '&' or '=' (a company name, base64 padding) is still accepted", async () => {
    const answer = await send(signedV1Get({ ...debugPurchase(), customerName: "Smith & Sons = Co", saasExtendParams: "W10=" }));
    expect(answer.json.resultCode).toBe("000000");
  });

  describe("kit POST", () => {
    let rsa: SellerRsaKey;
    beforeAll(async () => {
      rsa = await makeSellerRsaKey();
    });

    it("a tenantSync whose fields are cut another way is refused and stores nothing", async () => {
      const body = {
        instanceId: uniqueId("I").toLowerCase(),
        orderId: uniqueId("CS"),
        tenantId: uniqueId("T"),
        tenantCode: "code-1",
        name: "V1 Co.",
        domainName: "https://v1.auth.example.com",
        flag: 1,
        testFlag: 0,
        timeStamp: kitNow(),
      };
      const token = specV1AuthToken(env.KIT_ACCESS_KEY, specV1KitParams(body));
      const { orderId, ...rest } = body;
      const recut = { ...rest, name: `${body.name}&orderId=${orderId}` };
      expect(specV1AuthToken(env.KIT_ACCESS_KEY, specV1KitParams(recut))).toBe(token);
      const before = await kitTableCounts();
      const request = new Request("https://gateway.test/saas/v1/produceAPI/tenantSync", {
        method: "POST",
        headers: { "Content-Type": "application/json;charset=utf8", authToken: token },
        body: JSON.stringify(recut),
      });
      const answer = await sendWith(request, { KIT_RSA_PRIVATE_KEY: rsa.pem }, env.KIT_ACCESS_KEY);
      expect(answer.json).toEqual({ resultCode: "000001", resultMsg: 'parameter "name" holds "&orderId=": the signed parameters could be read another way' });
      expect(await kitTableCounts()).toEqual(before);
    });
  });
});
