// What the settings page shows for which state: pure functions over the page's settings (strings as
// settingsStorage holds them) and a translator. index.tsx only renders what these return.
import {
  DEFAULTS,
  KEYS,
  LANGUAGES,
  MORE_KEYS,
  parseBool,
  parseCode,
  parseDiagnostics,
  parseGoogleStatus,
  parseObject,
  parsePhoneNumber,
  parsePhoneStatus,
  parsePreview,
  parseRelayUrl,
  parseText,
  parseThresholds,
  parseTime,
  parseXStatus,
  PHONE_COUNTRIES,
  THRESHOLD_CHOICES,
} from "../common/settings";

export type Translate = (msgid: string) => string;
export type SettingsMap = { [key: string]: string | undefined };

/** gettext(msgid) with {name} placeholders filled in. */
export function format(t: Translate, msgid: string, args?: { [k: string]: string | number }): string {
  let s = t(msgid);
  if (args) for (const k in args) s = s.split("{" + k + "}").join(String(args[k]));
  return s;
}

/** Relay and companion problem codes the wearer may meet, in words. */
const ERROR_TEXT: { [code: string]: string } = {
  invalid_phone: "err_invalid_phone",
  invalid_input: "err_invalid_input",
  unverified_phone: "err_unverified_phone",
  wrong_code: "err_wrong_code",
  invalid_code: "err_wrong_code",
  code_expired: "err_code_expired",
  too_many_attempts: "err_too_many_attempts",
  rate_limited: "err_rate_limited",
  country_not_allowed: "err_country",
  unauthorized: "err_unauthorized",
  not_registered: "err_relay_unreachable",
  timeout: "err_relay_unreachable",
  network: "err_relay_unreachable",
  x_not_configured: "err_x_not_configured",
  google_not_configured: "err_google_not_configured",
};

export function errorText(t: Translate, code: string | undefined, detail: string | undefined): string {
  const id = code ? ERROR_TEXT[code] : undefined;
  if (id) return t(id);
  if (detail) return format(t, "err_other_detail", { detail: detail });
  return format(t, "err_other_code", { code: code || "?" });
}

export function phoneStatusLine(s: SettingsMap, t: Translate): string {
  const st = parsePhoneStatus(s[KEYS.phoneStatus]);
  const masked = st.masked || "";
  switch (st.state) {
    case "sending":
      return t("phone_sending");
    case "code_sent":
      return format(t, "phone_code_sent", { masked: masked });
    case "confirmed":
      return format(t, "phone_confirmed", { masked: masked });
    case "opted_out":
      return format(t, "phone_opted_out", { masked: masked });
    case "reconfirm":
      return t("phone_reconfirm");
    case "error":
      return format(t, "phone_error", { why: st.code === "invalid_input" && st.detail ? t(st.detail) : errorText(t, st.code, st.detail) });
    default:
      return t("phone_none");
  }
}

export interface XView {
  line: string;
  /** a link the wearer opens to approve posting */
  url?: string;
  username?: string;
  /** an account is linked: the page offers Unlink X */
  linked: boolean;
}

export function xView(s: SettingsMap, t: Translate): XView {
  const st = parseXStatus(s[KEYS.xStatus]);
  switch (st.state) {
    case "requesting":
      return { line: t("x_requesting"), linked: false };
    case "open_url":
      return st.url ? { line: t("x_open_url"), url: st.url, linked: false } : { line: t("x_none"), linked: false };
    case "linked":
      return { line: format(t, "x_linked", { name: st.username ? "@" + st.username : "" }), username: st.username, linked: true };
    case "unlinking":
      return { line: t("x_unlinking"), linked: false };
    case "error":
      return { line: format(t, "x_error", { why: errorText(t, st.code, st.detail) }), linked: false };
    default:
      return { line: t("x_none"), linked: false };
  }
}

export interface GoogleView {
  line: string;
  /** a link the wearer opens to consent at Google (through the relay) */
  url?: string;
  /** linked or broken: the page offers Unlink */
  linked: boolean;
  /** Google refused the relay's tokens: the wearer has to connect again */
  broken: boolean;
}

export function googleView(s: SettingsMap, t: Translate): GoogleView {
  const st = parseGoogleStatus(s[MORE_KEYS.googleStatus]);
  switch (st.state) {
    case "requesting":
      return { line: t("google_requesting"), linked: false, broken: false };
    case "open_url":
      return st.url ? { line: t("google_open_url"), url: st.url, linked: false, broken: false } : { line: t("google_none"), linked: false, broken: false };
    case "linked": {
      const g = st.granted;
      const missing: string[] = [];
      if (g && !g.activity) missing.push(t("google_part_activity"));
      if (g && !g.sleep) missing.push(t("google_part_sleep"));
      if (g && !g.settings) missing.push(t("google_part_settings"));
      const line = missing.length ? format(t, "google_linked_partial", { missing: missing.join(t("list_separator")) }) : t("google_linked");
      return { line: line, linked: true, broken: false };
    }
    case "broken":
      return { line: t("google_broken"), linked: true, broken: true };
    case "unlinking":
      return { line: t("google_unlinking"), linked: false, broken: false };
    case "error":
      return { line: format(t, "google_error", { why: errorText(t, st.code, st.detail) }), linked: false, broken: false };
    default:
      return { line: t("google_none"), linked: false, broken: false };
  }
}

export function previewLine(s: SettingsMap, t: Translate): string {
  const p = parsePreview(s[KEYS.preview]);
  if (!p || p.state === "unavailable") return t("preview_unavailable");
  if (p.state === "error") return format(t, "preview_error", { why: errorText(t, p.code, undefined) });
  return p.text ? p.text : t("preview_empty");
}

function ago(t: Translate, ms: number, nowMs: number): string {
  if (!ms) return t("never");
  const min = Math.max(0, Math.round((nowMs - ms) / 60000));
  if (min < 1) return t("just_now");
  if (min < 120) return format(t, "minutes_ago", { n: min });
  return format(t, "hours_ago", { n: Math.round(min / 60) });
}

export function diagnosticsLine(s: SettingsMap, nowMs: number, t: Translate): string {
  const d = parseDiagnostics(s[KEYS.diagnostics]);
  if (!d) return t("diag_none");
  return format(t, "diag_line", {
    relay: ago(t, d.lastRelayContact, nowMs),
    watch: ago(t, d.lastWatchContact, nowMs),
    queue: d.queue,
    dropped: d.dropped,
  });
}

/** Readable problems per key: the page's own checks, then what the companion reported. */
export function fieldMessages(s: SettingsMap, t: Translate): { [key: string]: string } {
  const out: { [key: string]: string } = {};
  const check = (key: string, r: { ok: boolean; error?: string }) => {
    if (!r.ok && r.error) out[key] = t(r.error);
  };
  if (s[KEYS.phoneNumber]) check(KEYS.phoneNumber, parsePhoneNumber(s[KEYS.phoneNumber]));
  if (s[KEYS.phoneCode]) check(KEYS.phoneCode, parseCode(s[KEYS.phoneCode]));
  check(KEYS.thresholds, parseThresholds(s[KEYS.thresholds]));
  if (parseBool(s[KEYS.quietEnabled], false)) {
    if (s[KEYS.quietStart]) check(KEYS.quietStart, parseTime(s[KEYS.quietStart]));
    if (s[KEYS.quietEnd]) check(KEYS.quietEnd, parseTime(s[KEYS.quietEnd]));
  }
  if (s[KEYS.summaryTime]) check(KEYS.summaryTime, parseTime(s[KEYS.summaryTime]));
  check(KEYS.relayUrl, parseRelayUrl(s[KEYS.relayUrl]));
  const reported = parseObject(s[KEYS.settingsError]);
  if (reported) {
    for (const k in reported) {
      const v = reported[k];
      if (typeof v === "string" && !out[k]) out[k] = k === "relay" ? format(t, "err_relay_refused", { why: v.slice(0, 200) }) : t(v.slice(0, 300));
    }
  }
  return out;
}

/** One line listing every problem, or "" when all is well. */
export function settingsErrorLine(s: SettingsMap, t: Translate): string {
  const m = fieldMessages(s, t);
  const parts: string[] = [];
  for (const k in m) parts.push(m[k]);
  return parts.join(" ");
}

export interface Option {
  name: string;
  value: string | number;
}

export function thresholdOptions(): Option[] {
  return THRESHOLD_CHOICES.map((n) => ({ name: n + " %", value: n }));
}

export function countryOptions(t: Translate): Option[] {
  return PHONE_COUNTRIES.map((c) => ({ name: t("country_" + c), value: c }));
}

export function languageOptions(): Option[] {
  return LANGUAGES.map((l) => ({ name: l === "ja-JP" ? "日本語" : "English", value: l }));
}

/** The time shown in a TextInput when the wearer set none. */
export function timeOrDefault(raw: string | undefined, fallback: string): string {
  const p = parseTime(raw);
  return p.ok ? p.value : fallback;
}

export function summaryTimeShown(s: SettingsMap): string {
  return timeOrDefault(s[KEYS.summaryTime], DEFAULTS.summaryTime);
}

export function relayUrlShown(s: SettingsMap): string {
  return parseText(s[KEYS.relayUrl]);
}

/** The keys the page writes that are plain toggles, with their defaults (for a first render). */
export const TOGGLE_DEFAULTS: { [key: string]: boolean } = {
  [KEYS.sms]: DEFAULTS.sms,
  [KEYS.silenceAlert]: DEFAULTS.silenceAlert,
  [KEYS.quietEnabled]: false,
  [KEYS.postActivity]: DEFAULTS.postActivity,
  [KEYS.postSleep]: DEFAULTS.postSleep,
  [MORE_KEYS.clock24]: true,
};

/** Every msgid the view model and the page use (checked against both .po files by a test). */
export const MSGIDS = [
  "phone_sending", "phone_code_sent", "phone_confirmed", "phone_opted_out", "phone_reconfirm", "phone_error", "phone_none",
  "x_requesting", "x_open_url", "x_linked", "x_error", "x_none", "x_unlinking",
  "google_requesting", "google_open_url", "google_linked", "google_linked_partial", "google_broken", "google_unlinking",
  "google_error", "google_none", "google_part_activity", "google_part_sleep", "google_part_settings", "list_separator",
  "preview_unavailable", "preview_error", "preview_empty",
  "never", "just_now", "minutes_ago", "hours_ago", "diag_none", "diag_line",
  "err_invalid_phone", "err_invalid_input", "err_unverified_phone", "err_wrong_code", "err_code_expired",
  "err_too_many_attempts", "err_rate_limited", "err_country", "err_unauthorized", "err_relay_unreachable",
  "err_x_not_configured", "err_google_not_configured", "err_other_detail", "err_other_code", "err_relay_refused",
  "country_US", "country_CA", "country_GB", "country_JP", "country_DE", "country_FR", "country_AU",
  // page labels
  "sec_phone", "sec_phone_desc", "lbl_country", "lbl_number", "btn_send_code", "lbl_code", "lbl_status",
  "lbl_thresholds", "lbl_quiet", "lbl_quiet_start", "lbl_quiet_end", "lbl_sms", "lbl_silence",
  "sec_x", "sec_x_desc", "btn_link_x", "lbl_open_x", "lbl_post_activity", "lbl_post_sleep", "lbl_post_time",
  "lbl_language", "lbl_preview", "sec_watch", "lbl_clock24", "btn_unlink_x",
  "sec_google", "sec_google_desc", "btn_link_google", "btn_relink_google", "lbl_open_google", "btn_unlink_google",
  "sec_advanced", "lbl_relay_url", "btn_forget", "lbl_forget_desc", "lbl_diagnostics", "lbl_problems",
  // messages of common/settings.ts parsers (msgid = the English sentence)
  "Use a 24-hour time like 07:30.", "Choose one or more battery levels.", "Battery levels are whole percentages from 1 to 99.",
  "Choose at most 4 battery levels.", "Enter a web address like https://relay.example.com.", "The code has 6 digits.",
  "Enter your mobile number.", "A phone number has only digits, spaces and an optional + in front.", "That number is too short or too long.",
];
