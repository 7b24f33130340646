import type { Db } from "../db/client";
import { getDb } from "../db/client";
import type { Instance } from "../db/schema/instances";
import { type Settings, getSettings } from "../env";
import type { Outcome } from "../instances/commands";
import { type AuditHead, findAuditHead, findInstance } from "../instances/instance.repo";
import type { PendingOrderFetch } from "../instances/order-fetch";
import { log } from "../observability/log";
import { type ProblemReport, inBackground, reportProblem } from "../operations/problems";

/**
 * What an instance actor's work runs on: its D1, its own synchronous storage, its queue and its alarm, passed in as a
 * plain object so the lifecycle, licensing and background modules run (and are tested) without the actor class.
 */

/** The part of the Durable Object's synchronous KV storage used here; a Map-backed fake works in tests. */
export interface ActorKv {
  get<T = unknown>(key: string): T | undefined;
  put<T>(key: string, value: T): void;
  delete(key: string): boolean;
}

/** Ids, states and codes only, as in every log line: never a body, key, password or personal field. */
export type LogFacts = Record<string, string | number | boolean | null | undefined>;

/** The Marketplace call being applied (one at a time, inside `serialize`). */
export interface CallInProgress {
  /** Its nonce, admitted and not stored yet: stored with the call's first commit, or when the call ends. */
  nonceKey: string | undefined;
  facts: LogFacts;
}

export interface CachedOutcome {
  outcome: Outcome;
  fingerprint: string;
}

export const KV = {
  instance: "instance",
  auditHead: "auditHead",
  orderFetches: "orderFetches",
  deliveryDueAt: "deliveryDueAt",
  /** The earliest license upload due (the licenses table has the rows). */
  licenseDueAt: "licenseDueAt",
  /** The event stream this actor delivers: its instance, or the tenant a kit actor is named after. */
  stream: "stream",
  /** A call accepted and not yet written to D1 (AcceptedWork): written before anything else this actor does. */
  accepted: "accepted",
  answer: (key: string) => `answer:${key}`,
} as const;

export interface ScopeDeps {
  env: Env;
  kv: ActorKv;
  /** The storage's transactionSync: the instance cache, audit head, answer cache and nonce land together. */
  transactionSync<T>(work: () => T): T;
  waitUntil(promise: Promise<unknown>): void;
  /** The actor's queue: one piece of work at a time, after any accepted call left unwritten. */
  serialize<T>(work: () => Promise<T>): Promise<T>;
  /** Stores an admitted nonce (ReplayGuard.store): called inside the commit's storage transaction. */
  storeNonce(key: string, now: number): void;
  /** Re-arms the alarm for the earliest due duty, not before `notBefore` (alarm-scheduler.ts). */
  armAlarm(notBefore?: number): Promise<void>;
}

export interface InstanceScope extends ScopeDeps {
  readonly db: Db;
  readonly settings: Settings;
  /** Set only while a Marketplace call runs; the alarm's and the seller API's work runs without one. */
  call: CallInProgress | null;
  /** Single-flight loops of this actor (delivery, upload): in memory, as the loops themselves are. */
  flights: { delivering: Promise<void> | null; uploading: Promise<void> | null; uploadAgain: boolean };
}

export function instanceScope(deps: ScopeDeps): InstanceScope {
  return {
    ...deps,
    get db() {
      return getDb(deps.env);
    },
    get settings() {
      return getSettings(deps.env);
    },
    call: null,
    flights: { delivering: null, uploading: null, uploadAgain: false },
  };
}

/** Stores the running call's nonce once (with its first commit, or when it ends). */
export function storeCallNonce(s: InstanceScope): void {
  if (s.call?.nonceKey === undefined) return;
  s.storeNonce(s.call.nonceKey, Date.now());
  s.call.nonceKey = undefined;
}

/** Into the call's request log line when a Marketplace call did it (one line per request); a line of its own otherwise. */
export function note(s: InstanceScope, event: string, fields: LogFacts): void {
  if (s.call) Object.assign(s.call.facts, { actor: event, ...fields });
  else log("info", event, fields);
}

/** Bookkeeping beside the work (problems, their clearing): in the background, never in a call's answer time. */
export function background(s: InstanceScope, work: () => Promise<unknown>): void {
  inBackground((promise) => s.waitUntil(promise), work);
}

export function problem(s: InstanceScope, report: ProblemReport, at: number): void {
  background(s, () => reportProblem(s.env, report, at));
}

/** The instance as this actor last wrote it, or as D1 has it when this actor has no copy yet. */
export async function load(s: InstanceScope, instanceId: string): Promise<Instance | undefined> {
  return s.kv.get<Instance>(KV.instance) ?? reload(s, instanceId);
}

/** As `load`, but an id D1 does not know costs one read and no write (callers may name ids nobody created). */
export async function existing(s: InstanceScope, instanceId: string): Promise<Instance | undefined> {
  const cached = s.kv.get<Instance>(KV.instance);
  if (cached) return cached;
  return (await findInstance(s.db, instanceId)) ? reload(s, instanceId) : undefined;
}

export async function reload(s: InstanceScope, instanceId: string): Promise<Instance | undefined> {
  const [instance, head] = await Promise.all([findInstance(s.db, instanceId), findAuditHead(s.db, instanceId)]);
  if (instance) s.kv.put(KV.instance, instance);
  else s.kv.delete(KV.instance);
  if (head) s.kv.put(KV.auditHead, head);
  else s.kv.delete(KV.auditHead);
  return instance;
}

export function auditHead(s: InstanceScope): AuditHead | undefined {
  return s.kv.get<AuditHead>(KV.auditHead);
}

export function markDeliveryDue(s: InstanceScope, at: number): void {
  const current = s.kv.get<number>(KV.deliveryDueAt);
  if (current === undefined || current > at) s.kv.put(KV.deliveryDueAt, at);
}

export function markLicenseDue(s: InstanceScope, at: number): void {
  const current = s.kv.get<number>(KV.licenseDueAt);
  if (current === undefined || current > at) s.kv.put(KV.licenseDueAt, at);
}

export function schedulePending(s: InstanceScope, item: PendingOrderFetch): void {
  replacePending(s, item, item);
}

/** The pending order fetch of this order line replaced (null: dropped). */
export function replacePending(s: InstanceScope, item: PendingOrderFetch, replacement: PendingOrderFetch | null): void {
  const pending = (s.kv.get<PendingOrderFetch[]>(KV.orderFetches) ?? []).filter((p) => !(p.orderId === item.orderId && p.orderLineId === item.orderLineId));
  if (replacement) pending.push(replacement);
  if (pending.length === 0) s.kv.delete(KV.orderFetches);
  else s.kv.put(KV.orderFetches, pending);
}

export function isD1Error(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? "")}` : String(error);
  return /D1_|SQLITE_CONSTRAINT|UNIQUE constraint|constraint failed/i.test(text);
}
