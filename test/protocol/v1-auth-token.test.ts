import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/protocol/errors";
import { createV1AuthToken, v1KitBodyParams, v1QueryParams, verifyV1AuthToken } from "../../src/protocol/v1-auth-token";
import { specV1AuthToken, specV1KitParams } from "../support/spec-signatures";

/** §5.1 computed with WebCrypto, from the spec's text, independently of the implementation. */
async function webCryptoToken(key: string, params: Record<string, string>): Promise<string> {
  const names = Object.keys(params).filter((n) => n !== "authToken").sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const enc = new TextEncoder();
  const k = await crypto.subtle.importKey("raw", enc.encode(key + params.timeStamp), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(names.map((n) => `${n}=${params[n]}`).join("&"))));
  return btoa(String.fromCharCode(...mac));
}

// Parameters of a V1 newInstance, with an empty one, a non-ASCII one, a decoded "+" and a capitalised name (sorts first).
const GET_PARAMS = {
  activity: "newInstance",
  customerId: "68cbc86abc2018ab880d92f36422fa0e",
  businessId: "61e834ba-7b96-4a93-b8ac-6b6ae4f4e1a3",
  orderId: "CS1906666666ABCDE",
  productId: "00301-666666-0--0",
  skuCode: "c0a2ae50-c7f6-4f8f-9e17-e8b2e5f1a6e5",
  testFlag: "1",
  timeStamp: "20240530120000123",
  customerName: "张 三+x",
  userName: "",
  Zeta: "A",
};

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return error instanceof GatewayError ? `${error.code}:${error.message}` : "not a GatewayError";
  }
  return undefined;
}

describe("V1 authToken (§5.1)", () => {
  it("matches a fixed value computed outside this code base (Python, spec §10 v1_auth_token)", () => {
    expect(createV1AuthToken("test-access-key", GET_PARAMS)).toBe("Ef/jcH4ceke5lYSs5RzUqmPfwLoy2Lp8WAtUTFG41aw=");
  });

  it("matches a WebCrypto computation, authToken itself left out of the message", async () => {
    const expected = await webCryptoToken("test-access-key", GET_PARAMS);
    expect(createV1AuthToken("test-access-key", GET_PARAMS)).toBe(expected);
    expect(createV1AuthToken("test-access-key", { ...GET_PARAMS, authToken: "anything" })).toBe(expected);
    expect(specV1AuthToken("test-access-key", GET_PARAMS)).toBe(expected);
  });

  it("reads GET parameters URL-decoded, empty ones included, '+' as a space", async () => {
    const url = new URL("https://gateway.test/saas/v1?activity=releaseInstance&instanceId=i%2C1&orderId=&note=a+b%2Bc&timeStamp=20240530120000123");
    const params = v1QueryParams(url);
    expect(params).toEqual({ activity: "releaseInstance", instanceId: "i,1", orderId: "", note: "a b+c", timeStamp: "20240530120000123" });
    expect(createV1AuthToken("k", params)).toBe(await webCryptoToken("k", params));
  });

  it("reads a kit body's top-level fields, blanks skipped, lists as compact JSON (fixed value from Python)", async () => {
    const body = {
      instanceId: "ins-1",
      tenantId: "t1",
      tenantCode: "",
      flag: 1,
      testFlag: 0,
      timeStamp: "20220420114117642",
      domainName: null,
      userList: [{ userName: "a", role: "x" }],
    };
    const params = v1KitBodyParams(body);
    expect(params).toEqual(specV1KitParams(body));
    expect(params).toEqual({ instanceId: "ins-1", tenantId: "t1", flag: "1", testFlag: "0", timeStamp: "20220420114117642", userList: '[{"userName":"a","role":"x"}]' });
    expect(createV1AuthToken("kit-key", params)).toBe("FCo9jT/O9vZxZFfTqj7Ervy4JGSmQpwLpLoVtYt9/C8=");
    expect(createV1AuthToken("kit-key", params)).toBe(await webCryptoToken("kit-key", params));
  });

  it("verifies an independently made token, with a '+' that arrived as a space, and refuses anything else", async () => {
    const token = await webCryptoToken("test-access-key", GET_PARAMS);
    expect(codeOf(() => verifyV1AuthToken("test-access-key", GET_PARAMS, token))).toBeUndefined();
    let withPlus = { ...GET_PARAMS };
    let plusToken = token;
    for (let i = 0; !plusToken.includes("+"); i += 1) {
      withPlus = { ...GET_PARAMS, orderId: `CS${i}` };
      plusToken = await webCryptoToken("test-access-key", withPlus);
    }
    expect(codeOf(() => verifyV1AuthToken("test-access-key", withPlus, plusToken.replace(/\+/g, " ")))).toBeUndefined();
    expect(codeOf(() => verifyV1AuthToken("other-key", GET_PARAMS, token))).toBe("000001:authToken does not match");
    expect(codeOf(() => verifyV1AuthToken("test-access-key", { ...GET_PARAMS, orderId: "CS2" }, token))).toBe("000001:authToken does not match");
    expect(codeOf(() => verifyV1AuthToken("test-access-key", GET_PARAMS, null))).toBe("000001:missing authToken");
    const { timeStamp: _ts, ...noTime } = GET_PARAMS;
    expect(codeOf(() => verifyV1AuthToken("test-access-key", noTime, token))).toBe("000001:missing timeStamp");
  });
});
