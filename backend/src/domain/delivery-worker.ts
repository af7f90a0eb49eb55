// Claims due deliveries, hands them to the SMS provider, and records what happened.
//
// Claiming: one UPDATE ... RETURNING that moves rows from "queued" (due) or from "sending" with an
// expired lease to "sending" with a new lease (claimed_until). On PostgreSQL the candidate rows are
// picked with FOR UPDATE SKIP LOCKED, so any number of workers never claim the same row twice; on
// SQLite the single statement is atomic. A crashed process's claims are retried once the lease runs out.
//
// Sending: up to `concurrency` sends at a time; a claim is made as soon as half the slots are free,
// so the provider is kept busy without a claim per send. X's 429 is app-wide: it pauses every X post
// of this process until X's reset (no X row is claimed or started meanwhile, none is charged an
// attempt); SMS goes on.
//
// Delivery is at-least-once at the provider call, made effectively exactly-once where the provider
// can be asked: if the process dies after the provider accepted a message and before we recorded it,
// the lease expires, and the next claimer first asks the provider whether it went out (recover:
// Twilio lists messages, sms-recovery.ts; X answers a repeated post as a duplicate, x-delivery.ts).
// The outbox provider dedupes by ref; SNS has no lookup, so there a duplicate SMS stays possible in
// that window (one provider call plus one UPDATE).
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { SendError, type SmsProvider } from "../providers/sms.ts";
import type { Store } from "../store/open-store.ts";
import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import type { Database, DeliveriesTable } from "../store/schema.ts";
import type { Clock } from "./deps.ts";
import { claimProviderMessage, findEarlierSends } from "./sms-recovery.ts";

export interface WorkerOptions {
  store: Store;
  sms: SmsProvider;
  clock: Clock;
  log: Logger;
  pollMs: number;
  leaseMs: number;
  maxAttempts: number;
  concurrency: number;
  sendTimeoutMs: number;
  /**
   * channel "x": posts one delivery (throws SendError); without it X deliveries wait. `held()` is true
   * while X's app-wide rate limit holds every post: checked last thing before the post is charged and
   * sent, it throws SendError rate_limited code "held" then.
   */
  sendX?: (d: DeliveriesTable, signal: AbortSignal, held: () => boolean) => Promise<{ providerId: string }>;
  /** where the provider posts receipts (asked per send: the port is known only after listen) */
  statusCallbackUrl?: () => string | undefined;
  /** periodic jobs (silence check, housekeeping) and how often */
  periodic?: { everyMs: number; run: () => Promise<unknown>; /** also once this soon after start (a relay restarted often still runs it) */ firstAfterMs?: number }[];
  random?: () => number;
}

export interface DeliveryWorker {
  start(): void;
  /** wake up now (after an enqueue) */
  poke(): void;
  /** claim and send until nothing is due; returns how many were processed (tests call this directly) */
  drain(): Promise<number>;
  /** stop claiming; resolves once the sends in flight are recorded */
  stop(): Promise<void>;
  readonly id: string;
}

/** after a send whose answer was never seen, the next attempt waits at least this many send timeouts */
const LATE_CREATE_GRACE_FACTOR = 2;

/**
 * True when a failed send may nevertheless have reached the provider: no answer within the timeout,
 * an answer broken off or unreadable, a connection lost mid-call. A provider's error answer (an HTTP
 * status with a code) and our own refusals before sending (lease_short, lookup failures) are seen.
 */
export function outcomeUnseen(e: SendError): boolean {
  if (e.kind !== "transient") return false;
  const code = e.code ?? "";
  if (code === "lease_short" || code === "lookup_failed") return false;
  return code === "" || !/^\d+$/.test(code);
}

const BASE_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 10 * 60_000;

/** Exponential backoff with full jitter over the upper half: attempt 1 -> 0.5-1 s, 2 -> 1-2 s, ... */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

/** Runs `fn` with a signal that aborts after `ms`; the timer ends with the call (AbortSignal.timeout()
 * would keep it and the signal for the whole timeout: thousands of them at hundreds of sends a second). */
async function withDeadline<T>(ms: number, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError")), ms);
  try {
    return await fn(abort.signal);
  } finally {
    clearTimeout(timer);
  }
}

export function createDeliveryWorker(o: WorkerOptions): DeliveryWorker {
  const id = `w_${randomBytes(6).toString("base64url")}`;
  const random = o.random ?? Math.random;
  const { db } = o.store;
  let timer: NodeJS.Timeout | undefined;
  const periodicTimers: NodeJS.Timeout[] = [];
  const periodicRuns = new Set<Promise<unknown>>();
  let stopping = false;
  let running: Promise<number> | null = null;
  let again = false;
  /** sends in flight, one per claimed row; a finished one frees its slot */
  const sending = new Set<Promise<void>>();
  let slotFreed: (() => void) | null = null;
  /** claim again once this many slots are free (or none is busy) */
  const refillAt = Math.max(1, Math.ceil(o.concurrency / 2));
  /** outcomes waiting to be written, and the write in progress (one at a time) */
  let outcomes: { d: DeliveriesTable; values: Partial<DeliveriesTable>; fresh: boolean; resolve: () => void; reject: (err: unknown) => void }[] = [];
  let writing: Promise<void> = Promise.resolve();
  /** X's app-wide rate limit: no X post before this time (ms, o.clock) */
  let xPausedUntil = 0;
  let resumeTimer: NodeJS.Timeout | undefined;
  const log = o.log.child({ worker: id });

  const xPaused = () => o.clock.now().getTime() < xPausedUntil;

  /** Holds every X post until X's reset, and wakes the worker then (once it runs on its own). */
  function pauseX(ms: number) {
    const until = o.clock.now().getTime() + ms;
    if (until <= xPausedUntil) return;
    xPausedUntil = until;
    log.warn({ retryInMs: ms }, "x rate-limited: every post waits for X's reset");
    if (!timer || stopping) return;
    clearTimeout(resumeTimer);
    resumeTimer = setTimeout(() => {
      if (!stopping) void drain();
    }, ms);
    resumeTimer.unref();
  }

  async function claim(limit: number): Promise<DeliveriesTable[]> {
    const now = o.clock.now();
    const nowIso = now.toISOString();
    // In the UPDATE the rows are found by id; the re-check must not steer SQLite's planner onto the
    // status index (it did: an OR scan of every due row per claim, 26 ms a claim with 100k due). The
    // unary + keeps a column out of index selection on SQLite (PostgreSQL has no + for text).
    const col = (c: "status" | "next_attempt_at" | "claimed_until") => (o.store.dialect === "sqlite" ? sql<string>`+${sql.ref(c)}` : sql.ref<string>(c));
    const due = (eb: ExpressionBuilder<Database, "deliveries">) =>
      eb.or([
        eb.and([eb(col("status"), "=", "queued"), eb(col("next_attempt_at"), "<=", nowIso)]),
        eb.and([eb(col("status"), "=", "sending"), eb(col("claimed_until"), "<", nowIso)]),
      ]);
    const take = (q: Kysely<Database>, ids: string[]) =>
      q
        .updateTable("deliveries")
        .set((eb) => ({
          status: "sending",
          claimed_by: id,
          claimed_until: new Date(now.getTime() + o.leaseMs).toISOString(),
          attempts: eb("attempts", "+", 1),
          // taken over from a claimer whose lease ran out: it may have died after the provider took it
          uncertain: sql<number>`case when ${sql.ref("status")} = 'sending' then 1 else ${sql.ref("uncertain")} end`,
          updated_at: nowIso,
        }))
        .where("id", "in", ids)
        .where(due) // re-check: on SQLite there are no row locks
        .returningAll()
        .execute();
    // The oldest `limit` due rows, found as two ordered index range scans (queued and due; sending with
    // an expired lease) merged here. One query with `due`'s OR made both databases read and sort every
    // due row on each claim, a cost that grew with the backlog (100k posts due at once: tens of ms a claim).
    const channels: DeliveriesTable["channel"][] = o.sendX && !xPaused() ? ["sms", "x"] : ["sms"];
    const candidates = async (q: Kysely<Database>, lock: boolean): Promise<string[]> => {
      const part = (status: "queued" | "sending") => {
        let s = q
          .selectFrom("deliveries")
          .select(["id", "next_attempt_at"])
          .where("channel", "in", channels)
          .where("status", "=", status)
          .where(status === "queued" ? "next_attempt_at" : "claimed_until", status === "queued" ? "<=" : "<", nowIso)
          .orderBy("next_attempt_at")
          .limit(limit);
        if (lock) s = s.forUpdate().skipLocked();
        return s.execute();
      };
      const rows = [...(await part("queued")), ...(await part("sending"))];
      rows.sort((a, b) => (a.next_attempt_at < b.next_attempt_at ? -1 : a.next_attempt_at > b.next_attempt_at ? 1 : 0));
      return rows.slice(0, limit).map((r) => r.id);
    };
    if (o.store.dialect === "postgres") {
      // Lock the candidates first, then update exactly those, in one transaction. A single
      // UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED LIMIT n) sometimes claimed nothing
      // while another worker was claiming, leaving that worker idle with work due.
      return db.transaction().execute(async (tx) => {
        const ids = await candidates(tx, true);
        return ids.length ? take(tx, ids) : [];
      });
    }
    const ids = await candidates(db, false);
    return ids.length ? take(db, ids) : [];
  }

  /**
   * Records an outcome; resolves once it is written. Outcomes that arrive together (within one turn
   * of the event loop, or while the previous ones are being written) share one transaction: a
   * commit per outcome was the largest part of a send's cost, on SQLite and PostgreSQL alike.
   */
  function finish(d: DeliveriesTable, values: Partial<DeliveriesTable>, fresh = false): Promise<void> {
    return new Promise((resolve, reject) => {
      outcomes.push({ d, values, fresh, resolve, reject });
      if (outcomes.length === 1) setImmediate(() => void (writing = writing.then(writeOutcomes)));
    });
  }

  async function writeOutcomes() {
    const batch = outcomes;
    outcomes = [];
    if (batch.length === 0) return;
    try {
      // a fresh send's record is two statements (reclaimMistaken): one transaction
      if (batch.length === 1 && !batch[0]!.fresh) await record(db, batch[0]!.d, batch[0]!.values, batch[0]!.fresh);
      else await db.transaction().execute(async (tx) => {
        for (const r of batch) await record(tx, r.d, r.values, r.fresh);
      });
      for (const r of batch) r.resolve();
    } catch (err) {
      for (const r of batch) r.reject(err);
    }
  }

  /**
   * Only the holder of the claim may record the outcome (a late worker whose lease expired may not).
   * `fresh`: the provider just gave this sid to our own send. Another delivery's lookup (recover) can
   * have taken it meanwhile, believing an alike message its own: our send is the proof, so that one
   * goes back to the queue to look again (or send), and one message never backs two deliveries.
   */
  async function record(q: Kysely<Database>, d: DeliveriesTable, values: Partial<DeliveriesTable>, fresh = false) {
    if (fresh && values.provider_id) await reclaimMistaken(q, d, values.provider_id);
    await q
      .updateTable("deliveries")
      .set({ ...values, claimed_until: null, updated_at: o.clock.now().toISOString() })
      .where("id", "=", d.id)
      .where("claimed_by", "=", id)
      .where("status", "=", "sending")
      .execute();
  }

  async function reclaimMistaken(q: Kysely<Database>, d: DeliveriesTable, sid: string) {
    // the same lock claimProviderMessage takes: a lookup's claim and this check never interleave
    if (o.store.dialect === "postgres") await sql`select pg_advisory_xact_lock(hashtext(${"provider_id:" + sid}))`.execute(q);
    const now = o.clock.now().toISOString();
    const r = await q
      .updateTable("deliveries")
      .set({ status: "queued", provider_id: null, sent_at: null, uncertain: 1, claimed_by: null, claimed_until: null, next_attempt_at: now, error: "recovered_wrong_message", updated_at: now })
      .where("provider_id", "=", sid)
      .where("id", "!=", d.id)
      .executeTakeFirst();
    if (Number(r.numUpdatedRows) > 0) log.warn({ delivery: d.id, taken: Number(r.numUpdatedRows) }, "an alike delivery had taken this send's message as its own; it looks again");
  }

  /**
   * Before a send: a retried SMS that an earlier attempt already handed to the provider is recorded,
   * not sent again; and a claim whose lease is nearly over (this process stalled since claiming) is
   * not used, since another worker may claim the row, ask the provider and send while this call runs.
   */
  async function recover(d: DeliveriesTable): Promise<{ providerId: string } | null> {
    const left = d.claimed_until ? Date.parse(d.claimed_until) - o.clock.now().getTime() : o.leaseMs;
    if (left < Math.min(o.sendTimeoutMs, o.leaseMs / 2)) throw new SendError("transient", "the claim's lease is nearly over", { code: "lease_short" });
    // only an attempt whose outcome nobody saw (a crash, a timeout, a broken-off answer) can have
    // reached the provider; after clear refusals (5xx, 4xx) there is nothing to look for
    if (d.attempts <= 1 || !d.uncertain || !o.sms.findSent) return null;
    const candidates = await withDeadline(o.sendTimeoutMs, (signal) => findEarlierSends(db, o.sms, d, signal));
    for (const providerId of candidates) {
      if (!(await claimProviderMessage(o.store, d, providerId, id))) continue; // another alike delivery took it
      log.warn({ delivery: d.id, kind: d.kind, attempt: d.attempts }, "sms found already sent by an earlier attempt; recorded without sending again");
      return { providerId };
    }
    return null;
  }

  async function deliver(d: DeliveriesTable): Promise<void> {
    if (d.channel === "x") return deliverX(d);
    const to = d.to_number;
    if (!to) return finish(d, { status: "dead", error: "no_number" });
    const opted = await db.selectFrom("optouts").select("number").where("number", "=", to).executeTakeFirst();
    if (opted) return finish(d, { status: "dead", error: "opted_out" });
    if (d.attempts > o.maxAttempts) return finish(d, { status: "dead", error: "max_attempts" });
    const started = Date.now();
    try {
      const recovered = await recover(d);
      const sent =
        recovered ??
        (await withDeadline(o.sendTimeoutMs, (signal) => o.sms.send({ to, body: d.body, ref: d.id, statusCallback: o.statusCallbackUrl?.() }, { signal })));
      await finish(d, { status: "sent", provider_id: sent.providerId, sent_at: o.clock.now().toISOString(), error: null }, !recovered && !!o.sms.findSent);
      log.info({ delivery: d.id, kind: d.kind, ms: Date.now() - started, provider: o.sms.name }, "sms handed to provider");
    } catch (err) {
      const e = err instanceof SendError ? err : new SendError("transient", (err as Error)?.message ?? String(err));
      const reason = e.code ? `${e.kind}:${e.code}` : `${e.kind}: ${e.message}`.slice(0, 200);
      if (e.optedOut) {
        const now = o.clock.now().toISOString();
        await db.insertInto("optouts").values({ number: to, opted_out_at: now }).onConflict((oc) => oc.column("number").doNothing()).execute();
        await finish(d, { status: "dead", error: "opted_out" });
        await db
          .updateTable("deliveries")
          .set({ status: "dead", error: "opted_out", updated_at: now })
          .where("to_number", "=", to)
          .where("status", "=", "queued")
          .execute();
      } else if (e.kind === "permanent") {
        await finish(d, { status: "dead", error: reason });
        log.warn({ delivery: d.id, kind: d.kind, reason }, "sms dead-lettered");
      } else if (e.kind === "rate_limited") {
        await giveBack(d, o.clock.now().getTime() + Math.max(1_000, e.retryAfterMs ?? 60_000), reason);
        log.warn({ delivery: d.id, reason, retryInMs: e.retryAfterMs }, "sms rate-limited; will retry after the provider's reset");
      } else if (d.attempts >= o.maxAttempts) {
        await finish(d, { status: "dead", error: `max_attempts (${reason})` });
        log.error({ delivery: d.id, kind: d.kind, reason, attempts: d.attempts }, "sms dead-lettered after the last attempt");
      } else {
        // No answer seen: the provider may still carry the request out after our timeout. The next
        // attempt looks first (recover), and waits long enough for such a late create to show.
        const unseen = outcomeUnseen(e);
        const wait = Math.max(backoffMs(d.attempts, random), unseen ? LATE_CREATE_GRACE_FACTOR * o.sendTimeoutMs : 0);
        await finish(d, {
          status: "queued",
          error: reason,
          next_attempt_at: new Date(o.clock.now().getTime() + wait).toISOString(),
          ...(unseen ? { uncertain: 1 } : {}),
        });
        log.warn({ delivery: d.id, reason, retryInMs: wait, attempt: d.attempts }, "sms send failed; will retry");
      }
    }
  }

  /**
   * Back to the queue until `untilMs` with its attempt given back. A 429 is the provider pacing us,
   * not the message failing, so a busy minute cannot dead-letter a message that was never refused;
   * the provider's reset time bounds how often it is tried.
   */
  async function giveBack(d: DeliveriesTable, untilMs: number, error: string | null) {
    await finish(d, { status: "queued", error, attempts: Math.max(0, d.attempts - 1), next_attempt_at: new Date(untilMs).toISOString() });
  }

  async function deliverX(d: DeliveriesTable): Promise<void> {
    if (d.attempts > o.maxAttempts) return finish(d, { status: "dead", error: "max_attempts" });
    // claimed just before another post met X's 429: not started, not charged
    if (xPaused()) return giveBack(d, xPausedUntil, d.error);
    try {
      const sent = await withDeadline(o.sendTimeoutMs, (signal) => o.sendX!(d, signal, xPaused));
      await finish(d, { status: "sent", provider_id: sent.providerId, sent_at: o.clock.now().toISOString(), error: null });
      log.info({ delivery: d.id, kind: d.kind }, "x post sent");
    } catch (err) {
      const e = err instanceof SendError ? err : new SendError("transient", (err as Error)?.message ?? String(err));
      const reason = e.code ? `${e.kind}:${e.code}` : `${e.kind}: ${e.message}`.slice(0, 200);
      if (e.kind === "rate_limited" && e.code === "held") {
        await giveBack(d, xPausedUntil, d.error);
      } else if (e.kind === "permanent") {
        await finish(d, { status: "dead", error: reason });
        log.warn({ delivery: d.id, kind: d.kind, reason }, "x post dead-lettered");
      } else if (e.kind === "rate_limited") {
        const wait = e.retryAfterMs ?? 60_000;
        if (e.code === "rate_limited") pauseX(wait); // app-wide; "user_rate_limited" holds this wearer's post only
        await giveBack(d, Math.max(xPausedUntil, o.clock.now().getTime() + wait), reason);
        log.warn({ delivery: d.id, reason, retryInMs: wait }, "x post rate-limited; will retry after X's reset");
      } else if (d.attempts >= o.maxAttempts) {
        await finish(d, { status: "dead", error: `max_attempts (${reason})` });
      } else {
        const wait = backoffMs(d.attempts, random);
        await finish(d, { status: "queued", error: reason, next_attempt_at: new Date(o.clock.now().getTime() + wait).toISOString() });
        log.warn({ delivery: d.id, reason, retryInMs: wait, attempt: d.attempts }, "x post failed; will retry");
      }
    }
  }

  function startSend(d: DeliveriesTable) {
    const p: Promise<void> = deliver(d)
      .catch((err) => log.error({ err, delivery: d.id }, "delivery bookkeeping failed"))
      .finally(() => {
        sending.delete(p);
        slotFreed?.();
      });
    sending.add(p);
  }

  const nextFreeSlot = () =>
    new Promise<void>((resolve) => {
      slotFreed = () => {
        slotFreed = null;
        resolve();
      };
    });

  /** Claims and sends until nothing is due and every send has been recorded (or the worker stops). */
  async function loop(): Promise<number> {
    let total = 0;
    do {
      again = false;
      while (!stopping) {
        const free = o.concurrency - sending.size;
        if (sending.size > 0 && free < refillAt) {
          await nextFreeSlot();
          continue;
        }
        const batch = await claim(free);
        if (batch.length === 0) {
          if (sending.size === 0) break;
          // nothing due (or only X, paused): look once more when what is in flight is recorded, not
          // after each send (with X paused a claim reads past every X post due, 100k: ~70 ms)
          await Promise.all([...sending]);
          continue;
        }
        total += batch.length;
        for (const d of batch) startSend(d);
      }
    } while (again && !stopping);
    return total;
  }

  function drain(): Promise<number> {
    if (running) {
      again = true;
      return running;
    }
    running = loop()
      .catch((err) => {
        log.error({ err }, "delivery loop failed; will try again at the next poll");
        return 0;
      })
      .finally(() => {
        running = null;
      });
    return running;
  }

  return {
    id,
    start() {
      if (timer) return;
      timer = setInterval(() => void drain(), o.pollMs);
      timer.unref();
      for (const p of o.periodic ?? []) {
        let busy: Promise<unknown> | null = null;
        // one run of a job at a time; stop() waits for the run in progress
        const tick = () => {
          if (stopping || busy) return;
          busy = p
            .run()
            .catch((err) => log.error({ err }, "periodic job failed"))
            .finally(() => {
              periodicRuns.delete(busy!);
              busy = null;
            });
          periodicRuns.add(busy);
        };
        const t = setInterval(tick, p.everyMs);
        t.unref();
        periodicTimers.push(t);
        if (p.firstAfterMs !== undefined) {
          const first = setTimeout(tick, p.firstAfterMs);
          first.unref();
          periodicTimers.push(first);
        }
      }
      void drain();
    },
    poke() {
      if (!stopping) void drain();
    },
    drain,
    async stop() {
      stopping = true;
      if (timer) clearInterval(timer);
      clearTimeout(resumeTimer);
      for (const t of periodicTimers) clearInterval(t);
      await Promise.all([...sending, ...periodicRuns]);
      if (running) await running;
    },
  };
}
