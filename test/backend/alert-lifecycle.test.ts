// A low-battery alert's life after it is decided, on SQLite and PostgreSQL: what cancels one held for
// quiet hours (a newer alert, a charger, SMS off, the number removed or changed), how a cancellation
// shows (status "cancelled", never a dead letter), and a threshold that could not be sent staying armed.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestDatabase, DB_KINDS, type TestDatabase } from "../helpers/db.ts";
import { battery, call, createTestClock, lastCode, register, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

const ADMIN = "admin-token-for-alert-lifecycle-tests-0123456789";
/** 00:22 in New York (EST, UTC-5) */
const AT_0022 = "2026-11-21T05:22:00.000Z";
const AT_0030 = "2026-11-21T05:30:00.000Z";
const QUIET = { start: "23:30", end: "00:30" };

interface Delivery {
  kind: string;
  status: string;
  error?: string;
}

describe.each(DB_KINDS)("alert lifecycle on %s", (kind) => {
  let db: TestDatabase;
  let relay: TestRelay;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await db?.drop();
  });
  afterEach(async () => {
    await relay?.stop();
  });
  const fresh = async () => {
    relay = await startRelay({ databaseUrl: db.url, clock: createTestClock(AT_0022), env: { ADMIN_TOKEN: ADMIN } });
  };
  let seq = 0;
  const nextNumber = () => `+1415555${String(kind === "sqlite" ? 4100 + seq++ : 4300 + seq++).padStart(4, "0")}`;
  const post = (token: string, level: number, over: Record<string, unknown> = {}) =>
    call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, level, over) });
  const patch = (token: string, preferences: Record<string, unknown>) => call(relay.url, "PATCH", "/v1/me", { token, json: { preferences } });
  /** the alert texts a number has received, after the worker ran */
  const texts = async (number: string) => {
    await relay.running.worker.drain();
    return (await relay.outbox!.list()).filter((m) => m.to === number && !/\d{6}/.test(m.body)).map((m) => m.body);
  };
  const alerts = async (token: string) =>
    ((await call(relay.url, "GET", "/v1/deliveries", { token })).body as Delivery[]).filter((d) => d.kind === "low_battery");
  const level = (n: number) => `WristRelay: your Fitbit battery is at ${n}%. Charge it soon.`;

  /** a confirmed wearer whose 25 % report was just held for quiet hours (until 00:30) */
  async function heldAt25() {
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    expect((await patch(token, { quietHours: QUIET, lowBattery: [30, 20, 10] })).status).toBe(200);
    expect((await post(token, 25)).body).toMatchObject({ action: "sms", reason: "quiet_hours" });
    expect(await texts(number)).toEqual([]);
    return { number, token };
  }

  it("when quiet hours change and a lower alert goes out, then SMS is turned off, then the held stale alert never goes out", async () => {
    await fresh();
    const { number, token } = await heldAt25();
    await patch(token, { quietHours: { start: "00:30", end: "23:30" } });
    const b = await post(token, 18);
    expect(b.body).toMatchObject({ action: "sms" });
    expect(b.body.reason).toBeUndefined();
    expect(await texts(number)).toEqual([level(18)]);
    await patch(token, { sms: false });
    relay.clock.set(AT_0030);
    expect(await texts(number)).toEqual([level(18)]);
    expect((await alerts(token)).map((d) => [d.status, d.error ?? null]).sort()).toEqual([
      ["cancelled", "superseded_by_newer_alert"],
      ["sent", null],
    ]);
  });

  it("when a newer alert is itself held, then it replaces the held one and only the newer level goes out when quiet hours end", async () => {
    await fresh();
    const { number, token } = await heldAt25();
    relay.clock.advance(60_000);
    expect((await post(token, 18)).body).toMatchObject({ action: "sms", reason: "quiet_hours" });
    relay.clock.set(AT_0030);
    expect(await texts(number)).toEqual([level(18)]);
  });

  it("when SMS is turned off while an alert is held, then it is cancelled (sms_turned_off) and nothing goes out", async () => {
    await fresh();
    const { number, token } = await heldAt25();
    expect((await patch(token, { sms: false })).status).toBe(200);
    expect(await alerts(token)).toMatchObject([{ status: "cancelled", error: "sms_turned_off" }]);
    relay.clock.set(AT_0030);
    expect(await texts(number)).toEqual([]);
  });

  it("when a preference other than SMS changes while an alert is held, then it still goes out when quiet hours end", async () => {
    await fresh();
    const { number, token } = await heldAt25();
    await patch(token, { postActivity: false });
    relay.clock.set(AT_0030);
    expect(await texts(number)).toEqual([level(25)]);
  });

  it("when the number is removed while an alert is held, then it is cancelled (phone_removed) and the old number gets nothing", async () => {
    await fresh();
    const { number, token } = await heldAt25();
    expect((await call(relay.url, "DELETE", "/v1/me/phone", { token })).status).toBe(204);
    expect(await alerts(token)).toMatchObject([{ status: "cancelled", error: "phone_removed" }]);
    relay.clock.set(AT_0030);
    expect(await texts(number)).toEqual([]);
  });

  it("when the number is replaced while an alert is held, then it is cancelled (number_changed) and the new number's code still goes", async () => {
    await fresh();
    const { number, token } = await heldAt25();
    const other = nextNumber();
    expect((await call(relay.url, "PUT", "/v1/me/phone", { token, json: { number: other } })).status).toBe(202);
    expect(await alerts(token)).toMatchObject([{ status: "cancelled", error: "number_changed" }]);
    expect(await lastCode(relay, other)).toMatch(/^\d{6}$/);
    relay.clock.set(AT_0030);
    expect(await texts(number)).toEqual([]);
    expect(await texts(other)).toEqual([]);
  });

  it("when the watch is put on its charger while an alert is held, then it is cancelled, and neither /admin nor the metrics count a dead letter", async () => {
    await fresh();
    const { number, token } = await heldAt25();
    expect((await post(token, 26, { charging: true })).body).toMatchObject({ action: "none", reason: "charging" });
    expect(await alerts(token)).toMatchObject([{ status: "cancelled", error: "superseded_by_charging" }]);
    relay.clock.set(AT_0030);
    expect(await texts(number)).toEqual([]);
    const summary = await call(relay.url, "GET", "/admin/api/summary", { token: ADMIN });
    expect(summary.status).toBe(200);
    expect(summary.body.deadLetters).toEqual({ total: 0, latest: [] });
    expect(summary.body.deliveriesLast24h).toContainEqual(expect.objectContaining({ channel: "sms", status: "cancelled" }));
    const metrics = await (await fetch(relay.url + "/metrics")).text();
    expect(metrics).toMatch(/^wristrelay_dead_letters 0$/m);
  });

  it("when a threshold is crossed before a phone is confirmed, then the first report below it after confirming sends the alert", async () => {
    await fresh();
    const number = nextNumber();
    const { token } = await register(relay.url);
    await patch(token, { quietHours: null });
    expect((await post(token, 15)).body).toMatchObject({ action: "none", reason: "no_phone" });
    relay.clock.advance(60_000);
    await call(relay.url, "PUT", "/v1/me/phone", { token, json: { number } });
    expect((await post(token, 15)).body).toMatchObject({ action: "none", reason: "unverified_phone" });
    const code = await lastCode(relay, number);
    expect((await call(relay.url, "POST", "/v1/me/phone/verify", { token, json: { code } })).status).toBe(200);
    relay.clock.advance(60_000);
    expect((await post(token, 14)).body).toMatchObject({ action: "sms" });
    expect(await texts(number)).toEqual([level(14)]);
    relay.clock.advance(60_000);
    expect((await post(token, 13)).body).toMatchObject({ action: "none", reason: "already_alerted" });
  });

  it("when a threshold is crossed with SMS turned off, then turning SMS on lets the next report below it alert", async () => {
    await fresh();
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    await patch(token, { sms: false, quietHours: null });
    expect((await post(token, 15)).body).toMatchObject({ action: "none", reason: "sms_disabled" });
    await patch(token, { sms: true });
    relay.clock.advance(60_000);
    expect((await post(token, 14)).body).toMatchObject({ action: "sms" });
    expect(await texts(number)).toEqual([level(14)]);
  });

  it("when the number is opted out (STOP), then the threshold stays armed and alerts once it is opted back in", async () => {
    await fresh();
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    await patch(token, { quietHours: null });
    // STOP and START arrive as signed Twilio webhooks (twilio-webhooks.test.ts); their effect is this row
    await relay.store.db.insertInto("optouts").values({ number, opted_out_at: relay.clock.now().toISOString() }).execute();
    expect((await post(token, 15)).body).toMatchObject({ action: "none", reason: "opted_out" });
    await relay.store.db.deleteFrom("optouts").where("number", "=", number).execute();
    relay.clock.advance(60_000);
    expect((await post(token, 14)).body).toMatchObject({ action: "sms" });
    expect(await texts(number)).toEqual([level(14)]);
  });

  it("when an alert is held for quiet hours, then its threshold counts as alerted", async () => {
    await fresh();
    const { number, token } = await heldAt25();
    relay.clock.advance(60_000);
    expect((await post(token, 24)).body).toMatchObject({ action: "none", reason: "already_alerted" });
    relay.clock.set(AT_0030);
    expect(await texts(number)).toEqual([level(25)]);
  });
});
