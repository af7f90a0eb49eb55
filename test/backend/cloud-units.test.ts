// The cloud path's pure parts: rollups -> summary body, which paired device speaks, poll slots,
// summary days, and the SMS texts.
import { describe, expect, it } from "vitest";
import { cloudBatteryText, lowBatteryText, notSyncedText } from "../../backend/src/domain/alert-text.ts";
import { chooseReading, levelOf, readingEventId } from "../../backend/src/domain/cloud-battery.ts";
import { activityFromRollups, sleepFromSessions } from "../../backend/src/domain/cloud-rollups.ts";
import { endOfDay, firstSummaryDate, localDate, nextPollAt, pollOffsetMs, summaryDueAt } from "../../backend/src/domain/cloud-schedule.ts";
import type { SleepSession } from "../../backend/src/providers/google-health.ts";

const day = (v: Record<string, unknown>) => ({ civilStartTime: { date: { year: 2026, month: 11, day: 20 } }, ...v });

describe("rollups to the summary body", () => {
  it("when every type has a point, then each maps to its field in the units POST /v1/summaries uses", () => {
    const a = activityFromRollups({
      steps: day({ steps: { countSum: "8423" } }),
      distance: day({ distance: { millimetersSum: "6120345" } }),
      "total-calories": day({ totalCalories: { kcalSum: 2310.5 } }),
      floors: day({ floors: { countSum: "12" } }),
      "active-zone-minutes": day({ activeZoneMinutes: { sumInFatBurnHeartZone: "14", sumInCardioHeartZone: "8", sumInPeakHeartZone: "2" } }),
      "sedentary-period": day({ sedentaryPeriod: { durationSum: "39600s" } }),
      "active-minutes": day({
        activeMinutes: {
          activeMinutesRollupByActivityLevel: [
            { activityLevel: "LIGHT", activeMinutesSum: "187" },
            { activityLevel: "MODERATE", activeMinutesSum: "21" },
            { activityLevel: "VIGOROUS", activeMinutesSum: "13" },
          ],
        },
      }),
    });
    expect(a).toEqual({
      steps: 8423,
      distanceMeters: 6120,
      calories: 2311,
      floors: 12,
      activeZoneMinutes: 24,
      sedentaryMinutes: 660,
      lightlyActiveMinutes: 187,
      fairlyActiveMinutes: 21,
      veryActiveMinutes: 13,
    });
  });

  it.each([
    ["no steps point: the day has not synced", { steps: null }, null],
    ["a worn, still day: explicit zeros are zeros", { steps: day({ steps: { countSum: "0" } }), distance: day({ distance: { millimetersSum: "0" } }) }, { steps: 0, distanceMeters: 0, calories: 0 }],
    ["only steps", { steps: day({ steps: { countSum: "12" } }) }, { steps: 12, distanceMeters: 0, calories: 0 }],
  ] as const)("when %s, then %j", (_name, rollups, expected) => {
    expect(activityFromRollups(rollups as never)).toEqual(expected);
  });

  it("when active-minutes is missing, then activity-level durations give the light/fairly/very minutes", () => {
    const a = activityFromRollups({
      steps: day({ steps: { countSum: "1" } }),
      "activity-level": day({
        activityLevel: {
          activityLevelRollupsByActivityLevelType: [
            { activityLevelType: "LIGHTLY_ACTIVE", totalDuration: "3600s" },
            { activityLevelType: "MODERATELY_ACTIVE", totalDuration: "600s" },
            { activityLevelType: "VERY_ACTIVE", totalDuration: "120s" },
          ],
        },
      }),
    });
    expect(a).toMatchObject({ lightlyActiveMinutes: 60, fairlyActiveMinutes: 10, veryActiveMinutes: 2 });
  });

  const session = (minutesAsleep: number, minutesInSleepPeriod?: number, nap = false): SleepSession => ({
    id: String(Math.random()),
    startTime: "2026-11-20T03:00:00Z",
    endTime: "2026-11-20T10:00:00Z",
    minutesAsleep,
    ...(minutesInSleepPeriod !== undefined ? { minutesInSleepPeriod } : {}),
    mainSleep: !nap,
    nap,
    processed: true,
  });
  it.each([
    ["no session", [], null],
    ["one night", [session(412, 460)], { minutesAsleep: 412, minutesInBed: 460 }],
    ["a night in two pieces and a nap: all summed", [session(200, 230), session(190, 205), session(35, 40, true)], { minutesAsleep: 425, minutesInBed: 475 }],
    ["no time in bed known", [session(300)], { minutesAsleep: 300 }],
    ["only zero-minute sessions", [session(0, 5)], null],
  ] as const)("when sleep is %s, then %j", (_n, sessions, expected) => {
    expect(sleepFromSessions(sessions as unknown as SleepSession[])).toEqual(expected);
  });
});

describe("which paired device speaks for the wearer", () => {
  const now = new Date("2026-11-21T12:00:00Z");
  const hoursAgo = (h: number) => new Date(now.getTime() - h * 3_600_000).toISOString();

  it("when there are two trackers and a scale, then the tracker with the lowest battery that synced within a day is read; never the scale", () => {
    const c = chooseReading(
      [
        { id: "scale", deviceType: "SCALE", batteryLevel: 1, lastSyncTime: hoursAgo(1) },
        { id: "watch", deviceType: "TRACKER", batteryLevel: 40, lastSyncTime: hoursAgo(1) },
        { id: "band", deviceType: "TRACKER", batteryLevel: 14, lastSyncTime: hoursAgo(3) },
        { id: "old", deviceType: "TRACKER", batteryLevel: 2, lastSyncTime: hoursAgo(30) },
      ],
      now,
    );
    expect(c).toMatchObject({ kind: "reading", level: 14, device: { id: "band" } });
  });

  it("when no tracker synced within a day, then the latest sync is reported as stale (not its level)", () => {
    const c = chooseReading([{ id: "w", deviceType: "TRACKER", batteryLevel: 60, lastSyncTime: hoursAgo(26) }], now);
    expect(c).toMatchObject({ kind: "stale", syncedAt: new Date(hoursAgo(26)) });
  });

  it("when a tracker never synced, or there are only scales, then nothing is read", () => {
    expect(chooseReading([{ id: "w", deviceType: "TRACKER", batteryLevel: 5 }], now)).toEqual({ kind: "none" });
    expect(chooseReading([{ id: "s", deviceType: "SCALE", batteryLevel: 5, lastSyncTime: hoursAgo(1) }], now)).toEqual({ kind: "none" });
  });

  it.each([
    [{ batteryLevel: 14 }, { level: 14 }],
    [{ batteryStatus: "Empty" }, { level: 5, fromStatus: "empty" }],
    [{ batteryStatus: "Low" }, { level: 15, fromStatus: "low" }],
    [{ batteryStatus: "Medium" }, { level: 25, fromStatus: "medium" }],
    [{ batteryStatus: "High" }, { level: 50, fromStatus: "high" }],
    [{}, null],
  ])("when Google gives %j, then the level read is %j (a status is the low end of its band)", (d, expected) => {
    expect(levelOf({ id: "x", ...d })).toEqual(expected);
  });

  it("when the same reading is polled twice, then its event id is the same, and a valid client id", () => {
    const a = readingEventId("users/me/pairedDevices:1234", new Date("2026-11-21T06:02:11Z"));
    expect(a).toBe(readingEventId("users/me/pairedDevices:1234", new Date("2026-11-21T06:02:11Z")));
    expect(a).toMatch(/^gh-[A-Za-z0-9_-]{1,61}$/);
    expect(a).not.toBe(readingEventId("users/me/pairedDevices:1234", new Date("2026-11-21T06:32:11Z")));
  });
});

describe("when jobs fall due", () => {
  it("when 10,000 wearers are spread over 30 minutes, then no minute holds more than twice the average", () => {
    const period = 30 * 60_000;
    const perMinute = new Array(30).fill(0);
    for (let i = 0; i < 10_000; i++) perMinute[Math.floor(pollOffsetMs(`dev_${i}`, period) / 60_000)]++;
    expect(Math.max(...perMinute)).toBeLessThan((10_000 / 30) * 1.3);
    expect(Math.min(...perMinute)).toBeGreaterThan((10_000 / 30) * 0.7);
  });

  it("when a wearer's slot is computed, then it is stable and one period apart", () => {
    const period = 30 * 60_000;
    const t0 = new Date("2026-11-20T12:00:00Z");
    const a = nextPollAt("dev_x", t0, period);
    expect(a.getTime()).toBeGreaterThan(t0.getTime());
    expect(a.getTime() - t0.getTime()).toBeLessThanOrEqual(period);
    expect(nextPollAt("dev_x", a, period).getTime() - a.getTime()).toBe(period);
    expect(nextPollAt("dev_x", new Date(a.getTime() - 1), period)).toEqual(a);
  });

  it.each([
    ["2026-11-21T05:05:00Z", "00:10", "America/New_York", "2026-11-20"], // 00:05 local: yesterday's is still ahead
    ["2026-11-21T05:15:00Z", "00:10", "America/New_York", "2026-11-21"], // 00:15 local: next is today's
    ["2026-11-20T15:30:00Z", "00:10", "Asia/Tokyo", "2026-11-21"], // 00:30 on the 21st in Tokyo: the 20th's time has passed
  ])("when a wearer is first seen at %s with summary time %s in %s, then the first day summarized is %s", (now, time, tz, expected) => {
    expect(firstSummaryDate(new Date(now), time, tz)).toBe(expected);
  });

  it("when the day is 2026-11-20 in New York, then its summary is due at 00:10 on the 21st local and it ends at local midnight", () => {
    expect(summaryDueAt("2026-11-20", "00:10", "America/New_York").toISOString()).toBe("2026-11-21T05:10:00.000Z");
    expect(endOfDay("2026-11-20", "America/New_York").toISOString()).toBe("2026-11-21T05:00:00.000Z");
    expect(localDate(new Date("2026-11-21T04:59:00Z"), "America/New_York")).toBe("2026-11-20");
  });
});

describe("cloud SMS texts", () => {
  const at = new Date("2026-11-20T19:02:30Z");
  it.each([
    ["en-US", { level: 14 }, "America/New_York", "WristRelay: your Fitbit battery is at 14% (as of the last sync at 14:02)."],
    ["ja-JP", { level: 14 }, "Asia/Tokyo", "WristRelay: Fitbitの電池残量が14%です(最後の同期04:02時点)。"],
    ["en-US", { status: "low" }, "America/New_York", "WristRelay: your Fitbit battery is low (as of the last sync at 14:02)."],
    ["en-US", { status: "empty" }, "Europe/London", "WristRelay: your Fitbit battery is empty (as of the last sync at 19:02)."],
  ] as const)("when a %s wearer's reading is %j, then the SMS reads in their zone", (lang, reading, tz, text) => {
    expect(cloudBatteryText(lang, reading, at, tz)).toBe(text);
  });

  it("when a device stopped syncing, then the SMS names the last sync in the wearer's language and zone", () => {
    expect(notSyncedText("en-US", at, "America/New_York")).toBe("WristRelay: your Fitbit has not synced since Nov 20, 14:02; its battery may be empty.");
    expect(notSyncedText("ja-JP", at, "Asia/Tokyo")).toBe("WristRelay: Fitbitは11月21日 04:02から同期されていません。電池切れかもしれません。");
  });

  it("when the watch reports, then its text is unchanged", () => {
    expect(lowBatteryText("en-US", 19, 180)).toBe("WristRelay: your Fitbit battery is at 19% (about 3 h left). Charge it soon.");
  });
});
