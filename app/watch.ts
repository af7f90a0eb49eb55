// The face: wires the platform adapters to the pure logic. startWatch() can run more than once
// (tests restart it against the same fakes); stop() detaches it.
import { applyBatteryReading, BatteryPolicyState, initialBatteryState } from "../common/battery-policy";
import { buildSummary, dayKey, previousDayKey } from "../common/day-summary";
import { createOutbox } from "../common/outbox";
import { isPhoneMsg, isWatchSettings, ResultKind, WatchMsg } from "../common/protocol";
import { applySleepState, initialSleepState, minutesAsleep, SleepState } from "../common/sleep-estimate";
import { addSample, estimateMinutesLeft, LevelSample } from "../common/time-left";
import { buildBatteryMsg, buildHello, makeEventId } from "../common/watch-messages";
import { resolveWatchSettings, sameSettings } from "../common/watch-settings";
import { hasBarometer, readToday, readYesterday, TodayActivity } from "./activity";
import { readBattery, watchBattery } from "./battery";
import { watchClock } from "./clock";
import { buildFaceView } from "./face";
import { openLink } from "./link";
import { readPrefs } from "./prefs";
import { isDisplayOn, watchDisplay } from "./screen";
import { watchSleep } from "./sleep-watch";
import { loadFile, saveFile } from "./store";
import { t } from "./text";
import { createUi } from "./ui";

export const FILES = {
  settings: "settings.cbor",
  battery: "battery.cbor",
  outbox: "outbox.cbor",
  day: "day.cbor",
  result: "result.cbor",
};
export const OUTBOX_MAX = 16;
export const OUTBOX_MAX_AGE_MS = 3 * 24 * 3600 * 1000;
/** Minutes after midnight before yesterday's history is trusted. */
const SUMMARY_AFTER_MIN = 5;
/** AZM snapshots are written at most this often while the display is on. */
const DAY_SAVE_EVERY_MS = 15 * 60 * 1000;

export interface WatchOptions {
  now?: () => number;
  random?: () => number;
}

export interface Watch {
  stop: () => void;
}

interface DayState {
  /** the last day a summary was queued for */
  sent?: string;
  /** the last active-zone-minutes total seen per day */
  azm: { [day: string]: number };
  slp: SleepState;
}

function isArr(x: unknown): x is unknown[] {
  return x instanceof Array;
}

function loadDay(): DayState {
  const d = loadFile(FILES.day) as { sent?: unknown; azm?: unknown; slp?: { days?: unknown; since?: unknown } } | undefined;
  const out: DayState = { azm: {}, slp: initialSleepState() };
  if (!d || typeof d !== "object") return out;
  if (typeof d.sent === "string") out.sent = d.sent;
  if (d.azm && typeof d.azm === "object") out.azm = d.azm as { [day: string]: number };
  if (d.slp && typeof d.slp === "object" && d.slp.days && typeof d.slp.days === "object") {
    out.slp = { days: d.slp.days as { [day: string]: number } };
    if (typeof d.slp.since === "number") out.slp.since = d.slp.since;
  }
  return out;
}

export function startWatch(opts?: WatchOptions): Watch {
  const now = opts && opts.now ? opts.now : function (): number {
    return Date.now();
  };
  const random = opts && opts.random ? opts.random : Math.random;
  const nowS = function (): number {
    return Math.floor(now() / 1000);
  };

  let settings = resolveWatchSettings(loadFile(FILES.settings), readPrefs());

  const savedBattery = loadFile(FILES.battery) as { p?: BatteryPolicyState; s?: LevelSample[] } | undefined;
  let policy: BatteryPolicyState =
    savedBattery && savedBattery.p && isArr(savedBattery.p.fired) ? savedBattery.p : initialBatteryState();
  let samples: LevelSample[] = savedBattery && isArr(savedBattery.s) ? savedBattery.s : [];

  const day = loadDay();
  let dayDirty = false;
  let daySavedAt = 0;

  const savedResult = loadFile(FILES.result) as { k?: ResultKind; at?: number } | undefined;
  let result: { k: ResultKind; at: number } | null =
    savedResult && typeof savedResult.k === "string" && typeof savedResult.at === "number"
      ? { k: savedResult.k, at: savedResult.at }
      : null;

  const outbox = createOutbox<WatchMsg>({
    load: function () {
      return loadFile(FILES.outbox) as never;
    },
    save: function (entries) {
      saveFile(FILES.outbox, entries);
    },
    now: now,
    max: OUTBOX_MAX,
    maxAgeMs: OUTBOX_MAX_AGE_MS,
  });

  const ui = createUi();
  let reading = readBattery();
  let activity: TodayActivity | null = null;

  function saveDay(): void {
    saveFile(FILES.day, day);
    dayDirty = false;
    daySavedAt = now();
  }

  function redraw(): void {
    if (!isDisplayOn()) return;
    if (!activity) activity = readToday();
    ui.draw(
      buildFaceView(
        {
          now: new Date(now()),
          settings: settings,
          lvl: reading.lvl,
          chg: reading.chg,
          left: estimateMinutesLeft(samples, reading.lvl),
          activity: activity,
          linkOpen: link.isOpen(),
          result: result,
        },
        t,
      ),
    );
  }

  function queue(msg: WatchMsg & { id: string }): void {
    outbox.put(msg.id, msg);
    // Resend older unacknowledged events first, so the relay sees them in the order they happened.
    flush();
  }

  function flush(): void {
    const pending = outbox.pending();
    for (let i = 0; i < pending.length; i++) if (!link.send(pending[i].msg)) break;
  }

  function onBattery(): void {
    const r = readBattery();
    const atS = nowS();
    const nextSamples = addSample(samples, atS, r.lvl, r.chg);
    const step = applyBatteryReading(policy, r.lvl, r.chg, settings.thr);
    const changed = nextSamples !== samples || JSON.stringify(step.state) !== JSON.stringify(policy);
    samples = nextSamples;
    policy = step.state;
    reading = r;
    if (changed) saveFile(FILES.battery, { p: policy, s: samples });
    if (step.event) {
      const left = estimateMinutesLeft(samples, r.lvl);
      queue(buildBatteryMsg(step.event, makeEventId("b", now(), random()), atS, left));
    }
    redraw();
  }

  /** Yesterday's totals, once, at the first chance after local midnight. */
  function checkDay(date: Date): void {
    const yesterday = previousDayKey(date);
    if (day.sent === undefined) {
      day.sent = yesterday; // first run: start with the day that is under way
      saveDay();
      return;
    }
    if (day.sent >= yesterday) return;
    // give the system a few minutes to roll dayHistory over, or we would read the day before
    if (date.getHours() === 0 && date.getMinutes() < SUMMARY_AFTER_MIN) return;
    const totals = readYesterday();
    if (!totals) return;
    const msg = buildSummary(yesterday, totals, hasBarometer(), day.azm[yesterday], minutesAsleep(day.slp, yesterday));
    day.sent = yesterday;
    const today = dayKey(date);
    const azm: { [d: string]: number } = {};
    if (day.azm[today] !== undefined) azm[today] = day.azm[today];
    day.azm = azm;
    saveDay();
    queue(msg);
  }

  function refreshActivity(date: Date): void {
    activity = readToday();
    const k = dayKey(date);
    if (day.azm[k] !== activity.azm) {
      day.azm[k] = activity.azm;
      dayDirty = true;
      if (now() - daySavedAt >= DAY_SAVE_EVERY_MS) saveDay();
    }
  }

  function onTick(): void {
    if (!isDisplayOn()) return;
    if (outbox.pending().length && link.isOpen()) flush();
    const date = new Date(now());
    checkDay(date);
    refreshActivity(date);
    redraw();
  }

  function onDisplay(on: boolean): void {
    if (on) {
      onTick();
    } else if (dayDirty) {
      saveDay();
    }
  }

  function onSleep(state: string): void {
    day.slp = applySleepState(day.slp, state, nowS(), dayKey(new Date(now())));
    saveDay();
  }

  function onMessage(data: unknown): void {
    if (!isPhoneMsg(data)) return;
    if (data.t === "ack") {
      outbox.ack(data.ids);
    } else if (data.t === "set") {
      if (!isWatchSettings(data.s)) return;
      const next = resolveWatchSettings(data.s, readPrefs());
      const stored = loadFile(FILES.settings);
      if (!isWatchSettings(stored) || !sameSettings(stored, next)) saveFile(FILES.settings, next);
      if (!sameSettings(settings, next)) {
        settings = next;
        redraw();
      }
    } else if (data.t === "res") {
      if (result && result.k === data.k && result.at === data.at) return;
      result = { k: data.k, at: data.at };
      saveFile(FILES.result, result);
      redraw();
    }
  }

  const link = openLink({
    onOpen: function () {
      link.send(buildHello(reading.lvl, reading.chg, nowS()));
      flush();
      redraw();
    },
    onClose: redraw,
    onMessage: function (data) {
      try {
        onMessage(data);
      } catch (e) {
        // a message we cannot handle must never take the face down
      }
    },
  });

  const stops = [watchBattery(onBattery), watchClock(onTick), watchDisplay(onDisplay), watchSleep(onSleep)];

  onBattery();
  if (link.isOpen()) {
    link.send(buildHello(reading.lvl, reading.chg, nowS()));
    flush();
  }
  onDisplay(isDisplayOn());

  return {
    stop: function () {
      for (let i = 0; i < stops.length; i++) stops[i]();
      link.stop();
      if (dayDirty) saveDay();
    },
  };
}
