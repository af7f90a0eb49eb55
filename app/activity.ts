// The only user of "user-activity".
import { dayHistory, goals, today } from "user-activity";
import { DayTotals } from "../common/day-summary";

export interface TodayActivity {
  steps: number;
  /** metres */
  distance: number;
  calories: number;
  /** undefined on a device without a barometer */
  floors: number | undefined;
  azm: number;
  goals: { steps: number; distance: number; calories: number; floors: number; azm: number };
}

function n(x: number | undefined | void): number {
  return typeof x === "number" && x === x ? x : 0;
}

export function hasBarometer(): boolean {
  return today.local.elevationGain !== undefined;
}

export function readToday(): TodayActivity {
  const a = today.adjusted;
  const azm = a.activeZoneMinutes;
  const gazm = goals.activeZoneMinutes;
  return {
    steps: n(a.steps),
    distance: n(a.distance),
    calories: n(a.calories),
    floors: hasBarometer() ? n(a.elevationGain) : undefined,
    azm: azm ? n(azm.total) : 0,
    goals: {
      steps: n(goals.steps),
      distance: n(goals.distance),
      calories: n(goals.calories),
      floors: n(goals.elevationGain),
      azm: gazm ? n(gazm.total) : 0,
    },
  };
}

/** Yesterday's final totals: the newest `dayHistory` record. */
export function readYesterday(): DayTotals | undefined {
  try {
    const recs = dayHistory.query({ limit: 1 });
    return recs && recs.length ? recs[0] : undefined;
  } catch (e) {
    return undefined; // permission revoked
  }
}
