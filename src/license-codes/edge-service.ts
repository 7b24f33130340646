import { getLicenseCodeActor } from "../actor/license-code.actor";
import { type RateRefusal, admitClient, admitCode } from "../actor/rate-limiter.actor";
import { getDb } from "../db/client";
import type { LicenseCodeRow } from "../db/schema/license-codes";
import type { Settings } from "../env";
import { MarketplaceApiError } from "../marketplace-api/errors";
import { type ActivatedLicense, type LicenseHeartbeat, activateLicense, licenseHeartbeat } from "../marketplace-api/license.api";
import { log } from "../observability/log";
import type { Caller } from "../seller-api/seller-auth";
import { type LicenseCodeView, licenseCodeView } from "./license-code";
import { findLicenseCode } from "./license-code.repo";
import type { LimitedAction } from "./rate-limits";

/*
 * The edge license service (marketplace-open-apis §2.4): the seller's installed software activates its code and
 * sends its daily heartbeat here, and the gateway calls the Marketplace with AK/SK, which never ships in the software.
 */

/** A heartbeat is answered from the record while the Marketplace is down, if the last good one is this recent. */
export const HEARTBEAT_GRACE_MS = 24 * 3600_000;
/** The software waits on this call: shorter than the client's default, so an outage is answered from the record quickly. */
export const EDGE_CALL_TIMEOUT_MS = 5_000;

export type EdgeAnswer =
  | { status: 200; body: { source: "marketplace" | "cache"; license: LicenseCodeView; marketplaceError?: string } }
  | { status: 400 | 404 | 409 | 503; body: { error: string; code?: string } }
  | { status: 429; body: { error: string }; retryAfterSeconds: number };

/**
 * One answer for a code of another product and a code the gateway has never seen, so that a token, which any buyer
 * holds, cannot probe which codes exist.
 */
export const notKnownForProduct = (code: string): string =>
  `license code ${code} is not known for this product (a code the gateway has not seen is activated first by your backend, with SELLER_API_TOKEN)`;
const notFound = (code: string): EdgeAnswer => ({ status: 404, body: { error: notKnownForProduct(code) } });

const tooMany = (refusal: RateRefusal): EdgeAnswer => ({ status: 429, body: { error: refusal.error }, retryAfterSeconds: refusal.retryAfterSeconds });

/**
 * Whether this call may spend the seller's open-API quota (docs/license-rules.md rule 4): the token's share first
 * (before the code is looked up), then the scope (a code of the caller's product), then the code's share. A refused
 * call changes nothing but these counters.
 */
export async function admit(env: Env, caller: Caller, code: string, action: LimitedAction, now: number): Promise<{ refused: EdgeAnswer } | { record: LicenseCodeRow | undefined }> {
  const clientLimited = await admitClient(env, caller, now);
  if (clientLimited) return { refused: tooMany(clientLimited) };
  const record = await findLicenseCode(getDb(env), code);
  if (outOfScope(caller, record)) return { refused: notFound(code) };
  const codeLimited = await admitCode(env, code, action, now);
  return codeLimited ? { refused: tooMany(codeLimited) } : { record };
}

/** §2.4 L4 codes the software can act on, passed on with the code; anything else is the operator's to fix. */
function refusal(error: MarketplaceApiError): EdgeAnswer {
  switch (error.code) {
    case "92020002":
      return { status: 400, body: { error: "the Marketplace refused the request as invalid", code: error.code } };
    case "92020004":
      return { status: 409, body: { error: "the buyer has not received this license code yet, so it cannot be activated", code: error.code } };
    case "92020005":
      return { status: 404, body: { error: "the Marketplace does not know this license code", code: error.code } };
    default:
      // 92020001 with 403, APIGW.* auth errors: the gateway's AK/SK or settings, not the software's request.
      return { status: 503, body: { error: "the Marketplace refused the gateway's credentials; the operator must check MARKETPLACE_AK/SK", code: error.code } };
  }
}

function isOutage(error: unknown): boolean {
  return !(error instanceof MarketplaceApiError) || error.retryable;
}

const codeOf = (error: unknown) => (error instanceof MarketplaceApiError ? error.code : "NETWORK");

/**
 * A license client may touch only codes recorded for its product (docs/license-rules.md rule 2). The Marketplace names
 * a code's product only in activate's answer, which is already the write, and no documented read says it before; so a
 * code the gateway has not seen, or has seen without its product, is out of every client's scope until the seller's
 * backend activates it (or a callback names its product).
 */
export function outOfScope(caller: Caller, record: LicenseCodeRow | undefined): boolean {
  return caller.kind === "license-client" && (record?.productId ?? null) !== caller.productId;
}

async function noteFailure(env: Env, code: string, api: string, error: unknown, now: number): Promise<void> {
  const message = error instanceof Error ? error.message : String(error);
  log("warn", "license_code.call_failed", { api, code: codeOf(error), retryable: isOutage(error) });
  await getLicenseCodeActor(env, code).callFailed(code, message, now);
}

export async function activateCode(env: Env, settings: Settings, caller: Caller, code: string, realEffectTime: number | undefined, now: number): Promise<EdgeAnswer> {
  // Before the Marketplace is called: no write on a code the caller cannot be shown to own.
  const admitted = await admit(env, caller, code, "activate", now);
  if ("refused" in admitted) return admitted.refused;
  let result: ActivatedLicense;
  try {
    result = await activateLicense(settings.marketplace, { license: code, realEffectTime }, new Date(now), { timeoutMs: EDGE_CALL_TIMEOUT_MS });
  } catch (error) {
    await noteFailure(env, code, "activate", error, now);
    if (isOutage(error)) return { status: 503, body: { error: "the Marketplace is unavailable; try the activation again later", code: codeOf(error) } };
    return refusal(error as MarketplaceApiError);
  }
  const facts = { productId: result.productId, orderId: result.orderId, expireAt: result.expireAt, status: result.status, amount: result.amount };
  const license = await getLicenseCodeActor(env, code).activated(code, facts, now);
  if (caller.kind === "license-client" && license.productId !== caller.productId) {
    // The Marketplace now names another product than the one recorded: the record follows it, the client is refused.
    log("warn", "license_code.client_out_of_scope", { productId: caller.productId });
    return notFound(code);
  }
  return { status: 200, body: { source: "marketplace", license } };
}

export async function heartbeatCode(
  env: Env,
  settings: Settings,
  caller: Caller,
  code: string,
  heartbeatInfo: { thirdPartyAccount?: string; ip?: string } | undefined,
  now: number,
): Promise<EdgeAnswer> {
  const admitted = await admit(env, caller, code, "heartbeat", now);
  if ("refused" in admitted) return admitted.refused;
  const { record } = admitted;
  let result: LicenseHeartbeat;
  try {
    result = await licenseHeartbeat(settings.marketplace, { license: code, heartbeatInfo }, new Date(now), { timeoutMs: EDGE_CALL_TIMEOUT_MS });
  } catch (error) {
    await noteFailure(env, code, "heartbeat", error, now);
    if (!isOutage(error)) return refusal(error as MarketplaceApiError);
    const last = record?.lastHeartbeatAt ?? null;
    if (record && last !== null && now - last <= HEARTBEAT_GRACE_MS) {
      return { status: 200, body: { source: "cache", license: licenseCodeView(record), marketplaceError: codeOf(error) } };
    }
    return { status: 503, body: { error: "the Marketplace is unavailable and this code has no confirmed heartbeat within 24 hours", code: codeOf(error) } };
  }
  const license = await getLicenseCodeActor(env, code).heartbeat(code, { status: result.status, activateAt: result.activateAt, expireAt: result.expireAt }, now);
  return { status: 200, body: { source: "marketplace", license } };
}

export async function readCode(env: Env, caller: Caller, code: string): Promise<LicenseCodeView | undefined> {
  const record = await findLicenseCode(getDb(env), code);
  if (!record || outOfScope(caller, record)) return undefined;
  return licenseCodeView(record);
}
