// A relay as an operator runs it for the hardening suite: SMS through the official Twilio package to a
// fake Twilio on loopback (SMS_PROVIDER=twilio, so webhooks are signed and checked), X through a fake
// X (X_PROVIDER=x), a fresh SQLite or PostgreSQL database, and optionally a log file (pino destination).
import { openSync, closeSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import { sql } from "kysely";
import type { Logger } from "pino";
import { createLogger } from "../../../backend/src/http/logger.ts";
import { createTwilioSms } from "../../../backend/src/providers/twilio.ts";
import { serve } from "../../../backend/src/serve.ts";
import { openStore, type Store } from "../../../backend/src/store/open-store.ts";
import { createTestDatabase, type DbKind, type TestDatabase } from "../../helpers/db.ts";
import { FAKE_FROM, startFakeTwilio, type FakeTwilio } from "../../helpers/fake-twilio.ts";
import { startFakeX, type FakeX } from "../../helpers/fake-x.ts";
import { startFakeGoogle, type FakeGoogle } from "../../helpers/fake-google.ts";
import { createTestClock, testConfig, type TestClock, type TestRelay } from "../../helpers/relay.ts";
import { xEnv } from "../../helpers/relay-x.ts";

/** The Google Health link (POST /v1/google/link, /google/start, /google/callback) is served by this file. */
export const GOOGLE_ROUTES_FILE = "backend/src/routes/google-routes.ts";
export const HAS_GOOGLE = existsSync(join(import.meta.dirname, "..", "..", "..", GOOGLE_ROUTES_FILE));

export interface Kit {
  kind: DbKind;
  relay: TestRelay;
  twilio: FakeTwilio;
  x: FakeX;
  /** set when the relay has the Google routes (HAS_GOOGLE) */
  google?: FakeGoogle;
  db: TestDatabase;
  /** the relay's log (JSON lines) when a logFile was given */
  readLog(): string;
  stop(): Promise<void>;
}

export async function startKit(o: { kind: DbKind; env?: Record<string, string>; logFile?: string; logLevel?: string; clock?: TestClock }): Promise<Kit> {
  const db = await createTestDatabase(o.kind);
  const twilio = await startFakeTwilio();
  const x = await startFakeX();
  const google = HAS_GOOGLE ? await startFakeGoogle() : undefined;
  const env = {
    SMS_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_FROM: FAKE_FROM,
    TWILIO_API_URL: twilio.url,
    ...xEnv(x),
    ...(google ? google.env() : {}),
    ...(o.logLevel ? { LOG_LEVEL: o.logLevel } : {}),
    ...o.env,
  };
  const config = testConfig(db.url, env);
  const store: Store = await openStore(config.databaseUrl);
  const clock = o.clock ?? createTestClock();
  let fd: number | undefined;
  let log: Logger;
  if (o.logFile) {
    fd = openSync(o.logFile, "w");
    log = createLogger(config.logLevel, pino.destination({ fd, sync: true }));
  } else log = createLogger(config.logLevel);
  const sms = createTwilioSms({ ...config.sms.twilio!, timeoutMs: 5_000 });
  const running = await serve({ config, log, store, sms, clock, random: () => 0.5 });
  const relay: TestRelay = {
    url: running.url,
    clock,
    store,
    sms,
    running,
    config,
    sentMessages: () => twilio.messages,
    async stop() {
      await running.stop();
      await store.close();
    },
  };
  let stopped = false;
  return {
    kind: o.kind,
    relay,
    twilio,
    x,
    google,
    db,
    readLog: () => (o.logFile && existsSync(o.logFile) ? readFileSync(o.logFile, "utf8") : ""),
    async stop() {
      if (stopped) return;
      stopped = true;
      await relay.stop();
      if (fd !== undefined) closeSync(fd);
      await twilio.close();
      await x.close();
      await google?.close();
      await db.drop();
    },
  };
}

/** Every table of the relay's database, by name. */
export async function tableNames(store: Store): Promise<string[]> {
  if (store.dialect === "sqlite") {
    const r = await sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`.execute(store.db);
    return r.rows.map((x) => x.name).sort();
  }
  const r = await sql<{ name: string }>`select table_name as name from information_schema.tables where table_schema = current_schema() and table_type = 'BASE TABLE'`.execute(store.db);
  return r.rows.map((x) => x.name).sort();
}

/** Every row of every table (values as stored), for scans and before/after comparisons. */
export async function dumpAll(store: Store): Promise<Record<string, Record<string, unknown>[]>> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const t of await tableNames(store)) {
    const r = await sql<Record<string, unknown>>`select * from ${sql.table(t)}`.execute(store.db);
    out[t] = r.rows;
  }
  return out;
}

/** The rows that belong to one wearer (by device_id, the device row, its number's opt-out), sorted, as JSON. */
export async function wearerRows(store: Store, deviceId: string): Promise<string> {
  const all = await dumpAll(store);
  const device = (all.devices ?? []).find((d) => d.id === deviceId);
  const number = device?.phone_number as string | undefined;
  const mine: Record<string, unknown[]> = {};
  for (const [t, rows] of Object.entries(all)) {
    if (t === "kysely_migration" || t === "kysely_migration_lock" || t === "rate_events" || t === "counters" || t === "webhook_replays") continue;
    const picked = rows.filter((r) => r.device_id === deviceId || (t === "devices" && r.id === deviceId) || (t === "optouts" && number && r.number === number));
    if (picked.length) mine[t] = picked.map((r) => JSON.stringify(r, (_k, v) => (typeof v === "bigint" ? Number(v) : v))).sort();
  }
  return JSON.stringify(mine);
}
