// Sliding-window abuse limits on every backend (SQLite, PostgreSQL, Redis): what a caller sees when a
// window fills and frees up, that several relays sharing a store cannot overrun a limit together,
// and that a Redis outage falls back to the database limiter instead of locking wearers out.
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDbLimiter, type Limiter } from "../../backend/src/domain/limiter.ts";
import { createRedisLimiter } from "../../backend/src/domain/redis-limiter.ts";
import { createLogger } from "../../backend/src/http/logger.ts";
import { openStore, type Store } from "../../backend/src/store/open-store.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { call, createTestClock, startRelay, type TestClock } from "../helpers/relay.ts";

const REDIS = "redis://127.0.0.1:6379";
/** every key this file writes lives under this prefix, removed at the end (never FLUSHALL) */
const PREFIX = `wr-test-limits-${randomBytes(4).toString("hex")}:`;
const REDIS_URL = `${REDIS}/?keyPrefix=${encodeURIComponent(PREFIX)}`;
const silent = createLogger("silent");

const dbs: Record<"sqlite" | "postgres", { db: TestDatabase; stores: Store[] }> = {} as never;
let admin: Redis;

beforeAll(async () => {
  admin = new Redis(REDIS, { lazyConnect: true });
  await admin.connect();
  for (const kind of ["sqlite", "postgres"] as const) {
    const db = await createTestDatabase(kind);
    dbs[kind] = { db, stores: [await openStore(db.url), await openStore(db.url)] };
  }
});

afterAll(async () => {
  for (const { db, stores } of Object.values(dbs)) {
    for (const s of stores) await s.close();
    await db.drop();
  }
  let cursor = "0";
  do {
    const [next, keys] = await admin.scan(cursor, "MATCH", `${PREFIX}*`, "COUNT", 500);
    if (keys.length) await admin.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  admin.disconnect();
});

type Backend = "sqlite" | "postgres" | "redis";
const opened: Limiter[] = [];
afterAll(async () => {
  for (const l of opened) await l.close();
});

/** Two limiters as two relay processes would have them: their own connections to the same store. */
function limiters(backend: Backend, clock: TestClock): [Limiter, Limiter] {
  // SQLite serves one relay process: its two limiters share that process's connection
  const stores = backend === "sqlite" ? [dbs.sqlite.stores[0]!, dbs.sqlite.stores[0]!] : dbs.postgres.stores;
  const [a, b] = stores.map((store) => {
    const db = createDbLimiter({ db: store.db, clock });
    return backend === "redis" ? createRedisLimiter({ url: REDIS_URL, clock, log: silent, fallback: db }) : db;
  });
  opened.push(a!, b!);
  return [a!, b!];
}

const key = (name: string) => `${name}:${randomBytes(4).toString("hex")}`;

describe.each<Backend>(["sqlite", "postgres", "redis"])("abuse limits on %s", (backend) => {
  it("when a window holds max events, then the next is refused with the seconds until the oldest leaves it, and taken once it has", async () => {
    const clock = createTestClock();
    const [limiter] = limiters(backend, clock);
    expect(limiter.backend).toBe(backend === "redis" ? "redis" : "database");
    const k = key("register:198.51.100.7");
    for (let i = 0; i < 3; i++) {
      expect(await limiter.take(k, 3, 3_600_000)).toBeNull();
      clock.advance(60_000);
    }
    // three events at t, t+1 min, t+2 min; now t+3 min: the first leaves the window at t+60 min
    expect(await limiter.take(k, 3, 3_600_000)).toBe(57 * 60);
    expect(await limiter.take(k, 3, 3_600_000)).toBe(57 * 60); // a refusal takes nothing
    clock.advance(57 * 60_000);
    expect(await limiter.take(k, 3, 3_600_000)).toBeNull();
    expect(await limiter.take(k, 3, 3_600_000)).not.toBeNull();
    // another key has its own window
    expect(await limiter.take(key("register:198.51.100.8"), 3, 3_600_000)).toBeNull();
  });

  it("when two relays race for the same key, then together they take exactly max slots", async () => {
    const clock = createTestClock();
    const [a, b] = limiters(backend, clock);
    const k = key("code:d:dev_race");
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => (i % 2 ? a : b).take(k, 5, 86_400_000)));
    expect(results.filter((r) => r === null)).toHaveLength(5);
    expect(results.filter((r) => r !== null).every((r) => r === 86_400)).toBe(true);
  });
});

describe("when Redis cannot be reached", () => {
  it("then the limiter falls back to the database, the limit still holds, and a warning is logged", async () => {
    const lines: string[] = [];
    const log = createLogger(
      "warn",
      new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      }),
    );
    const clock = createTestClock();
    const store = dbs.postgres.stores[0]!;
    // port 1: nothing listens there; connection refused at once
    const limiter = createRedisLimiter({ url: "redis://127.0.0.1:1", clock, log, fallback: createDbLimiter({ db: store.db, clock }) });
    opened.push(limiter);
    const k = key("register:203.0.113.9");
    expect(await limiter.take(k, 2, 3_600_000)).toBeNull();
    expect(await limiter.take(k, 2, 3_600_000)).toBeNull();
    expect(await limiter.take(k, 2, 3_600_000)).toBe(3600);
    // the slots went to the database, where the other relays see them
    const rows = await store.db.selectFrom("rate_events").select("key").where("key", "=", k).execute();
    expect(rows).toHaveLength(2);
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === 40 && /falling back to the database/.test(l.msg));
    expect(warnings).toHaveLength(1); // once per outage, not once per call
  });
});

describe("relays configured with REDIS_URL", () => {
  it("when a client registers on one relay up to the limit, then another relay on the same Redis refuses it with 429 and Retry-After", async () => {
    const env = { REDIS_URL, REGISTRATIONS_PER_HOUR: "3" };
    const clock = createTestClock();
    const a = await startRelay({ store: dbs.postgres.stores[0], env, clock, runWorker: false });
    const b = await startRelay({ store: dbs.postgres.stores[1], env, clock, runWorker: false });
    try {
      expect(a.running.deps.limiter.backend).toBe("redis");
      const countInDb = async () => (await dbs.postgres.stores[0]!.db.selectFrom("rate_events").select("key").execute()).length;
      const before = await countInDb();
      const reg = (url: string) => call(url, "POST", "/v1/devices", { json: { timezone: "UTC" } });
      const seen: number[] = [];
      for (const url of [a.url, b.url, a.url, b.url]) seen.push((await reg(url)).status);
      expect(seen.slice(0, 3)).toEqual([201, 201, 201]);
      expect(seen[3]).toBe(429);
      const refused = await reg(b.url);
      expect(refused.body.code).toBe("rate_limited");
      expect(Number(refused.headers.get("retry-after"))).toBe(3600);
      // the window lives in Redis (under this file's prefix), not in the database
      expect(await countInDb()).toBe(before);
      expect(await admin.keys(`${PREFIX}wristrelay:limit:register:127.0.0.1`)).toHaveLength(1);
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

