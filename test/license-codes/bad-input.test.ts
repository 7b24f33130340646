import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { readAnswer, signedV2Request } from "../support/marketplace";
import { callLicense, licenseTableCounts, makeRefresh, newLicenseCode } from "../support/license-codes";

interface Case {
  name: string;
  request: () => Request;
  code: string;
  message: RegExp;
}

const licenseRequest = (body: string | object, options: Parameters<typeof signedV2Request>[1] = {}) =>
  signedV2Request(body, { key: env.LICENSE_ACCESS_KEY, path: "/license", ...options });
const valid = () => makeRefresh(newLicenseCode());

const cases: Case[] = [
  {
    name: "unsigned",
    request: () => new Request("https://gateway.test/license", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(valid()) }),
    code: "000001",
    message: /^missing signature, timestamp, nonce$/,
  },
  { name: "signed with the SaaS key (wrong interface key)", request: () => licenseRequest(valid(), { key: env.SAAS_ACCESS_KEY }), code: "000001", message: /^signature does not match$/ },
  { name: "stale: timestamp 61 s old", request: () => licenseRequest(valid(), { timestamp: Date.now() - 61_000 }), code: "000001", message: /^timestamp is too old$/ },
  { name: "malformed JSON", request: () => licenseRequest("{activity:refreshLicenseCode"), code: "000002", message: /^request body is not valid JSON$/ },
  { name: "license missing", request: () => licenseRequest({ ...valid(), license: undefined }), code: "000002", message: /^license: required$/ },
  { name: "license of 65 characters", request: () => licenseRequest({ ...valid(), license: "L".repeat(65) }), code: "000002", message: /^license: too long \(max 64\)$/ },
  { name: "expireTime not yyyyMMddHHmmss", request: () => licenseRequest({ ...valid(), expireTime: "2028-01-31" }), code: "000002", message: /^expireTime/ },
  { name: "scene unknown", request: () => licenseRequest({ ...valid(), scene: "FOREVER" }), code: "000002", message: /^scene: must be/ },
  {
    name: "status unknown",
    request: () => licenseRequest({ activity: "updateLicenseCodeStatus", license: newLicenseCode(), status: "DELETE" }),
    code: "000002",
    message: /^status: must be/,
  },
  { name: "unknown activity", request: () => licenseRequest({ ...valid(), activity: "stealLicense" }), code: "000002", message: /^unknown activity "stealLicense"$/ },
  { name: "a SaaS activity on the license interface", request: () => licenseRequest({ ...valid(), activity: "newInstance" }), code: "000002", message: /^unknown activity "newInstance"$/ },
];

describe("bad input on POST /license: the spec's code, a clear message, signed with the license key, nothing stored", () => {
  it.each(cases)("$name → $code", async ({ request, code, message }) => {
    const before = await licenseTableCounts();
    const answer = await readAnswer(await exports.default.fetch(request()), env.LICENSE_ACCESS_KEY);
    expect(answer.status).toBe(200);
    expect(answer.bodySignValid).toBe(true);
    expect(answer.json.resultCode).toBe(code);
    expect(answer.json.resultMsg).toMatch(message);
    expect(await licenseTableCounts()).toEqual(before);
  });

  it("a replayed call (same nonce) is refused with 000001 and changes nothing", async () => {
    const body = valid();
    const nonce = `replay-${newLicenseCode()}`;
    expect((await callLicense(body, { nonce })).json.resultCode).toBe("000000");
    const before = await licenseTableCounts();
    const replay = await callLicense(body, { nonce });
    expect(replay.json).toEqual({ resultCode: "000001", resultMsg: "nonce was already used (replay)" });
    expect(replay.bodySignValid).toBe(true);
    expect(await licenseTableCounts()).toEqual(before);
  });
});
