// Minutes asleep estimated from `sleep` state changes (the watch only sees transitions, and none
// while the display is off, so this is an estimate). A stretch of sleep counts for the day it ends
// on: last night belongs to today's morning. Pure: imports nothing.

export interface SleepState {
  /** asleep since, epoch seconds */
  since?: number;
  /** minutes asleep per day it ended on, the last few days only */
  days: { [day: string]: number };
}

/** Stretches longer than this are a missed wake-up, not sleep. */
export const MAX_STRETCH_MIN = 16 * 60;
const KEEP_DAYS = 3;

export function initialSleepState(): SleepState {
  return { days: {} };
}

/** Applies one observed state; `day` is the local day of `atS` ("YYYY-MM-DD"). */
export function applySleepState(state: SleepState, value: string, atS: number, day: string): SleepState {
  const days: { [day: string]: number } = {};
  const keys: string[] = [];
  for (const k in state.days) if (Object.prototype.hasOwnProperty.call(state.days, k)) keys.push(k);
  keys.sort();
  for (let i = Math.max(0, keys.length - KEEP_DAYS); i < keys.length; i++) days[keys[i]] = state.days[keys[i]];
  if (value === "asleep") {
    return { since: state.since !== undefined ? state.since : atS, days: days };
  }
  if (value !== "awake") {
    // "unknown" says nothing new: a stretch under way goes on
    const kept: SleepState = { days: days };
    if (state.since !== undefined) kept.since = state.since;
    return kept;
  }
  if (state.since !== undefined) {
    const min = Math.round((atS - state.since) / 60);
    if (min > 0 && min <= MAX_STRETCH_MIN) days[day] = (days[day] || 0) + min;
  }
  return { days: days };
}

export function minutesAsleep(state: SleepState, day: string): number | undefined {
  return Object.prototype.hasOwnProperty.call(state.days, day) ? state.days[day] : undefined;
}
