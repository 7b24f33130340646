import { drizzle } from "drizzle-orm/d1";
import * as billing from "./schema/billing";
import * as instances from "./schema/instances";
import * as kit from "./schema/kit";

export const schema = { ...instances, ...billing, ...kit };

export function getDb(env: { DB: D1Database }) {
  return drizzle(env.DB, { schema });
}

export type Db = ReturnType<typeof getDb>;
