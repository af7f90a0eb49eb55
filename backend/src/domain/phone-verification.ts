// Double opt-in: a 6-digit code goes by SMS (through the delivery queue) to the number the wearer typed;
// only a confirmed number ever gets an alert.
import { createHmac, randomInt, timingSafeEqual } from "node:crypto";
import { Problem } from "../http/problem.ts";
import { codeText, type Lang } from "./alert-text.ts";
import type { Deps } from "./deps.ts";
import type { Device } from "./devices.ts";
import { isOptedOut } from "./devices.ts";
import { deviceCodesKey, secondsToUtcMidnight } from "./limits.ts";
import { maskPhone, numberKey, parsePhone } from "./phone.ts";
import type { Db, Tx } from "../store/open-store.ts";
import { cancelQueuedSms, chargeSms, enqueueSms } from "./sms-queue.ts";

export const CODE_TTL_MS = 10 * 60_000;
export const MAX_CODE_TRIES = 5;

const hashCode = (secret: Buffer, deviceId: string, number: string, code: string) =>
  createHmac("sha256", secret).update(`${deviceId}:${number}:${code}`).digest();

export async function startVerification(deps: Deps, device: Device, body: { number: string | number; country?: string }) {
  const e164 = parsePhone(body.number, body.country, deps.config.sms.countries);
  if (await isOptedOut(deps, e164)) {
    throw new Problem(409, "opted_out", "This number replied STOP. Text START to the relay's number first, then try again.");
  }
  // the wearer re-entered the number they already confirmed: it stays confirmed and no code is sent
  if (device.phone_number === e164 && device.phone_verified === 1) return { masked: maskPhone(e164), verified: true as const };
  const now = deps.clock.now();
  const code = String(randomInt(0, 1_000_000)).padStart(6, "0");
  await deps.store.db.transaction().execute(async (tx) => {
    const limits = deps.config.limits;
    const byNumber = await deps.limiter.take(`code:n:${numberKey(deps.config.secret, e164)}`, limits.codeSendsPerNumberHour, 3_600_000, { tx });
    if (byNumber !== null)
      throw new Problem(429, "rate_limited", "Too many codes sent to this number; wait before asking again.", { retryAfterSec: byNumber });
    const byDevice = await deps.limiter.take(deviceCodesKey(device.id), limits.codeSendsPerDeviceDay, 86_400_000, { tx });
    if (byDevice !== null)
      throw new Problem(429, "rate_limited", "Too many codes asked for today; wait before asking again.", { retryAfterSec: byDevice });
    if ((await chargeSms(tx, deps, e164, { perNumber: false })) !== "ok")
      throw new Problem(503, "sms_unavailable", "The relay's SMS budget for today is spent; try again tomorrow.", {
        retryAfterSec: secondsToUtcMidnight(now),
      });
    // only this wearer's SMS: another wearer may have confirmed the same number
    if (device.phone_number && device.phone_number !== e164) await cancelQueuedSms(tx, device.id, "number_changed", now);
    await scrubSentCodes(tx, now, device.id);
    await tx
      .updateTable("devices")
      .set({ phone_number: e164, phone_verified: 0 })
      .where("id", "=", device.id)
      .execute();
    await tx.deleteFrom("codes").where("device_id", "=", device.id).execute();
    await tx
      .insertInto("codes")
      .values({
        device_id: device.id,
        number: e164,
        code_hash: hashCode(deps.config.secret, device.id, e164, code).toString("base64"),
        expires_at: new Date(now.getTime() + CODE_TTL_MS).toISOString(),
        attempts: 0,
        created_at: now.toISOString(),
      })
      .execute();
    await enqueueSms(tx, deps, { deviceId: device.id, kind: "verification", to: e164, body: codeText(device.language as Lang, code) });
  });
  deps.onEnqueue?.();
  return { masked: maskPhone(e164), verified: false as const };
}

export async function confirmVerification(deps: Deps, device: Device, code: string) {
  const now = deps.clock.now();
  const { db } = deps.store;
  const row = await db.selectFrom("codes").selectAll().where("device_id", "=", device.id).executeTakeFirst();
  if (!row || row.number !== device.phone_number) {
    throw new Problem(409, "no_code_pending", "No code is waiting for confirmation; ask for one with PUT /v1/me/phone.");
  }
  if (row.attempts >= MAX_CODE_TRIES) {
    throw new Problem(429, "too_many_attempts", "Too many wrong codes; ask for a new one.", { retryAfterSec: 60 });
  }
  if (Date.parse(row.expires_at) <= now.getTime()) {
    throw new Problem(422, "code_expired", "This code has expired; ask for a new one.");
  }
  const expected = Buffer.from(row.code_hash, "base64");
  const given = hashCode(deps.config.secret, device.id, row.number, code);
  if (!timingSafeEqual(expected, given)) {
    await db.updateTable("codes").set({ attempts: row.attempts + 1 }).where("device_id", "=", device.id).execute();
    const left = MAX_CODE_TRIES - row.attempts - 1;
    throw new Problem(422, "code_mismatch", left > 0 ? `That code is not right; ${left} ${left === 1 ? "try" : "tries"} left.` : "That code is not right; ask for a new one.");
  }
  await db.transaction().execute(async (tx) => {
    await tx.updateTable("devices").set({ phone_verified: 1 }).where("id", "=", device.id).execute();
    await tx.deleteFrom("codes").where("device_id", "=", device.id).execute();
    await scrubSentCodes(tx, now, device.id);
  });
  return { masked: maskPhone(row.number), verified: true as const };
}

export async function removePhone(deps: Deps, device: Device) {
  const now = deps.clock.now();
  await deps.store.db.transaction().execute(async (tx) => {
    await cancelQueuedSms(tx, device.id, "phone_removed", now);
    await tx.deleteFrom("codes").where("device_id", "=", device.id).execute();
    await scrubSentCodes(tx, now, device.id);
    await tx.updateTable("devices").set({ phone_number: null, phone_verified: 0 }).where("id", "=", device.id).execute();
  });
}

export const SCRUBBED_CODE_TEXT = "WristRelay code: ••••••";

/**
 * A code is kept in plaintext only while its SMS waits to be sent: once handed to the provider (or
 * dead), the stored text is replaced. Runs when the wearer asks a new code, confirms or removes the
 * number, on the provider's receipt, and in the hourly housekeeping for everything else.
 */
export async function scrubSentCodes(db: Db | Tx, now: Date, deviceId?: string): Promise<void> {
  let q = db
    .updateTable("deliveries")
    .set({ body: SCRUBBED_CODE_TEXT, updated_at: now.toISOString() })
    .where("kind", "=", "verification")
    .where("status", "not in", ["queued", "sending"])
    .where("body", "!=", SCRUBBED_CODE_TEXT);
  if (deviceId !== undefined) q = q.where("device_id", "=", deviceId);
  await q.execute();
}
