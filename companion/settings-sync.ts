// Reads what the wearer set on the page and writes back what the page shows: the only importer of
// "settings". Everything here takes the store as an argument.
import { settingsStorage } from "settings";
import { PROTOCOL_VERSION, SettingsMsg } from "../common/protocol";
import {
  DEFAULTS,
  KEYS,
  Language,
  MORE_DEFAULTS,
  MORE_KEYS,
  parseBool,
  parseLanguage,
  parseThresholds,
  parseTime,
} from "../common/settings";
import { SettingsStore } from "./host";

export const hostSettings: SettingsStore = settingsStorage;

/** Keys the companion writes; their change events are ours, not the wearer's. */
export const COMPANION_KEYS: string[] = [KEYS.phoneStatus, KEYS.xStatus, KEYS.preview, KEYS.diagnostics, KEYS.settingsError, MORE_KEYS.googleStatus];

export interface RelayPreferences {
  lowBattery: number[];
  quietHours: { start: string; end: string } | null;
  summaryTime: string;
  postActivity: boolean;
  postSleep: boolean;
  sms: boolean;
  silenceAlertHours: number;
}

export interface FieldError {
  key: string;
  error: string;
}

/** The preferences for PATCH /v1/me; a bad value falls back to its default and is reported. */
export function readPreferences(s: SettingsStore): { prefs: RelayPreferences; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const thr = parseThresholds(s.getItem(KEYS.thresholds));
  if (!thr.ok) errors.push({ key: KEYS.thresholds, error: thr.error });
  let quiet: { start: string; end: string } | null = null;
  if (parseBool(s.getItem(KEYS.quietEnabled), false)) {
    const start = parseTime(s.getItem(KEYS.quietStart) || JSON.stringify({ name: DEFAULTS.quietStart }));
    const end = parseTime(s.getItem(KEYS.quietEnd) || JSON.stringify({ name: DEFAULTS.quietEnd }));
    if (!start.ok) errors.push({ key: KEYS.quietStart, error: start.error });
    if (!end.ok) errors.push({ key: KEYS.quietEnd, error: end.error });
    quiet = {
      start: start.ok ? start.value : DEFAULTS.quietStart,
      end: end.ok ? end.value : DEFAULTS.quietEnd,
    };
  }
  const rawTime = s.getItem(KEYS.summaryTime);
  const time = rawTime ? parseTime(rawTime) : { ok: true as const, value: DEFAULTS.summaryTime };
  if (!time.ok) errors.push({ key: KEYS.summaryTime, error: time.error });
  return {
    prefs: {
      lowBattery: thr.ok ? thr.value : DEFAULTS.thresholds.slice(),
      quietHours: quiet,
      summaryTime: time.ok ? time.value : DEFAULTS.summaryTime,
      postActivity: parseBool(s.getItem(KEYS.postActivity), DEFAULTS.postActivity),
      postSleep: parseBool(s.getItem(KEYS.postSleep), DEFAULTS.postSleep),
      sms: parseBool(s.getItem(KEYS.sms), DEFAULTS.sms),
      silenceAlertHours: parseBool(s.getItem(KEYS.silenceAlert), DEFAULTS.silenceAlert)
        ? MORE_DEFAULTS.silenceAlertHours
        : 0,
    },
    errors: errors,
  };
}

/** The page's language, else the phone's when it is one we have, else the default. */
export function readLanguage(s: SettingsStore, locale: string): Language {
  if (s.getItem(KEYS.language)) return parseLanguage(s.getItem(KEYS.language));
  return parseLanguage(locale && locale.toLowerCase().indexOf("ja") === 0 ? "ja-JP" : "en-US");
}

/** What the face needs; units follow the phone's locale (companion user-settings has no units). */
export function readWatchSettings(s: SettingsStore, locale: string): SettingsMsg {
  const thr = parseThresholds(s.getItem(KEYS.thresholds));
  return {
    v: PROTOCOL_VERSION,
    t: "set",
    s: {
      thr: thr.ok ? thr.value : DEFAULTS.thresholds.slice(),
      u: locale === "en-US" || locale === "en-LR" || locale === "my-MM" ? "mi" : "km",
      lang: readLanguage(s, locale),
      h24: parseBool(s.getItem(MORE_KEYS.clock24), MORE_DEFAULTS.clock24),
    },
  };
}

/** Writes a companion-owned key only when it changed (every write wakes the page). */
export function writeStatus(s: SettingsStore, key: string, value: unknown): void {
  const next = value === null ? null : JSON.stringify(value);
  if (s.getItem(key) === next) return;
  if (next === null) s.removeItem(key);
  else s.setItem(key, next);
}

/** Toggles that default to on: a Toggle with no value shows off, so the companion writes the default once. */
export function writeToggleDefaults(s: SettingsStore): void {
  const on: string[] = [];
  if (DEFAULTS.sms) on.push(KEYS.sms);
  if (DEFAULTS.postActivity) on.push(KEYS.postActivity);
  if (DEFAULTS.postSleep) on.push(KEYS.postSleep);
  if (MORE_DEFAULTS.clock24) on.push(MORE_KEYS.clock24);
  for (let i = 0; i < on.length; i++) if (s.getItem(on[i]) === null) s.setItem(on[i], "true");
}
