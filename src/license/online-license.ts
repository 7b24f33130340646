import { createHash } from "node:crypto";
import { z } from "zod";
import type { License } from "../db/schema/licenses";
import type { Instance } from "../db/schema/instances";
import type { Settings } from "../env";
import type { DeliveryAttempt } from "../events/delivery";
import type { EventDraft } from "../events/outbox";
import { readSellerAnswer } from "../events/seller-answer";
import type { Outcome } from "../instances/commands";
import { ConfigurationError } from "../protocol/errors";
import { ResultCode } from "../protocol/result-codes";
import { signCompactJws } from "./jws";
import { IssuedLicense, MAX_LICENSE_CHARACTERS, type StoredContent, storedContentOf } from "./license-content";
import { importSigningKey } from "./signing-keys";

/** getLicenseAsync as the actor gets it: parsed, times converted, the fingerprint already digested. */
export interface LicenseCommand {
  licenseId: string;
  eventId: string;
  instanceId: string;
  effectiveAt: number;
  expireAt: number | null;
  /** Hex SHA-256 of deviceFingerprint, "" without one. */
  fingerprintSha256: string;
  isTest: boolean;
  receivedAt: number;
  /** `iss` of a builtin license: LICENSE_ISSUER or the origin the Marketplace called. */
  issuer: string;
}

export const fingerprintDigest = (deviceFingerprint: string | undefined): string =>
  deviceFingerprint ? createHash("sha256").update(deviceFingerprint, "utf8").digest("hex") : "";

/** An order's expiry and the license's may differ by rounding (end of day, time zones): this much is tolerated. */
export const VALIDITY_SLACK_MS = 24 * 3600_000;

/** Upload retries (alarm, backoff as webhooks: 30 s doubling to an hour) end after this; then the license has failed. */
export const UPLOAD_WINDOW_MS = 24 * 3600_000;

/**
 * The upload API's answers about the license itself (§2.4 E1): resending the same license cannot change them, so the
 * license fails at once and the seller hears of it. 91381036 "inner error" is the Marketplace's own trouble: retried.
 */
export const FINAL_UPLOAD_CODES: ReadonlySet<string> = new Set(["91381033", "91381034", "91381035", "91381037", "91381038"]);

/** Which products' licenses bind to a device (LICENSE_DEVICE_PRODUCTS): the one place that decides 000903 and 000900. */
export function isDeviceBound(settings: Settings, productId: string | null): boolean {
  const products = settings.license.deviceProducts;
  return products.has("*") || (productId !== null && products.has(productId));
}

/** The refusal of a getLicenseAsync for an instance that does not exist (or no longer does). */
export function noSuchInstance(command: Pick<LicenseCommand, "instanceId">): Outcome {
  return { resultCode: ResultCode.InstanceNotFound, resultMsg: `instance ${command.instanceId} does not exist or has been released` };
}

const debugUntouched = (why: string): Outcome => ({ resultCode: ResultCode.Success, resultMsg: `debug call: ${why}; nothing issued` });

/**
 * Debug and real licenses are separate worlds (docs/license-rules.md rule 1), as debug and real instances are: a
 * debug call (testFlag 1) never issues a license for a real purchase, and is answered 000000 whenever it cannot
 * produce one (an instance never seen, a real one, its own debug instance released or failed), because the
 * Marketplace replays saved debug cases in any order forever (saas-production-interface §8). A real call never
 * gets a license of a debug instance: that is no purchase (000003). Undefined when the call and the instance match.
 */
export function worldRefusal(instance: Instance | undefined, command: Pick<LicenseCommand, "instanceId" | "isTest">): Outcome | undefined {
  const gone = !instance || instance.status === "released" || instance.status === "failed";
  if (command.isTest) {
    if (!instance) return debugUntouched("an instance this gateway never saw");
    if (!instance.isTest) return debugUntouched("a real purchase is not touched");
    return gone ? debugUntouched(`the debug instance is ${instance.status}`) : undefined;
  }
  return gone || instance.isTest ? noSuchInstance(command) : undefined;
}

/**
 * Every refusal of a getLicenseAsync, in the order they are checked; undefined when a license may be produced.
 * Real calls for unknown, released, failed or debug instances answer 000003 ("instance ID does not exist", the SaaS
 * 2.0 table the online License product shares, saas-production-interface §4.1): §3.4 defines no code of its own
 * for them; debug calls that cannot produce a license answer 000000 (worldRefusal).
 */
export function refusalOf(
  instance: Instance | undefined,
  command: LicenseCommand,
  settings: Settings,
  devices: { count: number; known: boolean },
): Outcome | undefined {
  const separate = worldRefusal(instance, command);
  if (separate || !instance) return separate ?? noSuchInstance(command);
  if (instance.status === "provisioning") return { resultCode: ResultCode.Processing, resultMsg: "instance is still being provisioned; retry" };
  if (command.expireAt !== null && command.expireAt <= command.effectiveAt) {
    return { resultCode: ResultCode.InvalidParameter, resultMsg: "expireTime: must be later than effectiveTime" };
  }
  if (command.expireAt === null && (instance.chargingMode === "PERIOD" || instance.periodType !== null)) {
    return { resultCode: ResultCode.LicenseNeedsExpiry, resultMsg: "expireTime: required for a period license" };
  }
  const deviceBound = isDeviceBound(settings, instance.productId);
  if (deviceBound && command.fingerprintSha256 === "") {
    return { resultCode: ResultCode.LicenseNeedsFingerprint, resultMsg: "deviceFingerprint: required for this product" };
  }
  if (instance.status === "frozen") return { resultCode: ResultCode.LicenseOutsideValidity, resultMsg: "the order is frozen (expired or suspended)" };
  if (instance.expireAt !== null) {
    const limit = instance.expireAt + VALIDITY_SLACK_MS;
    if (command.effectiveAt >= instance.expireAt || (command.expireAt !== null && command.expireAt > limit)) {
      return { resultCode: ResultCode.LicenseOutsideValidity, resultMsg: "the requested period lies outside the order's validity" };
    }
  }
  if (deviceBound && !devices.known && instance.quantity !== null && instance.quantity > 0 && devices.count >= instance.quantity) {
    return { resultCode: ResultCode.LicenseQuotaExhausted, resultMsg: `the order's ${instance.quantity} device license(s) are all issued` };
  }
  return undefined;
}

/** The seller-facing view (GET /api/v1/licenses/{eventId}, and every license.* event without `content`). */
export function licenseView(row: License, withContent: boolean) {
  const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
  return {
    eventId: row.eventId,
    instanceId: row.instanceId,
    test: row.isTest,
    state: row.state,
    productId: row.productId,
    skuCode: row.skuCode,
    fingerprintSha256: row.fingerprintSha256 === "" ? null : row.fingerprintSha256,
    effectiveAt: new Date(row.effectiveAt).toISOString(),
    expireAt: iso(row.expireAt),
    issuedBy: row.issuedBy,
    type: row.type,
    fileName: row.fileName,
    contentSha256: row.contentSha256,
    ...(withContent ? { content: row.content } : {}),
    uploadAttempts: row.uploadAttempts,
    lastErrorCode: row.lastErrorCode,
    lastError: row.lastError,
    createdAt: new Date(row.createdAt).toISOString(),
    issuedAt: iso(row.issuedAt),
    deliveredAt: iso(row.deliveredAt),
    failedAt: iso(row.failedAt),
    updatedAt: new Date(row.updatedAt).toISOString(),
  };
}
export type LicenseView = ReturnType<typeof licenseView>;

export function licenseEvent(type: EventDraft["type"], row: License, at: number, extra: Record<string, unknown> = {}): EventDraft {
  return { type, instanceId: row.instanceId, stream: row.instanceId, test: row.isTest, data: { ...licenseView(row, false), ...extra }, at };
}

/** What the Marketplace is answered for a license in this state. */
export function outcomeOf(row: License): Outcome {
  switch (row.state) {
    case "delivered":
      return { resultCode: ResultCode.Success, resultMsg: "success" };
    case "failed":
      if (row.lastErrorCode && /^00090[0-3]$/.test(row.lastErrorCode)) return { resultCode: row.lastErrorCode, resultMsg: (row.lastError ?? "refused").slice(0, 255) };
      return { resultCode: ResultCode.InternalError, resultMsg: `license could not be delivered: ${row.lastErrorCode ?? "error"}`.slice(0, 255) };
    case "requested":
    case "issued":
      return { resultCode: ResultCode.Processing, resultMsg: "license is being produced; retry for the result" };
    default: {
      const unhandled: never = row.state;
      throw new Error(`unknown license state ${String(unhandled)}`);
    }
  }
}

/** A new license row: issued at once (builtin), or requested from the seller's backend (webhook). */
export async function newLicense(
  instance: Instance,
  command: LicenseCommand,
  settings: Settings,
): Promise<{ row: License; events: EventDraft[] }> {
  const now = command.receivedAt;
  const base: License = {
    id: command.licenseId,
    eventId: command.eventId,
    fingerprintSha256: command.fingerprintSha256,
    instanceId: instance.id,
    isTest: command.isTest,
    productId: instance.productId,
    skuCode: instance.skuCode,
    effectiveAt: command.effectiveAt,
    expireAt: command.expireAt,
    state: "requested",
    issuedBy: null,
    type: null,
    content: null,
    fileName: null,
    contentSha256: null,
    uploadAttempts: 0,
    nextUploadAt: null,
    lastErrorCode: null,
    lastError: null,
    issuedAt: null,
    deliveredAt: null,
    failedAt: null,
    createdAt: now,
    updatedAt: now,
  };
  if (settings.license.mode === "webhook") {
    // The event carries the device as fingerprintSha256 only: its body is stored (the feed), and raw fingerprints never are.
    return { row: base, events: [licenseEvent("license.requested", base, now)] };
  }
  const jws = await builtinLicense(instance, command, settings);
  // The upload API takes at most 1024 characters as a string (§2.2); a longer token (a long LICENSE_ISSUER, long ids)
  // travels as a file instead of failing.
  const content: IssuedLicense =
    jws.length <= MAX_LICENSE_CHARACTERS ? { type: "CHARACTERS", content: jws } : { type: "FILE", fileName: "license.jwt", content: Buffer.from(jws).toString("base64") };
  const row = issued(base, storedContentOf(content), "builtin", now);
  return { row, events: issuedEvents(row, now) };
}

async function builtinLicense(instance: Instance, command: LicenseCommand, settings: Settings): Promise<string> {
  const pem = settings.license.signingKey;
  if (!pem) throw new ConfigurationError("LICENSE_SIGNING_KEY", "is required when LICENSE_MODE is builtin");
  const seconds = (ms: number) => Math.floor(ms / 1000);
  return signCompactJws(await importSigningKey(pem), {
    iss: command.issuer,
    sub: instance.id,
    productId: instance.productId,
    skuCode: instance.skuCode,
    iat: seconds(command.receivedAt),
    nbf: seconds(command.effectiveAt),
    ...(command.expireAt === null ? {} : { exp: seconds(command.expireAt) }),
    ...(command.fingerprintSha256 === "" ? {} : { fingerprint: command.fingerprintSha256 }),
    jti: command.eventId,
    // The same key signs both worlds: this claim is what tells the seller's software a debug license is no license.
    ...(instance.isTest ? { test: true as const } : {}),
  });
}

/**
 * The license now has content: a real one is due for upload at once. A debug one is never uploaded (a debug call
 * never leaves the machine, and a refused upload would fail a saved debug case for good): it is delivered as it is
 * issued, with no upload attempt.
 */
export function issued(row: License, content: StoredContent, by: NonNullable<License["issuedBy"]>, now: number): License {
  const next: License = { ...row, ...content, state: "issued", issuedBy: by, issuedAt: now, nextUploadAt: now, updatedAt: now };
  return row.isTest ? { ...next, state: "delivered", nextUploadAt: null, deliveredAt: now } : next;
}

/** The events of a license just issued: license.issued, and license.delivered at once for a debug one. */
export function issuedEvents(row: License, now: number): EventDraft[] {
  const events = [licenseEvent("license.issued", row, now)];
  if (row.state === "delivered") events.push(licenseEvent("license.delivered", row, now));
  return events;
}

/** What the seller backend's answer to `license.requested` decides. */
export type LicenseAnswer =
  | { kind: "issued"; license: IssuedLicense }
  /** 202: the backend issues later with POST /api/v1/licenses/{eventId}. */
  | { kind: "accepted" }
  | { kind: "refused"; resultCode: string; message: string }
  | { kind: "retry"; reason: string };

/** A refusal of license.requested: one of the online-license codes (§3.4), its message cut to the answer's 255. */
const LicenseRefusal = z.object({
  resultCode: z.string().regex(/^00090[0-3]$/),
  message: z.unknown().transform((message) => (typeof message === "string" ? message.slice(0, 255) : "refused by the seller")),
});

export function readLicenseAnswer(attempt: DeliveryAttempt): LicenseAnswer {
  const answer = readSellerAnswer(attempt, IssuedLicense, LicenseRefusal, { done: "a valid license", refusal: "a resultCode 000900–000903" });
  return answer.kind === "done" ? { kind: "issued", license: answer.body } : answer;
}

/** The license failed for good: the Marketplace hears `code` on its next retry, the seller license.delivery_failed. */
export function failed(row: License, code: string, message: string, now: number): License {
  return { ...row, state: "failed", lastErrorCode: code, lastError: message.slice(0, 500), nextUploadAt: null, failedAt: now, updatedAt: now };
}
