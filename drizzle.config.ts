import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/db/schema/*.ts",
  out: "./migrations",
  // wrangler keeps its own bookkeeping table in the same database; never let a generated migration drop it.
  tablesFilter: ["!d1_migrations", "!_cf_*"],
});
