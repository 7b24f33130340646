import { z } from "zod";
import type { LicenseCodeView } from "../license-codes/license-code";
import { MAX_SOFTWARE_USAGE_ENTRIES } from "../marketplace-api/license.api";
import type { SameType } from "./common.schema";

export const LicenseCodeParams = z.strictObject({
  code: z.string().min(1).max(64).describe("the license code (授权码) the buyer entered in your software"),
});

const Time = z.string().nullable().describe("RFC 3339 UTC, null when not known");

export const LicenseCode = z
  .object({
    code: z.string(),
    test: z.boolean(),
    status: z.enum(["active", "frozen", "released"]).describe("as the Marketplace's callbacks left it"),
    productId: z.string().nullable(),
    orderId: z.string().nullable(),
    orderLineId: z.string().nullable(),
    expireAt: Time,
    lastRefreshScene: z.string().nullable().describe("RENEWAL or UNSUBSCRIBE_RENEWAL_PERIOD: the last refreshLicenseCode applied"),
    frozenAt: Time,
    dataRetainedUntil: Time.describe("frozen codes: keep the buyer's data until then (15-day freeze period)"),
    releasedAt: Time,
    activatedAt: Time,
    marketplaceStatus: z.string().nullable().describe("ALIVE, EXPIRED or RELEASED, as the last activate or heartbeat said"),
    amount: z.number().int().nullable(),
    lastHeartbeatAt: Time.describe("the last heartbeat the Marketplace confirmed"),
    createdAt: z.string(),
    updatedAt: z.string(),
    version: z.number().int(),
  })
  .meta({ id: "LicenseCode" });
const _licenseCodeMatches: SameType<z.output<typeof LicenseCode>, LicenseCodeView> = true;

export const LicenseCodeAnswer = z
  .object({
    source: z.enum(["marketplace", "cache"]).describe("cache: the Marketplace did not answer; this is the record of the last good heartbeat (within 24 h)"),
    license: LicenseCode,
    marketplaceError: z.string().optional().describe("cache only: why the Marketplace could not be asked"),
  })
  .meta({ id: "LicenseCodeAnswer" });

export const ActivateBody = z
  .strictObject({
    realEffectTime: z.iso.datetime({ offset: true }).optional().describe("when the service starts (not before the order time); default: now"),
  })
  .meta({ id: "LicenseActivate" });

export const HeartbeatBody = z
  .strictObject({
    thirdPartyAccount: z.string().max(128).optional(),
    ip: z.string().max(64).optional(),
  })
  .meta({ id: "LicenseHeartbeat", description: "heartbeatInfo, which the Marketplace is retiring: send {} unless you need it" });

export const SoftwareUsageBody = z
  .strictObject({
    entries: z
      .array(
        z.union([
          z.strictObject({ id: z.string().min(1).max(128).describe("a software instance id") }),
          z.strictObject({ activeNum: z.number().int().min(0).describe("active users or devices") }),
        ]),
      )
      .min(1)
      .max(MAX_SOFTWARE_USAGE_ENTRIES),
  })
  .meta({ id: "LicenseSoftwareUsage" });

export const Queued = z.object({ queued: z.number().int().describe("queue entry id; sent by the licenseUsageReport job within minutes") }).meta({ id: "LicenseUsageQueued" });

export const MarketplaceRefusal = z
  .object({ error: z.string(), code: z.string().describe("the Marketplace's error code, e.g. 92020005") })
  .meta({ id: "MarketplaceRefusal" });

export const ClientTokenRequest = z.strictObject({ productId: z.string().min(1).max(64).describe("the product whose codes the token may use") });
export const ClientToken = z
  .object({ token: z.string(), productId: z.string(), generation: z.number().int() })
  .meta({ id: "LicenseClientToken" });
