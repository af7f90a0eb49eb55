// Prometheus text by hand: a request counter kept in memory, gauges read from the database on scrape.
import type { Store } from "../store/open-store.ts";
import { budgetCounter, readCounter } from "../domain/limits.ts";

export function createHttpCounter() {
  const counts = new Map<string, number>();
  return {
    inc(method: string, route: string, status: number) {
      const key = `method="${method}",route="${route}",status="${status}"`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    },
    lines(): string[] {
      return [...counts].map(([k, v]) => `wristrelay_http_requests_total{${k}} ${v}`);
    },
  };
}
export type HttpCounter = ReturnType<typeof createHttpCounter>;

export async function renderMetrics(store: Store, http: HttpCounter, now: Date, dailyBudget: number): Promise<string> {
  const { db } = store;
  const byStatus = await db
    .selectFrom("deliveries")
    .select(["channel", "status", (eb) => eb.fn.countAll().as("n")])
    .groupBy(["channel", "status"])
    .execute();
  const depth = byStatus.filter((r) => r.status === "queued" || r.status === "sending").reduce((a, r) => a + Number(r.n), 0);
  const used = await readCounter(db, budgetCounter(now));
  const out = [
    "# HELP wristrelay_http_requests_total HTTP requests answered, by method, route and status.",
    "# TYPE wristrelay_http_requests_total counter",
    ...http.lines(),
    "# HELP wristrelay_deliveries Deliveries in the database, by channel and status.",
    "# TYPE wristrelay_deliveries gauge",
    ...byStatus.map((r) => `wristrelay_deliveries{channel="${r.channel}",status="${r.status}"} ${Number(r.n)}`),
    "# HELP wristrelay_delivery_queue_depth Deliveries queued or being sent.",
    "# TYPE wristrelay_delivery_queue_depth gauge",
    `wristrelay_delivery_queue_depth ${depth}`,
    "# HELP wristrelay_sms_budget_remaining SMS left in today's (UTC) global budget.",
    "# TYPE wristrelay_sms_budget_remaining gauge",
    `wristrelay_sms_budget_remaining ${Math.max(0, dailyBudget - used)}`,
  ];
  return out.join("\n") + "\n";
}
