import { describe, expect, it } from "vitest";
import { errorAnswer, signedAnswer, signedAnswerText } from "../../src/protocol/answer";
import { createBodySign, verifyBodySign } from "../../src/protocol/body-sign";
import { InvalidRequestError } from "../../src/protocol/errors";
import { ResultCode } from "../../src/protocol/result-codes";
import { specBodySign } from "../support/spec-signatures";

/** §2.4 computed with WebCrypto, independently of the node:crypto HMAC the implementation uses. */
async function webCryptoBodySign(key: string, body: string): Promise<string> {
  const enc = new TextEncoder();
  const k = await crypto.subtle.importKey("raw", enc.encode(key), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", k, enc.encode(body)));
  return `sign_type="HMAC-SHA256", signature="${btoa(String.fromCharCode(...mac))}"`;
}

describe("Body-Sign (§2.4)", () => {
  it("matches fixed values computed outside this code base (Python hmac, spec §10 body_sign_header)", () => {
    expect(createBodySign("test-access-key", '{"resultCode":"000000","resultMsg":"success"}')).toBe(
      'sign_type="HMAC-SHA256", signature="KaWC3AdLm27f2zyDh9nSzSQJGoKJ3fSbvm0mLcF0O1E="',
    );
    // Leading and trailing whitespace and non-ASCII are signed exactly as sent, as UTF-8.
    expect(createBodySign("test-access-key", ' {"resultMsg":"成功"}\t')).toBe(
      'sign_type="HMAC-SHA256", signature="MaReQ+OLrURNX+rRM5jawNCC3hVqstn49nQXfux6nBU="',
    );
  });

  it("matches a WebCrypto computation for bodies of every kind, as text and as bytes", async () => {
    for (const body of ["", "{}", '{"resultCode":"000004","resultMsg":"processing","instanceId":"abc"}', "  \n", "é€😀"]) {
      const expected = await webCryptoBodySign("k", body);
      expect(createBodySign("k", body)).toBe(expected);
      expect(createBodySign("k", new TextEncoder().encode(body))).toBe(expected);
      expect(specBodySign("k", body)).toBe(expected);
    }
  });

  it("verifies an independently made header and refuses other keys, bodies and formats", async () => {
    const body = '{"resultCode":"000000"}';
    const header = await webCryptoBodySign("k", body);
    expect(verifyBodySign("k", body, header)).toBe(true);
    expect(verifyBodySign("other", body, header)).toBe(false);
    expect(verifyBodySign("k", `${body} `, header)).toBe(false);
    expect(verifyBodySign("k", body, header.replace(", ", ","))).toBe(false);
    expect(verifyBodySign("k", body, header.replace(/"/g, ""))).toBe(false);
    expect(verifyBodySign("k", body, header.replace("HMAC-SHA256", "hmac-sha256"))).toBe(false);
    expect(verifyBodySign("k", body, null)).toBe(false);
  });

  it("puts the header on every answer, over the exact bytes sent", async () => {
    for (const response of [
      signedAnswer({ resultCode: ResultCode.Success, resultMsg: "success" }, "k"),
      signedAnswerText(' {"resultCode":"000000"} ', "k"),
      errorAnswer(new InvalidRequestError("bad"), "k"),
    ]) {
      const text = await response.text();
      expect(response.headers.get("Body-Sign")).toBe(await webCryptoBodySign("k", text));
      expect(response.headers.get("Content-Type")).toMatch(/^application\/json/);
    }
  });
});
