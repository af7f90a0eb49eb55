import { describe, expect, it } from "vitest";
import { isWatchMsg } from "../../common/protocol";
import { runWatchDay } from "../helpers/watch-day";

describe("a simulated 24-hour day on the wrist", () => {
  const day = runWatchDay();
  const events = day.received.filter((m) => m.t !== "hi");
  const ids = events.map((m) => m.id);

  it("when the day is played, then the phone hears each event once, in order", () => {
    const kinds = events.map((m) => (m.t === "bat" ? m.why + (m.thr ? m.thr : "") : m.t));
    expect(kinds).toEqual(["low20", "low10", "chg_on", "full", "chg_off", "sum"]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("when the phone is out of range as the battery crosses 20 %, then the alert waits and arrives on reconnect", () => {
    const low20 = events.find((m) => m.why === "low" && m.thr === 20);
    const at = new Date(low20.at * 1000);
    expect(at.getHours() * 60 + at.getMinutes()).toBeGreaterThanOrEqual(16 * 60 + 30);
    expect(at.getHours() * 60 + at.getMinutes()).toBeLessThan(18 * 60 + 30);
    // the next thing the phone heard after the outage was a hello followed by the kept alert
    const i = day.received.indexOf(low20);
    expect(day.received[i - 1].t).toBe("hi");
  });

  it("when the battery crosses 10 %, then the alert carries an estimate of the time left", () => {
    const low10 = events.find((m) => m.why === "low" && m.thr === 10);
    expect(low10.lvl).toBe(10);
    expect(low10.left).toBeGreaterThan(30);
    expect(low10.left).toBeLessThan(200);
  });

  it("when midnight passes, then yesterday's totals go once with floors and active zone minutes", () => {
    const sums = events.filter((m) => m.t === "sum");
    expect(sums).toHaveLength(1);
    expect(sums[0]).toMatchObject({ d: "2026-11-21", st: 8100, dm: 6075, fl: 5, azm: 13 });
  });

  it("when the day ends, then every message was valid, small and at most a dozen", () => {
    for (const m of day.received) expect(isWatchMsg(m)).toBe(true);
    for (const s of day.sent) expect(s.bytes).toBeLessThan(200);
    expect(day.messages).toBeLessThanOrEqual(12);
    expect(day.bytes).toBeLessThanOrEqual(2048);
    expect(day.batteryChanges).toBeGreaterThan(150);
  });

  it("when compared with sending every battery change, then it sends over ten times fewer messages", () => {
    const naive = runWatchDay({ naive: true });
    expect(naive.messages).toBeGreaterThan(10 * day.messages);
  });
});
