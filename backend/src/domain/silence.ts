// The optional silence alert: a wearer who asked for it (preferences.silenceAlertHours > 0) and has not
// been heard from for that long while the last level was low gets ONE SMS. Run periodically by the worker.
import { silenceText, type Lang } from "./alert-text.ts";
import type { Deps } from "./deps.ts";
import { readPreferences } from "./preferences.ts";
import { chargeSms, enqueueSms } from "./sms-queue.ts";

export async function checkSilence(deps: Deps): Promise<number> {
  const now = deps.clock.now();
  const { db } = deps.store;
  const candidates = await db
    .selectFrom("devices")
    .select(["id", "preferences", "last_seen_at", "last_level", "phone_number", "language"])
    .where("silence_alerted", "=", 0)
    .where("phone_verified", "=", 1)
    .where("last_seen_at", "is not", null)
    .where("last_level", "is not", null)
    .where("last_seen_at", "<", new Date(now.getTime() - 3_600_000).toISOString())
    .execute();
  let sent = 0;
  for (const c of candidates) {
    const prefs = readPreferences(c.preferences);
    const hours = prefs.silenceAlertHours;
    const highest = Math.max(...prefs.lowBattery);
    if (!prefs.sms || hours <= 0 || c.last_level! > highest) continue;
    if (now.getTime() - Date.parse(c.last_seen_at!) < hours * 3_600_000) continue;
    const queued = await db.transaction().execute(async (tx) => {
      // The flag flip is the claim: with several processes only one wins it.
      const r = await tx
        .updateTable("devices")
        .set({ silence_alerted: 1 })
        .where("id", "=", c.id)
        .where("silence_alerted", "=", 0)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) return false;
      const opted = await tx.selectFrom("optouts").select("number").where("number", "=", c.phone_number!).executeTakeFirst();
      if (opted) return false;
      if ((await chargeSms(tx, deps, c.phone_number!, { perNumber: true })) !== "ok") return false;
      await enqueueSms(tx, deps, {
        deviceId: c.id,
        kind: "silence",
        to: c.phone_number!,
        body: silenceText(c.language as Lang, hours, c.last_level!),
      });
      return true;
    });
    if (queued) sent++;
  }
  if (sent) deps.onEnqueue?.();
  return sent;
}
