import { describe, expect, it } from "vitest";
import { splitInstanceIds } from "../../src/protocol/schemas/common";
import {
  parseKitRequest,
  parseLicenseRequest,
  parseOrderNotify,
  parseV1BasicRequest,
  parseV2BasicRequest,
} from "../../src/protocol/schemas/parse";
import { invalidRequestMessage } from "../support/invalid-request";

// ---- helpers --------------------------------------------------------------------------------------------------------

/** The message of the InvalidRequestError (000002) that `fn` throws, at most 255 characters; fails the test otherwise. */
const rejection = (fn: () => unknown): string => invalidRequestMessage(fn, { maxLength: 255 });

const uid = () => crypto.randomUUID().replaceAll("-", "").slice(0, 16).toUpperCase();
const text = (length: number, ch = "x") => ch.repeat(length);

// Factories: every call gets fresh IDs, so tests never share values.
function makeNewInstance(overrides: Record<string, unknown> = {}) {
  const orderId = `CS${uid()}`;
  return { activity: "newInstance", businessId: crypto.randomUUID(), orderId, orderLineId: `${orderId}-000001`, testFlag: "1", ...overrides };
}
function makeRefreshInstance(overrides: Record<string, unknown> = {}) {
  const orderId = `CS${uid()}`;
  return {
    activity: "refreshInstance",
    scene: "RENEWAL",
    orderId,
    orderLineId: `${orderId}-000001`,
    instanceId: crypto.randomUUID(),
    expireTime: "20251121235959",
    ...overrides,
  };
}
const makeQueryInstance = (overrides: Record<string, unknown> = {}) => ({ activity: "queryInstance", instanceId: crypto.randomUUID(), ...overrides });
const makeUpdateStatus = (overrides: Record<string, unknown> = {}) => ({
  activity: "updateInstanceStatus",
  instanceId: crypto.randomUUID(),
  status: "FREEZE",
  ...overrides,
});
const makeRelease = (overrides: Record<string, unknown> = {}) => ({ activity: "releaseInstance", instanceId: crypto.randomUUID(), ...overrides });
function makeUpgrade(overrides: Record<string, unknown> = {}) {
  const orderId = `CS${uid()}`;
  return { activity: "upgradeInstance", instanceId: crypto.randomUUID(), orderId, orderLineId: `${orderId}-000001`, ...overrides };
}
const makeChangeCheck = (overrides: Record<string, unknown> = {}) => ({
  activity: "changeInstanceCheck",
  instanceId: crypto.randomUUID(),
  productInfo: { skuCode: `sku-${uid()}`, productId: `p-${uid()}`, linearValue: 20 },
  testFlag: "1",
  ...overrides,
});

// ---- V2 basic -------------------------------------------------------------------------------------------------------

describe("V2 basic: activity dispatch", () => {
  it("rejects a missing or non-string activity", () => {
    const { activity: _omit, ...noActivity } = makeNewInstance();
    expect(rejection(() => parseV2BasicRequest(noActivity))).toBe("missing activity");
    expect(rejection(() => parseV2BasicRequest({ ...noActivity, activity: 5 }))).toBe("missing activity");
    expect(rejection(() => parseV2BasicRequest({ ...noActivity, activity: "" }))).toBe("missing activity");
  });

  it("names an unknown activity, V1 names included, and keeps long ones short", () => {
    expect(rejection(() => parseV2BasicRequest({ activity: "fooBar" }))).toBe('unknown activity "fooBar"');
    expect(rejection(() => parseV2BasicRequest({ activity: "upgrade" }))).toBe('unknown activity "upgrade"');
    expect(rejection(() => parseV2BasicRequest({ activity: "toString" }))).toBe('unknown activity "toString"');
    const long = rejection(() => parseV2BasicRequest({ activity: text(1000, "a") }));
    expect(long.length).toBeLessThan(100);
    expect(long).toMatch(/^unknown activity "a+…"$/);
  });

  it("rejects a body that is not a JSON object", () => {
    for (const body of [null, [], "newInstance", 42, undefined]) {
      expect(rejection(() => parseV2BasicRequest(body))).toBe("request body is not a JSON object");
    }
  });
});

describe("V2 newInstance", () => {
  it("accepts the spec example and drops unknown fields", () => {
    const body = makeNewInstance({ buyerInfo: { customerId: "c1" }, orderInfo: [{ chargingMode: "PERIOD" }] });
    expect(parseV2BasicRequest(body)).toEqual({
      activity: "newInstance",
      businessId: body.businessId,
      orderId: body.orderId,
      orderLineId: body.orderLineId,
      isTest: true,
    });
  });

  it("reads testFlag as \"1\"/1 (debug) or \"0\"/0/absent/null/\"\" (real), and nothing else", () => {
    for (const flag of ["1", 1]) expect(parseV2BasicRequest(makeNewInstance({ testFlag: flag })).isTest).toBe(true);
    for (const flag of ["0", 0, null, "", undefined]) expect(parseV2BasicRequest(makeNewInstance({ testFlag: flag })).isTest).toBe(false);
    const { testFlag: _omit, ...real } = makeNewInstance();
    expect(parseV2BasicRequest(real)).not.toHaveProperty("testFlag");
    expect(parseV2BasicRequest(real).isTest).toBe(false);
    for (const flag of ["2", true, "yes", 2]) {
      expect(rejection(() => parseV2BasicRequest(makeNewInstance({ testFlag: flag })))).toBe('testFlag: must be "0" or "1"');
    }
  });

  it("requires each ID, non-empty, a string, at most 64 characters", () => {
    for (const field of ["orderId", "orderLineId", "businessId"]) {
      const body: Record<string, unknown> = makeNewInstance();
      delete body[field];
      expect(rejection(() => parseV2BasicRequest(body))).toBe(`${field}: required`);
      expect(rejection(() => parseV2BasicRequest(makeNewInstance({ [field]: null })))).toBe(`${field}: required`);
      expect(rejection(() => parseV2BasicRequest(makeNewInstance({ [field]: "" })))).toBe(`${field}: must not be empty`);
      expect(rejection(() => parseV2BasicRequest(makeNewInstance({ [field]: 12345 })))).toBe(`${field}: expected string, got number`);
      expect(rejection(() => parseV2BasicRequest(makeNewInstance({ [field]: text(65) })))).toBe(`${field}: too long (max 64)`);
      expect(parseV2BasicRequest(makeNewInstance({ [field]: text(64) }))).toMatchObject({ [field]: text(64) });
    }
  });

  it("never repeats a submitted value in the message", () => {
    const secret = `SECRET${text(70, "s")}`;
    const message = rejection(() => parseV2BasicRequest(makeNewInstance({ orderId: secret })));
    expect(message).toBe("orderId: too long (max 64)");
    expect(message).not.toContain("SECRET");
  });
});

describe("V2 queryInstance", () => {
  it("splits the comma-separated list into instanceIds", () => {
    const [a, b, c] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    expect(parseV2BasicRequest(makeQueryInstance({ instanceId: `${a},${b}, ${c}`, testFlag: "1" }))).toEqual({
      activity: "queryInstance",
      instanceIds: [a, b, c],
      isTest: true,
    });
    expect(splitInstanceIds(`${a},,${a},${b},`)).toEqual([a, b]);
  });

  it("accepts 100 IDs and rejects 101", () => {
    const ids = Array.from({ length: 101 }, () => uid());
    const hundred = parseV2BasicRequest(makeQueryInstance({ instanceId: ids.slice(0, 100).join(",") }));
    expect(hundred.activity === "queryInstance" && hundred.instanceIds.length).toBe(100);
    expect(rejection(() => parseV2BasicRequest(makeQueryInstance({ instanceId: ids.join(",") })))).toBe(
      "instanceId: too many instance IDs (max 100)",
    );
  });

  it("limits each ID to 64 characters, and needs at least one", () => {
    expect(parseV2BasicRequest(makeQueryInstance({ instanceId: `a,${text(64)}` }))).toMatchObject({ instanceIds: ["a", text(64)] });
    expect(rejection(() => parseV2BasicRequest(makeQueryInstance({ instanceId: `a,${text(65)}` })))).toBe(
      "instanceId: ID number 2 is too long (max 64)",
    );
    expect(rejection(() => parseV2BasicRequest(makeQueryInstance({ instanceId: " , " })))).toBe("instanceId: names no instance ID");
    expect(rejection(() => parseV2BasicRequest(makeQueryInstance({ instanceId: undefined })))).toBe("instanceId: required");
    expect(rejection(() => parseV2BasicRequest(makeQueryInstance({ instanceId: ["a", "b"] })))).toBe("instanceId: expected string, got array");
  });
});

describe("V2 refreshInstance", () => {
  it("accepts every documented scene, 14- and 17-digit expireTime, optional productId", () => {
    for (const scene of ["TRIAL_TO_FORMAL", "RENEWAL", "UNSUBSCRIBE_RENEWAL_PERIOD", "RENEWAL_CHANGE"]) {
      expect(parseV2BasicRequest(makeRefreshInstance({ scene }))).toMatchObject({ scene, isTest: false });
    }
    const body = makeRefreshInstance({ expireTime: "20251121235959256", productId: "p-year", testFlag: "1" });
    expect(parseV2BasicRequest(body)).toEqual({
      activity: "refreshInstance",
      scene: "RENEWAL",
      orderId: body.orderId,
      orderLineId: body.orderLineId,
      instanceId: body.instanceId,
      productId: "p-year",
      expireTime: "20251121235959256",
      isTest: true,
    });
    expect(parseV2BasicRequest(makeRefreshInstance({ productId: "" }))).toMatchObject({ productId: undefined });
  });

  it("rejects a bad scene, a bad or missing expireTime", () => {
    expect(rejection(() => parseV2BasicRequest(makeRefreshInstance({ scene: "RENEW" })))).toBe(
      'scene: must be "TRIAL_TO_FORMAL" or "RENEWAL" or "UNSUBSCRIBE_RENEWAL_PERIOD" or "RENEWAL_CHANGE"',
    );
    expect(rejection(() => parseV2BasicRequest(makeRefreshInstance({ expireTime: "20250230000000" })))).toBe(
      "expireTime: not a real date/time (UTC yyyyMMddHHmmss)",
    );
    expect(rejection(() => parseV2BasicRequest(makeRefreshInstance({ expireTime: "2025-11-21 23:59:59" })))).toBe(
      "expireTime: expected UTC yyyyMMddHHmmss",
    );
    expect(rejection(() => parseV2BasicRequest(makeRefreshInstance({ expireTime: 20251121235959 })))).toBe(
      "expireTime: expected string, got number",
    );
    expect(rejection(() => parseV2BasicRequest(makeRefreshInstance({ expireTime: undefined })))).toBe("expireTime: required");
    expect(rejection(() => parseV2BasicRequest(makeRefreshInstance({ scene: undefined })))).toBe("scene: required");
    expect(rejection(() => parseV2BasicRequest(makeRefreshInstance({ scene: null })))).toBe("scene: required");
    expect(rejection(() => parseV2BasicRequest(makeRefreshInstance({ productId: text(65) })))).toBe("productId: too long (max 64)");
  });
});

describe("V2 updateInstanceStatus, releaseInstance, upgradeInstance", () => {
  it("updateInstanceStatus takes FREEZE or UNFREEZE only", () => {
    for (const status of ["FREEZE", "UNFREEZE"]) expect(parseV2BasicRequest(makeUpdateStatus({ status }))).toMatchObject({ status });
    expect(rejection(() => parseV2BasicRequest(makeUpdateStatus({ status: "NORMAL" })))).toBe('status: must be "FREEZE" or "UNFREEZE"');
    expect(rejection(() => parseV2BasicRequest(makeUpdateStatus({ instanceId: text(65) })))).toBe("instanceId: too long (max 64)");
  });

  it("releaseInstance: orderId/orderLineId optional, null or empty read as absent", () => {
    const plain = makeRelease();
    expect(parseV2BasicRequest(plain)).toEqual({ activity: "releaseInstance", instanceId: plain.instanceId, isTest: false });
    const refund = makeRelease({ orderId: "CSREFUND1", orderLineId: "CSREFUND1-000001", testFlag: 1 });
    expect(parseV2BasicRequest(refund)).toMatchObject({ orderId: "CSREFUND1", orderLineId: "CSREFUND1-000001", isTest: true });
    expect(parseV2BasicRequest(makeRelease({ orderId: null, orderLineId: "" }))).toMatchObject({ orderId: undefined, orderLineId: undefined });
    expect(rejection(() => parseV2BasicRequest(makeRelease({ instanceId: undefined })))).toBe("instanceId: required");
    expect(rejection(() => parseV2BasicRequest(makeRelease({ orderId: text(65) })))).toBe("orderId: too long (max 64)");
  });

  it("upgradeInstance needs instanceId, orderId and orderLineId", () => {
    const body = makeUpgrade();
    expect(parseV2BasicRequest(body)).toEqual({ ...body, isTest: false });
    expect(rejection(() => parseV2BasicRequest(makeUpgrade({ orderLineId: undefined })))).toBe("orderLineId: required");
  });
});

describe("V2 changeInstanceCheck", () => {
  it("passes productInfo through whole, as an object or a JSON string of one", () => {
    const body = makeChangeCheck();
    expect(parseV2BasicRequest(body)).toEqual({
      activity: "changeInstanceCheck",
      instanceId: body.instanceId,
      productInfo: body.productInfo,
      isTest: true,
    });
    expect(parseV2BasicRequest(makeChangeCheck({ productInfo: JSON.stringify(body.productInfo) }))).toMatchObject({
      productInfo: body.productInfo,
    });
  });

  it("rejects a missing, non-object or unparseable productInfo", () => {
    expect(rejection(() => parseV2BasicRequest(makeChangeCheck({ productInfo: undefined })))).toBe("productInfo: required");
    expect(rejection(() => parseV2BasicRequest(makeChangeCheck({ productInfo: [{ a: 1 }] })))).toBe("productInfo: expected object, got array");
    expect(rejection(() => parseV2BasicRequest(makeChangeCheck({ productInfo: "{oops" })))).toBe("productInfo: not valid JSON");
  });
});

// ---- V1 basic -------------------------------------------------------------------------------------------------------

/** Query parameters as a servlet would hand them over: URL-decoded strings. */
function params(query: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(query));
}

function v1NewInstanceQuery(overrides: Record<string, string> = {}): Record<string, string> {
  const orderId = `CS${uid()}`;
  return {
    activity: "newInstance",
    authToken: "dGVzdA==",
    timeStamp: "20240530120000123",
    customerId: `cust-${uid()}`,
    customerName: "buyer",
    userId: "",
    userName: "",
    mobilePhone: "abcdefghijklmnopQmFzZTY0Q2lwaGVy",
    businessId: crypto.randomUUID(),
    orderId,
    skuCode: `sku-${uid()}`,
    productId: `p-${uid()}`,
    testFlag: "1",
    trialFlag: "0",
    expireTime: "20250530120000",
    chargingMode: "1",
    periodType: "month",
    periodNumber: "3",
    amount: "50",
    orderAmount: "99.900",
    saasExtendParams: btoa(JSON.stringify([{ name: "emailDomainName", value: "example.com" }])),
    ...overrides,
  };
}

describe("V1 basic (GET query parameters)", () => {
  it("newInstance: coerces Integer fields, keeps amounts and times as text, reads empty params as absent", () => {
    const query = v1NewInstanceQuery();
    const parsed = parseV1BasicRequest(query);
    expect(parsed).toEqual({
      activity: "newInstance",
      timeStamp: "20240530120000123",
      customerId: query.customerId,
      customerName: "buyer",
      userId: undefined,
      userName: undefined,
      mobilePhone: query.mobilePhone,
      businessId: query.businessId,
      orderId: query.orderId,
      skuCode: query.skuCode,
      productId: query.productId,
      expireTime: "20250530120000",
      chargingMode: 1,
      periodType: "month",
      periodNumber: 3,
      amount: 50,
      orderAmount: "99.900",
      saasExtendParams: query.saasExtendParams,
      isTest: true,
      isTrial: false,
    });
    expect(parsed).not.toHaveProperty("authToken");
  });

  it("newInstance: rejects bad integers, amounts, lengths and a missing mandatory field", () => {
    expect(rejection(() => parseV1BasicRequest(v1NewInstanceQuery({ periodNumber: "123" })))).toBe(
      "periodNumber: must be an integer of at most 2 digits",
    );
    expect(rejection(() => parseV1BasicRequest(v1NewInstanceQuery({ amount: "5.5" })))).toBe("amount: must be an integer of at most 7 digits");
    expect(rejection(() => parseV1BasicRequest(v1NewInstanceQuery({ orderAmount: "-1" })))).toBe(
      "orderAmount: must be a non-negative decimal number with at most 3 decimals",
    );
    expect(parseV1BasicRequest(v1NewInstanceQuery({ customerId: text(100) }))).toMatchObject({ customerId: text(100) });
    expect(rejection(() => parseV1BasicRequest(v1NewInstanceQuery({ customerId: text(101) })))).toBe("customerId: too long (max 100)");
    expect(rejection(() => parseV1BasicRequest(v1NewInstanceQuery({ skuCode: "" })))).toBe("skuCode: must not be empty");
    const { skuCode: _omit, ...noSku } = v1NewInstanceQuery();
    expect(rejection(() => parseV1BasicRequest(noSku))).toBe("skuCode: required");
    expect(rejection(() => parseV1BasicRequest(v1NewInstanceQuery({ trialFlag: "2" })))).toBe('trialFlag: must be "0" or "1"');
  });

  it("validates timeStamp as UTC yyyyMMddHHmmssSSS", () => {
    const { timeStamp: _omit, ...noTime } = v1NewInstanceQuery();
    expect(rejection(() => parseV1BasicRequest(noTime))).toBe("timeStamp: required");
    expect(rejection(() => parseV1BasicRequest(v1NewInstanceQuery({ timeStamp: "20241301000000000" })))).toBe(
      "timeStamp: not a real date/time (UTC yyyyMMddHHmmssSSS)",
    );
    expect(rejection(() => parseV1BasicRequest(v1NewInstanceQuery({ timeStamp: "1717000000123" })))).toBe(
      "timeStamp: expected UTC yyyyMMddHHmmssSSS",
    );
  });

  it("refreshInstance: a negative orderAmount (renewal refund) and trialToFormal", () => {
    const instanceId = crypto.randomUUID();
    const parsed = parseV1BasicRequest(
      params(`activity=refreshInstance&instanceId=${instanceId}&orderId=CSR1&expireTime=20260101000000&trialToFormal=1&orderAmount=-10.5&periodNumber=1&testFlag=0&timeStamp=20240530120000123&authToken=x`),
    );
    expect(parsed).toEqual({
      activity: "refreshInstance",
      timeStamp: "20240530120000123",
      orderId: "CSR1",
      instanceId,
      expireTime: "20260101000000",
      periodNumber: 1,
      orderAmount: "-10.5",
      isTest: false,
      isTrialToFormal: true,
    });
    const emptyExpiry = params(`activity=refreshInstance&instanceId=${instanceId}&orderId=CSR1&expireTime=&timeStamp=20240530120000123`);
    expect(rejection(() => parseV1BasicRequest(emptyExpiry))).toBe("expireTime: must not be empty");
  });

  it("expireInstance and releaseInstance (the spec's example URL)", () => {
    const instanceId = crypto.randomUUID();
    expect(parseV1BasicRequest(params(`activity=expireInstance&instanceId=${instanceId}&orderId=CS1&timeStamp=20240530120000123`))).toEqual({
      activity: "expireInstance",
      timeStamp: "20240530120000123",
      instanceId,
      orderId: "CS1",
      isTest: false,
    });
    const release = params(
      `activity=releaseInstance&instanceId=${instanceId}&orderId=CS1&testFlag=0&timeStamp=20240530120000123&authToken=${encodeURIComponent("a+b/c=")}`,
    );
    expect(parseV1BasicRequest(release)).toEqual({
      activity: "releaseInstance",
      timeStamp: "20240530120000123",
      instanceId,
      orderId: "CS1",
      isTest: false,
    });
    const { orderId: _omit, ...noOrder } = release;
    expect(rejection(() => parseV1BasicRequest(noOrder))).toBe("orderId: required");
  });

  it("upgrade needs skuCode and productId; amounts coerced", () => {
    const instanceId = crypto.randomUUID();
    const q = params(`activity=upgrade&instanceId=${instanceId}&orderId=CSU1&skuCode=s2&productId=p2&amount=20&diskSize=&bandWidth=100&timeStamp=20240530120000123`);
    expect(parseV1BasicRequest(q)).toEqual({
      activity: "upgrade",
      timeStamp: "20240530120000123",
      instanceId,
      orderId: "CSU1",
      skuCode: "s2",
      productId: "p2",
      amount: 20,
      bandWidth: 100,
      isTest: false,
    });
    const { productId: _omit, ...noProduct } = q;
    expect(rejection(() => parseV1BasicRequest(noProduct))).toBe("productId: required");
  });

  it("instanceStatus takes FREEZE or NORMAL", () => {
    const base = `activity=instanceStatus&instanceId=i1&timeStamp=20240530120000123`;
    expect(parseV1BasicRequest(params(`${base}&instanceStatus=NORMAL`))).toMatchObject({ instanceStatus: "NORMAL" });
    expect(parseV1BasicRequest(params(`${base}&instanceStatus=FREEZE`))).toMatchObject({ instanceStatus: "FREEZE" });
    expect(rejection(() => parseV1BasicRequest(params(`${base}&instanceStatus=UNFREEZE`)))).toBe('instanceStatus: must be "FREEZE" or "NORMAL"');
    expect(rejection(() => parseV1BasicRequest(params(base)))).toBe("instanceStatus: required");
  });

  it("queryInstance: %2C-separated IDs, at most 100", () => {
    const ids = Array.from({ length: 101 }, () => uid());
    const base = "activity=queryInstance&timeStamp=20240530120000123&instanceId=";
    expect(parseV1BasicRequest(params(`${base}${ids.slice(0, 2).join("%2C")}`))).toMatchObject({ instanceIds: ids.slice(0, 2) });
    expect(parseV1BasicRequest(params(`${base}${ids.slice(0, 100).join("%2C")}`))).toMatchObject({ instanceIds: ids.slice(0, 100) });
    expect(rejection(() => parseV1BasicRequest(params(`${base}${ids.join("%2C")}`)))).toBe("instanceId: too many instance IDs (max 100)");
  });

  it("activity dispatch: missing, unknown, V2-only names", () => {
    expect(rejection(() => parseV1BasicRequest(params("timeStamp=20240530120000123")))).toBe("missing activity");
    expect(rejection(() => parseV1BasicRequest(params("activity=fooBar")))).toBe('unknown activity "fooBar"');
    expect(rejection(() => parseV1BasicRequest(params("activity=upgradeInstance")))).toBe('unknown activity "upgradeInstance"');
    expect(rejection(() => parseV1BasicRequest(params("activity=updateInstanceStatus")))).toBe('unknown activity "updateInstanceStatus"');
  });
});

// ---- kit ------------------------------------------------------------------------------------------------------------

const KIT_TS = "20220420114117642";

function makeTenantSync(overrides: Record<string, unknown> = {}) {
  return {
    instanceId: crypto.randomUUID(),
    orderId: `CS${uid()}`,
    tenantId: `t-${uid()}`,
    tenantCode: `tc-${uid()}`,
    name: "Example Co.",
    domainName: "https://example.idaas.test",
    flag: 1,
    testFlag: 1,
    timeStamp: KIT_TS,
    ...overrides,
  };
}
function makeApplicationSync(overrides: Record<string, unknown> = {}) {
  return {
    instanceId: crypto.randomUUID(),
    tenantId: `t-${uid()}`,
    appId: `app-${uid()}`,
    clientId: `client-${uid()}`,
    clientSecret: "UlNBLU9BRVAtY2lwaGVydGV4dA==",
    flag: 1,
    testFlag: 0,
    timeStamp: KIT_TS,
    ...overrides,
  };
}
function makeUser(overrides: Record<string, unknown> = {}) {
  return {
    userName: `u-${uid()}`,
    name: "Zhang San",
    position: "engineer",
    orgCode: "org-1",
    role: "user",
    enable: "true",
    employeeCode: "E001",
    mobile: "13800000000",
    email: "zs@example.com",
    extension: { entryDate: "2023-10-5", employeeType: "1", workPlace: "Shenzhen" },
    ...overrides,
  };
}
function makeAuthSync(overrides: Record<string, unknown> = {}) {
  return {
    instanceId: crypto.randomUUID(),
    tenantId: `t-${uid()}`,
    appId: `app-${uid()}`,
    userList: [makeUser(), makeUser({ role: "admin", enable: false, extension: undefined })],
    currentSyncTime: KIT_TS,
    flag: 1,
    testFlag: 1,
    timeStamp: KIT_TS,
    ...overrides,
  };
}
function makeSingleOrgSync(overrides: Record<string, unknown> = {}) {
  return {
    instanceId: crypto.randomUUID(),
    tenantId: `t-${uid()}`,
    orgCode: `org-${uid()}`,
    orgName: "R&D",
    parentCode: "org-root",
    flag: 1,
    testFlag: 1,
    timeStamp: KIT_TS,
    ...overrides,
  };
}
function makeAllOrgSync(overrides: Record<string, unknown> = {}) {
  return {
    instanceId: crypto.randomUUID(),
    tenantId: `t-${uid()}`,
    orgInfoList: [
      { orgCode: "org-root", orgName: "Head office" },
      { orgCode: "org-1", orgName: "R&D", parentCode: "org-root" },
    ],
    testFlag: 1,
    timeStamp: KIT_TS,
    ...overrides,
  };
}

describe("kit tenantSync", () => {
  it("accepts V2 flags 0/1/2 and tags the result", () => {
    const body = makeTenantSync({ flag: 2 });
    const { testFlag: _t, ...rest } = body;
    expect(parseKitRequest("tenantSync", "v2", body)).toEqual({ name: "tenantSync", version: "v2", request: { ...rest, isTest: true } });
    for (const flag of [0, 1, "0", "1", "2"]) expect(parseKitRequest("tenantSync", "v2", makeTenantSync({ flag })).request).toMatchObject({ flag: Number(flag) });
  });

  it("V1 allows only 0 and 1", () => {
    expect(parseKitRequest("tenantSync", "v1", makeTenantSync({ flag: "1", testFlag: "0" })).request).toMatchObject({ flag: 1, isTest: false });
    expect(rejection(() => parseKitRequest("tenantSync", "v1", makeTenantSync({ flag: 2 })))).toBe("flag: must be one of 0|1");
  });

  it("instanceId may be empty or absent (seller credential and test calls)", () => {
    expect(parseKitRequest("tenantSync", "v2", makeTenantSync({ instanceId: "" })).request).toMatchObject({ instanceId: "" });
    expect(parseKitRequest("tenantSync", "v2", makeTenantSync({ instanceId: undefined })).request).toMatchObject({ instanceId: "" });
    expect(parseKitRequest("tenantSync", "v2", makeTenantSync({ instanceId: null })).request).toMatchObject({ instanceId: "" });
    expect(rejection(() => parseKitRequest("tenantSync", "v2", makeTenantSync({ instanceId: text(65) })))).toBe("instanceId: too long (max 64)");
  });

  it("testFlag is required, 0 or 1", () => {
    expect(rejection(() => parseKitRequest("tenantSync", "v2", makeTenantSync({ testFlag: undefined })))).toBe("testFlag: required");
    expect(rejection(() => parseKitRequest("tenantSync", "v2", makeTenantSync({ testFlag: 2 })))).toBe("testFlag: must be one of 0|1");
    expect(rejection(() => parseKitRequest("tenantSync", "v2", makeTenantSync({ testFlag: true })))).toBe("testFlag: must be one of 0|1");
  });

  it("timeStamp is UTC+8 yyyyMMddHHmmssSSS", () => {
    expect(rejection(() => parseKitRequest("tenantSync", "v2", makeTenantSync({ timeStamp: "20220230114117642" })))).toBe(
      "timeStamp: not a real date/time (UTC+8 yyyyMMddHHmmssSSS)",
    );
    expect(rejection(() => parseKitRequest("tenantSync", "v2", makeTenantSync({ timeStamp: 1650426077642 })))).toBe(
      "timeStamp: expected string, got number",
    );
  });

  it("name and domainName allow 255 characters", () => {
    expect(parseKitRequest("tenantSync", "v2", makeTenantSync({ name: text(255), domainName: text(255) })).request).toMatchObject({
      name: text(255),
    });
    expect(rejection(() => parseKitRequest("tenantSync", "v2", makeTenantSync({ name: text(256) })))).toBe("name: too long (max 255)");
    expect(rejection(() => parseKitRequest("tenantSync", "v2", makeTenantSync({ domainName: undefined })))).toBe("domainName: required");
  });
});

describe("kit applicationSync", () => {
  it("accepts the documented fields", () => {
    const body = makeApplicationSync({ flag: 2 });
    const { testFlag: _t, ...rest } = body;
    expect(parseKitRequest("applicationSync", "v2", body)).toEqual({ name: "applicationSync", version: "v2", request: { ...rest, isTest: false } });
    expect(rejection(() => parseKitRequest("applicationSync", "v1", makeApplicationSync({ flag: 2 })))).toBe("flag: must be one of 0|1");
  });

  it("requires clientSecret and never quotes it", () => {
    expect(rejection(() => parseKitRequest("applicationSync", "v2", makeApplicationSync({ clientSecret: undefined })))).toBe(
      "clientSecret: required",
    );
    const message = rejection(() => parseKitRequest("applicationSync", "v2", makeApplicationSync({ clientSecret: { value: "TOPSECRET" } })));
    expect(message).toBe("clientSecret: expected string, got object");
    expect(message).not.toContain("TOPSECRET");
    expect(rejection(() => parseKitRequest("applicationSync", "v2", makeApplicationSync({ appId: text(65) })))).toBe("appId: too long (max 64)");
  });
});

describe("kit authSync", () => {
  it("accepts userList as an array and as a JSON string, with the same result", () => {
    const body = makeAuthSync();
    const fromArray = parseKitRequest("authSync", "v2", body);
    const fromString = parseKitRequest("authSync", "v2", { ...body, userList: JSON.stringify(body.userList) });
    expect(fromString).toEqual(fromArray);
    const [first, second] = body.userList;
    expect(fromArray.request).toMatchObject({
      currentSyncTime: KIT_TS,
      flag: 1,
      isTest: true,
      userList: [
        { ...first, enable: true },
        { ...second, enable: false, extension: undefined },
      ],
    });
  });

  it("accepts 500 users and rejects 501", () => {
    const users = Array.from({ length: 501 }, (_, i) => makeUser({ userName: `user-${i}` }));
    const ok = parseKitRequest("authSync", "v2", makeAuthSync({ userList: users.slice(0, 500) }));
    expect(ok.name === "authSync" && ok.request.userList.length).toBe(500);
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: users })))).toBe("userList: too many items (max 500)");
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: JSON.stringify(users) })))).toBe(
      "userList: too many items (max 500)",
    );
  });

  it("names the failing user field by index", () => {
    const users = [makeUser(), makeUser({ role: "owner" })];
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: users })))).toBe('userList[1].role: must be "user" or "admin"');
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: [makeUser({ orgCode: undefined })] })))).toBe(
      "userList[0].orgCode: required",
    );
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: [makeUser({ enable: "yes" })] })))).toBe(
      "userList[0].enable: must be true or false",
    );
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: [makeUser({ enable: undefined })] })))).toBe(
      "userList[0].enable: required",
    );
    const badDate = makeUser({ extension: { entryDate: "2023-02-30" } });
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: JSON.stringify([badDate]) })))).toBe(
      "userList[0].extension.entryDate: not a real date/time (yyyy-MM-d)",
    );
    const badType = makeUser({ extension: { employeeType: "5" } });
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: [badType] })))).toBe(
      'userList[0].extension.employeeType: must be "1" or "2" or "3" or "4"',
    );
  });

  it("normalises employeeType numbers and empty optional fields", () => {
    const user = makeUser({ position: "", mobile: null, extension: { entryDate: "", employeeType: 4 } });
    const parsed = parseKitRequest("authSync", "v2", makeAuthSync({ userList: [user] }));
    expect(parsed.name === "authSync" && parsed.request.userList[0]).toMatchObject({
      position: undefined,
      mobile: undefined,
      extension: { entryDate: undefined, employeeType: "4" },
    });
  });

  it("rejects a userList that is neither an array nor a JSON array", () => {
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: "[{" })))).toBe("userList: not valid JSON");
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: '{"a":1}' })))).toBe("userList: expected array, got object");
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ userList: undefined })))).toBe("userList: required");
  });

  it("flag 3 (revoke) is V2 only; currentSyncTime is UTC+8", () => {
    expect(parseKitRequest("authSync", "v2", makeAuthSync({ flag: 3 })).request).toMatchObject({ flag: 3 });
    expect(rejection(() => parseKitRequest("authSync", "v1", makeAuthSync({ flag: 3 })))).toBe("flag: must be one of 0|1|2");
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ flag: 4 })))).toBe("flag: must be one of 0|1|2|3");
    expect(rejection(() => parseKitRequest("authSync", "v2", makeAuthSync({ currentSyncTime: "20221320114117642" })))).toBe(
      "currentSyncTime: not a real date/time (UTC+8 yyyyMMddHHmmssSSS)",
    );
  });

  it("V1 sends userList as a JSON string", () => {
    const body = makeAuthSync({ flag: "2", testFlag: "0" });
    const parsed = parseKitRequest("authSync", "v1", { ...body, userList: JSON.stringify(body.userList) });
    expect(parsed).toMatchObject({ name: "authSync", version: "v1", request: { flag: 2, isTest: false } });
    expect(parsed.name === "authSync" && parsed.request.userList.map((u) => u.userName)).toEqual(body.userList.map((u) => u.userName));
  });
});

describe("kit singleOrgSync", () => {
  it("accepts flags 0/1/2 in both versions; empty parentCode means top level", () => {
    for (const version of ["v1", "v2"] as const) {
      expect(parseKitRequest("singleOrgSync", version, makeSingleOrgSync({ flag: 2 })).request).toMatchObject({ flag: 2 });
    }
    expect(parseKitRequest("singleOrgSync", "v2", makeSingleOrgSync({ parentCode: "" })).request).toMatchObject({ parentCode: undefined });
    expect(rejection(() => parseKitRequest("singleOrgSync", "v2", makeSingleOrgSync({ flag: 3 })))).toBe("flag: must be one of 0|1|2");
  });

  it("orgCode ≤64, orgName ≤128, parentCode ≤64", () => {
    expect(parseKitRequest("singleOrgSync", "v2", makeSingleOrgSync({ orgCode: text(64), orgName: text(128), parentCode: text(64) })).request).toMatchObject({
      orgName: text(128),
    });
    expect(rejection(() => parseKitRequest("singleOrgSync", "v2", makeSingleOrgSync({ orgName: text(129) })))).toBe("orgName: too long (max 128)");
    expect(rejection(() => parseKitRequest("singleOrgSync", "v2", makeSingleOrgSync({ orgCode: text(65) })))).toBe("orgCode: too long (max 64)");
    expect(rejection(() => parseKitRequest("singleOrgSync", "v2", makeSingleOrgSync({ parentCode: text(65) })))).toBe("parentCode: too long (max 64)");
  });
});

describe("kit allOrgSync", () => {
  it("V2: orgInfoList as an array or a JSON string", () => {
    const body = makeAllOrgSync();
    const fromArray = parseKitRequest("allOrgSync", "v2", body);
    expect(fromArray.request).toMatchObject({
      orgInfoList: [
        { orgCode: "org-root", orgName: "Head office" },
        { orgCode: "org-1", orgName: "R&D", parentCode: "org-root" },
      ],
      isTest: true,
    });
    expect(parseKitRequest("allOrgSync", "v2", { ...body, orgInfoList: JSON.stringify(body.orgInfoList) })).toEqual(fromArray);
    expect(rejection(() => parseKitRequest("allOrgSync", "v2", { ...body, orgInfoList: [{ orgCode: "x" }] }))).toBe("orgInfoList[0].orgName: required");
  });

  it("V1: orgInfo JSON string with `name`, output in the V2 shape", () => {
    const { orgInfoList: _o, ...rest } = makeAllOrgSync();
    const v1 = { ...rest, orgInfo: JSON.stringify([{ orgCode: "org-root", name: "Head office", parentCode: "" }, { orgCode: "org-1", name: "R&D", parentCode: "org-root" }]) };
    const parsed = parseKitRequest("allOrgSync", "v1", v1);
    expect(parsed).toMatchObject({ name: "allOrgSync", version: "v1" });
    expect(parsed.request).not.toHaveProperty("orgInfo");
    expect(parsed.name === "allOrgSync" && parsed.request.orgInfoList).toEqual([
      { orgCode: "org-root", orgName: "Head office", parentCode: undefined },
      { orgCode: "org-1", orgName: "R&D", parentCode: "org-root" },
    ]);
    expect(rejection(() => parseKitRequest("allOrgSync", "v1", rest))).toBe("orgInfo: required");
    expect(rejection(() => parseKitRequest("allOrgSync", "v1", { ...rest, orgInfo: '[{"orgCode":"a"}]' }))).toBe("orgInfo[0].name: required");
  });
});

describe("kit dispatch", () => {
  it("names an unknown kit interface and rejects a non-object body", () => {
    expect(rejection(() => parseKitRequest("fooSync", "v2", makeTenantSync()))).toBe('unknown kit interface "fooSync"');
    expect(rejection(() => parseKitRequest("tenantSync", "v2", "[]"))).toBe("request body is not a JSON object");
  });
});

// ---- license and order notification ---------------------------------------------------------------------------------

describe("license callbacks", () => {
  const license = () => `LIC-${uid()}`;

  it("refreshLicenseCode: RENEWAL or UNSUBSCRIBE_RENEWAL_PERIOD", () => {
    const body = { activity: "refreshLicenseCode", scene: "RENEWAL", orderId: "CSL1", orderLineId: "CSL1-000001", license: license(), expireTime: "20260101000000", testFlag: "1" };
    expect(parseLicenseRequest(body)).toEqual({ activity: "refreshLicenseCode", scene: "RENEWAL", orderId: "CSL1", orderLineId: "CSL1-000001", license: body.license, expireTime: "20260101000000", isTest: true });
    expect(parseLicenseRequest({ ...body, scene: "UNSUBSCRIBE_RENEWAL_PERIOD", productId: "p1" })).toMatchObject({ scene: "UNSUBSCRIBE_RENEWAL_PERIOD", productId: "p1" });
    expect(rejection(() => parseLicenseRequest({ ...body, scene: "TRIAL_TO_FORMAL" }))).toBe('scene: must be "RENEWAL" or "UNSUBSCRIBE_RENEWAL_PERIOD"');
    expect(rejection(() => parseLicenseRequest({ ...body, expireTime: "20261301000000" }))).toBe("expireTime: not a real date/time (UTC yyyyMMddHHmmss)");
    expect(rejection(() => parseLicenseRequest({ ...body, license: text(65) }))).toBe("license: too long (max 64)");
    expect(parseLicenseRequest({ ...body, license: text(64) })).toMatchObject({ license: text(64) });
  });

  it("updateLicenseCodeStatus and releaseLicenseCode", () => {
    const code = license();
    expect(parseLicenseRequest({ activity: "updateLicenseCodeStatus", license: code, status: "UNFREEZE" })).toEqual({
      activity: "updateLicenseCodeStatus",
      license: code,
      status: "UNFREEZE",
      isTest: false,
    });
    expect(rejection(() => parseLicenseRequest({ activity: "updateLicenseCodeStatus", license: code, status: "NORMAL" }))).toBe(
      'status: must be "FREEZE" or "UNFREEZE"',
    );
    expect(parseLicenseRequest({ activity: "releaseLicenseCode", license: code, orderId: "CSX", testFlag: 1 })).toEqual({
      activity: "releaseLicenseCode",
      license: code,
      orderId: "CSX",
      isTest: true,
    });
    expect(rejection(() => parseLicenseRequest({ activity: "releaseLicenseCode" }))).toBe("license: required");
  });

  it("getLicenseAsync: the spec's time example, lengths 32/64/1024", () => {
    const body = { activity: "getLicenseAsync", instanceId: crypto.randomUUID(), effectiveTime: "2023-10-27 10:30:15 z", eventId: `ev-${uid()}`, deviceFingerprint: text(1024) };
    expect(parseLicenseRequest(body)).toEqual({ ...body, isTest: false });
    expect(parseLicenseRequest({ ...body, expireTime: "2024-10-27 10:30:15 z" })).toMatchObject({ expireTime: "2024-10-27 10:30:15 z" });
    expect(parseLicenseRequest({ ...body, expireTime: "" })).toMatchObject({ expireTime: undefined });
    expect(rejection(() => parseLicenseRequest({ ...body, deviceFingerprint: text(1025) }))).toBe("deviceFingerprint: too long (max 1024)");
    expect(rejection(() => parseLicenseRequest({ ...body, effectiveTime: `2023-10-27 10:30:15 z${text(12, " ")}` }))).toBe("effectiveTime: too long (max 32)");
    expect(rejection(() => parseLicenseRequest({ ...body, effectiveTime: "2023-02-29 10:30:15 z" }))).toBe(
      "effectiveTime: not a real date/time (UTC yyyy-MM-dd HH:mm:ss z)",
    );
    expect(rejection(() => parseLicenseRequest({ ...body, expireTime: "tomorrow" }))).toBe("expireTime: expected UTC yyyy-MM-dd HH:mm:ss z");
    expect(rejection(() => parseLicenseRequest({ ...body, eventId: undefined }))).toBe("eventId: required");
  });

  it("activity dispatch", () => {
    expect(rejection(() => parseLicenseRequest({ license: "x" }))).toBe("missing activity");
    expect(rejection(() => parseLicenseRequest({ activity: "newInstance" }))).toBe('unknown activity "newInstance"');
    expect(rejection(() => parseLicenseRequest({ activity: "getLicense" }))).toBe('unknown activity "getLicense"');
  });
});

describe("orderNotify", () => {
  it("accepts the spec example; a missing testFlag reads as a real call", () => {
    const body = { activity: "orderNotify", orderId: "CS2211181819B4LVS", orderLineId: "CS2211181819B4LVS-000001", testFlag: "1" };
    expect(parseOrderNotify(body)).toEqual({ activity: "orderNotify", orderId: body.orderId, orderLineId: body.orderLineId, isTest: true, extra: {} });
    const { testFlag: _t, ...real } = body;
    expect(parseOrderNotify(real).isTest).toBe(false);
  });

  it("reads a missing or empty orderLineId as the whole order, and keeps every field it does not read", () => {
    expect(parseOrderNotify({ activity: "orderNotify", orderId: "CS1" })).toEqual({ activity: "orderNotify", orderId: "CS1", orderLineId: "", isTest: false, extra: {} });
    expect(parseOrderNotify({ activity: "orderNotify", orderId: "CS1", orderLineId: "" }).orderLineId).toBe("");
    expect(parseOrderNotify({ activity: "orderNotify", orderId: "CS1", orderLineId: "CS1-1", saleMode: "API", n: [1] }).extra).toEqual({ saleMode: "API", n: [1] });
  });

  it("rejects missing fields, over-long IDs and other activities", () => {
    expect(rejection(() => parseOrderNotify({ activity: "orderNotify", orderLineId: "CS1-1" }))).toBe("orderId: required");
    expect(rejection(() => parseOrderNotify({ activity: "orderNotify", orderId: "CS1", orderLineId: text(65) }))).toBe("orderLineId: too long (max 64)");
    expect(rejection(() => parseOrderNotify({ activity: "orderNotify", orderId: text(65), orderLineId: "x" }))).toBe("orderId: too long (max 64)");
    expect(parseOrderNotify({ activity: "orderNotify", orderId: text(64), orderLineId: text(64) })).toMatchObject({ orderId: text(64) });
    expect(rejection(() => parseOrderNotify({ orderId: "CS1" }))).toBe("missing activity");
    expect(rejection(() => parseOrderNotify({ activity: "fooBar" }))).toBe('unknown activity "fooBar": this URL (POST /orders) takes orderNotify only');
    expect(rejection(() => parseOrderNotify({ activity: "orderNotify", orderId: "CS1", orderLineId: "CS1-1", testFlag: "3" }))).toBe(
      'testFlag: must be "0" or "1"',
    );
  });
});
