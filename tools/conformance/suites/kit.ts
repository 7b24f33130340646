import { constants, createPublicKey, publicEncrypt } from "node:crypto";
import { kitTimeStamp, kitV1Call, kitV2Call } from "../client";
import type { Context, SavedCase } from "../framework";
import { bearer, hex } from "../ids";

/**
 * Joint-operation kit syncs (saas-production-interface §6): V2 at /saas/produceAPI/v2/<name> (x-sign headers) and
 * V1 at /saas/v1/produceAPI/<name> (authToken header), all with KIT_ACCESS_KEY and testFlag 1: tenant, app credential,
 * users, departments, added, modified and deleted, each twice (a repeated add or delete must succeed, §6), then in a
 * random order. applicationSync needs the public half of KIT_RSA_PRIVATE_KEY to encrypt the clientSecret as the
 * Marketplace does; without the key it is skipped.
 */
export async function kitSuite(ctx: Context): Promise<void> {
  const key = ctx.settings.keys.kit;
  const encrypt = secretEncrypter(ctx.settings.kitRsaPrivateKey);
  const scope = { instanceId: `debugkit${hex(8)}`.toLowerCase(), tenantId: `T${hex(8)}` };
  const users = [
    { userName: `debug-admin-${scope.tenantId}`, name: "Debug Admin", orgCode: "ORG-1", role: "admin", enable: "true", email: "admin@example.com" },
    { userName: `debug-user-${scope.tenantId}`, name: "Debug User", position: "engineer", orgCode: "ORG-2", role: "user", enable: "true", extension: { entryDate: "2024-05-7", employeeType: "1", workPlace: "Shenzhen" } },
  ];
  const orgs = [
    { orgCode: "ORG-1", orgName: "Head office", parentCode: "" },
    { orgCode: "ORG-2", orgName: "Engineering", parentCode: "ORG-1" },
  ];

  // V2: bodies fixed per case (a saved case replays the same form values), signed afresh per send.
  const v2 = (name: string, label: string, fields: Record<string, unknown>): SavedCase => {
    const body = { instanceId: scope.instanceId, tenantId: scope.tenantId, ...fields, testFlag: 1, timeStamp: kitTimeStamp() };
    return { name: `${name} ${label}`, build: () => kitV2Call(ctx.base, name, key, body), key, expect: ["000000"] };
  };
  const tenant = (flag: number, name = "Debug Co.") => ({ orderId: `CSKIT${scope.tenantId}`, tenantCode: `code-${scope.tenantId}`, name, domainName: "https://debug.auth.example.com", flag });
  const app = (flag: number) => ({ appId: "debug-app", clientId: `client-${scope.tenantId}`, clientSecret: encrypt?.("debug-client-secret") ?? "", flag });
  const auth = (flag: number) => ({ appId: "debug-app", userList: users, currentSyncTime: kitTimeStamp(), flag });
  const org = (flag: number, orgName = "Head office") => ({ orgCode: "ORG-1", orgName, parentCode: "", flag });

  const v2Cases: SavedCase[] = [
    v2("tenantSync", "add", tenant(1)),
    v2("tenantSync", "modify", tenant(2, "Debug Co. renamed")),
    ...(encrypt ? [v2("applicationSync", "add", app(1))] : []),
    v2("authSync", "add", auth(1)),
    v2("authSync", "modify", auth(2)),
    v2("singleOrgSync", "add", org(1)),
    v2("singleOrgSync", "modify", org(2, "Head office renamed")),
    v2("allOrgSync", "full", { orgInfoList: orgs }),
    v2("authSync", "revoke", auth(3)),
    v2("authSync", "delete", auth(0)),
    v2("singleOrgSync", "delete", org(0)),
    ...(encrypt ? [v2("applicationSync", "delete", app(0))] : []),
    v2("tenantSync", "delete", tenant(0)),
  ];
  if (!encrypt) ctx.skip("kit", "applicationSync", "KIT_RSA_PRIVATE_KEY is not set: no public key to encrypt the clientSecret with");
  for (const one of v2Cases) await ctx.playTwice("kit", one);
  await ctx.playShuffled("kit", v2Cases);
  ctx.next(`debug kit syncs of instance ${scope.instanceId}, tenant ${scope.tenantId} (added, changed, then deleted, so only their kit.synced events remain): curl ${bearer} '${ctx.base}/api/v1/events?limit=100'`);

  const refusal = { instanceId: scope.instanceId, tenantId: scope.tenantId, ...tenant(2, "Refused Co."), testFlag: 1 };
  const body = () => ({ ...refusal, timeStamp: kitTimeStamp() });
  const tolerance = Math.max(ctx.settings.toleranceSeconds, 60) * 1000 + 60_000;
  await ctx.refuse("kit", "refused: bad x-sign", kitV2Call(ctx.base, "tenantSync", key, body(), { signature: "0".repeat(64) }), key);
  await ctx.refuse("kit", "refused: signed with another key", kitV2Call(ctx.base, "tenantSync", `${key}-wrong`, body()), key);
  await ctx.refuse("kit", "refused: stale x-timestamp", kitV2Call(ctx.base, "tenantSync", key, body(), { timestamp: Date.now() - tolerance }), key);
  await ctx.replay("kit", "refused: replayed x-nonce", kitV2Call(ctx.base, "tenantSync", key, body()), key, ["000000"]);

  if (!ctx.settings.enableV1) {
    ctx.skip("kit", "V1 kit syncs", "ENABLE_V1 is false: the deployment does not serve /saas/v1/produceAPI");
    return;
  }
  // V1: lists travel as JSON strings (§6.3, §6.5); flags 0 and 1 only.
  const v1Scope = { instanceId: `debugkitv1${hex(8)}`.toLowerCase(), tenantId: `TV1${hex(8)}` };
  const v1 = (name: string, label: string, fields: Record<string, unknown>): SavedCase => {
    const v1Body = { instanceId: v1Scope.instanceId, tenantId: v1Scope.tenantId, ...fields, testFlag: 1, timeStamp: kitTimeStamp() };
    return { name: `V1 ${name} ${label}`, build: () => kitV1Call(ctx.base, name, key, v1Body), key, expect: ["000000"] };
  };
  const v1Users = JSON.stringify(users.map(({ extension, ...user }) => (extension ? { ...user, extension: JSON.stringify(extension) } : user)));
  const v1Cases: SavedCase[] = [
    v1("tenantSync", "add", { orderId: `CSKIT${v1Scope.tenantId}`, tenantCode: `code-${v1Scope.tenantId}`, name: "Debug V1 Co.", domainName: "https://debug-v1.auth.example.com", flag: 1 }),
    ...(encrypt ? [v1("applicationSync", "add", { appId: "debug-app-v1", clientId: `client-${v1Scope.tenantId}`, clientSecret: encrypt("debug-v1-secret"), flag: 1 })] : []),
    v1("authSync", "add", { appId: "debug-app-v1", userList: v1Users, currentSyncTime: kitTimeStamp(), flag: 1 }),
    v1("singleOrgSync", "add", { orgCode: "ORG-1", orgName: "Head office", parentCode: "", flag: 1 }),
    v1("allOrgSync", "full", { orgInfo: JSON.stringify(orgs.map((o) => ({ orgCode: o.orgCode, name: o.orgName, parentCode: o.parentCode }))) }),
    v1("authSync", "delete", { appId: "debug-app-v1", userList: v1Users, currentSyncTime: kitTimeStamp(), flag: 0 }),
    v1("singleOrgSync", "delete", { orgCode: "ORG-1", orgName: "Head office", parentCode: "", flag: 0 }),
    v1("tenantSync", "delete", { orderId: `CSKIT${v1Scope.tenantId}`, tenantCode: `code-${v1Scope.tenantId}`, name: "Debug V1 Co.", domainName: "https://debug-v1.auth.example.com", flag: 0 }),
  ];
  for (const one of v1Cases) await ctx.playTwice("kit", one);
  await ctx.playShuffled("kit", v1Cases);
  const v1Refusal = { ...refusal, instanceId: v1Scope.instanceId, tenantId: v1Scope.tenantId, flag: 1, timeStamp: kitTimeStamp() };
  await ctx.refuse("kit", "refused: V1 bad authToken", kitV1Call(ctx.base, "tenantSync", key, v1Refusal, { authToken: Buffer.from(hex(32), "hex").toString("base64") }), key);
  await ctx.refuse("kit", "refused: V1 signed with another key", kitV1Call(ctx.base, "tenantSync", `${key}-wrong`, v1Refusal), key);
}

/** What the Marketplace does with the seller's uploaded public key: Base64(RSA-OAEP-SHA256(secret)) (§6.2). */
export function secretEncrypter(privateKeyPem: string | undefined): ((secret: string) => string) | undefined {
  if (!privateKeyPem) return undefined;
  const publicKey = createPublicKey(privateKeyPem);
  return (secret) => publicEncrypt({ key: publicKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: "sha256" }, Buffer.from(secret, "utf8")).toString("base64");
}
