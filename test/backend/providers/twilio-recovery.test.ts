// A relay whose earlier attempt at an SMS was cut off (its process died after Twilio accepted the
// message and before the row said so) asks Twilio before sending again: what reached Twilio is
// recorded with Twilio's sid, what did not is sent once. On SQLite and PostgreSQL.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createDeliveryWorker } from "../../../backend/src/domain/delivery-worker.ts";
import { createLogger } from "../../../backend/src/http/logger.ts";
import { createTwilioSms } from "../../../backend/src/providers/twilio.ts";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../../helpers/db.ts";
import { FAKE_FROM, startFakeTwilio, type FakeTwilio } from "../../helpers/fake-twilio.ts";
import { battery, call, startRelay, verifiedWearer, type TestRelay } from "../../helpers/relay.ts";

describe.each(DB_KINDS)("recovering cut-off SMS attempts on %s", (kind) => {
  let db: TestDatabase;
  let fake: FakeTwilio;
  let relay: TestRelay;

  beforeAll(async () => {
    db = await createTestDatabase(kind);
    fake = await startFakeTwilio();
    const sms = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: FAKE_FROM, baseUrl: fake.url, timeoutMs: 2_000 });
    relay = await startRelay({ databaseUrl: db.url, sms, runWorker: false, sentMessages: () => fake.messages });
  });
  afterEach(() => {
    expect(fake.specViolations).toEqual([]);
  });
  afterAll(async () => {
    await relay?.stop();
    await fake?.close();
    await db?.drop();
  });

  let n = 0;
  /** A wearer whose low-battery alert is queued; returns its delivery row. */
  async function queuedAlert() {
    const number = `+1415555${2100 + n++}`;
    const { token, deviceId } = await verifiedWearer(relay, number);
    const r = await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 9) });
    expect(r.body.action).toBe("sms");
    const d = await relay.store.db.selectFrom("deliveries").selectAll().where("device_id", "=", deviceId).where("kind", "!=", "verification").executeTakeFirstOrThrow();
    return { number, d };
  }

  /** What a process that claimed the delivery and then died leaves behind: "sending", its lease run out. */
  async function diedWhileSending(id: string) {
    const expired = new Date(relay.clock.now().getTime() - 1_000).toISOString();
    await relay.store.db.updateTable("deliveries").set({ status: "sending", claimed_by: "w_dead", claimed_until: expired, attempts: 1 }).where("id", "=", id).execute();
  }

  const row = (id: string) => relay.store.db.selectFrom("deliveries").selectAll().where("id", "=", id).executeTakeFirstOrThrow();
  const to = (number: string) => fake.messages.filter((m) => m.to === number && !/\b\d{6}\b/.test(m.body ?? ""));

  it("when the dead attempt's message reached Twilio, then the next worker records Twilio's sid and sends nothing", async () => {
    const { number, d } = await queuedAlert();
    // the dead process's call got through: Twilio holds the message
    const sms = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: FAKE_FROM, baseUrl: fake.url });
    const earlier = await sms.send({ to: number, body: d.body, ref: d.id });
    await diedWhileSending(d.id);
    await relay.running.worker.drain();
    expect(to(number)).toHaveLength(1);
    expect(await row(d.id)).toMatchObject({ status: "sent", provider_id: earlier.providerId, attempts: 2 });
  });

  it("when the dead attempt never reached Twilio, then the next worker sends the SMS once", async () => {
    const { number, d } = await queuedAlert();
    await diedWhileSending(d.id);
    await relay.running.worker.drain();
    const got = to(number);
    expect(got).toHaveLength(1);
    expect(got[0]!.body).toBe(d.body);
    expect(await row(d.id)).toMatchObject({ status: "sent", provider_id: got[0]!.sid });
  });

  it("when the same text already went to the number for another delivery, then that message is not taken for this one", async () => {
    const { number, d } = await queuedAlert();
    // another delivery, already recorded, carried the very same text
    await relay.store.db
      .insertInto("deliveries")
      .values({ ...d, id: `${d.id}x`, event_id: null, status: "sent", attempts: 1, provider_id: "pending" })
      .execute();
    const sms = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: FAKE_FROM, baseUrl: fake.url });
    const other = await sms.send({ to: number, body: d.body, ref: `${d.id}x` });
    await relay.store.db.updateTable("deliveries").set({ provider_id: other.providerId }).where("id", "=", `${d.id}x`).execute();
    await diedWhileSending(d.id);
    await relay.running.worker.drain();
    const got = to(number);
    expect(got).toHaveLength(2);
    expect((await row(d.id)).provider_id).toBe(got[1]!.sid);
  });

  it("when Twilio clearly refused the first attempt (503), then the retry sends without asking Twilio first", async () => {
    const { number, d } = await queuedAlert();
    fake.failNext(1, { status: 503 });
    await relay.running.worker.drain();
    expect(await row(d.id)).toMatchObject({ status: "queued", attempts: 1, uncertain: 0 });
    const before = fake.requests;
    relay.clock.advance(60_000);
    await relay.running.worker.drain();
    expect(to(number)).toHaveLength(1);
    expect(fake.requests - before).toBe(1); // the create alone: no lookup
    expect((await row(d.id)).status).toBe("sent");
  });

  it("when the first send got no answer in time but Twilio carried it out late, then the retry waits for it, finds it and sends nothing", async () => {
    const { number, d } = await queuedAlert();
    // Twilio holds the create past the client's 2 s timeout, then creates the message anyway
    fake.failNext(1, { timeoutMs: 2_600, processAfterHangUp: true });
    await relay.running.worker.drain();
    const after = await row(d.id);
    expect(after).toMatchObject({ status: "queued", attempts: 1, uncertain: 1 });
    // the retry is not due before two send timeouts (SEND_TIMEOUT_MS) have passed
    const sendTimeoutMs = relay.config.delivery.sendTimeoutMs;
    expect(Date.parse(after.next_attempt_at) - relay.clock.now().getTime()).toBeGreaterThanOrEqual(2 * sendTimeoutMs);
    await fake.waitForMessages(fake.messages.length + 1, 5_000); // the late create lands
    relay.clock.advance(2 * sendTimeoutMs + 1_000);
    await relay.running.worker.drain();
    const got = to(number);
    expect(got).toHaveLength(1);
    expect(await row(d.id)).toMatchObject({ status: "sent", provider_id: got[0]!.sid, attempts: 2 });
  });

  it("when two alike alerts (same number, same text) are recovered at once and Twilio holds one of them, then one takes it and the other is sent: two texts for two alerts", async () => {
    const { number, d } = await queuedAlert();
    // a second delivery with the very same text to the same number, also cut off mid-send
    await relay.store.db.insertInto("deliveries").values({ ...d, id: `${d.id}y`, event_id: null, status: "queued", attempts: 0 }).execute();
    const sms = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: FAKE_FROM, baseUrl: fake.url });
    await sms.send({ to: number, body: d.body, ref: d.id }); // one of the two got through before the crash
    await diedWhileSending(d.id);
    await diedWhileSending(`${d.id}y`);
    await relay.running.worker.drain();
    const got = to(number);
    expect(got).toHaveLength(2);
    const rows = await relay.store.db.selectFrom("deliveries").select(["status", "provider_id"]).where("id", "in", [d.id, `${d.id}y`]).execute();
    expect(rows.map((r) => r.status)).toEqual(["sent", "sent"]);
    expect(new Set(rows.map((r) => r.provider_id))).toEqual(new Set(got.map((m) => m.sid)));
  });

  it("when a recovering worker takes the message of an alike alert whose answer is still on its way, then the alert that sent it keeps it and the other is sent: two texts, two sids", async () => {
    const { number, d } = await queuedAlert();
    // the first alert's earlier attempt died before reaching Twilio; it waits for its lease to run out
    await relay.store.db.updateTable("deliveries").set({ status: "sending", claimed_by: "w_dead", claimed_until: new Date(relay.clock.now().getTime() + 60_000).toISOString(), attempts: 1 }).where("id", "=", d.id).execute();
    // a second alert with the same text is sent now; Twilio creates it at once but answers late
    const second = `${d.id}z`;
    await relay.store.db.insertInto("deliveries").values({ ...d, id: second, event_id: null, status: "queued", attempts: 0 }).execute();
    fake.failNext(1, { answerAfterMs: 800 });
    const before = fake.messages.length;
    const firstDrain = relay.running.worker.drain();
    await fake.waitForMessages(before + 1, 5_000);
    // meanwhile another process finds the first alert's lease over and looks Twilio up: the only
    // alike message it sees is the second alert's, not yet recorded
    await relay.store.db.updateTable("deliveries").set({ claimed_until: new Date(relay.clock.now().getTime() - 1_000).toISOString() }).where("id", "=", d.id).execute();
    const sms = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: FAKE_FROM, baseUrl: fake.url, timeoutMs: 2_000 });
    const other = createDeliveryWorker({ store: relay.store, sms, clock: relay.clock, log: createLogger("silent"), pollMs: 60_000, leaseMs: 30_000, maxAttempts: 8, concurrency: 4, sendTimeoutMs: 2_000 });
    await other.drain();
    await firstDrain;
    // whatever was taken by mistake is looked at again, and sent
    relay.clock.advance(60_000);
    await relay.running.worker.drain();
    const got = to(number);
    expect(got).toHaveLength(2);
    const rows = await relay.store.db.selectFrom("deliveries").select(["id", "status", "provider_id"]).where("id", "in", [d.id, second]).execute();
    expect(rows.map((r) => r.status)).toEqual(["sent", "sent"]);
    expect(new Set(rows.map((r) => r.provider_id))).toEqual(new Set(got.map((m) => m.sid)));
  });

  it("when Twilio cannot answer the lookup, then nothing is sent blind and the delivery waits for a retry", async () => {
    const { number, d } = await queuedAlert();
    await diedWhileSending(d.id);
    fake.failNext(1, { status: 503 });
    await relay.running.worker.drain();
    expect(to(number)).toHaveLength(0);
    expect(await row(d.id)).toMatchObject({ status: "queued", attempts: 2 });
    expect((await row(d.id)).error).toMatch(/^transient/);
    // the retry asks again, finds nothing, and sends once
    relay.clock.advance(60_000);
    await relay.running.worker.drain();
    expect(to(number)).toHaveLength(1);
    expect((await row(d.id)).status).toBe("sent");
  });
});
