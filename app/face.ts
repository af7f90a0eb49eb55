// What the face shows, as plain values; ui.ts writes them. No platform imports: tests call it.
import { batteryAlertLevel } from "../common/battery-policy";
import { formatClock, formatCount, formatDate, formatDistance, formatResult, formatTimeLeft, Translate } from "../common/format";
import { ResultKind, WatchSettings } from "../common/protocol";
import { TodayActivity } from "./activity";

export interface FaceView {
  time: string;
  ampm: string;
  date: string;
  batText: string;
  batLeft: string;
  /** battery bar width in px, 0-40 */
  batWidth: number;
  batFill: string;
  charging: boolean;
  steps: string;
  stepsSweep: number;
  dist: string;
  distW: number;
  cal: string;
  calW: number;
  floorsShown: boolean;
  floors: string;
  floorsW: number;
  azm: string;
  azmW: number;
  link: string;
  result: string;
}

export interface FaceInputs {
  now: Date;
  settings: WatchSettings;
  lvl: number;
  chg: boolean;
  left: number | undefined;
  activity: TodayActivity;
  linkOpen: boolean;
  result: { k: ResultKind; at: number } | null;
}

export const BAT_FILLS = ["#00c878", "#ffb000", "#ff3030"];
export const CHARGING_FILL = "#3fa9f5";
const BAR_PX = 44;

function share(value: number, goal: number): number {
  return goal > 0 ? Math.min(1, Math.max(0, value / goal)) : 0;
}

export function buildFaceView(i: FaceInputs, t: Translate): FaceView {
  const clock = formatClock(i.now, i.settings.h24, t);
  const a = i.activity;
  const alert = batteryAlertLevel(i.lvl, i.settings.thr);
  return {
    time: clock.time,
    ampm: clock.ampm,
    date: formatDate(i.now, t),
    batText: i.lvl + "%",
    batLeft: i.chg ? "" : formatTimeLeft(i.left, t),
    batWidth: Math.round((40 * Math.max(0, Math.min(100, i.lvl))) / 100),
    batFill: i.chg ? CHARGING_FILL : BAT_FILLS[alert],
    charging: i.chg,
    steps: formatCount(a.steps),
    stepsSweep: Math.round(360 * share(a.steps, a.goals.steps)),
    dist: formatDistance(a.distance, i.settings.u, t),
    distW: Math.round(BAR_PX * share(a.distance, a.goals.distance)),
    cal: formatCount(a.calories),
    calW: Math.round(BAR_PX * share(a.calories, a.goals.calories)),
    floorsShown: a.floors !== undefined,
    floors: a.floors !== undefined ? String(a.floors) : "",
    floorsW: a.floors !== undefined ? Math.round(BAR_PX * share(a.floors, a.goals.floors)) : 0,
    azm: String(a.azm),
    azmW: Math.round(BAR_PX * share(a.azm, a.goals.azm)),
    link: t(i.linkOpen ? "phone_ok" : "no_phone"),
    result: i.result ? formatResult(i.result.k, new Date(i.result.at * 1000), i.settings.h24, t) : "",
  };
}
