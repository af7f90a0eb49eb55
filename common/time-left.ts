// Estimated time left from the recent discharge rate. Pure: imports nothing.

/** One level change while discharging: [epoch seconds, level]. Compact because it is persisted. */
export type LevelSample = [number, number];

export const MAX_SAMPLES = 12;
/** Older samples describe another use pattern; forget them. */
export const SAMPLE_WINDOW_S = 12 * 3600;
/** Need at least this span and this drop before guessing. */
export const MIN_SPAN_S = 30 * 60;
export const MIN_DROP = 3;

/** Adds a reading; charging clears the history (the next discharge starts afresh). */
export function addSample(samples: LevelSample[], atS: number, lvl: number, charging: boolean): LevelSample[] {
  if (charging) return samples.length ? [] : samples;
  const last = samples.length ? samples[samples.length - 1] : null;
  if (last && last[1] === lvl) return samples;
  const out: LevelSample[] = [];
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i];
    // a rise without charging (calibration jump) starts a new history
    if (s[1] < lvl) continue;
    if (atS - s[0] <= SAMPLE_WINDOW_S && s[0] <= atS) out.push(s);
  }
  out.push([atS, lvl]);
  while (out.length > MAX_SAMPLES) out.shift();
  return out;
}

/** Minutes left at the current rate, or undefined until there is enough data. */
export function estimateMinutesLeft(samples: LevelSample[], lvl: number): number | undefined {
  if (samples.length < 2) return undefined;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const span = last[0] - first[0];
  const drop = first[1] - last[1];
  if (span < MIN_SPAN_S || drop < MIN_DROP) return undefined;
  const perMinute = drop / (span / 60);
  return Math.round(lvl / perMinute);
}
