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
