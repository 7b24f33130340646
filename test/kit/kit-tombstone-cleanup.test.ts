import { env } from "cloudflare:workers";
import { getTableConfig } from "drizzle-orm/sqlite-core";
import { describe, expect, it } from "vitest";
import { kitApplications, kitOrgTrees, kitOrgs, kitTenants, kitUsers } from "../../src/db/schema/kit";
import { cleanupJob } from "../../src/jobs/cleanup.job";
import { KIT_TOMBSTONE_RETENTION_MS } from "../../src/kit/kit.repo";
import { authBody, kitRows, kitTimeAt, kitTombstones, kitUser, newKitScope, orgBody, sendWith, signedKitV2Request, tenantBody } from "../support/kit";

/*
 * Tombstones are kept for KIT_TOMBSTONE_RETENTION_MS after the delete was recorded, then the daily clean-up removes
 * them. Its own file: the clean-up runs with a clock 30 days ahead and would clear other files' tombstones.
 */

function kit(name: string, body: object) {
  return sendWith(signedKitV2Request(name, body), {}, env.KIT_ACCESS_KEY);
}

describe("tombstone clean-up", () => {
  it("keeps tombstones for 30 days, then the daily clean-up removes them and nothing live", async () => {
    const s = newKitScope();
    const base = Date.now() - 3600_000;
    const at = (seconds: number) => kitTimeAt(base, seconds);
    for (const [name, body] of [
      ["tenantSync", tenantBody(s, { timeStamp: at(1) })],
      ["authSync", authBody(s, [kitUser("gone"), kitUser("kept")], 1, { currentSyncTime: at(1) })],
      ["allOrgSync", { instanceId: s.instanceId, tenantId: s.tenantId, orgInfoList: [{ orgCode: "O1", orgName: "One" }], testFlag: 0, timeStamp: at(1) }],
      ["authSync", authBody(s, [kitUser("gone")], 0, { currentSyncTime: at(2) })],
      ["singleOrgSync", orgBody(s, "O1", 0, { timeStamp: at(2) })],
    ] as const) {
      expect((await kit(name, body)).json.resultCode).toBe("000000");
    }
    expect(await kitTombstones("kit_users", s)).toHaveLength(1);
    expect(await kitTombstones("kit_orgs", s)).toHaveLength(1);
    const [tombstone] = await kitTombstones("kit_users", s);
    const recordedAt = Number(tombstone?.deleted_at);

    const early = await cleanupJob(env, recordedAt + KIT_TOMBSTONE_RETENTION_MS - 1000);
    expect(early.kitTombstonesDeleted).toBe(0);
    expect(await kitTombstones("kit_users", s)).toHaveLength(1);

    const due = await cleanupJob(env, recordedAt + KIT_TOMBSTONE_RETENTION_MS + 1000);
    expect(due.kitTombstonesDeleted).toBeGreaterThanOrEqual(2);
    expect(await kitTombstones("kit_users", s)).toEqual([]);
    expect(await kitTombstones("kit_orgs", s)).toEqual([]);
    expect((await kitRows("kit_users", s)).map((r) => r.user_name)).toEqual(["kept"]);
    expect(await kitRows("kit_tenants", s)).toHaveLength(1);
  });

  it("removes a deleted tenant's full-sync time together with its tombstone", async () => {
    const s = newKitScope();
    const base = Date.now() - 3600_000;
    const full = { instanceId: s.instanceId, tenantId: s.tenantId, orgInfoList: [{ orgCode: "O1", orgName: "One" }], testFlag: 0, timeStamp: kitTimeAt(base, 1) };
    expect((await kit("allOrgSync", full)).json.resultCode).toBe("000000");
    expect((await kit("tenantSync", tenantBody(s, { flag: 0, timeStamp: kitTimeAt(base, 2) }))).json.resultCode).toBe("000000");
    const trees = () => env.DB.prepare("SELECT COUNT(*) AS n FROM kit_org_trees WHERE instance_id = ?").bind(s.instanceId).first<{ n: number }>();
    expect((await trees())?.n).toBe(1);
    await cleanupJob(env, Date.now() + KIT_TOMBSTONE_RETENTION_MS + 60_000);
    expect((await trees())?.n).toBe(0);
    expect(await kitTombstones("kit_tenants", s)).toEqual([]);
  });

  it("the tombstone indexes of the drizzle schema are the ones the migration made", async () => {
    for (const table of [kitTenants, kitApplications, kitUsers, kitOrgs, kitOrgTrees]) {
      const { name, indexes } = getTableConfig(table);
      const inSchema = indexes.map((index) => index.config.name).sort();
      const inDb = await env.DB.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL ORDER BY name`)
        .bind(name)
        .all<{ name: string }>();
      expect(inDb.results.map((row) => row.name)).toEqual(inSchema);
    }
  });
});
