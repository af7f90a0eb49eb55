// The phone's own view of the watch (battery bucket, last sync): the only importer of "peer".
// Used when the face has not reported for a while, so a low watch still raises an alert.
import { device } from "peer";
import { PeerDeviceLike } from "./host";

export const hostDevice: PeerDeviceLike = device;

/** Without word from the face for this long, the phone's view of the battery counts. */
export const FACE_SILENT_MS = 2 * 3600 * 1000;

export interface PhoneBatteryEvent {
  id: string;
  level: number;
  state: "low" | "empty";
}

/** A representative level for the phone's coarse buckets (the exact bounds are not documented). */
const BUCKET_LEVEL: { [k: string]: number } = { low: 15, empty: 5 };

export function localDate(ms: number, offsetMinutes: number): string {
  const d = new Date(ms + offsetMinutes * 60000);
  const m = d.getUTCMonth() + 1;
  const day = d.getUTCDate();
  return d.getUTCFullYear() + "-" + (m < 10 ? "0" : "") + m + "-" + (day < 10 ? "0" : "") + day;
}

/**
 * A battery event from the phone's view, or null. The id is stable per (state, local day), so
 * repeated wakes re-offer the same event and the outbox's seen-list keeps it to one.
 */
export function phoneBatteryEvent(
  dev: PeerDeviceLike,
  nowMs: number,
  lastWatchContactMs: number,
  offsetMinutes: number,
): PhoneBatteryEvent | null {
  if (nowMs - lastWatchContactMs < FACE_SILENT_MS) return null;
  let state: "low" | "empty" | null = null;
  let level = 0;
  const b = dev.batteryLevel;
  if (typeof b === "number" && b === b) {
    // some typings/hosts give a percentage
    if (b <= 5) state = "empty";
    else if (b <= 25) state = "low";
    level = Math.max(0, Math.min(100, Math.round(b)));
  } else if (b === "low" || b === "empty") {
    state = b;
    level = BUCKET_LEVEL[b];
  }
  if (!state) return null;
  return { id: "ph-" + state + "-" + localDate(nowMs, offsetMinutes).replace(/-/g, ""), level: level, state: state };
}
