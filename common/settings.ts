// Settings keys and defaults, shared by the settings page, the companion and the watch.
// settingsStorage holds strings; Fitbit's settings components write JSON in their own shapes
// (Toggle: "true"; TextInput: {"name":"..."}; Select: {"selected":[i],"values":[{name,value}]}).
// The parsers below accept all of them and never throw. Pure: imports nothing.

/** Every settingsStorage key, named once. */
export const KEYS = {
  // phone alerts (written by the page)
  phoneNumber: "phoneNumber",
  phoneCountry: "phoneCountry",
  phoneCode: "phoneCode",
  sendCode: "sendCode",
  thresholds: "thresholds",
  quietEnabled: "quietEnabled",
  quietStart: "quietStart",
  quietEnd: "quietEnd",
  sms: "sms",
  silenceAlert: "silenceAlert",
  // daily posts on X
  xLink: "xLink",
  postActivity: "postActivity",
  postSleep: "postSleep",
  summaryTime: "summaryTime",
  language: "language",
  // advanced
  relayUrl: "relayUrl",
  forgetMe: "forgetMe",
  // written by the companion for the page to show
  phoneStatus: "phoneStatus",
  xStatus: "xStatus",
  preview: "preview",
  diagnostics: "diagnostics",
  settingsError: "settingsError",
} as const;

export type SettingsKey = (typeof KEYS)[keyof typeof KEYS];

export const DEFAULTS = {
  thresholds: [20, 10],
  quietHours: null as null | { start: string; end: string },
  quietStart: "22:00",
  quietEnd: "07:00",
  sms: true,
  silenceAlert: false,
  silenceAlertHours: 6,
  postActivity: true,
  postSleep: true,
  summaryTime: "00:10",
  language: "en-US" as Language,
  phoneCountry: "US",
};

export type Language = "en-US" | "ja-JP";
export const LANGUAGES: Language[] = ["en-US", "ja-JP"];

/** Thresholds the page offers; several may be chosen. */
export const THRESHOLD_CHOICES = [50, 40, 30, 25, 20, 15, 10, 5];
export const MAX_THRESHOLDS = 4;

/** The result of parsing one value: the value, or a readable reason it was refused. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

function unwrap(raw: string | null | undefined): unknown {
  if (raw === null || raw === undefined || raw === "") return undefined;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    return raw; // a bare string written by hand or by an older version
  }
  if (typeof v === "object" && v !== null && !(v instanceof Array)) {
    const o = v as { [k: string]: unknown };
    if (typeof o.name === "string") return o.name; // TextInput
    if (o.selected instanceof Array && o.values instanceof Array) {
      // Select (single or multiple)
      const out: unknown[] = [];
      for (let i = 0; i < o.selected.length; i++) {
        const item = o.values[o.selected[i] as number] as { value?: unknown; name?: unknown } | undefined;
        if (item) out.push(item.value !== undefined ? item.value : item.name);
      }
      return out;
    }
  }
  return v;
}

export function parseBool(raw: string | null | undefined, fallback: boolean): boolean {
  const v = unwrap(raw);
  if (v === true || v === "true") return true;
  if (v === false || v === "false") return false;
  return fallback;
}

/** "HH:MM" (24 h). */
export function parseTime(raw: string | null | undefined): Parsed<string> {
  let v = unwrap(raw);
  if (v instanceof Array) v = v[0];
  if (typeof v !== "string" || !HHMM.test(v.trim())) return { ok: false, error: "Use a 24-hour time like 07:30." };
  return { ok: true, value: v.trim() };
}

/** Thresholds from a multi-select, a JSON array or "20, 10": distinct integers 1-99, descending. */
export function parseThresholds(raw: string | null | undefined): Parsed<number[]> {
  let v = unwrap(raw);
  if (v === undefined) return { ok: true, value: DEFAULTS.thresholds.slice() };
  if (typeof v === "number") v = [v];
  if (typeof v === "string") v = v.split(/[\s,]+/).filter((s) => s !== "");
  if (!(v instanceof Array)) return { ok: false, error: "Choose one or more battery levels." };
  const out: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const n = typeof v[i] === "string" ? Number(String(v[i]).replace("%", "")) : v[i];
    if (typeof n !== "number" || n !== Math.floor(n) || n < 1 || n > 99) {
      return { ok: false, error: "Battery levels are whole percentages from 1 to 99." };
    }
    if (out.indexOf(n) < 0) out.push(n);
  }
  if (out.length === 0) return { ok: false, error: "Choose one or more battery levels." };
  if (out.length > MAX_THRESHOLDS) return { ok: false, error: "Choose at most " + MAX_THRESHOLDS + " battery levels." };
  out.sort((a, b) => b - a);
  return { ok: true, value: out };
}

export function parseLanguage(raw: string | null | undefined): Language {
  let v = unwrap(raw);
  if (v instanceof Array) v = v[0];
  return v === "ja-JP" ? "ja-JP" : v === "en-US" ? "en-US" : DEFAULTS.language;
}

/** Relay base URL typed by a self-hoster: http(s), no credentials, no query, no trailing slash. */
export function parseRelayUrl(raw: string | null | undefined): Parsed<string | null> {
  const v = unwrap(raw);
  if (v === undefined || (typeof v === "string" && v.trim() === "")) return { ok: true, value: null };
  if (typeof v !== "string") return { ok: false, error: "Enter a web address like https://relay.example.com." };
  const s = v.trim().replace(/\/+$/, "");
  if (!/^https?:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~\/-]*)?$/.test(s)) {
    return { ok: false, error: "Enter a web address like https://relay.example.com." };
  }
  return { ok: true, value: s };
}

/** A 6-digit confirmation code, spaces allowed. */
export function parseCode(raw: string | null | undefined): Parsed<string> {
  const v = unwrap(raw);
  const s = typeof v === "number" ? String(v) : typeof v === "string" ? v.replace(/\s+/g, "") : "";
  if (!/^\d{6}$/.test(s)) return { ok: false, error: "The code has 6 digits." };
  return { ok: true, value: s };
}

/** The text a page-written value holds (TextInput or bare string), trimmed; "" when empty. */
export function parseText(raw: string | null | undefined): string {
  let v = unwrap(raw);
  if (v instanceof Array) v = v[0];
  return typeof v === "string" ? v.trim() : typeof v === "number" ? String(v) : "";
}

// ---- the settings page and the companion ----

/** Keys added after the first version; kept apart so KEYS above stays as it was. */
export const MORE_KEYS = {
  /** 24-hour clock on the face (Toggle) */
  clock24: "clock24",
  /** buttons (a fresh timestamp per press): connect / unlink Google Health, unlink X */
  googleLink: "googleLink",
  googleUnlink: "googleUnlink",
  xUnlink: "xUnlink",
  /** written by the companion: the Google Health link as it last saw it (GoogleStatus, JSON) */
  googleStatus: "googleStatus",
} as const;

export const MORE_DEFAULTS = {
  clock24: true,
  /** the relay's silence alert window when the toggle is on */
  silenceAlertHours: 6,
};

/** Countries the page offers for the phone number (ISO 3166 alpha-2; the relay may refuse others). */
export const PHONE_COUNTRIES = ["US", "CA", "GB", "JP", "DE", "FR", "AU"];

/** The phone number's state as the companion last saw it (KEYS.phoneStatus, JSON). */
export interface PhoneStatus {
  state: "none" | "sending" | "code_sent" | "confirmed" | "opted_out" | "error" | "reconfirm";
  masked?: string;
  /** the relay's problem `code` (or a companion code like `timeout`) when state is `error` */
  code?: string;
  detail?: string;
  /** epoch ms */
  at?: number;
}

/** The X link as the companion last saw it (KEYS.xStatus, JSON). */
export interface XStatus {
  state: "none" | "requesting" | "open_url" | "linked" | "unlinking" | "error";
  url?: string;
  username?: string;
  code?: string;
  detail?: string;
  at?: number;
}

/** What the wearer allowed on Google's consent page; what is not granted stays off. */
export interface GoogleGranted {
  activity: boolean;
  sleep: boolean;
  settings: boolean;
}

/**
 * The Google Health link as the companion last saw it (MORE_KEYS.googleStatus, JSON). `broken`:
 * Google refused the relay's refresh token (revoked, expired): the wearer has to connect again.
 */
export interface GoogleStatus {
  state: "none" | "requesting" | "open_url" | "linked" | "broken" | "unlinking" | "error";
  url?: string;
  granted?: GoogleGranted;
  code?: string;
  detail?: string;
  at?: number;
}

/** The text a daily post would have (KEYS.preview, JSON). */
export interface PreviewStatus {
  state: "ok" | "unavailable" | "error";
  text?: string;
  code?: string;
  at?: number;
}

/** One line of health for the Advanced section (KEYS.diagnostics, JSON). */
export interface Diagnostics {
  /** epoch ms of the last answer from the relay, 0 if never */
  lastRelayContact: number;
  /** events waiting on the phone */
  queue: number;
  /** events dropped by bounds or refused by the relay */
  dropped: number;
  /** epoch ms of the last message from the watch, 0 if never */
  lastWatchContact: number;
  registered: boolean;
}

/** A companion-written JSON object, or null when absent or unreadable (never throws). */
export function parseObject(raw: string | null | undefined): { [k: string]: unknown } | null {
  if (typeof raw !== "string" || raw === "" || raw.length > 100000) return null;
  try {
    const v = JSON.parse(raw);
    return typeof v === "object" && v !== null && !(v instanceof Array) ? v : null;
  } catch (e) {
    return null;
  }
}

const PHONE_STATES = ["none", "sending", "code_sent", "confirmed", "opted_out", "error", "reconfirm"];
const X_STATES = ["none", "requesting", "open_url", "linked", "unlinking", "error"];
const GOOGLE_STATES = ["none", "requesting", "open_url", "linked", "broken", "unlinking", "error"];

function optStr(v: unknown, max: number): string | undefined {
  return typeof v === "string" && v.length <= max ? v : undefined;
}
function optNum(v: unknown): number | undefined {
  return typeof v === "number" && v === v && v >= 0 && v < 1e15 ? v : undefined;
}

export function parsePhoneStatus(raw: string | null | undefined): PhoneStatus {
  const o = parseObject(raw);
  if (!o || PHONE_STATES.indexOf(o.state as string) < 0) return { state: "none" };
  return {
    state: o.state as PhoneStatus["state"],
    masked: optStr(o.masked, 40),
    code: optStr(o.code, 64),
    detail: optStr(o.detail, 300),
    at: optNum(o.at),
  };
}

export function parseXStatus(raw: string | null | undefined): XStatus {
  const o = parseObject(raw);
  if (!o || X_STATES.indexOf(o.state as string) < 0) return { state: "none" };
  const url = optStr(o.url, 2000);
  return {
    state: o.state as XStatus["state"],
    url: url && /^https?:\/\//.test(url) ? url : undefined,
    username: optStr(o.username, 60),
    code: optStr(o.code, 64),
    detail: optStr(o.detail, 300),
    at: optNum(o.at),
  };
}

export function parseGoogleStatus(raw: string | null | undefined): GoogleStatus {
  const o = parseObject(raw);
  if (!o || GOOGLE_STATES.indexOf(o.state as string) < 0) return { state: "none" };
  const url = optStr(o.url, 2000);
  const g = o.granted;
  let granted: GoogleGranted | undefined;
  if (typeof g === "object" && g !== null && !(g instanceof Array)) {
    const r = g as { [k: string]: unknown };
    granted = { activity: r.activity === true, sleep: r.sleep === true, settings: r.settings === true };
  }
  return {
    state: o.state as GoogleStatus["state"],
    url: url && /^https?:\/\//.test(url) ? url : undefined,
    granted: granted,
    code: optStr(o.code, 64),
    detail: optStr(o.detail, 300),
    at: optNum(o.at),
  };
}

export function parsePreview(raw: string | null | undefined): PreviewStatus | null {
  const o = parseObject(raw);
  if (!o || (o.state !== "ok" && o.state !== "unavailable" && o.state !== "error")) return null;
  return { state: o.state, text: optStr(o.text, 2000), code: optStr(o.code, 64), at: optNum(o.at) };
}

export function parseDiagnostics(raw: string | null | undefined): Diagnostics | null {
  const o = parseObject(raw);
  if (!o) return null;
  return {
    lastRelayContact: optNum(o.lastRelayContact) || 0,
    queue: optNum(o.queue) || 0,
    dropped: optNum(o.dropped) || 0,
    lastWatchContact: optNum(o.lastWatchContact) || 0,
    registered: o.registered === true,
  };
}

/** A phone number as typed: digits, spaces, dashes, dots, brackets, an optional leading +. */
export function parsePhoneNumber(raw: string | null | undefined): Parsed<string> {
  const s = parseText(raw);
  if (s === "") return { ok: false, error: "Enter your mobile number." };
  if (s.length > 32 || !/^\+?[0-9 ()./-]+$/.test(s)) {
    return { ok: false, error: "A phone number has only digits, spaces and an optional + in front." };
  }
  const digits = s.replace(/[^0-9]/g, "");
  if (digits.length < 6 || digits.length > 15) return { ok: false, error: "That number is too short or too long." };
  return { ok: true, value: (s.charAt(0) === "+" ? "+" : "") + digits };
}

/** The country for the number: one of PHONE_COUNTRIES. */
export function parseCountry(raw: string | null | undefined): string {
  let v = unwrap(raw);
  if (v instanceof Array) v = v[0];
  return typeof v === "string" && PHONE_COUNTRIES.indexOf(v) >= 0 ? v : DEFAULTS.phoneCountry;
}
