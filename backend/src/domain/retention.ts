// Retention: what the relay keeps, and for how long (RETENTION_DAYS, default 30). Run hourly by the
// worker's periodic jobs (serve.ts). Every table is pruned in batches of at most 1,000 rows per
// statement (fewer while statements run slow), each found through an index, with a turn of the event
// loop between batches, so a large backlog (the first run after a long time) never holds the database
// or the relay for long.
//
// - deliveries that are finished (sent, delivered, undelivered, failed, dead): RETENTION_DAYS after
//   they were last due and last changed. Queued and in-flight ones are never touched.
// - events (the idempotency records of eventIds): RETENTION_DAYS after they arrived, and never fewer
//   than EVENT_MIN_DAYS: the watch keeps an unacknowledged event 3 days and the companion 7, so an id
//   can come back at most about 10 days after it was first sent; a repeat inside that window must
//   still find its first answer.
// - summary_events (the first answers to POST /v1/summaries, by eventId): as events.
// - outbox_messages and x_outbox_posts (what the outbox providers recorded): RETENTION_DAYS.
// - confirmation codes and X link flows: a day after they expired (an expired code still answers
//   "code_expired" rather than "no_code_pending" for that day).
// - rate_events: once older than the longest window any limit uses (RATE_WINDOW_MAX_MS).
// - daily counters: per-number and per-account caps once their UTC day is over (the day after, kept
//   for processes whose clock is a little behind); the global SMS and X budgets RETENTION_DAYS, as a
//   record of spending.
// - summaries (the "posted at most once per day" tombstones): a day that was not posted (posts off,
//   X not linked) is deleted after RETENTION_DAYS; a posted day keeps its row, with its figures
//   blanked after RETENTION_DAYS, for TOMBSTONE_DAYS (or RETENTION_DAYS if longer). A summary arrives
//   the day after its date and is retried for at most about 10 days, so a late duplicate a year on
//   is not possible; the kept row costs a few dozen bytes and holds nothing about the day itself.
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { sql, type Kysely } from "kysely";
import type { Logger } from "pino";
import type { Store } from "../store/open-store.ts";
import type { Clock } from "./deps.ts";

const DAY_MS = 86_400_000;
export const EVENT_MIN_DAYS = 14;
export const TOMBSTONE_DAYS = 400;
/** Longer than any window passed to takeSlot / the limiter (the longest is a day). */
export const RATE_WINDOW_MAX_MS = 2 * DAY_MS;
const FINISHED = ["sent", "delivered", "undelivered", "failed", "dead", "cancelled"];
const BUDGET_COUNTERS = ["sms_budget:%", "x_budget:%"];

export interface RetentionOptions {
  store: Store;
  clock: Clock;
  retentionDays: number;
  log?: Logger;
  /** rows per statement at most (default 1,000) */
  batchSize?: number;
  /** a statement slower than this halves the next batch (default 50 ms) */
  targetMs?: number;
  /** batches per table per run; the rest waits for the next run */
  maxBatches?: number;
}

export type Pruned = Record<
  "deliveries" | "events" | "summaryEvents" | "outboxMessages" | "xOutboxPosts" | "codes" | "linkFlows" | "rateEvents" | "counters" | "summaries" | "summaryFigures",
  number
>;

const iso = (t: number) => new Date(t).toISOString();

/** Deletes (or blanks) what has outlived its keeping; returns how many rows each rule touched. */
export async function pruneRetained(o: RetentionOptions): Promise<Pruned> {
  const { db } = o.store;
  const maxSize = o.batchSize ?? 1_000;
  const minSize = Math.min(maxSize, 100);
  const targetMs = o.targetMs ?? 50;
  const maxBatches = o.maxBatches ?? 1_000;
  const now = o.clock.now().getTime();
  const cutoff = iso(now - o.retentionDays * DAY_MS);
  const eventCutoff = iso(now - Math.max(o.retentionDays, EVENT_MIN_DAYS) * DAY_MS);
  const tombstoneCutoff = iso(now - Math.max(o.retentionDays, TOMBSTONE_DAYS) * DAY_MS);
  const expiredCutoff = iso(now - DAY_MS);
  const yesterday = iso(now - DAY_MS).slice(0, 10);
  const budgetDay = cutoff.slice(0, 10);

  /**
   * Runs one batch of up to `size` rows until one touches fewer (or maxBatches ran); the total. A
   * batch slower than targetMs halves the next one (down to minSize), a quick one doubles it back up
   * to batchSize: on a busy or slow disk no single statement holds the database for long.
   */
  async function batches(one: (size: number) => Promise<bigint | number>): Promise<number> {
    let total = 0;
    let size = maxSize;
    for (let i = 0; i < maxBatches; i++) {
      const started = performance.now();
      const k = Number(await one(size));
      const ms = performance.now() - started;
      total += k;
      if (k < size) break;
      if (ms > targetMs) size = Math.max(minSize, Math.floor(size / 2));
      else if (ms < targetMs / 4) size = Math.min(maxSize, size * 2);
      await yieldToLoop();
    }
    return total;
  }
  const deleted = (r: { numDeletedRows: bigint } | undefined) => r?.numDeletedRows ?? 0n;
  /** One batch for a table whose rows go once `col` is before `cutoff`, found by their single-column key. */
  const before =
    (table: "outbox_messages" | "x_outbox_posts" | "x_link_flows" | "google_link_flows", key: string, col: string, cutoffIso: string) =>
    async (n: number) => {
      const q = db as unknown as Kysely<any>; // table and columns are named by the caller, not typed per table
      const t: string = table;
      const batch = q.selectFrom(t).select(key).where(col, "<", cutoffIso).limit(n);
      return deleted(await q.deleteFrom(t).where(key, "in", batch).executeTakeFirst());
    };

  const pruned: Pruned = {
    deliveries: await batches(async (n) =>
      deleted(
        await db
          .deleteFrom("deliveries")
          .where("id", "in", (eb) =>
            eb
              .selectFrom("deliveries")
              .select("id")
              .where("status", "in", FINISHED)
              .where("next_attempt_at", "<", cutoff)
              .where("updated_at", "<", cutoff)
              .limit(n),
          )
          // re-checked on the row itself (a retry may have queued it again meanwhile), kept off the
          // status index on SQLite, which would otherwise walk every finished row to find the batch
          .where(o.store.dialect === "sqlite" ? sql<string>`+${sql.ref("status")}` : sql.ref<string>("status"), "in", FINISHED)
          .executeTakeFirst(),
      ),
    ),
    events: await batches(async (n) =>
      deleted(
        await db
          .deleteFrom("events")
          .where(({ eb, refTuple, selectFrom }) =>
            eb(refTuple("device_id", "event_id"), "in", selectFrom("events").select(["device_id", "event_id"]).where("created_at", "<", eventCutoff).limit(n).$asTuple("device_id", "event_id")),
          )
          .executeTakeFirst(),
      ),
    ),
    summaryEvents: await batches(async (n) =>
      deleted(
        await db
          .deleteFrom("summary_events")
          .where(({ eb, refTuple, selectFrom }) =>
            eb(
              refTuple("device_id", "event_id"),
              "in",
              selectFrom("summary_events").select(["device_id", "event_id"]).where("created_at", "<", eventCutoff).limit(n).$asTuple("device_id", "event_id"),
            ),
          )
          .executeTakeFirst(),
      ),
    ),
    outboxMessages: await batches(before("outbox_messages", "id", "created_at", cutoff)),
    xOutboxPosts: await batches(before("x_outbox_posts", "id", "created_at", cutoff)),
    codes: await batches(async (n) =>
      deleted(
        await db
          .deleteFrom("codes")
          .where("device_id", "in", (eb) => eb.selectFrom("codes").select("device_id").where("expires_at", "<", expiredCutoff).limit(n))
          .where("expires_at", "<", expiredCutoff)
          .executeTakeFirst(),
      ),
    ),
    linkFlows:
      (await batches(before("x_link_flows", "flow_hash", "expires_at", expiredCutoff))) +
      (await batches(before("google_link_flows", "flow_hash", "expires_at", expiredCutoff))),
    rateEvents: await batches(async (n) =>
      deleted(
        await db
          .deleteFrom("rate_events")
          .where(({ eb, refTuple, selectFrom }) =>
            eb(refTuple("key", "at"), "in", selectFrom("rate_events").select(["key", "at"]).where("at", "<", iso(now - RATE_WINDOW_MAX_MS)).limit(n).$asTuple("key", "at")),
          )
          .executeTakeFirst(),
      ),
    ),
    counters: await batches(async (n) => {
      // daily counters end in ":YYYY-MM-DD"
      const day = sql<string>`substr(name, length(name) - 9)`;
      return deleted(
        await db
          .deleteFrom("counters")
          .where("name", "in", (eb) =>
            eb
              .selectFrom("counters")
              .select("name")
              .where("name", "like", "%:____-__-__")
              .where((w) => {
                const budget = w.or(BUDGET_COUNTERS.map((p) => w("name", "like", p)));
                return w.or([w.and([budget, w(day, "<", budgetDay)]), w.and([w.not(budget), w(day, "<", yesterday)])]);
              })
              .limit(n),
          )
          .executeTakeFirst(),
      );
    }),
    summaries: await batches(async (n) =>
      deleted(
        await db
          .deleteFrom("summaries")
          .where(({ eb, refTuple, selectFrom }) =>
            eb(
              refTuple("device_id", "date", "kind"),
              "in",
              selectFrom("summaries")
                .select(["device_id", "date", "kind"])
                .where((w) =>
                  w.or([
                    w.and([w("created_at", "<", cutoff), w("status", "<>", "queued")]),
                    w.and([w("created_at", "<", tombstoneCutoff), w("status", "=", "queued")]),
                  ]),
                )
                .limit(n)
                .$asTuple("device_id", "date", "kind"),
            ),
          )
          .executeTakeFirst(),
      ),
    ),
    summaryFigures: await batches(async (n) => {
      const r = await db
        .updateTable("summaries")
        .set({ data: "{}" })
        .where(({ eb, refTuple, selectFrom }) =>
          eb(
            refTuple("device_id", "date", "kind"),
            "in",
            selectFrom("summaries")
              .select(["device_id", "date", "kind"])
              .where("created_at", "<", cutoff)
              .where("status", "=", "queued")
              .where("data", "<>", "{}")
              // a post still on its way, or dead and retryable from the operator page, needs its figures
              .where(({ not, exists, selectFrom: from }) =>
                not(
                  exists(
                    from("deliveries")
                      .select("deliveries.id")
                      .whereRef("deliveries.id", "=", "summaries.delivery_id")
                      .where("deliveries.status", "in", ["queued", "sending", "dead"]),
                  ),
                ),
              )
              .limit(n)
              .$asTuple("device_id", "date", "kind"),
          ),
        )
        .executeTakeFirst();
      return r.numUpdatedRows;
    }),
  };
  const total = Object.values(pruned).reduce((a, b) => a + b, 0);
  if (total > 0) o.log?.info({ pruned, retentionDays: o.retentionDays }, "retention: old records pruned");
  return pruned;
}
