// Three relay processes on one PostgreSQL database, one of them SIGKILLed and restarted again and
// again while battery events and daily summaries pour in through all three: every SMS and every
// post the answers promised reaches the fake Twilio and the fake X exactly once.
//
// HARDENING=full: 10,000 battery events and 1,000 summaries. The default run sends 1,000 and 100, to
// stay near 90 s on a shared 2-core machine (MULTI_PROCESS_EVENTS / _SUMMARIES set other counts).
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postText, type PostKind } from "../../backend/src/domain/summaries.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { FAKE_FROM, startFakeTwilio, type FakeTwilio } from "../helpers/fake-twilio.ts";
import { startFakeX, type FakeX } from "../helpers/fake-x.ts";
import { call, type TestRelay } from "../helpers/relay.ts";
import { killRelayProcess, startRelayProcess, type RelayProcess } from "../helpers/relay-process.ts";
import { linkX, xEnv } from "../helpers/relay-x.ts";

const FULL = process.env.HARDENING === "full";
const EVENTS = FULL ? 10_000 : Number(process.env.MULTI_PROCESS_EVENTS ?? 1_000);
const SUMMARIES = FULL ? 1_000 : Number(process.env.MULTI_PROCESS_SUMMARIES ?? 100);
const SMS_WEARERS = 40;
const X_WEARERS = 10;
const CONNECTIONS = 24;
const MIN_KILLS = 3;
/** the one process that is killed and restarted; the other two stay up */
const VICTIM = 2;
const START_MS = 90_000;

let db: TestDatabase;
let twilio: FakeTwilio;
let x: FakeX;
let env: Record<string, string>;
const procs: RelayProcess[] = [];
const urls: string[] = [];

beforeAll(async () => {
  db = await createTestDatabase("postgres");
  twilio = await startFakeTwilio();
  x = await startFakeX();
  env = {
    DATABASE_URL: db.url,
    PORT: "0",
    HOST: "127.0.0.1",
    RELAY_SECRET: randomBytes(32).toString("base64"),
    LOG_LEVEL: "warn",
    SMS_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: twilio.accountSid,
    TWILIO_AUTH_TOKEN: twilio.authToken,
    TWILIO_FROM: FAKE_FROM,
    TWILIO_API_URL: twilio.url,
    ...xEnv(x),
    DELIVERY_LEASE_MS: "2000",
    // below the lease, so a live claimer has always given up on its call before another may claim
    SEND_TIMEOUT_MS: "1000",
    DELIVERY_POLL_MS: "100",
    REGISTRATIONS_PER_HOUR: "100000",
    SMS_PER_NUMBER_DAILY: "100000",
    SMS_DAILY_BUDGET: "1000000",
    X_DAILY_POST_BUDGET: "1000000",
    X_POSTS_PER_ACCOUNT_DAILY: "100000",
  };
  // the first one migrates the fresh database; then the other two join it
  // (a busy 2-core machine can take many seconds to start a process)
  procs.push(await startRelayProcess(env, START_MS));
  const others = await Promise.allSettled([startRelayProcess(env, START_MS), startRelayProcess(env, START_MS)]);
  for (const o of others) if (o.status === "fulfilled") procs.push(o.value); // stopped in afterAll even if the other failed
  for (const o of others) if (o.status === "rejected") throw o.reason;
  urls.push(...procs.map((p) => p.url));
}, 4 * START_MS);

afterAll(async () => {
  await Promise.all(procs.map((p) => killRelayProcess(p, "SIGTERM")));
  await twilio?.close();
  await x?.close();
  await db?.drop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** As the companion does: a request that failed (its process died) is sent again, same eventId, to the next process. */
async function send(n: number, method: string, path: string, token: string, json: unknown): Promise<any> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const url = urls[(n + attempt) % urls.length]!;
    try {
      const r = await call(url, method, path, { token, json });
      if (r.status < 500) {
        if (r.status !== 202 && r.status !== 200) throw new Error(`${path}: ${r.status} ${JSON.stringify(r.body)}`);
        return r.body;
      }
    } catch (err) {
      if (!/fetch failed|ECONNRE|socket|other side closed/i.test(String((err as Error)?.message) + String((err as { cause?: unknown })?.cause))) throw err;
    }
    await sleep(25);
  }
  throw new Error(`${path}: no process answered`);
}

async function verifiedWearer(i: number): Promise<{ token: string; number: string }> {
  const number = `+1415555${3000 + i}`;
  const url = urls[i % urls.length]!;
  const { token } = (await call(url, "POST", "/v1/devices", { json: { timezone: "UTC" } })).body;
  const put = await call(url, "PUT", "/v1/me/phone", { token, json: { number } });
  if (put.status !== 202) throw new Error(`phone: ${put.status}`);
  for (let k = 0; k < 200; k++) {
    const m = twilio.messages.find((x) => x.to === number && /\b\d{6}\b/.test(x.body ?? ""));
    if (m) {
      const v = await call(url, "POST", "/v1/me/phone/verify", { token, json: { code: /\b(\d{6})\b/.exec(m.body!)![1] } });
      if (v.status !== 200) throw new Error(`verify: ${v.status}`);
      return { token, number };
    }
    await sleep(25);
  }
  throw new Error("no code reached " + number);
}

async function linkedWearer(): Promise<string> {
  const { token } = (await call(urls[0]!, "POST", "/v1/devices", { json: { timezone: "UTC", language: "en-US" } })).body;
  // linking is a browser flow on one relay; any process may handle it (here the one never killed)
  const linked = await linkX({ url: urls[0]! } as TestRelay, token);
  if (linked.status !== 200) throw new Error(`link: ${linked.status}`);
  return token;
}

type Job =
  | { kind: "battery"; wearer: number; body: { eventId: string; level: number; charging: boolean; observedAt: string; source: "watch" } }
  | { kind: "summary"; wearer: number; body: { eventId: string; date: string; activity: Record<string, number>; sleep: { minutesAsleep: number } } };

/** Mostly readings above the thresholds (20, 10), with a dip below each of them every 25 readings. */
function jobs(): Job[] {
  const perWearer = Math.ceil(EVENTS / SMS_WEARERS);
  const start = Date.now() - perWearer * 1_000 - 60_000;
  const out: Job[] = [];
  const run = randomBytes(3).toString("hex");
  for (let j = 0; j < EVENTS; j++) {
    const wearer = j % SMS_WEARERS;
    const k = Math.floor(j / SMS_WEARERS);
    const phase = k % 25;
    const level = phase === 22 ? 19 : phase === 23 ? 9 : 60 + (k % 30);
    out.push({ kind: "battery", wearer, body: { eventId: `mp-${run}-b${j}`, level, charging: false, observedAt: new Date(start + k * 1_000).toISOString(), source: "watch" } });
  }
  const perX = Math.ceil(SUMMARIES / X_WEARERS);
  const summaries: Job[] = [];
  for (let s = 0; s < SUMMARIES; s++) {
    const wearer = s % X_WEARERS;
    const d = Math.floor(s / X_WEARERS);
    const date = new Date(Date.now() - (perX - d + 2) * 86_400_000).toISOString().slice(0, 10);
    // figures unique per wearer and day, so every post's text is unique too
    const activity = { steps: 10_000 + wearer * 1_000 + d, distanceMeters: 5_000 + d, calories: 2_000 + wearer };
    summaries.push({ kind: "summary", wearer, body: { eventId: `mp-${run}-s${s}`, date, activity, sleep: { minutesAsleep: 300 + wearer * 100 + d } } });
  }
  // summaries spread evenly through the battery events
  const every = Math.max(1, Math.floor(out.length / Math.max(1, summaries.length)));
  const mixed: Job[] = [];
  for (let i = 0; i < out.length; i++) {
    mixed.push(out[i]!);
    if (i % every === 0 && summaries.length) mixed.push(summaries.shift()!);
  }
  return mixed.concat(summaries);
}

async function outstanding(): Promise<number> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    const r = await c.query(`select count(*)::int as n from deliveries where status in ('queued', 'sending')`);
    return r.rows[0].n;
  } finally {
    await c.end();
  }
}

async function deliveries(): Promise<{ channel: string; status: string; n: number }[]> {
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  try {
    return (await c.query(`select channel, status, count(*)::int as n from deliveries group by channel, status order by channel, status`)).rows;
  } finally {
    await c.end();
  }
}

describe("three relay processes on one PostgreSQL, one killed again and again", () => {
  it(
    "when events and summaries arrive through all three while one is SIGKILLed and restarted, then every SMS and post the answers promised goes out exactly once",
    async () => {
      const t0 = Date.now();
      const sms = await Promise.all(Array.from({ length: SMS_WEARERS }, (_, i) => verifiedWearer(i)));
      const linked: string[] = [];
      for (let i = 0; i < X_WEARERS; i++) linked.push(await linkedWearer());
      // every code went out before the load starts: what arrives from here on are alerts
      await twilio.waitForMessages(SMS_WEARERS, 10_000);
      const setupMessages = twilio.messages.length;
      expect(setupMessages).toBe(SMS_WEARERS);
      const setupMs = Date.now() - t0;

      const all = jobs();
      const answers = new Map<string, { job: Job; body: any }>();
      let next = 0;
      let kills = 0;
      let loadDone = false;
      let enoughKills!: () => void;
      const killsDone = new Promise<void>((r) => (enoughKills = r));
      // the last few requests wait for the last kill, so every kill lands while work is in flight
      const gate = Math.floor(all.length * 0.95);

      let killerFailed: unknown;
      const killer = (async () => {
        while (!loadDone || kills < MIN_KILLS) {
          await sleep(700 + Math.random() * 1_800); // a random moment
          await killRelayProcess(procs[VICTIM]!, "SIGKILL");
          kills++;
          if (kills >= MIN_KILLS) enoughKills();
          procs[VICTIM] = await startRelayProcess(env, START_MS);
          urls[VICTIM] = procs[VICTIM]!.url;
        }
      })().catch((err) => {
        killerFailed = err;
        loadDone = true;
        enoughKills(); // let the load finish; the failure is reported below
      });

      const tLoad = Date.now();
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (next < all.length) {
            const n = next++;
            if (n >= gate) await killsDone;
            const job = all[n]!;
            const body =
              job.kind === "battery"
                ? await send(n, "POST", "/v1/battery", sms[job.wearer]!.token, job.body)
                : await send(n, "POST", "/v1/summaries", linked[job.wearer]!, job.body);
            answers.set(job.body.eventId, { job, body });
            if (process.env.MULTI_PROCESS_PROGRESS && answers.size % 1000 === 0) console.log(`${answers.size} answered, ${kills} kills, ${Date.now() - tLoad} ms`);
          }
        }),
      );
      loadDone = true;
      await killer;
      if (killerFailed) throw killerFailed;
      const loadMs = Date.now() - tLoad;

      // the work of the last victim is taken over once its leases (2 s) run out
      const settleStart = Date.now();
      while ((await outstanding()) > 0 && Date.now() - settleStart < 60_000) await sleep(200);
      const settleMs = Date.now() - settleStart;
      expect(await outstanding()).toBe(0);

      // SMS: per wearer, as many alerts at Twilio as answers that said "sms"
      const promised = new Map<string, number>();
      const got = new Map<string, number>();
      for (const w of sms) {
        promised.set(w.number, 0);
        got.set(w.number, 0);
      }
      let smsPromised = 0;
      let postsPromised = 0;
      const expectedTexts: string[] = [];
      for (const { job, body } of answers.values()) {
        if (job.kind === "battery") {
          if (body.action === "sms") {
            const number = sms[job.wearer]!.number;
            promised.set(number, promised.get(number)! + 1);
            smsPromised++;
          }
        } else {
          for (const p of body.posts as { kind: PostKind; status: string }[]) {
            if (p.status !== "queued") continue;
            postsPromised++;
            const data = p.kind === "activity" ? job.body.activity : job.body.sleep;
            expectedTexts.push(postText(p.kind, job.body.date, data, "en-US")!);
          }
        }
      }
      for (const m of twilio.messages.slice(setupMessages)) got.set(m.to, (got.get(m.to) ?? 0) + 1);
      const byState = await deliveries();
      const recovered = procs.map((p) => p.stderr()).join("").split("found already sent").length - 1;
      const tweetRequests = x.requests.filter((r) => r.method === "POST" && r.path === "/2/tweets").length;
      console.log(
        JSON.stringify({
          events: EVENTS, summaries: SUMMARIES, kills, setupMs, loadMs, settleMs,
          smsPromised, smsAtTwilio: twilio.messages.length - setupMessages, postsPromised, postsAtX: x.tweets.length,
          tweetRequests, recoveredByLookupInSurvivors: recovered, deliveries: byState,
        }),
      );

      expect(answers.size).toBe(all.length);
      expect(kills).toBeGreaterThanOrEqual(MIN_KILLS);
      expect(smsPromised).toBeGreaterThan(0);
      expect(postsPromised).toBeGreaterThan(0);
      expect(Object.fromEntries(got)).toEqual(Object.fromEntries(promised));
      expect(x.tweets.map((t) => t.text).sort()).toEqual(expectedTexts.sort());
      // nothing dead-lettered or left behind
      expect(byState.filter((r) => r.status !== "sent")).toEqual([]);
      expect(twilio.specViolations).toEqual([]);
      expect(x.specViolations).toEqual([]);
    },
    FULL ? 1_800_000 : 300_000,
  );
});
