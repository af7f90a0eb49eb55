// Prometheus text by hand: request counters and durations kept in memory, gauges read from the
// database on scrape. Names follow the Prometheus conventions: the `wristrelay_` prefix, `_total` on
// counters, base units (`_seconds`, `_bytes`) in the name, a HELP and a TYPE line for every family.
import type { Config } from "../config.ts";
import { budgetCounter, readCounter } from "../domain/limits.ts";
import { xBudgetCounter } from "../domain/x-delivery.ts";
import type { Db, Store } from "../store/open-store.ts";

/** Upper bounds of the request duration histogram, in seconds. */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

interface Cell {
  labels: string;
  n: number;
}
interface Histogram {
  route: string;
  counts: number[]; // per bucket (not cumulative), the last one +Inf
  sum: number;
  n: number;
}

export function createHttpCounter() {
  // one cell per (method, route, status), found through nested maps: no label string per request;
  // `cells` keeps first-seen order for the exposition
  const cells: Cell[] = [];
  const index = new Map<string, Map<string, Map<number, Cell>>>();
  const histograms = new Map<string, Histogram>();
  return {
    inc(method: string, route: string, status: number, seconds?: number) {
      let byRoute = index.get(method);
      if (!byRoute) index.set(method, (byRoute = new Map()));
      let byStatus = byRoute.get(route);
      if (!byStatus) byRoute.set(route, (byStatus = new Map()));
      let cell = byStatus.get(status);
      if (!cell) {
        cell = { labels: `method="${method}",route="${route}",status="${status}"`, n: 0 };
        byStatus.set(status, cell);
        cells.push(cell);
      }
      cell.n++;
      if (seconds !== undefined) {
        let h = histograms.get(route);
        if (!h) histograms.set(route, (h = { route, counts: new Array<number>(DURATION_BUCKETS.length + 1).fill(0), sum: 0, n: 0 }));
        let i = 0;
        while (i < DURATION_BUCKETS.length && seconds > DURATION_BUCKETS[i]!) i++;
        h.counts[i]!++;
        h.sum += seconds;
        h.n++;
      }
    },
    lines(): string[] {
      return cells.map((c) => `wristrelay_http_requests_total{${c.labels}} ${c.n}`);
    },
    durationLines(): string[] {
      const out: string[] = [];
      for (const h of histograms.values()) {
        let cumulative = 0;
        DURATION_BUCKETS.forEach((le, i) => {
          cumulative += h.counts[i]!;
          out.push(`wristrelay_http_request_duration_seconds_bucket{route="${h.route}",le="${le}"} ${cumulative}`);
        });
        out.push(`wristrelay_http_request_duration_seconds_bucket{route="${h.route}",le="+Inf"} ${h.n}`);
        out.push(`wristrelay_http_request_duration_seconds_sum{route="${h.route}"} ${round(h.sum)}`);
        out.push(`wristrelay_http_request_duration_seconds_count{route="${h.route}"} ${h.n}`);
      }
      return out;
    },
  };
}
export type HttpCounter = ReturnType<typeof createHttpCounter>;

const round = (n: number) => Math.round(n * 1e6) / 1e6;

export interface QueueState {
  /** queued or being sent */
  depth: number;
  /** seconds since the oldest queued delivery fell due; 0 when nothing is overdue */
  oldestDueAgeSeconds: number;
  /** deliveries given up on (status dead) */
  dead: number;
}

/** The delivery queue as the worker sees it; every query rides the (status, next_attempt_at) index. */
export async function queueState(db: Db, now: Date): Promise<QueueState> {
  const nowIso = now.toISOString();
  const [byStatus, oldest] = await Promise.all([
    db
      .selectFrom("deliveries")
      .select(["status", (eb) => eb.fn.countAll().as("n")])
      .where("status", "in", ["queued", "sending", "dead"])
      .groupBy("status")
      .execute(),
    db
      .selectFrom("deliveries")
      .select("next_attempt_at")
      .where("status", "=", "queued")
      .where("next_attempt_at", "<=", nowIso)
      .orderBy("next_attempt_at")
      .limit(1)
      .executeTakeFirst(),
  ]);
  const count = (s: string) => Number(byStatus.find((r) => r.status === s)?.n ?? 0);
  return {
    depth: count("queued") + count("sending"),
    oldestDueAgeSeconds: oldest ? Math.max(0, Math.floor((now.getTime() - Date.parse(oldest.next_attempt_at)) / 1000)) : 0,
    dead: count("dead"),
  };
}

const START_SECONDS = Math.floor(Date.now() / 1000);

function family(name: string, type: "counter" | "gauge" | "histogram", help: string, samples: string[]): string[] {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples];
}

export async function renderMetrics(o: { store: Store; http: HttpCounter; now: Date; config: Config }): Promise<string> {
  const { db } = o.store;
  const [byStatus, queue, smsUsed, xUsed] = await Promise.all([
    db
      .selectFrom("deliveries")
      .select(["channel", "status", (eb) => eb.fn.countAll().as("n")])
      .groupBy(["channel", "status"])
      .execute(),
    queueState(db, o.now),
    readCounter(db, budgetCounter(o.now)),
    readCounter(db, xBudgetCounter(o.now)),
  ]);
  const smsBudget = o.config.sms.dailyBudget;
  const xBudget = o.config.x.dailyBudget;
  const out = [
    ...family("wristrelay_http_requests_total", "counter", "HTTP requests answered, by method, route and status.", o.http.lines()),
    ...family("wristrelay_http_request_duration_seconds", "histogram", "Time to answer an HTTP request, by route.", o.http.durationLines()),
    ...family(
      "wristrelay_deliveries",
      "gauge",
      "Deliveries in the database, by channel and status.",
      byStatus.map((r) => `wristrelay_deliveries{channel="${r.channel}",status="${r.status}"} ${Number(r.n)}`),
    ),
    ...family("wristrelay_delivery_queue_depth", "gauge", "Deliveries queued or being sent.", [`wristrelay_delivery_queue_depth ${queue.depth}`]),
    ...family("wristrelay_delivery_oldest_due_age_seconds", "gauge", "How long the oldest queued delivery has been due (0 when none is overdue).", [
      `wristrelay_delivery_oldest_due_age_seconds ${queue.oldestDueAgeSeconds}`,
    ]),
    ...family("wristrelay_dead_letters", "gauge", "Deliveries given up on (status dead), waiting for the operator.", [`wristrelay_dead_letters ${queue.dead}`]),
    ...family("wristrelay_sms_budget_used", "gauge", "SMS charged to today's (UTC) global budget.", [`wristrelay_sms_budget_used ${smsUsed}`]),
    ...family("wristrelay_sms_budget_limit", "gauge", "The global daily SMS budget (SMS_DAILY_BUDGET).", [`wristrelay_sms_budget_limit ${smsBudget}`]),
    ...family("wristrelay_sms_budget_remaining", "gauge", "SMS left in today's (UTC) global budget.", [`wristrelay_sms_budget_remaining ${Math.max(0, smsBudget - smsUsed)}`]),
    ...family("wristrelay_x_post_budget_used", "gauge", "X posts charged to today's (UTC) global budget.", [`wristrelay_x_post_budget_used ${xUsed}`]),
    ...family("wristrelay_x_post_budget_limit", "gauge", "The global daily X post budget (X_DAILY_POST_BUDGET).", [`wristrelay_x_post_budget_limit ${xBudget}`]),
    ...family("wristrelay_process_start_time_seconds", "gauge", "When this relay process started, in seconds since the Unix epoch.", [
      `wristrelay_process_start_time_seconds ${START_SECONDS}`,
    ]),
    ...family("wristrelay_process_resident_memory_bytes", "gauge", "Resident memory of this relay process.", [
      `wristrelay_process_resident_memory_bytes ${process.memoryUsage.rss()}`,
    ]),
  ];
  return out.join("\n") + "\n";
}
