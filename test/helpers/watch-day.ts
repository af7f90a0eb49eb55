// A simulated 24 hours on the wrist, shared by test/app/day.test.ts and bench/watch.ts.
// 06:00 to 06:00 the next day, minute by minute: the battery drains from 100 %, charges 19:00-20:40,
// steps accumulate in waking hours, the display is on for one minute every quarter hour, the phone is
// out of range 16:30-18:30, sleep 23:30-05:40, and the face is restarted once at 12:07.
// The test plays the companion: it records what arrives and acknowledges every id.
import { buildBatteryMsg, makeEventId } from "../../common/watch-messages";
import { activity, attachPhone, clock, display, messaging, power, resetDevice, sleep, startTestWatch } from "./watch-harness";

export const DAY_START = new Date(2026, 10, 21, 6, 0, 0);
export const MINUTES = 24 * 60;
const OUT_OF_RANGE: [number, number] = [16 * 60 + 30, 18 * 60 + 30];
const CHARGE: [number, number] = [19 * 60, 20 * 60 + 40];
const RESTART_AT = 12 * 60 + 7;

export interface DayResult {
  /** everything the watch handed to the link, in order */
  sent: { at: Date; data: any; bytes: number }[];
  /** what the phone received */
  received: any[];
  messages: number;
  bytes: number;
  batteryChanges: number;
}

/** Minutes since 06:00 -> the battery level the fake reports. */
function levelAt(m: number, prev: number): { lvl: number; chg: boolean } {
  const clockMin = (6 * 60 + m) % MINUTES;
  const inCharge = m >= CHARGE[0] - 6 * 60 && m < CHARGE[1] - 6 * 60;
  if (inCharge) return { lvl: Math.min(100, prev + 1), chg: true }; // 1 %/min on the charger
  // 7.2 %/h awake, 2.4 %/h after 23:00 and before 06:00
  const night = clockMin >= 23 * 60 || clockMin < 6 * 60;
  const perMin = night ? 2.4 / 60 : 7.2 / 60;
  return { lvl: Math.max(0, prev - perMin), chg: false };
}

/**
 * Plays the day. `naive` replaces the face by the baseline: a watch that sends a battery message on
 * every change while the link is open (no policy, no outbox).
 */
export function runWatchDay(opts: { naive?: boolean } = {}): DayResult {
  resetDevice();
  activity.__setToday({ steps: 0, distance: 0, calories: 0, elevationGain: 0, azm: 0 });
  power.__set({ chargeLevel: 100, charging: false });
  const phone = attachPhone({ ack: true });
  let batteryChanges = 0;
  let now = DAY_START.getTime();
  const start = DAY_START.getTime();

  let tw: ReturnType<typeof startTestWatch> | null = null;
  if (opts.naive) {
    const sock = messaging.peerSocket;
    power.battery.addEventListener("change", () => {
      if (sock.readyState !== sock.OPEN) return;
      const r = { lvl: Math.round(power.battery.chargeLevel), chg: power.battery.charging };
      const id = makeEventId("b", now, Math.random());
      sock.send(buildBatteryMsg({ why: r.chg ? "chg_on" : "low", lvl: r.lvl, chg: r.chg }, id, Math.floor(now / 1000), undefined));
    });
  } else {
    tw = startTestWatch(DAY_START);
  }
  power.battery.addEventListener("change", () => batteryChanges++);
  messaging.__open();

  let exact = 100;
  let steps = 0;
  for (let m = 0; m <= MINUTES; m++) {
    now = start + m * 60000;
    if (tw) tw.now = now;
    const date = new Date(now);
    const hh = date.getHours();
    const mm = date.getMinutes();

    if (m === OUT_OF_RANGE[0] - 6 * 60) messaging.__close();
    if (m === OUT_OF_RANGE[1] - 6 * 60) messaging.__open();
    if (tw && m === RESTART_AT - 6 * 60) tw.restart();

    if (hh === 0 && mm === 0) activity.__endDay();
    if (hh >= 7 && hh < 22) {
      steps += 9;
      activity.__setToday({ steps, distance: Math.round(steps * 0.75), calories: 1200 + Math.round(steps * 0.04), elevationGain: Math.floor(steps / 1500), azm: Math.floor(steps / 600) });
    }
    if (hh === 0 && mm === 0) steps = 0;
    if (hh === 23 && mm === 30) sleep.__setState("asleep");
    if (hh === 5 && mm === 40) sleep.__setState("awake");

    const b = levelAt(m, exact);
    exact = b.lvl;
    power.__set({ chargeLevel: Math.round(exact), charging: b.chg });

    if (mm % 15 === 0) display.__setOn(true);
    if (mm % 15 === 1) display.__setOn(false);
    clock.__tick(date);
  }
  if (tw) tw.watch.stop();

  const log = messaging.__link().log.filter((r) => r.from === "device");
  // the log has no timestamps; rebuild them from the `at` the messages carry where they have one
  const sent = log.map((r) => ({ at: new Date((r.data.at || 0) * 1000), data: r.data, bytes: r.bytes }));
  return {
    sent,
    received: phone.received,
    messages: sent.length,
    bytes: sent.reduce((a, r) => a + r.bytes, 0),
    batteryChanges,
  };
}
