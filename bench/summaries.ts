// npm run bench:summaries [-- --wearers N] [--db sqlite|postgres] [--rate 500] [--concurrency C] [--max-seconds S]
// N wearers whose daily posts all fall due in the same minute. Measures the time to format and
// hand every post to a fake X that accepts `rate` posts per second and answers the rest 429 with
// x-rate-limit-reset (as X does), the relay's peak memory while it does so, and that no wearer is
// posted twice (the fake counts accepted tweets per wearer; each wearer has one post: one day, one kind).
//
// Setup does NOT go through HTTP: wearers, their linked X accounts (AES-GCM tokens, as the relay stores
// them), summaries and their deliveries are inserted through the store in batches of 1,000 rows inside
// transactions. The HTTP path is measured separately on a sample (POST /v1/summaries, accepted/s).
// The fake X runs in a child process (its own CPU and memory); the relay (app + worker) runs in this
// process. Loopback only; every loop is bounded by --max-seconds.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, request as httpRequest } from "node:http";
import { Worker } from "node:worker_threads";
import { loadConfig, type Config } from "../backend/src/config.ts";
import { systemClock } from "../backend/src/domain/deps.ts";
import { hashToken } from "../backend/src/domain/devices.ts";
import { newId } from "../backend/src/domain/ids.ts";
import { defaultPreferences } from "../backend/src/domain/preferences.ts";
import { encryptToken } from "../backend/src/domain/token-crypto.ts";
import { createLogger } from "../backend/src/http/logger.ts";
import { createOutboxSms } from "../backend/src/providers/outbox.ts";
import { serve } from "../backend/src/serve.ts";
import { openStore, type Store } from "../backend/src/store/open-store.ts";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const WEARERS = Number(arg("wearers", "100000"));
const DB_KIND = arg("db", "sqlite") as "sqlite" | "postgres";
const RATE = Number(arg("rate", "500"));
const CONCURRENCY = arg("concurrency", ""); // empty: the relay's default (DELIVERY_CONCURRENCY)
const MAX_SECONDS = Number(arg("max-seconds", String(Math.ceil((WEARERS / RATE) * 2) + 120)));
const HTTP_SAMPLE = Number(arg("http-sample", String(Math.min(2000, WEARERS))));
const HTTP_CONNECTIONS = Number(arg("http-connections", "16"));
const BATCH = 1000;
const BASELINE_POSTS = Number(arg("baseline-posts", String(Math.min(WEARERS, 5 * RATE))));
/** the baseline's bearer tokens ("bench-<n>") start here, clear of the wearers' */
const BASELINE_IDS = 50_000_000;
const THROUGHPUT_TARGET = RATE * 0.9;
const MEMORY_TARGET_MB = 300;
if (!(WEARERS > 0 && RATE > 0 && MAX_SECONDS > 0)) throw new Error("--wearers, --rate and --max-seconds must be positive");

// ---------------------------------------------------------------------------------------------
// The fake X: POST /2/tweets with a bearer token "bench-<n>"; at most RATE accepted per wall-clock
// second (fixed window), the rest 429 with x-rate-limit-reset = the next second (epoch s).
const FAKE_X = `
const http = require("node:http");
const rate = Number(process.env.FAKE_X_RATE);
const perWearer = new Map();
let windowSec = 0, inWindow = 0, accepted = 0, limited = 0, unauthorized = 0, firstAt = 0, lastAt = 0, nextId = 1870000000000000000n;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    if (req.method === "GET" && req.url === "/stats") {
      let twice = 0, maxPerWearer = 0;
      for (const n of perWearer.values()) { if (n > 1) twice++; if (n > maxPerWearer) maxPerWearer = n; }
      res.writeHead(200, { "content-type": "application/json" });
      return res.end(JSON.stringify({ accepted, limited, unauthorized, wearers: perWearer.size, postedTwice: twice, maxPerWearer, firstAt, lastAt }));
    }
    if (req.method !== "POST" || req.url !== "/2/tweets") { res.writeHead(404); return res.end(); }
    const m = /^Bearer bench-(\\d+)$/.exec(req.headers.authorization || "");
    if (!m) {
      unauthorized++;
      res.writeHead(401, { "content-type": "application/problem+json" });
      return res.end(JSON.stringify({ title: "Unauthorized", type: "about:blank", status: 401, detail: "Unauthorized" }));
    }
    const now = Date.now();
    const sec = Math.floor(now / 1000);
    if (sec !== windowSec) { windowSec = sec; inWindow = 0; }
    if (inWindow >= rate) {
      limited++;
      res.writeHead(429, { "content-type": "application/problem+json", "x-rate-limit-limit": String(rate), "x-rate-limit-remaining": "0", "x-rate-limit-reset": String(sec + 1) });
      return res.end(JSON.stringify({ title: "Too Many Requests", detail: "Too Many Requests", type: "about:blank", status: 429 }));
    }
    let text = "";
    try { text = JSON.parse(Buffer.concat(chunks).toString("utf8")).text; } catch {}
    if (typeof text !== "string" || text === "") { res.writeHead(400); return res.end("{}"); }
    inWindow++;
    accepted++;
    if (!firstAt) firstAt = now;
    lastAt = now;
    perWearer.set(m[1], (perWearer.get(m[1]) || 0) + 1);
    const id = String(nextId++);
    res.writeHead(201, { "content-type": "application/json", "x-rate-limit-limit": String(rate), "x-rate-limit-remaining": String(rate - inWindow), "x-rate-limit-reset": String(sec + 1) });
    res.end(JSON.stringify({ data: { id, text, edit_history_tweet_ids: [id] } }));
  });
});
server.keepAliveTimeout = 30000;
server.listen(0, "127.0.0.1", () => process.stdout.write(JSON.stringify({ port: server.address().port }) + "\\n"));
`;

interface FakeStats { accepted: number; limited: number; unauthorized: number; wearers: number; postedTwice: number; maxPerWearer: number; firstAt: number; lastAt: number }

async function startFakeX(): Promise<{ url: string; child: ChildProcess; stats(): Promise<FakeStats>; close(): void }> {
  const child = spawn(process.execPath, ["-e", FAKE_X], { env: { ...process.env, FAKE_X_RATE: String(RATE) }, stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let buf = "";
    const t = setTimeout(() => reject(new Error("fake X did not start")), 10_000);
    child.stdout!.on("data", (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        clearTimeout(t);
        resolve(JSON.parse(buf.slice(0, nl)).port);
      }
    });
    child.once("exit", (code) => reject(new Error(`fake X exited ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    child,
    stats: async () => (await (await fetch(url + "/stats")).json()) as FakeStats,
    close: () => void child.kill("SIGTERM"),
  };
}

// ---------------------------------------------------------------------------------------------
// The HTTP sample's load generator, in a worker thread (its own event loop), keep-alive connections.
const LOADGEN = `
const { parentPort, workerData: w } = require("node:worker_threads");
const http = require("node:http");
const base = new URL(w.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: w.connections });
function send(i) {
  const b = JSON.stringify({ eventId: "sum-" + i, date: w.date, activity: { steps: 4000 + i, distanceMeters: 3000 + i, calories: 1900 }, sleep: { minutesAsleep: 400 } });
  return new Promise((resolve) => {
    const req = http.request({ agent, host: base.hostname, port: base.port, method: "POST", path: "/v1/summaries",
      headers: { "content-type": "application/json", "content-length": Buffer.byteLength(b), authorization: "Bearer " + w.tokens[i] } }, (res) => {
      const cs = [];
      res.on("data", (c) => cs.push(c));
      res.on("end", () => {
        let queued = false;
        try { queued = res.statusCode === 202 && JSON.parse(Buffer.concat(cs).toString()).posts.every((p) => p.status === "queued"); } catch {}
        resolve(queued);
      });
    });
    req.on("error", () => resolve(false));
    req.end(b);
  });
}
(async () => {
  let i = 0, ok = 0, bad = 0;
  const start = performance.now();
  const one = async () => { while (i < w.tokens.length && performance.now() - start < w.maxMs) { if (await send(i++)) ok++; else bad++; } };
  await Promise.all(Array.from({ length: w.connections }, one));
  const secs = (performance.now() - start) / 1000;
  agent.destroy();
  parentPort.postMessage({ ok, bad, secs });
})();
`;

function httpSample(url: string, tokens: string[], date: string): Promise<{ ok: number; bad: number; secs: number }> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(LOADGEN, { eval: true, workerData: { url, tokens, date, connections: HTTP_CONNECTIONS, maxMs: 60_000 } });
    worker.once("message", (m) => {
      resolve(m as { ok: number; bad: number; secs: number });
      void worker.terminate();
    });
    worker.once("error", reject);
  });
}

// ---------------------------------------------------------------------------------------------
// The baseline, measured in the same run: a bare client (node:http, keep-alive, the worker's
// concurrency) posting straight to the fake X with no relay work around it, waiting out each 429
// until x-rate-limit-reset. What the fake and loopback allow at best; the relay is compared with it.
async function baseline(url: string, posts: number, concurrency: number): Promise<{ perSec: number; limited: number; secs: number }> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  const target = new URL("/2/tweets", url);
  const one = (i: number) =>
    new Promise<{ status: number; resetMs: number }>((resolve, reject) => {
      const body = JSON.stringify({ text: `baseline post ${i}` });
      const headers = { authorization: `Bearer bench-${BASELINE_IDS + i}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
      const req = httpRequest(target, { method: "POST", agent, headers }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, resetMs: Number(res.headers["x-rate-limit-reset"]) * 1000 }));
      });
      req.on("error", reject);
      req.end(body);
    });
  let next = 0;
  let limited = 0;
  let pausedUntil = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < posts) {
        const i = next++;
        for (;;) {
          if (pausedUntil > Date.now()) await sleep(pausedUntil - Date.now());
          const r = await one(i);
          if (r.status !== 429) break;
          limited++;
          pausedUntil = Math.max(pausedUntil, r.resetMs);
        }
      }
    }),
  );
  const secs = (performance.now() - start) / 1000;
  agent.destroy();
  return { perSec: posts / secs, limited, secs };
}

// ---------------------------------------------------------------------------------------------
// Bulk setup through the store.

const SAMPLE_ACTIVITY = { steps: 8432, distanceMeters: 6120, calories: 2140, floors: 9, activeZoneMinutes: 34, caloriesBMR: 1580, sedentaryMinutes: 612, lightlyActiveMinutes: 187, fairlyActiveMinutes: 21, veryActiveMinutes: 13 };

async function insertWearers(store: Store, cfg: Config, o: { from: number; count: number; date: string | null; dueAt: string; withTokens: boolean }): Promise<string[]> {
  const now = new Date();
  const nowIso = now.toISOString();
  const expires = new Date(now.getTime() + 2 * 3_600_000).toISOString();
  const prefs = JSON.stringify(defaultPreferences());
  const tokens: string[] = [];
  for (let start = 0; start < o.count; start += BATCH * 10) {
    await store.db.transaction().execute(async (tx) => {
      for (let b = start; b < Math.min(o.count, start + BATCH * 10); b += BATCH) {
        const n = Math.min(BATCH, o.count - b);
        const devices = [], accounts = [], summaries = [], deliveries = [];
        for (let k = 0; k < n; k++) {
          const i = o.from + b + k;
          const id = `dev_bench_${i}`;
          const token = o.withTokens ? randomBytes(24).toString("base64url") : `unused-${i}-${randomBytes(6).toString("hex")}`;
          if (o.withTokens) tokens.push(token);
          devices.push({
            id, token_hash: hashToken(token), timezone: "UTC", language: i % 10 === 0 ? "ja-JP" : "en-US", model: null, app_version: null, preferences: prefs,
            created_at: nowIso, last_seen_at: null, last_level: null, last_observed_at: null, alerted: "[]", silence_alerted: 0, phone_number: null, phone_verified: 0,
          });
          accounts.push({
            device_id: id, x_user_id: String(2_000_000_000 + i), username: `bench${i}`,
            access_token: encryptToken(cfg.secret, `bench-${i}`, id), refresh_token: encryptToken(cfg.secret, `bench-rt-${i}`, id),
            expires_at: expires, status: "linked", created_at: nowIso, updated_at: nowIso,
          });
          if (o.date) {
            const deliveryId = newId("dl", now);
            const data = { ...SAMPLE_ACTIVITY, steps: 1000 + (i % 20_000), distanceMeters: 800 + (i % 15_000) };
            summaries.push({ device_id: id, date: o.date, kind: "activity", data: JSON.stringify(data), status: "queued", due_at: o.dueAt, delivery_id: deliveryId, created_at: nowIso });
            deliveries.push({
              id: deliveryId, device_id: id, channel: "x" as const, kind: "activity", to_number: null, body: o.date, status: "queued", attempts: 0,
              next_attempt_at: o.dueAt, claimed_until: null, claimed_by: null, provider_id: null, error: null, event_id: `bench-${i}`,
              created_at: nowIso, sent_at: null, updated_at: nowIso,
            });
          }
        }
        await tx.insertInto("devices").values(devices).execute();
        await tx.insertInto("x_accounts").values(accounts).execute();
        if (summaries.length) {
          await tx.insertInto("summaries").values(summaries).execute();
          await tx.insertInto("deliveries").values(deliveries).execute();
        }
      }
    });
  }
  return tokens;
}

// ---------------------------------------------------------------------------------------------

const mb = (bytes: number) => bytes / (1024 * 1024);
function vmHwmMb(): number | null {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}
/** Resets the kernel's peak-RSS mark (Linux: clear_refs 5), so VmHWM covers the delivery phase only. */
function resetHwm(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function openDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (DB_KIND === "postgres") {
    const { createTestDatabase } = await import("../test/helpers/db.ts");
    return createTestDatabase("postgres");
  }
  const dir = mkdtempSync(join(tmpdir(), "wr-bench-summaries-"));
  return { url: `file:${join(dir, "relay.db")}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs the bulk insert in a fresh process (this file with BENCH_SETUP_CHILD set) on the same database. */
async function setupInChild(cfg: Config, o: { date: string; dueAt: string }): Promise<void> {
  const child = spawn(process.execPath, ["--import", "tsx", __filename], {
    env: { ...process.env, BENCH_SETUP_CHILD: JSON.stringify({ url: cfg.databaseUrl, secret: cfg.secret.toString("base64"), count: WEARERS, ...o }) },
    stdio: ["ignore", "inherit", "inherit"],
  });
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  if (code !== 0) throw new Error(`setup child exited ${code}`);
}

async function setupChild(raw: string) {
  const o = JSON.parse(raw) as { url: string; secret: string; count: number; date: string; dueAt: string };
  const cfg = loadConfig({ DATABASE_URL: o.url, RELAY_SECRET: o.secret, LOG_LEVEL: "silent" });
  const store = await openStore(o.url, { migrate: false });
  try {
    await insertWearers(store, cfg, { from: 0, count: o.count, date: o.date, dueAt: o.dueAt, withTokens: false });
  } finally {
    await store.close();
  }
}

async function main() {
  const db = await openDatabase();
  const fake = await startFakeX();
  let store: Store | undefined;
  try {
    const cfg = loadConfig({
      DATABASE_URL: db.url,
      PORT: "0",
      HOST: "127.0.0.1",
      RELAY_SECRET: randomBytes(32).toString("base64"),
      LOG_LEVEL: "silent",
      X_PROVIDER: "x",
      X_CLIENT_ID: "bench-client",
      X_CLIENT_SECRET: "bench-secret",
      X_API_URL: fake.url,
      X_AUTHORIZE_URL: fake.url + "/i/oauth2/authorize",
      // the relay's own daily X budget (default 500) would stop the run: raised above the run's size
      X_DAILY_POST_BUDGET: String(WEARERS * 2 + HTTP_SAMPLE * 2),
      ...(CONCURRENCY ? { DELIVERY_CONCURRENCY: CONCURRENCY } : {}),
    });
    store = await openStore(cfg.databaseUrl, { synchronous: cfg.sqliteSynchronous });
    // the worker is started by hand once the rows are in, so the clock starts with all posts due
    const relay = await serve({ config: cfg, log: createLogger("silent"), store, sms: createOutboxSms({ db: store.db }), clock: systemClock, runWorker: false });

    const now = new Date();
    const today = now.toISOString().slice(0, 10);
    const yesterday = new Date(now.getTime() - 86_400_000).toISOString().slice(0, 10);
    const dueMinute = new Date(Math.floor(now.getTime() / 60_000) * 60_000).toISOString();

    // 1. the HTTP path on a sample: wearers with known tokens and linked accounts, one POST /v1/summaries
    //    each (for today: due tomorrow, so these do not join the delivery run)
    const sampleTokens = await insertWearers(store, cfg, { from: 10_000_000, count: HTTP_SAMPLE, date: null, dueAt: dueMinute, withTokens: true });
    const http = HTTP_SAMPLE > 0 ? await httpSample(relay.url, sampleTokens, today) : { ok: 0, bad: 0, secs: 1 };

    // the baseline (before the setup, so its garbage is not the relay's)
    const base = BASELINE_POSTS > 0 ? await baseline(fake.url, BASELINE_POSTS, cfg.delivery.concurrency) : { perSec: NaN, limited: 0, secs: 0 };

    // 2. bulk setup: N wearers, all due in the same minute
    const setupStart = performance.now();
    // in a child process, so the relay's memory below is not inflated by the setup's garbage
    await setupInChild(cfg, { date: yesterday, dueAt: dueMinute });
    const setupSecs = (performance.now() - setupStart) / 1000;
    const rssAfterSetup = mb(process.memoryUsage().rss);

    // 3. deliver: start the worker and wait until every post is sent or dead (bounded)
    const hwmReset = resetHwm();
    let peakRss = mb(process.memoryUsage().rss);
    let atPeak = process.memoryUsage();
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      if (mb(m.rss) > peakRss) {
        peakRss = mb(m.rss);
        atPeak = m;
      }
    }, 100);
    const before = await fake.stats(); // the baseline's posts are not the relay's
    const t0 = Date.now();
    const cpu0 = process.cpuUsage();
    relay.worker.start();
    let done = { sent: 0, dead: 0 };
    let lastLog = t0;
    while (Date.now() - t0 < MAX_SECONDS * 1000) {
      await sleep(500);
      // cheap on purpose (the bench shares the relay's event loop): accepted from the fake, dead by the status index
      const dead = await store.db.selectFrom("deliveries").select((eb) => eb.fn.countAll<number>().as("n")).where("status", "=", "dead").executeTakeFirstOrThrow();
      done = { sent: (await fake.stats()).accepted - before.accepted, dead: Number(dead.n) };
      if (Date.now() - lastLog >= 10_000) {
        lastLog = Date.now();
        const s = await fake.stats();
        process.stderr.write(`  ${((lastLog - t0) / 1000).toFixed(0)} s: sent ${done.sent}, dead ${done.dead}, fake accepted ${s.accepted}, 429s ${s.limited}, rss ${mb(process.memoryUsage().rss).toFixed(0)} MB\n`);
      }
      if (done.sent + done.dead >= WEARERS) break;
    }
    const tEnd = Date.now();
    const cpu = process.cpuUsage(cpu0);
    clearInterval(sampler);
    const hwm = vmHwmMb();
    await relay.stop();
    const all = await fake.stats();
    const stats = { ...all, accepted: all.accepted - before.accepted, limited: all.limited - before.limited };
    const sentRow = await store.db.selectFrom("deliveries").select((eb) => eb.fn.countAll<number>().as("n")).where("body", "=", yesterday).where("status", "=", "sent").executeTakeFirstOrThrow();
    done.sent = Number(sentRow.n);
    const attempts = await store.db
      .selectFrom("deliveries")
      .select([(eb) => eb.fn.sum<number>("attempts").as("sum"), (eb) => eb.fn.max("attempts").as("max")])
      .where("body", "=", yesterday)
      .executeTakeFirstOrThrow();
    const deadReasons = await store.db
      .selectFrom("deliveries")
      .select(["error", (eb) => eb.fn.countAll<number>().as("n")])
      .where("body", "=", yesterday)
      .where("status", "=", "dead")
      .groupBy("error")
      .execute();

    const completed = done.sent + done.dead >= WEARERS;
    const handSecs = ((stats.lastAt || tEnd) - t0) / 1000;
    const perSec = stats.accepted / Math.max(0.001, handSecs);
    const peakMb = Math.max(peakRss, hwmReset && hwm !== null ? hwm : 0);
    const targets = {
      allPosted: completed && done.sent === WEARERS && stats.accepted === WEARERS,
      throughputWithin10PctOfLimit: perSec >= THROUGHPUT_TARGET,
      memoryUnder300MB: peakMb < MEMORY_TARGET_MB,
      noneTwice: stats.postedTwice === 0,
    };
    const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : String(n));
    const rows: string[][] = [
      ["", "value", "target"],
      ["wearers (1 post each, due in the same minute)", String(WEARERS), ""],
      ["setup: bulk insert via store (s)", f(setupSecs, 1), "(not HTTP)"],
      [`HTTP POST /v1/summaries accepted/s (n=${HTTP_SAMPLE}, ${HTTP_CONNECTIONS} conns)`, f(http.ok / http.secs, 0), ""],
      ["posts accepted by fake X", String(stats.accepted), String(WEARERS)],
      ["time to hand all to X (s)", completed ? f(handSecs, 1) : `>${f(handSecs, 1)} (incomplete)`, f(WEARERS / RATE, 1)],
      [`throughput (posts/s, fake limit ${RATE}/s)`, f(perSec, 1), `>= ${f(THROUGHPUT_TARGET, 0)}`],
      [`baseline: bare client straight to the fake X (posts/s, n=${BASELINE_POSTS}, ${cfg.delivery.concurrency} at a time, no relay)`, f(base.perSec, 1), ""],
      ["relay throughput / baseline", f(perSec / base.perSec, 3), ""],
      ["429 answers from fake X", String(stats.limited), ""],
      ["attempts per post (mean / max)", `${f(Number(attempts.sum ?? 0) / WEARERS, 2)} / ${attempts.max ?? 0}`, ""],
      ["dead-lettered", String(done.dead), "0"],
      ["posted twice (wearer+day+kind)", String(stats.postedTwice), "0"],
      ["relay CPU per post (ms, user+system; shows cost apart from other load on the machine)", f((cpu.user + cpu.system) / 1000 / Math.max(1, stats.accepted), 3), `<= ${f(1000 / THROUGHPUT_TARGET, 3)}`],
      ["relay peak RSS during delivery (MB)", f(peakMb, 1), `< ${MEMORY_TARGET_MB}`],
      ["relay RSS after setup (MB)", f(rssAfterSetup, 1), ""],
      ["at the peak: V8 heap used / heap total / external / array buffers (MB)", [atPeak.heapUsed, atPeak.heapTotal, atPeak.external, atPeak.arrayBuffers].map((b) => f(mb(b), 0)).join(" / "), ""],
    ];
    const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    const concurrency = cfg.delivery.concurrency;
    console.log(
      `\nWristRelay summaries bench: ${DB_KIND}, ${WEARERS} wearers, fake X ${RATE}/s (429 + x-rate-limit-reset above it), worker concurrency ${concurrency}, poll ${cfg.delivery.pollMs} ms`,
    );
    console.log(`setup (in a separate process) inserted directly through the store in transactions of ${BATCH * 10} rows (batches of ${BATCH}), not through HTTP; the HTTP path is the sample row\n`);
    for (const r of rows) console.log(r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
    if (deadReasons.length) console.log(`\ndead reasons: ${deadReasons.map((r) => `${r.error} x${r.n}`).join(", ")}`);
    console.log(`memory: ${hwmReset ? "max of sampled rss (100 ms) and VmHWM reset after setup" : "sampled rss (100 ms)"}; the fake X runs in a child process and is not counted`);
    console.log(`targets: ${Object.entries(targets).map(([k, v]) => `${k}=${v ? "met" : "MISSED"}`).join(", ")}\n`);
    console.log(
      JSON.stringify({
        bench: "summaries",
        db: DB_KIND,
        wearers: WEARERS,
        fakeRatePerSec: RATE,
        workerConcurrency: concurrency,
        setup: { method: "store bulk insert (transactions, separate process)", secs: +setupSecs.toFixed(2) },
        http: { sample: HTTP_SAMPLE, connections: HTTP_CONNECTIONS, acceptedPerSec: +(http.ok / http.secs).toFixed(1), accepted: http.ok, failed: http.bad },
        delivery: {
          completed,
          handAllSecs: +handSecs.toFixed(2),
          postsPerSec: +perSec.toFixed(1),
          cpuMsPerPost: +((cpu.user + cpu.system) / 1000 / Math.max(1, stats.accepted)).toFixed(3),
          accepted: stats.accepted,
          sent: done.sent,
          dead: done.dead,
          limited429: stats.limited,
          meanAttempts: +(Number(attempts.sum ?? 0) / WEARERS).toFixed(3),
          maxAttempts: Number(attempts.max ?? 0),
          postedTwice: stats.postedTwice,
          maxPerWearer: stats.maxPerWearer,
        },
        memory: { peakRssMb: +peakMb.toFixed(1), sampledPeakRssMb: +peakRss.toFixed(1), vmHwmMb: hwm === null ? null : +hwm.toFixed(1), hwmResetAfterSetup: hwmReset, rssAfterSetupMb: +rssAfterSetup.toFixed(1),
          atPeakMb: { heapUsed: +mb(atPeak.heapUsed).toFixed(1), heapTotal: +mb(atPeak.heapTotal).toFixed(1), external: +mb(atPeak.external).toFixed(1), arrayBuffers: +mb(atPeak.arrayBuffers).toFixed(1) } },
        baseline: { method: "bare node:http client to the fake X, same concurrency", posts: BASELINE_POSTS, postsPerSec: +base.perSec.toFixed(1), limited429: base.limited, secs: +base.secs.toFixed(2) },
        ratios: { throughputOverLimit: +(perSec / RATE).toFixed(3), throughputOverBaseline: +(perSec / base.perSec).toFixed(3), peakMemoryOverTarget: +(peakMb / MEMORY_TARGET_MB).toFixed(3) },
        targets,
      }),
    );
  } finally {
    fake.close();
    await store?.close();
    await db.drop();
  }
}

(process.env.BENCH_SETUP_CHILD ? setupChild(process.env.BENCH_SETUP_CHILD) : main()).catch((err) => {
  console.error(err);
  process.exit(1);
});
