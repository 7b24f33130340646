import type { License } from "../db/schema/licenses";
import type { EventType } from "../db/schema/events";
import type { Settings } from "../env";
import { retryDelayMs } from "../events/delivery";
import { MarketplaceApiError } from "../marketplace-api/errors";
import { uploadToEvent } from "../marketplace-api/upload.api";
import { uploadContentOf } from "./license-content";
import { FINAL_UPLOAD_CODES, UPLOAD_WINDOW_MS, failed } from "./online-license";

export type UploadResult = { ok: true } | { ok: false; code: string; message: string; retryable: boolean };

/** One upload of a stored license to its event (§2.2); never throws. */
export async function uploadLicense(settings: Settings, row: License, now: number, timeoutMs?: number): Promise<UploadResult> {
  try {
    await uploadToEvent(settings.marketplace, row.eventId, uploadContentOf(row), new Date(now), timeoutMs === undefined ? {} : { timeoutMs });
    return { ok: true };
  } catch (error) {
    if (error instanceof MarketplaceApiError) {
      return { ok: false, code: error.code, message: error.message, retryable: error.retryable && !FINAL_UPLOAD_CODES.has(error.code) };
    }
    // RangeError: content the upload API cannot take (too long, bad file name); resending cannot fix it.
    return { ok: false, code: "INVALID_CONTENT", message: error instanceof Error ? error.message : String(error), retryable: false };
  }
}

/** The license after one upload attempt, and the event that reports it (none for a retry). */
export function afterUpload(row: License, result: UploadResult, now: number): { next: License; event: EventType | null } {
  const uploadAttempts = row.uploadAttempts + 1;
  if (result.ok) {
    return {
      next: { ...row, state: "delivered", uploadAttempts, nextUploadAt: null, deliveredAt: now, updatedAt: now },
      event: "license.delivered",
    };
  }
  const counted = { ...row, uploadAttempts };
  const outOfTime = now - (row.issuedAt ?? row.createdAt) >= UPLOAD_WINDOW_MS;
  if (!result.retryable || outOfTime) {
    const why = result.retryable ? `gave up after ${uploadAttempts} attempts: ${result.message}` : result.message;
    return { next: failed(counted, result.code, why, now), event: "license.delivery_failed" };
  }
  return {
    next: { ...counted, lastErrorCode: result.code, lastError: result.message.slice(0, 500), nextUploadAt: now + retryDelayMs(uploadAttempts), updatedAt: now },
    event: null,
  };
}
