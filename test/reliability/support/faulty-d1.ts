/*
 * A D1 binding that fails the n-th write on request, for the D1-fault tests. Installed only by the test-only entry
 * (faulty-d1.entry.ts) around the Worker's and the instance actors' DB binding; production code is unchanged.
 *
 * A write is a batch() containing a writing statement, or run()/all()/first()/raw() of one: what D1 applies
 * atomically. The plan lives on globalThis because the test and the Worker's modules share the isolate but not
 * necessarily one module instance.
 */

export interface D1FaultPlan {
  /** Fail the write with this number (1-based, counted from the last reset); null: fail nothing. */
  failAt: number | null;
  /** Writes seen since the last reset. */
  writes: number;
  /** The SQL (first 120 characters) of each injected failure. */
  injected: string[];
  /** Besides failAt: fail every write for which this answers true (a seeded draw per write); null: none. */
  chance: (() => boolean) | null;
}

const KEY = Symbol.for("koogallery-gateway.test.d1-faults");
type WithPlan = typeof globalThis & { [KEY]?: D1FaultPlan };

export function d1Faults(): D1FaultPlan {
  const holder = globalThis as WithPlan;
  holder[KEY] ??= { failAt: null, writes: 0, injected: [], chance: null };
  return holder[KEY];
}

/** Count writes from zero and fail the `failAt`-th (null: none). */
export function resetD1Faults(failAt: number | null): void {
  Object.assign(d1Faults(), { failAt, writes: 0, injected: [], chance: null });
}

/** Fail a seeded fraction of writes from now on (null: stop); the count and log of injected failures restart. */
export function failD1WritesBy(chance: (() => boolean) | null): void {
  Object.assign(d1Faults(), { failAt: null, writes: 0, injected: [], chance });
}

const WRITE = /^\s*(insert|update|delete|replace)\b|\breturning\b/i;

function write(sql: string): void {
  const plan = d1Faults();
  plan.writes += 1;
  if (plan.failAt !== plan.writes && !plan.chance?.()) return;
  plan.injected.push(sql.slice(0, 120));
  // Worded as D1 words its own failures, so callers that look for "D1_" treat it as one.
  throw new Error(`D1_ERROR: injected fault at write ${plan.writes}`);
}

export function faultyD1(db: D1Database): D1Database {
  const sqlOf = new WeakMap<D1PreparedStatement, string>();
  const real = new WeakMap<D1PreparedStatement, D1PreparedStatement>();
  const wrap = (statement: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped = new Proxy(statement, {
      get(target, property) {
        if (property === "bind") return (...values: unknown[]) => wrap(target.bind(...values), sql);
        if (property === "run" || property === "all" || property === "first" || property === "raw") {
          const method = Reflect.get(target, property) as (...args: unknown[]) => Promise<unknown>;
          return async (...args: unknown[]) => {
            if (WRITE.test(sql)) write(sql);
            return method.apply(target, args);
          };
        }
        const value = Reflect.get(target, property);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    sqlOf.set(wrapped, sql);
    real.set(wrapped, statement);
    return wrapped;
  };
  return new Proxy(db, {
    get(target, property) {
      if (property === "prepare") return (sql: string) => wrap(target.prepare(sql), sql);
      if (property === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          const writing = statements.map((s) => sqlOf.get(s) ?? "").find((sql) => WRITE.test(sql));
          if (writing !== undefined) write(writing);
          return target.batch(statements.map((s) => real.get(s) ?? s));
        };
      }
      const value = Reflect.get(target, property);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The env with its DB binding wrapped. */
export function withFaultyD1<E extends { DB: D1Database }>(env: E): E {
  return { ...env, DB: faultyD1(env.DB) };
}
