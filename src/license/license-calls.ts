import { commitLicense } from "../actor/commit";
import { type InstanceScope, existing } from "../actor/instance-scope";
import type { IssuedLicense } from "./license-content";
import { type LicensePlan, type LicenseWriteResult, licenseFromSeller, planLicenseRequest } from "./license-flow";
import type { LicenseCommand } from "./online-license";

/**
 * getLicenseAsync inside the actor's queue: the stored license of this eventId + fingerprint, or a new one committed
 * (builtin: signed now; webhook: license.requested to the seller's backend).
 */
export async function planLicenseCall(s: InstanceScope, command: LicenseCommand): Promise<LicensePlan> {
  const instance = await existing(s, command.instanceId);
  // An id no purchase ever had, or one of the other world (debug / real), is answered by planLicenseRequest
  // before it reads a license, writing nothing but the nonce.
  const found = await planLicenseRequest(s.db, s.settings, instance, command);
  if (found.kind === "new") await commitLicense(s, found, command.receivedAt, found.row.state === "issued");
  return found;
}

/** POST /api/v1/licenses/{eventId}: the seller's backend issues the license it answered 202 for. */
export async function licenseSubmittedCall(s: InstanceScope, licenseId: string, license: IssuedLicense, now: number): Promise<LicenseWriteResult> {
  const { result, change } = await licenseFromSeller(s.db, licenseId, license, now);
  if (change) {
    await commitLicense(s, change, now, true);
    await s.armAlarm();
  }
  return result;
}
