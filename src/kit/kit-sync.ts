import { createHash } from "node:crypto";
import { type Db, getDb } from "../db/client";
import type { KitUserProfile, kitOrgs, kitUsers } from "../db/schema/kit";
import { findInboxEntry, statements } from "../instances/instance.repo";
import { ResultCode } from "../protocol/result-codes";
import type { KitRequest, KitUser, KitVersion, OrgInfo } from "../protocol/schemas/kit.schema";
import { parseKitTimeStamp } from "../protocol/time-formats";
import { type KitScope, type Statement, kitStatements } from "./kit.repo";

/** One verified, parsed kit sync as it crosses to the actor. It never carries a client secret in plain text. */
export interface KitSyncCall {
  version: KitVersion;
  /** For applicationSync the `clientSecret` is replaced by a placeholder; the sealed value travels in `sealedSecret`. */
  kit: KitRequest;
  sealedSecret?: { sealed: string; oaepVariant: string };
  /**
   * The inbox key of this call. V2: unique per call (replays are refused by nonce before this point). V1: derived
   * from the authToken, so the very same signed call (a retry, or a replay: V1 has no nonce) meets its record.
   */
  callKey: string;
  answerRepeatsFromRecord: boolean;
  /** The body as received, with the client secret redacted. */
  requestText: string;
  receivedAt: number;
}

export interface KitAnswer {
  text: string;
  resultCode: string;
}

/** Where a sync is serialised: its instance's actor, or, for the seller's own calls without one, its tenant's. */
export function kitActorName(kit: KitRequest): string {
  return kit.request.instanceId === "" ? `kit-tenant:${kit.request.tenantId}` : kit.request.instanceId;
}

/**
 * Applies one sync in one D1 batch together with its inbox record, so the record exists exactly when the effect does.
 * Runs inside the actor's queue (InstanceActor.kitSync): syncs for one instance never interleave. Idempotency
 * (spec §6, §9): a repeated add meets its row (primary key = natural key) and only refreshes it; a delete of
 * something absent deletes nothing and succeeds; a modify of something unknown inserts it.
 */
export async function applyKitSync(env: Env, call: KitSyncCall): Promise<KitAnswer> {
  const db = getDb(env);
  if (call.answerRepeatsFromRecord) {
    const entry = await findInboxEntry(db, call.callKey);
    if (entry) return { text: entry.answer, resultCode: entry.resultCode };
  }
  const { effects, message } = plan(db, call);
  const resultCode = ResultCode.Success;
  const text = JSON.stringify({ resultCode, resultMsg: message });
  const { request } = call.kit;
  const inbox = statements.insertInbox(db, {
    idempotencyKey: call.callKey,
    fingerprint: createHash("sha256").update(call.requestText).digest("hex"),
    interface: `kit-${call.version}`,
    activity: call.kit.name,
    instanceId: request.instanceId === "" ? null : request.instanceId,
    isTest: request.isTest,
    request: call.requestText,
    resultCode,
    answer: text,
    receivedAt: call.receivedAt,
  });
  await db.batch([inbox, ...effects]);
  return { text, resultCode };
}

interface Plan {
  effects: Statement[];
  message: string;
}

const FLAG_WORDS = { 0: "deleted", 1: "added", 2: "modified", 3: "revoked" } as const;

function plan(db: Db, call: KitSyncCall): Plan {
  const now = call.receivedAt;
  const { kit } = call;
  switch (kit.name) {
    case "tenantSync": {
      const r = kit.request;
      const scope = scopeOf(r);
      if (r.flag === 0) return { effects: kitStatements.deleteTenant(db, scope), message: "success: tenant deleted" };
      const row = {
        ...scope,
        tenantCode: r.tenantCode,
        orderId: r.orderId,
        name: r.name,
        domainName: r.domainName,
        syncedAt: parseKitTimeStamp(r.timeStamp),
        createdAt: now,
        updatedAt: now,
      };
      // §6.1: a modify changes name and domain only; for an unknown tenant it inserts the whole row.
      const fields = r.flag === 2 ? (["name", "domainName"] as const) : (["tenantCode", "orderId", "name", "domainName"] as const);
      return { effects: [kitStatements.upsertTenant(db, row, fields)], message: `success: tenant ${FLAG_WORDS[r.flag]}` };
    }
    case "applicationSync": {
      const r = kit.request;
      const scope = scopeOf(r);
      if (r.flag === 0) return { effects: kitStatements.deleteApplication(db, scope, r.appId), message: "success: application deleted" };
      if (!call.sealedSecret) throw new Error("applicationSync add/modify reached the actor without its sealed secret");
      const row = {
        ...scope,
        appId: r.appId,
        clientId: r.clientId,
        clientSecretSealed: call.sealedSecret.sealed,
        oaepVariant: call.sealedSecret.oaepVariant,
        syncedAt: parseKitTimeStamp(r.timeStamp),
        createdAt: now,
        updatedAt: now,
      };
      return { effects: [kitStatements.upsertApplication(db, row)], message: `success: application ${FLAG_WORDS[r.flag]}` };
    }
    case "authSync": {
      const r = kit.request;
      const scope = scopeOf(r);
      const count = `${r.userList.length} user${r.userList.length === 1 ? "" : "s"}`;
      if (r.flag === 0) {
        const names = r.userList.map((user) => user.userName);
        return { effects: kitStatements.deleteUsers(db, scope, r.appId, names), message: `success: ${count} deleted` };
      }
      const syncedAt = parseKitTimeStamp(r.currentSyncTime, "currentSyncTime");
      // Revoke keeps the user, unauthorized; add and modify (re-)authorize. All three upsert (§9: modify of unknown).
      const authorized = r.flag !== 3;
      const rows = r.userList.map((user) => userRow(scope, r.appId, user, authorized, syncedAt, now));
      return { effects: kitStatements.upsertUsers(db, rows), message: `success: ${count} ${FLAG_WORDS[r.flag]}` };
    }
    case "singleOrgSync": {
      const r = kit.request;
      const scope = scopeOf(r);
      if (r.flag === 0) return { effects: [kitStatements.deleteOrg(db, scope, r.orgCode)], message: "success: department deleted" };
      const row = orgRow(scope, r, call.callKey, parseKitTimeStamp(r.timeStamp), now);
      return { effects: kitStatements.upsertOrgs(db, [row]), message: `success: department ${FLAG_WORDS[r.flag]}` };
    }
    case "allOrgSync": {
      const r = kit.request;
      const scope = scopeOf(r);
      const syncedAt = parseKitTimeStamp(r.timeStamp);
      const rows = r.orgInfoList.map((org) => orgRow(scope, org, call.callKey, syncedAt, now));
      // Upserts first, then removal of every row this sync did not write: the tree is replaced in one transaction.
      return {
        effects: [...kitStatements.upsertOrgs(db, rows), kitStatements.deleteOrgsNotFrom(db, scope, call.callKey)],
        message: `success: ${rows.length} departments in the tree`,
      };
    }
    default: {
      const unhandled: never = kit;
      throw new Error(`unhandled kit sync ${JSON.stringify(unhandled)}`);
    }
  }
}

function scopeOf(request: { instanceId: string; isTest: boolean; tenantId: string }): KitScope {
  return { instanceId: request.instanceId, isTest: request.isTest, tenantId: request.tenantId };
}

function userRow(
  scope: KitScope,
  appId: string,
  user: KitUser,
  authorized: boolean,
  syncedAt: number,
  now: number,
): typeof kitUsers.$inferInsert {
  const profile: KitUserProfile = {
    position: user.position,
    employeeCode: user.employeeCode,
    mobile: user.mobile,
    email: user.email,
    entryDate: user.extension?.entryDate,
    employeeType: user.extension?.employeeType,
    workPlace: user.extension?.workPlace,
  };
  return {
    ...scope,
    appId,
    userName: user.userName,
    name: user.name,
    orgCode: user.orgCode,
    role: user.role,
    enabled: user.enable,
    authorized,
    // Absent fields are left out rather than stored as null.
    profile: JSON.parse(JSON.stringify(profile)) as KitUserProfile,
    syncedAt,
    createdAt: now,
    updatedAt: now,
  };
}

function orgRow(scope: KitScope, org: OrgInfo, syncRef: string, syncedAt: number, now: number): typeof kitOrgs.$inferInsert {
  return {
    ...scope,
    orgCode: org.orgCode,
    orgName: org.orgName,
    parentCode: org.parentCode ?? null,
    syncRef,
    syncedAt,
    createdAt: now,
    updatedAt: now,
  };
}
