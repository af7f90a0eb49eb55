// Wires the companion to Fitbit's host modules; all logic lives in companion.ts and its parts.
import { me } from "companion";
import { localStorage } from "local-storage";
import { locale } from "user-settings";
import { startCompanion } from "./companion";
import { FetchFn } from "./host";
import { hostSocket } from "./link";
import { DEFAULT_RELAY_URL } from "./relay-url";
import { hostSettings } from "./settings-sync";
import { hostDevice } from "./watch-view";

declare const Intl: { DateTimeFormat(): { resolvedOptions(): { timeZone?: string } } } | undefined;

function timezone(): string {
  try {
    const tz = Intl && Intl.DateTimeFormat().resolvedOptions().timeZone;
    return tz || "UTC";
  } catch (e) {
    return "UTC";
  }
}

startCompanion({
  me: me,
  socket: hostSocket,
  settings: hostSettings,
  storage: localStorage,
  device: hostDevice,
  fetch: fetch as unknown as FetchFn,
  clock: {
    now: () => Date.now(),
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (h) => clearTimeout(h as number),
  },
  random: Math.random,
  defaultRelayUrl: DEFAULT_RELAY_URL,
  locale: (locale && locale.language) || "en-US",
  timezone: timezone(),
});
