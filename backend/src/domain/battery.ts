// A battery report: the event row, the wearer's alert state and any SMS are written in ONE transaction,
// keyed by (device, eventId) so a repeated id returns the first answer and causes nothing new.
import { Problem } from "../http/problem.ts";
import type { Tx } from "../store/open-store.ts";
import { prepared } from "../store/prepared.ts";
import { lowBatteryText, type Lang } from "./alert-text.ts";
import { decideBattery } from "./battery-policy.ts";
import type { Deps } from "./deps.ts";
import type { Device } from "./devices.ts";
import { quietHoursEnd, readPreferences } from "./preferences.ts";
import { cancelQueuedSms, chargeSms, enqueueSms } from "./sms-queue.ts";

export interface BatteryEvent {
  eventId: string;
  level: number;
  charging: boolean;
  observedAt: string;
  /** "cloud": read by the relay from Google Health (observedAt is the device's last sync) */
  source: "watch" | "phone" | "cloud";
  timeLeftMinutes?: number;
}

export interface BatteryAnswer {
  eventId: string;
  action: "sms" | "none";
  reason?: string;
}

/** How a reading's SMS reads; the default is the watch's text (level and time left). */
export interface ReadingOptions {
  text?: (dev: Device, ev: BatteryEvent) => string;
}

/** Clocks drift; a report from further ahead than this would block real ones as "newer", so it is refused. */
const MAX_FUTURE_MS = 10 * 60_000;

// The queries every report runs, compiled once (store/prepared.ts).
const seenAnswer = prepared(2, (db, deviceId: string, eventId: string) =>
  db.selectFrom("events").select("answer").where("device_id", "=", deviceId).where("event_id", "=", eventId),
);
const deviceById = prepared(1, (db, id: string) => db.selectFrom("devices").selectAll().where("id", "=", id));
const deviceByIdForUpdate = prepared(1, (db, id: string) => db.selectFrom("devices").selectAll().where("id", "=", id).forUpdate());
const insertEvent = prepared(5, (db, deviceId: string, eventId: string, observedAt: string, answer: string, createdAt: string) =>
  db.insertInto("events").values({ device_id: deviceId, event_id: eventId, kind: "battery", observed_at: observedAt, answer, created_at: createdAt }),
);
const updateAlertState = prepared(5, (db, alerted: string, observedAt: string, level: number, seenAt: string, id: string) =>
  db
    .updateTable("devices")
    .set({ alerted, last_observed_at: observedAt, last_level: level, last_seen_at: seenAt, silence_alerted: 0 })
    .where("id", "=", id),
);

export async function recordBattery(deps: Deps, device: Device, ev: BatteryEvent): Promise<BatteryAnswer> {
  return recordBatteryReading(deps, device.id, ev);
}

/**
 * One battery reading, from the watch, the phone or the cloud, through the one alert policy and the
 * wearer's one alert state (the devices row), so a crossing seen by two sources makes one SMS.
 */
export async function recordBatteryReading(deps: Deps, deviceId: string, ev: BatteryEvent, opts: ReadingOptions = {}): Promise<BatteryAnswer> {
  const observed = new Date(ev.observedAt);
  if (observed.getTime() > deps.clock.now().getTime() + MAX_FUTURE_MS) {
    throw new Problem(400, "invalid_request", "observedAt is in the future; check the phone's clock.");
  }
  return recordOnce(deps, deviceId, ev.eventId, observed, (tx, dev) => decide(tx, deps, dev, ev, observed, opts));
}

/**
 * Runs `fn` for an event at most once: the event row, the wearer's state and any SMS are written in
 * ONE transaction keyed by (device, eventId); a repeated id returns the first answer.
 */
export async function recordOnce(
  deps: Deps,
  deviceId: string,
  eventId: string,
  observed: Date,
  fn: (tx: Tx, dev: Device) => Promise<BatteryAnswer>,
): Promise<BatteryAnswer> {
  const now = deps.clock.now();
  const { store } = deps;
  let queued = false;
  const run = () =>
    store.db.transaction().execute(async (tx) => {
      const seen = await seenAnswer.first(store, tx, deviceId, eventId);
      if (seen) return JSON.parse(seen.answer) as BatteryAnswer;
      // Per-wearer serialisation: on PostgreSQL lock the device row; SQLite runs one transaction at a time.
      const dev = await (store.dialect === "postgres" ? deviceByIdForUpdate : deviceById).first(store, tx, deviceId);
      if (!dev) throw new Problem(401, "unauthorized", "This device token is not known (wrong, or the wearer was erased).");
      const answer = await fn(tx, dev);
      if (answer.action === "sms") queued = true;
      await insertEvent.run(store, tx, deviceId, eventId, observed.toISOString(), JSON.stringify(answer), now.toISOString());
      return answer;
    });
  let answer: BatteryAnswer;
  try {
    answer = await run();
  } catch (err) {
    // Two concurrent posts of one id on PostgreSQL: the loser hits the primary key; answer as the winner did.
    if ((err as { code?: string }).code === "23505") {
      queued = false;
      answer = await run();
    } else throw err;
  }
  if (queued) deps.onEnqueue?.();
  return answer;
}

async function decide(tx: Tx, deps: Deps, dev: Device, ev: BatteryEvent, observed: Date, opts: ReadingOptions): Promise<BatteryAnswer> {
  const now = deps.clock.now();
  const prefs = readPreferences(dev.preferences);
  const outcome = decideBattery(
    { alerted: JSON.parse(dev.alerted) as number[], lastObservedAt: dev.last_observed_at },
    { level: ev.level, charging: ev.charging, observedAt: observed.toISOString() },
    prefs.lowBattery,
  );
  const none = (reason: string): BatteryAnswer => ({ eventId: ev.eventId, action: "none", reason });
  if (!outcome.alert && outcome.reason === "stale") return none("out_of_order");
  // A cloud reading is word from the watch as of its sync, not of now.
  const seenAt =
    ev.source === "cloud" ? (dev.last_seen_at && dev.last_seen_at > observed.toISOString() ? dev.last_seen_at : observed.toISOString()) : now.toISOString();
  await updateAlertState.run(deps.store, tx, JSON.stringify(outcome.alerted), observed.toISOString(), ev.level, seenAt, dev.id);
  if (!outcome.alert) {
    // A delayed (quiet-hours) alert is pointless once the watch is on its charger.
    if (outcome.reason === "charging") await cancelQueuedSms(tx, dev.id, "superseded_by_charging", now, { held: { kinds: ["low_battery"] } });
    return none(outcome.reason);
  }
  const body = opts.text ? opts.text(dev, ev) : lowBatteryText(dev.language as Lang, ev.level, ev.timeLeftMinutes);
  const answer = await queueAlertSms(tx, deps, dev, { eventId: ev.eventId, body, critical: outcome.critical });
  if (answer.action === "none") {
    // Not queued, so the wearer was not told (no, unconfirmed or opted-out number, SMS off, caps): the
    // threshold stays armed, so a report still below it once that changes sends the alert then.
    await tx.updateTable("devices").set({ alerted: dev.alerted }).where("id", "=", dev.id).execute();
  }
  return answer;
}

/**
 * The deliverability gates every alert SMS passes (wants SMS, verified and not opted-out number,
 * per-number and global caps, quiet hours unless critical), then the SMS is queued in `tx`.
 */
export async function queueAlertSms(
  tx: Tx,
  deps: Deps,
  dev: Device,
  a: { eventId: string; body: string; critical: boolean; kind?: string },
): Promise<BatteryAnswer> {
  const now = deps.clock.now();
  const prefs = readPreferences(dev.preferences);
  const none = (reason: string): BatteryAnswer => ({ eventId: a.eventId, action: "none", reason });
  if (!prefs.sms) return none("sms_disabled");
  if (!dev.phone_number) return none("no_phone");
  if (dev.phone_verified !== 1) return none("unverified_phone");
  const optedOut = await tx.selectFrom("optouts").select("number").where("number", "=", dev.phone_number).executeTakeFirst();
  if (optedOut) return none("opted_out");
  const quietEnd = a.critical ? null : quietHoursEnd(now, dev.timezone, prefs.quietHours);
  const charge = await chargeSms(tx, deps, dev.phone_number, { perNumber: true });
  if (charge !== "ok") return none(charge);
  // An alert of this kind still held for quiet hours is stale: this one carries the newer word.
  const kind = a.kind ?? "low_battery";
  await cancelQueuedSms(tx, dev.id, "superseded_by_newer_alert", now, { held: { kinds: [kind] } });
  await enqueueSms(tx, deps, {
    deviceId: dev.id,
    kind,
    to: dev.phone_number,
    body: a.body,
    eventId: a.eventId,
    notBefore: quietEnd ?? undefined,
  });
  return quietEnd ? { eventId: a.eventId, action: "sms", reason: "quiet_hours" } : { eventId: a.eventId, action: "sms" };
}

export async function recordHeartbeat(deps: Deps, device: Device, hb: { observedAt: string; level?: number }) {
  const now = deps.clock.now();
  const observed = new Date(hb.observedAt);
  if (observed.getTime() > now.getTime() + MAX_FUTURE_MS) {
    throw new Problem(400, "invalid_request", "observedAt is in the future; check the phone's clock.");
  }
  const newer = !device.last_observed_at || observed.getTime() >= Date.parse(device.last_observed_at);
  await deps.store.db
    .updateTable("devices")
    .set({
      last_seen_at: now.toISOString(),
      silence_alerted: 0,
      ...(newer ? { last_observed_at: observed.toISOString(), ...(hb.level !== undefined ? { last_level: hb.level } : {}) } : {}),
    })
    .where("id", "=", device.id)
    .execute();
}
