// The watch, the companion and a real relay together, through the simulation (sim/world.ts).
import { describe, expect, it } from "vitest";
import { decideBattery } from "../../backend/src/domain/battery-policy";
import { runSim, SimReport } from "../../sim/world";

/** The SMS the relay's policy owes for the events in the order they reached it (thresholds 20, 10). */
function smsThePolicySays(r: SimReport): number {
  let state = { alerted: [] as number[], lastObservedAt: null as string | null };
  let owed = 0;
  for (const e of r.recordedDetail) {
    const w = r.raisedDetail[e.id];
    const level = w ? w.lvl : /^ph-empty/.test(e.id) ? 5 : 15;
    const outcome = decideBattery(state, { level, charging: w ? w.chg : false, observedAt: e.observedAt }, [20, 10]);
    if (outcome.alert) owed++;
    state = { alerted: outcome.alerted, lastObservedAt: !outcome.alert && outcome.reason === "stale" ? state.lastObservedAt : e.observedAt };
  }
  return owed;
}

describe("simulated day", () => {
  it.each([1, 2, 3, 4])(
    "when 30 percent of Bluetooth messages are lost and the companion is killed five times (seed %i), then every battery event the watch raised reaches the relay exactly once and the wearer gets the SMS the policy says",
    async (seed) => {
      const r = await runSim({ seed, loss: 0.3, kills: 5 });
      expect(r.kills).toBe(5);
      expect(r.raised.length).toBeGreaterThanOrEqual(4);
      expect(r.lost).toBe(0);
      const watchRecorded = r.recorded.filter((id) => !id.startsWith("ph-"));
      expect([...watchRecorded].sort()).toEqual([...r.raised].sort());
      expect(new Set(r.recorded).size).toBe(r.recorded.length);
      expect(r.duplicates).toBe(0);
      const owed = smsThePolicySays(r);
      expect(owed).toBeGreaterThanOrEqual(1);
      expect(r.sms).toHaveLength(owed);
      expect(new Set(r.sms.map((s) => s.body)).size).toBe(r.sms.length);
    },
    120_000,
  );

  it("when the phone is out of range from 14:00 to 17:00, then the events raised meanwhile reach the relay afterwards, in order, and both alerts go out", async () => {
    const r = await runSim({ seed: 5, outOfRange: [14 * 60, 17 * 60] });
    expect(r.lost).toBe(0);
    expect(r.recorded.filter((id) => !id.startsWith("ph-"))).toEqual(r.raised);
    const during = r.recordedDetail.filter((e) => {
      const m = new Date(e.observedAt).getUTCHours() * 60 + new Date(e.observedAt).getUTCMinutes();
      return m >= 14 * 60 && m < 17 * 60;
    });
    expect(during.length).toBe(2);
    for (const e of during) expect(Date.parse(e.createdAt)).toBeGreaterThanOrEqual(Date.parse("2026-11-20T17:00:00Z"));
    expect(r.sms.map((s) => s.body)).toEqual([expect.stringContaining("20%"), expect.stringContaining("10%")]);
    expect(r.outOfOrder).toBe(0);
  }, 120_000);

  it("when the link is up, then an SMS reaches the provider within 2 s of simulated time of the threshold crossing, and the day costs at most 30 relay calls", async () => {
    const r = await runSim({ seed: 7 });
    expect(r.sms).toHaveLength(2);
    for (const s of r.sms) expect(s.delayMs).not.toBeNull();
    for (const s of r.sms) expect(s.delayMs!).toBeLessThan(2000);
    expect(r.relayCalls).toBeLessThanOrEqual(30);
  }, 120_000);
});
