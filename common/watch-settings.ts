// The settings the face uses: the companion's last SettingsMsg, else the watch's own preferences
// and the shared defaults. Pure: imports nothing.
import { isWatchSettings, WatchSettings } from "./protocol";
import { DEFAULTS } from "./settings";

export interface DevicePrefs {
  clockDisplay?: string;
  /** user-settings `units.distance` */
  distance?: string;
}

export function resolveWatchSettings(stored: unknown, prefs: DevicePrefs): WatchSettings {
  if (isWatchSettings(stored)) {
    return { thr: stored.thr.slice(), u: stored.u, lang: stored.lang, h24: stored.h24 };
  }
  return {
    thr: DEFAULTS.thresholds.slice(),
    u: prefs.distance === "us" ? "mi" : "km",
    lang: DEFAULTS.language,
    h24: prefs.clockDisplay !== "12h",
  };
}

export function sameSettings(a: WatchSettings, b: WatchSettings): boolean {
  return a.u === b.u && a.lang === b.lang && a.h24 === b.h24 && a.thr.join(",") === b.thr.join(",");
}
