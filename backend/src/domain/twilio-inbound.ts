// Keywords texted to our number: STOP and friends opt out at once and durably, START opts back in.
import { HELP_TEXT } from "./alert-text.ts";
import type { Deps } from "./deps.ts";
import { deadLetterQueuedTo } from "./sms-queue.ts";

const STOP = new Set(["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT-OUT"]);
const START = new Set(["START", "UNSTOP", "YES"]);
const HELP = new Set(["HELP", "INFO"]);

export async function handleInbound(deps: Deps, from: string, body: string): Promise<string> {
  const word = body.trim().split(/\s+/)[0]?.toUpperCase() ?? "";
  const now = deps.clock.now();
  if (STOP.has(word) && from) {
    await deps.store.db.transaction().execute(async (tx) => {
      await tx.insertInto("optouts").values({ number: from, opted_out_at: now.toISOString() }).onConflict((oc) => oc.column("number").doNothing()).execute();
      await deadLetterQueuedTo(tx, from, "opted_out", now);
    });
    deps.log.info({ keyword: "STOP" }, "number opted out");
    return "<Response/>";
  }
  if (START.has(word) && from) {
    await deps.store.db.deleteFrom("optouts").where("number", "=", from).execute();
    deps.log.info({ keyword: "START" }, "number opted back in");
    return "<Response/>";
  }
  if (HELP.has(word)) return `<Response><Message>${HELP_TEXT.replace(/&/g, "&amp;")}</Message></Response>`;
  return "<Response/>";
}

const RECEIPTS = new Set(["queued", "sending", "sent", "delivered", "undelivered", "failed"]);
const RANK: Record<string, number> = { queued: 0, sending: 1, sent: 2, delivered: 3, undelivered: 3, failed: 3 };

export async function handleStatus(deps: Deps, sid: string, status: string, errorCode?: string): Promise<void> {
  if (!sid || !RECEIPTS.has(status)) return;
  const row = await deps.store.db.selectFrom("deliveries").select(["id", "status"]).where("provider_id", "=", sid).executeTakeFirst();
  if (!row) return;
  // Receipts can arrive out of order; never step back from a final state.
  if ((RANK[row.status] ?? 0) > (RANK[status] ?? 0)) return;
  await deps.store.db
    .updateTable("deliveries")
    .set({ status, error: errorCode ? `twilio:${errorCode}` : null, updated_at: deps.clock.now().toISOString() })
    .where("id", "=", row.id)
    .execute();
}
