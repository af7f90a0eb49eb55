// One simulated day: the real watch code (app/watch.ts over the device fakes), the real companion
// (companion/companion.ts over the companion fakes) and a real relay (backend, SQLite in a temp dir,
// SMS outbox provider) joined by an in-memory Bluetooth link that loses messages and disconnects.
// A virtual clock drives the watch's `now`, the companion's timers and the relay's clock; the relay's
// own worker runs on real timers, and between simulated minutes the real event loop is let run.
import "./host-modules"; // must come first: maps "messaging", "power", ... to the fakes

import { mkdtempSync, rmSync } from "node:fs";
import { sql } from "kysely";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as messaging from "messaging";
import * as power from "power";
import * as clockFake from "clock";
import * as fsFake from "fs";
import * as activity from "user-activity";
import { startWatch, Watch, FILES } from "../app/watch";
import { startCompanion, Companion, STATE_KEYS } from "../companion/companion";
import { FetchFn, SocketLike } from "../companion/host";
import { KEYS, parsePhoneStatus } from "../common/settings";
import { FakeCompanionMe } from "../test/fakes/companion/companion";
import { FakeLocalStorage } from "../test/fakes/companion/local-storage";
import { FakePeerDevice } from "../test/fakes/companion/peer";
import { FakeSettingsStorage } from "../test/fakes/companion/settings";
import { startRelay, TestRelay } from "../test/helpers/relay";
import { createVirtualClock, realTurns, VirtualClock } from "./virtual-clock";

export interface SimOptions {
  seed?: number;
  /** probability that one Bluetooth message is lost, each way */
  loss?: number;
  /** companion kills at random moments */
  kills?: number;
  /** phone out of range, local minutes from midnight [start, end) */
  outOfRange?: [number, number] | null;
  /** confirm a phone number first (through the relay's outbox records) */
  verifyPhone?: boolean;
  /** mean minutes between spontaneous link drops (0: never) */
  reconnectEveryMin?: number;
  /** prints the timeline as it happens */
  log?: (line: string) => void;
}

export interface SimReport {
  watchMessages: number;
  watchBytes: number;
  /** by direction */
  toPhone: { messages: number; bytes: number };
  toWatch: { messages: number; bytes: number };
  relayCalls: number;
  relayCallsByRoute: { [route: string]: number };
  sms: { at: string; body: string; kind: string; delayMs: number | null; linkUp: boolean; wallMs: number | null }[];
  posts: { at: string; kind: string; status: string }[];
  /** battery events the watch raised */
  raised: string[];
  /** battery events the relay recorded, in the relay's order */
  recorded: string[];
  /** what the relay recorded about each battery event, in its order */
  recordedDetail: { id: string; observedAt: string; createdAt: string; answer: { action?: string; reason?: string } }[];
  /** what the watch said in each battery event it raised */
  raisedDetail: { [id: string]: { lvl: number; chg: boolean; at: number; why: string } };
  /** battery events raised but never recorded */
  lost: number;
  /** what was seen twice: battery events recorded more than once, plus SMS sent more than once for one event */
  duplicates: number;
  /** re-posts of an eventId the relay had already answered (after a kill mid-call), absorbed by its idempotency */
  retriesAbsorbed: number;
  /** watch battery event ids that reached the relay out of the order they were raised in */
  outOfOrder: number;
  kills: number;
  dropped: number;
  timeline: string[];
}

export const DAY_START = Date.UTC(2026, 10, 20, 0, 0, 0);
const MIN = 60000;

/** Deterministic PRNG (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The wearer's battery over the day: full at midnight, 20 % near 15:05, 10 % near 16:58, charged from 18:00. */
export function batteryAt(minute: number): { level: number; charging: boolean } {
  const drain = 5.3 / 60;
  if (minute < 18 * 60) return { level: Math.max(1, Math.round(100 - drain * minute)), charging: false };
  const at18 = Math.max(1, Math.round(100 - drain * 18 * 60));
  if (minute < 20 * 60 + 30) return { level: Math.min(100, Math.round(at18 + (minute - 18 * 60) * 0.8)), charging: true };
  return { level: Math.max(1, Math.round(100 - drain * (minute - 20 * 60 - 30))), charging: false };
}

function hhmm(ms: number): string {
  return new Date(ms).toISOString().slice(11, 16);
}

/** Wraps the companion's end of the link: each message is lost with probability `loss`, both ways. */
function lossyEnd(end: SocketLike, random: () => number, loss: number, counters: SimReport["toWatch"]): SocketLike {
  const wrapped = new Map<(e: any) => void, (e: any) => void>();
  return {
    get readyState() {
      return end.readyState;
    },
    get OPEN() {
      return end.OPEN;
    },
    send(data) {
      if (end.readyState !== end.OPEN) throw new Error("Socket is closed");
      counters.messages++;
      counters.bytes += JSON.stringify(data).length;
      if (random() < loss) return; // lost in the air
      end.send(data);
    },
    addEventListener(type, fn) {
      const w = type === "message" ? (e: any) => (random() < loss ? undefined : fn(e)) : fn;
      wrapped.set(fn, w);
      end.addEventListener(type, w);
    },
    removeEventListener(type, fn) {
      const w = wrapped.get(fn);
      if (w) end.removeEventListener(type, w);
      wrapped.delete(fn);
    },
  };
}

export async function runSim(o: SimOptions = {}): Promise<SimReport> {
  process.env.TZ = "UTC"; // the watch's local day is the wearer's day (registered as UTC below)
  const seed = o.seed ?? 1;
  const random = rng(seed);
  const linkRandom = rng(seed * 7 + 1);
  const loss = o.loss ?? 0;
  const entries: { at: number; seq: number; line: string }[] = [];
  const log = (ms: number, text: string) => {
    const line = hhmm(ms) + "  " + text;
    entries.push({ at: ms, seq: entries.length, line });
    if (o.log) o.log(line);
  };

  const dir = mkdtempSync(join(tmpdir(), "wristrelay-sim-"));
  let settleNow: () => Promise<void> = () => realTurns();
  const vc: VirtualClock = createVirtualClock(DAY_START, () => settleNow());
  const relayClock = {
    now: () => new Date(vc.now()),
    set: () => undefined,
    advance: () => undefined,
  };
  let relay: TestRelay | null = null;
  let watch: Watch | null = null;
  let companion: Companion | null = null;
  try {
    relay = await startRelay({ databaseUrl: "file:" + join(dir, "relay.db"), clock: relayClock, env: { SMS_PER_NUMBER_DAILY: "20" } });
    const r = relay;

    // ---- the watch ----
    messaging.__reset();
    power.__reset();
    clockFake.__reset();
    fsFake.__reset();
    activity.__reset();
    const pair = messaging.__link();
    const toPhone = { messages: 0, bytes: 0 };
    const toWatch = { messages: 0, bytes: 0 };
    const raised: string[] = [];
    const raisedAt = new Map<string, number>();
    const raisedDetail: SimReport["raisedDetail"] = {};
    const raisedWall = new Map<string, number>();
    const sentWall = new Map<string, number>();
    const lowIds = new Set<string>();
    let n = 0;
    power.__set({ chargeLevel: 100, charging: false });
    watch = startWatch({ now: () => vc.now(), random: () => ((n = (n * 7 + 3 + seed) % 1296), n / 1296) });

    // What the watch raised: every battery message it sent (pair.log) or still holds (its outbox file).
    let logSeen = 0;
    function noteRaised(id: string, msg: { why?: string; at: number; lvl?: number; chg?: boolean }): void {
      if (raisedAt.has(id)) return;
      raisedDetail[id] = { lvl: msg.lvl ?? -1, chg: !!msg.chg, at: msg.at, why: msg.why || "" };
      raisedWall.set(id, performance.now());
      raised.push(id);
      raisedAt.set(id, msg.at * 1000);
      if (msg.why === "low") lowIds.add(id);
      log(vc.now(), "watch   raises battery event " + id + " (" + msg.why + ", " + power.battery.chargeLevel + " %)");
    }
    function collectRaised(): void {
      for (; logSeen < pair.log.length; logSeen++) {
        const e = pair.log[logSeen];
        if (e.from === "device" && e.data && e.data.t === "bat") noteRaised(e.data.id, e.data);
        if (e.from === "device" && e.data && e.data.t === "sum" && !raisedAt.has(e.data.id)) {
          raisedAt.set(e.data.id, vc.now());
          log(vc.now(), "watch   sends yesterday's summary " + e.data.id + " (" + e.data.st + " steps)");
        }
      }
      const box = fsFake.__raw(FILES.outbox) as { id: string; msg: { t: string; why?: string; at: number; lvl?: number; chg?: boolean } }[] | undefined;
      if (!(box instanceof Array)) return;
      for (const e of box) if (e && e.msg && e.msg.t === "bat") noteRaised(e.id, e.msg);
    }

    // ---- the companion's world (outlives any one companion) ----
    const storage = new FakeLocalStorage();
    const settings = new FakeSettingsStorage();
    const me = new FakeCompanionMe();
    const device = new FakePeerDevice();
    const relayCallsByRoute: { [route: string]: number } = {};
    let relayCalls = 0;
    const okEvents = new Map<string, number>();
    // kills: half at a minute boundary, half armed to strike while a relay call is in flight (the
    // relay has answered, the companion never learns it: the retry must not count twice)
    let kills = 0;
    let restartAt = -1;
    let armedUntil = -1;
    let minuteNow = 0;
    function kill(how: string): void {
      armedUntil = -1;
      kills++;
      if (companion) companion.stop();
      companion = null;
      restartAt = minuteNow + 1 + Math.floor(random() * 10);
      log(vc.now(), "phone   companion killed " + how);
    }
    const smsPending = new Set<string>();
    const fetchFn: FetchFn = (url, init) => {
      relayCalls++;
      const route = init.method + " " + url.replace(r.url, "").split("?")[0];
      relayCallsByRoute[route] = (relayCallsByRoute[route] || 0) + 1;
      const sentAt = vc.now();
      return (fetch(url, init as RequestInit) as unknown as Promise<Response>).then((res) => {
        if (route === "POST /v1/battery" || route === "POST /v1/summaries") {
          const id = init.body ? (JSON.parse(init.body).eventId as string) : "?";
          if (res.status === 202) okEvents.set(id, (okEvents.get(id) || 0) + 1);
          return res
            .clone()
            .text()
            .then((text) => {
              if (/"action":"sms"/.test(text) && !/quiet/.test(text)) smsPending.add(id);
              log(sentAt, "relay   " + route + " " + id + " -> " + res.status + " " + text.slice(0, 90));
              return res as unknown as Awaited<ReturnType<FetchFn>>;
            });
        } else {
          log(sentAt, "relay   " + route + " -> " + res.status);
        }
        return res as unknown as Awaited<ReturnType<FetchFn>>;
      }).then((res) => {
        if (armedUntil >= 0 && companion) kill("with " + route + " answered but not yet handled");
        return res;
      });
    };
    const companionEnd = lossyEnd(pair.companion as unknown as SocketLike, linkRandom, loss, toWatch);
    pair.device.addEventListener("message", () => undefined);
    const startOne = () =>
      startCompanion({
        me,
        socket: companionEnd,
        settings,
        storage,
        device,
        fetch: fetchFn,
        clock: vc,
        random,
        defaultRelayUrl: r.url,
        locale: "en-US",
        timezone: "UTC",
        utcOffsetMinutes: () => 0,
      });

    async function settle(): Promise<void> {
      for (let i = 0; i < 4; i++) {
        await realTurns(2);
        if (companion) await companion.idle();
      }
    }

    settleNow = settle;

    // ---- link control ----
    let linkWanted = true;
    let outOfRange = false;
    let linkDownUntil = 0;
    function setLink(): void {
      const up = linkWanted && !outOfRange && vc.now() >= linkDownUntil && companion !== null;
      if (up && !pair.isOpen()) {
        pair.open();
        log(vc.now(), "link    up");
      } else if (!up && pair.isOpen()) {
        pair.close();
        log(vc.now(), "link    down");
      }
    }

    companion = startOne();
    setLink();
    await settle();

    // ---- confirm a phone number through the relay (the code is read from the relay's outbox) ----
    if (o.verifyPhone !== false) {
      settings.pageSet(KEYS.phoneNumber, JSON.stringify({ name: "+14155552671" }));
      await settle();
      await new Promise((res) => setTimeout(res, 150)); // the relay's worker records the code SMS
      const sent = r.outbox ? await r.outbox.list(10) : [];
      const code = sent.map((m) => /\b(\d{6})\b/.exec(m.body)).filter(Boolean)[0];
      if (code) {
        settings.pageSet(KEYS.phoneCode, JSON.stringify({ name: code[1] }));
        await settle();
      }
      const st = parsePhoneStatus(settings.getItem(KEYS.phoneStatus));
      log(vc.now(), "page    phone " + st.state + (st.masked ? " (" + st.masked + ")" : "") + ", code read from the relay's own SMS outbox");
    }

    // ---- kill schedule ----
    const killAt: number[] = [];
    for (let i = 0; i < (o.kills ?? 0); i++) killAt.push(Math.floor(30 + random() * (22 * 60)));
    killAt.sort((a, b) => a - b);
    const reconnectEvery = o.reconnectEveryMin ?? 90;
    let nextDrop = reconnectEvery ? Math.floor(reconnectEvery * (0.5 + linkRandom())) : Infinity;
    // The relay's worker runs on real timers: wait (really) until the SMS it owes are recorded,
    // so the simulated time of the record is the minute the alert was decided in.
    async function waitForSends(): Promise<void> {
      const ids = [...smsPending];
      smsPending.clear();
      for (let i = 0; i < 100; i++) {
        const open = await r.store.db
          .selectFrom("deliveries")
          .select("id")
          .where("event_id", "in", ids)
          .where("status", "in", ["queued", "sending"])
          .execute();
        if (open.length === 0) {
          for (const id of ids) sentWall.set(id, performance.now());
          return;
        }
        await new Promise((res) => setTimeout(res, 20));
      }
    }

    const endMinute = 24 * 60 + 30;
    for (let minute = 1; minute <= endMinute; minute++) {
      const t = DAY_START + minute * MIN;
      await vc.advanceTo(t);
      // the relay's worker polls on real timers; in simulated time it looks once a minute
      r.running.worker.poke();

      // the world at this minute
      const dayMinute = minute % 1440;
      const b = batteryAt(dayMinute);
      power.__set({ chargeLevel: b.level, charging: b.charging });
      if (minute === 1440) activity.__endDay(); // local midnight: the day goes into dayHistory
      else activity.__setToday({ steps: dayMinute * 7, distance: dayMinute * 5, calories: 1000 + dayMinute, elevationGain: Math.floor(dayMinute / 100), azm: Math.floor(dayMinute / 30) });
      clockFake.__tick(new Date(t));
      collectRaised();
      if (pair.isOpen()) {
        device.batteryLevel = b.charging ? "medium" : b.level <= 5 ? "empty" : b.level <= 25 ? "low" : b.level <= 60 ? "medium" : "high";
        device.lastSyncTime = new Date(t);
      }

      const oor = !!o.outOfRange && dayMinute >= o.outOfRange[0] && dayMinute < o.outOfRange[1];
      if (oor !== outOfRange) {
        outOfRange = oor;
        log(t, oor ? "phone   goes out of range" : "phone   back in range");
      }
      if (minute >= nextDrop) {
        linkDownUntil = t + Math.floor(1 + linkRandom() * 5) * MIN;
        nextDrop = minute + Math.floor(reconnectEvery * (0.5 + linkRandom()));
      }
      minuteNow = minute;
      if (killAt.length && minute >= killAt[0] && companion && armedUntil < 0) {
        killAt.shift();
        if (random() < 0.5) kill("between calls");
        else armedUntil = minute + 120;
      }
      if (armedUntil >= 0 && minute >= armedUntil) kill("(no call came while armed)");
      if (!companion && minute >= restartAt) {
        companion = startOne();
        me.launchReasons = { peerAppLaunched: true };
        log(t, "phone   companion started");
      }
      setLink();
      if (companion && minute % 5 === 0) me.wake();
      await settle();
      if (smsPending.size) await waitForSends(); // within this simulated minute
    }
    // let the last sends drain with the link up
    outOfRange = false;
    linkDownUntil = 0;
    if (!companion) companion = startOne();
    for (let i = 0; i < 30; i++) {
      setLink();
      await vc.advance(MIN);
      if (i % 5 === 0) me.wake();
      await settle();
    }
    await new Promise((res) => setTimeout(res, 200));

    // ---- what the relay saw ----
    const deviceId = storage.getItem(STATE_KEYS.deviceId) || "";
    const events = await r.store.db
      .selectFrom("events")
      .select(["event_id", "kind", "created_at", "answer", "observed_at"])
      .where("device_id", "=", deviceId)
      .orderBy("created_at")
      .orderBy(sql`rowid`) // SQLite: insertion order within one simulated instant
      .execute();
    if (process.env.SIM_DEBUG) for (const e of events) console.log("event", e.event_id, e.observed_at, e.created_at, e.answer);
    const batteryRows = events.filter((e) => e.kind === "battery");
    const recorded = batteryRows.map((e) => e.event_id);
    const recordedDetail = batteryRows.map((e) => ({ id: e.event_id, observedAt: e.observed_at, createdAt: e.created_at, answer: JSON.parse(e.answer) }));
    const deliveries = await r.store.db.selectFrom("deliveries").selectAll().orderBy("created_at").execute();
    const sentBodies = r.outbox ? await r.outbox.list(500) : [];
    const byRef = new Map(sentBodies.map((m) => [m.ref, m]));
    const sms: SimReport["sms"] = [];
    const posts: SimReport["posts"] = [];
    for (const d of deliveries) {
      if (d.channel === "x") posts.push({ at: d.sent_at ?? d.next_attempt_at, kind: d.kind, status: d.status });
      if (d.channel !== "sms" || d.kind === "verification") continue;
      const rec = byRef.get(d.id);
      const crossed = d.event_id ? raisedAt.get(d.event_id) : undefined;
      const smsAt = rec ? Date.parse(rec.createdAt) : NaN;
      const linkUp = crossed !== undefined && !(o.outOfRange && inWindow(crossed, o.outOfRange));
      sms.push({
        at: rec ? rec.createdAt : d.created_at,
        body: rec ? rec.body : d.body,
        kind: d.kind,
        delayMs: crossed !== undefined && smsAt === smsAt ? smsAt - crossed : null,
        linkUp,
        wallMs: d.event_id && raisedWall.has(d.event_id) && sentWall.has(d.event_id) ? Math.round(sentWall.get(d.event_id)! - raisedWall.get(d.event_id)!) : null,
      });
      log(rec ? Date.parse(rec.createdAt) : vc.now(), "relay   SMS to the wearer: " + (rec ? rec.body : "(not sent: " + d.status + ")"));
    }
    let retriesAbsorbed = 0;
    okEvents.forEach((count) => (retriesAbsorbed += count - 1));
    const smsEvents = deliveries.filter((d) => d.channel === "sms" && d.kind === "low_battery" && d.event_id).map((d) => d.event_id as string);
    const duplicates = recorded.length - new Set(recorded).size + (smsEvents.length - new Set(smsEvents).size);
    const recordedSet = new Set(recorded);
    const lost = raised.filter((id) => !recordedSet.has(id)).length;
    const watchOrder = recorded.filter((id) => raisedAt.has(id));
    let outOfOrder = 0;
    for (let i = 1; i < watchOrder.length; i++) if (raisedAt.get(watchOrder[i])! < raisedAt.get(watchOrder[i - 1])!) outOfOrder++;
    const logEntries = pair.log.filter((e) => e.from === "device");
    toPhone.messages = logEntries.length;
    toPhone.bytes = logEntries.reduce((s, e) => s + e.bytes, 0);
    const stats = JSON.parse(storage.getItem("wr.outbox.stats") || '{"dropped":0,"refused":0}');
    return {
      watchMessages: toPhone.messages + toWatch.messages,
      watchBytes: toPhone.bytes + toWatch.bytes,
      toPhone,
      toWatch,
      relayCalls,
      relayCallsByRoute,
      sms,
      posts,
      raised,
      recorded,
      recordedDetail,
      raisedDetail,
      lost,
      duplicates,
      retriesAbsorbed,
      outOfOrder,
      kills,
      dropped: (stats.dropped || 0) + (stats.refused || 0),
      timeline: entries.sort((a, b) => a.at - b.at || a.seq - b.seq).map((e) => e.line),
    };
  } finally {
    if (companion) companion.stop();
    if (watch) watch.stop();
    if (relay) await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function inWindow(ms: number, w: [number, number]): boolean {
  const m = Math.floor((ms - DAY_START) / MIN) % 1440;
  return m >= w[0] && m < w[1];
}

/** "14:00-17:00" -> [840, 1020] */
export function parseWindow(s: string): [number, number] {
  const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(s.trim());
  if (!m) throw new Error("expected HH:MM-HH:MM, got " + s);
  return [Number(m[1]) * 60 + Number(m[2]), Number(m[3]) * 60 + Number(m[4])];
}
