// The alert policy as the wearer sees it: which battery reports turn into an SMS.
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { battery, call, createTestClock, register, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

let db: TestDatabase;
let relay: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase("sqlite");
});
afterAll(async () => {
  await db.drop();
});

async function fresh(env: Record<string, string> = {}) {
  relay = await startRelay({ databaseUrl: db.url, clock: createTestClock("2026-11-20T17:00:00.000Z"), env });
}
afterEach(async () => {
  await relay?.stop();
});

const post = (token: string, body: object) => call(relay.url, "POST", "/v1/battery", { token, json: body });
const sent = async (number: string) => {
  await relay.running.worker.drain();
  return (await relay.outbox!.list()).filter((m) => m.to === number && !/\d{6}/.test(m.body));
};
let n = 10;
const nextNumber = () => `+1415555${String(2600 + n++).padStart(4, "0")}`;

describe("battery alerts", () => {
  beforeEach(async () => {
    await fresh();
  });

  it("when the level crosses a threshold, then one SMS goes out and the same threshold stays quiet until re-armed", async () => {
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    const a = await post(token, battery(relay.clock, 19, { timeLeftMinutes: 180 }));
    expect(a.status).toBe(202);
    expect(a.body).toMatchObject({ action: "sms" });
    relay.clock.advance(60_000);
    const b = await post(token, battery(relay.clock, 18));
    expect(b.body).toMatchObject({ action: "none", reason: "already_alerted" });
    const msgs = await sent(number);
    expect(msgs).toHaveLength(1);
    expect(msgs[0].body).toBe("WristRelay: your Fitbit battery is at 19% (about 3 h left). Charge it soon.");
  });

  it("when the next threshold is crossed in the same cycle, then it gets its own SMS", async () => {
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    expect((await post(token, battery(relay.clock, 20))).body.action).toBe("sms");
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 10))).body.action).toBe("sms");
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 9))).body.reason).toBe("already_alerted");
    expect(await sent(number)).toHaveLength(2);
  });

  it("when the watch charges, then the thresholds are re-armed", async () => {
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    expect((await post(token, battery(relay.clock, 19))).body.action).toBe("sms");
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 19, { charging: true }))).body).toMatchObject({ action: "none", reason: "charging" });
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 19))).body.action).toBe("sms");
  });

  it("when the level rises above the highest threshold plus the margin, then the thresholds are re-armed; just above is not enough", async () => {
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    expect((await post(token, battery(relay.clock, 19))).body.action).toBe("sms");
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 24))).body.reason).toBe("above_threshold");
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 19))).body.reason).toBe("already_alerted");
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 26))).body.reason).toBe("above_threshold");
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 19))).body.action).toBe("sms");
  });

  it("when the same eventId is posted again, then the first answer comes back and nothing new is sent", async () => {
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    const ev = battery(relay.clock, 15);
    const first = await post(token, ev);
    const again = await post(token, ev);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(await sent(number)).toHaveLength(1);
  });

  it("when an older report arrives after a newer one, then it triggers nothing", async () => {
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    const older = battery(relay.clock, 9);
    relay.clock.advance(5 * 60_000);
    expect((await post(token, battery(relay.clock, 30, { charging: true }))).body.reason).toBe("charging");
    expect((await post(token, older)).body).toMatchObject({ action: "none", reason: "out_of_order" });
    expect(await sent(number)).toHaveLength(0);
  });

  it("when the wearer has no phone, an unverified one, or SMS turned off, then the answer says why and nothing is sent", async () => {
    const { token: none } = await register(relay.url);
    expect((await post(none, battery(relay.clock, 9))).body).toMatchObject({ action: "none", reason: "no_phone" });

    const number = nextNumber();
    const { token: unverified } = await register(relay.url);
    await call(relay.url, "PUT", "/v1/me/phone", { token: unverified, json: { number } });
    expect((await post(unverified, battery(relay.clock, 9))).body).toMatchObject({ action: "none", reason: "unverified_phone" });
    expect(await sent(number)).toHaveLength(0);

    const n2 = nextNumber();
    const { token: off } = await verifiedWearer(relay, n2);
    await call(relay.url, "PATCH", "/v1/me", { token: off, json: { preferences: { sms: false } } });
    expect((await post(off, battery(relay.clock, 9))).body).toMatchObject({ action: "none", reason: "sms_disabled" });
    expect(await sent(n2)).toHaveLength(0);
  });

  it("when quiet hours are on, then a non-critical alert is delayed to their end and a critical one goes now, cancelling the held one", async () => {
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { quietHours: { start: "22:00", end: "07:00" } } } });
    relay.clock.set("2026-11-21T04:30:00.000Z"); // 23:30 in New York
    const delayed = await post(token, battery(relay.clock, 19));
    expect(delayed.body).toMatchObject({ action: "sms", reason: "quiet_hours" });
    expect(await sent(number)).toHaveLength(0);
    const critical = await post(token, battery(relay.clock, 10));
    expect(critical.body).toMatchObject({ action: "sms" });
    expect(critical.body.reason).toBeUndefined();
    expect((await sent(number)).map((m) => m.body)).toEqual(["WristRelay: your Fitbit battery is at 10%. Charge it soon."]);
    relay.clock.set("2026-11-21T11:59:00.000Z"); // 06:59
    expect(await sent(number)).toHaveLength(1);
    relay.clock.set("2026-11-21T12:00:00.000Z"); // 07:00: the held 19 % would be stale after the 10 %
    expect(await sent(number)).toHaveLength(1);
    const list = await call(relay.url, "GET", "/v1/deliveries", { token });
    expect(list.body.filter((d: { kind: string }) => d.kind === "low_battery").map((d: { status: string; error?: string }) => [d.status, d.error ?? null]).sort()).toEqual([
      ["cancelled", "superseded_by_newer_alert"],
      ["sent", null],
    ]);
  });

  it("when a number has had its daily SMS, then further alerts are capped", async () => {
    await relay.stop();
    await fresh({ SMS_PER_NUMBER_DAILY: "2" });
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number);
    expect((await post(token, battery(relay.clock, 20))).body.action).toBe("sms");
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 10))).body.action).toBe("sms");
    relay.clock.advance(60_000);
    await post(token, battery(relay.clock, 50, { charging: true }));
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 19))).body).toMatchObject({ action: "none", reason: "capped" });
    expect(await sent(number)).toHaveLength(2);
    relay.clock.advance(24 * 3_600_000);
    await post(token, battery(relay.clock, 50, { charging: true }));
    relay.clock.advance(60_000);
    expect((await post(token, battery(relay.clock, 19))).body.action).toBe("sms");
  });

  it("when the global daily budget is spent, then nothing more is sent that day and the metric says 0", async () => {
    await relay.stop();
    await fresh({ SMS_DAILY_BUDGET: "3" });
    relay.clock.set("2026-12-01T17:00:00.000Z"); // a day of its own: the budget is per UTC day
    const a = nextNumber();
    const b = nextNumber();
    const { token: ta } = await verifiedWearer(relay, a); // 1 code
    const { token: tb } = await verifiedWearer(relay, b); // 2 codes
    expect((await post(ta, battery(relay.clock, 19))).body.action).toBe("sms"); // 3
    expect((await post(tb, battery(relay.clock, 19))).body).toMatchObject({ action: "none", reason: "budget_spent" });
    const metrics = await (await fetch(relay.url + "/metrics")).text();
    expect(metrics).toMatch(/^wristrelay_sms_budget_remaining 0$/m);
    const phone = await call(relay.url, "PUT", "/v1/me/phone", { token: tb, json: { number: nextNumber() } });
    expect(phone.status).toBe(503);
    expect(phone.body.code).toBe("sms_unavailable");
    // refused for the budget, not told: the next day, a report still below 20 % sends the alert
    relay.clock.set("2026-12-02T08:00:00.000Z");
    expect((await post(tb, battery(relay.clock, 17))).body.action).toBe("sms");
    relay.clock.advance(60_000);
    expect((await post(tb, battery(relay.clock, 16))).body).toMatchObject({ action: "none", reason: "already_alerted" });
  });

  it("when the wearer speaks Japanese, then the SMS is in Japanese", async () => {
    const number = nextNumber();
    const { token } = await verifiedWearer(relay, number, { language: "ja-JP" });
    await post(token, battery(relay.clock, 9, { timeLeftMinutes: 170 }));
    const msgs = await sent(number);
    expect(msgs.map((m) => m.body)).toEqual(["WristRelay: Fitbitの電池残量が9%です(残り約3時間)。充電してください。"]);
  });
});
