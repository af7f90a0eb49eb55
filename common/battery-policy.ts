// When a battery reading is worth telling the phone about. Pure: imports nothing.
import { BatteryReason } from "./protocol";

/** What the policy remembers between readings (persisted on the watch). */
export interface BatteryPolicyState {
  /** thresholds already reported in this discharge cycle */
  fired: number[];
  /** charging at the last reading; undefined before the first one */
  chg?: boolean;
  /** "full" already reported in this charge */
  full?: boolean;
}

export interface BatteryEvent {
  why: BatteryReason;
  lvl: number;
  chg: boolean;
  thr?: number;
}

/** Rising this many points above the highest threshold re-arms them without a charger. */
export const REARM_MARGIN = 5;

export function initialBatteryState(): BatteryPolicyState {
  return { fired: [] };
}

/**
 * One reading in, at most one event out, plus the next state. Crossing several thresholds at once
 * reports only the lowest one (one SMS, not two); every threshold fires once per discharge cycle.
 */
export function applyBatteryReading(
  state: BatteryPolicyState,
  lvl: number,
  chg: boolean,
  thresholds: number[],
): { state: BatteryPolicyState; event: BatteryEvent | null } {
  const fired = state.fired.slice();
  let full = !!state.full;
  let event: BatteryEvent | null = null;
  let highest = 0;
  for (let i = 0; i < thresholds.length; i++) if (thresholds[i] > highest) highest = thresholds[i];

  if (chg) {
    fired.length = 0;
    if (state.chg === false) {
      full = false;
      event = { why: "chg_on", lvl: lvl, chg: true };
    } else if (lvl >= 100 && !full) {
      full = true;
      event = { why: "full", lvl: lvl, chg: true };
    }
    if (state.chg === undefined && lvl >= 100) full = true;
    return { state: { fired: fired, chg: true, full: full }, event: event };
  }

  if (state.chg === true) event = { why: "chg_off", lvl: lvl, chg: false };
  if (lvl >= highest + REARM_MARGIN) fired.length = 0;
  let lowest = 0;
  for (let i = 0; i < thresholds.length; i++) {
    const t = thresholds[i];
    if (lvl <= t && fired.indexOf(t) < 0) {
      fired.push(t);
      if (lowest === 0 || t < lowest) lowest = t;
    }
  }
  // an unplug that lands below a threshold reports the threshold: that is the one that matters
  if (lowest > 0) event = { why: "low", lvl: lvl, chg: false, thr: lowest };
  fired.sort(function (a, b) {
    return b - a;
  });
  return { state: { fired: fired, chg: false, full: false }, event: event };
}

/** The alert level the face shows: 0 fine, 1 below the highest threshold, 2 below the lowest. */
export function batteryAlertLevel(lvl: number, thresholds: number[]): 0 | 1 | 2 {
  if (thresholds.length === 0) return 0;
  let hi = thresholds[0];
  let lo = thresholds[0];
  for (let i = 1; i < thresholds.length; i++) {
    if (thresholds[i] > hi) hi = thresholds[i];
    if (thresholds[i] < lo) lo = thresholds[i];
  }
  if (lvl <= lo) return 2;
  if (lvl <= hi) return 1;
  return 0;
}
