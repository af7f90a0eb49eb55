// Twilio and X misbehaving for ten minutes of simulated time: half of all calls fail (5xx, 429 with
// a reset time, an answer slower than SEND_TIMEOUT_MS, a body cut short), through a chaos proxy in
// front of the fakes. The relay runs in this process on a test clock; the worker is driven by hand
// and the clock moved past the backoffs. Everything ends delivered or dead-lettered with a reason,
// no delivery uses more than DELIVERY_MAX_ATTEMPTS, and the calls to the providers stay bounded.
import { afterEach, describe, expect, it } from "vitest";
import { runCloudTick } from "../../../backend/src/domain/cloud-scheduler.ts";
import { createLogger } from "../../../backend/src/http/logger.ts";
import { createGoogleHealthClient } from "../../../backend/src/providers/google-health.ts";
import { createOutboxSms } from "../../../backend/src/providers/outbox.ts";
import { createTwilioSms } from "../../../backend/src/providers/twilio.ts";
import { serve, type Running } from "../../../backend/src/serve.ts";
import { openStore, type Store } from "../../../backend/src/store/open-store.ts";
import { createTestDatabase, DB_KINDS, type DbKind } from "../../helpers/db.ts";
import { FAKE_FROM, startFakeTwilio } from "../../helpers/fake-twilio.ts";
import { startFakeX } from "../../helpers/fake-x.ts";
import { startFakeGoogle } from "../../helpers/fake-google.ts";
import { createTestClock, testConfig, verifiedWearer, type TestRelay } from "../../helpers/relay.ts";
import { linkGoogle } from "../../backend/cloud-fixtures.ts";
import { xEnv } from "../../helpers/relay-x.ts";
import { callUntilAnswered, compareCounts, linkXOver, seededRandom, sleep, startChaosProxy, tally, type Fault, type Wearer, wearerNumber } from "../helpers/faults.ts";
import { reportFigures, scale } from "../profile.ts";

const SIMULATED_MS = 10 * 60_000;
const STEP_MS = scale(10_000, 2_000);
const WEARERS = scale(4, 12);
const SEND_TIMEOUT_MS = 300;
const MAX_ATTEMPTS = 8;

let cleanup: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.reverse()) await Promise.resolve().then(c).catch(() => {});
  cleanup = [];
});

/** Half of the calls fail, each way a quarter of the time; `rateLimit` builds the provider's 429. */
function chaos(random: () => number, rateLimit: () => Fault): () => Fault | undefined {
  return () => {
    if (random() >= 0.5) return undefined;
    const r = random();
    if (r < 0.25) return { kind: "status", status: [500, 502, 503][Math.floor(random() * 3)]! };
    if (r < 0.5) return rateLimit();
    // slower than the client waits; the provider acts on it anyway half of the time
    if (r < 0.75) return { kind: "slow", ms: SEND_TIMEOUT_MS * 2 + 100, passOn: random() < 0.5 };
    return { kind: "malformed" };
  };
}

describe.each(DB_KINDS)("providers failing half the time (%s)", (kind: DbKind) => {
  it("when Twilio and X fail half of the calls for ten simulated minutes (5xx, 429 with reset, slow answers, malformed bodies), then every SMS and post is delivered or dead-lettered with a reason, no delivery goes past DELIVERY_MAX_ATTEMPTS, and the calls per delivery stay bounded", async () => {
    const db = await createTestDatabase(kind);
    cleanup.push(() => db.drop());
    const twilio = await startFakeTwilio();
    cleanup.push(() => twilio.close());
    const x = await startFakeX();
    cleanup.push(() => x.close());
    const clock = createTestClock(new Date().toISOString());
    const random = seededRandom(kind === "sqlite" ? 31 : 32);
    const twilioChaos = chaos(random, () => ({ kind: "status", status: 429, headers: { "retry-after": String(10 + Math.floor(random() * 50)) } }));
    const xChaos = chaos(random, () => {
      const reset = Math.floor(clock.now().getTime() / 1000) + 10 + Math.floor(random() * 50);
      return { kind: "status", status: 429, headers: { "x-rate-limit-limit": "100", "x-rate-limit-remaining": "0", "x-rate-limit-reset": String(reset) }, body: JSON.stringify({ title: "Too Many Requests", detail: "Too Many Requests", type: "about:blank", status: 429 }) };
    });
    const twilioProxy = await startChaosProxy(twilio.url, () => twilioChaos());
    cleanup.push(() => twilioProxy.close());
    const xProxy = await startChaosProxy(x.url, (r) => (r.path === "/2/tweets" ? xChaos() : undefined));
    cleanup.push(() => xProxy.close());
    twilioProxy.enabled = false;
    xProxy.enabled = false;

    const config = testConfig(db.url, {
      ...xEnv(x, { X_API_URL: xProxy.url }),
      SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS),
      DELIVERY_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
      SMS_PER_NUMBER_DAILY: "1000",
      X_POSTS_PER_ACCOUNT_DAILY: "1000",
    });
    const store: Store = await openStore(config.databaseUrl);
    cleanup.push(() => store.close());
    const sms = createTwilioSms({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: FAKE_FROM, baseUrl: twilioProxy.url, timeoutMs: SEND_TIMEOUT_MS });
    const running: Running = await serve({ config, log: createLogger(config.logLevel), store, sms, clock, runWorker: false, random: () => 0.5 });
    cleanup.push(() => running.stop());
    const url = running.url;

    // wearers with a confirmed number and a linked X account, before the chaos starts
    const wearers: Wearer[] = [];
    for (let i = 0; i < WEARERS; i++) {
      const reg = await callUntilAnswered<{ deviceId: string; token: string }>(url, "POST", "/v1/devices", { json: { timezone: "UTC" } });
      const w: Wearer = { index: i, deviceId: reg.body.deviceId, token: reg.body.token, number: wearerNumber(200 + i), xLinked: false };
      await callUntilAnswered(url, "PUT", "/v1/me/phone", { token: w.token, json: { number: w.number } });
      await running.worker.drain();
      const code = /\b(\d{6})\b/.exec(twilio.messages.filter((m) => m.to === w.number).pop()!.body!)![1];
      expect((await callUntilAnswered(url, "POST", "/v1/me/phone/verify", { token: w.token, json: { code } })).status).toBe(200);
      await callUntilAnswered(url, "PATCH", "/v1/me", { token: w.token, json: { preferences: { quietHours: null } } });
      await linkXOver(url, w);
      wearers.push(w);
    }
    const codes = twilio.messages.length;
    twilioProxy.enabled = true;
    xProxy.enabled = true;

    // each wearer: under 20, under 10 (two SMS), and yesterday's summary (two posts)
    const yesterday = new Date(clock.now().getTime() - 86_400_000).toISOString().slice(0, 10);
    for (const w of wearers) {
      for (const [n, level] of [[1, 18], [2, 8]] as const) {
        clock.advance(1_000);
        const r = await callUntilAnswered<{ action: string }>(url, "POST", "/v1/battery", {
          token: w.token,
          json: { eventId: `p-${w.index}-${n}`, level, charging: false, observedAt: clock.now().toISOString(), source: "watch" },
        });
        expect(r.body.action).toBe("sms");
      }
      const s = await callUntilAnswered<{ posts: { status: string }[] }>(url, "POST", "/v1/summaries", {
        token: w.token,
        json: { eventId: `p-sum-${w.index}`, date: yesterday, activity: { steps: 5000 + w.index, distanceMeters: 4000, calories: 2100 }, sleep: { minutesAsleep: 300 + w.index } },
      });
      expect(s.body.posts.map((p) => p.status)).toEqual(["queued", "queued"]);
    }

    // ten simulated minutes: drain, let slow answers land, move the clock past the backoffs
    const t0 = clock.now().getTime();
    let steps = 0;
    while (clock.now().getTime() - t0 < SIMULATED_MS) {
      await running.worker.drain();
      await sleep(20);
      clock.advance(STEP_MS);
      steps++;
    }
    twilioProxy.enabled = false;
    xProxy.enabled = false;
    await running.worker.drain();
    await sleep(SEND_TIMEOUT_MS * 3); // answers held back by the proxy land at the fakes

    const rows = await store.db.selectFrom("deliveries").select(["id", "channel", "kind", "status", "attempts", "error", "to_number", "body"]).where("kind", "!=", "verification").execute();
    const work = rows.filter((r) => r.kind === "low_battery" || r.channel === "x");
    const smsRows = work.filter((r) => r.channel === "sms");
    const xRows = work.filter((r) => r.channel === "x");
    const unfinished = work.filter((r) => r.status !== "sent" && r.status !== "dead");
    const deadWithoutReason = work.filter((r) => r.status === "dead" && !r.error);
    const overAttempts = work.filter((r) => r.attempts > MAX_ATTEMPTS);
    const owed = smsRows.filter((r) => r.status === "sent").map((r) => `${r.to_number}|${r.body}`);
    const arrived = twilio.messages.slice(codes).map((m) => `${m.to}|${m.body}`);
    const cmp = compareCounts(tally(owed), tally(arrived));
    const createCalls = [...twilioProxy.calls].filter(([k]) => k.startsWith("POST ")).reduce((n, [, v]) => n + v, 0);
    const lookupCalls = [...twilioProxy.calls].filter(([k]) => k.startsWith("GET ")).reduce((n, [, v]) => n + v, 0);
    const postCalls = xProxy.calls.get("POST /2/tweets") ?? 0;
    const injected = (p: typeof twilioProxy) => [...p.injected].map(([k, v]) => `${k}: ${v}`).join(", ");
    const rate429 = (p: typeof twilioProxy) => p.injected.get("status 429") ?? 0;

    reportFigures(`providers-${kind}`, {
      database: kind,
      "simulated minutes": SIMULATED_MS / 60_000,
      "worker rounds": steps,
      "SMS deliveries": smsRows.length,
      "SMS sent / dead": `${smsRows.filter((r) => r.status === "sent").length} / ${smsRows.filter((r) => r.status === "dead").length}`,
      "Twilio create calls per SMS": (createCalls / smsRows.length).toFixed(2),
      "Twilio lookups per SMS": (lookupCalls / smsRows.length).toFixed(2),
      "Twilio faults injected": injected(twilioProxy),
      "SMS duplicates at Twilio": cmp.duplicates,
      "SMS lost": cmp.lost,
      "X posts": xRows.length,
      "X sent / dead": `${xRows.filter((r) => r.status === "sent").length} / ${xRows.filter((r) => r.status === "dead").length}`,
      "X calls per post": (postCalls / Math.max(1, xRows.length)).toFixed(2),
      "X faults injected": injected(xProxy),
      "posts at X": x.tweets.length,
      "attempts per delivery (max)": Math.max(...work.map((r) => r.attempts)),
      "dead-letter reasons": [...new Set(work.filter((r) => r.status === "dead").map((r) => r.error))].join("; ") || "none",
    });

    expect(smsRows).toHaveLength(2 * WEARERS);
    expect(xRows).toHaveLength(2 * WEARERS);
    expect(unfinished).toEqual([]);
    expect(deadWithoutReason).toEqual([]);
    expect(overAttempts).toEqual([]);
    expect(cmp.lost).toBe(0);
    // no retry storm: at most one call per attempt, plus the 429s, whose resets pace them
    expect(createCalls).toBeLessThanOrEqual(smsRows.length * MAX_ATTEMPTS + rate429(twilioProxy));
    expect(postCalls).toBeLessThanOrEqual(xRows.length * MAX_ATTEMPTS + rate429(xProxy));
    // a post X took is never posted again: X refuses the same text twice, and the relay counts that as sent
    expect(new Set(x.tweets.map((t) => t.text)).size).toBe(x.tweets.length);
    expect(x.tweets.length).toBe(xRows.filter((r) => r.status === "sent").length);
  });
});

// Google Health: the cloud poller reads pairedDevices through the same chaos. Polls that fail are
// retried after 1, 2, 4, ... minutes, so the window is two simulated hours rather than ten minutes.
const GOOGLE_WINDOW_MS = 2 * 3_600_000;
const GOOGLE_STEP_MS = 60_000;
const GOOGLE_WEARERS = scale(4, 12);

describe.each(scale<DbKind[]>(["sqlite"], DB_KINDS))("Google Health failing half the time (%s)", (kind: DbKind) => {
  it("when Google Health fails half of the calls (5xx, 429 with Retry-After, slow answers, malformed bodies), then every linked tracker's low battery is still read and alerted exactly once, with at most one pairedDevices call per wearer and tick", async () => {
    const db = await createTestDatabase(kind);
    cleanup.push(() => db.drop());
    const fake = await startFakeGoogle();
    cleanup.push(() => fake.close());
    const random = seededRandom(kind === "sqlite" ? 41 : 42);
    const googleChaos = chaos(random, () => ({ kind: "status", status: 429, headers: { "retry-after": String(30 + Math.floor(random() * 90)) }, body: JSON.stringify({ error: { code: 429, message: "Quota exceeded", status: "RESOURCE_EXHAUSTED" } }) }));
    const proxy = await startChaosProxy(fake.url, (r) => (r.path.startsWith("/v4") || r.path === "/token" ? googleChaos() : undefined));
    cleanup.push(() => proxy.close());
    proxy.enabled = false;
    const clock = createTestClock("2026-11-20T17:00:00.000Z");
    const config = testConfig(db.url, { ...fake.env(), GOOGLE_HEALTH_API_URL: proxy.url, GOOGLE_TOKEN_URL: proxy.url + "/token", CLOUD_POLL_MINUTES: "5", CLOUD_TICK_MS: "86400000" });
    const store = await openStore(config.databaseUrl);
    cleanup.push(() => store.close());
    const outbox = createOutboxSms({ db: store.db, now: () => clock.now() });
    const google = createGoogleHealthClient({ ...config.google.client!, timeoutMs: SEND_TIMEOUT_MS, now: () => clock.now().getTime() });
    const running = await serve({ config, log: createLogger(config.logLevel), store, sms: outbox, clock, runWorker: false, random: () => 0.5, google });
    cleanup.push(() => running.stop());
    const relay: TestRelay = { url: running.url, clock, store, sms: outbox, outbox, running, config, stop: () => running.stop() };

    const wearers: { number: string; user: ReturnType<typeof fake.addUser> }[] = [];
    for (let i = 0; i < GOOGLE_WEARERS; i++) {
      const number = wearerNumber(300 + i);
      const { token } = await verifiedWearer(relay, number, { timezone: "UTC" });
      await callUntilAnswered(running.url, "PATCH", "/v1/me", { token, json: { preferences: { quietHours: null } } });
      const user = fake.addUser({ timeZone: "UTC" });
      user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 50, lastSyncTime: clock.now().toISOString(), deviceVersion: "Versa 3" });
      await linkGoogle({ relay, fake, stop: async () => {} }, token, user);
      wearers.push({ number, user });
    }
    await runCloudTick(running.deps, { now: clock.now() }); // every wearer read once at 50 %: nothing to say

    proxy.enabled = true;
    clock.advance(GOOGLE_STEP_MS);
    for (const w of wearers) w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 15, lastSyncTime: clock.now().toISOString(), deviceVersion: "Versa 3" });
    const t0 = clock.now().getTime();
    let ticks = 0;
    let polled = 0;
    let failed = 0;
    let deferred = 0;
    let allAlertedAtMin = -1;
    const alerts = async () => (await outbox.list()).filter((m) => !/\b\d{6}\b/.test(m.body));
    while (clock.now().getTime() - t0 < GOOGLE_WINDOW_MS) {
      const t = await runCloudTick(running.deps, { now: clock.now() });
      ticks++;
      polled += t.polled;
      failed += t.failed;
      deferred += t.deferred;
      await running.worker.drain();
      if (allAlertedAtMin < 0 && new Set((await alerts()).map((m) => m.to)).size === wearers.length) allAlertedAtMin = (clock.now().getTime() - t0) / 60_000;
      await sleep(5);
      clock.advance(GOOGLE_STEP_MS);
    }
    proxy.enabled = false;
    await sleep(SEND_TIMEOUT_MS * 3);
    const sent = await alerts();
    const perNumber = tally(sent.map((m) => m.to));
    const pairedCalls = proxy.calls.get([...proxy.calls.keys()].find((k) => k.includes("pairedDevices")) ?? "") ?? 0;

    reportFigures(`providers-google-${kind}`, {
      database: kind,
      "simulated minutes": GOOGLE_WINDOW_MS / 60_000,
      ticks,
      wearers: wearers.length,
      "polls done / failed / deferred": `${polled} / ${failed} / ${deferred}`,
      "pairedDevices calls per wearer": (pairedCalls / wearers.length).toFixed(2),
      "Google calls in all": [...proxy.calls.values()].reduce((a, b) => a + b, 0),
      "faults injected": [...proxy.injected].map(([k, v]) => `${k}: ${v}`).join(", "),
      "alert SMS sent": sent.length,
      "wearers alerted twice": [...perNumber.values()].filter((n) => n > 1).length,
      "minutes until every wearer was alerted": allAlertedAtMin,
    });

    expect(proxy.injected.size).toBeGreaterThan(0);
    for (const w of wearers) expect(perNumber.get(w.number), w.number).toBe(1);
    for (const m of sent) expect(m.body).toContain("15%");
    // no storm: at most one pairedDevices call per wearer per tick, whatever failed
    expect(pairedCalls).toBeLessThanOrEqual(ticks * wearers.length);
    expect(fake.violations()).toEqual([]);
  });
});

// The window the Twilio lookup cannot close, measured: a create the relay gave up on (no answer
// within SEND_TIMEOUT_MS) that Twilio still carries out, later than the retry's lookup.
describe("a Twilio create that lands after the relay gave up on it", () => {
  it("when Twilio takes a timed-out create only after the retry has looked it up, then the alert is delivered and recorded once, and the copies the wearer gets are counted", async () => {
    const db = await createTestDatabase("sqlite");
    cleanup.push(() => db.drop());
    const twilio = await startFakeTwilio();
    cleanup.push(() => twilio.close());
    const clock = createTestClock(new Date().toISOString());
    let armed = false;
    const proxy = await startChaosProxy(twilio.url, (r) => {
      if (!armed || r.method !== "POST") return undefined;
      armed = false;
      return { kind: "slow", ms: SEND_TIMEOUT_MS * 2 + 100, passOn: true };
    });
    cleanup.push(() => proxy.close());
    const config = testConfig(db.url, { SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS) });
    const store = await openStore(config.databaseUrl);
    cleanup.push(() => store.close());
    const sms = createTwilioSms({ accountSid: twilio.accountSid, authToken: twilio.authToken, from: FAKE_FROM, baseUrl: proxy.url, timeoutMs: SEND_TIMEOUT_MS });
    const running = await serve({ config, log: createLogger(config.logLevel), store, sms, clock, runWorker: false, random: () => 0.5 });
    cleanup.push(() => running.stop());
    const reg = await callUntilAnswered<{ token: string }>(running.url, "POST", "/v1/devices", { json: { timezone: "UTC" } });
    const token = reg.body.token;
    const number = wearerNumber(400);
    await callUntilAnswered(running.url, "PUT", "/v1/me/phone", { token, json: { number } });
    await running.worker.drain();
    const code = /\b(\d{6})\b/.exec(twilio.messages.at(-1)!.body!)![1];
    expect((await callUntilAnswered(running.url, "POST", "/v1/me/phone/verify", { token, json: { code } })).status).toBe(200);
    await callUntilAnswered(running.url, "PATCH", "/v1/me", { token, json: { preferences: { quietHours: null } } });

    armed = true;
    const r = await callUntilAnswered<{ action: string }>(running.url, "POST", "/v1/battery", { token, json: { eventId: "slow-1", level: 15, charging: false, observedAt: clock.now().toISOString(), source: "watch" } });
    expect(r.body.action).toBe("sms");
    await running.worker.drain(); // the create times out; Twilio has not acted on it yet
    await sleep(20);
    clock.advance(2_000); // past the first backoff
    await running.worker.drain(); // the retry: lookup (nothing yet), then a second create
    await sleep(SEND_TIMEOUT_MS * 3); // the held create lands
    const alerts = twilio.messages.filter((m) => m.to === number && !/code/i.test(m.body ?? ""));
    const rows = await store.db.selectFrom("deliveries").select(["status", "attempts"]).where("kind", "=", "low_battery").execute();

    reportFigures("providers-late-create", {
      "SEND_TIMEOUT_MS": SEND_TIMEOUT_MS,
      "Twilio acted on the timed-out create after, ms": SEND_TIMEOUT_MS * 2 + 100,
      "retry's lookup found it": alerts.length === 1,
      "alert copies the wearer got": alerts.length,
      "delivery recorded": `${rows[0]?.status} after ${rows[0]?.attempts} attempts`,
    });

    expect(rows).toEqual([{ status: "sent", attempts: 2 }]);
    expect(alerts.length).toBeGreaterThanOrEqual(1);
  });
});
