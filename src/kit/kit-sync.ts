import { type Db, getDb } from "../db/client";
import type { KitUserProfile, kitOrgs, kitUsers } from "../db/schema/kit";
import { getSettings } from "../env";
import { GatewayError, InternalError } from "../protocol/errors";
import { eventRow, outboxStatements } from "../events/outbox";
import { findInboxEntry, statements } from "../instances/instance.repo";
import { ResultCode } from "../protocol/result-codes";
import type {
  AllOrgSync,
  ApplicationSync,
  AuthSync,
  KitRequest,
  KitUser,
  KitVersion,
  OrgInfo,
  SingleOrgSync,
  TenantSync,
} from "../protocol/schemas/kit.schema";
import { parseKitTimeStamp } from "../protocol/time-formats";
import { isSelfCheckData } from "../operations/self-check/marker";
import { type KitScope, type Statement, SyncRank, findSyncFloors, kitStatements } from "./kit.repo";

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
  /**
   * SHA-256 (hex) of the body as received, with the client secret redacted: the inbox fingerprint. Only the digest
   * crosses to the actor; the body, with people's names and contacts, is never stored (kitInboxRecord).
   */
  requestDigest: string;
  receivedAt: number;
}

export interface KitAnswer {
  text: string;
  resultCode: string;
  /** The stream whose `kit.synced` event this sync wrote, when a webhook is to deliver it. */
  eventStream?: string;
}

/** Where a sync is serialised: its instance's actor, or, for the seller's own calls without one, its tenant's. */
export function kitActorName(kit: KitRequest): string {
  return kit.request.instanceId === "" ? `kit-tenant:${kit.request.tenantId}` : kit.request.instanceId;
}

/** What a `kit.synced` event names: which sync touched which tenant, with its flag (allOrgSync has none). */
export interface KitSynced {
  tenantId: string;
  sync: "tenant" | "application" | "users" | "orgs";
  flag: number | null;
}

/**
 * One sync's effect as one list of D1 statements, built in one function per sync (tenantSyncWrites, …,
 * allOrgSyncWrites); applyKitSync adds the inbox record and runs them as one batch. `applied` is false when a later
 * delete of the tenant or app holds the whole sync back: then `statements` is empty.
 */
export interface KitSyncWrites {
  statements: Statement[];
  message: string;
  applied: boolean;
  synced: KitSynced;
}

/**
 * Applies one sync in one D1 batch together with its inbox record, so the record exists exactly when the effect does.
 * Runs inside the actor's queue (InstanceActor.kitSync): syncs for one instance never interleave, which is what makes
 * the read of the delete floors before the batch safe. Idempotency (spec §6, §9): a repeated add meets its row
 * (primary key = natural key) and only refreshes it; a delete of something absent leaves a tombstone and succeeds; a
 * modify of something unknown inserts it. Time order (docs/kit-rules.md): nothing older than what is stored, a
 * delete included, changes a row, so a late add never brings deleted data back.
 */
export async function applyKitSync(env: Env, call: KitSyncCall): Promise<KitAnswer> {
  const db = getDb(env);
  try {
    if (call.answerRepeatsFromRecord) {
      const entry = await findInboxEntry(db, call.callKey);
      if (entry) return { text: entry.answer, resultCode: entry.resultCode };
    }
    const writes = await kitSyncWrites(db, call);
    const resultCode = ResultCode.Success;
    const text = JSON.stringify({ resultCode, resultMsg: writes.message });
    const { request } = call.kit;
    const inbox = statements.insertInbox(db, {
      idempotencyKey: call.callKey,
      // The digest stands in for the body, which is not kept (personal data): enough to tell two bodies apart.
      fingerprint: call.requestDigest,
      interface: `kit-${call.version}`,
      activity: call.kit.name,
      instanceId: request.instanceId === "" ? null : request.instanceId,
      isTest: request.isTest,
      request: JSON.stringify(kitInboxRecord(call.kit)),
      resultCode,
      answer: text,
      receivedAt: call.receivedAt,
    });
    // The seller learns of every applied sync (docs/seller-contract.md kit.synced), in the same batch as the sync itself;
    // a sync held back by a later delete changed nothing and says nothing; the self-check's syncs tell nobody.
    const stream = kitActorName(call.kit);
    const webhook = getSettings(env).sellerWebhook !== undefined;
    const event = writes.applied && !isSelfCheckData(request.isTest, request.tenantId)
      ? eventRow(
          {
            type: "kit.synced",
            instanceId: request.instanceId === "" ? null : request.instanceId,
            stream,
            test: request.isTest,
            data: { ...writes.synced },
            at: call.receivedAt,
          },
          webhook,
        )
      : undefined;
    await db.batch([inbox, ...writes.statements, ...(event ? [outboxStatements.insertEvent(db, event)] : [])]);
    return { text, resultCode, ...(event && webhook ? { eventStream: stream } : {}) };
  } catch (error) {
    throw withoutQueryParameters(error);
  }
}

/**
 * drizzle's DrizzleQueryError puts the bound parameters in its message (user names, mobiles, e-mails of an authSync),
 * and the callback pipeline logs an error's message: only the database's own reason goes on.
 */
function withoutQueryParameters(error: unknown): unknown {
  if (error instanceof GatewayError || !(error instanceof Error)) return error;
  const reason = error.cause instanceof Error ? error.cause.message : error.message.split("\n", 1)[0] ?? "";
  const withoutParams = reason.replace(/params:[\s\S]*$/, "");
  return new InternalError(`kit sync write failed: ${error.name}: ${withoutParams.slice(0, 300)}`);
}

/**
 * What the inbox keeps of a kit sync: identifiers, flags, times and counts, never names, contacts or secrets. A
 * list of what to keep rather than what to drop, so a field the Marketplace adds later stays out by default.
 */
export function kitInboxRecord(kit: KitRequest): Record<string, string | number | null> {
  const r = kit.request;
  const common = { instanceId: r.instanceId, tenantId: r.tenantId, testFlag: r.isTest ? 1 : 0, timeStamp: r.timeStamp };
  switch (kit.name) {
    case "tenantSync":
      return { ...common, orderId: kit.request.orderId, tenantCode: kit.request.tenantCode, flag: kit.request.flag };
    case "applicationSync":
      return { ...common, appId: kit.request.appId, clientId: kit.request.clientId, flag: kit.request.flag };
    case "authSync":
      return {
        ...common,
        appId: kit.request.appId,
        currentSyncTime: kit.request.currentSyncTime,
        flag: kit.request.flag,
        userCount: kit.request.userList.length,
      };
    case "singleOrgSync":
      return { ...common, orgCode: kit.request.orgCode, parentCode: kit.request.parentCode ?? null, flag: kit.request.flag };
    case "allOrgSync":
      return { ...common, orgCount: kit.request.orgInfoList.length };
    default: {
      const unhandled: never = kit;
      throw new Error(`unhandled kit sync ${JSON.stringify(unhandled)}`);
    }
  }
}

const FLAG_WORDS = { 0: "deleted", 1: "added", 2: "modified", 3: "revoked" } as const;

function kitSyncWrites(db: Db, call: KitSyncCall): Promise<KitSyncWrites> {
  const { kit } = call;
  switch (kit.name) {
    case "tenantSync":
      return Promise.resolve(tenantSyncWrites(db, kit.request, call.receivedAt));
    case "applicationSync":
      return applicationSyncWrites(db, kit.request, call.sealedSecret, call.receivedAt);
    case "authSync":
      return authSyncWrites(db, kit.request, call.receivedAt);
    case "singleOrgSync":
      return singleOrgSyncWrites(db, kit.request, call.callKey, call.receivedAt);
    case "allOrgSync":
      return allOrgSyncWrites(db, kit.request, call.callKey, call.receivedAt);
    default: {
      const unhandled: never = kit;
      throw new Error(`unhandled kit sync ${JSON.stringify(unhandled)}`);
    }
  }
}

/**
 * A later delete of the tenant (for users: of the app), or for departments a later full sync, was applied: the sync
 * is older and stays out whole. Its answer is the one it would get if applied: an answer depends on the request
 * only, so a repeat is answered the same bytes whatever arrived in between.
 */
function heldBack(synced: KitSynced, message: string): KitSyncWrites {
  return { statements: [], message, applied: false, synced };
}

/** True when a delete at `floor` is at least as recent as the sync (a tie goes to the delete). */
const isHeldBy = (floor: number | null, syncedAt: number): boolean => floor !== null && floor >= syncedAt;

export function tenantSyncWrites(db: Db, r: TenantSync, now: number): KitSyncWrites {
  const scope = scopeOf(r);
  const syncedAt = parseKitTimeStamp(r.timeStamp);
  const synced: KitSynced = { tenantId: r.tenantId, sync: "tenant", flag: r.flag };
  if (r.flag === 0) {
    return { statements: kitStatements.deleteTenant(db, scope, syncedAt, now), message: "success: tenant deleted", applied: true, synced };
  }
  const row = {
    ...scope,
    tenantCode: r.tenantCode,
    orderId: r.orderId,
    name: r.name,
    domainName: r.domainName,
    syncedAt,
    createdAt: now,
    updatedAt: now,
  };
  // §6.1: a modify changes name and domain only; for an unknown tenant it inserts the whole row.
  const fields = r.flag === 2 ? (["name", "domainName"] as const) : (["tenantCode", "orderId", "name", "domainName"] as const);
  return { statements: [kitStatements.upsertTenant(db, row, fields)], message: `success: tenant ${FLAG_WORDS[r.flag]}`, applied: true, synced };
}

export async function applicationSyncWrites(
  db: Db,
  r: ApplicationSync,
  sealedSecret: KitSyncCall["sealedSecret"],
  now: number,
): Promise<KitSyncWrites> {
  const scope = scopeOf(r);
  const syncedAt = parseKitTimeStamp(r.timeStamp);
  const synced: KitSynced = { tenantId: r.tenantId, sync: "application", flag: r.flag };
  if (r.flag === 0) {
    return {
      statements: kitStatements.deleteApplication(db, scope, r.appId, syncedAt, now),
      message: "success: application deleted",
      applied: true,
      synced,
    };
  }
  if (!sealedSecret) throw new Error("applicationSync add/modify reached the actor without its sealed secret");
  const message = `success: application ${FLAG_WORDS[r.flag]}`;
  const floors = await findSyncFloors(db, scope);
  if (isHeldBy(floors.tenant, syncedAt)) return heldBack(synced, message);
  const row = {
    ...scope,
    appId: r.appId,
    clientId: r.clientId,
    clientSecretSealed: sealedSecret.sealed,
    oaepVariant: sealedSecret.oaepVariant,
    syncedAt,
    createdAt: now,
    updatedAt: now,
  };
  return { statements: [kitStatements.upsertApplication(db, row)], message, applied: true, synced };
}

export async function authSyncWrites(db: Db, r: AuthSync, now: number): Promise<KitSyncWrites> {
  const scope = scopeOf(r);
  const synced: KitSynced = { tenantId: r.tenantId, sync: "users", flag: r.flag };
  const count = `${r.userList.length} user${r.userList.length === 1 ? "" : "s"}`;
  // §6.3: the users' own sync time; the sync's timeStamp is when it was sent.
  const syncedAt = parseKitTimeStamp(r.currentSyncTime, "currentSyncTime");
  if (r.flag === 0) {
    const names = r.userList.map((user) => user.userName);
    return {
      statements: kitStatements.deleteUsers(db, scope, r.appId, names, syncedAt, now),
      message: `success: ${count} deleted`,
      applied: true,
      synced,
    };
  }
  const message = `success: ${count} ${FLAG_WORDS[r.flag]}`;
  const floors = await findSyncFloors(db, scope, { appId: r.appId });
  if (isHeldBy(floors.tenant, syncedAt) || isHeldBy(floors.application, syncedAt)) return heldBack(synced, message);
  // Revoke keeps the user, unauthorized; add and modify (re-)authorize. All three upsert (§9: modify of unknown).
  const revoke = r.flag === 3;
  const rows = r.userList.map((user) => userRow(scope, r.appId, user, !revoke, syncedAt, now));
  return {
    statements: kitStatements.upsertUsers(db, rows, revoke ? SyncRank.revoke : SyncRank.change),
    message,
    applied: true,
    synced,
  };
}

export async function singleOrgSyncWrites(db: Db, r: SingleOrgSync, syncRef: string, now: number): Promise<KitSyncWrites> {
  const scope = scopeOf(r);
  const syncedAt = parseKitTimeStamp(r.timeStamp);
  const synced: KitSynced = { tenantId: r.tenantId, sync: "orgs", flag: r.flag };
  if (r.flag === 0) {
    return {
      statements: [kitStatements.deleteOrg(db, scope, r.orgCode, syncRef, syncedAt, now)],
      message: "success: department deleted",
      applied: true,
      synced,
    };
  }
  const message = `success: department ${FLAG_WORDS[r.flag]}`;
  const floors = await findSyncFloors(db, scope, { orgTree: true });
  if (isHeldBy(floors.tenant, syncedAt) || isHeldBy(floors.orgTree, syncedAt)) return heldBack(synced, message);
  const row = orgRow(scope, r, syncRef, syncedAt, now);
  return { statements: kitStatements.upsertOrgs(db, [row]), message, applied: true, synced };
}

export async function allOrgSyncWrites(db: Db, r: AllOrgSync, syncRef: string, now: number): Promise<KitSyncWrites> {
  const scope = scopeOf(r);
  const syncedAt = parseKitTimeStamp(r.timeStamp);
  const synced: KitSynced = { tenantId: r.tenantId, sync: "orgs", flag: null };
  const message = `success: ${r.orgInfoList.length} departments in the tree`;
  const floors = await findSyncFloors(db, scope, { orgTree: true });
  // An equal time is this very full sync again, or one it cannot be told from: the first one stands.
  if (isHeldBy(floors.tenant, syncedAt) || isHeldBy(floors.orgTree, syncedAt)) return heldBack(synced, message);
  const rows = r.orgInfoList.map((org) => orgRow(scope, org, syncRef, syncedAt, now));
  // Upserts first, then removal of every older row this sync did not write: the tree changes in one transaction.
  return {
    statements: [
      ...kitStatements.upsertOrgs(db, rows),
      kitStatements.deleteOrgsNotFrom(db, scope, syncRef, syncedAt, now),
      kitStatements.recordOrgTree(db, scope, syncedAt, now),
    ],
    message,
    applied: true,
    synced,
  };
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
