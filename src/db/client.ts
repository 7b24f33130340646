import { drizzle } from "drizzle-orm/d1";
import { oncePerEnv } from "../env";
import { loggingD1 } from "./query-log";
import * as admin from "./schema/admin";
import * as billing from "./schema/billing";
import * as events from "./schema/events";
import * as generalOrders from "./schema/general-orders";
import * as instances from "./schema/instances";
import * as kit from "./schema/kit";
import * as licenseCodes from "./schema/license-codes";
import * as licenses from "./schema/licenses";
import * as problems from "./schema/problems";
import * as selfCheck from "./schema/self-check";
import * as sso from "./schema/sso";

export const schema = { ...instances, ...billing, ...kit, ...events, ...generalOrders, ...licenseCodes, ...licenses, ...admin, ...selfCheck, ...sso, ...problems };

type DbEnv = { DB: D1Database; D1_QUERY_LOG?: string };

function connect(env: DbEnv) {
  return drizzle(env.D1_QUERY_LOG === "true" ? loggingD1(env.DB) : env.DB, { schema });
}

export type Db = ReturnType<typeof connect>;

// drizzle() walks the whole schema to build its relational config: once per env, not on every call, where it was a
// measurable share of a newInstance's CPU.
export const getDb: (env: DbEnv) => Db = oncePerEnv(connect);
