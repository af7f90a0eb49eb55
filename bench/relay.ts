// npm run bench:relay — accepted POST /v1/battery per second with the durable write, latency at a fixed
// 500 requests/s, the same against a bare node:http + better-sqlite3 server doing the same insert, and
// the time from an accepted alert to the (fake) provider receiving the SMS. Loopback only.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { loadConfig } from "../backend/src/config.ts";
import { systemClock } from "../backend/src/domain/deps.ts";
import { createLogger } from "../backend/src/http/logger.ts";
import { createOutboxSms } from "../backend/src/providers/outbox.ts";
import type { SmsProvider } from "../backend/src/providers/sms.ts";
import { serve } from "../backend/src/serve.ts";
import { openStore } from "../backend/src/store/open-store.ts";
import { closedLoop, fixedRate, pct, postJson, printTable } from "./load.ts";

const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 5_000);
const MAX_REQUESTS = Number(process.env.BENCH_MAX_REQUESTS ?? 40_000);
const FIXED_RATE = 500;
const FIXED_MS = Number(process.env.BENCH_FIXED_MS ?? 4_000);
const ALERTS = Number(process.env.BENCH_ALERTS ?? 40);

const closedOpts = { connections: CONNECTIONS, durationMs: DURATION_MS, maxRequests: MAX_REQUESTS };
const fixedOpts = { rate: FIXED_RATE, fixedMs: FIXED_MS };

function config(dir: string, env: Record<string, string> = {}) {
  return loadConfig({
    DATABASE_URL: `file:${join(dir, "relay.db")}`,
    PORT: "0",
    RELAY_SECRET: randomBytes(32).toString("base64"),
    LOG_LEVEL: "silent",
    REGISTRATIONS_PER_HOUR: "100000",
    SMS_PER_NUMBER_DAILY: "100",
    DELIVERY_POLL_MS: "500",
    ...env,
  });
}

async function benchRelay(dir: string) {
  const cfg = config(dir);
  const store = await openStore(cfg.databaseUrl, { synchronous: cfg.sqliteSynchronous });
  const relay = await serve({ config: cfg, log: createLogger("silent"), store, sms: createOutboxSms({ db: store.db }), clock: systemClock });
  const tokens: string[] = [];
  for (let i = 0; i < 50; i++) tokens.push((await postJson(relay.url, "/v1/devices", { timezone: "UTC" })).body.token);
  const run = randomBytes(3).toString("hex");
  await closedLoop(relay.url, tokens, `warm-${run}`, closedOpts); // warm-up, bounded by the same limits
  const throughput = await closedLoop(relay.url, tokens, `tp-${run}`, closedOpts);
  const latency = await fixedRate(relay.url, tokens, `fx-${run}`, fixedOpts);
  await relay.stop();
  await store.close();
  return { throughput, latency };
}

/** A bare node:http server doing the same durable insert into the same schema with better-sqlite3. */
async function benchBare(dir: string) {
  const cfg = config(dir);
  (await openStore(cfg.databaseUrl)).close(); // same migrations, same schema
  const db = new BetterSqlite3(cfg.databaseUrl.slice(5));
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${cfg.sqliteSynchronous}`);
  const insert = db.prepare(
    "insert into events (device_id, event_id, kind, observed_at, answer, created_at) values (?, ?, 'battery', ?, ?, ?) on conflict do nothing",
  );
  const server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      try {
        const ev = JSON.parse(body);
        const answer = JSON.stringify({ eventId: ev.eventId, action: "none", reason: "above_threshold" });
        insert.run("bare", ev.eventId, ev.observedAt, answer, new Date().toISOString());
        res.writeHead(202, { "content-type": "application/json" }).end(answer);
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const run = randomBytes(3).toString("hex");
  await closedLoop(url, [], `warm-${run}`, closedOpts);
  const throughput = await closedLoop(url, [], `tp-${run}`, closedOpts);
  const latency = await fixedRate(url, [], `fx-${run}`, fixedOpts);
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  db.close();
  return { throughput, latency };
}

/** Accepted alert (202 received) to the provider holding the SMS. */
async function benchAlertLatency(dir: string) {
  let provider = "in-process recording provider";
  let fake: any;
  let sms: SmsProvider;
  let receivedAt: (to: string) => number | undefined;
  try {
    const { startFakeTwilio } = await import("../test/helpers/fake-twilio.ts");
    const { createTwilioSms } = await import("../backend/src/providers/twilio.ts");
    fake = await startFakeTwilio();
    sms = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: "+15005550006", baseUrl: fake.url });
    provider = "twilio adapter -> fake Twilio (loopback HTTP)";
    receivedAt = (to) => {
      const m = fake.messages.find((x: any) => x.to === to && !/\d{6}/.test(x.body ?? ""));
      return m ? m.receivedAt.getTime() : undefined;
    };
  } catch {
    const got = new Map<string, number>();
    sms = {
      name: "outbox",
      async send(msg) {
        if (!/\d{6}/.test(msg.body)) got.set(msg.to, Date.now());
        return { providerId: msg.ref };
      },
    };
    receivedAt = (to) => got.get(to);
  }
  const env: Record<string, string> = fake
    ? { SMS_PROVIDER: "twilio", TWILIO_ACCOUNT_SID: fake.accountSid, TWILIO_AUTH_TOKEN: fake.authToken, TWILIO_FROM: "+15005550006", TWILIO_API_URL: fake.url }
    : {};
  const cfg = config(dir, env);
  const store = await openStore(cfg.databaseUrl);
  const relay = await serve({ config: cfg, log: createLogger("silent"), store, sms, clock: systemClock });
  const codes = new Map<string, string>();
  const codeOf = async (to: string) => {
    for (let i = 0; i < 200; i++) {
      if (fake) {
        const m = fake.messages.find((x: any) => x.to === to && /\d{6}/.test(x.body ?? ""));
        if (m) return /(\d{6})/.exec(m.body)![1];
      } else {
        const row = await store.db.selectFrom("deliveries").select("body").where("to_number", "=", to).where("kind", "=", "verification").executeTakeFirst();
        if (row) return /(\d{6})/.exec(row.body)![1];
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error("no code for " + to);
  };
  const wearers: { token: string; number: string }[] = [];
  for (let i = 0; i < ALERTS; i++) {
    const number = `+1415555${String(5000 + i)}`;
    const { token } = (await postJson(relay.url, "/v1/devices", { timezone: "UTC" })).body;
    await postJson(relay.url, "/v1/me/phone", { number }, token);
    codes.set(number, await codeOf(number));
    await postJson(relay.url, "/v1/me/phone/verify", { code: codes.get(number) }, token);
    wearers.push({ token, number });
  }
  const lat: number[] = [];
  for (const [i, w] of wearers.entries()) {
    const sentAt = Date.now(); // from the moment the alert is posted: includes the request itself
    const r = await postJson(relay.url, "/v1/battery", { eventId: `al-${i}`, level: 9, charging: false, observedAt: new Date().toISOString(), source: "watch" }, w.token);
    if (r.body?.action !== "sms") throw new Error("alert not accepted: " + JSON.stringify(r.body));
    for (let k = 0; k < 500 && receivedAt(w.number) === undefined; k++) await new Promise((res) => setTimeout(res, 1));
    const got = receivedAt(w.number);
    lat.push(got === undefined ? Infinity : got - sentAt);
    await new Promise((res) => setTimeout(res, 20));
  }
  await relay.stop();
  await store.close();
  await fake?.close();
  return { provider, p50: pct(lat, 50), p95: pct(lat, 95), max: Math.max(...lat), n: lat.length };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), "wr-bench-"));
  try {
    const relay = await benchRelay(join(dir, "relay"));
    const bare = await benchBare(join(dir, "bare"));
    const alert = await benchAlertLatency(join(dir, "alert"));
    const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : String(n));
    const rows = [
      ["", "relay (express+kysely)", "bare node:http+sqlite", "relay/bare"],
      ["accepted POST /v1/battery per s", f(relay.throughput.perSec, 0), f(bare.throughput.perSec, 0), f(relay.throughput.perSec / bare.throughput.perSec, 2)],
      [`p50 latency @${FIXED_RATE}/s (ms)`, f(relay.latency.p50, 2), f(bare.latency.p50, 2), f(relay.latency.p50 / bare.latency.p50, 2)],
      [`p99 latency @${FIXED_RATE}/s (ms)`, f(relay.latency.p99, 2), f(bare.latency.p99, 2), f(relay.latency.p99 / bare.latency.p99, 2)],
      ["non-202 answers", String(relay.throughput.other + relay.latency.bad), String(bare.throughput.other + bare.latency.bad), ""],
    ];
    console.log(`\nWristRelay relay bench: SQLite (synchronous=${process.env.SQLITE_SYNCHRONOUS ?? "NORMAL"}), ${CONNECTIONS} keep-alive connections, ${DURATION_MS} ms or ${MAX_REQUESTS} requests\n`);
    printTable(rows);
    console.log(`\nalert posted (202 sms) -> provider received (${alert.provider}, n=${alert.n}): p50 ${f(alert.p50)} ms, p95 ${f(alert.p95)} ms, max ${f(alert.max)} ms`);
    const targets = {
      throughputAtLeast1500: relay.throughput.perSec >= 1500,
      p99Under50ms: relay.latency.p99 < 50,
      alertP95Under200ms: alert.p95 < 200,
    };
    console.log(`targets: ${Object.entries(targets).map(([k, v]) => `${k}=${v ? "met" : "MISSED"}`).join(", ")}\n`);
    console.log(
      JSON.stringify({
        bench: "relay",
        db: "sqlite",
        connections: CONNECTIONS,
        relay: { acceptedPerSec: +relay.throughput.perSec.toFixed(1), requests: relay.throughput.ok, p50Ms: +relay.latency.p50.toFixed(2), p99Ms: +relay.latency.p99.toFixed(2), errors: relay.throughput.other + relay.latency.bad },
        bare: { acceptedPerSec: +bare.throughput.perSec.toFixed(1), requests: bare.throughput.ok, p50Ms: +bare.latency.p50.toFixed(2), p99Ms: +bare.latency.p99.toFixed(2) },
        ratios: {
          throughputRelayOverBare: +(relay.throughput.perSec / bare.throughput.perSec).toFixed(3),
          p50RelayOverBare: +(relay.latency.p50 / bare.latency.p50).toFixed(3),
          p99RelayOverBare: +(relay.latency.p99 / bare.latency.p99).toFixed(3),
        },
        alert: { provider: alert.provider, n: alert.n, p50Ms: +alert.p50.toFixed(1), p95Ms: +alert.p95.toFixed(1), maxMs: +alert.max.toFixed(1) },
        targets,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
