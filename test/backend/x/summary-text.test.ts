import { describe, expect, test } from "vitest";
import twitterText from "twitter-text";
import {
  BLANK,
  DROP_RANK,
  activityLines,
  fitToTweet,
  formatActivityPost,
  formatSleepPost,
  type DayActivity,
  type DaySleep,
  type Lang,
  type SummaryTextOptions,
} from "../../../backend/src/domain/summary-text.ts";

const DATE = "2026-11-20";
const FULL: DayActivity = {
  steps: 12345,
  distanceMeters: 9876,
  calories: 2345,
  caloriesBMR: 1567,
  activityCalories: 778,
  sedentaryMinutes: 612,
  lightlyActiveMinutes: 201,
  fairlyActiveMinutes: 25,
  veryActiveMinutes: 31,
  floors: 12,
  activeZoneMinutes: 48,
};
const ORIGINAL_ONLY: DayActivity = { ...FULL, floors: undefined, activeZoneMinutes: undefined };

/** Every text we produce must be one X accepts and must never show an empty section. */
function expectPostable(text: string | null): asserts text is string {
  expect(text).not.toBeNull();
  expect(twitterText.parseTweet(text!).valid).toBe(true);
  expect(text).not.toMatch(/\n\n\n/);
  expect(text).not.toMatch(/^\n|\n$/);
}

describe("activity post", () => {
  const rows: { when: string; activity: DayActivity; opts: SummaryTextOptions; expected: string }[] = [
    {
      when: "a full day in Japanese",
      activity: FULL,
      opts: { language: "ja-JP" },
      expected: [
        "本日(2026-11-20)の運動 from Fitbit",
        "",
        "座っていた時間: 612分",
        "軽い運動の時間: 201分",
        "アクティブな運動の時間: 25分",
        "激しい運動の時間: 31分",
        "",
        "本日の歩数: 12345歩 (9.876km)",
        "",
        "消費カロリー: 2345kcal (基礎代謝: 1567kcal)",
        "",
        "上った階数: 12階",
        "アクティブゾーン: 48分",
      ].join("\n"),
    },
    {
      when: "a day with only the original figures in English",
      activity: ORIGINAL_ONLY,
      opts: { language: "en-US" },
      expected: [
        "Today's exercise (2026-11-20) from Fitbit",
        "",
        "Sitting time: 612 minutes",
        "Light exercise time: 201 minutes",
        "Active exercise time: 25 minutes",
        "Time for strenuous exercise: 31 minutes",
        "",
        "Today's steps: 12,345 steps (9.876 km)",
        "",
        "Calories burned: 2,345 kcal (basal metabolism: 1,567 kcal)",
      ].join("\n"),
    },
    {
      when: "a full day in English (274 with the original lines: the new lines do not fit and are dropped first)",
      activity: FULL,
      opts: { language: "en-US" },
      expected: [
        "Today's exercise (2026-11-20) from Fitbit",
        "",
        "Sitting time: 612 minutes",
        "Light exercise time: 201 minutes",
        "Active exercise time: 25 minutes",
        "Time for strenuous exercise: 31 minutes",
        "",
        "Today's steps: 12,345 steps (9.876 km)",
        "",
        "Calories burned: 2,345 kcal (basal metabolism: 1,567 kcal)",
      ].join("\n"),
    },
    {
      when: "the wearer chose no minutes lines in English",
      activity: FULL,
      opts: { language: "en-US", lines: ["calories", "floors", "activeZoneMinutes"] },
      expected: [
        "Today's exercise (2026-11-20) from Fitbit",
        "",
        "Today's steps: 12,345 steps (9.876 km)",
        "",
        "Calories burned: 2,345 kcal (basal metabolism: 1,567 kcal)",
        "",
        "Floors climbed: 12",
        "Active Zone Minutes: 48",
      ].join("\n"),
    },
    {
      when: "some minutes and the basal figure are missing in Japanese",
      activity: { steps: 8000, distanceMeters: 5600, calories: 1900, sedentaryMinutes: 700, veryActiveMinutes: 12 },
      opts: { language: "ja-JP" },
      expected: [
        "本日(2026-11-20)の運動 from Fitbit",
        "",
        "座っていた時間: 700分",
        "激しい運動の時間: 12分",
        "",
        "本日の歩数: 8000歩 (5.600km)",
        "",
        "消費カロリー: 1900kcal",
      ].join("\n"),
    },
    {
      when: "no minutes are known at all in Japanese (the minutes section and its blank line go)",
      activity: { steps: 8000, distanceMeters: 5600, calories: 1900, caloriesBMR: 1500 },
      opts: { language: "ja-JP" },
      expected: ["本日(2026-11-20)の運動 from Fitbit", "", "本日の歩数: 8000歩 (5.600km)", "", "消費カロリー: 1900kcal (基礎代謝: 1500kcal)"].join("\n"),
    },
    {
      when: "a zero day in Japanese (0 is a real value and is shown)",
      activity: { steps: 0, distanceMeters: 0, calories: 0, sedentaryMinutes: 0, lightlyActiveMinutes: 0, fairlyActiveMinutes: 0, veryActiveMinutes: 0, floors: 0 },
      opts: { language: "ja-JP" },
      expected: [
        "本日(2026-11-20)の運動 from Fitbit",
        "",
        "座っていた時間: 0分",
        "軽い運動の時間: 0分",
        "アクティブな運動の時間: 0分",
        "激しい運動の時間: 0分",
        "",
        "本日の歩数: 0歩 (0.000km)",
        "",
        "消費カロリー: 0kcal",
        "",
        "上った階数: 0階",
      ].join("\n"),
    },
    {
      when: "a zero day in English with only the required figures",
      activity: { steps: 0, distanceMeters: 0, calories: 0 },
      opts: { language: "en-US" },
      expected: ["Today's exercise (2026-11-20) from Fitbit", "", "Today's steps: 0 steps (0.000 km)", "", "Calories burned: 0 kcal"].join("\n"),
    },
    {
      when: "one step and one minute in English (singular)",
      activity: { steps: 1, distanceMeters: 1, calories: 1, veryActiveMinutes: 1 },
      opts: { language: "en-US", lines: ["minutes"] },
      expected: ["Today's exercise (2026-11-20) from Fitbit", "", "Time for strenuous exercise: 1 minute", "", "Today's steps: 1 step (0.001 km)"].join("\n"),
    },
    {
      when: "the wearer chose only the steps line (no trailing blank line)",
      activity: FULL,
      opts: { language: "ja-JP", lines: [] },
      expected: ["本日(2026-11-20)の運動 from Fitbit", "", "本日の歩数: 12345歩 (9.876km)"].join("\n"),
    },
    {
      when: "fractional metres and a million steps in English (km rounded to 3 decimals, thousands separated)",
      activity: { steps: 1234567.4, distanceMeters: 1234.5678, calories: 3000.6 },
      opts: { language: "en-US", lines: ["calories"] },
      expected: ["Today's exercise (2026-11-20) from Fitbit", "", "Today's steps: 1,234,567 steps (1.235 km)", "", "Calories burned: 3,001 kcal"].join("\n"),
    },
  ];
  test.each(rows)("when $when, then the post is exactly the expected lines", ({ activity, opts, expected }) => {
    const text = formatActivityPost(DATE, activity, opts);
    expectPostable(text);
    expect(text).toBe(expected);
  });

  test("when there is no activity, then there is nothing to post", () => {
    expect(formatActivityPost(DATE, undefined, { language: "ja-JP" })).toBeNull();
    expect(formatActivityPost(DATE, null, { language: "en-US" })).toBeNull();
  });

  test("when an optional figure is not a number a person could have, then its line is left out", () => {
    const text = formatActivityPost(DATE, { steps: 10, distanceMeters: 10, calories: 10, floors: -1, activeZoneMinutes: Number.NaN }, { language: "en-US" });
    expectPostable(text);
    expect(text).not.toMatch(/Floors|Active Zone/);
  });

  test("when a required figure is not a count, then formatting refuses it", () => {
    expect(() => formatActivityPost(DATE, { steps: Number.POSITIVE_INFINITY, distanceMeters: 0, calories: 0 }, { language: "en-US" })).toThrow(RangeError);
  });

  for (const language of ["ja-JP", "en-US"] as Lang[]) {
    test(`when a day is too long for 280 in ${language}, then whole optional lines are dropped (new lines first, then minutes), never the title or steps, never mid-line`, () => {
      const huge = 123456789012345;
      const day: DayActivity = {
        steps: huge,
        distanceMeters: huge,
        calories: huge,
        caloriesBMR: huge,
        sedentaryMinutes: huge,
        lightlyActiveMinutes: huge,
        fairlyActiveMinutes: huge,
        veryActiveMinutes: huge,
        floors: huge,
        activeZoneMinutes: huge,
      };
      const all = activityLines(DATE, day, { language }).map((l) => l.text);
      const text = formatActivityPost(DATE, day, { language });
      expectPostable(text);
      const lines = text.split("\n");
      for (const line of lines) expect(all).toContain(line);
      expect(lines[0]).toBe(all[0]);
      expect(text).toContain(language === "ja-JP" ? "本日の歩数: 123456789012345歩 (123456789012.345km)" : "Today's steps: 123,456,789,012,345 steps (123,456,789,012.345 km)");
      // new lines went before any minutes line did
      expect(text).not.toMatch(/階|アクティブゾーン|Floors|Active Zone/);
      // minutes lines go bottom-most first; calories (a later rank) stays
      expect(text).not.toMatch(/激しい運動の時間|Time for strenuous exercise/);
      expect(text).toMatch(/座っていた時間|Sitting time/);
      expect(text).toMatch(/消費カロリー|Calories burned/);
      expect(twitterText.parseTweet(text).weightedLength).toBeGreaterThan(140);
    });
  }
});

describe("sleep post", () => {
  const rows: { when: string; sleep: DaySleep; opts: SummaryTextOptions; expected: string }[] = [
    {
      when: "a measured night in Japanese",
      sleep: { minutesAsleep: 446 },
      opts: { language: "ja-JP" },
      expected: "本日(2026-11-20)の睡眠時間 from Fitbit\n\n睡眠時間: 7.433時間",
    },
    {
      when: "an estimated night in Japanese",
      sleep: { minutesAsleep: 446, estimated: true },
      opts: { language: "ja-JP" },
      expected: "本日(2026-11-20)の睡眠時間 from Fitbit\n\n睡眠時間: 7.433時間 (推定)",
    },
    {
      when: "a measured night with time in bed in English",
      sleep: { minutesAsleep: 446, minutesInBed: 480 },
      opts: { language: "en-US" },
      expected: "Sleep (2026-11-20) from Fitbit\n\nSleep: 7.433 hours\nTime in bed: 8.000 hours",
    },
    {
      when: "an estimated night with time in bed in Japanese",
      sleep: { minutesAsleep: 400, minutesInBed: 451, estimated: true },
      opts: { language: "ja-JP" },
      expected: "本日(2026-11-20)の睡眠時間 from Fitbit\n\n睡眠時間: 6.667時間 (推定)\nベッドにいた時間: 7.517時間",
    },
    {
      when: "an estimated night in English without the time-in-bed line chosen",
      sleep: { minutesAsleep: 446, minutesInBed: 480, estimated: true },
      opts: { language: "en-US", lines: ["minutes"] },
      expected: "Sleep (2026-11-20) from Fitbit\n\nSleep: 7.433 hours (estimated)",
    },
  ];
  test.each(rows)("when $when, then the post is exactly the expected lines", ({ sleep, opts, expected }) => {
    const text = formatSleepPost(DATE, sleep, opts);
    expectPostable(text);
    expect(text).toBe(expected);
  });

  test("when there is no sleep data, then there is nothing to post", () => {
    expect(formatSleepPost(DATE, undefined, { language: "ja-JP" })).toBeNull();
    expect(formatSleepPost(DATE, null, { language: "en-US" })).toBeNull();
  });

  test("when the night shows 0 minutes asleep, then there is nothing to post (the watch was off the wrist)", () => {
    expect(formatSleepPost(DATE, { minutesAsleep: 0 }, { language: "en-US" })).toBeNull();
  });
});

describe("fitToTweet", () => {
  test("when an optional line alone is too long, then only that line goes and the blank lines around it collapse", () => {
    const text = fitToTweet([{ text: "title" }, BLANK, { text: "x".repeat(300), dropRank: DROP_RANK.newLine }, BLANK, { text: "steps" }]);
    expect(text).toBe("title\n\nsteps");
  });

  test("when dropping the lowest-rank lines is enough, then higher-rank lines stay", () => {
    const text = fitToTweet([
      { text: "title" },
      BLANK,
      { text: "m".repeat(100), dropRank: DROP_RANK.minutes },
      BLANK,
      { text: "n".repeat(100), dropRank: DROP_RANK.newLine },
      { text: "o".repeat(100), dropRank: DROP_RANK.newLine },
    ]);
    expectPostable(text);
    expect(text).toBe(`title\n\n${"m".repeat(100)}\n\n${"n".repeat(100)}`);
  });

  test("when Japanese text is counted, then each CJK character weighs 2", () => {
    const line = "あ".repeat(139);
    expect(fitToTweet([{ text: line }, { text: "い", dropRank: 1 }])).toBe(line); // 278 + newline + 2 = 281
    expect(fitToTweet([{ text: line }, { text: "1", dropRank: 1 }])).toBe(`${line}\n1`); // 280
  });

  test("when even the lines that are never dropped are too long, then there is no post", () => {
    expect(fitToTweet([{ text: "t".repeat(281) }, { text: "short", dropRank: 1 }])).toBeNull();
  });

  test("when there is no line at all, then there is no post", () => {
    expect(fitToTweet([BLANK, BLANK])).toBeNull();
  });
});
