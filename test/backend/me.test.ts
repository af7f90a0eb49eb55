// The wearer's own record: preferences, heartbeat and the silence alert, the deliveries list.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkSilence } from "../../backend/src/domain/silence.ts";
import { createTestDatabase, type TestDatabase } from "../helpers/db.ts";
import { battery, call, register, startRelay, verifiedWearer, type TestRelay } from "../helpers/relay.ts";

let db: TestDatabase;
let relay: TestRelay;
beforeAll(async () => {
  db = await createTestDatabase("sqlite");
  relay = await startRelay({ databaseUrl: db.url });
});
afterAll(async () => {
  await relay?.stop();
  await db?.drop();
});

describe("the wearer's record", () => {
  it("when a device registers, then /v1/me shows the defaults from common/settings", async () => {
    const { token, deviceId } = await register(relay.url, { timezone: "Asia/Tokyo", language: "ja-JP", model: "atlas", appVersion: "1.0.0" });
    const me = await call(relay.url, "GET", "/v1/me", { token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      deviceId,
      timezone: "Asia/Tokyo",
      language: "ja-JP",
      phone: null,
      x: { linked: false },
      google: { linked: false },
      preferences: { lowBattery: [20, 10], quietHours: null, summaryTime: "00:10", postActivity: true, postSleep: true, sms: true, silenceAlertHours: 0 },
      lastSeenAt: null,
    });
  });

  it("when preferences are patched, then only those change and thresholds come back highest first", async () => {
    const { token } = await register(relay.url);
    const r = await call(relay.url, "PATCH", "/v1/me", {
      token,
      json: { timezone: "Europe/London", preferences: { lowBattery: [10, 30, 15], quietHours: { start: "23:00", end: "06:30" }, silenceAlertHours: 6 } },
    });
    expect(r.status).toBe(200);
    expect(r.body.timezone).toBe("Europe/London");
    expect(r.body.preferences).toMatchObject({ lowBattery: [30, 15, 10], quietHours: { start: "23:00", end: "06:30" }, silenceAlertHours: 6, summaryTime: "00:10" });
    const again = await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { quietHours: null } } });
    expect(again.body.preferences.quietHours).toBeNull();
    expect(again.body.preferences.lowBattery).toEqual([30, 15, 10]);
  });

  it("when a heartbeat arrives, then 204 and lastSeenAt is set", async () => {
    const { token } = await register(relay.url);
    const r = await call(relay.url, "POST", "/v1/heartbeat", { token, json: { observedAt: relay.clock.now().toISOString(), level: 55 } });
    expect(r.status).toBe(204);
    expect((await call(relay.url, "GET", "/v1/me", { token })).body.lastSeenAt).toBe(relay.clock.now().toISOString());
  });

  it("when a wearer who asked for it goes silent with a low battery, then ONE SMS says so", async () => {
    const number = "+14155550181";
    const { token } = await verifiedWearer(relay, number);
    await call(relay.url, "PATCH", "/v1/me", { token, json: { preferences: { silenceAlertHours: 3 } } });
    await call(relay.url, "POST", "/v1/heartbeat", { token, json: { observedAt: relay.clock.now().toISOString(), level: 14 } });
    relay.clock.advance(2 * 3_600_000);
    expect(await checkSilence(relay.running.deps)).toBe(0);
    relay.clock.advance(3_600_000 + 1);
    expect(await checkSilence(relay.running.deps)).toBe(1);
    expect(await checkSilence(relay.running.deps)).toBe(0);
    await relay.running.worker.drain();
    const sent = (await relay.outbox!.list()).filter((m) => m.to === number && /no word/.test(m.body));
    expect(sent.map((m) => m.body)).toEqual(["WristRelay: no word from your Fitbit for 3 h; its battery was at 14%. It may have run out."]);
  });

  it("when a wearer goes silent with a good battery or never asked, then no silence SMS", async () => {
    const a = await verifiedWearer(relay, "+14155550182");
    await call(relay.url, "PATCH", "/v1/me", { token: a.token, json: { preferences: { silenceAlertHours: 1 } } });
    await call(relay.url, "POST", "/v1/heartbeat", { token: a.token, json: { observedAt: relay.clock.now().toISOString(), level: 80 } });
    const b = await verifiedWearer(relay, "+14155550183");
    await call(relay.url, "POST", "/v1/heartbeat", { token: b.token, json: { observedAt: relay.clock.now().toISOString(), level: 5 } });
    relay.clock.advance(48 * 3_600_000);
    expect(await checkSilence(relay.running.deps)).toBe(0);
  });

  it("when deliveries are listed, then they come newest first, limited, without number or text", async () => {
    const number = "+14155550184";
    const { token } = await verifiedWearer(relay, number);
    relay.clock.advance(1000);
    await call(relay.url, "POST", "/v1/battery", { token, json: battery(relay.clock, 19) });
    await relay.running.worker.drain();
    const all = await call(relay.url, "GET", "/v1/deliveries", { token });
    expect(all.body.map((d: { kind: string }) => d.kind)).toEqual(["low_battery", "verification"]);
    for (const d of all.body) expect(Object.keys(d).sort()).toEqual(expect.arrayContaining(["channel", "createdAt", "id", "kind", "status"]));
    expect(JSON.stringify(all.body)).not.toMatch(/4155550184|battery is/);
    const one = await call(relay.url, "GET", "/v1/deliveries?limit=1", { token });
    expect(one.body).toHaveLength(1);
  });
});
