import { z } from "zod";
import { type EventErrorCode, type IngestResult, MAX_EVENTS_PER_BATCH } from "../billing/usage-ingest";
import type { SameType } from "./common.schema";

/*
 * POST /api/v1/usage is validated by src/billing/usage-ingest.ts itself, one event at a time (a bad event is
 * rejected with a reason while the good ones in the same batch are stored), so these schemas describe that contract
 * rather than gate the request; test/seller-api/openapi.test.ts runs the same samples through both to keep them equal.
 */

export const UsageEvent = z
  .object({
    eventId: z.string().regex(/^[A-Za-z0-9._:@-]{1,128}$/).describe("your idempotency key: a resend with the same id is a duplicate, never billed twice"),
    instanceId: z.string().min(1).max(64).describe("a pay-per-use instance that is provisioning or active"),
    quantity: z
      .union([z.number().positive(), z.string().regex(/^(0|[1-9]\d{0,7})(\.\d{1,4})?$/)])
      .describe("greater than 0, at most 99999999.9999 and 4 decimals; a JSON number or a decimal string"),
    time: z
      .union([z.number().int().min(1_000_000_000_000), z.iso.datetime({ offset: true })])
      .describe("when it was used: Unix milliseconds or RFC 3339; not in the future, and within the push window of its hour"),
  })
  .meta({ id: "UsageEvent" });

export const UsageBatch = z
  .object({ events: z.array(UsageEvent).min(1).max(MAX_EVENTS_PER_BATCH) })
  .meta({ id: "UsageBatch", description: `1 to ${MAX_EVENTS_PER_BATCH} events; more is answered 413` });

export const UsageResult = z
  .object({
    accepted: z.array(z.string()).describe("event ids stored now"),
    duplicates: z.array(z.string()).describe("event ids stored before with the same content"),
    rejected: z.array(
      z.object({
        index: z.number().int().describe("position in the request"),
        eventId: z.string().nullable(),
        code: z.enum([
          "invalid_event",
          "invalid_event_id",
          "invalid_instance_id",
          "invalid_quantity",
          "invalid_time",
          "time_in_future",
          "time_too_old",
          "before_instance_start",
          "unknown_instance",
          "instance_released",
          "instance_frozen",
          "instance_failed",
          "not_pay_per_use",
          "debug_instance",
          "event_id_conflict",
        ] satisfies EventErrorCode[]),
        error: z.string(),
      }),
    ),
  })
  .meta({ id: "UsageResult" });
const _usageResultMatches: SameType<z.output<typeof UsageResult>, IngestResult> = true;
