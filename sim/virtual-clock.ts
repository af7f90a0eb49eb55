// A virtual clock: now(), setTimeout and clearTimeout over simulated milliseconds. Time moves only
// when advance() is called; due timers fire in order, and between firings the real event loop is
// given a chance to finish I/O (HTTP to a real relay takes real, not simulated, time).

export interface VirtualClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): number;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): number;
  clearInterval(handle: unknown): void;
  /** moves time forward by ms, firing due timers; `settle` runs after each firing */
  advance(ms: number): Promise<void>;
  /** moves time to an absolute epoch ms */
  advanceTo(t: number): Promise<void>;
  /** timers still waiting */
  pending(): number;
}

interface Timer {
  id: number;
  at: number;
  fn: () => void;
  every?: number;
}

/** Lets real I/O and promise chains run: a few macrotask turns. */
export function realTurns(n = 3): Promise<void> {
  let p = Promise.resolve();
  for (let i = 0; i < n; i++) p = p.then(() => new Promise<void>((r) => setImmediate(r)));
  return p;
}

export function createVirtualClock(startMs: number, settle?: () => Promise<void>): VirtualClock {
  let t = startMs;
  let seq = 0;
  let timers: Timer[] = [];
  const calm = settle || (() => realTurns());

  function add(fn: () => void, ms: number, every?: number): number {
    const id = ++seq;
    timers.push({ id, at: t + Math.max(0, ms || 0), fn, every });
    return id;
  }
  function remove(handle: unknown): void {
    timers = timers.filter((x) => x.id !== handle);
  }
  function nextDue(limit: number): Timer | null {
    let best: Timer | null = null;
    for (const x of timers) if (x.at <= limit && (!best || x.at < best.at || (x.at === best.at && x.id < best.id))) best = x;
    return best;
  }
  async function advanceTo(target: number): Promise<void> {
    await calm();
    for (;;) {
      const due = nextDue(target);
      if (!due) break;
      t = Math.max(t, due.at);
      if (due.every) due.at = t + due.every;
      else remove(due.id);
      try {
        due.fn();
      } catch (e) {
        // a throwing timer must not stop the world; the simulation reports through its own timeline
      }
      await calm();
    }
    t = Math.max(t, target);
    await calm();
  }
  return {
    now: () => t,
    setTimeout: (fn, ms) => add(fn, ms),
    clearTimeout: remove,
    setInterval: (fn, ms) => add(fn, Math.max(1, ms), Math.max(1, ms)),
    clearInterval: remove,
    advance: (ms) => advanceTo(t + ms),
    advanceTo,
    pending: () => timers.length,
  };
}
