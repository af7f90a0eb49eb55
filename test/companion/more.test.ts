import { afterEach, describe, expect, it } from "vitest";
import { KEYS } from "../../common/settings";
import { STATE_KEYS } from "../../companion/companion";
import { bat, Harness, startHarness, T0 } from "./harness";

let h: Harness;
afterEach(async () => {
  if (h) await h.close();
});

describe("what the page and the watch see over time", () => {
  it("when the link is open but the face has nothing to say for hours, then the phone's view raises no event", async () => {
    h = await startHarness();
    h.device.batteryLevel = "low";
    for (let i = 0; i < 40; i++) {
      await h.clock.advance(5 * 60000);
      h.me.wake();
      await h.settle();
    }
    expect(h.relay.battery).toHaveLength(0);
  });

  it("when nothing changed, then wake-ups send the watch nothing; when thresholds change, then it gets one settings message", async () => {
    h = await startHarness();
    const before = h.toWatch.length;
    for (let i = 0; i < 5; i++) {
      await h.clock.advance(5 * 60000);
      h.me.wake();
      await h.settle();
    }
    expect(h.toWatch.length).toBe(before);
    h.settings.pageSet(KEYS.thresholds, "[30, 15]");
    await h.settle();
    const sets = h.toWatch.slice(before).filter((m) => m.t === "set");
    expect(sets).toEqual([{ v: 1, t: "set", s: { thr: [30, 15], u: "mi", lang: "en-US", h24: true } }]);
  });

  it("when the wearer replied STOP, then after the next check the page says the number opted out", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.phoneNumber, JSON.stringify({ name: "+14155552671" }));
    h.settings.pageSet(KEYS.phoneCode, JSON.stringify({ name: "123456" }));
    await h.settle();
    h.relay.me.phone = { masked: "+1•••67", verified: true, optedOut: true };
    await h.clock.advance(13 * 3600000);
    h.me.wake();
    await h.settle();
    expect(h.settings.json(KEYS.phoneStatus)).toMatchObject({ state: "opted_out", masked: "+1•••67" });
  });

  it("when the relay later reports the alert's SMS sent or dead, then the watch is told sms_sent with the send time, or sms_failed", async () => {
    h = await startHarness();
    h.watchSends(bat("e1", 18));
    await h.settle();
    expect(h.toWatch.filter((m) => m.t === "res").map((m: any) => m.k)).toEqual(["sms_queued"]);
    const sentAt = new Date(T0 + 5000).toISOString();
    h.relay.deliveries = [{ id: "d1", channel: "sms", kind: "low_battery", status: "sent", createdAt: sentAt, sentAt, eventId: "e1" }];
    await h.clock.advance(31 * 1000);
    await h.settle();
    const sent = h.toWatch.filter((m: any) => m.t === "res" && m.k === "sms_sent");
    expect(sent).toEqual([{ v: 1, t: "res", id: "e1", k: "sms_sent", at: Math.floor((T0 + 5000) / 1000) }]);

    h.watchSends(bat("e2", 9, { thr: 10 } as never));
    await h.settle();
    h.relay.deliveries.unshift({ id: "d2", channel: "sms", kind: "low_battery", status: "dead", createdAt: sentAt, eventId: "e2" });
    await h.clock.advance(31 * 1000);
    await h.settle();
    expect(h.toWatch.filter((m: any) => m.t === "res" && m.id === "e2").map((m: any) => m.k)).toEqual(["sms_queued", "sms_failed"]);
    // each fate is told once: later wake-ups ask nothing more
    const asked = h.relay.callsTo("GET /v1/deliveries").length;
    await h.clock.advance(5 * 60000);
    h.me.wake();
    await h.settle();
    expect(h.relay.callsTo("GET /v1/deliveries").length).toBe(asked);
  });

  it("when the relay cancels a held alert (charger, newer alert, SMS off), then the watch is told nothing about it and the companion stops asking", async () => {
    h = await startHarness();
    h.watchSends(bat("e1", 18));
    await h.settle();
    expect(h.toWatch.filter((m) => m.t === "res").map((m: any) => m.k)).toEqual(["sms_queued"]);
    h.relay.deliveries = [{ id: "d1", channel: "sms", kind: "low_battery", status: "cancelled", createdAt: new Date(T0).toISOString(), eventId: "e1" }];
    await h.clock.advance(31 * 1000);
    await h.settle();
    expect(h.toWatch.filter((m) => m.t === "res").map((m: any) => m.k)).toEqual(["sms_queued"]);
    const asked = h.relay.callsTo("GET /v1/deliveries").length;
    expect(asked).toBeGreaterThan(0);
    await h.clock.advance(5 * 60000);
    h.me.wake();
    await h.settle();
    expect(h.relay.callsTo("GET /v1/deliveries").length).toBe(asked);
  });

  it("when the relay refuses the preview, then the page shows the error and wake-ups do not ask again that day", async () => {
    h = await startHarness();
    h.relay.failNext("GET /v1/summaries/preview", { status: 400, code: "invalid_request" });
    h.settings.pageSet(KEYS.postActivity, "false");
    await h.settle();
    await h.clock.advance(5 * 60000);
    h.me.wake();
    await h.settle();
    const asked = h.relay.callsTo("GET /v1/summaries/preview").length;
    expect(h.settings.json(KEYS.preview)).toMatchObject({ state: "error", code: "invalid_request" });
    for (let i = 0; i < 6; i++) {
      await h.clock.advance(5 * 60000);
      h.me.wake();
      await h.settle();
    }
    expect(h.relay.callsTo("GET /v1/summaries/preview").length).toBe(asked);
  });

  it("when the wearer approved on X, then the page shows the linked @name", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.xLink, String(T0));
    await h.settle();
    h.relay.me.x = { linked: true, username: "runner" };
    await h.clock.advance(20 * 60000);
    h.me.wake();
    await h.settle();
    expect(h.settings.json(KEYS.xStatus)).toMatchObject({ state: "linked", username: "runner" });
  });

  it("when a heartbeat goes out, then its observedAt is the newest battery observation already sent, so a late watch event is not taken as out of order", async () => {
    h = await startHarness({ heartbeatMs: 3600000 });
    h.watchSends(bat("e1", 40, { at: Math.floor(T0 / 1000) + 60 } as never));
    await h.settle();
    h.link.close();
    await h.clock.advance(3 * 3600000);
    h.me.wake();
    await h.settle();
    const hb = h.relay.callsTo("POST /v1/heartbeat");
    expect(hb).toHaveLength(1);
    expect(hb[0].body).toEqual({ observedAt: new Date(T0 + 60000).toISOString() });
  });

  it("when the relay does not know an endpoint (404), then that event is dropped and the next still goes", async () => {
    h = await startHarness();
    h.relay.failNext("POST /v1/summaries", { status: 404, code: "not_found" });
    h.watchSends({ v: 1, t: "sum", id: "s1", d: "2026-11-19", st: 1, dm: 1, cal: 1 });
    h.watchSends(bat("e1", 18));
    await h.settle();
    expect(h.relay.callsTo("POST /v1/summaries")).toHaveLength(1);
    expect(h.relay.battery.map((b) => b.eventId)).toEqual(["e1"]);
    expect(h.relay.summaries).toHaveLength(0);
    expect(h.settings.json(KEYS.diagnostics)).toMatchObject({ queue: 0, dropped: 1 });
  });

  it("when the companion starts, then toggles that default to on show on, and the device token never reaches settingsStorage", async () => {
    h = await startHarness();
    expect(h.settings.getItem(KEYS.sms)).toBe("true");
    expect(h.settings.getItem(KEYS.postActivity)).toBe("true");
    const token = h.storage.getItem(STATE_KEYS.token)!;
    for (let i = 0; i < h.settings.length; i++) expect(h.settings.getItem(h.settings.key(i)!)).not.toContain(token);
  });
});

describe("self-hosting", () => {
  it("when the wearer points the companion at another relay, then it registers there and sends the preferences again", async () => {
    const { startFakeRelay } = await import("./fake-relay");
    h = await startHarness();
    const other = await startFakeRelay();
    try {
      h.settings.pageSet(KEYS.relayUrl, JSON.stringify({ name: other.url + "/" }));
      await h.settle();
      h.watchSends(bat("e1", 18));
      await h.settle();
      expect(other.callsTo("POST /v1/devices")).toHaveLength(1);
      expect(other.callsTo("PATCH /v1/me")).toHaveLength(1);
      expect(other.battery.map((b) => b.eventId)).toEqual(["e1"]);
      expect(h.relay.battery).toHaveLength(0);
    } finally {
      await other.close();
    }
  });
});

describe("relay budget", () => {
  it("when the wearer asked for a code and never typed it, then the companion stops asking the relay every 15 minutes after a while", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.phoneNumber, JSON.stringify({ name: "+14155552671" }));
    await h.settle();
    for (let i = 0; i < 288; i++) {
      await h.clock.advance(5 * 60000);
      h.me.wake();
      await h.settle();
    }
    expect(h.relay.callsTo("GET /v1/me").length).toBeLessThanOrEqual(12);
    expect(h.relay.calls.length).toBeLessThanOrEqual(30);
  });
});
