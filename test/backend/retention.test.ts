// Retention on SQLite and PostgreSQL with a test clock: what has outlived RETENTION_DAYS goes, what is
// recent (or still needed) stays, and a large backlog goes in batches.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { pruneRetained, TOMBSTONE_DAYS } from "../../backend/src/domain/retention.ts";
import { openStore, type Store } from "../../backend/src/store/open-store.ts";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { createTestClock } from "../helpers/relay.ts";

const DAY = 86_400_000;
const clock = createTestClock("2026-11-20T12:00:00.000Z");
const ago = (days: number) => new Date(clock.now().getTime() - days * DAY).toISOString();
const dayAgo = (days: number) => ago(days).slice(0, 10);

describe.each(DB_KINDS)("retention on %s", (kind) => {
  let db: TestDatabase;
  let store: Store;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    store = await openStore(db.url);
  });
  afterAll(async () => {
    await store?.close();
    await db?.drop();
  });
  beforeEach(async () => {
    for (const t of ["deliveries", "events", "outbox_messages", "x_outbox_posts", "codes", "x_link_flows", "google_link_flows", "rate_events", "counters", "summaries"] as const) {
      await store.db.deleteFrom(t).execute();
    }
  });

  async function delivery(id: string, status: string, daysAgo: number) {
    await store.db
      .insertInto("deliveries")
      .values({
        id,
        device_id: "dev",
        channel: "sms",
        kind: "low_battery",
        to_number: "+14155550123",
        body: "b",
        status,
        attempts: 1,
        next_attempt_at: ago(daysAgo),
        claimed_until: null,
        claimed_by: null,
        provider_id: null,
        error: status === "dead" ? "permanent:21211" : null,
        event_id: null,
        created_at: ago(daysAgo),
        sent_at: status === "sent" ? ago(daysAgo) : null,
        updated_at: ago(daysAgo),
      })
      .execute();
  }
  async function event(id: string, daysAgo: number) {
    await store.db.insertInto("events").values({ device_id: "dev", event_id: id, kind: "battery", observed_at: ago(daysAgo), answer: "{}", created_at: ago(daysAgo) }).execute();
  }
  async function summary(date: string, kindOf: string, status: string, daysAgo: number, deliveryId: string | null = null) {
    await store.db
      .insertInto("summaries")
      .values({ device_id: "dev", date, kind: kindOf, data: '{"steps":12345}', status, due_at: ago(daysAgo), delivery_id: deliveryId, created_at: ago(daysAgo) })
      .execute();
  }
  const ids = async (t: "deliveries" | "outbox_messages" | "x_outbox_posts") => (await store.db.selectFrom(t).select("id").orderBy("id").execute()).map((r) => r.id);

  it("when records are older than RETENTION_DAYS, then they go and recent or unfinished ones stay", async () => {
    await delivery("old-sent", "sent", 31);
    await delivery("old-dead", "dead", 40);
    await delivery("old-delivered", "delivered", 45);
    await delivery("old-queued", "queued", 60); // never sent: not the pruner's to drop
    await delivery("old-sending", "sending", 60);
    await delivery("new-sent", "sent", 29);
    await delivery("new-dead", "dead", 1);
    await delivery("old-cancelled", "cancelled", 35); // cancelled (a newer alert, SMS off ...): finished like sent
    await delivery("new-cancelled", "cancelled", 2);
    await event("ev-old", 31);
    await event("ev-new", 29);
    const msg = (id: string, daysAgo: number) => ({ id, ref: `ref-${id}`, to_number: "+14155550123", body: "b", created_at: ago(daysAgo) });
    await store.db.insertInto("outbox_messages").values([msg("ob-old", 31), msg("ob-new", 2)]).execute();
    await store.db.insertInto("x_outbox_posts").values([{ id: "xp-old", device_id: null, text: "t", created_at: ago(31) }, { id: "xp-new", device_id: null, text: "t", created_at: ago(0.5) }]).execute();
    const code = (device_id: string, expiresDaysAgo: number) => ({ device_id, number: "+14155550123", code_hash: "h", expires_at: ago(expiresDaysAgo), attempts: 0, created_at: ago(expiresDaysAgo + 0.01) });
    await store.db.insertInto("codes").values([code("code-long-expired", 2), code("code-just-expired", 0.1), code("code-live", -0.01)]).execute();
    const flow = (flow_hash: string, expiresDaysAgo: number) => ({ flow_hash, device_id: "dev", state_hash: null, verifier: null, expires_at: ago(expiresDaysAgo), used_at: null, created_at: ago(expiresDaysAgo) });
    await store.db.insertInto("x_link_flows").values([flow("flow-old", 3), flow("flow-live", -0.01)]).execute();
    await store.db.insertInto("google_link_flows").values([{ ...flow("g-old", 2), return_to: null }, { ...flow("g-live", -0.01), return_to: "/" }]).execute();
    await store.db.insertInto("rate_events").values([{ key: "register:1.2.3.4", at: ago(3) }, { key: "code:d:dev", at: ago(0.9) }, { key: "register:1.2.3.4", at: ago(0.01) }]).execute();
    await store.db
      .insertInto("counters")
      .values([
        { name: `sms_budget:${dayAgo(0)}`, count: 5 },
        { name: `sms_budget:${dayAgo(29)}`, count: 6 },
        { name: `sms_budget:${dayAgo(31)}`, count: 7 },
        { name: `x_budget:${dayAgo(40)}`, count: 1 },
        { name: `sms_number:abc:${dayAgo(0)}`, count: 1 },
        { name: `sms_number:abc:${dayAgo(1)}`, count: 1 },
        { name: `sms_number:abc:${dayAgo(2)}`, count: 1 },
        { name: `x_account:dev:${dayAgo(3)}`, count: 1 },
        { name: "not_a_daily_counter", count: 1 },
      ])
      .execute();

    const pruned = await pruneRetained({ store, clock, retentionDays: 30 });

    expect(await ids("deliveries")).toEqual(["new-cancelled", "new-dead", "new-sent", "old-queued", "old-sending"]);
    expect((await store.db.selectFrom("events").select("event_id").execute()).map((r) => r.event_id)).toEqual(["ev-new"]);
    expect(await ids("outbox_messages")).toEqual(["ob-new"]);
    expect(await ids("x_outbox_posts")).toEqual(["xp-new"]);
    expect((await store.db.selectFrom("codes").select("device_id").orderBy("device_id").execute()).map((r) => r.device_id)).toEqual(["code-just-expired", "code-live"]);
    expect((await store.db.selectFrom("x_link_flows").select("flow_hash").execute()).map((r) => r.flow_hash)).toEqual(["flow-live"]);
    expect((await store.db.selectFrom("google_link_flows").select("flow_hash").execute()).map((r) => r.flow_hash)).toEqual(["g-live"]);
    expect((await store.db.selectFrom("rate_events").select("at").orderBy("at").execute()).map((r) => r.at)).toEqual([ago(0.9), ago(0.01)]);
    expect((await store.db.selectFrom("counters").select("name").execute()).map((r) => r.name).sort()).toEqual([
      "not_a_daily_counter",
      `sms_budget:${dayAgo(29)}`,
      `sms_budget:${dayAgo(0)}`,
      `sms_number:abc:${dayAgo(1)}`,
      `sms_number:abc:${dayAgo(0)}`,
    ]);
    expect(pruned).toMatchObject({ deliveries: 4, events: 1, outboxMessages: 1, xOutboxPosts: 1, codes: 1, linkFlows: 2, rateEvents: 1, counters: 4 });

    // a second run finds nothing more
    const again = await pruneRetained({ store, clock, retentionDays: 30 });
    expect(Object.values(again).every((n) => n === 0)).toBe(true);
  });

  it("when RETENTION_DAYS is shorter than a client's retry window, then events are still kept 14 days", async () => {
    await event("ev-5d", 5);
    await event("ev-13d", 13);
    await event("ev-15d", 15);
    await delivery("sent-2d", "sent", 2);
    await pruneRetained({ store, clock, retentionDays: 1 });
    expect((await store.db.selectFrom("events").select("event_id").orderBy("event_id").execute()).map((r) => r.event_id)).toEqual(["ev-13d", "ev-5d"]);
    expect(await ids("deliveries")).toEqual([]); // deliveries follow RETENTION_DAYS itself
  });

  it("when summaries age, then unposted days go, posted days keep their tombstone without figures, and only far beyond any retry are dropped", async () => {
    await delivery("dl-posted", "sent", 40);
    await delivery("dl-stuck", "queued", 35); // a post still on its way keeps its figures
    await summary("2026-10-10", "activity", "queued", 41, "dl-posted");
    await summary("2026-10-14", "activity", "queued", 36, "dl-stuck");
    await summary("2026-10-10", "sleep", "not_linked", 41);
    await summary("2026-10-12", "activity", "off", 39);
    await summary("2026-11-18", "activity", "not_linked", 1);
    await summary("2026-11-18", "sleep", "queued", 1, null);
    await summary("2025-10-01", "activity", "queued", TOMBSTONE_DAYS + 15);

    const pruned = await pruneRetained({ store, clock, retentionDays: 30 });

    const rows = await store.db.selectFrom("summaries").select(["date", "kind", "status", "data"]).orderBy("date").orderBy("kind").execute();
    expect(rows).toEqual([
      { date: "2026-10-10", kind: "activity", status: "queued", data: "{}" },
      { date: "2026-10-14", kind: "activity", status: "queued", data: '{"steps":12345}' },
      { date: "2026-11-18", kind: "activity", status: "not_linked", data: '{"steps":12345}' },
      { date: "2026-11-18", kind: "sleep", status: "queued", data: '{"steps":12345}' },
    ]);
    expect(pruned).toMatchObject({ summaries: 3, summaryFigures: 1 });
  });

  it("when a large backlog is old, then it goes in batches of the given size, and a run stops after its last batch", async () => {
    const old = Array.from({ length: 25 }, (_, i) => ({ device_id: "dev", event_id: `bulk-${String(i).padStart(2, "0")}`, kind: "battery", observed_at: ago(60), answer: "{}", created_at: ago(60 + i / 100) }));
    await store.db.insertInto("events").values(old).execute();
    await event("keep", 1);
    const first = await pruneRetained({ store, clock, retentionDays: 30, batchSize: 4, maxBatches: 3 });
    expect(first.events).toBe(12);
    const second = await pruneRetained({ store, clock, retentionDays: 30, batchSize: 4 });
    expect(second.events).toBe(13);
    expect((await store.db.selectFrom("events").select("event_id").execute()).map((r) => r.event_id)).toEqual(["keep"]);
  });
});
