// The daily X posts (activity, sleep), localized. The Japanese texts follow the original system's
// format line for line; the English ones keep the same order. Every text is measured with
// twitter-text and, when over 280, shortened by dropping whole optional lines (never mid-line).
import twitterText from "twitter-text";

export type Lang = "en-US" | "ja-JP";

/** One day's totals as POST /v1/summaries carries them (relay-api.md). */
export interface DayActivity {
  steps: number;
  distanceMeters: number;
  calories: number;
  floors?: number;
  activeZoneMinutes?: number;
  caloriesBMR?: number;
  activityCalories?: number;
  sedentaryMinutes?: number;
  lightlyActiveMinutes?: number;
  fairlyActiveMinutes?: number;
  veryActiveMinutes?: number;
}

export interface DaySleep {
  minutesAsleep: number;
  minutesInBed?: number;
  estimated?: boolean;
}

/**
 * The optional lines a wearer may choose (title and steps, and the sleep line, are always there):
 * - minutes: the four sitting / light / active / strenuous minutes lines
 * - calories: "消費カロリー" / "Calories burned" (with the basal figure when known)
 * - floors, activeZoneMinutes: new lines, after the original ones
 * - timeInBed: a new sleep line, after the sleep line
 */
export type SummaryLine = "minutes" | "calories" | "floors" | "activeZoneMinutes" | "timeInBed";
export const SUMMARY_LINES: readonly SummaryLine[] = ["minutes", "calories", "floors", "activeZoneMinutes", "timeInBed"];

export interface SummaryTextOptions {
  language: Lang;
  /** optional lines to include (default: all of them); a line is still left out when its number is missing */
  lines?: readonly SummaryLine[];
}

/**
 * One line of a post. `text: ""` is a section break (a blank line). `dropRank` says whether and when
 * the line may be dropped to fit 280: lower ranks go first, and within a rank the lowest line goes
 * first; without a rank the line is never dropped.
 */
export interface PostLine {
  text: string;
  dropRank?: number;
}

/** Drop order: new lines first, then the minutes lines, then calories; title and steps never. */
export const DROP_RANK = { newLine: 1, minutes: 2, calories: 3 } as const;

export const BLANK: PostLine = { text: "" };

export const MAX_WEIGHTED_LENGTH = 280;

/**
 * The activity post, or null when there is nothing postable (no activity, or even the lines that
 * are never dropped would not fit 280, which only absurd numbers can cause).
 */
export function formatActivityPost(date: string, activity: DayActivity | null | undefined, opts: SummaryTextOptions): string | null {
  if (!activity) return null;
  return fitToTweet(activityLines(date, activity, opts));
}

/** The sleep post, or null when there is no sleep to tell (no data, or 0 minutes asleep: the watch was off the wrist). */
export function formatSleepPost(date: string, sleep: DaySleep | null | undefined, opts: SummaryTextOptions): string | null {
  if (!sleep) return null;
  const asleep = count(sleep.minutesAsleep);
  if (asleep === undefined || asleep === 0) return null;
  return fitToTweet(sleepLines(date, sleep, opts));
}

/** The activity post's lines before fitting (for previews and tests). */
export function activityLines(date: string, a: DayActivity, opts: SummaryTextOptions): PostLine[] {
  const ja = opts.language === "ja-JP";
  const want = wanted(opts);
  const steps = required(a.steps, "steps");
  const meters = required(a.distanceMeters, "distanceMeters");
  const calories = required(a.calories, "calories");
  const n = (x: number): string => (ja ? plain(x) : grouped(x));
  const km = ja ? thousandths(meters) : groupedDecimal(thousandths(meters));
  const lines: PostLine[] = [{ text: ja ? `本日(${date})の運動 from Fitbit` : `Today's exercise (${date}) from Fitbit` }, BLANK];

  if (want.has("minutes")) {
    const minutes: [number | undefined, string, string][] = [
      [count(a.sedentaryMinutes), "座っていた時間", "Sitting time"],
      [count(a.lightlyActiveMinutes), "軽い運動の時間", "Light exercise time"],
      [count(a.fairlyActiveMinutes), "アクティブな運動の時間", "Active exercise time"],
      [count(a.veryActiveMinutes), "激しい運動の時間", "Time for strenuous exercise"],
    ];
    for (const [value, jaLabel, enLabel] of minutes) {
      if (value === undefined) continue;
      lines.push({ text: ja ? `${jaLabel}: ${n(value)}分` : `${enLabel}: ${n(value)} ${plural(value, "minute")}`, dropRank: DROP_RANK.minutes });
    }
    lines.push(BLANK);
  }

  lines.push({ text: ja ? `本日の歩数: ${n(steps)}歩 (${km}km)` : `Today's steps: ${n(steps)} ${plural(steps, "step")} (${km} km)` }, BLANK);

  if (want.has("calories")) {
    const bmr = count(a.caloriesBMR);
    const basal = bmr === undefined ? "" : ja ? ` (基礎代謝: ${n(bmr)}kcal)` : ` (basal metabolism: ${n(bmr)} kcal)`;
    lines.push({ text: ja ? `消費カロリー: ${n(calories)}kcal${basal}` : `Calories burned: ${n(calories)} kcal${basal}`, dropRank: DROP_RANK.calories }, BLANK);
  }

  const floors = want.has("floors") ? count(a.floors) : undefined;
  if (floors !== undefined) {
    lines.push({ text: ja ? `上った階数: ${n(floors)}階` : `Floors climbed: ${n(floors)}`, dropRank: DROP_RANK.newLine });
  }
  const azm = want.has("activeZoneMinutes") ? count(a.activeZoneMinutes) : undefined;
  if (azm !== undefined) {
    lines.push({ text: ja ? `アクティブゾーン: ${n(azm)}分` : `Active Zone Minutes: ${n(azm)}`, dropRank: DROP_RANK.newLine });
  }
  return lines;
}

/** The sleep post's lines before fitting. */
export function sleepLines(date: string, s: DaySleep, opts: SummaryTextOptions): PostLine[] {
  const ja = opts.language === "ja-JP";
  const want = wanted(opts);
  const asleep = hours(required(s.minutesAsleep, "minutesAsleep"), ja);
  const lines: PostLine[] = [
    { text: ja ? `本日(${date})の睡眠時間 from Fitbit` : `Sleep (${date}) from Fitbit` },
    BLANK,
    { text: ja ? `睡眠時間: ${asleep}時間${s.estimated ? " (推定)" : ""}` : `Sleep: ${asleep} hours${s.estimated ? " (estimated)" : ""}` },
  ];
  const inBed = want.has("timeInBed") ? count(s.minutesInBed) : undefined;
  if (inBed !== undefined && inBed > 0) {
    const h = hours(inBed, ja);
    lines.push({ text: ja ? `ベッドにいた時間: ${h}時間` : `Time in bed: ${h} hours`, dropRank: DROP_RANK.newLine });
  }
  return lines;
}

/**
 * Joins the lines into one post that twitter-text accepts (weighted length at most 280), dropping
 * whole droppable lines (lowest rank first, bottom-most first within a rank) until it does.
 * Blank lines only ever separate two non-empty sections. Null when nothing droppable is left and
 * it still does not fit.
 */
export function fitToTweet(lines: readonly PostLine[]): string | null {
  const kept = [...lines];
  for (;;) {
    const text = render(kept);
    if (text.length > 0 && twitterText.parseTweet(text).valid) return text;
    const victim = nextToDrop(kept);
    if (victim < 0) return null;
    kept.splice(victim, 1);
  }
}

/** The weighted length X counts (CJK counts 2, URLs 23); at most 280 fits. */
export function weightedLength(text: string): number {
  return twitterText.parseTweet(text).weightedLength;
}

// ---------------------------------------------------------------------------------------------

function render(lines: readonly PostLine[]): string {
  const out: string[] = [];
  for (const line of lines) {
    if (line.text === "") {
      if (out.length > 0 && out[out.length - 1] !== "") out.push("");
    } else out.push(line.text);
  }
  while (out.length > 0 && out[out.length - 1] === "") out.pop();
  return out.join("\n");
}

function nextToDrop(lines: readonly PostLine[]): number {
  let best = -1;
  for (let i = 0; i < lines.length; i++) {
    const rank = lines[i]!.dropRank;
    if (rank === undefined || lines[i]!.text === "") continue;
    if (best < 0 || rank <= lines[best]!.dropRank!) best = i;
  }
  return best;
}

function wanted(opts: SummaryTextOptions): Set<SummaryLine> {
  return new Set(opts.lines ?? SUMMARY_LINES);
}

/** A whole non-negative count, or undefined when the number is missing or not a count. */
function count(x: number | undefined | null): number | undefined {
  return typeof x === "number" && Number.isFinite(x) && x >= 0 ? Math.round(x) : undefined;
}

function required(x: number, name: string): number {
  const n = count(x);
  if (n === undefined) throw new RangeError(`summary-text: ${name} must be a finite number >= 0`);
  return n;
}

/** n/1000 with exactly 3 decimals, computed on integers so no float rounding shows. */
function thousandths(n: number): string {
  const b = BigInt(n);
  return `${b / 1000n}.${String(b % 1000n).padStart(3, "0")}`;
}

function hours(minutes: number, ja: boolean): string {
  const h = thousandths(Math.round((minutes * 1000) / 60));
  return ja ? h : groupedDecimal(h);
}

/** Digits without exponent, whatever the size. */
function plain(n: number): string {
  return n < 1e21 ? String(n) : BigInt(n).toString();
}

function grouped(n: number): string {
  return plain(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

function groupedDecimal(s: string): string {
  const [whole, frac] = s.split(".");
  return `${whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ",")}.${frac}`;
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}
