// Opens the database named by DATABASE_URL (SQLite file or PostgreSQL), runs migrations, and hands out
// one Kysely instance: the single query layer for both.
import { dirname, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect, sql, type Transaction } from "kysely";
import pg from "pg";
import { createDataFolder } from "./folder.ts";
import { migrate } from "./migrations.ts";
import type { Database } from "./schema.ts";

export type Db = Kysely<Database>;
export type Tx = Transaction<Database>;

export interface Store {
  db: Db;
  dialect: "sqlite" | "postgres";
  /** readiness: a `select 1` */
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface StoreOptions {
  synchronous?: "NORMAL" | "FULL";
  poolSize?: number;
  migrate?: boolean;
}

export async function openStore(databaseUrl: string, opts: StoreOptions = {}): Promise<Store> {
  let db: Db;
  let dialect: Store["dialect"];
  if (databaseUrl.startsWith("file:")) {
    const path = resolve(databaseUrl.slice(5));
    createDataFolder(dirname(path));
    const database = new BetterSqlite3(path);
    database.pragma("journal_mode = WAL");
    // NORMAL in WAL mode survives a process crash (SIGKILL); FULL also survives power loss.
    database.pragma(`synchronous = ${opts.synchronous ?? "NORMAL"}`);
    database.pragma("busy_timeout = 5000");
    database.pragma("foreign_keys = ON");
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: withStatementCache(database) }) });
    dialect = "sqlite";
  } else {
    const pool = new pg.Pool({ connectionString: databaseUrl, max: opts.poolSize ?? 10 });
    pool.on("error", () => {}); // an idle client's error must not crash the process; queries report their own
    // A client checked out of the pool (inside a transaction, between two of its queries) has no
    // pool listener: when the server restarts, its "Connection terminated" would be an uncaught
    // 'error' event and end the process. Its next query fails instead, and the pool drops it on release.
    pool.on("connect", (client) => client.on("error", () => {}));
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    dialect = "postgres";
  }
  if (opts.migrate !== false) {
    try {
      await migrate(db);
    } catch (err) {
      await db.destroy().catch(() => {});
      throw err;
    }
  }
  return {
    db,
    dialect,
    async ping() {
      await sql`select 1`.execute(db);
    },
    async close() {
      await db.destroy();
    },
  };
}

/** Row locking where the database has it (PostgreSQL); SQLite transactions are already serial. */
export function isPostgres(store: Pick<Store, "dialect">): boolean {
  return store.dialect === "postgres";
}

/**
 * Kysely's SQLite driver prepares every statement anew; Kysely emits the same SQL text for the same
 * query shape, so prepared statements are kept and reused (bounded, the oldest dropped first).
 */
function withStatementCache(database: BetterSqlite3.Database, max = 500): BetterSqlite3.Database {
  const cache = new Map<string, BetterSqlite3.Statement>();
  const prepare = (sqlText: string) => {
    let stmt = cache.get(sqlText);
    if (!stmt) {
      stmt = database.prepare(sqlText);
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(sqlText, stmt);
    }
    return stmt;
  };
  return new Proxy(database, {
    get(target, prop, receiver) {
      if (prop === "prepare") return prepare; // one function, not a new closure per query
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}
