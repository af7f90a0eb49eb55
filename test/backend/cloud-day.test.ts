// A simulated day of the cloud path for 1,000 wearers on a fake clock: the calls Google receives per
// minute stay within the quotas, every wearer is still polled and summarized, and exactly the SMS
// the alert policy calls for go out.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import type { FakeDay } from "../helpers/fake-google.ts";
import { createTestClock } from "../helpers/relay.ts";
import { createCallTally, insertLinkedWearers, smsTo, startCloudRelay, tick, type BulkWearer, type CloudRelay } from "./cloud-fixtures.ts";

// 1,000 is the size this was written for (CLOUD_DAY_WEARERS=1000); the default keeps the file within a few
// minutes on a busy two-core machine, and `npm run bench:cloud` measures the larger runs
const WEARERS = Number(process.env.CLOUD_DAY_WEARERS ?? 200);
const START = "2026-11-20T05:00:00.000Z"; // midnight in New York
const DAY: FakeDay = {
  steps: 5000,
  distanceMm: 4_000_000,
  totalKcal: 2000,
  floors: 3,
  azm: { fatBurn: 10, cardio: 0, peak: 0 },
  sedentarySec: 30_000,
  activeMinutes: { light: 100, moderate: 10, vigorous: 5 },
};

describe(`a day of the cloud path for ${WEARERS} wearers`, () => {
  let db: TestDatabase;
  let r: CloudRelay;
  let wearers: BulkWearer[];
  const clock = createTestClock(START);
  // low enough to bite: the nightly summaries, all due at 00:10, need 8 calls per wearer in that minute
  const quotas = { user: 5, project: WEARERS * 2 };
  let tally: ReturnType<typeof createCallTally>;
  const sms = new Map<string, string[]>();
  const pollsPerWearer = new Map<string, number>();
  let quietWearer: BulkWearer;

  beforeAll(async () => {
    db = await createTestDatabase("sqlite");
    r = await startCloudRelay({ databaseUrl: db.url, clock, env: { GOOGLE_USER_QPM: String(quotas.user), GOOGLE_PROJECT_QPM: String(quotas.project) } });
    wearers = await insertLinkedWearers(r, WEARERS, {
      timezone: "America/New_York",
      user: () => ({ timeZone: "America/New_York", days: { "2026-11-19": DAY }, devices: [{ id: "versa", deviceType: "TRACKER", batteryLevel: 80, lastSyncTime: "2026-11-20T04:55:00.000Z" }] }),
    });
    // one wearer with quiet hours 00:00-06:00; stored as PATCH /v1/me stores them
    quietWearer = wearers[3]!;
    const dev = await r.relay.store.db.selectFrom("devices").select("preferences").where("id", "=", quietWearer.deviceId).executeTakeFirstOrThrow();
    await r.relay.store.db
      .updateTable("devices")
      .set({ preferences: JSON.stringify({ ...JSON.parse(dev.preferences), quietHours: { start: "00:00", end: "06:00" } }) })
      .where("id", "=", quietWearer.deviceId)
      .execute();
    r.fake.resetCalls();
    tally = createCallTally(r.fake);

    const [drain, recharge, never, quiet, stale] = wearers;
    never!.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 3 }); // paired, never synced
    stale!.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: 50, lastSyncTime: "2026-11-19T01:00:00.000Z" });
    /** battery level by hour of the day, for the wearers whose battery changes */
    const script: Record<number, [BulkWearer, number][]> = {
      2: [[quiet!, 18]],
      3: [[drain!, 19], [recharge!, 15]],
      6: [[drain!, 9]],
      8: [[recharge!, 100]],
      12: [[recharge!, 18]],
    };
    const special = new Set([never, stale].map((w) => w!.deviceId));
    for (let minute = 1; minute <= 24 * 60; minute++) {
      clock.advance(60_000);
      const at = clock.now().toISOString();
      if (minute % 60 === 0) {
        // every wearer's watch syncs on the hour (the first five keep their own story)
        for (const w of wearers) if (!special.has(w.deviceId)) w.user.lagSync(new Date(clock.now().getTime() - 60_000));
        for (const [w, level] of script[minute / 60] ?? []) w.user.setDevice({ id: "versa", deviceType: "TRACKER", batteryLevel: level, lastSyncTime: at });
      }
      await tick(r);
      tally.record(clock.now());
    }
    await r.relay.running.worker.drain();
    for (const w of [drain, recharge, never, quiet, stale, wearers[5], wearers[WEARERS - 1]]) sms.set(w!.deviceId, await smsTo(r, w!.number));
    const byUser = r.fake.calls().byUser;
    for (const w of wearers) pollsPerWearer.set(w.deviceId, byUser[w.user.healthUserId]?.pairedDevices ?? 0);
  }, 600_000);

  afterAll(async () => {
    await r?.stop();
    await db?.drop();
  });

  it("when a day is polled under low quotas, then no minute ever passes the per-user or per-project quota", () => {
    expect(tally.maxUser()).toBeLessThanOrEqual(quotas.user);
    expect(tally.maxProject()).toBeLessThanOrEqual(quotas.project);
    expect(tally.maxProject(), "the project quota did bite").toBe(quotas.project);
    expect(r.fake.violations()).toEqual([]);
  });

  it("when the quota bites, then no wearer loses polls: every one is polled about every 30 minutes, at most 60 calls a day with the summary", () => {
    const counts = [...pollsPerWearer.values()];
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(47);
    expect(Math.max(...counts)).toBeLessThanOrEqual(49);
    const byUser = r.fake.calls().byUser;
    const perDay = wearers.map((w) => Object.entries(byUser[w.user.healthUserId] ?? {}).reduce((a, [ep, c]) => (ep === "token" ? a : a + c), 0));
    expect(Math.max(...perDay)).toBeLessThanOrEqual(60);
  });

  it("when the day is over, then every wearer's summary of the day before was recorded once, from 7 rollups and a sleep list", async () => {
    const rows = await r.relay.store.db.selectFrom("summaries").select(["device_id", "kind"]).where("date", "=", "2026-11-19").execute();
    expect(rows.filter((x) => x.kind === "activity")).toHaveLength(WEARERS - 2); // the never-syncing and the stale wearer have no data
    const byEndpoint = r.fake.calls().byEndpoint;
    expect(byEndpoint.dailyRollUp).toBe((WEARERS - 2) * 7);
  });

  it.each([
    [0, "drains across 20% and 10%", ["at 19%", "at 9%"]],
    [1, "drains to 15%, is recharged, drains again", ["at 15%", "at 18%"]],
    [2, "never syncs", []],
    [3, "crosses 20% in quiet hours (sent when they end)", ["at 18%"]],
    [4, "stopped syncing yesterday", ["has not synced since Nov 18, 20:00"]],
    [5, "stays at 80%", []],
    [WEARERS - 1, "stays at 80%", []],
  ])("when wearer %i %s, then the SMS are %j", (i, _story, expected) => {
    const got = sms.get(wearers[i]!.deviceId)!;
    expect(got).toHaveLength(expected.length);
    for (const e of expected) expect(got.some((m) => m.includes(e)), `${e} in ${JSON.stringify(got)}`).toBe(true);
  });

  it("when the crossing fell in quiet hours, then the SMS waited for their end", async () => {
    const d = await r.relay.store.db
      .selectFrom("deliveries")
      .select(["next_attempt_at", "status"])
      .where("device_id", "=", quietWearer.deviceId)
      .where("channel", "=", "sms")
      .execute();
    expect(d).toEqual([{ next_attempt_at: "2026-11-20T11:00:00.000Z", status: expect.stringMatching(/sent|delivered/) }]);
  });

  it("when refreshing tokens, then those go to the OAuth endpoint and are counted apart (about one per wearer per hour)", () => {
    expect(tally.tokens()).toBeGreaterThan(0);
    expect(tally.tokens()).toBeLessThanOrEqual(WEARERS * 25);
  });
});
