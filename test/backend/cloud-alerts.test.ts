// Battery alerts from Google Health, as the wearer sees them: which polls turn into an SMS.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { startFakeGoogle, type FakeGoogle } from "../helpers/fake-google.ts";
import { battery, call, createTestClock, verifiedWearer } from "../helpers/relay.ts";
import { linkGoogle, smsTo, startCloudRelay, tick, type CloudRelay } from "./cloud-fixtures.ts";

const HALF_HOUR = 30 * 60_000;
let n = 100;
const nextNumber = () => `+1415555${String(3000 + n++).padStart(4, "0")}`;

describe.each(DB_KINDS)("cloud battery alerts on %s", (kind) => {
  let db: TestDatabase;
  let fake: FakeGoogle;
  let r: CloudRelay | undefined;
  beforeAll(async () => {
    fake = await startFakeGoogle();
  });
  afterAll(async () => {
    await fake.close();
  });
  // a database per test: wearers of one test are not polled in the next
  beforeEach(async () => {
    db = await createTestDatabase(kind);
  });
  afterEach(async () => {
    expect(fake.violations()).toEqual([]);
    await r?.stop();
    r = undefined;
    await db.drop();
  });

  /** A wearer with a confirmed number who linked Google Health over the relay's own pages. */
  async function linkedWearer(o: { language?: string; timezone?: string; level?: number; status?: string; syncedAgoMs?: number } = {}) {
    const clock = createTestClock("2026-11-20T17:00:00.000Z");
    r = await startCloudRelay({ databaseUrl: db.url, clock, fake });
    const number = nextNumber();
    const { token, deviceId } = await verifiedWearer(r.relay, number, { timezone: o.timezone ?? "America/New_York", language: o.language ?? "en-US" });
    const user = fake.addUser({ timeZone: o.timezone ?? "America/New_York" });
    user.setDevice({
      id: "versa",
      deviceType: "TRACKER",
      ...(o.level !== undefined ? { batteryLevel: o.level } : {}),
      ...(o.status ? { batteryStatus: o.status } : {}),
      lastSyncTime: new Date(clock.now().getTime() - (o.syncedAgoMs ?? 5 * 60_000)).toISOString(),
      deviceVersion: "Versa 3",
    });
    await linkGoogle(r, token, user);
    return { r, clock, number, token, deviceId, user };
  }

  /** The next round of polls: half an hour on, one tick. */
  async function nextRound(w: { r: CloudRelay; clock: ReturnType<typeof createTestClock> }) {
    w.clock.advance(HALF_HOUR);
    return tick(w.r);
  }

  it("when a linked tracker reads 14%, then one SMS says so with the sync time in the wearer's zone; the same reading polled again sends nothing", async () => {
    const w = await linkedWearer({ level: 50 });
    const first = await tick(w.r); // the first tick after linking, as the timer would run it
    expect(first.polled).toBe(1);
    expect(await smsTo(w.r, w.number)).toEqual([]);
    w.clock.set("2026-11-20T19:05:00.000Z");
    w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 14, lastSyncTime: "2026-11-20T19:02:00.000Z" }); // 14:02 in New York
    await nextRound(w);
    await nextRound(w);
    await nextRound(w);
    expect(await smsTo(w.r, w.number)).toEqual(["WristRelay: your Fitbit battery is at 14% (as of the last sync at 14:02)."]);
    expect(fake.calls().byUser[w.user.healthUserId]?.pairedDevices).toBe(4);
  });

  it("when Google gives only a status, then Low alerts as 'low', in Japanese for a ja-JP wearer in Tokyo", async () => {
    const w = await linkedWearer({ status: "Low", language: "ja-JP", timezone: "Asia/Tokyo" });
    await tick(w.r); // the first tick after linking, as the timer would run it
    const sms = await smsTo(w.r, w.number);
    expect(sms).toHaveLength(1);
    expect(sms[0]).toMatch(/^WristRelay: Fitbitの電池残量が少なくなっています\(最後の同期\d\d:\d\d時点\)。$/);
  });

  it("when the device has not synced for more than a day, then ONE 'not synced since' SMS per sync time, not one each poll and no stale level", async () => {
    const w = await linkedWearer({ level: 8, syncedAgoMs: 26 * 3_600_000 }); // last sync 2026-11-19 15:00 UTC = 10:00 New York
    await tick(w.r); // the first tick after linking, as the timer would run it
    for (let i = 0; i < 5; i++) await nextRound(w);
    expect(await smsTo(w.r, w.number)).toEqual(["WristRelay: your Fitbit has not synced since Nov 19, 10:00; its battery may be empty."]);
    // it syncs once more, then stops again: that is a new sync time
    const synced = new Date(w.clock.now().getTime() - 60_000).toISOString();
    w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 60, lastSyncTime: synced });
    await nextRound(w);
    w.clock.advance(25 * 3_600_000);
    for (let i = 0; i < 4; i++) await nextRound(w);
    expect(await smsTo(w.r, w.number)).toHaveLength(2);
  });

  it("when the watch and the cloud both see the same crossing, then the wearer gets one SMS", async () => {
    const w = await linkedWearer({ level: 60 });
    await tick(w.r); // the first tick after linking, as the timer would run it
    // the watch reports 18% now; the cloud sees 18% at the next sync
    const watch = await call(w.r.relay.url, "POST", "/v1/battery", { token: w.token, json: battery(w.clock, 18) });
    expect(watch.body).toMatchObject({ action: "sms" });
    w.clock.advance(60_000);
    w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 18, lastSyncTime: w.clock.now().toISOString() });
    await nextRound(w);
    await nextRound(w);
    const sms = await smsTo(w.r, w.number);
    expect(sms).toHaveLength(1);
    expect(sms[0]).toContain("18%");
    // and the other way round: the cloud first at 9%, then the watch
    w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 9, lastSyncTime: w.clock.now().toISOString() });
    await nextRound(w);
    w.clock.advance(60_000);
    const late = await call(w.r.relay.url, "POST", "/v1/battery", { token: w.token, json: battery(w.clock, 9) });
    expect(late.body).toMatchObject({ action: "none", reason: "already_alerted" });
    expect(await smsTo(w.r, w.number)).toHaveLength(2);
  });

  it("when the tracker is recharged, then the thresholds re-arm and the next discharge alerts again; during quiet hours the SMS waits for morning", async () => {
    const w = await linkedWearer({ level: 19 });
    await tick(w.r); // the first tick after linking, as the timer would run it
    expect(await smsTo(w.r, w.number)).toHaveLength(1);
    w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 100, lastSyncTime: w.clock.now().toISOString() });
    await nextRound(w);
    await call(w.r.relay.url, "PATCH", "/v1/me", { token: w.token, json: { preferences: { quietHours: { start: "22:00", end: "07:00" } } } });
    // 23:30 in New York: quiet hours
    w.clock.set("2026-11-21T04:30:00.000Z");
    w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 17, lastSyncTime: w.clock.now().toISOString() });
    const t = await nextRound(w);
    expect(t.sms).toBe(1);
    expect(await smsTo(w.r, w.number), "queued for 07:00").toEqual([expect.stringContaining("at 19%")]);
    w.clock.set("2026-11-21T12:01:00.000Z");
    expect(await smsTo(w.r, w.number)).toHaveLength(2);
  });

  it("when Google answers 429 for one wearer, then only that wearer waits for Retry-After and is polled after it", async () => {
    const w = await linkedWearer({ level: 50 });
    await tick(w.r); // the first tick after linking, as the timer would run it
    fake.rateLimit({ count: 1 }, 120, { endpoint: "pairedDevices", user: w.user });
    w.clock.advance(HALF_HOUR);
    const limited = await tick(w.r);
    expect(limited).toMatchObject({ polled: 0, deferred: 1 });
    expect(limited.pausedUntil).toBeUndefined();
    w.clock.advance(60_000);
    expect((await tick(w.r)).polled).toBe(0); // still inside Retry-After
    w.clock.advance(61_000);
    expect((await tick(w.r)).polled).toBe(1);
  });

  it("when the wearer revoked access at Google, then the link is marked broken and polling stops", async () => {
    const w = await linkedWearer({ level: 50 });
    await tick(w.r); // the first tick after linking, as the timer would run it
    w.user.revoke();
    const t = await nextRound(w);
    expect(t.dropped).toBe(1);
    const me = await call(w.r.relay.url, "GET", "/v1/me", { token: w.token });
    expect(me.status).toBe(200);
    const before = fake.calls().total;
    for (let i = 0; i < 4; i++) await nextRound(w);
    expect(fake.calls().total).toBe(before);
    const acc = await w.r.relay.store.db.selectFrom("google_accounts").select("status").executeTakeFirst();
    expect(acc?.status).toBe("broken");
  });

  it("when the wearer has SMS alerts off, then their devices are not polled at all", async () => {
    const w = await linkedWearer({ level: 5 });
    const patch = await call(w.r.relay.url, "PATCH", "/v1/me", { token: w.token, json: { preferences: { sms: false } } });
    expect(patch.status).toBe(200);
    const t = await tick(w.r); // the first tick after linking, as the timer would run it
    expect(t.polled).toBe(0);
    expect(fake.calls().byUser[w.user.healthUserId]?.pairedDevices ?? 0).toBe(0);
  });
});
