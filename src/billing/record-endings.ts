import { type SQL, sql } from "drizzle-orm";
import type { ExpiryCheck } from "../db/schema/billing";
import { d1Statement } from "./d1-sql";

/**
 * THE one way a usage record ends without being accepted: `rejected` (the Marketplace's or our own refusal, or a
 * duplicate conflict) or `expired` (not confirmed by its deadline), including the post-deadline check that finds an
 * expired record was not held. Every such write goes through `endNotAccepted`, which returns the statements of one
 * D1 batch, so that an outbox event (`usage.rejected` with meteringSn, period begin/end, code, message) can be added
 * to the same batch and no record ends without its event.
 */

export interface NotAcceptedEnding {
  sn: string;
  state: "rejected" | "expired";
  /** The Marketplace's record or call code; null when none was given (a plain expiry). */
  code: string | null;
  message: string;
  /** Expired records that may be held by the Marketplace are checked once after the deadline ("due"). */
  expiryCheck: ExpiryCheck | null;
  /** Calls of this record that reached (or may have reached) the Marketplace and are counted only now. */
  deliveriesAdded: number;
}

/** Which rows may still be ended: only a run's own leased rows, or unleased unconfirmed ones (the expiry sweep). */
export type EndingGuard = { leaseOwner: string } | { unleasedUnconfirmedAt: number };

function guardSql(guard: EndingGuard): SQL {
  if ("leaseOwner" in guard) return sql`usage_records.lease_owner = ${guard.leaseOwner}`;
  return sql`usage_records.state IN ('pending', 'sent')
    AND (usage_records.lease_until IS NULL OR usage_records.lease_until <= ${guard.unleasedUnconfirmedAt})`;
}

/**
 * The UPDATE returns the metering_sn of every record it ended; rows the guard excludes are left alone. The second
 * statement writes one `usage.rejected` outbox event (docs/seller-contract.md) for each record the UPDATE just ended (its
 * resolved_at is this run's `now`), in the same batch: no record ends without its event, and none gets two, because
 * the event id is derived from the record and the moment it ended.
 */
export function endNotAccepted(
  d1: D1Database,
  endings: readonly NotAcceptedEnding[],
  guard: EndingGuard,
  now: number,
  webhookEnabled: boolean,
): D1PreparedStatement[] {
  const rows = JSON.stringify(endings);
  return [
    d1Statement(
      d1,
      sql`
        UPDATE usage_records SET
          state = json_extract(j.value, '$.state'),
          reject_code = json_extract(j.value, '$.code'),
          reject_message = json_extract(j.value, '$.message'),
          expiry_check = json_extract(j.value, '$.expiryCheck'),
          deliveries = usage_records.deliveries + json_extract(j.value, '$.deliveriesAdded'),
          resolved_at = ${now}, lease_owner = NULL, lease_until = NULL, updated_at = ${now}
        FROM json_each(${rows}) AS j
        WHERE usage_records.metering_sn = json_extract(j.value, '$.sn') AND ${guardSql(guard)}
        RETURNING usage_records.metering_sn`,
    ),
    usageRejectedEvents(d1, rows, now, webhookEnabled),
  ];
}

const isoOf = (column: SQL) => sql`strftime('%Y-%m-%dT%H:%M:%fZ', ${column} / 1000.0, 'unixepoch')`;

function usageRejectedEvents(d1: D1Database, rows: string, now: number, webhookEnabled: boolean): D1PreparedStatement {
  const id = sql`'evt_usage_' || r.metering_sn || '_' || ${now}`;
  return d1Statement(
    d1,
    sql`
      INSERT OR IGNORE INTO events (id, type, stream, instance_id, is_test, body, delivery_state, attempts, next_attempt_at, created_at, updated_at)
      SELECT ${id}, 'usage.rejected', r.instance_id, r.instance_id, 0,
        json_object(
          'id', ${id}, 'type', 'usage.rejected', 'timestamp', ${isoOf(sql`${now}`)}, 'instanceId', r.instance_id, 'test', json('false'),
          'data', json_object(
            'meteringSn', r.metering_sn,
            'period', json_object('begin', ${isoOf(sql`r.begin_time`)}, 'end', ${isoOf(sql`r.end_time`)}),
            'code', coalesce(r.reject_code, upper(r.state)),
            'message', coalesce(r.reject_message, r.state))),
        ${webhookEnabled ? "pending" : "none"}, 0, ${webhookEnabled ? now : null}, ${now}, ${now}
      FROM json_each(${rows}) AS j JOIN usage_records AS r ON r.metering_sn = json_extract(j.value, '$.sn')
      WHERE r.resolved_at = ${now} AND r.state IN ('rejected', 'expired')`,
  );
}
