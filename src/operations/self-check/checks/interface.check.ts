import { constants, createPublicKey, publicEncrypt } from "node:crypto";
import { type Settings, getSettings } from "../../../env";
import { SELF_CHECK_PREFIX } from "../marker";
import { type CheckOutcome, failed, passed, skipped } from "../self-check.types";
import { compactUtc, kitTimeStamp, kitV2Request, randomHex, v1Request, v2Request } from "../interfaces/debug-requests";
import { codeProblems, createProblems, infoEntry, queryProblems, transportProblems, v1AppInfoProblems } from "../interfaces/debugger-rules";
import { type DebugAnswer, sendInProcess } from "../interfaces/in-process";

/*
 * The Marketplace debugger's saved cases (testFlag 1) per interface, signed with the gateway's own keys and sent
 * through its own router in-process, each answer checked as the debugger checks it. Every id they carry starts with
 * SELFCHECK- (marker.ts): nothing of it reaches the seller (no event, no webhook, hidden from the seller API's lists),
 * debug calls never call the Marketplace's open API, and the daily clean-up deletes it all after a day.
 * getLicenseAsync is not among them: it uploads to the Marketplace.
 */

interface DebugCase {
  name: string;
  build: () => Request;
  key: string;
  expect: readonly string[];
  fields?: (answer: DebugAnswer) => string[];
}

/** Where the in-process requests claim to come from; nothing is stored under it (no getLicenseAsync is sent). */
const ORIGIN = "https://self-check.invalid";

const newId = (): string => `${SELF_CHECK_PREFIX}${randomHex(8)}`;

/** An interface's cases and the ids they use, named in a failure's detail so the operator can look the data up. */
interface CaseSet {
  /** Read when a case fails: by then the instance a create made is known. */
  ids: () => string;
  cases: DebugCase[];
}

/** Plays the cases in order; stops at the first failing one, since later cases build on it (the instance it made). */
async function play(env: Env, label: string, { ids, cases }: CaseSet, fix: string): Promise<CheckOutcome> {
  const names: string[] = [];
  for (const one of cases) {
    const answer = await sendInProcess(env, one.build());
    const transport = transportProblems(answer, one.key);
    const problems = transport.length > 0 ? transport : [...codeProblems(answer, one.expect), ...(one.fields?.(answer) ?? [])];
    if (problems.length > 0) {
      const code = answer.json?.resultCode;
      const after = names.length > 0 ? ` (after ${names.length} passing: ${names.join(", ")})` : "";
      return failed(`${label}: ${one.name} failed: ${problems.join("; ")}${after}; ${ids()}`, code === "000005" ? SETTINGS_FIX : problems.some((p) => p.includes("frontEndUrl")) ? FRONTEND_FIX : fix);
    }
    names.push(one.name);
  }
  return passed(`${label}: ${names.length} debug cases answered as the Marketplace's debugger expects: ${names.join(", ")}`);
}

const FRONTEND_FIX = "The buyer's URL is not an http(s) URL of at most 512 characters: FRONTEND_URL_TEMPLATE (wrangler.toml [vars]) must give one, e.g. https://app.example.com/t/{instanceId}.";
const SETTINGS_FIX = "The gateway answered 000005 (its internal error): a setting is broken (see the settings check and GET /admin/api/health) or a dependency failed; the request's log line (event \"request\") says which.";
const DEFECT_FIX =
  "The gateway answered a saved debug case other than the Marketplace's debugger expects, so the debugger and the dial tests would fail too: find the case's request in the logs (npx wrangler tail) and the instance's timeline (GET /admin/api/instances/{id}/timeline), and report it with the request id.";

function v2Cases(settings: Settings): CaseSet {
  const key = settings.keys.saas;
  const orderId = newId();
  let instanceId = "";
  const call = (name: string, body: () => object, more: Partial<DebugCase> = {}): DebugCase => ({
    name,
    build: () => v2Request(ORIGIN, "/saas", key, { ...body(), testFlag: "1" }),
    key,
    expect: ["000000"],
    ...more,
  });
  const renewal = newId();
  const cases = [
    call("newInstance", () => ({ activity: "newInstance", orderId, orderLineId: `${orderId}-000001`, businessId: crypto.randomUUID() }), {
      fields: (answer) => {
        if (typeof answer.json?.instanceId === "string") instanceId = answer.json.instanceId;
        return createProblems(answer);
      },
    }),
    call("queryInstance", () => ({ activity: "queryInstance", instanceId }), { fields: (answer) => queryProblems(answer, instanceId) }),
    call("updateInstanceStatus FREEZE", () => ({ activity: "updateInstanceStatus", instanceId, status: "FREEZE" })),
    call("updateInstanceStatus UNFREEZE", () => ({ activity: "updateInstanceStatus", instanceId, status: "UNFREEZE" })),
    call("refreshInstance RENEWAL", () => ({ activity: "refreshInstance", scene: "RENEWAL", orderId: renewal, orderLineId: `${renewal}-000001`, instanceId, expireTime: compactUtc(Date.now() + 365 * 86_400_000) })),
    call("releaseInstance", () => ({ activity: "releaseInstance", instanceId })),
  ];
  return { ids: () => `order ${orderId}${instanceId ? `, instance ${instanceId}` : ""}`, cases };
}

function v1Cases(settings: Settings): CaseSet {
  const key = settings.keys.saas;
  const type = settings.v1EncryptType;
  const orderId = newId();
  const productId = "SELFCHECK-PRODUCT";
  let instanceId = "";
  const call = (name: string, params: () => Record<string, string>, more: Partial<DebugCase> = {}): DebugCase => ({
    name,
    build: () => v1Request(ORIGIN, key, { ...params(), testFlag: "1" }),
    key,
    expect: ["000000"],
    ...more,
  });
  const expireTime = compactUtc(Date.now() + 365 * 86_400_000);
  const cases = [
    call(
      "V1 newInstance",
      () => ({ activity: "newInstance", customerId: "selfcheck-customer", customerName: "Self-check", businessId: crypto.randomUUID(), orderId, skuCode: "SELFCHECK-SKU", productId, chargingMode: "1", periodType: "month", periodNumber: "1", expireTime }),
      {
        fields: (answer) => {
          if (typeof answer.json?.instanceId === "string") instanceId = answer.json.instanceId;
          return [...createProblems(answer), ...v1AppInfoProblems(answer.json, answer.json?.appInfo, key, type)];
        },
      },
    ),
    call("V1 queryInstance", () => ({ activity: "queryInstance", instanceId }), {
      fields: (answer) => {
        const entry = infoEntry(answer, instanceId);
        if (!entry) return [`info[] has no entry for ${instanceId}`];
        return entry.appInfo === undefined ? [] : v1AppInfoProblems(answer.json, entry.appInfo, key, type);
      },
    }),
    call("V1 instanceStatus FREEZE", () => ({ activity: "instanceStatus", instanceId, instanceStatus: "FREEZE" })),
    call("V1 instanceStatus NORMAL", () => ({ activity: "instanceStatus", instanceId, instanceStatus: "NORMAL" })),
    call("V1 refreshInstance", () => ({ activity: "refreshInstance", orderId: newId(), instanceId, productId, expireTime, periodType: "month", periodNumber: "1" })),
    call("V1 releaseInstance", () => ({ activity: "releaseInstance", instanceId, orderId })),
  ];
  return { ids: () => `order ${orderId}${instanceId ? `, instance ${instanceId}` : ""}`, cases };
}

/** The Marketplace encrypts an app's clientSecret with the public key the seller uploaded (§6.2): its half of KIT_RSA_PRIVATE_KEY. */
function secretEncrypter(privateKeyPem: string | undefined): ((secret: string) => string) | undefined {
  if (!privateKeyPem) return undefined;
  const publicKey = createPublicKey(privateKeyPem);
  return (secret) => publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, Buffer.from(secret, "utf8")).toString("base64");
}

function kitCases(settings: Settings): CaseSet {
  const key = settings.keys.kit;
  const encrypt = secretEncrypter(settings.kitRsaPrivateKey);
  // Both ids carry the marker: the tenant id stops the kit.synced event, the instance id is what the clean-up finds.
  const scope = { instanceId: newId(), tenantId: newId() };
  const sync = (name: string, label: string, fields: Record<string, unknown>): DebugCase => ({
    name: `${name} ${label}`,
    build: () => kitV2Request(ORIGIN, name, key, { ...scope, ...fields, testFlag: 1, timeStamp: kitTimeStamp() }),
    key,
    expect: ["000000"],
  });
  const tenant = (flag: number) => ({ orderId: newId(), tenantCode: `code-${scope.tenantId}`, name: "Self-check Co.", domainName: ORIGIN, flag });
  const app = (flag: number) => ({ appId: "selfcheck-app", clientId: `client-${scope.tenantId}`, clientSecret: encrypt?.("self-check-client-secret") ?? "", flag });
  const user = { userName: `selfcheck-user-${scope.tenantId}`, name: "Self-check User", orgCode: "ORG-1", role: "admin", enable: "true" };
  const auth = (flag: number) => ({ appId: "selfcheck-app", userList: [user], currentSyncTime: kitTimeStamp(), flag });
  const cases = [
    sync("tenantSync", "add", tenant(1)),
    ...(encrypt ? [sync("applicationSync", "add", app(1))] : []),
    sync("authSync", "add", auth(1)),
    sync("authSync", "delete", auth(0)),
    ...(encrypt ? [sync("applicationSync", "delete", app(0))] : []),
    sync("tenantSync", "delete", tenant(0)),
  ];
  return { ids: () => `kit instance ${scope.instanceId}, tenant ${scope.tenantId}`, cases };
}

function licenseCases(settings: Settings): CaseSet {
  const key = settings.keys.license;
  const license = newId();
  const renewal = newId();
  // LICENSE_UNKNOWN_CODES=reject answers a code never seen 000003, and the self-check's code is always new.
  const expect = settings.licenseUnknownCodes === "reject" ? ["000003"] : ["000000"];
  const call = (name: string, body: object): DebugCase => ({ name, build: () => v2Request(ORIGIN, "/license", key, { ...body, testFlag: "1" }), key, expect });
  const cases = [
    call("refreshLicenseCode RENEWAL", { activity: "refreshLicenseCode", scene: "RENEWAL", orderId: renewal, orderLineId: `${renewal}-000001`, license, expireTime: compactUtc(Date.now() + 365 * 86_400_000) }),
    call("updateLicenseCodeStatus FREEZE", { activity: "updateLicenseCodeStatus", license, status: "FREEZE" }),
    call("updateLicenseCodeStatus UNFREEZE", { activity: "updateLicenseCodeStatus", license, status: "UNFREEZE" }),
    call("releaseLicenseCode", { activity: "releaseLicenseCode", license }),
  ];
  return { ids: () => `license code ${license}`, cases };
}

function orderCases(settings: Settings): CaseSet {
  const key = settings.keys.general;
  const orderId = newId();
  return { ids: () => `order ${orderId}`, cases: [{ name: "orderNotify", build: () => v2Request(ORIGIN, "/orders", key, { activity: "orderNotify", orderId, orderLineId: `${orderId}-000001`, testFlag: "1" }), key, expect: ["000000"] }] };
}

/** Whether an interface's own key is set: the check runs for an interface the seller set up (docs/seller-contract.md). */
function ownKeySet(env: Env, name: "KIT_ACCESS_KEY" | "LICENSE_ACCESS_KEY" | "GENERAL_ACCESS_KEY"): boolean {
  const value = (env as unknown as Record<string, unknown>)[name];
  return typeof value === "string" && value.trim() !== "";
}

export async function saasInterfaceCheck(env: Env): Promise<CheckOutcome> {
  return play(env, "V2 basic interface (POST /saas, SAAS_ACCESS_KEY)", v2Cases(getSettings(env)), DEFECT_FIX);
}

export async function kitInterfaceCheck(env: Env): Promise<CheckOutcome> {
  if (!ownKeySet(env, "KIT_ACCESS_KEY")) return skipped("KIT_ACCESS_KEY is not set: no kit interface of its own to check (kit syncs are verified with SAAS_ACCESS_KEY)");
  const settings = getSettings(env);
  const outcome = await play(env, "kit syncs (POST /saas/produceAPI/v2/*, KIT_ACCESS_KEY)", kitCases(settings), DEFECT_FIX);
  return settings.kitRsaPrivateKey || !outcome.ok ? outcome : { ...outcome, detail: `${outcome.detail}; applicationSync not sent: KIT_RSA_PRIVATE_KEY is not set` };
}

export async function licenseInterfaceCheck(env: Env): Promise<CheckOutcome> {
  if (!ownKeySet(env, "LICENSE_ACCESS_KEY")) return skipped("LICENSE_ACCESS_KEY is not set: no license interface of its own to check");
  return play(env, "license-code callbacks (POST /license, LICENSE_ACCESS_KEY; getLicenseAsync is not sent: it uploads to the Marketplace)", licenseCases(getSettings(env)), DEFECT_FIX);
}

export async function ordersInterfaceCheck(env: Env): Promise<CheckOutcome> {
  if (!ownKeySet(env, "GENERAL_ACCESS_KEY")) return skipped("GENERAL_ACCESS_KEY is not set: no order-notification interface of its own to check");
  return play(env, "order notification (POST /orders, GENERAL_ACCESS_KEY)", orderCases(getSettings(env)), DEFECT_FIX);
}

export async function v1InterfaceCheck(env: Env): Promise<CheckOutcome> {
  const settings = getSettings(env);
  if (!settings.enableV1) return skipped("ENABLE_V1 is false: the V1 interface is not served");
  return play(env, "V1 basic interface (GET /saas/v1, SAAS_ACCESS_KEY)", v1Cases(settings), DEFECT_FIX);
}
