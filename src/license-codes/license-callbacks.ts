import { getLicenseCodeActor } from "../actor/license-code.actor";
import type { LicenseCodeCallback } from "./license-code";

/** What a license-callback handler needs of the verified call (src/routes/marketplace-endpoint.ts VerifiedCall). */
export interface LicenseCallContext {
  recordedRequest: () => string;
  receivedAt: number;
}

/**
 * refreshLicenseCode, updateLicenseCodeStatus and releaseLicenseCode (§3.3): applied by the code's actor, answered
 * `{resultCode, resultMsg}` (000000 for a repeat, which changes nothing).
 */
export async function handleLicenseCodeCallback(env: Env, call: LicenseCodeCallback, context: LicenseCallContext): Promise<{ text: string; resultCode: string }> {
  const outcome = await getLicenseCodeActor(env, call.license).callback(call, { receivedAt: context.receivedAt, requestText: context.recordedRequest() });
  return { text: JSON.stringify(outcome), resultCode: outcome.resultCode };
}
