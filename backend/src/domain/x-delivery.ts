// Sends one channel-"x" delivery: the day's text in the wearer's current language, posted with the
// account's access token (refreshed once on 401). Throws SendError like an SMS provider does, so the
// worker's retry rules apply; a "duplicate" after an earlier attempt means that attempt got through.
import { SendError } from "../providers/sms.ts";
import type { DeliveriesTable } from "../store/schema.ts";
import type { Deps } from "./deps.ts";
import { bump, utcDay } from "./limits.ts";
import { postText, type PostKind } from "./summaries.ts";
import { decryptToken } from "./token-crypto.ts";
import { accessTokenFor, refreshAccount } from "./x-accounts.ts";

export const xBudgetCounter = (now: Date) => `x_budget:${utcDay(now)}`;
const accountCounter = (deviceId: string, now: Date) => `x_account:${deviceId}:${utcDay(now)}`;
/** an access token with more than this left is used without asking accessTokenFor (whose refresh margin is shorter) */
const FRESH_FOR_MS = 5 * 60_000;

/**
 * Posts one delivery. `held()` says whether X's app-wide rate limit holds every post of this process
 * right now: a held post throws SendError rate_limited code "held" before it is charged or sent.
 */
export type XSender = (d: DeliveriesTable, signal: AbortSignal, held?: () => boolean) => Promise<{ providerId: string }>;

interface Charge {
  deviceId: string;
  now: Date;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** The relay's X sender; its daily-budget charges are written together (see chargeBudgets). */
export function createXSender(deps: Deps): XSender {
  let charges: Charge[] = [];
  let writing: Promise<void> = Promise.resolve();

  /**
   * Charges one post to the account's and the relay's daily budgets, or throws SendError permanent
   * (account_daily_cap, budget_spent). Each bumps first (atomic upsert), then compares, so concurrent
   * sends cannot both slip under a cap; a refused charge is taken back. Charges that arrive together
   * share one transaction: a commit per post was a large part of a send's cost.
   */
  function chargeBudgets(deviceId: string, now: Date): Promise<void> {
    return new Promise((resolve, reject) => {
      charges.push({ deviceId, now, resolve, reject });
      if (charges.length === 1) setImmediate(() => void (writing = writing.then(writeCharges)));
    });
  }

  async function writeCharges() {
    const batch = charges;
    charges = [];
    const { dailyBudget, perAccountDaily } = deps.config.x;
    const refused = new Map<Charge, SendError>();
    try {
      await deps.store.db.transaction().execute(async (tx) => {
        for (const c of batch) {
          const account = accountCounter(c.deviceId, c.now);
          const budget = xBudgetCounter(c.now);
          if ((await bump(tx, account)) > perAccountDaily) {
            await bump(tx, account, -1);
            refused.set(c, new SendError("permanent", "x: the account's daily posts are used up", { code: "account_daily_cap" }));
          } else if ((await bump(tx, budget)) > dailyBudget) {
            await bump(tx, account, -1);
            await bump(tx, budget, -1);
            refused.set(c, new SendError("permanent", "x: the daily post budget is spent", { code: "budget_spent" }));
          }
        }
      });
    } catch (err) {
      for (const c of batch) c.reject(err);
      return;
    }
    for (const c of batch) {
      const no = refused.get(c);
      if (no) c.reject(no);
      else c.resolve();
    }
  }

  /** X did not take the post (its rate limit): the charge is given back with the attempt. */
  async function refund(deviceId: string, now: Date) {
    await deps.store.db.transaction().execute(async (tx) => {
      await bump(tx, accountCounter(deviceId, now), -1);
      await bump(tx, xBudgetCounter(now), -1);
    });
  }

  return async (d, signal, held = () => false) => {
    const x = deps.x;
    if (!x) throw new SendError("permanent", "x: no X provider", { code: "not_configured" });
    if (!d.device_id) throw new SendError("permanent", "x: no wearer", { code: "no_device" });
    const deviceId = d.device_id;
    const now = deps.clock.now();
    const { db } = deps.store;
    // the text's numbers and language, and the account's token, in one read
    const row = await db
      .selectFrom("summaries")
      .innerJoin("devices", "devices.id", "summaries.device_id")
      .leftJoin("x_accounts", "x_accounts.device_id", "summaries.device_id")
      .select(["summaries.data", "devices.language", "x_accounts.access_token", "x_accounts.expires_at", "x_accounts.status"])
      .where("summaries.device_id", "=", deviceId)
      .where("summaries.date", "=", d.body)
      .where("summaries.kind", "=", d.kind)
      .executeTakeFirst();
    if (!row) throw new SendError("permanent", "x: the summary is gone", { code: "no_summary" });
    const text = postText(d.kind as PostKind, d.body, JSON.parse(row.data), row.language);
    if (!text) throw new SendError("permanent", "x: nothing to post", { code: "empty" });
    // a token well within its lifetime is used as read; otherwise accessTokenFor refreshes it (or says why not)
    const fresh = row.access_token && row.status === "linked" && Date.parse(row.expires_at ?? "") - FRESH_FOR_MS > now.getTime();
    let tok =
      x.name === "outbox" ? null : fresh ? { token: decryptToken(deps.config.secret, row.access_token!, deviceId), blob: row.access_token! } : await accessTokenFor(deps, deviceId);
    if (held()) throw new SendError("rate_limited", "x: held until X's rate limit resets", { code: "held" });

    // charged once per delivery: at its first attempt (a 429 gives the attempt and the charge back)
    const charged = d.attempts === 1;
    if (charged) await chargeBudgets(deviceId, now);

    const earlierAttempt = d.attempts > 1;
    const post = async (token: string) => (await x.postTweet(token, text, { signal })).id;
    try {
      if (!tok) {
        const id = await post("outbox");
        // tie the record to the wearer, so erasing the wearer erases it too
        await db.updateTable("x_outbox_posts").set({ device_id: deviceId }).where("id", "=", id).execute();
        return { providerId: id };
      }
      try {
        return { providerId: await post(tok.token) };
      } catch (err) {
        if (!(err instanceof SendError && err.code === "unauthorized")) throw err;
        tok = await refreshAccount(deps, deviceId, tok.blob);
        return { providerId: await post(tok.token) };
      }
    } catch (err) {
      // an earlier attempt that timed out (or whose process died) was posted after all
      if (err instanceof SendError && err.code === "duplicate" && earlierAttempt) return { providerId: "duplicate" };
      if (err instanceof SendError && err.kind === "rate_limited" && charged) await refund(deviceId, now);
      throw err;
    }
  };
}
