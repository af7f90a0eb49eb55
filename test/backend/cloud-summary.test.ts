// Nightly summaries from Google Health, as the wearer and X see them.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { startFakeGoogle, type FakeDay, type FakeGoogle, type GoogleGrant } from "../helpers/fake-google.ts";
import { call, createTestClock, verifiedWearer, type TestClock } from "../helpers/relay.ts";
import { linkGoogle, startCloudRelay, tick, type CloudRelay } from "./cloud-fixtures.ts";

const DAY: FakeDay = {
  steps: 8423,
  distanceMm: 6_120_345,
  totalKcal: 2310.5,
  floors: 12,
  azm: { fatBurn: 14, cardio: 8, peak: 2 },
  sedentarySec: 39_600,
  activeMinutes: { light: 187, moderate: 21, vigorous: 13 },
};
const EXPECTED_ACTIVITY = {
  steps: 8423,
  distanceMeters: 6120,
  calories: 2311,
  floors: 12,
  activeZoneMinutes: 24,
  sedentaryMinutes: 660,
  lightlyActiveMinutes: 187,
  fairlyActiveMinutes: 21,
  veryActiveMinutes: 13,
};
// the night before 2026-11-20 in New York, in two pieces, and an afternoon nap
const NIGHT = [
  { startTime: "2026-11-20T04:00:00Z", endTime: "2026-11-20T07:10:00Z", minutesAsleep: 180, minutesInSleepPeriod: 190 },
  { startTime: "2026-11-20T07:30:00Z", endTime: "2026-11-20T11:00:00Z", minutesAsleep: 200, minutesInSleepPeriod: 210 },
  { startTime: "2026-11-20T19:00:00Z", endTime: "2026-11-20T19:40:00Z", minutesAsleep: 35, minutesInSleepPeriod: 40, nap: true },
];
let n = 100;
const nextNumber = () => `+1415555${String(4000 + n++).padStart(4, "0")}`;

describe.each(DB_KINDS)("cloud nightly summaries on %s", (kind) => {
  let db: TestDatabase;
  let fake: FakeGoogle;
  let r: CloudRelay | undefined;
  beforeAll(async () => {
    fake = await startFakeGoogle();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(async () => {
    db = await createTestDatabase(kind);
    fake.resetCalls();
  });
  afterEach(async () => {
    expect(fake.violations()).toEqual([]);
    await r?.stop();
    r = undefined;
    await db.drop();
  });

  async function wearer(o: { grant?: GoogleGrant[]; env?: Record<string, string> } = {}) {
    const clock = createTestClock("2026-11-20T17:00:00.000Z"); // 12:00 in New York
    r = await startCloudRelay({ databaseUrl: db.url, clock, fake, env: o.env });
    const { token, deviceId } = await verifiedWearer(r.relay, nextNumber());
    const user = fake.addUser({ timeZone: "America/New_York", days: { "2026-11-20": DAY }, sleep: NIGHT });
    user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 80, lastSyncTime: "2026-11-20T16:55:00.000Z" });
    await linkGoogle(r, token, user, o.grant);
    await tick(r);
    return { r, clock, token, deviceId, user };
  }

  /** The relay's timer, every `stepMin` minutes of the test clock, until `iso`. */
  async function runUntil(r: CloudRelay, clock: TestClock, iso: string, stepMin = 15) {
    while (clock.now().getTime() < Date.parse(iso)) {
      clock.advance(stepMin * 60_000);
      await tick(r);
    }
  }

  const summaries = (r: CloudRelay, deviceId: string) =>
    r.relay.store.db.selectFrom("summaries").select(["date", "kind", "data", "status"]).where("device_id", "=", deviceId).orderBy("kind").execute();
  const xDeliveries = (r: CloudRelay, deviceId: string) =>
    r.relay.store.db.selectFrom("deliveries").select(["kind", "event_id", "next_attempt_at"]).where("device_id", "=", deviceId).where("channel", "=", "x").orderBy("kind").execute();

  it("when the device synced past midnight, then yesterday's summary is recorded once at the summary time with the right numbers and the nights summed", async () => {
    const w = await wearer();
    // the watch syncs at 00:05 New York time
    await runUntil(w.r, w.clock, "2026-11-21T05:00:00.000Z");
    w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 70, lastSyncTime: "2026-11-21T05:05:00.000Z" });
    await runUntil(w.r, w.clock, "2026-11-21T05:05:00.000Z", 5);
    expect(await summaries(w.r, w.deviceId), "not before the summary time").toEqual([]);
    // within one poll period of the sync (the summary reuses the latest poll rather than asking again)
    await runUntil(w.r, w.clock, "2026-11-21T05:45:00.000Z", 5);
    const rows = await summaries(w.r, w.deviceId);
    expect(rows.map((x) => [x.date, x.kind, JSON.parse(x.data), x.status])).toEqual([
      ["2026-11-20", "activity", EXPECTED_ACTIVITY, "queued"],
      ["2026-11-20", "sleep", { minutesAsleep: 415, minutesInBed: 440 }, "queued"],
    ]);
    expect((await xDeliveries(w.r, w.deviceId)).map((d) => [d.kind, d.event_id])).toEqual([
      ["activity", "gh-2026-11-20"],
      ["sleep", "gh-2026-11-20"],
    ]);
    const calls = fake.calls().byUser[w.user.healthUserId]!;
    expect(calls.dailyRollUp).toBe(7);
    expect(calls.sleep).toBe(1);
    // the rest of the day: nothing more for the 20th, and no extra calls
    await runUntil(w.r, w.clock, "2026-11-21T20:00:00.000Z", 30);
    expect(await xDeliveries(w.r, w.deviceId)).toHaveLength(2);
    expect(fake.calls().byUser[w.user.healthUserId]!.dailyRollUp).toBe(7);
    // the post itself, as X would see it
    await w.r.relay.running.worker.drain();
    const posts = await w.r.relay.store.db.selectFrom("x_outbox_posts").select("text").execute();
    expect(posts.some((p) => p.text.includes("8,423"))).toBe(true);
  });

  it("when the relay posts to real X and the wearer has no X account linked, then no Health API call is made for the summary and nothing is recorded", async () => {
    const w = await wearer({ env: { X_PROVIDER: "x", X_CLIENT_ID: "client", X_CLIENT_SECRET: "secret", X_API_URL: "http://127.0.0.1:9", X_AUTHORIZE_URL: "http://127.0.0.1:9/authorize" } });
    w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 70, lastSyncTime: "2026-11-21T05:05:00.000Z" });
    await runUntil(w.r, w.clock, "2026-11-21T08:00:00.000Z", 15);
    expect(await summaries(w.r, w.deviceId)).toEqual([]);
    const calls = fake.calls().byUser[w.user.healthUserId]!;
    expect(calls.dailyRollUp ?? 0).toBe(0);
    expect(calls.sleep ?? 0).toBe(0);
    expect(calls.pairedDevices, "battery polling goes on").toBeGreaterThan(0);
  });

  it("when the sync lags behind midnight, then the relay waits instead of posting zeros, and posts the right numbers once the device syncs", async () => {
    const w = await wearer();
    await runUntil(w.r, w.clock, "2026-11-21T03:30:00.000Z");
    w.user.lagSync("2026-11-21T03:30:00.000Z"); // 22:30 the evening before, in New York
    await runUntil(w.r, w.clock, "2026-11-21T08:00:00.000Z"); // 03:00 in New York: still the 22:30 sync
    expect(await summaries(w.r, w.deviceId)).toEqual([]);
    expect(fake.calls().byUser[w.user.healthUserId]!.dailyRollUp ?? 0).toBe(0);
    w.user.lagSync("2026-11-21T08:05:00.000Z");
    await runUntil(w.r, w.clock, "2026-11-21T09:30:00.000Z");
    const rows = await summaries(w.r, w.deviceId);
    expect(rows.map((x) => [x.kind, JSON.parse(x.data)])).toEqual([
      ["activity", EXPECTED_ACTIVITY],
      ["sleep", { minutesAsleep: 415, minutesInBed: 440 }],
    ]);
    expect(fake.calls().byUser[w.user.healthUserId]!.dailyRollUp).toBe(7);
  });

  it("when the device does not sync within the wait limit, then nothing is posted for that day (no zeros) and the next day goes on", async () => {
    const w = await wearer({ env: { CLOUD_SUMMARY_MAX_WAIT_HOURS: "2" } });
    await runUntil(w.r, w.clock, "2026-11-21T10:00:00.000Z");
    expect(await summaries(w.r, w.deviceId)).toEqual([]);
    expect(fake.calls().byUser[w.user.healthUserId]!.dailyRollUp ?? 0).toBe(0);
    // a late sync after the limit does not bring the 20th back
    w.user.lagSync("2026-11-21T10:00:00.000Z");
    await runUntil(w.r, w.clock, "2026-11-21T12:00:00.000Z");
    expect(await summaries(w.r, w.deviceId)).toEqual([]);
    const job = await w.r.relay.store.db.selectFrom("cloud_jobs").select("state").where("id", "=", `summary:${w.deviceId}`).executeTakeFirst();
    expect(JSON.parse(job!.state)).toEqual({ date: "2026-11-21" });
  });

  it("when the watch's summary is already in, then the cloud makes no calls for that day and posts nothing twice", async () => {
    const w = await wearer();
    const watch = await call(w.r.relay.url, "POST", "/v1/summaries", {
      token: w.token,
      json: { eventId: "watch-2026-11-20", date: "2026-11-20", activity: { steps: 8000, distanceMeters: 6000, calories: 2200 }, sleep: { minutesAsleep: 400 } },
    });
    expect(watch.status).toBe(202);
    w.user.lagSync("2026-11-21T05:05:00.000Z");
    w.clock.set("2026-11-21T05:05:00.000Z");
    await runUntil(w.r, w.clock, "2026-11-21T07:00:00.000Z");
    expect(fake.calls().byUser[w.user.healthUserId]!.dailyRollUp ?? 0).toBe(0);
    expect((await xDeliveries(w.r, w.deviceId)).map((d) => d.event_id)).toEqual(["watch-2026-11-20", "watch-2026-11-20"]);
    expect((await summaries(w.r, w.deviceId)).map((s) => JSON.parse(s.data).steps ?? JSON.parse(s.data).minutesAsleep)).toEqual([8000, 400]);
  });

  it("when the wearer did not grant sleep, then only the activity summary is made and sleep is never asked for", async () => {
    const w = await wearer({ grant: ["activity", "settings"] });
    w.user.lagSync("2026-11-21T05:05:00.000Z");
    w.clock.set("2026-11-21T05:05:00.000Z");
    await runUntil(w.r, w.clock, "2026-11-21T06:00:00.000Z");
    expect((await summaries(w.r, w.deviceId)).map((s) => s.kind)).toEqual(["activity"]);
    expect(fake.calls().byUser[w.user.healthUserId]!.sleep ?? 0).toBe(0);
  });
});
