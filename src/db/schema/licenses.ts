import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";
import { epochMs, timestamps } from "./common";

/** requested: waiting for the seller's backend (webhook mode); issued: produced, not yet accepted by the upload API. */
export const LICENSE_STATES = ["requested", "issued", "delivered", "failed"] as const;
export type LicenseState = (typeof LICENSE_STATES)[number];

/** The two shapes of the string/file upload API (marketplace-open-apis §2.2). */
export const LICENSE_TYPES = ["CHARACTERS", "FILE"] as const;
export type LicenseType = (typeof LICENSE_TYPES)[number];

/**
 * Online licenses (getLicenseAsync, marketplace-open-apis §3.4): one row per `eventId` + device fingerprint, the
 * pair the Marketplace repeats when it retries, so a repeat meets its row and gets the very license stored here.
 * Written only by the InstanceActor of `instance_id`. The device fingerprint itself is never stored, only its SHA-256.
 */
export const licenses = sqliteTable(
  "licenses",
  {
    id: text("id").primaryKey(),
    eventId: text("event_id").notNull(),
    /** Hex SHA-256 of `deviceFingerprint`; "" when the request carried none. */
    fingerprintSha256: text("fingerprint_sha256").notNull(),
    instanceId: text("instance_id").notNull(),
    isTest: integer("is_test", { mode: "boolean" }).notNull(),
    productId: text("product_id"),
    skuCode: text("sku_code"),
    effectiveAt: epochMs("effective_at").notNull(),
    expireAt: epochMs("expire_at"),
    state: text("state", { enum: LICENSE_STATES }).notNull(),
    /** Who produced the content: the gateway (`builtin`), the backend's answer (`webhook`) or its POST (`seller-api`). */
    issuedBy: text("issued_by", { enum: ["builtin", "webhook", "seller-api"] }),
    type: text("type", { enum: LICENSE_TYPES }),
    /** CHARACTERS: the string (a compact JWS in builtin mode); FILE: base64 of the file. */
    content: text("content"),
    fileName: text("file_name"),
    /** Hex SHA-256 of the bytes uploaded: the file, or the UTF-8 string. */
    contentSha256: text("content_sha256"),
    uploadAttempts: integer("upload_attempts").notNull().default(0),
    nextUploadAt: epochMs("next_upload_at"),
    /** The upload API's code (91381033–91381038, CBC.…) or the Marketplace result code a refusal answers. */
    lastErrorCode: text("last_error_code"),
    lastError: text("last_error"),
    issuedAt: epochMs("issued_at"),
    deliveredAt: epochMs("delivered_at"),
    failedAt: epochMs("failed_at"),
    ...timestamps,
  },
  (t) => [
    uniqueIndex("licenses_event_fingerprint_uq").on(t.eventId, t.fingerprintSha256),
    // The actor's alarm: this instance's licenses due for an upload.
    index("licenses_instance_state_idx").on(t.instanceId, t.state, t.nextUploadAt),
    // The webhook sweep: uploads whose actor's alarm was lost, over all instances.
    index("licenses_upload_due_idx").on(t.state, t.nextUploadAt),
    // Device quota: how many devices of this instance hold a license.
    index("licenses_instance_fingerprint_idx").on(t.instanceId, t.fingerprintSha256),
  ],
);

export type License = typeof licenses.$inferSelect;
export type NewLicense = typeof licenses.$inferInsert;
