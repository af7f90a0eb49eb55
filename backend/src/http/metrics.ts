// Prometheus text by hand: a request counter kept in memory, gauges read from the database on scrape.
import type { Store } from "../store/open-store.ts";
import { budgetCounter, readCounter } from "../domain/limits.ts";

export function createHttpCounter() {
  // one cell per (method, route, status), found through nested maps: no label string per request;
  // `cells` keeps first-seen order for the exposition
  const cells: { labels: string; n: number }[] = [];
  const index = new Map<string, Map<string, Map<number, { labels: string; n: number }>>>();
  return {
    inc(method: string, route: string, status: number) {
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
    },
    lines(): string[] {
      return cells.map((c) => `wristrelay_http_requests_total{${c.labels}} ${c.n}`);
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
