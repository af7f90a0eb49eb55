// Google Health answers -> the body of POST /v1/summaries (pure). dailyRollUp values come as the
// API encodes them: int64 as strings, durations as "3600s", distance in millimetres.
import type { SleepSession } from "../providers/google-health.ts";
import type { DayActivity, DaySleep } from "./summary-text.ts";

/** The data types asked for, one dailyRollUp call each; steps first: no steps point means no sync yet. */
export const ACTIVITY_TYPES = ["steps", "distance", "total-calories", "floors", "active-zone-minutes", "sedentary-period", "active-minutes"] as const;
export type ActivityType = (typeof ACTIVITY_TYPES)[number];
export type Rollups = Partial<Record<ActivityType | "activity-level", Record<string, unknown> | null>>;

const num = (v: unknown): number | undefined => {
  const n = typeof v === "string" ? Number(v) : typeof v === "number" ? v : NaN;
  return Number.isFinite(n) ? n : undefined;
};
/** "39600s" / "39600.5s" -> seconds */
const seconds = (v: unknown): number | undefined => (typeof v === "string" && /^-?\d+(\.\d+)?s$/.test(v) ? Number(v.slice(0, -1)) : num(v));
const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);

/** A rollup point holds one value object named after the type in camelCase ("total-calories" -> totalCalories). */
function valueOf(point: Record<string, unknown> | null | undefined, type: string): Record<string, unknown> | undefined {
  if (!point) return undefined;
  const key = type.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
  return obj(point[key]);
}

/** Minutes by Google's active-minutes levels (LIGHT / MODERATE / VIGOROUS), or activity-level types as a fallback. */
function activeMinutes(r: Rollups): Pick<DayActivity, "lightlyActiveMinutes" | "fairlyActiveMinutes" | "veryActiveMinutes"> {
  const out: Pick<DayActivity, "lightlyActiveMinutes" | "fairlyActiveMinutes" | "veryActiveMinutes"> = {};
  const am = valueOf(r["active-minutes"], "active-minutes")?.activeMinutesRollupByActivityLevel;
  if (Array.isArray(am)) {
    for (const e of am as Record<string, unknown>[]) {
      const m = num(e?.activeMinutesSum);
      if (m === undefined) continue;
      if (e.activityLevel === "LIGHT") out.lightlyActiveMinutes = Math.round(m);
      else if (e.activityLevel === "MODERATE") out.fairlyActiveMinutes = Math.round(m);
      else if (e.activityLevel === "VIGOROUS") out.veryActiveMinutes = Math.round(m);
    }
    return out;
  }
  const al = valueOf(r["activity-level"], "activity-level")?.activityLevelRollupsByActivityLevelType;
  if (Array.isArray(al)) {
    for (const e of al as Record<string, unknown>[]) {
      const s = seconds(e?.totalDuration);
      if (s === undefined) continue;
      const m = Math.round(s / 60);
      if (e.activityLevelType === "LIGHTLY_ACTIVE") out.lightlyActiveMinutes = m;
      else if (e.activityLevelType === "MODERATELY_ACTIVE") out.fairlyActiveMinutes = m;
      else if (e.activityLevelType === "VERY_ACTIVE") out.veryActiveMinutes = m;
    }
  }
  return out;
}

/**
 * The day's activity, or null when there is no steps point at all (the device has not synced that
 * day: Google reports a worn, still device as explicit zeros, so a gap is not a zero).
 */
export function activityFromRollups(r: Rollups): DayActivity | null {
  const steps = num(valueOf(r.steps, "steps")?.countSum);
  if (steps === undefined) return null;
  const mm = num(valueOf(r.distance, "distance")?.millimetersSum);
  const kcal = num(valueOf(r["total-calories"], "total-calories")?.kcalSum);
  const a: DayActivity = { steps: Math.round(steps), distanceMeters: mm === undefined ? 0 : Math.round(mm / 1000), calories: kcal === undefined ? 0 : Math.round(kcal) };
  const floors = num(valueOf(r.floors, "floors")?.countSum);
  if (floors !== undefined) a.floors = Math.round(floors);
  const azm = valueOf(r["active-zone-minutes"], "active-zone-minutes");
  if (azm) {
    // Google already counts a cardio or peak minute as 2
    const parts = [azm.sumInFatBurnHeartZone, azm.sumInCardioHeartZone, azm.sumInPeakHeartZone].map(num);
    if (parts.some((p) => p !== undefined)) a.activeZoneMinutes = Math.round(parts.reduce<number>((s, p) => s + (p ?? 0), 0));
  }
  const sed = seconds(valueOf(r["sedentary-period"], "sedentary-period")?.durationSum);
  if (sed !== undefined) a.sedentaryMinutes = Math.round(sed / 60);
  Object.assign(a, activeMinutes(r));
  return a;
}

/** The night's sleep: every session that ended that day (main sleep and naps), summed; null when there is none. */
export function sleepFromSessions(sessions: SleepSession[]): DaySleep | null {
  if (sessions.length === 0) return null;
  let asleep = 0;
  let inBed = 0;
  let inBedKnown = false;
  for (const s of sessions) {
    asleep += Math.max(0, Math.round(s.minutesAsleep));
    if (s.minutesInSleepPeriod !== undefined) {
      inBed += Math.max(0, Math.round(s.minutesInSleepPeriod));
      inBedKnown = true;
    }
  }
  if (asleep === 0) return null;
  return inBedKnown ? { minutesAsleep: asleep, minutesInBed: inBed } : { minutesAsleep: asleep };
}
