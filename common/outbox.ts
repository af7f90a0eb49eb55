// A small persisted outbox: every message keeps its id until acknowledged, oldest dropped first.
// Storage and time are passed in, so the watch (fs) and the companion (localStorage) share it.
// Pure: imports nothing.

export interface OutboxEntry<T> {
  id: string;
  /** queued at, epoch ms */
  at: number;
  msg: T;
}

export interface OutboxOptions<T> {
  load: () => OutboxEntry<T>[] | null | undefined;
  save: (entries: OutboxEntry<T>[]) => void;
  now: () => number;
  max: number;
  maxAgeMs: number;
}

export interface Outbox<T> {
  /** queues a message; an id already queued is replaced, not duplicated */
  put: (id: string, msg: T) => void;
  /** drops acknowledged ids; returns how many were dropped */
  ack: (ids: string[]) => number;
  /** what is still to be delivered, oldest first (expired ones are dropped on the way) */
  pending: () => OutboxEntry<T>[];
  size: () => number;
}

function isEntry(x: unknown): boolean {
  if (typeof x !== "object" || x === null) return false;
  const e = x as { id?: unknown; at?: unknown };
  return typeof e.id === "string" && typeof e.at === "number";
}

export function createOutbox<T>(opts: OutboxOptions<T>): Outbox<T> {
  let entries: OutboxEntry<T>[] = [];
  let loaded: unknown = null;
  try {
    loaded = opts.load();
  } catch (e) {
    loaded = null; // a corrupt file must not stop the face
  }
  if (loaded instanceof Array) {
    for (let i = 0; i < loaded.length; i++) if (isEntry(loaded[i])) entries.push(loaded[i] as OutboxEntry<T>);
  }

  function persist(): void {
    opts.save(entries.slice());
  }
  function expire(): boolean {
    const limit = opts.now() - opts.maxAgeMs;
    const kept: OutboxEntry<T>[] = [];
    for (let i = 0; i < entries.length; i++) if (entries[i].at >= limit) kept.push(entries[i]);
    const changed = kept.length !== entries.length;
    entries = kept;
    return changed;
  }

  return {
    put: function (id, msg) {
      expire();
      const kept: OutboxEntry<T>[] = [];
      for (let i = 0; i < entries.length; i++) if (entries[i].id !== id) kept.push(entries[i]);
      kept.push({ id: id, at: opts.now(), msg: msg });
      while (kept.length > opts.max) kept.shift();
      entries = kept;
      persist();
    },
    ack: function (ids) {
      const kept: OutboxEntry<T>[] = [];
      for (let i = 0; i < entries.length; i++) if (ids.indexOf(entries[i].id) < 0) kept.push(entries[i]);
      const dropped = entries.length - kept.length;
      entries = kept;
      if (expire() || dropped > 0) persist();
      return dropped;
    },
    pending: function () {
      if (expire()) persist();
      return entries.slice();
    },
    size: function () {
      return entries.length;
    },
  };
}
