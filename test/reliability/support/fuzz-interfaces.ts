import fc from "fast-check";
import { ADMIN_ROUTES } from "../../../src/admin/admin-api";
import { sellerApiRoutes } from "../../../src/seller-api/seller-api";
import { kitNow, kitUser, v1Now } from "../../support/kit";
import { uniqueId } from "../../support/marketplace";
import {
  type CaseSpec,
  type KeyName,
  type Scheme,
  anyValue,
  bodyArb,
  contentType,
  extraHeaders,
  extraQuery,
  stringish,
  tamperArb,
} from "./fuzz-requests";
import { type SsoPool, ssoInterfaces } from "./fuzz-sso";

/*
 * Every interface the fuzzer drives, one entry each. Adding a route is one entry: a signed JSON route
 * (signedJsonInterface: its path, signature scheme, key and a generator of valid bodies), a V1 GET, or a bearer-token
 * JSON API. /api/v1 is read from sellerApiRoutes, so a new seller route is fuzzed without an entry here.
 */

export type AnswerShape =
  /** HTTP 200, JSON with resultCode and resultMsg, Body-Sign valid under this key (spec §2.1, §2.4). */
  | { kind: "marketplace"; key: KeyName }
  /** JSON (or, where the route offers `format=csv`, CSV); errors as {"error": "…"} with a 4xx (docs/seller-contract.md). */
  | { kind: "json-api"; csv?: boolean }
  /** /healthz: 200 "ok" or its documented 503 "degraded". */
  | { kind: "health" }
  /** A public document (JWKS, the admin page and its assets): 200 whatever the query or headers. */
  | { kind: "static" }
  /** No such route: a JSON 404. */
  | { kind: "not-found" }
  /**
   * Single sign-on (/oidc): a 302 (refused when it sends the browser back with `error`), an HTML page, or OAuth JSON
   * whose errors carry `error` (RFC 6749 §5.2); refused when 4xx.
   */
  | { kind: "oidc" };

export interface FuzzInterface {
  name: string;
  answer: AnswerShape;
  cases: fc.Arbitrary<CaseSpec>;
  /** How a case reaches the Worker when not as the test bindings configure it (SSO: with its settings laid over). */
  send?: (request: Request) => Promise<Response>;
  /** Run before the interface's cases (their writes are not the cases'): fresh one-time values, say. */
  prepare?: () => Promise<void>;
}

/** Instance ids the fuzz bodies draw from: a few that exist (created by the test), the rest random. */
export interface IdPool {
  instanceIds: string[];
}

function idFrom(pool: IdPool): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.nat().map((i) => pool.instanceIds[i % Math.max(pool.instanceIds.length, 1)] ?? "none") },
    { weight: 1, arbitrary: stringish },
  );
}

const headersWith = (type: fc.Arbitrary<string>) =>
  fc.tuple(type, extraHeaders).map(([ct, extra]): Array<[string, string]> => (ct ? [["Content-Type", ct], ...extra] : extra));

/** A POST of a signed JSON body: V2 basic and kit, V1 kit, /orders and /license. */
export function signedJsonInterface(options: {
  name: string;
  path: fc.Arbitrary<string>;
  scheme: Scheme;
  key: KeyName;
  valid: fc.Arbitrary<Record<string, unknown>>;
}): FuzzInterface {
  return {
    name: options.name,
    answer: { kind: "marketplace", key: options.key },
    cases: fc.record({
      method: fc.constant("POST"),
      path: options.path,
      query: extraQuery,
      headers: headersWith(contentType),
      body: bodyArb(options.valid),
      scheme: fc.constant(options.scheme),
      key: fc.constant(options.key),
      tamper: tamperArb,
    }),
  };
}

/** A V1 basic GET: the parameters are the request; valid ones mutated, then signed (§5.1). */
export function v1GetInterface(options: { name: string; path: string; key: KeyName; valid: fc.Arbitrary<Record<string, string>> }): FuzzInterface {
  const mutatedParams = fc
    .tuple(options.valid, fc.constantFrom("keep", "delete", "replace", "replace", "add"), fc.nat(), stringish.map(String), fc.string({ maxLength: 12 }))
    .map(([params, mutation, index, value, newKey]) => {
      const keys = Object.keys(params);
      const key = keys[index % keys.length] ?? "activity";
      if (mutation === "delete") return Object.entries(params).filter(([k]) => k !== key);
      if (mutation === "replace") return Object.entries({ ...params, [key]: value });
      if (mutation === "add") return Object.entries({ ...params, [newKey]: value });
      return Object.entries(params);
    });
  return {
    name: options.name,
    answer: { kind: "marketplace", key: options.key },
    cases: fc.record({
      method: fc.constant("GET"),
      path: fc.constant(options.path),
      query: fc.oneof({ weight: 9, arbitrary: mutatedParams }, { weight: 1, arbitrary: extraQuery }),
      headers: extraHeaders,
      body: fc.constant(null),
      scheme: fc.constant<Scheme>("v1-query"),
      key: fc.constant(options.key),
      tamper: tamperArb,
    }),
  };
}

const shapeKeys = (schema: unknown): string[] =>
  schema && typeof schema === "object" && "shape" in schema && schema.shape && typeof schema.shape === "object" ? Object.keys(schema.shape) : [];

/** The values an enum field of a zod object accepts (through default/optional/nullable wrappers), for every field. */
function enumValues(schema: unknown): string[] {
  const values: string[] = [];
  const shape = schema && typeof schema === "object" && "shape" in schema && schema.shape && typeof schema.shape === "object" ? Object.values(schema.shape) : [];
  for (let field of shape as unknown[]) {
    for (let depth = 0; depth < 4 && field && typeof field === "object"; depth++) {
      if ("options" in field && Array.isArray(field.options)) values.push(...field.options.filter((option): option is string => typeof option === "string"));
      const def = (field as { def?: { innerType?: unknown } }).def;
      field = def?.innerType;
    }
  }
  return values;
}

/** Statement periods (`YYYY-MM`, `YYYY-Qn`): valid ones, and near misses. */
const period = fc.oneof(
  fc.tuple(fc.integer({ min: 2020, max: 2030 }), fc.integer({ min: 1, max: 12 })).map(([y, m]) => `${y}-${String(m).padStart(2, "0")}`),
  fc.tuple(fc.integer({ min: 2020, max: 2030 }), fc.integer({ min: 1, max: 4 })).map(([y, q]) => `${y}-Q${q}`),
  fc.constantFrom("2026-13", "2026-00", "2026-Q5", "2026-q1", "2026-1", "0000-01", "9999-12", "2026-11-01"),
);

/** Bill exports for reconciliation (CSV, comma or tab, the default headers): well-formed rows, odd cells, and junk. */
const billCsv = fc.oneof(
  {
    weight: 4,
    arbitrary: fc
      .tuple(
        fc.constantFrom(",", "\t"),
        fc.array(fc.tuple(fc.constantFrom("FZ-1", "FZ-2", ""), fc.oneof(fc.constantFrom("10.00", "-3.50", "0", "1e3", "¥5"), stringish.map(String)), fc.nat({ max: 99 })), { maxLength: 5 }),
        fc.boolean(),
      )
      .map(([sep, rows, bom]) => {
        const lines = [["订单号", "订单行ID", "实付金额", "实例ID", "使用量"].join(sep), ...rows.map(([order, amount, usage]) => [order, `${order}-000001`, amount, "", String(usage)].join(sep))];
        return `${bom ? "\uFEFF" : ""}${lines.join("\r\n")}`;
      }),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 1, arbitrary: fc.constantFrom("", "\uFEFF", '"unterminated,1\n', "a,b\n1,2,3\n") },
);

/** A bearer-token JSON API route: random path parameters, query and body built from its zod schemas' field names. */
export function bearerInterface(options: { name: string; method: string; path: string; key: KeyName; query?: unknown; body?: unknown; pool: IdPool }): FuzzInterface {
  const ids = /statements/.test(options.path) ? fc.oneof({ weight: 3, arbitrary: period }, { weight: 1, arbitrary: stringish }) : idFrom(options.pool);
  const segment = fc.oneof({ weight: 3, arbitrary: ids }, { weight: 1, arbitrary: fc.constantFrom("", "%2F..", "a/b", "%00") });
  // OpenAPI `{id}` (seller routes) and itty `:id` (admin routes) alike.
  const path = segment.map((id) => options.path.replace(/\{\w+\}|:\w+/g, encodeURIComponent(id)));
  const queryNames = shapeKeys(options.query);
  const choices = enumValues(options.query);
  const queryValue = fc.oneof(stringish.map(String), fc.integer().map(String), ...(choices.length ? [fc.constantFrom(...choices)] : []));
  const query = fc.oneof(
    fc.array(fc.tuple(queryNames.length ? fc.constantFrom(...queryNames) : fc.string({ maxLength: 8 }), queryValue), { maxLength: 4 }),
    extraQuery,
  );
  const bodyNames = shapeKeys(options.body);
  const fields = fc.dictionary(bodyNames.length ? fc.constantFrom(...bodyNames) : fc.string({ maxLength: 8 }), anyValue, { maxKeys: bodyNames.length || 3 });
  const body =
    options.method === "get"
      ? fc.constant(null)
      : /\/reconcile$/.test(options.path)
        ? billCsv
        : fc.oneof(
          { weight: 6, arbitrary: fields.map((b) => JSON.stringify(b)) },
          { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? "null") },
          { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 100 }), fc.constantFrom("", "{", "[]")) },
        );
  return {
    name: options.name,
    answer: { kind: "json-api", csv: choices.includes("csv") },
    cases: fc.record({
      method: fc.constant(options.method.toUpperCase()),
      path,
      query,
      headers: headersWith(fc.constantFrom("application/json", "text/plain", "")),
      body,
      scheme: fc.constant<Scheme>("bearer"),
      key: fc.constant(options.key),
      tamper: tamperArb,
    }),
  };
}

// ---- valid bodies --------------------------------------------------------------------------------------------------

const flag = fc.constantFrom(undefined, "0", "1", 0, 1);
const future = () => "20301231235959";

function v2BasicBodies(pool: IdPool): fc.Arbitrary<Record<string, unknown>> {
  const id = idFrom(pool);
  const order = fc.constant(null).map(() => uniqueId("FZ"));
  const withFlag = (body: Record<string, unknown>, testFlag: unknown) => (testFlag === undefined ? body : { ...body, testFlag });
  return fc.oneof(
    fc.tuple(order, flag).map(([orderId, testFlag]) => withFlag({ activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID() }, testFlag)),
    fc.tuple(id, flag).map(([instanceId, testFlag]) => withFlag({ activity: "queryInstance", instanceId }, testFlag)),
    fc.tuple(id, order, fc.constantFrom("TRIAL_TO_FORMAL", "RENEWAL", "UNSUBSCRIBE_RENEWAL_PERIOD", "RENEWAL_CHANGE"), flag).map(([instanceId, orderId, scene, testFlag]) =>
      withFlag({ activity: "refreshInstance", scene, orderId, orderLineId: `${orderId}-000001`, instanceId, expireTime: future() }, testFlag),
    ),
    fc.tuple(id, fc.constantFrom("FREEZE", "UNFREEZE"), flag).map(([instanceId, status, testFlag]) => withFlag({ activity: "updateInstanceStatus", instanceId, status }, testFlag)),
    fc.tuple(id, flag).map(([instanceId, testFlag]) => withFlag({ activity: "releaseInstance", instanceId }, testFlag)),
    fc.tuple(id, order, flag).map(([instanceId, orderId, testFlag]) => withFlag({ activity: "upgradeInstance", instanceId, orderId, orderLineId: `${orderId}-000001` }, testFlag)),
    fc.tuple(id, flag).map(([instanceId, testFlag]) => withFlag({ activity: "changeInstanceCheck", instanceId, productInfo: { skuCode: "SKU-PRO" } }, testFlag)),
  );
}

function v1BasicParams(pool: IdPool): fc.Arbitrary<Record<string, string>> {
  const id = idFrom(pool);
  const order = fc.constant(null).map(() => uniqueId("FZ"));
  const testFlag = fc.constantFrom("0", "1");
  return fc.oneof(
    fc.tuple(order, testFlag).map(([orderId, t]) => ({
      activity: "newInstance",
      customerId: "cust-fuzz",
      businessId: crypto.randomUUID(),
      orderId,
      skuCode: "sku-basic",
      productId: "prod-monthly",
      chargingMode: "1",
      periodType: "month",
      periodNumber: "1",
      expireTime: future(),
      testFlag: t,
    })),
    fc.tuple(id, order, testFlag).map(([instanceId, orderId, t]) => ({ activity: "refreshInstance", instanceId, orderId, expireTime: future(), testFlag: t })),
    fc.tuple(id, order, testFlag).map(([instanceId, orderId, t]) => ({ activity: "expireInstance", instanceId, orderId, testFlag: t })),
    fc.tuple(id, order, testFlag).map(([instanceId, orderId, t]) => ({ activity: "releaseInstance", instanceId, orderId, testFlag: t })),
    fc.tuple(id, order, testFlag).map(([instanceId, orderId, t]) => ({ activity: "upgrade", instanceId, orderId, skuCode: "sku-pro", productId: "prod-monthly", testFlag: t })),
    fc.tuple(id, fc.constantFrom("FREEZE", "NORMAL"), testFlag).map(([instanceId, instanceStatus, t]) => ({ activity: "instanceStatus", instanceId, instanceStatus, testFlag: t })),
    id.map((instanceId) => ({ activity: "queryInstance", instanceId, timeStamp: v1Now() })),
  );
}

function orderNotifyBodies(): fc.Arbitrary<Record<string, unknown>> {
  const order = fc.constant(null).map(() => uniqueId("FZ"));
  return fc.tuple(order, fc.constantFrom("0", "1")).map(([orderId, testFlag]) => ({ activity: "orderNotify", orderId, orderLineId: `${orderId}-000001`, testFlag }));
}

/** License-code callbacks (§3.3) on codes the fuzzer makes up, and getLicenseAsync (§3.4) on the pool's instances. */
function licenseBodies(pool: IdPool): fc.Arbitrary<Record<string, unknown>> {
  const code = fc.constantFrom("LIC-FUZZ-1", "LIC-FUZZ-2", "LIC-FUZZ-3");
  const order = fc.constant(null).map(() => uniqueId("FZ"));
  const onlineTime = (ms: number) => `${new Date(ms).toISOString().slice(0, 19).replace("T", " ")} z`;
  return fc.oneof(
    fc.tuple(code, order, fc.constantFrom("RENEWAL", "UNSUBSCRIBE_RENEWAL_PERIOD"), flag).map(([license, orderId, scene, testFlag]) => ({
      activity: "refreshLicenseCode",
      scene,
      orderId,
      orderLineId: `${orderId}-000001`,
      license,
      expireTime: future(),
      ...(testFlag === undefined ? {} : { testFlag }),
    })),
    fc.tuple(code, fc.constantFrom("FREEZE", "UNFREEZE")).map(([license, status]) => ({ activity: "updateLicenseCodeStatus", license, status })),
    code.map((license) => ({ activity: "releaseLicenseCode", license })),
    fc.tuple(idFrom(pool), fc.option(fc.string({ maxLength: 40 }), { nil: undefined })).map(([instanceId, deviceFingerprint]) => ({
      activity: "getLicenseAsync",
      instanceId,
      effectiveTime: onlineTime(Date.now()),
      expireTime: onlineTime(Date.now() + 365 * 86_400_000),
      eventId: uniqueId("EV"),
      ...(deviceFingerprint === undefined ? {} : { deviceFingerprint }),
    })),
  );
}

export const KIT_SYNCS = ["tenantSync", "applicationSync", "authSync", "singleOrgSync", "allOrgSync"] as const;

function kitBodies(pool: IdPool): fc.Arbitrary<Record<string, unknown>> {
  const scope = fc.tuple(idFrom(pool), fc.constantFrom("T-FUZZ-1", "T-FUZZ-2")).map(([instanceId, tenantId]) => ({ instanceId, tenantId }));
  const flag = fc.constantFrom(0, 1, 2, 3);
  return fc.oneof(
    fc.tuple(scope, flag).map(([s, f]) => ({ ...s, orderId: uniqueId("FZ"), tenantCode: `code-${s.tenantId}`, name: "Fuzz Co.", domainName: "https://fuzz.example.com", flag: f, testFlag: 0, timeStamp: kitNow() })),
    fc.tuple(scope, flag).map(([s, f]) => ({ ...s, appId: "app-1", clientId: "client-1", clientSecret: "bm90LXJzYQ==", flag: f, testFlag: 0, timeStamp: kitNow() })),
    fc.tuple(scope, flag, fc.array(fc.constantFrom("alice", "bob", "carol"), { maxLength: 3 })).map(([s, f, names]) => ({
      ...s,
      appId: "app-1",
      userList: names.map((n) => kitUser(n)),
      currentSyncTime: kitNow(),
      flag: f,
      testFlag: 0,
      timeStamp: kitNow(),
    })),
    fc.tuple(scope, flag).map(([s, f]) => ({ ...s, orgCode: "ORG-1", orgName: "Dept", parentCode: "", flag: f, testFlag: 0, timeStamp: kitNow() })),
    scope.map((s) => ({ ...s, orgInfoList: [{ orgCode: "ORG-1", orgName: "Dept" }, { orgCode: "ORG-2", orgName: "Sub", parentCode: "ORG-1" }], testFlag: 0, timeStamp: kitNow() })),
  );
}

// "." and ".." are dot segments: the URL parser removes them, so the request is for another path (a 404), not a kit name.
const kitName = fc.oneof({ weight: 9, arbitrary: fc.constantFrom(...KIT_SYNCS) }, { weight: 1, arbitrary: fc.string({ minLength: 1, maxLength: 20 }).filter((n) => n !== "." && n !== "..").map(encodeURIComponent) });

/** The fuzzed interfaces. */
export function fuzzInterfaces(pool: IdPool, sso: SsoPool): FuzzInterface[] {
  const seller = sellerApiRoutes.map((route) =>
    bearerInterface({ name: `seller ${route.method.toUpperCase()} ${route.path}`, method: route.method, path: route.path, key: "SELLER_API_TOKEN", query: route.query, body: route.body, pool }),
  );
  return [
    signedJsonInterface({ name: "V2 basic POST /saas", path: fc.constant("/saas"), scheme: "v2-query", key: "SAAS_ACCESS_KEY", valid: v2BasicBodies(pool) }),
    v1GetInterface({ name: "V1 basic GET /saas/v1", path: "/saas/v1", key: "SAAS_ACCESS_KEY", valid: v1BasicParams(pool) }),
    signedJsonInterface({ name: "V2 kit POST /saas/produceAPI/v2/*", path: kitName.map((n) => `/saas/produceAPI/v2/${n}`), scheme: "v2-headers", key: "KIT_ACCESS_KEY", valid: kitBodies(pool) }),
    signedJsonInterface({ name: "V1 kit POST /saas/v1/produceAPI/*", path: kitName.map((n) => `/saas/v1/produceAPI/${n}`), scheme: "v1-header", key: "KIT_ACCESS_KEY", valid: kitBodies(pool) }),
    signedJsonInterface({ name: "general POST /orders", path: fc.constant("/orders"), scheme: "v2-query", key: "GENERAL_ACCESS_KEY", valid: orderNotifyBodies() }),
    signedJsonInterface({ name: "license POST /license", path: fc.constant("/license"), scheme: "v2-query", key: "LICENSE_ACCESS_KEY", valid: licenseBodies(pool) }),
    ...seller,
    ...ADMIN_ROUTES.map((route) =>
      bearerInterface({ name: `admin ${route.method.toUpperCase()} ${route.path}`, method: route.method, path: route.path, key: "ADMIN_TOKEN", query: route.query, body: route.body, pool }),
    ),
    ...ssoInterfaces(sso),
    ...["/healthz", "/.well-known/jwks.json", "/admin", "/admin/app.js"].map((path) => ({
      name: `GET ${path}`,
      answer: (path === "/healthz" ? { kind: "health" } : { kind: "static" }) satisfies AnswerShape,
      cases: fc.record({
        method: fc.constant("GET"),
        path: fc.constant(path),
        query: extraQuery,
        headers: extraHeaders,
        body: fc.constant(null),
        scheme: fc.constant<Scheme>("none"),
        key: fc.constant(null),
        tamper: fc.constant("none" as const),
      }),
    })),
    {
      name: "no such route",
      answer: { kind: "not-found" },
      cases: fc.record({
        method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH"),
        path: fc.tuple(fc.constantFrom("/nope/", "/api/v1/nope/", "/admin/nope/", "/saas/produceAPI/v3/", "/saas/v1/x/"), fc.stringMatching(/^[A-Za-z0-9._~-]{0,30}$/)).map(([p, s]) => p + s),
        query: extraQuery,
        headers: extraHeaders,
        body: fc.option(fc.string({ maxLength: 50 }), { nil: null }),
        scheme: fc.constant<Scheme>("none"),
        key: fc.constant(null),
        tamper: fc.constant("none" as const),
      }),
    },
  ];
}
