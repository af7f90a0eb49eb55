// One simulated day: the real watch code (app/watch.ts over the device fakes), the real companion
// (companion/companion.ts over the companion fakes) and a real relay (backend, SQLite in a temp dir,
// SMS outbox provider) joined by an in-memory Bluetooth link that loses messages and disconnects.
// A virtual clock drives the watch's `now`, the companion's timers and the relay's clock; the relay's
// own worker runs on real timers, and between simulated minutes the real event loop is let run.
// With `relayUrl` the phone talks to a relay already running instead (its outbox providers on): that
// relay keeps real time, so the simulated day is the day before yesterday and everything it owes
// (the SMS at once, yesterday's summary post, already past its time) shows on its /dev/outbox.
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
import { startRelay, type TestRelay } from "../test/helpers/relay";
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
  /** probability that one Bluetooth message is held back and arrives after the next one, each way */
  reorder?: number;
  /** probability that one Bluetooth message arrives twice, each way */
  duplicate?: number;
  /** prints the timeline as it happens */
  log?: (line: string) => void;
  /** drive a relay already running at this URL (SMS_PROVIDER=outbox) instead of starting one in memory */
  relayUrl?: string;
  /** the simulated day's UTC midnight; default DAY_START, or the day before yesterday with relayUrl */
  dayStart?: number;
  /** the number confirmed; default +14155552671, or a random +1 415 555 number with relayUrl */
  phoneNumber?: string;
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
  /** the relay driven (with relayUrl: recorded/duplicates are what the phone saw, not the relay's tables) */
  relayUrl: string;
  remote: boolean;
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

/** UTC midnight two days before `now`: a day whose summary post is already due on a relay keeping real time. */
export function dayBeforeYesterday(now: number): number {
  return Math.floor(now / 86_400_000) * 86_400_000 - 2 * 86_400_000;
}

interface RelayEvent {
  event_id: string;
  kind: string;
  created_at: string;
  answer: string;
  observed_at: string;
}
interface RelayDelivery {
  id: string;
  channel: string;
  kind: string;
  status: string;
  event_id: string | null;
  created_at: string;
  sent_at: string | null;
  next_attempt_at: string;
  body: string;
}
interface SentSms {
  ref: string;
  to: string;
  body: string;
  createdAt: string;
}

/** What the simulation needs from a relay: the in-memory one reads its tables, a running one is asked over HTTP. */
interface SimRelay {
  url: string;
  remote: boolean;
  /** the worker looks for due work now (a running relay polls on its own) */
  poke(): void;
  /** the confirmation code last sent to a number, as the outbox recorded it */
  code(masked: string, since: number): Promise<string | null>;
  /** resolves when none of these events' SMS is still queued or being sent */
  waitForSends(eventIds: string[], token: string): Promise<boolean>;
  /** battery and summary events recorded for the device (in memory only: a running relay does not list them) */
  events(deviceId: string): Promise<RelayEvent[] | null>;
  deliveries(token: string): Promise<RelayDelivery[]>;
  sentSms(): Promise<SentSms[]>;
  stop(): Promise<void>;
}

async function localRelay(dir: string, vc: VirtualClock): Promise<SimRelay> {
  const relayClock = { now: () => new Date(vc.now()), set: () => undefined, advance: () => undefined };
  const r: TestRelay = await startRelay({ databaseUrl: "file:" + join(dir, "relay.db"), clock: relayClock, env: { SMS_PER_NUMBER_DAILY: "20" } });
  return {
    url: r.url,
    remote: false,
    poke: () => r.running.worker.poke(),
    async code() {
      await new Promise((res) => setTimeout(res, 150)); // the relay's worker records the code SMS
      const sent = r.outbox ? await r.outbox.list(10) : [];
      const m = sent.map((x) => /\b(\d{6})\b/.exec(x.body)).filter(Boolean)[0];
      return m ? m[1] : null;
    },
    async waitForSends(ids) {
      for (let i = 0; i < 100; i++) {
        const open = await r.store.db
          .selectFrom("deliveries")
          .select("id")
          .where("event_id", "in", ids)
          .where("status", "in", ["queued", "sending"])
          .execute();
        if (open.length === 0) return true;
        await new Promise((res) => setTimeout(res, 20));
      }
      return false;
    },
    async events(deviceId) {
      return r.store.db
        .selectFrom("events")
        .select(["event_id", "kind", "created_at", "answer", "observed_at"])
        .where("device_id", "=", deviceId)
        .orderBy("created_at")
        .orderBy(sql`rowid`) // SQLite: insertion order within one simulated instant
        .execute();
    },
    async deliveries() {
      return r.store.db.selectFrom("deliveries").selectAll().orderBy("created_at").execute();
    },
    async sentSms() {
      return r.outbox ? r.outbox.list(500) : [];
    },
    stop: () => r.stop(),
  };
}

/** A relay already running: its /dev/outbox.json and the wearer's own /v1/deliveries. */
export async function remoteRelay(url: string): Promise<SimRelay> {
  const base = url.replace(/\/+$/, "");
  const getJson = async <T>(path: string, token?: string): Promise<{ status: number; body: T | null }> => {
    const res = await fetch(base + path, { headers: token ? { authorization: "Bearer " + token } : {} });
    const text = await res.text();
    let body: T | null = null;
    try {
      body = JSON.parse(text) as T;
    } catch {
      body = null;
    }
    return { status: res.status, body };
  };
  let health: Response;
  try {
    health = await fetch(base + "/healthz");
  } catch (err) {
    throw new Error("no relay answers at " + base + " (start one with `npm run relay`): " + (err as Error).message);
  }
  if (health.status !== 200) throw new Error("the relay at " + base + " answered /healthz with " + health.status);
  const outbox = await getJson<SentSms[]>("/dev/outbox.json");
  if (outbox.status !== 200) throw new Error("the relay at " + base + " has no /dev/outbox: the simulation reads the confirmation code there, so start it with SMS_PROVIDER=outbox (the default)");
  const sentSms = async () => ((await getJson<(SentSms & { channel: string })[]>("/dev/outbox.json")).body || []).filter((m) => m.channel === "sms");
  const deliveries = async (token: string): Promise<RelayDelivery[]> => {
    const got = await getJson<{ id: string; channel: string; kind: string; status: string; createdAt: string; sentAt?: string; eventId?: string }[]>("/v1/deliveries?limit=100", token);
    return (got.body || [])
      .map((d) => ({
        id: d.id,
        channel: d.channel,
        kind: d.kind,
        status: d.status,
        event_id: d.eventId ?? null,
        created_at: d.createdAt,
        sent_at: d.sentAt ?? null,
        next_attempt_at: d.createdAt,
        body: "",
      }))
      .reverse();
  };
  return {
    url: base,
    remote: true,
    poke: () => undefined,
    async code(masked, since) {
      for (let i = 0; i < 100; i++) {
        const rows = await sentSms();
        const m = rows.filter((x) => x.to === masked && Date.parse(x.createdAt) >= since - 1000).map((x) => /\b(\d{6})\b/.exec(x.body)).filter(Boolean)[0];
        if (m) return m[1];
        await new Promise((res) => setTimeout(res, 100));
      }
      return null;
    },
    async waitForSends(ids, token) {
      for (let i = 0; i < 250; i++) {
        const open = (await deliveries(token)).filter((d) => d.event_id && ids.indexOf(d.event_id) >= 0 && (d.status === "queued" || d.status === "sending"));
        if (open.length === 0) return true;
        await new Promise((res) => setTimeout(res, 20));
      }
      return false;
    },
    events: async () => null,
    deliveries,
    sentSms,
    stop: async () => undefined,
  };
}

/**
 * Wraps the companion's end of the link: each message is lost with probability `loss`, both ways;
 * optionally also delivered twice (`duplicate`) or held back until the next message in the same
 * direction has gone through (`reorder`).
 */
function lossyEnd(end: SocketLike, random: () => number, loss: number, counters: SimReport["toWatch"], disorder: { reorder?: number; duplicate?: number } = {}): SocketLike {
  const wrapped = new Map<(e: any) => void, (e: any) => void>();
  const reorder = disorder.reorder ?? 0;
  const duplicate = disorder.duplicate ?? 0;
  let heldOut: unknown[] = [];
  const heldIn = new Map<(e: any) => void, any[]>();
  const disordered = reorder > 0 || duplicate > 0;
  const copies = () => (duplicate > 0 && random() < duplicate ? 2 : 1);
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
      if (!disordered) return end.send(data);
      if (reorder > 0 && random() < reorder) {
        heldOut.push(data); // overtaken by the next message
        return;
      }
      for (let i = copies(); i > 0; i--) end.send(data);
      const late = heldOut;
      heldOut = [];
      for (const d of late) if (end.readyState === end.OPEN) end.send(d);
    },
    addEventListener(type, fn) {
      let w: (e: any) => void = fn;
      if (type === "message" && !disordered) w = (e: any) => (random() < loss ? undefined : fn(e));
      else if (type === "message") {
        w = (e: any) => {
          if (random() < loss) return;
          const held = heldIn.get(fn) ?? [];
          if (reorder > 0 && random() < reorder) {
            held.push(e);
            heldIn.set(fn, held);
            return;
          }
          heldIn.set(fn, []);
          for (let i = copies(); i > 0; i--) fn(e);
          for (const h of held) fn(h);
        };
      }
      wrapped.set(fn, w);
      end.addEventListener(type, w);
    },
    removeEventListener(type, fn) {
      const w = wrapped.get(fn);
      if (w) end.removeEventListener(type, w);
      wrapped.delete(fn);
      heldIn.delete(fn);
    },
  };
}

export async function runSim(o: SimOptions = {}): Promise<SimReport> {
  process.env.TZ = "UTC"; // the watch's local day is the wearer's day (registered as UTC below)
  const dayStart = o.dayStart ?? (o.relayUrl ? dayBeforeYesterday(Date.now()) : DAY_START);
  // a running relay counts alerts per number per (real) day: each run confirms a number of its own
  const phoneNumber = o.phoneNumber ?? (o.relayUrl ? "+1415555" + String(1000 + Math.floor(Math.random() * 9000)) : "+14155552671");
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
  const vc: VirtualClock = createVirtualClock(dayStart, () => settleNow());
  let relay: SimRelay | null = null;
  let watch: Watch | null = null;
  let companion: Companion | null = null;
  try {
    relay = o.relayUrl ? await remoteRelay(o.relayUrl) : await localRelay(dir, vc);
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
    const okOrder: string[] = []; // battery events the relay accepted, in the order the phone saw it
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
          if (res.status === 202) {
            if (!okEvents.has(id) && route === "POST /v1/battery") okOrder.push(id);
            okEvents.set(id, (okEvents.get(id) || 0) + 1);
          }
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
    const companionEnd = lossyEnd(pair.companion as unknown as SocketLike, linkRandom, loss, toWatch, { reorder: o.reorder, duplicate: o.duplicate });
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
      const asked = Date.now();
      settings.pageSet(KEYS.phoneNumber, JSON.stringify({ name: phoneNumber }));
      await settle();
      const code = await r.code(parsePhoneStatus(settings.getItem(KEYS.phoneStatus)).masked || "", asked);
      if (code) {
        settings.pageSet(KEYS.phoneCode, JSON.stringify({ name: code }));
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
      if (await r.waitForSends(ids, storage.getItem(STATE_KEYS.token) || "")) for (const id of ids) sentWall.set(id, performance.now());
    }

    const endMinute = 24 * 60 + 30;
    for (let minute = 1; minute <= endMinute; minute++) {
      const t = dayStart + minute * MIN;
      await vc.advanceTo(t);
      // the relay's worker polls on real timers; in simulated time it looks once a minute
      r.poke();

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
    const token = storage.getItem(STATE_KEYS.token) || "";
    if (r.remote) {
      // a running relay sends on its own schedule: wait (really, at most 20 s) for what is due to leave
      for (let i = 0; i < 100; i++) {
        const open = (await r.deliveries(token)).filter((d) => (d.status === "queued" || d.status === "sending") && Date.parse(d.next_attempt_at) <= Date.now());
        if (open.length === 0) break;
        await new Promise((res) => setTimeout(res, 200));
      }
    }

    // ---- what the relay saw ----
    const deviceId = storage.getItem(STATE_KEYS.deviceId) || "";
    const events = await r.events(deviceId);
    if (process.env.SIM_DEBUG && events) for (const e of events) console.log("event", e.event_id, e.observed_at, e.created_at, e.answer);
    const batteryRows = events ? events.filter((e) => e.kind === "battery") : [];
    const recorded = events ? batteryRows.map((e) => e.event_id) : okOrder;
    const recordedDetail = batteryRows.map((e) => ({ id: e.event_id, observedAt: e.observed_at, createdAt: e.created_at, answer: JSON.parse(e.answer) }));
    const deliveries = await r.deliveries(token);
    const sentBodies = await r.sentSms();
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
        // a running relay stamps its records with real time: no simulated delay to measure
        delayMs: !r.remote && crossed !== undefined && smsAt === smsAt ? smsAt - crossed : null,
        linkUp,
        wallMs: d.event_id && raisedWall.has(d.event_id) && sentWall.has(d.event_id) ? Math.round(sentWall.get(d.event_id)! - raisedWall.get(d.event_id)!) : null,
      });
      const shownAt = r.remote ? (crossed ?? vc.now()) : rec ? Date.parse(rec.createdAt) : vc.now();
      log(shownAt, "relay   SMS to the wearer: " + (rec ? rec.body : "(not sent: " + d.status + ")") + (r.remote && rec ? " (recorded " + rec.createdAt + ")" : ""));
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
      relayUrl: r.url,
      remote: r.remote,
    };
  } finally {
    if (companion) companion.stop();
    if (watch) watch.stop();
    if (relay) await relay.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function inWindow(ms: number, w: [number, number]): boolean {
  const m = Math.floor(ms / MIN) % 1440; // minutes past UTC midnight (the simulated days start at one)
  return m >= w[0] && m < w[1];
}

/** "14:00-17:00" -> [840, 1020] */
export function parseWindow(s: string): [number, number] {
  const m = /^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$/.exec(s.trim());
  if (!m) throw new Error("expected HH:MM-HH:MM, got " + s);
  return [Number(m[1]) * 60 + Number(m[2]), Number(m[3]) * 60 + Number(m[4])];
}
