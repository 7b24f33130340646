import { describe, expect, it } from "vitest";
import { answerText, queryAnswerText } from "../../src/dialects/answers";
import { decryptV1Field } from "../../src/protocol/v1-field-crypto";

const appInfo = { frontEndUrl: "https://app.example.com/t/1", adminUrl: "https://app.example.com/admin", userName: "admin-1", password: "S3cret!pass" };
const outcome = { resultCode: "000000", resultMsg: "success", instanceId: "i-1", appInfo };

describe("V1 answers", () => {
  it("encrypt userName and password per encryptType (2 = AES-128), deterministically", () => {
    const context = { dialect: "v1", accessKey: "answer-test-key", encryptType: "2" } as const;
    const text = answerText(context, outcome);
    expect(answerText(context, outcome)).toBe(text);
    const json = JSON.parse(text);
    expect(Object.keys(json)).toEqual(["resultCode", "resultMsg", "encryptType", "instanceId", "appInfo"]);
    expect(json.encryptType).toBe("2");
    expect(json.appInfo.frontEndUrl).toBe(appInfo.frontEndUrl);
    expect(json.appInfo.adminUrl).toBe(appInfo.adminUrl);
    expect(decryptV1Field("answer-test-key", json.appInfo.password, "2")).toBe("S3cret!pass");
    expect(decryptV1Field("answer-test-key", json.appInfo.userName, "2")).toBe("admin-1");
    expect(() => decryptV1Field("answer-test-key", json.appInfo.password, "1")).toThrow();
    // Within the 128 characters the spec allows for the full IV + ciphertext.
    expect(json.appInfo.password.length).toBeLessThanOrEqual(128);
  });

  it("leave appInfo to queryInstance in V2, and encrypt it there only for V1", () => {
    expect(JSON.parse(answerText({ dialect: "v2" }, outcome))).toEqual({ resultCode: "000000", resultMsg: "success", instanceId: "i-1" });
    const v1 = JSON.parse(queryAnswerText({ dialect: "v1", accessKey: "k", encryptType: "1" }, "000000", "success", [{ instanceId: "i-1", appInfo }, { instanceId: "i-2" }]));
    expect(v1.encryptType).toBe("1");
    expect(decryptV1Field("k", v1.info[0].appInfo.password, "1")).toBe("S3cret!pass");
    expect(v1.info[1]).toEqual({ instanceId: "i-2" });
    const v2 = JSON.parse(queryAnswerText({ dialect: "v2" }, "000000", "success", [{ instanceId: "i-1", appInfo }]));
    expect(v2.info[0].appInfo.password).toBe("S3cret!pass");
  });
});
