import { createScheduledController } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/index";
import { fetchWith, sendWith, signedKitV2Request, signedV1Get, v1Now } from "./support/kit";
import { makeNewInstance, signedV2Request, tableCounts } from "./support/marketplace";

/** A broken setting that is not a key: the keys themselves are fine, so every answer can still be signed. */
const BAD_DATA_KEY = "bm90LTMyLWJ5dGVz";
const MISCONFIGURED = { resultCode: "000005", resultMsg: "gateway is misconfigured" };

afterEach(() => vi.restoreAllMocks());

describe("a callback while settings are broken", () => {
  it("V2 basic: 000005 signed with SAAS_ACCESS_KEY, nothing stored", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const before = await tableCounts();
    const answer = await sendWith(signedV2Request(makeNewInstance()), { DATA_KEY: BAD_DATA_KEY }, env.SAAS_ACCESS_KEY);
    expect(answer.json).toEqual(MISCONFIGURED);
    expect(answer.bodySignValid).toBe(true);
    expect(await tableCounts()).toEqual(before);
  });

  it("V1 basic: 000005 signed with SAAS_ACCESS_KEY", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const request = signedV1Get({ activity: "queryInstance", instanceId: "i-1", timeStamp: v1Now() });
    const answer = await sendWith(request, { MARKETPLACE_API_BASE: "http://mkt.example.com" }, env.SAAS_ACCESS_KEY);
    expect(answer.json).toEqual(MISCONFIGURED);
    expect(answer.bodySignValid).toBe(true);
  });

  it("kit: signed with KIT_ACCESS_KEY, or with SAAS_ACCESS_KEY when the kit key is left empty", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const body = { instanceId: "", tenantId: "t-1", tenantCode: "c", name: "n", domainName: "d", flag: 1, testFlag: 1, timeStamp: "20261101120000000" };
    const ownKey = await sendWith(signedKitV2Request("tenantSync", body), { DATA_KEY: BAD_DATA_KEY }, env.KIT_ACCESS_KEY);
    expect(ownKey.json).toEqual(MISCONFIGURED);
    expect(ownKey.bodySignValid).toBe(true);
    const fallback = await sendWith(signedKitV2Request("tenantSync", body), { DATA_KEY: BAD_DATA_KEY, KIT_ACCESS_KEY: " " }, env.SAAS_ACCESS_KEY);
    expect(fallback.json).toEqual(MISCONFIGURED);
    expect(fallback.bodySignValid).toBe(true);
  });

  it("is unsigned only when the interface key itself is missing", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const response = await fetchWith(signedV2Request(makeNewInstance()), { SAAS_ACCESS_KEY: "" });
    expect(response.headers.get("Body-Sign")).toBeNull();
    expect(await response.json()).toEqual(MISCONFIGURED);
  });
});

describe("a cron run while settings are broken", () => {
  it("logs one line per stopped job naming the setting and its rule, never the value", async () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const now = Date.now();
    const controller = createScheduledController({ cron: "7 * * * *", scheduledTime: now });
    await expect(worker.scheduled(controller, { ...env, DATA_KEY: BAD_DATA_KEY })).rejects.toThrow();
    const lines = errors.mock.calls.map((call) => JSON.parse(String(call[0])) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ event: "job.failed", job: "usageReconcile", setting: "DATA_KEY", problem: expect.stringContaining("base64 of exactly 32 bytes") }),
    );
    expect(JSON.stringify(lines)).not.toContain(BAD_DATA_KEY);
  });
});
