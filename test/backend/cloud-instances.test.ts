// Two relay processes on one PostgreSQL database tick at the same moment: each wearer is polled once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { startFakeGoogle, type FakeGoogle } from "../helpers/fake-google.ts";
import { createTestClock } from "../helpers/relay.ts";
import { insertLinkedWearers, smsTo, startCloudRelay, tick, type BulkWearer, type CloudRelay } from "./cloud-fixtures.ts";

const WEARERS = 300;

describe("two relay processes on one PostgreSQL database", () => {
  let db: TestDatabase;
  let fake: FakeGoogle;
  let a: CloudRelay;
  let b: CloudRelay;
  let wearers: BulkWearer[];
  const clock = createTestClock("2026-11-20T17:00:00.000Z");

  beforeAll(async () => {
    db = await createTestDatabase("postgres");
    fake = await startFakeGoogle();
    a = await startCloudRelay({ databaseUrl: db.url, clock, fake });
    b = await startCloudRelay({ databaseUrl: db.url, clock, fake });
    wearers = await insertLinkedWearers(a, WEARERS, {
      timezone: "America/New_York",
      user: (i) => ({ devices: [{ id: "versa", deviceType: "TRACKER", batteryLevel: i < 20 ? 12 : 80, lastSyncTime: "2026-11-20T16:50:00.000Z" }] }),
    });
    fake.resetCalls();
  }, 120_000);
  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await fake?.close();
    await db?.drop();
  });

  const polls = () => wearers.map((w) => fake.calls().byUser[w.user.healthUserId]?.pairedDevices ?? 0);

  it("when both tick at the same moment, then every wearer is polled exactly once, and again once the next round", async () => {
    const [ra, rb] = await Promise.all([tick(a, { concurrency: 8 }), tick(b, { concurrency: 8 })]);
    expect(ra.polled + rb.polled).toBe(WEARERS);
    expect(ra.polled, "both took part").toBeGreaterThan(0);
    expect(rb.polled, "both took part").toBeGreaterThan(0);
    expect(new Set(polls())).toEqual(new Set([1]));

    clock.advance(30 * 60_000);
    await Promise.all([tick(a), tick(b), tick(a)]);
    expect(new Set(polls())).toEqual(new Set([2]));
    expect(fake.violations()).toEqual([]);
  });

  it("when Google answers 429 to many wearers at once, then the project is paused for every process until Retry-After, and no poll is lost", async () => {
    clock.advance(30 * 60_000);
    fake.rateLimit({ count: 5 }, 90, { endpoint: "pairedDevices" });
    const before = fake.calls().total;
    const first = await tick(a, { concurrency: 8 });
    expect(first.pausedUntil).toBe(new Date(clock.now().getTime() + 90_000).toISOString());
    const made = fake.calls().total - before;
    expect(made, "stopped soon after the 429s").toBeLessThan(40);
    clock.advance(30_000);
    const other = await tick(b);
    expect(other).toMatchObject({ polled: 0, pausedUntil: first.pausedUntil });
    expect(fake.calls().total - before, "the other process made no call while paused").toBe(made);
    clock.advance(61_000);
    await Promise.all([tick(a), tick(b)]);
    // every wearer polled for the third time, those put off by the pause included (the fake also
    // counts the calls it answered 429, and a few wearers' next slot already fell in these 91 s)
    expect(Math.min(...polls())).toBe(3);
  });

  it("when twenty wearers read 12%, then each gets exactly one SMS although two processes poll", async () => {
    for (const w of wearers.slice(0, 20)) {
      await a.relay.running.worker.drain();
      expect(await smsTo(a, w.number)).toEqual(["WristRelay: your Fitbit battery is at 12% (as of the last sync at 11:50)."]);
    }
    const rows = await a.relay.store.db.selectFrom("deliveries").select("device_id").where("channel", "=", "sms").execute();
    expect(rows).toHaveLength(20);
  });
});
