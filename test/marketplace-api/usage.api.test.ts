import { env } from "cloudflare:workers";
import { describe, expect, it, vi } from "vitest";
import { getSettings } from "../../src/env";
import {
  MAX_RECORDS_PER_PUSH,
  USAGE_PUSH_PATHS,
  type UsagePushConfig,
  type UsageRecordToPush,
  meaningOfDuplicate,
  pushUsage,
  usagePushConfigOf,
} from "../../src/marketplace-api/usage.api";
import { canonicalUsageBody, verifyUsagePushHeaders } from "../../src/protocol/usage-push-signature";
import { answer, credentials, expectedAuthorization, failure, restoreMocksAfterEach } from "../support/open-api";
import { failFetch, mockFetch } from "./fetch-mock";

restoreMocksAfterEach();

const NOW = new Date(Date.UTC(2026, 5, 1, 10, 5, 0));
const BEGIN = Date.UTC(2026, 5, 1, 9, 0, 0);
const config: UsagePushConfig = { ...credentials, usagePushKey: "push-key", api: "new" };

let serial = 0;
function makeRecord(overrides: Partial<UsageRecordToPush> = {}): UsageRecordToPush {
  serial += 1;
  return {
    instanceId: `inst-${serial}`,
    recordTime: BEGIN + 3_600_000 + 60_000,
    beginTime: BEGIN,
    endTime: BEGIN + 3_600_000,
    usageValue: "3.25",
    meteringSn: `sn-${serial}`,
    productId: "00301-P-0--0",
    ...overrides,
  };
}

describe("request shape", () => {
  it("new: POST to the new path, signature/ts/nonce over the exact canonical body, no AK/SK, times in UTC open-API format", async () => {
    const seen = mockFetch(() => answer({ error_code: "MKT.0000", error_msg: "success" }));
    const record = makeRecord({ relatePkgInstance: "pkg-9" });
    await pushUsage(config, [record], NOW);
    expect(seen).toHaveLength(1);
    const [request] = seen;
    if (!request) throw new Error("no request");
    expect(request.method).toBe("POST");
    expect(request.url.href).toBe(`https://mkt.example.test${USAGE_PUSH_PATHS.new}`);
    expect(request.headers.get("content-type")).toBe("application/json");
    expect(request.headers.get("ts")).toBe(String(NOW.getTime()));
    expect(request.headers.get("nonce")).toMatch(/^[0-9a-f-]{36}$/);
    expect(request.headers.get("authorization")).toBeNull();
    expect(verifyUsagePushHeaders("push-key", request.body, request.headers)).toBe(true);
    expect(verifyUsagePushHeaders("other-key", request.body, request.headers)).toBe(false);
    // Keys sorted, compact, product_id absent: the canonical form is what goes on the wire, byte for byte.
    expect(request.text).toBe(
      '{"usage_records":[{"begin_time":"20260601T090000Z","end_time":"20260601T100000Z","instance_id":"inst-' +
        record.instanceId.slice(5) +
        '","metering_sn":"' +
        record.meteringSn +
        '","record_time":"20260601T100100Z","relate_pkg_instance":"pkg-9","usage_value":"3.25"}]}',
    );
  });

  it("a fresh nonce per call", async () => {
    const seen = mockFetch(() => answer({ error_code: "MKT.0000" }));
    await pushUsage(config, [makeRecord()], NOW);
    await pushUsage(config, [makeRecord()], NOW);
    expect(seen[0]?.headers.get("nonce")).not.toBe(seen[1]?.headers.get("nonce"));
  });

  it("old: POST to the old path, AK/SK signed over the body, product_id instead of metering_sn", async () => {
    const seen = mockFetch(() => answer({ error_code: "MKT.0000" }));
    const record = makeRecord();
    await pushUsage({ ...config, api: "old" }, [record], NOW);
    const [request] = seen;
    if (!request) throw new Error("no request");
    expect(request.url.pathname).toBe(USAGE_PUSH_PATHS.old);
    expect(request.headers.get("signature")).toBeNull();
    const body = JSON.parse(request.text) as { usage_records: Record<string, unknown>[] };
    expect(body.usage_records[0]).toEqual({
      begin_time: "20260601T090000Z",
      end_time: "20260601T100000Z",
      instance_id: record.instanceId,
      product_id: record.productId,
      record_time: "20260601T100100Z",
      usage_value: "3.25",
    });
    expect(request.headers.get("authorization")).toBe(expectedAuthorization(request, "application/json", NOW));
    expect(request.headers.get("x-sdk-date")).toBe("20260601T100500Z");
  });

  it("the setting USAGE_PUSH_API chooses the endpoint; new is the default", () => {
    const settings = getSettings(env);
    expect(usagePushConfigOf(settings)).toEqual({
      api: "new",
      usagePushKey: settings.keys.usagePush,
      ak: env.MARKETPLACE_AK,
      sk: env.MARKETPLACE_SK,
      apiBase: settings.marketplace.apiBase,
    });
    expect(usagePushConfigOf(getSettings({ ...env, USAGE_PUSH_API: "old" })).api).toBe("old");
  });
});

describe("local checks (nothing sent for what the Marketplace would refuse)", () => {
  it("usage values and time ranges the Marketplace would refuse are rejected with its record codes, the rest sent", async () => {
    const seen = mockFetch(() => answer({ error_code: "MKT.0000" }));
    const good = makeRecord({ usageValue: "0.0001" });
    const largest = makeRecord({ usageValue: "99999999.9999" });
    const bad = [
      // Double(12,4) (open-apis §2.3.1): the Marketplace refuses more than 99,999,999.9999 after the fact.
      makeRecord({ usageValue: "120000000" }),
      makeRecord({ usageValue: "0" }),
      makeRecord({ usageValue: "0.0000" }),
      makeRecord({ usageValue: "1.23456" }),
      makeRecord({ usageValue: "-1" }),
      makeRecord({ usageValue: "1e3" }),
      makeRecord({ usageValue: "01" }),
      makeRecord({ beginTime: BEGIN + 7_200_000 }),
      makeRecord({ recordTime: Number.NaN }),
      makeRecord({ instanceId: "" }),
    ];
    const result = await pushUsage(config, [...bad, good, largest], NOW);
    expect(result.accepted).toEqual([good.meteringSn, largest.meteringSn]);
    expect(result.rejected.map((r) => r.code)).toEqual(["003", "003", "003", "003", "003", "003", "003", "011", "002", "001"]);
    expect(result.rejected.every((r) => r.message.startsWith("refused locally"))).toBe(true);
    const sent = JSON.parse(seen[0]?.text ?? "{}") as { usage_records: unknown[] };
    expect(sent.usage_records).toHaveLength(2);
  });

  it("all records refused locally: no call at all; an empty list: no call", async () => {
    const seen = mockFetch(() => answer({ error_code: "MKT.0000" }));
    expect((await pushUsage(config, [makeRecord({ usageValue: "0" })], NOW)).rejected).toHaveLength(1);
    expect(await pushUsage(config, [], NOW)).toEqual({ accepted: [], rejected: [] });
    expect(seen).toHaveLength(0);
  });

  it("more than 1000 records: MKT.9003, final, unsent", async () => {
    const seen = mockFetch(() => answer({ error_code: "MKT.0000" }));
    const records = Array.from({ length: MAX_RECORDS_PER_PUSH + 1 }, () => makeRecord());
    expect(await failure(pushUsage(config, records, NOW))).toMatchObject({ code: "MKT.9003", retryable: false });
    expect(seen).toHaveLength(0);
  });

  it("a repeated metering_sn in one call is a programming error; the old API without product ids is MKT.0101", async () => {
    const record = makeRecord();
    mockFetch(() => answer({ error_code: "MKT.0000" }));
    await expect(pushUsage(config, [record, { ...record }], NOW)).rejects.toBeInstanceOf(TypeError);
    const noProduct = makeRecord({ productId: undefined });
    expect(await failure(pushUsage({ ...config, api: "old" }, [noProduct], NOW))).toMatchObject({ code: "MKT.0101", retryable: false });
  });
});

describe("answer mapping", () => {
  it("MKT.0000 without details: everything sent is accepted", async () => {
    mockFetch(() => answer({ error_code: "MKT.0000", error_msg: "success" }));
    const records = [makeRecord(), makeRecord()];
    expect(await pushUsage(config, records, NOW)).toEqual({ accepted: records.map((r) => r.meteringSn), rejected: [] });
  });

  it("MKT.0000 with abnormal_usage_data: the listed records are rejected, the rest accepted", async () => {
    const records = [makeRecord(), makeRecord(), makeRecord()];
    mockFetch(() =>
      answer({
        error_code: "MKT.0000",
        error_msg: "success",
        abnormal_usage_data: [{ metering_sn: records[1]?.meteringSn, error_code: "001", error_msg: "instance does not exist" }],
      }),
    );
    expect(await pushUsage(config, records, NOW)).toEqual({
      accepted: [records[0]?.meteringSn, records[2]?.meteringSn],
      rejected: [{ meteringSn: records[1]?.meteringSn, code: "001", message: "instance does not exist" }],
    });
  });

  it("94060999 with details under other likely spellings: camelCase names, numeric codes padded to three digits", async () => {
    const records = [makeRecord(), makeRecord(), makeRecord()];
    mockFetch(() =>
      answer({
        error_code: "94060999",
        error_msg: "Failed",
        abnormalUsageData: [
          { meteringSn: records[0]?.meteringSn, errorCode: 5, errorMsg: "duplicate" },
          { meteringSn: records[2]?.meteringSn, code: "10", message: "duplicate record" },
        ],
      }),
    );
    const result = await pushUsage(config, records, NOW);
    expect(result.accepted).toEqual([records[1]?.meteringSn]);
    expect(result.rejected).toEqual([
      { meteringSn: records[0]?.meteringSn, code: "005", message: "duplicate" },
      { meteringSn: records[2]?.meteringSn, code: "010", message: "duplicate record" },
    ]);
    // Both delivered before; the 010 record's period was delivered under no record of ours: a conflict.
    expect(result.rejected.map((r) => meaningOfDuplicate(r, { snDelivered: true, samePeriodSn: null }))).toEqual(["accepted", "conflict"]);
  });

  it("94060999 without record details, or details naming no record we sent: retryable, nothing assumed", async () => {
    mockFetch(() => answer({ error_code: "94060999", error_msg: "Failed" }));
    expect(await failure(pushUsage(config, [makeRecord()], NOW))).toMatchObject({ code: "94060999", retryable: true });
    vi.restoreAllMocks();
    mockFetch(() => answer({ error_code: "94060999", abnormal_usage_data: [{ id: "x", error_code: "001" }] }));
    expect(await failure(pushUsage(config, [makeRecord()], NOW))).toMatchObject({ code: "94060999", retryable: true });
    vi.restoreAllMocks();
    mockFetch(() => answer({ error_code: "MKT.0000", abnormal_usage_data: [{ metering_sn: "never-sent", error_code: "001" }] }));
    expect(await failure(pushUsage(config, [makeRecord()], NOW))).toMatchObject({ code: "MKT.0000", retryable: true });
  });

  it.each([
    [400, "MKT.0102", false],
    [400, "MKT.0101", false],
    [401, "MKT.0150", false],
    [500, "MKT.0100", false],
    [500, "MKT.9001", false],
    [500, "MKT.9004", false],
    [500, "MKT.0999", true],
    [406, "CBC.0250", true],
    [429, "APIGW.0308", true],
    [401, "APIGW.0301", false],
    [503, "", true],
  ] as const)("HTTP %i %s → retryable %s", async (status, code, retryable) => {
    mockFetch(() => answer(code ? { error_code: code, error_msg: "x" } : {}, status));
    const error = await failure(pushUsage(config, [makeRecord()], NOW));
    expect(error).toMatchObject({ code: code || `HTTP_${status}`, retryable, httpStatus: status });
  });

  it("not JSON: 502 retryable, 200 final; network error retryable", async () => {
    mockFetch(() => new Response("<html>bad gateway</html>", { status: 502 }));
    expect(await failure(pushUsage(config, [makeRecord()], NOW))).toMatchObject({ code: "HTTP_502", retryable: true });
    vi.restoreAllMocks();
    mockFetch(() => new Response("ok", { status: 200 }));
    expect(await failure(pushUsage(config, [makeRecord()], NOW))).toMatchObject({ code: "HTTP_200", retryable: false });
    vi.restoreAllMocks();
    failFetch(new TypeError("Network connection lost."));
    expect(await failure(pushUsage(config, [makeRecord()], NOW))).toMatchObject({ code: "NETWORK", retryable: true });
  });

  it("a call that outlives timeoutMs ends as a retryable TIMEOUT", async () => {
    vi.spyOn(globalThis, "fetch").mockImplementation(
      (_input: RequestInfo | URL, init?: RequestInit) =>
        new Promise<Response>((_resolve, reject) => {
          init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
        }),
    );
    expect(await failure(pushUsage({ ...config, timeoutMs: 50 }, [makeRecord()], NOW))).toMatchObject({ code: "TIMEOUT", retryable: true });
  });

  it("the old API's MKT.0000 accepts every record sent (its validation happens later)", async () => {
    mockFetch(() => answer({ error_code: "MKT.0000", abnormal_usage_data: [{ metering_sn: "ignored" }] }));
    const records = [makeRecord(), makeRecord()];
    expect(await pushUsage({ ...config, api: "old" }, records, NOW)).toEqual({ accepted: records.map((r) => r.meteringSn), rejected: [] });
  });

  it("the body signed is the body sent, even with non-ASCII ids", async () => {
    const seen = mockFetch(() => answer({ error_code: "MKT.0000" }));
    const record = makeRecord({ instanceId: "实例-é-😀", meteringSn: "sn-云" });
    await pushUsage(config, [record], NOW);
    const request = seen[0];
    if (!request) throw new Error("no request");
    expect(verifyUsagePushHeaders("push-key", request.body, request.headers)).toBe(true);
    expect(request.text).toBe(canonicalUsageBody(JSON.parse(request.text)));
  });
});

describe("meaningOfDuplicate: the one rule for 005 and 010 (issue 9 item 9)", () => {
  const sn = "a".repeat(64);
  const other = "b".repeat(64);
  it.each([
    ["005", { snDelivered: true, samePeriodSn: sn }, "accepted"],
    ["005", { snDelivered: true, samePeriodSn: null }, "accepted"],
    ["005", { snDelivered: false, samePeriodSn: null }, "conflict"],
    ["010", { snDelivered: true, samePeriodSn: sn }, "accepted"],
    // Delivered before, but another record of ours reached the Marketplace first for the same period.
    ["010", { snDelivered: true, samePeriodSn: other }, "conflict"],
    ["010", { snDelivered: false, samePeriodSn: null }, "conflict"],
    ["010", { snDelivered: false, samePeriodSn: other }, "conflict"],
    ["003", { snDelivered: true, samePeriodSn: sn }, "not-a-duplicate"],
  ] as const)("%s with %o means %s", (code, earlier, meaning) => {
    expect(meaningOfDuplicate({ meteringSn: sn, code }, earlier)).toBe(meaning);
  });
});
