// Google Health quotas (per project per minute, per user per minute), counted in the database so
// they hold across relay processes: one counter row per UTC minute (and per wearer), bumped before
// the calls are made. A process takes project slots in small blocks to spare the hot row; slots it
// does not use lapse with the minute, so the count can only overstate what was sent.
import { sql } from "kysely";
import type { Db } from "../store/open-store.ts";
import { bump } from "./limits.ts";

const PREFIX = "gq:";
export const minuteKey = (now: Date) => now.toISOString().slice(0, 16); // 2026-11-20T12:05
const projectCounter = (now: Date) => `${PREFIX}${minuteKey(now)}:p`;
const userCounter = (now: Date, deviceId: string) => `${PREFIX}${minuteKey(now)}:u:${deviceId}`;

/** The start of the next UTC minute: when a denied job may try again. */
export const nextMinute = (now: Date) => new Date(Math.floor(now.getTime() / 60_000) * 60_000 + 60_000);

export interface ProjectGate {
  /** how many of `n` calls may be made in the current minute, at most `n` (and counts them) */
  takeUpTo(n: number, now: Date): Promise<number>;
  /** hands back calls taken but not made */
  giveBack(n: number, now: Date): void;
}

export function createProjectGate(db: Db, projectQpm: number): ProjectGate {
  const block = Math.max(1, Math.min(64, Math.floor(projectQpm / 20)));
  let minute = "";
  let left = 0;
  /** the minute's quota is spent (as far as this process can tell): no need to ask the database again */
  let spent = false;
  let refilling: Promise<void> | null = null;
  const refill = async (now: Date, need: number) => {
    const m = minuteKey(now);
    const want = Math.max(need, block);
    const after = await bump(db, projectCounter(now), want);
    const granted = Math.max(0, Math.min(want, projectQpm - (after - want)));
    if (granted < want) await bump(db, projectCounter(now), granted - want); // give back what is over the quota
    if (m !== minute) return;
    left += granted;
    if (granted < want) spent = true;
  };
  const roll = (now: Date) => {
    const m = minuteKey(now);
    if (m !== minute) {
      minute = m;
      left = 0;
      spent = false;
    }
  };
  return {
    async takeUpTo(n, now) {
      for (;;) {
        roll(now);
        if (left >= n || (spent && !refilling)) {
          const g = Math.min(left, n);
          left -= g;
          return g;
        }
        // one refill at a time per process: the others wait for it and look again
        if (refilling) {
          await refilling;
          continue;
        }
        refilling = refill(now, n - left).finally(() => {
          refilling = null;
        });
        await refilling;
      }
    },
    giveBack(n, now) {
      // kept for this process's next calls in the same minute (the database count stays as it was)
      if (minuteKey(now) === minute) left += n;
    },
  };
}

/** Counts up to `n` calls for one wearer in the current minute, as many as `userQpm` leaves; returns how many. */
export async function takeUserQuota(db: Db, deviceId: string, n: number, userQpm: number, now: Date): Promise<number> {
  const after = await bump(db, userCounter(now, deviceId), n);
  const granted = Math.max(0, Math.min(n, userQpm - (after - n)));
  if (granted < n) await bump(db, userCounter(now, deviceId), granted - n);
  return granted;
}

/** Hands back calls counted for a wearer but not made. */
export async function giveBackUserQuota(db: Db, deviceId: string, n: number, now: Date): Promise<void> {
  if (n > 0) await bump(db, userCounter(now, deviceId), -n);
}

/** Counters of minutes that are over (kept 5 minutes); names sort by minute. */
export async function sweepQuotaCounters(db: Db, now: Date): Promise<void> {
  const cutoff = `${PREFIX}${minuteKey(new Date(now.getTime() - 5 * 60_000))}`;
  await db.deleteFrom("counters").where("name", ">=", PREFIX).where("name", "<", cutoff).execute();
}

const PAUSE = "google_project_pause";

/** A project-level 429 pauses every process until then. */
export async function pauseProject(db: Db, until: Date): Promise<void> {
  const at = until.toISOString();
  await db
    .insertInto("cloud_flags")
    .values({ name: PAUSE, until_at: at })
    .onConflict((oc) => oc.column("name").doUpdateSet({ until_at: at }))
    .execute();
}

export async function projectPausedUntil(db: Db, now: Date): Promise<Date | null> {
  const row = await db.selectFrom("cloud_flags").select("until_at").where("name", "=", PAUSE).executeTakeFirst();
  return row && row.until_at > now.toISOString() ? new Date(row.until_at) : null;
}

/**
 * One call for each of many wearers (a batch of polls) in one statement; returns the wearers granted.
 * Those over their quota are handed back at once.
 */
export async function takeUserQuotaEach(db: Db, deviceIds: string[], userQpm: number, now: Date): Promise<Set<string>> {
  if (deviceIds.length === 0) return new Set();
  const rows = await db
    .insertInto("counters")
    .values(deviceIds.map((id) => ({ name: userCounter(now, id), count: 1 })))
    .onConflict((oc) => oc.column("name").doUpdateSet({ count: sql`counters.count + 1` }))
    .returning(["name", "count"])
    .execute();
  const over = new Set(rows.filter((r) => Number(r.count) > userQpm).map((r) => r.name));
  const granted = new Set<string>();
  for (const id of deviceIds) if (!over.has(userCounter(now, id))) granted.add(id);
  if (over.size > 0) await db.updateTable("counters").set({ count: sql`count - 1` }).where("name", "in", [...over]).execute();
  return granted;
}
