// Sends one channel-"x" delivery: the day's text in the wearer's current language, posted with the
// account's access token (refreshed once on 401). Throws SendError like an SMS provider does, so the
// worker's retry rules apply; a "duplicate" after an earlier attempt means that attempt got through.
import { SendError } from "../providers/sms.ts";
import type { DeliveriesTable } from "../store/schema.ts";
import type { Deps } from "./deps.ts";
import { bump, utcDay } from "./limits.ts";
import { postText, type PostKind } from "./summaries.ts";
import { accessTokenFor, refreshAccount } from "./x-accounts.ts";

export const xBudgetCounter = (now: Date) => `x_budget:${utcDay(now)}`;
const accountCounter = (deviceId: string, now: Date) => `x_account:${deviceId}:${utcDay(now)}`;

export async function sendXDelivery(deps: Deps, d: DeliveriesTable, signal: AbortSignal): Promise<{ providerId: string }> {
  const x = deps.x;
  if (!x) throw new SendError("permanent", "x: no X provider", { code: "not_configured" });
  if (!d.device_id) throw new SendError("permanent", "x: no wearer", { code: "no_device" });
  const { db } = deps.store;
  const device = await db.selectFrom("devices").select(["language"]).where("id", "=", d.device_id).executeTakeFirst();
  const summary = await db
    .selectFrom("summaries")
    .select(["data"])
    .where("device_id", "=", d.device_id)
    .where("date", "=", d.body)
    .where("kind", "=", d.kind)
    .executeTakeFirst();
  if (!device || !summary) throw new SendError("permanent", "x: the summary is gone", { code: "no_summary" });
  const text = postText(d.kind as PostKind, d.body, JSON.parse(summary.data), device.language);
  if (!text) throw new SendError("permanent", "x: nothing to post", { code: "empty" });

  // daily budgets, charged once per delivery (its first attempt)
  const now = deps.clock.now();
  if (d.attempts === 1) {
    const { dailyBudget, perAccountDaily } = deps.config.x;
    // bump first (atomic upsert), then compare: concurrent sends cannot both slip under the cap
    if ((await bump(db, accountCounter(d.device_id, now))) > perAccountDaily) throw new SendError("permanent", "x: the account's daily posts are used up", { code: "account_daily_cap" });
    if ((await bump(db, xBudgetCounter(now))) > dailyBudget) throw new SendError("permanent", "x: the daily post budget is spent", { code: "budget_spent" });
  }

  const earlierAttempt = d.attempts > 1;
  const post = async (token: string) => (await x.postTweet(token, text, { signal })).id;
  try {
    if (x.name === "outbox") {
      const id = await post("outbox");
      // tie the record to the wearer, so erasing the wearer erases it too
      await db.updateTable("x_outbox_posts").set({ device_id: d.device_id }).where("id", "=", id).execute();
      return { providerId: id };
    }
    let tok = await accessTokenFor(deps, d.device_id);
    try {
      return { providerId: await post(tok.token) };
    } catch (err) {
      if (!(err instanceof SendError && err.code === "unauthorized")) throw err;
      tok = await refreshAccount(deps, d.device_id, tok.blob);
      return { providerId: await post(tok.token) };
    }
  } catch (err) {
    // an earlier attempt that timed out (or whose process died) was posted after all
    if (err instanceof SendError && err.code === "duplicate" && earlierAttempt) return { providerId: "duplicate" };
    throw err;
  }
}
