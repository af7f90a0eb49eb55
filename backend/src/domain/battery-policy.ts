// The alert policy, pure: one SMS per threshold per discharge cycle, re-armed by charging or by a
// level above the highest threshold plus a margin. Deliverability (phone, caps, quiet hours) is
// decided by the caller, which has the database.

export const REARM_MARGIN = 5;
export const CRITICAL_LEVEL = 5;

export interface AlertState {
  alerted: number[];
  lastObservedAt: string | null;
}

export type PolicyOutcome =
  | { alert: false; reason: "stale" | "charging" | "above_threshold" | "already_alerted"; alerted: number[] }
  | { alert: true; threshold: number; critical: boolean; alerted: number[] };

export function decideBattery(
  state: AlertState,
  event: { level: number; charging: boolean; observedAt: string },
  thresholds: number[],
): PolicyOutcome {
  const sorted = thresholds.slice().sort((a, b) => b - a);
  const highest = sorted[0] ?? 0;
  const lowest = sorted[sorted.length - 1] ?? 0;
  if (state.lastObservedAt && Date.parse(event.observedAt) < Date.parse(state.lastObservedAt)) {
    return { alert: false, reason: "stale", alerted: state.alerted };
  }
  if (event.charging) return { alert: false, reason: "charging", alerted: [] };
  if (event.level > highest + REARM_MARGIN) return { alert: false, reason: "above_threshold", alerted: [] };
  const crossed = sorted.filter((t) => event.level <= t && !state.alerted.includes(t));
  if (crossed.length === 0) {
    const reason = event.level > highest ? "above_threshold" : "already_alerted";
    return { alert: false, reason, alerted: state.alerted };
  }
  // Jumping past several thresholds at once sends one SMS, for the lowest one crossed.
  const threshold = crossed[crossed.length - 1];
  const alerted = Array.from(new Set([...state.alerted, ...crossed])).sort((a, b) => b - a);
  const critical = event.level <= CRITICAL_LEVEL || event.level <= lowest;
  return { alert: true, threshold, critical, alerted };
}
