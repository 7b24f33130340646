import { log } from "../observability/log";

/**
 * A D1 binding that logs one line per round trip with its statement count, for the benchmark that checks how many
 * statements a callback costs. Only used when the D1_QUERY_LOG var is "true"; never in production.
 */
export function loggingD1(db: D1Database): D1Database {
  const real = new WeakMap<D1PreparedStatement, D1PreparedStatement>();
  const roundTrip = (statements: number) => log("info", "d1.roundtrip", { statements });

  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, property) {
        if (property === "bind") return (...values: unknown[]) => wrap(target.bind(...values));
        if (property === "first" || property === "run" || property === "all" || property === "raw") {
          const method = Reflect.get(target, property) as (...args: unknown[]) => unknown;
          return (...args: unknown[]) => {
            roundTrip(1);
            return method.apply(target, args);
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
        return (statements: D1PreparedStatement[]) => {
          roundTrip(statements.length);
          return target.batch(statements.map((s) => real.get(s) ?? s));
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
