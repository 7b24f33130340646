import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { type V1EncryptType, decryptV1Field, encryptV1Field } from "../../src/protocol/v1-field-crypto";
import vectors from "../fixtures/v1-aes-vectors.json";
import { type EnvOverrides, kitTableCounts, makeV1NewInstance, sendWith, signedV1Get, v1Now } from "../support/kit";
import { callV2, expireTime, instanceRow, makeNewInstance, uniqueId } from "../support/marketplace";
import { controlOrders, queryOrderInfo } from "../support/orders";

/**
 * A real V1 purchase asks query order first (order first). The outbound test service answers with the order given
 * here (test/support/outbound-marketplace.ts): one line per product, as the Marketplace has for pay-per-use.
 */
async function registerOrder(orderId: string, lines: Array<{ productId: string; skuCode: string; chargingMode: string }>) {
  const orderLines = lines.map((line) => ({ ...line, chargingMode: line.chargingMode === "0" ? "ON_DEMAND" : "PERIOD", periodType: "month", expireTime: "20300101000000" }));
  await controlOrders({ orders: { [orderId]: queryOrderInfo(orderId, orderLines) } });
}

interface V1Options {
  key?: string;
  overrides?: EnvOverrides;
}

function v1(params: Record<string, string>, options: V1Options = {}) {
  const key = options.key ?? options.overrides?.SAAS_ACCESS_KEY ?? env.SAAS_ACCESS_KEY;
  return sendWith(signedV1Get(params, { key }), options.overrides ?? {}, options.overrides?.SAAS_ACCESS_KEY ?? env.SAAS_ACCESS_KEY);
}

const inOneYear = () => expireTime(new Date(Date.now() + 365 * 86400_000));
interface V1AppInfo {
  frontEndUrl: string;
  userName: string;
  password: string;
}

async function purchase(overrides: Record<string, string> = {}, registered = false) {
  const params = makeV1NewInstance(overrides);
  if (!registered) await registerOrder(String(params.orderId), [{ productId: String(params.productId), skuCode: String(params.skuCode), chargingMode: String(params.chargingMode) }]);
  const answer = await v1(params);
  if (answer.json.resultCode !== "000000") throw new Error(`V1 purchase failed: ${answer.text}`);
  return { params, answer, instanceId: String(answer.json.instanceId), appInfo: answer.json.appInfo as V1AppInfo };
}

async function v2Password(instanceId: string): Promise<string | undefined> {
  const query = await callV2({ activity: "queryInstance", instanceId });
  return (query.json.info as Array<{ appInfo?: { password?: string } }>)[0]?.appInfo?.password;
}

describe("V1 newInstance", () => {
  it("answers the buyer's way in with encrypted credentials that decrypt to what queryInstance reports", async () => {
    const { answer, instanceId, appInfo, params } = await purchase();
    expect(answer.status).toBe(200);
    expect(answer.bodySignValid).toBe(true);
    expect(answer.json).toMatchObject({ resultCode: "000000", encryptType: "1", instanceId: expect.stringMatching(/^[0-9a-f]{32}$/) });
    expect(appInfo.frontEndUrl).toBe(env.FRONTEND_URL_TEMPLATE.replace("{instanceId}", instanceId));
    // 16-character IV + Base64: never the plain values.
    expect(appInfo.password).toMatch(/^[A-Za-z0-9]{16}[A-Za-z0-9+/]+={0,2}$/);
    const password = decryptV1Field(env.SAAS_ACCESS_KEY, appInfo.password, "1", "password");
    expect(password).toMatch(/^.{20}$/);
    expect(decryptV1Field(env.SAAS_ACCESS_KEY, appInfo.userName, "1", "userName")).toBe(`admin-${instanceId.slice(0, 8)}`);
    expect(await v2Password(instanceId)).toBe(password);

    const query = await v1({ activity: "queryInstance", instanceId });
    expect(query.bodySignValid).toBe(true);
    expect(query.json).toMatchObject({ resultCode: "000000", encryptType: "1", info: [{ instanceId, appInfo }] });

    expect(await instanceRow(instanceId)).toMatchObject({
      status: "active",
      order_id: params.orderId,
      order_line_id: null,
      product_id: "prod-monthly",
      sku_code: "sku-basic",
      charging_mode: "PERIOD",
    });
  });

  it("answers a retry (new businessId and timeStamp) byte for byte and creates nothing", async () => {
    const { params, answer, instanceId } = await purchase();
    const before = await kitTableCounts();
    const again = await v1({ ...params, businessId: crypto.randomUUID(), timeStamp: v1Now(Date.now() + 5) });
    expect(again.text).toBe(answer.text);
    expect(await kitTableCounts()).toEqual(before);
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM instances WHERE order_id = ?").bind(params.orderId).first<{ n: number }>();
    expect(count?.n).toBe(1);
    expect(instanceId).toBe(answer.json.instanceId);
  });

  it("meets a V2 purchase of the same order in one instance, either way round", async () => {
    const v2First = makeNewInstance();
    const created = await callV2(v2First);
    const v1After = await v1(makeV1NewInstance({ orderId: v2First.orderId }));
    expect(v1After.json).toMatchObject({ resultCode: "000000", instanceId: created.json.instanceId });
    const appInfo = v1After.json.appInfo as V1AppInfo;
    expect(decryptV1Field(env.SAAS_ACCESS_KEY, appInfo.password, "1")).toBe(await v2Password(String(created.json.instanceId)));

    const { params, instanceId } = await purchase();
    const v2After = await callV2(makeNewInstance({ orderId: params.orderId, orderLineId: `${params.orderId}-000001` }));
    expect(v2After.json).toMatchObject({ resultCode: "000000", instanceId });
    const count = await env.DB.prepare("SELECT COUNT(*) AS n FROM instances WHERE order_id IN (?, ?)").bind(v2First.orderId, params.orderId).first<{ n: number }>();
    expect(count?.n).toBe(2);
  });

  it("keys pay-per-use (chargingMode 0) on orderId + productId", async () => {
    const orderId = uniqueId("OD");
    await registerOrder(orderId, [
      { productId: "metered-a", skuCode: "sku-a", chargingMode: "0" },
      { productId: "metered-b", skuCode: "sku-b", chargingMode: "0" },
    ]);
    const a = await purchase({ orderId, chargingMode: "0", productId: "metered-a" }, true);
    const b = await purchase({ orderId, chargingMode: "0", productId: "metered-b" }, true);
    const a2 = await v1(makeV1NewInstance({ orderId, chargingMode: "0", productId: "metered-a" }));
    expect(a.instanceId).not.toBe(b.instanceId);
    expect(a2.json.instanceId).toBe(a.instanceId);
    expect(await instanceRow(a.instanceId)).toMatchObject({ charging_mode: "ON_DEMAND", product_id: "metered-a", sku_code: "sku-a", create_key: `create:${orderId}:product:metered-a` });
    // The order has a line per product and V1 names no line: each instance takes its own product's line.
    expect(await instanceRow(b.instanceId)).toMatchObject({ charging_mode: "ON_DEMAND", product_id: "metered-b", sku_code: "sku-b" });
  });

  it("decrypts the buyer's mobilePhone and email, and refuses ones that do not decrypt with 000002, storing nothing", async () => {
    const ok = await v1(
      makeV1NewInstance({
        mobilePhone: encryptV1Field(env.SAAS_ACCESS_KEY, "13800000000", "1"),
        email: encryptV1Field(env.SAAS_ACCESS_KEY, "buyer@example.com", "1"),
      }),
    );
    expect(ok.json.resultCode).toBe("000000");
    const before = await kitTableCounts();
    const bad = await v1(makeV1NewInstance({ mobilePhone: encryptV1Field("another-key", "13800000000", "1") }));
    expect(bad.json).toEqual({ resultCode: "000002", resultMsg: "mobilePhone could not be decrypted with the configured access key and encryptType 1" });
    expect(bad.bodySignValid).toBe(true);
    const garbage = await v1(makeV1NewInstance({ email: "not encrypted at all" }));
    expect(garbage.json.resultCode).toBe("000002");
    expect(garbage.json.resultMsg).toMatch(/^email /);
    expect(await kitTableCounts()).toEqual(before);
  });

  it("accepts mobilePhone values a JVM encrypted (the committed vectors), for both encryptTypes", async () => {
    const cases = (vectors.cases as Array<{ accessKey: string; encryptType: V1EncryptType; value: string; plaintext: string }>).filter(
      (v) => v.accessKey.length > 0 && v.plaintext.length > 0,
    );
    const chosen = [...cases.filter((v) => v.encryptType === "1").slice(0, 3), ...cases.filter((v) => v.encryptType === "2").slice(0, 3)];
    expect(chosen).toHaveLength(6);
    for (const vector of chosen) {
      const overrides = { SAAS_ACCESS_KEY: vector.accessKey, V1_ENCRYPT_TYPE: vector.encryptType };
      const answer = await v1(makeV1NewInstance({ mobilePhone: vector.value, testFlag: "1" }), { overrides });
      expect(answer.json.resultCode, `vector ${vector.encryptType} ${vector.plaintext.slice(0, 10)}`).toBe("000000");
      expect(answer.bodySignValid).toBe(true);
    }
  });
});

describe("V1 lifecycle activities", () => {
  it("renews (refreshInstance), idempotently per order, and refuses unknown instances with 000003", async () => {
    const { instanceId } = await purchase();
    const orderId = uniqueId("RN");
    const newExpiry = expireTime(new Date(Date.UTC(2031, 0, 2, 3, 4, 5)));
    const renew = { activity: "refreshInstance", orderId, instanceId, expireTime: newExpiry, periodType: "year", periodNumber: "1", orderAmount: "120.5" };
    const first = await v1(renew);
    expect(first.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(first.bodySignValid).toBe(true);
    expect(await instanceRow(instanceId)).toMatchObject({ expire_at: Date.UTC(2031, 0, 2, 3, 4, 5), expire_source: "refresh" });
    const again = await v1({ ...renew, timeStamp: v1Now(Date.now() + 7) });
    expect(again.text).toBe(first.text);
    const trial = await v1({ ...renew, orderId: uniqueId("TF"), trialToFormal: "1" });
    expect(trial.json.resultCode).toBe("000000");

    const unknown = await v1({ ...renew, instanceId: "nosuchinstance" });
    expect(unknown.json.resultCode).toBe("000003");
    const debug = await v1({ ...renew, instanceId: "nosuchinstance", testFlag: "1" });
    expect(debug.json.resultCode).toBe("000000");
  });

  it("freezes on expireInstance and instanceStatus FREEZE, unfreezes on NORMAL; a replayed old call changes nothing", async () => {
    const { instanceId, params } = await purchase({ chargingMode: "0" });
    const expire = signedV1Get({ activity: "expireInstance", instanceId, orderId: params.orderId ?? "" });
    const expireUrl = expire.url;
    const frozen = await sendWith(expire, {}, env.SAAS_ACCESS_KEY);
    expect(frozen.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(await instanceRow(instanceId)).toMatchObject({ status: "frozen" });

    const normal = await v1({ activity: "instanceStatus", instanceId, instanceStatus: "NORMAL" });
    expect(normal.json.resultCode).toBe("000000");
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active" });

    // The very same signed expireInstance again (a retry, or a replay: V1 has no nonce) gets its first answer only.
    const replay = await sendWith(new Request(expireUrl), {}, env.SAAS_ACCESS_KEY);
    expect(replay.text).toBe(frozen.text);
    expect(await instanceRow(instanceId)).toMatchObject({ status: "active" });

    expect((await v1({ activity: "instanceStatus", instanceId, instanceStatus: "FREEZE" })).json.resultCode).toBe("000000");
    expect(await instanceRow(instanceId)).toMatchObject({ status: "frozen" });
    expect((await v1({ activity: "instanceStatus", instanceId, instanceStatus: "FREEZE" })).json.resultCode).toBe("000000");
    const bad = await v1({ activity: "instanceStatus", instanceId, instanceStatus: "PAUSED" });
    expect(bad.json).toEqual({ resultCode: "000002", resultMsg: 'instanceStatus: must be "FREEZE" or "NORMAL"' });
  });

  it("upgrades once per order", async () => {
    const { instanceId } = await purchase();
    const upgrade = { activity: "upgrade", instanceId, orderId: uniqueId("UP"), skuCode: "sku-pro", productId: "prod-pro", amount: "10" };
    const first = await v1(upgrade);
    expect(first.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    const before = await kitTableCounts();
    const again = await v1({ ...upgrade, timeStamp: v1Now(Date.now() + 3) });
    expect(again.text).toBe(first.text);
    expect(await kitTableCounts()).toEqual(before);
  });

  it("releases, succeeds on a repeated release, then refuses further changes with 000003", async () => {
    const { instanceId, params } = await purchase();
    const release = { activity: "releaseInstance", instanceId, orderId: params.orderId ?? "" };
    const first = await v1(release);
    expect(first.json).toEqual({ resultCode: "000000", resultMsg: "success" });
    expect(await instanceRow(instanceId)).toMatchObject({ status: "released" });
    expect((await v1({ ...release, timeStamp: v1Now(Date.now() + 3) })).json.resultCode).toBe("000000");
    const renew = await v1({ activity: "refreshInstance", orderId: uniqueId("RN"), instanceId, expireTime: inOneYear() });
    expect(renew.json.resultCode).toBe("000003");
    const query = await v1({ activity: "queryInstance", instanceId });
    expect(query.json).toMatchObject({ resultCode: "000000", info: [{ instanceId }] });
    expect((query.json.info as Array<Record<string, unknown>>)[0]?.appInfo).toBeUndefined();
  });

  it("answers queryInstance for unknown ids with 000003, or success for a debug call", async () => {
    expect((await v1({ activity: "queryInstance", instanceId: "nosuchinstance" })).json.resultCode).toBe("000003");
    const debug = await v1({ activity: "queryInstance", instanceId: "nosuchinstance", testFlag: "1" });
    expect(debug.json).toMatchObject({ resultCode: "000000", encryptType: "1", info: [{ instanceId: "nosuchinstance" }] });
  });
});

describe("V1 bad input", () => {
  it("refuses a wrong key, a missing token, a stale or future timeStamp and bad parameters, storing nothing", async () => {
    const before = await kitTableCounts();
    const params = makeV1NewInstance();

    const wrongKey = await v1(params, { key: "not-the-key" });
    expect(wrongKey.json).toEqual({ resultCode: "000001", resultMsg: "authToken does not match" });
    expect(wrongKey.bodySignValid).toBe(true);

    const noToken = await sendWith(new Request(`https://gateway.test/saas/v1?${new URLSearchParams({ ...params, timeStamp: v1Now() })}`), {}, env.SAAS_ACCESS_KEY);
    expect(noToken.json).toEqual({ resultCode: "000001", resultMsg: "missing authToken" });

    const stale = await v1({ ...params, timeStamp: v1Now(Date.now() - 2 * 86400_000) });
    expect(stale.json).toEqual({ resultCode: "000001", resultMsg: "timeStamp is too old" });
    const future = await v1({ ...params, timeStamp: v1Now(Date.now() + 3600_000) });
    expect(future.json).toEqual({ resultCode: "000001", resultMsg: "timeStamp is in the future" });
    const notATime = await v1({ ...params, timeStamp: "yesterday" });
    expect(notATime.json).toEqual({ resultCode: "000001", resultMsg: "timeStamp: expected UTC yyyyMMddHHmmssSSS" });

    const { orderId: _omit, ...noOrder } = params;
    const missing = await v1(noOrder);
    expect(missing.json).toEqual({ resultCode: "000002", resultMsg: "orderId: required" });
    const unknown = await v1({ ...params, activity: "cloneInstance" });
    expect(unknown.json).toEqual({ resultCode: "000002", resultMsg: 'unknown activity "cloneInstance"' });

    expect(await kitTableCounts()).toEqual(before);
  });

  it("answers 000001 'V1 interface is disabled' when ENABLE_V1 is false, storing nothing", async () => {
    const before = await kitTableCounts();
    const answer = await v1(makeV1NewInstance(), { overrides: { ENABLE_V1: "false" } });
    expect(answer.json).toEqual({ resultCode: "000001", resultMsg: "V1 interface is disabled" });
    expect(answer.bodySignValid).toBe(true);
    expect(await kitTableCounts()).toEqual(before);
  });
});
