import { afterEach, describe, expect, it } from "vitest";
import { gettext, __reset, __setLocale } from "i18n";
import { formatClock, formatCount, formatDate, formatDistance, formatResult, formatShortTime, formatTimeLeft } from "../../common/format";

const t = (id: string) => gettext(id);
const evening = new Date(2026, 10, 21, 21, 3);
const morning = new Date(2026, 10, 21, 0, 7);

describe("formatting", () => {
  afterEach(() => __reset());

  it.each([
    ["21:03", evening, true, "21:03", ""],
    ["21:03", evening, false, "9:03", "PM"],
    ["00:07", morning, true, "00:07", ""],
    ["00:07", morning, false, "12:07", "AM"],
  ] as [string, Date, boolean, string, string][])("when it is %s (24 h: %s), then the face shows %s %s", (_at, d, h24, time, ampm) => {
    expect(formatClock(d, h24, t)).toEqual({ time, ampm });
  });

  it.each([
    ["en-US", "Sat Nov 21", "9:03 PM"],
    ["ja-JP", "11月21日(土)", "午後9:03"],
  ])("when the locale is %s, then the date reads %s and a 12 h time %s", (loc, date, short) => {
    __setLocale(loc);
    expect(formatDate(evening, t)).toBe(date);
    expect(formatShortTime(evening, false, t)).toBe(short);
  });

  it.each([
    [6075, "km", "6.08 km"],
    [6075, "mi", "3.77 mi"],
    [0, "km", "0.00 km"],
    [160934, "mi", "100 mi"],
  ] as [number, "km" | "mi", string][])("when %i m are walked in %s, then %s", (m, u, s) => {
    expect(formatDistance(m, u, t)).toBe(s);
  });

  it.each([
    [undefined, "\u2014"],
    [45, "45m left"],
    [320, "5h 20m left"],
    [1680, "1d 4h left"],
  ])("when %s minutes are left, then %s", (min, s) => {
    expect(formatTimeLeft(min, t)).toBe(s);
  });

  it("when the locale is Japanese, then time left is Japanese", () => {
    __setLocale("ja-JP");
    expect(formatTimeLeft(320, t)).toBe("残り5時間20分");
  });

  it.each([
    ["sms_sent", "SMS sent 21:03", true],
    ["sms_sent", "SMS sent 9:03 PM", false],
    ["unverified", "Number not verified", true],
    ["relay_down", "Relay unreachable 21:03", true],
  ] as [string, string, boolean][])("when the relay reports %s, then the face says %s", (k, s, h24) => {
    expect(formatResult(k, evening, h24, t)).toBe(s);
  });

  it.each([
    [0, "0"],
    [999, "999"],
    [12345, "12,345"],
    [1234567, "1,234,567"],
  ])("when the count is %i, then it reads %s", (n, s) => {
    expect(formatCount(n)).toBe(s);
  });
});
