// Durable delivery on SQLite and PostgreSQL: retries, dead letters, crash windows, competing workers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryWorker } from "../../backend/src/domain/delivery-worker.ts";
import { createLogger } from "../../backend/src/http/logger.ts";
import { openStore } from "../../backend/src/store/open-store.ts";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { battery, call, createTestClock, startRelay, verifiedWearer } from "../helpers/relay.ts";
import { createRecordingSms, optedOut, permanent, rateLimited, transient } from "../helpers/relay-sms.ts";

describe.each(DB_KINDS)("delivery on %s", (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await db?.drop();
  });
  let seq = 0;
  const nextNumber = () => `+1415555${String(3100 + seq++).padStart(4, "0")}`;
  const alerts = (calls: { to: string; body: string }[], to: string) => calls.filter((c) => c.to === to && !/\d{6}/.test(c.body));

  it("when the provider fails twice with a transient error, then the SMS is retried with backoff and sent once", async () => {
    const sms = createRecordingSms();
    const relay = await startRelay({ databaseUrl: db.url, sms });
    try {
      const number = nextNumber();
      const { token } = await verifiedWearer(relay, number);
      sms.failNext(transient(), transient());
      expect((await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) })).body.action).toBe("sms");
      await relay.running.worker.drain();
      expect(alerts(sms.calls, number)).toHaveLength(1);
      let list = await call(relay.url, "GET", "/v1/deliveries", { token });
      expect(list.body[0]).toMatchObject({ kind: "low_battery", status: "queued", channel: "sms" });
      relay.clock.advance(1_000); // first backoff: 0.5-1 s
      await relay.running.worker.drain();
      expect(alerts(sms.calls, number)).toHaveLength(2);
      relay.clock.advance(2_000);
      await relay.running.worker.drain();
      relay.clock.advance(60_000);
      await relay.running.worker.drain();
      expect(alerts(sms.calls, number)).toHaveLength(3);
      list = await call(relay.url, "GET", "/v1/deliveries", { token });
      expect(list.body[0]).toMatchObject({ kind: "low_battery", status: "sent" });
      expect(list.body[0].sentAt).toBeTypeOf("string");
      expect(JSON.stringify(list.body)).not.toContain(number.slice(2));
    } finally {
      await relay.stop();
    }
  });

  it("when the provider answers 429 with a retry-after, then the SMS is not retried before it", async () => {
    const sms = createRecordingSms();
    const relay = await startRelay({ databaseUrl: db.url, sms });
    try {
      const number = nextNumber();
      const { token } = await verifiedWearer(relay, number);
      sms.failNext(rateLimited(30_000));
      await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) });
      await relay.running.worker.drain();
      relay.clock.advance(29_000);
      await relay.running.worker.drain();
      expect(alerts(sms.calls, number)).toHaveLength(1);
      relay.clock.advance(1_001);
      await relay.running.worker.drain();
      expect(alerts(sms.calls, number)).toHaveLength(2);
    } finally {
      await relay.stop();
    }
  });

  it("when the provider answers 429 more times than the attempt limit, then the SMS still goes out once the limit lifts", async () => {
    const sms = createRecordingSms();
    const relay = await startRelay({ databaseUrl: db.url, sms });
    try {
      const number = nextNumber();
      const { token } = await verifiedWearer(relay, number);
      for (let i = 0; i < 12; i++) sms.failNext(rateLimited(5_000));
      await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) });
      for (let i = 0; i < 13; i++) {
        await relay.running.worker.drain();
        relay.clock.advance(5_001);
      }
      await relay.running.worker.drain();
      expect(alerts(sms.calls, number)).toHaveLength(13);
      const list = await call(relay.url, "GET", "/v1/deliveries?limit=1", { token });
      expect(list.body[0]).toMatchObject({ status: "sent" });
    } finally {
      await relay.stop();
    }
  });

  it("when the provider refuses for good, then the delivery is dead-lettered with the reason visible", async () => {
    const sms = createRecordingSms();
    const relay = await startRelay({ databaseUrl: db.url, sms });
    try {
      const { token } = await verifiedWearer(relay, nextNumber());
      sms.failNext(permanent("21614"));
      await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) });
      await relay.running.worker.drain();
      const list = await call(relay.url, "GET", "/v1/deliveries?limit=1", { token });
      expect(list.body).toHaveLength(1);
      expect(list.body[0]).toMatchObject({ status: "dead", error: "permanent:21614" });
    } finally {
      await relay.stop();
    }
  });

  it("when the provider says the number opted out, then the wearer shows as opted out and gets nothing more", async () => {
    const sms = createRecordingSms();
    const relay = await startRelay({ databaseUrl: db.url, sms });
    try {
      const number = nextNumber();
      const { token } = await verifiedWearer(relay, number);
      sms.failNext(optedOut());
      await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) });
      await relay.running.worker.drain();
      const me = await call(relay.url, "GET", "/v1/me", { token });
      expect(me.body.phone).toMatchObject({ verified: true, optedOut: true });
      relay.clock.advance(60_000);
      expect((await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 9) })).body.reason).toBe("opted_out");
    } finally {
      await relay.stop();
    }
  });

  it("when every attempt fails, then the delivery is dead-lettered after the last one", async () => {
    const sms = createRecordingSms();
    const relay = await startRelay({ databaseUrl: db.url, sms, env: { DELIVERY_MAX_ATTEMPTS: "3" } });
    try {
      const number = nextNumber();
      const { token } = await verifiedWearer(relay, number);
      sms.failNext(transient(), transient(), transient(), transient());
      await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) });
      for (let i = 0; i < 5; i++) {
        await relay.running.worker.drain();
        relay.clock.advance(10 * 60_000);
      }
      expect(alerts(sms.calls, number)).toHaveLength(3);
      const list = await call(relay.url, "GET", "/v1/deliveries?limit=1", { token });
      expect(list.body[0].status).toBe("dead");
      expect(list.body[0].error).toMatch(/^max_attempts/);
    } finally {
      await relay.stop();
    }
  });

  it("when the relay stops between recording an alert and sending it, and the same eventId comes again to a new relay, then exactly one SMS goes out", async () => {
    const clock = createTestClock();
    const a = await startRelay({ databaseUrl: db.url, clock, runWorker: false });
    const number = nextNumber();
    const { token } = await verifiedWearer(a, number);
    const ev = battery(clock, 19);
    const first = await call(a.url, "POST", "/v1/battery", { token, json: ev });
    expect(first.body.action).toBe("sms");
    await a.stop(); // "crash": the worker never ran
    const b = await startRelay({ databaseUrl: db.url, clock });
    try {
      const again = await call(b.url, "POST", "/v1/battery", { token, json: ev });
      expect(again.status).toBe(202);
      expect(again.body).toEqual(first.body);
      await b.running.worker.drain();
      const sent = (await b.outbox!.list()).filter((m) => m.to === number && !/\d{6}/.test(m.body));
      expect(sent).toHaveLength(1);
    } finally {
      await b.stop();
    }
  });

  it("when a worker died holding a claim, then the delivery is retried once the lease has expired", async () => {
    const sms = createRecordingSms();
    const relay = await startRelay({ databaseUrl: db.url, sms, runWorker: false, env: { DELIVERY_LEASE_MS: "30000" } });
    try {
      const number = nextNumber();
      const { token } = await verifiedWearer(relay, number);
      await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) });
      // a claim taken by a process that then died
      await relay.store.db
        .updateTable("deliveries")
        .set({ status: "sending", claimed_by: "w_dead", claimed_until: new Date(relay.clock.now().getTime() + 30_000).toISOString(), attempts: 1 })
        .where("kind", "=", "low_battery")
        .where("status", "=", "queued")
        .execute();
      await relay.running.worker.drain();
      expect(alerts(sms.calls, number)).toHaveLength(0);
      relay.clock.advance(30_001);
      await relay.running.worker.drain();
      expect(alerts(sms.calls, number)).toHaveLength(1);
      expect((await call(relay.url, "GET", "/v1/deliveries?limit=1", { token })).body[0].status).toBe("sent");
    } finally {
      await relay.stop();
    }
  });

  it("when queued deliveries and expired claims are both due, then they are claimed oldest first, and neither the not-yet-due nor the held ones", async () => {
    const store = await openStore(db.url);
    const clock = createTestClock("2026-11-20T11:00:00.000Z"); // before the other tests' rows fall due
    const sms = createRecordingSms();
    const at = (ms: number) => new Date(clock.now().getTime() + ms).toISOString();
    const row = (name: string, status: "queued" | "sending", next: number, claimedUntil: number | null) => ({
      id: `dl_order_${kind}_${name}`,
      device_id: null,
      channel: "sms" as const,
      kind: "test",
      to_number: "+14155550101",
      body: `order ${name}`,
      status,
      attempts: status === "sending" ? 1 : 0,
      next_attempt_at: at(next),
      claimed_until: claimedUntil === null ? null : at(claimedUntil),
      claimed_by: status === "sending" ? "w_gone" : null,
      provider_id: null,
      error: null,
      event_id: null,
      created_at: at(-3_600_000),
      sent_at: null,
      updated_at: at(-3_600_000),
    });
    await store.db
      .insertInto("deliveries")
      .values([
        row("d", "queued", -60_000, null),
        row("c", "sending", -180_000, -1_000), // lease ran out
        row("e", "queued", 60_000, null), // not due yet
        row("a", "sending", -600_000, -1_000), // lease ran out
        row("f", "sending", -1_200_000, 30_000), // still held by a live worker
        row("b", "queued", -300_000, null),
      ])
      .execute();
    // concurrency 1: one claim per send, so the order of the sends is the order of the claims
    const worker = createDeliveryWorker({ store, sms, clock, log: createLogger("silent"), pollMs: 1000, leaseMs: 30_000, maxAttempts: 8, concurrency: 1, sendTimeoutMs: 5000 });
    try {
      await worker.drain();
      const refs = sms.calls.map((c) => c.ref).filter((r) => r.startsWith(`dl_order_${kind}_`));
      expect(refs).toEqual(["a", "b", "c", "d"].map((n) => `dl_order_${kind}_${n}`));
    } finally {
      await worker.stop();
      await store.db.deleteFrom("deliveries").where("id", "like", `dl_order_${kind}_%`).execute();
      await store.close();
    }
  });

  it("when two workers share the database, then no delivery is sent twice", async () => {
    const storeA = await openStore(db.url);
    const storeB = await openStore(db.url);
    const clock = createTestClock();
    const sms = createRecordingSms({ delayMs: 5 });
    const log = createLogger("silent");
    const now = clock.now().toISOString();
    const ids = Array.from({ length: 120 }, (_, i) => `dl_race_${kind}_${i}`);
    await storeA.db
      .insertInto("deliveries")
      .values(
        ids.map((id) => ({
          id,
          device_id: null,
          channel: "sms" as const,
          kind: "test",
          to_number: "+14155550100",
          body: "race",
          status: "queued",
          attempts: 0,
          next_attempt_at: now,
          claimed_until: null,
          claimed_by: null,
          provider_id: null,
          error: null,
          event_id: null,
          created_at: now,
          sent_at: null,
          updated_at: now,
        })),
      )
      .execute();
    // Each worker's first send waits (at most 2 s) until the other worker is sending too, so the two
    // really run at the same time instead of one draining the queue before the other wakes.
    const started = [deferred(), deferred()];
    const gated = (self: number) => {
      let first = kind === "postgres"; // SQLite has no row locks: the two may well take turns there
      return {
        ...sms,
        name: "outbox" as const,
        async send(msg: Parameters<typeof sms.send>[0]) {
          started[self].resolve();
          if (first) {
            first = false;
            await Promise.race([started[1 - self].promise, new Promise((r) => setTimeout(r, 2000))]);
          }
          return sms.send(msg);
        },
      };
    };
    const opts = { clock, log, pollMs: 1000, leaseMs: 30_000, maxAttempts: 8, concurrency: 4, sendTimeoutMs: 5000 };
    const w1 = createDeliveryWorker({ ...opts, sms: gated(0), store: storeA });
    const w2 = createDeliveryWorker({ ...opts, sms: gated(1), store: storeB });
    await Promise.all([storeA.ping(), storeB.ping()]); // both pools connected before the race starts
    try {
      const [n1, n2] = await Promise.all([w1.drain(), w2.drain()]);
      const refs = sms.calls.map((c) => c.ref).filter((r) => r.startsWith(`dl_race_${kind}`));
      expect(refs.length).toBe(ids.length);
      expect(new Set(refs).size).toBe(ids.length);
      expect(n1 + n2).toBe(ids.length);
      if (kind === "postgres") expect(Math.min(n1, n2)).toBeGreaterThan(0);
    } finally {
      await w1.stop();
      await w2.stop();
      await storeA.close();
      await storeB.close();
    }
  });

  it("when the wearer is erased, then their token stops working and their deliveries are gone", async () => {
    const relay = await startRelay({ databaseUrl: db.url });
    try {
      const { token, deviceId } = await verifiedWearer(relay, nextNumber());
      await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) });
      expect((await call(relay.url, "DELETE", "/v1/me", { token })).status).toBe(204);
      const me = await call(relay.url, "GET", "/v1/me", { token });
      expect(me.status).toBe(401);
      expect(me.body.code).toBe("unauthorized");
      const left = await relay.store.db.selectFrom("deliveries").select("id").where("device_id", "=", deviceId).execute();
      expect(left).toHaveLength(0);
      const events = await relay.store.db.selectFrom("events").select("event_id").where("device_id", "=", deviceId).execute();
      expect(events).toHaveLength(0);
    } finally {
      await relay.stop();
    }
  });
});

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
