// When a day's posts are due: the wearer's summary time on the next day, in their time zone, across DST changes.
import { describe, expect, it } from "vitest";
import { zonedInstant } from "../../../backend/src/domain/summaries.ts";

describe("zonedInstant", () => {
  it.each([
    ["2026-11-21", "00:10", "Asia/Tokyo", "2026-11-20T15:10:00.000Z"],
    ["2026-11-21", "00:10", "America/New_York", "2026-11-21T05:10:00.000Z"],
    ["2026-07-01", "00:10", "America/New_York", "2026-07-01T04:10:00.000Z"],
    ["2026-11-01", "01:30", "America/New_York", "2026-11-01T05:30:00.000Z"], // the first 01:30 of the repeated hour
    ["2026-03-08", "02:30", "America/New_York", "2026-03-08T07:30:00.000Z"], // skipped hour: rolls forward
    ["2026-03-29", "00:10", "Europe/London", "2026-03-29T00:10:00.000Z"],
    ["2026-06-15", "23:59", "Asia/Kolkata", "2026-06-15T18:29:00.000Z"],
    ["2026-11-21", "00:10", "UTC", "2026-11-21T00:10:00.000Z"],
  ])("when the date is %s at %s in %s, then the instant is %s", (date, time, tz, iso) => {
    expect(zonedInstant(date, time, tz).toISOString()).toBe(iso);
  });
});
