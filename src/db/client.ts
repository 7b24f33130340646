import { drizzle } from "drizzle-orm/d1";
import * as billing from "./schema/billing";
import * as instances from "./schema/instances";

export const schema = { ...instances, ...billing };

export function getDb(env: { DB: D1Database }) {
  return drizzle(env.DB, { schema });
}

export type Db = ReturnType<typeof getDb>;
