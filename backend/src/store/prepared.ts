// Hot-path queries built and compiled ONCE per dialect, then run with new parameter values: no query
// builder, no compiler walk per request. The query is still written with Kysely (same SQL, same
// types); each argument is compiled as a unique placeholder value, and the positions where those
// placeholders land in the compiled parameter list are remembered. On SQLite the SQL text is also the
// key of the prepared-statement cache in open-store.ts, so the statement is reused as before.
import type { Compilable, CompiledQuery, QueryResult } from "kysely";
import type { Db, Store, Tx } from "./open-store.ts";

type Compiled = { query: CompiledQuery; slots: (number | { value: unknown })[] };

const placeholder = (i: number) => `\u0000wr-arg-${i}\u0000`;

export interface Prepared<A extends unknown[], R> {
  /** runs on `on` (the database or an open transaction); `store` decides the dialect */
  run(store: Pick<Store, "db" | "dialect">, on: Db | Tx, ...args: A): Promise<QueryResult<R>>;
  /** the first row, or undefined */
  first(store: Pick<Store, "db" | "dialect">, on: Db | Tx, ...args: A): Promise<R | undefined>;
}

export function prepared<A extends unknown[], R>(arity: A["length"], build: (db: Db, ...args: A) => Compilable<R>): Prepared<A, R> {
  const byDialect = new Map<string, Compiled>();
  const compile = (store: Pick<Store, "db" | "dialect">): Compiled => {
    let c = byDialect.get(store.dialect);
    if (c) return c;
    const marks = Array.from({ length: arity }, (_, i) => placeholder(i));
    const query = build(store.db, ...(marks as unknown as A)).compile();
    const slots = query.parameters.map((p) => {
      const i = typeof p === "string" ? marks.indexOf(p) : -1;
      return i >= 0 ? i : { value: p };
    });
    for (let i = 0; i < arity; i++) {
      if (!slots.includes(i)) throw new Error(`prepared: argument ${i} is not a parameter of ${query.sql}`);
    }
    c = { query, slots };
    byDialect.set(store.dialect, c);
    return c;
  };
  const run = (store: Pick<Store, "db" | "dialect">, on: Db | Tx, ...args: A) => {
    const { query, slots } = compile(store);
    const parameters = new Array<unknown>(slots.length);
    for (let i = 0; i < slots.length; i++) {
      const s = slots[i];
      parameters[i] = typeof s === "number" ? args[s] : s.value;
    }
    return on.executeQuery<R>({ ...query, parameters } as CompiledQuery<R>);
  };
  return {
    run,
    async first(store, on, ...args) {
      return (await run(store, on, ...args)).rows[0];
    },
  };
}
