import { createHash } from "node:crypto";
import { z } from "zod";
import type { License, LicenseType } from "../db/schema/licenses";
import type { UploadContent } from "../marketplace-api/upload.api";

/*
 * A license as the seller's backend issues it (webhook mode): the answer to `license.requested`, or the body of
 * POST /api/v1/licenses/{eventId}. The two shapes are the two of the upload API (marketplace-open-apis §2.2).
 */

/** §2.2: `characters` is String(1024). */
export const MAX_LICENSE_CHARACTERS = 1024;
export const MAX_LICENSE_FILE_NAME = 1024;

const base64 = z
  .string()
  .min(1)
  .regex(/^[A-Za-z0-9+/]+={0,2}$/, "must be base64")
  .refine((value) => value.length % 4 === 0, "must be base64 (padded)");

export const IssuedLicense = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("CHARACTERS").describe("a license string, uploaded as is"),
    content: z.string().min(1).max(MAX_LICENSE_CHARACTERS).describe("the license string (at most 1024 characters)"),
  }),
  z.object({
    type: z.literal("FILE").describe("a license file, uploaded with its name and SHA-256"),
    fileName: z.string().min(1).max(MAX_LICENSE_FILE_NAME),
    content: base64.describe("base64 of the file's bytes"),
  }),
]);
export type IssuedLicense = z.infer<typeof IssuedLicense>;

export interface StoredContent {
  type: LicenseType;
  content: string;
  fileName: string | null;
  contentSha256: string;
}

export function storedContentOf(license: IssuedLicense): StoredContent {
  if (license.type === "CHARACTERS") {
    return { type: "CHARACTERS", content: license.content, fileName: null, contentSha256: createHash("sha256").update(license.content, "utf8").digest("hex") };
  }
  const bytes = Buffer.from(license.content, "base64");
  return { type: "FILE", content: license.content, fileName: license.fileName, contentSha256: createHash("sha256").update(bytes).digest("hex") };
}

/** Whether a seller's repeated submission is the license already stored (then 200, else 409). */
export function sameContent(row: License, license: IssuedLicense): boolean {
  return row.type === license.type && row.content === license.content && row.fileName === (license.type === "FILE" ? license.fileName : null);
}

/** What the upload API gets for a stored license. */
export function uploadContentOf(row: License): UploadContent {
  if (row.type === "FILE") return { type: "FILE", fileName: row.fileName ?? "license", file: new Uint8Array(Buffer.from(row.content ?? "", "base64")) };
  return { type: "CHARACTERS", characters: row.content ?? "" };
}
