// Messages between the watch and the companion. Keys are short because every byte crosses Bluetooth;
// the long names live in the types' comments. Bump PROTOCOL_VERSION on any incompatible change.
// Pure: bundled into the watch, imports nothing.

export const PROTOCOL_VERSION = 1;

/** Why the watch raised a battery event. */
export type BatteryReason =
  | "low" // crossed an alert threshold while discharging
  | "chg_on" // charger connected
  | "chg_off" // charger removed
  | "full"; // reached 100 % while charging

/** Watch -> companion: a battery event worth telling the relay about. */
export interface BatteryMsg {
  v: 1;
  t: "bat";
  /** event id, unique per event, reused on every resend (relay `eventId`) */
  id: string;
  /** level 0-100 */
  lvl: number;
  /** charging */
  chg: boolean;
  /** observed at, epoch seconds */
  at: number;
  why: BatteryReason;
  /** the threshold crossed, for `low` */
  thr?: number;
  /** estimated minutes left, when known */
  left?: number;
}

/** Watch -> companion: yesterday's final totals (and the night's sleep estimate). */
export interface SummaryMsg {
  v: 1;
  t: "sum";
  id: string;
  /** the day, YYYY-MM-DD in the watch's local time */
  d: string;
  /** steps */
  st: number;
  /** distance, metres */
  dm: number;
  /** calories, kcal */
  cal: number;
  /** floors, absent on devices without a barometer */
  fl?: number;
  /** active zone minutes, when a snapshot of that day was kept */
  azm?: number;
  /** minutes asleep (an estimate from `sleep` state changes) */
  slp?: number;
}

/** Watch -> companion: "I am here", sent when the link opens; lets the phone see a live face. */
export interface HelloMsg {
  v: 1;
  t: "hi";
  lvl: number;
  chg: boolean;
  at: number;
}

export type WatchMsg = BatteryMsg | SummaryMsg | HelloMsg;

/** Companion -> watch: these ids are safely stored on the phone; drop them from the outbox. */
export interface AckMsg {
  v: 1;
  t: "ack";
  ids: string[];
}

/** Settings the watch needs, sent by the companion and persisted on the watch. */
export interface WatchSettings {
  /** alert thresholds in percent, descending */
  thr: number[];
  /** distance units */
  u: "km" | "mi";
  /** language tag */
  lang: "en-US" | "ja-JP";
  /** 24-hour clock */
  h24: boolean;
}

export interface SettingsMsg {
  v: 1;
  t: "set";
  s: WatchSettings;
}

/** What became of an event, as the relay reported it. */
export type ResultKind =
  | "sms_queued"
  | "sms_sent"
  | "sms_failed"
  | "unverified"
  | "opted_out"
  | "no_phone"
  | "sms_off"
  | "quiet"
  | "capped"
  | "none"
  | "relay_down";

/** Companion -> watch: the fate of an event (the face shows the latest one). */
export interface ResultMsg {
  v: 1;
  t: "res";
  /** the event id it refers to, if any */
  id?: string;
  k: ResultKind;
  /** when it happened, epoch seconds */
  at: number;
}

export type PhoneMsg = AckMsg | SettingsMsg | ResultMsg;

const RESULT_KINDS: ResultKind[] = [
  "sms_queued",
  "sms_sent",
  "sms_failed",
  "unverified",
  "opted_out",
  "no_phone",
  "sms_off",
  "quiet",
  "capped",
  "none",
  "relay_down",
];
const BATTERY_REASONS: BatteryReason[] = ["low", "chg_on", "chg_off", "full"];
const ID = /^[A-Za-z0-9_-]{1,64}$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function isObj(x: unknown): x is { [k: string]: unknown } {
  return typeof x === "object" && x !== null && !(x instanceof Array);
}
function isNum(x: unknown, min: number, max: number): x is number {
  return typeof x === "number" && x === x && x >= min && x <= max;
}
function isOptNum(x: unknown, min: number, max: number): boolean {
  return x === undefined || isNum(x, min, max);
}
function isIn<T>(x: unknown, list: T[]): x is T {
  return list.indexOf(x as T) >= 0;
}

/** A valid event id (the relay's `eventId` rule). */
export function isEventId(x: unknown): x is string {
  return typeof x === "string" && ID.test(x);
}

export function isWatchSettings(x: unknown): x is WatchSettings {
  if (!isObj(x) || !(x.thr instanceof Array) || x.thr.length > 8) return false;
  for (let i = 0; i < x.thr.length; i++) if (!isNum(x.thr[i], 1, 99)) return false;
  return (x.u === "km" || x.u === "mi") && (x.lang === "en-US" || x.lang === "ja-JP") && typeof x.h24 === "boolean";
}

/** Guards a message received by the companion; anything else is ignored. */
export function isWatchMsg(x: unknown): x is WatchMsg {
  if (!isObj(x) || x.v !== PROTOCOL_VERSION) return false;
  if (x.t === "bat") {
    return (
      isEventId(x.id) &&
      isNum(x.lvl, 0, 100) &&
      typeof x.chg === "boolean" &&
      isNum(x.at, 0, 1e10) &&
      isIn(x.why, BATTERY_REASONS) &&
      isOptNum(x.thr, 1, 99) &&
      isOptNum(x.left, 0, 1e6)
    );
  }
  if (x.t === "sum") {
    return (
      isEventId(x.id) &&
      typeof x.d === "string" &&
      DATE.test(x.d) &&
      isNum(x.st, 0, 1e6) &&
      isNum(x.dm, 0, 1e7) &&
      isNum(x.cal, 0, 1e5) &&
      isOptNum(x.fl, 0, 1e4) &&
      isOptNum(x.azm, 0, 1440) &&
      isOptNum(x.slp, 0, 1440)
    );
  }
  if (x.t === "hi") {
    return isNum(x.lvl, 0, 100) && typeof x.chg === "boolean" && isNum(x.at, 0, 1e10);
  }
  return false;
}

/** Guards a message received by the watch; anything else is ignored. */
export function isPhoneMsg(x: unknown): x is PhoneMsg {
  if (!isObj(x) || x.v !== PROTOCOL_VERSION) return false;
  if (x.t === "ack") {
    if (!(x.ids instanceof Array) || x.ids.length > 64) return false;
    for (let i = 0; i < x.ids.length; i++) if (!isEventId(x.ids[i])) return false;
    return true;
  }
  if (x.t === "set") return isWatchSettings(x.s);
  if (x.t === "res") {
    return (x.id === undefined || isEventId(x.id)) && isIn(x.k, RESULT_KINDS) && isNum(x.at, 0, 1e10);
  }
  return false;
}
