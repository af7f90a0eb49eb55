// The SMS texts, short and localized (en-US, ja-JP).
export type Lang = "en-US" | "ja-JP";

function timeLeftEn(min: number): string {
  return min >= 60 ? `about ${Math.round(min / 60)} h left` : `about ${Math.max(1, Math.round(min))} min left`;
}
function timeLeftJa(min: number): string {
  return min >= 60 ? `残り約${Math.round(min / 60)}時間` : `残り約${Math.max(1, Math.round(min))}分`;
}

export function lowBatteryText(lang: Lang, level: number, timeLeftMinutes?: number | null): string {
  const known = timeLeftMinutes !== undefined && timeLeftMinutes !== null;
  if (lang === "ja-JP") {
    return `WristRelay: Fitbitの電池残量が${level}%です${known ? `(${timeLeftJa(timeLeftMinutes)})` : ""}。充電してください。`;
  }
  return `WristRelay: your Fitbit battery is at ${level}%${known ? ` (${timeLeftEn(timeLeftMinutes)})` : ""}. Charge it soon.`;
}

export function silenceText(lang: Lang, hours: number, level: number): string {
  if (lang === "ja-JP") {
    return `WristRelay: Fitbitから${hours}時間応答がありません(最後の電池残量${level}%)。電池切れかもしれません。`;
  }
  return `WristRelay: no word from your Fitbit for ${hours} h; its battery was at ${level}%. It may have run out.`;
}

export function codeText(lang: Lang, code: string): string {
  if (lang === "ja-JP") return `WristRelayの確認コード: ${code}(10分間有効)`;
  return `WristRelay code: ${code}. It expires in 10 minutes.`;
}

export const HELP_TEXT =
  "WristRelay: low-battery alerts for your Fitbit. Reply STOP to unsubscribe, START to resubscribe. Msg&data rates may apply.";

// --- Cloud readings (Google Health): the level is as of the watch's last sync, so the text says when that was.

const clockFormatters = new Map<string, Intl.DateTimeFormat>();
function formatter(lang: Lang, timeZone: string, withDate: boolean): Intl.DateTimeFormat {
  const key = `${lang}|${timeZone}|${withDate ? "d" : "t"}`;
  let f = clockFormatters.get(key);
  if (!f) {
    const tz = safeZone(timeZone);
    f = withDate
      ? new Intl.DateTimeFormat(lang === "ja-JP" ? "ja-JP" : "en-US", { timeZone: tz, month: lang === "ja-JP" ? "numeric" : "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" })
      : new Intl.DateTimeFormat("en-GB", { timeZone: tz, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    clockFormatters.set(key, f);
  }
  return f;
}
function safeZone(tz: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return tz;
  } catch {
    return "UTC";
  }
}

/** "14:02" in the wearer's time zone. */
export function syncClock(lang: Lang, at: Date, timeZone: string): string {
  return formatter(lang, timeZone, false).format(at);
}

/** "Nov 20, 14:02" (en-US) / "11月20日 14:02" (ja-JP) in the wearer's time zone. */
export function syncDateTime(lang: Lang, at: Date, timeZone: string): string {
  const parts = formatter(lang, timeZone, true).formatToParts(at);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? "";
  const time = `${get("hour")}:${get("minute")}`;
  return lang === "ja-JP" ? `${Number(get("month"))}月${Number(get("day"))}日 ${time}` : `${get("month")} ${Number(get("day"))}, ${time}`;
}

/**
 * A low level read from Google Health: "WristRelay: your Fitbit battery is at 14% (as of the last sync at 14:02)."
 * Without a percentage (Google gave only a status), the status word is used: "... battery is low (...)".
 */
export function cloudBatteryText(lang: Lang, reading: { level?: number; status?: "low" | "empty" }, syncedAt: Date, timeZone: string): string {
  const at = syncClock(lang, syncedAt, timeZone);
  if (lang === "ja-JP") {
    const what = reading.level !== undefined ? `${reading.level}%です` : reading.status === "empty" ? "ほぼありません" : "少なくなっています";
    return `WristRelay: Fitbitの電池残量が${what}(最後の同期${at}時点)。`;
  }
  const what = reading.level !== undefined ? `at ${reading.level}%` : reading.status === "empty" ? "empty" : "low";
  return `WristRelay: your Fitbit battery is ${what} (as of the last sync at ${at}).`;
}

/** A device that stopped syncing: "WristRelay: your Fitbit has not synced since Nov 20, 14:02; its battery may be empty." */
export function notSyncedText(lang: Lang, syncedAt: Date, timeZone: string): string {
  const since = syncDateTime(lang, syncedAt, timeZone);
  if (lang === "ja-JP") return `WristRelay: Fitbitは${since}から同期されていません。電池切れかもしれません。`;
  return `WristRelay: your Fitbit has not synced since ${since}; its battery may be empty.`;
}

/** Sent once when Google refuses the relay's refresh token (revoked, expired): the wearer has to connect again. */
export function googleLinkBrokenText(lang: Lang): string {
  if (lang === "ja-JP") return "WristRelay: Google Healthとの連携が切れました。設定からもう一度連携してください。";
  return "WristRelay: your Google Health link has expired. Open WristRelay settings and connect Google Health again.";
}
