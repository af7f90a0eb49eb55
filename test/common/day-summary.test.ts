import { describe, expect, it } from "vitest";
import { buildSummary, dayKey, previousDayKey, summaryId } from "../../common/day-summary";
import { applySleepState, initialSleepState, minutesAsleep } from "../../common/sleep-estimate";
import { isWatchMsg } from "../../common/protocol";
import { makeEventId } from "../../common/watch-messages";

describe("day summary", () => {
  it.each([
    [new Date(2026, 10, 21, 0, 1), "2026-11-21", "2026-11-20"],
    [new Date(2026, 0, 1, 0, 0), "2026-01-01", "2025-12-31"],
    [new Date(2028, 2, 1, 9, 0), "2028-03-01", "2028-02-29"],
  ])("when it is %s, then today is %s and yesterday %s", (d, today, yesterday) => {
    expect(dayKey(d)).toBe(today);
    expect(previousDayKey(d)).toBe(yesterday);
  });

  it("when yesterday's totals are summed up, then the message is valid and keyed by the day", () => {
    const msg = buildSummary("2026-11-21", { steps: 8100.4, distance: 6075, calories: 1524, elevationGain: 5 }, true, 13, 420);
    expect(msg).toEqual({ v: 1, t: "sum", id: "s20261121", d: "2026-11-21", st: 8100, dm: 6075, cal: 1524, fl: 5, azm: 13, slp: 420 });
    expect(isWatchMsg(msg)).toBe(true);
  });

  it("when the device has no barometer and nothing is known, then floors, AZM and sleep are left out", () => {
    const msg = buildSummary("2026-11-21", { steps: undefined, distance: 10, calories: 1 }, false, undefined, undefined);
    expect(msg).toEqual({ v: 1, t: "sum", id: summaryId("2026-11-21"), d: "2026-11-21", st: 0, dm: 10, cal: 1 });
  });

  it("when ids are made from time and a random number, then they pass the relay's id rule", () => {
    expect(isWatchMsg({ v: 1, t: "bat", id: makeEventId("b", Date.UTC(2026, 10, 21), 0.999), lvl: 1, chg: false, at: 1, why: "low" })).toBe(true);
  });
});

describe("sleep estimate", () => {
  it("when asleep at 23:30 and awake at 06:10, then 400 minutes count for the morning's day", () => {
    let s = initialSleepState();
    s = applySleepState(s, "asleep", 0, "2026-11-21");
    s = applySleepState(s, "asleep", 3600, "2026-11-22");
    s = applySleepState(s, "awake", 400 * 60, "2026-11-22");
    expect(minutesAsleep(s, "2026-11-22")).toBe(400);
    expect(minutesAsleep(s, "2026-11-21")).toBeUndefined();
  });

  it("when a nap follows the night, then both add up", () => {
    let s = initialSleepState();
    s = applySleepState(s, "asleep", 0, "d");
    s = applySleepState(s, "awake", 300 * 60, "d");
    s = applySleepState(s, "asleep", 400 * 60, "d");
    s = applySleepState(s, "unknown", 420 * 60, "d");
    s = applySleepState(s, "awake", 430 * 60, "d");
    expect(minutesAsleep(s, "d")).toBe(330);
  });

  it("when awake comes without a start or after an implausible stretch, then nothing is counted", () => {
    let s = applySleepState(initialSleepState(), "awake", 100, "d");
    s = applySleepState(s, "asleep", 0, "d");
    s = applySleepState(s, "awake", 20 * 3600, "d");
    expect(minutesAsleep(s, "d")).toBeUndefined();
  });
});
