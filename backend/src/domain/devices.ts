// Device identity: anonymous registration, bearer tokens stored hashed, the wearer's view of itself, erasure.
import { createHash, randomBytes } from "node:crypto";
import { prepared } from "../store/prepared.ts";
import type { DevicesTable } from "../store/schema.ts";
import type { Tx } from "../store/open-store.ts";
import { Problem } from "../http/problem.ts";
import type { Deps } from "./deps.ts";
import { newId } from "./ids.ts";
import { deviceCodesKey } from "./limits.ts";
import { maskPhone } from "./phone.ts";
import { unlinkX, xView } from "./x-accounts.ts";
import { googleView, unlinkGoogle } from "./google-accounts.ts";
import { defaultPreferences, readPreferences, type Preferences } from "./preferences.ts";
import { cancelQueuedSms } from "./sms-queue.ts";

export type Device = DevicesTable;

export const hashToken = (token: string) => createHash("sha256").update(token).digest("hex");

export async function registerDevice(
  deps: Deps,
  clientAddress: string,
  body: { timezone: string; language?: string; model?: string; appVersion?: string },
): Promise<{ deviceId: string; token: string }> {
  const now = deps.clock.now();
  const { db } = deps.store;
  const wait = await deps.limiter.take(`register:${clientAddress}`, deps.config.limits.registrationsPerHour, 3_600_000);
  if (wait !== null) throw new Problem(429, "rate_limited", "Too many registrations from this address; try again later.", { retryAfterSec: wait });
  const token = randomBytes(32).toString("base64url");
  const deviceId = newId("dev", now);
  await db
    .insertInto("devices")
    .values({
      id: deviceId,
      token_hash: hashToken(token),
      timezone: body.timezone,
      language: body.language ?? "en-US",
      model: body.model ?? null,
      app_version: body.appVersion ?? null,
      preferences: JSON.stringify(defaultPreferences()),
      created_at: now.toISOString(),
      last_seen_at: null,
      last_level: null,
      last_observed_at: null,
      alerted: "[]",
      silence_alerted: 0,
      phone_number: null,
      phone_verified: 0,
    })
    .execute();
  return { deviceId, token };
}

/** every authenticated request runs this one: compiled once (store/prepared.ts) */
const deviceByTokenHash = prepared(1, (db, tokenHash: string) => db.selectFrom("devices").selectAll().where("token_hash", "=", tokenHash));

export async function authenticate(deps: Deps, authorization: string | undefined): Promise<Device> {
  // the scheme is case-insensitive (RFC 9110 11.1), and clients differ on spaces around the credentials
  const m = /^\s*bearer\s+([A-Za-z0-9_-]{20,100})\s*$/i.exec(authorization ?? "");
  if (!m) throw new Problem(401, "unauthorized", "Send the device token as Authorization: Bearer <token>.");
  const device = await deviceByTokenHash.first(deps.store, deps.store.db, hashToken(m[1]));
  if (!device) throw new Problem(401, "unauthorized", "This device token is not known (wrong, or the wearer was erased).");
  return device;
}

export async function isOptedOut(deps: Deps, number: string): Promise<boolean> {
  const row = await deps.store.db.selectFrom("optouts").select("number").where("number", "=", number).executeTakeFirst();
  return !!row;
}

export async function meView(deps: Deps, device: Device) {
  return {
    deviceId: device.id,
    timezone: device.timezone,
    language: device.language,
    phone: device.phone_number
      ? { masked: maskPhone(device.phone_number), verified: device.phone_verified === 1, optedOut: await isOptedOut(deps, device.phone_number) }
      : null,
    x: await xView(deps, device),
    google: await googleView(deps, device),
    preferences: readPreferences(device.preferences),
    lastSeenAt: device.last_seen_at,
  };
}

export async function updateMe(
  deps: Deps,
  device: Device,
  patch: { timezone?: string; language?: string; preferences?: Partial<Preferences> },
): Promise<Device> {
  const prefs = { ...readPreferences(device.preferences), ...(patch.preferences ?? {}) };
  prefs.lowBattery = prefs.lowBattery.slice().sort((a, b) => b - a);
  const values = {
    timezone: patch.timezone ?? device.timezone,
    language: patch.language ?? device.language,
    preferences: JSON.stringify(prefs),
  };
  await deps.store.db.transaction().execute(async (tx) => {
    await tx.updateTable("devices").set(values).where("id", "=", device.id).execute();
    // SMS turned off: an alert still held for quiet hours must not go out later.
    if (!prefs.sms) await cancelQueuedSms(tx, device.id, "sms_turned_off", deps.clock.now(), { held: {} });
  });
  return { ...device, ...values };
}

/** Every record of this wearer goes: phone, code, events, deliveries (and their dev-outbox copies), limits named after it, the device. */
export async function eraseDevice(deps: Deps, device: Device): Promise<void> {
  await unlinkX(deps, device.id); // revoke at X first (best effort)
  await unlinkGoogle(deps, device.id); // and at Google
  await deps.store.db.transaction().execute(async (tx) => {
    // the devices row first: a battery report or summary in flight holds it (FOR UPDATE on PostgreSQL),
    // so the erase waits for it and then deletes what it wrote, and any later one finds no wearer
    await tx.deleteFrom("devices").where("id", "=", device.id).execute();
    const refs = tx.selectFrom("deliveries").select("id").where("device_id", "=", device.id);
    await tx.deleteFrom("outbox_messages").where("ref", "in", refs).execute();
    await tx.deleteFrom("deliveries").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("events").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("summary_events").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("codes").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("summaries").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("x_outbox_posts").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("x_link_flows").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("x_accounts").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("google_link_flows").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("google_accounts").where("device_id", "=", device.id).execute();
    await tx.deleteFrom("cloud_jobs").where("device_id", "=", device.id).execute();
    await eraseDeviceLimits(tx, device.id);
  });
}

/**
 * Rate-limit records and counters named after the device (code sends per device, X posts per account
 * per day, Google calls per wearer per minute). Those kept per number are named by numberKey (a keyed
 * hash, never the number) and stay until they expire, so erasing cannot reset a cap and pump SMS.
 * With REDIS_URL the code-send window lives in Redis and lapses there within its day.
 */
async function eraseDeviceLimits(tx: Tx, deviceId: string): Promise<void> {
  await tx.deleteFrom("rate_events").where("key", "=", deviceCodesKey(deviceId)).execute();
  // LIKE reads "_" in ids as any character (and SQLite ignores case): the exact names are kept below
  const candidates = await tx
    .selectFrom("counters")
    .select("name")
    .where((eb) => eb.or([eb("name", "like", `x_account:${deviceId}:%`), eb("name", "like", `gq:%:u:${deviceId}`)]))
    .execute();
  const names = candidates.map((r) => r.name).filter((n) => n.startsWith(`x_account:${deviceId}:`) || n.endsWith(`:u:${deviceId}`));
  if (names.length > 0) await tx.deleteFrom("counters").where("name", "in", names).execute();
}
