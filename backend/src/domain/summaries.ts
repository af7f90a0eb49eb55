// POST /v1/summaries: a day's totals become at most one X post per kind, ever. The summaries row
// (unique per device, date, kind) is the tombstone, written with its delivery in one transaction;
// only the numbers are kept, and the text is made at send time in the wearer's current language.
// Each eventId is answered once: the first answer is kept in summary_events and returned for a repeat.
import { Problem } from "../http/problem.ts";
import type { Db, Tx } from "../store/open-store.ts";
import type { SummariesTable } from "../store/schema.ts";
import type { Deps } from "./deps.ts";
import type { Device } from "./devices.ts";
import { newId } from "./ids.ts";
import { readPreferences } from "./preferences.ts";
import { formatActivityPost, formatSleepPost, type DayActivity, type DaySleep, type Lang } from "./summary-text.ts";

export type PostKind = "activity" | "sleep";
export type PostStatus = "queued" | "not_linked" | "off" | "no_data";

export interface SummaryInput {
  eventId: string;
  date: string;
  activity: DayActivity;
  sleep?: DaySleep;
}

export interface SummaryAnswer {
  date: string;
  posts: { kind: PostKind; status: PostStatus; at: string }[];
}

/** The UTC instant of a wall-clock time (HH:MM) on a date in a time zone (DST gaps roll forward). */
export function zonedInstant(date: string, hhmm: string, timeZone: string): Date {
  const [y, m, d] = date.split("-").map(Number) as [number, number, number];
  const wall = Date.UTC(y, m - 1, d, Number(hhmm.slice(0, 2)), Number(hhmm.slice(3, 5)));
  const t1 = wall - offsetMs(new Date(wall), timeZone);
  const t2 = wall - offsetMs(new Date(t1), timeZone);
  // t2 names the wall time unless it falls in a skipped hour; then the later guess is the time rolled forward
  return new Date(wall - offsetMs(new Date(t2), timeZone) === t2 ? t2 : Math.max(t1, t2));
}

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();
function offsetMs(at: Date, timeZone: string): number {
  let f = offsetFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
    offsetFormatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(at).map((x) => [x.type, x.value]));
  const asUtc = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour) % 24, Number(p.minute), Number(p.second));
  return asUtc - (at.getTime() - at.getUTCMilliseconds());
}

const addDays = (date: string, n: number) => new Date(Date.parse(date + "T00:00:00Z") + n * 86_400_000).toISOString().slice(0, 10);
const nextDay = (date: string) => addDays(date, 1);

/** Is there a linked account to post to? In outbox mode every wearer counts as linked. */
export async function canPost(deps: Deps, tx: Db | Tx, deviceId: string): Promise<boolean> {
  if (deps.x?.name === "outbox") return true;
  if (!deps.x) return false;
  const acc = await tx.selectFrom("x_accounts").select("status").where("device_id", "=", deviceId).executeTakeFirst();
  return acc?.status === "linked";
}

/** Days past the wearer's today a summary's date may be: one, for a phone whose time zone is off. */
const FUTURE_DAYS_ALLOWED = 1;

const isUniqueViolation = (err: unknown) => {
  const code = (err as { code?: string }).code;
  return code === "23505" || code === "SQLITE_CONSTRAINT_PRIMARYKEY" || code === "SQLITE_CONSTRAINT_UNIQUE";
};

/**
 * A day's summary, at most once per eventId: a repeated id from the same wearer gets the first answer
 * (stored in summary_events in the same transaction) and causes nothing, whatever its body now says.
 */
export async function recordSummary(deps: Deps, device: Device, s: SummaryInput): Promise<SummaryAnswer> {
  const { store } = deps;
  let queued = false;
  const run = () =>
    store.db.transaction().execute(async (tx) => {
      queued = false;
      // Per-wearer serialisation (PostgreSQL; SQLite runs one transaction at a time), taken before the
      // look-up so that a concurrent request with the same id finds the winner's answer once it commits.
      let dq = tx.selectFrom("devices").selectAll().where("id", "=", device.id);
      if (store.dialect === "postgres") dq = dq.forUpdate();
      const dev = await dq.executeTakeFirst();
      if (!dev) throw new Problem(401, "unauthorized", "This device token is not known (wrong, or the wearer was erased).");
      const seen = await tx.selectFrom("summary_events").select("answer").where("device_id", "=", dev.id).where("event_id", "=", s.eventId).executeTakeFirst();
      if (seen) return JSON.parse(seen.answer) as SummaryAnswer;
      const now = deps.clock.now();
      // Checked after the look-up: a repeat is answered as the first time, whatever its date now says.
      // Old dates are accepted: the per-day row still posts a day at most once, and a phone may hold a day back.
      if (s.date > addDays(localDate(now, dev.timezone), FUTURE_DAYS_ALLOWED)) {
        throw new Problem(422, "future_date", `date ${s.date} is later than the wearer's today (in their time zone); check the phone's date and time zone.`);
      }
      const answer: SummaryAnswer = { date: s.date, posts: await postDay(deps, tx, dev, s, now, () => (queued = true)) };
      await tx.insertInto("summary_events").values({ device_id: dev.id, event_id: s.eventId, answer: JSON.stringify(answer), created_at: now.toISOString() }).execute();
      return answer;
    });
  let answer: SummaryAnswer;
  try {
    answer = await run();
  } catch (err) {
    // the same id written meanwhile by another process (no device lock on SQLite): answer as it did
    if (!isUniqueViolation(err)) throw err;
    answer = await run();
  }
  if (queued) deps.onEnqueue?.();
  return answer;
}

/** YYYY-MM-DD of `at` in the time zone. */
const localDate = (at: Date, timeZone: string) => new Date(at.getTime() + offsetMs(at, timeZone)).toISOString().slice(0, 10);

/** The day's posts under the per (wearer, date, kind) rule: at most one post per kind, ever. */
async function postDay(deps: Deps, tx: Tx, device: Device, s: SummaryInput, now: Date, onQueued: () => void): Promise<SummaryAnswer["posts"]> {
  const prefs = readPreferences(device.preferences);
  const due = zonedInstant(nextDay(s.date), prefs.summaryTime, device.timezone);
  const at = (due > now ? due : now).toISOString();
  const wanted: { kind: PostKind; on: boolean; data: DayActivity | DaySleep | undefined }[] = [
    { kind: "activity", on: prefs.postActivity, data: s.activity },
    { kind: "sleep", on: prefs.postSleep, data: s.sleep && s.sleep.minutesAsleep > 0 ? s.sleep : undefined },
  ];
  const linked = await canPost(deps, tx, device.id);
  const out: SummaryAnswer["posts"] = [];
  for (const w of wanted) {
    if (!w.data) {
      out.push({ kind: w.kind, status: "no_data", at });
      continue;
    }
    const status: PostStatus = !w.on ? "off" : linked ? "queued" : "not_linked";
    let q = tx.selectFrom("summaries").selectAll().where("device_id", "=", device.id).where("date", "=", s.date).where("kind", "=", w.kind);
    if (deps.store.dialect === "postgres") q = q.forUpdate();
    let row: SummariesTable | undefined = await q.executeTakeFirst();
    if (!row) {
      const inserted = await tx
        .insertInto("summaries")
        .values({ device_id: device.id, date: s.date, kind: w.kind, data: JSON.stringify(w.data), status: "pending", due_at: at, delivery_id: null, created_at: now.toISOString() })
        .onConflict((oc) => oc.columns(["device_id", "date", "kind"]).doNothing())
        .returningAll()
        .executeTakeFirst();
      if (inserted) row = inserted;
      else {
        // another request for the same day won the insert: its answer is ours
        const other = await tx.selectFrom("summaries").selectAll().where("device_id", "=", device.id).where("date", "=", s.date).where("kind", "=", w.kind).executeTakeFirstOrThrow();
        out.push({ kind: w.kind, status: other.status as PostStatus, at: other.due_at });
        continue;
      }
    }
    if (row.status === "queued") {
      // posted or on its way: at most once, ever
      out.push({ kind: w.kind, status: "queued", at: row.due_at });
      continue;
    }
    if (status === "queued") {
      const id = newId("dl", now);
      await tx
        .insertInto("deliveries")
        .values({
          id,
          device_id: device.id,
          channel: "x",
          kind: w.kind,
          to_number: null,
          body: s.date,
          status: "queued",
          attempts: 0,
          next_attempt_at: at,
          claimed_until: null,
          claimed_by: null,
          provider_id: null,
          error: null,
          event_id: s.eventId,
          created_at: now.toISOString(),
          sent_at: null,
          updated_at: now.toISOString(),
        })
        .execute();
      await tx.updateTable("summaries").set({ status, due_at: at, delivery_id: id }).where("device_id", "=", device.id).where("date", "=", s.date).where("kind", "=", w.kind).execute();
      onQueued();
    } else {
      // not posted (yet): a later summary, after linking or turning posts on, may still queue it
      await tx.updateTable("summaries").set({ status, due_at: at }).where("device_id", "=", device.id).where("date", "=", s.date).where("kind", "=", w.kind).execute();
    }
    out.push({ kind: w.kind, status, at });
  }
  return out;
}

/** The post's text as it would go out now, or null when there is nothing to post. */
export function postText(kind: PostKind, date: string, data: unknown, language: string): string | null {
  const lang: Lang = language === "ja-JP" ? "ja-JP" : "en-US";
  return kind === "activity" ? formatActivityPost(date, data as DayActivity, { language: lang }) : formatSleepPost(date, data as DaySleep, { language: lang });
}

/** A sample day for previews before any summary arrived. */
export const SAMPLE_DAY: { activity: DayActivity; sleep: DaySleep } = {
  activity: { steps: 8432, distanceMeters: 6120, calories: 2140, floors: 9, activeZoneMinutes: 34, caloriesBMR: 1580, sedentaryMinutes: 612, lightlyActiveMinutes: 187, fairlyActiveMinutes: 21, veryActiveMinutes: 13 },
  sleep: { minutesAsleep: 412, minutesInBed: 455 },
};

export async function previewSummary(deps: Deps, device: Device, date: string) {
  const rows = await deps.store.db.selectFrom("summaries").select(["kind", "data"]).where("device_id", "=", device.id).where("date", "=", date).execute();
  const source = rows.length > 0 ? "summary" : "sample";
  const data: Record<string, unknown> = rows.length > 0 ? Object.fromEntries(rows.map((r) => [r.kind, JSON.parse(r.data)])) : SAMPLE_DAY;
  const posts: { kind: PostKind; text: string }[] = [];
  for (const kind of ["activity", "sleep"] as const) {
    const text = data[kind] ? postText(kind, date, data[kind], device.language) : null;
    if (text) posts.push({ kind, text });
  }
  return { date, source, posts };
}
