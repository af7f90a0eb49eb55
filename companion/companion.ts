// The companion as a function of its host: startCompanion(host) wires the link, the settings,
// the outbox and the relay client; stop() detaches it (a simulation kills and restarts it).
import { BatteryMsg, PhoneMsg, PROTOCOL_VERSION, ResultKind, SummaryMsg, WatchMsg } from "../common/protocol";
import {
  Diagnostics,
  GoogleGranted,
  GoogleStatus,
  KEYS,
  MORE_KEYS,
  parseCode,
  parseGoogleStatus,
  parseCountry,
  parsePhoneNumber,
  parsePhoneStatus,
  parseRelayUrl,
  parseText,
  parseXStatus,
  PhoneStatus,
  XStatus,
} from "../common/settings";
import { CompanionHost, KeyValueStore, SettingsStore, StorageChange } from "./host";
import { createLink, Link } from "./link";
import { createOutbox, Outbox, OutboxItem, SendOutcome } from "./outbox";
import { createRelayClient, RelayErr, RelayResult } from "./relay-client";
import { resultOfBatteryAnswer, resultOfRefusal, smsFate } from "./results";
import { COMPANION_KEYS, readLanguage, readPreferences, readWatchSettings, writeStatus, writeToggleDefaults } from "./settings-sync";
import { phoneBatteryEvent } from "./watch-view";

export const WAKE_INTERVAL_MS = 300000;
/** Heartbeats at most this often (the relay's silence alert works in hours; calls cost budget). */
export const HEARTBEAT_MS = 2 * 3600 * 1000;
/** How often to ask GET /v1/me while waiting for the wearer (X approval, code) / otherwise. */
const ME_PENDING_MS = 15 * 60 * 1000;
const ME_IDLE_MS = 12 * 3600 * 1000;
const PENDING_WINDOW_MS = 2 * 3600 * 1000;
/** After this many failed tries the face is told the relay is unreachable (once per event). */
const RELAY_DOWN_AFTER = 3;

/** localStorage keys (the companion's own state; the token lives only here). */
/** The relay's bounds (backend/src/http/schemas.ts) that the watch protocol's guards are wider than. */
const MAX_TIME_LEFT_MIN = 20_160;
const MAX_DISTANCE_M = 1_000_000;

/** YYYY-MM-DD that names a real day (the relay refuses 2026-02-30) */
function isCalendarDate(d: string): boolean {
  const t = Date.parse(d + "T00:00:00Z");
  return t === t && new Date(t).toISOString().slice(0, 10) === d;
}

export const STATE_KEYS = {
  token: "wr.token",
  deviceId: "wr.deviceId",
  relay: "wr.relay",
  sync: "wr.sync",
  heartbeat: "wr.heartbeat",
  relayContact: "wr.relayContact",
  watchContact: "wr.watchContact",
  meCheck: "wr.meCheck",
  lastEventAt: "wr.lastEventAt",
  registeredAt: "wr.registeredAt",
  awaiting: "wr.awaiting",
};

/** How long after an SMS was queued the companion asks the relay what became of it. */
const RESULT_CHECK_MS = 30 * 1000;
/** Events whose SMS fate is still unknown are forgotten after this long, and at most this many kept. */
const AWAITING_MAX_AGE_MS = 24 * 3600 * 1000;
const AWAITING_MAX = 8;

/** What was last sent to the relay (or handled) per setting, so a restart reconciles only changes. */
interface SyncState {
  prefs?: string;
  language?: string;
  phone?: string;
  code?: string;
  sendCode?: string;
  xLink?: string;
  xUnlink?: string;
  googleLink?: string;
  googleUnlink?: string;
  forgetMe?: string;
  preview?: string;
}

export interface CompanionOptions {
  heartbeatMs?: number;
  requestTimeoutMs?: number;
  outboxMaxItems?: number;
  outboxMaxAgeMs?: number;
  retryBaseMs?: number;
}

export interface Companion {
  /** what a wake-up does: reconcile, flush, heartbeat, phone fallback */
  wake(): Promise<void>;
  /** resolves once nothing is in flight */
  idle(): Promise<void>;
  stop(): void;
}

export function startCompanion(host: CompanionHost, options?: CompanionOptions): Companion {
  const opts = options || {};
  const heartbeatMs = opts.heartbeatMs || HEARTBEAT_MS;
  let stopped = false;
  const clock = host.clock;
  const now = () => clock.now();

  // After stop() nothing this instance started may touch storage, settings or the link: a killed
  // process writes nothing, and a simulation must not see a ghost.
  const storage: KeyValueStore = {
    getItem: (k) => host.storage.getItem(k),
    setItem: (k, v) => {
      if (!stopped) host.storage.setItem(k, v);
    },
    removeItem: (k) => {
      if (!stopped) host.storage.removeItem(k);
    },
  };
  const settings: SettingsStore = {
    getItem: (k) => host.settings.getItem(k),
    setItem: (k, v) => {
      if (!stopped) host.settings.setItem(k, v);
    },
    removeItem: (k) => {
      if (!stopped) host.settings.removeItem(k);
    },
    addEventListener: (t, l) => host.settings.addEventListener(t, l),
    removeEventListener: (t, l) => host.settings.removeEventListener(t, l),
  };

  function makeOutbox(): Outbox {
    return createOutbox(storage, {
      now: now,
      random: host.random,
      maxItems: opts.outboxMaxItems,
      maxAgeMs: opts.outboxMaxAgeMs,
      baseDelayMs: opts.retryBaseMs,
    });
  }
  let outbox = makeOutbox();

  const relay = createRelayClient({
    // a stopped instance makes no more calls (its promise chains may still be running)
    fetch: (url, init) => (stopped ? Promise.reject(new Error("stopped")) : host.fetch(url, init)),
    clock: clock,
    timeoutMs: opts.requestTimeoutMs,
    baseUrl: relayUrl,
    token: () => storage.getItem(STATE_KEYS.token),
    onCall: (_m, _p, status) => {
      if (status > 0) storage.setItem(STATE_KEYS.relayContact, String(now()));
    },
  });

  // ---- in-flight tracking, so tests and the simulation can wait for quiet ----
  let inflight = 0;
  let waiters: (() => void)[] = [];
  function track<T>(p: Promise<T>): Promise<T> {
    inflight++;
    const done = () => {
      inflight--;
      if (inflight === 0) {
        const w = waiters;
        waiters = [];
        for (let i = 0; i < w.length; i++) w[i]();
      }
    };
    p.then(done, done);
    return p;
  }
  // settings work runs one task at a time, in order
  let chain: Promise<void> = Promise.resolve();
  function serial(task: () => Promise<void>): Promise<void> {
    chain = chain.then(() => (stopped ? undefined : task())).then(
      () => undefined,
      () => undefined,
    );
    return track(chain);
  }

  // ---- small state helpers ----
  function num(key: string): number {
    const n = Number(storage.getItem(key));
    return n === n ? n : 0;
  }
  function sync(): SyncState {
    try {
      const v = JSON.parse(storage.getItem(STATE_KEYS.sync) || "{}");
      return v && typeof v === "object" ? v : {};
    } catch (e) {
      return {};
    }
  }
  function setSync(patch: SyncState): void {
    const s = sync() as { [k: string]: unknown };
    for (const k in patch) s[k] = (patch as { [k: string]: unknown })[k];
    storage.setItem(STATE_KEYS.sync, JSON.stringify(s));
  }
  function relayUrl(): string {
    const p = parseRelayUrl(host.settings.getItem(KEYS.relayUrl));
    return p.ok && p.value ? p.value : host.defaultRelayUrl.replace(/\/+$/, "");
  }
  function offset(ms: number): number {
    return host.utcOffsetMinutes ? host.utcOffsetMinutes(ms) : -new Date(ms).getTimezoneOffset();
  }
  function setPhoneStatus(st: PhoneStatus): void {
    st.at = now();
    writeStatus(settings, KEYS.phoneStatus, st);
  }
  function setXStatus(st: XStatus): void {
    st.at = now();
    writeStatus(settings, KEYS.xStatus, st);
  }
  function setGoogleStatus(st: GoogleStatus): void {
    st.at = now();
    writeStatus(settings, MORE_KEYS.googleStatus, st);
  }
  function phoneError(r: RelayErr, masked?: string): PhoneStatus {
    return { state: "error", code: r.code, detail: r.detail, masked: masked };
  }

  // ---- registration ----
  let registering: Promise<boolean> | null = null;
  function ensureRegistered(): Promise<boolean> {
    if (storage.getItem(STATE_KEYS.token) && storage.getItem(STATE_KEYS.relay) === relayUrl()) {
      return Promise.resolve(true);
    }
    if (registering) return registering;
    const previous = storage.getItem(STATE_KEYS.relay);
    if (previous && previous !== relayUrl()) {
      // another relay knows nothing of this wearer: what the page showed was about the old one
      setPhoneStatus({ state: "none" });
      setXStatus({ state: "none" });
      setGoogleStatus({ state: "none" });
      setSync({ phone: undefined, code: undefined, preview: undefined });
    }
    storage.removeItem(STATE_KEYS.token);
    const body = {
      timezone: host.timezone,
      language: readLanguage(settings, host.locale),
      model: host.device.modelName || undefined,
    };
    registering = relay
      .call<{ deviceId?: string; token?: string }>("POST", "/v1/devices", body, false)
      .then((r) => {
        registering = null;
        if (!r.ok || !r.body || typeof r.body.token !== "string") return false;
        storage.setItem(STATE_KEYS.token, r.body.token);
        storage.setItem(STATE_KEYS.deviceId, String(r.body.deviceId || ""));
        storage.setItem(STATE_KEYS.relay, relayUrl());
        storage.setItem(STATE_KEYS.registeredAt, String(now()));
        // a new identity on the relay knows nothing yet: send preferences again; the number is not
        // re-sent by itself (a code costs an SMS): the wearer presses "Send code" again
        setSync({ prefs: undefined, language: undefined, code: undefined });
        return true;
      });
    return registering;
  }

  /** An authenticated call; a 401 re-registers once and asks the wearer to confirm the number again. */
  function authed<T>(method: string, path: string, body?: unknown): Promise<RelayResult<T>> {
    return ensureRegistered().then((ok) => {
      if (!ok) return notRegistered();
      return relay.call<T>(method, path, body).then((r) => {
        if (r.ok || r.status !== 401) return r;
        const hadPhone = parsePhoneStatus(settings.getItem(KEYS.phoneStatus)).state !== "none";
        storage.removeItem(STATE_KEYS.token);
        if (hadPhone) setPhoneStatus({ state: "reconfirm" });
        const x = parseXStatus(settings.getItem(KEYS.xStatus));
        if (x.state !== "none") setXStatus({ state: "none" });
        if (parseGoogleStatus(settings.getItem(MORE_KEYS.googleStatus)).state !== "none") setGoogleStatus({ state: "none" });
        return ensureRegistered().then((again) => {
          if (!again) return notRegistered();
          void serial(reconcile); // preferences go to the new identity
          return relay.call<T>(method, path, body);
        });
      });
    });
  }
  function notRegistered(): RelayErr {
    return { ok: false, status: 0, code: "not_registered", transient: true };
  }

  // ---- the watch ----
  const pendingToWatch: PhoneMsg[] = [];
  const link: Link = createLink(host.socket, {
    message: onWatchMessage,
    open: () => {
      if (stopped) return;
      sendWatchSettings(true);
      while (pendingToWatch.length > 0 && link.send(pendingToWatch[0])) pendingToWatch.shift();
    },
  });
  function toWatch(msg: PhoneMsg, keepIfClosed: boolean): void {
    if (stopped) return;
    if (link.send(msg)) return;
    if (!keepIfClosed) return;
    pendingToWatch.push(msg);
    while (pendingToWatch.length > 8) pendingToWatch.shift();
  }
  // the face stores its settings: send them when they change, and on every new connection
  let lastSettingsSent = "";
  function sendWatchSettings(force?: boolean): void {
    const msg = readWatchSettings(settings, host.locale);
    const key = JSON.stringify(msg.s);
    if (!force && key === lastSettingsSent) return;
    if (link.send(msg)) lastSettingsSent = key;
  }

  function onWatchMessage(msg: WatchMsg): void {
    if (stopped) return;
    storage.setItem(STATE_KEYS.watchContact, String(now()));
    if (msg.t === "hi") {
      sendWatchSettings(true);
      flush();
      return;
    }
    // persist first, acknowledge second: an ack means "safe on the phone"
    // a summary the relay could never accept (a date that does not exist) is acknowledged and dropped
    const request = msg.t === "bat" ? batteryRequest(msg) : summaryRequest(msg);
    if (!outbox.seen(msg.id) && request) {
      outbox.add(msg.id, request);
      if (msg.t === "bat") storage.setItem(STATE_KEYS.lastEventAt, String(Math.max(num(STATE_KEYS.lastEventAt), msg.at * 1000)));
    }
    toWatch({ v: PROTOCOL_VERSION, t: "ack", ids: [msg.id] }, false);
    writeDiagnostics();
    flush();
  }

  function batteryRequest(m: BatteryMsg) {
    const body: { [k: string]: unknown } = {
      eventId: m.id,
      level: Math.round(m.lvl),
      charging: m.chg,
      observedAt: new Date(m.at * 1000).toISOString(),
      source: "watch",
    };
    // an estimate beyond the relay's bound says nothing useful and would get the alert refused
    if (m.left !== undefined && Math.round(m.left) <= MAX_TIME_LEFT_MIN) body.timeLeftMinutes = Math.round(m.left);
    return { method: "POST", path: "/v1/battery", body: body };
  }
  function summaryRequest(m: SummaryMsg) {
    if (!isCalendarDate(m.d)) return null;
    const activity: { [k: string]: unknown } = { steps: m.st, distanceMeters: Math.min(m.dm, MAX_DISTANCE_M), calories: m.cal };
    if (m.fl !== undefined) activity.floors = m.fl;
    if (m.azm !== undefined) activity.activeZoneMinutes = m.azm;
    const body: { [k: string]: unknown } = { eventId: m.id, date: m.d, activity: activity };
    if (m.slp !== undefined) body.sleep = { minutesAsleep: m.slp, estimated: true };
    return { method: "POST", path: "/v1/summaries", body: body };
  }

  // ---- the outbox ----
  let retryTimer: unknown = null;
  function flush(): Promise<void> {
    if (stopped) return Promise.resolve();
    return track(
      outbox.flush(sendItem, onOutcome).then(() => {
        writeDiagnostics();
        scheduleRetry();
      }),
    );
  }
  function sendItem(item: OutboxItem): Promise<SendOutcome> {
    return authed<unknown>(item.method, item.path, item.body).then((r): SendOutcome => {
      if (r.ok) return { kind: "done", answer: r.body };
      if (r.transient || r.status === 401) return { kind: "transient", reason: r.code };
      return { kind: "permanent", reason: r.code };
    });
  }
  function onOutcome(item: OutboxItem, outcome: SendOutcome): void {
    if (item.path !== "/v1/battery") return;
    let k: ResultKind | null = null;
    if (outcome.kind === "done") k = resultOfBatteryAnswer(outcome.answer);
    else if (outcome.kind === "permanent") k = resultOfRefusal(outcome.reason);
    else if (item.attempts + 1 === RELAY_DOWN_AFTER) k = "relay_down";
    if (k && item.id.indexOf("ph-") !== 0) toWatch({ v: PROTOCOL_VERSION, t: "res", id: item.id, k: k, at: Math.floor(now() / 1000) }, true);
    if (k === "sms_queued" || k === "quiet") awaitResult(item.id);
  }

  // ---- what became of a queued SMS: sent (and when) or failed, for the face ----
  let resultTimer: unknown = null;
  function readAwaiting(): { id: string; at: number }[] {
    let list: unknown;
    try {
      list = JSON.parse(storage.getItem(STATE_KEYS.awaiting) || "[]");
    } catch (e) {
      list = [];
    }
    const out: { id: string; at: number }[] = [];
    if (!(list instanceof Array)) return out;
    for (let i = 0; i < list.length; i++) {
      const a = list[i] as { id?: unknown; at?: unknown };
      if (a && typeof a.id === "string" && typeof a.at === "number" && now() - a.at < AWAITING_MAX_AGE_MS) out.push({ id: a.id, at: a.at });
    }
    return out;
  }
  function awaitResult(id: string): void {
    const list = readAwaiting().filter((a) => a.id !== id);
    list.push({ id: id, at: now() });
    while (list.length > AWAITING_MAX) list.shift();
    storage.setItem(STATE_KEYS.awaiting, JSON.stringify(list));
    if (resultTimer === null && !stopped) {
      resultTimer = clock.setTimeout(() => {
        resultTimer = null;
        void serial(checkResults);
      }, RESULT_CHECK_MS);
    }
  }
  function checkResults(): Promise<void> {
    const awaiting = readAwaiting();
    if (awaiting.length === 0 || !storage.getItem(STATE_KEYS.token)) return Promise.resolve();
    return authed<unknown>("GET", "/v1/deliveries?limit=20").then((r) => {
      if (!r.ok || !(r.body instanceof Array)) return;
      const rows = r.body as { eventId?: unknown; status?: unknown; sentAt?: unknown; channel?: unknown }[];
      const left: { id: string; at: number }[] = [];
      for (let i = 0; i < awaiting.length; i++) {
        const a = awaiting[i];
        let row: { status?: unknown; sentAt?: unknown } | null = null;
        for (let j = 0; j < rows.length; j++) if (rows[j] && rows[j].eventId === a.id && rows[j].channel === "sms") row = rows[j];
        const fate = row ? smsFate(row.status) : null;
        if (!fate) {
          left.push(a);
          continue;
        }
        if (fate === "none") continue; // cancelled: forget it without overwriting what the face shows
        const sentAt = row && typeof row.sentAt === "string" ? Date.parse(row.sentAt) : NaN;
        const at = Math.floor((fate === "sms_sent" && sentAt === sentAt ? sentAt : now()) / 1000);
        toWatch({ v: PROTOCOL_VERSION, t: "res", id: a.id, k: fate, at: at }, true);
      }
      storage.setItem(STATE_KEYS.awaiting, JSON.stringify(left));
    });
  }
  function scheduleRetry(): void {
    if (stopped) return;
    if (retryTimer !== null) clock.clearTimeout(retryTimer);
    retryTimer = null;
    if (outbox.size() === 0) return;
    const wait = Math.max(1000, outbox.nextAt() - now());
    retryTimer = clock.setTimeout(() => {
      retryTimer = null;
      flush();
    }, wait);
  }

  function writeDiagnostics(): void {
    const st = outbox.stats();
    const d: Diagnostics = {
      lastRelayContact: num(STATE_KEYS.relayContact),
      queue: outbox.size(),
      dropped: st.dropped + st.refused,
      lastWatchContact: num(STATE_KEYS.watchContact),
      registered: !!storage.getItem(STATE_KEYS.token),
    };
    writeStatus(settings, KEYS.diagnostics, d);
  }

  // ---- settings -> relay ----
  function fieldError(key: string, error: string | null): void {
    let all: { [k: string]: string } = {};
    try {
      const v = JSON.parse(settings.getItem(KEYS.settingsError) || "{}");
      if (v && typeof v === "object" && !(v instanceof Array)) all = v;
    } catch (e) {
      all = {};
    }
    if (error) all[key] = error;
    else delete all[key];
    writeStatus(settings, KEYS.settingsError, Object.keys(all).length ? all : null);
  }

  function reconcile(): Promise<void> {
    const s = sync();
    const relayCheck = parseRelayUrl(settings.getItem(KEYS.relayUrl));
    fieldError(KEYS.relayUrl, relayCheck.ok ? null : relayCheck.error);

    const forget = settings.getItem(KEYS.forgetMe);
    if (forget && forget !== s.forgetMe) return forgetMe(forget);

    const { prefs, errors } = readPreferences(settings);
    for (const k of [KEYS.thresholds, KEYS.quietStart, KEYS.quietEnd, KEYS.summaryTime]) {
      let e: string | null = null;
      for (let i = 0; i < errors.length; i++) if (errors[i].key === k) e = errors[i].error;
      fieldError(k, e);
    }
    sendWatchSettings();
    const language = readLanguage(settings, host.locale);
    const patch = JSON.stringify({ timezone: host.timezone, language: language, preferences: prefs });
    const sent = relayUrl() + " " + patch; // another relay has to hear them too
    let p: Promise<unknown> = Promise.resolve();
    if (sent !== s.prefs) {
      p = p.then(() =>
        authed("PATCH", "/v1/me", JSON.parse(patch)).then((r) => {
          if (r.ok) {
            setSync({ prefs: sent });
            fieldError("relay", null);
            return refreshPreview(true);
          }
          if (!r.transient) {
            setSync({ prefs: sent }); // refused for good: do not resend until something changes
            fieldError("relay", r.code + (r.detail ? ": " + r.detail : ""));
          }
        }),
      );
    }
    p = p.then(() => syncPhone());
    p = p.then(() => syncCode());
    p = p.then(() => syncXLink());
    p = p.then(() => syncXUnlink());
    p = p.then(() => syncGoogle());
    return p.then(() => writeDiagnostics());
  }

  function syncPhone(): Promise<void> {
    const s = sync();
    const pressed = settings.getItem(KEYS.sendCode);
    const isPress = !!pressed && pressed !== s.sendCode;
    const rawNumber = settings.getItem(KEYS.phoneNumber);
    if (!isPress && !rawNumber) return Promise.resolve();
    const number = parsePhoneNumber(rawNumber);
    const country = parseCountry(settings.getItem(KEYS.phoneCountry));
    if (!number.ok) {
      if (isPress) {
        setSync({ sendCode: pressed as string });
        setPhoneStatus({ state: "error", code: "invalid_input", detail: number.error });
      }
      fieldError(KEYS.phoneNumber, number.error);
      return Promise.resolve();
    }
    fieldError(KEYS.phoneNumber, null);
    const wanted = country + " " + number.value;
    if (!isPress && wanted === s.phone) return Promise.resolve();
    setPhoneStatus({ state: "sending" });
    return authed<{ masked?: string; verified?: boolean }>("PUT", "/v1/me/phone", { number: number.value, country: country }).then((r) => {
      if (r.ok) {
        setSync({ phone: wanted, sendCode: pressed || s.sendCode, code: undefined });
        // 200 verified: the number was already confirmed, and no code was sent
        setPhoneStatus({ state: r.body && r.body.verified ? "confirmed" : "code_sent", masked: r.body && r.body.masked });
        return;
      }
      if (!r.transient) setSync({ phone: wanted, sendCode: pressed || s.sendCode });
      setPhoneStatus(phoneError(r));
    });
  }

  function syncCode(): Promise<void> {
    const raw = settings.getItem(KEYS.phoneCode);
    if (!raw) return Promise.resolve();
    const text = parseText(raw);
    if (text === sync().code) return Promise.resolve();
    const code = parseCode(raw);
    if (!code.ok) {
      fieldError(KEYS.phoneCode, code.error);
      return Promise.resolve();
    }
    fieldError(KEYS.phoneCode, null);
    return authed<{ masked?: string }>("POST", "/v1/me/phone/verify", { code: code.value }).then((r) => {
      if (r.ok) {
        setSync({ code: text });
        setPhoneStatus({ state: "confirmed", masked: r.body && r.body.masked });
        settings.removeItem(KEYS.phoneCode); // used up; a stale code must not be replayed
        return;
      }
      if (!r.transient) setSync({ code: text });
      setPhoneStatus(phoneError(r, parsePhoneStatus(settings.getItem(KEYS.phoneStatus)).masked));
    });
  }

  function syncXLink(): Promise<void> {
    const pressed = settings.getItem(KEYS.xLink);
    if (!pressed || pressed === sync().xLink) return Promise.resolve();
    setXStatus({ state: "requesting" });
    return authed<{ url?: string }>("POST", "/v1/x/link").then((r) => {
      if (r.ok && r.body && typeof r.body.url === "string") {
        setSync({ xLink: pressed });
        setXStatus({ state: "open_url", url: r.body.url });
        storage.setItem(STATE_KEYS.meCheck, "0");
        return;
      }
      if (r.ok || !r.transient) setSync({ xLink: pressed });
      setXStatus(r.ok ? { state: "error", code: "bad_answer" } : { state: "error", code: r.code, detail: r.detail });
    });
  }

  /** Unlink X: DELETE /v1/me/x (the relay revokes at X and forgets the tokens). */
  function syncXUnlink(): Promise<void> {
    const pressed = settings.getItem(MORE_KEYS.xUnlink);
    if (!pressed || pressed === sync().xUnlink) return Promise.resolve();
    // a Link X pressed after this Unlink wins: it is handled (or was) by syncXLink
    const link = settings.getItem(KEYS.xLink);
    if (link && Number(link) > Number(pressed) && link === sync().xLink) {
      setSync({ xUnlink: pressed });
      return Promise.resolve();
    }
    setXStatus({ state: "unlinking" });
    return authed("DELETE", "/v1/me/x").then((r) => {
      if (r.ok || !r.transient) setSync({ xUnlink: pressed });
      setXStatus(r.ok ? { state: "none" } : { state: "error", code: r.code, detail: r.detail });
    });
  }

  /** Connect or unlink Google Health: the newer of the two presses decides. */
  function syncGoogle(): Promise<void> {
    const s = sync();
    const link = settings.getItem(MORE_KEYS.googleLink);
    const unlink = settings.getItem(MORE_KEYS.googleUnlink);
    const linkNew = !!link && link !== s.googleLink;
    const unlinkNew = !!unlink && unlink !== s.googleUnlink;
    if (!linkNew && !unlinkNew) return Promise.resolve();
    if (unlinkNew && (!linkNew || Number(unlink) >= Number(link))) {
      setGoogleStatus({ state: "unlinking" });
      return authed("DELETE", "/v1/me/google").then((r) => {
        if (r.ok || !r.transient) setSync(linkNew ? { googleUnlink: unlink as string, googleLink: link as string } : { googleUnlink: unlink as string });
        setGoogleStatus(r.ok ? { state: "none" } : { state: "error", code: r.code, detail: r.detail });
      });
    }
    setGoogleStatus({ state: "requesting" });
    return authed<{ url?: string }>("POST", "/v1/google/link").then((r) => {
      const done = unlinkNew ? { googleLink: link as string, googleUnlink: unlink as string } : { googleLink: link as string };
      if (r.ok && r.body && typeof r.body.url === "string") {
        setSync(done);
        setGoogleStatus({ state: "open_url", url: r.body.url });
        storage.setItem(STATE_KEYS.meCheck, "0");
        return;
      }
      if (r.ok || !r.transient) setSync(done);
      setGoogleStatus(r.ok ? { state: "error", code: "bad_answer" } : { state: "error", code: r.code, detail: r.detail });
    });
  }

  function refreshPreview(force: boolean): Promise<void> {
    const local = now() + offset(now()) * 60000;
    const day = new Date(local).toISOString().slice(0, 10) + readLanguage(settings, host.locale);
    if (!force && sync().preview === day) return Promise.resolve();
    // the preview shows what tonight's post of yesterday would say
    const yesterday = new Date(local - 86400000).toISOString().slice(0, 10);
    return authed<{ text?: string; posts?: { text?: string }[] }>("GET", "/v1/summaries/preview?date=" + yesterday).then((r) => {
      if (r.ok) {
        const b = r.body || {};
        let text = typeof b.text === "string" ? b.text : "";
        if (!text && b.posts instanceof Array) text = b.posts.map((x) => (x && typeof x.text === "string" ? x.text : "")).join("\n\n");
        writeStatus(settings, KEYS.preview, { state: "ok", text: text.slice(0, 2000), at: now() });
        setSync({ preview: day });
      } else if (r.status === 404 || r.status === 405) {
        writeStatus(settings, KEYS.preview, { state: "unavailable", at: now() });
        setSync({ preview: day });
      } else if (!r.transient) {
        // a refusal is not retried on every wake-up: once a day, or when the page asks again
        writeStatus(settings, KEYS.preview, { state: "error", code: r.code, at: now() });
        setSync({ preview: day });
      }
    });
  }

  function forgetMe(pressed: string): Promise<void> {
    const registered = !!storage.getItem(STATE_KEYS.token) && storage.getItem(STATE_KEYS.relay) === relayUrl();
    const p: Promise<RelayResult<unknown> | null> = registered ? relay.call("DELETE", "/v1/me") : Promise.resolve(null);
    return p.then((r) => {
      if (r && !r.ok && r.status !== 401 && r.status !== 404) {
        fieldError(KEYS.forgetMe, r.code + (r.detail ? ": " + r.detail : ""));
        return; // not erased yet: the press stays unhandled and is retried at the next wake
      }
      outbox.clear();
      outbox = makeOutbox();
      for (const k in STATE_KEYS) storage.removeItem((STATE_KEYS as { [k: string]: string })[k]);
      storage.setItem(
        STATE_KEYS.sync,
        JSON.stringify({
          forgetMe: pressed,
          sendCode: settings.getItem(KEYS.sendCode),
          xLink: settings.getItem(KEYS.xLink),
          xUnlink: settings.getItem(MORE_KEYS.xUnlink),
          googleLink: settings.getItem(MORE_KEYS.googleLink),
          googleUnlink: settings.getItem(MORE_KEYS.googleUnlink),
        }),
      );
      for (const k of [KEYS.phoneNumber, KEYS.phoneCode]) settings.removeItem(k);
      for (const k of COMPANION_KEYS) settings.removeItem(k);
      writeDiagnostics();
    });
  }

  // ---- wake-up work ----
  function checkMe(): Promise<void> {
    const phone = parsePhoneStatus(settings.getItem(KEYS.phoneStatus));
    const x = parseXStatus(settings.getItem(KEYS.xStatus));
    const google = parseGoogleStatus(settings.getItem(MORE_KEYS.googleStatus));
    // waiting for the wearer (approve on X or Google, type the code) is checked often, but only for a while
    const fresh = (at?: number) => !!at && now() - at < PENDING_WINDOW_MS;
    const pending = (x.state === "open_url" && fresh(x.at)) || (google.state === "open_url" && fresh(google.at)) || (phone.state === "code_sent" && fresh(phone.at));
    const watching = pending || phone.state === "confirmed" || x.state === "linked" || google.state === "linked" || google.state === "broken";
    if (!watching || !storage.getItem(STATE_KEYS.token)) return Promise.resolve();
    if (now() - num(STATE_KEYS.meCheck) < (pending ? ME_PENDING_MS : ME_IDLE_MS)) return Promise.resolve();
    storage.setItem(STATE_KEYS.meCheck, String(now()));
    return authed<{
      phone?: { masked?: string; verified?: boolean; optedOut?: boolean } | null;
      x?: { linked?: boolean; username?: string };
      google?: { linked?: boolean; status?: string; granted?: GoogleGranted };
    }>("GET", "/v1/me").then((r) => {
      if (!r.ok || !r.body) return;
      const ph = r.body.phone;
      if (ph && ph.optedOut) setPhoneStatus({ state: "opted_out", masked: ph.masked });
      else if (ph && ph.verified) setPhoneStatus({ state: "confirmed", masked: ph.masked });
      const xr = r.body.x;
      if (xr && xr.linked) setXStatus({ state: "linked", username: xr.username });
      else if (x.state === "linked") setXStatus({ state: "none" });
      const g = r.body.google;
      if (g && g.linked) {
        const state = g.status === "broken" ? "broken" : "linked";
        const granted = g.granted ? { activity: g.granted.activity === true, sleep: g.granted.sleep === true, settings: g.granted.settings === true } : undefined;
        const was = google.granted;
        const same = was && granted && was.activity === granted.activity && was.sleep === granted.sleep && was.settings === granted.settings;
        if (google.state !== state || !same) setGoogleStatus({ state: state, granted: granted });
      } else if (google.state === "linked" || google.state === "broken") setGoogleStatus({ state: "none" });
    });
  }

  function heartbeat(): Promise<void> {
    if (!storage.getItem(STATE_KEYS.token)) return Promise.resolve();
    if (now() - Math.max(num(STATE_KEYS.heartbeat), num(STATE_KEYS.relayContact)) < heartbeatMs) return Promise.resolve();
    // A heartbeat says "the phone is alive" (the relay's silence alert counts from it). Its observedAt
    // is the newest battery observation already queued, never later: the relay treats battery events
    // older than its last observation as out of order, and a watch event may still be on its way.
    const body: { [k: string]: unknown } = {
      observedAt: new Date(num(STATE_KEYS.lastEventAt) || num(STATE_KEYS.registeredAt) || now()).toISOString(),
    };
    return authed("POST", "/v1/heartbeat", body).then((r) => {
      if (r.ok) storage.setItem(STATE_KEYS.heartbeat, String(now()));
    });
  }

  function phoneFallback(): void {
    // an open link means the face is running and reports for itself
    if (link.isOpen()) {
      storage.setItem(STATE_KEYS.watchContact, String(now()));
      return;
    }
    const ev = phoneBatteryEvent(host.device, now(), num(STATE_KEYS.watchContact), offset(now()));
    if (!ev || outbox.seen(ev.id)) return;
    outbox.add(ev.id, {
      method: "POST",
      path: "/v1/battery",
      body: { eventId: ev.id, level: ev.level, charging: false, observedAt: new Date(now()).toISOString(), source: "phone" },
    });
    storage.setItem(STATE_KEYS.lastEventAt, String(now()));
  }

  function wake(): Promise<void> {
    if (stopped) return Promise.resolve();
    phoneFallback();
    return serial(() =>
      reconcile()
        .then(() => flush())
        .then(() => heartbeat())
        .then(() => checkResults())
        .then(() => checkMe())
        .then(() => (storage.getItem(STATE_KEYS.token) ? refreshPreview(false) : undefined))
        .then(() => writeDiagnostics()),
    );
  }

  // ---- wiring ----
  const onChange = (e: StorageChange) => {
    if (stopped || !e || (e.key !== null && COMPANION_KEYS.indexOf(e.key) >= 0)) return;
    serial(reconcile).then(() => flush());
  };
  const onWake = () => {
    void wake();
  };
  const onUnload = () => stop();
  settings.addEventListener("change", onChange);
  host.me.addEventListener("wakeinterval", onWake);
  host.me.addEventListener("unload", onUnload);
  try {
    host.me.wakeInterval = WAKE_INTERVAL_MS;
  } catch (e) {
    // a host refusing the interval keeps the package default (companionDefaultWakeInterval)
  }

  writeToggleDefaults(settings);
  // Every launch (woken, settings changed while away, face launched) reconciles once: the page may
  // have changed while the companion was not running, and the outbox may hold events.
  void wake();

  function stop(): void {
    if (stopped) return;
    stopped = true;
    if (retryTimer !== null) clock.clearTimeout(retryTimer);
    if (resultTimer !== null) clock.clearTimeout(resultTimer);
    settings.removeEventListener("change", onChange);
    host.me.removeEventListener("wakeinterval", onWake);
    host.me.removeEventListener("unload", onUnload);
    link.close();
  }

  return {
    wake: wake,
    idle() {
      if (inflight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    stop: stop,
  };
}
