// The companion's persisted outbox for the relay: common/outbox.ts (ordered, bounded, aged) and
// common/seen-ids.ts (dedupe) over localStorage, plus the retry state of the head. Only the head is
// ever retried (a transient failure stops the flush to keep order), so one retry record is enough.
import { createOutbox as createCoreOutbox, OutboxEntry } from "../common/outbox";
import { createSeenIds } from "../common/seen-ids";
import { KeyValueStore } from "./host";

export interface RelayRequest {
  method: string;
  path: string;
  body: unknown;
}

export interface OutboxItem extends RelayRequest {
  id: string;
  /** epoch ms when it entered the outbox */
  addedAt: number;
  /** failed attempts so far (only the head has any) */
  attempts: number;
}

export type SendOutcome =
  | { kind: "done"; answer: unknown }
  | { kind: "permanent"; reason: string }
  | { kind: "transient"; reason: string };

export interface OutboxStats {
  /** dropped because the outbox was full or an item too old */
  dropped: number;
  /** refused by the relay for good (4xx) */
  refused: number;
  lastDropReason?: string;
}

export interface OutboxOptions {
  maxItems?: number;
  maxAgeMs?: number;
  maxSeen?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  random?: () => number;
  now: () => number;
}

export interface Outbox {
  /** true if the id was taken before (queued or already sent) */
  seen(id: string): boolean;
  /** stores the request durably before returning and remembers its id; false for a duplicate */
  add(id: string, req: RelayRequest): boolean;
  items(): OutboxItem[];
  size(): number;
  stats(): OutboxStats;
  /** epoch ms when the head may be retried (0: now) */
  nextAt(): number;
  /** sends due items oldest first, stopping at the first transient failure */
  flush(
    send: (item: OutboxItem) => Promise<SendOutcome>,
    onOutcome?: (item: OutboxItem, outcome: SendOutcome) => void,
  ): Promise<void>;
  clear(): void;
}

export const OUTBOX_KEYS = { queue: "wr.outbox", seen: "wr.seen", stats: "wr.outbox.stats", retry: "wr.outbox.retry" };

function readJson(store: KeyValueStore, key: string): unknown {
  const raw = store.getItem(key);
  if (!raw) return null;
  try {
    return JSON.parse(raw);
  } catch (e) {
    return null; // a damaged value must not stop the companion
  }
}

/** Delay before retry n (1-based): exponential, capped, with jitter in [50 %, 100 %]. */
export function backoffMs(attempts: number, base: number, max: number, random: () => number): number {
  const exp = Math.min(max, base * Math.pow(2, Math.max(0, attempts - 1)));
  return Math.round(exp / 2 + (exp / 2) * random());
}

export function createOutbox(store: KeyValueStore, o: OutboxOptions): Outbox {
  const base = o.baseDelayMs || 15000;
  const maxDelay = o.maxDelayMs || 3600 * 1000;
  const random = o.random || Math.random;
  let flushing: Promise<void> | null = null;

  const core = createCoreOutbox<RelayRequest>({
    load: () => readJson(store, OUTBOX_KEYS.queue) as OutboxEntry<RelayRequest>[] | null,
    save: (entries) => store.setItem(OUTBOX_KEYS.queue, JSON.stringify(entries)),
    now: o.now,
    max: o.maxItems || 200,
    maxAgeMs: o.maxAgeMs || 7 * 24 * 3600 * 1000,
  });
  const seenIds = createSeenIds({
    load: () => readJson(store, OUTBOX_KEYS.seen) as string[] | null,
    save: (ids) => store.setItem(OUTBOX_KEYS.seen, JSON.stringify(ids)),
    max: o.maxSeen || 500,
  });

  function stats(): OutboxStats {
    const s = readJson(store, OUTBOX_KEYS.stats) as OutboxStats | null;
    return s && typeof s === "object"
      ? { dropped: s.dropped || 0, refused: s.refused || 0, lastDropReason: s.lastDropReason }
      : { dropped: 0, refused: 0 };
  }
  function count(field: "dropped" | "refused", reason: string, n: number): void {
    if (n <= 0) return;
    const s = stats();
    s[field] += n;
    s.lastDropReason = reason;
    store.setItem(OUTBOX_KEYS.stats, JSON.stringify(s));
  }
  function retry(): { id: string; attempts: number; nextAt: number } | null {
    const r = readJson(store, OUTBOX_KEYS.retry) as { id?: unknown; attempts?: unknown; nextAt?: unknown } | null;
    return r && typeof r.id === "string" && typeof r.attempts === "number" && typeof r.nextAt === "number"
      ? { id: r.id, attempts: r.attempts, nextAt: r.nextAt }
      : null;
  }
  /** pending entries; counts the ones that expired on the way */
  function pending(): OutboxEntry<RelayRequest>[] {
    const before = core.size();
    const p = core.pending();
    count("dropped", "too_old", before - p.length);
    return p;
  }
  function items(): OutboxItem[] {
    const r = retry();
    return pending().map((e) => ({
      id: e.id,
      method: e.msg.method,
      path: e.msg.path,
      body: e.msg.body,
      addedAt: e.at,
      attempts: r && r.id === e.id ? r.attempts : 0,
    }));
  }
  function nextAt(): number {
    const p = pending();
    const r = retry();
    return p.length > 0 && r && r.id === p[0].id ? r.nextAt : 0;
  }

  function flushOnce(
    send: (item: OutboxItem) => Promise<SendOutcome>,
    onOutcome?: (item: OutboxItem, outcome: SendOutcome) => void,
  ): Promise<void> {
    const head = items()[0];
    if (!head || nextAt() > o.now()) return Promise.resolve();
    return send(head).then((outcome) => {
      if (outcome.kind === "transient") {
        const attempts = head.attempts + 1;
        const wait = backoffMs(attempts, base, maxDelay, random);
        store.setItem(OUTBOX_KEYS.retry, JSON.stringify({ id: head.id, attempts: attempts, nextAt: o.now() + wait }));
        if (onOutcome) onOutcome(head, outcome);
        return;
      }
      core.ack([head.id]);
      store.removeItem(OUTBOX_KEYS.retry);
      if (outcome.kind === "permanent") count("refused", outcome.reason, 1);
      if (onOutcome) onOutcome(head, outcome);
      return flushOnce(send, onOutcome);
    });
  }

  return {
    seen: (id) => seenIds.has(id),
    add(id, req) {
      if (seenIds.has(id)) return false;
      const before = core.size();
      core.put(id, { method: req.method, path: req.path, body: req.body });
      count("dropped", "outbox_full", before + 1 - core.size());
      seenIds.firstTime(id); // after the put: an id is never marked seen unless it is stored
      return true;
    },
    items: items,
    size: () => pending().length,
    stats: stats,
    nextAt: nextAt,
    flush(send, onOutcome) {
      if (!flushing) {
        const done = () => {
          flushing = null;
        };
        flushing = flushOnce(send, onOutcome).then(done, done);
      }
      return flushing;
    },
    clear() {
      core.ack(core.pending().map((e) => e.id));
      for (const k in OUTBOX_KEYS) store.removeItem((OUTBOX_KEYS as { [k: string]: string })[k]);
    },
  };
}
