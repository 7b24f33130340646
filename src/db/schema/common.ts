import { integer } from "drizzle-orm/sqlite-core";

/** Every time in the database is Unix epoch milliseconds (UTC); the protocol layer formats it per interface. */
export const epochMs = (name: string) => integer(name, { mode: "number" });

export const timestamps = {
  createdAt: epochMs("created_at").notNull(),
  updatedAt: epochMs("updated_at").notNull(),
};
