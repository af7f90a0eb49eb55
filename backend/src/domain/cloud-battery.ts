// Battery readings from Google Health pairedDevices, fed to the watch's alert policy (battery.ts).
//
// Which paired device speaks for the wearer: trackers only (never a scale). Among trackers that
// synced within the last day, the one with the lowest battery (ties: the latest sync); it feeds the
// wearer's one alert state, shared with the watch. When no tracker synced within a day, the levels
// are stale: instead of them the wearer gets ONE "has not synced since" SMS per sync time.
import type { PairedDevice } from "../providers/google-health.ts";
import { cloudBatteryText, notSyncedText, type Lang } from "./alert-text.ts";
import { queueAlertSms, recordBatteryReading, recordOnce, type BatteryAnswer } from "./battery.ts";
import type { Deps } from "./deps.ts";

export const STALE_AFTER_MS = 24 * 3_600_000;

/**
 * Google gives a level (percent) or only a status. A status is read as the low end of its band, so an
 * alert is never missed for want of a number: Empty 5, Low 15, Medium 25 (no alert, does not re-arm),
 * High 50 (re-arms).
 */
export const STATUS_LEVEL: Record<string, number> = { EMPTY: 5, LOW: 15, MEDIUM: 25, HIGH: 50 };

export function levelOf(d: PairedDevice): { level: number; fromStatus?: "low" | "empty" | "medium" | "high" } | null {
  if (typeof d.batteryLevel === "number" && Number.isFinite(d.batteryLevel)) return { level: Math.max(0, Math.min(100, Math.round(d.batteryLevel))) };
  const status = d.batteryStatus?.toUpperCase();
  if (status && status in STATUS_LEVEL) return { level: STATUS_LEVEL[status]!, fromStatus: status.toLowerCase() as "low" | "empty" | "medium" | "high" };
  return null;
}

const isTracker = (d: PairedDevice) => d.deviceType === undefined || d.deviceType.toUpperCase() === "TRACKER";
const syncOf = (d: PairedDevice) => {
  const t = d.lastSyncTime ? Date.parse(d.lastSyncTime) : NaN;
  return Number.isFinite(t) ? t : null;
};

export type Choice =
  | { kind: "reading"; device: PairedDevice; level: number; fromStatus?: "low" | "empty" | "medium" | "high"; syncedAt: Date }
  | { kind: "stale"; device: PairedDevice; syncedAt: Date }
  | { kind: "none" };

export function chooseReading(devices: PairedDevice[], now: Date): Choice {
  const synced = devices.filter(isTracker).flatMap((d) => {
    const t = syncOf(d);
    return t === null ? [] : [{ d, t }];
  });
  let best: Extract<Choice, { kind: "reading" }> | undefined;
  for (const { d, t } of synced) {
    if (now.getTime() - t > STALE_AFTER_MS) continue;
    const l = levelOf(d);
    if (!l) continue;
    if (!best || l.level < best.level || (l.level === best.level && t > best.syncedAt.getTime())) {
      best = { kind: "reading", device: d, level: l.level, ...(l.fromStatus ? { fromStatus: l.fromStatus } : {}), syncedAt: new Date(t) };
    }
  }
  if (best) return best;
  const latest = synced.reduce<{ d: PairedDevice; t: number } | undefined>((a, b) => (!a || b.t > a.t ? b : a), undefined);
  if (latest && now.getTime() - latest.t > STALE_AFTER_MS) return { kind: "stale", device: latest.d, syncedAt: new Date(latest.t) };
  return { kind: "none" };
}

/** The latest sync of any tracker: a day is complete once this passes its end. */
export function latestSync(devices: PairedDevice[]): Date | null {
  const ts = devices.filter(isTracker).map(syncOf).filter((t): t is number => t !== null);
  return ts.length ? new Date(Math.max(...ts)) : null;
}

/** A client event id ([A-Za-z0-9_-], at most 64): the same reading polled twice has the same id. */
export function readingEventId(deviceId: string, syncedAt: Date, suffix = ""): string {
  const id = deviceId.replace(/[^A-Za-z0-9_-]/g, "_").slice(0, 36);
  return `gh-${id}-${syncedAt.getTime().toString(36)}${suffix}`;
}

/** Feeds the choice to the alert policy; returns the answer, or null when there was nothing to feed. */
export async function recordCloudBattery(deps: Deps, deviceId: string, choice: Choice): Promise<BatteryAnswer | null> {
  if (choice.kind === "none") return null;
  if (choice.kind === "stale") {
    // One per stale sync time: the event id carries it, and a repeated id causes nothing new.
    return recordOnce(deps, deviceId, readingEventId(choice.device.id, choice.syncedAt, "-stale"), choice.syncedAt, (tx, dev) =>
      queueAlertSms(tx, deps, dev, {
        eventId: readingEventId(choice.device.id, choice.syncedAt, "-stale"),
        body: notSyncedText(dev.language as Lang, choice.syncedAt, dev.timezone),
        critical: false,
        kind: "not_synced",
      }),
    );
  }
  const status = choice.fromStatus === "low" || choice.fromStatus === "empty" ? choice.fromStatus : undefined;
  return recordBatteryReading(
    deps,
    deviceId,
    { eventId: readingEventId(choice.device.id, choice.syncedAt), level: choice.level, charging: false, observedAt: choice.syncedAt.toISOString(), source: "cloud" },
    {
      text: (dev) =>
        cloudBatteryText(dev.language as Lang, choice.fromStatus ? { status: status ?? "low" } : { level: choice.level }, choice.syncedAt, dev.timezone),
    },
  );
}
