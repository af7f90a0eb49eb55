// The nightly summary from Google Health: at the wearer's summary time, for their yesterday, once the
// device has synced past the end of that day (else wait and retry, up to a limit, rather than post
// zeros). It goes through recordSummary with the event id "gh-<date>", which is idempotent per
// wearer, date and kind: a summary the watch already sent for that day wins, and the cloud only
// fills in a kind the watch did not send.
import { nextDate, type GoogleHealthClient } from "../providers/google-health.ts";
import { ACTIVITY_TYPES, activityFromRollups, sleepFromSessions, type ActivityType, type Rollups } from "./cloud-rollups.ts";
import { endOfDay, firstSummaryDate, summaryDueAt } from "./cloud-schedule.ts";
import type { Device } from "./devices.ts";
import type { Deps } from "./deps.ts";
import { readPreferences } from "./preferences.ts";
import { canPost, recordSummary, type SummaryInput } from "./summaries.ts";
import type { DayActivity, DaySleep } from "./summary-text.ts";

export interface SummaryState {
  /** the day whose summary is next */
  date?: string;
  /** answers already fetched for that day, when the quota spread its calls over several minutes */
  got?: Got;
}

export interface Granted {
  activity: boolean;
  sleep: boolean;
  settings: boolean;
}

/** What the job does next; the scheduler makes the calls it asks for and reports back. */
export type SummaryStep =
  | { step: "wait"; until: Date; state: SummaryState }
  | { step: "done"; state: SummaryState; outcome: "posted" | "watch_first" | "nothing_wanted" }
  | { step: "fetch"; date: string; kinds: ("activity" | "sleep")[]; giveUpAt: Date };

/** Which day is next, and whether it is time; no API call and no write. */
export async function planSummary(deps: Deps, dev: Device, granted: Granted, st: SummaryState, now: Date): Promise<SummaryStep> {
  const prefs = readPreferences(dev.preferences);
  const tz = dev.timezone;
  const { summaryMaxWaitHours } = deps.config.google;
  let date = st.date ?? firstSummaryDate(now, prefs.summaryTime, tz);
  const maxWaitMs = summaryMaxWaitHours * 3_600_000;
  let skipped = 0;
  // A relay that was down for days does not post old days: skip to the first day still in its window.
  while (summaryDueAt(date, prefs.summaryTime, tz).getTime() + maxWaitMs < now.getTime()) {
    if (skipped === 0) deps.log.info({ deviceId: dev.id, date }, "cloud summary: no data in time; nothing posted for that day");
    date = nextDate(date);
    skipped++;
  }
  const due = summaryDueAt(date, prefs.summaryTime, tz);
  if (due > now) return { step: "wait", until: due, state: { date } };
  const wanted: ("activity" | "sleep")[] = [];
  if (prefs.postActivity && granted.activity) wanted.push("activity");
  if (prefs.postSleep && granted.sleep) wanted.push("sleep");
  const next = { date: nextDate(date) };
  // nothing could be posted (no X account linked, or its link expired): no Health API calls for it
  if (wanted.length === 0 || !(await canPost(deps, deps.store.db, dev.id))) return { step: "done", state: next, outcome: "nothing_wanted" };
  const have = await deps.store.db.selectFrom("summaries").select("kind").where("device_id", "=", dev.id).where("date", "=", date).execute();
  const kinds = wanted.filter((k) => !have.some((h) => h.kind === k));
  if (kinds.length === 0) return { step: "done", state: next, outcome: "watch_first" };
  return { step: "fetch", date, kinds, giveUpAt: new Date(due.getTime() + maxWaitMs) };
}

/** One call of a summary: a rollup of one activity type, or the sleep list. */
export type Piece = ActivityType | "sleep";

/** The calls a summary of these kinds makes, steps first (no steps point: not synced, stop there). */
export const piecesFor = (kinds: ("activity" | "sleep")[]): Piece[] => [...(kinds.includes("activity") ? ACTIVITY_TYPES : []), ...(kinds.includes("sleep") ? (["sleep"] as const) : [])];

/** What was fetched so far for the day: rollup points by type, the night's sleep (null: none). */
export type Got = Partial<Record<ActivityType, Record<string, unknown> | null>> & { sleep?: DaySleep | null };

/**
 * Makes the calls of `pieces` (a few at a time when the quota allows no more) and adds their answers to `got`.
 * Returns how many calls were made. When steps come back empty the rest is not asked for.
 */
export async function fetchPieces(google: GoogleHealthClient, token: string, date: string, pieces: Piece[], got: Got): Promise<number> {
  let calls = 0;
  let rest = pieces;
  if (rest[0] === "steps") {
    got.steps = await google.dailyRollUp(token, "steps", date);
    calls++;
    rest = rest.slice(1);
    if (!got.steps) return calls;
  }
  // one at a time: the scheduler's concurrency is then the number of calls in flight
  for (const p of rest) {
    if (p === "sleep") got.sleep = sleepFromSessions(await google.sleepSessions(token, date));
    else got[p] = await google.dailyRollUp(token, p, date);
    calls++;
  }
  return calls;
}

/** The day's summary from what was fetched. */
export function dayFrom(got: Got, kinds: ("activity" | "sleep")[]): { activity?: DayActivity | null; sleep?: DaySleep | null } {
  const rollups: Rollups = {};
  for (const t of ACTIVITY_TYPES) if (t in got) rollups[t] = got[t];
  return {
    ...(kinds.includes("activity") ? { activity: activityFromRollups(rollups) } : {}),
    ...(kinds.includes("sleep") ? { sleep: got.sleep ?? null } : {}),
  };
}

/** Has the wearer's device synced past the end of `date`? (null: cannot tell) */
export function syncedPast(date: string, timeZone: string, syncedAt: Date | null): boolean | null {
  if (!syncedAt) return null;
  return syncedAt >= endOfDay(date, timeZone);
}

export async function postCloudSummary(deps: Deps, dev: Device, date: string, f: { activity?: DayActivity | null; sleep?: DaySleep | null }): Promise<void> {
  const input: SummaryInput = {
    eventId: `gh-${date}`,
    date,
    // recordSummary answers "no_data" for a kind it is not given and records nothing for it,
    // so a kind that was not granted or not wanted is simply left out
    activity: (f.activity ?? undefined) as DayActivity,
    ...(f.sleep ? { sleep: f.sleep } : {}),
  };
  await recordSummary(deps, dev, input);
}
