import { afterEach, describe, expect, it } from "vitest";
import { KEYS } from "../../common/settings";
import { STATE_KEYS, WAKE_INTERVAL_MS } from "../../companion/companion";
import { acksOf, bat, Harness, startHarness, T0 } from "./harness";

let h: Harness;
afterEach(async () => {
  if (h) await h.close();
});

const text = (s: string) => JSON.stringify({ name: s });

describe("registration", () => {
  it("when the companion runs for the first time, then it registers with the phone's time zone and language and keeps the token only in localStorage", async () => {
    h = await startHarness();
    const reg = h.relay.callsTo("POST /v1/devices");
    expect(reg).toHaveLength(1);
    expect(reg[0].body).toMatchObject({ timezone: "America/New_York", language: "en-US" });
    expect(h.storage.getItem(STATE_KEYS.token)).toBe("tok1");
    for (const w of h.settings.companionWrites) expect(String(w.value)).not.toContain("tok1");
    expect(h.me.wakeInterval).toBe(WAKE_INTERVAL_MS);
  });

  it("when the companion restarts, then it does not register again", async () => {
    h = await startHarness();
    await h.restart();
    expect(h.relay.callsTo("POST /v1/devices")).toHaveLength(1);
  });

  it("when the relay answers 401, then the companion registers again, retries the call and asks the wearer to confirm the number again", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.phoneNumber, text("+1 415 555 2671"));
    await h.settle();
    h.relay.revokeTokens();
    h.watchSends(bat("e1", 18));
    await h.settle();
    expect(h.relay.callsTo("POST /v1/devices")).toHaveLength(2);
    expect(h.relay.battery.map((b) => b.eventId)).toEqual(["e1"]);
    expect(h.settings.json(KEYS.phoneStatus).state).toBe("reconfirm");
    expect(h.storage.getItem(STATE_KEYS.token)).toBe("tok2");
    // preferences go to the new identity too
    const patches = h.relay.callsTo("PATCH /v1/me");
    expect(patches[patches.length - 1].auth).toBe("Bearer tok2");
  });
});

describe("settings become relay calls", () => {
  it("when the wearer enters a number and presses Send code, then the relay gets PUT /v1/me/phone and the page shows the code was sent", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.phoneCountry, JSON.stringify({ selected: [0], values: [{ name: "United States", value: "US" }] }));
    h.settings.pageSet(KEYS.phoneNumber, text("(415) 555-2671"));
    await h.settle();
    h.settings.pageSet(KEYS.sendCode, String(T0));
    await h.settle();
    const puts = h.relay.callsTo("PUT /v1/me/phone");
    expect(puts.map((c) => c.body)).toEqual([
      { number: "4155552671", country: "US" },
      { number: "4155552671", country: "US" },
    ]);
    expect(h.settings.json(KEYS.phoneStatus)).toMatchObject({ state: "code_sent", masked: "+1•••••••67" });
  });

  it("when the wearer enters the right code, then the number is confirmed and the code is cleared from the page", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.phoneNumber, text("+14155552671"));
    await h.settle();
    h.settings.pageSet(KEYS.phoneCode, text("123 456"));
    await h.settle();
    expect(h.relay.callsTo("POST /v1/me/phone/verify")[0].body).toEqual({ code: "123456" });
    expect(h.settings.json(KEYS.phoneStatus).state).toBe("confirmed");
    expect(h.settings.getItem(KEYS.phoneCode)).toBeNull();
  });

  it("when the code is wrong, then the page shows an error with the relay's code and the code is not resent by itself", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.phoneNumber, text("+14155552671"));
    h.settings.pageSet(KEYS.phoneCode, text("000000"));
    await h.settle();
    await h.companion.wake();
    await h.settle();
    expect(h.settings.json(KEYS.phoneStatus)).toMatchObject({ state: "error", code: "wrong_code" });
    expect(h.relay.callsTo("POST /v1/me/phone/verify")).toHaveLength(1);
  });

  it("when the code has letters, then the page gets a readable message and the relay is not called", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.phoneCode, text("12ab56"));
    await h.settle();
    expect(h.settings.json(KEYS.settingsError)[KEYS.phoneCode]).toBe("The code has 6 digits.");
    expect(h.relay.callsTo("POST /v1/me/phone/verify")).toHaveLength(0);
  });

  it("when the wearer changes thresholds and quiet hours, then the relay gets one PATCH with those preferences", async () => {
    h = await startHarness();
    const before = h.relay.callsTo("PATCH /v1/me").length;
    h.settings.pageSet(KEYS.thresholds, JSON.stringify({ selected: [2, 6], values: [50, 40, 30, 25, 20, 15, 10, 5].map((n) => ({ name: n + "%", value: n })) }));
    h.settings.pageSet(KEYS.quietEnabled, "true");
    await h.settle();
    const patches = h.relay.callsTo("PATCH /v1/me").slice(before);
    const last = patches[patches.length - 1].body;
    expect(last.preferences).toMatchObject({ lowBattery: [30, 10], quietHours: { start: "22:00", end: "07:00" }, summaryTime: "00:10", sms: true });
    expect(last).toMatchObject({ timezone: "America/New_York", language: "en-US" });
  });

  it("when settings changed while the companion was not running, then the next start sends them once and the watch gets its settings", async () => {
    h = await startHarness();
    h.companion.stop();
    h.settings.pageSetQuietly(KEYS.thresholds, "[25]");
    h.settings.pageSetQuietly(KEYS.language, JSON.stringify({ selected: [1], values: [{ name: "English", value: "en-US" }, { name: "日本語", value: "ja-JP" }] }));
    h.me.launchReasons = { settingsChanged: true };
    const before = h.relay.callsTo("PATCH /v1/me").length;
    await h.restart();
    await h.companion.wake();
    await h.settle();
    const patches = h.relay.callsTo("PATCH /v1/me").slice(before);
    expect(patches).toHaveLength(1);
    expect(patches[0].body).toMatchObject({ language: "ja-JP", preferences: { lowBattery: [25] } });
    const set = h.toWatch.filter((m) => m.t === "set").pop();
    expect(set).toMatchObject({ s: { thr: [25], lang: "ja-JP", u: "mi", h24: true } });
  });

  it("when a threshold value is garbage, then the page shows why and the relay gets the defaults", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.thresholds, '"lots"');
    await h.settle();
    expect(h.settings.json(KEYS.settingsError)[KEYS.thresholds]).toMatch(/whole percentages/);
    const patches = h.relay.callsTo("PATCH /v1/me");
    expect(patches[patches.length - 1].body.preferences.lowBattery).toEqual([20, 10]);
  });

  it("when the wearer presses Link X, then the page gets the relay's approval URL to open", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.xLink, String(T0));
    await h.settle();
    expect(h.relay.callsTo("POST /v1/x/link")).toHaveLength(1);
    expect(h.settings.json(KEYS.xStatus)).toMatchObject({ state: "open_url", url: "https://x.example/authorize?state=abc" });
  });

  it("when the relay has no preview endpoint yet, then the page says the preview is not available", async () => {
    h = await startHarness();
    expect(h.settings.json(KEYS.preview)).toMatchObject({ state: "unavailable" });
  });

  it("when the wearer presses Forget me, then the relay erases the wearer and the phone forgets the token, queue and statuses", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.phoneNumber, text("+14155552671"));
    await h.settle();
    h.settings.pageSet(KEYS.forgetMe, String(T0));
    await h.settle();
    expect(h.relay.callsTo("DELETE /v1/me")).toHaveLength(1);
    expect(h.storage.getItem(STATE_KEYS.token)).toBeNull();
    expect(h.settings.getItem(KEYS.phoneStatus)).toBeNull();
    expect(h.settings.getItem(KEYS.phoneNumber)).toBeNull();
    await h.restart();
    expect(h.relay.callsTo("DELETE /v1/me")).toHaveLength(1);
  });

  it("when the wearer sets a bad relay URL, then the page says why and the companion keeps using the default", async () => {
    h = await startHarness();
    h.settings.pageSet(KEYS.relayUrl, text("ftp://nope"));
    await h.settle();
    expect(h.settings.json(KEYS.settingsError)[KEYS.relayUrl]).toMatch(/web address/);
    h.watchSends(bat("e1", 18));
    await h.settle();
    expect(h.relay.battery).toHaveLength(1);
  });
});

describe("events from the watch", () => {
  it("when the watch sends a battery event, then it is acknowledged only after it is in localStorage, and the relay gets it with the same id", async () => {
    h = await startHarness();
    let storedAtAck: string | null = null;
    h.link.device.addEventListener("message", (e: { data: any }) => {
      if (e.data && e.data.t === "ack") storedAtAck = h.storage.getItem("wr.outbox") || h.storage.getItem("wr.seen");
    });
    h.relay.failNext("POST /v1/battery", { status: 503 });
    h.watchSends(bat("e1", 18, { left: 120 } as never));
    expect(storedAtAck).toContain("e1");
    await h.settle();
    await h.clock.advance(60000);
    expect(h.relay.battery).toEqual([
      { eventId: "e1", level: 18, charging: false, observedAt: new Date(T0).toISOString(), source: "watch", timeLeftMinutes: 120 },
    ]);
  });

  it("when the watch resends an event (its ack was lost), then the relay still gets it once and the watch gets a second ack", async () => {
    h = await startHarness();
    h.watchSends(bat("e1", 18));
    await h.settle();
    h.watchSends(bat("e1", 18));
    await h.settle();
    expect(h.relay.callsTo("POST /v1/battery")).toHaveLength(1);
    expect(acksOf(h)).toEqual(["e1", "e1"]);
  });

  it("when the relay fails for a while, then events are retried with the same eventId, oldest first, and arrive in order", async () => {
    h = await startHarness();
    h.relay.failNext("POST /v1/battery", { status: 503 }, { status: 429, code: "rate_limited" }, { status: 500 });
    h.watchSends(bat("e1", 19));
    h.watchSends(bat("e2", 12));
    h.watchSends({ v: 1, t: "sum", id: "s1", d: "2026-11-19", st: 9000, dm: 6500, cal: 2100, slp: 420 });
    await h.settle();
    await h.clock.advance(30 * 60000);
    const batCalls = h.relay.callsTo("POST /v1/battery").map((c) => c.body.eventId);
    expect(batCalls).toEqual(["e1", "e1", "e1", "e1", "e2"]);
    expect(h.relay.battery.map((b) => b.eventId)).toEqual(["e1", "e2"]);
    expect(h.relay.summaries).toEqual([
      { eventId: "s1", date: "2026-11-19", activity: { steps: 9000, distanceMeters: 6500, calories: 2100 }, sleep: { minutesAsleep: 420, estimated: true } },
    ]);
    const sumAt = h.relay.calls.findIndex((c) => c.path === "/v1/summaries");
    const e2At = h.relay.calls.findIndex((c) => c.body && c.body.eventId === "e2");
    expect(sumAt).toBeGreaterThan(e2At);
  });

  it("when retries back off, then the waits grow (no hammering a failing relay)", async () => {
    h = await startHarness();
    for (let i = 0; i < 6; i++) h.relay.failNext("POST /v1/battery", { status: 503 });
    h.watchSends(bat("e1", 19));
    await h.settle();
    await h.clock.advance(2 * 3600000);
    // 15 s base doubling (with jitter) reaches the 7th try well within 2 h, but not every wake
    const tries = h.relay.callsTo("POST /v1/battery");
    expect(tries.length).toBe(7);
    expect(new Set(tries.map((c) => c.body.eventId))).toEqual(new Set(["e1"]));
    expect(h.relay.battery.map((b) => b.eventId)).toEqual(["e1"]);
  });

  it("when the relay refuses an event for good (422), then it is dropped with a reason, counted, and the next event goes through", async () => {
    h = await startHarness();
    h.relay.failNext("POST /v1/battery", { status: 422, code: "invalid_body" });
    h.watchSends(bat("e1", 19));
    h.watchSends(bat("e2", 12));
    await h.settle();
    await h.clock.advance(3600000);
    expect(h.relay.callsTo("POST /v1/battery").map((c) => c.body.eventId)).toEqual(["e1", "e2"]);
    expect(h.settings.json(KEYS.diagnostics)).toMatchObject({ queue: 0, dropped: 1 });
    expect(JSON.parse(h.storage.getItem("wr.outbox.stats")!).lastDropReason).toBe("invalid_body");
  });

  it("when the outbox is full, then the oldest events are dropped and counted", async () => {
    h = await startHarness({ outboxMaxItems: 3 });
    for (let i = 0; i < 20; i++) h.relay.failNext("POST /v1/battery", { status: 503 });
    for (let i = 1; i <= 5; i++) h.watchSends(bat("e" + i, 20 - i));
    await h.settle();
    const queued = JSON.parse(h.storage.getItem("wr.outbox")!).map((e: { id: string }) => e.id);
    expect(queued).toEqual(["e3", "e4", "e5"]);
    expect(h.settings.json(KEYS.diagnostics)).toMatchObject({ queue: 3, dropped: 2 });
  });

  it("when the companion is killed with events queued, then a restart sends them, in order, with the same ids", async () => {
    h = await startHarness();
    for (let i = 0; i < 3; i++) h.relay.failNext("POST /v1/battery", { status: 503 });
    h.watchSends(bat("e1", 19));
    h.watchSends(bat("e2", 9));
    await h.settle();
    expect(h.relay.battery).toHaveLength(0);
    await h.restart();
    await h.clock.advance(3600000);
    expect(h.relay.battery.map((b) => b.eventId)).toEqual(["e1", "e2"]);
    h.watchSends(bat("e1", 19)); // a late resend after the restart is still recognised
    await h.settle();
    expect(h.relay.battery.map((b) => b.eventId)).toEqual(["e1", "e2"]);
  });

  it("when the relay answers, then the watch is told the result (SMS queued, number not verified)", async () => {
    h = await startHarness();
    h.relay.batteryAnswer = (b) => (b.eventId === "e1" ? { action: "sms" } : { action: "none", reason: "unverified_phone" });
    h.watchSends(bat("e1", 19));
    h.watchSends(bat("e2", 9));
    await h.settle();
    const res = h.toWatch.filter((m) => m.t === "res");
    expect(res.map((m) => m.t === "res" && [m.id, m.k])).toEqual([
      ["e1", "sms_queued"],
      ["e2", "unverified"],
    ]);
  });

  it("when the relay cannot be reached three times, then the watch is told the relay is down", async () => {
    h = await startHarness();
    for (let i = 0; i < 3; i++) h.relay.failNext("POST /v1/battery", { status: 502 });
    h.watchSends(bat("e1", 19));
    await h.settle();
    await h.clock.advance(10 * 60000);
    expect(h.toWatch.filter((m) => m.t === "res").map((m) => m.t === "res" && m.k)).toEqual(["relay_down", "sms_queued"]);
  });

  it("when the link is closed, then results wait and reach the watch when it opens again", async () => {
    h = await startHarness();
    h.watchSends(bat("e1", 19));
    h.link.close();
    await h.settle();
    expect(h.toWatch.filter((m) => m.t === "res")).toHaveLength(0);
    h.link.open();
    await h.settle();
    expect(h.toWatch.filter((m) => m.t === "res")).toHaveLength(1);
  });
});

describe("wake-ups", () => {
  it("when the face has been silent for hours and the phone sees the battery low, then one phone-sourced event reaches the relay however often it wakes", async () => {
    h = await startHarness({ open: false });
    h.device.batteryLevel = "low";
    for (let i = 0; i < 30; i++) {
      await h.clock.advance(5 * 60000);
      h.me.wake();
      await h.settle();
    }
    const phone = h.relay.battery.filter((b) => b.source === "phone");
    expect(phone).toHaveLength(1);
    expect(phone[0]).toMatchObject({ eventId: "ph-low-20261120", level: 15, charging: false, source: "phone" });
    h.device.batteryLevel = "empty";
    h.me.wake();
    await h.settle();
    expect(h.relay.battery.filter((b) => b.source === "phone").map((b) => b.eventId)).toEqual(["ph-low-20261120", "ph-empty-20261120"]);
  });

  it("when the face reported recently, then the phone's view does not raise an event", async () => {
    h = await startHarness();
    h.device.batteryLevel = "low";
    h.watchSends({ v: 1, t: "hi", lvl: 40, chg: false, at: Math.floor(T0 / 1000) });
    await h.settle();
    h.me.wake();
    await h.settle();
    expect(h.relay.battery).toHaveLength(0);
  });

  it("when woken every 5 minutes for a day, then heartbeats go out at most hourly and the day costs under 30 relay calls", async () => {
    h = await startHarness();
    for (let i = 0; i < 288; i++) {
      await h.clock.advance(5 * 60000);
      h.me.wake();
      await h.settle();
    }
    const hb = h.relay.callsTo("POST /v1/heartbeat");
    expect(hb.length).toBeGreaterThan(5);
    expect(hb.length).toBeLessThanOrEqual(24);
    expect(h.relay.calls.length).toBeLessThanOrEqual(30);
  });
});
