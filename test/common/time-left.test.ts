import { describe, expect, it } from "vitest";
import { addSample, estimateMinutesLeft, LevelSample, MAX_SAMPLES } from "../../common/time-left";

function feed(points: [number, number, boolean?][]): LevelSample[] {
  let s: LevelSample[] = [];
  for (const [min, lvl, chg] of points) s = addSample(s, min * 60, lvl, !!chg);
  return s;
}

describe("time left", () => {
  it.each([
    ["when there is no history, then no estimate", [], 50, undefined],
    ["when there is one reading, then no estimate", [[0, 50]], 50, undefined],
    ["when the drop is too small, then no estimate", [[0, 50], [60, 48]], 48, undefined],
    ["when the span is too short, then no estimate", [[0, 50], [10, 40]], 40, undefined],
    ["when 10 % went in an hour, then 40 % lasts four hours", [[0, 50], [30, 45], [60, 40]], 40, 240],
    ["when the battery charged in between, then only the new discharge counts", [[0, 90], [60, 80], [70, 81, true], [80, 80], [140, 75]], 75, 900],
  ] as [string, [number, number, boolean?][], number, number | undefined][])("%s", (_n, points, lvl, expected) => {
    expect(estimateMinutesLeft(feed(points), lvl)).toBe(expected);
  });

  it("when the same level is read again, then the history does not grow", () => {
    expect(feed([[0, 50], [5, 50], [9, 50]])).toHaveLength(1);
  });

  it("when a long day is read, then the history stays bounded", () => {
    const points: [number, number][] = [];
    for (let i = 0; i < 80; i++) points.push([i * 10, 100 - i]);
    expect(feed(points).length).toBeLessThanOrEqual(MAX_SAMPLES);
  });

  it("when old samples are older than the window, then they are forgotten", () => {
    const s = feed([[0, 90], [60, 85], [60 * 14, 60], [60 * 15, 55]]);
    expect(s[0][0]).toBe(60 * 14 * 60);
  });
});
