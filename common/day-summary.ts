// Yesterday's totals and the night's sleep, as the watch reports them. Pure: imports nothing.
import { PROTOCOL_VERSION, SummaryMsg } from "./protocol";

function pad2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

/** The local calendar day of a date: "YYYY-MM-DD". */
export function dayKey(date: Date): string {
  return date.getFullYear() + "-" + pad2(date.getMonth() + 1) + "-" + pad2(date.getDate());
}

/** The local day before the one `date` falls in. */
export function previousDayKey(date: Date): string {
  const d = new Date(date.getFullYear(), date.getMonth(), date.getDate() - 1, 12, 0, 0);
  return dayKey(d);
}

/** One day's totals as `dayHistory` gives them (fields may be missing). */
export interface DayTotals {
  steps?: number | void;
  distance?: number | void;
  calories?: number | void;
  elevationGain?: number | void;
}

function num(x: number | void | undefined, max: number): number {
  return typeof x === "number" && x === x && x > 0 ? Math.min(Math.round(x), max) : 0;
}

/** The summary id is the day itself, so a resend or a restart can never make a second one. */
export function summaryId(day: string): string {
  return "s" + day.replace(/-/g, "");
}

export function buildSummary(
  day: string,
  totals: DayTotals,
  hasFloors: boolean,
  azm: number | undefined,
  sleepMinutes: number | undefined,
): SummaryMsg {
  const msg: SummaryMsg = {
    v: PROTOCOL_VERSION,
    t: "sum",
    id: summaryId(day),
    d: day,
    st: num(totals.steps, 1e6),
    dm: num(totals.distance, 1e7),
    cal: num(totals.calories, 1e5),
  };
  if (hasFloors) msg.fl = num(totals.elevationGain, 1e4);
  if (azm !== undefined) msg.azm = num(azm, 1440);
  if (sleepMinutes !== undefined) msg.slp = num(sleepMinutes, 1440);
  return msg;
}
