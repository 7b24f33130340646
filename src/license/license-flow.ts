import type { BatchItem } from "drizzle-orm/batch";
import type { Db } from "../db/client";
import type { EventRow } from "../db/schema/events";
import type { Instance } from "../db/schema/instances";
import type { License } from "../db/schema/licenses";
import type { Settings } from "../env";
import { type DeliveryAttempt, DELIVERY_WINDOW_MS, retryDelayMs } from "../events/delivery";
import { type EventDraft, outboxStatements } from "../events/outbox";
import type { Outcome } from "../instances/commands";
import { ResultCode } from "../protocol/result-codes";
import { type IssuedLicense, sameContent, storedContentOf } from "./license-content";
import { devicesOf, findLicense, findLicenseById, licenseStatements } from "./license.repo";
import { type UploadResult, afterUpload } from "./license-upload";
import {
  type LicenseCommand,
  failed,
  isDeviceBound,
  issued,
  issuedEvents,
  licenseEvent,
  newLicense,
  noSuchInstance,
  readLicenseAnswer,
  refusalOf,
  worldRefusal,
} from "./online-license";

/*
 * The decisions of the online-license flow as D1 statements and event drafts: the InstanceActor runs them one at a
 * time per instance and commits each as one batch (the change and the events that report it).
 */

type Statement = BatchItem<"sqlite">;

export interface LicenseChange {
  statements: Statement[];
  events: EventDraft[];
}

export type LicensePlan =
  | { kind: "answer"; outcome: Outcome }
  /** A repeat: the stored license, never produced again. */
  | { kind: "existing"; row: License }
  | ({ kind: "new"; row: License } & LicenseChange);

/** A getLicenseAsync: its stored license, a refusal, or a new license (issued or requested) to commit. */
export async function planLicenseRequest(db: Db, settings: Settings, instance: Instance | undefined, command: LicenseCommand): Promise<LicensePlan> {
  // Before the stored licenses are read: a call of the other world must not even find one (a repeat of a real
  // eventId flagged debug, say). Released and failed instances are checked after it, so a repeat still gets its license.
  if (!instance || instance.isTest !== command.isTest) return { kind: "answer", outcome: worldRefusal(instance, command) ?? noSuchInstance(command) };
  const existing = await findLicense(db, command.eventId, command.fingerprintSha256);
  if (existing) {
    if (existing.instanceId !== command.instanceId) {
      return { kind: "answer", outcome: { resultCode: ResultCode.InvalidParameter, resultMsg: "eventId: already used for another instance" } };
    }
    return { kind: "existing", row: existing };
  }
  const devices =
    command.fingerprintSha256 !== "" && isDeviceBound(settings, instance.productId)
      ? await devicesOf(db, instance.id, command.fingerprintSha256)
      : { count: 0, known: false };
  const refusal = refusalOf(instance, command, settings, devices);
  if (refusal) return { kind: "answer", outcome: refusal };
  const { row, events } = await newLicense(instance, command, settings);
  return { kind: "new", row, events, statements: [licenseStatements.insert(db, row)] };
}

/** The columns that differ, so an update sets only those. */
function changesOf(before: License, after: License): Partial<License> {
  const changes: Partial<Record<keyof License, unknown>> = {};
  for (const name of Object.keys(after) as (keyof License)[]) {
    if (before[name] !== after[name]) changes[name] = after[name];
  }
  return changes as Partial<License>;
}

function transition(db: Db, before: License, after: License, events: EventDraft[], extra: Statement[] = []): LicenseChange {
  return { statements: [licenseStatements.update(db, before.id, before.state, changesOf(before, after)), ...extra], events };
}

/** One upload attempt's result, committed with license.delivered / license.delivery_failed when it decides. */
export function uploadChange(db: Db, row: License, result: UploadResult, now: number): { change: LicenseChange; next: License } {
  const { next, event } = afterUpload(row, result, now);
  return { next, change: transition(db, row, next, event ? [licenseEvent(event, next, now)] : []) };
}

/** What one delivery of `license.requested` means: the backend's license, a refusal, 202, or a retry. */
export interface LicenseDeliveryOutcome extends LicenseChange {
  /** The outbox row is retried at this time (the actor's delivery alarm). */
  retryAt?: number;
  /** A license was issued: due for upload now. */
  issued: boolean;
}

export async function licenseRequestDelivered(db: Db, event: EventRow, attempt: DeliveryAttempt, now: number): Promise<LicenseDeliveryOutcome> {
  const data = (JSON.parse(event.body) as { data?: { eventId?: unknown; fingerprintSha256?: unknown } }).data ?? {};
  const row = typeof data.eventId === "string" ? await findLicense(db, data.eventId, typeof data.fingerprintSha256 === "string" ? data.fingerprintSha256 : "") : undefined;
  const answer = readLicenseAnswer(attempt);
  const status = attempt.kind === "answered" ? attempt.status : null;
  const delivered = outboxStatements.markDelivered(db, event.seq, status ?? 0, now);
  // The license was issued meanwhile (POST /api/v1/licenses) or has failed: this answer no longer decides anything.
  if (!row || row.state !== "requested") return { statements: [delivered], events: [], issued: false };
  switch (answer.kind) {
    case "issued": {
      const next = issued(row, storedContentOf(answer.license), "webhook", now);
      return { ...transition(db, row, next, issuedEvents(next, now), [delivered]), issued: next.state === "issued" };
    }
    case "accepted":
      return { statements: [delivered], events: [], issued: false };
    case "refused": {
      const next = failed(row, answer.resultCode, answer.message, now);
      return { ...transition(db, row, next, [licenseEvent("license.delivery_failed", next, now)], [delivered]), issued: false };
    }
    case "retry": {
      const attempts = event.attempts + 1;
      const deadline = event.deliverBy ?? event.createdAt + DELIVERY_WINDOW_MS;
      if (now >= deadline) {
        const next = failed(row, "SELLER_NO_LICENSE", `the seller's backend issued no license: ${answer.reason}`, now);
        const markFailed = outboxStatements.markFailed(db, event.seq, { attempts, status, error: answer.reason.slice(0, 500) }, now);
        return { ...transition(db, row, next, [licenseEvent("license.delivery_failed", next, now)], [markFailed]), issued: false };
      }
      const retryAt = now + retryDelayMs(attempts);
      return {
        statements: [outboxStatements.markRetry(db, event.seq, { attempts, nextAttemptAt: retryAt, status, error: answer.reason.slice(0, 500) }, now)],
        events: [],
        retryAt,
        issued: false,
      };
    }
    default: {
      const unhandled: never = answer;
      throw new Error(`unhandled license answer ${JSON.stringify(unhandled)}`);
    }
  }
}

export type LicenseWriteResult = { status: 200; row: License } | { status: 404 | 409; error: string };

/** POST /api/v1/licenses/{eventId}: the seller's backend issues a license it answered 202 for. */
export async function licenseFromSeller(
  db: Db,
  licenseId: string,
  license: IssuedLicense,
  now: number,
): Promise<{ result: LicenseWriteResult; change?: LicenseChange }> {
  const row = await findLicenseById(db, licenseId);
  if (!row) return { result: { status: 404, error: "no such license request" } };
  if (row.state === "requested") {
    const next = issued(row, storedContentOf(license), "seller-api", now);
    return { result: { status: 200, row: next }, change: transition(db, row, next, issuedEvents(next, now)) };
  }
  if (row.type !== null && sameContent(row, license)) return { result: { status: 200, row } };
  return { result: { status: 409, error: row.state === "failed" && row.type === null ? "the license request has failed" : "a different license was already issued for this request" } };
}
