// Sliding-window abuse limits (registrations per address, code sends per number and per device,
// operator login attempts) behind one interface, so callers do not care where the windows live:
// in the database (default; holds across processes sharing it) or in Redis (REDIS_URL).
// Money budgets are not here: they are charged inside the enqueue transaction (sms-queue.ts), so a
// rolled-back enqueue gives its charge back, which no store outside that transaction can promise.
import type { Logger } from "pino";
import type { Config } from "../config.ts";
import type { Db, Store, Tx } from "../store/open-store.ts";
import type { Clock } from "./deps.ts";
import { takeSlot } from "./limits.ts";

export interface Limiter {
  readonly backend: "database" | "redis";
  /**
   * When fewer than `max` events under `key` happened in the last `windowMs`, records one and
   * returns null; otherwise returns the seconds until a slot frees up. `opts.tx`: the database
   * limiter takes the slot inside that transaction (it is given back if the transaction rolls back);
   * the Redis limiter ignores it.
   */
  take(key: string, max: number, windowMs: number, opts?: { tx?: Tx }): Promise<number | null>;
  /** releases connections the limiter owns (the database belongs to the store) */
  close(): Promise<void>;
}

export function createDbLimiter(o: { db: Db; clock: Clock }): Limiter {
  return {
    backend: "database",
    take: (key, max, windowMs, opts) => takeSlot(opts?.tx ?? o.db, key, max, windowMs, o.clock.now()),
    close: async () => {},
  };
}

/** REDIS_URL set: Redis, falling back to the database while Redis cannot answer; otherwise the database. */
export async function createLimiter(o: { config: Config; store: Store; clock: Clock; log: Logger }): Promise<Limiter> {
  const db = createDbLimiter({ db: o.store.db, clock: o.clock });
  if (!o.config.redisUrl) return db;
  // loaded only when chosen, so ioredis stays out of the default start-up
  const { createRedisLimiter } = await import("./redis-limiter.ts");
  return createRedisLimiter({ url: o.config.redisUrl, clock: o.clock, log: o.log, fallback: db });
}
