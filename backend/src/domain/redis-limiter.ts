// Sliding-window abuse limits in Redis (REDIS_URL): one sorted set per key, scored by time, trimmed,
// counted and added to in one Lua script, so concurrent relays cannot both take the last slot.
//
// When Redis cannot answer (down, unreachable, slow past COMMAND_TIMEOUT_MS) the limiter falls back
// to the database limiter rather than failing either way: failing closed would refuse every
// registration and code send while Redis is down, failing open would let SMS pumping through an
// outage. While it falls back the windows count only what the database saw; a warning says so.
import { Redis } from "ioredis";
import type { Logger } from "pino";
import { randomBytes } from "node:crypto";
import type { Clock } from "./deps.ts";
import type { Limiter } from "./limiter.ts";

const COMMAND_TIMEOUT_MS = 500;
/** our namespace inside whatever keyPrefix REDIS_URL sets (?keyPrefix=...) */
const NAMESPACE = "wristrelay:limit:";

// KEYS[1] the window; ARGV: now (ms), window (ms), max, a unique member.
// Returns -1 when a slot was taken, else the milliseconds until the oldest event leaves the window.
const TAKE_SLOT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= max then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return -1
`;

type WithTakeSlot = Redis & { wrTakeSlot(key: string, now: number, windowMs: number, max: number, member: string): Promise<number> };

export function createRedisLimiter(o: { url: string; clock: Clock; log: Logger; fallback: Limiter }): Limiter {
  const log = o.log.child({ limiter: "redis" });
  const redis = new Redis(o.url, {
    // fail at once while disconnected (the database answers instead) rather than queueing
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (times) => Math.min(200 * times, 5_000),
    lazyConnect: false,
  }) as WithTakeSlot;
  redis.defineCommand("wrTakeSlot", { numberOfKeys: 1, lua: TAKE_SLOT });
  let fallingBack = false;
  let lastConnectionError = 0;
  redis.on("error", (err: Error) => {
    // ioredis reports every failed reconnect; one line a minute is enough
    const now = Date.now();
    if (now - lastConnectionError < 60_000) return;
    lastConnectionError = now;
    log.warn({ err: err.message }, "redis unreachable; abuse limits are kept in the database until it is back");
  });
  let closed = false;
  // Until the first connection attempt has an outcome, wait for it (start-up), instead of sending
  // the relay's first requests to the database while Redis is merely still connecting.
  const firstOutcome = new Promise<void>((resolve) => {
    const done = () => {
      redis.off("ready", done);
      redis.off("error", done);
      resolve();
    };
    redis.once("ready", done);
    redis.once("error", done);
    setTimeout(done, 2_000).unref();
  });

  return {
    backend: "redis",
    async take(key, max, windowMs, opts) {
      const now = o.clock.now().getTime();
      try {
        if (closed) throw new Error("limiter closed");
        if (redis.status !== "ready") await firstOutcome;
        const member = `${now}:${randomBytes(6).toString("base64url")}`;
        const waitMs = Number(await redis.wrTakeSlot(NAMESPACE + key, now, windowMs, max, member));
        if (fallingBack) {
          fallingBack = false;
          log.info("redis answers again; abuse limits are kept in redis");
        }
        return waitMs < 0 ? null : Math.max(1, Math.ceil(waitMs / 1000));
      } catch (err) {
        if (!fallingBack) {
          fallingBack = true;
          log.warn({ err: (err as Error)?.message }, "redis limiter failed; falling back to the database limiter");
        }
        return o.fallback.take(key, max, windowMs, opts);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
