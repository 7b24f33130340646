import { log } from "../observability/log";

/**
 * A D1 binding that logs one line per round trip, for the benchmarks: how many statements a callback costs, and how
 * many rows the billing jobs read and write. Only used when the D1_QUERY_LOG var is "true"; never in production.
 *
 * Each line carries the statement count and D1's own `meta.rows_read` / `meta.rows_written`, summed over a batch.
 * `first()` and `raw()` (drizzle's typed selects use raw) give no meta: their lines say `rowsRead: null` and how many
 * rows came back instead; so does a round trip that failed.
 */
export function loggingD1(db: D1Database): D1Database {
  const real = new WeakMap<D1PreparedStatement, D1PreparedStatement>();
  const roundTrip = (statements: number, rows: { rowsRead: number | null; rowsWritten: number | null; rowsReturned?: number }) =>
    log("info", "d1.roundtrip", { statements, ...rows });
  /** A failed round trip still went to D1: logged without rows, then the error goes on. */
  const failed = (statements: number) => (error: unknown): never => {
    roundTrip(statements, { rowsRead: null, rowsWritten: null });
    throw error;
  };
  const metaOf = (results: readonly D1Result[]) => ({
    rowsRead: results.reduce((sum, r) => sum + (r.meta?.rows_read ?? 0), 0),
    rowsWritten: results.reduce((sum, r) => sum + (r.meta?.rows_written ?? 0), 0),
  });

  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, property) {
        if (property === "bind") return (...values: unknown[]) => wrap(target.bind(...values));
        if (property === "run" || property === "all") {
          const method = Reflect.get(target, property) as () => Promise<D1Result>;
          return async () => {
            const result = await method.apply(target).catch(failed(1));
            roundTrip(1, metaOf([result]));
            return result;
          };
        }
        if (property === "first" || property === "raw") {
          const method = Reflect.get(target, property) as (...args: unknown[]) => Promise<unknown>;
          return async (...args: unknown[]) => {
            const result = await method.apply(target, args).catch(failed(1));
            const rowsReturned = Array.isArray(result) ? result.length : result === null ? 0 : 1;
            roundTrip(1, { rowsRead: null, rowsWritten: null, rowsReturned });
            return result;
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    real.set(wrapped, statement);
    return wrapped;
  };

  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (query: string) => wrap(target.prepare(query));
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const results = await target.batch(statements.map((s) => real.get(s) ?? s)).catch(failed(statements.length));
          roundTrip(statements.length, metaOf(results));
          return results;
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
