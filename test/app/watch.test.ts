import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { BAT_FILLS, CHARGING_FILL } from "../../app/face";
import { FILES } from "../../app/watch";
import { activity, attachPhone, clock, display, documentFake, fs, i18n, messaging, power, resetDevice, sleep, startTestWatch, TestWatch, text, userSettings } from "../helpers/watch-harness";

const T0 = new Date(2026, 10, 21, 21, 0, 0);
const min = (m: number) => new Date(T0.getTime() + m * 60000);
let tw: TestWatch;

function boot(): TestWatch {
  tw = startTestWatch(T0);
  return tw;
}

beforeEach(() => {
  resetDevice();
  power.__set({ chargeLevel: 80, charging: false });
  activity.__setToday({ steps: 4321, distance: 3200, calories: 1500, elevationGain: 4, azm: 11 });
});
afterEach(() => tw && tw.watch.stop());

describe("the face", () => {
  it("when it starts, then it shows time, date, battery and today's activity", () => {
    boot();
    expect(text("time")).toBe("21:00");
    expect(text("ampm")).toBe("");
    expect(text("date")).toBe("Sat Nov 21");
    expect(text("bat-text")).toBe("80%");
    expect(text("bat-left")).toBe("\u2014");
    expect(text("steps-text")).toBe("4,321");
    expect(text("dist-text")).toBe("3.20 km");
    expect(text("cal-text")).toBe("1,500");
    expect(text("floors-text")).toBe("4");
    expect(text("azm-text")).toBe("11");
    expect(documentFake.__el("steps-arc").sweepAngle).toBe(Math.round((360 * 4321) / 10000));
    expect(documentFake.__el("floors-group").style.display).toBe("inline");
    expect(text("link-text")).toBe("No phone");
  });

  it("when it starts, then the clock ticks by the minute", () => {
    boot();
    expect(clock.default.granularity).toBe("minutes");
  });

  it("when the watch is set to 12 h and miles, then the face follows until the phone says otherwise", () => {
    userSettings.__set({ clockDisplay: "12h", distance: "us" });
    boot();
    expect([text("time"), text("ampm"), text("dist-text")]).toEqual(["9:00", "PM", "1.99 mi"]);
  });

  it("when the watch's language is Japanese, then the date and labels are Japanese", () => {
    i18n.__setLocale("ja-JP");
    boot();
    expect(text("date")).toBe("11月21日(土)");
    expect(text("link-text")).toBe("スマホ未接続");
  });

  it("when the device has no barometer, then floors are hidden", () => {
    activity.__setBarometer(false);
    boot();
    expect(documentFake.__el("floors-group").style.display).toBe("none");
  });

  it("when a minute passes with new steps, then only what changed is written", () => {
    boot();
    activity.__setToday({ steps: 4400 });
    const before = documentFake.__writeCount();
    tw.at(min(1));
    expect(text("time")).toBe("21:01");
    expect(text("steps-text")).toBe("4,400");
    expect(documentFake.__writeCount() - before).toBe(3); // time, steps, ring
  });

  it("when the display is off, then nothing is drawn, and it catches up when it comes on", () => {
    boot();
    display.__setOn(false);
    const before = documentFake.__writeCount();
    power.__set({ chargeLevel: 79 });
    activity.__setToday({ steps: 5000 });
    tw.at(min(5));
    sleep.__setState("asleep");
    expect(documentFake.__writeCount()).toBe(before);
    tw.now = min(6).getTime();
    display.__setOn(true);
    expect([text("time"), text("bat-text"), text("steps-text")]).toEqual(["21:06", "79%", "5,000"]);
  });

  it("when charging, then the face says so and drops the time-left estimate", () => {
    boot();
    power.__set({ charging: true, chargeLevel: 81 });
    expect(documentFake.__el("bat-state").style.display).toBe("inline");
    expect(text("bat-state")).toBe("_charging"); // the view's own text, localized by the system
    expect(documentFake.__el("bat-bar").style.fill).toBe(CHARGING_FILL);
    expect(text("bat-left")).toBe("");
  });

  it("when the battery has drained for an hour, then the face shows an estimate of the time left", () => {
    boot();
    for (let i = 1; i <= 6; i++) {
      tw.now = min(i * 10).getTime();
      power.__set({ chargeLevel: 80 - i });
    }
    expect(text("bat-left")).toBe("12h 20m left"); // 6 % an hour, 74 % left
  });
});

describe("battery alerts", () => {
  it("when the battery drops below 20 %, then one alert goes to the phone and the face turns amber, then red below 10 %", () => {
    messaging.__open();
    const phone = attachPhone({ ack: true });
    boot();
    for (let l = 79; l >= 15; l--) power.__set({ chargeLevel: l });
    expect(phone.ofType("bat")).toMatchObject([{ why: "low", thr: 20, lvl: 20, chg: false }]);
    expect(documentFake.__el("bat-bar").style.fill).toBe(BAT_FILLS[1]);
    for (let l = 14; l >= 9; l--) power.__set({ chargeLevel: l });
    expect(phone.ofType("bat").map((m) => m.thr)).toEqual([20, 10]);
    expect(documentFake.__el("bat-bar").style.fill).toBe(BAT_FILLS[2]);
  });

  it("when the display is off, then a battery alert is still sent", () => {
    messaging.__open();
    const phone = attachPhone({ ack: true });
    boot();
    display.__setOn(false);
    power.__set({ chargeLevel: 19 });
    expect(phone.ofType("bat")).toHaveLength(1);
  });
});

describe("the link to the phone", () => {
  it("when the link opens, then the watch says hello with its battery", () => {
    const phone = attachPhone({ ack: true });
    boot();
    messaging.__open();
    expect(phone.received[0]).toMatchObject({ v: 1, t: "hi", lvl: 80, chg: false });
    expect(text("link-text")).toBe("Phone connected");
  });

  it("when the link is closed, then the alert waits in the persisted outbox and goes after open", () => {
    const phone = attachPhone({ ack: true });
    boot();
    power.__set({ chargeLevel: 19 });
    expect(fs.__raw(FILES.outbox)).toHaveLength(1);
    expect(phone.received).toHaveLength(0);
    messaging.__open();
    expect(phone.ofType("bat")).toMatchObject([{ why: "low", thr: 20 }]);
    expect(fs.__raw(FILES.outbox)).toEqual([]);
  });

  it("when no ack arrives, then the message is sent again with the same id on the next open; an ack ends it", () => {
    const phone = attachPhone({ ack: false });
    messaging.__open();
    boot();
    power.__set({ chargeLevel: 19 });
    messaging.__close();
    messaging.__open();
    const bats = phone.ofType("bat");
    expect(bats).toHaveLength(2);
    expect(bats[0].id).toBe(bats[1].id);
    phone.send({ v: 1, t: "ack", ids: [bats[0].id] });
    expect(fs.__raw(FILES.outbox)).toEqual([]);
    messaging.__close();
    messaging.__open();
    expect(phone.ofType("bat")).toHaveLength(2);
  });

  it("when the face is restarted, then the outbox and the time-left history survive", () => {
    const phone = attachPhone({ ack: true });
    boot();
    for (let i = 1; i <= 6; i++) {
      tw.now = min(i * 10).getTime();
      power.__set({ chargeLevel: 80 - 12 * i });
    }
    const left = text("bat-left");
    expect(left).not.toBe("\u2014");
    tw.watch.stop();
    documentFake.__reset();
    tw.watch = startTestWatch(min(61)).watch;
    expect(text("bat-left")).not.toBe("\u2014");
    messaging.__open();
    const bats = phone.ofType("bat");
    expect(bats.map((m) => m.thr)).toEqual([20, 10]);
    expect(new Set(bats.map((m) => m.id)).size).toBe(2);
  });

  it("when a message would not fit in MAX_MESSAGE_SIZE, then it is not sent and stays queued", () => {
    const phone = attachPhone({ ack: true });
    messaging.__setMaxMessageSize(40);
    messaging.__open();
    boot();
    power.__set({ chargeLevel: 19 });
    expect(phone.ofType("bat")).toHaveLength(0);
    expect(fs.__raw(FILES.outbox)).toHaveLength(1);
  });

  it("when the same SettingsMsg arrives twice, then it is applied and stored once", () => {
    const phone = attachPhone({ ack: true });
    messaging.__open();
    boot();
    const set = { v: 1, t: "set", s: { thr: [30, 15], u: "mi", lang: "en-US", h24: false } };
    const writes = fs.__writeCount();
    phone.send(set);
    phone.send(set);
    expect(fs.__writeCount() - writes).toBe(1);
    expect([text("time"), text("ampm"), text("dist-text")]).toEqual(["9:00", "PM", "1.99 mi"]);
    power.__set({ chargeLevel: 30 });
    expect(phone.ofType("bat")).toMatchObject([{ thr: 30 }]);
  });

  it("when settings came from the phone, then they outlive a restart", () => {
    const phone = attachPhone({ ack: true });
    messaging.__open();
    boot();
    phone.send({ v: 1, t: "set", s: { thr: [20], u: "mi", lang: "en-US", h24: true } });
    tw.restart();
    expect(text("dist-text")).toBe("1.99 mi");
  });

  it("when a ResultMsg says sms_sent at 21:03, then the face shows it, also after a restart", () => {
    const phone = attachPhone({ ack: true });
    messaging.__open();
    boot();
    phone.send({ v: 1, t: "res", id: "b1", k: "sms_sent", at: Math.floor(new Date(2026, 10, 21, 21, 3).getTime() / 1000) });
    expect(text("res-text")).toBe("SMS sent 21:03");
    phone.send({ v: 1, t: "res", k: "unverified", at: 1_795_000_000 });
    expect(text("res-text")).toBe("Number not verified");
    tw.restart();
    expect(text("res-text")).toBe("Number not verified");
  });

  it("when bad messages arrive, then nothing breaks and nothing is answered", () => {
    const phone = attachPhone({ ack: true });
    messaging.__open();
    boot();
    const before = phone.received.length;
    for (const bad of [null, 42, "ack", [], {}, { v: 1, t: "ack" }, { v: 1, t: "ack", ids: "x" }, { v: 1, t: "set", s: null }, { v: 9, t: "res", k: "sms_sent", at: 1 }, { v: 1, t: "res", k: "sms_sent", at: -1 }, { v: 1, t: "xyz" }]) {
      phone.send(bad);
    }
    expect(phone.received.length).toBe(before);
    tw.at(min(1));
    expect(text("time")).toBe("21:01");
    expect(text("res-text")).toBe("");
  });

  it("when the stored files are damaged, then the face starts anyway", () => {
    boot();
    tw.watch.stop();
    for (const f of Object.values(FILES)) fs.__corrupt(f);
    documentFake.__reset();
    tw = startTestWatch(T0);
    expect(text("bat-text")).toBe("80%");
  });
});

describe("yesterday's summary", () => {
  it("when the first minute after midnight is seen, then yesterday's totals go once, with the last AZM snapshot", () => {
    const phone = attachPhone({ ack: true });
    messaging.__open();
    boot();
    activity.__setToday({ azm: 17 });
    tw.at(min(30)); // 21:30, snapshot of today's AZM
    sleep.__setState("asleep");
    display.__setOn(false);
    tw.now = new Date(2026, 10, 22, 0, 0).getTime();
    activity.__endDay();
    tw.now = new Date(2026, 10, 22, 6, 40).getTime();
    display.__setOn(true); // first chance: the wearer looks at the watch
    expect(phone.ofType("sum")).toEqual([
      { v: 1, t: "sum", id: "s20261121", d: "2026-11-21", st: 4321, dm: 3200, cal: 1500, fl: 4, azm: 17 },
    ]);
    sleep.__setState("awake");
    tw.restart();
    tw.at(new Date(2026, 10, 22, 6, 41));
    expect(phone.ofType("sum")).toHaveLength(1);
  });

  it("when the display is on at 00:02, then the summary waits a few minutes for the history to roll over", () => {
    const phone = attachPhone({ ack: true });
    messaging.__open();
    boot();
    activity.__endDay();
    tw.at(new Date(2026, 10, 22, 0, 2));
    expect(phone.ofType("sum")).toHaveLength(0);
    tw.at(new Date(2026, 10, 22, 0, 5));
    expect(phone.ofType("sum")).toMatchObject([{ d: "2026-11-21", st: 4321 }]);
  });
});
