import { describe, expect, it, vi } from "vitest";
import { LICENSE_PATHS, activateLicense, licenseHeartbeat, reportSoftwareUsage } from "../../src/marketplace-api/license.api";
import { NOW, answer, credentials, expectedAuthorization, failure, restoreMocksAfterEach } from "../support/open-api";
import { mockFetch } from "./fetch-mock";

restoreMocksAfterEach();

describe("activate (§2.4, L1)", () => {
  it("POSTs license and real_effect_time (UTC yyyyMMddHHmmss), AK/SK signed, and reads the JSON string in license_code_info", async () => {
    const info = { status: "ALIVE", expire_time: "20270601000000", product_id: "P-1", order_id: "CS-1", amount: "5", extra: "kept" };
    const seen = mockFetch(() => answer({ error_code: "92020000", error_msg: "success", data: { license_code_info: JSON.stringify(info) } }));
    const result = await activateLicense(credentials, { license: "LIC-1", realEffectTime: Date.UTC(2026, 4, 31, 23, 59, 58) }, NOW);
    expect(result).toMatchObject({ status: "ALIVE", expireTime: "20270601000000", expireAt: Date.UTC(2027, 5, 1), productId: "P-1", orderId: "CS-1", amount: 5 });
    const [request] = seen;
    if (!request) throw new Error("no request");
    expect(request.url.pathname).toBe(LICENSE_PATHS.activate);
    expect(JSON.parse(request.text)).toEqual({ license: "LIC-1", real_effect_time: "20260531235958" });
    expect(request.headers.get("authorization")).toBe(expectedAuthorization(request, "application/json", NOW));
  });

  it("tolerates license_code_info as an object, missing, or unreadable: the activation still succeeded", async () => {
    mockFetch(() => answer({ error_code: "92020000", data: { license_code_info: { status: "ALIVE", expire_time: "2027-06-01" } } }));
    expect(await activateLicense(credentials, { license: "LIC-1" }, NOW)).toMatchObject({ status: "ALIVE", expireTime: "2027-06-01", expireAt: null });
    vi.restoreAllMocks();
    mockFetch(() => answer({ error_code: "92020000", data: { license_code_info: "{not json" } }));
    expect(await activateLicense(credentials, { license: "LIC-1" }, NOW)).toMatchObject({ status: null, amount: null });
    vi.restoreAllMocks();
    const seen = mockFetch(() => answer({ error_code: "92020000" }));
    expect(await activateLicense(credentials, { license: "LIC-1" }, NOW)).toMatchObject({ status: null });
    // No real_effect_time given: the field is left out, not sent as null.
    expect(JSON.parse(seen[0]?.text ?? "")).toEqual({ license: "LIC-1" });
  });

  it.each([
    [400, "92020002", false],
    [400, "92020004", false],
    [400, "92020005", false],
    [403, "92020001", false],
    [500, "92020001", true],
    [401, "APIGW.0301", false],
  ] as const)("HTTP %i %s → retryable %s", async (status, code, retryable) => {
    mockFetch(() => answer({ error_code: code, error_msg: "x" }, status));
    expect(await failure(activateLicense(credentials, { license: "LIC-1" }, NOW))).toMatchObject({ code, retryable, api: "license.activate" });
  });
});

describe("heartbeat (L2) and software usage (L3)", () => {
  it("heartbeat reads status and times, keeps unknown fields in raw", async () => {
    const seen = mockFetch(() =>
      answer({ error_code: "92020000", data: { license_code: "LIC-1", status: "EXPIRED", activate_time: "20260101000000", expire_time: "20260501000000", new_field: 1 } }),
    );
    const result = await licenseHeartbeat(credentials, { license: "LIC-1", heartbeatInfo: { ip: "10.0.0.1" } }, NOW);
    expect(result).toMatchObject({ licenseCode: "LIC-1", status: "EXPIRED", activateAt: Date.UTC(2026, 0, 1), expireAt: Date.UTC(2026, 4, 1) });
    expect(result.raw).toMatchObject({ data: { new_field: 1 } });
    expect(seen[0]?.url.pathname).toBe(LICENSE_PATHS.heartbeat);
    expect(JSON.parse(seen[0]?.text ?? "")).toEqual({ license: "LIC-1", heartbeatInfo: { ip: "10.0.0.1" } });
  });

  it("a null field (a code never activated has no activate_time) leaves the rest readable", async () => {
    mockFetch(() => answer({ error_code: "92020000", data: { license_code: "LIC-1", status: "ALIVE", activate_time: null, expire_time: "20270101000000" } }));
    expect(await licenseHeartbeat(credentials, { license: "LIC-1" }, NOW)).toMatchObject({ licenseCode: "LIC-1", status: "ALIVE", activateTime: null, activateAt: null, expireAt: Date.UTC(2027, 0, 1) });
  });

  it("software usage sends usage_info with the documented software_usage_Info spelling, one of id / active_num per entry", async () => {
    const seen = mockFetch(() => answer({ error_code: "92020000" }));
    await reportSoftwareUsage(credentials, [{ license: "LIC-1", entries: [{ id: "host-a" }, { activeNum: 7 }] }], NOW);
    expect(seen[0]?.url.pathname).toBe(LICENSE_PATHS.softwareUsage);
    expect(JSON.parse(seen[0]?.text ?? "")).toEqual({ usage_info: [{ license: "LIC-1", software_usage_Info: [{ id: "host-a" }, { active_num: 7 }] }] });
  });

  it("refuses before sending: no licenses, more than 100, a negative count", async () => {
    const seen = mockFetch(() => answer({ error_code: "92020000" }));
    await expect(reportSoftwareUsage(credentials, [], NOW)).rejects.toBeInstanceOf(RangeError);
    const many = Array.from({ length: 101 }, (_, i) => ({ license: `L${i}`, entries: [{ activeNum: 1 }] }));
    await expect(reportSoftwareUsage(credentials, many, NOW)).rejects.toBeInstanceOf(RangeError);
    await expect(reportSoftwareUsage(credentials, [{ license: "L", entries: [{ activeNum: -1 }] }], NOW)).rejects.toBeInstanceOf(RangeError);
    expect(seen).toHaveLength(0);
  });
});
