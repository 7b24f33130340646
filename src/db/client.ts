import { drizzle } from "drizzle-orm/d1";
import { loggingD1 } from "./query-log";
import * as admin from "./schema/admin";
import * as billing from "./schema/billing";
import * as events from "./schema/events";
import * as instances from "./schema/instances";
import * as kit from "./schema/kit";

export const schema = { ...instances, ...billing, ...kit, ...events, ...admin };

export function getDb(env: { DB: D1Database; D1_QUERY_LOG?: string }) {
  return drizzle(env.D1_QUERY_LOG === "true" ? loggingD1(env.DB) : env.DB, { schema });
}

export type Db = ReturnType<typeof getDb>;
