// The cloud path's scheduler: polls Google Health pairedDevices for battery alerts and makes the
// nightly summaries, for every wearer who linked Google Health.
//
// Schedule: one cloud_jobs row per wearer and kind ("poll", "summary"). A tick claims due rows by
// moving due_at forward by a lease (a crashed process's jobs come back when it runs out), on
// PostgreSQL picking them with FOR UPDATE SKIP LOCKED, so with several relay processes on one
// database each due job runs in exactly one of them. Polls fall in a stable per-wearer slot of the
// period (cloud-schedule.ts). Before any call the per-user and per-project quotas are counted in the
// database (cloud-quota.ts); a job the quota denies waits for the next minute, it is not lost.
// A 429 for one wearer backs that wearer off (Retry-After); a 429 seen by several wearers in one
// tick, or one that names the project's quota, pauses every process until Retry-After.
import { randomBytes } from "node:crypto";
import { GoogleApiError, type GoogleHealthClient, type PairedDevice } from "../providers/google-health.ts";
import { Problem } from "../http/problem.ts";
import type { CloudJobsTable } from "../store/schema.ts";
import { chooseReading, latestSync, recordCloudBattery, readingEventId } from "./cloud-battery.ts";
import {
  createProjectGate,
  giveBackUserQuota,
  nextMinute,
  pauseProject,
  projectPausedUntil,
  sweepQuotaCounters,
  takeUserQuota,
  takeUserQuotaEach,
  type ProjectGate,
} from "./cloud-quota.ts";
import { nextPollAt, summaryDueAt } from "./cloud-schedule.ts";
import { dayFrom, fetchPieces, piecesFor, planSummary, postCloudSummary, syncedPast, type Got, type Granted, type SummaryState } from "./cloud-summary.ts";
import type { Deps } from "./deps.ts";
import type { Device } from "./devices.ts";
import { grantedOf, withGoogleAccess } from "./google-accounts.ts";
import { readPreferences } from "./preferences.ts";

export type CloudDeps = Deps;

export interface CloudTickOptions {
  /** default: deps.clock.now() */
  now?: Date;
  /** at most this many jobs this tick (default 20,000) */
  limit?: number;
  /** jobs in flight at once (default 32) */
  concurrency?: number;
}

export interface CloudTickResult {
  /** pairedDevices polls made for alerts */
  polled: number;
  /** summaries handed to recordSummary */
  summaries: number;
  /** jobs that needed no call (not due in substance, nothing wanted, the watch's summary already in, not synced yet) */
  skipped: number;
  /** jobs put off by a quota or a 429 */
  deferred: number;
  /** jobs that failed (transient errors, retried later) */
  failed: number;
  /** wearers whose link is gone or broken: their jobs were removed */
  dropped: number;
  /** SMS queued */
  sms: number;
  /** Google Health API calls made (token refreshes are not among them) */
  calls: number;
  /** set when the tick stopped for a project-level pause, until then */
  pausedUntil?: string;
}

const LEASE_MS = 5 * 60_000;
const CLAIM_BATCH = 256;
const DEFAULT_CONCURRENCY = 32;
const DEFAULT_LIMIT = 20_000;
/** this many distinct wearers answered 429 in one tick: the limit is the project's, not theirs */
const PROJECT_429_WEARERS = 3;
const MAX_BACKOFF_MS = 30 * 60_000;

interface ProcessState {
  id: string;
  gate: ProjectGate;
  sweptMinute: number;
  running: Promise<CloudTickResult> | null;
}
const processes = new WeakMap<object, ProcessState>();

function processOf(deps: CloudDeps): ProcessState {
  let p = processes.get(deps);
  if (!p) {
    p = { id: `c_${randomBytes(6).toString("base64url")}`, gate: createProjectGate(deps.store.db, deps.config.google.projectQpm), sweptMinute: 0, running: null };
    processes.set(deps, p);
  }
  return p;
}

/** One tick: find newly linked wearers, then claim and run due jobs until none is due (or `limit`). */
export function runCloudTick(deps: CloudDeps, opts: CloudTickOptions = {}): Promise<CloudTickResult> {
  const p = processOf(deps);
  // a periodic tick that finds the last one still running leaves it to finish
  if (p.running) return p.running;
  p.running = tick(deps, p, opts).finally(() => {
    p.running = null;
  });
  return p.running;
}

async function tick(deps: CloudDeps, p: ProcessState, opts: CloudTickOptions): Promise<CloudTickResult> {
  const r: CloudTickResult = { polled: 0, summaries: 0, skipped: 0, deferred: 0, failed: 0, dropped: 0, sms: 0, calls: 0 };
  if (!deps.google) return r;
  const now = opts.now ?? deps.clock.now();
  const db = deps.store.db;
  const minute = Math.floor(now.getTime() / 60_000);
  if (minute !== p.sweptMinute) {
    p.sweptMinute = minute;
    await sweepQuotaCounters(db, now);
  }
  const paused = await projectPausedUntil(db, now);
  if (paused) return { ...r, pausedUntil: paused.toISOString() };
  await ensureJobs(deps, now);
  const ctx: TickContext = { deps, google: deps.google, p, now, r, limited: new Set(), pollGranted: new Set(), pausedUntil: null };
  const limit = opts.limit ?? DEFAULT_LIMIT;
  const concurrency = Math.max(1, opts.concurrency ?? DEFAULT_CONCURRENCY);
  let taken = 0;
  while (taken < limit && !ctx.pausedUntil) {
    const jobs = await claim(deps, p.id, now, Math.min(CLAIM_BATCH, limit - taken));
    if (jobs.length === 0) break;
    taken += jobs.length;
    const wearers = await loadWearers(deps, jobs);
    await grantPolls(ctx, jobs, wearers);
    let next = 0;
    const lane = async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        if (ctx.pausedUntil) {
          // not started: back to the queue for when the pause ends, no attempt counted
          await finish(deps, p.id, job, { due: ctx.pausedUntil });
          continue;
        }
        await runJob(ctx, job, wearers.get(job.device_id));
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, lane));
  }
  if (ctx.pausedUntil) r.pausedUntil = ctx.pausedUntil.toISOString();
  return r;
}

interface TickContext {
  deps: CloudDeps;
  google: GoogleHealthClient;
  p: ProcessState;
  now: Date;
  r: CloudTickResult;
  /** wearers answered 429 this tick */
  limited: Set<string>;
  /** poll jobs of this batch whose one call the quotas allow */
  pollGranted: Set<string>;
  pausedUntil: Date | null;
}

// --- the schedule rows ---------------------------------------------------------------------------

const jobId = (kind: "poll" | "summary", deviceId: string) => `${kind}:${deviceId}`;

/** Rows for wearers whose Google link is live and who have none yet (linked since the last tick, or before the schedule existed). */
async function ensureJobs(deps: CloudDeps, now: Date): Promise<void> {
  const db = deps.store.db;
  const period = deps.config.google.pollMinutes * 60_000;
  for (;;) {
    const fresh = await db
      .selectFrom("google_accounts")
      .select(["device_id", "updated_at"])
      .where("status", "=", "linked")
      .where("device_id", "not in", db.selectFrom("cloud_jobs").select("device_id"))
      .limit(1000)
      .execute();
    if (fresh.length === 0) return;
    const at = now.toISOString();
    const rows = fresh.flatMap(({ device_id, updated_at }) => [
      // just linked: a first reading now; linked long ago (rows made after an upgrade): the wearer's slot
      {
        id: jobId("poll", device_id),
        device_id,
        kind: "poll",
        due_at: now.getTime() - Date.parse(updated_at) < period ? at : nextPollAt(device_id, now, period).toISOString(),
        claimed_by: null,
        attempts: 0,
        state: "{}",
        updated_at: at,
      },
      // the summary job finds its day and time on its first run, without a call
      { id: jobId("summary", device_id), device_id, kind: "summary", due_at: at, claimed_by: null, attempts: 0, state: "{}", updated_at: at },
    ]);
    await db.insertInto("cloud_jobs").values(rows).onConflict((oc) => oc.column("id").doNothing()).execute();
    if (fresh.length < 1000) return;
  }
}

async function claim(deps: CloudDeps, by: string, now: Date, limit: number): Promise<CloudJobsTable[]> {
  const nowIso = now.toISOString();
  const lease = new Date(now.getTime() + LEASE_MS).toISOString();
  const take = (q: CloudDeps["store"]["db"], ids: string[]) =>
    q
      .updateTable("cloud_jobs")
      .set({ due_at: lease, claimed_by: by, updated_at: nowIso })
      .where("id", "in", ids)
      .where("due_at", "<=", nowIso) // re-check: on SQLite there are no row locks
      .returningAll()
      .execute();
  const candidates = async (q: CloudDeps["store"]["db"], lock: boolean) => {
    let s = q.selectFrom("cloud_jobs").select("id").where("due_at", "<=", nowIso).orderBy("due_at").limit(limit);
    if (lock) s = s.forUpdate().skipLocked();
    return (await s.execute()).map((r) => r.id);
  };
  if (deps.store.dialect === "postgres") {
    return deps.store.db.transaction().execute(async (tx) => {
      const ids = await candidates(tx, true);
      return ids.length ? take(tx, ids) : [];
    });
  }
  const ids = await candidates(deps.store.db, false);
  return ids.length ? take(deps.store.db, ids) : [];
}

/** Only the holder of the claim records the outcome. */
async function finish(deps: CloudDeps, by: string, job: CloudJobsTable, o: { due: Date; state?: object; attempts?: number }): Promise<void> {
  await deps.store.db
    .updateTable("cloud_jobs")
    .set({
      due_at: o.due.toISOString(),
      claimed_by: null,
      attempts: o.attempts ?? 0,
      ...(o.state ? { state: JSON.stringify(o.state) } : {}),
      updated_at: deps.clock.now().toISOString(),
    })
    .where("id", "=", job.id)
    .where("claimed_by", "=", by)
    .execute();
}

async function dropWearer(deps: CloudDeps, deviceId: string): Promise<void> {
  await deps.store.db.deleteFrom("cloud_jobs").where("device_id", "=", deviceId).execute();
}

interface Wearer {
  dev: Device;
  /** the Google link as it stands (no row: unlinked) */
  link?: { status: string; granted: Granted };
}

/** The claimed wearers and their links, in two queries for the whole batch. */
async function loadWearers(deps: CloudDeps, jobs: CloudJobsTable[]): Promise<Map<string, Wearer>> {
  const ids = [...new Set(jobs.map((j) => j.device_id))];
  const [devices, links] = await Promise.all([
    deps.store.db.selectFrom("devices").selectAll().where("id", "in", ids).execute(),
    deps.store.db.selectFrom("google_accounts").select(["device_id", "status", "scopes"]).where("device_id", "in", ids).execute(),
  ]);
  const byId = new Map(links.map((l) => [l.device_id, l]));
  return new Map(
    devices.map((dev) => {
      const l = byId.get(dev.id);
      return [dev.id, { dev, ...(l ? { link: { status: l.status, granted: grantedOf(l.scopes) } } : {}) }];
    }),
  );
}

const parseState = <T>(s: string): T => {
  try {
    return JSON.parse(s) as T;
  } catch {
    return {} as T;
  }
};

// --- one job -------------------------------------------------------------------------------------

interface PollState {
  /** latest lastSyncTime of any tracker, as of polledAt */
  syncedAt?: string | null;
  polledAt?: string;
  /** the reading last fed to the alert policy (the same reading polled again needs no transaction) */
  lastEventId?: string;
}

async function runJob(ctx: TickContext, job: CloudJobsTable, w: Wearer | undefined): Promise<void> {
  const { deps, r } = ctx;
  if (!w || !w.link || w.link.status !== "linked") {
    // erased, unlinked, or the link broke (revoked at Google): nothing more to do until a new link
    await dropWearer(deps, job.device_id);
    r.dropped++;
    return;
  }
  try {
    if (job.kind === "poll") await runPoll(ctx, job, w.dev, w.link.granted);
    else await runSummary(ctx, job, w.dev, w.link.granted);
  } catch (err) {
    await onError(ctx, job, w.dev, err);
  }
}

function wantsAlerts(w: Wearer | undefined): boolean {
  if (!w || w.link?.status !== "linked" || !w.link.granted.settings) return false;
  return readPreferences(w.dev.preferences).sms && !!w.dev.phone_number && w.dev.phone_verified === 1;
}

/** The quota for a batch's polls (one call each), taken in two statements rather than one per poll. */
async function grantPolls(ctx: TickContext, jobs: CloudJobsTable[], wearers: Map<string, Wearer>): Promise<void> {
  const { deps, p, now } = ctx;
  const polls = jobs.filter((j) => j.kind === "poll" && wantsAlerts(wearers.get(j.device_id)));
  const users = await takeUserQuotaEach(deps.store.db, polls.map((j) => j.device_id), deps.config.google.userQpm, now);
  const allowed = polls.filter((j) => users.has(j.device_id));
  const n = allowed.length > 0 ? await p.gate.takeUpTo(allowed.length, now) : 0;
  ctx.pollGranted = new Set(allowed.slice(0, n).map((j) => j.id));
  for (const j of allowed.slice(n)) await giveBackUserQuota(deps.store.db, j.device_id, 1, now);
}

/**
 * Quota for up to `n` calls of this wearer now (per user, then per project); returns how many may be
 * made. None: the job waits for the next minute (recorded here).
 */
async function quota(ctx: TickContext, job: CloudJobsTable, n: number, state?: object): Promise<number> {
  const { deps, p, now } = ctx;
  const db = deps.store.db;
  const user = await takeUserQuota(db, job.device_id, n, deps.config.google.userQpm, now);
  const granted = user > 0 ? await p.gate.takeUpTo(user, now) : 0;
  if (granted < user) await giveBackUserQuota(db, job.device_id, user - granted, now);
  if (granted === 0) {
    await finish(deps, p.id, job, { due: nextMinute(now), attempts: job.attempts, ...(state ? { state } : {}) });
    ctx.r.deferred++;
  }
  return granted;
}

async function runPoll(ctx: TickContext, job: CloudJobsTable, dev: Device, granted: Granted): Promise<void> {
  const { deps, p, now, r } = ctx;
  const period = deps.config.google.pollMinutes * 60_000;
  const nextSlot = nextPollAt(dev.id, now, period);
  const prefs = readPreferences(dev.preferences);
  const st = parseState<PollState>(job.state);
  if (!prefs.sms || !dev.phone_number || dev.phone_verified !== 1 || !granted.settings) {
    await finish(deps, p.id, job, { due: nextSlot });
    r.skipped++;
    return;
  }
  if (!ctx.pollGranted.has(job.id)) {
    await finish(deps, p.id, job, { due: nextMinute(now), attempts: job.attempts });
    r.deferred++;
    return;
  }
  r.calls++;
  const devices = await withGoogleAccess(deps, dev.id, (token) => ctx.google.pairedDevices(token));
  r.polled++;
  const synced = latestSync(devices);
  const next: PollState = { syncedAt: synced?.toISOString() ?? null, polledAt: now.toISOString(), lastEventId: st.lastEventId };
  const choice = chooseReading(devices, now);
  if (choice.kind !== "none") {
    const eventId = readingEventId(choice.device.id, choice.syncedAt, choice.kind === "stale" ? "-stale" : "");
    if (eventId !== st.lastEventId) {
      try {
        const answer = await recordCloudBattery(deps, dev.id, choice);
        if (answer?.action === "sms") r.sms++;
        next.lastEventId = eventId;
      } catch (err) {
        // a sync time ahead of our clock is refused as the watch's would be; the next poll tries again
        if (!(err instanceof Problem)) throw err;
      }
    }
  }
  await finish(deps, p.id, job, { due: nextSlot, state: next });
}

async function runSummary(ctx: TickContext, job: CloudJobsTable, dev: Device, granted: Granted): Promise<void> {
  const { deps, p, now, r } = ctx;
  const st = parseState<SummaryState>(job.state);
  const plan = await planSummary(deps, dev, granted, st, now);
  const prefs = readPreferences(dev.preferences);
  const dueOf = (s: SummaryState) => {
    const d = summaryDueAt(s.date!, prefs.summaryTime, dev.timezone);
    return d > now ? d : now;
  };
  if (plan.step === "wait") {
    await finish(deps, p.id, job, { due: plan.until, state: plan.state });
    r.skipped++;
    return;
  }
  if (plan.step === "done") {
    await finish(deps, p.id, job, { due: dueOf(plan.state), state: plan.state });
    r.skipped++;
    return;
  }
  const retryAt = () => {
    const t = new Date(now.getTime() + deps.config.google.summaryRetryMinutes * 60_000);
    // past the wait limit, one more run records that the day had no data
    return t > plan.giveUpAt ? new Date(plan.giveUpAt.getTime() + 1) : t;
  };
  const got: Got = st.date === plan.date && st.got ? st.got : {};
  // Has the device synced past the end of the day? The latest poll answers when it is recent.
  if (Object.keys(got).length === 0) {
    let synced: boolean | null = null;
    const poll = await deps.store.db.selectFrom("cloud_jobs").select("state").where("id", "=", jobId("poll", dev.id)).executeTakeFirst();
    const ps = parseState<PollState>(poll?.state ?? "{}");
    const recent = ps.polledAt && now.getTime() - Date.parse(ps.polledAt) <= deps.config.google.summaryRetryMinutes * 60_000;
    // a tracker that never synced has nothing to tell yet; without the settings scope only the data can say
    if (recent) synced = ps.syncedAt ? syncedPast(plan.date, dev.timezone, new Date(ps.syncedAt)) : false;
    else if (granted.settings) {
      if ((await quota(ctx, job, 1, { date: plan.date })) === 0) return;
      r.calls++;
      const devices: PairedDevice[] = await withGoogleAccess(deps, dev.id, (token) => ctx.google.pairedDevices(token));
      synced = syncedPast(plan.date, dev.timezone, latestSync(devices)) ?? false;
    }
    if (synced === false) {
      await finish(deps, p.id, job, { due: retryAt(), state: { date: plan.date } });
      r.skipped++;
      return;
    }
  }
  const todo = piecesFor(plan.kinds).filter((piece) => !(piece in got));
  if (todo.length > 0) {
    const may = await quota(ctx, job, todo.length, { date: plan.date, got });
    if (may === 0) return;
    const batch = todo.slice(0, may);
    const made = await withGoogleAccess(deps, dev.id, (token) => fetchPieces(ctx.google, token, plan.date, batch, got));
    r.calls += made;
    if (made < may) {
      await giveBackUserQuota(deps.store.db, dev.id, may - made, now);
      p.gate.giveBack(may - made, now);
    }
    if ("steps" in got && !got.steps) {
      // no steps point at all: not synced yet, whatever the sync time said
      await finish(deps, p.id, job, { due: retryAt(), state: { date: plan.date } });
      r.skipped++;
      return;
    }
    if (batch.length < todo.length) {
      // the quota allowed only part of the calls: the rest in the next minute
      await finish(deps, p.id, job, { due: nextMinute(now), state: { date: plan.date, got } });
      r.deferred++;
      return;
    }
  }
  const day = dayFrom(got, plan.kinds);
  if (!day.activity && !day.sleep) {
    deps.log.info({ deviceId: dev.id, date: plan.date }, "cloud summary: no data for the day");
  } else {
    await postCloudSummary(deps, dev, plan.date, day);
    r.summaries++;
  }
  const next = { date: nextDateOf(plan.date) };
  await finish(deps, p.id, job, { due: dueOf(next), state: next });
}

const nextDateOf = (date: string) => new Date(Date.parse(date + "T00:00:00Z") + 86_400_000).toISOString().slice(0, 10);

async function onError(ctx: TickContext, job: CloudJobsTable, dev: Device, err: unknown): Promise<void> {
  const { deps, p, now, r } = ctx;
  const attempts = job.attempts + 1;
  if (err instanceof GoogleApiError) {
    if (err.kind === "invalid_grant") {
      // withGoogleAccess marked the link broken: no more polling until the wearer links again
      await dropWearer(deps, dev.id);
      r.dropped++;
      deps.log.info({ deviceId: dev.id }, "cloud: Google access revoked or expired; polling stopped until the wearer links again");
      return;
    }
    if (err.kind === "rate_limited") {
      const wait = err.retryAfterMs ?? 60_000;
      ctx.limited.add(dev.id);
      const projectWide = /project/i.test(err.message) || ctx.limited.size >= PROJECT_429_WEARERS;
      if (projectWide) {
        const until = new Date(now.getTime() + wait);
        if (!ctx.pausedUntil || until > ctx.pausedUntil) ctx.pausedUntil = until;
        await pauseProject(deps.store.db, until);
        deps.log.warn({ retryAfterMs: wait }, "cloud: Google Health quota of the project reached; pausing every relay process");
      }
      await finish(deps, p.id, job, { due: new Date(now.getTime() + wait), attempts });
      r.deferred++;
      return;
    }
    if (err.kind === "permanent" && job.kind === "summary") {
      // a scope taken back or a request Google refuses: that day is skipped, the next one tried
      const st = parseState<SummaryState>(job.state);
      deps.log.warn({ deviceId: dev.id, status: err.status, date: st.date }, "cloud summary: Google refused the request; day skipped");
      const next = st.date ? { date: nextDateOf(st.date) } : {};
      await finish(deps, p.id, job, { due: now, state: next });
      r.failed++;
      return;
    }
  }
  // transient (5xx, timeouts), or unauthorized after a refresh: retry with backoff
  const backoff = Math.min(MAX_BACKOFF_MS, 60_000 * 2 ** Math.min(10, attempts - 1));
  deps.log.warn({ deviceId: dev.id, kind: job.kind, attempts, err: errText(err) }, "cloud job failed; retrying later");
  await finish(deps, p.id, job, { due: new Date(now.getTime() + backoff), attempts });
  r.failed++;
}

const errText = (err: unknown) => (err instanceof Error ? `${err.name}: ${err.message}` : String(err));
