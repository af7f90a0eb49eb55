// A real relay on port 0 (createApp + worker on a given store), driven over HTTP with plain fetch,
// with a controllable clock so tests never sleep for timing logic.
import { randomBytes } from "node:crypto";
import { loadConfig, type Config } from "../../backend/src/config.ts";
import type { Clock } from "../../backend/src/domain/deps.ts";
import { createLogger } from "../../backend/src/http/logger.ts";
import { createOutboxSms, type OutboxSms } from "../../backend/src/providers/outbox.ts";
import type { SmsProvider } from "../../backend/src/providers/sms.ts";
import { serve, type Running } from "../../backend/src/serve.ts";
import { openStore, type Store } from "../../backend/src/store/open-store.ts";

export interface TestClock extends Clock {
  set(iso: string): void;
  advance(ms: number): void;
}

export function createTestClock(start = "2026-11-20T12:00:00.000Z"): TestClock {
  let t = Date.parse(start);
  return {
    now: () => new Date(t),
    set: (iso) => {
      t = Date.parse(iso);
    },
    advance: (ms) => {
      t += ms;
    },
  };
}

export const TEST_SECRET = randomBytes(32).toString("base64");

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    DATABASE_URL: databaseUrl,
    PORT: "0",
    HOST: "127.0.0.1",
    RELAY_SECRET: TEST_SECRET,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    REGISTRATIONS_PER_HOUR: "10000",
    DELIVERY_POLL_MS: "50",
    ...env,
  });
}

export interface TestRelay {
  url: string;
  clock: TestClock;
  store: Store;
  sms: SmsProvider;
  outbox?: OutboxSms;
  running: Running;
  config: Config;
  sentMessages?: () => { to: string; body?: string }[];
  stop(): Promise<void>;
}

export async function startRelay(o: {
  databaseUrl?: string;
  store?: Store;
  sms?: SmsProvider | "outbox";
  clock?: TestClock;
  env?: Record<string, string>;
  runWorker?: boolean;
  /** where lastCode() finds sent messages when the provider is not the outbox or a recording one */
  sentMessages?: () => { to: string; body?: string }[];
}): Promise<TestRelay> {
  if (!o.databaseUrl && !o.store) throw new Error("startRelay: give databaseUrl or store");
  const config = testConfig(o.databaseUrl ?? (o.store!.dialect === "sqlite" ? "file:/unused/relay.db" : "postgres://unused/x"), o.env);
  const store = o.store ?? (await openStore(config.databaseUrl));
  const clock = o.clock ?? createTestClock();
  const outbox = !o.sms || o.sms === "outbox" ? createOutboxSms({ db: store.db, now: () => clock.now() }) : undefined;
  const sms = outbox ?? (o.sms as SmsProvider);
  const log = createLogger(config.logLevel);
  const running = await serve({ config, log, store, sms, clock, runWorker: o.runWorker, random: () => 0.5 });
  return {
    url: running.url,
    clock,
    store,
    sms,
    outbox,
    running,
    config,
    sentMessages: o.sentMessages,
    async stop() {
      await running.stop();
      if (!o.store) await store.close();
    },
  };
}

// --- a tiny client ---

export interface Answer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export async function call<T = any>(url: string, method: string, path: string, opts: { token?: string; json?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<Answer<T>> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers["content-type"] ??= "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.raw !== undefined) {
    headers["content-type"] ??= "application/json";
    body = opts.raw;
  }
  const res = await fetch(url + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed as T, headers: res.headers };
}

export async function register(url: string, body: Record<string, unknown> = { timezone: "America/New_York" }) {
  const r = await call<{ deviceId: string; token: string }>(url, "POST", "/v1/devices", { json: body });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The last 6-digit code recorded in the outbox for a number. */
export async function lastCode(relay: TestRelay, number: string): Promise<string> {
  await relay.running.worker.drain();
  if (relay.outbox) {
    const rows = await relay.outbox.list();
    const m = rows.find((r) => r.to === number && /\b\d{6}\b/.test(r.body));
    if (m) return /\b(\d{6})\b/.exec(m.body)![1];
  }
  const calls = relay.sentMessages?.() ?? (relay.sms as { calls?: { to: string; body?: string }[] }).calls ?? [];
  const c = [...calls].reverse().find((x) => x.to === number && /\b\d{6}\b/.test(x.body ?? ""));
  if (!c) throw new Error("no code was sent to " + number);
  return /\b(\d{6})\b/.exec(c.body!)![1];
}

/** Registers a wearer and confirms a phone number; returns the token. */
export async function verifiedWearer(relay: TestRelay, number = "+14155552671", extra: Record<string, unknown> = {}) {
  const { token, deviceId } = await register(relay.url, { timezone: "America/New_York", ...extra });
  const put = await call(relay.url, "PUT", "/v1/me/phone", { token, json: { number } });
  if (put.status !== 202) throw new Error(`phone: ${put.status} ${JSON.stringify(put.body)}`);
  const code = await lastCode(relay, number);
  const v = await call(relay.url, "POST", "/v1/me/phone/verify", { token, json: { code } });
  if (v.status !== 200) throw new Error(`verify: ${v.status} ${JSON.stringify(v.body)}`);
  return { token, deviceId };
}

let ev = 0;
export function battery(clock: Clock, level: number, over: Record<string, unknown> = {}) {
  return {
    eventId: `ev-${Date.now().toString(36)}-${++ev}`,
    level,
    charging: false,
    observedAt: clock.now().toISOString(),
    source: "watch",
    ...over,
  };
}
