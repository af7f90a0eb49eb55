// The words of the web sign-up page, in English and Japanese. Messages are keyed by the Problem code
// of the domain error (or a key of the page's own), so the page never shows a relay-internal text.
export type PageLang = "en" | "ja";

/** what a message may carry: a number (seconds, tries) and/or a short value (masked number, input) */
export interface MessageArgs {
  n?: number;
  v?: string;
}

export type MessageKey =
  // done
  | "code_sent"
  | "phone_verified"
  | "phone_removed"
  | "saved"
  | "google_continue"
  | "x_continue"
  | "x_unlinked"
  | "erased"
  // refused
  | "invalid_phone"
  | "country_not_allowed"
  | "number_type_not_allowed"
  | "opted_out"
  | "rate_limited"
  | "registration_limited"
  | "sms_unavailable"
  | "no_code_pending"
  | "too_many_attempts"
  | "code_expired"
  | "code_mismatch"
  | "code_format"
  | "timezone_invalid"
  | "thresholds_invalid"
  | "quiet_hours_invalid"
  | "summary_time_invalid"
  | "language_invalid"
  | "erase_confirm"
  | "google_not_configured"
  | "google_user_cap"
  | "x_not_configured"
  | "failed";

export interface PageText {
  title: string;
  intro: string;
  switchTo: { lang: PageLang; label: string };
  notSignedUp: string;
  google: {
    heading: string;
    why: string;
    notConfigured: string;
    connect: string;
    continueTo: string;
    connected: string;
    broken: string;
    reconnect: string;
    granted: string;
    scopes: { activity: string; sleep: string; settings: string };
    /** between the scopes of a list */
    separator: string;
  };
  phone: {
    heading: string;
    why: string;
    number: string;
    numberHint: string;
    country: string;
    send: string;
    pending: (masked: string) => string;
    code: string;
    confirm: string;
    resend: string;
    verified: (masked: string) => string;
    optedOut: string;
    change: string;
    remove: string;
  };
  x: {
    heading: string;
    outbox: string;
    notLinked: string;
    link: string;
    linkNote: string;
    linked: (name: string) => string;
    expired: (name: string) => string;
    unlink: string;
  };
  prefs: {
    heading: string;
    alerts: string;
    sms: string;
    thresholds: string;
    thresholdsHint: string;
    quiet: string;
    quietFrom: string;
    quietTo: string;
    posts: string;
    postActivity: string;
    postSleep: string;
    summaryTime: string;
    language: string;
    timezone: string;
    timezoneHint: string;
    save: string;
  };
  erase: { heading: string; why: string; confirm: string; button: string };
  forbidden: { heading: string; text: string; back: string };
  error: { heading: string; text: string; back: string };
  languages: Record<"en-US" | "ja-JP", string>;
  messages: Record<MessageKey, (a: MessageArgs) => string>;
}

const minutesEn = (sec = 60) => {
  const min = Math.max(1, Math.ceil(sec / 60));
  return min >= 120 ? `${Math.round(min / 60)} hours` : min === 1 ? "a minute" : `${min} minutes`;
};
const minutesJa = (sec = 60) => {
  const min = Math.max(1, Math.ceil(sec / 60));
  return min >= 120 ? `${Math.round(min / 60)}時間` : `${min}分`;
};

const en: PageText = {
  title: "WristRelay sign-up",
  intro: "Texts when your Fitbit's battery runs low, and a daily summary on X, without the clock face.",
  switchTo: { lang: "ja", label: "日本語" },
  notSignedUp: "Nothing is stored until you send one of the forms below.",
  google: {
    heading: "1. Google Health",
    why: "The relay reads your Fitbit's battery, activity and sleep from Google Health.",
    notConfigured: "This relay has no Google Health set up, so it cannot read your Fitbit from the cloud. Phone alerts still work with the WristRelay clock face.",
    connect: "Connect Google Health",
    continueTo: "Continue to Google",
    connected: "Connected to Google Health",
    broken: "The connection to Google Health stopped working. Connect again.",
    reconnect: "Connect again",
    granted: "Shared with the relay:",
    scopes: { activity: "activity", sleep: "sleep", settings: "settings" },
    separator: ", ",
  },
  phone: {
    heading: "2. Your mobile number",
    why: "Low-battery alerts go by SMS to a number you confirm with a code.",
    number: "Mobile number",
    numberHint: "International form (+1 415 555 2671), or choose the country.",
    country: "Country",
    send: "Send the code",
    pending: (m) => `A code was sent to ${m}. Not confirmed yet.`,
    code: "6-digit code",
    confirm: "Confirm",
    resend: "Send a new code",
    verified: (m) => `${m}: confirmed`,
    optedOut: "This number replied STOP: no texts go to it. Text START to the relay's number to allow them again.",
    change: "Use another number",
    remove: "Remove this number",
  },
  x: {
    heading: "3. Posts on X",
    outbox: "This relay records the daily posts instead of sending them to X (X_PROVIDER=outbox): linking opens the relay's own stand-in for X's consent page, and nothing is posted to X.",
    notLinked: "No X account linked.",
    link: "Link X",
    linkNote: "After you approve on X, Continue brings you back here.",
    linked: (n) => `Linked as @${n}`,
    expired: (n) => `The link to @${n} has expired. Link X again.`,
    unlink: "Unlink X",
  },
  prefs: {
    heading: "4. Alerts and posts",
    alerts: "Low-battery alerts",
    sms: "Send me a text when the battery runs low",
    thresholds: "Alert at (up to 4)",
    thresholdsHint: "One text per level each time the battery runs down.",
    quiet: "Quiet hours (alerts wait until they end)",
    quietFrom: "From",
    quietTo: "Until",
    posts: "Daily posts",
    postActivity: "Post my activity",
    postSleep: "Post my sleep",
    summaryTime: "Post the summary at",
    language: "Language of texts and posts",
    timezone: "Time zone",
    timezoneHint: "For example Europe/London or Asia/Tokyo.",
    save: "Save",
  },
  erase: {
    heading: "Delete my data",
    why: "Erases your number, your choices, your links to Google and X and everything the relay recorded for you.",
    confirm: "Yes, delete everything",
    button: "Delete my data",
  },
  forbidden: {
    heading: "This form has expired",
    text: "The form was not sent from this page, or the page is too old. Nothing was changed. Make sure cookies are allowed for this site.",
    back: "Back to the sign-up page",
  },
  error: {
    heading: "Something went wrong",
    text: "The relay could not read that request. Nothing was changed.",
    back: "Back to the sign-up page",
  },
  languages: { "en-US": "English", "ja-JP": "日本語 (Japanese)" },
  messages: {
    code_sent: (a) => `We sent a 6-digit code to ${a.v ?? "your number"}. Enter it below.`,
    phone_verified: (a) => `${a.v ?? "Your number"} is confirmed. Low-battery texts will go there.`,
    phone_removed: () => "Your number is removed. No more texts will be sent.",
    saved: () => "Your choices are saved.",
    google_continue: () => "Now continue to Google to allow access.",
    x_continue: () => "Now continue to X to allow posting.",
    x_unlinked: () => "X is unlinked.",
    erased: () => "Your data is deleted.",
    invalid_phone: () => "That is not a valid mobile number. Use the international form (+1 415 555 2671) or choose the country.",
    country_not_allowed: (a) => `This relay sends texts only to numbers in ${a.v ?? "a few countries"}.`,
    number_type_not_allowed: () => "Texts go only to mobile numbers: toll-free, premium-rate, shared-cost and internet (VoIP) numbers are refused.",
    opted_out: () => "This number replied STOP. Text START to the relay's number first, then try again.",
    rate_limited: (a) => `Too many codes were asked for. Try again in ${minutesEn(a.n)}.`,
    registration_limited: (a) => `Too many sign-ups from your network. Try again in ${minutesEn(a.n)}.`,
    sms_unavailable: () => "The relay cannot send more texts today. Try again tomorrow.",
    no_code_pending: () => "No code is waiting. Enter your number to get one.",
    too_many_attempts: () => "Too many wrong codes. Ask for a new one.",
    code_expired: () => "This code has expired. Ask for a new one.",
    code_mismatch: (a) => (a.n ? `That code is not right. ${a.n === 1 ? "1 try" : `${a.n} tries`} left.` : "That code is not right. Ask for a new one."),
    code_format: () => "The code has 6 digits.",
    timezone_invalid: (a) => `“${a.v ?? ""}” is not a time zone. Use a name like Europe/London.`,
    thresholds_invalid: () => "Choose between 1 and 4 battery levels.",
    quiet_hours_invalid: () => "Quiet hours need a start and an end time that differ.",
    summary_time_invalid: () => "Give the summary time as hours and minutes, like 07:30.",
    language_invalid: () => "Choose English or Japanese.",
    erase_confirm: () => "Tick the box to confirm that everything should be deleted.",
    google_not_configured: () => "This relay has no Google Health set up.",
    google_user_cap: () => "This relay cannot connect more wearers to Google Health for now. Please ask its operator.",
    x_not_configured: () => "This relay does not post to X accounts.",
    failed: () => "That did not work. Please try again.",
  },
};

const ja: PageText = {
  title: "WristRelay 登録",
  intro: "Fitbitの電池が少なくなったらSMSでお知らせし、毎日のまとめをXに投稿します。文字盤アプリは不要です。",
  switchTo: { lang: "en", label: "English" },
  notSignedUp: "下のフォームを送信するまで、何も保存されません。",
  google: {
    heading: "1. Google Health",
    why: "リレーはGoogle HealthからFitbitの電池残量・活動・睡眠を読み取ります。",
    notConfigured: "このリレーではGoogle Healthが設定されていないため、クラウドからFitbitを読み取れません。WristRelayの文字盤を使えば電池のお知らせは届きます。",
    connect: "Google Healthに接続",
    continueTo: "Googleへ進む",
    connected: "Google Healthに接続済み",
    broken: "Google Healthとの接続が切れました。もう一度接続してください。",
    reconnect: "再接続",
    granted: "リレーと共有している項目:",
    scopes: { activity: "活動", sleep: "睡眠", settings: "設定" },
    separator: "、",
  },
  phone: {
    heading: "2. 携帯電話番号",
    why: "電池残量のお知らせは、確認コードで確認した番号にSMSで届きます。",
    number: "携帯電話番号",
    numberHint: "国際形式（+81 90 1234 5678）で入力するか、国を選んでください。",
    country: "国",
    send: "コードを送信",
    pending: (m) => `${m} にコードを送りました。まだ確認されていません。`,
    code: "6桁のコード",
    confirm: "確認",
    resend: "コードを再送信",
    verified: (m) => `${m}: 確認済み`,
    optedOut: "この番号はSTOPと返信したため、SMSは送られません。再開するにはリレーの番号にSTARTと送ってください。",
    change: "別の番号を使う",
    remove: "この番号を削除",
  },
  x: {
    heading: "3. Xへの投稿",
    outbox: "このリレーは毎日の投稿をXに送らず記録だけします（X_PROVIDER=outbox）。連携ではXの代わりにリレー自身の確認ページが開き、Xには何も投稿されません。",
    notLinked: "Xアカウントは連携されていません。",
    link: "Xと連携",
    linkNote: "Xで許可したあと、「続ける」でこのページに戻ります。",
    linked: (n) => `@${n} として連携済み`,
    expired: (n) => `@${n} との連携が期限切れです。もう一度連携してください。`,
    unlink: "Xとの連携を解除",
  },
  prefs: {
    heading: "4. お知らせと投稿",
    alerts: "電池残量のお知らせ",
    sms: "電池が少なくなったらSMSで知らせる",
    thresholds: "お知らせする残量（4つまで）",
    thresholdsHint: "電池が減るたびに、残量ごとに1回お知らせします。",
    quiet: "おやすみ時間（終わるまでお知らせを待ちます）",
    quietFrom: "開始",
    quietTo: "終了",
    posts: "毎日の投稿",
    postActivity: "活動を投稿する",
    postSleep: "睡眠を投稿する",
    summaryTime: "まとめを投稿する時刻",
    language: "SMSと投稿の言語",
    timezone: "タイムゾーン",
    timezoneHint: "例: Asia/Tokyo、Europe/London",
    save: "保存",
  },
  erase: {
    heading: "データを削除",
    why: "電話番号、設定、GoogleとXとの連携、リレーが記録したすべてを消去します。",
    confirm: "はい、すべて削除します",
    button: "データを削除",
  },
  forbidden: {
    heading: "このフォームは無効です",
    text: "このページから送信されていないか、ページが古くなっています。何も変更していません。このサイトのCookieが有効か確認してください。",
    back: "登録ページに戻る",
  },
  error: {
    heading: "問題が発生しました",
    text: "リレーはこのリクエストを読み取れませんでした。何も変更していません。",
    back: "登録ページに戻る",
  },
  languages: { "en-US": "English（英語）", "ja-JP": "日本語" },
  messages: {
    code_sent: (a) => `${a.v ?? "入力された番号"} に6桁のコードを送りました。下に入力してください。`,
    phone_verified: (a) => `${a.v ?? "番号"} を確認しました。電池のお知らせはこの番号に届きます。`,
    phone_removed: () => "番号を削除しました。今後SMSは送られません。",
    saved: () => "設定を保存しました。",
    google_continue: () => "Googleへ進んでアクセスを許可してください。",
    x_continue: () => "Xへ進んで投稿を許可してください。",
    x_unlinked: () => "Xとの連携を解除しました。",
    erased: () => "データを削除しました。",
    invalid_phone: () => "有効な携帯電話番号ではありません。国際形式（+81 90 1234 5678）で入力するか、国を選んでください。",
    country_not_allowed: (a) => `このリレーがSMSを送れるのは次の国の番号だけです: ${a.v ?? ""}`,
    number_type_not_allowed: () => "SMSは携帯電話番号にのみ送れます。フリーダイヤル、有料番号、IP電話などの番号は使えません。",
    opted_out: () => "この番号はSTOPと返信しています。先にリレーの番号にSTARTと送ってから、もう一度お試しください。",
    rate_limited: (a) => `コードの請求が多すぎます。${minutesJa(a.n)}後にもう一度お試しください。`,
    registration_limited: (a) => `お使いのネットワークからの登録が多すぎます。${minutesJa(a.n)}後にもう一度お試しください。`,
    sms_unavailable: () => "本日はこれ以上SMSを送れません。明日もう一度お試しください。",
    no_code_pending: () => "確認待ちのコードはありません。番号を入力してコードを受け取ってください。",
    too_many_attempts: () => "間違ったコードが多すぎます。新しいコードを請求してください。",
    code_expired: () => "このコードは期限切れです。新しいコードを請求してください。",
    code_mismatch: (a) => (a.n ? `コードが違います。あと${a.n}回試せます。` : "コードが違います。新しいコードを請求してください。"),
    code_format: () => "コードは6桁の数字です。",
    timezone_invalid: (a) => `「${a.v ?? ""}」はタイムゾーンではありません。Asia/Tokyoのような名前で入力してください。`,
    thresholds_invalid: () => "電池残量を1つから4つ選んでください。",
    quiet_hours_invalid: () => "おやすみ時間には、異なる開始時刻と終了時刻を指定してください。",
    summary_time_invalid: () => "まとめの時刻は07:30のように時と分で指定してください。",
    language_invalid: () => "英語か日本語を選んでください。",
    erase_confirm: () => "すべて削除してよければ、チェックを入れてください。",
    google_not_configured: () => "このリレーではGoogle Healthが設定されていません。",
    google_user_cap: () => "このリレーでは、現在これ以上Google Healthに接続できません。運営者にお問い合わせください。",
    x_not_configured: () => "このリレーはXアカウントに投稿しません。",
    failed: () => "うまくいきませんでした。もう一度お試しください。",
  },
};

export const TEXT: Record<PageLang, PageText> = { en, ja };
