// When cloud jobs fall due (pure): polls spread over the period by a stable per-wearer offset, and
// the nightly summary at the wearer's summary time for their own yesterday.
import { createHash } from "node:crypto";
import { nextDate } from "../providers/google-health.ts";
import { zonedInstant } from "./summaries.ts";

/** A stable offset in [0, periodMs) from the wearer's id, so 10,000 wearers do not all poll at :00. */
export function pollOffsetMs(deviceId: string, periodMs: number): number {
  const h = createHash("sha256").update(deviceId).digest();
  return (h.readUInt32BE(0) * 2 ** 16 + h.readUInt16BE(4)) % periodMs;
}

/** The wearer's next poll slot strictly after `after`. */
export function nextPollAt(deviceId: string, after: Date, periodMs: number): Date {
  const offset = pollOffsetMs(deviceId, periodMs);
  const t = after.getTime();
  let slot = Math.floor((t - offset) / periodMs) * periodMs + offset;
  while (slot <= t) slot += periodMs;
  return new Date(slot);
}

const dateFormatters = new Map<string, Intl.DateTimeFormat>();
/** YYYY-MM-DD of `at` in the time zone. */
export function localDate(at: Date, timeZone: string): string {
  let f = dateFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" });
    dateFormatters.set(timeZone, f);
  }
  return f.format(at);
}

export const previousDate = (date: string) => new Date(Date.parse(date + "T00:00:00Z") - 86_400_000).toISOString().slice(0, 10);

/** When the summary of `date` is due: the summary time on the next day, in the wearer's zone. */
export const summaryDueAt = (date: string, summaryTime: string, timeZone: string) => zonedInstant(nextDate(date), summaryTime, timeZone);

/** The end of `date` (local midnight after it): a sync at or after it has that whole day. */
export const endOfDay = (date: string, timeZone: string) => zonedInstant(nextDate(date), "00:00", timeZone);

/** The first day to summarize for a wearer seen now: yesterday while its summary time is still ahead, else today. */
export function firstSummaryDate(now: Date, summaryTime: string, timeZone: string): string {
  const yesterday = previousDate(localDate(now, timeZone));
  return summaryDueAt(yesterday, summaryTime, timeZone) >= now ? yesterday : nextDate(yesterday);
}
