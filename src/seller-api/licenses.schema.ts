import { z } from "zod";
import { LICENSE_STATES, LICENSE_TYPES } from "../db/schema/licenses";
import { MAX_LICENSE_CHARACTERS, MAX_LICENSE_FILE_NAME } from "../license/license-content";
import type { LicenseView } from "../license/online-license";
import type { SameType } from "./common.schema";

const isoTime = z.iso.datetime({ offset: false });
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, "must be 64 lowercase hex digits");

export const LicenseEventParams = z.strictObject({
  eventId: z.string().min(1).max(64).describe("the eventId of the Marketplace's getLicenseAsync"),
});

export const LicenseQuery = z.strictObject({
  fingerprintSha256: sha256Hex.optional().describe("which device's license when the event has several; default the newest"),
});

const fingerprintChoice = sha256Hex.optional().describe("the license request's fingerprintSha256 (from license.requested) when the event has several");

/** The license your backend issues for a license.requested it answered 202 (the same shapes as that answer). */
export const LicenseSubmission = z
  .discriminatedUnion("type", [
    z.strictObject({
      type: z.literal("CHARACTERS"),
      content: z.string().min(1).max(MAX_LICENSE_CHARACTERS).describe("the license string"),
      fingerprintSha256: fingerprintChoice,
    }),
    z.strictObject({
      type: z.literal("FILE"),
      fileName: z.string().min(1).max(MAX_LICENSE_FILE_NAME),
      content: z
        .string()
        .min(1)
        .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64")
        .refine((value) => value.length % 4 === 0, "must be base64 (padded)")
        .describe("base64 of the license file"),
      fingerprintSha256: fingerprintChoice,
    }),
  ])
  .meta({ id: "LicenseSubmission" });

/** GET /api/v1/licenses/{eventId}: where the license is, never the device fingerprint itself. */
export const LicenseState = z
  .object({
    eventId: z.string(),
    instanceId: z.string(),
    test: z.boolean(),
    state: z.enum(LICENSE_STATES).describe("requested (waiting for your backend), issued (uploading), delivered, failed"),
    productId: z.string().nullable(),
    skuCode: z.string().nullable(),
    fingerprintSha256: z.string().nullable().describe("hex SHA-256 of the device fingerprint; null without one"),
    effectiveAt: isoTime,
    expireAt: isoTime.nullable(),
    issuedBy: z.enum(["builtin", "webhook", "seller-api"]).nullable(),
    type: z.enum(LICENSE_TYPES).nullable(),
    fileName: z.string().nullable(),
    contentSha256: z.string().nullable(),
    content: z.string().nullable().optional().describe("the license as issued (FILE: base64)"),
    uploadAttempts: z.number().int(),
    lastErrorCode: z.string().nullable().describe("the upload API's code (91381033–91381038, CBC.…) or the refusal's result code"),
    lastError: z.string().nullable(),
    createdAt: isoTime,
    issuedAt: isoTime.nullable(),
    deliveredAt: isoTime.nullable(),
    failedAt: isoTime.nullable(),
    updatedAt: isoTime,
  })
  .meta({ id: "LicenseState" });
const _licenseMatches: SameType<Omit<z.output<typeof LicenseState>, "content">, Omit<LicenseView, "content">> = true;
