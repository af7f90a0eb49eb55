// Wearer preferences: defaults from common/settings.ts, stored as JSON on the device row.
import { DEFAULTS } from "../../../common/settings.ts";

export interface Preferences {
  lowBattery: number[];
  quietHours: { start: string; end: string } | null;
  summaryTime: string;
  postActivity: boolean;
  postSleep: boolean;
  sms: boolean;
  silenceAlertHours: number;
}

export function defaultPreferences(): Preferences {
  return {
    lowBattery: DEFAULTS.thresholds.slice().sort((a, b) => b - a),
    quietHours: DEFAULTS.quietHours,
    summaryTime: DEFAULTS.summaryTime,
    postActivity: DEFAULTS.postActivity,
    postSleep: DEFAULTS.postSleep,
    sms: DEFAULTS.sms,
    // off unless asked for (DEFAULTS.silenceAlert is false); the page offers DEFAULTS.silenceAlertHours
    silenceAlertHours: DEFAULTS.silenceAlert ? DEFAULTS.silenceAlertHours : 0,
  };
}

export function readPreferences(json: string): Preferences {
  try {
    return { ...defaultPreferences(), ...(JSON.parse(json) as Partial<Preferences>) };
  } catch {
    return defaultPreferences();
  }
}

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Minutes since local midnight and seconds into the minute, in the wearer's time zone. */
export function localClock(now: Date, timeZone: string): { minutes: number; seconds: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-GB", { timeZone, hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
    formatters.set(timeZone, f);
  }
  const parts = f.formatToParts(now);
  const get = (t: string) => Number(parts.find((p) => p.type === t)?.value ?? 0);
  return { minutes: get("hour") * 60 + get("minute"), seconds: get("second") };
}

const hhmm = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** When quiet hours are on now, the instant they end; otherwise null. */
export function quietHoursEnd(now: Date, timeZone: string, quiet: Preferences["quietHours"]): Date | null {
  if (!quiet) return null;
  const s = hhmm(quiet.start);
  const e = hhmm(quiet.end);
  if (s === e) return null;
  const { minutes: m, seconds } = localClock(now, timeZone);
  const inside = s < e ? m >= s && m < e : m >= s || m < e;
  if (!inside) return null;
  const delta = (e - m + 1440) % 1440;
  return new Date(now.getTime() + delta * 60_000 - seconds * 1000 - now.getUTCMilliseconds());
}
