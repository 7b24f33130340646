import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { activateLicense, licenseHeartbeat, reportSoftwareUsage } from "../../src/marketplace-api/license.api";
import { queryOrder } from "../../src/marketplace-api/order.api";
import { uploadToEvent } from "../../src/marketplace-api/upload.api";
import {
  MAX_RECORDS_PER_PUSH,
  USAGE_PUSH_PATHS,
  type UsagePushConfig,
  type UsageRecordToPush,
  meaningOfDuplicate,
  pushUsage,
} from "../../src/marketplace-api/usage.api";
import { formatOpenApiTime } from "../../src/protocol/time-formats";
import { canonicalUsageBody, createUsagePushHeaders } from "../../src/protocol/usage-push-signature";
import { type FakeMarketplace, startFakeMarketplace } from "../../tools/fake-marketplace/fake-marketplace";
import { failure } from "../support/open-api";

/**
 * Our open-API client against the local fake of the Marketplace, in plain Node. The fake checks signatures with its
 * own implementation of spec §1.2/§1.3, so an accepted call here means our signers and the spec agree.
 */

const AK = "NODETESTAK000001";
const SK = "node-test-secret-key";
const PUSH_KEY = "node-test-usage-push-key";
const HOUR = 3_600_000;

let fake: FakeMarketplace;
let config: UsagePushConfig;

beforeEach(async () => {
  fake = await startFakeMarketplace({ credentials: { [AK]: SK }, usagePushKey: PUSH_KEY });
  config = { apiBase: fake.url, usagePushKey: PUSH_KEY, ak: AK, sk: SK, api: "new" };
});

afterEach(async () => {
  await fake.close();
});

const credentials = () => ({ ak: AK, sk: SK, apiBase: fake.url });

/** A record for the last full hour, unique by instance and metering_sn. */
function makeRecord(overrides: Partial<UsageRecordToPush> = {}): UsageRecordToPush {
  const begin = Math.floor(Date.now() / HOUR) * HOUR - HOUR;
  return {
    instanceId: `inst-${randomUUID()}`,
    recordTime: begin + HOUR + 60_000,
    beginTime: begin,
    endTime: begin + HOUR,
    usageValue: "12.5",
    meteringSn: `sn-${randomUUID()}`,
    productId: "00301-PRODUCT-0--0",
    ...overrides,
  };
}

async function control(path: string, body?: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(fake.url + path, body === undefined ? {} : { method: "POST", body: JSON.stringify(body) });
  return (await response.json()) as Record<string, unknown>;
}

/** A correctly signed new push of arbitrary wire records, bypassing our client's own checks. */
async function rawPush(records: unknown[]): Promise<{ status: number; json: Record<string, unknown> }> {
  const body = canonicalUsageBody({ usage_records: records });
  const headers = createUsagePushHeaders(PUSH_KEY, body, Date.now(), randomUUID());
  const response = await fetch(fake.url + USAGE_PUSH_PATHS.new, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** A raw HTTP request with exactly these headers (fetch would not let us set Host). */
function rawRequest(url: string, method: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}${path}`, { method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("signatures", () => {
  it("the fake's AK/SK verifier accepts the spec's worked request §1.2.5(b) and refuses it with one digit changed", async () => {
    const signedAt = Date.UTC(2024, 2, 17, 14, 42, 37);
    const worked = await startFakeMarketplace({ credentials: { test: "123" }, now: () => signedAt });
    try {
      const signature = "77595ad624b6e4e49990b8c4e84bf1c287457fca61069c4e60b9b6765b52053d";
      const headers = (sig: string) => ({
        "x-stage": "RELEASE",
        "X-Sdk-Date": "20240317T144237Z",
        "Content-Type": "application/json",
        Host: "mkt.myhuaweicloud.com",
        Authorization: `SDK-HMAC-SHA256 Access=test, SignedHeaders=content-type;host;x-sdk-date;x-stage, Signature=${sig}`,
      });
      const path = "/api/mkp-openapi-public/global/v1/license/activate";
      // Past the gateway: the license API itself now complains about the empty body.
      expect(await rawRequest(worked.url, "POST", path, headers(signature), "")).toMatchObject({ status: 400, json: { error_code: "92020002" } });
      const tampered = `${signature.slice(0, -1)}e`;
      expect(await rawRequest(worked.url, "POST", path, headers(tampered), "")).toMatchObject({ status: 401, json: { error_code: "APIGW.0301" } });
    } finally {
      await worked.close();
    }
  });

  it("query order: the fake's independent AK/SK check accepts our GET with a query string, and answers the spec's mock ids", async () => {
    const truth = await queryOrder(credentials(), "MOCKONDEMAND", "MOCKONDEMAND-000001", new Date());
    expect(truth).toMatchObject({ orderId: "MOCKONDEMAND", orderLineId: "MOCKONDEMAND-000001", orderType: "NEW", chargingMode: "ON_DEMAND" });
    const yearly = await queryOrder(credentials(), "MOCKPERIODYEARNEW", null, new Date());
    expect(yearly).toMatchObject({ chargingMode: "PERIOD", periodType: "year", periodNumber: 1, expireAt: Date.UTC(2025, 10, 21, 23, 59, 59) });
    expect(fake.state.calls.authFailures).toBe(0);
  });

  it("query order with anyOrder: any order id is a one-month PERIOD order expiring in the future; without it, unknown", async () => {
    const open = await startFakeMarketplace({ credentials: { [AK]: SK }, anyOrder: true });
    try {
      const order = await queryOrder({ ak: AK, sk: SK, apiBase: open.url }, "CSLOCAL0001", "CSLOCAL0001-000001", new Date());
      expect(order).toMatchObject({ orderId: "CSLOCAL0001", orderLineId: "CSLOCAL0001-000001", chargingMode: "PERIOD", periodType: "month" });
      expect(Number(order.expireAt)).toBeGreaterThan(Date.now());
    } finally {
      await open.close();
    }
    await expect(queryOrder(credentials(), "CSLOCAL0001", null, new Date())).rejects.toThrow();
  });

  it("new push: the usage-push signature over the exact body is accepted and the wire records are stored as sent", async () => {
    const records = [makeRecord(), makeRecord({ usageValue: "0.0001", relatePkgInstance: "pkg-1" })];
    const result = await pushUsage(config, records, new Date());
    expect(result).toEqual({ accepted: records.map((r) => r.meteringSn), rejected: [] });
    expect(fake.state.records).toHaveLength(2);
    const [first, second] = records as [UsageRecordToPush, UsageRecordToPush];
    expect(fake.state.records[0]).toMatchObject({
      api: "new",
      instanceId: first.instanceId,
      meteringSn: first.meteringSn,
      beginTime: formatOpenApiTime(first.beginTime),
      endTime: formatOpenApiTime(first.endTime),
      recordTime: formatOpenApiTime(first.recordTime),
      usageValue: "12.5",
      // The new API has no product_id (§2.3.1).
      productId: null,
    });
    expect(fake.state.records[1]).toMatchObject({ meteringSn: second.meteringSn, usageValue: "0.0001", relatePkgInstance: "pkg-1" });
  });

  it("old push: AK/SK accepted, product_id sent, no metering_sn", async () => {
    const record = makeRecord();
    const result = await pushUsage({ ...config, api: "old" }, [record], new Date());
    expect(result.accepted).toEqual([record.meteringSn]);
    expect(fake.state.records[0]).toMatchObject({ api: "old", meteringSn: null, productId: record.productId });
  });

  it("a wrong SK is refused by the gateway (APIGW.0301) and mapped to a final error; nothing is stored", async () => {
    const error = await failure(pushUsage({ ...config, api: "old", sk: "wrong" }, [makeRecord()], new Date()));
    expect(error).toMatchObject({ code: "APIGW.0301", retryable: false, httpStatus: 401 });
    const order = await failure(queryOrder({ ...credentials(), ak: "UNKNOWNAK" }, "MOCKONDEMAND", null, new Date()));
    expect(order).toMatchObject({ code: "APIGW.0301", retryable: false });
    expect(fake.state.records).toHaveLength(0);
    expect(fake.state.calls.authFailures).toBe(2);
  });

  it("a wrong usage-push key is refused with MKT.0102 and mapped to a final error; nothing is stored", async () => {
    const error = await failure(pushUsage({ ...config, usagePushKey: "wrong" }, [makeRecord()], new Date()));
    expect(error).toMatchObject({ code: "MKT.0102", retryable: false, httpStatus: 400 });
    expect(fake.state.records).toHaveLength(0);
  });

  it("X-Sdk-Date is accepted up to 15 minutes off and refused beyond (APIGW.0303)", async () => {
    const at = (offsetMs: number) => new Date(Date.now() + offsetMs);
    await expect(queryOrder(credentials(), "MOCKONDEMAND", null, at(-14 * 60_000))).resolves.toMatchObject({ orderId: "MOCKONDEMAND" });
    await expect(queryOrder(credentials(), "MOCKONDEMAND", null, at(14 * 60_000))).resolves.toMatchObject({ orderId: "MOCKONDEMAND" });
    expect(await failure(queryOrder(credentials(), "MOCKONDEMAND", null, at(-16 * 60_000)))).toMatchObject({ code: "APIGW.0303" });
    expect(await failure(queryOrder(credentials(), "MOCKONDEMAND", null, at(16 * 60_000)))).toMatchObject({ code: "APIGW.0303" });
  });
});

describe("the Marketplace's record rules", () => {
  it("1001 records: our client refuses them unsent with MKT.9003 (final); the fake answers MKT.9003 to a raw call", async () => {
    const records = Array.from({ length: MAX_RECORDS_PER_PUSH + 1 }, () => makeRecord());
    const error = await failure(pushUsage(config, records, new Date()));
    expect(error).toMatchObject({ code: "MKT.9003", retryable: false });
    expect(fake.state.calls.total).toBe(0);

    const wire = records.map((r) => ({
      instance_id: r.instanceId,
      record_time: formatOpenApiTime(r.recordTime),
      begin_time: formatOpenApiTime(r.beginTime),
      end_time: formatOpenApiTime(r.endTime),
      usage_value: r.usageValue,
      metering_sn: r.meteringSn,
    }));
    expect(await rawPush(wire)).toMatchObject({ status: 500, json: { error_code: "MKT.9003" } });
    // Exactly 1000 is allowed.
    expect(await rawPush(wire.slice(0, MAX_RECORDS_PER_PUSH))).toMatchObject({ status: 200, json: { error_code: "MKT.0000" } });
    expect(fake.state.records).toHaveLength(MAX_RECORDS_PER_PUSH);
  });

  it("duplicates: the same metering_sn → 005, the same instance + begin + end under a new metering_sn → 010", async () => {
    const first = makeRecord();
    expect((await pushUsage(config, [first], new Date())).accepted).toEqual([first.meteringSn]);

    const sameSn = { ...first };
    const samePeriod = makeRecord({ instanceId: first.instanceId, beginTime: first.beginTime, endTime: first.endTime });
    const fresh = makeRecord();
    const result = await pushUsage(config, [sameSn, samePeriod, fresh], new Date());
    expect(result.accepted).toEqual([fresh.meteringSn]);
    expect(result.rejected).toEqual([
      { meteringSn: first.meteringSn, code: "005", message: expect.any(String) },
      { meteringSn: samePeriod.meteringSn, code: "010", message: expect.any(String) },
    ]);
    expect(fake.state.records.map((r) => r.meteringSn)).toEqual([first.meteringSn, fresh.meteringSn]);
  });

  it("unknown instance → 001 (with a configured instance list)", async () => {
    const known = makeRecord();
    await control("/__control/config", { knownInstances: [known.instanceId] });
    const unknown = makeRecord();
    const result = await pushUsage(config, [known, unknown], new Date());
    expect(result.accepted).toEqual([known.meteringSn]);
    expect(result.rejected).toMatchObject([{ meteringSn: unknown.meteringSn, code: "001" }]);
  });

  it("per-record checks on raw wire records: 002 time format, 003 usage value, 004 no metering_sn, 007 too old, 011 range", async () => {
    const now = Date.now();
    const t = (ms: number) => formatOpenApiTime(ms);
    const base = { instance_id: "inst-raw", record_time: t(now - HOUR), begin_time: t(now - 2 * HOUR), end_time: t(now - HOUR), usage_value: "1" };
    const cases: [string, Record<string, unknown>][] = [
      ["002", { ...base, metering_sn: "raw-1", begin_time: "2024-01-01T00:00:00Z" }],
      ["002", { ...base, metering_sn: "raw-2", end_time: "20240230T000000Z" }],
      ["003", { ...base, metering_sn: "raw-3", usage_value: "0" }],
      ["003", { ...base, metering_sn: "raw-4", usage_value: "1.23456" }],
      ["003", { ...base, metering_sn: "raw-5", usage_value: "-2" }],
      ["004", { ...base, instance_id: "inst-raw-4" }],
      ["007", { ...base, metering_sn: "raw-7", begin_time: t(now - 22 * 24 * HOUR), end_time: t(now - 22 * 24 * HOUR + HOUR) }],
      ["011", { ...base, metering_sn: "raw-8", begin_time: t(now - HOUR), end_time: t(now - 2 * HOUR) }],
      ["011", { ...base, metering_sn: "raw-9", end_time: t(now + HOUR) }],
    ];
    const ok = { ...base, instance_id: "inst-raw-ok", metering_sn: "raw-ok" };
    const { status, json } = await rawPush([...cases.map(([, record]) => record), ok]);
    expect(status).toBe(200);
    expect(json.error_code).toBe("94060999");
    const abnormal = json.abnormal_usage_data as { metering_sn: string; error_code: string }[];
    expect(abnormal.map((a) => a.error_code)).toEqual(cases.map(([code]) => code));
    expect(fake.state.records.map((r) => r.meteringSn)).toEqual(["raw-ok"]);
  });

  it("POST /__control/clock moves the fake's clock: a record of an hour that ends in the future is accepted once the clock is past it, and reset puts it back", async () => {
    const now = Date.now();
    const t = (ms: number) => formatOpenApiTime(ms);
    const record = (sn: string) => ({ instance_id: `inst-clock-${sn}`, metering_sn: sn, record_time: t(now), begin_time: t(now), end_time: t(now + HOUR), usage_value: "1" });
    expect(((await rawPush([record("clock-1")])).json.abnormal_usage_data as { error_code: string }[])[0]?.error_code).toBe("011");
    expect(await control("/__control/clock", { offsetMs: 2 * HOUR })).toEqual({ ok: true, offsetMs: 2 * HOUR });
    expect((await rawPush([record("clock-2")])).json.error_code).toBe("MKT.0000");
    expect(await control("/__control/clock", { offsetMs: "soon" })).toEqual({ error: "offsetMs: an integer number of milliseconds" });
    await control("/__control/fail", { mode: "reset" });
    expect(fake.state.clockOffsetMs).toBe(0);
    expect(((await rawPush([record("clock-3")])).json.abnormal_usage_data as { error_code: string }[])[0]?.error_code).toBe("011");
  });

  it("old API: a begin time older than 21 days fails the whole call with MKT.9004 (final)", async () => {
    const old = makeRecord({ beginTime: Date.now() - 22 * 24 * HOUR, endTime: Date.now() - 22 * 24 * HOUR + HOUR });
    const error = await failure(pushUsage({ ...config, api: "old" }, [old, makeRecord()], new Date()));
    expect(error).toMatchObject({ code: "MKT.9004", retryable: false, httpStatus: 500 });
    expect(fake.state.records).toHaveLength(0);
  });
});

describe("injected failures", () => {
  it("partial (fraction): the first half is refused with the given code, exactly the rest is accepted and stored", async () => {
    await control("/__control/fail", { mode: "partial", fraction: 0.5, code: "013" });
    const records = Array.from({ length: 10 }, () => makeRecord());
    const result = await pushUsage(config, records, new Date());
    const sns = records.map((r) => r.meteringSn);
    expect(result.rejected).toEqual(sns.slice(0, 5).map((meteringSn) => ({ meteringSn, code: "013", message: "injected failure" })));
    expect(result.accepted).toEqual(sns.slice(5));
    expect(fake.state.records.map((r) => r.meteringSn)).toEqual(sns.slice(5));
    // Used up: the refused ones go through on the next push.
    expect((await pushUsage(config, records.slice(0, 5), new Date())).accepted).toEqual(sns.slice(0, 5));
  });

  it("partial (list, under MKT.0000): the listed records are refused, the others accepted", async () => {
    const records = [makeRecord(), makeRecord(), makeRecord()];
    const refused = records[1]?.meteringSn ?? "";
    await control("/__control/fail", { mode: "partial", meteringSns: [refused], code: "009", responseCode: "MKT.0000" });
    const result = await pushUsage(config, records, new Date());
    expect(result.rejected).toEqual([{ meteringSn: refused, code: "009", message: "injected failure" }]);
    expect(result.accepted).toEqual([records[0]?.meteringSn, records[2]?.meteringSn]);
  });

  it("http500 → retryable MKT.0999, nothing stored, and the next call goes through", async () => {
    await control("/__control/fail", { mode: "http500", count: 1 });
    const record = makeRecord();
    expect(await failure(pushUsage(config, [record], new Date()))).toMatchObject({ code: "MKT.0999", retryable: true, httpStatus: 500 });
    expect(fake.state.records).toHaveLength(0);
    expect((await pushUsage(config, [record], new Date())).accepted).toEqual([record.meteringSn]);
  });

  it("http500 with an HTML page → retryable; query order's CBC.0999 → retryable", async () => {
    await control("/__control/fail", { mode: "http500", count: 2, json: false });
    expect(await failure(pushUsage(config, [makeRecord()], new Date()))).toMatchObject({ code: "HTTP_500", retryable: true });
    expect(await failure(queryOrder(credentials(), "MOCKONDEMAND", null, new Date()))).toMatchObject({ code: "HTTP_500", retryable: true });
    await control("/__control/fail", { mode: "http500", api: "order" });
    expect(await failure(queryOrder(credentials(), "MOCKONDEMAND", null, new Date()))).toMatchObject({ code: "CBC.0999", retryable: true });
  });

  it("timeout → retryable TIMEOUT after our deadline; the hung call stored nothing", async () => {
    await control("/__control/fail", { mode: "timeout", count: 1 });
    const started = Date.now();
    const error = await failure(pushUsage({ ...config, timeoutMs: 300 }, [makeRecord()], new Date()));
    expect(error).toMatchObject({ code: "TIMEOUT", retryable: true });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(fake.state.records).toHaveLength(0);
  });

  it("drop-after-accept → retryable NETWORK error although stored; the resend gets 005 for each, which means accepted", async () => {
    await control("/__control/fail", { mode: "drop-after-accept" });
    const records = [makeRecord(), makeRecord(), makeRecord()];
    const error = await failure(pushUsage(config, records, new Date()));
    expect(error).toMatchObject({ code: "NETWORK", retryable: true });
    expect(fake.state.records.map((r) => r.meteringSn)).toEqual(records.map((r) => r.meteringSn));

    const resend = await pushUsage(config, records, new Date());
    expect(resend.accepted).toEqual([]);
    expect(resend.rejected.map((r) => [r.meteringSn, r.code])).toEqual(records.map((r) => [r.meteringSn, "005"]));
    // The first call got no answer but may have arrived: delivered, in the sense of the duplicate rule.
    expect(resend.rejected.every((r) => meaningOfDuplicate(r, { snDelivered: true, samePeriodSn: r.meteringSn }) === "accepted")).toBe(true);
    // Billed once.
    expect(fake.state.records).toHaveLength(3);
  });

  it("GET /__control/records reports every accepted record with counts; reset clears records and pending failures", async () => {
    const a = makeRecord();
    const b = makeRecord({ instanceId: a.instanceId, beginTime: a.beginTime - HOUR, endTime: a.beginTime });
    await pushUsage(config, [a, b], new Date());
    await pushUsage({ ...config, api: "old" }, [makeRecord()], new Date());
    const report = await control("/__control/records");
    expect(report).toMatchObject({ total: 3, byApi: { new: 2, old: 1 }, byInstance: { [a.instanceId]: 2 } });
    expect(report.records).toHaveLength(3);
    await control("/__control/fail", { mode: "http500", count: 5 });
    expect(await control("/__control/fail", { mode: "reset" })).toMatchObject({ reset: true });
    expect(await control("/__control/records")).toMatchObject({ total: 0 });
    expect(fake.state.failures).toEqual([]);
  });
});

describe("defaults", () => {
  it("without options the fake accepts the development credentials of .dev.vars.example, so `npm run dev` can use it as is", async () => {
    const example = readFileSync(new URL("../../.dev.vars.example", import.meta.url), "utf8");
    const value = (name: string) => new RegExp(`^${name}="([^"]*)"`, "m").exec(example)?.[1] ?? "";
    const dev = await startFakeMarketplace();
    try {
      const devCredentials = { ak: value("MARKETPLACE_AK"), sk: value("MARKETPLACE_SK"), apiBase: dev.url };
      await expect(queryOrder(devCredentials, "MOCKONDEMAND", null, new Date())).resolves.toMatchObject({ chargingMode: "ON_DEMAND" });
      const devPush: UsagePushConfig = { ...devCredentials, usagePushKey: value("USAGE_PUSH_KEY"), api: "new" };
      const record = makeRecord();
      await expect(pushUsage(devPush, [record], new Date())).resolves.toMatchObject({ accepted: [record.meteringSn] });
    } finally {
      await dev.close();
    }
  });
});

describe("upload and license codes through our client", () => {
  it("uploads a string and a file (multipart, AK/SK over the raw bytes, sha256 checked by the fake)", async () => {
    await uploadToEvent(credentials(), "event-1", { type: "CHARACTERS", characters: "LICENSE-STRING-云" }, new Date());
    const file = new Uint8Array([0, 1, 2, 0x0d, 0x0a, 0x2d, 0x2d, 255]);
    await uploadToEvent(credentials(), "event-2", { type: "FILE", fileName: 'lic "a".dat', file }, new Date());
    expect(fake.state.uploads).toMatchObject([
      { eventId: "event-1", type: "CHARACTERS", characters: "LICENSE-STRING-云" },
      { eventId: "event-2", type: "FILE", fileName: 'lic "a".dat', fileBytes: file.length },
    ]);
    expect(fake.state.calls.authFailures).toBe(0);
  });

  it("answers an injected upload refusal (91381037) with HTTP 200, which our client reads as final, and stores nothing", async () => {
    await control("/__control/fail", { mode: "code", api: "upload", code: "91381037" });
    const error = await uploadToEvent(credentials(), "event-refused", { type: "CHARACTERS", characters: "BAD" }, new Date()).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "91381037", retryable: false, httpStatus: 200 });
    expect(fake.state.uploads.filter((u) => u.eventId === "event-refused")).toEqual([]);
    await uploadToEvent(credentials(), "event-refused", { type: "CHARACTERS", characters: "GOOD" }, new Date());
    expect(fake.state.uploads.filter((u) => u.eventId === "event-refused")).toMatchObject([{ characters: "GOOD" }]);
  });

  it("activates a license, reads its heartbeat and reports software usage", async () => {
    const activated = await activateLicense(credentials(), { license: "LIC-0001", realEffectTime: Date.UTC(2026, 0, 2, 3, 4, 5) }, new Date());
    expect(activated).toMatchObject({ status: "ALIVE", productId: "00301-LICENSE-0--0", amount: 1 });
    expect(activated.expireAt).toEqual(expect.any(Number));
    const heartbeat = await licenseHeartbeat(credentials(), { license: "LIC-0001" }, new Date());
    expect(heartbeat).toMatchObject({ licenseCode: "LIC-0001", status: "ALIVE", activateTime: "20260102030405", activateAt: Date.UTC(2026, 0, 2, 3, 4, 5) });
    await reportSoftwareUsage(credentials(), [{ license: "LIC-0001", entries: [{ id: "host-1" }, { activeNum: 3 }] }], new Date());
    expect(fake.state.softwareUsage).toEqual([{ license: "LIC-0001", software_usage_Info: [{ id: "host-1" }, { active_num: 3 }] }]);
  });

  it("steers a code's answers: each documented error code, a configured status, and an outage for listed codes only", async () => {
    for (const [code, status] of [["92020001", 403], ["92020002", 400], ["92020004", 400], ["92020005", 400]] as const) {
      await control("/__control/license-error", { license: "LIC-STEER", code, count: 1 });
      expect(await failure(activateLicense(credentials(), { license: "LIC-STEER" }, new Date()))).toMatchObject({ code, httpStatus: status, retryable: false });
    }
    // count 1: the next call is answered normally again.
    await expect(activateLicense(credentials(), { license: "LIC-STEER" }, new Date())).resolves.toMatchObject({ status: "ALIVE" });
    await control("/__control/config", { licenses: { "LIC-STEER": { status: "EXPIRED", productId: "P-STEER" } } });
    await expect(licenseHeartbeat(credentials(), { license: "LIC-STEER" }, new Date())).resolves.toMatchObject({ status: "EXPIRED" });

    await control("/__control/outage", { on: true, licenses: ["LIC-DOWN"], mode: "http503" });
    expect(await failure(licenseHeartbeat(credentials(), { license: "LIC-DOWN" }, new Date()))).toMatchObject({ code: "HTTP_503", retryable: true });
    await expect(licenseHeartbeat(credentials(), { license: "LIC-STEER" }, new Date())).resolves.toMatchObject({ status: "EXPIRED" });
    await control("/__control/outage", { on: true, licenses: ["LIC-DOWN"], mode: "drop" });
    expect(await failure(licenseHeartbeat(credentials(), { license: "LIC-DOWN" }, new Date()))).toMatchObject({ code: "NETWORK", retryable: true });
    await control("/__control/outage", { on: false, licenses: ["LIC-DOWN"] });
    await expect(licenseHeartbeat(credentials(), { license: "LIC-DOWN" }, new Date())).resolves.toMatchObject({ status: "ALIVE" });
    // Without a list: the whole Marketplace.
    await control("/__control/outage", { on: true, mode: "http500" });
    expect(await failure(licenseHeartbeat(credentials(), { license: "LIC-STEER" }, new Date()))).toMatchObject({ code: "92020001", httpStatus: 500, retryable: true });
    await control("/__control/outage", { on: false });
    await expect(licenseHeartbeat(credentials(), { license: "LIC-STEER" }, new Date())).resolves.toMatchObject({ status: "EXPIRED" });
  });

  it("an unknown license code (with a configured license list) is a final 92020005", async () => {
    const own = await startFakeMarketplace({
      credentials: { [AK]: SK },
      licenses: { "LIC-KNOWN": { status: "ALIVE", expireTime: "20300101000000", productId: "p", orderId: "o", amount: 1 } },
    });
    try {
      const error = await failure(activateLicense({ ak: AK, sk: SK, apiBase: own.url }, { license: "LIC-OTHER" }, new Date()));
      expect(error).toMatchObject({ code: "92020005", retryable: false });
    } finally {
      await own.close();
    }
  });
});
