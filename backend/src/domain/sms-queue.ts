// Queues an SMS as a delivery row, inside the caller's transaction (transactional outbox), after
// charging the global daily budget and, for alerts, the per-number daily cap.
import type { Tx } from "../store/open-store.ts";
import type { Deps } from "./deps.ts";
import { newId } from "./ids.ts";
import { budgetCounter, bump, numberCounter, readCounter } from "./limits.ts";
import { numberKey } from "./phone.ts";

const budgetAnnounced = new WeakMap<object, string>();

export type Charge = "ok" | "capped" | "budget_spent";

export async function chargeSms(tx: Tx, deps: Deps, to: string, opts: { perNumber: boolean }): Promise<Charge> {
  const now = deps.clock.now();
  const { dailyBudget, perNumberDaily } = deps.config.sms;
  if (opts.perNumber) {
    const key = numberCounter(numberKey(deps.config.secret, to), now);
    if ((await readCounter(tx, key)) >= perNumberDaily) return "capped";
    const used = await bump(tx, budgetCounter(now));
    if (used > dailyBudget) {
      announceBudgetSpent(deps, now);
      return "budget_spent";
    }
    await bump(tx, key);
    return "ok";
  }
  const used = await bump(tx, budgetCounter(now));
  if (used > dailyBudget) {
    announceBudgetSpent(deps, now);
    return "budget_spent";
  }
  return "ok";
}

function announceBudgetSpent(deps: Deps, now: Date) {
  const day = now.toISOString().slice(0, 10);
  if (budgetAnnounced.get(deps.store) === day) return;
  budgetAnnounced.set(deps.store, day);
  deps.log.fatal(
    { budget: deps.config.sms.dailyBudget, day },
    "SMS daily budget spent: no more SMS will be sent until midnight UTC (raise SMS_DAILY_BUDGET if this is expected)",
  );
}

export async function enqueueSms(
  tx: Tx,
  deps: Deps,
  d: { deviceId: string; kind: string; to: string; body: string; eventId?: string; notBefore?: Date },
): Promise<string> {
  const now = deps.clock.now();
  const id = newId("dl", now);
  await tx
    .insertInto("deliveries")
    .values({
      id,
      device_id: d.deviceId,
      channel: "sms",
      kind: d.kind,
      to_number: d.to,
      body: d.body,
      status: "queued",
      attempts: 0,
      next_attempt_at: (d.notBefore ?? now).toISOString(),
      claimed_until: null,
      claimed_by: null,
      provider_id: null,
      error: null,
      event_id: d.eventId ?? null,
      created_at: now.toISOString(),
      sent_at: null,
      updated_at: now.toISOString(),
    })
    .execute();
  return id;
}

/** Alert kinds (queueAlertSms): the only SMS ever held back, until quiet hours end. */
export const ALERT_KINDS = ["low_battery", "not_synced"];

/**
 * Cancels a wearer's queued SMS (status "cancelled", the reason in `error`): a cancellation is not a
 * failure, so it is no dead letter. `held` keeps to alerts waiting out quiet hours and never tried
 * (one waiting out a retry backoff is on its way: an earlier attempt may even have reached the
 * provider); without it every queued SMS of the wearer goes (the number itself is gone).
 */
export async function cancelQueuedSms(
  tx: Tx,
  deviceId: string,
  reason: string,
  now: Date,
  o: { held?: { kinds?: string[] } } = {},
): Promise<number> {
  let q = tx
    .updateTable("deliveries")
    .set({ status: "cancelled", error: reason, updated_at: now.toISOString(), claimed_until: null })
    .where("device_id", "=", deviceId)
    .where("channel", "=", "sms")
    .where("status", "=", "queued");
  if (o.held) {
    q = q
      .where("kind", "in", o.held.kinds ?? ALERT_KINDS)
      .where("attempts", "=", 0)
      .where("next_attempt_at", ">", now.toISOString());
  }
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

/** Dead-letters every SMS still waiting for a number (STOP). */
export async function deadLetterQueuedTo(tx: Tx | Deps["store"]["db"], to: string, reason: string, now: Date) {
  await tx
    .updateTable("deliveries")
    .set({ status: "dead", error: reason, updated_at: now.toISOString(), claimed_until: null })
    .where("to_number", "=", to)
    .where("status", "=", "queued")
    .execute();
}
