// Money and abuse limits kept in the database, so they hold across processes and restarts. Callers
// take abuse-limit slots through deps.limiter (limiter.ts), which may keep them in Redis instead.
import { PostgresAdapter, sql } from "kysely";
import type { Db, Tx } from "../store/open-store.ts";

export const utcDay = (now: Date) => now.toISOString().slice(0, 10);

/** Adds one to a named counter and returns the new value (atomic upsert on both databases). */
export async function bump(db: Db | Tx, name: string, by = 1): Promise<number> {
  const row = await db
    .insertInto("counters")
    .values({ name, count: by })
    .onConflict((oc) => oc.column("name").doUpdateSet({ count: sql`counters.count + ${by}` }))
    .returning("count")
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

export async function readCounter(db: Db | Tx, name: string): Promise<number> {
  const row = await db.selectFrom("counters").select("count").where("name", "=", name).executeTakeFirst();
  return row ? Number(row.count) : 0;
}

export const budgetCounter = (now: Date) => `sms_budget:${utcDay(now)}`;
export const numberCounter = (key: string, now: Date) => `sms_number:${key}:${utcDay(now)}`;
/** code sends per device: the only rate-limit key naming a wearer, erased with them (devices.ts) */
export const deviceCodesKey = (deviceId: string) => `code:d:${deviceId}`;

/** Seconds until the next UTC midnight, for Retry-After once a daily budget is spent. */
export function secondsToUtcMidnight(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
}

/**
 * Rolling-window limit: when fewer than `max` events under `key` happened in the last `windowMs`,
 * records one and returns null; otherwise returns the seconds until a slot frees up.
 * Read-then-insert is made atomic per key: inside a transaction, serialised on PostgreSQL by an
 * advisory lock on the key (several processes share the table), and by the one connection on SQLite.
 */
export async function takeSlot(db: Db | Tx, key: string, max: number, windowMs: number, now: Date): Promise<number | null> {
  if (!db.isTransaction) return db.transaction().execute((tx) => takeSlot(tx, key, max, windowMs, now));
  if (db.getExecutor().adapter instanceof PostgresAdapter) {
    await sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`.execute(db);
  }
  return takeSlotIn(db, key, max, windowMs, now);
}

async function takeSlotIn(tx: Db | Tx, key: string, max: number, windowMs: number, now: Date): Promise<number | null> {
  const since = new Date(now.getTime() - windowMs).toISOString();
  const rows = await tx
    .selectFrom("rate_events")
    .select("at")
    .where("key", "=", key)
    .where("at", ">", since)
    .orderBy("at", "asc")
    .limit(max)
    .execute();
  if (rows.length >= max) {
    return Math.max(1, Math.ceil((Date.parse(rows[0].at) + windowMs - now.getTime()) / 1000));
  }
  await tx.insertInto("rate_events").values({ key, at: now.toISOString() }).execute();
  return null;
}
