// Fake "user-activity": today's figures, goals and a day history (newest first).
// Test API: __setToday, __setGoals, __setBarometer, __endDay, __reset.
import { makeTarget } from "../../helpers/watch-events";

interface Azm {
  fatBurn: number | undefined;
  cardio: number | undefined;
  peak: number | undefined;
  total: number;
}
interface Act {
  steps: number | undefined;
  distance: number | undefined;
  calories: number | undefined;
  elevationGain: number | undefined;
  activeZoneMinutes: Azm | undefined;
}
interface DayRecord {
  steps: number | undefined;
  distance: number | undefined;
  calories: number | undefined;
  elevationGain: number | undefined;
  averageHeartRate: number | undefined;
  restingHeartRate: number | undefined;
}

function zero(): Act {
  return { steps: 0, distance: 0, calories: 0, elevationGain: 0, activeZoneMinutes: { fatBurn: 0, cardio: 0, peak: 0, total: 0 } };
}

let barometer = true;
const adjusted: Act = zero();
const local: Act = zero();
export const today = { adjusted, local };
export const goals = makeTarget<Act>({ steps: 10000, distance: 8000, calories: 2400, elevationGain: 10, activeZoneMinutes: { fatBurn: undefined, cardio: undefined, peak: undefined, total: 22 } });
let history: DayRecord[] = [];
export const dayHistory = {
  maxRecordCount: 7,
  query(options?: { limit?: number }): DayRecord[] {
    const n = options && options.limit !== undefined ? options.limit : history.length;
    return history.slice(0, n).map((r) => ({ ...r }));
  },
};
export const minuteHistory = { maxRecordCount: 60, query: (): DayRecord[] => [] };
export const primaryGoal = "steps";
export const week = { adjusted: { activeZoneMinutes: 0 }, local: { activeZoneMinutes: 0 } };
export const weekGoals = makeTarget({ activeZoneMinutes: 150 });

export function __setToday(v: { steps?: number; distance?: number; calories?: number; elevationGain?: number; azm?: number }): void {
  for (const a of [adjusted, local]) {
    if (v.steps !== undefined) a.steps = v.steps;
    if (v.distance !== undefined) a.distance = v.distance;
    if (v.calories !== undefined) a.calories = v.calories;
    if (v.elevationGain !== undefined) a.elevationGain = barometer ? v.elevationGain : undefined;
    if (v.azm !== undefined) a.activeZoneMinutes = { fatBurn: v.azm, cardio: 0, peak: 0, total: v.azm };
  }
}

export function __setGoals(v: { steps?: number; distance?: number; calories?: number; elevationGain?: number; azm?: number }): void {
  if (v.steps !== undefined) goals.steps = v.steps;
  if (v.distance !== undefined) goals.distance = v.distance;
  if (v.calories !== undefined) goals.calories = v.calories;
  if (v.elevationGain !== undefined) goals.elevationGain = v.elevationGain;
  if (v.azm !== undefined) goals.activeZoneMinutes = { fatBurn: undefined, cardio: undefined, peak: undefined, total: v.azm };
}

/** A device without a barometer (Versa Lite-like): no floors anywhere. */
export function __setBarometer(has: boolean): void {
  barometer = has;
  if (!has) {
    adjusted.elevationGain = undefined;
    local.elevationGain = undefined;
  } else {
    if (adjusted.elevationGain === undefined) adjusted.elevationGain = 0;
    if (local.elevationGain === undefined) local.elevationGain = 0;
  }
}

/** Local midnight: today's totals become the newest history record and today starts at zero. */
export function __endDay(): void {
  history.unshift({
    steps: adjusted.steps,
    distance: adjusted.distance,
    calories: adjusted.calories,
    elevationGain: barometer ? adjusted.elevationGain : undefined,
    averageHeartRate: 72,
    restingHeartRate: 60,
  });
  history = history.slice(0, dayHistory.maxRecordCount);
  const z = zero();
  Object.assign(adjusted, z);
  Object.assign(local, zero());
  if (!barometer) {
    adjusted.elevationGain = undefined;
    local.elevationGain = undefined;
  }
}

export function __setHistory(records: Partial<DayRecord>[]): void {
  history = records.map((r) => ({
    steps: r.steps,
    distance: r.distance,
    calories: r.calories,
    elevationGain: r.elevationGain,
    averageHeartRate: r.averageHeartRate,
    restingHeartRate: r.restingHeartRate,
  }));
}

export function __reset(): void {
  barometer = true;
  Object.assign(adjusted, zero());
  Object.assign(local, zero());
  history = [];
  goals.__clear();
  __setGoals({ steps: 10000, distance: 8000, calories: 2400, elevationGain: 10, azm: 22 });
}
