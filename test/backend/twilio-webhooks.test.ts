// The Twilio path end to end: the relay sends through the official package to a fake Twilio on
// loopback, and Twilio's signed webhooks (STOP/START/HELP, receipts) reach the relay.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTwilioSms } from "../../backend/src/providers/twilio.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { startFakeTwilio, type FakeTwilio } from "../helpers/fake-twilio.ts";
import { battery, call, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

let db: TestDatabase;
let fake: FakeTwilio;
let relay: TestRelay;

beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  fake = await startFakeTwilio();
  const env = {
    SMS_PROVIDER: "twilio",
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_FROM: "+15005550006",
    TWILIO_API_URL: fake.url,
  };
  const sms = createTwilioSms({ accountSid: fake.accountSid, authToken: fake.authToken, from: "+15005550006", baseUrl: fake.url });
  relay = await startRelay({ databaseUrl: db.url, sms, env, sentMessages: () => fake.messages });
});
afterAll(async () => {
  await relay?.stop();
  await fake?.close();
  await db?.drop();
});


describe("twilio", () => {
  it("when a verified wearer's battery runs low, then Twilio receives one SMS with a status callback and no spec violation", async () => {
    const number = "+14155550111";
    const { token } = await verifiedWearer(relay, number);
    const a = await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 9, { timeLeftMinutes: 40 }) });
    expect(a.body.action).toBe("sms");
    await relay.running.worker.drain();
    const msgs = fake.messages.filter((m) => m.to === number && m.body?.includes("9%"));
    expect(msgs).toHaveLength(1);
    expect(msgs[0].body).toBe("WristRelay: your Fitbit battery is at 9% (about 40 min left). Charge it soon.");
    expect(msgs[0].statusCallback).toBe(relay.url + "/webhooks/twilio/status");
    expect(fake.specViolations).toEqual([]);
    const list = await call(relay.url, "GET", "/v1/deliveries?limit=1", { token });
    expect(list.body[0].status).toBe("sent");
  });

  it("when Twilio posts a signed receipt, then the delivery shows its final status", async () => {
    const number = "+14155550112";
    const { token } = await verifiedWearer(relay, number);
    await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 9) });
    await relay.running.worker.drain();
    const row = await relay.store.db.selectFrom("deliveries").select("provider_id").where("to_number", "=", number).where("kind", "=", "low_battery").executeTakeFirstOrThrow();
    const ans = await fake.sendStatusCallback(row.provider_id!, "undelivered", relay.url + "/webhooks/twilio/status", { errorCode: 30003 });
    expect(ans.status).toBeLessThan(300);
    const list = await call(relay.url, "GET", "/v1/deliveries?limit=1", { token });
    expect(list.body[0]).toMatchObject({ status: "undelivered", error: "twilio:30003" });
  });

  it("when STOP arrives signed, then the number is opted out at once, queued SMS are dead-lettered and later alerts are refused", async () => {
    const number = "+14155550113";
    const { token } = await verifiedWearer(relay, number);
    await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { quietHours: { start: "00:00", end: "23:59" } } } });
    expect((await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) })).body.reason).toBe("quiet_hours");
    const stop = await fake.sendInbound(relay.url, relay.url, number, "Stop");
    expect(stop.status).toBe(200);
    expect(stop.body).toContain("<Response/>");
    const me = await call(relay.url, "GET", "/v1/me", { token });
    expect(me.body.phone.optedOut).toBe(true);
    const list = await call(relay.url, "GET", "/v1/deliveries?limit=1", { token });
    expect(list.body[0]).toMatchObject({ kind: "low_battery", status: "dead", error: "opted_out" });
    relay.clock.advance(60_000);
    expect((await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 5) })).body.reason).toBe("opted_out");

    const start = await fake.sendInbound(relay.url, relay.url, number, "START");
    expect(start.status).toBe(200);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.phone.optedOut).toBe(false);
  });

  it("when HELP arrives, then the answer is a short TwiML help text", async () => {
    const help = await fake.sendInbound(relay.url, relay.url, "+14155550114", "help");
    expect(help.status).toBe(200);
    expect(help.body).toMatch(/<Response><Message>WristRelay: .*STOP.*<\/Message><\/Response>/);
  });

  it("when a webhook is unsigned or wrongly signed, then it gets 403 and changes nothing", async () => {
    const number = "+14155550115";
    const { token } = await verifiedWearer(relay, number);
    expect((await fake.sendInbound(relay.url, relay.url, number, "STOP", { signed: false })).status).toBe(403);
    expect((await fake.sendInbound(relay.url, relay.url, number, "STOP", { signed: "wrong" })).status).toBe(403);
    expect((await fake.sendStatusCallback("SM123", "failed", relay.url + "/webhooks/twilio/status", { signed: false })).status).toBe(403);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.phone.optedOut).toBe(false);
  });
});
