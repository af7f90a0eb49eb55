import { describe, expect, it } from "vitest";
import { applyBatteryReading, batteryAlertLevel, BatteryPolicyState, initialBatteryState } from "../../common/battery-policy";

/** Plays readings "lvl" or "lvl+" (charging) and returns the events as "why[thr]@lvl". */
function play(readings: string[], thresholds = [20, 10], start: BatteryPolicyState = initialBatteryState()): string[] {
  let state = start;
  const out: string[] = [];
  for (const r of readings) {
    const step = applyBatteryReading(state, parseInt(r, 10), r.endsWith("+"), thresholds);
    state = step.state;
    if (step.event) out.push(step.event.why + (step.event.thr ? step.event.thr : "") + "@" + step.event.lvl);
  }
  return out;
}

describe("battery policy", () => {
  it.each([
    ["when the level drains past 20 % and 10 %, then one alert per threshold", ["25", "21", "20", "19", "15", "11", "10", "9", "5"], ["low20@20", "low10@10"]],
    ["when the level wobbles around a threshold, then it alerts once", ["21", "20", "21", "20", "21", "19"], ["low20@20"]],
    ["when one reading jumps past both thresholds, then one alert for the lowest", ["30", "8"], ["low10@8"]],
    ["when the charger goes on and off, then start and finish are reported", ["50", "51+", "52+", "53"], ["chg_on@51", "chg_off@53"]],
    ["when charging reaches 100 %, then full is reported once", ["95", "96+", "100+", "100+", "99+", "100+"], ["chg_on@96", "full@100"]],
    ["when charging re-arms the thresholds, then the next discharge alerts again", ["20", "21+", "22", "20"], ["low20@20", "chg_on@21", "chg_off@22", "low20@20"]],
    ["when the level rises a margin above the highest threshold without a charger, then alerts re-arm", ["20", "26", "20"], ["low20@20", "low20@20"]],
    ["when the level rises only a little, then alerts stay disarmed", ["20", "24", "20"], ["low20@20"]],
    ["when the face starts already below a threshold, then it alerts once", ["15", "14"], ["low20@15"]],
    ["when the face starts on the charger, then no charge start is claimed", ["40+", "41+"], []],
    ["when every 1 % of a long drain is read, then only thresholds speak", Array.from({ length: 100 }, (_, i) => String(100 - i)), ["low20@20", "low10@10"]],
  ])("%s", (_name, readings, expected) => {
    expect(play(readings)).toEqual(expected);
  });

  it("when thresholds come from settings, then those are used", () => {
    expect(play(["60", "50", "30", "4"], [50, 5])).toEqual(["low50@50", "low5@4"]);
  });

  it("when the state is persisted and read back, then no alert repeats", () => {
    const first = applyBatteryReading(initialBatteryState(), 19, false, [20, 10]);
    const restored = JSON.parse(JSON.stringify(first.state));
    expect(play(["19", "18"], [20, 10], restored)).toEqual([]);
  });

  it.each([
    [50, 0],
    [20, 1],
    [11, 1],
    [10, 2],
    [0, 2],
  ])("when the level is %i %%, then the face's alert level is %i", (lvl, level) => {
    expect(batteryAlertLevel(lvl, [20, 10])).toBe(level);
  });
});
