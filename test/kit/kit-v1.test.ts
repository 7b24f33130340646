import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { type EnvOverrides, type SellerRsaKey, kitNow, kitTableCounts, makeSellerRsaKey, sendWith, signedKitV1Request } from "../support/kit";
import { uniqueId } from "../support/marketplace";

let rsa: SellerRsaKey;
beforeAll(async () => {
  rsa = await makeSellerRsaKey();
});

function kitV1(name: string, body: Record<string, unknown>, options: { key?: string; raw?: string; overrides?: EnvOverrides } = {}) {
  return sendWith(signedKitV1Request(name, body, options), { KIT_RSA_PRIVATE_KEY: rsa.pem, ...options.overrides }, env.KIT_ACCESS_KEY);
}

function newScope() {
  return { instanceId: uniqueId("I").toLowerCase(), tenantId: uniqueId("T") };
}

/** Live rows: a delete leaves a tombstone, which is not data. */
async function count(table: string, instanceId: string): Promise<number> {
  const row = await env.DB.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE instance_id = ? AND deleted_at IS NULL`).bind(instanceId).first<{ n: number }>();
  return row?.n ?? -1;
}

const tenantBody = (s: ReturnType<typeof newScope>, flag: number | string = 1) => ({
  instanceId: s.instanceId,
  orderId: uniqueId("CS"),
  tenantId: s.tenantId,
  tenantCode: "code-1",
  name: "V1 Co.",
  domainName: "https://v1.auth.example.com",
  flag,
  testFlag: 0,
  timeStamp: kitNow(),
});

describe("V1 kit syncs (authToken header)", () => {
  it("syncs a tenant, its app, users (userList as a JSON string) and the org tree (orgInfo with `name`)", async () => {
    const s = newScope();
    const tenant = await kitV1("tenantSync", tenantBody(s));
    expect(tenant.json).toEqual({ resultCode: "000000", resultMsg: "success: tenant added" });
    expect(tenant.bodySignValid).toBe(true);

    const app = await kitV1("applicationSync", {
      instanceId: s.instanceId,
      tenantId: s.tenantId,
      appId: "app-v1",
      clientId: "client-v1",
      clientSecret: await rsa.encrypt("v1-secret"),
      flag: 1,
      testFlag: 0,
      timeStamp: kitNow(),
    });
    expect(app.json.resultCode).toBe("000000");

    const users = [
      { userName: "zhang", name: "Zhang San", orgCode: "O1", role: "admin", enable: "true" },
      { userName: "li", name: "Li Si", orgCode: "O2", role: "user", enable: "false", extension: JSON.stringify({ employeeType: "2" }) },
    ];
    const auth = await kitV1("authSync", {
      instanceId: s.instanceId,
      tenantId: s.tenantId,
      appId: "app-v1",
      userList: JSON.stringify(users),
      currentSyncTime: kitNow(),
      flag: 1,
      testFlag: 0,
      timeStamp: kitNow(),
    });
    expect(auth.json.resultCode).toBe("000000");
    expect(await count("kit_users", s.instanceId)).toBe(2);

    const orgInfo = JSON.stringify([
      { orgCode: "O1", name: "Head office" },
      { orgCode: "O2", name: "Branch", parentCode: "O1" },
    ]);
    const orgs = await kitV1("allOrgSync", { instanceId: s.instanceId, tenantId: s.tenantId, orgInfo, testFlag: 0, timeStamp: kitNow() });
    expect(orgs.json.resultCode).toBe("000000");
    const stored = await env.DB.prepare("SELECT org_code, org_name, parent_code FROM kit_orgs WHERE instance_id = ? ORDER BY org_code").bind(s.instanceId).all();
    expect(stored.results).toEqual([
      { org_code: "O1", org_name: "Head office", parent_code: null },
      { org_code: "O2", org_name: "Branch", parent_code: "O1" },
    ]);
    const inbox = await env.DB.prepare("SELECT DISTINCT interface FROM inbox WHERE instance_id = ?").bind(s.instanceId).all();
    expect(inbox.results).toEqual([{ interface: "kit-v1" }]);
  });

  it("answers the very same signed call from its record: a replayed add after a delete re-adds nothing", async () => {
    const s = newScope();
    const add = tenantBody(s);
    const first = await kitV1("tenantSync", add);
    expect(first.json.resultCode).toBe("000000");
    expect((await kitV1("tenantSync", { ...add, flag: 0, timeStamp: kitNow(Date.now() + 5) })).json.resultCode).toBe("000000");
    expect(await count("kit_tenants", s.instanceId)).toBe(0);
    const before = await kitTableCounts();
    const replay = await kitV1("tenantSync", add);
    expect(replay.text).toBe(first.text);
    expect(await kitTableCounts()).toEqual(before);
    expect(await count("kit_tenants", s.instanceId)).toBe(0);
  });

  it("refuses a V2-only flag, a wrong key, a stale timeStamp, malformed JSON and a missing token, storing nothing", async () => {
    const s = newScope();
    const before = await kitTableCounts();

    const modify = await kitV1("tenantSync", tenantBody(s, 2));
    expect(modify.json).toEqual({ resultCode: "000002", resultMsg: "flag: must be one of 0|1" });

    const wrongKey = await kitV1("tenantSync", tenantBody(s), { key: "not-the-kit-key" });
    expect(wrongKey.json).toEqual({ resultCode: "000001", resultMsg: "authToken does not match" });
    expect(wrongKey.bodySignValid).toBe(true);

    const stale = await kitV1("tenantSync", { ...tenantBody(s), timeStamp: kitNow(Date.now() - 2 * 86400_000) });
    expect(stale.json).toEqual({ resultCode: "000001", resultMsg: "timeStamp is too old" });

    const malformed = await kitV1("tenantSync", tenantBody(s), { raw: "{oops" });
    expect(malformed.json).toEqual({ resultCode: "000002", resultMsg: "request body is not valid JSON" });

    const noToken = new Request("https://gateway.test/saas/v1/produceAPI/tenantSync", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(tenantBody(s)),
    });
    expect((await sendWith(noToken, {}, env.KIT_ACCESS_KEY)).json).toEqual({ resultCode: "000001", resultMsg: "missing authToken" });

    const tooMany = Array.from({ length: 501 }, (_, i) => ({ userName: `u${i}`, name: "n", orgCode: "o", role: "user", enable: "true" }));
    const many = await kitV1("authSync", {
      instanceId: s.instanceId,
      tenantId: s.tenantId,
      appId: "a",
      userList: JSON.stringify(tooMany),
      currentSyncTime: kitNow(),
      flag: 1,
      testFlag: 0,
      timeStamp: kitNow(),
    });
    expect(many.json).toEqual({ resultCode: "000002", resultMsg: "userList: too many items (max 500)" });

    expect(await kitTableCounts()).toEqual(before);
  });

  it("answers 000001 'V1 interface is disabled' when ENABLE_V1 is false, storing nothing", async () => {
    const s = newScope();
    const before = await kitTableCounts();
    const answer = await kitV1("tenantSync", tenantBody(s), { overrides: { ENABLE_V1: "false" } });
    expect(answer.json).toEqual({ resultCode: "000001", resultMsg: "V1 interface is disabled" });
    expect(answer.bodySignValid).toBe(true);
    expect(await kitTableCounts()).toEqual(before);
  });
});
