// Claims due deliveries, hands them to the SMS provider, and records what happened.
//
// Claiming: one UPDATE ... RETURNING that moves rows from "queued" (due) or from "sending" with an
// expired lease to "sending" with a new lease (claimed_until). On PostgreSQL the candidate rows are
// picked with FOR UPDATE SKIP LOCKED, so any number of workers never claim the same row twice; on
// SQLite the single statement is atomic. A crashed process's claims are retried once the lease runs out.
//
// Delivery is at-least-once: if the process dies after the provider accepted a message and before
// we recorded it, the lease expires and the message is sent again. The window is one provider call
// plus one UPDATE. The outbox provider dedupes by ref; Twilio's Messages API has no idempotency key,
// so there a duplicate SMS is possible in that window; SNS likewise.
import { randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { SendError, type SmsProvider } from "../providers/sms.ts";
import type { Store } from "../store/open-store.ts";
import { sql, type ExpressionBuilder, type Kysely } from "kysely";
import type { Database, DeliveriesTable } from "../store/schema.ts";
import type { Clock } from "./deps.ts";

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
  /** channel "x": posts one delivery (throws SendError); without it X deliveries wait */
  sendX?: (d: DeliveriesTable, signal: AbortSignal) => Promise<{ providerId: string }>;
  /** where the provider posts receipts (asked per send: the port is known only after listen) */
  statusCallbackUrl?: () => string | undefined;
  /** periodic jobs (silence check, housekeeping) and how often */
  periodic?: { everyMs: number; run: () => Promise<unknown> }[];
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

const BASE_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 10 * 60_000;

/** Exponential backoff with full jitter over the upper half: attempt 1 -> 0.5-1 s, 2 -> 1-2 s, ... */
export function backoffMs(attempt: number, random: () => number = Math.random): number {
  const cap = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.max(0, attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export function createDeliveryWorker(o: WorkerOptions): DeliveryWorker {
  const id = `w_${randomBytes(6).toString("base64url")}`;
  const random = o.random ?? Math.random;
  const { db } = o.store;
  let timer: NodeJS.Timeout | undefined;
  const periodicTimers: NodeJS.Timeout[] = [];
  let stopping = false;
  let running: Promise<number> | null = null;
  let again = false;
  const inFlight = new Set<Promise<void>>();
  const log = o.log.child({ worker: id });

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
          updated_at: nowIso,
        }))
        .where("id", "in", ids)
        .where(due) // re-check: on SQLite there are no row locks
        .returningAll()
        .execute();
    // The oldest `limit` due rows, found as two ordered index range scans (queued and due; sending with
    // an expired lease) merged here. One query with `due`'s OR made both databases read and sort every
    // due row on each claim, a cost that grew with the backlog (100k posts due at once: tens of ms a claim).
    const candidates = async (q: Kysely<Database>, lock: boolean): Promise<string[]> => {
      const channels: DeliveriesTable["channel"][] = o.sendX ? ["sms", "x"] : ["sms"];
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

  /** Only the holder of the claim may record the outcome (a late worker whose lease expired may not). */
  async function finish(d: DeliveriesTable, values: Partial<DeliveriesTable>) {
    await db
      .updateTable("deliveries")
      .set({ ...values, claimed_until: null, updated_at: o.clock.now().toISOString() })
      .where("id", "=", d.id)
      .where("claimed_by", "=", id)
      .where("status", "=", "sending")
      .execute();
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
      const sent = await o.sms.send(
        { to, body: d.body, ref: d.id, statusCallback: o.statusCallbackUrl?.() },
        { signal: AbortSignal.timeout(o.sendTimeoutMs) },
      );
      await finish(d, { status: "sent", provider_id: sent.providerId, sent_at: o.clock.now().toISOString(), error: null });
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
        await requeueRateLimited(d, reason, e.retryAfterMs, "sms");
      } else if (d.attempts >= o.maxAttempts) {
        await finish(d, { status: "dead", error: `max_attempts (${reason})` });
        log.error({ delivery: d.id, kind: d.kind, reason, attempts: d.attempts }, "sms dead-lettered after the last attempt");
      } else {
        const wait = backoffMs(d.attempts, random);
        await finish(d, {
          status: "queued",
          error: reason,
          next_attempt_at: new Date(o.clock.now().getTime() + wait).toISOString(),
        });
        log.warn({ delivery: d.id, reason, retryInMs: wait, attempt: d.attempts }, "sms send failed; will retry");
      }
    }
  }

  /**
   * A 429 is the provider pacing us, not the message failing: it waits until the provider's reset
   * and gives its attempt back, so a busy minute cannot dead-letter a message that was never refused.
   * The provider's reset time bounds how often it is tried.
   */
  async function requeueRateLimited(d: DeliveriesTable, reason: string, retryAfterMs: number | undefined, what: string) {
    const wait = Math.max(1_000, retryAfterMs ?? 60_000);
    await finish(d, {
      status: "queued",
      error: reason,
      attempts: Math.max(0, d.attempts - 1),
      next_attempt_at: new Date(o.clock.now().getTime() + wait).toISOString(),
    });
    log.warn({ delivery: d.id, reason, retryInMs: wait }, `${what} rate-limited; will retry after the provider's reset`);
  }

  async function deliverX(d: DeliveriesTable): Promise<void> {
    if (d.attempts > o.maxAttempts) return finish(d, { status: "dead", error: "max_attempts" });
    try {
      const sent = await o.sendX!(d, AbortSignal.timeout(o.sendTimeoutMs));
      await finish(d, { status: "sent", provider_id: sent.providerId, sent_at: o.clock.now().toISOString(), error: null });
      log.info({ delivery: d.id, kind: d.kind }, "x post sent");
    } catch (err) {
      const e = err instanceof SendError ? err : new SendError("transient", (err as Error)?.message ?? String(err));
      const reason = e.code ? `${e.kind}:${e.code}` : `${e.kind}: ${e.message}`.slice(0, 200);
      if (e.kind === "permanent") {
        await finish(d, { status: "dead", error: reason });
        log.warn({ delivery: d.id, kind: d.kind, reason }, "x post dead-lettered");
      } else if (e.kind === "rate_limited") {
        await requeueRateLimited(d, reason, e.retryAfterMs, "x post");
      } else if (d.attempts >= o.maxAttempts) {
        await finish(d, { status: "dead", error: `max_attempts (${reason})` });
      } else {
        const wait = backoffMs(d.attempts, random);
        await finish(d, { status: "queued", error: reason, next_attempt_at: new Date(o.clock.now().getTime() + wait).toISOString() });
        log.warn({ delivery: d.id, reason, retryInMs: wait, attempt: d.attempts }, "x post failed; will retry");
      }
    }
  }

  async function loop(): Promise<number> {
    let total = 0;
    do {
      again = false;
      while (!stopping) {
        const batch = await claim(o.concurrency);
        if (batch.length === 0) break;
        total += batch.length;
        const p = Promise.all(batch.map((d) => deliver(d).catch((err) => log.error({ err, delivery: d.id }, "delivery bookkeeping failed")))).then(() => {});
        inFlight.add(p);
        try {
          await p;
        } finally {
          inFlight.delete(p);
        }
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
        const t = setInterval(() => {
          if (!stopping) p.run().catch((err) => log.error({ err }, "periodic job failed"));
        }, p.everyMs);
        t.unref();
        periodicTimers.push(t);
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
      for (const t of periodicTimers) clearInterval(t);
      await Promise.all([...inFlight]);
      if (running) await running;
    },
  };
}
