import { describe, expect, it } from "vitest";
import {
  canonicalQueryString,
  canonicalUri,
  formatSdkDate,
  percentEncode,
  signAkSk,
  type AkSkSignInput,
} from "../../src/protocol/aksk-signer";

const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

// Independent of node:crypto, which the implementation uses.
async function sha256HexWebCrypto(data: string | Uint8Array): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function makeInput(overrides: Partial<AkSkSignInput> = {}): AkSkSignInput {
  return {
    method: "GET",
    url: "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/order/query?orderId=CS1&orderLineId=CS1-000001",
    headers: { "Content-Type": "application/json" },
    body: "",
    ak: "TESTAK0000000000",
    sk: "test-marketplace-sk",
    sdkDate: new Date(Date.UTC(2026, 10, 20, 8, 15, 30)),
    ...overrides,
  };
}

describe("AK/SK signer: worked values of marketplace-open-apis §1.2.5", () => {
  it("(a) Huawei documentation example: canonical request, its SHA-256, string to sign, Authorization", async () => {
    const result = signAkSk({
      method: "GET",
      url: "https://service.region.example.com/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs?limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
      headers: { "Content-Type": "application/json", Host: "service.region.example.com" },
      body: "",
      ak: "QTWAOYTTINDUT2QVKYUC",
      sk: "MFyfvK41ba2giqM7Uio6PznpdUKGpownRZlmVmHc",
      sdkDate: new Date(Date.UTC(2019, 10, 15, 3, 36, 55)),
    });
    expect(result.canonicalRequest).toBe(
      [
        "GET",
        "/v1/77b6a44cba5143ab91d13ab9a8ff44fd/vpcs/",
        "limit=2&marker=13551d6b-755d-4757-b956-536f674975c0",
        "content-type:application/json",
        "host:service.region.example.com",
        "x-sdk-date:20191115T033655Z",
        "",
        "content-type;host;x-sdk-date",
        EMPTY_SHA256,
      ].join("\n"),
    );
    const canonicalHash = "b25362e603ee30f4f25e7858e8a7160fd36e803bb2dfe206278659d71a9bcd7a";
    expect(await sha256HexWebCrypto(result.canonicalRequest)).toBe(canonicalHash);
    expect(result.stringToSign).toBe(`SDK-HMAC-SHA256\n20191115T033655Z\n${canonicalHash}`);
    expect(result.signature).toBe("7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe");
    expect(result.authorization).toBe(
      "SDK-HMAC-SHA256 Access=QTWAOYTTINDUT2QVKYUC, SignedHeaders=content-type;host;x-sdk-date, " +
        "Signature=7be6668032f70418fcc22abc52071e57aff61b84a1d2381bb430d6870f4f6ebe",
    );
    expect(result.headers).toEqual({
      "Content-Type": "application/json",
      Host: "service.region.example.com",
      "X-Sdk-Date": "20191115T033655Z",
      Authorization: result.authorization,
    });
  });

  it("(b) Marketplace host, license/activate (G1 gem): canonical request and signature", () => {
    const result = signAkSk({
      method: "POST",
      url: "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/license/activate",
      headers: { "x-stage": "RELEASE", "Content-Type": "application/json", Host: "mkt.myhuaweicloud.com" },
      body: "",
      ak: "test",
      sk: "123",
      sdkDate: new Date(Date.UTC(2024, 2, 17, 14, 42, 37)),
    });
    expect(result.canonicalRequest).toBe(
      [
        "POST",
        "/api/mkp-openapi-public/global/v1/license/activate/",
        "",
        "content-type:application/json",
        "host:mkt.myhuaweicloud.com",
        "x-sdk-date:20240317T144237Z",
        "x-stage:RELEASE",
        "",
        "content-type;host;x-sdk-date;x-stage",
        EMPTY_SHA256,
      ].join("\n"),
    );
    expect(result.signature).toBe("77595ad624b6e4e49990b8c4e84bf1c287457fca61069c4e60b9b6765b52053d");
    expect(result.authorization).toBe(
      "SDK-HMAC-SHA256 Access=test, SignedHeaders=content-type;host;x-sdk-date;x-stage, " +
        "Signature=77595ad624b6e4e49990b8c4e84bf1c287457fca61069c4e60b9b6765b52053d",
    );
  });

  const g2 = {
    url: "https://service.endpoint.myhuaweicloud.com/resources?size=1",
    headers: {},
    ak: "AccessKey",
    sk: "SecretKey",
    sdkDate: new Date(Date.UTC(2020, 5, 8, 2, 39, 0)),
  };

  it("(c) G2 GET with an empty body, host taken from the URL", () => {
    const result = signAkSk({ ...g2, method: "GET", body: "" });
    expect(result.signedHeaders).toBe("host;x-sdk-date");
    expect(result.canonicalRequest).toBe(
      ["GET", "/resources/", "size=1", "host:service.endpoint.myhuaweicloud.com", "x-sdk-date:20200608T023900Z", "", "host;x-sdk-date", EMPTY_SHA256].join("\n"),
    );
    expect(result.signature).toBe("cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842");
    expect(result.headers).toEqual({ "X-Sdk-Date": "20200608T023900Z", Host: "service.endpoint.myhuaweicloud.com", Authorization: result.authorization });
  });

  it("(c) G2 POST with a JSON body, as a string and as the same bytes", async () => {
    const body = '{"name":"test","id":1}';
    const fromString = signAkSk({ ...g2, method: "POST", body });
    expect(fromString.canonicalRequest.endsWith(`\n${await sha256HexWebCrypto(body)}`)).toBe(true);
    expect(fromString.signature).toBe("436b1ac0a1ae03705934bb70ef2f2e09f7bfed2117d731a38235053199323a1f");
    expect(signAkSk({ ...g2, method: "POST", body: new TextEncoder().encode(body) }).signature).toBe(fromString.signature);
  });
});

describe("AK/SK signer: canonical parts", () => {
  it("formats X-Sdk-Date in UTC, dropping milliseconds, and refuses dates it cannot write", () => {
    expect(formatSdkDate(new Date(Date.UTC(2019, 10, 15, 3, 36, 55, 999)))).toBe("20191115T033655Z");
    expect(formatSdkDate(new Date("2026-01-02T23:59:59.001+08:00"))).toBe("20260102T155959Z");
    expect(formatSdkDate(new Date(Date.UTC(2024, 1, 29, 0, 0, 0)))).toBe("20240229T000000Z");
    expect(() => formatSdkDate(new Date(Number.NaN))).toThrow(RangeError);
    expect(() => formatSdkDate(new Date(Date.UTC(10000, 0, 1)))).toThrow(RangeError);
  });

  it("percent-encodes UTF-8 with upper-case hex, keeping only the unreserved characters", () => {
    expect(percentEncode("AZaz09-_.~")).toBe("AZaz09-_.~");
    expect(percentEncode("a b+c/d?e=f&g*h'i!(j)")).toBe("a%20b%2Bc%2Fd%3Fe%3Df%26g%2Ah%27i%21%28j%29");
    expect(percentEncode("é日😀")).toBe("%C3%A9%E6%97%A5%F0%9F%98%80");
    expect(percentEncode("\u00ff")).toBe("%C3%BF");
  });

  it("canonical URI: per-segment encoding, trailing slash for signing only, no double encoding", () => {
    expect(canonicalUri("/")).toBe("/");
    expect(canonicalUri("/a/b/")).toBe("/a/b/");
    expect(canonicalUri("/a//b")).toBe("/a//b/");
    expect(canonicalUri("/a!$&()*+,;=:@/[x]")).toBe("/a%21%24%26%28%29%2A%2B%2C%3B%3D%3A%40/%5Bx%5D/");
    // Already encoded (lower- or upper-case hex) is decoded first, so it comes out once-encoded and upper-case.
    expect(canonicalUri("/a%20b/%e6%97%a5/%7E")).toBe("/a%20b/%E6%97%A5/~/");
    // An encoded slash stays inside its segment; a stray % is encoded itself; non-UTF-8 escapes stay byte-exact.
    expect(canonicalUri("/a%2Fb/50%/%FF")).toBe("/a%2Fb/50%25/%FF/");
    expect(canonicalUri("/é/日本")).toBe("/%C3%A9/%E6%97%A5%E6%9C%AC/");
  });

  it("canonical query: sorted by name then value, repeated names kept, empty values keep their =", () => {
    expect(canonicalQueryString("")).toBe("");
    expect(canonicalQueryString("?b=2&a=1&B=3")).toBe("B=3&a=1&b=2");
    expect(canonicalQueryString("?k=2&k=10&k=1&k=")).toBe("k=&k=1&k=10&k=2");
    expect(canonicalQueryString("?flag&empty=&x=1")).toBe("empty=&flag=&x=1");
    expect(canonicalQueryString("?q=a+b&r=a%20b&s=a%2Bb")).toBe("q=a%20b&r=a%20b&s=a%2Bb");
    expect(canonicalQueryString("?n%C3%A4me=%E6%97%A5&t=%7e*")).toBe("n%C3%A4me=%E6%97%A5&t=~%2A");
  });
});

describe("AK/SK signer: what a wrong implementation would get wrong", () => {
  const base = signAkSk(makeInput());

  it("signature and hashes are 64 lower-case hex characters", () => {
    expect(base.signature).toMatch(/^[0-9a-f]{64}$/);
    expect(base.stringToSign.split("\n")[2]).toMatch(/^[0-9a-f]{64}$/);
    expect(base.canonicalRequest.split("\n").at(-1)).toMatch(/^[0-9a-f]{64}$/);
  });

  it("one changed query value, path character, body byte, header value, method, date or key changes the signature", () => {
    const variants: Partial<AkSkSignInput>[] = [
      { url: "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/order/query?orderId=CS1&orderLineId=CS1-000002" },
      { url: "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/order/querY?orderId=CS1&orderLineId=CS1-000001" },
      { url: "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/order/query?orderId=CS1&orderLineId=CS1-000001&x=" },
      { url: "https://mkt-intl.myhuaweicloud.com/api/mkp-openapi-public/global/v1/order/query?orderId=CS1&orderLineId=CS1-000001" },
      { body: " " },
      { headers: { "Content-Type": "application/json; charset=utf-8" } },
      { method: "POST" },
      { sdkDate: new Date(Date.UTC(2026, 10, 20, 8, 15, 31)) },
      { sk: "test-marketplace-sk2" },
    ];
    const signatures = variants.map((overrides) => signAkSk(makeInput(overrides)).signature);
    for (const signature of signatures) expect(signature).not.toBe(base.signature);
    expect(new Set(signatures).size).toBe(variants.length);
  });

  it("query order, header order, header-name case, surrounding whitespace and method case do not matter", () => {
    const reordered = signAkSk(
      makeInput({
        method: "get",
        url: "https://mkt.myhuaweicloud.com/api/mkp-openapi-public/global/v1/order/query?orderLineId=CS1-000001&orderId=CS1",
        headers: { "content-TYPE": "  application/json\t" },
      }),
    );
    expect(reordered.signature).toBe(base.signature);
    expect(reordered.canonicalRequest.startsWith("GET\n")).toBe(true);
    // The URL object and the string are the same request.
    expect(signAkSk(makeInput({ url: new URL(String(makeInput().url)) })).signature).toBe(base.signature);
  });

  it("a path sent without its trailing slash signs like the same path with it; percent-encoded and raw paths agree", () => {
    const host = "https://mkt.myhuaweicloud.com";
    expect(signAkSk(makeInput({ url: `${host}/v1/x` })).signature).toBe(signAkSk(makeInput({ url: `${host}/v1/x/` })).signature);
    expect(signAkSk(makeInput({ url: `${host}/v1/日本` })).signature).toBe(signAkSk(makeInput({ url: `${host}/v1/%E6%97%A5%E6%9C%AC` })).signature);
    expect(signAkSk(makeInput({ url: `${host}/v1/a%2Fb` })).signature).not.toBe(signAkSk(makeInput({ url: `${host}/v1/a/b` })).signature);
  });

  it("hashes a non-ASCII body as its UTF-8 bytes", async () => {
    const body = '{"name":"云商店 é 😀"}';
    const result = signAkSk(makeInput({ method: "POST", body }));
    expect(result.canonicalRequest.split("\n").at(-1)).toBe(await sha256HexWebCrypto(new TextEncoder().encode(body)));
    expect(signAkSk(makeInput({ method: "POST", body: new TextEncoder().encode(body) })).signature).toBe(result.signature);
  });

  it("signs every given header plus host and x-sdk-date, sorted by lower-case name", () => {
    const result = signAkSk(makeInput({ headers: { "X-Stage": "RELEASE", "Content-Type": "application/json", Accept: "*/*" } }));
    expect(result.signedHeaders).toBe("accept;content-type;host;x-sdk-date;x-stage");
    expect(result.canonicalRequest).toContain(
      "\naccept:*/*\ncontent-type:application/json\nhost:mkt.myhuaweicloud.com\nx-sdk-date:20261120T081530Z\nx-stage:RELEASE\n\n",
    );
  });

  it("Host carries a non-default port and omits the default one, as fetch sends it", () => {
    expect(signAkSk(makeInput({ url: "http://127.0.0.1:8788/x" })).headers["Host"]).toBe("127.0.0.1:8788");
    expect(signAkSk(makeInput({ url: "https://mkt.myhuaweicloud.com:443/x" })).headers["Host"]).toBe("mkt.myhuaweicloud.com");
  });

  it("uses X-Sdk-Content-Sha256 as the payload hash when given, as the gateway does", () => {
    const result = signAkSk(makeInput({ method: "POST", body: "ignored", headers: { "X-Sdk-Content-Sha256": "UNSIGNED-PAYLOAD" } }));
    expect(result.canonicalRequest.endsWith("\nhost;x-sdk-content-sha256;x-sdk-date\nUNSIGNED-PAYLOAD")).toBe(true);
  });

  it("returns new headers and leaves the caller's object alone", () => {
    const headers = { "Content-Type": "application/json" };
    const result = signAkSk(makeInput({ headers }));
    expect(headers).toEqual({ "Content-Type": "application/json" });
    expect(Object.keys(result.headers)).toEqual(["Content-Type", "X-Sdk-Date", "Host", "Authorization"]);
    expect(result.headers["Authorization"]).toBe(
      `SDK-HMAC-SHA256 Access=TESTAK0000000000, SignedHeaders=content-type;host;x-sdk-date, Signature=${result.signature}`,
    );
  });

  it("refuses inputs that could only produce a request the gateway rejects", () => {
    expect(() => signAkSk(makeInput({ headers: { "X-Sdk-Date": "20200101T000000Z" } }))).toThrow(TypeError);
    expect(() => signAkSk(makeInput({ headers: { authorization: "x" } }))).toThrow(TypeError);
    expect(() => signAkSk(makeInput({ headers: { "X-A": "1", "x-a": "2" } }))).toThrow(/twice/);
    expect(() => signAkSk(makeInput({ headers: { "X-A": "1\r\nX-B: 2" } }))).toThrow(TypeError);
    expect(() => signAkSk(makeInput({ headers: { "bad name": "1" } }))).toThrow(TypeError);
    expect(() => signAkSk(makeInput({ ak: "" }))).toThrow(TypeError);
    expect(() => signAkSk(makeInput({ sk: "" }))).toThrow(TypeError);
    expect(() => signAkSk(makeInput({ method: "GET /" }))).toThrow(TypeError);
    expect(() => signAkSk(makeInput({ url: "ftp://mkt.myhuaweicloud.com/x" }))).toThrow(TypeError);
  });
});
