import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { MAX_AUTH_SYNC_USERS } from "../../src/protocol/schemas/kit.schema";
import { uniqueId } from "../support/marketplace";
import {
  type KitTestScope,
  type SellerRsaKey,
  authBody,
  kitNow,
  kitRows,
  kitTableCounts,
  kitUser,
  makeSellerRsaKey,
  newKitScope,
  orgBody,
  sellerGet,
  sendSeller,
  sendWith,
  signedKitV2Request,
  tenantBody,
} from "../support/kit";

let rsa: SellerRsaKey;
beforeAll(async () => {
  rsa = await makeSellerRsaKey();
});

/** Every kit call runs with the seller's generated private key in place. */
function kit(name: string, body: string | object, options: Parameters<typeof signedKitV2Request>[2] = {}) {
  return sendWith(signedKitV2Request(name, body, options), { KIT_RSA_PRIVATE_KEY: rsa.pem }, options.key ?? env.KIT_ACCESS_KEY);
}

describe("tenantSync", () => {
  it("adds, repeats without duplicating, modifies name/domain, deletes, and deletes again", async () => {
    const s = newKitScope();
    const added = await kit("tenantSync", tenantBody(s));
    expect(added.status).toBe(200);
    expect(added.bodySignValid).toBe(true);
    expect(added.json).toMatchObject({ resultCode: "000000" });
    expect(await kitRows("kit_tenants", s)).toHaveLength(1);

    const before = await kitTableCounts();
    const repeat = await kit("tenantSync", tenantBody(s));
    expect(repeat.json.resultCode).toBe("000000");
    const after = await kitTableCounts();
    expect(after.kit_tenants).toBe(before.kit_tenants);

    const modified = await kit("tenantSync", tenantBody(s, { flag: 2, name: "Renamed Co.", domainName: "https://new.example.com", tenantCode: "ignored" }));
    expect(modified.json.resultCode).toBe("000000");
    const [row] = await kitRows("kit_tenants", s);
    expect(row).toMatchObject({ name: "Renamed Co.", domain_name: "https://new.example.com", tenant_code: `code-${s.tenantId}` });

    expect((await kit("tenantSync", tenantBody(s, { flag: 0 }))).json.resultCode).toBe("000000");
    expect(await kitRows("kit_tenants", s)).toHaveLength(0);
    expect((await kit("tenantSync", tenantBody(s, { flag: 0 }))).json.resultCode).toBe("000000");
  });

  it("treats a modify of an unknown tenant as an upsert", async () => {
    const s = newKitScope();
    const answer = await kit("tenantSync", tenantBody(s, { flag: 2 }));
    expect(answer.json.resultCode).toBe("000000");
    expect(await kitRows("kit_tenants", s)).toMatchObject([{ tenant_code: `code-${s.tenantId}`, name: "Example Co." }]);
  });

  it("accepts flag and testFlag as digit strings and records the call in the inbox", async () => {
    const s = newKitScope();
    const answer = await kit("tenantSync", tenantBody(s, { flag: "1", testFlag: "0" }));
    expect(answer.json.resultCode).toBe("000000");
    const inbox = await env.DB.prepare("SELECT * FROM inbox WHERE instance_id = ? AND activity = 'tenantSync'").bind(s.instanceId).all();
    expect(inbox.results).toMatchObject([{ interface: "kit-v2", result_code: "000000", answer: answer.text }]);
  });

  it("stores a call without instanceId (the seller's own credential or test account) under an empty instance", async () => {
    const s = { instanceId: "", tenantId: uniqueId("T") };
    const answer = await kit("tenantSync", tenantBody(s, { instanceId: "" }));
    expect(answer.json.resultCode).toBe("000000");
    expect(await kitRows("kit_tenants", s)).toHaveLength(1);
    const missing = await kit("tenantSync", (({ instanceId: _omit, ...rest }) => rest)(tenantBody(s)));
    expect(missing.json.resultCode).toBe("000000");
    expect(await kitRows("kit_tenants", s)).toHaveLength(1);
  });

  it("keeps debug data (testFlag 1) apart: a debug delete never touches the real tenant", async () => {
    const s = newKitScope();
    await kit("tenantSync", tenantBody(s));
    expect((await kit("tenantSync", tenantBody(s, { testFlag: 1 }))).json.resultCode).toBe("000000");
    expect((await kit("tenantSync", tenantBody(s, { testFlag: 1, flag: 0 }))).json.resultCode).toBe("000000");
    expect(await kitRows("kit_tenants", s)).toMatchObject([{ is_test: 0 }]);
  });
});

describe("applicationSync", () => {
  const appBody = async (s: KitTestScope, flag: number, secret = "client-secret-1", hash: "SHA-256" | "SHA-1" = "SHA-256") => ({
    instanceId: s.instanceId,
    tenantId: s.tenantId,
    appId: "app-1",
    clientId: "client-1",
    clientSecret: await rsa.encrypt(secret, hash),
    flag,
    testFlag: 0,
    timeStamp: kitNow(),
  });

  it("decrypts the RSA-OAEP secret, stores it sealed, never in the inbox, and serves it to the seller's app", async () => {
    const s = newKitScope();
    await kit("tenantSync", tenantBody(s));
    const answer = await kit("applicationSync", await appBody(s, 1, "s3cr3t-value"));
    expect(answer.json).toMatchObject({ resultCode: "000000" });
    const [row] = await kitRows("kit_applications", s);
    expect(row).toMatchObject({ client_id: "client-1", oaep_variant: "SHA-256/MGF1-SHA-256" });
    expect(String(row?.client_secret_sealed)).toMatch(/^v2\./);
    const inbox = await env.DB.prepare("SELECT request FROM inbox WHERE instance_id = ? AND activity = 'applicationSync'").bind(s.instanceId).first<{ request: string }>();
    // The inbox keeps identifiers only: not even the redacted placeholder of the secret.
    expect(inbox?.request).not.toContain("clientSecret");
    const dump = JSON.stringify(await env.DB.prepare("SELECT * FROM kit_applications").all());
    expect(dump).not.toContain("s3cr3t-value");

    const tenant = await sellerGet(`/api/v1/instances/${s.instanceId}/tenant`);
    expect(tenant.status).toBe(200);
    expect(tenant.json).toMatchObject({
      instanceId: s.instanceId,
      tenants: [{ tenantId: s.tenantId, name: "Example Co.", applications: [{ appId: "app-1", clientId: "client-1", clientSecret: "s3cr3t-value" }] }],
    });
  });

  it("records the SHA-1 variant, modifies, deletes with the app's users, and deletes again", async () => {
    const s = newKitScope();
    expect((await kit("applicationSync", await appBody(s, 1, "first", "SHA-1"))).json.resultCode).toBe("000000");
    expect(await kitRows("kit_applications", s)).toMatchObject([{ oaep_variant: "SHA-1/MGF1-SHA-1" }]);
    expect((await kit("applicationSync", await appBody(s, 2, "second"))).json.resultCode).toBe("000000");
    const tenant = await sellerGet(`/api/v1/instances/${s.instanceId}/tenant`);
    expect(JSON.stringify(tenant.json)).toContain('"clientSecret":"second"');
    await kit("authSync", authBody(s, [kitUser("u1")], 1));
    expect(await kitRows("kit_users", s)).toHaveLength(1);
    const deleted = await kit("applicationSync", { ...(await appBody(s, 0)), clientSecret: "not-even-base64!" });
    expect(deleted.json.resultCode).toBe("000000");
    expect(await kitRows("kit_applications", s)).toHaveLength(0);
    expect(await kitRows("kit_users", s)).toHaveLength(0);
    expect((await kit("applicationSync", await appBody(s, 0))).json.resultCode).toBe("000000");
  });

  it("refuses a clientSecret that does not decrypt with 000002, storing nothing", async () => {
    const s = newKitScope();
    const other = await makeSellerRsaKey();
    const before = await kitTableCounts();
    const wrongKey = await kit("applicationSync", { ...(await appBody(s, 1)), clientSecret: await other.encrypt("x") });
    expect(wrongKey.json).toEqual({ resultCode: "000002", resultMsg: "clientSecret could not be decrypted with the configured KIT_RSA_PRIVATE_KEY" });
    expect(wrongKey.bodySignValid).toBe(true);
    const notBase64 = await kit("applicationSync", { ...(await appBody(s, 1)), clientSecret: "%%%" });
    expect(notBase64.json).toEqual({ resultCode: "000002", resultMsg: "clientSecret is not Base64 RSA ciphertext" });
    // Not even their nonces: the secret is decrypted while parsing, before the nonce is stored.
    expect(await kitTableCounts()).toEqual(before);
  });
});

describe("authSync", () => {
  it("adds users from an array or a JSON string, repeats without duplicates, modifies, revokes and deletes", async () => {
    const s = newKitScope();
    const added = await kit("authSync", authBody(s, [kitUser("alice"), kitUser("bob", { role: "admin", enable: false })], 1));
    expect(added.json.resultCode).toBe("000000");
    expect(await kitRows("kit_users", s)).toHaveLength(2);

    const asString = await kit("authSync", authBody(s, JSON.stringify([kitUser("alice"), kitUser("carol")]), 1));
    expect(asString.json.resultCode).toBe("000000");
    const all = await kitRows("kit_users", s);
    expect(all.map((r) => r.user_name).sort()).toEqual(["alice", "bob", "carol"]);
    const bob = all.find((r) => r.user_name === "bob");
    expect(bob).toMatchObject({ role: "admin", enabled: 0, authorized: 1 });
    expect(JSON.parse(String(all.find((r) => r.user_name === "alice")?.profile))).toEqual({
      position: "engineer",
      employeeCode: "E-alice",
      mobile: "13800000000",
      email: "alice@example.com",
      entryDate: "2024-05-7",
      employeeType: "1",
      workPlace: "Shenzhen",
    });

    await kit("authSync", authBody(s, [kitUser("alice", { name: "Alice Renamed", orgCode: "ORG-2" }), kitUser("dave")], 2));
    const afterModify = await kitRows("kit_users", s);
    expect(afterModify.find((r) => r.user_name === "alice")).toMatchObject({ name: "Alice Renamed", org_code: "ORG-2" });
    expect(afterModify.map((r) => r.user_name)).toContain("dave");

    await kit("authSync", authBody(s, [kitUser("bob"), kitUser("nobody-yet")], 3));
    const afterRevoke = await kitRows("kit_users", s);
    expect(afterRevoke.find((r) => r.user_name === "bob")).toMatchObject({ authorized: 0 });
    expect(afterRevoke.find((r) => r.user_name === "nobody-yet")).toMatchObject({ authorized: 0 });
    // A later add grants access again.
    await kit("authSync", authBody(s, [kitUser("bob")], 1));
    expect((await kitRows("kit_users", s)).find((r) => r.user_name === "bob")).toMatchObject({ authorized: 1 });

    const deleted = await kit("authSync", authBody(s, [kitUser("alice"), kitUser("ghost")], 0));
    expect(deleted.json.resultCode).toBe("000000");
    expect((await kitRows("kit_users", s)).map((r) => r.user_name).sort()).toEqual(["bob", "carol", "dave", "nobody-yet"]);
    expect((await kit("authSync", authBody(s, [kitUser("alice")], 0))).json.resultCode).toBe("000000");
  });

  it("takes 500 users in one call and pages them through the seller API", async () => {
    const s = newKitScope();
    const users = Array.from({ length: MAX_AUTH_SYNC_USERS }, (_, i) => kitUser(`user${String(i).padStart(3, "0")}`));
    const answer = await kit("authSync", authBody(s, users, 1));
    expect(answer.json.resultCode).toBe("000000");
    expect(await kitRows("kit_users", s)).toHaveLength(500);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=200&cursor=${cursor}` : "?limit=200";
      const page = await sellerGet(`/api/v1/instances/${s.instanceId}/users${query}`);
      expect(page.status).toBe(200);
      const list = page.json.users as Array<{ userName: string; email: string; authorized: boolean }>;
      seen.push(...list.map((u) => u.userName));
      cursor = page.json.nextCursor as string | null;
      pages += 1;
    } while (cursor && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(users.map((u) => u.userName));
  });

  it("refuses 501 users, an unknown flag, a malformed userList and a bad user, each with 000002 and nothing stored", async () => {
    const s = newKitScope();
    const before = await kitTableCounts();
    const tooMany = await kit("authSync", authBody(s, Array.from({ length: 501 }, (_, i) => kitUser(`u${i}`)), 1));
    expect(tooMany.json).toEqual({ resultCode: "000002", resultMsg: "userList: too many items (max 500)" });
    const badFlag = await kit("authSync", authBody(s, [kitUser("a")], 7));
    expect(badFlag.json).toEqual({ resultCode: "000002", resultMsg: "flag: must be one of 0|1|2|3" });
    const notJson = await kit("authSync", authBody(s, "[{not json", 1));
    expect(notJson.json).toEqual({ resultCode: "000002", resultMsg: "userList: not valid JSON" });
    const badRole = await kit("authSync", authBody(s, [kitUser("a", { role: "root" })], 1));
    expect(badRole.json).toEqual({ resultCode: "000002", resultMsg: 'userList[0].role: must be "user" or "admin"' });
    const after = await kitTableCounts();
    expect({ ...after, nonces: 0 }).toEqual({ ...before, nonces: 0 });
  });
});

describe("department syncs", () => {
  it("adds, modifies and deletes single departments; deleting an unknown one succeeds", async () => {
    const s = newKitScope();
    expect((await kit("singleOrgSync", orgBody(s, "D1", 1))).json.resultCode).toBe("000000");
    expect((await kit("singleOrgSync", orgBody(s, "D2", 1, { parentCode: "D1" }))).json.resultCode).toBe("000000");
    expect((await kit("singleOrgSync", orgBody(s, "D1", 1))).json.resultCode).toBe("000000");
    expect(await kitRows("kit_orgs", s)).toHaveLength(2);
    await kit("singleOrgSync", orgBody(s, "D2", 2, { orgName: "Moved", parentCode: "" }));
    expect((await kitRows("kit_orgs", s)).find((r) => r.org_code === "D2")).toMatchObject({ org_name: "Moved", parent_code: null });
    await kit("singleOrgSync", orgBody(s, "D3", 2));
    expect(await kitRows("kit_orgs", s)).toHaveLength(3);
    expect((await kit("singleOrgSync", orgBody(s, "D1", 0))).json.resultCode).toBe("000000");
    expect((await kit("singleOrgSync", orgBody(s, "nope", 0))).json.resultCode).toBe("000000");
    expect((await kitRows("kit_orgs", s)).map((r) => r.org_code).sort()).toEqual(["D2", "D3"]);
  });

  it("replaces the tree on a full sync, removing stale departments, from an array or a JSON string", async () => {
    const s = newKitScope();
    for (const code of ["OLD1", "OLD2", "KEEP"]) await kit("singleOrgSync", orgBody(s, code, 1));
    const tree = Array.from({ length: 30 }, (_, i) => ({ orgCode: `N${i}`, orgName: `New ${i}`, parentCode: i === 0 ? "" : "N0" }));
    const full = { instanceId: s.instanceId, tenantId: s.tenantId, orgInfoList: [...tree, { orgCode: "KEEP", orgName: "Kept, renamed" }], testFlag: 0, timeStamp: kitNow() };
    const answer = await kit("allOrgSync", full);
    expect(answer.json.resultCode).toBe("000000");
    const after = await kitRows("kit_orgs", s);
    expect(after).toHaveLength(31);
    expect(after.map((r) => r.org_code)).not.toContain("OLD1");
    expect(after.find((r) => r.org_code === "KEEP")).toMatchObject({ org_name: "Kept, renamed", parent_code: null });
    expect(after.find((r) => r.org_code === "N5")).toMatchObject({ parent_code: "N0" });

    // A later full sync: full syncs apply in the order of their times (docs/kit-rules.md).
    const asString = await kit("allOrgSync", { ...full, orgInfoList: JSON.stringify([{ orgCode: "ONLY", orgName: "Only" }]), timeStamp: kitNow() });
    expect(asString.json.resultCode).toBe("000000");
    expect((await kitRows("kit_orgs", s)).map((r) => r.org_code)).toEqual(["ONLY"]);

    const orgs = await sellerGet(`/api/v1/instances/${s.instanceId}/orgs`);
    expect(orgs.json).toMatchObject({ orgs: [{ tenantId: s.tenantId, orgCode: "ONLY", orgName: "Only", parentCode: null }], nextCursor: null });
  });
});

describe("serialisation", () => {
  it("applies 20 concurrent syncs on one tenant, every one of them", async () => {
    const s = newKitScope();
    await kit("tenantSync", tenantBody(s));
    const calls = Array.from({ length: 20 }, (_, i) => {
      if (i % 4 === 0) return kit("singleOrgSync", orgBody(s, `C${i}`, 1));
      if (i % 4 === 1) return kit("authSync", authBody(s, [kitUser(`c${i}a`), kitUser(`c${i}b`)], 1));
      if (i % 4 === 2) return kit("tenantSync", tenantBody(s, { flag: 2, name: `Name ${i}` }));
      return kit("authSync", authBody(s, [kitUser("shared", { name: `Shared ${i}` })], 2));
    });
    const answers = await Promise.all(calls);
    expect(answers.map((a) => a.json.resultCode)).toEqual(Array(20).fill("000000"));
    expect(answers.every((a) => a.bodySignValid)).toBe(true);
    expect(await kitRows("kit_orgs", s)).toHaveLength(5);
    expect(await kitRows("kit_users", s)).toHaveLength(11);
    expect(await kitRows("kit_tenants", s)).toHaveLength(1);
    const inbox = await env.DB.prepare("SELECT COUNT(*) AS n FROM inbox WHERE instance_id = ?").bind(s.instanceId).first<{ n: number }>();
    expect(inbox?.n).toBe(21);
  });
});

describe("bad input", () => {
  it("answers each refusal with its code and message, signed, storing nothing", async () => {
    const s = newKitScope();
    const body = tenantBody(s);
    const before = await kitTableCounts();

    const wrongKey = await kit("tenantSync", body, { key: "not-the-kit-key" });
    expect(wrongKey.json).toEqual({ resultCode: "000001", resultMsg: "signature does not match" });
    // Answers are signed with our key, whoever asked.
    expect(wrongKey.bodySignValid).toBe(false);

    const stale = await kit("tenantSync", body, { timestamp: Date.now() - 120_000 });
    expect(stale.json).toEqual({ resultCode: "000001", resultMsg: "timestamp is too old" });
    expect(stale.bodySignValid).toBe(true);

    const malformed = await kit("tenantSync", "{not json");
    expect(malformed.json).toEqual({ resultCode: "000002", resultMsg: "request body is not valid JSON" });

    const badFlag = await kit("tenantSync", tenantBody(s, { flag: 3 }));
    expect(badFlag.json).toEqual({ resultCode: "000002", resultMsg: "flag: must be one of 0|1|2" });

    const unknownName = await kit("teamSync", body);
    expect(unknownName.json).toEqual({ resultCode: "000002", resultMsg: 'unknown kit interface "teamSync"' });

    const wrongType = await kit("tenantSync", body, { contentType: "text/plain" });
    expect(wrongType.json.resultCode).toBe("000002");

    const after = await kitTableCounts();
    expect({ ...after, nonces: 0 }).toEqual({ ...before, nonces: 0 });

    const nonce = uniqueId("REPLAY");
    expect((await kit("tenantSync", body, { nonce })).json.resultCode).toBe("000000");
    const middle = await kitTableCounts();
    const replay = await kit("tenantSync", body, { nonce });
    expect(replay.json).toEqual({ resultCode: "000001", resultMsg: "nonce was already used (replay)" });
    expect(await kitTableCounts()).toEqual(middle);
  });

  it("refuses the seller API without the token", async () => {
    const s = newKitScope();
    expect((await sellerGet(`/api/v1/instances/${s.instanceId}/users`, "wrong")).status).toBe(401);
    expect((await sendSeller(new Request(`https://gateway.test/api/v1/instances/${s.instanceId}/orgs`))).status).toBe(401);
    expect((await sellerGet(`/api/v1/instances/${s.instanceId}/tenant`)).status).toBe(404);
    expect((await sellerGet(`/api/v1/instances/${s.instanceId}/users?limit=0`)).status).toBe(400);
    expect((await sellerGet(`/api/v1/instances/${s.instanceId}/users?cursor=abc`)).status).toBe(400);
  });
});
