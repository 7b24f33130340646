import { drizzle } from "drizzle-orm/d1";
import * as instances from "./schema/instances";

export const schema = { ...instances };

export function getDb(env: { DB: D1Database }) {
  return drizzle(env.DB, { schema });
}

export type Db = ReturnType<typeof getDb>;
