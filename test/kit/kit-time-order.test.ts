import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { parseKitTimeStamp } from "../../src/protocol/time-formats";
import {
  type KitTestScope,
  type SellerRsaKey,
  authBody,
  kitRows,
  kitTimeAt,
  kitTombstones,
  kitUser,
  makeSellerRsaKey,
  newKitScope,
  orgBody,
  sellerGet,
  sendWith,
  signedKitV1Request,
  signedKitV2Request,
  tenantBody,
} from "../support/kit";

/*
 * Kit syncs are applied in the order of their own times, not of their arrival (docs/kit-rules.md): a late add older
 * than a delete never brings the entity back, a late modify older than the stored data never overwrites it.
 */

let rsa: SellerRsaKey;
beforeAll(async () => {
  rsa = await makeSellerRsaKey();
});

function kit(name: string, body: object) {
  return sendWith(signedKitV2Request(name, body), { KIT_RSA_PRIVATE_KEY: rsa.pem }, env.KIT_ACCESS_KEY);
}

/** All syncs of a test are placed on a timeline an hour ago, `at(seconds)` after its start. */
function timeline(): (seconds: number) => string {
  const base = Date.now() - 3600_000;
  return (seconds) => kitTimeAt(base, seconds);
}

async function sendAll(calls: Array<[string, object]>): Promise<void> {
  for (const [name, body] of calls) {
    const answer = await kit(name, body);
    expect(answer.json.resultCode, `${name} ${JSON.stringify(body).slice(0, 80)}`).toBe("000000");
    expect(answer.bodySignValid).toBe(true);
  }
}

const appBody = async (s: KitTestScope, flag: number, timeStamp: string, secret = "secret") => ({
  instanceId: s.instanceId,
  tenantId: s.tenantId,
  appId: "app-1",
  clientId: "client-1",
  clientSecret: await rsa.encrypt(secret),
  flag,
  testFlag: 0,
  timeStamp,
});

const fullOrgBody = (s: KitTestScope, codes: string[], timeStamp: string) => ({
  instanceId: s.instanceId,
  tenantId: s.tenantId,
  orgInfoList: codes.map((orgCode) => ({ orgCode, orgName: `Dept ${orgCode}` })),
  testFlag: 0,
  timeStamp,
});

/** The users' order is set by `currentSyncTime` (§6.3); timeStamp says when the call was sent. */
const usersAt = (s: KitTestScope, users: unknown[], flag: number, time: string) => authBody(s, users, flag, { currentSyncTime: time, timeStamp: time });

describe("tenant", () => {
  it("stays deleted when an older add arrives after the delete, and the seller API does not list it", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["tenantSync", tenantBody(s, { timeStamp: at(1) })],
      ["tenantSync", tenantBody(s, { flag: 0, timeStamp: at(3) })],
      ["tenantSync", tenantBody(s, { timeStamp: at(2), name: "Late Co." })],
    ]);
    expect(await kitRows("kit_tenants", s)).toEqual([]);
    const [tombstone] = await kitTombstones("kit_tenants", s);
    expect(tombstone).toMatchObject({ name: "", domain_name: "", synced_at: parseKitTimeStamp(at(3)) });
    expect((await sellerGet(`/api/v1/instances/${s.instanceId}/tenant`)).status).toBe(404);
  });

  it("keeps the newer data when an older modify arrives late, and comes back on a newer add", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["tenantSync", tenantBody(s, { timeStamp: at(1) })],
      ["tenantSync", tenantBody(s, { flag: 2, name: "Newest Co.", timeStamp: at(5) })],
      ["tenantSync", tenantBody(s, { flag: 2, name: "Stale Co.", timeStamp: at(4) })],
    ]);
    expect(await kitRows("kit_tenants", s)).toMatchObject([{ name: "Newest Co." }]);

    await sendAll([
      ["tenantSync", tenantBody(s, { flag: 0, timeStamp: at(6) })],
      ["tenantSync", tenantBody(s, { name: "Rebound Co.", tenantCode: "code-new", timeStamp: at(7) })],
    ]);
    expect(await kitRows("kit_tenants", s)).toMatchObject([{ name: "Rebound Co.", tenant_code: "code-new", deleted_at: null }]);
    const tenant = await sellerGet(`/api/v1/instances/${s.instanceId}/tenant`);
    expect(tenant.json).toMatchObject({ tenants: [{ tenantId: s.tenantId, name: "Rebound Co." }] });
  });

  it("modify of a deleted tenant, when newer, brings the whole row back (a modify of something unknown inserts it)", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["tenantSync", tenantBody(s, { timeStamp: at(1) })],
      ["tenantSync", tenantBody(s, { flag: 0, timeStamp: at(2) })],
      ["tenantSync", tenantBody(s, { flag: 2, name: "Modified Co.", tenantCode: "code-m", timeStamp: at(3) })],
    ]);
    expect(await kitRows("kit_tenants", s)).toMatchObject([{ name: "Modified Co.", tenant_code: "code-m" }]);
  });

  it("at an equal time the delete wins whichever arrives first, and a repeat changes nothing", async () => {
    const first = newKitScope();
    const second = newKitScope();
    const at = timeline();
    await sendAll([
      ["tenantSync", tenantBody(first, { timeStamp: at(1) })],
      ["tenantSync", tenantBody(first, { flag: 0, timeStamp: at(1) })],
      ["tenantSync", tenantBody(second, { flag: 0, timeStamp: at(1) })],
      ["tenantSync", tenantBody(second, { timeStamp: at(1) })],
    ]);
    expect(await kitRows("kit_tenants", first)).toEqual([]);
    expect(await kitRows("kit_tenants", second)).toEqual([]);

    const s = newKitScope();
    const add = tenantBody(s, { timeStamp: at(2) });
    await sendAll([["tenantSync", add]]);
    const [before] = await kitRows("kit_tenants", s);
    await sendAll([["tenantSync", add]]);
    expect(await kitRows("kit_tenants", s)).toEqual([{ ...before, updated_at: expect.any(Number) }]);
  });

  it("a tenant delete removes the older apps, users and departments under it, but keeps what a later sync wrote", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["tenantSync", tenantBody(s, { timeStamp: at(1) })],
      ["applicationSync", await appBody(s, 1, at(2))],
      ["authSync", usersAt(s, [kitUser("old")], 1, at(3))],
      ["singleOrgSync", orgBody(s, "OLD", 1, { timeStamp: at(3) })],
      // Sent after the delete below, but arriving before it.
      ["authSync", usersAt(s, [kitUser("newer")], 1, at(20))],
      ["singleOrgSync", orgBody(s, "NEWER", 1, { timeStamp: at(20) })],
      ["tenantSync", tenantBody(s, { flag: 0, timeStamp: at(10) })],
    ]);
    expect(await kitRows("kit_applications", s)).toEqual([]);
    expect((await kitRows("kit_users", s)).map((r) => r.user_name)).toEqual(["newer"]);
    expect((await kitRows("kit_orgs", s)).map((r) => r.org_code)).toEqual(["NEWER"]);
    const [oldUser] = await kitTombstones("kit_users", s);
    // A deleted user's personal data goes with the delete: only the key and the times stay.
    expect(oldUser).toMatchObject({ user_name: "old", name: "", profile: "{}", org_code: "" });
  });

  it("late adds of an app, users or departments older than the tenant's delete stay out, also after the tenant is added again", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["tenantSync", tenantBody(s, { timeStamp: at(1) })],
      ["tenantSync", tenantBody(s, { flag: 0, timeStamp: at(10) })],
      ["applicationSync", await appBody(s, 1, at(5))],
      ["authSync", usersAt(s, [kitUser("late")], 1, at(5))],
      ["singleOrgSync", orgBody(s, "LATE", 1, { timeStamp: at(5) })],
      ["allOrgSync", fullOrgBody(s, ["A", "B"], at(5))],
      ["tenantSync", tenantBody(s, { timeStamp: at(20) })],
      ["authSync", usersAt(s, [kitUser("later-still-late")], 1, at(9))],
    ]);
    expect(await kitRows("kit_applications", s)).toEqual([]);
    expect(await kitRows("kit_users", s)).toEqual([]);
    expect(await kitRows("kit_orgs", s)).toEqual([]);
    // Held back, answered as if applied: an answer depends on the request only, so repeats get the same bytes.
    const answer = await kit("authSync", usersAt(s, [kitUser("x")], 1, at(9)));
    expect(answer.json).toEqual({ resultCode: "000000", resultMsg: "success: 1 user added" });
    // Syncs newer than the delete apply.
    await sendAll([["authSync", usersAt(s, [kitUser("fresh")], 1, at(21))]]);
    expect((await kitRows("kit_users", s)).map((r) => r.user_name)).toEqual(["fresh"]);
  });
});

describe("application", () => {
  it("stays deleted against an older add; its delete takes older users along and holds back their late adds", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["applicationSync", await appBody(s, 1, at(1), "first")],
      ["authSync", usersAt(s, [kitUser("u1"), kitUser("u2")], 1, at(2))],
      ["applicationSync", await appBody(s, 0, at(10))],
      ["applicationSync", await appBody(s, 1, at(5), "stale")],
      ["authSync", usersAt(s, [kitUser("u3")], 1, at(6))],
    ]);
    expect(await kitRows("kit_applications", s)).toEqual([]);
    expect(await kitRows("kit_users", s)).toEqual([]);
    const [app] = await kitTombstones("kit_applications", s);
    // No credential outlives its delete.
    expect(app).toMatchObject({ client_id: "", client_secret_sealed: "" });

    await sendAll([["applicationSync", await appBody(s, 1, at(11), "renewed")]]);
    const tenant = await sellerGet(`/api/v1/instances/${s.instanceId}/tenant`);
    expect(JSON.stringify(tenant.json)).toContain('"clientSecret":"renewed"');
  });

  it("keeps the newer secret when an older modify arrives late", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["applicationSync", await appBody(s, 1, at(1), "one")],
      ["applicationSync", await appBody(s, 2, at(3), "three")],
      ["applicationSync", await appBody(s, 2, at(2), "two")],
    ]);
    const tenant = await sellerGet(`/api/v1/instances/${s.instanceId}/tenant`);
    expect(JSON.stringify(tenant.json)).toContain('"clientSecret":"three"');
  });
});

describe("users", () => {
  it("a late add older than the delete does not bring users back, also users deleted before they were ever seen", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["authSync", usersAt(s, [kitUser("alice"), kitUser("bob")], 1, at(1))],
      ["authSync", usersAt(s, [kitUser("alice"), kitUser("ghost")], 0, at(5))],
      ["authSync", usersAt(s, [kitUser("alice"), kitUser("ghost"), kitUser("bob", { name: "Bob Stale" })], 1, at(3))],
    ]);
    // The late add is older than the delete but newer than bob's add: bob takes it.
    expect(await kitRows("kit_users", s)).toMatchObject([{ user_name: "bob", name: "Bob Stale" }]);
    expect((await kitTombstones("kit_users", s)).map((r) => r.user_name)).toEqual(["alice", "ghost"]);
    const users = await sellerGet(`/api/v1/instances/${s.instanceId}/users`);
    expect((users.json.users as Array<{ userName: string }>).map((u) => u.userName)).toEqual(["bob"]);
  });

  it("a late add older than a revoke does not authorize again; at an equal time revoke beats add, delete beats revoke", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["authSync", usersAt(s, [kitUser("carol"), kitUser("dan"), kitUser("erin")], 1, at(1))],
      ["authSync", usersAt(s, [kitUser("carol")], 3, at(5))],
      ["authSync", usersAt(s, [kitUser("carol")], 1, at(4))],
      ["authSync", usersAt(s, [kitUser("dan")], 3, at(6))],
      ["authSync", usersAt(s, [kitUser("dan")], 1, at(6))],
      ["authSync", usersAt(s, [kitUser("erin")], 0, at(7))],
      ["authSync", usersAt(s, [kitUser("erin")], 3, at(7))],
    ]);
    const live = await kitRows("kit_users", s);
    expect(live.map((r) => [r.user_name, r.authorized])).toEqual([
      ["carol", 0],
      ["dan", 0],
    ]);
    expect((await kitTombstones("kit_users", s)).map((r) => r.user_name)).toEqual(["erin"]);
  });

  it("keeps the newer profile when an older modify arrives late", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["authSync", usersAt(s, [kitUser("fay", { name: "Fay New" })], 2, at(5))],
      ["authSync", usersAt(s, [kitUser("fay", { name: "Fay Old" })], 2, at(4))],
    ]);
    expect(await kitRows("kit_users", s)).toMatchObject([{ user_name: "fay", name: "Fay New" }]);
  });

  it("pages the seller API past tombstones", async () => {
    const s = newKitScope();
    const at = timeline();
    const names = Array.from({ length: 10 }, (_, i) => `p${i}`);
    await sendAll([
      ["authSync", usersAt(s, names.map((n) => kitUser(n)), 1, at(1))],
      ["authSync", usersAt(s, ["p0", "p3", "p4", "p9"].map((n) => kitUser(n)), 0, at(2))],
    ]);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await sellerGet(`/api/v1/instances/${s.instanceId}/users?limit=2${cursor ? `&cursor=${cursor}` : ""}`);
      seen.push(...(page.json.users as Array<{ userName: string }>).map((u) => u.userName));
      cursor = page.json.nextCursor as string | null;
    } while (cursor);
    expect(seen).toEqual(["p1", "p2", "p5", "p6", "p7", "p8"]);
  });
});

describe("departments", () => {
  it("a late add older than the delete does not bring a department back; a late modify does not overwrite", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["singleOrgSync", orgBody(s, "D1", 1, { timeStamp: at(1) })],
      ["singleOrgSync", orgBody(s, "D1", 0, { timeStamp: at(5) })],
      ["singleOrgSync", orgBody(s, "D1", 1, { timeStamp: at(3) })],
      ["singleOrgSync", orgBody(s, "D2", 2, { orgName: "New name", timeStamp: at(5) })],
      ["singleOrgSync", orgBody(s, "D2", 2, { orgName: "Old name", timeStamp: at(4) })],
    ]);
    expect((await kitRows("kit_orgs", s)).map((r) => [r.org_code, r.org_name])).toEqual([["D2", "New name"]]);
    const orgs = await sellerGet(`/api/v1/instances/${s.instanceId}/orgs`);
    expect((orgs.json.orgs as Array<{ orgCode: string }>).map((o) => o.orgCode)).toEqual(["D2"]);
  });

  it("a full sync removes only departments older than itself and brings back none deleted after it", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["allOrgSync", fullOrgBody(s, ["A", "B", "C"], at(1))],
      // Sent after the full sync below was made, arriving before it.
      ["singleOrgSync", orgBody(s, "LATER", 1, { timeStamp: at(20) })],
      ["singleOrgSync", orgBody(s, "B", 0, { timeStamp: at(20) })],
      ["singleOrgSync", orgBody(s, "C", 2, { orgName: "C renamed", timeStamp: at(20) })],
      ["allOrgSync", fullOrgBody(s, ["A", "B", "C", "D"], at(10))],
    ]);
    expect((await kitRows("kit_orgs", s)).map((r) => [r.org_code, r.org_name])).toEqual([
      ["A", "Dept A"],
      ["C", "C renamed"],
      ["D", "Dept D"],
      ["LATER", "Dept LATER"],
    ]);
  });

  it("an older full sync, or an older single add, arriving after a newer full sync changes nothing", async () => {
    const s = newKitScope();
    const at = timeline();
    await sendAll([
      ["allOrgSync", fullOrgBody(s, ["X", "Y"], at(10))],
      ["allOrgSync", fullOrgBody(s, ["OLD1", "X"], at(5))],
      ["singleOrgSync", orgBody(s, "OLD2", 1, { timeStamp: at(6) })],
    ]);
    expect((await kitRows("kit_orgs", s)).map((r) => r.org_code)).toEqual(["X", "Y"]);
    await sendAll([["singleOrgSync", orgBody(s, "NEW", 1, { timeStamp: at(11) })]]);
    expect((await kitRows("kit_orgs", s)).map((r) => r.org_code)).toEqual(["NEW", "X", "Y"]);
  });

  it("a repeat of the very same full sync is answered the same and changes nothing", async () => {
    const s = newKitScope();
    const at = timeline();
    const full = fullOrgBody(s, ["R1", "R2"], at(1));
    const first = await kit("allOrgSync", full);
    const before = await kitRows("kit_orgs", s);
    const repeat = await kit("allOrgSync", full);
    expect(repeat.text).toBe(first.text);
    expect(await kitRows("kit_orgs", s)).toEqual(before);
  });
});

describe("V1", () => {
  it("a different, older signed add after a delete does not bring the tenant back", async () => {
    const s = newKitScope();
    const at = timeline();
    const v1 = (body: Record<string, unknown>) => sendWith(signedKitV1Request("tenantSync", body), {}, env.KIT_ACCESS_KEY);
    const body = (flag: number, time: string, name: string) => ({ ...tenantBody(s, { timeStamp: time, name }), flag });
    expect((await v1(body(1, at(1), "V1 Co."))).json.resultCode).toBe("000000");
    expect((await v1(body(0, at(5), "V1 Co."))).json.resultCode).toBe("000000");
    expect((await v1(body(1, at(3), "V1 Late Co."))).json.resultCode).toBe("000000");
    expect(await kitRows("kit_tenants", s)).toEqual([]);
  });
});
