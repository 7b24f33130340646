import { getInstanceActor } from "../actor/instance.actor";
import { type CallAnswer, withinBudget } from "../dialects/actor-call";
import { answerContext, answerText } from "../dialects/answers";
import type { Settings } from "../env";
import type { Outcome } from "../instances/commands";
import { ConfigurationError, ReplayError } from "../protocol/errors";
import { ResultCode } from "../protocol/result-codes";
import type { GetLicenseAsync } from "../protocol/schemas/license.schema";
import { parseOnlineLicenseTime } from "../protocol/time-formats";
import type { SignedNonce } from "../protocol/v2-signature";
import { licenseIdOf } from "./license.repo";
import { type LicenseCommand, fingerprintDigest } from "./online-license";

/** What a getLicenseAsync handler needs besides the parsed request, whichever route (/saas or /license) it came by. */
export interface LicenseCall {
  request: GetLicenseAsync;
  receivedAt: number;
  /** The origin the Marketplace called: `iss` of builtin licenses unless LICENSE_ISSUER is set. */
  origin: string;
  /**
   * On /saas the instance's actor keeps the call's nonce (every V2 basic call reaches one); on /license the endpoint
   * already checked it in D1, so there is none here.
   */
  nonce?: SignedNonce;
}

/**
 * getLicenseAsync (marketplace-open-apis §3.4): the instance's actor produces (or finds) the license and uploads
 * it; 000000 when it is delivered within the answer budget, 000004 while it is not (the actor's alarm finishes it).
 */
export async function handleGetLicenseAsync(env: Env, settings: Settings, call: LicenseCall): Promise<CallAnswer> {
  const { request } = call;
  if (settings.license.mode === "builtin" && !settings.license.signingKey) {
    throw new ConfigurationError("LICENSE_SIGNING_KEY", "is required when LICENSE_MODE is builtin");
  }
  const fingerprintSha256 = fingerprintDigest(request.deviceFingerprint);
  const command: LicenseCommand = {
    licenseId: await licenseIdOf(request.eventId, fingerprintSha256),
    eventId: request.eventId,
    instanceId: request.instanceId,
    effectiveAt: parseOnlineLicenseTime(request.effectiveTime, "effectiveTime"),
    expireAt: request.expireTime === undefined ? null : parseOnlineLicenseTime(request.expireTime, "expireTime"),
    fingerprintSha256,
    isTest: request.isTest,
    receivedAt: call.receivedAt,
    issuer: settings.license.issuer ?? call.origin,
  };
  // One actor call: it keeps the nonce (on /saas), reads its instance and answers an unknown one without a write.
  const outcome = await withinBudget<Outcome>(getInstanceActor(env, request.instanceId).getLicense(command, call.nonce), () => ({
    resultCode: ResultCode.Processing,
    resultMsg: "license is being produced; retry for the result",
  }));
  if (outcome.replay) throw new ReplayError();
  return { text: answerText(answerContext(settings, "v2"), outcome), resultCode: outcome.resultCode };
}
